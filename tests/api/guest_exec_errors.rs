//! Every documented error condition of the guest processes, guest power and guest environment
//! operations, table-driven: each row states the documented condition it reproduces, and tests
//! check that the table covers every `documented_errors` entry of `vcenter-guest-ops.json`
//! (processes, power) and every error response of the 7.0.3 swagger (environment).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use vcmock::{Program, Vm};

use crate::helpers::*;

/// The operations, by their vAPI names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    ProcCreate,
    ProcList,
    ProcGet,
    ProcDelete,
    PowerGet,
    PowerShutdown,
    PowerReboot,
    PowerStandby,
    EnvList,
    EnvGet,
}

const GUEST_OPS: [Op; 6] = [
    Op::ProcCreate,
    Op::ProcList,
    Op::ProcGet,
    Op::ProcDelete,
    Op::EnvList,
    Op::EnvGet,
];

impl Op {
    fn vapi(self) -> (&'static str, &'static str) {
        let p = "com.vmware.vcenter.vm.guest.processes";
        let w = "com.vmware.vcenter.vm.guest.power";
        let e = "com.vmware.vcenter.vm.guest.environment";
        match self {
            Op::ProcCreate => (p, "create"),
            Op::ProcList => (p, "list"),
            Op::ProcGet => (p, "get"),
            Op::ProcDelete => (p, "delete"),
            Op::PowerGet => (w, "get"),
            Op::PowerShutdown => (w, "shutdown"),
            Op::PowerReboot => (w, "reboot"),
            Op::PowerStandby => (w, "standby"),
            Op::EnvList => (e, "list"),
            Op::EnvGet => (e, "get"),
        }
    }

    /// The operation's name in the journal and in fault rules.
    fn name(self) -> &'static str {
        match self {
            Op::ProcCreate => "processes.create",
            Op::ProcList => "processes.list",
            Op::ProcGet => "processes.get",
            Op::ProcDelete => "processes.delete",
            Op::PowerGet => "vm.guest.power.get",
            Op::PowerShutdown => "vm.guest.power.shutdown",
            Op::PowerReboot => "vm.guest.power.reboot",
            Op::PowerStandby => "vm.guest.power.standby",
            Op::EnvList => "environment.list",
            Op::EnvGet => "environment.get",
        }
    }
}

/// Who makes the call, and how.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Who {
    Root,
    Alice,
    BadPassword,
    ReadOnlyVcUser,
    NoSession,
    /// A fault rule answers this error type for the operation: vcmock cannot reach the
    /// condition otherwise (a server error, a template VM).
    Rule(&'static str),
}

/// One documented condition and how to reproduce it.
struct Row {
    op: Op,
    /// The documented error (as in the spec).
    error: &'static str,
    /// A distinctive part of the documented condition sentence.
    condition: &'static str,
    vm: &'static str,
    who: Who,
    /// Members merged over the operation's working body (`pid`/`name` go into the URL).
    args: Value,
    status: u16,
    error_type: &'static str,
    /// Expected `data`.
    data: Option<Value>,
}

/// The body that succeeds for `op` on vm-1001 as root: the base every row changes.
fn ok_body(op: Op) -> Value {
    match op {
        Op::ProcCreate => json!({"spec": {"path": "/bin/bash", "arguments": "-c true"}}),
        Op::ProcGet | Op::ProcDelete => json!({"pid": 412}),
        Op::EnvGet => json!({"name": "HOME"}),
        _ => json!({}),
    }
}

