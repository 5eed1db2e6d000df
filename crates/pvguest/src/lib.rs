//! The runtime every PV guest kernel of this project shares: entry from `start_info`, the
//! hypercall page, trap and event handling, time from `vcpu_time_info`, the console (hypervisor
//! or PV console ring), the XenStore client and XenBus glue of a DomU, and a heap.
//!
//! A kernel provides `fn guest_main(&'static StartInfo) -> !` with `#[no_mangle]` and links
//! with `guest.ld`; the Xen notes, entry point and hypercall page come from `start.rs`.
#![no_std]

extern crate alloc;

pub mod console;
pub mod events;
pub mod grant;
pub mod hypercall;
pub mod start;
pub mod time;
pub mod traps;
pub mod usermode;
pub mod xenbus;
pub mod xenstore;

pub use start::start_info;
