//! Owns the `sh` built-ins: the commands a script can run without any program file, over the
//! guest filesystem with the caller's permissions (`echo`, `printf`, `cat`, `cp`, `mv`, `rm`,
//! `mkdir`, `touch`, `ls`, `pwd`, `cd`, `env`, `export`, `unset`, `true`, `false`, `:`,
//! `exit`, `sleep`, `uname`, `whoami`, `id`, `hostname`, `shutdown`, `reboot`, `poweroff`).

use std::time::Duration;

use time::OffsetDateTime;

use super::guestio::{self, Want};
use super::{Env, Event, Guest, GuestChange, MAX_OUTPUT, MAX_WORDS};
use crate::model::fault::Fault;
use crate::model::guest_fs::{AttrUpdate, Blob, Family, FileType, GuestPath, GuestUser};

/// What a built-in asks the interpreter to do next.
#[derive(Debug)]
pub(super) enum Flow {
    /// It finished with this status.
    Done(i32),
    /// Sleep this long (`None`: forever) and then finish with status 0.
    Sleep(Option<Duration>),
    /// Leave the current script with this status.
    Exit(i32),
    /// Leave the whole shell process (cmd's `exit` without `/b`).
    ExitProcess(i32),
    /// Run these words as a command with this environment (`env NAME=value command`).
    Run {
        /// The command and its arguments.
        fields: Vec<String>,
        /// The environment to run it with.
        env: Env,
    },
}

/// Everything a built-in may touch.
pub(super) struct Ctx<'a, 'g> {
    /// The guest the command runs in: its filesystem, programs and system facts.
    pub guest: &'a mut Guest<'g>,
    /// The guest account the process runs as.
    pub user: &'a GuestUser,
    /// The time the command runs at.
    pub now: OffsetDateTime,
    /// The shell's variables (or the environment an `env` command built).
    pub vars: &'a mut Env,
    /// The shell's working directory.
    pub cwd: &'a mut GuestPath,
    /// The command's standard input.
    pub stdin: &'a [u8],
    /// Guest changes the command asked for (shutdown, reboot), in order.
    pub events: &'a mut Vec<Event>,
    /// The status of the last command (`$?`).
    pub status: i32,
    /// What shell built-ins put before their messages (`bash: line 2: `).
    pub prefix: String,
    /// What the command wrote to standard output.
    pub out: Vec<u8>,
    /// What the command wrote to standard error.
    pub err: Vec<u8>,
}

impl Ctx<'_, '_> {
    /// The guest family (Linux or Windows).
    pub fn family(&self) -> Family {
        self.guest.system.family
    }

