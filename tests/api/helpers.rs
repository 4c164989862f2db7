//! The test harness: a real server on 127.0.0.1:0 over HTTPS, and a client that trusts it.

#![allow(dead_code)]

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use vcmock::TransferState;
use vcmock::{Builder, ManualClock, MockVcenter};

/// A running server plus an HTTPS client that trusts its certificate.
pub struct TestApp {
    pub mock: MockVcenter,
    pub client: reqwest::Client,
    pub clock: ManualClock,
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as JSON (Null when empty or not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// `error_type` of a vAPI error body.
    pub fn error_type(&self) -> String {
        self.json()["error_type"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The Content-Type header.
    pub fn content_type(&self) -> String {
        self.headers
            .get("content-type")
            .map(|v| v.to_str().unwrap_or_default().to_owned())
            .unwrap_or_default()
    }
}

pub const ADMIN: (&str, &str) = ("administrator@vsphere.local", "VMware1!");
pub const READONLY: (&str, &str) = ("readonly@vsphere.local", "ReadOnly1!");

/// `USERNAME_PASSWORD` guest credentials.
pub fn creds(user: &str, password: &str) -> Value {
    json!({"interactive_session": false, "type": "USERNAME_PASSWORD", "user_name": user, "password": password})
}

/// root on the default Linux guest (vm-1001).
pub fn root() -> Value {
    creds("root", "rootpw")
}

/// alice (uid 1000) on the default Linux guest.
pub fn alice() -> Value {
    creds("alice", "alicepw")
}

/// Administrator on the default Windows guest (vm-1002).
pub fn win_admin() -> Value {
    creds("Administrator", "AdminPw1!")
}

/// bob on the default Windows guest.
pub fn bob() -> Value {
    creds("bob", "bobpw")
}

impl TestApp {
    /// The default fixture, a manual clock at 2024-01-01T00:00:00Z, seed 42, HTTPS.
    pub async fn spawn() -> Self {
        Self::spawn_with(|b| b).await
    }

    /// Like [`TestApp::spawn`], with the builder adjusted by `f`.
    pub async fn spawn_with(f: impl FnOnce(Builder) -> Builder) -> Self {
        let clock = ManualClock::default();
        let builder = f(MockVcenter::builder().seed(42).clock(clock.clone()));
        let mock = tokio::task::spawn_blocking(move || builder.start())
            .await
            .unwrap()
            .expect("server starts");
        let mut cb = reqwest::Client::builder().use_rustls_tls();
        if let Some(pem) = mock.certificate_pem() {
            cb = cb.add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).unwrap());
        }
        let client = cb.build().unwrap();
        Self {
            mock,
            client,
            clock,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.mock.base_url(), path)
    }

    /// Logs in as `user` and returns the session id.
    pub async fn login_as(&self, user: (&str, &str)) -> String {
        let r = self
            .client
            .post(self.url("/api/session"))
            .basic_auth(user.0, Some(user.1))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED, "login as {}", user.0);
        r.json::<String>().await.unwrap()
    }

    /// Logs in as the administrator.
    pub async fn login(&self) -> String {
        self.login_as(ADMIN).await
    }

    /// Sends a request with an optional session and JSON body.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        session: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut rb = self.client.request(method, self.url(path));
        if let Some(s) = session {
            rb = rb.header("vmware-api-session-id", s);
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        Self::read(rb.send().await.unwrap()).await
    }

    pub async fn read(r: reqwest::Response) -> Reply {
        let status = r.status();
        let headers = r.headers().clone();
        let body = r.bytes().await.unwrap().to_vec();
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str, session: &str) -> Reply {
        self.send(Method::GET, path, Some(session), None).await
    }

    pub async fn post(&self, path: &str, session: &str, body: Value) -> Reply {
        self.send(Method::POST, path, Some(session), Some(body))
            .await
    }

    /// `POST /api/vcenter/vm/{vm}/guest/filesystem/{tail}` (tail like `files?action=list`).
    pub async fn guest(&self, session: &str, vm: &str, tail: &str, body: Value) -> Reply {
        self.post(
            &format!("/api/vcenter/vm/{vm}/guest/filesystem/{tail}"),
            session,
            body,
        )
        .await
    }

    /// Creates a transfer and returns the URL as returned (with `*`).
    pub async fn transfer(&self, session: &str, vm: &str, body: Value) -> Reply {
        self.post(
            &format!("/api/vcenter/vm/{vm}/guest/filesystem?action=create"),
            session,
            body,
        )
        .await
    }

