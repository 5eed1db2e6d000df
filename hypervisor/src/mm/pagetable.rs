//! PV page-table validation and checked guest memory access.
//!
//! A 64-bit PV guest writes its own page tables, but only through the hypervisor: the
//! tables are mapped read-only in the guest, and every change arrives as an
//! `mmu_update` request. These are Xen's rules, reimplemented from `xen/arch/x86/mm.c`:
//!
//! - Each frame has a general reference count and a typed use count (see
//!   [`super::frame_table`]). Types are exclusive, and a frame changes type only when its
//!   type count is zero.
//! - A frame becomes an Ln table (type count 0 -> 1) only after every entry has been
//!   checked at level n, and each present entry then holds references on its target: a
//!   general one always, plus an L(n-1) type reference for L2-L4 entries and a `Writable`
//!   type reference for writable L1 entries. So no frame can be both a page table and
//!   writable, which is the whole point.
//! - When the last type reference of a table goes, its entries' references go too,
//!   recursively.
//! - Slots 256-271 of every L4 belong to the hypervisor.
//! - L1 entries marked `_PAGE_GNTTAB` are grant mappings (`crate::grant`): guests can
//!   neither write nor replace them, and their references belong to the mapper's maptrack.
//!
//! Linear (self-mapping) page tables, superpages, I/O memory and foreign mappings are
//! not supported: all of them are refused.

use super::addr::{DomId, Mfn, PAGE_SHIFT, PAGE_SIZE};
use super::consts::*;
use super::frame_table::{FrameTable, PageInfo, PageType};
use super::Errno;

/// Access to the contents of machine frames. The hypervisor implements it over its
/// direct map of machine memory; tests implement it over a map of byte arrays. Callers
/// in this module always pass an `index < 512` and `offset + len <= PAGE_SIZE`.
pub trait FrameMemory {
    /// Reads the 8-byte entry `index` (0..512) of frame `mfn`.
    fn read_entry(&self, mfn: Mfn, index: usize) -> u64;
    /// Writes the 8-byte entry `index` (0..512) of frame `mfn`.
    fn write_entry(&mut self, mfn: Mfn, index: usize, value: u64);
    /// Copies `buf.len()` bytes at `offset` of frame `mfn` into `buf`.
    fn read_bytes(&self, mfn: Mfn, offset: usize, buf: &mut [u8]);
    /// Copies `buf` to `offset` of frame `mfn`.
    fn write_bytes(&mut self, mfn: Mfn, offset: usize, buf: &[u8]);
    /// Copies `len` bytes from `src_offset` of `src` to `dst_offset` of `dst`, as `memmove`
    /// (the ranges may overlap when `src == dst`). The default goes through a buffer; the
    /// direct map copies frame to frame.
    fn copy_bytes(&mut self, src: Mfn, src_offset: usize, dst: Mfn, dst_offset: usize, len: usize) {
        let mut buf = [0u8; PAGE_SIZE];
        let buf = &mut buf[..len];
        self.read_bytes(src, src_offset, buf);
        self.write_bytes(dst, dst_offset, buf);
    }
}

/// Why a guest virtual address could not be used by the hypervisor's guest accessors.
/// Every variant becomes `EFAULT` for the guest; the detail is for logs and tests.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum GuestFault {
    /// The address is not canonical (bits 63-47 differ).
    NonCanonical,
    /// The address lies in the hypervisor's reserved range (L4 slots 256-271).
    HypervisorHole,
    /// The root given is not a frame currently validated as an L4 table.
    NotPageTable,
    /// The entry at `level` is not present.
    NotPresent {
        /// Page-table level of the entry (4 = root).
        level: u8,
    },
    /// The entry at `level` lacks the user bit.
    NotUser {
        /// Page-table level of the entry.
        level: u8,
    },
    /// A write was requested and the entry at `level` is read-only.
    NotWritable {
        /// Page-table level of the entry.
        level: u8,
    },
    /// The entry at `level` (2 or 3) maps a superpage, which PV guests may not use.
    LargePage {
        /// Page-table level of the entry.
        level: u8,
    },
    /// The entry at `level` points outside the frame table.
    BadFrame {
        /// Page-table level of the entry.
        level: u8,
    },
}

