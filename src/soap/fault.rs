//! Owns SOAP faults: the vim25 fault types `/sdk` answers with, their detail fields and
//! messages, how each domain fault maps onto one, and the fault envelope (HTTP 500,
//! `ServerFaultCode`, `<XFault xsi:type="X">` in `detail`).

use crate::model::{Fault, FileReason};

use super::value::{Data, MoRef, Value};

/// A fault as `/sdk` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SoapFault {
    /// A domain fault from the model; mapped by [`SoapFault::shape`].
    Domain(Fault),
    /// A call that needs a session came without a valid one.
    NotAuthenticated {
        /// The object the call was made on.
        object: Option<MoRef>,
        /// The privilege the call needed.
        privilege: &'static str,
    },
    /// The caller lacks a privilege on `object`.
    NoPermission {
        /// The object.
        object: Option<MoRef>,
        /// The privilege, e.g. `VirtualMachine.Interact.PowerOff`.
        privilege: String,
    },
    /// `_this` or an argument names an object that does not exist (or belongs to another
    /// session).
    ManagedObjectNotFound {
        /// The reference as sent.
        obj: MoRef,
    },
    /// The method is not served on that object.
    MethodNotFound {
        /// The object.
        receiver: MoRef,
        /// The method's name.
        method: String,
    },
    /// An argument is wrong.
    InvalidArgument {
        /// The argument or property at fault.
        property: String,
    },
    /// The request itself cannot be read (not XML, not a SOAP envelope, no method).
    InvalidRequest {
        /// What was wrong.
        detail: String,
    },
    /// A property path or token does not exist.
    InvalidProperty {
        /// The path or name.
        name: String,
    },
    /// `WaitForUpdates` got a version the collector never returned.
    InvalidCollectorVersion,
    /// The VM's power state does not allow the operation.
    InvalidPowerState {
        /// The state the operation needs, as vim25's enum value.
        requested: Option<&'static str>,
        /// The VM's state, as vim25's enum value.
        existing: &'static str,
    },
    /// VMware Tools is not running (guest shutdown, reboot, standby).
    ToolsUnavailable,
    /// A wait was cancelled by `CancelWaitForUpdates`.
    RequestCanceled,
}

impl From<Fault> for SoapFault {
    fn from(f: Fault) -> Self {
        Self::Domain(f)
    }
}

/// A fault rendered: its vim25 type, the faultstring, and the fault object's fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Shaped {
    /// The vim25 fault type, e.g. `InvalidPowerState`.
    pub ty: &'static str,
    /// The message (`faultstring`, `localizedMessage`).
    pub message: String,
    /// The fault object with its fields.
    pub data: Data,
}

/// vim25's `VirtualMachinePowerState` value for a model power state.
pub fn power_state(p: crate::model::PowerState) -> &'static str {
    match p {
        crate::model::PowerState::PoweredOn => "poweredOn",
        crate::model::PowerState::PoweredOff => "poweredOff",
        crate::model::PowerState::Suspended => "suspended",
    }
}

fn rest_power_state(s: &str) -> &'static str {
    match s {
        "POWERED_ON" => "poweredOn",
        "SUSPENDED" => "suspended",
        _ => "poweredOff",
    }
}

fn human_power(s: &str) -> &'static str {
    match s {
        "poweredOn" => "Powered on",
        "suspended" => "Suspended",
        _ => "Powered off",
    }
}

fn moref_field(d: Data, name: &'static str, m: &Option<MoRef>) -> Data {
    d.opt(name, m.clone())
}

fn file_fault(ty: &'static str, path: &str, message: String) -> Shaped {
    Shaped {
        ty,
        message,
        data: Data::new(ty).set("file", path),
    }
}

fn plain(ty: &'static str, message: impl Into<String>) -> Shaped {
    Shaped {
        ty,
        message: message.into(),
        data: Data::new(ty),
    }
}

fn invalid_argument(property: &str) -> Shaped {
    Shaped {
        ty: "InvalidArgument",
        message: format!("A specified parameter was not correct: {property}"),
        data: Data::new("InvalidArgument").set("invalidProperty", property),
    }
}

