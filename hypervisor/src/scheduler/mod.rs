//! vCPU schedulers behind one interface, chosen with `sched=` on the hypervisor command line.
//!
//! - [`credit::Credit`] (`sched=credit`, the default): Xen's Credit1 — proportional-share weights,
//!   optional caps, 30 ms slices, boost for waking vCPUs.
//! - [`bvt::Bvt`] (`sched=bvt`): Borrowed Virtual Time, the scheduler of the 2003 Xen paper —
//!   lowest effective virtual time runs, with warping for latency-sensitive wake-ups.
//!
//! This module is pure logic: no hardware, no `unsafe`, no global state. Time comes in as
//! nanoseconds of system time (`u64`, monotonic); the caller owns the one-shot timer and the
//! context switch. The protocol, for one pCPU:
//!
//! 1. [`Scheduler::add_vcpu`] registers a vCPU (blocked); [`Scheduler::wake`] makes it runnable.
//! 2. [`Scheduler::schedule`] charges whatever ran since the previous decision and returns a
//!    [`Decision`]: run `next` (or halt when `None`) and arm the timer for `run_until`.
//! 3. State changes ([`Scheduler::wake`], [`Scheduler::sleep`], [`Scheduler::remove_vcpu`],
//!    [`Scheduler::yield_vcpu`]) answer with a [`Resched`] saying whether `schedule` must run
//!    now (preemption), by some earlier time, or not at all.
//!
//! The scheduler remembers which vCPU it dispatched and since when, so `schedule` takes no
//! "current" argument and CPU time is charged from timestamps, to the nanosecond.
//!
//! Everything is per vCPU. The state is kept for one pCPU (one run queue, one "running" slot);
//! an SMP version would key that state by pCPU and add a `cpu` argument to `schedule`, without
//! changing the per-vCPU bookkeeping.

use alloc::boxed::Box;
use core::fmt;
use xen_abi::domid::DomId;

pub mod bvt;
pub mod credit;

#[cfg(test)]
mod sim;

/// Default weight of a vCPU (Xen's `CSCHED_DEFAULT_WEIGHT`); also the BVT default.
pub const DEFAULT_WEIGHT: u16 = 256;

/// One vCPU: `(domain, vcpu id)`. Ordered by domain, then vCPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VcpuRef {
    pub dom: DomId,
    pub vcpu: u32,
}

impl VcpuRef {
    pub const fn new(dom: DomId, vcpu: u32) -> Self {
        Self { dom, vcpu }
    }
}

impl fmt::Display for VcpuRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "d{}v{}", self.dom, self.vcpu)
    }
}

/// Per-vCPU parameters common to both schedulers (the `{weight, cap}` pair of
/// `xen_domctl_sched_credit`).
///
/// Here every value is literal: there is no "leave unchanged" encoding. Xen's credit `putinfo`
/// treats weight 0 and cap 0xFFFF as "keep the old value"; that belongs to the domctl layer,
/// which should read the current parameters with [`Scheduler::params`], substitute, and call
/// [`Scheduler::set_params`]. The domctl layer also applies a domain's parameters to each of
/// its vCPUs (see [`credit`] for how that differs from Xen's per-domain cap).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SchedParams {
    /// Relative share, 1..=65535 (512 gets twice the CPU of 256).
    pub weight: u16,
    /// Upper bound in percent of one pCPU, 0 = none, at most `100 * nr_cpus`. Credit only;
    /// BVT has no caps and accepts only 0.
    pub cap: u16,
}

impl Default for SchedParams {
    fn default() -> Self {
        Self { weight: DEFAULT_WEIGHT, cap: 0 }
    }
}

impl SchedParams {
    /// Check the ranges shared by every scheduler (`nr_cpus` bounds the cap).
    pub fn validate(&self, nr_cpus: u32) -> Result<(), ParamError> {
        if self.weight == 0 {
            return Err(ParamError::BadWeight);
        }
        let max = 100 * nr_cpus;
        if u32::from(self.cap) > max {
            return Err(ParamError::BadCap { max });
        }
        Ok(())
    }
}

/// Why [`Scheduler::set_params`] (or a scheduler-specific setter) refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamError {
    /// The vCPU is not known to the scheduler.
    UnknownVcpu,
    /// Weight 0 (the valid range is 1..=65535).
    BadWeight,
    /// Cap above `max` percent.
    BadCap { max: u32 },
    /// This scheduler has no caps; only 0 is accepted.
    CapUnsupported,
    /// A scheduler-specific value is out of range (for example a BVT warp parameter).
    OutOfRange,
}

/// The outcome of [`Scheduler::schedule`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The vCPU to run; `None` means idle: halt until an interrupt.
    pub next: Option<VcpuRef>,
    /// Absolute time (ns) to program the preemption timer for; call `schedule` again then.
    /// `None`: no scheduler deadline (only possible when idle — the pCPU may halt until a
    /// wake-up). Always later than the `now` passed to `schedule`.
    pub run_until: Option<u64>,
}

/// What the caller has to do after a state change.
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resched {
    /// Nothing: the last [`Decision`] stands.
    No,
    /// Call [`Scheduler::schedule`] now (preempt the running vCPU, or leave idle).
    Now,
    /// Call [`Scheduler::schedule`] no later than this absolute time (ns), which is earlier than
    /// the last decision's `run_until`: re-arm the timer.
    By(u64),
}

/// One scheduling policy for one pCPU. All times are absolute nanoseconds of system time and
/// must not go backwards between calls (a time that does is treated as "no time passed").
pub trait Scheduler: Send {
    /// Command-line name: `"credit"` or `"bvt"`.
    fn name(&self) -> &'static str;

