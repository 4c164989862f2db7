//! Guest filesystem happy paths on the Linux (vm-1001) and Windows (vm-1002) guests: every
//! files and directories operation, paging and filters, moves, overwrite, recursive delete,
//! attribute updates read back through get, and the permission model.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

fn enc(path: &str) -> String {
    path.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn get(app: &TestApp, sid: &str, vm: &str, c: Value, path: &str) -> Reply {
    app.guest(
        sid,
        vm,
        &format!("files/{}?action=get", enc(path)),
        json!({"credentials": c}),
    )
    .await
}

async fn list(app: &TestApp, sid: &str, vm: &str, c: Value, body: Value) -> Value {
    let mut b = body;
    b["credentials"] = c;
    let r = app.guest(sid, vm, "files?action=list", b).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.json()
}

fn names(listing: &Value) -> Vec<String> {
    listing["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["filename"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn create_temporary_makes_an_empty_file_named_prefix_random_suffix_in_tmp() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let r = app
        .guest(
            &sid,
            "vm-1001",
            "files?action=createTemporary",
            json!({"credentials": root(), "prefix": "job-", "suffix": ".log"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let path = r.json().as_str().unwrap().to_owned();
    let name = path
        .strip_prefix("/tmp/job-")
        .and_then(|s| s.strip_suffix(".log"))
        .expect("in /tmp with prefix and suffix");
    assert_eq!(name.len(), 6);
    let info = get(&app, &sid, "vm-1001", root(), &path).await.json();
    assert_eq!(info["type"], "FILE");
    assert_eq!(info["size"], 0);
    assert_eq!(info["attributes"]["posix_attributes"]["permissions"], "600");

    let in_dir = app.guest(&sid, "vm-1001", "files?action=createTemporary", json!({"credentials": alice(), "prefix": "a", "suffix": "", "parent_path": "/home/alice"})).await;
    let p = in_dir.json().as_str().unwrap().to_owned();
    assert!(p.starts_with("/home/alice/a"), "{p}");
    assert_eq!(
        get(&app, &sid, "vm-1001", alice(), &p).await.json()["attributes"]["posix_attributes"]["owner"],
        1000
    );
}

#[tokio::test]
async fn temporary_names_are_deterministic_under_a_seed() {
    let mut seen = Vec::new();
    for _ in 0..2 {
        let app = TestApp::spawn().await;
        let sid = app.login().await;
        let r = app
            .guest(
                &sid,
                "vm-1001",
                "directories?action=createTemporary",
                json!({"credentials": root(), "prefix": "d", "suffix": "x"}),
            )
            .await;
        seen.push(r.json());
    }
    assert_eq!(seen[0], seen[1]);
}

#[tokio::test]
async fn windows_temporary_items_go_to_the_users_temp_directory() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let r = app
        .guest(
            &sid,
            "vm-1002",
            "files?action=createTemporary",
            json!({"credentials": bob(), "prefix": "tmp", "suffix": ".txt"}),
        )
        .await;
    let path = r.json().as_str().unwrap().to_owned();
    assert!(
        path.starts_with("C:\\Users\\bob\\AppData\\Local\\Temp\\tmp"),
        "{path}"
    );
    let d = app.guest(&sid, "vm-1002", "directories?action=createTemporary", json!({"credentials": win_admin(), "prefix": "d", "suffix": "", "parent_path": "C:/Temp"})).await;
    assert!(
        d.json().as_str().unwrap().starts_with("C:\\Temp\\d"),
        "{}",
        d.text()
    );
}

#[tokio::test]
async fn list_pages_through_a_directory_with_total_and_indexes() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let all = list(&app, &sid, "vm-1001", root(), json!({"path": "/etc"})).await;
    assert_eq!(
        names(&all),
        ["hostname", "hosts", "motd", "os-release", "shadow"]
    );
    assert_eq!(all["total"], 5);
    assert_eq!(all["status"], "END_OF_DATA");
    // (index, size) -> (names, start, end, status)
    type Page<'a> = (u64, u64, &'a [&'a str], Option<u64>, Option<u64>, &'a str);
    let table: &[Page] = &[
        (0, 2, &["hostname", "hosts"], Some(0), Some(1), "READY"),
        (2, 2, &["motd", "os-release"], Some(2), Some(3), "READY"),
        (4, 2, &["shadow"], Some(4), Some(4), "END_OF_DATA"),
        (9, 2, &[], None, None, "END_OF_DATA"),
    ];
    for (index, size, expected, start, end, status) in table {
        let page = list(
            &app,
            &sid,
            "vm-1001",
            root(),
            json!({"path": "/etc", "iteration": {"index": index, "size": size}}),
        )
        .await;
        assert_eq!(names(&page), *expected, "index {index}");
        assert_eq!(page["total"], 5);
        assert_eq!(page.get("start_index").and_then(Value::as_u64), *start);
        assert_eq!(page.get("end_index").and_then(Value::as_u64), *end);
        assert_eq!(page["status"], *status);
    }
}

#[tokio::test]
async fn list_filters_names_with_match_pattern_and_lists_a_single_file() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let f = list(
        &app,
        &sid,
        "vm-1001",
        root(),
        json!({"path": "/etc", "filter": {"match_pattern": "^host"}}),
    )
    .await;
    assert_eq!(names(&f), ["hostname", "hosts"]);
    assert_eq!(f["total"], 2);
    let one = list(&app, &sid, "vm-1001", root(), json!({"path": "/etc/hosts"})).await;
    assert_eq!(
        one["files"],
        json!([{"filename": "hosts", "type": "FILE", "size": 80}])
    );
    let bad = app
        .guest(
            &sid,
            "vm-1001",
            "files?action=list",
            json!({"credentials": root(), "path": "/etc", "filter": {"match_pattern": "("}}),
        )
        .await;
    assert_eq!(bad.error_type(), "INVALID_ARGUMENT");
    let types = list(&app, &sid, "vm-1001", root(), json!({"path": "/usr/bin"})).await;
    assert_eq!(
        types["files"][1],
        json!({"filename": "sh", "type": "SYMLINK", "size": 4})
    );
}

#[tokio::test]
async fn get_reports_posix_attributes_and_symlink_targets() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let info = get(&app, &sid, "vm-1001", root(), "/etc/shadow")
        .await
        .json();
    assert_eq!(info["type"], "FILE");
    assert_eq!(info["attributes"]["filesystem_family"], "POSIX");
    assert_eq!(
        info["attributes"]["posix_attributes"],
        json!({"owner": 0, "group": 42, "permissions": "640"})
    );
    assert_eq!(
        info["attributes"]["last_modified"],
        "2024-01-01T00:00:00.000Z"
    );
    assert!(info["attributes"].get("win_attributes").is_none());
    let link = get(&app, &sid, "vm-1001", root(), "/usr/bin/sh")
        .await
        .json();
    assert_eq!(link["type"], "SYMLINK");
    assert_eq!(link["attributes"]["symlink_target"], "bash");
    let dir = get(&app, &sid, "vm-1001", root(), "/tmp").await.json();
    assert_eq!(dir["type"], "DIRECTORY");
    assert_eq!(dir["attributes"]["posix_attributes"]["permissions"], "1777");
}

#[tokio::test]
async fn the_url_path_is_accepted_raw_or_percent_encoded() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let raw = app
        .guest(
            &sid,
            "vm-1001",
            "files//etc/hosts?action=get",
            json!({"credentials": root()}),
        )
        .await;
    assert_eq!(raw.status, StatusCode::OK, "{}", raw.text());
    let encoded = app
        .guest(
            &sid,
            "vm-1001",
            "files/%2Fetc%2Fhosts?action=get",
            json!({"credentials": root()}),
        )
        .await;
    assert_eq!(encoded.json(), raw.json());
    let win = app
        .guest(
            &sid,
            "vm-1002",
            "files/C%3A%5CTemp%5Csetup.log?action=get",
            json!({"credentials": win_admin()}),
        )
        .await;
    assert_eq!(win.status, StatusCode::OK, "{}", win.text());
}