impl SoapFault {
    /// The vim25 type, message and fields of this fault.
    pub fn shape(&self) -> Shaped {
        match self {
            SoapFault::Domain(f) => domain(f),
            SoapFault::NotAuthenticated { object, privilege } => Shaped {
                ty: "NotAuthenticated",
                message: "The session is not authenticated.".into(),
                data: moref_field(Data::new("NotAuthenticated"), "object", object)
                    .set("privilegeId", *privilege),
            },
            SoapFault::NoPermission { object, privilege } => Shaped {
                ty: "NoPermission",
                message: format!(
                    "Permission to perform this operation was denied. Required privilege '{privilege}'."
                ),
                data: moref_field(Data::new("NoPermission"), "object", object)
                    .set("privilegeId", privilege.as_str()),
            },
            SoapFault::ManagedObjectNotFound { obj } => Shaped {
                ty: "ManagedObjectNotFound",
                message: format!(
                    "The object 'vim.{}:{}' has already been deleted or has not been completely created",
                    obj.ty, obj.value
                ),
                data: Data::new("ManagedObjectNotFound").set("obj", obj),
            },
            SoapFault::MethodNotFound { receiver, method } => Shaped {
                ty: "MethodNotFound",
                message: format!(
                    "Method '{method}' is not served on {}:{} by vcmock.",
                    receiver.ty, receiver.value
                ),
                data: Data::new("MethodNotFound")
                    .set("receiver", receiver)
                    .set("method", method.as_str()),
            },
            SoapFault::InvalidArgument { property } => invalid_argument(property),
            SoapFault::InvalidRequest { detail } => plain("InvalidRequest", detail.clone()),
            SoapFault::InvalidProperty { name } => Shaped {
                ty: "InvalidProperty",
                message: format!("Invalid property: '{name}'"),
                data: Data::new("InvalidProperty").set("name", name.as_str()),
            },
            SoapFault::InvalidCollectorVersion => plain(
                "InvalidCollectorVersion",
                "The collector version is not valid.",
            ),
            SoapFault::InvalidPowerState {
                requested,
                existing,
            } => Shaped {
                ty: "InvalidPowerState",
                message: format!(
                    "The attempted operation cannot be performed in the current state ({}).",
                    human_power(existing)
                ),
                data: Data::new("InvalidPowerState")
                    .opt(
                        "requestedState",
                        requested.map(|r| Value::en("VirtualMachinePowerState", r)),
                    )
                    .set(
                        "existingState",
                        Value::en("VirtualMachinePowerState", existing),
                    ),
            },
            SoapFault::ToolsUnavailable => plain(
                "ToolsUnavailable",
                "Cannot complete operation because VMware Tools is not running in this virtual machine.",
            ),
            SoapFault::RequestCanceled => plain("RequestCanceled", "The request was canceled."),
        }
    }

    /// The fault as a `LocalizedMethodFault` (in `TaskInfo.error` and `MissingProperty.fault`).
    pub fn localized(&self) -> Data {
        let s = self.shape();
        Data::new("LocalizedMethodFault")
            .set("fault", Value::any(s.data))
            .set("localizedMessage", s.message)
    }
}

