//! Property tests: random sequences of guest filesystem operations, transfers, power changes and
//! clock moves keep the model's invariants. Sizes add up, free space never goes negative, a
//! failed operation changes nothing, no path escapes its guest, and a transfer token is redeemed
//! at most once and never after it was revoked or expired.

use std::collections::BTreeSet;
use std::time::Duration;

use bytes::Bytes;
use proptest::prelude::*;
use time::OffsetDateTime;

use super::fault::Fault;
use super::guest_fs::{
    AttrUpdate, Blob, Family, FileType, GuestFs, GuestPath, GuestUser, Meta, NodeKind, PosixAttrs,
    WindowsAttrs,
};
use super::inventory::VcUser;
use super::transfer::{Direction, Redeem, Transfer, TransferTable, UploadSpec};
use super::{Credentials, GuestAuth, Limits, PowerOp, PowerState, TransferRequest, Vcenter};
use crate::clock::DEFAULT_MANUAL_START as T0;
use crate::ids::IdGen;

/// A small disk, so that uploads and writes often run out of room.
const CAPACITY: u64 = 10_000;

// ------------------------------------------------------------------------------------ paths

/// Names paths are made of: `..` and `.` to try to climb out, and on Windows two spellings of
/// one name (the guest compares names case-insensitively).
const LINUX_NAMES: [&str; 6] = ["a", "b", "c", "..", ".", "d"];
const WINDOWS_NAMES: [&str; 6] = ["a", "A", "b", "..", ".", "c"];

/// A path as a client might spell it: names below the root, and on Windows a drive and a
/// separator style.
#[derive(Debug, Clone)]
struct RawPath {
    names: Vec<usize>,
    drive: usize,
    slash: bool,
}

fn raw_path() -> impl Strategy<Value = RawPath> {
    (
        prop::collection::vec(0..LINUX_NAMES.len(), 1..4),
        prop::sample::select(vec![0usize, 0, 0, 1, 2]),
        any::<bool>(),
    )
        .prop_map(|(names, drive, slash)| RawPath {
            names,
            drive,
            slash,
        })
}

/// Shorter paths over fewer names, so that transfers often find their files and parents.
fn short_path() -> impl Strategy<Value = RawPath> {
    (
        prop::collection::vec(prop::sample::select(vec![0usize, 0, 1, 3]), 1..3),
        any::<bool>(),
    )
        .prop_map(|(names, slash)| RawPath {
            names,
            drive: 0,
            slash,
        })
}

impl RawPath {
    fn render(&self, family: Family) -> String {
        match family {
            Family::Linux => self
                .names
                .iter()
                .map(|i| format!("/{}", LINUX_NAMES[*i]))
                .collect(),
            Family::Windows => {
                let sep = if self.slash { "/" } else { "\\" };
                let drive = ["C:", "c:", "D:"][self.drive];
                let names: Vec<&str> = self.names.iter().map(|i| WINDOWS_NAMES[*i]).collect();
                format!("{drive}{sep}{}", names.join(sep))
            }
        }
    }

    fn parse(&self, family: Family) -> GuestPath {
        GuestPath::parse(family, &self.render(family)).expect("generated paths are valid")
    }
}

// ------------------------------------------------------------------------------------ guests

fn linux_users() -> [GuestUser; 2] {
    let user = |name: &str, uid| GuestUser {
        password: format!("{name}pw"),
        ..GuestUser::plain(name, uid)
    };
    [user("root", 0), user("alice", 1000)]
}

fn windows_users() -> [GuestUser; 2] {
    let user = |name: &str, uid, admin| GuestUser {
        password: format!("{name}pw"),
        admin,
        ..GuestUser::plain(name, uid)
    };
    [user("Administrator", 500, true), user("bob", 1000, false)]
}

/// What a guest tree looks like, for "a failed operation changes nothing".
fn fingerprint(fs: &GuestFs) -> Vec<(String, FileType, u64, Meta)> {
    fs.walk()
        .into_iter()
        .map(|(p, n)| {
            (
                p.display(),
                n.file_type(),
                n.size(fs.family()),
                n.meta.clone(),
            )
        })
        .collect()
}