#[tokio::test]
async fn windows_paths_are_case_insensitive_case_preserving_and_accept_slashes() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let info = get(
        &app,
        &sid,
        "vm-1002",
        bob(),
        "c:/users/BOB/documents/REPORT.TXT",
    )
    .await;
    assert_eq!(info.status, StatusCode::OK, "{}", info.text());
    let i = info.json();
    assert_eq!(i["attributes"]["filesystem_family"], "WINDOWS");
    assert_eq!(i["attributes"]["win_attributes"]["hidden"], false);
    assert!(i["attributes"]["win_attributes"].get("created").is_some());
    let r = app
        .guest(
            &sid,
            "vm-1002",
            "directories?action=create",
            json!({"credentials": bob(), "path": "C:\\Users\\bob\\Documents\\MixedCase"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let l = list(
        &app,
        &sid,
        "vm-1002",
        bob(),
        json!({"path": "c:\\USERS\\bob\\documents"}),
    )
    .await;
    assert!(names(&l).contains(&"MixedCase".to_owned()), "{l}");
    let again = app
        .guest(
            &sid,
            "vm-1002",
            "directories?action=create",
            json!({"credentials": bob(), "path": "C:\\Users\\bob\\Documents\\mixedcase"}),
        )
        .await;
    assert_eq!(again.error_type(), "ALREADY_EXISTS");
}

#[tokio::test]
async fn windows_acls_hidden_and_read_only_attributes_are_enforced() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let denied = get(
        &app,
        &sid,
        "vm-1002",
        bob(),
        "C:\\Users\\Administrator\\secret.txt",
    )
    .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert_eq!(
        get(
            &app,
            &sid,
            "vm-1002",
            win_admin(),
            "C:\\Users\\Administrator\\secret.txt"
        )
        .await
        .status,
        StatusCode::OK
    );
    let ro = app
        .guest(
            &sid,
            "vm-1002",
            &format!(
                "files/{}?action=delete",
                enc("C:\\Users\\bob\\Documents\\readonly.txt")
            ),
            json!({"credentials": bob()}),
        )
        .await;
    assert_eq!(
        ro.status,
        StatusCode::FORBIDDEN,
        "a read-only file cannot be deleted"
    );
    let hidden = get(
        &app,
        &sid,
        "vm-1002",
        win_admin(),
        "C:\\ProgramData\\vcmock.ini",
    )
    .await
    .json();
    assert_eq!(hidden["attributes"]["win_attributes"]["hidden"], true);
}

#[tokio::test]
async fn linux_permissions_are_checked_for_real() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    // (who, op tail, body, expected status)
    let table: Vec<(&str, Value, &str, Value, u16)> = vec![
        (
            "alice reads her notes",
            alice(),
            "files?action=list",
            json!({"path": "/home/alice"}),
            200,
        ),
        (
            "alice cannot list /root",
            alice(),
            "files?action=list",
            json!({"path": "/root"}),
            403,
        ),
        (
            "root lists /root",
            root(),
            "files?action=list",
            json!({"path": "/root"}),
            200,
        ),
        (
            "alice cannot write into /etc",
            alice(),
            "directories?action=create",
            json!({"path": "/etc/x"}),
            403,
        ),
        (
            "root writes into /etc",
            root(),
            "directories?action=create",
            json!({"path": "/etc/x"}),
            204,
        ),
        (
            "alice writes into /tmp",
            alice(),
            "directories?action=create",
            json!({"path": "/tmp/alices"}),
            204,
        ),
        (
            "alice cannot download /etc/shadow",
            alice(),
            "../filesystem?action=create",
            json!({"spec": {"path": "/etc/shadow"}}),
            403,
        ),
    ];
    for (what, c, tail, body, status) in table {
        let mut b = body;
        b["credentials"] = c;
        let r = if let Some(t) = tail.strip_prefix("../") {
            app.post(&format!("/api/vcenter/vm/vm-1001/guest/{t}"), &sid, b)
                .await
        } else {
            app.guest(&sid, "vm-1001", tail, b).await
        };
        assert_eq!(r.status.as_u16(), status, "{what}: {}", r.text());
    }
}

