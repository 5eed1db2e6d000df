//! The bootstrap page tables of the PV start-of-day region.
//!
//! A PV guest starts on page tables its builder wrote: they map
//! `[layout.virt_base, layout.end)` onto pseudo-physical frames `0..`, and
//! live in [`Layout::page_tables`]. This module decides every entry of those
//! tables; writing them (through the hypervisor's direct map for Dom0, or
//! through foreign mappings in Dom0's domain builder) is the caller's job.
//!
//! The table frames are used in libxenguest's order: the L4 first (that frame
//! is `pt_base`), then the L3s, the L2s and the L1s, each group in address
//! order, one table per slot the region touches at that level (so the group
//! sizes are [`Layout::page_table_counts`]).
//!
//! Entry flags: every table entry is `PRESENT|RW|USER`; every page of the
//! region is mapped `PRESENT|RW|USER` except the page-table frames themselves,
//! which are mapped `PRESENT|USER` (read-only), since a PV page table must not
//! be writable through any mapping when it is validated.
//!
//! ```
//! # use xen_image::layout::{Layout, LayoutRequest};
//! # use xen_image::pagetables::BootstrapTables;
//! # let req = LayoutRequest { virt_base: 0, kernel_start: 0x1000, kernel_end: 0x3000,
//! #     module_len: 0, nr_pages: 4096, has_xenstore_page: true, has_console_page: true };
//! let layout = Layout::compute(&req).unwrap();
//! let p2m = |pfn: u64| pfn + 0x1000; // the domain's pfn -> mfn map
//! let tables = BootstrapTables::new(&layout);
//! for e in tables.entries(p2m) {
//!     // write `e.value` into slot `e.index` of frame `p2m(e.table_pfn)`
//! #   assert!(layout.page_tables.contains(layout.virt_base + e.table_pfn * 4096));
//! }
//! assert_eq!(tables.l4_pfn(), layout.page_tables.pfn);
//! ```

use core::ops::Range;

use crate::layout::Layout;

/// PTE bit: present.
pub const PTE_PRESENT: u64 = 1 << 0;
/// PTE bit: writable.
pub const PTE_RW: u64 = 1 << 1;
/// PTE bit: user (a 64-bit PV kernel runs in ring 3).
pub const PTE_USER: u64 = 1 << 2;
/// Flags of every L4/L3/L2 entry (pointing at the next table).
pub const TABLE_FLAGS: u64 = PTE_PRESENT | PTE_RW | PTE_USER;
/// Flags of an L1 entry mapping an ordinary page of the region.
pub const PAGE_FLAGS: u64 = PTE_PRESENT | PTE_RW | PTE_USER;
/// Flags of an L1 entry mapping one of the page-table frames (read-only).
pub const PAGE_TABLE_FRAME_FLAGS: u64 = PTE_PRESENT | PTE_USER;
/// Entries per table.
pub const ENTRIES: usize = 512;
/// Mask of the frame-address bits of an entry (bits 12..52).
pub const PTE_ADDR_MASK: u64 = 0x000f_ffff_ffff_f000;

/// One entry of the bootstrap tables: store `value` at `index` of the table
/// in frame `table_pfn` (a pseudo-physical frame inside
/// [`Layout::page_tables`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PtEntry {
    /// The table's level: 4 for the L4, down to 1 for an L1.
    pub level: u8,
    /// Pseudo-physical frame of the table.
    pub table_pfn: u64,
    /// Slot in the table, `0..512`.
    pub index: usize,
    /// The entry: the target's machine address (from the caller's pfn → mfn
    /// map) with [`TABLE_FLAGS`], [`PAGE_FLAGS`] or
    /// [`PAGE_TABLE_FRAME_FLAGS`].
    pub value: u64,
}

/// Which frame of [`Layout::page_tables`] holds which table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BootstrapTables {
    virt_base: u64,
    /// First frame of the page-table region; also the L4.
    pt_pfn: u64,
    /// Frames in the page-table region.
    pt_pages: u64,
    /// `first[l]`: frame of the first level-`l` table (`l` in 1..=4).
    first: [u64; 5],
    /// `count[l]`: number of level-`l` tables.
    count: [u64; 5],
    /// Pages the region maps (the L1 entries).
    mapped_pages: u64,
}

