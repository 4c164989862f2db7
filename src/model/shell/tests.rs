//! Tests of the shell as a whole: scripts run against a small guest with an explicit `now`,
//! table-driven where the behaviour is a table (grammar, built-ins, errors).

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use time::OffsetDateTime;

use super::*;
use crate::clock::DEFAULT_MANUAL_START as T0;
use crate::model::guest_fs::{Blob, Family, GuestFs, GuestPath, GuestUser, Meta, NodeKind};

pub(crate) fn user(name: &str, uid: u32, admin: bool) -> GuestUser {
    GuestUser {
        admin,
        ..GuestUser::plain(name, uid)
    }
}

pub(crate) fn root() -> GuestUser {
    user("root", 0, false)
}

pub(crate) fn alice() -> GuestUser {
    user("alice", 1000, false)
}

pub(crate) fn admin() -> GuestUser {
    user("Administrator", 500, true)
}

pub(crate) fn bob() -> GuestUser {
    user("bob", 1001, false)
}

pub(crate) fn lp(s: &str) -> GuestPath {
    GuestPath::parse(Family::Linux, s).unwrap()
}

pub(crate) fn wp(s: &str) -> GuestPath {
    GuestPath::parse(Family::Windows, s).unwrap()
}

fn meta(owner: u32, mode: u32) -> Meta {
    Meta {
        owner,
        group: owner,
        mode,
        ..Meta::new_for(&root(), T0, mode)
    }
}

fn dir() -> NodeKind {
    NodeKind::Dir(BTreeMap::new())
}

fn file(text: &str) -> NodeKind {
    NodeKind::File(Blob::Bytes(Bytes::from(text.to_owned())))
}

/// A Linux guest: `/bin -> usr/bin`, bash, a world-writable `/tmp`, root-only `/root`.
pub(crate) fn linux_fs() -> GuestFs {
    let mut fs = GuestFs::new(Family::Linux, 64 << 20, T0);
    for (p, kind, m) in [
        ("/etc", dir(), meta(0, 0o755)),
        ("/tmp", dir(), meta(0, 0o1777)),
        ("/root", dir(), meta(0, 0o700)),
        ("/home/alice", dir(), meta(1000, 0o755)),
        ("/usr/bin", dir(), meta(0, 0o755)),
        ("/opt", dir(), meta(0, 0o755)),
        ("/etc/hosts", file("127.0.0.1 localhost\n"), meta(0, 0o644)),
        ("/root/secret", file("s\n"), meta(0, 0o600)),
        (
            "/usr/bin/bash",
            NodeKind::File(Blob::Pattern { len: 1000 }),
            meta(0, 0o755),
        ),
        (
            "/usr/bin/sh",
            NodeKind::Symlink("bash".into()),
            meta(0, 0o777),
        ),
        (
            "/usr/bin/env",
            NodeKind::File(Blob::Pattern { len: 100 }),
            meta(0, 0o755),
        ),
        ("/bin", NodeKind::Symlink("usr/bin".into()), meta(0, 0o777)),
        (
            "/opt/setup",
            NodeKind::File(Blob::Pattern { len: 100 }),
            meta(0, 0o755),
        ),
    ] {
        fs.insert_ignoring_permissions(&lp(p), kind, m).unwrap();
    }
    fs
}

pub(crate) fn windows_fs() -> GuestFs {
    let mut fs = GuestFs::new(Family::Windows, 64 << 20, T0);
    for (p, kind) in [
        ("C:\\Windows\\System32", dir()),
        (
            "C:\\Windows\\System32\\cmd.exe",
            NodeKind::File(Blob::Pattern { len: 100 }),
        ),
        (
            "C:\\Windows\\System32\\whoami.exe",
            NodeKind::File(Blob::Pattern { len: 100 }),
        ),
        ("C:\\Temp", dir()),
        (
            "C:\\Temp\\app.exe",
            NodeKind::File(Blob::Pattern { len: 100 }),
        ),
        ("C:\\Users\\Administrator", dir()),
    ] {
        fs.insert_ignoring_permissions(&wp(p), kind, meta(0, 0o755))
            .unwrap();
    }
    fs
}

pub(crate) struct TestGuest {
    pub fs: GuestFs,
    pub programs: Vec<Program>,
    pub system: System,
}

impl TestGuest {
    pub fn linux() -> Self {
        let mut system = System::new(Family::Linux, "linux-01");
        system.accounts = vec![(0, "root".into()), (1000, "alice".into())];
        Self {
            fs: linux_fs(),
            programs: Vec::new(),
            system,
        }
    }

    pub fn windows() -> Self {
        Self {
            fs: windows_fs(),
            programs: Vec::new(),
            system: System::new(Family::Windows, "win-01"),
        }
    }

