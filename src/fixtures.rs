//! Owns the fixture format (versioned JSON): reading and validating fixture files, building the
//! model from them, and writing the model back out as a fixture (snapshots).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::model::guest_fs::{
    self, Blob, Family, GuestFs, GuestPath, GuestUser, LazyFs, Meta, NodeKind,
};
use crate::model::inventory::{VcUser, display_name};
use crate::model::vm::{GuestIdentity, Tools, VirtualMachine, user_key};
use crate::model::{Limits, PowerState, Vcenter};

/// The fixture format this version reads and writes.
pub const FORMAT: &str = "vcmock-fixture/v1";

/// The built-in fixture, compiled in.
pub const DEFAULT_FIXTURE: &str = include_str!("../fixtures/default.json");

/// A fixture document: vCenter users, roles and VMs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    /// Must be `vcmock-fixture/v1`.
    pub format: String,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Roles: named sets of privileges.
    #[serde(default)]
    pub roles: Vec<RoleSpec>,
    /// vCenter users.
    #[serde(default)]
    pub users: Vec<UserSpec>,
    /// Virtual machines.
    #[serde(default)]
    pub vms: Vec<VmSpec>,
    /// Open sessions; written by state dumps for information and ignored on load.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sessions: Vec<serde_json::Value>,
}

/// A role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleSpec {
    /// Name users refer to.
    pub name: String,
    /// Privilege ids; `*` grants every privilege.
    pub privileges: Vec<String>,
}

/// A vCenter user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserSpec {
    /// Login, e.g. `administrator@vsphere.local`.
    pub login: String,
    /// Password.
    pub password: String,
    /// Role name.
    pub role: String,
    /// Name sessions report; defaults to `DOMAIN\user`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

/// A virtual machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VmSpec {
    /// Id, e.g. `vm-1001`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// `linux` or `windows`.
    pub guest_family: Family,
    /// vCenter GuestOS value, e.g. `UBUNTU_64`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guest_os: Option<String>,
    /// `POWERED_ON`, `POWERED_OFF` or `SUSPENDED`.
    pub power_state: PowerState,
    /// CPUs (default 2).
    #[serde(default = "two")]
    pub cpu_count: i64,
    /// Memory in MiB (default 4096).
    #[serde(default = "mib", rename = "memory_size_MiB")]
    pub memory_size_mib: i64,
    /// ESXi host (default `host-1`).
    #[serde(default = "host")]
    pub host: String,
    /// VMware Tools.
    #[serde(default)]
    pub tools: ToolsSpec,
    /// Guest identity.
    #[serde(default)]
    pub identity: IdentitySpec,
    /// Guest disk capacity in bytes (default 20 GiB).
    #[serde(default = "disk")]
    pub disk_capacity: u64,
    /// Guest accounts.
    #[serde(default)]
    pub guest_users: Vec<GuestUserSpec>,
    /// SAML bearer tokens accepted by the guest, mapped to guest user names.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub saml_tokens: BTreeMap<String, String>,
    /// Files, directories, links, in any order (parents are created as needed).
    #[serde(default)]
    pub files: Vec<FileSpec>,
    /// Every guest operation answers `RESOURCE_BUSY` while set.
    #[serde(default, skip_serializing_if = "is_false")]
    pub busy: bool,
}

/// VMware Tools settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ToolsSpec {
    /// Installed at all (default true).
    pub installed: bool,
    /// Starts when the guest boots (default true). A powered-on VM with `false` has Tools
    /// not running.
    pub starts_with_guest: bool,
    /// Version number (default 12352).
    pub version_number: i64,
    /// Version text (default `12.3.5`).
    pub version: String,
    /// vCenter version status (default `UNMANAGED`; `TOO_OLD_UNSUPPORTED` blocks guest operations).
    pub version_status: String,
    /// Install type (default `OPEN_VM_TOOLS`).
    pub install_type: String,
    /// Upgrade policy (default `MANUAL`).
    pub upgrade_policy: String,
    /// Guest operations enabled in the guest (default true).
    pub guest_operations_enabled: bool,
}

