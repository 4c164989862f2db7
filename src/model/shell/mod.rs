//! Owns the fake guest's program runner: a small, resumable shell (`/bin/sh` and `/bin/bash`
//! on Linux, `cmd.exe` on Windows) with built-ins over the guest filesystem, and declared
//! programs. It is pure: time comes in as arguments, and a script that sleeps stays where it
//! is until the caller's clock passes its wake time.
//!
//! Every run is bounded: [`MAX_STEPS`] commands, [`MAX_DEPTH`] nested shells, [`MAX_OUTPUT`]
//! bytes per redirection target, [`MAX_WORDS`] bytes of expanded words per command,
//! [`MAX_HELD`] bytes of variables, [`MAX_WORK`] bytes produced or read in and [`MAX_SCRIPT`]
//! bytes of script. A run that passes a bound ends with [`RUNAWAY_EXIT`].

mod builtins;
mod cmd_builtins;
pub mod cmd_parse;
pub mod env;
pub mod guestio;
mod interp;
pub mod program;
pub mod sh_parse;
pub mod syntax;

#[cfg(test)]
mod proptests;
#[cfg(test)]
pub(crate) mod tests;

use time::OffsetDateTime;

pub use env::Env;
pub use interp::{LaunchError, Runner, State};
pub use program::{GuestChange, Program, ProgramFile};

use super::guest_fs::{Family, GuestFs};

/// Most commands one process runs, nested shells included.
pub const MAX_STEPS: u32 = 10_000;
/// Most shells and programs nested inside one another.
pub const MAX_DEPTH: usize = 32;
/// Most bytes a process writes to one redirection target.
pub const MAX_OUTPUT: u64 = 8 << 20;
/// Most bytes of a process's own standard output and error kept for inspection.
pub const MAX_CAPTURE: usize = 64 << 10;
/// Largest script a shell reads (a `-c` argument or a script file).
pub const MAX_SCRIPT: usize = 256 << 10;
/// Most bytes one command's words expand to.
pub const MAX_WORDS: usize = 1 << 20;
/// Most bytes one process's shells hold in variables and parameters together.
pub const MAX_HELD: usize = 4 * MAX_WORDS;
/// Most bytes one process's commands produce or read in, wherever they go (`/dev/null`
/// included): the bound on the work one request can make a guest do.
pub const MAX_WORK: u64 = 256 << 20;
/// The exit code of a process stopped for passing a bound (as if killed by `SIGKILL`).
pub const RUNAWAY_EXIT: i32 = 137;
/// The status of a command the shell cannot find (`sh`).
pub const NOT_FOUND_EXIT: i32 = 127;
/// The status of a command `cmd.exe` cannot find.
pub const CMD_NOT_FOUND_EXIT: i32 = 9009;

/// Which grammar a script is read with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// `/bin/sh` and `/bin/bash`.
    Sh,
    /// `cmd.exe` and batch files.
    Cmd,
}

/// What the guest says about itself to the programs it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct System {
    /// The guest family.
    pub family: Family,
    /// Host name (`hostname`, `uname -n`, `%COMPUTERNAME%`).
    pub host_name: String,
    /// `uname -r`.
    pub kernel_release: String,
    /// `uname -v`.
    pub kernel_version: String,
    /// `uname -m`.
    pub machine: String,
    /// `ver` on Windows, e.g. `10.0.20348.2340`.
    pub windows_version: String,
    /// Known accounts, by uid, for `id` and `ls -l`.
    pub accounts: Vec<(u32, String)>,
}

impl System {
    /// Defaults for a guest of `family` called `host_name`.
    pub fn new(family: Family, host_name: impl Into<String>) -> Self {
        Self {
            family,
            host_name: host_name.into(),
            kernel_release: "5.15.0-105-generic".into(),
            kernel_version: "#115-Ubuntu SMP Mon Apr 15 09:52:04 UTC 2024".into(),
            machine: "x86_64".into(),
            windows_version: "10.0.20348.2340".into(),
            accounts: Vec::new(),
        }
    }
}

/// The guest around a running program: its filesystem, its declared programs and its
/// self-description.
pub struct Guest<'a> {
    /// The guest filesystem.
    pub fs: &'a mut GuestFs,
    /// Declared programs, first match wins.
    pub programs: &'a [Program],
    /// What the guest says about itself.
    pub system: &'a System,
}

/// A guest change a process asked for, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    /// The guest time it happened.
    pub at: OffsetDateTime,
    /// The change.
    pub change: GuestChange,
}
