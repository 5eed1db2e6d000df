//! Shared request/response rings of the split drivers, mirroring the
//! shared-ring header and size arithmetic of `xen/include/public/io/ring.h`
//! (`DEFINE_RING_TYPES`, `__RING_SIZE`, `SHARED_RING_INIT`,
//! `RING_PUSH_*_AND_CHECK_NOTIFY`).
//!
//! A shared ring page is a [`SringHeader`] followed by `ring_size(..)`
//! slots, each the size of the larger of the request and response types.
//! Indices ([`RingIdx`]) are free-running `u32` counters, never masked in
//! the shared page; a slot is `idx & (size - 1)`.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// A free-running ring index (C `RING_IDX`); arithmetic is modulo 2^32.
pub type RingIdx = u32;

/// The header of every shared ring (C `struct NAME_sring` up to its `ring[]`
/// array, 64 B).
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct SringHeader {
    /// Requests produced (written by the front end).
    pub req_prod: RingIdx,
    /// Back end wants a notification once `req_prod` passes this.
    pub req_event: RingIdx,
    /// Responses produced (written by the back end).
    pub rsp_prod: RingIdx,
    /// Front end wants a notification once `rsp_prod` passes this.
    pub rsp_event: RingIdx,
    /// Protocol-private union (`smartpoll_active`, `msg`, `pvt_pad[4]`).
    pub pvt: [u8; 4],
    /// Padding up to 64 bytes; C field `__pad`.
    pub pad: [u8; 44],
}

impl SringHeader {
    /// A freshly initialised header (C `SHARED_RING_INIT`, done by the front
    /// end): no requests or responses, both event thresholds 1, private
    /// state and padding zero.
    pub const fn new() -> Self {
        Self {
            req_prod: 0,
            req_event: 1,
            rsp_prod: 0,
            rsp_event: 1,
            pvt: [0; 4],
            pad: [0; 44],
        }
    }
}

impl Default for SringHeader {
    /// Same as [`SringHeader::new`] (`SHARED_RING_INIT`), not all zeroes.
    fn default() -> Self {
        Self::new()
    }
}

/// Number of slots of a shared ring occupying `page_bytes` bytes whose
/// entries (the union of request and response) are `entry_bytes` long:
/// `(page_bytes - 64) / entry_bytes` rounded down to a power of two (C
/// `__RING_SIZE`).  Returns 0 if not even one entry fits (or
/// `entry_bytes` is 0).
pub const fn ring_size(page_bytes: usize, entry_bytes: usize) -> usize {
    let header = core::mem::size_of::<SringHeader>();
    if entry_bytes == 0 || page_bytes <= header {
        return 0;
    }
    let n = (page_bytes - header) / entry_bytes;
    if n == 0 {
        0
    } else {
        1 << (usize::BITS - 1 - n.leading_zeros())
    }
}

/// Slot of index `idx` in a ring of `size` slots (`size` a power of two, as
/// returned by [`ring_size`]).
pub const fn ring_slot(idx: RingIdx, size: usize) -> usize {
    idx as usize & (size.wrapping_sub(1))
}

/// Whether publishing a producer index moving from `old` to `new` must
/// notify the peer whose event threshold is `event` (the test of C
/// `RING_PUSH_{REQUESTS,RESPONSES}_AND_CHECK_NOTIFY`, modulo 2^32).
pub const fn need_notify(old: RingIdx, new: RingIdx, event: RingIdx) -> bool {
    new.wrapping_sub(event) < new.wrapping_sub(old)
}

const _: () = assert!(core::mem::size_of::<SringHeader>() == 64);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PAGE_SIZE;

    #[test]
    fn layout() {
        check_layout!(SringHeader, 64, {
            req_prod @ 0, req_event @ 4, rsp_prod @ 8, rsp_event @ 12,
            pvt @ 16, pad @ 20,
        });
        let h = SringHeader::new();
        assert_eq!(
            (h.req_prod, h.req_event, h.rsp_prod, h.rsp_event),
            (0, 1, 0, 1)
        );
        assert_eq!(SringHeader::default(), h);
    }

    #[test]
    fn sizes() {
        // blkif: 112-byte requests -> 36 fit, 32 used.
        assert_eq!(ring_size(PAGE_SIZE, 112), 32);
        // netif TX: 12-byte requests -> 336 fit, 256 used; RX (8 B) too.
        assert_eq!(ring_size(PAGE_SIZE, 12), 256);
        assert_eq!(ring_size(PAGE_SIZE, 8), 256);
        // Exact power of two, and degenerate cases.
        assert_eq!(ring_size(64 + 4 * 16, 16), 4);
        assert_eq!(ring_size(64 + 15, 16), 0);
        assert_eq!(ring_size(64, 1), 0);
        assert_eq!(ring_size(PAGE_SIZE, 0), 0);
        // Multi-page rings (ring-page-order 2).
        assert_eq!(ring_size(4 * PAGE_SIZE, 112), 128);
        assert_eq!(ring_slot(33, 32), 1);
        assert_eq!(ring_slot(u32::MAX, 32), 31);
    }

    #[test]
    fn notify() {
        // Peer asked to hear about index 1; pushing 0 -> 1 crosses it.
        assert!(need_notify(0, 1, 1));
        // Peer wants 5; pushing 0 -> 3 does not reach it, 3 -> 6 does.
        assert!(!need_notify(0, 3, 5));
        assert!(need_notify(3, 6, 5));
        // Already past the event before this push: no notification.
        assert!(!need_notify(6, 8, 5));
        // Wrap-around.
        assert!(need_notify(u32::MAX - 1, 2, u32::MAX));
        assert!(!need_notify(u32::MAX - 1, 2, 5));
        // Nothing pushed.
        assert!(!need_notify(4, 4, 4));
    }
}
