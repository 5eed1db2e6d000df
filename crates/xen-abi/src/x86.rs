//! x86-64 PV CPU model: segment selectors, address-space layout, the virtual
//! IDT, callbacks, the `iret` frame and the vCPU context.
//!
//! Mirrors `xen/include/public/arch-x86/xen-x86_64.h`,
//! `xen/include/public/arch-x86/xen.h` and `xen/include/public/callback.h`
//! (plus the `VMASST_*` constants of `xen/include/public/xen.h`).  Xen's own
//! ring-0 selectors come from `xen/arch/x86/include/asm/config.h`.

use zerocopy::{FromBytes, FromZeros, Immutable, IntoBytes, KnownLayout};

// ---------------------------------------------------------------------------
// Segment selectors
// ---------------------------------------------------------------------------

/// Flat 32-bit ring-3 code segment (GDT entry 7172).
pub const FLAT_RING3_CS32: u16 = 0xe023;
/// Flat 64-bit ring-3 code segment (GDT entry 7174).
pub const FLAT_RING3_CS64: u16 = 0xe033;
/// Flat 32-bit ring-3 data segment (GDT entry 7173).
pub const FLAT_RING3_DS32: u16 = 0xe02b;
/// 64-bit data segment: the NULL selector.
pub const FLAT_RING3_DS64: u16 = 0x0000;
/// Flat 32-bit ring-3 stack segment (GDT entry 7173).
pub const FLAT_RING3_SS32: u16 = 0xe02b;
/// Flat 64-bit ring-3 stack segment (GDT entry 7173).
pub const FLAT_RING3_SS64: u16 = 0xe02b;

/// Guest-kernel 64-bit data selector (alias of [`FLAT_RING3_DS64`]).
pub const FLAT_KERNEL_DS64: u16 = FLAT_RING3_DS64;
/// Guest-kernel 32-bit data selector.
pub const FLAT_KERNEL_DS32: u16 = FLAT_RING3_DS32;
/// Guest-kernel data selector (the 64-bit one).
pub const FLAT_KERNEL_DS: u16 = FLAT_KERNEL_DS64;
/// Guest-kernel 64-bit code selector.
pub const FLAT_KERNEL_CS64: u16 = FLAT_RING3_CS64;
/// Guest-kernel 32-bit code selector.
pub const FLAT_KERNEL_CS32: u16 = FLAT_RING3_CS32;
/// Guest-kernel code selector (the 64-bit one).
pub const FLAT_KERNEL_CS: u16 = FLAT_KERNEL_CS64;
/// Guest-kernel 64-bit stack selector.
pub const FLAT_KERNEL_SS64: u16 = FLAT_RING3_SS64;
/// Guest-kernel 32-bit stack selector.
pub const FLAT_KERNEL_SS32: u16 = FLAT_RING3_SS32;
/// Guest-kernel stack selector (the 64-bit one).
pub const FLAT_KERNEL_SS: u16 = FLAT_KERNEL_SS64;

/// Guest-user 64-bit data selector.
pub const FLAT_USER_DS64: u16 = FLAT_RING3_DS64;
/// Guest-user 32-bit data selector.
pub const FLAT_USER_DS32: u16 = FLAT_RING3_DS32;
/// Guest-user data selector (the 64-bit one).
pub const FLAT_USER_DS: u16 = FLAT_USER_DS64;
/// Guest-user 64-bit code selector.
pub const FLAT_USER_CS64: u16 = FLAT_RING3_CS64;
/// Guest-user 32-bit code selector.
pub const FLAT_USER_CS32: u16 = FLAT_RING3_CS32;
/// Guest-user code selector (the 64-bit one).
pub const FLAT_USER_CS: u16 = FLAT_USER_CS64;
/// Guest-user 64-bit stack selector.
pub const FLAT_USER_SS64: u16 = FLAT_RING3_SS64;
/// Guest-user 32-bit stack selector.
pub const FLAT_USER_SS32: u16 = FLAT_RING3_SS32;
/// Guest-user stack selector (the 64-bit one).
pub const FLAT_USER_SS: u16 = FLAT_USER_SS64;