impl Default for ToolsSpec {
    fn default() -> Self {
        Self {
            installed: true,
            starts_with_guest: true,
            version_number: 12352,
            version: "12.3.5".into(),
            version_status: "UNMANAGED".into(),
            install_type: "OPEN_VM_TOOLS".into(),
            upgrade_policy: "MANUAL".into(),
            guest_operations_enabled: true,
        }
    }
}

/// Guest identity.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdentitySpec {
    /// Human-readable OS name.
    pub full_name: Option<String>,
    /// Host name (defaults to the VM name).
    pub host_name: Option<String>,
    /// IP address.
    pub ip_address: Option<String>,
}

/// A guest account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuestUserSpec {
    /// Login name.
    pub name: String,
    /// Password.
    pub password: String,
    /// uid (default 1000; Windows ignores it).
    #[serde(default = "thousand")]
    pub uid: u32,
    /// Primary gid (default: the uid).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
    /// Supplementary gids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<u32>,
    /// Windows: member of Administrators.
    #[serde(default, skip_serializing_if = "is_false")]
    pub admin: bool,
    /// Logged on interactively in the guest.
    #[serde(default, skip_serializing_if = "is_false")]
    pub interactive: bool,
    /// Temporary directory (default `/tmp`, or `C:\Users\NAME\AppData\Local\Temp`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temp_dir: Option<String>,
}

/// What a file entry is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    /// A regular file (default).
    #[default]
    File,
    /// A directory.
    Directory,
    /// A symbolic link (needs `target`).
    Symlink,
    /// A device, socket or pipe.
    Special,
}

/// A guest file, directory or link.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSpec {
    /// Absolute guest path.
    pub path: String,
    /// Kind (default `file`).
    #[serde(default, rename = "type", skip_serializing_if = "is_default")]
    pub kind: FileKind,
    /// Text content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Binary content, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_base64: Option<String>,
    /// Generated content of this many bytes (never held in memory; for large files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Link target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Octal permissions (default 644 for files, 755 for directories, 777 for links).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// Owner uid (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<u32>,
    /// Group gid (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<u32>,
    /// Windows hidden attribute.
    #[serde(default, skip_serializing_if = "is_false")]
    pub hidden: bool,
    /// Windows read-only attribute.
    #[serde(default, skip_serializing_if = "is_false")]
    pub read_only: bool,
    /// Windows: only these users (and administrators) may enter or read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acl: Option<Vec<String>>,
    /// Modification time (RFC 3339; default: load time).
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub modified: Option<OffsetDateTime>,
}

fn two() -> i64 {
    2
}
fn mib() -> i64 {
    4096
}
fn host() -> String {
    "host-1".into()
}
fn disk() -> u64 {
    20 << 30
}
fn thousand() -> u32 {
    1000
}
fn is_false(b: &bool) -> bool {
    !b
}
fn is_default<T: Default + PartialEq>(t: &T) -> bool {
    *t == T::default()
}

/// A fixture that could not be used: which file, where in it, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixtureError {
    /// The file (or `<built-in>`).
    pub source: String,
    /// Where: `line L, column C` or a JSON path such as `vms[2].files[0].path`.
    pub location: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for FixtureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}: {}", self.source, self.location, self.message)
    }
}

impl std::error::Error for FixtureError {}

impl Fixture {
    /// The built-in default fixture.
    pub fn default_fixture() -> Self {
        Self::shared_default().as_ref().clone()
    }

    /// The built-in default fixture, parsed and validated once per process and shared.
    pub fn shared_default() -> std::sync::Arc<Self> {
        static PARSED: std::sync::OnceLock<std::sync::Arc<Fixture>> = std::sync::OnceLock::new();
        PARSED
            .get_or_init(|| {
                std::sync::Arc::new(
                    Self::from_json(DEFAULT_FIXTURE, "<built-in>")
                        .expect("the built-in fixture is valid"),
                )
            })
            .clone()
    }

    /// Parses and validates fixture JSON; `source` names it in errors.
    pub fn from_json(text: &str, source: &str) -> Result<Self, FixtureError> {
        let de = &mut serde_json::Deserializer::from_str(text);
        let fixture: Fixture = serde_path_to_error::deserialize(de).map_err(|e| {
            let inner = e.inner();
            let path = e.path().to_string();
            FixtureError {
                source: source.into(),
                location: if path == "." {
                    format!("line {}, column {}", inner.line(), inner.column())
                } else {
                    format!("{path} (line {}, column {})", inner.line(), inner.column())
                },
                message: strip_position(&inner.to_string()),
            }
        })?;
        fixture.validate(source)?;
        Ok(fixture)
    }

