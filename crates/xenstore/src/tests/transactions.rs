//! Transactions: isolation, commit, conflicts, abort, limits.

use xen_abi::xs_wire::*;

use super::{ev, Harness};
use crate::client::Reply;
use crate::{Access, Perm, XsError};

#[test]
fn isolation_and_commit() {
    let mut h = Harness::new(&[]);
    h.xs.write("/keep", b"old").unwrap();
    let t = h.start(0);
    assert_ne!(t, 0);
    h.write_ok(0, t, "/a/b", "1");
    h.write_ok(0, t, "/keep", "new");
    assert_eq!(h.call(0, XS_RM, t, &[b"/tool"]).reply, Ok(Reply::Ok));
    // Inside: the transaction's state.
    assert_eq!(h.read(0, t, "/a/b"), Ok(b"1".to_vec()));
    assert_eq!(h.read(0, t, "/keep"), Ok(b"new".to_vec()));
    assert_eq!(h.read(0, t, "/tool"), Err(XsError::ENOENT));
    assert_eq!(h.dir(0, t, "/").unwrap(), ["local", "keep", "a"]);
    // Outside: unchanged.
    assert_eq!(h.read(0, 0, "/a/b"), Err(XsError::ENOENT));
    assert_eq!(h.read(0, 0, "/keep"), Ok(b"old".to_vec()));
    assert_eq!(h.dir(0, 0, "/").unwrap(), ["local", "tool", "keep"]);
    assert_eq!(h.end(0, t, true).reply, Ok(Reply::Ok));
    assert_eq!(h.read(0, 0, "/a/b"), Ok(b"1".to_vec()));
    assert_eq!(h.read(0, 0, "/keep"), Ok(b"new".to_vec()));
    assert_eq!(h.read(0, 0, "/tool"), Err(XsError::ENOENT));
    assert_eq!(h.dir(0, 0, "/").unwrap(), ["local", "keep", "a"]);
    // The id is gone.
    assert_eq!(h.end(0, t, true).reply, Err(XsError::ENOENT));
    assert_eq!(h.read(0, t, "/a/b"), Err(XsError::ENOENT));
}

#[test]
fn abort_discards() {
    let mut h = Harness::new(&[]);
    let t = h.start(0);
    h.write_ok(0, t, "/gone", "1");
    assert_eq!(h.end(0, t, false).reply, Ok(Reply::Ok));
    assert_eq!(h.read(0, 0, "/gone"), Err(XsError::ENOENT));
}

#[test]
fn conflicts() {
    let mut h = Harness::new(&[]);
    h.xs.write("/a", b"0").unwrap();
    h.xs.write("/p/child", b"").unwrap();

    // A node read in the transaction changed: EAGAIN, nothing applied.
    let t = h.start(0);
    assert_eq!(h.read(0, t, "/a"), Ok(b"0".to_vec()));
    h.write_ok(0, t, "/b", "from tx");
    h.xs.write("/a", b"1").unwrap();
    assert_eq!(h.end(0, t, true).reply, Err(XsError::EAGAIN));
    assert_eq!(h.read(0, 0, "/b"), Err(XsError::ENOENT));
    assert_eq!(h.end(0, t, true).reply, Err(XsError::ENOENT));

    // A node written in the transaction changed meanwhile.
    let t = h.start(0);
    h.write_ok(0, t, "/a", "tx");
    h.xs.write("/a", b"2").unwrap();
    assert_eq!(h.end(0, t, true).reply, Err(XsError::EAGAIN));
    assert_eq!(h.xs.read("/a").unwrap(), b"2");

    // A sibling created under a parent the transaction extended.
    let t = h.start(0);
    h.write_ok(0, t, "/p/mine", "");
    h.xs.write("/p/theirs", b"").unwrap();
    assert_eq!(h.end(0, t, true).reply, Err(XsError::EAGAIN));
    assert_eq!(h.xs.directory("/p").unwrap(), ["child", "theirs"]);

    // A node removed after the transaction read it.
    let t = h.start(0);
    assert_eq!(h.read(0, t, "/p/child"), Ok(b"".to_vec()));
    h.xs.rm("/p/child").unwrap();
    h.write_ok(0, t, "/z", "");
    assert_eq!(h.end(0, t, true).reply, Err(XsError::EAGAIN));

    // A node changed after the start, before the transaction first read
    // it: the transaction saw newer state than its start.
    let t = h.start(0);
    h.xs.write("/a", b"3").unwrap();
    assert_eq!(h.read(0, t, "/a"), Ok(b"3".to_vec()));
    assert_eq!(h.end(0, t, true).reply, Err(XsError::EAGAIN));

    // Unrelated changes do not conflict.
    let t = h.start(0);
    assert_eq!(h.read(0, t, "/a"), Ok(b"3".to_vec()));
    h.write_ok(0, t, "/p/mine", "ok");
    h.xs.write("/elsewhere", b"").unwrap();
    assert_eq!(h.end(0, t, true).reply, Ok(Reply::Ok));
    assert_eq!(h.xs.read("/p/mine").unwrap(), b"ok");
}

