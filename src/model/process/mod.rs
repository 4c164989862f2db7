//! Owns a guest's process table: the standing system processes, the processes started by
//! `Processes.create` (running or recently finished), their pids, bounds and retention, and
//! the checks `Processes.create`, `get`, `list` and `delete` make inside the guest.
//!
//! The table is pure: it takes `now`, and [`ProcessTable::advance`] runs whatever became due
//! by then (a sleep ended, a declared program finished), in the order it became due across
//! processes, each effect stamped with the guest time it happened at.

pub mod environment;

use std::collections::BTreeMap;
use std::time::Duration;

use time::OffsetDateTime;

use super::fault::{Fault, FileFaultKind, FileReason};
use super::guest_fs::{Family, FileType, GuestPath, GuestUser};
use super::shell::guestio::{self, Want};
use super::shell::{self, Env, Event, Guest, GuestChange, LaunchError, Runner, State};

/// How long a finished process stays visible to `list` and `get` (VMware Tools reaps its
/// record of an exited program after 5 minutes).
pub const KEEP_FINISHED: Duration = Duration::from_secs(300);
/// Most processes started by `create` running at once in one guest.
pub const MAX_RUNNING: usize = 64;
/// Most finished processes kept; the oldest go first when there are more.
pub const MAX_FINISHED: usize = 256;
/// The exit code `delete` gives a Linux process (128 + SIGTERM, as a shell reports it).
pub const TERMINATED_EXIT_LINUX: i32 = 143;
/// The exit code `delete` gives a Windows process (`TerminateProcess` with 1).
pub const TERMINATED_EXIT_WINDOWS: i32 = 1;
/// The first pid given to a process started by `create` (Linux; Windows starts at 4000 and
/// counts in fours, as Windows pids do).
pub const FIRST_PID_LINUX: u64 = 1000;
/// The first pid on Windows.
pub const FIRST_PID_WINDOWS: u64 = 4000;

/// Bounds of one process table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessLimits {
    /// Most processes started by `create` running at once.
    pub max_running: usize,
    /// Most finished processes kept.
    pub max_finished: usize,
    /// How long finished processes stay visible.
    pub keep_finished: Duration,
}

impl Default for ProcessLimits {
    fn default() -> Self {
        Self {
            max_running: MAX_RUNNING,
            max_finished: MAX_FINISHED,
            keep_finished: KEEP_FINISHED,
        }
    }
}

/// `Processes.CreateSpec`, as the operation receives it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StartSpec {
    /// Absolute path of the program.
    pub path: String,
    /// Argument text.
    pub arguments: Option<String>,
    /// Working directory; unset or empty means the user's home directory on Linux and
    /// `C:\Windows\System32` on Windows.
    pub working_directory: Option<String>,
    /// The complete environment, replacing the user's default one.
    pub environment: Option<Vec<(String, String)>>,
    /// Windows only: start the program minimized.
    pub start_minimized: Option<bool>,
}

/// A process as `Processes.get` (and, without `finished` and `exit_code`, `list`) reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessInfo {
    /// Process id.
    pub pid: u64,
    /// Program name.
    pub name: String,
    /// The guest user it runs as.
    pub owner: String,
    /// Its command line.
    pub command: String,
    /// When it started.
    pub started: OffsetDateTime,
    /// When it ended (processes started by `create`, for [`KEEP_FINISHED`] after).
    pub finished: Option<OffsetDateTime>,
    /// Its exit code (likewise).
    pub exit_code: Option<i64>,
}

/// A system process every booted guest has.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Standing {
    pid: u64,
    name: &'static str,
    owner: &'static str,
    command: &'static str,
    /// Not even the superuser may terminate it.
    protected: bool,
    /// Terminating it stops VMware Tools.
    tools: bool,
}

