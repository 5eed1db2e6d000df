//! Watches: what fires, for whom, and in which form.

use xen_abi::xs_wire::*;

use super::{ev, Harness};
use crate::client::Reply;
use crate::{Access, Perm, XsError};

#[test]
fn initial_event_and_subtree() {
    let mut h = Harness::new(&[]);
    let a = h.watch(0, "/a", "tok");
    assert_eq!(a.reply, Ok(Reply::Ok));
    assert_eq!(a.events(), ev(&[(0, "/a", "tok")]));
    // The node itself, descendants (created on the way), not siblings.
    assert_eq!(h.write(0, 0, "/a", "1").events(), ev(&[(0, "/a", "tok")]));
    assert_eq!(
        h.write(0, 0, "/a/b/c", "1").events(),
        ev(&[(0, "/a/b/c", "tok")])
    );
    assert!(h.write(0, 0, "/ab", "1").events.is_empty());
    assert!(h.write(0, 0, "/x/a", "1").events.is_empty());
    // mkdir fires only when it creates.
    assert_eq!(
        h.call(0, XS_MKDIR, 0, &[b"/a/d"]).events(),
        ev(&[(0, "/a/d", "tok")])
    );
    assert!(h.call(0, XS_MKDIR, 0, &[b"/a/d"]).events.is_empty());
    // Permission changes fire.
    let a = h.set_perms(0, "/a/d", &["n0", "r1"]);
    assert_eq!(a.events(), ev(&[(0, "/a/d", "tok")]));
    // A watch on "/" sees everything.
    h.watch(0, "/", "root");
    assert_eq!(
        h.write(0, 0, "/a", "2").events(),
        ev(&[(0, "/a", "tok"), (0, "/a", "root")])
    );
}

#[test]
fn creation_of_watched_path() {
    let mut h = Harness::new(&[]);
    h.watch(0, "/not/yet", "t");
    // Creating an ancestor alone does not touch the watched path.
    assert!(h.write(0, 0, "/not", "").events.is_empty());
    assert_eq!(
        h.write(0, 0, "/not/yet/there", "").events(),
        ev(&[(0, "/not/yet/there", "t")])
    );
}

#[test]
fn removal() {
    let mut h = Harness::new(&[]);
    h.xs.write("/a/b/c", b"").unwrap();
    h.watch(0, "/a", "top");
    h.watch(0, "/a/b/c", "deep");
    h.watch(0, "/a/b/c/gone", "never");
    let a = h.call(0, XS_RM, 0, &[b"/a"]);
    assert_eq!(a.reply, Ok(Reply::Ok));
    // Removed descendants fire their exact watches, deepest first; the
    // removed root fires its own and its ancestors' watches.
    assert_eq!(a.events(), ev(&[(0, "/a/b/c", "deep"), (0, "/a", "top")]));
    // Removing a missing node fires nothing.
    assert!(h.call(0, XS_RM, 0, &[b"/a"]).events.is_empty());
}

#[test]
fn relative_watch_reports_relative_paths() {
    let mut h = Harness::new(&[3]);
    h.xs.write("/local/domain/3/device", b"").unwrap();
    h.xs.set_perms("/local/domain/3", &[Perm::new(3, Access::None)])
        .unwrap();
    h.xs.set_perms("/local/domain/3/device", &[Perm::new(3, Access::None)])
        .unwrap();
    let a = h.watch(3, "device", "fe");
    assert_eq!(a.events(), ev(&[(3, "device", "fe")]));
    let events = h.xs.write("/local/domain/3/device/vif/0", b"x").unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(
        crate::client::parse_watch_event(&events[0].msg),
        Some(("device/vif/0".into(), "fe".into()))
    );
    // Absolute watches on the same node report absolute paths.
    h.watch(3, "/local/domain/3/device", "abs");
    let a = h.write(3, 0, "device/vif", "y");
    assert_eq!(
        a.events(),
        ev(&[
            (3, "device/vif", "fe"),
            (3, "/local/domain/3/device/vif", "abs")
        ])
    );
    // Unwatch takes the same (relative) form.
    assert_eq!(
        h.call(3, XS_UNWATCH, 0, &[b"device", b"fe"]).reply,
        Ok(Reply::Ok)
    );
    assert_eq!(h.write(3, 0, "device/vif", "z").events().len(), 1);
}

