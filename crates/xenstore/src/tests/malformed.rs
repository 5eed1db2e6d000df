//! Malformed and hostile input: errors, never panics.

use alloc::format;
use alloc::vec;
use alloc::vec::Vec;
use proptest::prelude::*;
use xen_abi::xs_wire::*;

use super::Harness;
use crate::client::{request, Reply};
use crate::{encode, Decoder, Message, WireError, XenStore, XsError};

#[test]
fn bad_payloads() {
    let mut h = Harness::new(&[1]);
    let raw = |kind, payload: &[u8]| Message::new(kind, 7, 0, payload.to_vec());
    for conn in [0, 1] {
        // One-argument requests need exactly one NUL, at the end.
        for kind in [
            XS_READ,
            XS_DIRECTORY,
            XS_GET_PERMS,
            XS_MKDIR,
            XS_RM,
            XS_GET_DOMAIN_PATH,
        ] {
            for payload in [&b""[..], b"/tool", b"/tool\0extra", b"/a\0/b\0"] {
                let a = h.send(conn, raw(kind, payload));
                assert_eq!(a.reply, Err(XsError::EINVAL), "kind {kind} {payload:?}");
            }
        }
        assert_eq!(
            h.send(conn, raw(XS_WRITE, b"/no-nul")).reply,
            Err(XsError::EINVAL)
        );
        assert_eq!(
            h.send(conn, raw(XS_WRITE, b"/bad path\0v")).reply,
            Err(XsError::EINVAL)
        );
        assert_eq!(
            h.send(conn, raw(XS_SET_PERMS, b"/tool")).reply,
            Err(XsError::EINVAL)
        );
        assert_eq!(
            h.send(conn, raw(XS_WATCH, b"/tool\0")).reply,
            Err(XsError::EINVAL)
        );
        assert_eq!(
            h.send(conn, raw(XS_TRANSACTION_END, b"")).reply,
            Err(XsError::EINVAL)
        );
        assert_eq!(
            h.send(conn, raw(XS_DIRECTORY_PART, b"/\0x\0")).reply,
            Err(XsError::EINVAL)
        );
    }
}

#[test]
fn unknown_and_unsupported_types() {
    let mut h = Harness::new(&[1]);
    // Xen's daemon answers types it has no handler for with ENOSYS.
    for kind in [
        XS_WATCH_EVENT,
        XS_ERROR,
        XS_TYPE_COUNT,
        20,
        999,
        XS_INVALID,
        u32::MAX,
    ] {
        for conn in [0, 1] {
            let a = h.call(conn, kind, 0, &[b"/"]);
            assert_eq!(a.reply, Err(XsError::ENOSYS), "kind {kind}");
        }
    }
    // Privileged requests we do not offer: EACCES for domains, ENOSYS
    // for Dom0.
    for kind in [XS_RESUME, XS_SET_TARGET, XS_CONTROL, XS_SET_QUOTA] {
        assert_eq!(h.call(1, kind, 0, &[b"1"]).reply, Err(XsError::EACCES));
        assert_eq!(h.call(0, kind, 0, &[b"1"]).reply, Err(XsError::ENOSYS));
    }
    assert_eq!(
        h.call(1, XS_GET_FEATURE, 0, &[b"1"]).reply,
        Err(XsError::ENOSYS)
    );
    // Unknown connections are refused.
    assert_eq!(h.call(9, XS_READ, 0, &[b"/"]).reply, Err(XsError::EACCES));
}

#[test]
fn bad_transaction_id() {
    let mut h = Harness::new(&[1]);
    for kind in [
        XS_READ,
        XS_WRITE,
        XS_MKDIR,
        XS_RM,
        XS_DIRECTORY,
        XS_GET_PERMS,
        XS_SET_PERMS,
    ] {
        let a = h.call(1, kind, 5, &[b"/tool", b"n1"]);
        assert_eq!(a.reply, Err(XsError::ENOENT), "kind {kind}");
    }
}

#[test]
fn oversized_header() {
    let mut xs = XenStore::new();
    let mut d = Decoder::new();
    let good = encode(&request(XS_READ, 0, 1, &[b"/tool"]));
    let mut bad = Vec::new();
    for field in [XS_WRITE, 9, 3, XENSTORE_PAYLOAD_MAX as u32 + 1] {
        bad.extend_from_slice(&field.to_le_bytes());
    }
    d.feed(&good);
    d.feed(&bad);
    d.feed(b"junk that follows");
    let first = d.next().unwrap().unwrap();
    assert_eq!(xs.handle(0, first)[0].msg.kind, XS_READ);
    let err = d.next().unwrap_err();
    assert_eq!(
        err,
        WireError::TooBig {
            kind: XS_WRITE,
            req_id: 9,
            tx_id: 3,
            len: XENSTORE_PAYLOAD_MAX as u32 + 1
        }
    );
    // The reply echoes the ids; the buffered input is gone.
    let reply = err.reply();
    assert_eq!((reply.kind, reply.req_id, reply.tx_id), (XS_ERROR, 9, 3));
    assert_eq!(reply.payload, b"E2BIG\0");
    assert_eq!(d.buffered(), 0);
    assert_eq!(d.next(), Ok(None));
    // Decoding resumes with the next bytes fed.
    d.feed(&good);
    assert!(d.next().unwrap().is_some());
}

