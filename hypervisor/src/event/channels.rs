//! The port table of one domain.
//!
//! Locking: a channel's two ends live in two tables, and Xen guards them with the per-domain
//! `event_lock` (taken lower domain first) plus a per-channel lock for senders. This hypervisor
//! runs on one pCPU and handles every trap under the one global lock of `hv.rs`, with
//! interrupts off, so a hypercall sees and changes both tables atomically and no finer lock
//! would protect anything today. With SMP the per-channel lock belongs in each `Binding` slot
//! of `ports` (held by `send` while it reads the peer and sets pending), and the per-domain
//! lock around `EventChannels` itself (taken by `interdomain`'s bind/close in domain-id order).

use crate::mm::{DomId, Errno};
use alloc::vec::Vec;
use xen_abi::event::{
    EVTCHNSTAT_CLOSED, EVTCHNSTAT_INTERDOMAIN, EVTCHNSTAT_IPI, EVTCHNSTAT_UNBOUND, EVTCHNSTAT_VIRQ,
    EVTCHN_2L_NR_CHANNELS, NR_VIRQS, VIRQ_TIMER,
};

/// What a port is bound to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Binding {
    Free,
    /// Allocated, waiting for `remote` to bind to it.
    Unbound { remote: DomId },
    Interdomain { remote: DomId, remote_port: u32 },
    Virq { virq: u32, vcpu: u32 },
    Ipi { vcpu: u32 },
}

/// Whether a VIRQ is delivered per vCPU (any vCPU may bind its own) or globally (vCPU 0 only).
pub fn virq_is_per_vcpu(virq: u32) -> bool {
    matches!(virq, VIRQ_TIMER | 1 /* DEBUG */ | 7 /* XENOPROF */ | 13 /* XENPMU */)
}

/// VIRQs this hypervisor can raise; binding another is accepted by Xen too, so we accept every
/// number below NR_VIRQS and simply never fire the ones we have no source for.
pub fn virq_is_known(virq: u32) -> bool {
    virq < NR_VIRQS
}

/// The ports of one domain. Port 0 is never handed out (Xen reserves it).
#[derive(Debug)]
pub struct EventChannels {
    ports: Vec<Binding>,
    /// `virq_ports[vcpu][virq]`: the port a VIRQ is bound to, 0 for none.
    virq_ports: Vec<[u32; NR_VIRQS as usize]>,
}

impl EventChannels {
    pub fn new(nr_vcpus: u32) -> Self {
        let ports = alloc::vec![Binding::Free]; // port 0: reserved
        EventChannels { ports, virq_ports: (0..nr_vcpus).map(|_| [0; NR_VIRQS as usize]).collect() }
    }

    pub fn binding(&self, port: u32) -> Option<Binding> {
        if port == 0 {
            return None;
        }
        self.ports.get(port as usize).copied().filter(|b| *b != Binding::Free)
    }

    fn allocate(&mut self, binding: Binding) -> Result<u32, Errno> {
        if let Some(port) = self.ports.iter().skip(1).position(|b| *b == Binding::Free) {
            self.ports[port + 1] = binding;
            return Ok(port as u32 + 1);
        }
        if self.ports.len() >= EVTCHN_2L_NR_CHANNELS as usize {
            return Err(Errno::ENOSPC);
        }
        self.ports.push(binding);
        Ok(self.ports.len() as u32 - 1)
    }

    pub fn bind_virq(&mut self, virq: u32, vcpu: u32) -> Result<u32, Errno> {
        if !virq_is_known(virq) {
            return Err(Errno::EINVAL);
        }
        let slot = self.virq_ports.get(vcpu as usize).ok_or(Errno::ENOENT)?;
        if !virq_is_per_vcpu(virq) && vcpu != 0 {
            return Err(Errno::EINVAL);
        }
        if slot[virq as usize] != 0 {
            return Err(Errno::EEXIST);
        }
        let port = self.allocate(Binding::Virq { virq, vcpu })?;
        self.virq_ports[vcpu as usize][virq as usize] = port;
        Ok(port)
    }

    pub fn bind_ipi(&mut self, vcpu: u32) -> Result<u32, Errno> {
        if vcpu as usize >= self.virq_ports.len() {
            return Err(Errno::ENOENT);
        }
        self.allocate(Binding::Ipi { vcpu })
    }

    pub fn alloc_unbound(&mut self, remote: DomId) -> Result<u32, Errno> {
        self.allocate(Binding::Unbound { remote })
    }

    /// The local half of `bind_interdomain`: a new port already connected to the peer.
    pub fn alloc_interdomain(&mut self, remote: DomId, remote_port: u32) -> Result<u32, Errno> {
        self.allocate(Binding::Interdomain { remote, remote_port })
    }

    /// The remote half of `bind_interdomain`: `port` must be unbound and waiting for
    /// `binder`, which connects to it from `binder_port`.
    pub fn connect(&mut self, port: u32, binder: DomId, binder_port: u32) -> Result<(), Errno> {
        if self.binding(port) != Some(Binding::Unbound { remote: binder }) {
            return Err(Errno::EINVAL);
        }
        self.ports[port as usize] = Binding::Interdomain { remote: binder, remote_port: binder_port };
        Ok(())
    }

