//! Xen's shared I/O rings, as `xen/include/public/io/ring.h` defines them,
//! plus the byte-stream rings of the XenStore and console pages.
//!
//! * [`FrontRing`] and [`BackRing`] are the two ends of a request/response
//!   ring (`DEFINE_RING_TYPES`), generic over the entry types (any
//!   `zerocopy` plain-bytes types) and over the [`RingMemory`] the ring
//!   lives in.  Indices are free-running `u32`s; a slot is `idx & (size -
//!   1)`; the memory barriers and the event-threshold notification rule
//!   are those of `ring.h`.
//! * [`byte`] holds the XenStore (`xs_wire.h`) and console (`console.h`)
//!   byte rings.
//! * [`SliceMemory`] (host tests, fuzzing) and [`PageMemory`] (a mapped
//!   shared page) are the memories; every access is bounds-checked, so no
//!   value the peer writes can make this crate touch anything outside the
//!   ring memory, loop without bound, or panic.  Peer indices that claim
//!   more than the ring can hold are [`RingError::Overflow`].
//!
//! # Fuzzing
//!
//! `fuzz/` is a cargo-fuzz project (its own workspace) whose target
//! `hostile_peer` feeds arbitrary bytes to [`fuzz::fuzz_hostile_peer`]:
//!
//! ```text
//! cargo install cargo-fuzz            # once; needs a nightly toolchain
//! cd crates/xen-ring/fuzz
//! cargo fuzz run hostile_peer -- -max_total_time=300
//! ```
//!
//! The host tests run the same function over a few thousand generated
//! inputs, so CI exercises it without cargo-fuzz.

#![no_std]
#![warn(missing_docs)]

#[cfg(test)]
#[macro_use]
extern crate std;

mod back;
pub mod byte;
mod error;
mod front;
#[doc(hidden)]
pub mod fuzz;
mod layout;
mod memory;
mod notify;

#[cfg(test)]
mod tests;

pub use back::BackRing;
pub use error::RingError;
pub use front::FrontRing;
pub use layout::{
    read_header, shared_ring_init, Entry, RingLayout, REQ_EVENT, REQ_PROD, RSP_EVENT, RSP_PROD,
};
pub use memory::{check_range, check_u32, PageMemory, RingMemory, SliceMemory};
pub use xen_abi::ring::{need_notify, ring_size, ring_slot, RingIdx, SringHeader};
