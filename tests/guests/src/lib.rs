//! What every test guest shares: a report that prints one line per check and, as the guest's
//! last line, `Test result: <status>` (the most severe status seen wins, as in Xen's XTF:
//! SUCCESS < SKIP < ERROR < FAILURE), then powers the domain off. A panic reports ERROR.
#![no_std]

use core::fmt::{self, Write};
use pvguest::println;

/// A test's outcome, least severe first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    Success,
    Skip,
    Error,
    Failure,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Success => "SUCCESS",
            Status::Skip => "SKIP",
            Status::Error => "ERROR",
            Status::Failure => "FAILURE",
        }
    }
}

/// The running verdict of one test guest.
pub struct Report {
    name: &'static str,
    status: Status,
}

impl Report {
    pub fn new(name: &'static str) -> Self {
        println!("{name}: starting");
        Report { name, status: Status::Success }
    }

    fn record(&mut self, status: Status, label: &str, what: &str, detail: fmt::Arguments) {
        self.status = self.status.max(status);
        println!("{}: {label} {what}: {detail}", self.name);
    }

    /// A check: passes if `ok`, else the test fails. `detail` is printed either way.
    pub fn check(&mut self, what: &str, ok: bool, detail: fmt::Arguments) {
        if ok {
            self.record(Status::Success, "PASS", what, detail);
        } else {
            self.record(Status::Failure, "FAIL", what, detail);
        }
    }

    /// Something this test needs is not there (the test cannot tell pass from fail).
    pub fn skip(&mut self, what: &str, why: fmt::Arguments) {
        self.record(Status::Skip, "SKIP", what, why);
    }

    /// The test itself could not run as intended.
    pub fn error(&mut self, what: &str, why: fmt::Arguments) {
        self.record(Status::Error, "ERROR", what, why);
    }

    /// Print the verdict as the last line and power off.
    pub fn finish(self) -> ! {
        println!("Test result: {}", self.status.name());
        power_off()
    }
}

/// `SCHEDOP_shutdown(poweroff)`; Xen does not return from it.
pub fn power_off() -> ! {
    pvguest::hypercall::shutdown(xen_abi::sched::SHUTDOWN_POWEROFF);
    loop {
        pvguest::hypercall::sched_block();
    }
}

/// Console output that takes no lock (a panic may come from inside `println!`).
struct Unlocked;

impl Write for Unlocked {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        pvguest::console::write_bytes(s.as_bytes());
        Ok(())
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    let _ = write!(Unlocked, "\ntest guest panic: {info}\nTest result: ERROR\n");
    power_off()
}
