//! Owns how each operation travels on the two vAPI wires, REST `/api` and JSON-RPC: its JSON-RPC
//! service and operation ids, its REST success status, how its input is read from the path
//! variables and the JSON body (or input members), and how its output is written as JSON.

use axum::http::StatusCode;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Serialize};

use super::dto::{
    self, CreateDir, CreateTemporary, CreateTransfer, CredentialsOnly, DeleteDir, ListFiles,
    MoveDir, MoveFile, PreviewGet, PreviewPut, UpdateFile, VmFilterSpec,
};
use super::guest_exec::{self as gx, CreateProcess, ListEnvironment};
use crate::model::transfer::UploadSpec;
use crate::model::vm::VmView;
use crate::model::{Fault, TransferRequest};
use crate::ops::files::{NameFilter, PathSpec, TemporarySpec};
use crate::ops::processes::PidSpec;
use crate::ops::session::SessionInfo;
use crate::ops::transfers::TransferSpec;
use crate::ops::{
    Operation, directories, environment, files, guest_power, processes, session, transfers, vm,
};

/// What a vAPI request carries besides its body: the path variables (REST: from the URL;
/// JSON-RPC: members of the operation input) and the transport's user name and password
/// (REST: basic auth; JSON-RPC: the `user_pass` security context).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vars {
    /// `{vm}`.
    pub vm: Option<String>,
    /// `{path}` (`Files.get` and `Files.delete`).
    pub path: Option<String>,
    /// User name and password.
    pub login: Option<(String, String)>,
    /// `{pid}` (`Processes.get` and `Processes.delete`), as text.
    pub pid: Option<String>,
    /// `{name}` (`Environment.get`).
    pub name: Option<String>,
}

impl Vars {
    fn required(v: Option<String>, field: &str) -> Result<String, Fault> {
        v.ok_or_else(|| Fault::MissingField {
            field: field.into(),
            structure: "operation-input",
        })
    }

    /// The VM id.
    pub fn vm(&self) -> Result<String, Fault> {
        Self::required(self.vm.clone(), "vm")
    }

    /// The guest path.
    pub fn path(&self) -> Result<String, Fault> {
        Self::required(self.path.clone(), "path")
    }

    /// The process id (a `long`).
    pub fn pid(&self) -> Result<i64, Fault> {
        let text = Self::required(self.pid.clone(), "pid")?;
        text.parse().map_err(|_| Fault::InvalidInput {
            detail: format!("pid: '{text}' is not a long integer"),
        })
    }

    /// The environment variable's name.
    pub fn name(&self) -> Result<String, Fault> {
        Self::required(self.name.clone(), "name")
    }
}

/// An operation as the vAPI wires carry it.
pub trait Binding: Operation {
    /// The JSON-RPC `serviceId` and `operationId`, when the Python SDK can call it.
    const JSONRPC: Option<(&'static str, &'static str)>;
    /// The REST success status (200, 201, or 204 for void operations).
    const REST_STATUS: StatusCode;
    /// The output's vAPI type, for the JSON-RPC encoding (e.g. `com.vmware...files.info`).
    const OUTPUT: &'static str;
    /// The JSON body (REST) or the operation input (JSON-RPC), whose members beside the path
    /// variables it reads.
    type Body: DeserializeOwned;

    /// Builds the operation from the path variables and the body.
    fn input(vars: Vars, body: Self::Body) -> Result<Self, Fault>;

    /// The output as JSON text, in the `/api` shape.
    fn json(out: &Self::Output) -> Vec<u8>;
}

fn to_json<T: Serialize + ?Sized>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_default()
}

/// The JSON of a void operation's output (JSON-RPC `output: null`).
const VOID: &[u8] = b"null";
/// vAPI's name for no output.
const VOID_TYPE: &str = "void";

/// A binding for a void operation: REST answers 204, JSON-RPC `output: null`; only the ids,
/// the body type and how the input is read differ.
macro_rules! void_binding {
    ($ty:ty: $ids:expr, $body:ty, |$vars:ident, $b:ident| $input:block) => {
        impl Binding for $ty {
            const JSONRPC: Option<(&'static str, &'static str)> = Some($ids);
            const REST_STATUS: StatusCode = StatusCode::NO_CONTENT;
            const OUTPUT: &'static str = VOID_TYPE;
            type Body = $body;

            fn input($vars: Vars, $b: $body) -> Result<Self, Fault> $input

            fn json(_: &()) -> Vec<u8> {
                VOID.to_vec()
            }
        }
    };
}

