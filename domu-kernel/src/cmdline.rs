//! The DomU command line: whitespace-separated words. The first word that is not `domid=N`
//! names the workload; `domid=N` (appended by the domain builder, as a PV guest has no other
//! way to learn its id without XenStore) may appear anywhere. Words the workload does not use
//! are ignored, so a toolstack may append its own `key=value` words.
//!
//! Workloads: `idle [period=MS]`, `spin`, `crash=pagefault|ud2|ptwrite`,
//! `exit=N[,reason=poweroff|reboot|crash]`, `echo`, `xs-probe peer=DOMID`, `xs-bench [n=N]`,
//! `vping-back`, `vping-front [count=N] [hostile]`, `grant-bench [n=N]`.
//!
//! To add a workload: a variant of [`Workload`], an arm in [`workload`] (options parsed with
//! [`option`]), a test below, and its dispatch in `main.rs`.

use core::fmt;
use xen_abi::sched::{SHUTDOWN_CRASH, SHUTDOWN_POWEROFF, SHUTDOWN_REBOOT};

/// Default heartbeat period of `idle`.
pub const DEFAULT_IDLE_PERIOD_MS: u64 = 1000;
/// Default number of reads of `xs-bench`.
pub const DEFAULT_XS_BENCH_READS: u64 = 1000;
/// Default number of round trips of `vping-front`.
pub const DEFAULT_VPING_ROUND_TRIPS: u64 = 1000;
/// Default number of copies of `grant-bench`.
pub const DEFAULT_GRANT_BENCH_COPIES: u64 = 1000;

/// How `crash=` brings the domain down (each with no trap handler installed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrashMode {
    /// A write to an unmapped address.
    PageFault,
    /// An invalid opcode.
    Ud2,
    /// A write to our own (read-only) L4 page table.
    PtWrite,
}

impl CrashMode {
    pub fn name(self) -> &'static str {
        match self {
            CrashMode::PageFault => "pagefault",
            CrashMode::Ud2 => "ud2",
            CrashMode::PtWrite => "ptwrite",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [CrashMode::PageFault, CrashMode::Ud2, CrashMode::PtWrite].into_iter().find(|m| m.name() == s)
    }
}

/// The `SCHEDOP_shutdown` reason of `exit=`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitReason {
    Poweroff,
    Reboot,
    Crash,
}

impl ExitReason {
    pub fn name(self) -> &'static str {
        match self {
            ExitReason::Poweroff => "poweroff",
            ExitReason::Reboot => "reboot",
            ExitReason::Crash => "crash",
        }
    }

    /// The `SHUTDOWN_*` code.
    pub fn code(self) -> u32 {
        match self {
            ExitReason::Poweroff => SHUTDOWN_POWEROFF,
            ExitReason::Reboot => SHUTDOWN_REBOOT,
            ExitReason::Crash => SHUTDOWN_CRASH,
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [ExitReason::Poweroff, ExitReason::Reboot, ExitReason::Crash].into_iter().find(|r| r.name() == s)
    }
}

