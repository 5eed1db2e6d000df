//! DomU: the unprivileged PV kernel. It prints a banner and runs the workload its command
//! line names (see `domu_kernel::cmdline`): idling on its timer, spinning, crashing on
//! purpose, or shutting down after a while. Every workload honours a polite power-off request
//! (`VIRQ_SHUTDOWN_REQUEST`).
#![no_std]
#![no_main]

use domu_kernel::cmdline::{self, CrashMode, ExitReason, Shown, ShownDomid, Workload};
use pvguest::{events, hypercall, println, time};
use xen_abi::event::{VIRQ_SHUTDOWN_REQUEST, VIRQ_TIMER};
use xen_abi::sched::{SHUTDOWN_CRASH, SHUTDOWN_POWEROFF};
use xen_abi::start_info::StartInfo;

const NS_PER_MS: u64 = 1_000_000;
const NS_PER_S: u64 = 1_000_000_000;
/// `spin` reports this often (system time).
const SPIN_REPORT_NS: u64 = 2 * NS_PER_S;
/// `spin` looks at the clock and the shutdown port once per this many iterations.
const SPIN_CHECK_EVERY: u64 = 4096;

#[no_mangle]
fn guest_main(si: &'static StartInfo) -> ! {
    let line = core::str::from_utf8(xen_abi::c_string_bytes(&si.cmd_line)).unwrap_or("");
    // The system time of the banner lets the bench measure create-to-banner.
    println!(
        "domu: domid {}, {} MiB, cmdline \"{}\", up at {} ns",
        ShownDomid(cmdline::domid(line)),
        si.nr_pages / 256,
        Shown(line),
        time::now_ns()
    );
    let shutdown_port = match events::bind_virq(VIRQ_SHUTDOWN_REQUEST) {
        Ok(port) => Some(port),
        Err(rc) => {
            println!("domu: cannot bind VIRQ_SHUTDOWN_REQUEST (error {rc}); power-off requests will be missed");
            None
        }
    };
    match cmdline::workload(line) {
        Workload::Idle { period_ms } => idle(period_ms, shutdown_port),
        Workload::Spin => spin(shutdown_port),
        Workload::Crash(mode) => crash(si, mode),
        Workload::Exit { secs, reason } => exit(secs, reason, shutdown_port),
        Workload::BadOption(word) => {
            println!("domu: bad workload option \"{word}\"");
            shutdown(SHUTDOWN_CRASH)
        }
        Workload::Unknown(word) => {
            println!("domu: unknown workload \"{word}\"");
            shutdown(SHUTDOWN_CRASH)
        }
    }
}

/// `SCHEDOP_shutdown`, which does not come back on Xen; should we run again anyway, do nothing.
fn shutdown(reason: u32) -> ! {
    let rc = hypercall::shutdown(reason);
    if rc != 0 {
        println!("domu: SCHEDOP_shutdown({reason}) failed: error {rc}");
    }
    loop {
        hypercall::sched_block();
    }
}

fn shutdown_requested(port: Option<u32>) -> bool {
    port.is_some_and(events::take)
}

fn power_off_on_request() -> ! {
    println!("domu: shutdown requested, powering off");
    shutdown(SHUTDOWN_POWEROFF)
}

fn timer_port() -> u32 {
    events::bind_virq(VIRQ_TIMER).unwrap_or_else(|rc| pvguest::console::fatal(format_args!("domu: cannot bind VIRQ_TIMER: error {rc}")))
}

/// Why [`sleep_until`] returned.
enum Wake {
    Deadline,
    ShutdownRequest,
}

/// Block until system time `deadline` (one-shot timer) or a power-off request.
fn sleep_until(deadline: u64, timer: u32, shutdown_port: Option<u32>) -> Wake {
    loop {
        let rc = hypercall::set_timer_op(deadline);
        if rc != 0 {
            pvguest::console::fatal(format_args!("domu: set_timer_op failed: error {rc}"));
        }
        let (mut timer_fired, mut requested) = (false, false);
        events::wait_until(|| {
            timer_fired |= events::take(timer);
            requested |= shutdown_requested(shutdown_port);
            timer_fired || requested
        });
        if requested {
            return Wake::ShutdownRequest;
        }
        if time::now_ns() >= deadline {
            return Wake::Deadline;
        }
        // A timer event from an earlier deadline: arm ours again.
    }
}

