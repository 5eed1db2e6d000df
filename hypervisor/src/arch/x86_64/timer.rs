//! Time sources: the TSC (the clock), the local APIC timer (one-shot interrupts), both
//! calibrated against the 8254 PIT, and the CMOS RTC for the wall clock at boot.

use super::port::{inb, outb};
use core::sync::atomic::{AtomicU64, Ordering};
use x86_64::registers::model_specific::Msr;

/// Interrupt vector of the local APIC timer.
pub const TIMER_VECTOR: u8 = 0x20;
/// Spurious-interrupt vector (must end in 0xf on old APICs).
pub const SPURIOUS_VECTOR: u8 = 0xff;

static APIC_BASE: AtomicU64 = AtomicU64::new(0);
static APIC_TICKS_PER_MS: AtomicU64 = AtomicU64::new(0);

const APIC_EOI: usize = 0xb0;
const APIC_SVR: usize = 0xf0;
const APIC_LVT_TIMER: usize = 0x320;
const APIC_TIMER_INITIAL: usize = 0x380;
const APIC_TIMER_CURRENT: usize = 0x390;
const APIC_TIMER_DIVIDE: usize = 0x3e0;

fn apic_write(reg: usize, value: u32) {
    let base = APIC_BASE.load(Ordering::Relaxed);
    // SAFETY: `base` is the hypervisor's uncached mapping of the local APIC page, set by
    // `init_apic`; `reg` is one of the architectural register offsets above.
    unsafe { core::ptr::write_volatile((base as usize + reg) as *mut u32, value) }
}

fn apic_read(reg: usize) -> u32 {
    let base = APIC_BASE.load(Ordering::Relaxed);
    // SAFETY: as for `apic_write`.
    unsafe { core::ptr::read_volatile((base as usize + reg) as *const u32) }
}

pub fn rdtsc() -> u64 {
    // SAFETY: RDTSC has no side effects.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// Physical address of the local APIC registers (IA32_APIC_BASE).
pub fn apic_phys_base() -> u64 {
    // SAFETY: IA32_APIC_BASE exists on every x86-64 CPU with an APIC.
    unsafe { Msr::new(0x1b).read() & 0xf_ffff_f000 }
}

/// Mask the legacy 8259 PICs: all device interrupts come through the local APIC.
pub fn mask_pic() {
    outb(0x21, 0xff);
    outb(0xa1, 0xff);
}

/// Measure the TSC and the APIC timer over `ms` milliseconds of PIT channel 2.
/// Returns (TSC ticks per second, APIC ticks per ms at divide-by-16).
pub fn calibrate(apic_virt: u64, ms: u32) -> (u64, u64) {
    APIC_BASE.store(apic_virt, Ordering::Relaxed);
    const PIT_HZ: u64 = 1_193_182;
    let count = (PIT_HZ * ms as u64 / 1000) as u16;
    // Gate on, speaker off; channel 2, lobyte/hibyte, mode 0 (interrupt on terminal count).
    outb(0x61, (inb(0x61) & !0x02) | 0x01);
    outb(0x43, 0b1011_0000);
    outb(0x42, count as u8);
    outb(0x42, (count >> 8) as u8);
    apic_write(APIC_TIMER_DIVIDE, 0b0011); // divide by 16
    apic_write(APIC_LVT_TIMER, 1 << 16); // masked
    // Restart the count by toggling the gate, then watch OUT2 (port 0x61 bit 5) go high.
    let gate = inb(0x61) & !0x01;
    outb(0x61, gate);
    outb(0x61, gate | 0x01);
    apic_write(APIC_TIMER_INITIAL, u32::MAX);
    let tsc0 = rdtsc();
    while inb(0x61) & 0x20 == 0 {
        core::hint::spin_loop();
    }
    let tsc1 = rdtsc();
    let apic_elapsed = u32::MAX - apic_read(APIC_TIMER_CURRENT);
    apic_write(APIC_TIMER_INITIAL, 0);
    let tsc_hz = (tsc1 - tsc0) * 1000 / ms as u64;
    let apic_per_ms = (apic_elapsed as u64 / ms as u64).max(1);
    APIC_TICKS_PER_MS.store(apic_per_ms, Ordering::Relaxed);
    (tsc_hz, apic_per_ms)
}

/// Software-enable the APIC with our spurious vector.
pub fn enable_apic() {
    apic_write(APIC_SVR, (1 << 8) | SPURIOUS_VECTOR as u32);
}

/// Arm the APIC timer to fire once after `ns` nanoseconds (at least one tick).
pub fn arm_oneshot(ns: u64) {
    let per_ms = APIC_TICKS_PER_MS.load(Ordering::Relaxed);
    let ticks = (ns as u128 * per_ms as u128 / 1_000_000).clamp(1, u32::MAX as u128) as u32;
    apic_write(APIC_LVT_TIMER, TIMER_VECTOR as u32); // one-shot, unmasked
    apic_write(APIC_TIMER_INITIAL, ticks);
}

pub fn eoi() {
    apic_write(APIC_EOI, 0);
}

fn cmos(reg: u8) -> u8 {
    outb(0x70, reg);
    inb(0x71)
}

/// Wall-clock seconds since the Unix epoch, from the CMOS RTC.
pub fn rtc_unix_seconds() -> u64 {
    // Wait out an update in progress, then read twice until stable.
    let read = || {
        while cmos(0x0a) & 0x80 != 0 {
            core::hint::spin_loop();
        }
        [cmos(0x00), cmos(0x02), cmos(0x04), cmos(0x07), cmos(0x08), cmos(0x09), cmos(0x32)]
    };
    let mut regs = read();
    loop {
        let again = read();
        if again == regs {
            break;
        }
        regs = again;
    }
    let status_b = cmos(0x0b);
    let bcd = status_b & 0x04 == 0;
    let conv = |v: u8| if bcd { (v & 0x0f) + (v >> 4) * 10 } else { v };
    let [sec, min, hour_raw, day, month, year, century] = regs;
    let pm = hour_raw & 0x80 != 0;
    let mut hour = conv(hour_raw & 0x7f);
    if status_b & 0x02 == 0 && pm {
        hour = (hour % 12) + 12; // 12-hour mode
    }
    let century = if century == 0 { 20 } else { conv(century) as u64 };
    let year = century * 100 + conv(year) as u64;
    crate::time::unix_seconds(year, conv(month) as u64, conv(day) as u64, hour as u64, conv(min) as u64, conv(sec) as u64)
}
