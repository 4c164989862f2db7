//! HTTP/2: clients get their answers, errors included, when vcmock answers before it has read
//! everything they send.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

/// A client that speaks HTTP/2 from the first byte and trusts the server.
fn h2(app: &TestApp) -> reqwest::Client {
    reqwest::Client::builder()
        .use_rustls_tls()
        .http2_prior_knowledge()
        .add_root_certificate(
            reqwest::Certificate::from_pem(app.mock.certificate_pem().unwrap().as_bytes()).unwrap(),
        )
        .build()
        .unwrap()
}

#[tokio::test]
async fn an_http2_client_gets_the_413_for_a_body_over_the_limit() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let client = h2(&app);
    let body = vec![b' '; 20 << 20];
    let r = client
        .post(app.url("/api/vcenter/vm/vm-1001/guest/filesystem/files?action=list"))
        .header("vmware-api-session-id", &sid)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("an answer, not a stream error");
    assert_eq!(r.version(), reqwest::Version::HTTP_2);
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["messages"][0]["id"], "vcmock.request.body.too_large");
}

#[tokio::test]
async fn http2_requests_with_bodies_their_handlers_ignore_are_all_answered() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let client = h2(&app);
    let mut failures = Vec::new();
    for i in 0..200 {
        let r = client
            .get(app.url("/api/vcenter/vm/vm-1001/power"))
            .header("vmware-api-session-id", &sid)
            .body(vec![b'x'; 64 << 10])
            .send()
            .await;
        match r {
            Ok(r) if r.status() == StatusCode::OK => {}
            other => failures.push((i, format!("{other:?}"))),
        }
    }
    assert!(failures.is_empty(), "{failures:?}");
}

#[tokio::test]
async fn an_http2_upload_cut_off_by_a_power_off_gets_its_answer() {
    let app = TestApp::spawn_with(|b| b.spill_threshold(1 << 20)).await;
    let sid = app.login().await;
    let size: usize = 8 << 20;
    let r = app
        .transfer(
            &sid,
            "vm-1001",
            json!({"credentials": root(), "spec": {"path": "/tmp/h2.bin", "attributes": {"size": size, "overwrite": true}}}),
        )
        .await;
    let url = app.substitute(r.json().as_str().unwrap());
    let (tx, rx) = tokio::sync::mpsc::channel::<Chunk>(2);
    let client = h2(&app);
    let put = tokio::spawn(
        client
            .put(&url)
            .header("content-length", size.to_string())
            .body(reqwest::Body::wrap_stream(stream_from(rx)))
            .send(),
    );
    tx.send(Ok(vec![0; 1 << 20])).await.unwrap();
    wait_for_state(&app, "vm-1001", vcmock::TransferState::InFlight).await;
    power(&app, &sid, "vm-1001", "stop").await;
    // The client goes on sending what it declared.
    let feeder = tokio::spawn(async move {
        for _ in 1..8 {
            if tx.send(Ok(vec![0; 1 << 20])).await.is_err() {
                break;
            }
        }
    });
    let answer = tokio::time::timeout(Duration::from_secs(10), put)
        .await
        .expect("answered in time")
        .unwrap()
        .expect("an answer, not a stream error");
    let _ = feeder.await;
    assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
    let v: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(v["messages"][0]["id"], "vcmock.transfer.aborted");
}
