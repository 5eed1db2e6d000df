//! Host tests of the page-table rules over a `HashMap`-backed frame memory.

use std::collections::HashMap;

use super::*;

const DOM: DomId = 1;
const OTHER: DomId = 2;
const NR_FRAMES: u64 = 64;

const P: u64 = _PAGE_PRESENT;
const RW: u64 = _PAGE_RW;
const U: u64 = _PAGE_USER;
const A: u64 = _PAGE_ACCESSED;
const D: u64 = _PAGE_DIRTY;

static XEN_SLOTS: [u64; ROOT_PAGETABLE_PV_XEN_SLOTS] = {
    let mut slots = [0; ROOT_PAGETABLE_PV_XEN_SLOTS];
    let mut i = 0;
    while i < slots.len() {
        slots[i] = (0x7_0000 + i as u64) << PAGE_SHIFT | 0x63;
        i += 1;
    }
    slots
};

/// Frame contents: every frame of the table exists (zeroed) from the start, so two
/// memories compare equal exactly when their contents do.
#[derive(Clone, PartialEq, Eq, Debug)]
struct FakeMemory {
    pages: HashMap<u64, Vec<u8>>,
}

impl FakeMemory {
    fn new(nr_frames: u64) -> FakeMemory {
        FakeMemory {
            pages: (0..nr_frames).map(|m| (m, vec![0; PAGE_SIZE])).collect(),
        }
    }
}

impl FakeMemory {
    /// All 512 entries of a frame, read in one go.
    fn entries(&self, mfn: u64) -> Vec<u64> {
        let page = &self.pages[&mfn];
        page.chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
            .collect()
    }
}

impl FrameMemory for FakeMemory {
    fn read_entry(&self, mfn: Mfn, index: usize) -> u64 {
        assert!(index < L1_PAGETABLE_ENTRIES);
        let mut bytes = [0; 8];
        self.read_bytes(mfn, index * 8, &mut bytes);
        u64::from_le_bytes(bytes)
    }

    fn write_entry(&mut self, mfn: Mfn, index: usize, value: u64) {
        assert!(index < L1_PAGETABLE_ENTRIES);
        self.write_bytes(mfn, index * 8, &value.to_le_bytes());
    }

    fn read_bytes(&self, mfn: Mfn, offset: usize, buf: &mut [u8]) {
        assert!(offset + buf.len() <= PAGE_SIZE);
        let page = self
            .pages
            .get(&mfn.0)
            .expect("read of a frame outside memory");
        buf.copy_from_slice(&page[offset..offset + buf.len()]);
    }

    fn write_bytes(&mut self, mfn: Mfn, offset: usize, buf: &[u8]) {
        assert!(offset + buf.len() <= PAGE_SIZE);
        let page = self
            .pages
            .get_mut(&mfn.0)
            .expect("write to a frame outside memory");
        page[offset..offset + buf.len()].copy_from_slice(buf);
    }
}

/// Frames 1..=40 belong to `DOM`, 41..=48 to `OTHER`, the rest (and 0) to nobody.
struct Env {
    ft: FrameTable,
    mem: FakeMemory,
}

impl Env {
    fn new() -> Env {
        let mut ft = FrameTable::new(NR_FRAMES);
        for m in 1..=40 {
            ft.assign(Mfn(m), DOM).unwrap();
        }
        for m in 41..=48 {
            ft.assign(Mfn(m), OTHER).unwrap();
        }
        Env {
            ft,
            mem: FakeMemory::new(NR_FRAMES),
        }
    }

    fn pg(&mut self) -> Paging<'_, FakeMemory> {
        Paging::new(&mut self.ft, &mut self.mem, &XEN_SLOTS)
    }

    fn set(&mut self, table: u64, index: usize, value: u64) {
        self.mem.write_entry(Mfn(table), index, value);
    }

    fn entry(&self, table: u64, index: usize) -> u64 {
        self.mem.read_entry(Mfn(table), index)
    }

    fn info(&self, mfn: u64) -> PageInfo {
        *self.ft.get(Mfn(mfn)).unwrap()
    }

    /// (ref_count, type, type_count, pinned) of a frame.
    fn counts(&self, mfn: u64) -> (u32, PageType, u32, bool) {
        let i = self.info(mfn);
        (i.ref_count, i.ty, i.type_count, i.pinned)
    }

    fn snapshot(&self) -> (FrameTable, FakeMemory) {
        (self.ft.clone(), self.mem.clone())
    }

    /// After a refused operation: the frame table is exactly as before, and memory too,
    /// except that a table validated on the way (before a later entry failed) may keep
    /// the bits validation forces on (`_PAGE_USER`, and `_PAGE_ACCESSED` in an L4), as
    /// in Xen, where `promote_l1_table` adjusts entries as it goes.
    fn assert_unchanged(&self, snap: &(FrameTable, FakeMemory)) {
        assert!(self.ft == snap.0, "frame table changed");
        if self.mem == snap.1 {
            return;
        }
        for m in 0..NR_FRAMES {
            for i in 0..L1_PAGETABLE_ENTRIES {
                let (was, now) = (snap.1.read_entry(Mfn(m), i), self.mem.read_entry(Mfn(m), i));
                let adjusted = present(was) && now & !(U | A) == was & !(U | A) && now & was == was;
                assert!(
                    was == now || adjusted,
                    "frame {m}[{i}] changed: {was:#x} -> {now:#x}"
                );
            }
        }
    }

    fn assert_unchanged_exactly(&self, snap: &(FrameTable, FakeMemory)) {
        assert!(self.ft == snap.0, "frame table changed");
        assert!(self.mem == snap.1, "memory changed");
    }

    fn update(&mut self, table: u64, index: usize, value: u64) -> Result<(), Errno> {
        self.pg().update_entry(DOM, Mfn(table), index, value)
    }

    /// An update that must fail with `err` and change nothing.
    fn refuse(&mut self, table: u64, index: usize, value: u64, err: Errno) {
        let snap = self.snapshot();
        assert_eq!(
            self.update(table, index, value),
            Err(err),
            "update {table}[{index}] = {value:#x}"
        );
        self.assert_unchanged(&snap);
    }

    /// A pin that must fail with `err` and change nothing.
    fn refuse_pin(&mut self, mfn: u64, level: u8, err: Errno) {
        let snap = self.snapshot();
        assert_eq!(self.pg().pin(DOM, Mfn(mfn), level), Err(err));
        self.assert_unchanged(&snap);
    }
}

