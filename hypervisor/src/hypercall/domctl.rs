//! `domctl`: the privileged control interface Dom0's toolstack manages domains through.
//! Dom0 decides (what to create, how much memory, which weight); the hypervisor checks and
//! enforces. Every other domain gets `-EPERM`; commands not listed get `-ENOSYS`.

use super::{check_guest_code_address, Args};
use crate::domain::{lifecycle, RunState};
use crate::hv::Hypervisor;
use crate::mm::{Errno, Mfn, PageType};
use crate::regs::TrapFrame;
use crate::sched;
use crate::scheduler::{ParamError, VcpuRef};
use crate::shared::SharedInfoPage;
use xen_abi::domctl::*;
use xen_abi::event::VIRQ_SHUTDOWN_REQUEST;
use xen_abi::sched::{XEN_DOMCTL_SCHEDOP_GETINFO, XEN_DOMCTL_SCHEDOP_PUTINFO};
use xen_abi::x86::*;

const EUSERS: Errno = Errno(xen_abi::errno::EUSERS);
const EOPNOTSUPP: Errno = Errno(xen_abi::errno::EOPNOTSUPP);

/// `domctl(struct xen_domctl *)`.
pub fn domctl(hv: &mut Hypervisor, _f: &mut TrapFrame, a: Args) -> Result<i64, Errno> {
    if !hv.current_domain().privileged {
        return Err(Errno::EPERM);
    }
    let va = a.0[0];
    let mut op: XenDomctl = hv.read_guest(va)?;
    if op.interface_version != XEN_DOMCTL_INTERFACE_VERSION {
        return Err(Errno::EACCES);
    }
    let copy_back = match op.cmd {
        XEN_DOMCTL_CREATEDOMAIN => {
            let config: DomctlCreatedomain = op.payload().ok_or(Errno::EINVAL)?;
            if config.flags & (XEN_DOMCTL_CDF_HVM | XEN_DOMCTL_CDF_HAP) != 0 {
                return Err(EOPNOTSUPP); // PV only, for now
            }
            if config.flags & !XEN_DOMCTL_CDF_MAX != 0 || op.domain != 0 {
                return Err(Errno::EINVAL); // unknown flags; a chosen id is not supported
            }
            let grant_limits = crate::grant::GrantLimits::from_createdomain(&config)?;
            op.domain = lifecycle::create(hv, config.max_vcpus, config.handle)?;
            let d = target(hv, op.domain)?;
            hv.domains[d].grants = crate::grant::GrantTable::new(grant_limits);
            true
        }
        XEN_DOMCTL_GETDOMAININFO => {
            let d = first_domain_from(hv, op.domain).ok_or(Errno::ESRCH)?;
            let info = domain_info(hv, d);
            op.domain = info.domain;
            op.set_payload(&info);
            true
        }
        XEN_DOMCTL_GETVCPUINFO => {
            let d = target(hv, op.domain)?;
            let mut req: DomctlGetvcpuinfo = op.payload().ok_or(Errno::EINVAL)?;
            let v = vcpu_index(hv, d, req.vcpu)?;
            let vcpu = &hv.domains[d].vcpus[v];
            req.online = vcpu.online as u8;
            req.blocked = (vcpu.state != RunState::Runnable) as u8;
            req.running = ((d, v) == hv.current) as u8;
            req.cpu_time = hv.scheduler.cpu_time(VcpuRef::new(op.domain, req.vcpu), sched::now()).unwrap_or(0);
            req.cpu = 0;
            op.set_payload(&req);
            true
        }
        cmd => {
            let d = target(hv, op.domain)?;
            control(hv, &mut op, cmd, d)?
        }
    };
    if copy_back {
        hv.write_guest(va, &op)?;
    }
    Ok(0)
}

