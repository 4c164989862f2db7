//! Owns one guest's tree: lookup with symbolic links, the queries (stat, list, read) and the
//! changes (write, create, move, delete, update) each checked as the guest would.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use super::access::Want;
use super::node::bytes_of;
use super::path::{key, max_len, name_problem};
use super::{
    AttrUpdate, Blob, Family, FileInfo, GuestPath, GuestUser, ListEntry, ListPage, Meta, NAME_MAX,
    Node, NodeKind, PosixAttrs,
};
use crate::model::fault::{Fault, FileReason};

/// How many symbolic links one lookup may follow before giving up (Linux's ELOOP bound).
const SYMLINK_HOPS: usize = 40;

/// The largest file the guest's filesystem holds: 16 TiB, ext4's limit with 4 KiB blocks and
/// NTFS's with 4 KiB clusters. A bigger upload is refused as "too large" (`EFBIG`) whatever room
/// the disk has.
const FILE_SIZE_MAX: u64 = 16 << 40;

/// One guest's whole filesystem plus its disk.
#[derive(Debug, Clone)]
pub struct GuestFs {
    pub(super) family: Family,
    /// `/` on Linux; on Windows a virtual root whose children are drives.
    pub(super) root: Node,
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
    pub(super) fn resolve(
        &self,
        path: &GuestPath,
        user: &GuestUser,
        follow_last: bool,
    ) -> Result<GuestPath, Fault> {
        self.resolve_as(path, Some(user), follow_last)
    }

