//! Event channels, 2-level ABI: the per-domain port table, the operations that span two
//! domains' tables (inter-domain channels), and Xen's rules for marking a port pending in the
//! shared bitmaps. The bitmaps live in the guest-shared `shared_info` page and are reached
//! through [`EventBitmaps`], so the ordering logic is host-testable.

pub mod channels;
pub mod interdomain;
pub mod two_level;

pub use channels::{Binding, EventChannels};
pub use interdomain::{Caller, PortTables, Target};
pub use two_level::{set_pending, unmask, EventBitmaps};
