//! The memory a ring lives in.
//!
//! Ring memory is shared with another domain that may write any byte at
//! any time.  [`RingMemory`] therefore offers only copies in and out (never
//! references into the memory), single-copy-atomic 32-bit loads and stores
//! for the indices, and bounds checks on every access.  Ordering between
//! accesses is the ring code's job: it places explicit fences exactly where
//! `ring.h` places `wmb()`/`rmb()`/`mb()`, so the loads and stores here are
//! relaxed.

use core::cell::Cell;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU32, AtomicU8, Ordering};

use crate::RingError;

/// The bytes of one or more shared pages holding a ring.
///
/// Every method checks its range against [`len`](RingMemory::len) and
/// fails with [`RingError::OutOfBounds`] rather than touch anything
/// outside; 32-bit accesses also need a 4-aligned offset
/// ([`RingError::Misaligned`]).  Values are in native (little-endian on
/// x86) byte order, as the C structures are.
pub trait RingMemory {
    /// Size of the memory in bytes.
    fn len(&self) -> usize;

    /// Whether the memory has no bytes at all.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Loads the `u32` at `offset` in one access (relaxed).
    fn load_u32(&self, offset: usize) -> Result<u32, RingError>;

    /// Stores `value` at `offset` in one access (relaxed).
    fn store_u32(&self, offset: usize, value: u32) -> Result<(), RingError>;

    /// Copies `dst.len()` bytes starting at `offset` into `dst`.
    fn read_bytes(&self, offset: usize, dst: &mut [u8]) -> Result<(), RingError>;

    /// Copies `src` into the memory starting at `offset`.
    fn write_bytes(&self, offset: usize, src: &[u8]) -> Result<(), RingError>;
}

impl<M: RingMemory + ?Sized> RingMemory for &M {
    fn len(&self) -> usize {
        (**self).len()
    }
    fn load_u32(&self, offset: usize) -> Result<u32, RingError> {
        (**self).load_u32(offset)
    }
    fn store_u32(&self, offset: usize, value: u32) -> Result<(), RingError> {
        (**self).store_u32(offset, value)
    }
    fn read_bytes(&self, offset: usize, dst: &mut [u8]) -> Result<(), RingError> {
        (**self).read_bytes(offset, dst)
    }
    fn write_bytes(&self, offset: usize, src: &[u8]) -> Result<(), RingError> {
        (**self).write_bytes(offset, src)
    }
}

/// Checks that `len` bytes at `offset` lie inside memory of `total` bytes.
pub fn check_range(offset: usize, len: usize, total: usize) -> Result<(), RingError> {
    match offset.checked_add(len) {
        Some(end) if end <= total => Ok(()),
        _ => Err(RingError::OutOfBounds),
    }
}

/// Checks a 32-bit access at `offset` in memory of `total` bytes.
pub fn check_u32(offset: usize, total: usize) -> Result<(), RingError> {
    check_range(offset, 4, total)?;
    if offset % 4 != 0 {
        return Err(RingError::Misaligned);
    }
    Ok(())
}

/// Ring memory over a borrowed byte buffer, for host tests and fuzzing.
///
/// It is `Copy`, so a front end, a back end and a simulated hostile peer
/// can all hold the same buffer in one thread.  (`Cell` makes it `!Sync`,
/// which is what keeps its non-atomic 32-bit accesses sound.)
#[derive(Clone, Copy, Debug)]
pub struct SliceMemory<'a> {
    cells: &'a [Cell<u8>],
}

impl<'a> SliceMemory<'a> {
    /// Ring memory over `bytes`.
    pub fn new(bytes: &'a mut [u8]) -> Self {
        Self::from_cells(Cell::from_mut(bytes).as_slice_of_cells())
    }

    /// Ring memory over cells the caller keeps sharing.
    pub fn from_cells(cells: &'a [Cell<u8>]) -> Self {
        Self { cells }
    }

