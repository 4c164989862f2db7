//! Transfers: `*`-hosted URLs that work once, for 10 minutes, and die with a power change;
//! `/guestFile` downloads and uploads; the preview forms; every documented create error.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use vcmock::TransferState;

use crate::helpers::*;

fn upload_spec(path: &str, size: usize, extra: Value) -> Value {
    let mut attributes = json!({"size": size});
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        attributes[k] = v;
    }
    json!({"spec": {"path": path, "attributes": attributes}})
}

fn download_spec(path: &str) -> Value {
    json!({"spec": {"path": path}})
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

/// The first message argument of a vAPI error (the refusal reason for `/guestFile`).
fn reason(r: &Reply) -> String {
    r.json()["messages"][0]["args"][0]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// A VM with a 64 MiB generated file at /data/big.bin.
fn with_big_vm(b: vcmock::Builder) -> vcmock::Builder {
    b.vm(vcmock::Vm::linux("vm-big")
        .guest_user("root", "rootpw")
        .large_file("/data/big.bin", 64 << 20))
}

// ----------------------------------------------------------------- round trips

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
        (
            "vm-1002",
            win_admin(),
            "c:/users/BOB/documents/REPORT.TXT",
            b"Quarterly report\r\nAll systems nominal.\r\n".to_vec(),
        ),
    ] {
        let url = url_for(&app, &sid, vm, c, download_spec(path)).await;
        let r = fetch(&app, &url).await;
        assert_eq!(r.status, StatusCode::OK, "{vm} {path}");
        assert_eq!(r.body, expected, "{vm} {path}");
        assert_eq!(r.content_type(), "application/octet-stream");
        assert_eq!(
            r.headers["content-length"],
            expected.len().to_string().as_str()
        );
    }
}

#[tokio::test]
async fn uploads_round_trip_on_a_linux_and_a_windows_guest() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    // Every byte value, so nothing is treated as text on the way.
    let content: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    for (vm, c, path, read_back) in [
        ("vm-1001", root(), "/tmp/round.bin", "/tmp/round.bin"),
        (
            "vm-1002",
            win_admin(),
            "C:\\Temp\\round.bin",
            "c:/temp/ROUND.BIN",
        ),
    ] {
        let url = url_for(
            &app,
            &sid,
            vm,
            c.clone(),
            upload_spec(path, content.len(), json!({})),
        )
        .await;
        let r = put(&app, &url, content.clone()).await;
        assert_eq!(r.status, StatusCode::OK, "{vm}: {}", r.text());
        assert!(
            r.body.is_empty(),
            "{vm}: an upload answers 200 with no body"
        );
        assert_eq!(
            app.mock.vm(vm).read_file(read_back).unwrap().unwrap(),
            content,
            "{vm}: the library handle reads the upload"
        );
        let back = url_for(&app, &sid, vm, c, download_spec(path)).await;
        let r = fetch(&app, &back).await;
        assert_eq!(r.status, StatusCode::OK, "{vm}");
        assert_eq!(r.body, content, "{vm}: a new download reads the upload");
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
        "last_accessed": "2023-03-03T03:03:03.000Z",
        "posix": {"owner_id": 1000, "group_id": 1000, "permissions": "0640"}}),
    );
    let url = url_for(&app, &sid, "vm-1001", root(), spec).await;
    let r = put(&app, &url, content.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        app.mock
            .vm("vm-1001")
            .read_file("/tmp/up.txt")
            .unwrap()
            .unwrap(),
        content
    );
    let back = url_for(&app, &sid, "vm-1001", root(), download_spec("/tmp/up.txt")).await;
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
    assert_eq!(info["size"], content.len());
    assert_eq!(
        info["attributes"]["posix_attributes"],
        json!({"owner": 1000, "group": 1000, "permissions": "640"})
    );
    assert_eq!(
        info["attributes"]["last_modified"],
        "2022-02-02T02:02:02.000Z"
    );
    assert_eq!(
        info["attributes"]["last_accessed"],
        "2023-03-03T03:03:03.000Z"
    );
}

