//! The dispatch table and the register convention.

use super::{console_io, cpu, domctl, evtchn, grant_table, info, mmu, sched_op};
use crate::hv::Hypervisor;
use crate::mm::Errno;
use crate::regs::TrapFrame;
use xen_abi::hypercall::nr;

/// The five argument registers of a hypercall.
#[derive(Clone, Copy, Debug)]
pub struct Args(pub [u64; 5]);

type Handler = fn(&mut Hypervisor, &mut TrapFrame, Args) -> Result<i64, Errno>;

const TABLE_SIZE: usize = 64;

/// The dispatch table, indexed by hypercall number.
static TABLE: [Option<Handler>; TABLE_SIZE] = {
    let mut t: [Option<Handler>; TABLE_SIZE] = [None; TABLE_SIZE];
    t[nr::SET_TRAP_TABLE as usize] = Some(cpu::set_trap_table);
    t[nr::MMU_UPDATE as usize] = Some(mmu::mmu_update);
    t[nr::STACK_SWITCH as usize] = Some(cpu::stack_switch);
    t[nr::SET_CALLBACKS as usize] = Some(cpu::set_callbacks);
    t[nr::MEMORY_OP as usize] = Some(info::memory_op);
    t[nr::UPDATE_VA_MAPPING as usize] = Some(mmu::update_va_mapping);
    t[nr::SET_TIMER_OP as usize] = Some(sched_op::set_timer_op);
    t[nr::XEN_VERSION as usize] = Some(info::xen_version);
    t[nr::CONSOLE_IO as usize] = Some(console_io::console_io);
    t[nr::VM_ASSIST as usize] = Some(cpu::vm_assist);
    t[nr::IRET as usize] = Some(cpu::iret);
    t[nr::VCPU_OP as usize] = Some(sched_op::vcpu_op);
    t[nr::SET_SEGMENT_BASE as usize] = Some(cpu::set_segment_base);
    t[nr::MMUEXT_OP as usize] = Some(mmu::mmuext_op);
    t[nr::SCHED_OP as usize] = Some(sched_op::sched_op);
    t[nr::CALLBACK_OP as usize] = Some(cpu::callback_op);
    t[nr::EVENT_CHANNEL_OP as usize] = Some(evtchn::event_channel_op);
    t[nr::SYSCTL as usize] = Some(info::sysctl);
    t[nr::DOMCTL as usize] = Some(domctl::domctl);
    t[nr::UPDATE_VA_MAPPING_OTHERDOMAIN as usize] = Some(mmu::update_va_mapping_otherdomain);
    t[nr::GRANT_TABLE_OP as usize] = Some(grant_table::grant_table_op);
    t
};

/// Whether a hypercall number has a handler (for docs and `info`).
pub fn implemented(number: u64) -> bool {
    TABLE.get(number as usize).is_some_and(|h| h.is_some())
}

/// Run the hypercall in `frame` and put its result in RAX.
pub fn dispatch(hv: &mut Hypervisor, frame: &mut TrapFrame) {
    let number = frame.rax;
    let args = Args([frame.rdi, frame.rsi, frame.rdx, frame.r10, frame.r8]);
    let handler = TABLE.get(number as usize).copied().flatten();
    let result = match handler {
        Some(h) => h(hv, frame, args),
        None => Err(Errno::ENOSYS),
    };
    frame.rax = match result {
        Ok(value) => value as u64,
        Err(e) => (-e.0) as u64,
    };
}

