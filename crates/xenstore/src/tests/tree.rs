//! Reading and changing the tree: CRUD, relative paths, path syntax, the
//! toolstack conveniences and `ls`.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use xen_abi::xs_wire::*;

use super::Harness;
use crate::client::Reply;
use crate::{Access, Perm, XenStore, XsError};

#[test]
fn initial_tree() {
    let xs = XenStore::new();
    assert_eq!(xs.directory("/").unwrap(), ["local", "tool"]);
    assert_eq!(xs.directory("/local").unwrap(), ["domain"]);
    assert!(xs.directory("/local/domain").unwrap().is_empty());
    for p in [
        "/",
        "/local",
        "/local/domain",
        "/tool",
        "@introduceDomain",
        "@releaseDomain",
    ] {
        assert_eq!(
            xs.get_perms(p).unwrap(),
            [Perm::new(0, Access::None)],
            "{p}"
        );
    }
    assert!(xs.is_introduced(0));
    assert!(!xs.is_introduced(1));
}

#[test]
fn crud() {
    let mut h = Harness::new(&[]);
    h.write_ok(0, 0, "/a/b/c", "hello");
    assert_eq!(h.read(0, 0, "/a/b/c"), Ok(b"hello".to_vec()));
    // Missing parents were created, empty.
    assert_eq!(h.read(0, 0, "/a/b"), Ok(Vec::new()));
    assert_eq!(h.dir(0, 0, "/a"), Ok(vec![String::from("b")]));
    // Overwrite; binary values with NULs are kept as they are.
    h.write_ok(0, 0, "/a/b/c", "x\0y");
    assert_eq!(h.read(0, 0, "/a/b/c"), Ok(b"x\0y".to_vec()));
    // Children are listed in creation order.
    h.write_ok(0, 0, "/a/b/a", "");
    h.write_ok(0, 0, "/a/b/z", "");
    assert_eq!(h.dir(0, 0, "/a/b").unwrap(), ["c", "a", "z"]);

    // mkdir keeps an existing value and creates missing ones.
    assert_eq!(h.call(0, XS_MKDIR, 0, &[b"/a/b/c"]).reply, Ok(Reply::Ok));
    assert_eq!(h.read(0, 0, "/a/b/c"), Ok(b"x\0y".to_vec()));
    assert_eq!(h.call(0, XS_MKDIR, 0, &[b"/m/n"]).reply, Ok(Reply::Ok));
    assert_eq!(h.read(0, 0, "/m/n"), Ok(Vec::new()));

    // rm is recursive and unlinks from the parent.
    assert_eq!(h.call(0, XS_RM, 0, &[b"/a/b"]).reply, Ok(Reply::Ok));
    assert_eq!(h.read(0, 0, "/a/b/c"), Err(XsError::ENOENT));
    assert_eq!(h.read(0, 0, "/a/b"), Err(XsError::ENOENT));
    assert!(h.dir(0, 0, "/a").unwrap().is_empty());
    // Removing a missing node whose parent exists is fine; else ENOENT.
    assert_eq!(h.call(0, XS_RM, 0, &[b"/a/b"]).reply, Ok(Reply::Ok));
    assert_eq!(
        h.call(0, XS_RM, 0, &[b"/a/b/c"]).reply,
        Err(XsError::ENOENT)
    );
    // The root stays.
    assert_eq!(h.call(0, XS_RM, 0, &[b"/"]).reply, Err(XsError::EINVAL));
    assert_eq!(h.read(0, 0, "/nothing"), Err(XsError::ENOENT));
    assert_eq!(h.dir(0, 0, "/nothing"), Err(XsError::ENOENT));
}

#[test]
fn relative_paths() {
    let mut h = Harness::new(&[3]);
    h.xs.mkdir("/local/domain/3").unwrap();
    h.xs.set_perms("/local/domain/3", &[Perm::new(3, Access::None)])
        .unwrap();
    h.write_ok(3, 0, "device/vif/0/state", "1");
    assert_eq!(
        h.xs.read("/local/domain/3/device/vif/0/state").unwrap(),
        b"1"
    );
    assert_eq!(h.read(3, 0, "device/vif/0/state"), Ok(b"1".to_vec()));
    // Dom0's relative paths live in /local/domain/0.
    h.write_ok(0, 0, "name", "Domain-0");
    assert_eq!(h.xs.read("/local/domain/0/name").unwrap(), b"Domain-0");
    assert_eq!(h.xs.read("name").unwrap(), b"Domain-0");
    let a = h.call(3, XS_GET_DOMAIN_PATH, 0, &[b"3"]);
    assert_eq!(
        a.reply,
        Ok(Reply::DomainPath(String::from("/local/domain/3")))
    );
    let a = h.call(3, XS_GET_DOMAIN_PATH, 0, &[b"x"]);
    assert_eq!(a.reply, Err(XsError::EINVAL));
}

