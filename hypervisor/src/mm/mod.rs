//! Memory management: machine frames, their ownership and types, and the validation of
//! PV guests' page tables.
//!
//! Everything here is architecture-neutral and runs in host tests: frame contents are
//! reached through the [`pagetable::FrameMemory`] trait, which the arch code implements
//! over the hypervisor's direct map and the tests implement over a `HashMap`.
//!
//! - [`addr`]: typed frame numbers (`Mfn`, `Pfn`) that cannot be mixed up.
//! - [`frame_alloc`]: the bitmap allocator of machine frames.
//! - [`frame_table`]: owner, type and reference counts of every frame.
//! - [`pagetable`]: Xen's PV page-table rules (types, counts, `mmu_update`, pinning) and
//!   the checked guest-virtual walk used to copy from and to guests.
#![deny(unsafe_code)]
#![deny(missing_docs)]

pub mod addr;
mod consts;
pub mod frame_alloc;
pub mod frame_table;
pub mod pagetable;

pub use addr::{DomId, Mfn, Pfn, PAGE_SHIFT, PAGE_SIZE};
pub use frame_alloc::{AllocError, FrameAllocator};
pub use frame_table::{FrameTable, PageInfo, PageType};
pub use pagetable::{FrameMemory, GuestFault, Paging};

/// A Xen error number (positive; hypercalls return it negated). The values are Xen's
/// public ABI (`xen/include/public/errno.h`), so guests written for Xen understand them.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Errno(pub i64);

impl Errno {
    /// Operation not permitted.
    pub const EPERM: Errno = Errno(1);
    /// No such file or directory (entry).
    pub const ENOENT: Errno = Errno(2);
    /// No such process (domain).
    pub const ESRCH: Errno = Errno(3);
    /// Try again.
    pub const EAGAIN: Errno = Errno(11);
    /// Out of memory.
    pub const ENOMEM: Errno = Errno(12);
    /// Permission denied.
    pub const EACCES: Errno = Errno(13);
    /// Bad address.
    pub const EFAULT: Errno = Errno(14);
    /// Device or resource busy.
    pub const EBUSY: Errno = Errno(16);
    /// Already exists.
    pub const EEXIST: Errno = Errno(17);
    /// Invalid argument.
    pub const EINVAL: Errno = Errno(22);
    /// No space left.
    pub const ENOSPC: Errno = Errno(28);
    /// Result out of range.
    pub const ERANGE: Errno = Errno(34);
    /// Function not implemented.
    pub const ENOSYS: Errno = Errno(38);
    /// Value too large.
    pub const EOVERFLOW: Errno = Errno(75);
    /// Operation not supported.
    pub const EOPNOTSUPP: Errno = Errno(95);

    /// The value a hypercall returns to the guest for this error (`-errno`).
    pub const fn to_hypercall_ret(self) -> i64 {
        -self.0
    }
}
