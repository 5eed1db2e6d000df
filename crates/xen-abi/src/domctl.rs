//! Domain control for the toolstack (`domctl` hypercall), mirroring
//! `xen/include/public/domctl.h`, plus the x86 `struct
//! xen_arch_domainconfig` of `xen/include/public/arch-x86/xen.h` that
//! domain creation embeds.
//!
//! Only the argument header and the structures this project uses are
//! modelled; every command number of the header is listed.  The layouts
//! are those of interface version 0x18 (Xen 4.22 development series).

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::domid::DomId;

pub use crate::sched::{
    XEN_DOMCTL_SCHEDOP_GETINFO, XEN_DOMCTL_SCHEDOP_GETVCPUINFO, XEN_DOMCTL_SCHEDOP_PUTINFO,
    XEN_DOMCTL_SCHEDOP_PUTVCPUINFO,
};

/// Value the caller must put in [`XenDomctl::interface_version`] (for every
/// command except the stable [`XEN_DOMCTL_GET_DOMAIN_STATE`], which takes 0).
pub const XEN_DOMCTL_INTERFACE_VERSION: u32 = 0x0000_0018;

/// Create a domain ([`DomctlCreatedomain`]).  `domain` is IN/OUT: 0 or a
/// reserved id asks Xen to allocate one.
pub const XEN_DOMCTL_CREATEDOMAIN: u32 = 1;
/// Destroy a domain (preemptible: repeat while it returns `-ERESTART`).
pub const XEN_DOMCTL_DESTROYDOMAIN: u32 = 2;
/// Pause a domain (toolstack pause count).
pub const XEN_DOMCTL_PAUSEDOMAIN: u32 = 3;
/// Undo one [`XEN_DOMCTL_PAUSEDOMAIN`].
pub const XEN_DOMCTL_UNPAUSEDOMAIN: u32 = 4;
/// Information about one domain ([`DomctlGetdomaininfo`]).
pub const XEN_DOMCTL_GETDOMAININFO: u32 = 5;
/// Set a vCPU's hard/soft pCPU affinity.
pub const XEN_DOMCTL_SETVCPUAFFINITY: u32 = 9;
/// Shadow paging / log-dirty control.
pub const XEN_DOMCTL_SHADOW_OP: u32 = 10;
/// Set the memory limit ([`DomctlMaxMem`]).
pub const XEN_DOMCTL_MAX_MEM: u32 = 11;
/// Set a vCPU's register state ([`DomctlVcpucontext`]).
pub const XEN_DOMCTL_SETVCPUCONTEXT: u32 = 12;
/// Read a vCPU's register state ([`DomctlVcpucontext`]).
pub const XEN_DOMCTL_GETVCPUCONTEXT: u32 = 13;
/// Run state of one vCPU ([`DomctlGetvcpuinfo`]).
pub const XEN_DOMCTL_GETVCPUINFO: u32 = 14;
/// Allocate the domain's vCPUs ([`DomctlMaxVcpus`]).
pub const XEN_DOMCTL_MAX_VCPUS: u32 = 15;
/// Per-domain scheduler parameters ([`DomctlSchedulerOp`]).
pub const XEN_DOMCTL_SCHEDULER_OP: u32 = 16;
/// Set the domain's 16-byte handle (UUID).
pub const XEN_DOMCTL_SETDOMAINHANDLE: u32 = 17;
/// Enable/disable debugging of the domain.
pub const XEN_DOMCTL_SETDEBUGGING: u32 = 18;
/// Grant/revoke access to a physical IRQ.
pub const XEN_DOMCTL_IRQ_PERMISSION: u32 = 19;
/// Grant/revoke access to a range of machine frames.
pub const XEN_DOMCTL_IOMEM_PERMISSION: u32 = 20;
/// Grant/revoke access to a range of I/O ports.
pub const XEN_DOMCTL_IOPORT_PERMISSION: u32 = 21;
/// Fill a guest frame with the hypercall page ([`DomctlHypercallInit`]).
pub const XEN_DOMCTL_HYPERCALL_INIT: u32 = 22;
/// Continuation of a preempted [`XEN_DOMCTL_SOFT_RESET`].  Xen-internal
/// (`#ifdef __XEN__`); 23 was the IA64-only `arch_setup` before.
pub const XEN_DOMCTL_SOFT_RESET_CONT: u32 = 23;
/// Offset the domain's wall clock.
pub const XEN_DOMCTL_SETTIMEOFFSET: u32 = 24;
/// Read a vCPU's hard/soft pCPU affinity.
pub const XEN_DOMCTL_GETVCPUAFFINITY: u32 = 25;
/// Obsolete (PPC only).
pub const XEN_DOMCTL_REAL_MODE_AREA: u32 = 26;
/// Resume a suspended domain.
pub const XEN_DOMCTL_RESUMEDOMAIN: u32 = 27;
/// Send a virtual NMI/reset/power/sleep trigger.
pub const XEN_DOMCTL_SENDTRIGGER: u32 = 28;
/// Subscribe to domain state-change notifications.
pub const XEN_DOMCTL_SUBSCRIBE: u32 = 29;
/// Save an HVM domain's context.
pub const XEN_DOMCTL_GETHVMCONTEXT: u32 = 33;
/// Restore an HVM domain's context.
pub const XEN_DOMCTL_SETHVMCONTEXT: u32 = 34;
/// Set a PV domain's address size (32/64-bit).
pub const XEN_DOMCTL_SET_ADDRESS_SIZE: u32 = 35;
/// Read a PV domain's address size.
pub const XEN_DOMCTL_GET_ADDRESS_SIZE: u32 = 36;
/// Assign a passthrough device.
pub const XEN_DOMCTL_ASSIGN_DEVICE: u32 = 37;
/// Bind a passthrough IRQ.
pub const XEN_DOMCTL_BIND_PT_IRQ: u32 = 38;
/// Map machine memory into the guest's physical space.
pub const XEN_DOMCTL_MEMORY_MAPPING: u32 = 39;
/// Map machine I/O ports into the guest.
pub const XEN_DOMCTL_IOPORT_MAPPING: u32 = 40;
/// Set extended vCPU context.
pub const XEN_DOMCTL_SET_EXT_VCPUCONTEXT: u32 = 42;
/// Read extended vCPU context.
pub const XEN_DOMCTL_GET_EXT_VCPUCONTEXT: u32 = 43;
/// Obsolete (IA64 only).
pub const XEN_DOMCTL_SET_OPT_FEATURE: u32 = 44;
/// Test whether a device could be assigned.
pub const XEN_DOMCTL_TEST_ASSIGN_DEVICE: u32 = 45;
/// Make the domain the target of another (device-model stub domains).
pub const XEN_DOMCTL_SET_TARGET: u32 = 46;
/// De-assign a passthrough device.
pub const XEN_DOMCTL_DEASSIGN_DEVICE: u32 = 47;
/// Unbind a passthrough IRQ.
pub const XEN_DOMCTL_UNBIND_PT_IRQ: u32 = 48;
/// Devices sharing an IOMMU context with a given device.
pub const XEN_DOMCTL_GET_DEVICE_GROUP: u32 = 50;
/// Debugger single-step/control.
pub const XEN_DOMCTL_DEBUG_OP: u32 = 54;
/// Save part of an HVM domain's context.
pub const XEN_DOMCTL_GETHVMCONTEXT_PARTIAL: u32 = 55;
/// VM-event (paging/monitor/sharing) ring control.
pub const XEN_DOMCTL_VM_EVENT_OP: u32 = 56;
/// Memory-sharing control.
pub const XEN_DOMCTL_MEM_SHARING_OP: u32 = 57;
/// Read TSC mode and parameters.
pub const XEN_DOMCTL_GETTSCINFO: u32 = 59;
/// Set TSC mode and parameters.
pub const XEN_DOMCTL_SETTSCINFO: u32 = 60;
/// Page types of a list of guest frames.
pub const XEN_DOMCTL_GETPAGEFRAMEINFO3: u32 = 61;
/// Set a vCPU's extended (XSAVE) state.
pub const XEN_DOMCTL_SETVCPUEXTSTATE: u32 = 62;
/// Read a vCPU's extended (XSAVE) state.
pub const XEN_DOMCTL_GETVCPUEXTSTATE: u32 = 63;
/// Require a mem-access listener.
pub const XEN_DOMCTL_SET_ACCESS_REQUIRED: u32 = 64;
/// Audit the P2M.
pub const XEN_DOMCTL_AUDIT_P2M: u32 = 65;
/// Route a global VIRQ to this domain.
pub const XEN_DOMCTL_SET_VIRQ_HANDLER: u32 = 66;
/// Mark a P2M entry broken.
pub const XEN_DOMCTL_SET_BROKEN_PAGE_P2M: u32 = 67;
/// Set NUMA node affinity.
pub const XEN_DOMCTL_SETNODEAFFINITY: u32 = 68;
/// Read NUMA node affinity.
pub const XEN_DOMCTL_GETNODEAFFINITY: u32 = 69;
/// Cache flush over a range of guest frames.
pub const XEN_DOMCTL_CACHEFLUSH: u32 = 71;
/// Read a vCPU's MSRs.
pub const XEN_DOMCTL_GET_VCPU_MSRS: u32 = 72;
/// Set a vCPU's MSRs.
pub const XEN_DOMCTL_SET_VCPU_MSRS: u32 = 73;
/// Set virtual NUMA topology.
pub const XEN_DOMCTL_SETVNUMAINFO: u32 = 74;
/// Cache-monitoring technology.
pub const XEN_DOMCTL_PSR_CMT_OP: u32 = 75;
/// VM-introspection monitor control.
pub const XEN_DOMCTL_MONITOR_OP: u32 = 77;
/// Cache/memory-bandwidth allocation.
pub const XEN_DOMCTL_PSR_ALLOC: u32 = 78;
/// Soft-reset a domain (kexec-style).
pub const XEN_DOMCTL_SOFT_RESET: u32 = 79;
/// Virtual UART control (Arm).
pub const XEN_DOMCTL_VUART_OP: u32 = 81;
/// Read the domain's CPUID/MSR policy.
pub const XEN_DOMCTL_GET_CPU_POLICY: u32 = 82;
/// Set the domain's CPUID/MSR policy.
pub const XEN_DOMCTL_SET_CPU_POLICY: u32 = 83;
/// Processor-trace control.
pub const XEN_DOMCTL_VMTRACE_OP: u32 = 84;
/// Size of the paging (HAP/shadow) memory pool.
pub const XEN_DOMCTL_GET_PAGING_MEMPOOL_SIZE: u32 = 85;
/// Resize the paging memory pool.
pub const XEN_DOMCTL_SET_PAGING_MEMPOOL_SIZE: u32 = 86;
/// Device-tree overlays (Arm).
pub const XEN_DOMCTL_DT_OVERLAY: u32 = 87;
/// Grant/revoke access to a GSI.
pub const XEN_DOMCTL_GSI_PERMISSION: u32 = 88;
/// Set LLC colours (cache colouring).
pub const XEN_DOMCTL_SET_LLC_COLORS: u32 = 89;
/// Stable domain-state query; takes `interface_version` 0.
pub const XEN_DOMCTL_GET_DOMAIN_STATE: u32 = 90;
/// gdbsx: read/write guest memory.
pub const XEN_DOMCTL_GDBSX_GUESTMEMIO: u32 = 1000;
/// gdbsx: pause a vCPU.
pub const XEN_DOMCTL_GDBSX_PAUSEVCPU: u32 = 1001;
/// gdbsx: unpause a vCPU.
pub const XEN_DOMCTL_GDBSX_UNPAUSEVCPU: u32 = 1002;
/// gdbsx: domain status.
pub const XEN_DOMCTL_GDBSX_DOMSTATUS: u32 = 1003;
// Retired (commented out in the header): 6 (getmemlist), 7/8
// (getpageframeinfo{,2}), 41 (pin_mem_cacheattr), 49 (set_cpuid), 51-53
// (machine address size, spurious page faults), 58 (disable_migrate), 70
// (set_max_evtchn), 80 (set_gnttab_limits).  30-32 and 76 are not listed.

