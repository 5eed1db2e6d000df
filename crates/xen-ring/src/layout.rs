//! Where things are in a shared request/response ring (C `struct
//! NAME_sring`): the 64-byte [`SringHeader`], then the `ring[]` array of
//! slots, each the C union of one request and one response.

use core::mem::{align_of, offset_of, size_of};

use xen_abi::ring::{ring_size, ring_slot, RingIdx, SringHeader};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::{RingError, RingMemory};

/// What a request or response type must be: plain bytes both ways.
pub trait Entry: FromBytes + IntoBytes + Immutable + KnownLayout {}

impl<T: FromBytes + IntoBytes + Immutable + KnownLayout> Entry for T {}

/// Offset of `req_prod` in the shared page.
pub const REQ_PROD: usize = offset_of!(SringHeader, req_prod);
/// Offset of `req_event` in the shared page.
pub const REQ_EVENT: usize = offset_of!(SringHeader, req_event);
/// Offset of `rsp_prod` in the shared page.
pub const RSP_PROD: usize = offset_of!(SringHeader, rsp_prod);
/// Offset of `rsp_event` in the shared page.
pub const RSP_EVENT: usize = offset_of!(SringHeader, rsp_event);

/// Largest slot count: with more than 2^31 slots, free-running 32-bit
/// indices could no longer tell a full ring from an empty one.
const MAX_SLOTS: usize = 1 << 31;

/// The geometry of one ring: where slot 0 is, how long a slot is, and how
/// many there are (C `RING_SIZE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RingLayout {
    /// Offset of `ring[0]`.
    pub entries_offset: usize,
    /// Size of one slot: `sizeof(union NAME_sring_entry)`.
    pub slot_bytes: usize,
    /// Number of slots, a power of two.
    pub size: u32,
}

impl RingLayout {
    /// The layout of a ring of `Req`/`Rsp` entries in `mem_len` bytes.
    ///
    /// The slot is the C union of the two: the larger size rounded up to
    /// the stricter alignment.  Slot 0 follows the 64-byte header (later
    /// only if an entry needs more than 64-byte alignment, as C would lay
    /// out the flexible array).
    pub fn new<Req: Entry, Rsp: Entry>(mem_len: usize) -> Result<Self, RingError> {
        let align = align_of::<Req>().max(align_of::<Rsp>());
        let slot_bytes = size_of::<Req>()
            .max(size_of::<Rsp>())
            .next_multiple_of(align);
        let header = size_of::<SringHeader>();
        let entries_offset = header.next_multiple_of(align);
        // `ring_size` assumes the entries start right after the header.
        let usable = mem_len
            .checked_sub(entries_offset - header)
            .ok_or(RingError::BadGeometry)?;
        let size = ring_size(usable, slot_bytes);
        if size == 0 || size > MAX_SLOTS {
            return Err(RingError::BadGeometry);
        }
        Ok(Self {
            entries_offset,
            slot_bytes,
            size: size as u32,
        })
    }

    /// Offset of the slot that index `idx` uses.
    pub fn slot_offset(&self, idx: RingIdx) -> usize {
        self.entries_offset + ring_slot(idx, self.size as usize) * self.slot_bytes
    }
}

/// Writes a freshly initialised header (C `SHARED_RING_INIT`): no requests
/// or responses, both event thresholds 1, private area and padding zero.
pub fn shared_ring_init<M: RingMemory + ?Sized>(mem: &M) -> Result<(), RingError> {
    mem.write_bytes(0, SringHeader::new().as_bytes())
}

/// A snapshot of the shared header (for diagnostics: the fields may change
/// under the caller's feet).
pub fn read_header<M: RingMemory + ?Sized>(mem: &M) -> Result<SringHeader, RingError> {
    let mut header = SringHeader::new();
    mem.read_bytes(0, header.as_mut_bytes())?;
    Ok(header)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SliceMemory;

    #[test]
    fn slot_is_the_c_union() {
        // blkif-sized entries: 112-byte requests, 16-byte responses.
        let l = RingLayout::new::<[u64; 14], [u64; 2]>(4096).unwrap();
        assert_eq!((l.entries_offset, l.slot_bytes, l.size), (64, 112, 32));
        // 6-byte entry aligned 2 next to a 4-byte one aligned 4: the union
        // is 8 bytes, as a C compiler lays it out.
        let l = RingLayout::new::<[u16; 3], u32>(64 + 8 * 4).unwrap();
        assert_eq!((l.slot_bytes, l.size), (8, 4));
        assert_eq!(l.slot_offset(5), 64 + 8);
        assert_eq!(l.slot_offset(u32::MAX), 64 + 3 * 8);
        // Multi-page ring.
        let l = RingLayout::new::<[u32; 3], [u32; 2]>(4 * 4096).unwrap();
        assert_eq!(l.size, 1024);
    }

    #[test]
    fn too_small_is_rejected() {
        assert_eq!(
            RingLayout::new::<[u8; 16], [u8; 16]>(64 + 15),
            Err(RingError::BadGeometry)
        );
        assert_eq!(RingLayout::new::<u32, u32>(0), Err(RingError::BadGeometry));
        assert_eq!(RingLayout::new::<(), ()>(4096), Err(RingError::BadGeometry));
    }

    #[test]
    fn header_offsets_and_init() {
        assert_eq!((REQ_PROD, REQ_EVENT, RSP_PROD, RSP_EVENT), (0, 4, 8, 12));
        let mut buf = [0xaau8; 128];
        let mem = SliceMemory::new(&mut buf);
        shared_ring_init(&mem).unwrap();
        assert_eq!(read_header(&mem), Ok(SringHeader::new()));
        assert_eq!(mem.byte(63), Some(0));
        assert_eq!(mem.byte(64), Some(0xaa));
    }
}
