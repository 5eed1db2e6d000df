//! System control for the toolstack (`sysctl` hypercall), mirroring
//! `xen/include/public/sysctl.h`.
//!
//! Only the argument header and the structures this project uses are
//! modelled; every command number is listed.  The layouts are those of
//! interface version 0x15 (Xen 4.17 and later).

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::domid::DomId;

/// Value the caller must put in [`XenSysctl::interface_version`].
pub const XEN_SYSCTL_INTERFACE_VERSION: u32 = 0x0000_0015;

/// Read (and optionally clear) Xen's console ring ([`SysctlReadconsole`]).
pub const XEN_SYSCTL_READCONSOLE: u32 = 1;
/// Trace-buffer control.
pub const XEN_SYSCTL_TBUF_OP: u32 = 2;
/// Host information ([`SysctlPhysinfo`]).
pub const XEN_SYSCTL_PHYSINFO: u32 = 3;
/// Id of the default scheduler ([`SysctlSchedId`]).
pub const XEN_SYSCTL_SCHED_ID: u32 = 4;
/// Software performance counters.
pub const XEN_SYSCTL_PERFC_OP: u32 = 5;
/// Information about a range of domains ([`SysctlGetdomaininfolist`]).
pub const XEN_SYSCTL_GETDOMAININFOLIST: u32 = 6;
/// Inject debug keys.
pub const XEN_SYSCTL_DEBUG_KEYS: u32 = 7;
/// Per-pCPU idle time.
pub const XEN_SYSCTL_GETCPUINFO: u32 = 8;
/// Free heap memory.
pub const XEN_SYSCTL_AVAILHEAP: u32 = 9;
/// Power-management statistics.
pub const XEN_SYSCTL_GET_PMSTAT: u32 = 10;
/// CPU hotplug.
pub const XEN_SYSCTL_CPU_HOTPLUG: u32 = 11;
/// Power-management (cpufreq/cpuidle) control.
pub const XEN_SYSCTL_PM_OP: u32 = 12;
/// Offline/online physical pages.
pub const XEN_SYSCTL_PAGE_OFFLINE_OP: u32 = 14;
/// Lock profiling.
pub const XEN_SYSCTL_LOCKPROF_OP: u32 = 15;
/// CPU topology.
pub const XEN_SYSCTL_CPUTOPOINFO: u32 = 16;
/// NUMA topology.
pub const XEN_SYSCTL_NUMAINFO: u32 = 17;
/// CPU pools.
pub const XEN_SYSCTL_CPUPOOL_OP: u32 = 18;
/// Global scheduler parameters.
pub const XEN_SYSCTL_SCHEDULER_OP: u32 = 19;
/// Code-coverage data.
pub const XEN_SYSCTL_COVERAGE_OP: u32 = 20;
/// Cache-monitoring technology.
pub const XEN_SYSCTL_PSR_CMT_OP: u32 = 21;
/// PCI device topology.
pub const XEN_SYSCTL_PCITOPOINFO: u32 = 22;
/// Cache/memory-bandwidth allocation.
pub const XEN_SYSCTL_PSR_ALLOC: u32 = 23;
/// CPUID masking/faulting capabilities.
pub const XEN_SYSCTL_GET_CPU_LEVELLING_CAPS: u32 = 25;
/// CPU featuresets.
pub const XEN_SYSCTL_GET_CPU_FEATURESET: u32 = 26;
/// Live patching.
pub const XEN_SYSCTL_LIVEPATCH_OP: u32 = 27;
/// CPUID/MSR policies.
pub const XEN_SYSCTL_GET_CPU_POLICY: u32 = 29;
/// Device-tree overlays (Arm only).
pub const XEN_SYSCTL_DT_OVERLAY: u32 = 30;
// 13 was never assigned; 24 (tmem_op) and 28 (set_parameter) are retired.

/// Size of the command-specific union in [`XenSysctl`].
pub const XEN_SYSCTL_PAYLOAD_SIZE: usize = 128;

