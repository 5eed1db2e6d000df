//! The frame table: ownership, type and reference counts of every machine frame.
//!
//! This is the bookkeeping behind Xen's PV memory safety (the design comment at the top
//! of Xen's `xen/arch/x86/mm.c`): a frame has one owner, a general reference count
//! (`count_info` in Xen) that keeps it from being freed while in use, and a type with its
//! own count (`type_info`). Types are mutually exclusive, and a frame can change type only
//! when its type count is zero; that is what keeps a page table from ever being mapped
//! writable. The rules that move the counts live in [`super::pagetable`].

use alloc::vec;
use alloc::vec::Vec;

use super::addr::{DomId, Mfn};
use super::Errno;

/// The current use of a frame (Xen's `PGT_*` types). Exactly one at a time.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum PageType {
    /// No typed use; the frame may take any type next.
    #[default]
    None,
    /// Validated level-1 page table (maps 4 KiB pages).
    L1,
    /// Validated level-2 page table (points to L1 tables).
    L2,
    /// Validated level-3 page table (points to L2 tables).
    L3,
    /// Validated level-4 page table, the root a PV guest loads into CR3.
    L4,
    /// GDT or LDT page: holds segment descriptors the guest may load.
    SegDesc,
    /// Page shared with the hypervisor or another domain (Xen's `PGT_shared_page`).
    Shared,
    /// Page mapped writable by at least one page-table entry.
    Writable,
}

impl PageType {
    /// The page-table level (1 to 4) of a page-table type, `None` for other types; lets
    /// the validation code treat the four table types uniformly.
    pub const fn table_level(self) -> Option<u8> {
        match self {
            PageType::L1 => Some(1),
            PageType::L2 => Some(2),
            PageType::L3 => Some(3),
            PageType::L4 => Some(4),
            _ => None,
        }
    }

    /// The page-table type of `level` (1 to 4), `None` for any other number; the inverse
    /// of [`PageType::table_level`].
    pub const fn for_level(level: u8) -> Option<PageType> {
        match level {
            1 => Some(PageType::L1),
            2 => Some(PageType::L2),
            3 => Some(PageType::L3),
            4 => Some(PageType::L4),
            _ => None,
        }
    }
}

/// What the hypervisor knows about one machine frame (Xen's `struct page_info`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct PageInfo {
    /// The domain the frame belongs to; `None` for free or hypervisor-private frames.
    pub owner: Option<DomId>,
    /// Current type; `PageType::None` exactly when `type_count` is zero.
    pub ty: PageType,
    /// Number of uses in the current type (entries, pins, CR3s, ...).
    pub type_count: u32,
    /// General references: 1 for the allocation itself (Xen's `PGC_allocated`) plus one
    /// for every mapping, table entry, pin or in-flight use.
    pub ref_count: u32,
    /// Set by `MMUEXT_PIN_*`; a pin holds one general and one type reference.
    pub pinned: bool,
}

/// Per-frame state for all machine frames `[0, len)`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct FrameTable {
    frames: Vec<PageInfo>,
}

impl FrameTable {
    /// A table for `nr_frames` machine frames, all unowned with zero counts.
    pub fn new(nr_frames: u64) -> FrameTable {
        FrameTable {
            frames: vec![PageInfo::default(); nr_frames as usize],
        }
    }

    /// The state of `mfn`, or `None` if the frame is outside the table.
    pub fn get(&self, mfn: Mfn) -> Option<&PageInfo> {
        self.frames.get(usize::try_from(mfn.0).ok()?)
    }

    /// Mutable state for the reference-counting code of this module tree.
    pub(super) fn get_mut(&mut self, mfn: Mfn) -> Option<&mut PageInfo> {
        self.frames.get_mut(usize::try_from(mfn.0).ok()?)
    }

    /// Gives a free frame to `dom`: owner set, one general reference standing for the
    /// allocation. Refused with `EINVAL` if the frame is outside the table or not free.
    pub fn assign(&mut self, mfn: Mfn, dom: DomId) -> Result<(), Errno> {
        let info = self.get_mut(mfn).ok_or(Errno::EINVAL)?;
        if *info != PageInfo::default() {
            return Err(Errno::EINVAL);
        }
        *info = PageInfo {
            owner: Some(dom),
            ref_count: 1,
            ..PageInfo::default()
        };
        Ok(())
    }