/// Commands on an existing domain (index `d`). Returns whether `op` goes back to the caller.
fn control(hv: &mut Hypervisor, op: &mut XenDomctl, cmd: u32, d: usize) -> Result<bool, Errno> {
    match cmd {
        XEN_DOMCTL_DESTROYDOMAIN => {
            lifecycle::destroy(hv, d)?;
            Ok(false)
        }
        XEN_DOMCTL_PAUSEDOMAIN => {
            if d == hv.current.0 {
                return Err(Errno::EINVAL);
            }
            let dom = &mut hv.domains[d];
            dom.controller_pause_count = dom.controller_pause_count.checked_add(1).ok_or(EUSERS)?;
            sched::sync_domain(hv, d);
            Ok(false)
        }
        XEN_DOMCTL_UNPAUSEDOMAIN => {
            let dom = &mut hv.domains[d];
            dom.controller_pause_count = dom.controller_pause_count.checked_sub(1).ok_or(Errno::EINVAL)?;
            if !dom.is_paused() {
                // What the PV guest reads as the size of its P2M.
                SharedInfoPage(dom.shared_info).set_max_pfn(dom.tot_pages);
            }
            sched::sync_domain(hv, d);
            Ok(false)
        }
        XEN_DOMCTL_MAX_MEM => {
            let req: DomctlMaxMem = op.payload().ok_or(Errno::EINVAL)?;
            let pages = req.max_memkb / 4;
            if pages < hv.domains[d].tot_pages {
                return Err(Errno::EINVAL);
            }
            hv.domains[d].max_pages = pages;
            Ok(false)
        }
        XEN_DOMCTL_MAX_VCPUS => {
            let req: DomctlMaxVcpus = op.payload().ok_or(Errno::EINVAL)?;
            // The vCPUs were made at createdomain; only that count is accepted.
            if req.max as usize != hv.domains[d].vcpus.len() {
                return Err(Errno::EINVAL);
            }
            Ok(false)
        }
        XEN_DOMCTL_SETVCPUCONTEXT => {
            let req: DomctlVcpucontext = op.payload().ok_or(Errno::EINVAL)?;
            if d == hv.current.0 {
                return Err(Errno::EINVAL);
            }
            let v = vcpu_index(hv, d, req.vcpu)?;
            if req.ctxt == 0 {
                reset_vcpu(hv, d, v);
                return Ok(false);
            }
            let ctxt: alloc::boxed::Box<VcpuGuestContext> = read_boxed(hv, req.ctxt)?;
            set_vcpu_context(hv, d, v, &ctxt)?;
            Ok(false)
        }
        XEN_DOMCTL_GETVCPUCONTEXT => {
            let req: DomctlVcpucontext = op.payload().ok_or(Errno::EINVAL)?;
            let v = vcpu_index(hv, d, req.vcpu)?;
            if d == hv.current.0 && v == hv.current.1 {
                return Err(Errno::EINVAL); // its registers are live on the CPU
            }
            let ctxt = vcpu_context(hv, d, v);
            hv.copy_to_guest(req.ctxt, zerocopy::IntoBytes::as_bytes(&*ctxt))?;
            Ok(false)
        }
        XEN_DOMCTL_SCHEDULER_OP => {
            let mut req: DomctlSchedulerOp = op.payload().ok_or(Errno::EINVAL)?;
            scheduler_op(hv, d, &mut req)?;
            op.set_payload(&req);
            Ok(true)
        }
        XEN_DOMCTL_HYPERCALL_INIT => {
            let req: DomctlHypercallInit = op.payload().ok_or(Errno::EINVAL)?;
            let id = hv.domains[d].id;
            let mfn = Mfn(req.gmfn);
            // Writable use for the duration of the write: refused if it is a page table.
            hv.with_paging(|p| p.get_page_and_type(id, mfn, PageType::Writable)).map_err(|_| Errno::EINVAL)?;
            let mut page = [0u8; 4096];
            xen_abi::hypercall::fill_hypercall_page(&mut page);
            crate::mm::FrameMemory::write_bytes(&mut crate::arch::x86_64::paging::DirectMap, mfn, 0, &page);
            hv.with_paging(|p| p.put_page_and_type(mfn));
            Ok(false)
        }
        XEN_DOMCTL_SENDTRIGGER => {
            let req: DomctlSendtrigger = op.payload().ok_or(Errno::EINVAL)?;
            vcpu_index(hv, d, req.vcpu)?;
            match req.trigger {
                // A PV guest's "power button": the interim shutdown-request VIRQ.
                XEN_DOMCTL_SENDTRIGGER_POWER => {
                    if sched::send_virq(hv, d, VIRQ_SHUTDOWN_REQUEST, 0) {
                        Ok(false)
                    } else {
                        Err(EOPNOTSUPP) // the guest does not listen for it
                    }
                }
                _ => Err(Errno::ENOSYS),
            }
        }
        _ => Err(Errno::ENOSYS),
    }
}

