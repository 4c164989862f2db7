//! Owns the interpreter: a stack of frames (shells, batch files and declared programs) that
//! runs one command at a time, keeps where it is across sleeps, and writes through
//! redirections into the guest filesystem.
//!
//! A frame is a script being read line by line (so a syntax error late in a script leaves the
//! earlier lines' effects, as a real shell does) or a declared program waiting for its run
//! time. Running a shell or a script pushes a frame; its end pops it and hands its status to
//! the frame below. Time passes only in `sleep`, `timeout` and declared programs.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use time::OffsetDateTime;

use super::builtins::{self, Builtin, Ctx, Flow};
use super::cmd_builtins::{self, CmdBuiltin};
use super::guestio::{self, AppendError, Want};
use super::program::{self, Program};
use super::syntax::{Command, Connector, Line, Param, Redir, RedirOp, Seg, Word};
use super::{
    CMD_NOT_FOUND_EXIT, Dialect, Env, Event, Guest, MAX_CAPTURE, MAX_DEPTH, MAX_HELD, MAX_OUTPUT,
    MAX_SCRIPT, MAX_STEPS, MAX_WORDS, MAX_WORK, NOT_FOUND_EXIT, RUNAWAY_EXIT, cmd_parse, sh_parse,
};
use crate::model::fault::{Fault, FileReason};
use crate::model::guest_fs::{
    Blob, Family, FileInfo, FileType, GuestFs, GuestPath, GuestUser, Meta, NodeKind,
};

/// Most bytes one process writes to files in all (its redirection targets together).
const MAX_TOTAL_OUTPUT: u64 = 4 * MAX_OUTPUT;

/// A command's standard input.
#[derive(Debug, Clone)]
enum In {
    Empty,
    Data(Arc<[u8]>),
}

impl In {
    fn bytes(&self) -> &[u8] {
        match self {
            Self::Empty => &[],
            Self::Data(d) => d,
        }
    }
}

/// Where a stream goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Out {
    /// Discarded (`/dev/null`, `NUL`).
    Null,
    /// Kept in the process for inspection (0: stdout, 1: stderr), bounded.
    Capture(usize),
    /// Appended to an opened guest file (an index into the open table).
    File(usize),
}

#[derive(Debug, Clone)]
struct Fds {
    stdin: In,
    out: Out,
    err: Out,
}

impl Fds {
    fn captured() -> Self {
        Self {
            stdin: In::Empty,
            out: Out::Capture(0),
            err: Out::Capture(1),
        }
    }
}

#[derive(Debug, Clone)]
struct Opened {
    path: GuestPath,
    written: u64,
}

/// The process's open files and captured streams.
#[derive(Debug, Clone, Default)]
struct Io {
    opened: Vec<Opened>,
    captured: [Vec<u8>; 2],
    total: u64,
    /// Bytes the process's commands have produced or read in, wherever they went
    /// ([`MAX_WORK`] in all).
    work: u64,
}

enum WriteFail {
    /// A bound was passed: the process must stop.
    Runaway,
    /// The write failed (disk full); the command fails.
    Failed(&'static str),
}

impl Io {
    fn open(&mut self, path: GuestPath) -> Out {
        self.opened.push(Opened { path, written: 0 });
        Out::File(self.opened.len() - 1)
    }

    fn write(
        &mut self,
        fs: &mut GuestFs,
        out: Out,
        data: &[u8],
        now: OffsetDateTime,
    ) -> Result<(), WriteFail> {
        if data.is_empty() {
            return Ok(());
        }
        match out {
            Out::Null => Ok(()),
            Out::Capture(i) => {
                let buf = &mut self.captured[i.min(1)];
                let room = MAX_CAPTURE.saturating_sub(buf.len());
                buf.extend_from_slice(&data[..data.len().min(room)]);
                Ok(())
            }
            Out::File(idx) => {
                let Some(o) = self.opened.get_mut(idx) else {
                    return Ok(());
                };
                let room = MAX_OUTPUT
                    .saturating_sub(o.written)
                    .min(MAX_TOTAL_OUTPUT.saturating_sub(self.total));
                let take = usize::try_from(room).unwrap_or(usize::MAX).min(data.len());
                o.written += take as u64;
                self.total += take as u64;
                let path = o.path.clone();
                let result = guestio::append(fs, &path, &data[..take], now);
                if take < data.len() {
                    return Err(WriteFail::Runaway);
                }
                result.map_err(|e| {
                    WriteFail::Failed(match (fs.family(), e) {
                        (Family::Linux, AppendError::NoSpace) => "No space left on device",
                        (Family::Linux, AppendError::TooLarge) => "File too large",
                        (Family::Windows, AppendError::NoSpace) => {
                            "There is not enough space on the disk."
                        }
                        (Family::Windows, AppendError::TooLarge) => "The file is too large.",
                    })
                })
            }
        }
    }
}

/// A script being read.
#[derive(Debug, Clone)]
struct Script {
    dialect: Dialect,
    source: Arc<str>,
    offset: usize,
    /// Newlines before `offset` (for "line N" in messages).
    newlines: usize,
    line: Line,
    line_no: usize,
    item: usize,
    pos: usize,
    status: i32,
    vars: Env,
    cwd: GuestPath,
    fds: Fds,
    /// `$0`, `$1`, ... (`%0`, `%1`, ... in a batch file).
    args: Vec<String>,
    /// A batch file run from `cmd.exe`: its variables and directory stay when it ends.
    shares_parent: bool,
    /// `cmd.exe /k`: keeps running after its command.
    linger: bool,
    /// A batch file (its parameters expand).
    batch: bool,
}

impl Script {
    fn new(
        dialect: Dialect,
        source: String,
        mut vars: Env,
        cwd: GuestPath,
        fds: Fds,
        args: Vec<String>,
    ) -> Self {
        if dialect == Dialect::Sh {
            vars.set("PWD".into(), cwd.display());
        }
        let args = if args.is_empty() {
            vec![String::from("sh")]
        } else {
            args
        };
        Self {
            dialect,
            source: Arc::from(source),
            offset: 0,
            newlines: 0,
            line: Vec::new(),
            line_no: 1,
            item: 0,
            pos: 0,
            status: 0,
            vars,
            cwd,
            fds,
            args,
            shares_parent: false,
            linger: false,
            batch: false,
        }
    }

