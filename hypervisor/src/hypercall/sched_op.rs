//! `sched_op`, `set_timer_op` and the timer subset of `vcpu_op`.

use super::Args;
use crate::domain::RunState;
use crate::hv::Hypervisor;
use crate::mm::Errno;
use crate::regs::TrapFrame;
use crate::sched;
use crate::scheduler::VcpuRef;
use crate::shared::SharedInfoPage;
use alloc::vec::Vec;
use xen_abi::sched::*;
use xen_abi::vcpu::*;

/// Most ports one `SCHEDOP_poll` may wait on (Xen's limit).
const MAX_POLL_PORTS: u32 = 128;

/// `sched_op(cmd, arg)`.
pub fn sched_op(hv: &mut Hypervisor, _f: &mut TrapFrame, a: Args) -> Result<i64, Errno> {
    let [cmd, arg, ..] = a.0;
    match cmd as u32 {
        SCHEDOP_YIELD => {
            let me = VcpuRef::new(hv.current_domid(), hv.current.1 as u32);
            let answer = hv.scheduler.yield_vcpu(me, sched::now());
            sched::apply(hv, answer);
            Ok(0)
        }
        SCHEDOP_BLOCK => {
            let vcpu_id = hv.current.1 as u32;
            let shared = SharedInfoPage(hv.current_domain().shared_info);
            // Atomically re-enable events and sleep unless one is already pending.
            shared.set_upcall_mask(vcpu_id, false);
            if !shared.upcall_pending(vcpu_id) {
                sched::block_current(hv, RunState::Blocked);
            }
            Ok(0)
        }
        SCHEDOP_POLL => poll(hv, arg),
        SCHEDOP_SHUTDOWN => {
            let req: SchedShutdown = hv.read_guest(arg)?;
            if req.reason > SHUTDOWN_MAX {
                return Err(Errno::EINVAL);
            }
            let dom = hv.current_domid();
            log::info!("d{dom}: shutdown requested, reason {}", req.reason);
            sched::domain_shutdown(hv, req.reason);
            Ok(0)
        }
        SCHEDOP_SHUTDOWN_CODE => {
            let req: SchedShutdown = hv.read_guest(arg)?;
            if req.reason > SHUTDOWN_MAX {
                return Err(Errno::EINVAL);
            }
            Ok(0)
        }
        SCHEDOP_REMOTE_SHUTDOWN => {
            let req: SchedRemoteShutdown = hv.read_guest(arg)?;
            if !hv.current_domain().privileged {
                return Err(Errno::EPERM);
            }
            if req.reason > SHUTDOWN_MAX {
                return Err(Errno::EINVAL);
            }
            let target = hv.resolve_domid(u64::from(req.domain_id))?;
            if target == hv.current.0 {
                sched::domain_shutdown(hv, req.reason);
            } else {
                log::info!("d{}: shut down by d{}, reason {}", req.domain_id, hv.current_domid(), req.reason);
                sched::stop_domain(hv, target, req.reason);
            }
            Ok(0)
        }
        _ => Err(Errno::ENOSYS),
    }
}

/// `SCHEDOP_poll`: sleep until one of the ports is pending or the timeout passes.
fn poll(hv: &mut Hypervisor, arg: u64) -> Result<i64, Errno> {
    let req: SchedPoll = hv.read_guest(arg)?;
    if req.nr_ports > MAX_POLL_PORTS {
        return Err(Errno::EINVAL);
    }
    let mut ports = Vec::with_capacity(req.nr_ports as usize);
    let limit = hv.current_domain().events.port_limit();
    for i in 0..req.nr_ports as u64 {
        let port: u32 = hv.read_guest(req.ports + i * 4)?;
        if port >= limit {
            return Err(Errno::EINVAL);
        }
        ports.push(port);
    }
    let shared = SharedInfoPage(hv.current_domain().shared_info);
    if ports.iter().any(|&p| crate::event::EventBitmaps::is_pending(&shared, p)) {
        return Ok(0);
    }
    let vcpu = hv.current_vcpu();
    vcpu.poll.ports = ports;
    vcpu.poll.deadline = (req.timeout != 0).then_some(req.timeout);
    sched::block_current(hv, RunState::Polling);
    Ok(0)
}

