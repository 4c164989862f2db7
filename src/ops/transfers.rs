//! Owns transfer creation: the GA `Transfers.create` and the 7.0U1 preview download and upload
//! forms, and the `*`-hosted URL they hand out.

use super::{Context, Operation, Origin, Target};
use crate::model::guest_fs::FileInfo;
use crate::model::inventory::{GUEST_MODIFY, GUEST_QUERY};
use crate::model::{Credentials, Fault, TransferRequest};
use crate::state::Settings;

/// What a transfer is asked for: the VM, the guest credentials, the path and, for an upload, its
/// declaration.
#[derive(Debug, Clone)]
pub struct TransferSpec {
    /// The VM id.
    pub vm: String,
    /// Guest credentials.
    pub credentials: Credentials,
    /// The path and direction.
    pub request: TransferRequest,
}

/// A transfer handed out: its URL and, for a described download, the file's information.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferUrl {
    /// `https://*:PORT/guestFile?id=N&token=T`.
    pub url: String,
    /// The file, when a download was asked to be described.
    pub file: Option<FileInfo>,
}

impl TransferSpec {
    fn target(&self) -> Target<'_> {
        Target::guest(&self.vm, &self.request.path)
    }

    /// Issues the URL. `privilege` is the one the form needs, and `describe` whether a
    /// download's answer describes the file too.
    fn issue(
        self,
        cx: &Context<'_>,
        privilege: &'static str,
        describe: bool,
    ) -> Result<TransferUrl, Fault> {
        let issued = cx.vcenter().create_transfer(
            cx.caller()?,
            &self.vm,
            &self.credentials,
            &self.request,
            privilege,
            describe,
            cx.ids(),
            cx.now(),
        )?;
        Ok(TransferUrl {
            url: transfer_url(cx.settings(), cx.origin(), issued.id, &issued.token),
            file: issued.file,
        })
    }
}

macro_rules! transfer_ops {
    ($($(#[$doc:meta])* $ty:ident => $name:literal, $privilege:expr, $describe:literal;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $ty(pub TransferSpec);

        impl Operation for $ty {
            const NAME: &'static str = $name;
            type Output = TransferUrl;

            fn target(&self) -> Target<'_> {
                self.0.target()
            }

            fn run(self, cx: &Context<'_>) -> Result<TransferUrl, Fault> {
                self.0.issue(cx, $privilege, $describe)
            }
        }
    )*};
}

// Which privilege each form needs, and whether its answer describes a download, are vCenter's
// rules: they live here, not in the wires.
transfer_ops! {
    /// `transfers.create`: checks the path and hands out a single-use URL, either way
    /// (`GuestOperations.Modify`).
    Create => "transfers.create", GUEST_MODIFY, false;
    /// `transfers.previewGet`: the 7.0U1 preview download form (`GuestOperations.Modify`).
    PreviewGet => "transfers.previewGet", GUEST_MODIFY, false;
    /// `transfers.previewPut`: the 7.0U1 preview upload form (`GuestOperations.Modify`).
    PreviewPut => "transfers.previewPut", GUEST_MODIFY, false;
    /// vim25's `InitiateFileTransferFromGuest`, journalled as `transfers.create`: a download
    /// that needs only `GuestOperations.Query` and describes the file (`FileTransferInformation`).
    FromGuest => "transfers.create", GUEST_QUERY, true;
    /// vim25's `InitiateFileTransferToGuest`, journalled as `transfers.create`
    /// (`GuestOperations.Modify`).
    ToGuest => "transfers.create", GUEST_MODIFY, false;
}

/// The port the client called: the port in `authority` (the `Host` header or the HTTP/2
/// authority), the scheme's default when it names none, or the listener's port when the request
/// named no host at all.
pub fn called_port(authority: Option<&str>, settings: &Settings) -> u16 {
    let default_port = if settings.tls { 443 } else { 80 };
    match authority {
        // "[::1]:8443", "host:8443", "host", "[::1]"
        Some(a) => {
            let after_bracket = a.rsplit_once(']').map_or(a, |(_, rest)| rest);
            match after_bracket.rsplit_once(':') {
                Some((_, port)) => port.parse().unwrap_or(settings.port),
                None => default_port,
            }
        }
        None => settings.port,
    }
}

/// Builds `https://*:PORT/guestFile?id=N&token=T` as vCenter does: `*` stands for the host the
/// client called, the port is left out when it is the scheme's default, and `--transfer-host`
/// replaces `*` (and the port, when it names one).
pub fn transfer_url(settings: &Settings, origin: Origin, id: u64, token: &str) -> String {
    let scheme = if settings.tls { "https" } else { "http" };
    let port = origin.port;
    let default_port = if settings.tls { 443 } else { 80 };
    let host = match &settings.transfer_host {
        Some(h)
            if h.rsplit_once(']')
                .map_or(h.as_str(), |(_, r)| r)
                .contains(':') =>
        {
            h.clone()
        }
        Some(h) if port == default_port => h.clone(),
        Some(h) => format!("{h}:{port}"),
        None if port == default_port => "*".to_owned(),
        None => format!("*:{port}"),
    };
    format!("{scheme}://{host}/guestFile?id={id}&token={token}")
}
