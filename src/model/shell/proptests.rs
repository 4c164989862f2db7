//! Property tests: the shell never panics on any input, in either dialect; every run ends or
//! waits within its bounds; and the guest disk's accounting still adds up afterwards.

use proptest::prelude::*;

use super::tests::{TestGuest, admin, alice, linux_env, lp, root, windows_env, wp};
use super::{Dialect, MAX_STEPS, Runner, State, cmd_parse, sh_parse};
use crate::clock::DEFAULT_MANUAL_START as T0;

/// Pieces scripts are made of: the grammar's operators and quotes, built-ins, paths that
/// exist and do not, and constructs the shell refuses.
const TOKENS: &[&str] = &[
    "echo",
    "cat",
    "cd",
    "ls",
    "-l",
    "-a",
    "rm",
    "-rf",
    "mkdir",
    "-p",
    "touch",
    "cp",
    "mv",
    "printf",
    "%s",
    "%d",
    "%5x",
    "sleep",
    "1",
    "0.5",
    "infinity",
    "exit",
    "env",
    "export",
    "X=1",
    "$X",
    "${X}",
    "$?",
    "$@",
    "$1",
    "\"",
    "'",
    "\\",
    ";",
    "&&",
    "||",
    "&",
    "|",
    ">",
    ">>",
    "<",
    "2>",
    "2>&1",
    "1>",
    ">&2",
    "&>",
    "/tmp/a",
    "/tmp/b",
    "/tmp",
    "/etc/hosts",
    "/root/secret",
    "a",
    " ",
    "\n",
    "#",
    "~",
    "sh",
    "-c",
    "bash",
    "/bin/sh",
    "cmd",
    "/c",
    "/k",
    "%X%",
    "%1",
    "%%",
    "^",
    "set",
    "type",
    "copy",
    "del",
    "md",
    "C:\\Temp\\a",
    "C:\\Temp",
    "nul",
    "/dev/null",
    "(",
    ")",
    "$(",
    "`",
    "{",
    "}",
    "if",
    "true",
    "false",
    "whoami",
    "id",
    "uname",
    "-a",
    "shutdown",
    "timeout",
    "/t",
    "echo.",
    "exit /b",
    "@",
];

fn script() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        6 => prop::sample::select(TOKENS).prop_map(str::to_owned),
        1 => any::<char>().prop_map(|c| c.to_string()),
        1 => "[ -~]{0,6}",
    ];
    let glue = prop::sample::select(vec!["", " ", " ", " ", "\n"]);
    prop::collection::vec((piece, glue), 0..40).prop_map(|v| {
        v.into_iter()
            .map(|(p, g)| format!("{p}{g}"))
            .collect::<String>()
    })
}

/// Resumes `runner` until it ends or waits forever, following its wake times.
fn drive(
    runner: &mut Runner,
    g: &mut TestGuest,
    user: &crate::model::guest_fs::GuestUser,
) -> Result<(), TestCaseError> {
    let mut at = T0;
    for _ in 0..20 {
        match runner.resume(&mut g.guest(), user, at) {
            State::Exited(_) => break,
            State::Running { wake: None } => break,
            State::Running { wake: Some(w) } => {
                prop_assert!(w >= at, "time never goes back");
                let _ = runner.take_events();
                at = w.max(at);
                if w == at {
                    // A shutdown asked to stop here; let it carry on as if ignored.
                    at += time::Duration::milliseconds(1);
                }
            }
        }
    }
    prop_assert!(runner.steps() <= MAX_STEPS, "bounded steps");
    prop_assert_eq!(g.fs.used(), g.fs.recount(), "disk accounting adds up");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn the_parsers_never_panic_on_any_text(text in any::<String>()) {
        let _ = sh_parse::parse_all(&text);
        for line in text.split('\n') {
            let _ = cmd_parse::parse_line(line);
        }
    }

    #[test]
    fn sh_scripts_never_panic_and_stay_bounded(s in script(), as_root in any::<bool>()) {
        let mut g = TestGuest::linux();
        let user = if as_root { root() } else { alice() };
        let mut r = Runner::script(Dialect::Sh, &s, linux_env(&user), lp("/tmp"), 1000);
        drive(&mut r, &mut g, &user)?;
        let mut p = Runner::posix("/bin/bash", Some(&s), linux_env(&user), lp("/tmp"), 1001);
        drive(&mut p, &mut g, &user)?;
    }

    #[test]
    fn cmd_scripts_never_panic_and_stay_bounded(s in script()) {
        let mut g = TestGuest::windows();
        let user = admin();
        let args = format!("/c {s}");
        if let Ok(mut r) = Runner::windows(
            &mut g.guest(),
            &user,
            &wp("C:\\Windows\\System32\\cmd.exe"),
            &args,
            windows_env(),
            wp("C:\\Temp"),
            4000,
            T0,
        ) {
            drive(&mut r, &mut g, &user)?;
        }
        let mut r = Runner::script(Dialect::Cmd, &s, windows_env(), wp("C:\\Temp"), 4004);
        drive(&mut r, &mut g, &user)?;
    }
}
