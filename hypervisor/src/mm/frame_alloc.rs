//! Machine frame allocator.
//!
//! A bitmap over the machine frames `[0, max_mfn)`: one bit per frame, set when the frame
//! is free. A second bitmap remembers which frames were ever handed to the allocator, so
//! freeing a frame it never managed (or freeing twice) is caught as the logic error it is
//! instead of silently corrupting the free pool.
//!
//! Scans are linear in the number of 64-bit words. A search hint (every word below it is
//! known to hold no free frame) keeps a run of `alloc()` calls linear overall instead of
//! quadratic.

use alloc::vec;
use alloc::vec::Vec;

use super::addr::Mfn;

const BITS: u64 = u64::BITS as u64;

/// Why a request to the allocator was refused. These are hypervisor bugs, not guest
/// errors, so they are a small enum rather than errno values.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum AllocError {
    /// The frame or range lies (partly) at or above `max_mfn`.
    OutOfRange,
    /// A frame of the range was already given to the allocator.
    AlreadyAdded,
    /// The frame was never given to the allocator, so it cannot be freed into it.
    NotManaged,
    /// The frame is already free.
    DoubleFree,
}

/// Bitmap allocator of 4 KiB machine frames, the source of every frame the hypervisor
/// gives to a domain or uses for itself.
#[derive(Clone, Debug)]
pub struct FrameAllocator {
    /// Bit set: frame is free.
    free: Vec<u64>,
    /// Bit set: frame was added with `add_free_range` (free or allocated now).
    managed: Vec<u64>,
    max_mfn: u64,
    free_count: u64,
    total_count: u64,
    /// Every word of `free` below this index is zero.
    hint: usize,
}

/// Calls `f(word_index, mask)` for each word overlapping the bit range `[start, end)`,
/// with `mask` selecting the bits of the range inside that word.
fn for_each_word(start: u64, end: u64, mut f: impl FnMut(usize, u64)) {
    let mut pos = start;
    while pos < end {
        let word = pos / BITS;
        let lo = pos % BITS;
        let hi = core::cmp::min(end - word * BITS, BITS);
        let width = hi - lo;
        let mask = if width == BITS {
            !0
        } else {
            ((1u64 << width) - 1) << lo
        };
        f(word as usize, mask);
        pos = word * BITS + hi;
    }
}

/// Rounds `value` up to a multiple of `align` (a power of two); `None` on overflow.
fn align_up(value: u64, align: u64) -> Option<u64> {
    Some(value.checked_add(align - 1)? & !(align - 1))
}

impl FrameAllocator {
    /// An allocator able to track frames `[0, max_mfn)`, holding no free frame yet; the
    /// boot code adds the usable RAM ranges of the memory map with `add_free_range`.
    pub fn new(max_mfn: u64) -> FrameAllocator {
        let words = max_mfn.div_ceil(BITS) as usize;
        FrameAllocator {
            free: vec![0; words],
            managed: vec![0; words],
            max_mfn,
            free_count: 0,
            total_count: 0,
            hint: words,
        }
    }

    /// Hands `count` frames starting at `start` to the allocator as free. The whole range
    /// is refused (nothing changes) if it leaves `[0, max_mfn)` or overlaps frames added
    /// before.
    pub fn add_free_range(&mut self, start: Mfn, count: u64) -> Result<(), AllocError> {
        let end = start.0.checked_add(count).ok_or(AllocError::OutOfRange)?;
        if end > self.max_mfn {
            return Err(AllocError::OutOfRange);
        }
        let mut overlap = false;
        for_each_word(start.0, end, |w, mask| {
            overlap |= self.managed[w] & mask != 0
        });
        if overlap {
            return Err(AllocError::AlreadyAdded);
        }
        for_each_word(start.0, end, |w, mask| {
            self.managed[w] |= mask;
            self.free[w] |= mask;
        });
        self.free_count += count;
        self.total_count += count;
        if count > 0 {
            self.hint = core::cmp::min(self.hint, (start.0 / BITS) as usize);
        }
        Ok(())
    }