impl BootstrapTables {
    /// The table assignment for `layout`, which must come from
    /// [`Layout::compute`] (its page-table counts are trusted).
    pub fn new(layout: &Layout) -> Self {
        let c = layout.page_table_counts;
        let pt = layout.page_tables;
        debug_assert_eq!(
            c.total(),
            pt.pages,
            "layout's page-table region and counts disagree"
        );
        let l4 = pt.pfn;
        let l3 = l4 + c.l4;
        let l2 = l3 + c.l3;
        let l1 = l2 + c.l2;
        Self {
            virt_base: layout.virt_base,
            pt_pfn: pt.pfn,
            pt_pages: pt.pages,
            first: [0, l1, l2, l3, l4],
            count: [0, c.l1, c.l2, c.l3, c.l4],
            mapped_pages: layout.total_pages_mapped,
        }
    }

    /// Frame of the L4 (`pt_base`'s frame; the one to pin and load into CR3).
    pub fn l4_pfn(&self) -> u64 {
        self.first[4]
    }

    /// Frames holding the level-`level` tables (empty for a level outside 1..=4).
    pub fn tables(&self, level: u8) -> Range<u64> {
        match level {
            1..=4 => {
                let l = usize::from(level);
                self.first[l]..self.first[l] + self.count[l]
            }
            _ => 0..0,
        }
    }

    /// The level of the table in frame `pfn`, if `pfn` is one of the tables.
    pub fn level_of(&self, pfn: u64) -> Option<u8> {
        (1..=4).find(|&l| self.tables(l).contains(&pfn))
    }

    /// Whether `pfn` is one of the page-table frames (mapped read-only).
    pub fn is_table_frame(&self, pfn: u64) -> bool {
        pfn.wrapping_sub(self.pt_pfn) < self.pt_pages
    }

    /// Total number of entries [`entries`](Self::entries) yields.
    pub fn entry_count(&self) -> u64 {
        self.count[3] + self.count[2] + self.count[1] + self.mapped_pages
    }

    /// Every present entry of the tables, with machine frames from
    /// `pfn_to_mfn`. Order: the L4's entries, then the L3s', L2s' and L1s',
    /// each in address order; so `table_pfn` never decreases and each table's
    /// entries come together, in increasing `index` (a writer can map one
    /// table at a time). Every entry not yielded is zero.
    pub fn entries<F: Fn(u64) -> u64>(&self, pfn_to_mfn: F) -> Entries<F> {
        Entries {
            tables: *self,
            pfn_to_mfn,
            level: 4,
            item: 0,
            emitted: 0,
        }
    }

    /// Entries a level-`level` table holds in total (one per child table, or
    /// per page for the L1s).
    fn items(&self, level: u8) -> u64 {
        match level {
            4 => self.count[3],
            3 => self.count[2],
            2 => self.count[1],
            1 => self.mapped_pages,
            _ => 0,
        }
    }

    /// Entry number `item` of the level-`level` tables.
    fn entry(&self, level: u8, item: u64, pfn_to_mfn: &impl Fn(u64) -> u64) -> PtEntry {
        let l = usize::from(level);
        // Each entry of a level-`l` table covers 2^shift bytes; `slot` numbers
        // those spans across the whole address space.
        let shift = 12 + 9 * (u32::from(level) - 1);
        let slot = (self.virt_base >> shift) + item;
        // The tables of a level cover consecutive 2^(shift+9) spans from the
        // one holding virt_base.
        let table = (slot >> 9) - (self.virt_base >> (shift + 9));
        let value = if level == 1 {
            let pfn = item;
            let flags = if self.is_table_frame(pfn) {
                PAGE_TABLE_FRAME_FLAGS
            } else {
                PAGE_FLAGS
            };
            (pfn_to_mfn(pfn) << 12) | flags
        } else {
            // The children are the next level's tables, in the same order.
            (pfn_to_mfn(self.first[l - 1] + item) << 12) | TABLE_FLAGS
        };
        PtEntry {
            level,
            table_pfn: self.first[l] + table,
            index: (slot % ENTRIES as u64) as usize,
            value,
        }
    }
}