    /// The byte at `offset`, if inside the memory (a test's view).
    pub fn byte(&self, offset: usize) -> Option<u8> {
        self.cells.get(offset).map(Cell::get)
    }
}

impl RingMemory for SliceMemory<'_> {
    fn len(&self) -> usize {
        self.cells.len()
    }

    fn load_u32(&self, offset: usize) -> Result<u32, RingError> {
        check_u32(offset, self.cells.len())?;
        let mut bytes = [0u8; 4];
        self.read_bytes(offset, &mut bytes)?;
        Ok(u32::from_ne_bytes(bytes))
    }

    fn store_u32(&self, offset: usize, value: u32) -> Result<(), RingError> {
        check_u32(offset, self.cells.len())?;
        self.write_bytes(offset, &value.to_ne_bytes())
    }

    fn read_bytes(&self, offset: usize, dst: &mut [u8]) -> Result<(), RingError> {
        check_range(offset, dst.len(), self.cells.len())?;
        for (d, c) in dst.iter_mut().zip(&self.cells[offset..]) {
            *d = c.get();
        }
        Ok(())
    }

    fn write_bytes(&self, offset: usize, src: &[u8]) -> Result<(), RingError> {
        check_range(offset, src.len(), self.cells.len())?;
        for (s, c) in src.iter().zip(&self.cells[offset..]) {
            c.set(*s);
        }
        Ok(())
    }
}

/// Ring memory at a raw address: a shared page mapped into the guest (or
/// hypervisor).
///
/// All accesses are atomic (bytes as `AtomicU8`, indices as `AtomicU32`),
/// so the peer writing concurrently is not a data race on this side.
#[derive(Clone, Copy, Debug)]
pub struct PageMemory {
    base: NonNull<u8>,
    len: usize,
}

// SAFETY: a `PageMemory` is an address range that `new`'s contract keeps
// valid for as long as any copy exists, accessed only through atomics, so
// using it from another thread is no different from the peer domain using
// the same bytes.
unsafe impl Send for PageMemory {}
// SAFETY: as for `Send`: every access through `&PageMemory` is atomic.
unsafe impl Sync for PageMemory {}

impl PageMemory {
    /// Ring memory of `len` bytes at `base`.
    ///
    /// Fails with [`RingError::Misaligned`] if `base` is null or not
    /// 4-byte aligned, and [`RingError::BadGeometry`] if `len` exceeds
    /// `isize::MAX`.
    ///
    /// # Safety
    ///
    /// For as long as this value or any copy of it is in use, `base` must
    /// be valid for reads and writes of `len` bytes, the range must not be
    /// freed or unmapped, and this program must not hold Rust references
    /// (`&`/`&mut`) into it: only atomic or volatile accesses, from here
    /// or from the peer domain, may touch it.
    pub unsafe fn new(base: *mut u8, len: usize) -> Result<Self, RingError> {
        let base = NonNull::new(base).ok_or(RingError::Misaligned)?;
        if base.as_ptr() as usize % 4 != 0 {
            return Err(RingError::Misaligned);
        }
        if len > isize::MAX as usize {
            return Err(RingError::BadGeometry);
        }
        Ok(Self { base, len })
    }

    /// The base address.
    pub fn base(&self) -> *mut u8 {
        self.base.as_ptr()
    }

    /// The byte at `offset` (checked by the caller) as an atomic.
    fn byte_at(&self, offset: usize) -> &AtomicU8 {
        // SAFETY: callers checked `offset < len`, so the pointer is inside
        // the range `new`'s contract keeps valid, and every access to that
        // range is atomic, as `AtomicU8::from_ptr` requires.
        unsafe { AtomicU8::from_ptr(self.base.as_ptr().add(offset)) }
    }
}

impl RingMemory for PageMemory {
    fn len(&self) -> usize {
        self.len
    }

