//! The hypervisor console: the `log` backend (timestamped lines on the serial port and into
//! the log ring that Dom0 reads with `sysctl(readconsole)`, as `xl dmesg` does on Xen), and
//! the queue of serial input waiting for Dom0's `console_io(read)`.

use alloc::collections::VecDeque;
use core::fmt::Write;
use spin::Mutex;

/// A byte ring that remembers how many bytes were ever written, so readers can ask for
/// "everything after index N" and learn when they fell behind (Xen's incremental reads).
pub struct LogRing<const N: usize> {
    buf: [u8; N],
    written: u64,
    /// Index of the oldest byte still readable (moves on `clear`).
    oldest: u64,
}

impl<const N: usize> LogRing<N> {
    pub const fn new() -> Self {
        LogRing { buf: [0; N], written: 0, oldest: 0 }
    }

    pub fn push(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.buf[(self.written % N as u64) as usize] = b;
            self.written += 1;
        }
    }

    /// Total bytes ever written (the index a reader continues from).
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Copy bytes starting at `from` (clamped to the oldest byte still held) into `out`;
    /// returns (bytes copied, index after the last byte copied).
    pub fn read_from(&self, from: u64, out: &mut [u8]) -> (usize, u64) {
        let oldest = self.written.saturating_sub(N as u64).max(self.oldest);
        let start = from.clamp(oldest, self.written);
        let n = ((self.written - start) as usize).min(out.len());
        for (i, slot) in out[..n].iter_mut().enumerate() {
            *slot = self.buf[((start + i as u64) % N as u64) as usize];
        }
        (n, start + n as u64)
    }

    pub fn clear(&mut self) {
        // Forget the content but keep the index monotonic for incremental readers.
        self.oldest = self.written;
    }
}

impl<const N: usize> Default for LogRing<N> {
    fn default() -> Self {
        Self::new()
    }
}

pub const LOG_RING_SIZE: usize = 64 * 1024;
pub static LOG_RING: Mutex<LogRing<LOG_RING_SIZE>> = Mutex::new(LogRing::new());

/// Serial bytes typed at the console, waiting for Dom0 (bounded: a flood is dropped, not queued).
pub static INPUT: Mutex<VecDeque<u8>> = Mutex::new(VecDeque::new());
pub const INPUT_LIMIT: usize = 4096;

/// Longest line kept from a guest before it is cut (a guest that never sends a newline
/// cannot grow the buffer without bound).
pub const GUEST_LINE_MAX: usize = 256;

/// Turns a guest's `console_io` writes into whole lines for the log, each prefixed with the
/// domain as Xen does (`(d3) text`).
pub fn guest_lines(domid: u16, pending: &mut alloc::vec::Vec<u8>, bytes: &[u8], mut emit: impl FnMut(&[u8])) {
    for &b in bytes {
        if b != b'\n' {
            pending.push(b);
        }
        if b == b'\n' || pending.len() >= GUEST_LINE_MAX {
            let mut line = alloc::vec::Vec::with_capacity(pending.len() + 8);
            let _ = write!(LineWriter(&mut line), "(d{domid}) ");
            line.extend_from_slice(pending);
            line.push(b'\n');
            emit(&line);
            pending.clear();
        }
    }
}

struct LineWriter<'a>(&'a mut alloc::vec::Vec<u8>);

impl Write for LineWriter<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// Format `[seconds.micros] LEVEL message\n`.
pub fn format_line(now_ns: u64, level: log::Level, args: &core::fmt::Arguments, out: &mut impl Write) {
    let _ = writeln!(out, "(XEN) [{:5}.{:06}] {:5} {}", now_ns / 1_000_000_000, now_ns / 1000 % 1_000_000, level, args);
}

#[cfg(target_os = "none")]
mod logger {
    use super::*;
    use crate::arch::x86_64::{serial, timer};

    /// Formats one log line into a fixed buffer (no allocation on the logging path).
    struct LineBuf {
        buf: [u8; 512],
        len: usize,
    }

    impl Write for LineBuf {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            let room = self.buf.len() - self.len;
            let n = s.len().min(room);
            self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
            self.len += n;
            Ok(())
        }
    }

    struct HvLogger;

    impl log::Log for HvLogger {
        fn enabled(&self, metadata: &log::Metadata) -> bool {
            metadata.level() <= log::max_level()
        }

        fn log(&self, record: &log::Record) {
            let mut line = LineBuf { buf: [0; 512], len: 0 };
            format_line(crate::time::ns_at(timer::rdtsc()), record.level(), record.args(), &mut line);
            serial::write_bytes(&line.buf[..line.len]);
            LOG_RING.lock().push(&line.buf[..line.len]);
        }

        fn flush(&self) {}
    }

    static LOGGER: HvLogger = HvLogger;

    pub fn init(level: log::LevelFilter) {
        let _ = log::set_logger(&LOGGER);
        log::set_max_level(level);
    }
}

#[cfg(target_os = "none")]
pub use logger::init;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_output_becomes_prefixed_lines() {
        let mut pending = alloc::vec::Vec::new();
        let mut lines = std::vec::Vec::new();
        guest_lines(3, &mut pending, b"hel", |l| lines.push(l.to_vec()));
        assert!(lines.is_empty());
        guest_lines(3, &mut pending, b"lo\nworld\n!", |l| lines.push(l.to_vec()));
        assert_eq!(lines, [b"(d3) hello\n".to_vec(), b"(d3) world\n".to_vec()]);
        assert_eq!(pending, b"!");
        let long = [b'x'; GUEST_LINE_MAX + 10];
        lines.clear();
        guest_lines(12, &mut pending, &long, |l| lines.push(l.to_vec()));
        assert_eq!(lines.len(), 1, "cut at the limit");
        assert_eq!(lines[0].len(), "(d12) ".len() + GUEST_LINE_MAX + 1);
        assert_eq!(pending.len(), 11);
    }

    #[test]
    fn ring_reads_incrementally_and_reports_overrun() {
        let mut r: LogRing<8> = LogRing::new();
        r.push(b"abcdef");
        let mut out = [0u8; 4];
        assert_eq!(r.read_from(0, &mut out), (4, 4));
        assert_eq!(&out, b"abcd");
        r.push(b"ghijkl"); // 12 written; only the last 8 are held
        let mut out = [0u8; 16];
        let (n, next) = r.read_from(4, &mut out);
        assert_eq!((n, next), (8, 12));
        assert_eq!(&out[..n], b"efghijkl");
        assert_eq!(r.read_from(12, &mut out), (0, 12));
        r.clear();
        assert_eq!(r.read_from(0, &mut out), (0, 12));
    }
}
