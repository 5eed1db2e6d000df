//! Credit scheduler (Xen's Credit1, `xen/common/sched/credit.c`), for one pCPU.
//!
//! As in Xen:
//! - Every accounting period (`tslice`, 30 ms) hands out `tslice * nr_cpus` of credit to the
//!   *active* vCPUs (those consuming CPU) in proportion to their weights (`csched_acct`): at
//!   most one period's worth each, less with a cap, passing on what a vCPU cannot take; a
//!   negative system balance is handed out on top.
//! - Priorities BOOST (just woke) > UNDER (credit ≥ 0) > OVER (credit < 0); the highest runs.
//!   Waking an UNDER vCPU boosts it, and it preempts a running vCPU of lower priority.
//! - Credit is clipped at −30 ms; a vCPU above +30 ms stops earning (leaves the active set) and
//!   its credit is halved.
//! - A capped vCPU earns at most `cap% * tslice` per period; once `cap% * tslice` in debt it
//!   is parked (off the run queue, no boost) until accounting brings its credit back to ≥ 0.
//! - Credits are kept in nanoseconds: Xen's credit (`CREDITS_PER_MSEC` = 10) is 100 µs, so its
//!   ±300 limits are ±30 ms here.
//!
//! Timestamps instead of the 10 ms tick. Xen burns credit, ends boosts and re-activates vCPUs
//! from a periodic tick that samples whoever is on the CPU. Here:
//! - the running vCPU is charged the exact nanoseconds it ran, whenever the scheduler is
//!   entered;
//! - each vCPU gets a *virtual tick* per 10 ms of CPU it consumes (remainder carried), the
//!   expected rate at which Xen's tick would land on it; a virtual tick ends a boost and makes
//!   a non-earning vCPU earn again. A vCPU that has never earned starts at its first run;
//! - priorities follow credit at once (an earning UNDER vCPU whose credit goes negative is
//!   OVER from then on), and the preemption timer is set for the exact moment something
//!   changes. A dispatched vCPU runs for at most a slice (30 ms); when others are waiting it
//!   comes back earlier: when its credit runs out, at its next virtual tick while boosted or
//!   not earning, at the next accounting period, or when its cap allowance is used up.
//! - Spare time (everyone OVER) goes to the OVER vCPU with the least debt per unit of weight,
//!   for at least half a tick, rather than round robin, so it is shared by weight as well and
//!   no one runs up a debt that takes long to repay.
//!
//! With these, three spinners at weights 256/512/1024 get 1:2:4 to within 0.2 % over 10 s,
//! and a spinner is never kept waiting more than about 80 ms (see `sim.rs`).
//!
//! Other differences from Xen:
//! - Weight and cap are per vCPU. For weights this is what Xen does too (a domain's weight
//!   counts once per active vCPU). Xen's cap is per domain, split evenly over its active vCPUs;
//!   the domctl layer can approximate it by giving each vCPU the domain's cap divided by its
//!   number of vCPUs.
//! - No context-switch rate limit (`sched_ratelimit_us`, 1 ms by default since Xen 4.2):
//!   boosted wake-ups preempt at once, as in the original Credit1.
//! - One pCPU: no load balancing, idler masks or migration.

use super::{mul_div_ceil, Decision, ParamError, Resched, Running, SchedParams, Scheduler, VcpuRef};
use alloc::collections::{BTreeMap, VecDeque};
use alloc::vec::Vec;
use xen_abi::sched::XEN_SCHEDULER_CREDIT;

/// Default slice and accounting period (Xen's `CSCHED_DEFAULT_TSLICE_MS`).
pub const DEFAULT_TSLICE_MS: u32 = 30;
/// Range of the slice accepted by Xen's `sched_credit_tslice_ms` (ms).
pub const TSLICE_MS_RANGE: core::ops::RangeInclusive<u32> = 1..=1000;
/// Xen's tick divides the slice in three (`CSCHED_TICKS_PER_TSLICE`).
pub const TICKS_PER_TSLICE: u64 = 3;

