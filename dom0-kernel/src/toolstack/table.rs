//! Output of `list`, `vcpu-list` and `sched-credit` in `xl`'s exact
//! column layout (fixed-width fields, as `xl` prints them with `printf`).
//!
//! Each function returns one line without its `\n`.

use alloc::format;
use alloc::string::String;
use xen_abi::domctl::{
    DomctlGetdomaininfo, DomctlGetvcpuinfo, XEN_DOMINF_BLOCKED, XEN_DOMINF_DYING,
    XEN_DOMINF_PAUSED, XEN_DOMINF_RUNNING, XEN_DOMINF_SHUTDOWN,
};
use xen_abi::sched::SHUTDOWN_CRASH;

/// Nanoseconds as seconds with one decimal, rounded like `printf("%.1f")`.
pub fn seconds_1dp(ns: u64) -> String {
    let tenths = (u128::from(ns) + 50_000_000) / 100_000_000;
    format!("{}.{}", tenths / 10, tenths % 10)
}

/// The six `xl list` state letters `rbpscd` for a `getdomaininfo` flags
/// word: running, blocked, paused, shut down (for any reason but a crash),
/// crashed, dying; `-` where unset.
pub fn state_letters(flags: u32) -> String {
    let reason = xen_abi::domctl::shutdown_reason(flags);
    let crashed = reason == Some(SHUTDOWN_CRASH);
    let shutdown = flags & XEN_DOMINF_SHUTDOWN != 0 && !crashed;
    let letter = |on: bool, c: char| if on { c } else { '-' };
    [
        letter(flags & XEN_DOMINF_RUNNING != 0, 'r'),
        letter(flags & XEN_DOMINF_BLOCKED != 0, 'b'),
        letter(flags & XEN_DOMINF_PAUSED != 0, 'p'),
        letter(shutdown, 's'),
        letter(crashed, 'c'),
        letter(flags & XEN_DOMINF_DYING != 0, 'd'),
    ]
    .iter()
    .collect()
}

/// The `xl list` header.
pub const LIST_HEADER: &str =
    "Name                                        ID   Mem VCPUs\tState\tTime(s)";

/// One `xl list` row: name, id, memory in MiB, online vCPUs, state
/// letters, CPU time in seconds.
pub fn list_row(name: &str, info: &DomctlGetdomaininfo) -> String {
    format!(
        "{:<40} {:>5} {:>5} {:>5}     {}  {:>8}",
        name,
        info.domain,
        info.tot_pages / 256,
        info.nr_online_vcpus,
        state_letters(info.flags),
        seconds_1dp(info.cpu_time)
    )
}

/// The `xl vcpu-list` header.
pub fn vcpu_list_header() -> String {
    format!(
        "{:<32} {:>5} {:>5} {:>5} {:>5} {:>9} {}",
        "Name", "ID", "VCPU", "CPU", "State", "Time(s)", "Affinity (Hard / Soft)"
    )
}

/// One `xl vcpu-list` row. The state is `r` (running), `b` (blocked) and
/// `p` (offline, or its domain is paused), `-` where unset; an offline
/// vCPU shows `-` for its CPU. Affinity is always `all / all` (one pool,
/// no pinning).
pub fn vcpu_list_row(name: &str, domid: u16, domain_flags: u32, v: &DomctlGetvcpuinfo) -> String {
    let online = v.online != 0;
    let paused = !online || domain_flags & XEN_DOMINF_PAUSED != 0;
    let cpu = if online {
        format!("{:>5}", v.cpu)
    } else {
        format!("{:>5}", '-')
    };
    format!(
        "{:<32} {:>5} {:>5}{} {:>3}{}{} {:>9}  all / all",
        name,
        domid,
        v.vcpu,
        cpu,
        if online && v.running != 0 { 'r' } else { '-' },
        if online && v.blocked != 0 { 'b' } else { '-' },
        if paused { 'p' } else { '-' },
        seconds_1dp(v.cpu_time)
    )
}

/// The `xl sched-credit` header.
pub fn sched_credit_header() -> String {
    format!("{:<33} {:>4} {:>6} {:>4}", "Name", "ID", "Weight", "Cap")
}