/// The `sysctl` argument (C `struct xen_sysctl`, 136 B).
///
/// The C union of per-command structures (padded to 128 bytes) is kept as
/// raw bytes in `u`; read and write it with [`XenSysctl::payload`] and
/// [`XenSysctl::set_payload`].  The structure is 8-byte aligned like the C
/// one (the union holds 64-bit fields).
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C, align(8))]
pub struct XenSysctl {
    /// `XEN_SYSCTL_*` command.
    pub cmd: u32,
    /// Must be [`XEN_SYSCTL_INTERFACE_VERSION`].
    pub interface_version: u32,
    /// Command-specific argument.
    pub u: [u8; XEN_SYSCTL_PAYLOAD_SIZE],
}

impl XenSysctl {
    /// A request for `cmd` with the current interface version and a zero
    /// payload.
    pub fn new(cmd: u32) -> Self {
        Self {
            cmd,
            interface_version: XEN_SYSCTL_INTERFACE_VERSION,
            u: [0; XEN_SYSCTL_PAYLOAD_SIZE],
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

impl Default for XenSysctl {
    fn default() -> Self {
        Self::new(0)
    }
}

/// Argument of `XEN_SYSCTL_readconsole` (24 B).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct SysctlReadconsole {
    /// IN: non-zero clears the ring after reading.
    pub clear: u8,
    /// IN: non-zero starts at `index` instead of the oldest byte.
    pub incremental: u8,
    /// Padding.
    pub pad0: u8,
    /// Padding.
    pub pad1: u8,
    /// IN: start index (if `incremental`); OUT: index after the last byte
    /// read.
    pub index: u32,
    /// IN: guest handle of the destination buffer.
    pub buffer: u64,
    /// IN: buffer size; OUT: bytes written.
    pub count: u32,
    /// Padding.
    pub _pad: u32,
}

/// Platform supports HVM guests.
pub const XEN_SYSCTL_PHYSCAP_HVM: u32 = 1 << 0;
/// Platform supports PV guests.
pub const XEN_SYSCTL_PHYSCAP_PV: u32 = 1 << 1;
/// Platform supports device pass-through with an IOMMU.
pub const XEN_SYSCTL_PHYSCAP_DIRECTIO: u32 = 1 << 2;
/// Platform supports hardware-assisted paging.
pub const XEN_SYSCTL_PHYSCAP_HAP: u32 = 1 << 3;
/// Platform supports shadow paging.
pub const XEN_SYSCTL_PHYSCAP_SHADOW: u32 = 1 << 4;
/// HAP page tables can be shared with the IOMMU.
pub const XEN_SYSCTL_PHYSCAP_IOMMU_HAP_PT_SHARE: u32 = 1 << 5;
/// Processor trace (vmtrace) is available.
pub const XEN_SYSCTL_PHYSCAP_VMTRACE: u32 = 1 << 6;
/// A virtual PMU is available.
pub const XEN_SYSCTL_PHYSCAP_VPMU: u32 = 1 << 7;
/// Grant table v1 is available.
pub const XEN_SYSCTL_PHYSCAP_GNTTAB_V1: u32 = 1 << 8;
/// Grant table v2 is available.
pub const XEN_SYSCTL_PHYSCAP_GNTTAB_V2: u32 = 1 << 9;
/// Highest defined `XEN_SYSCTL_PHYSCAP_*` bit.
pub const XEN_SYSCTL_PHYSCAP_MAX: u32 = XEN_SYSCTL_PHYSCAP_GNTTAB_V2;
/// `arch_capabilities` (x86): hardware-assisted xAPIC emulation.
pub const XEN_SYSCTL_PHYSCAP_X86_ASSISTED_XAPIC: u32 = 1 << 0;
/// `arch_capabilities` (x86): hardware-assisted x2APIC emulation.
pub const XEN_SYSCTL_PHYSCAP_X86_ASSISTED_X2APIC: u32 = 1 << 1;
/// Highest defined x86 `arch_capabilities` bit.
pub const XEN_SYSCTL_PHYSCAP_X86_MAX: u32 = XEN_SYSCTL_PHYSCAP_X86_ASSISTED_X2APIC;

/// Result of `XEN_SYSCTL_physinfo` (112 B).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct SysctlPhysinfo {
    /// Hardware threads per core.
    pub threads_per_core: u32,
    /// Cores per socket.
    pub cores_per_socket: u32,
    /// CPUs currently online.
    pub nr_cpus: u32,
    /// Largest possible CPU id.
    pub max_cpu_id: u32,
    /// NUMA nodes currently online.
    pub nr_nodes: u32,
    /// Largest possible node id.
    pub max_node_id: u32,
    /// CPU frequency in kHz.
    pub cpu_khz: u32,
    /// `XEN_SYSCTL_PHYSCAP_*`.
    pub capabilities: u32,
    /// `XEN_SYSCTL_PHYSCAP_X86_*` (architecture-specific).
    pub arch_capabilities: u32,
    /// Padding.
    pub pad: u32,
    /// Total host pages.
    pub total_pages: u64,
    /// Free host pages.
    pub free_pages: u64,
    /// Pages awaiting scrubbing.
    pub scrub_pages: u64,
    /// Pages claimed but not yet allocated.
    pub outstanding_pages: u64,
    /// Largest possible MFN.
    pub max_mfn: u64,
    /// Host CPUID feature words.
    pub hw_cap: [u32; 8],
}

/// Result of `XEN_SYSCTL_sched_id` (4 B).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct SysctlSchedId {
    /// `XEN_SCHEDULER_*` (see [`crate::sched`]).
    pub sched_id: u32,
}

