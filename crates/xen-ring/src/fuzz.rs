//! The body of the `hostile_peer` fuzz target (see the crate docs), kept
//! here so host tests run it too.
//!
//! The input's bytes pick a ring size, then a sequence of operations on a
//! front end and a back end sharing one ring, interleaved with a peer
//! scribbling arbitrary values over the shared indices and entries, and
//! operations on the XenStore/console byte rings of a second page under
//! the same abuse.  Whatever the input, the rings must not panic, must
//! report only [`RingError::Overflow`] or [`RingError::Full`], must keep
//! their private indices within a ring's worth, and every loop here is
//! bounded by the ring size.  A broken invariant panics, which is what the
//! fuzzer looks for.

use crate::byte::{self, ByteRing, CONSOLE_IN, CONSOLE_OUT, XENSTORE_REQ, XENSTORE_RSP};
use crate::{BackRing, FrontRing, RingError, RingMemory, SliceMemory};

/// Request entries: 12 bytes, like netif's TX requests.
type Req = [u32; 3];
/// Response entries: 8 bytes (the slot is the 12-byte union).
type Rsp = [u32; 2];

const PAGE: usize = 4096;

/// Reads the fuzzer's bytes front to back.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }

    /// A little-endian `u32` (missing bytes read as 0).
    fn u32(&mut self) -> u32 {
        let mut v = [0u8; 4];
        for b in &mut v {
            *b = self.byte().unwrap_or(0);
        }
        u32::from_le_bytes(v)
    }

    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte().unwrap_or(0), self.byte().unwrap_or(0)])
    }
}

/// Only a peer's doing (or a full ring) may stop a ring operation.
fn allowed<T>(r: Result<T, RingError>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(RingError::Overflow | RingError::Full) => None,
        Err(e) => panic!("ring reported {e:?} on memory it accepted"),
    }
}

/// Runs one fuzz input; panics only if a ring invariant breaks.
pub fn fuzz_hostile_peer(data: &[u8]) {
    let mut input = Input(data);
    // Ring memory of one slot's worth up to a page.
    let span = PAGE - 64 - 12 + 1;
    let len = 64 + 12 + usize::from(input.u16()) % span;
    let mut ring_page = [0u8; PAGE];
    let mut byte_page = [0u8; PAGE];
    let mem = SliceMemory::new(&mut ring_page[..len]);
    let bytes_mem = SliceMemory::new(&mut byte_page);

    let mut front = FrontRing::<_, Req, Rsp>::init(mem).expect("ring memory holds a slot");
    let mut back = BackRing::<_, Req, Rsp>::new(mem).expect("same geometry");
    let size = front.size();
    assert_eq!(back.size(), size);
    let mut seq = 0u32;

    while let Some(op) = input.byte() {
        match op % 16 {
            0 => {
                seq = seq.wrapping_add(1);
                let full = front.is_full();
                match front.push_request(&[seq, !seq, op.into()]) {
                    Ok(()) => assert!(!full),
                    Err(e) => assert!(full && e == RingError::Full),
                }
            }
            1 => {
                allowed(front.push_requests());
            }
            2 => {
                allowed(front.push_requests_and_check_notify());
            }
            3 => {
                allowed(front.take_response());
            }
            4 => {
                allowed(front.final_check_for_responses());
            }
            5 => {
                allowed(back.take_request());
            }
            6 => {
                let awaiting = back.requests_awaiting_response();
                match back.push_response(&[seq, 0]) {
                    Ok(()) => assert!(awaiting > 0),
                    Err(e) => assert!(awaiting == 0 && e == RingError::Full),
                }
            }
            7 => {
                allowed(back.push_responses());
            }
            8 => {
                allowed(back.push_responses_and_check_notify());
            }
            9 => {
                allowed(back.final_check_for_requests());
            }
            10 => {
                // Drain: a ring never yields more than `size` entries
                // without the other side producing more.
                let mut taken = 0;
                while taken <= size {
                    match allowed(front.take_response()) {
                        Some(Some(_)) => taken += 1,
                        _ => break,
                    }
                }
                assert!(taken <= size, "front took more than a ring of responses");
                taken = 0;
                while taken <= size {
                    match allowed(back.take_request()) {
                        Some(Some(_)) => taken += 1,
                        _ => break,
                    }
                }
                assert!(taken <= size, "back took more than a ring of requests");
            }
            11 => {
                // The peer writes an index: one of the four header words.
                let offset = usize::from(input.byte().unwrap_or(0) % 4) * 4;
                mem.store_u32(offset, input.u32())
                    .expect("header is in bounds");
            }
            12 => {
                // The peer writes garbage anywhere in the ring memory.
                let offset = usize::from(input.u16()) % len;
                let n = usize::from(input.byte().unwrap_or(0) % 32).min(len - offset);
                let mut garbage = [0u8; 32];
                for b in &mut garbage[..n] {
                    *b = input.byte().unwrap_or(0xff);
                }
                mem.write_bytes(offset, &garbage[..n]).expect("in bounds");
            }
            13 => {
                // A back end (re)attaching to a ring in whatever state the
                // peer left it.
                if let Some(b) = allowed(BackRing::attach_at_shared_rsp_prod(mem)) {
                    back = b;
                }
            }
            14 => {
                // Another front end picking up at an arbitrary index.
                front = FrontRing::attach(mem, input.u32()).expect("same geometry");
            }
            _ => byte_ring_op(&mut input, &bytes_mem),
        }
        check_invariants(&front, &back);
    }
}

/// Private indices never drift more than a ring apart.
fn check_invariants<M: RingMemory>(front: &FrontRing<M, Req, Rsp>, back: &BackRing<M, Req, Rsp>) {
    let size = front.size();
    assert!(front.req_prod_pvt().wrapping_sub(front.rsp_cons()) <= size);
    assert!(front.free_requests() <= size);
    assert!(back.requests_awaiting_response() <= size);
}

/// One operation on the XenStore/console byte rings, or a peer write to
/// one of their indices.
fn byte_ring_op(input: &mut Input<'_>, mem: &SliceMemory<'_>) {
    const RINGS: [ByteRing; 4] = [XENSTORE_REQ, XENSTORE_RSP, CONSOLE_IN, CONSOLE_OUT];
    let sel = input.byte().unwrap_or(0);
    let ring = &RINGS[usize::from(sel % 4)];
    let mut buf = [0u8; 64];
    let want = usize::from(input.byte().unwrap_or(0) % 65);
    match (sel / 4) % 6 {
        0 => {
            let n = byte::write(mem, ring, &buf[..want]);
            assert!(n <= want);
        }
        1 => {
            if let Some(n) = allowed(byte::read(mem, ring, &mut buf[..want])) {
                assert!(n <= want);
            }
        }
        2 => {
            if let Some(n) = allowed(byte::available(mem, ring)) {
                assert!(n <= ring.size);
            }
        }
        3 => {
            if let Some(n) = allowed(byte::space(mem, ring)) {
                assert!(n <= ring.size);
            }
        }
        4 => {
            byte::resync(mem, ring).expect("indices are in bounds");
            assert_eq!(byte::available(mem, ring), Ok(0));
        }
        _ => {
            let offset = if sel & 0x80 != 0 {
                ring.cons
            } else {
                ring.prod
            };
            mem.store_u32(offset, input.u32())
                .expect("indices are in bounds");
        }
    }
}