    /// A diagnostic as this shell prints it.
    fn diag(&self, msg: &str) -> String {
        match self.dialect {
            Dialect::Sh => format!("{}: line {}: {msg}\n", self.args[0], self.line_no),
            Dialect::Cmd => format!("{msg}\r\n"),
        }
    }
}

/// A declared program waiting for its run time.
#[derive(Debug, Clone)]
struct Pending {
    program: Program,
    fds: Fds,
    until: Option<OffsetDateTime>,
}

#[derive(Debug, Clone)]
enum Frame {
    Script(Box<Script>),
    Program(Box<Pending>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wake {
    Ready,
    At(OffsetDateTime),
    Never,
}

/// Where a process stands after a resume.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Still running; it has something to do at `wake` (`None`: only a terminate ends it).
    Running {
        /// When it next needs the clock.
        wake: Option<OffsetDateTime>,
    },
    /// It ended with this exit code.
    Exited(i32),
}

/// Why a Windows program cannot start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LaunchError {
    /// The file is not something this guest can run (or a declared program that fails to
    /// start).
    NotRunnable(String),
}

/// One process's interpreter state: resumable, pure, and bounded.
#[derive(Debug, Clone)]
pub struct Runner {
    frames: Vec<Frame>,
    io: Io,
    events: Vec<Event>,
    steps: u32,
    wake: Wake,
    exit: Option<i32>,
    pid: u64,
    /// The guest time of the last step taken.
    clock: Option<OffsetDateTime>,
}

/// A built-in of either dialect.
#[derive(Clone, Copy)]
enum BuiltinFn {
    Sh(Builtin),
    Cmd(CmdBuiltin),
}

/// A program's arguments: words (sh) or raw text (Windows).
#[derive(Debug, Clone)]
enum Args {
    Words(Vec<String>),
    Raw(String),
}

impl Args {
    fn text(&self) -> String {
        match self {
            Self::Words(w) => w.join(" "),
            Self::Raw(r) => r.trim().to_owned(),
        }
    }

    fn words(&self) -> Vec<String> {
        match self {
            Self::Words(w) => w.clone(),
            Self::Raw(r) => cmd_parse::split_args(r),
        }
    }
}

/// What a file found on the search path is.
enum Kind {
    Builtin(BuiltinFn),
    Shell(Dialect),
    Script(Dialect, String, String),
    Declared(Program),
}

/// What the interpreter does after a command.
enum Action {
    Status(i32),
    Sleep(Option<Duration>),
    ExitFrame(i32),
    ExitProcess(i32),
    Push(Frame),
    Runaway(&'static str),
}

enum Next {
    Run(Command),
    End,
    Syntax(String),
    Runaway,
}

impl Runner {
    fn with(frame: Frame, pid: u64) -> Self {
        Self {
            frames: vec![frame],
            io: Io::default(),
            events: Vec::new(),
            steps: 0,
            wake: Wake::Ready,
            exit: None,
            pid,
            clock: None,
        }
    }

    /// A Linux process as VMware Tools starts one: `/bin/sh -c` running the command line
    /// `"PATH" ARGUMENTS`, so the arguments may carry redirections (`1> /tmp/out`).
    pub fn posix(path: &str, arguments: Option<&str>, env: Env, cwd: GuestPath, pid: u64) -> Self {
        let line = match arguments {
            Some(a) => format!("\"{path}\" {a}"),
            None => format!("\"{path}\""),
        };
        let script = Script::new(
            Dialect::Sh,
            line,
            env,
            cwd,
            Fds::captured(),
            vec!["sh".into()],
        );
        Self::with(Frame::Script(Box::new(script)), pid)
    }

    /// A shell process running `script` directly.
    #[cfg(test)]
    pub fn script(dialect: Dialect, script: &str, env: Env, cwd: GuestPath, pid: u64) -> Self {
        let name = match dialect {
            Dialect::Sh => "sh",
            Dialect::Cmd => "cmd.exe",
        };
        let s = Script::new(
            dialect,
            script.to_owned(),
            env,
            cwd,
            Fds::captured(),
            vec![name.into()],
        );
        Self::with(Frame::Script(Box::new(s)), pid)
    }

    /// A Windows process: the program at `path` started with the command-line text
    /// `arguments` and no shell, as `CreateProcess` does. Fails for a file that is not
    /// `cmd.exe`, a batch file, a known system program or a declared program.
    #[expect(
        clippy::too_many_arguments,
        reason = "a process start takes all of these"
    )]
    pub fn windows(
        guest: &mut Guest<'_>,
        user: &GuestUser,
        path: &GuestPath,
        arguments: &str,
        env: Env,
        cwd: GuestPath,
        pid: u64,
        now: OffsetDateTime,
    ) -> Result<Self, LaunchError> {
        let not_runnable =
            |e: Fault| LaunchError::NotRunnable(guestio::message(Family::Windows, &e).to_owned());
        let (real, info) = guestio::follow(guest.fs, path, user).map_err(not_runnable)?;
        let args = Args::Raw(arguments.to_owned());
        let kind = classify(guest, user, path, &real, &info, &args, &path.display())
            .map_err(|(msg, _)| LaunchError::NotRunnable(msg))?;
        let fds = Fds::captured();
        let shown = path.display();
        let frame = match kind {
            Kind::Builtin(_) => {
                let stem = real.file_name().unwrap_or_default().to_ascii_lowercase();
                let stem = stem.strip_suffix(".exe").unwrap_or(&stem).to_owned();
                let line = format!("{stem} {arguments}");
                Frame::Script(Box::new(Script::new(
                    Dialect::Cmd,
                    line,
                    env,
                    cwd,
                    fds,
                    vec![shown],
                )))
            }
            Kind::Declared(p) if p.fails_to_start => {
                return Err(LaunchError::NotRunnable(format!(
                    "'{shown}' fails to start"
                )));
            }
            kind => match start(
                kind,
                &args,
                &shown,
                Dialect::Cmd,
                env,
                cwd,
                fds,
                guest,
                user,
                now,
            ) {
                Ok(frame) => frame,
                Err((msg, _)) => return Err(LaunchError::NotRunnable(msg)),
            },
        };
        Ok(Self::with(frame, pid))
    }

    /// What the process wrote to its own standard output (not redirected), bounded.
    pub fn stdout(&self) -> &[u8] {
        &self.io.captured[0]
    }

    /// What the process wrote to its own standard error (not redirected), bounded.
    pub fn stderr(&self) -> &[u8] {
        &self.io.captured[1]
    }

    /// The guest time of the last step taken (the exit time, once it has ended).
    pub fn clock(&self) -> Option<OffsetDateTime> {
        self.clock
    }

    /// Commands run so far.
    pub fn steps(&self) -> u32 {
        self.steps
    }

    /// The guest changes asked for since the last call.
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    /// Ends the process now with `code` (terminated, or its guest went away).
    pub fn kill(&mut self, code: i32) {
        self.frames.clear();
        self.exit.get_or_insert(code);
    }

