//! What the binary says when something is wrong: values refused at start with the forms they
//! should take (under the name the user set, flag or variable), certificate and fixture
//! problems named by file, warnings that keep the server up, fatal errors in the log format
//! asked for, and a healthcheck that says why it failed.

use serde_json::{Value, json};

#[path = "support/binary.rs"]
mod binary;

use binary::{launch, run, run_with_env, stderr_of};

/// A refused start: exit 2, no ready line, and a message holding every one of `expected`.
fn assert_refused(out: &std::process::Output, expected: &[&str], case: &str) -> String {
    let err = stderr_of(out);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{case}: exit code; stderr: {err}"
    );
    assert!(out.stdout.is_empty(), "{case}: no ready line");
    for e in expected {
        assert!(err.contains(e), "{case}: the message lacks {e:?}: {err}");
    }
    err
}

#[test]
fn invalid_values_are_refused_at_start_with_the_forms_they_should_take() {
    let forms = "expected HOST:PORT or PORT";
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["--log-level", "verbose"],
            &[
                "\"verbose\" is not a level",
                "off, error, warn, info, debug, trace",
                "vcmock=trace",
            ],
        ),
        (
            &["--log-level", "info,vcmock=loud"],
            &["\"loud\" is not a level"],
        ),
        (
            &["--transfer-host", "http://x"],
            &[
                "leave out the scheme \"http://\"",
                "write \"x\"",
                "HOST:PORT",
            ],
        ),
        (
            &["--transfer-host", "x/guestFile"],
            &["\"/\" has no place in a host"],
        ),
        (&["--transfer-host", "x:99999"], &["port \"99999\""]),
        (
            &["--listen", "localhost:x"],
            &["port \"x\"", forms, "localhost:8443"],
        ),
        (
            &["--listen", "https://127.0.0.1:8443"],
            &["not a URL", forms],
        ),
        (
            &["--listen", "no-such-host.invalid:8443"],
            &["cannot resolve", forms],
        ),
        (&["--listen", "127.0.0.1"], &["no port", forms]),
        (&["--listen", "70000"], &["port \"70000\"", forms]),
        (
            &["--tls-san", "https://vcmock"],
            &["neither a DNS name nor an IP address"],
        ),
        (
            &["--clock-start", "yesterday"],
            &["RFC 3339", "2024-01-01T00:00:00Z"],
        ),
        (&["--tls", "yes"], &["'--tls <TLS>'", "on, off"]),
    ];
    for (args, expected) in cases {
        let out = run(args.iter().copied());
        assert_refused(&out, expected, &args.join(" "));
    }
}

#[test]
fn a_value_refused_from_an_environment_variable_is_reported_under_that_variable() {
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "VCMOCK_TLS",
            "yes",
            &["'VCMOCK_TLS'", "of --tls", "on, off"],
        ),
        (
            "VCMOCK_LOG_LEVEL",
            "verbose",
            &["'VCMOCK_LOG_LEVEL'", "is not a level"],
        ),
        ("VCMOCK_LISTEN", ":http", &["'VCMOCK_LISTEN'", "HOST:PORT"]),
        (
            "VCMOCK_TRANSFER_HOST",
            "https://x:1",
            &["'VCMOCK_TRANSFER_HOST'", "scheme"],
        ),
    ];
    for (var, value, expected) in cases {
        let out = run_with_env(["serve"], &[(var, value)]);
        let err = assert_refused(&out, expected, var);
        assert!(
            !err.contains("<"),
            "{var}: the flag's placeholder is gone: {err}"
        );
    }
    // The same value given as a flag is reported as the flag, even with the variable set too.
    let out = run_with_env(["--tls", "yes"], &[("VCMOCK_TLS", "on")]);
    let err = assert_refused(&out, &["'--tls <TLS>'"], "flag and variable");
    assert!(!err.contains("VCMOCK_TLS"), "{err}");
    // The healthcheck reads the same variables, and names them the same way.
    let out = run_with_env(["healthcheck"], &[("VCMOCK_TLS", "yes")]);
    assert_refused(&out, &["'VCMOCK_TLS'"], "healthcheck");
}

