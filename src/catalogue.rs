//! Owns the error catalogue: the one table from domain faults to vCenter's error types, HTTP
//! statuses, message ids, arguments and `data`. Every wire renders faults from it; nothing else
//! decides how a fault looks.

use std::fmt;

use axum::http::StatusCode;
use serde::Serialize;
use serde_json::{Value, json};

use crate::model::{Fault, FileFaultKind, FileReason, Refusal};

/// vCenter's standard error types (`com.vmware.vapi.std.errors.*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[expect(
    missing_docs,
    reason = "each variant is vCenter's error type of the same name"
)]
pub enum ErrorType {
    Error,
    AlreadyExists,
    AlreadyInDesiredState,
    Canceled,
    ConcurrentChange,
    FeatureInUse,
    InternalServerError,
    InvalidArgument,
    InvalidElementConfiguration,
    InvalidElementType,
    InvalidRequest,
    NotAllowedInCurrentState,
    NotFound,
    OperationNotFound,
    ResourceBusy,
    ResourceInUse,
    ResourceInaccessible,
    ServiceUnavailable,
    TimedOut,
    UnableToAllocateResource,
    Unauthenticated,
    Unauthorized,
    UnexpectedInput,
    Unsupported,
    UnverifiedPeer,
}

impl ErrorType {
    /// Every error type.
    pub const ALL: [ErrorType; 25] = [
        Self::Error,
        Self::AlreadyExists,
        Self::AlreadyInDesiredState,
        Self::Canceled,
        Self::ConcurrentChange,
        Self::FeatureInUse,
        Self::InternalServerError,
        Self::InvalidArgument,
        Self::InvalidElementConfiguration,
        Self::InvalidElementType,
        Self::InvalidRequest,
        Self::NotAllowedInCurrentState,
        Self::NotFound,
        Self::OperationNotFound,
        Self::ResourceBusy,
        Self::ResourceInUse,
        Self::ResourceInaccessible,
        Self::ServiceUnavailable,
        Self::TimedOut,
        Self::UnableToAllocateResource,
        Self::Unauthenticated,
        Self::Unauthorized,
        Self::UnexpectedInput,
        Self::Unsupported,
        Self::UnverifiedPeer,
    ];

    /// The wire name, e.g. `NOT_FOUND`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "ERROR",
            Self::AlreadyExists => "ALREADY_EXISTS",
            Self::AlreadyInDesiredState => "ALREADY_IN_DESIRED_STATE",
            Self::Canceled => "CANCELED",
            Self::ConcurrentChange => "CONCURRENT_CHANGE",
            Self::FeatureInUse => "FEATURE_IN_USE",
            Self::InternalServerError => "INTERNAL_SERVER_ERROR",
            Self::InvalidArgument => "INVALID_ARGUMENT",
            Self::InvalidElementConfiguration => "INVALID_ELEMENT_CONFIGURATION",
            Self::InvalidElementType => "INVALID_ELEMENT_TYPE",
            Self::InvalidRequest => "INVALID_REQUEST",
            Self::NotAllowedInCurrentState => "NOT_ALLOWED_IN_CURRENT_STATE",
            Self::NotFound => "NOT_FOUND",
            Self::OperationNotFound => "OPERATION_NOT_FOUND",
            Self::ResourceBusy => "RESOURCE_BUSY",
            Self::ResourceInUse => "RESOURCE_IN_USE",
            Self::ResourceInaccessible => "RESOURCE_INACCESSIBLE",
            Self::ServiceUnavailable => "SERVICE_UNAVAILABLE",
            Self::TimedOut => "TIMED_OUT",
            Self::UnableToAllocateResource => "UNABLE_TO_ALLOCATE_RESOURCE",
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::Unauthorized => "UNAUTHORIZED",
            Self::UnexpectedInput => "UNEXPECTED_INPUT",
            Self::Unsupported => "UNSUPPORTED",
            Self::UnverifiedPeer => "UNVERIFIED_PEER",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The vAPI error id, e.g. `com.vmware.vapi.std.errors.not_found`.
    pub fn vapi_id(self) -> String {
        format!(
            "com.vmware.vapi.std.errors.{}",
            self.as_str().to_lowercase()
        )
    }

    /// HTTP status on `/api`, as the vCenter 7.0.3/8.0.2 exports map it.
    pub fn api_status(self) -> StatusCode {
        match self {
            Self::Error
            | Self::InternalServerError
            | Self::ResourceBusy
            | Self::ResourceInaccessible
            | Self::TimedOut
            | Self::UnableToAllocateResource => StatusCode::INTERNAL_SERVER_ERROR,
            Self::ConcurrentChange => StatusCode::CONFLICT,
            Self::NotFound | Self::OperationNotFound => StatusCode::NOT_FOUND,
            Self::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::Unauthorized => StatusCode::FORBIDDEN,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// HTTP status on the legacy `/rest` API, which differs from `/api` for several types.
    pub fn rest_status(self) -> StatusCode {
        match self {
            Self::InternalServerError => StatusCode::INTERNAL_SERVER_ERROR,
            Self::TimedOut => StatusCode::GATEWAY_TIMEOUT,
            Self::ConcurrentChange => StatusCode::CONFLICT,
            Self::NotFound | Self::OperationNotFound => StatusCode::NOT_FOUND,
            Self::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::Unauthorized => StatusCode::FORBIDDEN,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

/// One catalogue row: how a kind of fault looks on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    /// The fault's name in the model.
    pub fault: &'static str,
    /// vCenter error type.
    pub error_type: ErrorType,
    /// HTTP status on `/api` (or the fixed status this fault always uses).
    pub status: u16,
    /// Message id.
    pub message_id: &'static str,
    /// Message template; `{0}`, `{1}` are the arguments.
    pub default_message: &'static str,
    /// The documented condition this row implements.
    pub documented: &'static str,
    /// The vim25 fault type `/sdk` answers with (`ManagedObjectNotFound`, `InvalidPowerState`).
    pub soap_fault: &'static str,
}

/// A fault looked up in the catalogue: its row, the arguments of its message, its `data`, and the
/// HTTP status it is answered with on `/api`.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The catalogue row.
    pub row: Row,
    /// The message arguments, in order.
    pub args: Vec<String>,
    /// Operation-specific data (`FileErrorDetails` for file faults).
    pub data: Option<Value>,
    /// The status on `/api`: the error type's, or a fixed one for faults outside the vAPI
    /// mapping (405, 413, ...).
    pub status: StatusCode,
}

impl Entry {
    /// The message with its arguments substituted.
    pub fn message(&self) -> String {
        substitute(self.row.default_message, &self.args)
    }
}

/// Faults print as the English message a client would read.
impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&describe(self).message())
    }
}

