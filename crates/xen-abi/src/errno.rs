//! Error numbers returned by hypercalls, mirroring `xen/include/public/errno.h`.
//!
//! The values are positive; a failing hypercall returns the *negated* value
//! in RAX (for example `-EINVAL`, i.e. `-22`).  Xen's numbering follows
//! x86 Linux.

/// Operation not permitted.
pub const EPERM: i64 = 1;
/// No such file or directory (or object).
pub const ENOENT: i64 = 2;
/// No such process (or domain).
pub const ESRCH: i64 = 3;
/// Interrupted system call.  Xen-internal: never returned to a guest.
pub const EINTR: i64 = 4;
/// I/O error.
pub const EIO: i64 = 5;
/// No such device or address.
pub const ENXIO: i64 = 6;
/// Argument list too long.
pub const E2BIG: i64 = 7;
/// Exec format error.
pub const ENOEXEC: i64 = 8;
/// Bad file number.
pub const EBADF: i64 = 9;
/// No child processes.
pub const ECHILD: i64 = 10;
/// Try again.
pub const EAGAIN: i64 = 11;
/// Operation would block (alias of [`EAGAIN`]).
pub const EWOULDBLOCK: i64 = EAGAIN;
/// Out of memory.
pub const ENOMEM: i64 = 12;
/// Permission denied.
pub const EACCES: i64 = 13;
/// Bad address.
pub const EFAULT: i64 = 14;
/// Device or resource busy.
pub const EBUSY: i64 = 16;
/// Object already exists.
pub const EEXIST: i64 = 17;
/// Cross-device link.
pub const EXDEV: i64 = 18;
/// No such device.
pub const ENODEV: i64 = 19;
/// Invalid argument.
pub const EINVAL: i64 = 22;
/// File table overflow.
pub const ENFILE: i64 = 23;
/// Too many open files.
pub const EMFILE: i64 = 24;
/// No space left on device.
pub const ENOSPC: i64 = 28;
/// Too many links.
pub const EMLINK: i64 = 31;
/// Math argument out of domain of function.
pub const EDOM: i64 = 33;
/// Result not representable.
pub const ERANGE: i64 = 34;
/// Resource deadlock would occur.
pub const EDEADLK: i64 = 35;
/// Resource deadlock would occur (alias of [`EDEADLK`]).
pub const EDEADLOCK: i64 = EDEADLK;
/// Name too long.
pub const ENAMETOOLONG: i64 = 36;
/// No record locks available.
pub const ENOLCK: i64 = 37;
/// Function not implemented (unknown hypercall or sub-operation).
pub const ENOSYS: i64 = 38;
/// Invalid request code.
pub const EBADRQC: i64 = 56;
/// Invalid slot.
pub const EBADSLT: i64 = 57;
/// No data available.
pub const ENODATA: i64 = 61;
/// Timer expired.
pub const ETIME: i64 = 62;
/// Not a data message.
pub const EBADMSG: i64 = 74;
/// Value too large for defined data type.
pub const EOVERFLOW: i64 = 75;
/// Illegal byte sequence.
pub const EILSEQ: i64 = 84;
/// Interrupted call should be restarted.  Xen-internal: never returned to a
/// guest (the hypercall is continued instead).
pub const ERESTART: i64 = 85;
/// Too many users.
pub const EUSERS: i64 = 87;
/// Socket operation on non-socket.
pub const ENOTSOCK: i64 = 88;
/// Operation not supported.
pub const EOPNOTSUPP: i64 = 95;
/// Address already in use.
pub const EADDRINUSE: i64 = 98;
/// Cannot assign requested address.
pub const EADDRNOTAVAIL: i64 = 99;
/// No buffer space available.
pub const ENOBUFS: i64 = 105;
/// Transport endpoint is already connected.
pub const EISCONN: i64 = 106;
/// Transport endpoint is not connected.
pub const ENOTCONN: i64 = 107;
/// Cannot send after transport endpoint shutdown.
pub const ESHUTDOWN: i64 = 108;
/// Too many references.
pub const ETOOMANYREFS: i64 = 109;
/// Connection timed out.
pub const ETIMEDOUT: i64 = 110;