    /// Appends to standard output, keeping at most one byte more than any target takes.
    pub fn print(&mut self, bytes: &[u8]) {
        let room = (MAX_OUTPUT as usize + 1).saturating_sub(self.out.len());
        self.out.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    /// Appends to standard error, bounded like [`Ctx::print`].
    pub fn eprint(&mut self, text: &str) {
        let room = (MAX_OUTPUT as usize + 1).saturating_sub(self.err.len());
        let bytes = text.as_bytes();
        self.err.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    /// Prints `what: arg: message` on stderr and returns `status`.
    pub fn fail(&mut self, what: &str, arg: &str, fault: &Fault, status: i32) -> i32 {
        let msg = guestio::message(self.family(), fault);
        self.eprint(&format!("{what}: {arg}: {msg}\n"));
        status
    }

    /// `arg` as a path, relative ones taken from the working directory.
    pub fn path(&self, arg: &str) -> Result<GuestPath, Fault> {
        guestio::resolve(self.cwd, arg)
    }

    /// The name of the account with `uid`, if the guest knows it.
    pub fn account(&self, id: u32) -> Option<&str> {
        self.guest
            .system
            .accounts
            .iter()
            .find(|(u, _)| *u == id)
            .map(|(_, n)| n.as_str())
    }
}

/// A built-in command over words.
pub(super) type Builtin = fn(&mut Ctx<'_, '_>, &[String]) -> Flow;

/// The built-ins that are also program files on a real Linux guest (`/usr/bin/cat`), so a
/// path ending in one of these names runs the built-in.
pub(super) const PROGRAM_NAMES: [&str; 21] = [
    "echo", "printf", "cat", "cp", "mv", "rm", "mkdir", "touch", "ls", "pwd", "env", "true",
    "false", "sleep", "uname", "whoami", "id", "hostname", "shutdown", "reboot", "poweroff",
];

/// The built-in called `name`.
pub(super) fn lookup(name: &str) -> Option<Builtin> {
    Some(match name {
        "echo" => echo,
        "printf" => printf,
        "cat" => cat,
        "cp" => cp,
        "mv" => mv,
        "rm" => rm,
        "mkdir" => mkdir,
        "touch" => touch,
        "ls" => ls,
        "pwd" => pwd,
        "cd" => cd,
        "env" => env,
        "export" => export,
        "unset" => unset,
        "true" | ":" => |_, _| Flow::Done(0),
        "false" => |_, _| Flow::Done(1),
        "exit" => exit,
        "sleep" => sleep,
        "uname" => uname,
        "whoami" => whoami,
        "id" => id,
        "hostname" => hostname,
        "shutdown" => |c, a| power(c, "shutdown", a),
        "reboot" => |c, a| power(c, "reboot", a),
        "poweroff" => |c, a| power(c, "poweroff", a),
        "halt" => |c, a| power(c, "halt", a),
        _ => return None,
    })
}

/// Splits leading `-abc` options off `args` (up to `--`), keeping those made only of
/// `allowed` letters. Returns the letters seen and the remaining operands, or the first
/// unknown option.
fn options<'a>(args: &'a [String], allowed: &str) -> Result<(String, &'a [String]), String> {
    let mut letters = String::new();
    let mut i = 0;
    while let Some(a) = args.get(i) {
        if a == "--" {
            i += 1;
            break;
        }
        if a.len() < 2 || !a.starts_with('-') {
            break;
        }
        for c in a[1..].chars() {
            if !allowed.contains(c) {
                return Err(format!("invalid option -- '{c}'"));
            }
            letters.push(c);
        }
        i += 1;
    }
    Ok((letters, &args[i..]))
}

fn echo(ctx: &mut Ctx<'_, '_>, args: &[String]) -> Flow {
    let mut newline = true;
    let mut escapes = false;
    let mut i = 0;
    while let Some(a) = args.get(i) {
        if a.len() > 1 && a.starts_with('-') && a[1..].chars().all(|c| "neE".contains(c)) {
            for c in a[1..].chars() {
                match c {
                    'n' => newline = false,
                    'e' => escapes = true,
                    _ => escapes = false,
                }
            }
            i += 1;
        } else {
            break;
        }
    }
    let text = args[i..].join(" ");
    let mut bytes = if escapes {
        let (b, stop) = unescape(&text, true);
        if stop {
            newline = false;
        }
        b
    } else {
        text.into_bytes()
    };
    if newline {
        bytes.push(b'\n');
    }
    ctx.print(&bytes);
    Flow::Done(0)
}

/// Interprets backslash escapes (`\n`, `\t`, `\\`, `\0NNN` or `\NNN`, ...). Returns the bytes
/// and whether `\c` asked to stop output.
fn unescape(s: &str, echo_style: bool) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' || i + 1 >= b.len() {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let c = b[i + 1];
        i += 2;
        match c {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'v' => out.push(11),
            b'e' => out.push(27),
            b'\\' => out.push(b'\\'),
            b'"' if !echo_style => out.push(b'"'),
            b'c' => return (out, true),
            b'0'..=b'7' => {
                // echo takes \0NNN; printf takes \NNN.
                let mut digits = if echo_style && c == b'0' { 0 } else { 1 };
                let mut v: u32 = if echo_style && c == b'0' {
                    0
                } else {
                    u32::from(c - b'0')
                };
                while digits < 3 && i < b.len() && (b'0'..=b'7').contains(&b[i]) {
                    v = v * 8 + u32::from(b[i] - b'0');
                    i += 1;
                    digits += 1;
                }
                out.push((v & 0xff) as u8);
            }
            other => {
                out.push(b'\\');
                out.push(other);
            }
        }
    }
    (out, false)
}

fn printf(ctx: &mut Ctx<'_, '_>, args: &[String]) -> Flow {
    let Some(format) = args.first() else {
        ctx.eprint("printf: usage: printf format [arguments]\n");
        return Flow::Done(2);
    };
    let mut rest = &args[1..];
    let mut status = 0;
    let mut out: Vec<u8> = Vec::new();
    loop {
        let before = rest.len();
        match format_once(format, &mut rest, &mut out, &mut status) {
            Ok(true) => break,
            Ok(false) => {}
            Err(msg) => {
                ctx.print(&out);
                ctx.eprint(&msg);
                return Flow::Done(1);
            }
        }
        if rest.is_empty() || rest.len() == before || out.len() > MAX_OUTPUT as usize {
            break;
        }
    }
    if status != 0 {
        ctx.eprint("printf: invalid number\n");
    }
    ctx.print(&out);
    Flow::Done(status)
}

