//! Concurrency: creations and moves racing on one directory keep the tree consistent.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

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