    pub fn guest(&mut self) -> Guest<'_> {
        Guest {
            fs: &mut self.fs,
            programs: &self.programs,
            system: &self.system,
        }
    }

    pub fn text(&self, path: &str) -> Option<String> {
        let p = GuestPath::parse(self.system.family, path).unwrap();
        self.fs
            .read_ignoring_permissions(&p)
            .map(|b| String::from_utf8(b.to_vec().unwrap()).unwrap())
    }

    pub fn put(&mut self, path: &str, text: &str, mode: u32) {
        let p = GuestPath::parse(self.system.family, path).unwrap();
        self.fs
            .insert_ignoring_permissions(&p, file(text), meta(0, mode))
            .unwrap();
    }
}

pub(crate) fn linux_env(u: &GuestUser) -> Env {
    Env::from_pairs(
        false,
        [
            ("PATH", "/usr/bin:/bin".to_owned()),
            ("HOME", guestio::home_dir(Family::Linux, u)),
            ("USER", u.name.clone()),
        ],
    )
}

/// What a finished run left: its exit code and captured streams.
struct Done {
    code: i32,
    out: String,
    err: String,
}

fn finish(runner: &mut Runner, g: &mut TestGuest, u: &GuestUser, at: OffsetDateTime) -> Done {
    let state = runner.resume(&mut g.guest(), u, at);
    let State::Exited(code) = state else {
        panic!("still running: {state:?}");
    };
    Done {
        code,
        out: String::from_utf8_lossy(runner.stdout()).into_owned(),
        err: String::from_utf8_lossy(runner.stderr()).into_owned(),
    }
}

fn sh(g: &mut TestGuest, u: &GuestUser, script: &str) -> Done {
    let mut r = Runner::script(Dialect::Sh, script, linux_env(u), lp("/tmp"), 77);
    finish(&mut r, g, u, T0)
}

#[test]
fn the_grammar_runs_as_the_table_says() {
    let table: &[(&str, i32, &str)] = &[
        ("echo a; echo b", 0, "a\nb\n"),
        ("echo a\necho b\n", 0, "a\nb\n"),
        ("true && echo yes", 0, "yes\n"),
        ("false && echo no; echo $?", 0, "1\n"),
        ("false || echo alt", 0, "alt\n"),
        ("true || echo no", 0, ""),
        ("false && echo a || echo b", 0, "b\n"),
        ("true && false || echo c && echo d", 0, "c\nd\n"),
        ("X=1; echo $X ${X}y \"$X\" '$X' \\$X", 0, "1 1y 1 $X $X\n"),
        ("echo a\\ b \"c  d\" 'e'\"f\"", 0, "a b c  d ef\n"),
        (
            "V='a  b'; printf '[%s]' $V \"$V\"; echo",
            0,
            "[a][b][a  b]\n",
        ),
        ("E=; printf '[%s]' $E \"$E\" ''; echo", 0, "[][]\n"),
        ("exit 3; echo no", 3, ""),
        ("exit 300", 44, ""),
        ("false; exit", 1, ""),
        ("echo $$ $#", 0, "77 0\n"),
        ("cd /etc && pwd && cd && pwd", 0, "/etc\n/home/alice\n"),
        ("cd /etc; cd -; pwd", 0, "/tmp\n/tmp\n"),
        ("printf '%s=%d\\n' a 1 b 2", 0, "a=1\nb=2\n"),
        ("echo -n a; echo -e 'b\\tc'", 0, "ab\tc\n"),
        ("echo ~ ~/x a~", 0, "/home/alice /home/alice/x a~\n"),
        ("# only a comment\n\n", 0, ""),
        ("echo a # trailing comment", 0, "a\n"),
        ("A=1 B=2; echo $A$B", 0, "12\n"),
        ("FOO=x env | true", 2, ""),
        (": ; true; echo $?", 0, "0\n"),
        (
            "uname; uname -s -r; uname -n",
            0,
            "Linux\nLinux 5.15.0-105-generic\nlinux-01\n",
        ),
        (
            "whoami; id; id -u; id -un",
            0,
            "alice\nuid=1000(alice) gid=1000(alice) groups=1000(alice)\n1000\nalice\n",
        ),
        ("hostname", 0, "linux-01\n"),
        ("export Z=9; echo $Z; unset Z; echo [$Z]", 0, "9\n[]\n"),
        ("sh -c 'echo $0 $1 $#' name arg", 0, "name arg 1\n"),
        ("bash -c 'exit 7'; echo $?", 0, "7\n"),
        ("/bin/sh -c \"echo nested\"", 0, "nested\n"),
        (
            "/usr/bin/env",
            0,
            "PATH=/usr/bin:/bin\nHOME=/home/alice\nUSER=alice\nPWD=/tmp\n",
        ),
    ];
    for (script, code, out) in table {
        let mut g = TestGuest::linux();
        let done = sh(&mut g, &alice(), script);
        assert_eq!(
            (done.code, done.out.as_str()),
            (*code, *out),
            "{script:?}: {}",
            done.err
        );
    }
}