    fn load_u32(&self, offset: usize) -> Result<u32, RingError> {
        check_u32(offset, self.len)?;
        // SAFETY: the 4 bytes are inside the valid range (checked above),
        // 4-aligned (base aligned by `new`, offset checked), and only ever
        // accessed atomically per `new`'s contract.
        let word = unsafe { AtomicU32::from_ptr(self.base.as_ptr().add(offset).cast()) };
        Ok(word.load(Ordering::Relaxed))
    }

    fn store_u32(&self, offset: usize, value: u32) -> Result<(), RingError> {
        check_u32(offset, self.len)?;
        // SAFETY: as in `load_u32`.
        let word = unsafe { AtomicU32::from_ptr(self.base.as_ptr().add(offset).cast()) };
        word.store(value, Ordering::Relaxed);
        Ok(())
    }

    fn read_bytes(&self, offset: usize, dst: &mut [u8]) -> Result<(), RingError> {
        check_range(offset, dst.len(), self.len)?;
        for (i, d) in dst.iter_mut().enumerate() {
            *d = self.byte_at(offset + i).load(Ordering::Relaxed);
        }
        Ok(())
    }

    fn write_bytes(&self, offset: usize, src: &[u8]) -> Result<(), RingError> {
        check_range(offset, src.len(), self.len)?;
        for (i, s) in src.iter().enumerate() {
            self.byte_at(offset + i).store(*s, Ordering::Relaxed);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slice_memory_checks_bounds_and_alignment() {
        let mut buf = [0u8; 16];
        let mem = SliceMemory::new(&mut buf);
        assert_eq!(mem.len(), 16);
        mem.store_u32(12, 0x0403_0201).unwrap();
        assert_eq!(mem.load_u32(12), Ok(0x0403_0201));
        assert_eq!(mem.byte(12), Some(1));
        assert_eq!(mem.load_u32(16), Err(RingError::OutOfBounds));
        assert_eq!(mem.load_u32(usize::MAX - 1), Err(RingError::OutOfBounds));
        assert_eq!(mem.store_u32(2, 0), Err(RingError::Misaligned));
        let mut out = [0u8; 4];
        assert_eq!(mem.read_bytes(13, &mut out), Err(RingError::OutOfBounds));
        assert_eq!(
            mem.write_bytes(usize::MAX, &[1]),
            Err(RingError::OutOfBounds)
        );
        mem.write_bytes(0, &[9, 8, 7]).unwrap();
        mem.read_bytes(0, &mut out[..3]).unwrap();
        assert_eq!(&out[..3], &[9, 8, 7]);
        // Zero-length accesses at the very end are fine.
        assert_eq!(mem.write_bytes(16, &[]), Ok(()));
    }

    #[test]
    fn page_memory_over_a_buffer() {
        let mut words = [0u32; 8];
        // SAFETY: `words` outlives `mem`, is 4-aligned, and is only
        // touched through `mem` while `mem` is in use.
        let mem = unsafe { PageMemory::new(words.as_mut_ptr().cast(), 32) }.unwrap();
        mem.store_u32(4, 0xdead_beef).unwrap();
        assert_eq!(mem.load_u32(4), Ok(0xdead_beef));
        mem.write_bytes(30, &[1, 2]).unwrap();
        let mut two = [0u8; 2];
        mem.read_bytes(30, &mut two).unwrap();
        assert_eq!(two, [1, 2]);
        assert_eq!(mem.write_bytes(31, &[1, 2]), Err(RingError::OutOfBounds));
        assert_eq!(mem.load_u32(6), Err(RingError::Misaligned));
        assert_eq!(words[1], 0xdead_beef);

        // SAFETY: never used; `new` rejects the pointer before any access.
        let bad = unsafe { PageMemory::new(core::ptr::null_mut(), 4) };
        assert_eq!(bad.err(), Some(RingError::Misaligned));
        // SAFETY: as above; the misaligned base is rejected.
        let odd = unsafe { PageMemory::new(words.as_mut_ptr().cast::<u8>().add(1), 4) };
        assert_eq!(odd.err(), Some(RingError::Misaligned));
    }
}
