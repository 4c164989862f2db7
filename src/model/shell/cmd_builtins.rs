//! Owns the `cmd.exe` built-ins: `echo`, `type`, `copy`, `del`/`erase`, `mkdir`/`md`, `set`,
//! `cd`/`chdir`, `exit [/b] [N]`, `ver`, `rem`, `setlocal`/`endlocal`, and the small programs
//! every Windows guest has (`whoami`, `hostname`, `timeout`, `shutdown`). They take the raw
//! argument text, as `cmd.exe` does, and end their lines with CRLF.

use std::time::Duration;

use super::builtins::{Ctx, Flow};
use super::cmd_parse::split_args;
use super::guestio;
use super::{Event, GuestChange};
use crate::model::fault::{Fault, FileReason};
use crate::model::guest_fs::FileType;

/// A built-in over raw argument text.
pub(super) type CmdBuiltin = fn(&mut Ctx<'_, '_>, &str) -> Flow;

/// The programs that are files on a real Windows guest (`C:\Windows\System32\whoami.exe`),
/// so a path to one of these names runs the built-in.
pub(super) const PROGRAM_NAMES: [&str; 4] = ["whoami", "hostname", "timeout", "shutdown"];

/// The built-in called `name` (compared case-insensitively).
pub(super) fn lookup(name: &str) -> Option<CmdBuiltin> {
    Some(match name.to_ascii_lowercase().as_str() {
        "echo" => echo,
        "echo." => echo_dot,
        "type" => type_,
        "copy" => copy,
        "del" | "erase" => del,
        "mkdir" | "md" => mkdir,
        "set" => set,
        "cd" | "chdir" => cd,
        "exit" => exit,
        "ver" => ver,
        "rem" | "setlocal" | "endlocal" => |_, _| Flow::Done(0),
        "whoami" => |c, _| super::builtins::lookup("whoami").map_or(Flow::Done(1), |b| b(c, &[])),
        "hostname" => {
            |c, _| super::builtins::lookup("hostname").map_or(Flow::Done(1), |b| b(c, &[]))
        }
        "timeout" => timeout,
        "shutdown" => shutdown,
        _ => return None,
    })
}

fn line(ctx: &mut Ctx<'_, '_>, text: &str) {
    ctx.print(text.as_bytes());
    ctx.print(b"\r\n");
}

fn eline(ctx: &mut Ctx<'_, '_>, text: &str) {
    ctx.eprint(text);
    ctx.eprint("\r\n");
}

fn echo(ctx: &mut Ctx<'_, '_>, raw: &str) -> Flow {
    let t = raw.trim();
    if t.is_empty() {
        line(ctx, "ECHO is on.");
    } else if !(t.eq_ignore_ascii_case("on") || t.eq_ignore_ascii_case("off")) {
        line(ctx, raw);
    }
    Flow::Done(0)
}

fn echo_dot(ctx: &mut Ctx<'_, '_>, raw: &str) -> Flow {
    line(ctx, raw);
    Flow::Done(0)
}

/// Arguments without `/x` switches.
fn operands(raw: &str) -> Vec<String> {
    split_args(raw)
        .into_iter()
        .filter(|a| !a.starts_with('/'))
        .collect()
}

fn type_(ctx: &mut Ctx<'_, '_>, raw: &str) -> Flow {
    let files = operands(raw);
    if files.is_empty() {
        eline(ctx, super::cmd_parse::SYNTAX_INCORRECT);
        return Flow::Done(1);
    }
    let mut status = 0;
    for f in &files {
        if files.len() > 1 {
            ctx.eprint(&format!("\r\n{f}\r\n\r\n\r\n"));
        }
        let read = ctx.path(f).and_then(|p| {
            guestio::read(&*ctx.guest.fs, &p, ctx.user, super::MAX_OUTPUT as usize + 1)
        });
        match read {
            Ok(bytes) => ctx.print(&bytes),
            Err(e) => {
                let msg = guestio::message(ctx.family(), &e);
                eline(ctx, msg);
                status = 1;
            }
        }
    }
    Flow::Done(status)
}