#[test]
fn unknown_commands_exit_127_with_a_message_on_stderr() {
    let mut g = TestGuest::linux();
    let done = sh(&mut g, &alice(), "echo before; nosuch arg");
    assert_eq!(done.code, NOT_FOUND_EXIT);
    assert_eq!(done.out, "before\n");
    assert_eq!(done.err, "sh: line 1: nosuch: command not found\n");
    let done = sh(&mut g, &alice(), "/no/such/prog");
    assert_eq!(done.code, NOT_FOUND_EXIT);
    assert!(
        done.err.contains("No such file or directory"),
        "{}",
        done.err
    );
}

#[test]
fn syntax_errors_end_the_shell_with_status_2_after_the_lines_before_them() {
    let mut g = TestGuest::linux();
    let done = sh(&mut g, &alice(), "echo a\nif x; then y; fi\necho b");
    assert_eq!((done.code, done.out.as_str()), (2, "a\n"));
    assert!(
        done.err.contains("line 2") && done.err.contains("`if'"),
        "{}",
        done.err
    );
}

#[test]
fn redirections_write_append_read_and_duplicate_in_the_guest() {
    let table: &[(&str, &str, &str)] = &[
        (
            "echo one > /tmp/f; echo two >> /tmp/f",
            "/tmp/f",
            "one\ntwo\n",
        ),
        ("echo x 1> /tmp/o 2> /tmp/e", "/tmp/o", "x\n"),
        (
            "cat /nope 2> /tmp/e",
            "/tmp/e",
            "cat: /nope: No such file or directory\n",
        ),
        (
            "cat /nope > /tmp/both 2>&1",
            "/tmp/both",
            "cat: /nope: No such file or directory\n",
        ),
        ("cat /nope 2>&1 > /tmp/only", "/tmp/only", ""),
        (
            "cat /nope &> /tmp/amp",
            "/tmp/amp",
            "cat: /nope: No such file or directory\n",
        ),
        (
            "cat < /etc/hosts > /tmp/copy",
            "/tmp/copy",
            "127.0.0.1 localhost\n",
        ),
        (
            "echo hidden > /dev/null; echo shown > /tmp/n",
            "/tmp/n",
            "shown\n",
        ),
        ("cd /tmp; echo rel > rel.txt", "/tmp/rel.txt", "rel\n"),
        ("nosuch > /tmp/created", "/tmp/created", ""),
        ("echo err >&2 2> /tmp/e2", "/tmp/e2", ""),
        (
            "bash -c 'echo in; echo out >&2' > /tmp/nest 2>&1",
            "/tmp/nest",
            "in\nout\n",
        ),
    ];
    for (script, path, want) in table {
        let mut g = TestGuest::linux();
        let done = sh(&mut g, &alice(), script);
        assert_eq!(
            g.text(path).as_deref(),
            Some(*want),
            "{script}: {}",
            done.err
        );
    }
}

#[test]
fn govc_guest_run_command_lines_work_as_govc_expects() {
    let mut g = TestGuest::linux();
    let args = "-c 'uname -a' 1> /tmp/govmomi-out 2> /tmp/govmomi-err";
    let mut r = Runner::posix(
        "/bin/bash",
        Some(args),
        linux_env(&alice()),
        lp("/home/alice"),
        1000,
    );
    let done = finish(&mut r, &mut g, &alice(), T0);
    assert_eq!(done.code, 0);
    let out = g.text("/tmp/govmomi-out").unwrap();
    assert!(out.starts_with("Linux linux-01 5.15.0"), "{out}");
    assert_eq!(g.text("/tmp/govmomi-err").as_deref(), Some(""));

    let env = Env::from_pairs(false, [("FOO", "bar")]);
    let mut r = Runner::posix(
        "/bin/bash",
        Some("-c 'env' 1> /tmp/o 2> /tmp/e"),
        env,
        lp("/tmp"),
        1001,
    );
    assert_eq!(finish(&mut r, &mut g, &alice(), T0).code, 0);
    let out = g.text("/tmp/o").unwrap();
    assert!(out.lines().any(|l| l == "FOO=bar"), "{out}");
    assert!(out.lines().any(|l| l == "PWD=/tmp"), "{out}");
}