/// Every errno value defined above (aliases excluded), with its name.
pub const ALL: &[(i64, &str)] = &[
    (EPERM, "EPERM"),
    (ENOENT, "ENOENT"),
    (ESRCH, "ESRCH"),
    (EINTR, "EINTR"),
    (EIO, "EIO"),
    (ENXIO, "ENXIO"),
    (E2BIG, "E2BIG"),
    (ENOEXEC, "ENOEXEC"),
    (EBADF, "EBADF"),
    (ECHILD, "ECHILD"),
    (EAGAIN, "EAGAIN"),
    (ENOMEM, "ENOMEM"),
    (EACCES, "EACCES"),
    (EFAULT, "EFAULT"),
    (EBUSY, "EBUSY"),
    (EEXIST, "EEXIST"),
    (EXDEV, "EXDEV"),
    (ENODEV, "ENODEV"),
    (EINVAL, "EINVAL"),
    (ENFILE, "ENFILE"),
    (EMFILE, "EMFILE"),
    (ENOSPC, "ENOSPC"),
    (EMLINK, "EMLINK"),
    (EDOM, "EDOM"),
    (ERANGE, "ERANGE"),
    (EDEADLK, "EDEADLK"),
    (ENAMETOOLONG, "ENAMETOOLONG"),
    (ENOLCK, "ENOLCK"),
    (ENOSYS, "ENOSYS"),
    (EBADRQC, "EBADRQC"),
    (EBADSLT, "EBADSLT"),
    (ENODATA, "ENODATA"),
    (ETIME, "ETIME"),
    (EBADMSG, "EBADMSG"),
    (EOVERFLOW, "EOVERFLOW"),
    (EILSEQ, "EILSEQ"),
    (ERESTART, "ERESTART"),
    (EUSERS, "EUSERS"),
    (ENOTSOCK, "ENOTSOCK"),
    (EOPNOTSUPP, "EOPNOTSUPP"),
    (EADDRINUSE, "EADDRINUSE"),
    (EADDRNOTAVAIL, "EADDRNOTAVAIL"),
    (ENOBUFS, "ENOBUFS"),
    (EISCONN, "EISCONN"),
    (ENOTCONN, "ENOTCONN"),
    (ESHUTDOWN, "ESHUTDOWN"),
    (ETOOMANYREFS, "ETOOMANYREFS"),
    (ETIMEDOUT, "ETIMEDOUT"),
];

/// Returns the symbolic name of a (positive) errno value, e.g.
/// `name(22) == Some("EINVAL")`.  Aliases report the primary name
/// (`EAGAIN`, `EDEADLK`).  Negative values are not accepted: negate a
/// hypercall's return value first.
pub fn name(e: i64) -> Option<&'static str> {
    ALL.iter().find(|&&(v, _)| v == e).map(|&(_, n)| n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(name(22), Some("EINVAL"));
        assert_eq!(name(EPERM), Some("EPERM"));
        assert_eq!(name(EWOULDBLOCK), Some("EAGAIN"));
        assert_eq!(name(EDEADLOCK), Some("EDEADLK"));
        assert_eq!(name(ETIMEDOUT), Some("ETIMEDOUT"));
        assert_eq!(name(0), None);
        assert_eq!(name(15), None);
        assert_eq!(name(-22), None);
    }

    #[test]
    fn table_is_unique_and_positive() {
        for (i, &(v, n)) in ALL.iter().enumerate() {
            assert!(v > 0, "{n}");
            assert!(n.starts_with('E'));
            for &(w, m) in &ALL[i + 1..] {
                assert_ne!(v, w, "{n} and {m} share a value");
            }
        }
        assert_eq!(ALL.len(), 48);
    }
}
