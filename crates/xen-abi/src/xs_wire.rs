//! The XenStore wire protocol and ring page, mirroring
//! `xen/include/public/io/xs_wire.h`, plus the XenBus device states of
//! `xen/include/public/io/xenbus.h`.
//!
//! A message is an [`XsdSockmsg`] header followed by `len` payload bytes
//! (usually NUL-terminated strings).  Between a domain and the XenStore
//! server the messages travel as a byte stream through the two rings of a
//! [`XenstoreDomainInterface`] page.

use zerocopy::{FromBytes, FromZeros, Immutable, IntoBytes, KnownLayout};

/// Server control / debug commands (C `XS_CONTROL`).
pub const XS_CONTROL: u32 = 0;
/// Old name of [`XS_CONTROL`].
pub const XS_DEBUG: u32 = XS_CONTROL;
/// `path|` → `child|child|...`.
pub const XS_DIRECTORY: u32 = 1;
/// `path|` → value.
pub const XS_READ: u32 = 2;
/// `path|` → permissions.
pub const XS_GET_PERMS: u32 = 3;
/// `path|token|` → `OK|`; the watch then fires with [`XS_WATCH_EVENT`].
pub const XS_WATCH: u32 = 4;
/// `path|token|` → `OK|`.
pub const XS_UNWATCH: u32 = 5;
/// `|` → transaction id (decimal).
pub const XS_TRANSACTION_START: u32 = 6;
/// `T|` commits, `F|` aborts (conflict: `EAGAIN`).
pub const XS_TRANSACTION_END: u32 = 7;
/// `domid|gfn|evtchn|`: introduce a domain (privileged).
pub const XS_INTRODUCE: u32 = 8;
/// `domid|`: forget a domain (privileged).
pub const XS_RELEASE: u32 = 9;
/// `domid|` → `/local/domain/<domid>|`.
pub const XS_GET_DOMAIN_PATH: u32 = 10;
/// `path|value` → `OK|`.
pub const XS_WRITE: u32 = 11;
/// `path|` → `OK|`.
pub const XS_MKDIR: u32 = 12;
/// `path|` → `OK|`.
pub const XS_RM: u32 = 13;
/// `path|perm|perm|...` → `OK|`.
pub const XS_SET_PERMS: u32 = 14;
/// Server → client only: `path|token|` (with `req_id = tx_id = 0`).
pub const XS_WATCH_EVENT: u32 = 15;
/// Reply only: the errno name, e.g. `ENOENT|` (see [`XSD_ERRORS`]).
pub const XS_ERROR: u32 = 16;
/// `domid|` → `T|` or `F|`.
pub const XS_IS_DOMAIN_INTRODUCED: u32 = 17;
/// `domid|`: resume a domain.
pub const XS_RESUME: u32 = 18;
/// `domid|target|`: let `domid` act on `target`'s nodes.
pub const XS_SET_TARGET: u32 = 19;
// 20 was XS_RESTRICT (removed).
/// Remove all of the connection's watches.
pub const XS_RESET_WATCHES: u32 = 21;
/// `path|offset|` → generation and part of the children list.
pub const XS_DIRECTORY_PART: u32 = 22;
/// Read the server's (or a domain's) feature bits.
pub const XS_GET_FEATURE: u32 = 23;
/// Set a domain's feature bits.
pub const XS_SET_FEATURE: u32 = 24;
/// Read quota values.
pub const XS_GET_QUOTA: u32 = 25;
/// Set quota values.
pub const XS_SET_QUOTA: u32 = 26;
/// Number of valid message types (C `XS_TYPE_COUNT`).
pub const XS_TYPE_COUNT: u32 = 27;
/// Guaranteed never to be a valid type.
pub const XS_INVALID: u32 = 0xffff;

/// `XS_WRITE` mode string: plain write.
pub const XS_WRITE_NONE: &str = "NONE";
/// `XS_WRITE` mode string: create if missing.
pub const XS_WRITE_CREATE: &str = "CREATE";
/// `XS_WRITE` mode string: create, fail if present.
pub const XS_WRITE_CREATE_EXCL: &str = "CREATE|EXCL";

