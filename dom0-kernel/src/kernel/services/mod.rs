//! Dom0's back-end services for the DomUs: the XenStore daemon ([`xenstored`]) and the
//! console back-end ([`consoled`]).
//!
//! Dom0 is single-threaded, so the services run from every place it waits: [`wait_until`]
//! wraps `events::wait_until` so that a signal on any of their channels wakes the waiter,
//! and [`poll`] then services the rings whose channels fired before the waiter looks at its
//! own condition again. The shell's input wait, `xl`'s `sleep_until` (`wait`, `shutdown -w`,
//! `console`, `xentop`) all go through it, so no DomU stalls because nobody drains its rings,
//! and each round is bounded so the shell stays responsive.
//!
//! Misbehaving domains are reported as one-line notices, collected for the caller to print
//! ([`take_notices`]).

mod consoled;
mod shared;
mod xenstored;

use super::xc::DomId;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use consoled::Consoled;
use dom0_kernel::toolstack::console::Catchup;
use dom0_kernel::toolstack::xenstored::Daemon;
use dom0_kernel::toolstack::xs_domain::{domain_path, DomainEntries};
use pvguest::events;
use spin::Mutex;
use xenstore::XsError;
use xenstored::Xenstored;

struct Services {
    xenstored: Xenstored,
    consoled: Consoled,
    notices: Vec<String>,
}

static SERVICES: Mutex<Option<Services>> = Mutex::new(None);

/// Runs `f` on the services (set up on first use).
fn with<T>(f: impl FnOnce(&mut Services) -> T) -> T {
    let mut guard = SERVICES.lock();
    let services = guard.get_or_insert_with(|| {
        let mut xenstored = Xenstored::new();
        let notices = match xenstored.describe_dom0() {
            Ok(()) => Vec::new(),
            Err(e) => alloc::vec![format!("xenstored: cannot write Domain-0's entries: {}", e.name())],
        };
        Services { xenstored, consoled: Consoled::new(), notices }
    });
    f(services)
}

/// Connects a new domain (built, not yet unpaused) to the console back-end and XenStore.
/// On failure nothing is left connected.
pub fn introduce(d: &DomainEntries<'_>) -> Result<(), String> {
    with(|s| {
        s.consoled.attach(d.domid, d.console).map_err(|e| format!("console: {e}"))?;
        if let Err(e) = s.xenstored.introduce(d) {
            let mut ignored = Vec::new();
            s.consoled.detach(d.domid, &mut ignored);
            return Err(format!("XenStore: {e}"));
        }
        Ok(())
    })
}

/// Disconnects a domain that is about to be destroyed (or is gone): its last console
/// output is kept, its XenStore entries removed and `@releaseDomain` fired.
pub fn release(domid: DomId) {
    with(|s| {
        let mut notices = Vec::new();
        s.xenstored.release(domid, &mut notices);
        s.consoled.detach(domid, &mut notices);
        s.notices.extend(notices);
    });
}

/// Releases every connected domain that is not in `live` (gone without `destroy_domain`).
pub fn release_gone(live: &[DomId]) {
    let gone: Vec<DomId> = with(|s| {
        let mut ids: Vec<DomId> = s.xenstored.daemon().connected().collect();
        ids.extend(s.consoled.attached());
        ids.retain(|id| !live.contains(id));
        ids.sort_unstable();
        ids.dedup();
        ids
    });
    for domid in gone {
        release(domid);
    }
}

/// Services every ring whose channel fired. Bounded work per ring; a ring with work left
/// stays pending, so the next wait returns at once.
pub fn poll() {
    shared::note_fired();
    let ports = shared::take_pending();
    with(|s| {
        let mut notices = Vec::new();
        for port in ports {
            match s.xenstored.on_event(port, &mut notices) {
                Some(true) => shared::mark_pending(port),
                Some(false) => {}
                None => {
                    s.consoled.on_event(port, &mut notices);
                }
            }
        }
        notices.extend(s.xenstored.flush());
        s.notices.extend(notices);
    });
}

/// Sleeps until `ready()` holds or a service channel fires, then services the rings. Callers
/// loop over their own condition, so an early return is harmless.
pub fn wait_until(mut ready: impl FnMut() -> bool) {
    events::wait_until(|| ready() || shared::note_fired());
    poll();
}

/// Reports of misbehaving domains since the last call, one line each.
pub fn take_notices() -> Vec<String> {
    with(|s| core::mem::take(&mut s.notices))
}

// ---------------------------------------------------------------------------------------------
// Consoles.

/// `domid`'s console output after `position` (a live domain's, or a kept one of a destroyed
/// domain); `None` if there is no buffer for it.
pub fn console_since(domid: DomId, position: u64) -> Option<Catchup> {
    with(|s| s.consoled.buffers().get(domid).map(|b| b.since(position)))
}

/// Typed bytes for `domid`'s console; returns how many its input ring took.
pub fn console_input(domid: DomId, bytes: &[u8]) -> usize {
    with(|s| s.consoled.send_input(domid, bytes))
}

// ---------------------------------------------------------------------------------------------
// XenStore as Dom0's toolstack uses it.

/// Runs `f` on the XenStore daemon, then sends the replies and watch events it caused.
pub fn xenstore<T>(f: impl FnOnce(&mut Daemon) -> Result<T, XsError>) -> Result<T, XsError> {
    with(|s| {
        let result = f(s.xenstored.daemon());
        let notices = s.xenstored.flush();
        s.notices.extend(notices);
        result
    })
}

/// Whether `domid` is connected to XenStore.
pub fn is_connected(domid: DomId) -> bool {
    with(|s| s.xenstored.is_connected(domid))
}

/// Asks `domid` to power off or reboot (`control/shutdown`, as `xl` does for PV guests).
pub fn request_shutdown(domid: DomId, what: &str) -> Result<(), String> {
    if !is_connected(domid) {
        return Err(String::from("it is not connected to XenStore"));
    }
    let path = format!("{}/control/shutdown", domain_path(domid));
    xenstore(|d| d.write(&path, what.as_bytes())).map_err(|e| format!("xenstore-write {path}: {}", e.name()))
}
