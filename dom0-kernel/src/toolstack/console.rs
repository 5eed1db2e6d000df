//! The console back-end's memory: what each DomU wrote to its console
//! ring, kept for `console DOMAIN` (scrollback, then live output) and
//! `console --dump`.
//!
//! Every domain gets a [`Scrollback`] holding its last [`SCROLLBACK`]
//! bytes. Positions are counted from the domain's first byte, so a
//! follower remembers where it is with one number and [`Scrollback::since`]
//! tells it what came after (and how much it missed if it fell more than
//! the buffer behind). [`Consoles`] maps domain ids to buffers and keeps
//! those of the last [`KEPT_DESTROYED`] destroyed domains readable.
//!
//! [`drain_output`] and [`send_input`] move bytes through a domain's
//! console page (`struct xencons_interface`), trusting nothing the domain
//! wrote there; [`Crlf`] turns the guest's bare `\n` into `\r\n` for the
//! serial terminal.

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use xen_ring::byte::{self, CONSOLE_IN, CONSOLE_OUT};
use xen_ring::{RingError, RingMemory};

/// Bytes of output kept per domain.
pub const SCROLLBACK: usize = 16 * 1024;
/// How many destroyed domains' buffers are kept.
pub const KEPT_DESTROYED: usize = 16;

/// A domain's most recent console output.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scrollback {
    bytes: VecDeque<u8>,
    /// Bytes ever appended: the position just past the newest byte.
    end: u64,
}

/// What a follower gets from [`Scrollback::since`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catchup {
    /// The bytes from the asked position (or the oldest kept) to the end.
    pub bytes: Vec<u8>,
    /// Bytes between the asked position and the oldest kept one: output
    /// that was dropped before the follower read it.
    pub missed: u64,
    /// Where to ask from next time.
    pub next: u64,
}

impl Scrollback {
    /// An empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends output, dropping the oldest bytes past [`SCROLLBACK`].
    pub fn push(&mut self, bytes: &[u8]) {
        self.end += bytes.len() as u64;
        let keep = &bytes[bytes.len().saturating_sub(SCROLLBACK)..];
        let overflow = (self.bytes.len() + keep.len()).saturating_sub(SCROLLBACK);
        self.bytes.drain(..overflow);
        self.bytes.extend(keep);
    }

    /// The position just past the newest byte.
    pub fn end(&self) -> u64 {
        self.end
    }

    /// The position of the oldest byte kept.
    pub fn start(&self) -> u64 {
        self.end - self.bytes.len() as u64
    }

    /// Everything kept, oldest first.
    pub fn contents(&self) -> Vec<u8> {
        self.bytes.iter().copied().collect()
    }

    /// The output after position `pos` (a position past the end gives
    /// nothing and moves the follower back to the end).
    pub fn since(&self, pos: u64) -> Catchup {
        let start = self.start();
        let from = pos.clamp(start, self.end);
        let skip = (from - start) as usize;
        Catchup {
            bytes: self.bytes.iter().skip(skip).copied().collect(),
            missed: from - pos.min(from),
            next: self.end,
        }
    }
}

/// The scrollback of every live domain and of recently destroyed ones.
#[derive(Debug, Clone, Default)]
pub struct Consoles {
    live: Vec<(u16, Scrollback)>,
    /// Oldest first; at most [`KEPT_DESTROYED`].
    destroyed: VecDeque<(u16, Scrollback)>,
}

impl Consoles {
    /// No buffers.
    pub const fn new() -> Self {
        Consoles {
            live: Vec::new(),
            destroyed: VecDeque::new(),
        }
    }

    /// Starts an empty buffer for a new domain (replacing any live one of
    /// the same id; a destroyed one of that id stays until it ages out, but
    /// [`Consoles::get`] prefers the live one).
    pub fn open(&mut self, domid: u16) {
        self.live.retain(|(d, _)| *d != domid);
        self.live.push((domid, Scrollback::new()));
    }

    /// Appends output of a live domain. Returns false if it has no buffer.
    pub fn push(&mut self, domid: u16, bytes: &[u8]) -> bool {
        match self.live_mut(domid) {
            Some(s) => {
                s.push(bytes);
                true
            }
            None => false,
        }
    }

    /// The buffer of a live domain, to append to.
    pub fn live_mut(&mut self, domid: u16) -> Option<&mut Scrollback> {
        self.live
            .iter_mut()
            .find(|(d, _)| *d == domid)
            .map(|(_, s)| s)
    }

    /// The domain is gone: its buffer moves to the kept ones, dropping the
    /// oldest kept buffer if there are already [`KEPT_DESTROYED`].
    pub fn close(&mut self, domid: u16) {
        let Some(i) = self.live.iter().position(|(d, _)| *d == domid) else {
            return;
        };
        let entry = self.live.remove(i);
        self.destroyed.retain(|(d, _)| *d != domid);
        if self.destroyed.len() == KEPT_DESTROYED {
            self.destroyed.pop_front();
        }
        self.destroyed.push_back(entry);
    }

