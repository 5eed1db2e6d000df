//! Choosing what runs next and getting there: the last step of every trap. For now one vCPU
//! (Dom0's) and the idle loop; the vCPU state machine (runnable, blocked, polling) and the
//! timer and event wake-ups are the ones the multi-domain schedulers build on.

use crate::arch::x86_64::{cpu, paging, power, serial, timer};
use crate::console;
use crate::domain::{RunState, Shutdown};
use crate::event;
use crate::hv::{HvGuard, Hypervisor};
use crate::regs::TrapFrame;
use crate::shared::SharedInfoPage;
use crate::time;
use core::sync::atomic::{AtomicU64, Ordering};
use xen_abi::event::{VIRQ_CONSOLE, VIRQ_TIMER};
use xen_abi::sched::SHUTDOWN_CRASH;

/// Longest the idle loop sleeps without looking at the console input (ns).
const INPUT_POLL_NS: u64 = 10_000_000;

pub fn now() -> u64 {
    time::ns_at(timer::rdtsc())
}

/// Finish a trap: run due timers, let a blocked vCPU wait, keep the timer interrupt armed,
/// deliver a pending event upcall. `tick` is set when the trap was the timer interrupt: the
/// periodic work (console input, the time record) happens then, off the hypercall path.
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
        if vcpu_can_run(&mut hv, now) {
            break;
        }
        hv = idle(hv, now, next);
        poll_console(&mut hv);
        let woke = self::now();
        hv.current_vcpu().blocked_ns += woke - now;
        now = woke;
        next = next_deadline(&hv);
    }
    let (d, v) = hv.current;
    hv.domains[d].vcpus[v].state = RunState::Runnable;
    arm_timer(next, now);
    deliver_events(&mut hv, frame);
}

/// Absolute time (ns) the APIC timer is programmed for, 0 when it is not armed.
static ARMED_FOR: AtomicU64 = AtomicU64::new(0);

/// Make sure an interrupt comes by the next guest timer deadline, and at least every
/// `INPUT_POLL_NS` for console input — reprogramming the APIC only when that moves earlier.
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

/// Whether the current vCPU can run now (wakes a blocked or polling one if its event came).
fn vcpu_can_run(hv: &mut Hypervisor, now: u64) -> bool {
    let vcpu_id = hv.current.1 as u32;
    let shared = SharedInfoPage(hv.current_domain().shared_info);
    if hv.current_domain().shutdown.is_some() {
        return false;
    }
    let vcpu = hv.current_vcpu();
    match vcpu.state {
        RunState::Runnable => true,
        RunState::Blocked => shared.upcall_pending(vcpu_id),
        RunState::Polling => {
            let due = vcpu.poll.deadline.is_some_and(|d| d <= now);
            due || vcpu.poll.ports.iter().any(|&p| event::EventBitmaps::is_pending(&shared, p))
        }
    }
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

/// Fire every expired guest timer as VIRQ_TIMER.
fn run_timers(hv: &mut Hypervisor, now: u64) {
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

/// Raise a VIRQ in a domain if the domain bound it.
pub fn send_virq(hv: &mut Hypervisor, dom_index: usize, virq: u32, vcpu: u32) {
    let dom = &hv.domains[dom_index];
    if let Some(port) = dom.events.virq_port(virq, vcpu) {
        event::set_pending(&SharedInfoPage(dom.shared_info), port, vcpu);
    }
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
/// to manage the system); any other domain stops alone.
pub fn domain_crashed(hv: &mut Hypervisor) {
    let dom = hv.current_domain();
    dom.shutdown = Some(Shutdown::Reason(SHUTDOWN_CRASH));
    if dom.id == 0 {
        log::error!("Dom0 crashed: powering off");
        power::fail(2);
    }
}

/// A domain asked to shut down (`SCHEDOP_shutdown`). For Dom0 this ends the machine.
pub fn domain_shutdown(hv: &mut Hypervisor, reason: u32) {
    let dom = hv.current_domain();
    dom.shutdown = Some(Shutdown::Reason(reason));
    if dom.id != 0 {
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
