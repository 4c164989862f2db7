//! Guest processes over HTTPS, on REST and JSON-RPC: the loop guest automation runs (upload a
//! script, run it, poll, read the exit code, download its output) on Linux and Windows, and
//! processes on the clock (sleeps, declared programs, terminate, guest shutdown).

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use vcmock::{GuestChange, Program, ProgramFile, Vm};

use crate::helpers::*;

/// Polls `Processes.get` until `exit_code` is set, moving the manual clock one second at a
/// time (at most `limit` seconds). Returns the info.
async fn wait_exit(app: &TestApp, sid: &str, vm: &str, c: Value, pid: i64, limit: u64) -> Value {
    for _ in 0..=limit {
        let info = process_info(app, sid, vm, c.clone(), pid).await;
        if info.get("exit_code").is_some() {
            return info;
        }
        app.clock.advance(Duration::from_secs(1));
    }
    panic!("process {pid} still running after {limit}s");
}

#[tokio::test]
async fn the_linux_loop_uploads_a_script_runs_it_polls_and_downloads_its_output() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let script = b"#!/bin/sh\necho started $1 as $USER\nsleep 30\nuname -s\nexit 3\n";
    upload(
        &app,
        &sid,
        "vm-1001",
        alice(),
        "/tmp/job.sh",
        script,
        json!({"posix": {"permissions": "755"}}),
    )
    .await;
    let pid = start_process(
        &app,
        &sid,
        "vm-1001",
        alice(),
        "/tmp/job.sh",
        "first > /tmp/job.out 2>&1",
    )
    .await;
    let running = process_info(&app, &sid, "vm-1001", alice(), pid).await;
    assert_eq!(running["owner"], "alice");
    assert_eq!(running["name"], "job.sh");
    assert_eq!(
        running["command"],
        "\"/tmp/job.sh\" first > /tmp/job.out 2>&1"
    );
    assert!(running.get("exit_code").is_none() && running.get("finished").is_none());
    let done = wait_exit(&app, &sid, "vm-1001", alice(), pid, 40).await;
    assert_eq!(done["exit_code"], 3);
    assert_eq!(done["started"], "2024-01-01T00:00:00.000Z");
    assert_eq!(
        done["finished"], "2024-01-01T00:00:30.000Z",
        "it ended when its sleep did"
    );
    let out = download(&app, &sid, "vm-1001", alice(), "/tmp/job.out").await;
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "started first as alice\nLinux\n"
    );
}

#[tokio::test]
async fn the_windows_loop_runs_an_uploaded_batch_file_through_cmd_exe() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let script =
        b"@echo off\r\necho hello %1 from %USERNAME%\r\ntype C:\\Temp\\setup.log\r\nexit /b 4\r\n";
    upload(
        &app,
        &sid,
        "vm-1002",
        win_admin(),
        "C:\\Temp\\job.bat",
        script,
        json!({}),
    )
    .await;
    let pid = start_process(
        &app,
        &sid,
        "vm-1002",
        win_admin(),
        "C:\\Windows\\System32\\cmd.exe",
        "/c C:\\Temp\\job.bat world > C:\\Temp\\job.out",
    )
    .await;
    assert_eq!(pid % 4, 0, "Windows pids are multiples of 4");
    let done = wait_exit(&app, &sid, "vm-1002", win_admin(), pid, 5).await;
    assert_eq!(done["exit_code"], 4);
    assert_eq!(done["owner"], "Administrator");
    let out = download(&app, &sid, "vm-1002", win_admin(), "C:\\Temp\\job.out").await;
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "hello world from Administrator\r\nsetup finished\r\n"
    );
}

