//! Unit tests of the guest filesystem: paths, permissions, accounting and the documented refusals.

use super::*;
use std::collections::BTreeMap;

use bytes::Bytes;

use super::path::{LINUX_PATH_MAX, WINDOWS_PATH_MAX};
use crate::clock::DEFAULT_MANUAL_START as T0;
use crate::model::fault::{Fault, FileReason};
fn user(name: &str, uid: u32) -> GuestUser {
    GuestUser::plain(name, uid)
}

#[test]
fn a_deferred_tree_is_built_once_on_first_use_and_an_unbuilt_clone_builds_its_own() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let runs = std::sync::Arc::new(AtomicUsize::new(0));
    let counted = runs.clone();
    let mut lazy = LazyFs::deferred(move || {
        counted.fetch_add(1, Ordering::SeqCst);
        linux().0
    });
    let twin = lazy.clone();
    assert!(!lazy.is_built() && !twin.is_built());
    assert_eq!(runs.load(Ordering::SeqCst), 0, "nothing is built up front");
    assert_eq!(lazy.used(), 10, "the first read builds the tree");
    let p = GuestPath::parse(Family::Linux, "/etc/hosts").unwrap();
    lazy.remove_ignoring_permissions(&p);
    assert_eq!(
        (lazy.used(), runs.load(Ordering::SeqCst)),
        (0, 1),
        "built once"
    );
    assert_eq!(
        twin.used(),
        10,
        "the clone builds its own tree, untouched by the first"
    );
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    let built = lazy.clone();
    assert!(
        built.is_built() && built.used() == 0,
        "a built tree is copied"
    );
}

fn linux() -> (GuestFs, GuestUser, GuestUser) {
    let root = user("root", 0);
    let alice = user("alice", 1000);
    let mut fs = GuestFs::new(Family::Linux, 1000, T0);
    let p = |s: &str| GuestPath::parse(Family::Linux, s).unwrap();
    let dir = |mode, owner| Meta {
        mode,
        owner,
        group: owner,
        ..Meta::new_for(&root, T0, 0)
    };
    fs.insert_ignoring_permissions(&p("/etc"), NodeKind::Dir(BTreeMap::new()), dir(0o755, 0))
        .unwrap();
    fs.insert_ignoring_permissions(&p("/root"), NodeKind::Dir(BTreeMap::new()), dir(0o700, 0))
        .unwrap();
    fs.insert_ignoring_permissions(&p("/tmp"), NodeKind::Dir(BTreeMap::new()), dir(0o1777, 0))
        .unwrap();
    fs.insert_ignoring_permissions(
        &p("/etc/hosts"),
        NodeKind::File(Blob::Bytes(Bytes::from_static(b"0123456789"))),
        dir(0o644, 0),
    )
    .unwrap();
    fs.insert_ignoring_permissions(
        &p("/root/secret"),
        NodeKind::File(Blob::empty()),
        dir(0o600, 0),
    )
    .unwrap();
    (fs, root, alice)
}

fn lp(s: &str) -> GuestPath {
    GuestPath::parse(Family::Linux, s).unwrap()
}

#[test]
fn linux_paths_are_absolute_normalised_and_never_climb_above_the_root() {
    let table = [
        ("/a/./b/../c", "/a/c"),
        ("/../../etc", "/etc"),
        ("//x///y/", "/x/y"),
        ("/", "/"),
    ];
    for (raw, shown) in table {
        assert_eq!(lp(raw).display(), shown, "{raw}");
    }
    for bad in ["relative", "", "/a\0b"] {
        assert!(
            matches!(
                GuestPath::parse(Family::Linux, bad),
                Err(Fault::InvalidPath { .. })
            ),
            "{bad:?}"
        );
    }
    let long = format!("/{}", "a".repeat(LINUX_PATH_MAX));
    assert!(matches!(
        GuestPath::parse(Family::Linux, &long),
        Err(Fault::File {
            reason: FileReason::PathTooLong,
            ..
        })
    ));
    let long_name = format!("/{}", "n".repeat(NAME_MAX + 1));
    assert!(matches!(
        GuestPath::parse(Family::Linux, &long_name),
        Err(Fault::File {
            reason: FileReason::PathTooLong,
            ..
        })
    ));
}

