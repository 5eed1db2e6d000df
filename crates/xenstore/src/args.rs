//! Splitting request payloads into their arguments, with the strictness of
//! Xen's daemon.

use alloc::vec::Vec;

use crate::error::XsError;

/// The NUL-terminated strings of a payload, without their NULs.  Bytes
/// after the last NUL are not a string (Xen's `get_strings()`).
pub(crate) fn strings(payload: &[u8]) -> Vec<&[u8]> {
    let mut out: Vec<&[u8]> = payload.split_inclusive(|&b| b == 0).collect();
    if out.last().is_some_and(|s| s.last() != Some(&0)) {
        out.pop();
    }
    out.into_iter()
        .map(|s| s.strip_suffix(&[0]).unwrap_or(s))
        .collect()
}

/// A payload of exactly one string: the only NUL is the last byte
/// (Xen's `onearg()`).
pub(crate) fn one(payload: &[u8]) -> Result<&[u8], XsError> {
    match payload.iter().position(|&b| b == 0) {
        Some(nul) if nul + 1 == payload.len() => Ok(&payload[..nul]),
        _ => Err(XsError::EINVAL),
    }
}

/// Exactly `N` strings.
pub(crate) fn exactly<const N: usize>(payload: &[u8]) -> Result<[&[u8]; N], XsError> {
    strings(payload).try_into().map_err(|_| XsError::EINVAL)
}

/// The path and the raw value of an `XS_WRITE` payload.
pub(crate) fn path_and_value(payload: &[u8]) -> Result<(&[u8], &[u8]), XsError> {
    let nul = payload
        .iter()
        .position(|&b| b == 0)
        .ok_or(XsError::EINVAL)?;
    Ok((&payload[..nul], &payload[nul + 1..]))
}

/// A decimal number (`XS_DIRECTORY_PART` offsets, event channel ports).
pub(crate) fn number(text: &[u8]) -> Result<u32, XsError> {
    core::str::from_utf8(text)
        .ok()
        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|s| s.parse().ok())
        .ok_or(XsError::EINVAL)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitting() {
        assert_eq!(strings(b"a\0bc\0"), [&b"a"[..], b"bc"]);
        assert_eq!(strings(b"a\0tail"), [&b"a"[..]]);
        assert_eq!(strings(b""), Vec::<&[u8]>::new());
        assert_eq!(strings(b"\0"), [&b""[..]]);
        assert_eq!(one(b"path\0"), Ok(&b"path"[..]));
        assert_eq!(one(b"path"), Err(XsError::EINVAL));
        assert_eq!(one(b"a\0b\0"), Err(XsError::EINVAL));
        assert_eq!(one(b""), Err(XsError::EINVAL));
        assert_eq!(exactly::<2>(b"p\0t\0"), Ok([&b"p"[..], b"t"]));
        assert_eq!(exactly::<2>(b"p\0t\0x\0"), Err(XsError::EINVAL));
        assert_eq!(path_and_value(b"/a\0v\0w"), Ok((&b"/a"[..], &b"v\0w"[..])));
        assert_eq!(path_and_value(b"/a"), Err(XsError::EINVAL));
        assert_eq!(number(b"42"), Ok(42));
        assert_eq!(number(b"-1"), Err(XsError::EINVAL));
        assert_eq!(number(b"99999999999"), Err(XsError::EINVAL));
    }
}
