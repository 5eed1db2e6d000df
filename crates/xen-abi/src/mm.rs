//! Memory management: `mmu_update`, `mmuext_op`, `update_va_mapping`
//! flags, PTE bits and `memory_op` (`XENMEM_*`).
//!
//! Mirrors `xen/include/public/xen.h` (MMU and MMUEXT parts) and
//! `xen/include/public/memory.h`.  The PTE bit definitions follow the x86
//! architecture as used by Xen (`xen/arch/x86/include/asm/page.h`,
//! `PADDR_BITS = 52`), and the E820 entry follows
//! `xen/arch/x86/include/asm/e820.h`.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::domid::DomId;

// ---------------------------------------------------------------------------
// mmu_update
// ---------------------------------------------------------------------------

/// `ptr[1:0]`: checked `*ptr = val`, `ptr` being the PTE's machine address.
pub const MMU_NORMAL_PT_UPDATE: u64 = 0;
/// `ptr[1:0]`: set the M2P entry of the frame containing `ptr` to `val`.
pub const MMU_MACHPHYS_UPDATE: u64 = 1;
/// `ptr[1:0]`: like [`MMU_NORMAL_PT_UPDATE`] but keeps the PTE's current
/// accessed/dirty bits.
pub const MMU_PT_UPDATE_PRESERVE_AD: u64 = 2;
/// `ptr[1:0]`: like [`MMU_NORMAL_PT_UPDATE`] with `ptr` taken as a machine
/// address even for translated guests.
pub const MMU_PT_UPDATE_NO_TRANSLATE: u64 = 3;
/// Mask of the command bits in [`MmuUpdate::ptr`].
pub const MMU_UPDATE_CMD_MASK: u64 = 3;

/// One `mmu_update` request (C `struct mmu_update`, 16 B).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct MmuUpdate {
    /// Machine address (bits 2..) plus the `MMU_*` command (bits 0..=1).
    pub ptr: u64,
    /// New PTE value, or the PFN for [`MMU_MACHPHYS_UPDATE`].
    pub val: u64,
}

impl MmuUpdate {
    /// The `MMU_*` command encoded in `ptr`.
    pub const fn cmd(&self) -> u64 {
        self.ptr & MMU_UPDATE_CMD_MASK
    }

    /// The address part of `ptr`.
    pub const fn addr(&self) -> u64 {
        self.ptr & !MMU_UPDATE_CMD_MASK
    }
}

// ---------------------------------------------------------------------------
// mmuext_op
// ---------------------------------------------------------------------------

/// Pin a frame as an L1 table.
pub const MMUEXT_PIN_L1_TABLE: u32 = 0;
/// Pin a frame as an L2 table.
pub const MMUEXT_PIN_L2_TABLE: u32 = 1;
/// Pin a frame as an L3 table.
pub const MMUEXT_PIN_L3_TABLE: u32 = 2;
/// Pin a frame as an L4 table.
pub const MMUEXT_PIN_L4_TABLE: u32 = 3;
/// Unpin a page-table frame.
pub const MMUEXT_UNPIN_TABLE: u32 = 4;
/// Install a new (kernel) root page table.
pub const MMUEXT_NEW_BASEPTR: u32 = 5;
/// Flush the local TLB.
pub const MMUEXT_TLB_FLUSH_LOCAL: u32 = 6;
/// Invalidate one address in the local TLB.
pub const MMUEXT_INVLPG_LOCAL: u32 = 7;
/// Flush the TLBs of a set of vCPUs.
pub const MMUEXT_TLB_FLUSH_MULTI: u32 = 8;
/// Invalidate one address on a set of vCPUs.
pub const MMUEXT_INVLPG_MULTI: u32 = 9;
/// Flush the TLBs of all vCPUs.
pub const MMUEXT_TLB_FLUSH_ALL: u32 = 10;
/// Invalidate one address on all vCPUs.
pub const MMUEXT_INVLPG_ALL: u32 = 11;
/// Write back and invalidate the local cache.
pub const MMUEXT_FLUSH_CACHE: u32 = 12;
/// Set the LDT (base address and entry count).
pub const MMUEXT_SET_LDT: u32 = 13;
/// Install the user-mode root page table (x86-64 only).
pub const MMUEXT_NEW_USER_BASEPTR: u32 = 15;
/// Zero a frame.
pub const MMUEXT_CLEAR_PAGE: u32 = 16;
/// Copy one frame to another.
pub const MMUEXT_COPY_PAGE: u32 = 17;
/// Write back and invalidate caches on all CPUs.
pub const MMUEXT_FLUSH_CACHE_GLOBAL: u32 = 18;
/// Mark a superpage.
pub const MMUEXT_MARK_SUPER: u32 = 19;
/// Unmark a superpage.
pub const MMUEXT_UNMARK_SUPER: u32 = 20;

