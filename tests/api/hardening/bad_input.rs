//! Bad input: every malformed request gets a documented vAPI error, never a 5xx, text or a hang.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::*;
use crate::helpers::*;

/// A bad-input case's answer: status, error_type and the first message's id.
type Expected = (u16, &'static str, &'static str);

#[tokio::test]
async fn bad_input_gets_a_documented_vapi_error_never_a_5xx_or_plain_text() {
    // A limit above the largest case below (the 5,000-byte path), far below 1 MiB.
    let app = TestApp::spawn_with(|b| b.body_limit(8192)).await;
    let sid = app.login().await;
    let list = "/api/vcenter/vm/vm-1001/guest/filesystem/files?action=list";
    let ok_creds = root().to_string();
    // 1,500 levels: deeper than serde_json's recursion limit (128), under the body limit.
    let nested = format!("{}1{}", "[".repeat(1_500), "]".repeat(1_500));
    let deep = format!("{{\"credentials\": {ok_creds}, \"path\": {nested}}}");
    let get = |vm: &str, tail: &str| {
        format!("/api/vcenter/vm/{vm}/guest/filesystem/files/{tail}?action=get")
    };
    let json = "application/json";
    let body = |v: Value| v.to_string().into_bytes();
    let linux = || body(json!({"credentials": root()}));
    let windows = || body(json!({"credentials": win_admin()}));
    const INVALID: Expected = (400, "INVALID_ARGUMENT", "vapi.invoke.input.invalid");
    const BAD_PATH: Expected = (400, "INVALID_ARGUMENT", "vcmock.guest.path.invalid");
    let table: Vec<(&str, String, &str, Vec<u8>, Expected)> = vec![
        (
            "malformed JSON",
            list.into(),
            json,
            b"{\"credentials\":".to_vec(),
            INVALID,
        ),
        (
            "wrong JSON type",
            list.into(),
            json,
            body(json!({"credentials": root(), "path": ["/tmp"]})),
            INVALID,
        ),
        (
            "trailing garbage after the JSON value",
            list.into(),
            json,
            format!("{{\"credentials\": {ok_creds}, \"path\": \"/tmp\"}} this is not JSON")
                .into_bytes(),
            INVALID,
        ),
        (
            "two JSON objects one after the other",
            list.into(),
            json,
            format!("{{\"credentials\": {ok_creds}, \"path\": \"/tmp\"}}{{\"path\": \"/\"}}")
                .into_bytes(),
            INVALID,
        ),
        (
            "an array where the schema wants an object",
            list.into(),
            json,
            body(json!({"credentials": root(), "path": "/tmp", "iteration": []})),
            INVALID,
        ),
        (
            "credentials given as an array of their fields",
            list.into(),
            json,
            body(
                json!({"credentials": [false, "USERNAME_PASSWORD", "root", "rootpw"], "path": "/tmp"}),
            ),
            INVALID,
        ),
        (
            "a whole body given as an array",
            "/api/vcenter/vm/vm-1001/guest/filesystem/directories?action=create".into(),
            json,
            body(json!([root(), "/tmp/x", true])),
            INVALID,
        ),
        (
            "unknown enum value",
            list.into(),
            json,
            body(
                json!({"credentials": {"interactive_session": false, "type": "KERBEROS", "password": "x"}, "path": "/tmp"}),
            ),
            INVALID,
        ),
        // vCenter stacks vapi.invoke.input.invalid over the field's own message; the first
        // message is the one vcmock gives.
        (
            "missing required field",
            list.into(),
            json,
            body(json!({"credentials": root()})),
            INVALID,
        ),
        (
            "missing password",
            list.into(),
            json,
            body(
                json!({"credentials": {"interactive_session": false, "type": "USERNAME_PASSWORD", "user_name": "root"}, "path": "/tmp"}),
            ),
            (400, "INVALID_ARGUMENT", "vapi.data.structure.field.missing"),
        ),
        (
            "body above the limit",
            list.into(),
            json,
            vec![b' '; 1 << 20],
            (413, "INVALID_REQUEST", "vcmock.request.body.too_large"),
        ),
        (
            "deep nesting",
            list.into(),
            json,
            deep.into_bytes(),
            INVALID,
        ),
        (
            "non-UTF-8 body",
            list.into(),
            json,
            vec![0x7b, 0xff, 0xfe, 0x7d],
            INVALID,
        ),
        (
            "wrong content type",
            list.into(),
            "text/plain",
            body(json!({"credentials": root(), "path": "/tmp"})),
            INVALID,
        ),
        (
            "NUL in a path",
            list.into(),
            json,
            body(json!({"credentials": root(), "path": "/tmp/\u{0}x"})),
            BAD_PATH,
        ),
        (
            "over-long path",
            list.into(),
            json,
            body(json!({"credentials": root(), "path": format!("/{}", "x".repeat(5000))})),
            (400, "INVALID_ARGUMENT", "vcmock.guest.file.path_too_long"),
        ),
        (
            "relative path",
            list.into(),
            json,
            body(json!({"credentials": root(), "path": "tmp"})),
            BAD_PATH,
        ),
        (
            "non-UTF-8 URL tail",
            get("vm-1001", "%FF%FE"),
            json,
            linux(),
            INVALID,
        ),
        (
            "double-encoded slash",
            get("vm-1001", "%252Fetc%252Fhosts"),
            json,
            linux(),
            BAD_PATH,
        ),
        (
            "UNC path",
            get("vm-1002", "%5C%5Cserver%5Cshare%5Cx"),
            json,
            windows(),
            BAD_PATH,
        ),
        (
            "device path",
            get("vm-1002", "%5C%5C%3F%5CC%3A%5Cx"),
            json,
            windows(),
            BAD_PATH,
        ),
        (
            "drive-relative path",
            get("vm-1002", "C%3Arelative"),
            json,
            windows(),
            BAD_PATH,
        ),
        (
            "a reserved character",
            get("vm-1002", "C%3A%5Ca%3Fb"),
            json,
            windows(),
            BAD_PATH,
        ),
        (
            "negative page size",
            list.into(),
            json,
            body(json!({"credentials": root(), "path": "/tmp", "iteration": {"size": -1}})),
            INVALID,
        ),
        (
            "bad datetime",
            "/api/vcenter/vm/vm-1001/guest/filesystem/files?action=update".into(),
            json,
            body(
                json!({"credentials": root(), "path": "/etc/hosts", "file_attributes": {"last_modified": "yesterday"}}),
            ),
            INVALID,
        ),
        (
            "negative upload size",
            "/api/vcenter/vm/vm-1001/guest/filesystem?action=create".into(),
            json,
            body(
                json!({"credentials": root(), "spec": {"path": "/tmp/x", "attributes": {"size": -5}}}),
            ),
            INVALID,
        ),
    ];
    for (what, path, ct, body, (status, error_type, message_id)) in table {
        let r = raw(&app, Method::POST, &path, Some(&sid), ct, body).await;
        assert_vapi_4xx(&r, what);
        let got = r.json()["messages"][0]["id"].as_str().map(str::to_owned);
        assert_eq!(
            (r.status.as_u16(), r.error_type().as_str(), got.as_deref()),
            (status, error_type, Some(message_id)),
            "{what}: {}",
            r.text()
        );
    }
    // Deep nesting in a member the operation does not read is skipped without recursion.
    let ignored = format!("{{\"credentials\": {ok_creds}, \"path\": \"/tmp\", \"x\": {nested}}}");
    let r = raw(
        &app,
        Method::POST,
        list,
        Some(&sid),
        json,
        ignored.into_bytes(),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "an ignored deep member: {}",
        r.text()
    );
    // JSON-RPC reads the envelope as untyped JSON: the recursion limit gives a parse error.
    let rpc = format!(
        "{{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": \"invoke\", \"params\": {nested}}}"
    );
    let r = raw(&app, Method::POST, "/api", None, json, rpc.into_bytes()).await;
    assert_eq!(r.status, StatusCode::OK, "JSON-RPC errors travel in a 200");
    assert_eq!(r.json()["error"]["code"], -32700, "{}", r.text());
    // `..` resolves inside the guest, and a double-encoded slash is a name, not a separator.
    let dotdot = raw(
        &app,
        Method::POST,
        "/api/vcenter/vm/vm-1001/guest/filesystem/files/%2F..%2F..%2Fetc%2Fhosts?action=get",
        Some(&sid),
        "application/json",
        json!({"credentials": root()}).to_string().into_bytes(),
    )
    .await;
    assert_eq!(dotdot.status, StatusCode::OK);
    assert_eq!(
        app.get("/_mock/health", &sid).await.status,
        StatusCode::OK,
        "still serving"
    );
}

