//! Raw I/O-port access for the few legacy devices the hypervisor drives itself.

use x86_64::instructions::port::Port;

pub fn outb(port: u16, value: u8) {
    // SAFETY: only called for the legacy devices this hypervisor owns (PIT, PIC, CMOS, ACPI PM,
    // QEMU debug-exit); writing them has no memory-safety effect.
    unsafe { Port::new(port).write(value) }
}

pub fn inb(port: u16) -> u8 {
    // SAFETY: as for `outb`; reads of these ports have no memory-safety effect.
    unsafe { Port::new(port).read() }
}

pub fn outw(port: u16, value: u16) {
    // SAFETY: as for `outb`.
    unsafe { Port::new(port).write(value) }
}

pub fn outl(port: u16, value: u32) {
    // SAFETY: as for `outb`.
    unsafe { Port::new(port).write(value) }
}
