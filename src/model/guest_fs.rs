//! Owns the fake guest filesystem: guest paths per OS family, the tree, permissions and content.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use time::OffsetDateTime;

use super::fault::{Fault, FileReason};

/// The guest operating system family, which decides path syntax and permission rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// POSIX guest: `/` paths, case-sensitive, owner/group/mode permissions.
    Linux,
    /// Windows guest: `C:\` paths, case-insensitive, hidden/read-only attributes and simple ACLs.
    Windows,
}

/// Longest POSIX path accepted, in bytes (PATH_MAX less the terminating NUL).
pub const LINUX_PATH_MAX: usize = 4095;
/// Longest Windows path accepted, in characters (MAX_PATH less the terminating NUL).
pub const WINDOWS_PATH_MAX: usize = 259;
/// Longest single name in a path, on either family.
pub const NAME_MAX: usize = 255;
/// How many symbolic links one lookup may follow before giving up (Linux's ELOOP bound).
const SYMLINK_HOPS: usize = 40;

/// An absolute, normalised guest path: `.` and `..` are resolved lexically and never climb above
/// the root (or the drive on Windows).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GuestPath {
    family: Family,
    /// Names below the root. On Windows the first is the drive, e.g. `C:`.
    names: Vec<String>,
}

impl GuestPath {
    /// Parses a path as the guest would, enforcing length limits and absoluteness.
    pub fn parse(family: Family, raw: &str) -> Result<Self, Fault> {
        if raw.is_empty() {
            return Err(Fault::InvalidPath {
                path: raw.into(),
                why: "the path is empty",
            });
        }
        if raw.contains('\0') {
            return Err(Fault::InvalidPath {
                path: raw.replace('\0', "\\0"),
                why: "the path contains a NUL byte",
            });
        }
        match family {
            Family::Linux => Self::parse_linux(raw),
            Family::Windows => Self::parse_windows(raw),
        }
    }

    fn parse_linux(raw: &str) -> Result<Self, Fault> {
        if raw.len() > LINUX_PATH_MAX {
            return Err(Fault::invalid(FileReason::PathTooLong, raw));
        }
        if !raw.starts_with('/') {
            return Err(Fault::InvalidPath {
                path: raw.into(),
                why: "the path is not absolute",
            });
        }
        let mut names: Vec<String> = Vec::new();
        for part in raw.split('/') {
            match part {
                "" | "." => {}
                ".." => {
                    names.pop();
                }
                name if name.len() > NAME_MAX => {
                    return Err(Fault::invalid(FileReason::PathTooLong, raw));
                }
                name => names.push(name.to_owned()),
            }
        }
        Ok(Self {
            family: Family::Linux,
            names,
        })
    }

    fn parse_windows(raw: &str) -> Result<Self, Fault> {
        if raw.chars().count() > WINDOWS_PATH_MAX {
            return Err(Fault::invalid(FileReason::PathTooLong, raw));
        }
        let unified = raw.replace('/', "\\");
        if unified.starts_with("\\\\") {
            return Err(Fault::InvalidPath {
                path: raw.into(),
                why: "UNC and device paths are not supported",
            });
        }
        let bytes = unified.as_bytes();
        let has_drive = bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':';
        if !has_drive || (bytes.len() > 2 && bytes[2] != b'\\') {
            return Err(Fault::InvalidPath {
                path: raw.into(),
                why: "the path is not absolute (expected a drive such as C:\\)",
            });
        }
        let drive = format!("{}:", (bytes[0] as char).to_ascii_uppercase());
        let mut names = vec![drive];
        for part in unified[2..].split('\\') {
            match part {
                "" | "." => {}
                ".." => {
                    if names.len() > 1 {
                        names.pop();
                    }
                }
                name if name.chars().count() > NAME_MAX => {
                    return Err(Fault::invalid(FileReason::PathTooLong, raw));
                }
                name if name.contains(['<', '>', ':', '"', '|', '?', '*']) => {
                    return Err(Fault::InvalidPath {
                        path: raw.into(),
                        why: "the path contains a character Windows does not allow in names",
                    });
                }
                name => names.push(name.to_owned()),
            }
        }
        Ok(Self {
            family: Family::Windows,
            names,
        })
    }

    /// The guest family this path belongs to.
    pub fn family(&self) -> Family {
        self.family
    }

    /// The path as the guest prints it: `/a/b` or `C:\a\b`.
    pub fn display(&self) -> String {
        match self.family {
            Family::Linux => format!("/{}", self.names.join("/")),
            Family::Windows if self.names.len() == 1 => format!("{}\\", self.names[0]),
            Family::Windows => self.names.join("\\"),
        }
    }

    /// The last name, or `None` for the root (or a bare drive).
    pub fn file_name(&self) -> Option<&str> {
        if self.is_root() {
            None
        } else {
            self.names.last().map(String::as_str)
        }
    }

    /// The containing directory, or `None` for the root.
    pub fn parent(&self) -> Option<Self> {
        if self.is_root() {
            return None;
        }
        let mut names = self.names.clone();
        names.pop();
        Some(Self {
            family: self.family,
            names,
        })
    }

    /// This path with `name` appended.
    pub fn join(&self, name: &str) -> Self {
        let mut names = self.names.clone();
        names.push(name.to_owned());
        Self {
            family: self.family,
            names,
        }
    }

    /// Whether this is `/` (Linux) or a drive root such as `C:\` (Windows).
    pub fn is_root(&self) -> bool {
        match self.family {
            Family::Linux => self.names.is_empty(),
            Family::Windows => self.names.len() <= 1,
        }
    }

    /// Whether `self` is `other` or lies below it, comparing as the guest does.
    pub fn is_within(&self, other: &Self) -> bool {
        other.names.len() <= self.names.len()
            && other
                .names
                .iter()
                .zip(&self.names)
                .all(|(a, b)| key(self.family, a) == key(self.family, b))
    }