    /// Reads one fixture file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, FixtureError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| FixtureError {
            source: path.display().to_string(),
            location: "file".into(),
            message: e.to_string(),
        })?;
        Self::from_json(&text, &path.display().to_string())
    }

    /// Reads fixture files and directories (every `*.json` inside, in name order) and merges
    /// them into one.
    pub fn from_paths(paths: &[PathBuf]) -> Result<Self, FixtureError> {
        let mut files = Vec::new();
        for p in paths {
            if p.is_dir() {
                let mut inside: Vec<PathBuf> = std::fs::read_dir(p)
                    .map_err(|e| FixtureError {
                        source: p.display().to_string(),
                        location: "directory".into(),
                        message: e.to_string(),
                    })?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|f| f.extension().is_some_and(|x| x == "json"))
                    .collect();
                inside.sort();
                if inside.is_empty() {
                    return Err(FixtureError {
                        source: p.display().to_string(),
                        location: "directory".into(),
                        message: "no *.json fixture files inside".into(),
                    });
                }
                files.extend(inside);
            } else {
                files.push(p.clone());
            }
        }
        let mut merged = Fixture {
            format: FORMAT.into(),
            ..Fixture::default()
        };
        for f in &files {
            let one = Self::from_file(f)?;
            merged.roles.extend(one.roles);
            merged.users.extend(one.users);
            merged.vms.extend(one.vms);
        }
        merged.validate(
            &files
                .iter()
                .map(|f| f.display().to_string())
                .collect::<Vec<_>>()
                .join(" + "),
        )?;
        Ok(merged)
    }

    /// Checks what serde cannot: the format tag, references, uniqueness, paths and modes.
    pub fn validate(&self, source: &str) -> Result<(), FixtureError> {
        let err = |location: String, message: String| FixtureError {
            source: source.into(),
            location,
            message,
        };
        if self.format != FORMAT {
            return Err(err(
                "format".into(),
                format!("expected \"{FORMAT}\", found \"{}\"", self.format),
            ));
        }
        let roles: BTreeSet<&str> = self.roles.iter().map(|r| r.name.as_str()).collect();
        let mut logins = BTreeSet::new();
        for (i, u) in self.users.iter().enumerate() {
            if !roles.contains(u.role.as_str()) {
                return Err(err(
                    format!("users[{i}].role"),
                    format!("unknown role \"{}\"", u.role),
                ));
            }
            if !logins.insert(u.login.to_lowercase()) {
                return Err(err(
                    format!("users[{i}].login"),
                    format!("duplicate user \"{}\"", u.login),
                ));
            }
        }
        let mut ids = BTreeSet::new();
        for (i, vm) in self.vms.iter().enumerate() {
            if !ids.insert(vm.id.as_str()) {
                return Err(err(
                    format!("vms[{i}].id"),
                    format!("duplicate VM id \"{}\"", vm.id),
                ));
            }
            let mut names = BTreeSet::new();
            for (j, u) in vm.guest_users.iter().enumerate() {
                if !names.insert(user_key(vm.guest_family, &u.name)) {
                    return Err(err(
                        format!("vms[{i}].guest_users[{j}].name"),
                        format!("duplicate guest user \"{}\"", u.name),
                    ));
                }
            }
            for (token, user) in &vm.saml_tokens {
                if !names.contains(&user_key(vm.guest_family, user)) {
                    return Err(err(
                        format!("vms[{i}].saml_tokens.{token}"),
                        format!("unknown guest user \"{user}\""),
                    ));
                }
            }
            let mut paths = Vec::with_capacity(vm.files.len());
            for (j, f) in vm.files.iter().enumerate() {
                let at = |field: &str| format!("vms[{i}].files[{j}].{field}");
                paths.push(GuestPath::parse(vm.guest_family, &f.path).map_err(|e| {
                    err(
                        at("path"),
                        format!("invalid {} path: {e:?}", family_word(vm.guest_family)),
                    )
                })?);
                if let Some(m) = &f.mode {
                    guest_fs::parse_mode(m).ok_or_else(|| {
                        err(
                            at("mode"),
                            format!("\"{m}\" is not octal permissions such as \"644\""),
                        )
                    })?;
                }
                let contents = [
                    f.content.is_some(),
                    f.content_base64.is_some(),
                    f.size.is_some(),
                ]
                .iter()
                .filter(|b| **b)
                .count();
                if contents > 1 {
                    return Err(err(
                        at("content"),
                        "give at most one of content, content_base64 and size".into(),
                    ));
                }
                if let Some(b) = &f.content_base64 {
                    base64::engine::general_purpose::STANDARD
                        .decode(b)
                        .map_err(|e| err(at("content_base64"), e.to_string()))?;
                }
                match f.kind {
                    FileKind::Symlink if f.target.is_none() => {
                        return Err(err(at("target"), "a symlink needs a target".into()));
                    }
                    FileKind::Directory | FileKind::Symlink | FileKind::Special if contents > 0 => {
                        return Err(err(at("content"), "only regular files have content".into()));
                    }
                    _ => {}
                }
            }
            check_tree(vm, &paths)
                .map_err(|(j, message)| err(format!("vms[{i}].files[{j}].path"), message))?;
        }
        Ok(())
    }

    /// Builds the model. File times default to `now`.
    pub fn build(self: &std::sync::Arc<Self>, limits: Limits, now: OffsetDateTime) -> Vcenter {
        let privileges: BTreeMap<&str, BTreeSet<String>> = self
            .roles
            .iter()
            .map(|r| (r.name.as_str(), r.privileges.iter().cloned().collect()))
            .collect();
        let users = self
            .users
            .iter()
            .map(|u| VcUser {
                login: u.login.clone(),
                password: u.password.clone(),
                display: u.display.clone().unwrap_or_else(|| display_name(&u.login)),
                role: u.role.clone(),
                privileges: privileges.get(u.role.as_str()).cloned().unwrap_or_default(),
            })
            .collect();
        // Each VM's guest tree is built from the shared fixture when first used.
        let vms = (0..self.vms.len())
            .map(|i| {
                let fx = std::sync::Arc::clone(self);
                let fs = LazyFs::deferred(move || {
                    let v = &fx.vms[i];
                    build_tree(v.guest_family, v.disk_capacity, &v.files, now)
                });
                vm_of(&self.vms[i], fs)
            })
            .collect();
        Vcenter::new(vms, users, limits)
    }

    /// Writes the model back as a fixture: VMs with their power, Tools and guest trees, users
    /// and roles, and (for information) sessions.
    pub fn snapshot(vc: &Vcenter, roles: &[RoleSpec]) -> Self {
        let users = vc
            .users()
            .map(|u| UserSpec {
                login: u.login.clone(),
                password: u.password.clone(),
                role: u.role.clone(),
                display: Some(u.display.clone()),
            })
            .collect();
        let sessions = vc
            .sessions()
            .into_iter()
            .map(|(_, s)| {
                serde_json::json!({
                    "user": s.user,
                    "created_time": crate::clock::format_millis(s.created),
                    "last_accessed_time": crate::clock::format_millis(s.last_accessed),
                })
            })
            .collect();
        Self {
            format: FORMAT.into(),
            description: Some("snapshot of a running vcmock".into()),
            roles: roles.to_vec(),
            users,
            vms: vc.vms().iter().map(snapshot_vm).collect(),
            sessions,
        }
    }
}

