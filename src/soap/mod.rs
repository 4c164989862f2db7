//! Owns the SOAP vim25 API at `/sdk`: the XML codec, vim25 values, the inventory as managed
//! objects, the PropertyCollector, views, search, tasks and faults, and the HTTP entry points
//! (`POST /sdk`, `GET /sdk/vimServiceVersions.xml`).

pub mod collector;
pub mod envelope;
pub mod fault;
pub mod guest;
pub mod inventory;
pub mod methods;
pub mod ops;
pub mod power;
pub mod retrieve;
pub mod store;
pub mod types;
pub mod value;
pub mod xml;

use axum::Router;
use axum::body::Body;
use axum::http::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::model::Fault;
use crate::ops::{Record, Stop};
use crate::state::AppState;

use envelope::Answer;

use fault::method_not_found;

/// The cookie that carries a SOAP session.
pub const COOKIE_NAME: &str = "vmware_soap_session";

/// The `/sdk` routes.
pub fn routes() -> Router {
    Router::new()
        .route("/sdk", post(sdk))
        .route("/sdk/vimServiceVersions.xml", get(versions))
}

/// The vim25 versions `/sdk` advertises: the current one first, then prior ones.
pub const VERSIONS: &[&str] = &[
    "8.0.3.0", "8.0.2.0", "8.0.1.0", "8.0.0.2", "8.0.0.1", "8.0.0.0", "7.0.3.2", "7.0.3.1",
    "7.0.3.0", "7.0.2.1", "7.0.2.0", "7.0.1.1", "7.0.1.0", "7.0.0.2", "7.0.0.1", "7.0", "6.9.1",
    "6.8.7", "6.7.3", "6.7.2", "6.7.1", "6.7", "6.5",
];

fn xml_response(status: StatusCode, body: Vec<u8>) -> Response {
    (
        status,
        [(CONTENT_TYPE, "text/xml; charset=utf-8")],
        Body::from(body),
    )
        .into_response()
}

async fn versions() -> Response {
    let mut w = xml::XmlWriter::new();
    w.start("namespaces", &[("version", "1.0")]);
    w.start("namespace", &[]);
    w.leaf("name", &[], "urn:vim25");
    w.leaf("version", &[], VERSIONS[0]);
    w.start("priorVersions", &[]);
    for v in &VERSIONS[1..] {
        w.leaf("version", &[], v);
    }
    w.end("priorVersions");
    w.end("namespace");
    w.end("namespaces");
    xml_response(StatusCode::OK, w.finish())
}

/// The SOAP session id in the request: `vmware_soap_session` found in any `Cookie` header's
/// `;`-separated list (pyVmomi echoes the whole `Set-Cookie` value, attributes and quotes
/// included), else the REST session header or cookie, since the sessions are the same.
pub fn session_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split([';', ',']))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| k.trim() == COOKIE_NAME)
        .map(|(_, v)| v.trim().trim_matches('"').to_owned())
        .filter(|v| !v.is_empty())
        .or_else(|| crate::vapi::extract::session_id_from_headers(headers))
}

fn fault_response(f: &Fault, cx: fault::Context<'_>) -> Response {
    xml_response(StatusCode::INTERNAL_SERVER_ERROR, envelope::fault(f, cx))
}

fn config(state: &AppState, store: &store::Store) -> inventory::Config {
    inventory::Config {
        datacenter: store.datacenter().to_owned(),
        thumbprint: state.cert().map(|c| c.sha1.clone()),
        ..inventory::Config::default()
    }
}

/// Answers a call that stopped before it reached an operation, noting the fault for the journal.
/// A fault met outside any SOAP method (a body over the limit or stalled, a panic), answered as
/// a SOAP fault.
pub(crate) fn answer_fault(record: Option<&Record>, f: &Fault) -> Response {
    refuse(record, "soap.invalid", f)
}

fn refuse(record: Option<&Record>, name: &'static str, f: &Fault) -> Response {
    if let Some(r) = record {
        r.set_operation(name);
        r.fault(f);
    }
    fault_response(f, fault::Context::default())
}

/// How an operation that stopped is answered: a SOAP fault, a rule's raw answer, or a
/// connection closed without one.
fn stop_response(stop: Stop, cx: fault::Context<'_>) -> Response {
    match stop {
        Stop::Fault(f) => fault_response(&f, cx),
        Stop::Respond { status, body } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            match body {
                Some(serde_json::Value::String(text)) => {
                    (status, [(CONTENT_TYPE, "text/plain")], text).into_response()
                }
                Some(v) => crate::vapi::error::json_response(status, &v),
                None => status.into_response(),
            }
        }
        Stop::Reset => {
            let mut r = StatusCode::INTERNAL_SERVER_ERROR.into_response();
            r.extensions_mut().insert(crate::routes::ResetConnection);
            r
        }
    }
}

