//! Version and feature queries (`xen_version`), mirroring
//! `xen/include/public/version.h` and `xen/include/public/features.h`.

use zerocopy::{FromBytes, FromZeros, Immutable, IntoBytes, KnownLayout};

/// Newest guest interface version (`__XEN_LATEST_INTERFACE_VERSION__` of
/// `xen/include/public/xen-compat.h`) for the Xen release this crate
/// follows.
pub const XEN_LATEST_INTERFACE_VERSION: u32 = 0x0004_1300;

/// Returns `(major << 16) | minor`.
pub const XENVER_VERSION: u32 = 0;
/// Copies out the extra-version string ([`XEN_EXTRAVERSION_LEN`] bytes).
pub const XENVER_EXTRAVERSION: u32 = 1;
/// Copies out a [`XenCompileInfo`].
pub const XENVER_COMPILE_INFO: u32 = 2;
/// Copies out the capabilities string ([`XEN_CAPABILITIES_INFO_LEN`]).
pub const XENVER_CAPABILITIES: u32 = 3;
/// Copies out the changeset string ([`XEN_CHANGESET_INFO_LEN`]).
pub const XENVER_CHANGESET: u32 = 4;
/// Copies out a [`XenPlatformParameters`].
pub const XENVER_PLATFORM_PARAMETERS: u32 = 5;
/// Fills in a [`XenFeatureInfo`].
pub const XENVER_GET_FEATURES: u32 = 6;
/// Returns the page size.
pub const XENVER_PAGESIZE: u32 = 7;
/// Copies out the domain handle ([`XEN_DOMAIN_HANDLE_LEN`] bytes).
pub const XENVER_GUEST_HANDLE: u32 = 8;
/// Copies out Xen's command line ([`XEN_COMMANDLINE_LEN`]).
pub const XENVER_COMMANDLINE: u32 = 9;
/// Copies out the build id.
pub const XENVER_BUILD_ID: u32 = 10;

/// Encodes a `XENVER_version` result.
pub const fn encode_version(major: u16, minor: u16) -> u32 {
    ((major as u32) << 16) | minor as u32
}

/// Size of the `XENVER_extraversion` buffer.
pub const XEN_EXTRAVERSION_LEN: usize = 16;
/// Size of the `XENVER_capabilities` buffer.
pub const XEN_CAPABILITIES_INFO_LEN: usize = 1024;
/// Size of the `XENVER_changeset` buffer.
pub const XEN_CHANGESET_INFO_LEN: usize = 64;
/// Size of the `XENVER_commandline` buffer.
pub const XEN_COMMANDLINE_LEN: usize = 1024;
/// Size of the `XENVER_guest_handle` result (a domain handle/UUID).
pub const XEN_DOMAIN_HANDLE_LEN: usize = 16;

/// Result of `XENVER_compile_info` (C `struct xen_compile_info`, 144 B).
/// All fields are NUL-terminated strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenCompileInfo {
    /// Compiler used.
    pub compiler: [u8; 64],
    /// User who built Xen.
    pub compile_by: [u8; 16],
    /// Build host's domain.
    pub compile_domain: [u8; 32],
    /// Build date.
    pub compile_date: [u8; 32],
}

impl XenCompileInfo {
    /// All-zero strings.
    pub fn zeroed() -> Self {
        <Self as FromZeros>::new_zeroed()
    }
}

impl Default for XenCompileInfo {
    fn default() -> Self {
        Self::zeroed()
    }
}

/// Result of `XENVER_platform_parameters` (8 B).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct XenPlatformParameters {
    /// Start of the hypervisor's virtual-address hole.
    pub virt_start: u64,
}

/// Argument of `XENVER_get_features` (8 B).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct XenFeatureInfo {
    /// IN: which 32-bit feature word.
    pub submap_idx: u32,
    /// OUT: bit `n` set means feature `32 * submap_idx + n` is present.
    pub submap: u32,
}

/// Number of 32-bit feature words.
pub const XENFEAT_NR_SUBMAPS: u32 = 1;

