//! Typed frame numbers.
//!
//! Machine frames (what the hardware sees) and guest pseudo-physical frames (what a PV
//! guest calls its "physical" memory) are both plain page numbers, and confusing one for
//! the other is the classic PV hypervisor bug. Each gets its own newtype so that passing a
//! `Pfn` where an `Mfn` is expected does not compile.

/// Size of a page and of a frame, in bytes.
pub const PAGE_SIZE: usize = 4096;

/// `log2(PAGE_SIZE)`: the shift between a frame number and its first byte's address.
pub const PAGE_SHIFT: u32 = 12;

/// A domain identifier (Xen's `domid_t`), kept as a plain alias because domain ids are
/// never confused with frame numbers in practice and the ABI passes them as `u16`.
pub type DomId = u16;

/// A machine frame number: the index of a 4 KiB frame of host physical memory. This is
/// what page-table entries of PV guests hold and what the frame table is indexed by.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Mfn(pub u64);

/// A guest pseudo-physical frame number: an index into a PV guest's own view of its
/// memory (its P2M), which the guest translates to machine frames itself.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Pfn(pub u64);

impl Mfn {
    /// The machine address of the frame's first byte, e.g. for building a PTE.
    pub const fn addr(self) -> u64 {
        self.0 << PAGE_SHIFT
    }

    /// The frame that contains machine address `addr` (the offset inside is dropped).
    pub const fn from_addr(addr: u64) -> Mfn {
        Mfn(addr >> PAGE_SHIFT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mfn_address_round_trip() {
        assert_eq!(PAGE_SIZE, 1 << PAGE_SHIFT);
        assert_eq!(Mfn(0x1234).addr(), 0x123_4000);
        assert_eq!(Mfn::from_addr(0x123_4fff), Mfn(0x1234));
        assert_eq!(Mfn::from_addr(Mfn(77).addr()), Mfn(77));
    }

    #[test]
    fn ordering_and_hashing_work() {
        use std::collections::HashSet;
        assert!(Mfn(1) < Mfn(2));
        assert!(Pfn(3) > Pfn(2));
        let set: HashSet<Mfn> = [Mfn(1), Mfn(1), Mfn(2)].into_iter().collect();
        assert_eq!(set.len(), 2);
    }
}
