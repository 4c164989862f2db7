//! Owns the admin API under `/_mock/`: health, readiness, info, certificate, error catalogue,
//! reset, state snapshots, VM control, clock, fault rules, journal, transfers and metrics
//! (guest processes, programs and environment in `admin_guest`).

use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{no_content, ok_json};
use crate::catalogue::catalogue;
use crate::clock::ClockMode;
use crate::fixtures::{self, FORMAT, FileSpec, Fixture, VmSpec};
use crate::injection::InjectionRule;
use crate::journal::JournalFilter;
use crate::model::{Fault, PowerState};
use crate::state::AppState;
use crate::vapi::dto::{datetime, parse_datetime};
use crate::vapi::error::ApiError;
use crate::vapi::extract::{JsonBody, parse_json};
use crate::vapi::extract::{Path, Query};

/// The admin endpoints served whatever `--admin` and `--admin-token` say: health, readiness
/// and the certificate, which container health checks and clients need either way.
pub fn open_routes() -> Router {
    Router::new()
        .route("/_mock/health", get(health))
        .route("/_mock/ready", get(ready))
        .route("/_mock/certificate", get(certificate))
        .layer(middleware::from_fn(name))
}

/// The whole admin API (mounted when it is enabled): the open endpoints, and the rest behind
/// the admin token.
pub fn routes() -> Router {
    let guarded = Router::new()
        .route("/_mock/info", get(info))
        .route("/_mock/errors", get(errors))
        .route("/_mock/reset", post(reset))
        .route("/_mock/state", get(state_dump).post(state_load))
        .route("/_mock/vms", post(add_vms))
        .route("/_mock/vms/{vm}", axum::routing::delete(unregister))
        .route("/_mock/vms/{vm}/migrate", post(migrate))
        .route("/_mock/vms/{vm}/power", put(set_power))
        .route("/_mock/vms/{vm}/tools", put(set_tools))
        .route("/_mock/vms/{vm}/busy", put(set_busy))
        .route(
            "/_mock/vms/{vm}/files",
            get(read_file).put(put_file).delete(delete_file),
        )
        .route("/_mock/clock", get(clock).post(move_clock))
        .route(
            "/_mock/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route("/_mock/faults/{id}", axum::routing::delete(delete_fault))
        .route("/_mock/journal", get(journal).delete(clear_journal))
        .route("/_mock/transfers", get(transfers))
        .route("/_mock/metrics", get(metrics))
        .merge(super::admin_guest::routes())
        .layer(middleware::from_fn(require_token));
    open_routes().merge(guarded.layer(middleware::from_fn(name)))
}

/// The metrics name of an admin request: `admin.` and the endpoint (admin requests are counted,
/// never journaled).
fn admin_name(path: &str) -> &'static str {
    let endpoint = path
        .strip_prefix("/_mock/")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_default();
    match endpoint {
        "health" => "admin.health",
        "ready" => "admin.ready",
        "certificate" => "admin.certificate",
        "info" => "admin.info",
        "errors" => "admin.errors",
        "reset" => "admin.reset",
        "state" => "admin.state",
        "vms" => "admin.vms",
        "clock" => "admin.clock",
        "faults" => "admin.faults",
        "journal" => "admin.journal",
        "transfers" => "admin.transfers",
        "metrics" => "admin.metrics",
        _ => "admin.unknown",
    }
}

async fn name(req: Request, next: Next) -> Response {
    if let Some(record) = crate::vapi::extract::record(req.extensions()) {
        record.set_operation(admin_name(req.uri().path()));
    }
    next.run(req).await
}

/// With `--admin-token`, every admin endpoint but health, readiness and the certificate needs
/// `Authorization: Bearer TOKEN`.
async fn require_token(state: AppState, req: Request, next: Next) -> Response {
    if let Some(token) = &state.settings().admin_token {
        let given = req
            .headers()
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        if given != Some(token.as_str()) {
            return ApiError(Fault::AdminTokenRequired).into_response();
        }
    }
    next.run(req).await
}

fn bad(detail: impl Into<String>) -> ApiError {
    ApiError(Fault::InvalidInput {
        detail: detail.into(),
    })
}

async fn health() -> Response {
    ok_json(&json!({"status": "ok"}))
}

