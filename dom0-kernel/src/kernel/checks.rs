//! A tiny check runner for `selftest` and `hostile`: one PASS/FAIL line per check and a
//! summary line; the command fails if any check failed.

use super::info::errname;
use super::shell_loop::CmdResult;
use alloc::format;
use alloc::string::String;
use pvguest::println;

pub struct Checks {
    name: &'static str,
    passed: u32,
    failed: u32,
}

impl Checks {
    pub fn new(name: &'static str) -> Self {
        Checks { name, passed: 0, failed: 0 }
    }

    /// Record one check: `Ok(detail)` passes, `Err(why)` fails.
    pub fn check(&mut self, what: &str, outcome: Result<String, String>) {
        match outcome {
            Ok(detail) => {
                self.passed += 1;
                println!("PASS {what}{}{detail}", if detail.is_empty() { "" } else { ": " });
            }
            Err(why) => {
                self.failed += 1;
                println!("FAIL {what}: {why}");
            }
        }
    }

    /// A hypercall that must fail with exactly `-expected`.
    pub fn expect_errno(&mut self, what: &str, rc: i64, expected: i64) {
        let outcome = if rc == -expected {
            Ok(format!("refused with {}", errname(rc)))
        } else {
            Err(format!("expected {}, got {}", errname(-expected), errname(rc)))
        };
        self.check(what, outcome);
    }

    pub fn finish(self) -> CmdResult {
        println!("{}: {} passed, {} failed", self.name, self.passed, self.failed);
        if self.failed == 0 {
            Ok(())
        } else {
            Err(format!("{} of {} {} checks failed", self.failed, self.passed + self.failed, self.name))
        }
    }
}

/// A page-aligned page of our image whose mapping checks may replace (and then restore).
#[repr(C, align(4096))]
pub struct Page(pub [u8; 4096]);
pub static mut SCRATCH: Page = Page([0; 4096]);

pub fn scratch_va() -> u64 {
    core::ptr::addr_of!(SCRATCH) as u64
}

/// Machine frame behind one of our start-of-day virtual addresses (via the P2M list).
/// Callers pass addresses of our own image (statics, page tables), always in that region.
pub fn mfn_of(va: u64) -> u64 {
    pvguest::start::machine_frame(va).expect("an address of Dom0's start-of-day region")
}

/// Put the scratch page's own frame back (read-write), as at boot.
pub fn restore_scratch() -> i64 {
    use xen_abi::mm::*;
    let va = scratch_va();
    pvguest::hypercall::update_va_mapping(va, (mfn_of(va) << 12) | PAGE_PRESENT | PAGE_RW | PAGE_ACCESSED | PAGE_DIRTY, UVMF_INVLPG)
}