const NS_PER_MS: u64 = 1_000_000;
/// Accounting periods replayed at most after a long idle stretch; later ones are skipped
/// (credits have saturated long before).
const MAX_CATCH_UP: u32 = 16;

/// Priority classes; the derived order is the scheduling order (`Over < Under < Boost`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    /// Credit exhausted (Xen `CSCHED_PRI_TS_OVER`, −2).
    Over,
    /// Has credit (Xen `CSCHED_PRI_TS_UNDER`, −1).
    Under,
    /// Just woke up (Xen `CSCHED_PRI_TS_BOOST`, 0).
    Boost,
}

#[derive(Clone, Debug)]
struct VcpuInfo {
    params: SchedParams,
    /// Credit in nanoseconds of CPU.
    credit: i64,
    pri: Priority,
    /// On the earning (active) list.
    active: bool,
    /// Has been on it at least once.
    ever_active: bool,
    blocked: bool,
    /// Capped out: not runnable until an accounting period restores its credit.
    parked: bool,
    /// One-shot `SCHEDOP_yield`.
    yielding: bool,
    /// CPU time used since this vCPU's last virtual tick (see `charge_running`).
    tick_ran: u64,
    cpu_time: u64,
}

impl VcpuInfo {
    fn runnable(&self) -> bool {
        !self.blocked && !self.parked
    }
}

/// The Credit scheduler. See the module documentation.
#[derive(Debug)]
pub struct Credit {
    vcpus: BTreeMap<VcpuRef, VcpuInfo>,
    /// Runnable vCPUs other than the running one, in arrival order (priority is applied when
    /// picking, which keeps equals in round-robin order as Xen's sorted insert does).
    runq: VecDeque<VcpuRef>,
    /// Earning vCPUs, in Xen's `active_sdom` order (the order the shares are computed in).
    active: Vec<VcpuRef>,
    running: Option<Running>,
    tslice: u64,
    tick: u64,
    /// Shortest run of an OVER vCPU while other OVER vCPUs wait (half a tick).
    over_quantum: u64,
    nr_cpus: u32,
    /// Sum of all active credits after the last accounting (negative: hand out more).
    credit_balance: i64,
    /// When the next accounting period is due (set by the first call that knows the time).
    next_acct: Option<u64>,
}

impl Default for Credit {
    fn default() -> Self {
        Self::new()
    }
}

impl Credit {
    /// Credit with the default 30 ms slice.
    pub fn new() -> Self {
        Self::with_tslice_ms(DEFAULT_TSLICE_MS).expect("default slice is in range")
    }

    /// Credit with another slice (`sched_credit_tslice_ms`, 1..=1000 ms).
    pub fn with_tslice_ms(ms: u32) -> Option<Self> {
        if !TSLICE_MS_RANGE.contains(&ms) {
            return None;
        }
        let tslice = u64::from(ms) * NS_PER_MS;
        let ticks = if u64::from(ms) < TICKS_PER_TSLICE { 1 } else { TICKS_PER_TSLICE };
        Some(Self {
            vcpus: BTreeMap::new(),
            runq: VecDeque::new(),
            active: Vec::new(),
            running: None,
            tslice,
            tick: tslice / ticks,
            over_quantum: tslice / ticks / 2,
            nr_cpus: 1,
            credit_balance: 0,
            next_acct: None,
        })
    }

    /// Slice length (ns).
    pub fn tslice(&self) -> u64 {
        self.tslice
    }

    /// Current credit (ns) and priority of a vCPU, for dumps and tests.
    pub fn credit(&self, v: VcpuRef) -> Option<(i64, Priority)> {
        self.vcpus.get(&v).map(|i| (i.credit, i.pri))
    }

    /// Whether a vCPU is parked by its cap.
    pub fn is_parked(&self, v: VcpuRef) -> bool {
        self.vcpus.get(&v).is_some_and(|i| i.parked)
    }