#[test]
fn path_syntax() {
    let mut h = Harness::new(&[]);
    for bad in ["", "/a//b", "/a/", "/a b", "/a.b", "@releaseDomain", "/é"] {
        assert_eq!(
            h.write(0, 0, bad, "v").reply,
            Err(XsError::EINVAL),
            "{bad:?}"
        );
        assert_eq!(h.read(0, 0, bad), Err(XsError::EINVAL), "{bad:?}");
    }
    assert_eq!(
        h.call(0, XS_MKDIR, 0, &[b"@introduceDomain"]).reply,
        Err(XsError::EINVAL)
    );
    assert_eq!(
        h.call(0, XS_RM, 0, &[b"@introduceDomain"]).reply,
        Err(XsError::EINVAL)
    );
    assert_eq!(h.dir(0, 0, "@introduceDomain"), Err(XsError::EINVAL));
    let long = alloc::format!("/{}", "x".repeat(3071));
    h.write_ok(0, 0, &long, "v");
    let too_long = alloc::format!("/{}", "x".repeat(3072));
    assert_eq!(h.write(0, 0, &too_long, "v").reply, Err(XsError::EINVAL));
    // Characters Xen allows, including '@' inside a path.
    h.write_ok(0, 0, "/A-z_0/9@x", "v");
}

#[test]
fn large_directory_reply() {
    let mut h = Harness::new(&[]);
    // 60 names of 100 bytes: 6060 bytes, more than one payload.
    for i in 0..60 {
        let name = alloc::format!("/big/{i:02}{}", "n".repeat(98));
        h.xs.write(&name, b"").unwrap();
    }
    assert_eq!(h.dir(0, 0, "/big"), Err(XsError::E2BIG));
    // XS_DIRECTORY_PART pages through it.
    let mut names = Vec::new();
    let mut offset = 0usize;
    let mut generation = None;
    loop {
        let off = alloc::format!("{offset}");
        let a = h.call(0, XS_DIRECTORY_PART, 0, &[b"/big", off.as_bytes()]);
        let Ok(Reply::DirectoryPart {
            generation: g,
            children,
            complete,
        }) = a.reply
        else {
            panic!("{:?}", a.reply);
        };
        assert_eq!(*generation.get_or_insert(g), g);
        offset += children.iter().map(|c| c.len() + 1).sum::<usize>();
        names.extend(children);
        if complete {
            break;
        }
    }
    assert_eq!(names, h.xs.directory("/big").unwrap());
    assert_eq!(names.len(), 60);
    // Beyond the end: just the generation.
    let a = h.call(0, XS_DIRECTORY_PART, 0, &[b"/big", b"100000"]);
    assert!(
        matches!(a.reply, Ok(Reply::DirectoryPart { ref children, complete: true, .. }) if children.is_empty())
    );
}

#[test]
fn toolstack_conveniences() {
    let mut xs = XenStore::new();
    assert!(xs.write("/vm/1/name", b"guest").unwrap().is_empty());
    assert_eq!(xs.read("/vm/1/name").unwrap(), b"guest");
    xs.mkdir("/vm/1/device").unwrap();
    assert_eq!(xs.directory("/vm/1").unwrap(), ["name", "device"]);
    let perms = [Perm::new(1, Access::None), Perm::new(2, Access::Read)];
    xs.set_perms("/vm/1", &perms).unwrap();
    assert_eq!(xs.get_perms("/vm/1").unwrap(), perms);
    assert_eq!(xs.set_perms("/vm/1", &[]), Err(XsError::EINVAL));
    xs.rm("/vm").unwrap();
    assert_eq!(xs.read("/vm/1/name"), Err(XsError::ENOENT));
    assert_eq!(xs.rm("/"), Err(XsError::EINVAL));
    assert_eq!(xs.read("/bad//path"), Err(XsError::EINVAL));
    assert_eq!(xs.write("@releaseDomain", b""), Err(XsError::EINVAL));
    xs.set_perms("@releaseDomain", &[Perm::new(0, Access::Read)])
        .unwrap();
    assert_eq!(
        xs.get_perms("@releaseDomain").unwrap(),
        [Perm::new(0, Access::Read)]
    );
}

#[test]
fn ls_output() {
    let mut xs = XenStore::new();
    xs.write("/local/domain/1/name", b"guest").unwrap();
    xs.write("/local/domain/1/memory/target", b"262144")
        .unwrap();
    xs.write("/local/domain/1/odd", b"a\\b\n\x01\xff").unwrap();
    assert_eq!(
        xs.ls("/local").unwrap(),
        "domain = \"\"\n 1 = \"\"\n  name = \"guest\"\n  memory = \"\"\n   target = \"262144\"\n  odd = \"a\\\\b\\n\\001\\xff\"\n"
    );
    assert_eq!(
        xs.ls("/local/domain/1/memory").unwrap(),
        "target = \"262144\"\n"
    );
    assert!(xs
        .ls("/")
        .unwrap()
        .starts_with("local = \"\"\n domain = \"\"\n"));
    assert!(xs.ls("/").unwrap().ends_with("tool = \"\"\n"));
    assert_eq!(xs.ls("/nothing"), Err(XsError::ENOENT));
}
