//! The XenStore daemon's domain connections: requests come out of a
//! domain's ring page (the `req` byte ring of `struct
//! xenstore_domain_interface`), go through [`XenStore::handle`], and the
//! replies and watch events go back through the `rsp` ring of whichever
//! domain they are for.
//!
//! Each connection has a [`Decoder`] for its request stream and an outbox
//! of encoded messages waiting for room in its `rsp` ring. Nothing a
//! domain writes in its page can hurt Dom0 or another domain:
//! - garbage ring indices empty the request ring (`req_cons` moved to
//!   `req_prod`) and reset the connection's input; one notice is reported;
//! - a header announcing more than `XENSTORE_PAYLOAD_MAX` bytes gets an
//!   `XS_ERROR` `E2BIG` reply (echoing the header's ids), and the
//!   connection's input is reset the same way; one notice;
//! - a domain that does not read its replies stops being read once its
//!   outbox holds [`OUTBOX_BACKPRESSURE`] bytes (its requests wait in its
//!   ring), and watch events for it beyond [`OUTBOX_LIMIT`] are dropped,
//!   so its memory cost in Dom0 is bounded;
//! - each call reads at most [`READ_BUDGET`] bytes from a ring, and says
//!   when more is waiting, so one busy domain cannot starve the others or
//!   the shell.
//!
//! The kernel side maps the pages and moves the event-channel signals;
//! this module only sees [`RingMemory`].

use alloc::collections::{BTreeMap, VecDeque};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use xen_abi::xs_wire::{XENSTORE_RING_SIZE, XS_WATCH_EVENT};
use xen_ring::byte::{self, XENSTORE_REQ, XENSTORE_RSP};
use xen_ring::{RingError, RingMemory};
use xenstore::{encode, Decoder, Outgoing, Perm, WireError, XenStore, XsError};

/// Queued reply bytes past which a connection's requests are left in its
/// ring until it has read its replies.
pub const OUTBOX_BACKPRESSURE: usize = 16 * 1024;
/// Queued bytes past which watch events for a connection are dropped.
pub const OUTBOX_LIMIT: usize = 64 * 1024;
/// Request bytes taken from one ring per call.
pub const READ_BUDGET: usize = 4 * XENSTORE_RING_SIZE;

/// The store as XenBus's toolstack helpers see it: Dom0's direct,
/// privileged access, with the watch events it causes delivered. Dom0
/// sets no watches of its own here (`ENOSYS`).
pub struct Dom0Bus<'a>(pub &'a mut Daemon);

impl xenbus::XenbusStore for Dom0Bus<'_> {
    fn read(&mut self, path: &str) -> Result<String, XsError> {
        let value = self.0.store().read(path)?;
        String::from_utf8(value).map_err(|_| XsError::EINVAL)
    }

    fn write(&mut self, path: &str, value: &str) -> Result<(), XsError> {
        self.0.write(path, value.as_bytes())
    }

    fn rm(&mut self, path: &str) -> Result<(), XsError> {
        self.0.rm(path)
    }

    fn set_perms(&mut self, path: &str, perms: &[Perm]) -> Result<(), XsError> {
        self.0.set_perms(path, perms)
    }

    fn watch(&mut self, _path: &str, _token: &str) -> Result<(), XsError> {
        Err(XsError::ENOSYS)
    }

    fn unwatch(&mut self, _path: &str, _token: &str) -> Result<(), XsError> {
        Err(XsError::ENOSYS)
    }
}

#[derive(Debug, Default)]
struct Connection {
    decoder: Decoder,
    outbox: VecDeque<u8>,
    /// Corrupt `req` indices seen and not healthy since (reported once).
    req_broken: bool,
    /// Corrupt `rsp` indices seen and not healthy since (reported once).
    rsp_broken: bool,
    /// Watch events dropped since the outbox was last below the limit.
    dropped_events: u64,
}

/// What servicing a ring did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Activity {
    /// The ring's indices moved: the domain must be notified.
    pub moved: bool,
    /// Work is left (the budget ran out): service this ring again soon.
    pub more: bool,
    /// One-line reports of misbehaviour, for Dom0's log.
    pub notices: Vec<String>,
}

/// The store and its domain connections.
#[derive(Debug, Default)]
pub struct Daemon {
    store: XenStore,
    conns: BTreeMap<u16, Connection>,
    /// Reports from delivering (dropped watch events), for the next
    /// [`Daemon::take_notices`].
    notices: Vec<String>,
}

impl Daemon {
    /// A fresh store with no domain connected.
    pub fn new() -> Self {
        Self::default()
    }

