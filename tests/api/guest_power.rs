//! Guest power over HTTPS: shutdown, reboot and standby through the power path (state, Tools,
//! processes, transfer URLs), on `/api`, legacy `/rest` and JSON-RPC.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use vcmock::{GuestChange, Program, Vm};

use crate::helpers::*;

async fn guest_power(app: &TestApp, sid: &str, vm: &str, action: &str) -> Reply {
    app.send(
        Method::POST,
        &format!("/api/vcenter/vm/{vm}/guest/power?action={action}"),
        Some(sid),
        None,
    )
    .await
}

async fn state(app: &TestApp, sid: &str, vm: &str) -> (Value, Value, Value) {
    let power = app
        .get(&format!("/api/vcenter/vm/{vm}/power"), sid)
        .await
        .json();
    let guest = app
        .get(&format!("/api/vcenter/vm/{vm}/guest/power"), sid)
        .await
        .json();
    let tools = app
        .get(&format!("/api/vcenter/vm/{vm}/tools"), sid)
        .await
        .json();
    (power, guest, tools["run_state"].clone())
}

#[tokio::test]
async fn shutdown_powers_off_cleanly_and_standby_suspends() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    assert_eq!(
        guest_power(&app, &sid, "vm-1001", "shutdown").await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        state(&app, &sid, "vm-1001").await,
        (
            json!({"state": "POWERED_OFF", "clean_power_off": true}),
            json!({"state": "NOT_RUNNING", "operations_ready": false}),
            json!("NOT_RUNNING")
        )
    );
    assert_eq!(
        guest_power(&app, &sid, "vm-1002", "standby").await.status,
        StatusCode::NO_CONTENT
    );
    let (power, guest, _) = state(&app, &sid, "vm-1002").await;
    assert_eq!(power["state"], "SUSPENDED");
    assert_eq!(
        guest,
        json!({"state": "STANDBY", "operations_ready": false})
    );
    power_start(&app, &sid, "vm-1002").await;
    let (_, guest, tools) = state(&app, &sid, "vm-1002").await;
    assert_eq!(
        (guest["state"].clone(), tools),
        (json!("RUNNING"), json!("RUNNING"))
    );
}

async fn power_start(app: &TestApp, sid: &str, vm: &str) {
    power(app, sid, vm, "start").await;
}

#[tokio::test]
async fn a_reboot_keeps_the_vm_on_with_tools_down_for_ten_seconds_and_ends_processes() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let pid = start_process(&app, &sid, "vm-1001", root(), "/bin/bash", "-c 'sleep 600'").await;
    let url = app
        .download_url(&sid, "vm-1001", root(), "/etc/hosts")
        .await;
    app.clock.advance(Duration::from_secs(100));
    assert_eq!(
        guest_power(&app, &sid, "vm-1001", "reboot").await.status,
        StatusCode::NO_CONTENT
    );
    let (power, guest, tools) = state(&app, &sid, "vm-1001").await;
    assert_eq!(power["state"], "POWERED_ON");
    assert_eq!(
        guest,
        json!({"state": "RESETTING", "operations_ready": false})
    );
    assert_eq!(tools, "NOT_RUNNING");
    let during = guest_call(
        &app,
        &sid,
        "vm-1001",
        "processes?action=list",
        json!({"credentials": root()}),
    )
    .await;
    assert_eq!(
        during.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "Tools are down"
    );
    assert_eq!(
        app.client.get(&url).send().await.unwrap().status(),
        StatusCode::NOT_FOUND,
        "URLs are revoked"
    );
    app.clock.advance(Duration::from_secs(9));
    assert_eq!(state(&app, &sid, "vm-1001").await.1["state"], "RESETTING");
    app.clock.advance(Duration::from_secs(1));
    let (_, guest, tools) = state(&app, &sid, "vm-1001").await;
    assert_eq!(
        (guest, tools),
        (
            json!({"state": "RUNNING", "operations_ready": true}),
            json!("RUNNING")
        )
    );
    let r = guest_call(
        &app,
        &sid,
        "vm-1001",
        &format!("processes/{pid}?action=get"),
        json!({"credentials": root()}),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "processes from before the reboot are gone"
    );
    let list = guest_call(
        &app,
        &sid,
        "vm-1001",
        "processes?action=list",
        json!({"credentials": root()}),
    )
    .await
    .json();
    assert_eq!(
        list[0]["started"], "2024-01-01T00:01:40.000Z",
        "the system processes started at the reboot"
    );
}

