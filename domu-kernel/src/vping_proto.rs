//! The `vping` test device: the host-testable half of a split driver whose only job is to
//! exercise event channels, grants, `ring.h` rings and the XenBus handshake between two DomUs
//! (the guest glue is `vping.rs` and `vping/` in the kernel binary; the "vping test device"
//! section of `docs/abi.md` is the same protocol for readers of the docs).
//!
//! # Protocol
//!
//! Device class `vping`; the toolstack (Dom0's `vping-attach FE BE`) creates the front-end
//! directory `/local/domain/FE/device/vping/0` (`backend`, `backend-id`, `state` = 1) and the
//! back-end directory `/local/domain/BE/backend/vping/FE/0` (`frontend`, `frontend-id`,
//! `state` = 1).
//!
//! One one-page `ring.h` ring ([`RING_SLOTS`] slots of 16 bytes) carries [`Request`]s and
//! [`Response`]s. The front end owns the page and grants it to the back end.
//!
//! Handshake (states are XenBus states):
//! 1. Back end: Initialising → InitWait.
//! 2. Front end, on the back end's InitWait: allocate and grant the ring page (read-write),
//!    `alloc_unbound(backend)`, write [`KEY_RING_REF`] and [`KEY_EVENT_CHANNEL`] (decimal)
//!    into its device directory → Initialised.
//! 3. Back end, on the front end's Initialised: read both keys, map the grant,
//!    `bind_interdomain(frontend, port)` → Connected.
//! 4. Front end, on the back end's Connected → Connected.
//!
//! Close (the `xenbus` crate's rules): the end that starts it stops using the ring and goes
//! Closing; an end that sees the other Closing stops too and goes Closing; an end in Closing
//! that sees the other Closing or Closed goes Closed. Stopping means, for the back end:
//! unmap the data page and the ring, close its port; for the front end: close its port and
//! revoke the ring grant, which the hypervisor refuses while the back end still maps it, so
//! the front end revokes again once both ends are Closed.
//!
//! Operations ([`Op`]; `id` is echoed in the response):
//! - `PING` (0): `arg` is echoed back, status 0.
//! - `MAP_DATA` (1): `arg` is a grant reference of a front-end data page. The back end maps
//!   it read-write, fills it with [`pattern_word`]s of that reference and answers 0, or the
//!   `GNTST_*` status of the failed map. It holds one data mapping at a time: a second
//!   `MAP_DATA` gets `GNTST_no_space`, a reference above `u32::MAX` `GNTST_bad_gntref`.
//! - `UNMAP_DATA` (2): the back end unmaps the data page: 0 or the unmap's `GNTST_*` status;
//!   `GNTST_bad_handle` when nothing is mapped.
//! - `YIELD_BENCH` (3): `arg` = n; the back end calls `SCHEDOP_yield` n times, then answers 0
//!   (`-EINVAL` for n above [`MAX_YIELD_BENCH`]). The front end yields n times meanwhile, so
//!   each of its yields is two hypercalls and two context switches: the baseline of the
//!   event-channel ping-pong.
//! - Any other op: `-ENOSYS`.
//!
//! A back end that finds garbage ring indices (the front end claims more unconsumed requests
//! than the ring holds), or cannot connect (bad `ring-ref` or `event-channel`), stops serving
//! that device at once: it disconnects and goes Closing, then Closed without waiting for the
//! front end. It does the same when a connected front end's `state` vanishes (its domain is
//! gone) or the toolstack removes the device.

use xen_abi::errno::{EINVAL, ENOSYS};
use xen_abi::grant_table::{GrantRef, GNTST_BAD_GNTREF, GNTST_BAD_HANDLE, GNTST_NO_SPACE};
use xen_abi::ring::ring_size;
use xen_ring::{BackRing, RingError, RingMemory};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// The XenBus device class (`device/vping/N`, `backend/vping/FE/N`).
pub const DEVICE_CLASS: &str = "vping";
/// Front-end key: grant reference of the ring page (decimal).
pub const KEY_RING_REF: &str = "ring-ref";
/// Front-end key: the front end's unbound event-channel port (decimal).
pub const KEY_EVENT_CHANNEL: &str = "event-channel";

