//! Operations that touch the port tables of two domains (`xen/common/event_channel.c`):
//! allocating a port for a remote domain to bind, binding to it, closing either end, closing
//! all of a domain's ports (`EVTCHNOP_reset` and domain destruction), and working out where a
//! send goes. Pure table logic over [`PortTables`]: the hypercall layer reads the arguments,
//! marks ports pending in `shared_info` and wakes vCPUs.

use super::channels::{Binding, EventChannels};
use crate::domain::Domain;
use crate::mm::{DomId, Errno};
use xen_abi::domid::DOMID_SELF;

/// The port tables of every live domain, by domain id.
pub trait PortTables {
    /// `dom`'s table, or `None` when no such domain exists.
    fn ports(&mut self, dom: DomId) -> Option<&mut EventChannels>;
}

impl PortTables for [Domain] {
    fn ports(&mut self, dom: DomId) -> Option<&mut EventChannels> {
        self.iter_mut().find(|d| d.id == dom).map(|d| &mut d.events)
    }
}

/// The domain issuing an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caller {
    pub id: DomId,
    /// May act on other domains' ports (Xen's `XSM_TARGET` for a control domain).
    pub privileged: bool,
}

impl Caller {
    /// `DOMID_SELF` names the caller; any other id is taken as it is.
    fn resolve(self, dom: DomId) -> DomId {
        if dom == DOMID_SELF {
            self.id
        } else {
            dom
        }
    }

    /// Another domain's ports are for privileged callers only.
    fn may_act_on(self, dom: DomId) -> Result<(), Errno> {
        if dom == self.id || self.privileged {
            Ok(())
        } else {
            Err(Errno::EPERM)
        }
    }
}

/// Where a notification goes: mark `port` of `dom` pending for `vcpu`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target {
    pub dom: DomId,
    pub port: u32,
    pub vcpu: u32,
}

/// `EVTCHNOP_alloc_unbound`: a new port of `dom` that `remote_dom` may bind to. Either may be
/// `DOMID_SELF`. As in Xen, `remote_dom` need not exist yet: the port simply waits for it.
pub fn alloc_unbound(t: &mut (impl PortTables + ?Sized), caller: Caller, dom: DomId, remote_dom: DomId) -> Result<u32, Errno> {
    let dom = caller.resolve(dom);
    let remote = caller.resolve(remote_dom);
    let ports = t.ports(dom).ok_or(Errno::ESRCH)?;
    caller.may_act_on(dom)?;
    ports.alloc_unbound(remote)
}

/// `EVTCHNOP_bind_interdomain`: connect a new port of the caller to `remote_port` of
/// `remote_dom` (`DOMID_SELF` for a loopback channel), which must be unbound and waiting for
/// the caller. Returns the new local port; the caller marks it pending (see the hypercall).
pub fn bind_interdomain(t: &mut (impl PortTables + ?Sized), caller: DomId, remote_dom: DomId, remote_port: u32) -> Result<u32, Errno> {
    let remote = if remote_dom == DOMID_SELF { caller } else { remote_dom };
    let waiting = t.ports(remote).ok_or(Errno::ESRCH)?.binding(remote_port);
    if waiting != Some(Binding::Unbound { remote: caller }) {
        return Err(Errno::EINVAL);
    }
    let local = t.ports(caller).ok_or(Errno::ESRCH)?.alloc_interdomain(remote, remote_port)?;
    // Checked above, and allocating the local port cannot have touched an allocated one; if
    // it failed anyway, give the local port back rather than leave half a channel.
    if let Err(e) = t.ports(remote).ok_or(Errno::ESRCH).and_then(|r| r.connect(remote_port, caller, local)) {
        if let Some(ports) = t.ports(caller) {
            let _ = ports.close(local);
        }
        return Err(e);
    }
    Ok(local)
}

