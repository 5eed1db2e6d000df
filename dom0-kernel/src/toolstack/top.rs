//! `xentop` in batch mode: per-domain CPU use over an interval, from two `getdomaininfo`
//! samples. What the fairness tests and anyone sizing weights read.

use alloc::format;
use alloc::string::String;
use xen_abi::domctl::DomctlGetdomaininfo;

/// One domain in a sample: its id, name and accumulated CPU time (ns).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sample {
    pub domid: u16,
    pub name: String,
    pub state: String,
    pub cpu_ns: u64,
    pub mem_kib: u64,
    pub max_mem_kib: u64,
    pub vcpus: u32,
}

impl Sample {
    pub fn new(name: &str, info: &DomctlGetdomaininfo) -> Sample {
        Sample {
            domid: info.domain,
            name: name.into(),
            state: super::table::state_letters(info.flags),
            cpu_ns: info.cpu_time,
            mem_kib: info.tot_pages * 4,
            max_mem_kib: info.max_pages * 4,
            vcpus: info.nr_online_vcpus,
        }
    }
}

pub const HEADER: &str = "      NAME  STATE   CPU(sec) CPU(%)     MEM(k) MEM(%)  MAXMEM(k) VCPUS";

/// One row: CPU(%) is the share of `elapsed_ns` the domain ran since `before` (its earlier
/// sample, if it existed then), to 0.1 %; MEM(%) is of `host_kib`.
pub fn row(now: &Sample, before: Option<&Sample>, elapsed_ns: u64, host_kib: u64) -> String {
    let ran = before.map_or(0, |b| now.cpu_ns.saturating_sub(b.cpu_ns));
    format!(
        "{:>10} {:>6} {:>10} {:>6} {:>10} {:>6} {:>10} {:>5}",
        truncate(&now.name, 10),
        now.state,
        now.cpu_ns / 1_000_000_000,
        per_mille_as_percent(ran, elapsed_ns),
        now.mem_kib,
        per_mille_as_percent(now.mem_kib, host_kib),
        now.max_mem_kib,
        now.vcpus
    )
}

/// `part / whole` as a percentage with one decimal, rounded (`"0.0"` when `whole` is 0).
pub fn per_mille_as_percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "0.0".into();
    }
    let tenths = (u128::from(part) * 1000 + u128::from(whole) / 2) / u128::from(whole);
    format!("{}.{}", tenths / 10, tenths % 10)
}

fn truncate(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((at, _)) => &s[..at],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(domid: u16, name: &str, cpu_ns: u64) -> Sample {
        Sample { domid, name: name.into(), state: "-b----".into(), cpu_ns, mem_kib: 16384, max_mem_kib: 16384, vcpus: 1 }
    }

    #[test]
    fn cpu_share_over_the_interval() {
        let before = sample(3, "spin", 1_000_000_000);
        let now = sample(3, "spin", 3_500_000_000);
        let r = row(&now, Some(&before), 10_000_000_000, 1 << 20);
        assert_eq!(r, "      spin -b----          3   25.0      16384    1.6      16384     1");
        assert_eq!(r.len(), HEADER.len());
        // No earlier sample (a new domain): no share yet.
        assert!(row(&now, None, 10_000_000_000, 1 << 20).contains("    0.0 "));
    }

    #[test]
    fn percentages_round_to_a_tenth() {
        assert_eq!(per_mille_as_percent(1, 3), "33.3");
        assert_eq!(per_mille_as_percent(2, 3), "66.7");
        assert_eq!(per_mille_as_percent(5, 5), "100.0");
        assert_eq!(per_mille_as_percent(7, 0), "0.0");
    }

    #[test]
    fn long_names_are_cut() {
        assert_eq!(truncate("a-very-long-domain-name", 10), "a-very-lon");
        assert_eq!(truncate("short", 10), "short");
    }
}