impl Binding for session::Login {
    const JSONRPC: Option<(&'static str, &'static str)> =
        Some(("com.vmware.cis.session", "create"));
    const REST_STATUS: StatusCode = StatusCode::CREATED;
    const OUTPUT: &'static str = "secret";
    type Body = IgnoredAny;

    fn input(vars: Vars, _: IgnoredAny) -> Result<Self, Fault> {
        Ok(Self {
            credentials: vars.login,
        })
    }

    fn json(out: &String) -> Vec<u8> {
        to_json(out)
    }
}

/// `Session.Info` on the wire.
#[derive(Debug, Serialize)]
struct SessionInfoDto<'a> {
    user: &'a str,
    created_time: String,
    last_accessed_time: String,
}

impl Binding for session::Get {
    const JSONRPC: Option<(&'static str, &'static str)> = Some(("com.vmware.cis.session", "get"));
    const REST_STATUS: StatusCode = StatusCode::OK;
    const OUTPUT: &'static str = "com.vmware.cis.session.info";
    type Body = IgnoredAny;

    fn input(_: Vars, _: IgnoredAny) -> Result<Self, Fault> {
        Ok(Self)
    }

    fn json(s: &SessionInfo) -> Vec<u8> {
        to_json(&SessionInfoDto {
            user: &s.user,
            created_time: dto::datetime(s.created),
            last_accessed_time: dto::datetime(s.last_accessed),
        })
    }
}

impl Binding for session::Logout {
    const JSONRPC: Option<(&'static str, &'static str)> =
        Some(("com.vmware.cis.session", "delete"));
    const REST_STATUS: StatusCode = StatusCode::NO_CONTENT;
    const OUTPUT: &'static str = VOID_TYPE;
    type Body = IgnoredAny;

    fn input(_: Vars, _: IgnoredAny) -> Result<Self, Fault> {
        Ok(Self)
    }

    fn json(_: &()) -> Vec<u8> {
        VOID.to_vec()
    }
}

/// The JSON-RPC input of `VM.list`.
#[derive(Debug, Default, Deserialize)]
pub struct VmListInput {
    /// The filter.
    #[serde(default)]
    pub filter: Option<VmFilterSpec>,
}

impl Binding for vm::List {
    const JSONRPC: Option<(&'static str, &'static str)> = Some(("com.vmware.vcenter.VM", "list"));
    const REST_STATUS: StatusCode = StatusCode::OK;
    const OUTPUT: &'static str = "list<com.vmware.vcenter.VM.summary>";
    type Body = VmListInput;

    fn input(_: Vars, body: VmListInput) -> Result<Self, Fault> {
        Ok(Self {
            filter: body.filter.unwrap_or_default().into_model(),
        })
    }

    fn json(vms: &Vec<crate::model::VmSummary>) -> Vec<u8> {
        to_json(&vms.iter().map(dto::vm_summary).collect::<Vec<_>>())
    }
}

/// Bindings of the reads of one VM, which differ only in ids and renderer.
macro_rules! read_bindings {
    ($($ty:ty => $service:literal, $output:literal, $render:path;)*) => {$(
        impl Binding for $ty {
            const JSONRPC: Option<(&'static str, &'static str)> = Some(($service, "get"));
            const REST_STATUS: StatusCode = StatusCode::OK;
            const OUTPUT: &'static str = $output;
            type Body = IgnoredAny;

            fn input(vars: Vars, _: IgnoredAny) -> Result<Self, Fault> {
                Ok(Self { vm: vars.vm()? })
            }

            fn json(v: &VmView) -> Vec<u8> {
                to_json(&$render(v))
            }
        }
    )*};
}

read_bindings! {
    vm::Get => "com.vmware.vcenter.VM", "com.vmware.vcenter.VM.info", dto::vm_info;
    vm::PowerGet => "com.vmware.vcenter.vm.power", "com.vmware.vcenter.vm.power.info", dto::power_info;
    vm::ToolsGet => "com.vmware.vcenter.vm.tools", "com.vmware.vcenter.vm.tools.info", dto::tools_info;
    vm::IdentityGet => "com.vmware.vcenter.vm.guest.identity", "com.vmware.vcenter.vm.guest.identity.info", dto::identity_info;
    vm::GuestPowerGet => "com.vmware.vcenter.vm.guest.power", "com.vmware.vcenter.vm.guest.power.info", dto::guest_power_info;
    vm::GuestOperationsGet => "com.vmware.vcenter.vm.guest.operations", "com.vmware.vcenter.vm.guest.operations.info", dto::guest_operations_info;
}