    /// Most a vCPU with cap `cap` (percent) may use per accounting period (ns).
    fn cap_credit(&self, cap: u16) -> u64 {
        mul_div_ceil(u64::from(cap), self.tslice, 100)
    }

    fn start_clock(&mut self, now: u64) {
        if self.next_acct.is_none() {
            self.next_acct = Some(now.saturating_add(self.tslice));
        }
    }

    fn runq_remove(&mut self, v: VcpuRef) {
        self.runq.retain(|&q| q != v);
    }

    fn activate(&mut self, v: VcpuRef) {
        if let Some(info) = self.vcpus.get_mut(&v) {
            if !info.active {
                info.active = true;
                info.ever_active = true;
                // Newly active vCPUs go first, like Xen's `list_add` on the active lists.
                self.active.insert(0, v);
            }
        }
    }

    /// Charge the running vCPU for `[since, now)` and move `since` up: Xen's `burn_credits`
    /// plus the tick's `csched_unit_acct`, done with exact time (see the module documentation).
    fn charge_running(&mut self, now: u64) {
        let Some(r) = self.running.as_mut() else { return };
        let ran = now.saturating_sub(r.since);
        r.since = r.since.max(now);
        let v = r.v;
        let tick = self.tick;
        let Some(info) = self.vcpus.get_mut(&v) else { return };
        info.cpu_time += ran;
        info.credit = info.credit.saturating_sub(i64::try_from(ran).unwrap_or(i64::MAX));
        // Xen's 10 ms tick lands on a vCPU at a rate proportional to the CPU it uses, and each
        // hit ends a boost and re-activates a vCPU that had stopped earning. The deterministic
        // equivalent: a virtual tick per `tick` of CPU consumed, remainder carried.
        info.tick_ran += ran;
        let ticked = info.tick_ran >= tick;
        info.tick_ran %= tick;
        if ticked && info.pri == Priority::Boost {
            info.pri = Priority::Under;
        }
        // Like Xen, only earning vCPUs have their priority follow their credit (a vCPU that
        // is not earning keeps its priority until it is active again).
        if info.active && info.pri == Priority::Under && info.credit < 0 {
            info.pri = Priority::Over;
        }
        let cap = info.params.cap;
        // A vCPU that has never earned starts at its first run (Xen waits for the tick to
        // find it, leaving a newcomer to run up debt first); later it is a virtual tick's job.
        let mut needs_activation = (ticked || !info.ever_active) && !info.active;
        if cap != 0 {
            let limit = i64::try_from(self.cap_credit(cap)).unwrap_or(i64::MAX);
            let info = self.vcpus.get_mut(&v).expect("looked up above");
            if info.credit <= -limit {
                info.parked = true;
                info.pri = Priority::Over;
                // Only accounting unparks, and it only looks at earning vCPUs.
                needs_activation |= !info.active;
            }
        }
        if needs_activation {
            self.activate(v);
        }
    }

    /// Bring the books up to `now`: charge the running vCPU, run due accounting periods.
    fn sync(&mut self, now: u64) {
        self.start_clock(now);
        self.charge_running(now);
        self.catch_up(now);
    }