fn family_word(f: Family) -> &'static str {
    match f {
        Family::Linux => "Linux",
        Family::Windows => "Windows",
    }
}

/// serde_json appends " at line L column C" to messages; the location is reported apart.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}

/// Builds one VM from its fixture description. Its guest tree is built on first use, with the
/// times it would have had now.
pub fn build_vm(spec: &VmSpec, now: OffsetDateTime) -> VirtualMachine {
    let (family, capacity, files) = (spec.guest_family, spec.disk_capacity, spec.files.clone());
    vm_of(
        spec,
        LazyFs::deferred(move || build_tree(family, capacity, &files, now)),
    )
}

/// A VM as `spec` describes it, on the filesystem `fs`.
fn vm_of(spec: &VmSpec, fs: LazyFs) -> VirtualMachine {
    let family = spec.guest_family;
    let users = spec
        .guest_users
        .iter()
        .map(|u| {
            (
                user_key(family, &u.name),
                GuestUser {
                    name: u.name.clone(),
                    password: u.password.clone(),
                    uid: u.uid,
                    gid: u.gid.unwrap_or(u.uid),
                    groups: u.groups.clone(),
                    admin: u.admin,
                    interactive: u.interactive,
                    temp_dir: u.temp_dir.clone(),
                },
            )
        })
        .collect();
    let t = &spec.tools;
    let mut vm = VirtualMachine {
        id: spec.id.clone(),
        name: spec.name.clone(),
        power: spec.power_state,
        clean_power_off: true,
        cpu_count: spec.cpu_count,
        memory_mib: spec.memory_size_mib,
        host: spec.host.clone(),
        tools: Tools {
            installed: t.installed,
            starts_with_guest: t.starts_with_guest,
            running: false,
            version_number: t.version_number,
            version: t.version.clone(),
            version_status: if t.installed {
                t.version_status.clone()
            } else {
                "NOT_INSTALLED".into()
            },
            install_type: t.install_type.clone(),
            upgrade_policy: t.upgrade_policy.clone(),
            guest_ops_enabled: t.guest_operations_enabled,
        },
        identity: GuestIdentity {
            guest_os: spec.guest_os.clone().unwrap_or_else(|| match family {
                Family::Linux => "OTHER_LINUX_64".into(),
                Family::Windows => "WINDOWS_9_64".into(),
            }),
            full_name: spec
                .identity
                .full_name
                .clone()
                .unwrap_or_else(|| match family {
                    Family::Linux => "Other Linux (64-bit)".into(),
                    Family::Windows => "Microsoft Windows 10 (64-bit)".into(),
                }),
            host_name: spec
                .identity
                .host_name
                .clone()
                .unwrap_or_else(|| spec.name.clone()),
            ip_address: spec.identity.ip_address.clone(),
        },
        users,
        saml_tokens: spec.saml_tokens.clone(),
        fs,
        busy: spec.busy,
    };
    vm.set_power(spec.power_state, true);
    vm
}

