//! Owns the HTTP surface: the router, and the cross-cutting layers (operation naming, journal,
//! metrics, fault injection, legacy `/rest` wrapping, vAPI-shaped fallbacks and panics).
//! Handlers live in one file per API family and hold no vCenter rules.

pub mod admin;
pub mod guest_file;
pub mod guest_fs;
pub mod jsonrpc;
pub mod session;
pub mod transfers;
pub mod vm;

use std::sync::OnceLock;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::injection::{Effect, RequestFacts};
use crate::journal::JournalEntry;
use crate::model::Fault;
use crate::model::inventory::VcUser;
use crate::state::AppState;
use crate::vapi::error::{ApiError, VapiError, json_response};
use crate::vapi::extract;

/// A marker in a response's extensions telling the connection to close without answering
/// (the `reset` fault effect).
#[derive(Debug, Clone, Copy)]
pub struct ResetConnection;

/// How a fault rule shapes a `/guestFile` stream; put in request extensions.
#[derive(Debug, Clone, Copy, Default)]
pub struct StreamShaping {
    /// Cut the download after this many bytes.
    pub truncate_after: Option<u64>,
    /// Throttle to this many bytes per second.
    pub bytes_per_second: Option<u64>,
}

/// A note for the journal, put in response extensions by a handler (e.g. why a token was
/// refused).
#[derive(Debug, Clone)]
pub struct JournalNote(pub String);

/// The whole application: vCenter API, legacy API, `/guestFile`, and the admin API, serving
/// `state`. The routes are built once per process (per admin setting) and shared; each server
/// only adds its state as a request extension.
pub fn router(state: AppState) -> Router {
    static WITH_ADMIN: OnceLock<Router> = OnceLock::new();
    static WITHOUT_ADMIN: OnceLock<Router> = OnceLock::new();
    let template = if state.settings().admin_enabled {
        WITH_ADMIN.get_or_init(|| build(true))
    } else {
        WITHOUT_ADMIN.get_or_init(|| build(false))
    };
    let service = tower::ServiceBuilder::new()
        .layer(axum::Extension(state))
        .service(template.clone());
    Router::new().fallback_service(service)
}

fn build(admin: bool) -> Router {
    let api = Router::new()
        .merge(session::api_routes())
        .merge(vm::api_routes())
        .merge(guest_fs::routes())
        .merge(transfers::routes())
        .merge(jsonrpc::routes());
    let rest = Router::new()
        .merge(session::rest_routes())
        .merge(vm::rest_routes())
        .layer(middleware::from_fn(rest_shape));
    let mut app = Router::new()
        .merge(api)
        .merge(rest)
        .merge(guest_file::routes());
    if admin {
        app = app.merge(admin::routes());
    }
    app.fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(observe))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            panic_response,
        ))
}

async fn fallback(uri: Uri) -> ApiError {
    ApiError(Fault::UnknownRoute {
        path: uri.path().to_owned(),
    })
}

async fn method_not_allowed(method: Method) -> ApiError {
    ApiError(Fault::MethodNotAllowed {
        method: method.to_string(),
    })
}

fn panic_response(err: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let detail = err
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "a handler panicked".into());
    tracing::error!(%detail, "handler panicked");
    ApiError(Fault::Internal { detail }).into_response()
}

/// The vCenter user behind the request's session (401 without one).
pub fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<std::sync::Arc<VcUser>, ApiError> {
    let id = extract::session_id_from_headers(headers).ok_or(Fault::SessionRequired)?;
    Ok(state.vcenter().caller(&id, state.now())?)
}

/// The `action` query parameter.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct ActionQuery {
    /// The action, e.g. `list`.
    #[serde(default)]
    pub action: Option<String>,
    /// The legacy `~action` form.
    #[serde(default, rename = "~action")]
    pub tilde_action: Option<String>,
}

impl ActionQuery {
    /// The action given in either form.
    pub fn get(&self) -> Option<&str> {
        self.action.as_deref().or(self.tilde_action.as_deref())
    }
}

/// Parses a query string leniently (bad or repeated parameters fall back to defaults).
pub fn action_of(uri: &Uri) -> ActionQuery {
    let mut out = ActionQuery::default();
    for (k, v) in extract::query_pairs(uri) {
        let Some(v) = v else {
            return ActionQuery::default();
        };
        match k.as_str() {
            "action" => out.action = Some(v),
            "~action" => out.tilde_action = Some(v),
            _ => {}
        }
    }
    out
}

/// The unknown-action answer: the route does not exist.
pub fn unknown_action(uri: &Uri) -> ApiError {
    ApiError(Fault::UnknownRoute {
        path: match uri.query() {
            Some(q) => format!("{}?{q}", uri.path()),
            None => uri.path().to_owned(),
        },
    })
}

/// A 200 JSON answer.
pub fn ok_json<T: serde::Serialize + ?Sized>(v: &T) -> Response {
    json_response(StatusCode::OK, v)
}