/// Size of the command-specific union in [`XenDomctl`].
pub const XEN_DOMCTL_PAYLOAD_SIZE: usize = 128;

/// The `domctl` argument (C `struct xen_domctl`, 144 B).
///
/// The C union of per-command structures (padded to 128 bytes, at offset
/// 16) is kept as raw bytes in `u`; read and write it with
/// [`XenDomctl::payload`] and [`XenDomctl::set_payload`].  The structure is
/// 8-byte aligned like the C one (the union holds 64-bit fields).
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C, align(8))]
pub struct XenDomctl {
    /// `XEN_DOMCTL_*` command.
    pub cmd: u32,
    /// [`XEN_DOMCTL_INTERFACE_VERSION`] (0 for the stable commands).
    pub interface_version: u32,
    /// Target domain (IN/OUT for [`XEN_DOMCTL_CREATEDOMAIN`]).
    pub domain: DomId,
    /// Padding.
    pub _pad: [u16; 3],
    /// Command-specific argument.
    pub u: [u8; XEN_DOMCTL_PAYLOAD_SIZE],
}

impl XenDomctl {
    /// A request for `cmd` on `domain` with a zero payload and the interface
    /// version that command expects ([`XEN_DOMCTL_INTERFACE_VERSION`], or 0
    /// for the stable [`XEN_DOMCTL_GET_DOMAIN_STATE`]).
    pub fn new(cmd: u32, domain: DomId) -> Self {
        Self {
            cmd,
            interface_version: if cmd == XEN_DOMCTL_GET_DOMAIN_STATE {
                0
            } else {
                XEN_DOMCTL_INTERFACE_VERSION
            },
            domain,
            _pad: [0; 3],
            u: [0; XEN_DOMCTL_PAYLOAD_SIZE],
        }
    }