#[test]
fn listen_takes_host_names_and_a_port_alone_means_loopback() {
    for listen in ["localhost:0", "0", ":0", "127.0.0.1:0"] {
        let server = binary::launch_bare().args(["--listen", listen]).start();
        let address = server.address();
        assert!(
            address.starts_with("127.0.0.1:") && !address.ends_with(":0"),
            "--listen {listen} listens on {address}"
        );
        assert!(server.stop().status.success());
    }
}

#[test]
fn filters_in_tracing_syntax_and_levels_in_any_case_are_accepted() {
    for filter in ["INFO", "warn,vcmock=debug", "vcmock::cli=trace,off"] {
        let server = launch().args(["--log-level", filter]).start();
        assert!(server.stop().status.success(), "--log-level {filter}");
    }
}

/// A certificate for `name` and its key, in PEM.
fn cert_and_key(name: &str) -> (String, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec![name.to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    (cert.pem(), key.serialize_pem())
}

#[test]
fn certificate_problems_name_each_file_and_what_it_holds() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = cert_and_key("a.test");
    let (_, other_key) = cert_and_key("b.test");
    let file = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    };
    let (c, k, o) = (
        file("c.pem", &cert),
        file("k.pem", &key),
        file("o.pem", &other_key),
    );
    let e = file("empty.pem", "not PEM at all\n");
    let cases: &[(&str, &str, &[&str])] = &[
        (
            &k,
            &c,
            &[
                "k.pem (--tls-cert) holds a private key",
                "c.pem (--tls-key) a certificate",
                "swapped",
            ],
        ),
        (
            &c,
            &c,
            &[
                "c.pem (--tls-key) holds no private key",
                "only a certificate",
            ],
        ),
        (
            &e,
            &k,
            &[
                "empty.pem (--tls-cert) holds no certificate",
                "nothing in PEM form",
            ],
        ),
        (
            &c,
            &o,
            &[
                "c.pem (--tls-cert) and",
                "o.pem (--tls-key) do not belong together",
            ],
        ),
        (
            &c,
            "/no/such/key.pem",
            &["/no/such/key.pem (--tls-key): No such file"],
        ),
    ];
    for (cert, key, expected) in cases {
        let out = run([
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            cert,
            "--tls-key",
            key,
        ]);
        assert_refused(&out, expected, &format!("{cert} + {key}"));
    }
    // Files named by variables are reported under the variables.
    let out = run_with_env(
        ["--listen", "127.0.0.1:0"],
        &[("VCMOCK_TLS_CERT", &k), ("VCMOCK_TLS_KEY", &c)],
    );
    assert_refused(
        &out,
        &["(VCMOCK_TLS_CERT) holds a private key", "(VCMOCK_TLS_KEY)"],
        "env",
    );
}

/// The built-in fixture with its users replaced by `users` (roles stay: Admin, ReadOnly).
fn fixture_with_users(dir: &std::path::Path, users: Value) -> std::path::PathBuf {
    let mut f: Value = serde_json::from_str(include_str!("../fixtures/default.json")).unwrap();
    f["users"] = users;
    let path = dir.join("users.json");
    std::fs::write(&path, f.to_string()).unwrap();
    path
}

#[test]
fn every_problem_of_every_fixture_file_is_reported_in_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, doc: Value| std::fs::write(dir.path().join(name), doc.to_string());
    write(
        "a.json",
        json!({"format": "vcmock-fixture/v1",
               "roles": [{"name": "Admin", "privileges": ["*"]}],
               "users": [{"login": "x@vsphere.local", "password": "p", "role": "Nobody"}],
               "vms": [{"id": "vm-1", "name": "a", "guest_family": "linux", "power_state": "POWERED_ON",
                        "files": [{"path": "etc/relative"}, {"path": "/ok", "mode": "rwx"}]}]}),
    )
    .unwrap();
    write(
        "b.json",
        json!({"format": "vcmock-fixture/v1",
               "vms": [{"id": "vm-2", "name": "b", "guest_family": "linux", "power_state": "POWERED_ON"},
                       {"id": "vm-2", "name": "c", "guest_family": "linux", "power_state": "POWERED_ON"}]}),
    )
    .unwrap();
    std::fs::write(dir.path().join("c.json"), "{ not json").unwrap();
    let expected = [
        "a.json: users[0].role: unknown role \"Nobody\"",
        "a.json: vms[0].files[0].path: invalid Linux path \"etc/relative\": the path is not absolute",
        "a.json: vms[0].files[1].mode: \"rwx\" is not octal permissions",
        "b.json: vms[1].id: duplicate VM id \"vm-2\"",
        "c.json: line 1, column 3",
    ];
    let check = binary::command()
        .args(["fixtures", "check"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!check.status.success());
    let start = binary::command()
        .args(["--listen", "127.0.0.1:0", "--fixtures"])
        .arg(dir.path())
        .output()
        .unwrap();
    for (what, out) in [("fixtures check", &check), ("the start", &start)] {
        let err = stderr_of(out);
        for e in expected {
            assert!(err.contains(e), "{what} lacks {e:?}: {err}");
        }
    }
    assert!(
        stderr_of(&check).contains("5 problems"),
        "{}",
        stderr_of(&check)
    );
    let err = assert_refused(&start, &["the fixtures have 5 problems:"], "start");
    assert_eq!(err.lines().count(), 6, "one line a problem: {err}");
}

