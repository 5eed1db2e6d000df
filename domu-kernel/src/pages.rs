//! Pages the grant workloads (`vping`, `grant-bench`) share with other domains: [`OwnPage`],
//! a page of our heap to grant away, and [`Mapping`], another domain's grant mapped at one of
//! `pvguest::grant`'s slots, unmapped when dropped.

use core::alloc::Layout;
use core::ptr::NonNull;
use pvguest::grant::{self, MapSlot};
use pvguest::println;
use xen_abi::domid::DomId;
use xen_abi::grant_table::{GrantRef, GNTST_NO_SPACE};
use xen_ring::PageMemory;

pub use domu_kernel::vping_proto::PAGE_WORDS;

const PAGE: usize = xen_abi::PAGE_SIZE;

fn page_layout() -> Layout {
    // 4096 is a power of two and a multiple of itself: the layout is always valid.
    Layout::from_size_align(PAGE, PAGE).unwrap_or_else(|_| unreachable!())
}

/// A zeroed, page-aligned page of our heap. The heap lives in our start-of-day region, so
/// the page has a machine frame we can grant. It is only ever accessed through raw pointers
/// (volatile words, [`PageMemory`]): once granted, another domain may write it at any time.
pub struct OwnPage {
    base: NonNull<u8>,
}

impl OwnPage {
    /// A new page, or `None` when the heap is exhausted.
    pub fn new() -> Option<Self> {
        // SAFETY: the layout has a non-zero size.
        let base = unsafe { alloc::alloc::alloc_zeroed(page_layout()) };
        NonNull::new(base).map(|base| Self { base })
    }

    pub fn va(&self) -> u64 {
        self.base.as_ptr() as u64
    }

    pub fn as_ptr(&self) -> *mut u8 {
        self.base.as_ptr()
    }

    /// Our machine frame behind the page (what a PV guest grants).
    pub fn mfn(&self) -> Option<u64> {
        pvguest::start::machine_frame(self.va())
    }

    /// Ring memory over the whole page. The caller must not use it after the page is dropped
    /// (keep both in one owner, the memory's user dropped first).
    pub fn memory(&self) -> PageMemory {
        // SAFETY: the page is a live, 4096-aligned heap allocation of 4096 bytes that this
        // program only touches through raw pointers, never references; the caller keeps the
        // page alive while the memory is in use (see above).
        unsafe { PageMemory::new(self.as_ptr(), PAGE) }.unwrap_or_else(|_| unreachable!("a heap page is aligned"))
    }

    /// Word `i` (< [`PAGE_WORDS`]), read once.
    pub fn read_word(&self, i: usize) -> u64 {
        assert!(i < PAGE_WORDS);
        // SAFETY: inside the page (checked), 8-aligned; volatile because another domain may
        // write the page.
        unsafe { core::ptr::read_volatile(self.as_ptr().cast::<u64>().add(i)) }
    }

    /// Set word `i` (< [`PAGE_WORDS`]).
    pub fn write_word(&self, i: usize, value: u64) {
        assert!(i < PAGE_WORDS);
        // SAFETY: as for `read_word`.
        unsafe { core::ptr::write_volatile(self.as_ptr().cast::<u64>().add(i), value) }
    }

    /// Give the page up without returning it to the heap: a grant of it could not be
    /// revoked, so another domain may still write it.
    pub fn leak(self) {
        core::mem::forget(self);
    }
}

impl Drop for OwnPage {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with the same layout, and freed only here.
        unsafe { alloc::alloc::dealloc(self.as_ptr(), page_layout()) }
    }
}

/// Grant `gref` of domain `dom`, mapped read-write at one of our map slots; unmapped when
/// dropped (or by [`unmap`](Self::unmap), which reports the status).
#[derive(Debug)]
pub struct Mapping {
    /// `None` once unmapped.
    slot: Option<MapSlot>,
    handle: u32,
    dom: DomId,
    gref: GrantRef,
}

impl Mapping {
    /// Map it: Err is the hypervisor's `GNTST_*` status (`GNTST_no_space` when every map
    /// slot is taken).
    pub fn map(dom: DomId, gref: GrantRef) -> Result<Self, i16> {
        let slot = MapSlot::claim().ok_or(GNTST_NO_SPACE)?;
        let handle = grant::map(dom, gref, slot.va(), false)?;
        Ok(Self { slot: Some(slot), handle, dom, gref })
    }

    /// Where the page is mapped (0 once unmapped).
    pub fn va(&self) -> u64 {
        self.slot.as_ref().map_or(0, MapSlot::va)
    }

    /// Ring memory over the mapped page; not to be used after the mapping ends.
    pub fn memory(&self) -> PageMemory {
        // SAFETY: while the mapping lives, `va` maps the granted page (4096 bytes, page-aligned),
        // which this program only touches through raw pointers; the caller drops the memory
        // before the mapping.
        unsafe { PageMemory::new(self.va() as *mut u8, PAGE) }.unwrap_or_else(|_| unreachable!("map slots are page-aligned"))
    }

    /// Set word `i` (< [`PAGE_WORDS`]) of the mapped page.
    pub fn write_word(&self, i: usize, value: u64) {
        assert!(i < PAGE_WORDS && self.slot.is_some());
        // SAFETY: inside the mapped page (checked), 8-aligned; volatile because the granting
        // domain may read or write it concurrently.
        unsafe { core::ptr::write_volatile((self.va() as *mut u64).add(i), value) }
    }

    /// End the mapping: Err is the unmap's `GNTST_*` status.
    pub fn unmap(mut self) -> Result<(), i16> {
        self.end()
    }

    fn end(&mut self) -> Result<(), i16> {
        let Some(slot) = self.slot.take() else { return Ok(()) };
        match grant::unmap(self.handle, slot.va()) {
            Ok(()) => Ok(()),
            Err(status) => {
                // The foreign page may still be mapped there: never lend that slot again.
                core::mem::forget(slot);
                Err(status)
            }
        }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        if let Err(status) = self.end() {
            println!("domu: unmapping grant {} of domain {} failed (status {status})", self.gref, self.dom);
        }
    }
}