#[tokio::test]
async fn an_upload_without_attributes_gets_the_callers_ids_mode_644_and_the_transfer_time() {
    let app = TestApp::spawn().await;
    app.clock.advance(Duration::from_secs(3600));
    let sid = app.login().await;
    let url = url_for(
        &app,
        &sid,
        "vm-1001",
        alice(),
        upload_spec("/tmp/alice.txt", 2, json!({})),
    )
    .await;
    assert_eq!(put(&app, &url, b"hi".to_vec()).await.status, StatusCode::OK);
    let info = app
        .guest(
            &sid,
            "vm-1001",
            "files/%2Ftmp%2Falice.txt?action=get",
            json!({"credentials": alice()}),
        )
        .await
        .json();
    assert_eq!(
        info["attributes"]["posix_attributes"],
        json!({"owner": 1000, "group": 1000, "permissions": "644"})
    );
    assert_eq!(
        info["attributes"]["last_modified"],
        "2024-01-01T01:00:00.000Z"
    );
}

#[tokio::test]
async fn an_upload_lands_the_file_with_windows_attributes() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let spec = upload_spec(
        "C:\\Temp\\new.bin",
        3,
        json!({"windows": {"hidden": true, "read_only": true},
               "last_modified": "2021-06-15T12:00:00Z"}),
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
    assert_eq!(info["attributes"]["filesystem_family"], "WINDOWS");
    assert_eq!(info["attributes"]["win_attributes"]["hidden"], true);
    assert_eq!(info["attributes"]["win_attributes"]["read_only"], true);
    assert_eq!(
        info["attributes"]["last_modified"],
        "2021-06-15T12:00:00.000Z"
    );
    assert_eq!(
        app.mock
            .vm("vm-1002")
            .read_file("c:/temp/NEW.bin")
            .unwrap()
            .unwrap(),
        vec![0, 1, 2]
    );
}

// ----------------------------------------------------------------- single use

#[tokio::test]
async fn second_get_of_a_download_url_is_refused() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let url = url_for(&app, &sid, "vm-1001", root(), download_spec("/etc/hosts")).await;
    assert_eq!(fetch(&app, &url).await.status, StatusCode::OK);
    let again = fetch(&app, &url).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert_eq!(again.error_type(), "NOT_FOUND");
    assert_eq!(again.content_type(), "application/json");
    assert_eq!(reason(&again), "used");
    assert_eq!(
        again.json()["messages"][0]["id"],
        "vcmock.transfer.refused",
        "{}",
        again.text()
    );
}

#[tokio::test]
async fn the_reason_for_a_refusal_is_kept_in_the_journal() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let url = url_for(&app, &sid, "vm-1001", root(), download_spec("/etc/hosts")).await;
    fetch(&app, &url).await;
    fetch(&app, &url).await;
    let refused: Vec<_> = app
        .mock
        .journal()
        .requests()
        .into_iter()
        .filter(|e| e.path == "/guestFile" && e.status == 404)
        .collect();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].error_type.as_deref(), Some("NOT_FOUND"));
    let note = refused[0].note.clone().unwrap_or_default();
    assert!(note.contains("(used)"), "the note names the reason: {note}");
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
    let again = put(&app, &url, b"cd".to_vec()).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert_eq!(reason(&again), "used");
    assert_eq!(
        app.mock
            .vm("vm-1001")
            .read_file("/tmp/once")
            .unwrap()
            .unwrap(),
        b"ab"
    );
}

/// An upload URL for `size` bytes to /tmp/big on vm-1001, already used by one upload.
async fn used_upload_url(app: &TestApp, size: usize) -> String {
    let sid = app.login().await;
    let spec = upload_spec("/tmp/big", size, json!({"overwrite": true}));
    let url = url_for(app, &sid, "vm-1001", root(), spec).await;
    assert_eq!(
        put(app, &url, vec![b'a'; size]).await.status,
        StatusCode::OK
    );
    url
}

#[tokio::test]
async fn a_large_upload_to_a_used_url_gets_its_404_over_http1_and_http2() {
    const SIZE: usize = 20 << 20;
    let app = TestApp::spawn().await;
    let url = used_upload_url(&app, SIZE).await;
    let pem = app.mock.certificate_pem().unwrap().as_bytes().to_vec();
    let client = |h1: bool| {
        let b = reqwest::Client::builder()
            .use_rustls_tls()
            .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap());
        if h1 { b.http1_only() } else { b }.build().unwrap()
    };
    for (name, client) in [("HTTP/1.1", client(true)), ("HTTP/2", client(false))] {
        let r = client.put(&url).body(vec![b'b'; SIZE]).send().await;
        let r =
            r.unwrap_or_else(|e| panic!("{name}: a transport error instead of the answer: {e}"));
        let expected = if name == "HTTP/2" {
            reqwest::Version::HTTP_2
        } else {
            reqwest::Version::HTTP_11
        };
        assert_eq!(r.version(), expected, "{name}");
        let reply = TestApp::read(r).await;
        assert_eq!(
            (reply.status, reason(&reply)),
            (StatusCode::NOT_FOUND, "used".into()),
            "{name}"
        );
    }
}