fn pte(mfn: u64, flags: u64) -> u64 {
    Mfn(mfn).addr() | flags
}

// The standard tree, built by writing memory directly (as a domain builder would):
// L4 1 -> L3 2 -> L2 3 -> L1 4, which maps va 0x0000 -> 5 (rw), 0x1000 -> 7 (rw),
// 0x2000 -> 6 (ro) and 0x3000 -> itself (ro, no user bit: validation adds it).
const L4: u64 = 1;
const L3: u64 = 2;
const L2: u64 = 3;
const L1: u64 = 4;
const DATA_RW: u64 = 5;
const DATA_RO: u64 = 6;
const DATA_RW2: u64 = 7;
const SPARE: u64 = 8;

fn tree() -> Env {
    let mut env = Env::new();
    env.set(L4, 0, pte(L3, P | RW | U));
    env.set(L3, 0, pte(L2, P | RW | U));
    env.set(L2, 0, pte(L1, P | RW | U));
    env.set(L1, 0, pte(DATA_RW, P | RW | U));
    env.set(L1, 1, pte(DATA_RW2, P | RW | U));
    env.set(L1, 2, pte(DATA_RO, P | U));
    env.set(L1, 3, pte(L1, P));
    env
}

fn pinned_tree() -> Env {
    let mut env = tree();
    env.pg().pin(DOM, Mfn(L4), 4).unwrap();
    env
}

const IDLE: (u32, PageType, u32, bool) = (1, PageType::None, 0, false);

#[test]
fn pinning_l4_validates_tree_with_xen_counts() {
    let env = pinned_tree();
    assert_eq!(env.counts(L4), (2, PageType::L4, 1, true));
    assert_eq!(env.counts(L3), (2, PageType::L3, 1, false));
    assert_eq!(env.counts(L2), (2, PageType::L2, 1, false));
    // Its own read-only mapping adds a general reference, no type reference.
    assert_eq!(env.counts(L1), (3, PageType::L1, 1, false));
    assert_eq!(env.counts(DATA_RW), (2, PageType::Writable, 1, false));
    assert_eq!(env.counts(DATA_RW2), (2, PageType::Writable, 1, false));
    assert_eq!(env.counts(DATA_RO), (2, PageType::None, 0, false));
    assert_eq!(env.counts(SPARE), IDLE);
    // Entries were adjusted for a ring-3 kernel.
    assert_eq!(env.entry(L1, 3), pte(L1, P | U));
    assert_eq!(env.entry(L4, 0), pte(L3, P | RW | U | A));
    // The hypervisor's slots were filled.
    for (i, slot) in XEN_SLOTS.iter().enumerate() {
        assert_eq!(env.entry(L4, ROOT_PAGETABLE_FIRST_XEN_SLOT + i), *slot);
    }
}

#[test]
fn pinning_lower_levels_works_and_nests_with_tree_references() {
    let mut env = pinned_tree();
    env.pg().pin(DOM, Mfn(L2), 2).unwrap();
    assert_eq!(env.counts(L2), (3, PageType::L2, 2, true));
    env.pg().unpin(DOM, Mfn(L4)).unwrap();
    // The L2 stays validated through its pin, and so does everything below it.
    assert_eq!(env.counts(L4), IDLE);
    assert_eq!(env.counts(L3), IDLE);
    assert_eq!(env.counts(L2), (2, PageType::L2, 1, true));
    assert_eq!(env.counts(L1), (3, PageType::L1, 1, false));
    env.pg().unpin(DOM, Mfn(L2)).unwrap();
    for m in 1..=8 {
        assert_eq!(env.counts(m), IDLE, "frame {m}");
    }
}

#[test]
fn writable_mapping_of_any_page_table_is_refused() {
    let mut env = pinned_tree();
    for table in [L4, L3, L2, L1] {
        env.refuse(L1, 10, pte(table, P | RW | U), Errno::EBUSY);
    }
    // Read-only mappings of page tables are fine, and undo cleanly.
    env.update(L1, 10, pte(L4, P | U)).unwrap();
    assert_eq!(env.counts(L4), (3, PageType::L4, 1, true));
    env.update(L1, 10, 0).unwrap();
    assert_eq!(env.counts(L4), (2, PageType::L4, 1, true));
}

