//! Tests of the two ring ends together: unit cases for the rules of
//! `ring.h`, then property tests over random operation sequences.

use std::collections::VecDeque;
use std::vec::Vec;

use proptest::prelude::*;

use crate::byte::{self, XENSTORE_REQ};
use crate::{
    read_header, BackRing, FrontRing, RingError, RingMemory, SliceMemory, SringHeader, REQ_EVENT,
    REQ_PROD, RSP_EVENT, RSP_PROD,
};

/// `[id, !id, tag]`: the back end can check a request arrived whole.
type Req = [u32; 3];
/// `[id, !id]`.
type Rsp = [u32; 2];

type Front<'a> = FrontRing<SliceMemory<'a>, Req, Rsp>;
type Back<'a> = BackRing<SliceMemory<'a>, Req, Rsp>;

/// Bytes for a ring of `slots` 12-byte slots.
fn ring_bytes(slots: usize) -> Vec<u8> {
    vec![0u8; 64 + 12 * slots]
}

fn req(id: u32) -> Req {
    [id, !id, 0x5a5a]
}

fn rsp(id: u32) -> Rsp {
    [id, !id]
}

/// Both ends of a ring whose indices all start at `start` (the shared
/// header is written as `SHARED_RING_INIT` would, shifted to `start`).
fn pair_at(mem: SliceMemory<'_>, start: u32) -> (Front<'_>, Back<'_>) {
    let front = Front::init(mem).unwrap();
    for (offset, value) in [
        (REQ_PROD, start),
        (RSP_PROD, start),
        (REQ_EVENT, start.wrapping_add(1)),
        (RSP_EVENT, start.wrapping_add(1)),
    ] {
        mem.store_u32(offset, value).unwrap();
    }
    let front = Front::attach(*front.memory(), start).unwrap();
    (front, Back::attach(mem, start).unwrap())
}

#[test]
fn init_writes_header_and_back_attach_does_not() {
    let mut buf = vec![0xeeu8; 4096];
    let mem = SliceMemory::new(&mut buf);
    let back = Back::new(mem).unwrap();
    assert_eq!(mem.byte(0), Some(0xee), "back end attach must not write");
    assert_eq!(back.size(), 256);
    let front = Front::init(mem).unwrap();
    assert_eq!(front.size(), 256);
    assert_eq!(read_header(&mem), Ok(SringHeader::new()));
    assert_eq!(mem.byte(64), Some(0xee), "entries are left alone");
    assert_eq!(front.free_requests(), 256);

    let mut tiny = vec![0u8; 64 + 11];
    assert_eq!(
        Front::init(SliceMemory::new(&mut tiny)).err(),
        Some(RingError::BadGeometry)
    );
}

#[test]
fn push_and_take_in_order() {
    let mut buf = ring_bytes(4);
    let mem = SliceMemory::new(&mut buf);
    let (mut front, mut back) = pair_at(mem, 0);
    for id in 1..=3 {
        front.push_request(&req(id)).unwrap();
    }
    // Staged requests are invisible until pushed.
    assert_eq!(back.unconsumed_requests(), Ok(0));
    assert_eq!(front.push_requests_and_check_notify(), Ok(true));
    assert_eq!(back.unconsumed_requests(), Ok(3));
    for id in 1..=3 {
        assert_eq!(back.take_request(), Ok(Some(req(id))));
        back.push_response(&rsp(id)).unwrap();
    }
    assert_eq!(back.take_request(), Ok(None));
    assert_eq!(back.push_response(&rsp(9)), Err(RingError::Full));
    assert_eq!(back.push_responses_and_check_notify(), Ok(true));
    for id in 1..=3 {
        assert_eq!(front.take_response(), Ok(Some(rsp(id))));
    }
    assert_eq!(front.take_response(), Ok(None));
}

#[test]
fn full_ring() {
    let mut buf = ring_bytes(5); // 5 slots fit, 4 are used
    let mem = SliceMemory::new(&mut buf);
    let (mut front, mut back) = pair_at(mem, 0);
    assert_eq!(front.size(), 4);
    for id in 0..4 {
        front.push_request(&req(id)).unwrap();
    }
    assert!(front.is_full());
    assert_eq!(front.push_request(&req(4)), Err(RingError::Full));
    front.push_requests().unwrap();
    // Consuming requests does not free slots; only responses do.
    while back.take_request().unwrap().is_some() {}
    assert!(front.is_full());
    back.push_response(&rsp(0)).unwrap();
    back.push_responses().unwrap();
    assert!(front.is_full());
    assert_eq!(front.take_response(), Ok(Some(rsp(0))));
    assert_eq!(front.free_requests(), 1);
}