#[tokio::test]
async fn a_client_that_sends_its_whole_body_before_reading_gets_the_404_of_a_used_url() {
    // As curl without Expect and Python's requests do: write everything, then read.
    use std::io::{Read as _, Write as _};
    const SIZE: usize = 20 << 20;
    let app = TestApp::spawn_with(|b| b.tls(false)).await;
    let url = used_upload_url(&app, SIZE).await;
    let target = url.split_once("/guestFile").unwrap().1.to_owned();
    let addr = app.mock.address();
    let answer = tokio::task::spawn_blocking(move || {
        let mut conn = std::net::TcpStream::connect(addr).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let head = format!(
            "PUT /guestFile{target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {SIZE}\r\n\r\n"
        );
        conn.write_all(head.as_bytes())?;
        conn.write_all(&vec![b'b'; SIZE])?;
        let mut answer = vec![0u8; 4096];
        let n = conn.read(&mut answer)?;
        Ok::<_, std::io::Error>(String::from_utf8_lossy(&answer[..n]).into_owned())
    })
    .await
    .unwrap()
    .expect("the whole body was taken and the answer read, no broken pipe");
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
    assert!(answer.contains("(used)"), "{answer}");
}

#[tokio::test]
async fn a_client_waiting_for_100_continue_is_refused_before_it_sends_its_body() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let app = TestApp::spawn_with(|b| b.tls(false)).await;
    let mut conn = tokio::net::TcpStream::connect(app.mock.address())
        .await
        .unwrap();
    let head = format!(
        "PUT /guestFile?id=999&token=guessed HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        20 << 20
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), conn.read(&mut answer))
        .await
        .expect("answered without waiting for the body")
        .unwrap();
    let text = String::from_utf8_lossy(&answer[..n]);
    assert!(
        text.starts_with("HTTP/1.1 404"),
        "the refusal comes first, no 100 Continue: {text}"
    );
    assert!(text.contains("vcmock.transfer.refused"), "{text}");
}

#[tokio::test]
async fn of_256_concurrent_gets_of_one_url_exactly_one_succeeds() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let url = url_for(&app, &sid, "vm-1001", root(), download_spec("/etc/hosts")).await;
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(256));
    let mut tasks = Vec::new();
    for _ in 0..256 {
        let client = app.client.clone();
        let url = url.clone();
        let start = start.clone();
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            let r = client.get(&url).send().await.unwrap();
            let status = r.status();
            let body = r.bytes().await.unwrap();
            (status, body)
        }));
    }
    let mut ok = 0;
    let mut used = 0;
    for t in tasks {
        let (status, body) = t.await.unwrap();
        match status {
            StatusCode::OK => {
                ok += 1;
                assert!(body.starts_with(b"127.0.0.1"), "the winner gets the file");
            }
            StatusCode::NOT_FOUND => {
                used += 1;
                let v: Value = serde_json::from_slice(&body).unwrap();
                assert_eq!(v["messages"][0]["args"][0], "used");
            }
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!((ok, used), (1, 255));
}

#[tokio::test]
async fn a_head_request_does_not_use_up_a_download_url() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let url = url_for(&app, &sid, "vm-1001", root(), download_spec("/etc/hosts")).await;
    let head = TestApp::read(app.client.head(&url).send().await.unwrap()).await;
    assert_eq!(head.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(fetch(&app, &url).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_download_whose_file_went_away_answers_404_and_stays_usable() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let url = url_for(&app, &sid, "vm-1001", root(), download_spec("/etc/motd")).await;
    assert!(app.mock.vm("vm-1001").remove("/etc/motd").unwrap());
    let r = fetch(&app, &url).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json()["data"]["reason"], "FILE_NOT_FOUND", "{}", r.text());
    app.mock
        .vm("vm-1001")
        .put_file("/etc/motd", "back\n")
        .unwrap();
    let r = fetch(&app, &url).await;
    assert_eq!(r.status, StatusCode::OK, "a failed attempt used nothing up");
    assert_eq!(r.body, b"back\n");
}

// ----------------------------------------------------------------- ten minutes

#[tokio::test]
async fn a_url_is_valid_until_just_before_ten_minutes_and_refused_at_ten_minutes() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let early = url_for(&app, &sid, "vm-1001", root(), download_spec("/etc/hosts")).await;
    let late = url_for(&app, &sid, "vm-1001", root(), download_spec("/etc/hosts")).await;
    app.clock.advance(Duration::from_millis(599_999));
    assert_eq!(
        fetch(&app, &early).await.status,
        StatusCode::OK,
        "valid at 599.999 s"
    );
    app.clock.advance(Duration::from_millis(1));
    let r = fetch(&app, &late).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "invalid at 600 s");
    assert_eq!(r.error_type(), "NOT_FOUND");
    assert_eq!(reason(&r), "expired");
    app.clock.advance(Duration::from_secs(3600));
    assert_eq!(reason(&fetch(&app, &late).await), "expired", "and stays so");
}

