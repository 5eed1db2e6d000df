//! DomU: the unprivileged PV kernel. It prints a banner, connects to XenStore, and runs the
//! workload its command line names (see `domu_kernel::cmdline`): idling on its timer,
//! spinning, crashing on purpose, shutting down after a while, echoing console input, or
//! probing and timing XenStore. Every workload honours the toolstack's power requests
//! (`control/shutdown`, with `VIRQ_SHUTDOWN_REQUEST` as a fallback; see `power`).
//!
//! The host-testable logic lives in the library (`cmdline`, `control`, `lines`); the modules
//! below are the guest side. A new workload: a `Workload` variant in `cmdline.rs`, a module
//! with a `run(.., power: &Power) -> !`, and one arm in [`run_workload`].
#![no_std]
#![no_main]

extern crate alloc;

mod echo;
mod grant_bench;
mod pages;
mod power;
mod sleep;
mod vping;
mod xs_bench;
mod xs_probe;

use domu_kernel::cmdline::{self, CrashMode, ExitReason, Shown, ShownDomid, Workload};
use power::Power;
use pvguest::{hypercall, println, time, xenstore};
use sleep::{Wake, NS_PER_MS, NS_PER_S};
use xen_abi::sched::SHUTDOWN_CRASH;
use xen_abi::start_info::StartInfo;

/// `spin` reports this often (system time).
const SPIN_REPORT_NS: u64 = 2 * NS_PER_S;
/// `spin` looks at the clock and for power requests once per this many iterations.
const SPIN_CHECK_EVERY: u64 = 4096;

#[no_mangle]
fn guest_main(si: &'static StartInfo) -> ! {
    // Everything from the banner on goes to the PV console (Dom0's `console` command).
    pvguest::console::init();
    let line = core::str::from_utf8(xen_abi::c_string_bytes(&si.cmd_line)).unwrap_or("");
    // The system time of the banner lets the bench measure create-to-banner.
    println!(
        "domu: domid {}, {} MiB, cmdline \"{}\", up at {} ns",
        ShownDomid(cmdline::domid(line)),
        si.nr_pages / 256,
        Shown(line),
        time::now_ns()
    );
    let xenstore_up = connect_xenstore(line);
    let power = Power::setup(xenstore_up);
    run_workload(si, cmdline::workload(line), &power)
}

/// Connect to XenStore and say who it says we are (domid and name fall back to the command
/// line and `?`).
fn connect_xenstore(line: &str) -> bool {
    if let Err(e) = xenstore::init() {
        println!("domu: no XenStore ({e}); power requests only through VIRQ_SHUTDOWN_REQUEST");
        return false;
    }
    let domid = xenstore::read("domid").ok().and_then(|d| d.parse().ok()).or(cmdline::domid(line));
    let name = xenstore::read("name").unwrap_or_else(|_| "?".into());
    println!("domu: xenstore connected, domid {}, name \"{name}\"", ShownDomid(domid));
    true
}

fn run_workload(si: &StartInfo, workload: Workload, power: &Power) -> ! {
    match workload {
        Workload::Idle { period_ms } => idle(period_ms, power),
        Workload::Spin => spin(power),
        Workload::Crash(mode) => crash(si, mode),
        Workload::Exit { secs, reason } => exit(secs, reason, power),
        Workload::Echo => echo::run(power),
        Workload::XsProbe { peer } => xs_probe::run(peer, power),
        Workload::XsBench { reads } => xs_bench::run(reads, power),
        Workload::VpingBack => vping::back(power),
        Workload::VpingFront { round_trips, hostile } => vping::front(round_trips, hostile, power),
        Workload::GrantBench { copies } => grant_bench::run(copies, power),
        Workload::BadOption(word) => {
            println!("domu: bad workload option \"{word}\"");
            shutdown(SHUTDOWN_CRASH)
        }
        Workload::MissingOption { workload, option } => {
            println!("domu: workload \"{workload}\" needs {option}=...");
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

fn idle(period_ms: u64, power: &Power) -> ! {
    println!("domu: idle, heartbeat every {period_ms} ms");
    let period = period_ms * NS_PER_MS;
    let mut next = time::now_ns() + period;
    let mut beats = 0u64;
    loop {
        if let Wake::Power(request) = sleep::sleep_until(next, power) {
            power.act(request);
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

fn spin(power: &Power) -> ! {
    println!("domu: spinning, progress every {} s", SPIN_REPORT_NS / NS_PER_S);
    let mut iterations = 0u64;
    let mut next = time::now_ns() + SPIN_REPORT_NS;
    loop {
        iterations = core::hint::black_box(iterations) + 1;
        if iterations % SPIN_CHECK_EVERY != 0 {
            continue;
        }
        if let Some(request) = power.poll() {
            power.act(request);
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

fn exit(secs: u64, reason: ExitReason, power: &Power) -> ! {
    println!("domu: will exit with {} in {secs} s", reason.name());
    if secs > 0 {
        let deadline = time::now_ns().saturating_add(secs.saturating_mul(NS_PER_S));
        if let Wake::Power(request) = sleep::sleep_until(deadline, power) {
            power.act(request);
        }
    }
    println!("domu: exiting with {}", reason.name());
    shutdown(reason.code())
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    pvguest::console::fatal(format_args!("DomU panic: {info}"))
}