/// `set_timer_op(timeout)`: one-shot VIRQ_TIMER at an absolute system time; 0 cancels.
pub fn set_timer_op(hv: &mut Hypervisor, _f: &mut TrapFrame, a: Args) -> Result<i64, Errno> {
    let deadline = a.0[0];
    hv.current_vcpu().timer_deadline = (deadline != 0).then_some(deadline);
    Ok(0)
}

/// `vcpu_op(cmd, vcpuid, arg)`: the timer and query subset.
pub fn vcpu_op(hv: &mut Hypervisor, _f: &mut TrapFrame, a: Args) -> Result<i64, Errno> {
    let [cmd, vcpuid, arg, ..] = a.0;
    if vcpuid as usize >= hv.current_domain().vcpus.len() {
        return Err(Errno::ENOENT);
    }
    let own = vcpuid as usize == hv.current.1;
    match cmd as u32 {
        VCPUOP_IS_UP => Ok(1),
        VCPUOP_SET_PERIODIC_TIMER | VCPUOP_STOP_PERIODIC_TIMER | VCPUOP_SET_SINGLESHOT_TIMER
        | VCPUOP_STOP_SINGLESHOT_TIMER
            if !own =>
        {
            Err(Errno::EINVAL)
        }
        VCPUOP_SET_PERIODIC_TIMER => {
            let req: VcpuSetPeriodicTimer = hv.read_guest(arg)?;
            if req.period_ns < 1_000_000 {
                return Err(Errno::EINVAL); // Xen's floor: 1 ms
            }
            let now = sched::now();
            let vcpu = hv.current_vcpu();
            vcpu.periodic_ns = req.period_ns;
            vcpu.periodic_next = now.saturating_add(req.period_ns);
            Ok(0)
        }
        VCPUOP_STOP_PERIODIC_TIMER => {
            hv.current_vcpu().periodic_ns = 0;
            Ok(0)
        }
        VCPUOP_SET_SINGLESHOT_TIMER => {
            let req: VcpuSetSingleshotTimer = hv.read_guest(arg)?;
            if req.flags & VCPU_SSHOTTMR_FUTURE != 0 && req.timeout_abs_ns < sched::now() {
                return Err(Errno(xen_abi::errno::ETIME));
            }
            hv.current_vcpu().timer_deadline = Some(req.timeout_abs_ns);
            Ok(0)
        }
        VCPUOP_STOP_SINGLESHOT_TIMER => {
            hv.current_vcpu().timer_deadline = None;
            Ok(0)
        }
        VCPUOP_GET_RUNSTATE_INFO => {
            let now = sched::now();
            let me = VcpuRef::new(hv.current_domid(), vcpuid as u32);
            let running = hv.scheduler.cpu_time(me, now).unwrap_or(0);
            let vcpu = &hv.current_domain().vcpus[vcpuid as usize];
            let blocked = vcpu.blocked_ns;
            let state = match vcpu.state {
                _ if own => RUNSTATE_RUNNING,
                RunState::Runnable if vcpu.online => RUNSTATE_RUNNABLE,
                RunState::Runnable => RUNSTATE_OFFLINE,
                _ => RUNSTATE_BLOCKED,
            };
            // Since boot the vCPU ran, waited blocked, or waited runnable for the rest.
            let runnable = now.saturating_sub(running).saturating_sub(blocked);
            let info = VcpuRunstateInfo {
                state,
                _pad: 0,
                state_entry_time: now,
                // running, runnable, blocked, offline
                time: [running, runnable, blocked, 0],
            };
            hv.write_guest(arg, &info)?;
            Ok(0)
        }
        _ => Err(Errno::ENOSYS),
    }
}
