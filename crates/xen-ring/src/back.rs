//! The back end of a request/response ring (C `NAME_back_ring_t` and the
//! `RING_*` macros it is used with): consumes requests, produces
//! responses.

use core::marker::PhantomData;
use core::sync::atomic::{fence, Ordering};

use xen_abi::ring::RingIdx;

use crate::layout::{Entry, RingLayout, REQ_EVENT, REQ_PROD, RSP_EVENT, RSP_PROD};
use crate::notify::{final_check, publish_and_check_notify};
use crate::{RingError, RingMemory};

/// The back end's private view of a shared ring.
///
/// The front end is treated as hostile: a `req_prod` that claims more
/// requests than the slots not still holding unanswered ones (Linux's
/// `RING_REQUEST_PROD_OVERFLOW`), or that moved backwards, is
/// [`RingError::Overflow`]; requests are copied out of the shared page
/// once (C `RING_COPY_REQUEST`), so the front end cannot change one after
/// it was checked.
#[derive(Debug)]
pub struct BackRing<M, Req, Rsp> {
    mem: M,
    layout: RingLayout,
    /// Next response slot to fill (C `rsp_prod_pvt`).
    rsp_prod_pvt: RingIdx,
    /// Next request to consume (C `req_cons`).
    req_cons: RingIdx,
    entries: PhantomData<fn(Req) -> Rsp>,
}

impl<M: RingMemory, Req: Entry, Rsp: Entry> BackRing<M, Req, Rsp> {
    /// A back end at index 0 (C `BACK_RING_INIT`).  The shared page is not
    /// written: the front end initialised it.
    pub fn new(mem: M) -> Result<Self, RingError> {
        Self::attach(mem, 0)
    }

    /// A back end whose private indices start at `start` (C
    /// `BACK_RING_ATTACH`); the shared page is not written.
    pub fn attach(mem: M, start: RingIdx) -> Result<Self, RingError> {
        let layout = RingLayout::new::<Req, Rsp>(mem.len())?;
        Ok(Self {
            mem,
            layout,
            rsp_prod_pvt: start,
            req_cons: start,
            entries: PhantomData,
        })
    }

    /// A back end resuming a ring that is already in use: starts at the
    /// shared `rsp_prod`, after checking that `req_prod` claims no more
    /// than a ring's worth of requests beyond it (as Linux's blkback does
    /// on connect).
    pub fn attach_at_shared_rsp_prod(mem: M) -> Result<Self, RingError> {
        let rsp_prod = mem.load_u32(RSP_PROD)?;
        let req_prod = mem.load_u32(REQ_PROD)?;
        let ring = Self::attach(mem, rsp_prod)?;
        if req_prod.wrapping_sub(rsp_prod) > ring.size() {
            return Err(RingError::Overflow);
        }
        Ok(ring)
    }

    /// Number of slots (C `RING_SIZE`).
    pub fn size(&self) -> u32 {
        self.layout.size
    }

    /// The ring's geometry.
    pub fn layout(&self) -> RingLayout {
        self.layout
    }

    /// The memory the ring lives in.
    pub fn memory(&self) -> &M {
        &self.mem
    }

    /// The private response producer (C `rsp_prod_pvt`).
    pub fn rsp_prod_pvt(&self) -> RingIdx {
        self.rsp_prod_pvt
    }

    /// The request consumer (C `req_cons`).
    pub fn req_cons(&self) -> RingIdx {
        self.req_cons
    }

    /// Requests taken and not yet answered.
    pub fn requests_awaiting_response(&self) -> u32 {
        self.req_cons.wrapping_sub(self.rsp_prod_pvt)
    }

    /// Requests published and not yet consumed (C
    /// `RING_HAS_UNCONSUMED_REQUESTS`).
    ///
    /// An honest front end never has more outstanding than the ring holds,
    /// so `req_prod` can be at most `size - awaiting` past `req_cons`; more
    /// (C `RING_REQUEST_PROD_OVERFLOW`), or a `req_prod` behind
    /// `req_cons`, is [`RingError::Overflow`].
    pub fn unconsumed_requests(&self) -> Result<u32, RingError> {
        let req_prod = self.mem.load_u32(REQ_PROD)?;
        let available = req_prod.wrapping_sub(self.req_cons);
        // `take_request` keeps `awaiting <= size`; saturate all the same.
        let room = self
            .size()
            .saturating_sub(self.requests_awaiting_response());
        if available > room {
            return Err(RingError::Overflow);
        }
        Ok(available)
    }

    /// Copies out the next request and consumes it, or `None` if none is
    /// waiting.
    pub fn take_request(&mut self) -> Result<Option<Req>, RingError> {
        if self.unconsumed_requests()? == 0 {
            return Ok(None);
        }
        // rmb(): read the entry only after seeing `req_prod` cover it.
        fence(Ordering::Acquire);
        let mut req = Req::new_zeroed();
        let offset = self.layout.slot_offset(self.req_cons);
        self.mem.read_bytes(offset, req.as_mut_bytes())?;
        self.req_cons = self.req_cons.wrapping_add(1);
        Ok(Some(req))
    }

    /// Copies `rsp` into the next response slot and advances the private
    /// producer; the front end sees it after the next push.  Only as many
    /// responses as requests taken fit ([`RingError::Full`] otherwise):
    /// a response slot is the slot of a request already consumed.
    pub fn push_response(&mut self, rsp: &Rsp) -> Result<(), RingError> {
        if self.requests_awaiting_response() == 0 {
            return Err(RingError::Full);
        }
        let offset = self.layout.slot_offset(self.rsp_prod_pvt);
        self.mem.write_bytes(offset, rsp.as_bytes())?;
        self.rsp_prod_pvt = self.rsp_prod_pvt.wrapping_add(1);
        Ok(())
    }

    /// Publishes the staged responses (C `RING_PUSH_RESPONSES`).
    pub fn push_responses(&mut self) -> Result<(), RingError> {
        // wmb(): the responses must be visible before the index.
        fence(Ordering::Release);
        self.mem.store_u32(RSP_PROD, self.rsp_prod_pvt)
    }

    /// Publishes the staged responses and says whether the front end asked
    /// to be notified of them (C `RING_PUSH_RESPONSES_AND_CHECK_NOTIFY`).
    pub fn push_responses_and_check_notify(&mut self) -> Result<bool, RingError> {
        publish_and_check_notify(&self.mem, RSP_PROD, RSP_EVENT, self.rsp_prod_pvt)
    }

    /// Whether requests are waiting; if none, first asks the front end to
    /// notify on the next one and checks again (C
    /// `RING_FINAL_CHECK_FOR_REQUESTS`).  `false` means it is safe to wait
    /// for the event channel.
    pub fn final_check_for_requests(&mut self) -> Result<bool, RingError> {
        self.final_check_for_requests_with(|| ())
    }

    /// [`final_check_for_requests`](Self::final_check_for_requests) with
    /// `between` run inside the race window (after the event index is
    /// written, before the recheck), for tests.
    pub(crate) fn final_check_for_requests_with(
        &mut self,
        between: impl FnOnce(),
    ) -> Result<bool, RingError> {
        final_check(
            &self.mem,
            REQ_EVENT,
            self.req_cons,
            || self.unconsumed_requests(),
            between,
        )
    }
}