    /// The lookup key of every name, as the guest compares them.
    fn keys(&self) -> impl Iterator<Item = String> + '_ {
        self.names.iter().map(|n| key(self.family, n))
    }

    /// A key that identifies the path as the guest compares paths (for busy tracking).
    pub fn lookup_key(&self) -> String {
        self.keys().collect::<Vec<_>>().join("/")
    }
}

/// How a name is compared: as is on Linux, case-folded on Windows.
fn key(family: Family, name: &str) -> String {
    match family {
        Family::Linux => name.to_owned(),
        Family::Windows => name.to_lowercase(),
    }
}

/// The repeating line of generated content.
const PATTERN_LINE: &[u8] = b"vcmock generated content 0123456789abcdefghijklmnopqrstuvwxyz\n";

/// The longest slice [`Blob::pattern_slice`] hands out.
pub const PATTERN_CHUNK_MAX: usize = 256 * 1024;

/// The content of a regular file.
#[derive(Debug, Clone)]
pub enum Blob {
    /// Bytes held in memory.
    Bytes(Bytes),
    /// `len` bytes of a deterministic pattern, generated on read and never held in memory.
    /// Fixtures use it for large files.
    Pattern {
        /// Length in bytes.
        len: u64,
    },
    /// Bytes spilled to a temporary file (large uploads). The file is removed when the last
    /// reference goes.
    Spilled(Arc<SpilledFile>),
}

/// A temporary file holding a blob's bytes.
#[derive(Debug)]
pub struct SpilledFile {
    /// Where the bytes are; deleted on drop.
    pub path: tempfile::TempPath,
    /// How many bytes.
    pub len: u64,
}

impl Blob {
    /// An empty blob.
    pub fn empty() -> Self {
        Self::Bytes(Bytes::new())
    }

    /// The length in bytes.
    pub fn len(&self) -> u64 {
        match self {
            Self::Bytes(b) => b.len() as u64,
            Self::Pattern { len } => *len,
            Self::Spilled(f) => f.len,
        }
    }

    /// Whether the blob has no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The pattern byte at `offset` (for [`Blob::Pattern`]): printable, line-broken text.
    pub fn pattern_byte(offset: u64) -> u8 {
        PATTERN_LINE[(offset % PATTERN_LINE.len() as u64) as usize]
    }

    /// Fills `buf` with the pattern bytes starting at `offset`.
    pub fn fill_pattern(offset: u64, buf: &mut [u8]) {
        let mut done = 0;
        while done < buf.len() {
            let n = (buf.len() - done).min(PATTERN_CHUNK_MAX);
            buf[done..done + n].copy_from_slice(&Self::pattern_slice(offset + done as u64, n));
            done += n;
        }
    }

    /// `len` (at most [`PATTERN_CHUNK_MAX`]) pattern bytes from `offset`, as a zero-copy slice of
    /// one block built once.
    pub fn pattern_slice(offset: u64, len: usize) -> Bytes {
        static BLOCK: std::sync::OnceLock<Bytes> = std::sync::OnceLock::new();
        let block = BLOCK.get_or_init(|| {
            let n = PATTERN_CHUNK_MAX + PATTERN_LINE.len();
            Bytes::from(
                PATTERN_LINE
                    .iter()
                    .copied()
                    .cycle()
                    .take(n)
                    .collect::<Vec<u8>>(),
            )
        });
        let start = (offset % PATTERN_LINE.len() as u64) as usize;
        block.slice(start..start + len.min(PATTERN_CHUNK_MAX))
    }

    /// The whole content in memory. Meant for small blobs (fixtures, snapshots).
    pub fn to_vec(&self) -> std::io::Result<Vec<u8>> {
        match self {
            Self::Bytes(b) => Ok(b.to_vec()),
            Self::Pattern { len } => {
                let mut v = vec![0; *len as usize];
                Self::fill_pattern(0, &mut v);
                Ok(v)
            }
            Self::Spilled(f) => std::fs::read(&f.path),
        }
    }
}

/// What a node is.
#[derive(Debug, Clone)]
pub enum NodeKind {
    /// A regular file.
    File(Blob),
    /// A directory and its entries, keyed by comparison key.
    Dir(BTreeMap<String, Node>),
    /// A symbolic link and its target, as written.
    Symlink(String),
    /// A device, socket or pipe: listed as a file, but it is "not a file" to every operation
    /// that moves or changes file content.
    Special,
}

/// The wire name of a node's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FileType {
    /// A regular (or special) file.
    File,
    /// A directory.
    Directory,
    /// A symbolic link.
    Symlink,
}

/// Metadata every node carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    /// Last modification time.
    pub modified: OffsetDateTime,
    /// Last access time.
    pub accessed: OffsetDateTime,
    /// Creation time (reported on Windows).
    pub created: OffsetDateTime,
    /// POSIX owner uid.
    pub owner: u32,
    /// POSIX group gid.
    pub group: u32,
    /// POSIX permission bits (e.g. `0o644`).
    pub mode: u32,
    /// Windows hidden attribute.
    pub hidden: bool,
    /// Windows read-only attribute.
    pub read_only: bool,
    /// Windows access list: lower-case user names allowed in (administrators always are).
    /// `None` lets everyone in.
    pub acl: Option<Vec<String>>,
}

impl Meta {
    /// Metadata for a new node created at `now` by `user`.
    pub fn new_for(user: &GuestUser, now: OffsetDateTime, mode: u32) -> Self {
        Self {
            modified: now,
            accessed: now,
            created: now,
            owner: user.uid,
            group: user.gid,
            mode,
            hidden: false,
            read_only: false,
            acl: None,
        }
    }
}

/// One entry of the tree.
#[derive(Debug, Clone)]
pub struct Node {
    /// The name as created (case preserved).
    pub name: String,
    /// What it is.
    pub kind: NodeKind,
    /// Its metadata.
    pub meta: Meta,
}

impl Node {
    /// The wire type.
    pub fn file_type(&self) -> FileType {
        match self.kind {
            NodeKind::File(_) | NodeKind::Special => FileType::File,
            NodeKind::Dir(_) => FileType::Directory,
            NodeKind::Symlink(_) => FileType::Symlink,
        }
    }