#[test]
fn validation_refuses_writable_mapping_of_a_table_in_the_tree() {
    for table in [L4, L3, L2, L1] {
        let mut env = tree();
        env.set(L1, 5, pte(table, P | RW | U));
        env.refuse_pin(L4, 4, Errno::EBUSY);
    }
}

#[test]
fn mapping_frames_of_others_is_refused() {
    let mut env = pinned_tree();
    env.refuse(L1, 10, pte(41, P | U), Errno::EBUSY); // another domain's frame
    env.refuse(L1, 10, pte(41, P | RW | U), Errno::EBUSY);
    env.refuse(L1, 10, pte(55, P | U), Errno::EBUSY); // nobody's frame
    env.refuse(L1, 10, pte(0, P | U), Errno::EBUSY);
    env.refuse(L1, 10, pte(NR_FRAMES, P | U), Errno::EPERM); // not RAM: I/O
    env.refuse(L1, 10, pte(PADDR_MASK >> PAGE_SHIFT, P | U), Errno::EINVAL); // invalid MFN
    env.refuse(L2, 10, pte(41, P | U), Errno::EINVAL);
    env.refuse(L3, 10, pte(55, P | U), Errno::EINVAL);
    env.refuse(L4, 10, pte(NR_FRAMES + 3, P | U), Errno::EINVAL);
    // And validation refuses the same things deeper in a tree.
    let mut env = tree();
    env.set(L1, 9, pte(42, P | U));
    env.refuse_pin(L4, 4, Errno::EBUSY);
}

#[test]
fn a_writable_frame_cannot_become_a_page_table() {
    let mut env = pinned_tree();
    env.refuse_pin(DATA_RW, 1, Errno::EINVAL);
    env.refuse(L2, 1, pte(DATA_RW, P | U), Errno::EINVAL);
    // Once the writable mapping is gone, the frame may become a table.
    env.update(L1, 0, 0).unwrap();
    assert_eq!(env.counts(DATA_RW), IDLE);
    env.update(L2, 1, pte(DATA_RW, P | U)).unwrap();
    assert_eq!(env.counts(DATA_RW), (2, PageType::L1, 1, false));
}

#[test]
fn pinning_twice_or_with_the_wrong_level_is_refused() {
    let mut env = pinned_tree();
    env.refuse_pin(L4, 4, Errno::EINVAL);
    env.refuse_pin(L4, 3, Errno::EINVAL);
    env.refuse_pin(L3, 2, Errno::EINVAL);
    env.refuse_pin(L4, 0, Errno::EINVAL);
    env.refuse_pin(L4, 5, Errno::EINVAL);
    env.refuse_pin(41, 1, Errno::EINVAL); // not ours
    let snap = env.snapshot();
    assert_eq!(env.pg().pin(OTHER, Mfn(L4), 4), Err(Errno::EINVAL));
    env.assert_unchanged(&snap);
}

#[test]
fn unpin_releases_everything() {
    let mut env = tree();
    let before = env.snapshot();
    env.pg().pin(DOM, Mfn(L4), 4).unwrap();
    assert_eq!(env.pg().unpin(OTHER, Mfn(L4)), Err(Errno::EINVAL));
    env.pg().unpin(DOM, Mfn(L4)).unwrap();
    assert!(env.ft == before.0, "every count back to its start value");
    for m in 1..=8 {
        assert_eq!(env.counts(m), IDLE);
    }
    // The hypervisor's slots do not survive the table.
    for i in 0..ROOT_PAGETABLE_PV_XEN_SLOTS {
        assert_eq!(env.entry(L4, ROOT_PAGETABLE_FIRST_XEN_SLOT + i), 0);
    }
    assert_eq!(
        env.pg().unpin(DOM, Mfn(L4)),
        Err(Errno::EINVAL),
        "not pinned"
    );
    assert_eq!(env.pg().unpin(DOM, Mfn(L3)), Err(Errno::EINVAL));
    // Nothing holds the frames any more: they can go back to the allocator.
    for m in 1..=8 {
        env.ft.unassign(Mfn(m)).unwrap();
    }
}

#[test]
fn frames_in_use_cannot_be_unassigned() {
    let mut env = pinned_tree();
    for m in [L4, L3, L2, L1, DATA_RW, DATA_RO] {
        assert_eq!(env.ft.unassign(Mfn(m)), Err(Errno::EINVAL), "frame {m}");
    }
    env.ft.unassign(Mfn(SPARE)).unwrap();
}

#[test]
fn hypervisor_l4_slots_are_protected() {
    let mut env = tree();
    // Junk the guest left in the reserved slots is neither validated nor kept.
    env.set(L4, 260, pte(41, P | RW));
    env.pg().pin(DOM, Mfn(L4), 4).unwrap();
    assert_eq!(env.entry(L4, 260), XEN_SLOTS[4]);
    assert_eq!(env.counts(41), IDLE);
    for slot in [256, 260, 271] {
        env.refuse(L4, slot, 0, Errno::EINVAL);
        env.refuse(L4, slot, pte(SPARE, P | U), Errno::EINVAL);
        env.refuse(L4, slot, XEN_SLOTS[slot - 256], Errno::EINVAL);
    }
    // The slots around the hole are the guest's.
    env.update(L4, 255, pte(SPARE, P | U)).unwrap();
    env.update(L4, 272, pte(9, P | U)).unwrap();
    assert_eq!(env.counts(SPARE), (2, PageType::L3, 1, false));
    assert_eq!(env.entry(L4, 272), pte(9, P | U | A));
}