/// Keeps a `WaitForUpdates[Ex]` that found nothing on its first pass waiting, until a change,
/// a cancel, a later wait on the same collector, or the end of its wait. It sleeps until the
/// model or the `/sdk` state is changed (or its time is up), and looks at its filters again
/// only when the change generation moved: an idle wait costs nothing.
async fn keep_waiting(
    state: &AppState,
    w: &methods::Waiting,
    call: &ops::SoapCall,
) -> Result<Answer, Fault> {
    let started = crate::clock::Stopwatch::start();
    let limit_ms = w.max_wait.as_secs_f64() * 1000.0;
    let ticket = call.store.claim_wait(&w.session, &w.collector);
    let mut seen = w.generation;
    loop {
        // Registered before anything is looked at, so that no wake in between is missed.
        let changed = state.changed().notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        match call.store.wait_state(&w.session, &w.collector, ticket) {
            store::Wait::Waiting => {}
            // vim25 lets a wait end empty "due to PropertyCollector policy".
            store::Wait::Superseded => return Ok(Answer::Void),
            // vim25: RequestCanceled after CancelWaitForUpdates, or when "the session was
            // closed or the PropertyCollector was destroyed".
            store::Wait::Cancelled => {
                call.store
                    .collector(&w.session, &w.collector, |c| c.cancelled = false);
                return Err(Fault::RequestCanceled);
            }
            store::Wait::Gone => return Err(Fault::RequestCanceled),
        }
        let generation = state.changes().generation();
        if generation != seen {
            seen = generation;
            let vc = state.vcenter();
            let ctx = methods::Ctx::new(
                &vc,
                state.ids(),
                &call.store,
                &call.cfg,
                state.now(),
                Some(&w.session),
                &call.method,
                &call.this,
                &call.body,
            );
            if ctx.session.is_none() {
                return Err(Fault::SessionRequired);
            }
            if let Some(answer) = methods::wait_pass(&ctx, w)? {
                return Ok(answer);
            }
        }
        let left_ms = limit_ms - started.elapsed_ms();
        if left_ms <= 0.0 {
            return Ok(Answer::Void);
        }
        tokio::select! {
            () = &mut changed => {}
            () = tokio::time::sleep(std::time::Duration::from_secs_f64(left_ms / 1000.0)) => {
                return Ok(Answer::Void);
            }
        }
    }
}

async fn sdk(state: AppState, req: axum::extract::Request) -> Response {
    let (parts, body) = req.into_parts();
    let record = crate::vapi::extract::record(&parts.extensions).cloned();
    let record = record.as_deref();
    let limit = state.settings().body_limit;
    let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
        return refuse(record, "soap.invalid", &Fault::BodyTooLarge { limit });
    };
    let envelope = match envelope::read(&bytes, xml::Bounds::default()) {
        Ok(c) => c,
        Err(f) => return refuse(record, "soap.invalid", &f),
    };
    let this = match envelope.body.child("_this") {
        Some(t) => match collector::parse_moref(t, "_this") {
            Ok(m) => m,
            Err(f) => return refuse(record, "soap.invalid", &f),
        },
        None => {
            let f = Fault::InvalidInput {
                detail: "_this".into(),
            };
            return refuse(record, "soap.invalid", &f);
        }
    };
    if !methods::served(&envelope.method, &this.ty) {
        let f = method_not_found(this, envelope.method);
        return refuse(record, "soap.unknown", &f);
    }
    let store = state.soap();
    let vc = state.vcenter();
    let ended = vc.sessions_ended();
    if store.sweep_due(ended) {
        let live: std::collections::HashSet<String> =
            vc.sessions().into_iter().map(|(id, _)| id).collect();
        store.sweep(ended, |s| live.contains(s));
    }
    let session = session_id(&parts.headers);
    let on = crate::ops::Call {
        state: &state,
        session: session.clone().map(std::borrow::Cow::Owned),
        method: "POST",
        origin: crate::routes::origin(&parts, &state),
        record,
    };
    let call = ops::SoapCall {
        method: envelope.method,
        this,
        body: envelope.body,
        session,
        cfg: config(&state, &store),
        store,
    };
    // The call is kept for a wait's later passes and for the fault's context.
    let kept = ops::SoapCall {
        method: call.method.clone(),
        this: call.this.clone(),
        body: call.body.clone(),
        session: call.session.clone(),
        store: call.store.clone(),
        cfg: call.cfg.clone(),
    };
    let entity = guest::entity(&kept.method, &kept.body);
    let cx = fault::Context {
        this: Some(&kept.this),
        entity: entity.as_ref(),
        method: Some(&kept.method),
        vc: Some(&vc),
    };
    let outcome = match ops::invoke(&on, call).await {
        Some(Ok(o)) => o,
        Some(Err(stop)) => return stop_response(stop, cx),
        None => {
            let f = method_not_found(kept.this.clone(), kept.method.clone());
            return refuse(record, "soap.unknown", &f);
        }
    };
    let answer = match outcome.reply {
        methods::Reply::Now(a) => Ok(a),
        methods::Reply::Wait(w) => keep_waiting(&state, &w, &kept).await,
    };
    let mut resp = match answer {
        Ok(a) => xml_response(StatusCode::OK, envelope::response(&kept.method, &a)),
        Err(f) => {
            if let Some(r) = record {
                r.fault(&f);
            }
            fault_response(&f, cx)
        }
    };
    if let Some(id) = outcome.login {
        let secure = if state.settings().tls { "; Secure" } else { "" };
        if let Ok(v) =
            HeaderValue::from_str(&format!("{COOKIE_NAME}=\"{id}\"; Path=/; HttpOnly{secure}"))
        {
            resp.headers_mut().append(SET_COOKIE, v);
        }
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_found_in_pyvmomis_echo_and_in_a_clean_jar_cookie() {
        for cookie in [
            "vmware_soap_session=\"abc\"; Path=/; HttpOnly; Secure;",
            "vmware_soap_session=abc; HttpOnly",
            "other=1; vmware_soap_session=abc",
        ] {
            let mut h = HeaderMap::new();
            h.insert(COOKIE, HeaderValue::from_str(cookie).unwrap());
            assert_eq!(session_id(&h).as_deref(), Some("abc"), "{cookie}");
        }
        let mut empty = HeaderMap::new();
        empty.insert(COOKIE, HeaderValue::from_static(""));
        assert_eq!(session_id(&empty), None);
    }
}
