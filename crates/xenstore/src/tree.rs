//! The node database: a flat map from absolute path to [`Node`], with
//! per-owner node counts (for quotas) and the generation counter that
//! transactions use to detect conflicts.
//!
//! Operations reach nodes through the [`View`] trait, implemented by the
//! [`Tree`] itself (direct changes) and by a transaction's private view
//! (see `transaction.rs`), so one implementation of each request serves
//! both.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use crate::perm::{Access, Perm};

/// One node: a value, the names of its children (in creation order, as
/// `XS_DIRECTORY` lists them), its permissions and its generation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Node {
    pub(crate) value: Vec<u8>,
    pub(crate) children: Vec<String>,
    /// Never empty: the first entry is the owner.
    pub(crate) perms: Vec<Perm>,
    /// Set from the store's counter on every change.
    pub(crate) generation: u64,
}

impl Node {
    /// An empty node with these permissions.
    pub(crate) fn new(perms: Vec<Perm>) -> Self {
        Self {
            value: Vec::new(),
            children: Vec::new(),
            perms,
            generation: 0,
        }
    }

    /// The owning domain.
    pub(crate) fn owner(&self) -> u16 {
        self.perms.first().map_or(0, |p| p.domid)
    }
}

/// Permissions of the nodes the daemon creates: owned by Dom0, no access
/// for anyone else (`n0`).
pub(crate) fn dom0_only() -> Vec<Perm> {
    alloc::vec![Perm::new(0, Access::None)]
}

/// Access to nodes by path, for the request implementations.
pub(crate) trait View {
    /// The node at `path`, if it exists (inside a transaction: as the
    /// transaction sees it, recording the access).
    fn get(&mut self, path: &str) -> Option<&Node>;
    /// Store `node` at `path` (creating or replacing), stamping a new
    /// generation.
    fn put(&mut self, path: &str, node: Node);
    /// Delete the single node at `path` (children are the caller's job).
    fn remove(&mut self, path: &str);
    /// How many nodes `domid` owns, as this view sees it.
    fn owned(&self, domid: u16) -> usize;
}

/// The committed database.
#[derive(Debug)]
pub(crate) struct Tree {
    nodes: BTreeMap<String, Node>,
    owned: BTreeMap<u16, usize>,
    generation: u64,
}

impl Tree {
    /// A tree holding only the root, owned by Dom0 (`n0`).
    pub(crate) fn new() -> Self {
        let mut tree = Self {
            nodes: BTreeMap::new(),
            owned: BTreeMap::new(),
            generation: 0,
        };
        tree.put("/", Node::new(dom0_only()));
        tree
    }

    /// The current generation: every change stamps a larger one.
    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }

    /// A new, never used generation.
    pub(crate) fn next_generation(&mut self) -> u64 {
        self.generation += 1;
        self.generation
    }

    /// The node at `path`.
    pub(crate) fn node(&self, path: &str) -> Option<&Node> {
        self.nodes.get(path)
    }

    /// Every path, in order (for whole-store maintenance).
    pub(crate) fn paths(&self) -> Vec<String> {
        self.nodes.keys().cloned().collect()
    }

    fn count(&mut self, domid: u16, delta: isize) {
        let n = self.owned.entry(domid).or_insert(0);
        *n = n.saturating_add_signed(delta);
        if *n == 0 {
            self.owned.remove(&domid);
        }
    }
}

impl View for Tree {
    fn get(&mut self, path: &str) -> Option<&Node> {
        self.nodes.get(path)
    }

    fn put(&mut self, path: &str, mut node: Node) {
        node.generation = self.next_generation();
        let new_owner = node.owner();
        if let Some(old) = self.nodes.insert(String::from(path), node) {
            self.count(old.owner(), -1);
        }
        self.count(new_owner, 1);
    }

    fn remove(&mut self, path: &str) {
        if let Some(old) = self.nodes.remove(path) {
            self.count(old.owner(), -1);
        }
    }

    fn owned(&self, domid: u16) -> usize {
        self.owned.get(&domid).copied().unwrap_or(0)
    }
}

#[cfg(test)]
impl Tree {
    /// Panic unless the tree is consistent: parents list exactly their
    /// existing children, every node has permissions, and the owner counts
    /// match.
    pub(crate) fn check(&self) {
        use crate::path;
        assert!(self.nodes.contains_key("/"), "root missing");
        let mut owned: BTreeMap<u16, usize> = BTreeMap::new();
        for (at, node) in &self.nodes {
            assert!(!node.perms.is_empty(), "{at}: no permissions");
            *owned.entry(node.owner()).or_insert(0) += 1;
            let mut names = node.children.clone();
            names.sort();
            names.dedup();
            assert_eq!(names.len(), node.children.len(), "{at}: duplicate children");
            for name in &node.children {
                assert!(
                    self.nodes.contains_key(&path::child(at, name)),
                    "{at}: lost child {name}"
                );
            }
            if at != "/" && !at.starts_with('@') {
                let parent = &self.nodes[path::parent(at)];
                assert!(
                    parent.children.iter().any(|c| c == path::basename(at)),
                    "{at}: not listed by its parent"
                );
            }
        }
        assert_eq!(owned, self.owned, "owner counts");
    }
}