impl std::error::Error for Fault {}

fn file_data(reason: FileReason, path: &str) -> Value {
    json!({"reason": reason.as_str(), "file_path": path})
}

/// The catalogue: one exhaustive match from fault to row, arguments and data.
pub fn describe(fault: &Fault) -> Entry {
    let (row, args, data, status) = describe_parts(fault);
    Entry {
        status: status.unwrap_or_else(|| row.error_type.api_status()),
        row,
        args,
        data,
    }
}

fn describe_parts(fault: &Fault) -> (Row, Vec<String>, Option<Value>, Option<StatusCode>) {
    use ErrorType as E;
    macro_rules! row {
        ($fault:literal, $et:expr, $id:literal, $msg:literal, $doc:literal, $soap:expr) => {
            Row {
                fault: $fault,
                error_type: $et,
                status: $et.api_status().as_u16(),
                message_id: $id,
                default_message: $msg,
                documented: $doc,
                soap_fault: $soap,
            }
        };
    }
    let none = None;
    match fault {
        Fault::SessionRequired => (
            row!(
                "SessionRequired",
                E::Unauthenticated,
                "com.vmware.vapi.endpoint.method.authentication.required",
                "Authentication required.",
                "401 if the session id is missing, invalid or expired",
                "NotAuthenticated"
            ),
            vec![],
            none,
            None,
        ),
        Fault::LoginFailed => (
            row!(
                "LoginFailed",
                E::Unauthenticated,
                "com.vmware.vapi.endpoint.method.authentication.required",
                "Authentication required.",
                "session create: 401 UNAUTHENTICATED if the user name or password is wrong (details deliberately withheld)",
                "InvalidLogin"
            ),
            vec![],
            none,
            None,
        ),
        Fault::PrivilegeMissing { privilege } => (
            row!(
                "PrivilegeMissing",
                E::Unauthorized,
                "vcmock.authz.privilege.missing",
                "The user does not have the privilege {0} required for this operation.",
                "403 if you do not have all of the privileges described for the operation",
                "NoPermission"
            ),
            vec![(*privilege).into()],
            none,
            None,
        ),
        Fault::InvalidInput { detail } => (
            row!(
                "InvalidInput",
                E::InvalidArgument,
                "vapi.invoke.input.invalid",
                "Unable to validate input to method: {0}",
                "400 INVALID_ARGUMENT for malformed JSON, wrong types and unknown enum values",
                "InvalidArgument"
            ),
            vec![detail.clone()],
            none,
            None,
        ),
        Fault::MissingField { field, structure } => (
            row!(
                "MissingField",
                E::InvalidArgument,
                "vapi.data.structure.field.missing",
                "Field '{0}' missing from structure '{1}'",
                "400 INVALID_ARGUMENT when a required field is absent",
                "InvalidArgument"
            ),
            vec![field.clone(), (*structure).into()],
            none,
            None,
        ),
        Fault::BodyTooLarge { limit } => (
            row!(
                "BodyTooLarge",
                E::InvalidRequest,
                "vcmock.request.body.too_large",
                "The request body exceeds the limit of {0} bytes.",
                "vcmock: bodies above the configured limit (413)",
                "InvalidRequest"
            ),
            vec![limit.to_string()],
            none,
            Some(StatusCode::PAYLOAD_TOO_LARGE),
        ),
        Fault::BodyStalled { seconds } => (
            row!(
                "BodyStalled",
                E::TimedOut,
                "vcmock.request.body.stalled",
                "The request body stopped arriving for {0} seconds.",
                "vcmock: a body (JSON or an upload) that stops moving for --body-timeout is given up (408); an upload's URL stays usable",
                "InvalidRequest"
            ),
            vec![seconds.to_string()],
            none,
            Some(StatusCode::REQUEST_TIMEOUT),
        ),
        Fault::UnknownRoute { path } => (
            row!(
                "UnknownRoute",
                E::NotFound,
                "com.vmware.vapi.rest.httpNotFound",
                "Not found: {0}",
                "404 for a URL no operation serves, answered before authentication",
                "InvalidRequest"
            ),
            vec![path.clone()],
            none,
            None,
        ),
        Fault::MethodNotAllowed { method } => (
            row!(
                "MethodNotAllowed",
                E::InvalidRequest,
                "vcmock.request.method.not_allowed",
                "Method {0} is not allowed on this resource.",
                "vcmock: a known URL with a method it does not serve (405)",
                "InvalidRequest"
            ),
            vec![method.clone()],
            none,
            Some(StatusCode::METHOD_NOT_ALLOWED),
        ),
        Fault::OperationNotFound { operation } => (
            row!(
                "OperationNotFound",
                E::OperationNotFound,
                "vapi.method.input.invalid.interface",
                "Cannot find operation '{0}'.",
                "JSON-RPC: OPERATION_NOT_FOUND for a service or operation that is not served",
                "MethodNotFound"
            ),
            vec![operation.clone()],
            none,
            None,
        ),
        Fault::Internal { detail } => (
            row!(
                "Internal",
                E::Error,
                "vcmock.internal",
                "Internal error: {0}",
                "500 ERROR for an unexpected failure; the server keeps serving",
                "SystemError"
            ),
            vec![detail.clone()],
            none,
            None,
        ),
        Fault::VmNotFound { vm } => (
            row!(
                "VmNotFound",
                E::NotFound,
                "vcmock.vm.not_found",
                "Virtual machine with identifier '{0}' was not found.",
                "404 if the virtual machine is not found",
                "ManagedObjectNotFound"
            ),
            vec![vm.clone()],
            none,
            None,
        ),
        Fault::TooManyVms { count } => (
            row!(
                "TooManyVms",
                E::UnableToAllocateResource,
                "vcmock.vm.list.too_many",
                "{0} virtual machines match the filter; at most 4000 are returned.",
                "VM list: 500 UNABLE_TO_ALLOCATE_RESOURCE if more than 4000 virtual machines match the filter",
                "SystemError"
            ),
            vec![count.to_string()],
            none,
            None,
        ),
        Fault::AlreadyInPowerState { vm, state } => (
            row!(
                "AlreadyInPowerState",
                E::AlreadyInDesiredState,
                "vcmock.vm.power.already",
                "Virtual machine '{0}' is already {1}.",
                "power start/stop/suspend: 400 ALREADY_IN_DESIRED_STATE if the virtual machine is already in that state; guest power shutdown: if it is not powered on; standby: if it is suspended",
                "InvalidPowerState"
            ),
            vec![vm.clone(), (*state).into()],
            none,
            None,
        ),
        Fault::PowerOpNotAllowed { vm, op, state } => (
            row!(
                "PowerOpNotAllowed",
                E::NotAllowedInCurrentState,
                "vcmock.vm.power.not_allowed",
                "Operation '{1}' is not allowed on virtual machine '{0}' in state {2}.",
                "power suspend/reset: 400 NOT_ALLOWED_IN_CURRENT_STATE if the virtual machine is powered off (or suspended, for reset); guest power shutdown: if it is suspended; reboot and standby: if it is not powered on",
                "InvalidPowerState"
            ),
            vec![vm.clone(), (*op).into(), (*state).into()],
            none,
            None,
        ),
        // The guest operations' SOAP faults. vim25 declares GuestOperationsFault, InvalidState,
        // TaskInProgress and FileFault for every guest method and names the concrete subtype of
        // only a few conditions (InvalidGuestLogin, GuestPermissionDenied,
        // GuestOperationsUnavailable, FileAlreadyExists for mkdir, NotAFile for DeleteFile,
        // NotADirectory and DirectoryNotEmpty for DeleteDirectory). Elsewhere the column follows
        // what pyVmomi's, govc's and Ansible's code catches and the REST condition the row
        // mirrors: FileNotFound for every missing path or parent (Ansible's delete and fetch,
        // govc's guest.bats), FileAlreadyExists for moves and uploads onto a file (Ansible's
        // copy), NotAFile for every directory or special file used as a file (govc's guest.mv
        // retries MoveDirectoryInGuest on it), InvalidPowerState with the VM's real state for
        // a VM that is not running, InvalidGuestLogin also for a missing interactive session,
        // TaskInProgress for a busy VM, OperationNotSupportedByGuest for the other family's
        // attributes (as vcsim), InvalidArgument for a bad path (as vcsim and govc's tests).
        Fault::VmNotRunning { vm } => (
            row!(
                "VmNotRunning",
                E::NotAllowedInCurrentState,
                "vcmock.guest.vm.not_running",
                "Virtual machine '{0}' is not running.",
                "400 NOT_ALLOWED_IN_CURRENT_STATE if the virtual machine is not running",
                "InvalidPowerState"
            ),
            vec![vm.clone()],
            none,
            None,
        ),
        Fault::ToolsNotRunning { vm } => (
            row!(
                "ToolsNotRunning",
                E::ServiceUnavailable,
                "vcmock.guest.tools.not_running",
                "VMware Tools is not running in virtual machine '{0}'.",
                "503 SERVICE_UNAVAILABLE if the VMware Tools is not running",
                "GuestOperationsUnavailable"
            ),
            vec![vm.clone()],
            none,
            None,
        ),
        Fault::ToolsTooOld { vm } => (
            row!(
                "ToolsTooOld",
                E::Unsupported,
                "vcmock.guest.tools.unsupported",
                "The operation is not supported by the VMware Tools in virtual machine '{0}'.",
                "400 UNSUPPORTED if the operation is not supported by the VMware Tools in the guest operating system",
                "GuestComponentsOutOfDate"
            ),
            vec![vm.clone()],
            none,
            None,
        ),
        Fault::GuestOpsDisabled { vm } => (
            row!(
                "GuestOpsDisabled",
                E::Unsupported,
                "vcmock.guest.tools.disabled",
                "The operation is disabled by the VMware Tools in virtual machine '{0}'.",
                "400 UNSUPPORTED if the operation is disabled by the VMware Tools in the guest operating system",
                "OperationDisabledByGuest"
            ),
            vec![vm.clone()],
            none,
            None,
        ),
        Fault::GuestAuthFailed => (
            row!(
                "GuestAuthFailed",
                E::Unauthenticated,
                "vcmock.guest.auth.invalid",
                "The guest credentials are not valid.",
                "401 UNAUTHENTICATED if the credentials object was not valid",
                "InvalidGuestLogin"
            ),
            vec![],
            none,
            None,
        ),
        Fault::NoInteractiveSession { user } => (
            row!(
                "NoInteractiveSession",
                E::Unauthenticated,
                "vcmock.guest.auth.no_interactive_session",
                "Guest user '{0}' has no interactive session in the guest.",
                "401 UNAUTHENTICATED: interactive_session needs the logged-on user to match the credentials",
                "InvalidGuestLogin"
            ),
            vec![user.clone()],
            none,
            None,
        ),
        Fault::GuestAccessDenied { path } => (
            row!(
                "GuestAccessDenied",
                E::Unauthorized,
                "vcmock.guest.access.denied",
                "Access to '{0}' is denied for the guest user.",
                "403 UNAUTHORIZED if the path cannot be accessed, or the guest authentication will not allow the operation",
                "GuestPermissionDenied"
            ),
            vec![path.clone()],
            none,
            None,
        ),
        Fault::GuestBusy { vm } => (
            row!(
                "GuestBusy",
                E::ResourceBusy,
                "vcmock.guest.busy",
                "Virtual machine '{0}' is busy.",
                "500 RESOURCE_BUSY if the virtual machine is busy",
                "TaskInProgress"
            ),
            vec![vm.clone()],
            none,
            None,
        ),
        Fault::ProcessNotFound { pid } => (
            row!(
                "ProcessNotFound",
                E::NotFound,
                "vcmock.guest.process.not_found",
                "Process {0} was not found in the guest.",
                "processes get/delete: 404 NOT_FOUND if the process pid is not found; data = ProcessErrorDetails",
                "GuestProcessNotFound"
            ),
            vec![pid.to_string()],
            Some(json!({"pid": pid})),
            None,
        ),
        Fault::ProcessTerminateDenied { pid } => (
            row!(
                "ProcessTerminateDenied",
                E::Unauthorized,
                "vcmock.guest.process.terminate_denied",
                "The guest user may not terminate process {0}.",
                "processes delete: 403 UNAUTHORIZED if credentials does not have permission to terminate the process",
                "GuestPermissionDenied"
            ),
            vec![pid.to_string()],
            none,
            None,
        ),
        Fault::StartMinimizedNotWindows => (
            row!(
                "StartMinimizedNotWindows",
                E::InvalidArgument,
                "vcmock.guest.process.start_minimized",
                "start_minimized applies only to Windows guests.",
                "processes create: 400 INVALID_ARGUMENT if start_minimized is set and the guest is not a Windows operating system",
                "InvalidArgument"
            ),
            vec![],
            none,
            None,
        ),
        Fault::ProgramFailedToStart { path, why } => (
            row!(
                "ProgramFailedToStart",
                E::UnableToAllocateResource,
                "vcmock.guest.process.not_started",
                "The program '{0}' failed to start: {1}.",
                "processes create: 500 UNABLE_TO_ALLOCATE_RESOURCE if the program fails to start",
                "GuestOperationsFault"
            ),
            vec![path.clone(), why.clone()],
            none,
            None,
        ),
        Fault::ProgramPathInvalid { path } => (
            row!(
                "ProgramPathInvalid",
                E::InvalidArgument,
                "vcmock.guest.process.path.invalid",
                "The program path '{0}' is not a valid absolute path.",
                "processes create: 400 INVALID_ARGUMENT if the program path is not a valid path; data = FileErrorDetails",
                "InvalidArgument"
            ),
            vec![path.clone()],
            Some(file_data(FileReason::NotAFile, path)),
            None,
        ),
        Fault::ProgramNotRunnable { path } => (
            row!(
                "ProgramNotRunnable",
                E::Unauthorized,
                "vcmock.guest.process.not_runnable",
                "The program '{0}' cannot be run by the guest user.",
                "processes create: 403 UNAUTHORIZED if the program cannot be run because the credentials will not allow it",
                "CannotAccessFile"
            ),
            vec![path.clone()],
            none,
            None,
        ),
        Fault::TooManyGuestLogons { user } => (
            row!(
                "TooManyGuestLogons",
                E::UnableToAllocateResource,
                "vcmock.guest.credentials.too_many",
                "The guest user '{0}' holds too many credential tickets; release one first.",
                "AcquireCredentialsInGuest: the guest user already holds 64 tickets",
                "TooManyGuestLogons"
            ),
            vec![user.clone()],
            none,
            None,
        ),
        Fault::EnvironmentVariableNotFound { name } => (
            row!(
                "EnvironmentVariableNotFound",
                E::NotFound,
                "vcmock.guest.environment.not_found",
                "The environment variable '{0}' is not set in the guest.",
                "environment get: 404 NOT_FOUND if the environment variable name is not set in the guest operating system",
                "InvalidArgument"
            ),
            vec![name.clone()],
            none,
            None,
        ),
        Fault::File { kind, reason, path } => {
            let data = Some(file_data(*reason, path));
            let r = match (kind, reason) {
                (FileFaultKind::NotFound, _) => row!(
                    "File/FILE_NOT_FOUND",
                    E::NotFound,
                    "vcmock.guest.file.not_found",
                    "File or directory '{0}' was not found.",
                    "404 NOT_FOUND if the path (or the parent of the new path) is not found; data = FileErrorDetails",
                    "FileNotFound"
                ),
                (_, FileReason::NotAFile) => row!(
                    "File/NOT_A_FILE",
                    E::InvalidArgument,
                    "vcmock.guest.file.not_a_file",
                    "'{0}' is not a file.",
                    "400 INVALID_ARGUMENT if the path is not a file; data = FileErrorDetails",
                    "NotAFile"
                ),
                (_, FileReason::NotADirectory) => row!(
                    "File/NOT_A_DIRECTORY",
                    E::InvalidArgument,
                    "vcmock.guest.file.not_a_directory",
                    "'{0}' is not a directory.",
                    "400 INVALID_ARGUMENT if the path (or parent_path) is not a directory; data = FileErrorDetails",
                    "NotADirectory"
                ),
                (_, FileReason::PathTooLong) => row!(
                    "File/PATH_TOO_LONG",
                    E::InvalidArgument,
                    "vcmock.guest.file.path_too_long",
                    "The path '{0}' is too long.",
                    "400 INVALID_ARGUMENT if the path is too long; data = FileErrorDetails",
                    "FileNameTooLong"
                ),
                (_, FileReason::FileTooLarge) => row!(
                    "File/FILE_TOO_LARGE",
                    E::InvalidArgument,
                    "vcmock.guest.file.too_large",
                    "The file '{0}' is too large.",
                    "400 INVALID_ARGUMENT if the file is too large (an upload declaring more than the guest filesystem's largest file, 16 TiB); data = FileErrorDetails",
                    "FileTooLarge"
                ),
                (_, FileReason::FileNotFound) => row!(
                    "File/FILE_NOT_FOUND(invalid)",
                    E::InvalidArgument,
                    "vcmock.guest.file.not_found",
                    "File or directory '{0}' was not found.",
                    "400 INVALID_ARGUMENT with FILE_NOT_FOUND details",
                    "FileNotFound"
                ),
                (_, FileReason::NoDiskSpace) => row!(
                    "File/NO_DISK_SPACE",
                    E::InvalidArgument,
                    "vcmock.guest.file.no_space",
                    "No disk space for '{0}'.",
                    "400 INVALID_ARGUMENT with NO_DISK_SPACE details",
                    "NoDiskSpace"
                ),
                (_, FileReason::DirectoryNotEmpty) => row!(
                    "File/DIRECTORY_NOT_EMPTY",
                    E::InvalidArgument,
                    "vcmock.guest.file.not_empty",
                    "Directory '{0}' is not empty.",
                    "400 INVALID_ARGUMENT with DIRECTORY_NOT_EMPTY details",
                    "DirectoryNotEmpty"
                ),
            };
            (r, vec![path.clone()], data, None)
        }
        Fault::InvalidPath { path, why } => (
            row!(
                "InvalidPath",
                E::InvalidArgument,
                "vcmock.guest.path.invalid",
                "The path '{0}' is not valid: {1}.",
                "400 INVALID_ARGUMENT for a relative path, a NUL byte, a name the guest forbids, or a directory moved into itself",
                "InvalidArgument"
            ),
            vec![path.clone(), (*why).into()],
            none,
            None,
        ),
        Fault::InvalidName { field, value, why } => (
            row!(
                "InvalidName",
                E::InvalidArgument,
                "vcmock.guest.name.invalid",
                "The {0} '{1}' is not valid: {2}.",
                "createTemporary: 400 INVALID_ARGUMENT for a prefix or suffix with a path separator, a NUL byte, or a name the guest forbids; the name is made inside the directory",
                "InvalidArgument"
            ),
            vec![(*field).into(), value.clone(), (*why).into()],
            none,
            None,
        ),
        Fault::AlreadyExists { path } => (
            row!(
                "AlreadyExists",
                E::AlreadyExists,
                "vcmock.guest.file.already_exists",
                "'{0}' already exists.",
                "400 ALREADY_EXISTS if the path (or new_path) already exists and overwrite is not set",
                "FileAlreadyExists"
            ),
            vec![path.clone()],
            none,
            None,
        ),
        Fault::DirectoryInUse { path } => (
            row!(
                "DirectoryInUse",
                E::ResourceInUse,
                "vcmock.guest.directory.not_empty",
                "Directory '{0}' is not empty.",
                "directories delete: 400 RESOURCE_IN_USE if path has content and recursive is unset; data = FileErrorDetails(DIRECTORY_NOT_EMPTY)",
                "DirectoryNotEmpty"
            ),
            vec![path.clone()],
            Some(file_data(FileReason::DirectoryNotEmpty, path)),
            None,
        ),
        Fault::NoSpace { path, needed, free } => (
            row!(
                "NoSpace",
                E::UnableToAllocateResource,
                "vcmock.guest.disk.full",
                "Not enough space for '{0}': {1} bytes needed, {2} free.",
                "transfers create: 500 UNABLE_TO_ALLOCATE_RESOURCE if there is insufficient space for the new file; data = FileErrorDetails(NO_DISK_SPACE)",
                "NoDiskSpace"
            ),
            vec![path.clone(), needed.to_string(), free.to_string()],
            Some(file_data(FileReason::NoDiskSpace, path)),
            None,
        ),
        Fault::ContentTooLarge { path, size, limit } => (
            row!(
                "ContentTooLarge",
                E::UnableToAllocateResource,
                "vcmock.content.too_large",
                "'{0}' holds {1} bytes; at most {2} are held in memory for this.",
                "vcmock: state dumps and the library's read_file hold content in memory, within a bound; downloads and the admin file read stream any size",
                "FileTooLarge"
            ),
            vec![path.clone(), size.to_string(), limit.to_string()],
            none,
            None,
        ),
        Fault::AttributesNotApplicable { given } => (
            row!(
                "AttributesNotApplicable",
                E::InvalidArgument,
                "vcmock.guest.attributes.not_applicable",
                "The {0} attributes do not apply to this guest operating system.",
                "files update / transfers create: 400 INVALID_ARGUMENT if the attributes do not apply to the guest operating system",
                "OperationNotSupportedByGuest"
            ),
            vec![(*given).into()],
            none,
            None,
        ),
        Fault::TransferRefused { refusal } => (
            row!(
                "TransferRefused",
                E::NotFound,
                "vcmock.transfer.refused",
                "The transfer URL is not valid ({0}).",
                "vcmock: /guestFile answers 404 for an unknown, used, expired or revoked token (ESXi's answer is undocumented)",
                "InvalidRequest"
            ),
            vec![refusal.as_str().into()],
            none,
            None,
        ),
        Fault::TransferWrongMethod { expected } => (
            row!(
                "TransferWrongMethod",
                E::InvalidRequest,
                "vcmock.transfer.method",
                "This transfer URL answers {0} only.",
                "vcmock: /guestFile answers 405 for the wrong method for the transfer's direction; the token stays valid",
                "InvalidRequest"
            ),
            vec![(*expected).into()],
            none,
            Some(StatusCode::METHOD_NOT_ALLOWED),
        ),
        Fault::UploadLengthMismatch { expected, received } => (
            row!(
                "UploadLengthMismatch",
                E::InvalidArgument,
                "vcmock.transfer.length",
                "The upload must be exactly {0} bytes; {1} bytes were sent.",
                "vcmock: a PUT whose body length differs from the declared size changes nothing; the token stays valid",
                "InvalidRequest"
            ),
            vec![expected.to_string(), received.to_string()],
            none,
            None,
        ),
        Fault::EmptyUpload => (
            row!(
                "EmptyUpload",
                E::Error,
                "vcmock.transfer.empty",
                "Uploading an empty file is not supported.",
                "ESXi answers a 0-byte /guestFile upload with 500 (govmomi#1618)",
                "InvalidRequest"
            ),
            vec![],
            none,
            None,
        ),
        Fault::TransferAborted => (
            row!(
                "TransferAborted",
                E::NotAllowedInCurrentState,
                "vcmock.transfer.aborted",
                "The transfer was aborted because the virtual machine changed state.",
                "the transfer is aborted if the power state of the virtual machine changes or it is migrated",
                "InvalidRequest"
            ),
            vec![],
            none,
            None,
        ),
        Fault::Injected {
            error_type,
            message,
        } => {
            let et = ErrorType::parse(error_type).unwrap_or(E::Error);
            (
                Row {
                    status: et.api_status().as_u16(),
                    error_type: et,
                    ..row!(
                        "Injected",
                        E::Error,
                        "vcmock.fault.injected",
                        "{0}",
                        "vcmock: an error injected by a fault rule; on /sdk its error type picks the SOAP fault (RESOURCE_BUSY: TaskInProgress, others in the SOAP section)",
                        injected_soap_type(error_type)
                    )
                },
                vec![message.clone()],
                none,
                None,
            )
        }
        Fault::ObjectNotFound { ty, id } => (
            row!(
                "ObjectNotFound",
                E::NotFound,
                "vcmock.soap.object.not_found",
                "The object 'vim.{0}:{1}' has already been deleted or has not been completely created",
                "SOAP: ManagedObjectNotFound when _this or an argument names no object (or another session's)",
                "ManagedObjectNotFound"
            ),
            vec![ty.clone(), id.clone()],
            none,
            None,
        ),
        Fault::MethodNotFound { ty, id, method } => (
            row!(
                "MethodNotFound",
                E::OperationNotFound,
                "vcmock.soap.method.not_found",
                "Method '{2}' is not served on {0}:{1} by vcmock.",
                "SOAP: MethodNotFound (receiver, method) for a method vcmock does not serve on that type",
                "MethodNotFound"
            ),
            vec![ty.clone(), id.clone(), method.clone()],
            none,
            None,
        ),
        Fault::InvalidProperty { name } => (
            row!(
                "InvalidProperty",
                E::InvalidArgument,
                "vcmock.soap.property.invalid",
                "Invalid property: '{0}'",
                "SOAP: InvalidProperty for a property path (Fetch, traversal) that does not exist",
                "InvalidProperty"
            ),
            vec![name.clone()],
            none,
            None,
        ),
        // vim25 does not say what vCenter answers past its bounds on one retrieval: a spec
        // vCenter cannot serve is an InvalidArgument (RetrievePropertiesEx declares it, with
        // CreateFilter's conditions), so that is the answer, naming specSet.
        Fault::RetrievalTooLarge { what, limit } => (
            row!(
                "RetrievalTooLarge",
                E::UnableToAllocateResource,
                "vcmock.soap.retrieve.too_large",
                "The retrieval passes the bound on {0}, {1}.",
                "vcmock: a RetrieveProperties[Ex] reaching more objects, answering more bytes at once, or keeping more for its continuation than one retrieval may; SOAP InvalidArgument on specSet",
                "InvalidArgument"
            ),
            vec![(*what).into(), limit.to_string()],
            none,
            None,
        ),
        Fault::InvalidCollectorVersion => (
            row!(
                "InvalidCollectorVersion",
                E::InvalidArgument,
                "vcmock.soap.collector.version",
                "The collector version is not valid.",
                "SOAP: WaitForUpdates[Ex] with a version the collector never returned",
                "InvalidCollectorVersion"
            ),
            vec![],
            none,
            None,
        ),
        Fault::RequestCanceled => (
            row!(
                "RequestCanceled",
                E::Canceled,
                "vcmock.soap.request.canceled",
                "The request was canceled.",
                "SOAP: a WaitForUpdates[Ex] ended by CancelWaitForUpdates",
                "RequestCanceled"
            ),
            vec![],
            none,
            None,
        ),
        Fault::MalformedRequest { detail } => (
            row!(
                "MalformedRequest",
                E::InvalidRequest,
                "vcmock.soap.request.malformed",
                "The request cannot be read: {0}",
                "SOAP: InvalidRequest for a body that is not XML, not a SOAP 1.1 envelope, or holds no single method",
                "InvalidRequest"
            ),
            vec![detail.clone()],
            none,
            None,
        ),
        Fault::ToolsUnavailable { vm } => (
            row!(
                "ToolsUnavailable",
                E::ServiceUnavailable,
                "vcmock.guest.power.tools",
                "Cannot complete operation because VMware Tools is not running in virtual machine '{0}'.",
                "guest shutdown/reboot/standby: ToolsUnavailable (503 SERVICE_UNAVAILABLE) when VMware Tools is not running",
                "ToolsUnavailable"
            ),
            vec![vm.clone()],
            none,
            None,
        ),
        Fault::AdminTokenRequired => (
            row!(
                "AdminTokenRequired",
                E::Unauthenticated,
                "vcmock.admin.token.required",
                "The admin API needs the admin token (Authorization: Bearer TOKEN).",
                "vcmock: the admin API refuses requests without --admin-token when one is set",
                "InvalidRequest"
            ),
            vec![],
            none,
            None,
        ),
        Fault::AdminNotFound { what } => (
            row!(
                "AdminNotFound",
                E::NotFound,
                "vcmock.admin.not_found",
                "{0} was not found.",
                "vcmock: an admin request names something that does not exist",
                "InvalidRequest"
            ),
            vec![what.clone()],
            none,
            None,
        ),
    }
}

