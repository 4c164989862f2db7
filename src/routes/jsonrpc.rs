//! Owns `POST /api`, the vAPI JSON-RPC endpoint of the official Python SDK: envelope checks, the
//! security context, and dispatch of each service operation to its operation.

use axum::Router;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use serde_json::{Value, json};

use super::call::{RestCall, stop_response};
use crate::model::Fault;
use crate::ops::{
    Call, Stop, directories, environment, files, guest_power, processes, session, transfers, vm,
};
use crate::vapi::bind::{Binding, Vars};
use crate::vapi::error::{VapiError, json_response};
use crate::vapi::extract::{JsonBody, parse_json};
use crate::vapi::jsonrpc::{self, ty};

/// The JSON-RPC route.
pub fn routes() -> Router {
    Router::new().route("/api", post(invoke))
}

const USER_PASS: &str = "com.vmware.vapi.std.security.user_pass";
const SESSION_ID: &str = "com.vmware.vapi.std.security.session_id";

/// The name requests get in the journal until their operation is known (protocol errors).
const ENVELOPE: &str = "jsonrpc";

async fn invoke(rest: RestCall, body: JsonBody) -> Response {
    rest.name(ENVELOPE);
    let envelope: Value = match serde_json::from_slice(body.bytes()) {
        Ok(v) => v,
        Err(_) => return reply(jsonrpc::protocol_error(&Value::Null, -32700, "Parse error")),
    };
    let id = envelope.get("id").cloned().unwrap_or(Value::Null);
    if !envelope.is_object() || envelope.get("jsonrpc") != Some(&json!("2.0")) {
        return reply(jsonrpc::protocol_error(&id, -32600, "Invalid Request"));
    }
    if envelope.get("method") != Some(&json!("invoke")) {
        return reply(jsonrpc::protocol_error(&id, -32601, "Method not found"));
    }
    let params = envelope.get("params").cloned().unwrap_or(Value::Null);
    let (Some(service), Some(operation)) = (
        params.get("serviceId").and_then(Value::as_str),
        params.get("operationId").and_then(Value::as_str),
    ) else {
        return reply(jsonrpc::protocol_error(&id, -32602, "Invalid params"));
    };
    let Some(raw_input) = params.get("input").filter(|i| i.get("STRUCTURE").is_some()) else {
        return reply(jsonrpc::protocol_error(&id, -32602, "Invalid params"));
    };
    let args = jsonrpc::decode(raw_input);
    let security = params.pointer("/ctx/securityCtx").unwrap_or(&Value::Null);
    let scheme = security.get("schemeId").and_then(Value::as_str);
    let text = |k: &str| security.get(k).and_then(Value::as_str).map(str::to_owned);
    let session = (scheme == Some(SESSION_ID))
        .then(|| {
            text("sessionId").or_else(|| {
                security
                    .pointer("/sessionId/SECRET")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
        })
        .flatten();
    let login = (scheme == Some(USER_PASS))
        .then(|| Some((text("userName")?, text("password").unwrap_or_default())))
        .flatten();
    let call = rest.call_as(session);
    let vars = Vars {
        vm: args.get("vm").and_then(Value::as_str).map(str::to_owned),
        path: args.get("path").and_then(Value::as_str).map(str::to_owned),
        login,
        pid: args.get("pid").map(|p| match p {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }),
        name: args.get("name").and_then(Value::as_str).map(str::to_owned),
    };
    let outcome = dispatch(&call, service, operation, vars, &args).await;
    let answer = match outcome {
        Ok(output) => jsonrpc::success(&id, output),
        Err(Stop::Fault(fault)) => {
            rest.fault(&fault);
            let err = VapiError::from_fault(&fault);
            json!({"jsonrpc": "2.0", "id": id, "result": {"error": err.jsonrpc_error()}})
        }
        Err(stop) => return stop_response(stop),
    };
    reply(answer)
}

fn reply(v: Value) -> Response {
    json_response(StatusCode::OK, &v)
}

/// Runs `O` on the operation input and encodes its output as the vAPI runtime expects.
async fn run<O: Binding>(call: &Call<'_>, vars: Vars, args: &Value) -> Result<Value, Stop> {
    let input = parse_json::<O::Body>(args.to_string().as_bytes()).and_then(|b| O::input(vars, b));
    let out = call.invoke(input).await?;
    let plain: Value = serde_json::from_slice(&O::json(&out)).unwrap_or(Value::Null);
    Ok(jsonrpc::encode(&plain, &ty(O::OUTPUT)))
}

/// Runs the operation `service`.`operation` names, or answers `OPERATION_NOT_FOUND`.
async fn dispatch(
    call: &Call<'_>,
    service: &str,
    operation: &str,
    vars: Vars,
    args: &Value,
) -> Result<Value, Stop> {
    let key = Some((service, operation));
    macro_rules! table {
        ($($op:ty),* $(,)?) => {
            $(if <$op as Binding>::JSONRPC == key {
                return run::<$op>(call, vars, args).await;
            })*
        };
    }
    table![
        session::Login,
        session::Get,
        session::Logout,
        vm::List,
        vm::Get,
        vm::PowerGet,
        vm::ToolsGet,
        vm::IdentityGet,
        vm::GuestPowerGet,
        vm::GuestOperationsGet,
        vm::Start,
        vm::Stop,
        vm::Suspend,
        vm::Reset,
        transfers::Create,
        files::CreateTemporary,
        files::List,
        files::Get,
        files::Delete,
        files::Move,
        files::Update,
        directories::Create,
        directories::Delete,
        directories::Move,
        directories::CreateTemporary,
        processes::Create,
        processes::List,
        processes::Get,
        processes::Delete,
        guest_power::Shutdown,
        guest_power::Reboot,
        guest_power::Standby,
        environment::List,
        environment::Get,
    ];
    Err(Stop::Fault(Fault::OperationNotFound {
        operation: format!("{service}.{operation}"),
    }))
}
