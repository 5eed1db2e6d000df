//! Guest user mode (`pvguest::usermode`): a user program runs on its own page table, prints
//! through a syscall its kernel services, ends through another, and a user read of a
//! kernel-only page faults into the kernel's #PF handler with a user-mode error code. Events
//! that arrive while user code runs are taken by the kernel and user mode resumes intact.
#![no_std]
#![no_main]

use core::ptr::addr_of;
use pvguest::usermode::{self, Exit, Region, USER_BASE};
use test_guests::Report;
use xen_abi::start_info::StartInfo;

// The user programs: position-independent code in whole pages of their own, mapped at
// USER_BASE in the user page table. Syscall numbers are `usermode::SYS_*`.
core::arch::global_asm!(
    r#"
    .pushsection .text.tg_user, "ax"
    .balign 4096
    .global tg_user_start
tg_user_start:

    // write(msg, len), then exit(what write returned).
    .global tg_user_hello
tg_user_hello:
    lea rdi, [rip + tg_user_msg]
    lea rsi, [rip + tg_user_msg_end]
    sub rsi, rdi
    mov eax, {sys_write}
    syscall
    mov rdi, rax
    mov eax, {sys_exit}
    syscall
    ud2

    // Read the address in RDI (a kernel-only page: must fault), else exit(1).
    .global tg_user_peek
tg_user_peek:
    mov rax, qword ptr [rdi]
    mov edi, 1
    mov eax, {sys_exit}
    syscall
    ud2

    // Count RDI down to zero (events arrive meanwhile), then exit(R12): R12 must survive.
    .global tg_user_spin
tg_user_spin:
    mov r12, {marker}
2:
    sub rdi, 1
    jnz 2b
    mov rdi, r12
    mov eax, {sys_exit}
    syscall
    ud2

    .global tg_user_msg
tg_user_msg:
    .ascii "tg-usermode: hello from user mode\n"
    .global tg_user_msg_end
tg_user_msg_end:

    .balign 4096
    .global tg_user_end
tg_user_end:
    .popsection
    "#,
    sys_write = const usermode::SYS_WRITE,
    sys_exit = const usermode::SYS_EXIT,
    marker = const MARKER,
);

/// What `tg_user_spin` exits with if its registers survived the events it took.
const MARKER: u64 = 0x1234_5678;
/// `tg_user_spin`'s loop count: far longer than the 1 ms timer, even on fast hardware.
const SPIN_ITERATIONS: u64 = 100_000_000;

extern "C" {
    static tg_user_start: u8;
    static tg_user_hello: u8;
    static tg_user_peek: u8;
    static tg_user_spin: u8;
    static tg_user_msg: u8;
    static tg_user_msg_end: u8;
    static tg_user_end: u8;
}

#[repr(C, align(4096))]
struct Page([u8; 4096]);
static mut USER_STACK: Page = Page([0; 4096]);
/// Where the user stack page is mapped (1 MiB into the user window).
const STACK_VA: u64 = USER_BASE + 0x10_0000;
const STACK_TOP: u64 = STACK_VA + 4096;

/// A kernel-only page the user program tries to read.
static SECRET: Page = Page([0x5a; 4096]);

#[no_mangle]
fn guest_main(_si: &'static StartInfo) -> ! {
    let mut r = Report::new("tg-usermode");
    let start = addr_of!(tg_user_start) as u64;
    let code_len = addr_of!(tg_user_end) as u64 - start;
    let msg_len = addr_of!(tg_user_msg_end) as u64 - addr_of!(tg_user_msg) as u64;
    let user = |kernel_va: u64| USER_BASE + (kernel_va - start);
    let regions = [
        Region { user_va: USER_BASE, kernel_va: start, len: code_len, writable: false },
        Region { user_va: STACK_VA, kernel_va: addr_of!(USER_STACK) as u64, len: 4096, writable: true },
    ];
    if let Err(e) = usermode::init(&regions) {
        r.error("user page table and syscall callback", format_args!("{e:?}"));
        r.finish();
    }
    r.check("user page table pinned and installed", true, format_args!("{} code page(s) at {USER_BASE:#x}", code_len / 4096));

    let syscalls_before = usermode::SYSCALLS.load(core::sync::atomic::Ordering::SeqCst);
    let hello = usermode::enter(user(addr_of!(tg_user_hello) as u64), STACK_TOP, 0);
    r.check(
        "user code ran, printed through SYS_WRITE and ended with SYS_EXIT",
        hello == Ok(Exit::Exited(msg_len)),
        format_args!("{hello:?}, expected exit code {msg_len} (the byte count SYS_WRITE returned)"),
    );
    let syscalls = usermode::SYSCALLS.load(core::sync::atomic::Ordering::SeqCst) - syscalls_before;
    let cs = usermode::LAST_SYSCALL_CS.load(core::sync::atomic::Ordering::SeqCst);
    let rip = usermode::LAST_SYSCALL_RIP.load(core::sync::atomic::Ordering::SeqCst);
    r.check(
        "syscall traps to the kernel's syscall callback from user mode",
        syscalls == 2 && cs & 3 == 3 && (USER_BASE..USER_BASE + code_len).contains(&rip),
        format_args!("{syscalls} syscalls, last from cs {cs:#x} rip {rip:#x}"),
    );

    let secret = addr_of!(SECRET) as u64;
    let peek_rip = user(addr_of!(tg_user_peek) as u64);
    let peek = usermode::enter(peek_rip, STACK_TOP, secret);
    match peek {
        Ok(Exit::Faulted { fault, rip }) => r.check(
            "user read of a kernel-only page faults into the kernel's #PF handler (user, not-present)",
            // Error code: bit 0 clear (not present), bit 2 set (user mode).
            fault.vector == 14 && fault.error_code & 0b101 == 0b100 && fault.cr2 == secret && rip == peek_rip,
            format_args!(
                "vector {} error {:#x} cr2 {:#x} at {rip:#x}; expected 14, 0x4, {secret:#x} at {peek_rip:#x}",
                fault.vector, fault.error_code, fault.cr2
            ),
        ),
        other => r.check("user read of a kernel-only page faults into the kernel's #PF handler", false, format_args!("{other:?}")),
    }

    match pvguest::events::bind_virq(xen_abi::event::VIRQ_TIMER) {
        Ok(port) => {
            let _ = pvguest::events::take(port);
            let upcalls = pvguest::events::UPCALLS.load(core::sync::atomic::Ordering::SeqCst);
            pvguest::hypercall::set_timer_op(pvguest::time::now_ns() + 1_000_000);
            let spin = usermode::enter(user(addr_of!(tg_user_spin) as u64), STACK_TOP, SPIN_ITERATIONS);
            let upcalls = pvguest::events::UPCALLS.load(core::sync::atomic::Ordering::SeqCst) - upcalls;
            let fired = pvguest::events::take(port);
            r.check(
                "an event during user mode is taken by the kernel and user mode resumes intact",
                spin == Ok(Exit::Exited(MARKER)) && upcalls > 0 && fired,
                format_args!("{spin:?} (expected exit code {MARKER:#x}), {upcalls} upcall(s), timer event seen: {fired}"),
            );
        }
        Err(rc) => r.error("bind VIRQ_TIMER", format_args!("error {rc}")),
    }

    let again = usermode::enter(user(addr_of!(tg_user_hello) as u64), STACK_TOP, 0);
    r.check("user mode can be entered again after a fault", again == Ok(Exit::Exited(msg_len)), format_args!("{again:?}"));
    r.finish()
}
