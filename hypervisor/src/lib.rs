//! The hypervisor: a Type-1, Xen-style kernel for x86_64.
//!
//! Everything outside `arch` is architecture-neutral logic that also builds for the host,
//! where `cargo test -p hypervisor` covers it. `arch` and the thin glue beside it touch hardware.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod mm;
