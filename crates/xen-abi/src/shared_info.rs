//! The shared-info page and per-vCPU info, mirroring `struct shared_info`,
//! `struct vcpu_info` and `struct vcpu_time_info` of
//! `xen/include/public/xen.h`, and `struct arch_shared_info` /
//! `struct arch_vcpu_info` of `xen/include/public/arch-x86/xen.h` and
//! `xen/include/public/arch-x86/xen-x86_64.h`.

use zerocopy::{FromBytes, FromZeros, Immutable, IntoBytes, KnownLayout};

/// Number of [`VcpuInfo`] slots embedded in the shared-info page.  vCPUs
/// beyond this must register their own area with
/// `VCPUOP_register_vcpu_info`.
pub const XEN_LEGACY_MAX_VCPUS: usize = 32;

/// [`VcpuTimeInfo::flags`]: the TSC is stable (synchronised across CPUs).
pub const XEN_PVCLOCK_TSC_STABLE_BIT: u8 = 1 << 0;
/// [`VcpuTimeInfo::flags`]: the guest was stopped by the host.
pub const XEN_PVCLOCK_GUEST_STOPPED: u8 = 1 << 1;

/// Per-vCPU time base (C `struct vcpu_time_info`, 32 B).
///
/// Xen bumps `version` before and after updating the other fields, so an
/// odd `version` means an update is in progress and readers must retry
/// (a seqlock).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct VcpuTimeInfo {
    /// Update counter (odd while an update is in progress).
    pub version: u32,
    /// Padding.
    pub pad0: u32,
    /// TSC value at the last update.
    pub tsc_timestamp: u64,
    /// System time (ns since boot) at `tsc_timestamp`.
    pub system_time: u64,
    /// Multiplier (32.32 fixed point) converting shifted TSC ticks to ns.
    pub tsc_to_system_mul: u32,
    /// Binary shift applied to TSC deltas before multiplying (negative =
    /// shift right).
    pub tsc_shift: i8,
    /// `XEN_PVCLOCK_*` flags.
    pub flags: u8,
    /// Padding.
    pub pad1: [u8; 2],
}

impl VcpuTimeInfo {
    /// System time in ns at TSC value `tsc`, per Xen's formula
    /// `system_time + pvclock_scale(tsc - tsc_timestamp, mul, shift)`.
    pub fn system_time_at(&self, tsc: u64) -> u64 {
        self.system_time.wrapping_add(pvclock_scale(
            tsc.wrapping_sub(self.tsc_timestamp),
            self.tsc_to_system_mul,
            self.tsc_shift,
        ))
    }
}

/// Scales a TSC delta to nanoseconds the way Xen and PV guests do:
/// shift the delta left by `shift` (right if negative), then multiply by
/// `mul` and keep bits 32..=95 of the 96-bit product.
pub fn pvclock_scale(delta_tsc: u64, mul: u32, shift: i8) -> u64 {
    let amount = u32::from(shift.unsigned_abs());
    let shifted = if shift >= 0 {
        delta_tsc.checked_shl(amount).unwrap_or(0)
    } else {
        delta_tsc.checked_shr(amount).unwrap_or(0)
    };
    ((u128::from(shifted) * u128::from(mul)) >> 32) as u64
}

/// Computes the (`tsc_to_system_mul`, `tsc_shift`) pair Xen publishes for a
/// counter running at `ticks_per_sec` (Xen's `set_time_scale`): the rate is
/// normalised by powers of two into (1e9, 2e9], and `mul` is
/// `2^32 * 1e9 / normalised_rate`.  Returns `None` for a zero rate.
pub fn time_scale_for_frequency(ticks_per_sec: u64) -> Option<(u32, i8)> {
    const NS_PER_SEC: u64 = 1_000_000_000;
    if ticks_per_sec == 0 {
        return None;
    }
    let mut tps = ticks_per_sec;
    let mut shift: i8 = 0;
    while tps > 2 * NS_PER_SEC {
        tps >>= 1;
        shift -= 1;
    }
    while tps <= NS_PER_SEC {
        tps <<= 1;
        shift += 1;
    }
    let mul = ((NS_PER_SEC << 32) / tps) as u32;
    Some((mul, shift))
}