#[test]
fn builtins_work_on_the_guest_filesystem() {
    let table: &[(&str, &str)] = &[
        (
            "mkdir -p /tmp/a/b && touch /tmp/a/b/c && ls /tmp/a/b",
            "c\n",
        ),
        (
            "mkdir /tmp/d; mkdir -p /tmp/d; mkdir /tmp/d 2>&1",
            "mkdir: cannot create directory '/tmp/d': File exists\n",
        ),
        (
            "cp /etc/hosts /tmp/h && mv /tmp/h /tmp/h2 && cat /tmp/h2 && ls /tmp",
            "127.0.0.1 localhost\nh2\n",
        ),
        (
            "mkdir /tmp/dd; cp /etc/hosts /tmp/dd; ls /tmp/dd",
            "hosts\n",
        ),
        (
            "rm /tmp/nope 2>&1; echo $?; rm -f /tmp/nope; echo $?",
            "rm: cannot remove '/tmp/nope': No such file or directory\n1\n0\n",
        ),
        (
            "mkdir /tmp/r; touch /tmp/r/x; rm /tmp/r 2>&1; rm -r /tmp/r; ls /tmp",
            "rm: cannot remove '/tmp/r': Is a directory\n",
        ),
        (
            "touch /tmp/.hidden /tmp/v; ls /tmp; ls -a /tmp",
            "v\n.\n..\n.hidden\nv\n",
        ),
        (
            "ls /nope 2>&1; echo $?",
            "ls: cannot access '/nope': No such file or directory\n2\n",
        ),
        (
            "ls -l /etc",
            "total 4\n-rw-r--r-- 1 root root 20 Jan  1 00:00 hosts\n",
        ),
        (
            "cat /etc/hosts /etc/hosts",
            "127.0.0.1 localhost\n127.0.0.1 localhost\n",
        ),
        ("echo piped > /tmp/i; cat < /tmp/i", "piped\n"),
        (
            "printf '%5s|%-3s|%03d|%x\\n' a b 7 255",
            "    a|b  |007|ff\n",
        ),
        ("env -i A=1 env", "A=1\n"),
        ("env A=2 sh -c 'echo $A'", "2\n"),
        (
            "sleep 0; sleep x 2>&1",
            "sleep: invalid time interval 'x'\n",
        ),
    ];
    for (script, want) in table {
        let mut g = TestGuest::linux();
        let done = sh(&mut g, &alice(), script);
        assert_eq!(done.out, *want, "{script}: {}", done.err);
    }
}

#[test]
fn builtins_act_with_the_callers_permissions() {
    let table: &[(&GuestUser, &str, i32, &str)] = &[
        (
            &alice(),
            "echo x > /etc/x",
            1,
            "sh: line 1: /etc/x: Permission denied\n",
        ),
        (
            &alice(),
            "cat /root/secret",
            1,
            "cat: /root/secret: Permission denied\n",
        ),
        (
            &alice(),
            "rm /etc/hosts",
            1,
            "rm: cannot remove '/etc/hosts': Permission denied\n",
        ),
        (
            &alice(),
            "cd /root",
            1,
            "sh: line 1: cd: /root: Permission denied\n",
        ),
        (&alice(), "reboot", 1, "reboot: must be superuser.\n"),
        (&root(), "cat /root/secret > /tmp/s", 0, ""),
        (&root(), "echo x > /etc/x", 0, ""),
    ];
    for (u, script, code, err) in table {
        let mut g = TestGuest::linux();
        let done = sh(&mut g, u, script);
        assert_eq!(
            (done.code, done.err.as_str()),
            (*code, *err),
            "{} {script}",
            u.name
        );
    }
    let mut g = TestGuest::linux();
    sh(&mut g, &alice(), "echo x > /etc/x");
    assert_eq!(g.text("/etc/x"), None, "a refused write creates nothing");
    sh(&mut g, &alice(), "echo mine > /tmp/m");
    let m = g.fs.stat_ignoring_permissions(&lp("/tmp/m")).unwrap().meta;
    assert_eq!(
        (m.owner, m.mode),
        (1000, 0o644),
        "files belong to the caller"
    );
}

#[test]
fn a_sleeping_script_resumes_when_the_clock_passes_its_wake_time() {
    let mut g = TestGuest::linux();
    let u = alice();
    let script = "echo a > /tmp/s; sleep 10; echo b >> /tmp/s; sleep 5; echo c >> /tmp/s";
    let mut r = Runner::script(Dialect::Sh, script, linux_env(&u), lp("/tmp"), 1);
    let t = |s: i64| T0 + time::Duration::seconds(s);
    assert_eq!(
        r.resume(&mut g.guest(), &u, T0),
        State::Running { wake: Some(t(10)) }
    );
    assert_eq!(g.text("/tmp/s").as_deref(), Some("a\n"));
    assert_eq!(
        r.resume(&mut g.guest(), &u, t(9)),
        State::Running { wake: Some(t(10)) }
    );
    assert_eq!(
        g.text("/tmp/s").as_deref(),
        Some("a\n"),
        "nothing before the wake time"
    );
    assert_eq!(r.resume(&mut g.guest(), &u, t(100)), State::Exited(0));
    assert_eq!(g.text("/tmp/s").as_deref(), Some("a\nb\nc\n"));
    assert_eq!(
        r.clock(),
        Some(t(15)),
        "it ended when its last sleep did, not when asked"
    );
    let m = g.fs.stat_ignoring_permissions(&lp("/tmp/s")).unwrap().meta;
    assert_eq!(
        m.modified,
        t(15),
        "each write is stamped with its own guest time"
    );
}