/// Checks that `vm`'s files, whose parsed paths are `parsed`, make a tree: every entry's parents
/// are directories (or made as such), and the root and the drives are directories. Gives the
/// index of the first entry that breaks this and why.
fn check_tree(vm: &VmSpec, parsed: &[GuestPath]) -> Result<(), (usize, String)> {
    let not_dirs: BTreeMap<String, usize> = parsed
        .iter()
        .enumerate()
        .filter(|(j, _)| vm.files[*j].kind != FileKind::Directory)
        .map(|(j, p)| (p.lookup_key(), j))
        .collect();
    for (j, path) in parsed.iter().enumerate() {
        if path.is_root() && vm.files[j].kind != FileKind::Directory {
            return Err((j, format!("{} is a directory", path.display())));
        }
        let mut up = path.parent();
        while let Some(dir) = up.filter(|d| !d.is_root()) {
            if let Some(k) = not_dirs.get(&dir.lookup_key()) {
                return Err((
                    j,
                    format!(
                        "{} would lie below {} (files[{k}]), which is not a directory",
                        path.display(),
                        dir.display()
                    ),
                ));
            }
            up = dir.parent();
        }
    }
    Ok(())
}

/// The guest tree that `files` describe, on a disk of `capacity` bytes.
fn build_tree(family: Family, capacity: u64, files: &[FileSpec], now: OffsetDateTime) -> GuestFs {
    let mut fs = GuestFs::new(family, capacity, now);
    // Directories first (shortest paths first) so that their metadata is not replaced by the
    // defaults of parents created implicitly for deeper entries.
    let mut files: Vec<&FileSpec> = files.iter().collect();
    files.sort_by_key(|f| (f.kind != FileKind::Directory, f.path.len()));
    for f in files {
        let (path, kind, meta) = node_of(family, f, now).expect("validated");
        if f.kind == FileKind::Directory {
            // Keep entries already placed below an implicitly created directory.
            if fs.stat_ignoring_permissions(&path).is_some() {
                fs.set_meta_ignoring_permissions(&path, meta);
                continue;
            }
        }
        fs.insert_ignoring_permissions(&path, kind, meta)
            .expect("validated fixture paths fit");
    }
    fs
}