/// Bindings of the power changes (VM power and guest power): a void answer, the VM alone as
/// input, on JSON-RPC service `$service`.
macro_rules! power_bindings {
    ($service:literal: $($ty:ty => $operation:literal;)*) => {$(
        impl Binding for $ty {
            const JSONRPC: Option<(&'static str, &'static str)> = Some(($service, $operation));
            const REST_STATUS: StatusCode = StatusCode::NO_CONTENT;
            const OUTPUT: &'static str = VOID_TYPE;
            type Body = IgnoredAny;

            fn input(vars: Vars, _: IgnoredAny) -> Result<Self, Fault> {
                Ok(Self { vm: vars.vm()? })
            }

            fn json(_: &()) -> Vec<u8> {
                VOID.to_vec()
            }
        }
    )*};
}

power_bindings! {
    "com.vmware.vcenter.vm.power":
    vm::Start => "start";
    vm::Stop => "stop";
    vm::Suspend => "suspend";
    vm::Reset => "reset";
}

const FILES: &str = "com.vmware.vcenter.vm.guest.filesystem.files";
const DIRECTORIES: &str = "com.vmware.vcenter.vm.guest.filesystem.directories";
const TRANSFERS: &str = "com.vmware.vcenter.vm.guest.filesystem.transfers";

fn temporary(vars: Vars, b: CreateTemporary) -> Result<TemporarySpec, Fault> {
    Ok(TemporarySpec {
        vm: vars.vm()?,
        credentials: b.credentials.validate()?,
        prefix: b.prefix,
        suffix: b.suffix,
        parent_path: b.parent_path,
    })
}

impl Binding for files::CreateTemporary {
    const JSONRPC: Option<(&'static str, &'static str)> = Some((FILES, "create_temporary"));
    const REST_STATUS: StatusCode = StatusCode::OK;
    const OUTPUT: &'static str = "string";
    type Body = CreateTemporary;

    fn input(vars: Vars, b: CreateTemporary) -> Result<Self, Fault> {
        temporary(vars, b).map(Self)
    }

    fn json(path: &String) -> Vec<u8> {
        to_json(path)
    }
}

impl Binding for directories::CreateTemporary {
    const JSONRPC: Option<(&'static str, &'static str)> = Some((DIRECTORIES, "create_temporary"));
    const REST_STATUS: StatusCode = StatusCode::OK;
    const OUTPUT: &'static str = "string";
    type Body = CreateTemporary;

    fn input(vars: Vars, b: CreateTemporary) -> Result<Self, Fault> {
        temporary(vars, b).map(Self)
    }

    fn json(path: &String) -> Vec<u8> {
        to_json(path)
    }
}

impl Binding for files::List {
    const JSONRPC: Option<(&'static str, &'static str)> = Some((FILES, "list"));
    const REST_STATUS: StatusCode = StatusCode::OK;
    const OUTPUT: &'static str = "com.vmware.vcenter.vm.guest.filesystem.files.list_result";
    type Body = ListFiles;

    fn input(vars: Vars, b: ListFiles) -> Result<Self, Fault> {
        let credentials = b.credentials.validate()?;
        let (index, size) = dto::paging(b.iteration.as_ref())?;
        Ok(Self {
            vm: vars.vm()?,
            credentials,
            path: b.path,
            index,
            size,
            filter: NameFilter::new(b.filter.as_ref().and_then(|f| f.match_pattern.as_deref()))?,
            detailed: false,
        })
    }

    fn json(page: &crate::model::guest_fs::ListPage) -> Vec<u8> {
        dto::list_result_json(page)
    }
}

fn path_spec(vars: Vars, b: CredentialsOnly) -> Result<PathSpec, Fault> {
    Ok(PathSpec {
        vm: vars.vm()?,
        path: vars.path()?,
        credentials: b.credentials.validate()?,
    })
}

impl Binding for files::Get {
    const JSONRPC: Option<(&'static str, &'static str)> = Some((FILES, "get"));
    const REST_STATUS: StatusCode = StatusCode::OK;
    const OUTPUT: &'static str = "com.vmware.vcenter.vm.guest.filesystem.files.info";
    type Body = CredentialsOnly;

