//! Event channels (`event_channel_op`), mirroring
//! `xen/include/public/event_channel.h` and the `VIRQ_*` numbers of
//! `xen/include/public/xen.h`.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::domid::DomId;

/// An event-channel port number (C `evtchn_port_t`).
pub type EvtchnPort = u32;

/// Connect a local port to a remote domain's unbound port.
pub const EVTCHNOP_BIND_INTERDOMAIN: u32 = 0;
/// Bind a virtual IRQ to a port.
pub const EVTCHNOP_BIND_VIRQ: u32 = 1;
/// Bind a physical IRQ to a port.
pub const EVTCHNOP_BIND_PIRQ: u32 = 2;
/// Close a port.
pub const EVTCHNOP_CLOSE: u32 = 3;
/// Notify the remote end of a port.
pub const EVTCHNOP_SEND: u32 = 4;
/// Query a port's status.
pub const EVTCHNOP_STATUS: u32 = 5;
/// Allocate a port that a given remote domain may bind to.
pub const EVTCHNOP_ALLOC_UNBOUND: u32 = 6;
/// Bind an inter-processor interrupt to a port.
pub const EVTCHNOP_BIND_IPI: u32 = 7;
/// Change the vCPU a port notifies.
pub const EVTCHNOP_BIND_VCPU: u32 = 8;
/// Unmask a port (and deliver it if pending).
pub const EVTCHNOP_UNMASK: u32 = 9;
/// Close all ports of a domain.
pub const EVTCHNOP_RESET: u32 = 10;
/// FIFO ABI: register a vCPU's control block.
pub const EVTCHNOP_INIT_CONTROL: u32 = 11;
/// FIFO ABI: add an event-array page.
pub const EVTCHNOP_EXPAND_ARRAY: u32 = 12;
/// FIFO ABI: set a port's priority.
pub const EVTCHNOP_SET_PRIORITY: u32 = 13;
/// Continuation of a preempted [`EVTCHNOP_RESET`].  Xen-internal
/// (`#ifdef __XEN__`): guests never issue it.
pub const EVTCHNOP_RESET_CONT: u32 = 14;

/// Argument of `EVTCHNOP_alloc_unbound` (8 B).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct EvtchnAllocUnbound {
    /// Domain that gets the port (`DOMID_SELF` if unprivileged).
    pub dom: DomId,
    /// Domain allowed to bind to it.
    pub remote_dom: DomId,
    /// OUT: the new port.
    pub port: EvtchnPort,
}

/// Argument of `EVTCHNOP_bind_interdomain` (12 B).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct EvtchnBindInterdomain {
    /// Remote domain.
    pub remote_dom: DomId,
    /// Padding.
    pub _pad: u16,
    /// Remote domain's unbound port.
    pub remote_port: EvtchnPort,
    /// OUT: the new local port.
    pub local_port: EvtchnPort,
}

/// Argument of `EVTCHNOP_bind_virq` (12 B).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct EvtchnBindVirq {
    /// `VIRQ_*`.
    pub virq: u32,
    /// vCPU to notify.
    pub vcpu: u32,
    /// OUT: the new port.
    pub port: EvtchnPort,
}

/// [`EvtchnBindPirq::flags`]: the IRQ may be shared with other domains.
pub const BIND_PIRQ__WILL_SHARE: u32 = 1;

/// Argument of `EVTCHNOP_bind_pirq` (12 B).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct EvtchnBindPirq {
    /// Physical IRQ.
    pub pirq: u32,
    /// `BIND_PIRQ__*` flags.
    pub flags: u32,
    /// OUT: the new port.
    pub port: EvtchnPort,
}

/// Argument of `EVTCHNOP_bind_ipi` (8 B).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct EvtchnBindIpi {
    /// vCPU to notify.
    pub vcpu: u32,
    /// OUT: the new port.
    pub port: EvtchnPort,
}

/// Argument of `EVTCHNOP_close` (4 B).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct EvtchnClose {
    /// Port to close.
    pub port: EvtchnPort,
}

/// Argument of `EVTCHNOP_send` (4 B).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct EvtchnSend {
    /// Local port whose remote end is notified.
    pub port: EvtchnPort,
}

/// Port status: closed / free.
pub const EVTCHNSTAT_CLOSED: u32 = 0;
/// Port status: allocated, waiting for a remote domain to bind.
pub const EVTCHNSTAT_UNBOUND: u32 = 1;
/// Port status: connected to a remote domain.
pub const EVTCHNSTAT_INTERDOMAIN: u32 = 2;
/// Port status: bound to a physical IRQ.
pub const EVTCHNSTAT_PIRQ: u32 = 3;
/// Port status: bound to a virtual IRQ.
pub const EVTCHNSTAT_VIRQ: u32 = 4;
/// Port status: bound to an IPI.
pub const EVTCHNSTAT_IPI: u32 = 5;

