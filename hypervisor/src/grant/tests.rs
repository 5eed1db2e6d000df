//! Host tests of the grant state machine over a fake machine: two domains with validated
//! page tables, grant frames in ordinary memory, and the real page-table engine.

use super::copy::{copy, CopyRequest};
use super::map::{map, unmap, MapRequest, UnmapRequest};
use super::teardown::release_domain;
use super::*;
use crate::mm::pagetable::_PAGE_GNTTAB;
use crate::mm::{Errno, FrameMemory, FrameTable, Mfn, PageType, Paging};
use std::collections::HashMap;
use xen_abi::domid::DOMID_SELF;
use xen_abi::grant_table::*;
use xen_abi::mm::*;

const NR_FRAMES: u64 = 96;
const A: DomId = 1;
const B: DomId = 2;
/// Free frames handed to grant tables.
const POOL: core::ops::Range<u64> = 60..96;
static XEN_SLOTS: [u64; 16] = [0; 16];

/// Frame contents; optionally a guest that rewrites the entry under every compare-exchange.
#[derive(Default)]
struct FakeMemory {
    pages: HashMap<u64, Vec<u8>>,
    meddle: bool,
}

impl FakeMemory {
    fn page(&mut self, mfn: Mfn) -> &mut Vec<u8> {
        self.pages.entry(mfn.0).or_insert_with(|| vec![0; 4096])
    }
}

impl FrameMemory for FakeMemory {
    fn read_entry(&self, mfn: Mfn, index: usize) -> u64 {
        let mut b = [0; 8];
        self.read_bytes(mfn, index * 8, &mut b);
        u64::from_le_bytes(b)
    }
    fn write_entry(&mut self, mfn: Mfn, index: usize, value: u64) {
        self.write_bytes(mfn, index * 8, &value.to_le_bytes());
    }
    fn read_bytes(&self, mfn: Mfn, offset: usize, buf: &mut [u8]) {
        match self.pages.get(&mfn.0) {
            Some(p) => buf.copy_from_slice(&p[offset..offset + buf.len()]),
            None => buf.fill(0),
        }
    }
    fn write_bytes(&mut self, mfn: Mfn, offset: usize, buf: &[u8]) {
        self.page(mfn)[offset..offset + buf.len()].copy_from_slice(buf);
    }
}

impl GrantMemory for FakeMemory {
    fn load_u32(&self, mfn: Mfn, offset: usize) -> u32 {
        let mut b = [0; 4];
        self.read_bytes(mfn, offset, &mut b);
        u32::from_le_bytes(b)
    }
    fn compare_exchange_u32(&mut self, mfn: Mfn, offset: usize, current: u32, new: u32) -> Result<u32, u32> {
        if self.meddle {
            // The guest toggles GTF_readonly just before each attempt lands.
            let now = self.load_u32(mfn, offset) ^ u32::from(GTF_READONLY);
            self.write_bytes(mfn, offset, &now.to_le_bytes());
        }
        let found = self.load_u32(mfn, offset);
        if found != current {
            return Err(found);
        }
        self.write_bytes(mfn, offset, &new.to_le_bytes());
        Ok(found)
    }
    fn clear_bits_u16(&mut self, mfn: Mfn, offset: usize, bits: u16) {
        let mut b = [0; 2];
        self.read_bytes(mfn, offset, &mut b);
        let v = u16::from_le_bytes(b) & !bits;
        self.write_bytes(mfn, offset, &v.to_le_bytes());
    }
}

#[derive(Default)]
struct Domains(HashMap<DomId, GrantTable>);

impl GrantTables for Domains {
    fn shared(&mut self, dom: DomId) -> Option<&mut SharedTable> {
        self.0.get_mut(&dom).map(|g| &mut g.shared)
    }
    fn maptrack(&mut self, dom: DomId) -> Option<&mut Maptrack> {
        self.0.get_mut(&dom).map(|g| &mut g.maptrack)
    }
}

/// Page-table frames of a domain: L4, L3, L2, L1, then eight data frames that the L1's
/// first eight slots map writable (va 0x0000..0x8000).
struct Layout {
    base: u64,
}

impl Layout {
    fn l4(&self) -> Mfn {
        Mfn(self.base)
    }
    fn l1(&self) -> Mfn {
        Mfn(self.base + 3)
    }
    fn data(&self, i: u64) -> Mfn {
        Mfn(self.base + 4 + i)
    }
}