fn standing(family: Family) -> Vec<Standing> {
    let s = |pid, name, owner, command, protected, tools| Standing {
        pid,
        name,
        owner,
        command,
        protected,
        tools,
    };
    match family {
        Family::Linux => vec![
            s(1, "systemd", "root", "/sbin/init", true, false),
            s(
                412,
                "sshd",
                "root",
                "sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups",
                false,
                false,
            ),
            s(538, "vmtoolsd", "root", "/usr/bin/vmtoolsd", false, true),
        ],
        Family::Windows => vec![
            s(4, "System", "SYSTEM", "System", true, false),
            s(
                2316,
                "vmtoolsd.exe",
                "SYSTEM",
                "\"C:\\Program Files\\VMware\\VMware Tools\\vmtoolsd.exe\"",
                false,
                true,
            ),
        ],
    }
}

#[derive(Debug, Clone)]
enum Run {
    Running { wake: Option<OffsetDateTime> },
    Finished { at: OffsetDateTime, code: i32 },
}

/// A process started by `create`.
#[derive(Debug, Clone)]
pub struct Process {
    pid: u64,
    name: String,
    owner: String,
    command: String,
    started: OffsetDateTime,
    user: GuestUser,
    runner: Runner,
    run: Run,
}

impl Process {
    /// The pid.
    pub fn pid(&self) -> u64 {
        self.pid
    }

    /// What it wrote to its own (not redirected) standard output, bounded.
    pub fn stdout(&self) -> &[u8] {
        self.runner.stdout()
    }

    /// What it wrote to its own (not redirected) standard error, bounded.
    pub fn stderr(&self) -> &[u8] {
        self.runner.stderr()
    }

    /// Shell commands it has run.
    pub fn steps(&self) -> u32 {
        self.runner.steps()
    }

    /// When it next needs the clock, while running (`None`: it waits for a terminate).
    pub fn wake(&self) -> Option<OffsetDateTime> {
        match self.run {
            Run::Running { wake } => wake,
            Run::Finished { .. } => None,
        }
    }

    /// Whether it is still running.
    pub fn is_running(&self) -> bool {
        matches!(self.run, Run::Running { .. })
    }

    /// Its information.
    pub fn info(&self) -> ProcessInfo {
        let (finished, exit_code) = match self.run {
            Run::Running { .. } => (None, None),
            Run::Finished { at, code } => (Some(at), Some(i64::from(code))),
        };
        ProcessInfo {
            pid: self.pid,
            name: self.name.clone(),
            owner: self.owner.clone(),
            command: self.command.clone(),
            started: self.started,
            finished,
            exit_code,
        }
    }
}

/// What runs in one guest: its process table, the programs declared for it, the variables
/// added to every user's environment, and a reboot in progress.
#[derive(Debug, Clone)]
pub struct GuestRuntime {
    /// The processes.
    pub processes: ProcessTable,
    /// Programs declared by the fixture, the builder or the admin API; first match wins.
    pub programs: Vec<shell::Program>,
    /// Variables every guest user's environment gets on top of the family's defaults.
    pub environment: Vec<(String, String)>,
    /// While a guest reboot is in progress: when Tools run again.
    pub rebooting_until: Option<OffsetDateTime>,
    /// Credential tickets handed out by `AcquireCredentialsInGuest` (they end at halt and boot).
    pub tickets: super::guest_ticket::GuestTickets,
}

impl GuestRuntime {
    /// Nothing running yet in a guest of `family` booted at `booted`.
    pub fn new(family: Family, booted: OffsetDateTime) -> Self {
        Self {
            processes: ProcessTable::new(family, booted),
            programs: Vec::new(),
            environment: Vec::new(),
            rebooting_until: None,
            tickets: Default::default(),
        }
    }
}