#[tokio::test]
async fn the_sticky_tmp_keeps_users_from_removing_each_others_files() {
    let app = TestApp::spawn_with(|b| {
        b.vm(vcmock::Vm::linux("vm-5")
            .guest_user("root", "r")
            .guest_user("u1", "p1")
            .guest_user("u2", "p2"))
    })
    .await;
    let sid = app.login().await;
    let made = app
        .guest(
            &sid,
            "vm-5",
            "files?action=createTemporary",
            json!({"credentials": creds("u1", "p1"), "prefix": "u1", "suffix": ""}),
        )
        .await;
    let path = made.json().as_str().unwrap().to_owned();
    let other = app
        .guest(
            &sid,
            "vm-5",
            &format!("files/{}?action=delete", enc(&path)),
            json!({"credentials": creds("u2", "p2")}),
        )
        .await;
    assert_eq!(other.status, StatusCode::FORBIDDEN);
    let owner = app
        .guest(
            &sid,
            "vm-5",
            &format!("files/{}?action=delete", enc(&path)),
            json!({"credentials": creds("u1", "p1")}),
        )
        .await;
    assert_eq!(owner.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn delete_removes_a_file_or_a_link() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    for path in ["/var/log/app.log", "/usr/bin/sh"] {
        let r = app
            .guest(
                &sid,
                "vm-1001",
                &format!("files/{}?action=delete", enc(path)),
                json!({"credentials": root()}),
            )
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{path}");
        assert_eq!(
            get(&app, &sid, "vm-1001", root(), path).await.status,
            StatusCode::NOT_FOUND
        );
    }
    assert_eq!(
        get(&app, &sid, "vm-1001", root(), "/usr/bin/bash")
            .await
            .status,
        StatusCode::OK,
        "the link target stays"
    );
}

#[tokio::test]
async fn move_renames_across_directories_and_overwrites_only_when_asked() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let mv = |path: &str, new_path: &str, overwrite: Option<bool>| {
        let mut b = json!({"credentials": root(), "path": path, "new_path": new_path});
        if let Some(o) = overwrite {
            b["overwrite"] = json!(o);
        }
        b
    };
    let r = app
        .guest(
            &sid,
            "vm-1001",
            "files?action=move",
            mv("/etc/motd", "/tmp/motd.bak", None),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        get(&app, &sid, "vm-1001", root(), "/etc/motd").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.mock
            .vm("vm-1001")
            .read_file("/tmp/motd.bak")
            .unwrap()
            .unwrap(),
        b"Welcome to linux-01, a vcmock guest.\n"
    );
    let no = app
        .guest(
            &sid,
            "vm-1001",
            "files?action=move",
            mv("/etc/hostname", "/tmp/motd.bak", Some(false)),
        )
        .await;
    assert_eq!(no.error_type(), "ALREADY_EXISTS");
    let yes = app
        .guest(
            &sid,
            "vm-1001",
            "files?action=move",
            mv("/etc/hostname", "/tmp/motd.bak", Some(true)),
        )
        .await;
    assert_eq!(yes.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.mock
            .vm("vm-1001")
            .read_file("/tmp/motd.bak")
            .unwrap()
            .unwrap(),
        b"linux-01\n"
    );
    let aliases = app
        .guest(
            &sid,
            "vm-1001",
            "files?action=move",
            json!({"credentials": root(), "src_path": "/tmp/motd.bak", "dst_path": "/tmp/m2"}),
        )
        .await;
    assert_eq!(
        aliases.status,
        StatusCode::NO_CONTENT,
        "src_path/dst_path are accepted as aliases"
    );
}