    fn input(vars: Vars, b: CredentialsOnly) -> Result<Self, Fault> {
        path_spec(vars, b).map(Self)
    }

    fn json(info: &crate::model::guest_fs::FileInfo) -> Vec<u8> {
        to_json(&dto::file_info(info))
    }
}

void_binding! {
    files::Delete: (FILES, "delete"), CredentialsOnly, |vars, b| {
        path_spec(vars, b).map(Self)
    }
}

void_binding! {
    files::Move: (FILES, "move"), MoveFile, |vars, b| {
        Ok(Self {
            vm: vars.vm()?,
            credentials: b.credentials.validate()?,
            path: b.path,
            new_path: b.new_path,
            overwrite: b.overwrite.unwrap_or(false),
        })
    }
}

void_binding! {
    files::Update: (FILES, "update"), UpdateFile, |vars, b| {
        Ok(Self {
            vm: vars.vm()?,
            credentials: b.credentials.validate()?,
            attributes: b.file_attributes.to_model("file_attributes")?,
            path: b.path,
        })
    }
}

void_binding! {
    directories::Create: (DIRECTORIES, "create"), CreateDir, |vars, b| {
        Ok(Self {
            vm: vars.vm()?,
            credentials: b.credentials.validate()?,
            path: b.path,
            create_parents: b.create_parents.unwrap_or(false),
        })
    }
}

void_binding! {
    directories::Delete: (DIRECTORIES, "delete"), DeleteDir, |vars, b| {
        Ok(Self {
            vm: vars.vm()?,
            credentials: b.credentials.validate()?,
            path: b.path,
            recursive: b.recursive.unwrap_or(false),
        })
    }
}

void_binding! {
    directories::Move: (DIRECTORIES, "move"), MoveDir, |vars, b| {
        Ok(Self {
            vm: vars.vm()?,
            credentials: b.credentials.validate()?,
            path: b.path,
            new_path: b.new_path,
        })
    }
}

impl Binding for transfers::Create {
    const JSONRPC: Option<(&'static str, &'static str)> = Some((TRANSFERS, "create"));
    const REST_STATUS: StatusCode = StatusCode::CREATED;
    const OUTPUT: &'static str = "string";
    type Body = CreateTransfer;

    fn input(vars: Vars, b: CreateTransfer) -> Result<Self, Fault> {
        let upload = b
            .spec
            .attributes
            .as_ref()
            .map(|a| a.to_upload())
            .transpose()?;
        Ok(Self(TransferSpec {
            vm: vars.vm()?,
            credentials: b.credentials.validate()?,
            request: TransferRequest {
                path: b.spec.path,
                upload,
            },
        }))
    }

    fn json(t: &transfers::TransferUrl) -> Vec<u8> {
        to_json(&t.url)
    }
}

impl Binding for transfers::PreviewGet {
    const JSONRPC: Option<(&'static str, &'static str)> = None;
    const REST_STATUS: StatusCode = StatusCode::OK;
    const OUTPUT: &'static str = "string";
    type Body = PreviewGet;

    fn input(vars: Vars, b: PreviewGet) -> Result<Self, Fault> {
        Ok(Self(TransferSpec {
            vm: vars.vm()?,
            credentials: b.credentials.validate()?,
            request: TransferRequest {
                path: b.path,
                upload: None,
            },
        }))
    }

    fn json(t: &transfers::TransferUrl) -> Vec<u8> {
        to_json(&t.url)
    }
}

impl Binding for transfers::PreviewPut {
    const JSONRPC: Option<(&'static str, &'static str)> = None;
    const REST_STATUS: StatusCode = StatusCode::OK;
    const OUTPUT: &'static str = "string";
    type Body = PreviewPut;

    fn input(vars: Vars, b: PreviewPut) -> Result<Self, Fault> {
        let size = u64::try_from(b.file_size).map_err(|_| Fault::InvalidInput {
            detail: format!("file_size: {} is negative", b.file_size),
        })?;
        let attrs = b
            .file_attributes
            .unwrap_or_default()
            .to_model("file_attributes")?;
        Ok(Self(TransferSpec {
            vm: vars.vm()?,
            credentials: b.credentials.validate()?,
            request: TransferRequest {
                path: b.path,
                upload: Some(UploadSpec {
                    size,
                    overwrite: b.overwrite.unwrap_or(false),
                    attrs,
                }),
            },
        }))
    }