/// One `mmuext_op` request (C `struct mmuext_op`, 24 B).
///
/// `arg1` is an MFN or a linear address, `arg2` an entry count, a guest
/// handle to a vCPU bitmap, or a source MFN, depending on `cmd`.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct MmuextOp {
    /// `MMUEXT_*` command.
    pub cmd: u32,
    /// Padding.
    pub _pad: u32,
    /// `mfn` or `linear_addr`.
    pub arg1: u64,
    /// `nr_ents`, `vcpumask` (guest handle) or `src_mfn`.
    pub arg2: u64,
}

// ---------------------------------------------------------------------------
// update_va_mapping flags
// ---------------------------------------------------------------------------

/// No TLB flush.
pub const UVMF_NONE: u64 = 0;
/// Flush the whole TLB(s).
pub const UVMF_TLB_FLUSH: u64 = 1;
/// Flush only the updated entry.
pub const UVMF_INVLPG: u64 = 2;
/// Mask of the flush-type bits.
pub const UVMF_FLUSHTYPE_MASK: u64 = 3;
/// Flush a subset of TLBs; OR in a pointer to a vCPU bitmap.
pub const UVMF_MULTI: u64 = 0;
/// Flush the local TLB (`UVMF_MULTI` with a NULL bitmap).
pub const UVMF_LOCAL: u64 = 0;
/// Flush all vCPUs' TLBs.
pub const UVMF_ALL: u64 = 1 << 2;

// ---------------------------------------------------------------------------
// Page-table entries
// ---------------------------------------------------------------------------

/// Physical address width of x86-64 page-table entries.
pub const PADDR_BITS: u32 = 52;
/// Present.
pub const PAGE_PRESENT: u64 = 1 << 0;
/// Writable.
pub const PAGE_RW: u64 = 1 << 1;
/// User accessible.
pub const PAGE_USER: u64 = 1 << 2;
/// Write-through.
pub const PAGE_PWT: u64 = 1 << 3;
/// Cache disable.
pub const PAGE_PCD: u64 = 1 << 4;
/// Accessed.
pub const PAGE_ACCESSED: u64 = 1 << 5;
/// Dirty.
pub const PAGE_DIRTY: u64 = 1 << 6;
/// Large page (in L2/L3 entries).  PV guests may not set it; Xen uses
/// `MMUEXT_MARK_SUPER` instead.
pub const PAGE_PSE: u64 = 1 << 7;
/// PAT bit of an L1 entry (same bit as [`PAGE_PSE`]).
pub const PAGE_PAT: u64 = 1 << 7;
/// Global.
pub const PAGE_GLOBAL: u64 = 1 << 8;
/// First software-available bit.
pub const PAGE_AVAIL0: u64 = 1 << 9;
/// Second software-available bit.
pub const PAGE_AVAIL1: u64 = 1 << 10;
/// Third software-available bit.
pub const PAGE_AVAIL2: u64 = 1 << 11;
/// Software-available bits 9..=11.
pub const PAGE_AVAIL: u64 = PAGE_AVAIL0 | PAGE_AVAIL1 | PAGE_AVAIL2;
/// Software-available high bits 52..=62.
pub const PAGE_AVAIL_HIGH: u64 = 0x7ff << 52;
/// No-execute.
pub const PAGE_NX: u64 = 1 << 63;
/// Frame-address bits 12..=51 of a PTE.
pub const PTE_MFN_MASK: u64 = ((1 << PADDR_BITS) - 1) & !0xfff;
/// Flag bits of a PTE (everything but the frame address).
pub const PTE_FLAGS_MASK: u64 = !PTE_MFN_MASK;

/// The frame number a PTE points at.
pub const fn pte_mfn(pte: u64) -> u64 {
    (pte & PTE_MFN_MASK) >> 12
}