/// `EVTCHNOP_close` of `port` of `dom`: the port becomes free; an interdomain peer returns to
/// unbound, waiting for `dom` again (Xen's rule). Returns what the port was bound to.
pub fn close(t: &mut (impl PortTables + ?Sized), dom: DomId, port: u32) -> Result<Binding, Errno> {
    let binding = t.ports(dom).ok_or(Errno::ESRCH)?.close(port)?;
    if let Binding::Interdomain { remote, remote_port } = binding {
        // Bind and close keep both ends in step, so the peer is there and points back here.
        let peer_fixed = t.ports(remote).is_some_and(|peer| peer.disconnect(remote_port, dom, port));
        debug_assert!(peer_fixed, "d{dom} port {port}: peer d{remote} port {remote_port} did not point back");
    }
    Ok(binding)
}

/// Close every port of `dom`, with the same peer fix-ups as [`close`], so no channel is left
/// pointing at it: `EVTCHNOP_reset` and domain destruction. Port 0 stays reserved.
pub fn close_all(t: &mut (impl PortTables + ?Sized), dom: DomId) {
    let Some(limit) = t.ports(dom).map(|p| p.port_limit()) else { return };
    for port in 1..limit {
        // Free ports answer EINVAL; every allocated one closes.
        let _ = close(t, dom, port);
    }
}

/// `EVTCHNOP_reset`: close all of `dom`'s ports (the caller's own, or any domain's for a
/// privileged caller).
pub fn reset(t: &mut (impl PortTables + ?Sized), caller: Caller, dom: DomId) -> Result<(), Errno> {
    let dom = caller.resolve(dom);
    t.ports(dom).ok_or(Errno::ESRCH)?;
    caller.may_act_on(dom)?;
    close_all(t, dom);
    Ok(())
}