#[tokio::test]
async fn an_upload_url_expires_at_ten_minutes_too() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let spec = || upload_spec("/tmp/late", 1, json!({"overwrite": true}));
    let early = url_for(&app, &sid, "vm-1001", root(), spec()).await;
    let late = url_for(&app, &sid, "vm-1001", root(), spec()).await;
    app.clock.advance(Duration::from_millis(599_999));
    assert_eq!(
        put(&app, &early, b"x".to_vec()).await.status,
        StatusCode::OK
    );
    app.clock.advance(Duration::from_millis(1));
    let r = put(&app, &late, b"y".to_vec()).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(reason(&r), "expired");
    assert_eq!(
        app.mock
            .vm("vm-1001")
            .read_file("/tmp/late")
            .unwrap()
            .unwrap(),
        b"x"
    );
}

// ----------------------------------------------------------------- revocation

#[tokio::test]
async fn power_off_suspend_and_reset_revoke_outstanding_urls() {
    for action in ["stop", "suspend", "reset"] {
        let app = TestApp::spawn().await;
        let sid = app.login().await;
        let down = url_for(&app, &sid, "vm-1001", root(), download_spec("/etc/hosts")).await;
        let up = url_for(
            &app,
            &sid,
            "vm-1001",
            root(),
            upload_spec("/tmp/x", 1, json!({})),
        )
        .await;
        power(&app, &sid, "vm-1001", action).await;
        for r in [
            fetch(&app, &down).await,
            put(&app, &up, b"x".to_vec()).await,
        ] {
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{action}");
            assert_eq!(r.error_type(), "NOT_FOUND", "{action}");
            assert_eq!(reason(&r), "revoked", "{action}");
        }
        if action != "reset" {
            power(&app, &sid, "vm-1001", "start").await;
        }
        assert_eq!(
            reason(&fetch(&app, &down).await),
            "revoked",
            "{action}: powering on again does not revive a URL"
        );
        assert!(!app.mock.vm("vm-1001").exists("/tmp/x").unwrap());
    }
}

#[tokio::test]
async fn revoking_one_vm_leaves_the_urls_of_other_vms_alone() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let linux = url_for(&app, &sid, "vm-1001", root(), download_spec("/etc/hosts")).await;
    let windows = url_for(
        &app,
        &sid,
        "vm-1002",
        bob(),
        download_spec("C:\\Temp\\setup.log"),
    )
    .await;
    power(&app, &sid, "vm-1001", "stop").await;
    assert_eq!(reason(&fetch(&app, &linux).await), "revoked");
    assert_eq!(fetch(&app, &windows).await.status, StatusCode::OK);
}

#[tokio::test]
async fn migrate_and_unregister_revoke_outstanding_urls() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let a = url_for(&app, &sid, "vm-1001", root(), download_spec("/etc/hosts")).await;
    app.mock.vm("vm-1001").migrate("host-99").unwrap();
    let r = fetch(&app, &a).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(reason(&r), "revoked");
    let b = url_for(
        &app,
        &sid,
        "vm-1002",
        bob(),
        download_spec("C:\\Temp\\setup.log"),
    )
    .await;
    let c = url_for(
        &app,
        &sid,
        "vm-1002",
        win_admin(),
        upload_spec("C:\\Temp\\new.txt", 1, json!({})),
    )
    .await;
    app.mock.vm("vm-1002").unregister().unwrap();
    for r in [fetch(&app, &b).await, put(&app, &c, b"x".to_vec()).await] {
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        assert_eq!(reason(&r), "revoked");
    }
    let reasons: Vec<TransferState> = app.mock.transfers().into_iter().map(|t| t.state).collect();
    assert!(reasons.contains(&TransferState::Revoked("migrated".into())));
    assert!(reasons.contains(&TransferState::Revoked("unregistered".into())));
}