    /// Runs whatever is due by `at`, each step at the guest time it became due: a command
    /// after `sleep 5` started at `t` runs at `t + 5s` even when `at` is later. Stops early,
    /// still running, right after the process asks for a change that ends processes (a
    /// shutdown), so that nothing after it runs.
    pub fn resume(&mut self, guest: &mut Guest<'_>, user: &GuestUser, at: OffsetDateTime) -> State {
        let mut now = at;
        loop {
            if let Some(code) = self.exit {
                return State::Exited(code);
            }
            match self.wake {
                Wake::Never => return State::Running { wake: None },
                Wake::At(t) if t > at => return State::Running { wake: Some(t) },
                Wake::At(t) => {
                    now = t;
                    self.wake = Wake::Ready;
                }
                Wake::Ready => {}
            }
            self.clock = Some(now);
            self.step(guest, user, now);
            if self.events.iter().any(|e| e.change.ends_processes()) && self.exit.is_none() {
                // Paused for the caller, not waiting on the clock: if the process outlives
                // the change, it carries on at the time it is resumed, never before it.
                self.wake = Wake::Ready;
                return State::Running { wake: Some(now) };
            }
        }
    }

    fn step(&mut self, guest: &mut Guest<'_>, user: &GuestUser, now: OffsetDateTime) {
        if self.steps >= MAX_STEPS {
            self.runaway(guest, now, "its step limit");
            return;
        }
        let Some(top) = self.frames.last_mut() else {
            self.exit.get_or_insert(0);
            return;
        };
        match top {
            Frame::Program(p) => match p.until {
                None => self.wake = Wake::Never,
                Some(t) if t > now => self.wake = Wake::At(t),
                Some(_) => {
                    if let Some(Frame::Program(p)) = self.frames.pop() {
                        let status = self.finish_program(*p, guest, user, now);
                        if self.exit.is_none() {
                            self.hand_back(status, None);
                        }
                    }
                }
            },
            Frame::Script(f) => match next_command(f) {
                Next::Run(cmd) => {
                    self.steps += 1;
                    self.run_command(&cmd, guest, user, now);
                    if self.exit.is_none() && self.held_bytes() > MAX_HELD {
                        self.runaway(guest, now, "its memory limit");
                    } else if self.exit.is_none() && self.io.work > MAX_WORK {
                        self.runaway(guest, now, "its work limit");
                    }
                }
                Next::End if f.linger => self.wake = Wake::Never,
                Next::End => {
                    let status = f.status;
                    self.pop_frame(status);
                }
                Next::Syntax(msg) => {
                    let text = f.diag(&msg);
                    let err = f.fds.err;
                    let dialect = f.dialect;
                    if let Err(WriteFail::Runaway) =
                        self.io.write(guest.fs, err, text.as_bytes(), now)
                    {
                        self.runaway(guest, now, "its output limit");
                        return;
                    }
                    match dialect {
                        Dialect::Sh => self.pop_frame(2),
                        Dialect::Cmd => {
                            if let Some(Frame::Script(f)) = self.frames.last_mut() {
                                f.status = 1;
                            }
                        }
                    }
                }
                Next::Runaway => self.runaway(guest, now, "its word size limit"),
            },
        }
    }

    /// Bytes the process's shells hold in variables and parameters, nested shells included.
    fn held_bytes(&self) -> usize {
        self.frames
            .iter()
            .map(|f| match f {
                Frame::Script(s) => s.vars.bytes() + s.args.iter().map(String::len).sum::<usize>(),
                Frame::Program(_) => 0,
            })
            .sum()
    }

    /// Pops the top frame and hands `status` to the one below (or ends the process).
    fn pop_frame(&mut self, status: i32) {
        let child = self.frames.pop();
        let shared = match child {
            Some(Frame::Script(s)) if s.shares_parent => Some(s),
            _ => None,
        };
        self.hand_back(status, shared);
    }

    fn hand_back(&mut self, status: i32, shared: Option<Box<Script>>) {
        match self.frames.last_mut() {
            Some(Frame::Script(parent)) => {
                parent.status = status;
                if let Some(child) = shared {
                    parent.vars = child.vars;
                    parent.cwd = child.cwd;
                }
            }
            // Programs never have frames above them; nothing to hand back to.
            Some(Frame::Program(_)) => {}
            None => {
                self.exit.get_or_insert(status);
            }
        }
    }

    fn runaway(&mut self, guest: &mut Guest<'_>, now: OffsetDateTime, what: &str) {
        let err = self
            .frames
            .iter()
            .rev()
            .map(|f| match f {
                Frame::Script(s) => s.fds.err,
                Frame::Program(p) => p.fds.err,
            })
            .next()
            .unwrap_or(Out::Capture(1));
        let msg =
            format!("vcmock: the process passed {what} and was stopped (exit {RUNAWAY_EXIT})\n");
        if self.io.write(guest.fs, err, msg.as_bytes(), now).is_err() || err != Out::Capture(1) {
            let _ = self
                .io
                .write(guest.fs, Out::Capture(1), msg.as_bytes(), now);
        }
        self.frames.clear();
        self.exit.get_or_insert(RUNAWAY_EXIT);
    }

    fn finish_program(
        &mut self,
        p: Pending,
        guest: &mut Guest<'_>,
        user: &GuestUser,
        now: OffsetDateTime,
    ) -> i32 {
        let family = guest.system.family;
        for file in &p.program.files {
            let Ok(path) = GuestPath::parse(family, &file.path) else {
                continue;
            };
            if let Some(parent) = path.parent() {
                if guest.fs.stat_ignoring_permissions(&parent).is_none() {
                    let meta = Meta::new_for(user, now, 0o755);
                    let _ = guest.fs.insert_ignoring_permissions(
                        &parent,
                        NodeKind::Dir(BTreeMap::new()),
                        meta,
                    );
                }
            }
            match guest.fs.stat_ignoring_permissions(&path) {
                Some(info) if info.file_type == FileType::Directory => {}
                Some(_) if file.append => {
                    let _ = guestio::append(guest.fs, &path, file.content.as_bytes(), now);
                }
                _ => {
                    let blob = Blob::Bytes(Bytes::from(file.content.clone().into_bytes()));
                    let _ = guest.fs.write(&path, blob, Meta::new_for(user, now, 0o644));
                }
            }
        }
        for (out, text) in [
            (p.fds.out, &p.program.stdout),
            (p.fds.err, &p.program.stderr),
        ] {
            if let Err(WriteFail::Runaway) = self.io.write(guest.fs, out, text.as_bytes(), now) {
                self.runaway(guest, now, "its output limit");
                return RUNAWAY_EXIT;
            }
        }
        for change in &p.program.guest_changes {
            self.events.push(Event {
                at: now,
                change: *change,
            });
        }
        p.program.exit_code
    }

