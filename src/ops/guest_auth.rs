//! Owns the guest credential operations of vim25's `GuestAuthManager`: checking guest
//! credentials, and acquiring and releasing a ticket that stands for them.

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

/// `guest.credentials.acquire`: a ticket standing for the guest user of `credentials`
/// (vim25's `AcquireCredentialsInGuest`).
#[derive(Debug, Clone)]
pub struct Acquire {
    /// The VM id.
    pub vm: String,
    /// Guest credentials.
    pub credentials: Credentials,
}

impl Operation for Acquire {
    const NAME: &'static str = "guest.credentials.acquire";
    type Output = String;

    fn target(&self) -> Target<'_> {
        Target::vm(&self.vm)
    }

    fn run(self, cx: &Context<'_>) -> Result<String, Fault> {
        cx.vcenter()
            .acquire_guest_ticket(cx.caller()?, &self.vm, &self.credentials, cx.ids())
    }
}

/// `guest.credentials.release`: ends the ticket `credentials` carries (vim25's
/// `ReleaseCredentialsInGuest`).
#[derive(Debug, Clone)]
pub struct Release {
    /// The VM id.
    pub vm: String,
    /// The ticket, as guest credentials.
    pub credentials: Credentials,
}

impl Operation for Release {
    const NAME: &'static str = "guest.credentials.release";
    type Output = ();

    fn target(&self) -> Target<'_> {
        Target::vm(&self.vm)
    }

    fn run(self, cx: &Context<'_>) -> Result<(), Fault> {
        cx.vcenter()
            .release_guest_ticket(cx.caller()?, &self.vm, &self.credentials)
    }
}
