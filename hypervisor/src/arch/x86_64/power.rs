//! Ending the machine: ACPI soft-off (QEMU exits with status 0), reset, and QEMU's
//! isa-debug-exit device for a failing verdict.

use super::port::{outb, outl, outw};

/// QEMU's isa-debug-exit port (`-device isa-debug-exit,iobase=0xf4`): QEMU exits with
/// status `(value << 1) | 1`, always odd, so it is used only for failures.
const DEBUG_EXIT_PORT: u16 = 0xf4;
/// PM1a control block of QEMU's PIIX4/ICH9 power management (firmware places PM at 0x600).
const QEMU_PM1A_CNT: u16 = 0x604;
const SLP_EN_S5: u16 = 1 << 13; // SLP_TYP 0 (S5 in QEMU's DSDT) | SLP_EN

/// Power off: QEMU treats ACPI S5 as a clean exit with status 0.
pub fn poweroff() -> ! {
    outw(QEMU_PM1A_CNT, SLP_EN_S5);
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