    fn run_command(
        &mut self,
        cmd: &Command,
        guest: &mut Guest<'_>,
        user: &GuestUser,
        now: OffsetDateTime,
    ) {
        let action = {
            let Runner {
                frames,
                io,
                events,
                pid,
                ..
            } = self;
            let Some(Frame::Script(f)) = frames.last_mut() else {
                return;
            };
            command(f, io, events, *pid, guest, user, now, cmd)
        };
        match action {
            Action::Status(s) => {
                if let Some(Frame::Script(f)) = self.frames.last_mut() {
                    f.status = s;
                }
            }
            Action::Sleep(d) => {
                if let Some(Frame::Script(f)) = self.frames.last_mut() {
                    f.status = 0;
                }
                let until = d
                    .and_then(|d| time::Duration::try_from(d).ok())
                    .and_then(|d| now.checked_add(d));
                self.wake = match until {
                    Some(t) => Wake::At(t),
                    None => Wake::Never,
                };
            }
            Action::ExitFrame(code) => self.pop_frame(code),
            Action::ExitProcess(code) => loop {
                let shared =
                    matches!(self.frames.last(), Some(Frame::Script(s)) if s.shares_parent);
                self.pop_frame(code);
                if !shared || self.frames.is_empty() {
                    break;
                }
            },
            Action::Push(frame) => {
                if self.frames.len() >= MAX_DEPTH {
                    self.runaway(guest, now, "its nesting limit");
                } else {
                    self.frames.push(frame);
                }
            }
            Action::Runaway(what) => self.runaway(guest, now, what),
        }
    }
}

// ------------------------------------------------------------------------------ reading lines

fn next_command(f: &mut Script) -> Next {
    loop {
        if let Some(list) = f.line.get(f.item) {
            if f.pos == 0 {
                f.pos = 1;
                return Next::Run(list.first.clone());
            }
            if let Some((conn, cmd)) = list.rest.get(f.pos - 1) {
                f.pos += 1;
                let run = match conn {
                    Connector::And => f.status == 0,
                    Connector::Or => f.status != 0,
                };
                if run {
                    return Next::Run(cmd.clone());
                }
                continue;
            }
            f.item += 1;
            f.pos = 0;
            continue;
        }
        if f.offset >= f.source.len() {
            return Next::End;
        }
        let src = f.source.clone();
        let start = f.offset;
        f.line_no = f.newlines + 1;
        let parsed = match f.dialect {
            Dialect::Sh => match sh_parse::parse_line(&src, &mut f.offset) {
                Ok(Some(line)) => Ok(line),
                Ok(None) => Ok(Vec::new()),
                Err(e) => Err(e.0),
            },
            Dialect::Cmd => {
                let end = src[start..].find('\n').map_or(src.len(), |i| start + i + 1);
                f.offset = end;
                let raw = src[start..end].trim_end_matches(['\n', '\r']);
                let params = f.batch.then_some(f.args.as_slice());
                let Some(text) =
                    cmd_parse::expand(raw, &f.vars, f.status, &f.cwd.display(), params, MAX_WORDS)
                else {
                    return Next::Runaway;
                };
                cmd_parse::parse_line(&text).map_err(|e| e.0)
            }
        };
        f.newlines += src[start..f.offset.min(src.len())].matches('\n').count();
        f.item = 0;
        f.pos = 0;
        match parsed {
            Ok(line) => f.line = line,
            Err(msg) => {
                f.line = Vec::new();
                return Next::Syntax(msg);
            }
        }
    }
}

// ------------------------------------------------------------------------------ expansion

fn param_value(p: &Param, f: &Script, pid: u64) -> String {
    match p {
        Param::Named(n) => f.vars.get(n).unwrap_or("").to_owned(),
        Param::Status => f.status.to_string(),
        Param::Pid => pid.to_string(),
        Param::Count => (f.args.len().saturating_sub(1)).to_string(),
        Param::All => f.args.get(1..).unwrap_or(&[]).join(" "),
        Param::Positional(d) => f.args.get(usize::from(*d)).cloned().unwrap_or_default(),
    }
}

/// Expands words into fields (unquoted parameters split on blanks). `None` past
/// [`MAX_WORDS`] bytes.
fn expand_fields(words: &[Word], f: &Script, pid: u64, home: &str) -> Option<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    let mut used = 0usize;
    for w in words {
        let mut cur = String::new();
        let mut started = false;
        for seg in &w.0 {
            match seg {
                Seg::Lit(s) | Seg::Quoted(s) => {
                    cur.push_str(s);
                    started = true;
                }
                Seg::Tilde => {
                    cur.push_str(home);
                    started = true;
                }
                Seg::Param {
                    param: Param::All,
                    quoted: true,
                } => {
                    for (i, p) in f.args.get(1..).unwrap_or(&[]).iter().enumerate() {
                        if i > 0 {
                            used += cur.len();
                            out.push(std::mem::take(&mut cur));
                        }
                        cur.push_str(p);
                        started = true;
                    }
                }
                Seg::Param {
                    param,
                    quoted: true,
                } => {
                    cur.push_str(&param_value(param, f, pid));
                    started = true;
                }
                Seg::Param {
                    param,
                    quoted: false,
                } => {
                    let v = param_value(param, f, pid);
                    let blank = |c: char| c == ' ' || c == '\t' || c == '\n';
                    let pieces: Vec<&str> = v.split(blank).filter(|p| !p.is_empty()).collect();
                    if pieces.is_empty() {
                        if !v.is_empty() && started {
                            used += cur.len();
                            out.push(std::mem::take(&mut cur));
                            started = false;
                        }
                        continue;
                    }
                    if v.starts_with(blank) && started {
                        used += cur.len();
                        out.push(std::mem::take(&mut cur));
                    }
                    for (i, piece) in pieces.iter().enumerate() {
                        if i > 0 {
                            used += cur.len();
                            out.push(std::mem::take(&mut cur));
                        }
                        cur.push_str(piece);
                        started = true;
                    }
                    if v.ends_with(blank) {
                        used += cur.len();
                        out.push(std::mem::take(&mut cur));
                        started = false;
                    }
                }
            }
            if used + cur.len() > MAX_WORDS {
                return None;
            }
        }
        if started {
            used += cur.len();
            out.push(cur);
        }
    }
    Some(out)
}

/// Expands a word without splitting (assignment values). `None` past [`MAX_WORDS`].
fn expand_joined(w: &Word, f: &Script, pid: u64, home: &str) -> Option<String> {
    let mut out = String::new();
    for seg in &w.0 {
        match seg {
            Seg::Lit(s) | Seg::Quoted(s) => out.push_str(s),
            Seg::Tilde => out.push_str(home),
            Seg::Param { param, .. } => out.push_str(&param_value(param, f, pid)),
        }
        if out.len() > MAX_WORDS {
            return None;
        }
    }
    Some(out)
}

