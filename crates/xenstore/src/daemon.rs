//! The daemon: connections, request dispatch, domain introduction and
//! release.
//!
//! Connections are named by domain id.  Connection 0 is Dom0's toolstack,
//! the only privileged one; it always exists.  A domain's connection exists
//! from its introduction until its release; requests from any other
//! connection are refused with `EACCES`.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use xen_abi::domid::{DOMID_FIRST_RESERVED, DOMID_SELF};
use xen_abi::xs_wire::*;

use crate::args;
use crate::error::XsError;
use crate::ls;
use crate::ops;
use crate::path::{self, domain_path, Resolved, INTRODUCE_DOMAIN, RELEASE_DOMAIN};
use crate::perm::{Caller, Perm};
use crate::quota;
use crate::transaction::Transaction;
use crate::tree::{dom0_only, Node, Tree, View};
use crate::watch::{deliver, event_message, Change, Watch, Watcher};
use crate::wire::Message;
use crate::Outgoing;

/// One client connection.
#[derive(Debug)]
struct Connection {
    caller: Caller,
    /// `/local/domain/<domid>`: the base of relative paths.
    home: String,
    watches: Vec<Watch>,
    transactions: BTreeMap<u32, Transaction>,
    next_tx_id: u32,
}

impl Connection {
    fn new(domid: u16) -> Self {
        Self {
            caller: Caller {
                domid,
                privileged: domid == 0,
            },
            home: domain_path(u32::from(domid)),
            watches: Vec::new(),
            transactions: BTreeMap::new(),
            next_tx_id: 1,
        }
    }

    fn resolve(&self, raw: &[u8], allow_special: bool) -> Result<Resolved, XsError> {
        path::resolve(raw, &self.home, allow_special, self.caller.privileged)
    }

    /// Forget watches and transactions (reset, reintroduction).
    fn reset(&mut self) {
        self.watches.clear();
        self.transactions.clear();
    }
}

/// The XenStore daemon's state: the tree and the connections.
#[derive(Debug)]
pub struct XenStore {
    tree: Tree,
    conns: BTreeMap<u16, Connection>,
}

impl Default for XenStore {
    fn default() -> Self {
        Self::new()
    }
}

/// What a request produced: the reply payload, or an error for the reply.
type Outcome = Result<Vec<u8>, XsError>;

fn ok() -> Vec<u8> {
    b"OK\0".to_vec()
}

fn string_payload(text: &str) -> Vec<u8> {
    let mut p = Vec::from(text.as_bytes());
    p.push(0);
    p
}

/// Child names as a reply lists them: each followed by a NUL.
fn name_list(names: Vec<String>) -> Vec<u8> {
    let mut list = Vec::new();
    for name in names {
        list.extend_from_slice(name.as_bytes());
        list.push(0);
    }
    list
}

impl XenStore {
    /// A store holding `/`, `/local`, `/local/domain` and `/tool` (owned by
    /// Dom0, `n0`) and the special nodes `@introduceDomain` and
    /// `@releaseDomain` (whose permissions decide who receives those
    /// events: Dom0 only, until changed), with Dom0's connection.
    pub fn new() -> Self {
        let mut tree = Tree::new();
        for dir in ["/local/domain", "/tool"] {
            // Dom0 creating below an `n0` root cannot fail.
            let _ = ops::mkdir(&mut tree, Caller::DOM0, dir);
        }
        for special in [INTRODUCE_DOMAIN, RELEASE_DOMAIN] {
            tree.put(special, Node::new(dom0_only()));
        }
        let mut conns = BTreeMap::new();
        conns.insert(0, Connection::new(0));
        Self { tree, conns }
    }