/// Page tables may be written directly.
pub const XENFEAT_WRITABLE_PAGE_TABLES: u32 = 0;
/// Descriptor tables may be written directly.
pub const XENFEAT_WRITABLE_DESCRIPTOR_TABLES: u32 = 1;
/// Xen translates pseudo-physical to machine addresses.
pub const XENFEAT_AUTO_TRANSLATED_PHYSMAP: u32 = 2;
/// The guest kernel runs in ring 0.
pub const XENFEAT_SUPERVISOR_MODE_KERNEL: u32 = 3;
/// PAE page directories may live above 4 GiB.
pub const XENFEAT_PAE_PGDIR_ABOVE_4GB: u32 = 4;
/// `MMU_PT_UPDATE_PRESERVE_AD` is supported.
pub const XENFEAT_MMU_PT_UPDATE_PRESERVE_AD: u32 = 5;
/// `MMUEXT_{CLEAR,COPY}_PAGE` are supported.
pub const XENFEAT_HIGHMEM_ASSIST: u32 = 6;
/// Grant mappings honour the available-bits flags.
pub const XENFEAT_GNTTAB_MAP_AVAIL_BITS: u32 = 7;
/// HVM callback vector is supported.
pub const XENFEAT_HVM_CALLBACK_VECTOR: u32 = 8;
/// The pvclock algorithm is safe on HVM.
pub const XENFEAT_HVM_SAFE_PVCLOCK: u32 = 9;
/// HVM guests may use PIRQs.
pub const XENFEAT_HVM_PIRQS: u32 = 10;
/// The domain may operate as Dom0.
pub const XENFEAT_DOM0: u32 = 11;
/// `XENMEMF_vnode` is supported.
pub const XENFEAT_MEMORY_OP_VNODE_SUPPORTED: u32 = 13;
/// Arm: SMC calling convention supported.
pub const XENFEAT_ARM_SMCCC_SUPPORTED: u32 = 14;
/// PVH: the ACPI RSDP may be anywhere.
pub const XENFEAT_LINUX_RSDP_UNRESTRICTED: u32 = 15;
/// The domain is not direct-mapped (gfn != mfn).
pub const XENFEAT_NOT_DIRECT_MAPPED: u32 = 16;
/// The domain is direct-mapped (gfn == mfn).
pub const XENFEAT_DIRECT_MAPPED: u32 = 17;
/// `VCPUOP_register_runstate_phys_area` is available.
pub const XENFEAT_RUNSTATE_PHYS_AREA: u32 = 18;
/// `VCPUOP_register_vcpu_time_phys_area` is available.
pub const XENFEAT_VCPU_TIME_PHYS_AREA: u32 = 19;
/// All MSI-X vector-control writes are forwarded to the device model.
pub const XENFEAT_DM_MSIX_ALL_WRITES: u32 = 20;

/// Whether feature `feat` is set in the words of a feature bitmap.
pub fn feature_set(submaps: &[u32], feat: u32) -> bool {
    submaps
        .get((feat / 32) as usize)
        .is_some_and(|w| w & (1 << (feat % 32)) != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts() {
        check_layout!(XenCompileInfo, 144, {
            compiler @ 0, compile_by @ 64, compile_domain @ 80, compile_date @ 112,
        });
        check_layout!(XenPlatformParameters, 8, { virt_start @ 0 });
        check_layout!(XenFeatureInfo, 8, { submap_idx @ 0, submap @ 4 });
    }

    #[test]
    fn helpers() {
        assert_eq!(encode_version(4, 22), 0x0004_0016);
        let map = [(1 << XENFEAT_WRITABLE_DESCRIPTOR_TABLES) | (1 << XENFEAT_DOM0)];
        assert!(feature_set(&map, XENFEAT_DOM0));
        assert!(!feature_set(&map, XENFEAT_WRITABLE_PAGE_TABLES));
        assert!(!feature_set(&map, 40));
        assert_eq!(XENVER_BUILD_ID, 10);
    }
}
