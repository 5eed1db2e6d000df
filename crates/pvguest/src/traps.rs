//! Exceptions and the event upcall, as Xen delivers them to a PV kernel: a bounce frame
//! (RCX, R11, [error code], RIP, CS, RFLAGS, RSP, SS) on the kernel stack, and a return
//! through the `iret` hypercall. Faults a kernel provokes on purpose (self-tests) are caught
//! with [`probe!`], which resumes after the faulting instruction. Syscalls and exceptions
//! from guest user mode go to `usermode`.

use core::sync::atomic::{AtomicU64, Ordering};
use xen_abi::x86::{CallbackRegister, TrapInfo, CALLBACKOP_REGISTER, CALLBACKF_MASK_EVENTS, CALLBACKTYPE_EVENT, CALLBACKTYPE_FAILSAFE, FLAT_KERNEL_CS, FLAT_KERNEL_SS, TI_SET_IF};

/// Registers saved by the entry stubs, lowest address first.
#[repr(C)]
#[derive(Debug)]
pub struct TrapFrame {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rbp: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub rcx: u64,
    pub rbx: u64,
    pub rax: u64,
    pub vector: u64,
    pub error_code: u64,
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

/// Pseudo-vector for the event upcall.
const EVENT_VECTOR: u64 = 0x100;
/// Pseudo-vector for the failsafe callback.
const FAILSAFE_VECTOR: u64 = 0x101;
/// Pseudo-vector for the syscall callback (`syscall` in guest user mode, see `usermode`). Its
/// bounce frame has the layout of an exception without error code.
pub(crate) const SYSCALL_VECTOR: u64 = 0x102;

core::arch::global_asm!(
    r#"
    .macro trap_noerr vec
    .global pvguest_trap_\vec
    pvguest_trap_\vec:
        pop rcx
        pop r11
        push 0
        push \vec
        jmp pvguest_trap_common
    .endm
    .macro trap_err vec
    .global pvguest_trap_\vec
    pvguest_trap_\vec:
        pop rcx
        pop r11
        push \vec
        jmp pvguest_trap_common
    .endm

    .text
    trap_noerr 0
    trap_noerr 1
    trap_noerr 2
    trap_noerr 3
    trap_noerr 4
    trap_noerr 5
    trap_noerr 6
    trap_noerr 7
    trap_err 8
    trap_err 10
    trap_err 11
    trap_err 12
    trap_err 13
    trap_err 14
    trap_noerr 16
    trap_err 17
    trap_noerr 18
    trap_noerr 19
    trap_noerr 256
    trap_noerr 257
    trap_noerr 258

pvguest_trap_common:
    push rax
    push rbx
    push rcx
    push rdx
    push rsi
    push rdi
    push rbp
    push r8
    push r9
    push r10
    push r11
    push r12
    push r13
    push r14
    push r15
    mov rdi, rsp
    cld
    call {handler}
    pop r15
    pop r14
    pop r13
    pop r12
    pop r11
    pop r10
    pop r9
    pop r8
    pop rbp
    pop rdi
    pop rsi
    pop rdx
    pop rcx
    pop rbx
    pop rax
    add rsp, 16
    push 0
    jmp hypercall_page + {iret_offset}
    "#,
    handler = sym trap_handler,
    iret_offset = const xen_abi::hypercall::nr::IRET as usize * xen_abi::hypercall::HYPERCALL_STUB_SIZE,
);

extern "C" {
    fn pvguest_trap_0();
    fn pvguest_trap_1();
    fn pvguest_trap_2();
    fn pvguest_trap_3();
    fn pvguest_trap_4();
    fn pvguest_trap_5();
    fn pvguest_trap_6();
    fn pvguest_trap_7();
    fn pvguest_trap_8();
    fn pvguest_trap_10();
    fn pvguest_trap_11();
    fn pvguest_trap_12();
    fn pvguest_trap_13();
    fn pvguest_trap_14();
    fn pvguest_trap_16();
    fn pvguest_trap_17();
    fn pvguest_trap_18();
    fn pvguest_trap_19();
    fn pvguest_trap_256();
    fn pvguest_trap_257();
    fn pvguest_trap_258();
}

/// Entry point for `CALLBACKTYPE_syscall` (registered by `usermode::init`).
pub(crate) fn syscall_entry() -> u64 {
    pvguest_trap_258 as usize as u64
}

/// Where a probed instruction resumes (0: no probe armed).
#[no_mangle]
pub static PVGUEST_PROBE_RESUME: AtomicU64 = AtomicU64::new(0);
/// What the last probe caught: bit 63 set, vector in bits 32..40, error code in the low bits.
pub static PROBE_RESULT: AtomicU64 = AtomicU64::new(0);
/// CR2 of the last probed page fault.
pub static PROBE_CR2: AtomicU64 = AtomicU64::new(0);

/// A fault caught by a probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fault {
    pub vector: u8,
    pub error_code: u32,
    /// For #PF: the faulting address Xen stored in `vcpu_info.arch.cr2`.
    pub cr2: u64,
}

/// Decode (and clear) the last probe result.
pub fn take_probe_result() -> Option<Fault> {
    let r = PROBE_RESULT.swap(0, Ordering::SeqCst);
    (r & (1 << 63) != 0).then(|| Fault { vector: (r >> 32) as u8, error_code: r as u32, cr2: PROBE_CR2.load(Ordering::SeqCst) })
}