/// `EVTCHNOP_send` on `port` of `dom`: where the event goes. An interdomain port notifies its
/// peer, an IPI port its own vCPU; an unbound port drops the event (`Ok(None)`, as Xen);
/// anything else (free, out of range, a VIRQ) is `EINVAL`.
pub fn send(t: &mut (impl PortTables + ?Sized), dom: DomId, port: u32) -> Result<Option<Target>, Errno> {
    let ports = t.ports(dom).ok_or(Errno::ESRCH)?;
    match ports.binding(port) {
        Some(Binding::Interdomain { remote, remote_port }) => {
            let peer = t.ports(remote).ok_or(Errno::EINVAL)?;
            let vcpu = peer.notify_vcpu(remote_port);
            Ok(Some(Target { dom: remote, port: remote_port, vcpu }))
        }
        Some(Binding::Ipi { vcpu }) => Ok(Some(Target { dom, port, vcpu })),
        Some(Binding::Unbound { .. }) => Ok(None),
        _ => Err(Errno::EINVAL),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;
    use xen_abi::event::{EVTCHNSTAT_CLOSED, EVTCHNSTAT_UNBOUND, EVTCHN_2L_NR_CHANNELS, VIRQ_TIMER};

    const DOM0: Caller = Caller { id: 0, privileged: true };
    const A: Caller = Caller { id: 1, privileged: false };
    const B: Caller = Caller { id: 2, privileged: false };

    /// Domains 0 (privileged), 1 and 2.
    struct Tables(Vec<(DomId, EventChannels)>);

    impl PortTables for Tables {
        fn ports(&mut self, dom: DomId) -> Option<&mut EventChannels> {
            self.0.iter_mut().find(|(id, _)| *id == dom).map(|(_, p)| p)
        }
    }

    fn three_domains() -> Tables {
        Tables((0..3).map(|id| (id, EventChannels::new(1))).collect())
    }

    impl Tables {
        fn binding(&mut self, dom: DomId, port: u32) -> Option<Binding> {
            self.ports(dom).unwrap().binding(port)
        }

        fn forget(&mut self, dom: DomId) {
            self.0.retain(|(id, _)| *id != dom);
        }

        /// Every interdomain port's peer exists and points back; nothing names a domain
        /// in `gone` except as the one an unbound port waits for.
        fn assert_consistent(&mut self, gone: &[DomId]) {
            let snapshot: Vec<(DomId, u32, Binding)> = self
                .0
                .iter()
                .flat_map(|(id, p)| p.allocated().map(move |port| (*id, port, p.binding(port).unwrap())))
                .collect();
            for (dom, port, binding) in snapshot {
                if let Binding::Interdomain { remote, remote_port } = binding {
                    assert!(!gone.contains(&remote), "d{dom}:{port} points at dead d{remote}");
                    let back = self.ports(remote).and_then(|p| p.binding(remote_port));
                    assert_eq!(back, Some(Binding::Interdomain { remote: dom, remote_port: port }), "d{dom}:{port}");
                }
            }
        }
    }

    /// A channel between `a` and `b`: `a` allocates, `b` binds. Returns (a's port, b's port).
    fn connect(t: &mut Tables, a: Caller, b: Caller) -> (u32, u32) {
        let pa = alloc_unbound(t, a, DOMID_SELF, b.id).unwrap();
        let pb = bind_interdomain(t, b.id, a.id, pa).unwrap();
        (pa, pb)
    }

    #[test]
    fn alloc_then_bind_connects_both_ends() {
        let mut t = three_domains();
        let pa = alloc_unbound(&mut t, A, DOMID_SELF, B.id).unwrap();
        assert_eq!(t.binding(1, pa), Some(Binding::Unbound { remote: 2 }));
        assert_eq!(t.ports(1).unwrap().status(pa).unwrap(), (EVTCHNSTAT_UNBOUND, 0, [2, 0]));
        let pb = bind_interdomain(&mut t, B.id, A.id, pa).unwrap();
        assert_eq!(t.binding(1, pa), Some(Binding::Interdomain { remote: 2, remote_port: pb }));
        assert_eq!(t.binding(2, pb), Some(Binding::Interdomain { remote: 1, remote_port: pa }));
        assert_eq!(send(&mut t, 1, pa), Ok(Some(Target { dom: 2, port: pb, vcpu: 0 })));
        assert_eq!(send(&mut t, 2, pb), Ok(Some(Target { dom: 1, port: pa, vcpu: 0 })));
        t.assert_consistent(&[]);
    }

    #[test]
    fn remote_dom_self_means_the_caller() {
        let mut t = three_domains();
        let p = alloc_unbound(&mut t, A, DOMID_SELF, DOMID_SELF).unwrap();
        assert_eq!(t.binding(1, p), Some(Binding::Unbound { remote: 1 }));
        let p = alloc_unbound(&mut t, DOM0, B.id, DOMID_SELF).unwrap();
        assert_eq!(t.binding(2, p), Some(Binding::Unbound { remote: 0 }), "DOMID_SELF is the caller, not dom");
    }

    #[test]
    fn alloc_unbound_refusals() {
        let mut t = three_domains();
        assert_eq!(alloc_unbound(&mut t, A, B.id, DOMID_SELF), Err(Errno::EPERM));
        assert_eq!(alloc_unbound(&mut t, A, 0, DOMID_SELF), Err(Errno::EPERM));
        assert_eq!(alloc_unbound(&mut t, A, 99, DOMID_SELF), Err(Errno::ESRCH));
        assert_eq!(alloc_unbound(&mut t, DOM0, 99, DOMID_SELF), Err(Errno::ESRCH));
        assert_eq!(alloc_unbound(&mut t, A, A.id, 0), Ok(1), "naming oneself by id is allowed");
        assert_eq!(alloc_unbound(&mut t, DOM0, B.id, 0), Ok(1), "the control domain allocates for others");
        assert!(t.ports(2).unwrap().allocated().eq([1]), "refusals allocated nothing");
    }

    #[test]
    fn bind_refusals() {
        let mut t = three_domains();
        let for_b = alloc_unbound(&mut t, A, DOMID_SELF, B.id).unwrap();
        let ipi = t.ports(1).unwrap().bind_ipi(0).unwrap();
        assert_eq!(bind_interdomain(&mut t, DOM0.id, A.id, for_b), Err(Errno::EINVAL), "unbound for someone else");
        assert_eq!(bind_interdomain(&mut t, B.id, A.id, ipi), Err(Errno::EINVAL), "not unbound");
        assert_eq!(bind_interdomain(&mut t, B.id, A.id, 0), Err(Errno::EINVAL));
        assert_eq!(bind_interdomain(&mut t, B.id, A.id, 77), Err(Errno::EINVAL), "free port");
        assert_eq!(bind_interdomain(&mut t, B.id, A.id, EVTCHN_2L_NR_CHANNELS), Err(Errno::EINVAL));
        assert_eq!(bind_interdomain(&mut t, B.id, A.id, u32::MAX), Err(Errno::EINVAL));
        assert_eq!(bind_interdomain(&mut t, B.id, 99, 1), Err(Errno::ESRCH));
        assert_eq!(t.ports(2).unwrap().allocated().count(), 0, "refusals allocated nothing");
        let pb = bind_interdomain(&mut t, B.id, A.id, for_b).unwrap();
        assert_eq!(bind_interdomain(&mut t, B.id, A.id, for_b), Err(Errno::EINVAL), "already connected");
        assert_eq!(bind_interdomain(&mut t, DOM0.id, B.id, pb), Err(Errno::EINVAL));
        t.assert_consistent(&[]);
    }

    #[test]
    fn loopback_channel() {
        let mut t = three_domains();
        let (p1, p2) = connect(&mut t, A, A);
        assert_ne!(p1, p2);
        assert_eq!(t.binding(1, p1), Some(Binding::Interdomain { remote: 1, remote_port: p2 }));
        assert_eq!(send(&mut t, 1, p1), Ok(Some(Target { dom: 1, port: p2, vcpu: 0 })));
        assert_eq!(close(&mut t, 1, p2), Ok(Binding::Interdomain { remote: 1, remote_port: p1 }));
        assert_eq!(t.binding(1, p1), Some(Binding::Unbound { remote: 1 }));
        assert_eq!(t.binding(1, p2), None);
        // The surviving end can be bound again, through DOMID_SELF this time.
        let p3 = bind_interdomain(&mut t, A.id, DOMID_SELF, p1).unwrap();
        assert_eq!(p3, p2, "the freed port is reused");
        t.assert_consistent(&[]);
    }

    #[test]
    fn close_returns_the_peer_to_unbound_for_the_closer() {
        let mut t = three_domains();
        let (pa, pb) = connect(&mut t, A, B);
        assert_eq!(close(&mut t, 2, pb), Ok(Binding::Interdomain { remote: 1, remote_port: pa }));
        assert_eq!(t.binding(1, pa), Some(Binding::Unbound { remote: 2 }));
        assert_eq!(send(&mut t, 1, pa), Ok(None), "send on unbound is dropped");
        assert_eq!(close(&mut t, 2, pb), Err(Errno::EINVAL), "double close");
        // The closer may come back; the other side may not take its place.
        assert_eq!(bind_interdomain(&mut t, DOM0.id, A.id, pa), Err(Errno::EINVAL));
        let pb2 = bind_interdomain(&mut t, B.id, A.id, pa).unwrap();
        close(&mut t, 1, pa).unwrap();
        assert_eq!(t.binding(2, pb2), Some(Binding::Unbound { remote: 1 }));
        assert_eq!(close(&mut t, 1, pa), Err(Errno::EINVAL));
        t.assert_consistent(&[]);
    }

    #[test]
    fn send_refusals() {
        let mut t = three_domains();
        let virq = t.ports(1).unwrap().bind_virq(VIRQ_TIMER, 0).unwrap();
        let ipi = t.ports(1).unwrap().bind_ipi(0).unwrap();
        for port in [0, virq, 4095, EVTCHN_2L_NR_CHANNELS, u32::MAX] {
            assert_eq!(send(&mut t, 1, port), Err(Errno::EINVAL), "port {port}");
        }
        assert_eq!(send(&mut t, 1, ipi), Ok(Some(Target { dom: 1, port: ipi, vcpu: 0 })));
    }

    #[test]
    fn reset_closes_everything_and_fixes_peers() {
        let mut t = three_domains();
        let (pa, _) = connect(&mut t, A, B);
        let (_, pb) = connect(&mut t, B, A);
        let (l1, l2) = connect(&mut t, B, B);
        t.ports(2).unwrap().bind_virq(VIRQ_TIMER, 0).unwrap();
        t.ports(2).unwrap().bind_ipi(0).unwrap();
        alloc_unbound(&mut t, B, DOMID_SELF, 0).unwrap();
        assert_eq!(reset(&mut t, A, B.id), Err(Errno::EPERM));
        assert_eq!(reset(&mut t, A, 99), Err(Errno::ESRCH));
        assert_eq!(reset(&mut t, B, DOMID_SELF), Ok(()));
        assert_eq!(t.ports(2).unwrap().allocated().count(), 0);
        assert_eq!(t.ports(2).unwrap().virq_port(VIRQ_TIMER, 0), None);
        assert_eq!(t.ports(2).unwrap().status(l1).unwrap().0, EVTCHNSTAT_CLOSED);
        assert_eq!(t.ports(2).unwrap().status(l2).unwrap().0, EVTCHNSTAT_CLOSED);
        assert_eq!(t.binding(1, pa), Some(Binding::Unbound { remote: 2 }));
        assert_eq!(t.binding(1, pb), Some(Binding::Unbound { remote: 2 }));
        assert_eq!(t.ports(2).unwrap().bind_ipi(0), Ok(1), "port 0 stays reserved");
        // The control domain may reset another domain.
        assert_eq!(reset(&mut t, DOM0, A.id), Ok(()));
        assert_eq!(t.ports(1).unwrap().allocated().count(), 0);
        t.assert_consistent(&[]);
    }

    #[test]
    fn death_leaves_nothing_pointing_at_the_dead() {
        let mut t = three_domains();
        let (p0, _) = connect(&mut t, DOM0, A);
        let (_, p2) = connect(&mut t, A, B);
        let (q2, _) = connect(&mut t, B, A);
        connect(&mut t, A, A);
        close_all(&mut t, A.id);
        t.forget(A.id);
        t.assert_consistent(&[A.id]);
        assert_eq!(t.binding(0, p0), Some(Binding::Unbound { remote: 1 }));
        assert_eq!(t.binding(2, p2), Some(Binding::Unbound { remote: 1 }));
        assert_eq!(t.binding(2, q2), Some(Binding::Unbound { remote: 1 }));
        assert_eq!(send(&mut t, 2, p2), Ok(None));
        // Nothing can bind to or from the dead domain.
        assert_eq!(bind_interdomain(&mut t, B.id, A.id, 1), Err(Errno::ESRCH));
        close_all(&mut t, A.id); // already gone: nothing to do
    }

    #[test]
    fn ports_run_out_at_4096() {
        let mut t = three_domains();
        for expected in 1..EVTCHN_2L_NR_CHANNELS {
            assert_eq!(alloc_unbound(&mut t, A, DOMID_SELF, B.id), Ok(expected));
        }
        assert_eq!(alloc_unbound(&mut t, A, DOMID_SELF, B.id), Err(Errno::ENOSPC));
        assert_eq!(bind_interdomain(&mut t, A.id, B.id, 1), Err(Errno::EINVAL));
        let pb = alloc_unbound(&mut t, B, DOMID_SELF, A.id).unwrap();
        assert_eq!(bind_interdomain(&mut t, A.id, B.id, pb), Err(Errno::ENOSPC), "no local port");
        assert_eq!(t.binding(2, pb), Some(Binding::Unbound { remote: 1 }), "a failed bind leaves the remote as it was");
        // B fills its table by binding to A's ports; the last one fails cleanly.
        for port in 1..EVTCHN_2L_NR_CHANNELS - 1 {
            bind_interdomain(&mut t, B.id, A.id, port).unwrap();
        }
        assert_eq!(bind_interdomain(&mut t, B.id, A.id, 4095), Err(Errno::ENOSPC));
        assert_eq!(t.binding(1, 4095), Some(Binding::Unbound { remote: 2 }));
        t.assert_consistent(&[]);
        close_all(&mut t, A.id);
        assert_eq!(t.ports(2).unwrap().allocated().count(), EVTCHN_2L_NR_CHANNELS as usize - 1);
        t.assert_consistent(&[]);
    }
}
