//! Owns the inventory operations: VM list and get, power state and power changes, Tools, and the
//! guest's identity, power and readiness as vCenter reports them.

use super::{Context, Operation, Target};
use crate::model::vm::VmView;
use crate::model::{Fault, PowerOp, VmFilter, VmSummary};

/// `vm.list`: the VMs matching a filter (`System.Read`; at most 4000).
#[derive(Debug, Clone, Default)]
pub struct List {
    /// The filter; empty sets match everything.
    pub filter: VmFilter,
}

impl Operation for List {
    const NAME: &'static str = "vm.list";
    type Output = Vec<VmSummary>;

    fn run(self, cx: &Context<'_>) -> Result<Vec<VmSummary>, Fault> {
        cx.vcenter().settle_all(cx.now());
        cx.vcenter().list_vms(cx.caller()?, &self.filter)
    }
}

/// Reads of one VM's reported state: each needs `System.Read` and answers 404 for an unknown VM.
macro_rules! read_ops {
    ($($(#[$doc:meta])* $ty:ident => $name:literal),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $ty {
            /// The VM id.
            pub vm: String,
        }

        impl Operation for $ty {
            const NAME: &'static str = $name;
            type Output = VmView;

            fn target(&self) -> Target<'_> {
                Target::vm(&self.vm)
            }

            fn run(self, cx: &Context<'_>) -> Result<VmView, Fault> {
                cx.vcenter().read_vm(cx.caller()?, &self.vm, |v| v.view())
            }
        }
    )*};
}

read_ops! {
    /// `vm.get`: `VM.Info`.
    Get => "vm.get",
    /// `vm.power.get`: the power state.
    PowerGet => "vm.power.get",
    /// `vm.tools.get`: VMware Tools.
    ToolsGet => "vm.tools.get",
    /// `vm.guest.power.get`: the guest's power state and whether operations are ready.
    GuestPowerGet => "vm.guest.power.get",
    /// `vm.guest.operations.get`: whether guest operations can run.
    GuestOperationsGet => "vm.guest.operations.get",
}

/// `vm.guest.identity.get`: what the guest reports about itself, which needs Tools running
/// (503 otherwise: "if VMware Tools is not running or has provided no data").
#[derive(Debug, Clone)]
pub struct IdentityGet {
    /// The VM id.
    pub vm: String,
}

impl Operation for IdentityGet {
    const NAME: &'static str = "vm.guest.identity.get";
    type Output = VmView;

    fn target(&self) -> Target<'_> {
        Target::vm(&self.vm)
    }

    fn run(self, cx: &Context<'_>) -> Result<VmView, Fault> {
        let view = cx.vcenter().read_vm(cx.caller()?, &self.vm, |v| v.view())?;
        if view.tools.running {
            Ok(view)
        } else {
            Err(Fault::ToolsNotRunning { vm: view.id })
        }
    }
}

vm_change_ops! {
    power:
    /// `vm.power.start`: powers on, or resumes from suspend.
    Start => PowerOp::Start, "vm.power.start",
    /// `vm.power.stop`: powers off (hard).
    Stop => PowerOp::Stop, "vm.power.stop",
    /// `vm.power.suspend`: suspends.
    Suspend => PowerOp::Suspend, "vm.power.suspend",
    /// `vm.power.reset`: resets (hard).
    Reset => PowerOp::Reset, "vm.power.reset",
}
