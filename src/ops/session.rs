//! Owns the session operations: login, the session's own information, and logout.

use time::OffsetDateTime;

use super::{Access, Context, Operation};
use crate::model::Fault;

/// `session.create`: checks a vCenter user name and password and opens a session.
#[derive(Debug, Clone)]
pub struct Login {
    /// The user name, as the client sent it (`None` when it sent no credentials at all).
    pub credentials: Option<(String, String)>,
}

impl Operation for Login {
    const NAME: &'static str = "session.create";
    const ACCESS: Access = Access::Anyone;
    type Output = String;

    fn run(self, cx: &Context<'_>) -> Result<String, Fault> {
        let (user, password) = self.credentials.ok_or(Fault::LoginFailed)?;
        cx.vcenter().login(&user, &password, cx.ids(), cx.now())
    }
}

/// What `session.get` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// The user, as vCenter names it (`VSPHERE.LOCAL\Administrator`).
    pub user: String,
    /// When the session was created.
    pub created: OffsetDateTime,
    /// When it was last used (this call included).
    pub last_accessed: OffsetDateTime,
}

/// `session.get`: the caller's own session.
#[derive(Debug, Clone, Copy)]
pub struct Get;

impl Operation for Get {
    const NAME: &'static str = "session.get";
    type Output = SessionInfo;

    fn run(self, cx: &Context<'_>) -> Result<SessionInfo, Fault> {
        let s = cx.vcenter().session(cx.session()?, cx.now())?;
        Ok(SessionInfo {
            user: s.user,
            created: s.created,
            last_accessed: s.last_accessed,
        })
    }
}

/// `session.delete`: ends the caller's session.
#[derive(Debug, Clone, Copy)]
pub struct Logout;

impl Operation for Logout {
    const NAME: &'static str = "session.delete";
    type Output = ();

    fn run(self, cx: &Context<'_>) -> Result<(), Fault> {
        cx.vcenter().logout(cx.session()?, cx.now())
    }
}
