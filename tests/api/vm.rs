//! VMs: list, get, power, Tools, guest identity, power and operations readiness; and the
//! vAPI-shaped answers to bad routes, methods and bodies.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s["vm"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn vm_list_answers_every_vm_with_its_summary() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let r = app.get("/api/vcenter/vm", &sid).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.content_type(), "application/json");
    let v = r.json();
    assert_eq!(
        ids(&v),
        [
            "vm-1001", "vm-1002", "vm-1003", "vm-1004", "vm-1005", "vm-1006"
        ]
    );
    assert_eq!(
        v[0],
        json!({"vm": "vm-1001", "name": "linux-01", "power_state": "POWERED_ON", "cpu_count": 2, "memory_size_MiB": 4096})
    );
}

#[tokio::test]
async fn vm_list_filters_combine_as_vcenter_documents() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let table: &[(&str, &[&str])] = &[
        ("names=linux-01", &["vm-1001"]),
        ("names=linux-01&names=windows-01", &["vm-1001", "vm-1002"]),
        ("vms=vm-1003", &["vm-1003"]),
        ("power_states=POWERED_OFF", &["vm-1003"]),
        (
            "power_states=SUSPENDED&power_states=POWERED_OFF",
            &["vm-1003", "vm-1004"],
        ),
        ("power_states=POWERED_ON&names=linux-off", &[]),
        ("names=nope", &[]),
    ];
    for (query, expected) in table {
        let r = app.get(&format!("/api/vcenter/vm?{query}"), &sid).await;
        assert_eq!(r.status, StatusCode::OK, "{query}");
        assert_eq!(ids(&r.json()), *expected, "{query}");
    }
    let legacy = app
        .get("/rest/vcenter/vm?filter.power_states=POWERED_OFF", &sid)
        .await;
    assert_eq!(ids(&legacy.json()["value"]), ["vm-1003"]);
}

#[tokio::test]
async fn an_unknown_power_state_filter_is_an_invalid_argument() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let r = app.get("/api/vcenter/vm?power_states=ON", &sid).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error_type(), "INVALID_ARGUMENT");
}

#[tokio::test]
async fn vm_get_answers_vm_info_with_the_required_members() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let v = app.get("/api/vcenter/vm/vm-1002", &sid).await.json();
    for key in [
        "guest_OS",
        "name",
        "power_state",
        "hardware",
        "boot",
        "boot_devices",
        "cpu",
        "memory",
        "disks",
        "nics",
        "cdroms",
        "floppies",
        "parallel_ports",
        "serial_ports",
        "sata_adapters",
        "scsi_adapters",
    ] {
        assert!(v.get(key).is_some(), "VM.Info lacks {key}");
    }
    assert_eq!(v["guest_OS"], "WINDOWS_9_SERVER_64");
    assert_eq!(v["cpu"]["count"], 4);
    assert_eq!(v["memory"]["size_MiB"], 8192);
}

#[tokio::test]
async fn an_unknown_vm_is_404_not_found_everywhere() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    for (method, path) in [
        (Method::GET, "/api/vcenter/vm/vm-9999"),
        (Method::GET, "/api/vcenter/vm/vm-9999/power"),
        (Method::POST, "/api/vcenter/vm/vm-9999/power?action=start"),
        (Method::GET, "/api/vcenter/vm/vm-9999/tools"),
        (Method::GET, "/api/vcenter/vm/vm-9999/guest/identity"),
        (Method::GET, "/api/vcenter/vm/vm-9999/guest/power"),
        (Method::GET, "/api/vcenter/vm/vm-9999/guest/operations"),
        (Method::GET, "/rest/vcenter/vm/vm-9999"),
    ] {
        let r = app.send(method.clone(), path, Some(&sid), None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{method} {path}");
        let body = if path.starts_with("/rest") {
            r.json()["value"].clone()
        } else {
            r.json()
        };
        assert_eq!(body["error_type"], "NOT_FOUND", "{method} {path}");
        assert_eq!(body["messages"][0]["args"][0], "vm-9999");
    }
}