#[tokio::test]
async fn update_changes_times_and_posix_attributes_read_back_through_get() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let body = json!({"credentials": root(), "path": "/etc/hosts", "file_attributes": {
        "last_modified": "2023-05-06T07:08:09Z", "last_accessed": "2023-05-06T07:08:10.5Z",
        "posix": {"owner_id": 1000, "group_id": 1000, "permissions": "0600"}}});
    let r = app
        .guest(&sid, "vm-1001", "files?action=update", body)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    let a = get(&app, &sid, "vm-1001", root(), "/etc/hosts")
        .await
        .json()["attributes"]
        .clone();
    assert_eq!(a["last_modified"], "2023-05-06T07:08:09.000Z");
    assert_eq!(a["last_accessed"], "2023-05-06T07:08:10.500Z");
    assert_eq!(
        a["posix_attributes"],
        json!({"owner": 1000, "group": 1000, "permissions": "600"})
    );
    let dir = app.guest(&sid, "vm-1001", "files?action=update", json!({"credentials": root(), "path": "/opt/app", "file_attributes": {"posix": {"permissions": "700"}}})).await;
    assert_eq!(
        dir.status,
        StatusCode::NO_CONTENT,
        "directories can be updated too"
    );
    let bad = app.guest(&sid, "vm-1001", "files?action=update", json!({"credentials": root(), "path": "/etc/hosts", "file_attributes": {"posix": {"permissions": "9"}}})).await;
    assert_eq!(bad.error_type(), "INVALID_ARGUMENT");
}

