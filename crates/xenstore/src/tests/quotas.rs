//! Per-domain quotas (Xen's defaults) and their errors.

use alloc::format;
use xen_abi::xs_wire::*;

use super::Harness;
use crate::client::Reply;
use crate::quota;
use crate::{Access, Perm, XsError};

/// Domain 1 with a home it owns (one node).
fn domain_one() -> Harness {
    let mut h = Harness::new(&[1]);
    h.xs.mkdir("/local/domain/1").unwrap();
    h.xs.set_perms("/local/domain/1", &[Perm::new(1, Access::None)])
        .unwrap();
    h
}

#[test]
fn node_quota() {
    let mut h = domain_one();
    // The home counts: 999 more nodes fit.
    for i in 1..quota::NODES {
        h.write_ok(1, 0, &format!("n{i}"), "");
    }
    assert_eq!(h.write(1, 0, "one-more", "").reply, Err(XsError::ENOSPC));
    assert_eq!(
        h.call(1, XS_MKDIR, 0, &[b"one-more"]).reply,
        Err(XsError::ENOSPC)
    );
    // Removing frees room; a write that needs two nodes is all or nothing.
    assert_eq!(h.call(1, XS_RM, 0, &[b"n1"]).reply, Ok(Reply::Ok));
    assert_eq!(h.write(1, 0, "deep/er", "").reply, Err(XsError::ENOSPC));
    assert_eq!(h.read(1, 0, "deep"), Err(XsError::ENOENT));
    h.write_ok(1, 0, "deep", "");
    // Dom0 is not limited, even writing into the domain's home.
    h.xs.write("/local/domain/1/by-dom0", b"").unwrap();
    // Updating existing nodes needs no room.
    h.write_ok(1, 0, "deep", "changed");
    // Release gives everything back; a reintroduced domain starts at 0.
    h.xs.release(1).unwrap();
    h.xs.introduce(1).unwrap();
    h.xs.mkdir("/local/domain/1").unwrap();
    h.xs.set_perms("/local/domain/1", &[Perm::new(1, Access::None)])
        .unwrap();
    h.write_ok(1, 0, "fresh", "");
}

#[test]
fn node_quota_in_transactions() {
    let mut h = domain_one();
    for dir in ["a", "b"] {
        h.write_ok(1, 0, dir, "");
    }
    // Two transactions that each fit, but not together (3 + 2 * 500).
    let t1 = h.start(1);
    let t2 = h.start(1);
    for i in 0..500 {
        h.write_ok(1, t1, &format!("a/{i}"), "");
        h.write_ok(1, t2, &format!("b/{i}"), "");
    }
    assert_eq!(h.end(1, t1, true).reply, Ok(Reply::Ok));
    assert_eq!(h.end(1, t2, true).reply, Err(XsError::ENOSPC));
    assert_eq!(h.read(1, 0, "b/0"), Err(XsError::ENOENT));
    // Inside one transaction the limit is checked as nodes are created.
    let t = h.start(1);
    let room = quota::NODES - 503;
    for i in 0..room {
        h.write_ok(1, t, &format!("b/{i}"), "");
    }
    assert_eq!(h.write(1, t, "b/last", "").reply, Err(XsError::ENOSPC));
    assert_eq!(h.end(1, t, true).reply, Ok(Reply::Ok));
}

#[test]
fn transaction_node_quota() {
    let mut h = domain_one();
    let t = h.start(1);
    // Each read touches the missing node (its parent, the home, once).
    let mut reads = 0;
    while h.read(1, t, &format!("r{reads}")) == Err(XsError::ENOENT) {
        reads += 1;
        assert!(reads <= quota::TRANSACTION_NODES);
    }
    assert_eq!(reads, quota::TRANSACTION_NODES - 1);
    assert_eq!(h.read(1, t, "r0"), Err(XsError::ENOSPC));
    // The transaction can still end; Dom0's are not limited.
    assert_eq!(h.end(1, t, true).reply, Ok(Reply::Ok));
    let t = h.start(0);
    for i in 0..quota::TRANSACTION_NODES + 10 {
        assert_eq!(h.read(0, t, &format!("/r{i}")), Err(XsError::ENOENT));
    }
}

#[test]
fn watch_quota() {
    let mut h = domain_one();
    for i in 0..quota::WATCHES {
        assert_eq!(h.watch(1, "/w", &format!("t{i}")).reply, Ok(Reply::Ok));
    }
    assert_eq!(h.watch(1, "/w", "over").reply, Err(XsError::E2BIG));
    assert_eq!(
        h.call(1, XS_UNWATCH, 0, &[b"/w", b"t0"]).reply,
        Ok(Reply::Ok)
    );
    assert_eq!(h.watch(1, "/w", "over").reply, Ok(Reply::Ok));
    for i in 0..2 * quota::WATCHES {
        assert_eq!(h.watch(0, "/w", &format!("t{i}")).reply, Ok(Reply::Ok));
    }
}

#[test]
fn value_size_quota() {
    let mut h = domain_one();
    let fits = "v".repeat(quota::VALUE_SIZE);
    let over = "v".repeat(quota::VALUE_SIZE + 1);
    h.write_ok(1, 0, "big", &fits);
    assert_eq!(h.write(1, 0, "big", &over).reply, Err(XsError::ENOSPC));
    assert_eq!(h.write(1, 0, "new-big", &over).reply, Err(XsError::ENOSPC));
    assert_eq!(h.read(1, 0, "big"), Ok(fits.into_bytes()));
    // Without permission the answer is EACCES, whatever the size.
    assert_eq!(
        h.write(1, 0, "/tool/big", &over).reply,
        Err(XsError::EACCES)
    );
    // Dom0 may write up to what a payload carries.
    h.write_ok(0, 0, "/big", &"v".repeat(4000));
}

#[test]
fn permission_count_quota() {
    let mut h = domain_one();
    let five = ["n1", "r2", "r3", "r4", "r5"];
    assert_eq!(
        h.set_perms(1, "/local/domain/1", &five).reply,
        Ok(Reply::Ok)
    );
    let six = ["n1", "r2", "r3", "r4", "r5", "r6"];
    assert_eq!(
        h.set_perms(1, "/local/domain/1", &six).reply,
        Err(XsError::ENOSPC)
    );
    assert_eq!(h.set_perms(0, "/local/domain/1", &six).reply, Ok(Reply::Ok));
}