/// Formats `format` once, taking arguments from `rest`. Returns whether `\c` stopped output.
fn format_once(
    format: &str,
    rest: &mut &[String],
    out: &mut Vec<u8>,
    status: &mut i32,
) -> Result<bool, String> {
    let chars: Vec<char> = format.chars().collect();
    let mut i = 0;
    let next_arg = |rest: &mut &[String]| -> String {
        match rest.split_first() {
            Some((a, tail)) => {
                *rest = tail;
                a.clone()
            }
            None => String::new(),
        }
    };
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' {
            let mut esc = String::from('\\');
            i += 1;
            if let Some(&n) = chars.get(i) {
                esc.push(n);
                i += 1;
                if n.is_digit(8) {
                    while esc.len() < 4 && chars.get(i).is_some_and(|d| d.is_digit(8)) {
                        esc.push(chars[i]);
                        i += 1;
                    }
                }
            }
            let (bytes, stop) = unescape(&esc, false);
            out.extend_from_slice(&bytes);
            if stop {
                return Ok(true);
            }
            continue;
        }
        if c != '%' {
            let mut buf = [0; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            i += 1;
            continue;
        }
        i += 1;
        if chars.get(i) == Some(&'%') {
            out.push(b'%');
            i += 1;
            continue;
        }
        let mut left = false;
        let mut zero = false;
        while let Some(&f) = chars.get(i) {
            match f {
                '-' => left = true,
                '0' => zero = true,
                '+' | ' ' | '#' => {}
                _ => break,
            }
            i += 1;
        }
        let number = |i: &mut usize| -> Result<Option<usize>, String> {
            let start = *i;
            while chars.get(*i).is_some_and(char::is_ascii_digit) {
                *i += 1;
            }
            if *i == start {
                return Ok(None);
            }
            let text: String = chars[start..*i].iter().collect();
            match text.parse::<usize>() {
                Ok(n) if n <= MAX_WORDS => Ok(Some(n)),
                _ => Err("printf: width or precision too large\n".to_owned()),
            }
        };
        let width = number(&mut i)?.unwrap_or(0);
        let precision = if chars.get(i) == Some(&'.') {
            i += 1;
            Some(number(&mut i)?.unwrap_or(0))
        } else {
            None
        };
        let Some(&conv) = chars.get(i) else {
            return Err("printf: missing format character\n".to_owned());
        };
        i += 1;
        let body: String = match conv {
            's' | 'b' => {
                let a = next_arg(rest);
                let a = if conv == 'b' {
                    String::from_utf8_lossy(&unescape(&a, true).0).into_owned()
                } else {
                    a
                };
                match precision {
                    Some(p) => a.chars().take(p).collect(),
                    None => a,
                }
            }
            'c' => next_arg(rest)
                .chars()
                .next()
                .map(String::from)
                .unwrap_or_default(),
            'd' | 'i' | 'u' | 'x' | 'X' | 'o' => {
                let a = next_arg(rest);
                let v = parse_int(&a).unwrap_or_else(|| {
                    *status = 1;
                    0
                });
                match conv {
                    'x' => format!("{v:x}"),
                    'X' => format!("{v:X}"),
                    'o' => format!("{v:o}"),
                    _ => v.to_string(),
                }
            }
            other => return Err(format!("printf: %{other}: invalid directive\n")),
        };
        let pad = width.saturating_sub(body.chars().count());
        if pad + body.len() + out.len() > MAX_OUTPUT as usize + 1 {
            return Err("printf: output too large\n".to_owned());
        }
        let fill = if zero && !left && conv != 's' {
            '0'
        } else {
            ' '
        };
        if left {
            out.extend_from_slice(body.as_bytes());
            out.extend(std::iter::repeat_n(b' ', pad));
        } else if fill == '0' && body.starts_with('-') {
            out.push(b'-');
            out.extend(std::iter::repeat_n(b'0', pad));
            out.extend_from_slice(&body.as_bytes()[1..]);
        } else {
            out.extend(std::iter::repeat_n(fill as u8, pad));
            out.extend_from_slice(body.as_bytes());
        }
    }
    Ok(false)
}

fn parse_int(s: &str) -> Option<i64> {
    let t = s.trim();
    if t.is_empty() {
        return Some(0);
    }
    if let Some(q) = t.strip_prefix('\'').or_else(|| t.strip_prefix('"')) {
        return q.chars().next().map(|c| i64::from(u32::from(c)));
    }
    let (neg, digits) = match t.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let v = if let Some(h) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        i64::from_str_radix(h, 16).ok()?
    } else if digits.len() > 1 && digits.starts_with('0') {
        i64::from_str_radix(&digits[1..], 8).ok()?
    } else {
        digits.parse().ok()?
    };
    Some(if neg { -v } else { v })
}

fn cat(ctx: &mut Ctx<'_, '_>, args: &[String]) -> Flow {
    let (_, files) = match options(args, "uvAEnbst") {
        Ok(v) => v,
        Err(e) => {
            ctx.eprint(&format!("cat: {e}\n"));
            return Flow::Done(1);
        }
    };
    if files.is_empty() {
        let input = ctx.stdin.to_vec();
        ctx.print(&input);
        return Flow::Done(0);
    }
    let mut status = 0;
    for f in files {
        if f == "-" {
            let input = ctx.stdin.to_vec();
            ctx.print(&input);
            continue;
        }
        let read = ctx
            .path(f)
            .and_then(|p| guestio::read(&*ctx.guest.fs, &p, ctx.user, MAX_OUTPUT as usize + 1));
        match read {
            Ok(bytes) => ctx.print(&bytes),
            Err(e) => status = ctx.fail("cat", f, &e, 1),
        }
        if ctx.out.len() > MAX_OUTPUT as usize {
            break;
        }
    }
    Flow::Done(status)
}