#[test]
fn events_need_read_access() {
    let mut h = Harness::new(&[1, 2]);
    h.xs.write("/local/domain/1/open/x", b"").unwrap();
    h.xs.write("/local/domain/1/secret", b"").unwrap();
    h.xs.set_perms("/local/domain/1", &[Perm::new(1, Access::None)])
        .unwrap();
    h.xs.set_perms("/local/domain/1/secret", &[Perm::new(1, Access::None)])
        .unwrap();
    h.xs.set_perms(
        "/local/domain/1/open",
        &[Perm::new(1, Access::None), Perm::new(2, Access::Read)],
    )
    .unwrap();
    h.xs.set_perms("/local/domain/1/open/x", &[Perm::new(1, Access::None)])
        .unwrap();
    // Anyone may watch anything; the initial event always comes.
    assert_eq!(h.watch(2, "/local/domain/1", "w2").events().len(), 1);
    assert_eq!(h.watch(1, "/local/domain/1", "w1").events().len(), 1);
    assert_eq!(h.watch(0, "/local/domain/1", "w0").events().len(), 1);
    // Unreadable node with unreadable parent: only owner and Dom0 hear.
    let a = h.write(1, 0, "secret", "s");
    assert_eq!(
        a.events(),
        ev(&[
            (0, "/local/domain/1/secret", "w0"),
            (1, "/local/domain/1/secret", "w1")
        ])
    );
    // Unreadable node whose parent is readable: domain 2 hears (Xen's
    // watch_permitted() accepts the node or its parent).
    let a = h.write(1, 0, "open/x", "s");
    assert_eq!(a.events().len(), 3);
    // A node made unreadable still notifies under its old permissions.
    h.xs.set_perms(
        "/local/domain/1/secret",
        &[Perm::new(1, Access::None), Perm::new(2, Access::Read)],
    )
    .unwrap();
    let events =
        h.xs.set_perms("/local/domain/1/secret", &[Perm::new(1, Access::None)])
            .unwrap();
    assert!(events.iter().any(|o| o.to == 2));
    // ...but not afterwards.
    let a = h.write(1, 0, "secret", "t");
    assert!(a.events.iter().all(|o| o.to != 2));
    // A removed readable node notifies domain 2 even though nothing it can
    // read remains.
    let a = h.call(1, XS_RM, 0, &[b"open"]);
    assert!(a
        .events()
        .contains(&(2, "/local/domain/1/open".into(), "w2".into())));
}

#[test]
fn special_watches() {
    let mut h = Harness::new(&[1]);
    let a = h.watch(0, "@introduceDomain", "intro");
    assert_eq!(a.events(), ev(&[(0, "@introduceDomain", "intro")]));
    h.watch(0, "@releaseDomain", "rel");
    h.watch(1, "@introduceDomain", "not-allowed");
    h.watch(1, "@releaseDomain", "not-allowed");
    // Only connections that may read the special node hear it: Dom0.
    let events = h.xs.introduce(4).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(
        crate::client::parse_watch_event(&events[0].msg),
        Some(("@introduceDomain".into(), "intro".into()))
    );
    assert_eq!(events[0].to, 0);
    // Reintroduction fires nothing.
    assert!(h.xs.introduce(4).unwrap().is_empty());
    // Granting read on the special node lets domain 1 hear it.
    h.xs.set_perms(
        "@releaseDomain",
        &[Perm::new(0, Access::None), Perm::new(1, Access::Read)],
    )
    .unwrap();
    let events = h.xs.release(4).unwrap();
    let tos: alloc::vec::Vec<u16> = events.iter().map(|o| o.to).collect();
    assert_eq!(tos, [0, 1]);
    assert_eq!(h.xs.release(4), Err(XsError::ENOENT));
    // Unknown special paths can be watched but never fire.
    assert_eq!(h.watch(1, "@whatever", "w").reply, Ok(Reply::Ok));
    // Through the wire, the events follow the OK.
    let a = h.call(0, XS_INTRODUCE, 0, &[b"9", b"0", b"1"]);
    assert_eq!(a.reply, Ok(Reply::Ok));
    assert_eq!(a.events(), ev(&[(0, "@introduceDomain", "intro")]));
}

