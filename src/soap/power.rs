//! Owns the VirtualMachine power methods on `/sdk`: `PowerOnVM_Task`, `PowerOffVM_Task`,
//! `ResetVM_Task`, `SuspendVM_Task`, `ShutdownGuest`, `RebootGuest` and `StandbyGuest`. Each
//! invokes the operation REST runs for the same change (`vm.power.stop`,
//! `vm.guest.power.shutdown`, ...) through the operation layer, so the journal, metrics and
//! failure rules name and match them as on REST; a `…_Task` method then records the outcome as
//! a finished task.

use crate::catalogue;
use crate::ops::{Call, Operation, Stop, guest_power as gp, vm};

use super::envelope::Answer;
use super::store::{Store, TaskRecord};
use super::value::MoRef;

/// Every power method: (method, the operation it invokes).
pub const METHODS: &[(&str, &str)] = &[
    ("PowerOnVM_Task", vm::Start::NAME),
    ("PowerOffVM_Task", vm::Stop::NAME),
    ("ResetVM_Task", vm::Reset::NAME),
    ("SuspendVM_Task", vm::Suspend::NAME),
    ("ShutdownGuest", gp::Shutdown::NAME),
    ("RebootGuest", gp::Reboot::NAME),
    ("StandbyGuest", gp::Standby::NAME),
];

/// A power task's `TaskInfo.descriptionId`.
fn description_id(method: &str) -> &'static str {
    match method {
        "PowerOnVM_Task" => "VirtualMachine.powerOn",
        "PowerOffVM_Task" => "VirtualMachine.powerOff",
        "ResetVM_Task" => "VirtualMachine.reset",
        _ => "VirtualMachine.suspend",
    }
}

/// Runs `op` for a `…_Task` method and answers the task: the operation's fault is the task's
/// `TaskInfo.error`, except the faults vCenter raises from the method itself
/// ([`catalogue::faults_the_task_method`]).
async fn task<O: Operation<Output = ()>>(
    on: &Call<'_>,
    method: &'static str,
    this: &MoRef,
    store: &Store,
    op: O,
) -> Result<Answer, Stop> {
    let error = match on.invoke(Ok(op)).await {
        Ok(()) => None,
        Err(Stop::Fault(f)) if catalogue::faults_the_task_method(&f) => {
            return Err(Stop::Fault(f));
        }
        Err(Stop::Fault(f)) => Some(f),
        Err(other) => return Err(other),
    };
    let vc = on.state.vcenter();
    let now = on.state.now();
    let entity_name = vc
        .with_vm(&this.value, |v| v.name.clone())
        .map_err(Stop::Fault)?;
    // The operation found the session, so it is there (its use was marked already).
    let user = on
        .session
        .as_deref()
        .and_then(|id| vc.session(id, now).ok())
        .map(|s| s.user)
        .unwrap_or_default();
    let entity = this.clone();
    let id = store.add_task(|id, chain| TaskRecord {
        id,
        method,
        description_id: description_id(method),
        entity,
        entity_name,
        error,
        result: None,
        user,
        time: now,
        chain,
    });
    Ok(Answer::Value {
        value: MoRef::new("Task", id).into(),
        typed: false,
    })
}

/// Runs the power method `method` on VM `this`; `None` when it is not a power method.
pub async fn invoke(
    on: &Call<'_>,
    method: &str,
    this: &MoRef,
    store: &Store,
) -> Option<Result<Answer, Stop>> {
    let vm = this.value.clone();
    let void = |r: Result<(), Stop>| r.map(|()| Answer::Void);
    Some(match method {
        "PowerOnVM_Task" => task(on, "PowerOnVM_Task", this, store, vm::Start { vm }).await,
        "PowerOffVM_Task" => task(on, "PowerOffVM_Task", this, store, vm::Stop { vm }).await,
        "ResetVM_Task" => task(on, "ResetVM_Task", this, store, vm::Reset { vm }).await,
        "SuspendVM_Task" => task(on, "SuspendVM_Task", this, store, vm::Suspend { vm }).await,
        "ShutdownGuest" => void(on.invoke(Ok(gp::Shutdown { vm })).await),
        "RebootGuest" => void(on.invoke(Ok(gp::Reboot { vm })).await),
        "StandbyGuest" => void(on.invoke(Ok(gp::Standby { vm })).await),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_power_method_is_served_on_virtual_machines_and_invokes_a_vm_operation() {
        for (method, op) in METHODS {
            assert!(
                super::super::methods::served(method, "VirtualMachine"),
                "{method}"
            );
            assert!(op.starts_with("vm."), "{method} invokes {op}");
        }
    }

    #[test]
    fn each_power_task_has_the_description_id_vcenter_gives_it() {
        for (method, id) in [
            ("PowerOnVM_Task", "VirtualMachine.powerOn"),
            ("PowerOffVM_Task", "VirtualMachine.powerOff"),
            ("ResetVM_Task", "VirtualMachine.reset"),
            ("SuspendVM_Task", "VirtualMachine.suspend"),
        ] {
            assert_eq!(description_id(method), id);
        }
    }
}
