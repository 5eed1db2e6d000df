//! Dom0's host-testable logic: the shell (line editing, parsing, formatting) and the
//! toolstack (domain configurations, the domain registry, `xl`-style tables).
#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod shell;
pub mod toolstack;