/// The destination of a copy or move of `src` to `dst`: inside `dst` when it is a directory.
pub(super) fn into_dir(ctx: &Ctx<'_, '_>, src: &GuestPath, dst: &GuestPath) -> GuestPath {
    match guestio::follow(&*ctx.guest.fs, dst, ctx.user) {
        Ok((real, info)) if info.file_type == FileType::Directory => {
            real.join(src.file_name().unwrap_or_default())
        }
        _ => dst.clone(),
    }
}

fn cp(ctx: &mut Ctx<'_, '_>, args: &[String]) -> Flow {
    let (opts, ops) = match options(args, "fpvrRaT") {
        Ok(v) => v,
        Err(e) => {
            ctx.eprint(&format!("cp: {e}\n"));
            return Flow::Done(1);
        }
    };
    if opts.contains(['r', 'R', 'a']) {
        ctx.eprint("cp: recursive copies are not supported by vcmock's shell\n");
        return Flow::Done(1);
    }
    let Some((dst, srcs)) = ops.split_last().filter(|(_, s)| !s.is_empty()) else {
        ctx.eprint("cp: missing file operand\n");
        return Flow::Done(1);
    };
    let mut status = 0;
    for s in srcs {
        let result = (|| {
            let src = ctx.path(s)?;
            let (blob, info) = guestio::read_blob(&*ctx.guest.fs, &src, ctx.user)?;
            let target = into_dir(ctx, &src, &ctx.path(dst)?);
            let mode = info.meta.mode & !0o022;
            guestio::write_file(ctx.guest.fs, &target, ctx.user, blob, mode, ctx.now).map(|_| ())
        })();
        if let Err(e) = result {
            let msg = guestio::message(ctx.family(), &e);
            let what = if matches!(
                e,
                Fault::File {
                    reason: crate::model::fault::FileReason::NotAFile,
                    ..
                }
            ) {
                format!("cp: -r not specified; omitting directory '{s}'\n")
            } else {
                format!("cp: cannot copy '{s}' to '{dst}': {msg}\n")
            };
            ctx.eprint(&what);
            status = 1;
        }
    }
    Flow::Done(status)
}

fn mv(ctx: &mut Ctx<'_, '_>, args: &[String]) -> Flow {
    let (_, ops) = match options(args, "fnvT") {
        Ok(v) => v,
        Err(e) => {
            ctx.eprint(&format!("mv: {e}\n"));
            return Flow::Done(1);
        }
    };
    let Some((dst, srcs)) = ops.split_last().filter(|(_, s)| !s.is_empty()) else {
        ctx.eprint("mv: missing file operand\n");
        return Flow::Done(1);
    };
    let mut status = 0;
    for s in srcs {
        let result = (|| {
            let src = ctx.path(s)?;
            let info = ctx.guest.fs.stat(&src, ctx.user)?;
            let target = into_dir(ctx, &src, &ctx.path(dst)?);
            if info.file_type == FileType::Directory {
                ctx.guest.fs.move_dir(&src, &target, ctx.user)
            } else {
                ctx.guest.fs.move_file(&src, &target, ctx.user, true)
            }
        })();
        if let Err(e) = result {
            let msg = guestio::message(ctx.family(), &e);
            ctx.eprint(&format!("mv: cannot move '{s}' to '{dst}': {msg}\n"));
            status = 1;
        }
    }
    Flow::Done(status)
}

fn rm(ctx: &mut Ctx<'_, '_>, args: &[String]) -> Flow {
    let (opts, files) = match options(args, "frRvid") {
        Ok(v) => v,
        Err(e) => {
            ctx.eprint(&format!("rm: {e}\n"));
            return Flow::Done(1);
        }
    };
    let force = opts.contains('f');
    let recursive = opts.contains(['r', 'R']);
    if files.is_empty() && !force {
        ctx.eprint("rm: missing operand\n");
        return Flow::Done(1);
    }
    let mut status = 0;
    for f in files {
        let result = (|| {
            let p = ctx.path(f)?;
            let info = ctx.guest.fs.stat(&p, ctx.user)?;
            if info.file_type == FileType::Directory {
                if !recursive {
                    return Err(Fault::invalid(
                        crate::model::fault::FileReason::NotAFile,
                        p.display(),
                    ));
                }
                ctx.guest.fs.rmdir(&p, ctx.user, true)
            } else {
                ctx.guest.fs.delete_file(&p, ctx.user)
            }
        })();
        match result {
            Ok(()) => {}
            Err(Fault::File {
                reason: crate::model::fault::FileReason::FileNotFound,
                ..
            }) if force => {}
            Err(e) => {
                let msg = guestio::message(ctx.family(), &e);
                ctx.eprint(&format!("rm: cannot remove '{f}': {msg}\n"));
                status = 1;
            }
        }
    }
    Flow::Done(status)
}