/// Builds a PTE from a frame number and flag bits.
pub const fn make_pte(mfn: u64, flags: u64) -> u64 {
    ((mfn << 12) & PTE_MFN_MASK) | (flags & PTE_FLAGS_MASK)
}

// ---------------------------------------------------------------------------
// memory_op
// ---------------------------------------------------------------------------

/// Bits of the `memory_op` command word that hold the sub-command; the
/// bits above [`MEMOP_EXTENT_SHIFT`] carry the restart point of a
/// preempted call (Xen-internal, `xen/include/xen/hypercall.h`).
pub const MEMOP_CMD_MASK: u64 = 0x3f;
/// Shift of the continuation extent index in the `memory_op` command word.
pub const MEMOP_EXTENT_SHIFT: u32 = 6;

/// Allocate extents (returns MFNs).
pub const XENMEM_INCREASE_RESERVATION: u32 = 0;
/// Free extents given by GMFN.
pub const XENMEM_DECREASE_RESERVATION: u32 = 1;
/// Highest MFN of mapped RAM.
pub const XENMEM_MAXIMUM_RAM_PAGE: u32 = 2;
/// Current reservation of a domain, in pages.
pub const XENMEM_CURRENT_RESERVATION: u32 = 3;
/// Maximum reservation of a domain, in pages.
pub const XENMEM_MAXIMUM_RESERVATION: u32 = 4;
/// MFNs of the 2 MiB extents backing the M2P table.
pub const XENMEM_MACHPHYS_MFN_LIST: u32 = 5;
/// Populate GPFNs with memory.
pub const XENMEM_POPULATE_PHYSMAP: u32 = 6;
/// Map a page of some space into the physmap (translated guests).
pub const XENMEM_ADD_TO_PHYSMAP: u32 = 7;
/// The domain's pseudo-physical E820 map.
pub const XENMEM_MEMORY_MAP: u32 = 9;
/// The host's machine E820 map.
pub const XENMEM_MACHINE_MEMORY_MAP: u32 = 10;
/// Atomically exchange extents.
pub const XENMEM_EXCHANGE: u32 = 11;
/// Where the M2P table is mapped ([`XenMachphysMapping`]).
pub const XENMEM_MACHPHYS_MAPPING: u32 = 12;
/// Set a domain's pseudo-physical E820 map.
pub const XENMEM_SET_MEMORY_MAP: u32 = 13;
/// Highest GPFN of a domain.
pub const XENMEM_MAXIMUM_GPFN: u32 = 14;
/// Remove a page from the physmap.
pub const XENMEM_REMOVE_FROM_PHYSMAP: u32 = 15;
/// Set the populate-on-demand target.
pub const XENMEM_SET_POD_TARGET: u32 = 16;
/// Get the populate-on-demand target.
pub const XENMEM_GET_POD_TARGET: u32 = 17;
/// Pages freed by memory sharing.
pub const XENMEM_GET_SHARING_FREED_PAGES: u32 = 18;
/// Pages currently shared.
pub const XENMEM_GET_SHARING_SHARED_PAGES: u32 = 19;
/// Memory paging operations.
pub const XENMEM_PAGING_OP: u32 = 20;
/// Memory access-permission operations.
pub const XENMEM_ACCESS_OP: u32 = 21;
/// Memory sharing operations.
pub const XENMEM_SHARING_OP: u32 = 22;
/// Batched add-to-physmap.
pub const XENMEM_ADD_TO_PHYSMAP_BATCH: u32 = 23;
/// Stake a claim on a quantity of free pages.
pub const XENMEM_CLAIM_PAGES: u32 = 24;
/// MFNs of the compat M2P table.
pub const XENMEM_MACHPHYS_COMPAT_MFN_LIST: u32 = 25;
/// Virtual NUMA topology.
pub const XENMEM_GET_VNUMAINFO: u32 = 26;
/// Reserved device-memory regions.
pub const XENMEM_RESERVED_DEVICE_MEMORY_MAP: u32 = 27;
/// Map resources (grant tables, ioreq pages, ...) of a domain.
pub const XENMEM_ACQUIRE_RESOURCE: u32 = 28;

