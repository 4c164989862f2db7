//! Owns the admin endpoints for what runs in a guest: its processes (with their own output),
//! terminating one, the programs declared for it and the variables added to its environment.

use axum::Router;
use axum::response::Response;
use axum::routing::{delete, get};
use serde_json::{Value, json};

use super::{no_content, ok_json};
use crate::model::shell::Program;
use crate::state::AppState;
use crate::vapi::dto::datetime;
use crate::vapi::error::ApiError;
use crate::vapi::extract::{JsonBody, Path};

/// The routes, mounted with the other admin routes (behind the admin token).
pub fn routes() -> Router {
    Router::new()
        .route("/_mock/vms/{vm}/processes", get(processes))
        .route("/_mock/vms/{vm}/processes/{pid}", delete(kill))
        .route(
            "/_mock/vms/{vm}/programs",
            get(programs).put(replace_programs).post(add_programs),
        )
        .route(
            "/_mock/vms/{vm}/environment",
            get(environment).put(set_environment),
        )
}

/// `GET /_mock/vms/{vm}/processes`: every process at the server's now, system ones included.
async fn processes(state: AppState, Path(vm): Path<String>) -> Result<Response, ApiError> {
    let report = state.vcenter().process_report(&vm, state.now())?;
    let out: Vec<Value> = report
        .iter()
        .map(|r| {
            json!({
                "pid": r.info.pid,
                "name": r.info.name,
                "owner": r.info.owner,
                "command": r.info.command,
                "started": datetime(r.info.started),
                "finished": r.info.finished.map(datetime),
                "exit_code": r.info.exit_code,
                "system": r.system,
                "running": r.running,
                "wake": r.wake.map(datetime),
                "steps": r.steps,
                "stdout": String::from_utf8_lossy(&r.stdout),
                "stderr": String::from_utf8_lossy(&r.stderr),
            })
        })
        .collect();
    Ok(ok_json(&out))
}

/// `DELETE /_mock/vms/{vm}/processes/{pid}`: ends a started process, whoever owns it.
async fn kill(
    state: AppState,
    Path((vm, pid)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let pid: u64 = pid.parse().map_err(|_| {
        ApiError(crate::model::Fault::InvalidInput {
            detail: format!("pid: '{pid}' is not a process id"),
        })
    })?;
    state.vcenter().kill_process(&vm, pid, state.now())?;
    Ok(no_content())
}

async fn programs(state: AppState, Path(vm): Path<String>) -> Result<Response, ApiError> {
    let list = state
        .vcenter()
        .with_vm(&vm, |v| v.runtime.programs.clone())?;
    Ok(ok_json(&list))
}

/// One program object, or a list of them.
fn program_list(body: &JsonBody) -> Result<Vec<Program>, ApiError> {
    let v: Value = body.parse()?;
    let list = if v.is_array() {
        v
    } else {
        Value::Array(vec![v])
    };
    crate::vapi::extract::parse_json(list.to_string().as_bytes()).map_err(ApiError)
}

/// `PUT /_mock/vms/{vm}/programs`: replaces the declared programs.
async fn replace_programs(
    state: AppState,
    Path(vm): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let list = program_list(&body)?;
    state
        .vcenter()
        .declare_programs(&vm, list, true, state.now())?;
    Ok(no_content())
}

/// `POST /_mock/vms/{vm}/programs`: declares more programs, after the existing ones.
async fn add_programs(
    state: AppState,
    Path(vm): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let list = program_list(&body)?;
    state
        .vcenter()
        .declare_programs(&vm, list, false, state.now())?;
    Ok(no_content())
}

async fn environment(state: AppState, Path(vm): Path<String>) -> Result<Response, ApiError> {
    let vars = state
        .vcenter()
        .with_vm(&vm, |v| v.runtime.environment.clone())?;
    Ok(ok_json(&crate::vapi::guest_exec::environment(&vars)))
}

/// `PUT /_mock/vms/{vm}/environment`: `{"NAME": "value"}` replaces the variables every guest
/// user's environment gets on top of the family's defaults.
async fn set_environment(
    state: AppState,
    Path(vm): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let vars: std::collections::BTreeMap<String, String> = body.parse()?;
    state
        .vcenter()
        .set_environment(&vm, vars.into_iter().collect())?;
    Ok(no_content())
}