/// The path, node and metadata a file entry describes; fails if the path is invalid for the
/// guest family.
pub fn node_of(
    family: Family,
    f: &FileSpec,
    now: OffsetDateTime,
) -> Result<(GuestPath, NodeKind, Meta), String> {
    let path = GuestPath::parse(family, &f.path).map_err(|e| format!("invalid path: {e:?}"))?;
    let (kind, default_mode) = match f.kind {
        FileKind::Directory => (NodeKind::Dir(BTreeMap::new()), 0o755),
        FileKind::Symlink => (
            NodeKind::Symlink(f.target.clone().unwrap_or_default()),
            0o777,
        ),
        FileKind::Special => (NodeKind::Special, 0o666),
        FileKind::File => {
            let blob = if let Some(text) = &f.content {
                Blob::Bytes(Bytes::from(text.clone()))
            } else if let Some(b64) = &f.content_base64 {
                Blob::Bytes(Bytes::from(
                    base64::engine::general_purpose::STANDARD
                        .decode(b64)
                        .map_err(|e| format!("content_base64: {e}"))?,
                ))
            } else if let Some(len) = f.size {
                Blob::Pattern { len }
            } else {
                Blob::empty()
            };
            (NodeKind::File(blob), 0o644)
        }
    };
    let mode = match &f.mode {
        Some(m) => guest_fs::parse_mode(m)
            .ok_or_else(|| format!("mode: \"{m}\" is not octal permissions"))?,
        None => default_mode,
    };
    let t = f.modified.unwrap_or(now);
    let meta = Meta {
        modified: t,
        accessed: t,
        created: t,
        owner: f.owner.unwrap_or(0),
        group: f.group.unwrap_or(0),
        mode,
        hidden: f.hidden,
        read_only: f.read_only,
        acl: f.acl.clone(),
    };
    Ok((path, kind, meta))
}