impl GuestFault {
    /// The errno a hypercall reports for any bad guest pointer (`EFAULT`, as Xen's
    /// `copy_from_guest` failures do).
    pub const fn errno(self) -> Errno {
        Errno::EFAULT
    }
}

impl From<GuestFault> for Errno {
    fn from(fault: GuestFault) -> Errno {
        fault.errno()
    }
}

/// The page-table engine: the frame table and frame contents it works on, plus the
/// hypervisor's own L4 entries that every validated L4 receives in slots 256-271.
pub struct Paging<'a, M: FrameMemory> {
    /// Ownership, types and counts of all frames.
    pub frames: &'a mut FrameTable,
    /// Contents of the frames.
    pub mem: &'a mut M,
    /// The values of L4 slots 256..=271 in every guest L4 (Xen's `init_xen_l4_slots`).
    pub xen_l4_slots: &'a [u64; ROOT_PAGETABLE_PV_XEN_SLOTS],
}

/// The machine frame an entry points to.
fn pte_mfn(entry: u64) -> Mfn {
    Mfn((entry & PADDR_MASK & PAGE_MASK) >> PAGE_SHIFT)
}

fn present(entry: u64) -> bool {
    entry & _PAGE_PRESENT != 0
}

pub use super::consts::_PAGE_GNTTAB;

/// Whether an L1 entry is a grant mapping (present, with [`_PAGE_GNTTAB`]). Only the grant
/// code writes such entries and only it may remove them: the references behind them belong
/// to the mapper's maptrack, not to the entry.
pub fn is_grant_entry(entry: u64) -> bool {
    present(entry) && entry & _PAGE_GNTTAB != 0
}

/// Flag bits a guest may not set in a present entry of `level`.
fn disallow_mask(level: u8) -> u64 {
    if level == 1 {
        L1_DISALLOW_MASK
    } else {
        BASE_DISALLOW_MASK
    }
}

/// Whether slot `index` of a table of `level` is the guest's (Xen's `is_guest_l4_slot`).
fn is_guest_slot(level: u8, index: usize) -> bool {
    level != 4 || !(ROOT_PAGETABLE_FIRST_XEN_SLOT..=ROOT_PAGETABLE_LAST_XEN_SLOT).contains(&index)
}

/// The entry as stored for the guest: a 64-bit PV kernel runs in ring 3, so every
/// present entry must carry the user bit; L4 entries also get the accessed bit
/// (Xen's `adjust_guest_l1e` .. `adjust_guest_l4e`).
fn adjust_guest_entry(level: u8, entry: u64) -> u64 {
    match (present(entry), level) {
        (false, _) => entry,
        (true, 4) => entry | _PAGE_USER | _PAGE_ACCESSED,
        (true, _) => entry | _PAGE_USER,
    }
}

/// Whether `new` differs from `old` in anything that needs the entry re-validated
/// (Xen's `lNe_has_changed(old, new, ~FASTPATH_FLAG_WHITELIST)`).
fn needs_revalidation(old: u64, new: u64) -> bool {
    (old ^ new) & !FASTPATH_FLAG_WHITELIST != 0
}

impl<'a, M: FrameMemory> Paging<'a, M> {
    /// Bundles the state the page-table rules work on.
    pub fn new(
        frames: &'a mut FrameTable,
        mem: &'a mut M,
        xen_l4_slots: &'a [u64; ROOT_PAGETABLE_PV_XEN_SLOTS],
    ) -> Self {
        Paging {
            frames,
            mem,
            xen_l4_slots,
        }
    }