    /// Reads the payload as `T` (`None` if `T` is larger than the union).
    pub fn payload<T: FromBytes>(&self) -> Option<T> {
        T::read_from_prefix(&self.u).ok().map(|(t, _)| t)
    }

    /// Writes `v` at the start of the payload, leaving the remaining bytes
    /// untouched.  Returns `false` if `T` is larger than the union.
    pub fn set_payload<T: IntoBytes + Immutable>(&mut self, v: &T) -> bool {
        v.write_to_prefix(&mut self.u).is_ok()
    }
}

impl Default for XenDomctl {
    fn default() -> Self {
        Self::new(0, 0)
    }
}

/// A domain handle (C `xen_domain_handle_t`): 16 opaque bytes, by
/// convention the domain's UUID.
pub type XenDomainHandle = [u8; 16];

/// x86 `emulation_flags`: emulated local APICs.
pub const XEN_X86_EMU_LAPIC: u32 = 1 << 0;
/// x86 `emulation_flags`: emulated HPET.
pub const XEN_X86_EMU_HPET: u32 = 1 << 1;
/// x86 `emulation_flags`: emulated ACPI PM timer and registers.
pub const XEN_X86_EMU_PM: u32 = 1 << 2;
/// x86 `emulation_flags`: emulated RTC.
pub const XEN_X86_EMU_RTC: u32 = 1 << 3;
/// x86 `emulation_flags`: emulated IO-APIC.
pub const XEN_X86_EMU_IOAPIC: u32 = 1 << 4;
/// x86 `emulation_flags`: emulated legacy PIC.
pub const XEN_X86_EMU_PIC: u32 = 1 << 5;
/// x86 `emulation_flags`: emulated standard VGA.
pub const XEN_X86_EMU_VGA: u32 = 1 << 6;
/// x86 `emulation_flags`: emulated IOMMU.
pub const XEN_X86_EMU_IOMMU: u32 = 1 << 7;
/// x86 `emulation_flags`: emulated PIT.
pub const XEN_X86_EMU_PIT: u32 = 1 << 8;
/// x86 `emulation_flags`: route legacy interrupts as PIRQs.
pub const XEN_X86_EMU_USE_PIRQ: u32 = 1 << 9;
/// x86 `emulation_flags`: emulated PCI config space (vPCI).
pub const XEN_X86_EMU_VPCI: u32 = 1 << 10;
/// All x86 `emulation_flags` bits.
pub const XEN_X86_EMU_ALL: u32 = XEN_X86_EMU_LAPIC
    | XEN_X86_EMU_HPET
    | XEN_X86_EMU_PM
    | XEN_X86_EMU_RTC
    | XEN_X86_EMU_IOAPIC
    | XEN_X86_EMU_PIC
    | XEN_X86_EMU_VGA
    | XEN_X86_EMU_IOMMU
    | XEN_X86_EMU_PIT
    | XEN_X86_EMU_USE_PIRQ
    | XEN_X86_EMU_VPCI;