    /// The size vCenter reports: content length for files, target length for links, 4096 for
    /// directories on Linux and 0 on Windows.
    pub fn size(&self, family: Family) -> u64 {
        match &self.kind {
            NodeKind::File(b) => b.len(),
            NodeKind::Special => 0,
            NodeKind::Symlink(t) => t.len() as u64,
            NodeKind::Dir(_) => match family {
                Family::Linux => 4096,
                Family::Windows => 0,
            },
        }
    }

    /// Bytes of file content in this node and below it.
    fn content_bytes(&self) -> u64 {
        bytes_of(&self.kind)
    }

    fn children(&self) -> Option<&BTreeMap<String, Node>> {
        match &self.kind {
            NodeKind::Dir(c) => Some(c),
            _ => None,
        }
    }

    fn children_mut(&mut self) -> Option<&mut BTreeMap<String, Node>> {
        match &mut self.kind {
            NodeKind::Dir(c) => Some(c),
            _ => None,
        }
    }
}

/// An account inside a guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestUser {
    /// Login name.
    pub name: String,
    /// Password for `USERNAME_PASSWORD` credentials.
    pub password: String,
    /// POSIX uid (0 is root). Windows guests use it only for bookkeeping.
    pub uid: u32,
    /// Primary gid.
    pub gid: u32,
    /// Supplementary gids.
    pub groups: Vec<u32>,
    /// Windows: member of Administrators (bypasses ACLs).
    pub admin: bool,
    /// Whether the user has an interactive desktop session in the guest.
    pub interactive: bool,
    /// The user's temporary directory (Windows `%TEMP%`); `None` uses the guest default.
    pub temp_dir: Option<String>,
}

impl GuestUser {
    fn is_superuser(&self, family: Family) -> bool {
        match family {
            Family::Linux => self.uid == 0,
            Family::Windows => self.admin,
        }
    }

    fn in_group(&self, gid: u32) -> bool {
        self.gid == gid || self.groups.contains(&gid)
    }
}

/// What an access needs from a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    Read = 4,
    Write = 2,
    Exec = 1,
}

/// Information about one node, as `Files.get` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    /// Type.
    pub file_type: FileType,
    /// Size in bytes.
    pub size: u64,
    /// Metadata.
    pub meta: Meta,
    /// Target, for symbolic links.
    pub symlink_target: Option<String>,
    /// The guest family (selects POSIX or Windows attributes).
    pub family: Family,
}

/// One entry of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListEntry {
    /// Name without leading directories.
    pub filename: String,
    /// Type.
    pub file_type: FileType,
    /// Size in bytes.
    pub size: u64,
}

/// A page of a listing, as `Files.list` returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPage {
    /// The entries on this page.
    pub files: Vec<ListEntry>,
    /// How many entries match in all.
    pub total: u64,
    /// Index of the first entry returned, if any.
    pub start_index: Option<u64>,
    /// Index of the last entry returned, if any.
    pub end_index: Option<u64>,
    /// Whether more entries remain after this page.
    pub more: bool,
}

/// Attribute changes for `Files.update` and uploads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttrUpdate {
    /// New modification time.
    pub modified: Option<OffsetDateTime>,
    /// New access time.
    pub accessed: Option<OffsetDateTime>,
    /// Windows changes.
    pub windows: Option<WindowsAttrs>,
    /// POSIX changes.
    pub posix: Option<PosixAttrs>,
}

/// Windows attribute changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WindowsAttrs {
    /// Hidden attribute.
    pub hidden: Option<bool>,
    /// Read-only attribute.
    pub read_only: Option<bool>,
}

/// POSIX attribute changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PosixAttrs {
    /// New owner uid.
    pub owner: Option<u32>,
    /// New group gid.
    pub group: Option<u32>,
    /// New permission bits.
    pub mode: Option<u32>,
}

/// Parses chmod(2) octal text (`"644"`, `"0644"`, `"4755"`).
pub fn parse_mode(text: &str) -> Option<u32> {
    if text.is_empty() || text.len() > 5 || !text.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return None;
    }
    u32::from_str_radix(text, 8).ok().filter(|m| *m <= 0o7777)
}

/// Renders permission bits as vCenter does: octal without a leading zero (`"644"`).
pub fn format_mode(mode: u32) -> String {
    format!("{mode:o}")
}

/// How a deferred guest filesystem is made.
type Recipe = std::sync::Arc<dyn Fn() -> GuestFs + Send + Sync>;

/// A guest filesystem that may be built on first use, so that a server with many VMs does not
/// pay at start for trees that nobody reads. It reads and writes as a [`GuestFs`] (through
/// `Deref`); a deferred one is built, once, by the first access.
pub struct LazyFs {
    recipe: Option<Recipe>,
    built: std::sync::OnceLock<GuestFs>,
}

impl LazyFs {
    /// A filesystem built by `recipe` when it is first used. The recipe must give the same tree
    /// whenever it runs (it captures its own time).
    pub fn deferred(recipe: impl Fn() -> GuestFs + Send + Sync + 'static) -> Self {
        Self {
            recipe: Some(std::sync::Arc::new(recipe)),
            built: std::sync::OnceLock::new(),
        }
    }

    /// Whether the tree has been built yet.
    pub fn is_built(&self) -> bool {
        self.built.get().is_some()
    }
}

impl From<GuestFs> for LazyFs {
    fn from(fs: GuestFs) -> Self {
        Self {
            recipe: None,
            built: std::sync::OnceLock::from(fs),
        }
    }
}

impl std::ops::Deref for LazyFs {
    type Target = GuestFs;

    fn deref(&self) -> &GuestFs {
        self.built.get_or_init(|| {
            let recipe = self
                .recipe
                .as_ref()
                .expect("an unbuilt LazyFs has a recipe");
            recipe()
        })
    }
}

impl std::ops::DerefMut for LazyFs {
    fn deref_mut(&mut self) -> &mut GuestFs {
        let _ = std::ops::Deref::deref(self);
        self.built.get_mut().expect("built just above")
    }
}

