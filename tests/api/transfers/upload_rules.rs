//! The upload rules: exact lengths, spilling to disk, empty uploads, methods and overwriting.

use reqwest::StatusCode;
use serde_json::json;
use vcmock::TransferState;

use super::*;
use crate::helpers::*;

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
