//! Per-vCPU operations (`vcpu_op`), mirroring `xen/include/public/vcpu.h`.
//!
//! The initial-state argument of `VCPUOP_initialise` is
//! [`crate::x86::VcpuGuestContext`].

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Set a vCPU's initial state (once per vCPU).
pub const VCPUOP_INITIALISE: u32 = 0;
/// Make an initialised vCPU runnable.
pub const VCPUOP_UP: u32 = 1;
/// Make a vCPU non-runnable.
pub const VCPUOP_DOWN: u32 = 2;
/// Returns 1 if the vCPU is up.
pub const VCPUOP_IS_UP: u32 = 3;
/// Copy out the vCPU's [`VcpuRunstateInfo`].
pub const VCPUOP_GET_RUNSTATE_INFO: u32 = 4;
/// Register a guest-virtual area Xen keeps a [`VcpuRunstateInfo`] in.
pub const VCPUOP_REGISTER_RUNSTATE_MEMORY_AREA: u32 = 5;
/// Start the periodic timer ([`VcpuSetPeriodicTimer`]).
pub const VCPUOP_SET_PERIODIC_TIMER: u32 = 6;
/// Stop the periodic timer.
pub const VCPUOP_STOP_PERIODIC_TIMER: u32 = 7;
/// Arm the single-shot timer ([`VcpuSetSingleshotTimer`]).
pub const VCPUOP_SET_SINGLESHOT_TIMER: u32 = 8;
/// Disarm the single-shot timer.
pub const VCPUOP_STOP_SINGLESHOT_TIMER: u32 = 9;
/// Move the vCPU's `vcpu_info` to a guest page ([`VcpuRegisterVcpuInfo`]).
pub const VCPUOP_REGISTER_VCPU_INFO: u32 = 10;
/// Send an NMI to the vCPU.
pub const VCPUOP_SEND_NMI: u32 = 11;
/// Physical id of the pCPU backing this vCPU (hardware domain only).
pub const VCPUOP_GET_PHYSID: u32 = 12;
/// Register a guest-virtual area for a secondary [`crate::shared_info::VcpuTimeInfo`].
pub const VCPUOP_REGISTER_VCPU_TIME_MEMORY_AREA: u32 = 13;
/// Register a guest-physical runstate area.
pub const VCPUOP_REGISTER_RUNSTATE_PHYS_AREA: u32 = 14;
/// Register a guest-physical vCPU time area.
pub const VCPUOP_REGISTER_VCPU_TIME_PHYS_AREA: u32 = 15;

/// Runstate: running on a physical CPU.
pub const RUNSTATE_RUNNING: i32 = 0;
/// Runstate: runnable but not scheduled.
pub const RUNSTATE_RUNNABLE: i32 = 1;
/// Runstate: blocked (idle).
pub const RUNSTATE_BLOCKED: i32 = 2;
/// Runstate: not runnable and not blocked (down, paused, ...).
pub const RUNSTATE_OFFLINE: i32 = 3;

/// Set in [`VcpuRunstateInfo::state_entry_time`] while Xen updates a
/// registered runstate area (with `VMASST_TYPE_runstate_update_flag`).
pub const XEN_RUNSTATE_UPDATE: u64 = 1 << 63;

/// Run-state accounting of a vCPU (C `struct vcpu_runstate_info`, 48 B).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct VcpuRunstateInfo {
    /// Current `RUNSTATE_*`.
    pub state: i32,
    /// Padding.
    pub _pad: u32,
    /// System time (ns) at which `state` was entered.
    pub state_entry_time: u64,
    /// Total ns spent in each `RUNSTATE_*`.
    pub time: [u64; 4],
}

/// Argument of `VCPUOP_register_runstate_memory_area` and
/// `VCPUOP_register_vcpu_time_memory_area` (8 B).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct VcpuRegisterMemoryArea {
    /// Guest virtual address (or handle) of the area.
    pub addr: u64,
}

/// Argument of `VCPUOP_set_periodic_timer` (8 B).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct VcpuSetPeriodicTimer {
    /// Period in ns.
    pub period_ns: u64,
}

/// [`VcpuSetSingleshotTimer::flags`]: fail with `-ETIME` if the timeout
/// has already passed.
pub const VCPU_SSHOTTMR_FUTURE: u32 = 1 << 0;

/// Argument of `VCPUOP_set_singleshot_timer` (16 B).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct VcpuSetSingleshotTimer {
    /// Absolute system time of expiry, in ns.
    pub timeout_abs_ns: u64,
    /// `VCPU_SSHOTTMR_*`.
    pub flags: u32,
    /// Padding.
    pub _pad: u32,
}

/// Argument of `VCPUOP_register_vcpu_info` (16 B).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct VcpuRegisterVcpuInfo {
    /// Frame holding the new `vcpu_info`.
    pub mfn: u64,
    /// Byte offset of the `vcpu_info` in that frame.
    pub offset: u32,
    /// Reserved; zero.
    pub rsvd: u32,
}

/// Result of `VCPUOP_get_physid` (8 B).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct VcpuGetPhysid {
    /// APIC id (bits 0..=31) and ACPI id (bits 32..=63).
    pub phys_id: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts() {
        check_layout!(VcpuRunstateInfo, 48, { state @ 0, state_entry_time @ 8, time @ 16 });
        check_layout!(VcpuRegisterMemoryArea, 8, { addr @ 0 });
        check_layout!(VcpuSetPeriodicTimer, 8, { period_ns @ 0 });
        check_layout!(VcpuSetSingleshotTimer, 16, { timeout_abs_ns @ 0, flags @ 8 });
        check_layout!(VcpuRegisterVcpuInfo, 16, { mfn @ 0, offset @ 8, rsvd @ 12 });
        check_layout!(VcpuGetPhysid, 8, { phys_id @ 0 });
    }

    #[test]
    fn numbers() {
        assert_eq!(VCPUOP_REGISTER_VCPU_INFO, 10);
        assert_eq!(VCPUOP_REGISTER_VCPU_TIME_PHYS_AREA, 15);
        assert_eq!(RUNSTATE_OFFLINE, 3);
        assert_eq!(VCPU_SSHOTTMR_FUTURE, 1);
    }
}