#[test]
fn wraparound_at_u32_max() {
    let mut buf = ring_bytes(4);
    let mem = SliceMemory::new(&mut buf);
    let start = u32::MAX - 5;
    let (mut front, mut back) = pair_at(mem, start);
    for id in 0..40 {
        front.push_request(&req(id)).unwrap();
        front.push_requests().unwrap();
        assert_eq!(back.take_request(), Ok(Some(req(id))));
        back.push_response(&rsp(id)).unwrap();
        back.push_responses().unwrap();
        assert_eq!(front.take_response(), Ok(Some(rsp(id))));
    }
    assert_eq!(front.rsp_cons(), start.wrapping_add(40));
    assert_eq!(back.req_cons(), start.wrapping_add(40));
    assert_eq!(mem.load_u32(REQ_PROD), Ok(34));
}

#[test]
fn notify_rule() {
    let mut buf = ring_bytes(8);
    let mem = SliceMemory::new(&mut buf);
    let (mut front, mut back) = pair_at(mem, 0);
    // SHARED_RING_INIT asks for a notification of the first request.
    front.push_request(&req(1)).unwrap();
    assert_eq!(front.push_requests_and_check_notify(), Ok(true));
    // The back end has not re-armed: further requests do not notify.
    front.push_request(&req(2)).unwrap();
    assert_eq!(front.push_requests_and_check_notify(), Ok(false));
    // Pushing nothing never notifies.
    assert_eq!(front.push_requests_and_check_notify(), Ok(false));
    // Back end drains, re-arms, finds nothing: the next push notifies.
    while back.take_request().unwrap().is_some() {}
    assert_eq!(back.final_check_for_requests(), Ok(false));
    assert_eq!(mem.load_u32(REQ_EVENT), Ok(3));
    front.push_request(&req(3)).unwrap();
    front.push_request(&req(4)).unwrap();
    assert_eq!(front.push_requests_and_check_notify(), Ok(true));
    // Same rule for responses.
    back.take_request().unwrap();
    back.push_response(&rsp(3)).unwrap();
    assert_eq!(back.push_responses_and_check_notify(), Ok(true));
    back.take_request().unwrap();
    back.push_response(&rsp(4)).unwrap();
    assert_eq!(back.push_responses_and_check_notify(), Ok(false));
    assert_eq!(front.take_response(), Ok(Some(rsp(3))));
    // Work still waiting: final check says so without re-arming.
    assert_eq!(front.final_check_for_responses(), Ok(true));
    assert_eq!(mem.load_u32(RSP_EVENT), Ok(1));
    assert_eq!(front.take_response(), Ok(Some(rsp(4))));
    assert_eq!(front.final_check_for_responses(), Ok(false));
    assert_eq!(mem.load_u32(RSP_EVENT), Ok(3));
}

#[test]
fn final_check_races() {
    let mut buf = ring_bytes(8);
    let mem = SliceMemory::new(&mut buf);
    let (mut front, mut back) = pair_at(mem, 0);
    front.push_request(&req(1)).unwrap();
    front.push_requests_and_check_notify().unwrap();
    back.take_request().unwrap();
    // req_event is stale (1).  Race 1: the front end publishes between the
    // back end's first look and its re-arming.  The push does not notify,
    // and the final check must find the request.
    assert_eq!(back.unconsumed_requests(), Ok(0));
    front.push_request(&req(2)).unwrap();
    assert_eq!(front.push_requests_and_check_notify(), Ok(false));
    assert_eq!(back.final_check_for_requests(), Ok(true));
    back.take_request().unwrap();

    // Race 2: the front end publishes after the re-arm, before the
    // recheck.  Both the recheck and the notify see it.
    let mut notified = None;
    let found = back.final_check_for_requests_with(|| {
        front.push_request(&req(3)).unwrap();
        notified = Some(front.push_requests_and_check_notify().unwrap());
    });
    assert_eq!((found, notified), (Ok(true), Some(true)));

    // Race 3: the publish comes after the final check: only the notify
    // sees it, and it does.
    back.take_request().unwrap();
    assert_eq!(back.final_check_for_requests(), Ok(false));
    front.push_request(&req(4)).unwrap();
    assert_eq!(front.push_requests_and_check_notify(), Ok(true));

    // And the response direction, race 2.
    assert_eq!(back.take_request().unwrap(), Some(req(4)));
    for id in 2..=4 {
        back.push_response(&rsp(id)).unwrap();
    }
    let found = front.final_check_for_responses_with(|| {
        notified = Some(back.push_responses_and_check_notify().unwrap());
    });
    assert_eq!((found, notified), (Ok(true), Some(true)));
}