#[test]
fn a_nested_shell_keeps_writing_through_its_outer_redirection_across_a_sleep() {
    let mut g = TestGuest::linux();
    let u = alice();
    let args = "-c 'echo in; sleep 5; echo out' 1> /tmp/n 2> /tmp/e";
    let mut r = Runner::posix("/bin/bash", Some(args), linux_env(&u), lp("/tmp"), 1);
    let t5 = T0 + time::Duration::seconds(5);
    assert_eq!(
        r.resume(&mut g.guest(), &u, T0),
        State::Running { wake: Some(t5) }
    );
    assert_eq!(g.text("/tmp/n").as_deref(), Some("in\n"));
    assert_eq!(r.resume(&mut g.guest(), &u, t5), State::Exited(0));
    assert_eq!(g.text("/tmp/n").as_deref(), Some("in\nout\n"));
}

#[test]
fn sleeping_forever_waits_until_killed() {
    let mut g = TestGuest::linux();
    let u = alice();
    let mut r = Runner::script(
        Dialect::Sh,
        "sleep infinity; echo never > /tmp/x",
        linux_env(&u),
        lp("/tmp"),
        1,
    );
    assert_eq!(
        r.resume(&mut g.guest(), &u, T0),
        State::Running { wake: None }
    );
    r.kill(143);
    assert_eq!(
        r.resume(&mut g.guest(), &u, T0 + Duration::from_secs(999_999)),
        State::Exited(143)
    );
    assert_eq!(g.text("/tmp/x"), None);
}

#[test]
fn executable_files_starting_with_a_shell_line_run_as_scripts() {
    let table: &[(&str, u32, &str, i32, &str)] = &[
        (
            "#!/bin/sh\necho hi $1 $#\nexit 4\n",
            0o755,
            "/tmp/s.sh arg",
            4,
            "hi arg 1\n",
        ),
        (
            "#!/usr/bin/env bash\necho $0\n",
            0o755,
            "/tmp/s.sh",
            0,
            "/tmp/s.sh\n",
        ),
        (
            "#!/bin/bash -e\necho flags\n",
            0o755,
            "cd /tmp && ./s.sh",
            0,
            "flags\n",
        ),
        ("#!/bin/sh\necho no\n", 0o644, "/tmp/s.sh", 126, ""),
        ("no shebang\n", 0o755, "/tmp/s.sh", 126, ""),
        (
            "#!/usr/bin/python3\nprint(1)\n",
            0o755,
            "/tmp/s.sh",
            126,
            "",
        ),
    ];
    for (content, mode, cmd, code, out) in table {
        let mut g = TestGuest::linux();
        g.put("/tmp/s.sh", content, *mode);
        let done = sh(&mut g, &alice(), cmd);
        assert_eq!(
            (done.code, done.out.as_str()),
            (*code, *out),
            "{content:?} {cmd}: {}",
            done.err
        );
    }
}

#[test]
fn declared_programs_take_their_run_time_then_write_exit_and_change_the_guest() {
    let mut g = TestGuest::linux();
    g.programs.push(Program {
        arguments_contain: Some("--quiet".into()),
        exit_code: 3,
        duration_ms: 30_000,
        stdout: "installing\n".into(),
        stderr: "warning\n".into(),
        files: vec![ProgramFile {
            path: "/opt/app/installed".into(),
            content: "yes\n".into(),
            append: false,
        }],
        guest_changes: vec![GuestChange::StopTools],
        ..Program::new("/opt/setup")
    });
    let u = root();
    let script = "/opt/setup --quiet > /tmp/log 2> /tmp/err; echo $? >> /tmp/log";
    let mut r = Runner::script(Dialect::Sh, script, linux_env(&u), lp("/tmp"), 1);
    let t30 = T0 + time::Duration::seconds(30);
    assert_eq!(
        r.resume(&mut g.guest(), &u, T0),
        State::Running { wake: Some(t30) }
    );
    assert_eq!(g.text("/tmp/log").as_deref(), Some(""));
    assert!(r.take_events().is_empty());
    assert_eq!(r.resume(&mut g.guest(), &u, t30), State::Exited(0));
    assert_eq!(g.text("/tmp/log").as_deref(), Some("installing\n3\n"));
    assert_eq!(g.text("/tmp/err").as_deref(), Some("warning\n"));
    assert_eq!(g.text("/opt/app/installed").as_deref(), Some("yes\n"));
    assert_eq!(
        r.take_events(),
        vec![Event {
            at: t30,
            change: GuestChange::StopTools
        }]
    );
    // Without the matching argument, the file is an ordinary (non-script) binary.
    let done = sh(&mut g, &u, "/opt/setup");
    assert_eq!(done.code, 126, "{}", done.err);
}

