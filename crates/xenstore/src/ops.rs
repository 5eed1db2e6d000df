//! The node requests (read, write, mkdir, rm, directory, permissions),
//! written once over a [`View`] so they serve direct requests and
//! transactions alike.  Each returns the [`Change`]s that may fire watches;
//! the caller fires them now or at commit.
//!
//! Semantics follow Xen's C daemon:
//! - a missing node is reported as `ENOENT` only if the nearest existing
//!   ancestor grants the caller the access asked for, else as `EACCES`, so
//!   a domain learns nothing about nodes it may not see;
//! - writes create missing ancestors, each inheriting its parent's
//!   permissions but owned by the creating domain if it is unprivileged;
//!   only the written node's path fires watches;
//! - removing a subtree fires the removed root (and its ancestors'
//!   watches) and each removed descendant exactly, deepest first.

use alloc::string::String;
use alloc::vec::Vec;

use crate::error::XsError;
use crate::path;
use crate::perm::{Caller, Perm, Rights};
use crate::quota;
use crate::tree::{Node, View};
use crate::watch::Change;

/// The node at `path` if `caller` holds `wanted` on it; otherwise
/// `EACCES`, or `ENOENT`/`EACCES` for a missing node as described above.
fn checked(
    view: &mut dyn View,
    caller: Caller,
    path: &str,
    wanted: Rights,
) -> Result<Node, XsError> {
    if let Some(node) = view.get(path) {
        return if caller.rights(&node.perms).contains(wanted) {
            Ok(node.clone())
        } else {
            Err(XsError::EACCES)
        };
    }
    let mut ancestor = path;
    loop {
        ancestor = path::parent(ancestor);
        if let Some(node) = view.get(ancestor) {
            return if caller.rights(&node.perms).intersects(wanted) {
                Err(XsError::ENOENT)
            } else {
                Err(XsError::EACCES)
            };
        }
        if ancestor == "/" {
            // The root always exists; refuse rather than loop.
            return Err(XsError::EACCES);
        }
    }
}

fn parent_perms(view: &mut dyn View, path: &str) -> Option<Vec<Perm>> {
    view.get(path::parent(path)).map(|p| p.perms.clone())
}

/// `XS_READ`: the value.
pub(crate) fn read(view: &mut dyn View, caller: Caller, path: &str) -> Result<Vec<u8>, XsError> {
    Ok(checked(view, caller, path, Rights::READ)?.value)
}

/// `XS_DIRECTORY`: the children's names.
pub(crate) fn directory(
    view: &mut dyn View,
    caller: Caller,
    path: &str,
) -> Result<Vec<String>, XsError> {
    Ok(checked(view, caller, path, Rights::READ)?.children)
}

/// `XS_DIRECTORY_PART`: the generation and the children's names (for the
/// caller to slice).
pub(crate) fn directory_part(
    view: &mut dyn View,
    caller: Caller,
    path: &str,
) -> Result<(u64, Vec<String>), XsError> {
    let node = checked(view, caller, path, Rights::READ)?;
    Ok((node.generation, node.children))
}

/// `XS_GET_PERMS`.
pub(crate) fn get_perms(
    view: &mut dyn View,
    caller: Caller,
    path: &str,
) -> Result<Vec<Perm>, XsError> {
    Ok(checked(view, caller, path, Rights::READ)?.perms)
}

/// `XS_WRITE`.
pub(crate) fn write(
    view: &mut dyn View,
    caller: Caller,
    path: &str,
    value: &[u8],
) -> Result<Vec<Change>, XsError> {
    match checked(view, caller, path, Rights::WRITE) {
        Ok(mut node) => {
            quota::check_value(caller, value)?;
            node.value = value.to_vec();
            let change = Change::new(
                path,
                false,
                &node.perms,
                parent_perms(view, path).as_deref(),
            );
            view.put(path, node);
            Ok(alloc::vec![change])
        }
        Err(XsError::ENOENT) => {
            quota::check_value(caller, value)?;
            create(view, caller, path, value).map(|c| alloc::vec![c])
        }
        Err(e) => Err(e),
    }
}

/// `XS_MKDIR`: create the node (and missing ancestors) if absent.
pub(crate) fn mkdir(
    view: &mut dyn View,
    caller: Caller,
    path: &str,
) -> Result<Vec<Change>, XsError> {
    match checked(view, caller, path, Rights::WRITE) {
        Ok(_) => Ok(Vec::new()),
        Err(XsError::ENOENT) => create(view, caller, path, &[]).map(|c| alloc::vec![c]),
        Err(e) => Err(e),
    }
}

