//! Refusals: /guestFile input, every documented create error and their order, and the admin
//! listing.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::*;
use crate::helpers::*;

#[tokio::test]
async fn guest_file_needs_its_token_and_no_session() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let url = url_for(&app, &sid, "vm-1001", root(), download_spec("/etc/hosts")).await;
    let base = url.split('?').next().unwrap().to_owned();
    let id = url
        .split("id=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_owned();
    let token = url.split("token=").nth(1).unwrap().to_owned();
    let table: Vec<(String, u16, &str)> = vec![
        (base.clone(), 400, "INVALID_ARGUMENT"),
        (format!("{base}?id={id}"), 400, "INVALID_ARGUMENT"),
        (format!("{base}?token={token}"), 400, "INVALID_ARGUMENT"),
        (
            format!("{base}?id=x&token={token}"),
            400,
            "INVALID_ARGUMENT",
        ),
        (
            format!("{base}?id=-1&token={token}"),
            400,
            "INVALID_ARGUMENT",
        ),
        (
            format!("{base}?id={id}&id={id}&token={token}"),
            400,
            "INVALID_ARGUMENT",
        ),
        (
            format!("{base}?id={id}&token={token}&token={token}"),
            400,
            "INVALID_ARGUMENT",
        ),
        (format!("{base}?id={id}&token=wrong"), 404, "NOT_FOUND"),
        (format!("{base}?id={id}&token="), 404, "NOT_FOUND"),
        (format!("{base}?id=999&token={token}"), 404, "NOT_FOUND"),
    ];
    for (u, status, error_type) in table {
        // A session header is no substitute for the token.
        let r = TestApp::read(
            app.client
                .get(&u)
                .header("vmware-api-session-id", &sid)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(r.status.as_u16(), status, "{u}");
        assert_eq!(r.content_type(), "application/json", "{u}");
        assert_eq!(r.error_type(), error_type, "{u}: {}", r.text());
        assert!(r.json()["messages"][0]["id"].is_string(), "{u}");
        if status == 404 {
            assert_eq!(reason(&r), "unknown", "{u}");
        }
    }
    let r = TestApp::read(app.client.get(&url).send().await.unwrap()).await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "the token alone is enough and was not consumed by refused tries"
    );
}

// ----------------------------------------------------------------- create errors

/// A setup for a create-error row.
struct CreateCase {
    what: &'static str,
    vm: &'static str,
    session: &'static str,
    creds: Value,
    spec: Value,
    status: u16,
    error_type: &'static str,
    data: Option<(&'static str, &'static str)>,
}

