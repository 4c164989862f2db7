//! Bounds: tokens, temporary files and a dropped server let go of what they held.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::*;

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
