//! Owns the VM endpoints: list, get, power, Tools, and guest identity, power and operations,
//! in their `/api` and legacy `/rest` forms.

use axum::Router;

use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::Value;

use super::{action_of, authenticate, no_content, ok_json, unknown_action};
use crate::model::{Fault, PowerOp, PowerState, VirtualMachine, VmFilter};
use crate::state::AppState;
use crate::vapi::dto;
use crate::vapi::error::ApiError;
use crate::vapi::extract::Path;

/// The `/api/vcenter/vm...` routes.
pub fn api_routes() -> Router {
    Router::new()
        .route("/api/vcenter/vm", get(list))
        .route("/api/vcenter/vm/{vm}", get(vm_info))
        .route(
            "/api/vcenter/vm/{vm}/power",
            get(power_info).post(power_action),
        )
        .route("/api/vcenter/vm/{vm}/tools", get(tools_info))
        .route("/api/vcenter/vm/{vm}/guest/identity", get(identity))
        .route("/api/vcenter/vm/{vm}/guest/power", get(guest_power))
        .route(
            "/api/vcenter/vm/{vm}/guest/operations",
            get(guest_operations),
        )
}

/// The legacy `/rest/vcenter/vm...` routes (no guest operations readiness there).
pub fn rest_routes() -> Router {
    Router::new()
        .route("/rest/vcenter/vm", get(list))
        .route("/rest/vcenter/vm/{vm}", get(vm_info))
        .route("/rest/vcenter/vm/{vm}/power", get(power_info))
        .route("/rest/vcenter/vm/{vm}/power/{op}", post(rest_power))
        .route("/rest/vcenter/vm/{vm}/tools", get(tools_info))
        .route("/rest/vcenter/vm/{vm}/guest/identity", get(identity))
        .route("/rest/vcenter/vm/{vm}/guest/power", get(guest_power))
}

/// Reads the list filter from the query: `names`, `vms`, `power_states`, repeated or
/// comma-separated, with or without the legacy `filter.` prefix.
fn filter_of(uri: &Uri) -> Result<VmFilter, Fault> {
    let mut f = VmFilter::default();
    for (k, v) in crate::vapi::extract::query_pairs(uri) {
        let k = k.strip_prefix("filter.").unwrap_or(&k);
        let v = v.ok_or_else(|| Fault::InvalidInput {
            detail: format!("{k}: not UTF-8"),
        })?;
        for item in v.split(',').filter(|s| !s.is_empty()) {
            match k {
                "names" => f.names.push(item.to_owned()),
                "vms" => f.vms.push(item.to_owned()),
                "power_states" => f.power_states.push(PowerState::parse(item).ok_or_else(|| Fault::InvalidInput {
                    detail: format!("power_states: '{item}' is not one of POWERED_ON, POWERED_OFF, SUSPENDED"),
                })?),
                _ => {}
            }
        }
    }
    Ok(f)
}

async fn list(state: AppState, uri: Uri, headers: HeaderMap) -> Result<Response, ApiError> {
    let caller = authenticate(&state, &headers)?;
    let filter = filter_of(&uri)?;
    let vms = state.vcenter().list_vms(&caller, &filter)?;
    Ok(ok_json(&Value::Array(
        vms.iter().map(dto::vm_summary).collect(),
    )))
}

/// Answers with `render(vm)` for an authenticated caller with `System.Read`.
fn read(
    state: &AppState,
    headers: &HeaderMap,
    vm: &str,
    render: fn(&VirtualMachine) -> Value,
) -> Result<Response, ApiError> {
    let caller = authenticate(state, headers)?;
    let v = state.vcenter().read_vm(&caller, vm, render)?;
    Ok(ok_json(&v))
}

async fn vm_info(
    state: AppState,
    Path(vm): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    read(&state, &headers, &vm, dto::vm_info)
}

async fn power_info(
    state: AppState,
    Path(vm): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    read(&state, &headers, &vm, dto::power_info)
}

async fn tools_info(
    state: AppState,
    Path(vm): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    read(&state, &headers, &vm, dto::tools_info)
}

async fn identity(
    state: AppState,
    Path(vm): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let caller = authenticate(&state, &headers)?;
    let v = state.vcenter().read_vm(&caller, &vm, |v| {
        if v.tools.running {
            Ok(dto::identity_info(v))
        } else {
            Err(Fault::ToolsNotRunning { vm: v.id.clone() })
        }
    })??;
    Ok(ok_json(&v))
}

async fn guest_power(
    state: AppState,
    Path(vm): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    read(&state, &headers, &vm, dto::guest_power_info)
}

async fn guest_operations(
    state: AppState,
    Path(vm): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    read(&state, &headers, &vm, dto::guest_operations_info)
}

fn power_op(name: &str) -> Option<PowerOp> {
    match name {
        "start" => Some(PowerOp::Start),
        "stop" => Some(PowerOp::Stop),
        "suspend" => Some(PowerOp::Suspend),
        "reset" => Some(PowerOp::Reset),
        _ => None,
    }
}

async fn power_action(
    state: AppState,
    Path(vm): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let op = action_of(&uri)
        .get()
        .and_then(power_op)
        .ok_or_else(|| unknown_action(&uri))?;
    let caller = authenticate(&state, &headers)?;
    state.vcenter().power(&caller, &vm, op, state.now())?;
    Ok(no_content())
}

async fn rest_power(
    state: AppState,
    Path((vm, op)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let op = power_op(&op).ok_or_else(|| unknown_action(&uri))?;
    let caller = authenticate(&state, &headers)?;
    state.vcenter().power(&caller, &vm, op, state.now())?;
    Ok(no_content())
}