fn plain_text(w: &Word) -> String {
    w.0.iter()
        .map(|s| match s {
            Seg::Lit(t) | Seg::Quoted(t) => t.as_str(),
            _ => "",
        })
        .collect()
}

// ------------------------------------------------------------------------------ commands

fn write_diag(
    io: &mut Io,
    fs: &mut GuestFs,
    err: Out,
    text: &str,
    now: OffsetDateTime,
) -> Result<(), &'static str> {
    match io.write(fs, err, text.as_bytes(), now) {
        Err(WriteFail::Runaway) => Err("its output limit"),
        _ => Ok(()),
    }
}

#[expect(clippy::too_many_arguments, reason = "the interpreter's whole context")]
fn command(
    f: &mut Script,
    io: &mut Io,
    events: &mut Vec<Event>,
    pid: u64,
    guest: &mut Guest<'_>,
    user: &GuestUser,
    now: OffsetDateTime,
    cmd: &Command,
) -> Action {
    let family = guest.system.family;
    let home = f
        .vars
        .get("HOME")
        .map(str::to_owned)
        .unwrap_or_else(|| guestio::home_dir(family, user));
    let (fields, raw) = match f.dialect {
        Dialect::Sh => match expand_fields(&cmd.words, f, pid, &home) {
            Some(v) => (v, None),
            None => return Action::Runaway("its word size limit"),
        },
        Dialect::Cmd => (
            cmd.words.iter().map(plain_text).collect::<Vec<_>>(),
            cmd.raw_args.clone(),
        ),
    };
    let mut assigns = Vec::new();
    for (name, w) in &cmd.assigns {
        match expand_joined(w, f, pid, &home) {
            Some(v) => assigns.push((name.clone(), v)),
            None => return Action::Runaway("its word size limit"),
        }
    }
    let mut fds = f.fds.clone();
    for r in &cmd.redirs {
        if let Err(msg) = redirect(r, &mut fds, f, io, guest, user, pid, &home, now) {
            let text = f.diag(&msg);
            if let Err(what) = write_diag(io, guest.fs, fds.err, &text, now) {
                return Action::Runaway(what);
            }
            return Action::Status(1);
        }
    }
    let Some(name) = fields
        .first()
        .filter(|n| f.dialect == Dialect::Sh || !n.is_empty())
        .cloned()
    else {
        for (n, v) in assigns {
            f.vars.set(n, v);
        }
        return Action::Status(0);
    };
    match f.dialect {
        Dialect::Sh => {
            let args = Args::Words(fields[1..].to_vec());
            if !name.contains('/') {
                if let Some(b) = builtins::lookup(&name) {
                    let vars = (!assigns.is_empty()).then(|| {
                        let mut env = f.vars.clone();
                        for (n, v) in &assigns {
                            env.set(n.clone(), v.clone());
                        }
                        env
                    });
                    return run_builtin(
                        BuiltinFn::Sh(b),
                        args,
                        vars,
                        f,
                        io,
                        events,
                        guest,
                        user,
                        now,
                        &fds,
                    );
                }
            }
            let mut env = f.vars.clone();
            for (n, v) in assigns {
                env.set(n, v);
            }
            external(f, io, events, guest, user, now, &name, args, env, fds)
        }
        Dialect::Cmd => {
            let args = Args::Raw(raw.unwrap_or_default());
            if let Some(b) = cmd_builtins::lookup(&name) {
                return run_builtin(
                    BuiltinFn::Cmd(b),
                    args,
                    None,
                    f,
                    io,
                    events,
                    guest,
                    user,
                    now,
                    &fds,
                );
            }
            let env = f.vars.clone();
            external(f, io, events, guest, user, now, &name, args, env, fds)
        }
    }
}

#[expect(clippy::too_many_arguments, reason = "the interpreter's whole context")]
fn redirect(
    r: &Redir,
    fds: &mut Fds,
    f: &Script,
    io: &mut Io,
    guest: &mut Guest<'_>,
    user: &GuestUser,
    pid: u64,
    home: &str,
    now: OffsetDateTime,
) -> Result<(), String> {
    let family = guest.system.family;
    let target = || -> Result<String, String> {
        match f.dialect {
            Dialect::Sh => {
                let fields = expand_fields(std::slice::from_ref(&r.target), f, pid, home)
                    .ok_or_else(|| "redirection target too long".to_owned())?;
                match fields.as_slice() {
                    [one] => Ok(one.clone()),
                    _ => Err(format!("{}: ambiguous redirect", plain_text(&r.target))),
                }
            }
            Dialect::Cmd => Ok(plain_text(&r.target)),
        }
    };
    let fail = |t: &str, e: &Fault| format!("{t}: {}", guestio::message(family, e));
    let set = |fds: &mut Fds, fd: u32, out: Out| match fd {
        1 => fds.out = out,
        2 => fds.err = out,
        _ => {}
    };
    match r.op {
        RedirOp::Write | RedirOp::Append | RedirOp::Both | RedirOp::BothAppend => {
            let t = target()?;
            let out = if guestio::is_null_device(family, &f.cwd, &t) {
                Out::Null
            } else {
                let path = guestio::resolve(&f.cwd, &t).map_err(|e| fail(&t, &e))?;
                let append = matches!(r.op, RedirOp::Append | RedirOp::BothAppend);
                let real =
                    open_target(guest.fs, &path, user, append, now).map_err(|e| fail(&t, &e))?;
                io.open(real)
            };
            if matches!(r.op, RedirOp::Both | RedirOp::BothAppend) {
                fds.out = out;
                fds.err = out;
            } else {
                set(fds, r.fd, out);
            }
        }
        RedirOp::Read => {
            let t = target()?;
            let input = if guestio::is_null_device(family, &f.cwd, &t) {
                In::Empty
            } else {
                let path = guestio::resolve(&f.cwd, &t).map_err(|e| fail(&t, &e))?;
                let data = guestio::read(guest.fs, &path, user, MAX_OUTPUT as usize)
                    .map_err(|e| fail(&t, &e))?;
                io.work += data.len() as u64;
                In::Data(Arc::from(data))
            };
            if r.fd == 0 {
                fds.stdin = input;
            }
        }
        RedirOp::Dup(n) => {
            let source = match n {
                1 => Some(fds.out),
                2 => Some(fds.err),
                u32::MAX => Some(Out::Null),
                _ => None,
            };
            match (r.fd, source) {
                (0, _) => {}
                (fd, Some(o)) => set(fds, fd, o),
                (_, None) => return Err(format!("{n}: Bad file descriptor")),
            }
        }
    }
    Ok(())
}

