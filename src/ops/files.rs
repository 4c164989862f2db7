//! Owns the guest file operations: `Files.createTemporary`, `list`, `get`, `delete`, `move` and
//! `update`, and the name filter listings take.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock, PoisonError};

use super::{Context, Operation, Target};
use crate::model::guest_fs::{AttrUpdate, FileInfo, ListPage};
use crate::model::{Credentials, Fault};

/// A `match_pattern` filter. vCenter documents Perl-compatible expressions; vcmock uses Rust's
/// `regex` (no look-around or back-references), searched anywhere in the name. No pattern matches
/// everything without a regex; compiled patterns are cached, since clients repeat them.
#[derive(Debug, Clone, Default)]
pub struct NameFilter(Option<regex::Regex>);

impl NameFilter {
    /// The filter for `pattern` (`None`: everything), compiled or taken from the cache.
    pub fn new(pattern: Option<&str>) -> Result<Self, Fault> {
        static CACHE: OnceLock<Mutex<HashMap<String, regex::Regex>>> = OnceLock::new();
        let Some(pattern) = pattern else {
            return Ok(Self(None));
        };
        let cache = CACHE.get_or_init(Default::default);
        let lock = || cache.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(re) = lock().get(pattern) {
            return Ok(Self(Some(re.clone())));
        }
        let re = regex::Regex::new(pattern).map_err(|e| Fault::InvalidInput {
            detail: format!("filter.match_pattern: {e}"),
        })?;
        // The cache holds at most 256 patterns of at most 1 KiB each.
        if pattern.len() <= 1024 {
            let mut cache = lock();
            if cache.len() >= 256 {
                cache.clear();
            }
            cache.insert(pattern.to_owned(), re.clone());
        }
        Ok(Self(Some(re)))
    }

    /// Whether `name` passes the filter.
    pub fn matches(&self, name: &str) -> bool {
        self.0.as_ref().is_none_or(|re| re.is_match(name))
    }
}

/// The inputs `createTemporary` takes, for files and directories alike.
#[derive(Debug, Clone)]
pub struct TemporarySpec {
    /// The VM id.
    pub vm: String,
    /// Guest credentials.
    pub credentials: Credentials,
    /// Name prefix.
    pub prefix: String,
    /// Name suffix.
    pub suffix: String,
    /// The directory to create it in (the guest's temporary directory when unset).
    pub parent_path: Option<String>,
}

impl TemporarySpec {
    /// The VM and the directory it names.
    pub fn target(&self) -> Target<'_> {
        Target {
            vm: Some(&self.vm),
            guest_path: self.parent_path.as_deref(),
        }
    }

    /// Creates the file or directory and gives its path.
    pub fn create(self, cx: &Context<'_>, directory: bool) -> Result<String, Fault> {
        cx.vcenter().create_temporary(
            cx.caller()?,
            &self.vm,
            &self.credentials,
            &self.prefix,
            &self.suffix,
            self.parent_path.as_deref(),
            directory,
            cx.ids(),
            cx.now(),
        )
    }
}

/// `files.createTemporary`: a new, empty file with a unique name.
#[derive(Debug, Clone)]
pub struct CreateTemporary(pub TemporarySpec);

impl Operation for CreateTemporary {
    const NAME: &'static str = "files.createTemporary";
    type Output = String;

    fn target(&self) -> Target<'_> {
        self.0.target()
    }

    fn run(self, cx: &Context<'_>) -> Result<String, Fault> {
        self.0.create(cx, false)
    }
}

/// `files.list`: a page of a directory's entries (or the one entry of a file).
#[derive(Debug, Clone)]
pub struct List {
    /// The VM id.
    pub vm: String,
    /// Guest credentials.
    pub credentials: Credentials,
    /// The directory or file.
    pub path: String,
    /// The first entry to return.
    pub index: u64,
    /// The most entries to return.
    pub size: u64,
    /// The name filter.
    pub filter: NameFilter,
    /// Whether each entry carries its whole information (vim25's `ListFilesInGuest` reports
    /// attributes per entry; `Files.list` does not, and does not pay for them).
    pub detailed: bool,
}

impl Operation for List {
    const NAME: &'static str = "files.list";
    type Output = ListPage;

    fn target(&self) -> Target<'_> {
        Target::guest(&self.vm, &self.path)
    }

    fn run(self, cx: &Context<'_>) -> Result<ListPage, Fault> {
        let filter = &self.filter;
        cx.vcenter().list_files(
            cx.caller()?,
            &self.vm,
            &self.credentials,
            &self.path,
            self.index,
            self.size,
            self.detailed,
            &|name| filter.matches(name),
        )
    }
}

/// A guest path on a VM, with the credentials to reach it (`files.get` and `files.delete`).
#[derive(Debug, Clone)]
pub struct PathSpec {
    /// The VM id.
    pub vm: String,
    /// Guest credentials.
    pub credentials: Credentials,
    /// The guest path.
    pub path: String,
}

/// `files.get`: information about a file, directory or link.
#[derive(Debug, Clone)]
pub struct Get(pub PathSpec);

impl Operation for Get {
    const NAME: &'static str = "files.get";
    type Output = FileInfo;

    fn target(&self) -> Target<'_> {
        Target::guest(&self.0.vm, &self.0.path)
    }

    fn run(self, cx: &Context<'_>) -> Result<FileInfo, Fault> {
        let s = self.0;
        cx.vcenter()
            .stat(cx.caller()?, &s.vm, &s.credentials, &s.path)
    }
}

/// `files.delete`: removes a file or link.
#[derive(Debug, Clone)]
pub struct Delete(pub PathSpec);

impl Operation for Delete {
    const NAME: &'static str = "files.delete";
    type Output = ();

    fn target(&self) -> Target<'_> {
        Target::guest(&self.0.vm, &self.0.path)
    }

    fn run(self, cx: &Context<'_>) -> Result<(), Fault> {
        let s = self.0;
        cx.vcenter()
            .delete_file(cx.caller()?, &s.vm, &s.credentials, &s.path)
    }
}

/// `files.move`: renames a file or link.
#[derive(Debug, Clone)]
pub struct Move {
    /// The VM id.
    pub vm: String,
    /// Guest credentials.
    pub credentials: Credentials,
    /// The source.
    pub path: String,
    /// The destination.
    pub new_path: String,
    /// Whether an existing file at the destination is replaced.
    pub overwrite: bool,
}

impl Operation for Move {
    const NAME: &'static str = "files.move";
    type Output = ();

    fn target(&self) -> Target<'_> {
        Target::guest(&self.vm, &self.path)
    }

    fn run(self, cx: &Context<'_>) -> Result<(), Fault> {
        cx.vcenter().move_file(
            cx.caller()?,
            &self.vm,
            &self.credentials,
            &self.path,
            &self.new_path,
            self.overwrite,
        )
    }
}

/// `files.update`: changes times and attributes.
#[derive(Debug, Clone)]
pub struct Update {
    /// The VM id.
    pub vm: String,
    /// Guest credentials.
    pub credentials: Credentials,
    /// The path.
    pub path: String,
    /// The changes.
    pub attributes: AttrUpdate,
}

impl Operation for Update {
    const NAME: &'static str = "files.update";
    type Output = ();

    fn target(&self) -> Target<'_> {
        Target::guest(&self.vm, &self.path)
    }

    fn run(self, cx: &Context<'_>) -> Result<(), Fault> {
        cx.vcenter().update_file(
            cx.caller()?,
            &self.vm,
            &self.credentials,
            &self.path,
            &self.attributes,
        )
    }
}