#[test]
fn superpages_are_refused() {
    let mut env = pinned_tree();
    env.refuse(L2, 1, pte(SPARE, P | U | _PAGE_PSE), Errno::EINVAL);
    env.refuse(L3, 1, pte(SPARE, P | U | _PAGE_PSE), Errno::EINVAL);
    env.refuse(L2, 0, pte(L1, P | RW | U | _PAGE_PSE), Errno::EINVAL);
    let mut env = tree();
    env.set(L2, 7, pte(SPARE, P | U | _PAGE_PSE));
    env.refuse_pin(L4, 4, Errno::EINVAL);
}

#[test]
fn cache_and_disallowed_flag_bits_are_refused() {
    let mut env = pinned_tree();
    for bad in [_PAGE_PWT, _PAGE_PCD, _PAGE_PAT] {
        env.refuse(L1, 10, pte(SPARE, P | U | bad), Errno::EINVAL);
    }
    for bad in [_PAGE_PWT, _PAGE_PCD, _PAGE_GLOBAL] {
        env.refuse(L2, 10, pte(SPARE, P | U | bad), Errno::EINVAL);
        env.refuse(L3, 10, pte(SPARE, P | U | bad), Errno::EINVAL);
        env.refuse(L4, 10, pte(SPARE, P | U | bad), Errno::EINVAL);
    }
    // Bad flags are refused even where the fast path would apply.
    env.refuse(L1, 0, pte(DATA_RW, P | RW | U | _PAGE_PCD), Errno::EINVAL);
    // Physical-address bits beyond memory make the frame non-RAM.
    env.refuse(L1, 10, pte(SPARE, P | U) | 1 << 51, Errno::EPERM);
    // The grant mark is the hypervisor's alone in L1 entries (higher levels ignore it).
    env.refuse(L1, 10, pte(SPARE, P | U | _PAGE_GNTTAB), Errno::EINVAL);
    // What a PV guest may use: G in L1 entries, NX, the other available bits.
    let ok = P | U | RW | A | D | _PAGE_GLOBAL | _PAGE_NX | _PAGE_AVAIL | (_PAGE_AVAIL_HIGH & !_PAGE_GNTTAB);
    env.update(L1, 10, pte(SPARE, ok)).unwrap();
    assert_eq!(env.entry(L1, 10), pte(SPARE, ok));
    // Non-present entries may hold anything.
    env.update(L1, 11, u64::MAX & !P).unwrap();
    assert_eq!(env.entry(L1, 11), u64::MAX & !P);
    assert_eq!(env.counts(SPARE), (2, PageType::Writable, 1, false));
}

#[test]
fn replacing_an_l1_entry_moves_references() {
    let mut env = pinned_tree();
    env.update(L1, 0, pte(SPARE, P | RW | U)).unwrap();
    assert_eq!(env.counts(DATA_RW), IDLE);
    assert_eq!(env.counts(SPARE), (2, PageType::Writable, 1, false));
    // Dropping RW needs a recount: the writable type goes.
    env.update(L1, 0, pte(SPARE, P | U)).unwrap();
    assert_eq!(env.counts(SPARE), (2, PageType::None, 0, false));
    // A/D (and identical) updates take the fast path and keep the counts.
    let snap = env.snapshot();
    env.update(L1, 0, pte(SPARE, P | U | A | D)).unwrap();
    assert_eq!(env.entry(L1, 0), pte(SPARE, P | U | A | D));
    env.update(L1, 0, pte(SPARE, P | A | D)).unwrap();
    assert_eq!(
        env.entry(L1, 0),
        pte(SPARE, P | U | A | D),
        "user bit forced on"
    );
    env.update(L1, 0, pte(SPARE, P | U)).unwrap();
    env.assert_unchanged(&snap);
    // Clearing the entry drops the reference.
    env.update(L1, 0, 0).unwrap();
    assert_eq!(env.counts(SPARE), IDLE);
}

#[test]
fn grant_entries_are_changed_by_the_grant_code_alone() {
    let mut env = pinned_tree();
    // What the grant code does for a mapping: references taken by the maptrack, then the
    // marked entry written directly.
    env.pg().get_page_and_type(DOM, Mfn(SPARE), PageType::Writable).unwrap();
    let grant = pte(SPARE, P | RW | U | A | D | _PAGE_GNTTAB);
    env.set(L1, 10, grant);
    assert!(is_grant_entry(grant) && !is_grant_entry(grant & !P));
    let held = env.counts(SPARE);
    // The guest can neither replace, downgrade nor clear it, even on the fast path.
    env.refuse(L1, 10, pte(SPARE, P | U), Errno::EINVAL);
    env.refuse(L1, 10, grant & !_PAGE_GNTTAB, Errno::EINVAL);
    env.refuse(L1, 10, grant | _PAGE_NX, Errno::EINVAL);
    env.refuse(L1, 10, 0, Errno::EINVAL);
    // Demoting the table leaves the grant's references alone.
    env.pg().unpin(DOM, Mfn(L4)).unwrap();
    assert_eq!(env.counts(L1), IDLE);
    assert_eq!(env.counts(SPARE), held);
    // ... and the stale entry keeps the frame from ever validating as an L1 again.
    env.refuse_pin(L1, 1, Errno::EINVAL);
    env.pg().put_page_and_type(Mfn(SPARE));
    assert_eq!(env.counts(SPARE), IDLE);
}

