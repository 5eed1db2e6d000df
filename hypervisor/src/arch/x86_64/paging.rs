//! The hypervisor's view of machine memory: the direct map (every frame at
//! `DIRECT_MAP_BASE + address`), the master page table whose hole slots every PV address
//! space shares, and mappings the hypervisor makes for itself (MMIO, the M2P).

use crate::layout::{DIRECT_MAP_BASE, HOLE_FIRST_SLOT, HOLE_SLOTS};
use crate::mm::addr::Mfn;
use crate::mm::frame_alloc::FrameAllocator;
use crate::mm::pagetable::FrameMemory;
use x86_64::registers::control::{Cr3, Cr3Flags};
use x86_64::structures::paging::PhysFrame;
use x86_64::PhysAddr;

pub const PTE_PRESENT: u64 = 1 << 0;
pub const PTE_RW: u64 = 1 << 1;
pub const PTE_USER: u64 = 1 << 2;
pub const PTE_PWT: u64 = 1 << 3;
pub const PTE_PCD: u64 = 1 << 4;
pub const PTE_NX: u64 = 1 << 63;
pub const PTE_ADDR_MASK: u64 = 0x000f_ffff_ffff_f000;

/// Frame contents through the direct map. Zero-sized: every access is computed from the MFN.
pub struct DirectMap;

impl DirectMap {
    /// Hypervisor virtual address of byte `offset` of frame `mfn`.
    pub fn virt(mfn: Mfn, offset: usize) -> *mut u8 {
        (DIRECT_MAP_BASE + mfn.addr() + offset as u64) as *mut u8
    }

    /// Fill a frame with zeroes.
    pub fn zero(mfn: Mfn) {
        // `rep stosq`: 512 stores per page. The soft-float target's memset works byte by byte,
        // which made zeroing Dom0's memory most of the boot time.
        // SAFETY: the direct map covers every machine frame the allocator hands out, and the
        // caller owns `mfn` (a freshly allocated or hypervisor-held frame); the asm writes
        // exactly that page and declares the registers it uses.
        unsafe {
            core::arch::asm!(
                "rep stosq",
                inout("rdi") Self::virt(mfn, 0) => _,
                inout("rcx") 512u64 => _,
                in("rax") 0u64,
                options(nostack, preserves_flags)
            );
        }
    }
}

impl FrameMemory for DirectMap {
    fn read_entry(&self, mfn: Mfn, index: usize) -> u64 {
        assert!(index < 512);
        // SAFETY: in-bounds, 8-byte-aligned slot of a mapped frame; guest-shared frames may
        // change under us, so the read is volatile and used once by the caller.
        unsafe { core::ptr::read_volatile(Self::virt(mfn, index * 8) as *const u64) }
    }

    fn write_entry(&mut self, mfn: Mfn, index: usize, value: u64) {
        assert!(index < 512);
        // SAFETY: as in `read_entry`; the page-table engine decides what may be written.
        unsafe { core::ptr::write_volatile(Self::virt(mfn, index * 8) as *mut u64, value) }
    }

    fn read_bytes(&self, mfn: Mfn, offset: usize, buf: &mut [u8]) {
        assert!(offset + buf.len() <= 4096);
        // SAFETY: the range lies inside one mapped frame; the copy tolerates concurrent change.
        unsafe { core::ptr::copy_nonoverlapping(Self::virt(mfn, offset), buf.as_mut_ptr(), buf.len()) }
    }

    fn write_bytes(&mut self, mfn: Mfn, offset: usize, buf: &[u8]) {
        assert!(offset + buf.len() <= 4096);
        // SAFETY: as in `read_bytes`.
        unsafe { core::ptr::copy_nonoverlapping(buf.as_ptr(), Self::virt(mfn, offset), buf.len()) }
    }

    fn copy_bytes(&mut self, src: Mfn, src_offset: usize, dst: Mfn, dst_offset: usize, len: usize) {
        assert!(src_offset + len <= 4096 && dst_offset + len <= 4096);
        // SAFETY: both ranges lie inside mapped frames of the direct map; `copy` is memmove, so
        // overlapping ranges of one frame are fine, and the copy tolerates concurrent change.
        unsafe { core::ptr::copy(Self::virt(src, src_offset), Self::virt(dst, dst_offset), len) }
    }
}

