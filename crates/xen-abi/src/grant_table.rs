//! Grant tables (`grant_table_op`), mirroring
//! `xen/include/public/grant_table.h`.
//!
//! Only the version-1 entry format is modelled.  Each `grant_table_op`
//! command takes an array of its argument structure and a count.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::domid::DomId;

/// Index of an entry in a domain's grant table (C `grant_ref_t`).
pub type GrantRef = u32;

/// Handle of a mapping made with `GNTTABOP_map_grant_ref` (C
/// `grant_handle_t`).
pub type GrantHandle = u32;

/// Entries at the start of the table that survive version changes and may
/// be filled by the domain builder.
pub const GNTTAB_NR_RESERVED_ENTRIES: GrantRef = 8;
/// Reserved entry granting the console ring page to the console back end.
pub const GNTTAB_RESERVED_CONSOLE: GrantRef = 0;
/// Reserved entry granting the XenStore ring page to the XenStore domain.
pub const GNTTAB_RESERVED_XENSTORE: GrantRef = 1;

/// A version-1 grant-table entry (C `struct grant_entry_v1`, 8 B; 512 per
/// 4 KiB frame).
///
/// To grant: write `domid`, then `frame`, then a write barrier, then
/// `flags`.  To revoke an unused grant: check that `flags` has neither
/// [`GTF_READING`] nor [`GTF_WRITING`] and clear it with a compare-exchange.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct GrantEntryV1 {
    /// `GTF_*` type and flags (written by guest and Xen).
    pub flags: u16,
    /// Domain being granted access (written by the guest).
    pub domid: DomId,
    /// `GTF_permit_access`: frame `domid` may map (MFN for PV guests);
    /// `GTF_accept_transfer`: frame that may be transferred in, then the
    /// transferred MFN (written by Xen).
    pub frame: u32,
}

/// Entry type: grants nothing.
pub const GTF_INVALID: u16 = 0;
/// Entry type: `domid` may map/access `frame`.
pub const GTF_PERMIT_ACCESS: u16 = 1;
/// Entry type: `domid` may transfer one page to this domain.
pub const GTF_ACCEPT_TRANSFER: u16 = 2;
/// Entry type: transitive grant (v2 only; cannot be mapped).
pub const GTF_TRANSITIVE: u16 = 3;
/// Mask of the entry type.
pub const GTF_TYPE_MASK: u16 = 3;
/// `GTF_permit_access`: read-only (written by the guest).
pub const GTF_READONLY: u16 = 1 << 2;
/// `GTF_permit_access`: currently mapped for reading (written by Xen).
pub const GTF_READING: u16 = 1 << 3;
/// `GTF_permit_access`: currently mapped for writing (written by Xen).
pub const GTF_WRITING: u16 = 1 << 4;
/// x86 cache attribute: page write-through.
pub const GTF_PWT: u16 = 1 << 5;
/// x86 cache attribute: page cache disable.
pub const GTF_PCD: u16 = 1 << 6;
/// x86 cache attribute: PAT.
pub const GTF_PAT: u16 = 1 << 7;
/// Grant only a sub-range of the page (v2 only; copy, no map).
pub const GTF_SUB_PAGE: u16 = 1 << 8;
/// `GTF_accept_transfer`: Xen has committed to the transfer.
pub const GTF_TRANSFER_COMMITTED: u16 = 1 << 2;
/// `GTF_accept_transfer`: the transfer is complete and `frame` is valid.
pub const GTF_TRANSFER_COMPLETED: u16 = 1 << 3;

/// Map a grant ([`GnttabMapGrantRef`]).
pub const GNTTABOP_MAP_GRANT_REF: u32 = 0;
/// Unmap a grant mapping ([`GnttabUnmapGrantRef`]).
pub const GNTTABOP_UNMAP_GRANT_REF: u32 = 1;
/// Set up (and learn the frames of) a grant table ([`GnttabSetupTable`]).
pub const GNTTABOP_SETUP_TABLE: u32 = 2;
/// Dump a grant table to Xen's console (debugging).
pub const GNTTABOP_DUMP_TABLE: u32 = 3;
/// Transfer a page to another domain ([`GnttabTransfer`]).
pub const GNTTABOP_TRANSFER: u32 = 4;
/// Hypervisor-side copy between granted frames ([`GnttabCopy`]).
pub const GNTTABOP_COPY: u32 = 5;
/// Current and maximum table size ([`GnttabQuerySize`]).
pub const GNTTABOP_QUERY_SIZE: u32 = 6;
/// Unmap and replace the PTE with another mapping.
pub const GNTTABOP_UNMAP_AND_REPLACE: u32 = 7;
/// Select the table version ([`GnttabSetVersion`]).
pub const GNTTABOP_SET_VERSION: u32 = 8;
/// Frames of the v2 status table.
pub const GNTTABOP_GET_STATUS_FRAMES: u32 = 9;
/// Read the table version ([`GnttabGetVersion`]).
pub const GNTTABOP_GET_VERSION: u32 = 10;
/// Swap two grant entries.
pub const GNTTABOP_SWAP_GRANT_REF: u32 = 11;
/// Cache maintenance on a granted page.
pub const GNTTABOP_CACHE_FLUSH: u32 = 12;