    fn owned_info(&mut self, dom: DomId, mfn: Mfn) -> Result<&mut PageInfo, Errno> {
        match self.frames.get_mut(mfn) {
            Some(info) if info.owner == Some(dom) => Ok(info),
            _ => Err(Errno::EINVAL),
        }
    }

    // ----- general references ---------------------------------------------------------

    /// Takes a general reference on a frame owned by `dom`, keeping it from being freed
    /// while the caller uses it (Xen's `get_page`). `EINVAL` if `dom` does not own it.
    pub fn get_page(&mut self, dom: DomId, mfn: Mfn) -> Result<(), Errno> {
        let info = self.owned_info(dom, mfn)?;
        info.ref_count = info.ref_count.checked_add(1).ok_or(Errno::EINVAL)?;
        Ok(())
    }

    /// Drops a general reference taken with [`Paging::get_page`] (Xen's `put_page`).
    /// The allocation reference is dropped only by `FrameTable::unassign`, or by
    /// `FrameTable::orphan` when a domain dies while others still map the frame (then the
    /// last `put_page` leaves the count at zero and the owner of the orphan list frees it).
    pub fn put_page(&mut self, mfn: Mfn) {
        let info = self.frames.get_mut(mfn);
        debug_assert!(
            info.as_ref().is_some_and(|i| i.ref_count > 0),
            "put_page({mfn:?}) without a matching get_page"
        );
        if let Some(info) = info {
            info.ref_count = info.ref_count.saturating_sub(1);
        }
    }

    // ----- type references -------------------------------------------------------------

    /// Takes a type reference of type `ty` on a frame owned by `dom` (Xen's
    /// `_get_page_type`). If the frame has no typed use yet it takes the type, and a
    /// page-table type is validated first: every entry is checked at that level and
    /// references are taken for it, recursively. On any failure every count is back
    /// where it was; only sub-tables validated on the way keep the user bit their
    /// present entries received (Xen's `promote_l1_table` leaves it as well).
    /// Refused with `EINVAL` if the frame has another type in use, if `ty` is `None`, or
    /// with the error of the entry that failed validation.
    ///
    /// `SegDesc` is taken without checking descriptors: the descriptor-table code must
    /// check them itself.
    pub fn get_page_type(&mut self, dom: DomId, mfn: Mfn, ty: PageType) -> Result<(), Errno> {
        if ty == PageType::None {
            return Err(Errno::EINVAL);
        }
        let info = self.owned_info(dom, mfn)?;
        if info.type_count > 0 {
            if info.ty != ty {
                return Err(Errno::EINVAL);
            }
            info.type_count = info.type_count.checked_add(1).ok_or(Errno::EINVAL)?;
            return Ok(());
        }
        // Take the type before looking at the entries, so an entry that leads back to
        // this frame meets a type conflict instead of validating it again.
        info.ty = ty;
        info.type_count = 1;
        let Some(level) = ty.table_level() else {
            return Ok(());
        };
        let result = self.promote_table(dom, mfn, level);
        if result.is_err() {
            self.clear_type(mfn);
        }
        result
    }

    /// Drops a type reference (Xen's `_put_page_type`). When the last one goes, a page
    /// table releases the references its entries hold (recursively) and the frame's type
    /// returns to `None`.
    pub fn put_page_type(&mut self, mfn: Mfn) {
        let info = self.frames.get_mut(mfn);
        debug_assert!(
            info.as_ref().is_some_and(|i| i.type_count > 0),
            "put_page_type({mfn:?}) without a type reference"
        );
        let Some(info) = info else { return };
        match info.type_count {
            0 => return,
            1 => {}
            _ => {
                info.type_count -= 1;
                return;
            }
        }
        if let Some(level) = info.ty.table_level() {
            self.demote_table(mfn, level);
        }
        self.clear_type(mfn);
    }

