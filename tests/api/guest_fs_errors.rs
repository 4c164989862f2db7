//! Every documented error condition of the ten files and directories operations, table-driven:
//! each row states the documented condition it reproduces, and a test checks that the table
//! covers every `documented_errors` entry of `vcenter-guest-ops.json`.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

/// The ten operations, by their vAPI names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    FilesCreateTemporary,
    FilesList,
    FilesGet,
    FilesDelete,
    FilesMove,
    FilesUpdate,
    DirsCreate,
    DirsDelete,
    DirsMove,
    DirsCreateTemporary,
}

const ALL_OPS: [Op; 10] = [
    Op::FilesCreateTemporary,
    Op::FilesList,
    Op::FilesGet,
    Op::FilesDelete,
    Op::FilesMove,
    Op::FilesUpdate,
    Op::DirsCreate,
    Op::DirsDelete,
    Op::DirsMove,
    Op::DirsCreateTemporary,
];

impl Op {
    fn vapi(self) -> (&'static str, &'static str) {
        let files = "com.vmware.vcenter.vm.guest.filesystem.files";
        let dirs = "com.vmware.vcenter.vm.guest.filesystem.directories";
        match self {
            Op::FilesCreateTemporary => (files, "create_temporary"),
            Op::FilesList => (files, "list"),
            Op::FilesGet => (files, "get"),
            Op::FilesDelete => (files, "delete"),
            Op::FilesMove => (files, "move"),
            Op::FilesUpdate => (files, "update"),
            Op::DirsCreate => (dirs, "create"),
            Op::DirsDelete => (dirs, "delete"),
            Op::DirsMove => (dirs, "move"),
            Op::DirsCreateTemporary => (dirs, "create_temporary"),
        }
    }

    /// Arguments that succeed on vm-1001 as root: the base every row changes.
    fn ok_args(self) -> Value {
        match self {
            Op::FilesCreateTemporary | Op::DirsCreateTemporary => {
                json!({"prefix": "t-", "suffix": ".tmp"})
            }
            Op::FilesList => json!({"path": "/tmp"}),
            Op::FilesGet => json!({"path": "/etc/hosts"}),
            Op::FilesDelete => json!({"path": "/var/log/app.log"}),
            Op::FilesMove => json!({"path": "/etc/motd", "new_path": "/tmp/motd"}),
            Op::FilesUpdate => {
                json!({"path": "/etc/hosts", "file_attributes": {"last_modified": "2024-02-02T00:00:00Z"}})
            }
            Op::DirsCreate => json!({"path": "/tmp/newdir"}),
            Op::DirsDelete => json!({"path": "/home/alice/projects", "recursive": true}),
            Op::DirsMove => json!({"path": "/opt/app", "new_path": "/tmp/app"}),
        }
    }
}

