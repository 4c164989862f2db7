//! Owns `POST /api`, the vAPI JSON-RPC endpoint of the official Python SDK: envelope checks,
//! the security context, and dispatch of each service operation to the same model calls and
//! renderers the REST routes use.

use axum::Router;

use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::post;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::transfers::transfer_url;
use crate::model::inventory::VcUser;
use crate::model::{Fault, PowerOp, TransferRequest};
use crate::state::AppState;
use crate::vapi::dto::{
    self, CreateDir, CreateTemporary, CreateTransfer, CredentialsAndPath, DeleteDir, ListFiles,
    MoveDir, MoveFile, UpdateFile, VmFilterSpec,
};
use crate::vapi::error::{VapiError, json_response};
use crate::vapi::extract::{JsonBody, parse_json};
use crate::vapi::jsonrpc::{self, Ty, ty};

/// The JSON-RPC route.
pub fn routes() -> Router {
    Router::new().route("/api", post(invoke))
}

const USER_PASS: &str = "com.vmware.vapi.std.security.user_pass";
const SESSION_ID: &str = "com.vmware.vapi.std.security.session_id";

/// What an operation returns: a plain JSON value and its vAPI type.
type Output = Result<(Value, Ty), Fault>;

fn input<T: DeserializeOwned>(v: &Value) -> Result<T, Fault> {
    parse_json(v.to_string().as_bytes())
}

fn vm_of(v: &Value) -> Result<String, Fault> {
    v.get("vm")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| Fault::MissingField {
            field: "vm".into(),
            structure: "operation-input",
        })
}

async fn invoke(state: AppState, headers: HeaderMap, uri: Uri, body: JsonBody) -> Response {
    let envelope: Value = match serde_json::from_slice(body.bytes()) {
        Ok(v) => v,
        Err(_) => {
            return reply(
                StatusCode::OK,
                jsonrpc::protocol_error(&Value::Null, -32700, "Parse error"),
            );
        }
    };
    let id = envelope.get("id").cloned().unwrap_or(Value::Null);
    if !envelope.is_object() || envelope.get("jsonrpc") != Some(&json!("2.0")) {
        return reply(
            StatusCode::OK,
            jsonrpc::protocol_error(&id, -32600, "Invalid Request"),
        );
    }
    if envelope.get("method") != Some(&json!("invoke")) {
        return reply(
            StatusCode::OK,
            jsonrpc::protocol_error(&id, -32601, "Method not found"),
        );
    }
    let params = envelope.get("params").cloned().unwrap_or(Value::Null);
    let (Some(service), Some(operation)) = (
        params.get("serviceId").and_then(Value::as_str),
        params.get("operationId").and_then(Value::as_str),
    ) else {
        return reply(
            StatusCode::OK,
            jsonrpc::protocol_error(&id, -32602, "Invalid params"),
        );
    };
    let Some(raw_input) = params.get("input").filter(|i| i.get("STRUCTURE").is_some()) else {
        return reply(
            StatusCode::OK,
            jsonrpc::protocol_error(&id, -32602, "Invalid params"),
        );
    };
    let args = jsonrpc::decode(raw_input);
    let security = params
        .pointer("/ctx/securityCtx")
        .cloned()
        .unwrap_or(Value::Null);
    let ctx = Call {
        state: &state,
        headers: &headers,
        uri: &uri,
        security: &security,
    };
    let answer = match dispatch(&ctx, service, operation, &args) {
        Ok((value, t)) => jsonrpc::success(&id, jsonrpc::encode(&value, &t)),
        Err(fault) => {
            let err = VapiError::from_fault(&fault);
            json!({"jsonrpc": "2.0", "id": id, "result": {"error": err.jsonrpc_error()}})
        }
    };
    let mut resp = reply(StatusCode::OK, answer);
    resp.extensions_mut()
        .insert(super::JournalNote(format!("{service}.{operation}")));
    resp
}

fn reply(status: StatusCode, v: Value) -> Response {
    json_response(status, &v)
}

/// What every operation can reach.
struct Call<'a> {
    state: &'a AppState,
    headers: &'a HeaderMap,
    uri: &'a Uri,
    security: &'a Value,
}

impl Call<'_> {
    fn session_id(&self) -> Result<String, Fault> {
        if self.security.get("schemeId").and_then(Value::as_str) != Some(SESSION_ID) {
            return Err(Fault::SessionRequired);
        }
        self.security
            .get("sessionId")
            .and_then(|s| {
                s.as_str()
                    .map(str::to_owned)
                    .or_else(|| s.get("SECRET").and_then(Value::as_str).map(str::to_owned))
            })
            .ok_or(Fault::SessionRequired)
    }

    fn caller(&self) -> Result<std::sync::Arc<VcUser>, Fault> {
        self.state
            .vcenter()
            .caller(&self.session_id()?, self.state.now())
    }
}