    /// A general and a type reference together, undone as a whole on failure (Xen's
    /// `get_page_and_type_from_mfn`); what table entries and new CR3 values hold.
    pub fn get_page_and_type(&mut self, dom: DomId, mfn: Mfn, ty: PageType) -> Result<(), Errno> {
        self.get_page(dom, mfn)?;
        self.get_page_type(dom, mfn, ty)
            .inspect_err(|_| self.put_page(mfn))
    }

    /// Drops what [`Paging::get_page_and_type`] took (Xen's `put_page_and_type`).
    pub fn put_page_and_type(&mut self, mfn: Mfn) {
        self.put_page_type(mfn);
        self.put_page(mfn);
    }

    fn clear_type(&mut self, mfn: Mfn) {
        if let Some(info) = self.frames.get_mut(mfn) {
            info.ty = PageType::None;
            info.type_count = 0;
        }
    }

    // ----- whole tables ----------------------------------------------------------------

    /// Validates every guest entry of `table` at `level` and takes their references
    /// (Xen's `promote_lN_table`). On failure the references already taken are released
    /// and this frame's contents are untouched. On success the entries are adjusted for
    /// a ring-3 kernel and an L4 receives the hypervisor's slots.
    fn promote_table(&mut self, dom: DomId, table: Mfn, level: u8) -> Result<(), Errno> {
        for index in 0..L1_PAGETABLE_ENTRIES {
            if !is_guest_slot(level, index) {
                continue;
            }
            let entry = self.mem.read_entry(table, index);
            if let Err(err) = self.get_entry_refs(dom, level, entry) {
                self.release_entries(table, level, index);
                return Err(err);
            }
        }
        for index in (0..L1_PAGETABLE_ENTRIES).filter(|&i| is_guest_slot(level, i)) {
            let entry = self.mem.read_entry(table, index);
            let adjusted = adjust_guest_entry(level, entry);
            if adjusted != entry {
                self.mem.write_entry(table, index, adjusted);
            }
        }
        if level == 4 {
            self.write_xen_slots(table, Some(self.xen_l4_slots));
        }
        Ok(())
    }

    /// Releases the references held by all guest entries of a table whose last type
    /// reference is going (Xen's `demote_lN_table`). An L4 also loses the hypervisor's
    /// slots, so the frame does not carry them into a writable life.
    fn demote_table(&mut self, table: Mfn, level: u8) {
        self.release_entries(table, level, L1_PAGETABLE_ENTRIES);
        if level == 4 {
            self.write_xen_slots(table, None);
        }
    }

    /// Releases the references of the guest entries `0..end` of `table`.
    fn release_entries(&mut self, table: Mfn, level: u8, end: usize) {
        for index in (0..end).filter(|&i| is_guest_slot(level, i)) {
            let entry = self.mem.read_entry(table, index);
            self.release_entry(level, entry);
        }
    }

    fn write_xen_slots(&mut self, table: Mfn, slots: Option<&[u64; ROOT_PAGETABLE_PV_XEN_SLOTS]>) {
        for i in 0..ROOT_PAGETABLE_PV_XEN_SLOTS {
            let value = slots.map_or(0, |s| s[i]);
            self.mem
                .write_entry(table, ROOT_PAGETABLE_FIRST_XEN_SLOT + i, value);
        }
    }

    // ----- single entries --------------------------------------------------------------

    /// Checks one entry of a table of `level` owned by `dom` and takes the references it
    /// needs (Xen's `get_page_from_lNe`). A non-present entry needs nothing.
    fn get_entry_refs(&mut self, dom: DomId, level: u8, entry: u64) -> Result<(), Errno> {
        if !present(entry) {
            return Ok(());
        }
        if entry & disallow_mask(level) != 0 {
            return Err(Errno::EINVAL);
        }
        let target = pte_mfn(entry);
        match PageType::for_level(level - 1) {
            Some(ty) => self.get_page_and_type(dom, target, ty),
            None => self.get_l1e_refs(dom, entry, target),
        }
    }

