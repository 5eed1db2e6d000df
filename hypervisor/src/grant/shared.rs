//! The granter's side of a grant: the v1 entries in the shared frames, which the granting
//! guest writes at any time. The hypervisor reads each field once, and changes the flags
//! word only with atomic operations, as Xen does: setting `GTF_reading`/`GTF_writing` is a
//! compare-exchange of the combined flags and domid word (so the check of type, domid and
//! `GTF_readonly` and the marking happen in one step), and the guest's own revoke is a
//! compare-exchange of the flags to 0 that cannot succeed while those bits are set.

use crate::mm::{DomId, FrameMemory, Mfn};
use xen_abi::grant_table::*;

/// Atomic access to shared words of machine frames, on top of plain frame access. The
/// hypervisor implements it over its direct map; tests over ordinary memory. `offset` is a
/// byte offset inside the frame, aligned to the access size.
pub trait GrantMemory: FrameMemory {
    /// Reads the 32-bit word at `offset` of `mfn` atomically.
    fn load_u32(&self, mfn: Mfn, offset: usize) -> u32;
    /// Replaces the 32-bit word at `offset` with `new` if it holds `current`; returns the
    /// value found, as `Ok` when it was replaced.
    fn compare_exchange_u32(&mut self, mfn: Mfn, offset: usize, current: u32, new: u32) -> Result<u32, u32>;
    /// Clears `bits` in the 16-bit word at `offset` atomically.
    fn clear_bits_u16(&mut self, mfn: Mfn, offset: usize, bits: u16);
}

/// Attempts at the compare-exchange before the entry counts as unstable: a guest may
/// legitimately race the update (changing `GTF_readonly`, say) but could also keep changing
/// the word faster than we retry (Xen's bound, 5 tries).
const CMPXCHG_TRIES: u32 = 5;

/// Where one v1 entry lives: its grant frame and the entry's byte offset there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SharedEntry {
    pub frame: Mfn,
    pub offset: usize,
}

/// The `flags` and `domid` halves of the combined word (flags in the low half, as the
/// entry's first two fields are laid out in little-endian memory).
fn split(word: u32) -> (u16, DomId) {
    (word as u16, (word >> 16) as DomId)
}

impl SharedEntry {
    /// The frame number the granter put in the entry (read once, at first use).
    pub fn granted_frame<M: GrantMemory>(&self, mem: &M) -> Mfn {
        Mfn(u64::from(mem.load_u32(self.frame, self.offset + 4)))
    }

    /// The entry's flags, for tests and diagnostics.
    pub fn flags<M: GrantMemory>(&self, mem: &M) -> u16 {
        split(mem.load_u32(self.frame, self.offset)).0
    }

    /// Marks the entry in use for reading (and writing unless `readonly`), in one atomic
    /// step with the checks (Xen's `_set_status_v1`). When `first_use` the entry must be
    /// `GTF_permit_access` for `user` (for a map, without `GTF_sub_page`); a writable use
    /// needs the grant not to be `GTF_readonly`. Any failure is `GNTST_general_error`, and
    /// then the entry is unchanged.
    pub fn mark_in_use<M: GrantMemory>(&self, mem: &mut M, user: DomId, readonly: bool, first_use: bool, for_map: bool) -> Result<(), i16> {
        let type_mask = if for_map { GTF_TYPE_MASK | GTF_SUB_PAGE } else { GTF_TYPE_MASK };
        let mut seen = mem.load_u32(self.frame, self.offset);
        for _ in 0..CMPXCHG_TRIES {
            let (flags, domid) = split(seen);
            if first_use && (flags & type_mask != GTF_PERMIT_ACCESS || domid != user) {
                return Err(GNTST_GENERAL_ERROR);
            }
            if !readonly && flags & GTF_READONLY != 0 {
                return Err(GNTST_GENERAL_ERROR);
            }
            let in_use = if readonly { GTF_READING } else { GTF_READING | GTF_WRITING };
            let wanted = seen | u32::from(in_use);
            match mem.compare_exchange_u32(self.frame, self.offset, seen, wanted) {
                Ok(_) => return Ok(()),
                Err(now) => seen = now,
            }
        }
        Err(GNTST_GENERAL_ERROR)
    }

    /// Clears in-use flags (`GTF_reading`/`GTF_writing`) once no use needs them.
    pub fn clear_in_use<M: GrantMemory>(&self, mem: &mut M, bits: u16) {
        if bits != 0 {
            mem.clear_bits_u16(self.frame, self.offset, bits);
        }
    }
}
