//! Guest register state as the entry stubs save it. Arch-neutral data so the logic that
//! reads and rewrites it (hypercall decoding, bounce frames) stays host-testable.

/// The register state saved on entry, lowest address first (the push order in `trap_common`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
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
    /// Exception/interrupt vector, or [`SYSCALL_VECTOR`] for a `syscall` from the guest.
    pub vector: u64,
    pub error_code: u64,
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

/// Pseudo-vector marking a frame built by the `syscall` entry (hypercall or guest syscall).
pub const SYSCALL_VECTOR: u64 = 0x100;

impl TrapFrame {
    /// Whether the CPU was running guest code (ring 3) when the trap happened.
    pub fn from_guest(&self) -> bool {
        self.cs & 3 == 3
    }
}

