//! The binary as a user runs it: port 0, the ready line, the printed credentials and
//! certificate, SIGTERM, the healthcheck and fixtures subcommands.

use serde_json::Value;

#[path = "support/binary.rs"]
mod binary;

use binary::{Server, command, launch};

/// The server on a free port with `args`.
fn start(args: &[&str]) -> Server {
    launch().args(args).start()
}

#[tokio::test]
async fn the_binary_prints_a_ready_line_that_is_enough_to_log_in_and_stops_on_sigterm() {
    let run = start(&[]);
    let r = &run.ready.clone();
    assert_eq!(r["event"], "ready");
    assert_eq!(r["tls"], true);
    let base = r["base_url"].as_str().unwrap().to_owned();
    assert!(base.starts_with("https://127.0.0.1:"));
    assert!(r["address"].as_str().unwrap().starts_with("127.0.0.1:"));
    assert_eq!(r["thumbprint_sha1"].as_str().unwrap().len(), 59);
    assert_eq!(r["thumbprint_sha256"].as_str().unwrap().len(), 95);
    let pem = std::fs::read(r["certificate_path"].as_str().unwrap())
        .expect("the certificate file exists");
    let client = reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .build()
        .unwrap();
    let login = client
        .post(format!("{base}/api/session"))
        .basic_auth(r["username"].as_str().unwrap(), r["password"].as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 201);
    let sid: String = login.json().await.unwrap();
    let vms: Value = client
        .get(format!("{base}/api/vcenter/vm"))
        .header("vmware-api-session-id", &sid)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(vms.as_array().unwrap().len(), 6);
    let served = client
        .get(format!("{base}/_mock/certificate"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(served.as_ref(), pem.as_slice());
    let status = run.stop().status;
    assert!(status.success(), "exit status {status}");
    assert!(
        !std::path::Path::new(r["certificate_path"].as_str().unwrap()).exists(),
        "the certificate at the default path goes with the server"
    );
}

#[test]
fn sigterm_right_after_the_ready_line_is_a_clean_exit() {
    for _ in 0..5 {
        let run = start(&[]);
        let cert = run.certificate_path();
        let status = run.stop().status;
        assert!(status.success(), "exit status {status}");
        assert!(!cert.exists(), "cleaned up: {}", cert.display());
    }
}

#[test]
fn a_certificate_file_rewritten_by_another_server_is_left_in_place_at_exit() {
    let run = start(&[]);
    let path = run.certificate_path();
    // As a newer server on the same port would, after this one let go of it.
    std::fs::write(&path, "another server's certificate").unwrap();
    assert!(run.stop().status.success());
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "another server's certificate",
        "only this run's own certificate is removed"
    );
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn the_healthcheck_subcommand_succeeds_against_a_running_server_and_fails_without_one() {
    let run = start(&[]);
    let addr = run.address();
    let ok = binary::run(["healthcheck", "--listen", &addr]);
    assert!(ok.status.success(), "{}", binary::stderr_of(&ok));
    drop(run);
    let down = binary::run(["healthcheck", "--listen", &addr]);
    assert!(!down.status.success());
}

#[test]
fn the_healthcheck_succeeds_whatever_the_admin_setting() {
    let off = launch().args(["--admin", "off"]).start();
    let by_env = launch().env("VCMOCK_ADMIN", "off").start();
    for server in [&off, &by_env] {
        let ok = binary::run(["healthcheck", "--listen", &server.address()]);
        assert!(ok.status.success(), "{}", binary::stderr_of(&ok));
    }
}

#[test]
fn with_tls_off_the_server_speaks_plain_http_and_healthcheck_follows() {
    let run = start(&["--tls", "off"]);
    assert_eq!(run.ready["tls"], false);
    assert!(
        run.ready["base_url"]
            .as_str()
            .unwrap()
            .starts_with("http://")
    );
    assert!(run.ready["certificate_path"].is_null());
    let addr = run.address();
    let ok = binary::run(["healthcheck", "--tls", "off", "--listen", &addr]);
    assert!(ok.status.success(), "{}", binary::stderr_of(&ok));
}

#[test]
fn flags_can_come_from_vcmock_environment_variables() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("served.pem");
    let server = binary::launch_bare()
        .env("VCMOCK_LISTEN", "127.0.0.1:0")
        .env("VCMOCK_CERT_OUT", &cert)
        .env("VCMOCK_SEED", "7")
        .start();
    assert_eq!(server.ready["certificate_path"], cert.display().to_string());
    assert!(cert.exists());
    assert!(server.stop().status.success());
    assert!(
        cert.exists(),
        "a certificate path given by the user is kept"
    );
}

#[test]
fn a_broken_fixture_stops_startup_with_the_file_the_json_path_and_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"format": "vcmock-fixture/v1", "vms": [{"id": "vm-1", "name": "a", "guest_family": "linux", "power_state": "OFF"}]}"#).unwrap();
    let out = command()
        .args(["--listen", "127.0.0.1:0", "--fixtures"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "no ready line");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.json"), "{err}");
    assert!(err.contains("vms[0].power_state"), "{err}");
    assert!(err.contains("unknown variant"), "{err}");
}