/// Argument of `EVTCHNOP_status` (24 B).
///
/// The trailing C union (`unbound.dom`, `interdomain.{dom,port}`, `pirq`,
/// `virq`) is kept as two raw words in `u`; use the accessors.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct EvtchnStatus {
    /// Domain owning the port.
    pub dom: DomId,
    /// Padding.
    pub _pad: u16,
    /// Port to query.
    pub port: EvtchnPort,
    /// OUT: `EVTCHNSTAT_*`.
    pub status: u32,
    /// OUT: vCPU the port notifies.
    pub vcpu: u32,
    /// OUT: the status-dependent union, as raw words.
    pub u: [u32; 2],
}

impl EvtchnStatus {
    /// `u.unbound.dom`: the domain allowed to bind.
    pub const fn unbound_dom(&self) -> DomId {
        self.u[0] as DomId
    }

    /// Sets `u.unbound.dom`.
    pub fn set_unbound(&mut self, dom: DomId) {
        self.u = [u32::from(dom), 0];
    }

    /// `u.interdomain`: the remote (domain, port).
    pub const fn interdomain(&self) -> (DomId, EvtchnPort) {
        (self.u[0] as DomId, self.u[1])
    }

    /// Sets `u.interdomain`.
    pub fn set_interdomain(&mut self, dom: DomId, port: EvtchnPort) {
        self.u = [u32::from(dom), port];
    }

    /// `u.pirq`.
    pub const fn pirq(&self) -> u32 {
        self.u[0]
    }

    /// `u.virq`.
    pub const fn virq(&self) -> u32 {
        self.u[0]
    }

    /// Sets `u.pirq` or `u.virq` (they share the first word).
    pub fn set_irq(&mut self, irq: u32) {
        self.u = [irq, 0];
    }
}

/// Argument of `EVTCHNOP_bind_vcpu` (8 B).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct EvtchnBindVcpu {
    /// Port to re-target.
    pub port: EvtchnPort,
    /// New vCPU.
    pub vcpu: u32,
}

/// Argument of `EVTCHNOP_unmask` (4 B).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct EvtchnUnmask {
    /// Port to unmask.
    pub port: EvtchnPort,
}

/// Argument of `EVTCHNOP_reset` (2 B).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct EvtchnReset {
    /// Domain whose ports are closed (`DOMID_SELF` allowed).
    pub dom: DomId,
}

/// Number of ports of the 2-level ABI on x86-64 (64 words of 64 bits).
pub const EVTCHN_2L_NR_CHANNELS: u32 = 4096;

/// FIFO ABI: highest priority.
pub const EVTCHN_FIFO_PRIORITY_MAX: u32 = 0;
/// FIFO ABI: default priority.
pub const EVTCHN_FIFO_PRIORITY_DEFAULT: u32 = 7;
/// FIFO ABI: lowest priority.
pub const EVTCHN_FIFO_PRIORITY_MIN: u32 = 15;
/// FIFO event word: pending bit.
pub const EVTCHN_FIFO_PENDING: u32 = 31;
/// FIFO event word: masked bit.
pub const EVTCHN_FIFO_MASKED: u32 = 30;
/// FIFO event word: linked bit.
pub const EVTCHN_FIFO_LINKED: u32 = 29;
/// FIFO event word: busy bit.
pub const EVTCHN_FIFO_BUSY: u32 = 28;
/// FIFO event word: width of the link field.
pub const EVTCHN_FIFO_LINK_BITS: u32 = 17;
/// FIFO ABI: number of ports.
pub const EVTCHN_FIFO_NR_CHANNELS: u32 = 1 << EVTCHN_FIFO_LINK_BITS;

