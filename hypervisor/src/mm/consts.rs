//! The Xen constants this module tree needs, under Xen's own names.
//!
//! They belong in the `xen-abi` crate; they are kept here, private, until that crate is
//! ready, and will then be replaced by imports from it.
//!
//! Page-table entry bits are given as masks of the full 64-bit entry. (Xen's C code
//! works on a packed 24-bit "flags" form where bits 52-63 are shifted down to bits 12-23;
//! the meaning is the same.)
#![allow(non_upper_case_globals)]

/// Entry is present (`_PAGE_PRESENT`).
pub const _PAGE_PRESENT: u64 = 1 << 0;
/// Writable (`_PAGE_RW`).
pub const _PAGE_RW: u64 = 1 << 1;
/// User accessible (`_PAGE_USER`).
pub const _PAGE_USER: u64 = 1 << 2;
/// Write-through caching (`_PAGE_PWT`).
pub const _PAGE_PWT: u64 = 1 << 3;
/// Cache disable (`_PAGE_PCD`).
pub const _PAGE_PCD: u64 = 1 << 4;
/// Accessed (`_PAGE_ACCESSED`).
pub const _PAGE_ACCESSED: u64 = 1 << 5;
/// Dirty (`_PAGE_DIRTY`).
pub const _PAGE_DIRTY: u64 = 1 << 6;
/// PAT index bit of a 4 KiB (L1) entry (`_PAGE_PAT`).
pub const _PAGE_PAT: u64 = 1 << 7;
/// Large page in an L2/L3 entry (`_PAGE_PSE`); same bit as `_PAGE_PAT`.
pub const _PAGE_PSE: u64 = 1 << 7;
/// Global mapping (`_PAGE_GLOBAL`).
pub const _PAGE_GLOBAL: u64 = 1 << 8;
/// Software-available bits 9-11 (`_PAGE_AVAIL`).
pub const _PAGE_AVAIL: u64 = 0x7 << 9;
/// Software-available high bits 52-62 (`_PAGE_AVAIL_HIGH`).
pub const _PAGE_AVAIL_HIGH: u64 = 0x7ff << 52;
/// No-execute (`_PAGE_NX`, assuming the CPU has NX).
pub const _PAGE_NX: u64 = 1 << 63;
/// Marks an L1 entry the grant-table code wrote (`_PAGE_GNTTAB`, bit 62 of the entry; one of
/// the high available bits). Guests may never set it, so such an entry always belongs to a
/// grant mapping, whose references the maptrack holds.
pub const _PAGE_GNTTAB: u64 = 1 << 62;

/// Width of a machine address in a page-table entry (`PADDR_BITS`).
pub const PADDR_BITS: u32 = 52;
/// Mask of a machine address (`PADDR_MASK`).
pub const PADDR_MASK: u64 = (1 << PADDR_BITS) - 1;
/// Mask clearing the offset inside a page (`PAGE_MASK`).
pub const PAGE_MASK: u64 = !0xfff;

/// Entries per page-table page at every level (`L1_PAGETABLE_ENTRIES` and friends).
pub const L1_PAGETABLE_ENTRIES: usize = 512;
/// First L4 slot reserved for the hypervisor (`ROOT_PAGETABLE_FIRST_XEN_SLOT`).
pub const ROOT_PAGETABLE_FIRST_XEN_SLOT: usize = 256;
/// Last L4 slot reserved for the hypervisor (`ROOT_PAGETABLE_LAST_XEN_SLOT`).
pub const ROOT_PAGETABLE_LAST_XEN_SLOT: usize = 271;
/// Number of reserved L4 slots in a PV guest's tables (`ROOT_PAGETABLE_PV_XEN_SLOTS`).
pub const ROOT_PAGETABLE_PV_XEN_SLOTS: usize =
    ROOT_PAGETABLE_LAST_XEN_SLOT - ROOT_PAGETABLE_FIRST_XEN_SLOT + 1;
/// Start of the hypervisor's part of every PV address space (`HYPERVISOR_VIRT_START`).
pub const HYPERVISOR_VIRT_START: u64 = 0xffff_8000_0000_0000;
/// End (exclusive) of the hypervisor's part (`HYPERVISOR_VIRT_END`).
pub const HYPERVISOR_VIRT_END: u64 = 0xffff_8800_0000_0000;

/// Bits a 64-bit PV guest may set in an entry of any level, besides the frame address
/// (Xen's `base_disallow_mask` is the complement, set up in `arch_init_memory`).
pub const BASE_ALLOWED: u64 = _PAGE_PRESENT
    | _PAGE_RW
    | _PAGE_USER
    | _PAGE_ACCESSED
    | _PAGE_DIRTY
    | _PAGE_AVAIL
    | _PAGE_AVAIL_HIGH
    | _PAGE_NX;
/// Flag bits refused in L2, L3 and L4 entries (`L2_DISALLOW_MASK` = `L4_DISALLOW_MASK`
/// = `base_disallow_mask`): PWT, PCD, PSE and G.
pub const BASE_DISALLOW_MASK: u64 = !BASE_ALLOWED & !(PADDR_MASK & PAGE_MASK);
/// Flag bits refused in L1 entries of a guest without I/O memory (`l1_disallow_mask`):
/// the base set minus G, plus the grant mark (Xen's `L1_DISALLOW_MASK`), so PWT, PCD, PAT
/// and `_PAGE_GNTTAB`.
pub const L1_DISALLOW_MASK: u64 = (BASE_DISALLOW_MASK | _PAGE_GNTTAB) & !_PAGE_GLOBAL;
/// Bits a guest may change in a present entry without the entry being re-validated
/// (`FASTPATH_FLAG_WHITELIST` in `mm.c`).
pub const FASTPATH_FLAG_WHITELIST: u64 = _PAGE_NX
    | _PAGE_AVAIL_HIGH
    | _PAGE_AVAIL
    | _PAGE_GLOBAL
    | _PAGE_DIRTY
    | _PAGE_ACCESSED
    | _PAGE_USER;

const _: () = assert!(BASE_DISALLOW_MASK == _PAGE_PWT | _PAGE_PCD | _PAGE_PSE | _PAGE_GLOBAL);
const _: () = assert!(L1_DISALLOW_MASK == _PAGE_PAT | _PAGE_PCD | _PAGE_PWT | _PAGE_GNTTAB);