async fn call(
    app: &TestApp,
    sid: Option<&str>,
    op: Op,
    vm: &str,
    creds: Value,
    args: Value,
) -> Reply {
    let mut body = ok_body(op);
    for (k, v) in args.as_object().cloned().unwrap_or_default() {
        if k == "spec" {
            for (sk, sv) in v.as_object().cloned().unwrap_or_default() {
                body["spec"][sk] = sv;
            }
        } else {
            body[k] = v;
        }
    }
    body["credentials"] = creds;
    let obj = body.as_object_mut().unwrap();
    let base = format!("/api/vcenter/vm/{vm}/guest");
    let (method, path, body) = match op {
        Op::ProcCreate => (
            Method::POST,
            format!("{base}/processes?action=create"),
            Some(body),
        ),
        Op::ProcList => (
            Method::POST,
            format!("{base}/processes?action=list"),
            Some(body),
        ),
        Op::ProcGet | Op::ProcDelete => {
            let pid = obj.remove("pid").unwrap();
            let pid = pid.as_str().map_or_else(|| pid.to_string(), str::to_owned);
            let act = if op == Op::ProcGet { "get" } else { "delete" };
            (
                Method::POST,
                format!("{base}/processes/{pid}?action={act}"),
                Some(body),
            )
        }
        Op::EnvList => (
            Method::POST,
            format!("{base}/environment?action=list"),
            Some(body),
        ),
        Op::EnvGet => {
            let name = obj.remove("name").unwrap();
            let name = name.as_str().unwrap().to_owned();
            (
                Method::POST,
                format!("{base}/environment/{name}?action=get"),
                Some(body),
            )
        }
        Op::PowerGet => (Method::GET, format!("{base}/power"), None),
        Op::PowerShutdown => (Method::POST, format!("{base}/power?action=shutdown"), None),
        Op::PowerReboot => (Method::POST, format!("{base}/power?action=reboot"), None),
        Op::PowerStandby => (Method::POST, format!("{base}/power?action=standby"), None),
    };
    app.send(method, &path, sid, body).await
}

fn common_rows() -> Vec<Row> {
    let mut rows = Vec::new();
    for op in GUEST_OPS {
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
        rows.extend([
            row(
                "NotFound",
                "is not found",
                "vm-9999",
                Who::Root,
                404,
                "NOT_FOUND",
            ),
            row(
                "NotAllowedInCurrentState",
                "is not running",
                "vm-1003",
                Who::Root,
                400,
                "NOT_ALLOWED_IN_CURRENT_STATE",
            ),
            row(
                "ServiceUnavailable",
                "tools are not running",
                "vm-1005",
                Who::Root,
                503,
                "SERVICE_UNAVAILABLE",
            ),
            row(
                "ResourceBusy",
                "virtual machine is busy",
                "vm-busy",
                Who::Root,
                500,
                "RESOURCE_BUSY",
            ),
            row(
                "Unauthenticated",
                "credentials",
                "vm-1001",
                Who::BadPassword,
                401,
                "UNAUTHENTICATED",
            ),
            row(
                "Unauthorized",
                "privileges",
                "vm-1001",
                Who::ReadOnlyVcUser,
                403,
                "UNAUTHORIZED",
            ),
            row(
                "Unsupported",
                "not supported by the VMware tools",
                "vm-1006",
                Who::Root,
                400,
                "UNSUPPORTED",
            ),
            row(
                "Unsupported",
                "disabled by the VMware tools",
                "vm-77",
                Who::Root,
                400,
                "UNSUPPORTED",
            ),
        ]);
    }
    rows
}

