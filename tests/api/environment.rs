//! The guest environment over HTTPS: `Environment.list` and `get` read the guest user's
//! environment (family defaults plus fixture variables), which processes start with too.

use reqwest::StatusCode;
use serde_json::{Value, json};
use vcmock::Vm;

use crate::helpers::*;

async fn list(app: &TestApp, sid: &str, vm: &str, c: Value, names: Option<Value>) -> Value {
    let mut body = json!({"credentials": c});
    if let Some(n) = names {
        body["names"] = n;
    }
    let r = guest_call(app, sid, vm, "environment?action=list", body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.json()
}

async fn get(app: &TestApp, sid: &str, vm: &str, c: Value, name: &str) -> Reply {
    guest_call(
        app,
        sid,
        vm,
        &format!("environment/{name}?action=get"),
        json!({"credentials": c}),
    )
    .await
}

#[tokio::test]
async fn list_reads_the_guest_users_environment_with_the_familys_defaults() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let table = [
        ("vm-1001", root(), "HOME", "/root"),
        ("vm-1001", alice(), "HOME", "/home/alice"),
        ("vm-1001", alice(), "USER", "alice"),
        (
            "vm-1001",
            alice(),
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        ),
        ("vm-1002", bob(), "USERPROFILE", "C:\\Users\\bob"),
        (
            "vm-1002",
            bob(),
            "TEMP",
            "C:\\Users\\bob\\AppData\\Local\\Temp",
        ),
        ("vm-1002", win_admin(), "COMPUTERNAME", "WINDOWS-01"),
    ];
    for (vm, c, name, value) in table {
        let env = list(&app, &sid, vm, c, None).await;
        assert_eq!(env[name], value, "{vm} {name}: {env}");
    }
}

#[tokio::test]
async fn names_select_the_variables_that_are_set_and_get_reads_one() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let picked = list(
        &app,
        &sid,
        "vm-1001",
        alice(),
        Some(json!(["USER", "NOPE", "HOME"])),
    )
    .await;
    assert_eq!(picked, json!({"HOME": "/home/alice", "USER": "alice"}));
    let all = list(&app, &sid, "vm-1001", alice(), Some(json!([]))).await;
    assert!(
        all.as_object().unwrap().len() >= 6,
        "an empty set reads them all: {all}"
    );
    let r = get(&app, &sid, "vm-1001", alice(), "SHELL").await;
    assert_eq!((r.status, r.json()), (StatusCode::OK, json!("/bin/bash")));
    let missing = get(&app, &sid, "vm-1001", alice(), "NOPE").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(
        missing.json()["messages"][0]["id"],
        "vcmock.guest.environment.not_found"
    );
}

#[tokio::test]
async fn windows_variable_names_compare_case_insensitively() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let r = get(&app, &sid, "vm-1002", win_admin(), "path").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.json(),
        "C:\\Windows\\system32;C:\\Windows;C:\\Windows\\System32\\Wbem"
    );
    let picked = list(
        &app,
        &sid,
        "vm-1002",
        win_admin(),
        Some(json!(["username"])),
    )
    .await;
    assert_eq!(picked, json!({"USERNAME": "Administrator"}));
    let linux = get(&app, &sid, "vm-1001", root(), "home").await;
    assert_eq!(
        linux.status,
        StatusCode::NOT_FOUND,
        "Linux names are case-sensitive"
    );
}

#[tokio::test]
async fn fixture_and_admin_variables_reach_the_environment_and_processes() {
    let app = TestApp::spawn_with(|b| {
        b.vm(Vm::linux("vm-3")
            .guest_user("root", "pw")
            .env("APP_ENV", "test")
            .env("LANG", "de_DE.UTF-8"))
    })
    .await;
    let sid = app.login().await;
    let c = creds("root", "pw");
    let env = list(
        &app,
        &sid,
        "vm-3",
        c.clone(),
        Some(json!(["APP_ENV", "LANG"])),
    )
    .await;
    assert_eq!(env, json!({"APP_ENV": "test", "LANG": "de_DE.UTF-8"}));
    let put = app
        .client
        .put(app.url("/_mock/vms/vm-3/environment"))
        .json(&json!({"APP_ENV": "staging"}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::NO_CONTENT);
    let after = list(
        &app,
        &sid,
        "vm-3",
        c.clone(),
        Some(json!(["APP_ENV", "LANG"])),
    )
    .await;
    assert_eq!(after, json!({"APP_ENV": "staging", "LANG": "C.UTF-8"}));
    start_process(
        &app,
        &sid,
        "vm-3",
        c,
        "/bin/sh",
        "-c 'echo $APP_ENV $HOME > /tmp/env'",
    )
    .await;
    assert_eq!(
        app.mock.vm("vm-3").read_file("/tmp/env").unwrap().unwrap(),
        b"staging /root\n"
    );
}

#[tokio::test]
async fn the_environment_works_over_json_rpc() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let creds = json!({"STRUCTURE": {"com.vmware.vcenter.vm.guest.credentials": {
        "interactive_session": false, "password": {"OPTIONAL": {"SECRET": "alicepw"}},
        "saml_token": {"OPTIONAL": null}, "type": "USERNAME_PASSWORD", "user_name": {"OPTIONAL": "alice"}}}});
    let rpc = |op: &str, input: Value| {
        json!({"jsonrpc": "2.0", "method": "invoke", "id": "1", "params": {
            "ctx": {"appCtx": {}, "securityCtx": {"schemeId": "com.vmware.vapi.std.security.session_id", "sessionId": sid}},
            "input": {"STRUCTURE": {"operation-input": input}},
            "serviceId": "com.vmware.vcenter.vm.guest.environment", "operationId": op}})
    };
    let send = |body: Value| {
        let (client, url) = (app.client.clone(), app.url("/api"));
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
    let listed = send(rpc(
        "list",
        json!({"vm": "vm-1001", "credentials": creds, "names": ["USER"]}),
    ))
    .await;
    assert_eq!(
        listed["result"]["output"],
        json!([{"STRUCTURE": {"map-entry": {"key": "USER", "value": "alice"}}}])
    );
    let got = send(rpc(
        "get",
        json!({"vm": "vm-1001", "credentials": creds, "name": "HOME"}),
    ))
    .await;
    assert_eq!(got["result"]["output"], "/home/alice");
}