/// Sends `op` on `vm` with `creds` and `args` (merged over the op's working arguments).
async fn call(app: &TestApp, sid: &str, op: Op, vm: &str, creds: Value, args: Value) -> Reply {
    let mut body = op.ok_args();
    for (k, v) in args.as_object().cloned().unwrap_or_default() {
        body[k] = v;
    }
    body["credentials"] = creds;
    let tail = match op {
        Op::FilesCreateTemporary => "files?action=createTemporary".to_owned(),
        Op::FilesList => "files?action=list".to_owned(),
        Op::FilesMove => "files?action=move".to_owned(),
        Op::FilesUpdate => "files?action=update".to_owned(),
        Op::FilesGet | Op::FilesDelete => {
            let path = body.as_object_mut().unwrap().remove("path").unwrap();
            let enc = percent_encode(path.as_str().unwrap());
            let act = if op == Op::FilesGet { "get" } else { "delete" };
            format!("files/{enc}?action={act}")
        }
        Op::DirsCreate => "directories?action=create".to_owned(),
        Op::DirsDelete => "directories?action=delete".to_owned(),
        Op::DirsMove => "directories?action=move".to_owned(),
        Op::DirsCreateTemporary => "directories?action=createTemporary".to_owned(),
    };
    app.guest(sid, vm, &tail, body).await
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Who makes the call.
#[derive(Debug, Clone, Copy)]
enum Who {
    Root,
    Alice,
    BadPassword,
    ReadOnlyVcUser,
}

/// One documented condition and how to reproduce it.
struct Row {
    op: Op,
    /// The documented error (as in `vcenter-guest-ops.json`).
    error: &'static str,
    /// A distinctive part of the documented condition sentence.
    condition: &'static str,
    vm: &'static str,
    who: Who,
    args: Value,
    status: u16,
    error_type: &'static str,
    /// `(reason, file_path)` of the expected FileErrorDetails.
    data: Option<(&'static str, &'static str)>,
}

fn long_path() -> String {
    format!("/tmp/{}", "a".repeat(4100))
}

fn long_name() -> String {
    format!("/tmp/{}", "b".repeat(300))
}

fn common_rows() -> Vec<Row> {
    let mut rows = Vec::new();
    for op in ALL_OPS {
        let row = |error, condition, vm, who, status, error_type| Row {
            op,
            error,
            condition,
            vm,
            who,
            args: json!({}),
            status,
            error_type,
            data: None,
        };
        rows.push(row(
            "NotFound",
            "virtual machine is not found",
            "vm-9999",
            Who::Root,
            404,
            "NOT_FOUND",
        ));
        rows.push(row(
            "NotAllowedInCurrentState",
            "not running",
            "vm-1003",
            Who::Root,
            400,
            "NOT_ALLOWED_IN_CURRENT_STATE",
        ));
        rows.push(row(
            "ServiceUnavailable",
            "VMware Tools is not running",
            "vm-1005",
            Who::Root,
            503,
            "SERVICE_UNAVAILABLE",
        ));
        rows.push(row(
            "Unsupported",
            "not supported by the VMware Tools",
            "vm-1006",
            Who::Root,
            400,
            "UNSUPPORTED",
        ));
        rows.push(row(
            "Unsupported",
            "disabled by the VMware Tools",
            "vm-77",
            Who::Root,
            400,
            "UNSUPPORTED",
        ));
        rows.push(row(
            "ResourceBusy",
            "virtual machine is busy",
            "vm-busy",
            Who::Root,
            500,
            "RESOURCE_BUSY",
        ));
        rows.push(row(
            "Unauthenticated",
            "credentials",
            "vm-1001",
            Who::BadPassword,
            401,
            "UNAUTHENTICATED",
        ));
        rows.push(row(
            "Unauthorized",
            "privileges",
            "vm-1001",
            Who::ReadOnlyVcUser,
            403,
            "UNAUTHORIZED",
        ));
    }
    rows
}

fn specific_rows() -> Vec<Row> {
    let lp = long_path();
    let ln = long_name();
    let r = |op, error, condition, who, args: Value, status, error_type, data| Row {
        op,
        error,
        condition,
        vm: "vm-1001",
        who,
        args,
        status,
        error_type,
        data,
    };
    let inv = "INVALID_ARGUMENT";
    let nf = "NOT_FOUND";
    let denied = "UNAUTHORIZED";
    let mut rows = Vec::new();
    for op in [Op::FilesCreateTemporary, Op::DirsCreateTemporary] {
        rows.extend([
            r(
                op,
                "InvalidArgument",
                "is not a directory",
                Who::Root,
                json!({"parent_path": "/etc/hosts"}),
                400,
                inv,
                Some(("NOT_A_DIRECTORY", "/etc/hosts")),
            ),
            r(
                op,
                "InvalidArgument",
                "parent_path`` is too long",
                Who::Root,
                json!({"parent_path": lp}),
                400,
                inv,
                Some(("PATH_TOO_LONG", "LONG")),
            ),
            r(
                op,
                "NotFound",
                "does not exist",
                Who::Root,
                json!({"parent_path": "/nope"}),
                404,
                nf,
                Some(("FILE_NOT_FOUND", "/nope")),
            ),
            r(
                op,
                "Unauthorized",
                "parent_path`` cannot be accessed",
                Who::Alice,
                json!({"parent_path": "/root"}),
                403,
                denied,
                None,
            ),
            r(
                op,
                "Unauthorized",
                "cannot be created because the guest authentication",
                Who::Alice,
                json!({"parent_path": "/etc"}),
                403,
                denied,
                None,
            ),
        ]);
    }
    for op in [Op::FilesList, Op::FilesGet] {
        rows.extend([
            r(
                op,
                "InvalidArgument",
                "is too long",
                Who::Root,
                json!({"path": ln}),
                400,
                inv,
                Some(("PATH_TOO_LONG", "LONG")),
            ),
            r(
                op,
                "NotFound",
                "is not found",
                Who::Root,
                json!({"path": "/tmp/none"}),
                404,
                nf,
                Some(("FILE_NOT_FOUND", "/tmp/none")),
            ),
            r(
                op,
                "Unauthorized",
                "cannot be accessed",
                Who::Alice,
                json!({"path": "/root/secret.txt"}),
                403,
                denied,
                None,
            ),
            r(
                op,
                "Unauthorized",
                "cannot be listed because",
                Who::Alice,
                json!({"path": "/root/secret.txt"}),
                403,
                denied,
                None,
            ),
        ]);
    }
    rows.push(r(
        Op::FilesList,
        "Unauthorized",
        "cannot be listed because",
        Who::Alice,
        json!({"path": "/root"}),
        403,
        denied,
        None,
    ));
    rows.extend([
        r(
            Op::FilesDelete,
            "InvalidArgument",
            "is not a file",
            Who::Root,
            json!({"path": "/etc"}),
            400,
            inv,
            Some(("NOT_A_FILE", "/etc")),
        ),
        r(
            Op::FilesDelete,
            "InvalidArgument",
            "is too long",
            Who::Root,
            json!({"path": ln}),
            400,
            inv,
            Some(("PATH_TOO_LONG", "LONG")),
        ),
        r(
            Op::FilesDelete,
            "NotFound",
            "is not found",
            Who::Root,
            json!({"path": "/tmp/none"}),
            404,
            nf,
            Some(("FILE_NOT_FOUND", "/tmp/none")),
        ),
        r(
            Op::FilesDelete,
            "Unauthorized",
            "cannot be accessed",
            Who::Alice,
            json!({"path": "/root/secret.txt"}),
            403,
            denied,
            None,
        ),
        r(
            Op::FilesDelete,
            "Unauthorized",
            "cannot be deleted because",
            Who::Alice,
            json!({"path": "/etc/hosts"}),
            403,
            denied,
            None,
        ),
        r(
            Op::FilesMove,
            "AlreadyExists",
            "already exists and ``overwrite`` is false",
            Who::Root,
            json!({"path": "/etc/hostname", "new_path": "/etc/motd"}),
            400,
            "ALREADY_EXISTS",
            None,
        ),
        r(
            Op::FilesMove,
            "InvalidArgument",
            "``path`` is not a file",
            Who::Root,
            json!({"path": "/etc", "new_path": "/tmp/etc"}),
            400,
            inv,
            Some(("NOT_A_FILE", "/etc")),
        ),
        r(
            Op::FilesMove,
            "InvalidArgument",
            "``path`` is too long",
            Who::Root,
            json!({"path": ln}),
            400,
            inv,
            Some(("PATH_TOO_LONG", "LONG")),
        ),
        r(
            Op::FilesMove,
            "InvalidArgument",
            "``new_path`` is too long",
            Who::Root,
            json!({"new_path": ln}),
            400,
            inv,
            Some(("PATH_TOO_LONG", "LONG")),
        ),
        r(
            Op::FilesMove,
            "NotFound",
            "``path`` does not exist",
            Who::Root,
            json!({"path": "/tmp/none"}),
            404,
            nf,
            Some(("FILE_NOT_FOUND", "/tmp/none")),
        ),
        r(
            Op::FilesMove,
            "NotFound",
            "parent directory of ``new_path``",
            Who::Root,
            json!({"new_path": "/nope/motd"}),
            404,
            nf,
            Some(("FILE_NOT_FOUND", "/nope")),
        ),
        r(
            Op::FilesMove,
            "Unauthorized",
            "a path cannot be accessed",
            Who::Alice,
            json!({"path": "/root/secret.txt"}),
            403,
            denied,
            None,
        ),
        r(
            Op::FilesMove,
            "Unauthorized",
            "cannot be renamed because",
            Who::Alice,
            json!({"path": "/etc/hosts", "new_path": "/tmp/h"}),
            403,
            denied,
            None,
        ),
        r(
            Op::FilesUpdate,
            "InvalidArgument",
            "does not apply to the guest",
            Who::Root,
            json!({"file_attributes": {"windows": {"hidden": true}}}),
            400,
            inv,
            None,
        ),
        r(
            Op::FilesUpdate,
            "InvalidArgument",
            "is not a file",
            Who::Root,
            json!({"path": "/dev/null"}),
            400,
            inv,
            Some(("NOT_A_FILE", "/dev/null")),
        ),
        r(
            Op::FilesUpdate,
            "InvalidArgument",
            "is too long",
            Who::Root,
            json!({"path": ln}),
            400,
            inv,
            Some(("PATH_TOO_LONG", "LONG")),
        ),
        r(
            Op::FilesUpdate,
            "NotFound",
            "is not found",
            Who::Root,
            json!({"path": "/tmp/none"}),
            404,
            nf,
            Some(("FILE_NOT_FOUND", "/tmp/none")),
        ),
        r(
            Op::FilesUpdate,
            "Unauthorized",
            "cannot be accessed",
            Who::Alice,
            json!({"path": "/root/secret.txt"}),
            403,
            denied,
            None,
        ),
        r(
            Op::FilesUpdate,
            "Unauthorized",
            "cannot be updated because",
            Who::Alice,
            json!({"path": "/etc/hosts"}),
            403,
            denied,
            None,
        ),
        r(
            Op::DirsCreate,
            "AlreadyExists",
            "already exists",
            Who::Root,
            json!({"path": "/etc"}),
            400,
            "ALREADY_EXISTS",
            None,
        ),
        r(
            Op::DirsCreate,
            "AlreadyExists",
            "already exists",
            Who::Root,
            json!({"path": "/etc", "create_parents": true}),
            400,
            "ALREADY_EXISTS",
            None,
        ),
        r(
            Op::DirsCreate,
            "InvalidArgument",
            "is too long",
            Who::Root,
            json!({"path": ln}),
            400,
            inv,
            Some(("PATH_TOO_LONG", "LONG")),
        ),
        r(
            Op::DirsCreate,
            "NotFound",
            "create_parents`` is not set",
            Who::Root,
            json!({"path": "/nope/sub"}),
            404,
            nf,
            Some(("FILE_NOT_FOUND", "/nope")),
        ),
        r(
            Op::DirsCreate,
            "Unauthorized",
            "cannot be created because",
            Who::Alice,
            json!({"path": "/etc/newdir"}),
            403,
            denied,
            None,
        ),
        r(
            Op::DirsDelete,
            "InvalidArgument",
            "is not a directory",
            Who::Root,
            json!({"path": "/etc/hosts"}),
            400,
            inv,
            Some(("NOT_A_DIRECTORY", "/etc/hosts")),
        ),
        r(
            Op::DirsDelete,
            "InvalidArgument",
            "is too long",
            Who::Root,
            json!({"path": ln}),
            400,
            inv,
            Some(("PATH_TOO_LONG", "LONG")),
        ),
        r(
            Op::DirsDelete,
            "NotFound",
            "is not found",
            Who::Root,
            json!({"path": "/tmp/none"}),
            404,
            nf,
            Some(("FILE_NOT_FOUND", "/tmp/none")),
        ),
        r(
            Op::DirsDelete,
            "ResourceInUse",
            "has content and ``recursive`` is None",
            Who::Root,
            json!({"path": "/etc", "recursive": null}),
            400,
            "RESOURCE_IN_USE",
            Some(("DIRECTORY_NOT_EMPTY", "/etc")),
        ),
        r(
            Op::DirsDelete,
            "Unauthorized",
            "cannot be accessed",
            Who::Alice,
            json!({"path": "/root/sub"}),
            403,
            denied,
            None,
        ),
        r(
            Op::DirsDelete,
            "Unauthorized",
            "cannot be deleted because",
            Who::Alice,
            json!({"path": "/home/alice", "recursive": true}),
            403,
            denied,
            None,
        ),
        r(
            Op::DirsMove,
            "AlreadyExists",
            "already exists",
            Who::Root,
            json!({"new_path": "/etc"}),
            400,
            "ALREADY_EXISTS",
            None,
        ),
        r(
            Op::DirsMove,
            "InvalidArgument",
            "is not a directory",
            Who::Root,
            json!({"path": "/etc/hosts"}),
            400,
            inv,
            Some(("NOT_A_DIRECTORY", "/etc/hosts")),
        ),
        r(
            Op::DirsMove,
            "InvalidArgument",
            "``path`` is too long",
            Who::Root,
            json!({"path": ln}),
            400,
            inv,
            Some(("PATH_TOO_LONG", "LONG")),
        ),
        r(
            Op::DirsMove,
            "InvalidArgument",
            "``new_path`` is too long",
            Who::Root,
            json!({"new_path": ln}),
            400,
            inv,
            Some(("PATH_TOO_LONG", "LONG")),
        ),
        r(
            Op::DirsMove,
            "NotFound",
            "``path`` is not found",
            Who::Root,
            json!({"path": "/tmp/none"}),
            404,
            nf,
            Some(("FILE_NOT_FOUND", "/tmp/none")),
        ),
        r(
            Op::DirsMove,
            "NotFound",
            "parent directory of ``new_path``",
            Who::Root,
            json!({"new_path": "/nope/app"}),
            404,
            nf,
            Some(("FILE_NOT_FOUND", "/nope")),
        ),
        r(
            Op::DirsMove,
            "Unauthorized",
            "a path cannot be accessed",
            Who::Alice,
            json!({"path": "/root/sub"}),
            403,
            denied,
            None,
        ),
        r(
            Op::DirsMove,
            "Unauthorized",
            "cannot be renamed or moved because",
            Who::Alice,
            json!({"path": "/opt/app", "new_path": "/opt/app2"}),
            403,
            denied,
            None,
        ),
    ]);
    rows
}

async fn server() -> TestApp {
    TestApp::spawn_with(|b| {
        b.vm(vcmock::Vm::linux("vm-77")
            .guest_user("root", "rootpw")
            .guest_operations_disabled())
            .vm(vcmock::Vm::linux("vm-busy").guest_user("root", "rootpw"))
    })
    .await
}

async fn check(rows: Vec<Row>) {
    let app = server().await;
    for row in rows {
        // Each row runs against the fixture as loaded.
        app.mock.reset();
        app.mock.vm("vm-busy").set_busy(true).unwrap();
        let admin = app.login().await;
        let readonly = app.login_as(READONLY).await;
        let (sid, creds) = match row.who {
            Who::Root => (&admin, root()),
            Who::Alice => (&admin, alice()),
            Who::BadPassword => (&admin, creds("root", "wrong")),
            Who::ReadOnlyVcUser => (&readonly, root()),
        };
        let r = call(&app, sid, row.op, row.vm, creds, row.args.clone()).await;
        let what = format!(
            "{:?} / {} / {} / {}: {}",
            row.op,
            row.error,
            row.condition,
            row.args,
            r.text()
        );
        assert_eq!(r.status.as_u16(), row.status, "{what}");
        assert_eq!(r.content_type(), "application/json", "{what}");
        assert_eq!(r.error_type(), row.error_type, "{what}");
        let data = r.json()["data"].clone();
        match row.data {
            None => assert!(data.is_null(), "{what}: unexpected data"),
            Some((reason, path)) => {
                assert_eq!(data["reason"], reason, "{what}");
                if path == "LONG" {
                    assert!(data["file_path"].as_str().unwrap().len() > 255, "{what}");
                } else {
                    assert_eq!(data["file_path"], path, "{what}");
                }
            }
        }
    }
}

#[tokio::test]
async fn the_common_checks_answer_vcenters_errors_for_every_operation() {
    check(common_rows()).await;
}

#[tokio::test]
async fn every_operation_specific_condition_answers_its_documented_error_and_data() {
    check(specific_rows()).await;
}

#[tokio::test]
async fn the_common_checks_run_in_vcenters_order() {
    let app = server().await;
    let sid = app.login().await;
    let ro = app.login_as(READONLY).await;
    // (vm, session, guest credentials, expected error type): each row breaks every later check too.
    let table: Vec<(&str, &str, Value, &str)> = vec![
        ("vm-9999", &ro, creds("root", "wrong"), "NOT_FOUND"),
        ("vm-1003", &ro, creds("root", "wrong"), "UNAUTHORIZED"),
        (
            "vm-1003",
            &sid,
            creds("root", "wrong"),
            "NOT_ALLOWED_IN_CURRENT_STATE",
        ),
        (
            "vm-1005",
            &sid,
            creds("root", "wrong"),
            "SERVICE_UNAVAILABLE",
        ),
        ("vm-1006", &sid, creds("root", "wrong"), "UNSUPPORTED"),
        ("vm-1001", &sid, creds("root", "wrong"), "UNAUTHENTICATED"),
        ("vm-1001", &ro, creds("root", "wrong"), "UNAUTHORIZED"),
    ];
    app.mock.vm("vm-1001").set_busy(true).unwrap();
    for (vm, s, c, expected) in table {
        let r = call(&app, s, Op::FilesList, vm, c, json!({})).await;
        assert_eq!(r.error_type(), expected, "{vm}");
    }
    let r = call(&app, &sid, Op::FilesList, "vm-1001", root(), json!({})).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(r.error_type(), "RESOURCE_BUSY");
}

#[tokio::test]
async fn a_user_without_the_guest_privilege_learns_nothing_about_guest_passwords() {
    let app = server().await;
    let ro = app.login_as(READONLY).await;
    let wrong = call(
        &app,
        &ro,
        Op::FilesList,
        "vm-1001",
        creds("root", "wrong"),
        json!({}),
    )
    .await;
    let right = call(&app, &ro, Op::FilesList, "vm-1001", root(), json!({})).await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    assert_eq!((wrong.status, wrong.json()), (right.status, right.json()));
}

#[tokio::test]
async fn missing_or_incomplete_credentials_are_invalid_argument() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let table: Vec<(&str, Value)> = vec![
        ("no credentials", json!({"path": "/tmp"})),
        (
            "no interactive_session",
            json!({"path": "/tmp", "credentials": {"type": "USERNAME_PASSWORD", "user_name": "root", "password": "rootpw"}}),
        ),
        (
            "no type",
            json!({"path": "/tmp", "credentials": {"interactive_session": false, "user_name": "root", "password": "rootpw"}}),
        ),
        (
            "no password",
            json!({"path": "/tmp", "credentials": {"interactive_session": false, "type": "USERNAME_PASSWORD", "user_name": "root"}}),
        ),
        (
            "no saml token",
            json!({"path": "/tmp", "credentials": {"interactive_session": false, "type": "SAML_BEARER_TOKEN"}}),
        ),
        ("no path", json!({"credentials": root()})),
    ];
    for (what, body) in table {
        let r = app.guest(&sid, "vm-1001", "files?action=list", body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{what}: {}", r.text());
        assert_eq!(r.error_type(), "INVALID_ARGUMENT", "{what}");
    }
}

#[tokio::test]
async fn path_rules_reject_relative_nul_and_overlong_paths_and_never_escape_the_root() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let table: Vec<(&str, String, u16, Option<&str>)> = vec![
        ("relative", "etc/hosts".into(), 400, None),
        ("NUL byte", "/etc/ho\u{0}sts".into(), 400, None),
        (
            "4096-byte path",
            format!("/{}", "a/".repeat(2048)),
            400,
            Some("PATH_TOO_LONG"),
        ),
        (
            "256-byte name",
            format!("/{}", "n".repeat(256)),
            400,
            Some("PATH_TOO_LONG"),
        ),
        (
            "dot-dot above the root",
            "/../../../etc/hosts".into(),
            200,
            None,
        ),
        ("dot segments", "/etc/./../etc/hosts".into(), 200, None),
    ];
    for (what, path, status, reason) in table {
        let r = app
            .guest(
                &sid,
                "vm-1001",
                &format!("files/{}?action=get", percent_encode(&path)),
                json!({"credentials": root()}),
            )
            .await;
        assert_eq!(r.status.as_u16(), status, "{what}: {}", r.text());
        if let Some(reason) = reason {
            assert_eq!(r.json()["data"]["reason"], reason, "{what}");
        }
        if status == 200 {
            assert_eq!(r.json()["size"], 80, "{what} resolves to /etc/hosts");
        }
    }
    let win = app
        .guest(
            &sid,
            "vm-1002",
            &format!(
                "files/{}?action=get",
                percent_encode(&format!("C:\\{}", "w".repeat(260)))
            ),
            json!({"credentials": win_admin()}),
        )
        .await;
    assert_eq!(win.json()["data"]["reason"], "PATH_TOO_LONG");
    let unc = app
        .guest(
            &sid,
            "vm-1002",
            &format!(
                "files/{}?action=get",
                percent_encode("\\\\server\\share\\x")
            ),
            json!({"credentials": win_admin()}),
        )
        .await;
    assert_eq!(unc.error_type(), "INVALID_ARGUMENT");
}

