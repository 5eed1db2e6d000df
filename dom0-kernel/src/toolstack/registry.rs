//! The domains this toolstack created: names, saved configurations, and
//! what to do when one of them stops.
//!
//! The hypervisor only knows domain ids. Dom0 keeps, for every domain it
//! created, the name and configuration it was created with (to show names,
//! to find a domain by name, and to create it again on restart) and how far
//! its shutdown has been handled, so that each shutdown is acted on and
//! reported exactly once.
//!
//! [`Registry::sync`] compares the registry with the hypervisor's list of
//! domains (`getdomaininfo` records): it forgets domains that are gone and
//! returns a [`Decision`] for each managed domain that has newly shut
//! down. The kernel side carries the decisions out and reports each with
//! [`event_line`].

use super::config::{DomainConfig, OnEvent, DOM0_NAME};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use xen_abi::domctl::{DomctlGetdomaininfo, XEN_DOMINF_DYING};
use xen_abi::sched::{
    SHUTDOWN_CRASH, SHUTDOWN_POWEROFF, SHUTDOWN_REBOOT, SHUTDOWN_SOFT_RESET, SHUTDOWN_SUSPEND,
    SHUTDOWN_WATCHDOG,
};

/// A domain id.
pub type DomId = u16;

/// Name shown for a domain this toolstack did not create (as `xl` does).
pub const UNNAMED: &str = "(null)";

/// A restart counts as quick if the domain lived less than this (ns).
pub const RESTART_WINDOW_NS: u64 = 10_000_000_000;
/// Quick restarts in a row after which a domain is destroyed instead.
pub const MAX_QUICK_RESTARTS: u32 = 5;

/// How far a managed domain's life has been handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Running (or paused, or shut down but not yet seen).
    Running,
    /// Shut down, reported, and kept as it is (`preserve`).
    Preserved,
    /// Destroyed (by a command or an `on_*` action) and on its way out;
    /// its name is free again.
    Destroyed,
}

/// A domain this toolstack created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Managed {
    /// Its id.
    pub domid: DomId,
    /// Its name (the configuration's).
    pub name: String,
    /// The configuration it was created from (to restart it).
    pub config: DomainConfig,
    /// How far its shutdown has been handled.
    pub phase: Phase,
    /// System time of its creation (ns).
    pub created_ns: u64,
    /// Quick restarts in a row so far (see [`MAX_QUICK_RESTARTS`]).
    pub quick_restarts: u32,
}

/// Why a domain shut down (`SHUTDOWN_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// `SHUTDOWN_poweroff`.
    Poweroff,
    /// `SHUTDOWN_reboot`.
    Reboot,
    /// `SHUTDOWN_suspend`.
    Suspend,
    /// `SHUTDOWN_crash`.
    Crash,
    /// `SHUTDOWN_watchdog`.
    Watchdog,
    /// `SHUTDOWN_soft_reset`.
    SoftReset,
    /// Any other code.
    Other(u32),
}

impl Reason {
    /// The reason for a `SHUTDOWN_*` code.
    pub fn from_code(code: u32) -> Self {
        match code {
            SHUTDOWN_POWEROFF => Reason::Poweroff,
            SHUTDOWN_REBOOT => Reason::Reboot,
            SHUTDOWN_SUSPEND => Reason::Suspend,
            SHUTDOWN_CRASH => Reason::Crash,
            SHUTDOWN_WATCHDOG => Reason::Watchdog,
            SHUTDOWN_SOFT_RESET => Reason::SoftReset,
            other => Reason::Other(other),
        }
    }

    /// What happened, as in `domain x (3) crashed`.
    pub fn describe(self) -> String {
        match self {
            Reason::Poweroff => "powered off".into(),
            Reason::Reboot => "rebooted".into(),
            Reason::Suspend => "suspended".into(),
            Reason::Crash => "crashed".into(),
            Reason::Watchdog => "was stopped by its watchdog".into(),
            Reason::SoftReset => "asked for a soft reset".into(),
            Reason::Other(code) => format!("shut down (reason {code})"),
        }
    }
}

/// The configured action for a shutdown: `on_poweroff`, `on_reboot` or
/// `on_crash`; every other reason destroys the domain.
pub fn action_for(reason: Reason, config: &DomainConfig) -> OnEvent {
    match reason {
        Reason::Poweroff => config.on_poweroff,
        Reason::Reboot => config.on_reboot,
        Reason::Crash => config.on_crash,
        _ => OnEvent::Destroy,
    }
}