#[tokio::test]
async fn govc_guest_run_gets_uname_and_its_environment_as_govc_guest_bats_expects() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let pid = start_process(
        &app,
        &sid,
        "vm-1001",
        root(),
        "/bin/bash",
        "-c 'uname -a' 1> /tmp/govmomi-1 2> /tmp/govmomi-2",
    )
    .await;
    assert_eq!(
        process_info(&app, &sid, "vm-1001", root(), pid).await["exit_code"],
        0
    );
    let out = download(&app, &sid, "vm-1001", root(), "/tmp/govmomi-1").await;
    assert!(
        String::from_utf8(out)
            .unwrap()
            .starts_with("Linux linux-01 ")
    );

    let r = guest_call(
        &app,
        &sid,
        "vm-1001",
        "processes?action=create",
        json!({"credentials": root(), "spec": {
            "path": "/bin/bash", "arguments": "-c 'env' 1> /tmp/e1 2> /tmp/e2",
            "working_directory": "/tmp", "environment_variables": {"FOO": "bar"}}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let env = String::from_utf8(download(&app, &sid, "vm-1001", root(), "/tmp/e1").await).unwrap();
    assert!(env.lines().any(|l| l == "FOO=bar"), "{env}");
    assert!(env.lines().any(|l| l == "PWD=/tmp"), "{env}");
    assert!(
        !env.contains("HOME="),
        "the environment given is the complete one: {env}"
    );
}

#[tokio::test]
async fn a_failing_program_reports_its_exit_code_and_writes_its_error() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    for (args, code, err) in [
        (
            "-c 'cat /nope' 2> /tmp/err",
            1,
            "cat: /nope: No such file or directory\n",
        ),
        (
            "-c 'nosuch-tool --flag' 2> /tmp/err",
            127,
            "/bin/bash: line 1: nosuch-tool: command not found\n",
        ),
        (
            "-c 'cat /root/secret.txt' 2> /tmp/err",
            1,
            "cat: /root/secret.txt: Permission denied\n",
        ),
    ] {
        let pid = start_process(&app, &sid, "vm-1001", alice(), "/bin/bash", args).await;
        let info = process_info(&app, &sid, "vm-1001", alice(), pid).await;
        assert_eq!(info["exit_code"], code, "{args}");
        let text = download(&app, &sid, "vm-1001", alice(), "/tmp/err").await;
        assert_eq!(String::from_utf8(text).unwrap(), err, "{args}");
    }
}

#[tokio::test]
async fn a_long_process_is_terminated_by_delete_and_then_reports_sigterm() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let pid = start_process(
        &app,
        &sid,
        "vm-1001",
        alice(),
        "/bin/bash",
        "-c 'sleep 3600; touch /tmp/never'",
    )
    .await;
    app.clock.advance(Duration::from_secs(60));
    assert!(
        process_info(&app, &sid, "vm-1001", alice(), pid)
            .await
            .get("exit_code")
            .is_none()
    );
    let r = guest_call(
        &app,
        &sid,
        "vm-1001",
        &format!("processes/{pid}?action=delete"),
        json!({"credentials": alice()}),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    let info = process_info(&app, &sid, "vm-1001", alice(), pid).await;
    assert_eq!(info["exit_code"], 143);
    assert_eq!(info["finished"], "2024-01-01T00:01:00.000Z");
    app.clock.advance(Duration::from_secs(7200));
    assert!(!app.mock.vm("vm-1001").exists("/tmp/never").unwrap());
}

#[tokio::test]
async fn a_guest_shutdown_ends_running_processes_and_revokes_transfers() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let pid = start_process(&app, &sid, "vm-1001", root(), "/bin/bash", "-c 'sleep 600'").await;
    let url = app
        .download_url(&sid, "vm-1001", root(), "/etc/hosts")
        .await;
    let r = app
        .send(
            reqwest::Method::POST,
            "/api/vcenter/vm/vm-1001/guest/power?action=shutdown",
            Some(&sid),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    let state = app.get("/api/vcenter/vm/vm-1001/power", &sid).await.json();
    assert_eq!(
        state,
        json!({"state": "POWERED_OFF", "clean_power_off": true})
    );
    let refused = app.client.get(&url).send().await.unwrap();
    assert_eq!(
        refused.status(),
        StatusCode::NOT_FOUND,
        "the URL was revoked"
    );
    let t = app.mock.transfers();
    assert!(
        t.iter().any(
            |t| matches!(&t.state, vcmock::TransferState::Revoked(r) if r == "guest shut down")
        ),
        "{t:?}"
    );
    power(&app, &sid, "vm-1001", "start").await;
    let gone = guest_call(
        &app,
        &sid,
        "vm-1001",
        &format!("processes/{pid}?action=get"),
        json!({"credentials": root()}),
    )
    .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(gone.json()["data"], json!({"pid": pid}));
}

#[tokio::test]
async fn a_guest_shutdown_cuts_off_an_upload_in_flight() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let r = app
        .transfer(
            &sid,
            "vm-1001",
            json!({"credentials": root(), "spec": {"path": "/tmp/big.bin", "attributes": {"size": 1_000_000}}}),
        )
        .await;
    let url = app.substitute(r.json().as_str().unwrap());
    let (tx, rx) = tokio::sync::mpsc::channel::<Chunk>(4);
    let client = app.client.clone();
    let put = tokio::spawn(async move {
        client
            .put(url)
            .header("content-length", "1000000")
            .body(reqwest::Body::wrap_stream(stream_from(rx)))
            .send()
            .await
    });
    tx.send(Ok(vec![b'x'; 1000])).await.unwrap();
    wait_for_state(&app, "vm-1001", vcmock::TransferState::InFlight).await;
    let r = app
        .send(
            reqwest::Method::POST,
            "/api/vcenter/vm/vm-1001/guest/power?action=shutdown",
            Some(&sid),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let _ = tx.send(Ok(vec![b'x'; 999_000])).await;
    drop(tx);
    let answer = put.await.unwrap();
    assert!(answer.map(|r| r.status() != StatusCode::OK).unwrap_or(true));
    assert!(
        !app.mock.vm("vm-1001").exists("/tmp/big.bin").unwrap(),
        "nothing landed"
    );
}

#[tokio::test]
async fn list_shows_the_system_processes_and_the_started_ones() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let pid = start_process(
        &app,
        &sid,
        "vm-1001",
        alice(),
        "/bin/bash",
        "-c 'sleep 100'",
    )
    .await;
    let r = guest_call(
        &app,
        &sid,
        "vm-1001",
        "processes?action=list",
        json!({"credentials": alice()}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let list = r.json();
    let pids: Vec<i64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["pid"].as_i64().unwrap())
        .collect();
    assert_eq!(pids, vec![1, 412, 538, pid]);
    assert_eq!(
        list[3],
        json!({"name": "bash", "pid": pid, "owner": "alice", "command": "\"/bin/bash\" -c 'sleep 100'",
               "started": "2024-01-01T00:00:00.000Z"})
    );
}

#[tokio::test]
async fn declared_programs_run_on_the_clock_and_can_shut_the_guest_down() {
    let app = TestApp::spawn_with(|b| {
        b.vm(Vm::linux("vm-9")
            .guest_user("root", "pw")
            .program(Program {
                arguments_contain: Some("--quiet".into()),
                duration_ms: 120_000,
                exit_code: 0,
                stdout: "installed\n".into(),
                files: vec![ProgramFile {
                    path: "/opt/agent/version".into(),
                    content: "1.2.3\n".into(),
                    append: false,
                }],
                guest_changes: vec![GuestChange::Shutdown],
                ..Program::new("/opt/agent/install")
            })
            .program(Program {
                exit_code: 2,
                stderr: "usage: install --quiet\n".into(),
                ..Program::new("/opt/agent/install")
            }))
    })
    .await;
    let sid = app.login().await;
    let c = creds("root", "pw");
    let usage = start_process(
        &app,
        &sid,
        "vm-9",
        c.clone(),
        "/opt/agent/install",
        "2> /tmp/usage",
    )
    .await;
    assert_eq!(
        process_info(&app, &sid, "vm-9", c.clone(), usage).await["exit_code"],
        2
    );
    let pid = start_process(
        &app,
        &sid,
        "vm-9",
        c.clone(),
        "/opt/agent/install",
        "--quiet > /tmp/log",
    )
    .await;
    app.clock.advance(Duration::from_secs(119));
    assert!(
        process_info(&app, &sid, "vm-9", c.clone(), pid)
            .await
            .get("exit_code")
            .is_none()
    );
    app.clock.advance(Duration::from_secs(1));
    let power = app.get("/api/vcenter/vm/vm-9/power", &sid).await.json();
    assert_eq!(
        power["state"], "POWERED_OFF",
        "the program shut the guest down when it ended"
    );
    let vm = app.mock.vm("vm-9");
    assert_eq!(vm.read_file("/tmp/log").unwrap().unwrap(), b"installed\n");
    assert_eq!(
        vm.read_file("/opt/agent/version").unwrap().unwrap(),
        b"1.2.3\n"
    );
    assert_eq!(
        vm.read_file("/tmp/usage").unwrap().unwrap(),
        b"usage: install --quiet\n"
    );
}

#[tokio::test]
async fn processes_work_over_json_rpc_as_the_python_sdk_sends_them() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let rpc = |op: &str, input: Value| {
        json!({"jsonrpc": "2.0", "method": "invoke", "id": "1", "params": {
            "ctx": {"appCtx": {}, "securityCtx": {"schemeId": "com.vmware.vapi.std.security.session_id", "sessionId": sid}},
            "input": {"STRUCTURE": {"operation-input": input}},
            "serviceId": "com.vmware.vcenter.vm.guest.processes", "operationId": op}})
    };
    let creds = json!({"STRUCTURE": {"com.vmware.vcenter.vm.guest.credentials": {
        "interactive_session": false, "password": {"OPTIONAL": {"SECRET": "rootpw"}},
        "saml_token": {"OPTIONAL": null}, "type": "USERNAME_PASSWORD", "user_name": {"OPTIONAL": "root"}}}});
    let call = |body: Value| {
        let client = app.client.clone();
        let url = app.url("/api");
        async move {
            client
                .post(url)
                .json(&body)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let created = call(rpc(
        "create",
        json!({
        "vm": "vm-1001", "credentials": creds,
        "spec": {"STRUCTURE": {"com.vmware.vcenter.vm.guest.processes.create_spec": {
            "path": "/bin/bash", "arguments": {"OPTIONAL": "-c 'exit 5'"},
            "working_directory": {"OPTIONAL": null}, "environment_variables": {"OPTIONAL": [
                {"STRUCTURE": {"map-entry": {"key": "A", "value": "1"}}}]},
            "start_minimized": {"OPTIONAL": null}}}}}),
    ))
    .await;
    let pid = created["result"]["output"].as_i64().expect("a pid");
    let got = call(rpc(
        "get",
        json!({"vm": "vm-1001", "credentials": creds, "pid": pid}),
    ))
    .await;
    let info = &got["result"]["output"]["STRUCTURE"]["com.vmware.vcenter.vm.guest.processes.info"];
    assert_eq!(info["exit_code"], json!({"OPTIONAL": 5}));
    assert_eq!(
        info["finished"],
        json!({"OPTIONAL": "2024-01-01T00:00:00.000Z"})
    );
    let listed = call(rpc("list", json!({"vm": "vm-1001", "credentials": creds}))).await;
    let last = listed["result"]["output"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        last["STRUCTURE"]["com.vmware.vcenter.vm.guest.processes.summary"]["pid"],
        pid
    );
    let missing = call(rpc(
        "delete",
        json!({"vm": "vm-1001", "credentials": creds, "pid": 999_999}),
    ))
    .await;
    let err = &missing["result"]["error"]["ERROR"]["com.vmware.vapi.std.errors.not_found"];
    assert_eq!(
        err["data"],
        json!({"OPTIONAL": {"STRUCTURE": {"com.vmware.vcenter.vm.guest.processes.process_error_details": {"pid": 999_999}}}})
    );
}

#[tokio::test]
async fn the_journal_records_process_operations_but_never_environment_values() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let r = guest_call(
        &app,
        &sid,
        "vm-1001",
        "processes?action=create",
        json!({"credentials": root(), "spec": {"path": "/bin/bash", "arguments": "-c true",
               "environment_variables": {"API_TOKEN": "s3cr3t-value"}}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let env = guest_call(
        &app,
        &sid,
        "vm-1001",
        "environment?action=list",
        json!({"credentials": root()}),
    )
    .await;
    assert_eq!(env.status, StatusCode::OK);
    let journal = serde_json::to_string(&app.mock.requests()).unwrap();
    assert!(
        journal.contains("\"operation\":\"processes.create\""),
        "{journal}"
    );
    assert!(
        journal.contains("\"guest_path\":\"/bin/bash\""),
        "{journal}"
    );
    assert!(
        journal.contains("\"operation\":\"environment.list\""),
        "{journal}"
    );
    assert!(!journal.contains("s3cr3t-value"), "{journal}");
    assert!(
        !journal.contains("/root"),
        "no environment value (HOME=/root) is recorded: {journal}"
    );
}

#[tokio::test]
async fn the_admin_api_shows_processes_with_their_own_output_and_ends_them() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let pid = start_process(
        &app,
        &sid,
        "vm-1001",
        alice(),
        "/bin/bash",
        "-c 'echo to stdout; sleep 50'",
    )
    .await;
    let list = app
        .client
        .get(app.url("/_mock/vms/vm-1001/processes"))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let mine = list
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["pid"] == pid)
        .unwrap()
        .clone();
    assert_eq!(mine["running"], true);
    assert_eq!(
        mine["stdout"], "to stdout\n",
        "not redirected, so kept for inspection"
    );
    assert_eq!(mine["wake"], "2024-01-01T00:00:50.000Z");
    assert_eq!(list[0]["system"], true);
    let killed = app
        .client
        .delete(app.url(&format!("/_mock/vms/vm-1001/processes/{pid}")))
        .send()
        .await
        .unwrap();
    assert_eq!(killed.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        process_info(&app, &sid, "vm-1001", alice(), pid).await["exit_code"],
        143
    );
    let again = app
        .client
        .delete(app.url(&format!("/_mock/vms/vm-1001/processes/{pid}")))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_FOUND);

    let declared = app
        .client
        .post(app.url("/_mock/vms/vm-1001/programs"))
        .json(&json!({"path": "/usr/local/bin/deploy", "exit_code": 9}))
        .send()
        .await
        .unwrap();
    assert_eq!(declared.status(), StatusCode::NO_CONTENT);
    let pid = start_process(&app, &sid, "vm-1001", root(), "/usr/local/bin/deploy", "").await;
    assert_eq!(
        process_info(&app, &sid, "vm-1001", root(), pid).await["exit_code"],
        9
    );
    let programs = app
        .client
        .get(app.url("/_mock/vms/vm-1001/programs"))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(
        programs,
        json!([{"path": "/usr/local/bin/deploy", "exit_code": 9, "duration_ms": 0}])
    );
}

#[tokio::test]
async fn finished_processes_are_forgotten_five_minutes_after_they_end() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let pid = start_process(&app, &sid, "vm-1001", root(), "/bin/bash", "-c true").await;
    app.clock.advance(Duration::from_secs(300));
    assert_eq!(
        process_info(&app, &sid, "vm-1001", root(), pid).await["exit_code"],
        0
    );
    app.clock.advance(Duration::from_secs(1));
    let r = guest_call(
        &app,
        &sid,
        "vm-1001",
        &format!("processes/{pid}?action=get"),
        json!({"credentials": root()}),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}
