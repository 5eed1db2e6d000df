//! What every back-end holds for one domain: a ring page of that domain mapped into Dom0,
//! and Dom0's end of an inter-domain event channel, with the bookkeeping that lets a waiter
//! learn which channels fired.

use super::super::foreign::ForeignPage;
use super::super::info::errname;
use super::super::xc::DomId;
use alloc::format;
use alloc::string::String;
use core::sync::atomic::{AtomicU64, Ordering};
use pvguest::events;
use xen_ring::PageMemory;

const PAGE: usize = 4096;

/// One page of another domain, mapped writable for as long as this value lives, reachable
/// only as ring memory (atomic accesses; the domain writes it concurrently).
pub struct SharedPage {
    mem: PageMemory,
    // Declared after `mem`, which only borrows its address: unmapped last.
    _page: ForeignPage,
}

impl SharedPage {
    /// Map frame `mfn` of `dom`.
    pub fn map(dom: DomId, mfn: u64) -> Result<Self, String> {
        let page = ForeignPage::map(dom, mfn).map_err(|e| format!("cannot map frame {mfn:#x} of domain {dom}: {e}"))?;
        // SAFETY: the page at `address()` stays mapped (present, writable, 4 KiB, page
        // aligned) until `_page` is dropped, which happens only with `self`, and `mem` is
        // never copied out of `self` (callers get `&PageMemory`). No Rust reference into the
        // page is created anywhere: ring code goes through `mem`'s atomic accesses.
        let mem = unsafe { PageMemory::new(page.address(), PAGE) }.map_err(|e| format!("ring page unusable: {e}"))?;
        Ok(Self { mem, _page: page })
    }

    pub fn mem(&self) -> &PageMemory {
        &self.mem
    }
}

/// Ports bound by the back-ends (bit set: ours to watch).
static BOUND: [AtomicU64; 64] = [const { AtomicU64::new(0) }; 64];
/// Ports that fired and are waiting for their back-end.
static PENDING: [AtomicU64; 64] = [const { AtomicU64::new(0) }; 64];

fn bit(port: u32) -> (usize, u64) {
    ((port / 64) as usize % 64, 1 << (port % 64))
}

/// Dom0's end of an inter-domain channel; closed when dropped.
pub struct Channel {
    port: u32,
}

impl Channel {
    /// `bind_interdomain` to `remote_port` of `dom` (allocated unbound for Dom0).
    pub fn bind(dom: DomId, remote_port: u32) -> Result<Self, String> {
        let port = events::bind_interdomain(dom, remote_port)
            .map_err(|e| format!("cannot bind to port {remote_port} of domain {dom}: {}", errname(e)))?;
        let (w, b) = bit(port);
        BOUND[w].fetch_or(b, Ordering::SeqCst);
        // A new interdomain port starts pending: the back-end looks at its ring once.
        PENDING[w].fetch_or(b, Ordering::SeqCst);
        Ok(Self { port })
    }

    pub fn port(&self) -> u32 {
        self.port
    }

    /// Signal the other domain.
    pub fn notify(&self) {
        // A peer that closed its end makes this fail; there is nobody left to tell.
        let _ = events::notify(self.port);
    }
}

impl Drop for Channel {
    fn drop(&mut self) {
        let (w, b) = bit(self.port);
        BOUND[w].fetch_and(!b, Ordering::SeqCst);
        PENDING[w].fetch_and(!b, Ordering::SeqCst);
        let _ = events::close(self.port);
        let _ = events::take(self.port);
    }
}

/// Moves the back-ends' fired ports from the upcall's record into [`PENDING`]. Returns
/// whether any port is pending (fired now, or left with work by the last round). Cheap and
/// lock-free, so waiters call it with events masked.
pub fn note_fired() -> bool {
    let mut any = PENDING.iter().any(|w| w.load(Ordering::SeqCst) != 0);
    for (w, word) in BOUND.iter().enumerate() {
        let mut bound = word.load(Ordering::SeqCst);
        while bound != 0 {
            let b = bound.trailing_zeros();
            bound &= bound - 1;
            let port = w as u32 * 64 + b;
            if events::take(port) {
                PENDING[w].fetch_or(1 << b, Ordering::SeqCst);
                any = true;
            }
        }
    }
    any
}

/// Marks `port` as having work left, so that the next wait returns at once.
pub fn mark_pending(port: u32) {
    let (w, b) = bit(port);
    if BOUND[w].load(Ordering::SeqCst) & b != 0 {
        PENDING[w].fetch_or(b, Ordering::SeqCst);
    }
}

/// Takes the set of pending ports (clearing it), lowest first.
pub fn take_pending() -> alloc::vec::Vec<u32> {
    let mut ports = alloc::vec::Vec::new();
    for (w, word) in PENDING.iter().enumerate() {
        let mut bits = word.swap(0, Ordering::SeqCst);
        while bits != 0 {
            let b = bits.trailing_zeros();
            bits &= bits - 1;
            ports.push(w as u32 * 64 + b);
        }
    }
    ports
}