/// What to do about one domain that has shut down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The domain.
    pub domid: DomId,
    /// Its name.
    pub name: String,
    /// Why it stopped.
    pub reason: Reason,
    /// What to do.
    pub action: OnEvent,
    /// The configured action was `restart`, but the domain has restarted
    /// too often too quickly: `action` is `Destroy` instead.
    pub throttled: bool,
    /// Its configuration (to restart it).
    pub config: DomainConfig,
    /// For a restart: the new domain's [`Managed::quick_restarts`].
    pub quick_restarts: u32,
}

/// How carrying out a [`Decision`] went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Destroyed.
    Destroyed,
    /// Left as it is.
    Preserved,
    /// Destroyed and created again with this id.
    Restarted(DomId),
    /// Destroying failed (the message says why).
    DestroyFailed(String),
    /// Destroyed, but creating it again failed.
    RestartFailed(String),
}

/// The one line reporting a handled shutdown, e.g.
/// `[domain spin1 (3) crashed: preserved]`.
pub fn event_line(d: &Decision, outcome: &Outcome) -> String {
    let what = match outcome {
        Outcome::Destroyed if d.throttled => "restarted too often; destroyed".into(),
        Outcome::Destroyed => "destroyed".into(),
        Outcome::Preserved => "preserved".into(),
        Outcome::Restarted(id) => format!("restarted as domid {id}"),
        Outcome::DestroyFailed(e) => format!("destroy failed: {e}"),
        Outcome::RestartFailed(e) => format!("restart failed: {e}"),
    };
    format!(
        "[domain {} ({}) {}: {what}]",
        d.name,
        d.domid,
        d.reason.describe()
    )
}

/// The domains this toolstack created.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    domains: Vec<Managed>,
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

impl Registry {
    /// An empty registry.
    pub const fn new() -> Self {
        Registry {
            domains: Vec::new(),
        }
    }

    /// Records a new domain (replacing any stale record of the same id).
    pub fn add(&mut self, m: Managed) {
        self.domains.retain(|d| d.domid != m.domid);
        self.domains.push(m);
    }

    /// The record of `domid`.
    pub fn get(&self, domid: DomId) -> Option<&Managed> {
        self.domains.iter().find(|d| d.domid == domid)
    }

    /// The record of `domid`, to change it.
    pub fn get_mut(&mut self, domid: DomId) -> Option<&mut Managed> {
        self.domains.iter_mut().find(|d| d.domid == domid)
    }

    /// Forgets `domid`.
    pub fn remove(&mut self, domid: DomId) -> Option<Managed> {
        let i = self.domains.iter().position(|d| d.domid == domid)?;
        Some(self.domains.remove(i))
    }

    /// All records, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &Managed> {
        self.domains.iter()
    }

    /// Marks `domid` as destroyed: its name is free from now on.
    pub fn mark_destroyed(&mut self, domid: DomId) {
        if let Some(d) = self.get_mut(domid) {
            d.phase = Phase::Destroyed;
        }
    }

    /// The name to show for `domid`: `Domain-0`, the name it was created
    /// with, or `(null)` for a domain this toolstack did not create.
    pub fn name_of(&self, domid: DomId) -> &str {
        if domid == 0 {
            return DOM0_NAME;
        }
        self.get(domid).map_or(UNNAMED, |d| d.name.as_str())
    }

    /// `name` followed by the id, as used in messages: `idle (domid 2)`.
    pub fn describe(&self, domid: DomId) -> String {
        format!("{} (domid {domid})", self.name_of(domid))
    }

    /// Whether a new domain may be called `name` (no live domain is).
    pub fn check_name_free(&self, name: &str) -> Result<(), String> {
        if name == DOM0_NAME {
            return Err(format!("a domain named '{name}' already exists (domid 0)"));
        }
        match self
            .domains
            .iter()
            .find(|d| d.name == name && d.phase != Phase::Destroyed)
        {
            Some(d) => Err(format!(
                "a domain named '{name}' already exists (domid {})",
                d.domid
            )),
            None => Ok(()),
        }
    }

    /// The live domain `arg` names: a domain id, `Domain-0`, or the name
    /// of a domain this toolstack created (and has not destroyed). `live`
    /// lists the ids that exist now.
    pub fn resolve(&self, arg: &str, live: &[DomId]) -> Result<DomId, String> {
        if is_number(arg) {
            return match arg.parse::<DomId>() {
                Ok(id) if live.contains(&id) => Ok(id),
                _ => Err(format!("no domain with id {arg}")),
            };
        }
        if arg == DOM0_NAME {
            return Ok(0);
        }
        self.domains
            .iter()
            .find(|d| d.name == arg && d.phase != Phase::Destroyed && live.contains(&d.domid))
            .map(|d| d.domid)
            .ok_or_else(|| format!("no domain named '{arg}'"))
    }

    /// Brings the registry up to date with `live` (the hypervisor's
    /// domain list) at system time `now_ns`: forgets domains that are gone,
    /// marks dying ones destroyed, and returns what to do about each
    /// managed domain that has newly shut down (each is returned once:
    /// its phase moves on to [`Phase::Preserved`] or [`Phase::Destroyed`]).
    /// Domains this toolstack did not create are left alone.
    pub fn sync(&mut self, live: &[DomctlGetdomaininfo], now_ns: u64) -> Vec<Decision> {
        self.domains
            .retain(|d| live.iter().any(|info| info.domain == d.domid));
        let mut decisions = Vec::new();
        for info in live {
            let Some(d) = self.get_mut(info.domain) else {
                continue;
            };
            if d.phase != Phase::Running {
                continue;
            }
            if info.flags & XEN_DOMINF_DYING != 0 {
                d.phase = Phase::Destroyed;
                continue;
            }
            let Some(code) = info.shutdown_reason() else {
                continue;
            };
            let reason = Reason::from_code(code);
            let mut action = action_for(reason, &d.config);
            let quick = if now_ns.saturating_sub(d.created_ns) < RESTART_WINDOW_NS {
                d.quick_restarts + 1
            } else {
                0
            };
            let throttled = action == OnEvent::Restart && quick > MAX_QUICK_RESTARTS;
            if throttled {
                action = OnEvent::Destroy;
            }
            d.phase = match action {
                OnEvent::Preserve => Phase::Preserved,
                OnEvent::Destroy | OnEvent::Restart => Phase::Destroyed,
            };
            decisions.push(Decision {
                domid: d.domid,
                name: d.name.clone(),
                reason,
                action,
                throttled,
                config: d.config.clone(),
                quick_restarts: quick,
            });
        }
        decisions
    }
}

