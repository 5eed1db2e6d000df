//! Every way into the hypervisor from a guest or from hardware: the IDT stubs and the
//! `syscall` entry. Each builds the same [`TrapFrame`] on the hypervisor stack and calls
//! [`crate::trap::trap_entry`]; on return the (possibly rewritten) frame is restored and
//! `iretq` resumes whatever the frame now describes — the same vCPU, a bounce into its
//! kernel, or another vCPU after a context switch.

use core::arch::global_asm;

pub use crate::regs::{TrapFrame, SYSCALL_VECTOR};

extern "C" {
    /// The `syscall` entry point, loaded into `IA32_LSTAR`.
    pub fn syscall_entry();
    /// The 256 IDT entry stubs, 16 bytes apart, starting at this symbol.
    pub fn idt_stubs();
}

/// RAX value of the benchmark floor probe: a `syscall` answered by an immediate `sysretq`,
/// the cheapest possible round trip through this CPU's entry point. It touches no state.
pub const SYSCALL_FLOOR_PROBE: u64 = 0xffff_ffff_ffff_fff0;

/// Size of one IDT stub in `idt_stubs` (kept fixed so the IDT can compute addresses).
pub const IDT_STUB_SIZE: usize = 16;

// Vectors for which the CPU pushes an error code; all others get a 0 pushed by the stub so
// every frame has the same shape.
global_asm!(
    r#"
    .section .text.entry, "ax"
    .balign 16
    .global idt_stubs
idt_stubs:
    .set vec, 0
    .rept 256
    .balign 16
    .if (vec == 8) || (vec >= 10 && vec <= 14) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
        pushq $vec
    .else
        pushq $0
        pushq $vec
    .endif
        jmp trap_common
    .set vec, vec + 1
    .endr

    .balign 16
trap_common:
    pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rbp
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, %rdi
    cld
    call {trap_entry}
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rbp
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rbx
    popq %rax
    addq $16, %rsp
    iretq

    // SYSCALL from ring 3: RCX = guest RIP, R11 = guest RFLAGS, RSP still the guest's.
    // Single pCPU: the guest RSP is parked in a static while we switch to the hypervisor
    // stack (the same top as TSS.RSP0, so every guest frame sits at one address).
    .balign 16
    .global syscall_entry
syscall_entry:
    // The benchmark floor probe: straight back, nothing saved (see docs/benchmarks.md). Only
    // from guest kernel mode (a user-mode syscall belongs to the guest kernel), and only with
    // a canonical RCX: SYSRET to a non-canonical address faults in ring 0 on some CPUs.
    cmpq ${floor_probe}, %rax
    je 2f
3:
    movq %rsp, {guest_rsp}(%rip)
    movq {stack_top}(%rip), %rsp
    pushq ${user_ss}
    pushq {guest_rsp}(%rip)
    pushq %r11
    pushq ${user_cs}
    pushq %rcx
    pushq $0
    pushq ${syscall_vector}
    jmp trap_common
2:
    cmpb $0, {in_kernel}(%rip)
    je 3b
    movq %rcx, %rax
    sarq $47, %rax
    incq %rax
    cmpq $1, %rax
    movq ${floor_probe}, %rax
    ja 3b
    sysretq
    .text
    "#,
    trap_entry = sym crate::trap::trap_entry,
    guest_rsp = sym super::cpu::SYSCALL_GUEST_RSP,
    stack_top = sym super::cpu::HYPERVISOR_STACK_TOP,
    user_ss = const xen_abi::x86::FLAT_RING3_SS64 as u64,
    user_cs = const xen_abi::x86::FLAT_RING3_CS64 as u64,
    syscall_vector = const SYSCALL_VECTOR,
    floor_probe = const SYSCALL_FLOOR_PROBE,
    in_kernel = sym super::cpu::GUEST_IN_KERNEL,
    options(att_syntax)
);