/// Index of the path in an [`XS_WATCH_EVENT`] payload (C `XS_WATCH_PATH`).
pub const XS_WATCH_PATH: usize = 0;
/// Index of the token in an [`XS_WATCH_EVENT`] payload.
pub const XS_WATCH_TOKEN: usize = 1;

/// The error names XenStore sends in [`XS_ERROR`] replies, with the errno
/// values they stand for (C `xsd_errors[]`, in the header's order; new
/// entries are only ever appended).  Only the name travels on the wire;
/// the numbers are the Linux (and, where defined, [`crate::errno`]) values.
/// Clients treat an unknown name as `EINVAL`.
pub const XSD_ERRORS: &[(i32, &str)] = &[
    (crate::errno::EINVAL as i32, "EINVAL"),
    (crate::errno::EACCES as i32, "EACCES"),
    (crate::errno::EEXIST as i32, "EEXIST"),
    (21, "EISDIR"),
    (crate::errno::ENOENT as i32, "ENOENT"),
    (crate::errno::ENOMEM as i32, "ENOMEM"),
    (crate::errno::ENOSPC as i32, "ENOSPC"),
    (crate::errno::EIO as i32, "EIO"),
    (39, "ENOTEMPTY"),
    (crate::errno::ENOSYS as i32, "ENOSYS"),
    (30, "EROFS"),
    (crate::errno::EBUSY as i32, "EBUSY"),
    (crate::errno::EAGAIN as i32, "EAGAIN"),
    (crate::errno::EISCONN as i32, "EISCONN"),
    (crate::errno::E2BIG as i32, "E2BIG"),
    (crate::errno::EPERM as i32, "EPERM"),
];

/// The [`XSD_ERRORS`] name for a (positive) errno value.
pub fn xsd_error_name(errnum: i32) -> Option<&'static str> {
    XSD_ERRORS
        .iter()
        .find(|&&(n, _)| n == errnum)
        .map(|&(_, s)| s)
}

/// The errno value for an [`XSD_ERRORS`] name (without the NUL).
pub fn xsd_error_num(name: &[u8]) -> Option<i32> {
    XSD_ERRORS
        .iter()
        .find(|&&(_, s)| s.as_bytes() == name)
        .map(|&(n, _)| n)
}

/// Header of every XenStore message (C `struct xsd_sockmsg`, 16 B).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct XsdSockmsg {
    /// `XS_*`; C field `type`.
    pub type_: u32,
    /// Request id, echoed in the reply.
    pub req_id: u32,
    /// Transaction id (0 outside transactions).
    pub tx_id: u32,
    /// Payload length (at most [`XENSTORE_PAYLOAD_MAX`]).
    pub len: u32,
}

impl XsdSockmsg {
    /// A header for a message of `type_` with `len` payload bytes.
    pub const fn new(type_: u32, req_id: u32, tx_id: u32, len: u32) -> Self {
        Self {
            type_,
            req_id,
            tx_id,
            len,
        }
    }
}

/// Size of each of the two rings of [`XenstoreDomainInterface`].
pub const XENSTORE_RING_SIZE: usize = 1024;

/// A free-running XenStore ring index (C `XENSTORE_RING_IDX`).
pub type XenstoreRingIdx = u32;

/// Ring offset of index `idx` (C `MASK_XENSTORE_IDX`).
pub const fn mask_xenstore_idx(idx: XenstoreRingIdx) -> usize {
    idx as usize & (XENSTORE_RING_SIZE - 1)
}

/// Largest payload; exceeding it gets the connection dropped.
pub const XENSTORE_PAYLOAD_MAX: usize = 4096;
/// Longest absolute path (longer ones get an error reply).
pub const XENSTORE_ABS_PATH_MAX: usize = 3072;
/// Longest relative path (longer ones get an error reply).
pub const XENSTORE_REL_PATH_MAX: usize = 2048;