fn mkdir(ctx: &mut Ctx<'_, '_>, args: &[String]) -> Flow {
    let (opts, dirs) = match options(args, "pv") {
        Ok(v) => v,
        Err(e) => {
            ctx.eprint(&format!("mkdir: {e}\n"));
            return Flow::Done(1);
        }
    };
    if dirs.is_empty() {
        ctx.eprint("mkdir: missing operand\n");
        return Flow::Done(1);
    }
    let parents = opts.contains('p');
    let mut status = 0;
    for d in dirs {
        let result = (|| {
            let p = ctx.path(d)?;
            if parents {
                if let Ok((_, info)) = guestio::follow(&*ctx.guest.fs, &p, ctx.user) {
                    if info.file_type == FileType::Directory {
                        return Ok(());
                    }
                }
            }
            ctx.guest.fs.mkdir(&p, ctx.user, parents, ctx.now)
        })();
        if let Err(e) = result {
            let msg = guestio::message(ctx.family(), &e);
            ctx.eprint(&format!("mkdir: cannot create directory '{d}': {msg}\n"));
            status = 1;
        }
    }
    Flow::Done(status)
}

fn touch(ctx: &mut Ctx<'_, '_>, args: &[String]) -> Flow {
    let (_, files) = match options(args, "acm") {
        Ok(v) => v,
        Err(e) => {
            ctx.eprint(&format!("touch: {e}\n"));
            return Flow::Done(1);
        }
    };
    if files.is_empty() {
        ctx.eprint("touch: missing file operand\n");
        return Flow::Done(1);
    }
    let mut status = 0;
    for f in files {
        let result = (|| {
            let p = ctx.path(f)?;
            match guestio::follow(&*ctx.guest.fs, &p, ctx.user) {
                Ok((real, _)) => {
                    let times = AttrUpdate {
                        modified: Some(ctx.now),
                        accessed: Some(ctx.now),
                        ..AttrUpdate::default()
                    };
                    ctx.guest.fs.update(&real, ctx.user, &times)
                }
                Err(_) => {
                    guestio::write_file(ctx.guest.fs, &p, ctx.user, Blob::empty(), 0o644, ctx.now)
                        .map(|_| ())
                }
            }
        })();
        if let Err(e) = result {
            let msg = guestio::message(ctx.family(), &e);
            ctx.eprint(&format!("touch: cannot touch '{f}': {msg}\n"));
            status = 1;
        }
    }
    Flow::Done(status)
}

