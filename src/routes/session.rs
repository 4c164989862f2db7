//! Owns the session routes: `/api/session` and the legacy `/rest/com/vmware/cis/session`.

use axum::Router;
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use super::call::RestCall;
use super::unknown_action;
use crate::ops::session::{Get, Login, Logout};

/// `/api/session`.
pub fn api_routes() -> Router {
    Router::new().route("/api/session", post(create).get(get).delete(delete))
}

/// `/rest/com/vmware/cis/session` (the `/rest` layer reshapes the answers).
pub fn rest_routes() -> Router {
    Router::new().route(
        "/rest/com/vmware/cis/session",
        post(rest_post).delete(delete),
    )
}

async fn create(rest: RestCall) -> Response {
    rest.run_bodiless::<Login>(rest.vars(None, None)).await
}

async fn get(rest: RestCall) -> Response {
    rest.run_bodiless::<Get>(rest.vars(None, None)).await
}

async fn delete(rest: RestCall) -> Response {
    rest.run_bodiless::<Logout>(rest.vars(None, None)).await
}

/// `POST /rest/com/vmware/cis/session` logs in; with `?~action=get` it reads the session.
async fn rest_post(rest: RestCall) -> Response {
    match rest.action().get() {
        None => create(rest).await,
        Some("get") => get(rest).await,
        Some(_) => unknown_action(rest.uri()).into_response(),
    }
}