#[tokio::test]
async fn a_download_in_flight_is_cut_off_by_power_off_suspend_and_reset() {
    for action in ["stop", "suspend", "reset"] {
        let app = TestApp::spawn_with(with_big_vm).await;
        let sid = app.login().await;
        let url = url_for(&app, &sid, "vm-big", root(), download_spec("/data/big.bin")).await;
        let mut resp = app.client.get(&url).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(
            resp.content_length(),
            Some(64 << 20),
            "the full length is announced"
        );
        let mut received = resp.chunk().await.unwrap().unwrap().len();
        power(&app, &sid, "vm-big", action).await;
        let cut = loop {
            match resp.chunk().await {
                Ok(Some(c)) => received += c.len(),
                Ok(None) => break false,
                Err(_) => break true,
            }
        };
        assert!(cut, "{action}: the body ended with an error");
        assert!(
            received < 64 << 20,
            "{action}: received {received} bytes of 64 MiB"
        );
        let after = fetch(&app, &url).await;
        assert_eq!(after.status, StatusCode::NOT_FOUND, "{action}");
    }
}

#[tokio::test]
async fn an_upload_in_flight_is_discarded_by_power_off_suspend_and_reset() {
    for action in ["stop", "suspend", "reset"] {
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
        let (tx, sending) = streamed_put(&app, &url, Some(size));
        tx.send(Ok(vec![b'a'; 2 << 20])).await.unwrap();
        wait_for_state(&app, "vm-1001", TransferState::InFlight).await;
        power(&app, &sid, "vm-1001", action).await;
        // The rest of the body; the server may already have hung up.
        let _ = tx.send(Ok(vec![b'b'; 2 << 20])).await;
        drop(tx);
        let outcome = sending.await.unwrap();
        if let Ok(r) = outcome {
            assert_ne!(r.status(), StatusCode::OK, "{action}: the upload failed");
        }
        let hosts = app
            .mock
            .vm("vm-1001")
            .read_file("/etc/hosts")
            .unwrap()
            .unwrap();
        assert!(
            hosts.starts_with(b"127.0.0.1") && hosts.len() < 1000,
            "{action}: the target is unchanged"
        );
        let again = put(&app, &url, vec![b'c'; size]).await;
        assert_eq!(again.status, StatusCode::NOT_FOUND, "{action}");
        assert_eq!(reason(&again), "revoked", "{action}");
    }
}

#[tokio::test]
async fn a_path_held_by_a_transfer_in_flight_makes_guest_operations_busy() {
    let app = TestApp::spawn_with(with_big_vm).await;
    let sid = app.login().await;
    let url = url_for(&app, &sid, "vm-big", root(), download_spec("/data/big.bin")).await;
    let mut resp = app.client.get(&url).send().await.unwrap();
    resp.chunk().await.unwrap();
    let c = || root();
    let ops: Vec<(&str, &str, Value)> = vec![
        (
            "files delete",
            "files/%2Fdata%2Fbig.bin?action=delete",
            json!({"credentials": c()}),
        ),
        (
            "files move",
            "files?action=move",
            json!({"credentials": c(), "path": "/data/big.bin", "new_path": "/data/moved.bin"}),
        ),
        (
            "files update",
            "files?action=update",
            json!({"credentials": c(), "path": "/data/big.bin",
                   "file_attributes": {"posix": {"permissions": "600"}}}),
        ),
        (
            "directories delete of the parent",
            "directories?action=delete",
            json!({"credentials": c(), "path": "/data", "recursive": true}),
        ),
    ];
    for (what, tail, body) in ops {
        let r = app.guest(&sid, "vm-big", tail, body).await;
        assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{what}");
        assert_eq!(r.error_type(), "RESOURCE_BUSY", "{what}: {}", r.text());
    }
    let r = create(
        &app,
        &sid,
        "vm-big",
        root(),
        upload_spec("/data/big.bin", 1, json!({"overwrite": true})),
    )
    .await;
    assert_eq!(
        r.error_type(),
        "RESOURCE_BUSY",
        "a second transfer on the path"
    );
    let other = create(&app, &sid, "vm-big", root(), download_spec("/etc")).await;
    assert_ne!(other.error_type(), "RESOURCE_BUSY", "other paths are free");
    drop(resp);
}

