//! Names: what a client names stays one name inside its directory, and each guest refuses the
//! names it forbids.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

/// The status, error type and message id of a reply.
fn answer(r: &Reply) -> (u16, String, String) {
    (
        r.status.as_u16(),
        r.error_type(),
        r.json()["messages"][0]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

fn refused_name() -> (u16, String, String) {
    (
        400,
        "INVALID_ARGUMENT".into(),
        "vcmock.guest.name.invalid".into(),
    )
}

#[tokio::test]
async fn a_temporary_name_whose_prefix_or_suffix_would_leave_its_directory_is_refused() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let cases: &[(&str, Value, &str, &str, &str)] = &[
        ("vm-1001", root(), "files", "", "/../../etc/shadow"),
        ("vm-1001", alice(), "files", "../etc/cron.d/evil", ""),
        ("vm-1001", alice(), "directories", "x/", ""),
        ("vm-1001", root(), "files", "a\u{0}b", ""),
        ("vm-1001", root(), "directories", "", "\u{0}"),
        ("vm-1002", win_admin(), "files", "..\\..\\Windows\\evil", ""),
        ("vm-1002", win_admin(), "files", "", "/x"),
        ("vm-1002", bob(), "directories", "a:b", ""),
        ("vm-1002", win_admin(), "files", "", "."),
        ("vm-1002", win_admin(), "files", "", " "),
        ("vm-1002", win_admin(), "files", "CON.", ""),
        ("vm-1002", win_admin(), "directories", "", "<x>"),
    ];
    for (vm, creds, kind, prefix, suffix) in cases {
        let before = listing(&app, &sid, vm).await;
        let r = app
            .guest(
                &sid,
                vm,
                &format!("{kind}?action=createTemporary"),
                json!({"credentials": creds, "prefix": prefix, "suffix": suffix}),
            )
            .await;
        assert_eq!(
            answer(&r),
            refused_name(),
            "{vm} {kind} {prefix:?} {suffix:?}: {}",
            r.text()
        );
        assert_eq!(listing(&app, &sid, vm).await, before, "nothing was made");
    }
    let shadow = app.mock.vm("vm-1001").read_file("/etc/shadow").unwrap();
    assert!(
        shadow.is_some_and(|s| !s.is_empty()),
        "/etc/shadow is untouched"
    );
}

/// The entries of the temporary directories the cases write into on `vm`, as its superuser
/// sees them.
async fn listing(app: &TestApp, sid: &str, vm: &str) -> Vec<Value> {
    let (creds, dirs): (Value, &[&str]) = if vm == "vm-1001" {
        (root(), &["/tmp", "/etc", "/etc/cron.d"])
    } else {
        (
            win_admin(),
            &[
                "C:\\Users\\Administrator\\AppData\\Local\\Temp",
                "C:\\Users\\bob\\AppData\\Local\\Temp",
                "C:\\Windows",
            ],
        )
    };
    let mut out = Vec::new();
    for dir in dirs {
        let r = app
            .guest(
                sid,
                vm,
                "files?action=list",
                json!({"credentials": creds, "path": dir}),
            )
            .await;
        out.push(r.json());
    }
    out
}

#[tokio::test]
async fn a_prefix_and_suffix_that_stay_one_name_make_the_file_inside_the_directory() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let r = app
        .guest(
            &sid,
            "vm-1001",
            "files?action=createTemporary",
            json!({"credentials": alice(), "prefix": "..job-", "suffix": ".log..", "parent_path": "/tmp"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let path = r.json().as_str().unwrap().to_owned();
    assert!(
        path.starts_with("/tmp/..job-") && path.ends_with(".log.."),
        "{path}"
    );
    assert_eq!(path.matches('/').count(), 2, "one name inside /tmp: {path}");
}

#[tokio::test]
async fn windows_refuses_the_names_windows_forbids() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let invalid = (
        400,
        "INVALID_ARGUMENT".to_owned(),
        "vcmock.guest.path.invalid".to_owned(),
    );
    let refused = [
        "C:\\Temp\\CON",
        "C:\\Temp\\nul.txt",
        "C:\\Temp\\Com1",
        "C:\\Temp\\AUX",
        "C:\\Temp\\PRN",
        "C:\\Temp\\lpt1.log",
        "C:\\Temp\\trailing.",
        "C:\\Temp\\trailing ",
        "C:\\Temp\\bell\u{7}",
        "C:\\Temp\\tab\there",
        "C:\\Temp\\CON\\inside",
    ];
    for path in refused {
        let r = app
            .guest(
                &sid,
                "vm-1002",
                "directories?action=create",
                json!({"credentials": win_admin(), "path": path}),
            )
            .await;
        assert_eq!(answer(&r), invalid, "{path:?}: {}", r.text());
    }
    for path in [
        "C:\\Temp\\console",
        "C:\\Temp\\COM10",
        "C:\\Temp\\nul-not",
        "C:\\Temp\\a.b",
    ] {
        let r = app
            .guest(
                &sid,
                "vm-1002",
                "directories?action=create",
                json!({"credentials": win_admin(), "path": path}),
            )
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{path:?}: {}", r.text());
    }
}

#[tokio::test]
async fn a_linux_path_ending_in_a_dot_is_never_removed_or_moved_as_its_directory() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let before = listing(&app, &sid, "vm-1001").await;
    let cases: &[(&str, Value)] = &[
        (
            "directories?action=delete",
            json!({"path": "/tmp/.", "recursive": true}),
        ),
        (
            "directories?action=delete",
            json!({"path": "/tmp/cache/..", "recursive": true}),
        ),
        (
            "directories?action=delete",
            json!({"path": "/etc/./", "recursive": true}),
        ),
        (
            "directories?action=move",
            json!({"path": "/tmp/.", "new_path": "/gone"}),
        ),
        (
            "directories?action=move",
            json!({"path": "/etc/cron.d", "new_path": "/tmp/.."}),
        ),
        (
            "files?action=move",
            json!({"path": "/etc/hosts/..", "new_path": "/gone"}),
        ),
        ("files/%2Fetc%2Fcron.d%2F..?action=delete", json!({})),
    ];
    for (tail, args) in cases {
        let mut body = args.clone();
        body["credentials"] = root();
        let r = app.guest(&sid, "vm-1001", tail, body).await;
        assert_eq!(
            (r.status.as_u16(), r.error_type()),
            (400, "INVALID_ARGUMENT".to_owned()),
            "{tail} {args}: {}",
            r.text()
        );
        assert_eq!(r.json()["messages"][0]["id"], "vcmock.guest.path.invalid");
    }
    assert_eq!(
        listing(&app, &sid, "vm-1001").await,
        before,
        "nothing moved"
    );
}

#[tokio::test]
async fn a_windows_path_ending_in_a_dot_names_its_directory_as_windows_folds_it() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let dir = "C:\\Users\\Administrator\\AppData\\Local\\Temp\\scratch";
    let made = app
        .guest(
            &sid,
            "vm-1002",
            "directories?action=create",
            json!({"credentials": win_admin(), "path": dir}),
        )
        .await;
    assert_eq!(made.status, StatusCode::NO_CONTENT, "{}", made.text());
    let r = app
        .guest(
            &sid,
            "vm-1002",
            "directories?action=delete",
            json!({"credentials": win_admin(), "path": format!("{dir}\\.")}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    assert!(!app.mock.vm("vm-1002").exists(dir).unwrap());
}
