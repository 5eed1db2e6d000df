//! Permission checks and the rules of `XS_SET_PERMS`.

use xen_abi::xs_wire::*;

use super::Harness;
use crate::client::Reply;
use crate::{Access, Perm, XsError};

/// Domains 1 and 2 with their homes set up as a toolstack does: owned by
/// the domain, no access for others.
fn two_domains() -> Harness {
    let mut h = Harness::new(&[1, 2]);
    for d in [1u16, 2] {
        let home = alloc::format!("/local/domain/{d}");
        h.xs.write(&alloc::format!("{home}/name"), b"guest")
            .unwrap();
        h.xs.set_perms(&home, &[Perm::new(d, Access::None)])
            .unwrap();
        h.xs.set_perms(
            &alloc::format!("{home}/name"),
            &[Perm::new(d, Access::None)],
        )
        .unwrap();
    }
    h
}

#[test]
fn other_domains_are_denied() {
    let mut h = two_domains();
    // Owner and Dom0 read; the other domain may not.
    assert_eq!(h.read(1, 0, "/local/domain/1/name"), Ok(b"guest".to_vec()));
    assert_eq!(h.read(0, 0, "/local/domain/1/name"), Ok(b"guest".to_vec()));
    assert_eq!(h.read(2, 0, "/local/domain/1/name"), Err(XsError::EACCES));
    assert_eq!(h.dir(2, 0, "/local/domain/1"), Err(XsError::EACCES));
    assert_eq!(
        h.write(2, 0, "/local/domain/1/name", "evil").reply,
        Err(XsError::EACCES)
    );
    assert_eq!(
        h.call(2, XS_RM, 0, &[b"/local/domain/1"]).reply,
        Err(XsError::EACCES)
    );
    assert_eq!(
        h.call(2, XS_GET_PERMS, 0, &[b"/local/domain/1/name"]).reply,
        Err(XsError::EACCES)
    );
    // A missing node below an unreadable one is EACCES, not ENOENT: the
    // domain learns nothing about what exists there.
    assert_eq!(h.read(2, 0, "/local/domain/1/secret"), Err(XsError::EACCES));
    assert_eq!(h.read(1, 0, "/local/domain/1/secret"), Err(XsError::ENOENT));
    // Creating nodes needs write access to the nearest existing ancestor.
    assert_eq!(
        h.write(2, 0, "/local/domain/1/x/y", "v").reply,
        Err(XsError::EACCES)
    );
    assert_eq!(h.write(2, 0, "/tool/x", "v").reply, Err(XsError::EACCES));
    assert_eq!(h.read(1, 0, "/tool"), Err(XsError::EACCES));
}

#[test]
fn granted_access() {
    let mut h = two_domains();
    h.xs.set_perms(
        "/local/domain/1/name",
        &[Perm::new(1, Access::None), Perm::new(2, Access::Read)],
    )
    .unwrap();
    assert_eq!(h.read(2, 0, "/local/domain/1/name"), Ok(b"guest".to_vec()));
    assert_eq!(
        h.write(2, 0, "/local/domain/1/name", "x").reply,
        Err(XsError::EACCES)
    );
    // The first matching entry counts; the owner keeps full access.
    h.xs.set_perms(
        "/local/domain/1/name",
        &[
            Perm::new(1, Access::Read),
            Perm::new(2, Access::Write),
            Perm::new(2, Access::Read),
        ],
    )
    .unwrap();
    assert_eq!(h.read(2, 0, "/local/domain/1/name"), Err(XsError::EACCES));
    h.write_ok(2, 0, "/local/domain/1/name", "written by 2");
    h.write_ok(1, 0, "/local/domain/1/name", "mine");
    // Everyone else (domain 3) gets the owner entry's access: read.
    h.xs.introduce(3).unwrap();
    assert_eq!(h.read(3, 0, "/local/domain/1/name"), Ok(b"mine".to_vec()));
}

#[test]
fn new_nodes_inherit_and_are_owned_by_their_creator() {
    let mut h = two_domains();
    h.xs.set_perms(
        "/local/domain/1",
        &[Perm::new(1, Access::None), Perm::new(2, Access::Both)],
    )
    .unwrap();
    h.write_ok(2, 0, "/local/domain/1/shared/ring", "8");
    let a = h.call(0, XS_GET_PERMS, 0, &[b"/local/domain/1/shared/ring"]);
    assert_eq!(
        a.reply,
        Ok(Reply::Perms(alloc::vec![
            Perm::new(2, Access::None),
            Perm::new(2, Access::Both)
        ]))
    );
    // Dom0's nodes keep the inherited owner.
    h.xs.write("/local/domain/1/from-dom0", b"").unwrap();
    assert_eq!(
        h.xs.get_perms("/local/domain/1/from-dom0").unwrap()[0],
        Perm::new(1, Access::None)
    );
}

