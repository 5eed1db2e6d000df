//! Grant tables (v1) from the guest side: sharing our frames with other domains, mapping
//! and copying what others share with us.
//!
//! - [`init`] asks the hypervisor for the table (`GNTTABOP_setup_table`) and maps its frames
//!   over a page-aligned window of our bss, as we do for `shared_info`.
//! - [`grant_access`] / [`end_access`] write and revoke entries with the v1 protocol: domid
//!   and frame first, a release barrier, then the flags; revoking is a compare-exchange of
//!   the flags to 0 that fails while the hypervisor has the entry marked in use.
//! - [`map`] / [`unmap`] map another domain's grant at one of our addresses; [`MapSlot`]
//!   lends a page of a bss window to map into. The hypervisor leaves the address unmapped
//!   after an unmap (as Xen does), so [`unmap`] puts our own frame back itself.
//! - [`copy`] / [`copy_batch`] have the hypervisor copy through grants.
//!
//! References 0..8 are reserved (`GNTTAB_NR_RESERVED_ENTRIES`: console, XenStore) and are
//! never handed out here.

use crate::hypercall;
use core::ptr::addr_of_mut;
use core::sync::atomic::{fence, AtomicU16, AtomicU64, AtomicUsize, Ordering};
use xen_abi::domid::{DomId, DOMID_SELF};
use xen_abi::grant_table::*;
use xen_abi::mm::{PAGE_ACCESSED, PAGE_DIRTY, PAGE_PRESENT, PAGE_RW, UVMF_INVLPG};

const PAGE: usize = 4096;
/// Grant frames this client maps at most (2048 references).
pub const MAX_FRAMES: usize = 4;
/// v1 entries per frame.
const ENTRIES_PER_FRAME: usize = PAGE / core::mem::size_of::<GrantEntryV1>();
const MAX_ENTRIES: usize = MAX_FRAMES * ENTRIES_PER_FRAME;
/// Pages of the window [`MapSlot`]s lend out.
pub const MAP_SLOTS: usize = 8;

#[repr(C, align(4096))]
struct Window<const N: usize>([[u8; PAGE]; N]);

/// Where the grant frames are mapped; never accessed as a Rust static, only by address.
static mut TABLE_WINDOW: Window<MAX_FRAMES> = Window([[0; PAGE]; MAX_FRAMES]);
/// Pages lent by [`MapSlot`]; their own frames come back after each unmap.
static mut MAP_WINDOW: Window<MAP_SLOTS> = Window([[0; PAGE]; MAP_SLOTS]);

/// References the mapped table holds (0 before [`init`]).
static NR_ENTRIES: AtomicUsize = AtomicUsize::new(0);
/// One bit per reference handed out by [`grant_access`] and not yet ended.
static GRANTED: [AtomicU64; MAX_ENTRIES / 64] = [const { AtomicU64::new(0) }; MAX_ENTRIES / 64];
/// One bit per [`MapSlot`] lent out.
static SLOTS_USED: AtomicU64 = AtomicU64::new(0);
const _: () = assert!(MAX_ENTRIES % 64 == 0 && MAP_SLOTS <= 64);

/// Why a grant could not be made or ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrantError {
    /// [`init`] has not mapped a table yet.
    NotInitialised,
    /// Every reference of the table is granted.
    TableFull,
    /// A reserved reference, one beyond the table, or one this client did not grant.
    BadRef,
    /// The frame number does not fit the 32-bit `frame` of a v1 entry.
    FrameTooLarge,
    /// The grant is mapped or being copied (`GTF_reading`/`GTF_writing`): it cannot be
    /// revoked until that use ends.
    InUse,
}

/// Sets up our grant table with `nr_frames` frames (1..=[`MAX_FRAMES`]) and maps them.
/// Calling it again with more frames grows the table. Errors: a negative errno when a
/// hypercall fails (`-EINVAL` for a bad `nr_frames`), or the (negative) `GNTST_*` status
/// the hypervisor gave the setup.
pub fn init(nr_frames: u32) -> Result<(), i64> {
    let n = nr_frames as usize;
    if n == 0 || n > MAX_FRAMES {
        return Err(-xen_abi::errno::EINVAL);
    }
    let mut frames = [0u64; MAX_FRAMES];
    let mut op = GnttabSetupTable { dom: DOMID_SELF, nr_frames, frame_list: frames.as_mut_ptr() as u64, ..Default::default() };
    let rc = hypercall::grant_table_op(GNTTABOP_SETUP_TABLE, core::slice::from_mut(&mut op));
    if rc < 0 {
        return Err(rc);
    }
    if op.status != GNTST_OKAY {
        return Err(i64::from(op.status));
    }
    for (i, mfn) in frames[..n].iter().enumerate() {
        let pte = (mfn << 12) | PAGE_PRESENT | PAGE_RW | PAGE_ACCESSED | PAGE_DIRTY;
        let rc = hypercall::update_va_mapping(table_va() + (i * PAGE) as u64, pte, UVMF_INVLPG);
        if rc != 0 {
            return Err(rc);
        }
    }
    NR_ENTRIES.fetch_max(n * ENTRIES_PER_FRAME, Ordering::Release);
    Ok(())
}

