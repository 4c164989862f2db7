//! Permissions: one rule set decides each change, whichever operation reaches it.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

fn denied(r: &Reply) -> (u16, String, String) {
    (
        r.status.as_u16(),
        r.error_type(),
        r.json()["messages"][0]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

fn access_denied() -> (u16, String, String) {
    (
        403,
        "UNAUTHORIZED".into(),
        "vcmock.guest.access.denied".into(),
    )
}

#[tokio::test]
async fn overwriting_by_move_follows_the_rule_that_deleting_follows() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let vm = app.mock.vm("vm-1001");
    vm.put_file("/tmp/roots.txt", "root's").unwrap();
    app.guest(
        &sid,
        "vm-1001",
        "files?action=update",
        json!({"credentials": root(), "path": "/tmp/roots.txt", "file_attributes": {"posix": {"permissions": "666"}}}),
    )
    .await;
    let mine = app
        .guest(
            &sid,
            "vm-1001",
            "files?action=createTemporary",
            json!({"credentials": alice(), "prefix": "alice-", "suffix": ""}),
        )
        .await
        .json();
    let delete = app
        .post(
            "/api/vcenter/vm/vm-1001/guest/filesystem/files//tmp/roots.txt?action=delete",
            &sid,
            json!({"credentials": alice()}),
        )
        .await;
    assert_eq!(
        denied(&delete),
        access_denied(),
        "the sticky /tmp keeps alice from deleting it"
    );
    let over = app
        .guest(
            &sid,
            "vm-1001",
            "files?action=move",
            json!({"credentials": alice(), "path": mine, "new_path": "/tmp/roots.txt", "overwrite": true}),
        )
        .await;
    assert_eq!(
        denied(&over),
        access_denied(),
        "nor from replacing it: {}",
        over.text()
    );
    assert_eq!(vm.read_file("/tmp/roots.txt").unwrap().unwrap(), b"root's");

    // On Windows a read-only file cannot be replaced, by bob or by an administrator.
    let win = app.mock.vm("vm-1002");
    for (who, creds) in [("bob", bob()), ("Administrator", win_admin())] {
        let src = app
            .guest(
                &sid,
                "vm-1002",
                "files?action=createTemporary",
                json!({"credentials": creds, "prefix": "m", "suffix": "", "parent_path": "C:\\Users\\bob\\Documents"}),
            )
            .await;
        assert_eq!(src.status, StatusCode::OK, "{who}: {}", src.text());
        let r = app
            .guest(
                &sid,
                "vm-1002",
                "files?action=move",
                json!({"credentials": creds, "path": src.json(), "new_path": "C:\\Users\\bob\\Documents\\readonly.txt", "overwrite": true}),
            )
            .await;
        assert_eq!(denied(&r), access_denied(), "{who}: {}", r.text());
    }
    assert!(
        win.read_file("C:\\Users\\bob\\Documents\\readonly.txt")
            .unwrap()
            .is_some_and(|b| !b.is_empty()),
        "the read-only file is still there"
    );
}

#[tokio::test]
async fn upload_attributes_follow_the_ownership_rules_update_enforces() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let cases = [
        (
            json!({"owner_id": 0, "permissions": "4755"}),
            "another owner",
        ),
        (json!({"group_id": 0}), "a group alice is not in"),
        (json!({"owner_id": 0, "group_id": 0}), "both"),
    ];
    for (posix, what) in cases {
        let upload = app
            .transfer(
                &sid,
                "vm-1001",
                json!({"credentials": alice(), "spec": {"path": "/tmp/setuid", "attributes": {"size": 3, "overwrite": true, "posix": posix}}}),
            )
            .await;
        assert_eq!(
            denied(&upload),
            access_denied(),
            "upload with {what}: {}",
            upload.text()
        );
    }
    // Update refuses the same change on a file alice owns.
    let own = app
        .guest(
            &sid,
            "vm-1001",
            "files?action=createTemporary",
            json!({"credentials": alice(), "prefix": "own", "suffix": ""}),
        )
        .await
        .json();
    let update = app
        .guest(
            &sid,
            "vm-1001",
            "files?action=update",
            json!({"credentials": alice(), "path": own, "file_attributes": {"posix": {"owner_id": 0}}}),
        )
        .await;
    assert_eq!(denied(&update), access_denied());
    // What alice may do: her own ids, her own group, any mode on her file; root may do anything.
    for (creds, posix) in [
        (
            alice(),
            json!({"owner_id": 1000, "group_id": 1000, "permissions": "4755"}),
        ),
        (
            root(),
            json!({"owner_id": 1000, "group_id": 0, "permissions": "600"}),
        ),
    ] {
        let r = app
            .transfer(
                &sid,
                "vm-1001",
                json!({"credentials": creds, "spec": {"path": "/tmp/allowed", "attributes": {"size": 3, "overwrite": true, "posix": posix}}}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{posix}: {}", r.text());
    }
}

#[tokio::test]
async fn an_upload_over_another_users_file_in_the_sticky_tmp_is_refused_like_a_delete() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    app.mock
        .vm("vm-1001")
        .put_file("/tmp/shared.txt", "root's")
        .unwrap();
    app.guest(
        &sid,
        "vm-1001",
        "files?action=update",
        json!({"credentials": root(), "path": "/tmp/shared.txt", "file_attributes": {"posix": {"permissions": "666"}}}),
    )
    .await;
    let r = app
        .transfer(
            &sid,
            "vm-1001",
            json!({"credentials": alice(), "spec": {"path": "/tmp/shared.txt", "attributes": {"size": 4, "overwrite": true}}}),
        )
        .await;
    assert_eq!(denied(&r), access_denied(), "{}", r.text());
    // Her own file she may replace.
    let own = app
        .guest(
            &sid,
            "vm-1001",
            "files?action=createTemporary",
            json!({"credentials": alice(), "prefix": "own", "suffix": ""}),
        )
        .await
        .json();
    let r = app
        .transfer(
            &sid,
            "vm-1001",
            json!({"credentials": alice(), "spec": {"path": own, "attributes": {"size": 4, "overwrite": true}}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
}
