//! The guest-shared `shared_info` page, reached through the direct map. The guest may change
//! any byte at any time, so every access is atomic or volatile and read once.

use crate::arch::x86_64::paging::DirectMap;
use crate::event::EventBitmaps;
use crate::mm::Mfn;
use core::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use xen_abi::shared_info::offsets;

/// One domain's `shared_info` frame.
#[derive(Clone, Copy)]
pub struct SharedInfoPage(pub Mfn);

const VCPU_INFO_SIZE: usize = 64;

impl SharedInfoPage {
    fn u64_at(&self, offset: usize) -> &AtomicU64 {
        debug_assert!(offset % 8 == 0 && offset + 8 <= 4096);
        // SAFETY: the frame is a hypervisor-allocated page mapped in the direct map for the
        // domain's whole life; offset is in bounds and 8-aligned; AtomicU64 tolerates the guest
        // writing concurrently.
        unsafe { &*(DirectMap::virt(self.0, offset) as *const AtomicU64) }
    }

    fn u8_at(&self, offset: usize) -> &AtomicU8 {
        debug_assert!(offset < 4096);
        // SAFETY: as for `u64_at`, for a single byte.
        unsafe { &*(DirectMap::virt(self.0, offset) as *const AtomicU8) }
    }

    fn vcpu_base(vcpu: u32) -> usize {
        vcpu as usize * VCPU_INFO_SIZE
    }

    pub fn upcall_pending(&self, vcpu: u32) -> bool {
        self.u8_at(Self::vcpu_base(vcpu)).load(Ordering::SeqCst) != 0
    }

    pub fn upcall_mask(&self, vcpu: u32) -> bool {
        self.u8_at(Self::vcpu_base(vcpu) + 1).load(Ordering::SeqCst) != 0
    }

    pub fn set_upcall_mask(&self, vcpu: u32, masked: bool) {
        self.u8_at(Self::vcpu_base(vcpu) + 1).store(masked as u8, Ordering::SeqCst);
    }

    pub fn set_cr2(&self, vcpu: u32, cr2: u64) {
        self.u64_at(Self::vcpu_base(vcpu) + 16).store(cr2, Ordering::SeqCst);
    }

    /// Publish the vCPU's time record, seqlock style (odd version while updating).
    pub fn write_time(&self, vcpu: u32, tsc: u64, system_ns: u64, mul: u32, shift: i8) {
        let base = Self::vcpu_base(vcpu) + 32;
        let version = self.u64_at(base);
        let v = version.load(Ordering::SeqCst) as u32;
        let odd = v.wrapping_add(1) | 1;
        // version (u32) shares the first 8 bytes with padding; keep the padding zero.
        version.store(odd as u64, Ordering::SeqCst);
        self.u64_at(base + 8).store(tsc, Ordering::SeqCst);
        self.u64_at(base + 16).store(system_ns, Ordering::SeqCst);
        let flags = xen_abi::shared_info::XEN_PVCLOCK_TSC_STABLE_BIT as u64;
        self.u64_at(base + 24).store(mul as u64 | (shift as u8 as u64) << 32 | flags << 40, Ordering::SeqCst);
        version.store(odd.wrapping_add(1) as u64, Ordering::SeqCst);
    }

    /// Publish the time record as of now.
    pub fn refresh_time(&self, vcpu: u32) {
        let tsc = crate::arch::x86_64::timer::rdtsc();
        let scale = crate::time::scale();
        self.write_time(vcpu, tsc, crate::time::ns_at(tsc), scale.mul, scale.shift);
    }

    /// Publish the wall clock at system time 0.
    pub fn write_wallclock(&self, sec: u64, nsec: u32) {
        // wc_version @3072 (u32), wc_sec @3076, wc_nsec @3080, wc_sec_hi @3084.
        let w0 = self.u64_at(offsets::WC_VERSION);
        let w1 = self.u64_at(offsets::WC_VERSION + 8);
        let ver = (w0.load(Ordering::SeqCst) as u32).wrapping_add(1) | 1;
        w0.store(ver as u64 | (sec as u32 as u64) << 32, Ordering::SeqCst);
        w1.store(nsec as u64 | (sec >> 32) << 32, Ordering::SeqCst);
        w0.store(ver.wrapping_add(1) as u64 | (sec as u32 as u64) << 32, Ordering::SeqCst);
    }

    pub fn set_max_pfn(&self, max_pfn: u64) {
        self.u64_at(offsets::ARCH).store(max_pfn, Ordering::SeqCst);
    }

    fn bit(&self, base: usize, port: u32) -> (&AtomicU64, u64) {
        (self.u64_at(base + (port as usize / 64) * 8), 1u64 << (port % 64))
    }
}

impl EventBitmaps for SharedInfoPage {
    fn test_and_set_pending(&self, port: u32) -> bool {
        let (word, bit) = self.bit(offsets::EVTCHN_PENDING, port);
        word.fetch_or(bit, Ordering::SeqCst) & bit != 0
    }

    fn is_pending(&self, port: u32) -> bool {
        let (word, bit) = self.bit(offsets::EVTCHN_PENDING, port);
        word.load(Ordering::SeqCst) & bit != 0
    }

    fn clear_pending(&self, port: u32) {
        let (word, bit) = self.bit(offsets::EVTCHN_PENDING, port);
        word.fetch_and(!bit, Ordering::SeqCst);
    }

    fn is_masked(&self, port: u32) -> bool {
        let (word, bit) = self.bit(offsets::EVTCHN_MASK, port);
        word.load(Ordering::SeqCst) & bit != 0
    }

    fn test_and_clear_mask(&self, port: u32) -> bool {
        let (word, bit) = self.bit(offsets::EVTCHN_MASK, port);
        word.fetch_and(!bit, Ordering::SeqCst) & bit != 0
    }

    fn test_and_set_selector(&self, vcpu: u32, word: u32) -> bool {
        let sel = self.u64_at(Self::vcpu_base(vcpu) + 8);
        let bit = 1u64 << word;
        sel.fetch_or(bit, Ordering::SeqCst) & bit != 0
    }

    fn set_upcall_pending(&self, vcpu: u32) {
        self.u8_at(Self::vcpu_base(vcpu)).store(1, Ordering::SeqCst);
    }
}