#[tokio::test]
async fn update_changes_windows_hidden_and_read_only_attributes() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let path = "C:\\Temp\\setup.log";
    let r = app.guest(&sid, "vm-1002", "files?action=update", json!({"credentials": win_admin(), "path": path, "file_attributes": {"windows": {"hidden": true, "read_only": true}}})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    let w =
        get(&app, &sid, "vm-1002", win_admin(), path).await.json()["attributes"]["win_attributes"]
            .clone();
    assert_eq!(
        (w["hidden"].clone(), w["read_only"].clone()),
        (json!(true), json!(true))
    );
    let posix = app.guest(&sid, "vm-1002", "files?action=update", json!({"credentials": win_admin(), "path": path, "file_attributes": {"posix": {"permissions": "644"}}})).await;
    assert_eq!(posix.error_type(), "INVALID_ARGUMENT");
}

#[tokio::test]
async fn directories_are_created_with_or_without_parents_and_moved() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let mk = |path: &str, parents: bool| json!({"credentials": root(), "path": path, "create_parents": parents});
    assert_eq!(
        app.guest(
            &sid,
            "vm-1001",
            "directories?action=create",
            mk("/srv/a/b", false)
        )
        .await
        .error_type(),
        "NOT_FOUND"
    );
    assert_eq!(
        app.guest(
            &sid,
            "vm-1001",
            "directories?action=create",
            mk("/srv/a/b", true)
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        get(&app, &sid, "vm-1001", root(), "/srv/a").await.json()["type"],
        "DIRECTORY"
    );
    let mv = app
        .guest(
            &sid,
            "vm-1001",
            "directories?action=move",
            json!({"credentials": root(), "path": "/srv/a", "new_path": "/opt/a2"}),
        )
        .await;
    assert_eq!(mv.status, StatusCode::NO_CONTENT);
    assert_eq!(
        get(&app, &sid, "vm-1001", root(), "/opt/a2/b").await.json()["type"],
        "DIRECTORY"
    );
    let into_itself = app
        .guest(
            &sid,
            "vm-1001",
            "directories?action=move",
            json!({"credentials": root(), "path": "/opt", "new_path": "/opt/a2/b/opt"}),
        )
        .await;
    assert_eq!(into_itself.error_type(), "INVALID_ARGUMENT");
}