    /// The L1 case of [`Self::get_entry_refs`], with the errnos of Xen's
    /// `get_page_from_l1e`: `EPERM` for a frame outside RAM (I/O memory, which this
    /// guest may not map; `EINVAL` for the all-ones "invalid MFN"), `EBUSY` when the frame
    /// is not `dom`'s or cannot become writable.
    fn get_l1e_refs(&mut self, dom: DomId, entry: u64, target: Mfn) -> Result<(), Errno> {
        if target.0 >= self.frames.len() {
            let invalid_mfn = PADDR_MASK >> PAGE_SHIFT;
            return Err(if target.0 == invalid_mfn {
                Errno::EINVAL
            } else {
                Errno::EPERM
            });
        }
        self.get_page(dom, target).map_err(|_| Errno::EBUSY)?;
        if entry & _PAGE_RW != 0 && self.get_page_type(dom, target, PageType::Writable).is_err() {
            self.put_page(target);
            return Err(Errno::EBUSY);
        }
        Ok(())
    }

    /// Drops the references a validated entry of `level` holds (Xen's
    /// `put_page_from_lNe`). A grant entry holds none of its own (the maptrack does), so
    /// demoting a table that still contains one leaves the grant's references in place.
    fn release_entry(&mut self, level: u8, entry: u64) {
        if !present(entry) || level == 1 && is_grant_entry(entry) {
            return;
        }
        let target = pte_mfn(entry);
        if level > 1 || entry & _PAGE_RW != 0 {
            self.put_page_type(target);
        }
        self.put_page(target);
    }

    // ----- guest requests --------------------------------------------------------------

    /// `MMU_NORMAL_PT_UPDATE`: sets entry `index` of frame `table` (owned by `dom`) to
    /// `new`, as Xen's `do_mmu_update` does. If the frame is a page table, the new entry
    /// is validated and its references taken before it is written, and the old entry's
    /// references are released after (Xen's `mod_lN_entry`); a change of only
    /// A/D/U/G/NX/available bits skips the recount. Otherwise the frame must be able to
    /// take the `Writable` type, held for the duration of a plain write.
    ///
    /// Errnos: `EINVAL` for a frame not owned by `dom`, an index >= 512, a frame of
    /// another type, a hypervisor L4 slot, bad flags (the grant mark among them) or an L1
    /// entry that is a grant mapping; otherwise the entry's own error.
    pub fn update_entry(
        &mut self,
        dom: DomId,
        table: Mfn,
        index: usize,
        new: u64,
    ) -> Result<(), Errno> {
        self.update_entry_foreign(dom, dom, table, index, new)
    }

    /// [`Paging::update_entry`] where a new L1 entry maps a frame of `pg_owner` rather than
    /// of the table's owner `pt_owner`: a foreign mapping (Xen's `mmu_update` with
    /// `foreigndom`, what privileged tools use to build and inspect other domains). Only
    /// leaf entries may point at the foreign domain; the tables stay `pt_owner`'s. The caller
    /// checks that `pt_owner` may map `pg_owner`'s memory.
    pub fn update_entry_foreign(
        &mut self,
        pt_owner: DomId,
        pg_owner: DomId,
        table: Mfn,
        index: usize,
        new: u64,
    ) -> Result<(), Errno> {
        if index >= L1_PAGETABLE_ENTRIES {
            return Err(Errno::EINVAL);
        }
        let info = *self.owned_info(pt_owner, table)?;
        match info.ty.table_level() {
            Some(level) if info.type_count > 0 => {
                let owner = if level == 1 { pg_owner } else { pt_owner };
                self.mod_entry(owner, table, level, index, new)
            }
            _ => self.plain_write(pt_owner, table, index, new),
        }
    }

