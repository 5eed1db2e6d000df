//! DomU's host-testable logic: reading the command line the domain builder passes (the
//! config's `extra=`, plus ` domid=N` appended by the builder).
#![cfg_attr(not(test), no_std)]

pub mod cmdline;
