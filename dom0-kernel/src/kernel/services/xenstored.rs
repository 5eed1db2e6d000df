//! The XenStore daemon as Dom0 runs it: the host-tested [`Daemon`] (store and connections)
//! plus, for every DomU, its XenStore page mapped and its store channel bound.

use super::shared::{Channel, SharedPage};
use super::super::xc::DomId;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use dom0_kernel::toolstack::xenstored::{Activity, Daemon};
use dom0_kernel::toolstack::xs_domain::{domain_nodes, DomainEntries};
use xenstore::{Perm, XsError};

struct Link {
    domid: DomId,
    page: SharedPage,
    channel: Channel,
}

pub struct Xenstored {
    daemon: Daemon,
    links: Vec<Link>,
}

impl Xenstored {
    pub fn new() -> Self {
        Self { daemon: Daemon::new(), links: Vec::new() }
    }

    /// Dom0's own entries, as `xen-init-dom0` writes them: `/local/domain/0/{name,domid}`.
    pub fn describe_dom0(&mut self) -> Result<(), XsError> {
        self.daemon.write("/local/domain/0/name", b"Domain-0")?;
        self.daemon.write("/local/domain/0/domid", b"0")
    }

    pub fn daemon(&mut self) -> &mut Daemon {
        &mut self.daemon
    }

    /// Connect a new domain (before it first runs): map its XenStore page, bind its store
    /// channel, write its `/local/domain/<id>` entries as libxl does, and introduce it (which
    /// fires `@introduceDomain`).
    pub fn introduce(&mut self, d: &DomainEntries<'_>) -> Result<(), String> {
        if d.store.mfn == 0 {
            return Err(format!("domain {} has no XenStore page", d.domid));
        }
        let page = SharedPage::map(d.domid, d.store.mfn)?;
        let channel = Channel::bind(d.domid, d.store.port)?;
        let base = dom0_kernel::toolstack::xs_domain::domain_path(d.domid);
        let fill = |daemon: &mut Daemon| -> Result<(), XsError> {
            // A stale directory of an earlier domain with this id must not leak into this one.
            match daemon.rm(&base) {
                Ok(()) | Err(XsError::ENOENT) => {}
                Err(e) => return Err(e),
            }
            for node in domain_nodes(d) {
                daemon.write(&node.path, node.value.as_bytes())?;
                let perms = node.perms.iter().map(|p| Perm::parse(p.as_bytes())).collect::<Result<Vec<_>, _>>()?;
                daemon.set_perms(&node.path, &perms)?;
            }
            daemon.introduce(d.domid)
        };
        if let Err(e) = fill(&mut self.daemon) {
            let _ = self.daemon.rm(&base);
            return Err(format!("cannot write {base}: {}", e.name()));
        }
        self.links.retain(|l| l.domid != d.domid);
        self.links.push(Link { domid: d.domid, page, channel });
        Ok(())
    }

    /// Disconnect `domid`: forget its connection (firing `@releaseDomain`), remove its
    /// `/local/domain/<id>` and the back-end directories serving it, unbind and unmap.
    pub fn release(&mut self, domid: DomId, notices: &mut Vec<String>) {
        if !self.daemon.is_connected(domid) && !self.links.iter().any(|l| l.domid == domid) {
            return;
        }
        let _ = self.daemon.release(domid);
        let _ = self.daemon.rm(&dom0_kernel::toolstack::xs_domain::domain_path(domid));
        for path in self.backends_serving(domid) {
            let _ = self.daemon.rm(&path);
        }
        self.links.retain(|l| l.domid != domid);
        notices.extend(self.flush());
    }

    /// `/local/domain/<be>/backend/<class>/<domid>` for every back-end domain and class.
    fn backends_serving(&self, domid: DomId) -> Vec<String> {
        let store = self.daemon.store();
        let mut paths = Vec::new();
        for be in store.directory("/local/domain").unwrap_or_default() {
            let backend = format!("/local/domain/{be}/backend");
            for class in store.directory(&backend).unwrap_or_default() {
                let path = format!("{backend}/{class}/{domid}");
                if store.read(&path).is_ok() {
                    paths.push(path);
                }
            }
        }
        paths
    }

    pub fn is_connected(&self, domid: DomId) -> bool {
        self.links.iter().any(|l| l.domid == domid) && self.daemon.is_connected(domid)
    }

    /// Service the ring whose channel is `port`, if ours. Returns `Some(more)` when it was
    /// (`more`: its budget ran out and it should be serviced again).
    pub fn on_event(&mut self, port: u32, notices: &mut Vec<String>) -> Option<bool> {
        let link = self.links.iter().find(|l| l.channel.port() == port)?;
        let activity = self.daemon.read_requests(link.domid, link.page.mem());
        let more = activity.more;
        report(link, activity, notices);
        Some(more)
    }

    /// Send queued replies and watch events wherever there is room.
    pub fn flush(&mut self) -> Vec<String> {
        let mut notices = self.daemon.take_notices();
        for link in &self.links {
            if self.daemon.has_output(link.domid) {
                let activity = self.daemon.write_replies(link.domid, link.page.mem());
                report(link, activity, &mut notices);
            }
        }
        notices
    }
}

fn report(link: &Link, activity: Activity, notices: &mut Vec<String>) {
    if activity.moved {
        link.channel.notify();
    }
    notices.extend(activity.notices);
}