/// Xen's ring-0 64-bit code selector (`__HYPERVISOR_CS`, GDT entry 7169).
pub const HYPERVISOR_CS: u16 = 0xe008;
/// Xen's ring-0 64-bit data selector (`__HYPERVISOR_DS64`): the NULL
/// selector, as 64-bit mode ignores data-segment bases and limits.
pub const HYPERVISOR_DS64: u16 = 0x0000;
/// Xen's ring-0 flat 32-bit data selector (`__HYPERVISOR_DS32`, GDT entry
/// 7170).
pub const HYPERVISOR_DS32: u16 = 0xe010;
/// Xen's ring-0 data selector (`__HYPERVISOR_DS`, alias of
/// [`HYPERVISOR_DS64`]).
pub const HYPERVISOR_DS: u16 = HYPERVISOR_DS64;

/// First GDT page reserved for Xen; guests own GDT pages `0..14`.
pub const FIRST_RESERVED_GDT_PAGE: usize = 14;
/// Byte offset of the Xen-reserved part of the GDT (57344).
pub const FIRST_RESERVED_GDT_BYTE: usize = FIRST_RESERVED_GDT_PAGE * 4096;
/// First GDT entry reserved for Xen (7168).
pub const FIRST_RESERVED_GDT_ENTRY: usize = FIRST_RESERVED_GDT_BYTE / 8;

/// Largest number of guest frames `set_gdt` accepts.
pub const MAX_GDT_FRAMES: usize = 16;

/// Returns the GDT index of a selector (its bits 3..=15).
pub const fn selector_index(sel: u16) -> usize {
    (sel >> 3) as usize
}

// ---------------------------------------------------------------------------
// Address-space layout
// ---------------------------------------------------------------------------

/// Start of the virtual range Xen reserves in every PV address space
/// (PML4 slot 256).
pub const HYPERVISOR_VIRT_START: u64 = 0xFFFF_8000_0000_0000;
/// End (exclusive) of Xen's reserved range (PML4 slot 272).
pub const HYPERVISOR_VIRT_END: u64 = 0xFFFF_8800_0000_0000;
/// Start of the guest-readable machine-to-phys (M2P) table.
pub const MACH2PHYS_VIRT_START: u64 = 0xFFFF_8000_0000_0000;
/// End (exclusive) of the guest-readable M2P table.
pub const MACH2PHYS_VIRT_END: u64 = 0xFFFF_8040_0000_0000;
/// Number of 8-byte entries in the M2P table.
pub const MACH2PHYS_NR_ENTRIES: u64 = (MACH2PHYS_VIRT_END - MACH2PHYS_VIRT_START) >> 3;
/// First PML4 slot owned by Xen.
pub const ROOT_PAGETABLE_FIRST_XEN_SLOT: usize = 256;
/// Last PML4 slot owned by Xen (inclusive).
pub const ROOT_PAGETABLE_LAST_XEN_SLOT: usize = 271;

/// Converts a page frame number to a CR3 value (`xen_pfn_to_cr3`).
pub const fn xen_pfn_to_cr3(pfn: u64) -> u64 {
    pfn << 12
}

/// Converts a CR3 value to its page frame number (`xen_cr3_to_pfn`).
pub const fn xen_cr3_to_pfn(cr3: u64) -> u64 {
    cr3 >> 12
}

// ---------------------------------------------------------------------------
// Virtual IDT
// ---------------------------------------------------------------------------

/// Mask of the DPL bits in [`TrapInfo::flags`]: 0 = no `INT n` allowed,
/// 1 or 2 = guest kernel only, 3 = everyone.
pub const TI_DPL_MASK: u8 = 3;
/// Flag bit in [`TrapInfo::flags`]: mask event delivery on entry (the
/// handler runs as if it were an interrupt gate).
pub const TI_SET_IF: u8 = 1 << 2;

/// One virtual-IDT entry for `set_trap_table` (C `struct trap_info`, 16 B).
/// A table passed to Xen ends with an entry whose `address` is 0.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct TrapInfo {
    /// Exception vector.
    pub vector: u8,
    /// DPL in bits 0..=1, [`TI_SET_IF`] in bit 2.
    pub flags: u8,
    /// Code selector of the handler.
    pub cs: u16,
    /// Padding; zero.
    pub _pad: u32,
    /// Handler address.
    pub address: u64,
}