    /// [`GuestFs::resolve`] for `user`, or ignoring permissions when `user` is `None`.
    fn resolve_as(
        &self,
        path: &GuestPath,
        user: Option<&GuestUser>,
        follow_last: bool,
    ) -> Result<GuestPath, Fault> {
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
            if user.is_some_and(|u| !self.allowed(node, u, Want::Exec)) {
                return Err(Fault::GuestAccessDenied {
                    path: path.display(),
                });
            }
            let Some(child) = children.get(key(self.family, &name).as_ref()) else {
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
                            path: path.display(),
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

    /// Where `path` really is for `user`: its directories' symbolic links resolved (the last
    /// name is kept as it is), with search permission checked on the way. Transfers remember
    /// this path, so that `/guestFile` reaches the file the checks were made on.
    pub fn real_path(&self, path: &GuestPath, user: &GuestUser) -> Result<GuestPath, Fault> {
        self.resolve(path, user, false)
    }

    /// Where `path` really is, ignoring permissions (for comparing paths, as the busy check
    /// does); a path that cannot be resolved is returned as it is.
    pub fn real_path_ignoring_permissions(&self, path: &GuestPath) -> GuestPath {
        self.resolve_as(path, None, false)
            .unwrap_or_else(|_| path.clone())
    }

    /// Makes a symlink target absolute relative to the directory holding the link.
    fn absolute_target(&self, dir: &GuestPath, target: &str) -> String {
        match self.family {
            Family::Linux if target.starts_with('/') => target.to_owned(),
            Family::Linux => format!("{}/{}", dir.display(), target),
            Family::Windows => target.to_owned(),
        }
    }

    pub(super) fn node_at(&self, path: &GuestPath) -> Option<&Node> {
        let mut node = &self.root;
        for k in path.keys() {
            node = node.children()?.get(k.as_ref())?;
        }
        Some(node)
    }

    pub(super) fn node_at_mut(&mut self, path: &GuestPath) -> Option<&mut Node> {
        let mut node = &mut self.root;
        for k in path.keys() {
            node = node.children_mut()?.get_mut(k.as_ref())?;
        }
        Some(node)
    }

    /// Looks up `path` for `user`: resolves links, checks traversal, and fails with
    /// `FILE_NOT_FOUND` when nothing is there.
    pub(super) fn lookup(
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
    /// filtered by `matches` on the name. Entries carry their whole information only when
    /// `detailed`; only the entries on the page are built.
    pub fn list(
        &self,
        path: &GuestPath,
        user: &GuestUser,
        index: u64,
        size: u64,
        detailed: bool,
        matches: &dyn Fn(&str) -> bool,
    ) -> Result<ListPage, Fault> {
        let (_, node) = self.lookup(path, user, true)?;
        let entry = |n: &Node, name: &str| ListEntry {
            filename: name.to_owned(),
            file_type: n.file_type(),
            size: n.size(self.family),
            info: detailed.then(|| Box::new(self.info(n))),
        };
        let skip = usize::try_from(index).unwrap_or(usize::MAX);
        let take = usize::try_from(size).unwrap_or(usize::MAX);
        let (total, files) = match node.children() {
            Some(children) => {
                if !self.allowed(node, user, Want::Read) {
                    return Err(Fault::GuestAccessDenied {
                        path: path.display(),
                    });
                }
                // One pass counts the matching entries and builds those of the page, into room
                // made once.
                let mut files = Vec::with_capacity(children.len().saturating_sub(skip).min(take));
                let mut total = 0;
                for c in children.values().filter(|c| matches(&c.name)) {
                    if total >= skip && files.len() < take {
                        files.push(entry(c, &c.name));
                    }
                    total += 1;
                }
                (total as u64, files)
            }
            None => {
                let name = path.file_name().unwrap_or_default();
                if matches(name) {
                    (
                        1,
                        [entry(node, name)]
                            .into_iter()
                            .skip(skip)
                            .take(take)
                            .collect(),
                    )
                } else {
                    (0, Vec::new())
                }
            }
        };
        let n = files.len() as u64;
        Ok(ListPage {
            total,
            start_index: (n > 0).then_some(index),
            end_index: (n > 0).then(|| index + n - 1),
            more: n > 0 && index + n < total,
            files,
        })
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
    pub fn read_ignoring_permissions(&self, path: &GuestPath) -> Option<Blob> {
        match &self.node_at(path)?.kind {
            NodeKind::File(b) => Some(b.clone()),
            _ => None,
        }
    }

    /// Checks that `user` could upload `size` bytes to `path` with the POSIX ids and mode
    /// `posix` asks for, in vCenter's order: not a file, parent missing, already exists, too
    /// large for the filesystem, no space, access. The new file is the uploader's, so the ids follow the same rule as a
    /// `Files.update` of a file they own.
    pub fn check_upload(
        &self,
        path: &GuestPath,
        user: &GuestUser,
        size: u64,
        overwrite: bool,
        posix: Option<&PosixAttrs>,
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
            // The upload replaces the file (its attributes are not kept): writing it and
            // removing it from its directory must both be allowed (the sticky bit included).
            let dir = self
                .node_at(&real.parent().expect("an existing file is not the root"))
                .expect("the parent of an existing file exists");
            if !self.allowed(node, user, Want::Write) || !self.may_remove(dir, node, user) {
                return Err(Fault::GuestAccessDenied {
                    path: path.display(),
                });
            }
        }
        if size > FILE_SIZE_MAX {
            return Err(Fault::invalid(FileReason::FileTooLarge, path.display()));
        }
        let reclaimed = existing.map_or(0, |n| n.content_bytes());
        if size > self.free() + reclaimed {
            return Err(Fault::NoSpace {
                path: path.display(),
                needed: size,
                free: self.free() + reclaimed,
            });
        }
        if posix.is_some_and(|p| !self.may_set_ids(user, user.uid, user.gid, p)) {
            return Err(Fault::GuestAccessDenied {
                path: path.display(),
            });
        }
        self.writable_parent(&real, user).map(|_| ())
    }

    // ------------------------------------------------------------------ changes

    /// Writes a whole file (upload completion, fixtures, admin): replaces any existing file, whose
    /// attributes are not preserved. Permission and existence checks are the caller's
    /// ([`GuestFs::check_upload`]); space is checked again here. Links among `path`'s
    /// directories are followed, as the checks followed them.
    pub fn write(&mut self, path: &GuestPath, blob: Blob, meta: Meta) -> Result<(), Fault> {
        let path = &self.real_path_ignoring_permissions(path);
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
            key(fam, &name).into_owned(),
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
    pub fn insert_ignoring_permissions(
        &mut self,
        path: &GuestPath,
        kind: NodeKind,
        meta: Meta,
    ) -> Result<(), Fault> {
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
            node = children
                .entry(key(fam, name).into_owned())
                .or_insert_with(|| Node {
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
                key(fam, last).into_owned(),
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
    pub fn remove_ignoring_permissions(&mut self, path: &GuestPath) -> bool {
        let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
            return false;
        };
        let fam = self.family;
        let Some(removed) = self
            .node_at_mut(&parent)
            .and_then(Node::children_mut)
            .and_then(|c| c.remove(key(fam, name).as_ref()))
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
        // The name is made inside the directory: a prefix or suffix that would put it elsewhere,
        // or that the guest forbids in a name, is refused before anything is looked at.
        for (field, part) in [("prefix", prefix), ("suffix", suffix)] {
            if let Some(why) = name_problem(self.family, part) {
                return Err(Fault::InvalidName {
                    field,
                    value: part.replace('\0', "\\0"),
                    why,
                });
            }
        }
        let dir = parent.unwrap_or(default_dir);
        let (real_dir, node) = self.lookup(dir, user, true)?;
        if node.children().is_none() {
            return Err(Fault::invalid(FileReason::NotADirectory, dir.display()));
        }
        for _ in 0..100 {
            let name = format!("{prefix}{}{suffix}", random());
            if let Some(why) = name_problem(self.family, &name) {
                return Err(Fault::InvalidName {
                    field: "prefix and suffix",
                    value: name,
                    why,
                });
            }
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
            children.insert(key(fam, &name).into_owned(), Node { name, kind, meta });
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
        self.remove_ignoring_permissions(real);
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
            // Replacing an entry removes it: the same rule as deleting it (the sticky bit, a
            // read-only file on Windows).
            let to_dir = self
                .node_at(&real_to.parent().expect("an existing entry is not the root"))
                .expect("the parent of an existing entry exists");
            if !self.may_remove(to_dir, existing, user) {
                return Err(Fault::GuestAccessDenied { path: to.display() });
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
            .and_then(|c| c.remove(key(fam, from.file_name().expect("not the root")).as_ref()))
            .expect("exists");
        let new_name = to.file_name().expect("not the root").to_owned();
        node.name.clone_from(&new_name);
        let to_parent = to.parent().expect("not the root");
        let children = self
            .node_at_mut(&to_parent)
            .and_then(Node::children_mut)
            .expect("checked by writable_parent");
        if let Some(replaced) = children.insert(key(fam, &new_name).into_owned(), node) {
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
            if !self.may_set_ids(user, node.meta.owner, node.meta.group, posix) {
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

impl GuestFs {
    /// Information about the node at `path`, without permission checks or link resolution.
    pub fn stat_ignoring_permissions(&self, path: &GuestPath) -> Option<FileInfo> {
        self.node_at(path).map(|n| self.info(n))
    }

    /// Replaces a node's metadata without checks (fixtures, admin).
    pub fn set_meta_ignoring_permissions(&mut self, path: &GuestPath, meta: Meta) -> bool {
        match self.node_at_mut(path) {
            Some(n) => {
                n.meta = meta;
                true
            }
            None => false,
        }
    }
}
