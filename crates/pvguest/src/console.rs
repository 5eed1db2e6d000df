//! Guest console: Dom0 writes to the hypervisor console (`console_io`, its own terminal); a
//! DomU kernel that calls [`init`] and whose `start_info` names a console ring
//! (`console.domU.mfn/evtchn`) writes to that ring's `out` side and notifies the port, and
//! Dom0's console back-end shows the bytes. Output before [`init`] (and of kernels that never
//! call it, such as the test guests, whose verdicts are read from the hypervisor log) uses
//! `console_io`.
//!
//! A full ring is waited on (notify, then `SCHEDOP_poll` on the port), but only for
//! [`FULL_RING_PATIENCE_NS`]: after that the rest of the write is dropped, and later writes
//! take only what fits without waiting until the back-end drains the ring again. A dead back-end costs one pause, never a hang.
//!
//! The ring's `in` side is console input: [`read_input`] (non-blocking), with
//! [`input_available`] for wait conditions and [`input_port`] to wake on.

use core::fmt::{self, Write};
use core::sync::atomic::{AtomicBool, Ordering};
use spin::{Mutex, Once};
use xen_abi::console::XenconsInterface;
use xen_ring::byte::{self, CONSOLE_IN, CONSOLE_OUT};
use xen_ring::{PageMemory, RingError};

/// How long a write waits for room in a full ring before dropping the rest.
pub const FULL_RING_PATIENCE_NS: u64 = 1_000_000_000;
/// Longest single `SCHEDOP_poll` while waiting for room, so a notification that raced with
/// our check (and was taken by the upcall) costs at most this much.
const POLL_SLICE_NS: u64 = 1_000_000;

/// The console ring page and its event channel.
struct PvConsole {
    mem: PageMemory,
    port: u32,
}

static RING: Once<PvConsole> = Once::new();
static LOCK: Mutex<()> = Mutex::new(());
/// The last write gave up on a full ring: do not wait again until the back-end made room.
static STALLED: AtomicBool = AtomicBool::new(false);

/// Switch output to the PV console ring if `start_info` names one (DomUs); Dom0 and domains
/// without a ring keep `console_io`. Idempotent.
pub fn init() {
    let si = crate::start_info();
    if si.flags & xen_abi::start_info::SIF_INITDOMAIN != 0 {
        return; // Dom0: the same fields hold its VGA console info
    }
    if si.console_mfn == 0 || si.console_evtchn == 0 {
        return;
    }
    let Some(va) = crate::start::va_of_machine_frame(si.console_mfn) else {
        write_text("pvguest: console ring frame is not in our start-of-day mapping; using console_io\n");
        return;
    };
    // SAFETY: the builder mapped the console page at `va` for the guest's life (it is in the
    // start-of-day region) and this program holds no references into it: the page is only
    // touched through this `PageMemory` and by the back-end.
    match unsafe { PageMemory::new(va as *mut u8, core::mem::size_of::<XenconsInterface>()) } {
        Ok(mem) => {
            RING.call_once(|| PvConsole { mem, port: si.console_evtchn });
        }
        Err(e) => write_text(&alloc::format!("pvguest: console ring unusable ({e}); using console_io\n")),
    }
}

/// The console event channel, which fires for input too (DomUs with a ring).
pub fn input_port() -> Option<u32> {
    RING.get().map(|r| r.port)
}

/// Whether console input is waiting (a corrupt ring counts as none).
pub fn input_available() -> bool {
    RING.get().is_some_and(|r| byte::available(&r.mem, &CONSOLE_IN).is_ok_and(|n| n > 0))
}

/// Take up to `buf.len()` bytes of console input without waiting; 0 when there is none (or
/// no ring). Input indices that make no sense are dropped (the ring is resynchronised).
pub fn read_input(buf: &mut [u8]) -> usize {
    let Some(ring) = RING.get() else { return 0 };
    match byte::read(&ring.mem, &CONSOLE_IN, buf) {
        Ok(0) => 0,
        Ok(n) => {
            // The back-end may be waiting for room.
            crate::events::notify(ring.port);
            n
        }
        Err(RingError::Overflow) => {
            let _ = byte::resync(&ring.mem, &CONSOLE_IN);
            0
        }
        Err(_) => 0,
    }
}

