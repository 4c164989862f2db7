//! Owns the guest power changes: `Power.shutdown`, `reboot` and `standby`, which ask the guest
//! and go through the same power path as the power API.

use crate::model::GuestPowerOp;

vm_change_ops! {
    guest_power:
    /// `vm.guest.power.shutdown`: a clean shutdown; the VM powers off.
    Shutdown => GuestPowerOp::Shutdown, "vm.guest.power.shutdown",
    /// `vm.guest.power.reboot`: the VM stays on; Tools stop for a moment.
    Reboot => GuestPowerOp::Reboot, "vm.guest.power.reboot",
    /// `vm.guest.power.standby`: the VM suspends.
    Standby => GuestPowerOp::Standby, "vm.guest.power.standby",
}