// ----------------------------------------------------------------- upload rules

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
        assert_eq!(r.json()["messages"][0]["id"], "vcmock.transfer.length");
    }
    assert_eq!(
        app.mock
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
    assert_eq!(
        app.mock
            .vm("vm-1001")
            .read_file("/etc/motd")
            .unwrap()
            .unwrap(),
        b"12345"
    );
}

#[tokio::test]
async fn a_chunked_body_shorter_or_longer_than_declared_changes_nothing() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let url = url_for(
        &app,
        &sid,
        "vm-1001",
        root(),
        upload_spec("/tmp/chunked", 6, json!({})),
    )
    .await;
    for parts in [
        vec![b"abc".to_vec()],
        vec![b"abcd".to_vec(), b"efg".to_vec()],
    ] {
        let (tx, sending) = streamed_put(&app, &url, None);
        for p in parts {
            tx.send(Ok(p)).await.unwrap();
        }
        drop(tx);
        let r = TestApp::read(sending.await.unwrap().unwrap()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
        assert_eq!(r.error_type(), "INVALID_ARGUMENT");
        wait_for_state(&app, "vm-1001", TransferState::Issued).await;
        assert!(!app.mock.vm("vm-1001").exists("/tmp/chunked").unwrap());
    }
    let (tx, sending) = streamed_put(&app, &url, None);
    tx.send(Ok(b"abc".to_vec())).await.unwrap();
    tx.send(Ok(b"def".to_vec())).await.unwrap();
    drop(tx);
    assert_eq!(sending.await.unwrap().unwrap().status(), StatusCode::OK);
    assert_eq!(
        app.mock
            .vm("vm-1001")
            .read_file("/tmp/chunked")
            .unwrap()
            .unwrap(),
        b"abcdef"
    );
}

#[tokio::test]
async fn a_dropped_upload_changes_nothing_and_keeps_the_url_usable() {
    let app = TestApp::spawn_with(|b| b.spill_threshold(1 << 20)).await;
    let sid = app.login().await;
    let size = 3 << 20;
    let url = url_for(
        &app,
        &sid,
        "vm-1001",
        root(),
        upload_spec("/etc/hosts", size, json!({"overwrite": true})),
    )
    .await;
    let (tx, sending) = streamed_put(&app, &url, Some(size));
    tx.send(Ok(vec![b'a'; 1 << 20])).await.unwrap();
    wait_for_state(&app, "vm-1001", TransferState::InFlight).await;
    // The client breaks off mid-body.
    tx.send(Err(std::io::Error::other("client gone")))
        .await
        .unwrap();
    drop(tx);
    assert!(sending.await.unwrap().is_err());
    wait_for_state(&app, "vm-1001", TransferState::Issued).await;
    let hosts = app
        .mock
        .vm("vm-1001")
        .read_file("/etc/hosts")
        .unwrap()
        .unwrap();
    assert!(hosts.starts_with(b"127.0.0.1"), "the target is unchanged");
    let r = put(&app, &url, vec![b'z'; size]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        app.mock
            .vm("vm-1001")
            .read_file("/etc/hosts")
            .unwrap()
            .unwrap(),
        vec![b'z'; size]
    );
}