    /// Takes a frame back from its owner, leaving it unowned with zero counts. Only a
    /// frame whose sole reference is the allocation one (no mapping, no type, no pin) can
    /// be taken; otherwise `EINVAL`, as Xen's `steal_page` answers.
    pub fn unassign(&mut self, mfn: Mfn) -> Result<(), Errno> {
        let info = self.get_mut(mfn).ok_or(Errno::EINVAL)?;
        let idle = PageInfo {
            owner: info.owner,
            ref_count: 1,
            ..PageInfo::default()
        };
        if info.owner.is_none() || *info != idle {
            return Err(Errno::EINVAL);
        }
        *info = PageInfo::default();
        Ok(())
    }

    /// Gives up the allocation reference of a frame of a dying domain that something else
    /// still references (a foreign mapping): the frame stays owned, unusable by anyone new,
    /// until its count reaches zero and [`FrameTable::reap`] frees it.
    pub fn orphan(&mut self, mfn: Mfn) {
        if let Some(info) = self.get_mut(mfn) {
            info.ref_count = info.ref_count.saturating_sub(1);
        }
    }

    /// If an orphaned frame has lost its last reference, clears it and returns true (the
    /// caller returns it to the allocator).
    pub fn reap(&mut self, mfn: Mfn) -> bool {
        match self.get_mut(mfn) {
            Some(info) if info.owner.is_some() && info.ref_count == 0 && info.type_count == 0 => {
                *info = PageInfo::default();
                true
            }
            _ => false,
        }
    }

    /// Every frame `dom` owns, in frame order.
    pub fn owned_frames(&self, dom: DomId) -> impl Iterator<Item = Mfn> + '_ {
        self.frames
            .iter()
            .enumerate()
            .filter(move |(_, info)| info.owner == Some(dom))
            .map(|(i, _)| Mfn(i as u64))
    }

    /// Whether `mfn` exists and belongs to `dom`; the ownership test every guest-supplied
    /// frame number goes through.
    pub fn owned_by(&self, mfn: Mfn, dom: DomId) -> bool {
        self.get(mfn).is_some_and(|info| info.owner == Some(dom))
    }

    /// Number of frames the table covers (one past the highest valid MFN).
    pub fn len(&self) -> u64 {
        self.frames.len() as u64
    }

    /// Whether the table covers no frame at all.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_round_trip() {
        for level in 1..=4 {
            assert_eq!(
                PageType::for_level(level).unwrap().table_level(),
                Some(level)
            );
        }
        assert_eq!(PageType::for_level(0), None);
        assert_eq!(PageType::for_level(5), None);
        for ty in [
            PageType::None,
            PageType::SegDesc,
            PageType::Shared,
            PageType::Writable,
        ] {
            assert_eq!(ty.table_level(), None);
        }
    }

    #[test]
    fn assign_and_unassign() {
        let mut ft = FrameTable::new(8);
        assert_eq!(ft.len(), 8);
        assert!(!ft.is_empty());
        ft.assign(Mfn(3), 1).unwrap();
        assert!(ft.owned_by(Mfn(3), 1));
        assert!(!ft.owned_by(Mfn(3), 2));
        assert!(!ft.owned_by(Mfn(4), 1));
        assert!(!ft.owned_by(Mfn(100), 1));
        let info = *ft.get(Mfn(3)).unwrap();
        assert_eq!(
            (info.owner, info.ref_count, info.type_count),
            (Some(1), 1, 0)
        );
        assert_eq!(ft.assign(Mfn(3), 2), Err(Errno::EINVAL), "already owned");
        assert_eq!(
            ft.assign(Mfn(8), 2),
            Err(Errno::EINVAL),
            "outside the table"
        );

        // A held reference or type keeps the frame with its owner.
        ft.get_mut(Mfn(3)).unwrap().ref_count = 2;
        assert_eq!(ft.unassign(Mfn(3)), Err(Errno::EINVAL));
        ft.get_mut(Mfn(3)).unwrap().ref_count = 1;
        ft.get_mut(Mfn(3)).unwrap().ty = PageType::Writable;
        ft.get_mut(Mfn(3)).unwrap().type_count = 1;
        assert_eq!(ft.unassign(Mfn(3)), Err(Errno::EINVAL));
        ft.get_mut(Mfn(3)).unwrap().ty = PageType::None;
        ft.get_mut(Mfn(3)).unwrap().type_count = 0;

        ft.unassign(Mfn(3)).unwrap();
        assert_eq!(*ft.get(Mfn(3)).unwrap(), PageInfo::default());
        assert_eq!(ft.unassign(Mfn(3)), Err(Errno::EINVAL), "not owned");
        assert_eq!(ft.unassign(Mfn(9)), Err(Errno::EINVAL));
    }
}
