//! `bench`: hypercall round trips timed with the TSC from Dom0 (ring 3), against the floor of
//! any PV hypercall — a bare `syscall`/`sysret` through the same CPU's entry point. Under QEMU
//! `-icount shift=0` the TSC counts instructions, so the same figures become instruction counts.

use super::shell_loop::CmdResult;
use pvguest::{hypercall, println};
use xen_abi::hypercall::nr;

/// RAX value the hypervisor's syscall entry answers with an immediate `sysret` (no state
/// saved): the measurable floor of a PV hypercall on this CPU.
const SYSCALL_FLOOR_PROBE: u64 = 0xffff_ffff_ffff_fff0;
const ROUNDS: usize = 7;
const ITERATIONS: u64 = 2000;

fn rdtsc() -> u64 {
    // SAFETY: RDTSC is permitted in ring 3 and has no side effects.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// Median over rounds of the mean TSC ticks per call.
fn measure(mut f: impl FnMut()) -> u64 {
    let mut rounds = [0u64; ROUNDS];
    for r in rounds.iter_mut() {
        let t0 = rdtsc();
        for _ in 0..ITERATIONS {
            f();
        }
        *r = (rdtsc() - t0) / ITERATIONS;
    }
    rounds.sort_unstable();
    rounds[ROUNDS / 2]
}

fn bare_syscall() {
    // SAFETY: the hypervisor returns at once with RAX, RCX and R11 as SYSCALL/SYSRET leave them.
    unsafe {
        core::arch::asm!("syscall", inlateout("rax") SYSCALL_FLOOR_PROBE => _, out("rcx") _, out("r11") _);
    }
}

pub fn run() -> CmdResult {
    let floor = measure(bare_syscall);
    let null = measure(|| {
        hypercall::raw(nr::XEN_VERSION, [0; 5]);
    });
    let enosys = measure(|| {
        hypercall::raw(63, [0; 5]);
    });
    println!("bench: syscall_sysret_floor_tsc={floor}");
    println!("bench: null_hypercall_tsc={null} (xen_version(XENVER_version))");
    println!("bench: enosys_hypercall_tsc={enosys} (unimplemented number 63)");
    println!("bench: shell_ready_ns={}", super::shell_loop::ready_ns());
    Ok(())
}