const LAYOUT_A: Layout = Layout { base: 1 };
const LAYOUT_B: Layout = Layout { base: 21 };
/// An address whose L1 slot is empty in both domains.
const FREE_VA: u64 = 100 << 12;
const FREE_VA2: u64 = 101 << 12;

fn layout(dom: DomId) -> &'static Layout {
    if dom == A {
        &LAYOUT_A
    } else {
        &LAYOUT_B
    }
}

struct Env {
    ft: FrameTable,
    mem: FakeMemory,
    doms: Domains,
    next_free: u64,
}

fn pte(mfn: Mfn, flags: u64) -> u64 {
    mfn.addr() | flags
}

impl Env {
    fn new() -> Env {
        let mut env = Env { ft: FrameTable::new(NR_FRAMES), mem: FakeMemory::default(), doms: Domains::default(), next_free: POOL.start };
        for dom in [A, B] {
            let l = layout(dom);
            for m in l.base..l.base + 12 {
                env.ft.assign(Mfn(m), dom).unwrap();
            }
            env.mem.write_entry(l.l4(), 0, pte(Mfn(l.base + 1), PAGE_PRESENT | PAGE_RW | PAGE_USER));
            env.mem.write_entry(Mfn(l.base + 1), 0, pte(Mfn(l.base + 2), PAGE_PRESENT | PAGE_RW | PAGE_USER));
            env.mem.write_entry(Mfn(l.base + 2), 0, pte(l.l1(), PAGE_PRESENT | PAGE_RW | PAGE_USER));
            for i in 0..8 {
                env.mem.write_entry(l.l1(), i as usize, pte(l.data(i), PAGE_PRESENT | PAGE_RW | PAGE_USER));
            }
            env.pg().pin(dom, l.l4(), 4).unwrap();
            env.doms.0.insert(dom, GrantTable::new(GrantLimits { max_grant_frames: 2, max_maptrack_frames: 1 }));
        }
        env.setup(A, 1).unwrap();
        env
    }

    fn pg(&mut self) -> Paging<'_, FakeMemory> {
        Paging::new(&mut self.ft, &mut self.mem, &XEN_SLOTS)
    }

    /// `setup_table` for `dom` with free frames from the pool.
    fn setup(&mut self, dom: DomId, nr: u32) -> Result<(), i16> {
        let missing = self.doms.0[&dom].shared.frames_missing(nr)?;
        let new: Vec<Mfn> = (0..missing as u64).map(|i| Mfn(self.next_free + i)).collect();
        let mut paging = Paging::new(&mut self.ft, &mut self.mem, &XEN_SLOTS);
        self.doms.0.get_mut(&dom).unwrap().shared.add_frames(&mut paging, dom, &new)?;
        self.next_free += u64::from(missing);
        Ok(())
    }

    /// The granter's side of the protocol: domid and frame, then the flags.
    fn grant(&mut self, granter: DomId, gref: u32, to: DomId, frame: Mfn, flags: u16) {
        let at = self.doms.0[&granter].shared.entry(gref).unwrap();
        self.mem.write_bytes(at.frame, at.offset + 2, &to.to_le_bytes());
        self.mem.write_bytes(at.frame, at.offset + 4, &(frame.0 as u32).to_le_bytes());
        self.mem.write_bytes(at.frame, at.offset, &flags.to_le_bytes());
    }

    fn flags(&self, granter: DomId, gref: u32) -> u16 {
        self.doms.0[&granter].shared.entry(gref).unwrap().flags(&self.mem)
    }

    /// The granter's revoke: compare-exchange of the flags to 0, refused while in use.
    fn revoke(&mut self, granter: DomId, gref: u32) -> bool {
        let at = self.doms.0[&granter].shared.entry(gref).unwrap();
        let word = self.mem.load_u32(at.frame, at.offset);
        if word as u16 & (GTF_READING | GTF_WRITING) != 0 {
            return false;
        }
        self.mem.compare_exchange_u32(at.frame, at.offset, word, word & 0xffff_0000).is_ok()
    }

    fn map(&mut self, mapper: DomId, granter: DomId, gref: u32, va: u64, flags: u32) -> Result<map::Mapped, i16> {
        let op = GnttabMapGrantRef { host_addr: va, flags, ref_: gref, dom: granter, ..Default::default() };
        let req = MapRequest::parse(&op)?;
        let mut paging = Paging::new(&mut self.ft, &mut self.mem, &XEN_SLOTS);
        map(&mut paging, &mut self.doms, mapper, Some(layout(mapper).l4()), &req)
    }

    fn unmap(&mut self, mapper: DomId, handle: u32, va: u64, dev: u64) -> Result<(), i16> {
        let req = UnmapRequest { handle, host_addr: va, dev_bus_addr: dev };
        let mut paging = Paging::new(&mut self.ft, &mut self.mem, &XEN_SLOTS);
        unmap(&mut paging, &mut self.doms, mapper, Some(layout(mapper).l4()), &req)
    }

    fn copy(&mut self, caller: DomId, op: &GnttabCopy) -> Result<(), i16> {
        let req = CopyRequest::parse(op, caller)?;
        let mut paging = Paging::new(&mut self.ft, &mut self.mem, &XEN_SLOTS);
        copy(&mut paging, &mut self.doms, caller, &req)
    }

    fn l1e(&self, dom: DomId, va: u64) -> u64 {
        self.mem.read_entry(layout(dom).l1(), (va >> 12) as usize)
    }

    /// (general references, type, type references) of a frame.
    fn counts(&self, mfn: Mfn) -> (u32, PageType, u32) {
        let i = self.ft.get(mfn).unwrap();
        (i.ref_count, i.ty, i.type_count)
    }

    fn pins(&self, granter: DomId, gref: u32) -> active::Pins {
        self.doms.0[&granter].shared.active(gref).unwrap().pins
    }

    /// A domain's death as `domain::destroy` runs it: tables relinquished, grants released,
    /// then every frame freed or, if still referenced, orphaned.
    fn destroy(&mut self, dom: DomId) -> Vec<Mfn> {
        let frames: Vec<Mfn> = self.ft.owned_frames(dom).collect();
        self.pg().relinquish(dom, &frames);
        let mut paging = Paging::new(&mut self.ft, &mut self.mem, &XEN_SLOTS);
        release_domain(&mut paging, &mut self.doms, dom);
        self.doms.0.remove(&dom);
        let mut orphans = Vec::new();
        for mfn in frames {
            if self.ft.unassign(mfn).is_err() {
                self.ft.orphan(mfn);
                orphans.push(mfn);
            }
        }
        orphans
    }
}