fn copy(ctx: &mut Ctx<'_, '_>, raw: &str) -> Flow {
    let args = operands(raw);
    let (src, dst) = match args.as_slice() {
        [s] => (s.clone(), ".".to_owned()),
        [s, d] => (s.clone(), d.clone()),
        _ => {
            eline(ctx, super::cmd_parse::SYNTAX_INCORRECT);
            return Flow::Done(1);
        }
    };
    let result = (|| {
        let from = ctx.path(&src)?;
        let (blob, _) = guestio::read_blob(&*ctx.guest.fs, &from, ctx.user)?;
        let to = super::builtins::into_dir(ctx, &from, &ctx.path(&dst)?);
        guestio::write_file(ctx.guest.fs, &to, ctx.user, blob, 0o644, ctx.now).map(|_| ())
    })();
    match result {
        Ok(()) => {
            line(ctx, "        1 file(s) copied.");
            Flow::Done(0)
        }
        Err(e) => {
            let msg = guestio::message(ctx.family(), &e);
            eline(ctx, msg);
            line(ctx, "        0 file(s) copied.");
            Flow::Done(1)
        }
    }
}

fn del(ctx: &mut Ctx<'_, '_>, raw: &str) -> Flow {
    let files = operands(raw);
    if files.is_empty() {
        eline(ctx, super::cmd_parse::SYNTAX_INCORRECT);
        return Flow::Done(1);
    }
    let mut status = 0;
    for f in &files {
        let result = (|| {
            let p = ctx.path(f)?;
            let info = ctx.guest.fs.stat(&p, ctx.user)?;
            if info.file_type == FileType::Directory {
                return Err(Fault::invalid(FileReason::NotAFile, p.display()));
            }
            ctx.guest.fs.delete_file(&p, ctx.user).map(|()| p)
        })();
        match result {
            Ok(_) => {}
            Err(Fault::File {
                reason: FileReason::FileNotFound,
                ..
            }) => {
                let shown = ctx
                    .path(f)
                    .map(|p| p.display())
                    .unwrap_or_else(|_| f.clone());
                eline(ctx, &format!("Could Not Find {shown}"));
                status = 1;
            }
            Err(e) => {
                let msg = guestio::message(ctx.family(), &e);
                eline(ctx, &format!("{f}\r\n{msg}"));
                status = 1;
            }
        }
    }
    Flow::Done(status)
}

fn mkdir(ctx: &mut Ctx<'_, '_>, raw: &str) -> Flow {
    let dirs = operands(raw);
    if dirs.is_empty() {
        eline(ctx, super::cmd_parse::SYNTAX_INCORRECT);
        return Flow::Done(1);
    }
    let mut status = 0;
    for d in &dirs {
        let result = ctx
            .path(d)
            .and_then(|p| ctx.guest.fs.mkdir(&p, ctx.user, true, ctx.now));
        match result {
            Ok(()) => {}
            Err(Fault::AlreadyExists { .. }) => {
                eline(ctx, &format!("A subdirectory or file {d} already exists."));
                status = 1;
            }
            Err(e) => {
                let msg = guestio::message(ctx.family(), &e);
                eline(ctx, msg);
                status = 1;
            }
        }
    }
    Flow::Done(status)
}

fn set(ctx: &mut Ctx<'_, '_>, raw: &str) -> Flow {
    let mut t = raw.trim();
    if t.len() >= 2 && t.starts_with('/') {
        eline(ctx, "vcmock: set /a and set /p are not supported");
        return Flow::Done(1);
    }
    if t.starts_with('"') {
        t = t.trim_start_matches('"');
        if let Some(end) = t.rfind('"') {
            t = &t[..end];
        }
    }
    if t.is_empty() {
        let mut text = String::new();
        for (k, v) in ctx.vars.sorted() {
            text.push_str(&format!("{k}={v}\r\n"));
        }
        ctx.print(text.as_bytes());
        return Flow::Done(0);
    }
    match t.split_once('=') {
        Some(("", _)) => {
            eline(ctx, super::cmd_parse::SYNTAX_INCORRECT);
            Flow::Done(1)
        }
        Some((name, value)) => {
            if value.is_empty() {
                ctx.vars.remove(name);
            } else {
                ctx.vars.set(name.to_owned(), value.to_owned());
            }
            Flow::Done(0)
        }
        None => {
            let prefix = t.to_ascii_lowercase();
            let mut text = String::new();
            for (k, v) in ctx.vars.sorted() {
                if k.to_ascii_lowercase().starts_with(&prefix) {
                    text.push_str(&format!("{k}={v}\r\n"));
                }
            }
            if text.is_empty() {
                eline(ctx, &format!("Environment variable {t} not defined"));
                return Flow::Done(1);
            }
            ctx.print(text.as_bytes());
            Flow::Done(0)
        }
    }
}

