//! XenStore errors: an errno value that travels on the wire as its name
//! (`XS_ERROR` payload `"ENOENT\0"`).

use core::fmt;
use xen_abi::errno;
use xen_abi::xs_wire::{xsd_error_name, xsd_error_num};

/// A XenStore error: the errno a request failed with.
///
/// The names Xen's `xs_wire.h` lists (`xsd_errors[]`) are the ones the
/// daemon sends.  [`XsError::EQUOTA`] is the one extra name clients may meet
/// (the OCaml daemon sends it for quota violations); the C daemon, which this
/// crate follows, reports quotas as `ENOSPC`/`E2BIG` instead.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct XsError {
    errno: i32,
}

/// Linux `EDQUOT`, the number we give the `EQUOTA` name.
const EDQUOT: i32 = 122;

impl XsError {
    /// Invalid argument (also what clients map unknown names to).
    pub const EINVAL: Self = Self::new(errno::EINVAL as i32);
    /// Permission denied.
    pub const EACCES: Self = Self::new(errno::EACCES as i32);
    /// Already exists (duplicate watch).
    pub const EEXIST: Self = Self::new(errno::EEXIST as i32);
    /// Is a directory.
    pub const EISDIR: Self = Self::new(21);
    /// No such node, transaction or watch.
    pub const ENOENT: Self = Self::new(errno::ENOENT as i32);
    /// Out of memory.
    pub const ENOMEM: Self = Self::new(errno::ENOMEM as i32);
    /// Quota exceeded (nodes, node size, transactions, permissions).
    pub const ENOSPC: Self = Self::new(errno::ENOSPC as i32);
    /// I/O error (also: malformed reply, seen by clients).
    pub const EIO: Self = Self::new(errno::EIO as i32);
    /// Directory not empty.
    pub const ENOTEMPTY: Self = Self::new(39);
    /// Operation not implemented.
    pub const ENOSYS: Self = Self::new(errno::ENOSYS as i32);
    /// Read-only.
    pub const EROFS: Self = Self::new(30);
    /// Busy (transaction started inside a transaction).
    pub const EBUSY: Self = Self::new(errno::EBUSY as i32);
    /// Try again (transaction conflict).
    pub const EAGAIN: Self = Self::new(errno::EAGAIN as i32);
    /// Already connected.
    pub const EISCONN: Self = Self::new(errno::EISCONN as i32);
    /// Too big (payload, reply, watch quota).
    pub const E2BIG: Self = Self::new(errno::E2BIG as i32);
    /// Not permitted (unprivileged owner change).
    pub const EPERM: Self = Self::new(errno::EPERM as i32);
    /// Quota exceeded, as the OCaml daemon names it (never sent by us).
    pub const EQUOTA: Self = Self::new(EDQUOT);

    const fn new(errno: i32) -> Self {
        Self { errno }
    }

    /// The (positive) errno value.
    pub const fn errno(self) -> i32 {
        self.errno
    }

    /// The name sent on the wire, e.g. `"ENOENT"`.
    pub fn name(self) -> &'static str {
        if self == Self::EQUOTA {
            return "EQUOTA";
        }
        // Every constructor above uses a number of the table or EDQUOT.
        xsd_error_name(self.errno).unwrap_or("EINVAL")
    }

    /// The error an `XS_ERROR` name stands for (without its NUL).  Unknown
    /// names become `EINVAL`, as Xen's client library does.
    pub fn from_name(name: &[u8]) -> Self {
        if name == b"EQUOTA" {
            return Self::EQUOTA;
        }
        xsd_error_num(name).map_or(Self::EINVAL, Self::new)
    }

    /// The error for a (positive) errno value, e.g. a failed hypercall's
    /// negated result; values with no XenStore name become `EINVAL`, as
    /// unknown names do.
    pub fn from_errno(errno: i32) -> Self {
        if xsd_error_name(errno).is_some() {
            Self::new(errno)
        } else {
            Self::EINVAL
        }
    }

    /// The `XS_ERROR` payload: the name and a NUL.
    pub fn payload(self) -> alloc::vec::Vec<u8> {
        let mut p = alloc::vec::Vec::from(self.name().as_bytes());
        p.push(0);
        p
    }
}

impl fmt::Debug for XsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", self.name(), self.errno)
    }
}

impl fmt::Display for XsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
