
//! The control library (what `libxc` is to Xen's tools): one thin, typed wrapper per
//! privileged hypercall Dom0's toolstack uses. Errors are the hypervisor's negative errno
//! values, unchanged; callers turn them into one-line messages.

use alloc::vec::Vec;
use pvguest::hypercall;
use xen_abi::domctl::*;
use xen_abi::mm::{XenMemoryReservation, XENMEM_POPULATE_PHYSMAP};
use xen_abi::sched::{XEN_DOMCTL_SCHEDOP_GETINFO, XEN_DOMCTL_SCHEDOP_PUTINFO};
use xen_abi::x86::VcpuGuestContext;

pub type DomId = u16;
/// A negative errno from the hypervisor.
pub type Errno = i64;
pub type XcResult<T> = Result<T, Errno>;

const ESRCH: i64 = 3;

fn check(rc: i64) -> XcResult<i64> {
    if rc < 0 {
        Err(rc)
    } else {
        Ok(rc)
    }
}

/// Issue `cmd` on `domain` with `payload`, returning the whole (copied-back) request.
fn domctl<T: zerocopy::IntoBytes + zerocopy::Immutable>(cmd: u32, domain: DomId, payload: &T) -> XcResult<XenDomctl> {
    let mut op = XenDomctl::new(cmd, domain);
    op.set_payload(payload);
    check(hypercall::domctl(&mut op))?;
    Ok(op)
}

/// `XEN_DOMCTL_createdomain` for a PV domain with `max_vcpus` vCPUs; the hypervisor picks
/// the id. The new domain is paused until [`unpause`].
pub fn create_domain(max_vcpus: u32, handle: [u8; 16]) -> XcResult<DomId> {
    let config = DomctlCreatedomain {
        handle,
        max_vcpus,
        max_evtchn_port: 4095,
        max_grant_frames: 32,
        max_maptrack_frames: 1024,
        grant_opts: 1, // grant table v1
        ..Default::default()
    };
    Ok(domctl(XEN_DOMCTL_CREATEDOMAIN, 0, &config)?.domain)
}

pub fn destroy(dom: DomId) -> XcResult<()> {
    domctl(XEN_DOMCTL_DESTROYDOMAIN, dom, &()).map(drop)
}

pub fn pause(dom: DomId) -> XcResult<()> {
    domctl(XEN_DOMCTL_PAUSEDOMAIN, dom, &()).map(drop)
}

pub fn unpause(dom: DomId) -> XcResult<()> {
    domctl(XEN_DOMCTL_UNPAUSEDOMAIN, dom, &()).map(drop)
}

/// `XEN_DOMCTL_getdomaininfo` for exactly `dom` (the hypercall answers the first domain with
/// an id at or above the one asked; a different id means `dom` does not exist).
pub fn domain_info(dom: DomId) -> XcResult<DomctlGetdomaininfo> {
    let info = first_domain_from(dom)?;
    if info.domain != dom {
        return Err(-ESRCH);
    }
    Ok(info)
}

fn first_domain_from(dom: DomId) -> XcResult<DomctlGetdomaininfo> {
    let op = domctl(XEN_DOMCTL_GETDOMAININFO, dom, &())?;
    op.payload::<DomctlGetdomaininfo>().ok_or(-ESRCH)
}

/// Every domain, in id order.
pub fn list_domains() -> Vec<DomctlGetdomaininfo> {
    let mut all = Vec::new();
    let mut next: u32 = 0;
    while next < u32::from(xen_abi::domid::DOMID_FIRST_RESERVED) {
        match first_domain_from(next as DomId) {
            Ok(info) => {
                next = u32::from(info.domain) + 1;
                all.push(info);
            }
            Err(_) => break,
        }
    }
    all
}

pub fn set_max_mem(dom: DomId, max_kib: u64) -> XcResult<()> {
    domctl(XEN_DOMCTL_MAX_MEM, dom, &DomctlMaxMem { max_memkb: max_kib }).map(drop)
}

pub fn set_max_vcpus(dom: DomId, max: u32) -> XcResult<()> {
    domctl(XEN_DOMCTL_MAX_VCPUS, dom, &DomctlMaxVcpus { max }).map(drop)
}

/// `XENMEM_populate_physmap` for `dom`: one page per entry of `frames`, which holds pfns on
/// entry and the machine frames backing them on return (a PV domain's P2M).
pub fn populate_physmap(dom: DomId, frames: &mut [u64]) -> XcResult<()> {
    let mut res = XenMemoryReservation {
        extent_start: frames.as_mut_ptr() as u64,
        nr_extents: frames.len() as u64,
        extent_order: 0,
        mem_flags: 0,
        domid: dom,
        _pad: [0; 6],
    };
    let done = check(hypercall::memory_op(XENMEM_POPULATE_PHYSMAP, &mut res))?;
    if done as usize != frames.len() {
        return Err(-12); // ENOMEM: the hypervisor ran out part-way
    }
    Ok(())
}

/// `XEN_DOMCTL_hypercall_init`: the hypervisor writes its hypercall page into frame `mfn`.
pub fn hypercall_init(dom: DomId, mfn: u64) -> XcResult<()> {
    domctl(XEN_DOMCTL_HYPERCALL_INIT, dom, &DomctlHypercallInit { gmfn: mfn }).map(drop)
}

pub fn set_vcpu_context(dom: DomId, vcpu: u32, ctxt: &VcpuGuestContext) -> XcResult<()> {
    let arg = DomctlVcpucontext { vcpu, _pad: 0, ctxt: ctxt as *const _ as u64 };
    domctl(XEN_DOMCTL_SETVCPUCONTEXT, dom, &arg).map(drop)
}

