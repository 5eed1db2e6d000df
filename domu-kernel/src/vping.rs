//! The two ends of the `vping` test device, a split driver between two DomUs that exercises
//! event channels, grants, `ring.h` rings and the XenBus handshake:
//!
//! - `vping-back` ([`back`]) serves the devices the toolstack attaches to this domain;
//! - `vping-front count=N [hostile]` ([`front`]) connects to `device/vping/0` and runs the
//!   round-trip, grant and baseline tests (or, with `hostile`, corrupts the ring).
//!
//! The protocol (message layout, operations, request handling, the data-page pattern) is
//! `domu_kernel::vping_proto`, whose documentation is the specification; the handshake is
//! `pvguest::xenbus::Device` over the `xenbus` crate's engine. Here is only the guest glue:
//! pages, grants, mappings, ports, and waits.

mod back;
mod front;

pub use back::run as back;
pub use front::run as front;

use crate::power::Power;
use crate::sleep;
use core::fmt;
use pvguest::{events, hypercall, time};

/// Why a [`Phase`] wait ended without its condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimedOut;

impl fmt::Display for TimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("timed out")
    }
}

/// The waits of one phase of work, all bounded by one deadline. The one-shot timer is armed
/// once for the phase rather than once per wait, so a ping-pong pays no timer hypercall per
/// round trip. A power request that arrives during a wait is acted on (the domain shuts down).
pub struct Phase<'a> {
    power: &'a Power,
    timer: u32,
    /// Absolute system time; `u64::MAX` for none.
    deadline: u64,
}

impl<'a> Phase<'a> {
    /// A phase that gives up `timeout_ns` from now.
    pub fn new(power: &'a Power, timeout_ns: u64) -> Self {
        let phase = Self { power, timer: sleep::timer_port(), deadline: time::now_ns().saturating_add(timeout_ns) };
        phase.arm();
        phase
    }

    /// A phase without a deadline (a server waiting for work).
    pub fn unbounded(power: &'a Power) -> Self {
        Self { power, timer: sleep::timer_port(), deadline: u64::MAX }
    }

    fn arm(&self) {
        if self.deadline != u64::MAX {
            let rc = hypercall::set_timer_op(self.deadline);
            if rc != 0 {
                pvguest::console::fatal(format_args!("domu: set_timer_op failed: error {rc}"));
            }
        }
    }

    /// Block until `ready()` holds (checked whenever the guest wakes, with events masked: it
    /// must not block), or the deadline passes.
    pub fn wait(&self, mut ready: impl FnMut() -> bool) -> Result<(), TimedOut> {
        loop {
            let (mut woke, mut timer_fired, mut asked) = (false, false, false);
            events::wait_until(|| {
                woke = ready();
                if woke {
                    return true;
                }
                timer_fired |= events::take(self.timer);
                asked = self.power.pending();
                timer_fired || asked
            });
            if woke {
                return Ok(());
            }
            if asked {
                if let Some(request) = self.power.take_request() {
                    self.power.act(request);
                }
            }
            if timer_fired {
                if time::now_ns() >= self.deadline {
                    return Err(TimedOut);
                }
                // An earlier deadline's event (ours or another user's): arm ours again.
                self.arm();
            }
        }
    }
}