#[test]
fn replacing_an_l2_entry_releases_the_old_subtree() {
    let mut env = pinned_tree();
    env.set(9, 0, pte(SPARE, P | RW | U)); // a fresh L1, written while untyped
    env.update(L2, 0, pte(9, P | RW | U)).unwrap();
    assert_eq!(env.counts(L1), IDLE);
    assert_eq!(env.counts(DATA_RW), IDLE);
    assert_eq!(env.counts(DATA_RO), IDLE);
    assert_eq!(env.counts(9), (2, PageType::L1, 1, false));
    assert_eq!(env.counts(SPARE), (2, PageType::Writable, 1, false));
    // Re-pointing an entry at the same table with other flags keeps it validated.
    env.update(L2, 0, pte(9, P | U)).unwrap();
    assert_eq!(env.counts(9), (2, PageType::L1, 1, false));
    assert_eq!(env.counts(SPARE), (2, PageType::Writable, 1, false));
}

#[test]
fn self_references_and_cycles_are_refused_without_leaks() {
    let mut env = pinned_tree();
    env.refuse(L4, 1, pte(L4, P | U), Errno::EINVAL); // L4 -> itself
    env.refuse(L3, 1, pte(L4, P | U), Errno::EINVAL); // L3 -> its parent
    env.refuse(L3, 1, pte(L3, P | U), Errno::EINVAL);
    env.refuse(L2, 1, pte(L3, P | U), Errno::EINVAL);
    env.refuse(L2, 1, pte(L2, P | U), Errno::EINVAL);
    env.refuse(L1, 10, pte(L1, P | RW | U), Errno::EBUSY);

    // The same loops met during validation of a fresh tree.
    for (table, index, target) in [
        (L4, 1, L4),
        (L3, 1, L4),
        (L2, 1, L3),
        (L2, 2, L2),
        (L3, 2, L3),
    ] {
        let mut env = tree();
        env.set(table, index, pte(target, P | U));
        env.refuse_pin(L4, 4, Errno::EINVAL);
    }
}

#[test]
fn updates_of_non_table_frames_are_plain_writes() {
    let mut env = pinned_tree();
    let value = pte(41, P | RW | _PAGE_PCD); // not checked: the frame is no table
    env.update(SPARE, 3, value).unwrap();
    assert_eq!(env.entry(SPARE, 3), value);
    assert_eq!(env.counts(SPARE), IDLE);
    env.update(DATA_RW, 511, 7).unwrap();
    assert_eq!(env.entry(DATA_RW, 511), 7);
    assert_eq!(env.counts(DATA_RW), (2, PageType::Writable, 1, false));
    env.refuse(SPARE, 512, 0, Errno::EINVAL);
    env.refuse(41, 0, 0, Errno::EINVAL); // another domain's frame
    env.refuse(55, 0, 0, Errno::EINVAL); // nobody's frame
    env.refuse(NR_FRAMES, 0, 0, Errno::EINVAL);
    // A descriptor page can take neither writes nor a writable mapping.
    env.pg()
        .get_page_type(DOM, Mfn(SPARE), PageType::SegDesc)
        .unwrap();
    env.refuse(SPARE, 0, 0, Errno::EINVAL);
    env.refuse(L1, 10, pte(SPARE, P | RW | U), Errno::EBUSY);
    env.pg().put_page_type(Mfn(SPARE));
    assert_eq!(env.counts(SPARE), IDLE);
}

#[test]
fn general_and_type_references() {
    let mut env = Env::new();
    let mut pg = env.pg();
    assert_eq!(pg.get_page(OTHER, Mfn(1)), Err(Errno::EINVAL));
    assert_eq!(pg.get_page(DOM, Mfn(55)), Err(Errno::EINVAL));
    assert_eq!(pg.get_page(DOM, Mfn(1000)), Err(Errno::EINVAL));
    assert_eq!(
        pg.get_page_type(DOM, Mfn(1), PageType::None),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        pg.get_page_type(OTHER, Mfn(1), PageType::Writable),
        Err(Errno::EINVAL)
    );
    pg.get_page_and_type(DOM, Mfn(1), PageType::Shared).unwrap();
    pg.get_page_and_type(DOM, Mfn(1), PageType::Shared).unwrap();
    assert_eq!(
        pg.get_page_and_type(DOM, Mfn(1), PageType::Writable),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        *pg.frames.get(Mfn(1)).unwrap(),
        PageInfo {
            owner: Some(DOM),
            ty: PageType::Shared,
            type_count: 2,
            ref_count: 3,
            pinned: false
        }
    );
    pg.put_page_and_type(Mfn(1));
    pg.put_page_and_type(Mfn(1));
    assert_eq!(env.counts(1), IDLE);
}

#[test]
fn errno_values_are_xens() {
    assert_eq!(Errno::EPERM.0, 1);
    assert_eq!(Errno::ESRCH.0, 3);
    assert_eq!(Errno::ENOMEM.0, 12);
    assert_eq!(Errno::EFAULT.0, 14);
    assert_eq!(Errno::EBUSY.0, 16);
    assert_eq!(Errno::EINVAL.0, 22);
    assert_eq!(Errno::ENOSYS.0, 38);
    assert_eq!(Errno::EOPNOTSUPP.0, 95);
    assert_eq!(Errno::EINVAL.to_hypercall_ret(), -22);
    assert_eq!(Errno::from(GuestFault::HypervisorHole), Errno::EFAULT);
}

// ----- translate and copies ---------------------------------------------------------------

