//! The URL: the port the client called, the transfer host, plain HTTP, seeds, and the preview forms.

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::*;
use crate::helpers::*;

#[tokio::test]
async fn the_url_carries_the_port_the_client_called() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let port = app.mock.address().port();
    let r = create(&app, &sid, "vm-1001", root(), download_spec("/etc/hosts")).await;
    let url = r.json().as_str().unwrap().to_owned();
    assert!(
        url.starts_with(&format!("https://*:{port}/guestFile?id=")),
        "{url}"
    );
    assert!(url.contains("&token="));
    // Behind a port mapping the Host header names another port (HTTP/1.1 to send it as is).
    let h1 = reqwest::Client::builder()
        .use_rustls_tls()
        .http1_only()
        .add_root_certificate(
            reqwest::Certificate::from_pem(app.mock.certificate_pem().unwrap().as_bytes()).unwrap(),
        )
        .build()
        .unwrap();
    let body = json!({"credentials": root(), "spec": {"path": "/etc/hosts"}});
    for (host, prefix) in [
        ("localhost:18443", "https://*:18443/guestFile?id="),
        ("localhost", "https://*/guestFile?id="),
        ("localhost:443", "https://*/guestFile?id="),
        ("mock.example:8443", "https://*:8443/guestFile?id="),
        ("[::1]:9999", "https://*:9999/guestFile?id="),
    ] {
        let r = h1
            .post(app.url("/api/vcenter/vm/vm-1001/guest/filesystem?action=create"))
            .header("host", host)
            .header("vmware-api-session-id", &sid)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED, "Host {host}");
        let url: String = r.json().await.unwrap();
        assert!(url.starts_with(prefix), "Host {host}: {url}");
        // Substituted with the address actually called, the URL works.
        let real = url.replacen(
            &prefix["https://".len()..prefix.len() - "/guestFile?id=".len()],
            &format!("127.0.0.1:{port}"),
            1,
        );
        assert_eq!(
            fetch(&app, &real).await.status,
            StatusCode::OK,
            "Host {host}: {real}"
        );
    }
}

#[tokio::test]
async fn the_transfer_host_option_replaces_the_star() {
    for (host, expected) in [
        ("files.example", "https://files.example:PORT/guestFile?id="),
        (
            "files.example:9443",
            "https://files.example:9443/guestFile?id=",
        ),
        ("[::1]", "https://[::1]:PORT/guestFile?id="),
    ] {
        let app = TestApp::spawn_with(|b| b.transfer_host(host)).await;
        let sid = app.login().await;
        let r = create(&app, &sid, "vm-1001", root(), download_spec("/etc/hosts")).await;
        let expected = expected.replace("PORT", &app.mock.address().port().to_string());
        assert!(
            r.json().as_str().unwrap().starts_with(&expected),
            "{host}: {}",
            r.text()
        );
    }
}

#[tokio::test]
async fn with_a_transfer_host_the_url_works_without_substitution() {
    let app = TestApp::spawn_with(|b| b.transfer_host("127.0.0.1")).await;
    let sid = app.login().await;
    let r = create(
        &app,
        &sid,
        "vm-1001",
        root(),
        download_spec("/etc/hostname"),
    )
    .await;
    let url = r.json().as_str().unwrap().to_owned();
    assert!(!url.contains('*'), "{url}");
    assert_eq!(fetch(&app, &url).await.body, b"linux-01\n");
}

#[tokio::test]
async fn with_tls_off_urls_use_http_and_work() {
    let app = TestApp::spawn_with(|b| b.tls(false)).await;
    let sid = app.login().await;
    let port = app.mock.address().port();
    let r = create(
        &app,
        &sid,
        "vm-1001",
        root(),
        download_spec("/etc/hostname"),
    )
    .await;
    let url = r.json().as_str().unwrap().to_owned();
    assert!(
        url.starts_with(&format!("http://*:{port}/guestFile?id=")),
        "{url}"
    );
    assert_eq!(fetch(&app, &app.substitute(&url)).await.body, b"linux-01\n");
    let r = app
        .client
        .post(app.url("/api/vcenter/vm/vm-1001/guest/filesystem?action=create"))
        .header("host", "localhost:80")
        .header("vmware-api-session-id", &sid)
        .json(&json!({"credentials": root(), "spec": {"path": "/etc/hosts"}}))
        .send()
        .await
        .unwrap();
    let url: String = r.json().await.unwrap();
    assert!(url.starts_with("http://*/guestFile?id="), "port 80: {url}");
}