/// x86 `misc_flags`: unhandled MSR accesses read as zero / discard writes
/// instead of raising #GP.
pub const XEN_X86_MSR_RELAXED: u32 = 1 << 0;
/// x86 `misc_flags`: use hardware-assisted xAPIC virtualisation.
pub const XEN_X86_ASSISTED_XAPIC: u32 = 1 << 1;
/// x86 `misc_flags`: use hardware-assisted x2APIC virtualisation.
pub const XEN_X86_ASSISTED_X2APIC: u32 = 1 << 2;
/// Highest defined x86 `misc_flags` bit.
pub const XEN_X86_MISC_FLAGS_MAX: u32 = XEN_X86_ASSISTED_X2APIC;

/// x86 architecture part of domain creation and `getdomaininfo` (C `struct
/// xen_arch_domainconfig` of `arch-x86/xen.h`, 8 B).  PV domains use
/// `emulation_flags == 0`.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct XenArchDomainconfig {
    /// `XEN_X86_EMU_*`.
    pub emulation_flags: u32,
    /// `XEN_X86_MSR_RELAXED` and `XEN_X86_ASSISTED_*`.
    pub misc_flags: u32,
}

/// Creation flag: HVM guest (as opposed to PV or PVH); C
/// `XEN_DOMCTL_CDF_hvm`, formerly `hvm_guest`.
pub const XEN_DOMCTL_CDF_HVM: u32 = 1 << 0;
/// Creation flag: use hardware-assisted paging if available.
pub const XEN_DOMCTL_CDF_HAP: u32 = 1 << 1;
/// Creation flag: tboot verifies memory integrity across S3.
pub const XEN_DOMCTL_CDF_S3_INTEGRITY: u32 = 1 << 2;
/// Creation flag: disable out-of-sync shadow page tables.
pub const XEN_DOMCTL_CDF_OOS_OFF: u32 = 1 << 3;
/// Creation flag: the domain is a XenStore domain.
pub const XEN_DOMCTL_CDF_XS_DOMAIN: u32 = 1 << 4;
/// Creation flag: the domain may use the IOMMU.
pub const XEN_DOMCTL_CDF_IOMMU: u32 = 1 << 5;
/// Creation flag: nested virtualisation.
pub const XEN_DOMCTL_CDF_NESTED_VIRT: u32 = 1 << 6;
/// Creation flag: expose the vPMU.
pub const XEN_DOMCTL_CDF_VPMU: u32 = 1 << 7;
/// Creation flag: trap accesses to unmapped guest-physical areas (Arm).
pub const XEN_DOMCTL_CDF_TRAP_UNMAPPED_ACCESSES: u32 = 1 << 8;
/// Highest defined `XEN_DOMCTL_CDF_*` bit.
pub const XEN_DOMCTL_CDF_MAX: u32 = XEN_DOMCTL_CDF_TRAP_UNMAPPED_ACCESSES;

/// [`DomctlCreatedomain::iommu_opts`]: do not share page tables with the
/// IOMMU.
pub const XEN_DOMCTL_IOMMU_NO_SHAREPT: u32 = 1 << 0;
/// Highest defined `XEN_DOMCTL_IOMMU_*` bit.
pub const XEN_DOMCTL_IOMMU_MAX: u32 = XEN_DOMCTL_IOMMU_NO_SHAREPT;

