//! What XenBus needs from a XenStore client, and its errors.

use alloc::string::{String, ToString};
use core::fmt;

use xen_abi::xs_wire::{xsd_error_name, xsd_error_num};

use crate::perms::Perm;
use crate::state::XenbusState;

/// A XenStore error by its errno name, as it travels in an `XS_ERROR`
/// reply (`"ENOENT"`, `"EACCES"`, ...).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct XsError(pub String);

impl XsError {
    /// An error named `name` (not checked against the known names).
    pub fn new(name: &str) -> Self {
        Self(name.to_string())
    }

    /// The error for a (positive) errno value; unknown values become
    /// `EINVAL`, as XenStore clients treat unknown names.
    pub fn from_errno(errno: i32) -> Self {
        Self::new(xsd_error_name(errno).unwrap_or("EINVAL"))
    }

    /// `ENOENT`: no such node.
    pub fn enoent() -> Self {
        Self::new("ENOENT")
    }

    /// `EINVAL`: a malformed value or argument.
    pub fn einval() -> Self {
        Self::new("EINVAL")
    }

    /// The errno name.
    pub fn name(&self) -> &str {
        &self.0
    }

    /// The (positive) errno value; unknown names count as `EINVAL`.
    pub fn errno(&self) -> i32 {
        xsd_error_num(self.0.as_bytes())
            .or_else(|| xsd_error_num(b"EINVAL"))
            .unwrap_or(22)
    }

    /// Whether this is `ENOENT`.
    pub fn is_enoent(&self) -> bool {
        self.0 == "ENOENT"
    }
}

impl fmt::Display for XsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl core::error::Error for XsError {}

/// The XenStore operations XenBus uses, outside any transaction.
///
/// Implemented by a guest's XenStore client (over the ring page), by the
/// XenStore server for its own domain, and by test doubles.
pub trait XenbusStore {
    /// The value of `path` (`XS_READ`).
    fn read(&mut self, path: &str) -> Result<String, XsError>;
    /// Sets `path` to `value`, creating it and missing parents (`XS_WRITE`).
    fn write(&mut self, path: &str, value: &str) -> Result<(), XsError>;
    /// Removes `path` and everything below it (`XS_RM`).
    fn rm(&mut self, path: &str) -> Result<(), XsError>;
    /// Sets the permissions of `path`; `perms[0]` is the owner and the
    /// default (`XS_SET_PERMS`).
    fn set_perms(&mut self, path: &str, perms: &[Perm]) -> Result<(), XsError>;
    /// Watches `path` and everything below it; events carry `token`
    /// (`XS_WATCH`).  XenStore fires the watch once at registration.
    fn watch(&mut self, path: &str, token: &str) -> Result<(), XsError>;
    /// Removes a watch (`XS_UNWATCH`).
    fn unwatch(&mut self, path: &str, token: &str) -> Result<(), XsError>;
}

/// Reads a `state` node the way Linux's `xenbus_read_driver_state` does:
/// a missing node or a value that names no state is
/// [`XenbusState::Unknown`]; other errors (e.g. `EACCES`) are errors.
pub fn read_state(store: &mut dyn XenbusStore, path: &str) -> Result<XenbusState, XsError> {
    match store.read(path) {
        Ok(value) => Ok(XenbusState::parse(&value).unwrap_or(XenbusState::Unknown)),
        Err(e) if e.is_enoent() => Ok(XenbusState::Unknown),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors() {
        assert_eq!(XsError::from_errno(2).name(), "ENOENT");
        assert!(XsError::from_errno(2).is_enoent());
        assert_eq!(XsError::from_errno(12345).name(), "EINVAL");
        assert_eq!(XsError::new("EACCES").errno(), 13);
        assert_eq!(XsError::new("EWHATEVER").errno(), 22);
        assert_eq!(alloc::format!("{}", XsError::einval()), "EINVAL");
    }
}
