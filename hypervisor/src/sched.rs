//! Choosing what runs next and getting there: the last step of every trap. The policy (credit
//! or BVT) lives in `scheduler/`; this is the mechanism around it: keeping the scheduler told
//! which vCPUs want the CPU, waking blocked vCPUs when their event or timer comes, asking for a
//! decision when one is due, the context switch, halting when nothing can run, and the one-shot
//! timer that brings the next deadline (guest timer, end of slice, console input poll).

use crate::arch::x86_64::{cpu, paging, power, serial, timer};
use crate::console;
use crate::domain::{RunState, Shutdown};
use crate::event;
use crate::hv::{HvGuard, Hypervisor};
use crate::regs::TrapFrame;
use crate::scheduler::{Resched, VcpuRef};
use crate::shared::SharedInfoPage;
use crate::time;
use core::sync::atomic::{AtomicU64, Ordering};
use xen_abi::event::{VIRQ_CONSOLE, VIRQ_DOM_EXC, VIRQ_TIMER};
use xen_abi::sched::SHUTDOWN_CRASH;

/// Longest the CPU runs (or sleeps) without looking at the console input (ns).
const INPUT_POLL_NS: u64 = 10_000_000;

pub fn now() -> u64 {
    time::ns_at(timer::rdtsc())
}

/// Finish a trap: run due timers, wake vCPUs whose event came, let the scheduler pick (and
/// switch to) the next vCPU when a decision is due, halt while nothing can run, keep the
/// timer armed, deliver a pending event upcall. `tick` is set when the trap was the timer
/// interrupt: the periodic work (console input, the time record) happens then, off the
/// hypercall path.
pub fn leave_to_guest(mut hv: HvGuard, frame: &mut TrapFrame, tick: bool) {
    if tick {
        poll_console(&mut hv);
        refresh_time(&hv);
    }
    let mut now = now();
    let mut next = next_deadline(&hv);
    loop {
        if next.is_some_and(|d| d <= now) {
            run_timers(&mut hv, now);
            next = next_deadline(&hv);
        }
        if hv.wake_check {
            wake_ready_vcpus(&mut hv, now);
        }
        if !decision_due(&hv, now) {
            break;
        }
        let decision = hv.scheduler.schedule(now);
        hv.need_resched = false;
        hv.sched_deadline = decision.run_until;
        if let Some(next_vcpu) = decision.next {
            if switch_to(&mut hv, frame, next_vcpu) {
                break;
            }
            continue; // that vCPU could not be loaded (and its domain was crashed): choose again
        }
        let wake_by = earliest(next, hv.sched_deadline);
        hv = idle(hv, now, wake_by);
        poll_console(&mut hv);
        now = self::now();
        next = next_deadline(&hv);
    }
    arm_timer(earliest(next, hv.sched_deadline), now);
    deliver_events(&mut hv, frame);
}

