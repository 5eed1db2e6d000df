//! The hypervisor: a Type-1, Xen-style kernel for x86_64.
//!
//! Everything outside `arch` and the glue marked `target_os = "none"` is architecture-neutral
//! logic that also builds for the host, where `cargo test -p hypervisor --lib` covers it.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod console;
pub mod domain;
pub mod event;
pub mod grant;
pub mod hypercall;
pub mod layout;
pub mod mm;
pub mod regs;
pub mod scheduler;
pub mod time;

#[cfg(target_os = "none")]
pub mod arch;
#[cfg(target_os = "none")]
pub mod boot;
#[cfg(target_os = "none")]
pub mod hv;
#[cfg(target_os = "none")]
pub mod sched;
#[cfg(target_os = "none")]
pub mod shared;
#[cfg(target_os = "none")]
pub mod trap;

#[cfg(target_os = "none")]
pub use panic::{panic, panic_report, IMAGE_OFFSET};

#[cfg(target_os = "none")]
mod panic {
    use crate::arch::x86_64::{power, serial};
    use crate::regs::TrapFrame;

    /// Print the reason, the registers (when a trap caused it) and a frame-pointer backtrace.
    pub fn panic_report(why: core::fmt::Arguments, frame: Option<&TrapFrame>, rbp: u64) {
        log::error!("*** HYPERVISOR PANIC: {why}");
        if let Some(f) = frame {
            crate::trap::dump_frame(f);
        }
        let base = IMAGE_OFFSET.load(core::sync::atomic::Ordering::Relaxed);
        log::error!("backtrace (address, then image offset for `addr2line -e hypervisor`):");
        let mut fp = rbp;
        for depth in 0..32 {
            // Only follow frame pointers that stay inside the hypervisor's own memory.
            let in_hole = (crate::layout::DIRECT_MAP_BASE..crate::layout::DYNAMIC_END).contains(&fp);
            if fp == 0 || fp % 8 != 0 || !in_hole {
                break;
            }
            // SAFETY: `fp` is 8-aligned and inside the hypervisor's mapped stacks (frame
            // pointers are forced on for the whole image); a bad chain stops at the checks above.
            let (next, ret) = unsafe { (*(fp as *const u64), *((fp + 8) as *const u64)) };
            if ret == 0 {
                break;
            }
            log::error!("  #{depth:02} {ret:#018x}  +{:#x}", ret.wrapping_sub(base));
            fp = next;
        }
    }

    /// Where the bootloader loaded the hypervisor image (for symbolising backtraces).
    pub static IMAGE_OFFSET: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

    pub fn panic(info: &core::panic::PanicInfo) -> ! {
        x86_64::instructions::interrupts::disable();
        serial::force_unlock();
        let rbp: u64;
        // SAFETY: reading RBP has no side effects.
        unsafe { core::arch::asm!("mov {}, rbp", out(reg) rbp) };
        panic_report(format_args!("{info}"), None, rbp);
        power::fail(1)
    }
}