async fn ready(state: AppState) -> Response {
    if state.is_ready() {
        ok_json(&json!({"ready": true}))
    } else {
        crate::vapi::error::json_response(StatusCode::SERVICE_UNAVAILABLE, &json!({"ready": false}))
    }
}

async fn info(state: AppState) -> Response {
    let vc = state.vcenter();
    ok_json(&json!({
        "name": "vcmock",
        "version": env!("CARGO_PKG_VERSION"),
        "seed": state.ids().seed(),
        "clock": {"mode": state.clock().mode(), "now": datetime(state.now())},
        "tls": state.settings().tls,
        "transfer_host": state.settings().transfer_host,
        "counts": {
            "vms": vc.vm_ids().len(),
            "sessions": vc.session_count(),
            "transfers_live": vc.live_transfer_count(),
            "journal_entries": state.journal().requests().len(),
            "fault_rules": state.injections().list().len(),
        },
    }))
}

async fn certificate(state: AppState) -> Result<Response, ApiError> {
    let cert = state.cert().ok_or_else(|| {
        ApiError(Fault::AdminNotFound {
            what: "a certificate (TLS is off)".into(),
        })
    })?;
    Ok(([(CONTENT_TYPE, "application/x-pem-file")], cert.pem.clone()).into_response())
}

async fn errors() -> Response {
    ok_json(&serde_json::to_value(catalogue()).unwrap_or_default())
}

/// `POST /_mock/reset`: back to the loaded fixture. `{"fixture": "default"}` goes back to the
/// built-in one; a fixture document replaces the loaded one.
async fn reset(state: AppState, body: JsonBody) -> Result<Response, ApiError> {
    let fixture = if body.bytes().iter().all(u8::is_ascii_whitespace) {
        None
    } else if let Some(name) = fixture_name(&body) {
        match name.as_str() {
            "default" => Some(Fixture::default_fixture()),
            other => {
                return Err(bad(format!(
                    "unknown fixture name \"{other}\": \"default\" names the built-in fixture; \
                     or send a fixture document"
                )));
            }
        }
    } else {
        Some(load_fixture(&body)?)
    };
    state.reset(fixture);
    Ok(no_content())
}

/// The name in a `{"fixture": NAME}` body, if that is what the body is.
fn fixture_name(body: &JsonBody) -> Option<String> {
    match serde_json::from_slice::<Value>(body.bytes()).ok()? {
        Value::Object(map) if map.len() == 1 => match map.get("fixture")? {
            Value::String(name) => Some(name.clone()),
            _ => None,
        },
        _ => None,
    }
}

fn load_fixture(body: &JsonBody) -> Result<Fixture, ApiError> {
    let text = std::str::from_utf8(body.bytes()).map_err(|_| bad("the fixture is not UTF-8"))?;
    Fixture::from_json_all(text, "request body").map_err(|problems| bad(in_one_line(&problems)))
}