fn idle(period_ms: u64, shutdown_port: Option<u32>) -> ! {
    let timer = timer_port();
    println!("domu: idle, heartbeat every {period_ms} ms");
    let period = period_ms * NS_PER_MS;
    let mut next = time::now_ns() + period;
    let mut beats = 0u64;
    loop {
        if let Wake::ShutdownRequest = sleep_until(next, timer, shutdown_port) {
            power_off_on_request();
        }
        beats += 1;
        let now = time::now_ns();
        // How long after its deadline the vCPU got the CPU back (timer interrupt, wake-up,
        // scheduling): what the fairness tests bound while other domains spin.
        let late_us = now.saturating_sub(next) / 1000;
        println!("domu: heartbeat {beats} at {} ms, late {late_us} us", now / NS_PER_MS);
        next += period;
        if next <= now {
            next = now + period; // we were not run for a while: no burst of beats
        }
    }
}

fn spin(shutdown_port: Option<u32>) -> ! {
    println!("domu: spinning, progress every {} s", SPIN_REPORT_NS / NS_PER_S);
    let mut iterations = 0u64;
    let mut next = time::now_ns() + SPIN_REPORT_NS;
    loop {
        iterations = core::hint::black_box(iterations) + 1;
        if iterations % SPIN_CHECK_EVERY != 0 {
            continue;
        }
        if shutdown_requested(shutdown_port) {
            power_off_on_request();
        }
        let now = time::now_ns();
        if now >= next {
            println!("domu: spin progress {iterations} iterations");
            next += SPIN_REPORT_NS;
            if next <= now {
                next = now + SPIN_REPORT_NS;
            }
        }
    }
}

/// Fault with no trap handler: the hypervisor must crash this domain (and only it).
fn crash(si: &StartInfo, mode: CrashMode) -> ! {
    println!("domu: crashing with {}", mode.name());
    // A NULL trap table clears every entry (Xen's `set_trap_table`).
    let rc = hypercall::raw(xen_abi::hypercall::nr::SET_TRAP_TABLE, [0; 5]);
    if rc != 0 {
        println!("domu: clearing the trap table failed: error {rc}");
    }
    match mode {
        // The builder maps only the start-of-day region at the top of the address space,
        // so the low 4 GiB are unmapped.
        // SAFETY: deliberately faults; with no #PF handler the hypervisor ends this domain.
        CrashMode::PageFault => unsafe { core::arch::asm!("mov qword ptr [{a}], {v}", a = in(reg) 0x1000u64, v = in(reg) 0xdead_u64) },
        // SAFETY: deliberately faults; with no #UD handler the hypervisor ends this domain.
        CrashMode::Ud2 => unsafe { core::arch::asm!("ud2") },
        // `pt_base` is the virtual address of our L4, mapped read-only. Its first entry is
        // written back unchanged, so the write would be harmless if it were ever let through.
        // SAFETY: deliberately faults (read-only page); with no #PF handler the hypervisor
        // ends this domain.
        CrashMode::PtWrite => unsafe {
            core::arch::asm!("mov {t}, qword ptr [{a}]", "mov qword ptr [{a}], {t}", a = in(reg) si.pt_base, t = out(reg) _)
        },
    }
    println!("domu: {} did not crash the domain", mode.name());
    shutdown(SHUTDOWN_CRASH)
}

fn exit(secs: u64, reason: ExitReason, shutdown_port: Option<u32>) -> ! {
    println!("domu: will exit with {} in {secs} s", reason.name());
    if secs > 0 {
        let timer = timer_port();
        let deadline = time::now_ns().saturating_add(secs.saturating_mul(NS_PER_S));
        if let Wake::ShutdownRequest = sleep_until(deadline, timer, shutdown_port) {
            power_off_on_request();
        }
    }
    println!("domu: exiting with {}", reason.name());
    shutdown(reason.code())
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    pvguest::console::fatal(format_args!("DomU panic: {info}"))
}
