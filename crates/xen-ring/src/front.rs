//! The front end of a request/response ring (C `NAME_front_ring_t` and the
//! `RING_*` macros it is used with): produces requests, consumes responses.

use core::marker::PhantomData;
use core::sync::atomic::{fence, Ordering};

use xen_abi::ring::RingIdx;

use crate::layout::{
    shared_ring_init, Entry, RingLayout, REQ_EVENT, REQ_PROD, RSP_EVENT, RSP_PROD,
};
use crate::notify::{final_check, publish_and_check_notify};
use crate::{RingError, RingMemory};

/// The front end's private view of a shared ring.
///
/// Requests are staged with [`push_request`](Self::push_request) (the
/// private producer, C `req_prod_pvt`) and become visible to the back end
/// only when published with [`push_requests`](Self::push_requests) or
/// [`push_requests_and_check_notify`](Self::push_requests_and_check_notify).
///
/// The back end is not trusted: a `rsp_prod` that claims responses to
/// requests never published is [`RingError::Overflow`], and responses are
/// copied out of the shared page once, so the peer cannot change one while
/// it is being used.
#[derive(Debug)]
pub struct FrontRing<M, Req, Rsp> {
    mem: M,
    layout: RingLayout,
    /// Next request slot to fill (C `req_prod_pvt`).
    req_prod_pvt: RingIdx,
    /// The `req_prod` this side last published: responses beyond it
    /// cannot be genuine.
    req_prod_published: RingIdx,
    /// Next response to consume (C `rsp_cons`).
    rsp_cons: RingIdx,
    entries: PhantomData<fn(Req) -> Rsp>,
}

impl<M: RingMemory, Req: Entry, Rsp: Entry> FrontRing<M, Req, Rsp> {
    /// Initialises the shared header (C `SHARED_RING_INIT`) and a front
    /// end at index 0 (C `FRONT_RING_INIT`).  Do this before granting the
    /// page to the back end.
    pub fn init(mem: M) -> Result<Self, RingError> {
        let ring = Self::attach(mem, 0)?;
        shared_ring_init(&ring.mem)?;
        Ok(ring)
    }

    /// A front end over an already initialised ring whose indices are all
    /// at `start` (C `FRONT_RING_ATTACH`); the shared page is not written.
    pub fn attach(mem: M, start: RingIdx) -> Result<Self, RingError> {
        let layout = RingLayout::new::<Req, Rsp>(mem.len())?;
        Ok(Self {
            mem,
            layout,
            req_prod_pvt: start,
            req_prod_published: start,
            rsp_cons: start,
            entries: PhantomData,
        })
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

    /// The private request producer (C `req_prod_pvt`).
    pub fn req_prod_pvt(&self) -> RingIdx {
        self.req_prod_pvt
    }

    /// The response consumer (C `rsp_cons`).
    pub fn rsp_cons(&self) -> RingIdx {
        self.rsp_cons
    }

    /// Requests that can still be staged before the ring is full (C
    /// `RING_FREE_REQUESTS`).
    pub fn free_requests(&self) -> u32 {
        // Never more than `size` outstanding: `push_request` refuses, and
        // `rsp_cons` only moves up to the published producer.
        self.size()
            .saturating_sub(self.req_prod_pvt.wrapping_sub(self.rsp_cons))
    }

    /// Whether no request can be staged (C `RING_FULL`).
    pub fn is_full(&self) -> bool {
        self.free_requests() == 0
    }

    /// Copies `req` into the next free slot and advances the private
    /// producer; the back end sees it after the next push.
    pub fn push_request(&mut self, req: &Req) -> Result<(), RingError> {
        if self.is_full() {
            return Err(RingError::Full);
        }
        let offset = self.layout.slot_offset(self.req_prod_pvt);
        self.mem.write_bytes(offset, req.as_bytes())?;
        self.req_prod_pvt = self.req_prod_pvt.wrapping_add(1);
        Ok(())
    }

    /// Publishes the staged requests (C `RING_PUSH_REQUESTS`).
    pub fn push_requests(&mut self) -> Result<(), RingError> {
        // wmb(): the requests must be visible before the index.
        fence(Ordering::Release);
        self.mem.store_u32(REQ_PROD, self.req_prod_pvt)?;
        self.req_prod_published = self.req_prod_pvt;
        Ok(())
    }

    /// Publishes the staged requests and says whether the back end asked
    /// to be notified of them (C `RING_PUSH_REQUESTS_AND_CHECK_NOTIFY`).
    pub fn push_requests_and_check_notify(&mut self) -> Result<bool, RingError> {
        let new = self.req_prod_pvt;
        let notify = publish_and_check_notify(&self.mem, REQ_PROD, REQ_EVENT, new)?;
        self.req_prod_published = new;
        Ok(notify)
    }

    /// Responses published and not yet consumed (C
    /// `RING_HAS_UNCONSUMED_RESPONSES`).  A `rsp_prod` beyond the requests
    /// this side has published (or behind `rsp_cons`) is
    /// [`RingError::Overflow`].
    pub fn unconsumed_responses(&self) -> Result<u32, RingError> {
        let rsp_prod = self.mem.load_u32(RSP_PROD)?;
        let available = rsp_prod.wrapping_sub(self.rsp_cons);
        let outstanding = self.req_prod_published.wrapping_sub(self.rsp_cons);
        if available > outstanding {
            return Err(RingError::Overflow);
        }
        Ok(available)
    }

    /// Copies out the next response and consumes it, or `None` if none is
    /// waiting.
    pub fn take_response(&mut self) -> Result<Option<Rsp>, RingError> {
        if self.unconsumed_responses()? == 0 {
            return Ok(None);
        }
        // rmb(): read the entry only after seeing `rsp_prod` cover it.
        fence(Ordering::Acquire);
        let mut rsp = Rsp::new_zeroed();
        let offset = self.layout.slot_offset(self.rsp_cons);
        self.mem.read_bytes(offset, rsp.as_mut_bytes())?;
        self.rsp_cons = self.rsp_cons.wrapping_add(1);
        Ok(Some(rsp))
    }

    /// Whether responses are waiting; if none, first asks the back end to
    /// notify on the next one and checks again, closing the race with a
    /// response published meanwhile (C `RING_FINAL_CHECK_FOR_RESPONSES`).
    /// `false` means it is safe to wait for the event channel.
    pub fn final_check_for_responses(&mut self) -> Result<bool, RingError> {
        self.final_check_for_responses_with(|| ())
    }

    /// [`final_check_for_responses`](Self::final_check_for_responses) with
    /// `between` run after the event index is written and before the
    /// recheck: lets tests place the peer's actions inside the race window.
    pub(crate) fn final_check_for_responses_with(
        &mut self,
        between: impl FnOnce(),
    ) -> Result<bool, RingError> {
        final_check(
            &self.mem,
            RSP_EVENT,
            self.rsp_cons,
            || self.unconsumed_responses(),
            between,
        )
    }
}
