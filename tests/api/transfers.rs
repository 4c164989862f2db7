//! Transfers: `*`-hosted URLs that work once, for 10 minutes, and die with a power change;
//! `/guestFile` downloads and uploads; the preview forms; every documented create error.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

fn upload_spec(path: &str, size: usize, extra: Value) -> Value {
    let mut attributes = json!({"size": size});
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        attributes[k] = v;
    }
    json!({"spec": {"path": path, "attributes": attributes}})
}

async fn create(app: &TestApp, sid: &str, vm: &str, c: Value, spec: Value) -> Reply {
    let mut body = spec;
    body["credentials"] = c;
    app.transfer(sid, vm, body).await
}

async fn url_for(app: &TestApp, sid: &str, vm: &str, c: Value, spec: Value) -> String {
    let r = create(app, sid, vm, c, spec).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.content_type(), "application/json");
    app.substitute(r.json().as_str().unwrap())
}

async fn put(app: &TestApp, url: &str, body: Vec<u8>) -> Reply {
    TestApp::read(
        app.client
            .put(url)
            .header("content-type", "application/octet-stream")
            .body(body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn fetch(app: &TestApp, url: &str) -> Reply {
    TestApp::read(app.client.get(url).send().await.unwrap()).await
}

#[tokio::test]
async fn a_download_returns_the_file_with_its_length_and_octet_stream_type() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    for (vm, c, path, expected) in [
        ("vm-1001", root(), "/etc/hostname", b"linux-01\n".to_vec()),
        (
            "vm-1002",
            bob(),
            "C:\\Users\\bob\\Documents\\report.txt",
            b"Quarterly report\r\nAll systems nominal.\r\n".to_vec(),
        ),
    ] {
        let url = url_for(&app, &sid, vm, c, json!({"spec": {"path": path}})).await;
        let r = fetch(&app, &url).await;
        assert_eq!(r.status, StatusCode::OK, "{vm}");
        assert_eq!(r.body, expected, "{vm}");
        assert_eq!(r.content_type(), "application/octet-stream");
        assert_eq!(
            r.headers["content-length"],
            expected.len().to_string().as_str()
        );
    }
}

#[tokio::test]
async fn an_upload_lands_the_file_with_the_declared_attributes_on_linux() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let content = b"new content\n".to_vec();
    let spec = upload_spec(
        "/tmp/up.txt",
        content.len(),
        json!({
        "last_modified": "2022-02-02T02:02:02Z",
        "posix": {"owner_id": 1000, "group_id": 1000, "permissions": "0640"}}),
    );
    let url = url_for(&app, &sid, "vm-1001", root(), spec).await;
    let r = put(&app, &url, content.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        app.vc
            .vm("vm-1001")
            .read_file("/tmp/up.txt")
            .unwrap()
            .unwrap(),
        content
    );
    let back = url_for(
        &app,
        &sid,
        "vm-1001",
        root(),
        json!({"spec": {"path": "/tmp/up.txt"}}),
    )
    .await;
    assert_eq!(fetch(&app, &back).await.body, content);
    let info = app
        .guest(
            &sid,
            "vm-1001",
            "files/%2Ftmp%2Fup.txt?action=get",
            json!({"credentials": root()}),
        )
        .await
        .json();
    assert_eq!(
        info["attributes"]["posix_attributes"],
        json!({"owner": 1000, "group": 1000, "permissions": "640"})
    );
    assert_eq!(
        info["attributes"]["last_modified"],
        "2022-02-02T02:02:02.000Z"
    );
}

#[tokio::test]
async fn an_upload_lands_the_file_with_windows_attributes() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let spec = upload_spec(
        "C:\\Temp\\new.bin",
        3,
        json!({"windows": {"hidden": true, "read_only": true}}),
    );
    let url = url_for(&app, &sid, "vm-1002", win_admin(), spec).await;
    assert_eq!(put(&app, &url, vec![0, 1, 2]).await.status, StatusCode::OK);
    let info = app
        .guest(
            &sid,
            "vm-1002",
            "files/C%3A%5CTemp%5Cnew.bin?action=get",
            json!({"credentials": win_admin()}),
        )
        .await
        .json();
    assert_eq!(info["attributes"]["win_attributes"]["hidden"], true);
    assert_eq!(info["attributes"]["win_attributes"]["read_only"], true);
    assert_eq!(
        app.vc
            .vm("vm-1002")
            .read_file("c:/temp/NEW.bin")
            .unwrap()
            .unwrap(),
        vec![0, 1, 2]
    );
}

