//! Power requests from the toolstack: the `control/shutdown` watch (what `xl shutdown` and
//! `xl reboot` use), with `VIRQ_SHUTDOWN_REQUEST` as a fallback for a toolstack that only
//! raises the VIRQ. The guest announces what it honours with `control/feature-*` = "1", and
//! acknowledges a request by clearing the node (writing "") before it shuts down, as Linux
//! does.

use core::cell::Cell;
use domu_kernel::control::{PowerRequest, FEATURE_NODES, SHUTDOWN_NODE};
use pvguest::{events, println, xenstore};
use xen_abi::event::VIRQ_SHUTDOWN_REQUEST;

/// Token of our `control/shutdown` watch.
const SHUTDOWN_TOKEN: &str = "domu-control-shutdown";

pub struct Power {
    virq_port: Option<u32>,
    /// The VIRQ fired and nobody has acted on it yet.
    virq_fired: Cell<bool>,
    watching: bool,
}

impl Power {
    /// Bind the VIRQ, and (when XenStore is up) announce our features and watch
    /// `control/shutdown`. What fails is reported and done without.
    pub fn setup(xenstore_up: bool) -> Self {
        let virq_port = match events::bind_virq(VIRQ_SHUTDOWN_REQUEST) {
            Ok(port) => Some(port),
            Err(rc) => {
                println!("domu: cannot bind VIRQ_SHUTDOWN_REQUEST (error {rc})");
                None
            }
        };
        let mut watching = false;
        if xenstore_up {
            for node in FEATURE_NODES {
                if let Err(e) = xenstore::write(node, "1") {
                    println!("domu: cannot write {node} ({e})");
                }
            }
            match xenstore::watch(SHUTDOWN_NODE, SHUTDOWN_TOKEN) {
                Ok(()) => watching = true,
                Err(e) => println!("domu: cannot watch {SHUTDOWN_NODE} ({e})"),
            }
        }
        if virq_port.is_none() && !watching {
            println!("domu: power requests will be missed");
        }
        Self { virq_port, virq_fired: Cell::new(false), watching }
    }

    /// Whether a request may be waiting (the VIRQ fired, or the watch did). Never blocks:
    /// meant for `events::wait_until` conditions, followed by [`take_request`](Self::take_request).
    pub fn pending(&self) -> bool {
        if self.virq_port.is_some_and(events::take) {
            self.virq_fired.set(true);
        }
        self.virq_fired.get() || (self.watching && xenstore::has_watch_event_for(SHUTDOWN_TOKEN))
    }

    /// The request waiting, if any; reads `control/shutdown` when its watch fired (a value
    /// that names nothing we do is reported and ignored). The VIRQ asks for a power-off.
    pub fn take_request(&self) -> Option<PowerRequest> {
        if self.virq_fired.replace(false) {
            return Some(PowerRequest::Poweroff);
        }
        if !self.watching {
            return None;
        }
        let mut fired = false;
        while xenstore::take_watch_event_for(SHUTDOWN_TOKEN).is_some() {
            fired = true;
        }
        if !fired {
            return None;
        }
        let value = xenstore::read(SHUTDOWN_NODE).ok()?;
        let request = PowerRequest::parse(&value);
        if request.is_none() && !value.is_empty() {
            println!("domu: ignoring {SHUTDOWN_NODE} request \"{value}\"");
        }
        request
    }

    /// Whether a request is waiting, taking it (for loops that poll rather than sleep).
    pub fn poll(&self) -> Option<PowerRequest> {
        if self.pending() {
            self.take_request()
        } else {
            None
        }
    }

    /// Acknowledge `request` (clear `control/shutdown`) and shut down accordingly.
    pub fn act(&self, request: PowerRequest) -> ! {
        if self.watching {
            let _ = xenstore::write(SHUTDOWN_NODE, "");
        }
        println!("domu: shutdown requested ({})", request.name());
        crate::shutdown(request.reason())
    }
}