#[tokio::test]
async fn a_large_upload_spills_to_disk_and_reads_back_intact() {
    let app = TestApp::spawn_with(|b| b.spill_threshold(64 << 10)).await;
    let sid = app.login().await;
    let content: Vec<u8> = (0..(3 << 20) as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let url = url_for(
        &app,
        &sid,
        "vm-1001",
        root(),
        upload_spec("/tmp/spilled.bin", content.len(), json!({})),
    )
    .await;
    assert_eq!(
        put(&app, &url, content.clone()).await.status,
        StatusCode::OK
    );
    let back = url_for(
        &app,
        &sid,
        "vm-1001",
        root(),
        download_spec("/tmp/spilled.bin"),
    )
    .await;
    let r = fetch(&app, &back).await;
    assert_eq!(
        r.headers["content-length"],
        content.len().to_string().as_str()
    );
    assert!(r.body == content, "the spilled bytes come back unchanged");
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
    assert!(!app.mock.vm("vm-1001").exists("/tmp/empty").unwrap());
}

#[tokio::test]
async fn the_wrong_method_is_refused_with_405_and_the_url_stays_valid() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let down = url_for(&app, &sid, "vm-1001", root(), download_spec("/etc/hosts")).await;
    let r = put(&app, &down, b"x".to_vec()).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.error_type(), "INVALID_REQUEST");
    assert_eq!(reason(&r), "GET");
    assert_eq!(fetch(&app, &down).await.status, StatusCode::OK);

    let up = url_for(
        &app,
        &sid,
        "vm-1001",
        root(),
        upload_spec("/tmp/m", 1, json!({})),
    )
    .await;
    let r = fetch(&app, &up).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reason(&r), "PUT");
    assert_eq!(put(&app, &up, b"m".to_vec()).await.status, StatusCode::OK);
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
            upload_spec("/etc/hosts", 1, extra.clone()),
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{extra}");
        assert_eq!(r.error_type(), "ALREADY_EXISTS", "{extra}");
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
        app.mock
            .vm("vm-1001")
            .read_file("/etc/hosts")
            .unwrap()
            .unwrap(),
        b"new"
    );
}

#[tokio::test]
async fn a_file_created_after_the_url_without_overwrite_makes_the_upload_fail() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let url = url_for(
        &app,
        &sid,
        "vm-1001",
        root(),
        upload_spec("/tmp/race", 3, json!({})),
    )
    .await;
    app.mock.vm("vm-1001").put_file("/tmp/race", "old").unwrap();
    let r = put(&app, &url, b"new".to_vec()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error_type(), "ALREADY_EXISTS");
    assert_eq!(
        app.mock
            .vm("vm-1001")
            .read_file("/tmp/race")
            .unwrap()
            .unwrap(),
        b"old"
    );
}

// ----------------------------------------------------------------- the URL

#[tokio::test]
async fn the_url_carries_the_port_the_client_called() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let port = app.mock.address().port();
    let r = create(&app, &sid, "vm-1001", root(), download_spec("/etc/hosts")).await;
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
            reqwest::Certificate::from_pem(app.mock.certificate_pem().unwrap().as_bytes()).unwrap(),
        )
        .build()
        .unwrap();
    let body = json!({"credentials": root(), "spec": {"path": "/etc/hosts"}});
    for (host, prefix) in [
        ("localhost:18443", "https://*:18443/guestFile?id="),
        ("localhost", "https://*/guestFile?id="),
        ("localhost:443", "https://*/guestFile?id="),
        ("mock.example:8443", "https://*:8443/guestFile?id="),
        ("[::1]:9999", "https://*:9999/guestFile?id="),
    ] {
        let r = h1
            .post(app.url("/api/vcenter/vm/vm-1001/guest/filesystem?action=create"))
            .header("host", host)
            .header("vmware-api-session-id", &sid)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED, "Host {host}");
        let url: String = r.json().await.unwrap();
        assert!(url.starts_with(prefix), "Host {host}: {url}");
        // Substituted with the address actually called, the URL works.
        let real = url.replacen(
            &prefix["https://".len()..prefix.len() - "/guestFile?id=".len()],
            &format!("127.0.0.1:{port}"),
            1,
        );
        assert_eq!(
            fetch(&app, &real).await.status,
            StatusCode::OK,
            "Host {host}: {real}"
        );
    }
}

#[tokio::test]
async fn the_transfer_host_option_replaces_the_star() {
    for (host, expected) in [
        ("files.example", "https://files.example:PORT/guestFile?id="),
        (
            "files.example:9443",
            "https://files.example:9443/guestFile?id=",
        ),
        ("[::1]", "https://[::1]:PORT/guestFile?id="),
    ] {
        let app = TestApp::spawn_with(|b| b.transfer_host(host)).await;
        let sid = app.login().await;
        let r = create(&app, &sid, "vm-1001", root(), download_spec("/etc/hosts")).await;
        let expected = expected.replace("PORT", &app.mock.address().port().to_string());
        assert!(
            r.json().as_str().unwrap().starts_with(&expected),
            "{host}: {}",
            r.text()
        );
    }
}

#[tokio::test]
async fn with_a_transfer_host_the_url_works_without_substitution() {
    let app = TestApp::spawn_with(|b| b.transfer_host("127.0.0.1")).await;
    let sid = app.login().await;
    let r = create(
        &app,
        &sid,
        "vm-1001",
        root(),
        download_spec("/etc/hostname"),
    )
    .await;
    let url = r.json().as_str().unwrap().to_owned();
    assert!(!url.contains('*'), "{url}");
    assert_eq!(fetch(&app, &url).await.body, b"linux-01\n");
}