/// A request on the ring (16 bytes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct Request {
    /// Chosen by the front end, echoed in the response.
    pub id: u32,
    /// An [`Op`] number.
    pub op: u32,
    /// The operation's argument.
    pub arg: u64,
}

/// A response on the ring (16 bytes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct Response {
    /// The request's `id`.
    pub id: u32,
    /// 0, a `GNTST_*` status or a negative errno (see the module documentation).
    pub status: i32,
    /// The operation's result (`PING`: the request's `arg`; otherwise 0).
    pub arg: u64,
}

const _: () = assert!(core::mem::size_of::<Request>() == 16 && core::mem::size_of::<Response>() == 16);

/// Slots of the one-page ring: (4096 - 64) / 16 = 252, rounded down to a power of two.
pub const RING_SLOTS: usize = ring_size(xen_abi::PAGE_SIZE, 16);

/// The largest `YIELD_BENCH` count the back end accepts (bounds the time one request takes).
pub const MAX_YIELD_BENCH: u64 = 1_000_000;

/// Operation numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Op {
    Ping = 0,
    MapData = 1,
    UnmapData = 2,
    YieldBench = 3,
}

impl Op {
    pub fn from_u32(op: u32) -> Option<Op> {
        [Op::Ping, Op::MapData, Op::UnmapData, Op::YieldBench].into_iter().find(|o| *o as u32 == op)
    }

    /// A request for this operation.
    pub fn request(self, id: u32, arg: u64) -> Request {
        Request { id, op: self as u32, arg }
    }
}

/// What the back end does for one request, decided from the request alone (the back end's
/// state is whether it holds a data mapping).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackAction {
    /// Answer at once with this status and arg.
    Reply { status: i32, arg: u64 },
    /// Map grant `gref` of the front end read-write, fill it with the pattern, answer with
    /// the map status.
    MapData { gref: GrantRef },
    /// Unmap the data page, answer 0.
    UnmapData,
    /// Yield `n` times, then answer 0.
    Yield { n: u64 },
}

/// The back end's decision for `req`, given whether it currently holds a data mapping.
pub fn back_action(req: &Request, data_mapped: bool) -> BackAction {
    let reply = |status: i32| BackAction::Reply { status, arg: 0 };
    match Op::from_u32(req.op) {
        Some(Op::Ping) => BackAction::Reply { status: 0, arg: req.arg },
        Some(Op::MapData) if data_mapped => reply(GNTST_NO_SPACE.into()),
        Some(Op::MapData) => match GrantRef::try_from(req.arg) {
            Ok(gref) => BackAction::MapData { gref },
            Err(_) => reply(GNTST_BAD_GNTREF.into()),
        },
        Some(Op::UnmapData) if data_mapped => BackAction::UnmapData,
        Some(Op::UnmapData) => reply(GNTST_BAD_HANDLE.into()),
        Some(Op::YieldBench) if req.arg <= MAX_YIELD_BENCH => BackAction::Yield { n: req.arg },
        Some(Op::YieldBench) => reply(-EINVAL as i32),
        None => reply(-ENOSYS as i32),
    }
}

/// Word `index` (0..512) of the pattern the back end writes into data page `gref`: differs
/// between references and between words, and is never 0, so neither a zero page nor another
/// grant's page passes for it.
pub const fn pattern_word(gref: GrantRef, index: usize) -> u64 {
    const TAG: u64 = 0x7670_696e_6700_0000; // "vping" in the high bytes
    TAG ^ ((gref as u64) << 16) ^ (index as u64 & 0xffff) ^ 1 << 63
}

/// Words in a page.
pub const PAGE_WORDS: usize = xen_abi::PAGE_SIZE / 8;

/// The index of the first of `words` that is not the pattern of `gref`, if any.
pub fn pattern_mismatch(gref: GrantRef, words: impl IntoIterator<Item = u64>) -> Option<usize> {
    words.into_iter().enumerate().find(|&(i, w)| w != pattern_word(gref, i)).map(|(i, _)| i)
}

