//! Domain identifiers, mirroring the `domid_t` and `DOMID_*` definitions of
//! `xen/include/public/xen.h`.

/// A domain id (C `domid_t`).
pub type DomId = u16;

/// Ids at or above this value are reserved and never name an ordinary
/// domain.
pub const DOMID_FIRST_RESERVED: DomId = 0x7ff0;
/// The calling domain itself.
pub const DOMID_SELF: DomId = 0x7ff0;
/// Restricts page-table updates to I/O memory mappings.
pub const DOMID_IO: DomId = 0x7ff1;
/// Xen itself (lets privileged domains map parts of Xen's heap).
pub const DOMID_XEN: DomId = 0x7ff2;
/// Owner of shared (copy-on-write) pages.
pub const DOMID_COW: DomId = 0x7ff3;
/// Marks pages whose owner is unknown.
pub const DOMID_INVALID: DomId = 0x7ff4;
/// Wildcard "any domain" (for example for unbound event channels).
pub const DOMID_ANY: DomId = 0x7ff5;
/// The idle domain.
pub const DOMID_IDLE: DomId = 0x7fff;
/// Mask of the meaningful bits of a domain id.
pub const DOMID_MASK: DomId = 0x7fff;

/// Whether `d` can name an ordinary (non-reserved) domain.
pub const fn is_ordinary(d: DomId) -> bool {
    d < DOMID_FIRST_RESERVED
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        assert_eq!(DOMID_SELF, DOMID_FIRST_RESERVED);
        assert!(is_ordinary(0));
        assert!(is_ordinary(0x7fef));
        assert!(!is_ordinary(DOMID_SELF));
        assert!(!is_ordinary(DOMID_IDLE));
        assert_eq!(DOMID_IDLE & DOMID_MASK, DOMID_IDLE);
    }
}