fn case(
    what: &'static str,
    vm: &'static str,
    creds: Value,
    spec: Value,
    (status, error_type): (u16, &'static str),
    data: Option<(&'static str, &'static str)>,
) -> CreateCase {
    CreateCase {
        what,
        vm,
        session: "admin",
        creds,
        spec,
        status,
        error_type,
        data,
    }
}

#[tokio::test]
async fn every_documented_create_error_is_answered() {
    let app = TestApp::spawn_with(|b| {
        b.vm(vcmock::Vm::linux("vm-77")
            .guest_user("root", "rootpw")
            .guest_operations_disabled())
            .vm(vcmock::Vm::linux("vm-small")
                .guest_user("root", "rootpw")
                .disk_capacity(1000))
    })
    .await;
    let admin = app.login().await;
    let ro = app.login_as(READONLY).await;
    let dl = download_spec;
    let long = format!("/tmp/{}", "x".repeat(300));
    const BAD: (u16, &str) = (400, "INVALID_ARGUMENT");
    let mut cases = vec![
        case(
            "a directory is not a file",
            "vm-1001",
            root(),
            dl("/etc"),
            BAD,
            Some(("NOT_A_FILE", "/etc")),
        ),
        case(
            "a Windows directory is not a file",
            "vm-1002",
            win_admin(),
            dl("C:\\Temp"),
            BAD,
            Some(("NOT_A_FILE", "C:\\Temp")),
        ),
        case(
            "a symlink is not a file",
            "vm-1001",
            root(),
            dl("/usr/bin/sh"),
            BAD,
            Some(("NOT_A_FILE", "/usr/bin/sh")),
        ),
        case(
            "an upload onto a directory",
            "vm-1001",
            root(),
            upload_spec("/tmp", 1, json!({"overwrite": true})),
            BAD,
            Some(("NOT_A_FILE", "/tmp")),
        ),
        case(
            "the path is too long",
            "vm-1001",
            root(),
            dl(&long),
            BAD,
            Some(("PATH_TOO_LONG", "LONG")),
        ),
        case(
            "the file to download is not found",
            "vm-1001",
            root(),
            dl("/tmp/none"),
            (404, "NOT_FOUND"),
            Some(("FILE_NOT_FOUND", "/tmp/none")),
        ),
        case(
            "the upload's parent is not found",
            "vm-1001",
            root(),
            upload_spec("/nope/x", 1, json!({})),
            (404, "NOT_FOUND"),
            Some(("FILE_NOT_FOUND", "/nope")),
        ),
        case(
            "the upload target exists",
            "vm-1001",
            root(),
            upload_spec("/etc/hosts", 1, json!({})),
            (400, "ALREADY_EXISTS"),
            None,
        ),
        case(
            "no space for the upload",
            "vm-small",
            root(),
            upload_spec("/tmp/big", 5000, json!({})),
            (500, "UNABLE_TO_ALLOCATE_RESOURCE"),
            Some(("NO_DISK_SPACE", "/tmp/big")),
        ),
        case(
            "attributes without size",
            "vm-1001",
            root(),
            json!({"spec": {"path": "/tmp/a", "attributes": {"overwrite": true}}}),
            BAD,
            None,
        ),
        case(
            "a negative size",
            "vm-1001",
            root(),
            upload_spec("/tmp/a", 0, json!({"size": -1})),
            BAD,
            None,
        ),
        case(
            "windows attributes on a POSIX guest",
            "vm-1001",
            root(),
            upload_spec("/tmp/w", 1, json!({"windows": {"hidden": true}})),
            BAD,
            None,
        ),
        case(
            "posix attributes on a Windows guest",
            "vm-1002",
            win_admin(),
            upload_spec("C:\\Temp\\p", 1, json!({"posix": {"permissions": "600"}})),
            BAD,
            None,
        ),
        case(
            "the VM is not found",
            "vm-9999",
            root(),
            dl("/etc/hosts"),
            (404, "NOT_FOUND"),
            None,
        ),
        case(
            "the VM is powered off",
            "vm-1003",
            root(),
            dl("/etc/hostname"),
            (400, "NOT_ALLOWED_IN_CURRENT_STATE"),
            None,
        ),
        case(
            "the VM is suspended",
            "vm-1004",
            root(),
            dl("/etc/hostname"),
            (400, "NOT_ALLOWED_IN_CURRENT_STATE"),
            None,
        ),
        case(
            "Tools are not running",
            "vm-1005",
            root(),
            dl("/etc/hostname"),
            (503, "SERVICE_UNAVAILABLE"),
            None,
        ),
        case(
            "Tools are too old",
            "vm-1006",
            root(),
            dl("/etc/hostname"),
            (400, "UNSUPPORTED"),
            None,
        ),
        case(
            "guest operations are disabled",
            "vm-77",
            root(),
            dl("/etc/hosts"),
            (400, "UNSUPPORTED"),
            None,
        ),
        case(
            "the guest password is wrong",
            "vm-1001",
            creds("root", "no"),
            dl("/etc/hosts"),
            (401, "UNAUTHENTICATED"),
            None,
        ),
        case(
            "the guest user is unknown",
            "vm-1002",
            creds("mallory", "x"),
            dl("C:\\Temp\\setup.log"),
            (401, "UNAUTHENTICATED"),
            None,
        ),
        case(
            "the guest user may not read root's file",
            "vm-1001",
            alice(),
            dl("/root/secret.txt"),
            (403, "UNAUTHORIZED"),
            None,
        ),
        case(
            "the guest user may not read /etc/shadow",
            "vm-1001",
            alice(),
            dl("/etc/shadow"),
            (403, "UNAUTHORIZED"),
            None,
        ),
        case(
            "the guest user may not write there",
            "vm-1001",
            alice(),
            upload_spec("/etc/new", 1, json!({})),
            (403, "UNAUTHORIZED"),
            None,
        ),
        case(
            "a Windows ACL keeps bob out",
            "vm-1002",
            bob(),
            dl("C:\\Windows\\System32\\drivers\\etc\\hosts"),
            (403, "UNAUTHORIZED"),
            None,
        ),
        case(
            "credentials are missing",
            "vm-1001",
            Value::Null,
            dl("/etc/hosts"),
            BAD,
            None,
        ),
        case(
            "the spec is missing",
            "vm-1001",
            root(),
            json!({}),
            BAD,
            None,
        ),
    ];
    cases.push(CreateCase {
        session: "readonly",
        ..case(
            "the vCenter user lacks the privilege",
            "vm-1001",
            root(),
            dl("/etc/hosts"),
            (403, "UNAUTHORIZED"),
            None,
        )
    });
    for c in cases {
        let sid = if c.session == "admin" { &admin } else { &ro };
        let mut body = c.spec.clone();
        if !c.creds.is_null() {
            body["credentials"] = c.creds.clone();
        }
        let r = app.transfer(sid, c.vm, body).await;
        assert_eq!(r.status.as_u16(), c.status, "{}: {}", c.what, r.text());
        assert_eq!(r.error_type(), c.error_type, "{}", c.what);
        assert!(r.json()["messages"][0]["id"].is_string(), "{}", c.what);
        let data = r.json()["data"].clone();
        match c.data {
            None => assert!(data.is_null(), "{}: {data}", c.what),
            Some((reason, path)) => {
                assert_eq!(data["reason"], reason, "{}", c.what);
                if path != "LONG" {
                    assert_eq!(data["file_path"], path, "{}", c.what);
                }
            }
        }
    }
    assert_eq!(
        app.mock.transfers().len(),
        0,
        "no refused create issued a URL"
    );
}

#[tokio::test]
async fn a_busy_vm_refuses_transfers_with_resource_busy() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    app.mock.vm("vm-1001").set_busy(true).unwrap();
    let r = create(&app, &sid, "vm-1001", root(), download_spec("/etc/hosts")).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(r.error_type(), "RESOURCE_BUSY");
    app.mock.vm("vm-1001").set_busy(false).unwrap();
    let r = create(&app, &sid, "vm-1001", root(), download_spec("/etc/hosts")).await;
    assert_eq!(r.status, StatusCode::CREATED);
}

