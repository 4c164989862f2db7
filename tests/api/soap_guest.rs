//! `/sdk` guest operations (issue 18): `GuestAuthManager` and `GuestFileManager` over the fake
//! guest, each method on the operation REST runs for the same thing. One row per fault
//! condition with the exact vim25 fault type and detail, the listing's paging and attributes,
//! transfers, and the cross-wire cases.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{READONLY, TestApp, power, root};
use crate::soap::{Answer, call, login, login_as, text_of};

const FM: (&str, &str) = ("GuestFileManager", "guestOperationsFileManager");
const AM: (&str, &str) = ("GuestAuthManager", "guestOperationsAuthManager");

/// `NamePasswordAuthentication` as pyVmomi writes it.
pub fn password(user: &str, pw: &str) -> String {
    format!(
        r#"<auth versionId="8.0.3.0" xsi:type="NamePasswordAuthentication"><interactiveSession>false</interactiveSession><username>{user}</username><password>{pw}</password></auth>"#
    )
}

/// root on the Linux guest.
pub fn as_root() -> String {
    password("root", "rootpw")
}

/// Administrator on the Windows guest.
pub fn as_admin() -> String {
    password("Administrator", "AdminPw1!")
}

/// The `vm` parameter.
pub fn vm(id: &str) -> String {
    format!(r#"<vm versionId="8.0.3.0" type="VirtualMachine">{id}</vm>"#)
}

/// Calls a guest method on `this` for `vm_id` with `auth` and further `params`.
pub async fn guest(
    app: &TestApp,
    cookie: &str,
    this: (&str, &str),
    method: &str,
    vm_id: &str,
    auth: &str,
    params: &str,
) -> Answer {
    call(
        app,
        Some(cookie),
        method,
        this,
        &format!("{}{auth}{params}", vm(vm_id)),
    )
    .await
}

/// A guest file method as root on vm-1001 that must succeed.
async fn ok(app: &TestApp, cookie: &str, method: &str, params: &str) -> Answer {
    let a = guest(app, cookie, FM, method, "vm-1001", &as_root(), params).await;
    assert_eq!(a.status, StatusCode::OK, "{method}: {}", a.text);
    a
}

/// The file names of a `GuestListFileInfo`.
fn names(a: &Answer) -> Vec<String> {
    a.returnval()
        .all("files")
        .map(|f| f.child_text("path").unwrap().to_owned())
        .collect()
}

fn remaining(a: &Answer) -> i64 {
    a.returnval()
        .child_text("remaining")
        .unwrap()
        .parse()
        .unwrap()
}

async fn server() -> TestApp {
    TestApp::spawn_with(|b| {
        b.vm(vcmock::Vm::linux("vm-77")
            .guest_user("root", "rootpw")
            .guest_operations_disabled())
            .vm(vcmock::Vm::linux("vm-busy").guest_user("root", "rootpw"))
            .vm(vcmock::Vm::linux("vm-small")
                .guest_user("root", "rootpw")
                .disk_capacity(1000)
                .dir("/tmp"))
    })
    .await
}

#[tokio::test]
async fn validate_credentials_accepts_good_ones_and_answers_vcenters_invalid_guest_login() {
    let app = TestApp::spawn().await;
    let cookie = login(&app).await;
    let a = guest(
        &app,
        &cookie,
        AM,
        "ValidateCredentialsInGuest",
        "vm-1001",
        &as_root(),
        "",
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.body().name, "ValidateCredentialsInGuestResponse");
    assert!(a.body().children.is_empty(), "{}", a.text);
    let a = guest(
        &app,
        &cookie,
        AM,
        "ValidateCredentialsInGuest",
        "vm-1002",
        &as_admin(),
        "",
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let saml = r#"<auth xsi:type="SAMLTokenAuthentication"><interactiveSession>false</interactiveSession><token>saml-token-alice</token></auth>"#;
    let a = guest(
        &app,
        &cookie,
        AM,
        "ValidateCredentialsInGuest",
        "vm-1001",
        saml,
        "",
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let a = guest(
        &app,
        &cookie,
        AM,
        "ValidateCredentialsInGuest",
        "vm-1001",
        &password("root", "wrong"),
        "",
    )
    .await;
    assert_eq!(a.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        a.fault().as_deref(),
        Some("InvalidGuestLogin"),
        "{}",
        a.text
    );
    assert_eq!(
        text_of(a.body(), "faultstring").as_deref(),
        Some(
            "Failed to authenticate with the guest operating system using the supplied credentials."
        )
    );
}

/// One fault condition: the call, and the fault type and one detail field it must answer with.
struct Row {
    condition: &'static str,
    this: (&'static str, &'static str),
    method: &'static str,
    vm: &'static str,
    auth: String,
    params: &'static str,
    fault: &'static str,
    detail: Option<(&'static str, &'static str)>,
}

fn row(
    condition: &'static str,
    method: &'static str,
    vm: &'static str,
    auth: String,
    params: &'static str,
    fault: &'static str,
    detail: Option<(&'static str, &'static str)>,
) -> Row {
    let this = if method == "ValidateCredentialsInGuest" {
        AM
    } else {
        FM
    };
    Row {
        condition,
        this,
        method,
        vm,
        auth,
        params,
        fault,
        detail,
    }
}

const LIST_TMP: &str = "<filePath>/tmp</filePath>";

fn fault_rows() -> Vec<Row> {
    let r = as_root;
    let alice = || password("alice", "alicepw");
    let win = as_admin;
    vec![
        // credentials
        row("a wrong guest password", "ListFilesInGuest", "vm-1001", password("root", "wrong"), LIST_TMP, "InvalidGuestLogin", None),
        row("an unknown guest user", "ValidateCredentialsInGuest", "vm-1001", password("mallory", "x"), "", "InvalidGuestLogin", None),
        row("an unknown SAML token", "ListFilesInGuest", "vm-1001", r#"<auth xsi:type="SAMLTokenAuthentication"><interactiveSession>false</interactiveSession><token>nope</token></auth>"#.into(), LIST_TMP, "InvalidGuestLogin", None),
        row("an interactive session for a user without one", "ListFilesInGuest", "vm-1001", r#"<auth xsi:type="NamePasswordAuthentication"><interactiveSession>true</interactiveSession><username>root</username><password>rootpw</password></auth>"#.into(), LIST_TMP, "InvalidGuestLogin", None),
        row("the guest user may not read the directory", "ListFilesInGuest", "vm-1001", alice(), "<filePath>/root</filePath>", "GuestPermissionDenied", None),
        row("the guest user may not write there", "MakeDirectoryInGuest", "vm-1001", alice(), "<directoryPath>/etc/x</directoryPath><createParentDirectories>false</createParentDirectories>", "GuestPermissionDenied", None),
        row("authentication without a type", "ListFilesInGuest", "vm-1001", "<auth><username>root</username><password>rootpw</password></auth>".into(), LIST_TMP, "InvalidArgument", None),
        row("no authentication", "ListFilesInGuest", "vm-1001", String::new(), LIST_TMP, "InvalidArgument", Some(("invalidProperty", "auth"))),
        // state, in vCenter's order
        row("the VM is powered off", "ListFilesInGuest", "vm-1003", r(), LIST_TMP, "InvalidPowerState", Some(("existingState", "poweredOff"))),
        row("the VM is suspended", "MakeDirectoryInGuest", "vm-1004", r(), "<directoryPath>/tmp/x</directoryPath><createParentDirectories>false</createParentDirectories>", "InvalidPowerState", Some(("existingState", "suspended"))),
        row("a powered-off VM is checked before the credentials", "ValidateCredentialsInGuest", "vm-1003", password("root", "wrong"), "", "InvalidPowerState", Some(("requestedState", "poweredOn"))),
        row("VMware Tools is not running", "ListFilesInGuest", "vm-1005", r(), LIST_TMP, "GuestOperationsUnavailable", None),
        row("VMware Tools is too old", "ListFilesInGuest", "vm-1006", r(), LIST_TMP, "GuestComponentsOutOfDate", None),
        row("guest operations are disabled in the guest", "DeleteFileInGuest", "vm-77", r(), "<filePath>/tmp/x</filePath>", "OperationDisabledByGuest", None),
        row("the VM is busy", "ListFilesInGuest", "vm-busy", r(), LIST_TMP, "TaskInProgress", None),
        row("no such VM", "ListFilesInGuest", "vm-9999", r(), LIST_TMP, "ManagedObjectNotFound", Some(("obj", "vm-9999"))),
        // files
        row("listing a missing path", "ListFilesInGuest", "vm-1001", r(), "<filePath>/tmp/enoent</filePath>", "FileNotFound", Some(("file", "/tmp/enoent"))),
        row("making a directory that exists", "MakeDirectoryInGuest", "vm-1001", r(), "<directoryPath>/tmp</directoryPath><createParentDirectories>false</createParentDirectories>", "FileAlreadyExists", Some(("file", "/tmp"))),
        row("making a directory whose parent is missing", "MakeDirectoryInGuest", "vm-1001", r(), "<directoryPath>/tmp/no/child</directoryPath><createParentDirectories>false</createParentDirectories>", "FileNotFound", Some(("file", "/tmp/no"))),
        row("deleting a directory as a file", "DeleteFileInGuest", "vm-1001", r(), "<filePath>/etc</filePath>", "NotAFile", Some(("file", "/etc"))),
        row("deleting a missing file", "DeleteFileInGuest", "vm-1001", r(), "<filePath>/tmp/enoent</filePath>", "FileNotFound", Some(("file", "/tmp/enoent"))),
        row("moving a directory as a file (govc guest.mv relies on it)", "MoveFileInGuest", "vm-1001", r(), "<srcFilePath>/opt/app</srcFilePath><dstFilePath>/tmp/app</dstFilePath><overwrite>false</overwrite>", "NotAFile", Some(("file", "/opt/app"))),
        row("moving a file onto one without overwrite", "MoveFileInGuest", "vm-1001", r(), "<srcFilePath>/etc/motd</srcFilePath><dstFilePath>/etc/hosts</dstFilePath><overwrite>false</overwrite>", "FileAlreadyExists", Some(("file", "/etc/hosts"))),
        row("moving a file as a directory", "MoveDirectoryInGuest", "vm-1001", r(), "<srcDirectoryPath>/etc/motd</srcDirectoryPath><dstDirectoryPath>/tmp/m</dstDirectoryPath>", "NotADirectory", Some(("file", "/etc/motd"))),
        row("moving a directory onto one that exists", "MoveDirectoryInGuest", "vm-1001", r(), "<srcDirectoryPath>/opt/app</srcDirectoryPath><dstDirectoryPath>/tmp</dstDirectoryPath>", "FileAlreadyExists", Some(("file", "/tmp"))),
        row("deleting a file as a directory", "DeleteDirectoryInGuest", "vm-1001", r(), "<directoryPath>/etc/hosts</directoryPath><recursive>false</recursive>", "NotADirectory", Some(("file", "/etc/hosts"))),
        row("deleting a directory with content, not recursively", "DeleteDirectoryInGuest", "vm-1001", r(), "<directoryPath>/etc</directoryPath><recursive>false</recursive>", "DirectoryNotEmpty", Some(("file", "/etc"))),
        row("a temporary file in a file", "CreateTemporaryFileInGuest", "vm-1001", r(), "<prefix>a</prefix><suffix>b</suffix><directoryPath>/etc/hosts</directoryPath>", "NotADirectory", Some(("file", "/etc/hosts"))),
        row("a temporary directory in a missing directory", "CreateTemporaryDirectoryInGuest", "vm-1001", r(), "<prefix>a</prefix><suffix>b</suffix><directoryPath>/enoent</directoryPath>", "FileNotFound", Some(("file", "/enoent"))),
        row("a temporary name with a path separator", "CreateTemporaryFileInGuest", "vm-1001", r(), "<prefix>../a</prefix><suffix></suffix>", "InvalidArgument", Some(("invalidProperty", "prefix"))),
        row("an upload onto a file without overwrite", "InitiateFileTransferToGuest", "vm-1001", r(), "<guestFilePath>/etc/hosts</guestFilePath><fileAttributes/><fileSize>3</fileSize><overwrite>false</overwrite>", "FileAlreadyExists", Some(("file", "/etc/hosts"))),
        row("an upload onto a directory", "InitiateFileTransferToGuest", "vm-1001", r(), "<guestFilePath>/tmp</guestFilePath><fileAttributes/><fileSize>3</fileSize><overwrite>true</overwrite>", "NotAFile", Some(("file", "/tmp"))),
        row("an upload into a missing directory", "InitiateFileTransferToGuest", "vm-1001", r(), "<guestFilePath>/enoent/x</guestFilePath><fileAttributes/><fileSize>3</fileSize><overwrite>true</overwrite>", "FileNotFound", Some(("file", "/enoent"))),
        row("an upload larger than the free disk", "InitiateFileTransferToGuest", "vm-small", r(), "<guestFilePath>/tmp/big</guestFilePath><fileAttributes/><fileSize>1001</fileSize><overwrite>false</overwrite>", "NoDiskSpace", Some(("file", "/tmp/big"))),
        row("an upload larger than the filesystem's largest file", "InitiateFileTransferToGuest", "vm-1001", r(), "<guestFilePath>/tmp/huge</guestFilePath><fileAttributes/><fileSize>17592186044417</fileSize><overwrite>false</overwrite>", "FileTooLarge", Some(("file", "/tmp/huge"))),
        row("a download of a directory", "InitiateFileTransferFromGuest", "vm-1001", r(), "<guestFilePath>/etc</guestFilePath>", "NotAFile", Some(("file", "/etc"))),
        row("a download of a missing file", "InitiateFileTransferFromGuest", "vm-1001", r(), "<guestFilePath>/tmp/enoent</guestFilePath>", "FileNotFound", Some(("file", "/tmp/enoent"))),
        row("a download the guest user may not read", "InitiateFileTransferFromGuest", "vm-1001", alice(), "<guestFilePath>/etc/shadow</guestFilePath>", "GuestPermissionDenied", None),
        // the rest
        row("an empty path", "ListFilesInGuest", "vm-1001", r(), "<filePath></filePath>", "InvalidArgument", Some(("invalidProperty", "path"))),
        row("a relative path", "DeleteFileInGuest", "vm-1001", r(), "<filePath>tmp/x</filePath>", "InvalidArgument", Some(("invalidProperty", "path"))),
        row("a negative maxResults", "ListFilesInGuest", "vm-1001", r(), "<filePath>/tmp</filePath><maxResults>-1</maxResults>", "InvalidArgument", Some(("invalidProperty", "maxResults"))),
        row("a matchPattern that is not a regular expression", "ListFilesInGuest", "vm-1001", r(), "<filePath>/tmp</filePath><matchPattern>(</matchPattern>", "InvalidArgument", Some(("invalidProperty", "matchPattern"))),
        row("a missing required parameter", "MoveFileInGuest", "vm-1001", r(), "<srcFilePath>/etc/motd</srcFilePath><overwrite>false</overwrite>", "InvalidArgument", Some(("invalidProperty", "dstFilePath"))),
        row("windows attributes on a Linux guest", "ChangeFileAttributesInGuest", "vm-1001", r(), r#"<guestFilePath>/etc/hosts</guestFilePath><fileAttributes xsi:type="GuestWindowsFileAttributes"><hidden>true</hidden></fileAttributes>"#, "OperationNotSupportedByGuest", None),
        row("posix attributes on a Windows guest", "InitiateFileTransferToGuest", "vm-1002", win(), r#"<guestFilePath>C:\Temp\x.txt</guestFilePath><fileAttributes xsi:type="GuestPosixFileAttributes"><permissions>420</permissions></fileAttributes><fileSize>1</fileSize><overwrite>false</overwrite>"#, "OperationNotSupportedByGuest", None),
        row("a permission mode out of range", "ChangeFileAttributesInGuest", "vm-1001", r(), r#"<guestFilePath>/etc/hosts</guestFilePath><fileAttributes xsi:type="GuestPosixFileAttributes"><permissions>70000</permissions></fileAttributes>"#, "InvalidArgument", None),
        row("a file time whose offset puts it past the year 9999", "ChangeFileAttributesInGuest", "vm-1001", r(), r#"<guestFilePath>/etc/hosts</guestFilePath><fileAttributes xsi:type="GuestPosixFileAttributes"><modificationTime>9999-12-31T23:59:59-23:59</modificationTime></fileAttributes>"#, "InvalidArgument", None),
        row("a VM argument of another type", "ListFilesInGuest", "vm-1001", r(), LIST_TMP, "InvalidArgument", Some(("invalidProperty", "vm"))),
    ]
}

#[tokio::test]
async fn every_guest_fault_condition_answers_its_vim25_fault_type_and_detail() {
    let app = server().await;
    app.mock.vm("vm-busy").set_busy(true).unwrap();
    let cookie = login(&app).await;
    for r in fault_rows() {
        let params = if r.condition == "a VM argument of another type" {
            format!(
                r#"<vm type="HostSystem">host-11</vm>{}{}"#,
                r.auth, r.params
            )
        } else {
            format!("{}{}{}", vm(r.vm), r.auth, r.params)
        };
        let a = call(&app, Some(&cookie), r.method, r.this, &params).await;
        let what = format!("{} ({} on {}): {}", r.condition, r.method, r.vm, a.text);
        assert_eq!(a.status, StatusCode::INTERNAL_SERVER_ERROR, "{what}");
        assert_eq!(
            a.headers["content-type"], "text/xml; charset=utf-8",
            "{what}"
        );
        assert_eq!(a.fault().as_deref(), Some(r.fault), "{what}");
        if let Some((field, want)) = r.detail {
            let got = a.detail().child(field).map(|e| e.trimmed().to_owned());
            assert_eq!(got.as_deref(), Some(want), "{what}");
        }
    }
}

#[tokio::test]
async fn session_privilege_and_receiver_faults_come_before_the_guest_is_reached() {
    let app = TestApp::spawn().await;
    let params = format!("{}{}{LIST_TMP}", vm("vm-1001"), as_root());
    let a = call(&app, None, "ListFilesInGuest", FM, &params).await;
    assert_eq!(a.fault().as_deref(), Some("NotAuthenticated"), "{}", a.text);

    let ro = login_as(&app, READONLY).await;
    let a = call(&app, Some(&ro), "ListFilesInGuest", FM, &params).await;
    assert_eq!(a.fault().as_deref(), Some("NoPermission"), "{}", a.text);
    assert_eq!(
        text_of(a.detail(), "privilegeId").as_deref(),
        Some("VirtualMachine.GuestOperations.Query")
    );
    let object = a.detail().child("object").unwrap();
    assert_eq!(
        (object.attr("type"), object.trimmed()),
        (Some("VirtualMachine"), "vm-1001"),
        "the privilege is missing on the VM, not on the manager"
    );
    let a = call(
        &app,
        Some(&ro),
        "MakeDirectoryInGuest",
        FM,
        &format!(
            "{}{}<directoryPath>/tmp/x</directoryPath><createParentDirectories>false</createParentDirectories>",
            vm("vm-1001"),
            as_root()
        ),
    )
    .await;
    assert_eq!(
        text_of(a.detail(), "privilegeId").as_deref(),
        Some("VirtualMachine.GuestOperations.Modify")
    );

    let admin = login(&app).await;
    let a = call(
        &app,
        Some(&admin),
        "ListFilesInGuest",
        ("GuestFileManager", "someOtherManager"),
        &params,
    )
    .await;
    assert_eq!(
        a.fault().as_deref(),
        Some("ManagedObjectNotFound"),
        "{}",
        a.text
    );
    let a = call(&app, Some(&admin), "ListFilesInGuest", AM, &params).await;
    assert_eq!(a.fault().as_deref(), Some("MethodNotFound"), "{}", a.text);
}

#[tokio::test]
async fn list_files_pages_with_an_exact_remaining_and_posix_attributes_on_every_entry() {
    let app = TestApp::spawn().await;
    let cookie = login(&app).await;
    let whole = ok(
        &app,
        &cookie,
        "ListFilesInGuest",
        "<filePath>/etc</filePath>",
    )
    .await;
    let all = names(&whole);
    assert_eq!(
        all,
        ["hostname", "hosts", "motd", "os-release", "shadow"],
        "{}",
        whole.text
    );
    assert_eq!(remaining(&whole), 0);
    for f in whole.returnval().all("files") {
        let a = f.child("attributes").unwrap();
        assert_eq!(
            a.xsi_type(),
            Some("GuestPosixFileAttributes"),
            "{}",
            whole.text
        );
        for field in [
            "modificationTime",
            "accessTime",
            "ownerId",
            "groupId",
            "permissions",
        ] {
            assert!(a.child(field).is_some(), "{field} in {}", whole.text);
        }
        assert_eq!(f.child_text("type"), Some("file"));
    }
    let shadow = whole
        .returnval()
        .all("files")
        .find(|f| f.child_text("path") == Some("shadow"))
        .unwrap();
    let attrs = shadow.child("attributes").unwrap();
    assert_eq!(attrs.child_text("permissions"), Some("416"), "0640");
    assert_eq!(attrs.child_text("groupId"), Some("42"));

    // Paging one entry at a time: remaining is exactly what is left after each page.
    let mut paged = Vec::new();
    for index in 0..all.len() {
        let a = ok(
            &app,
            &cookie,
            "ListFilesInGuest",
            &format!("<filePath>/etc</filePath><index>{index}</index><maxResults>1</maxResults>"),
        )
        .await;
        assert_eq!(
            remaining(&a),
            (all.len() - index - 1) as i64,
            "index {index}"
        );
        paged.extend(names(&a));
    }
    assert_eq!(paged, all);
    let past = ok(
        &app,
        &cookie,
        "ListFilesInGuest",
        "<filePath>/etc</filePath><index>99</index>",
    )
    .await;
    assert!(names(&past).is_empty());
    assert_eq!(remaining(&past), 0);

    let matching = ok(
        &app,
        &cookie,
        "ListFilesInGuest",
        "<filePath>/etc</filePath><maxResults>1</maxResults><matchPattern>^host</matchPattern>",
    )
    .await;
    assert_eq!(names(&matching), ["hostname"]);
    assert_eq!(
        remaining(&matching),
        1,
        "one more match, not one more entry"
    );

    let usr = ok(
        &app,
        &cookie,
        "ListFilesInGuest",
        "<filePath>/usr/bin</filePath>",
    )
    .await;
    let sh = usr
        .returnval()
        .all("files")
        .find(|f| f.child_text("path") == Some("sh"))
        .unwrap();
    assert_eq!(sh.child_text("type"), Some("symlink"));
    assert_eq!(
        sh.child("attributes").unwrap().child_text("symlinkTarget"),
        Some("bash")
    );
    let dirs = ok(&app, &cookie, "ListFilesInGuest", "<filePath>/</filePath>").await;
    let etc = dirs
        .returnval()
        .all("files")
        .find(|f| f.child_text("path") == Some("etc"))
        .unwrap();
    assert_eq!(etc.child_text("type"), Some("directory"));
    assert_eq!(etc.child_text("size"), Some("4096"));

    let one = ok(
        &app,
        &cookie,
        "ListFilesInGuest",
        "<filePath>/etc/hosts</filePath>",
    )
    .await;
    assert_eq!(names(&one), ["hosts"], "a file lists as itself");
}

#[tokio::test]
async fn a_windows_listing_carries_windows_attributes() {
    let app = TestApp::spawn().await;
    let cookie = login(&app).await;
    let a = guest(
        &app,
        &cookie,
        FM,
        "ListFilesInGuest",
        "vm-1002",
        &as_admin(),
        r"<filePath>C:\</filePath>",
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let files: Vec<_> = a.returnval().all("files").collect();
    assert!(!files.is_empty());
    for f in &files {
        let attrs = f.child("attributes").unwrap();
        assert_eq!(
            attrs.xsi_type(),
            Some("GuestWindowsFileAttributes"),
            "{}",
            a.text
        );
        assert!(attrs.child("ownerId").is_none());
    }
    let hidden = |name: &str| {
        files
            .iter()
            .find(|f| f.child_text("path") == Some(name))
            .and_then(|f| f.child("attributes").unwrap().child_text("hidden"))
            .map(str::to_owned)
    };
    assert_eq!(hidden("ProgramData").as_deref(), Some("true"));
    assert_eq!(hidden("Temp").as_deref(), Some("false"));
}

#[tokio::test]
async fn the_file_manager_makes_moves_changes_and_deletes_as_the_guest_would() {
    let app = TestApp::spawn().await;
    let c = login(&app).await;
    ok(
        &app,
        &c,
        "MakeDirectoryInGuest",
        "<directoryPath>/tmp/soap/a/b</directoryPath><createParentDirectories>true</createParentDirectories>",
    )
    .await;
    let file = ok(
        &app,
        &c,
        "CreateTemporaryFileInGuest",
        "<prefix>soap-</prefix><suffix>.txt</suffix><directoryPath>/tmp/soap</directoryPath>",
    )
    .await;
    let file = file.returnval().text.clone();
    assert!(
        file.starts_with("/tmp/soap/soap-") && file.ends_with(".txt"),
        "{file}"
    );
    let dir = ok(
        &app,
        &c,
        "CreateTemporaryDirectoryInGuest",
        "<prefix>d-</prefix><suffix></suffix><directoryPath></directoryPath>",
    )
    .await;
    let dir = dir.returnval().text.clone();
    assert!(
        dir.starts_with("/tmp/d-"),
        "an empty directoryPath is the guest's temporary directory: {dir}"
    );

    ok(
        &app,
        &c,
        "MoveFileInGuest",
        &format!("<srcFilePath>{file}</srcFilePath><dstFilePath>/tmp/soap/moved.txt</dstFilePath><overwrite>false</overwrite>"),
    )
    .await;
    ok(
        &app,
        &c,
        "MoveDirectoryInGuest",
        &format!("<srcDirectoryPath>{dir}</srcDirectoryPath><dstDirectoryPath>/tmp/soap/dir</dstDirectoryPath>"),
    )
    .await;
    ok(
        &app,
        &c,
        "ChangeFileAttributesInGuest",
        r#"<guestFilePath>/tmp/soap/moved.txt</guestFilePath><fileAttributes xsi:type="GuestPosixFileAttributes"><modificationTime>2024-02-03T04:05:06Z</modificationTime><ownerId>1000</ownerId><groupId>1000</groupId><permissions>384</permissions></fileAttributes>"#,
    )
    .await;
    let listed = ok(
        &app,
        &c,
        "ListFilesInGuest",
        "<filePath>/tmp/soap</filePath>",
    )
    .await;
    assert_eq!(names(&listed), ["a", "dir", "moved.txt"], "{}", listed.text);
    let moved = listed
        .returnval()
        .all("files")
        .find(|f| f.child_text("path") == Some("moved.txt"))
        .unwrap()
        .child("attributes")
        .unwrap();
    assert_eq!(moved.child_text("permissions"), Some("384"));
    assert_eq!(moved.child_text("ownerId"), Some("1000"));
    assert_eq!(
        moved.child_text("modificationTime"),
        Some("2024-02-03T04:05:06.000000Z")
    );

    ok(
        &app,
        &c,
        "DeleteFileInGuest",
        "<filePath>/tmp/soap/moved.txt</filePath>",
    )
    .await;
    ok(
        &app,
        &c,
        "DeleteDirectoryInGuest",
        "<directoryPath>/tmp/soap</directoryPath><recursive>true</recursive>",
    )
    .await;
    let gone = guest(
        &app,
        &c,
        FM,
        "ListFilesInGuest",
        "vm-1001",
        &as_root(),
        "<filePath>/tmp/soap</filePath>",
    )
    .await;
    assert_eq!(
        gone.fault().as_deref(),
        Some("FileNotFound"),
        "{}",
        gone.text
    );
}

/// The `id` and `token` of a transfer URL.
fn url_query(url: &str) -> String {
    url.split_once('?').unwrap().1.to_owned()
}

#[tokio::test]
async fn uploads_and_downloads_go_through_single_use_urls_with_the_files_attributes_and_size() {
    let app = TestApp::spawn().await;
    let c = login(&app).await;
    let port = app.mock.address().port();
    let body = b"#!/bin/sh\necho hi\n";
    let up = ok(
        &app,
        &c,
        "InitiateFileTransferToGuest",
        &format!(
            r#"<guestFilePath>/tmp/run.sh</guestFilePath><fileAttributes xsi:type="GuestPosixFileAttributes"><permissions>493</permissions></fileAttributes><fileSize>{}</fileSize><overwrite>false</overwrite>"#,
            body.len()
        ),
    )
    .await;
    let url = up.returnval().text.clone();
    let prefix = format!("https://*:{port}/guestFile?id=");
    assert!(url.starts_with(&prefix), "{url}");
    let put = app
        .client
        .put(app.substitute(&url))
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::OK);

    let down = ok(
        &app,
        &c,
        "InitiateFileTransferFromGuest",
        "<guestFilePath>/tmp/run.sh</guestFilePath>",
    )
    .await;
    let info = down.returnval();
    assert_eq!(
        info.child_text("size"),
        Some(body.len().to_string().as_str())
    );
    let attrs = info.child("attributes").unwrap();
    assert_eq!(
        attrs.xsi_type(),
        Some("GuestPosixFileAttributes"),
        "{}",
        down.text
    );
    assert_eq!(
        attrs.child_text("permissions"),
        Some("493"),
        "0755 from the upload"
    );
    assert_eq!(attrs.child_text("ownerId"), Some("0"));
    let url = info.child("url").unwrap().text.clone();
    assert!(url.starts_with(&prefix), "{url}");
    let first = app.client.get(app.substitute(&url)).send().await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(first.bytes().await.unwrap().as_ref(), body);
    let second = app.client.get(app.substitute(&url)).send().await.unwrap();
    assert_eq!(second.status(), StatusCode::NOT_FOUND, "a URL is used once");

    // Ansible's base FileAttributes, without xsi:type, and overwrite.
    let again = ok(
        &app,
        &c,
        "InitiateFileTransferToGuest",
        "<guestFilePath>/tmp/run.sh</guestFilePath><fileAttributes/><fileSize>2</fileSize><overwrite>true</overwrite>",
    )
    .await;
    let put = app
        .client
        .put(app.substitute(&again.returnval().text))
        .body("ok")
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::OK);
    assert_eq!(
        app.mock
            .vm("vm-1001")
            .read_file("/tmp/run.sh")
            .unwrap()
            .as_deref(),
        Some(b"ok".as_slice())
    );
}

#[tokio::test]
async fn no_transfer_url_ever_holds_443_which_ansible_replaces_with_its_port() {
    let app = TestApp::spawn().await;
    let c = login(&app).await;
    // Past id 443 and 1443; each URL's id and token are checked.
    for _ in 0..1500 {
        let a = ok(
            &app,
            &c,
            "InitiateFileTransferFromGuest",
            "<guestFilePath>/etc/hostname</guestFilePath>",
        )
        .await;
        let url = a.returnval().child("url").unwrap().text.clone();
        assert!(!url_query(&url).contains("443"), "{url}");
    }
}

#[tokio::test]
async fn a_file_made_over_soap_is_seen_over_rest_and_a_rest_directory_over_soap() {
    let app = TestApp::spawn().await;
    let c = login(&app).await;
    let sid = app.login().await;
    ok(
        &app,
        &c,
        "MakeDirectoryInGuest",
        "<directoryPath>/tmp/cross</directoryPath><createParentDirectories>false</createParentDirectories>",
    )
    .await;
    let made = ok(
        &app,
        &c,
        "CreateTemporaryFileInGuest",
        "<prefix>soap-</prefix><suffix>.txt</suffix><directoryPath>/tmp/cross</directoryPath>",
    )
    .await;
    let name = made.returnval().text.rsplit('/').next().unwrap().to_owned();
    let r = app
        .guest(
            &sid,
            "vm-1001",
            "files?action=list",
            json!({"credentials": root(), "path": "/tmp/cross"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["files"][0]["filename"], name.as_str());

    let r = app
        .guest(
            &sid,
            "vm-1001",
            "directories?action=create",
            json!({"credentials": root(), "path": "/tmp/cross/from-rest"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    let listed = ok(
        &app,
        &c,
        "ListFilesInGuest",
        "<filePath>/tmp/cross</filePath>",
    )
    .await;
    assert_eq!(names(&listed), ["from-rest", name.as_str()]);
}

#[tokio::test]
async fn a_soap_power_off_revokes_soap_and_rest_transfer_urls() {
    let app = TestApp::spawn().await;
    let c = login(&app).await;
    let sid = app.login().await;
    let soap_url = ok(
        &app,
        &c,
        "InitiateFileTransferFromGuest",
        "<guestFilePath>/etc/hostname</guestFilePath>",
    )
    .await
    .returnval()
    .child("url")
    .unwrap()
    .text
    .clone();
    let rest_url = app
        .download_url(&sid, "vm-1001", root(), "/etc/hostname")
        .await;
    let task = call(
        &app,
        Some(&c),
        "PowerOffVM_Task",
        ("VirtualMachine", "vm-1001"),
        "",
    )
    .await;
    assert_eq!(task.status, StatusCode::OK, "{}", task.text);
    for url in [app.substitute(&soap_url), rest_url] {
        let r = app.client.get(&url).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{url}");
    }
    power(&app, &sid, "vm-1001", "start").await;
    let after = guest(
        &app,
        &c,
        FM,
        "InitiateFileTransferFromGuest",
        "vm-1001",
        &as_root(),
        "<guestFilePath>/etc/hostname</guestFilePath>",
    )
    .await;
    assert_eq!(after.status, StatusCode::OK, "a new URL after power-on");
}

#[tokio::test]
async fn soap_guest_calls_are_journaled_and_ruled_as_the_rest_operation_they_run() {
    let app = TestApp::spawn().await;
    let c = login(&app).await;
    ok(&app, &c, "ListFilesInGuest", "<filePath>/etc</filePath>").await;
    let entries = app.mock.journal().requests();
    let e = entries
        .iter()
        .rev()
        .find(|e| e.path == "/sdk" && e.operation == "files.list")
        .unwrap_or_else(|| panic!("{entries:?}"));
    assert_eq!(
        (e.vm.as_deref(), e.guest_path.as_deref(), e.status),
        (Some("vm-1001"), Some("/etc"), 200)
    );

    let r = app
        .client
        .post(app.url("/_mock/faults"))
        .json(&json!({"operation": "directories.create", "vm": "vm-1001", "effect": {"kind": "error", "error_type": "RESOURCE_BUSY"}, "times": 1}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let mkdir = "<directoryPath>/tmp/ruled</directoryPath><createParentDirectories>false</createParentDirectories>";
    let a = guest(
        &app,
        &c,
        FM,
        "MakeDirectoryInGuest",
        "vm-1001",
        &as_root(),
        mkdir,
    )
    .await;
    assert_eq!(a.fault().as_deref(), Some("TaskInProgress"), "{}", a.text);
    ok(&app, &c, "MakeDirectoryInGuest", mkdir).await;
    let failed = app
        .mock
        .journal()
        .requests()
        .into_iter()
        .filter(|e| e.operation == "directories.create")
        .map(|e| (e.status, e.error_type))
        .collect::<Vec<_>>();
    assert_eq!(
        failed,
        [(500, Some("RESOURCE_BUSY")), (200, None)],
        "the rule fired once, then the call went through"
    );
}

#[tokio::test]
async fn an_acquired_ticket_authenticates_until_released_or_the_guest_powers_off() {
    let app = TestApp::spawn().await;
    let c = login(&app).await;
    let acquire = || async {
        let a = call(
            &app,
            Some(&c),
            "AcquireCredentialsInGuest",
            AM,
            &format!(
                r#"{}<requestedAuth xsi:type="NamePasswordAuthentication"><interactiveSession>false</interactiveSession><username>alice</username><password>alicepw</password></requestedAuth>"#,
                vm("vm-1001")
            ),
        )
        .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
        assert_eq!(
            a.returnval().xsi_type(),
            Some("TicketedSessionAuthentication"),
            "{}",
            a.text
        );
        a.returnval().child_text("ticket").unwrap().to_owned()
    };
    let ticketed = |t: &str| {
        format!(
            r#"<auth xsi:type="TicketedSessionAuthentication"><interactiveSession>false</interactiveSession><ticket>{t}</ticket></auth>"#
        )
    };
    let ticket = acquire().await;
    // The ticket stands for alice: her home is listed, root's is not.
    let a = guest(
        &app,
        &c,
        FM,
        "ListFilesInGuest",
        "vm-1001",
        &ticketed(&ticket),
        "<filePath>/home/alice</filePath>",
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let a = guest(
        &app,
        &c,
        FM,
        "ListFilesInGuest",
        "vm-1001",
        &ticketed(&ticket),
        "<filePath>/root</filePath>",
    )
    .await;
    assert_eq!(
        a.fault().as_deref(),
        Some("GuestPermissionDenied"),
        "{}",
        a.text
    );

    let a = guest(
        &app,
        &c,
        AM,
        "ReleaseCredentialsInGuest",
        "vm-1001",
        &ticketed(&ticket),
        "",
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let a = guest(
        &app,
        &c,
        AM,
        "ValidateCredentialsInGuest",
        "vm-1001",
        &ticketed(&ticket),
        "",
    )
    .await;
    assert_eq!(
        a.fault().as_deref(),
        Some("InvalidGuestLogin"),
        "a released ticket: {}",
        a.text
    );
    let a = guest(
        &app,
        &c,
        AM,
        "ReleaseCredentialsInGuest",
        "vm-1001",
        &as_root(),
        "",
    )
    .await;
    assert_eq!(
        a.fault().as_deref(),
        Some("InvalidArgument"),
        "only a ticket is released: {}",
        a.text
    );

    let ticket = acquire().await;
    let sid = app.login().await;
    power(&app, &sid, "vm-1001", "stop").await;
    power(&app, &sid, "vm-1001", "start").await;
    let a = guest(
        &app,
        &c,
        AM,
        "ValidateCredentialsInGuest",
        "vm-1001",
        &ticketed(&ticket),
        "",
    )
    .await;
    assert_eq!(
        a.fault().as_deref(),
        Some("InvalidGuestLogin"),
        "a ticket ends with the guest: {}",
        a.text
    );
    let a = guest(
        &app,
        &c,
        AM,
        "ValidateCredentialsInGuest",
        "vm-1002",
        &ticketed(&ticket),
        "",
    )
    .await;
    assert_eq!(
        a.fault().as_deref(),
        Some("InvalidGuestLogin"),
        "a ticket is its guest's only"
    );
}

#[tokio::test]
async fn a_download_needs_query_over_soap_as_vim25_documents_and_modify_over_rest() {
    const QUERY_ONLY: (&str, &str) = ("query@vsphere.local", "Query1!");
    let app = TestApp::spawn_with(|b| {
        b.user(vcmock::User::with_privileges(
            QUERY_ONLY.0,
            QUERY_ONLY.1,
            &["System.Read", "VirtualMachine.GuestOperations.Query"],
        ))
    })
    .await;
    let c = login_as(&app, QUERY_ONLY).await;
    let down = guest(
        &app,
        &c,
        FM,
        "InitiateFileTransferFromGuest",
        "vm-1001",
        &as_root(),
        "<guestFilePath>/etc/hostname</guestFilePath>",
    )
    .await;
    assert_eq!(down.status, StatusCode::OK, "{}", down.text);
    let up = guest(
        &app,
        &c,
        FM,
        "InitiateFileTransferToGuest",
        "vm-1001",
        &as_root(),
        "<guestFilePath>/tmp/x</guestFilePath><fileAttributes/><fileSize>1</fileSize><overwrite>false</overwrite>",
    )
    .await;
    assert_eq!(up.fault().as_deref(), Some("NoPermission"), "{}", up.text);
    assert_eq!(
        text_of(up.detail(), "privilegeId").as_deref(),
        Some("VirtualMachine.GuestOperations.Modify")
    );
    let sid = app.login_as(QUERY_ONLY).await;
    let r = app
        .transfer(
            &sid,
            "vm-1001",
            json!({"credentials": root(), "spec": {"path": "/etc/hostname"}}),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "Transfers.create needs Modify: {}",
        r.text()
    );
}
