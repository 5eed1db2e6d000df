//! Where XenBus devices live in XenStore.
//!
//! A device of class `<class>` (vif, vbd, console, ...) number `<devid>`
//! between front-end domain `<fe>` and back-end domain `<be>` has two
//! directories:
//!
//! * front end: `/local/domain/<fe>/device/<class>/<devid>`, holding
//!   `backend` (the back-end directory), `backend-id`, `state`, and the
//!   front end's ring details;
//! * back end: `/local/domain/<be>/backend/<class>/<fe>/<devid>`, holding
//!   `frontend`, `frontend-id`, `state`, and the back end's features.

use alloc::format;
use alloc::string::String;

use xen_abi::domid::DomId;

/// Node names inside a device directory.
pub mod keys {
    /// This end's [`XenbusState`](crate::XenbusState), in decimal.
    pub const STATE: &str = "state";
    /// Front end: path of the back-end directory.
    pub const BACKEND: &str = "backend";
    /// Front end: back-end domain id, in decimal.
    pub const BACKEND_ID: &str = "backend-id";
    /// Back end: path of the front-end directory.
    pub const FRONTEND: &str = "frontend";
    /// Back end: front-end domain id, in decimal.
    pub const FRONTEND_ID: &str = "frontend-id";
}

/// `/local/domain/<fe>/device/<class>/<devid>`.
pub fn frontend_dir(fe_domid: DomId, class: &str, devid: u32) -> String {
    format!("/local/domain/{fe_domid}/device/{class}/{devid}")
}

/// `/local/domain/<be>/backend/<class>/<fe>/<devid>`.
pub fn backend_dir(be_domid: DomId, class: &str, fe_domid: DomId, devid: u32) -> String {
    format!("/local/domain/{be_domid}/backend/{class}/{fe_domid}/{devid}")
}

/// `<dir>/<key>`.
pub fn join(dir: &str, key: &str) -> String {
    format!("{dir}/{key}")
}

/// Whether `element` is a valid XenStore path element (a device class,
/// a key): non-empty, only letters, digits, `-`, `_` and `@`.
pub fn is_valid_element(element: &str) -> bool {
    !element.is_empty()
        && element
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'@'))
}

/// A decimal number with no sign, padding or leading zeros (except "0").
fn parse_decimal<T: core::str::FromStr>(s: &str) -> Option<T> {
    let canonical =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    if canonical {
        s.parse().ok()
    } else {
        None
    }
}

/// Parses a domain id as written in `backend-id`/`frontend-id` (and
/// paths): decimal, at most [`DomId::MAX`].
pub fn parse_domid(s: &str) -> Option<DomId> {
    parse_decimal(s)
}

/// A front-end directory taken apart: `(fe_domid, class, devid)`.
pub fn parse_frontend_dir(path: &str) -> Option<(DomId, &str, u32)> {
    let rest = path.strip_prefix("/local/domain/")?;
    let mut parts = rest.split('/');
    let fe = parse_domid(parts.next()?)?;
    if parts.next()? != "device" {
        return None;
    }
    let class = parts.next()?;
    let devid = parse_decimal(parts.next()?)?;
    if parts.next().is_some() || !is_valid_element(class) {
        return None;
    }
    Some((fe, class, devid))
}

/// A back-end directory taken apart: `(be_domid, class, fe_domid, devid)`.
pub fn parse_backend_dir(path: &str) -> Option<(DomId, &str, DomId, u32)> {
    let rest = path.strip_prefix("/local/domain/")?;
    let mut parts = rest.split('/');
    let be = parse_domid(parts.next()?)?;
    if parts.next()? != "backend" {
        return None;
    }
    let class = parts.next()?;
    let fe = parse_domid(parts.next()?)?;
    let devid = parse_decimal(parts.next()?)?;
    if parts.next().is_some() || !is_valid_element(class) {
        return None;
    }
    Some((be, class, fe, devid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(frontend_dir(5, "vif", 0), "/local/domain/5/device/vif/0");
        assert_eq!(
            backend_dir(0, "vbd", 5, 51712),
            "/local/domain/0/backend/vbd/5/51712"
        );
        assert_eq!(join("/a/b", keys::STATE), "/a/b/state");
        assert_eq!(
            parse_frontend_dir("/local/domain/5/device/vif/0"),
            Some((5, "vif", 0))
        );
        assert_eq!(
            parse_backend_dir("/local/domain/0/backend/vbd/5/51712"),
            Some((0, "vbd", 5, 51712))
        );
        for bad in [
            "/local/domain/5/device/vif",
            "/local/domain/5/device/vif/0/state",
            "/local/domain/05/device/vif/0",
            "/local/domain/5/backend/vif/0",
            "/local/domain/70000/device/vif/0",
            "/local/domain/5/device//0",
            "local/domain/5/device/vif/0",
        ] {
            assert_eq!(parse_frontend_dir(bad), None, "{bad}");
        }
        assert_eq!(parse_backend_dir("/local/domain/0/backend/vbd/x/1"), None);
        assert_eq!(parse_domid("0"), Some(0));
        assert_eq!(parse_domid("65535"), Some(65535));
        assert_eq!(parse_domid("65536"), None);
        assert_eq!(parse_domid("-1"), None);
        assert!(is_valid_element("console"));
        assert!(!is_valid_element("a/b"));
        assert!(!is_valid_element(""));
    }
}