const RW_MAP: u32 = GNTMAP_HOST_MAP;
const RO_MAP: u32 = GNTMAP_HOST_MAP | GNTMAP_READONLY;
/// An unused data frame's counts: the allocation reference only.
const IDLE: (u32, PageType, u32) = (1, PageType::None, 0);

#[test]
fn setup_grows_within_the_limit_and_never_shrinks() {
    let mut env = Env::new();
    let table = &env.doms.0[&A].shared;
    assert_eq!((table.nr_frames(), table.nr_entries()), (1, 512));
    let frame = table.frames()[0];
    // The guest may map its table writable, and it can never become a page table.
    assert_eq!(env.counts(frame), (2, PageType::Writable, 1));
    assert_eq!(env.setup(A, 3), Err(GNTST_GENERAL_ERROR), "beyond max_grant_frames");
    env.setup(A, 1).unwrap();
    env.setup(A, 0).unwrap();
    assert_eq!(env.doms.0[&A].shared.nr_frames(), 1, "no shrinking");
    env.setup(A, 2).unwrap();
    assert_eq!(env.doms.0[&A].shared.nr_entries(), 1024);
    assert!(env.doms.0[&A].shared.entry(1023).is_some() && env.doms.0[&A].shared.entry(1024).is_none());
    // A frame that is not free is refused, and nothing changes.
    let mut paging = Paging::new(&mut env.ft, &mut env.mem, &XEN_SLOTS);
    let err = env.doms.0.get_mut(&B).unwrap().shared.add_frames(&mut paging, B, &[Mfn(90), LAYOUT_A.data(0)]);
    assert_eq!(err, Err(GNTST_GENERAL_ERROR));
    assert_eq!(env.doms.0[&B].shared.nr_frames(), 0);
    assert_eq!(env.counts(Mfn(90)), (0, PageType::None, 0));
}