/// Argument of `XEN_SYSCTL_getdomaininfolist` (24 B).  The buffer receives
/// `xen_domctl_getdomaininfo` records.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct SysctlGetdomaininfolist {
    /// IN: first domain id to report.
    pub first_domain: DomId,
    /// Padding.
    pub _pad0: u16,
    /// IN: capacity of `buffer` in records.
    pub max_domains: u32,
    /// IN: guest handle of the output array.
    pub buffer: u64,
    /// OUT: number of records written.
    pub num_domains: u32,
    /// Padding.
    pub _pad1: u32,
}

const _: () = assert!(core::mem::size_of::<XenSysctl>() == 136);
const _: () = assert!(core::mem::size_of::<SysctlPhysinfo>() <= XEN_SYSCTL_PAYLOAD_SIZE);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_layout() {
        check_layout!(XenSysctl, 136, { cmd @ 0, interface_version @ 4, u @ 8 });
        assert_eq!(core::mem::align_of::<XenSysctl>(), 8);
    }

    #[test]
    fn payload_layouts() {
        check_layout!(SysctlReadconsole, 24, {
            clear @ 0, incremental @ 1, pad0 @ 2, pad1 @ 3, index @ 4,
            buffer @ 8, count @ 16,
        });
        check_layout!(SysctlPhysinfo, 112, {
            threads_per_core @ 0, cores_per_socket @ 4, nr_cpus @ 8,
            max_cpu_id @ 12, nr_nodes @ 16, max_node_id @ 20, cpu_khz @ 24,
            capabilities @ 28, arch_capabilities @ 32, pad @ 36,
            total_pages @ 40, free_pages @ 48, scrub_pages @ 56,
            outstanding_pages @ 64, max_mfn @ 72, hw_cap @ 80,
        });
        check_layout!(SysctlSchedId, 4, { sched_id @ 0 });
        check_layout!(SysctlGetdomaininfolist, 24, {
            first_domain @ 0, max_domains @ 4, buffer @ 8, num_domains @ 16,
        });
    }

    #[test]
    fn payload_round_trip() {
        let mut s = XenSysctl::new(XEN_SYSCTL_PHYSINFO);
        assert_eq!(s.interface_version, XEN_SYSCTL_INTERFACE_VERSION);
        let p = SysctlPhysinfo {
            nr_cpus: 4,
            total_pages: 0x1_0000,
            ..Default::default()
        };
        assert!(s.set_payload(&p));
        assert_eq!(s.payload::<SysctlPhysinfo>(), Some(p));
        // nr_cpus sits at byte 8 of the union, i.e. byte 16 of the struct.
        assert_eq!(s.as_bytes()[16..20], 4u32.to_le_bytes());
        assert!(!s.set_payload(&[0u8; 129]));
        assert_eq!(s.payload::<[u8; 129]>(), None);
    }

    #[test]
    fn physcap_bits() {
        assert_eq!(XEN_SYSCTL_PHYSCAP_PV, 2);
        assert_eq!(XEN_SYSCTL_PHYSCAP_MAX, 1 << 9);
    }
}
