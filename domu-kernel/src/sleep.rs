//! Sleeping on the one-shot timer while staying responsive to power requests: the waits every
//! workload shares.

use crate::power::Power;
use core::sync::atomic::{AtomicU32, Ordering};
use domu_kernel::control::PowerRequest;
use pvguest::{events, hypercall, time};
use xen_abi::event::VIRQ_TIMER;

pub const NS_PER_MS: u64 = 1_000_000;
pub const NS_PER_S: u64 = 1_000_000_000;

/// Our VIRQ_TIMER port (0: not bound yet; port 0 is never handed out).
static TIMER_PORT: AtomicU32 = AtomicU32::new(0);

/// The VIRQ_TIMER port, bound on first use (a VIRQ can be bound only once).
pub fn timer_port() -> u32 {
    match TIMER_PORT.load(Ordering::Relaxed) {
        0 => {
            let port = events::bind_virq(VIRQ_TIMER)
                .unwrap_or_else(|rc| pvguest::console::fatal(format_args!("domu: cannot bind VIRQ_TIMER: error {rc}")));
            TIMER_PORT.store(port, Ordering::Relaxed);
            port
        }
        port => port,
    }
}

/// Why [`sleep_until`] returned.
pub enum Wake {
    Deadline,
    Power(PowerRequest),
}

/// Block until system time `deadline` (one-shot timer) or a power request.
pub fn sleep_until(deadline: u64, power: &Power) -> Wake {
    sleep_until_or(deadline, power, || false).unwrap_or(Wake::Deadline)
}

/// Block until system time `deadline`, a power request, or `ready()` (checked whenever the
/// guest wakes, with events masked: it must not block). `None` when `ready()` ended the sleep.
pub fn sleep_until_or(deadline: u64, power: &Power, mut ready: impl FnMut() -> bool) -> Option<Wake> {
    let timer = timer_port();
    loop {
        let rc = hypercall::set_timer_op(deadline);
        if rc != 0 {
            pvguest::console::fatal(format_args!("domu: set_timer_op failed: error {rc}"));
        }
        let (mut timer_fired, mut asked, mut woke) = (false, false, false);
        events::wait_until(|| {
            timer_fired |= events::take(timer);
            asked = power.pending();
            woke = ready();
            timer_fired || asked || woke
        });
        // A power watch that fired with nothing to do (its first firing, our own clearing
        // write) is simply taken here.
        if asked {
            if let Some(request) = power.take_request() {
                return Some(Wake::Power(request));
            }
        }
        if woke {
            return None;
        }
        if time::now_ns() >= deadline {
            return Some(Wake::Deadline);
        }
        // A timer event from an earlier deadline, or a power event without a request: arm
        // ours again.
    }
}

/// Sleep until a power request comes, then act on it.
pub fn until_power_request(power: &Power) -> ! {
    loop {
        if let Wake::Power(request) = sleep_until(u64::MAX, power) {
            power.act(request);
        }
    }
}
