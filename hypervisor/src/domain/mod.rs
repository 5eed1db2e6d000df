//! Domains and vCPUs: what the hypervisor remembers about each guest.

#[cfg(target_os = "none")]
pub mod dom0;
#[cfg(target_os = "none")]
pub mod lifecycle;

use crate::event::EventChannels;
use crate::grant::{GrantLimits, GrantTable};
use crate::mm::{DomId, Mfn};
use crate::regs::TrapFrame;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use xen_abi::x86::TrapInfo;

/// Why a vCPU is not running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunState {
    Runnable,
    /// `SCHEDOP_block`: waits for any event upcall.
    Blocked,
    /// `SCHEDOP_poll`: waits for one of the listed ports (or the deadline).
    Polling,
}

/// Guest callbacks registered with `set_callbacks`/`callback_op`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Callbacks {
    pub event: u64,
    pub failsafe: u64,
    pub syscall: u64,
    /// `CALLBACKF_mask_events` on the syscall callback.
    pub syscall_masks_events: bool,
}

/// Ports a `SCHEDOP_poll` waits on (at most 128, as Xen allows).
#[derive(Clone, Debug, Default)]
pub struct PollSet {
    pub ports: Vec<u32>,
    pub deadline: Option<u64>,
}

#[derive(Debug)]
pub struct Vcpu {
    pub id: u32,
    /// Saved guest registers while the vCPU is not on the CPU.
    pub regs: TrapFrame,
    pub state: RunState,
    pub trap_table: Box<[TrapInfo; 256]>,
    pub kernel_ss: u64,
    pub kernel_sp: u64,
    pub callbacks: Callbacks,
    /// Kernel-mode page-table root (holds an L4 type reference).
    pub guest_table: Option<Mfn>,
    /// User-mode root (`MMUEXT_NEW_USER_BASEPTR`), if any.
    pub guest_table_user: Option<Mfn>,
    pub in_kernel: bool,
    pub fs_base: u64,
    pub gs_base_kernel: u64,
    pub gs_base_user: u64,
    /// One-shot timer (`set_timer_op`/`VCPUOP_set_singleshot_timer`), absolute system ns.
    pub timer_deadline: Option<u64>,
    /// Periodic timer period and next expiry (`VCPUOP_set_periodic_timer`).
    pub periodic_ns: u64,
    pub periodic_next: u64,
    pub poll: PollSet,
    /// Nanoseconds spent blocked or polling (for `VCPUOP_get_runstate_info`).
    pub blocked_ns: u64,
    /// When the vCPU last went to sleep (blocked or polling), for `blocked_ns`.
    pub blocked_since: u64,
    /// Has a context (Dom0's from the builder, a DomU's from `setvcpucontext`): may run.
    pub online: bool,
    /// Has been on the CPU at least once (the first dispatch is logged, for the bench).
    pub has_run: bool,
    /// What the scheduler was last told: runnable (woken) or not (asleep). Kept in step with
    /// [`Domain::vcpu_wants_cpu`] by `sched::sync`.
    pub in_run_queue: bool,
}

impl Vcpu {
    pub fn new(id: u32) -> Self {
        Vcpu {
            id,
            regs: TrapFrame::default(),
            state: RunState::Runnable,
            trap_table: Box::new([TrapInfo { vector: 0, flags: 0, cs: 0, _pad: 0, address: 0 }; 256]),
            kernel_ss: 0,
            kernel_sp: 0,
            callbacks: Callbacks::default(),
            guest_table: None,
            guest_table_user: None,
            in_kernel: true,
            fs_base: 0,
            gs_base_kernel: 0,
            gs_base_user: 0,
            timer_deadline: None,
            periodic_ns: 0,
            periodic_next: 0,
            poll: PollSet::default(),
            blocked_ns: 0,
            blocked_since: 0,
            online: false,
            has_run: false,
            in_run_queue: false,
        }
    }

    /// The page-table root in force for the vCPU's current mode.
    pub fn active_table(&self) -> Option<Mfn> {
        if self.in_kernel {
            self.guest_table
        } else {
            self.guest_table_user
        }
    }
}

/// How a domain stopped, when it did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shutdown {
    /// `SHUTDOWN_*` code from the guest (or `SHUTDOWN_crash` when we crashed it).
    Reason(u32),
}

#[derive(Debug)]
pub struct Domain {
    pub id: DomId,
    pub name: String,
    pub privileged: bool,
    pub vcpus: Vec<Vcpu>,
    pub shared_info: Mfn,
    pub tot_pages: u64,
    pub max_pages: u64,
    pub events: EventChannels,
    /// Grant table (as granter) and maptrack (as mapper).
    pub grants: GrantTable,
    pub shutdown: Option<Shutdown>,
    /// Dom0's pause count (`XEN_DOMCTL_pausedomain`); a new domain starts at 1, as in Xen.
    pub controller_pause_count: u8,
    /// The `createdomain` handle (by convention a UUID).
    pub handle: [u8; 16],
    /// Console output not yet ended by a newline (see `console::guest_lines`).
    pub console_pending: Vec<u8>,
}

impl Domain {
    pub fn new(id: DomId, name: &str, privileged: bool, shared_info: Mfn, nr_vcpus: u32) -> Self {
        Domain {
            id,
            name: name.into(),
            privileged,
            vcpus: (0..nr_vcpus).map(Vcpu::new).collect(),
            shared_info,
            tot_pages: 0,
            max_pages: 0,
            events: EventChannels::new(nr_vcpus),
            grants: GrantTable::new(GrantLimits::default()),
            shutdown: None,
            controller_pause_count: 0,
            handle: [0; 16],
            console_pending: Vec::new(),
        }
    }

    pub fn is_paused(&self) -> bool {
        self.controller_pause_count > 0
    }

    /// Whether vCPU `v` should be in the scheduler's run queue: online, not waiting for an
    /// event, and its domain neither paused nor shut down.
    pub fn vcpu_wants_cpu(&self, v: usize) -> bool {
        let vcpu = &self.vcpus[v];
        vcpu.online && vcpu.state == RunState::Runnable && !self.is_paused() && self.shutdown.is_none()
    }
}
