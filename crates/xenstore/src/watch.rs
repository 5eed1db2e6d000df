//! Watches and the events they produce.
//!
//! A change to a node is described by a [`Change`]; it fires the watches
//! set on that path or any ancestor of it (or, for an `exact` change, only
//! those set on the path itself: the descendants removed along with a
//! subtree).  A connection receives events only if it may read the node
//! under one of the permission lists recorded in the change, as Xen's
//! `watch_permitted()` decides: the node's old permissions (permission
//! changes), its permissions, or its parent's.

use alloc::string::String;
use alloc::vec::Vec;
use xen_abi::xs_wire::{XENSTORE_PAYLOAD_MAX, XS_WATCH_EVENT};

use crate::path::{is_within, Resolved};
use crate::perm::{Caller, Perm};
use crate::wire::Message;
use crate::Outgoing;

/// One registered watch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Watch {
    pub(crate) target: Resolved,
    pub(crate) token: Vec<u8>,
}

/// A modification that may fire watches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Change {
    pub(crate) path: String,
    /// Fire only watches on exactly `path`.
    pub(crate) exact: bool,
    /// A watcher must be able to read under at least one of these.
    pub(crate) readable_under: Vec<Vec<Perm>>,
}

impl Change {
    /// A change to a node, seen through the node's permissions and its
    /// parent's (if the parent exists).
    pub(crate) fn new(
        path: &str,
        exact: bool,
        node_perms: &[Perm],
        parent_perms: Option<&[Perm]>,
    ) -> Self {
        let mut readable_under = alloc::vec![node_perms.to_vec()];
        readable_under.extend(parent_perms.map(<[Perm]>::to_vec));
        Self {
            path: String::from(path),
            exact,
            readable_under,
        }
    }

    fn matches(&self, watch: &Watch) -> bool {
        if self.exact {
            watch.target.path == self.path
        } else {
            is_within(&self.path, &watch.target.path)
        }
    }
}

/// The `XS_WATCH_EVENT` message for `path` and `token`, unless it would
/// exceed the payload limit (Xen silently drops such events).
pub(crate) fn event_message(path: &str, token: &[u8]) -> Option<Message> {
    let mut payload = Vec::with_capacity(path.len() + token.len() + 2);
    payload.extend_from_slice(path.as_bytes());
    payload.push(0);
    payload.extend_from_slice(token);
    payload.push(0);
    (payload.len() <= XENSTORE_PAYLOAD_MAX).then(|| Message::new(XS_WATCH_EVENT, 0, 0, payload))
}

/// A connection as the event dispatcher sees it.
pub(crate) struct Watcher<'a> {
    pub(crate) conn: u16,
    pub(crate) caller: Caller,
    pub(crate) home: &'a str,
    pub(crate) watches: &'a [Watch],
}

/// Append the events `change` causes for `watcher` to `out`.  An event
/// already queued in `out` for the same connection is not repeated (Xen
/// drops duplicates of pending events too), except for special `@` paths.
pub(crate) fn deliver(change: &Change, watcher: &Watcher<'_>, out: &mut Vec<Outgoing>) {
    let mut matching = watcher
        .watches
        .iter()
        .filter(|w| change.matches(w))
        .peekable();
    if matching.peek().is_none() {
        return;
    }
    let permitted = change
        .readable_under
        .iter()
        .any(|perms| watcher.caller.can_read(perms));
    if !permitted {
        return;
    }
    for watch in matching {
        let shown = watch.target.show(watcher.home, &change.path);
        let Some(msg) = event_message(shown, &watch.token) else {
            continue;
        };
        let duplicate = !change.path.starts_with('@')
            && out.iter().any(|o| o.to == watcher.conn && o.msg == msg);
        if !duplicate {
            out.push(Outgoing {
                to: watcher.conn,
                msg,
            });
        }
    }
}