/// One `xl sched-credit` row.
pub fn sched_credit_row(name: &str, domid: u16, weight: u16, cap: u16) -> String {
    format!("{name:<33} {domid:>4} {weight:>6} {cap:>4}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use xen_abi::domctl::shutdown_flags;
    use xen_abi::sched::{SHUTDOWN_POWEROFF, SHUTDOWN_REBOOT};

    #[test]
    fn seconds() {
        assert_eq!(seconds_1dp(0), "0.0");
        assert_eq!(seconds_1dp(49_999_999), "0.0");
        assert_eq!(seconds_1dp(50_000_000), "0.1");
        assert_eq!(seconds_1dp(12_345_000_000), "12.3");
        assert_eq!(seconds_1dp(12_960_000_000), "13.0");
        assert_eq!(seconds_1dp(u64::MAX), "18446744073.7");
    }

    #[test]
    fn letters() {
        assert_eq!(state_letters(0), "------");
        assert_eq!(state_letters(XEN_DOMINF_RUNNING), "r-----");
        assert_eq!(state_letters(XEN_DOMINF_BLOCKED), "-b----");
        assert_eq!(
            state_letters(XEN_DOMINF_PAUSED | XEN_DOMINF_BLOCKED),
            "-bp---"
        );
        assert_eq!(state_letters(shutdown_flags(SHUTDOWN_POWEROFF)), "---s--");
        assert_eq!(state_letters(shutdown_flags(SHUTDOWN_REBOOT)), "---s--");
        assert_eq!(state_letters(shutdown_flags(SHUTDOWN_CRASH)), "----c-");
        assert_eq!(
            state_letters(shutdown_flags(SHUTDOWN_CRASH) | XEN_DOMINF_DYING),
            "----cd"
        );
        assert_eq!(
            state_letters(XEN_DOMINF_DYING | XEN_DOMINF_PAUSED),
            "--p--d"
        );
        // The reason bits alone (no SHUTDOWN flag) mean nothing.
        assert_eq!(state_letters(SHUTDOWN_CRASH << 16), "------");
    }

    #[test]
    fn list_like_xl() {
        let dom0 = DomctlGetdomaininfo {
            domain: 0,
            flags: XEN_DOMINF_RUNNING,
            tot_pages: 16384,
            nr_online_vcpus: 1,
            cpu_time: 1_234_000_000,
            ..Default::default()
        };
        let idle = DomctlGetdomaininfo {
            domain: 12,
            flags: XEN_DOMINF_BLOCKED,
            tot_pages: 4096 + 255,
            nr_online_vcpus: 1,
            cpu_time: 123_456_789_000,
            ..Default::default()
        };
        assert_eq!(
            LIST_HEADER,
            "Name                                        ID   Mem VCPUs\tState\tTime(s)"
        );
        assert_eq!(
            list_row("Domain-0", &dom0),
            "Domain-0                                     0    64     1     r-----       1.2"
        );
        assert_eq!(
            list_row("idle", &idle),
            "idle                                        12    16     1     -b----     123.5"
        );
        // Columns line up under the header (ID ends at column 45).
        assert_eq!(LIST_HEADER.find("ID").unwrap() + 2, 46);
        assert_eq!(list_row("idle", &idle).find("12").unwrap() + 2, 46);
        // A long name pushes the row, as printf does.
        let long = "n".repeat(45);
        assert!(list_row(&long, &idle).starts_with(&format!("{long}    12 ")));
    }

    #[test]
    fn vcpu_list_like_xl() {
        assert_eq!(
            vcpu_list_header(),
            "Name                                ID  VCPU   CPU State   Time(s) Affinity (Hard / Soft)"
        );
        let mut v = DomctlGetvcpuinfo {
            vcpu: 0,
            online: 1,
            running: 1,
            cpu: 0,
            cpu_time: 14_200_000_000,
            ..Default::default()
        };
        assert_eq!(
            vcpu_list_row("Domain-0", 0, XEN_DOMINF_RUNNING, &v),
            "Domain-0                             0     0    0   r--      14.2  all / all"
        );
        v.running = 0;
        v.blocked = 1;
        assert_eq!(
            vcpu_list_row("idle", 3, XEN_DOMINF_BLOCKED, &v),
            "idle                                 3     0    0   -b-      14.2  all / all"
        );
        v.blocked = 0;
        assert_eq!(
            vcpu_list_row("idle", 3, XEN_DOMINF_PAUSED, &v),
            "idle                                 3     0    0   --p      14.2  all / all"
        );
        v.online = 0;
        assert_eq!(
            vcpu_list_row("idle", 3, 0, &v),
            "idle                                 3     0    -   --p      14.2  all / all"
        );
    }

    #[test]
    fn sched_credit_like_xl() {
        assert_eq!(
            sched_credit_header(),
            "Name                                ID Weight  Cap"
        );
        assert_eq!(
            sched_credit_row("Domain-0", 0, 256, 0),
            "Domain-0                             0    256    0"
        );
        assert_eq!(
            sched_credit_row("spin", 12, 65535, 100),
            "spin                                12  65535  100"
        );
    }
}