impl TrapInfo {
    /// The privilege level allowed to raise this vector with `INT n`.
    pub const fn dpl(&self) -> u8 {
        self.flags & TI_DPL_MASK
    }

    /// Whether entering this handler masks event delivery.
    pub const fn masks_events(&self) -> bool {
        self.flags & TI_SET_IF != 0
    }
}

// ---------------------------------------------------------------------------
// Callbacks (callback_op)
// ---------------------------------------------------------------------------

/// Event-channel upcall entry point.
pub const CALLBACKTYPE_EVENT: u16 = 0;
/// Failsafe entry point (faults while returning to the guest).
pub const CALLBACKTYPE_FAILSAFE: u16 = 1;
/// 64-bit `SYSCALL` entry point (x86-64 only).
pub const CALLBACKTYPE_SYSCALL: u16 = 2;
/// Old 32-bit `SYSENTER` slot; no longer used.
pub const CALLBACKTYPE_SYSENTER_DEPRECATED: u16 = 3;
/// NMI entry point.
pub const CALLBACKTYPE_NMI: u16 = 4;
/// `SYSENTER` entry point.
pub const CALLBACKTYPE_SYSENTER: u16 = 5;
/// 32-bit (compat-mode) `SYSCALL` entry point.
pub const CALLBACKTYPE_SYSCALL32: u16 = 7;

/// `callback_op` command: register a callback ([`CallbackRegister`]).
pub const CALLBACKOP_REGISTER: u32 = 0;
/// `callback_op` command: unregister a callback ([`CallbackUnregister`]).
pub const CALLBACKOP_UNREGISTER: u32 = 1;

/// Callback flag: mask events while the callback runs.  Event and NMI
/// callbacks always mask.
pub const CALLBACKF_MASK_EVENTS: u16 = 1 << 0;

/// Argument of `CALLBACKOP_register` (C `struct callback_register`, 16 B).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct CallbackRegister {
    /// Which callback (`CALLBACKTYPE_*`); C field `type`.
    pub ty: u16,
    /// `CALLBACKF_*` flags.
    pub flags: u16,
    /// Padding; zero.
    pub _pad: u32,
    /// Entry-point address.
    pub address: u64,
}

/// Argument of `CALLBACKOP_unregister` (C `struct callback_unregister`,
/// 4 B).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct CallbackUnregister {
    /// Which callback (`CALLBACKTYPE_*`); C field `type`.
    pub ty: u16,
    /// Unused; zero.
    pub _unused: u16,
}

// ---------------------------------------------------------------------------
// set_segment_base
// ---------------------------------------------------------------------------

/// `set_segment_base`: set the FS base.
pub const SEGBASE_FS: u32 = 0;
/// `set_segment_base`: set the user-mode GS base.
pub const SEGBASE_GS_USER: u32 = 1;
/// `set_segment_base`: set the kernel-mode GS base.
pub const SEGBASE_GS_KERNEL: u32 = 2;
/// `set_segment_base`: load the user GS selector given in `base[15:0]`.
pub const SEGBASE_GS_USER_SEL: u32 = 3;

// ---------------------------------------------------------------------------
// iret and vCPU context flags
// ---------------------------------------------------------------------------

