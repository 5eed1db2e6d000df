//! Hypercall numbers, the multicall entry and the 64-bit PV hypercall page,
//! mirroring `xen/include/public/xen.h` and
//! `xen/include/public/arch-x86/xen-x86_64.h`.
//!
//! Calling convention (64-bit PV): the hypercall number goes in RAX,
//! arguments 1..=5 in RDI, RSI, RDX, R10 and R8, and the result comes back
//! in RAX (negative errno on failure).  The guest kernel enters Xen with
//! `SYSCALL`, normally through the stubs of the hypercall page
//! (`call hypercall_page + nr * 32`).

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Hypercall numbers (`__HYPERVISOR_*`).
pub mod nr {
    /// Install the virtual IDT (`trap_info[]`).
    pub const SET_TRAP_TABLE: u64 = 0;
    /// Batched, checked page-table and M2P updates.
    pub const MMU_UPDATE: u64 = 1;
    /// Install a GDT made of guest frames.
    pub const SET_GDT: u64 = 2;
    /// Set the kernel stack (SS, RSP) used on guest-kernel entry.
    pub const STACK_SWITCH: u64 = 3;
    /// Register event, failsafe and syscall callbacks (64-bit form).
    pub const SET_CALLBACKS: u64 = 4;
    /// Set or clear CR0.TS.
    pub const FPU_TASKSWITCH: u64 = 5;
    /// Old `sched_op` interface (`(cmd, ulong arg)`).
    pub const SCHED_OP_COMPAT: u64 = 6;
    /// Platform (host) operations for the hardware domain.
    pub const PLATFORM_OP: u64 = 7;
    /// Write a debug register.
    pub const SET_DEBUGREG: u64 = 8;
    /// Read a debug register.
    pub const GET_DEBUGREG: u64 = 9;
    /// Update one GDT/LDT descriptor.
    pub const UPDATE_DESCRIPTOR: u64 = 10;
    /// Memory reservation and physmap operations (`XENMEM_*`).
    pub const MEMORY_OP: u64 = 12;
    /// Execute a batch of hypercalls.
    pub const MULTICALL: u64 = 13;
    /// Update the PTE mapping one virtual address.
    pub const UPDATE_VA_MAPPING: u64 = 14;
    /// Arm (or cancel) the one-shot timer at an absolute system time.
    pub const SET_TIMER_OP: u64 = 15;
    /// Old event-channel interface.
    pub const EVENT_CHANNEL_OP_COMPAT: u64 = 16;
    /// Version and feature queries (`XENVER_*`).
    pub const XEN_VERSION: u64 = 17;
    /// Hypervisor console read/write (`CONSOLEIO_*`).
    pub const CONSOLE_IO: u64 = 18;
    /// Old physdev interface.
    pub const PHYSDEV_OP_COMPAT: u64 = 19;
    /// Grant-table operations (`GNTTABOP_*`).
    pub const GRANT_TABLE_OP: u64 = 20;
    /// Enable or disable a VM assist (`VMASST_*`).
    pub const VM_ASSIST: u64 = 21;
    /// `update_va_mapping` on behalf of another domain.
    pub const UPDATE_VA_MAPPING_OTHERDOMAIN: u64 = 22;
    /// Return from a guest-kernel exception/event frame (x86 only).
    pub const IRET: u64 = 23;
    /// Per-vCPU operations (`VCPUOP_*`).
    pub const VCPU_OP: u64 = 24;
    /// Set the FS/GS bases (x86-64 only).
    pub const SET_SEGMENT_BASE: u64 = 25;
    /// Extended MMU operations (`MMUEXT_*`).
    pub const MMUEXT_OP: u64 = 26;
    /// XSM/FLASK operations.
    pub const XSM_OP: u64 = 27;
    /// NMI callback management.
    pub const NMI_OP: u64 = 28;
    /// Scheduler operations (`SCHEDOP_*`).
    pub const SCHED_OP: u64 = 29;
    /// Callback registration (`CALLBACKOP_*`).
    pub const CALLBACK_OP: u64 = 30;
    /// Xenoprof profiling (removed from Xen 4.22; number stays reserved).
    pub const XENOPROF_OP: u64 = 31;
    /// Event-channel operations (`EVTCHNOP_*`).
    pub const EVENT_CHANNEL_OP: u64 = 32;
    /// Physical-device operations.
    pub const PHYSDEV_OP: u64 = 33;
    /// HVM operations.
    pub const HVM_OP: u64 = 34;
    /// System control for the toolstack (`XEN_SYSCTL_*`).
    pub const SYSCTL: u64 = 35;
    /// Domain control for the toolstack (`XEN_DOMCTL_*`).
    pub const DOMCTL: u64 = 36;
    /// Kexec operations.
    pub const KEXEC_OP: u64 = 37;
    /// Transcendent memory (removed; number stays reserved).
    pub const TMEM_OP: u64 = 38;
    /// Argo inter-domain communication.
    pub const ARGO_OP: u64 = 39;
    /// Virtual PMU operations.
    pub const XENPMU_OP: u64 = 40;
    /// Device-model operations.
    pub const DM_OP: u64 = 41;
    /// Hypervisor filesystem.
    pub const HYPFS_OP: u64 = 42;
    /// First architecture-specific hypercall.
    pub const ARCH_0: u64 = 48;
    /// Architecture-specific hypercall 1.
    pub const ARCH_1: u64 = 49;
    /// Architecture-specific hypercall 2.
    pub const ARCH_2: u64 = 50;
    /// Architecture-specific hypercall 3.
    pub const ARCH_3: u64 = 51;
    /// Architecture-specific hypercall 4.
    pub const ARCH_4: u64 = 52;
    /// Architecture-specific hypercall 5.
    pub const ARCH_5: u64 = 53;
    /// Architecture-specific hypercall 6.
    pub const ARCH_6: u64 = 54;
    /// Last architecture-specific hypercall.
    pub const ARCH_7: u64 = 55;
}

