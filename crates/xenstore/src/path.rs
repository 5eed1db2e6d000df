//! Node paths: syntax checks, relative-path resolution and tree relations.
//!
//! Rules (Xen's `docs/misc/xenstore.txt` and `canonicalize()`):
//! - characters `[A-Za-z0-9-/_@]` only;
//! - a path starting with `/` is absolute, one starting with `@` names a
//!   special watch (only where allowed), anything else is relative to the
//!   connection's home `/local/domain/<domid>`;
//! - no `//`, no trailing `/` except the root `/`, not empty;
//! - at most [`XENSTORE_ABS_PATH_MAX`] bytes once resolved; an unprivileged
//!   connection is further held to Xen's path quota of
//!   [`XENSTORE_REL_PATH_MAX`] bytes not counting a leading
//!   `/local/domain/<n>/`.

use alloc::format;
use alloc::string::String;
use xen_abi::xs_wire::{XENSTORE_ABS_PATH_MAX, XENSTORE_REL_PATH_MAX};

use crate::error::XsError;

/// The special watch path fired when a domain is introduced.
pub const INTRODUCE_DOMAIN: &str = "@introduceDomain";
/// The special watch path fired when a domain is released.
pub const RELEASE_DOMAIN: &str = "@releaseDomain";

/// The home of `domid`'s relative paths, `/local/domain/<domid>`.
pub fn domain_path(domid: u32) -> String {
    format!("/local/domain/{domid}")
}

/// A path resolved for one connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// The absolute (or `@special`) path.
    pub path: String,
    /// The request named it relative to the connection's home.
    pub relative: bool,
}

impl Resolved {
    /// How `path` (a descendant of this resolved path, or itself) is shown
    /// to the connection: relative paths stay relative, as Xen reports
    /// watch events.
    pub fn show<'a>(&self, home: &str, path: &'a str) -> &'a str {
        if self.relative {
            path.get(home.len() + 1..).unwrap_or(path)
        } else {
            path
        }
    }
}

fn valid_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'/' | b'_' | b'@')
}

/// Resolve a request's path for a connection whose home is `home`
/// (`/local/domain/<domid>`).  `allow_special` admits `@...` paths (watches
/// and permission requests); `privileged` lifts the relative-length quota.
pub fn resolve(
    raw: &[u8],
    home: &str,
    allow_special: bool,
    privileged: bool,
) -> Result<Resolved, XsError> {
    if raw.is_empty() || !raw.iter().all(|&c| valid_char(c)) {
        return Err(XsError::EINVAL);
    }
    // All characters are ASCII, so this cannot fail.
    let text = core::str::from_utf8(raw).map_err(|_| XsError::EINVAL)?;
    let special = text.starts_with('@');
    if special && !allow_special {
        return Err(XsError::EINVAL);
    }
    let relative = !special && !text.starts_with('/');
    let path = if relative {
        format!("{home}/{text}")
    } else {
        String::from(text)
    };
    if (path.len() > 1 && path.ends_with('/')) || path.contains("//") {
        return Err(XsError::EINVAL);
    }
    if path.len() > XENSTORE_ABS_PATH_MAX
        || (!privileged && path.len() - local_prefix_len(&path) > XENSTORE_REL_PATH_MAX)
    {
        return Err(XsError::EINVAL);
    }
    Ok(Resolved { path, relative })
}