/// Run one instruction (or a short sequence) that may fault; `None` if it did not.
/// Example: `probe!("ud2")`, `probe!("mov {t}, [{a}]", a = in(reg) addr, t = out(reg) _)`.
#[macro_export]
macro_rules! probe {
    ($insn:literal $(, $($operands:tt)*)?) => {{
        $crate::traps::PROBE_RESULT.store(0, core::sync::atomic::Ordering::SeqCst);
        // SAFETY: the instruction is expected to fault or complete; a fault resumes at label 2
        // through the trap handler, with all registers as the bounce frame saved them.
        unsafe {
            core::arch::asm!(
                "lea {probe_tmp}, [rip + 2f]",
                "mov qword ptr [rip + {probe_resume}], {probe_tmp}",
                $insn,
                "2:",
                "mov qword ptr [rip + {probe_resume}], 0",
                probe_tmp = out(reg) _,
                probe_resume = sym $crate::traps::PVGUEST_PROBE_RESUME,
                $($($operands)*)?
            );
        }
        $crate::traps::take_probe_result()
    }};
}

extern "C" fn trap_handler(frame: &mut TrapFrame) {
    match frame.vector {
        EVENT_VECTOR => crate::events::handle_upcall(),
        FAILSAFE_VECTOR => crate::console::fatal(format_args!("failsafe callback at {:#x}", frame.rip)),
        SYSCALL_VECTOR => crate::usermode::handle_syscall(frame),
        vector => {
            let cr2 = if vector == 14 { crate::events::cr2() } else { 0 };
            if frame.cs & 3 == 3 && crate::usermode::program_running() {
                // Raised in guest user mode (Xen clears the RPL of CS only in frames from
                // kernel mode): the user program ends here.
                crate::usermode::handle_user_fault(frame, vector, cr2);
            }
            let resume = PVGUEST_PROBE_RESUME.swap(0, Ordering::SeqCst);
            if resume != 0 {
                PROBE_CR2.store(cr2, Ordering::SeqCst);
                PROBE_RESULT.store(1 << 63 | vector << 32 | (frame.error_code & 0xffff_ffff), Ordering::SeqCst);
                frame.rip = resume;
                return;
            }
            crate::console::fatal(format_args!(
                "unhandled exception {vector} error {:#x} at rip {:#x} (cr2 {cr2:#x})",
                frame.error_code, frame.rip
            ))
        }
    }
}

/// Kernel stack for events and exceptions that arrive in user mode (`stack_switch`).
const TRAP_STACK_SIZE: usize = 32 * 1024;
#[repr(C, align(16))]
struct Stack([u8; TRAP_STACK_SIZE]);
static mut TRAP_STACK: Stack = Stack([0; TRAP_STACK_SIZE]);

/// Install the trap table and callbacks (XTF's order: traps, callbacks, kernel stack).
pub fn init() {
    let handlers: [(u8, unsafe extern "C" fn()); 18] = [
        (0, pvguest_trap_0),
        (1, pvguest_trap_1),
        (2, pvguest_trap_2),
        (3, pvguest_trap_3),
        (4, pvguest_trap_4),
        (5, pvguest_trap_5),
        (6, pvguest_trap_6),
        (7, pvguest_trap_7),
        (8, pvguest_trap_8),
        (10, pvguest_trap_10),
        (11, pvguest_trap_11),
        (12, pvguest_trap_12),
        (13, pvguest_trap_13),
        (14, pvguest_trap_14),
        (16, pvguest_trap_16),
        (17, pvguest_trap_17),
        (18, pvguest_trap_18),
        (19, pvguest_trap_19),
    ];
    let mut table = [TrapInfo { vector: 0, flags: 0, cs: 0, _pad: 0, address: 0 }; 19];
    for (slot, (vector, handler)) in table.iter_mut().zip(handlers.iter()) {
        // #BP and #OF may be raised from any ring (int3/into); everything masks events on entry.
        let dpl = if *vector == 3 || *vector == 4 { 3 } else { 0 };
        *slot = TrapInfo { vector: *vector, flags: dpl | TI_SET_IF, cs: FLAT_KERNEL_CS, _pad: 0, address: *handler as usize as u64 };
    }
    // The last entry stays zero: the terminator.
    check("set_trap_table", crate::hypercall::set_trap_table(&table));
    let event = CallbackRegister { ty: CALLBACKTYPE_EVENT, flags: CALLBACKF_MASK_EVENTS, _pad: 0, address: pvguest_trap_256 as usize as u64 };
    check("callback_op(event)", crate::hypercall::callback_op(CALLBACKOP_REGISTER, &event));
    let failsafe = CallbackRegister { ty: CALLBACKTYPE_FAILSAFE, flags: CALLBACKF_MASK_EVENTS, _pad: 0, address: pvguest_trap_257 as usize as u64 };
    check("callback_op(failsafe)", crate::hypercall::callback_op(CALLBACKOP_REGISTER, &failsafe));
    let top = core::ptr::addr_of!(TRAP_STACK) as u64 + TRAP_STACK_SIZE as u64;
    check("stack_switch", crate::hypercall::stack_switch(FLAT_KERNEL_SS as u64, top));
}

fn check(what: &str, rc: i64) {
    if rc != 0 {
        crate::console::fatal(format_args!("{what} failed: {rc}"));
    }
}
