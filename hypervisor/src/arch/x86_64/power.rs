//! Ending the machine: ACPI soft-off (QEMU exits with status 0), reset, and QEMU's
//! isa-debug-exit device for a failing verdict.

use super::port::{outb, outl, outw};

/// QEMU's isa-debug-exit port (`-device isa-debug-exit,iobase=0xf4`): QEMU exits with
/// status `(value << 1) | 1`, always odd, so it is used only for failures.
const DEBUG_EXIT_PORT: u16 = 0xf4;
const SLP_EN: u16 = 1 << 13;

/// How to enter S5, found in the ACPI tables at boot.
static SOFT_OFF: spin::Once<super::acpi::SoftOff> = spin::Once::new();

/// Record the ACPI soft-off registers (from `BootInfo::rsdp_addr`).
pub fn init(rsdp_addr: Option<u64>) {
    match rsdp_addr.and_then(super::acpi::find_soft_off) {
        Some(s) => {
            log::info!("ACPI: PM1a control at {:#x}, S5 sleep type {}", s.pm1a_cnt, s.slp_typ);
            SOFT_OFF.call_once(|| s);
        }
        None => log::warn!("ACPI: no usable FADT/_S5; poweroff will end QEMU with a failing status"),
    }
}

/// Power off: QEMU treats ACPI S5 as a clean exit with status 0.
pub fn poweroff() -> ! {
    if let Some(s) = SOFT_OFF.get() {
        outw(s.pm1a_cnt, (s.slp_typ << 10) | SLP_EN);
        // The machine (QEMU's main loop) acts on the request asynchronously: give it time
        // before deciding it did not work.
        let start = super::timer::rdtsc();
        let wait = crate::time::tsc_hz().max(1_000_000) * 2;
        while super::timer::rdtsc().wrapping_sub(start) < wait {
            core::hint::spin_loop();
        }
    }
    // Not QEMU (or no ACPI PM): fall back to a failing verdict rather than hang silently.
    fail(0x7e)
}

/// Reset the machine through the keyboard controller, then by triple fault.
pub fn reboot() -> ! {
    outb(0x64, 0xfe);
    halt_forever()
}

/// End QEMU with a failing exit status (`(code << 1) | 1`).
pub fn fail(code: u8) -> ! {
    outl(DEBUG_EXIT_PORT, code as u32);
    halt_forever()
}

pub fn halt_forever() -> ! {
    loop {
        x86_64::instructions::interrupts::disable();
        x86_64::instructions::hlt();
    }
}