/// A 201 JSON answer.
pub fn created_json(v: &Value) -> Response {
    json_response(StatusCode::CREATED, v)
}

/// A 204 answer.
pub fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// The stable name of the operation a request invokes, with its VM.
pub fn classify(method: &Method, path: &str, action: Option<&str>) -> (String, Option<String>) {
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let m = method.as_str();
    let act = action.unwrap_or("");
    let op = |s: &str| (s.to_owned(), None);
    match segs.as_slice() {
        ["api", "session"] => op(match m {
            "POST" => "session.create",
            "GET" => "session.get",
            _ => "session.delete",
        }),
        ["rest", "com", "vmware", "cis", "session"] => op(match (m, act) {
            ("POST", "get") => "session.get",
            ("POST", _) => "session.create",
            _ => "session.delete",
        }),
        ["guestFile"] => op(if m == "PUT" {
            "guestFile.put"
        } else {
            "guestFile.get"
        }),
        ["_mock", rest @ ..] => (
            format!("admin.{}", rest.first().copied().unwrap_or("")),
            None,
        ),
        ["api" | "rest", "vcenter", "vm"] => op("vm.list"),
        ["api" | "rest", "vcenter", "vm", vm, rest @ ..] => {
            let vm = Some((*vm).to_owned());
            let name = match rest {
                [] => "vm.get".to_owned(),
                ["power"] if m == "GET" => "vm.power.get".to_owned(),
                ["power"] => format!("vm.power.{act}"),
                ["power", a] => format!("vm.power.{a}"),
                ["tools"] => "vm.tools.get".to_owned(),
                ["guest", "identity"] => "vm.guest.identity.get".to_owned(),
                ["guest", "power"] => "vm.guest.power.get".to_owned(),
                ["guest", "operations"] => "vm.guest.operations.get".to_owned(),
                ["guest", "filesystem"] => match m {
                    "GET" => "transfers.previewGet".to_owned(),
                    "PUT" => "transfers.previewPut".to_owned(),
                    _ => "transfers.create".to_owned(),
                },
                ["guest", "filesystem", "files", ..] => format!("files.{act}"),
                ["guest", "filesystem", "directories"] => format!("directories.{act}"),
                _ => "unknown".to_owned(),
            };
            (name, vm)
        }
        ["api"] if m == "POST" => op("jsonrpc"),
        _ => op("unknown"),
    }
}

/// The guest path a request names: in the `files/{path}` URL tail, or `path` / `spec.path` in
/// the JSON body (read without building a full JSON value).
fn guest_path_of(path: &str, body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Spec {
        path: Option<String>,
    }
    #[derive(serde::Deserialize)]
    struct Peek {
        path: Option<String>,
        spec: Option<Spec>,
    }
    if let Some((_, tail)) = path.split_once("/guest/filesystem/files/") {
        return percent_encoding::percent_decode_str(tail)
            .decode_utf8()
            .ok()
            .map(|s| s.into_owned());
    }
    let peek: Peek = serde_json::from_slice(body).ok()?;
    peek.path.or(peek.spec.and_then(|s| s.path))
}

/// Names the operation, applies fault rules, and records the journal entry and metrics.
async fn observe(state: AppState, req: Request, next: Next) -> Response {
    let started = crate::clock::Stopwatch::start();
    let now = state.now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let action = action_of(req.uri());
    let (operation, vm) = classify(&method, &path, action.get());

    // Peek at small JSON bodies of guest operations for the guest path (fault matching and
    // the journal); streams (/guestFile) are left alone.
    let (mut req, guest_path) = if path.contains("/guest/filesystem") && method != Method::PUT {
        let (parts, body) = req.into_parts();
        let limit = state.settings().body_limit;
        match axum::body::to_bytes(body, limit).await {
            Ok(bytes) => {
                let gp = guest_path_of(&path, &bytes);
                (Request::from_parts(parts, Body::from(bytes)), gp)
            }
            Err(_) => {
                let resp = ApiError(Fault::BodyTooLarge { limit }).into_response();
                return finish(
                    &state, resp, &method, &path, &operation, vm, None, started, now, None,
                );
            }
        }
    } else {
        (req, None)
    };

    let mut fired = None;
    if !operation.starts_with("admin.") && !state.injections().is_empty() {
        let facts = RequestFacts {
            operation: operation.clone(),
            method: method.to_string(),
            vm: vm.clone(),
            guest_path: guest_path.clone(),
        };
        if let Some((rule, effect)) = state.injections().check(&facts, state.ids()) {
            fired = Some(format!("fault rule {rule}"));
            match effect {
                Effect::Error {
                    error_type,
                    message,
                } => {
                    let resp = ApiError(Fault::Injected {
                        error_type: error_type.as_str().to_owned(),
                        message,
                    })
                    .into_response();
                    return finish(
                        &state, resp, &method, &path, &operation, vm, guest_path, started, now,
                        fired,
                    );
                }
                Effect::Status { status, body } => {
                    let status =
                        StatusCode::from_u16(status).expect("checked when the rule was added");
                    let resp = match body {
                        Some(Value::String(text)) => (
                            status,
                            [(axum::http::header::CONTENT_TYPE, "text/plain")],
                            text,
                        )
                            .into_response(),
                        Some(v) => json_response(status, &v),
                        None => status.into_response(),
                    };
                    return finish(
                        &state, resp, &method, &path, &operation, vm, guest_path, started, now,
                        fired,
                    );
                }
                Effect::Delay { ms } => {
                    tokio::time::sleep(std::time::Duration::from_millis(ms)).await
                }
                Effect::Reset => {
                    let mut resp = StatusCode::INTERNAL_SERVER_ERROR.into_response();
                    resp.extensions_mut().insert(ResetConnection);
                    return finish(
                        &state, resp, &method, &path, &operation, vm, guest_path, started, now,
                        fired,
                    );
                }
                Effect::Truncate { after_bytes } => {
                    req.extensions_mut().insert(StreamShaping {
                        truncate_after: Some(after_bytes),
                        ..StreamShaping::default()
                    });
                }
                Effect::Slow { bytes_per_second } => {
                    req.extensions_mut().insert(StreamShaping {
                        bytes_per_second: Some(bytes_per_second.max(1)),
                        ..StreamShaping::default()
                    });
                }
            }
        }
    }
    let resp = next.run(req).await;
    finish(
        &state, resp, &method, &path, &operation, vm, guest_path, started, now, fired,
    )
}