#[tokio::test]
async fn guest_file_with_missing_duplicated_or_malformed_parameters_is_a_vapi_400() {
    let app = TestApp::spawn().await;
    for q in [
        "",
        "?id=1",
        "?token=t",
        "?id=1&id=2&token=t",
        "?id=1&token=a&token=b",
        "?id=-1&token=t",
        "?id=1e3&token=t",
        "?id=99999999999999999999999&token=t",
    ] {
        for method in [Method::GET, Method::PUT] {
            let r = raw(
                &app,
                method.clone(),
                &format!("/guestFile{q}"),
                None,
                "application/octet-stream",
                Vec::new(),
            )
            .await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{method} {q}");
            assert_vapi_4xx(&r, q);
        }
    }
}

#[tokio::test]
async fn a_file_time_outside_the_range_times_may_take_is_refused_and_nothing_panics_later() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    for t in [
        "9999-12-31T23:59:59-23:59",
        "0000-01-01T00:00:00+23:59",
        "9999-06-01T00:00:00Z",
    ] {
        let r = app
            .guest(
                &sid,
                "vm-1001",
                "files?action=update",
                json!({"credentials": root(), "path": "/etc/hosts", "file_attributes": {"last_modified": t}}),
            )
            .await;
        assert_eq!(
            (
                r.status.as_u16(),
                r.error_type().as_str(),
                r.json()["messages"][0]["id"].as_str()
            ),
            (400, "INVALID_ARGUMENT", Some("vapi.invoke.input.invalid")),
            "{t}: {}",
            r.text()
        );
    }
    let listing = app
        .guest(
            &sid,
            "vm-1001",
            "files?action=list",
            json!({"credentials": root(), "path": "/etc"}),
        )
        .await;
    assert_eq!(listing.status, StatusCode::OK);
    let fixture = r#"{"format": "vcmock-fixture/v1", "vms": [{"id": "vm-1", "name": "a", "guest_family": "linux", "power_state": "POWERED_ON", "files": [{"path": "/a", "content": "x", "modified": "9999-12-31T23:59:59-23:59"}]}]}"#;
    let e = vcmock::Fixture::from_json(fixture, "t.json").unwrap_err();
    assert_eq!(e.location, "vms[0].files[0].modified", "{e}");
}