    /// Takes the lowest free frame, or `None` when no frame is free.
    pub fn alloc(&mut self) -> Option<Mfn> {
        for w in self.hint..self.free.len() {
            let word = self.free[w];
            if word != 0 {
                let bit = u64::from(word.trailing_zeros());
                self.free[w] &= !(1 << bit);
                self.free_count -= 1;
                self.hint = w;
                return Some(Mfn(w as u64 * BITS + bit));
            }
        }
        self.hint = self.free.len();
        None
    }

    /// Takes `count` physically contiguous free frames whose first frame number is a
    /// multiple of `align_frames` (a power of two; 0 counts as 1), for structures the
    /// hardware needs contiguous or aligned. Returns the first frame, or `None`.
    pub fn alloc_contiguous(&mut self, count: u64, align_frames: u64) -> Option<Mfn> {
        let align = align_frames.max(1);
        if count == 0 || !align.is_power_of_two() {
            return None;
        }
        let mut start = align_up(self.next_free(self.hint as u64 * BITS)?, align)?;
        while start.checked_add(count)? <= self.max_mfn {
            match self.first_used(start, start + count) {
                None => {
                    for_each_word(start, start + count, |w, mask| self.free[w] &= !mask);
                    self.free_count -= count;
                    return Some(Mfn(start));
                }
                Some(used) => start = align_up(self.next_free(used + 1)?, align)?,
            }
        }
        None
    }

    /// Returns a frame to the pool. Freeing a frame that is free already, or that was
    /// never added, is refused.
    pub fn free(&mut self, mfn: Mfn) -> Result<(), AllocError> {
        if mfn.0 >= self.max_mfn {
            return Err(AllocError::OutOfRange);
        }
        let (w, bit) = ((mfn.0 / BITS) as usize, 1u64 << (mfn.0 % BITS));
        if self.managed[w] & bit == 0 {
            return Err(AllocError::NotManaged);
        }
        if self.free[w] & bit != 0 {
            return Err(AllocError::DoubleFree);
        }
        self.free[w] |= bit;
        self.free_count += 1;
        self.hint = core::cmp::min(self.hint, w);
        Ok(())
    }

    /// Number of frames free right now.
    pub fn free_count(&self) -> u64 {
        self.free_count
    }

    /// Number of frames ever added to the allocator (free or allocated).
    pub fn total_count(&self) -> u64 {
        self.total_count
    }

    /// Whether `mfn` is currently free (false for frames never added).
    pub fn is_free(&self, mfn: Mfn) -> bool {
        mfn.0 < self.max_mfn && self.free[(mfn.0 / BITS) as usize] & (1 << (mfn.0 % BITS)) != 0
    }

    /// The first free frame at or after `pos`, if any.
    fn next_free(&self, pos: u64) -> Option<u64> {
        let mut w = (pos / BITS) as usize;
        let mut word = *self.free.get(w)? & (!0u64 << (pos % BITS));
        loop {
            if word != 0 {
                return Some(w as u64 * BITS + u64::from(word.trailing_zeros()));
            }
            w += 1;
            word = *self.free.get(w)?;
        }
    }