/// The SOAP side of each domain fault: one exhaustive match, so that a new model fault does
/// not compile without its SOAP mapping.
fn domain(f: &Fault) -> Shaped {
    match f {
        Fault::SessionRequired => SoapFault::NotAuthenticated {
            object: None,
            privilege: "System.View",
        }
        .shape(),
        Fault::LoginFailed => plain(
            "InvalidLogin",
            "Cannot complete login due to an incorrect user name or password.",
        ),
        Fault::PrivilegeMissing { privilege } => SoapFault::NoPermission {
            object: None,
            privilege: (*privilege).into(),
        }
        .shape(),
        Fault::InvalidInput { detail } => Shaped {
            message: format!("A specified parameter was not correct: {detail}"),
            ..invalid_argument(detail)
        },
        Fault::MissingField { field, .. } => Shaped {
            message: format!("Required parameter '{field}' is missing."),
            ..invalid_argument(field)
        },
        Fault::BodyTooLarge { limit } => plain(
            "InvalidRequest",
            format!("The request body exceeds the limit of {limit} bytes."),
        ),
        Fault::UnknownRoute { path } => plain("InvalidRequest", format!("Not found: {path}")),
        Fault::MethodNotAllowed { method } => plain(
            "InvalidRequest",
            format!("Method {method} is not allowed on this resource."),
        ),
        Fault::OperationNotFound { operation } => Shaped {
            ty: "MethodNotFound",
            message: format!("Method '{operation}' is not served by vcmock."),
            data: Data::new("MethodNotFound").set("method", operation.as_str()),
        },
        Fault::Internal { detail } => Shaped {
            ty: "SystemError",
            message: format!("A general system error occurred: {detail}"),
            data: Data::new("SystemError").set("reason", detail.as_str()),
        },
        Fault::VmNotFound { vm } => SoapFault::ManagedObjectNotFound {
            obj: MoRef::new("VirtualMachine", vm),
        }
        .shape(),
        Fault::TooManyVms { count } => Shaped {
            ty: "SystemError",
            message: format!("{count} virtual machines match; at most 4000 are returned."),
            data: Data::new("SystemError").set("reason", "too many virtual machines"),
        },
        // `requestedState` is the state the operation needs the VM to be in: powering on a
        // running VM needs it off; powering off or suspending needs it on.
        Fault::AlreadyInPowerState { state, .. } => SoapFault::InvalidPowerState {
            requested: Some(if *state == "POWERED_ON" {
                "poweredOff"
            } else {
                "poweredOn"
            }),
            existing: rest_power_state(state),
        }
        .shape(),
        Fault::PowerOpNotAllowed { op, state, .. } => SoapFault::InvalidPowerState {
            requested: match *op {
                "start" => Some("poweredOff"),
                _ => Some("poweredOn"),
            },
            existing: rest_power_state(state),
        }
        .shape(),
        Fault::VmNotRunning { .. } => SoapFault::InvalidPowerState {
            requested: Some("poweredOn"),
            existing: "poweredOff",
        }
        .shape(),
        Fault::ToolsNotRunning { .. } => plain(
            "GuestOperationsUnavailable",
            "The guest operations agent could not be contacted.",
        ),
        Fault::ToolsTooOld { .. } => plain(
            "GuestComponentsOutOfDate",
            "The guest operations agent is out of date.",
        ),
        Fault::GuestOpsDisabled { .. } => plain(
            "OperationDisabledByGuest",
            "Guest operations are disabled in the guest.",
        ),
        Fault::GuestAuthFailed | Fault::NoInteractiveSession { .. } => plain(
            "InvalidGuestLogin",
            "Failed to authenticate with the guest operating system using the supplied credentials.",
        ),
        Fault::GuestAccessDenied { path } => plain(
            "GuestPermissionDenied",
            format!("Insufficient permissions in the guest operating system for '{path}'."),
        ),
        Fault::GuestBusy { .. } => Shaped {
            ty: "TaskInProgress",
            message:
                "The operation is not allowed in the current state: another task is in progress."
                    .into(),
            data: Data::new("TaskInProgress"),
        },
        Fault::File { reason, path, .. } => {
            let (ty, what) = match reason {
                FileReason::NotAFile => ("NotAFile", "is not a file"),
                FileReason::NotADirectory => ("NotADirectory", "is not a directory"),
                FileReason::PathTooLong => ("FileNameTooLong", "has a name that is too long"),
                FileReason::FileNotFound => ("FileNotFound", "was not found"),
                FileReason::FileTooLarge => ("FileTooLarge", "is too large"),
                FileReason::NoDiskSpace => ("NoDiskSpace", "does not fit on the guest disk"),
                FileReason::DirectoryNotEmpty => ("DirectoryNotEmpty", "is not empty"),
            };
            file_fault(ty, path, format!("File {path} {what}."))
        }
        Fault::InvalidPath { path, why } => Shaped {
            message: format!("A specified parameter was not correct: '{path}' ({why})"),
            ..invalid_argument("filePath")
        },
        Fault::AlreadyExists { path } => file_fault(
            "FileAlreadyExists",
            path,
            format!("File {path} already exists."),
        ),
        Fault::DirectoryInUse { path } => file_fault(
            "DirectoryNotEmpty",
            path,
            format!("Directory {path} is not empty."),
        ),
        Fault::NoSpace { path, .. } => file_fault(
            "NoDiskSpace",
            path,
            format!("There is not enough space on the guest disk for {path}."),
        ),
        Fault::AttributesNotApplicable { given } => plain(
            "OperationNotSupportedByGuest",
            format!("The guest does not support {given} file attributes."),
        ),
        Fault::TransferRefused { refusal } => plain(
            "InvalidRequest",
            format!("The transfer was refused ({}).", refusal.as_str()),
        ),
        Fault::TransferWrongMethod { expected } => plain(
            "InvalidRequest",
            format!("The transfer expects {expected}."),
        ),
        Fault::UploadLengthMismatch { expected, received } => plain(
            "InvalidRequest",
            format!("Expected {expected} bytes, received {received}."),
        ),
        Fault::EmptyUpload => plain("InvalidRequest", "The upload is empty."),
        Fault::TransferAborted => plain("InvalidRequest", "The transfer was aborted."),
        Fault::Injected {
            error_type,
            message,
        } => injected(error_type, message),
        Fault::AdminTokenRequired => plain("InvalidRequest", "The admin token is required."),
        Fault::AdminNotFound { what } => plain("InvalidRequest", format!("{what} not found")),
    }
}