/// A domain handle (UUID, version 4 layout) derived from `seed` (e.g. the
/// system time) and `counter` (distinct per creation).
pub fn make_handle(seed: u64, counter: u64) -> [u8; 16] {
    fn mix(mut z: u64) -> u64 {
        z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    let a = mix(seed ^ mix(counter));
    let b = mix(a ^ counter.rotate_left(17));
    let mut h = [0u8; 16];
    h[..8].copy_from_slice(&a.to_le_bytes());
    h[8..].copy_from_slice(&b.to_le_bytes());
    h[6] = (h[6] & 0x0f) | 0x40; // version 4
    h[8] = (h[8] & 0x3f) | 0x80; // RFC 4122 variant
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::toolstack::config::DomainConfig;
    use alloc::vec;
    use xen_abi::domctl::{shutdown_flags, XEN_DOMINF_BLOCKED, XEN_DOMINF_RUNNING};

    fn config(name: &str, extra: &str) -> DomainConfig {
        DomainConfig::parse(&format!("name='{name}'\nkernel='k.elf'\n{extra}"), &[]).unwrap()
    }

    fn managed(domid: DomId, name: &str, extra: &str) -> Managed {
        Managed {
            domid,
            name: name.into(),
            config: config(name, extra),
            phase: Phase::Running,
            created_ns: 0,
            quick_restarts: 0,
        }
    }

    fn info(domid: DomId, flags: u32) -> DomctlGetdomaininfo {
        DomctlGetdomaininfo {
            domain: domid,
            flags,
            ..Default::default()
        }
    }

    const LATER: u64 = 60_000_000_000;

    #[test]
    fn reasons_and_actions() {
        let c = config(
            "a",
            "on_poweroff='preserve'\non_reboot='destroy'\non_crash='restart'",
        );
        assert_eq!(action_for(Reason::Poweroff, &c), OnEvent::Preserve);
        assert_eq!(action_for(Reason::Reboot, &c), OnEvent::Destroy);
        assert_eq!(action_for(Reason::Crash, &c), OnEvent::Restart);
        for other in [
            Reason::Suspend,
            Reason::Watchdog,
            Reason::SoftReset,
            Reason::Other(9),
        ] {
            assert_eq!(action_for(other, &c), OnEvent::Destroy);
        }
        // xl's defaults: destroy, restart, destroy.
        let d = config("b", "");
        assert_eq!(action_for(Reason::Poweroff, &d), OnEvent::Destroy);
        assert_eq!(action_for(Reason::Reboot, &d), OnEvent::Restart);
        assert_eq!(action_for(Reason::Crash, &d), OnEvent::Destroy);
        assert_eq!(Reason::from_code(0), Reason::Poweroff);
        assert_eq!(Reason::from_code(1), Reason::Reboot);
        assert_eq!(Reason::from_code(2), Reason::Suspend);
        assert_eq!(Reason::from_code(3), Reason::Crash);
        assert_eq!(Reason::from_code(4), Reason::Watchdog);
        assert_eq!(Reason::from_code(5), Reason::SoftReset);
        assert_eq!(Reason::from_code(77), Reason::Other(77));
        assert_eq!(Reason::Other(77).describe(), "shut down (reason 77)");
    }

    #[test]
    fn event_lines() {
        let mut d = Decision {
            domid: 3,
            name: "spin1".into(),
            reason: Reason::Crash,
            action: OnEvent::Preserve,
            throttled: false,
            config: config("spin1", ""),
            quick_restarts: 0,
        };
        assert_eq!(
            event_line(&d, &Outcome::Preserved),
            "[domain spin1 (3) crashed: preserved]"
        );
        d.reason = Reason::Poweroff;
        assert_eq!(
            event_line(&d, &Outcome::Destroyed),
            "[domain spin1 (3) powered off: destroyed]"
        );
        d.reason = Reason::Reboot;
        assert_eq!(
            event_line(&d, &Outcome::Restarted(5)),
            "[domain spin1 (3) rebooted: restarted as domid 5]"
        );
        assert_eq!(
            event_line(&d, &Outcome::RestartFailed("out of memory".into())),
            "[domain spin1 (3) rebooted: restart failed: out of memory]"
        );
        assert_eq!(
            event_line(&d, &Outcome::DestroyFailed("-EINVAL".into())),
            "[domain spin1 (3) rebooted: destroy failed: -EINVAL]"
        );
        d.throttled = true;
        assert_eq!(
            event_line(&d, &Outcome::Destroyed),
            "[domain spin1 (3) rebooted: restarted too often; destroyed]"
        );
    }

    #[test]
    fn names_and_resolution() {
        let mut r = Registry::new();
        r.add(managed(2, "idle", ""));
        r.add(managed(3, "spin", ""));
        let live = [0, 2, 3, 7];
        assert_eq!(r.name_of(0), "Domain-0");
        assert_eq!(r.name_of(2), "idle");
        assert_eq!(r.name_of(7), "(null)");
        assert_eq!(r.describe(3), "spin (domid 3)");
        assert_eq!(r.resolve("idle", &live), Ok(2));
        assert_eq!(r.resolve("3", &live), Ok(3));
        assert_eq!(r.resolve("7", &live), Ok(7));
        assert_eq!(r.resolve("0", &live), Ok(0));
        assert_eq!(r.resolve("Domain-0", &live), Ok(0));
        assert_eq!(r.resolve("4", &live), Err("no domain with id 4".into()));
        assert_eq!(
            r.resolve("99999", &live),
            Err("no domain with id 99999".into())
        );
        assert_eq!(
            r.resolve("nope", &live),
            Err("no domain named 'nope'".into())
        );
        // A record whose domain is not live does not resolve.
        assert_eq!(
            r.resolve("idle", &[0, 3]),
            Err("no domain named 'idle'".into())
        );

        assert_eq!(r.check_name_free("new"), Ok(()));
        assert_eq!(
            r.check_name_free("idle"),
            Err("a domain named 'idle' already exists (domid 2)".into())
        );
        assert_eq!(
            r.check_name_free("Domain-0"),
            Err("a domain named 'Domain-0' already exists (domid 0)".into())
        );
        // A destroyed (dying) domain frees its name but keeps showing it.
        r.mark_destroyed(2);
        assert_eq!(r.check_name_free("idle"), Ok(()));
        assert_eq!(
            r.resolve("idle", &live),
            Err("no domain named 'idle'".into())
        );
        assert_eq!(r.name_of(2), "idle");
        // A new record for a reused id replaces the old one.
        r.add(managed(2, "other", ""));
        assert_eq!(r.iter().filter(|d| d.domid == 2).count(), 1);
        assert_eq!(r.name_of(2), "other");
        assert_eq!(r.remove(2).map(|d| d.name), Some("other".into()));
        assert_eq!(r.remove(2), None);
    }

    #[test]
    fn sync_acts_once_per_shutdown() {
        let mut r = Registry::new();
        r.add(managed(2, "idle", ""));
        r.add(managed(3, "spin1", "on_crash='preserve'"));
        r.add(managed(4, "x", ""));
        let running = [
            info(0, XEN_DOMINF_RUNNING),
            info(2, XEN_DOMINF_BLOCKED),
            info(3, XEN_DOMINF_RUNNING),
            info(4, XEN_DOMINF_BLOCKED),
        ];
        assert_eq!(r.sync(&running, LATER), vec![]);

        let stopped = [
            info(0, XEN_DOMINF_RUNNING),
            info(2, shutdown_flags(SHUTDOWN_POWEROFF)),
            info(3, shutdown_flags(SHUTDOWN_CRASH)),
            info(4, shutdown_flags(SHUTDOWN_REBOOT)),
            // Not ours: left alone.
            info(9, shutdown_flags(SHUTDOWN_CRASH)),
        ];
        let d = r.sync(&stopped, LATER);
        let summary: Vec<(DomId, Reason, OnEvent)> =
            d.iter().map(|d| (d.domid, d.reason, d.action)).collect();
        assert_eq!(
            summary,
            vec![
                (2, Reason::Poweroff, OnEvent::Destroy),
                (3, Reason::Crash, OnEvent::Preserve),
                (4, Reason::Reboot, OnEvent::Restart),
            ]
        );
        assert_eq!(d[2].config.name, "x");
        assert_eq!(d[2].quick_restarts, 0);
        assert!(d.iter().all(|d| !d.throttled));
        assert_eq!(r.get(2).unwrap().phase, Phase::Destroyed);
        assert_eq!(r.get(3).unwrap().phase, Phase::Preserved);
        // Reported once only.
        assert_eq!(r.sync(&stopped, LATER), vec![]);
        // The preserved domain keeps its name; destroyed ones free theirs.
        assert!(r.check_name_free("spin1").is_err());
        assert!(r.check_name_free("idle").is_ok());
        // Gone domains are forgotten.
        assert_eq!(
            r.sync(
                &[info(0, 0), info(3, shutdown_flags(SHUTDOWN_CRASH))],
                LATER
            ),
            vec![]
        );
        assert_eq!(r.iter().map(|d| d.domid).collect::<Vec<_>>(), vec![3]);
    }

    #[test]
    fn sync_other_reasons_and_dying() {
        let mut r = Registry::new();
        r.add(managed(2, "a", "on_poweroff='preserve'"));
        r.add(managed(3, "b", ""));
        let d = r.sync(
            &[
                info(2, shutdown_flags(SHUTDOWN_WATCHDOG)),
                info(3, XEN_DOMINF_DYING),
            ],
            LATER,
        );
        assert_eq!(d.len(), 1);
        assert_eq!(
            (d[0].reason, d[0].action),
            (Reason::Watchdog, OnEvent::Destroy)
        );
        // Dying without a shutdown (destroyed by someone else): name freed, nothing to do.
        assert_eq!(r.get(3).unwrap().phase, Phase::Destroyed);
        assert!(r.check_name_free("b").is_ok());
    }

    #[test]
    fn quick_restarts_are_throttled() {
        let mut r = Registry::new();
        let mut m = managed(2, "loop", "on_crash='restart'");
        m.created_ns = 1_000;
        r.add(m);
        let mut id = 2;
        for round in 1..=MAX_QUICK_RESTARTS + 1 {
            let d = r.sync(&[info(id, shutdown_flags(SHUTDOWN_CRASH))], 2_000);
            assert_eq!(d.len(), 1);
            assert_eq!(d[0].quick_restarts, round);
            if round <= MAX_QUICK_RESTARTS {
                assert_eq!((d[0].action, d[0].throttled), (OnEvent::Restart, false));
            } else {
                assert_eq!((d[0].action, d[0].throttled), (OnEvent::Destroy, true));
            }
            // The kernel side would create the new domain like this.
            id += 1;
            let mut m = managed(id, "loop", "on_crash='restart'");
            m.created_ns = 1_000;
            m.quick_restarts = d[0].quick_restarts;
            r.add(m);
        }
        // A domain that ran long enough starts counting afresh.
        let mut m = managed(50, "slow", "on_crash='restart'");
        m.quick_restarts = MAX_QUICK_RESTARTS;
        r.add(m);
        let d = r.sync(&[info(50, shutdown_flags(SHUTDOWN_CRASH))], LATER);
        assert_eq!((d[0].action, d[0].quick_restarts), (OnEvent::Restart, 0));
    }

    #[test]
    fn handles() {
        let a = make_handle(1, 1);
        let b = make_handle(1, 2);
        let c = make_handle(2, 1);
        assert_ne!(a, b);
        assert_ne!(a, c);
        for h in [a, b, c] {
            assert_eq!(h[6] >> 4, 4);
            assert_eq!(h[8] >> 6, 2);
        }
    }
}
