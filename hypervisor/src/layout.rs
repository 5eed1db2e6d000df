//! Where the hypervisor lives inside the Xen hole (PML4 slots 256–271), the same in every
//! PV address space. Mirrors Xen's own layout where guests can see it (the M2P at slot 256).
//!
//! ```text
//! slot 256  0xFFFF_8000_0000_0000  read-only M2P, readable by guests (MACH2PHYS_VIRT_START)
//! slot 257  0xFFFF_8080_0000_0000  hypervisor MMIO mappings (local APIC)
//! slot 262  0xFFFF_8300_0000_0000  direct map of machine memory (Xen's direct map starts here too);
//!                                  it grows into 263 when the firmware map reaches past 512 GiB,
//!                                  as QEMU's does (a reserved range near 1 TiB)
//! 263–271   0xFFFF_8380_0000_0000  hypervisor image, stacks, boot info, ramdisk (the bootloader's
//!                                  dynamic range: it gives each of those a whole free slot, so
//!                                  under QEMU the image lands at slot 264)
//! ```

pub const M2P_BASE: u64 = 0xFFFF_8000_0000_0000;
pub const MMIO_BASE: u64 = 0xFFFF_8080_0000_0000;
pub const DYNAMIC_START: u64 = 0xFFFF_8380_0000_0000;
pub const DYNAMIC_END: u64 = 0xFFFF_8800_0000_0000;
pub const DIRECT_MAP_BASE: u64 = 0xFFFF_8300_0000_0000;

/// First PML4 slot of the hole, and how many slots it spans.
pub const HOLE_FIRST_SLOT: usize = 256;
pub const HOLE_SLOTS: usize = 16;