    /// Writes an entry of a frame that is not a page table (the `PGT_writable_page` and
    /// `get_page_type(PGT_writable_page)` branches of Xen's `do_mmu_update`).
    fn plain_write(&mut self, dom: DomId, table: Mfn, index: usize, new: u64) -> Result<(), Errno> {
        self.get_page_type(dom, table, PageType::Writable)?;
        self.mem.write_entry(table, index, new);
        self.put_page_type(table);
        Ok(())
    }

    /// Replaces one entry of a validated table (Xen's `mod_l1_entry` .. `mod_l4_entry`);
    /// `dom` owns what the new entry points to.
    fn mod_entry(
        &mut self,
        dom: DomId,
        table: Mfn,
        level: u8,
        index: usize,
        new: u64,
    ) -> Result<(), Errno> {
        if !is_guest_slot(level, index) {
            return Err(Errno::EINVAL);
        }
        let old = self.mem.read_entry(table, index);
        if level == 1 && is_grant_entry(old) {
            // Only `GNTTABOP_unmap_grant_ref` may overwrite or clear a grant mapping.
            return Err(Errno::EINVAL);
        }
        if present(new) {
            if new & disallow_mask(level) != 0 {
                return Err(Errno::EINVAL);
            }
            if !needs_revalidation(old, new) {
                self.mem
                    .write_entry(table, index, adjust_guest_entry(level, new));
                return Ok(());
            }
            self.get_entry_refs(dom, level, new)?;
        }
        self.mem
            .write_entry(table, index, adjust_guest_entry(level, new));
        self.release_entry(level, old);
        Ok(())
    }

    /// `MMUEXT_PIN_Ln_TABLE`: makes `mfn` an Ln table held by a pin, so it stays
    /// validated while no entry or CR3 refers to it (Xen's `do_mmuext_op`). Takes a
    /// general and a type reference. `EINVAL` for a level outside 1-4, a frame not owned
    /// by `dom`, a frame typed otherwise or already pinned; a validation error otherwise.
    pub fn pin(&mut self, dom: DomId, mfn: Mfn, level: u8) -> Result<(), Errno> {
        let ty = PageType::for_level(level).ok_or(Errno::EINVAL)?;
        self.get_page_and_type(dom, mfn, ty)?;
        let info = self.owned_info(dom, mfn)?;
        if info.pinned {
            self.put_page_and_type(mfn);
            return Err(Errno::EINVAL);
        }
        info.pinned = true;
        Ok(())
    }

    /// `MMUEXT_UNPIN_TABLE`: drops a pin and the references it holds; the table is
    /// released if nothing else uses it. `EINVAL` if `dom` does not own the frame or it
    /// is not pinned (Xen's `do_mmuext_op`).
    pub fn unpin(&mut self, dom: DomId, mfn: Mfn) -> Result<(), Errno> {
        let info = self.owned_info(dom, mfn)?;
        if !info.pinned {
            return Err(Errno::EINVAL);
        }
        info.pinned = false;
        self.put_page_and_type(mfn);
        Ok(())
    }

    /// Drops what a dying domain's own page tables hold (Xen's `relinquish_memory`): every
    /// pin on `frames` (the domain's frames) is released, which demotes the tables and drops
    /// the references their entries held, recursively. The caller has already dropped the
    /// vCPUs' CR3 references. What remains on each frame afterwards is its allocation
    /// reference plus whatever other domains hold (foreign mappings).
    pub fn relinquish(&mut self, dom: DomId, frames: &[Mfn]) {
        for &mfn in frames {
            let Ok(info) = self.owned_info(dom, mfn) else { continue };
            if info.pinned {
                info.pinned = false;
                self.put_page_and_type(mfn);
            }
        }
    }

    // ----- guest virtual memory --------------------------------------------------------