fn specific_rows() -> Vec<Row> {
    let r =
        |op, error, condition, vm, who, args: Value, status, error_type, data: Option<Value>| Row {
            op,
            error,
            condition,
            vm,
            who,
            args,
            status,
            error_type,
            data,
        };
    let file = |reason: &str, path: &str| Some(json!({"reason": reason, "file_path": path}));
    let on = "vm-1001";
    let mut rows = vec![
        r(
            Op::ProcCreate,
            "InvalidArgument",
            "start_minimized",
            on,
            Who::Root,
            json!({"spec": {"start_minimized": false}}),
            400,
            "INVALID_ARGUMENT",
            None,
        ),
        r(
            Op::ProcCreate,
            "InvalidArgument",
            "program path is not a valid path",
            on,
            Who::Root,
            json!({"spec": {"path": "bin/bash"}}),
            400,
            "INVALID_ARGUMENT",
            file("NOT_A_FILE", "bin/bash"),
        ),
        r(
            Op::ProcCreate,
            "InvalidArgument",
            "working directory is not a valid directory",
            on,
            Who::Root,
            json!({"spec": {"working_directory": "/etc/hosts"}}),
            400,
            "INVALID_ARGUMENT",
            file("NOT_A_DIRECTORY", "/etc/hosts"),
        ),
        r(
            Op::ProcCreate,
            "NotFound",
            "program path does not exist",
            on,
            Who::Root,
            json!({"spec": {"path": "/no/such/prog"}}),
            404,
            "NOT_FOUND",
            file("FILE_NOT_FOUND", "/no/such/prog"),
        ),
        r(
            Op::ProcCreate,
            "UnableToAllocateResource",
            "program fails to start",
            "vm-prog",
            Who::Root,
            json!({"spec": {"path": "/opt/broken"}}),
            500,
            "UNABLE_TO_ALLOCATE_RESOURCE",
            None,
        ),
        r(
            Op::ProcCreate,
            "Unauthorized",
            "cannot be accessed",
            on,
            Who::Alice,
            json!({"spec": {"path": "/root/secret.txt"}}),
            403,
            "UNAUTHORIZED",
            None,
        ),
        r(
            Op::ProcCreate,
            "Unauthorized",
            "cannot be run because",
            on,
            Who::Alice,
            json!({"spec": {"path": "/etc/hosts"}}),
            403,
            "UNAUTHORIZED",
            None,
        ),
        r(
            Op::ProcGet,
            "NotFound",
            "process ``pid`` is not found",
            on,
            Who::Root,
            json!({"pid": 999_999}),
            404,
            "NOT_FOUND",
            Some(json!({"pid": 999_999})),
        ),
        r(
            Op::ProcDelete,
            "NotFound",
            "``pid`` is not found",
            on,
            Who::Root,
            json!({"pid": 999_999}),
            404,
            "NOT_FOUND",
            Some(json!({"pid": 999_999})),
        ),
        r(
            Op::ProcDelete,
            "Unauthorized",
            "does not have permission to terminate",
            on,
            Who::Alice,
            json!({"pid": 412}),
            403,
            "UNAUTHORIZED",
            None,
        ),
        r(
            Op::EnvGet,
            "NotFound",
            "is not not set in the guest",
            on,
            Who::Root,
            json!({"name": "NO_SUCH_VARIABLE"}),
            404,
            "NOT_FOUND",
            None,
        ),
    ];
    // Guest power takes no guest credentials; its conditions are about the VM.
    let power = [
        Op::PowerGet,
        Op::PowerShutdown,
        Op::PowerReboot,
        Op::PowerStandby,
    ];
    for op in power {
        rows.push(r(
            op,
            "NotFound",
            "virtual machine is not found",
            "vm-9999",
            Who::Root,
            json!({}),
            404,
            "NOT_FOUND",
            None,
        ));
        rows.push(r(
            op,
            "Unauthenticated",
            "user cannot be authenticated",
            on,
            Who::NoSession,
            json!({}),
            401,
            "UNAUTHENTICATED",
            None,
        ));
        rows.push(r(
            op,
            "Error",
            "system reports an error",
            on,
            Who::Rule("ERROR"),
            json!({}),
            500,
            "ERROR",
            None,
        ));
    }
    for op in [Op::PowerShutdown, Op::PowerReboot, Op::PowerStandby] {
        rows.push(r(
            op,
            "ServiceUnavailable",
            "VMware Tools is not running",
            "vm-1005",
            Who::Root,
            json!({}),
            503,
            "SERVICE_UNAVAILABLE",
            None,
        ));
        rows.push(r(
            op,
            "ResourceBusy",
            "performing another operation",
            "vm-busy",
            Who::Root,
            json!({}),
            500,
            "RESOURCE_BUSY",
            None,
        ));
        rows.push(r(
            op,
            "Unsupported",
            "does not support being powered on",
            on,
            Who::Rule("UNSUPPORTED"),
            json!({}),
            400,
            "UNSUPPORTED",
            None,
        ));
    }
    rows.extend([
        r(
            Op::PowerShutdown,
            "AlreadyInDesiredState",
            "is not powered on",
            "vm-1003",
            Who::Root,
            json!({}),
            400,
            "ALREADY_IN_DESIRED_STATE",
            None,
        ),
        r(
            Op::PowerShutdown,
            "NotAllowedInCurrentState",
            "is suspended",
            "vm-1004",
            Who::Root,
            json!({}),
            400,
            "NOT_ALLOWED_IN_CURRENT_STATE",
            None,
        ),
        r(
            Op::PowerReboot,
            "NotAllowedInCurrentState",
            "is not powered on",
            "vm-1003",
            Who::Root,
            json!({}),
            400,
            "NOT_ALLOWED_IN_CURRENT_STATE",
            None,
        ),
        r(
            Op::PowerReboot,
            "NotAllowedInCurrentState",
            "is not powered on",
            "vm-1004",
            Who::Root,
            json!({}),
            400,
            "NOT_ALLOWED_IN_CURRENT_STATE",
            None,
        ),
        r(
            Op::PowerStandby,
            "AlreadyInDesiredState",
            "is suspended",
            "vm-1004",
            Who::Root,
            json!({}),
            400,
            "ALREADY_IN_DESIRED_STATE",
            None,
        ),
        r(
            Op::PowerStandby,
            "NotAllowedInCurrentState",
            "is not powered on",
            "vm-1003",
            Who::Root,
            json!({}),
            400,
            "NOT_ALLOWED_IN_CURRENT_STATE",
            None,
        ),
    ]);
    rows
}