/// Bit number of [`VGCF_I387_VALID`].
pub const _VGCF_I387_VALID: u32 = 0;
/// The FPU context in [`VcpuGuestContext::fpu_ctxt`] is valid.
pub const VGCF_I387_VALID: u64 = 1 << _VGCF_I387_VALID;
/// Bit number of [`VGCF_IN_KERNEL`].
pub const _VGCF_IN_KERNEL: u32 = 2;
/// The vCPU starts in guest-kernel mode.
pub const VGCF_IN_KERNEL: u64 = 1 << _VGCF_IN_KERNEL;
/// Bit number of [`VGCF_FAILSAFE_DISABLES_EVENTS`].
pub const _VGCF_FAILSAFE_DISABLES_EVENTS: u32 = 3;
/// The failsafe callback masks events.
pub const VGCF_FAILSAFE_DISABLES_EVENTS: u64 = 1 << _VGCF_FAILSAFE_DISABLES_EVENTS;
/// Bit number of [`VGCF_SYSCALL_DISABLES_EVENTS`].
pub const _VGCF_SYSCALL_DISABLES_EVENTS: u32 = 4;
/// The syscall callback masks events.
pub const VGCF_SYSCALL_DISABLES_EVENTS: u64 = 1 << _VGCF_SYSCALL_DISABLES_EVENTS;
/// Bit number of [`VGCF_ONLINE`].
pub const _VGCF_ONLINE: u32 = 5;
/// The vCPU is online.
pub const VGCF_ONLINE: u64 = 1 << _VGCF_ONLINE;
/// Bit number of [`VGCF_IN_SYSCALL`].
pub const _VGCF_IN_SYSCALL: u32 = 8;
/// In [`IretContext::flags`]: the frame came from a `SYSCALL`, so `iret`
/// restores only RAX, RIP, RFLAGS and RSP (R11, RCX, CS and SS are
/// discarded).
pub const VGCF_IN_SYSCALL: u64 = 1 << _VGCF_IN_SYSCALL;

/// The frame the guest kernel leaves on its stack for the `iret` hypercall
/// (C `struct iret_context`, 72 B).  `rax` is at the lowest address (the
/// stack pointer at the time of the hypercall).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct IretContext {
    /// Saved RAX (the stub clobbers it with the hypercall number).
    pub rax: u64,
    /// Saved R11.
    pub r11: u64,
    /// Saved RCX.
    pub rcx: u64,
    /// `VGCF_*` flags; only [`VGCF_IN_SYSCALL`] is meaningful.
    pub flags: u64,
    /// Return RIP.
    pub rip: u64,
    /// Return CS (RPL 3 means return to guest user mode).
    pub cs: u64,
    /// Return RFLAGS; IF clear leaves events masked.
    pub rflags: u64,
    /// Return RSP.
    pub rsp: u64,
    /// Return SS.
    pub ss: u64,
}

/// Guest register file (C `struct cpu_user_regs`, 200 B), as used in
/// [`VcpuGuestContext`] and on Xen's own stacks.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct CpuUserRegs {
    /// R15.
    pub r15: u64,
    /// R14.
    pub r14: u64,
    /// R13.
    pub r13: u64,
    /// R12.
    pub r12: u64,
    /// RBP.
    pub rbp: u64,
    /// RBX.
    pub rbx: u64,
    /// R11.
    pub r11: u64,
    /// R10.
    pub r10: u64,
    /// R9.
    pub r9: u64,
    /// R8.
    pub r8: u64,
    /// RAX.
    pub rax: u64,
    /// RCX.
    pub rcx: u64,
    /// RDX.
    pub rdx: u64,
    /// RSI.
    pub rsi: u64,
    /// RDI.
    pub rdi: u64,
    /// Hardware error code (Xen-private).
    pub error_code: u32,
    /// Entry vector (Xen-private).
    pub entry_vector: u32,
    /// RIP.
    pub rip: u64,
    /// CS.
    pub cs: u16,
    /// Padding.
    pub _pad0: u16,
    /// Event mask to restore on return; RFLAGS.IF is its inverse.
    pub saved_upcall_mask: u8,
    /// Padding.
    pub _pad1: [u8; 3],
    /// RFLAGS.
    pub rflags: u64,
    /// RSP.
    pub rsp: u64,
    /// SS.
    pub ss: u16,
    /// Padding.
    pub _pad2: [u16; 3],
    /// ES.
    pub es: u16,
    /// Padding.
    pub _pad3: [u16; 3],
    /// DS.
    pub ds: u16,
    /// Padding.
    pub _pad4: [u16; 3],
    /// FS; non-zero takes precedence over `fs_base`.
    pub fs: u16,
    /// Padding.
    pub _pad5: [u16; 3],
    /// GS; non-zero takes precedence over `gs_base_user`.
    pub gs: u16,
    /// Padding.
    pub _pad6: [u16; 3],
}