fn void() -> Output {
    Ok((Value::Null, Ty::Void))
}

fn dispatch(c: &Call<'_>, service: &str, operation: &str, args: &Value) -> Output {
    let state = c.state;
    let vc = state.vcenter();
    let now = state.now();
    match (service, operation) {
        ("com.vmware.cis.session", "create") => {
            if c.security.get("schemeId").and_then(Value::as_str) != Some(USER_PASS) {
                return Err(Fault::LoginFailed);
            }
            let field = |k: &str| {
                c.security
                    .get(k)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            let sid = vc.login(&field("userName"), &field("password"), state.ids(), now)?;
            Ok((json!(sid), Ty::Secret))
        }
        ("com.vmware.cis.session", "get") => {
            let s = vc.session(&c.session_id()?, now)?;
            let v = json!({"user": s.user, "created_time": dto::datetime(s.created), "last_accessed_time": dto::datetime(s.last_accessed)});
            Ok((v, ty("com.vmware.cis.session.info")))
        }
        ("com.vmware.cis.session", "delete") => {
            vc.logout(&c.session_id()?, now)?;
            void()
        }
        ("com.vmware.vcenter.VM", "list") => {
            let caller = c.caller()?;
            let filter: VmFilterSpec = match args.get("filter") {
                Some(f) => input(f)?,
                None => VmFilterSpec::default(),
            };
            let vms = vc.list_vms(&caller, &filter.to_model())?;
            let list = Value::Array(vms.iter().map(dto::vm_summary).collect());
            Ok((
                list,
                Ty::List(Box::new(ty("com.vmware.vcenter.VM.summary"))),
            ))
        }
        ("com.vmware.vcenter.VM", "get") => {
            let caller = c.caller()?;
            let v = vc.read_vm(&caller, &vm_of(args)?, dto::vm_info)?;
            Ok((v, ty("com.vmware.vcenter.VM.info")))
        }
        ("com.vmware.vcenter.vm.power", "get") => {
            read(c, args, dto::power_info, "com.vmware.vcenter.vm.power.info")
        }
        ("com.vmware.vcenter.vm.tools", "get") => {
            read(c, args, dto::tools_info, "com.vmware.vcenter.vm.tools.info")
        }
        ("com.vmware.vcenter.vm.guest.power", "get") => read(
            c,
            args,
            dto::guest_power_info,
            "com.vmware.vcenter.vm.guest.power.info",
        ),
        ("com.vmware.vcenter.vm.guest.operations", "get") => read(
            c,
            args,
            dto::guest_operations_info,
            "com.vmware.vcenter.vm.guest.operations.info",
        ),
        ("com.vmware.vcenter.vm.guest.identity", "get") => {
            let caller = c.caller()?;
            let v = vc.read_vm(&caller, &vm_of(args)?, |v| {
                if v.tools.running {
                    Ok(dto::identity_info(v))
                } else {
                    Err(Fault::ToolsNotRunning { vm: v.id.clone() })
                }
            })??;
            Ok((v, ty("com.vmware.vcenter.vm.guest.identity.info")))
        }
        ("com.vmware.vcenter.vm.power", op @ ("start" | "stop" | "suspend" | "reset")) => {
            let caller = c.caller()?;
            let op = match op {
                "start" => PowerOp::Start,
                "stop" => PowerOp::Stop,
                "suspend" => PowerOp::Suspend,
                _ => PowerOp::Reset,
            };
            vc.power(&caller, &vm_of(args)?, op, now)?;
            void()
        }
        ("com.vmware.vcenter.vm.guest.filesystem.transfers", "create") => {
            let caller = c.caller()?;
            let b: CreateTransfer = input(args)?;
            let upload = b
                .spec
                .attributes
                .as_ref()
                .map(|a| a.to_upload())
                .transpose()?;
            let creds = b.credentials.validate()?;
            let request = TransferRequest {
                path: b.spec.path,
                upload,
            };
            let (tid, token) =
                vc.create_transfer(&caller, &vm_of(args)?, &creds, &request, state.ids(), now)?;
            Ok((
                json!(transfer_url(
                    state.settings(),
                    c.headers,
                    c.uri,
                    tid,
                    &token
                )),
                Ty::Str,
            ))
        }
        ("com.vmware.vcenter.vm.guest.filesystem.files", "create_temporary")
        | ("com.vmware.vcenter.vm.guest.filesystem.directories", "create_temporary") => {
            let caller = c.caller()?;
            let b: CreateTemporary = input(args)?;
            let creds = b.credentials.validate()?;
            let directory = service.ends_with("directories");
            let p = vc.create_temporary(
                &caller,
                &vm_of(args)?,
                &creds,
                &b.prefix,
                &b.suffix,
                b.parent_path.as_deref(),
                directory,
                state.ids(),
                now,
            )?;
            Ok((json!(p), Ty::Str))
        }
        ("com.vmware.vcenter.vm.guest.filesystem.files", "list") => {
            let caller = c.caller()?;
            let b: ListFiles = input(args)?;
            let creds = b.credentials.validate()?;
            let (index, size) = dto::paging(b.iteration.as_ref())?;
            let re = super::guest_fs::name_filter(
                b.filter.as_ref().and_then(|f| f.match_pattern.as_deref()),
            )?;
            let page =
                vc.list_files(&caller, &vm_of(args)?, &creds, &b.path, index, size, &|n| {
                    re.matches(n)
                })?;
            Ok((
                dto::to_value(&dto::list_result(&page)),
                ty("com.vmware.vcenter.vm.guest.filesystem.files.list_result"),
            ))
        }
        ("com.vmware.vcenter.vm.guest.filesystem.files", "get") => {
            let caller = c.caller()?;
            let b: CredentialsAndPath = input(args)?;
            let info = vc.stat(&caller, &vm_of(args)?, &b.credentials.validate()?, &b.path)?;
            Ok((
                dto::file_info(&info),
                ty("com.vmware.vcenter.vm.guest.filesystem.files.info"),
            ))
        }
        ("com.vmware.vcenter.vm.guest.filesystem.files", "delete") => {
            let caller = c.caller()?;
            let b: CredentialsAndPath = input(args)?;
            vc.delete_file(&caller, &vm_of(args)?, &b.credentials.validate()?, &b.path)?;
            void()
        }
        ("com.vmware.vcenter.vm.guest.filesystem.files", "move") => {
            let caller = c.caller()?;
            let b: MoveFile = input(args)?;
            let creds = b.credentials.validate()?;
            vc.move_file(
                &caller,
                &vm_of(args)?,
                &creds,
                &b.path,
                &b.new_path,
                b.overwrite.unwrap_or(false),
            )?;
            void()
        }
        ("com.vmware.vcenter.vm.guest.filesystem.files", "update") => {
            let caller = c.caller()?;
            let b: UpdateFile = input(args)?;
            let creds = b.credentials.validate()?;
            let attrs = b.file_attributes.to_model("file_attributes")?;
            vc.update_file(&caller, &vm_of(args)?, &creds, &b.path, &attrs)?;
            void()
        }
        ("com.vmware.vcenter.vm.guest.filesystem.directories", "create") => {
            let caller = c.caller()?;
            let b: CreateDir = input(args)?;
            let creds = b.credentials.validate()?;
            vc.create_dir(
                &caller,
                &vm_of(args)?,
                &creds,
                &b.path,
                b.create_parents.unwrap_or(false),
                now,
            )?;
            void()
        }
        ("com.vmware.vcenter.vm.guest.filesystem.directories", "delete") => {
            let caller = c.caller()?;
            let b: DeleteDir = input(args)?;
            let creds = b.credentials.validate()?;
            vc.delete_dir(
                &caller,
                &vm_of(args)?,
                &creds,
                &b.path,
                b.recursive.unwrap_or(false),
            )?;
            void()
        }
        ("com.vmware.vcenter.vm.guest.filesystem.directories", "move") => {
            let caller = c.caller()?;
            let b: MoveDir = input(args)?;
            let creds = b.credentials.validate()?;
            vc.move_dir(&caller, &vm_of(args)?, &creds, &b.path, &b.new_path)?;
            void()
        }
        _ => Err(Fault::OperationNotFound {
            operation: format!("{service}.{operation}"),
        }),
    }
}

/// A `get` that reads one VM for a caller with `System.Read`.
fn read(
    c: &Call<'_>,
    args: &Value,
    render: fn(&crate::model::VirtualMachine) -> Value,
    struct_id: &'static str,
) -> Output {
    let caller = c.caller()?;
    let v = c.state.vcenter().read_vm(&caller, &vm_of(args)?, render)?;
    Ok((v, ty(struct_id)))
}