impl PvConsole {
    /// Put all of `bytes` into the `out` ring, waiting for room within the patience limit.
    fn write(&self, mut bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let mut deadline = None;
        loop {
            let n = byte::write(&self.mem, &CONSOLE_OUT, bytes);
            bytes = &bytes[n..];
            if n > 0 {
                STALLED.store(false, Ordering::Relaxed);
            }
            crate::events::notify(self.port);
            if bytes.is_empty() {
                return;
            }
            let now = crate::time::now_ns();
            let deadline = *deadline.get_or_insert(now.saturating_add(FULL_RING_PATIENCE_NS));
            if STALLED.load(Ordering::Relaxed) || now >= deadline {
                STALLED.store(true, Ordering::Relaxed);
                return;
            }
            self.wait_for_room(deadline.min(now + POLL_SLICE_NS));
        }
    }

    /// Sleep until the back-end signals (it consumed output) or `until`.
    fn wait_for_room(&self, until: u64) {
        if crate::events::masked() && crate::events::is_pending(self.port) {
            // With upcalls masked nobody clears the pending bit, so a poll would return at
            // once: let the back-end run instead.
            crate::hypercall::sched_yield();
        } else {
            crate::events::poll(&[self.port], until);
        }
    }
}

/// Write raw bytes (the terminal sees them unchanged).
pub fn write_bytes(bytes: &[u8]) {
    match RING.get() {
        Some(ring) => ring.write(bytes),
        None => hv_write(bytes),
    }
}

/// Write to the hypervisor console, looping over short writes.
fn hv_write(mut bytes: &[u8]) {
    while !bytes.is_empty() {
        let n = crate::hypercall::console_write(bytes);
        if n <= 0 {
            return;
        }
        bytes = &bytes[(n as usize).min(bytes.len())..];
    }
}

/// Text on its way out: `\n` becomes `\r\n` for the serial terminal, and bytes are
/// collected so that a line goes out in one piece (one notification of the back-end). No
/// heap is used, so printing works when allocation does not; the lock is taken only to write
/// a piece, never while formatting.
struct Buffered {
    chunk: [u8; 256],
    len: usize,
}

impl Buffered {
    const fn new() -> Self {
        Self { chunk: [0; 256], len: 0 }
    }

    fn flush(&mut self) {
        if self.len > 0 {
            let _guard = LOCK.lock();
            write_bytes(&self.chunk[..self.len]);
            self.len = 0;
        }
    }
}

impl Write for Buffered {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for &b in s.as_bytes() {
            if self.len + 2 > self.chunk.len() {
                self.flush();
            }
            if b == b'\n' {
                self.chunk[self.len] = b'\r';
                self.len += 1;
            }
            self.chunk[self.len] = b;
            self.len += 1;
        }
        Ok(())
    }
}

/// Write text, turning `\n` into `\r\n` for the serial terminal.
pub fn write_text(s: &str) {
    let mut out = Buffered::new();
    let _ = out.write_str(s);
    out.flush();
}

pub fn print(args: fmt::Arguments) {
    let mut out = Buffered::new();
    let _ = out.write_fmt(args);
    out.flush();
}

/// Where a fatal message goes: the hypervisor console always (it outlives this domain's
/// back-end connection), and the ring too without waiting, so `console` shows it.
struct FatalConsole;

impl Write for FatalConsole {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        hv_write(s.as_bytes());
        if let Some(ring) = RING.get() {
            byte::write(&ring.mem, &CONSOLE_OUT, s.as_bytes());
            crate::events::notify(ring.port);
        }
        Ok(())
    }
}

/// Print the reason and crash this domain (the hypervisor reports it; for Dom0 it ends the machine).
pub fn fatal(args: fmt::Arguments) -> ! {
    let _ = FatalConsole.write_fmt(format_args!("\r\nguest fatal error: {args}\r\n"));
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
