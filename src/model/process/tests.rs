//! Tests of the process table with an explicit `now`: vCenter's refusals in order, pids,
//! running and finishing on the clock, retention, bounds and termination rights.

use time::Duration;

use super::*;
use crate::clock::DEFAULT_MANUAL_START as T0;
use crate::model::shell::Program;
use crate::model::shell::tests::{TestGuest, admin, alice, bob, linux_env, root, windows_env};

fn t(secs: i64) -> OffsetDateTime {
    T0 + Duration::seconds(secs)
}

fn bash(script: &str) -> StartSpec {
    StartSpec {
        path: "/bin/bash".into(),
        arguments: Some(format!("-c '{script}'")),
        ..StartSpec::default()
    }
}

fn spec(path: &str) -> StartSpec {
    StartSpec {
        path: path.into(),
        ..StartSpec::default()
    }
}

fn create(
    table: &mut ProcessTable,
    g: &mut TestGuest,
    user: &GuestUser,
    spec: &StartSpec,
    now: OffsetDateTime,
) -> Result<u64, Fault> {
    let env = match table.family {
        Family::Linux => linux_env(user),
        Family::Windows => windows_env(),
    };
    table
        .create(&mut g.guest(), user, spec, &env, now)
        .map(|(pid, _)| pid)
}

fn linux() -> (ProcessTable, TestGuest) {
    (ProcessTable::new(Family::Linux, T0), TestGuest::linux())
}

fn windows() -> (ProcessTable, TestGuest) {
    (ProcessTable::new(Family::Windows, T0), TestGuest::windows())
}

#[test]
fn create_refuses_in_vcenters_order() {
    let invalid = |reason, path: &str| Fault::invalid(reason, path);
    let bad_dir = |reason, path: &str| Fault::File {
        kind: FileFaultKind::InvalidArgument,
        reason,
        path: path.into(),
    };
    let with = |path: &str, wd: Option<&str>, minimized: Option<bool>| StartSpec {
        path: path.into(),
        working_directory: wd.map(str::to_owned),
        start_minimized: minimized,
        ..StartSpec::default()
    };
    let table: Vec<(&str, GuestUser, StartSpec, Fault)> = vec![
        (
            "start_minimized is checked first, even with a bad path",
            root(),
            with("relative", None, Some(false)),
            Fault::StartMinimizedNotWindows,
        ),
        (
            "a relative program path is not a valid path",
            root(),
            spec("bin/bash"),
            Fault::ProgramPathInvalid {
                path: "bin/bash".into(),
            },
        ),
        (
            "a missing program",
            root(),
            spec("/no/prog"),
            Fault::not_found("/no/prog"),
        ),
        (
            "a directory is not a program",
            root(),
            spec("/tmp"),
            invalid(FileReason::NotAFile, "/tmp"),
        ),
        (
            "a program that cannot be reached",
            alice(),
            spec("/root/secret"),
            Fault::GuestAccessDenied {
                path: "/root/secret".into(),
            },
        ),
        (
            "a program without execute permission",
            alice(),
            spec("/etc/hosts"),
            Fault::ProgramNotRunnable {
                path: "/etc/hosts".into(),
            },
        ),
        (
            "the program is checked before the working directory",
            root(),
            with("/no/prog", Some("/nope"), None),
            Fault::not_found("/no/prog"),
        ),
        (
            "a missing working directory",
            root(),
            with("/bin/bash", Some("/nope"), None),
            bad_dir(FileReason::FileNotFound, "/nope"),
        ),
        (
            "a working directory that is a file",
            root(),
            with("/bin/bash", Some("/etc/hosts"), None),
            bad_dir(FileReason::NotADirectory, "/etc/hosts"),
        ),
        (
            "a working directory the user may not enter",
            alice(),
            with("/bin/bash", Some("/root"), None),
            Fault::GuestAccessDenied {
                path: "/root".into(),
            },
        ),
        (
            "a declared program that fails to start",
            root(),
            spec("/opt/setup"),
            Fault::ProgramFailedToStart {
                path: "/opt/setup".into(),
                why: "the program fails to start".into(),
            },
        ),
    ];
    for (why, user, spec, want) in table {
        let (mut procs, mut g) = linux();
        g.programs.push(Program {
            fails_to_start: true,
            ..Program::new("/opt/setup")
        });
        assert_eq!(
            create(&mut procs, &mut g, &user, &spec, T0),
            Err(want),
            "{why}"
        );
        assert!(procs.processes().next().is_none(), "{why}: nothing started");
    }
}