impl Clone for LazyFs {
    /// A built tree is copied; an unbuilt one shares the recipe and is built on its own.
    fn clone(&self) -> Self {
        match self.built.get() {
            Some(fs) => fs.clone().into(),
            None => Self {
                recipe: self.recipe.clone(),
                built: std::sync::OnceLock::new(),
            },
        }
    }
}

impl std::fmt::Debug for LazyFs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.built.get() {
            Some(fs) => fs.fmt(f),
            None => f.write_str("GuestFs(not built yet)"),
        }
    }
}

/// One guest's whole filesystem plus its disk.
#[derive(Debug, Clone)]
pub struct GuestFs {
    family: Family,
    /// `/` on Linux; on Windows a virtual root whose children are drives.
    root: Node,
    capacity: u64,
    used: u64,
}

impl GuestFs {
    /// An empty filesystem: `/` (mode 755, root-owned) or drive `C:\`.
    pub fn new(family: Family, capacity: u64, now: OffsetDateTime) -> Self {
        let meta = Meta {
            modified: now,
            accessed: now,
            created: now,
            owner: 0,
            group: 0,
            mode: 0o755,
            hidden: false,
            read_only: false,
            acl: None,
        };
        let mut root = Node {
            name: String::new(),
            kind: NodeKind::Dir(BTreeMap::new()),
            meta: meta.clone(),
        };
        if family == Family::Windows {
            root.children_mut().expect("root is a directory").insert(
                "c:".into(),
                Node {
                    name: "C:".into(),
                    kind: NodeKind::Dir(BTreeMap::new()),
                    meta,
                },
            );
        }
        Self {
            family,
            root,
            capacity,
            used: 0,
        }
    }

    /// The guest family.
    pub fn family(&self) -> Family {
        self.family
    }

    /// Disk capacity in bytes.
    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    /// Bytes used by file content.
    pub fn used(&self) -> u64 {
        self.used
    }

    /// Bytes free.
    pub fn free(&self) -> u64 {
        self.capacity.saturating_sub(self.used)
    }

    /// Recomputes `used` from the tree (a consistency check for tests).
    pub fn recount(&self) -> u64 {
        self.root.content_bytes()
    }

    /// Parses `raw` as a path of this guest.
    pub fn path(&self, raw: &str) -> Result<GuestPath, Fault> {
        GuestPath::parse(self.family, raw)
    }

    // ------------------------------------------------------------------ lookup

    /// Resolves intermediate symbolic links (and the last one too when `follow_last`), checking
    /// search permission on every directory passed through. Returns the canonical path of the
    /// node, which may not exist.
    fn resolve(
        &self,
        path: &GuestPath,
        user: &GuestUser,
        follow_last: bool,
    ) -> Result<GuestPath, Fault> {
        let shown = path.display();
        let mut hops = 0;
        let mut pending: Vec<String> = path.names.iter().rev().cloned().collect();
        let mut done = GuestPath {
            family: self.family,
            names: Vec::new(),
        };
        let mut node = &self.root;
        while let Some(name) = pending.pop() {
            let Some(children) = node.children() else {
                return Err(Fault::invalid(FileReason::NotADirectory, done.display()));
            };
            if !self.allowed(node, user, Want::Exec) {
                return Err(Fault::GuestAccessDenied { path: shown });
            }
            let Some(child) = children.get(&key(self.family, &name)) else {
                done.names.push(name);
                // The rest does not exist either; keep the names as asked.
                while let Some(rest) = pending.pop() {
                    done.names.push(rest);
                }
                return Ok(done);
            };
            match &child.kind {
                NodeKind::Symlink(target) if follow_last || !pending.is_empty() => {
                    hops += 1;
                    if hops > SYMLINK_HOPS {
                        return Err(Fault::InvalidPath {
                            path: shown,
                            why: "too many levels of symbolic links",
                        });
                    }
                    let target =
                        GuestPath::parse(self.family, &self.absolute_target(&done, target))?;
                    pending.extend(target.names.iter().rev().cloned());
                    done.names.clear();
                    // Targets are absolute after `absolute_target`: start again from the root.
                    node = &self.root;
                }
                _ => {
                    done.names.push(child.name.clone());
                    node = child;
                }
            }
        }
        Ok(done)
    }

    /// Makes a symlink target absolute relative to the directory holding the link.
    fn absolute_target(&self, dir: &GuestPath, target: &str) -> String {
        match self.family {
            Family::Linux if target.starts_with('/') => target.to_owned(),
            Family::Linux => format!("{}/{}", dir.display(), target),
            Family::Windows => target.to_owned(),
        }
    }

    fn node_at(&self, path: &GuestPath) -> Option<&Node> {
        let mut node = &self.root;
        for k in path.keys() {
            node = node.children()?.get(&k)?;
        }
        Some(node)
    }

    fn node_at_mut(&mut self, path: &GuestPath) -> Option<&mut Node> {
        let mut node = &mut self.root;
        for k in path.keys() {
            node = node.children_mut()?.get_mut(&k)?;
        }
        Some(node)
    }

    /// Looks up `path` for `user`: resolves links, checks traversal, and fails with
    /// `FILE_NOT_FOUND` when nothing is there.
    fn lookup(
        &self,
        path: &GuestPath,
        user: &GuestUser,
        follow_last: bool,
    ) -> Result<(GuestPath, &Node), Fault> {
        let real = self.resolve(path, user, follow_last)?;
        match self.node_at(&real) {
            Some(node) => Ok((real, node)),
            None => Err(Fault::not_found(path.display())),
        }
    }

    /// Whether `user` may do `want` to `node` itself (not its ancestors).
    fn allowed(&self, node: &Node, user: &GuestUser, want: Want) -> bool {
        if user.is_superuser(self.family) {
            return match self.family {
                Family::Linux => true,
                Family::Windows => !(want == Want::Write && node.meta.read_only),
            };
        }
        match self.family {
            Family::Linux => {
                let m = node.meta.mode;
                let bits = if node.meta.owner == user.uid {
                    m >> 6
                } else if user.in_group(node.meta.group) {
                    m >> 3
                } else {
                    m
                };
                bits & (want as u32) != 0
            }
            Family::Windows => {
                let listed = node
                    .meta
                    .acl
                    .as_ref()
                    .is_none_or(|acl| acl.iter().any(|u| u.eq_ignore_ascii_case(&user.name)));
                listed && !(want == Want::Write && node.meta.read_only)
            }
        }
    }

