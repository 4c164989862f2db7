//! Owns the guest filesystem routes: `files` and `directories` and their actions.

use axum::Router;
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use super::call::RestCall;
use super::unknown_action;
use crate::model::Fault;
use crate::ops::{directories, files};
use crate::vapi::extract::{JsonBody, Path};

/// The `files` and `directories` routes.
pub fn routes() -> Router {
    Router::new()
        .route("/api/vcenter/vm/{vm}/guest/filesystem/files", post(files))
        .route(
            "/api/vcenter/vm/{vm}/guest/filesystem/files/{*path}",
            post(file_at),
        )
        .route(
            "/api/vcenter/vm/{vm}/guest/filesystem/directories",
            post(directories),
        )
}

async fn files(rest: RestCall, Path(vm): Path<String>, body: JsonBody) -> Response {
    let vars = rest.vars(Some(vm), None);
    match rest.action().get() {
        Some("createTemporary") => rest.run::<files::CreateTemporary>(vars, &body).await,
        Some("list") => rest.run::<files::List>(vars, &body).await,
        Some("move") => rest.run::<files::Move>(vars, &body).await,
        Some("update") => rest.run::<files::Update>(vars, &body).await,
        _ => unknown_action(rest.uri()).into_response(),
    }
}

/// The guest path carried in the URL after `/files/`, percent-decoded once.
fn tail_path(uri: &Uri) -> Result<String, Fault> {
    let raw = uri
        .path()
        .split_once("/guest/filesystem/files/")
        .map(|(_, t)| t)
        .unwrap_or_default();
    percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| Fault::InvalidPath {
            path: raw.to_owned(),
            why: "the path is not valid UTF-8 after percent-decoding",
        })
}

async fn file_at(
    rest: RestCall,
    Path((vm, _)): Path<(String, String)>,
    body: JsonBody,
) -> Response {
    let action = rest.action();
    let act = action.get();
    if !matches!(act, Some("get" | "delete")) {
        return unknown_action(rest.uri()).into_response();
    }
    let path = match tail_path(rest.uri()) {
        Ok(p) => p,
        Err(f) => {
            // The path is part of the input: authentication still comes first.
            return if act == Some("get") {
                rest.answer::<files::Get>(Err(f)).await
            } else {
                rest.answer::<files::Delete>(Err(f)).await
            };
        }
    };
    let vars = rest.vars(Some(vm), Some(path));
    if act == Some("get") {
        rest.run::<files::Get>(vars, &body).await
    } else {
        rest.run::<files::Delete>(vars, &body).await
    }
}

async fn directories(rest: RestCall, Path(vm): Path<String>, body: JsonBody) -> Response {
    let vars = rest.vars(Some(vm), None);
    match rest.action().get() {
        Some("create") => rest.run::<directories::Create>(vars, &body).await,
        Some("delete") => rest.run::<directories::Delete>(vars, &body).await,
        Some("move") => rest.run::<directories::Move>(vars, &body).await,
        Some("createTemporary") => rest.run::<directories::CreateTemporary>(vars, &body).await,
        _ => unknown_action(rest.uri()).into_response(),
    }
}
