//! Owns transfer creation: the GA `POST .../guest/filesystem?action=create` and the 7.0U1
//! preview `GET`/`PUT .../guest/filesystem` forms, and the `*`-hosted URL they return.

use axum::Router;

use axum::http::header::HOST;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use axum::routing::post;
use serde_json::json;

use super::{action_of, authenticate, created_json, ok_json, unknown_action};
use crate::model::Fault;
use crate::model::TransferRequest;
use crate::model::transfer::UploadSpec;
use crate::state::{AppState, Settings};
use crate::vapi::dto::{CreateTransfer, PreviewGet, PreviewPut};
use crate::vapi::error::ApiError;
use crate::vapi::extract::{JsonBody, Path};

/// The transfer routes.
pub fn routes() -> Router {
    Router::new().route(
        "/api/vcenter/vm/{vm}/guest/filesystem",
        post(create).get(preview_get).put(preview_put),
    )
}

/// The port the client called: from the `Host` header (or the HTTP/2 authority), else the
/// listener's.
fn called_port(headers: &HeaderMap, uri: &Uri, settings: &Settings) -> u16 {
    let authority = headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or_else(|| uri.authority().map(|a| a.to_string()));
    let default_port = if settings.tls { 443 } else { 80 };
    match authority {
        Some(a) => {
            // "[::1]:8443", "host:8443", "host", "[::1]"
            let after_bracket = a.rsplit_once(']').map_or(a.as_str(), |(_, rest)| rest);
            match after_bracket.rsplit_once(':') {
                Some((_, port)) => port.parse().unwrap_or(settings.port),
                None => default_port,
            }
        }
        None => settings.port,
    }
}

/// Builds `https://*:PORT/guestFile?id=N&token=T` as vCenter does: `*` stands for the host the
/// client called, the port is left out when it is the scheme's default, and `--transfer-host`
/// replaces `*` (and the port, when it names one).
pub fn transfer_url(
    settings: &Settings,
    headers: &HeaderMap,
    uri: &Uri,
    id: u64,
    token: &str,
) -> String {
    let scheme = if settings.tls { "https" } else { "http" };
    let port = called_port(headers, uri, settings);
    let default_port = if settings.tls { 443 } else { 80 };
    let host = match &settings.transfer_host {
        Some(h)
            if h.rsplit_once(']')
                .map_or(h.as_str(), |(_, r)| r)
                .contains(':') =>
        {
            h.clone()
        }
        Some(h) if port == default_port => h.clone(),
        Some(h) => format!("{h}:{port}"),
        None if port == default_port => "*".to_owned(),
        None => format!("*:{port}"),
    };
    format!("{scheme}://{host}/guestFile?id={id}&token={token}")
}

async fn issue(
    state: &AppState,
    headers: &HeaderMap,
    uri: &Uri,
    vm: &str,
    creds: crate::vapi::dto::CredentialsDto,
    request: TransferRequest,
) -> Result<String, ApiError> {
    let caller = authenticate(state, headers)?;
    let creds = creds.validate()?;
    let (id, token) =
        state
            .vcenter()
            .create_transfer(&caller, vm, &creds, &request, state.ids(), state.now())?;
    Ok(transfer_url(state.settings(), headers, uri, id, &token))
}

async fn create(
    state: AppState,
    Path(vm): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: JsonBody,
) -> Result<Response, ApiError> {
    if action_of(&uri).get() != Some("create") {
        return Err(unknown_action(&uri));
    }
    authenticate(&state, &headers)?;
    let b: CreateTransfer = body.parse()?;
    let upload = b
        .spec
        .attributes
        .as_ref()
        .map(|a| a.to_upload())
        .transpose()?;
    let url = issue(
        &state,
        &headers,
        &uri,
        &vm,
        b.credentials,
        TransferRequest {
            path: b.spec.path,
            upload,
        },
    )
    .await?;
    Ok(created_json(&json!(url)))
}

/// Preview (7.0U1) download: `GET` with a JSON body `{path, credentials}`; answers 200.
async fn preview_get(
    state: AppState,
    Path(vm): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: JsonBody,
) -> Result<Response, ApiError> {
    authenticate(&state, &headers)?;
    let b: PreviewGet = body.parse()?;
    let url = issue(
        &state,
        &headers,
        &uri,
        &vm,
        b.credentials,
        TransferRequest {
            path: b.path,
            upload: None,
        },
    )
    .await?;
    Ok(ok_json(&json!(url)))
}

/// Preview (7.0U1) upload: `PUT` with `{path, credentials, file_attributes, overwrite,
/// file_size}`; answers 200.
async fn preview_put(
    state: AppState,
    Path(vm): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: JsonBody,
) -> Result<Response, ApiError> {
    authenticate(&state, &headers)?;
    let b: PreviewPut = body.parse()?;
    let size = u64::try_from(b.file_size).map_err(|_| Fault::InvalidInput {
        detail: format!("file_size: {} is negative", b.file_size),
    })?;
    let attrs = b
        .file_attributes
        .unwrap_or_default()
        .to_model("file_attributes")?;
    let upload = UploadSpec {
        size,
        overwrite: b.overwrite.unwrap_or(false),
        attrs,
    };
    let url = issue(
        &state,
        &headers,
        &uri,
        &vm,
        b.credentials,
        TransferRequest {
            path: b.path,
            upload: Some(upload),
        },
    )
    .await?;
    Ok(ok_json(&json!(url)))
}