#[tokio::test]
async fn directory_delete_is_recursive_only_when_asked_and_frees_disk_space() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let (_, used_before) = app.mock.vm("vm-1001").disk().unwrap();
    let rm = |recursive: Option<bool>| {
        let mut b = json!({"credentials": root(), "path": "/var/log"});
        if let Some(r) = recursive {
            b["recursive"] = json!(r);
        }
        b
    };
    let no = app
        .guest(
            &sid,
            "vm-1001",
            "directories?action=delete",
            rm(Some(false)),
        )
        .await;
    assert_eq!(no.error_type(), "RESOURCE_IN_USE");
    let yes = app
        .guest(&sid, "vm-1001", "directories?action=delete", rm(Some(true)))
        .await;
    assert_eq!(yes.status, StatusCode::NO_CONTENT);
    let (_, used_after) = app.mock.vm("vm-1001").disk().unwrap();
    assert!(
        used_before - used_after >= 1_048_576,
        "big.log's MiB was freed"
    );
    let empty = app
        .guest(
            &sid,
            "vm-1001",
            "directories?action=create",
            json!({"credentials": root(), "path": "/tmp/e"}),
        )
        .await;
    assert_eq!(empty.status, StatusCode::NO_CONTENT);
    let gone = app
        .guest(
            &sid,
            "vm-1001",
            "directories?action=delete",
            json!({"credentials": root(), "path": "/tmp/e"}),
        )
        .await;
    assert_eq!(
        gone.status,
        StatusCode::NO_CONTENT,
        "an empty directory needs no recursive flag"
    );
}

#[tokio::test]
async fn new_entries_take_their_times_from_the_injected_clock() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    app.clock.advance(Duration::from_secs(1000));
    app.guest(
        &sid,
        "vm-1001",
        "directories?action=create",
        json!({"credentials": root(), "path": "/tmp/later"}),
    )
    .await;
    let a = get(&app, &sid, "vm-1001", root(), "/tmp/later")
        .await
        .json();
    assert_eq!(a["attributes"]["last_modified"], "2024-01-01T00:16:40.000Z");
}

#[tokio::test]
async fn saml_bearer_tokens_and_interactive_sessions_authenticate_as_documented() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let saml = |token: &str| json!({"interactive_session": false, "type": "SAML_BEARER_TOKEN", "saml_token": token});
    let ok = list(
        &app,
        &sid,
        "vm-1001",
        saml("saml-token-alice"),
        json!({"path": "/home/alice"}),
    )
    .await;
    assert!(names(&ok).contains(&"notes.txt".to_owned()));
    let bad = app
        .guest(
            &sid,
            "vm-1001",
            "files?action=list",
            json!({"credentials": saml("nope"), "path": "/tmp"}),
        )
        .await;
    assert_eq!(bad.error_type(), "UNAUTHENTICATED");
    let interactive = |user: &str, pw: &str| json!({"interactive_session": true, "type": "USERNAME_PASSWORD", "user_name": user, "password": pw});
    assert_eq!(
        app.guest(
            &sid,
            "vm-1001",
            "files?action=list",
            json!({"credentials": interactive("alice", "alicepw"), "path": "/tmp"})
        )
        .await
        .status,
        StatusCode::OK
    );
    let root_not_logged_on = app
        .guest(
            &sid,
            "vm-1001",
            "files?action=list",
            json!({"credentials": interactive("root", "rootpw"), "path": "/tmp"}),
        )
        .await;
    assert_eq!(root_not_logged_on.error_type(), "UNAUTHENTICATED");
    assert_eq!(
        root_not_logged_on.json()["messages"][0]["id"],
        "vcmock.guest.auth.no_interactive_session"
    );
}