/// What the DomU does after its banner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload<'a> {
    /// Block; wake on the one-shot timer every `period_ms` and print a heartbeat.
    Idle { period_ms: u64 },
    /// Count loop iterations forever, never yielding.
    Spin,
    /// Crash the domain with an unhandled fault.
    Crash(CrashMode),
    /// Wait `secs` seconds, then shut down with `reason`.
    Exit { secs: u64, reason: ExitReason },
    /// Echo each line typed on the PV console back as `echo: <line>`.
    Echo,
    /// Check XenStore's access rules, transactions, watches and its answers to malformed
    /// messages, with `peer` as the domain whose nodes must stay out of reach.
    XsProbe { peer: u16 },
    /// Time `reads` XenStore reads of our own `name`.
    XsBench { reads: u64 },
    /// Serve `vping` devices attached to this domain as their back end.
    VpingBack,
    /// Drive `device/vping/0`: `round_trips` pings, the grant checks, the baselines; with
    /// `hostile`, corrupt the ring instead and check the back end drops us.
    VpingFront { round_trips: u64, hostile: bool },
    /// Time `copies` 4 KiB grant copies against as many `memcpy`s.
    GrantBench { copies: u64 },
    /// An option of a known workload has a bad value (the word).
    BadOption(&'a str),
    /// A known workload lacks a required option (workload, option name).
    MissingOption { workload: &'static str, option: &'static str },
    /// No workload of that name (the word; empty if the command line names none).
    Unknown(&'a str),
}

fn is_domid_word(w: &str) -> bool {
    w.starts_with("domid=")
}

/// The domain id from a `domid=N` word, if there is a valid one.
pub fn domid(cmdline: &str) -> Option<u16> {
    cmdline.split_whitespace().find_map(|w| w.strip_prefix("domid=")).and_then(|n| n.parse().ok())
}

/// The workload the command line names.
pub fn workload(cmdline: &str) -> Workload<'_> {
    let mut words = cmdline.split_whitespace().filter(|w| !is_domid_word(w));
    let first = words.next().unwrap_or("");
    match first {
        "idle" => {
            let mut period_ms = DEFAULT_IDLE_PERIOD_MS;
            for w in words {
                if let Some(v) = w.strip_prefix("period=") {
                    match v.parse() {
                        Ok(ms) if ms > 0 => period_ms = ms,
                        _ => return Workload::BadOption(w),
                    }
                }
            }
            Workload::Idle { period_ms }
        }
        "spin" => Workload::Spin,
        "echo" => Workload::Echo,
        "xs-probe" => match option(words, "peer=", |_: &u16| true) {
            Some(Ok(peer)) => Workload::XsProbe { peer },
            Some(Err(w)) => Workload::BadOption(w),
            None => Workload::MissingOption { workload: "xs-probe", option: "peer" },
        },
        "xs-bench" => match option(words, "n=", |&n: &u64| n > 0) {
            Some(Ok(reads)) => Workload::XsBench { reads },
            Some(Err(w)) => Workload::BadOption(w),
            None => Workload::XsBench { reads: DEFAULT_XS_BENCH_READS },
        },
        "vping-back" => Workload::VpingBack,
        "vping-front" => {
            let hostile = words.clone().any(|w| w == "hostile");
            match option(words, "count=", |&n: &u64| n > 0) {
                Some(Ok(round_trips)) => Workload::VpingFront { round_trips, hostile },
                Some(Err(w)) => Workload::BadOption(w),
                None => Workload::VpingFront { round_trips: DEFAULT_VPING_ROUND_TRIPS, hostile },
            }
        }
        "grant-bench" => match option(words, "n=", |&n: &u64| n > 0) {
            Some(Ok(copies)) => Workload::GrantBench { copies },
            Some(Err(w)) => Workload::BadOption(w),
            None => Workload::GrantBench { copies: DEFAULT_GRANT_BENCH_COPIES },
        },
        _ => {
            if let Some(mode) = first.strip_prefix("crash=") {
                return CrashMode::parse(mode).map_or(Workload::Unknown(first), Workload::Crash);
            }
            if let Some(spec) = first.strip_prefix("exit=") {
                return parse_exit(spec).unwrap_or(Workload::Unknown(first));
            }
            Workload::Unknown(first)
        }
    }
}

/// The last `<prefix>VALUE` word among `words`, parsed and checked with `valid`: `None` when
/// absent, `Err(word)` when the value does not parse or is not valid.
pub fn option<'a, T: core::str::FromStr>(words: impl Iterator<Item = &'a str>, prefix: &str, valid: impl Fn(&T) -> bool) -> Option<Result<T, &'a str>> {
    let word = words.filter(|w| w.starts_with(prefix)).last()?;
    Some(word[prefix.len()..].parse().ok().filter(|v| valid(v)).ok_or(word))
}

/// `N` or `N,reason=R`.
fn parse_exit(spec: &str) -> Option<Workload<'static>> {
    let (secs, reason) = match spec.split_once(',') {
        None => (spec, ExitReason::Poweroff),
        Some((secs, rest)) => (secs, ExitReason::parse(rest.strip_prefix("reason=")?)?),
    };
    Some(Workload::Exit { secs: secs.parse().ok()?, reason })
}

/// The command line as the banner shows it: its words without `domid=N`, single-spaced.
pub struct Shown<'a>(pub &'a str);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, w) in self.0.split_whitespace().filter(|w| !is_domid_word(w)).enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(w)?;
        }
        Ok(())
    }
}

/// A domain id, or `?` when the command line did not carry one.
pub struct ShownDomid(pub Option<u16>);

