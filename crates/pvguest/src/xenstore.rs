//! The XenStore client of a DomU: requests go through the `req` ring of the store page
//! `start_info.store_mfn` names, replies and watch events come back through `rsp`, and the
//! event channel `start_info.store_evtchn` signals both ways. Messages are built and parsed
//! by the `xenstore` crate's client helpers; the rings are `xen_ring`'s byte rings.
//!
//! Every call blocks until its reply arrives (requests carry a fresh `req_id` and only the
//! reply with that id answers them). Watch events that arrive meanwhile are queued for
//! [`take_watch_event_for`]; a wait loop that also sleeps on other
//! things checks [`has_watch_event_for`] in its `events::wait_until` condition (it drains the
//! ring without blocking).
//!
//! Relative paths (`"name"`, `"control/shutdown"`) resolve under the domain's home,
//! `/local/domain/<domid>`. Errors are the errno names of `XS_ERROR` replies ([`XsError`],
//! e.g. `EACCES`); a broken ring or malformed reply is `EIO`, and [`init`] in a domain
//! without a store page (Dom0) is `ENOSYS`.
//!
//! Blocking calls must not be made from inside an `events::wait_until` condition.

use alloc::collections::VecDeque;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use spin::Mutex;
use xen_abi::xs_wire::*;
use xen_ring::byte::{self, XENSTORE_REQ, XENSTORE_RSP};
use xen_ring::PageMemory;
use xenstore::client;
pub use xenstore::client::Reply;
pub use xenstore::{Message, XsError};
use xenstore::{Decoder, WireError};

/// Watch events kept before the oldest are dropped (a watch firing faster than the guest
/// looks must not use up the heap).
const MAX_QUEUED_EVENTS: usize = 64;
/// How long [`next_reply`] waits.
pub const RAW_REPLY_PATIENCE_NS: u64 = 5_000_000_000;
/// Longest single `SCHEDOP_poll` of a wait with a deadline.
const POLL_SLICE_NS: u64 = 10_000_000;
/// Replies nobody asked for (stale ids, answers to [`send_raw`]) kept for [`next_reply`].
const MAX_UNCLAIMED_REPLIES: usize = 16;

struct Client {
    mem: PageMemory,
    port: u32,
    decoder: Decoder,
    next_req_id: u32,
    events: VecDeque<(String, String)>,
    replies: VecDeque<Message>,
    /// The reply stream lost its framing (corrupt indices, an oversized header): the
    /// request waiting now fails with `EIO`.
    lost_sync: bool,
}

static CLIENT: Mutex<Option<Client>> = Mutex::new(None);

/// Connect to the store page `start_info` names. Idempotent; `ENOSYS` without a store page
/// (Dom0, which serves XenStore itself), `EIO` if the page is not in our mapping.
pub fn init() -> Result<(), XsError> {
    let si = crate::start_info();
    if si.flags & xen_abi::start_info::SIF_INITDOMAIN != 0 || si.store_mfn == 0 || si.store_evtchn == 0 {
        return Err(XsError::ENOSYS);
    }
    let mut slot = CLIENT.lock();
    if slot.is_some() {
        return Ok(());
    }
    let va = crate::start::va_of_machine_frame(si.store_mfn).ok_or(XsError::EIO)?;
    // SAFETY: the builder mapped the store page at `va` (start-of-day region) for the
    // guest's life, and nothing in this program takes references into it: it is only touched
    // through this `PageMemory` and by the XenStore daemon.
    let mem = unsafe { PageMemory::new(va as *mut u8, core::mem::size_of::<XenstoreDomainInterface>()) }
        .map_err(|_| XsError::EIO)?;
    *slot = Some(Client {
        mem,
        port: si.store_evtchn,
        decoder: Decoder::new(),
        next_req_id: 1,
        events: VecDeque::new(),
        replies: VecDeque::new(),
        lost_sync: false,
    });
    Ok(())
}

/// The store event channel, once [`init`] succeeded.
pub fn port() -> Option<u32> {
    CLIENT.lock().as_ref().map(|c| c.port)
}

fn with_client<T>(f: impl FnOnce(&mut Client) -> Result<T, XsError>) -> Result<T, XsError> {
    match CLIENT.lock().as_mut() {
        Some(c) => f(c),
        None => Err(XsError::ENOSYS),
    }
}