fn table_va() -> u64 {
    addr_of_mut!(TABLE_WINDOW) as u64
}

/// The entry of `gref`; the caller checked `gref < NR_ENTRIES`.
fn entry(gref: u32) -> *mut GrantEntryV1 {
    (table_va() + u64::from(gref) * 8) as *mut GrantEntryV1
}

fn flags(gref: u32) -> &'static AtomicU16 {
    // SAFETY: the entry lies in a grant frame mapped over our window since `init` (gref is
    // below NR_ENTRIES), for the rest of our life; the hypervisor updates the flags with
    // atomic operations too.
    unsafe { AtomicU16::from_ptr(core::ptr::addr_of_mut!((*entry(gref)).flags)) }
}

/// Grants `domid` access to our frame `frame_mfn` (read-only if `readonly`) and returns the
/// reference to give it. References 0..8 are never used.
pub fn grant_access(domid: DomId, frame_mfn: u64, readonly: bool) -> Result<u32, GrantError> {
    let frame = u32::try_from(frame_mfn).map_err(|_| GrantError::FrameTooLarge)?;
    let gref = claim_ref()?;
    let e = entry(gref);
    // SAFETY: the entry is ours (claimed above, its flags 0 since it was ended or never
    // used) and mapped; the hypervisor reads it only once the flags say it is a grant.
    unsafe {
        core::ptr::write_volatile(addr_of_mut!((*e).domid), domid);
        core::ptr::write_volatile(addr_of_mut!((*e).frame), frame);
    }
    // domid and frame must be visible before the flags make the entry a grant.
    fence(Ordering::Release);
    let kind = if readonly { GTF_PERMIT_ACCESS | GTF_READONLY } else { GTF_PERMIT_ACCESS };
    flags(gref).store(kind, Ordering::Release);
    Ok(gref)
}

/// Revokes grant `gref`: refused with [`GrantError::InUse`] while the other side has it
/// mapped (or a copy runs), in which case the grant stays valid.
pub fn end_access(gref: u32) -> Result<(), GrantError> {
    if gref < GNTTAB_NR_RESERVED_ENTRIES || gref as usize >= NR_ENTRIES.load(Ordering::Acquire) || !is_granted(gref) {
        return Err(GrantError::BadRef);
    }
    let f = flags(gref);
    let mut seen = f.load(Ordering::Acquire);
    loop {
        if seen & (GTF_READING | GTF_WRITING) != 0 {
            return Err(GrantError::InUse);
        }
        match f.compare_exchange(seen, 0, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => break,
            Err(now) => seen = now,
        }
    }
    GRANTED[gref as usize / 64].fetch_and(!(1 << (gref % 64)), Ordering::Release);
    Ok(())
}

fn is_granted(gref: u32) -> bool {
    GRANTED[gref as usize / 64].load(Ordering::Acquire) & (1 << (gref % 64)) != 0
}

fn claim_ref() -> Result<u32, GrantError> {
    let nr = NR_ENTRIES.load(Ordering::Acquire);
    if nr == 0 {
        return Err(GrantError::NotInitialised);
    }
    for (w, word) in GRANTED.iter().enumerate().take(nr / 64) {
        // The reserved references look permanently taken.
        let reserved = if w == 0 { (1u64 << GNTTAB_NR_RESERVED_ENTRIES) - 1 } else { 0 };
        let mut used = word.load(Ordering::Acquire);
        while (used | reserved) != u64::MAX {
            let bit = (!(used | reserved)).trailing_zeros();
            match word.compare_exchange(used, used | (1 << bit), Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return Ok((w * 64) as u32 + bit),
                Err(now) => used = now,
            }
        }
    }
    Err(GrantError::TableFull)
}

/// Maps grant `gref` of domain `dom` at our address `va` (read-only if `readonly`) and
/// returns the handle to unmap it with. Whatever `va` mapped before is replaced (see
/// [`unmap`] for getting it back). Errors are the hypervisor's `GNTST_*` status; a failed
/// hypercall (a bad pointer, say) counts as `GNTST_general_error`.
pub fn map(dom: DomId, gref: u32, va: u64, readonly: bool) -> Result<u32, i16> {
    let flags = if readonly { GNTMAP_HOST_MAP | GNTMAP_READONLY } else { GNTMAP_HOST_MAP };
    let mut op = GnttabMapGrantRef { host_addr: va, flags, ref_: gref, dom, ..Default::default() };
    if hypercall::grant_table_op(GNTTABOP_MAP_GRANT_REF, core::slice::from_mut(&mut op)) < 0 {
        return Err(GNTST_GENERAL_ERROR);
    }
    match op.status {
        GNTST_OKAY => Ok(op.handle),
        status => Err(status),
    }
}

