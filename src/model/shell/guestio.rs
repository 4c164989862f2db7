//! Owns how the shell touches the guest filesystem: path resolution against the working
//! directory, permission checks with the caller's rights, reading bounded prefixes, opening
//! redirection targets and appending to them without copying the whole file each time.
//!
//! Every change goes through `GuestFs`'s checked operations or re-checks the caller's rights
//! from the node's metadata first; nothing here bypasses a permission.

use bytes::{Bytes, BytesMut};
use time::OffsetDateTime;

use crate::model::fault::{Fault, FileReason};
use crate::model::guest_fs::{
    Blob, Family, FileInfo, FileType, GuestFs, GuestPath, GuestUser, Meta,
};

/// The largest file an append rewrites (appending to a bigger file fails as "File too large").
pub const MAX_APPEND_BASE: u64 = 64 << 20;

/// How many symbolic links a lookup of the last name follows.
const LINK_HOPS: usize = 8;

/// What an access needs, as permission bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// Read.
    Read,
    /// Write.
    Write,
    /// Execute (or search, for a directory).
    Exec,
}

/// Whether `user` may do `want` to a node with `meta`, by the guest's rules: POSIX owner,
/// group and other bits (root may do anything but execute a file with no execute bit), or on
/// Windows the access list and the read-only attribute (administrators pass the list).
pub fn may(family: Family, meta: &Meta, file_type: FileType, user: &GuestUser, want: Want) -> bool {
    match family {
        Family::Linux => {
            let bit = match want {
                Want::Read => 4,
                Want::Write => 2,
                Want::Exec => 1,
            };
            if user.uid == 0 {
                return want != Want::Exec
                    || file_type == FileType::Directory
                    || meta.mode & 0o111 != 0;
            }
            let shift = if meta.owner == user.uid {
                6
            } else if meta.group == user.gid || user.groups.contains(&meta.group) {
                3
            } else {
                0
            };
            (meta.mode >> shift) & bit != 0
        }
        Family::Windows => {
            let listed = user.admin
                || meta
                    .acl
                    .as_ref()
                    .is_none_or(|acl| acl.iter().any(|u| u.eq_ignore_ascii_case(&user.name)));
            listed && !(want == Want::Write && meta.read_only)
        }
    }
}

/// The home directory of a guest account: `/root` or `/home/NAME`, `C:\Users\NAME`.
pub fn home_dir(family: Family, user: &GuestUser) -> String {
    match family {
        Family::Linux if user.uid == 0 => "/root".into(),
        Family::Linux => format!("/home/{}", user.name),
        Family::Windows => format!("C:\\Users\\{}", user.name),
    }
}

/// Resolves `arg` against the working directory `cwd`, as the guest's shell would.
pub fn resolve(cwd: &GuestPath, arg: &str) -> Result<GuestPath, Fault> {
    let family = cwd.family();
    let raw = match family {
        Family::Linux if arg.starts_with('/') => arg.to_owned(),
        Family::Linux => format!("{}/{}", cwd.display(), arg),
        Family::Windows => {
            let b = arg.as_bytes();
            if b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' {
                if b.len() == 2 || b[2] == b'\\' || b[2] == b'/' {
                    arg.to_owned()
                } else {
                    format!("{}\\{}", &arg[..2], &arg[2..])
                }
            } else if arg.starts_with('\\') || arg.starts_with('/') {
                let drive = cwd.display();
                format!("{}{}", &drive[..2.min(drive.len())], arg)
            } else {
                format!("{}\\{}", cwd.display().trim_end_matches('\\'), arg)
            }
        }
    };
    GuestPath::parse(family, &raw)
}

/// Whether `arg`, a redirection target as written, names the guest's null device:
/// `/dev/null` on Linux (also reached through `cd /dev`), `NUL` on Windows in any directory
/// and any case (Windows reserves the name, so it is never a file).
pub fn is_null_device(family: Family, cwd: &GuestPath, arg: &str) -> bool {
    match family {
        Family::Linux => resolve(cwd, arg).is_ok_and(|p| p.display() == "/dev/null"),
        Family::Windows => {
            let name = arg.rsplit(['\\', '/']).next().unwrap_or(arg);
            let stem = name.split('.').next().unwrap_or(name);
            stem.trim_end().eq_ignore_ascii_case("nul")
        }
    }
}