/// Opens `path` for writing as a redirection does: truncates (or creates) it, or for an
/// append checks it may be written (or creates it). Returns the file's real path.
fn open_target(
    fs: &mut GuestFs,
    path: &GuestPath,
    user: &GuestUser,
    append: bool,
    now: OffsetDateTime,
) -> Result<GuestPath, Fault> {
    if append {
        match guestio::follow(fs, path, user) {
            Ok((real, info)) => {
                if info.file_type == FileType::Directory {
                    return Err(Fault::invalid(FileReason::NotAFile, path.display()));
                }
                if !guestio::may(fs.family(), &info.meta, info.file_type, user, Want::Write) {
                    return Err(Fault::GuestAccessDenied {
                        path: path.display(),
                    });
                }
                return Ok(real);
            }
            Err(Fault::File {
                reason: FileReason::FileNotFound,
                ..
            }) => {}
            Err(e) => return Err(e),
        }
    }
    guestio::write_file(fs, path, user, Blob::empty(), 0o644, now)
}

#[expect(clippy::too_many_arguments, reason = "the interpreter's whole context")]
fn run_builtin(
    mut b: BuiltinFn,
    mut args: Args,
    mut vars: Option<Env>,
    f: &mut Script,
    io: &mut Io,
    events: &mut Vec<Event>,
    guest: &mut Guest<'_>,
    user: &GuestUser,
    now: OffsetDateTime,
    fds: &Fds,
) -> Action {
    loop {
        let prefix = match f.dialect {
            Dialect::Sh => format!("{}: line {}: ", f.args[0], f.line_no),
            Dialect::Cmd => String::new(),
        };
        let (flow, out, err) = {
            let status = f.status;
            let vars_ref: &mut Env = match vars.as_mut() {
                Some(v) => v,
                None => &mut f.vars,
            };
            let mut ctx = Ctx {
                guest: &mut *guest,
                user,
                now,
                vars: vars_ref,
                cwd: &mut f.cwd,
                stdin: fds.stdin.bytes(),
                events: &mut *events,
                status,
                prefix,
                out: Vec::new(),
                err: Vec::new(),
            };
            let flow = match b {
                BuiltinFn::Sh(b) => b(&mut ctx, &args.words()),
                BuiltinFn::Cmd(c) => {
                    let raw = match &args {
                        Args::Raw(r) => r.clone(),
                        Args::Words(w) => w.join(" "),
                    };
                    c(&mut ctx, &raw)
                }
            };
            (flow, ctx.out, ctx.err)
        };
        io.work += (out.len() + err.len()) as u64;
        for (target, bytes) in [(fds.out, &out), (fds.err, &err)] {
            match io.write(guest.fs, target, bytes, now) {
                Ok(()) => {}
                Err(WriteFail::Runaway) => return Action::Runaway("its output limit"),
                Err(WriteFail::Failed(msg)) => {
                    let text = f.diag(&format!("write error: {msg}"));
                    let _ = io.write(guest.fs, fds.err, text.as_bytes(), now);
                    return Action::Status(1);
                }
            }
        }
        match flow {
            Flow::Done(s) => return Action::Status(s),
            Flow::Sleep(d) => return Action::Sleep(d),
            Flow::Exit(c) => return Action::ExitFrame(c),
            Flow::ExitProcess(c) => return Action::ExitProcess(c),
            Flow::Run { fields, env } => {
                let Some((name, rest)) = fields.split_first() else {
                    return Action::Status(0);
                };
                let next_args = Args::Words(rest.to_vec());
                if !name.contains('/') {
                    if let Some(nb) = builtins::lookup(name) {
                        b = BuiltinFn::Sh(nb);
                        args = next_args;
                        vars = Some(env);
                        continue;
                    }
                }
                match resolve(f, guest, user, name, &next_args, &env) {
                    Ok(Kind::Builtin(nb)) => {
                        b = nb;
                        args = next_args;
                        vars = Some(env);
                    }
                    Ok(kind) => {
                        let shown = name.clone();
                        let cwd = f.cwd.clone();
                        return match start(
                            kind,
                            &next_args,
                            &shown,
                            f.dialect,
                            env,
                            cwd,
                            fds.clone(),
                            guest,
                            user,
                            now,
                        ) {
                            Ok(frame) => Action::Push(frame),
                            Err((msg, code)) => report(f, io, guest.fs, fds.err, &msg, code, now),
                        };
                    }
                    Err((msg, code)) => return report(f, io, guest.fs, fds.err, &msg, code, now),
                }
            }
        }
    }
}

fn report(
    f: &Script,
    io: &mut Io,
    fs: &mut GuestFs,
    err: Out,
    msg: &str,
    code: i32,
    now: OffsetDateTime,
) -> Action {
    let text = match f.dialect {
        Dialect::Sh => f.diag(msg),
        Dialect::Cmd => format!("{msg}\r\n"),
    };
    match write_diag(io, fs, err, &text, now) {
        Ok(()) => Action::Status(code),
        Err(what) => Action::Runaway(what),
    }
}

#[expect(clippy::too_many_arguments, reason = "the interpreter's whole context")]
fn external(
    f: &mut Script,
    io: &mut Io,
    events: &mut Vec<Event>,
    guest: &mut Guest<'_>,
    user: &GuestUser,
    now: OffsetDateTime,
    name: &str,
    args: Args,
    env: Env,
    fds: Fds,
) -> Action {
    match resolve(f, guest, user, name, &args, &env) {
        Ok(Kind::Builtin(b)) => {
            run_builtin(b, args, Some(env), f, io, events, guest, user, now, &fds)
        }
        Ok(kind) => {
            let cwd = f.cwd.clone();
            match start(
                kind,
                &args,
                name,
                f.dialect,
                env,
                cwd,
                fds.clone(),
                guest,
                user,
                now,
            ) {
                Ok(frame) => Action::Push(frame),
                Err((msg, code)) => report(f, io, guest.fs, fds.err, &msg, code, now),
            }
        }
        Err((msg, code)) => report(f, io, guest.fs, fds.err, &msg, code, now),
    }
}

// ------------------------------------------------------------------------------ finding programs

/// Finds the program a command names and what it is.
fn resolve(
    f: &Script,
    guest: &mut Guest<'_>,
    user: &GuestUser,
    name: &str,
    args: &Args,
    env: &Env,
) -> Result<Kind, (String, i32)> {
    let family = guest.system.family;
    let (invoked, real, info) = match family {
        Family::Linux => find_posix(guest.fs, user, &f.cwd, env, name)?,
        Family::Windows => find_windows(guest.fs, user, &f.cwd, env, name)?,
    };
    classify(guest, user, &invoked, &real, &info, args, name)
}

