//! Robustness: bad input never gets a 5xx, plain text, a hang or a panic; aborted transfers
//! leave the guest as it was; state stays bounded; every route's authentication. One file per
//! concern; the helpers they share are here.

mod access;
mod bad_input;
mod bounds;
mod concurrency;
mod credentials;
mod http2;
mod interruptions;
mod memory;
mod names;
mod permissions;
mod timeouts;

use std::time::Duration;

use reqwest::Method;

use crate::helpers::*;

/// Sends raw bytes with a content type, with a timeout so a hang fails the test.
async fn raw(
    app: &TestApp,
    method: Method,
    path: &str,
    sid: Option<&str>,
    ct: &str,
    body: Vec<u8>,
) -> Reply {
    let mut rb = app
        .client
        .request(method, app.url(path))
        .header("content-type", ct)
        .body(body)
        .timeout(Duration::from_secs(10));
    if let Some(s) = sid {
        rb = rb.header("vmware-api-session-id", s);
    }
    TestApp::read(rb.send().await.expect("an answer, not a hang or a reset")).await
}

fn assert_vapi_4xx(r: &Reply, what: &str) {
    assert!(
        r.status.is_client_error(),
        "{what}: status {} body {}",
        r.status,
        r.text()
    );
    assert_eq!(r.content_type(), "application/json", "{what}");
    assert!(
        !r.error_type().is_empty(),
        "{what}: not a vAPI error: {}",
        r.text()
    );
}
