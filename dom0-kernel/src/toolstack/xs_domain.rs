//! What the toolstack writes to XenStore for a new domain: the
//! `/local/domain/<id>` directory as libxl lays it out for a PV guest
//! (`libxl__domain_make` and `libxl__build_post`), with libxl's
//! permissions.
//!
//! Permissions are XenStore's wire strings (`n0`, `r5`): the first names
//! the owner (who may do anything) and what every other domain may do,
//! later ones grant more to particular domains. libxl uses two sets:
//! - read-only: `n0 r<id>`, owned by Dom0, readable by the domain and by
//!   nobody else (so one DomU cannot read another's keys);
//! - read-write: `n<id>`, owned by the domain, for the keys the guest
//!   itself writes (`control/shutdown` to acknowledge a request,
//!   `control/feature-*` to advertise what it supports, `data`, ...).

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

/// One node to create: absolute path, value and permissions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSpec {
    /// Absolute path.
    pub path: String,
    /// Value (empty for a directory).
    pub value: String,
    /// Permission strings, owner first (`n0`, `r3`, ...).
    pub perms: Vec<String>,
}

/// A shared ring page and the domain's end of its event channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ring {
    /// Machine frame of the page (what a PV guest's `ring-ref` holds).
    pub mfn: u64,
    /// The domain's port.
    pub port: u32,
}

/// What the domain's entries say about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainEntries<'a> {
    /// Its id.
    pub domid: u16,
    /// Its name.
    pub name: &'a str,
    /// Memory it was given, in KiB (`memory/target`, `memory/static-max`).
    pub memory_kib: u64,
    /// The XenStore ring (`store/`).
    pub store: Ring,
    /// The console ring (`console/`).
    pub console: Ring,
}

/// `/local/domain/<id>`.
pub fn domain_path(domid: u16) -> String {
    xenstore::domain_path(u32::from(domid))
}

/// libxl's read-only set for `domid`'s entries: owner Dom0, others
/// nothing, `domid` may read.
pub fn read_only(domid: u16) -> Vec<String> {
    vec!["n0".to_string(), format!("r{domid}")]
}

/// libxl's read-write set: owned by `domid` (others nothing).
pub fn read_write(domid: u16) -> Vec<String> {
    vec![format!("n{domid}")]
}

/// Keys under `control/` the guest may write (libxl's `rwperm` ones).
pub const GUEST_CONTROL_KEYS: &[&str] = &[
    "shutdown",
    "feature-poweroff",
    "feature-reboot",
    "feature-suspend",
    "sysrq",
];

/// Directories libxl hands to the guest outright.
pub const GUEST_DIRECTORIES: &[&str] = &["data", "drivers", "feature", "attr", "error"];

/// Every node of a new domain's directory, parents before children.
pub fn domain_nodes(d: &DomainEntries<'_>) -> Vec<NodeSpec> {
    let base = domain_path(d.domid);
    let mut nodes = Vec::new();
    let mut add = |rel: &str, value: String, perms: Vec<String>| {
        let path = if rel.is_empty() {
            base.clone()
        } else {
            format!("{base}/{rel}")
        };
        nodes.push(NodeSpec { path, value, perms });
    };
    let ro = || read_only(d.domid);
    let rw = || read_write(d.domid);
    add("", String::new(), ro());
    add("name", d.name.into(), ro());
    add("domid", d.domid.to_string(), ro());
    add("memory", String::new(), ro());
    add("memory/static-max", d.memory_kib.to_string(), ro());
    add("memory/target", d.memory_kib.to_string(), ro());
    add("cpu", String::new(), ro());
    add("cpu/0", String::new(), ro());
    add("cpu/0/availability", "online".into(), ro());
    add("store", String::new(), ro());
    add("store/port", d.store.port.to_string(), ro());
    add("store/ring-ref", d.store.mfn.to_string(), ro());
    add("console", String::new(), ro());
    add("console/ring-ref", d.console.mfn.to_string(), ro());
    add("console/port", d.console.port.to_string(), ro());
    add("console/type", "xenconsoled".into(), ro());
    add("console/limit", super::console::SCROLLBACK.to_string(), ro());
    add("device", String::new(), ro());
    add("control", String::new(), ro());
    for key in GUEST_CONTROL_KEYS {
        add(&format!("control/{key}"), String::new(), rw());
    }
    add(
        "control/platform-feature-xs_reset_watches",
        "1".into(),
        ro(),
    );
    for dir in GUEST_DIRECTORIES {
        add(dir, String::new(), rw());
    }
    nodes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries() -> DomainEntries<'static> {
        DomainEntries {
            domid: 3,
            name: "idle",
            memory_kib: 16384,
            store: Ring { mfn: 0x1234, port: 1 },
            console: Ring { mfn: 0x1235, port: 2 },
        }
    }

    fn find<'a>(nodes: &'a [NodeSpec], rel: &str) -> &'a NodeSpec {
        let path = format!("/local/domain/3{rel}");
        nodes
            .iter()
            .find(|n| n.path == path)
            .unwrap_or_else(|| panic!("no {path}"))
    }

    #[test]
    fn libxl_layout() {
        let nodes = domain_nodes(&entries());
        assert_eq!(nodes[0].path, "/local/domain/3");
        assert_eq!(nodes[0].perms, ["n0", "r3"]);
        assert_eq!(find(&nodes, "/name").value, "idle");
        assert_eq!(find(&nodes, "/domid").value, "3");
        assert_eq!(find(&nodes, "/memory/target").value, "16384");
        assert_eq!(find(&nodes, "/store/ring-ref").value, "4660");
        assert_eq!(find(&nodes, "/store/port").value, "1");
        assert_eq!(find(&nodes, "/console/ring-ref").value, "4661");
        assert_eq!(find(&nodes, "/console/port").value, "2");
        assert_eq!(find(&nodes, "/console/type").value, "xenconsoled");
        let shutdown = find(&nodes, "/control/shutdown");
        assert_eq!((shutdown.value.as_str(), &shutdown.perms[..]), ("", &["n3".to_string()][..]));
        assert_eq!(find(&nodes, "/control").perms, ["n0", "r3"]);
        assert_eq!(find(&nodes, "/device").perms, ["n0", "r3"]);
        assert_eq!(find(&nodes, "/data").perms, ["n3"]);
    }

    #[test]
    fn parents_come_first_and_paths_are_unique() {
        let nodes = domain_nodes(&entries());
        for (i, n) in nodes.iter().enumerate() {
            assert!(nodes[..i].iter().all(|m| m.path != n.path), "{} twice", n.path);
            if i > 0 {
                let parent = &n.path[..n.path.rfind('/').unwrap()];
                assert!(
                    nodes[..i].iter().any(|m| m.path == parent),
                    "{} before its parent",
                    n.path
                );
            }
            // Only the guest's own keys are writable by it; nothing is
            // readable by other domains.
            assert!(n.perms[0] == "n0" || n.perms[0] == "n3");
        }
    }
}
