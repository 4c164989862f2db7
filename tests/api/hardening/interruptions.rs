//! Interruptions: clients that go away, and power changes, resets and migrations mid-transfer,
//! change nothing.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use vcmock::TransferState;

use crate::helpers::*;

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
    // Wait (bounded) for the server to notice: the token comes back, and the temporary file
    // goes once the write that was under way when the client vanished has finished.
    let spill_dir = app.mock.spill_dir().unwrap();
    let settled = || {
        let usable = app
            .mock
            .transfers()
            .iter()
            .any(|t| t.state == vcmock::TransferState::Issued);
        let leftovers: Vec<_> = std::fs::read_dir(&spill_dir).unwrap().collect();
        (usable, leftovers)
    };
    let mut state = settled();
    for _ in 0..500 {
        if state.0 && state.1.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        state = settled();
    }
    assert!(state.0, "the upload URL is usable again");
    assert!(
        state.1.is_empty(),
        "no temporary file is left: {:?}",
        state.1
    );
    assert!(
        app.mock
            .vm("vm-1001")
            .read_file("/etc/hosts")
            .unwrap()
            .unwrap()
            .starts_with(b"127.0.0.1")
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