#[tokio::test]
async fn second_get_of_a_download_url_is_refused() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let url = url_for(
        &app,
        &sid,
        "vm-1001",
        root(),
        json!({"spec": {"path": "/etc/hosts"}}),
    )
    .await;
    assert_eq!(fetch(&app, &url).await.status, StatusCode::OK);
    let again = fetch(&app, &url).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert_eq!(again.error_type(), "NOT_FOUND");
    assert_eq!(again.json()["messages"][0]["args"][0], "used");
}

#[tokio::test]
async fn an_upload_url_works_once() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let url = url_for(
        &app,
        &sid,
        "vm-1001",
        root(),
        upload_spec("/tmp/once", 2, json!({"overwrite": true})),
    )
    .await;
    assert_eq!(put(&app, &url, b"ab".to_vec()).await.status, StatusCode::OK);
    assert_eq!(
        put(&app, &url, b"cd".to_vec()).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.vc
            .vm("vm-1001")
            .read_file("/tmp/once")
            .unwrap()
            .unwrap(),
        b"ab"
    );
}

#[tokio::test]
async fn of_256_concurrent_gets_of_one_url_exactly_one_succeeds() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let url = url_for(
        &app,
        &sid,
        "vm-1001",
        root(),
        json!({"spec": {"path": "/etc/hosts"}}),
    )
    .await;
    let mut tasks = Vec::new();
    for _ in 0..256 {
        let client = app.client.clone();
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            client.get(&url).send().await.map(|r| r.status())
        }));
    }
    let mut ok = 0;
    let mut refused = 0;
    for t in tasks {
        match t.await.unwrap().unwrap() {
            StatusCode::OK => ok += 1,
            StatusCode::NOT_FOUND => refused += 1,
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!((ok, refused), (1, 255));
}

#[tokio::test]
async fn a_url_is_valid_until_just_before_ten_minutes_and_refused_at_ten_minutes() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let early = url_for(
        &app,
        &sid,
        "vm-1001",
        root(),
        json!({"spec": {"path": "/etc/hosts"}}),
    )
    .await;
    let late = url_for(
        &app,
        &sid,
        "vm-1001",
        root(),
        json!({"spec": {"path": "/etc/hosts"}}),
    )
    .await;
    app.clock.advance(Duration::from_millis(599_999));
    assert_eq!(
        fetch(&app, &early).await.status,
        StatusCode::OK,
        "valid at 599.999 s"
    );
    app.clock.advance(Duration::from_millis(1));
    let r = fetch(&app, &late).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "invalid at 600 s");
    assert_eq!(r.json()["messages"][0]["args"][0], "expired");
}