/// Looks `path` up for `user`, following symbolic links in the last name too. Returns the
/// path of the node reached and its information.
pub fn follow(
    fs: &GuestFs,
    path: &GuestPath,
    user: &GuestUser,
) -> Result<(GuestPath, FileInfo), Fault> {
    let mut at = path.clone();
    for _ in 0..=LINK_HOPS {
        let info = fs.stat(&at, user)?;
        let Some(target) = info
            .symlink_target
            .clone()
            .filter(|_| info.file_type == FileType::Symlink)
        else {
            return Ok((at, info));
        };
        let dir = at.parent().unwrap_or_else(|| at.clone());
        at = resolve(&dir, &target)?;
    }
    Err(Fault::InvalidPath {
        path: path.display(),
        why: "too many levels of symbolic links",
    })
}

/// The guest's words for a fault, as its shell prints them.
pub fn message(family: Family, fault: &Fault) -> &'static str {
    let linux = family == Family::Linux;
    match fault {
        Fault::File {
            reason: FileReason::FileNotFound,
            ..
        } => {
            if linux {
                "No such file or directory"
            } else {
                "The system cannot find the file specified."
            }
        }
        Fault::GuestAccessDenied { .. } => {
            if linux {
                "Permission denied"
            } else {
                "Access is denied."
            }
        }
        Fault::File {
            reason: FileReason::NotADirectory,
            ..
        } => {
            if linux {
                "Not a directory"
            } else {
                "The directory name is invalid."
            }
        }
        Fault::File {
            reason: FileReason::NotAFile,
            ..
        } => {
            if linux {
                "Is a directory"
            } else {
                "Access is denied."
            }
        }
        Fault::File {
            reason: FileReason::PathTooLong,
            ..
        } => {
            if linux {
                "File name too long"
            } else {
                "The filename or extension is too long."
            }
        }
        Fault::NoSpace { .. }
        | Fault::File {
            reason: FileReason::NoDiskSpace,
            ..
        } => {
            if linux {
                "No space left on device"
            } else {
                "There is not enough space on the disk."
            }
        }
        Fault::File {
            reason: FileReason::FileTooLarge,
            ..
        } => {
            if linux {
                "File too large"
            } else {
                "The file is too large."
            }
        }
        Fault::AlreadyExists { .. } => {
            if linux {
                "File exists"
            } else {
                "A duplicate file name exists, or the file cannot be found."
            }
        }
        Fault::DirectoryInUse { .. }
        | Fault::File {
            reason: FileReason::DirectoryNotEmpty,
            ..
        } => {
            if linux {
                "Directory not empty"
            } else {
                "The directory is not empty."
            }
        }
        _ => {
            if linux {
                "Invalid argument"
            } else {
                "The parameter is incorrect."
            }
        }
    }
}

/// At most `max` bytes from the start of `blob` (none if its spill file cannot be read).
pub fn prefix(blob: &Blob, max: usize) -> Vec<u8> {
    blob.prefix(max).unwrap_or_default()
}

/// Reads at most `max` bytes of the file at `path` for `user` (links followed).
pub fn read(
    fs: &GuestFs,
    path: &GuestPath,
    user: &GuestUser,
    max: usize,
) -> Result<Vec<u8>, Fault> {
    let (real, info) = follow(fs, path, user)?;
    if info.file_type == FileType::Directory {
        return Err(Fault::invalid(FileReason::NotAFile, path.display()));
    }
    let blob = fs.read(&real, user)?;
    Ok(prefix(&blob, max))
}

/// Reads the whole blob at `path` for `user` (links followed), for copies.
pub fn read_blob(
    fs: &GuestFs,
    path: &GuestPath,
    user: &GuestUser,
) -> Result<(Blob, FileInfo), Fault> {
    let (real, info) = follow(fs, path, user)?;
    if info.file_type == FileType::Directory {
        return Err(Fault::invalid(FileReason::NotAFile, path.display()));
    }
    Ok((fs.read(&real, user)?, info))
}