    /// When the vCPU `v`, dispatched at `now`, must come back to the scheduler: the end of its
    /// slice, of its boost or of its cap allowance, and — when others are waiting — when its
    /// credit runs out, when it earns again, at the next accounting period, or (OVER) when its
    /// debt per weight reaches the next OVER vCPU's plus `over_quantum`.
    fn deadline(&self, v: VcpuRef, now: u64) -> u64 {
        let info = &self.vcpus[&v];
        let mut len = self.tslice;
        if info.pri == Priority::Boost {
            // Re-evaluate at its next virtual tick, which ends the boost.
            len = len.min(self.tick - info.tick_ran);
        }
        if info.params.cap != 0 {
            let limit = i64::try_from(self.cap_credit(info.params.cap)).unwrap_or(i64::MAX);
            len = len.min(u64::try_from(info.credit.saturating_add(limit)).unwrap_or(0).max(1));
        }
        if !self.runq.is_empty() {
            if !info.active {
                // Its next virtual tick makes it earn again, and its priority count.
                len = len.min(self.tick - info.tick_ran);
            }
            if info.active && info.pri == Priority::Under {
                // One past zero: OVER from then on, and behind whoever waits.
                len = len.min(u64::try_from(info.credit).unwrap_or(0).saturating_add(1));
            }
            if let Some(acct) = self.next_acct {
                len = len.min(acct.saturating_sub(now).max(1));
            }
            if info.active && info.pri == Priority::Over {
                // Spare time: run until this vCPU's debt per unit of weight reaches the next
                // OVER vCPU's, plus a minimum run, so spare time is shared by weight and no
                // one runs up a debt it takes long to repay.
                let rival =
                    self.runq.iter().map(|q| &self.vcpus[q]).filter(|c| c.pri == Priority::Over).max_by(|a, b| {
                        (i128::from(a.credit) * i128::from(b.params.weight))
                            .cmp(&(i128::from(b.credit) * i128::from(a.params.weight)))
                    });
                if let Some(b) = rival {
                    let level = i128::from(b.credit) * i128::from(info.params.weight) / i128::from(b.params.weight);
                    let ahead = u64::try_from(i128::from(info.credit) - level).unwrap_or(0);
                    len = len.min(ahead.saturating_add(self.over_quantum));
                }
            }
        }
        now.saturating_add(len)
    }

    /// Xen's `csched_acct`: hand out one period's credit by weight, recompute priorities, clip,
    /// park and unpark capped vCPUs. Called with no vCPU running.
    fn account(&mut self) {
        let tslice = self.tslice;
        let tslice_i = i64::try_from(tslice).unwrap_or(i64::MAX);
        let weight_total: u64 =
            self.active.iter().filter_map(|v| self.vcpus.get(v)).map(|i| u64::from(i.params.weight)).sum();
        if weight_total == 0 {
            self.credit_balance = 0;
            return;
        }
        let old_balance = self.credit_balance;
        let deficit = if old_balance < 0 { old_balance.unsigned_abs() } else { 0 };
        let mut credit_total = tslice * u64::from(self.nr_cpus) + deficit;
        let mut weight_left = weight_total;
        let mut someone_below_peak = false;
        let mut balance: i64 = 0;
        let mut to_front: Vec<VcpuRef> = Vec::new();
        let mut rest: Vec<VcpuRef> = Vec::new();
        let order = core::mem::take(&mut self.active);
        for v in order {
            let Some(info) = self.vcpus.get(&v) else { continue };
            let weight = u64::from(info.params.weight);
            let cap = info.params.cap;
            weight_left -= weight;

            // At most one period's worth, plus a share of a negative balance.
            let mut peak = tslice + mul_div_ceil(deficit, weight, weight_total);
            let cap_credit = self.cap_credit(cap);
            if cap != 0 {
                peak = peak.min(cap_credit);
            }
            let mut fair = mul_div_ceil(credit_total, weight, weight_total);
            let mut move_front = false;
            if fair < peak {
                someone_below_peak = true;
            } else {
                // Pass what this one cannot take on to those still to come.
                if weight_left != 0 {
                    credit_total += mul_div_ceil(fair - peak, weight_total, weight_left);
                }
                move_front = someone_below_peak;
                fair = peak;
            }

            let info = self.vcpus.get_mut(&v).expect("looked up above");
            info.credit = info.credit.saturating_add(i64::try_from(fair).unwrap_or(i64::MAX));
            let mut still_active = true;
            let mut unpark = false;
            if info.credit < 0 {
                info.pri = Priority::Over;
                if cap != 0 && info.credit <= -i64::try_from(cap_credit).unwrap_or(i64::MAX) {
                    info.parked = true;
                }
                info.credit = info.credit.max(-tslice_i);
            } else {
                info.pri = Priority::Under;
                if info.parked {
                    info.parked = false;
                    unpark = !info.blocked;
                }
                if info.credit > tslice_i {
                    // Saturated: stop earning, keep half as a head start for later.
                    still_active = false;
                    info.active = false;
                    info.credit /= 2;
                }
            }
            balance += info.credit;
            if info.parked || info.blocked {
                self.runq.retain(|&q| q != v);
            }
            if unpark && self.running.is_none_or(|r| r.v != v) {
                self.runq.push_back(v);
            }
            if still_active {
                if move_front {
                    to_front.push(v);
                } else {
                    rest.push(v);
                }
            }
        }
        to_front.reverse();
        to_front.extend(rest);
        self.active = to_front;
        self.credit_balance = balance;
    }

