//! The `xl`-style toolstack's host-testable logic (no hypercalls here; the
//! kernel side in `kernel/xl.rs` and `kernel/services/` does the I/O).
//!
//! - [`config`]: domain configuration files and `key=value` overrides.
//! - [`registry`]: the domains Dom0 created, name look-up, and what to do
//!   when one shuts down (`on_poweroff`, `on_reboot`, `on_crash`).
//! - [`table`]: `list`, `vcpu-list` and `sched-credit` rows in `xl`'s
//!   layout.
//! - [`console`]: each domain's console output (scrollback), kept a while
//!   after it is destroyed.
//! - [`top`]: `xentop` rows (CPU share over an interval).
//! - [`xs_domain`]: the XenStore entries of a new domain, as libxl writes
//!   them.
//! - [`xenstored`]: the XenStore daemon's domain connections (requests
//!   from a ring page into the store, replies and watch events back).

#![forbid(unsafe_code)]

pub mod config;
pub mod console;
pub mod registry;
pub mod table;
pub mod top;
pub mod xs_domain;
pub mod xenstored;