/// Map flag: map for device (DMA) access; `dev_bus_addr` is returned.
pub const GNTMAP_DEVICE_MAP: u32 = 1 << 0;
/// Map flag: map for host CPU access at `host_addr`.
pub const GNTMAP_HOST_MAP: u32 = 1 << 1;
/// Map flag: read-only mapping.
pub const GNTMAP_READONLY: u32 = 1 << 2;
/// Map flag (with `GNTMAP_HOST_MAP`): user-accessible mapping.
pub const GNTMAP_APPLICATION_MAP: u32 = 1 << 3;
/// Map flag: `host_addr` is the machine address of the PTE to write
/// (otherwise it is a virtual address).
pub const GNTMAP_CONTAINS_PTE: u32 = 1 << 4;
/// First map-flag bit copied into the PTE's available bits (C
/// `_GNTMAP_guest_avail0`, a bit number; needs
/// `XENFEAT_gnttab_map_avail_bits`).
pub const GNTMAP_GUEST_AVAIL0: u32 = 16;
/// Map-flag bits copied into the PTE's available bits.
pub const GNTMAP_GUEST_AVAIL_MASK: u32 = !0 << GNTMAP_GUEST_AVAIL0;

/// Status: success.
pub const GNTST_OKAY: i16 = 0;
/// Status: general error.
pub const GNTST_GENERAL_ERROR: i16 = -1;
/// Status: unknown domain.
pub const GNTST_BAD_DOMAIN: i16 = -2;
/// Status: unknown or unsuitable grant reference.
pub const GNTST_BAD_GNTREF: i16 = -3;
/// Status: unknown or unsuitable handle.
pub const GNTST_BAD_HANDLE: i16 = -4;
/// Status: unsuitable virtual address to map.
pub const GNTST_BAD_VIRT_ADDR: i16 = -5;
/// Status: unsuitable device address to unmap.
pub const GNTST_BAD_DEV_ADDR: i16 = -6;
/// Status: no space in the I/O MMU.
pub const GNTST_NO_DEVICE_SPACE: i16 = -7;
/// Status: not privileged.
pub const GNTST_PERMISSION_DENIED: i16 = -8;
/// Status: invalid page.
pub const GNTST_BAD_PAGE: i16 = -9;
/// Status: copy arguments cross a page boundary.
pub const GNTST_BAD_COPY_ARG: i16 = -10;
/// Status: transfer page address too large.
pub const GNTST_ADDRESS_TOO_BIG: i16 = -11;
/// Status: not done, try again.
pub const GNTST_EAGAIN: i16 = -12;
/// Status: out of space (handles etc.).
pub const GNTST_NO_SPACE: i16 = -13;

/// Xen's message for a `GNTST_*` status (C `GNTTABOP_error_msgs`).
pub const fn gntst_message(status: i16) -> Option<&'static str> {
    Some(match status {
        GNTST_OKAY => "okay",
        GNTST_GENERAL_ERROR => "undefined error",
        GNTST_BAD_DOMAIN => "unrecognised domain id",
        GNTST_BAD_GNTREF => "invalid grant reference",
        GNTST_BAD_HANDLE => "invalid mapping handle",
        GNTST_BAD_VIRT_ADDR => "invalid virtual address",
        GNTST_BAD_DEV_ADDR => "invalid device address",
        GNTST_NO_DEVICE_SPACE => "no spare translation slot in the I/O MMU",
        GNTST_PERMISSION_DENIED => "permission denied",
        GNTST_BAD_PAGE => "bad page",
        GNTST_BAD_COPY_ARG => "copy arguments cross page boundary",
        GNTST_ADDRESS_TOO_BIG => "page address size too large",
        GNTST_EAGAIN => "operation not done; try again",
        GNTST_NO_SPACE => "out of space",
        _ => return None,
    })
}

