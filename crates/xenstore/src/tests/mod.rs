//! Host tests of the daemon and the client helpers, driven through the
//! wire-level API ([`XenStore::handle`]) the way clients use it.

mod client;
mod malformed;
mod perms;
mod quotas;
mod transactions;
mod tree;
mod watches;

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use xen_abi::xs_wire::*;

use crate::client::{parse_reply, parse_watch_event, request, Reply};
use crate::{Message, Outgoing, XenStore, XsError};

/// A store with some domains introduced, and a request counter.
pub(super) struct Harness {
    pub(super) xs: XenStore,
    next_req: u32,
}

/// A reply and the watch events that came with it.
pub(super) struct Answer {
    pub(super) reply: Result<Reply, XsError>,
    pub(super) events: Vec<Outgoing>,
}

impl Answer {
    /// The watch events as `(to, path, token)`.
    pub(super) fn events(&self) -> Vec<(u16, String, String)> {
        self.events
            .iter()
            .map(|o| {
                let (p, t) = parse_watch_event(&o.msg).expect("watch event");
                (o.to, p, t)
            })
            .collect()
    }
}

impl Harness {
    /// A store with domains `domids` introduced.
    pub(super) fn new(domids: &[u16]) -> Self {
        let mut xs = XenStore::new();
        for &d in domids {
            xs.introduce(d).unwrap();
        }
        Self { xs, next_req: 100 }
    }

    /// Send a raw message; check the reply's addressing and ids.
    pub(super) fn send(&mut self, conn: u16, msg: Message) -> Answer {
        let (req_id, tx_id, kind) = (msg.req_id, msg.tx_id, msg.kind);
        let mut out = self.xs.handle(conn, msg);
        assert!(!out.is_empty(), "no reply");
        let reply = out.remove(0);
        assert_eq!(reply.to, conn);
        assert_eq!((reply.msg.req_id, reply.msg.tx_id), (req_id, tx_id));
        assert!(reply.msg.kind == kind || reply.msg.kind == XS_ERROR);
        for e in &out {
            assert_eq!(e.msg.kind, XS_WATCH_EVENT);
            assert_eq!((e.msg.req_id, e.msg.tx_id), (0, 0));
        }
        Answer {
            reply: parse_reply(&reply.msg),
            events: out,
        }
    }

    /// Send a request built from parts.
    pub(super) fn call(&mut self, conn: u16, kind: u32, tx: u32, parts: &[&[u8]]) -> Answer {
        self.next_req += 1;
        let msg = request(kind, tx, self.next_req, parts);
        self.send(conn, msg)
    }

    pub(super) fn read(&mut self, conn: u16, tx: u32, path: &str) -> Result<Vec<u8>, XsError> {
        match self.call(conn, XS_READ, tx, &[path.as_bytes()]).reply? {
            Reply::Value(v) => Ok(v),
            other => panic!("unexpected {other:?}"),
        }
    }

    pub(super) fn write(&mut self, conn: u16, tx: u32, path: &str, value: &str) -> Answer {
        self.call(conn, XS_WRITE, tx, &[path.as_bytes(), value.as_bytes()])
    }

    pub(super) fn write_ok(&mut self, conn: u16, tx: u32, path: &str, value: &str) {
        let a = self.write(conn, tx, path, value);
        assert_eq!(a.reply, Ok(Reply::Ok), "write {path} as {conn}");
    }

    pub(super) fn dir(&mut self, conn: u16, tx: u32, path: &str) -> Result<Vec<String>, XsError> {
        match self
            .call(conn, XS_DIRECTORY, tx, &[path.as_bytes()])
            .reply?
        {
            Reply::Directory(v) => Ok(v),
            other => panic!("unexpected {other:?}"),
        }
    }

    pub(super) fn set_perms(&mut self, conn: u16, path: &str, perms: &[&str]) -> Answer {
        let mut parts: Vec<&[u8]> = alloc::vec![path.as_bytes()];
        parts.extend(perms.iter().map(|p| p.as_bytes()));
        self.call(conn, XS_SET_PERMS, 0, &parts)
    }

    pub(super) fn watch(&mut self, conn: u16, path: &str, token: &str) -> Answer {
        self.call(conn, XS_WATCH, 0, &[path.as_bytes(), token.as_bytes()])
    }

    pub(super) fn start(&mut self, conn: u16) -> u32 {
        match self.call(conn, XS_TRANSACTION_START, 0, &[b""]).reply {
            Ok(Reply::TransactionId(id)) => id,
            other => panic!("transaction start: {other:?}"),
        }
    }

    pub(super) fn end(&mut self, conn: u16, tx: u32, commit: bool) -> Answer {
        let arg: &[u8] = if commit { b"T" } else { b"F" };
        self.call(conn, XS_TRANSACTION_END, tx, &[arg])
    }
}

/// `(to, path, token)` triples, for comparing events.
pub(super) fn ev(list: &[(u16, &str, &str)]) -> Vec<(u16, String, String)> {
    list.iter()
        .map(|&(to, p, t)| (to, p.to_string(), t.to_string()))
        .collect()
}
