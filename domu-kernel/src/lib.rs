//! DomU's host-testable logic: reading the command line the domain builder passes (the
//! config's `extra=`, plus ` domid=N` appended by the builder), the toolstack's power requests,
//! and console input into lines.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod cmdline;
pub mod control;
pub mod lines;
pub mod vping_proto;