impl Client {
    /// Move everything the daemon wrote into the decoder (telling it there is room again),
    /// then sort the complete messages into events and replies.
    fn pump(&mut self) {
        let mut buf = [0u8; XENSTORE_RING_SIZE];
        let mut consumed = false;
        loop {
            match byte::read(&self.mem, &XENSTORE_RSP, &mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    self.decoder.feed(&buf[..n]);
                    consumed = true;
                }
                Err(_) => {
                    // Indices that make no sense: drop what is there and start over.
                    let _ = byte::resync(&self.mem, &XENSTORE_RSP);
                    self.decoder.reset();
                    self.lost_sync = true;
                    consumed = true;
                    break;
                }
            }
        }
        if consumed {
            crate::events::notify(self.port);
        }
        loop {
            match self.decoder.next() {
                Ok(Some(msg)) => self.sort(msg),
                Ok(None) => break,
                // The decoder dropped its input; what follows in the ring is the rest of
                // that message, so drop it too.
                Err(WireError::TooBig { .. }) => {
                    let _ = byte::resync(&self.mem, &XENSTORE_RSP);
                    self.lost_sync = true;
                }
            }
        }
    }

    fn sort(&mut self, msg: Message) {
        if msg.kind == XS_WATCH_EVENT {
            if let Some(event) = client::parse_watch_event(&msg) {
                if self.events.len() == MAX_QUEUED_EVENTS {
                    self.events.pop_front();
                }
                self.events.push_back(event);
            }
            return;
        }
        if self.replies.len() == MAX_UNCLAIMED_REPLIES {
            self.replies.pop_front();
        }
        self.replies.push_back(msg);
    }

    /// Whether the daemon wrote something, or made room when `want_room` (a broken ring
    /// counts as news: the caller finds out).
    fn daemon_moved(&self, want_room: bool) -> bool {
        crate::events::take(self.port);
        let readable = byte::available(&self.mem, &XENSTORE_RSP).map_or(true, |n| n > 0);
        readable || (want_room && byte::space(&self.mem, &XENSTORE_REQ).map_or(true, |n| n > 0))
    }

    /// Sleep until [`daemon_moved`](Self::daemon_moved), or until system time `deadline`
    /// (then `false`).
    fn wait_for_daemon(&self, want_room: bool, deadline: Option<u64>) -> bool {
        let Some(deadline) = deadline else {
            crate::events::wait_until(|| self.daemon_moved(want_room));
            return true;
        };
        // `SCHEDOP_poll` keeps the vCPU's one-shot timer for the kernel. A signal that comes
        // between the check and the poll is taken by the upcall, so each poll is short.
        loop {
            if self.daemon_moved(want_room) {
                return true;
            }
            let now = crate::time::now_ns();
            if now >= deadline {
                return false;
            }
            crate::events::poll(&[self.port], deadline.min(now + POLL_SLICE_NS));
        }
    }

    /// Put `bytes` into the request ring, waiting for room as the daemon consumes.
    fn send(&mut self, mut bytes: &[u8]) -> Result<(), XsError> {
        while !bytes.is_empty() {
            let n = byte::try_write(&self.mem, &XENSTORE_REQ, bytes).map_err(|_| XsError::EIO)?;
            bytes = &bytes[n..];
            if n > 0 {
                crate::events::notify(self.port);
            }
            if !bytes.is_empty() {
                // Take replies meanwhile, so a daemon that waits for room in `rsp` before
                // reading more of `req` is not stuck.
                self.pump();
                self.wait_for_daemon(true, None);
            }
        }
        Ok(())
    }

    /// Wait for the first reply that `claim` accepts, until system time `deadline` (then
    /// `EIO`) if there is one.
    fn wait_reply(&mut self, claim: impl Fn(&Message) -> bool, deadline: Option<u64>) -> Result<Message, XsError> {
        loop {
            self.pump();
            if core::mem::take(&mut self.lost_sync) {
                return Err(XsError::EIO);
            }
            if let Some(i) = self.replies.iter().position(&claim) {
                return self.replies.remove(i).ok_or(XsError::EIO);
            }
            if !self.wait_for_daemon(false, deadline) {
                return Err(XsError::EIO);
            }
        }
    }

    fn request(&mut self, kind: u32, tx_id: u32, parts: &[&[u8]]) -> Result<Message, XsError> {
        let req_id = self.next_req_id;
        self.next_req_id = self.next_req_id.wrapping_add(1).max(1);
        let msg = client::request(kind, tx_id, req_id, parts);
        if msg.payload.len() > XENSTORE_PAYLOAD_MAX {
            return Err(XsError::E2BIG);
        }
        self.lost_sync = false;
        self.send(&xenstore::encode(&msg))?;
        self.wait_reply(|r| r.req_id == req_id, None)
    }
}

/// Send a request of `kind` (payload: `parts`, see `xenstore::client::request`) and wait for
/// its reply; an `XS_ERROR` reply is its error.
pub fn request(kind: u32, tx_id: u32, parts: &[&[u8]]) -> Result<Reply, XsError> {
    let msg = with_client(|c| c.request(kind, tx_id, parts))?;
    client::parse_reply(&msg)
}

fn expect_ok(reply: Reply) -> Result<(), XsError> {
    match reply {
        Reply::Ok => Ok(()),
        _ => Err(XsError::EIO),
    }
}

/// The value of `path`, in transaction `tx` (0: none). Bytes that are not UTF-8 show as
/// U+FFFD.
pub fn read_tx(tx: u32, path: &str) -> Result<String, XsError> {
    match request(XS_READ, tx, &[path.as_bytes()])? {
        Reply::Value(v) => Ok(String::from_utf8_lossy(&v).into_owned()),
        _ => Err(XsError::EIO),
    }
}

/// The value of `path`.
pub fn read(path: &str) -> Result<String, XsError> {
    read_tx(0, path)
}

