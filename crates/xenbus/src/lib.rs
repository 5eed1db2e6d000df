//! XenBus: how split-driver devices are described in XenStore and how
//! their two ends connect.
//!
//! * [`XenbusState`]: the states of `io/xenbus.h`, parsed from and written
//!   to the decimal `state` nodes.
//! * [`path`]: the `device/` and `backend/` directory conventions.
//! * [`XenbusStore`]: the few XenStore operations XenBus needs, with the
//!   `xenstore` crate's [`XsError`] as the error and its [`Perm`]s
//!   (re-exported here, so drivers need not name that crate).
//! * [`next_step`]: the handshake as a pure function of role, own state
//!   and the other end's state; [`Connection`] runs it against a store and
//!   a [`DeviceClass`]'s callbacks.
//! * [`toolstack`]: the nodes Dom0 writes to create a device.

#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

#[cfg(test)]
#[macro_use]
extern crate std;

mod driver;
mod handshake;
pub mod path;
mod state;
mod store;
pub mod toolstack;

#[cfg(test)]
mod tests;

pub use driver::{Connection, DeviceClass, Link};
pub use handshake::{next_step, Action, Role, Step};
pub use state::XenbusState;
pub use store::{read_state, XenbusStore};
pub use toolstack::{create_device, device_nodes, device_nodes_split, remove_device, Node};
pub use xenstore::{Access, Perm, XsError};