#[tokio::test]
async fn the_same_seed_gives_the_same_urls() {
    let mut urls = Vec::new();
    for _ in 0..2 {
        let app = TestApp::spawn().await;
        let sid = app.login().await;
        let r = create(&app, &sid, "vm-1001", root(), download_spec("/etc/hosts")).await;
        let url = r.json().as_str().unwrap().to_owned();
        urls.push(url.split_once("/guestFile").unwrap().1.to_owned());
    }
    assert_eq!(urls[0], urls[1]);
    let token = urls[0].split("token=").nth(1).unwrap();
    assert!(token.len() >= 20, "the token is long: {token}");
}

// ----------------------------------------------------------------- the preview forms

#[tokio::test]
async fn the_preview_get_and_put_forms_hand_out_working_urls() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let get = app
        .send(
            Method::GET,
            "/api/vcenter/vm/vm-1001/guest/filesystem",
            Some(&sid),
            Some(json!({"path": "/etc/hostname", "credentials": root()})),
        )
        .await;
    assert_eq!(get.status, StatusCode::OK, "{}", get.text());
    let url = get.json().as_str().unwrap().to_owned();
    assert!(url.starts_with("https://*:"), "{url}");
    assert_eq!(fetch(&app, &app.substitute(&url)).await.body, b"linux-01\n");
    let putr = app
        .send(
            Method::PUT,
            "/api/vcenter/vm/vm-1001/guest/filesystem",
            Some(&sid),
            Some(json!({
            "path": "/tmp/preview.txt", "credentials": root(), "overwrite": false, "file_size": 2,
            "file_attributes": {"posix": {"permissions": "600"}}})),
        )
        .await;
    assert_eq!(putr.status, StatusCode::OK, "{}", putr.text());
    assert_eq!(
        put(
            &app,
            &app.substitute(putr.json().as_str().unwrap()),
            b"hi".to_vec()
        )
        .await
        .status,
        StatusCode::OK
    );
    assert_eq!(
        app.mock
            .vm("vm-1001")
            .read_file("/tmp/preview.txt")
            .unwrap()
            .unwrap(),
        b"hi"
    );
    let info = app
        .guest(
            &sid,
            "vm-1001",
            "files/%2Ftmp%2Fpreview.txt?action=get",
            json!({"credentials": root()}),
        )
        .await
        .json();
    assert_eq!(info["attributes"]["posix_attributes"]["permissions"], "600");
}

#[tokio::test]
async fn the_preview_forms_answer_the_same_errors_as_create() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let cases = [
        (
            Method::GET,
            json!({"path": "/etc", "credentials": root()}),
            400,
            "INVALID_ARGUMENT",
        ),
        (
            Method::GET,
            json!({"path": "/etc/none", "credentials": root()}),
            404,
            "NOT_FOUND",
        ),
        (
            Method::PUT,
            json!({"path": "/etc/hosts", "credentials": root(), "file_size": 1}),
            400,
            "ALREADY_EXISTS",
        ),
        (
            Method::PUT,
            json!({"path": "/tmp/n", "credentials": root(), "file_size": -1}),
            400,
            "INVALID_ARGUMENT",
        ),
        (
            Method::GET,
            json!({"path": "/etc/hosts", "credentials": creds("root", "bad")}),
            401,
            "UNAUTHENTICATED",
        ),
    ];
    for (method, body, status, error_type) in cases {
        let r = app
            .send(
                method.clone(),
                "/api/vcenter/vm/vm-1001/guest/filesystem",
                Some(&sid),
                Some(body.clone()),
            )
            .await;
        assert_eq!(r.status.as_u16(), status, "{method} {body}: {}", r.text());
        assert_eq!(r.error_type(), error_type, "{method} {body}");
    }
    let r = app
        .send(
            Method::GET,
            "/api/vcenter/vm/vm-1001/guest/filesystem",
            None,
            Some(json!({"path": "/etc/hosts", "credentials": root()})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "a session is required");
}
