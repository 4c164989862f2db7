//! Owns programs declared by a fixture, the builder or the admin API: what a guest program
//! does when run (exit code, run time, output, files) and how it changes the guest.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::model::guest_fs::{Family, GuestPath};

/// A change a program makes to the guest around it when it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GuestChange {
    /// VMware Tools stop running (guest operations then answer `SERVICE_UNAVAILABLE`).
    StopTools,
    /// The guest shuts down cleanly: the VM powers off.
    Shutdown,
    /// The guest reboots: the VM stays on, Tools stop for a moment.
    Reboot,
    /// The guest goes to standby: the VM suspends.
    Standby,
}

impl GuestChange {
    /// The name used in fixtures and the journal.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::StopTools => "stop_tools",
            Self::Shutdown => "shutdown",
            Self::Reboot => "reboot",
            Self::Standby => "standby",
        }
    }

    /// Whether the change ends every process in the guest.
    pub fn ends_processes(self) -> bool {
        !matches!(self, Self::StopTools)
    }
}

/// A file a program writes when it ends, as the program (not the caller) may: parents are
/// created, and the file belongs to the user who ran the program.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgramFile {
    /// Absolute guest path.
    pub path: String,
    /// Text to write.
    #[serde(default)]
    pub content: String,
    /// Append instead of replacing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub append: bool,
}

/// A program the guest can run, matched by path and, optionally, by its arguments.
///
/// When it runs it takes `duration_ms` on the guest's clock; then it writes `files`, sends
/// `stdout` and `stderr` through whatever redirections the caller set up, exits with
/// `exit_code`, and applies `guest_changes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Program {
    /// Absolute guest path of the program, compared as the guest compares paths.
    pub path: String,
    /// Matches only this exact argument text (words joined by single blanks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<String>,
    /// Matches only argument text containing this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments_contain: Option<String>,
    /// Exit code (default 0).
    #[serde(default)]
    pub exit_code: i32,
    /// Run time on the guest's clock, in milliseconds (default 0: ends at once).
    #[serde(default)]
    pub duration_ms: u64,
    /// Text written to standard output when it ends.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub stdout: String,
    /// Text written to standard error when it ends.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub stderr: String,
    /// Files written when it ends.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<ProgramFile>,
    /// Changes to the guest when it ends, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub guest_changes: Vec<GuestChange>,
    /// The program cannot start: `Processes.create` answers `UNABLE_TO_ALLOCATE_RESOURCE`,
    /// and a shell that runs it gets status 126.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fails_to_start: bool,
}

impl Program {
    /// A program at `path` that ends at once with status 0 and does nothing.
    pub fn new(path: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            arguments: None,
            arguments_contain: None,
            exit_code: 0,
            duration_ms: 0,
            stdout: String::new(),
            stderr: String::new(),
            files: Vec::new(),
            guest_changes: Vec::new(),
            fails_to_start: false,
        }
    }

    /// The run time.
    pub fn duration(&self) -> Duration {
        Duration::from_millis(self.duration_ms)
    }

    /// Whether this declaration answers a run of `path` with argument text `args`.
    pub fn matches(&self, path: &GuestPath, args: &str) -> bool {
        let same_path = GuestPath::parse(path.family(), &self.path)
            .is_ok_and(|p| p.lookup_key() == path.lookup_key());
        same_path
            && self.arguments.as_deref().is_none_or(|a| a == args.trim())
            && self
                .arguments_contain
                .as_deref()
                .is_none_or(|a| args.contains(a))
    }

    /// Checks the declaration for `family`: an absolute path, files with absolute paths, and
    /// not both argument matches contradicting each other.
    pub fn validate(&self, family: Family) -> Result<(), String> {
        GuestPath::parse(family, &self.path)
            .map_err(|_| format!("program path '{}' is not an absolute guest path", self.path))?;
        for f in &self.files {
            GuestPath::parse(family, &f.path).map_err(|_| {
                format!(
                    "program '{}': file path '{}' is not an absolute guest path",
                    self.path, f.path
                )
            })?;
        }
        Ok(())
    }
}

/// The first declaration in `programs` that answers a run of `path` with `args`.
pub fn find<'a>(programs: &'a [Program], path: &GuestPath, args: &str) -> Option<&'a Program> {
    programs.iter().find(|p| p.matches(path, args))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declarations_match_by_guest_path_and_by_arguments() {
        let lp = |s| GuestPath::parse(Family::Linux, s).unwrap();
        let wp = |s| GuestPath::parse(Family::Windows, s).unwrap();
        let exact = Program {
            arguments: Some("--silent".into()),
            ..Program::new("/opt/setup")
        };
        let contains = Program {
            arguments_contain: Some("-q".into()),
            ..Program::new("/opt/setup")
        };
        let any = Program::new("C:\\Tools\\Setup.exe");
        let table = [
            (&exact, lp("/opt/setup"), "--silent", true),
            (&exact, lp("/opt//setup"), " --silent ", true),
            (&exact, lp("/opt/setup"), "--silent -v", false),
            (&exact, lp("/opt/SETUP"), "--silent", false),
            (&contains, lp("/opt/setup"), "a -q b", true),
            (&contains, lp("/opt/setup"), "a b", false),
            (&any, wp("c:\\tools\\setup.EXE"), "/anything", true),
        ];
        for (program, path, args, want) in table {
            assert_eq!(
                program.matches(&path, args),
                want,
                "{} {args}",
                path.display()
            );
        }
    }

    #[test]
    fn the_fixture_form_reads_with_defaults_and_refuses_unknown_fields() {
        let p: Program = serde_json::from_str(
            r#"{"path": "/opt/x", "exit_code": 3, "duration_ms": 1500,
                "guest_changes": ["stop_tools", "shutdown"],
                "files": [{"path": "/var/log/x.log", "content": "done\n"}]}"#,
        )
        .unwrap();
        assert_eq!(p.duration(), Duration::from_millis(1500));
        assert_eq!(
            p.guest_changes,
            vec![GuestChange::StopTools, GuestChange::Shutdown]
        );
        assert!(p.validate(Family::Linux).is_ok());
        assert!(
            p.validate(Family::Windows).is_err(),
            "a Linux path on Windows"
        );
        assert!(serde_json::from_str::<Program>(r#"{"path": "/x", "exitcode": 1}"#).is_err());
    }
}