/// x86 part of [`VcpuInfo`] (C `struct arch_vcpu_info`, 16 B).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct ArchVcpuInfo {
    /// Faulting address of the last page fault delivered to the guest.
    pub cr2: u64,
    /// Padding (keeps [`VcpuInfo`] at 64 B).
    pub pad: u64,
}

/// Per-vCPU event and time state (C `struct vcpu_info`, 64 B).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct VcpuInfo {
    /// Set by Xen when an event is pending for this vCPU; cleared by the
    /// guest before it scans for work.
    pub evtchn_upcall_pending: u8,
    /// Non-zero masks event upcalls (the virtual interrupt flag).
    pub evtchn_upcall_mask: u8,
    /// Padding.
    pub _pad: [u8; 6],
    /// Selector: bit `i` set means word `i` of `evtchn_pending` may have
    /// pending, unmasked ports for this vCPU.
    pub evtchn_pending_sel: u64,
    /// Architecture-specific state.
    pub arch: ArchVcpuInfo,
    /// Time base.
    pub time: VcpuTimeInfo,
}

/// x86 part of [`SharedInfo`] (C `struct arch_shared_info`, 48 B).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct ArchSharedInfo {
    /// Highest PFN in the P2M table.
    pub max_pfn: u64,
    /// Frame of the 3-level P2M frame-list list (0 = unset, all ones =
    /// invalid).
    pub pfn_to_mfn_frame_list_list: u64,
    /// NMI reason bits.
    pub nmi_reason: u64,
    /// CR3 of the page table holding a virtually mapped P2M list.
    pub p2m_cr3: u64,
    /// Virtual address of the virtually mapped P2M list.
    pub p2m_vaddr: u64,
    /// Incremented around P2M list updates.
    pub p2m_generation: u64,
}

/// Number of 64-bit words in each 2-level event bitmap.
pub const EVTCHN_WORDS: usize = 64;

/// The shared-info page (C `struct shared_info`, 3136 B; it occupies the
/// start of a 4 KiB page).
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct SharedInfo {
    /// Per-vCPU info for vCPUs `0..XEN_LEGACY_MAX_VCPUS`.
    pub vcpu_info: [VcpuInfo; XEN_LEGACY_MAX_VCPUS],
    /// 2-level event channels: pending bit per port.
    pub evtchn_pending: [u64; EVTCHN_WORDS],
    /// 2-level event channels: mask bit per port.
    pub evtchn_mask: [u64; EVTCHN_WORDS],
    /// Wall-clock update counter (seqlock, like [`VcpuTimeInfo::version`]).
    pub wc_version: u32,
    /// Wall-clock seconds since the Unix epoch at system time 0 (low 32
    /// bits).
    pub wc_sec: u32,
    /// Wall-clock nanoseconds at system time 0.
    pub wc_nsec: u32,
    /// High 32 bits of the wall-clock seconds.
    pub wc_sec_hi: u32,
    /// Architecture-specific state.
    pub arch: ArchSharedInfo,
}

impl SharedInfo {
    /// An all-zero page.
    pub fn zeroed() -> Self {
        <Self as FromZeros>::new_zeroed()
    }

    /// The full 64-bit wall-clock seconds (`wc_sec_hi:wc_sec`).
    pub const fn wc_sec_full(&self) -> u64 {
        ((self.wc_sec_hi as u64) << 32) | self.wc_sec as u64
    }
}

impl Default for SharedInfo {
    fn default() -> Self {
        Self::zeroed()
    }
}

const _: () = assert!(core::mem::size_of::<VcpuTimeInfo>() == 32);
const _: () = assert!(core::mem::size_of::<VcpuInfo>() == 64);
const _: () = assert!(core::mem::size_of::<ArchSharedInfo>() == 48);
const _: () = assert!(core::mem::size_of::<SharedInfo>() == offsets::SIZE);
const _: () = assert!(offsets::SIZE <= crate::PAGE_SIZE);
const _: () = assert!(core::mem::offset_of!(SharedInfo, evtchn_pending) == offsets::EVTCHN_PENDING);
const _: () = assert!(core::mem::offset_of!(SharedInfo, evtchn_mask) == offsets::EVTCHN_MASK);
const _: () = assert!(core::mem::offset_of!(SharedInfo, wc_version) == offsets::WC_VERSION);
const _: () = assert!(core::mem::offset_of!(SharedInfo, arch) == offsets::ARCH);

