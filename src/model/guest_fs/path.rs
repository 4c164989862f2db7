//! Owns guest paths: parsing and normalising them as each guest family does, and comparing
//! names as the guest compares them.

use std::borrow::Cow;

use super::Family;
use crate::model::fault::{Fault, FileReason};

/// Longest POSIX path accepted, in bytes (PATH_MAX less the terminating NUL).
pub const LINUX_PATH_MAX: usize = 4095;
/// Longest Windows path accepted, in characters (MAX_PATH less the terminating NUL).
pub const WINDOWS_PATH_MAX: usize = 259;
/// Longest single name in a path, on either family.
pub const NAME_MAX: usize = 255;

/// An absolute, normalised guest path: `.` and `..` are resolved lexically and never climb above
/// the root (or the drive on Windows).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GuestPath {
    pub(super) family: Family,
    /// Names below the root. On Windows the first is the drive, e.g. `C:`.
    pub(super) names: Vec<String>,
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
                name => {
                    if let Some(why) = name_problem(Family::Windows, name) {
                        return Err(Fault::InvalidPath {
                            path: raw.into(),
                            why,
                        });
                    }
                    names.push(name.to_owned());
                }
            }
        }
        Ok(Self {
            family: Family::Windows,
            names,
        })
    }

    /// Whether `raw` names `.` or `..` as its last component on a guest that refuses to
    /// remove or move them (Linux: `rmdir("/tmp/.")` is `EINVAL`). Windows folds them first.
    pub fn ends_in_dot(family: Family, raw: &str) -> bool {
        family == Family::Linux
            && matches!(
                raw.trim_end_matches('/').rsplit('/').next(),
                Some("." | "..")
            )
    }

    /// Roughly how many bytes the path takes in memory: its names and what holding each
    /// costs.
    pub fn footprint(&self) -> usize {
        24 + self.names.iter().map(|n| n.len() + 40).sum::<usize>()
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
    pub(super) fn keys(&self) -> impl Iterator<Item = Cow<'_, str>> + '_ {
        self.names.iter().map(|n| key(self.family, n))
    }

    /// A key that identifies the path as the guest compares paths (for busy tracking).
    pub fn lookup_key(&self) -> String {
        self.keys().collect::<Vec<_>>().join("/")
    }
}

/// The device names Windows reserves, with or without an extension (`CON`, `nul.txt`, `COM1`).
const WINDOWS_DEVICES: [&str; 22] = [
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
    "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// Why `name` cannot be one name of a path on this guest, if it cannot. Linux takes any bytes
/// but `/` and NUL; Windows also refuses `<>:"|?*\`, control characters, a trailing dot or
/// space, and its reserved device names.
pub fn name_problem(family: Family, name: &str) -> Option<&'static str> {
    if name.contains('\0') {
        return Some("the name contains a NUL byte");
    }
    match family {
        Family::Linux if name.contains('/') => Some("the name contains a path separator"),
        Family::Linux => None,
        Family::Windows => {
            if name.contains(['/', '\\']) {
                return Some("the name contains a path separator");
            }
            if name.contains(['<', '>', ':', '"', '|', '?', '*']) {
                return Some("the path contains a character Windows does not allow in names");
            }
            if name.chars().any(char::is_control) {
                return Some("the path contains a control character, which Windows does not allow");
            }
            if name.ends_with(['.', ' ']) {
                return Some("a name ends with a dot or a space, which Windows does not allow");
            }
            let base = name.split('.').next().unwrap_or_default().trim_end();
            if WINDOWS_DEVICES.iter().any(|d| d.eq_ignore_ascii_case(base)) {
                return Some("a name is a device name Windows reserves (CON, NUL, COM1, ...)");
            }
            None
        }
    }
}

/// How a name is compared: as is on Linux, case-folded on Windows.
pub fn key(family: Family, name: &str) -> Cow<'_, str> {
    match family {
        Family::Linux => Cow::Borrowed(name),
        Family::Windows => Cow::Owned(name.to_lowercase()),
    }
}

pub(super) fn max_len(family: Family) -> usize {
    match family {
        Family::Linux => LINUX_PATH_MAX,
        Family::Windows => WINDOWS_PATH_MAX,
    }
}