fn walk(env: &mut Env, va: u64, write: bool) -> Result<(Mfn, usize), GuestFault> {
    env.pg().translate(Mfn(L4), va, write)
}

#[test]
fn translate_walks_validated_tables() {
    let mut env = pinned_tree();
    assert_eq!(walk(&mut env, 0x0123, true), Ok((Mfn(DATA_RW), 0x123)));
    assert_eq!(walk(&mut env, 0x1fff, false), Ok((Mfn(DATA_RW2), 0xfff)));
    assert_eq!(walk(&mut env, 0x2000, false), Ok((Mfn(DATA_RO), 0)));
    assert_eq!(walk(&mut env, 0x3008, false), Ok((Mfn(L1), 8)));
}

#[test]
fn translate_refuses_bad_addresses() {
    let mut env = pinned_tree();
    assert_eq!(
        walk(&mut env, 0x4000, false),
        Err(GuestFault::NotPresent { level: 1 })
    );
    assert_eq!(
        walk(&mut env, 0x20_0000, false),
        Err(GuestFault::NotPresent { level: 2 })
    );
    assert_eq!(
        walk(&mut env, 0x4000_0000, false),
        Err(GuestFault::NotPresent { level: 3 })
    );
    assert_eq!(
        walk(&mut env, 0x80_0000_0000, false),
        Err(GuestFault::NotPresent { level: 4 })
    );
    assert_eq!(
        walk(&mut env, 0x2000, true),
        Err(GuestFault::NotWritable { level: 1 })
    );
    assert_eq!(
        walk(&mut env, 0x3000, true),
        Err(GuestFault::NotWritable { level: 1 })
    );
    assert_eq!(
        walk(&mut env, 0xffff_8000_0000_0000, false),
        Err(GuestFault::HypervisorHole)
    );
    assert_eq!(
        walk(&mut env, 0xffff_8123_4567_8000, false),
        Err(GuestFault::HypervisorHole)
    );
    assert_eq!(
        walk(&mut env, 0xffff_87ff_ffff_ffff, true),
        Err(GuestFault::HypervisorHole)
    );
    // Just above the hole is the guest's again (and unmapped here).
    assert_eq!(
        walk(&mut env, 0xffff_8800_0000_0000, false),
        Err(GuestFault::NotPresent { level: 4 })
    );
    for va in [
        0x0000_8000_0000_0000,
        0x8000_0000_0000_0000,
        0xfff0_0000_0000_0000,
        0xffff_7fff_ffff_ffff,
    ] {
        assert_eq!(
            walk(&mut env, va, false),
            Err(GuestFault::NonCanonical),
            "{va:#x}"
        );
    }
    assert_eq!(GuestFault::NonCanonical.errno(), Errno::EFAULT);

    // A read-only upper level forbids writes below it.
    env.update(L3, 0, pte(L2, P | U)).unwrap();
    assert_eq!(
        walk(&mut env, 0x0000, true),
        Err(GuestFault::NotWritable { level: 3 })
    );
    assert_eq!(walk(&mut env, 0x0000, false), Ok((Mfn(DATA_RW), 0)));

    // Entries the guest cannot write are still checked: no user bit, superpages.
    env.set(L1, 0, pte(DATA_RW, P | RW));
    assert_eq!(
        walk(&mut env, 0x0000, false),
        Err(GuestFault::NotUser { level: 1 })
    );
    env.set(L2, 0, pte(L1, P | RW | U | _PAGE_PSE));
    assert_eq!(
        walk(&mut env, 0x0000, false),
        Err(GuestFault::LargePage { level: 2 })
    );
    env.set(L2, 0, pte(NR_FRAMES + 1, P | RW | U));
    assert_eq!(
        walk(&mut env, 0x0000, false),
        Err(GuestFault::BadFrame { level: 2 })
    );
}

#[test]
fn translate_needs_a_validated_root() {
    let mut env = tree();
    assert_eq!(walk(&mut env, 0, false), Err(GuestFault::NotPageTable));
    let mut env = pinned_tree();
    assert_eq!(
        env.pg().translate(Mfn(L3), 0, false),
        Err(GuestFault::NotPageTable)
    );
    assert_eq!(
        env.pg().translate(Mfn(NR_FRAMES), 0, false),
        Err(GuestFault::NotPageTable)
    );
}

#[test]
fn copies_cross_page_boundaries() {
    let mut env = pinned_tree();
    let data: Vec<u8> = (0..64).collect();
    env.pg().copy_to_guest(Mfn(L4), 0xfe0, &data).unwrap();
    let mut tail = [0; 32];
    env.mem.read_bytes(Mfn(DATA_RW), 0xfe0, &mut tail);
    assert_eq!(tail[..], data[..32]);
    let mut head = [0; 32];
    env.mem.read_bytes(Mfn(DATA_RW2), 0, &mut head);
    assert_eq!(head[..], data[32..]);

    let mut back = vec![0; 64];
    env.pg().copy_from_guest(Mfn(L4), 0xfe0, &mut back).unwrap();
    assert_eq!(back, data);

    // Reads may cross into read-only pages, and whole pages copy too.
    env.mem.write_bytes(Mfn(DATA_RO), 0, &[9; 16]);
    let mut big = vec![0; PAGE_SIZE + 16];
    env.pg().copy_from_guest(Mfn(L4), 0x1000, &mut big).unwrap();
    assert_eq!(big[PAGE_SIZE..], [9; 16]);
    env.pg().copy_from_guest(Mfn(L4), 0x0, &mut []).unwrap();

    // A write running into the read-only page changes nothing at all.
    let snap = env.snapshot();
    assert_eq!(
        env.pg().copy_to_guest(Mfn(L4), 0x1ff0, &[1; 32]),
        Err(GuestFault::NotWritable { level: 1 })
    );
    env.assert_unchanged_exactly(&snap);
    // Reads running off the mapped range fail.
    let mut buf = [0; 32];
    assert_eq!(
        env.pg().copy_from_guest(Mfn(L4), 0x3ff0, &mut buf),
        Err(GuestFault::NotPresent { level: 1 })
    );
    assert_eq!(
        env.pg().copy_from_guest(Mfn(L4), u64::MAX - 7, &mut buf),
        Err(GuestFault::NotPresent { level: 4 })
    );
}