/// The domain a command names (it must exist).
fn target(hv: &Hypervisor, domid: u16) -> Result<usize, Errno> {
    hv.domain_index(domid).ok_or(Errno::ESRCH)
}

fn vcpu_index(hv: &Hypervisor, d: usize, vcpu: u32) -> Result<usize, Errno> {
    let v = vcpu as usize;
    if v >= hv.domains[d].vcpus.len() {
        return Err(Errno::EINVAL);
    }
    Ok(v)
}

/// `getdomaininfo` answers for the first domain whose id is at least the one asked (how the
/// tools enumerate domains).
fn first_domain_from(hv: &Hypervisor, from: u16) -> Option<usize> {
    (0..hv.domains.len()).filter(|&i| hv.domains[i].id >= from).min_by_key(|&i| hv.domains[i].id)
}

fn domain_info(hv: &Hypervisor, d: usize) -> DomctlGetdomaininfo {
    let dom = &hv.domains[d];
    let now = sched::now();
    let mut flags = 0;
    if let Some(crate::domain::Shutdown::Reason(reason)) = dom.shutdown {
        flags |= XEN_DOMINF_SHUTDOWN | shutdown_flags(reason);
    }
    if dom.is_paused() {
        flags |= XEN_DOMINF_PAUSED;
    }
    let online = dom.vcpus.iter().filter(|v| v.online).count() as u32;
    if dom.vcpus.iter().all(|v| !v.online || v.state != RunState::Runnable) {
        flags |= XEN_DOMINF_BLOCKED;
    }
    if hv.current.0 == d {
        flags |= XEN_DOMINF_RUNNING;
    }
    let cpu_time = (0..dom.vcpus.len() as u32).filter_map(|v| hv.scheduler.cpu_time(VcpuRef::new(dom.id, v), now)).sum();
    DomctlGetdomaininfo {
        domain: dom.id,
        flags,
        tot_pages: dom.tot_pages,
        max_pages: dom.max_pages,
        shared_info_frame: dom.shared_info.0,
        cpu_time,
        nr_online_vcpus: online,
        max_vcpu_id: dom.vcpus.len() as u32 - 1,
        handle: dom.handle,
        ..Default::default()
    }
}

/// A 5 KiB guest struct, read straight into the heap.
fn read_boxed<T: zerocopy::FromBytes + zerocopy::IntoBytes>(hv: &mut Hypervisor, va: u64) -> Result<alloc::boxed::Box<T>, Errno> {
    let mut value: alloc::boxed::Box<T> = alloc::boxed::Box::new(T::new_zeroed());
    hv.copy_from_guest(va, value.as_mut_bytes())?;
    Ok(value)
}

/// Take the vCPU offline and drop what its context held.
fn reset_vcpu(hv: &mut Hypervisor, d: usize, v: usize) {
    hv.domains[d].vcpus[v].online = false;
    hv.release_vcpu_tables(d, v);
    sched::sync_domain(hv, d);
}