/// Returns Xen's (lower-case) name for a hypercall number, e.g.
/// `name(1) == Some("mmu_update")`.  Unassigned numbers give `None`.
pub fn name(nr: u64) -> Option<&'static str> {
    Some(match nr {
        nr::SET_TRAP_TABLE => "set_trap_table",
        nr::MMU_UPDATE => "mmu_update",
        nr::SET_GDT => "set_gdt",
        nr::STACK_SWITCH => "stack_switch",
        nr::SET_CALLBACKS => "set_callbacks",
        nr::FPU_TASKSWITCH => "fpu_taskswitch",
        nr::SCHED_OP_COMPAT => "sched_op_compat",
        nr::PLATFORM_OP => "platform_op",
        nr::SET_DEBUGREG => "set_debugreg",
        nr::GET_DEBUGREG => "get_debugreg",
        nr::UPDATE_DESCRIPTOR => "update_descriptor",
        nr::MEMORY_OP => "memory_op",
        nr::MULTICALL => "multicall",
        nr::UPDATE_VA_MAPPING => "update_va_mapping",
        nr::SET_TIMER_OP => "set_timer_op",
        nr::EVENT_CHANNEL_OP_COMPAT => "event_channel_op_compat",
        nr::XEN_VERSION => "xen_version",
        nr::CONSOLE_IO => "console_io",
        nr::PHYSDEV_OP_COMPAT => "physdev_op_compat",
        nr::GRANT_TABLE_OP => "grant_table_op",
        nr::VM_ASSIST => "vm_assist",
        nr::UPDATE_VA_MAPPING_OTHERDOMAIN => "update_va_mapping_otherdomain",
        nr::IRET => "iret",
        nr::VCPU_OP => "vcpu_op",
        nr::SET_SEGMENT_BASE => "set_segment_base",
        nr::MMUEXT_OP => "mmuext_op",
        nr::XSM_OP => "xsm_op",
        nr::NMI_OP => "nmi_op",
        nr::SCHED_OP => "sched_op",
        nr::CALLBACK_OP => "callback_op",
        nr::XENOPROF_OP => "xenoprof_op",
        nr::EVENT_CHANNEL_OP => "event_channel_op",
        nr::PHYSDEV_OP => "physdev_op",
        nr::HVM_OP => "hvm_op",
        nr::SYSCTL => "sysctl",
        nr::DOMCTL => "domctl",
        nr::KEXEC_OP => "kexec_op",
        nr::TMEM_OP => "tmem_op",
        nr::ARGO_OP => "argo_op",
        nr::XENPMU_OP => "xenpmu_op",
        nr::DM_OP => "dm_op",
        nr::HYPFS_OP => "hypfs_op",
        nr::ARCH_0 => "arch_0",
        nr::ARCH_1 => "arch_1",
        nr::ARCH_2 => "arch_2",
        nr::ARCH_3 => "arch_3",
        nr::ARCH_4 => "arch_4",
        nr::ARCH_5 => "arch_5",
        nr::ARCH_6 => "arch_6",
        nr::ARCH_7 => "arch_7",
        _ => return None,
    })
}

/// Number of 32-byte stubs in the 4 KiB hypercall page.
pub const HYPERCALL_PAGE_SLOTS: usize = 128;

/// Size of one hypercall-page stub; stub `n` lives at byte `n * 32`.
pub const HYPERCALL_STUB_SIZE: usize = 32;

/// Filler byte for the unused tail of every stub (`int3`).
pub const HYPERCALL_STUB_FILL: u8 = 0xcc;