#[test]
fn release_removes_the_domains_nodes() {
    let mut h = Harness::new(&[5, 6]);
    h.xs.mkdir("/local/domain/5").unwrap();
    h.xs.set_perms("/local/domain/5", &[Perm::new(5, Access::None)])
        .unwrap();
    h.write_ok(5, 0, "data/x", "1");
    // A node owned by 5 elsewhere, and a Dom0 node naming 5.
    h.xs.write("/tool/shared", b"").unwrap();
    h.xs.set_perms("/tool/shared", &[Perm::new(0, Access::Both)])
        .unwrap();
    h.xs.set_perms(
        "/tool",
        &[Perm::new(0, Access::None), Perm::new(5, Access::Both)],
    )
    .unwrap();
    h.write_ok(5, 0, "/tool/by5", "");
    h.watch(5, "data", "mine");
    h.watch(0, "/local/domain", "dom0");
    h.watch(6, "/tool", "six");
    let events = h.xs.release(5).unwrap();
    assert_eq!(h.xs.read("/local/domain/5"), Err(XsError::ENOENT));
    assert_eq!(h.xs.read("/tool/by5"), Err(XsError::ENOENT));
    assert_eq!(h.xs.read("/tool/shared").unwrap(), b"");
    // Its entry in /tool's permissions is forgotten.
    assert_eq!(
        h.xs.get_perms("/tool").unwrap(),
        [Perm::new(0, Access::None)]
    );
    // Its watches went first; Dom0 heard the removal and the release.
    assert!(events.iter().all(|o| o.to != 5));
    let dom0: alloc::vec::Vec<_> = events
        .iter()
        .filter(|o| o.to == 0)
        .filter_map(|o| crate::client::parse_watch_event(&o.msg))
        .map(|(p, _)| p)
        .collect();
    assert!(dom0.contains(&"/local/domain/5".into()));
    // Domain 6 cannot read /tool/by5 (owned by 5, n5) nor /tool (n0).
    assert!(events.iter().all(|o| o.to != 6));
    // A new domain 5 starts from scratch.
    h.xs.introduce(5).unwrap();
    assert_eq!(h.read(5, 0, "data/x"), Err(XsError::EACCES));
}

#[test]
fn watch_bookkeeping() {
    let mut h = Harness::new(&[1]);
    h.watch(1, "/w", "t");
    assert_eq!(h.watch(1, "/w", "t").reply, Err(XsError::EEXIST));
    assert_eq!(h.watch(1, "/w", "u").reply, Ok(Reply::Ok));
    assert_eq!(
        h.call(1, XS_UNWATCH, 0, &[b"/w", b"t"]).reply,
        Ok(Reply::Ok)
    );
    assert_eq!(
        h.call(1, XS_UNWATCH, 0, &[b"/w", b"t"]).reply,
        Err(XsError::ENOENT)
    );
    assert_eq!(h.watch(1, "/bad//path", "t").reply, Err(XsError::EINVAL));
    assert_eq!(h.call(1, XS_WATCH, 0, &[b"/w"]).reply, Err(XsError::EINVAL));
    assert_eq!(
        h.call(1, XS_WATCH, 0, &[b"/w", b"t", b"extra"]).reply,
        Err(XsError::EINVAL)
    );
    // Watches ignore the transaction id, even a bogus one.
    assert_eq!(h.call(1, XS_WATCH, 77, &[b"/v", b"t"]).reply, Ok(Reply::Ok));
    // Reset drops all watches.
    assert_eq!(h.call(1, XS_RESET_WATCHES, 0, &[b""]).reply, Ok(Reply::Ok));
    h.xs.set_perms("/", &[Perm::new(0, Access::Read)]).unwrap();
    assert!(h.xs.write("/w", b"x").unwrap().is_empty());
}