/// Load a vCPU's whole state from `ctxt` (Xen's `arch_set_info_guest` for PV): checked
/// first, applied only when all of it is acceptable.
fn set_vcpu_context(hv: &mut Hypervisor, d: usize, v: usize, ctxt: &VcpuGuestContext) -> Result<(), Errno> {
    if ctxt.flags & VGCF_IN_KERNEL == 0 {
        return Err(Errno::EINVAL); // a PV vCPU starts in its kernel
    }
    for base in [ctxt.fs_base, ctxt.gs_base_kernel, ctxt.gs_base_user] {
        if !super::decode::is_canonical(base) {
            return Err(Errno::EINVAL);
        }
    }
    for cb in [ctxt.event_callback_eip, ctxt.failsafe_callback_eip, ctxt.syscall_callback_eip] {
        if cb != 0 {
            check_guest_code_address(cb)?;
        }
    }
    for ti in ctxt.trap_ctxt.iter().filter(|t| t.address != 0) {
        check_guest_code_address(ti.address)?;
    }
    let id = hv.domains[d].id;
    let kernel_l4 = Mfn(xen_cr3_to_pfn(ctxt.ctrlreg[3]));
    hv.with_paging(|p| p.get_page_and_type(id, kernel_l4, PageType::L4)).map_err(|_| Errno::EINVAL)?;
    let user_l4 = match xen_cr3_to_pfn(ctxt.ctrlreg[1]) {
        0 => None,
        pfn => {
            let mfn = Mfn(pfn);
            if let Err(e) = hv.with_paging(|p| p.get_page_and_type(id, mfn, PageType::L4)) {
                hv.with_paging(|p| p.put_page_and_type(kernel_l4));
                return Err(e);
            }
            Some(mfn)
        }
    };
    reset_vcpu(hv, d, v);
    let r = &ctxt.user_regs;
    let vcpu = &mut hv.domains[d].vcpus[v];
    vcpu.regs = TrapFrame {
        r15: r.r15, r14: r.r14, r13: r.r13, r12: r.r12, r11: r.r11, r10: r.r10, r9: r.r9, r8: r.r8,
        rbp: r.rbp, rdi: r.rdi, rsi: r.rsi, rdx: r.rdx, rcx: r.rcx, rbx: r.rbx, rax: r.rax,
        vector: 0,
        error_code: 0,
        rip: r.rip,
        // A PV kernel runs on the hypervisor's ring-3 flat selectors whatever the tools wrote.
        cs: u64::from(FLAT_KERNEL_CS),
        // Interrupts on, IOPL 0, the reserved bit set: a guest never gets more.
        rflags: (r.rflags & !(3 << 12)) | (1 << 9) | 2,
        rsp: r.rsp,
        ss: u64::from(FLAT_KERNEL_SS),
    };
    vcpu.guest_table = Some(kernel_l4);
    vcpu.guest_table_user = user_l4;
    vcpu.in_kernel = true;
    vcpu.state = RunState::Runnable;
    vcpu.kernel_ss = ctxt.kernel_ss;
    vcpu.kernel_sp = ctxt.kernel_sp;
    vcpu.callbacks.event = ctxt.event_callback_eip;
    vcpu.callbacks.failsafe = ctxt.failsafe_callback_eip;
    vcpu.callbacks.syscall = ctxt.syscall_callback_eip;
    vcpu.callbacks.syscall_masks_events = ctxt.flags & VGCF_SYSCALL_DISABLES_EVENTS != 0;
    vcpu.fs_base = ctxt.fs_base;
    vcpu.gs_base_kernel = ctxt.gs_base_kernel;
    vcpu.gs_base_user = ctxt.gs_base_user;
    vcpu.trap_table.iter_mut().for_each(|t| t.address = 0);
    for ti in ctxt.trap_ctxt.iter().filter(|t| t.address != 0) {
        let mut entry = *ti;
        entry.cs = FLAT_KERNEL_CS;
        vcpu.trap_table[ti.vector as usize] = entry;
    }
    vcpu.online = ctxt.flags & VGCF_ONLINE != 0;
    sched::sync_domain(hv, d);
    Ok(())
}