#[test]
fn map_write_unmap_revoke() {
    let mut env = Env::new();
    let frame = LAYOUT_A.data(7);
    // The page is mapped writable by A itself already: one type reference from that.
    let before = env.counts(frame);
    env.grant(A, 8, B, frame, GTF_PERMIT_ACCESS);
    let m = env.map(B, A, 8, FREE_VA, RW_MAP).unwrap();
    assert_eq!(m.frame, frame);
    assert_eq!(env.flags(A, 8), GTF_PERMIT_ACCESS | GTF_READING | GTF_WRITING);
    assert_eq!(env.pins(A, 8), active::Pins { host_rw: 1, ..Default::default() });
    assert_eq!(env.counts(frame), (before.0 + 1, PageType::Writable, before.2 + 1));
    let e = env.l1e(B, FREE_VA);
    assert_eq!(pte_mfn(e), frame.0);
    assert_eq!(e & (PAGE_PRESENT | PAGE_RW | PAGE_USER | PAGE_NX | _PAGE_GNTTAB), PAGE_PRESENT | PAGE_RW | PAGE_USER | PAGE_NX | _PAGE_GNTTAB);
    assert!(!env.revoke(A, 8), "revoke refused while mapped");

    // The mapper cannot touch the grant entry itself.
    let l1 = LAYOUT_B.l1();
    for new in [0, pte(LAYOUT_B.data(0), PAGE_PRESENT | PAGE_RW | PAGE_USER), e & !PAGE_RW] {
        assert_eq!(env.pg().update_entry(B, l1, 100, new), Err(Errno::EINVAL));
    }

    env.unmap(B, m.handle, FREE_VA, 0).unwrap();
    assert_eq!(env.l1e(B, FREE_VA), 0);
    assert_eq!(env.flags(A, 8), GTF_PERMIT_ACCESS);
    assert_eq!(env.counts(frame), before);
    assert!(env.doms.0[&B].maptrack.is_empty());
    assert_eq!(env.unmap(B, m.handle, FREE_VA, 0), Err(GNTST_BAD_HANDLE), "handle gone");
    assert!(env.revoke(A, 8));
    assert_eq!(env.map(B, A, 8, FREE_VA, RW_MAP), Err(GNTST_GENERAL_ERROR), "revoked");
    assert_eq!(env.counts(frame), before);
}

#[test]
fn map_statuses_are_xens_and_change_nothing() {
    let mut env = Env::new();
    let frame = LAYOUT_A.data(5);
    env.grant(A, 9, B, frame, GTF_PERMIT_ACCESS | GTF_READONLY);
    env.grant(A, 10, A, frame, GTF_PERMIT_ACCESS);
    env.grant(A, 11, B, LAYOUT_B.data(0), GTF_PERMIT_ACCESS);
    env.grant(A, 12, B, frame, GTF_PERMIT_ACCESS | GTF_SUB_PAGE);
    env.grant(A, 13, B, LAYOUT_A.l1(), GTF_PERMIT_ACCESS);
    let before = env.counts(frame);
    let cases: [(DomId, u32, u64, u32, i16); 12] = [
        (7, 9, FREE_VA, RO_MAP, GNTST_BAD_DOMAIN),
        (DOMID_SELF, 9, FREE_VA, RO_MAP, GNTST_BAD_DOMAIN),
        (A, 512, FREE_VA, RO_MAP, GNTST_BAD_GNTREF),
        (A, 9, FREE_VA, GNTMAP_READONLY, GNTST_BAD_GNTREF),
        (A, 9, FREE_VA, RO_MAP | GNTMAP_CONTAINS_PTE, GNTST_GENERAL_ERROR),
        (A, 9, FREE_VA, RW_MAP, GNTST_GENERAL_ERROR), // read-only grant mapped writable
        (A, 10, FREE_VA, RO_MAP, GNTST_GENERAL_ERROR), // granted to another domain
        (A, 14, FREE_VA, RO_MAP, GNTST_GENERAL_ERROR), // never granted
        (A, 11, FREE_VA, RO_MAP, GNTST_BAD_PAGE),      // not the granter's frame
        (A, 12, FREE_VA, RO_MAP, GNTST_GENERAL_ERROR), // sub-page grants cannot be mapped
        (A, 13, FREE_VA, RW_MAP, GNTST_GENERAL_ERROR), // a page table cannot be writable
        (A, 9, 0xffff_8000_0000_0000, RO_MAP, GNTST_BAD_VIRT_ADDR),
    ];
    for (dom, gref, va, flags, status) in cases {
        assert_eq!(env.map(B, dom, gref, va, flags).map(|m| m.handle), Err(status), "map {dom}/{gref} at {va:#x} flags {flags:#x}");
        assert_eq!(env.counts(frame), before);
        assert_eq!(env.l1e(B, FREE_VA), 0);
        for gref in 9..=14 {
            assert!(!env.pins(A, gref).any(), "gref {gref} pinned");
            assert_eq!(env.flags(A, gref) & (GTF_READING | GTF_WRITING), 0, "gref {gref} marked");
        }
    }
    assert_eq!(env.map(B, A, 9, 1 << 47, RO_MAP), Err(GNTST_BAD_VIRT_ADDR), "non-canonical");
    assert_eq!(env.map(B, A, 9, 1 << 39, RO_MAP), Err(GNTST_GENERAL_ERROR), "no L1 there");
    // A read-only map of the page table is fine.
    let m = env.map(B, A, 13, FREE_VA, RO_MAP).unwrap();
    env.unmap(B, m.handle, FREE_VA, 0).unwrap();
    assert!(env.doms.0[&B].maptrack.is_empty());
}