// ----- randomized invariant check ------------------------------------------------------------

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// The level the random test mostly uses a frame of `DOM` at (0 = data).
fn intended_level(mfn: u64) -> u8 {
    match mfn {
        1..=3 => 4,
        4..=8 => 3,
        9..=15 => 2,
        16..=25 => 1,
        _ => 0,
    }
}

fn random_frame_of_level(rng: &mut XorShift, level: u8) -> u64 {
    loop {
        let m = 1 + rng.below(40);
        if intended_level(m) == level {
            return m;
        }
    }
}

fn random_entry(rng: &mut XorShift, level: u8) -> u64 {
    match rng.below(100) {
        0..=9 => return 0,
        10..=14 => return rng.next() & !P,
        _ => {}
    }
    let target = if rng.chance(88) {
        random_frame_of_level(rng, level.saturating_sub(1))
    } else {
        rng.below(NR_FRAMES + 6)
    };
    let mut flags = P;
    for (bit, percent) in [
        (RW, if level == 1 { 40 } else { 80 }),
        (U, 70),
        (A, 30),
        (D, 20),
        (_PAGE_NX, 10),
    ] {
        if rng.chance(percent) {
            flags |= bit;
        }
    }
    if rng.chance(3) {
        let bad = [
            _PAGE_PWT,
            _PAGE_PCD,
            _PAGE_PSE,
            _PAGE_GLOBAL,
            _PAGE_AVAIL,
            1 << 55,
        ];
        flags |= bad[rng.below(bad.len() as u64) as usize];
    }
    pte(target, flags)
}

/// Recounts every reference from scratch (entries of validated tables plus pins) and
/// checks it against the frame table, along with the type rules.
fn check_invariants(env: &Env) {
    let n = NR_FRAMES as usize;
    let mut refs = vec![0u32; n];
    let mut types = vec![0u32; n];
    for m in 0..n {
        let info = env.info(m as u64);
        refs[m] = u32::from(info.owner.is_some()) + u32::from(info.pinned);
        types[m] = u32::from(info.pinned);
        assert_eq!(
            info.ty == PageType::None,
            info.type_count == 0,
            "frame {m}: {info:?}"
        );
        if info.pinned {
            assert!(
                info.ty.table_level().is_some(),
                "frame {m}: pinned but {info:?}"
            );
        }
    }
    for t in 0..n {
        let info = env.info(t as u64);
        let Some(level) = info.ty.table_level() else {
            continue;
        };
        assert_eq!(info.owner, Some(DOM));
        for (index, e) in env.mem.entries(t as u64).into_iter().enumerate() {
            if !is_guest_slot(level, index) {
                assert_eq!(e, XEN_SLOTS[index - ROOT_PAGETABLE_FIRST_XEN_SLOT]);
                continue;
            }
            if !present(e) {
                continue;
            }
            assert_eq!(e & disallow_mask(level), 0, "table {t}[{index}] = {e:#x}");
            assert_ne!(e & U, 0, "table {t}[{index}] = {e:#x} lacks the user bit");
            let target = pte_mfn(e).0 as usize;
            assert!(target < n, "table {t}[{index}] points outside memory");
            let tinfo = env.info(target as u64);
            assert_eq!(
                tinfo.owner,
                Some(DOM),
                "table {t}[{index}] maps a foreign frame"
            );
            refs[target] += 1;
            if level > 1 {
                types[target] += 1;
                assert_eq!(
                    Some(tinfo.ty),
                    PageType::for_level(level - 1),
                    "table {t}[{index}]"
                );
            } else if e & RW != 0 {
                types[target] += 1;
                assert_eq!(
                    tinfo.ty,
                    PageType::Writable,
                    "writable mapping of frame {target}"
                );
            }
        }
    }
    for m in 0..n {
        let info = env.info(m as u64);
        assert_eq!(
            (info.ref_count, info.type_count),
            (refs[m], types[m]),
            "frame {m}: {info:?}"
        );
    }
}