    /// The store, to read (as Dom0).
    pub fn store(&self) -> &XenStore {
        &self.store
    }

    /// Whether `domid` has a ring connection.
    pub fn is_connected(&self, domid: u16) -> bool {
        self.conns.contains_key(&domid)
    }

    /// The domains with a ring connection.
    pub fn connected(&self) -> impl Iterator<Item = u16> + '_ {
        self.conns.keys().copied()
    }

    /// Reports gathered while delivering messages.
    pub fn take_notices(&mut self) -> Vec<String> {
        core::mem::take(&mut self.notices)
    }

    /// Starts serving `domid` on a ring (its connection starts empty) and
    /// fires `@introduceDomain`.
    pub fn introduce(&mut self, domid: u16) -> Result<(), XsError> {
        let events = self.store.introduce(domid)?;
        self.conns.insert(domid, Connection::default());
        self.deliver(events);
        Ok(())
    }

    /// Stops serving `domid`: its connection and queued output go, the
    /// store forgets it (removing the nodes it owns) and fires
    /// `@releaseDomain`.
    pub fn release(&mut self, domid: u16) -> Result<(), XsError> {
        self.conns.remove(&domid);
        let events = self.store.release(domid)?;
        self.deliver(events);
        Ok(())
    }

    /// Writes a node as Dom0, delivering the watch events.
    pub fn write(&mut self, path: &str, value: &[u8]) -> Result<(), XsError> {
        self.store.write(path, value).map(|events| self.deliver(events))
    }

    /// Creates a node as Dom0, delivering the watch events.
    pub fn mkdir(&mut self, path: &str) -> Result<(), XsError> {
        self.store.mkdir(path).map(|events| self.deliver(events))
    }

    /// Removes a subtree as Dom0, delivering the watch events.
    pub fn rm(&mut self, path: &str) -> Result<(), XsError> {
        self.store.rm(path).map(|events| self.deliver(events))
    }

    /// Sets a node's permissions as Dom0, delivering the watch events.
    pub fn set_perms(&mut self, path: &str, perms: &[Perm]) -> Result<(), XsError> {
        self.store.set_perms(path, perms).map(|events| self.deliver(events))
    }

    /// Queues messages on their connections' outboxes. Messages for Dom0
    /// (which talks to the store directly, not through a ring) and for
    /// domains without a connection are dropped.
    pub fn deliver(&mut self, out: Vec<Outgoing>) {
        for Outgoing { to, msg } in out {
            let Some(conn) = self.conns.get_mut(&to) else {
                continue;
            };
            if msg.kind == XS_WATCH_EVENT && conn.outbox.len() >= OUTBOX_LIMIT {
                if conn.dropped_events == 0 {
                    self.notices.push(format!(
                        "xenstored: domain {to} does not read its ring; dropping its watch events"
                    ));
                }
                conn.dropped_events += 1;
                continue;
            }
            conn.outbox.extend(encode(&msg));
        }
    }

    /// Takes `domid`'s requests from its ring page `mem` and handles them.
    /// Replies and events are queued; [`Daemon::write_replies`] sends them.
    pub fn read_requests<M: RingMemory + ?Sized>(&mut self, domid: u16, mem: &M) -> Activity {
        let mut activity = Activity::default();
        let mut chunk = [0u8; XENSTORE_RING_SIZE];
        let mut taken = 0;
        loop {
            let Some(conn) = self.conns.get_mut(&domid) else {
                return activity;
            };
            if conn.outbox.len() >= OUTBOX_BACKPRESSURE {
                // The domain reads its replies first; its next notify brings us back.
                return activity;
            }
            if taken >= READ_BUDGET {
                activity.more = byte::available(mem, &XENSTORE_REQ).is_ok_and(|n| n > 0);
                return activity;
            }
            let n = match byte::read(mem, &XENSTORE_REQ, &mut chunk) {
                Ok(n) => n,
                Err(RingError::Overflow) => {
                    let _ = byte::resync(mem, &XENSTORE_REQ);
                    conn.decoder.reset();
                    activity.moved = true;
                    if !core::mem::replace(&mut conn.req_broken, true) {
                        activity.notices.push(format!(
                            "xenstored: domain {domid}: corrupt request ring indices; its input was discarded"
                        ));
                    }
                    return activity;
                }
                Err(e) => {
                    activity.notices.push(format!("xenstored: domain {domid}: request ring unusable: {e}"));
                    return activity;
                }
            };
            if n == 0 {
                return activity;
            }
            conn.req_broken = false;
            activity.moved = true;
            taken += n;
            conn.decoder.feed(&chunk[..n]);
            self.handle_decoded(domid, mem, &mut activity);
        }
    }

    /// Handles every complete message buffered for `domid`.
    fn handle_decoded<M: RingMemory + ?Sized>(&mut self, domid: u16, mem: &M, activity: &mut Activity) {
        loop {
            let Some(conn) = self.conns.get_mut(&domid) else {
                return;
            };
            match conn.decoder.next() {
                Ok(Some(msg)) => {
                    let out = self.store.handle(domid, msg);
                    self.deliver(out);
                }
                Ok(None) => return,
                Err(e @ WireError::TooBig { len, .. }) => {
                    // The decoder has dropped what it held; the rest of the oversized
                    // message may still be in the ring: discard that too.
                    let _ = byte::resync(mem, &XENSTORE_REQ);
                    conn.outbox.extend(encode(&e.reply()));
                    activity.notices.push(format!(
                        "xenstored: domain {domid} sent a {len}-byte message (limit {}); replied E2BIG and discarded its input",
                        xen_abi::xs_wire::XENSTORE_PAYLOAD_MAX
                    ));
                    return;
                }
            }
        }
    }

    /// Whether `domid` has output waiting for room in its ring.
    pub fn has_output(&self, domid: u16) -> bool {
        self.conns.get(&domid).is_some_and(|c| !c.outbox.is_empty())
    }

    /// Moves as much of `domid`'s queued output as fits into its `rsp`
    /// ring in page `mem`.
    pub fn write_replies<M: RingMemory + ?Sized>(&mut self, domid: u16, mem: &M) -> Activity {
        let mut activity = Activity::default();
        let Some(conn) = self.conns.get_mut(&domid) else {
            return activity;
        };
        while !conn.outbox.is_empty() {
            let (front, _) = conn.outbox.as_slices();
            match byte::try_write(mem, &XENSTORE_RSP, front) {
                Ok(0) => break,
                Ok(n) => {
                    conn.outbox.drain(..n);
                    conn.rsp_broken = false;
                    activity.moved = true;
                }
                Err(e) => {
                    // Our producer index is ours, but the domain's consumer index is not:
                    // keep the output (bounded by the limits) until it is sane again.
                    if !core::mem::replace(&mut conn.rsp_broken, true) {
                        let why = if e == RingError::Overflow { String::from("corrupt response ring indices") } else { format!("{e}") };
                        activity.notices.push(format!("xenstored: domain {domid}: {why}; replies held back"));
                    }
                    break;
                }
            }
        }
        if conn.outbox.len() < OUTBOX_LIMIT {
            conn.dropped_events = 0;
        }
        activity
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xen_abi::xs_wire::*;
    use xen_ring::SliceMemory;
    use xenstore::client::{parse_watch_event, request};
    use xenstore::Message;

    /// A guest's view of its page: write requests, read what came back.
    struct Guest<'a> {
        mem: SliceMemory<'a>,
        decoder: Decoder,
    }

    impl<'a> Guest<'a> {
        fn new(page: &'a mut [u8]) -> Self {
            Self { mem: SliceMemory::new(page), decoder: Decoder::new() }
        }

        fn send(&self, msg: &Message) {
            let bytes = encode(msg);
            assert_eq!(byte::write(&self.mem, &XENSTORE_REQ, &bytes), bytes.len());
        }

        fn receive(&mut self) -> Vec<Message> {
            let mut buf = [0u8; 4096];
            loop {
                let n = byte::read(&self.mem, &XENSTORE_RSP, &mut buf).unwrap();
                if n == 0 {
                    break;
                }
                self.decoder.feed(&buf[..n]);
            }
            let mut out = Vec::new();
            while let Some(m) = self.decoder.next().unwrap() {
                out.push(m);
            }
            out
        }
    }

    fn serve(d: &mut Daemon, domid: u16, g: &Guest<'_>) -> (Activity, Activity) {
        let a = d.read_requests(domid, &g.mem);
        let b = d.write_replies(domid, &g.mem);
        (a, b)
    }

    fn daemon_with(domids: &[u16]) -> Daemon {
        let mut d = Daemon::new();
        for &id in domids {
            d.introduce(id).unwrap();
            let home = format!("/local/domain/{id}");
            d.write(&home, b"").unwrap();
            d.set_perms(&home, &[Perm::new(id, xenstore::Access::None)]).unwrap();
        }
        d
    }

    #[test]
    fn request_and_reply() {
        let mut d = daemon_with(&[1]);
        d.write("/local/domain/1/name", b"idle").unwrap();
        let mut page = vec![0u8; 4096];
        let mut g = Guest::new(&mut page);
        g.send(&request(XS_READ, 0, 7, &[b"name"]));
        let (a, b) = serve(&mut d, 1, &g);
        assert!(a.moved && b.moved && !a.more);
        assert!(a.notices.is_empty());
        let replies = g.receive();
        assert_eq!(replies, [Message::new(XS_READ, 7, 0, b"idle".to_vec())]);
        // Another domain's keys are out of reach.
        d.introduce(2).unwrap();
        d.write("/local/domain/2", b"").unwrap();
        d.set_perms("/local/domain/2", &[Perm::new(2, xenstore::Access::None)]).unwrap();
        g.send(&request(XS_READ, 0, 8, &[b"/local/domain/2"]));
        serve(&mut d, 1, &g);
        assert_eq!(g.receive()[0].kind, XS_ERROR);
    }

    #[test]
    fn watch_events_reach_the_watcher() {
        let mut d = daemon_with(&[1]);
        d.write("/local/domain/1/control/shutdown", b"").unwrap();
        d.set_perms("/local/domain/1/control/shutdown", &[Perm::new(1, xenstore::Access::None)]).unwrap();
        let mut page = vec![0u8; 4096];
        let mut g = Guest::new(&mut page);
        g.send(&request(XS_WATCH, 0, 1, &[b"control/shutdown", b"tok"]));
        serve(&mut d, 1, &g);
        let first = g.receive();
        assert_eq!(first[0].kind, XS_WATCH);
        // Dom0 asks for a power-off: the event goes out with the next flush.
        d.write("/local/domain/1/control/shutdown", b"poweroff").unwrap();
        assert!(d.has_output(1));
        assert!(d.write_replies(1, &g.mem).moved);
        let events = g.receive();
        let ev = events.iter().find_map(parse_watch_event).unwrap();
        assert_eq!(ev.1, "tok");
        assert!(ev.0.ends_with("control/shutdown"));
    }

    #[test]
    fn garbage_indices_reset_the_connection() {
        let mut d = daemon_with(&[1]);
        let mut page = vec![0u8; 4096];
        {
            let mem = SliceMemory::new(&mut page);
            mem.store_u32(XENSTORE_REQ.prod, 5000).unwrap();
        }
        let mut g = Guest::new(&mut page);
        let (a, _) = serve(&mut d, 1, &g);
        assert!(a.moved);
        assert_eq!(a.notices.len(), 1);
        assert!(a.notices[0].contains("corrupt request ring indices"), "{:?}", a.notices);
        // Reported once while it stays broken.
        g.mem.store_u32(XENSTORE_REQ.prod, 9000).unwrap();
        assert!(serve(&mut d, 1, &g).0.notices.is_empty());
        // The ring was resynchronised: the next request works.
        g.send(&request(XS_GET_DOMAIN_PATH, 0, 3, &[b"1"]));
        serve(&mut d, 1, &g);
        assert_eq!(g.receive(), [Message::new(XS_GET_DOMAIN_PATH, 3, 0, b"/local/domain/1\0".to_vec())]);
    }

    #[test]
    fn oversized_messages_get_e2big() {
        let mut d = daemon_with(&[1]);
        let mut page = vec![0u8; 4096];
        let mut g = Guest::new(&mut page);
        let mut bytes: Vec<u8> = [XS_WRITE, 42, 0, 5000].iter().flat_map(|f: &u32| f.to_le_bytes()).collect();
        bytes.extend_from_slice(&[b'x'; 100]);
        assert_eq!(byte::write(&g.mem, &XENSTORE_REQ, &bytes), bytes.len());
        let (a, _) = serve(&mut d, 1, &g);
        assert_eq!(a.notices.len(), 1);
        assert!(a.notices[0].contains("5000-byte message"), "{:?}", a.notices);
        assert_eq!(g.receive(), [Message::new(XS_ERROR, 42, 0, b"E2BIG\0".to_vec())]);
        assert_eq!(byte::available(&g.mem, &XENSTORE_REQ), Ok(0));
        g.send(&request(XS_GET_DOMAIN_PATH, 0, 3, &[b"1"]));
        serve(&mut d, 1, &g);
        assert_eq!(g.receive()[0].req_id, 3);
    }

    #[test]
    fn a_domain_that_never_reads_costs_bounded_memory() {
        let mut d = daemon_with(&[1, 2]);
        let mut page1 = vec![0u8; 4096];
        let g1 = Guest::new(&mut page1);
        // Domain 1 watches a node domain 2 may write, then never reads its ring.
        d.write("/local/domain/1/data", b"").unwrap();
        d.set_perms("/local/domain/1/data", &[Perm::new(2, xenstore::Access::None)]).unwrap();
        g1.send(&request(XS_WATCH, 0, 1, &[b"/local/domain/1/data", b"t"]));
        serve(&mut d, 1, &g1);
        let mut page2 = vec![0u8; 4096];
        let mut g2 = Guest::new(&mut page2);
        let value = [b'v'; 200];
        for i in 0..2000u32 {
            g2.send(&request(XS_WRITE, 0, i, &[b"/local/domain/1/data", &value]));
            serve(&mut d, 2, &g2);
            g2.receive();
            d.write_replies(1, &g1.mem);
        }
        let queued = d.conns[&1].outbox.len();
        assert!(queued < OUTBOX_LIMIT + 200, "{queued}");
        assert!(d.take_notices().iter().any(|n| n.contains("dropping its watch events")));
    }

    #[test]
    fn requests_wait_while_replies_are_unread() {
        let mut d = daemon_with(&[1]);
        let mut page = vec![0u8; 4096];
        let mut g = Guest::new(&mut page);
        let mut sent = 0u32;
        // Fill the outbox past the backpressure mark without reading replies.
        d.write("/local/domain/1/big", &[b'b'; 3000]).unwrap();
        while d.conns[&1].outbox.len() < OUTBOX_BACKPRESSURE {
            g.send(&request(XS_READ, 0, sent, &[b"big"]));
            sent += 1;
            d.read_requests(1, &g.mem);
        }
        g.send(&request(XS_READ, 0, sent, &[b"big"]));
        let a = d.read_requests(1, &g.mem);
        assert!(!a.moved, "the request stays in the ring");
        assert!(byte::available(&g.mem, &XENSTORE_REQ).unwrap() > 0);
        // Reading the replies lets it through.
        let mut got = 0;
        for _ in 0..100 {
            d.write_replies(1, &g.mem);
            got += g.receive().len();
            d.read_requests(1, &g.mem);
        }
        assert_eq!(got as u32, sent + 1);
    }

    #[test]
    fn devices_through_the_bus_adapter() {
        let mut d = daemon_with(&[1, 2]);
        let nodes = xenbus::device_nodes("vping", 0, 1, 2, &[]);
        xenbus::create_device(&mut Dom0Bus(&mut d), &nodes).unwrap();
        let fe = "/local/domain/1/device/vping/0";
        assert_eq!(d.store().read(&format!("{fe}/state")).unwrap(), b"1");
        assert_eq!(d.store().read(&format!("{fe}/backend-id")).unwrap(), b"2");
        let perms: Vec<String> = d.store().get_perms(fe).unwrap().iter().map(|p| format!("{p}")).collect();
        assert_eq!(perms, ["n1", "r2"]);
        let be = "/local/domain/2/backend/vping/1/0";
        assert_eq!(d.store().read(&format!("{be}/frontend-id")).unwrap(), b"1");
        // The back end can read the front end's directory; a third domain could not.
        let mut page = vec![0u8; 4096];
        let mut g = Guest::new(&mut page);
        g.send(&request(XS_READ, 0, 1, &[format!("{fe}/state").as_bytes()]));
        serve(&mut d, 2, &g);
        assert_eq!(g.receive()[0], Message::new(XS_READ, 1, 0, b"1".to_vec()));
        xenbus::remove_device(&mut Dom0Bus(&mut d), "vping", 0, 1, 2).unwrap();
        assert_eq!(d.store().read(fe), Err(XsError::ENOENT));
        assert_eq!(d.store().read(be), Err(XsError::ENOENT));
        // Watches are not Dom0's business here.
        assert!(xenbus::XenbusStore::watch(&mut Dom0Bus(&mut d), "/", "t").is_err());
    }

    #[test]
    fn released_domains_lose_their_connection() {
        let mut d = daemon_with(&[1]);
        assert!(d.is_connected(1));
        d.release(1).unwrap();
        assert!(!d.is_connected(1));
        let mut page = vec![0u8; 4096];
        let g = Guest::new(&mut page);
        g.send(&request(XS_READ, 0, 1, &[b"name"]));
        assert_eq!(d.read_requests(1, &g.mem), Activity::default());
        assert_eq!(d.release(1), Err(XsError::ENOENT));
    }
}