/// `mem_flags`: limit allocations to `bits` address bits.
pub const fn xenmemf_address_bits(bits: u32) -> u32 {
    bits
}
/// `mem_flags`: extract the address-bits limit.
pub const fn xenmemf_get_address_bits(flags: u32) -> u32 {
    flags & 0xff
}
/// `mem_flags`: allocate on NUMA node `node`.
pub const fn xenmemf_node(node: u32) -> u32 {
    (node + 1) << 8
}
/// `mem_flags`: mark the range populate-on-demand.
pub const XENMEMF_POPULATE_ON_DEMAND: u32 = 1 << 16;
/// `mem_flags`: fail rather than fall back to another node.
pub const XENMEMF_EXACT_NODE_REQUEST: u32 = 1 << 17;
/// `mem_flags`: the node is a virtual node.
pub const XENMEMF_VNODE: u32 = 1 << 18;

/// `XENMEM_add_to_physmap` space: the shared-info page.
pub const XENMAPSPACE_SHARED_INFO: u32 = 0;
/// `XENMEM_add_to_physmap` space: a grant-table frame.
pub const XENMAPSPACE_GRANT_TABLE: u32 = 1;
/// `XENMEM_add_to_physmap` space: a GMFN.
pub const XENMAPSPACE_GMFN: u32 = 2;
/// `XENMEM_add_to_physmap` space: a range of GMFNs.
pub const XENMAPSPACE_GMFN_RANGE: u32 = 3;
/// `XENMEM_add_to_physmap_batch` space: a foreign domain's GMFN.
pub const XENMAPSPACE_GMFN_FOREIGN: u32 = 4;
/// `XENMEM_add_to_physmap_batch` space: device MMIO.
pub const XENMAPSPACE_DEV_MMIO: u32 = 5;

/// Argument of `XENMEM_{increase,decrease}_reservation` and
/// `XENMEM_populate_physmap` (C `struct xen_memory_reservation`, 32 B).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct XenMemoryReservation {
    /// Guest handle to the array of extent bases (MFNs/GMFNs/GPFNs).
    pub extent_start: u64,
    /// Number of extents.
    pub nr_extents: u64,
    /// Each extent is `2^extent_order` pages.
    pub extent_order: u32,
    /// `XENMEMF_*` flags (historically `address_bits`).
    pub mem_flags: u32,
    /// Target domain (`DOMID_SELF` for unprivileged callers).
    pub domid: DomId,
    /// Padding.
    pub _pad: [u8; 6],
}

/// Argument of `XENMEM_machphys_mfn_list`
/// (C `struct xen_machphys_mfn_list`, 24 B).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct XenMachphysMfnList {
    /// Capacity of the `extent_start` array.
    pub max_extents: u32,
    /// Padding.
    pub _pad0: u32,
    /// Guest handle to the output array of MFNs.
    pub extent_start: u64,
    /// OUT: number of entries written.
    pub nr_extents: u32,
    /// Padding.
    pub _pad1: u32,
}

/// Result of `XENMEM_machphys_mapping`
/// (C `struct xen_machphys_mapping`, 24 B).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct XenMachphysMapping {
    /// Start virtual address of the M2P table.
    pub v_start: u64,
    /// End virtual address of the M2P table.
    pub v_end: u64,
    /// Highest MFN that can be looked up.
    pub max_mfn: u64,
}

/// Argument of `XENMEM_add_to_physmap` (C `struct xen_add_to_physmap`,
/// 24 B).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct XenAddToPhysmap {
    /// Domain whose physmap changes.
    pub domid: DomId,
    /// Number of pages for `XENMAPSPACE_gmfn_range`.
    pub size: u16,
    /// `XENMAPSPACE_*`.
    pub space: u32,
    /// Index into the space.
    pub idx: u64,
    /// GPFN at which the page should appear.
    pub gpfn: u64,
}

/// Argument of `XENMEM_memory_map` and `XENMEM_machine_memory_map`
/// (C `struct xen_memory_map`, 16 B).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct XenMemoryMap {
    /// IN: capacity of `buffer` in entries; OUT: entries written.
    pub nr_entries: u32,
    /// Padding.
    pub _pad: u32,
    /// Guest handle to an array of [`E820Entry`].
    pub buffer: u64,
}