impl fmt::Display for ShownDomid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(d) => write!(f, "{d}"),
            None => f.write_str("?"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workloads() {
        assert_eq!(workload("idle"), Workload::Idle { period_ms: 1000 });
        assert_eq!(workload("idle period=250 domid=4"), Workload::Idle { period_ms: 250 });
        assert_eq!(workload("idle period=0"), Workload::BadOption("period=0"));
        assert_eq!(workload("idle period=x"), Workload::BadOption("period=x"));
        assert_eq!(workload("domid=2 spin"), Workload::Spin);
        assert_eq!(workload("spin extra=1"), Workload::Spin);
        assert_eq!(workload("crash=pagefault"), Workload::Crash(CrashMode::PageFault));
        assert_eq!(workload("crash=ud2"), Workload::Crash(CrashMode::Ud2));
        assert_eq!(workload("crash=ptwrite"), Workload::Crash(CrashMode::PtWrite));
        assert_eq!(workload("crash=nope"), Workload::Unknown("crash=nope"));
        assert_eq!(workload("exit=5"), Workload::Exit { secs: 5, reason: ExitReason::Poweroff });
        assert_eq!(workload("exit=0,reason=reboot"), Workload::Exit { secs: 0, reason: ExitReason::Reboot });
        assert_eq!(workload("exit=3,reason=crash"), Workload::Exit { secs: 3, reason: ExitReason::Crash });
        assert_eq!(workload("exit=3,reason=halt"), Workload::Unknown("exit=3,reason=halt"));
        assert_eq!(workload("exit=x"), Workload::Unknown("exit=x"));
        assert_eq!(workload("exit=3,why=crash"), Workload::Unknown("exit=3,why=crash"));
        assert_eq!(workload("dance"), Workload::Unknown("dance"));
        assert_eq!(workload(""), Workload::Unknown(""));
        assert_eq!(workload(" domid=7 "), Workload::Unknown(""));
    }

    #[test]
    fn xenstore_and_console_workloads() {
        assert_eq!(workload("echo domid=3"), Workload::Echo);
        assert_eq!(workload("xs-probe peer=2 domid=3"), Workload::XsProbe { peer: 2 });
        assert_eq!(workload("domid=3 xs-probe x=1 peer=0"), Workload::XsProbe { peer: 0 });
        assert_eq!(workload("xs-probe peer=1 peer=4"), Workload::XsProbe { peer: 4 });
        assert_eq!(workload("xs-probe"), Workload::MissingOption { workload: "xs-probe", option: "peer" });
        assert_eq!(workload("xs-probe peer=x"), Workload::BadOption("peer=x"));
        assert_eq!(workload("xs-probe peer=70000"), Workload::BadOption("peer=70000"));
        assert_eq!(workload("xs-bench"), Workload::XsBench { reads: DEFAULT_XS_BENCH_READS });
        assert_eq!(workload("xs-bench n=50"), Workload::XsBench { reads: 50 });
        assert_eq!(workload("xs-bench n=0"), Workload::BadOption("n=0"));
        assert_eq!(workload("xs-bench n=-1"), Workload::BadOption("n=-1"));
        assert_eq!(workload("xs-benchmark"), Workload::Unknown("xs-benchmark"));
    }

    #[test]
    fn interdomain_workloads() {
        assert_eq!(workload("vping-back domid=2"), Workload::VpingBack);
        assert_eq!(workload("vping-front"), Workload::VpingFront { round_trips: DEFAULT_VPING_ROUND_TRIPS, hostile: false });
        assert_eq!(workload("vping-front count=50 domid=3"), Workload::VpingFront { round_trips: 50, hostile: false });
        assert_eq!(workload("vping-front hostile count=5"), Workload::VpingFront { round_trips: 5, hostile: true });
        assert_eq!(workload("vping-front count=0"), Workload::BadOption("count=0"));
        assert_eq!(workload("grant-bench"), Workload::GrantBench { copies: DEFAULT_GRANT_BENCH_COPIES });
        assert_eq!(workload("grant-bench n=64"), Workload::GrantBench { copies: 64 });
        assert_eq!(workload("grant-bench n=x"), Workload::BadOption("n=x"));
    }

    #[test]
    fn options() {
        let words = || "a=1 b=x a=2 c=0".split_whitespace();
        assert_eq!(option(words(), "a=", |_: &u32| true), Some(Ok(2)));
        assert_eq!(option(words(), "b=", |_: &u32| true), Some(Err("b=x")));
        assert_eq!(option(words(), "c=", |&c: &u32| c > 0), Some(Err("c=0")));
        assert_eq!(option(words(), "d=", |_: &u32| true), None);
    }

    #[test]
    fn domids_and_banner() {
        assert_eq!(domid("spin domid=3"), Some(3));
        assert_eq!(domid("spin"), None);
        assert_eq!(domid("spin domid=x"), None);
        assert_eq!(Shown("  spin   domid=3 x=1 ").to_string(), "spin x=1");
        assert_eq!(ShownDomid(Some(3)).to_string(), "3");
        assert_eq!(ShownDomid(None).to_string(), "?");
        assert_eq!(ExitReason::Crash.code(), SHUTDOWN_CRASH);
    }
}