    /// The directory that will hold a new entry at `path`, checked for write access.
    /// Fails with `FILE_NOT_FOUND` (data: the parent) when the parent is missing.
    fn writable_parent(&self, path: &GuestPath, user: &GuestUser) -> Result<GuestPath, Fault> {
        let Some(parent) = path.parent() else {
            return Err(Fault::GuestAccessDenied {
                path: path.display(),
            });
        };
        let real_parent = self.resolve(&parent, user, true)?;
        let Some(dir) = self.node_at(&real_parent) else {
            return Err(Fault::not_found(parent.display()));
        };
        if dir.children().is_none() {
            return Err(Fault::invalid(FileReason::NotADirectory, parent.display()));
        }
        let writable = match self.family {
            // On Windows the read-only attribute of a directory does not stop entries being
            // added (as on real NTFS); only the ACL does.
            Family::Windows => self.allowed_ignoring_read_only(dir, user),
            Family::Linux => {
                self.allowed(dir, user, Want::Write) && self.allowed(dir, user, Want::Exec)
            }
        };
        if !writable {
            return Err(Fault::GuestAccessDenied {
                path: path.display(),
            });
        }
        Ok(real_parent)
    }

    fn allowed_ignoring_read_only(&self, node: &Node, user: &GuestUser) -> bool {
        self.allowed(node, user, Want::Read)
    }

    /// Whether `user` may remove the entry `name` from directory `dir` (POSIX sticky-bit rule
    /// included; on Windows the entry must not be read-only).
    fn may_remove(&self, dir: &Node, entry: &Node, user: &GuestUser) -> bool {
        match self.family {
            Family::Linux => {
                if user.uid == 0 {
                    return true;
                }
                let sticky = dir.meta.mode & 0o1000 != 0;
                self.allowed(dir, user, Want::Write)
                    && self.allowed(dir, user, Want::Exec)
                    && (!sticky || entry.meta.owner == user.uid || dir.meta.owner == user.uid)
            }
            Family::Windows => {
                self.allowed(dir, user, Want::Read) && self.allowed(entry, user, Want::Write)
            }
        }
    }

    // ------------------------------------------------------------------ queries

    /// `Files.get`: information about a file, directory or link (links are not followed).
    pub fn stat(&self, path: &GuestPath, user: &GuestUser) -> Result<FileInfo, Fault> {
        let (_, node) = self.lookup(path, user, false)?;
        Ok(self.info(node))
    }

    fn info(&self, node: &Node) -> FileInfo {
        FileInfo {
            file_type: node.file_type(),
            size: node.size(self.family),
            meta: node.meta.clone(),
            symlink_target: match &node.kind {
                NodeKind::Symlink(t) => Some(t.clone()),
                _ => None,
            },
            family: self.family,
        }
    }

    /// `Files.list`: a page of a directory's entries (or the one entry when `path` is a file),
    /// filtered by `matches` on the name.
    pub fn list(
        &self,
        path: &GuestPath,
        user: &GuestUser,
        index: u64,
        size: u64,
        matches: &dyn Fn(&str) -> bool,
    ) -> Result<ListPage, Fault> {
        let (_, node) = self.lookup(path, user, true)?;
        let entries: Vec<ListEntry> = match node.children() {
            Some(children) => {
                if !self.allowed(node, user, Want::Read) {
                    return Err(Fault::GuestAccessDenied {
                        path: path.display(),
                    });
                }
                children
                    .values()
                    .filter(|c| matches(&c.name))
                    .map(|c| self.entry(c))
                    .collect()
            }
            None => {
                let mut one = self.entry(node);
                one.filename = path.file_name().unwrap_or_default().to_owned();
                if matches(&one.filename) {
                    vec![one]
                } else {
                    vec![]
                }
            }
        };
        let total = entries.len() as u64;
        let files: Vec<ListEntry> = entries
            .into_iter()
            .skip(usize::try_from(index).unwrap_or(usize::MAX))
            .take(usize::try_from(size).unwrap_or(usize::MAX))
            .collect();
        let n = files.len() as u64;
        Ok(ListPage {
            total,
            start_index: (n > 0).then_some(index),
            end_index: (n > 0).then(|| index + n - 1),
            more: n > 0 && index + n < total,
            files,
        })
    }

    fn entry(&self, node: &Node) -> ListEntry {
        ListEntry {
            filename: node.name.clone(),
            file_type: node.file_type(),
            size: node.size(self.family),
        }
    }

    /// Checks that `user` may download `path` and returns its content.
    /// A directory, link or special file is "not a file".
    pub fn read(&self, path: &GuestPath, user: &GuestUser) -> Result<Blob, Fault> {
        let (_, node) = self.lookup(path, user, false)?;
        match &node.kind {
            NodeKind::File(blob) => {
                if self.allowed(node, user, Want::Read) {
                    Ok(blob.clone())
                } else {
                    Err(Fault::GuestAccessDenied {
                        path: path.display(),
                    })
                }
            }
            _ => Err(Fault::invalid(FileReason::NotAFile, path.display())),
        }
    }

    /// The content at `path` without permission checks (admin and library use).
    pub fn read_unchecked(&self, path: &GuestPath) -> Option<Blob> {
        match &self.node_at(path)?.kind {
            NodeKind::File(b) => Some(b.clone()),
            _ => None,
        }
    }