#[test]
fn back_end_rejects_hostile_req_prod() {
    let mut buf = ring_bytes(4);
    let mem = SliceMemory::new(&mut buf);
    let (mut front, mut back) = pair_at(mem, 100);
    front.push_request(&req(1)).unwrap();
    front.push_request(&req(2)).unwrap();
    front.push_requests().unwrap();
    assert_eq!(back.take_request(), Ok(Some(req(1))));
    // One request awaits a response, so only 3 more can be outstanding.
    mem.store_u32(REQ_PROD, 101 + 3).unwrap();
    assert_eq!(back.unconsumed_requests(), Ok(3));
    mem.store_u32(REQ_PROD, 101 + 4).unwrap();
    assert_eq!(back.unconsumed_requests(), Err(RingError::Overflow));
    assert_eq!(back.take_request(), Err(RingError::Overflow));
    assert_eq!(back.final_check_for_requests(), Err(RingError::Overflow));
    // Moving backwards is as bad.
    mem.store_u32(REQ_PROD, 100).unwrap();
    assert_eq!(back.unconsumed_requests(), Err(RingError::Overflow));
    mem.store_u32(REQ_PROD, u32::MAX).unwrap();
    assert_eq!(back.take_request(), Err(RingError::Overflow));
    assert_eq!(back.req_cons(), 101, "nothing was consumed");
    // Resuming at the shared indices checks them too.
    mem.store_u32(RSP_PROD, 7).unwrap();
    mem.store_u32(REQ_PROD, 7 + 5).unwrap();
    assert_eq!(
        Back::attach_at_shared_rsp_prod(mem).err(),
        Some(RingError::Overflow)
    );
    mem.store_u32(REQ_PROD, 7 + 4).unwrap();
    let resumed = Back::attach_at_shared_rsp_prod(mem).unwrap();
    assert_eq!((resumed.req_cons(), resumed.rsp_prod_pvt()), (7, 7));
    assert_eq!(resumed.unconsumed_requests(), Ok(4));
}

#[test]
fn front_end_rejects_hostile_rsp_prod() {
    let mut buf = ring_bytes(4);
    let mem = SliceMemory::new(&mut buf);
    let (mut front, _) = pair_at(mem, 0);
    front.push_request(&req(1)).unwrap();
    front.push_requests().unwrap();
    // Staged but unpublished requests cannot have responses yet.
    front.push_request(&req(2)).unwrap();
    mem.store_u32(RSP_PROD, 2).unwrap();
    assert_eq!(front.take_response(), Err(RingError::Overflow));
    mem.store_u32(RSP_PROD, u32::MAX).unwrap();
    assert_eq!(front.final_check_for_responses(), Err(RingError::Overflow));
    mem.store_u32(RSP_PROD, 1).unwrap();
    assert_eq!(front.unconsumed_responses(), Ok(1));
    assert!(front.take_response().unwrap().is_some());
    assert_eq!(front.rsp_cons(), 1);
}

#[test]
fn fuzz_body_on_fixed_inputs() {
    crate::fuzz::fuzz_hostile_peer(&[]);
    crate::fuzz::fuzz_hostile_peer(&[0xff; 600]);
    crate::fuzz::fuzz_hostile_peer(&[0; 600]);
    let counting: Vec<u8> = (0..=255u8).cycle().take(4000).collect();
    crate::fuzz::fuzz_hostile_peer(&counting);
}

