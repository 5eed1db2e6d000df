//! The byte-stream rings of the XenStore page (`struct
//! xenstore_domain_interface`, `io/xs_wire.h`) and the console page
//! (`struct xencons_interface`, `io/console.h`).
//!
//! Each direction is a power-of-two byte array with a free-running
//! consumer and producer index; a byte's position is `idx & (size - 1)`
//! (C `MASK_XENSTORE_IDX`, `MASK_XENCONS_IDX`).  The producer writes data
//! then advances `prod`; the consumer reads data then advances `cons`.
//! Neither side trusts the other's index: `prod - cons > size` is
//! [`RingError::Overflow`].  Notifying the peer (event channel) after an
//! index moved is the caller's job.

use core::mem::offset_of;
use core::sync::atomic::{fence, Ordering};

use xen_abi::console::{XenconsInterface, XENCONS_IN_SIZE, XENCONS_OUT_SIZE};
use xen_abi::xs_wire::{XenstoreDomainInterface, XENSTORE_RING_SIZE};

use crate::{RingError, RingMemory};

/// Where one direction of a byte ring lives in its page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByteRing {
    /// Offset of the data array.
    pub data: usize,
    /// Length of the data array, a power of two.
    pub size: u32,
    /// Offset of the consumer index.
    pub cons: usize,
    /// Offset of the producer index.
    pub prod: usize,
}

/// XenStore requests: the domain produces into `req`, the server consumes.
pub const XENSTORE_REQ: ByteRing = ByteRing {
    data: offset_of!(XenstoreDomainInterface, req),
    size: XENSTORE_RING_SIZE as u32,
    cons: offset_of!(XenstoreDomainInterface, req_cons),
    prod: offset_of!(XenstoreDomainInterface, req_prod),
};

/// XenStore replies and watch events: the server produces into `rsp`, the
/// domain consumes.
pub const XENSTORE_RSP: ByteRing = ByteRing {
    data: offset_of!(XenstoreDomainInterface, rsp),
    size: XENSTORE_RING_SIZE as u32,
    cons: offset_of!(XenstoreDomainInterface, rsp_cons),
    prod: offset_of!(XenstoreDomainInterface, rsp_prod),
};

/// Console input: the back end produces into `in`, the guest consumes.
pub const CONSOLE_IN: ByteRing = ByteRing {
    data: offset_of!(XenconsInterface, in_),
    size: XENCONS_IN_SIZE as u32,
    cons: offset_of!(XenconsInterface, in_cons),
    prod: offset_of!(XenconsInterface, in_prod),
};

/// Console output: the guest produces into `out`, the back end consumes.
pub const CONSOLE_OUT: ByteRing = ByteRing {
    data: offset_of!(XenconsInterface, out),
    size: XENCONS_OUT_SIZE as u32,
    cons: offset_of!(XenconsInterface, out_cons),
    prod: offset_of!(XenconsInterface, out_prod),
};

impl ByteRing {
    /// Position in the data array of index `idx`.
    pub const fn mask(&self, idx: u32) -> usize {
        (idx & self.size.wrapping_sub(1)) as usize
    }

    /// Loads and checks both indices: `(cons, prod, prod - cons)`.
    fn indices<M: RingMemory + ?Sized>(&self, mem: &M) -> Result<(u32, u32, u32), RingError> {
        if !self.size.is_power_of_two() {
            return Err(RingError::BadGeometry);
        }
        let cons = mem.load_u32(self.cons)?;
        let prod = mem.load_u32(self.prod)?;
        let used = prod.wrapping_sub(cons);
        if used > self.size {
            return Err(RingError::Overflow);
        }
        Ok((cons, prod, used))
    }

    /// The two contiguous pieces (offset, length) of `len` bytes of data
    /// starting at index `idx`: up to the end of the array, then from its
    /// start.  `len <= size`.
    fn pieces(&self, idx: u32, len: usize) -> [(usize, usize); 2] {
        let start = self.mask(idx);
        let first = len.min(self.size as usize - start);
        // Saturating: a descriptor placed at the end of the address space
        // then fails the memory's bounds check instead of wrapping.
        [
            (self.data.saturating_add(start), first),
            (self.data, len - first),
        ]
    }
}

/// Bytes the consumer can read now.
pub fn available<M: RingMemory + ?Sized>(mem: &M, ring: &ByteRing) -> Result<u32, RingError> {
    ring.indices(mem).map(|(_, _, used)| used)
}