/// [`DomctlCreatedomain::grant_opts`]: the low 4 bits are the maximum grant
/// table version.
pub const XEN_DOMCTL_GRANT_VERSION_MASK: u32 = 0xf;

/// The grant-table version encoded in `grant_opts` (C
/// `XEN_DOMCTL_GRANT_version`).
pub const fn grant_version(grant_opts: u32) -> u32 {
    grant_opts & XEN_DOMCTL_GRANT_VERSION_MASK
}

/// [`DomctlCreatedomain::altp2m`] mode: mixed.
pub const XEN_DOMCTL_ALTP2M_MIXED: u32 = 1;
/// [`DomctlCreatedomain::altp2m`] mode: external.
pub const XEN_DOMCTL_ALTP2M_EXTERNAL: u32 = 2;
/// [`DomctlCreatedomain::altp2m`] mode: limited.
pub const XEN_DOMCTL_ALTP2M_LIMITED: u32 = 3;
/// Bits of [`DomctlCreatedomain::altp2m`] holding the mode.
pub const XEN_DOMCTL_ALTP2M_MODE_MASK: u32 = 0x3;

/// Argument of `XEN_DOMCTL_createdomain` (C `struct
/// xen_domctl_createdomain`, 68 B; all fields are 4-byte, so C adds no
/// padding, and the x86 `arch` part is 8 B).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct DomctlCreatedomain {
    /// XSM security label.
    pub ssidref: u32,
    /// Domain handle (UUID).
    pub handle: XenDomainHandle,
    /// `XEN_DOMCTL_CDF_*`.
    pub flags: u32,
    /// `XEN_DOMCTL_IOMMU_*`.
    pub iommu_opts: u32,
    /// Number of vCPUs.
    pub max_vcpus: u32,
    /// Highest event-channel port the domain may use.
    pub max_evtchn_port: u32,
    /// Grant-table frames; negative means Xen's default.
    pub max_grant_frames: i32,
    /// Maptrack frames; negative means Xen's default.
    pub max_maptrack_frames: i32,
    /// Low 4 bits: maximum grant-table version ([`grant_version`]).
    pub grant_opts: u32,
    /// `XEN_DOMCTL_ALTP2M_*` mode (C `altp2m.opts`, formerly
    /// `altp2m_opts`).
    pub altp2m: u32,
    /// Per-vCPU processor-trace buffer size in bytes (0 disables).
    pub vmtrace_size: u32,
    /// CPU pool (0 or an existing pool id).
    pub cpupool_id: u32,
    /// Architecture-specific part.
    pub arch: XenArchDomainconfig,
}

/// Domain flag: dying.
pub const XEN_DOMINF_DYING: u32 = 1 << 0;
/// Domain flag: HVM guest.
pub const XEN_DOMINF_HVM_GUEST: u32 = 1 << 1;
/// Domain flag: shut down (reason in bits 16..24, see [`shutdown_reason`]).
pub const XEN_DOMINF_SHUTDOWN: u32 = 1 << 2;
/// Domain flag: paused by the toolstack.
pub const XEN_DOMINF_PAUSED: u32 = 1 << 3;
/// Domain flag: blocked waiting for an event.
pub const XEN_DOMINF_BLOCKED: u32 = 1 << 4;
/// Domain flag: currently running.
pub const XEN_DOMINF_RUNNING: u32 = 1 << 5;
/// Domain flag: being debugged.
pub const XEN_DOMINF_DEBUGGED: u32 = 1 << 6;
/// Domain flag: XenStore domain.
pub const XEN_DOMINF_XS_DOMAIN: u32 = 1 << 7;
/// Domain flag: uses hardware-assisted paging.
pub const XEN_DOMINF_HAP: u32 = 1 << 8;
/// Mask of the shutdown reason (after shifting).
pub const XEN_DOMINF_SHUTDOWNMASK: u32 = 255;
/// Position of the shutdown reason in the flags.
pub const XEN_DOMINF_SHUTDOWNSHIFT: u32 = 16;

/// The guest-supplied `SHUTDOWN_*` reason of a `getdomaininfo` flags word,
/// or `None` if [`XEN_DOMINF_SHUTDOWN`] is clear.
pub const fn shutdown_reason(flags: u32) -> Option<u32> {
    if flags & XEN_DOMINF_SHUTDOWN == 0 {
        None
    } else {
        Some((flags >> XEN_DOMINF_SHUTDOWNSHIFT) & XEN_DOMINF_SHUTDOWNMASK)
    }
}

/// The flags bits reporting a shut-down domain with `reason`
/// ([`XEN_DOMINF_SHUTDOWN`] plus the encoded reason).
pub const fn shutdown_flags(reason: u32) -> u32 {
    XEN_DOMINF_SHUTDOWN | ((reason & XEN_DOMINF_SHUTDOWNMASK) << XEN_DOMINF_SHUTDOWNSHIFT)
}

