//! Sessions: `/api/session` and the legacy `/rest/com/vmware/cis/session`.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn login_with_basic_auth_answers_201_and_a_32_hex_token() {
    let app = TestApp::spawn().await;
    let r = app
        .client
        .post(app.url("/api/session"))
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .send()
        .await
        .unwrap();
    let r = TestApp::read(r).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.content_type(), "application/json");
    let token = r.json().as_str().unwrap().to_owned();
    assert_eq!(token.len(), 32);
    assert!(token.chars().all(|c| c.is_ascii_hexdigit()));
}

#[tokio::test]
async fn login_with_a_wrong_password_or_no_credentials_is_unauthenticated() {
    let app = TestApp::spawn().await;
    let wrong = app
        .client
        .post(app.url("/api/session"))
        .basic_auth(ADMIN.0, Some("nope"))
        .send()
        .await
        .unwrap();
    let wrong = TestApp::read(wrong).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.error_type(), "UNAUTHENTICATED");
    let none = app.send(Method::POST, "/api/session", None, None).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        none.json()["messages"][0]["id"],
        "com.vmware.vapi.endpoint.method.authentication.required"
    );
}

#[tokio::test]
async fn session_get_reports_the_user_and_times() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    app.clock.advance(Duration::from_secs(5));
    let r = app.get("/api/session", &sid).await;
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json();
    assert_eq!(v["user"], "VSPHERE.LOCAL\\Administrator");
    assert_eq!(v["created_time"], "2024-01-01T00:00:00.000Z");
    assert_eq!(v["last_accessed_time"], "2024-01-01T00:00:05.000Z");
}

#[tokio::test]
async fn session_delete_answers_204_and_the_session_is_gone() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let r = app
        .send(Method::DELETE, "/api/session", Some(&sid), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(r.body.is_empty());
    assert_eq!(
        app.get("/api/session", &sid).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.send(Method::DELETE, "/api/session", Some(&sid), None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn the_session_id_is_accepted_from_the_cookie_too() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let r = app
        .client
        .get(app.url("/api/vcenter/vm"))
        .header("cookie", format!("other=1; vmware-api-session-id={sid}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_session_expires_after_the_idle_timeout_by_the_injected_clock() {
    let app = TestApp::spawn_with(|b| b.session_idle_timeout(Duration::from_secs(60))).await;
    let sid = app.login().await;
    app.clock.advance(Duration::from_secs(59));
    assert_eq!(
        app.get("/api/vcenter/vm", &sid).await.status,
        StatusCode::OK
    );
    app.clock.advance(Duration::from_secs(59));
    assert_eq!(
        app.get("/api/vcenter/vm", &sid).await.status,
        StatusCode::OK,
        "use renews the session"
    );
    app.clock.advance(Duration::from_secs(60));
    let r = app.get("/api/vcenter/vm", &sid).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.error_type(), "UNAUTHENTICATED");
}

#[tokio::test]
async fn the_session_table_stays_at_its_cap_under_many_logins() {
    let app = TestApp::spawn_with(|b| b.max_sessions(5)).await;
    let first = app.login().await;
    for _ in 0..20 {
        app.login().await;
    }
    assert_eq!(app.mock.session_count(), 5);
    assert_eq!(
        app.get("/api/session", &first).await.status,
        StatusCode::UNAUTHORIZED,
        "the oldest session was dropped"
    );
}

#[tokio::test]
async fn legacy_rest_login_answers_200_with_a_value_wrapper() {
    let app = TestApp::spawn().await;
    let r = app
        .client
        .post(app.url("/rest/com/vmware/cis/session"))
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .send()
        .await
        .unwrap();
    let r = TestApp::read(r).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.content_type(), "application/json");
    let sid = r.json()["value"].as_str().unwrap().to_owned();
    let got = app
        .send(
            Method::POST,
            "/rest/com/vmware/cis/session?~action=get",
            Some(&sid),
            None,
        )
        .await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.json()["value"]["user"], "VSPHERE.LOCAL\\Administrator");
    let del = app
        .send(
            Method::DELETE,
            "/rest/com/vmware/cis/session",
            Some(&sid),
            None,
        )
        .await;
    assert_eq!(del.status, StatusCode::OK);
    assert!(del.body.is_empty());
}

#[tokio::test]
async fn legacy_rest_errors_use_the_type_and_value_shape() {
    let app = TestApp::spawn().await;
    let r = app
        .send(
            Method::POST,
            "/rest/com/vmware/cis/session?~action=get",
            Some("bogus"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let v = r.json();
    assert_eq!(v["type"], "com.vmware.vapi.std.errors.unauthenticated");
    assert_eq!(
        v["value"]["messages"][0]["default_message"],
        "Authentication required."
    );
}

#[tokio::test]
async fn a_session_made_on_rest_works_on_api_and_the_reverse() {
    let app = TestApp::spawn().await;
    let r = app
        .client
        .post(app.url("/rest/com/vmware/cis/session"))
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .send()
        .await
        .unwrap();
    let rest_sid = r.json::<serde_json::Value>().await.unwrap()["value"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.get("/api/vcenter/vm", &rest_sid).await.status,
        StatusCode::OK
    );
    let api_sid = app.login().await;
    assert_eq!(
        app.get("/rest/vcenter/vm", &api_sid).await.json()["value"]
            .as_array()
            .unwrap()
            .len(),
        6
    );
}

#[tokio::test]
async fn every_api_route_but_login_answers_401_without_a_session() {
    let app = TestApp::spawn().await;
    let creds = json!({"credentials": root(), "path": "/tmp"});
    let table: &[(Method, &str)] = &[
        (Method::GET, "/api/session"),
        (Method::DELETE, "/api/session"),
        (Method::GET, "/api/vcenter/vm"),
        (Method::GET, "/api/vcenter/vm/vm-1001"),
        (Method::GET, "/api/vcenter/vm/vm-1001/power"),
        (Method::POST, "/api/vcenter/vm/vm-1001/power?action=stop"),
        (Method::GET, "/api/vcenter/vm/vm-1001/tools"),
        (Method::GET, "/api/vcenter/vm/vm-1001/guest/identity"),
        (Method::GET, "/api/vcenter/vm/vm-1001/guest/power"),
        (Method::GET, "/api/vcenter/vm/vm-1001/guest/operations"),
        (
            Method::POST,
            "/api/vcenter/vm/vm-1001/guest/filesystem?action=create",
        ),
        (
            Method::POST,
            "/api/vcenter/vm/vm-1001/guest/filesystem/files?action=list",
        ),
        (
            Method::POST,
            "/api/vcenter/vm/vm-1001/guest/filesystem/files/%2Ftmp?action=get",
        ),
        (
            Method::POST,
            "/api/vcenter/vm/vm-1001/guest/filesystem/directories?action=create",
        ),
        (Method::GET, "/rest/vcenter/vm"),
        (Method::POST, "/rest/vcenter/vm/vm-1001/power/start"),
    ];
    for (method, path) in table {
        let r = app
            .send(method.clone(), path, None, Some(creds.clone()))
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{method} {path}");
        assert_eq!(r.content_type(), "application/json", "{method} {path}");
        let r = app
            .send(
                method.clone(),
                path,
                Some("not-a-session"),
                Some(creds.clone()),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNAUTHORIZED,
            "{method} {path} with a bad session"
        );
    }
}