fn find_posix(
    fs: &GuestFs,
    user: &GuestUser,
    cwd: &GuestPath,
    env: &Env,
    name: &str,
) -> Result<(GuestPath, GuestPath, FileInfo), (String, i32)> {
    let check = |path: GuestPath| -> Result<(GuestPath, GuestPath, FileInfo), Fault> {
        let (real, info) = guestio::follow(fs, &path, user)?;
        if info.file_type == FileType::Directory {
            return Err(Fault::invalid(FileReason::NotAFile, path.display()));
        }
        if !guestio::may(Family::Linux, &info.meta, info.file_type, user, Want::Exec) {
            return Err(Fault::GuestAccessDenied {
                path: path.display(),
            });
        }
        Ok((path, real, info))
    };
    if name.contains('/') {
        let path = guestio::resolve(cwd, name).map_err(|e| {
            (
                format!("{name}: {}", guestio::message(Family::Linux, &e)),
                NOT_FOUND_EXIT,
            )
        })?;
        return check(path).map_err(|e| {
            let code = match e {
                Fault::File {
                    reason: FileReason::FileNotFound,
                    ..
                } => NOT_FOUND_EXIT,
                _ => 126,
            };
            (
                format!("{name}: {}", guestio::message(Family::Linux, &e)),
                code,
            )
        });
    }
    let search = env.get("PATH").unwrap_or("/usr/local/bin:/usr/bin:/bin");
    if !name.is_empty() && name != "." && name != ".." {
        for dir in search.split(':') {
            let dir = if dir.is_empty() { "." } else { dir };
            let Ok(base) = guestio::resolve(cwd, dir) else {
                continue;
            };
            if let Ok(found) = check(base.join(name)) {
                return Ok(found);
            }
        }
    }
    Err((format!("{name}: command not found"), NOT_FOUND_EXIT))
}

fn find_windows(
    fs: &GuestFs,
    user: &GuestUser,
    cwd: &GuestPath,
    env: &Env,
    name: &str,
) -> Result<(GuestPath, GuestPath, FileInfo), (String, i32)> {
    let not_found = || {
        (
            format!(
                "'{name}' is not recognized as an internal or external command,\r\noperable program or batch file."
            ),
            CMD_NOT_FOUND_EXIT,
        )
    };
    let exts: Vec<String> = env
        .get("PATHEXT")
        .unwrap_or(".COM;.EXE;.BAT;.CMD")
        .split(';')
        .filter(|e| !e.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    let lower = name.to_ascii_lowercase();
    let has_ext = exts.iter().any(|e| lower.ends_with(e.as_str()));
    let candidates: Vec<String> = if has_ext {
        vec![name.to_owned()]
    } else {
        exts.iter()
            .map(|e| format!("{name}{e}"))
            .chain([name.to_owned()])
            .collect()
    };
    let check = |path: GuestPath| -> Option<(GuestPath, GuestPath, FileInfo)> {
        let (real, info) = guestio::follow(fs, &path, user).ok()?;
        (info.file_type != FileType::Directory
            && guestio::may(
                Family::Windows,
                &info.meta,
                info.file_type,
                user,
                Want::Read,
            ))
        .then_some((path, real, info))
    };
    if name.contains(['\\', '/', ':']) {
        for c in &candidates {
            if let Some(found) = guestio::resolve(cwd, c).ok().and_then(check) {
                return Ok(found);
            }
        }
        return Err(not_found());
    }
    if name.is_empty() || name.contains(['<', '>', '"', '|', '?', '*']) {
        return Err(not_found());
    }
    let mut dirs = vec![cwd.clone()];
    for d in env
        .get("PATH")
        .unwrap_or("C:\\Windows\\system32;C:\\Windows")
        .split(';')
    {
        if d.trim().is_empty() {
            continue;
        }
        if let Ok(p) = guestio::resolve(cwd, d.trim()) {
            dirs.push(p);
        }
    }
    for dir in dirs {
        for c in &candidates {
            if let Some(found) = check(dir.join(c)) {
                return Ok(found);
            }
        }
    }
    Err(not_found())
}

/// What the file at `real` (run as `invoked`) is to this guest.
fn classify(
    guest: &mut Guest<'_>,
    user: &GuestUser,
    invoked: &GuestPath,
    real: &GuestPath,
    _info: &FileInfo,
    args: &Args,
    shown: &str,
) -> Result<Kind, (String, i32)> {
    let text = args.text();
    if let Some(p) = program::find(guest.programs, invoked, &text)
        .or_else(|| program::find(guest.programs, real, &text))
    {
        return Ok(Kind::Declared(p.clone()));
    }
    let base = real.file_name().unwrap_or_default().to_owned();
    let read_script = |guest: &Guest<'_>| -> Result<String, (String, i32)> {
        let content = guestio::read(guest.fs, real, user, MAX_SCRIPT + 1).map_err(|e| {
            (
                format!("{shown}: {}", guestio::message(guest.system.family, &e)),
                126,
            )
        })?;
        if content.len() > MAX_SCRIPT {
            return Err((
                format!("{shown}: script too large (the limit is {MAX_SCRIPT} bytes)"),
                126,
            ));
        }
        Ok(String::from_utf8_lossy(&content).into_owned())
    };
    match guest.system.family {
        Family::Linux => {
            if matches!(base.as_str(), "sh" | "bash" | "dash") {
                return Ok(Kind::Shell(Dialect::Sh));
            }
            if builtins::PROGRAM_NAMES.contains(&base.as_str()) {
                if let Some(b) = builtins::lookup(&base) {
                    return Ok(Kind::Builtin(BuiltinFn::Sh(b)));
                }
            }
            let head = guestio::read(guest.fs, real, user, 256).map_err(|e| {
                (
                    format!("{shown}: {}", guestio::message(Family::Linux, &e)),
                    126,
                )
            })?;
            let Some(rest) = head.strip_prefix(b"#!") else {
                return Err((
                    format!("{shown}: cannot execute binary file: Exec format error"),
                    126,
                ));
            };
            let first =
                String::from_utf8_lossy(rest.split(|b| *b == b'\n').next().unwrap_or_default())
                    .into_owned();
            let words: Vec<&str> = first.split_whitespace().collect();
            let tail = |p: &str| p.rsplit('/').next().unwrap_or_default().to_owned();
            let shell = |p: &str| matches!(tail(p).as_str(), "sh" | "bash" | "dash");
            let ok = match words.as_slice() {
                [i, s, ..] if tail(i) == "env" => shell(s),
                [i, ..] => shell(i),
                [] => false,
            };
            if !ok {
                return Err((
                    format!(
                        "{shown}: {}: bad interpreter: vcmock's guest runs only sh and bash scripts",
                        first.trim()
                    ),
                    126,
                ));
            }
            Ok(Kind::Script(
                Dialect::Sh,
                read_script(guest)?,
                shown.to_owned(),
            ))
        }
        Family::Windows => {
            let lower = base.to_ascii_lowercase();
            if lower == "cmd.exe" {
                return Ok(Kind::Shell(Dialect::Cmd));
            }
            if lower.ends_with(".bat") || lower.ends_with(".cmd") {
                return Ok(Kind::Script(
                    Dialect::Cmd,
                    read_script(guest)?,
                    shown.to_owned(),
                ));
            }
            if let Some(stem) = lower.strip_suffix(".exe") {
                if cmd_builtins::PROGRAM_NAMES.contains(&stem) {
                    if let Some(b) = cmd_builtins::lookup(stem) {
                        return Ok(Kind::Builtin(BuiltinFn::Cmd(b)));
                    }
                }
            }
            Err((
                format!("'{shown}' cannot be run by vcmock's guest: declare it as a program"),
                1,
            ))
        }
    }
}

