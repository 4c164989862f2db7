//! Owns how a domain fault looks as a SOAP fault: the vim25 type comes from the catalogue's
//! `soap_fault` column (one table for both wires); this module adds the type's detail fields
//! (`obj`, `privilegeId`, `requestedState`, `file`, ...) and vCenter's SOAP message where it is
//! known, and renders `LocalizedMethodFault`s for `TaskInfo.error` and `missingSet`.

use crate::catalogue;
use crate::model::{Fault, PowerState, Vcenter};

use super::value::{Data, MoRef, Value};

/// What a fault is rendered against: the object the call was made on, and the model (for the
/// VM's power state in `InvalidPowerState`).
#[derive(Clone, Copy, Default)]
pub struct Context<'a> {
    /// `_this`, or the object a `missingSet` entry is about.
    pub this: Option<&'a MoRef>,
    /// The object the call acts on when that is not `_this` (a guest method's VM): the object
    /// a missing privilege is about.
    pub entity: Option<&'a MoRef>,
    /// The method called, when the fault answers a call.
    pub method: Option<&'a str>,
    /// The model.
    pub vc: Option<&'a Vcenter>,
}

impl std::fmt::Debug for Context<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("this", &self.this)
            .finish_non_exhaustive()
    }
}

/// A fault rendered: its vim25 type, the faultstring, and the fault object with its fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Shaped {
    /// The vim25 fault type, e.g. `InvalidPowerState`.
    pub ty: &'static str,
    /// The message (`faultstring`, `localizedMessage`).
    pub message: String,
    /// The fault object.
    pub data: Data,
}

/// vim25's `VirtualMachinePowerState` value for a model power state.
pub fn power_state(p: PowerState) -> &'static str {
    match p {
        PowerState::PoweredOn => "poweredOn",
        PowerState::PoweredOff => "poweredOff",
        PowerState::Suspended => "suspended",
    }
}

fn rest_power_state(s: &str) -> &'static str {
    PowerState::parse(s).map_or("poweredOff", power_state)
}

fn human_power(s: &str) -> &'static str {
    match s {
        "poweredOn" => "Powered on",
        "suspended" => "Suspended",
        _ => "Powered off",
    }
}

fn power_fields(d: Data, requested: &'static str, existing: &'static str) -> Data {
    d.set(
        "requestedState",
        Value::en("VirtualMachinePowerState", requested),
    )
    .set(
        "existingState",
        Value::en("VirtualMachinePowerState", existing),
    )
}

/// The privilege a `NotAuthenticated` names for a call without a session, as vCenter names
/// it: `System.Read` for reading a property (`Fetch`), `System.View` for any other method.
fn session_privilege(method: Option<&str>) -> &'static str {
    match method {
        Some("Fetch") => "System.Read",
        _ => "System.View",
    }
}

/// The detail fields of `ty` for `f`, and the existing power state where it matters.
fn fields(f: &Fault, ty: &'static str, cx: Context<'_>) -> (Data, Option<&'static str>) {
    let d = Data::new(ty);
    let this = || cx.this.cloned();
    match f {
        Fault::SessionRequired => (
            d.opt("object", this())
                .set("privilegeId", session_privilege(cx.method)),
            None,
        ),
        Fault::PrivilegeMissing { privilege } => (
            d.opt("object", cx.entity.cloned().or_else(this))
                .set("privilegeId", *privilege),
            None,
        ),
        Fault::InvalidInput { detail } => (d.opt("invalidProperty", property_named(detail)), None),
        Fault::MissingField { field, .. } => (d.set("invalidProperty", field.as_str()), None),
        Fault::InvalidPath { .. } => (d.set("invalidProperty", "path"), None),
        Fault::ProgramPathInvalid { .. } => (d.set("invalidProperty", "programPath"), None),
        Fault::InvalidName { field, .. } => (d.set("invalidProperty", *field), None),
        Fault::OperationNotFound { operation } => (d.set("method", operation.as_str()), None),
        Fault::MethodNotFound { ty, id, method } => (
            d.set("receiver", MoRef::new(ty, id))
                .set("method", method.as_str()),
            None,
        ),
        Fault::VmNotFound { vm } => (d.set("obj", MoRef::new("VirtualMachine", vm)), None),
        Fault::ObjectNotFound { ty, id } => (d.set("obj", MoRef::new(ty, id)), None),
        Fault::InvalidProperty { name } => (d.set("name", name.as_str()), None),
        Fault::RetrievalTooLarge { .. } => (d.set("invalidProperty", "specSet"), None),
        // `requestedState` is the state the operation needs the VM in: powering on a running
        // VM needs it off; powering off, suspending or resetting needs it on.
        Fault::AlreadyInPowerState { state, .. } => {
            let existing = rest_power_state(state);
            let requested = if existing == "poweredOn" {
                "poweredOff"
            } else {
                "poweredOn"
            };
            (power_fields(d, requested, existing), Some(existing))
        }
        Fault::PowerOpNotAllowed { op, state, .. } => {
            let requested = if *op == "start" {
                "poweredOff"
            } else {
                "poweredOn"
            };
            let existing = rest_power_state(state);
            (power_fields(d, requested, existing), Some(existing))
        }
        Fault::VmNotRunning { vm } => {
            let existing = cx
                .vc
                .and_then(|vc| vc.with_vm(vm, |v| v.power).ok())
                .map(power_state)
                .unwrap_or("poweredOff");
            (power_fields(d, "poweredOn", existing), Some(existing))
        }
        Fault::File { path, .. }
        | Fault::ProgramNotRunnable { path }
        | Fault::AlreadyExists { path }
        | Fault::DirectoryInUse { path }
        | Fault::NoSpace { path, .. } => (d.set("file", path.as_str()), None),
        Fault::ProcessNotFound { pid } => (d.set("pid", *pid), None),
        Fault::Internal { detail } => (d.set("reason", detail.as_str()), None),
        Fault::TooManyVms { .. } => (d.set("reason", "too many virtual machines"), None),
        Fault::Injected { error_type, .. } if ty == "SystemError" => {
            (d.set("reason", error_type.as_str()), None)
        }
        _ => (d, None),
    }
}