    /// The buffer of a live domain.
    pub fn live(&self, domid: u16) -> Option<&Scrollback> {
        self.live.iter().find(|(d, _)| *d == domid).map(|(_, s)| s)
    }

    /// The buffer of `domid`: the live domain's, else a kept destroyed
    /// one's.
    pub fn get(&self, domid: u16) -> Option<&Scrollback> {
        self.live(domid).or_else(|| {
            self.destroyed
                .iter()
                .find(|(d, _)| *d == domid)
                .map(|(_, s)| s)
        })
    }

    /// Ids of the destroyed domains whose output is kept, oldest first.
    pub fn kept_destroyed(&self) -> impl Iterator<Item = u16> + '_ {
        self.destroyed.iter().map(|(d, _)| *d)
    }
}

/// How much [`drain_output`] reads at most in one call: a guest that keeps
/// writing cannot keep the back-end busy for longer than this.
pub const DRAIN_LIMIT: usize = 4 * xen_abi::console::XENCONS_OUT_SIZE;

/// Moves what the guest wrote to its console page's `out` ring into `into`.
/// Returns the number of bytes taken (the caller notifies the guest if
/// any). If the guest's indices are garbage, the ring is emptied
/// (`out_cons` set to `out_prod`, so a guest that recovers can go on) and
/// [`RingError::Overflow`] returned for the caller to report.
pub fn drain_output<M: RingMemory + ?Sized>(
    mem: &M,
    into: &mut Scrollback,
) -> Result<usize, RingError> {
    let mut chunk = [0u8; 512];
    let mut total = 0;
    while total < DRAIN_LIMIT {
        let n = match byte::read(mem, &CONSOLE_OUT, &mut chunk) {
            Ok(n) => n,
            Err(RingError::Overflow) => {
                byte::resync(mem, &CONSOLE_OUT)?;
                return Err(RingError::Overflow);
            }
            Err(e) => return Err(e),
        };
        if n == 0 {
            break;
        }
        into.push(&chunk[..n]);
        total += n;
    }
    Ok(total)
}

/// Puts typed bytes into the guest's `in` ring; returns how many fitted
/// (0 also when the guest's indices are garbage: input is best effort).
pub fn send_input<M: RingMemory + ?Sized>(mem: &M, bytes: &[u8]) -> usize {
    byte::write(mem, &CONSOLE_IN, bytes)
}

/// Turns bare `\n` into `\r\n` across calls (a `\r\n` the guest wrote
/// itself stays as it is, even when split between two calls).
#[derive(Debug, Clone, Copy, Default)]
pub struct Crlf {
    after_cr: bool,
    mid_line: bool,
}

impl Crlf {
    /// A translator at the start of a line.
    pub fn new() -> Self {
        Self::default()
    }