    /// The first frame of `[start, end)` that is not free, if any.
    fn first_used(&self, start: u64, end: u64) -> Option<u64> {
        let mut found = None;
        for_each_word(start, end, |w, mask| {
            let used = !self.free[w] & mask;
            if found.is_none() && used != 0 {
                found = Some(w as u64 * BITS + u64::from(used.trailing_zeros()));
            }
        });
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_allocator_is_empty() {
        let mut a = FrameAllocator::new(1000);
        assert_eq!(a.alloc(), None);
        assert_eq!(a.free_count(), 0);
        assert_eq!(a.total_count(), 0);
        assert_eq!(a.alloc_contiguous(1, 1), None);
    }

    #[test]
    fn alloc_returns_every_added_frame_once() {
        let mut a = FrameAllocator::new(300);
        a.add_free_range(Mfn(10), 50).unwrap();
        a.add_free_range(Mfn(100), 130).unwrap();
        assert_eq!(a.total_count(), 180);
        let mut got = Vec::new();
        while let Some(m) = a.alloc() {
            got.push(m.0);
        }
        let want: Vec<u64> = (10..60).chain(100..230).collect();
        assert_eq!(got, want);
        assert_eq!(a.free_count(), 0);
        assert_eq!(a.total_count(), 180);
    }

    #[test]
    fn ranges_are_checked() {
        let mut a = FrameAllocator::new(128);
        assert_eq!(a.add_free_range(Mfn(120), 9), Err(AllocError::OutOfRange));
        assert_eq!(
            a.add_free_range(Mfn(u64::MAX), 2),
            Err(AllocError::OutOfRange)
        );
        a.add_free_range(Mfn(0), 64).unwrap();
        assert_eq!(a.add_free_range(Mfn(63), 2), Err(AllocError::AlreadyAdded));
        assert_eq!(a.free_count(), 64);
        a.add_free_range(Mfn(64), 0).unwrap();
        assert_eq!(a.total_count(), 64);
    }

    #[test]
    fn free_refuses_double_and_unmanaged_frames() {
        let mut a = FrameAllocator::new(100);
        a.add_free_range(Mfn(5), 3).unwrap();
        let m = a.alloc().unwrap();
        assert_eq!(m, Mfn(5));
        assert!(!a.is_free(m));
        a.free(m).unwrap();
        assert!(a.is_free(m));
        assert_eq!(a.free(m), Err(AllocError::DoubleFree));
        assert_eq!(a.free(Mfn(50)), Err(AllocError::NotManaged));
        assert_eq!(a.free(Mfn(100)), Err(AllocError::OutOfRange));
        assert_eq!(a.free_count(), 3);
        // The freed frame comes back first (the hint moved down).
        assert_eq!(a.alloc(), Some(Mfn(5)));
    }

    #[test]
    fn contiguous_allocation_respects_alignment_and_holes() {
        let mut a = FrameAllocator::new(4096);
        a.add_free_range(Mfn(1), 4000).unwrap();
        // Punch holes: take frames 1..=70 then free all but 64.
        let taken: Vec<Mfn> = (0..70).map(|_| a.alloc().unwrap()).collect();
        for m in &taken {
            if m.0 != 64 {
                a.free(*m).unwrap();
            }
        }
        let before = a.free_count();
        let first = a.alloc_contiguous(8, 8).unwrap();
        assert_eq!(first, Mfn(8));
        let big = a.alloc_contiguous(100, 64).unwrap();
        assert_eq!(big, Mfn(128)); // 64 is in use, so the run at 64 fails.
        assert_eq!(a.free_count(), before - 108);
        for m in (8..16).chain(128..228) {
            assert!(!a.is_free(Mfn(m)));
        }
        assert!(a.is_free(Mfn(16)) && a.is_free(Mfn(228)));
        assert_eq!(
            a.alloc_contiguous(1, 3),
            None,
            "alignment must be a power of two"
        );
        assert_eq!(a.alloc_contiguous(0, 1), None);
        assert_eq!(a.alloc_contiguous(4001, 1), None);
        // Frames 4001.. were never added, so the only 2048-aligned run of 2048 fails.
        assert_eq!(a.alloc_contiguous(2048, 2048), None);
    }

    #[test]
    fn contiguous_allocation_can_take_everything() {
        let mut a = FrameAllocator::new(200);
        a.add_free_range(Mfn(0), 200).unwrap();
        assert_eq!(a.alloc_contiguous(200, 1), Some(Mfn(0)));
        assert_eq!(a.free_count(), 0);
        assert_eq!(a.alloc(), None);
    }

    #[test]
    fn repeated_alloc_is_fast() {
        // 1M frames: with the hint this is linear; without it, quadratic (minutes).
        let n = 1 << 20;
        let mut a = FrameAllocator::new(n);
        a.add_free_range(Mfn(0), n).unwrap();
        for i in 0..n {
            assert_eq!(a.alloc(), Some(Mfn(i)));
        }
        assert_eq!(a.alloc(), None);
    }
}
