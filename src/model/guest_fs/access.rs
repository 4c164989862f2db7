//! Owns the guest's permission rules: accounts, POSIX owner/group/other bits with the sticky
//! bit and root, and Windows ACLs, administrators and the read-only attribute.

use super::node::Node;
use super::{Family, GuestFs, GuestPath, PosixAttrs};
use crate::model::fault::{Fault, FileReason};

/// An account inside a guest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
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
    /// A Linux-style account for tests: `name` with uid and gid `uid`, no password, groups or
    /// desktop session.
    #[cfg(test)]
    pub(crate) fn plain(name: &str, uid: u32) -> Self {
        Self {
            name: name.into(),
            uid,
            gid: uid,
            ..Self::default()
        }
    }

    /// Whether the user is the guest's superuser: uid 0 on Linux, an administrator on Windows.
    pub fn is_superuser(&self, family: Family) -> bool {
        match family {
            Family::Linux => self.uid == 0,
            Family::Windows => self.admin,
        }
    }

    pub(super) fn in_group(&self, gid: u32) -> bool {
        self.gid == gid || self.groups.contains(&gid)
    }
}

/// What an access needs from a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Want {
    Read = 4,
    Write = 2,
    Exec = 1,
}

impl GuestFs {
    /// Whether `user` may give a node whose ids are `owner` and `group` the ids `posix` asks
    /// for: only root changes an owner, and others may set the group only to one of their own.
    /// `Files.update` and uploads both ask this.
    pub(super) fn may_set_ids(
        &self,
        user: &GuestUser,
        owner: u32,
        group: u32,
        posix: &PosixAttrs,
    ) -> bool {
        if user.is_superuser(Family::Linux) {
            return true;
        }
        let chown = posix.owner.is_some_and(|o| o != owner);
        let chgrp = posix.group.is_some_and(|g| g != group && !user.in_group(g));
        !(chown || chgrp)
    }

    /// Whether `user` may do `want` to `node` itself (not its ancestors).
    pub(super) fn allowed(&self, node: &Node, user: &GuestUser, want: Want) -> bool {
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
    pub(super) fn writable_parent(
        &self,
        path: &GuestPath,
        user: &GuestUser,
    ) -> Result<GuestPath, Fault> {
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
    pub(super) fn may_remove(&self, dir: &Node, entry: &Node, user: &GuestUser) -> bool {
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

    pub(super) fn may_remove_tree(&self, dir: &Node, user: &GuestUser) -> bool {
        let Some(children) = dir.children() else {
            return true;
        };
        children.values().all(|c| {
            self.may_remove(dir, c, user)
                && (c.children().is_none()
                    || (self.allowed(c, user, Want::Read) && self.may_remove_tree(c, user)))
        })
    }
}
