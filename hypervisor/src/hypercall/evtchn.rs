//! `event_channel_op`: VIRQs, IPIs and inter-domain channels (2-level ABI). The port-table
//! rules live in `event::{channels, interdomain}`; this reads and writes the guest's argument,
//! marks ports pending in the right domain's `shared_info` and asks for blocked or polling
//! vCPUs to be woken.

use super::Args;
use crate::event::{self, interdomain, Caller, EventBitmaps, Target};
use crate::hv::Hypervisor;
use crate::mm::Errno;
use crate::regs::TrapFrame;
use crate::shared::SharedInfoPage;
use xen_abi::event::*;

pub fn event_channel_op(hv: &mut Hypervisor, _f: &mut TrapFrame, a: Args) -> Result<i64, Errno> {
    let [cmd, arg, ..] = a.0;
    match cmd as u32 {
        EVTCHNOP_BIND_VIRQ => {
            let mut req: EvtchnBindVirq = hv.read_guest(arg)?;
            req.port = hv.current_domain().events.bind_virq(req.virq, req.vcpu)?;
            write_back(hv, arg, &req)
        }
        EVTCHNOP_BIND_IPI => {
            let mut req: EvtchnBindIpi = hv.read_guest(arg)?;
            req.port = hv.current_domain().events.bind_ipi(req.vcpu)?;
            write_back(hv, arg, &req)
        }
        EVTCHNOP_ALLOC_UNBOUND => {
            let mut req: EvtchnAllocUnbound = hv.read_guest(arg)?;
            let caller = caller(hv);
            req.port = interdomain::alloc_unbound(hv.domains.as_mut_slice(), caller, req.dom, req.remote_dom)?;
            write_back(hv, arg, &req)
        }
        EVTCHNOP_BIND_INTERDOMAIN => {
            let mut req: EvtchnBindInterdomain = hv.read_guest(arg)?;
            let me = hv.current_domid();
            let port = interdomain::bind_interdomain(hv.domains.as_mut_slice(), me, req.remote_dom, req.remote_port)?;
            // As Xen: an event sent while the remote port was still unbound was dropped, so
            // the new port starts pending rather than risk losing it.
            let vcpu = hv.current_domain().events.notify_vcpu(port);
            raise(hv, Target { dom: me, port, vcpu });
            req.local_port = port;
            write_back(hv, arg, &req)
        }
        EVTCHNOP_CLOSE => {
            let req: EvtchnClose = hv.read_guest(arg)?;
            let me = hv.current_domid();
            interdomain::close(hv.domains.as_mut_slice(), me, req.port)?;
            // As Xen's evtchn_free: the port's next user must not inherit a stale event.
            SharedInfoPage(hv.current_domain().shared_info).clear_pending(req.port);
            Ok(0)
        }
        EVTCHNOP_RESET => {
            let req: EvtchnReset = hv.read_guest(arg)?;
            let caller = caller(hv);
            interdomain::reset(hv.domains.as_mut_slice(), caller, req.dom)?;
            let d = hv.resolve_domid(u64::from(req.dom))?;
            let page = SharedInfoPage(hv.domains[d].shared_info);
            for port in 1..hv.domains[d].events.port_limit() {
                page.clear_pending(port);
            }
            Ok(0)
        }
        EVTCHNOP_SEND => {
            let req: EvtchnSend = hv.read_guest(arg)?;
            let me = hv.current_domid();
            // VIRQ ports are raised by the hypervisor only; an unbound port drops the event.
            if let Some(target) = interdomain::send(hv.domains.as_mut_slice(), me, req.port)? {
                raise(hv, target);
            }
            Ok(0)
        }
        EVTCHNOP_UNMASK => {
            let req: EvtchnUnmask = hv.read_guest(arg)?;
            let dom = hv.current_domain();
            if req.port >= EVTCHN_2L_NR_CHANNELS || dom.events.binding(req.port).is_none() {
                return Err(Errno::EINVAL);
            }
            let vcpu = dom.events.notify_vcpu(req.port);
            event::unmask(&SharedInfoPage(dom.shared_info), req.port, vcpu);
            Ok(0)
        }
        EVTCHNOP_STATUS => {
            let mut req: EvtchnStatus = hv.read_guest(arg)?;
            let d = hv.resolve_domid(u64::from(req.dom))?;
            if d != hv.current.0 && !hv.current_domain().privileged {
                return Err(Errno::EPERM); // another domain's ports: privileged callers only
            }
            let (status, vcpu, words) = hv.domains[d].events.status(req.port)?;
            req.status = status;
            req.vcpu = vcpu;
            req.u = words;
            write_back(hv, arg, &req)
        }
        // bind_pirq (no physical IRQs are passed through), bind_vcpu (one vCPU per domain)
        // and the FIFO ABI are not offered.
        _ => Err(Errno::ENOSYS),
    }
}

fn caller(hv: &mut Hypervisor) -> Caller {
    let dom = hv.current_domain();
    Caller { id: dom.id, privileged: dom.privileged }
}

/// Mark the target port pending (Xen's 2-level rules) and have the wake-up scan on the way
/// out of this trap look at every blocked or polling vCPU, so a peer sleeping in
/// `SCHEDOP_block` or polling this port becomes runnable before the scheduler next decides
/// (as `sched::send_virq` does for VIRQs).
fn raise(hv: &mut Hypervisor, target: Target) {
    let Some(d) = hv.domain_index(target.dom) else { return };
    event::set_pending(&SharedInfoPage(hv.domains[d].shared_info), target.port, target.vcpu);
    hv.wake_check = true;
}

fn write_back<T: zerocopy::IntoBytes + zerocopy::Immutable>(hv: &mut Hypervisor, va: u64, v: &T) -> Result<i64, Errno> {
    hv.write_guest(va, v)?;
    Ok(0)
}