#[tokio::test]
async fn power_transitions_follow_vcenters_table() {
    // (vm, action, expected status, expected error type)
    let table: &[(&str, &str, u16, Option<&str>)] = &[
        ("vm-1001", "start", 400, Some("ALREADY_IN_DESIRED_STATE")),
        ("vm-1003", "stop", 400, Some("ALREADY_IN_DESIRED_STATE")),
        ("vm-1004", "suspend", 400, Some("ALREADY_IN_DESIRED_STATE")),
        (
            "vm-1003",
            "suspend",
            400,
            Some("NOT_ALLOWED_IN_CURRENT_STATE"),
        ),
        (
            "vm-1003",
            "reset",
            400,
            Some("NOT_ALLOWED_IN_CURRENT_STATE"),
        ),
        (
            "vm-1004",
            "reset",
            400,
            Some("NOT_ALLOWED_IN_CURRENT_STATE"),
        ),
        ("vm-1001", "reset", 204, None),
        ("vm-1001", "suspend", 204, None),
        ("vm-1001", "start", 204, None),
        ("vm-1001", "stop", 204, None),
        ("vm-1004", "stop", 204, None),
        ("vm-1003", "start", 204, None),
    ];
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    for (vm, action, status, error) in table {
        let r = app
            .send(
                Method::POST,
                &format!("/api/vcenter/vm/{vm}/power?action={action}"),
                Some(&sid),
                None,
            )
            .await;
        assert_eq!(r.status.as_u16(), *status, "{vm} {action}: {}", r.text());
        match error {
            Some(e) => assert_eq!(r.error_type(), *e, "{vm} {action}"),
            None => assert!(r.body.is_empty()),
        }
    }
}

#[tokio::test]
async fn power_off_reports_clean_power_off_and_stops_tools() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    assert_eq!(
        app.get("/api/vcenter/vm/vm-1001/power", &sid).await.json(),
        json!({"state": "POWERED_ON"})
    );
    assert_eq!(
        app.get("/api/vcenter/vm/vm-1001/tools", &sid).await.json()["run_state"],
        "RUNNING"
    );
    app.send(
        Method::POST,
        "/api/vcenter/vm/vm-1001/power?action=stop",
        Some(&sid),
        None,
    )
    .await;
    assert_eq!(
        app.get("/api/vcenter/vm/vm-1001/power", &sid).await.json(),
        json!({"state": "POWERED_OFF", "clean_power_off": false})
    );
    assert_eq!(
        app.get("/api/vcenter/vm/vm-1001/tools", &sid).await.json()["run_state"],
        "NOT_RUNNING"
    );
    assert_eq!(
        app.get("/api/vcenter/vm/vm-1003/power", &sid).await.json(),
        json!({"state": "POWERED_OFF", "clean_power_off": true})
    );
    app.send(
        Method::POST,
        "/api/vcenter/vm/vm-1001/power?action=start",
        Some(&sid),
        None,
    )
    .await;
    assert_eq!(
        app.get("/api/vcenter/vm/vm-1001/tools", &sid).await.json()["run_state"],
        "RUNNING"
    );
}

#[tokio::test]
async fn legacy_power_sub_paths_answer_200_empty() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let r = app
        .send(
            Method::POST,
            "/rest/vcenter/vm/vm-1001/power/stop",
            Some(&sid),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.is_empty());
    assert_eq!(
        app.get("/rest/vcenter/vm/vm-1001/power", &sid).await.json()["value"]["state"],
        "POWERED_OFF"
    );
    let again = app
        .send(
            Method::POST,
            "/rest/vcenter/vm/vm-1001/power/stop",
            Some(&sid),
            None,
        )
        .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        again.json()["type"],
        "com.vmware.vapi.std.errors.already_in_desired_state"
    );
}

#[tokio::test]
async fn tools_info_reports_versions_and_run_state() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let v = app.get("/api/vcenter/vm/vm-1001/tools", &sid).await.json();
    assert_eq!(v["run_state"], "RUNNING");
    assert_eq!(v["version_number"], 12352);
    assert_eq!(v["install_type"], "OPEN_VM_TOOLS");
    assert_eq!(v["upgrade_policy"], "MANUAL");
    assert_eq!(v["auto_update_supported"], false);
    assert_eq!(
        app.get("/api/vcenter/vm/vm-1005/tools", &sid).await.json()["run_state"],
        "NOT_RUNNING"
    );
    assert_eq!(
        app.get("/api/vcenter/vm/vm-1006/tools", &sid).await.json()["version_status"],
        "TOO_OLD_UNSUPPORTED"
    );
}

