//! The frame references a grant use holds, so the frame outlives every use even if its
//! owner dies: one general reference per kind of use (host, device), each with a `Writable`
//! type reference when the use may write (so a writably mapped frame can never become a
//! page table). They belong to the maptrack entry (or the copy in progress), not to any
//! page-table entry.

use super::active::MapKinds;
use crate::mm::{DomId, FrameMemory, Mfn, PageType, Paging};
use xen_abi::grant_table::GNTST_GENERAL_ERROR;

fn per_kind(kinds: MapKinds) -> usize {
    usize::from(kinds.host) + usize::from(kinds.device)
}

/// Takes the references `kinds` needs on `frame`, which `owner` must own. All or nothing;
/// `GNTST_general_error` if the frame is not `owner`'s or cannot take the `Writable` type
/// (Xen's "could not pin").
pub fn take<M: FrameMemory>(paging: &mut Paging<'_, M>, owner: DomId, frame: Mfn, kinds: MapKinds) -> Result<(), i16> {
    for done in 0..per_kind(kinds) {
        let taken = if kinds.readonly {
            paging.get_page(owner, frame)
        } else {
            paging.get_page_and_type(owner, frame, PageType::Writable)
        };
        if taken.is_err() {
            for _ in 0..done {
                release_one(paging, frame, kinds.readonly);
            }
            return Err(GNTST_GENERAL_ERROR);
        }
    }
    Ok(())
}

/// Drops what [`take`] took for `kinds`. The owner need not be alive: a frame orphaned by
/// its dying owner is reaped once this drops its last reference.
pub fn release<M: FrameMemory>(paging: &mut Paging<'_, M>, frame: Mfn, kinds: MapKinds) {
    for _ in 0..per_kind(kinds) {
        release_one(paging, frame, kinds.readonly);
    }
}

fn release_one<M: FrameMemory>(paging: &mut Paging<'_, M>, frame: Mfn, readonly: bool) {
    if readonly {
        paging.put_page(frame);
    } else {
        paging.put_page_and_type(frame);
    }
}
