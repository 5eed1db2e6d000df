//! `event_channel_op`: the local subset (VIRQs, IPIs, unmask, close, status). Inter-domain
//! channels come with DomUs.

use super::Args;
use crate::event::{self, Binding};
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
        EVTCHNOP_CLOSE => {
            let req: EvtchnClose = hv.read_guest(arg)?;
            hv.current_domain().events.close(req.port)?;
            Ok(0)
        }
        EVTCHNOP_SEND => {
            let req: EvtchnSend = hv.read_guest(arg)?;
            let dom = hv.current_domain();
            match dom.events.binding(req.port) {
                // An IPI port notifies its own vCPU; VIRQ ports are raised by the hypervisor only.
                Some(Binding::Ipi { vcpu }) => {
                    event::set_pending(&SharedInfoPage(dom.shared_info), req.port, vcpu);
                    Ok(0)
                }
                _ => Err(Errno::EINVAL),
            }
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
        // alloc_unbound, bind_interdomain, bind_pirq, bind_vcpu, reset and the FIFO commands
        // arrive with inter-domain channels.
        _ => Err(Errno::ENOSYS),
    }
}

fn write_back<T: zerocopy::IntoBytes + zerocopy::Immutable>(hv: &mut Hypervisor, va: u64, v: &T) -> Result<i64, Errno> {
    hv.write_guest(va, v)?;
    Ok(0)
}
