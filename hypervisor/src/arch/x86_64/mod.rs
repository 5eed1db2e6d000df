//! x86_64: descriptor tables and entry paths, paging, timers, the serial console, power.
pub mod acpi;
pub mod cpu;
pub mod entry;
pub mod paging;
pub mod port;
pub mod power;
pub mod serial;
pub mod timer;