fn mode_string(file_type: FileType, mode: u32) -> String {
    let mut s = String::with_capacity(10);
    s.push(match file_type {
        FileType::Directory => 'd',
        FileType::Symlink => 'l',
        FileType::File => '-',
    });
    for shift in [6, 3, 0] {
        let bits = (mode >> shift) & 7;
        s.push(if bits & 4 != 0 { 'r' } else { '-' });
        s.push(if bits & 2 != 0 { 'w' } else { '-' });
        s.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    s
}

fn ls(ctx: &mut Ctx<'_, '_>, args: &[String]) -> Flow {
    let (opts, paths) = match options(args, "alA1dhF") {
        Ok(v) => v,
        Err(e) => {
            ctx.eprint(&format!("ls: {e}\n"));
            return Flow::Done(2);
        }
    };
    let all = opts.contains('a');
    let almost = opts.contains('A');
    let long = opts.contains('l');
    let dir_itself = opts.contains('d');
    let operands: Vec<String> = if paths.is_empty() {
        vec![".".into()]
    } else {
        paths.to_vec()
    };
    let many = operands.len() > 1;
    let mut status = 0;
    let mut first = true;
    for arg in &operands {
        let listing = (|| {
            let p = ctx.path(arg)?;
            let (real, info) = guestio::follow(&*ctx.guest.fs, &p, ctx.user)?;
            if info.file_type != FileType::Directory || dir_itself {
                return Ok((None, vec![(arg.clone(), real)]));
            }
            let page = ctx
                .guest
                .fs
                .list(&real, ctx.user, 0, u64::MAX, false, &|_| true)?;
            let mut names: Vec<(String, GuestPath)> = Vec::new();
            if all {
                names.push((".".into(), real.clone()));
                names.push(("..".into(), real.parent().unwrap_or_else(|| real.clone())));
            }
            for e in page.files {
                if e.filename.starts_with('.') && !(all || almost) {
                    continue;
                }
                let child = real.join(&e.filename);
                names.push((e.filename, child));
            }
            Ok((Some(arg.clone()), names))
        })();
        let (header, names) = match listing {
            Ok(v) => v,
            Err(e) => {
                let msg = guestio::message(ctx.family(), &e);
                ctx.eprint(&format!("ls: cannot access '{arg}': {msg}\n"));
                status = 2;
                continue;
            }
        };
        if many && header.is_some() {
            if !first {
                ctx.print(b"\n");
            }
            ctx.print(format!("{arg}:\n").as_bytes());
        }
        first = false;
        if long && header.is_some() {
            let total: u64 = names
                .iter()
                .filter_map(|(_, p)| ctx.guest.fs.stat_ignoring_permissions(p))
                .map(|i| i.size.div_ceil(4096) * 4)
                .sum();
            ctx.print(format!("total {total}\n").as_bytes());
        }
        for (name, path) in names {
            if !long {
                ctx.print(format!("{name}\n").as_bytes());
                continue;
            }
            let Some(info) = ctx.guest.fs.stat_ignoring_permissions(&path) else {
                continue;
            };
            let owner = ctx
                .account(info.meta.owner)
                .map_or(info.meta.owner.to_string(), str::to_owned);
            let group = ctx
                .account(info.meta.group)
                .map_or(info.meta.group.to_string(), str::to_owned);
            let when = info
                .meta
                .modified
                .format(time::macros::format_description!(
                    "[month repr:short] [day padding:space] [hour]:[minute]"
                ))
                .unwrap_or_default();
            let links = if info.file_type == FileType::Directory {
                2
            } else {
                1
            };
            let target = info
                .symlink_target
                .as_ref()
                .map(|t| format!(" -> {t}"))
                .unwrap_or_default();
            let line = format!(
                "{} {links} {owner} {group} {} {when} {name}{target}\n",
                mode_string(info.file_type, info.meta.mode),
                info.size
            );
            ctx.print(line.as_bytes());
        }
    }
    Flow::Done(status)
}

fn pwd(ctx: &mut Ctx<'_, '_>, _: &[String]) -> Flow {
    let line = format!("{}\n", ctx.cwd.display());
    ctx.print(line.as_bytes());
    Flow::Done(0)
}

fn cd(ctx: &mut Ctx<'_, '_>, args: &[String]) -> Flow {
    let target = match args.first().map(String::as_str) {
        None => match ctx.vars.get("HOME") {
            Some(h) => h.to_owned(),
            None => {
                let msg = format!("{}cd: HOME not set\n", ctx.prefix);
                ctx.eprint(&msg);
                return Flow::Done(1);
            }
        },
        Some("-") => match ctx.vars.get("OLDPWD").map(str::to_owned) {
            Some(o) => {
                let line = format!("{o}\n");
                ctx.print(line.as_bytes());
                o
            }
            None => {
                let msg = format!("{}cd: OLDPWD not set\n", ctx.prefix);
                ctx.eprint(&msg);
                return Flow::Done(1);
            }
        },
        Some(t) => t.to_owned(),
    };
    let result = (|| {
        let p = ctx.path(&target)?;
        let (real, info) = guestio::follow(&*ctx.guest.fs, &p, ctx.user)?;
        if info.file_type != FileType::Directory {
            return Err(Fault::invalid(
                crate::model::fault::FileReason::NotADirectory,
                p.display(),
            ));
        }
        if !guestio::may(
            ctx.family(),
            &info.meta,
            info.file_type,
            ctx.user,
            Want::Exec,
        ) {
            return Err(Fault::GuestAccessDenied { path: p.display() });
        }
        // A shell keeps the logical path it was given, links included.
        let _ = real;
        Ok(p)
    })();
    match result {
        Ok(p) => {
            let old = ctx.cwd.display();
            ctx.vars.set("OLDPWD".into(), old);
            ctx.vars.set("PWD".into(), p.display());
            *ctx.cwd = p;
            Flow::Done(0)
        }
        Err(e) => {
            let prefix = format!("{}cd", ctx.prefix);
            Flow::Done(ctx.fail(&prefix, &target, &e, 1))
        }
    }
}

fn env(ctx: &mut Ctx<'_, '_>, args: &[String]) -> Flow {
    let mut env = ctx.vars.clone();
    let mut i = 0;
    while let Some(a) = args.get(i) {
        if a == "-i" || a == "-" {
            env = Env::new(env.folds_case());
        } else if a == "-u" {
            if let Some(n) = args.get(i + 1) {
                env.remove(n);
                i += 1;
            }
        } else if let Some((k, v)) = a.split_once('=').filter(|(k, _)| !k.is_empty()) {
            env.set(k.to_owned(), v.to_owned());
        } else {
            break;
        }
        i += 1;
    }
    if i < args.len() {
        return Flow::Run {
            fields: args[i..].to_vec(),
            env,
        };
    }
    let mut text = String::new();
    for (k, v) in env.iter() {
        text.push_str(k);
        text.push('=');
        text.push_str(v);
        text.push('\n');
    }
    ctx.print(text.as_bytes());
    Flow::Done(0)
}

fn export(ctx: &mut Ctx<'_, '_>, args: &[String]) -> Flow {
    let names: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    if names.is_empty() {
        let mut text = String::new();
        for (k, v) in ctx.vars.sorted() {
            text.push_str(&format!("declare -x {k}=\"{v}\"\n"));
        }
        ctx.print(text.as_bytes());
        return Flow::Done(0);
    }
    let mut status = 0;
    for a in names {
        let (k, v) = match a.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (a.as_str(), None),
        };
        if !super::sh_parse::is_name(k) {
            let msg = format!("{}export: `{a}': not a valid identifier\n", ctx.prefix);
            ctx.eprint(&msg);
            status = 1;
            continue;
        }
        match v {
            Some(v) => ctx.vars.set(k.to_owned(), v.to_owned()),
            None if ctx.vars.get(k).is_none() => ctx.vars.set(k.to_owned(), String::new()),
            None => {}
        }
    }
    Flow::Done(status)
}