/// Returns the 32-byte stub that Xen writes into hypercall-page slot `slot`
/// for a 64-bit PV guest.
///
/// An ordinary slot is `push %rcx; push %r11; mov $slot,%eax; syscall;
/// pop %r11; pop %rcx; ret` (14 bytes).  The `iret` slot (23) instead pushes
/// RAX as well and does not return: `push %rcx; push %r11; push %rax;
/// mov $23,%eax; syscall` (11 bytes); guests jump to it.  The remaining
/// bytes are `int3`.
pub fn hypercall_stub(slot: u32) -> [u8; HYPERCALL_STUB_SIZE] {
    let mut s = [HYPERCALL_STUB_FILL; HYPERCALL_STUB_SIZE];
    let imm = slot.to_le_bytes();
    if u64::from(slot) == nr::IRET {
        // push %rcx; push %r11; push %rax
        s[..4].copy_from_slice(&[0x51, 0x41, 0x53, 0x50]);
        // mov $imm32,%eax
        s[4] = 0xb8;
        s[5..9].copy_from_slice(&imm);
        // syscall
        s[9..11].copy_from_slice(&[0x0f, 0x05]);
    } else {
        // push %rcx; push %r11
        s[..3].copy_from_slice(&[0x51, 0x41, 0x53]);
        // mov $imm32,%eax
        s[3] = 0xb8;
        s[4..8].copy_from_slice(&imm);
        // syscall; pop %r11; pop %rcx; ret
        s[8..14].copy_from_slice(&[0x0f, 0x05, 0x41, 0x5b, 0x59, 0xc3]);
    }
    s
}

/// Fills a hypercall page exactly as Xen does for a 64-bit PV guest: every
/// one of the [`HYPERCALL_PAGE_SLOTS`] slots gets the stub from
/// [`hypercall_stub`], and all unused bytes are `0xcc`.
pub fn fill_hypercall_page(page: &mut [u8; 4096]) {
    for (slot, chunk) in page.chunks_exact_mut(HYPERCALL_STUB_SIZE).enumerate() {
        chunk.copy_from_slice(&hypercall_stub(slot as u32));
    }
}

/// One entry of a `multicall` batch (C `struct multicall_entry`, 64 B).
///
/// Xen runs `op` with `args` and stores the return value in `result`.  Only
/// the first five arguments are used on x86-64.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct MulticallEntry {
    /// Hypercall number.
    pub op: u64,
    /// OUT: the hypercall's return value.
    pub result: u64,
    /// Hypercall arguments.
    pub args: [u64; 6],
}

const _: () = assert!(core::mem::size_of::<MulticallEntry>() == 64);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(name(0), Some("set_trap_table"));
        assert_eq!(name(nr::MMU_UPDATE), Some("mmu_update"));
        assert_eq!(name(11), None);
        assert_eq!(name(23), Some("iret"));
        assert_eq!(name(42), Some("hypfs_op"));
        assert_eq!(name(43), None);
        assert_eq!(name(55), Some("arch_7"));
        assert_eq!(name(56), None);
        assert_eq!(name(u64::MAX), None);
        let named = (0..HYPERCALL_PAGE_SLOTS as u64).filter(|&n| name(n).is_some());
        assert_eq!(named.count(), 42 + 8);
    }

    #[test]
    fn numbers() {
        assert_eq!(nr::PLATFORM_OP, 7);
        assert_eq!(nr::MEMORY_OP, 12);
        assert_eq!(nr::XEN_VERSION, 17);
        assert_eq!(nr::VCPU_OP, 24);
        assert_eq!(nr::SCHED_OP, 29);
        assert_eq!(nr::EVENT_CHANNEL_OP, 32);
        assert_eq!(nr::SYSCTL, 35);
        assert_eq!(nr::DOMCTL, 36);
    }

    #[test]
    fn page_slot_0() {
        let mut page = [0u8; 4096];
        fill_hypercall_page(&mut page);
        let expected: [u8; 32] = [
            0x51, // push %rcx
            0x41, 0x53, // push %r11
            0xb8, 0x00, 0x00, 0x00, 0x00, // mov $0,%eax
            0x0f, 0x05, // syscall
            0x41, 0x5b, // pop %r11
            0x59, // pop %rcx
            0xc3, // ret
            0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc,
            0xcc, 0xcc, 0xcc, 0xcc,
        ];
        assert_eq!(page[..32], expected);
    }

    #[test]
    fn page_slot_23_iret() {
        let mut page = [0u8; 4096];
        fill_hypercall_page(&mut page);
        let expected: [u8; 32] = [
            0x51, // push %rcx
            0x41, 0x53, // push %r11
            0x50, // push %rax
            0xb8, 0x17, 0x00, 0x00, 0x00, // mov $23,%eax
            0x0f, 0x05, // syscall
            0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc,
            0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc,
        ];
        assert_eq!(page[23 * 32..24 * 32], expected);
    }

    #[test]
    fn page_other_slots() {
        let mut page = [0u8; 4096];
        fill_hypercall_page(&mut page);
        // Slot 127 encodes its own number in the immediate.
        let s = &page[127 * 32..128 * 32];
        assert_eq!(s[..8], [0x51, 0x41, 0x53, 0xb8, 127, 0, 0, 0]);
        assert_eq!(s[13], 0xc3);
        assert!(s[14..].iter().all(|&b| b == 0xcc));
        // Slot 1 (mmu_update).
        assert_eq!(page[32 + 4], 1);
        assert_eq!(hypercall_stub(1)[..], page[32..64]);
    }

    #[test]
    fn multicall_layout() {
        check_layout!(MulticallEntry, 64, { op @ 0, result @ 8, args @ 16 });
    }
}
