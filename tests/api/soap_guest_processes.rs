//! `/sdk` GuestProcessManager (issue 18) over the fake program runner: govc's `guest.run` loop
//! as it is on the wire, the process list with its pids filter, termination, the environment,
//! one row per fault condition, and processes crossing wires.

use std::time::Duration;

use reqwest::StatusCode;

use crate::helpers::{READONLY, TestApp, process_info, root, start_process};
use crate::soap::{Answer, call, login, login_as, text_of};
use crate::soap_guest::{as_admin, as_root, guest, password, vm};

const PM: (&str, &str) = ("GuestProcessManager", "guestOperationsProcessManager");
const FM: (&str, &str) = ("GuestFileManager", "guestOperationsFileManager");

/// A `GuestProgramSpec` as pyVmomi writes it.
fn spec(program: &str, arguments: &str, extra: &str) -> String {
    format!(
        r#"<spec xsi:type="GuestProgramSpec"><programPath>{program}</programPath><arguments>{arguments}</arguments>{extra}</spec>"#
    )
}

/// Starts a program on vm-1001 as root and gives its pid.
async fn start(app: &TestApp, cookie: &str, spec: &str) -> i64 {
    let a = guest(
        app,
        cookie,
        PM,
        "StartProgramInGuest",
        "vm-1001",
        &as_root(),
        spec,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    a.returnval().trimmed().parse().unwrap()
}

/// `ListProcessesInGuest` on vm-1001 as root for `pids`.
async fn list(app: &TestApp, cookie: &str, pids: &[i64]) -> Answer {
    let pids: String = pids.iter().map(|p| format!("<pids>{p}</pids>")).collect();
    let a = guest(
        app,
        cookie,
        PM,
        "ListProcessesInGuest",
        "vm-1001",
        &as_root(),
        &pids,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    a
}

/// The `GuestProcessInfo`s of an answer.
fn infos(a: &Answer) -> Vec<&vcmock::soap_xml::Element> {
    a.body().all("returnval").collect()
}

/// Downloads a guest file through `InitiateFileTransferFromGuest` and its URL.
async fn download(app: &TestApp, cookie: &str, path: &str) -> Vec<u8> {
    let a = guest(
        app,
        cookie,
        FM,
        "InitiateFileTransferFromGuest",
        "vm-1001",
        &as_root(),
        &format!("<guestFilePath>{path}</guestFilePath>"),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let url = a.returnval().child("url").unwrap().text.clone();
    let r = app.client.get(app.substitute(&url)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.bytes().await.unwrap().to_vec()
}

#[tokio::test]
async fn govc_guest_run_makes_two_temporary_files_runs_bash_polls_downloads_and_deletes() {
    let app = TestApp::spawn().await;
    let c = login(&app).await;
    let mut files = Vec::new();
    for _ in 0..2 {
        let a = guest(
            &app,
            &c,
            FM,
            "CreateTemporaryFileInGuest",
            "vm-1001",
            &as_root(),
            "<prefix>govmomi-</prefix><suffix></suffix>",
        )
        .await;
        files.push(a.returnval().text.clone());
    }
    let (out, err) = (&files[0], &files[1]);
    let pid = start(
        &app,
        &c,
        &spec(
            "/bin/bash",
            &format!("-c 'uname -a; echo oops >&amp;2' 1&gt; {out} 2&gt; {err}"),
            "<workingDirectory>/tmp</workingDirectory>",
        ),
    )
    .await;
    assert!(pid > 0);
    let procs = list(&app, &c, &[pid]).await;
    let p = infos(&procs);
    assert_eq!(p.len(), 1, "govc indexes procs[0]: {}", procs.text);
    assert_eq!(p[0].child_text("pid"), Some(pid.to_string().as_str()));
    assert_eq!(p[0].child_text("owner"), Some("root"));
    assert_eq!(p[0].child_text("name"), Some("bash"));
    assert!(p[0].child_text("cmdLine").unwrap().contains("uname -a"));
    assert_eq!(p[0].child_text("exitCode"), Some("0"), "{}", procs.text);
    let (start_time, end_time) = (
        p[0].child_text("startTime").unwrap(),
        p[0].child_text("endTime").unwrap(),
    );
    assert!(start_time <= end_time, "{start_time} {end_time}");
    let stdout = String::from_utf8(download(&app, &c, out).await).unwrap();
    assert!(stdout.starts_with("Linux "), "{stdout}");
    assert_eq!(download(&app, &c, err).await, b"oops\n");
    for f in [out, err] {
        let a = guest(
            &app,
            &c,
            FM,
            "DeleteFileInGuest",
            "vm-1001",
            &as_root(),
            &format!("<filePath>{f}</filePath>"),
        )
        .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    }
}

#[tokio::test]
async fn a_running_process_has_no_end_until_terminated_and_the_list_filters_by_pid() {
    let app = TestApp::spawn().await;
    let c = login(&app).await;
    let pid = start(&app, &c, &spec("/bin/sh", "-c 'sleep 600'", "")).await;
    let running = list(&app, &c, &[pid]).await;
    let p = infos(&running);
    assert_eq!(p.len(), 1);
    assert!(
        p[0].child("endTime").is_none() && p[0].child("exitCode").is_none(),
        "{}",
        running.text
    );

    app.clock.advance(Duration::from_secs(599));
    assert!(
        infos(&list(&app, &c, &[pid]).await)[0]
            .child("endTime")
            .is_none()
    );

    let everyone = list(&app, &c, &[]).await;
    let pids: Vec<i64> = infos(&everyone)
        .iter()
        .map(|p| p.child_text("pid").unwrap().parse().unwrap())
        .collect();
    assert!(
        pids.contains(&pid) && pids.len() > 1,
        "standing processes too: {pids:?}"
    );
    assert!(pids.windows(2).all(|w| w[0] < w[1]), "by pid: {pids:?}");
    let unknown = list(&app, &c, &[987_654]).await;
    assert!(
        unknown.body().children.is_empty(),
        "an unknown pid is not listed: {}",
        unknown.text
    );

    let a = guest(
        &app,
        &c,
        PM,
        "TerminateProcessInGuest",
        "vm-1001",
        &as_root(),
        &format!("<pid>{pid}</pid>"),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let ended = list(&app, &c, &[pid]).await;
    let p = infos(&ended);
    assert!(p[0].child("endTime").is_some(), "{}", ended.text);
    assert_ne!(p[0].child_text("exitCode"), Some("0"));
}

#[tokio::test]
async fn the_environment_comes_back_as_name_value_strings_and_env_variables_replace_it() {
    let app = TestApp::spawn().await;
    let c = login(&app).await;
    let a = guest(
        &app,
        &c,
        PM,
        "ReadEnvironmentVariableInGuest",
        "vm-1001",
        &as_root(),
        "<names>PATH</names><names>HOME</names><names>NOT_SET</names>",
    )
    .await;
    let vars: Vec<String> = a.body().all("returnval").map(|v| v.text.clone()).collect();
    assert_eq!(vars.len(), 2, "{}", a.text);
    assert!(vars.iter().any(|v| v.starts_with("PATH=/")), "{vars:?}");
    assert!(vars.contains(&"HOME=/root".to_owned()), "{vars:?}");
    let all = guest(
        &app,
        &c,
        PM,
        "ReadEnvironmentVariableInGuest",
        "vm-1001",
        &as_root(),
        "",
    )
    .await;
    assert!(all.body().all("returnval").count() > 2, "{}", all.text);
    assert!(all.body().all("returnval").all(|v| v.text.contains('=')));

    let pid = start(
        &app,
        &c,
        &spec(
            "/bin/sh",
            "-c 'env &gt; /tmp/env.txt'",
            "<workingDirectory>/tmp</workingDirectory><envVariables>FOO=bar</envVariables><envVariables>EMPTY=</envVariables>",
        ),
    )
    .await;
    assert_eq!(
        infos(&list(&app, &c, &[pid]).await)[0].child_text("exitCode"),
        Some("0")
    );
    let env = String::from_utf8(download(&app, &c, "/tmp/env.txt").await).unwrap();
    let lines: Vec<&str> = env.lines().collect();
    assert!(
        lines.contains(&"FOO=bar") && lines.contains(&"EMPTY="),
        "{env}"
    );
    assert!(
        !lines.iter().any(|l| l.starts_with("HOME=")),
        "envVariables are the whole environment: {env}"
    );
}

#[tokio::test]
async fn a_windows_program_runs_through_cmd_exe_as_the_administrator() {
    let app = TestApp::spawn().await;
    let c = login(&app).await;
    let spec = r#"<spec xsi:type="GuestWindowsProgramSpec"><programPath>C:\Windows\System32\cmd.exe</programPath><arguments>/c echo hi from cmd&gt; C:\Temp\out.txt</arguments><startMinimized>true</startMinimized></spec>"#;
    let a = guest(
        &app,
        &c,
        PM,
        "StartProgramInGuest",
        "vm-1002",
        &as_admin(),
        spec,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let pid = a.returnval().trimmed().to_owned();
    let procs = guest(
        &app,
        &c,
        PM,
        "ListProcessesInGuest",
        "vm-1002",
        &as_admin(),
        &format!("<pids>{pid}</pids>"),
    )
    .await;
    let p = infos(&procs);
    assert_eq!(p[0].child_text("exitCode"), Some("0"), "{}", procs.text);
    assert!(
        p[0].child_text("owner")
            .unwrap()
            .eq_ignore_ascii_case("administrator")
    );
    assert_eq!(
        app.mock
            .vm("vm-1002")
            .read_file(r"C:\Temp\out.txt")
            .unwrap()
            .as_deref(),
        Some(b"hi from cmd\r\n".as_slice())
    );
}

#[tokio::test]
async fn a_process_started_over_rest_is_listed_over_soap_and_one_started_over_soap_is_read_over_rest()
 {
    let app = TestApp::spawn().await;
    let c = login(&app).await;
    let sid = app.login().await;
    let from_rest = start_process(&app, &sid, "vm-1001", root(), "/bin/sh", "-c 'sleep 60'").await;
    let listed = list(&app, &c, &[from_rest]).await;
    let p = infos(&listed);
    assert_eq!(p.len(), 1, "{}", listed.text);
    assert_eq!(
        p[0].child_text("cmdLine"),
        Some("\"/bin/sh\" -c 'sleep 60'")
    );
    assert!(p[0].child("endTime").is_none());

    let from_soap = start(&app, &c, &spec("/bin/sh", "-c 'exit 7'", "")).await;
    let info = process_info(&app, &sid, "vm-1001", root(), from_soap).await;
    assert_eq!(info["exit_code"], 7, "{info}");
    assert_eq!(info["owner"], "root");

    // A SOAP termination ends the REST-started process, as REST sees it.
    let a = guest(
        &app,
        &c,
        PM,
        "TerminateProcessInGuest",
        "vm-1001",
        &as_root(),
        &format!("<pid>{from_rest}</pid>"),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let info = process_info(&app, &sid, "vm-1001", root(), from_rest).await;
    assert!(info.get("exit_code").is_some(), "{info}");
}

/// One process fault condition: the method, VM, auth, parameters, and the fault and one detail.
type Row = (
    &'static str,
    &'static str,
    &'static str,
    String,
    String,
    &'static str,
    Option<(&'static str, &'static str)>,
);

#[tokio::test]
async fn every_process_fault_condition_answers_its_vim25_fault_type_and_detail() {
    let app = TestApp::spawn().await;
    let c = login(&app).await;
    let r = as_root;
    let alice = || password("alice", "alicepw");
    let root_sleep = start(&app, &c, &spec("/bin/sh", "-c 'sleep 600'", "")).await;
    let rows: Vec<Row> = vec![
        ("an unknown pid", "TerminateProcessInGuest", "vm-1001", r(), "<pid>987654</pid>".into(), "GuestProcessNotFound", Some(("pid", "987654"))),
        ("a protected system process", "TerminateProcessInGuest", "vm-1001", r(), "<pid>1</pid>".into(), "GuestPermissionDenied", None),
        ("another user's process", "TerminateProcessInGuest", "vm-1001", alice(), format!("<pid>{root_sleep}</pid>"), "GuestPermissionDenied", None),
        ("a missing program", "StartProgramInGuest", "vm-1001", r(), spec("/usr/bin/enoent", "", ""), "FileNotFound", Some(("file", "/usr/bin/enoent"))),
        ("a program that is a directory", "StartProgramInGuest", "vm-1001", r(), spec("/tmp", "", ""), "NotAFile", Some(("file", "/tmp"))),
        ("a program the user may not run", "StartProgramInGuest", "vm-1001", r(), spec("/etc/hosts", "", ""), "CannotAccessFile", Some(("file", "/etc/hosts"))),
        ("a relative program path", "StartProgramInGuest", "vm-1001", r(), spec("sh", "", ""), "InvalidArgument", Some(("invalidProperty", "programPath"))),
        ("a program in a directory the user may not enter", "StartProgramInGuest", "vm-1001", alice(), spec("/root/secret.txt", "", ""), "GuestPermissionDenied", None),
        ("a working directory that is missing", "StartProgramInGuest", "vm-1001", r(), spec("/bin/sh", "-c true", "<workingDirectory>/enoent</workingDirectory>"), "FileNotFound", Some(("file", "/enoent"))),
        ("startMinimized on Linux", "StartProgramInGuest", "vm-1001", r(), r#"<spec xsi:type="GuestWindowsProgramSpec"><programPath>/bin/sh</programPath><arguments></arguments><startMinimized>true</startMinimized></spec>"#.into(), "InvalidArgument", None),
        ("an environment entry without =", "StartProgramInGuest", "vm-1001", r(), spec("/bin/sh", "", "<envVariables>FOO</envVariables>"), "InvalidArgument", None),
        ("no program spec", "StartProgramInGuest", "vm-1001", r(), String::new(), "InvalidArgument", Some(("invalidProperty", "spec"))),
        ("a pid that is not a number", "ListProcessesInGuest", "vm-1001", r(), "<pids>x</pids>".into(), "InvalidArgument", Some(("invalidProperty", "pids"))),
        ("a wrong password", "ListProcessesInGuest", "vm-1001", password("root", "nope"), String::new(), "InvalidGuestLogin", None),
        ("a powered-off VM", "ListProcessesInGuest", "vm-1003", r(), String::new(), "InvalidPowerState", Some(("existingState", "poweredOff"))),
        ("Tools not running", "ReadEnvironmentVariableInGuest", "vm-1005", r(), String::new(), "GuestOperationsUnavailable", None),
        ("Tools too old", "StartProgramInGuest", "vm-1006", r(), spec("/bin/sh", "", ""), "GuestComponentsOutOfDate", None),
    ];
    for (condition, method, vm_id, auth, params, fault, detail) in rows {
        let a = guest(&app, &c, PM, method, vm_id, &auth, &params).await;
        let what = format!("{condition} ({method}): {}", a.text);
        assert_eq!(a.status, StatusCode::INTERNAL_SERVER_ERROR, "{what}");
        assert_eq!(a.fault().as_deref(), Some(fault), "{what}");
        if let Some((field, want)) = detail {
            assert_eq!(text_of(a.detail(), field).as_deref(), Some(want), "{what}");
        }
    }

    let ro = login_as(&app, READONLY).await;
    let a = call(
        &app,
        Some(&ro),
        "StartProgramInGuest",
        PM,
        &format!("{}{}{}", vm("vm-1001"), as_root(), spec("/bin/sh", "", "")),
    )
    .await;
    assert_eq!(a.fault().as_deref(), Some("NoPermission"), "{}", a.text);
    assert_eq!(
        text_of(a.detail(), "privilegeId").as_deref(),
        Some("VirtualMachine.GuestOperations.Execute")
    );
}