#[test]
fn a_shutdown_stops_the_run_right_after_it() {
    let mut g = TestGuest::linux();
    let u = root();
    let mut r = Runner::script(
        Dialect::Sh,
        "echo a > /tmp/a; shutdown -h now; echo b > /tmp/b",
        linux_env(&u),
        lp("/tmp"),
        1,
    );
    assert_eq!(
        r.resume(&mut g.guest(), &u, T0),
        State::Running { wake: Some(T0) }
    );
    assert_eq!(
        r.take_events(),
        vec![Event {
            at: T0,
            change: GuestChange::Shutdown
        }]
    );
    assert_eq!(g.text("/tmp/a").as_deref(), Some("a\n"));
    assert_eq!(g.text("/tmp/b"), None);
}

#[test]
fn a_process_whose_variables_pass_the_memory_bound_is_stopped_before_it_grows_further() {
    let mut g = TestGuest::linux();
    // 256 KiB per copy: sixteen copies reach the bound, so the seventeenth is never made.
    let mut script = format!("a={}{}", "x".repeat(256), "; a=$a$a".repeat(10));
    for i in 0..64 {
        script.push_str(&format!("; b{i}=$a"));
    }
    script.push_str("; echo never");
    let done = sh(&mut g, &alice(), &script);
    assert_eq!(done.code, RUNAWAY_EXIT);
    assert!(done.err.contains("memory limit"), "{}", done.err);
    assert!(!done.out.contains("never"));

    let within = format!(
        "a={}{}; b=$a; c=$a; echo ok",
        "x".repeat(256),
        "; a=$a$a".repeat(10)
    );
    let done = sh(&mut g, &alice(), &within);
    assert_eq!((done.code, done.out.as_str()), (0, "ok\n"), "{}", done.err);
}

#[test]
fn runaway_scripts_end_with_the_documented_exit_code() {
    let mut g = TestGuest::linux();
    let steps = "true;".repeat(MAX_STEPS as usize + 1);
    let done = sh(&mut g, &alice(), &steps);
    assert_eq!(done.code, RUNAWAY_EXIT);
    assert!(done.err.contains("step limit"), "{}", done.err);

    g.put("/tmp/r.sh", "#!/bin/sh\n/tmp/r.sh\n", 0o755);
    let done = sh(&mut g, &alice(), "/tmp/r.sh");
    assert_eq!(done.code, RUNAWAY_EXIT);
    assert!(done.err.contains("nesting limit"), "{}", done.err);

    let doubling = format!("X=aaaaaaaa{}", "; X=$X$X".repeat(24));
    let done = sh(&mut g, &alice(), &doubling);
    assert_eq!(done.code, RUNAWAY_EXIT);
    assert!(done.err.contains("word size limit"), "{}", done.err);

    g.fs.insert_ignoring_permissions(
        &lp("/tmp/big"),
        NodeKind::File(Blob::Pattern {
            len: MAX_OUTPUT + 10,
        }),
        meta(0, 0o644),
    )
    .unwrap();
    let done = sh(&mut g, &alice(), "cat /tmp/big > /tmp/copy; echo never");
    assert_eq!(done.code, RUNAWAY_EXIT);
    assert!(done.err.contains("output limit"), "{}", done.err);
    assert_eq!(
        g.fs.read_ignoring_permissions(&lp("/tmp/copy"))
            .unwrap()
            .len(),
        MAX_OUTPUT,
        "cut at the bound"
    );

    let huge = "x".repeat(MAX_SCRIPT + 1);
    let done = sh(&mut g, &alice(), &format!("sh -c '{huge}'"));
    assert_eq!(done.code, 2);
    assert!(done.err.contains("script too large"), "{}", done.err);
}

// ------------------------------------------------------------------------------ Windows

pub(crate) fn windows_env() -> Env {
    Env::from_pairs(
        true,
        [
            ("Path", "C:\\Windows\\system32;C:\\Windows"),
            ("USERNAME", "Administrator"),
            ("TEMP", "C:\\Temp"),
        ],
    )
}