/// A fault rule's error on `/sdk`: the vAPI error type it names becomes the nearest vim25
/// fault (`RESOURCE_BUSY` is `TaskInProgress`, `UNAUTHENTICATED` is `NotAuthenticated`); the
/// rest are `SystemError`s whose reason names the vAPI type.
fn injected(error_type: &str, message: &str) -> Shaped {
    let ty = match error_type {
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
        _ => {
            return Shaped {
                ty: "SystemError",
                message: message.to_owned(),
                data: Data::new("SystemError").set("reason", error_type),
            };
        }
    };
    plain(ty, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_already_running_vm_gives_invalid_power_state_with_both_states() {
        let s = SoapFault::Domain(Fault::AlreadyInPowerState {
            vm: "vm-1".into(),
            state: "POWERED_ON",
        })
        .shape();
        assert_eq!(s.ty, "InvalidPowerState");
        assert_eq!(
            s.data.field("requestedState"),
            Some(Some(&Value::en("VirtualMachinePowerState", "poweredOff")))
        );
        assert_eq!(
            s.data.field("existingState"),
            Some(Some(&Value::en("VirtualMachinePowerState", "poweredOn")))
        );
        assert!(s.message.contains("(Powered on)"));
    }

    #[test]
    fn a_bad_login_has_vcenters_message() {
        let s = SoapFault::Domain(Fault::LoginFailed).shape();
        assert_eq!(s.ty, "InvalidLogin");
        assert_eq!(
            s.message,
            "Cannot complete login due to an incorrect user name or password."
        );
    }

    #[test]
    fn an_injected_busy_error_is_task_in_progress_and_an_unmapped_type_a_system_error() {
        let f = |t: &str| {
            SoapFault::Domain(Fault::Injected {
                error_type: t.into(),
                message: "m".into(),
            })
            .shape()
        };
        assert_eq!(f("RESOURCE_BUSY").ty, "TaskInProgress");
        let s = f("UNABLE_TO_ALLOCATE_RESOURCE");
        assert_eq!(s.ty, "SystemError");
        assert_eq!(
            s.data.field("reason"),
            Some(Some(&"UNABLE_TO_ALLOCATE_RESOURCE".into()))
        );
    }
}
