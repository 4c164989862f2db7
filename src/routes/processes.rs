//! Owns the guest processes and guest environment routes: `processes` and `environment` and
//! their actions (`/api` only; neither family has a legacy `/rest` form).

use axum::Router;
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use super::call::RestCall;
use super::unknown_action;
use crate::ops::{environment, processes};
use crate::vapi::extract::{JsonBody, Path};

/// The `processes` and `environment` routes.
pub fn routes() -> Router {
    Router::new()
        .route("/api/vcenter/vm/{vm}/guest/processes", post(processes))
        .route("/api/vcenter/vm/{vm}/guest/processes/{pid}", post(process))
        .route("/api/vcenter/vm/{vm}/guest/environment", post(environment))
        .route(
            "/api/vcenter/vm/{vm}/guest/environment/{name}",
            post(variable),
        )
}

async fn processes(rest: RestCall, Path(vm): Path<String>, body: JsonBody) -> Response {
    let vars = rest.vars(Some(vm), None);
    match rest.action().get() {
        Some("create") => rest.run::<processes::Create>(vars, &body).await,
        Some("list") => rest.run::<processes::List>(vars, &body).await,
        _ => unknown_action(rest.uri()).into_response(),
    }
}

async fn process(
    rest: RestCall,
    Path((vm, pid)): Path<(String, String)>,
    body: JsonBody,
) -> Response {
    let mut vars = rest.vars(Some(vm), None);
    vars.pid = Some(pid);
    match rest.action().get() {
        Some("get") => rest.run::<processes::Get>(vars, &body).await,
        Some("delete") => rest.run::<processes::Delete>(vars, &body).await,
        _ => unknown_action(rest.uri()).into_response(),
    }
}

async fn environment(rest: RestCall, Path(vm): Path<String>, body: JsonBody) -> Response {
    let vars = rest.vars(Some(vm), None);
    match rest.action().get() {
        Some("list") => rest.run::<environment::List>(vars, &body).await,
        _ => unknown_action(rest.uri()).into_response(),
    }
}

async fn variable(
    rest: RestCall,
    Path((vm, name)): Path<(String, String)>,
    body: JsonBody,
) -> Response {
    let mut vars = rest.vars(Some(vm), None);
    vars.name = Some(name);
    match rest.action().get() {
        Some("get") => rest.run::<environment::Get>(vars, &body).await,
        _ => unknown_action(rest.uri()).into_response(),
    }
}