    /// `bytes` ready for the terminal.
    pub fn translate(&mut self, bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 16);
        for &b in bytes {
            if b == b'\n' && !self.after_cr {
                out.push(b'\r');
            }
            out.push(b);
            self.after_cr = b == b'\r';
        }
        if let Some(&last) = bytes.last() {
            self.mid_line = last != b'\n';
        }
        out
    }

    /// Whether the last byte passed on left the cursor inside a line (so
    /// a message of Dom0's should start with a new line).
    pub fn mid_line(&self) -> bool {
        self.mid_line
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xen_abi::console::XENCONS_OUT_SIZE;
    use xen_ring::SliceMemory;

    /// A console page as the guest fills it: `out` holds `text` written from
    /// index `start`.
    fn page_with_output(page: &mut [u8], start: u32, text: &[u8]) {
        let out = CONSOLE_OUT;
        for (i, &b) in text.iter().enumerate() {
            page[out.data + out.mask(start.wrapping_add(i as u32))] = b;
        }
        page[out.cons..out.cons + 4].copy_from_slice(&start.to_le_bytes());
        let prod = start.wrapping_add(text.len() as u32);
        page[out.prod..out.prod + 4].copy_from_slice(&prod.to_le_bytes());
    }

    #[test]
    fn drains_the_out_ring() {
        let mut page = vec![0u8; 4096];
        // Indices near the wrap of u32 and of the array.
        page_with_output(&mut page, u32::MAX - 2, b"hello\nworld");
        let mem = SliceMemory::new(&mut page);
        let mut s = Scrollback::new();
        assert_eq!(drain_output(&mem, &mut s), Ok(11));
        assert_eq!(s.contents(), b"hello\nworld");
        assert_eq!(byte::available(&mem, &CONSOLE_OUT), Ok(0));
        assert_eq!(drain_output(&mem, &mut s), Ok(0));
    }

    #[test]
    fn garbage_indices_empty_the_ring() {
        let mut page = vec![0u8; 4096];
        page_with_output(&mut page, 0, b"x");
        let out = CONSOLE_OUT;
        page[out.prod..out.prod + 4].copy_from_slice(&(XENCONS_OUT_SIZE as u32 + 1).to_le_bytes());
        let mem = SliceMemory::new(&mut page);
        let mut s = Scrollback::new();
        assert_eq!(drain_output(&mem, &mut s), Err(RingError::Overflow));
        assert!(s.contents().is_empty());
        // Resynchronised: the next drain finds an empty, healthy ring.
        assert_eq!(drain_output(&mem, &mut s), Ok(0));
    }

    #[test]
    fn input_goes_to_the_in_ring() {
        let mut page = vec![0u8; 4096];
        let mem = SliceMemory::new(&mut page);
        assert_eq!(send_input(&mem, b"ls\r"), 3);
        assert_eq!(byte::available(&mem, &CONSOLE_IN), Ok(3));
        let mut buf = [0u8; 8];
        assert_eq!(byte::read(&mem, &CONSOLE_IN, &mut buf), Ok(3));
        assert_eq!(&buf[..3], b"ls\r");
        // A full ring takes what fits.
        assert_eq!(send_input(&mem, &[b'a'; 2000]), xen_abi::console::XENCONS_IN_SIZE);
        assert_eq!(send_input(&mem, b"more"), 0);
    }

    #[test]
    fn newlines_for_the_terminal() {
        let mut c = Crlf::new();
        assert!(!c.mid_line());
        assert_eq!(c.translate(b"a\nb\r\nc\r"), b"a\r\nb\r\nc\r");
        assert!(c.mid_line());
        // The \r of a \r\n pair came in the previous call.
        assert_eq!(c.translate(b"\nd\n\n"), b"\nd\r\n\r\n");
        assert!(!c.mid_line());
        assert_eq!(c.translate(b""), b"");
        assert!(!c.mid_line());
    }

    #[test]
    fn keeps_the_last_bytes() {
        let mut s = Scrollback::new();
        assert_eq!((s.start(), s.end()), (0, 0));
        s.push(b"hello ");
        s.push(b"world");
        assert_eq!(s.contents(), b"hello world");
        assert_eq!((s.start(), s.end()), (0, 11));
        let big: Vec<u8> = (0..SCROLLBACK as u32 + 10).map(|i| i as u8).collect();
        s.push(&big);
        assert_eq!(s.contents().len(), SCROLLBACK);
        assert_eq!(s.contents()[..], big[10..]);
        assert_eq!(s.end(), 11 + big.len() as u64);
        assert_eq!(s.start(), s.end() - SCROLLBACK as u64);
        // Overflowing by a little drops just that much.
        s.push(b"xyz");
        assert_eq!(&s.contents()[SCROLLBACK - 3..], b"xyz");
        assert_eq!(s.contents()[0], big[13]);
    }

    #[test]
    fn followers_catch_up() {
        let mut s = Scrollback::new();
        s.push(b"abc");
        let c = s.since(0);
        assert_eq!((c.bytes.as_slice(), c.missed, c.next), (&b"abc"[..], 0, 3));
        assert!(s.since(3).bytes.is_empty());
        s.push(b"de");
        assert_eq!(s.since(3).bytes, b"de");
        assert_eq!(s.since(4).bytes, b"e");
        // A position past the end (a stale follower) resets to the end.
        let c = s.since(99);
        assert_eq!((c.bytes.len(), c.missed, c.next), (0, 0, 5));
        // A follower that fell behind learns how much it missed.
        s.push(&[b'x'; SCROLLBACK]);
        let c = s.since(2);
        assert_eq!(c.missed, 3);
        assert_eq!(c.bytes.len(), SCROLLBACK);
        assert_eq!(c.next, 5 + SCROLLBACK as u64);
    }

    #[test]
    fn destroyed_domains_are_kept_for_a_while() {
        let mut c = Consoles::new();
        assert!(!c.push(1, b"nobody"));
        c.open(1);
        assert!(c.push(1, b"one"));
        c.close(1);
        assert!(c.live(1).is_none());
        assert_eq!(c.get(1).unwrap().contents(), b"one");
        assert!(!c.push(1, b"late"));
        // A new live domain of the same id wins over the kept one.
        c.open(1);
        c.push(1, b"new");
        assert_eq!(c.get(1).unwrap().contents(), b"new");
        c.close(1);
        assert_eq!(c.kept_destroyed().collect::<Vec<_>>(), [1]);
        assert_eq!(c.get(1).unwrap().contents(), b"new");
        // Only the last KEPT_DESTROYED stay.
        for id in 2..2 + KEPT_DESTROYED as u16 {
            c.open(id);
            c.push(id, &id.to_le_bytes());
            c.close(id);
        }
        assert!(c.get(1).is_none());
        assert_eq!(c.kept_destroyed().count(), KEPT_DESTROYED);
        assert_eq!(c.get(2).unwrap().contents(), 2u16.to_le_bytes());
        // Closing an unknown domain changes nothing.
        c.close(999);
        assert_eq!(c.kept_destroyed().next(), Some(2));
    }
}