/// Every problem of a fixture sent to the admin API, in one message.
fn in_one_line(problems: &[fixtures::FixtureError]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

async fn state_dump(state: AppState) -> Result<Response, ApiError> {
    state.vcenter().settle_all(state.now());
    Ok(ok_json(&state.snapshot()?))
}

/// `POST /_mock/state`: restores a snapshot (it becomes what reset restores).
async fn state_load(state: AppState, body: JsonBody) -> Result<Response, ApiError> {
    let fixture = load_fixture(&body)?;
    state.reset(Some(fixture));
    Ok(no_content())
}

/// `POST /_mock/vms`: registers VMs given as a fixture document, or one VM object.
async fn add_vms(state: AppState, body: JsonBody) -> Result<Response, ApiError> {
    let value: Value = body.parse()?;
    let specs: Vec<VmSpec> = if value.get("vms").is_some() {
        let mut doc = value;
        doc["format"] = json!(FORMAT);
        let text = doc.to_string();
        Fixture::from_json_all(&text, "request body")
            .map_err(|problems| bad(in_one_line(&problems)))?
            .vms
    } else {
        let spec: VmSpec = parse_json(value.to_string().as_bytes())?;
        let doc = Fixture {
            format: FORMAT.into(),
            vms: vec![spec],
            ..Fixture::default()
        };
        let problems = doc.problems("request body");
        if !problems.is_empty() {
            return Err(bad(in_one_line(&problems)));
        }
        doc.vms
    };
    let now = state.now();
    let ids: Vec<String> = specs.iter().map(|s| s.id.clone()).collect();
    for s in &specs {
        state.vcenter().add_vm(fixtures::build_vm(s, now), now);
    }
    Ok(super::created_json(&json!({"added": ids})))
}

async fn unregister(state: AppState, Path(vm): Path<String>) -> Result<Response, ApiError> {
    state.vcenter().unregister(&vm, state.now())?;
    Ok(no_content())
}

#[derive(Deserialize)]
struct MigrateBody {
    host: String,
}

async fn migrate(
    state: AppState,
    Path(vm): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let b: MigrateBody = body.parse()?;
    state.vcenter().migrate(&vm, &b.host, state.now())?;
    Ok(no_content())
}

#[derive(Deserialize)]
struct PowerBody {
    state: PowerState,
}

async fn set_power(
    state: AppState,
    Path(vm): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let b: PowerBody = body.parse()?;
    state.vcenter().set_power_state(&vm, b.state, state.now())?;
    Ok(no_content())
}

#[derive(Deserialize)]
struct ToolsBody {
    running: bool,
}

async fn set_tools(
    state: AppState,
    Path(vm): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let b: ToolsBody = body.parse()?;
    state.vcenter().set_tools_running(&vm, b.running)?;
    Ok(no_content())
}

#[derive(Deserialize)]
struct BusyBody {
    busy: bool,
}

async fn set_busy(
    state: AppState,
    Path(vm): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let b: BusyBody = body.parse()?;
    state.vcenter().with_vm_mut(&vm, |v| v.busy = b.busy)?;
    Ok(no_content())
}

#[derive(Deserialize)]
struct PathQuery {
    path: String,
}

/// `GET /_mock/vms/{vm}/files?path=...`: a file's bytes, without guest permission checks.
async fn read_file(
    state: AppState,
    Path(vm): Path<String>,
    Query(q): Query<PathQuery>,
) -> Result<Response, ApiError> {
    state.vcenter().settle(&vm, state.now());
    let blob = state.vcenter().with_vm(&vm, |v| {
        let p = v.fs.path(&q.path)?;
        v.fs.read_ignoring_permissions(&p)
            .ok_or_else(|| Fault::not_found(p.display()))
    })??;
    // Streamed: a generated file can be far larger than memory.
    let len = blob.len();
    let mut resp = super::guest_file::blob_body(blob).into_response();
    let headers = resp.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        "application/octet-stream".parse().expect("static"),
    );
    headers.insert(axum::http::header::CONTENT_LENGTH, len.into());
    Ok(resp)
}

/// `PUT /_mock/vms/{vm}/files`: adds or replaces a file, directory or link (fixture format).
async fn put_file(
    state: AppState,
    Path(vm): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let spec: FileSpec = body.parse()?;
    let now = state.now();
    state.vcenter().with_vm_mut(&vm, |v| {
        let (path, kind, meta) = fixtures::node_of(v.family(), &spec, now)
            .map_err(|e| Fault::InvalidInput { detail: e })?;
        v.fs.insert_ignoring_permissions(&path, kind, meta)
    })??;
    Ok(no_content())
}

async fn delete_file(
    state: AppState,
    Path(vm): Path<String>,
    Query(q): Query<PathQuery>,
) -> Result<Response, ApiError> {
    let removed = state.vcenter().with_vm_mut(&vm, |v| {
        let p = v.fs.path(&q.path)?;
        Ok::<_, Fault>(v.fs.remove_ignoring_permissions(&p))
    })??;
    if removed {
        Ok(no_content())
    } else {
        Err(ApiError(Fault::not_found(q.path)))
    }
}