/// Argument of `GNTTABOP_map_grant_ref` (32 B).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct GnttabMapGrantRef {
    /// IN: virtual address, or PTE machine address with
    /// [`GNTMAP_CONTAINS_PTE`].
    pub host_addr: u64,
    /// IN: `GNTMAP_*`.
    pub flags: u32,
    /// IN: grant reference in `dom`'s table; C field `ref`.
    pub ref_: GrantRef,
    /// IN: granting domain.
    pub dom: DomId,
    /// OUT: `GNTST_*`.
    pub status: i16,
    /// OUT: handle for the unmap.
    pub handle: GrantHandle,
    /// OUT: bus address (with [`GNTMAP_DEVICE_MAP`]).
    pub dev_bus_addr: u64,
}

/// Argument of `GNTTABOP_unmap_grant_ref` (24 B).  A zero address field is
/// ignored.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct GnttabUnmapGrantRef {
    /// IN: host address (as given to the map), or 0.
    pub host_addr: u64,
    /// IN: device address, or 0.
    pub dev_bus_addr: u64,
    /// IN: handle returned by the map.
    pub handle: GrantHandle,
    /// OUT: `GNTST_*`.
    pub status: i16,
    /// Padding.
    pub _pad: u16,
}

/// Argument of `GNTTABOP_setup_table` (24 B).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct GnttabSetupTable {
    /// IN: domain (`DOMID_SELF`, or any with privilege).
    pub dom: DomId,
    /// Padding.
    pub _pad0: u16,
    /// IN: number of frames wanted (and capacity of `frame_list`).
    pub nr_frames: u32,
    /// OUT: `GNTST_*`.
    pub status: i16,
    /// Padding.
    pub _pad1: [u16; 3],
    /// IN: guest handle of a `xen_pfn_t` array that receives the frames.
    pub frame_list: u64,
}

/// Argument of `GNTTABOP_transfer` (24 B).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct GnttabTransfer {
    /// IN: frame to give away.
    pub mfn: u64,
    /// IN: receiving domain.
    pub domid: DomId,
    /// Padding.
    pub _pad0: u16,
    /// IN: `GTF_accept_transfer` entry in the receiver's table; C `ref`.
    pub ref_: GrantRef,
    /// OUT: `GNTST_*`.
    pub status: i16,
    /// Padding.
    pub _pad1: [u16; 3],
}

/// [`GnttabCopy::flags`]: the source is a grant reference (else a GMFN).
pub const GNTCOPY_SOURCE_GREF: u16 = 1 << 0;
/// [`GnttabCopy::flags`]: the destination is a grant reference (else a
/// GMFN).
pub const GNTCOPY_DEST_GREF: u16 = 1 << 1;

/// One side of a [`GnttabCopy`] (C `struct gnttab_copy_ptr`, 16 B).
///
/// The C union `{ grant_ref_t ref; xen_pfn_t gmfn; }` is kept as one
/// 64-bit word in `u`; use the accessors.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct GnttabCopyPtr {
    /// `u.ref` (low 32 bits) or `u.gmfn`.
    pub u: u64,
    /// Domain owning the grant or frame.
    pub domid: DomId,
    /// Byte offset in the frame.
    pub offset: u16,
    /// Padding.
    pub _pad: u32,
}

impl GnttabCopyPtr {
    /// A side naming grant `gref` of `domid`.
    pub const fn from_gref(gref: GrantRef, domid: DomId, offset: u16) -> Self {
        Self {
            u: gref as u64,
            domid,
            offset,
            _pad: 0,
        }
    }

    /// A side naming frame `gmfn` of `domid`.
    pub const fn from_gmfn(gmfn: u64, domid: DomId, offset: u16) -> Self {
        Self {
            u: gmfn,
            domid,
            offset,
            _pad: 0,
        }
    }

    /// `u.ref`.
    pub const fn gref(&self) -> GrantRef {
        self.u as GrantRef
    }

    /// `u.gmfn`.
    pub const fn gmfn(&self) -> u64 {
        self.u
    }
}

/// Argument of `GNTTABOP_copy` (40 B).  A copy may not cross a page
/// boundary on either side ([`GNTST_BAD_COPY_ARG`]).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct GnttabCopy {
    /// IN: source.
    pub source: GnttabCopyPtr,
    /// IN: destination.
    pub dest: GnttabCopyPtr,
    /// IN: bytes to copy.
    pub len: u16,
    /// IN: `GNTCOPY_*`.
    pub flags: u16,
    /// OUT: `GNTST_*`.
    pub status: i16,
    /// Padding.
    pub _pad: u16,
}