#[test]
fn a_present_entry_is_replaced_but_a_grant_entry_is_not() {
    let mut env = Env::new();
    let frame = LAYOUT_A.data(6);
    env.grant(A, 8, B, frame, GTF_PERMIT_ACCESS);
    env.grant(A, 9, B, frame, GTF_PERMIT_ACCESS);
    // B's va 0x3000 maps its own data frame 3 writable: the grant replaces that entry.
    let own = LAYOUT_B.data(3);
    assert_eq!(env.counts(own), (2, PageType::Writable, 1));
    let m = env.map(B, A, 8, 0x3000, RW_MAP).unwrap();
    assert_eq!(env.counts(own), IDLE, "the replaced entry's references went");
    assert_eq!(env.map(B, A, 9, 0x3000, RO_MAP), Err(GNTST_GENERAL_ERROR), "a grant entry stays");
    assert_eq!(env.flags(A, 9), GTF_PERMIT_ACCESS);
    env.unmap(B, m.handle, 0x3000, 0).unwrap();
    assert_eq!(env.l1e(B, 0x3000), 0, "the guest maps its own frame back itself");
}

#[test]
fn unmap_checks_the_entry_and_keeps_the_mapping_on_mismatch() {
    let mut env = Env::new();
    let frame = LAYOUT_A.data(4);
    env.grant(A, 8, B, frame, GTF_PERMIT_ACCESS);
    let m = env.map(B, A, 8, FREE_VA, RW_MAP | GNTMAP_DEVICE_MAP).unwrap();
    let held = env.counts(frame);
    for (va, dev, status) in [
        (FREE_VA2, 0, GNTST_GENERAL_ERROR),              // nothing mapped there
        (0x2000, 0, GNTST_GENERAL_ERROR),                // an ordinary entry
        (FREE_VA, frame.addr() + 4096, GNTST_GENERAL_ERROR), // wrong bus address
        (1 << 63, 0, GNTST_BAD_VIRT_ADDR),
    ] {
        assert_eq!(env.unmap(B, m.handle, va, dev), Err(status));
        assert_eq!(env.counts(frame), held);
        assert_eq!(env.doms.0[&B].maptrack.len(), 1);
    }
    assert_eq!(env.unmap(B, 77, FREE_VA, 0), Err(GNTST_BAD_HANDLE));
    assert_eq!(env.unmap(A, m.handle, FREE_VA, 0), Err(GNTST_BAD_HANDLE), "another domain's handle");
    // Zero addresses: nothing to do.
    env.unmap(B, m.handle, 0, 0).unwrap();
    assert_eq!(env.counts(frame), held);
    // The host part alone, then the device part.
    env.unmap(B, m.handle, FREE_VA, 0).unwrap();
    assert_eq!(env.pins(A, 8), active::Pins { dev_rw: 1, ..Default::default() });
    assert_eq!(env.flags(A, 8), GTF_PERMIT_ACCESS | GTF_READING | GTF_WRITING);
    assert_eq!(env.unmap(B, m.handle, FREE_VA, 0), Ok(()), "host part already gone: nothing to do");
    env.unmap(B, m.handle, 0, frame.addr()).unwrap();
    assert_eq!(env.flags(A, 8), GTF_PERMIT_ACCESS);
    assert!(env.doms.0[&B].maptrack.is_empty());
    assert_eq!(env.counts(frame), (2, PageType::Writable, 1));
}

