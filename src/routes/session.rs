//! Owns the session endpoints: `/api/session` and the legacy `/rest/com/vmware/cis/session`.

use axum::Router;

use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use axum::routing::post;
use base64::Engine as _;
use serde_json::json;

use super::{action_of, created_json, no_content, ok_json, unknown_action};
use crate::model::Fault;
use crate::state::AppState;
use crate::vapi::dto::datetime;
use crate::vapi::error::ApiError;
use crate::vapi::extract::SessionId;

/// `/api/session`.
pub fn api_routes() -> Router {
    Router::new().route("/api/session", post(create).get(info).delete(delete))
}

/// `/rest/com/vmware/cis/session` (the `/rest` layer reshapes the answers).
pub fn rest_routes() -> Router {
    Router::new().route(
        "/rest/com/vmware/cis/session",
        post(rest_post).delete(delete),
    )
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, pass) = text.split_once(':')?;
    Some((user.to_owned(), pass.to_owned()))
}

async fn create(state: AppState, headers: HeaderMap) -> Result<Response, ApiError> {
    let (user, pass) = basic_credentials(&headers).ok_or(Fault::LoginFailed)?;
    let id = state
        .vcenter()
        .login(&user, &pass, state.ids(), state.now())?;
    Ok(created_json(&json!(id)))
}

async fn info(state: AppState, SessionId(id): SessionId) -> Result<Response, ApiError> {
    let s = state.vcenter().session(&id, state.now())?;
    Ok(ok_json(&json!({
        "user": s.user,
        "created_time": datetime(s.created),
        "last_accessed_time": datetime(s.last_accessed),
    })))
}

async fn delete(state: AppState, SessionId(id): SessionId) -> Result<Response, ApiError> {
    state.vcenter().logout(&id, state.now())?;
    Ok(no_content())
}

async fn rest_post(state: AppState, uri: Uri, headers: HeaderMap) -> Result<Response, ApiError> {
    match action_of(&uri).get() {
        None => create(state, headers).await,
        Some("get") => {
            let id = crate::vapi::extract::session_id_from_headers(&headers)
                .ok_or(Fault::SessionRequired)?;
            info(state, SessionId(id)).await
        }
        Some(_) => Err(unknown_action(&uri)),
    }
}