/// Byte offsets inside the shared-info page, for code that updates it with
/// atomic operations on raw memory rather than through [`SharedInfo`].
pub mod offsets {
    /// Size of [`super::SharedInfo`].
    pub const SIZE: usize = 3136;
    /// Start of the embedded `vcpu_info` array.
    pub const VCPU_INFO: usize = 0;
    /// Size of one [`super::VcpuInfo`].
    pub const VCPU_INFO_SIZE: usize = 64;
    /// Start of the `evtchn_pending` bitmap.
    pub const EVTCHN_PENDING: usize = 2048;
    /// Start of the `evtchn_mask` bitmap.
    pub const EVTCHN_MASK: usize = 2560;
    /// `wc_version`.
    pub const WC_VERSION: usize = 3072;
    /// `wc_sec`.
    pub const WC_SEC: usize = 3076;
    /// `wc_nsec`.
    pub const WC_NSEC: usize = 3080;
    /// `wc_sec_hi`.
    pub const WC_SEC_HI: usize = 3084;
    /// `arch` (an [`super::ArchSharedInfo`]).
    pub const ARCH: usize = 3088;
    /// `arch.max_pfn`.
    pub const ARCH_MAX_PFN: usize = ARCH;
    /// `arch.pfn_to_mfn_frame_list_list`.
    pub const ARCH_PFN_TO_MFN_FRAME_LIST_LIST: usize = ARCH + 8;
    /// `arch.nmi_reason`.
    pub const ARCH_NMI_REASON: usize = ARCH + 16;

    /// Within a `vcpu_info`: `evtchn_upcall_pending` (u8).
    pub const VCPU_UPCALL_PENDING: usize = 0;
    /// Within a `vcpu_info`: `evtchn_upcall_mask` (u8).
    pub const VCPU_UPCALL_MASK: usize = 1;
    /// Within a `vcpu_info`: `evtchn_pending_sel` (u64).
    pub const VCPU_PENDING_SEL: usize = 8;
    /// Within a `vcpu_info`: `arch.cr2` (u64).
    pub const VCPU_ARCH_CR2: usize = 16;
    /// Within a `vcpu_info`: `time` (a [`super::VcpuTimeInfo`]).
    pub const VCPU_TIME: usize = 32;

    /// Offset of `vcpu_info[vcpu]` in the page.
    pub const fn vcpu_info(vcpu: usize) -> usize {
        VCPU_INFO + vcpu * VCPU_INFO_SIZE
    }

    /// Offset of the `evtchn_pending` word holding `port`'s bit.
    pub const fn evtchn_pending_word(port: u32) -> usize {
        EVTCHN_PENDING + (port as usize / 64) * 8
    }