#[test]
fn pins_track_uses_and_one_user_at_a_time() {
    let mut env = Env::new();
    let frame = LAYOUT_A.data(3);
    env.grant(A, 8, B, frame, GTF_PERMIT_ACCESS);
    let ro = env.map(B, A, 8, FREE_VA, RO_MAP).unwrap();
    assert_eq!(env.flags(A, 8), GTF_PERMIT_ACCESS | GTF_READING);
    let rw = env.map(B, A, 8, FREE_VA2, RW_MAP).unwrap();
    assert_eq!(env.flags(A, 8), GTF_PERMIT_ACCESS | GTF_READING | GTF_WRITING);
    assert_eq!(env.pins(A, 8), active::Pins { host_ro: 1, host_rw: 1, ..Default::default() });
    // While pinned, the entry's domid is not looked at again, but A cannot use it.
    env.grant(A, 8, A, frame, GTF_PERMIT_ACCESS | GTF_READING | GTF_WRITING);
    assert_eq!(env.map(A, A, 8, FREE_VA, RO_MAP), Err(GNTST_GENERAL_ERROR));
    env.unmap(B, rw.handle, FREE_VA2, 0).unwrap();
    assert_eq!(env.flags(A, 8), GTF_PERMIT_ACCESS | GTF_READING, "writing cleared with the last writer");
    // Unmapping with the wrong access (the read-only mapping named at the writable one's
    // address, now empty) fails.
    assert_eq!(env.unmap(B, ro.handle, FREE_VA2, 0), Err(GNTST_GENERAL_ERROR));
    env.unmap(B, ro.handle, FREE_VA, 0).unwrap();
    assert_eq!(env.flags(A, 8), GTF_PERMIT_ACCESS);
    assert_eq!(env.counts(frame), (2, PageType::Writable, 1));
}

#[test]
fn a_device_map_reports_the_bus_address() {
    let mut env = Env::new();
    let frame = LAYOUT_A.data(2);
    env.grant(A, 8, B, frame, GTF_PERMIT_ACCESS | GTF_READONLY);
    let m = env.map(B, A, 8, 0, GNTMAP_DEVICE_MAP | GNTMAP_READONLY).unwrap();
    assert_eq!(m.frame.addr(), frame.addr());
    assert_eq!(env.pins(A, 8), active::Pins { dev_ro: 1, ..Default::default() });
    assert_eq!(env.counts(frame), (3, PageType::Writable, 1), "a read-only use takes no type");
    env.unmap(B, m.handle, 0, frame.addr()).unwrap();
    assert_eq!(env.counts(frame), (2, PageType::Writable, 1));
    assert_eq!(env.flags(A, 8), GTF_PERMIT_ACCESS | GTF_READONLY);
}

#[test]
fn maptrack_and_pin_limits() {
    let mut env = Env::new();
    env.grant(A, 8, B, LAYOUT_A.data(1), GTF_PERMIT_ACCESS | GTF_READONLY);
    // One maptrack frame: 256 handles.
    let handles: Vec<u32> = (0..128).map(|_| env.map(B, A, 8, 0, GNTMAP_DEVICE_MAP | GNTMAP_READONLY).unwrap().handle).collect();
    assert_eq!(env.map(B, A, 8, 0, GNTMAP_DEVICE_MAP | GNTMAP_READONLY), Err(GNTST_GENERAL_ERROR), "pin counter at its ceiling");
    env.grant(A, 9, B, LAYOUT_A.data(1), GTF_PERMIT_ACCESS | GTF_READONLY);
    for _ in 0..128 {
        env.map(B, A, 9, 0, GNTMAP_DEVICE_MAP | GNTMAP_READONLY).unwrap();
    }
    env.grant(A, 10, B, LAYOUT_A.data(1), GTF_PERMIT_ACCESS | GTF_READONLY);
    assert_eq!(env.map(B, A, 10, 0, GNTMAP_DEVICE_MAP | GNTMAP_READONLY), Err(GNTST_NO_DEVICE_SPACE));
    assert!(!env.pins(A, 10).any());
    env.unmap(B, handles[5], 0, LAYOUT_A.data(1).addr()).unwrap();
    env.map(B, A, 10, 0, GNTMAP_DEVICE_MAP | GNTMAP_READONLY).unwrap();
    assert_eq!(env.counts(LAYOUT_A.data(1)), (2 + 256, PageType::Writable, 1));
    // B's death releases all 256.
    env.destroy(B);
    assert_eq!(env.counts(LAYOUT_A.data(1)), (2, PageType::Writable, 1));
    for gref in 8..=10 {
        assert_eq!(env.flags(A, gref), GTF_PERMIT_ACCESS | GTF_READONLY);
    }
}