    /// Run the accounting periods that are due at `now`.
    fn catch_up(&mut self, now: u64) {
        let Some(mut due) = self.next_acct else { return };
        let mut done = 0;
        while due <= now {
            if done < MAX_CATCH_UP {
                self.account();
                done += 1;
                due += self.tslice;
            } else {
                // Skip the rest, keeping the period's phase.
                due += (now - due) / self.tslice * self.tslice + self.tslice;
            }
        }
        self.next_acct = Some(due);
    }

    /// Index in the run queue of the vCPU to run, skipping `avoid` when anything else is
    /// runnable: the highest priority; among BOOST or UNDER vCPUs the first queued (round
    /// robin); among OVER vCPUs the one with the least debt per unit of weight.
    fn pick(&self, avoid: Option<VcpuRef>) -> Option<usize> {
        let best_of = |skip: Option<VcpuRef>| {
            let mut best: Option<(usize, &VcpuInfo)> = None;
            for (i, v) in self.runq.iter().enumerate() {
                if Some(*v) == skip {
                    continue;
                }
                let c = &self.vcpus[v];
                let better = match best {
                    None => true,
                    Some((_, b)) if c.pri != b.pri => c.pri > b.pri,
                    Some((_, b)) if c.pri == Priority::Over => {
                        // c.credit / c.weight > b.credit / b.weight, without division.
                        i128::from(c.credit) * i128::from(b.params.weight)
                            > i128::from(b.credit) * i128::from(c.params.weight)
                    }
                    Some(_) => false,
                };
                if better {
                    best = Some((i, c));
                }
            }
            best.map(|(i, _)| i)
        };
        best_of(avoid).or_else(|| best_of(None))
    }
}