/// [`DomctlGetdomaininfo::max_vcpu_id`] of a domain without vCPUs.
pub const XEN_INVALID_MAX_VCPU_ID: u32 = !0;

/// Result of `XEN_DOMCTL_getdomaininfo`, and the record of
/// `XEN_SYSCTL_getdomaininfolist` (C `struct xen_domctl_getdomaininfo`,
/// 112 B).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct DomctlGetdomaininfo {
    /// Domain id (also echoed in [`XenDomctl::domain`]).
    pub domain: DomId,
    /// Padding.
    pub pad1: u16,
    /// `XEN_DOMINF_*`, with the shutdown reason in bits 16..24.
    pub flags: u32,
    /// Pages currently allocated.
    pub tot_pages: u64,
    /// Page limit.
    pub max_pages: u64,
    /// Pages claimed but not yet allocated.
    pub outstanding_pages: u64,
    /// Pages shared with other domains.
    pub shr_pages: u64,
    /// Pages paged out.
    pub paged_pages: u64,
    /// GMFN of the shared-info page.
    pub shared_info_frame: u64,
    /// CPU time consumed, in ns.
    pub cpu_time: u64,
    /// vCPUs currently online.
    pub nr_online_vcpus: u32,
    /// Highest vCPU id in use ([`XEN_INVALID_MAX_VCPU_ID`] if none).
    pub max_vcpu_id: u32,
    /// XSM security label.
    pub ssidref: u32,
    /// Domain handle (UUID).
    pub handle: XenDomainHandle,
    /// CPU pool id.
    pub cpupool: u32,
    /// Guest-physical address width in bits.
    pub gpaddr_bits: u8,
    /// Padding.
    pub pad2: [u8; 7],
    /// Architecture configuration the domain was created with.
    pub arch_config: XenArchDomainconfig,
}

impl DomctlGetdomaininfo {
    /// The shutdown reason, if the domain has shut down.
    pub const fn shutdown_reason(&self) -> Option<u32> {
        shutdown_reason(self.flags)
    }
}

/// Argument of `XEN_DOMCTL_max_mem` (8 B).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct DomctlMaxMem {
    /// Memory limit in KiB.
    pub max_memkb: u64,
}

/// Argument of `XEN_DOMCTL_max_vcpus` (4 B); must match the `max_vcpus`
/// given at creation.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct DomctlMaxVcpus {
    /// Number of vCPUs.
    pub max: u32,
}

/// Argument of `XEN_DOMCTL_{set,get}vcpucontext` (16 B).  The handle
/// points at a [`crate::x86::VcpuGuestContext`].
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct DomctlVcpucontext {
    /// vCPU id.
    pub vcpu: u32,
    /// Padding.
    pub _pad: u32,
    /// IN/OUT: guest handle of the `vcpu_guest_context`.
    pub ctxt: u64,
}

/// Argument of `XEN_DOMCTL_getvcpuinfo` (24 B).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct DomctlGetvcpuinfo {
    /// IN: vCPU id.
    pub vcpu: u32,
    /// OUT: online (not hot-unplugged).
    pub online: u8,
    /// OUT: blocked waiting for an event.
    pub blocked: u8,
    /// OUT: currently scheduled on its pCPU.
    pub running: u8,
    /// Padding.
    pub _pad0: u8,
    /// OUT: CPU time consumed, in ns.
    pub cpu_time: u64,
    /// OUT: pCPU the vCPU is (or was last) running on.
    pub cpu: u32,
    /// Padding.
    pub _pad1: u32,
}

/// Argument of `XEN_DOMCTL_hypercall_init` (8 B).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct DomctlHypercallInit {
    /// Guest frame to fill with the hypercall page.
    pub gmfn: u64,
}

/// `XEN_DOMCTL_sendtrigger` triggers (`xen_domctl_sendtrigger.trigger`).
pub const XEN_DOMCTL_SENDTRIGGER_NMI: u32 = 0;
/// Hard reset.
pub const XEN_DOMCTL_SENDTRIGGER_RESET: u32 = 1;
/// INIT IPI.
pub const XEN_DOMCTL_SENDTRIGGER_INIT: u32 = 2;
/// Power button (a polite "please power off").
pub const XEN_DOMCTL_SENDTRIGGER_POWER: u32 = 3;
/// Sleep button.
pub const XEN_DOMCTL_SENDTRIGGER_SLEEP: u32 = 4;

/// Argument of `XEN_DOMCTL_sendtrigger` (C `struct xen_domctl_sendtrigger`, 8 B).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct DomctlSendtrigger {
    /// `XEN_DOMCTL_SENDTRIGGER_*`.
    pub trigger: u32,
    /// Target vCPU.
    pub vcpu: u32,
}

/// Credit / Credit2 parameters (C `struct xen_domctl_sched_credit`, 4 B;
/// `xen_domctl_sched_credit2` is identical).  With `putinfo`, Credit takes
/// weight 0 and cap 0xFFFF as "leave unchanged".
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct DomctlSchedCredit {
    /// Relative weight.
    pub weight: u16,
    /// Cap in percent of one pCPU (0 = none).
    pub cap: u16,
}