#[tokio::test]
async fn create_checks_run_in_vcenters_order() {
    let app = TestApp::spawn().await;
    let admin = app.login().await;
    let ro = app.login_as(READONLY).await;
    app.mock.vm("vm-1002").set_busy(true).unwrap();
    let bad = || creds("root", "wrong");
    // Each row breaks two rules; the earlier check in vCenter's order answers.
    let rows: Vec<(&str, &str, &str, Value, Value, &str)> = vec![
        (
            "VM missing before credentials",
            "vm-9999",
            "admin",
            bad(),
            download_spec("/none"),
            "NOT_FOUND",
        ),
        (
            "powered off before credentials",
            "vm-1003",
            "admin",
            bad(),
            download_spec("/none"),
            "NOT_ALLOWED_IN_CURRENT_STATE",
        ),
        (
            "Tools not running before credentials",
            "vm-1005",
            "admin",
            bad(),
            download_spec("/none"),
            "SERVICE_UNAVAILABLE",
        ),
        (
            "Tools too old before credentials",
            "vm-1006",
            "admin",
            bad(),
            download_spec("/none"),
            "UNSUPPORTED",
        ),
        (
            "the privilege before the power state and credentials",
            "vm-1003",
            "readonly",
            bad(),
            download_spec("/etc/hosts"),
            "UNAUTHORIZED",
        ),
        (
            "guest credentials before the path",
            "vm-1001",
            "admin",
            bad(),
            download_spec("/none"),
            "UNAUTHENTICATED",
        ),
        (
            "the privilege before the path",
            "vm-1001",
            "readonly",
            root(),
            download_spec("/none"),
            "UNAUTHORIZED",
        ),
        (
            "busy before the path",
            "vm-1002",
            "admin",
            win_admin(),
            download_spec("C:\\none"),
            "RESOURCE_BUSY",
        ),
        (
            "not a file before the size",
            "vm-1001",
            "admin",
            root(),
            json!({"spec": {"path": "/etc", "attributes": {"size": 1, "windows": {}}}}),
            "INVALID_ARGUMENT",
        ),
    ];
    for (what, vm, session, c, spec, error_type) in rows {
        let sid = if session == "admin" { &admin } else { &ro };
        let r = create(&app, sid, vm, c, spec).await;
        assert_eq!(r.error_type(), error_type, "{what}: {}", r.text());
    }
}

// ----------------------------------------------------------------- inspection

#[tokio::test]
async fn the_admin_api_lists_transfers_with_their_state_and_reason() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let used = url_for(&app, &sid, "vm-1001", root(), download_spec("/etc/hosts")).await;
    fetch(&app, &used).await;
    url_for(
        &app,
        &sid,
        "vm-1002",
        bob(),
        download_spec("C:\\Temp\\setup.log"),
    )
    .await;
    url_for(&app, &sid, "vm-1001", root(), download_spec("/etc/hosts")).await;
    app.mock.vm("vm-1001").power_off().unwrap();
    let list: Value = app
        .client
        .get(app.url("/_mock/transfers"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let states: Vec<(String, String)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["vm"].as_str().unwrap().to_owned(),
                t["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        states.contains(&("vm-1002".into(), "issued".into())),
        "{list}"
    );
    assert!(
        states.contains(&("vm-1001".into(), "redeemed".into())),
        "{list}"
    );
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|t| t["state"] == "revoked" && t["reason"] == "powered off"),
        "{list}"
    );
    assert!(!list.to_string().contains("rootpw"));
}