/// Bytes the producer can write now.
pub fn space<M: RingMemory + ?Sized>(mem: &M, ring: &ByteRing) -> Result<u32, RingError> {
    ring.indices(mem).map(|(_, _, used)| ring.size - used)
}

/// Producer side: copies as much of `bytes` as fits, then publishes the new
/// producer index.  Returns the number of bytes written.
pub fn try_write<M: RingMemory + ?Sized>(
    mem: &M,
    ring: &ByteRing,
    bytes: &[u8],
) -> Result<usize, RingError> {
    let (_, prod, used) = ring.indices(mem)?;
    let n = bytes.len().min((ring.size - used) as usize);
    if n == 0 {
        return Ok(0);
    }
    // mb(): write the data only after reading `cons`, or the consumer's
    // unread bytes could be overwritten.
    fence(Ordering::SeqCst);
    let mut copied = 0;
    for (offset, len) in ring.pieces(prod, n) {
        mem.write_bytes(offset, &bytes[copied..copied + len])?;
        copied += len;
    }
    // wmb(): the data must be visible before the index.
    fence(Ordering::Release);
    // `n <= size <= u32::MAX`.
    mem.store_u32(ring.prod, prod.wrapping_add(n as u32))?;
    Ok(n)
}

/// [`try_write`] for callers that only need a count: a ring it cannot use
/// (corrupt indices, memory that does not hold it) takes 0 bytes.
pub fn write<M: RingMemory + ?Sized>(mem: &M, ring: &ByteRing, bytes: &[u8]) -> usize {
    try_write(mem, ring, bytes).unwrap_or(0)
}

/// Consumer side: copies up to `buf.len()` waiting bytes into `buf`, then
/// publishes the new consumer index.  Returns the number of bytes read;
/// [`RingError::Overflow`] (nothing consumed) if the producer's index
/// claims more than the ring holds — the caller decides whether to
/// [`resync`] or give up on the ring.
pub fn read<M: RingMemory + ?Sized>(
    mem: &M,
    ring: &ByteRing,
    buf: &mut [u8],
) -> Result<usize, RingError> {
    let (cons, _, used) = ring.indices(mem)?;
    let n = buf.len().min(used as usize);
    if n == 0 {
        return Ok(0);
    }
    // rmb(): read the data only after seeing `prod` cover it.
    fence(Ordering::Acquire);
    let mut copied = 0;
    for (offset, len) in ring.pieces(cons, n) {
        mem.read_bytes(offset, &mut buf[copied..copied + len])?;
        copied += len;
    }
    // mb(): finish reading before the producer may reuse the space.
    fence(Ordering::SeqCst);
    mem.store_u32(ring.cons, cons.wrapping_add(n as u32))?;
    Ok(n)
}

