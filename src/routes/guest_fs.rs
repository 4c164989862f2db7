//! Owns the guest filesystem endpoints: `files` and `directories` and their actions.

use axum::Router;

use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use axum::routing::post;
use serde_json::json;

use super::{action_of, authenticate, no_content, ok_json, unknown_action};
use crate::model::Fault;
use crate::state::AppState;
use crate::vapi::dto::{
    self, CreateDir, CreateTemporary, CredentialsOnly, DeleteDir, ListFiles, MoveDir, MoveFile,
    UpdateFile,
};
use crate::vapi::error::ApiError;
use crate::vapi::extract::JsonBody;
use crate::vapi::extract::Path;

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

/// A `match_pattern` filter. vCenter documents Perl-compatible expressions; the mock uses
/// Rust's `regex` (no look-around or back-references), searched anywhere in the name. No pattern
/// matches everything without a regex; compiled patterns are cached, since clients repeat them.
#[derive(Debug, Clone)]
pub struct NameFilter(Option<regex::Regex>);

impl NameFilter {
    /// Whether `name` passes the filter.
    pub fn matches(&self, name: &str) -> bool {
        self.0.as_ref().is_none_or(|re| re.is_match(name))
    }
}

/// Compiles (or fetches from the cache) the filter for `pattern`.
pub fn name_filter(pattern: Option<&str>) -> Result<NameFilter, Fault> {
    use std::sync::{Mutex, OnceLock};
    static CACHE: OnceLock<Mutex<std::collections::HashMap<String, regex::Regex>>> =
        OnceLock::new();
    let Some(pattern) = pattern else {
        return Ok(NameFilter(None));
    };
    let cache = CACHE.get_or_init(Default::default);
    if let Some(re) = cache
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(pattern)
    {
        return Ok(NameFilter(Some(re.clone())));
    }
    let re = regex::Regex::new(pattern).map_err(|e| Fault::InvalidInput {
        detail: format!("filter.match_pattern: {e}"),
    })?;
    let mut cache = cache
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if cache.len() >= 256 {
        cache.clear();
    }
    cache.insert(pattern.to_owned(), re.clone());
    Ok(NameFilter(Some(re)))
}

async fn files(
    state: AppState,
    Path(vm): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let action = action_of(&uri);
    let act = action.get().unwrap_or_default();
    if !matches!(act, "createTemporary" | "list" | "move" | "update") {
        return Err(unknown_action(&uri));
    }
    let caller = authenticate(&state, &headers)?;
    let vc = state.vcenter();
    match act {
        "createTemporary" => {
            let b: CreateTemporary = body.parse()?;
            let creds = b.credentials.validate()?;
            let path = vc.create_temporary(
                &caller,
                &vm,
                &creds,
                &b.prefix,
                &b.suffix,
                b.parent_path.as_deref(),
                false,
                state.ids(),
                state.now(),
            )?;
            Ok(ok_json(&json!(path)))
        }
        "list" => {
            let b: ListFiles = body.parse()?;
            let creds = b.credentials.validate()?;
            let (index, size) = dto::paging(b.iteration.as_ref())?;
            let re = name_filter(b.filter.as_ref().and_then(|f| f.match_pattern.as_deref()))?;
            let page = vc.list_files(&caller, &vm, &creds, &b.path, index, size, &|n| {
                re.matches(n)
            })?;
            Ok(ok_json(&dto::list_result(&page)))
        }
        "move" => {
            let b: MoveFile = body.parse()?;
            let creds = b.credentials.validate()?;
            vc.move_file(
                &caller,
                &vm,
                &creds,
                &b.path,
                &b.new_path,
                b.overwrite.unwrap_or(false),
            )?;
            Ok(no_content())
        }
        _ => {
            let b: UpdateFile = body.parse()?;
            let creds = b.credentials.validate()?;
            let attrs = b.file_attributes.to_model("file_attributes")?;
            vc.update_file(&caller, &vm, &creds, &b.path, &attrs)?;
            Ok(no_content())
        }
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
    state: AppState,
    Path((vm, _)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let action = action_of(&uri);
    let act = action.get().unwrap_or_default();
    if !matches!(act, "get" | "delete") {
        return Err(unknown_action(&uri));
    }
    let caller = authenticate(&state, &headers)?;
    let b: CredentialsOnly = body.parse()?;
    let creds = b.credentials.validate()?;
    let path = tail_path(&uri)?;
    let vc = state.vcenter();
    if act == "get" {
        let info = vc.stat(&caller, &vm, &creds, &path)?;
        Ok(ok_json(&dto::file_info(&info)))
    } else {
        vc.delete_file(&caller, &vm, &creds, &path)?;
        Ok(no_content())
    }
}

async fn directories(
    state: AppState,
    Path(vm): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let action = action_of(&uri);
    let act = action.get().unwrap_or_default();
    if !matches!(act, "create" | "delete" | "move" | "createTemporary") {
        return Err(unknown_action(&uri));
    }
    let caller = authenticate(&state, &headers)?;
    let vc = state.vcenter();
    match act {
        "create" => {
            let b: CreateDir = body.parse()?;
            let creds = b.credentials.validate()?;
            vc.create_dir(
                &caller,
                &vm,
                &creds,
                &b.path,
                b.create_parents.unwrap_or(false),
                state.now(),
            )?;
            Ok(no_content())
        }
        "delete" => {
            let b: DeleteDir = body.parse()?;
            let creds = b.credentials.validate()?;
            vc.delete_dir(&caller, &vm, &creds, &b.path, b.recursive.unwrap_or(false))?;
            Ok(no_content())
        }
        "move" => {
            let b: MoveDir = body.parse()?;
            let creds = b.credentials.validate()?;
            vc.move_dir(&caller, &vm, &creds, &b.path, &b.new_path)?;
            Ok(no_content())
        }
        _ => {
            let b: CreateTemporary = body.parse()?;
            let creds = b.credentials.validate()?;
            let path = vc.create_temporary(
                &caller,
                &vm,
                &creds,
                &b.prefix,
                &b.suffix,
                b.parent_path.as_deref(),
                true,
                state.ids(),
                state.now(),
            )?;
            Ok(ok_json(&json!(path)))
        }
    }
}
