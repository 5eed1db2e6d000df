//! A domain's record of the grants it has mapped (Xen's maptrack): one entry per
//! `GNTTABOP_map_grant_ref`, found again by its handle at unmap time and at teardown. The
//! references a grant mapping holds on the frame belong to its entry here, never to the
//! page-table entry that maps it.

use super::active::MapKinds;
use crate::mm::{DomId, Mfn};
use alloc::vec::Vec;

/// One mapping of another domain's (or the mapper's own) grant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mapping {
    /// The domain whose grant table holds the grant.
    pub granter: DomId,
    /// The grant reference in the granter's table.
    pub gref: u32,
    /// The frame mapped (the granter's, resolved at map time).
    pub frame: Mfn,
    /// The virtual address given to the map (0 without a host mapping); the unmap names the
    /// address again and the hypervisor checks the entry there.
    pub host_addr: u64,
    /// The uses still in force; the entry goes when none is left.
    pub kinds: MapKinds,
}

#[derive(Clone, Copy, Debug)]
enum Slot {
    Used(Mapping),
    /// A free handle and the one freed after it (handles are reused oldest first, as Xen
    /// does, so a stale handle rarely names a new mapping).
    Free { next: Option<u32> },
}

/// The maptrack of one domain, bounded by its `max_maptrack_frames`.
#[derive(Debug)]
pub struct Maptrack {
    slots: Vec<Slot>,
    free_head: Option<u32>,
    free_tail: Option<u32>,
    limit: u32,
    in_use: u32,
}

impl Maptrack {
    /// An empty maptrack that will hold at most `limit` mappings.
    pub fn new(limit: u32) -> Maptrack {
        Maptrack { slots: Vec::new(), free_head: None, free_tail: None, limit, in_use: 0 }
    }

    /// Makes sure the next [`Maptrack::insert`] has a handle, growing the table if the limit
    /// allows and memory can be had. False means no handle (Xen's `GNTST_no_device_space`).
    pub fn reserve(&mut self) -> bool {
        if self.free_head.is_some() || self.has_unused_capacity() {
            return true;
        }
        let room = (self.limit as usize).saturating_sub(self.slots.len());
        // Grow geometrically, never past the limit, and fail softly when the heap is short.
        room > 0 && self.slots.try_reserve_exact(self.slots.len().max(16).min(room)).is_ok()
    }

    /// Whether a new slot can be pushed without allocating: the allocator may hand out more
    /// capacity than asked for, which still must not take the maptrack past its limit.
    fn has_unused_capacity(&self) -> bool {
        self.slots.len() < self.slots.capacity().min(self.limit as usize)
    }

    /// Records `mapping` and returns its handle. Call [`Maptrack::reserve`] first.
    pub fn insert(&mut self, mapping: Mapping) -> Option<u32> {
        let handle = match self.free_head {
            Some(handle) => {
                // The free list only ever names free slots; should that break, refuse the
                // mapping (the caller undoes it) rather than panic.
                let Some(&Slot::Free { next }) = self.slots.get(handle as usize) else { return None };
                self.free_head = next;
                if next.is_none() {
                    self.free_tail = None;
                }
                self.slots[handle as usize] = Slot::Used(mapping);
                handle
            }
            None if self.has_unused_capacity() => {
                self.slots.push(Slot::Used(mapping));
                (self.slots.len() - 1) as u32
            }
            None => return None,
        };
        self.in_use += 1;
        Some(handle)
    }

    /// The mapping behind `handle`, if it is a live handle.
    pub fn get(&self, handle: u32) -> Option<&Mapping> {
        match self.slots.get(handle as usize) {
            Some(Slot::Used(mapping)) => Some(mapping),
            _ => None,
        }
    }

    /// Replaces the uses left in a live entry (after a partial unmap).
    pub fn set_kinds(&mut self, handle: u32, kinds: MapKinds) {
        if let Some(Slot::Used(mapping)) = self.slots.get_mut(handle as usize) {
            mapping.kinds = kinds;
        }
    }

