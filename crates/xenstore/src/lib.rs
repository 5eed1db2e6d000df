//! XenStore: the core of the store daemon Dom0 runs, and the message
//! helpers its clients (guests, Dom0's shell) use.
//!
//! - [`wire`]: messages ([`Message`]), [`encode`] and a streaming
//!   [`Decoder`] per connection.
//! - [`XenStore`]: the daemon's state.  [`XenStore::handle`] takes one
//!   request from a connection and returns the reply and any watch events
//!   as [`Outgoing`] messages; [`XenStore::introduce`] and
//!   [`XenStore::release`] follow domains' lives; the toolstack
//!   conveniences ([`XenStore::write`], [`XenStore::read`], ...) act as
//!   Dom0 and return the events they cause.
//! - [`client`]: building requests and parsing replies and watch events.
//!
//! The semantics (paths, permissions, watches, transactions, quotas and
//! error names) are those of Xen's C daemon `xenstored`; each module says
//! which rules it implements.  The crate is `no_std` with `alloc`, and
//! never panics on client input.

#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(test)]
extern crate std;

mod args;
pub mod client;
mod daemon;
mod error;
mod ls;
mod ops;
mod path;
mod perm;
pub mod quota;
mod transaction;
mod tree;
mod watch;
pub mod wire;

#[cfg(test)]
mod tests;

pub use daemon::XenStore;
pub use error::XsError;
pub use ls::sanitise;
pub use path::{domain_path, INTRODUCE_DOMAIN, RELEASE_DOMAIN};
pub use perm::{Access, Perm};
pub use wire::{encode, Decoder, Message, WireError};

/// A message for the daemon to send on connection `to` (a domain id).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    /// The receiving connection.
    pub to: u16,
    /// The reply or watch event.
    pub msg: Message,
}