/// VIRQ (per vCPU): timer.
pub const VIRQ_TIMER: u32 = 0;
/// VIRQ (per vCPU): request to dump debug state.
pub const VIRQ_DEBUG: u32 = 1;
/// VIRQ (global): input on the emergency console.
pub const VIRQ_CONSOLE: u32 = 2;
/// VIRQ (global): exceptional event for some domain.
pub const VIRQ_DOM_EXC: u32 = 3;
/// VIRQ (global): trace buffer has records.
pub const VIRQ_TBUF: u32 = 4;
/// VIRQ (global): a domain paused for debugging.
pub const VIRQ_DEBUGGER: u32 = 6;
/// VIRQ (per vCPU): Xenoprof sample available.
pub const VIRQ_XENOPROF: u32 = 7;
/// VIRQ (global): bytes in the hypervisor console ring.
pub const VIRQ_CON_RING: u32 = 8;
/// VIRQ (global): physical-CPU state changed.
pub const VIRQ_PCPU_STATE: u32 = 9;
/// VIRQ (global): memory event.
pub const VIRQ_MEM_EVENT: u32 = 10;
/// VIRQ (per domain): Argo interdomain message.
pub const VIRQ_ARGO: u32 = 11;
/// VIRQ (global): Xen is low on heap memory.
pub const VIRQ_ENOMEM: u32 = 12;
/// VIRQ (per vCPU): PMU interrupt.
pub const VIRQ_XENPMU: u32 = 13;
/// Project-local (not in Xen): a polite power-off request, raised by Dom0's
/// `XEN_DOMCTL_sendtrigger(POWER)` on a PV guest. Interim until XenStore's
/// `~/control/shutdown`; taken from the architecture-reserved range (`VIRQ_ARCH_7`,
/// which Xen's x86 code leaves unused).
pub const VIRQ_SHUTDOWN_REQUEST: u32 = 23;
/// First architecture-specific VIRQ.
pub const VIRQ_ARCH_0: u32 = 16;
/// Architecture-specific VIRQ 1.
pub const VIRQ_ARCH_1: u32 = 17;
/// Architecture-specific VIRQ 2.
pub const VIRQ_ARCH_2: u32 = 18;
/// Architecture-specific VIRQ 3.
pub const VIRQ_ARCH_3: u32 = 19;
/// Architecture-specific VIRQ 4.
pub const VIRQ_ARCH_4: u32 = 20;
/// Architecture-specific VIRQ 5.
pub const VIRQ_ARCH_5: u32 = 21;
/// Architecture-specific VIRQ 6.
pub const VIRQ_ARCH_6: u32 = 22;
/// Last architecture-specific VIRQ.
pub const VIRQ_ARCH_7: u32 = 23;
/// Number of VIRQs.
pub const NR_VIRQS: u32 = 24;

/// How a VIRQ may be bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VirqKind {
    /// One binding per vCPU; cannot be moved to another vCPU.
    PerVcpu,
    /// One binding per system (one domain at a time), first on vCPU 0.
    Global,
    /// One binding per domain, first on vCPU 0.
    PerDomain,
}

/// Classifies a VIRQ number (`None` for unassigned or architecture-specific
/// numbers).
pub const fn virq_kind(virq: u32) -> Option<VirqKind> {
    match virq {
        VIRQ_TIMER | VIRQ_DEBUG | VIRQ_XENOPROF | VIRQ_XENPMU => Some(VirqKind::PerVcpu),
        VIRQ_CONSOLE | VIRQ_DOM_EXC | VIRQ_TBUF | VIRQ_DEBUGGER | VIRQ_CON_RING
        | VIRQ_PCPU_STATE | VIRQ_MEM_EVENT | VIRQ_ENOMEM => Some(VirqKind::Global),
        VIRQ_ARGO | VIRQ_SHUTDOWN_REQUEST => Some(VirqKind::PerDomain),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts() {
        check_layout!(EvtchnAllocUnbound, 8, { dom @ 0, remote_dom @ 2, port @ 4 });
        check_layout!(EvtchnBindInterdomain, 12, {
            remote_dom @ 0, remote_port @ 4, local_port @ 8,
        });
        check_layout!(EvtchnBindVirq, 12, { virq @ 0, vcpu @ 4, port @ 8 });
        check_layout!(EvtchnBindPirq, 12, { pirq @ 0, flags @ 4, port @ 8 });
        check_layout!(EvtchnBindIpi, 8, { vcpu @ 0, port @ 4 });
        check_layout!(EvtchnClose, 4, { port @ 0 });
        check_layout!(EvtchnSend, 4, { port @ 0 });
        check_layout!(EvtchnStatus, 24, {
            dom @ 0, port @ 4, status @ 8, vcpu @ 12, u @ 16,
        });
        check_layout!(EvtchnBindVcpu, 8, { port @ 0, vcpu @ 4 });
        check_layout!(EvtchnUnmask, 4, { port @ 0 });
        check_layout!(EvtchnReset, 2, { dom @ 0 });
    }

    #[test]
    fn status_union() {
        let mut s = EvtchnStatus::default();
        s.set_interdomain(7, 42);
        assert_eq!(s.interdomain(), (7, 42));
        // interdomain.dom @16 (u16), interdomain.port @20.
        assert_eq!(s.as_bytes()[16..18], 7u16.to_le_bytes());
        assert_eq!(s.as_bytes()[20..24], 42u32.to_le_bytes());
        s.set_unbound(3);
        assert_eq!(s.unbound_dom(), 3);
        s.set_irq(VIRQ_TIMER + 5);
        assert_eq!(s.virq(), 5);
        assert_eq!(s.pirq(), 5);
    }

    #[test]
    fn virqs() {
        assert_eq!(virq_kind(VIRQ_TIMER), Some(VirqKind::PerVcpu));
        assert_eq!(virq_kind(VIRQ_CONSOLE), Some(VirqKind::Global));
        assert_eq!(virq_kind(VIRQ_ARGO), Some(VirqKind::PerDomain));
        assert_eq!(virq_kind(5), None);
        assert_eq!(VIRQ_ARCH_7 + 1, NR_VIRQS);
        assert_eq!(EVTCHN_2L_NR_CHANNELS, 64 * 64);
        assert_eq!(EVTCHN_FIFO_NR_CHANNELS, 131_072);
    }
}
