//! Dom0's host-testable logic: the shell (line editing, parsing, formatting).
#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod shell;