fn cmd(g: &mut TestGuest, u: &GuestUser, args: &str) -> Done {
    let mut r = Runner::windows(
        &mut g.guest(),
        u,
        &wp("C:\\Windows\\System32\\cmd.exe"),
        args,
        windows_env(),
        wp("C:\\Temp"),
        4000,
        T0,
    )
    .unwrap();
    finish(&mut r, g, u, T0)
}

#[test]
fn cmd_exe_runs_its_grammar_and_builtins_as_the_table_says() {
    let table: &[(&str, i32, &str)] = &[
        ("/c echo hello", 0, "hello\r\n"),
        (
            "/c echo hello> C:\\Temp\\o.txt & type C:\\Temp\\o.txt",
            0,
            "hello \r\n",
        ),
        (
            "/c echo hello>C:\\Temp\\o.txt& type C:\\Temp\\o.txt",
            0,
            "hello\r\n",
        ),
        ("/c echo a & echo b", 0, "a \r\nb\r\n"),
        ("/c \"echo quoted\"", 0, "quoted\r\n"),
        ("/c echo \"kept\"", 0, "\"kept\"\r\n"),
        ("/c echo.", 0, "\r\n"),
        ("/c echo", 0, "ECHO is on.\r\n"),
        ("/c exit /b 5", 5, ""),
        ("/c exit 6", 6, ""),
        (
            "/c echo %USERNAME% %username% %NOPE%",
            0,
            "Administrator Administrator %NOPE%\r\n",
        ),
        ("/c set X=1 & echo %X%", 0, "%X%\r\n"),
        ("/c set X=1& set X", 0, "X=1\r\n"),
        (
            "/c type C:\\nope.txt || echo failed %ERRORLEVEL%",
            0,
            "failed 0\r\n",
        ),
        (
            "/c mkdir C:\\Temp\\d\\e && cd C:\\Temp\\d && cd",
            0,
            "C:\\Temp\\d\r\n",
        ),
        (
            "/c echo x> C:\\Temp\\c.txt & copy C:\\Temp\\c.txt C:\\Temp\\d.txt & type C:\\Temp\\d.txt",
            0,
            "        1 file(s) copied.\r\nx \r\n",
        ),
        (
            "/c echo x> C:\\Temp\\del.txt & del C:\\Temp\\del.txt & type C:\\Temp\\del.txt",
            1,
            "",
        ),
        ("/c echo a^&b", 0, "a&b\r\n"),
        ("/c whoami", 0, "win-01\\administrator\r\n"),
        (
            "/c C:\\Windows\\System32\\whoami.exe",
            0,
            "win-01\\administrator\r\n",
        ),
        (
            "/c ver",
            0,
            "\r\nMicrosoft Windows [Version 10.0.20348.2340]\r\n",
        ),
        ("/c echo hidden > nul & echo shown", 0, "shown\r\n"),
        ("/c cmd /c exit /b 3 & echo %ERRORLEVEL%", 0, "0\r\n"),
        ("/c cmd /c exit /b 3 || echo failed", 0, "failed\r\n"),
    ];
    for (args, code, out) in table {
        let mut g = TestGuest::windows();
        let done = cmd(&mut g, &admin(), args);
        assert_eq!(
            (done.code, done.out.as_str()),
            (*code, *out),
            "{args}: {}",
            done.err
        );
    }
}

#[test]
fn unknown_windows_commands_exit_9009_with_the_cmd_message() {
    let mut g = TestGuest::windows();
    let done = cmd(&mut g, &admin(), "/c nosuch");
    assert_eq!(done.code, CMD_NOT_FOUND_EXIT);
    assert_eq!(
        done.err,
        "'nosuch' is not recognized as an internal or external command,\r\noperable program or batch file.\r\n"
    );
}

#[test]
fn batch_files_take_parameters_and_share_the_callers_variables() {
    let mut g = TestGuest::windows();
    g.put(
        "C:\\Temp\\s.bat",
        "@echo off\r\nrem a comment\r\necho %1 %2 %0\r\nset R=done\r\nexit /b 2\r\n",
        0o644,
    );
    let done = cmd(
        &mut g,
        &admin(),
        "/c C:\\Temp\\s.bat hi there > C:\\Temp\\out.txt",
    );
    assert_eq!(done.code, 2);
    assert_eq!(
        g.text("C:\\Temp\\out.txt").as_deref(),
        Some("hi there C:\\Temp\\s.bat\r\n")
    );
    // A batch file found on the search path by name, then its variable seen by the caller.
    let done = cmd(&mut g, &admin(), "/c s x & set R");
    assert_eq!(done.out, "x  s\r\nR=done\r\n");

    // Run directly as the process, without cmd.exe.
    let mut r = Runner::windows(
        &mut g.guest(),
        &admin(),
        &wp("C:\\Temp\\s.bat"),
        "direct",
        windows_env(),
        wp("C:\\Temp"),
        4004,
        T0,
    )
    .unwrap();
    let done = finish(&mut r, &mut g, &admin(), T0);
    assert_eq!(
        (done.code, done.out.as_str()),
        (2, "direct  C:\\Temp\\s.bat\r\n")
    );
}

