//! Single use: a URL works once, a refused upload still gets its answer, and races have one winner.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::*;
use crate::helpers::*;

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
    assert_eq!(refused[0].error_type, Some("NOT_FOUND"));
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