/// The vim25 faults a `…_Task` method raises itself rather than reporting them in its task's
/// `TaskInfo.error`. vCenter checks the session, the privilege and the object the call names
/// (and reads its arguments) before it creates the task; what goes wrong after that (the VM's
/// power state, a busy VM, a server-side failure a rule injects) ends the task in error
/// (soap-vim25.md §3: a power operation into the current state is a task error).
pub const TASK_METHOD_FAULTS: &[&str] = &[
    "NotAuthenticated",
    "NoPermission",
    "ManagedObjectNotFound",
    "MethodNotFound",
    "InvalidArgument",
    "InvalidRequest",
];

/// Whether `/sdk` raises `fault` from a `…_Task` method itself (see [`TASK_METHOD_FAULTS`]),
/// by the vim25 type the catalogue gives it.
pub fn faults_the_task_method(fault: &Fault) -> bool {
    TASK_METHOD_FAULTS.contains(&describe(fault).row.soap_fault)
}

/// The vim25 fault a failure rule's vAPI error type stands for on `/sdk`: `RESOURCE_BUSY` is
/// `TaskInProgress`, `UNAUTHENTICATED` is `NotAuthenticated`; the rest are `SystemError`s.
pub fn injected_soap_type(error_type: &str) -> &'static str {
    match error_type {
        "UNAUTHENTICATED" => "NotAuthenticated",
        "UNAUTHORIZED" => "NoPermission",
        "INVALID_ARGUMENT" => "InvalidArgument",
        "INVALID_REQUEST" => "InvalidRequest",
        "NOT_ALLOWED_IN_CURRENT_STATE" => "InvalidState",
        "RESOURCE_BUSY" => "TaskInProgress",
        "TIMED_OUT" => "Timedout",
        "UNSUPPORTED" => "NotSupported",
        "SERVICE_UNAVAILABLE" => "HostCommunication",
        "CANCELED" => "RequestCanceled",
        _ => "SystemError",
    }
}