    /// Id reported through `XEN_DOMCTL_scheduler_op` / `XEN_SYSCTL_sched_id`
    /// (`XEN_SCHEDULER_CREDIT` = 5; BVT uses the project-local `XEN_SCHEDULER_BVT`).
    fn xen_sched_id(&self) -> u32;

    /// Register a vCPU, initially blocked (call [`Scheduler::wake`] when it may run).
    /// Parameters are validated; a vCPU that is already known keeps its state and gets `params`.
    fn add_vcpu(&mut self, v: VcpuRef, params: SchedParams, now: u64) -> Result<(), ParamError>;

    /// Forget a vCPU. Returns [`Resched::Now`] when it was the running one (its last stretch is
    /// not charged anywhere: it is gone). Unknown vCPUs are ignored.
    fn remove_vcpu(&mut self, v: VcpuRef, now: u64) -> Resched;

    /// Blocked → runnable (event, timer, unpause). No effect on a runnable or unknown vCPU.
    fn wake(&mut self, v: VcpuRef, now: u64) -> Resched;

    /// Runnable → blocked (`SCHEDOP_block`, `poll`, pause, going offline). For the running vCPU
    /// this answers [`Resched::Now`]: it keeps the pCPU only until `schedule` is called.
    fn sleep(&mut self, v: VcpuRef, now: u64) -> Resched;

    /// `SCHEDOP_yield`: let others run first if there are any. Answers [`Resched::Now`] for the
    /// running vCPU.
    fn yield_vcpu(&mut self, v: VcpuRef, now: u64) -> Resched;

    /// Charge the running vCPU up to `now`, then choose what runs next and for how long.
    fn schedule(&mut self, now: u64) -> Decision;

    /// The vCPU the last decision put on the pCPU; still reported after it blocks, until the
    /// next `schedule`. `None` when idle or once it has been removed.
    fn current(&self) -> Option<VcpuRef>;

    /// Nanoseconds of CPU `v` has consumed, including the stretch in progress up to `now`
    /// (`getvcpuinfo.cpu_time`; summed over a domain's vCPUs it is `getdomaininfo.cpu_time`,
    /// which `xl list` shows). `None` for an unknown vCPU.
    fn cpu_time(&self, v: VcpuRef, now: u64) -> Option<u64>;

    /// Whether `v` may run: not blocked and, under credit, not parked by its cap.
    fn is_runnable(&self, v: VcpuRef) -> bool;

    fn params(&self, v: VcpuRef) -> Option<SchedParams>;

    /// Validate and apply. Takes effect at the next `schedule` (call it to apply at once).
    fn set_params(&mut self, v: VcpuRef, p: SchedParams) -> Result<(), ParamError>;

    /// Panic if internal bookkeeping is inconsistent (tests only).
    #[cfg(test)]
    fn check_invariants(&self) {}
}

/// The scheduler for a `sched=` value (`None` for an unknown name). Both are built for one pCPU.
pub fn from_name(name: &str) -> Option<Box<dyn Scheduler>> {
    match name {
        "credit" => Some(Box::new(credit::Credit::new())),
        "bvt" => Some(Box::new(bvt::Bvt::new())),
        _ => None,
    }
}

/// Scheduler used when the command line names none.
pub const DEFAULT_SCHEDULER: &str = "credit";

/// `ceil(a * b / c)` without overflow (saturating), for credit's share arithmetic.
pub(crate) fn mul_div_ceil(a: u64, b: u64, c: u64) -> u64 {
    debug_assert!(c != 0);
    let p = u128::from(a) * u128::from(b);
    let q = p.div_ceil(u128::from(c));
    u64::try_from(q).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use xen_abi::sched::{scheduler_name, XEN_SCHEDULER_BVT, XEN_SCHEDULER_CREDIT};

    #[test]
    fn names_and_ids() {
        let c = from_name("credit").unwrap();
        assert_eq!((c.name(), c.xen_sched_id()), ("credit", XEN_SCHEDULER_CREDIT));
        let b = from_name("bvt").unwrap();
        assert_eq!((b.name(), b.xen_sched_id()), ("bvt", XEN_SCHEDULER_BVT));
        for s in [&c, &b] {
            assert_eq!(scheduler_name(s.xen_sched_id()), Some(s.name()));
        }
        assert!(from_name("credit2").is_none());
        assert!(from_name("").is_none());
        assert_eq!(from_name(DEFAULT_SCHEDULER).unwrap().name(), "credit");
    }

    #[test]
    fn param_ranges() {
        let ok = |weight, cap| SchedParams { weight, cap }.validate(1);
        assert_eq!(ok(1, 0), Ok(()));
        assert_eq!(ok(65535, 100), Ok(()));
        assert_eq!(ok(0, 0), Err(ParamError::BadWeight));
        assert_eq!(ok(256, 101), Err(ParamError::BadCap { max: 100 }));
        assert_eq!(SchedParams { weight: 256, cap: 400 }.validate(4), Ok(()));
        assert_eq!(SchedParams::default(), SchedParams { weight: 256, cap: 0 });
    }

    #[test]
    fn mul_div() {
        assert_eq!(mul_div_ceil(10, 3, 4), 8);
        assert_eq!(mul_div_ceil(u64::MAX, 2, 2), u64::MAX);
        assert_eq!(mul_div_ceil(u64::MAX, 3, 1), u64::MAX);
    }
}

/// What a scheduler has on the CPU: shared by every policy.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Running {
    pub v: VcpuRef,
    /// Charged up to here.
    pub since: u64,
    /// The preemption deadline handed out.
    pub until: u64,
}

impl Running {
    /// Time `v` has run in the current stretch, if it is the one running.
    pub fn live_ns(running: Option<Running>, v: VcpuRef, now: u64) -> u64 {
        match running {
            Some(r) if r.v == v => now.saturating_sub(r.since),
            _ => 0,
        }
    }
}