#[expect(
    clippy::too_many_arguments,
    reason = "one journal entry's worth of facts"
)]
fn finish(
    state: &AppState,
    resp: Response,
    method: &Method,
    path: &str,
    operation: &str,
    vm: Option<String>,
    guest_path: Option<String>,
    started: crate::clock::Stopwatch,
    now: time::OffsetDateTime,
    fired: Option<String>,
) -> Response {
    let status = resp.status().as_u16();
    let error_type = resp
        .extensions()
        .get::<VapiError>()
        .map(|e| e.error_type().as_str().to_owned());
    let note = resp
        .extensions()
        .get::<JournalNote>()
        .map(|n| n.0.clone())
        .or(fired);
    state.metrics().count(operation, status);
    if !operation.starts_with("admin.") {
        state.journal().record(JournalEntry {
            seq: 0,
            time: now,
            method: method.to_string(),
            path: path.to_owned(),
            operation: operation.to_owned(),
            vm,
            guest_path,
            status,
            error_type,
            note,
            duration_ms: started.elapsed_ms(),
        });
    }
    tracing::debug!(%method, path, operation, status, "request");
    resp
}

/// Turns `/api`-shaped answers into the legacy `/rest` shape: `{"value": ...}` results with
/// 200, empty 200 for void, and `{"type", "value"}` errors with `/rest` statuses.
async fn rest_shape(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    if let Some(err) = resp.extensions().get::<VapiError>().cloned() {
        let mut out = json_response(err.rest_status(), &err.rest_body());
        out.extensions_mut().insert(err);
        return out;
    }
    match resp.status() {
        StatusCode::NO_CONTENT => {
            let (mut parts, _) = resp.into_parts();
            parts.status = StatusCode::OK;
            parts.headers.remove(axum::http::header::CONTENT_TYPE);
            Response::from_parts(parts, Body::empty())
        }
        s if s.is_success() => {
            let (parts, body) = resp.into_parts();
            let bytes: Bytes = axum::body::to_bytes(body, usize::MAX)
                .await
                .unwrap_or_default();
            let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            let mut out = json_response(StatusCode::OK, &serde_json::json!({"value": value}));
            out.extensions_mut().extend(parts.extensions);
            for (k, v) in parts.headers.iter() {
                if k != axum::http::header::CONTENT_TYPE && k != axum::http::header::CONTENT_LENGTH
                {
                    out.headers_mut().append(k, v.clone());
                }
            }
            out
        }
        _ => resp,
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt as _;

    use super::*;

    async fn boom() -> &'static str {
        panic!("kaboom")
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_500_error_in_vapi_shape_and_the_router_keeps_serving() {
        let app = Router::new()
            .route("/boom", axum::routing::get(boom))
            .route("/fine", axum::routing::get(|| async { "ok" }))
            .layer(tower_http::catch_panic::CatchPanicLayer::custom(
                panic_response,
            ));
        let resp = app
            .clone()
            .oneshot(Request::get("/boom").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(resp.headers()["content-type"], "application/json");
        let body = axum::body::to_bytes(resp.into_body(), 1 << 16)
            .await
            .unwrap();
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["error_type"], "ERROR");
        assert_eq!(v["messages"][0]["args"][0], "kaboom");
        let fine = app
            .oneshot(Request::get("/fine").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(fine.status(), StatusCode::OK);
    }
}
