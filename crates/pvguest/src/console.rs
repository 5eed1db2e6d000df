//! Guest console output: `console_io` to the hypervisor console (Dom0's own terminal; a DomU
//! uses the same hypercall until its PV console ring arrives).

use core::fmt::{self, Write};
use spin::Mutex;

struct HvConsole;

impl Write for HvConsole {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        write_bytes(s.as_bytes());
        Ok(())
    }
}

static LOCK: Mutex<()> = Mutex::new(());

/// Write raw bytes (the terminal sees them unchanged), looping over short writes.
pub fn write_bytes(mut bytes: &[u8]) {
    while !bytes.is_empty() {
        let n = crate::hypercall::console_write(bytes);
        if n <= 0 {
            return;
        }
        bytes = &bytes[(n as usize).min(bytes.len())..];
    }
}

/// Write text, turning `\n` into `\r\n` for the serial terminal.
pub fn write_text(s: &str) {
    let _guard = LOCK.lock();
    let mut rest = s;
    while let Some(i) = rest.find('\n') {
        write_bytes(&rest.as_bytes()[..i]);
        write_bytes(b"\r\n");
        rest = &rest[i + 1..];
    }
    write_bytes(rest.as_bytes());
}

struct TextConsole;

impl Write for TextConsole {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        write_text(s);
        Ok(())
    }
}

pub fn print(args: fmt::Arguments) {
    let _ = TextConsole.write_fmt(args);
}

/// Print the reason and crash this domain (the hypervisor reports it; for Dom0 it ends the machine).
pub fn fatal(args: fmt::Arguments) -> ! {
    let _ = HvConsole.write_fmt(format_args!("\r\nguest fatal error: {args}\r\n"));
    crate::hypercall::shutdown(xen_abi::sched::SHUTDOWN_CRASH);
    loop {
        crate::hypercall::sched_block();
    }
}

#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => { $crate::console::print(format_args!($($arg)*)) };
}

#[macro_export]
macro_rules! println {
    () => { $crate::console::print(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::console::print(format_args!("{}\n", format_args!($($arg)*))) };
}