#[test]
fn windows_refuses_programs_it_cannot_run_and_accepts_start_minimized() {
    let (mut procs, mut g) = windows();
    let err = create(&mut procs, &mut g, &admin(), &spec("C:\\Temp\\app.exe"), T0).unwrap_err();
    assert!(
        matches!(err, Fault::ProgramFailedToStart { ref why, .. } if why.contains("declare")),
        "{err:?}"
    );
    let minimized = StartSpec {
        arguments: Some("/c exit 0".into()),
        start_minimized: Some(true),
        ..spec("C:\\Windows\\System32\\cmd.exe")
    };
    assert_eq!(
        create(&mut procs, &mut g, &admin(), &minimized, T0),
        Ok(FIRST_PID_WINDOWS)
    );
}

#[test]
fn pids_count_up_per_guest_in_each_familys_steps() {
    let (mut l, mut lg) = linux();
    let a = create(&mut l, &mut lg, &root(), &bash("true"), T0).unwrap();
    let b = create(&mut l, &mut lg, &root(), &bash("true"), T0).unwrap();
    assert_eq!((a, b), (FIRST_PID_LINUX, FIRST_PID_LINUX + 1));
    let (mut w, mut wg) = windows();
    let cmd = StartSpec {
        arguments: Some("/c exit 0".into()),
        ..spec("C:\\Windows\\System32\\cmd.exe")
    };
    let a = create(&mut w, &mut wg, &admin(), &cmd, T0).unwrap();
    let b = create(&mut w, &mut wg, &admin(), &cmd, T0).unwrap();
    assert_eq!((a, b), (FIRST_PID_WINDOWS, FIRST_PID_WINDOWS + 4));
}

#[test]
fn a_quick_command_has_finished_by_the_time_create_returns() {
    let (mut procs, mut g) = linux();
    let pid = create(
        &mut procs,
        &mut g,
        &alice(),
        &bash("echo hi > /tmp/x; exit 3"),
        T0,
    )
    .unwrap();
    let info = procs.get(pid, T0).unwrap();
    assert_eq!(
        info,
        ProcessInfo {
            pid,
            name: "bash".into(),
            owner: "alice".into(),
            command: "\"/bin/bash\" -c 'echo hi > /tmp/x; exit 3'".into(),
            started: T0,
            finished: Some(T0),
            exit_code: Some(3),
        }
    );
    assert_eq!(g.text("/tmp/x").as_deref(), Some("hi\n"));
}

#[test]
fn list_shows_the_system_processes_and_the_started_ones_by_pid() {
    let (mut procs, mut g) = linux();
    let pid = create(&mut procs, &mut g, &alice(), &bash("sleep 60"), T0).unwrap();
    let listed: Vec<(u64, String, String)> = procs
        .list(t(1))
        .into_iter()
        .map(|p| (p.pid, p.name, p.owner))
        .collect();
    assert_eq!(
        listed,
        vec![
            (1, "systemd".into(), "root".into()),
            (412, "sshd".into(), "root".into()),
            (538, "vmtoolsd".into(), "root".into()),
            (pid, "bash".into(), "alice".into()),
        ]
    );
    let (w, _) = windows();
    let names: Vec<String> = w.list(T0).into_iter().map(|p| p.name).collect();
    assert_eq!(names, vec!["System", "vmtoolsd.exe"]);
}

#[test]
fn a_sleeping_process_runs_while_the_clock_has_not_reached_its_end() {
    let (mut procs, mut g) = linux();
    let pid = create(
        &mut procs,
        &mut g,
        &alice(),
        &bash("sleep 10; echo done > /tmp/d"),
        T0,
    )
    .unwrap();
    assert!(procs.advance(&mut g.guest(), t(5)).is_empty());
    let running = procs.get(pid, t(5)).unwrap();
    assert_eq!((running.finished, running.exit_code), (None, None));
    assert_eq!(procs.next_wake(), Some(t(10)));
    procs.advance(&mut g.guest(), t(100));
    let done = procs.get(pid, t(100)).unwrap();
    assert_eq!(
        (done.finished, done.exit_code),
        (Some(t(10)), Some(0)),
        "stamped when it ended"
    );
    assert_eq!(g.text("/tmp/d").as_deref(), Some("done\n"));
}

