//! Boot-image handling for the hypervisor's PV domain builders.
//!
//! This crate is deliberately *pure logic*: it looks at byte slices and does
//! arithmetic, and never touches hardware, page tables or an allocator. That
//! lets the same code build Dom0 inside the hypervisor and, later, DomUs inside
//! Dom0's domain builder, and lets all of it be tested on the host.
//!
//! - [`bundle`]: the boot bundle, a plain ustar archive that the bootloader
//!   hands over as the ramdisk.
//! - [`elfnotes`]: the `"Xen"` ELF note numbers (`public/elfnote.h`) and a
//!   note walker.
//! - [`kernel`]: validation of a 64-bit x86-64 PV kernel ELF and its Xen notes.
//! - [`layout`]: the PV start-of-day virtual layout (`public/xen.h`,
//!   "startofday"), computed the way Xen's PV builders do.
//! - [`pagetables`]: the bootstrap page tables mapping that layout.
//!
//! Every parser here takes untrusted bytes (a DomU kernel is supplied by a
//! guest's owner), so all of them return typed errors and must never panic.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(test)]
extern crate std;

pub mod bundle;
pub mod elfnotes;
pub mod kernel;
pub mod layout;
pub mod pagetables;

#[cfg(test)]
mod testelf;

pub use bundle::{Bundle, BundleError};
pub use kernel::{ImageError, KernelImage, Segment};
pub use layout::{Layout, LayoutError, LayoutRequest, PageTableCounts, Region};

/// Size of an x86-64 base page; every element of the PV layout is aligned to it.
pub const PAGE_SIZE: u64 = 4096;