/// Sizes add up, the disk never holds more than its capacity, and every path in the tree lies
/// inside the guest, is unique as the guest compares names, and parses back to itself.
fn check_fs(fs: &GuestFs) -> Result<(), TestCaseError> {
    prop_assert_eq!(fs.used(), fs.recount(), "sizes add up");
    prop_assert!(
        fs.used() <= fs.capacity(),
        "free space never goes negative: used {} of {}",
        fs.used(),
        fs.capacity()
    );
    prop_assert_eq!(fs.free(), fs.capacity() - fs.used());
    let mut keys = BTreeSet::new();
    for (p, _) in fs.walk() {
        let shown = p.display();
        match fs.family() {
            Family::Linux => prop_assert!(shown.starts_with('/'), "under /: {}", shown),
            Family::Windows => {
                let b = shown.as_bytes();
                prop_assert!(
                    b.len() >= 3 && b[0].is_ascii_uppercase() && b[1] == b':' && b[2] == b'\\',
                    "under a drive: {}",
                    shown
                );
            }
        }
        prop_assert_eq!(
            GuestPath::parse(fs.family(), &shown).ok(),
            Some(p.clone()),
            "no path escapes or changes meaning: {}",
            shown
        );
        prop_assert!(keys.insert(p.lookup_key()), "no duplicate entry: {}", shown);
    }
    Ok(())
}

// ------------------------------------------------------------------------------------ the guest filesystem alone

#[derive(Debug, Clone)]
enum FsStep {
    Mkdir(RawPath, bool),
    CreateTemporary(Option<RawPath>, bool),
    /// An upload landing: `check_upload` then `write`, as a commit does.
    Write(RawPath, u64, bool),
    /// The fixture and admin path: a file, a directory or a link, without checks.
    Insert(RawPath, u8, u64),
    DeleteFile(RawPath),
    MoveFile(RawPath, RawPath, bool),
    MoveDir(RawPath, RawPath),
    Rmdir(RawPath, bool),
    Update(RawPath, u32),
    Remove(RawPath),
    Read(RawPath),
}

fn fs_step() -> impl Strategy<Value = FsStep> {
    prop_oneof![
        (raw_path(), any::<bool>()).prop_map(|(p, b)| FsStep::Mkdir(p, b)),
        (prop::option::of(raw_path()), any::<bool>())
            .prop_map(|(p, d)| FsStep::CreateTemporary(p, d)),
        (raw_path(), 0..4000u64, any::<bool>()).prop_map(|(p, n, o)| FsStep::Write(p, n, o)),
        (raw_path(), 0..3u8, 0..4000u64).prop_map(|(p, k, n)| FsStep::Insert(p, k, n)),
        raw_path().prop_map(FsStep::DeleteFile),
        (raw_path(), raw_path(), any::<bool>()).prop_map(|(a, b, o)| FsStep::MoveFile(a, b, o)),
        (raw_path(), raw_path()).prop_map(|(a, b)| FsStep::MoveDir(a, b)),
        (raw_path(), any::<bool>()).prop_map(|(p, r)| FsStep::Rmdir(p, r)),
        (raw_path(), 0..0o1000u32).prop_map(|(p, m)| FsStep::Update(p, m)),
        raw_path().prop_map(FsStep::Remove),
        raw_path().prop_map(FsStep::Read),
    ]
}