/// The documented conditions, read from the shared spec (skipped with a note when absent).
fn documented() -> Option<Vec<(String, String, String, String)>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/spec/vcenter-guest-ops.json");
    let text = std::fs::read_to_string(&path).ok()?;
    let spec: Value = serde_json::from_str(&text).ok()?;
    let mut out = Vec::new();
    for s in spec["services"].as_array()? {
        let service = s["service_id"].as_str()?;
        if !service.ends_with(".files") && !service.ends_with(".directories") {
            continue;
        }
        for o in s["operations"].as_array()? {
            for e in o["documented_errors"].as_array()? {
                out.push((
                    service.to_owned(),
                    o["operation_id"].as_str()?.to_owned(),
                    e["error"].as_str()?.to_owned(),
                    e["condition"].as_str()?.to_owned(),
                ));
            }
        }
    }
    Some(out)
}

#[test]
fn the_table_covers_every_documented_condition_of_the_ten_operations() {
    let Some(documented) = documented() else {
        eprintln!("note: ../shared/spec/vcenter-guest-ops.json not found; coverage not checked");
        return;
    };
    assert!(
        documented.len() >= 130,
        "expected about 135 conditions, found {}",
        documented.len()
    );
    let rows: Vec<Row> = common_rows().into_iter().chain(specific_rows()).collect();
    let mut missing = Vec::new();
    for (service, op, error, condition) in &documented {
        let covered = rows.iter().any(|r| {
            let (s, o) = r.op.vapi();
            s == service && o == op && r.error == error && condition.contains(r.condition)
        });
        if !covered {
            missing.push(format!("{service}.{op}: {error}: {condition}"));
        }
    }
    assert!(
        missing.is_empty(),
        "documented conditions without a row:\n{}",
        missing.join("\n")
    );
}