    fn json(t: &transfers::TransferUrl) -> Vec<u8> {
        to_json(&t.url)
    }
}

const PROCESSES: &str = "com.vmware.vcenter.vm.guest.processes";
const ENVIRONMENT: &str = "com.vmware.vcenter.vm.guest.environment";

impl Binding for processes::Create {
    const JSONRPC: Option<(&'static str, &'static str)> = Some((PROCESSES, "create"));
    const REST_STATUS: StatusCode = StatusCode::CREATED;
    const OUTPUT: &'static str = "long";
    type Body = CreateProcess;

    fn input(vars: Vars, b: CreateProcess) -> Result<Self, Fault> {
        Ok(Self {
            vm: vars.vm()?,
            credentials: b.credentials.validate()?,
            spec: b.spec.into_model(),
        })
    }

    fn json(pid: &u64) -> Vec<u8> {
        to_json(pid)
    }
}

impl Binding for processes::List {
    const JSONRPC: Option<(&'static str, &'static str)> = Some((PROCESSES, "list"));
    const REST_STATUS: StatusCode = StatusCode::OK;
    const OUTPUT: &'static str = "list<com.vmware.vcenter.vm.guest.processes.summary>";
    type Body = CredentialsOnly;

    fn input(vars: Vars, b: CredentialsOnly) -> Result<Self, Fault> {
        Ok(Self {
            vm: vars.vm()?,
            credentials: b.credentials.validate()?,
            pids: Vec::new(),
        })
    }

    fn json(list: &Vec<crate::model::process::ProcessInfo>) -> Vec<u8> {
        to_json(&list.iter().map(gx::process_summary).collect::<Vec<_>>())
    }
}

fn pid_spec(vars: Vars, b: CredentialsOnly) -> Result<PidSpec, Fault> {
    Ok(PidSpec {
        vm: vars.vm()?,
        pid: vars.pid()?,
        credentials: b.credentials.validate()?,
    })
}

impl Binding for processes::Get {
    const JSONRPC: Option<(&'static str, &'static str)> = Some((PROCESSES, "get"));
    const REST_STATUS: StatusCode = StatusCode::OK;
    const OUTPUT: &'static str = "com.vmware.vcenter.vm.guest.processes.info";
    type Body = CredentialsOnly;

    fn input(vars: Vars, b: CredentialsOnly) -> Result<Self, Fault> {
        pid_spec(vars, b).map(Self)
    }

    fn json(info: &crate::model::process::ProcessInfo) -> Vec<u8> {
        to_json(&gx::process_info(info))
    }
}

void_binding! {
    processes::Delete: (PROCESSES, "delete"), CredentialsOnly, |vars, b| {
        pid_spec(vars, b).map(Self)
    }
}

impl Binding for environment::List {
    const JSONRPC: Option<(&'static str, &'static str)> = Some((ENVIRONMENT, "list"));
    const REST_STATUS: StatusCode = StatusCode::OK;
    const OUTPUT: &'static str = "map<string,string>";
    type Body = ListEnvironment;

    fn input(vars: Vars, b: ListEnvironment) -> Result<Self, Fault> {
        Ok(Self {
            vm: vars.vm()?,
            credentials: b.credentials.validate()?,
            names: b.names.unwrap_or_default(),
        })
    }

    fn json(vars: &Vec<(String, String)>) -> Vec<u8> {
        to_json(&gx::environment(vars))
    }
}

impl Binding for environment::Get {
    const JSONRPC: Option<(&'static str, &'static str)> = Some((ENVIRONMENT, "get"));
    const REST_STATUS: StatusCode = StatusCode::OK;
    const OUTPUT: &'static str = "string";
    type Body = CredentialsOnly;

    fn input(vars: Vars, b: CredentialsOnly) -> Result<Self, Fault> {
        Ok(Self {
            vm: vars.vm()?,
            name: vars.name()?,
            credentials: b.credentials.validate()?,
        })
    }

    fn json(value: &String) -> Vec<u8> {
        to_json(value)
    }
}

power_bindings! {
    "com.vmware.vcenter.vm.guest.power":
    guest_power::Shutdown => "shutdown";
    guest_power::Reboot => "reboot";
    guest_power::Standby => "standby";
}