/// Runs one step; `Ok(true)` when it changed the tree, `Ok(false)` when it was refused (and so
/// must have changed nothing).
fn run_fs_step(
    fs: &mut GuestFs,
    step: &FsStep,
    user: &GuestUser,
    names: &mut u32,
    now: OffsetDateTime,
) -> Result<bool, TestCaseError> {
    let fam = fs.family();
    let done = |r: Result<(), Fault>| r.is_ok();
    Ok(match step {
        FsStep::Mkdir(p, parents) => done(fs.mkdir(&p.parse(fam), user, *parents, now)),
        FsStep::CreateTemporary(parent, dir) => {
            let default = match fam {
                Family::Linux => GuestPath::parse(fam, "/").expect("root"),
                Family::Windows => GuestPath::parse(fam, "C:\\").expect("drive"),
            };
            let parent = parent.as_ref().map(|p| p.parse(fam));
            // Every other candidate name collides with the previous one, to exercise retries.
            let mut random = || {
                *names += 1;
                format!("t{}", *names / 2)
            };
            let r = fs.create_temporary(
                user,
                parent.as_ref(),
                &default,
                "tmp",
                "",
                *dir,
                &mut random,
                now,
            );
            if let Ok(created) = &r {
                let info = fs.stat_ignoring_permissions(created);
                prop_assert!(info.is_some(), "the temporary entry exists");
            }
            r.is_ok()
        }
        FsStep::Write(p, n, overwrite) => {
            let target = p.parse(fam);
            if fs
                .check_upload(&target, user, *n, *overwrite, None)
                .is_err()
            {
                return Ok(false);
            }
            let blob = Blob::Bytes(Bytes::from(vec![b'x'; *n as usize]));
            let r = fs.write(&target, blob, Meta::new_for(user, now, 0o644));
            prop_assert!(r.is_ok(), "a checked write lands: {:?}", r);
            let real = fs.real_path_ignoring_permissions(&target);
            let read = fs.read_ignoring_permissions(&real).map(|b| b.len());
            prop_assert_eq!(read, Some(*n), "the written file reads back");
            true
        }
        FsStep::Insert(p, kind, n) => {
            let target = p.parse(fam);
            if target.is_root() {
                return Ok(done(fs.insert_ignoring_permissions(
                    &target,
                    NodeKind::Dir(Default::default()),
                    Meta::new_for(user, now, 0o755),
                )));
            }
            let kind = match kind {
                // Inserts bypass every check; like the admin API, only fill what fits.
                0 if *n <= fs.free() => {
                    NodeKind::File(Blob::Bytes(Bytes::from(vec![b'i'; *n as usize])))
                }
                0 | 1 => NodeKind::Dir(Default::default()),
                _ => NodeKind::Symlink(p.render(fam)),
            };
            done(fs.insert_ignoring_permissions(&target, kind, Meta::new_for(user, now, 0o777)))
        }
        FsStep::DeleteFile(p) => done(fs.delete_file(&p.parse(fam), user)),
        FsStep::MoveFile(a, b, o) => done(fs.move_file(&a.parse(fam), &b.parse(fam), user, *o)),
        FsStep::MoveDir(a, b) => done(fs.move_dir(&a.parse(fam), &b.parse(fam), user)),
        FsStep::Rmdir(p, r) => done(fs.rmdir(&p.parse(fam), user, *r)),
        FsStep::Update(p, m) => {
            let attrs = match fam {
                Family::Linux => AttrUpdate {
                    posix: Some(PosixAttrs {
                        mode: Some(*m),
                        ..PosixAttrs::default()
                    }),
                    ..AttrUpdate::default()
                },
                Family::Windows => AttrUpdate {
                    windows: Some(WindowsAttrs {
                        hidden: Some(m & 1 == 1),
                        read_only: Some(m & 2 == 2),
                    }),
                    ..AttrUpdate::default()
                },
            };
            done(fs.update(&p.parse(fam), user, &attrs))
        }
        FsStep::Remove(p) => fs.remove_ignoring_permissions(&p.parse(fam)),
        FsStep::Read(p) => {
            let path = p.parse(fam);
            let _ = fs.read(&path, user);
            let _ = fs.stat(&path, user);
            let _ = fs.list(&path, user, 0, 100, false, &|_| true);
            false
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn random_filesystem_operations_keep_sizes_paths_and_refusals_consistent(
        windows in any::<bool>(),
        steps in prop::collection::vec((fs_step(), any::<bool>()), 1..60),
    ) {
        let (family, users) = if windows {
            (Family::Windows, windows_users())
        } else {
            (Family::Linux, linux_users())
        };
        let mut fs = GuestFs::new(family, CAPACITY, T0);
        let mut names = 0;
        let mut now = T0;
        for (step, privileged) in &steps {
            now += Duration::from_secs(1);
            let user = if *privileged { &users[0] } else { &users[1] };
            let before = fingerprint(&fs);
            let changed = run_fs_step(&mut fs, step, user, &mut names, now)?;
            if !changed {
                prop_assert_eq!(&fingerprint(&fs), &before, "a refused {:?} changed nothing", step);
            }
            check_fs(&fs)?;
        }
    }
}

// ------------------------------------------------------------------------------------ the whole vCenter

const VMS: [&str; 2] = ["vm-l", "vm-w"];

fn family_of(vm: usize) -> Family {
    if vm == 0 {
        Family::Linux
    } else {
        Family::Windows
    }
}

/// A running guest of `family` with a small disk, `users` (name, uid; the password is the name
/// followed by `pw`; uid 0 and Windows' Administrator are superusers), its temporary directory
/// and a file `a` holding `hello`, built from model parts alone.
pub(super) fn guest(id: &str, family: Family, users: &[(&str, u32)]) -> super::VirtualMachine {
    use super::vm::{GuestIdentity, Tools, VirtualMachine, user_key};
    let mut fs = GuestFs::new(family, CAPACITY, T0);
    let (temp, file) = match family {
        Family::Linux => ("/tmp", "/a"),
        Family::Windows => ("C:\\Temp", "C:\\a"),
    };
    let dir = Meta {
        mode: 0o1777,
        ..Meta::new_for(&GuestUser::default(), T0, 0o755)
    };
    fs.insert_ignoring_permissions(
        &GuestPath::parse(family, temp).unwrap(),
        NodeKind::Dir(Default::default()),
        dir,
    )
    .unwrap();
    fs.insert_ignoring_permissions(
        &GuestPath::parse(family, file).unwrap(),
        NodeKind::File(Blob::Bytes(Bytes::from_static(b"hello"))),
        Meta::new_for(&GuestUser::default(), T0, 0o644),
    )
    .unwrap();
    let users = users
        .iter()
        .map(|&(name, uid)| {
            let user = GuestUser {
                password: format!("{name}pw"),
                admin: family == Family::Windows && name == "Administrator",
                ..GuestUser::plain(name, uid)
            };
            (user_key(family, name).into_owned(), user)
        })
        .collect();
    let mut vm = VirtualMachine {
        id: id.into(),
        name: id.into(),
        power: PowerState::PoweredOn,
        clean_power_off: true,
        cpu_count: 2,
        memory_mib: 4096,
        host: "host-1".into(),
        tools: Tools {
            installed: true,
            starts_with_guest: true,
            running: false,
            version_number: 12352,
            version: "12.3.5".into(),
            version_status: "UNMANAGED".into(),
            install_type: "OPEN_VM_TOOLS".into(),
            upgrade_policy: "MANUAL".into(),
            guest_ops_enabled: true,
        },
        identity: GuestIdentity {
            guest_os: "OTHER_64".into(),
            full_name: "a test guest".into(),
            host_name: id.into(),
            ip_address: None,
        },
        users,
        saml_tokens: Default::default(),
        fs: fs.into(),
        busy: false,
        runtime: crate::model::process::GuestRuntime::new(family, T0),
    };
    vm.set_power(PowerState::PoweredOn, true, T0);
    vm
}

/// Two running guests, one of each family, with small disks, and an administrator.
pub(super) fn vcenter(max_live_transfers: usize) -> Vcenter {
    let vms = vec![
        guest(VMS[0], Family::Linux, &[("root", 0), ("alice", 1000)]),
        guest(
            VMS[1],
            Family::Windows,
            &[("Administrator", 0), ("bob", 1000)],
        ),
    ];
    let limits = Limits {
        max_live_transfers,
        transfer_history: 8,
        ..Limits::default()
    };
    Vcenter::new(vms, vec![admin()], limits)
}

pub(super) fn admin() -> VcUser {
    VcUser {
        login: "admin".into(),
        password: "pw".into(),
        display: "ADMIN".into(),
        role: "Admin".into(),
        privileges: ["*".to_owned()].into(),
    }
}

pub(super) fn guest_creds(vm: usize, privileged: bool, right_password: bool) -> Credentials {
    let user = match (vm, privileged) {
        (0, true) => "root",
        (0, false) => "alice",
        (_, true) => "Administrator",
        (_, false) => "bob",
    };
    let password = if right_password {
        format!("{user}pw")
    } else {
        "wrong".into()
    };
    Credentials {
        auth: GuestAuth::Password {
            user: user.into(),
            password,
        },
        interactive: false,
    }
}

#[derive(Debug, Clone)]
enum GuestCall {
    Mkdir(RawPath, bool),
    CreateTemporary(bool),
    DeleteFile(RawPath),
    MoveFile(RawPath, RawPath, bool),
    MoveDir(RawPath, RawPath),
    Rmdir(RawPath, bool),
}

#[derive(Debug, Clone)]
enum VcStep {
    Guest(usize, GuestCall, bool, bool),
    Download(usize, RawPath),
    Upload(usize, RawPath, u64, bool),
    /// Redeems the n-th transfer issued so far, with its token or a wrong one.
    Begin(usize, bool),
    /// Lands the n-th transfer's upload (or ends its download).
    Commit(usize),
    /// The n-th transfer's request fails (client gone).
    Abort(usize),
    Power(usize, PowerOp),
    SetPower(usize, PowerState),
    Migrate(usize),
    Advance(u64),
}

fn vc_step() -> impl Strategy<Value = VcStep> {
    let vm = 0..VMS.len();
    let call = prop_oneof![
        (short_path(), any::<bool>()).prop_map(|(p, b)| GuestCall::Mkdir(p, b)),
        any::<bool>().prop_map(GuestCall::CreateTemporary),
        short_path().prop_map(GuestCall::DeleteFile),
        (short_path(), short_path(), any::<bool>())
            .prop_map(|(a, b, o)| GuestCall::MoveFile(a, b, o)),
        (short_path(), short_path()).prop_map(|(a, b)| GuestCall::MoveDir(a, b)),
        (short_path(), any::<bool>()).prop_map(|(p, r)| GuestCall::Rmdir(p, r)),
    ];
    // Weighted towards running guests: a reset revokes and keeps the guest usable.
    let op = prop::sample::select(vec![
        PowerOp::Start,
        PowerOp::Start,
        PowerOp::Start,
        PowerOp::Stop,
        PowerOp::Suspend,
        PowerOp::Reset,
        PowerOp::Reset,
    ]);
    let state = prop::sample::select(vec![
        PowerState::PoweredOn,
        PowerState::PoweredOn,
        PowerState::PoweredOn,
        PowerState::PoweredOff,
        PowerState::Suspended,
    ]);
    prop_oneof![
        4 => (vm.clone(), call, any::<bool>(), prop::bool::weighted(0.9))
            .prop_map(|(v, c, p, pw)| VcStep::Guest(v, c, p, pw)),
        3 => (vm.clone(), short_path()).prop_map(|(v, p)| VcStep::Download(v, p)),
        3 => (vm.clone(), short_path(), 1..4000u64, any::<bool>())
            .prop_map(|(v, p, n, o)| VcStep::Upload(v, p, n, o)),
        6 => (0..12usize, prop::bool::weighted(0.8)).prop_map(|(i, t)| VcStep::Begin(i, t)),
        4 => (0..12usize).prop_map(VcStep::Commit),
        1 => (0..12usize).prop_map(VcStep::Abort),
        3 => (vm.clone(), op).prop_map(|(v, o)| VcStep::Power(v, o)),
        1 => (vm.clone(), state).prop_map(|(v, s)| VcStep::SetPower(v, s)),
        1 => vm.prop_map(VcStep::Migrate),
        2 => prop::sample::select(vec![1u64, 60, 299, 599, 600, 601]).prop_map(VcStep::Advance),
    ]
}

/// What the test knows about one transfer, independently of the transfer table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Life {
    Issued,
    InFlight,
    /// Downloaded, or uploaded and landed: the token is used up.
    Used,
    /// Revoked, expired or evicted: the token is dead.
    Dead,
}

#[derive(Debug)]
struct Issued {
    id: u64,
    token: String,
    vm: usize,
    upload: Option<(u64, bool)>,
    expires: OffsetDateTime,
    life: Life,
    /// Revoked while a request was streaming it.
    cut: bool,
    /// Downloads started, or uploads landed: at most one, ever.
    uses: u32,
    /// The redeemed transfer while a request streams it.
    ticket: Option<Transfer>,
}

struct World {
    vc: Vcenter,
    ids: IdGen,
    caller: VcUser,
    now: OffsetDateTime,
    issued: Vec<Issued>,
    /// With a large cap no token is evicted, so a valid token must always be redeemable.
    evicting: bool,
    max_live: usize,
}

impl World {
    fn revoke(&mut self, vm: usize) {
        for t in self.issued.iter_mut().filter(|t| t.vm == vm) {
            match t.life {
                Life::Issued => t.life = Life::Dead,
                Life::InFlight => {
                    t.life = Life::Dead;
                    t.cut = true;
                }
                Life::Used | Life::Dead => {}
            }
        }
    }

    fn guest_user(&self, vm: usize, name: &str) -> GuestUser {
        self.vc
            .with_vm(VMS[vm], |v| v.user(name).cloned())
            .expect("the VM exists")
            .expect("the user exists")
    }

    fn file_bytes(&self, vm: usize, path: &GuestPath) -> Option<Vec<u8>> {
        self.vc
            .with_vm(VMS[vm], |v| v.fs.read_ignoring_permissions(path))
            .expect("the VM exists")
            .map(|b| b.to_vec().expect("in memory"))
    }

    fn step(&mut self, step: &VcStep) -> Result<(), TestCaseError> {
        let now = self.now;
        match step {
            VcStep::Guest(vm, call, privileged, right) => {
                let creds = guest_creds(*vm, *privileged, *right);
                let fam = family_of(*vm);
                let (vc, caller, id) = (&self.vc, &self.caller, VMS[*vm]);
                let _ = match call {
                    GuestCall::Mkdir(p, parents) => {
                        vc.create_dir(caller, id, &creds, &p.render(fam), *parents, now)
                    }
                    GuestCall::CreateTemporary(dir) => vc
                        .create_temporary(
                            caller, id, &creds, "tmp", ".x", None, *dir, &self.ids, now,
                        )
                        .map(|_| ()),
                    GuestCall::DeleteFile(p) => vc.delete_file(caller, id, &creds, &p.render(fam)),
                    GuestCall::MoveFile(a, b, o) => {
                        vc.move_file(caller, id, &creds, &a.render(fam), &b.render(fam), *o)
                    }
                    GuestCall::MoveDir(a, b) => {
                        vc.move_dir(caller, id, &creds, &a.render(fam), &b.render(fam))
                    }
                    GuestCall::Rmdir(p, r) => vc.delete_dir(caller, id, &creds, &p.render(fam), *r),
                };
            }
            VcStep::Download(vm, p) | VcStep::Upload(vm, p, ..) => {
                let upload = match step {
                    VcStep::Upload(_, _, size, overwrite) => Some((*size, *overwrite)),
                    _ => None,
                };
                let request = TransferRequest {
                    path: p.render(family_of(*vm)),
                    upload: upload.map(|(size, overwrite)| UploadSpec {
                        size,
                        overwrite,
                        attrs: AttrUpdate::default(),
                    }),
                };
                let creds = guest_creds(*vm, true, true);
                let live_before = self.vc.live_transfer_count();
                if let Ok(crate::model::Issued { id, token, .. }) = self.vc.create_transfer(
                    &self.caller,
                    VMS[*vm],
                    &creds,
                    &request,
                    crate::model::inventory::GUEST_MODIFY,
                    false,
                    &self.ids,
                    now,
                ) {
                    if live_before >= self.max_live {
                        self.evicting = true;
                    }
                    self.issued.push(Issued {
                        id,
                        token,
                        vm: *vm,
                        upload,
                        expires: now + Duration::from_secs(600),
                        life: Life::Issued,
                        cut: false,
                        uses: 0,
                        ticket: None,
                    });
                }
            }
            VcStep::Begin(n, right_token) => {
                let Some(t) = self.issued.get(*n % self.issued.len().max(1)) else {
                    return Ok(());
                };
                let (vm, id, idx) = (t.vm, t.id, *n % self.issued.len());
                let token = if *right_token {
                    t.token.clone()
                } else {
                    let last = if t.token.ends_with('0') { '1' } else { '0' };
                    format!("{}{last}", &t.token[..t.token.len() - 1])
                };
                let method = if t.upload.is_some() {
                    Redeem::Put
                } else {
                    Redeem::Get
                };
                let was = t.life;
                let expired = now >= t.expires;
                // A download of a file that went away is refused but leaves the URL usable.
                let path = self
                    .vc
                    .transfers()
                    .into_iter()
                    .find(|x| x.id == id)
                    .map(|x| x.path);
                let content = path.as_ref().and_then(|p| self.file_bytes(vm, p));
                let result = self.vc.begin_transfer(id, &token, method, now);
                let t = &mut self.issued[idx];
                match result {
                    Ok(ticket) => {
                        prop_assert!(*right_token, "a wrong token is never redeemed");
                        prop_assert_eq!(
                            was,
                            Life::Issued,
                            "only an unused, live token is redeemed"
                        );
                        prop_assert!(!expired, "an expired token is never redeemed");
                        if t.upload.is_none() {
                            let sent = ticket.blob.map(|b| b.to_vec().expect("in memory"));
                            prop_assert_eq!(sent, content, "a download sends the file as it is");
                        }
                        t.life = Life::InFlight;
                        if t.upload.is_none() {
                            t.uses += 1;
                        }
                        t.ticket = Some(ticket.transfer);
                    }
                    Err(_) => {
                        if *right_token && was == Life::Issued {
                            if expired {
                                t.life = Life::Dead;
                            } else if !self.evicting {
                                prop_assert!(
                                    t.upload.is_none() && content.is_none(),
                                    "a live token is redeemable (transfer {}, {:?})",
                                    id,
                                    t
                                );
                            }
                        }
                    }
                }
            }
            VcStep::Commit(n) => {
                let Some(idx) = (!self.issued.is_empty()).then(|| *n % self.issued.len()) else {
                    return Ok(());
                };
                let t = &mut self.issued[idx];
                // Only a request in flight (possibly cut off by a revocation) can end.
                let Some(ticket) = t.ticket.take() else {
                    return Ok(());
                };
                let (vm, cut) = (t.vm, t.cut);
                match t.upload {
                    None => {
                        self.vc.finish_download(ticket.id, now);
                        if !cut {
                            t.life = Life::Used;
                        }
                    }
                    Some((size, overwrite)) => {
                        let user = self.guest_user(vm, &ticket.user);
                        let allowed = self
                            .vc
                            .with_vm(VMS[vm], |v| {
                                v.fs.check_upload(&ticket.path, &user, size, overwrite, None)
                                    .is_ok()
                            })
                            .expect("the VM exists");
                        let before = self.file_bytes(vm, &ticket.path);
                        let body = vec![b'u'; size as usize];
                        let blob = Blob::Bytes(Bytes::from(body.clone()));
                        let result = self.vc.commit_upload(&ticket, blob, now);
                        let after = self.file_bytes(vm, &ticket.path);
                        let t = &mut self.issued[idx];
                        match result {
                            Ok(()) => {
                                prop_assert!(!cut, "a transfer revoked in flight never lands");
                                prop_assert!(allowed, "an upload lands only where it may");
                                prop_assert_eq!(after, Some(body), "the upload landed whole");
                                t.life = Life::Used;
                                t.uses += 1;
                            }
                            Err(e) => {
                                prop_assert!(cut || !allowed, "an allowed upload lands: {:?}", e);
                                prop_assert_eq!(after, before, "a refused upload changes nothing");
                                if !cut {
                                    t.life = Life::Issued;
                                }
                            }
                        }
                    }
                }
            }
            VcStep::Abort(n) => {
                let Some(idx) = (!self.issued.is_empty()).then(|| *n % self.issued.len()) else {
                    return Ok(());
                };
                let t = &mut self.issued[idx];
                if t.upload.is_some() && t.ticket.take().is_some() {
                    self.vc.abort_upload(t.id, now);
                    if !t.cut {
                        t.life = Life::Issued;
                    }
                }
            }
            VcStep::Power(vm, op) => {
                if self.vc.power(&self.caller, VMS[*vm], *op, now).is_ok() {
                    self.revoke(*vm);
                }
            }
            VcStep::SetPower(vm, to) => {
                let from = self
                    .vc
                    .with_vm(VMS[*vm], |v| v.power)
                    .expect("the VM exists");
                self.vc
                    .set_power_state(VMS[*vm], *to, now)
                    .expect("the VM exists");
                if from != *to || *to == PowerState::PoweredOn {
                    self.revoke(*vm);
                }
            }
            VcStep::Migrate(vm) => {
                self.vc
                    .migrate(VMS[*vm], "host-2", now)
                    .expect("the VM exists");
                self.revoke(*vm);
            }
            VcStep::Advance(secs) => self.now += Duration::from_secs(*secs),
        }
        Ok(())
    }

    fn check(&self) -> Result<(), TestCaseError> {
        for id in VMS {
            self.vc
                .with_vm(id, |v| check_fs(&v.fs))
                .expect("the VM exists")?;
        }
        for t in &self.issued {
            prop_assert!(t.uses <= 1, "a token is redeemed at most once: {:?}", t);
        }
        let in_flight = self
            .issued
            .iter()
            .filter(|t| t.life == Life::InFlight)
            .count();
        prop_assert!(
            self.vc.live_transfer_count() <= self.max_live + in_flight,
            "the token table stays bounded: {} live, cap {}",
            self.vc.live_transfer_count(),
            self.max_live
        );
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn transfers_power_changes_and_clock_moves_keep_tokens_single_use_and_guests_consistent(
        small_table in prop::bool::weighted(0.25),
        steps in prop::collection::vec(vc_step(), 1..80),
    ) {
        let max_live = if small_table { 3 } else { 1000 };
        let mut world = World {
            vc: vcenter(max_live),
            ids: IdGen::new(Some(7)),
            caller: admin(),
            now: T0,
            issued: Vec::new(),
            evicting: false,
            max_live,
        };
        world.check()?;
        for step in &steps {
            world.step(step)?;
            world.check()?;
        }
    }
}

// ------------------------------------------------------------------------------------ the token table alone

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    /// However many tokens are issued over however long, the live table keeps at most its cap
    /// (plus requests in flight) and the history at most its own.
    #[test]
    fn the_token_table_stays_bounded_however_many_tokens_are_issued(
        issues in prop::collection::vec((0..3u8, 0..700u64), 1..300),
    ) {
        let mut table = TransferTable::new(8, 4);
        let mut now = T0;
        let path = GuestPath::parse(Family::Linux, "/f").expect("valid");
        let mut in_flight = 0;
        for (i, (what, secs)) in issues.iter().enumerate() {
            now += Duration::from_secs(*secs);
            let id = table.issue(format!("t{i}"), "vm", path.clone(), "root", Direction::Download, now);
            match what {
                0 => {}
                1 => {
                    if table.begin(id, &format!("t{i}"), Redeem::Get, now).is_ok() {
                        table.finish(id, true, now);
                    }
                }
                _ => {
                    if table.begin(id, &format!("t{i}"), Redeem::Get, now).is_ok() {
                        in_flight += 1;
                    }
                }
            }
            prop_assert!(table.live_count() <= 8 + in_flight, "live {}", table.live_count());
            prop_assert!(table.all().len() <= table.live_count() + 4);
        }
    }
}

#[test]
fn dot_dot_never_climbs_above_the_root_or_the_drive() {
    let up = RawPath {
        names: vec![3, 3, 0],
        drive: 0,
        slash: false,
    };
    assert_eq!(up.parse(Family::Linux).display(), "/a");
    assert_eq!(up.parse(Family::Windows).display(), "C:\\a");
    let mut fs = GuestFs::new(Family::Linux, CAPACITY, T0);
    fs.insert_ignoring_permissions(
        &up.parse(Family::Linux),
        NodeKind::Dir(Default::default()),
        Meta::new_for(&linux_users()[0], T0, 0o755),
    )
    .unwrap();
    assert!(
        fs.stat_ignoring_permissions(&up.parse(Family::Linux))
            .is_some()
    );
}