    /// Checks that `user` could upload `size` bytes to `path`, in vCenter's order: not a file,
    /// parent missing, already exists, no space, access.
    pub fn check_upload(
        &self,
        path: &GuestPath,
        user: &GuestUser,
        size: u64,
        overwrite: bool,
    ) -> Result<(), Fault> {
        let real = self.resolve(path, user, false)?;
        let existing = self.node_at(&real);
        if let Some(node) = existing {
            if !matches!(node.kind, NodeKind::File(_)) {
                return Err(Fault::invalid(FileReason::NotAFile, path.display()));
            }
        }
        let parent = path
            .parent()
            .ok_or_else(|| Fault::invalid(FileReason::NotAFile, path.display()))?;
        if self.node_at(&self.resolve(&parent, user, true)?).is_none() {
            return Err(Fault::not_found(parent.display()));
        }
        if let Some(node) = existing {
            if !overwrite {
                return Err(Fault::AlreadyExists {
                    path: path.display(),
                });
            }
            if !self.allowed(node, user, Want::Write) {
                return Err(Fault::GuestAccessDenied {
                    path: path.display(),
                });
            }
        }
        let reclaimed = existing.map_or(0, |n| n.content_bytes());
        if size > self.free() + reclaimed {
            return Err(Fault::NoSpace {
                path: path.display(),
                needed: size,
                free: self.free() + reclaimed,
            });
        }
        self.writable_parent(&real, user).map(|_| ())
    }

    // ------------------------------------------------------------------ changes

    /// Writes a whole file (upload completion, fixtures, admin): replaces any existing file, whose
    /// attributes are not preserved. Permission and existence checks are the caller's
    /// ([`GuestFs::check_upload`]); space is checked again here.
    pub fn write(&mut self, path: &GuestPath, blob: Blob, meta: Meta) -> Result<(), Fault> {
        let parent = path
            .parent()
            .ok_or_else(|| Fault::invalid(FileReason::NotAFile, path.display()))?;
        let name = path.file_name().unwrap_or_default().to_owned();
        let fam = self.family;
        let reclaimed = match self.node_at(path) {
            Some(Node {
                kind: NodeKind::File(b),
                ..
            }) => b.len(),
            Some(_) => return Err(Fault::invalid(FileReason::NotAFile, path.display())),
            None => 0,
        };
        if blob.len() > self.free() + reclaimed {
            return Err(Fault::NoSpace {
                path: path.display(),
                needed: blob.len(),
                free: self.free() + reclaimed,
            });
        }
        let len = blob.len();
        let dir = self
            .node_at_mut(&parent)
            .and_then(Node::children_mut)
            .ok_or_else(|| Fault::not_found(parent.display()))?;
        dir.insert(
            key(fam, &name),
            Node {
                name,
                kind: NodeKind::File(blob),
                meta,
            },
        );
        self.used = self.used - reclaimed + len;
        Ok(())
    }

    /// Inserts a node without checks (fixtures and admin), creating missing parents as
    /// root-owned 755 directories. Replaces what was there.
    pub fn insert(&mut self, path: &GuestPath, kind: NodeKind, meta: Meta) -> Result<(), Fault> {
        if path.is_root() {
            return Err(Fault::AlreadyExists {
                path: path.display(),
            });
        }
        let fam = self.family;
        let mut node = &mut self.root;
        let names = path.names.clone();
        let (last, dirs) = names.split_last().expect("non-root path has a name");
        for name in dirs {
            let children = node
                .children_mut()
                .ok_or_else(|| Fault::invalid(FileReason::NotADirectory, path.display()))?;
            node = children.entry(key(fam, name)).or_insert_with(|| Node {
                name: name.clone(),
                kind: NodeKind::Dir(BTreeMap::new()),
                meta: Meta {
                    mode: 0o755,
                    acl: None,
                    hidden: false,
                    read_only: false,
                    ..meta.clone()
                },
            });
        }
        let children = node
            .children_mut()
            .ok_or_else(|| Fault::invalid(FileReason::NotADirectory, path.display()))?;
        let added = bytes_of(&kind);
        let removed = children
            .insert(
                key(fam, last),
                Node {
                    name: last.clone(),
                    kind,
                    meta,
                },
            )
            .map_or(0, |n| n.content_bytes());
        self.used = self.used + added - removed;
        Ok(())
    }