#[test]
fn set_perms_rules() {
    let mut h = two_domains();
    // The owner may change the access list but not the owner.
    let a = h.set_perms(1, "/local/domain/1/name", &["n1", "r2"]);
    assert_eq!(a.reply, Ok(Reply::Ok));
    let a = h.set_perms(1, "/local/domain/1/name", &["n2"]);
    assert_eq!(a.reply, Err(XsError::EPERM));
    // Write access is not enough: only the owner or Dom0.
    h.xs.set_perms(
        "/local/domain/1/name",
        &[Perm::new(1, Access::None), Perm::new(2, Access::Both)],
    )
    .unwrap();
    let a = h.set_perms(2, "/local/domain/1/name", &["b2"]);
    assert_eq!(a.reply, Err(XsError::EACCES));
    // Dom0 may give the node away.
    assert_eq!(
        h.set_perms(0, "/local/domain/1/name", &["b2"]).reply,
        Ok(Reply::Ok)
    );
    assert_eq!(
        h.set_perms(2, "/local/domain/1/name", &["r2"]).reply,
        Ok(Reply::Ok)
    );
    let a = h.call(2, XS_GET_PERMS, 0, &[b"/local/domain/1/name"]);
    assert_eq!(
        a.reply,
        Ok(Reply::Perms(alloc::vec![Perm::new(2, Access::Read)]))
    );
    // Malformed lists.
    let bad_lists: [&[&str]; 5] = [&[], &["x1"], &["r"], &["r99999"], &["b1", ""]];
    for bad in bad_lists {
        let a = h.set_perms(1, "/local/domain/1", bad);
        assert_eq!(a.reply, Err(XsError::EINVAL), "{bad:?}");
    }
    // Missing node.
    assert_eq!(
        h.set_perms(1, "/local/domain/1/none", &["n1"]).reply,
        Err(XsError::ENOENT)
    );
    // Special nodes accept permissions (Dom0 only, as it owns them).
    assert_eq!(
        h.set_perms(1, "@releaseDomain", &["n1"]).reply,
        Err(XsError::EACCES)
    );
    assert_eq!(
        h.set_perms(0, "@releaseDomain", &["n0", "r1"]).reply,
        Ok(Reply::Ok)
    );
    let a = h.call(1, XS_GET_PERMS, 0, &[b"@releaseDomain"]);
    assert_eq!(
        a.reply,
        Ok(Reply::Perms(alloc::vec![
            Perm::new(0, Access::None),
            Perm::new(1, Access::Read)
        ]))
    );
}

#[test]
fn privileged_requests() {
    let mut h = two_domains();
    for (kind, parts) in [
        (XS_INTRODUCE, &[&b"5"[..], b"0", b"1"][..]),
        (XS_RELEASE, &[&b"2"[..]]),
        (XS_IS_DOMAIN_INTRODUCED, &[&b"2"[..]]),
        (XS_CONTROL, &[&b"print"[..], b"hi"]),
    ] {
        assert_eq!(
            h.call(1, kind, 0, parts).reply,
            Err(XsError::EACCES),
            "kind {kind}"
        );
    }
    assert!(h.xs.is_introduced(2));
    assert!(!h.xs.is_introduced(5));
    let a = h.call(0, XS_IS_DOMAIN_INTRODUCED, 0, &[b"2"]);
    assert_eq!(a.reply, Ok(Reply::Introduced(true)));
    let a = h.call(0, XS_IS_DOMAIN_INTRODUCED, 0, &[b"5"]);
    assert_eq!(a.reply, Ok(Reply::Introduced(false)));
    assert_eq!(
        h.call(0, XS_INTRODUCE, 0, &[b"5", b"0", b"1"]).reply,
        Ok(Reply::Ok)
    );
    assert!(h.xs.is_introduced(5));
    assert_eq!(
        h.call(0, XS_INTRODUCE, 0, &[b"6", b"0", b"0"]).reply,
        Err(XsError::EINVAL)
    );
    assert_eq!(
        h.call(0, XS_INTRODUCE, 0, &[b"0", b"0", b"1"]).reply,
        Err(XsError::EINVAL)
    );
    assert_eq!(
        h.call(0, XS_INTRODUCE, 0, &[b"6", b"0"]).reply,
        Err(XsError::EINVAL)
    );
    assert_eq!(h.call(0, XS_RELEASE, 0, &[b"5"]).reply, Ok(Reply::Ok));
    assert_eq!(
        h.call(0, XS_RELEASE, 0, &[b"5"]).reply,
        Err(XsError::ENOENT)
    );
    assert_eq!(
        h.call(0, XS_RELEASE, 0, &[b"0"]).reply,
        Err(XsError::EINVAL)
    );
    assert_eq!(
        h.call(0, XS_CONTROL, 0, &[b"print", b"hi"]).reply,
        Err(XsError::ENOSYS)
    );
    // A released domain's connection is gone.
    assert_eq!(h.call(5, XS_READ, 0, &[b"/"]).reply, Err(XsError::EACCES));
}
