//! Owns the SOAP vim25 API at `/sdk`: the XML codec, vim25 values, the inventory as managed
//! objects, the PropertyCollector, views, search, tasks and faults, and the HTTP entry points
//! (`POST /sdk`, `GET /sdk/vimServiceVersions.xml`).

pub mod collector;
pub mod envelope;
pub mod fault;
pub mod inventory;
pub mod methods;
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

use crate::injection::{Effect, RequestFacts};
use crate::model::Fault;
use crate::state::AppState;

use fault::method_not_found;

/// The cookie that carries a SOAP session.
pub const COOKIE_NAME: &str = "vmware_soap_session";

/// The name and VM of the operation a `/sdk` request invoked, put in the response's
/// extensions for the journal and metrics (`soap.RetrievePropertiesEx`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoapOperation {
    /// `soap.<Method>`.
    pub operation: String,
    /// The VM the method was called on, if any.
    pub vm: Option<String>,
}

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

fn tag(mut resp: Response, operation: String, vm: Option<String>) -> Response {
    resp.extensions_mut()
        .insert(SoapOperation { operation, vm });
    resp
}

/// Applies the fault rules to a SOAP operation. `Some` answers the request in the rule's
/// place; delays are served here and the call goes on.
async fn rules(state: &AppState, operation: &str, vm: Option<&String>) -> Option<Response> {
    if state.injections().is_empty() {
        return None;
    }
    let facts = RequestFacts {
        operation: operation.to_owned(),
        method: "POST".into(),
        vm: vm.cloned(),
        guest_path: None,
    };
    let (rule, effect) = state.injections().check(&facts, state.ids())?;
    let note = crate::routes::JournalNote(format!("fault rule {rule}"));
    let mut resp = match effect {
        Effect::Error {
            error_type,
            message,
        } => fault_response(
            &Fault::Injected {
                error_type: error_type.as_str().to_owned(),
                message,
            },
            fault::Context::default(),
        ),
        Effect::Status { status, body } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            match body {
                Some(serde_json::Value::String(text)) => {
                    (status, [(CONTENT_TYPE, "text/plain")], text).into_response()
                }
                Some(v) => crate::vapi::error::json_response(status, &v),
                None => status.into_response(),
            }
        }
        Effect::Delay { ms } => {
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            return None;
        }
        Effect::Reset => {
            let mut r = StatusCode::INTERNAL_SERVER_ERROR.into_response();
            r.extensions_mut().insert(crate::routes::ResetConnection);
            r
        }
        Effect::Truncate { .. } | Effect::Slow { .. } => return None,
    };
    resp.extensions_mut().insert(note);
    Some(resp)
}

fn config(state: &AppState, store: &store::Store) -> inventory::Config {
    inventory::Config {
        datacenter: store.datacenter().to_owned(),
        thumbprint: state.cert().map(|c| c.sha1.clone()),
        ..inventory::Config::default()
    }
}

async fn sdk(state: AppState, headers: HeaderMap, body: Body) -> Response {
    let limit = state.settings().body_limit;
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(_) => {
            return tag(
                fault_response(&Fault::BodyTooLarge { limit }, fault::Context::default()),
                "soap.invalid".into(),
                None,
            );
        }
    };
    let call = match envelope::read(&bytes, xml::Bounds::default()) {
        Ok(c) => c,
        Err(f) => {
            return tag(
                fault_response(&f, fault::Context::default()),
                "soap.invalid".into(),
                None,
            );
        }
    };
    let operation = format!("soap.{}", call.method);
    let this = match call.body.child("_this") {
        Some(t) => match collector::parse_moref(t, "_this") {
            Ok(m) => m,
            Err(f) => {
                return tag(
                    fault_response(&f, fault::Context::default()),
                    operation,
                    None,
                );
            }
        },
        None => {
            let f = Fault::InvalidInput {
                detail: "_this".into(),
            };
            return tag(
                fault_response(&f, fault::Context::default()),
                operation,
                None,
            );
        }
    };
    let vm = (this.ty == "VirtualMachine").then(|| this.value.clone());
    if !methods::served(&call.method, &this.ty) {
        let f = method_not_found(this, call.method);
        return tag(fault_response(&f, fault::Context::default()), operation, vm);
    }
    if let Some(resp) = rules(&state, &operation, vm.as_ref()).await {
        return tag(resp, operation, vm);
    }
    let now = state.now();
    let vc = state.vcenter();
    let session = session_id(&headers).and_then(|id| {
        let s = vc.session(&id, now).ok()?;
        Some((id, s))
    });
    let caller = session.as_ref().and_then(|(id, _)| vc.caller(id, now).ok());
    let store = state.soap();
    if store.object_count() >= store::SWEEP_AT {
        let live: std::collections::HashSet<String> =
            vc.sessions().into_iter().map(|(id, _)| id).collect();
        store.sweep(|s| live.contains(s));
    }
    let cfg = config(&state, &store);
    let ctx = methods::Ctx {
        state: state.clone(),
        vc,
        store,
        cfg,
        now,
        session,
        caller,
        method: call.method,
        this,
        body: call.body,
    };
    let mut effects = methods::Effects::default();
    let resp = match methods::call(&ctx, &mut effects).await {
        Ok(answer) => xml_response(StatusCode::OK, envelope::response(&ctx.method, &answer)),
        Err(f) => fault_response(
            &f,
            fault::Context {
                this: Some(&ctx.this),
                vc: Some(&ctx.vc),
            },
        ),
    };
    let mut resp = tag(resp, operation, vm);
    if let Some(id) = effects.login {
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