/// Writes `blob` as the whole content of `path` for `user`: an existing file keeps its
/// metadata (and needs write permission), a new one is created with `mode` (and needs a
/// writable parent). Links in the last name are followed.
pub fn write_file(
    fs: &mut GuestFs,
    path: &GuestPath,
    user: &GuestUser,
    blob: Blob,
    mode: u32,
    now: OffsetDateTime,
) -> Result<GuestPath, Fault> {
    let family = fs.family();
    match follow(fs, path, user) {
        Ok((real, info)) => {
            if info.file_type == FileType::Directory {
                return Err(Fault::invalid(FileReason::NotAFile, path.display()));
            }
            if !may(family, &info.meta, info.file_type, user, Want::Write) {
                return Err(Fault::GuestAccessDenied {
                    path: path.display(),
                });
            }
            let meta = Meta {
                modified: now,
                accessed: now,
                ..info.meta
            };
            fs.write(&real, blob, meta)?;
            Ok(real)
        }
        Err(Fault::File {
            reason: FileReason::FileNotFound,
            ..
        }) => {
            // A dangling link creates its target, as a shell does; otherwise the path itself.
            let target = dangling_target(fs, path, user).unwrap_or_else(|| path.clone());
            fs.check_upload(&target, user, blob.len(), false, None)?;
            // Later writes (appends to an open redirection) go to where the file really is.
            let target = fs.real_path_ignoring_permissions(&target);
            let mode = match family {
                Family::Linux => mode,
                Family::Windows => 0o644,
            };
            fs.write(&target, blob, Meta::new_for(user, now, mode))?;
            Ok(target)
        }
        Err(e) => Err(e),
    }
}

fn dangling_target(fs: &GuestFs, path: &GuestPath, user: &GuestUser) -> Option<GuestPath> {
    let mut at = path.clone();
    let mut moved = false;
    for _ in 0..=LINK_HOPS {
        match fs.stat(&at, user) {
            Ok(info) if info.file_type == FileType::Symlink => {
                let target = info.symlink_target?;
                let dir = at.parent()?;
                at = resolve(&dir, &target).ok()?;
                moved = true;
            }
            Ok(_) => return None,
            Err(_) => return moved.then_some(at),
        }
    }
    None
}

/// Why an append did not land.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppendError {
    /// The guest disk is full.
    NoSpace,
    /// The file is larger than an append rewrites ([`MAX_APPEND_BASE`]).
    TooLarge,
}