/// Consumer side recovery: drops everything (valid or not) by moving
/// `cons` to the current `prod`, which makes the ring consistent again
/// without writing the producer's index.  Returns the new `cons`.
pub fn resync<M: RingMemory + ?Sized>(mem: &M, ring: &ByteRing) -> Result<u32, RingError> {
    let prod = mem.load_u32(ring.prod)?;
    fence(Ordering::SeqCst);
    mem.store_u32(ring.cons, prod)?;
    Ok(prod)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SliceMemory;

    #[test]
    fn descriptors_match_the_abi() {
        assert_eq!(
            (
                XENSTORE_REQ.data,
                XENSTORE_REQ.size,
                XENSTORE_REQ.cons,
                XENSTORE_REQ.prod
            ),
            (0, 1024, 2048, 2052)
        );
        assert_eq!(
            (
                XENSTORE_RSP.data,
                XENSTORE_RSP.size,
                XENSTORE_RSP.cons,
                XENSTORE_RSP.prod
            ),
            (1024, 1024, 2056, 2060)
        );
        assert_eq!(
            (
                CONSOLE_IN.data,
                CONSOLE_IN.size,
                CONSOLE_IN.cons,
                CONSOLE_IN.prod
            ),
            (0, 1024, 3072, 3076)
        );
        assert_eq!(
            (
                CONSOLE_OUT.data,
                CONSOLE_OUT.size,
                CONSOLE_OUT.cons,
                CONSOLE_OUT.prod
            ),
            (1024, 2048, 3080, 3084)
        );
        assert_eq!(CONSOLE_OUT.mask(2049), 1);
        assert_eq!(XENSTORE_RSP.mask(u32::MAX), 1023);
    }

    #[test]
    fn write_then_read_with_wraparound() {
        let mut page = [0u8; 4096];
        let mem = SliceMemory::new(&mut page);
        // Start both indices just below the 32-bit wrap and the array end.
        let start = u32::MAX - 2;
        mem.store_u32(XENSTORE_REQ.cons, start).unwrap();
        mem.store_u32(XENSTORE_REQ.prod, start).unwrap();
        assert_eq!(space(&mem, &XENSTORE_REQ), Ok(1024));
        assert_eq!(write(&mem, &XENSTORE_REQ, b"hello"), 5);
        assert_eq!(mem.load_u32(XENSTORE_REQ.prod), Ok(start.wrapping_add(5)));
        // Bytes straddle the end of the array.
        assert_eq!(mem.byte(1021), Some(b'h'));
        assert_eq!(mem.byte(0), Some(b'l'));
        assert_eq!(available(&mem, &XENSTORE_REQ), Ok(5));
        let mut buf = [0u8; 3];
        assert_eq!(read(&mem, &XENSTORE_REQ, &mut buf), Ok(3));
        assert_eq!(&buf, b"hel");
        let mut buf = [0u8; 8];
        assert_eq!(read(&mem, &XENSTORE_REQ, &mut buf), Ok(2));
        assert_eq!(&buf[..2], b"lo");
        assert_eq!(read(&mem, &XENSTORE_REQ, &mut buf), Ok(0));
        // The other direction is untouched.
        assert_eq!(available(&mem, &XENSTORE_RSP), Ok(0));
    }

    #[test]
    fn write_stops_when_full() {
        let mut page = [0u8; 4096];
        let mem = SliceMemory::new(&mut page);
        let big = [7u8; 3000];
        assert_eq!(write(&mem, &CONSOLE_OUT, &big), 2048);
        assert_eq!(space(&mem, &CONSOLE_OUT), Ok(0));
        assert_eq!(write(&mem, &CONSOLE_OUT, b"x"), 0);
        let mut buf = [0u8; 100];
        assert_eq!(read(&mem, &CONSOLE_OUT, &mut buf), Ok(100));
        assert_eq!(write(&mem, &CONSOLE_OUT, &big), 100);
        // The console input ring is the first 1024 bytes.
        assert_eq!(write(&mem, &CONSOLE_IN, &big), 1024);
        assert_eq!(mem.byte(1023), Some(7));
    }

    #[test]
    fn hostile_indices_are_overflow() {
        let mut page = [0u8; 4096];
        let mem = SliceMemory::new(&mut page);
        mem.store_u32(XENSTORE_RSP.prod, 1025).unwrap();
        let mut buf = [0u8; 16];
        assert_eq!(
            read(&mem, &XENSTORE_RSP, &mut buf),
            Err(RingError::Overflow)
        );
        assert_eq!(mem.load_u32(XENSTORE_RSP.cons), Ok(0));
        // A consumer index ahead of the producer is as bad.
        mem.store_u32(XENSTORE_REQ.cons, 5).unwrap();
        assert_eq!(
            try_write(&mem, &XENSTORE_REQ, b"x"),
            Err(RingError::Overflow)
        );
        assert_eq!(write(&mem, &XENSTORE_REQ, b"x"), 0);
        assert_eq!(resync(&mem, &XENSTORE_RSP), Ok(1025));
        assert_eq!(available(&mem, &XENSTORE_RSP), Ok(0));
        // Exactly full is fine.
        mem.store_u32(XENSTORE_RSP.prod, 1025 + 1024).unwrap();
        assert_eq!(available(&mem, &XENSTORE_RSP), Ok(1024));
    }

    #[test]
    fn descriptor_that_does_not_fit_is_an_error() {
        let mut small = [0u8; 2064];
        let mem = SliceMemory::new(&mut small);
        // XenStore indices fit; the console's do not.
        assert_eq!(write(&mem, &XENSTORE_REQ, b"ok"), 2);
        assert_eq!(available(&mem, &CONSOLE_IN), Err(RingError::OutOfBounds));
        let odd = ByteRing {
            size: 1000,
            ..XENSTORE_REQ
        };
        assert_eq!(space(&mem, &odd), Err(RingError::BadGeometry));
    }
}