/// Length of a leading `/local/domain/<1-5 digits>/`, else 0 (what Xen
/// leaves out when it measures a path against the path quota).
fn local_prefix_len(path: &str) -> usize {
    const PREFIX: &str = "/local/domain/";
    let Some(rest) = path.strip_prefix(PREFIX) else {
        return 0;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if (1..=5).contains(&digits) && rest.as_bytes().get(digits) == Some(&b'/') {
        PREFIX.len() + digits + 1
    } else {
        0
    }
}

/// The parent of a node: `/a/b` → `/a`, `/a` → `/`.  The root and the
/// special `@` paths have `/` as parent (as in Xen's `get_parent`).
pub fn parent(path: &str) -> &str {
    match path.get(1..).and_then(|tail| tail.rfind('/')) {
        Some(i) => &path[..i + 1],
        None => "/",
    }
}

/// The last component of a non-root path.
pub fn basename(path: &str) -> &str {
    path.rfind('/').map_or(path, |i| &path[i + 1..])
}

/// `parent/name`, minding the root.
pub fn child(parent: &str, name: &str) -> String {
    if parent == "/" {
        format!("/{name}")
    } else {
        format!("{parent}/{name}")
    }
}

/// `path` equals `ancestor` or lies below it (`/` contains every path).
pub fn is_within(path: &str, ancestor: &str) -> bool {
    if ancestor == "/" {
        return true;
    }
    path.strip_prefix(ancestor)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Parse a decimal domain id (`0..=65535`), as request payloads carry them.
pub fn parse_domid(text: &[u8]) -> Result<u16, XsError> {
    if text.is_empty() || text.len() > 5 || !text.iter().all(u8::is_ascii_digit) {
        return Err(XsError::EINVAL);
    }
    let value = text
        .iter()
        .fold(0u32, |acc, &d| acc * 10 + u32::from(d - b'0'));
    u16::try_from(value).map_err(|_| XsError::EINVAL)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: &str = "/local/domain/3";

    #[test]
    fn resolution() {
        let r = resolve(b"device/vif", HOME, false, false).unwrap();
        assert_eq!(r.path, "/local/domain/3/device/vif");
        assert!(r.relative);
        assert_eq!(r.show(HOME, &r.path), "device/vif");
        let r = resolve(b"/tool", HOME, false, false).unwrap();
        assert_eq!((r.path.as_str(), r.relative), ("/tool", false));
        assert_eq!(resolve(b"/", HOME, false, true).unwrap().path, "/");
        let r = resolve(b"@releaseDomain", HOME, true, false).unwrap();
        assert_eq!((r.path.as_str(), r.relative), ("@releaseDomain", false));
    }

    #[test]
    fn syntax_errors() {
        for bad in [
            &b""[..],
            b"/a//b",
            b"/a/",
            b"a/",
            b"/a b",
            b"/a.b",
            b"/a\0",
            b"@releaseDomain",
            &[0xff],
        ] {
            assert_eq!(
                resolve(bad, HOME, false, true),
                Err(XsError::EINVAL),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn length_limits() {
        let long = |n: usize| {
            let mut p = String::from("/");
            p.push_str(&"x".repeat(n - 1));
            p
        };
        assert!(resolve(long(3072).as_bytes(), HOME, false, true).is_ok());
        assert!(resolve(long(3073).as_bytes(), HOME, false, true).is_err());
        // Unprivileged: 2048 bytes beyond the /local/domain/<n>/ prefix.
        assert!(resolve(long(2048).as_bytes(), HOME, false, false).is_ok());
        assert!(resolve(long(2049).as_bytes(), HOME, false, false).is_err());
        let rel = "y".repeat(2048 - 1);
        let r = resolve(rel.as_bytes(), HOME, false, false).unwrap();
        assert_eq!(r.path.len() - local_prefix_len(&r.path), 2048 - 1);
        assert!(resolve("y".repeat(2049).as_bytes(), HOME, false, false).is_err());
    }

    #[test]
    fn relations() {
        assert_eq!(parent("/a/b"), "/a");
        assert_eq!(parent("/a"), "/");
        assert_eq!(parent("/"), "/");
        assert_eq!(parent("@introduceDomain"), "/");
        assert_eq!(basename("/a/b"), "b");
        assert_eq!(child("/", "a"), "/a");
        assert_eq!(child("/a", "b"), "/a/b");
        assert!(is_within("/a/b", "/a"));
        assert!(is_within("/a", "/a"));
        assert!(!is_within("/ab", "/a"));
        assert!(is_within("/x", "/"));
        assert_eq!(parse_domid(b"65535"), Ok(65535));
        assert_eq!(parse_domid(b"65536"), Err(XsError::EINVAL));
        assert_eq!(parse_domid(b"-1"), Err(XsError::EINVAL));
        assert_eq!(parse_domid(b""), Err(XsError::EINVAL));
    }
}