#[test]
fn windows_paths_take_either_separator_fold_case_and_refuse_unc_and_relative_forms() {
    let p = GuestPath::parse(Family::Windows, "c:/Users\\Bob/../Temp").unwrap();
    assert_eq!(p.display(), "C:\\Users\\Temp");
    assert_eq!(
        GuestPath::parse(Family::Windows, "C:\\..\\..")
            .unwrap()
            .display(),
        "C:\\"
    );
    let a = GuestPath::parse(Family::Windows, "C:\\TEMP\\x").unwrap();
    let b = GuestPath::parse(Family::Windows, "c:\\temp\\X").unwrap();
    assert_eq!(a.lookup_key(), b.lookup_key());
    for bad in [
        "\\\\server\\share",
        "\\\\?\\C:\\x",
        "C:relative",
        "Temp\\x",
        "C:\\a?b",
        "C:\\a|b",
    ] {
        assert!(GuestPath::parse(Family::Windows, bad).is_err(), "{bad}");
    }
    let long = format!("C:\\{}", "w".repeat(WINDOWS_PATH_MAX));
    assert!(matches!(
        GuestPath::parse(Family::Windows, &long),
        Err(Fault::File {
            reason: FileReason::PathTooLong,
            ..
        })
    ));
}

#[test]
fn posix_permission_bits_decide_for_everyone_but_root() {
    let (mut fs, root, alice) = linux();
    assert!(fs.stat(&lp("/root/secret"), &root).is_ok());
    assert!(
        matches!(
            fs.stat(&lp("/root/secret"), &alice),
            Err(Fault::GuestAccessDenied { .. })
        ),
        "no search permission on /root"
    );
    assert!(
        fs.read(&lp("/etc/hosts"), &alice).is_ok(),
        "644 is readable by others"
    );
    assert!(matches!(
        fs.mkdir(&lp("/etc/new"), &alice, false, T0),
        Err(Fault::GuestAccessDenied { .. })
    ));
    assert!(fs.mkdir(&lp("/etc/new"), &root, false, T0).is_ok());
    let group_reader = GuestUser {
        groups: vec![42],
        ..user("bob", 1001)
    };
    let meta = Meta {
        mode: 0o640,
        owner: 0,
        group: 42,
        ..Meta::new_for(&root, T0, 0)
    };
    fs.insert_ignoring_permissions(&lp("/etc/shadow"), NodeKind::File(Blob::empty()), meta)
        .unwrap();
    assert!(
        fs.read(&lp("/etc/shadow"), &group_reader).is_ok(),
        "group bits apply to members"
    );
    assert!(
        fs.read(&lp("/etc/shadow"), &alice).is_err(),
        "other bits apply to the rest"
    );
}

#[test]
fn the_sticky_bit_keeps_users_from_removing_each_others_entries() {
    let (mut fs, _root, alice) = linux();
    let bob = user("bob", 1001);
    fs.mkdir(&lp("/tmp/alices"), &alice, false, T0).unwrap();
    assert!(matches!(
        fs.rmdir(&lp("/tmp/alices"), &bob, false),
        Err(Fault::GuestAccessDenied { .. })
    ));
    assert!(fs.rmdir(&lp("/tmp/alices"), &alice, false).is_ok());
}