#[tokio::test]
async fn guest_identity_needs_running_tools() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let v = app
        .get("/api/vcenter/vm/vm-1001/guest/identity", &sid)
        .await
        .json();
    assert_eq!(v["family"], "LINUX");
    assert_eq!(v["name"], "UBUNTU_64");
    assert_eq!(v["host_name"], "linux-01");
    assert_eq!(v["full_name"]["default_message"], "Ubuntu Linux (64-bit)");
    let r = app
        .get("/api/vcenter/vm/vm-1005/guest/identity", &sid)
        .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.error_type(), "SERVICE_UNAVAILABLE");
}

#[tokio::test]
async fn guest_power_and_operations_readiness_follow_vm_and_tools_state() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let table: &[(&str, &str, bool, bool)] = &[
        ("vm-1001", "RUNNING", true, true),
        ("vm-1002", "RUNNING", true, true),
        ("vm-1003", "NOT_RUNNING", false, false),
        ("vm-1004", "STANDBY", false, false),
        ("vm-1005", "UNAVAILABLE", false, false),
        ("vm-1006", "RUNNING", true, false),
    ];
    for (vm, state, ops_ready, guest_ops_ready) in table {
        let p = app
            .get(&format!("/api/vcenter/vm/{vm}/guest/power"), &sid)
            .await
            .json();
        assert_eq!(
            p,
            json!({"state": state, "operations_ready": ops_ready}),
            "{vm}"
        );
        let o = app
            .get(&format!("/api/vcenter/vm/{vm}/guest/operations"), &sid)
            .await
            .json();
        assert_eq!(o["guest_operations_ready"], *guest_ops_ready, "{vm}");
        assert!(o.get("interactive_guest_operations_ready").is_some());
    }
}

#[tokio::test]
async fn a_read_only_user_can_read_but_not_power_vms() {
    let app = TestApp::spawn().await;
    let sid = app.login_as(READONLY).await;
    assert_eq!(
        app.get("/api/vcenter/vm", &sid).await.status,
        StatusCode::OK
    );
    let r = app
        .send(
            Method::POST,
            "/api/vcenter/vm/vm-1001/power?action=stop",
            Some(&sid),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.error_type(), "UNAUTHORIZED");
    assert_eq!(
        r.json()["messages"][0]["args"][0],
        "VirtualMachine.Interact.PowerOff"
    );
}

#[tokio::test]
async fn unknown_routes_and_actions_answer_404_in_vapi_shape_even_without_a_session() {
    let app = TestApp::spawn().await;
    for path in [
        "/api/nothing",
        "/api/vcenter/vm/vm-1001/power?action=explode",
        "/api/vcenter/vm/vm-1001/guest/filesystem/files?action=create_temporary",
        "/nothing",
    ] {
        let r = app.send(Method::POST, path, None, None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(r.content_type(), "application/json");
        assert_eq!(
            r.json()["messages"][0]["id"],
            "com.vmware.vapi.rest.httpNotFound",
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_wrong_method_answers_405_in_vapi_shape() {
    let app = TestApp::spawn().await;
    let r = app
        .send(Method::DELETE, "/api/vcenter/vm", None, None)
        .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.content_type(), "application/json");
    assert_eq!(r.error_type(), "INVALID_REQUEST");
}

#[tokio::test]
async fn malformed_json_and_wrong_types_are_invalid_argument() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let list = "/api/vcenter/vm/vm-1001/guest/filesystem/files?action=list";
    let bad_json = app
        .client
        .post(app.url(list))
        .header("vmware-api-session-id", &sid)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let bad_json = TestApp::read(bad_json).await;
    assert_eq!(bad_json.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad_json.error_type(), "INVALID_ARGUMENT");
    let wrong_type = app
        .post(list, &sid, json!({"credentials": root(), "path": 42}))
        .await;
    assert_eq!(wrong_type.status, StatusCode::BAD_REQUEST);
    assert!(
        wrong_type.json()["messages"][0]["default_message"]
            .as_str()
            .unwrap()
            .contains("path")
    );
    let missing = app.post(list, &sid, json!({"path": "/tmp"})).await;
    assert_eq!(missing.error_type(), "INVALID_ARGUMENT");
    let bad_enum = app.post(list, &sid, json!({"credentials": {"interactive_session": false, "type": "PIN", "password": "x"}, "path": "/tmp"})).await;
    assert_eq!(bad_enum.error_type(), "INVALID_ARGUMENT");
}