/// One fault of every kind, to list the catalogue.
fn samples() -> Vec<Fault> {
    let p = || "/p".to_string();
    let v = || "vm-1".to_string();
    let file = |kind, reason| Fault::File {
        kind,
        reason,
        path: p(),
    };
    let mut out = vec![
        Fault::SessionRequired,
        Fault::LoginFailed,
        Fault::PrivilegeMissing { privilege: "X" },
        Fault::InvalidInput { detail: "x".into() },
        Fault::MissingField {
            field: "x".into(),
            structure: "y",
        },
        Fault::BodyTooLarge { limit: 1 },
        Fault::BodyStalled { seconds: 30 },
        Fault::UnknownRoute { path: p() },
        Fault::MethodNotAllowed {
            method: "GET".into(),
        },
        Fault::OperationNotFound {
            operation: "com.example.service.op".into(),
        },
        Fault::Internal { detail: "x".into() },
        Fault::VmNotFound { vm: v() },
        Fault::TooManyVms { count: 4001 },
        Fault::AlreadyInPowerState {
            vm: v(),
            state: "POWERED_ON",
        },
        Fault::PowerOpNotAllowed {
            vm: v(),
            op: "reset",
            state: "POWERED_OFF",
        },
        Fault::VmNotRunning { vm: v() },
        Fault::ToolsNotRunning { vm: v() },
        Fault::ToolsTooOld { vm: v() },
        Fault::GuestOpsDisabled { vm: v() },
        Fault::GuestAuthFailed,
        Fault::NoInteractiveSession { user: "u".into() },
        Fault::GuestAccessDenied { path: p() },
        Fault::GuestBusy { vm: v() },
        Fault::ProcessNotFound { pid: 4242 },
        Fault::ProcessTerminateDenied { pid: 1 },
        Fault::StartMinimizedNotWindows,
        Fault::ProgramFailedToStart {
            path: p(),
            why: "x".into(),
        },
        Fault::ProgramPathInvalid { path: "sh".into() },
        Fault::ProgramNotRunnable { path: p() },
        Fault::TooManyGuestLogons { user: "u".into() },
        Fault::EnvironmentVariableNotFound { name: "X".into() },
        file(FileFaultKind::NotFound, FileReason::FileNotFound),
    ];
    for r in [
        FileReason::NotAFile,
        FileReason::NotADirectory,
        FileReason::PathTooLong,
        FileReason::FileTooLarge,
        FileReason::FileNotFound,
        FileReason::NoDiskSpace,
        FileReason::DirectoryNotEmpty,
    ] {
        out.push(file(FileFaultKind::InvalidArgument, r));
    }
    out.extend([
        Fault::InvalidPath {
            path: p(),
            why: "x",
        },
        Fault::InvalidName {
            field: "prefix",
            value: "../x".into(),
            why: "x",
        },
        Fault::AlreadyExists { path: p() },
        Fault::DirectoryInUse { path: p() },
        Fault::NoSpace {
            path: p(),
            needed: 1,
            free: 0,
        },
        Fault::ContentTooLarge {
            path: p(),
            size: 2,
            limit: 1,
        },
        Fault::AttributesNotApplicable { given: "windows" },
        Fault::TransferRefused {
            refusal: Refusal::Used,
        },
        Fault::TransferWrongMethod { expected: "GET" },
        Fault::UploadLengthMismatch {
            expected: 1,
            received: 2,
        },
        Fault::EmptyUpload,
        Fault::TransferAborted,
        Fault::Injected {
            error_type: "ERROR".into(),
            message: "x".into(),
        },
        Fault::ObjectNotFound {
            ty: "ContainerView".into(),
            id: "x".into(),
        },
        Fault::MethodNotFound {
            ty: "VirtualMachine".into(),
            id: v(),
            method: "CloneVM_Task".into(),
        },
        Fault::InvalidProperty { name: "x".into() },
        Fault::RetrievalTooLarge {
            what: "bytes in one answer",
            limit: 1,
        },
        Fault::InvalidCollectorVersion,
        Fault::RequestCanceled,
        Fault::MalformedRequest { detail: "x".into() },
        Fault::ToolsUnavailable { vm: v() },
        Fault::AdminTokenRequired,
        Fault::AdminNotFound { what: "x".into() },
    ]);
    out
}

