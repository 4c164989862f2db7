//! Owns the `/guestFile` operations: redeeming a transfer URL's token to start a download or an
//! upload. The token alone authorises them; no vCenter session is needed.

use super::{Access, Context, Operation};
use crate::model::transfer::{Redeem, Transfer};
use crate::model::{Fault, Ticket};

/// A transfer URL's `id` and `token`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The transfer id.
    pub id: u64,
    /// The token.
    pub token: String,
}

/// `guestFile.get`: starts a download; the URL is used up once the answer starts.
#[derive(Debug, Clone)]
pub struct Download(pub Token);

impl Operation for Download {
    const NAME: &'static str = "guestFile.get";
    const ACCESS: Access = Access::Anyone;
    type Output = Ticket;

    fn run(self, cx: &Context<'_>) -> Result<Ticket, Fault> {
        cx.vcenter()
            .begin_transfer(self.0.id, &self.0.token, Redeem::Get, cx.now())
    }
}

/// `guestFile.put`: starts an upload; the URL is used up only when the file lands.
#[derive(Debug, Clone)]
pub struct Upload(pub Token);

impl Operation for Upload {
    const NAME: &'static str = "guestFile.put";
    const ACCESS: Access = Access::Anyone;
    type Output = Transfer;

    fn run(self, cx: &Context<'_>) -> Result<Transfer, Fault> {
        cx.vcenter()
            .begin_transfer(self.0.id, &self.0.token, Redeem::Put, cx.now())
            .map(|t| t.transfer)
    }
}