/// Shorthand for `BootstrapTables::new(layout).entries(pfn_to_mfn)`.
pub fn bootstrap_entries<F: Fn(u64) -> u64>(layout: &Layout, pfn_to_mfn: F) -> Entries<F> {
    BootstrapTables::new(layout).entries(pfn_to_mfn)
}

/// Iterator over the entries of the bootstrap tables; see
/// [`BootstrapTables::entries`].
#[derive(Clone, Debug)]
pub struct Entries<F> {
    tables: BootstrapTables,
    pfn_to_mfn: F,
    /// Level being emitted (0 when done).
    level: u8,
    /// Next entry number within that level.
    item: u64,
    emitted: u64,
}

impl<F: Fn(u64) -> u64> Iterator for Entries<F> {
    type Item = PtEntry;

    fn next(&mut self) -> Option<PtEntry> {
        while self.level > 0 {
            if self.item < self.tables.items(self.level) {
                let e = self.tables.entry(self.level, self.item, &self.pfn_to_mfn);
                self.item += 1;
                self.emitted += 1;
                return Some(e);
            }
            self.level -= 1;
            self.item = 0;
        }
        None
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.tables.entry_count() - self.emitted;
        match usize::try_from(left) {
            Ok(n) => (n, Some(n)),
            Err(_) => (usize::MAX, None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::LayoutRequest;
    use crate::PAGE_SIZE;
    use std::collections::{BTreeMap, BTreeSet};
    use std::vec::Vec;

    const MIB: u64 = 1 << 20;
    const GIB: u64 = 1 << 30;
    const MFN_BASE: u64 = 0x10_0000;

    /// A scrambled but invertible pfn -> mfn map, so that mixing the two up
    /// cannot go unnoticed.
    fn p2m(pfn: u64) -> u64 {
        MFN_BASE + (pfn ^ 0x5a5)
    }

    fn m2p(mfn: u64) -> u64 {
        (mfn - MFN_BASE) ^ 0x5a5
    }

    fn layout(virt_base: u64, kernel_off: u64, kernel_len: u64, nr_pages: u64) -> Layout {
        let kernel_start = virt_base + kernel_off;
        Layout::compute(&LayoutRequest {
            virt_base,
            kernel_start,
            kernel_end: kernel_start + kernel_len,
            module_len: 0,
            nr_pages,
            has_xenstore_page: true,
            has_console_page: true,
        })
        .unwrap()
    }

    /// Machine memory holding just the tables, indexed by mfn.
    type Memory = BTreeMap<u64, [u64; ENTRIES]>;

    /// Writes every entry, checking the order and that each slot is written
    /// once and only inside the page-table region.
    fn write_tables(l: &Layout) -> Memory {
        let t = BootstrapTables::new(l);
        let mut mem = Memory::new();
        let mut last: Option<(u64, usize)> = None;
        let mut n = 0u64;
        let it = t.entries(p2m);
        assert_eq!(
            it.size_hint(),
            (t.entry_count() as usize, Some(t.entry_count() as usize))
        );
        for e in it {
            assert!(
                l.page_tables.contains(l.pfn_to_va(e.table_pfn).unwrap()),
                "{e:?} outside {:?}",
                l.page_tables
            );
            assert_eq!(t.level_of(e.table_pfn), Some(e.level));
            assert!(e.index < ENTRIES);
            if let Some(prev) = last {
                assert!((e.table_pfn, e.index) > prev, "{e:?} after {prev:?}");
            }
            last = Some((e.table_pfn, e.index));
            let table = mem.entry(p2m(e.table_pfn)).or_insert([0; ENTRIES]);
            assert_eq!(table[e.index], 0, "{e:?} written twice");
            assert_ne!(e.value & PTE_PRESENT, 0);
            table[e.index] = e.value;
            n += 1;
        }
        assert_eq!(n, t.entry_count());
        // Every reserved frame holds a table with at least one entry.
        assert_eq!(mem.len() as u64, l.page_tables.pages);
        mem
    }

    /// Walks `va` through the tables: the target pfn and the leaf flags, or
    /// `None` if some level is not present. Checks the intermediate entries.
    fn walk(l: &Layout, mem: &Memory, va: u64) -> Option<(u64, u64)> {
        let t = BootstrapTables::new(l);
        let mut table_pfn = t.l4_pfn();
        for level in (1..=4u8).rev() {
            assert_eq!(t.level_of(table_pfn), Some(level));
            let index = ((va >> (12 + 9 * (u32::from(level) - 1))) & 0x1ff) as usize;
            let entry = mem[&p2m(table_pfn)][index];
            if entry & PTE_PRESENT == 0 {
                assert_eq!(entry, 0);
                return None;
            }
            let target = m2p((entry & PTE_ADDR_MASK) >> 12);
            if level == 1 {
                return Some((target, entry & !PTE_ADDR_MASK));
            }
            assert_eq!(entry & !PTE_ADDR_MASK, TABLE_FLAGS);
            table_pfn = target;
        }
        unreachable!()
    }

    fn check(l: &Layout) {
        let t = BootstrapTables::new(l);
        let mem = write_tables(l);
        let pt = l.page_tables;
        assert_eq!(t.l4_pfn(), pt.pfn);
        assert_eq!(t.tables(4), pt.pfn..pt.pfn + 1);
        assert_eq!(t.tables(3).start, pt.pfn + 1);
        assert_eq!(t.tables(1).end, pt.end_pfn());
        let c = l.page_table_counts;
        assert_eq!(t.tables(3).count() as u64, c.l3);
        assert_eq!(t.tables(2).count() as u64, c.l2);
        assert_eq!(t.tables(1).count() as u64, c.l1);

        let mut va = l.virt_base;
        while va < l.end {
            let pfn = (va - l.virt_base) / PAGE_SIZE;
            let (got, flags) = walk(l, &mem, va).unwrap_or_else(|| panic!("{va:#x} unmapped"));
            assert_eq!(got, pfn, "va {va:#x}");
            if pt.contains(va) {
                assert_eq!(
                    flags, PAGE_TABLE_FRAME_FLAGS,
                    "table frame {pfn:#x} writable"
                );
                assert!(t.is_table_frame(pfn));
            } else {
                assert_eq!(flags, PAGE_FLAGS, "va {va:#x}");
                assert!(!t.is_table_frame(pfn));
            }
            va += PAGE_SIZE;
        }
        // Nothing past either end is mapped.
        assert_eq!(walk(l, &mem, l.end), None);
        if l.virt_base != 0 {
            assert_eq!(walk(l, &mem, l.virt_base - PAGE_SIZE), None);
        }
        // Exactly the region's pages are mapped, each once.
        let leaves: BTreeSet<u64> = t
            .tables(1)
            .flat_map(|pfn| mem[&p2m(pfn)])
            .filter(|e| e & PTE_PRESENT != 0)
            .map(|e| m2p((e & PTE_ADDR_MASK) >> 12))
            .collect();
        assert_eq!(leaves.len() as u64, l.total_pages_mapped);
        assert_eq!(leaves.iter().next_back(), Some(&(l.total_pages_mapped - 1)));
    }

    const BASES: [u64; 5] = [
        0,
        0xFFFF_FFFF_8000_0000, // Linux / our kernels
        0x7F_FFE0_0000,        // 2 MiB below a 512 GiB boundary: two L3s
        0x3FFF_F000,           // not 2 MiB aligned, 4 KiB below 1 GiB: two L2s
        0x1234_5000,           // not 2 MiB aligned: the L1s' first slots unused
    ];

    #[test]
    fn domains_of_8_16_64_mib_and_1_gib() {
        for &vb in &BASES {
            for &(mem, klen) in &[
                (8 * MIB, 0x3800),
                (16 * MIB, 2 * MIB),
                (64 * MIB, 5 * MIB + 0x123),
                (GIB, 3 * MIB),
            ] {
                let l = layout(vb, 0x2000, klen, mem / PAGE_SIZE);
                check(&l);
            }
        }
    }

    #[test]
    fn region_spanning_several_l2s() {
        // A 1.5 GiB kernel in a 2 GiB domain: the region needs two L2s (three
        // when it starts below a 1 GiB boundary) and hundreds of L1s.
        for vb in [0, 0x3FFF_F000] {
            let l = layout(vb, 0, 3 * GIB / 2, 2 * GIB / PAGE_SIZE);
            assert!(l.page_table_counts.l2 >= 2);
            check(&l);
        }
    }

    #[test]
    fn crossing_bases_use_two_tables() {
        let l = layout(0x7F_FFE0_0000, 0, 2 * MIB, 8 * MIB / PAGE_SIZE);
        assert_eq!(l.page_table_counts.l3, 2);
        let t = BootstrapTables::new(&l);
        let l4: Vec<PtEntry> = t.entries(p2m).filter(|e| e.level == 4).collect();
        assert_eq!(l4.len(), 2);
        assert_eq!((l4[0].index, l4[1].index), (0, 1));
        assert_eq!(
            l4[0].value,
            (p2m(l.page_tables.pfn + 1) << 12) | TABLE_FLAGS
        );
        assert_eq!(
            l4[1].value,
            (p2m(l.page_tables.pfn + 2) << 12) | TABLE_FLAGS
        );
    }

    #[test]
    fn small_domu_matches_libxenguest_order() {
        // The layout tested in layout.rs: [0, 8 MiB), tables at pfn 0x447..0x44e:
        // L4 0x447, L3 0x448, L2 0x449, L1s 0x44a..0x44e.
        let l = Layout::compute(&LayoutRequest {
            virt_base: 0,
            kernel_start: 0x40_0000,
            kernel_end: 0x40_3800,
            module_len: 0,
            nr_pages: 32768,
            has_xenstore_page: true,
            has_console_page: true,
        })
        .unwrap();
        let t = BootstrapTables::new(&l);
        assert_eq!(t.l4_pfn(), 0x447);
        assert_eq!(t.tables(3), 0x448..0x449);
        assert_eq!(t.tables(2), 0x449..0x44a);
        assert_eq!(t.tables(1), 0x44a..0x44e);
        assert_eq!(t.tables(0), 0..0);
        assert_eq!(t.tables(5), 0..0);
        assert_eq!(t.level_of(0x446), None);
        assert_eq!(t.level_of(0x44e), None);
        let id = |pfn: u64| pfn;
        let e: Vec<PtEntry> = bootstrap_entries(&l, id).collect();
        assert_eq!(e.len(), 6 + 2048);
        assert_eq!(
            e[0],
            PtEntry {
                level: 4,
                table_pfn: 0x447,
                index: 0,
                value: 0x448_007
            }
        );
        assert_eq!(
            e[1],
            PtEntry {
                level: 3,
                table_pfn: 0x448,
                index: 0,
                value: 0x449_007
            }
        );
        assert_eq!(
            e[2],
            PtEntry {
                level: 2,
                table_pfn: 0x449,
                index: 0,
                value: 0x44a_007
            }
        );
        assert_eq!(
            e[5],
            PtEntry {
                level: 2,
                table_pfn: 0x449,
                index: 3,
                value: 0x44d_007
            }
        );
        assert_eq!(
            e[6],
            PtEntry {
                level: 1,
                table_pfn: 0x44a,
                index: 0,
                value: 0x007
            }
        );
        // pfn 0x447 (the L4) is read-only; the stack page after the tables is not.
        assert_eq!(
            e[6 + 0x447],
            PtEntry {
                level: 1,
                table_pfn: 0x44c,
                index: 0x47,
                value: 0x447_005
            }
        );
        assert_eq!(e[6 + 0x44d].value, 0x44d_005);
        assert_eq!(e[6 + 0x44e].value, 0x44e_007);
        assert_eq!(e.last().unwrap().table_pfn, 0x44d);
        assert_eq!(e.last().unwrap().index, 511);
    }
}