/// How many variants [`Fault`] has; [`variant_index`] numbers them.
#[cfg(test)]
const VARIANTS: usize = 55;

/// Numbers each [`Fault`] variant. The match is exhaustive, so a new variant does not compile
/// until it is numbered here, and the catalogue test then fails until `samples()` lists it.
#[cfg(test)]
fn variant_index(f: &Fault) -> usize {
    match f {
        Fault::SessionRequired => 0,
        Fault::LoginFailed => 1,
        Fault::PrivilegeMissing { .. } => 2,
        Fault::InvalidInput { .. } => 3,
        Fault::MissingField { .. } => 4,
        Fault::BodyTooLarge { .. } => 5,
        Fault::BodyStalled { .. } => 6,
        Fault::UnknownRoute { .. } => 7,
        Fault::MethodNotAllowed { .. } => 8,
        Fault::OperationNotFound { .. } => 9,
        Fault::Internal { .. } => 10,
        Fault::VmNotFound { .. } => 11,
        Fault::TooManyVms { .. } => 12,
        Fault::AlreadyInPowerState { .. } => 13,
        Fault::PowerOpNotAllowed { .. } => 14,
        Fault::VmNotRunning { .. } => 15,
        Fault::ToolsNotRunning { .. } => 16,
        Fault::ToolsTooOld { .. } => 17,
        Fault::GuestOpsDisabled { .. } => 18,
        Fault::GuestAuthFailed => 19,
        Fault::NoInteractiveSession { .. } => 20,
        Fault::GuestAccessDenied { .. } => 21,
        Fault::GuestBusy { .. } => 22,
        Fault::ProcessNotFound { .. } => 23,
        Fault::ProcessTerminateDenied { .. } => 24,
        Fault::StartMinimizedNotWindows => 25,
        Fault::ProgramFailedToStart { .. } => 26,
        Fault::ProgramPathInvalid { .. } => 27,
        Fault::ProgramNotRunnable { .. } => 28,
        Fault::TooManyGuestLogons { .. } => 29,
        Fault::EnvironmentVariableNotFound { .. } => 30,
        Fault::File { .. } => 31,
        Fault::InvalidPath { .. } => 32,
        Fault::InvalidName { .. } => 33,
        Fault::AlreadyExists { .. } => 34,
        Fault::DirectoryInUse { .. } => 35,
        Fault::NoSpace { .. } => 36,
        Fault::ContentTooLarge { .. } => 37,
        Fault::AttributesNotApplicable { .. } => 38,
        Fault::TransferRefused { .. } => 39,
        Fault::TransferWrongMethod { .. } => 40,
        Fault::UploadLengthMismatch { .. } => 41,
        Fault::EmptyUpload => 42,
        Fault::TransferAborted => 43,
        Fault::ObjectNotFound { .. } => 44,
        Fault::MethodNotFound { .. } => 45,
        Fault::InvalidProperty { .. } => 46,
        Fault::InvalidCollectorVersion => 47,
        Fault::RequestCanceled => 48,
        Fault::MalformedRequest { .. } => 49,
        Fault::ToolsUnavailable { .. } => 50,
        Fault::Injected { .. } => 51,
        Fault::AdminTokenRequired => 52,
        Fault::AdminNotFound { .. } => 53,
        Fault::RetrievalTooLarge { .. } => 54,
    }
}