/// Server feature: ring reconnection via [`XenstoreDomainInterface::connection`].
pub const XENSTORE_SERVER_FEATURE_RECONNECTION: u32 = 1;
/// Server feature: the [`XenstoreDomainInterface::error`] field.
pub const XENSTORE_SERVER_FEATURE_ERROR: u32 = 2;
/// Server feature: `XS_WATCH` takes a depth parameter.
pub const XENSTORE_SERVER_FEATURE_WATCHDEPTH: u32 = 4;
/// Server feature: `DOMID_ANY` in node permissions.
pub const XENSTORE_SERVER_FEATURE_DOMID_ANY: u32 = 8;

/// [`XenstoreDomainInterface::connection`]: steady state.
pub const XENSTORE_CONNECTED: u32 = 0;
/// [`XenstoreDomainInterface::connection`]: reconnect in progress.
pub const XENSTORE_RECONNECT: u32 = 1;

/// [`XenstoreDomainInterface::error`]: no error.
pub const XENSTORE_ERROR_NONE: u32 = 0;
/// [`XenstoreDomainInterface::error`]: communication problem.
pub const XENSTORE_ERROR_COMM: u32 = 1;
/// [`XenstoreDomainInterface::error`]: invalid ring index.
pub const XENSTORE_ERROR_RINGIDX: u32 = 2;
/// [`XenstoreDomainInterface::error`]: protocol violation (payload too
/// long).
pub const XENSTORE_ERROR_PROTO: u32 = 3;

/// The XenStore ring page shared by a domain and the server (C `struct
/// xenstore_domain_interface`, 2080 B).
///
/// Both rings are byte streams with free-running indices (which need not
/// start at 0); a byte's offset is [`mask_xenstore_idx`].  The domain
/// produces into `req` and consumes from `rsp`, and signals the XenStore
/// event channel after every index update.
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct XenstoreDomainInterface {
    /// Requests to the server.
    pub req: [u8; XENSTORE_RING_SIZE],
    /// Replies and watch events from the server.
    pub rsp: [u8; XENSTORE_RING_SIZE],
    /// Server's consumer index into `req`.
    pub req_cons: XenstoreRingIdx,
    /// Domain's producer index into `req`.
    pub req_prod: XenstoreRingIdx,
    /// Domain's consumer index into `rsp`.
    pub rsp_cons: XenstoreRingIdx,
    /// Server's producer index into `rsp`.
    pub rsp_prod: XenstoreRingIdx,
    /// `XENSTORE_SERVER_FEATURE_*` supported by the server.
    pub server_features: u32,
    /// `XENSTORE_CONNECTED` or `XENSTORE_RECONNECT`.
    pub connection: u32,
    /// `XENSTORE_ERROR_*` (with [`XENSTORE_SERVER_FEATURE_ERROR`]).
    pub error: u32,
    /// Event channel for the server to signal, filled in by Xen for
    /// dom0less/Hyperlaunch domains; used only when non-zero.
    pub evtchn_port: u32,
}

impl XenstoreDomainInterface {
    /// An all-zero page (connected, empty rings, no error).
    pub fn zeroed() -> Self {
        <Self as FromZeros>::new_zeroed()
    }
}

impl Default for XenstoreDomainInterface {
    fn default() -> Self {
        Self::zeroed()
    }
}

/// A XenBus device state (C `enum xenbus_state`), stored in a device's
/// `state` node as a decimal string.
pub type XenbusState = u32;

/// XenBus state: unknown (node absent).
pub const XENBUS_STATE_UNKNOWN: XenbusState = 0;
/// XenBus state: initialising.
pub const XENBUS_STATE_INITIALISING: XenbusState = 1;
/// XenBus state: back end waiting for front-end details (C
/// `XenbusStateInitWait`).
pub const XENBUS_STATE_INIT_WAIT: XenbusState = 2;
/// XenBus state: front end has published its details.
pub const XENBUS_STATE_INITIALISED: XenbusState = 3;
/// XenBus state: connected.
pub const XENBUS_STATE_CONNECTED: XenbusState = 4;
/// XenBus state: closing (device unplug requested).
pub const XENBUS_STATE_CLOSING: XenbusState = 5;
/// XenBus state: closed.
pub const XENBUS_STATE_CLOSED: XenbusState = 6;
/// XenBus state: reconfiguring.
pub const XENBUS_STATE_RECONFIGURING: XenbusState = 7;
/// XenBus state: reconfigured.
pub const XENBUS_STATE_RECONFIGURED: XenbusState = 8;