impl Scheduler for Credit {
    fn name(&self) -> &'static str {
        "credit"
    }

    fn xen_sched_id(&self) -> u32 {
        XEN_SCHEDULER_CREDIT
    }

    fn add_vcpu(&mut self, v: VcpuRef, params: SchedParams, now: u64) -> Result<(), ParamError> {
        params.validate(self.nr_cpus)?;
        self.start_clock(now);
        if self.vcpus.contains_key(&v) {
            return self.set_params(v, params);
        }
        self.vcpus.insert(
            v,
            VcpuInfo {
                params,
                credit: 0,
                pri: Priority::Under,
                active: false,
                ever_active: false,
                blocked: true,
                parked: false,
                yielding: false,
                tick_ran: 0,
                cpu_time: 0,
            },
        );
        Ok(())
    }

    fn remove_vcpu(&mut self, v: VcpuRef, _now: u64) -> Resched {
        if self.vcpus.remove(&v).is_none() {
            return Resched::No;
        }
        self.runq_remove(v);
        self.active.retain(|&a| a != v);
        if self.running.is_some_and(|r| r.v == v) {
            self.running = None;
            Resched::Now
        } else {
            Resched::No
        }
    }

    fn wake(&mut self, v: VcpuRef, now: u64) -> Resched {
        // Accounting periods that ended before this wake-up must not see it (they would
        // reset its boost).
        self.sync(now);
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
        if info.parked {
            // Stays off the run queue until its credit recovers; no boost for capped vCPUs.
            return Resched::No;
        }
        if info.pri == Priority::Under {
            info.pri = Priority::Boost;
        }
        let pri = info.pri;
        self.runq.push_back(v);
        let Some(r) = self.running else { return Resched::Now };
        match self.vcpus.get(&r.v) {
            Some(cur) if !cur.parked && pri <= cur.pri => {
                // No preemption, but the running vCPU now has company: its deadline may move.
                let until = self.deadline(r.v, now);
                if until < r.until {
                    self.running = Some(Running { until, ..r });
                    Resched::By(until)
                } else {
                    Resched::No
                }
            }
            _ => Resched::Now,
        }
    }

    fn sleep(&mut self, v: VcpuRef, _now: u64) -> Resched {
        let Some(info) = self.vcpus.get_mut(&v) else { return Resched::No };
        if info.blocked {
            return Resched::No;
        }
        info.blocked = true;
        if self.running.is_some_and(|r| r.v == v) {
            Resched::Now
        } else {
            self.runq_remove(v);
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
        self.sync(now);
        let prev = self.running.take();

        let mut avoid = None;
        if let Some(r) = prev {
            if let Some(info) = self.vcpus.get_mut(&r.v) {
                if core::mem::take(&mut info.yielding) {
                    avoid = Some(r.v);
                }
                if info.runnable() {
                    self.runq.push_back(r.v);
                }
            }
        }

        let Some(idx) = self.pick(avoid) else {
            // Idle. Parked vCPUs need the next accounting period to come back.
            let waiting = self.vcpus.values().any(|i| i.parked && !i.blocked);
            return Decision { next: None, run_until: waiting.then_some(self.next_acct).flatten() };
        };
        let v = self.runq.remove(idx).expect("index from pick");
        let until = self.deadline(v, now);
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
        self.vcpus.get(&v).is_some_and(VcpuInfo::runnable)
    }

    fn params(&self, v: VcpuRef) -> Option<SchedParams> {
        self.vcpus.get(&v).map(|i| i.params)
    }

    fn set_params(&mut self, v: VcpuRef, p: SchedParams) -> Result<(), ParamError> {
        p.validate(self.nr_cpus)?;
        let is_running = self.running.is_some_and(|r| r.v == v);
        let info = self.vcpus.get_mut(&v).ok_or(ParamError::UnknownVcpu)?;
        info.params = p;
        if p.cap == 0 && info.parked {
            info.parked = false;
            if !info.blocked && !is_running {
                self.runq.push_back(v);
            }
        }
        Ok(())
    }

    #[cfg(test)]
    fn check_invariants(&self) {
        let running = self.running.map(|r| r.v);
        for (i, v) in self.runq.iter().enumerate() {
            let info = self.vcpus.get(v).expect("queued vCPUs are known");
            assert!(info.runnable(), "{v} queued but not runnable");
            assert_ne!(Some(*v), running, "{v} queued and running");
            assert!(!self.runq.iter().skip(i + 1).any(|q| q == v), "{v} queued twice");
        }
        for (v, info) in &self.vcpus {
            let queued = self.runq.contains(v);
            if info.runnable() && Some(*v) != running {
                assert!(queued, "{v} runnable but not queued");
            }
            assert_eq!(info.active, self.active.contains(v), "{v} active flag");
            assert!(info.credit >= -(self.tslice as i64) - 2 * self.tslice as i64, "{v} credit {}", info.credit);
        }
        assert_eq!(self.active.len(), self.active.iter().collect::<alloc::collections::BTreeSet<_>>().len());
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = NS_PER_MS;

    fn v(n: u32) -> VcpuRef {
        VcpuRef::new(1, n)
    }

    #[test]
    fn slice_range() {
        assert!(Credit::with_tslice_ms(0).is_none());
        assert!(Credit::with_tslice_ms(1001).is_none());
        let c = Credit::with_tslice_ms(1).unwrap();
        assert_eq!((c.tslice, c.tick), (MS, MS));
        let c = Credit::new();
        assert_eq!((c.tslice, c.tick), (30 * MS, 10 * MS));
    }

    #[test]
    fn charges_exact_nanoseconds() {
        let mut c = Credit::new();
        c.add_vcpu(v(0), SchedParams::default(), 0).unwrap();
        assert_eq!(c.wake(v(0), 0), Resched::Now);
        let d = c.schedule(0);
        assert_eq!(d, Decision { next: Some(v(0)), run_until: Some(10 * MS) }, "boosted: one tick");
        assert_eq!(c.cpu_time(v(0), 1_234_567), Some(1_234_567));
        let d = c.schedule(1_234_567);
        assert_eq!(d.next, Some(v(0)));
        assert_eq!(c.credit(v(0)), Some((-1_234_567, Priority::Boost)));
        assert_eq!(c.sleep(v(0), 2_000_000), Resched::Now);
        assert_eq!(c.schedule(2_000_001), Decision { next: None, run_until: None });
        assert_eq!(c.cpu_time(v(0), 5_000_000), Some(2_000_001));
    }

    #[test]
    fn boost_ends_after_a_tick_of_running() {
        let mut c = Credit::new();
        c.add_vcpu(v(0), SchedParams::default(), 0).unwrap();
        let _ = c.wake(v(0), 0);
        let d = c.schedule(0);
        let d = c.schedule(d.run_until.unwrap());
        assert_eq!(c.credit(v(0)).unwrap().1, Priority::Under);
        assert_eq!(d.run_until, Some(10 * MS + 30 * MS));
    }

    #[test]
    fn accounting_splits_by_weight_and_clips() {
        let mut c = Credit::new();
        for (n, w) in [(0, 256), (1, 768)] {
            c.add_vcpu(v(n), SchedParams { weight: w, cap: 0 }, 0).unwrap();
            c.activate(v(n));
        }
        c.account();
        assert_eq!(c.credit(v(0)).unwrap().0, 7_500_000);
        assert_eq!(c.credit(v(1)).unwrap().0, 22_500_000);
        c.account();
        // v1 passed +30 ms: halved and no longer earning; v0 keeps earning.
        assert_eq!(c.credit(v(1)).unwrap().0, 45_000_000 / 2);
        assert!(!c.vcpus[&v(1)].active);
        assert_eq!(c.active, [v(0)]);
        assert_eq!(c.credit(v(0)).unwrap().0, 15_000_000);
        // Alone, v0 gets the whole period (capped at one slice) and saturates too.
        c.account();
        assert_eq!(c.credit(v(0)).unwrap().0, 45_000_000 / 2);
        assert!(c.active.is_empty(), "both saturated");
    }

    #[test]
    fn debt_floor_is_one_slice() {
        let mut c = Credit::new();
        c.add_vcpu(v(0), SchedParams::default(), 0).unwrap();
        c.activate(v(0));
        c.vcpus.get_mut(&v(0)).unwrap().credit = -100 * MS as i64;
        c.account();
        assert_eq!(c.credit(v(0)), Some((-30 * MS as i64, Priority::Over)));
    }

    #[test]
    fn long_idle_catch_up_is_bounded() {
        let mut c = Credit::new();
        c.add_vcpu(v(0), SchedParams::default(), 0).unwrap();
        let _ = c.wake(v(0), 0);
        c.schedule(0);
        let _ = c.sleep(v(0), 5 * MS);
        c.schedule(5 * MS);
        // A day later: the period phase is kept and the next period is in the future.
        let day = 86_400_000 * MS;
        let _ = c.wake(v(0), day);
        c.schedule(day);
        let next = c.next_acct.unwrap();
        assert!(next > day && next <= day + 30 * MS);
        assert_eq!(next % (30 * MS), 0);
    }
}