/// Full vCPU state for `VCPUOP_initialise` and
/// `XEN_DOMCTL_{set,get}vcpucontext` (C `struct vcpu_guest_context`,
/// 5168 B).
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct VcpuGuestContext {
    /// FXSAVE image of the FPU/SSE state.
    pub fpu_ctxt: [u8; 512],
    /// `VGCF_*` flags.
    pub flags: u64,
    /// General-purpose registers.
    pub user_regs: CpuUserRegs,
    /// Virtual IDT.
    pub trap_ctxt: [TrapInfo; 256],
    /// LDT linear base address.
    pub ldt_base: u64,
    /// Number of LDT entries.
    pub ldt_ents: u64,
    /// Machine frames holding the GDT.
    pub gdt_frames: [u64; 16],
    /// Number of GDT entries.
    pub gdt_ents: u64,
    /// Kernel stack segment (virtual TSS).
    pub kernel_ss: u64,
    /// Kernel stack pointer (virtual TSS).
    pub kernel_sp: u64,
    /// Control registers; CR3 is `ctrlreg[3]`, the user page table
    /// `ctrlreg[1]` (both as [`xen_pfn_to_cr3`] values).
    pub ctrlreg: [u64; 8],
    /// Debug registers DR0..DR7.
    pub debugreg: [u64; 8],
    /// Event callback address.
    pub event_callback_eip: u64,
    /// Failsafe callback address.
    pub failsafe_callback_eip: u64,
    /// Syscall callback address.
    pub syscall_callback_eip: u64,
    /// Bitmap of enabled `VMASST_TYPE_*` assists.
    pub vm_assist: u64,
    /// FS base.
    pub fs_base: u64,
    /// Kernel-mode GS base.
    pub gs_base_kernel: u64,
    /// User-mode GS base.
    pub gs_base_user: u64,
}

impl VcpuGuestContext {
    /// An all-zero context.
    pub fn zeroed() -> Self {
        <Self as FromZeros>::new_zeroed()
    }
}

impl Default for VcpuGuestContext {
    fn default() -> Self {
        Self::zeroed()
    }
}

const _: () = assert!(core::mem::size_of::<CpuUserRegs>() == 200);
const _: () = assert!(core::mem::size_of::<VcpuGuestContext>() == 5168);

// ---------------------------------------------------------------------------
// vm_assist
// ---------------------------------------------------------------------------