/// Unmaps mapping `handle` at `va`, then, if `va` belongs to our start-of-day region (our
/// image, bss, [`MapSlot`]s), maps our own frame for it back, writable, as it was: the
/// hypervisor leaves the address empty. Errors: the unmap's `GNTST_*` status (nothing
/// changed), or `GNTST_general_error` if only the restore failed (the grant is unmapped,
/// `va` stays empty).
pub fn unmap(handle: u32, va: u64) -> Result<(), i16> {
    let mut op = GnttabUnmapGrantRef { host_addr: va, handle, ..Default::default() };
    if hypercall::grant_table_op(GNTTABOP_UNMAP_GRANT_REF, core::slice::from_mut(&mut op)) < 0 {
        return Err(GNTST_GENERAL_ERROR);
    }
    if op.status != GNTST_OKAY {
        return Err(op.status);
    }
    let page = va & !(PAGE as u64 - 1);
    if let Some(own) = crate::start::machine_frame(page) {
        let pte = (own << 12) | PAGE_PRESENT | PAGE_RW | PAGE_ACCESSED | PAGE_DIRTY;
        if hypercall::update_va_mapping(page, pte, UVMF_INVLPG) != 0 {
            return Err(GNTST_GENERAL_ERROR);
        }
    }
    Ok(())
}

/// One end of a [`copy`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CopyEnd {
    /// Grant `gref` of domain `domid` (`DOMID_SELF` for our own table).
    Grant { domid: DomId, gref: u32 },
    /// A frame of ours, by machine frame number.
    Frame { mfn: u64 },
}

impl CopyEnd {
    fn ptr(self, offset: u16) -> (GnttabCopyPtr, bool) {
        match self {
            CopyEnd::Grant { domid, gref } => (GnttabCopyPtr::from_gref(gref, domid, offset), true),
            CopyEnd::Frame { mfn } => (GnttabCopyPtr::from_gmfn(mfn, DOMID_SELF, offset), false),
        }
    }
}

/// Has the hypervisor copy `len` bytes from `source` at `source_offset` to `dest` at
/// `dest_offset` (neither range may leave its page). Errors as for [`map`].
pub fn copy(source: CopyEnd, source_offset: u16, dest: CopyEnd, dest_offset: u16, len: u16) -> Result<(), i16> {
    let (source, source_gref) = source.ptr(source_offset);
    let (dest, dest_gref) = dest.ptr(dest_offset);
    let flags = if source_gref { GNTCOPY_SOURCE_GREF } else { 0 } | if dest_gref { GNTCOPY_DEST_GREF } else { 0 };
    let mut op = GnttabCopy { source, dest, len, flags, ..Default::default() };
    copy_batch(core::slice::from_mut(&mut op)).map_err(|_| GNTST_GENERAL_ERROR)?;
    match op.status {
        GNTST_OKAY => Ok(()),
        status => Err(status),
    }
}

/// `GNTTABOP_copy` on a whole batch; each op's `status` says how it went. Err is the
/// hypercall's negative errno (a bad pointer, a batch over the hypervisor's bound).
pub fn copy_batch(ops: &mut [GnttabCopy]) -> Result<(), i64> {
    match hypercall::grant_table_op(GNTTABOP_COPY, ops) {
        0 => Ok(()),
        rc => Err(rc),
    }
}

/// A page of our address space lent for mapping a grant into. Its own frame stays ours
/// (and comes back after [`unmap`]); dropping the slot only returns it to the pool, so
/// unmap first.
#[derive(Debug)]
pub struct MapSlot {
    index: usize,
}

impl MapSlot {
    /// A free slot, if any of the [`MAP_SLOTS`] is.
    pub fn claim() -> Option<MapSlot> {
        let mut used = SLOTS_USED.load(Ordering::Acquire);
        loop {
            let index = (!used).trailing_zeros() as usize;
            if index >= MAP_SLOTS {
                return None;
            }
            match SLOTS_USED.compare_exchange(used, used | (1 << index), Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return Some(MapSlot { index }),
                Err(now) => used = now,
            }
        }
    }

    /// The slot's (page-aligned) virtual address.
    pub fn va(&self) -> u64 {
        addr_of_mut!(MAP_WINDOW) as u64 + (self.index * PAGE) as u64
    }
}

impl Drop for MapSlot {
    fn drop(&mut self) {
        SLOTS_USED.fetch_and(!(1 << self.index), Ordering::Release);
    }
}
