//! Owns the guest file operations: `Files.createTemporary`, `list`, `get`, `delete`, `move` and
//! `update`, and the name filter listings take.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock, PoisonError};

use super::{Context, Operation, Target};
use crate::model::guest_fs::{AttrUpdate, FileInfo, ListPage};
use crate::model::{Credentials, Fault};

/// A `match_pattern` filter. vCenter documents Perl-compatible expressions; vcmock uses Rust's
/// `regex` (no look-around or back-references), searched anywhere in the name. No pattern matches
/// everything without a regex.
///
/// Compiled patterns are cached, since clients repeat them, but only small ones: the cache is
/// bounded by what its programs hold, not by the length of their text, as a short pattern such
/// as `\w{200}` compiles to megabytes.
#[derive(Debug, Clone, Default)]
pub struct NameFilter(Option<regex::Regex>);

/// Most patterns the cache keeps; past it the cache starts again.
const CACHED_PATTERNS: usize = 256;
/// Largest compiled program (and lazy-DFA cache) a cached pattern may have.
const CACHED_PROGRAM: usize = 256 << 10;
/// Largest compiled program any pattern may have; it is compiled for its request only.
const LARGEST_PROGRAM: usize = 4 << 20;

impl NameFilter {
    /// The filter for `pattern` (`None`: everything), compiled or taken from the cache.
    pub fn new(pattern: Option<&str>) -> Result<Self, Fault> {
        let Some(pattern) = pattern else {
            return Ok(Self(None));
        };
        let lock = || cache().lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(re) = lock().get(pattern) {
            return Ok(Self(Some(re.clone())));
        }
        let refused = |e: regex::Error| Fault::InvalidInput {
            detail: format!("filter.match_pattern: {e}"),
        };
        match compile(pattern, CACHED_PROGRAM) {
            Ok(re) => {
                if pattern.len() <= 1024 {
                    let mut cache = lock();
                    if cache.len() >= CACHED_PATTERNS {
                        cache.clear();
                    }
                    cache.insert(pattern.to_owned(), re.clone());
                }
                Ok(Self(Some(re)))
            }
            Err(regex::Error::CompiledTooBig(_)) => compile(pattern, LARGEST_PROGRAM)
                .map(|re| Self(Some(re)))
                .map_err(refused),
            Err(e) => Err(refused(e)),
        }
    }

    /// Whether `name` passes the filter.
    pub fn matches(&self, name: &str) -> bool {
        self.0.as_ref().is_none_or(|re| re.is_match(name))
    }
}

/// The compiled patterns, shared by every server in the process (compiling is a pure function
/// of the pattern).
fn cache() -> &'static Mutex<HashMap<String, regex::Regex>> {
    static CACHE: OnceLock<Mutex<HashMap<String, regex::Regex>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// `pattern` compiled within `limit` bytes of program and of lazy-DFA cache.
fn compile(pattern: &str, limit: usize) -> Result<regex::Regex, regex::Error> {
    regex::RegexBuilder::new(pattern)
        .size_limit(limit)
        .dfa_size_limit(limit)
        .build()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn cached(pattern: &str) -> bool {
        cache()
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(pattern)
    }

    #[test]
    fn small_patterns_are_cached_and_large_ones_are_compiled_for_their_request_only() {
        let small = NameFilter::new(Some(r"^report-\d+\.csv$")).unwrap();
        assert!(small.matches("report-7.csv") && !small.matches("report.csv"));
        assert!(cached(r"^report-\d+\.csv$"));

        // Unicode word classes compile to far more than their text suggests.
        let large = NameFilter::new(Some(r"^\w{20}$")).unwrap();
        assert!(large.matches(&"é".repeat(20)) && !large.matches("short"));
        assert!(!cached(r"^\w{20}$"), "kept out of the cache");
    }

    #[test]
    fn a_pattern_past_the_largest_program_is_invalid_input() {
        let err = NameFilter::new(Some(r"\w{200}(x{256})?")).unwrap_err();
        let Fault::InvalidInput { detail } = err else {
            panic!("{err:?}");
        };
        assert!(detail.starts_with("filter.match_pattern: "), "{detail}");
        assert!(detail.contains(&LARGEST_PROGRAM.to_string()), "{detail}");
    }

    #[test]
    fn no_pattern_matches_every_name() {
        assert!(NameFilter::new(None).unwrap().matches(""));
    }
}