/// `vm_assist` command: enable an assist.
pub const VMASST_CMD_ENABLE: u32 = 0;
/// `vm_assist` command: disable an assist.
pub const VMASST_CMD_DISABLE: u32 = 1;
/// 32-bit guests: emulate 4 GiB segment limits.
pub const VMASST_TYPE_4GB_SEGMENTS: u32 = 0;
/// 32-bit guests: trap when the 4 GiB segment emulation is used.
pub const VMASST_TYPE_4GB_SEGMENTS_NOTIFY: u32 = 1;
/// Direct writes to L1 page tables are emulated (writable page tables).
pub const VMASST_TYPE_WRITABLE_PAGETABLES: u32 = 2;
/// PAE guests: page-directory-pointer tables may live above 4 GiB.
pub const VMASST_TYPE_PAE_EXTENDED_CR3: u32 = 3;
/// IOPL follows the architectural semantics.
pub const VMASST_TYPE_ARCHITECTURAL_IOPL: u32 = 4;
/// Xen sets `XEN_RUNSTATE_UPDATE` while updating runstate areas.
pub const VMASST_TYPE_RUNSTATE_UPDATE_FLAG: u32 = 5;
/// 64-bit guests: strictly hide the M2P from user mode.
pub const VMASST_TYPE_M2P_STRICT: u32 = 32;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors() {
        assert_eq!(
            selector_index(FLAT_RING3_CS32),
            FIRST_RESERVED_GDT_ENTRY + 4
        );
        assert_eq!(
            selector_index(FLAT_RING3_SS64),
            FIRST_RESERVED_GDT_ENTRY + 5
        );
        assert_eq!(
            selector_index(FLAT_RING3_CS64),
            FIRST_RESERVED_GDT_ENTRY + 6
        );
        assert_eq!(FLAT_RING3_CS64 & 3, 3);
        assert_eq!(FLAT_KERNEL_CS, 0xe033);
        assert_eq!(FLAT_KERNEL_SS, 0xe02b);
        assert_eq!(FLAT_KERNEL_DS, 0);
        assert_eq!(FLAT_USER_CS32, 0xe023);
        assert_eq!(FIRST_RESERVED_GDT_BYTE, 57344);
        assert_eq!(FIRST_RESERVED_GDT_ENTRY, 7168);
        assert_eq!(selector_index(HYPERVISOR_CS), FIRST_RESERVED_GDT_ENTRY + 1);
        assert_eq!(
            selector_index(HYPERVISOR_DS32),
            FIRST_RESERVED_GDT_ENTRY + 2
        );
        assert_eq!(HYPERVISOR_CS & 3, 0);
    }

    #[test]
    fn layout_constants() {
        assert_eq!(HYPERVISOR_VIRT_START >> 39 & 0x1ff, 256);
        assert_eq!((HYPERVISOR_VIRT_END - 1) >> 39 & 0x1ff, 271);
        assert_eq!(MACH2PHYS_NR_ENTRIES, 1 << 35);
        assert_eq!(xen_pfn_to_cr3(0x1234), 0x123_4000);
        assert_eq!(xen_cr3_to_pfn(0x123_4000), 0x1234);
    }

    #[test]
    fn trap_info_layout() {
        check_layout!(TrapInfo, 16, { vector @ 0, flags @ 1, cs @ 2, address @ 8 });
        let t = TrapInfo {
            flags: 3 | TI_SET_IF,
            ..Default::default()
        };
        assert_eq!(t.dpl(), 3);
        assert!(t.masks_events());
    }

    #[test]
    fn callback_layout() {
        check_layout!(CallbackRegister, 16, { ty @ 0, flags @ 2, address @ 8 });
        check_layout!(CallbackUnregister, 4, { ty @ 0, _unused @ 2 });
    }

    #[test]
    fn iret_context_layout() {
        check_layout!(IretContext, 72, {
            rax @ 0, r11 @ 8, rcx @ 16, flags @ 24, rip @ 32, cs @ 40,
            rflags @ 48, rsp @ 56, ss @ 64,
        });
        assert_eq!(VGCF_IN_SYSCALL, 0x100);
    }

    #[test]
    fn cpu_user_regs_layout() {
        check_layout!(CpuUserRegs, 200, {
            r15 @ 0, r14 @ 8, r13 @ 16, r12 @ 24, rbp @ 32, rbx @ 40,
            r11 @ 48, r10 @ 56, r9 @ 64, r8 @ 72, rax @ 80, rcx @ 88,
            rdx @ 96, rsi @ 104, rdi @ 112, error_code @ 120,
            entry_vector @ 124, rip @ 128, cs @ 136, saved_upcall_mask @ 140,
            rflags @ 144, rsp @ 152, ss @ 160, es @ 168, ds @ 176, fs @ 184,
            gs @ 192,
        });
    }

    #[test]
    fn vcpu_guest_context_layout() {
        check_layout!(VcpuGuestContext, 5168, {
            fpu_ctxt @ 0, flags @ 512, user_regs @ 520, trap_ctxt @ 720,
            ldt_base @ 4816, ldt_ents @ 4824, gdt_frames @ 4832,
            gdt_ents @ 4960, kernel_ss @ 4968, kernel_sp @ 4976,
            ctrlreg @ 4984, debugreg @ 5048, event_callback_eip @ 5112,
            failsafe_callback_eip @ 5120, syscall_callback_eip @ 5128,
            vm_assist @ 5136, fs_base @ 5144, gs_base_kernel @ 5152,
            gs_base_user @ 5160,
        });
        let c = VcpuGuestContext::default();
        assert!(c.as_bytes().iter().all(|&b| b == 0));
    }

    #[test]
    fn vgcf_flags() {
        assert_eq!(VGCF_I387_VALID, 1);
        assert_eq!(VGCF_IN_KERNEL, 4);
        assert_eq!(VGCF_FAILSAFE_DISABLES_EVENTS, 8);
        assert_eq!(VGCF_SYSCALL_DISABLES_EVENTS, 16);
        assert_eq!(VGCF_ONLINE, 32);
    }
}