fn snapshot_vm(vm: &VirtualMachine) -> VmSpec {
    let family = vm.family();
    let files = vm
        .fs
        .walk()
        .into_iter()
        .map(|(path, node)| {
            let mut f = FileSpec {
                path: path.display(),
                mode: Some(guest_fs::format_mode(node.meta.mode)),
                owner: Some(node.meta.owner),
                group: Some(node.meta.group),
                hidden: node.meta.hidden,
                read_only: node.meta.read_only,
                acl: node.meta.acl.clone(),
                modified: Some(node.meta.modified),
                ..FileSpec::default()
            };
            match &node.kind {
                NodeKind::Dir(_) => f.kind = FileKind::Directory,
                NodeKind::Symlink(t) => {
                    f.kind = FileKind::Symlink;
                    f.target = Some(t.clone());
                }
                NodeKind::Special => f.kind = FileKind::Special,
                NodeKind::File(Blob::Pattern { len }) => f.size = Some(*len),
                NodeKind::File(blob) => match blob.to_vec() {
                    Ok(bytes) => match String::from_utf8(bytes) {
                        Ok(text) => f.content = Some(text),
                        Err(e) => {
                            f.content_base64 = Some(
                                base64::engine::general_purpose::STANDARD.encode(e.into_bytes()),
                            )
                        }
                    },
                    Err(_) => f.size = Some(blob.len()),
                },
            }
            f
        })
        .collect();
    VmSpec {
        id: vm.id.clone(),
        name: vm.name.clone(),
        guest_family: family,
        guest_os: Some(vm.identity.guest_os.clone()),
        power_state: vm.power,
        cpu_count: vm.cpu_count,
        memory_size_mib: vm.memory_mib,
        host: vm.host.clone(),
        tools: ToolsSpec {
            installed: vm.tools.installed,
            starts_with_guest: vm.tools.starts_with_guest,
            version_number: vm.tools.version_number,
            version: vm.tools.version.clone(),
            version_status: vm.tools.version_status.clone(),
            install_type: vm.tools.install_type.clone(),
            upgrade_policy: vm.tools.upgrade_policy.clone(),
            guest_operations_enabled: vm.tools.guest_ops_enabled,
        },
        identity: IdentitySpec {
            full_name: Some(vm.identity.full_name.clone()),
            host_name: Some(vm.identity.host_name.clone()),
            ip_address: vm.identity.ip_address.clone(),
        },
        disk_capacity: vm.fs.capacity(),
        guest_users: vm
            .users
            .values()
            .map(|u| GuestUserSpec {
                name: u.name.clone(),
                password: u.password.clone(),
                uid: u.uid,
                gid: Some(u.gid),
                groups: u.groups.clone(),
                admin: u.admin,
                interactive: u.interactive,
                temp_dir: u.temp_dir.clone(),
            })
            .collect(),
        saml_tokens: vm.saml_tokens.clone(),
        files,
        busy: vm.busy,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_fixture_loads() {
        let f = Fixture::default_fixture();
        assert!(f.vms.len() >= 6);
    }

    #[test]
    fn a_broken_fixture_names_the_json_path_and_the_problem() {
        let text = r#"{"format":"vcmock-fixture/v1","vms":[{"id":"vm-1","name":"a","guest_family":"linux","power_state":"ON"}]}"#;
        let e = Fixture::from_json(text, "x.json").unwrap_err();
        assert_eq!(e.source, "x.json");
        assert!(e.location.starts_with("vms[0].power_state"), "{e}");
        assert!(e.message.contains("unknown variant"), "{e}");
    }

    #[test]
    fn files_that_cannot_make_a_tree_are_refused_at_load_naming_the_entry() {
        let vm = |family: &str, files: &str| {
            format!(
                r#"{{"format":"vcmock-fixture/v1","vms":[{{"id":"vm-1","name":"a","guest_family":"{family}","power_state":"POWERED_ON","files":{files}}}]}}"#
            )
        };
        // (family, files, the entry named, a word of the message)
        let table = [
            (
                "linux",
                r#"[{"path":"/a","content":"x"},{"path":"/a/b","content":"y"}]"#,
                "files[1]",
                "not a directory",
            ),
            (
                "linux",
                r#"[{"path":"/a/b/c","type":"directory"},{"path":"/a","content":"x"}]"#,
                "files[0]",
                "not a directory",
            ),
            (
                "linux",
                r#"[{"path":"/l","type":"symlink","target":"/etc"},{"path":"/l/x","content":"y"}]"#,
                "files[1]",
                "not a directory",
            ),
            (
                "linux",
                r#"[{"path":"/","content":"x"}]"#,
                "files[0]",
                "is a directory",
            ),
            (
                "windows",
                r#"[{"path":"C:/A.txt","content":"x"},{"path":"c:/a.TXT/b","content":"y"}]"#,
                "files[1]",
                "not a directory",
            ),
            (
                "windows",
                r#"[{"path":"D:/","content":"x"}]"#,
                "files[0]",
                "is a directory",
            ),
        ];
        for (family, files, entry, word) in table {
            let e = Fixture::from_json(&vm(family, files), "x.json").unwrap_err();
            assert_eq!(e.location, format!("vms[0].{entry}.path"), "{files}: {e}");
            assert!(e.message.contains(word), "{files}: {e}");
        }
        // Parents made implicitly, and a directory given after its own children, are fine.
        let fine = vm(
            "linux",
            r#"[{"path":"/a/b/c","content":"x"},{"path":"/a","type":"directory","mode":"700"}]"#,
        );
        let f = Fixture::from_json(&fine, "x.json").unwrap();
        let built = build_vm(&f.vms[0], crate::clock::DEFAULT_MANUAL_START);
        assert_eq!(built.fs.used(), 1);
    }

    #[test]
    fn a_fixture_with_an_unknown_role_is_refused() {
        let text = r#"{"format":"vcmock-fixture/v1","users":[{"login":"a@b","password":"p","role":"Nope"}]}"#;
        let e = Fixture::from_json(text, "x.json").unwrap_err();
        assert_eq!(e.location, "users[0].role");
    }
}