#[test]
fn windows_acls_admit_listed_users_and_administrators_and_read_only_blocks_changes() {
    let admin = GuestUser {
        admin: true,
        ..user("Administrator", 500)
    };
    let bob = user("bob", 1001);
    let eve = user("eve", 1002);
    let mut fs = GuestFs::new(Family::Windows, 1000, T0);
    let wp = |s: &str| GuestPath::parse(Family::Windows, s).unwrap();
    let acl = Meta {
        acl: Some(vec!["bob".into()]),
        ..Meta::new_for(&admin, T0, 0)
    };
    fs.insert_ignoring_permissions(&wp("C:\\Users\\bob"), NodeKind::Dir(BTreeMap::new()), acl)
        .unwrap();
    let ro = Meta {
        read_only: true,
        ..Meta::new_for(&bob, T0, 0)
    };
    fs.insert_ignoring_permissions(
        &wp("C:\\Users\\bob\\ro.txt"),
        NodeKind::File(Blob::empty()),
        ro,
    )
    .unwrap();
    assert!(
        fs.stat(&wp("C:\\USERS\\BOB\\RO.TXT"), &bob).is_ok(),
        "listed, and case-insensitive"
    );
    assert!(
        fs.stat(&wp("C:\\Users\\bob\\ro.txt"), &admin).is_ok(),
        "administrators pass ACLs"
    );
    assert!(matches!(
        fs.stat(&wp("C:\\Users\\bob\\ro.txt"), &eve),
        Err(Fault::GuestAccessDenied { .. })
    ));
    assert!(
        matches!(
            fs.delete_file(&wp("C:\\Users\\bob\\ro.txt"), &admin),
            Err(Fault::GuestAccessDenied { .. })
        ),
        "read-only blocks deletion"
    );
}

#[test]
fn disk_accounting_follows_writes_overwrites_moves_and_deletes() {
    let (mut fs, root, _) = linux();
    assert_eq!((fs.used(), fs.free()), (10, 990));
    let meta = Meta::new_for(&root, T0, 0o644);
    fs.write(
        &lp("/tmp/a"),
        Blob::Bytes(Bytes::from(vec![1; 500])),
        meta.clone(),
    )
    .unwrap();
    fs.write(
        &lp("/tmp/a"),
        Blob::Bytes(Bytes::from(vec![1; 300])),
        meta.clone(),
    )
    .unwrap();
    assert_eq!(fs.used(), 310, "an overwrite releases the old content");
    assert!(matches!(
        fs.write(&lp("/tmp/b"), Blob::Pattern { len: 700 }, meta.clone()),
        Err(Fault::NoSpace { .. })
    ));
    fs.move_file(&lp("/tmp/a"), &lp("/etc/hosts"), &root, true)
        .unwrap();
    assert_eq!(fs.used(), 300, "a move over a file frees the replaced one");
    fs.delete_file(&lp("/etc/hosts"), &root).unwrap();
    assert_eq!(fs.used(), 0);
    assert_eq!(fs.recount(), fs.used());
}

#[test]
fn mkdir_rmdir_and_moves_refuse_what_vcenter_documents() {
    let (mut fs, root, _) = linux();
    assert!(
        matches!(
            fs.mkdir(&lp("/etc"), &root, true, T0),
            Err(Fault::AlreadyExists { .. })
        ),
        "create_parents is no mkdir -p"
    );
    assert!(matches!(
        fs.mkdir(&lp("/x/y"), &root, false, T0),
        Err(Fault::File {
            reason: FileReason::FileNotFound,
            ..
        })
    ));
    assert!(fs.mkdir(&lp("/x/y"), &root, true, T0).is_ok());
    assert!(matches!(
        fs.rmdir(&lp("/x"), &root, false),
        Err(Fault::DirectoryInUse { .. })
    ));
    assert!(matches!(
        fs.move_dir(&lp("/x"), &lp("/x/y/z"), &root),
        Err(Fault::InvalidPath { .. })
    ));
    assert!(matches!(
        fs.move_dir(&lp("/x"), &lp("/etc"), &root),
        Err(Fault::AlreadyExists { .. })
    ));
    assert!(matches!(
        fs.delete_file(&lp("/x"), &root),
        Err(Fault::File {
            reason: FileReason::NotAFile,
            ..
        })
    ));
    assert!(fs.rmdir(&lp("/x"), &root, true).is_ok());
}

#[test]
fn octal_permissions_parse_with_or_without_a_leading_zero_and_render_without() {
    assert_eq!(parse_mode("644"), Some(0o644));
    assert_eq!(parse_mode("0644"), Some(0o644));
    assert_eq!(parse_mode("4755"), Some(0o4755));
    for bad in ["", "8", "12345678", "rw-"] {
        assert_eq!(parse_mode(bad), None, "{bad}");
    }
    assert_eq!(format_mode(0o1777), "1777");
    assert_eq!(format_mode(0o644), "644");
}