/// Argument of `GNTTABOP_query_size` (16 B).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct GnttabQuerySize {
    /// IN: domain (`DOMID_SELF`, or any with privilege).
    pub dom: DomId,
    /// Padding.
    pub _pad0: u16,
    /// OUT: current number of frames.
    pub nr_frames: u32,
    /// OUT: maximum number of frames.
    pub max_nr_frames: u32,
    /// OUT: `GNTST_*`.
    pub status: i16,
    /// Padding.
    pub _pad1: u16,
}

/// Argument of `GNTTABOP_set_version` (4 B).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct GnttabSetVersion {
    /// IN: wanted version (1 or 2); OUT: version in effect.
    pub version: u32,
}

/// Argument of `GNTTABOP_get_version` (8 B).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct GnttabGetVersion {
    /// IN: domain.
    pub dom: DomId,
    /// Padding.
    pub pad: u16,
    /// OUT: version in effect.
    pub version: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts() {
        check_layout!(GrantEntryV1, 8, { flags @ 0, domid @ 2, frame @ 4 });
        check_layout!(GnttabMapGrantRef, 32, {
            host_addr @ 0, flags @ 8, ref_ @ 12, dom @ 16, status @ 18,
            handle @ 20, dev_bus_addr @ 24,
        });
        check_layout!(GnttabUnmapGrantRef, 24, {
            host_addr @ 0, dev_bus_addr @ 8, handle @ 16, status @ 20,
        });
        check_layout!(GnttabSetupTable, 24, {
            dom @ 0, nr_frames @ 4, status @ 8, frame_list @ 16,
        });
        check_layout!(GnttabTransfer, 24, {
            mfn @ 0, domid @ 8, ref_ @ 12, status @ 16,
        });
        check_layout!(GnttabCopyPtr, 16, { u @ 0, domid @ 8, offset @ 10 });
        check_layout!(GnttabCopy, 40, {
            source @ 0, dest @ 16, len @ 32, flags @ 34, status @ 36,
        });
        check_layout!(GnttabQuerySize, 16, {
            dom @ 0, nr_frames @ 4, max_nr_frames @ 8, status @ 12,
        });
        check_layout!(GnttabSetVersion, 4, { version @ 0 });
        check_layout!(GnttabGetVersion, 8, { dom @ 0, pad @ 2, version @ 4 });
        assert_eq!(crate::PAGE_SIZE / core::mem::size_of::<GrantEntryV1>(), 512);
    }

    #[test]
    fn flags_and_status() {
        assert_eq!(GTF_PERMIT_ACCESS | GTF_READONLY, 5);
        assert_eq!(GTF_TRANSITIVE & GTF_TYPE_MASK, GTF_TRANSITIVE);
        assert_eq!(GNTMAP_GUEST_AVAIL_MASK, 0xffff_0000);
        assert_eq!(GNTMAP_HOST_MAP | GNTMAP_CONTAINS_PTE, 0x12);
        assert_eq!(gntst_message(GNTST_OKAY), Some("okay"));
        assert_eq!(gntst_message(GNTST_NO_SPACE), Some("out of space"));
        assert_eq!(gntst_message(-14), None);
        assert_eq!(gntst_message(1), None);
        const { assert!(GNTTAB_RESERVED_XENSTORE < GNTTAB_NR_RESERVED_ENTRIES) };
    }

    #[test]
    fn copy_ptr_union() {
        let c = GnttabCopy {
            source: GnttabCopyPtr::from_gref(7, 3, 100),
            dest: GnttabCopyPtr::from_gmfn(0x1_2345_6789, 0, 0),
            len: 64,
            flags: GNTCOPY_SOURCE_GREF,
            ..Default::default()
        };
        assert_eq!(c.source.gref(), 7);
        assert_eq!(c.dest.gmfn(), 0x1_2345_6789);
        // source.u.ref @0, source.domid @8, dest.u.gmfn @16.
        assert_eq!(c.as_bytes()[0..4], 7u32.to_le_bytes());
        assert_eq!(c.as_bytes()[8..10], 3u16.to_le_bytes());
        assert_eq!(c.as_bytes()[16..24], 0x1_2345_6789u64.to_le_bytes());
    }
}