    /// Offset of the `evtchn_mask` word holding `port`'s bit.
    pub const fn evtchn_mask_word(port: u32) -> usize {
        EVTCHN_MASK + (port as usize / 64) * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vcpu_time_info_layout() {
        check_layout!(VcpuTimeInfo, 32, {
            version @ 0, pad0 @ 4, tsc_timestamp @ 8, system_time @ 16,
            tsc_to_system_mul @ 24, tsc_shift @ 28, flags @ 29, pad1 @ 30,
        });
    }

    #[test]
    fn vcpu_info_layout() {
        check_layout!(ArchVcpuInfo, 16, { cr2 @ 0, pad @ 8 });
        check_layout!(VcpuInfo, 64, {
            evtchn_upcall_pending @ 0, evtchn_upcall_mask @ 1,
            evtchn_pending_sel @ 8, arch @ 16, time @ 32,
        });
        assert_eq!(
            core::mem::offset_of!(VcpuInfo, evtchn_upcall_pending),
            offsets::VCPU_UPCALL_PENDING
        );
        assert_eq!(
            core::mem::offset_of!(VcpuInfo, evtchn_upcall_mask),
            offsets::VCPU_UPCALL_MASK
        );
        assert_eq!(
            core::mem::offset_of!(VcpuInfo, evtchn_pending_sel),
            offsets::VCPU_PENDING_SEL
        );
        assert_eq!(
            core::mem::offset_of!(VcpuInfo, arch),
            offsets::VCPU_ARCH_CR2
        );
        assert_eq!(core::mem::offset_of!(VcpuInfo, time), offsets::VCPU_TIME);
    }

    #[test]
    fn shared_info_layout() {
        check_layout!(ArchSharedInfo, 48, {
            max_pfn @ 0, pfn_to_mfn_frame_list_list @ 8, nmi_reason @ 16,
            p2m_cr3 @ 24, p2m_vaddr @ 32, p2m_generation @ 40,
        });
        check_layout!(SharedInfo, 3136, {
            vcpu_info @ 0, evtchn_pending @ 2048, evtchn_mask @ 2560,
            wc_version @ 3072, wc_sec @ 3076, wc_nsec @ 3080,
            wc_sec_hi @ 3084, arch @ 3088,
        });
        assert_eq!(core::mem::offset_of!(SharedInfo, wc_sec), offsets::WC_SEC);
        assert_eq!(core::mem::offset_of!(SharedInfo, wc_nsec), offsets::WC_NSEC);
        assert_eq!(
            core::mem::offset_of!(SharedInfo, wc_sec_hi),
            offsets::WC_SEC_HI
        );
        assert_eq!(offsets::vcpu_info(31), 1984);
        assert_eq!(offsets::evtchn_pending_word(4095), 2048 + 63 * 8);
        assert_eq!(offsets::evtchn_mask_word(64), 2568);
    }

    #[test]
    fn raw_offsets_match_struct() {
        let mut si = SharedInfo::zeroed();
        si.vcpu_info[3].evtchn_upcall_mask = 0xaa;
        si.vcpu_info[3].evtchn_pending_sel = 0x1122_3344_5566_7788;
        si.evtchn_pending[1] = 1;
        si.evtchn_mask[2] = 2;
        si.arch.nmi_reason = 7;
        let b = si.as_bytes();
        assert_eq!(b[offsets::vcpu_info(3) + offsets::VCPU_UPCALL_MASK], 0xaa);
        let sel = offsets::vcpu_info(3) + offsets::VCPU_PENDING_SEL;
        assert_eq!(b[sel], 0x88);
        assert_eq!(b[offsets::evtchn_pending_word(64)], 1);
        assert_eq!(b[offsets::evtchn_mask_word(128)], 2);
        assert_eq!(b[offsets::ARCH_NMI_REASON], 7);
        si.wc_sec = 5;
        si.wc_sec_hi = 1;
        assert_eq!(si.wc_sec_full(), (1 << 32) | 5);
    }

    #[test]
    fn scale() {
        // mul = 2^31 halves the delta.
        assert_eq!(pvclock_scale(1000, 1 << 31, 0), 500);
        // A positive shift doubles first.
        assert_eq!(pvclock_scale(1000, 1 << 31, 1), 1000);
        // A negative shift halves first.
        assert_eq!(pvclock_scale(1000, 1 << 31, -1), 250);
        // The product uses 96 bits without overflowing.
        assert_eq!(
            pvclock_scale(u64::MAX, u32::MAX, 0),
            ((u64::MAX as u128 * u32::MAX as u128) >> 32) as u64
        );
        // Out-of-range shifts do not panic.
        assert_eq!(pvclock_scale(1, 1 << 31, 64), 0);
        assert_eq!(pvclock_scale(u64::MAX, 1, -128), 0);
        assert_eq!(pvclock_scale(0, u32::MAX, 5), 0);
    }

    #[test]
    fn time_scale() {
        assert_eq!(time_scale_for_frequency(0), None);
        // 1 GHz normalises to 2e9 with shift +1 and mul = 2^31.
        assert_eq!(time_scale_for_frequency(1_000_000_000), Some((1 << 31, 1)));
        for &hz in &[
            3_000_000_000u64,
            2_400_000_000,
            1_193_182,
            25_000_000,
            5_000_000_000,
        ] {
            let (mul, shift) = time_scale_for_frequency(hz).unwrap();
            let ns = pvclock_scale(hz, mul, shift);
            assert!(ns.abs_diff(1_000_000_000) <= 2, "{hz} Hz gives {ns} ns");
        }
        let t = VcpuTimeInfo {
            tsc_timestamp: 1000,
            system_time: 5,
            tsc_to_system_mul: 1 << 31,
            tsc_shift: 0,
            ..Default::default()
        };
        assert_eq!(t.system_time_at(3000), 1005);
    }
}
