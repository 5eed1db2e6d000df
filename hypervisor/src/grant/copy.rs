//! `GNTTABOP_copy`: the hypervisor copies bytes between two frames, each named either by a
//! grant of some domain or as a frame of the caller's own, so a back-end can move data
//! without mapping anything. For the duration of one copy each grant is pinned like a
//! short-lived host mapping (in-use flags set, frame references held).

use super::active::MapKinds;
use super::shared::GrantMemory;
use super::{refs, GrantTables};
use crate::mm::{DomId, Mfn, Paging, PAGE_SIZE};
use xen_abi::domid::DOMID_SELF;
use xen_abi::grant_table::*;

/// One end of a copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CopySide {
    /// Grant `gref` of `granter`'s table (`GNTCOPY_source_gref`/`GNTCOPY_dest_gref`).
    Grant { granter: DomId, gref: u32 },
    /// A frame of the caller (for a PV guest its GMFN is the MFN).
    OwnFrame(Mfn),
}

/// A checked `gnttab_copy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CopyRequest {
    pub source: CopySide,
    pub source_offset: u16,
    pub dest: CopySide,
    pub dest_offset: u16,
    pub len: u16,
}

fn side(ptr: &GnttabCopyPtr, is_gref: bool, caller: DomId) -> Result<CopySide, i16> {
    if is_gref {
        let granter = if ptr.domid == DOMID_SELF { caller } else { ptr.domid };
        Ok(CopySide::Grant { granter, gref: ptr.gref() })
    } else if ptr.domid == DOMID_SELF {
        Ok(CopySide::OwnFrame(Mfn(ptr.gmfn())))
    } else {
        // Only DOMID_SELF may name a frame directly, as in Xen.
        Err(GNTST_PERMISSION_DENIED)
    }
}

impl CopyRequest {
    /// The request in `op` from domain `caller`: a side named by frame must say
    /// `DOMID_SELF` (`GNTST_permission_denied` otherwise); a grant side may name any domain,
    /// `DOMID_SELF` being the caller.
    pub fn parse(op: &GnttabCopy, caller: DomId) -> Result<CopyRequest, i16> {
        Ok(CopyRequest {
            source: side(&op.source, op.flags & GNTCOPY_SOURCE_GREF != 0, caller)?,
            source_offset: op.source.offset,
            dest: side(&op.dest, op.flags & GNTCOPY_DEST_GREF != 0, caller)?,
            dest_offset: op.dest.offset,
            len: op.len,
        })
    }
}

/// One side, held for the copy: its frame with references (and its grant's pin).
struct Claim {
    side: CopySide,
    frame: Mfn,
    kinds: MapKinds,
}

/// Copies `req.len` bytes for `caller`. Statuses as Xen's, in its order: `GNTST_bad_domain`
/// for a granter that does not exist; then for the source, then the destination: the
/// grant's pin statuses (a destination grant must permit writing), `GNTST_bad_page` for a
/// frame the caller does not own, `GNTST_general_error` for a destination that cannot be
/// written (a page table); finally `GNTST_bad_copy_arg` if either range leaves its page.
pub fn copy<M: GrantMemory>(paging: &mut Paging<'_, M>, tables: &mut impl GrantTables, caller: DomId, req: &CopyRequest) -> Result<(), i16> {
    for end in [req.source, req.dest] {
        if let CopySide::Grant { granter, .. } = end {
            tables.shared(granter).ok_or(GNTST_BAD_DOMAIN)?;
        }
    }
    let source = claim(paging, tables, caller, req.source, true)?;
    let dest = match claim(paging, tables, caller, req.dest, false) {
        Ok(dest) => dest,
        Err(status) => {
            unclaim(paging, tables, source);
            return Err(status);
        }
    };
    let in_page = |offset: u16| usize::from(offset) + usize::from(req.len) <= PAGE_SIZE;
    let result = if in_page(req.source_offset) && in_page(req.dest_offset) {
        // Frame to frame; a copy within one frame behaves like `memmove`.
        let (src_offset, dst_offset) = (usize::from(req.source_offset), usize::from(req.dest_offset));
        paging.mem.copy_bytes(source.frame, src_offset, dest.frame, dst_offset, usize::from(req.len));
        Ok(())
    } else {
        Err(GNTST_BAD_COPY_ARG)
    };
    unclaim(paging, tables, dest);
    unclaim(paging, tables, source);
    result
}

fn claim<M: GrantMemory>(paging: &mut Paging<'_, M>, tables: &mut impl GrantTables, caller: DomId, side: CopySide, readonly: bool) -> Result<Claim, i16> {
    let kinds = MapKinds { host: true, device: false, readonly };
    match side {
        CopySide::Grant { granter, gref } => {
            let table = tables.shared(granter).ok_or(GNTST_BAD_DOMAIN)?;
            let frame = table.pin(paging, granter, gref, caller, kinds, false)?;
            if let Err(status) = refs::take(paging, granter, frame, kinds) {
                if let Some(table) = tables.shared(granter) {
                    table.unpin(paging.mem, gref, kinds);
                }
                return Err(status);
            }
            Ok(Claim { side, frame, kinds })
        }
        CopySide::OwnFrame(frame) => {
            if !paging.frames.owned_by(frame, caller) {
                return Err(GNTST_BAD_PAGE);
            }
            refs::take(paging, caller, frame, kinds)?;
            Ok(Claim { side, frame, kinds })
        }
    }
}

fn unclaim<M: GrantMemory>(paging: &mut Paging<'_, M>, tables: &mut impl GrantTables, claim: Claim) {
    refs::release(paging, claim.frame, claim.kinds);
    if let CopySide::Grant { granter, gref } = claim.side {
        if let Some(table) = tables.shared(granter) {
            table.unpin(paging.mem, gref, claim.kinds);
        }
    }
}