/// Build the hypervisor's own L4: only the hole slots of the bootloader's table (which map the
/// image, stacks, boot info and direct map), each backed by an L3 so later hypervisor mappings
/// appear in every address space that copies these 16 entries. Switches CR3 to it and returns
/// the new L4.
pub fn init(alloc: &mut FrameAllocator) -> Mfn {
    let (boot_l4, _) = Cr3::read();
    let boot_l4 = Mfn(boot_l4.start_address().as_u64() >> 12);
    let l4 = alloc.alloc().expect("no memory for the hypervisor page table");
    DirectMap::zero(l4);
    let mut mem = DirectMap;
    for i in 0..HOLE_SLOTS {
        let mut entry = mem.read_entry(boot_l4, HOLE_FIRST_SLOT + i);
        if entry & PTE_PRESENT == 0 {
            let l3 = alloc.alloc().expect("no memory for hypervisor L3 tables");
            DirectMap::zero(l3);
            entry = l3.addr() | PTE_PRESENT | PTE_RW;
        }
        mem.write_entry(l4, HOLE_FIRST_SLOT + i, entry);
    }
    // SAFETY: the new L4 maps everything the hypervisor uses (all of it lives in the hole),
    // and nothing in the lower half is referenced after the switch.
    unsafe { Cr3::write(PhysFrame::containing_address(PhysAddr::new(l4.addr())), Cr3Flags::empty()) };
    l4
}

/// The 16 hole entries of the master table, as every guest L4 receives them. Read once the
/// hypervisor's own mappings are in place (the M2P slot gains its user bit when mapped).
pub fn hole_slots(l4: Mfn) -> [u64; HOLE_SLOTS] {
    let mem = DirectMap;
    core::array::from_fn(|i| mem.read_entry(l4, HOLE_FIRST_SLOT + i))
}

/// Map one 4 KiB page of the hole at `va` to machine address `phys` in the master table
/// `l4`. Intermediate tables get `parent_flags` (add `PTE_USER` for the guest-readable M2P).
pub fn map_page(alloc: &mut FrameAllocator, l4: Mfn, va: u64, phys: u64, flags: u64, parent_flags: u64) {
    let mut mem = DirectMap;
    let mut table = l4;
    for level in (1..4).rev() {
        let index = ((va >> (12 + 9 * level)) & 0x1ff) as usize;
        let mut entry = mem.read_entry(table, index);
        if entry & PTE_PRESENT == 0 {
            let next = alloc.alloc().expect("no memory for hypervisor page tables");
            DirectMap::zero(next);
            entry = next.addr() | PTE_PRESENT | PTE_RW | parent_flags;
            mem.write_entry(table, index, entry);
        } else if entry & parent_flags != parent_flags {
            entry |= parent_flags;
            mem.write_entry(table, index, entry);
        }
        table = Mfn((entry & PTE_ADDR_MASK) >> 12);
    }
    let index = ((va >> 12) & 0x1ff) as usize;
    mem.write_entry(table, index, (phys & PTE_ADDR_MASK) | flags | PTE_PRESENT);
    x86_64::instructions::tlb::flush(x86_64::VirtAddr::new(va));
}

/// Load a page-table root (a guest's validated L4, or the hypervisor's).
pub fn load_cr3(l4: Mfn) {
    // SAFETY: every root loaded here is either the hypervisor's table or a guest L4 validated by
    // the page-table engine, whose hole slots are the hypervisor's own entries.
    unsafe { Cr3::write(PhysFrame::containing_address(PhysAddr::new(l4.addr())), Cr3Flags::empty()) };
}

pub fn current_cr3() -> Mfn {
    Mfn(Cr3::read().0.start_address().as_u64() >> 12)
}

pub fn flush_tlb() {
    x86_64::instructions::tlb::flush_all();
}

pub fn invlpg(va: u64) {
    x86_64::instructions::tlb::flush(x86_64::VirtAddr::new(va));
}

/// CR2 after a page fault.
pub fn read_cr2() -> u64 {
    x86_64::registers::control::Cr2::read_raw()
}
