//! Robustness: bad input never gets a 5xx, plain text, a hang or a panic; aborted transfers
//! leave the guest as it was; state stays bounded; every route's authentication.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use vcmock::TransferState;

use crate::helpers::*;

/// Sends raw bytes with a content type, with a timeout so a hang fails the test.
async fn raw(
    app: &TestApp,
    method: Method,
    path: &str,
    sid: Option<&str>,
    ct: &str,
    body: Vec<u8>,
) -> Reply {
    let mut rb = app
        .client
        .request(method, app.url(path))
        .header("content-type", ct)
        .body(body)
        .timeout(Duration::from_secs(10));
    if let Some(s) = sid {
        rb = rb.header("vmware-api-session-id", s);
    }
    TestApp::read(rb.send().await.expect("an answer, not a hang or a reset")).await
}

fn assert_vapi_4xx(r: &Reply, what: &str) {
    assert!(
        r.status.is_client_error(),
        "{what}: status {} body {}",
        r.status,
        r.text()
    );
    assert_eq!(r.content_type(), "application/json", "{what}");
    assert!(
        !r.error_type().is_empty(),
        "{what}: not a vAPI error: {}",
        r.text()
    );
}

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
async fn a_client_that_disconnects_halfway_through_an_upload_changes_nothing() {
    let app = TestApp::spawn_with(|b| b.spill_threshold(1 << 20)).await;
    let sid = app.login().await;
    let size: usize = 100 << 20;
    let r = app.transfer(&sid, "vm-1001", json!({"credentials": root(), "spec": {"path": "/etc/hosts", "attributes": {"size": size, "overwrite": true}}})).await;
    let url = app.substitute(r.json().as_str().unwrap());
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(2);
    let client = app.client.clone();
    let u = url.clone();
    let sending = tokio::spawn(async move {
        let stream = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        });
        client
            .put(&u)
            .header("content-length", size.to_string())
            .body(reqwest::Body::wrap_stream(stream))
            .send()
            .await
    });
    for _ in 0..8 {
        tx.send(Ok(vec![b'z'; 1 << 20])).await.unwrap();
    }
    // The client gives up halfway: its body stream fails and the connection goes away.
    tx.send(Err(std::io::Error::other("client gave up")))
        .await
        .unwrap();
    // Whatever the client saw, what matters is the server side below.
    let _ = sending.await.unwrap();
    // Wait for the server to notice and give the token back.
    let mut usable = false;
    for _ in 0..100 {
        if app
            .mock
            .transfers()
            .iter()
            .any(|t| t.state == vcmock::TransferState::Issued)
        {
            usable = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(usable, "the upload URL is usable again");
    assert!(
        app.mock
            .vm("vm-1001")
            .read_file("/etc/hosts")
            .unwrap()
            .unwrap()
            .starts_with(b"127.0.0.1")
    );
    let leftovers: Vec<_> = std::fs::read_dir(app.mock.spill_dir().unwrap())
        .unwrap()
        .collect();
    assert!(
        leftovers.is_empty(),
        "no temporary file is left: {leftovers:?}"
    );
    let listing = app
        .guest(
            &sid,
            "vm-1001",
            "files?action=list",
            json!({"credentials": root(), "path": "/etc"}),
        )
        .await
        .json();
    assert_eq!(listing["total"], 5, "no partial file appeared");
}

#[tokio::test]
async fn a_client_that_disconnects_halfway_through_a_download_leaves_the_file_alone() {
    let app = TestApp::spawn_with(|b| {
        b.vm(vcmock::Vm::linux("vm-big")
            .guest_user("root", "rootpw")
            .large_file("/big", 100 << 20))
    })
    .await;
    let sid = app.login().await;
    let url = app.download_url(&sid, "vm-big", root(), "/big").await;
    let mut resp = app.client.get(&url).send().await.unwrap();
    resp.chunk().await.unwrap();
    drop(resp);
    let (_, used) = app.mock.vm("vm-big").disk().unwrap();
    assert_eq!(used, 100 << 20);
    // The URL was used up when the GET started; the path is free again once the stream ends.
    let mut free = false;
    for _ in 0..100 {
        let r = app
            .guest(
                &sid,
                "vm-big",
                "files/%2Fbig?action=get",
                json!({"credentials": root()}),
            )
            .await;
        if r.status == StatusCode::OK {
            free = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(free);
}

/// What cuts a transfer off while its bytes are moving.
#[derive(Clone, Copy, Debug)]
enum Interruption {
    PowerOff,
    Reset,
    Migrate,
}

const INTERRUPTIONS: [Interruption; 3] = [
    Interruption::PowerOff,
    Interruption::Reset,
    Interruption::Migrate,
];

async fn interrupt(app: &TestApp, sid: &str, vm: &str, how: Interruption) {
    match how {
        Interruption::PowerOff => power(app, sid, vm, "stop").await,
        Interruption::Reset => power(app, sid, vm, "reset").await,
        Interruption::Migrate => app.mock.vm(vm).migrate("host-9").unwrap(),
    }
}

/// Waits (bounded) for the spill directory to be empty; true when it is.
async fn spill_dir_empties(app: &TestApp) -> bool {
    let dir = app.mock.spill_dir().unwrap();
    for _ in 0..100 {
        if std::fs::read_dir(&dir).unwrap().next().is_none() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test]
async fn a_100_mib_upload_cut_off_by_power_off_reset_or_migrate_lands_nothing_and_leaves_no_tempfile()
 {
    const SIZE: usize = 100 << 20;
    // (target, whether it exists before the upload)
    let targets = [("/etc/hosts", true), ("/tmp/new.bin", false)];
    for how in INTERRUPTIONS {
        for (target, existing) in targets {
            let case = format!("{how:?} during an upload to {target}");
            let app = TestApp::spawn_with(|b| b.spill_threshold(1 << 20)).await;
            let sid = app.login().await;
            let parent = if existing { "/etc" } else { "/tmp" };
            let list = json!({"credentials": root(), "path": parent});
            let before = app
                .guest(&sid, "vm-1001", "files?action=list", list.clone())
                .await
                .json();
            let spec = json!({"path": target, "attributes": {"size": SIZE, "overwrite": true}});
            let r = app
                .transfer(
                    &sid,
                    "vm-1001",
                    json!({"credentials": root(), "spec": spec}),
                )
                .await;
            let url = app.substitute(r.json().as_str().unwrap());
            let (tx, sending) = streamed_put(&app, &url, Some(SIZE));
            tx.send(Ok(vec![b'z'; 4 << 20])).await.unwrap();
            wait_for_state(&app, "vm-1001", TransferState::InFlight).await;
            interrupt(&app, &sid, "vm-1001", how).await;
            // The rest of the body, for as long as the server takes it.
            for _ in 0..24 {
                if tx.send(Ok(vec![b'z'; 4 << 20])).await.is_err() {
                    break;
                }
            }
            drop(tx);
            if let Ok(r) = sending.await.unwrap() {
                assert_ne!(
                    r.status(),
                    StatusCode::OK,
                    "{case}: the upload did not land"
                );
            }
            if existing {
                let hosts = app.mock.vm("vm-1001").read_file(target).unwrap().unwrap();
                assert!(
                    hosts.starts_with(b"127.0.0.1") && hosts.len() < 1000,
                    "{case}: the target is unchanged"
                );
            } else {
                assert!(
                    !app.mock.vm("vm-1001").exists(target).unwrap(),
                    "{case}: no partial file"
                );
            }
            assert!(
                spill_dir_empties(&app).await,
                "{case}: the temporary file is removed"
            );
            if !matches!(how, Interruption::PowerOff) {
                let after = app
                    .guest(&sid, "vm-1001", "files?action=list", list)
                    .await
                    .json();
                assert_eq!(after, before, "{case}: the directory is as it was");
            }
        }
    }
}

#[tokio::test]
async fn a_100_mib_download_cut_off_by_power_off_reset_or_migrate_ends_short_and_leaves_the_file() {
    const SIZE: u64 = 100 << 20;
    for how in INTERRUPTIONS {
        let app = TestApp::spawn_with(|b| {
            b.vm(vcmock::Vm::linux("vm-big")
                .guest_user("root", "rootpw")
                .large_file("/big", SIZE))
        })
        .await;
        let sid = app.login().await;
        let url = app.download_url(&sid, "vm-big", root(), "/big").await;
        let mut resp = app.client.get(&url).send().await.unwrap();
        assert_eq!(resp.content_length(), Some(SIZE), "{how:?}");
        let mut received = resp.chunk().await.unwrap().unwrap().len() as u64;
        interrupt(&app, &sid, "vm-big", how).await;
        let cut = loop {
            match resp.chunk().await {
                Ok(Some(c)) => received += c.len() as u64,
                Ok(None) => break false,
                Err(_) => break true,
            }
        };
        assert!(
            cut && received < SIZE,
            "{how:?}: cut off after {received} bytes"
        );
        let vm = app.mock.vm("vm-big");
        assert!(
            vm.exists("/big").unwrap(),
            "{how:?}: the file is still there"
        );
        assert_eq!(vm.disk().unwrap().1, SIZE, "{how:?}: its size is unchanged");
        let again = app.client.get(&url).send().await.unwrap();
        assert_eq!(
            again.status(),
            StatusCode::NOT_FOUND,
            "{how:?}: the URL is gone"
        );
    }
}

#[tokio::test]
async fn transfer_tokens_stay_bounded_as_they_expire_and_are_used() {
    let app = TestApp::spawn().await;
    for round in 0..20 {
        let sid = app.login().await;
        for _ in 0..50 {
            app.download_url(&sid, "vm-1001", root(), "/etc/hosts")
                .await;
        }
        app.clock.advance(Duration::from_secs(601));
        assert!(app.mock.live_transfer_count() <= 50, "round {round}");
    }
    // Used ones leave the live table at once.
    let sid = app.login().await;
    let url = app
        .download_url(&sid, "vm-1001", root(), "/etc/hosts")
        .await;
    app.client
        .get(&url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    app.clock.advance(Duration::from_secs(601));
    app.download_url(&sid, "vm-1001", root(), "/etc/hosts")
        .await;
    assert_eq!(app.mock.live_transfer_count(), 1);
}

#[tokio::test]
async fn a_dropped_server_has_let_go_of_its_files_even_with_an_http2_download_in_flight() {
    const SIZE: usize = 8 << 20;
    for round in 0..10 {
        let app = TestApp::spawn_with(|b| b.spill_threshold(0)).await;
        let sid = app.login().await;
        let r = app.transfer(&sid, "vm-1001", json!({"credentials": root(), "spec": {"path": "/tmp/f", "attributes": {"size": SIZE}}})).await;
        let url = app.substitute(r.json().as_str().unwrap());
        let put = app
            .client
            .put(&url)
            .body(vec![b'f'; SIZE])
            .send()
            .await
            .unwrap();
        assert_eq!(put.status(), StatusCode::OK);
        let url = app.download_url(&sid, "vm-1001", root(), "/tmp/f").await;
        // Started and left unread: hyper serves it from a stream task of its own.
        let download = app.client.get(&url).send().await.unwrap();
        assert_eq!(download.version(), reqwest::Version::HTTP_2);
        let dir = app.mock.spill_dir().unwrap();
        let TestApp { mock, .. } = app;
        tokio::task::spawn_blocking(move || drop(mock))
            .await
            .unwrap();
        assert!(
            !dir.exists(),
            "round {round}: the spill directory is gone when drop returns"
        );
        drop(download);
    }
}

#[tokio::test]
async fn temporary_files_are_removed_on_reset_and_on_shutdown() {
    let app = TestApp::spawn_with(|b| b.spill_threshold(16)).await;
    let sid = app.login().await;
    let data = vec![b'q'; 4096];
    let r = app.transfer(&sid, "vm-1001", json!({"credentials": root(), "spec": {"path": "/tmp/spilled", "attributes": {"size": data.len()}}})).await;
    let url = app.substitute(r.json().as_str().unwrap());
    assert_eq!(
        app.client
            .put(&url)
            .body(data)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let dir = app.mock.spill_dir().unwrap();
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        1,
        "the upload spilled to a file"
    );
    app.send(Method::POST, "/_mock/reset", None, None).await;
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        0,
        "reset removed it"
    );
    drop(app);
    assert!(!dir.exists(), "shutdown removed the spill directory");
}

#[tokio::test]
async fn every_route_needs_its_credential_and_guest_file_only_its_token() {
    let app = TestApp::spawn_with(|b| b.admin_token("adm")).await;
    let sid = app.login().await;
    let table: Vec<(Method, &str, u16)> = vec![
        (Method::GET, "/api/session", 401),
        (Method::DELETE, "/api/session", 401),
        (Method::GET, "/api/vcenter/vm", 401),
        (Method::GET, "/api/vcenter/vm/vm-1001", 401),
        (Method::GET, "/api/vcenter/vm/vm-1001/power", 401),
        (
            Method::POST,
            "/api/vcenter/vm/vm-1001/power?action=start",
            401,
        ),
        (Method::GET, "/api/vcenter/vm/vm-1001/tools", 401),
        (Method::GET, "/api/vcenter/vm/vm-1001/guest/identity", 401),
        (Method::GET, "/api/vcenter/vm/vm-1001/guest/power", 401),
        (Method::GET, "/api/vcenter/vm/vm-1001/guest/operations", 401),
        (
            Method::POST,
            "/api/vcenter/vm/vm-1001/guest/filesystem?action=create",
            401,
        ),
        (Method::GET, "/api/vcenter/vm/vm-1001/guest/filesystem", 401),
        (Method::PUT, "/api/vcenter/vm/vm-1001/guest/filesystem", 401),
        (
            Method::POST,
            "/api/vcenter/vm/vm-1001/guest/filesystem/files?action=createTemporary",
            401,
        ),
        (
            Method::POST,
            "/api/vcenter/vm/vm-1001/guest/filesystem/files?action=list",
            401,
        ),
        (
            Method::POST,
            "/api/vcenter/vm/vm-1001/guest/filesystem/files?action=move",
            401,
        ),
        (
            Method::POST,
            "/api/vcenter/vm/vm-1001/guest/filesystem/files?action=update",
            401,
        ),
        (
            Method::POST,
            "/api/vcenter/vm/vm-1001/guest/filesystem/files/%2Ftmp?action=get",
            401,
        ),
        (
            Method::POST,
            "/api/vcenter/vm/vm-1001/guest/filesystem/files/%2Ftmp?action=delete",
            401,
        ),
        (
            Method::POST,
            "/api/vcenter/vm/vm-1001/guest/filesystem/directories?action=create",
            401,
        ),
        (
            Method::POST,
            "/api/vcenter/vm/vm-1001/guest/filesystem/directories?action=delete",
            401,
        ),
        (
            Method::POST,
            "/api/vcenter/vm/vm-1001/guest/filesystem/directories?action=move",
            401,
        ),
        (
            Method::POST,
            "/api/vcenter/vm/vm-1001/guest/filesystem/directories?action=createTemporary",
            401,
        ),
        (
            Method::POST,
            "/rest/com/vmware/cis/session?~action=get",
            401,
        ),
        (Method::DELETE, "/rest/com/vmware/cis/session", 401),
        (Method::GET, "/rest/vcenter/vm", 401),
        (Method::GET, "/rest/vcenter/vm/vm-1001", 401),
        (Method::GET, "/rest/vcenter/vm/vm-1001/power", 401),
        (Method::POST, "/rest/vcenter/vm/vm-1001/power/stop", 401),
        (Method::GET, "/rest/vcenter/vm/vm-1001/tools", 401),
        (Method::GET, "/rest/vcenter/vm/vm-1001/guest/identity", 401),
        (Method::GET, "/rest/vcenter/vm/vm-1001/guest/power", 401),
        (Method::GET, "/_mock/info", 401),
        (Method::POST, "/_mock/reset", 401),
        (Method::GET, "/_mock/state", 401),
        (Method::POST, "/_mock/state", 401),
        (Method::POST, "/_mock/vms", 401),
        (Method::DELETE, "/_mock/vms/vm-1001", 401),
        (Method::PUT, "/_mock/vms/vm-1001/power", 401),
        (Method::GET, "/_mock/clock", 401),
        (Method::GET, "/_mock/faults", 401),
        (Method::GET, "/_mock/journal", 401),
        (Method::GET, "/_mock/transfers", 401),
        (Method::GET, "/_mock/metrics", 401),
        (Method::GET, "/_mock/errors", 401),
        (Method::GET, "/_mock/health", 200),
        (Method::GET, "/_mock/ready", 200),
        (Method::GET, "/_mock/certificate", 200),
    ];
    for (method, path, status) in table {
        let r = app.send(method.clone(), path, None, Some(json!({}))).await;
        assert_eq!(r.status.as_u16(), status, "{method} {path}: {}", r.text());
        if status != 200 {
            assert_eq!(r.content_type(), "application/json", "{method} {path}");
            let body = r.json();
            let error_type = if path.starts_with("/rest") {
                body["value"]["error_type"].clone()
            } else {
                body["error_type"].clone()
            };
            assert_eq!(error_type, "UNAUTHENTICATED", "{method} {path}");
        }
    }
    // The JSON-RPC endpoint answers in its own shape without a session.
    let rpc = app.client.post(app.url("/api")).json(&json!({"jsonrpc": "2.0", "id": 1, "method": "invoke", "params": {"serviceId": "com.vmware.vcenter.VM", "operationId": "list", "input": {"STRUCTURE": {"operation-input": {}}}, "ctx": {}}})).send().await.unwrap();
    let v: Value = rpc.json().await.unwrap();
    assert!(
        v["result"]["error"]["ERROR"]
            .get("com.vmware.vapi.std.errors.unauthenticated")
            .is_some()
    );
    // /guestFile: the token alone works; a session never stands in for it.
    let url = app
        .download_url(&sid, "vm-1001", root(), "/etc/hosts")
        .await;
    let without_token = url.split("&token=").next().unwrap().to_owned();
    let r = app
        .client
        .get(&without_token)
        .header("vmware-api-session-id", &sid)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        app.client.get(&url).send().await.unwrap().status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn concurrent_transfer_creations_and_moves_on_one_directory_keep_the_tree_consistent() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    for i in 0..128 {
        app.mock
            .vm("vm-1001")
            .put_file(&format!("/tmp/race/f{i:03}"), format!("{i}"))
            .unwrap();
    }
    let mut tasks = Vec::new();
    for i in 0..256 {
        let (client, url, sid) = (
            app.client.clone(),
            app.url("/api/vcenter/vm/vm-1001/guest/filesystem"),
            sid.clone(),
        );
        tasks.push(tokio::spawn(async move {
            if i % 2 == 0 {
                let n = i / 2;
                let body = json!({"credentials": root(), "path": format!("/tmp/race/f{n:03}"), "new_path": format!("/tmp/race/m{n:03}")});
                let r = client.post(format!("{url}/files?action=move")).header("vmware-api-session-id", &sid).json(&body).send().await.unwrap();
                assert_eq!(r.status(), StatusCode::NO_CONTENT);
                None
            } else {
                let n = i / 2;
                let body = json!({"credentials": root(), "spec": {"path": format!("/tmp/race/u{n:03}"), "attributes": {"size": 2}}});
                let r = client.post(format!("{url}?action=create")).header("vmware-api-session-id", &sid).json(&body).send().await.unwrap();
                assert_eq!(r.status(), StatusCode::CREATED);
                let u: String = r.json().await.unwrap();
                Some(u.replacen('*', "127.0.0.1", 1))
            }
        }));
    }
    let mut uploads = Vec::new();
    for t in tasks {
        if let Some(u) = t.await.unwrap() {
            uploads.push(u);
        }
    }
    let mut puts = Vec::new();
    for u in uploads {
        let client = app.client.clone();
        puts.push(tokio::spawn(async move {
            client.put(&u).body("ok").send().await.unwrap().status()
        }));
    }
    for p in puts {
        assert_eq!(p.await.unwrap(), StatusCode::OK);
    }
    let listing = app
        .guest(
            &sid,
            "vm-1001",
            "files?action=list",
            json!({"credentials": root(), "path": "/tmp/race", "iteration": {"size": 1000}}),
        )
        .await
        .json();
    let names: Vec<String> = listing["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["filename"].as_str().unwrap().to_owned())
        .collect();
    let unique: std::collections::BTreeSet<&String> = names.iter().collect();
    assert_eq!(names.len(), 256, "no lost entry");
    assert_eq!(unique.len(), 256, "no duplicate");
    assert!(
        names
            .iter()
            .all(|n| n.starts_with('m') || n.starts_with('u')),
        "every move and upload landed"
    );
    let (cap, used) = app.mock.vm("vm-1001").disk().unwrap();
    assert!(used <= cap);
}