/// Appends `data` to the file at `real` (already opened, so not checked again, as an open
/// descriptor is not). A file removed meanwhile swallows the bytes, like an unlinked inode.
///
/// The file's bytes are reused in place when nothing else holds them, so a script that
/// writes many lines costs what it writes, not the file's size per line.
pub fn append(
    fs: &mut GuestFs,
    real: &GuestPath,
    data: &[u8],
    now: OffsetDateTime,
) -> Result<(), AppendError> {
    if data.is_empty() {
        return Ok(());
    }
    let (Some(old), Some(info)) = (
        fs.read_ignoring_permissions(real),
        fs.stat_ignoring_permissions(real),
    ) else {
        return Ok(());
    };
    if old.len() > MAX_APPEND_BASE {
        return Err(AppendError::TooLarge);
    }
    let meta = Meta {
        modified: now,
        accessed: now,
        ..info.meta
    };
    if (data.len() as u64) > fs.free() {
        return Err(AppendError::NoSpace);
    }
    // Release the file's own reference so that ours may be the only one left.
    let _ = fs.write(real, Blob::empty(), meta.clone());
    let mut buf: BytesMut = match old {
        Blob::Bytes(b) => b
            .try_into_mut()
            .unwrap_or_else(|shared| BytesMut::from(&shared[..])),
        other => BytesMut::from(&prefix(&other, usize::MAX)[..]),
    };
    buf.extend_from_slice(data);
    let joined: Bytes = buf.freeze();
    match fs.write(real, Blob::Bytes(joined.clone()), meta.clone()) {
        Ok(()) => Ok(()),
        Err(_) => {
            let old_len = joined.len() - data.len();
            let _ = fs.write(real, Blob::Bytes(joined.slice(..old_len)), meta);
            Err(AppendError::NoSpace)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::DEFAULT_MANUAL_START as T0;
    use crate::model::guest_fs::NodeKind;
    use std::collections::BTreeMap;

    fn user(name: &str, uid: u32) -> GuestUser {
        GuestUser::plain(name, uid)
    }

    fn lp(s: &str) -> GuestPath {
        GuestPath::parse(Family::Linux, s).unwrap()
    }

    fn fs() -> GuestFs {
        let mut fs = GuestFs::new(Family::Linux, 1 << 20, T0);
        let root = user("root", 0);
        let dir = |mode| Meta {
            mode,
            ..Meta::new_for(&root, T0, 0)
        };
        fs.insert_ignoring_permissions(&lp("/tmp"), NodeKind::Dir(BTreeMap::new()), dir(0o1777))
            .unwrap();
        fs.insert_ignoring_permissions(&lp("/etc"), NodeKind::Dir(BTreeMap::new()), dir(0o755))
            .unwrap();
        fs.insert_ignoring_permissions(
            &lp("/etc/motd"),
            NodeKind::File(Blob::Bytes(Bytes::from_static(b"hi\n"))),
            dir(0o644),
        )
        .unwrap();
        fs.insert_ignoring_permissions(
            &lp("/etc/link"),
            NodeKind::Symlink("motd".into()),
            dir(0o777),
        )
        .unwrap();
        fs
    }

    #[test]
    fn relative_paths_resolve_against_the_working_directory_on_both_families() {
        let table = [
            (Family::Linux, "/home/a", "b/c", "/home/a/b/c"),
            (Family::Linux, "/home/a", "../x", "/home/x"),
            (Family::Linux, "/home/a", "/etc", "/etc"),
            (Family::Windows, "C:\\Users\\a", "b", "C:\\Users\\a\\b"),
            (Family::Windows, "C:\\Users\\a", "\\Temp", "C:\\Temp"),
            (Family::Windows, "C:\\Users\\a", "D:\\x", "D:\\x"),
            (Family::Windows, "C:\\", "x", "C:\\x"),
        ];
        for (family, cwd, arg, want) in table {
            let cwd = GuestPath::parse(family, cwd).unwrap();
            assert_eq!(resolve(&cwd, arg).unwrap().display(), want, "{arg}");
        }
    }

    #[test]
    fn links_in_the_last_name_are_followed_for_reads() {
        let fs = fs();
        let root = user("root", 0);
        assert_eq!(read(&fs, &lp("/etc/link"), &root, 100).unwrap(), b"hi\n");
        assert_eq!(
            read(&fs, &lp("/etc/motd"), &root, 1).unwrap(),
            b"h",
            "bounded"
        );
    }

    #[test]
    fn writes_need_write_permission_on_the_file_or_a_writable_parent() {
        let mut fs = fs();
        let alice = user("alice", 1000);
        let blob = || Blob::Bytes(Bytes::from_static(b"x"));
        assert!(matches!(
            write_file(&mut fs, &lp("/etc/motd"), &alice, blob(), 0o644, T0),
            Err(Fault::GuestAccessDenied { .. })
        ));
        assert!(matches!(
            write_file(&mut fs, &lp("/etc/new"), &alice, blob(), 0o644, T0),
            Err(Fault::GuestAccessDenied { .. })
        ));
        let made = write_file(&mut fs, &lp("/tmp/new"), &alice, blob(), 0o644, T0).unwrap();
        assert_eq!(
            fs.stat_ignoring_permissions(&made).unwrap().meta.owner,
            1000
        );
    }

    #[test]
    fn appends_reuse_the_files_bytes_and_account_for_space() {
        let mut fs = fs();
        let alice = user("alice", 1000);
        let p = write_file(&mut fs, &lp("/tmp/log"), &alice, Blob::empty(), 0o644, T0).unwrap();
        for _ in 0..1000 {
            append(&mut fs, &p, b"line\n", T0).unwrap();
        }
        assert_eq!(fs.read_ignoring_permissions(&p).unwrap().len(), 5000);
        assert_eq!(fs.recount(), fs.used());
        let big = vec![0; 2 << 20];
        assert_eq!(append(&mut fs, &p, &big, T0), Err(AppendError::NoSpace));
        assert_eq!(
            fs.read_ignoring_permissions(&p).unwrap().len(),
            5000,
            "a failed append changes nothing"
        );
    }

    #[test]
    fn root_may_not_execute_a_file_without_any_execute_bit() {
        let root = user("root", 0);
        let meta = Meta {
            mode: 0o644,
            ..Meta::new_for(&root, T0, 0)
        };
        assert!(!may(
            Family::Linux,
            &meta,
            FileType::File,
            &root,
            Want::Exec
        ));
        assert!(may(
            Family::Linux,
            &meta,
            FileType::Directory,
            &root,
            Want::Exec
        ));
        let exec = Meta {
            mode: 0o700,
            ..meta
        };
        assert!(may(Family::Linux, &exec, FileType::File, &root, Want::Exec));
        assert!(!may(
            Family::Linux,
            &exec,
            FileType::File,
            &user("bob", 5),
            Want::Exec
        ));
    }
}
