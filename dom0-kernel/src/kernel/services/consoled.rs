//! The console back-end (what `xenconsoled` is to Xen): for every DomU, its console page
//! mapped and its console channel bound; whatever the guest writes is drained into the
//! domain's scrollback ([`Consoles`]), typed input goes into the page's `in` ring.

use super::shared::{Channel, SharedPage};
use super::super::xc::DomId;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use dom0_kernel::toolstack::console::{self, Consoles, Scrollback};
use dom0_kernel::toolstack::xs_domain::Ring;
use xen_ring::RingError;

struct Backend {
    domid: DomId,
    page: SharedPage,
    channel: Channel,
    /// The guest's indices were found corrupt and not yet healthy again (reported once).
    broken: bool,
}

#[derive(Default)]
pub struct Consoled {
    backends: Vec<Backend>,
    buffers: Consoles,
}

impl Consoled {
    pub const fn new() -> Self {
        Self { backends: Vec::new(), buffers: Consoles::new() }
    }

    /// Connect to `domid`'s console ring (before the domain first runs).
    pub fn attach(&mut self, domid: DomId, ring: Ring) -> Result<(), String> {
        if ring.mfn == 0 {
            return Err(format!("domain {domid} has no console page"));
        }
        let page = SharedPage::map(domid, ring.mfn)?;
        let channel = Channel::bind(domid, ring.port)?;
        self.backends.retain(|b| b.domid != domid);
        self.backends.push(Backend { domid, page, channel, broken: false });
        self.buffers.open(domid);
        Ok(())
    }

    /// Disconnect from `domid`: take its last output, unbind, unmap; its buffer is kept.
    pub fn detach(&mut self, domid: DomId, notices: &mut Vec<String>) {
        if let Some(i) = self.backends.iter().position(|b| b.domid == domid) {
            let mut backend = self.backends.remove(i);
            drain(&mut backend, &mut self.buffers, notices);
        }
        self.buffers.close(domid);
    }

    /// Service the ring whose channel is `port`, if it is one of ours. Returns whether it was.
    pub fn on_event(&mut self, port: u32, notices: &mut Vec<String>) -> bool {
        let Some(backend) = self.backends.iter_mut().find(|b| b.channel.port() == port) else {
            return false;
        };
        drain(backend, &mut self.buffers, notices);
        true
    }

    /// Typed bytes for `domid`'s console; returns how many fitted in its `in` ring.
    pub fn send_input(&mut self, domid: DomId, bytes: &[u8]) -> usize {
        let Some(backend) = self.backends.iter().find(|b| b.domid == domid) else {
            return 0;
        };
        let n = console::send_input(backend.page.mem(), bytes);
        if n > 0 {
            backend.channel.notify();
        }
        n
    }

    /// The domains whose console is connected.
    pub fn attached(&self) -> impl Iterator<Item = DomId> + '_ {
        self.backends.iter().map(|b| b.domid)
    }

    pub fn buffers(&self) -> &Consoles {
        &self.buffers
    }
}

fn drain(backend: &mut Backend, buffers: &mut Consoles, notices: &mut Vec<String>) {
    let mut orphan = Scrollback::new();
    let into = match buffers.live_mut(backend.domid) {
        Some(s) => s,
        // Every attached domain has a live buffer; should one be missing, the ring is still
        // drained so the guest never stalls.
        None => &mut orphan,
    };
    match console::drain_output(backend.page.mem(), into) {
        Ok(0) => {}
        Ok(_) => {
            backend.broken = false;
            // The guest may be waiting for space in its `out` ring.
            backend.channel.notify();
        }
        Err(e) => {
            if !core::mem::replace(&mut backend.broken, true) {
                let why = if e == RingError::Overflow { String::from("corrupt ring indices; output discarded") } else { format!("{e}") };
                notices.push(format!("consoled: domain {}: {why}", backend.domid));
            }
            backend.channel.notify();
        }
    }
}
