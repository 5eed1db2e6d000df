//! Foreign mappings: Dom0 reading and writing another domain's memory (what the domain
//! builder needs, as libxenguest does through `xc_map_foreign_range`).
//!
//! A window of [`SLOTS`] pages in Dom0's own bss is set aside. Mapping a foreign frame puts
//! it at a free slot (`update_va_mapping_otherdomain`); dropping the [`ForeignPage`] puts
//! Dom0's own frame back (`update_va_mapping` with the frame from Dom0's P2M list), so no
//! reference to the other domain's frame outlives the value. The window is never accessed as
//! a Rust static: only its addresses are used, through a `ForeignPage` that owns its slot.

use super::xc::{self, DomId, Errno};
use core::fmt;
use core::ptr::addr_of_mut;
use core::sync::atomic::{AtomicU64, Ordering};
use xen_abi::mm::{PAGE_ACCESSED, PAGE_DIRTY, PAGE_PRESENT, PAGE_RW, PAGE_USER, UVMF_INVLPG};

/// Pages in the window: how many foreign frames can be mapped at once. Besides the builder's
/// short-lived mappings, every running DomU keeps two here (its XenStore and console rings).
pub const SLOTS: usize = 512;
const PAGE: usize = 4096;

#[repr(C, align(4096))]
struct Window([[u8; PAGE]; SLOTS]);

/// The window's virtual pages. Their own frames stay Dom0's (we map them back after use).
static mut WINDOW: Window = Window([[0; PAGE]; SLOTS]);

/// Bit `i % 64` of word `i / 64` set: slot `i` is owned by a live [`ForeignPage`], or lost
/// after a failed restore.
static IN_USE: [AtomicU64; SLOTS / 64] = [const { AtomicU64::new(0) }; SLOTS / 64];
const _: () = assert!(SLOTS % 64 == 0);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForeignError {
    /// Every slot of the window is in use.
    WindowFull,
    /// The hypervisor refused to map the frame.
    Map(Errno),
    /// The hypervisor refused to map Dom0's own frame back at the slot.
    Restore(Errno),
}

impl fmt::Display for ForeignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::WindowFull => write!(f, "all {SLOTS} foreign-mapping slots are in use"),
            Self::Map(e) => write!(f, "foreign mapping refused: errno {e}"),
            Self::Restore(e) => write!(f, "restoring Dom0's own page after a foreign mapping failed: errno {e}"),
        }
    }
}

/// One frame of another domain, mapped writable into Dom0 until dropped (or [`unmap`]ped).
///
/// [`unmap`]: ForeignPage::unmap
pub struct ForeignPage {
    slot: usize,
}

impl ForeignPage {
    /// Map machine frame `mfn` of domain `dom` (which must own it) writable.
    pub fn map(dom: DomId, mfn: u64) -> Result<Self, ForeignError> {
        let slot = claim_slot().ok_or(ForeignError::WindowFull)?;
        if let Err(e) = xc::map_foreign(slot_va(slot), dom, mfn, true) {
            // A refused update leaves the old (our own) mapping in place.
            release_slot(slot);
            return Err(ForeignError::Map(e));
        }
        Ok(Self { slot })
    }

    /// The foreign frame's contents.
    pub fn bytes_mut(&mut self) -> &mut [u8; PAGE] {
        // SAFETY: the slot's virtual page is mapped (present, writable) onto the foreign frame
        // from `map` until this value is dropped; the IN_USE bit makes `self` the only user of
        // these addresses, and the returned borrow of `self` cannot outlive the mapping. The
        // page is page-aligned and PAGE bytes long. The hypercalls that change the mapping are
        // `asm!` blocks without `nomem`, so the compiler does not move accesses across them.
        unsafe { &mut *(slot_va(self.slot) as *mut [u8; PAGE]) }
    }

    /// The address the foreign frame is mapped at, for code that must not hold Rust
    /// references into memory the other domain writes concurrently (shared rings access it
    /// only through atomics). Valid until this value is dropped.
    pub fn address(&self) -> *mut u8 {
        slot_va(self.slot) as *mut u8
    }

    /// Put Dom0's own frame back now, reporting whether that worked (dropping does the same
    /// silently).
    pub fn unmap(self) -> Result<(), ForeignError> {
        let slot = self.slot;
        core::mem::forget(self);
        restore_slot(slot)
    }
}

impl Drop for ForeignPage {
    fn drop(&mut self) {
        if let Err(e) = restore_slot(self.slot) {
            pvguest::println!("foreign: slot {} lost: {}", self.slot, e);
        }
    }
}

fn slot_va(slot: usize) -> u64 {
    addr_of_mut!(WINDOW) as u64 + (slot * PAGE) as u64
}

fn claim_slot() -> Option<usize> {
    for (w, word) in IN_USE.iter().enumerate() {
        let mut used = word.load(Ordering::Acquire);
        while used != u64::MAX {
            let bit = (!used).trailing_zeros();
            match word.compare_exchange(used, used | (1 << bit), Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return Some(w * 64 + bit as usize),
                Err(now) => used = now,
            }
        }
    }
    None
}

fn release_slot(slot: usize) {
    IN_USE[slot / 64].fetch_and(!(1 << (slot % 64)), Ordering::Release);
}

/// Map Dom0's own frame back at `slot` and free the slot. If that fails, clear the entry
/// instead (dropping the foreign reference all the same) and keep the slot out of use, since
/// its page is no longer Dom0's own memory.
fn restore_slot(slot: usize) -> Result<(), ForeignError> {
    let va = slot_va(slot);
    let own = super::checks::mfn_of(va);
    let pte = (own << 12) | PAGE_PRESENT | PAGE_RW | PAGE_USER | PAGE_ACCESSED | PAGE_DIRTY;
    match pvguest::hypercall::update_va_mapping(va, pte, UVMF_INVLPG) {
        0 => {
            release_slot(slot);
            Ok(())
        }
        rc => {
            pvguest::hypercall::update_va_mapping(va, 0, UVMF_INVLPG);
            Err(ForeignError::Restore(rc))
        }
    }
}