    /// The peer `(peer, peer_port)` of interdomain `port` closed: the port waits for that peer
    /// again (Xen's rule: it returns to unbound for the closer). Returns whether `port` was
    /// that peer's other end; a port connected elsewhere is left alone.
    pub fn disconnect(&mut self, port: u32, peer: DomId, peer_port: u32) -> bool {
        if self.binding(port) != Some(Binding::Interdomain { remote: peer, remote_port: peer_port }) {
            return false;
        }
        self.ports[port as usize] = Binding::Unbound { remote: peer };
        true
    }

    /// Every allocated port, lowest first.
    pub fn allocated(&self) -> impl Iterator<Item = u32> + '_ {
        (1..self.port_limit()).filter(|&p| self.binding(p).is_some())
    }

    /// The port a VIRQ is bound to on `vcpu`, if any.
    pub fn virq_port(&self, virq: u32, vcpu: u32) -> Option<u32> {
        let port = *self.virq_ports.get(vcpu as usize)?.get(virq as usize)?;
        (port != 0).then_some(port)
    }

    /// Close a port, returning what it was bound to (the caller undoes an interdomain peer).
    pub fn close(&mut self, port: u32) -> Result<Binding, Errno> {
        let binding = self.binding(port).ok_or(Errno::EINVAL)?;
        if let Binding::Virq { virq, vcpu } = binding {
            self.virq_ports[vcpu as usize][virq as usize] = 0;
        }
        self.ports[port as usize] = Binding::Free;
        Ok(binding)
    }

    /// The vCPU a port notifies (new channels notify vCPU 0, as on Xen).
    pub fn notify_vcpu(&self, port: u32) -> u32 {
        match self.binding(port) {
            Some(Binding::Virq { vcpu, .. } | Binding::Ipi { vcpu }) => vcpu,
            _ => 0,
        }
    }

    /// `EVTCHNSTAT_*` code and the two union words of `evtchn_status`.
    pub fn status(&self, port: u32) -> Result<(u32, u32, [u32; 2]), Errno> {
        if port as usize >= EVTCHN_2L_NR_CHANNELS as usize {
            return Err(Errno::EINVAL);
        }
        Ok(match self.binding(port) {
            // `binding` never yields `Free`; listed so no arm can panic.
            None | Some(Binding::Free) => (EVTCHNSTAT_CLOSED, 0, [0, 0]),
            Some(Binding::Unbound { remote }) => (EVTCHNSTAT_UNBOUND, 0, [remote as u32, 0]),
            Some(Binding::Interdomain { remote, remote_port }) => (EVTCHNSTAT_INTERDOMAIN, 0, [remote as u32, remote_port]),
            Some(Binding::Virq { virq, vcpu }) => (EVTCHNSTAT_VIRQ, vcpu, [virq, 0]),
            Some(Binding::Ipi { vcpu }) => (EVTCHNSTAT_IPI, vcpu, [0, 0]),
        })
    }

    /// Highest port number ever allocated plus one.
    pub fn port_limit(&self) -> u32 {
        self.ports.len() as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xen_abi::event::VIRQ_CONSOLE;

    #[test]
    fn virq_binding_rules() {
        let mut ev = EventChannels::new(2);
        let p = ev.bind_virq(VIRQ_TIMER, 0).unwrap();
        assert_eq!(p, 1, "port 0 is reserved");
        assert_eq!(ev.bind_virq(VIRQ_TIMER, 0), Err(Errno::EEXIST));
        assert!(ev.bind_virq(VIRQ_TIMER, 1).is_ok(), "per-vCPU VIRQs bind on every vCPU");
        assert_eq!(ev.bind_virq(VIRQ_CONSOLE, 1), Err(Errno::EINVAL), "global VIRQs bind on vCPU 0");
        assert_eq!(ev.bind_virq(NR_VIRQS, 0), Err(Errno::EINVAL));
        assert_eq!(ev.bind_virq(VIRQ_TIMER, 7), Err(Errno::ENOENT));
        assert_eq!(ev.virq_port(VIRQ_TIMER, 0), Some(p));
        assert_eq!(ev.status(p).unwrap().0, EVTCHNSTAT_VIRQ);
        assert_eq!(ev.close(p), Ok(Binding::Virq { virq: VIRQ_TIMER, vcpu: 0 }));
        assert_eq!(ev.virq_port(VIRQ_TIMER, 0), None);
        assert_eq!(ev.close(p), Err(Errno::EINVAL), "double close");
        assert_eq!(ev.status(p).unwrap().0, EVTCHNSTAT_CLOSED);
        assert_eq!(ev.bind_virq(VIRQ_TIMER, 0), Ok(p), "freed ports are reused");
    }

    #[test]
    fn bad_ports_are_refused() {
        let mut ev = EventChannels::new(1);
        assert_eq!(ev.close(0), Err(Errno::EINVAL));
        assert_eq!(ev.close(4095), Err(Errno::EINVAL));
        assert_eq!(ev.close(u32::MAX), Err(Errno::EINVAL));
        assert_eq!(ev.status(5000), Err(Errno::EINVAL));
        assert!(ev.binding(u32::MAX).is_none());
    }

    #[test]
    fn ports_run_out_at_the_2l_limit() {
        let mut ev = EventChannels::new(1);
        for _ in 1..EVTCHN_2L_NR_CHANNELS {
            ev.bind_ipi(0).unwrap();
        }
        assert_eq!(ev.bind_ipi(0), Err(Errno::ENOSPC));
    }
}
