//! Consoles: the `console_io` hypercall (`CONSOLEIO_*` of
//! `xen/include/public/xen.h`) and the PV console ring page, mirroring
//! `xen/include/public/io/console.h`.

use zerocopy::{FromBytes, FromZeros, Immutable, IntoBytes, KnownLayout};

/// `console_io` command: write `count` bytes from `buf` to Xen's console.
pub const CONSOLEIO_WRITE: u32 = 0;
/// `console_io` command: read up to `count` bytes into `buf`.
pub const CONSOLEIO_READ: u32 = 1;

/// Size of the input (backend → guest) ring.
pub const XENCONS_IN_SIZE: usize = 1024;
/// Size of the output (guest → backend) ring.
pub const XENCONS_OUT_SIZE: usize = 2048;

/// [`XenconsInterface::connection`]: the backend is connected.
pub const XENCONSOLE_CONNECTED: u8 = 0;
/// [`XenconsInterface::connection`]: the backend is disconnected.
pub const XENCONSOLE_DISCONNECTED: u8 = 1;

/// The console ring page (C `struct xencons_interface`, 3092 B).
///
/// Indices are free-running `u32` counters; a byte's slot is
/// `idx & (ring_size - 1)`.  The guest produces into `out` and consumes
/// from `in_`, signalling the console event channel after each update.
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenconsInterface {
    /// Input ring (backend → guest); C field `in`.
    pub in_: [u8; XENCONS_IN_SIZE],
    /// Output ring (guest → backend).
    pub out: [u8; XENCONS_OUT_SIZE],
    /// Guest's consumer index into `in_`.
    pub in_cons: u32,
    /// Backend's producer index into `in_`.
    pub in_prod: u32,
    /// Backend's consumer index into `out`.
    pub out_cons: u32,
    /// Guest's producer index into `out`.
    pub out_prod: u32,
    /// `XENCONSOLE_*`.
    pub connection: u8,
    /// Padding.
    pub _pad: [u8; 3],
}

impl XenconsInterface {
    /// An all-zero page (connected, empty rings).
    pub fn zeroed() -> Self {
        <Self as FromZeros>::new_zeroed()
    }

    /// Slot of input index `idx`.
    pub const fn mask_in(idx: u32) -> usize {
        idx as usize & (XENCONS_IN_SIZE - 1)
    }

    /// Slot of output index `idx`.
    pub const fn mask_out(idx: u32) -> usize {
        idx as usize & (XENCONS_OUT_SIZE - 1)
    }
}

impl Default for XenconsInterface {
    fn default() -> Self {
        Self::zeroed()
    }
}

const _: () = assert!(core::mem::size_of::<XenconsInterface>() == 3092);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout() {
        check_layout!(XenconsInterface, 3092, {
            in_ @ 0, out @ 1024, in_cons @ 3072, in_prod @ 3076,
            out_cons @ 3080, out_prod @ 3084, connection @ 3088,
        });
        assert_eq!(XenconsInterface::mask_out(2049), 1);
        assert_eq!(XenconsInterface::mask_in(1024), 0);
        assert_eq!(XenconsInterface::default().connection, XENCONSOLE_CONNECTED);
    }
}