#[tokio::test]
async fn with_tls_off_urls_use_http_and_work() {
    let app = TestApp::spawn_with(|b| b.tls(false)).await;
    let sid = app.login().await;
    let port = app.mock.address().port();
    let r = create(
        &app,
        &sid,
        "vm-1001",
        root(),
        download_spec("/etc/hostname"),
    )
    .await;
    let url = r.json().as_str().unwrap().to_owned();
    assert!(
        url.starts_with(&format!("http://*:{port}/guestFile?id=")),
        "{url}"
    );
    assert_eq!(fetch(&app, &app.substitute(&url)).await.body, b"linux-01\n");
    let r = app
        .client
        .post(app.url("/api/vcenter/vm/vm-1001/guest/filesystem?action=create"))
        .header("host", "localhost:80")
        .header("vmware-api-session-id", &sid)
        .json(&json!({"credentials": root(), "spec": {"path": "/etc/hosts"}}))
        .send()
        .await
        .unwrap();
    let url: String = r.json().await.unwrap();
    assert!(url.starts_with("http://*/guestFile?id="), "port 80: {url}");
}

#[tokio::test]
async fn the_same_seed_gives_the_same_urls() {
    let mut urls = Vec::new();
    for _ in 0..2 {
        let app = TestApp::spawn().await;
        let sid = app.login().await;
        let r = create(&app, &sid, "vm-1001", root(), download_spec("/etc/hosts")).await;
        let url = r.json().as_str().unwrap().to_owned();
        urls.push(url.split_once("/guestFile").unwrap().1.to_owned());
    }
    assert_eq!(urls[0], urls[1]);
    let token = urls[0].split("token=").nth(1).unwrap();
    assert!(token.len() >= 20, "the token is long: {token}");
}

// ----------------------------------------------------------------- the preview forms

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
    let url = get.json().as_str().unwrap().to_owned();
    assert!(url.starts_with("https://*:"), "{url}");
    assert_eq!(fetch(&app, &app.substitute(&url)).await.body, b"linux-01\n");
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
        app.mock
            .vm("vm-1001")
            .read_file("/tmp/preview.txt")
            .unwrap()
            .unwrap(),
        b"hi"
    );
    let info = app
        .guest(
            &sid,
            "vm-1001",
            "files/%2Ftmp%2Fpreview.txt?action=get",
            json!({"credentials": root()}),
        )
        .await
        .json();
    assert_eq!(info["attributes"]["posix_attributes"]["permissions"], "600");
}

#[tokio::test]
async fn the_preview_forms_answer_the_same_errors_as_create() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let cases = [
        (
            Method::GET,
            json!({"path": "/etc", "credentials": root()}),
            400,
            "INVALID_ARGUMENT",
        ),
        (
            Method::GET,
            json!({"path": "/etc/none", "credentials": root()}),
            404,
            "NOT_FOUND",
        ),
        (
            Method::PUT,
            json!({"path": "/etc/hosts", "credentials": root(), "file_size": 1}),
            400,
            "ALREADY_EXISTS",
        ),
        (
            Method::PUT,
            json!({"path": "/tmp/n", "credentials": root(), "file_size": -1}),
            400,
            "INVALID_ARGUMENT",
        ),
        (
            Method::GET,
            json!({"path": "/etc/hosts", "credentials": creds("root", "bad")}),
            401,
            "UNAUTHENTICATED",
        ),
    ];
    for (method, body, status, error_type) in cases {
        let r = app
            .send(
                method.clone(),
                "/api/vcenter/vm/vm-1001/guest/filesystem",
                Some(&sid),
                Some(body.clone()),
            )
            .await;
        assert_eq!(r.status.as_u16(), status, "{method} {body}: {}", r.text());
        assert_eq!(r.error_type(), error_type, "{method} {body}");
    }
    let r = app
        .send(
            Method::GET,
            "/api/vcenter/vm/vm-1001/guest/filesystem",
            None,
            Some(json!({"path": "/etc/hosts", "credentials": root()})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "a session is required");
}

// ----------------------------------------------------------------- /guestFile input

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
            "guest credentials before the privilege",
            "vm-1001",
            "readonly",
            bad(),
            download_spec("/etc/hosts"),
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
