//! Borrowed Virtual Time (Duda & Cheriton, SOSP'99), the scheduler of the 2003 Xen paper, after
//! Xen's `xen/common/sched_bvt.c` (2003–2006), for one pCPU.
//!
//! Model:
//! - Each vCPU has an *actual virtual time* (`avt`) that advances while it runs: by
//!   `mcu_advance` per started MCU (minimum charging unit, 100 µs). `mcu_advance` is the inverse
//!   of the weight, so a vCPU with twice the weight advances half as fast and gets twice the
//!   CPU. Here `mcu_advance = round(2^24 / weight)`: 256 → 65536, 512 → 32768, 1024 → 16384.
//! - The *effective virtual time* (`evt`) is `avt - warp` while the vCPU is warped, else `avt`.
//!   The runnable vCPU with the lowest `evt` runs.
//! - It runs until its `evt` would pass the runner-up's by the context-switch allowance:
//!   `(next_prime.evt - next.evt) / mcu_advance` MCUs plus `ctx_allow` (5 ms); `10 * ctx_allow`
//!   when it is alone. (Xen added the MCU count to nanoseconds directly; the MCU count is
//!   converted to time here, which is what the formula means.)
//! - `svt`, the system virtual time, is the lowest `avt` among runnable vCPUs. A waking vCPU
//!   gets `avt = max(avt, svt)`: blocked time is not banked, so a sleeper cannot monopolise
//!   the CPU when it returns.
//! - Warping, for latency: a waking vCPU with a non-zero `warp` runs with `evt = avt - warp`,
//!   putting it ahead of the others. The warp lasts until it blocks, or at most `warpl` after
//!   the wake-up; a warp cut short by `warpl` cannot start again for `warpu`. Defaults are the
//!   2006 `sched_bvt.c` ones (`warpl` 2000 ms, `warpu` 1000 ms) except `warp`: Xen left it 0
//!   (warping off until an administrator set it); here it defaults to [`DEFAULT_WARP`], about
//!   one `ctx_allow` of CPU at the default weight. A woken vCPU is dispatched within
//!   `ctx_allow` either way (it comes back at `svt`); the warp lets it lead by more than
//!   `ctx_allow`, so a short burst after a wake-up is not cut in two. Every wake-up warps,
//!   including a vCPU's first one.
//! - A waking vCPU with a lower `evt` than the running one preempts it, but not before the
//!   running one has had `ctx_allow` (Xen's `min_slice`); otherwise the running one's timer is
//!   brought forward to when its `evt` will pass the newcomer's (plus `ctx_allow`).
//! - Virtual times are `i64`. When `svt` reaches [`VT_REBASE_AT`], [`VT_REBASE_BY`] is
//!   subtracted from every virtual time (Xen's `0xf0000000`/`0xe0000000` on 32 bits), so
//!   nothing overflows however long the system runs. Long-blocked vCPUs saturate instead of
//!   wrapping (Xen's unsigned arithmetic wrapped them around to the far future).
//!
//! BVT has no caps: [`Scheduler::set_params`] accepts only cap 0.

use super::{Decision, ParamError, Resched, Running, SchedParams, Scheduler, VcpuRef, DEFAULT_WEIGHT};
use alloc::collections::{BTreeMap, VecDeque};
use xen_abi::sched::XEN_SCHEDULER_BVT;

/// Minimum charging unit (ns): running for any part of one is charged the whole unit.
pub const MCU: u64 = 100_000;
/// Default context-switch allowance (ns): minimum run before preemption by a wake-up, and
/// the slack added to every run.
pub const DEFAULT_CTX_ALLOW: u64 = 5_000_000;
/// `mcu_advance = round(ADVANCE_SCALE / weight)`.
pub const ADVANCE_SCALE: u64 = 1 << 24;
/// Default warp (virtual-time units): `ctx_allow` worth of MCUs at the default weight.
pub const DEFAULT_WARP: u64 = DEFAULT_CTX_ALLOW / MCU * mcu_advance_for(DEFAULT_WEIGHT);
/// Default longest warp after a wake-up (ns), as in the 2006 `sched_bvt.c`.
pub const DEFAULT_WARPL: u64 = 2_000_000_000;
/// Default unwarped time required after a warp hit `warpl` (ns), as in the 2006 `sched_bvt.c`.
pub const DEFAULT_WARPU: u64 = 1_000_000_000;
/// Largest accepted warp (virtual-time units; far beyond any useful value).
pub const MAX_WARP: u64 = 1 << 48;
/// `svt` at which all virtual times are moved down.
pub const VT_REBASE_AT: i64 = 0xF << 58;
/// How far they are moved.
pub const VT_REBASE_BY: i64 = 0xE << 58;

