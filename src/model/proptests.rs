//! Property tests: random sequences of guest filesystem operations, transfers, revocations and
//! clock moves keep the model's invariants.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use bytes::Bytes;
use proptest::prelude::*;

use super::fault::Fault;
use super::guest_fs::{
    AttrUpdate, Blob, Family, GuestFs, GuestPath, GuestUser, Meta, NodeKind, PosixAttrs,
};
use super::transfer::{Direction, Redeem, TransferTable};
use crate::clock::DEFAULT_MANUAL_START as T0;

const NAMES: [&str; 5] = ["a", "b", "c", "..", "d"];
const CAPACITY: u64 = 10_000;

#[derive(Debug, Clone)]
enum Step {
    Mkdir(Vec<usize>, bool),
    Write(Vec<usize>, u64),
    DeleteFile(Vec<usize>),
    MoveFile(Vec<usize>, Vec<usize>, bool),
    MoveDir(Vec<usize>, Vec<usize>),
    Rmdir(Vec<usize>, bool),
    Chmod(Vec<usize>, u32),
    Issue(Vec<usize>),
    Redeem(usize),
    Finish(usize, bool),
    Revoke,
    Advance(u64),
}

fn path_idx() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(0..NAMES.len(), 1..4)
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (path_idx(), any::<bool>()).prop_map(|(p, b)| Step::Mkdir(p, b)),
        (path_idx(), 0..3000u64).prop_map(|(p, n)| Step::Write(p, n)),
        path_idx().prop_map(Step::DeleteFile),
        (path_idx(), path_idx(), any::<bool>()).prop_map(|(a, b, o)| Step::MoveFile(a, b, o)),
        (path_idx(), path_idx()).prop_map(|(a, b)| Step::MoveDir(a, b)),
        (path_idx(), any::<bool>()).prop_map(|(p, r)| Step::Rmdir(p, r)),
        (path_idx(), 0..0o1000u32).prop_map(|(p, m)| Step::Chmod(p, m)),
        path_idx().prop_map(Step::Issue),
        (0..8usize).prop_map(Step::Redeem),
        (0..8usize, any::<bool>()).prop_map(|(i, b)| Step::Finish(i, b)),
        Just(Step::Revoke),
        (0..700u64).prop_map(Step::Advance),
    ]
}

fn path(idx: &[usize]) -> GuestPath {
    let raw: String = idx.iter().map(|i| format!("/{}", NAMES[*i])).collect();
    GuestPath::parse(Family::Linux, &raw).expect("names are valid")
}

fn root() -> GuestUser {
    GuestUser {
        name: "root".into(),
        password: "pw".into(),
        uid: 0,
        gid: 0,
        groups: vec![],
        admin: false,
        interactive: false,
        temp_dir: None,
    }
}

fn check_invariants(fs: &GuestFs) -> Result<(), TestCaseError> {
    prop_assert_eq!(fs.used(), fs.recount(), "sizes add up");
    prop_assert!(fs.used() <= fs.capacity(), "free space never goes negative");
    for (p, _) in fs.walk() {
        let shown = p.display();
        prop_assert!(shown.starts_with('/'), "inside the guest: {}", shown);
        prop_assert_eq!(
            GuestPath::parse(Family::Linux, &shown).ok(),
            Some(p.clone()),
            "no path escapes: {}",
            shown
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, .. ProptestConfig::default() })]

    #[test]
    fn random_operations_keep_the_model_consistent(steps in prop::collection::vec(step(), 1..60)) {
        let user = root();
        let mut now = T0;
        let mut fs = GuestFs::new(Family::Linux, CAPACITY, now);
        let mut table = TransferTable::new(16, 16);
        let mut ids: Vec<u64> = Vec::new();
        let mut redeemed: BTreeMap<u64, usize> = BTreeMap::new();
        let mut dead: BTreeSet<u64> = BTreeSet::new();
        for s in steps {
            match s {
                Step::Mkdir(p, parents) => { let _ = fs.mkdir(&path(&p), &user, parents, now); }
                Step::Write(p, n) => {
                    let target = path(&p);
                    if fs.check_upload(&target, &user, n, true).is_ok() {
                        let blob = Blob::Bytes(Bytes::from(vec![b'x'; n as usize]));
                        let result = fs.write(&target, blob, Meta::new_for(&user, now, 0o644));
                        let acceptable = result.is_ok() || matches!(result, Err(Fault::NoSpace { .. }));
                        prop_assert!(acceptable, "a checked write lands or finds no space");
                    }
                }
                Step::DeleteFile(p) => { let _ = fs.delete_file(&path(&p), &user); }
                Step::MoveFile(a, b, o) => { let _ = fs.move_file(&path(&a), &path(&b), &user, o); }
                Step::MoveDir(a, b) => { let _ = fs.move_dir(&path(&a), &path(&b), &user); }
                Step::Rmdir(p, r) => { let _ = fs.rmdir(&path(&p), &user, r); }
                Step::Chmod(p, m) => {
                    let attrs = AttrUpdate { posix: Some(PosixAttrs { mode: Some(m), ..PosixAttrs::default() }), ..AttrUpdate::default() };
                    let _ = fs.update(&path(&p), &user, &attrs);
                }
                Step::Issue(p) => {
                    let id = table.issue(format!("t{}", ids.len()), "vm", path(&p), "root", Direction::Download, now);
                    ids.push(id);
                }
                Step::Redeem(i) => {
                    if let Some(&id) = ids.get(i) {
                        let token = format!("t{i}");
                        if table.begin(id, &token, Redeem::Get, now).is_ok() {
                            prop_assert!(!dead.contains(&id), "a revoked or expired token is never redeemed");
                            let n = redeemed.entry(id).or_default();
                            *n += 1;
                            prop_assert!(*n <= 1, "a download token is redeemed at most once");
                        }
                    }
                }
                Step::Finish(i, ok) => { if let Some(&id) = ids.get(i) { table.finish(id, ok, now); } }
                Step::Revoke => {
                    table.revoke_vm("vm", "powered off", now);
                    dead.extend(ids.iter().copied().filter(|id| !redeemed.contains_key(id)));
                }
                Step::Advance(secs) => {
                    now += Duration::from_secs(secs);
                    // Everything issued 600 s or more ago is dead from now on.
                    for t in table.all() {
                        if now >= t.expires && !redeemed.contains_key(&t.id) {
                            dead.insert(t.id);
                        }
                    }
                }
            }
            check_invariants(&fs)?;
        }
    }
}

#[test]
fn dot_dot_in_generated_paths_stays_inside_the_root() {
    let p = path(&[3, 3, 0]);
    assert_eq!(p.display(), "/a");
    let mut fs = GuestFs::new(Family::Linux, CAPACITY, T0);
    fs.insert(
        &p,
        NodeKind::Dir(Default::default()),
        Meta::new_for(&root(), T0, 0o755),
    )
    .unwrap();
    assert!(fs.stat_unchecked(&p).is_some());
}
