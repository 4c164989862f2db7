//! Ten minutes, and revocation by power changes, migration and unregistration, in flight too.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use vcmock::TransferState;

use super::*;
use crate::helpers::*;

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