#[test]
fn two_transactions_interfere() {
    // Xen's example 4: T1 reads A and writes B, T2 reads B and writes A.
    let mut h = Harness::new(&[]);
    h.xs.write("/A", b"a").unwrap();
    h.xs.write("/B", b"b").unwrap();
    let t1 = h.start(0);
    let t2 = h.start(0);
    assert_ne!(t1, t2);
    h.read(0, t1, "/A").unwrap();
    h.read(0, t2, "/B").unwrap();
    h.write_ok(0, t1, "/B", "1");
    h.write_ok(0, t2, "/A", "2");
    assert_eq!(h.end(0, t1, true).reply, Ok(Reply::Ok));
    assert_eq!(h.end(0, t2, true).reply, Err(XsError::EAGAIN));
    assert_eq!(h.xs.read("/A").unwrap(), b"a");
    assert_eq!(h.xs.read("/B").unwrap(), b"1");
}

#[test]
fn watches_fire_at_commit() {
    let mut h = Harness::new(&[]);
    h.xs.write("/w/old", b"").unwrap();
    h.watch(0, "/w", "t");
    let t = h.start(0);
    assert!(h.write(0, t, "/w/new", "1").events.is_empty());
    assert!(h.write(0, t, "/w/new", "2").events.is_empty());
    assert!(h.call(0, XS_RM, t, &[b"/w/old"]).events.is_empty());
    let a = h.end(0, t, true);
    assert_eq!(a.reply, Ok(Reply::Ok));
    // One event per changed path.
    assert_eq!(a.events(), ev(&[(0, "/w/new", "t"), (0, "/w/old", "t")]));
    // Aborted transactions fire nothing.
    let t = h.start(0);
    h.write_ok(0, t, "/w/x", "");
    assert!(h.end(0, t, false).events.is_empty());
}

#[test]
fn transaction_ids_and_errors() {
    let mut h = Harness::new(&[1]);
    h.xs.mkdir("/local/domain/1").unwrap();
    h.xs.set_perms("/local/domain/1", &[Perm::new(1, Access::None)])
        .unwrap();
    // Unknown id: ENOENT for any request that uses transactions.
    assert_eq!(h.read(1, 42, "/local/domain/1"), Err(XsError::ENOENT));
    assert_eq!(h.write(1, 42, "x", "1").reply, Err(XsError::ENOENT));
    assert_eq!(h.end(1, 42, true).reply, Err(XsError::ENOENT));
    assert_eq!(h.end(1, 0, true).reply, Err(XsError::ENOENT));
    // Transactions belong to their connection.
    let t = h.start(1);
    assert_eq!(h.read(0, t, "/"), Err(XsError::ENOENT));
    // No nesting; a bad end argument is EINVAL and keeps the transaction.
    assert_eq!(
        h.call(1, XS_TRANSACTION_START, t, &[b""]).reply,
        Err(XsError::EBUSY)
    );
    assert_eq!(
        h.call(1, XS_TRANSACTION_END, t, &[b"X"]).reply,
        Err(XsError::EINVAL)
    );
    assert_eq!(
        h.call(1, XS_TRANSACTION_END, t, &[b"T", b""]).reply,
        Err(XsError::EINVAL)
    );
    h.write_ok(1, t, "x", "1");
    assert_eq!(h.end(1, t, true).reply, Ok(Reply::Ok));
    assert_eq!(h.xs.read("/local/domain/1/x").unwrap(), b"1");
    // Permission checks apply inside transactions too.
    let t = h.start(1);
    assert_eq!(h.write(1, t, "/tool/x", "1").reply, Err(XsError::EACCES));
    // Reset drops open transactions; release drops the connection's.
    assert_eq!(h.call(1, XS_RESET_WATCHES, 0, &[b""]).reply, Ok(Reply::Ok));
    assert_eq!(h.read(1, t, "x"), Err(XsError::ENOENT));
}

#[test]
fn transaction_quota() {
    let mut h = Harness::new(&[1]);
    let open: alloc::vec::Vec<u32> = (0..crate::quota::TRANSACTIONS)
        .map(|_| h.start(1))
        .collect();
    assert_eq!(
        h.call(1, XS_TRANSACTION_START, 0, &[b""]).reply,
        Err(XsError::ENOSPC)
    );
    h.end(1, open[0], false);
    h.start(1);
    // Dom0 is not limited.
    for _ in 0..2 * crate::quota::TRANSACTIONS {
        h.start(0);
    }
}
