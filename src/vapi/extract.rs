//! Owns request extraction: JSON bodies read into typed inputs with vAPI errors on failure, and
//! the caller's vCenter session.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::Extensions;
use axum::http::header::{CONTENT_TYPE, COOKIE};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::ApiError;
use super::strict::Strict;
use crate::model::Fault;
use crate::ops::Record;
use crate::state::AppState;

/// The session header vCenter uses.
pub const SESSION_HEADER: &str = "vmware-api-session-id";

/// A request body read whole (up to the configured limit), parsed later with [`JsonBody::parse`]
/// so that route and session checks come first, as on vCenter.
#[derive(Debug, Clone)]
pub struct JsonBody {
    bytes: Bytes,
    /// The Content-Type header as sent (copied into a message only when it is refused).
    content_type: Option<axum::http::HeaderValue>,
}

impl JsonBody {
    /// Parses the body as `T`. A Content-Type other than JSON, bad JSON, wrong types, unknown
    /// enum values and missing fields give 400 `INVALID_ARGUMENT` naming the JSON path.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, Fault> {
        if let Some(value) = &self.content_type {
            let ct = value.to_str().unwrap_or("?");
            if !ct.is_empty() && !is_json_type(ct) {
                return Err(Fault::InvalidInput {
                    detail: format!(
                        "Content-Type '{}' is not application/json",
                        ct.to_ascii_lowercase()
                    ),
                });
            }
        }
        parse_json(&self.bytes)
    }

    /// The raw bytes.
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }
}

/// Whether a Content-Type names JSON, in any case: `application/json` (with or without
/// parameters) or a `+json` type.
fn is_json_type(ct: &str) -> bool {
    let b = ct.as_bytes();
    let starts = b.len() >= 16 && b[..16].eq_ignore_ascii_case(b"application/json");
    starts || b.windows(5).any(|w| w.eq_ignore_ascii_case(b"+json"))
}

/// Parses JSON bytes as `T`, naming the JSON path of any problem. An empty body reads as `{}`.
/// Strict: a structure must be an object (never an array of its fields), and nothing but white
/// space may follow the value.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Fault> {
    let text = std::str::from_utf8(bytes).map_err(|e| Fault::InvalidInput {
        detail: format!("the body is not UTF-8 ({e})"),
    })?;
    let text = if text.trim().is_empty() { "{}" } else { text };
    // Most bodies are good: read them without tracking where the reader is, which costs an
    // allocation per member. Only a body that fails is read again, tracked, for the message
    // that names the JSON path (the same reading, so the same failure).
    let fast = &mut serde_json::Deserializer::from_str(text);
    if let Ok(value) = T::deserialize(Strict(&mut *fast)) {
        if fast.end().is_ok() {
            return Ok(value);
        }
    }
    let de = &mut serde_json::Deserializer::from_str(text);
    let result: Result<T, _> = serde_path_to_error::deserialize(Strict(&mut *de));
    let value = result.map_err(|e| {
        let path = e.path().to_string();
        let inner = without_position(&e.into_inner().to_string());
        Fault::InvalidInput {
            detail: if path == "." {
                inner
            } else {
                format!("{path}: {inner}")
            },
        }
    })?;
    de.end().map_err(|e| Fault::InvalidInput {
        detail: format!(
            "{}: only white space may follow the JSON value",
            without_position(&e.to_string())
        ),
    })?;
    Ok(value)
}

/// serde_json's message without its " at line L column C" suffix.
fn without_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, _: &S) -> Result<Self, Self::Rejection> {
        let settings = state(req.extensions())?.settings();
        let content_type = req.headers().get(CONTENT_TYPE).cloned();
        // The router has read the body whole already, within the limit of its route (the
        // admin API's is larger); what remains is to take it.
        let limit = settings.body_limit.max(settings.admin_body_limit);
        let bytes = axum::body::to_bytes(req.into_body(), limit)
            .await
            .map_err(|_| ApiError(Fault::BodyTooLarge { limit }))?;
        Ok(Self {
            bytes,
            content_type,
        })
    }
}

/// The raw session id from the `vmware-api-session-id` header or cookie, if any.
pub fn session_id_from_headers(headers: &axum::http::HeaderMap) -> Option<String> {
    if let Some(v) = headers.get(SESSION_HEADER).and_then(|v| v.to_str().ok()) {
        return Some(v.trim().to_owned());
    }
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| k.trim() == SESSION_HEADER)
        .map(|(_, v)| v.trim().trim_matches('"').to_owned())
}

/// axum's `Path`, with its rejections (bad UTF-8, wrong types) answered as vAPI
/// `INVALID_ARGUMENT` instead of plain text.
#[derive(Debug, Clone)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| Path(v))
            .map_err(|e| {
                ApiError(Fault::InvalidInput {
                    detail: e.body_text(),
                })
            })
    }
}

/// axum's `Query`, with its rejections answered as vAPI `INVALID_ARGUMENT`.
#[derive(Debug, Clone)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| Query(v))
            .map_err(|e| {
                ApiError(Fault::InvalidInput {
                    detail: e.body_text(),
                })
            })
    }
}

/// What the router gives every request, in one extension (one allocation and one map entry
/// where two would do the same): the server's state, and the [`Record`] the operation layer
/// fills for the journal, the metrics and the log.
#[derive(Debug, Clone)]
pub struct Scope {
    /// The state of the server the request reached.
    pub state: AppState,
    /// What the request's operation learned.
    pub record: Arc<Record>,
}

/// The record of a request that went through the router.
pub fn record(extensions: &Extensions) -> Option<&Arc<Record>> {
    extensions.get::<Scope>().map(|s| &s.record)
}

/// The state of the server a request reached (borrowed from its [`Scope`]).
fn state(extensions: &Extensions) -> Result<&AppState, ApiError> {
    extensions.get::<Scope>().map(|s| &s.state).ok_or_else(|| {
        ApiError(Fault::Internal {
            detail: "the server state is missing from the request".into(),
        })
    })
}

/// Handlers reach the server's state through the request extension the router adds, so the
/// routes themselves can be built once and shared by every server in the process.
impl<S: Send + Sync> FromRequestParts<S> for AppState {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        state(&parts.extensions).cloned()
    }
}

/// The query string's `key=value` pairs, in order, borrowed from the URL. Values are
/// percent-decoded once, with `+` read as a space (copied only when decoding changes them); a
/// value that is not UTF-8 once decoded is `None`.
pub fn query_pairs(
    uri: &axum::http::Uri,
) -> impl Iterator<Item = (&str, Option<std::borrow::Cow<'_, str>>)> {
    use std::borrow::Cow;
    uri.query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let v = if v.contains('+') {
                percent_encoding::percent_decode_str(&v.replace('+', " "))
                    .decode_utf8()
                    .ok()
                    .map(|s| Cow::Owned(s.into_owned()))
            } else {
                percent_encoding::percent_decode_str(v).decode_utf8().ok()
            };
            (k, v)
        })
}
