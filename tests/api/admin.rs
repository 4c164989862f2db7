//! The admin API under `/_mock/`: health, readiness, info, certificate, reset, state snapshots,
//! VM control, the clock, fault rules, the journal, transfers and metrics.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

async fn admin(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> Reply {
    app.send(method, path, None, body).await
}

#[tokio::test]
async fn health_ready_and_info_describe_the_server() {
    let app = TestApp::spawn().await;
    assert_eq!(
        admin(&app, Method::GET, "/_mock/health", None).await.json(),
        json!({"status": "ok"})
    );
    assert_eq!(
        admin(&app, Method::GET, "/_mock/ready", None).await.json(),
        json!({"ready": true})
    );
    let info = admin(&app, Method::GET, "/_mock/info", None).await.json();
    assert_eq!(info["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(info["seed"], 42);
    assert_eq!(
        info["clock"],
        json!({"mode": "manual", "now": "2024-01-01T00:00:00.000Z"})
    );
    assert_eq!(info["counts"]["vms"], 6);
    let pem = admin(&app, Method::GET, "/_mock/certificate", None).await;
    assert_eq!(pem.text(), app.mock.certificate_pem().unwrap());
}

#[tokio::test]
async fn reset_restores_the_fixture_and_keeps_the_port_and_certificate() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let port = app.mock.address().port();
    let pem = app.mock.certificate_pem().unwrap().to_owned();
    app.send(
        Method::POST,
        "/api/vcenter/vm/vm-1001/power?action=stop",
        Some(&sid),
        None,
    )
    .await;
    app.mock
        .vm("vm-1002")
        .put_file("C:\\Temp\\new.txt", "x")
        .unwrap();
    app.guest(
        &sid,
        "vm-1001",
        "files/%2Fetc%2Fmotd?action=delete",
        json!({"credentials": root()}),
    )
    .await;
    let r = admin(&app, Method::POST, "/_mock/reset", None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.mock.vm("vm-1001").power_state().unwrap(),
        vcmock::PowerState::PoweredOn
    );
    assert!(!app.mock.vm("vm-1002").exists("C:\\Temp\\new.txt").unwrap());
    assert!(app.mock.vm("vm-1001").exists("/etc/motd").unwrap());
    assert_eq!(
        app.get("/api/vcenter/vm", &sid).await.status,
        StatusCode::UNAUTHORIZED,
        "sessions end on reset"
    );
    assert_eq!(app.mock.address().port(), port);
    assert_eq!(app.mock.certificate_pem().unwrap(), pem);
    assert_eq!(app.login().await.len(), 32);
}

#[tokio::test]
async fn a_state_snapshot_round_trips_as_a_fixture() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    app.guest(
        &sid,
        "vm-1001",
        "directories?action=create",
        json!({"credentials": root(), "path": "/srv/data"}),
    )
    .await;
    app.mock
        .vm("vm-1001")
        .put_file("/srv/data/blob.bin", [0u8, 255, 7])
        .unwrap();
    app.send(
        Method::POST,
        "/api/vcenter/vm/vm-1004/power?action=start",
        Some(&sid),
        None,
    )
    .await;
    let snapshot = admin(&app, Method::GET, "/_mock/state", None).await.json();
    assert!(!snapshot["sessions"].as_array().unwrap().is_empty());
    assert!(
        !snapshot.to_string().contains(&sid),
        "session ids stay out of the dump"
    );
    // Go back to the fixture, then restore the snapshot.
    admin(&app, Method::POST, "/_mock/reset", None).await;
    assert!(!app.mock.vm("vm-1001").exists("/srv/data").unwrap());
    let r = admin(&app, Method::POST, "/_mock/state", Some(snapshot.clone())).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    assert_eq!(
        app.mock
            .vm("vm-1001")
            .read_file("/srv/data/blob.bin")
            .unwrap()
            .unwrap(),
        vec![0, 255, 7]
    );
    assert_eq!(
        app.mock.vm("vm-1004").power_state().unwrap(),
        vcmock::PowerState::PoweredOn
    );
    let again = admin(&app, Method::GET, "/_mock/state", None).await.json();
    assert_eq!(
        again["vms"], snapshot["vms"],
        "a restored snapshot dumps the same VMs"
    );
    vcmock::Fixture::from_json(&snapshot.to_string(), "snapshot")
        .expect("the dump is a valid fixture");
}

#[tokio::test]
async fn reset_keeps_a_loaded_state_until_asked_for_the_built_in_fixture_by_name() {
    let app = TestApp::spawn().await;
    let power = |app: &TestApp| app.mock.vm("vm-1001").power_state().unwrap();
    app.mock.vm("vm-1001").power_off().unwrap();
    let snapshot = admin(&app, Method::GET, "/_mock/state", None).await.json();
    let r = admin(&app, Method::POST, "/_mock/state", Some(snapshot)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    admin(&app, Method::POST, "/_mock/reset", None).await;
    assert_eq!(
        power(&app),
        vcmock::PowerState::PoweredOff,
        "a plain reset restores the loaded state"
    );
    let r = admin(
        &app,
        Method::POST,
        "/_mock/reset",
        Some(json!({"fixture": "default"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    assert_eq!(power(&app), vcmock::PowerState::PoweredOn);
    admin(&app, Method::POST, "/_mock/reset", None).await;
    assert_eq!(
        power(&app),
        vcmock::PowerState::PoweredOn,
        "the built-in fixture is what reset restores from then on"
    );
    let r = admin(
        &app,
        Method::POST,
        "/_mock/reset",
        Some(json!({"fixture": "defualt"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.text().contains(r#"unknown fixture name \"defualt\""#),
        "{}",
        r.text()
    );
}

#[tokio::test]
async fn a_state_with_several_problems_is_refused_naming_them_all() {
    let app = TestApp::spawn().await;
    let doc = json!({"format": "vcmock-fixture/v1",
        "roles": [{"name": "Admin", "privileges": ["*"]}],
        "users": [{"login": "a@vsphere.local", "password": "p", "role": "Nobody"}],
        "vms": [{"id": "vm-1", "name": "a", "guest_family": "linux", "power_state": "POWERED_ON"},
                {"id": "vm-1", "name": "b", "guest_family": "linux", "power_state": "POWERED_ON"}]});
    let r = admin(&app, Method::POST, "/_mock/state", Some(doc)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let text = r.text();
    for problem in [
        r#"users[0].role: unknown role \"Nobody\""#,
        r#"vms[1].id: duplicate VM id \"vm-1\""#,
    ] {
        assert!(text.contains(problem), "lacks {problem}: {text}");
    }
    assert_eq!(
        app.mock.vm("vm-1001").power_state().unwrap(),
        vcmock::PowerState::PoweredOn,
        "a refused state changes nothing"
    );
}

#[tokio::test]
async fn vms_can_be_added_unregistered_migrated_and_changed_from_outside() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let vm = json!({"id": "vm-3000", "name": "added", "guest_family": "linux", "power_state": "POWERED_ON",
        "guest_users": [{"name": "root", "password": "pw", "uid": 0}], "files": [{"path": "/hello.txt", "content": "hello"}]});
    let r = admin(&app, Method::POST, "/_mock/vms", Some(vm)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(
        app.get("/api/vcenter/vm/vm-3000", &sid).await.status,
        StatusCode::OK
    );
    let file = admin(
        &app,
        Method::GET,
        "/_mock/vms/vm-3000/files?path=/hello.txt",
        None,
    )
    .await;
    assert_eq!(file.body, b"hello");
    let put = admin(
        &app,
        Method::PUT,
        "/_mock/vms/vm-3000/files",
        Some(json!({"path": "/etc/new.conf", "content": "k=v"})),
    )
    .await;
    assert_eq!(put.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.mock
            .vm("vm-3000")
            .read_file("/etc/new.conf")
            .unwrap()
            .unwrap(),
        b"k=v"
    );
    assert_eq!(
        admin(
            &app,
            Method::DELETE,
            "/_mock/vms/vm-3000/files?path=/etc/new.conf",
            None
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        admin(
            &app,
            Method::PUT,
            "/_mock/vms/vm-3000/power",
            Some(json!({"state": "SUSPENDED"}))
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get("/api/vcenter/vm/vm-3000/power", &sid).await.json()["state"],
        "SUSPENDED"
    );
    admin(
        &app,
        Method::PUT,
        "/_mock/vms/vm-1001/tools",
        Some(json!({"running": false})),
    )
    .await;
    assert_eq!(
        app.get("/api/vcenter/vm/vm-1001/tools", &sid).await.json()["run_state"],
        "NOT_RUNNING"
    );
    let url = {
        admin(
            &app,
            Method::PUT,
            "/_mock/vms/vm-1002/busy",
            Some(json!({"busy": false})),
        )
        .await;
        app.download_url(&sid, "vm-1002", bob(), "C:\\Temp\\setup.log")
            .await
    };
    assert_eq!(
        admin(
            &app,
            Method::POST,
            "/_mock/vms/vm-1002/migrate",
            Some(json!({"host": "host-2"}))
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.client.get(&url).send().await.unwrap().status(),
        StatusCode::NOT_FOUND,
        "migration revokes URLs"
    );
    assert_eq!(
        admin(&app, Method::DELETE, "/_mock/vms/vm-3000", None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get("/api/vcenter/vm/vm-3000", &sid).await.status,
        StatusCode::NOT_FOUND
    );
    let missing = admin(&app, Method::DELETE, "/_mock/vms/vm-3000", None).await;
    assert_eq!(missing.error_type(), "NOT_FOUND");
}

#[tokio::test]
async fn the_clock_can_be_read_advanced_set_and_switched() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let url = app
        .download_url(&sid, "vm-1001", root(), "/etc/hosts")
        .await;
    let r = admin(
        &app,
        Method::POST,
        "/_mock/clock",
        Some(json!({"advance_seconds": 601})),
    )
    .await;
    assert_eq!(
        r.json(),
        json!({"mode": "manual", "now": "2024-01-01T00:10:01.000Z"})
    );
    assert_eq!(
        app.client.get(&url).send().await.unwrap().status(),
        StatusCode::NOT_FOUND,
        "the URL expired"
    );
    let set = admin(
        &app,
        Method::POST,
        "/_mock/clock",
        Some(json!({"set": "2030-06-01T12:00:00Z"})),
    )
    .await;
    assert_eq!(set.json()["now"], "2030-06-01T12:00:00.000Z");
    let sys = admin(
        &app,
        Method::POST,
        "/_mock/clock",
        Some(json!({"mode": "system"})),
    )
    .await;
    assert_eq!(sys.json()["mode"], "system");
    assert_ne!(
        admin(&app, Method::GET, "/_mock/clock", None).await.json()["now"],
        "2030-06-01T12:00:00.000Z"
    );
    let bad = admin(
        &app,
        Method::POST,
        "/_mock/clock",
        Some(json!({"advance_seconds": -1})),
    )
    .await;
    assert_eq!(bad.error_type(), "INVALID_ARGUMENT");
}

#[tokio::test]
async fn a_fault_rule_can_fail_twice_then_let_a_retrying_client_succeed() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let rule = admin(&app, Method::POST, "/_mock/faults", Some(json!({
        "operation": "files.list", "vm": "vm-1001", "times": 2,
        "effect": {"kind": "error", "error_type": "RESOURCE_BUSY", "message": "busy for a moment"}}))).await;
    assert_eq!(rule.status, StatusCode::CREATED);
    let id = rule.json()["id"].as_u64().unwrap();
    let mut statuses = Vec::new();
    for _attempt in 0..5 {
        let r = app
            .guest(
                &sid,
                "vm-1001",
                "files?action=list",
                json!({"credentials": root(), "path": "/tmp"}),
            )
            .await;
        statuses.push(r.status.as_u16());
        if r.status == StatusCode::OK {
            break;
        }
        assert_eq!(r.error_type(), "RESOURCE_BUSY");
    }
    assert_eq!(statuses, [500, 500, 200]);
    let rules = admin(&app, Method::GET, "/_mock/faults", None).await.json();
    assert_eq!(rules[0]["fired"], 2);
    assert_eq!(
        admin(&app, Method::DELETE, &format!("/_mock/faults/{id}"), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        admin(&app, Method::GET, "/_mock/faults", None).await.json(),
        json!([])
    );
}

#[tokio::test]
async fn fault_rules_match_on_path_method_and_after_and_can_answer_raw_statuses() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    admin(&app, Method::POST, "/_mock/faults", Some(json!({
        "path": "^/etc/", "after": 1, "effect": {"kind": "status", "status": 502, "body": "bad gateway"}}))).await;
    let get = |p: &'static str| {
        let app = &app;
        let sid = sid.clone();
        async move {
            app.guest(
                &sid,
                "vm-1001",
                &format!("files/{}?action=get", p.replace('/', "%2F")),
                json!({"credentials": root()}),
            )
            .await
        }
    };
    assert_eq!(
        get("/etc/hosts").await.status,
        StatusCode::OK,
        "after: 1 lets the first through"
    );
    let hit = get("/etc/motd").await;
    assert_eq!(hit.status, StatusCode::BAD_GATEWAY);
    assert_eq!(hit.text(), "bad gateway");
    assert_eq!(
        get("/tmp").await.status,
        StatusCode::OK,
        "other paths are untouched"
    );
    admin(&app, Method::DELETE, "/_mock/faults", None).await;
    admin(
        &app,
        Method::POST,
        "/_mock/faults",
        Some(json!({"method": "DELETE", "effect": {"kind": "status", "status": 418}})),
    )
    .await;
    assert_eq!(
        app.send(Method::DELETE, "/api/session", Some(&sid), None)
            .await
            .status,
        StatusCode::IM_A_TEAPOT
    );
    assert_eq!(app.get("/api/session", &sid).await.status, StatusCode::OK);
}

#[tokio::test]
async fn probabilistic_rules_draw_from_the_seeded_generator() {
    let mut runs = Vec::new();
    for _ in 0..2 {
        let app = TestApp::spawn().await;
        admin(&app, Method::POST, "/_mock/faults", Some(json!({"operation": "admin.health", "probability": 0.5, "effect": {"kind": "status", "status": 503}}))).await;
        admin(&app, Method::POST, "/_mock/faults", Some(json!({"operation": "session.get", "probability": 0.5, "effect": {"kind": "status", "status": 503}}))).await;
        let mut seen = Vec::new();
        for _ in 0..20 {
            seen.push(
                app.send(Method::GET, "/api/session", Some("x"), None)
                    .await
                    .status
                    .as_u16(),
            );
        }
        runs.push(seen);
    }
    assert_eq!(runs[0], runs[1], "the same seed fires the same way");
    assert!(
        runs[0].contains(&503) && runs[0].contains(&401),
        "{:?}",
        runs[0]
    );
}

#[tokio::test]
async fn delay_reset_truncate_and_slow_effects_shape_the_answer() {
    let app = TestApp::spawn_with(|b| {
        b.vm(vcmock::Vm::linux("vm-b")
            .guest_user("root", "rootpw")
            .large_file("/big", 1 << 20))
    })
    .await;
    let sid = app.login().await;
    admin(
        &app,
        Method::POST,
        "/_mock/faults",
        Some(json!({"operation": "vm.list", "times": 1, "effect": {"kind": "delay", "ms": 50}})),
    )
    .await;
    assert_eq!(
        app.get("/api/vcenter/vm", &sid).await.status,
        StatusCode::OK,
        "a delayed request still succeeds"
    );
    admin(
        &app,
        Method::POST,
        "/_mock/faults",
        Some(json!({"operation": "vm.get", "times": 1, "effect": {"kind": "reset"}})),
    )
    .await;
    let reset = app
        .client
        .get(app.url("/api/vcenter/vm/vm-1001"))
        .header("vmware-api-session-id", &sid)
        .send()
        .await;
    assert!(reset.is_err(), "the connection was reset");
    admin(&app, Method::POST, "/_mock/faults", Some(json!({"operation": "guestFile.get", "times": 1, "effect": {"kind": "truncate", "after_bytes": 1000}}))).await;
    let url = app.download_url(&sid, "vm-b", root(), "/big").await;
    // Over HTTP/2 the cut is a stream reset, which may reach the client before or after the
    // response head: either way the body never completes.
    let mut got = 0;
    let mut failed = false;
    match app.client.get(&url).send().await {
        Err(_) => failed = true,
        Ok(mut resp) => loop {
            match resp.chunk().await {
                Ok(Some(c)) => got += c.len(),
                Ok(None) => break,
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        },
    }
    assert!(failed && got <= 1000, "truncated after {got} bytes");
    admin(&app, Method::POST, "/_mock/faults", Some(json!({"operation": "guestFile.get", "times": 1, "effect": {"kind": "slow", "bytes_per_second": 50_000_000}}))).await;
    let url = app
        .download_url(&sid, "vm-1001", root(), "/etc/hostname")
        .await;
    assert_eq!(
        app.client
            .get(&url)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
            .as_ref(),
        b"linux-01\n"
    );
}

#[tokio::test]
async fn the_journal_records_requests_without_secrets_and_filters_them() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    app.guest(
        &sid,
        "vm-1001",
        "files?action=list",
        json!({"credentials": root(), "path": "/etc"}),
    )
    .await;
    app.guest(
        &sid,
        "vm-9999",
        "files?action=list",
        json!({"credentials": root(), "path": "/etc"}),
    )
    .await;
    let url = app
        .download_url(&sid, "vm-1001", root(), "/etc/hosts")
        .await;
    app.client.get(&url).send().await.unwrap();
    app.client.get(&url).send().await.unwrap();
    let all = admin(&app, Method::GET, "/_mock/journal", None)
        .await
        .json();
    let text = all.to_string();
    assert!(
        !text.contains("rootpw") && !text.contains(&sid) && !text.contains("VMware1!"),
        "{text}"
    );
    let token = url.split("token=").nth(1).unwrap();
    assert!(!text.contains(token), "tokens stay out of the journal");
    let lists = admin(
        &app,
        Method::GET,
        "/_mock/journal?operation=files.list",
        None,
    )
    .await
    .json();
    assert_eq!(lists.as_array().unwrap().len(), 2);
    assert_eq!(lists[0]["guest_path"], "/etc");
    assert_eq!(lists[1]["error_type"], "NOT_FOUND");
    assert!(lists[0]["duration_ms"].as_f64().unwrap() >= 0.0);
    let vm = admin(&app, Method::GET, "/_mock/journal?vm=vm-9999", None)
        .await
        .json();
    assert_eq!(vm.as_array().unwrap().len(), 1);
    let refused = admin(&app, Method::GET, "/_mock/journal?status=404", None)
        .await
        .json();
    let note = refused
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["operation"] == "guestFile.get")
        .unwrap()["note"]
        .clone();
    assert!(note.as_str().unwrap().contains("(used)"), "{note}");
    assert_eq!(
        admin(&app, Method::DELETE, "/_mock/journal", None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        admin(&app, Method::GET, "/_mock/journal", None)
            .await
            .json(),
        json!([])
    );
}

#[tokio::test]
async fn the_journal_stays_bounded_under_ten_thousand_requests() {
    let app = TestApp::spawn_with(|b| b.journal_size(50)).await;
    let mut tasks = Vec::new();
    for worker in 0..16 {
        let client = app.client.clone();
        let url = app.url("/api/session");
        tasks.push(tokio::spawn(async move {
            for _ in 0..625 {
                client
                    .get(&url)
                    .header("vmware-api-session-id", format!("w{worker}"))
                    .send()
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let entries = app.mock.journal().requests();
    assert_eq!(entries.len(), 50);
    assert_eq!(entries.last().unwrap().seq, 10_000);
}

#[tokio::test]
async fn metrics_count_requests_transfer_bytes_sessions_and_tokens() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let url = app
        .download_url(&sid, "vm-1001", root(), "/etc/hosts")
        .await;
    app.client
        .get(&url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    app.download_url(&sid, "vm-1001", root(), "/etc/hosts")
        .await;
    let text = admin(&app, Method::GET, "/_mock/metrics", None)
        .await
        .text();
    assert!(
        text.contains("vcmock_requests_total{operation=\"session.create\",status=\"201\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("vcmock_transfer_bytes_total{direction=\"download\"} 80"),
        "{text}"
    );
    assert!(text.contains("vcmock_sessions_active 1"), "{text}");
    assert!(text.contains("vcmock_transfer_tokens_active 1"), "{text}");
}

#[tokio::test]
async fn the_admin_token_guards_the_admin_api_but_not_health() {
    let app = TestApp::spawn_with(|b| b.admin_token("s3cret")).await;
    for path in ["/_mock/info", "/_mock/state", "/_mock/journal"] {
        let none = admin(&app, Method::GET, path, None).await;
        assert_eq!(none.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(none.error_type(), "UNAUTHENTICATED");
        let wrong = app
            .client
            .get(app.url(path))
            .bearer_auth("nope")
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED, "{path}");
        let right = app
            .client
            .get(app.url(path))
            .bearer_auth("s3cret")
            .send()
            .await
            .unwrap();
        assert_eq!(right.status(), StatusCode::OK, "{path}");
    }
    for path in ["/_mock/health", "/_mock/ready", "/_mock/certificate"] {
        assert_eq!(
            admin(&app, Method::GET, path, None).await.status,
            StatusCode::OK,
            "{path}"
        );
    }
}

#[tokio::test]
async fn the_admin_api_can_be_switched_off() {
    let app = TestApp::spawn_with(|b| b.admin(false)).await;
    for path in [
        "/_mock/info",
        "/_mock/state",
        "/_mock/journal",
        "/_mock/faults",
    ] {
        let r = admin(&app, Method::GET, path, None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(r.content_type(), "application/json");
    }
    let r = admin(&app, Method::POST, "/_mock/reset", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn health_readiness_and_the_certificate_stay_served_with_the_admin_api_off() {
    let app = TestApp::spawn_with(|b| b.admin(false).admin_token("t0ken")).await;
    let health = admin(&app, Method::GET, "/_mock/health", None).await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.json(), json!({"status": "ok"}));
    let ready = admin(&app, Method::GET, "/_mock/ready", None).await;
    assert_eq!(ready.status, StatusCode::OK);
    assert_eq!(ready.json(), json!({"ready": true}));
    let cert = admin(&app, Method::GET, "/_mock/certificate", None).await;
    assert_eq!(cert.status, StatusCode::OK);
    assert!(cert.text().contains("BEGIN CERTIFICATE"));
}

#[tokio::test]
async fn session_expiry_follows_the_admin_clock() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    admin(
        &app,
        Method::POST,
        "/_mock/clock",
        Some(json!({"advance_seconds": 1800})),
    )
    .await;
    assert_eq!(
        app.get("/api/session", &sid).await.status,
        StatusCode::UNAUTHORIZED
    );
    let _ = Duration::from_secs(0);
}

#[tokio::test]
async fn a_fault_rule_with_an_unknown_error_type_or_status_is_refused_naming_the_valid_values() {
    let app = TestApp::spawn().await;
    let cases = [
        (
            json!({"kind": "error", "error_type": "RESOURCE_BUZY"}),
            "RESOURCE_BUSY",
        ),
        (json!({"kind": "status", "status": 1000}), "100 to 599"),
        (json!({"kind": "status", "status": 42}), "100 to 599"),
    ];
    for (effect, named) in cases {
        let r = admin(
            &app,
            Method::POST,
            "/_mock/faults",
            Some(json!({"operation": "files.list", "effect": effect})),
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{effect}: {}", r.text());
        assert_eq!(r.error_type(), "INVALID_ARGUMENT", "{effect}");
        assert!(r.text().contains(named), "{effect}: {}", r.text());
    }
    let rules = admin(&app, Method::GET, "/_mock/faults", None).await;
    assert_eq!(rules.json(), json!([]), "nothing was installed");
}

#[tokio::test]
async fn the_clock_refuses_moves_out_of_range_and_every_expiry_stays_representable() {
    let app = TestApp::spawn().await;
    for body in [
        json!({"advance_seconds": 1e12}),
        json!({"set": "9999-12-31T23:59:00Z"}),
        json!({"set": "1969-12-31T23:59:59Z"}),
    ] {
        let r = admin(&app, Method::POST, "/_mock/clock", Some(body.clone())).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.text());
        assert_eq!(r.error_type(), "INVALID_ARGUMENT", "{body}");
        assert!(
            r.text().contains("9999-01-01T00:00:00.000Z"),
            "{body}: {}",
            r.text()
        );
    }
    assert_eq!(
        admin(&app, Method::GET, "/_mock/clock", None).await.json()["now"],
        "2024-01-01T00:00:00.000Z",
        "a refused move leaves the clock where it was"
    );
    let r = admin(
        &app,
        Method::POST,
        "/_mock/clock",
        Some(json!({"set": "9998-12-31T23:00:00Z"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let sid = app.login().await;
    let url = app
        .download_url(&sid, "vm-1001", root(), "/etc/hosts")
        .await;
    assert_eq!(
        TestApp::read(app.client.get(&url).send().await.unwrap())
            .await
            .status,
        StatusCode::OK
    );
    let late = admin(
        &app,
        Method::POST,
        "/_mock/clock",
        Some(json!({"advance_seconds": 3600})),
    )
    .await;
    assert_eq!(
        late.json()["now"],
        "9999-01-01T00:00:00.000Z",
        "the latest instant is reachable"
    );
    assert_eq!(
        app.transfer(
            &sid,
            "vm-1001",
            json!({"credentials": root(), "spec": {"path": "/etc/hosts"}})
        )
        .await
        .status,
        StatusCode::UNAUTHORIZED,
        "the session idled out, and nothing overflowed"
    );
}