/// The `req_prod` the hostile front end writes: half the index space ahead of what the back
/// end has consumed (`rsp_prod` equals its `req_cons` when no request is outstanding), which
/// no ring of [`RING_SLOTS`] slots can hold.
pub const fn hostile_req_prod(rsp_prod: u32) -> u32 {
    rsp_prod.wrapping_add(0x8000_0000)
}

/// The next value of a xorshift64 sequence (`state` non-zero): the hostile front end's
/// garbage ring entries.
pub const fn xorshift64(mut state: u64) -> u64 {
    state ^= state << 13;
    state ^= state >> 7;
    state ^ state << 17
}

/// Event and request counters of one end, and when the back end reports them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub requests: u64,
    pub events_received: u64,
    pub notifications_sent: u64,
}

/// The back end prints its counters every this many requests (and on close).
pub const REPORT_EVERY: u64 = 10_000;

impl Counters {
    /// Whether the request just counted completes a reporting period.
    pub fn report_due(&self) -> bool {
        self.requests > 0 && self.requests % REPORT_EVERY == 0
    }
}

/// Parse a decimal XenStore value (`ring-ref`, `event-channel`): digits only, surrounding
/// whitespace and trailing NULs tolerated.
pub fn parse_decimal<T: core::str::FromStr>(value: &str) -> Option<T> {
    let s = value.trim_end_matches('\0').trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// The grant and scheduler operations a back end needs to answer requests (the guest's
/// hypercalls; a fake in tests).
pub trait BackendOps {
    /// Whether a data page is mapped now.
    fn data_mapped(&self) -> bool;
    /// Map the front end's grant `gref` read-write and fill it with the pattern of `gref`:
    /// 0, or the `GNTST_*` status of the failed map.
    fn map_data(&mut self, gref: GrantRef) -> i32;
    /// Unmap the data page: 0, or the `GNTST_*` status of the failed unmap.
    fn unmap_data(&mut self) -> i32;
    /// `SCHEDOP_yield` `n` times.
    fn yield_cpu(&mut self, n: u64);
}

/// The back end's answer to `req`, carrying out what it asks.
pub fn respond(req: &Request, ops: &mut impl BackendOps) -> Response {
    let (status, arg) = match back_action(req, ops.data_mapped()) {
        BackAction::Reply { status, arg } => (status, arg),
        BackAction::MapData { gref } => (ops.map_data(gref), 0),
        BackAction::UnmapData => (ops.unmap_data(), 0),
        BackAction::Yield { n } => {
            ops.yield_cpu(n);
            (0, 0)
        }
    };
    Response { id: req.id, status, arg }
}

/// Answer every request waiting on `ring`, until a final check (which re-arms `req_event`)
/// finds none. Counts the requests in `counters` and calls `report` each time a reporting
/// period completes. Returns whether the front end asked to be notified. A front end whose
/// indices make no sense gives [`RingError::Overflow`]; what was answered before stays
/// answered.
pub fn serve<M: RingMemory>(
    ring: &mut BackRing<M, Request, Response>,
    ops: &mut impl BackendOps,
    counters: &mut Counters,
    mut report: impl FnMut(&Counters),
) -> Result<bool, RingError> {
    let mut notify = false;
    loop {
        while let Some(req) = ring.take_request()? {
            ring.push_response(&respond(&req, ops))?;
            // Publish each answer at once: a front end doing strict round trips waits for it.
            notify |= ring.push_responses_and_check_notify()?;
            counters.requests += 1;
            if counters.report_due() {
                report(counters);
            }
        }
        if !ring.final_check_for_requests()? {
            return Ok(notify);
        }
    }
}

/// `total_ns / n`, 0 for no iterations.
pub const fn per_iteration(total_ns: u64, n: u64) -> u64 {
    if n == 0 {
        0
    } else {
        total_ns / n
    }
}

/// MB/s (10^6 bytes per second) for `bytes` moved in `ns` (0 for no time; saturating).
pub const fn megabytes_per_second(bytes: u64, ns: u64) -> u64 {
    if ns == 0 {
        return 0;
    }
    let mbps = bytes as u128 * 1000 / ns as u128;
    if mbps > u64::MAX as u128 {
        u64::MAX
    } else {
        mbps as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec;
    use std::vec::Vec;
    use xen_abi::ring::SringHeader;
    use xen_ring::{FrontRing, SliceMemory};

    #[test]
    fn layouts() {
        assert_eq!(core::mem::offset_of!(Request, op), 4);
        assert_eq!(core::mem::offset_of!(Request, arg), 8);
        assert_eq!(core::mem::offset_of!(Response, status), 4);
        assert_eq!(core::mem::offset_of!(Response, arg), 8);
        assert_eq!(RING_SLOTS, 128);
        let r = Op::MapData.request(7, 0x1234);
        assert_eq!(r.as_bytes()[..8], [7, 0, 0, 0, 1, 0, 0, 0]);
        let rsp = Response { id: 1, status: -3, arg: 0 };
        assert_eq!(rsp.as_bytes()[4..8], (-3i32).to_le_bytes());
    }

    #[test]
    fn ops() {
        assert_eq!(Op::from_u32(0), Some(Op::Ping));
        assert_eq!(Op::from_u32(3), Some(Op::YieldBench));
        assert_eq!(Op::from_u32(4), None);
        assert_eq!(Op::from_u32(u32::MAX), None);
    }

    #[test]
    fn back_actions() {
        let ping = Op::Ping.request(1, 0xfeed);
        assert_eq!(back_action(&ping, false), BackAction::Reply { status: 0, arg: 0xfeed });
        assert_eq!(back_action(&ping, true), BackAction::Reply { status: 0, arg: 0xfeed });
        assert_eq!(back_action(&Op::MapData.request(1, 9), false), BackAction::MapData { gref: 9 });
        assert_eq!(back_action(&Op::MapData.request(1, 9), true), BackAction::Reply { status: GNTST_NO_SPACE.into(), arg: 0 });
        assert_eq!(
            back_action(&Op::MapData.request(1, 1 << 32), false),
            BackAction::Reply { status: GNTST_BAD_GNTREF.into(), arg: 0 }
        );
        assert_eq!(back_action(&Op::UnmapData.request(1, 0), true), BackAction::UnmapData);
        assert_eq!(back_action(&Op::UnmapData.request(1, 0), false), BackAction::Reply { status: GNTST_BAD_HANDLE.into(), arg: 0 });
        assert_eq!(back_action(&Op::YieldBench.request(1, 1000), false), BackAction::Yield { n: 1000 });
        assert_eq!(
            back_action(&Op::YieldBench.request(1, MAX_YIELD_BENCH + 1), false),
            BackAction::Reply { status: -EINVAL as i32, arg: 0 }
        );
        let bad = Request { id: 3, op: 99, arg: 0 };
        assert_eq!(back_action(&bad, false), BackAction::Reply { status: -ENOSYS as i32, arg: 0 });
    }

    #[test]
    fn pattern() {
        let page: [u64; PAGE_WORDS] = core::array::from_fn(|i| pattern_word(42, i));
        assert_eq!(pattern_mismatch(42, page), None);
        assert_eq!(pattern_mismatch(43, page), Some(0));
        assert_eq!(pattern_mismatch(42, [0u64; PAGE_WORDS]), Some(0));
        let mut torn = page;
        torn[300] = 0;
        assert_eq!(pattern_mismatch(42, torn), Some(300));
        // Distinct words within a page, never zero.
        for i in 0..PAGE_WORDS {
            assert_ne!(pattern_word(42, i), 0);
            assert_ne!(pattern_word(42, i), pattern_word(42, (i + 1) % PAGE_WORDS));
        }
        assert_ne!(pattern_word(0, 0), pattern_word(1, 0));
        assert_ne!(pattern_word(u32::MAX, 0), 0);
    }

    #[test]
    fn hostile_index_overflows_any_ring() {
        for rsp_prod in [0u32, 5, 0x7fff_ffff, u32::MAX] {
            let prod = hostile_req_prod(rsp_prod);
            assert!(prod.wrapping_sub(rsp_prod) as usize > RING_SLOTS);
        }
    }

    #[test]
    fn garbage_sequence() {
        let mut x = 1u64;
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..1000 {
            x = xorshift64(x);
            assert_ne!(x, 0);
            assert!(seen.insert(x));
        }
    }

    #[test]
    fn counters() {
        let mut c = Counters::default();
        assert!(!c.report_due());
        c.requests = REPORT_EVERY - 1;
        assert!(!c.report_due());
        c.requests = REPORT_EVERY;
        assert!(c.report_due());
        c.requests = 2 * REPORT_EVERY;
        assert!(c.report_due());
    }

    #[test]
    fn decimal_values() {
        assert_eq!(parse_decimal::<u32>("17"), Some(17));
        assert_eq!(parse_decimal::<u32>("17\0"), Some(17));
        assert_eq!(parse_decimal::<u32>(" 8 "), Some(8));
        assert_eq!(parse_decimal::<u32>("-1"), None);
        assert_eq!(parse_decimal::<u32>("+1"), None);
        assert_eq!(parse_decimal::<u32>(""), None);
        assert_eq!(parse_decimal::<u32>("0x10"), None);
        assert_eq!(parse_decimal::<u32>("99999999999"), None);
        assert_eq!(parse_decimal::<u16>("70000"), None);
        assert_eq!(parse_decimal::<u32>("\u{fffd}1"), None);
    }

    /// A back end's grant and yield operations, over a plain buffer for the data page.
    #[derive(Default)]
    struct FakeOps {
        mapped: Option<GrantRef>,
        page: Vec<u64>,
        yields: u64,
    }

    /// References the fake hypervisor accepts.
    const GOOD_GREF: GrantRef = 12;

    impl BackendOps for FakeOps {
        fn data_mapped(&self) -> bool {
            self.mapped.is_some()
        }
        fn map_data(&mut self, gref: GrantRef) -> i32 {
            if gref != GOOD_GREF {
                return xen_abi::grant_table::GNTST_GENERAL_ERROR.into();
            }
            self.mapped = Some(gref);
            self.page = (0..PAGE_WORDS).map(|i| pattern_word(gref, i)).collect();
            0
        }
        fn unmap_data(&mut self) -> i32 {
            self.mapped = None;
            0
        }
        fn yield_cpu(&mut self, n: u64) {
            self.yields += n;
        }
    }

    fn round_trip(
        front: &mut FrontRing<SliceMemory<'_>, Request, Response>,
        back: &mut BackRing<SliceMemory<'_>, Request, Response>,
        ops: &mut FakeOps,
        counters: &mut Counters,
        req: Request,
    ) -> (Response, bool) {
        front.push_request(&req).unwrap();
        let kick = front.push_requests_and_check_notify().unwrap();
        assert!(kick, "the back end re-armed req_event, so every request is notified");
        let notify = serve(back, ops, counters, |_| {}).unwrap();
        let rsp = front.take_response().unwrap().expect("answered");
        assert!(!front.final_check_for_responses().unwrap());
        (rsp, notify)
    }

    #[test]
    fn serving_over_a_shared_ring() {
        let mut page = vec![0u8; xen_abi::PAGE_SIZE];
        let cells = core::cell::Cell::from_mut(&mut page[..]).as_slice_of_cells();
        let mem = SliceMemory::from_cells(cells);
        let mut front = FrontRing::<_, Request, Response>::init(mem).unwrap();
        let mut back = BackRing::<_, Request, Response>::new(mem).unwrap();
        assert_eq!(back.size() as usize, RING_SLOTS);
        let (mut ops, mut counters) = (FakeOps::default(), Counters::default());

        for i in 0..3 * RING_SLOTS as u32 {
            let (rsp, notify) = round_trip(&mut front, &mut back, &mut ops, &mut counters, Op::Ping.request(i, u64::from(i) * 3));
            assert_eq!(rsp, Response { id: i, status: 0, arg: u64::from(i) * 3 });
            assert!(notify, "the front end re-armed rsp_event, so every answer is notified");
        }
        let (rsp, _) = round_trip(&mut front, &mut back, &mut ops, &mut counters, Op::MapData.request(1, GOOD_GREF.into()));
        assert_eq!(rsp.status, 0);
        assert_eq!(pattern_mismatch(GOOD_GREF, ops.page.iter().copied()), None);
        let (rsp, _) = round_trip(&mut front, &mut back, &mut ops, &mut counters, Op::MapData.request(2, GOOD_GREF.into()));
        assert_eq!(rsp.status, i32::from(GNTST_NO_SPACE));
        let (rsp, _) = round_trip(&mut front, &mut back, &mut ops, &mut counters, Op::UnmapData.request(3, 0));
        assert_eq!((rsp.id, rsp.status), (3, 0));
        let (rsp, _) = round_trip(&mut front, &mut back, &mut ops, &mut counters, Op::MapData.request(4, 99));
        assert_eq!(rsp.status, i32::from(xen_abi::grant_table::GNTST_GENERAL_ERROR));
        let (rsp, _) = round_trip(&mut front, &mut back, &mut ops, &mut counters, Op::YieldBench.request(5, 40));
        assert_eq!((rsp.status, ops.yields), (0, 40));
        assert_eq!(counters.requests, 3 * RING_SLOTS as u64 + 5);
    }

    #[test]
    fn reports_every_period() {
        let mut page = vec![0u8; xen_abi::PAGE_SIZE];
        let cells = core::cell::Cell::from_mut(&mut page[..]).as_slice_of_cells();
        let mem = SliceMemory::from_cells(cells);
        let mut front = FrontRing::<_, Request, Response>::init(mem).unwrap();
        let mut back = BackRing::<_, Request, Response>::new(mem).unwrap();
        let (mut ops, mut counters) = (FakeOps::default(), Counters { requests: REPORT_EVERY - 2, ..Default::default() });
        for i in 0..4 {
            front.push_request(&Op::Ping.request(i, 0)).unwrap();
        }
        front.push_requests().unwrap();
        let mut reports = Vec::new();
        serve(&mut back, &mut ops, &mut counters, |c| reports.push(c.requests)).unwrap();
        assert_eq!(reports, [REPORT_EVERY]);
        assert_eq!(counters.requests, REPORT_EVERY + 2);
    }

    #[test]
    fn garbage_indices_stop_the_back_end() {
        let mut page = vec![0u8; xen_abi::PAGE_SIZE];
        let cells = core::cell::Cell::from_mut(&mut page[..]).as_slice_of_cells();
        let mem = SliceMemory::from_cells(cells);
        let mut front = FrontRing::<_, Request, Response>::init(mem).unwrap();
        let mut back = BackRing::<_, Request, Response>::new(mem).unwrap();
        let (mut ops, mut counters) = (FakeOps::default(), Counters::default());
        round_trip(&mut front, &mut back, &mut ops, &mut counters, Op::Ping.request(0, 0));
        // What the hostile front end does: garbage in the slots, then an impossible req_prod.
        for slot in 0..RING_SLOTS {
            mem.write_bytes(64 + slot * 16, &[0xa5; 16]).unwrap();
        }
        let rsp_prod = mem.load_u32(core::mem::offset_of!(SringHeader, rsp_prod)).unwrap();
        mem.store_u32(core::mem::offset_of!(SringHeader, req_prod), hostile_req_prod(rsp_prod)).unwrap();
        assert_eq!(serve(&mut back, &mut ops, &mut counters, |_| {}), Err(RingError::Overflow));
        assert_eq!(counters.requests, 1, "nothing of the garbage was served");
        assert_eq!(ops.yields, 0);
    }

    #[test]
    fn arithmetic() {
        assert_eq!(per_iteration(1000, 0), 0);
        assert_eq!(per_iteration(1000, 3), 333);
        // 4096 bytes in 1 us = 4096 MB/s.
        assert_eq!(megabytes_per_second(4096, 1000), 4096);
        assert_eq!(megabytes_per_second(1, 0), 0);
        assert_eq!(megabytes_per_second(u64::MAX, 1), u64::MAX);
    }
}
