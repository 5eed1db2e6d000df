//! Transactions: a private view of the store, committed all at once.
//!
//! A transaction copies each node the first time it touches it (read or
//! write) and works on the copy; nodes it never touched are read through
//! from the committed tree.  With each copy it records the node's
//! generation (or its absence).  Commit fails with `EAGAIN` if any touched
//! node's committed generation differs from the recorded one, or if a node
//! had already changed after the transaction started when it was first
//! touched (so the transaction saw a state newer than its start).  Creating
//! or removing a child rewrites the parent's children list, which the
//! transaction read, so parent/child changes conflict too.  Watches fire at
//! commit, for the changes queued during the transaction.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use crate::error::XsError;
use crate::path;
use crate::perm::{Caller, Perm};
use crate::quota;
use crate::tree::{Node, Tree, View};
use crate::watch::Change;

/// A node as the transaction sees it.
#[derive(Debug)]
struct Touched {
    /// The committed generation when first touched (`None`: absent).
    seen_generation: Option<u64>,
    /// The committed permissions when first touched.
    original_perms: Option<Vec<Perm>>,
    /// The transaction's version (`None`: absent or removed).
    current: Option<Node>,
    modified: bool,
}

/// One open transaction.
#[derive(Debug)]
pub(crate) struct Transaction {
    start_generation: u64,
    touched: BTreeMap<String, Touched>,
    /// Change in nodes owned, per domain, if committed.
    owned_delta: BTreeMap<u16, isize>,
    /// Watch-firing changes, by path, in first-change order.
    queued: Vec<(String, bool)>,
    /// A node had changed after the start when first touched.
    stale: bool,
}

impl Transaction {
    /// A transaction starting at the tree's current generation.
    pub(crate) fn new(tree: &Tree) -> Self {
        Self {
            start_generation: tree.generation(),
            touched: BTreeMap::new(),
            owned_delta: BTreeMap::new(),
            queued: Vec::new(),
            stale: false,
        }
    }

    /// How many nodes the transaction has touched.
    pub(crate) fn touched(&self) -> usize {
        self.touched.len()
    }

    /// The transaction's view of `tree`.
    pub(crate) fn view<'a>(&'a mut self, tree: &'a mut Tree) -> TxView<'a> {
        TxView { tree, tx: self }
    }

    /// Remember changes whose watches fire at commit.  A path is queued
    /// once; a subtree-wide (non-exact) change wins over an exact one.
    pub(crate) fn queue(&mut self, changes: Vec<Change>) {
        for change in changes {
            match self.queued.iter_mut().find(|(p, _)| *p == change.path) {
                Some((_, exact)) => *exact &= change.exact,
                None => self.queued.push((change.path, change.exact)),
            }
        }
    }

    /// Check for conflicts and quotas, then apply every change to `tree`.
    /// Returns the changes whose watches now fire.
    pub(crate) fn commit(self, tree: &mut Tree, caller: Caller) -> Result<Vec<Change>, XsError> {
        let conflict = self.stale
            || self
                .touched
                .iter()
                .any(|(p, t)| tree.node(p).map(|n| n.generation) != t.seen_generation);
        if conflict {
            return Err(XsError::EAGAIN);
        }
        let delta = self.owned_delta.get(&caller.domid).copied().unwrap_or(0);
        if let Ok(grown) = usize::try_from(delta) {
            quota::check_new_nodes(&*tree, caller, grown)?;
        }

        let mut original_perms = BTreeMap::new();
        for (path, touched) in self.touched {
            if touched.modified {
                match touched.current {
                    Some(node) => tree.put(&path, node),
                    None => tree.remove(&path),
                }
            }
            if let Some(perms) = touched.original_perms {
                original_perms.insert(path, perms);
            }
        }

        let changes = self
            .queued
            .into_iter()
            .map(|(path, exact)| {
                // As Xen: the permissions the node had before the
                // transaction, and, if it still exists, its current ones
                // and its parent's.
                let mut readable_under: Vec<Vec<Perm>> =
                    original_perms.remove(&path).into_iter().collect();
                if let Some(node) = tree.node(&path) {
                    readable_under.push(node.perms.clone());
                    if let Some(parent) = tree.node(path::parent(&path)) {
                        readable_under.push(parent.perms.clone());
                    }
                }
                Change {
                    path,
                    exact,
                    readable_under,
                }
            })
            .collect();
        Ok(changes)
    }
}

/// A transaction's view of the committed tree.
pub(crate) struct TxView<'a> {
    tree: &'a mut Tree,
    tx: &'a mut Transaction,
}

impl TxView<'_> {
    /// The transaction's record of `path`, copying it in on first touch.
    fn touch(&mut self, path: &str) -> &mut Touched {
        let tree = &*self.tree;
        let start = self.tx.start_generation;
        let stale = &mut self.tx.stale;
        self.tx
            .touched
            .entry(String::from(path))
            .or_insert_with(|| {
                let node = tree.node(path);
                if node.is_some_and(|n| n.generation > start) {
                    *stale = true;
                }
                Touched {
                    seen_generation: node.map(|n| n.generation),
                    original_perms: node.map(|n| n.perms.clone()),
                    current: node.cloned(),
                    modified: false,
                }
            })
    }

    fn count(&mut self, domid: u16, delta: isize) {
        *self.tx.owned_delta.entry(domid).or_insert(0) += delta;
    }
}

impl View for TxView<'_> {
    fn get(&mut self, path: &str) -> Option<&Node> {
        self.touch(path).current.as_ref()
    }

    fn put(&mut self, path: &str, mut node: Node) {
        node.generation = self.tree.next_generation();
        let new_owner = node.owner();
        let touched = self.touch(path);
        let old_owner = touched.current.as_ref().map(Node::owner);
        touched.current = Some(node);
        touched.modified = true;
        if let Some(old) = old_owner {
            self.count(old, -1);
        }
        self.count(new_owner, 1);
    }

    fn remove(&mut self, path: &str) {
        let touched = self.touch(path);
        let old_owner = touched.current.take().map(|n| n.owner());
        touched.modified = true;
        if let Some(old) = old_owner {
            self.count(old, -1);
        }
    }

    fn owned(&self, domid: u16) -> usize {
        let delta = self.tx.owned_delta.get(&domid).copied().unwrap_or(0);
        self.tree.owned(domid).saturating_add_signed(delta)
    }
}