#[test]
fn random_operations_keep_counts_exact() {
    let mut successes = [0u32; 3];
    for seed in 1..=4u64 {
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15 ^ seed.wrapping_mul(0x1234_5678_9abc_def1));
        let mut env = Env::new();
        for _ in 0..2500 {
            let snap = env.snapshot();
            let (kind, result) = match rng.below(100) {
                0..=69 => {
                    let table = if rng.chance(95) {
                        1 + rng.below(40)
                    } else {
                        rng.below(NR_FRAMES + 2)
                    };
                    let index = match rng.below(10) {
                        0 => 256 + rng.below(16) as usize,
                        1 => rng.below(512) as usize,
                        _ => rng.below(4) as usize,
                    };
                    let level = intended_level(table).max(1);
                    let value = random_entry(&mut rng, level);
                    (0, env.pg().update_entry(DOM, Mfn(table), index, value))
                }
                70..=84 => {
                    let mfn = 1 + rng.below(40);
                    let level = if rng.chance(80) {
                        intended_level(mfn)
                    } else {
                        rng.below(5) as u8
                    };
                    (1, env.pg().pin(DOM, Mfn(mfn), level))
                }
                _ => {
                    let mfn = if rng.chance(90) {
                        1 + rng.below(25)
                    } else {
                        rng.below(NR_FRAMES)
                    };
                    (2, env.pg().unpin(DOM, Mfn(mfn)))
                }
            };
            match result {
                Ok(()) => successes[kind] += 1,
                Err(_) => env.assert_unchanged(&snap),
            }
            check_invariants(&env);
        }
        // Tear down: unpin everything; then nothing may be left referenced.
        for m in 1..=40 {
            let _ = env.pg().unpin(DOM, Mfn(m));
        }
        check_invariants(&env);
        for m in 1..=40 {
            let info = env.info(m);
            assert_eq!(
                (info.ref_count, info.type_count),
                (1, 0),
                "frame {m} leaked: {info:?}"
            );
        }
    }
    // Make sure the run exercised the interesting paths.
    assert!(
        successes.iter().all(|&s| s > 100),
        "successes per kind: {successes:?}"
    );
}

// ----- foreign mappings and domain teardown --------------------------------------------

/// A pinned tree of `OTHER` (the privileged "builder" domain here): L4 41 -> L3 42 -> L2 43
/// -> L1 44, with slot 0 free for mapping.
fn other_tree() -> Env {
    let mut env = pinned_tree();
    env.set(41, 0, pte(42, P | RW | U));
    env.set(42, 0, pte(43, P | RW | U));
    env.set(43, 0, pte(44, P | RW | U));
    env.pg().pin(OTHER, Mfn(41), 4).unwrap();
    env
}

#[test]
fn foreign_mapping_takes_references_against_the_page_owner() {
    let mut env = other_tree();
    let spare_before = env.counts(SPARE);
    // As its own frame, OTHER may not map DOM's page...
    assert_eq!(env.pg().update_entry(OTHER, Mfn(44), 0, pte(SPARE, P | RW | U)), Err(Errno::EBUSY));
    // ...but it may name DOM as the page owner (the caller checked it is privileged).
    env.pg().update_entry_foreign(OTHER, DOM, Mfn(44), 0, pte(SPARE, P | RW | U)).unwrap();
    assert_eq!(env.counts(SPARE), (2, PageType::Writable, 1, false));
    // A foreign page can never become a page table while writably mapped.
    assert_eq!(env.pg().pin(DOM, Mfn(SPARE), 1), Err(Errno::EINVAL));
    // Only leaf entries may point at the foreign domain: its tables stay out of reach.
    assert_eq!(env.pg().update_entry_foreign(OTHER, DOM, Mfn(43), 1, pte(L1, P | RW | U)), Err(Errno::EINVAL));
    // And the table written must be the caller's own.
    assert_eq!(env.pg().update_entry_foreign(DOM, DOM, Mfn(44), 1, pte(SPARE, P | U)), Err(Errno::EINVAL));
    env.pg().update_entry_foreign(OTHER, DOM, Mfn(44), 0, 0).unwrap();
    assert_eq!(env.counts(SPARE), spare_before);
}

#[test]
fn relinquish_drops_every_reference_a_domain_holds() {
    let mut env = pinned_tree();
    env.pg().pin(DOM, Mfn(L2), 2).unwrap();
    let frames: Vec<Mfn> = env.ft.owned_frames(DOM).collect();
    assert_eq!(frames.len(), 40);
    env.pg().relinquish(DOM, &frames);
    for m in 1..=40 {
        assert_eq!(env.counts(m), IDLE, "frame {m}");
        env.ft.unassign(Mfn(m)).unwrap();
    }
    assert_eq!(env.ft.owned_frames(DOM).count(), 0);
}

#[test]
fn frames_still_mapped_elsewhere_are_orphaned_then_reaped() {
    let mut env = other_tree();
    env.pg().update_entry_foreign(OTHER, DOM, Mfn(44), 0, pte(DATA_RO, P | RW | U)).unwrap();
    let frames: Vec<Mfn> = env.ft.owned_frames(DOM).collect();
    env.pg().relinquish(DOM, &frames);
    let mut orphans = Vec::new();
    for &m in &frames {
        if env.ft.unassign(m).is_err() {
            env.ft.orphan(m);
            orphans.push(m);
        }
    }
    assert_eq!(orphans, [Mfn(DATA_RO)], "only the frame OTHER maps survives");
    assert!(!env.ft.reap(Mfn(DATA_RO)), "still mapped");
    // Nobody can take a new reference to the orphan...
    assert!(env.ft.owned_by(Mfn(DATA_RO), DOM));
    // ...and when the mapping goes, the frame is free to reuse.
    env.pg().update_entry_foreign(OTHER, DOM, Mfn(44), 0, 0).unwrap();
    assert!(env.ft.reap(Mfn(DATA_RO)));
    assert_eq!(*env.ft.get(Mfn(DATA_RO)).unwrap(), PageInfo::default());
}
