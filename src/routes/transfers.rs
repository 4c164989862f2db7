//! Owns the transfer routes: the GA `POST .../guest/filesystem?action=create` and the 7.0U1
//! preview `GET`/`PUT .../guest/filesystem` forms.

use axum::Router;
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use super::call::RestCall;
use super::unknown_action;
use crate::ops::transfers;
use crate::vapi::extract::{JsonBody, Path};

/// The transfer routes.
pub fn routes() -> Router {
    Router::new().route(
        "/api/vcenter/vm/{vm}/guest/filesystem",
        post(create).get(preview_get).put(preview_put),
    )
}

async fn create(rest: RestCall, Path(vm): Path<String>, body: JsonBody) -> Response {
    if rest.action().get() != Some("create") {
        return unknown_action(rest.uri()).into_response();
    }
    rest.run::<transfers::Create>(rest.vars(Some(vm), None), &body)
        .await
}

/// Preview (7.0U1) download: `GET` with a JSON body `{path, credentials}`; answers 200.
async fn preview_get(rest: RestCall, Path(vm): Path<String>, body: JsonBody) -> Response {
    rest.run::<transfers::PreviewGet>(rest.vars(Some(vm), None), &body)
        .await
}

/// Preview (7.0U1) upload: `PUT` with `{path, credentials, file_attributes, overwrite,
/// file_size}`; answers 200.
async fn preview_put(rest: RestCall, Path(vm): Path<String>, body: JsonBody) -> Response {
    rest.run::<transfers::PreviewPut>(rest.vars(Some(vm), None), &body)
        .await
}