    /// Handle one request from connection `conn` (a domain id; 0 is Dom0).
    /// Returns the reply to `conn` first, then any watch events, each
    /// addressed to its connection.  The reply echoes `req_id` and `tx_id`;
    /// failures are `XS_ERROR` replies with the errno name.
    pub fn handle(&mut self, conn: u16, msg: Message) -> Vec<Outgoing> {
        let mut events = Vec::new();
        let outcome = self.dispatch(conn, &msg, &mut events);
        let reply = match outcome {
            Ok(payload) if payload.len() <= XENSTORE_PAYLOAD_MAX => {
                Message::new(msg.kind, msg.req_id, msg.tx_id, payload)
            }
            Ok(_) => Message::new(XS_ERROR, msg.req_id, msg.tx_id, XsError::E2BIG.payload()),
            Err(e) => Message::new(XS_ERROR, msg.req_id, msg.tx_id, e.payload()),
        };
        let mut out = Vec::with_capacity(1 + events.len());
        out.push(Outgoing {
            to: conn,
            msg: reply,
        });
        out.extend(events);
        out
    }

    fn dispatch(&mut self, conn: u16, msg: &Message, events: &mut Vec<Outgoing>) -> Outcome {
        let c = self.conns.get(&conn).ok_or(XsError::EACCES)?;
        // The decoder never yields such a message; a caller building one
        // by hand gets what a too-long header would get.
        if msg.payload.len() > XENSTORE_PAYLOAD_MAX {
            return Err(XsError::E2BIG);
        }
        let privileged_only = matches!(
            msg.kind,
            XS_CONTROL
                | XS_INTRODUCE
                | XS_RELEASE
                | XS_IS_DOMAIN_INTRODUCED
                | XS_RESUME
                | XS_SET_TARGET
                | XS_SET_FEATURE
                | XS_SET_QUOTA
        );
        if privileged_only && !c.caller.privileged {
            return Err(XsError::EACCES);
        }
        // Watches ignore the transaction id; every other request names an
        // open transaction of this connection, or none.
        let uses_tx = !matches!(msg.kind, XS_WATCH | XS_UNWATCH);
        if uses_tx && msg.tx_id != 0 && !c.transactions.contains_key(&msg.tx_id) {
            return Err(XsError::ENOENT);
        }
        let p = msg.payload.as_slice();
        let tx = if uses_tx { msg.tx_id } else { 0 };
        match msg.kind {
            XS_READ => self.read_op(conn, tx, args::one(p)?),
            XS_DIRECTORY => self.directory_op(conn, tx, args::one(p)?),
            XS_DIRECTORY_PART => self.directory_part_op(conn, tx, p),
            XS_GET_PERMS => self.get_perms_op(conn, tx, args::one(p)?),
            XS_WRITE => {
                let (path, value) = args::path_and_value(p)?;
                self.change(conn, tx, path, false, events, |v, who, at| {
                    ops::write(v, who, at, value)
                })
            }
            XS_MKDIR => self.change(conn, tx, args::one(p)?, false, events, ops::mkdir),
            XS_RM => self.change(conn, tx, args::one(p)?, false, events, ops::rm),
            XS_SET_PERMS => {
                let parts = args::strings(p);
                let (path, perms) = parts.split_first().ok_or(XsError::EINVAL)?;
                let perms = perms
                    .iter()
                    .map(|s| Perm::parse(s))
                    .collect::<Result<Vec<_>, _>>()?;
                self.change(conn, tx, path, true, events, |v, who, at| {
                    ops::set_perms(v, who, at, &perms)
                })
            }
            XS_WATCH => self.watch(conn, p, events),
            XS_UNWATCH => self.unwatch(conn, p),
            XS_TRANSACTION_START => self.transaction_start(conn, tx),
            XS_TRANSACTION_END => self.transaction_end(conn, tx, p, events),
            XS_GET_DOMAIN_PATH => {
                let domid = path::parse_domid(args::one(p)?)?;
                Ok(string_payload(&domain_path(u32::from(domid))))
            }
            XS_INTRODUCE => {
                let [domid, _gfn, port] = args::strings(p)
                    .get(..3)
                    .and_then(|s| <[&[u8]; 3]>::try_from(s).ok())
                    .ok_or(XsError::EINVAL)?;
                let domid = path::parse_domid(domid)?;
                if args::number(port)? == 0 {
                    return Err(XsError::EINVAL);
                }
                events.extend(self.introduce(domid)?);
                Ok(ok())
            }
            XS_RELEASE => {
                events.extend(self.release(path::parse_domid(args::one(p)?)?)?);
                Ok(ok())
            }
            XS_IS_DOMAIN_INTRODUCED => {
                let domid = path::parse_domid(args::one(p)?)?;
                let yes = domid == DOMID_SELF || self.is_introduced(domid);
                Ok(if yes {
                    b"T\0".to_vec()
                } else {
                    b"F\0".to_vec()
                })
            }
            XS_RESET_WATCHES => {
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.reset();
                }
                Ok(ok())
            }
            // Known requests this daemon does not offer (control commands,
            // targets, resume, features, quota queries), and unknown or
            // server-only types: Xen's daemon answers unknown types ENOSYS.
            _ => Err(XsError::ENOSYS),
        }
    }

    // ---- node requests ------------------------------------------------

    /// What every node request starts from: who `conn` is, the path
    /// `raw_path` names for it, and its transaction `tx` (`None` outside
    /// one), whose node quota must allow one more request.
    fn request_context<'c>(
        conns: &'c mut BTreeMap<u16, Connection>,
        conn: u16,
        tx: u32,
        raw_path: &[u8],
        allow_special: bool,
    ) -> Result<(Caller, String, Option<&'c mut Transaction>), XsError> {
        let c = conns.get_mut(&conn).ok_or(XsError::EACCES)?;
        let target = c.resolve(raw_path, allow_special)?;
        let caller = c.caller;
        let t = c.transactions.get_mut(&tx);
        if let Some(t) = &t {
            quota::check_transaction_nodes(caller, t.touched())?;
        }
        Ok((caller, target.path, t))
    }

    /// Run a read-only node operation in the right view.
    fn read_view<T>(
        &mut self,
        conn: u16,
        tx: u32,
        raw_path: &[u8],
        allow_special: bool,
        op: impl FnOnce(&mut dyn View, Caller, &str) -> Result<T, XsError>,
    ) -> Result<T, XsError> {
        let (caller, path, t) =
            Self::request_context(&mut self.conns, conn, tx, raw_path, allow_special)?;
        match t {
            Some(t) => op(&mut t.view(&mut self.tree), caller, &path),
            None => op(&mut self.tree, caller, &path),
        }
    }

    fn read_op(&mut self, conn: u16, tx: u32, raw: &[u8]) -> Outcome {
        self.read_view(conn, tx, raw, false, ops::read)
    }

    fn directory_op(&mut self, conn: u16, tx: u32, raw: &[u8]) -> Outcome {
        let names = self.read_view(conn, tx, raw, false, ops::directory)?;
        Ok(name_list(names))
    }

    /// `XS_DIRECTORY_PART`: `path|offset|` → `generation|names...`, the
    /// names being the children list (NUL-terminated names) from byte
    /// `offset`, as many whole names as fit, with an extra NUL once the
    /// list is exhausted.
    fn directory_part_op(&mut self, conn: u16, tx: u32, p: &[u8]) -> Outcome {
        let [raw, offset] = args::exactly::<2>(p)?;
        let offset = args::number(offset)? as usize;
        let (generation, names) = self.read_view(conn, tx, raw, false, ops::directory_part)?;
        let list = name_list(names);
        let mut payload = string_payload(&format!("{generation}"));
        let room = XENSTORE_PAYLOAD_MAX - payload.len() - 1;
        let rest = list.get(offset..).unwrap_or(&[]);
        let mut taken = 0;
        for name in rest.split_inclusive(|&b| b == 0) {
            if taken + name.len() > room {
                break;
            }
            taken += name.len();
        }
        payload.extend_from_slice(&rest[..taken]);
        if taken == rest.len() {
            payload.push(0);
        }
        Ok(payload)
    }

    fn get_perms_op(&mut self, conn: u16, tx: u32, raw: &[u8]) -> Outcome {
        let perms = self.read_view(conn, tx, raw, true, ops::get_perms)?;
        Ok(Perm::list_payload(&perms))
    }

    /// Run a modifying node operation: directly (firing watches now) or
    /// inside transaction `tx` (queueing them for the commit).
    fn change(
        &mut self,
        conn: u16,
        tx: u32,
        raw_path: &[u8],
        allow_special: bool,
        events: &mut Vec<Outgoing>,
        op: impl FnOnce(&mut dyn View, Caller, &str) -> Result<Vec<Change>, XsError>,
    ) -> Outcome {
        let (caller, path, t) =
            Self::request_context(&mut self.conns, conn, tx, raw_path, allow_special)?;
        match t {
            Some(t) => {
                let changes = op(&mut t.view(&mut self.tree), caller, &path)?;
                t.queue(changes);
            }
            None => {
                let changes = op(&mut self.tree, caller, &path)?;
                self.fire(&changes, events);
            }
        }
        Ok(ok())
    }

    /// Append the watch events `changes` cause, for every connection.
    fn fire(&self, changes: &[Change], events: &mut Vec<Outgoing>) {
        for change in changes {
            for (&id, c) in &self.conns {
                let watcher = Watcher {
                    conn: id,
                    caller: c.caller,
                    home: &c.home,
                    watches: &c.watches,
                };
                deliver(change, &watcher, events);
            }
        }
    }

    /// The change firing a special watch: seen through the special node's
    /// permissions (and the root's, its parent in Xen's scheme).
    fn special_change(&self, special: &str) -> Change {
        let perms = self
            .tree
            .node(special)
            .map_or_else(dom0_only, |n| n.perms.clone());
        let root = self.tree.node("/").map(|n| n.perms.as_slice());
        Change::new(special, true, &perms, root)
    }

    // ---- watches ------------------------------------------------------

    fn watch(&mut self, conn: u16, p: &[u8], events: &mut Vec<Outgoing>) -> Outcome {
        let [raw, token] = args::exactly::<2>(p)?;
        let c = self.conns.get_mut(&conn).ok_or(XsError::EACCES)?;
        let target = c.resolve(raw, true)?;
        if c.watches
            .iter()
            .any(|w| w.target.path == target.path && w.token == token)
        {
            return Err(XsError::EEXIST);
        }
        quota::check_new_watch(c.caller, c.watches.len())?;
        // Xen fires every new watch once, right after the reply.
        let shown = target.show(&c.home, &target.path);
        events.extend(event_message(shown, token).map(|msg| Outgoing { to: conn, msg }));
        c.watches.push(Watch {
            target,
            token: token.to_vec(),
        });
        Ok(ok())
    }

    fn unwatch(&mut self, conn: u16, p: &[u8]) -> Outcome {
        let [raw, token] = args::exactly::<2>(p)?;
        let c = self.conns.get_mut(&conn).ok_or(XsError::EACCES)?;
        let target = c.resolve(raw, true)?;
        let at = c
            .watches
            .iter()
            .position(|w| w.target.path == target.path && w.token == token)
            .ok_or(XsError::ENOENT)?;
        c.watches.remove(at);
        Ok(ok())
    }

    // ---- transactions -------------------------------------------------

    fn transaction_start(&mut self, conn: u16, tx: u32) -> Outcome {
        let c = self.conns.get_mut(&conn).ok_or(XsError::EACCES)?;
        if tx != 0 {
            // No nested transactions.
            return Err(XsError::EBUSY);
        }
        quota::check_new_transaction(c.caller, c.transactions.len())?;
        // Ids are never 0 and never one still open.
        let mut id = c.next_tx_id;
        while id == 0 || c.transactions.contains_key(&id) {
            id = id.wrapping_add(1);
        }
        c.next_tx_id = id.wrapping_add(1);
        c.transactions.insert(id, Transaction::new(&self.tree));
        Ok(string_payload(&format!("{id}")))
    }

    fn transaction_end(
        &mut self,
        conn: u16,
        tx: u32,
        p: &[u8],
        events: &mut Vec<Outgoing>,
    ) -> Outcome {
        let commit = match args::one(p)? {
            b"T" => true,
            b"F" => false,
            _ => return Err(XsError::EINVAL),
        };
        let c = self.conns.get_mut(&conn).ok_or(XsError::EACCES)?;
        let caller = c.caller;
        let t = c.transactions.remove(&tx).ok_or(XsError::ENOENT)?;
        if commit {
            let changes = t.commit(&mut self.tree, caller)?;
            self.fire(&changes, events);
        }
        Ok(ok())
    }

    // ---- domains ------------------------------------------------------

    /// Start serving domain `domid`: its connection exists from now on and
    /// `@introduceDomain` watches fire.  Introducing a domain again resets
    /// its connection (watches and transactions) and fires nothing, as in
    /// Xen.  Dom0 and the reserved ids are `EINVAL`.
    pub fn introduce(&mut self, domid: u16) -> Result<Vec<Outgoing>, XsError> {
        if domid == 0 || domid >= DOMID_FIRST_RESERVED {
            return Err(XsError::EINVAL);
        }
        if let Some(c) = self.conns.get_mut(&domid) {
            c.reset();
            return Ok(Vec::new());
        }
        self.conns.insert(domid, Connection::new(domid));
        let mut events = Vec::new();
        self.fire(&[self.special_change(INTRODUCE_DOMAIN)], &mut events);
        Ok(events)
    }

    /// Stop serving domain `domid`: drop its connection (watches and
    /// transactions), remove every node it owns (with their subtrees,
    /// firing watches), forget permission entries naming it, and fire
    /// `@releaseDomain`.  Dom0 is `EINVAL`, a domain not introduced
    /// `ENOENT`.
    pub fn release(&mut self, domid: u16) -> Result<Vec<Outgoing>, XsError> {
        if domid == 0 {
            return Err(XsError::EINVAL);
        }
        self.conns.remove(&domid).ok_or(XsError::ENOENT)?;
        let mut changes = self.remove_owned_nodes(domid);
        self.forget_perms_of(domid);
        changes.push(self.special_change(RELEASE_DOMAIN));
        let mut events = Vec::new();
        self.fire(&changes, &mut events);
        Ok(events)
    }

    /// Whether `domid`'s connection exists (Dom0's always does).
    pub fn is_introduced(&self, domid: u16) -> bool {
        self.conns.contains_key(&domid)
    }

    /// Remove the subtrees rooted at nodes `domid` owns (Xen deletes a
    /// gone domain's nodes).  Nodes that cannot go (the root, the special
    /// nodes) are handed back to Dom0 instead.
    fn remove_owned_nodes(&mut self, domid: u16) -> Vec<Change> {
        let mut changes = Vec::new();
        let mut stack = alloc::vec![String::from("/")];
        while let Some(at) = stack.pop() {
            let Some(node) = self.tree.node(&at) else {
                continue;
            };
            if node.owner() == domid && at != "/" {
                changes.extend(ops::remove_subtree(&mut self.tree, &at));
                continue;
            }
            stack.extend(node.children.iter().rev().map(|c| path::child(&at, c)));
        }
        for keep in ["/", INTRODUCE_DOMAIN, RELEASE_DOMAIN] {
            if let Some(node) = self.tree.node(keep).filter(|n| n.owner() == domid) {
                let mut node = node.clone();
                node.perms = dom0_only();
                self.tree.put(keep, node);
            }
        }
        changes
    }

    /// Drop per-domain permission entries naming `domid`, so a future
    /// domain reusing the id inherits nothing.  (A new generation makes
    /// open transactions that touched those nodes retry.)
    fn forget_perms_of(&mut self, domid: u16) {
        for at in self.tree.paths() {
            let Some(node) = self.tree.node(&at) else {
                continue;
            };
            if node.perms.iter().skip(1).any(|p| p.domid == domid) {
                let mut node = node.clone();
                let owner = node.perms.remove(0);
                node.perms.retain(|p| p.domid != domid);
                node.perms.insert(0, owner);
                self.tree.put(&at, node);
            }
        }
    }

    // ---- Dom0 toolstack conveniences ------------------------------------

    /// Resolve a toolstack path (absolute, or relative to
    /// `/local/domain/0`).
    fn dom0_path(raw: &str, allow_special: bool) -> Result<String, XsError> {
        Ok(path::resolve(raw.as_bytes(), &domain_path(0), allow_special, true)?.path)
    }

    fn dom0_node(&self, raw: &str, allow_special: bool) -> Result<&Node, XsError> {
        let at = Self::dom0_path(raw, allow_special)?;
        self.tree.node(&at).ok_or(XsError::ENOENT)
    }

    fn dom0_change(
        &mut self,
        raw: &str,
        allow_special: bool,
        op: impl FnOnce(&mut dyn View, Caller, &str) -> Result<Vec<Change>, XsError>,
    ) -> Result<Vec<Outgoing>, XsError> {
        let at = Self::dom0_path(raw, allow_special)?;
        let changes = op(&mut self.tree, Caller::DOM0, &at)?;
        let mut events = Vec::new();
        self.fire(&changes, &mut events);
        Ok(events)
    }

    /// Read a node's value as Dom0.
    pub fn read(&self, path: &str) -> Result<Vec<u8>, XsError> {
        Ok(self.dom0_node(path, false)?.value.clone())
    }

    /// A node's children, as Dom0.
    pub fn directory(&self, path: &str) -> Result<Vec<String>, XsError> {
        Ok(self.dom0_node(path, false)?.children.clone())
    }

    /// A node's permissions (special `@` nodes included), as Dom0.
    pub fn get_perms(&self, path: &str) -> Result<Vec<Perm>, XsError> {
        Ok(self.dom0_node(path, true)?.perms.clone())
    }

    /// Write a value as Dom0 (creating missing nodes); returns the watch
    /// events caused, for the caller to deliver.  A value longer than a
    /// payload (which no read could return) is
    /// `E2BIG`.
    pub fn write(&mut self, path: &str, value: &[u8]) -> Result<Vec<Outgoing>, XsError> {
        if value.len() > XENSTORE_PAYLOAD_MAX {
            return Err(XsError::E2BIG);
        }
        self.dom0_change(path, false, |v, who, at| ops::write(v, who, at, value))
    }

    /// Create a node (and missing ancestors) as Dom0; returns the watch
    /// events caused.
    pub fn mkdir(&mut self, path: &str) -> Result<Vec<Outgoing>, XsError> {
        self.dom0_change(path, false, ops::mkdir)
    }

    /// Remove a subtree as Dom0; returns the watch events caused.
    pub fn rm(&mut self, path: &str) -> Result<Vec<Outgoing>, XsError> {
        self.dom0_change(path, false, ops::rm)
    }

    /// Set a node's permissions as Dom0 (special `@` nodes included);
    /// returns the watch events caused.
    pub fn set_perms(&mut self, path: &str, perms: &[Perm]) -> Result<Vec<Outgoing>, XsError> {
        self.dom0_change(path, true, |v, who, at| ops::set_perms(v, who, at, perms))
    }

    /// `xenstore-ls` output for the subtree below `path` (as Dom0 sees
    /// it): one line per node, `name = "value"`, indented one space per
    /// level below `path`.
    pub fn ls(&self, path: &str) -> Result<String, XsError> {
        let at = Self::dom0_path(path, false)?;
        self.tree.node(&at).ok_or(XsError::ENOENT)?;
        Ok(ls::listing(&self.tree, &at))
    }
}

#[cfg(test)]
impl XenStore {
    /// Panic unless the committed tree is consistent.
    pub(crate) fn check_invariants(&self) {
        self.tree.check();
        for (id, c) in &self.conns {
            assert_eq!(c.caller.domid, *id);
        }
    }
}
