//! A domain's own grant table: the shared v1 entry frames it writes its grants into, the
//! active shadow of the grants in use, and the pinning rules between the two.

use super::active::{ActiveEntry, MapKinds, Pins};
use super::limits::{GrantLimits, ENTRIES_PER_FRAME};
use super::shared::{GrantMemory, SharedEntry};
use crate::mm::{DomId, Mfn, PageType, Paging};
use alloc::vec::Vec;
use xen_abi::grant_table::*;

/// The granter's side of a domain's grants.
#[derive(Debug)]
pub struct SharedTable {
    limits: GrantLimits,
    /// The shared frames, in table order; each is owned by the domain and held `Writable`
    /// by the hypervisor (like `shared_info`), so the guest may map it writable and it can
    /// never become a page table.
    frames: Vec<Mfn>,
    /// One shadow per entry of the frames.
    active: Vec<ActiveEntry>,
}

/// The in-use flags no remaining use needs once a use of kind `readonly` is gone (or never
/// got its pin): writing if nothing writable is left, reading if nothing at all is.
fn unneeded_flags(pins: &Pins, readonly: bool) -> u16 {
    let writing = if !readonly && !pins.writable() { GTF_WRITING } else { 0 };
    let reading = if !pins.any() { GTF_READING } else { 0 };
    writing | reading
}

impl SharedTable {
    /// An empty table (no frames until `GNTTABOP_setup_table`) with these limits.
    pub fn new(limits: GrantLimits) -> SharedTable {
        SharedTable { limits, frames: Vec::new(), active: Vec::new() }
    }

    pub fn limits(&self) -> GrantLimits {
        self.limits
    }

    /// The shared frames, in table order.
    pub fn frames(&self) -> &[Mfn] {
        &self.frames
    }

    pub fn nr_frames(&self) -> u32 {
        self.frames.len() as u32
    }

    /// Grant references the table holds now: `0..nr_entries()` are valid.
    pub fn nr_entries(&self) -> u32 {
        self.nr_frames() * ENTRIES_PER_FRAME
    }

    /// How many frames `GNTTABOP_setup_table` must add for the table to have `wanted`
    /// (0 if it has them: tables never shrink). More than the domain's maximum is
    /// `GNTST_general_error`, as in Xen.
    pub fn frames_missing(&self, wanted: u32) -> Result<u32, i16> {
        if wanted > self.limits.max_grant_frames {
            return Err(GNTST_GENERAL_ERROR);
        }
        Ok(wanted.saturating_sub(self.nr_frames()))
    }

    /// Appends `new` (free, zeroed frames) to the table of domain `dom`: each becomes
    /// `dom`'s, held `Writable` by the hypervisor. All or nothing: on failure (no memory
    /// for the shadows, a frame that is not free) nothing changed and the caller still owns
    /// the frames.
    pub fn add_frames<M: GrantMemory>(&mut self, paging: &mut Paging<'_, M>, dom: DomId, new: &[Mfn]) -> Result<(), i16> {
        let entries = new.len() * ENTRIES_PER_FRAME as usize;
        if self.active.try_reserve_exact(entries).is_err() || self.frames.try_reserve_exact(new.len()).is_err() {
            return Err(GNTST_GENERAL_ERROR);
        }
        for (i, &mfn) in new.iter().enumerate() {
            let shared = paging.frames.assign(mfn, dom).and_then(|()| {
                paging.get_page_and_type(dom, mfn, PageType::Writable).inspect_err(|_| {
                    let _ = paging.frames.unassign(mfn);
                })
            });
            if shared.is_err() {
                for &done in &new[..i] {
                    paging.put_page_and_type(done);
                    let _ = paging.frames.unassign(done);
                }
                return Err(GNTST_GENERAL_ERROR);
            }
        }
        self.frames.extend_from_slice(new);
        self.active.resize(self.frames.len() * ENTRIES_PER_FRAME as usize, ActiveEntry::default());
        Ok(())
    }

    /// Gives up the table at domain teardown: each frame loses the hypervisor's reference
    /// and keeps only its allocation one, so it is freed with the domain's other frames (or
    /// orphaned, if someone still maps it). Returns the frames.
    pub fn release_frames<M: GrantMemory>(&mut self, paging: &mut Paging<'_, M>) -> Vec<Mfn> {
        let frames = core::mem::take(&mut self.frames);
        for &mfn in &frames {
            paging.put_page_and_type(mfn);
        }
        self.active = Vec::new();
        frames
    }

    /// Where entry `gref` lives, if the table has it.
    pub fn entry(&self, gref: u32) -> Option<SharedEntry> {
        let frame = *self.frames.get((gref / ENTRIES_PER_FRAME) as usize)?;
        Some(SharedEntry { frame, offset: (gref % ENTRIES_PER_FRAME) as usize * core::mem::size_of::<GrantEntryV1>() })
    }

    /// The shadow of entry `gref`, if the table has it.
    pub fn active(&self, gref: u32) -> Option<&ActiveEntry> {
        self.active.get(gref as usize)
    }

    /// Counts a use of grant `gref` (of this table, whose domain is `granter`) by domain
    /// `user`, returning the frame it grants. The first use checks the shared entry and
    /// resolves the frame, which must be the granter's; a use that needs more (writing
    /// where only reading was in force) marks the shared entry again; any other use only
    /// counts. Frame references are the caller's business. Errors, with nothing changed:
    /// `GNTST_bad_gntref` for a reference beyond the table, `GNTST_bad_page` for a frame
    /// the granter does not own, `GNTST_general_error` for a grant in use by another
    /// domain, a counter at its ceiling, or an entry that does not grant this access.
    pub fn pin<M: GrantMemory>(
        &mut self,
        paging: &mut Paging<'_, M>,
        granter: DomId,
        gref: u32,
        user: DomId,
        kinds: MapKinds,
        for_map: bool,
    ) -> Result<Mfn, i16> {
        let entry = self.entry(gref).ok_or(GNTST_BAD_GNTREF)?;
        let act = &mut self.active[gref as usize];
        let first_use = !act.pins.any();
        if !first_use && (act.user != user || act.pins.near_overflow()) {
            return Err(GNTST_GENERAL_ERROR);
        }
        if first_use || (!kinds.readonly && !act.pins.writable()) {
            entry.mark_in_use(paging.mem, user, kinds.readonly, first_use, for_map)?;
            if first_use {
                let frame = entry.granted_frame(paging.mem);
                if !paging.frames.owned_by(frame, granter) {
                    entry.clear_in_use(paging.mem, unneeded_flags(&act.pins, kinds.readonly));
                    return Err(GNTST_BAD_PAGE);
                }
                act.user = user;
                act.frame = frame;
            }
        }
        act.pins.add(kinds);
        Ok(act.frame)
    }

    /// Undoes one [`SharedTable::pin`] of `kinds`, clearing the in-use flags no remaining
    /// use needs.
    pub fn unpin<M: GrantMemory>(&mut self, mem: &mut M, gref: u32, kinds: MapKinds) {
        let (Some(entry), Some(act)) = (self.entry(gref), self.active.get_mut(gref as usize)) else {
            return;
        };
        act.pins.remove(kinds);
        entry.clear_in_use(mem, unneeded_flags(&act.pins, kinds.readonly));
    }
}
