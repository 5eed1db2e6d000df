//! Time as Xen gives it to PV guests: system time from the vCPU's `vcpu_time_info` (a seqlock
//! over a TSC snapshot and a scale), wall clock from `shared_info`.

use core::sync::atomic::{fence, Ordering};
use xen_abi::shared_info::pvclock_scale;

fn rdtsc() -> u64 {
    // SAFETY: RDTSC is allowed in ring 3 (CR4.TSD is clear) and has no side effects.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// Nanoseconds since the hypervisor booted.
pub fn now_ns() -> u64 {
    let si = crate::start::shared_info();
    loop {
        // SAFETY: shared_info is mapped for the guest's life; fields are read volatile and the
        // version check discards torn snapshots.
        let (v0, tsc_ts, sys, mul, shift, v1) = unsafe {
            let t = core::ptr::addr_of!((*si).vcpu_info[0].time);
            let v0 = core::ptr::read_volatile(core::ptr::addr_of!((*t).version));
            fence(Ordering::Acquire);
            let tsc_ts = core::ptr::read_volatile(core::ptr::addr_of!((*t).tsc_timestamp));
            let sys = core::ptr::read_volatile(core::ptr::addr_of!((*t).system_time));
            let mul = core::ptr::read_volatile(core::ptr::addr_of!((*t).tsc_to_system_mul));
            let shift = core::ptr::read_volatile(core::ptr::addr_of!((*t).tsc_shift));
            fence(Ordering::Acquire);
            let v1 = core::ptr::read_volatile(core::ptr::addr_of!((*t).version));
            (v0, tsc_ts, sys, mul, shift, v1)
        };
        if v0 == v1 && v0 & 1 == 0 {
            return sys + pvclock_scale(rdtsc().saturating_sub(tsc_ts), mul, shift);
        }
        core::hint::spin_loop();
    }
}

/// Wall-clock seconds since the Unix epoch.
pub fn wallclock_secs() -> u64 {
    let si = crate::start::shared_info();
    // SAFETY: as in `now_ns`.
    let (sec, hi) = unsafe { (core::ptr::read_volatile(core::ptr::addr_of!((*si).wc_sec)), core::ptr::read_volatile(core::ptr::addr_of!((*si).wc_sec_hi))) };
    (((hi as u64) << 32) | sec as u64) + now_ns() / 1_000_000_000
}
