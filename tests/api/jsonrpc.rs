//! The vAPI JSON-RPC endpoint at `POST /api`: captured-style envelopes in, exact JSON out.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

async fn rpc(app: &TestApp, body: Value) -> (StatusCode, Value) {
    let r = app
        .client
        .post(app.url("/api"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap())
}

fn envelope(id: Value, service: &str, op: &str, security: Value, input: Value) -> Value {
    json!({"jsonrpc": "2.0", "method": "invoke", "id": id, "params": {
        "ctx": {"appCtx": {"opId": "test"}, "securityCtx": security},
        "input": {"STRUCTURE": {"operation-input": input}},
        "serviceId": service, "operationId": op}})
}

fn user_pass() -> Value {
    json!({"schemeId": "com.vmware.vapi.std.security.user_pass", "userName": ADMIN.0, "password": ADMIN.1})
}

fn session(sid: &str) -> Value {
    json!({"schemeId": "com.vmware.vapi.std.security.session_id", "sessionId": sid})
}

fn guest_creds() -> Value {
    json!({"STRUCTURE": {"com.vmware.vcenter.vm.guest.credentials": {
        "interactive_session": false, "password": {"OPTIONAL": {"SECRET": "rootpw"}},
        "saml_token": {"OPTIONAL": null}, "type": "USERNAME_PASSWORD", "user_name": {"OPTIONAL": "root"}}}})
}

async fn login(app: &TestApp) -> String {
    let (_, v) = rpc(
        app,
        envelope(
            json!("0"),
            "com.vmware.cis.session",
            "create",
            user_pass(),
            json!({}),
        ),
    )
    .await;
    v["result"]["output"]["SECRET"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn session_create_returns_a_secret_and_echoes_the_id_with_its_type() {
    let app = TestApp::spawn().await;
    for id in [json!("0"), json!(7), json!(null)] {
        let (status, v) = rpc(
            &app,
            envelope(
                id.clone(),
                "com.vmware.cis.session",
                "create",
                user_pass(),
                json!({}),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(v["id"], id);
        assert_eq!(v["jsonrpc"], "2.0");
        assert_eq!(v["result"]["output"]["SECRET"].as_str().unwrap().len(), 32);
    }
}

#[tokio::test]
async fn a_session_made_over_json_rpc_works_on_rest_and_the_reverse() {
    let app = TestApp::spawn().await;
    let sid = login(&app).await;
    assert_eq!(
        app.get("/api/vcenter/vm", &sid).await.status,
        StatusCode::OK
    );
    let rest_sid = app.login().await;
    let (_, v) = rpc(
        &app,
        envelope(
            json!(1),
            "com.vmware.cis.session",
            "get",
            session(&rest_sid),
            json!({}),
        ),
    )
    .await;
    assert_eq!(
        v["result"]["output"]["STRUCTURE"]["com.vmware.cis.session.info"]["user"],
        "VSPHERE.LOCAL\\Administrator"
    );
}

#[tokio::test]
async fn vm_list_answers_typed_summaries_with_optional_wrappers() {
    let app = TestApp::spawn().await;
    let sid = login(&app).await;
    let filter = json!({"OPTIONAL": {"STRUCTURE": {"com.vmware.vcenter.VM.filter_spec": {
        "names": {"OPTIONAL": ["linux-01"]}, "vms": {"OPTIONAL": null}, "power_states": {"OPTIONAL": null}}}}});
    let (_, v) = rpc(
        &app,
        envelope(
            json!(2),
            "com.vmware.vcenter.VM",
            "list",
            session(&sid),
            json!({"filter": filter}),
        ),
    )
    .await;
    assert_eq!(
        v["result"]["output"],
        json!([{"STRUCTURE": {"com.vmware.vcenter.VM.summary": {
            "vm": "vm-1001", "name": "linux-01", "power_state": "POWERED_ON",
            "cpu_count": {"OPTIONAL": 2}, "memory_size_MiB": {"OPTIONAL": 4096}}}}])
    );
}

#[tokio::test]
async fn a_void_operation_answers_output_null() {
    let app = TestApp::spawn().await;
    let sid = login(&app).await;
    let (_, v) = rpc(
        &app,
        envelope(
            json!(3),
            "com.vmware.vcenter.vm.power",
            "stop",
            session(&sid),
            json!({"vm": "vm-1001"}),
        ),
    )
    .await;
    assert_eq!(
        v,
        json!({"jsonrpc": "2.0", "id": 3, "result": {"output": null}})
    );
}

#[tokio::test]
async fn a_transfer_created_over_json_rpc_hands_out_a_working_url() {
    let app = TestApp::spawn().await;
    let sid = login(&app).await;
    let spec = json!({"STRUCTURE": {"com.vmware.vcenter.vm.guest.filesystem.transfers.create_spec": {"attributes": {"OPTIONAL": null}, "path": "/etc/hostname"}}});
    let (_, v) = rpc(
        &app,
        envelope(
            json!(4),
            "com.vmware.vcenter.vm.guest.filesystem.transfers",
            "create",
            session(&sid),
            json!({"vm": "vm-1001", "credentials": guest_creds(), "spec": spec}),
        ),
    )
    .await;
    let url = v["result"]["output"].as_str().unwrap();
    let body = app
        .client
        .get(app.substitute(url))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(body.as_ref(), b"linux-01\n");
}

#[tokio::test]
async fn errors_come_back_as_typed_error_values_with_file_details() {
    let app = TestApp::spawn().await;
    let sid = login(&app).await;
    let (status, v) = rpc(
        &app,
        envelope(
            json!(5),
            "com.vmware.vcenter.vm.guest.filesystem.files",
            "get",
            session(&sid),
            json!({"vm": "vm-1001", "credentials": guest_creds(), "path": "/tmp/none"}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        v["result"]["error"],
        json!({"ERROR": {"com.vmware.vapi.std.errors.not_found": {
            "messages": [{"STRUCTURE": {"com.vmware.vapi.std.localizable_message": {
                "id": "vcmock.guest.file.not_found",
                "default_message": "File or directory '/tmp/none' was not found.",
                "args": ["/tmp/none"], "params": {"OPTIONAL": null}, "localized": {"OPTIONAL": null}}}}],
            "data": {"OPTIONAL": {"STRUCTURE": {"com.vmware.vcenter.vm.guest.filesystem.file_error_details": {"reason": "FILE_NOT_FOUND", "file_path": "/tmp/none"}}}},
            "error_type": {"OPTIONAL": "NOT_FOUND"}}}})
    );
}

#[tokio::test]
async fn a_missing_or_bad_security_context_is_unauthenticated() {
    let app = TestApp::spawn().await;
    for security in [
        json!(null),
        session("nope"),
        json!({"schemeId": "com.vmware.vapi.std.security.user_pass", "userName": ADMIN.0, "password": "x"}),
    ] {
        let (_, v) = rpc(
            &app,
            envelope(
                json!(6),
                "com.vmware.vcenter.VM",
                "list",
                security.clone(),
                json!({}),
            ),
        )
        .await;
        assert!(
            v["result"]["error"]["ERROR"]
                .get("com.vmware.vapi.std.errors.unauthenticated")
                .is_some(),
            "{security}: {v}"
        );
    }
    let (_, bad_login) = rpc(&app, envelope(json!(6), "com.vmware.cis.session", "create", json!({"schemeId": "com.vmware.vapi.std.security.user_pass", "userName": ADMIN.0, "password": "x"}), json!({}))).await;
    assert!(
        bad_login["result"]["error"]["ERROR"]
            .get("com.vmware.vapi.std.errors.unauthenticated")
            .is_some()
    );
}

#[tokio::test]
async fn unknown_operations_and_bad_inputs_answer_vapi_errors() {
    let app = TestApp::spawn().await;
    let sid = login(&app).await;
    let (_, v) = rpc(
        &app,
        envelope(
            json!(8),
            "com.vmware.vcenter.nothing",
            "get",
            session(&sid),
            json!({}),
        ),
    )
    .await;
    assert!(
        v["result"]["error"]["ERROR"]
            .get("com.vmware.vapi.std.errors.operation_not_found")
            .is_some(),
        "{v}"
    );
    let (_, v) = rpc(
        &app,
        envelope(
            json!(9),
            "com.vmware.vcenter.vm.guest.filesystem.files",
            "list",
            session(&sid),
            json!({"vm": "vm-1001", "path": "/tmp"}),
        ),
    )
    .await;
    assert!(
        v["result"]["error"]["ERROR"]
            .get("com.vmware.vapi.std.errors.invalid_argument")
            .is_some(),
        "missing credentials: {v}"
    );
    let (_, v) = rpc(
        &app,
        envelope(
            json!(10),
            "com.vmware.vcenter.vm.guest.filesystem.files",
            "list",
            session(&sid),
            json!({"vm": "vm-1001", "credentials": guest_creds(), "path": 7}),
        ),
    )
    .await;
    assert!(
        v["result"]["error"]["ERROR"]
            .get("com.vmware.vapi.std.errors.invalid_argument")
            .is_some(),
        "wrong type: {v}"
    );
}

#[tokio::test]
async fn malformed_envelopes_get_json_rpc_protocol_errors() {
    let app = TestApp::spawn().await;
    let parse = app
        .client
        .post(app.url("/api"))
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(
        parse.json::<Value>().await.unwrap()["error"]["code"],
        -32700
    );
    let table = [
        (json!({"id": 1, "method": "invoke"}), -32600),
        (
            json!({"jsonrpc": "2.0", "id": 1, "method": "other"}),
            -32601,
        ),
        (
            json!({"jsonrpc": "2.0", "id": 1, "method": "invoke", "params": {"serviceId": "x"}}),
            -32602,
        ),
    ];
    for (body, code) in table {
        let (_, v) = rpc(&app, body.clone()).await;
        assert_eq!(v["error"]["code"], code, "{body}");
        assert_eq!(v["id"], 1);
    }
}