#[test]
fn windows_programs_that_cannot_run_fail_to_start_and_timeout_sleeps() {
    let mut g = TestGuest::windows();
    let err = Runner::windows(
        &mut g.guest(),
        &admin(),
        &wp("C:\\Temp\\app.exe"),
        "",
        windows_env(),
        wp("C:\\Temp"),
        4000,
        T0,
    )
    .unwrap_err();
    assert!(matches!(err, LaunchError::NotRunnable(m) if m.contains("declare it")));

    let mut r = Runner::windows(
        &mut g.guest(),
        &admin(),
        &wp("C:\\Windows\\System32\\cmd.exe"),
        "/c timeout /t 5 /nobreak > nul & echo after> C:\\Temp\\t.txt",
        windows_env(),
        wp("C:\\Temp"),
        4000,
        T0,
    )
    .unwrap();
    let t5 = T0 + time::Duration::seconds(5);
    assert_eq!(
        r.resume(&mut g.guest(), &admin(), T0),
        State::Running { wake: Some(t5) }
    );
    assert_eq!(r.resume(&mut g.guest(), &admin(), t5), State::Exited(0));
    assert_eq!(g.text("C:\\Temp\\t.txt").as_deref(), Some("after\r\n"));

    let mut k = Runner::windows(
        &mut g.guest(),
        &admin(),
        &wp("C:\\Windows\\System32\\cmd.exe"),
        "/k echo stays",
        windows_env(),
        wp("C:\\Temp"),
        4008,
        T0,
    )
    .unwrap();
    assert_eq!(
        k.resume(&mut g.guest(), &admin(), T0),
        State::Running { wake: None }
    );
    assert_eq!(k.stdout(), b"stays\r\n");
}

#[test]
fn windows_builtins_act_with_the_callers_rights() {
    let mut g = TestGuest::windows();
    let acl = Meta {
        acl: Some(vec!["Administrator".into()]),
        ..meta(0, 0o755)
    };
    g.fs.insert_ignoring_permissions(&wp("C:\\Secret"), dir(), acl.clone())
        .unwrap();
    g.fs.insert_ignoring_permissions(&wp("C:\\Secret\\s.txt"), file("s"), acl)
        .unwrap();
    let done = cmd(&mut g, &bob(), "/c type C:\\Secret\\s.txt");
    assert_eq!((done.code, done.err.as_str()), (1, "Access is denied.\r\n"));
    let done = cmd(&mut g, &admin(), "/c type C:\\Secret\\s.txt");
    assert_eq!((done.code, done.out.as_str()), (0, "s"));
    let done = cmd(&mut g, &bob(), "/c shutdown /s /t 0");
    assert_eq!(done.code, 5);
}

#[test]
fn a_redirection_through_a_directory_link_creates_the_file_in_the_linked_directory() {
    let mut g = TestGuest::linux();
    g.fs.insert_ignoring_permissions(
        &lp("/tmp/real"),
        NodeKind::Dir(BTreeMap::new()),
        meta(0, 0o777),
    )
    .unwrap();
    g.fs.insert_ignoring_permissions(
        &lp("/tmp/link"),
        NodeKind::Symlink("/tmp/real".into()),
        meta(0, 0o777),
    )
    .unwrap();
    let done = sh(&mut g, &alice(), "echo hi > /tmp/link/new");
    assert_eq!(done.code, 0, "{}", done.err);
    assert_eq!(g.text("/tmp/real/new").as_deref(), Some("hi\n"));
}

#[test]
fn a_process_that_reads_and_discards_more_than_its_work_bound_is_stopped() {
    let mut g = TestGuest::linux();
    g.fs.insert_ignoring_permissions(
        &lp("/tmp/big"),
        NodeKind::File(Blob::Pattern { len: MAX_OUTPUT }),
        meta(0, 0o644),
    )
    .unwrap();
    let rounds = MAX_WORK / MAX_OUTPUT + 1;
    let script = format!(
        "{}echo never",
        "cat /tmp/big > /dev/null; ".repeat(rounds as usize)
    );
    let done = sh(&mut g, &alice(), &script);
    assert_eq!(done.code, RUNAWAY_EXIT);
    assert!(done.err.contains("work limit"), "{}", done.err);
    assert!(!done.out.contains("never"));

    let within = "cat /tmp/big > /dev/null; cat /tmp/big > /dev/null; echo ok";
    let done = sh(&mut g, &alice(), within);
    assert_eq!((done.code, done.out.as_str()), (0, "ok\n"), "{}", done.err);
}