    /// Forgets the mapping behind `handle`, freeing the handle.
    pub fn remove(&mut self, handle: u32) -> Option<Mapping> {
        let slot = self.slots.get_mut(handle as usize)?;
        let Slot::Used(mapping) = *slot else { return None };
        *slot = Slot::Free { next: None };
        match self.free_tail {
            Some(tail) => self.slots[tail as usize] = Slot::Free { next: Some(handle) },
            None => self.free_head = Some(handle),
        }
        self.free_tail = Some(handle);
        self.in_use -= 1;
        Some(mapping)
    }

    /// Empties the maptrack, yielding every live mapping (domain teardown).
    pub fn drain(&mut self) -> impl Iterator<Item = Mapping> {
        self.free_head = None;
        self.free_tail = None;
        self.in_use = 0;
        core::mem::take(&mut self.slots).into_iter().filter_map(|slot| match slot {
            Slot::Used(mapping) => Some(mapping),
            Slot::Free { .. } => None,
        })
    }

    /// Live mappings.
    pub fn len(&self) -> u32 {
        self.in_use
    }

    /// Whether no mapping is live.
    pub fn is_empty(&self) -> bool {
        self.in_use == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(gref: u32) -> Mapping {
        Mapping { granter: 1, gref, frame: Mfn(9), host_addr: 0x1000, kinds: MapKinds { host: true, ..MapKinds::default() } }
    }

    fn add(mt: &mut Maptrack, gref: u32) -> Option<u32> {
        if mt.reserve() {
            mt.insert(mapping(gref))
        } else {
            None
        }
    }

    #[test]
    fn handles_are_bounded_and_reused_oldest_first() {
        let mut mt = Maptrack::new(3);
        assert_eq!((add(&mut mt, 10), add(&mut mt, 11), add(&mut mt, 12)), (Some(0), Some(1), Some(2)));
        assert_eq!(add(&mut mt, 13), None, "limit reached");
        assert_eq!(mt.get(1).map(|m| m.gref), Some(11));
        assert_eq!(mt.remove(1).map(|m| m.gref), Some(11));
        assert_eq!(mt.remove(1), None, "already free");
        assert_eq!(mt.get(1), None);
        assert_eq!(mt.remove(0).map(|m| m.gref), Some(10));
        assert_eq!(mt.len(), 1);
        assert_eq!(add(&mut mt, 14), Some(1), "first freed, first reused");
        assert_eq!(add(&mut mt, 15), Some(0));
        assert_eq!(add(&mut mt, 16), None);
        assert_eq!(mt.get(7), None);
        mt.set_kinds(0, MapKinds { device: true, ..MapKinds::default() });
        assert!(mt.get(0).unwrap().kinds.device);
        let mut grefs: Vec<u32> = mt.drain().map(|m| m.gref).collect();
        grefs.sort();
        assert_eq!(grefs, [12, 14, 15]);
        assert!(mt.is_empty());
        assert_eq!(add(&mut mt, 17), Some(0), "usable again after draining");
    }

    #[test]
    fn spare_capacity_never_lifts_the_limit() {
        // As if the allocator had rounded the slots' allocation up past the limit.
        let mut mt = Maptrack { slots: Vec::with_capacity(8), ..Maptrack::new(3) };
        for gref in 0..3 {
            assert!(add(&mut mt, gref).is_some());
        }
        assert_eq!(add(&mut mt, 3), None);
        assert_eq!(mt.insert(mapping(4)), None, "even without `reserve`");
        assert_eq!(mt.len(), 3);
    }

    #[test]
    fn a_zero_limit_refuses_every_mapping() {
        let mut mt = Maptrack::new(0);
        assert!(!mt.reserve());
        assert_eq!(mt.insert(mapping(1)), None);
    }
}