#[test]
fn an_entry_that_keeps_changing_is_refused() {
    let mut env = Env::new();
    env.grant(A, 8, B, LAYOUT_A.data(1), GTF_PERMIT_ACCESS);
    env.mem.meddle = true;
    assert_eq!(env.map(B, A, 8, FREE_VA, RO_MAP), Err(GNTST_GENERAL_ERROR));
    env.mem.meddle = false;
    assert!(!env.pins(A, 8).any());
    env.map(B, A, 8, FREE_VA, RO_MAP).unwrap();
}

fn copy_op(source: GnttabCopyPtr, dest: GnttabCopyPtr, len: u16, flags: u16) -> GnttabCopy {
    GnttabCopy { source, dest, len, flags, ..Default::default() }
}

#[test]
fn copies_in_both_directions() {
    let mut env = Env::new();
    let granted = LAYOUT_A.data(1);
    let own = LAYOUT_B.data(1);
    env.grant(A, 8, B, granted, GTF_PERMIT_ACCESS);
    env.mem.write_bytes(granted, 100, b"from the granter");
    let held = (env.counts(granted), env.counts(own));
    // gref -> own frame.
    let op = copy_op(GnttabCopyPtr::from_gref(8, A, 100), GnttabCopyPtr::from_gmfn(own.0, DOMID_SELF, 7), 16, GNTCOPY_SOURCE_GREF);
    env.copy(B, &op).unwrap();
    let mut buf = [0; 16];
    env.mem.read_bytes(own, 7, &mut buf);
    assert_eq!(&buf, b"from the granter");
    // own frame -> gref.
    env.mem.write_bytes(own, 0, b"back");
    let op = copy_op(GnttabCopyPtr::from_gmfn(own.0, DOMID_SELF, 0), GnttabCopyPtr::from_gref(8, A, 4092), 4, GNTCOPY_DEST_GREF);
    env.copy(B, &op).unwrap();
    let mut buf = [0; 4];
    env.mem.read_bytes(granted, 4092, &mut buf);
    assert_eq!(&buf, b"back");
    // Nothing stays pinned or referenced.
    assert_eq!((env.counts(granted), env.counts(own)), held);
    assert_eq!(env.flags(A, 8), GTF_PERMIT_ACCESS);
    // A copy within the granter's own grant, overlapping, behaves like memmove.
    env.grant(A, 9, A, granted, GTF_PERMIT_ACCESS);
    let op = copy_op(GnttabCopyPtr::from_gref(9, DOMID_SELF, 100), GnttabCopyPtr::from_gref(9, DOMID_SELF, 104), 8, GNTCOPY_SOURCE_GREF | GNTCOPY_DEST_GREF);
    env.copy(A, &op).unwrap();
    let mut buf = [0; 12];
    env.mem.read_bytes(granted, 100, &mut buf);
    assert_eq!(&buf, b"fromfrom the");
}

