//! The client helpers: request building, reply and event parsing, and the
//! wire encoding.

use alloc::string::String;
use alloc::vec;
use xen_abi::xs_wire::*;

use crate::client::{parse_reply, parse_watch_event, request, Reply};
use crate::{encode, Access, Message, Perm, XsError};

#[test]
fn requests() {
    let m = request(XS_READ, 5, 9, &[b"/local/domain/1/name"]);
    assert_eq!((m.kind, m.tx_id, m.req_id), (XS_READ, 5, 9));
    assert_eq!(m.payload, b"/local/domain/1/name\0");
    // XS_WRITE's value is raw: no NUL after it.
    let m = request(XS_WRITE, 0, 1, &[b"/a", b"v\0x"]);
    assert_eq!(m.payload, b"/a\0v\0x");
    assert_eq!(request(XS_WRITE, 0, 1, &[b"/a"]).payload, b"/a\0");
    assert_eq!(
        request(XS_WATCH, 0, 1, &[b"/a", b"tok"]).payload,
        b"/a\0tok\0"
    );
    assert_eq!(
        request(XS_SET_PERMS, 0, 1, &[b"/a", b"n1", b"r2"]).payload,
        b"/a\0n1\0r2\0"
    );
    assert_eq!(request(XS_TRANSACTION_START, 0, 1, &[b""]).payload, b"\0");
    assert!(request(XS_RESET_WATCHES, 0, 1, &[]).payload.is_empty());
}

#[test]
fn encoding() {
    let m = Message::new(XS_READ, 0x01020304, 7, b"/x\0".to_vec());
    let bytes = encode(&m);
    assert_eq!(bytes.len(), 16 + 3);
    assert_eq!(&bytes[0..4], &XS_READ.to_le_bytes());
    assert_eq!(&bytes[4..8], &[4, 3, 2, 1]);
    assert_eq!(&bytes[8..12], &7u32.to_le_bytes());
    assert_eq!(&bytes[12..16], &3u32.to_le_bytes());
    assert_eq!(&bytes[16..], b"/x\0");
}

fn reply(kind: u32, payload: &[u8]) -> Result<Reply, XsError> {
    parse_reply(&Message::new(kind, 1, 0, payload.to_vec()))
}

#[test]
fn replies() {
    assert_eq!(reply(XS_WRITE, b"OK\0"), Ok(Reply::Ok));
    assert_eq!(reply(XS_WRITE, b"KO\0"), Err(XsError::EIO));
    assert_eq!(reply(XS_READ, b"a\0b"), Ok(Reply::Value(b"a\0b".to_vec())));
    assert_eq!(
        reply(XS_DIRECTORY, b"a\0bb\0"),
        Ok(Reply::Directory(vec![
            String::from("a"),
            String::from("bb")
        ]))
    );
    assert_eq!(reply(XS_DIRECTORY, b""), Ok(Reply::Directory(vec![])));
    assert_eq!(reply(XS_DIRECTORY, b"a"), Err(XsError::EIO));
    assert_eq!(
        reply(XS_GET_PERMS, b"b0\0r3\0"),
        Ok(Reply::Perms(vec![
            Perm::new(0, Access::Both),
            Perm::new(3, Access::Read)
        ]))
    );
    assert_eq!(reply(XS_GET_PERMS, b"q0\0"), Err(XsError::EIO));
    assert_eq!(
        reply(XS_TRANSACTION_START, b"17\0"),
        Ok(Reply::TransactionId(17))
    );
    assert_eq!(reply(XS_TRANSACTION_START, b"x\0"), Err(XsError::EIO));
    assert_eq!(
        reply(XS_GET_DOMAIN_PATH, b"/local/domain/4\0"),
        Ok(Reply::DomainPath(String::from("/local/domain/4")))
    );
    assert_eq!(
        reply(XS_IS_DOMAIN_INTRODUCED, b"T\0"),
        Ok(Reply::Introduced(true))
    );
    assert_eq!(
        reply(XS_IS_DOMAIN_INTRODUCED, b"F\0"),
        Ok(Reply::Introduced(false))
    );
    assert_eq!(
        reply(XS_DIRECTORY_PART, b"12\0a\0b\0\0"),
        Ok(Reply::DirectoryPart {
            generation: 12,
            children: vec![String::from("a"), String::from("b")],
            complete: true
        })
    );
    assert_eq!(
        reply(XS_DIRECTORY_PART, b"12\0a\0"),
        Ok(Reply::DirectoryPart {
            generation: 12,
            children: vec![String::from("a")],
            complete: false
        })
    );
    assert_eq!(reply(XS_DIRECTORY_PART, b""), Err(XsError::EIO));
    // Errors by name; unknown names are EINVAL, as in Xen's library.
    assert_eq!(reply(XS_ERROR, b"ENOENT\0"), Err(XsError::ENOENT));
    assert_eq!(reply(XS_ERROR, b"EAGAIN\0"), Err(XsError::EAGAIN));
    assert_eq!(reply(XS_ERROR, b"EQUOTA\0"), Err(XsError::EQUOTA));
    assert_eq!(reply(XS_ERROR, b"EWHAT\0"), Err(XsError::EINVAL));
    assert_eq!(reply(XS_ERROR, b""), Err(XsError::EINVAL));
    assert_eq!(reply(XS_WATCH_EVENT, b"/a\0t\0"), Err(XsError::EINVAL));
    assert_eq!(reply(999, b"OK\0"), Err(XsError::EIO));
}

#[test]
fn errors() {
    assert_eq!(XsError::ENOENT.name(), "ENOENT");
    assert_eq!(XsError::ENOENT.errno(), 2);
    assert_eq!(XsError::EQUOTA.name(), "EQUOTA");
    assert_eq!(XsError::E2BIG.payload(), b"E2BIG\0");
    assert_eq!(XsError::from_name(b"EISDIR"), XsError::EISDIR);
    assert_eq!(alloc::format!("{:?}", XsError::EACCES), "EACCES(13)");
    for (n, name) in XSD_ERRORS {
        assert_eq!(XsError::from_name(name.as_bytes()).errno(), *n);
        assert_eq!(XsError::from_name(name.as_bytes()).name(), *name);
        assert_eq!(XsError::from_errno(*n).name(), *name);
    }
    // Errno values XenStore has no name for (EFAULT, garbage) read as EINVAL.
    for unnamed in [14, 0, -2, 12345] {
        assert_eq!(XsError::from_errno(unnamed), XsError::EINVAL);
    }
}

#[test]
fn watch_events() {
    let m = Message::new(XS_WATCH_EVENT, 0, 0, b"/a/b\0tok\0".to_vec());
    assert_eq!(
        parse_watch_event(&m),
        Some((String::from("/a/b"), String::from("tok")))
    );
    let m = Message::new(XS_WATCH_EVENT, 0, 0, b"/a/b\0tok".to_vec());
    assert_eq!(parse_watch_event(&m), None);
    let m = Message::new(XS_WATCH_EVENT, 0, 0, b"/a/b\0".to_vec());
    assert_eq!(parse_watch_event(&m), None);
    let m = Message::new(XS_READ, 0, 0, b"/a/b\0tok\0".to_vec());
    assert_eq!(parse_watch_event(&m), None);
}