/// Credit2 parameters (same layout as Credit).
pub type DomctlSchedCredit2 = DomctlSchedCredit;

/// [`DomctlSchedRtds::flags`]: the vCPU may run beyond its budget.
pub const XEN_DOMCTL_SCHEDRT_EXTRA: u32 = 1 << 0;

/// RTDS parameters (C `struct xen_domctl_sched_rtds`, 12 B), in µs.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct DomctlSchedRtds {
    /// Period.
    pub period: u32,
    /// Budget per period.
    pub budget: u32,
    /// `XEN_DOMCTL_SCHEDRT_*`.
    pub flags: u32,
}

/// The per-vCPU arm (`u.v`) of [`DomctlSchedulerOp`] (16 B).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct DomctlSchedVcpus {
    /// Guest handle of an array of `xen_domctl_schedparam_vcpu`.
    pub vcpus: u64,
    /// IN: elements in `vcpus`; OUT: elements processed.
    pub nr_vcpus: u32,
    /// Padding.
    pub padding: u32,
}

/// Argument of `XEN_DOMCTL_scheduler_op` (24 B).
///
/// The C union (`credit`, `credit2`, `rtds`, `v`) is kept as raw bytes in
/// `u`; use the accessors.  8-byte aligned like the C one.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C, align(8))]
pub struct DomctlSchedulerOp {
    /// `XEN_SCHEDULER_*` (see [`crate::sched`]).
    pub sched_id: u32,
    /// `XEN_DOMCTL_SCHEDOP_*`.
    pub cmd: u32,
    /// IN/OUT: the scheduler-specific union.
    pub u: [u8; 16],
}

impl DomctlSchedulerOp {
    /// `u.credit` (also `u.credit2`).
    pub fn credit(&self) -> DomctlSchedCredit {
        let (c, _) = DomctlSchedCredit::read_from_prefix(&self.u)
            .expect("credit arm is smaller than the union");
        c
    }

    /// Writes `u.credit` (also `u.credit2`); the rest of the union is left
    /// as is.
    pub fn set_credit(&mut self, c: &DomctlSchedCredit) {
        c.write_to_prefix(&mut self.u)
            .expect("credit arm is smaller than the union");
    }

    /// `u.rtds`.
    pub fn rtds(&self) -> DomctlSchedRtds {
        let (r, _) =
            DomctlSchedRtds::read_from_prefix(&self.u).expect("rtds arm is smaller than the union");
        r
    }

    /// Writes `u.rtds`; the rest of the union is left as is.
    pub fn set_rtds(&mut self, r: &DomctlSchedRtds) {
        r.write_to_prefix(&mut self.u)
            .expect("rtds arm is smaller than the union");
    }

    /// `u.v` (per-vCPU commands).
    pub fn vcpus(&self) -> DomctlSchedVcpus {
        let (v, _) = DomctlSchedVcpus::read_from_prefix(&self.u).expect("v arm fills the union");
        v
    }

    /// Writes `u.v`.
    pub fn set_vcpus(&mut self, v: &DomctlSchedVcpus) {
        v.write_to_prefix(&mut self.u)
            .expect("v arm fills the union");
    }
}