    /// Replaces `*` in a transfer URL with 127.0.0.1 (as clients do).
    pub fn substitute(&self, url: &str) -> String {
        url.replacen('*', "127.0.0.1", 1)
    }

    /// Creates a download URL for `path` on `vm` as root (Linux) and returns it substituted.
    pub async fn download_url(
        &self,
        session: &str,
        vm: &str,
        guest_creds: Value,
        path: &str,
    ) -> String {
        let r = self
            .transfer(
                session,
                vm,
                json!({"credentials": guest_creds, "spec": {"path": path}}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        self.substitute(r.json().as_str().unwrap())
    }
}

/// `POST /api/vcenter/vm/{vm}/power?action={action}` (204 expected).
pub async fn power(app: &TestApp, sid: &str, vm: &str, action: &str) {
    let r = app
        .send(
            Method::POST,
            &format!("/api/vcenter/vm/{vm}/power?action={action}"),
            Some(sid),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{action}: {}", r.text());
}

/// Waits until some transfer of `vm` is in the given state (the server got that far).
pub async fn wait_for_state(app: &TestApp, vm: &str, state: TransferState) {
    for _ in 0..2000 {
        if app
            .mock
            .transfers()
            .iter()
            .any(|t| t.vm == vm && t.state == state)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("no transfer of {vm} reached {state:?}");
}

pub type Chunk = Result<Vec<u8>, std::io::Error>;

/// A stream over an mpsc receiver (reqwest's wrap_stream wants a Stream).
pub fn stream_from(
    mut rx: tokio::sync::mpsc::Receiver<Chunk>,
) -> impl futures_util::Stream<Item = Chunk> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

/// Starts a PUT whose body the test feeds through the returned sender. `length` goes in the
/// Content-Length header when given; otherwise the body is chunked.
pub fn streamed_put(
    app: &TestApp,
    url: &str,
    length: Option<usize>,
) -> (
    tokio::sync::mpsc::Sender<Chunk>,
    tokio::task::JoinHandle<reqwest::Result<reqwest::Response>>,
) {
    let (tx, rx) = tokio::sync::mpsc::channel::<Chunk>(4);
    let mut rb = app
        .client
        .put(url)
        .body(reqwest::Body::wrap_stream(stream_from(rx)));
    if let Some(n) = length {
        rb = rb.header("content-length", n.to_string());
    }
    (tx, tokio::spawn(rb.send()))
}

/// `POST /api/vcenter/vm/{vm}/guest/{tail}` (tail like `processes?action=list`).
pub async fn guest_call(app: &TestApp, sid: &str, vm: &str, tail: &str, body: Value) -> Reply {
    app.post(&format!("/api/vcenter/vm/{vm}/guest/{tail}"), sid, body)
        .await
}

/// Starts `path` with `arguments` as the guest user `c` and returns the pid (201 expected).
pub async fn start_process(
    app: &TestApp,
    sid: &str,
    vm: &str,
    c: Value,
    path: &str,
    arguments: &str,
) -> i64 {
    let r = guest_call(
        app,
        sid,
        vm,
        "processes?action=create",
        json!({"credentials": c, "spec": {"path": path, "arguments": arguments}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    r.json().as_i64().expect("a pid")
}

/// `Processes.get` of `pid` (200 expected).
pub async fn process_info(app: &TestApp, sid: &str, vm: &str, c: Value, pid: i64) -> Value {
    let r = guest_call(
        app,
        sid,
        vm,
        &format!("processes/{pid}?action=get"),
        json!({"credentials": c}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.json()
}

/// Uploads `content` to `path` through a transfer URL (`attributes` merged into the upload's
/// attributes, e.g. POSIX permissions).
pub async fn upload(
    app: &TestApp,
    sid: &str,
    vm: &str,
    c: Value,
    path: &str,
    content: &[u8],
    attributes: Value,
) {
    let mut attrs = json!({"size": content.len(), "overwrite": true});
    for (k, v) in attributes.as_object().cloned().unwrap_or_default() {
        attrs[k] = v;
    }
    let r = app
        .transfer(
            sid,
            vm,
            json!({"credentials": c, "spec": {"path": path, "attributes": attrs}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let url = app.substitute(r.json().as_str().unwrap());
    let put = app
        .client
        .put(url)
        .body(content.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::OK);
}

/// Downloads `path` through a transfer URL.
pub async fn download(app: &TestApp, sid: &str, vm: &str, c: Value, path: &str) -> Vec<u8> {
    let url = app.download_url(sid, vm, c, path).await;
    let r = app.client.get(url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.bytes().await.unwrap().to_vec()
}