fn cd(ctx: &mut Ctx<'_, '_>, raw: &str) -> Flow {
    let args: Vec<String> = split_args(raw)
        .into_iter()
        .filter(|a| !a.eq_ignore_ascii_case("/d"))
        .collect();
    if args.is_empty() {
        let shown = ctx.cwd.display();
        line(ctx, &shown);
        return Flow::Done(0);
    }
    let target = args.join(" ");
    let result = (|| {
        let p = ctx.path(&target)?;
        let (_, info) = guestio::follow(&*ctx.guest.fs, &p, ctx.user)?;
        if info.file_type != FileType::Directory {
            return Err(Fault::invalid(FileReason::NotADirectory, p.display()));
        }
        Ok(p)
    })();
    match result {
        Ok(p) => {
            *ctx.cwd = p;
            Flow::Done(0)
        }
        Err(_) => {
            eline(ctx, "The system cannot find the path specified.");
            Flow::Done(1)
        }
    }
}

fn exit(ctx: &mut Ctx<'_, '_>, raw: &str) -> Flow {
    let args = split_args(raw);
    let batch = args.iter().any(|a| a.eq_ignore_ascii_case("/b"));
    let code = args
        .iter()
        .find(|a| !a.starts_with('/'))
        .map(|a| a.parse::<i32>().unwrap_or(0))
        .unwrap_or(ctx.status);
    if batch {
        Flow::Exit(code)
    } else {
        Flow::ExitProcess(code)
    }
}

fn ver(ctx: &mut Ctx<'_, '_>, _: &str) -> Flow {
    let text = format!(
        "\r\nMicrosoft Windows [Version {}]\r\n",
        ctx.guest.system.windows_version
    );
    ctx.print(text.as_bytes());
    Flow::Done(0)
}

fn timeout(ctx: &mut Ctx<'_, '_>, raw: &str) -> Flow {
    let args = split_args(raw);
    let mut secs: Option<i64> = None;
    let mut i = 0;
    while let Some(a) = args.get(i) {
        if a.eq_ignore_ascii_case("/t") || a.eq_ignore_ascii_case("-t") {
            secs = args.get(i + 1).and_then(|n| n.parse().ok());
            i += 1;
        } else if !a.starts_with('/') && secs.is_none() {
            secs = a.parse().ok();
        }
        i += 1;
    }
    match secs {
        Some(-1) => Flow::Sleep(None),
        Some(n @ 0..=99_999) => {
            line(ctx, "");
            line(
                ctx,
                &format!("Waiting for {n} seconds, press a key to continue ..."),
            );
            Flow::Sleep(Some(Duration::from_secs(n as u64)))
        }
        _ => {
            eline(
                ctx,
                "ERROR: Invalid value for timeout (/T) specified. Valid range is -1 to 99999.",
            );
            Flow::Done(1)
        }
    }
}

fn shutdown(ctx: &mut Ctx<'_, '_>, raw: &str) -> Flow {
    let args: Vec<String> = split_args(raw)
        .into_iter()
        .map(|a| a.to_ascii_lowercase())
        .collect();
    let change = if args.iter().any(|a| a == "/r" || a == "-r") {
        GuestChange::Reboot
    } else if args.iter().any(|a| a == "/h" || a == "-h") {
        GuestChange::Standby
    } else if args
        .iter()
        .any(|a| a == "/s" || a == "-s" || a == "/p" || a == "-p")
    {
        GuestChange::Shutdown
    } else {
        eline(ctx, "vcmock: shutdown needs /s, /r, /h or /p");
        return Flow::Done(1);
    };
    if !ctx.user.admin {
        eline(ctx, "Access is denied.(5)");
        return Flow::Done(5);
    }
    ctx.events.push(Event {
        at: ctx.now,
        change,
    });
    Flow::Done(0)
}
