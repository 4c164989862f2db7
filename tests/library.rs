//! The library surface: starting from any test flavour, isolation, drop, typed builders and
//! determinism.

use std::io::{Read as _, Write as _};
use std::time::Duration;

use serde_json::{Value, json};
use vcmock::{Fixture, ManualClock, MockVcenter, Vm};

/// A plain HTTP/1.1 GET over std (no runtime needed); returns status and body.
fn http_get(mock: &MockVcenter, path: &str) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(mock.address()).expect("connect");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = out.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned();
    (status, body)
}

fn plain() -> MockVcenter {
    MockVcenter::builder().tls(false).start().expect("starts")
}

#[test]
fn a_server_starts_and_answers_from_a_plain_test_without_a_runtime() {
    let mock = plain();
    assert!(mock.base_url().starts_with("http://127.0.0.1:"));
    assert_eq!(http_get(&mock, "/_mock/health").0, 200);
}

#[tokio::test(flavor = "current_thread")]
async fn a_server_starts_from_a_current_thread_runtime() {
    let mock = plain();
    let r = reqwest::get(format!("{}/_mock/ready", mock.base_url()))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_starts_from_a_multi_thread_runtime() {
    let mock = plain();
    let r = reqwest::get(format!("{}/_mock/ready", mock.base_url()))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn paused_tokio_time_in_the_test_does_not_freeze_the_server() {
    let mock = plain();
    tokio::time::advance(Duration::from_secs(3600)).await;
    let addr = mock.address();
    let (status, _) = tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        write!(
            s,
            "GET /_mock/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        (out.split(' ').nth(1).unwrap_or("").to_owned(), out)
    })
    .await
    .unwrap();
    assert_eq!(status, "200");
}

#[test]
fn a_hundred_servers_run_side_by_side_each_isolated() {
    let servers: Vec<MockVcenter> = (0..100).map(|_| plain()).collect();
    let ports: std::collections::BTreeSet<u16> =
        servers.iter().map(|s| s.address().port()).collect();
    assert_eq!(ports.len(), 100);
    servers[0].vm("vm-1001").power_off().unwrap();
    assert_eq!(
        servers[0].vm("vm-1001").power_state().unwrap(),
        vcmock::PowerState::PoweredOff
    );
    assert_eq!(
        servers[1].vm("vm-1001").power_state().unwrap(),
        vcmock::PowerState::PoweredOn
    );
    for s in &servers {
        assert_eq!(http_get(s, "/_mock/health").0, 200);
    }
}

#[test]
fn dropping_the_handle_stops_the_server() {
    let mock = plain();
    let addr = mock.address();
    assert_eq!(http_get(&mock, "/_mock/health").0, 200);
    drop(mock);
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "connections are refused after drop"
    );
}