/// The property an input problem is about, for `invalidProperty`: the name before `: ` in
/// `detail` (`matchPattern: ...`), or `detail` itself when it is a bare name. The prose stays
/// in the fault string.
fn property_named(detail: &str) -> Option<&str> {
    let name = detail.split_once(": ").map_or(detail, |(name, _)| name);
    (!name.is_empty() && !name.contains(char::is_whitespace)).then_some(name)
}

/// vCenter's own SOAP message for a fault type, where it is known; the catalogue's message
/// otherwise.
fn message(ty: &str, existing: Option<&str>, entry: &catalogue::Entry) -> String {
    match ty {
        "InvalidLogin" => "Cannot complete login due to an incorrect user name or password.".into(),
        "NotAuthenticated" => "The session is not authenticated.".into(),
        "NoPermission" => format!(
            "Permission to perform this operation was denied. Required privilege '{}'.",
            entry.args.first().map(String::as_str).unwrap_or_default()
        ),
        "InvalidGuestLogin" => {
            "Failed to authenticate with the guest operating system using the supplied credentials."
                .into()
        }
        "GuestOperationsUnavailable" => "The guest operations agent could not be contacted.".into(),
        "InvalidPowerState" => format!(
            "The attempted operation cannot be performed in the current state ({}).",
            human_power(existing.unwrap_or("poweredOff"))
        ),
        "ToolsUnavailable" => {
            "Cannot complete operation because VMware Tools is not running in this virtual machine."
                .into()
        }
        _ => entry.message(),
    }
}

/// `ManagedObjectNotFound` for a reference.
pub fn not_found(m: &MoRef) -> Fault {
    Fault::ObjectNotFound {
        ty: m.ty.clone(),
        id: m.value.clone(),
    }
}

/// `MethodNotFound` for `method` on `receiver`.
pub fn method_not_found(receiver: MoRef, method: String) -> Fault {
    Fault::MethodNotFound {
        ty: receiver.ty,
        id: receiver.value,
        method,
    }
}

/// The SOAP shape of a domain fault.
pub fn shape(f: &Fault, cx: Context<'_>) -> Shaped {
    let entry = catalogue::describe(f);
    let ty = entry.row.soap_fault;
    let (data, existing) = fields(f, ty, cx);
    Shaped {
        ty,
        message: message(ty, existing, &entry),
        data,
    }
}

/// The fault as a `LocalizedMethodFault` (in `TaskInfo.error` and `MissingProperty.fault`).
pub fn localized(f: &Fault, cx: Context<'_>) -> Data {
    let s = shape(f, cx);
    Data::new("LocalizedMethodFault")
        .set("fault", Value::any(s.data))
        .set("localizedMessage", s.message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn powering_on_a_running_vm_needs_it_off_and_says_so_in_vcenters_words() {
        let s = shape(
            &Fault::AlreadyInPowerState {
                vm: "vm-1".into(),
                state: "POWERED_ON",
            },
            Context::default(),
        );
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
        let s = shape(&Fault::LoginFailed, Context::default());
        assert_eq!(s.ty, "InvalidLogin");
        assert_eq!(
            s.message,
            "Cannot complete login due to an incorrect user name or password."
        );
    }

    #[test]
    fn a_missing_privilege_names_the_object_and_the_privilege() {
        let vm = MoRef::new("VirtualMachine", "vm-1");
        let s = shape(
            &Fault::PrivilegeMissing {
                privilege: "VirtualMachine.Interact.PowerOff",
            },
            Context {
                this: Some(&vm),
                entity: None,
                method: None,
                vc: None,
            },
        );
        assert_eq!(s.ty, "NoPermission");
        assert_eq!(s.data.field("object"), Some(Some(&Value::MoRef(vm))));
        assert!(s.message.contains("VirtualMachine.Interact.PowerOff"));
    }

    #[test]
    fn an_injected_busy_error_is_task_in_progress_and_an_unmapped_type_a_system_error() {
        let f = |t: &str| {
            shape(
                &Fault::Injected {
                    error_type: t.into(),
                    message: "m".into(),
                },
                Context::default(),
            )
        };
        assert_eq!(f("RESOURCE_BUSY").ty, "TaskInProgress");
        let s = f("UNABLE_TO_ALLOCATE_RESOURCE");
        assert_eq!(s.ty, "SystemError");
        assert_eq!(
            s.data.field("reason"),
            Some(Some(&"UNABLE_TO_ALLOCATE_RESOURCE".into()))
        );
        assert_eq!(s.message, "m");
    }
}