/// Set `path` to `value` in transaction `tx` (0: none), creating missing parents.
pub fn write_tx(tx: u32, path: &str, value: &str) -> Result<(), XsError> {
    expect_ok(request(XS_WRITE, tx, &[path.as_bytes(), value.as_bytes()])?)
}

/// Set `path` to `value`, creating missing parents.
pub fn write(path: &str, value: &str) -> Result<(), XsError> {
    write_tx(0, path, value)
}

/// Create `path` (empty) if it does not exist.
pub fn mkdir(path: &str) -> Result<(), XsError> {
    expect_ok(request(XS_MKDIR, 0, &[path.as_bytes()])?)
}

/// Remove `path` and everything below it.
pub fn rm(path: &str) -> Result<(), XsError> {
    expect_ok(request(XS_RM, 0, &[path.as_bytes()])?)
}

/// The names of `path`'s children.
pub fn directory(path: &str) -> Result<Vec<String>, XsError> {
    match request(XS_DIRECTORY, 0, &[path.as_bytes()])? {
        Reply::Directory(names) => Ok(names),
        _ => Err(XsError::EIO),
    }
}

/// `path`'s permissions in wire syntax, comma-separated: `"n1,r0"` (owner 1, no access for
/// others, read for Dom0).
pub fn get_perms(path: &str) -> Result<String, XsError> {
    match request(XS_GET_PERMS, 0, &[path.as_bytes()])? {
        Reply::Perms(perms) => Ok(perms.iter().map(ToString::to_string).collect::<Vec<_>>().join(",")),
        _ => Err(XsError::EIO),
    }
}

/// Set `path`'s permissions: `perms[0]` (`"n1"`) names the owner and everyone else's access,
/// later entries (`"r0"`) grant single domains.
pub fn set_perms(path: &str, perms: &[&str]) -> Result<(), XsError> {
    let mut parts: Vec<&[u8]> = Vec::with_capacity(perms.len() + 1);
    parts.push(path.as_bytes());
    parts.extend(perms.iter().map(|p| p.as_bytes()));
    expect_ok(request(XS_SET_PERMS, 0, &parts)?)
}

/// Watch `path` and everything below it; events carry `token`. XenStore fires a new watch
/// once right away, with the current state.
pub fn watch(path: &str, token: &str) -> Result<(), XsError> {
    expect_ok(request(XS_WATCH, 0, &[path.as_bytes(), token.as_bytes()])?)
}

/// Remove a watch [`watch`] set.
pub fn unwatch(path: &str, token: &str) -> Result<(), XsError> {
    expect_ok(request(XS_UNWATCH, 0, &[path.as_bytes(), token.as_bytes()])?)
}

/// Start a transaction; its id goes to [`read_tx`]/[`write_tx`] and [`transaction_end`].
pub fn transaction_start() -> Result<u32, XsError> {
    match request(XS_TRANSACTION_START, 0, &[b""])? {
        Reply::TransactionId(tx) => Ok(tx),
        _ => Err(XsError::EIO),
    }
}

/// Commit (`commit`) or abort transaction `tx`. A conflicting commit is `EAGAIN`: the
/// caller starts over.
pub fn transaction_end(tx: u32, commit: bool) -> Result<(), XsError> {
    let flag: &[u8] = if commit { b"T" } else { b"F" };
    expect_ok(request(XS_TRANSACTION_END, tx, &[flag])?)
}

/// The path of the oldest queued watch event carrying `token` (other events stay queued);
/// never blocks.
pub fn take_watch_event_for(token: &str) -> Option<String> {
    let mut slot = CLIENT.lock();
    let c = slot.as_mut()?;
    c.pump();
    let i = c.events.iter().position(|(_, t)| t == token)?;
    c.events.remove(i).map(|(path, _)| path)
}

/// Whether a watch event carrying `token` is queued (after taking what the daemon sent);
/// never blocks, so it may serve as an `events::wait_until` condition, with [`port`] as the
/// port that wakes it.
pub fn has_watch_event_for(token: &str) -> bool {
    let mut slot = CLIENT.lock();
    let Some(c) = slot.as_mut() else { return false };
    crate::events::take(c.port);
    c.pump();
    c.events.iter().any(|(_, t)| t == token)
}

/// Hostile tests: put `bytes` into the request ring as they are (any header, any length),
/// waiting for room. The daemon's answer, if any, comes from [`next_reply`].
pub fn send_raw(bytes: &[u8]) -> Result<(), XsError> {
    with_client(|c| c.send(bytes))
}

/// Hostile tests: the oldest reply no request claimed (watch events excluded), waiting for
/// one at most [`RAW_REPLY_PATIENCE_NS`] (a daemon may drop a malformed message unanswered):
/// then `EIO`. `XS_ERROR` replies are returned as messages, not errors.
pub fn next_reply() -> Result<Message, XsError> {
    let deadline = crate::time::now_ns().saturating_add(RAW_REPLY_PATIENCE_NS);
    with_client(|c| c.wait_reply(|_| true, Some(deadline)))
}
