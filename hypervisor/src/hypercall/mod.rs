//! Hypercall dispatch: Xen's x86-64 PV convention (number in RAX, arguments in RDI, RSI, RDX,
//! R10, R8, result in RAX) through one table. Every handler validates all of its arguments;
//! numbers without a handler return `-ENOSYS`.

#[cfg(target_os = "none")]
pub mod console_io;
pub mod decode;
#[cfg(target_os = "none")]
mod table;
#[cfg(target_os = "none")]
pub use table::{dispatch, implemented, Args};
#[cfg(target_os = "none")]
mod cpu;
#[cfg(target_os = "none")]
mod domctl;
#[cfg(target_os = "none")]
mod evtchn;
#[cfg(target_os = "none")]
mod grant_table;
#[cfg(target_os = "none")]
mod memory;
#[cfg(target_os = "none")]
mod info;
#[cfg(target_os = "none")]
mod mmu;
#[cfg(target_os = "none")]
mod sched_op;

/// Callback and handler addresses: see [`decode::guest_address`].
#[cfg(target_os = "none")]
fn check_guest_code_address(addr: u64) -> Result<u64, crate::mm::Errno> {
    decode::guest_address(addr)
}