const _: () = assert!(core::mem::size_of::<XenDomctl>() == 144);
const _: () = assert!(core::mem::size_of::<DomctlCreatedomain>() == 68);
const _: () = assert!(core::mem::size_of::<DomctlGetdomaininfo>() == 112);
const _: () = assert!(core::mem::size_of::<DomctlGetdomaininfo>() <= XEN_DOMCTL_PAYLOAD_SIZE);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_layout() {
        check_layout!(XenDomctl, 144, {
            cmd @ 0, interface_version @ 4, domain @ 8, _pad @ 10, u @ 16,
        });
        assert_eq!(core::mem::align_of::<XenDomctl>(), 8);
    }

    #[test]
    fn payload_layouts() {
        check_layout!(XenArchDomainconfig, 8, { emulation_flags @ 0, misc_flags @ 4 });
        check_layout!(DomctlCreatedomain, 68, {
            ssidref @ 0, handle @ 4, flags @ 20, iommu_opts @ 24,
            max_vcpus @ 28, max_evtchn_port @ 32, max_grant_frames @ 36,
            max_maptrack_frames @ 40, grant_opts @ 44, altp2m @ 48,
            vmtrace_size @ 52, cpupool_id @ 56, arch @ 60,
        });
        check_layout!(DomctlGetdomaininfo, 112, {
            domain @ 0, pad1 @ 2, flags @ 4, tot_pages @ 8, max_pages @ 16,
            outstanding_pages @ 24, shr_pages @ 32, paged_pages @ 40,
            shared_info_frame @ 48, cpu_time @ 56, nr_online_vcpus @ 64,
            max_vcpu_id @ 68, ssidref @ 72, handle @ 76, cpupool @ 92,
            gpaddr_bits @ 96, pad2 @ 97, arch_config @ 104,
        });
        check_layout!(DomctlMaxMem, 8, { max_memkb @ 0 });
        check_layout!(DomctlMaxVcpus, 4, { max @ 0 });
        check_layout!(DomctlVcpucontext, 16, { vcpu @ 0, _pad @ 4, ctxt @ 8 });
        check_layout!(DomctlGetvcpuinfo, 24, {
            vcpu @ 0, online @ 4, blocked @ 5, running @ 6, _pad0 @ 7,
            cpu_time @ 8, cpu @ 16, _pad1 @ 20,
        });
        check_layout!(DomctlHypercallInit, 8, { gmfn @ 0 });
        check_layout!(DomctlSendtrigger, 8, { trigger @ 0, vcpu @ 4 });
        check_layout!(DomctlSchedCredit, 4, { weight @ 0, cap @ 2 });
        check_layout!(DomctlSchedRtds, 12, { period @ 0, budget @ 4, flags @ 8 });
        check_layout!(DomctlSchedVcpus, 16, { vcpus @ 0, nr_vcpus @ 8, padding @ 12 });
        check_layout!(DomctlSchedulerOp, 24, { sched_id @ 0, cmd @ 4, u @ 8 });
        assert_eq!(core::mem::align_of::<DomctlSchedulerOp>(), 8);
    }

    #[test]
    fn payload_round_trip() {
        let mut d = XenDomctl::new(XEN_DOMCTL_GETDOMAININFO, 3);
        assert_eq!(d.interface_version, XEN_DOMCTL_INTERFACE_VERSION);
        assert_eq!(d.domain, 3);
        let info = DomctlGetdomaininfo {
            domain: 3,
            flags: XEN_DOMINF_RUNNING,
            tot_pages: 0x4000,
            ..Default::default()
        };
        assert!(d.set_payload(&info));
        assert_eq!(d.payload::<DomctlGetdomaininfo>(), Some(info));
        // getdomaininfo.flags sits at byte 4 of the union, byte 20 overall.
        assert_eq!(d.as_bytes()[20..24], XEN_DOMINF_RUNNING.to_le_bytes());
        assert!(!d.set_payload(&[0u8; 129]));
        assert_eq!(d.payload::<[u8; 129]>(), None);

        let mut c = XenDomctl::new(XEN_DOMCTL_CREATEDOMAIN, 0);
        let cfg = DomctlCreatedomain {
            max_vcpus: 2,
            max_grant_frames: -1,
            max_maptrack_frames: -1,
            grant_opts: 1,
            ..Default::default()
        };
        assert!(c.set_payload(&cfg));
        assert_eq!(c.as_bytes()[16 + 28..16 + 32], 2u32.to_le_bytes());
        assert_eq!(
            grant_version(c.payload::<DomctlCreatedomain>().unwrap().grant_opts),
            1
        );

        // The stable domain-state query takes interface version 0.
        assert_eq!(
            XenDomctl::new(XEN_DOMCTL_GET_DOMAIN_STATE, 1).interface_version,
            0
        );
        assert_eq!(XenDomctl::default().cmd, 0);
    }

    #[test]
    fn dominf_flags() {
        assert_eq!(shutdown_reason(XEN_DOMINF_RUNNING), None);
        let f = XEN_DOMINF_DYING | shutdown_flags(crate::sched::SHUTDOWN_CRASH);
        assert_eq!(f, 0x0003_0005);
        assert_eq!(shutdown_reason(f), Some(crate::sched::SHUTDOWN_CRASH));
        let info = DomctlGetdomaininfo {
            flags: shutdown_flags(crate::sched::SHUTDOWN_POWEROFF),
            ..Default::default()
        };
        assert_eq!(info.shutdown_reason(), Some(0));
        assert_eq!(XEN_DOMCTL_CDF_MAX, 0x100);
        assert_eq!(XEN_X86_EMU_ALL, 0x7ff);
    }

    #[test]
    fn scheduler_union() {
        let mut s = DomctlSchedulerOp {
            sched_id: crate::sched::XEN_SCHEDULER_CREDIT,
            cmd: XEN_DOMCTL_SCHEDOP_PUTINFO,
            ..Default::default()
        };
        s.set_credit(&DomctlSchedCredit {
            weight: 512,
            cap: 50,
        });
        assert_eq!(
            s.credit(),
            DomctlSchedCredit {
                weight: 512,
                cap: 50
            }
        );
        // weight @8, cap @10 of the whole structure.
        assert_eq!(s.as_bytes()[8..12], [0x00, 0x02, 50, 0]);
        let r = DomctlSchedRtds {
            period: 10_000,
            budget: 4_000,
            flags: XEN_DOMCTL_SCHEDRT_EXTRA,
        };
        s.set_rtds(&r);
        assert_eq!(s.rtds(), r);
        let v = DomctlSchedVcpus {
            vcpus: 0xdead_b000,
            nr_vcpus: 4,
            padding: 0,
        };
        s.set_vcpus(&v);
        assert_eq!(s.vcpus(), v);
        assert_eq!(s.as_bytes()[16..20], 4u32.to_le_bytes());
    }
}