    /// Removes a node without checks (admin). Returns whether something was removed.
    pub fn remove_unchecked(&mut self, path: &GuestPath) -> bool {
        let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
            return false;
        };
        let fam = self.family;
        let Some(removed) = self
            .node_at_mut(&parent)
            .and_then(Node::children_mut)
            .and_then(|c| c.remove(&key(fam, name)))
        else {
            return false;
        };
        self.used -= removed.content_bytes();
        true
    }

    /// `Files.createTemporary` and `Directories.createTemporary`: creates `prefix + random +
    /// suffix` in `parent` (or `default_dir`), asking `random` for a fresh middle part until the
    /// name is unused.
    #[expect(
        clippy::too_many_arguments,
        reason = "mirrors the vAPI operation's inputs"
    )]
    pub fn create_temporary(
        &mut self,
        user: &GuestUser,
        parent: Option<&GuestPath>,
        default_dir: &GuestPath,
        prefix: &str,
        suffix: &str,
        directory: bool,
        random: &mut dyn FnMut() -> String,
        now: OffsetDateTime,
    ) -> Result<GuestPath, Fault> {
        let dir = parent.unwrap_or(default_dir);
        let (real_dir, node) = self.lookup(dir, user, true)?;
        if node.children().is_none() {
            return Err(Fault::invalid(FileReason::NotADirectory, dir.display()));
        }
        for _ in 0..100 {
            let name = format!("{prefix}{}{suffix}", random());
            let candidate = real_dir.join(&name);
            if candidate.display().len() > max_len(self.family) || name.len() > NAME_MAX {
                return Err(Fault::invalid(FileReason::PathTooLong, candidate.display()));
            }
            if self.node_at(&candidate).is_some() {
                continue;
            }
            self.writable_parent(&candidate, user)?;
            let (kind, mode) = if directory {
                (NodeKind::Dir(BTreeMap::new()), 0o700)
            } else {
                (NodeKind::File(Blob::empty()), 0o600)
            };
            self.place(&candidate, kind, Meta::new_for(user, now, mode));
            return Ok(candidate);
        }
        Err(Fault::GuestBusy { vm: String::new() })
    }

    /// Puts a node whose parent is known to exist (no size change: new nodes are empty).
    fn place(&mut self, path: &GuestPath, kind: NodeKind, meta: Meta) {
        let parent = path.parent().expect("not the root");
        let name = path.file_name().expect("not the root").to_owned();
        let fam = self.family;
        if let Some(children) = self.node_at_mut(&parent).and_then(Node::children_mut) {
            children.insert(key(fam, &name), Node { name, kind, meta });
        }
    }

    /// `Directories.create`.
    pub fn mkdir(
        &mut self,
        path: &GuestPath,
        user: &GuestUser,
        parents: bool,
        now: OffsetDateTime,
    ) -> Result<(), Fault> {
        let real = self.resolve(path, user, true)?;
        if self.node_at(&real).is_some() || path.is_root() {
            return Err(Fault::AlreadyExists {
                path: path.display(),
            });
        }
        // Find the deepest existing ancestor; create the rest if allowed.
        let mut missing = vec![real.clone()];
        let mut cursor = real.parent();
        while let Some(p) = cursor {
            if self.node_at(&p).is_some() {
                break;
            }
            missing.push(p.clone());
            cursor = p.parent();
        }
        if missing.len() > 1 && !parents {
            return Err(Fault::not_found(
                path.parent().map(|p| p.display()).unwrap_or_default(),
            ));
        }
        for dir in missing.into_iter().rev() {
            self.writable_parent(&dir, user)?;
            self.place(
                &dir,
                NodeKind::Dir(BTreeMap::new()),
                Meta::new_for(user, now, 0o755),
            );
        }
        Ok(())
    }

    /// `Directories.delete`.
    pub fn rmdir(
        &mut self,
        path: &GuestPath,
        user: &GuestUser,
        recursive: bool,
    ) -> Result<(), Fault> {
        let (real, node) = self.lookup(path, user, false)?;
        let Some(children) = node.children() else {
            return Err(Fault::invalid(FileReason::NotADirectory, path.display()));
        };
        if real.is_root() {
            return Err(Fault::GuestAccessDenied {
                path: path.display(),
            });
        }
        if !children.is_empty() {
            if !recursive {
                return Err(Fault::DirectoryInUse {
                    path: path.display(),
                });
            }
            if !self.may_remove_tree(node, user) {
                return Err(Fault::GuestAccessDenied {
                    path: path.display(),
                });
            }
        }
        self.remove_checked(&real, user, path)
    }

    fn may_remove_tree(&self, dir: &Node, user: &GuestUser) -> bool {
        let Some(children) = dir.children() else {
            return true;
        };
        children.values().all(|c| {
            self.may_remove(dir, c, user)
                && (c.children().is_none()
                    || (self.allowed(c, user, Want::Read) && self.may_remove_tree(c, user)))
        })
    }

    fn remove_checked(
        &mut self,
        real: &GuestPath,
        user: &GuestUser,
        shown: &GuestPath,
    ) -> Result<(), Fault> {
        let parent = real.parent().expect("not the root");
        let dir = self.node_at(&parent).expect("parent of an existing node");
        let entry = self.node_at(real).expect("exists");
        if !self.may_remove(dir, entry, user) {
            return Err(Fault::GuestAccessDenied {
                path: shown.display(),
            });
        }
        self.remove_unchecked(real);
        Ok(())
    }

    /// `Files.delete`: removes a file or symbolic link.
    pub fn delete_file(&mut self, path: &GuestPath, user: &GuestUser) -> Result<(), Fault> {
        let (real, node) = self.lookup(path, user, false)?;
        if matches!(node.kind, NodeKind::Dir(_) | NodeKind::Special) {
            return Err(Fault::invalid(FileReason::NotAFile, path.display()));
        }
        self.remove_checked(&real, user, path)
    }

    /// `Files.move`: renames a file or symbolic link, replacing a file at `to` when `overwrite`.
    pub fn move_file(
        &mut self,
        from: &GuestPath,
        to: &GuestPath,
        user: &GuestUser,
        overwrite: bool,
    ) -> Result<(), Fault> {
        let (real_from, node) = self.lookup(from, user, false)?;
        if matches!(node.kind, NodeKind::Dir(_) | NodeKind::Special) {
            return Err(Fault::invalid(FileReason::NotAFile, from.display()));
        }
        let real_to = self.resolve(to, user, false)?;
        self.writable_parent(&real_to, user)?;
        if real_to == real_from {
            return Ok(());
        }
        if let Some(existing) = self.node_at(&real_to) {
            if !overwrite {
                return Err(Fault::AlreadyExists { path: to.display() });
            }
            if existing.children().is_some() {
                return Err(Fault::invalid(FileReason::NotAFile, to.display()));
            }
        }
        self.relocate(&real_from, &real_to, user, from)
    }

    /// `Directories.move`: renames a directory; `to` must not exist.
    pub fn move_dir(
        &mut self,
        from: &GuestPath,
        to: &GuestPath,
        user: &GuestUser,
    ) -> Result<(), Fault> {
        let (real_from, node) = self.lookup(from, user, false)?;
        if node.children().is_none() {
            return Err(Fault::invalid(FileReason::NotADirectory, from.display()));
        }
        let real_to = self.resolve(to, user, false)?;
        self.writable_parent(&real_to, user)?;
        if self.node_at(&real_to).is_some() {
            return Err(Fault::AlreadyExists { path: to.display() });
        }
        if real_from.is_root() || real_to.is_within(&real_from) {
            return Err(Fault::InvalidPath {
                path: to.display(),
                why: "a directory cannot be moved into itself",
            });
        }
        self.relocate(&real_from, &real_to, user, from)
    }

    /// Detaches the node at `from` and attaches it at `to` under its new name.
    fn relocate(
        &mut self,
        from: &GuestPath,
        to: &GuestPath,
        user: &GuestUser,
        shown: &GuestPath,
    ) -> Result<(), Fault> {
        let parent = from.parent().expect("not the root");
        let dir = self.node_at(&parent).expect("exists");
        let entry = self.node_at(from).expect("exists");
        if !self.may_remove(dir, entry, user) {
            return Err(Fault::GuestAccessDenied {
                path: shown.display(),
            });
        }
        let fam = self.family;
        let mut node = self
            .node_at_mut(&parent)
            .and_then(Node::children_mut)
            .and_then(|c| c.remove(&key(fam, from.file_name().expect("not the root"))))
            .expect("exists");
        let new_name = to.file_name().expect("not the root").to_owned();
        node.name.clone_from(&new_name);
        let to_parent = to.parent().expect("not the root");
        let children = self
            .node_at_mut(&to_parent)
            .and_then(Node::children_mut)
            .expect("checked by writable_parent");
        if let Some(replaced) = children.insert(key(fam, &new_name), node) {
            self.used -= replaced.content_bytes();
        }
        Ok(())
    }

    /// `Files.update`: changes times and attributes of a file, directory or a link's target.
    pub fn update(
        &mut self,
        path: &GuestPath,
        user: &GuestUser,
        attrs: &AttrUpdate,
    ) -> Result<(), Fault> {
        match (self.family, &attrs.windows, &attrs.posix) {
            (Family::Linux, Some(_), _) => {
                return Err(Fault::AttributesNotApplicable { given: "windows" });
            }
            (Family::Windows, _, Some(_)) => {
                return Err(Fault::AttributesNotApplicable { given: "posix" });
            }
            _ => {}
        }
        let (real, node) = self.lookup(path, user, true)?;
        if matches!(node.kind, NodeKind::Special) {
            return Err(Fault::invalid(FileReason::NotAFile, path.display()));
        }
        let denied = || Fault::GuestAccessDenied {
            path: path.display(),
        };
        let owner_or_super = user.is_superuser(self.family)
            || match self.family {
                Family::Linux => node.meta.owner == user.uid,
                Family::Windows => self.allowed(node, user, Want::Read),
            };
        if !owner_or_super {
            return Err(denied());
        }
        if let Some(posix) = &attrs.posix {
            let chown = posix.owner.is_some_and(|o| o != node.meta.owner);
            let chgrp = posix
                .group
                .is_some_and(|g| g != node.meta.group && !user.in_group(g));
            if user.uid != 0 && (chown || chgrp) {
                return Err(denied());
            }
        }
        let node = self.node_at_mut(&real).expect("looked up");
        if let Some(t) = attrs.modified {
            node.meta.modified = t;
        }
        if let Some(t) = attrs.accessed {
            node.meta.accessed = t;
        }
        if let Some(w) = &attrs.windows {
            if let Some(h) = w.hidden {
                node.meta.hidden = h;
            }
            if let Some(r) = w.read_only {
                node.meta.read_only = r;
            }
        }
        if let Some(p) = &attrs.posix {
            if let Some(o) = p.owner {
                node.meta.owner = o;
            }
            if let Some(g) = p.group {
                node.meta.group = g;
            }
            if let Some(m) = p.mode {
                node.meta.mode = m;
            }
        }
        Ok(())
    }

    /// Every node below the root, depth first, with its path (fixture snapshots).
    pub fn walk(&self) -> Vec<(GuestPath, &Node)> {
        let mut out = Vec::new();
        let start = GuestPath {
            family: self.family,
            names: Vec::new(),
        };
        Self::walk_into(&self.root, &start, &mut out);
        out
    }

    fn walk_into<'a>(node: &'a Node, at: &GuestPath, out: &mut Vec<(GuestPath, &'a Node)>) {
        if let Some(children) = node.children() {
            for child in children.values() {
                let p = at.join(&child.name);
                out.push((p.clone(), child));
                Self::walk_into(child, &p, out);
            }
        }
    }
}