fn unset(ctx: &mut Ctx<'_, '_>, args: &[String]) -> Flow {
    for a in args.iter().filter(|a| !a.starts_with('-')) {
        ctx.vars.remove(a);
    }
    Flow::Done(0)
}

fn exit(ctx: &mut Ctx<'_, '_>, args: &[String]) -> Flow {
    match args.first() {
        None => Flow::Exit(ctx.status),
        Some(a) => match a.parse::<i64>() {
            Ok(n) => Flow::Exit((n & 0xff) as i32),
            Err(_) => {
                let msg = format!("{}exit: {a}: numeric argument required\n", ctx.prefix);
                ctx.eprint(&msg);
                Flow::Exit(2)
            }
        },
    }
}

/// Parses a `sleep` interval: decimal seconds with an optional `s`, `m`, `h` or `d` suffix,
/// or `infinity`. `Ok(None)` is forever.
pub(super) fn interval(text: &str) -> Result<Option<Duration>, ()> {
    if text == "infinity" || text == "inf" {
        return Ok(None);
    }
    let (number, unit) = match text.char_indices().last() {
        Some((i, c @ ('s' | 'm' | 'h' | 'd'))) => (&text[..i], c),
        _ => (text, 's'),
    };
    let scale: u64 = match unit {
        'm' => 60,
        'h' => 3600,
        'd' => 86400,
        _ => 1,
    };
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    if (whole.is_empty() && frac.is_empty())
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(());
    }
    let Ok(secs) = whole
        .parse::<u64>()
        .or(if whole.is_empty() { Ok(0) } else { Err(()) })
    else {
        return Ok(None);
    };
    let mut nanos: u64 = 0;
    for (i, d) in frac.bytes().take(9).enumerate() {
        nanos += u64::from(d - b'0') * 10u64.pow(8 - i as u32);
    }
    let Some(total_secs) = secs.checked_mul(scale) else {
        return Ok(None);
    };
    let extra = Duration::from_nanos(nanos).checked_mul(scale as u32);
    match extra.and_then(|e| Duration::from_secs(total_secs).checked_add(e)) {
        Some(d) => Ok(Some(d)),
        None => Ok(None),
    }
}

fn sleep(ctx: &mut Ctx<'_, '_>, args: &[String]) -> Flow {
    if args.is_empty() {
        ctx.eprint("sleep: missing operand\n");
        return Flow::Done(1);
    }
    let mut total = Some(Duration::ZERO);
    for a in args {
        match interval(a) {
            Ok(Some(d)) => total = total.and_then(|t| t.checked_add(d)),
            Ok(None) => total = None,
            Err(()) => {
                ctx.eprint(&format!("sleep: invalid time interval '{a}'\n"));
                return Flow::Done(1);
            }
        }
    }
    Flow::Sleep(total)
}

fn uname(ctx: &mut Ctx<'_, '_>, args: &[String]) -> Flow {
    let (opts, rest) = match options(args, "asnrvmpio") {
        Ok(v) => v,
        Err(e) => {
            ctx.eprint(&format!("uname: {e}\n"));
            return Flow::Done(1);
        }
    };
    if let Some(extra) = rest.first() {
        ctx.eprint(&format!("uname: extra operand '{extra}'\n"));
        return Flow::Done(1);
    }
    let sys = &ctx.guest.system;
    let all = opts.contains('a');
    let want = |c: char| all || opts.contains(c);
    let mut fields: Vec<&str> = Vec::new();
    if want('s') || opts.is_empty() {
        fields.push("Linux");
    }
    if want('n') {
        fields.push(&sys.host_name);
    }
    if want('r') {
        fields.push(&sys.kernel_release);
    }
    if want('v') {
        fields.push(&sys.kernel_version);
    }
    if want('m') {
        fields.push(&sys.machine);
    }
    if want('p') {
        fields.push(&sys.machine);
    }
    if want('i') {
        fields.push(&sys.machine);
    }
    if want('o') {
        fields.push("GNU/Linux");
    }
    let line = format!("{}\n", fields.join(" "));
    ctx.print(line.as_bytes());
    Flow::Done(0)
}

fn whoami(ctx: &mut Ctx<'_, '_>, _: &[String]) -> Flow {
    let line = match ctx.family() {
        Family::Linux => format!("{}\n", ctx.user.name),
        Family::Windows => format!(
            "{}\\{}\r\n",
            ctx.guest.system.host_name.to_lowercase(),
            ctx.user.name.to_lowercase()
        ),
    };
    ctx.print(line.as_bytes());
    Flow::Done(0)
}