/// Gives a declared program an executable file at its path (root-owned, mode 755 on Linux)
/// unless something is there already, so that `Processes.create` and the shell find it.
pub fn ensure_program_file(
    fs: &mut super::guest_fs::GuestFs,
    program: &shell::Program,
    now: OffsetDateTime,
) {
    let Ok(path) = GuestPath::parse(fs.family(), &program.path) else {
        return;
    };
    if fs.stat_ignoring_permissions(&path).is_some() {
        return;
    }
    let meta = super::guest_fs::Meta {
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
    let kind = super::guest_fs::NodeKind::File(super::guest_fs::Blob::Pattern { len: 4096 });
    let _ = fs.insert_ignoring_permissions(&path, kind, meta);
}

/// One guest's processes.
#[derive(Debug, Clone)]
pub struct ProcessTable {
    family: Family,
    limits: ProcessLimits,
    next_pid: u64,
    booted: OffsetDateTime,
    standing: Vec<Standing>,
    procs: BTreeMap<u64, Process>,
}

/// A pid as the API carries it (`long`).
fn api_pid(pid: u64) -> i64 {
    i64::try_from(pid).unwrap_or(i64::MAX)
}

impl ProcessTable {
    /// The table of a guest of `family` that booted at `booted`.
    pub fn new(family: Family, booted: OffsetDateTime) -> Self {
        Self {
            family,
            limits: ProcessLimits::default(),
            next_pid: match family {
                Family::Linux => FIRST_PID_LINUX,
                Family::Windows => FIRST_PID_WINDOWS,
            },
            booted,
            standing: standing(family),
            procs: BTreeMap::new(),
        }
    }

    /// The bounds in force.
    pub fn limits(&self) -> &ProcessLimits {
        &self.limits
    }

    /// Replaces the bounds.
    pub fn set_limits(&mut self, limits: ProcessLimits) {
        self.limits = limits;
    }

    /// The guest booted at `now` (power-on, reset, reboot): every process started before is
    /// gone and the system processes start again. Pids keep counting up, so an old pid never
    /// names a new process.
    pub fn boot(&mut self, now: OffsetDateTime) {
        self.procs.clear();
        self.standing = standing(self.family);
        self.booted = now;
    }

    /// The guest stopped (power-off, suspend): every process ends, nothing is listed.
    pub fn halt(&mut self) {
        self.procs.clear();
        self.standing.clear();
    }

    fn step_pid(&self) -> u64 {
        match self.family {
            Family::Linux => 1,
            Family::Windows => 4,
        }
    }

    fn visible(&self, p: &Process, now: OffsetDateTime) -> bool {
        match p.run {
            Run::Running { .. } => true,
            Run::Finished { at, .. } => now <= at + self.limits.keep_finished,
        }
    }

    /// Processes started by `create` that are still running.
    pub fn running(&self) -> usize {
        self.procs.values().filter(|p| p.is_running()).count()
    }

    /// A process started by `create`, running or kept after it finished.
    pub fn process(&self, pid: u64) -> Option<&Process> {
        self.procs.get(&pid)
    }

    /// Every process started by `create` that is still kept, by pid.
    pub fn processes(&self) -> impl Iterator<Item = &Process> {
        self.procs.values()
    }

    /// The earliest time a running process needs the clock, if any.
    pub fn next_wake(&self) -> Option<OffsetDateTime> {
        self.procs.values().filter_map(Process::wake).min()
    }

    fn purge(&mut self, now: OffsetDateTime) {
        let keep = self.limits.keep_finished;
        self.procs.retain(|_, p| match p.run {
            Run::Running { .. } => true,
            Run::Finished { at, .. } => now <= at + keep,
        });
        let mut finished: Vec<(OffsetDateTime, u64)> = self
            .procs
            .values()
            .filter_map(|p| match p.run {
                Run::Finished { at, .. } => Some((at, p.pid)),
                Run::Running { .. } => None,
            })
            .collect();
        if finished.len() > self.limits.max_finished {
            finished.sort();
            let excess = finished.len() - self.limits.max_finished;
            for (_, pid) in finished.into_iter().take(excess) {
                self.procs.remove(&pid);
            }
        }
    }

    /// `Processes.create` inside the guest, after the common guest checks: refuses in
    /// vCenter's order (`start_minimized` off Windows; the program path invalid, missing,
    /// inaccessible or not runnable; the working directory not a directory; the program
    /// failing to start), then starts the program and runs it until it first waits.
    /// Returns the pid and the guest changes it asked for at once.
    pub fn create(
        &mut self,
        guest: &mut Guest<'_>,
        user: &GuestUser,
        spec: &StartSpec,
        default_env: &Env,
        now: OffsetDateTime,
    ) -> Result<(u64, Vec<Event>), Fault> {
        let family = self.family;
        self.purge(now);
        if spec.start_minimized.is_some() && family != Family::Windows {
            return Err(Fault::StartMinimizedNotWindows);
        }
        let path = program_path(guest, user, family, &spec.path)?;
        let cwd = working_directory(guest, user, family, spec.working_directory.as_deref())?;
        let arguments = spec.arguments.clone().unwrap_or_default();
        if let Some(p) = shell::program::find(guest.programs, &path, arguments.trim()) {
            if p.fails_to_start {
                return Err(Fault::ProgramFailedToStart {
                    path: spec.path.clone(),
                    why: "the program fails to start".into(),
                });
            }
        }
        if self.running() >= self.limits.max_running {
            return Err(Fault::ProgramFailedToStart {
                path: spec.path.clone(),
                why: format!(
                    "the guest already runs {} started processes",
                    self.running()
                ),
            });
        }
        let env = match &spec.environment {
            Some(vars) => Env::from_pairs(family == Family::Windows, vars.iter().cloned()),
            None => default_env.clone(),
        };
        let pid = self.next_pid;
        let runner = match family {
            Family::Linux => Runner::posix(&spec.path, spec.arguments.as_deref(), env, cwd, pid),
            Family::Windows => Runner::windows(guest, user, &path, &arguments, env, cwd, pid, now)
                .map_err(|e| {
                    let LaunchError::NotRunnable(why) = e;
                    Fault::ProgramFailedToStart {
                        path: spec.path.clone(),
                        why,
                    }
                })?,
        };
        self.next_pid += self.step_pid();
        let command = match &spec.arguments {
            Some(a) => format!("\"{}\" {a}", spec.path),
            None => format!("\"{}\"", spec.path),
        };
        let name = path.file_name().unwrap_or_default().to_owned();
        self.procs.insert(
            pid,
            Process {
                pid,
                name,
                owner: user.name.clone(),
                command,
                started: now,
                user: user.clone(),
                runner,
                run: Run::Running { wake: Some(now) },
            },
        );
        let events = self.advance(guest, now);
        Ok((pid, events))
    }

    /// Runs whatever became due by `now`, earliest first across processes. Stops at the
    /// first guest change that ends processes (a shutdown): the caller applies it, which
    /// halts or reboots the table.
    pub fn advance(&mut self, guest: &mut Guest<'_>, now: OffsetDateTime) -> Vec<Event> {
        let mut events = Vec::new();
        loop {
            let due = self
                .procs
                .values()
                .filter_map(|p| match p.run {
                    Run::Running { wake: Some(w) } if w <= now => Some((w, p.pid)),
                    _ => None,
                })
                .min();
            let Some((at, pid)) = due else { break };
            let Some(p) = self.procs.get_mut(&pid) else {
                break;
            };
            let state = p.runner.resume(guest, &p.user, at);
            let evs = p.runner.take_events();
            p.run = match state {
                State::Running { wake } => Run::Running { wake },
                State::Exited(code) => Run::Finished {
                    at: p.runner.clock().unwrap_or(at),
                    code,
                },
            };
            let ends = evs.iter().any(|e| e.change.ends_processes());
            events.extend(evs);
            if ends {
                return events;
            }
        }
        self.purge(now);
        events
    }

    /// `Processes.list`: the system processes and the processes started by `create` that
    /// are running or finished less than [`KEEP_FINISHED`] ago, by pid.
    pub fn list(&self, now: OffsetDateTime) -> Vec<ProcessInfo> {
        let mut out: Vec<ProcessInfo> = self
            .standing
            .iter()
            .map(|s| self.standing_info(s))
            .chain(
                self.procs
                    .values()
                    .filter(|p| self.visible(p, now))
                    .map(Process::info),
            )
            .collect();
        out.sort_by_key(|p| p.pid);
        out
    }

    fn standing_info(&self, s: &Standing) -> ProcessInfo {
        ProcessInfo {
            pid: s.pid,
            name: s.name.into(),
            owner: s.owner.into(),
            command: s.command.into(),
            started: self.booted,
            finished: None,
            exit_code: None,
        }
    }

    /// `Processes.get`.
    pub fn get(&self, pid: u64, now: OffsetDateTime) -> Result<ProcessInfo, Fault> {
        if let Some(s) = self.standing.iter().find(|s| s.pid == pid) {
            return Ok(self.standing_info(s));
        }
        self.procs
            .get(&pid)
            .filter(|p| self.visible(p, now))
            .map(Process::info)
            .ok_or(Fault::ProcessNotFound { pid: api_pid(pid) })
    }

    /// Ends a process started by `create` at `now` as if terminated, whoever owns it (admin).
    /// Returns whether it was running.
    pub fn kill(&mut self, pid: u64, now: OffsetDateTime) -> bool {
        let code = match self.family {
            Family::Linux => TERMINATED_EXIT_LINUX,
            Family::Windows => TERMINATED_EXIT_WINDOWS,
        };
        match self.procs.get_mut(&pid) {
            Some(p) if p.is_running() => {
                p.runner.kill(code);
                p.run = Run::Finished { at: now, code };
                true
            }
            _ => false,
        }
    }

    /// `Processes.delete`: terminates `pid` for `user`. Users may terminate their own
    /// processes; the superuser (root, or an administrator on Windows) any but the
    /// protected system ones (init, System). Terminating a process that already finished
    /// changes nothing. Terminating `vmtoolsd` stops Tools (returned as a guest change).
    pub fn terminate(
        &mut self,
        pid: u64,
        user: &GuestUser,
        now: OffsetDateTime,
    ) -> Result<Vec<Event>, Fault> {
        let family = self.family;
        let superuser = user.is_superuser(family);
        if let Some(i) = self.standing.iter().position(|s| s.pid == pid) {
            let s = &self.standing[i];
            if s.protected || !superuser {
                return Err(Fault::ProcessTerminateDenied { pid: api_pid(pid) });
            }
            let tools = s.tools;
            self.standing.remove(i);
            return Ok(if tools {
                vec![Event {
                    at: now,
                    change: GuestChange::StopTools,
                }]
            } else {
                Vec::new()
            });
        }
        let visible = self.procs.get(&pid).is_some_and(|p| self.visible(p, now));
        let Some(p) = self.procs.get_mut(&pid).filter(|_| visible) else {
            return Err(Fault::ProcessNotFound { pid: api_pid(pid) });
        };
        let own = match family {
            Family::Linux => p.owner == user.name,
            Family::Windows => p.owner.eq_ignore_ascii_case(&user.name),
        };
        if !(own || superuser) {
            return Err(Fault::ProcessTerminateDenied { pid: api_pid(pid) });
        }
        self.kill(pid, now);
        Ok(Vec::new())
    }
}

/// The interpreter Windows runs batch files with.
const WINDOWS_SHELL: &str = "C:\\Windows\\System32\\cmd.exe";

/// Checks the program path of a `create`: a valid absolute path, existing, reachable and
/// runnable by `user`. Links are followed.
fn program_path(
    guest: &Guest<'_>,
    user: &GuestUser,
    family: Family,
    raw: &str,
) -> Result<GuestPath, Fault> {
    let path = GuestPath::parse(family, raw).map_err(|e| match e {
        Fault::InvalidPath { .. } => Fault::ProgramPathInvalid {
            path: raw.to_owned(),
        },
        other => other,
    })?;
    let (_, info) = guestio::follow(guest.fs, &path, user).map_err(|e| match e {
        Fault::File {
            reason: FileReason::FileNotFound,
            ..
        } => Fault::not_found(path.display()),
        Fault::InvalidPath { .. } => Fault::ProgramPathInvalid {
            path: raw.to_owned(),
        },
        other => other,
    })?;
    if info.file_type == FileType::Directory {
        return Err(Fault::invalid(FileReason::NotAFile, path.display()));
    }
    let want = match family {
        Family::Linux => Want::Exec,
        Family::Windows => Want::Read,
    };
    if !guestio::may(family, &info.meta, info.file_type, user, want) {
        return Err(Fault::ProgramNotRunnable {
            path: path.display(),
        });
    }
    // Windows runs a batch file with `cmd.exe`: a user who may not run it may not run these.
    let lower = raw.to_ascii_lowercase();
    if family == Family::Windows && (lower.ends_with(".bat") || lower.ends_with(".cmd")) {
        let cmd = GuestPath::parse(family, WINDOWS_SHELL)?;
        let runs = match guestio::follow(guest.fs, &cmd, user) {
            Ok((_, shell)) => guestio::may(family, &shell.meta, shell.file_type, user, want),
            Err(Fault::GuestAccessDenied { .. }) => false,
            // A guest without the file still runs its batch files with the built-in shell.
            Err(_) => true,
        };
        if !runs {
            return Err(Fault::ProgramNotRunnable {
                path: path.display(),
            });
        }
    }
    Ok(path)
}

/// The working directory of a `create`: the one given (which must be a directory), or the
/// user's home directory on Linux (`/` if it is missing) and `C:\Windows\System32` on
/// Windows.
fn working_directory(
    guest: &Guest<'_>,
    user: &GuestUser,
    family: Family,
    given: Option<&str>,
) -> Result<GuestPath, Fault> {
    let not_a_dir = |reason, w: &str| Fault::File {
        kind: FileFaultKind::InvalidArgument,
        reason,
        path: w.to_owned(),
    };
    match given.filter(|w| !w.is_empty()) {
        Some(w) => {
            let p =
                GuestPath::parse(family, w).map_err(|_| not_a_dir(FileReason::NotADirectory, w))?;
            match guestio::follow(guest.fs, &p, user) {
                // Starting there is a `chdir`: the user must be allowed to enter it.
                Ok((_, info)) if info.file_type == FileType::Directory => {
                    let enter = match family {
                        Family::Linux => Want::Exec,
                        Family::Windows => Want::Read,
                    };
                    if guestio::may(family, &info.meta, info.file_type, user, enter) {
                        Ok(p)
                    } else {
                        Err(Fault::GuestAccessDenied { path: w.to_owned() })
                    }
                }
                Err(Fault::File {
                    reason: FileReason::FileNotFound,
                    ..
                }) => Err(not_a_dir(FileReason::FileNotFound, w)),
                _ => Err(not_a_dir(FileReason::NotADirectory, w)),
            }
        }
        None => {
            let raw = match family {
                Family::Linux => guestio::home_dir(family, user),
                Family::Windows => "C:\\Windows\\System32".to_owned(),
            };
            let home = GuestPath::parse(family, &raw)?;
            match guestio::follow(guest.fs, &home, user) {
                Ok((_, info)) if info.file_type == FileType::Directory => Ok(home),
                _ if family == Family::Linux => GuestPath::parse(family, "/"),
                _ => Ok(home),
            }
        }
    }
}

#[cfg(test)]
mod tests;