#[tokio::test]
async fn a_program_can_reboot_the_guest_when_it_ends() {
    let app = TestApp::spawn_with(|b| {
        b.vm(Vm::linux("vm-5").guest_user("root", "pw").program(Program {
            duration_ms: 5000,
            guest_changes: vec![GuestChange::StopTools, GuestChange::Reboot],
            ..Program::new("/usr/sbin/apply-updates")
        }))
    })
    .await;
    let sid = app.login().await;
    start_process(
        &app,
        &sid,
        "vm-5",
        creds("root", "pw"),
        "/usr/sbin/apply-updates",
        "",
    )
    .await;
    app.clock.advance(Duration::from_secs(6));
    let (power, guest, _) = state(&app, &sid, "vm-5").await;
    assert_eq!(
        (power["state"].clone(), guest["state"].clone()),
        (json!("POWERED_ON"), json!("RESETTING"))
    );
    app.clock.advance(Duration::from_secs(10));
    assert_eq!(
        state(&app, &sid, "vm-5").await.1["state"],
        "RUNNING",
        "Tools come back 10 s after the reboot"
    );
}

#[tokio::test]
async fn the_legacy_rest_form_and_json_rpc_request_guest_power_too() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let r = app
        .send(
            Method::POST,
            "/rest/vcenter/vm/vm-1001/guest/power?action=reboot",
            Some(&sid),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.body.is_empty());
    let refused = app
        .send(
            Method::POST,
            "/rest/vcenter/vm/vm-1003/guest/power?action=shutdown",
            Some(&sid),
            None,
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        refused.json()["type"],
        "com.vmware.vapi.std.errors.already_in_desired_state"
    );

    let body = json!({"jsonrpc": "2.0", "method": "invoke", "id": "1", "params": {
        "ctx": {"appCtx": {}, "securityCtx": {"schemeId": "com.vmware.vapi.std.security.session_id", "sessionId": sid}},
        "input": {"STRUCTURE": {"operation-input": {"vm": "vm-1002"}}},
        "serviceId": "com.vmware.vcenter.vm.guest.power", "operationId": "shutdown"}});
    let v: Value = app
        .client
        .post(app.url("/api"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["result"], json!({"output": null}), "{v}");
    assert_eq!(
        app.mock.vm("vm-1002").power_state().unwrap(),
        vcmock::PowerState::PoweredOff
    );
}

#[tokio::test]
async fn guest_power_needs_the_power_privilege_of_its_soap_method() {
    let app = TestApp::spawn_with(|b| {
        b.user(vcmock::User::with_privileges(
            "op@vsphere.local",
            "pw",
            &["System.Read", "VirtualMachine.Interact.Reset"],
        ))
    })
    .await;
    let sid = app.login_as(("op@vsphere.local", "pw")).await;
    let table = [
        ("reboot", StatusCode::NO_CONTENT),
        ("shutdown", StatusCode::FORBIDDEN),
        ("standby", StatusCode::FORBIDDEN),
    ];
    for (action, status) in table {
        let r = guest_power(&app, &sid, "vm-1002", action).await;
        assert_eq!(r.status, status, "{action}: {}", r.text());
    }
}

#[tokio::test]
async fn an_unknown_guest_power_action_is_an_unknown_route() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let r = guest_power(&app, &sid, "vm-1001", "hibernate").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.mock.vm("vm-1001").power_state().unwrap(),
        vcmock::PowerState::PoweredOn
    );
}

#[tokio::test]
async fn soap_reboot_guest_takes_the_same_path_processes_end_and_tools_come_back() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let pid = start_process(&app, &sid, "vm-1001", root(), "/bin/bash", "-c 'sleep 600'").await;
    let cookie = crate::soap::login(&app).await;
    let r = crate::soap::call(
        &app,
        Some(&cookie),
        "RebootGuest",
        ("VirtualMachine", "vm-1001"),
        "",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let (power, guest, _) = state(&app, &sid, "vm-1001").await;
    assert_eq!(
        (power["state"].clone(), guest["state"].clone()),
        (json!("POWERED_ON"), json!("RESETTING"))
    );
    let again = crate::soap::call(
        &app,
        Some(&cookie),
        "ShutdownGuest",
        ("VirtualMachine", "vm-1001"),
        "",
    )
    .await;
    assert_eq!(
        again.fault().as_deref(),
        Some("ToolsUnavailable"),
        "Tools are down during the reboot"
    );
    app.clock.advance(Duration::from_secs(10));
    let r = guest_call(
        &app,
        &sid,
        "vm-1001",
        &format!("processes/{pid}?action=get"),
        json!({"credentials": root()}),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "the reboot ended the process"
    );
}