#[test]
fn copy_statuses_are_xens() {
    let mut env = Env::new();
    let granted = LAYOUT_A.data(1);
    let own = LAYOUT_B.data(1);
    env.grant(A, 8, B, granted, GTF_PERMIT_ACCESS | GTF_READONLY);
    env.grant(A, 9, B, granted, GTF_PERMIT_ACCESS);
    let gref = |r| GnttabCopyPtr::from_gref(r, A, 0);
    let frame = |m: Mfn, dom| GnttabCopyPtr::from_gmfn(m.0, dom, 0);
    let cases = [
        (copy_op(gref(8), frame(own, B), 8, GNTCOPY_SOURCE_GREF), GNTST_PERMISSION_DENIED),
        (copy_op(GnttabCopyPtr::from_gref(8, 9, 0), frame(own, DOMID_SELF), 8, GNTCOPY_SOURCE_GREF), GNTST_BAD_DOMAIN),
        (copy_op(gref(600), frame(own, DOMID_SELF), 8, GNTCOPY_SOURCE_GREF), GNTST_BAD_GNTREF),
        (copy_op(frame(own, DOMID_SELF), gref(8), 8, GNTCOPY_DEST_GREF), GNTST_GENERAL_ERROR), // read-only grant
        (copy_op(gref(8), frame(granted, DOMID_SELF), 8, GNTCOPY_SOURCE_GREF), GNTST_BAD_PAGE),
        (copy_op(gref(8), frame(LAYOUT_B.l1(), DOMID_SELF), 8, GNTCOPY_SOURCE_GREF), GNTST_GENERAL_ERROR), // a page table
        (copy_op(gref(8), GnttabCopyPtr::from_gmfn(own.0, DOMID_SELF, 4000), 97, GNTCOPY_SOURCE_GREF), GNTST_BAD_COPY_ARG),
        (copy_op(GnttabCopyPtr::from_gref(9, A, 1), gref(9), 4096, GNTCOPY_SOURCE_GREF | GNTCOPY_DEST_GREF), GNTST_BAD_COPY_ARG),
    ];
    let held = (env.counts(granted), env.counts(own), env.counts(LAYOUT_B.l1()));
    for (op, status) in cases {
        assert_eq!(env.copy(B, &op), Err(status), "{op:?}");
        assert_eq!((env.counts(granted), env.counts(own), env.counts(LAYOUT_B.l1())), held);
        assert_eq!(env.flags(A, 8), GTF_PERMIT_ACCESS | GTF_READONLY);
        assert_eq!(env.flags(A, 9), GTF_PERMIT_ACCESS);
    }
    // A copy while the grant is mapped by the same domain adds to its pins, then leaves them.
    let m = env.map(B, A, 9, FREE_VA, RO_MAP).unwrap();
    env.copy(B, &copy_op(frame(own, DOMID_SELF), gref(9), 8, GNTCOPY_DEST_GREF)).unwrap();
    assert_eq!(env.flags(A, 9), GTF_PERMIT_ACCESS | GTF_READING);
    env.unmap(B, m.handle, FREE_VA, 0).unwrap();
}

#[test]
fn a_dying_mapper_releases_its_mappings() {
    let mut env = Env::new();
    let frame = LAYOUT_A.data(1);
    env.grant(A, 8, B, frame, GTF_PERMIT_ACCESS);
    env.map(B, A, 8, FREE_VA, RW_MAP).unwrap();
    env.map(B, A, 8, 0x1000, RO_MAP).unwrap();
    assert!(!env.revoke(A, 8));
    let orphans = env.destroy(B);
    assert!(orphans.is_empty(), "B leaves nothing behind: {orphans:?}");
    assert_eq!(env.counts(frame), (2, PageType::Writable, 1));
    assert!(env.revoke(A, 8), "A may revoke once B is gone");
    for m in 21..33 {
        assert_eq!(env.ft.get(Mfn(m)).unwrap().owner, None, "frame {m}");
    }
}

#[test]
fn a_dying_granter_leaves_an_orphan_until_the_unmap() {
    let mut env = Env::new();
    let frame = LAYOUT_A.data(1);
    env.grant(A, 8, B, frame, GTF_PERMIT_ACCESS);
    let m = env.map(B, A, 8, FREE_VA, RW_MAP).unwrap();
    let table_frame = env.doms.0[&A].shared.frames()[0];
    let orphans = env.destroy(A);
    assert_eq!(orphans, [frame], "only the mapped frame outlives A");
    assert_eq!(env.ft.get(table_frame).unwrap().owner, None, "the grant frame was freed");
    // B's mapping still works, then its unmap drops the last reference.
    assert_eq!(pte_mfn(env.l1e(B, FREE_VA)), frame.0);
    env.unmap(B, m.handle, FREE_VA, 0).unwrap();
    assert!(env.ft.reap(frame), "the orphan is reaped");
}

#[test]
fn a_domain_mapping_its_own_grant_dies_cleanly() {
    let mut env = Env::new();
    let frame = LAYOUT_A.data(1);
    env.grant(A, 8, A, frame, GTF_PERMIT_ACCESS);
    env.map(A, A, 8, FREE_VA, RW_MAP).unwrap();
    env.copy(A, &copy_op(GnttabCopyPtr::from_gref(8, DOMID_SELF, 0), GnttabCopyPtr::from_gmfn(frame.0, DOMID_SELF, 8), 8, GNTCOPY_SOURCE_GREF)).unwrap();
    assert!(env.destroy(A).is_empty());
    assert_eq!(env.ft.owned_frames(A).count(), 0);
}