fn id(ctx: &mut Ctx<'_, '_>, args: &[String]) -> Flow {
    let (opts, _) = match options(args, "ugGnr") {
        Ok(v) => v,
        Err(e) => {
            ctx.eprint(&format!("id: {e}\n"));
            return Flow::Done(1);
        }
    };
    let named = |ctx: &Ctx<'_, '_>, id: u32| match ctx.account(id) {
        Some(n) => format!("{id}({n})"),
        None => id.to_string(),
    };
    let name_or_id =
        |ctx: &Ctx<'_, '_>, id: u32| ctx.account(id).map_or(id.to_string(), str::to_owned);
    let u = ctx.user.uid;
    let g = ctx.user.gid;
    let mut groups = vec![g];
    groups.extend(ctx.user.groups.iter().copied().filter(|x| *x != g));
    let n = opts.contains('n');
    let line = if opts.contains('u') {
        if n { name_or_id(ctx, u) } else { u.to_string() }
    } else if opts.contains('G') {
        groups
            .iter()
            .map(|x| {
                if n {
                    name_or_id(ctx, *x)
                } else {
                    x.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    } else if opts.contains('g') {
        if n { name_or_id(ctx, g) } else { g.to_string() }
    } else {
        let list: Vec<String> = groups.iter().map(|x| named(ctx, *x)).collect();
        format!(
            "uid={} gid={} groups={}",
            named(ctx, u),
            named(ctx, g),
            list.join(",")
        )
    };
    ctx.print(format!("{line}\n").as_bytes());
    Flow::Done(0)
}

fn hostname(ctx: &mut Ctx<'_, '_>, _: &[String]) -> Flow {
    let eol = if ctx.family() == Family::Windows {
        "\r\n"
    } else {
        "\n"
    };
    let line = format!("{}{eol}", ctx.guest.system.host_name);
    ctx.print(line.as_bytes());
    Flow::Done(0)
}

/// `shutdown`, `reboot`, `poweroff` and `halt`: root only; the change takes effect at once.
fn power(ctx: &mut Ctx<'_, '_>, name: &str, rest: &[String]) -> Flow {
    if ctx.user.uid != 0 {
        ctx.eprint(&format!("{name}: must be superuser.\n"));
        return Flow::Done(1);
    }
    let change = match name {
        "reboot" => GuestChange::Reboot,
        "shutdown" if rest.iter().any(|a| a == "-r" || a == "--reboot") => GuestChange::Reboot,
        _ => GuestChange::Shutdown,
    };
    ctx.events.push(Event {
        at: ctx.now,
        change,
    });
    Flow::Done(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sleep_intervals_take_decimals_suffixes_and_infinity() {
        let table = [
            ("10", Ok(Some(Duration::from_secs(10)))),
            ("0.5", Ok(Some(Duration::from_millis(500)))),
            (".25", Ok(Some(Duration::from_millis(250)))),
            ("2m", Ok(Some(Duration::from_secs(120)))),
            ("1.5h", Ok(Some(Duration::from_secs(5400)))),
            ("1d", Ok(Some(Duration::from_secs(86400)))),
            ("infinity", Ok(None)),
            ("99999999999999999999999", Ok(None)),
            ("", Err(())),
            ("x", Err(())),
            ("-1", Err(())),
            ("1.2.3", Err(())),
        ];
        for (text, want) in table {
            assert_eq!(interval(text), want, "{text}");
        }
    }

    #[test]
    fn printf_formats_reuse_the_format_and_bound_widths() {
        let run = |fmt: &str, args: &[&str]| {
            let mut rest: Vec<String> = args.iter().map(|s| s.to_string()).collect();
            let mut out = Vec::new();
            let mut status = 0;
            let mut slice: &[String] = &rest;
            let r = format_once(fmt, &mut slice, &mut out, &mut status);
            rest.clear();
            (r, String::from_utf8(out).unwrap(), status)
        };
        assert_eq!(run("%s-%d\\n", &["a", "7"]).1, "a-7\n");
        assert_eq!(
            run("[%5s|%-3s|%03d]", &["x", "y", "7"]).1,
            "[    x|y  |007]"
        );
        assert_eq!(run("%x %o %c %%", &["255", "8", "hey"]).1, "ff 10 h %");
        assert_eq!(run("%d", &["nope"]).2, 1);
        assert!(run("%999999999s", &["a"]).0.is_err());
        assert!(run("%q", &[]).0.is_err());
    }

    #[test]
    fn escapes_follow_echo_and_printf_rules() {
        assert_eq!(unescape("a\\tb\\n", true).0, b"a\tb\n");
        assert_eq!(unescape("\\0101", true).0, b"A");
        assert_eq!(unescape("\\101", false).0, b"A");
        assert_eq!(unescape("x\\cy", true), (b"x".to_vec(), true));
        assert_eq!(unescape("\\q", true).0, b"\\q");
    }
}