/// Argument of `XENMEM_set_memory_map`
/// (C `struct xen_foreign_memory_map`, 24 B).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct XenForeignMemoryMap {
    /// Target domain.
    pub domid: DomId,
    /// Padding.
    pub _pad: [u8; 6],
    /// The map.
    pub map: XenMemoryMap,
}

/// E820 type: usable RAM.
pub const E820_RAM: u32 = 1;
/// E820 type: reserved.
pub const E820_RESERVED: u32 = 2;
/// E820 type: ACPI tables (reclaimable).
pub const E820_ACPI: u32 = 3;
/// E820 type: ACPI non-volatile storage.
pub const E820_NVS: u32 = 4;
/// E820 type: unusable.
pub const E820_UNUSABLE: u32 = 5;

/// One BIOS-style memory-map entry as returned by `XENMEM_memory_map`
/// (20 B, packed: Xen declares `struct e820entry` `__packed`).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C, packed)]
pub struct E820Entry {
    /// Start address.
    pub addr: u64,
    /// Length in bytes.
    pub size: u64,
    /// `E820_*` type; C field `type`.
    pub ty: u32,
}

impl E820Entry {
    /// A new entry.
    pub const fn new(addr: u64, size: u64, ty: u32) -> Self {
        Self { addr, size, ty }
    }
}

const _: () = assert!(core::mem::size_of::<E820Entry>() == 20);
const _: () = assert!(core::mem::size_of::<XenMemoryReservation>() == 32);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mmu_update_layout() {
        check_layout!(MmuUpdate, 16, { ptr @ 0, val @ 8 });
        let u = MmuUpdate {
            ptr: 0x1234_5000 | MMU_MACHPHYS_UPDATE,
            val: 7,
        };
        assert_eq!(u.cmd(), MMU_MACHPHYS_UPDATE);
        assert_eq!(u.addr(), 0x1234_5000);
    }

    #[test]
    fn mmuext_op_layout() {
        check_layout!(MmuextOp, 24, { cmd @ 0, arg1 @ 8, arg2 @ 16 });
    }

    #[test]
    fn pte_bits() {
        assert_eq!(PAGE_AVAIL, 0xe00);
        assert_eq!(PTE_MFN_MASK, 0x000f_ffff_ffff_f000);
        assert_eq!(PTE_MFN_MASK & PAGE_NX, 0);
        assert_eq!(PTE_MFN_MASK & PAGE_AVAIL_HIGH, 0);
        let pte = make_pte(0xabcde, PAGE_PRESENT | PAGE_RW | PAGE_NX);
        assert_eq!(pte, 0x8000_0000_abcd_e003);
        assert_eq!(pte_mfn(pte), 0xabcde);
        assert_eq!(UVMF_INVLPG | UVMF_ALL, 6);
    }

    #[test]
    fn memory_structs_layout() {
        check_layout!(XenMemoryReservation, 32, {
            extent_start @ 0, nr_extents @ 8, extent_order @ 16,
            mem_flags @ 20, domid @ 24,
        });
        check_layout!(XenMachphysMfnList, 24, {
            max_extents @ 0, extent_start @ 8, nr_extents @ 16,
        });
        check_layout!(XenMachphysMapping, 24, { v_start @ 0, v_end @ 8, max_mfn @ 16 });
        check_layout!(XenAddToPhysmap, 24, {
            domid @ 0, size @ 2, space @ 4, idx @ 8, gpfn @ 16,
        });
        check_layout!(XenMemoryMap, 16, { nr_entries @ 0, buffer @ 8 });
        check_layout!(XenForeignMemoryMap, 24, { domid @ 0, map @ 8 });
        check_layout!(E820Entry, 20, { addr @ 0, size @ 8, ty @ 16 });
        assert_eq!(core::mem::align_of::<E820Entry>(), 1);
        let e = E820Entry::new(0x1000, 0x2000, E820_RAM);
        assert_eq!(e.as_bytes()[16..], 1u32.to_le_bytes());
    }

    #[test]
    fn mem_flags() {
        assert_eq!(xenmemf_node(0), 0x100);
        assert_eq!(
            xenmemf_get_address_bits(xenmemf_address_bits(32) | xenmemf_node(1)),
            32
        );
        assert_eq!(MEMOP_CMD_MASK, (1 << MEMOP_EXTENT_SHIFT) - 1);
    }
}
