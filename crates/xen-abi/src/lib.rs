//! Xen's public x86-64 PV guest ABI, expressed as plain Rust data.
//!
//! Every structure here is `#[repr(C)]`, built only from fixed-width
//! integers and arrays of them, and carries explicit padding fields wherever
//! the C compiler would insert implicit padding.  That makes each type safe
//! to reinterpret from and to raw guest memory with `zerocopy`, and lets the
//! hypervisor and the guest kernels of this project share one definition of
//! the wire format.
//!
//! Sizes and field offsets are the x86-64 ones (`long`, `xen_pfn_t`,
//! `xen_ulong_t` and guest handles are all 8 bytes) and are checked by a
//! unit test per structure, plus compile-time assertions for the
//! headline sizes.
//!
//! Guest handles (C `XEN_GUEST_HANDLE(T)`, i.e. guest pointers) are
//! represented as `u64` fields that keep the C field's name.
//!
//! The modules mirror Xen's public headers (`xen/include/public/`, "P/"
//! below); each module's documentation names the header it follows.

#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

/// Test helper: assert a type's size and a list of field offsets.
#[cfg(test)]
macro_rules! check_layout {
    ($ty:ty, $size:expr, { $($field:tt @ $off:expr),* $(,)? }) => {{
        assert_eq!(
            core::mem::size_of::<$ty>(),
            $size,
            "size_of::<{}>()",
            stringify!($ty)
        );
        $(
            assert_eq!(
                core::mem::offset_of!($ty, $field),
                $off,
                "offset of {}::{}",
                stringify!($ty),
                stringify!($field)
            );
        )*
    }};
}

pub mod console;
pub mod domctl;
pub mod domid;
pub mod elfnote;
pub mod errno;
pub mod event;
pub mod grant_table;
pub mod hypercall;
pub mod mm;
pub mod ring;
pub mod sched;
pub mod shared_info;
pub mod start_info;
pub mod sysctl;
pub mod vcpu;
pub mod version;
pub mod x86;
pub mod xs_wire;

/// Size of a (small) page on x86-64.
pub const PAGE_SIZE: usize = 4096;

/// log2 of [`PAGE_SIZE`].
pub const PAGE_SHIFT: u32 = 12;

/// Copies `src` into the fixed-size, NUL-terminated C string buffer `dst`.
///
/// The copy is truncated so that at least one NUL byte always remains, and
/// every byte after the copied text is zeroed.  Returns the number of bytes
/// copied (excluding the terminator).
pub fn copy_c_string(dst: &mut [u8], src: &[u8]) -> usize {
    let n = src.len().min(dst.len().saturating_sub(1));
    dst[..n].copy_from_slice(&src[..n]);
    dst[n..].fill(0);
    n
}

/// Returns the bytes of a NUL-terminated C string stored in `buf`, without
/// the terminator (or all of `buf` if it holds no NUL).
pub fn c_string_bytes(buf: &[u8]) -> &[u8] {
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    &buf[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_string_round_trip() {
        let mut buf = [0xffu8; 8];
        assert_eq!(copy_c_string(&mut buf, b"abc"), 3);
        assert_eq!(&buf, b"abc\0\0\0\0\0");
        assert_eq!(c_string_bytes(&buf), b"abc");

        // Truncation keeps a terminator.
        assert_eq!(copy_c_string(&mut buf, b"0123456789"), 7);
        assert_eq!(&buf, b"0123456\0");
        assert_eq!(c_string_bytes(&buf), b"0123456");

        // No terminator at all: the whole buffer is the string.
        assert_eq!(c_string_bytes(b"xyz"), b"xyz");
        // Empty destination copies nothing.
        assert_eq!(copy_c_string(&mut [], b"abc"), 0);
    }
}