async fn server() -> TestApp {
    TestApp::spawn_with(|b| {
        b.vm(Vm::linux("vm-77")
            .guest_user("root", "rootpw")
            .guest_operations_disabled())
            .vm(Vm::linux("vm-busy").guest_user("root", "rootpw"))
            .vm(Vm::linux("vm-prog")
                .guest_user("root", "rootpw")
                .program(Program {
                    fails_to_start: true,
                    ..Program::new("/opt/broken")
                }))
    })
    .await
}

async fn check(rows: Vec<Row>) {
    let app = server().await;
    for row in rows {
        // Each row runs against the fixture as loaded.
        app.mock.reset();
        app.mock.clear_injections();
        app.mock.vm("vm-busy").set_busy(true).unwrap();
        if let Who::Rule(error_type) = row.who {
            let rule: vcmock::InjectionRule = serde_json::from_value(json!({
                "operation": row.op.name(),
                "effect": {"kind": "error", "error_type": error_type}}))
            .unwrap();
            app.mock.inject(rule).unwrap();
        }
        let admin = app.login().await;
        let readonly = app.login_as(READONLY).await;
        let (sid, creds) = match row.who {
            Who::Root | Who::Rule(_) => (Some(admin.as_str()), root()),
            Who::Alice => (Some(admin.as_str()), alice()),
            Who::BadPassword => (Some(admin.as_str()), creds("root", "wrong")),
            Who::ReadOnlyVcUser => (Some(readonly.as_str()), root()),
            Who::NoSession => (None, root()),
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
        match &row.data {
            None => assert!(data.is_null(), "{what}: unexpected data"),
            Some(want) => assert_eq!(&data, want, "{what}"),
        }
    }
}

#[tokio::test]
async fn the_common_guest_checks_answer_vcenters_errors_for_processes_and_environment() {
    check(common_rows()).await;
}

#[tokio::test]
async fn every_process_power_and_environment_condition_answers_its_documented_error() {
    check(specific_rows()).await;
}

#[tokio::test]
async fn create_checks_the_program_before_the_working_directory_after_the_common_checks() {
    let app = server().await;
    let sid = app.login().await;
    let ro = app.login_as(READONLY).await;
    // Each row breaks every later check too; the earliest one answers.
    let bad = json!({"spec": {"path": "relative", "working_directory": "/nope", "start_minimized": true}});
    let table: Vec<(&str, &str, Value, Value, &str)> = vec![
        (
            "vm-1003",
            &ro,
            creds("root", "wrong"),
            bad.clone(),
            "UNAUTHORIZED",
        ),
        (
            "vm-1003",
            &sid,
            creds("root", "wrong"),
            bad.clone(),
            "NOT_ALLOWED_IN_CURRENT_STATE",
        ),
        (
            "vm-1001",
            &sid,
            creds("root", "wrong"),
            bad.clone(),
            "UNAUTHENTICATED",
        ),
        ("vm-1001", &sid, root(), bad.clone(), "INVALID_ARGUMENT"),
        (
            "vm-1001",
            &sid,
            root(),
            json!({"spec": {"path": "/nope", "working_directory": "/nope"}}),
            "NOT_FOUND",
        ),
        (
            "vm-1001",
            &sid,
            alice(),
            json!({"spec": {"path": "/etc/hosts", "working_directory": "/nope"}}),
            "UNAUTHORIZED",
        ),
    ];
    for (vm, s, c, args, expected) in table {
        let r = call(&app, Some(s), Op::ProcCreate, vm, c, args.clone()).await;
        assert_eq!(r.error_type(), expected, "{vm} {args}: {}", r.text());
    }
    let r = call(&app, Some(&sid), Op::ProcCreate, "vm-1001", root(), bad).await;
    assert!(
        r.text().contains("start_minimized"),
        "start_minimized is the first spec check: {}",
        r.text()
    );
}

#[tokio::test]
async fn an_unknown_pid_carries_its_pid_and_one_that_is_not_a_long_is_invalid() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let rest = call(
        &app,
        Some(&sid),
        Op::ProcGet,
        "vm-1001",
        root(),
        json!({"pid": -5}),
    )
    .await;
    assert_eq!(rest.status, StatusCode::NOT_FOUND);
    assert_eq!(rest.json()["data"], json!({"pid": -5}));
    let bad = call(
        &app,
        Some(&sid),
        Op::ProcGet,
        "vm-1001",
        root(),
        json!({"pid": "abc"}),
    )
    .await;
    assert_eq!(
        bad.status,
        StatusCode::BAD_REQUEST,
        "a pid must be a long: {}",
        bad.text()
    );
}