    /// Walks the guest's tables rooted at `l4` for `va`, as the guest's user mode would
    /// see it, and returns the data frame and the offset inside it. This is how the
    /// hypervisor reaches memory a guest names by pointer: `l4` must be a validated L4
    /// (the vCPU's current one), P and U must be set at every level and RW too for a
    /// write; superpages, non-canonical addresses and the hypervisor's range are refused.
    pub fn translate(&self, l4: Mfn, va: u64, write: bool) -> Result<(Mfn, usize), GuestFault> {
        if (va as i64) << 16 >> 16 != va as i64 {
            return Err(GuestFault::NonCanonical);
        }
        if (HYPERVISOR_VIRT_START..HYPERVISOR_VIRT_END).contains(&va) {
            return Err(GuestFault::HypervisorHole);
        }
        match self.frames.get(l4) {
            Some(info) if info.ty == PageType::L4 && info.type_count > 0 => {}
            _ => return Err(GuestFault::NotPageTable),
        }
        let mut frame = l4;
        for level in (1..=4u8).rev() {
            let shift = PAGE_SHIFT + 9 * (u32::from(level) - 1);
            let entry = self.mem.read_entry(frame, ((va >> shift) & 511) as usize);
            frame = self.check_walk_entry(level, entry, write)?;
        }
        Ok((frame, (va as usize) & (PAGE_SIZE - 1)))
    }

    /// One step of [`Paging::translate`]: the frame `entry` leads to, if usable.
    fn check_walk_entry(&self, level: u8, entry: u64, write: bool) -> Result<Mfn, GuestFault> {
        if !present(entry) {
            return Err(GuestFault::NotPresent { level });
        }
        if entry & _PAGE_USER == 0 {
            return Err(GuestFault::NotUser { level });
        }
        if write && entry & _PAGE_RW == 0 {
            return Err(GuestFault::NotWritable { level });
        }
        if (level == 2 || level == 3) && entry & _PAGE_PSE != 0 {
            return Err(GuestFault::LargePage { level });
        }
        let next = pte_mfn(entry);
        if next.0 >= self.frames.len() {
            return Err(GuestFault::BadFrame { level });
        }
        Ok(next)
    }

    /// The piece of the guest range `[va, va + len)` that starts `done` bytes in and
    /// stays inside one page: its frame, the offset in that frame and its length.
    fn chunk(
        &self,
        l4: Mfn,
        va: u64,
        done: usize,
        len: usize,
        write: bool,
    ) -> Result<(Mfn, usize, usize), GuestFault> {
        let addr = va
            .checked_add(done as u64)
            .ok_or(GuestFault::NonCanonical)?;
        let (frame, offset) = self.translate(l4, addr, write)?;
        Ok((
            frame,
            offset,
            core::cmp::min(PAGE_SIZE - offset, len - done),
        ))
    }

    /// Copies guest memory at `va` (through the tables rooted at `l4`) into `buf`, page
    /// by page (Xen's `copy_from_guest`). On a fault `buf` may be partly filled.
    pub fn copy_from_guest(&self, l4: Mfn, va: u64, buf: &mut [u8]) -> Result<(), GuestFault> {
        let mut done = 0;
        while done < buf.len() {
            let (frame, offset, n) = self.chunk(l4, va, done, buf.len(), false)?;
            self.mem.read_bytes(frame, offset, &mut buf[done..done + n]);
            done += n;
        }
        Ok(())
    }

    /// Copies `buf` to guest memory at `va` (Xen's `copy_to_guest`). Every page is
    /// checked before the first byte is written, so a fault leaves the guest untouched.
    pub fn copy_to_guest(&mut self, l4: Mfn, va: u64, buf: &[u8]) -> Result<(), GuestFault> {
        let mut done = 0;
        while done < buf.len() {
            done += self.chunk(l4, va, done, buf.len(), true)?.2;
        }
        done = 0;
        while done < buf.len() {
            let (frame, offset, n) = self.chunk(l4, va, done, buf.len(), true)?;
            self.mem.write_bytes(frame, offset, &buf[done..done + n]);
            done += n;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
