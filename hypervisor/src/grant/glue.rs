//! The grant code on the real machine: shared entries reached through the hypervisor's
//! direct map, and the domain list as the set of grant tables.
#![allow(unsafe_code)]

use super::{teardown, GrantMemory, GrantTables, Maptrack, SharedTable};
use crate::arch::x86_64::paging::DirectMap;
use crate::domain::{lifecycle, Domain};
use crate::hv::Hypervisor;
use crate::mm::{DomId, Mfn, Paging};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU16, AtomicU32, Ordering};

/// The word at `offset` of `mfn`, as an atomic.
fn atomic<T>(mfn: Mfn, offset: usize) -> *mut T {
    let size = core::mem::size_of::<T>();
    assert!(offset % size == 0 && offset + size <= 4096, "misaligned shared-entry access");
    DirectMap::virt(mfn, offset) as *mut T
}

impl GrantMemory for DirectMap {
    fn load_u32(&self, mfn: Mfn, offset: usize) -> u32 {
        // SAFETY: the direct map covers every frame of RAM and grant frames are RAM; the
        // word is aligned and inside the frame (checked in `atomic`). The guest may write
        // it concurrently, which is what the atomic type is for.
        unsafe { AtomicU32::from_ptr(atomic(mfn, offset)) }.load(Ordering::Acquire)
    }

    fn compare_exchange_u32(&mut self, mfn: Mfn, offset: usize, current: u32, new: u32) -> Result<u32, u32> {
        // SAFETY: as in `load_u32`.
        unsafe { AtomicU32::from_ptr(atomic(mfn, offset)) }.compare_exchange(current, new, Ordering::AcqRel, Ordering::Acquire)
    }

    fn clear_bits_u16(&mut self, mfn: Mfn, offset: usize, bits: u16) {
        // SAFETY: as in `load_u32`, for a 2-byte-aligned half word.
        unsafe { AtomicU16::from_ptr(atomic(mfn, offset)) }.fetch_and(!bits, Ordering::AcqRel);
    }
}

impl GrantTables for Vec<Domain> {
    fn shared(&mut self, dom: DomId) -> Option<&mut SharedTable> {
        self.iter_mut().find(|d| d.id == dom).map(|d| &mut d.grants.shared)
    }

    fn maptrack(&mut self, dom: DomId) -> Option<&mut Maptrack> {
        self.iter_mut().find(|d| d.id == dom).map(|d| &mut d.grants.maptrack)
    }
}

/// Runs `f` with the page-table engine over the real frames and every domain's grant state
/// (disjoint parts of the hypervisor, borrowed together).
pub fn with_grants<R>(hv: &mut Hypervisor, f: impl FnOnce(&mut Paging<'_, DirectMap>, &mut Vec<Domain>) -> R) -> R {
    let mut mem = DirectMap;
    let Hypervisor { frames, xen_l4_slots, domains, .. } = hv;
    let mut paging = Paging::new(frames, &mut mem, xen_l4_slots);
    f(&mut paging, domains)
}

/// The grant step of destroying domain index `d` (see [`teardown`]): after its page tables
/// were relinquished and before its frames are freed. Frames of earlier dead granters whose
/// last mapping this drops are reaped.
pub fn release_domain(hv: &mut Hypervisor, d: usize) {
    let id = hv.domains[d].id;
    with_grants(hv, |paging, domains| teardown::release_domain(paging, domains, id));
    lifecycle::reap_orphans(hv);
}