pub fn vcpu_info(dom: DomId, vcpu: u32) -> XcResult<DomctlGetvcpuinfo> {
    let arg = DomctlGetvcpuinfo { vcpu, ..Default::default() };
    domctl(XEN_DOMCTL_GETVCPUINFO, dom, &arg)?.payload().ok_or(-ESRCH)
}

/// The running scheduler's id (`XEN_SCHEDULER_*`).
pub fn sched_id() -> XcResult<u32> {
    let mut op = xen_abi::sysctl::XenSysctl::new(xen_abi::sysctl::XEN_SYSCTL_SCHED_ID);
    check(hypercall::sysctl(&mut op))?;
    Ok(op.payload::<xen_abi::sysctl::SysctlSchedId>().map_or(0, |s| s.sched_id))
}

/// Weight and cap of `dom` (credit; BVT reports its weight and cap 0).
pub fn sched_credit_get(dom: DomId) -> XcResult<DomctlSchedCredit> {
    let mut arg = DomctlSchedulerOp { sched_id: sched_id()?, cmd: XEN_DOMCTL_SCHEDOP_GETINFO, u: [0; 16] };
    arg.set_credit(&DomctlSchedCredit::default());
    let op = domctl(XEN_DOMCTL_SCHEDULER_OP, dom, &arg)?;
    Ok(op.payload::<DomctlSchedulerOp>().ok_or(-ESRCH)?.credit())
}

/// Set weight and/or cap (`None` leaves a value as it is: weight 0 / cap 0xFFFF on the wire).
pub fn sched_credit_set(dom: DomId, weight: Option<u16>, cap: Option<u16>) -> XcResult<()> {
    let mut arg = DomctlSchedulerOp { sched_id: sched_id()?, cmd: XEN_DOMCTL_SCHEDOP_PUTINFO, u: [0; 16] };
    arg.set_credit(&DomctlSchedCredit { weight: weight.unwrap_or(0), cap: cap.unwrap_or(0xFFFF) });
    domctl(XEN_DOMCTL_SCHEDULER_OP, dom, &arg).map(drop)
}

/// `MMUEXT_PIN_L<level>_TABLE` on a frame of `dom` (validates the whole tree).
pub fn pin_table(dom: DomId, mfn: u64, level: u8) -> XcResult<()> {
    use xen_abi::mm::*;
    let cmd = match level {
        1 => MMUEXT_PIN_L1_TABLE,
        2 => MMUEXT_PIN_L2_TABLE,
        3 => MMUEXT_PIN_L3_TABLE,
        _ => MMUEXT_PIN_L4_TABLE,
    };
    let op = MmuextOp { cmd, _pad: 0, arg1: mfn, arg2: 0 };
    check(hypercall::mmuext_op(&[op], None, u64::from(dom))).map(drop)
}

/// Map machine frame `mfn` of `dom` at `va` of our own address space (a foreign mapping).
pub fn map_foreign(va: u64, dom: DomId, mfn: u64, writable: bool) -> XcResult<()> {
    use xen_abi::mm::*;
    let flags = PAGE_PRESENT | PAGE_ACCESSED | PAGE_USER | if writable { PAGE_RW | PAGE_DIRTY } else { 0 };
    check(hypercall::update_va_mapping_otherdomain(va, (mfn << 12) | flags, UVMF_INVLPG, dom)).map(drop)
}

/// `XEN_SYSCTL_physinfo`: the host's CPUs and memory (`total_pages`, `free_pages`, ...).
pub fn physinfo() -> XcResult<xen_abi::sysctl::SysctlPhysinfo> {
    let mut op = xen_abi::sysctl::XenSysctl::new(xen_abi::sysctl::XEN_SYSCTL_PHYSINFO);
    check(hypercall::sysctl(&mut op))?;
    op.payload().ok_or(-xen_abi::errno::EINVAL)
}

/// `XEN_SYSCTL_readconsole` from ring index `index` (optionally clearing the ring after):
/// bytes copied into `buf` and the index just past them.
pub fn read_console(index: u32, buf: &mut [u8], clear: bool) -> XcResult<(usize, u32)> {
    use xen_abi::sysctl::{SysctlReadconsole, XenSysctl, XEN_SYSCTL_READCONSOLE};
    let mut op = XenSysctl::new(XEN_SYSCTL_READCONSOLE);
    op.set_payload(&SysctlReadconsole {
        clear: u8::from(clear),
        incremental: 1,
        pad0: 0,
        pad1: 0,
        index,
        buffer: buf.as_mut_ptr() as u64,
        count: buf.len() as u32,
        _pad: 0,
    });
    check(hypercall::sysctl(&mut op))?;
    let rc: SysctlReadconsole = op.payload().ok_or(-ESRCH)?;
    Ok(((rc.count as usize).min(buf.len()), rc.index))
}

/// `EVTCHNOP_alloc_unbound` on behalf of `dom`: a new port of `dom` that `remote` may bind
/// to (what libxc's `xc_evtchn_alloc_unbound` does for the store and console channels).
pub fn alloc_unbound(dom: DomId, remote: DomId) -> XcResult<u32> {
    use xen_abi::event::{EvtchnAllocUnbound, EVTCHNOP_ALLOC_UNBOUND};
    let mut op = EvtchnAllocUnbound { dom, remote_dom: remote, port: 0 };
    check(hypercall::event_channel_op(EVTCHNOP_ALLOC_UNBOUND, &mut op))?;
    Ok(op.port)
}