/// Virtual-time advance per MCU for a weight (1..=65535; 0 is treated as 1).
pub const fn mcu_advance_for(weight: u16) -> u64 {
    let w = if weight == 0 { 1 } else { weight as u64 };
    (ADVANCE_SCALE + w / 2) / w
}

/// A vCPU's warp parameters (Xen's `sched_adjdom` BVT fields).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BvtWarp {
    /// How far back the `evt` of a woken vCPU is set (virtual-time units); 0 disables warping.
    pub warp: u64,
    /// Longest a warp lasts after a wake-up (ns); 0 = no limit.
    pub warpl: u64,
    /// After a warp was cut short by `warpl`, how long before warping is allowed again (ns).
    pub warpu: u64,
}

impl Default for BvtWarp {
    fn default() -> Self {
        Self { warp: DEFAULT_WARP, warpl: DEFAULT_WARPL, warpu: DEFAULT_WARPU }
    }
}

#[derive(Clone, Debug)]
struct VcpuInfo {
    params: SchedParams,
    mcu_advance: i64,
    avt: i64,
    evt: i64,
    warp: BvtWarp,
    /// Warped since this time (the wake-up).
    warped_since: Option<u64>,
    /// When a warp was last cut short by `warpl`.
    unwarped_at: Option<u64>,
    blocked: bool,
    yielding: bool,
    cpu_time: u64,
}

impl VcpuInfo {
    /// Recompute `evt`, ending the warp when `warpl` has run out.
    fn update_evt(&mut self, now: u64) {
        if let Some(since) = self.warped_since {
            if self.warp.warpl != 0 && now.saturating_sub(since) >= self.warp.warpl {
                self.warped_since = None;
                self.unwarped_at = Some(now);
            }
        }
        self.evt = match self.warped_since {
            Some(_) => self.avt.saturating_sub(warp_vt(self.warp.warp)),
            None => self.avt,
        };
    }

    /// Nanoseconds this vCPU needs to advance its `evt` by `dvt` (whole MCUs).
    fn time_for(&self, dvt: i64) -> u64 {
        let mcus = u64::try_from(dvt / self.mcu_advance).unwrap_or(0);
        mcus.saturating_mul(MCU)
    }
}

fn warp_vt(warp: u64) -> i64 {
    i64::try_from(warp.min(MAX_WARP)).unwrap_or(i64::MAX)
}

/// The BVT scheduler. See the module documentation.
#[derive(Debug)]
pub struct Bvt {
    vcpus: BTreeMap<VcpuRef, VcpuInfo>,
    /// Runnable vCPUs other than the running one; ties in `evt` go to the earlier entry
    /// (woken vCPUs enter at the front, descheduled ones at the back, as in Xen).
    runq: VecDeque<VcpuRef>,
    running: Option<Running>,
    svt: i64,
    ctx_allow: u64,
    nr_cpus: u32,
}

impl Default for Bvt {
    fn default() -> Self {
        Self::new()
    }
}

impl Bvt {
    pub fn new() -> Self {
        Self::with_ctx_allow(DEFAULT_CTX_ALLOW).expect("default allowance is valid")
    }

    /// BVT with another context-switch allowance (Xen's global BVT control), 100 µs..=1 s.
    pub fn with_ctx_allow(ns: u64) -> Option<Self> {
        if !(MCU..=1_000_000_000).contains(&ns) {
            return None;
        }
        Some(Self { vcpus: BTreeMap::new(), runq: VecDeque::new(), running: None, svt: 0, ctx_allow: ns, nr_cpus: 1 })
    }