#[tokio::test]
async fn fixture_files_merge_so_users_may_take_their_role_from_another_file() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, doc: Value| std::fs::write(dir.path().join(name), doc.to_string());
    write(
        "00-roles.json",
        json!({"format": "vcmock-fixture/v1", "roles": [{"name": "Ops", "privileges": ["*"]}]}),
    )
    .unwrap();
    write(
        "10-users.json",
        json!({"format": "vcmock-fixture/v1",
               "users": [{"login": "ops@vsphere.local", "password": "Ops1!", "role": "Ops"}]}),
    )
    .unwrap();
    let check = binary::command()
        .args(["fixtures", "check"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", stderr_of(&check));
    let server = launch().arg("--fixtures").arg(dir.path()).start();
    assert_eq!(server.ready["username"], "ops@vsphere.local");
    let login = server
        .client()
        .post(format!("{}/api/session", server.base_url()))
        .basic_auth("ops@vsphere.local", Some("Ops1!"))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 201);
    // A role no file defines is still refused, in the file that names it.
    write(
        "20-more.json",
        json!({"format": "vcmock-fixture/v1",
               "users": [{"login": "x@vsphere.local", "password": "p", "role": "Nobody"}]}),
    )
    .unwrap();
    let check = binary::command()
        .args(["fixtures", "check"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        stderr_of(&check).contains("20-more.json: users[0].role: unknown role \"Nobody\""),
        "{}",
        stderr_of(&check)
    );
}

#[test]
fn a_fixture_without_users_warns_that_nobody_can_log_in() {
    let dir = tempfile::tempdir().unwrap();
    let path = fixture_with_users(dir.path(), json!([]));
    let check = binary::command()
        .args(["fixtures", "check"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(check.status.success(), "a warning, not an error");
    assert!(String::from_utf8_lossy(&check.stdout).contains("0 users"));
    assert!(stderr_of(&check).contains("warning: no vCenter user, so nobody can log in"));

    let server = launch().arg("--fixtures").arg(&path).start();
    assert!(server.ready["username"].is_null());
    let stopped = server.stop();
    assert!(
        stopped
            .logs
            .contains("no vCenter user, so nobody can log in"),
        "{}",
        stopped.logs
    );
}

#[tokio::test]
async fn the_ready_line_names_an_admin_even_when_another_user_comes_first() {
    let dir = tempfile::tempdir().unwrap();
    let path = fixture_with_users(
        dir.path(),
        json!([
            {"login": "viewer@vsphere.local", "password": "View1!", "role": "ReadOnly"},
            {"login": "boss@vsphere.local", "password": "Boss1!", "role": "Admin"},
        ]),
    );
    let server = launch().arg("--fixtures").arg(&path).start();
    assert_eq!(server.ready["username"], "boss@vsphere.local");
    assert_eq!(server.ready["password"], "Boss1!");
    // The printed user can do what an admin does: power a VM off.
    let (base, http) = (server.base_url(), server.client());
    let sid: String = http
        .post(format!("{base}/api/session"))
        .basic_auth("boss@vsphere.local", Some("Boss1!"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let power = http
        .post(format!("{base}/api/vcenter/vm/vm-1001/power?action=stop"))
        .header("vmware-api-session-id", &sid)
        .send()
        .await
        .unwrap();
    assert_eq!(power.status(), 204);

    // With no user holding every privilege, the ready line names none, and says why.
    let path = fixture_with_users(
        dir.path(),
        json!([{"login": "viewer@vsphere.local", "password": "View1!", "role": "ReadOnly"}]),
    );
    let server = launch().arg("--fixtures").arg(&path).start();
    assert!(server.ready["username"].is_null() && server.ready["password"].is_null());
    assert!(
        server
            .stop()
            .logs
            .contains("no vCenter user has a role with every privilege")
    );
}

#[test]
fn the_ready_line_puts_event_first_and_keeps_the_documented_key_order() {
    let server = launch().start();
    let keys: Vec<&str> = server
        .line
        .trim()
        .trim_start_matches('{')
        .split(",\"")
        .filter_map(|kv| kv.trim_start_matches('"').split('"').next())
        .collect();
    assert_eq!(
        keys,
        [
            "event",
            "address",
            "base_url",
            "username",
            "password",
            "tls",
            "certificate_path",
            "thumbprint_sha1",
            "thumbprint_sha256",
            "version"
        ],
        "{}",
        server.line
    );
    assert!(server.line.starts_with(r#"{"event":"ready","#));
}

#[test]
fn with_json_logs_fatal_errors_are_json_lines_too() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"format": "vcmock-fixture/v2"}"#).unwrap();
    let start = binary::command()
        .args(["--listen", "127.0.0.1:0", "--log", "json", "--fixtures"])
        .arg(&bad)
        .output()
        .unwrap();
    let parse = run_with_env(["--log-level", "verbose"], &[("VCMOCK_LOG", "json")]);
    for (out, expected) in [(&start, "bad.json: format"), (&parse, "is not a level")] {
        assert_eq!(out.status.code(), Some(2));
        let err = stderr_of(out);
        let lines: Vec<Value> = err
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect();
        let last = lines.last().expect("a line");
        assert_eq!(last["level"], "ERROR", "{err}");
        assert!(last["timestamp"].is_string());
        let message = last["fields"]["message"].as_str().unwrap();
        assert!(message.contains(expected), "{message}");
        assert!(!message.contains("Usage:"), "the message alone: {message}");
    }
}

#[tokio::test]
async fn an_unwritable_certificate_path_is_a_warning_and_the_certificate_is_still_served() {
    let dir = tempfile::tempdir().unwrap();
    // A path below a regular file cannot be created, whoever runs the test (root too).
    std::fs::write(dir.path().join("file"), "").unwrap();
    let wanted = dir.path().join("file/certs/vcmock.pem");
    let server = launch().arg("--cert-out").arg(&wanted).start();
    assert!(
        server.ready["certificate_path"].is_null(),
        "{}",
        server.line
    );
    let base = server.base_url();
    let pem = reqwest::Client::builder()
        .use_rustls_tls()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap()
        .get(format!("{base}/_mock/certificate"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // The served PEM is the certificate the server uses: a client trusting it gets through.
    let trusting = reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).unwrap())
        .build()
        .unwrap();
    let health = trusting
        .get(format!("{base}/_mock/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let logs = server.stop().logs;
    for e in [
        "cannot write the certificate to",
        "file/certs/vcmock.pem (--cert-out)",
        "/_mock/certificate only",
    ] {
        assert!(logs.contains(e), "the warning lacks {e:?}: {logs}");
    }
}

#[tokio::test]
async fn plain_http_sent_to_the_https_port_is_answered_with_a_400_that_says_to_use_https() {
    let server = launch().start();
    let port = server.address().rsplit_once(':').unwrap().1.to_owned();
    let plain = reqwest::Client::new()
        .get(format!("http://localhost:{port}/api/vcenter/vm?names=x"))
        .send()
        .await
        .expect("an HTTP answer, not a TLS alert");
    assert_eq!(plain.status(), 400);
    let text = plain.text().await.unwrap();
    assert!(
        text.contains("this port speaks HTTPS")
            && text.contains(&format!("https://localhost:{port}/api/vcenter/vm?names=x")),
        "{text}"
    );
    // TLS clients are served as before.
    let health = server
        .client()
        .get(format!("{}/_mock/health", server.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}

#[test]
fn the_healthcheck_says_what_went_wrong() {
    let tls = launch().start();
    let plain = launch().args(["--tls", "off"]).start();
    let free = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let cases: [(&[&str], String, &str); 3] = [
        (
            &["--tls", "off"],
            tls.address(),
            "speaks TLS (HTTPS), and the probe was plain HTTP",
        ),
        (
            &["--tls", "on"],
            plain.address(),
            "answered the TLS handshake in plain text",
        ),
        (&[], free, "nothing listens on"),
    ];
    for (flags, addr, expected) in cases {
        let out = binary::command()
            .arg("healthcheck")
            .args(flags)
            .args(["--listen", &addr])
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = stderr_of(&out);
        assert!(err.contains(expected), "{flags:?}: {err}");
    }
}

#[test]
fn healthcheck_help_lists_only_its_own_flags() {
    let out = run(["healthcheck", "--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    for own in ["--listen", "VCMOCK_LISTEN", "--tls", "VCMOCK_TLS"] {
        assert!(help.contains(own), "lacks {own}: {help}");
    }
    for server_only in [
        "--fixtures",
        "--seed",
        "--admin",
        "--log-level",
        "--tls-cert",
        "--cert-out",
    ] {
        assert!(!help.contains(server_only), "lists {server_only}: {help}");
    }
    assert!(!help.contains("Address to listen on"), "{help}");
}

#[test]
fn options_that_have_no_effect_with_the_others_are_named_in_a_warning() {
    /// Flags, variables, and the warning they give.
    type Case = (
        &'static [&'static str],
        &'static [(&'static str, &'static str)],
        &'static str,
    );
    let cases: &[Case] = &[
        (
            &["--tls", "off", "--tls-san", "vcmock"],
            &[],
            "--tls-san is ignored: TLS is off",
        ),
        (
            &["--clock-start", "2030-01-01T00:00:00Z"],
            &[],
            "--clock-start is ignored: it starts a manual clock (--clock manual)",
        ),
        (
            &[],
            &[("VCMOCK_CLOCK_START", "2030-01-01T00:00:00Z")],
            "VCMOCK_CLOCK_START is ignored",
        ),
        (
            &["--admin", "off", "--admin-token", "t0ken"],
            &[],
            "--admin-token is ignored: the admin API is off",
        ),
    ];
    for (args, env, expected) in cases {
        let mut l = launch().args(args.iter().copied());
        for (k, v) in env.iter() {
            l = l.env(k, v);
        }
        let logs = l.start().stop().logs;
        assert!(logs.contains(expected), "{args:?} {env:?}: {logs}");
    }
    // Nothing to say when every option counts.
    let logs = launch()
        .args(["--clock", "manual", "--clock-start", "2030-01-01T00:00:00Z"])
        .start()
        .stop()
        .logs;
    assert!(!logs.contains("ignored"), "{logs}");
}

#[test]
fn a_misspelt_vcmock_variable_is_named_with_the_one_it_resembles() {
    let logs = launch()
        .env("VCMOCK_FIXTURE", "/nowhere")
        .env("VCMOCK_WHATEVER", "1")
        .start()
        .stop()
        .logs;
    assert!(
        logs.contains(
            "VCMOCK_FIXTURE is not a vcmock variable and is ignored: did you mean VCMOCK_FIXTURES?"
        ),
        "{logs}"
    );
    assert!(
        logs.contains(
            "VCMOCK_WHATEVER is not a vcmock variable and is ignored (vcmock --help lists them)"
        ),
        "{logs}"
    );
}

#[test]
fn a_port_that_cannot_be_bound_is_refused_with_what_to_do() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = run(["--listen", &addr]);
    assert_refused(
        &out,
        &[
            &format!("cannot listen on {addr}"),
            "another server",
            "port 0 picks a free one",
        ],
        "in use",
    );
    // 192.0.2.1 (TEST-NET-1) is no address of this machine.
    let out = run(["--listen", "192.0.2.1:0"]);
    assert_refused(
        &out,
        &["no interface of this machine has that address"],
        "not here",
    );
}
