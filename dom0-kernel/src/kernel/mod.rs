//! Dom0's kernel side: start of day and the shell loop; each command family in its module.

mod bench;
mod builder;
mod checks;
mod foreign;
mod hostile;
mod info;
mod selftest;
mod services;
mod shell_loop;
mod xenstore_cmds;
mod xl;
pub mod xc;

use pvguest::println;
use xen_abi::start_info::StartInfo;

pub fn main(si: &'static StartInfo) -> ! {
    let privileged = si.flags & xen_abi::start_info::SIF_PRIVILEGED != 0;
    println!(
        "Dom0 kernel: {} pages ({} MiB), {}, boot bundle {} bytes",
        si.nr_pages,
        si.nr_pages / 256,
        if privileged { "privileged" } else { "NOT privileged" },
        si.mod_len
    );
    if cmdline(si).split_whitespace().any(|w| w == "crash_test=unhandled") {
        crash_unhandled();
    }
    shell_loop::run()
}

fn cmdline(si: &StartInfo) -> &str {
    core::str::from_utf8(xen_abi::c_string_bytes(&si.cmd_line)).unwrap_or("")
}

/// Test knob (`dom0_args=crash_test=unhandled`): drop every trap handler and fault, so the
/// hypervisor must crash this domain and report it (for Dom0: power off with a failing status).
fn crash_unhandled() -> ! {
    println!("crash_test: clearing the trap table and executing ud2");
    pvguest::hypercall::raw(xen_abi::hypercall::nr::SET_TRAP_TABLE, [0; 5]);
    // SAFETY: deliberately faults; with no handler the hypervisor ends this domain.
    unsafe { core::arch::asm!("ud2", options(noreturn)) }
}
