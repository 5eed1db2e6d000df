//! The Dom0 console shell: pure, host-testable logic (no I/O).
//!
//! - [`editor`]: byte-at-a-time line editor (echo, cursor keys, history).
//! - [`command`]: tokenizing a line and parsing `xl`-style commands from a
//!   table of command specs.
//! - [`format`]: `xl`-style output helpers (uptime, sizes, aligned tables).
//!
//! Output strings use `\n` line endings; the console writer turns them
//! into `\r\n` for the serial terminal. The editor's own echo already uses
//! `\r\n`.

#![forbid(unsafe_code)]

pub mod command;
pub mod editor;
pub mod format;

pub use command::{parse, parse_line, split_commands, Command, ParseError};
pub use editor::{EditorEvent, LineEditor};
pub use format::{format_kib, format_uptime, Align, Table};