async fn clock(state: AppState) -> Response {
    ok_json(&json!({"mode": state.clock().mode(), "now": datetime(state.now())}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockBody {
    #[serde(default)]
    mode: Option<ClockMode>,
    #[serde(default)]
    advance_seconds: Option<f64>,
    #[serde(default)]
    set: Option<String>,
}

/// `POST /_mock/clock`: `{"advance_seconds": 601}`, `{"set": "2024-01-01T00:00:00Z"}` or
/// `{"mode": "manual"|"system"}`. Moving the clock switches it to manual.
async fn move_clock(state: AppState, body: JsonBody) -> Result<Response, ApiError> {
    let b: ClockBody = body.parse()?;
    let set = b
        .set
        .as_deref()
        .map(|s| parse_datetime("set", s))
        .transpose()?;
    if let Some(secs) = b.advance_seconds {
        if !(0.0..=1e12).contains(&secs) {
            return Err(bad("advance_seconds must be between 0 and 1e12"));
        }
    }
    if let Some(mode) = b.mode {
        state.clock().set_mode(mode);
    }
    if let Some(to) = set {
        state
            .clock()
            .try_set(to)
            .map_err(|e| bad(format!("set: {e}")))?;
    }
    if let Some(secs) = b.advance_seconds {
        state
            .clock()
            .try_advance(Duration::from_secs_f64(secs))
            .map_err(|e| bad(format!("advance_seconds: {e}")))?;
    }
    tracing::info!(mode = ?state.clock().mode(), now = %datetime(state.now()), "admin: clock moved");
    Ok(clock(state).await)
}

async fn list_faults(state: AppState) -> Response {
    ok_json(&serde_json::to_value(state.injections().list()).unwrap_or_default())
}

async fn add_fault(state: AppState, body: JsonBody) -> Result<Response, ApiError> {
    let spec: InjectionRule = body.parse()?;
    let rule = state.injections().add(spec).map_err(bad)?;
    Ok(super::created_json(
        &serde_json::to_value(rule).unwrap_or_default(),
    ))
}

async fn clear_faults(state: AppState) -> Response {
    state.injections().clear();
    no_content()
}

async fn delete_fault(state: AppState, Path(id): Path<String>) -> Result<Response, ApiError> {
    let found = id
        .parse()
        .map(|id| state.injections().remove(id))
        .unwrap_or(false);
    if found {
        Ok(no_content())
    } else {
        Err(ApiError(Fault::AdminNotFound {
            what: format!("fault rule {id}"),
        }))
    }
}

async fn journal(state: AppState, uri: axum::http::Uri) -> Result<Response, ApiError> {
    let filter: JournalFilter = serde_json::from_value(query_object(&uri))
        .map_err(|e| bad(format!("journal filter: {e}")))?;
    Ok(ok_json(
        &serde_json::to_value(state.journal().entries(&filter)).unwrap_or_default(),
    ))
}

/// The query string as a JSON object (numbers where they parse).
fn query_object(uri: &axum::http::Uri) -> Value {
    let mut map = serde_json::Map::new();
    for (k, v) in crate::vapi::extract::query_pairs(uri) {
        let v = v.unwrap_or_default().into_owned();
        let value = v.parse::<u64>().map_or(Value::String(v), Value::from);
        map.insert(k.to_owned(), value);
    }
    Value::Object(map)
}

async fn clear_journal(state: AppState) -> Response {
    state.journal().clear();
    no_content()
}

async fn transfers(state: AppState) -> Response {
    let list: Vec<Value> = state
        .vcenter()
        .transfers()
        .iter()
        .map(|t| {
            let (direction, size) = match &t.direction {
                crate::model::transfer::Direction::Download => ("download", None),
                crate::model::transfer::Direction::Upload(u) => ("upload", Some(u.size)),
            };
            let mut v = json!({
                "id": t.id,
                "vm": t.vm,
                "path": t.path.display(),
                "direction": direction,
                "guest_user": t.user,
                "created": datetime(t.created),
                "expires": datetime(t.expires),
                "ended": t.ended.map(datetime),
            });
            let state_json = serde_json::to_value(&t.state).unwrap_or_default();
            v["state"] = state_json["state"].clone();
            if let Some(r) = state_json.get("reason") {
                v["reason"] = r.clone();
            }
            if let Some(s) = size {
                v["size"] = json!(s);
            }
            v
        })
        .collect();
    ok_json(&Value::Array(list))
}

async fn metrics(state: AppState) -> Response {
    let vc = state.vcenter();
    let text = state
        .metrics()
        .render(vc.session_count(), vc.live_transfer_count());
    ([(CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}
