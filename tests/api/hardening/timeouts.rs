//! Timeouts: nothing waits forever. A client that sends nothing, stops halfway through its
//! request head, or stops sending its body is let go, and whatever it held is given back.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use vcmock::TransferState;

use crate::helpers::*;

/// A server with short timeouts (plain HTTP, for raw sockets).
async fn quick() -> TestApp {
    TestApp::spawn_with(|b| {
        b.tls(false)
            .header_timeout(Duration::from_millis(400))
            .idle_timeout(Duration::from_millis(400))
            .body_timeout(Duration::from_millis(400))
    })
    .await
}

/// Reads until the server closes the connection; what it sent, or `None` when it did not close
/// within `within`.
async fn until_closed(s: &mut tokio::net::TcpStream, within: Duration) -> Option<Vec<u8>> {
    let mut got = Vec::new();
    let read = async {
        let mut buf = [0u8; 4096];
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(within, read).await.ok()?;
    Some(got)
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_after_the_idle_timeout() {
    let app = quick().await;
    let mut s = tokio::net::TcpStream::connect(app.mock.address())
        .await
        .unwrap();
    assert_eq!(
        until_closed(&mut s, Duration::from_secs(5)).await,
        Some(vec![])
    );
}

#[tokio::test]
async fn a_kept_alive_connection_is_closed_once_idle_and_used_until_then() {
    let app = quick().await;
    let mut s = tokio::net::TcpStream::connect(app.mock.address())
        .await
        .unwrap();
    let req = b"GET /_mock/health HTTP/1.1\r\nHost: x\r\n\r\n";
    for _ in 0..3 {
        s.write_all(req).await.unwrap();
        let mut buf = [0u8; 1024];
        let n = s.read(&mut buf).await.unwrap();
        assert!(
            buf[..n].starts_with(b"HTTP/1.1 200"),
            "still served while in use"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        until_closed(&mut s, Duration::from_secs(5)).await,
        Some(vec![])
    );
}

#[tokio::test]
async fn a_request_head_that_stops_halfway_is_given_up() {
    let app = quick().await;
    let mut s = tokio::net::TcpStream::connect(app.mock.address())
        .await
        .unwrap();
    s.write_all(b"GET /_mock/health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    let got = until_closed(&mut s, Duration::from_secs(5)).await;
    assert!(got.is_some(), "the connection is closed");
}

#[tokio::test]
async fn a_json_body_that_stops_moving_is_answered_408() {
    let app = quick().await;
    let mut s = tokio::net::TcpStream::connect(app.mock.address())
        .await
        .unwrap();
    s.write_all(b"POST /api/session HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"a\":")
        .await
        .unwrap();
    let got = until_closed(&mut s, Duration::from_secs(5)).await.unwrap();
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("vcmock.request.body.stalled"), "{text}");
}

#[tokio::test]
async fn a_stalled_upload_gives_its_url_and_its_path_back() {
    let app = quick().await;
    let sid = app.login().await;
    let size: usize = 8 << 20;
    let r = app
        .transfer(
            &sid,
            "vm-1001",
            json!({"credentials": root(), "spec": {"path": "/tmp/stalled.bin", "attributes": {"size": size, "overwrite": true}}}),
        )
        .await;
    let url = app.substitute(r.json().as_str().unwrap());
    let (tx, put) = streamed_put(&app, &url, Some(size));
    for _ in 0..7 {
        tx.send(Ok(vec![0; 1 << 20])).await.unwrap();
    }
    wait_for_state(&app, "vm-1001", TransferState::InFlight).await;
    // Silence, with the connection open.
    let answer = tokio::time::timeout(Duration::from_secs(10), put)
        .await
        .expect("the upload is given up")
        .unwrap();
    drop(tx);
    if let Ok(r) = answer {
        assert_eq!(r.status(), StatusCode::REQUEST_TIMEOUT);
    }
    wait_for_state(&app, "vm-1001", TransferState::Issued).await;
    // While held, any change to the path answers RESOURCE_BUSY; now it is just not there.
    let free = app
        .post(
            "/api/vcenter/vm/vm-1001/guest/filesystem/files//tmp/stalled.bin?action=delete",
            &sid,
            json!({"credentials": root()}),
        )
        .await;
    assert_eq!(
        free.error_type(),
        "NOT_FOUND",
        "the path is free: {}",
        free.text()
    );
    assert!(!app.mock.vm("vm-1001").exists("/tmp/stalled.bin").unwrap());
    let again = TestApp::read(
        app.client
            .put(&url)
            .body(vec![1u8; size])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        again.status,
        StatusCode::OK,
        "the URL is usable again: {}",
        again.text()
    );
}
