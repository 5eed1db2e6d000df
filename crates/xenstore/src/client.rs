//! Client side: build requests and make sense of replies and watch events.
//!
//! Request payloads are NUL-terminated strings, except `XS_WRITE`'s value,
//! which is raw bytes after the path's NUL (see [`request`]).

use alloc::string::String;
use alloc::vec::Vec;
use xen_abi::xs_wire::*;

use crate::error::XsError;
use crate::perm::Perm;
use crate::wire::Message;

/// A request of `kind` whose payload is `parts`, each followed by a NUL,
/// as Xen's client library joins them.  For [`XS_WRITE`] the last part is
/// the value and is not NUL-terminated.  A request without arguments
/// (`XS_TRANSACTION_START`, `XS_RESET_WATCHES`) is sent as one empty part:
/// `&[b""]`.
pub fn request(kind: u32, tx_id: u32, req_id: u32, parts: &[&[u8]]) -> Message {
    let mut payload = Vec::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for (i, part) in parts.iter().enumerate() {
        payload.extend_from_slice(part);
        let raw_value = kind == XS_WRITE && i + 1 == parts.len() && i > 0;
        if !raw_value {
            payload.push(0);
        }
    }
    Message::new(kind, req_id, tx_id, payload)
}

/// A successful reply, by request type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// `OK` (write, mkdir, rm, set_perms, watch, unwatch, transaction
    /// end, introduce, release, reset_watches, ...).
    Ok,
    /// `XS_READ` (and other raw replies: control, feature, quota).
    Value(Vec<u8>),
    /// `XS_DIRECTORY`: the children's names.
    Directory(Vec<String>),
    /// `XS_DIRECTORY_PART`: the node's generation, the names from the
    /// requested offset, and whether they reach the end of the list.
    DirectoryPart {
        /// Generation of the node (equal across calls: unchanged node).
        generation: u64,
        /// Children names in this part.
        children: Vec<String>,
        /// The list ends in this part.
        complete: bool,
    },
    /// `XS_GET_PERMS`.
    Perms(Vec<Perm>),
    /// `XS_TRANSACTION_START`: the new transaction's id.
    TransactionId(u32),
    /// `XS_GET_DOMAIN_PATH`.
    DomainPath(String),
    /// `XS_IS_DOMAIN_INTRODUCED`.
    Introduced(bool),
}

/// The NUL-terminated strings of a payload; `None` if bytes follow the
/// last NUL or a string is not UTF-8.
fn strings(payload: &[u8]) -> Option<Vec<String>> {
    if payload.is_empty() {
        return Some(Vec::new());
    }
    let body = payload.strip_suffix(&[0])?;
    body.split(|&b| b == 0)
        .map(|s| core::str::from_utf8(s).ok().map(String::from))
        .collect()
}

/// The one string of a payload (`"text\0"`).
fn one_string(payload: &[u8]) -> Option<String> {
    let mut all = strings(payload)?;
    (all.len() == 1).then(|| all.remove(0))
}

/// Interpret a reply.  `XS_ERROR` becomes its [`XsError`] (unknown names
/// as `EINVAL`); a reply that does not have its type's form is `EIO`.
/// Watch events are not replies: they give `EINVAL` (see
/// [`parse_watch_event`]).
pub fn parse_reply(msg: &Message) -> Result<Reply, XsError> {
    let p = &msg.payload;
    let malformed = XsError::EIO;
    match msg.kind {
        XS_ERROR => Err(XsError::from_name(p.strip_suffix(&[0]).unwrap_or(p))),
        XS_WATCH_EVENT => Err(XsError::EINVAL),
        XS_READ | XS_CONTROL | XS_GET_FEATURE | XS_GET_QUOTA => Ok(Reply::Value(p.clone())),
        XS_DIRECTORY => strings(p).map(Reply::Directory).ok_or(malformed),
        XS_DIRECTORY_PART => {
            let mut all = strings(p).filter(|s| !s.is_empty()).ok_or(malformed)?;
            let generation = all.remove(0).parse().map_err(|_| malformed)?;
            let complete = all.last().is_some_and(String::is_empty);
            if complete {
                all.pop();
            }
            Ok(Reply::DirectoryPart {
                generation,
                children: all,
                complete,
            })
        }
        XS_GET_PERMS => Perm::parse_list(p).map(Reply::Perms).map_err(|_| malformed),
        XS_TRANSACTION_START => one_string(p)
            .and_then(|s| s.parse().ok())
            .map(Reply::TransactionId)
            .ok_or(malformed),
        XS_GET_DOMAIN_PATH => one_string(p).map(Reply::DomainPath).ok_or(malformed),
        XS_IS_DOMAIN_INTRODUCED => match p.as_slice() {
            b"T\0" => Ok(Reply::Introduced(true)),
            b"F\0" => Ok(Reply::Introduced(false)),
            _ => Err(malformed),
        },
        kind if kind < XS_TYPE_COUNT => {
            if p.as_slice() == b"OK\0" {
                Ok(Reply::Ok)
            } else {
                Err(malformed)
            }
        }
        _ => Err(malformed),
    }
}

/// The path and token of an `XS_WATCH_EVENT` (`path\0token\0`); `None`
/// for any other message, a malformed payload, or a token that is not
/// UTF-8 (a client only receives the tokens it chose).
pub fn parse_watch_event(msg: &Message) -> Option<(String, String)> {
    if msg.kind != XS_WATCH_EVENT {
        return None;
    }
    let mut parts = strings(&msg.payload)?;
    if parts.len() != 2 {
        return None;
    }
    let token = parts.pop()?;
    let path = parts.pop()?;
    Some((path, token))
}