// ------------------------------------------------------------------------------ starting programs

enum ShSource {
    Inline(String),
    File(String),
    Stdin,
}

/// Reads `sh`/`bash` options: `-c SCRIPT [NAME [ARGS]]`, `FILE [ARGS]`, or nothing (the
/// script comes from standard input). Other options are accepted and ignored.
fn sh_invocation(
    args: &[String],
    argv0: &str,
) -> Result<(ShSource, String, Vec<String>), (String, i32)> {
    let mut i = 0;
    let mut command = false;
    while let Some(a) = args.get(i) {
        if a == "--" || a == "-" {
            i += 1;
            break;
        }
        if a.starts_with("--") {
            i += 1;
            continue;
        }
        if a.len() > 1 && (a.starts_with('-') || a.starts_with('+')) {
            for c in a[1..].chars() {
                match c {
                    'c' => command = true,
                    'o' => i += 1,
                    _ => {}
                }
            }
            i += 1;
            continue;
        }
        break;
    }
    if command {
        let Some(script) = args.get(i) else {
            return Err((format!("{argv0}: -c: option requires an argument"), 2));
        };
        let dollar0 = args.get(i + 1).cloned().unwrap_or_else(|| argv0.to_owned());
        let params = args.get(i + 2..).unwrap_or(&[]).to_vec();
        return Ok((ShSource::Inline(script.clone()), dollar0, params));
    }
    match args.get(i) {
        Some(file) => Ok((
            ShSource::File(file.clone()),
            file.clone(),
            args[i + 1..].to_vec(),
        )),
        None => Ok((ShSource::Stdin, argv0.to_owned(), Vec::new())),
    }
}

/// Reads `cmd.exe` switches: the command text after `/c` or `/k`, and whether to linger.
fn cmd_invocation(raw: &str) -> Option<(String, bool)> {
    let mut rest = raw.trim_start();
    while rest.len() >= 2 && rest.starts_with('/') {
        let switch = rest.as_bytes()[1].to_ascii_lowercase();
        if switch == b'c' || switch == b'k' {
            let mut text = rest[2..].trim_start().to_owned();
            if text.starts_with('"') {
                text.remove(0);
                if let Some(last) = text.rfind('"') {
                    text.remove(last);
                }
            }
            return Some((text, switch == b'k'));
        }
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        rest = rest[end..].trim_start();
    }
    None
}

/// Builds the frame that runs `kind`.
#[expect(
    clippy::too_many_arguments,
    reason = "a program start takes all of these"
)]
fn start(
    kind: Kind,
    args: &Args,
    shown: &str,
    caller: Dialect,
    env: Env,
    cwd: GuestPath,
    fds: Fds,
    guest: &mut Guest<'_>,
    user: &GuestUser,
    now: OffsetDateTime,
) -> Result<Frame, (String, i32)> {
    let too_large = |what: &str| {
        (
            format!("{what}: script too large (the limit is {MAX_SCRIPT} bytes)"),
            2,
        )
    };
    match kind {
        Kind::Shell(Dialect::Sh) => {
            let (source, dollar0, params) = sh_invocation(&args.words(), shown)?;
            let text = match source {
                ShSource::Inline(s) => s,
                ShSource::Stdin => String::from_utf8_lossy(fds.stdin.bytes()).into_owned(),
                ShSource::File(file) => {
                    let read = guestio::resolve(&cwd, &file)
                        .and_then(|p| guestio::read(guest.fs, &p, user, MAX_SCRIPT + 1));
                    match read {
                        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                        Err(e) => {
                            let msg = guestio::message(Family::Linux, &e);
                            return Err((format!("{shown}: {file}: {msg}"), NOT_FOUND_EXIT));
                        }
                    }
                }
            };
            if text.len() > MAX_SCRIPT {
                return Err(too_large(shown));
            }
            let mut all = vec![dollar0];
            all.extend(params);
            Ok(Frame::Script(Box::new(Script::new(
                Dialect::Sh,
                text,
                env,
                cwd,
                fds,
                all,
            ))))
        }
        Kind::Shell(Dialect::Cmd) => {
            let raw = match args {
                Args::Raw(r) => r.clone(),
                Args::Words(w) => w.join(" "),
            };
            let (text, linger) = match cmd_invocation(&raw) {
                Some(v) => v,
                None => (
                    String::from_utf8_lossy(fds.stdin.bytes()).into_owned(),
                    false,
                ),
            };
            if text.len() > MAX_SCRIPT {
                return Err(too_large(shown));
            }
            let mut s = Script::new(Dialect::Cmd, text, env, cwd, fds, vec![shown.to_owned()]);
            s.linger = linger;
            Ok(Frame::Script(Box::new(s)))
        }
        Kind::Script(dialect, content, path) => {
            let mut all = vec![path];
            all.extend(args.words());
            let mut s = Script::new(dialect, content, env, cwd, fds, all);
            s.batch = dialect == Dialect::Cmd;
            s.shares_parent = dialect == Dialect::Cmd && caller == Dialect::Cmd;
            Ok(Frame::Script(Box::new(s)))
        }
        Kind::Declared(p) => {
            if p.fails_to_start {
                return Err((
                    format!("{shown}: cannot execute: the program fails to start"),
                    126,
                ));
            }
            let until = time::Duration::try_from(p.duration())
                .ok()
                .and_then(|d| now.checked_add(d));
            Ok(Frame::Program(Box::new(Pending {
                program: p,
                fds,
                until,
            })))
        }
        Kind::Builtin(_) => Err((format!("{shown}: cannot be started here"), 126)),
    }
}
