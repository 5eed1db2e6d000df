//! Scheduler operations (`sched_op`), mirroring
//! `xen/include/public/sched.h`, plus the scheduler ids of
//! `xen/include/public/domctl.h`.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::domid::DomId;

/// Give up the CPU voluntarily.
pub const SCHEDOP_YIELD: u32 = 0;
/// Block until an event is pending (re-enables event delivery first).
pub const SCHEDOP_BLOCK: u32 = 1;
/// Shut the calling domain down ([`SchedShutdown`]).
pub const SCHEDOP_SHUTDOWN: u32 = 2;
/// Block until one of a set of ports is pending or a timeout
/// ([`SchedPoll`]).
pub const SCHEDOP_POLL: u32 = 3;
/// Shut another domain down ([`SchedRemoteShutdown`]).
pub const SCHEDOP_REMOTE_SHUTDOWN: u32 = 4;
/// Record a shutdown code without shutting down ([`SchedShutdown`]).
pub const SCHEDOP_SHUTDOWN_CODE: u32 = 5;
/// Create, refresh or destroy a watchdog ([`SchedWatchdog`]).
pub const SCHEDOP_WATCHDOG: u32 = 6;
/// Temporarily override vCPU affinity ([`SchedPinOverride`]).
pub const SCHEDOP_PIN_OVERRIDE: u32 = 7;

/// Shutdown reason: power off.
pub const SHUTDOWN_POWEROFF: u32 = 0;
/// Shutdown reason: reboot.
pub const SHUTDOWN_REBOOT: u32 = 1;
/// Shutdown reason: suspend (checkpoint); RDX holds the start-info MFN.
pub const SHUTDOWN_SUSPEND: u32 = 2;
/// Shutdown reason: crash.
pub const SHUTDOWN_CRASH: u32 = 3;
/// Shutdown reason: a watchdog fired.
pub const SHUTDOWN_WATCHDOG: u32 = 4;
/// Shutdown reason: soft reset.
pub const SHUTDOWN_SOFT_RESET: u32 = 5;
/// Highest defined shutdown reason.
pub const SHUTDOWN_MAX: u32 = 5;

/// Argument of `SCHEDOP_shutdown` and `SCHEDOP_shutdown_code`
/// (C `struct sched_shutdown`, 4 B).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct SchedShutdown {
    /// `SHUTDOWN_*`.
    pub reason: u32,
}

/// Argument of `SCHEDOP_poll` (C `struct sched_poll`, 24 B).  Xen accepts
/// at most 128 ports.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct SchedPoll {
    /// Guest handle to an array of event-channel ports.
    pub ports: u64,
    /// Number of ports.
    pub nr_ports: u32,
    /// Padding.
    pub _pad: u32,
    /// Absolute system-time timeout in ns (0 = none).
    pub timeout: u64,
}

/// Argument of `SCHEDOP_remote_shutdown`
/// (C `struct sched_remote_shutdown`, 8 B).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct SchedRemoteShutdown {
    /// Domain to shut down.
    pub domain_id: DomId,
    /// Padding.
    pub _pad: u16,
    /// `SHUTDOWN_*`.
    pub reason: u32,
}

/// Argument of `SCHEDOP_watchdog` (C `struct sched_watchdog`, 8 B).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct SchedWatchdog {
    /// Watchdog id (0 = create a new one).
    pub id: u32,
    /// Timeout in seconds (0 = destroy).
    pub timeout: u32,
}

/// Argument of `SCHEDOP_pin_override` (C `struct sched_pin_override`,
/// 4 B).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct SchedPinOverride {
    /// Physical CPU to pin to, or negative to end the override.
    pub pcpu: i32,
}

/// Scheduler id: Credit (`XEN_SCHEDULER_CREDIT`).
pub const XEN_SCHEDULER_CREDIT: u32 = 5;
/// Scheduler id: Credit2.
pub const XEN_SCHEDULER_CREDIT2: u32 = 6;
/// Scheduler id: ARINC 653.
pub const XEN_SCHEDULER_ARINC653: u32 = 7;
/// Scheduler id: RTDS (real-time deferrable server).
pub const XEN_SCHEDULER_RTDS: u32 = 8;
/// Scheduler id: null (one vCPU per pCPU).
pub const XEN_SCHEDULER_NULL: u32 = 9;
/// Scheduler id for this project's BVT (borrowed virtual time) scheduler.
///
/// **Project-local, not part of Xen's ABI.**  Xen's 2003–2006 BVT
/// scheduler never had a number in today's `XEN_SCHEDULER_*` space
/// (SEDF used 4, since removed; 5..=9 are taken).  0x100 is far away from
/// Xen's small ids so it cannot collide with present or future ones.
pub const XEN_SCHEDULER_BVT: u32 = 0x100;

/// `XEN_DOMCTL_scheduler_op` command: set per-domain parameters.
pub const XEN_DOMCTL_SCHEDOP_PUTINFO: u32 = 0;
/// `XEN_DOMCTL_scheduler_op` command: get per-domain parameters.
pub const XEN_DOMCTL_SCHEDOP_GETINFO: u32 = 1;
/// `XEN_DOMCTL_scheduler_op` command: set per-vCPU parameters.
pub const XEN_DOMCTL_SCHEDOP_PUTVCPUINFO: u32 = 2;
/// `XEN_DOMCTL_scheduler_op` command: get per-vCPU parameters.
pub const XEN_DOMCTL_SCHEDOP_GETVCPUINFO: u32 = 3;

/// Returns Xen's name for a scheduler id (`"credit"`, `"credit2"`, ...),
/// including the project-local `"bvt"`.
pub fn scheduler_name(id: u32) -> Option<&'static str> {
    Some(match id {
        XEN_SCHEDULER_CREDIT => "credit",
        XEN_SCHEDULER_CREDIT2 => "credit2",
        XEN_SCHEDULER_ARINC653 => "arinc653",
        XEN_SCHEDULER_RTDS => "rtds",
        XEN_SCHEDULER_NULL => "null",
        XEN_SCHEDULER_BVT => "bvt",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts() {
        check_layout!(SchedShutdown, 4, { reason @ 0 });
        check_layout!(SchedPoll, 24, { ports @ 0, nr_ports @ 8, timeout @ 16 });
        check_layout!(SchedRemoteShutdown, 8, { domain_id @ 0, reason @ 4 });
        check_layout!(SchedWatchdog, 8, { id @ 0, timeout @ 4 });
        check_layout!(SchedPinOverride, 4, { pcpu @ 0 });
    }

    #[test]
    fn scheduler_ids() {
        assert_eq!(scheduler_name(XEN_SCHEDULER_CREDIT2), Some("credit2"));
        assert_eq!(scheduler_name(XEN_SCHEDULER_BVT), Some("bvt"));
        assert_eq!(scheduler_name(4), None);
        for id in [5, 6, 7, 8, 9] {
            assert_ne!(id, XEN_SCHEDULER_BVT);
        }
    }
}
