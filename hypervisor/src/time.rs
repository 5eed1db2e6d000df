//! System time: nanoseconds since boot, derived from the TSC with Xen's pvclock scaling so the
//! hypervisor and every guest (through `vcpu_time_info`) compute exactly the same value.

use core::sync::atomic::{AtomicU64, Ordering};

/// TSC→ns scale in Xen's form: `ns = ((delta << shift) * mul) >> 32` (shift may be negative).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeScale {
    pub mul: u32,
    pub shift: i8,
}

impl TimeScale {
    /// The scale for a counter running at `hz` ticks per second.
    pub fn for_frequency(hz: u64) -> TimeScale {
        assert!(hz > 0, "a zero-frequency clock is a calibration bug");
        // Pick the shift that keeps `mul` below 2^32 with the most precision: we need
        // hz * 2^shift > 1e9, so halve/double until 1e9 / (hz * 2^shift) is in [0.5, 1).
        let mut shift: i8 = 0;
        let mut scaled = hz as u128;
        while scaled <= 1_000_000_000 {
            scaled <<= 1;
            shift += 1;
        }
        while scaled > 2_000_000_000 {
            scaled >>= 1;
            shift -= 1;
        }
        let mul = ((1_000_000_000u128 << 32) / scaled) as u32;
        TimeScale { mul, shift }
    }

    /// Convert a tick delta to nanoseconds, exactly as a guest does with `vcpu_time_info`.
    pub fn ticks_to_ns(self, delta: u64) -> u64 {
        let shifted = if self.shift >= 0 { (delta as u128) << self.shift } else { (delta as u128) >> -self.shift };
        ((shifted * self.mul as u128) >> 32) as u64
    }
}

static BOOT_TSC: AtomicU64 = AtomicU64::new(0);
static SCALE_MUL: AtomicU64 = AtomicU64::new(0);
static SCALE_SHIFT: AtomicU64 = AtomicU64::new(0);
static TSC_HZ: AtomicU64 = AtomicU64::new(0);
static BOOT_WALLCLOCK: AtomicU64 = AtomicU64::new(0);

/// Record the calibration: system time 0 is `boot_tsc`.
pub fn init(boot_tsc: u64, tsc_hz: u64, wallclock_at_boot: u64) {
    let scale = TimeScale::for_frequency(tsc_hz);
    BOOT_TSC.store(boot_tsc, Ordering::Relaxed);
    SCALE_MUL.store(scale.mul as u64, Ordering::Relaxed);
    SCALE_SHIFT.store(scale.shift as u8 as u64, Ordering::Relaxed);
    TSC_HZ.store(tsc_hz, Ordering::Relaxed);
    BOOT_WALLCLOCK.store(wallclock_at_boot, Ordering::Relaxed);
}

pub fn scale() -> TimeScale {
    TimeScale { mul: SCALE_MUL.load(Ordering::Relaxed) as u32, shift: SCALE_SHIFT.load(Ordering::Relaxed) as u8 as i8 }
}

pub fn boot_tsc() -> u64 {
    BOOT_TSC.load(Ordering::Relaxed)
}

pub fn tsc_hz() -> u64 {
    TSC_HZ.load(Ordering::Relaxed)
}

/// Unix seconds at system time 0 (from the RTC).
pub fn boot_wallclock() -> u64 {
    BOOT_WALLCLOCK.load(Ordering::Relaxed)
}

/// Nanoseconds since the TSC at `boot_tsc`, for a TSC reading `tsc`.
pub fn ns_at(tsc: u64) -> u64 {
    if SCALE_MUL.load(Ordering::Relaxed) == 0 {
        return 0; // before calibration (early log lines)
    }
    scale().ticks_to_ns(tsc.saturating_sub(boot_tsc()))
}

/// Days-from-civil (proleptic Gregorian) to Unix seconds.
pub fn unix_seconds(year: u64, month: u64, day: u64, hour: u64, min: u64, sec: u64) -> u64 {
    let (y, m) = if month <= 2 { (year as i64 - 1, month as i64 + 9) } else { (year as i64, month as i64 - 3) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    (days * 86_400) as u64 + hour * 3600 + min * 60 + sec
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_converts_within_a_nanosecond_per_second() {
        for hz in [1_000_000u64, 999_999_999, 1_000_000_000, 2_400_000_000, 3_700_123_456, 10_000_000_000] {
            let s = TimeScale::for_frequency(hz);
            let ns = s.ticks_to_ns(hz);
            assert!(ns.abs_diff(1_000_000_000) <= 2, "hz {hz}: one second became {ns} ns");
            let ns10 = s.ticks_to_ns(hz * 10);
            assert!(ns10.abs_diff(10_000_000_000) <= 20, "hz {hz}: ten seconds became {ns10} ns");
        }
    }

    #[test]
    fn civil_dates_convert_to_unix_time() {
        assert_eq!(unix_seconds(1970, 1, 1, 0, 0, 0), 0);
        assert_eq!(unix_seconds(2000, 3, 1, 0, 0, 0), 951_868_800);
        assert_eq!(unix_seconds(2026, 11, 21, 12, 30, 15), 1_795_264_215);
    }
}