#[test]
fn dropping_the_handle_closes_kept_alive_connections_and_releases_its_files() {
    let mock = MockVcenter::builder()
        .tls(false)
        .spill_threshold(0)
        .start()
        .expect("starts");
    let spill_dir = mock.spill_dir().unwrap();
    let mut s = std::net::TcpStream::connect(mock.address()).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(s, "GET /_mock/health HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    let mut first = [0u8; 12];
    s.read_exact(&mut first).unwrap();
    assert_eq!(
        &first, b"HTTP/1.1 200",
        "the kept-alive connection is served"
    );
    drop(mock);
    assert!(
        !spill_dir.exists(),
        "the spill directory is gone when drop returns"
    );
    // The connection was closed: whatever of the first answer is left, then end of stream.
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    let _ = write!(s, "GET /_mock/health HTTP/1.1\r\nHost: localhost\r\n\r\n");
    let mut more = Vec::new();
    let after = s.read_to_end(&mut more);
    assert!(
        matches!(after, Ok(0)) || after.is_err(),
        "no answer after drop: {:?}",
        String::from_utf8_lossy(&more)
    );
}

#[test]
fn a_fixture_given_to_the_builder_is_validated_at_start() {
    let mut broken = Fixture::default_fixture();
    broken.vms[0].files[0].path = "relative/path".into();
    let Err(err) = MockVcenter::builder().tls(false).fixture(broken).start() else {
        panic!("a broken fixture does not start");
    };
    assert!(
        err.to_string().contains("vms[0].files[0].path"),
        "the error names the field: {err}"
    );
}

#[test]
fn typed_builders_produce_the_same_model_as_the_json_fixture_form() {
    let typed = MockVcenter::builder()
        .tls(false)
        .without_default_vms()
        .vm(Vm::linux("vm-101")
            .name("web-01")
            .guest_user("root", "secret")
            .file("/etc/motd", "hi\n")
            .dir("/var/log"))
        .start()
        .unwrap();
    let json_form = json!({
        "format": "vcmock-fixture/v1",
        "roles": Fixture::default_fixture().roles,
        "users": Fixture::default_fixture().users,
        "vms": [{"id": "vm-101", "name": "web-01", "guest_family": "linux", "power_state": "POWERED_ON",
                 "host": "host-1",
                 "guest_users": [{"name": "root", "password": "secret", "uid": 0}],
                 "files": [{"path": "/tmp", "type": "directory", "mode": "1777"},
                           {"path": "/bin/sh", "mode": "755"},
                           {"path": "/bin/bash", "mode": "755"},
                           {"path": "/etc/motd", "content": "hi\n"},
                           {"path": "/var/log", "type": "directory"}]}]
    });
    let fixture = Fixture::from_json(&json_form.to_string(), "inline").unwrap();
    let from_json = MockVcenter::builder()
        .tls(false)
        .fixture(fixture)
        .start()
        .unwrap();
    let a = serde_json::to_value(typed.snapshot().unwrap().vms).unwrap();
    let b = serde_json::to_value(from_json.snapshot().unwrap().vms).unwrap();
    assert_eq!(strip_times(a), strip_times(b));
}

/// File times are the load instant (system clock); compare everything else.
fn strip_times(mut v: Value) -> Value {
    for vm in v.as_array_mut().unwrap() {
        for f in vm["files"].as_array_mut().unwrap() {
            f.as_object_mut().unwrap().remove("modified");
        }
    }
    v
}

#[tokio::test]
async fn the_same_seed_clock_fixture_and_requests_give_byte_identical_answers() {
    let mut transcripts = Vec::new();
    for _ in 0..2 {
        let mock = MockVcenter::builder()
            .seed(7)
            .clock(ManualClock::default())
            .tls(false)
            .start()
            .unwrap();
        let http = reqwest::Client::new();
        let base = mock.base_url().to_owned();
        let mut transcript = Vec::new();
        let login = http
            .post(format!("{base}/api/session"))
            .basic_auth("administrator@vsphere.local", Some("VMware1!"))
            .send()
            .await
            .unwrap();
        let sid_bytes = login.bytes().await.unwrap();
        transcript.push(sid_bytes.to_vec());
        let sid: String = serde_json::from_slice(&sid_bytes).unwrap();
        let creds = json!({"interactive_session": false, "type": "USERNAME_PASSWORD", "user_name": "root", "password": "rootpw"});
        let calls = [
            (
                "files?action=createTemporary",
                json!({"credentials": creds, "prefix": "p", "suffix": "s"}),
            ),
            (
                "directories?action=createTemporary",
                json!({"credentials": creds, "prefix": "d", "suffix": ""}),
            ),
            (
                "files?action=list",
                json!({"credentials": creds, "path": "/tmp"}),
            ),
        ];
        for (tail, body) in calls {
            let r = http
                .post(format!(
                    "{base}/api/vcenter/vm/vm-1001/guest/filesystem/{tail}"
                ))
                .header("vmware-api-session-id", &sid)
                .json(&body)
                .send()
                .await
                .unwrap();
            transcript.push(r.bytes().await.unwrap().to_vec());
        }
        let t = http
            .post(format!(
                "{base}/api/vcenter/vm/vm-1001/guest/filesystem?action=create"
            ))
            .header("vmware-api-session-id", &sid)
            .json(&json!({"credentials": creds, "spec": {"path": "/etc/hosts"}}))
            .send()
            .await
            .unwrap();
        let url = String::from_utf8(t.bytes().await.unwrap().to_vec()).unwrap();
        transcript.push(
            url.replace(&mock.address().port().to_string(), "PORT")
                .into_bytes(),
        );
        let info = http
            .get(format!("{base}/api/session"))
            .header("vmware-api-session-id", &sid)
            .send()
            .await
            .unwrap();
        transcript.push(info.bytes().await.unwrap().to_vec());
        transcripts.push(transcript);
    }
    assert_eq!(transcripts[0], transcripts[1]);
}

#[cfg(feature = "client")]
#[tokio::test]
async fn the_client_feature_gives_a_client_that_trusts_the_certificate() {
    let mock = MockVcenter::start().unwrap();
    let r = mock
        .client()
        .get(format!("{}/_mock/health", mock.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}