#[test]
fn decoder_reassembles_byte_by_byte() {
    let msgs = [
        request(XS_WRITE, 0, 1, &[b"/a", b"value"]),
        request(XS_TRANSACTION_START, 0, 2, &[b""]),
        Message::new(XS_READ, 3, 4, Vec::new()),
    ];
    let stream: Vec<u8> = msgs.iter().flat_map(encode).collect();
    let mut d = Decoder::new();
    let mut got = Vec::new();
    for b in stream {
        d.feed(&[b]);
        while let Some(m) = d.next().unwrap() {
            got.push(m);
        }
    }
    assert_eq!(got, msgs);
    assert_eq!(d.buffered(), 0);
}

/// Random streams and random messages never panic the daemon, replies
/// always come first and fit a payload, and the tree stays consistent.
fn exercise(xs: &mut XenStore, conn: u16, msg: Message) {
    let (kind, req_id, tx_id) = (msg.kind, msg.req_id, msg.tx_id);
    let out = xs.handle(conn, msg);
    assert_eq!(out[0].to, conn);
    assert_eq!((out[0].msg.req_id, out[0].msg.tx_id), (req_id, tx_id));
    assert!(out[0].msg.kind == kind || out[0].msg.kind == XS_ERROR);
    for o in &out {
        assert!(o.msg.payload.len() <= XENSTORE_PAYLOAD_MAX);
        if o.msg.kind == XS_ERROR {
            assert!(crate::client::parse_reply(&o.msg).is_err());
        }
    }
    for o in &out[1..] {
        assert_eq!(o.msg.kind, XS_WATCH_EVENT);
        // `path\0token\0`, the path one we accept (tokens are any bytes).
        let p = &o.msg.payload;
        assert_eq!(p.iter().filter(|&&b| b == 0).count(), 2);
        assert_eq!(p.last(), Some(&0));
        let path = &p[..p.iter().position(|&b| b == 0).unwrap()];
        assert!(path.iter().all(|&c| c.is_ascii_graphic()));
    }
}

fn store_with_domains() -> XenStore {
    let mut xs = XenStore::new();
    for d in [1, 2] {
        xs.introduce(d).unwrap();
        let home = alloc::format!("/local/domain/{d}");
        xs.mkdir(&home).unwrap();
        xs.set_perms(&home, &[crate::Perm::new(d, crate::Access::None)])
            .unwrap();
    }
    xs
}

/// Payload pieces that reach deep into the request handlers.
fn piece() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"/".to_vec()),
        Just(b"/a".to_vec()),
        Just(b"/a/b".to_vec()),
        Just(b"a/b".to_vec()),
        Just(b"/local/domain/1".to_vec()),
        Just(b"/local/domain/2/x".to_vec()),
        Just(b"@releaseDomain".to_vec()),
        Just(b"@introduceDomain".to_vec()),
        Just(b"T".to_vec()),
        Just(b"F".to_vec()),
        Just(b"n1".to_vec()),
        Just(b"b2".to_vec()),
        Just(b"r0".to_vec()),
        Just(b"1".to_vec()),
        Just(b"2".to_vec()),
        Just(b"3".to_vec()),
        Just(b"0".to_vec()),
        Just(Vec::new()),
        prop::collection::vec(any::<u8>(), 0..8),
    ]
}

fn structured_message() -> impl Strategy<Value = (u16, Message)> {
    (
        0u16..4,
        0u32..28,
        0u32..4,
        prop::collection::vec(piece(), 0..4),
        any::<bool>(),
    )
        .prop_map(|(conn, kind, tx, parts, terminated)| {
            let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
            let mut msg = request(kind, tx, 1, &refs);
            if !terminated {
                msg.payload.pop();
            }
            (conn, msg)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_never_panic(
        chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 1..16),
        conn in 0u16..3,
    ) {
        let mut xs = store_with_domains();
        let mut d = Decoder::new();
        for chunk in chunks {
            d.feed(&chunk);
            loop {
                match d.next() {
                    Ok(Some(msg)) => exercise(&mut xs, conn, msg),
                    Ok(None) => break,
                    Err(e) => {
                        prop_assert_eq!(e.reply().payload, b"E2BIG\0".to_vec());
                        prop_assert_eq!(d.buffered(), 0);
                    }
                }
            }
        }
        xs.check_invariants();
    }

    #[test]
    fn random_requests_never_panic(msgs in prop::collection::vec(structured_message(), 1..48)) {
        let mut xs = store_with_domains();
        for (conn, msg) in msgs {
            // Transaction ids 1..3 are ones the daemon hands out, so some
            // requests run inside real transactions.
            exercise(&mut xs, conn, msg);
            xs.check_invariants();
        }
        let _ = xs.release(1);
        xs.check_invariants();
        prop_assert!(xs.ls("/").is_ok());
    }
}

#[test]
fn empty_payload_for_every_type() {
    let mut xs = store_with_domains();
    for kind in 0..XS_TYPE_COUNT + 2 {
        for conn in [0, 1, 3] {
            exercise(&mut xs, conn, Message::new(kind, 1, 0, vec![]));
        }
    }
    xs.check_invariants();
    // The store still works.
    let a = xs.handle(0, request(XS_READ, 0, 1, &[b"/tool"]));
    assert_eq!(
        crate::client::parse_reply(&a[0].msg),
        Ok(Reply::Value(vec![]))
    );
}