#[tokio::test]
async fn power_off_suspend_and_reset_revoke_outstanding_urls() {
    for action in ["stop", "suspend", "reset"] {
        let app = TestApp::spawn().await;
        let sid = app.login().await;
        let down = url_for(
            &app,
            &sid,
            "vm-1001",
            root(),
            json!({"spec": {"path": "/etc/hosts"}}),
        )
        .await;
        let up = url_for(
            &app,
            &sid,
            "vm-1001",
            root(),
            upload_spec("/tmp/x", 1, json!({})),
        )
        .await;
        let r = app
            .send(
                Method::POST,
                &format!("/api/vcenter/vm/vm-1001/power?action={action}"),
                Some(&sid),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
        for url in [&down, &up] {
            let r = if url == &down {
                fetch(&app, url).await
            } else {
                put(&app, url, b"x".to_vec()).await
            };
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{action}");
            assert_eq!(r.json()["messages"][0]["args"][0], "revoked", "{action}");
        }
    }
}

#[tokio::test]
async fn migrate_and_unregister_revoke_outstanding_urls() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let a = url_for(
        &app,
        &sid,
        "vm-1001",
        root(),
        json!({"spec": {"path": "/etc/hosts"}}),
    )
    .await;
    app.vc.vm("vm-1001").migrate("host-99").unwrap();
    assert_eq!(
        fetch(&app, &a).await.json()["messages"][0]["args"][0],
        "revoked"
    );
    let b = url_for(
        &app,
        &sid,
        "vm-1002",
        bob(),
        json!({"spec": {"path": "C:\\Temp\\setup.log"}}),
    )
    .await;
    app.vc.vm("vm-1002").unregister().unwrap();
    assert_eq!(fetch(&app, &b).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_download_in_flight_is_cut_off_when_the_vm_powers_off() {
    let app = TestApp::spawn_with(|b| {
        b.vm(vcmock::Vm::linux("vm-big")
            .guest_user("root", "rootpw")
            .large_file("/data/big.bin", 64 << 20))
    })
    .await;
    let sid = app.login().await;
    let url = url_for(
        &app,
        &sid,
        "vm-big",
        root(),
        json!({"spec": {"path": "/data/big.bin"}}),
    )
    .await;
    let mut resp = app.client.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let mut received = resp.chunk().await.unwrap().unwrap().len();
    app.vc.vm("vm-big").power_off().unwrap();
    let cut = loop {
        match resp.chunk().await {
            Ok(Some(c)) => received += c.len(),
            Ok(None) => break false,
            Err(_) => break true,
        }
    };
    assert!(cut, "the body ended with an error");
    assert!(received < 64 << 20, "received {received} bytes of 64 MiB");
}

#[tokio::test]
async fn an_upload_in_flight_is_discarded_when_the_vm_powers_off() {
    let app = TestApp::spawn_with(|b| b.spill_threshold(1 << 20)).await;
    let sid = app.login().await;
    let size = 4 << 20;
    let url = url_for(
        &app,
        &sid,
        "vm-1001",
        root(),
        upload_spec("/etc/hosts", size, json!({"overwrite": true})),
    )
    .await;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let body = reqwest::Body::wrap_stream(tokio_stream_from(rx));
    let client = app.client.clone();
    let sending = tokio::spawn(async move {
        client
            .put(&url)
            .header("content-length", size.to_string())
            .body(body)
            .send()
            .await
    });
    tx.send(Ok(vec![b'a'; 1 << 20])).await.unwrap();
    // Wait until the server holds the path (the upload is in flight), then power off.
    for _ in 0..200 {
        if app
            .vc
            .transfers()
            .iter()
            .any(|t| t.state == vcmock::model::transfer::TransferState::InFlight)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    app.vc.vm("vm-1001").power_off().unwrap();
    for _ in 0..3 {
        if tx.send(Ok(vec![b'b'; 1 << 20])).await.is_err() {
            break;
        }
    }
    drop(tx);
    let outcome = sending.await.unwrap();
    assert!(
        outcome
            .map(|r| r.status() != StatusCode::OK)
            .unwrap_or(true),
        "the upload did not succeed"
    );
    let hosts = app
        .vc
        .vm("vm-1001")
        .read_file("/etc/hosts")
        .unwrap()
        .unwrap();
    assert!(hosts.starts_with(b"127.0.0.1"), "the target is unchanged");
}

/// A stream over an mpsc receiver (reqwest's wrap_stream wants a Stream).
fn tokio_stream_from(
    mut rx: tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

#[tokio::test]
async fn an_upload_of_the_wrong_length_changes_nothing_and_keeps_the_url_usable() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let url = url_for(
        &app,
        &sid,
        "vm-1001",
        root(),
        upload_spec("/etc/motd", 5, json!({"overwrite": true})),
    )
    .await;
    for body in [b"1234".to_vec(), b"123456".to_vec()] {
        let r = put(&app, &url, body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert_eq!(r.error_type(), "INVALID_ARGUMENT");
    }
    assert_eq!(
        app.vc
            .vm("vm-1001")
            .read_file("/etc/motd")
            .unwrap()
            .unwrap(),
        b"Welcome to linux-01, a vcmock guest.\n"
    );
    assert_eq!(
        put(&app, &url, b"12345".to_vec()).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_empty_upload_answers_500_as_esxi_does() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let url = url_for(
        &app,
        &sid,
        "vm-1001",
        root(),
        upload_spec("/tmp/empty", 0, json!({})),
    )
    .await;
    let r = put(&app, &url, Vec::new()).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(r.error_type(), "ERROR");
}

#[tokio::test]
async fn the_wrong_method_is_refused_with_405_and_the_url_stays_valid() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let url = url_for(
        &app,
        &sid,
        "vm-1001",
        root(),
        json!({"spec": {"path": "/etc/hosts"}}),
    )
    .await;
    let r = put(&app, &url, b"x".to_vec()).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(fetch(&app, &url).await.status, StatusCode::OK);
}

#[tokio::test]
async fn overwrite_replaces_an_existing_file_and_its_absence_refuses_at_create() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    for extra in [json!({}), json!({"overwrite": false})] {
        let r = create(
            &app,
            &sid,
            "vm-1001",
            root(),
            upload_spec("/etc/hosts", 1, extra),
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert_eq!(r.error_type(), "ALREADY_EXISTS");
    }
    let url = url_for(
        &app,
        &sid,
        "vm-1001",
        root(),
        upload_spec("/etc/hosts", 3, json!({"overwrite": true})),
    )
    .await;
    assert_eq!(
        put(&app, &url, b"new".to_vec()).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.vc
            .vm("vm-1001")
            .read_file("/etc/hosts")
            .unwrap()
            .unwrap(),
        b"new"
    );
}

#[tokio::test]
async fn the_url_carries_the_port_the_client_called() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let port = app.vc.address().port();
    let r = create(
        &app,
        &sid,
        "vm-1001",
        root(),
        json!({"spec": {"path": "/etc/hosts"}}),
    )
    .await;
    let url = r.json().as_str().unwrap().to_owned();
    assert!(
        url.starts_with(&format!("https://*:{port}/guestFile?id=")),
        "{url}"
    );
    assert!(url.contains("&token="));
    // Behind a port mapping the Host header names another port (HTTP/1.1 to send it as is).
    let h1 = reqwest::Client::builder()
        .use_rustls_tls()
        .http1_only()
        .add_root_certificate(
            reqwest::Certificate::from_pem(app.vc.certificate_pem().unwrap().as_bytes()).unwrap(),
        )
        .build()
        .unwrap();
    let body = json!({"credentials": root(), "spec": {"path": "/etc/hosts"}});
    for (host, prefix) in [
        ("localhost:18443", "https://*:18443/guestFile?"),
        ("localhost", "https://*/guestFile?"),
        ("[::1]:9999", "https://*:9999/guestFile?"),
    ] {
        let r = h1
            .post(app.url("/api/vcenter/vm/vm-1001/guest/filesystem?action=create"))
            .header("host", host)
            .header("vmware-api-session-id", &sid)
            .json(&body)
            .send()
            .await
            .unwrap();
        let url: String = r.json().await.unwrap();
        assert!(url.starts_with(prefix), "Host {host}: {url}");
    }
}

#[tokio::test]
async fn the_transfer_host_option_replaces_the_star() {
    for (host, expected) in [
        ("files.example", "https://files.example:PORT/guestFile?"),
        (
            "files.example:9443",
            "https://files.example:9443/guestFile?",
        ),
    ] {
        let app = TestApp::spawn_with(|b| b.transfer_host(host)).await;
        let sid = app.login().await;
        let r = create(
            &app,
            &sid,
            "vm-1001",
            root(),
            json!({"spec": {"path": "/etc/hosts"}}),
        )
        .await;
        let expected = expected.replace("PORT", &app.vc.address().port().to_string());
        assert!(
            r.json().as_str().unwrap().starts_with(&expected),
            "{}",
            r.text()
        );
    }
}

#[tokio::test]
async fn with_tls_off_urls_use_http_and_work() {
    let app = TestApp::spawn_with(|b| b.tls(false)).await;
    let sid = app.login().await;
    let r = create(
        &app,
        &sid,
        "vm-1001",
        root(),
        json!({"spec": {"path": "/etc/hostname"}}),
    )
    .await;
    let url = r.json().as_str().unwrap().to_owned();
    assert!(url.starts_with("http://*:"), "{url}");
    assert_eq!(fetch(&app, &app.substitute(&url)).await.body, b"linux-01\n");
}

#[tokio::test]
async fn the_preview_get_and_put_forms_hand_out_working_urls() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let get = app
        .send(
            Method::GET,
            "/api/vcenter/vm/vm-1001/guest/filesystem",
            Some(&sid),
            Some(json!({"path": "/etc/hostname", "credentials": root()})),
        )
        .await;
    assert_eq!(get.status, StatusCode::OK, "{}", get.text());
    assert_eq!(
        fetch(&app, &app.substitute(get.json().as_str().unwrap()))
            .await
            .body,
        b"linux-01\n"
    );
    let putr = app
        .send(
            Method::PUT,
            "/api/vcenter/vm/vm-1001/guest/filesystem",
            Some(&sid),
            Some(json!({
            "path": "/tmp/preview.txt", "credentials": root(), "overwrite": false, "file_size": 2,
            "file_attributes": {"posix": {"permissions": "600"}}})),
        )
        .await;
    assert_eq!(putr.status, StatusCode::OK, "{}", putr.text());
    assert_eq!(
        put(
            &app,
            &app.substitute(putr.json().as_str().unwrap()),
            b"hi".to_vec()
        )
        .await
        .status,
        StatusCode::OK
    );
    assert_eq!(
        app.vc
            .vm("vm-1001")
            .read_file("/tmp/preview.txt")
            .unwrap()
            .unwrap(),
        b"hi"
    );
}

#[tokio::test]
async fn guest_file_needs_its_token_and_no_session() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let url = url_for(
        &app,
        &sid,
        "vm-1001",
        root(),
        json!({"spec": {"path": "/etc/hosts"}}),
    )
    .await;
    let base = url.split('?').next().unwrap().to_owned();
    let id = url
        .split("id=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_owned();
    let table: Vec<(String, u16)> = vec![
        (base.clone(), 400),
        (format!("{base}?id={id}"), 400),
        (format!("{base}?token=abc"), 400),
        (format!("{base}?id=x&token=abc"), 400),
        (format!("{base}?id={id}&id={id}&token=abc"), 400),
        (format!("{base}?id={id}&token=wrong"), 404),
        (format!("{base}?id=999&token=wrong"), 404),
    ];
    for (u, status) in table {
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
    }
    let r = TestApp::read(app.client.get(&url).send().await.unwrap()).await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "the token alone is enough and was not consumed by refused tries"
    );
}

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

#[tokio::test]
async fn every_documented_create_error_is_answered_in_vcenters_order() {
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
    let dl = |p: &str| json!({"spec": {"path": p}});
    let long = format!("/tmp/{}", "x".repeat(300));
    let cases = vec![
        CreateCase {
            what: "a directory is not a file",
            vm: "vm-1001",
            session: "admin",
            creds: root(),
            spec: dl("/etc"),
            status: 400,
            error_type: "INVALID_ARGUMENT",
            data: Some(("NOT_A_FILE", "/etc")),
        },
        CreateCase {
            what: "a symlink is not a file",
            vm: "vm-1001",
            session: "admin",
            creds: root(),
            spec: dl("/usr/bin/sh"),
            status: 400,
            error_type: "INVALID_ARGUMENT",
            data: Some(("NOT_A_FILE", "/usr/bin/sh")),
        },
        CreateCase {
            what: "the path is too long",
            vm: "vm-1001",
            session: "admin",
            creds: root(),
            spec: dl(&long),
            status: 400,
            error_type: "INVALID_ARGUMENT",
            data: Some(("PATH_TOO_LONG", "LONG")),
        },
        CreateCase {
            what: "the file to download is not found",
            vm: "vm-1001",
            session: "admin",
            creds: root(),
            spec: dl("/tmp/none"),
            status: 404,
            error_type: "NOT_FOUND",
            data: Some(("FILE_NOT_FOUND", "/tmp/none")),
        },
        CreateCase {
            what: "the upload's parent is not found",
            vm: "vm-1001",
            session: "admin",
            creds: root(),
            spec: upload_spec("/nope/x", 1, json!({})),
            status: 404,
            error_type: "NOT_FOUND",
            data: Some(("FILE_NOT_FOUND", "/nope")),
        },
        CreateCase {
            what: "the upload target exists",
            vm: "vm-1001",
            session: "admin",
            creds: root(),
            spec: upload_spec("/etc/hosts", 1, json!({})),
            status: 400,
            error_type: "ALREADY_EXISTS",
            data: None,
        },
        CreateCase {
            what: "no space for the upload",
            vm: "vm-small",
            session: "admin",
            creds: root(),
            spec: upload_spec("/tmp/big", 5000, json!({})),
            status: 500,
            error_type: "UNABLE_TO_ALLOCATE_RESOURCE",
            data: Some(("NO_DISK_SPACE", "/tmp/big")),
        },
        CreateCase {
            what: "attributes without size",
            vm: "vm-1001",
            session: "admin",
            creds: root(),
            spec: json!({"spec": {"path": "/tmp/a", "attributes": {"overwrite": true}}}),
            status: 400,
            error_type: "INVALID_ARGUMENT",
            data: None,
        },
        CreateCase {
            what: "windows attributes on a POSIX guest",
            vm: "vm-1001",
            session: "admin",
            creds: root(),
            spec: upload_spec("/tmp/w", 1, json!({"windows": {"hidden": true}})),
            status: 400,
            error_type: "INVALID_ARGUMENT",
            data: None,
        },
        CreateCase {
            what: "the VM is not found",
            vm: "vm-9999",
            session: "admin",
            creds: root(),
            spec: dl("/etc/hosts"),
            status: 404,
            error_type: "NOT_FOUND",
            data: None,
        },
        CreateCase {
            what: "the VM is not running",
            vm: "vm-1003",
            session: "admin",
            creds: root(),
            spec: dl("/etc/hosts"),
            status: 400,
            error_type: "NOT_ALLOWED_IN_CURRENT_STATE",
            data: None,
        },
        CreateCase {
            what: "Tools are not running",
            vm: "vm-1005",
            session: "admin",
            creds: root(),
            spec: dl("/etc/hosts"),
            status: 503,
            error_type: "SERVICE_UNAVAILABLE",
            data: None,
        },
        CreateCase {
            what: "Tools are too old",
            vm: "vm-1006",
            session: "admin",
            creds: root(),
            spec: dl("/etc/hosts"),
            status: 400,
            error_type: "UNSUPPORTED",
            data: None,
        },
        CreateCase {
            what: "guest operations are disabled",
            vm: "vm-77",
            session: "admin",
            creds: root(),
            spec: dl("/etc/hosts"),
            status: 400,
            error_type: "UNSUPPORTED",
            data: None,
        },
        CreateCase {
            what: "the guest password is wrong",
            vm: "vm-1001",
            session: "admin",
            creds: creds("root", "no"),
            spec: dl("/etc/hosts"),
            status: 401,
            error_type: "UNAUTHENTICATED",
            data: None,
        },
        CreateCase {
            what: "the guest user may not read the file",
            vm: "vm-1001",
            session: "admin",
            creds: alice(),
            spec: dl("/root/secret.txt"),
            status: 403,
            error_type: "UNAUTHORIZED",
            data: None,
        },
        CreateCase {
            what: "the guest user may not write there",
            vm: "vm-1001",
            session: "admin",
            creds: alice(),
            spec: upload_spec("/etc/new", 1, json!({})),
            status: 403,
            error_type: "UNAUTHORIZED",
            data: None,
        },
        CreateCase {
            what: "the vCenter user lacks the privilege",
            vm: "vm-1001",
            session: "readonly",
            creds: root(),
            spec: dl("/etc/hosts"),
            status: 403,
            error_type: "UNAUTHORIZED",
            data: None,
        },
        CreateCase {
            what: "credentials are missing",
            vm: "vm-1001",
            session: "admin",
            creds: Value::Null,
            spec: dl("/etc/hosts"),
            status: 400,
            error_type: "INVALID_ARGUMENT",
            data: None,
        },
    ];
    for c in cases {
        let sid = if c.session == "admin" { &admin } else { &ro };
        let mut body = c.spec.clone();
        if !c.creds.is_null() {
            body["credentials"] = c.creds.clone();
        }
        let r = app.transfer(sid, c.vm, body).await;
        assert_eq!(r.status.as_u16(), c.status, "{}: {}", c.what, r.text());
        assert_eq!(r.error_type(), c.error_type, "{}", c.what);
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
    app.vc.vm("vm-1001").set_busy(true).unwrap();
    let busy = app
        .transfer(
            &admin,
            "vm-1001",
            json!({"credentials": root(), "spec": {"path": "/etc/hosts"}}),
        )
        .await;
    assert_eq!(busy.error_type(), "RESOURCE_BUSY");
}

#[tokio::test]
async fn a_path_held_by_a_transfer_in_flight_makes_guest_operations_busy() {
    let app = TestApp::spawn_with(|b| {
        b.vm(vcmock::Vm::linux("vm-big")
            .guest_user("root", "rootpw")
            .large_file("/data/big.bin", 64 << 20))
    })
    .await;
    let sid = app.login().await;
    let url = url_for(
        &app,
        &sid,
        "vm-big",
        root(),
        json!({"spec": {"path": "/data/big.bin"}}),
    )
    .await;
    let mut resp = app.client.get(&url).send().await.unwrap();
    resp.chunk().await.unwrap();
    let r = app
        .guest(
            &sid,
            "vm-big",
            "files/%2Fdata%2Fbig.bin?action=delete",
            json!({"credentials": root()}),
        )
        .await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(r.error_type(), "RESOURCE_BUSY");
    drop(resp);
}

#[tokio::test]
async fn the_admin_api_lists_transfers_with_their_state_and_reason() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let used = url_for(
        &app,
        &sid,
        "vm-1001",
        root(),
        json!({"spec": {"path": "/etc/hosts"}}),
    )
    .await;
    fetch(&app, &used).await;
    url_for(
        &app,
        &sid,
        "vm-1002",
        bob(),
        json!({"spec": {"path": "C:\\Temp\\setup.log"}}),
    )
    .await;
    url_for(
        &app,
        &sid,
        "vm-1001",
        root(),
        json!({"spec": {"path": "/etc/hosts"}}),
    )
    .await;
    app.vc.vm("vm-1001").power_off().unwrap();
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
