//! Round trips: downloads and uploads on both guest families, with their attributes.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::*;
use crate::helpers::*;

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

#[tokio::test]
async fn transfers_go_through_directory_links_as_the_other_operations_do() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let link = app
        .send(
            Method::PUT,
            "/_mock/vms/vm-1001/files",
            None,
            Some(json!({"path": "/tmp/etclink", "type": "symlink", "target": "/etc"})),
        )
        .await;
    assert_eq!(link.status, StatusCode::NO_CONTENT, "{}", link.text());
    let url = url_for(
        &app,
        &sid,
        "vm-1001",
        root(),
        download_spec("/tmp/etclink/hosts"),
    )
    .await;
    let got = fetch(&app, &url).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text());
    assert_eq!(
        got.body,
        app.mock
            .vm("vm-1001")
            .read_file("/etc/hosts")
            .unwrap()
            .unwrap()
    );
    let up = url_for(
        &app,
        &sid,
        "vm-1001",
        root(),
        upload_spec("/tmp/etclink/new.conf", 5, json!({})),
    )
    .await;
    assert_eq!(
        put(&app, &up, b"hello".to_vec()).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.mock
            .vm("vm-1001")
            .read_file("/etc/new.conf")
            .unwrap()
            .unwrap(),
        b"hello",
        "the upload lands where the link leads"
    );
}