/// Create `path` with `value` and any missing ancestors, all or nothing.
fn create(
    view: &mut dyn View,
    caller: Caller,
    path: &str,
    value: &[u8],
) -> Result<Change, XsError> {
    // Missing nodes from `path` upwards, then the existing ancestor.
    let mut missing = alloc::vec![String::from(path)];
    let mut parent = loop {
        let up = path::parent(missing.last().map_or(path, String::as_str));
        match view.get(up) {
            Some(node) => break node.clone(),
            None if up == "/" => return Err(XsError::EIO), // root is never missing
            None => missing.push(String::from(up)),
        }
    };
    quota::check_new_nodes(view, caller, missing.len())?;

    let mut parent_path = String::from(path::parent(missing.last().map_or(path, String::as_str)));
    let mut change = None;
    while let Some(name) = missing.pop() {
        let mut node = Node::new(parent.perms.clone());
        if !caller.privileged {
            if let Some(owner) = node.perms.first_mut() {
                owner.domid = caller.domid;
            }
        }
        if missing.is_empty() {
            node.value = value.to_vec();
            change = Some(Change::new(&name, false, &node.perms, Some(&parent.perms)));
        }
        parent.children.push(String::from(path::basename(&name)));
        view.put(&parent_path, parent);
        view.put(&name, node.clone());
        parent = node;
        parent_path = name;
    }
    change.ok_or(XsError::EIO)
}

/// `XS_RM`: remove the node and everything below it.  A missing node is
/// fine if its parent exists.
pub(crate) fn rm(view: &mut dyn View, caller: Caller, path: &str) -> Result<Vec<Change>, XsError> {
    match checked(view, caller, path, Rights::WRITE) {
        Ok(_) if path == "/" => Err(XsError::EINVAL),
        Ok(_) => Ok(remove_subtree(view, path)),
        Err(XsError::ENOENT) if view.get(path::parent(path)).is_some() => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// Remove an existing non-root subtree without permission checks (the
/// caller checked the root), unlinking it from its parent.
pub(crate) fn remove_subtree(view: &mut dyn View, root: &str) -> Vec<Change> {
    let mut changes = Vec::new();
    // Post-order walk with an explicit stack: a path is at most 3072
    // bytes, so recursion could nest ~1500 deep.
    let mut stack: Vec<(String, bool)> = alloc::vec![(String::from(root), false)];
    while let Some((path, expanded)) = stack.pop() {
        let Some(node) = view.get(&path) else {
            continue;
        };
        if !expanded {
            let children: Vec<String> = node
                .children
                .iter()
                .map(|c| path::child(&path, c))
                .collect();
            stack.push((path, true));
            stack.extend(children.into_iter().rev().map(|c| (c, false)));
            continue;
        }
        let perms = node.perms.clone();
        let parent = parent_perms(view, &path);
        changes.push(Change::new(&path, path != root, &perms, parent.as_deref()));
        view.remove(&path);
    }
    let parent_path = path::parent(root);
    if let Some(parent) = view.get(parent_path) {
        let mut parent = parent.clone();
        let name = path::basename(root);
        parent.children.retain(|c| c != name);
        view.put(parent_path, parent);
    }
    changes
}

/// `XS_SET_PERMS`: only the owner (or a privileged caller) may, and an
/// unprivileged owner may not give the node away.
pub(crate) fn set_perms(
    view: &mut dyn View,
    caller: Caller,
    path: &str,
    perms: &[Perm],
) -> Result<Vec<Change>, XsError> {
    if perms.is_empty() {
        return Err(XsError::EINVAL);
    }
    quota::check_perm_count(caller, perms.len())?;
    let mut node = checked(view, caller, path, Rights::WRITE.union(Rights::OWNER))?;
    if !caller.privileged && perms[0].domid != node.owner() {
        return Err(XsError::EPERM);
    }
    let old = core::mem::replace(&mut node.perms, perms.to_vec());
    let mut change = Change::new(
        path,
        false,
        &node.perms,
        parent_perms(view, path).as_deref(),
    );
    change.readable_under.push(old);
    view.put(path, node);
    Ok(alloc::vec![change])
}
