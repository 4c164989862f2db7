//! Transfers: `*`-hosted URLs that work once, for 10 minutes, and die with a power change;
//! `/guestFile` downloads and uploads; the preview forms; every documented create error. One
//! file per concern; the helpers they share are here.

mod expiry_and_revocation;
mod refusals;
mod round_trips;
mod single_use;
mod upload_rules;
mod urls;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

fn upload_spec(path: &str, size: usize, extra: Value) -> Value {
    let mut attributes = json!({"size": size});
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        attributes[k] = v;
    }
    json!({"spec": {"path": path, "attributes": attributes}})
}

fn download_spec(path: &str) -> Value {
    json!({"spec": {"path": path}})
}

async fn create(app: &TestApp, sid: &str, vm: &str, c: Value, spec: Value) -> Reply {
    let mut body = spec;
    body["credentials"] = c;
    app.transfer(sid, vm, body).await
}

async fn url_for(app: &TestApp, sid: &str, vm: &str, c: Value, spec: Value) -> String {
    let r = create(app, sid, vm, c, spec).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.content_type(), "application/json");
    app.substitute(r.json().as_str().unwrap())
}

async fn put(app: &TestApp, url: &str, body: Vec<u8>) -> Reply {
    TestApp::read(
        app.client
            .put(url)
            .header("content-type", "application/octet-stream")
            .body(body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn fetch(app: &TestApp, url: &str) -> Reply {
    TestApp::read(app.client.get(url).send().await.unwrap()).await
}

/// The first message argument of a vAPI error (the refusal reason for `/guestFile`).
fn reason(r: &Reply) -> String {
    r.json()["messages"][0]["args"][0]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// A VM with a 64 MiB generated file at /data/big.bin.
fn with_big_vm(b: vcmock::Builder) -> vcmock::Builder {
    b.vm(vcmock::Vm::linux("vm-big")
        .guest_user("root", "rootpw")
        .large_file("/data/big.bin", 64 << 20))
}
