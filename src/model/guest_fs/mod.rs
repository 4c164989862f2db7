//! Owns the fake guest filesystem: guest paths per OS family, file content, the tree of nodes,
//! the guest's permission rules, and the lazily built tree each VM holds.

mod access;
mod blob;
mod lazy;
mod node;
mod path;
mod tree;

#[cfg(test)]
mod tests;

pub use access::GuestUser;
pub use blob::{Blob, IN_MEMORY_MAX, SpilledFile};
pub use lazy::LazyFs;
pub use node::{
    AttrUpdate, FileInfo, FileType, ListEntry, ListPage, Meta, Node, NodeKind, PosixAttrs,
    WindowsAttrs, format_mode, parse_mode,
};
pub use path::{GuestPath, NAME_MAX, key as name_key};
pub use tree::GuestFs;

/// The guest operating system family, which decides path syntax and permission rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// POSIX guest: `/` paths, case-sensitive, owner/group/mode permissions.
    Linux,
    /// Windows guest: `C:\` paths, case-insensitive, hidden/read-only attributes and simple ACLs.
    Windows,
}