/// One step of the honest model.
#[derive(Clone, Debug)]
enum Op {
    /// Front end stages up to n requests.
    Stage(u8),
    /// Front end publishes, notifying if asked.
    PublishRequests,
    /// Back end takes up to n requests (if awake).
    TakeRequests(u8),
    /// Back end answers up to n taken requests.
    Respond(u8),
    /// Back end publishes, notifying if asked.
    PublishResponses,
    /// Front end takes up to n responses (if awake).
    TakeResponses(u8),
    /// Back end final-checks and sleeps if idle; with `Some(n)` the front
    /// end stages and publishes n requests inside the race window.
    BackSleep(Option<u8>),
    /// Front end final-checks and sleeps if idle; with `Some(n)` the back
    /// end answers and publishes up to n inside the race window.
    FrontSleep(Option<u8>),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..6).prop_map(Op::Stage),
        Just(Op::PublishRequests),
        (0u8..6).prop_map(Op::TakeRequests),
        (0u8..6).prop_map(Op::Respond),
        Just(Op::PublishResponses),
        (0u8..6).prop_map(Op::TakeResponses),
        proptest::option::of(0u8..4).prop_map(Op::BackSleep),
        proptest::option::of(0u8..4).prop_map(Op::FrontSleep),
    ]
}

/// The honest model: both ends, who sleeps, and the ids in flight.
struct Model<'a> {
    front: Front<'a>,
    back: Back<'a>,
    back_asleep: bool,
    front_asleep: bool,
    next_id: u32,
    /// Next id the back end must take.
    expect_req: u32,
    /// Ids the back end took and has not answered, in order.
    unanswered: VecDeque<u32>,
    /// Next id the front end must receive.
    expect_rsp: u32,
}

impl Model<'_> {
    fn stage(&mut self, n: u8) {
        for _ in 0..n {
            if self.front.is_full() {
                assert_eq!(
                    self.front.push_request(&req(self.next_id)),
                    Err(RingError::Full)
                );
                break;
            }
            self.front.push_request(&req(self.next_id)).unwrap();
            self.next_id += 1;
        }
    }

    fn publish_requests(&mut self) {
        if self.front.push_requests_and_check_notify().unwrap() {
            self.back_asleep = false;
        }
    }

    fn take_requests(&mut self, n: u8) {
        if self.back_asleep {
            return;
        }
        for _ in 0..n {
            match self.back.take_request().unwrap() {
                Some(r) => {
                    assert_eq!(r, req(self.expect_req), "FIFO, no loss, no duplicate");
                    self.unanswered.push_back(self.expect_req);
                    self.expect_req += 1;
                }
                None => break,
            }
        }
    }

    fn respond(&mut self, n: u8) {
        for _ in 0..n {
            let Some(id) = self.unanswered.pop_front() else {
                assert_eq!(self.back.push_response(&rsp(0)), Err(RingError::Full));
                break;
            };
            self.back.push_response(&rsp(id)).unwrap();
        }
    }

    fn publish_responses(&mut self) {
        if self.back.push_responses_and_check_notify().unwrap() {
            self.front_asleep = false;
        }
    }

    fn take_responses(&mut self, n: u8) {
        if self.front_asleep {
            return;
        }
        for _ in 0..n {
            match self.front.take_response().unwrap() {
                Some(r) => {
                    assert_eq!(r, rsp(self.expect_rsp), "FIFO, no loss, no duplicate");
                    self.expect_rsp += 1;
                }
                None => break,
            }
        }
    }

    fn back_sleep(&mut self, race: Option<u8>) {
        if self.back_asleep {
            return;
        }
        let Self {
            front,
            back,
            next_id,
            ..
        } = self;
        let mut pushed = 0;
        let mut notified = false;
        let work = back
            .final_check_for_requests_with(|| {
                if let Some(n) = race {
                    for _ in 0..n {
                        if front.push_request(&req(*next_id)).is_ok() {
                            *next_id += 1;
                            pushed += 1;
                        }
                    }
                    notified = front.push_requests_and_check_notify().unwrap();
                }
            })
            .unwrap();
        if pushed > 0 {
            assert!(
                work && notified,
                "a publish inside the window is seen by both"
            );
        }
        // The notification (if any) raced with the check; going to sleep
        // only when idle, the back end does not need it.
        self.back_asleep = !work;
    }

    fn front_sleep(&mut self, race: Option<u8>) {
        if self.front_asleep {
            return;
        }
        let before = self.unanswered.len();
        let Self {
            front,
            back,
            unanswered,
            ..
        } = self;
        let mut notified = false;
        let work = front
            .final_check_for_responses_with(|| {
                if let Some(n) = race {
                    for _ in 0..n {
                        let Some(id) = unanswered.pop_front() else {
                            break;
                        };
                        back.push_response(&rsp(id)).unwrap();
                    }
                    notified = back.push_responses_and_check_notify().unwrap();
                }
            })
            .unwrap();
        if self.unanswered.len() < before {
            assert!(
                work && notified,
                "a publish inside the window is seen by both"
            );
        }
        self.front_asleep = !work;
    }

    fn apply(&mut self, op: &Op) {
        match *op {
            Op::Stage(n) => self.stage(n),
            Op::PublishRequests => self.publish_requests(),
            Op::TakeRequests(n) => self.take_requests(n),
            Op::Respond(n) => self.respond(n),
            Op::PublishResponses => self.publish_responses(),
            Op::TakeResponses(n) => self.take_responses(n),
            Op::BackSleep(race) => self.back_sleep(race),
            Op::FrontSleep(race) => self.front_sleep(race),
        }
        // No lost wakeup: a sleeping consumer never has work waiting.
        if self.back_asleep {
            assert_eq!(
                self.back.unconsumed_requests(),
                Ok(0),
                "back end missed a wakeup"
            );
        }
        if self.front_asleep {
            assert_eq!(
                self.front.unconsumed_responses(),
                Ok(0),
                "front end missed a wakeup"
            );
        }
        let size = self.front.size();
        assert!(
            self.front
                .req_prod_pvt()
                .wrapping_sub(self.front.rsp_cons())
                <= size
        );
        assert!(self.back.requests_awaiting_response() <= size);
    }

    /// Lets everything in flight complete; bounded by the number staged.
    fn drain(&mut self) {
        self.back_asleep = false;
        self.front_asleep = false;
        self.front.push_requests().unwrap();
        let staged = self.next_id - self.expect_rsp;
        for _ in 0..=staged {
            self.take_requests(u8::MAX);
            self.respond(u8::MAX);
            self.publish_responses();
            self.take_responses(u8::MAX);
        }
        assert_eq!(self.expect_req, self.next_id, "every request arrived");
        assert_eq!(self.expect_rsp, self.next_id, "every response arrived");
    }
}

