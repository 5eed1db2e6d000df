//! What XenBus needs from a XenStore client.  Errors are the `xenstore`
//! crate's [`XsError`] (an errno value that travels as its name).

use alloc::string::String;

use xenstore::{Perm, XsError};

use crate::state::XenbusState;

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
        Err(XsError::ENOENT) => Ok(XenbusState::Unknown),
        Err(e) => Err(e),
    }
}
