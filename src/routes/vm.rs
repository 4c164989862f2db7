//! Owns the VM routes: list, get, power, Tools, and guest identity, power and operations, in
//! their `/api` and legacy `/rest` forms.

use axum::Router;
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::call::RestCall;
use super::unknown_action;
use crate::model::{Fault, PowerState, VmFilter};
use crate::ops::{guest_power, vm};
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
        .route(
            "/api/vcenter/vm/{vm}/guest/power",
            get(guest_power).post(guest_power_action),
        )
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
        .route(
            "/rest/vcenter/vm/{vm}/guest/power",
            get(guest_power).post(guest_power_action),
        )
}

/// Reads the list filter from the query: `names`, `vms`, `power_states`, repeated or
/// comma-separated, with or without the legacy `filter.` prefix.
fn filter_of(uri: &Uri) -> Result<VmFilter, Fault> {
    let mut f = VmFilter::default();
    for (k, v) in crate::vapi::extract::query_pairs(uri) {
        let k = k.strip_prefix("filter.").unwrap_or(k);
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

async fn list(rest: RestCall) -> Response {
    let input = filter_of(rest.uri()).map(|filter| vm::List { filter });
    rest.answer(input).await
}

async fn vm_info(rest: RestCall, Path(vm): Path<String>) -> Response {
    rest.run_bodiless::<vm::Get>(rest.vars(Some(vm), None))
        .await
}

async fn power_info(rest: RestCall, Path(vm): Path<String>) -> Response {
    rest.run_bodiless::<vm::PowerGet>(rest.vars(Some(vm), None))
        .await
}

async fn tools_info(rest: RestCall, Path(vm): Path<String>) -> Response {
    rest.run_bodiless::<vm::ToolsGet>(rest.vars(Some(vm), None))
        .await
}

async fn identity(rest: RestCall, Path(vm): Path<String>) -> Response {
    rest.run_bodiless::<vm::IdentityGet>(rest.vars(Some(vm), None))
        .await
}

async fn guest_power(rest: RestCall, Path(vm): Path<String>) -> Response {
    rest.run_bodiless::<vm::GuestPowerGet>(rest.vars(Some(vm), None))
        .await
}

/// Runs the guest power request named by `action` (`shutdown`, `reboot`, `standby`).
async fn guest_power_action(rest: RestCall, Path(vm): Path<String>) -> Response {
    let vars = rest.vars(Some(vm), None);
    match rest.action().get() {
        Some("shutdown") => rest.run_bodiless::<guest_power::Shutdown>(vars).await,
        Some("reboot") => rest.run_bodiless::<guest_power::Reboot>(vars).await,
        Some("standby") => rest.run_bodiless::<guest_power::Standby>(vars).await,
        _ => unknown_action(rest.uri()).into_response(),
    }
}

async fn guest_operations(rest: RestCall, Path(vm): Path<String>) -> Response {
    rest.run_bodiless::<vm::GuestOperationsGet>(rest.vars(Some(vm), None))
        .await
}

/// Runs the power change named `op` (`start`, `stop`, `suspend`, `reset`).
async fn power(rest: &RestCall, vm: String, op: Option<&str>) -> Response {
    let vars = rest.vars(Some(vm), None);
    match op {
        Some("start") => rest.run_bodiless::<vm::Start>(vars).await,
        Some("stop") => rest.run_bodiless::<vm::Stop>(vars).await,
        Some("suspend") => rest.run_bodiless::<vm::Suspend>(vars).await,
        Some("reset") => rest.run_bodiless::<vm::Reset>(vars).await,
        _ => unknown_action(rest.uri()).into_response(),
    }
}

async fn power_action(rest: RestCall, Path(vm): Path<String>) -> Response {
    let action = rest.action();
    power(&rest, vm, action.get()).await
}

async fn rest_power(rest: RestCall, Path((vm, op)): Path<(String, String)>) -> Response {
    power(&rest, vm, Some(&op)).await
}