#[test]
fn fixtures_check_validates_files_as_the_server_would() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.json");
    let out = binary::run(["fixtures", "default"]);
    std::fs::write(&good, &out.stdout).unwrap();
    let ok = command()
        .args(["fixtures", "check"])
        .arg(&good)
        .output()
        .unwrap();
    assert!(ok.status.success());
    assert!(String::from_utf8_lossy(&ok.stdout).contains("6 VMs"));
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"format": "vcmock-fixture/v2"}"#).unwrap();
    let no = command()
        .args(["fixtures", "check"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!no.status.success());
    assert!(String::from_utf8_lossy(&no.stderr).contains("format"));
}

#[test]
fn help_lists_every_flag_with_its_environment_variable() {
    let out = binary::run(["--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    for env in [
        "VCMOCK_LISTEN",
        "VCMOCK_TLS",
        "VCMOCK_TLS_CERT",
        "VCMOCK_TLS_KEY",
        "VCMOCK_TLS_SAN",
        "VCMOCK_CERT_OUT",
        "VCMOCK_FIXTURES",
        "VCMOCK_SEED",
        "VCMOCK_TRANSFER_HOST",
        "VCMOCK_ADMIN_TOKEN",
        "VCMOCK_LOG",
        "VCMOCK_LOG_LEVEL",
        "VCMOCK_SESSION_IDLE_TIMEOUT",
    ] {
        assert!(help.contains(env), "--help lacks {env}");
    }
    let version = binary::run(["--version"]);
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("vcmock "));
}

#[tokio::test]
async fn a_user_supplied_certificate_and_extra_names_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["vc.example.test".to_owned()]).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "own cert");
    let cert = params.self_signed(&key).unwrap();
    std::fs::write(dir.path().join("c.pem"), cert.pem()).unwrap();
    std::fs::write(dir.path().join("k.pem"), key.serialize_pem()).unwrap();
    let (c, k) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
    let own = start(&[
        "--tls-cert",
        c.to_str().unwrap(),
        "--tls-key",
        k.to_str().unwrap(),
    ]);
    let addr: std::net::SocketAddr = own.ready["address"].as_str().unwrap().parse().unwrap();
    let client = reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(reqwest::Certificate::from_pem(cert.pem().as_bytes()).unwrap())
        .resolve("vc.example.test", addr)
        .build()
        .unwrap();
    let r = client
        .get(format!(
            "https://vc.example.test:{}/_mock/health",
            addr.port()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the user's certificate is served");

    let generated = start(&["--tls-san", "mock.example.test,other.test"]);
    let addr: std::net::SocketAddr = generated.ready["address"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let pem = std::fs::read(generated.ready["certificate_path"].as_str().unwrap()).unwrap();
    let client = reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .resolve("mock.example.test", addr)
        .build()
        .unwrap();
    let r = client
        .get(format!(
            "https://mock.example.test:{}/_mock/health",
            addr.port()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        200,
        "the extra name is in the generated certificate"
    );
}