proptest! {
    // A few thousand fuzz inputs: what CI runs instead of cargo-fuzz.
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn hostile_peer_never_breaks_the_rings(
        data in proptest::collection::vec(any::<u8>(), 0..1500),
    ) {
        crate::fuzz::fuzz_hostile_peer(&data);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn honest_ends_keep_order_and_never_lose_a_wakeup(
        slots in 1usize..20,
        start in prop_oneof![Just(0u32), Just(u32::MAX - 3), any::<u32>()],
        ops in proptest::collection::vec(op(), 0..200),
    ) {
        let mut buf = ring_bytes(slots);
        let mem = SliceMemory::new(&mut buf);
        let (front, back) = pair_at(mem, start);
        let mut model = Model {
            front,
            back,
            back_asleep: false,
            front_asleep: false,
            next_id: 0,
            expect_req: 0,
            unanswered: VecDeque::new(),
            expect_rsp: 0,
        };
        for op in &ops {
            model.apply(op);
        }
        model.drain();
    }

    #[test]
    fn byte_ring_carries_a_stream(
        start in any::<u32>(),
        chunks in proptest::collection::vec((0usize..300, 0usize..300), 0..40),
    ) {
        let mut page = vec![0u8; 4096];
        let mem = SliceMemory::new(&mut page);
        mem.store_u32(XENSTORE_REQ.cons, start).unwrap();
        mem.store_u32(XENSTORE_REQ.prod, start).unwrap();
        let mut sent: Vec<u8> = Vec::new();
        let mut received: Vec<u8> = Vec::new();
        let mut counter = 0u8;
        for (w, r) in chunks {
            let data: Vec<u8> = (0..w).map(|_| { counter = counter.wrapping_add(1); counter }).collect();
            let space = byte::space(&mem, &XENSTORE_REQ).unwrap() as usize;
            let n = byte::write(&mem, &XENSTORE_REQ, &data);
            prop_assert_eq!(n, w.min(space));
            // Bytes that did not fit are dropped by this producer, and the
            // counter restarts from what was written.
            sent.extend_from_slice(&data[..n]);
            counter = sent.last().copied().unwrap_or(0);
            let mut buf = vec![0u8; r];
            let got = byte::read(&mem, &XENSTORE_REQ, &mut buf).unwrap();
            received.extend_from_slice(&buf[..got]);
        }
        let mut rest = vec![0u8; 1024];
        let got = byte::read(&mem, &XENSTORE_REQ, &mut rest).unwrap();
        received.extend_from_slice(&rest[..got]);
        prop_assert_eq!(sent, received);
    }
}