    /// A scheduler whose virtual time starts at `vt`, to exercise the rebase.
    #[cfg(test)]
    pub(crate) fn with_start_vt(vt: i64) -> Self {
        let mut b = Self::new();
        b.svt = vt;
        b
    }

    pub fn ctx_allow(&self) -> u64 {
        self.ctx_allow
    }

    /// System virtual time (lowest `avt` among runnable vCPUs at the last decision).
    pub fn svt(&self) -> i64 {
        self.svt
    }

    /// `(avt, evt)` of a vCPU, for dumps and tests.
    pub fn virtual_times(&self, v: VcpuRef) -> Option<(i64, i64)> {
        self.vcpus.get(&v).map(|i| (i.avt, i.evt))
    }

    /// Whether a vCPU is currently warped.
    pub fn is_warped(&self, v: VcpuRef) -> bool {
        self.vcpus.get(&v).is_some_and(|i| i.warped_since.is_some())
    }

    pub fn warp_params(&self, v: VcpuRef) -> Option<BvtWarp> {
        self.vcpus.get(&v).map(|i| i.warp)
    }

    /// Set a vCPU's warp parameters (warp at most [`MAX_WARP`]). A warp in progress keeps its
    /// start time; a warp of 0 ends it.
    pub fn set_warp_params(&mut self, v: VcpuRef, w: BvtWarp) -> Result<(), ParamError> {
        if w.warp > MAX_WARP {
            return Err(ParamError::OutOfRange);
        }
        let info = self.vcpus.get_mut(&v).ok_or(ParamError::UnknownVcpu)?;
        info.warp = w;
        if w.warp == 0 {
            info.warped_since = None;
        }
        Ok(())
    }

    fn validate(&self, p: SchedParams) -> Result<(), ParamError> {
        p.validate(self.nr_cpus)?;
        if p.cap != 0 {
            return Err(ParamError::CapUnsupported);
        }
        Ok(())
    }

    /// Move every virtual time down once `svt` gets large.
    fn rebase_if_needed(&mut self) {
        if self.svt < VT_REBASE_AT {
            return;
        }
        self.svt -= VT_REBASE_BY;
        for info in self.vcpus.values_mut() {
            info.avt = info.avt.saturating_sub(VT_REBASE_BY);
            info.evt = info.evt.saturating_sub(VT_REBASE_BY);
        }
    }

    /// Index of the lowest `evt` in the run queue (first on ties), skipping `avoid` when
    /// anything else is runnable.
    fn pick(&self, avoid: Option<VcpuRef>) -> Option<usize> {
        let lowest = |skip: Option<VcpuRef>| {
            let mut best: Option<(usize, i64)> = None;
            for (i, v) in self.runq.iter().enumerate() {
                if Some(*v) == skip {
                    continue;
                }
                let evt = self.vcpus[v].evt;
                if best.is_none_or(|(_, b)| evt < b) {
                    best = Some((i, evt));
                }
            }
            best.map(|(i, _)| i)
        };
        lowest(avoid).or_else(|| lowest(None))
    }
}

/// `Resched` for "schedule by `t`", given the current timer `until`.
fn resched_by(t: u64, now: u64, until: u64) -> Resched {
    if t <= now {
        Resched::Now
    } else if t < until {
        Resched::By(t)
    } else {
        Resched::No
    }
}