// ------------------------------------------------------------------------------ coverage

/// The documented conditions of the processes and guest power services, from the shared spec
/// (skipped with a note when absent).
fn documented() -> Option<Vec<(String, String, String, String)>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/spec/vcenter-guest-ops.json");
    let spec: Value = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    let mut out = Vec::new();
    for s in spec["services"].as_array()? {
        let service = s["service_id"].as_str()?;
        if !service.ends_with(".guest.processes") && !service.ends_with(".guest.power") {
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

/// The error responses of the environment operations in the 7.0.3 swagger, one per line of
/// each response description.
fn swagger_environment() -> Option<Vec<(String, String, String, String)>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/spec/vsphere-7.0.3-swagger/vcenter.json");
    let spec: Value = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    let mut out = Vec::new();
    for (path, item) in spec["paths"].as_object()? {
        if !path.starts_with("/api/vcenter/vm/{vm}/guest/environment") {
            continue;
        }
        let op = if path.contains("{name}") {
            "get"
        } else {
            "list"
        };
        for (status, resp) in item["post"]["responses"].as_object()? {
            if status.starts_with('2') {
                continue;
            }
            let schema = resp["schema"]["$ref"].as_str()?;
            let error = schema.rsplit("VapiStdErrors").next()?.to_owned();
            for line in resp["description"]
                .as_str()?
                .lines()
                .filter(|l| !l.is_empty())
            {
                out.push((
                    "com.vmware.vcenter.vm.guest.environment".into(),
                    op.into(),
                    error.clone(),
                    line.to_owned(),
                ));
            }
        }
    }
    Some(out)
}

fn uncovered(documented: &[(String, String, String, String)]) -> Vec<String> {
    let rows: Vec<Row> = common_rows().into_iter().chain(specific_rows()).collect();
    documented
        .iter()
        .filter(|(service, op, error, condition)| {
            !rows.iter().any(|r| {
                let (s, o) = r.op.vapi();
                s == service && o == op && r.error == error && condition.contains(r.condition)
            })
        })
        .map(|(service, op, error, condition)| format!("{service}.{op}: {error}: {condition}"))
        .collect()
}

#[test]
fn the_table_covers_every_documented_processes_and_guest_power_condition() {
    let Some(documented) = documented() else {
        eprintln!("note: ../shared/spec/vcenter-guest-ops.json not found; coverage not checked");
        return;
    };
    assert!(
        documented.len() >= 60,
        "expected about 65 conditions, found {}",
        documented.len()
    );
    let missing = uncovered(&documented);
    assert!(
        missing.is_empty(),
        "documented conditions without a row:\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_table_covers_every_error_the_swagger_gives_the_environment_operations() {
    let Some(documented) = swagger_environment() else {
        eprintln!(
            "note: ../shared/spec/vsphere-7.0.3-swagger/vcenter.json not found; coverage not checked"
        );
        return;
    };
    assert!(
        documented.len() >= 10,
        "expected about 12 conditions, found {}",
        documented.len()
    );
    let missing = uncovered(&documented);
    assert!(
        missing.is_empty(),
        "swagger conditions without a row:\n{}",
        missing.join("\n")
    );
}
