//! Owns the nodes of a guest tree (files, directories, links, special files), their metadata,
//! and the shapes queries return (file information, listing pages, attribute changes).

use std::collections::BTreeMap;

use time::OffsetDateTime;

use super::{Blob, Family, GuestUser};

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
    pub(super) fn content_bytes(&self) -> u64 {
        bytes_of(&self.kind)
    }

    pub(super) fn children(&self) -> Option<&BTreeMap<String, Node>> {
        match &self.kind {
            NodeKind::Dir(c) => Some(c),
            _ => None,
        }
    }

    pub(super) fn children_mut(&mut self) -> Option<&mut BTreeMap<String, Node>> {
        match &mut self.kind {
            NodeKind::Dir(c) => Some(c),
            _ => None,
        }
    }
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
    /// The entry's whole information (metadata, link target), only when the listing asked for
    /// it: vim25's `ListFilesInGuest` reports attributes per entry, `Files.list` does not.
    pub info: Option<Box<FileInfo>>,
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

/// Bytes of file content in a node of this kind, including everything below a directory.
pub(super) fn bytes_of(kind: &NodeKind) -> u64 {
    match kind {
        NodeKind::File(b) => b.len(),
        NodeKind::Dir(children) => children.values().map(Node::content_bytes).sum(),
        NodeKind::Symlink(_) | NodeKind::Special => 0,
    }
}