impl Scheduler for Bvt {
    fn name(&self) -> &'static str {
        "bvt"
    }

    fn xen_sched_id(&self) -> u32 {
        XEN_SCHEDULER_BVT
    }

    fn add_vcpu(&mut self, v: VcpuRef, params: SchedParams, _now: u64) -> Result<(), ParamError> {
        self.validate(params)?;
        if self.vcpus.contains_key(&v) {
            return self.set_params(v, params);
        }
        self.vcpus.insert(
            v,
            VcpuInfo {
                params,
                mcu_advance: mcu_advance_for(params.weight) as i64,
                avt: self.svt,
                evt: self.svt,
                warp: BvtWarp::default(),
                warped_since: None,
                unwarped_at: None,
                blocked: true,
                yielding: false,
                cpu_time: 0,
            },
        );
        Ok(())
    }

    fn remove_vcpu(&mut self, v: VcpuRef, _now: u64) -> Resched {
        if self.vcpus.remove(&v).is_none() {
            return Resched::No;
        }
        self.runq.retain(|&q| q != v);
        if self.running.is_some_and(|r| r.v == v) {
            self.running = None;
            Resched::Now
        } else {
            Resched::No
        }
    }

    fn wake(&mut self, v: VcpuRef, now: u64) -> Resched {
        let svt = self.svt;
        let is_running = self.running.is_some_and(|r| r.v == v);
        let Some(info) = self.vcpus.get_mut(&v) else { return Resched::No };
        if !info.blocked {
            return Resched::No;
        }
        info.blocked = false;
        if is_running {
            // Blocked and woke again before the pCPU was given away: it just carries on.
            return Resched::No;
        }
        info.avt = info.avt.max(svt);
        let penalised = info.unwarped_at.is_some_and(|t| now.saturating_sub(t) < info.warp.warpu);
        if info.warp.warp != 0 && !penalised {
            info.warped_since = Some(now);
        }
        info.update_evt(now);
        let woken_evt = info.evt;
        self.runq.push_front(v);

        let Some(r) = self.running else { return Resched::Now };
        let Some(cur) = self.vcpus.get(&r.v) else { return Resched::Now };
        // `cur.evt` is its value at dispatch; add what it has run since.
        let ran_mcus = now.saturating_sub(r.since).div_ceil(MCU);
        let cur_evt_now =
            cur.evt.saturating_add(i64::try_from(ran_mcus).unwrap_or(i64::MAX).saturating_mul(cur.mcu_advance));
        let t = if woken_evt < cur_evt_now {
            // Ahead of the running vCPU: take over once it has had its allowance.
            r.since + self.ctx_allow
        } else {
            // Behind: the running vCPU may go on until it passes the newcomer.
            r.since + cur.time_for(woken_evt - cur.evt) + self.ctx_allow
        };
        let answer = resched_by(t, now, r.until);
        if let Resched::By(until) = answer {
            self.running = Some(Running { until, ..r });
        }
        answer
    }

    fn sleep(&mut self, v: VcpuRef, _now: u64) -> Resched {
        let Some(info) = self.vcpus.get_mut(&v) else { return Resched::No };
        if info.blocked {
            return Resched::No;
        }
        info.blocked = true;
        // Blocking ends a warp without penalty (`warpu` applies only after `warpl` ran out).
        info.warped_since = None;
        if self.running.is_some_and(|r| r.v == v) {
            Resched::Now
        } else {
            self.runq.retain(|&q| q != v);
            Resched::No
        }
    }

    fn yield_vcpu(&mut self, v: VcpuRef, _now: u64) -> Resched {
        match self.vcpus.get_mut(&v) {
            Some(info) if self.running.is_some_and(|r| r.v == v) => {
                info.yielding = true;
                Resched::Now
            }
            _ => Resched::No,
        }
    }

    fn schedule(&mut self, now: u64) -> Decision {
        let mut avoid = None;
        if let Some(r) = self.running.take() {
            if let Some(info) = self.vcpus.get_mut(&r.v) {
                let ran = now.saturating_sub(r.since);
                info.cpu_time += ran;
                let mcus = i64::try_from(ran.div_ceil(MCU)).unwrap_or(i64::MAX);
                info.avt = info.avt.saturating_add(mcus.saturating_mul(info.mcu_advance));
                if core::mem::take(&mut info.yielding) {
                    avoid = Some(r.v);
                }
                if !info.blocked {
                    self.runq.push_back(r.v);
                }
            }
        }
        if self.runq.is_empty() {
            return Decision { next: None, run_until: None };
        }

        let mut min_avt = i64::MAX;
        for v in &self.runq {
            let info = self.vcpus.get_mut(v).expect("queued vCPUs are known");
            info.update_evt(now);
            min_avt = min_avt.min(info.avt);
        }
        self.svt = min_avt;
        self.rebase_if_needed();

        let idx = self.pick(avoid).expect("run queue is not empty");
        let v = self.runq.remove(idx).expect("index from pick");
        let next = &self.vcpus[&v];
        let runner_up = self.runq.iter().map(|q| self.vcpus[q].evt).min();
        let mut len = match runner_up {
            None => 10 * self.ctx_allow,
            Some(evt) => next.time_for(evt.saturating_sub(next.evt)).saturating_add(self.ctx_allow),
        };
        if let (Some(since), l) = (next.warped_since, next.warp.warpl) {
            if l != 0 {
                // Come back when the warp runs out (`update_evt` left at least 1 ns of it).
                len = len.min(since + l - now);
            }
        }
        let until = now.saturating_add(len);
        self.running = Some(Running { v, since: now, until });
        Decision { next: Some(v), run_until: Some(until) }
    }

    fn current(&self) -> Option<VcpuRef> {
        self.running.map(|r| r.v)
    }

    fn cpu_time(&self, v: VcpuRef, now: u64) -> Option<u64> {
        let info = self.vcpus.get(&v)?;
        Some(info.cpu_time + Running::live_ns(self.running, v, now))
    }

    fn is_runnable(&self, v: VcpuRef) -> bool {
        self.vcpus.get(&v).is_some_and(|i| !i.blocked)
    }

    fn params(&self, v: VcpuRef) -> Option<SchedParams> {
        self.vcpus.get(&v).map(|i| i.params)
    }

    fn set_params(&mut self, v: VcpuRef, p: SchedParams) -> Result<(), ParamError> {
        self.validate(p)?;
        let info = self.vcpus.get_mut(&v).ok_or(ParamError::UnknownVcpu)?;
        info.params = p;
        info.mcu_advance = mcu_advance_for(p.weight) as i64;
        Ok(())
    }

    #[cfg(test)]
    fn check_invariants(&self) {
        let running = self.running.map(|r| r.v);
        for (i, v) in self.runq.iter().enumerate() {
            let info = self.vcpus.get(v).expect("queued vCPUs are known");
            assert!(!info.blocked, "{v} queued but blocked");
            assert_ne!(Some(*v), running, "{v} queued and running");
            assert!(!self.runq.iter().skip(i + 1).any(|q| q == v), "{v} queued twice");
        }
        for (v, info) in &self.vcpus {
            if !info.blocked && Some(*v) != running {
                assert!(self.runq.contains(v), "{v} runnable but not queued");
            }
            if !info.blocked {
                assert!(info.avt >= self.svt - (1 << 40), "{v} avt far below svt");
            }
        }
        assert!(self.svt < VT_REBASE_AT);
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn v(n: u32) -> VcpuRef {
        VcpuRef::new(1, n)
    }

    #[test]
    fn weight_mapping() {
        assert_eq!(mcu_advance_for(256), 65536);
        assert_eq!(mcu_advance_for(512), 32768);
        assert_eq!(mcu_advance_for(1024), 16384);
        assert_eq!(mcu_advance_for(1), 1 << 24);
        assert_eq!(mcu_advance_for(65535), 256);
        assert_eq!(DEFAULT_WARP, 50 * 65536);
    }

    #[test]
    fn charges_whole_mcus() {
        let mut b = Bvt::new();
        b.add_vcpu(v(0), SchedParams::default(), 0).unwrap();
        assert_eq!(b.wake(v(0), 0), Resched::Now);
        assert_eq!(b.schedule(0), Decision { next: Some(v(0)), run_until: Some(50 * MS) });
        b.schedule(150_001); // 1.5 MCU → charged 2
        assert_eq!(b.virtual_times(v(0)).unwrap().0, 2 * 65536);
        assert_eq!(b.cpu_time(v(0), 150_001), Some(150_001));
    }

    #[test]
    fn run_length_follows_runner_up() {
        let mut b = Bvt::new();
        for n in 0..2 {
            b.add_vcpu(v(n), SchedParams::default(), 0).unwrap();
            b.set_warp_params(v(n), BvtWarp { warp: 0, ..BvtWarp::default() }).unwrap();
            let _ = b.wake(v(n), 0);
        }
        // Equal evt: the first runs for ctx_allow only.
        let d = b.schedule(0);
        assert_eq!(d.run_until, Some(5 * MS));
        let first = d.next.unwrap();
        // Then the other is 50 MCUs behind: it may run 50 MCUs + ctx_allow.
        let d = b.schedule(5 * MS);
        assert_ne!(d.next, Some(first));
        assert_eq!(d.run_until, Some(5 * MS + 10 * MS));
    }

    #[test]
    fn wake_lifts_to_svt_and_warps() {
        let mut b = Bvt::new();
        for n in 0..2 {
            b.add_vcpu(v(n), SchedParams::default(), 0).unwrap();
        }
        let _ = b.wake(v(0), 0);
        b.schedule(0);
        let d = b.schedule(1000 * MS);
        assert_eq!(d.next, Some(v(0)));
        // v1 slept through a second of v0's running: it comes back at svt, not at 0, warped.
        let r = b.wake(v(1), 1000 * MS + 1);
        assert_eq!(r, Resched::By(1005 * MS), "after v0's allowance");
        let (avt, evt) = b.virtual_times(v(1)).unwrap();
        assert_eq!(avt, b.svt());
        assert_eq!(evt, avt - DEFAULT_WARP as i64);
        assert!(b.is_warped(v(1)));
        assert_eq!(b.schedule(1005 * MS).next, Some(v(1)));
    }

    #[test]
    fn warp_limit_and_unwarp_penalty() {
        let mut b = Bvt::new();
        b.add_vcpu(v(0), SchedParams::default(), 0).unwrap();
        b.set_warp_params(v(0), BvtWarp { warp: 1000, warpl: 20 * MS, warpu: 100 * MS }).unwrap();
        let _ = b.wake(v(0), 0);
        let d = b.schedule(0);
        assert_eq!(d.run_until, Some(20 * MS), "alone it would get 50 ms; the warp ends at 20");
        b.schedule(20 * MS);
        assert!(!b.is_warped(v(0)));
        let _ = b.sleep(v(0), 30 * MS);
        b.schedule(30 * MS);
        let _ = b.wake(v(0), 60 * MS);
        assert!(!b.is_warped(v(0)), "within warpu of the cut-short warp");
        let _ = b.sleep(v(0), 60 * MS);
        b.schedule(60 * MS);
        let _ = b.wake(v(0), 120 * MS);
        assert!(b.is_warped(v(0)));
        // Blocking ends a warp without penalty.
        let _ = b.sleep(v(0), 121 * MS);
        let _ = b.wake(v(0), 122 * MS);
        assert!(b.is_warped(v(0)));
    }

    #[test]
    fn rebase_moves_everything_down() {
        let mut b = Bvt::with_start_vt(VT_REBASE_AT - 10);
        b.add_vcpu(v(0), SchedParams::default(), 0).unwrap();
        b.add_vcpu(v(1), SchedParams::default(), 0).unwrap();
        let _ = b.wake(v(0), 0);
        b.schedule(0);
        b.schedule(10 * MS);
        assert!(b.svt() < VT_REBASE_AT - VT_REBASE_BY + (1 << 30));
        // v1 stayed blocked at the old svt: moved down too, and still wakes at svt.
        assert_eq!(b.virtual_times(v(1)).unwrap().0, VT_REBASE_AT - 10 - VT_REBASE_BY);
        let _ = b.wake(v(1), 10 * MS);
        assert_eq!(b.virtual_times(v(1)).unwrap().0, b.svt());
    }

    #[test]
    fn caps_are_refused() {
        let mut b = Bvt::new();
        assert_eq!(b.add_vcpu(v(0), SchedParams { weight: 256, cap: 50 }, 0), Err(ParamError::CapUnsupported));
        b.add_vcpu(v(0), SchedParams::default(), 0).unwrap();
        assert_eq!(b.set_params(v(0), SchedParams { weight: 256, cap: 10 }), Err(ParamError::CapUnsupported));
        assert_eq!(
            b.set_warp_params(v(0), BvtWarp { warp: MAX_WARP + 1, ..BvtWarp::default() }),
            Err(ParamError::OutOfRange)
        );
        assert_eq!(b.set_warp_params(v(9), BvtWarp::default()), Err(ParamError::UnknownVcpu));
    }
}
