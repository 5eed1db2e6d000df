//! The toolstack's part: the XenStore nodes Dom0 writes to create a
//! device, and their removal.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use xen_abi::domid::DomId;

use crate::path::{backend_dir, frontend_dir, is_valid_element, join, keys};
use crate::state::XenbusState;
use crate::store::XenbusStore;
use crate::{Access, Perm, XsError};

/// One node to create: write `value` at `path`, then set `perms`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// Absolute path.
    pub path: String,
    /// Value (`""` for a directory).
    pub value: String,
    /// Permissions; the first entry is the owner and the default.
    pub perms: Vec<Perm>,
}

impl Node {
    /// The permissions in wire syntax (`["n5", "r0"]`).
    pub fn perm_strings(&self) -> Vec<String> {
        self.perms.iter().map(|p| alloc::format!("{p}")).collect()
    }
}

/// The nodes that create device `<class>/<devid>` between front-end
/// domain `fe_domid` and back-end domain `be_domid`, with `extra`
/// class-specific keys (e.g. `("mode", "w")`) in the back-end directory.
/// See [`device_nodes_split`] for keys on both sides.
pub fn device_nodes(
    class: &str,
    devid: u32,
    fe_domid: DomId,
    be_domid: DomId,
    extra: &[(&str, &str)],
) -> Vec<Node> {
    device_nodes_split(class, devid, fe_domid, be_domid, &[], extra)
}

/// [`device_nodes`] with class-specific keys for each directory.
///
/// The front-end directory (and everything in it) is owned by the front
/// end, readable by the back end; the back-end directory is owned by the
/// back end, readable by the front end; no other domain (but Dom0, which
/// may do anything) sees either.  Both `state` nodes start `Initialising`.
/// Each directory node comes before its keys.
pub fn device_nodes_split(
    class: &str,
    devid: u32,
    fe_domid: DomId,
    be_domid: DomId,
    frontend_extra: &[(&str, &str)],
    backend_extra: &[(&str, &str)],
) -> Vec<Node> {
    let fe_dir = frontend_dir(fe_domid, class, devid);
    let be_dir = backend_dir(be_domid, class, fe_domid, devid);
    let fe_perms = vec![
        Perm::new(fe_domid, Access::None),
        Perm::new(be_domid, Access::Read),
    ];
    let be_perms = vec![
        Perm::new(be_domid, Access::None),
        Perm::new(fe_domid, Access::Read),
    ];
    let initialising = XenbusState::Initialising.as_decimal();
    let fe_keys = [
        (keys::BACKEND, be_dir.as_str()),
        (keys::BACKEND_ID, &*alloc::format!("{be_domid}")),
        (keys::STATE, initialising),
    ]
    .map(|(k, v)| (k, String::from(v)));
    let be_keys = [
        (keys::FRONTEND, fe_dir.as_str()),
        (keys::FRONTEND_ID, &*alloc::format!("{fe_domid}")),
        (keys::STATE, initialising),
    ]
    .map(|(k, v)| (k, String::from(v)));

    let mut nodes = Vec::new();
    for (dir, perms, standard, extra) in [
        (&fe_dir, &fe_perms, &fe_keys, frontend_extra),
        (&be_dir, &be_perms, &be_keys, backend_extra),
    ] {
        let node = |path: String, value: &str| Node {
            path,
            value: value.into(),
            perms: perms.clone(),
        };
        nodes.push(node(dir.clone(), ""));
        for (key, value) in standard {
            nodes.push(node(join(dir, key), value));
        }
        for (key, value) in extra {
            nodes.push(node(join(dir, key), value));
        }
    }
    nodes
}

/// Writes `nodes` in order, setting each one's permissions right after
/// it is written.  `EINVAL` for a device class or key that is not a
/// plain path element (checked before anything is written).
pub fn create_device(store: &mut dyn XenbusStore, nodes: &[Node]) -> Result<(), XsError> {
    let malformed = |n: &Node| {
        n.perms.is_empty()
            || !n.path.starts_with('/')
            || n.path
                .split('/')
                .skip(1)
                .any(|element| !is_valid_element(element))
    };
    if nodes.iter().any(malformed) {
        return Err(XsError::EINVAL);
    }
    for node in nodes {
        store.write(&node.path, &node.value)?;
        store.set_perms(&node.path, &node.perms)?;
    }
    Ok(())
}

/// Removes both directories of a device (after both ends are `Closed`).
/// A directory already gone is not an error.
pub fn remove_device(
    store: &mut dyn XenbusStore,
    class: &str,
    devid: u32,
    fe_domid: DomId,
    be_domid: DomId,
) -> Result<(), XsError> {
    for dir in [
        frontend_dir(fe_domid, class, devid),
        backend_dir(be_domid, class, fe_domid, devid),
    ] {
        match store.rm(&dir) {
            Err(e) if e != XsError::ENOENT => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn nodes_for_a_vif() {
        let nodes = device_nodes("vif", 0, 5, 0, &[("mac", "00:16:3e:00:00:01")]);
        let summary: Vec<(&str, &str, Vec<String>)> = nodes
            .iter()
            .map(|n| (n.path.as_str(), n.value.as_str(), n.perm_strings()))
            .collect();
        let fe = vec!["n5".to_string(), "r0".to_string()];
        let be = vec!["n0".to_string(), "r5".to_string()];
        assert_eq!(
            summary,
            vec![
                ("/local/domain/5/device/vif/0", "", fe.clone()),
                (
                    "/local/domain/5/device/vif/0/backend",
                    "/local/domain/0/backend/vif/5/0",
                    fe.clone()
                ),
                ("/local/domain/5/device/vif/0/backend-id", "0", fe.clone()),
                ("/local/domain/5/device/vif/0/state", "1", fe.clone()),
                ("/local/domain/0/backend/vif/5/0", "", be.clone()),
                (
                    "/local/domain/0/backend/vif/5/0/frontend",
                    "/local/domain/5/device/vif/0",
                    be.clone()
                ),
                (
                    "/local/domain/0/backend/vif/5/0/frontend-id",
                    "5",
                    be.clone()
                ),
                ("/local/domain/0/backend/vif/5/0/state", "1", be.clone()),
                (
                    "/local/domain/0/backend/vif/5/0/mac",
                    "00:16:3e:00:00:01",
                    be.clone()
                ),
            ]
        );
        let split = device_nodes_split("vif", 0, 5, 0, &[("mac", "m")], &[]);
        assert_eq!(split[4].path, "/local/domain/5/device/vif/0/mac");
        assert_eq!(split.len(), 9);
    }
}