fn earliest(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Whether the scheduler must decide before we return: it asked to (a wake-up, a yield, the
/// current vCPU stopped), its deadline passed, or what the CPU holds is not what it dispatched.
fn decision_due(hv: &Hypervisor, now: u64) -> bool {
    let (d, v) = hv.current;
    let current = VcpuRef::new(hv.domains[d].id, v as u32);
    hv.need_resched
        || hv.sched_deadline.is_some_and(|t| t <= now)
        || hv.scheduler.current() != Some(current)
        || !hv.domains[d].vcpus[v].in_run_queue
}

/// Tell the scheduler about a change in whether vCPU `v` of domain index `d` wants the CPU
/// (it blocked, woke, was paused, unpaused, shut down); a no-op when nothing changed. Every
/// such change calls it where it happens, so the return path need not.
pub fn sync(hv: &mut Hypervisor, d: usize, v: usize, now: u64) {
    let wants = hv.domains[d].vcpu_wants_cpu(v);
    let id = hv.domains[d].id;
    let vcpu = &mut hv.domains[d].vcpus[v];
    if wants == vcpu.in_run_queue {
        return;
    }
    vcpu.in_run_queue = wants;
    let r = VcpuRef::new(id, v as u32);
    let answer = if wants { hv.scheduler.wake(r, now) } else { hv.scheduler.sleep(r, now) };
    apply(hv, answer);
}

/// [`sync`] for every vCPU of a domain.
pub fn sync_domain(hv: &mut Hypervisor, d: usize) {
    let now = now();
    for v in 0..hv.domains[d].vcpus.len() {
        sync(hv, d, v, now);
    }
}

/// Act on what the scheduler answered to a state change.
pub fn apply(hv: &mut Hypervisor, answer: Resched) {
    match answer {
        Resched::No => {}
        Resched::Now => hv.need_resched = true,
        Resched::By(t) => hv.sched_deadline = Some(hv.sched_deadline.map_or(t, |d| d.min(t))),
    }
}

/// Blocked or polling vCPUs whose wake-up condition holds become runnable.
fn wake_ready_vcpus(hv: &mut Hypervisor, now: u64) {
    hv.wake_check = false;
    for d in 0..hv.domains.len() {
        let shared = SharedInfoPage(hv.domains[d].shared_info);
        for v in 0..hv.domains[d].vcpus.len() {
            let vcpu = &mut hv.domains[d].vcpus[v];
            let ready = match vcpu.state {
                RunState::Runnable => continue,
                RunState::Blocked => shared.upcall_pending(v as u32),
                RunState::Polling => {
                    vcpu.poll.deadline.is_some_and(|t| t <= now)
                        || vcpu.poll.ports.iter().any(|&p| event::EventBitmaps::is_pending(&shared, p))
                }
            };
            if ready {
                vcpu.state = RunState::Runnable;
                vcpu.blocked_ns += now.saturating_sub(vcpu.blocked_since);
                vcpu.poll.ports.clear();
                vcpu.poll.deadline = None;
                sync(hv, d, v, now);
            }
        }
    }
}

/// Put the current vCPU to sleep until an event (`SCHEDOP_block`) or one of its poll ports.
pub fn block_current(hv: &mut Hypervisor, state: RunState) {
    let now = now();
    let vcpu = hv.current_vcpu();
    vcpu.state = state;
    vcpu.blocked_since = now;
    let (d, v) = hv.current;
    sync(hv, d, v, now);
    // The event may already be there (a VIRQ raised on the way in): look once more.
    hv.wake_check = true;
}

/// Make `next` the vCPU on the CPU: save the outgoing registers into their vCPU, load the
/// incoming ones into the trap frame the exit path pops, and switch the address space,
/// privilege-mode flag and segment bases. Returns false (after crashing the domain) when the
/// vCPU has nothing to run on.
fn switch_to(hv: &mut Hypervisor, frame: &mut TrapFrame, next: VcpuRef) -> bool {
    let Some(d) = hv.domain_index(next.dom) else {
        log::error!("scheduler chose {next}, which does not exist");
        return false;
    };
    let v = next.vcpu as usize;
    if (d, v) == hv.current {
        return true;
    }
    let Some(table) = hv.domains[d].vcpus[v].active_table() else {
        log::error!("{next}: scheduled without a page table");
        stop_domain(hv, d, SHUTDOWN_CRASH);
        return false;
    };
    let (cd, cv) = hv.current;
    hv.domains[cd].vcpus[cv].regs = *frame;
    hv.current = (d, v);
    if !hv.domains[d].vcpus[v].has_run {
        hv.domains[d].vcpus[v].has_run = true;
        log::info!("{next}: first guest instruction at {} ns", now());
    }
    let vcpu = &hv.domains[d].vcpus[v];
    *frame = vcpu.regs;
    cpu::GUEST_IN_KERNEL.store(vcpu.in_kernel, Ordering::Relaxed);
    let gs = if vcpu.in_kernel { vcpu.gs_base_kernel } else { vcpu.gs_base_user };
    cpu::set_guest_segment_bases(vcpu.fs_base, gs);
    paging::load_cr3(table);
    refresh_time(hv);
    true
}

/// Absolute time (ns) the APIC timer is programmed for, 0 when it is not armed.
static ARMED_FOR: AtomicU64 = AtomicU64::new(0);

/// Make sure an interrupt comes by the next deadline (guest timer or scheduler), and at least
/// every `INPUT_POLL_NS` for console input — reprogramming the APIC only when that moves
/// earlier.
fn arm_timer(next: Option<u64>, now: u64) {
    let want = next.unwrap_or(u64::MAX).min(now + INPUT_POLL_NS);
    let armed = ARMED_FOR.load(Ordering::Relaxed);
    if armed > now && armed <= want {
        return;
    }
    timer::arm_oneshot(want.saturating_sub(now).max(1_000));
    ARMED_FOR.store(want, Ordering::Relaxed);
}

/// The timer interrupt fired: nothing is armed any more.
pub fn timer_fired() {
    ARMED_FOR.store(0, Ordering::Relaxed);
}

/// Nothing can run: sleep until the next timer deadline or input poll.
fn idle(hv: HvGuard, now: u64, next: Option<u64>) -> HvGuard {
    arm_timer(next, now);
    drop(hv);
    // `sti; hlt` as one unit: the tick cannot slip in between and be missed.
    x86_64::instructions::interrupts::enable_and_hlt();
    x86_64::instructions::interrupts::disable();
    crate::hv::lock()
}

/// The earliest guest timer or poll deadline (on the hot path: a plain loop).
fn next_deadline(hv: &Hypervisor) -> Option<u64> {
    let mut next = u64::MAX;
    for d in &hv.domains {
        for v in &d.vcpus {
            if let Some(t) = v.timer_deadline {
                next = next.min(t);
            }
            if v.periodic_ns != 0 {
                next = next.min(v.periodic_next);
            }
            if let (RunState::Polling, Some(t)) = (v.state, v.poll.deadline) {
                next = next.min(t);
            }
        }
    }
    (next != u64::MAX).then_some(next)
}

/// Fire every expired guest timer as VIRQ_TIMER (poll deadlines are seen by the wake-up scan).
fn run_timers(hv: &mut Hypervisor, now: u64) {
    hv.wake_check = true;
    for d in 0..hv.domains.len() {
        for v in 0..hv.domains[d].vcpus.len() {
            let vcpu = &mut hv.domains[d].vcpus[v];
            let mut fire = false;
            if vcpu.timer_deadline.is_some_and(|t| t <= now) {
                vcpu.timer_deadline = None;
                fire = true;
            }
            if vcpu.periodic_ns != 0 && vcpu.periodic_next <= now {
                // Skip missed periods rather than firing a burst.
                let behind = (now - vcpu.periodic_next) / vcpu.periodic_ns + 1;
                vcpu.periodic_next += behind * vcpu.periodic_ns;
                fire = true;
            }
            if fire {
                send_virq(hv, d, VIRQ_TIMER, v as u32);
            }
        }
    }
}

/// Raise a VIRQ in a domain if the domain bound it; returns whether it had.
pub fn send_virq(hv: &mut Hypervisor, dom_index: usize, virq: u32, vcpu: u32) -> bool {
    let dom = &hv.domains[dom_index];
    let Some(port) = dom.events.virq_port(virq, vcpu) else { return false };
    event::set_pending(&SharedInfoPage(dom.shared_info), port, vcpu);
    hv.wake_check = true;
    true
}

/// Move typed serial input into Dom0's queue and tell Dom0 (VIRQ_CONSOLE).
fn poll_console(hv: &mut Hypervisor) {
    let mut input = console::INPUT.lock();
    let got = serial::poll_input(|b| {
        if input.len() < console::INPUT_LIMIT {
            input.push_back(b);
        }
    });
    drop(input);
    if got > 0 {
        if let Some(d0) = hv.domain_index(0) {
            send_virq(hv, d0, VIRQ_CONSOLE, 0);
        }
    }
}

/// Event upcall: if the vCPU has events pending and not masked, enter its event callback.
fn deliver_events(hv: &mut Hypervisor, frame: &mut TrapFrame) {
    let vcpu_id = hv.current.1 as u32;
    let shared = SharedInfoPage(hv.current_domain().shared_info);
    let callback = hv.current_vcpu().callbacks.event;
    if callback == 0 || !shared.upcall_pending(vcpu_id) || shared.upcall_mask(vcpu_id) {
        return;
    }
    if let Err(e) = crate::trap::bounce(hv, frame, callback, None, true) {
        crate::trap::crash_current(hv, frame, format_args!("cannot deliver event upcall: bounce frame fault ({e:?})"));
    }
}

/// Keep `vcpu_time_info` current (cheap: a handful of stores).
fn refresh_time(hv: &Hypervisor) {
    let (d, v) = hv.current;
    SharedInfoPage(hv.domains[d].shared_info).refresh_time(v as u32);
}

/// Switch the current vCPU between guest kernel and guest user mode (Xen's
/// `toggle_guest_mode`): the other page table, and the other GS base.
pub fn toggle_guest_mode(hv: &mut Hypervisor) {
    let vcpu = hv.current_vcpu();
    vcpu.in_kernel = !vcpu.in_kernel;
    cpu::GUEST_IN_KERNEL.store(vcpu.in_kernel, Ordering::Relaxed);
    let gs = if vcpu.in_kernel { vcpu.gs_base_kernel } else { vcpu.gs_base_user };
    let fs = vcpu.fs_base;
    if let Some(table) = vcpu.active_table() {
        paging::load_cr3(table);
    }
    cpu::set_guest_segment_bases(fs, gs);
}

/// The current domain cannot continue. Dom0 takes the machine down with it (nothing is left
/// to manage the system); any other domain stops alone and Dom0 hears of it.
pub fn domain_crashed(hv: &mut Hypervisor) {
    if hv.current_domid() == 0 {
        log::error!("Dom0 crashed: powering off");
        power::fail(2);
    }
    let d = hv.current.0;
    stop_domain(hv, d, SHUTDOWN_CRASH);
}

/// A domain asked to shut down (`SCHEDOP_shutdown`). For Dom0 this ends the machine.
pub fn domain_shutdown(hv: &mut Hypervisor, reason: u32) {
    if hv.current_domid() != 0 {
        let d = hv.current.0;
        stop_domain(hv, d, reason);
        return;
    }
    use xen_abi::sched::{SHUTDOWN_POWEROFF, SHUTDOWN_REBOOT};
    match reason {
        SHUTDOWN_POWEROFF => {
            log::info!("Dom0 powered off: powering off the machine");
            power::poweroff()
        }
        SHUTDOWN_REBOOT => {
            log::info!("Dom0 rebooted: resetting the machine");
            power::reboot()
        }
        SHUTDOWN_CRASH => {
            log::error!("Dom0 reported a crash: powering off");
            power::fail(2)
        }
        other => {
            log::error!("Dom0 shut down with reason {other}: powering off");
            power::fail(3)
        }
    }
}

/// Stop DomU index `d` with `reason` (its own request, a crash, or Dom0's remote shutdown):
/// it leaves the run queue and keeps its memory until Dom0 destroys it; Dom0 is told with
/// VIRQ_DOM_EXC, as Xen does. A domain already shut down keeps its first reason.
pub fn stop_domain(hv: &mut Hypervisor, d: usize, reason: u32) {
    if hv.domains[d].shutdown.is_some() {
        return;
    }
    hv.domains[d].shutdown = Some(Shutdown::Reason(reason));
    sync_domain(hv, d);
    notify_dom0_of_domain_change(hv);
}

/// VIRQ_DOM_EXC: a domain shut down, crashed or was destroyed.
pub fn notify_dom0_of_domain_change(hv: &mut Hypervisor) {
    if let Some(d0) = hv.domain_index(0) {
        send_virq(hv, d0, VIRQ_DOM_EXC, 0);
    }
}
