//! The `xl`-style toolstack's host-testable logic (no hypercalls here; the
//! kernel side in `kernel/xl.rs` does the I/O).
//!
//! - [`config`]: domain configuration files and `key=value` overrides.
//! - [`registry`]: the domains Dom0 created, name look-up, and what to do
//!   when one shuts down (`on_poweroff`, `on_reboot`, `on_crash`).
//! - [`table`]: `list`, `vcpu-list` and `sched-credit` rows in `xl`'s
//!   layout.
//! - [`console`]: picking a domain's lines out of the hypervisor log.
//! - [`top`]: `xentop` rows (CPU share over an interval).

#![forbid(unsafe_code)]

pub mod config;
pub mod console;
pub mod registry;
pub mod table;
pub mod top;