/// The saved state of a vCPU that is not running, as `getvcpucontext` reports it.
fn vcpu_context(hv: &Hypervisor, d: usize, v: usize) -> alloc::boxed::Box<VcpuGuestContext> {
    let vcpu = &hv.domains[d].vcpus[v];
    let mut c = alloc::boxed::Box::new(VcpuGuestContext::zeroed());
    let f = &vcpu.regs;
    let r = &mut c.user_regs;
    (r.r15, r.r14, r.r13, r.r12, r.r11, r.r10, r.r9, r.r8) = (f.r15, f.r14, f.r13, f.r12, f.r11, f.r10, f.r9, f.r8);
    (r.rbp, r.rdi, r.rsi, r.rdx, r.rcx, r.rbx, r.rax) = (f.rbp, f.rdi, f.rsi, f.rdx, f.rcx, f.rbx, f.rax);
    (r.rip, r.rflags, r.rsp) = (f.rip, f.rflags, f.rsp);
    r.cs = f.cs as u16;
    r.ss = f.ss as u16;
    c.flags = if vcpu.in_kernel { VGCF_IN_KERNEL } else { 0 } | if vcpu.online { VGCF_ONLINE } else { 0 };
    c.trap_ctxt = *vcpu.trap_table;
    c.kernel_ss = vcpu.kernel_ss;
    c.kernel_sp = vcpu.kernel_sp;
    c.ctrlreg[3] = vcpu.guest_table.map_or(0, |m| xen_pfn_to_cr3(m.0));
    c.ctrlreg[1] = vcpu.guest_table_user.map_or(0, |m| xen_pfn_to_cr3(m.0));
    c.event_callback_eip = vcpu.callbacks.event;
    c.failsafe_callback_eip = vcpu.callbacks.failsafe;
    c.syscall_callback_eip = vcpu.callbacks.syscall;
    c.fs_base = vcpu.fs_base;
    c.gs_base_kernel = vcpu.gs_base_kernel;
    c.gs_base_user = vcpu.gs_base_user;
    c
}

/// `XEN_DOMCTL_scheduler_op` getinfo/putinfo with the credit layout (weight, cap), for
/// whichever scheduler runs; its id must be the one named. Xen's "leave unchanged" values
/// (weight 0, cap 0xFFFF) are honoured on put.
fn scheduler_op(hv: &mut Hypervisor, d: usize, req: &mut DomctlSchedulerOp) -> Result<(), Errno> {
    if req.sched_id != hv.scheduler.xen_sched_id() {
        return Err(Errno::EINVAL);
    }
    let id = hv.domains[d].id;
    let first = VcpuRef::new(id, 0);
    let current = hv.scheduler.params(first).ok_or(Errno::ESRCH)?;
    match req.cmd {
        XEN_DOMCTL_SCHEDOP_GETINFO => {
            req.set_credit(&DomctlSchedCredit { weight: current.weight, cap: current.cap });
            Ok(())
        }
        XEN_DOMCTL_SCHEDOP_PUTINFO => {
            let wanted = req.credit();
            let mut params = current;
            if wanted.weight != 0 {
                params.weight = wanted.weight;
            }
            if wanted.cap != 0xFFFF {
                params.cap = wanted.cap;
            }
            for v in 0..hv.domains[d].vcpus.len() as u32 {
                hv.scheduler.set_params(VcpuRef::new(id, v), params).map_err(|e| match e {
                    ParamError::UnknownVcpu => Errno::ESRCH,
                    _ => Errno::EINVAL,
                })?;
            }
            hv.need_resched = true; // new shares take effect at the next decision
            Ok(())
        }
        _ => Err(Errno::EINVAL),
    }
}