#[test]
fn processes_take_turns_in_the_order_their_wake_times_come() {
    let (mut procs, mut g) = linux();
    create(
        &mut procs,
        &mut g,
        &alice(),
        &bash("sleep 10; echo slow >> /tmp/o"),
        T0,
    )
    .unwrap();
    create(
        &mut procs,
        &mut g,
        &alice(),
        &bash("sleep 5; echo fast >> /tmp/o; sleep 10; echo last >> /tmp/o"),
        T0,
    )
    .unwrap();
    procs.advance(&mut g.guest(), t(60));
    assert_eq!(g.text("/tmp/o").as_deref(), Some("fast\nslow\nlast\n"));
}

#[test]
fn finished_processes_are_kept_five_minutes_then_forgotten() {
    let (mut procs, mut g) = linux();
    let pid = create(&mut procs, &mut g, &alice(), &bash("true"), T0).unwrap();
    assert!(procs.get(pid, t(300)).is_ok());
    assert_eq!(
        procs.get(pid, t(301)),
        Err(Fault::ProcessNotFound { pid: pid as i64 })
    );
    assert!(procs.list(t(301)).iter().all(|p| p.pid != pid));
    procs.advance(&mut g.guest(), t(301));
    assert!(procs.process(pid).is_none(), "advance drops what expired");
}

#[test]
fn the_running_cap_refuses_new_processes_until_one_ends() {
    let (mut procs, mut g) = linux();
    procs.set_limits(ProcessLimits {
        max_running: 2,
        ..ProcessLimits::default()
    });
    create(&mut procs, &mut g, &alice(), &bash("sleep 10"), T0).unwrap();
    create(&mut procs, &mut g, &alice(), &bash("sleep 20"), T0).unwrap();
    let refused = create(&mut procs, &mut g, &alice(), &bash("true"), T0);
    assert!(
        matches!(refused, Err(Fault::ProgramFailedToStart { .. })),
        "{refused:?}"
    );
    procs.advance(&mut g.guest(), t(10));
    assert!(create(&mut procs, &mut g, &alice(), &bash("true"), t(10)).is_ok());
}

#[test]
fn only_so_many_finished_processes_are_kept_oldest_first_out() {
    let (mut procs, mut g) = linux();
    procs.set_limits(ProcessLimits {
        max_finished: 2,
        ..ProcessLimits::default()
    });
    let pids: Vec<u64> = (0..3)
        .map(|i| create(&mut procs, &mut g, &alice(), &bash("true"), t(i)).unwrap())
        .collect();
    procs.advance(&mut g.guest(), t(3));
    let kept: Vec<u64> = procs.processes().map(Process::pid).collect();
    assert_eq!(kept, pids[1..].to_vec());
}

