//! Owns the HTTP surface: the router, and the cross-cutting layers (journal, metrics and the
//! request log from what the operation layer learned, legacy `/rest` wrapping, vAPI-shaped
//! fallbacks and panics). Handlers live in one file per API family and hold no vCenter rules.

pub mod admin;
mod admin_guest;
mod body;
mod call;
pub(crate) use call::origin;
pub mod guest_file;
pub mod guest_fs;
pub mod jsonrpc;
pub mod processes;
pub mod session;
pub mod transfers;
pub mod vm;

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::journal::JournalEntry;
use crate::model::Fault;
use crate::ops::{self, Record};
use crate::state::AppState;
use crate::vapi::error::{ApiError, VapiError, json_response};
use crate::vapi::extract;

/// A marker in a response's extensions telling the connection to close without answering
/// (the `reset` fault effect).
#[derive(Debug, Clone, Copy)]
pub struct ResetConnection;

/// The whole application of one server: vCenter API, legacy API, `/guestFile`, SOAP and the
/// admin API, serving `state`. The routes are built once per process (per admin setting) and
/// shared; each server only adds its state to each request (see [`extract::Scope`]).
pub fn router(state: AppState) -> App {
    static WITH_ADMIN: OnceLock<Router> = OnceLock::new();
    static WITHOUT_ADMIN: OnceLock<Router> = OnceLock::new();
    let template = if state.settings().admin_enabled {
        WITH_ADMIN.get_or_init(|| build(true))
    } else {
        WITHOUT_ADMIN.get_or_init(|| build(false))
    };
    App {
        state,
        routes: template.clone(),
    }
}

/// One server's application: its state and the shared routes. Every request goes through the
/// same steps, written out here once instead of as router layers (which axum applies to each
/// route, boxing and cloning the inner service on every request): a panic becomes a 500 in the
/// vAPI shape, [`observe`] records the request, [`body::buffer`] reads its body, and the routes
/// answer it.
#[derive(Debug, Clone)]
pub struct App {
    state: AppState,
    routes: Router,
}

impl App {
    /// Answers one request.
    pub async fn handle(&self, req: Request) -> Response {
        use futures_util::FutureExt as _;
        std::panic::AssertUnwindSafe(observe(&self.state, req, &self.routes))
            .catch_unwind()
            .await
            .unwrap_or_else(panic_response)
    }
}

impl tower::Service<Request> for App {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Response, Self::Error>> + Send + 'static>,
    >;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let app = self.clone();
        Box::pin(async move { Ok(app.handle(req).await) })
    }
}

fn build(admin: bool) -> Router {
    let api = Router::new()
        .merge(session::api_routes())
        .merge(vm::api_routes())
        .merge(guest_fs::routes())
        .merge(transfers::routes())
        .merge(processes::routes())
        .merge(jsonrpc::routes());
    let rest = Router::new()
        .merge(session::rest_routes())
        .merge(vm::rest_routes())
        .layer(middleware::from_fn(rest_shape));
    // Without the admin API, health, readiness and the certificate stay: health checks and
    // clients that fetch the certificate work whatever the setting.
    let admin = if admin {
        admin::routes()
    } else {
        admin::open_routes()
    };
    Router::new()
        .merge(api)
        .merge(rest)
        .merge(guest_file::routes())
        .merge(crate::soap::routes().layer(middleware::from_fn(soap_panics)))
        .merge(admin)
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
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

/// What a panic said.
fn panic_detail(err: &(dyn std::any::Any + Send)) -> String {
    err.downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "a handler panicked".into())
}

fn panic_response(err: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let detail = panic_detail(&*err);
    tracing::error!(%detail, "handler panicked");
    ApiError(Fault::Internal { detail }).into_response()
}

/// Answers a panic in the `/sdk` routes (the layer is on them alone) as a SOAP fault: SOAP
/// clients cannot read the vAPI body [`App::handle`] gives.
async fn soap_panics(req: Request, next: Next) -> Response {
    use futures_util::FutureExt as _;
    let record = extract::record(req.extensions()).cloned();
    match std::panic::AssertUnwindSafe(next.run(req))
        .catch_unwind()
        .await
    {
        Ok(resp) => resp,
        Err(err) => {
            let detail = panic_detail(&*err);
            tracing::error!(%detail, "handler panicked");
            crate::soap::answer_fault(record.as_deref(), &Fault::Internal { detail })
        }
    }
}

/// The `action` query parameter, borrowed from the URL.
#[derive(Debug, Clone, Default)]
pub struct ActionQuery<'a> {
    /// The action, e.g. `list`.
    pub action: Option<Cow<'a, str>>,
    /// The legacy `~action` form.
    pub tilde_action: Option<Cow<'a, str>>,
}

impl ActionQuery<'_> {
    /// The action given in either form.
    pub fn get(&self) -> Option<&str> {
        self.action.as_deref().or(self.tilde_action.as_deref())
    }
}

/// Parses a query string leniently (bad or repeated parameters fall back to defaults).
pub fn action_of(uri: &Uri) -> ActionQuery<'_> {
    let mut out = ActionQuery::default();
    for (k, v) in extract::query_pairs(uri) {
        let Some(v) = v else {
            return ActionQuery::default();
        };
        match k {
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

/// The name requests get when they reach no operation (unknown routes, bodies over the limit).
const UNNAMED: &str = "unknown";

/// Gives each request its [`extract::Scope`] (the state, and a [`Record`] for the operation
/// layer to fill), has `routes` answer it (its body read first), then records the journal
/// entry, the metrics and the log line from what it learned.
async fn observe(state: &AppState, mut req: Request, routes: &Router) -> Response {
    let started = crate::clock::Stopwatch::start();
    let now = state.now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let record = Arc::new(Record::default());
    req.extensions_mut().insert(extract::Scope {
        state: state.clone(),
        record: record.clone(),
    });
    let resp = body::buffer(state, req, routes).await;
    let facts = record.take();
    let operation = facts.operation.unwrap_or(UNNAMED);
    let status = resp.status().as_u16();
    let error_type = facts.error_type.or_else(|| {
        resp.extensions()
            .get::<VapiError>()
            .map(|e| e.error_type().as_str())
    });
    let duration_ms = started.elapsed_ms();
    state.metrics().count(operation, status);
    let admin = operation.starts_with("admin.");
    tracing::info!(
        method = %method,
        path = %ops::bounded(&path),
        operation,
        vm = facts.vm.as_deref(),
        status,
        error_type,
        note = facts.note.as_deref(),
        duration_ms,
        "request"
    );
    if !admin {
        state.journal().record(JournalEntry {
            seq: 0,
            time: now,
            method,
            path: ops::bounded_owned(path),
            operation,
            vm: facts.vm,
            guest_path: facts.guest_path,
            status,
            error_type,
            note: facts.note,
            duration_ms,
        });
    }
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
