//! Owns the guest power changes: `Power.shutdown`, `reboot` and `standby`, which ask the guest
//! and go through the same power path as the power API.

use super::{Context, Operation, Target};
use crate::model::{Fault, GuestPowerOp};

/// Guest power requests: each checks vCenter's documented conditions and changes power the way
/// the guest would.
macro_rules! guest_power_ops {
    ($($(#[$doc:meta])* $ty:ident => $op:expr, $name:literal),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $ty {
            /// The VM id.
            pub vm: String,
        }

        impl Operation for $ty {
            const NAME: &'static str = $name;
            type Output = ();

            fn target(&self) -> Target<'_> {
                Target::vm(&self.vm)
            }

            fn run(self, cx: &Context<'_>) -> Result<(), Fault> {
                cx.vcenter().guest_power(cx.caller()?, &self.vm, $op, cx.now())
            }
        }
    )*};
}

guest_power_ops! {
    /// `vm.guest.power.shutdown`: a clean shutdown; the VM powers off.
    Shutdown => GuestPowerOp::Shutdown, "vm.guest.power.shutdown",
    /// `vm.guest.power.reboot`: the VM stays on; Tools stop for a moment.
    Reboot => GuestPowerOp::Reboot, "vm.guest.power.reboot",
    /// `vm.guest.power.standby`: the VM suspends.
    Standby => GuestPowerOp::Standby, "vm.guest.power.standby",
}