/// Xen's name of a XenBus state (`"Connected"`, `"InitWait"`, ...).
pub const fn xenbus_state_name(state: XenbusState) -> Option<&'static str> {
    Some(match state {
        XENBUS_STATE_UNKNOWN => "Unknown",
        XENBUS_STATE_INITIALISING => "Initialising",
        XENBUS_STATE_INIT_WAIT => "InitWait",
        XENBUS_STATE_INITIALISED => "Initialised",
        XENBUS_STATE_CONNECTED => "Connected",
        XENBUS_STATE_CLOSING => "Closing",
        XENBUS_STATE_CLOSED => "Closed",
        XENBUS_STATE_RECONFIGURING => "Reconfiguring",
        XENBUS_STATE_RECONFIGURED => "Reconfigured",
        _ => return None,
    })
}

const _: () = assert!(core::mem::size_of::<XenstoreDomainInterface>() == 2080);
const _: () = assert!(core::mem::size_of::<XenstoreDomainInterface>() <= crate::PAGE_SIZE);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts() {
        check_layout!(XsdSockmsg, 16, { type_ @ 0, req_id @ 4, tx_id @ 8, len @ 12 });
        check_layout!(XenstoreDomainInterface, 2080, {
            req @ 0, rsp @ 1024, req_cons @ 2048, req_prod @ 2052,
            rsp_cons @ 2056, rsp_prod @ 2060, server_features @ 2064,
            connection @ 2068, error @ 2072, evtchn_port @ 2076,
        });
        let page = XenstoreDomainInterface::default();
        assert_eq!(page.connection, XENSTORE_CONNECTED);
        assert_eq!(page.error, XENSTORE_ERROR_NONE);
        assert_eq!(mask_xenstore_idx(1025), 1);
        assert_eq!(mask_xenstore_idx(u32::MAX), 1023);
    }

    #[test]
    fn message_types() {
        assert_eq!(XS_DEBUG, XS_CONTROL);
        assert_eq!(XS_RESET_WATCHES, XS_SET_TARGET + 2);
        assert_eq!(XS_SET_QUOTA + 1, XS_TYPE_COUNT);
        let h = XsdSockmsg::new(XS_READ, 7, 0, 5);
        assert_eq!(h.as_bytes()[0..4], 2u32.to_le_bytes());
        assert_eq!(h.as_bytes()[12..16], 5u32.to_le_bytes());
    }

    #[test]
    fn errors() {
        assert_eq!(XSD_ERRORS.len(), 16);
        assert_eq!(XSD_ERRORS[0], (22, "EINVAL"));
        assert_eq!(xsd_error_name(2), Some("ENOENT"));
        assert_eq!(xsd_error_name(39), Some("ENOTEMPTY"));
        assert_eq!(xsd_error_name(1), Some("EPERM"));
        assert_eq!(xsd_error_name(9999), None);
        assert_eq!(xsd_error_num(b"EAGAIN"), Some(11));
        assert_eq!(xsd_error_num(b"ENOENT\0"), None);
        for &(n, s) in XSD_ERRORS {
            assert_eq!(xsd_error_num(s.as_bytes()), Some(n));
            assert_eq!(xsd_error_name(n), Some(s));
        }
    }

    #[test]
    fn xenbus_states() {
        assert_eq!(xenbus_state_name(XENBUS_STATE_INIT_WAIT), Some("InitWait"));
        assert_eq!(
            xenbus_state_name(XENBUS_STATE_RECONFIGURED),
            Some("Reconfigured")
        );
        assert_eq!(xenbus_state_name(9), None);
        assert_eq!(XENBUS_STATE_CONNECTED, 4);
    }
}