/// Every catalogue row, in a stable order (served at `/_mock/errors`, kept in
/// `fixtures/errors.json`).
pub fn catalogue() -> Vec<Row> {
    samples()
        .iter()
        .map(|f| {
            let Entry {
                mut row, status, ..
            } = describe(f);
            row.status = status.as_u16();
            row
        })
        .collect()
}

fn substitute(template: &str, args: &[String]) -> String {
    let mut out = template.to_owned();
    for (i, a) in args.iter().enumerate() {
        out = out.replace(&format!("{{{i}}}"), a);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_type_maps_to_the_documented_api_and_rest_status() {
        let table: &[(ErrorType, u16, u16)] = &[
            (ErrorType::AlreadyExists, 400, 400),
            (ErrorType::ConcurrentChange, 409, 409),
            (ErrorType::Error, 500, 400),
            (ErrorType::NotFound, 404, 404),
            (ErrorType::ResourceBusy, 500, 400),
            (ErrorType::ResourceInaccessible, 500, 400),
            (ErrorType::ServiceUnavailable, 503, 503),
            (ErrorType::TimedOut, 500, 504),
            (ErrorType::UnableToAllocateResource, 500, 400),
            (ErrorType::Unauthenticated, 401, 401),
            (ErrorType::Unauthorized, 403, 403),
            (ErrorType::Unsupported, 400, 400),
            (ErrorType::InternalServerError, 500, 500),
        ];
        for (et, api, rest) in table {
            assert_eq!(et.api_status().as_u16(), *api, "{et:?} on /api");
            assert_eq!(et.rest_status().as_u16(), *rest, "{et:?} on /rest");
        }
    }

    #[test]
    fn a_task_method_raises_the_call_s_own_faults_and_its_task_reports_the_rest() {
        let method = [
            Fault::SessionRequired,
            Fault::PrivilegeMissing {
                privilege: "VirtualMachine.Interact.PowerOff",
            },
            Fault::VmNotFound { vm: "vm-9".into() },
            Fault::InvalidInput { detail: "x".into() },
            Fault::Injected {
                error_type: "UNAUTHORIZED".into(),
                message: "x".into(),
            },
        ];
        let task = [
            Fault::AlreadyInPowerState {
                vm: "vm-1".into(),
                state: "POWERED_OFF",
            },
            Fault::PowerOpNotAllowed {
                vm: "vm-1".into(),
                op: "reset",
                state: "POWERED_OFF",
            },
            Fault::GuestBusy { vm: "vm-1".into() },
            Fault::Injected {
                error_type: "RESOURCE_BUSY".into(),
                message: "x".into(),
            },
            Fault::Injected {
                error_type: "ERROR".into(),
                message: "x".into(),
            },
        ];
        for f in &method {
            assert!(faults_the_task_method(f), "{f:?}");
        }
        for f in &task {
            assert!(!faults_the_task_method(f), "{f:?}");
        }
    }

    #[test]
    fn the_catalogue_has_one_row_per_fault_kind() {
        let rows = catalogue();
        let names: std::collections::BTreeSet<_> = rows.iter().map(|r| r.fault).collect();
        assert_eq!(names.len(), rows.len());
    }

    #[test]
    fn the_catalogue_lists_every_fault_variant() {
        let mut seen: Vec<usize> = samples().iter().map(variant_index).collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(
            seen,
            (0..VARIANTS).collect::<Vec<_>>(),
            "samples() misses a variant"
        );
    }
}