/// Bytes of file content in a node of this kind, including everything below a directory.
fn bytes_of(kind: &NodeKind) -> u64 {
    match kind {
        NodeKind::File(b) => b.len(),
        NodeKind::Dir(children) => children.values().map(Node::content_bytes).sum(),
        NodeKind::Symlink(_) | NodeKind::Special => 0,
    }
}

fn max_len(family: Family) -> usize {
    match family {
        Family::Linux => LINUX_PATH_MAX,
        Family::Windows => WINDOWS_PATH_MAX,
    }
}

impl GuestFs {
    /// Information about the node at `path`, without permission checks or link resolution.
    pub fn stat_unchecked(&self, path: &GuestPath) -> Option<FileInfo> {
        self.node_at(path).map(|n| self.info(n))
    }

    /// Replaces a node's metadata without checks (fixtures, admin).
    pub fn set_meta_unchecked(&mut self, path: &GuestPath, meta: Meta) -> bool {
        match self.node_at_mut(path) {
            Some(n) => {
                n.meta = meta;
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::DEFAULT_MANUAL_START as T0;

    fn user(name: &str, uid: u32) -> GuestUser {
        GuestUser {
            name: name.into(),
            password: String::new(),
            uid,
            gid: uid,
            groups: vec![],
            admin: false,
            interactive: false,
            temp_dir: None,
        }
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
        lazy.remove_unchecked(&p);
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
        fs.insert(&p("/etc"), NodeKind::Dir(BTreeMap::new()), dir(0o755, 0))
            .unwrap();
        fs.insert(&p("/root"), NodeKind::Dir(BTreeMap::new()), dir(0o700, 0))
            .unwrap();
        fs.insert(&p("/tmp"), NodeKind::Dir(BTreeMap::new()), dir(0o1777, 0))
            .unwrap();
        fs.insert(
            &p("/etc/hosts"),
            NodeKind::File(Blob::Bytes(Bytes::from_static(b"0123456789"))),
            dir(0o644, 0),
        )
        .unwrap();
        fs.insert(
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
        fs.insert(&lp("/etc/shadow"), NodeKind::File(Blob::empty()), meta)
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
        fs.insert(&wp("C:\\Users\\bob"), NodeKind::Dir(BTreeMap::new()), acl)
            .unwrap();
        let ro = Meta {
            read_only: true,
            ..Meta::new_for(&bob, T0, 0)
        };
        fs.insert(
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
}