#[test]
fn terminate_follows_the_guests_rights() {
    let (mut procs, mut g) = linux();
    let mine = create(
        &mut procs,
        &mut g,
        &alice(),
        &bash("sleep 100; echo no > /tmp/n"),
        T0,
    )
    .unwrap();
    let roots = create(&mut procs, &mut g, &root(), &bash("sleep 100"), T0).unwrap();
    let done = create(&mut procs, &mut g, &alice(), &bash("exit 4"), T0).unwrap();
    let denied = |pid| Err(Fault::ProcessTerminateDenied { pid: pid as i64 });
    type Row = (&'static str, GuestUser, u64, Result<Vec<Event>, Fault>);
    let table: Vec<Row> = vec![
        ("another user's process", alice(), roots, denied(roots)),
        ("a system process", alice(), 412, denied(412)),
        ("init, even for root", root(), 1, denied(1)),
        (
            "an unknown pid",
            alice(),
            99_999,
            Err(Fault::ProcessNotFound { pid: 99_999 }),
        ),
        ("an already finished process", alice(), done, Ok(vec![])),
        ("one's own process", alice(), mine, Ok(vec![])),
        ("anyone's, as root", root(), roots, Ok(vec![])),
        ("sshd, as root", root(), 412, Ok(vec![])),
        (
            "vmtoolsd, as root, stops Tools",
            root(),
            538,
            Ok(vec![Event {
                at: t(1),
                change: GuestChange::StopTools,
            }]),
        ),
    ];
    for (why, user, pid, want) in table {
        assert_eq!(procs.terminate(pid, &user, t(1)), want, "{why}");
    }
    let info = procs.get(mine, t(1)).unwrap();
    assert_eq!((info.finished, info.exit_code), (Some(t(1)), Some(143)));
    assert_eq!(
        procs.get(done, t(1)).unwrap().exit_code,
        Some(4),
        "unchanged"
    );
    procs.advance(&mut g.guest(), t(200));
    assert_eq!(g.text("/tmp/n"), None, "a terminated script does not go on");
    let left: Vec<u64> = procs.list(t(1)).into_iter().map(|p| p.pid).collect();
    assert!(!left.contains(&412) && !left.contains(&538) && left.contains(&1));
}

#[test]
fn windows_terminations_end_with_exit_code_1_and_need_ownership_or_admin() {
    let (mut procs, mut g) = windows();
    let forever = StartSpec {
        arguments: Some("/c timeout /t -1".into()),
        ..spec("C:\\Windows\\System32\\cmd.exe")
    };
    let pid = create(&mut procs, &mut g, &admin(), &forever, T0).unwrap();
    assert_eq!(
        procs.terminate(pid, &bob(), t(1)),
        Err(Fault::ProcessTerminateDenied { pid: pid as i64 })
    );
    assert_eq!(
        procs.terminate(4, &admin(), t(1)),
        Err(Fault::ProcessTerminateDenied { pid: 4 })
    );
    assert_eq!(procs.terminate(pid, &admin(), t(2)), Ok(vec![]));
    assert_eq!(
        procs.get(pid, t(2)).unwrap().exit_code,
        Some(i64::from(TERMINATED_EXIT_WINDOWS))
    );
}

#[test]
fn halting_ends_everything_and_booting_starts_the_system_again_with_fresh_pids() {
    let (mut procs, mut g) = linux();
    let old = create(&mut procs, &mut g, &alice(), &bash("sleep 100"), T0).unwrap();
    procs.halt();
    assert!(procs.list(t(1)).is_empty());
    assert_eq!(
        procs.get(old, t(1)),
        Err(Fault::ProcessNotFound { pid: old as i64 })
    );
    procs.boot(t(10));
    let listed = procs.list(t(10));
    assert_eq!(listed.len(), 3);
    assert!(
        listed.iter().all(|p| p.started == t(10)),
        "system processes start at boot"
    );
    let new = create(&mut procs, &mut g, &alice(), &bash("true"), t(10)).unwrap();
    assert_eq!(new, old + 1, "an old pid never names a new process");
}

#[test]
fn a_shutdown_asked_for_by_a_process_comes_back_from_create() {
    let (mut procs, mut g) = linux();
    let env = linux_env(&root());
    let (_, events) = procs
        .create(
            &mut g.guest(),
            &root(),
            &bash("shutdown -h now; touch /tmp/after"),
            &env,
            T0,
        )
        .unwrap();
    assert_eq!(
        events,
        vec![Event {
            at: T0,
            change: GuestChange::Shutdown
        }]
    );
    assert_eq!(g.text("/tmp/after"), None);
}

#[test]
fn the_complete_environment_replaces_the_users_default_one() {
    let (mut procs, mut g) = linux();
    let spec = StartSpec {
        environment: Some(vec![("FOO".into(), "bar".into())]),
        working_directory: Some("/tmp".into()),
        ..bash("env > /tmp/env")
    };
    create(&mut procs, &mut g, &alice(), &spec, T0).unwrap();
    assert_eq!(g.text("/tmp/env").as_deref(), Some("FOO=bar\nPWD=/tmp\n"));
    create(&mut procs, &mut g, &alice(), &bash("pwd > /tmp/pwd"), T0).unwrap();
    assert_eq!(
        g.text("/tmp/pwd").as_deref(),
        Some("/home/alice\n"),
        "home by default"
    );
}

mod properties {
    //! Random sequences of process operations keep the table's invariants: pids are unique and
    //! only grow, `list` is sorted by pid, the running cap holds, finished processes are never
    //! reported before they ended, and nothing panics.

    use proptest::prelude::*;

    use super::*;

    #[derive(Debug, Clone)]
    enum Step {
        Create(usize, bool),
        Advance(u16),
        Terminate(u8, bool),
        Boot,
        Halt,
    }

    const SCRIPTS: [&str; 6] = [
        "true",
        "sleep 5; echo a >> /tmp/o",
        "sleep infinity",
        "exit 9",
        "sleep 1; sleep 2; false",
        "echo x > /root/denied",
    ];

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            4 => (0..SCRIPTS.len(), any::<bool>()).prop_map(|(i, r)| Step::Create(i, r)),
            3 => (0u16..400).prop_map(Step::Advance),
            2 => (any::<u8>(), any::<bool>()).prop_map(|(i, r)| Step::Terminate(i, r)),
            1 => Just(Step::Boot),
            1 => Just(Step::Halt),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, .. ProptestConfig::default() })]

        #[test]
        fn random_operations_keep_the_tables_invariants(steps in prop::collection::vec(step(), 1..40)) {
            let (mut procs, mut g) = linux();
            procs.set_limits(ProcessLimits { max_running: 3, max_finished: 4, ..ProcessLimits::default() });
            let mut now = T0;
            let mut last_pid = 0;
            for s in steps {
                match s {
                    Step::Create(i, as_root) => {
                        let user = if as_root { root() } else { alice() };
                        if let Ok(pid) = create(&mut procs, &mut g, &user, &bash(SCRIPTS[i]), now) {
                            prop_assert!(pid > last_pid, "pids only grow");
                            last_pid = pid;
                        }
                    }
                    Step::Advance(secs) => {
                        now += Duration::seconds(i64::from(secs));
                        let _ = procs.advance(&mut g.guest(), now);
                    }
                    Step::Terminate(i, as_root) => {
                        let user = if as_root { root() } else { alice() };
                        let pids: Vec<u64> = procs.list(now).iter().map(|p| p.pid).collect();
                        if let Some(pid) = pids.get(usize::from(i) % pids.len().max(1)) {
                            let _ = procs.terminate(*pid, &user, now);
                        }
                    }
                    Step::Boot => procs.boot(now),
                    Step::Halt => procs.halt(),
                }
                let list = procs.list(now);
                prop_assert!(list.windows(2).all(|w| w[0].pid < w[1].pid), "sorted, unique pids");
                prop_assert!(procs.running() <= 3, "the running cap holds");
                for p in &list {
                    if let Some(f) = p.finished {
                        prop_assert!(p.started <= f && f <= now, "ends after it starts, not in the future");
                        prop_assert!(now <= f + KEEP_FINISHED, "kept five minutes at most");
                    }
                }
                prop_assert_eq!(g.fs.used(), g.fs.recount());
            }
        }
    }
}

#[test]
fn a_batch_file_does_not_run_for_a_user_who_may_not_run_cmd_exe() {
    let (mut procs, mut g) = windows();
    let cmd = crate::model::shell::tests::wp("C:\\Windows\\System32\\cmd.exe");
    let mut shell = g.fs.stat_ignoring_permissions(&cmd).expect("cmd.exe").meta;
    g.put("C:\\Users\\bob\\job.bat", "@echo ran\r\n", 0o755);
    let job = spec("C:\\Users\\bob\\job.bat");
    assert!(create(&mut procs, &mut g, &bob(), &job, T0).is_ok());

    shell.acl = Some(vec!["Administrator".into()]);
    g.fs.set_meta_ignoring_permissions(&cmd, shell);
    assert_eq!(
        create(&mut procs, &mut g, &bob(), &job, T0),
        Err(Fault::ProgramNotRunnable {
            path: "C:\\Users\\bob\\job.bat".into()
        })
    );
    assert!(create(&mut procs, &mut g, &admin(), &job, T0).is_ok());
}
