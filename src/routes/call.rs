//! Owns calling an operation from a REST request: reading the session, the called port and the
//! action from the request, invoking the operation, and answering in the `/api` shape.

use std::borrow::Cow;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use axum::http::request::Parts;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde::de::IgnoredAny;

use super::{ActionQuery, ResetConnection, action_of};
use crate::model::Fault;
use crate::ops::transfers::called_port;
use crate::ops::{Call, Origin, Record, Stop};
use crate::state::AppState;
use crate::vapi::bind::{Binding, Vars};
use crate::vapi::error::{ApiError, json_response};
use crate::vapi::extract::{JsonBody, session_id_from_headers};

/// What a REST handler needs to call operations: the server, the caller's session, the port it
/// called, the request's method and URL, and where the journal's facts go.
#[derive(Debug, Clone)]
pub struct RestCall {
    state: AppState,
    session: Option<String>,
    /// The `Authorization` header as sent (a shared buffer), decoded when an operation's
    /// variables are made.
    authorization: Option<axum::http::HeaderValue>,
    method: axum::http::Method,
    uri: Uri,
    origin: Origin,
    record: Option<Arc<Record>>,
}

impl<S: Send + Sync> FromRequestParts<S> for RestCall {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, s: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_request_parts(parts, s).await?;
        let origin = origin(parts, &state);
        Ok(Self {
            session: session_id_from_headers(&parts.headers),
            authorization: parts.headers.get(AUTHORIZATION).cloned(),
            method: parts.method.clone(),
            uri: parts.uri.clone(),
            origin,
            record: crate::vapi::extract::record(&parts.extensions).cloned(),
            state,
        })
    }
}

/// How a request reached the server: the port it called, from its `Host` header or its URL's
/// authority (read in place), for every wire.
pub fn origin(parts: &Parts, state: &AppState) -> Origin {
    let host = parts.headers.get(HOST).and_then(|h| h.to_str().ok());
    let authority = host.or_else(|| parts.uri.authority().map(|a| a.as_str()));
    Origin {
        port: called_port(authority, state.settings()),
    }
}

/// The user name and password of an `Authorization: Basic` header.
fn basic_credentials(header: &axum::http::HeaderValue) -> Option<(String, String)> {
    let value = header.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let mut user = String::from_utf8(decoded).ok()?;
    let colon = user.find(':')?;
    let password = user[colon + 1..].to_owned();
    user.truncate(colon);
    Some((user, password))
}

impl RestCall {
    /// The request's `action` (or legacy `~action`).
    pub fn action(&self) -> ActionQuery<'_> {
        action_of(&self.uri)
    }

    /// The server.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Notes why the request ended as it did, in words, for the journal.
    pub fn note(&self, note: impl Into<String>) {
        if let Some(r) = &self.record {
            r.note(note);
        }
    }

    /// The request URL.
    pub fn uri(&self) -> &Uri {
        &self.uri
    }

    /// The path variables `{vm}` (and `{path}`), with the transport's user name and password.
    pub fn vars(&self, vm: Option<String>, path: Option<String>) -> Vars {
        Vars {
            vm,
            path,
            login: self.authorization.as_ref().and_then(basic_credentials),
            ..Vars::default()
        }
    }

    /// The operation call this request makes, with the session from its header or cookie.
    pub fn call(&self) -> Call<'_> {
        self.call_with(self.session.as_deref().map(Cow::Borrowed))
    }

    /// The operation call this request makes, with a session the wire found elsewhere (the
    /// JSON-RPC security context).
    pub fn call_as(&self, session: Option<String>) -> Call<'_> {
        self.call_with(session.map(Cow::Owned))
    }

    fn call_with<'a>(&'a self, session: Option<Cow<'a, str>>) -> Call<'a> {
        Call {
            state: &self.state,
            session,
            method: self.method.as_str(),
            origin: self.origin,
            record: self.record.as_deref(),
        }
    }

    /// Names the request before any operation does (for requests that may reach none).
    pub fn name(&self, operation: &'static str) {
        if let Some(r) = &self.record {
            r.set_operation(operation);
        }
    }

    /// Notes the fault the request ended with, when no operation did.
    pub fn fault(&self, fault: &Fault) {
        if let Some(r) = &self.record {
            r.fault(fault);
        }
    }

    /// Runs `O` on the JSON body and answers in the `/api` shape.
    pub async fn run<O: Binding>(&self, vars: Vars, body: &JsonBody) -> Response {
        let input = body.parse::<O::Body>().and_then(|b| O::input(vars, b));
        self.answer::<O>(input).await
    }

    /// Runs `O`, which takes no body, and answers in the `/api` shape.
    pub async fn run_bodiless<O: Binding<Body = IgnoredAny>>(&self, vars: Vars) -> Response {
        self.answer::<O>(O::input(vars, IgnoredAny)).await
    }

    /// Runs `O` on an input the route read itself, and answers in the `/api` shape.
    pub async fn answer<O: Binding>(&self, input: Result<O, Fault>) -> Response {
        match self.call().invoke(input).await {
            Ok(_) if O::REST_STATUS == StatusCode::NO_CONTENT => {
                StatusCode::NO_CONTENT.into_response()
            }
            Ok(out) => (
                O::REST_STATUS,
                [(CONTENT_TYPE, "application/json")],
                O::json(&out),
            )
                .into_response(),
            Err(stop) => stop_response(stop),
        }
    }
}

/// How an operation that stopped is answered over HTTP: a fault in the `/api` shape, a rule's raw
/// answer, or a connection closed without one.
pub fn stop_response(stop: Stop) -> Response {
    match stop {
        Stop::Fault(f) => ApiError(f).into_response(),
        Stop::Respond { status, body } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            match body {
                Some(serde_json::Value::String(text)) => {
                    (status, [(CONTENT_TYPE, "text/plain")], text).into_response()
                }
                Some(v) => json_response(status, &v),
                None => status.into_response(),
            }
        }
        Stop::Reset => {
            let mut resp = Response::new(Body::empty());
            *resp.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            resp.extensions_mut().insert(ResetConnection);
            resp
        }
    }
}
