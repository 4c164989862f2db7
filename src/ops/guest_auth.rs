//! Owns the guest credential operations: checking that guest credentials are good
//! (vim25's `GuestAuthManager.ValidateCredentialsInGuest`).

use super::{Context, Operation, Target};
use crate::model::inventory::GUEST_QUERY;
use crate::model::{Credentials, Fault};

/// `guest.credentials.validate`: runs every check a guest operation runs (VM on, Tools running
/// and able, the credentials, `GuestOperations.Query`, VM not busy) and changes nothing.
#[derive(Debug, Clone)]
pub struct Validate {
    /// The VM id.
    pub vm: String,
    /// Guest credentials.
    pub credentials: Credentials,
}

impl Operation for Validate {
    const NAME: &'static str = "guest.credentials.validate";
    type Output = ();

    fn target(&self) -> Target<'_> {
        Target::vm(&self.vm)
    }

    fn run(self, cx: &Context<'_>) -> Result<(), Fault> {
        cx.vcenter().guest(
            cx.caller()?,
            &self.vm,
            &self.credentials,
            GUEST_QUERY,
            |_, _, _| Ok(()),
        )
    }
}
