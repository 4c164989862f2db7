//! Owns the vCenter side of identity: users, the roles that grant them privileges, and the
//! privilege names operations require.

use std::collections::BTreeSet;

/// Privilege to read inventory (VM list and get, power, Tools, guest state).
pub const SYSTEM_READ: &str = "System.Read";
/// Privilege to power a VM on or resume it.
pub const POWER_ON: &str = "VirtualMachine.Interact.PowerOn";
/// Privilege to power a VM off.
pub const POWER_OFF: &str = "VirtualMachine.Interact.PowerOff";
/// Privilege to suspend a VM.
pub const SUSPEND: &str = "VirtualMachine.Interact.Suspend";
/// Privilege to reset a VM.
pub const RESET: &str = "VirtualMachine.Interact.Reset";
/// Privilege for read-only guest operations (get, list).
pub const GUEST_QUERY: &str = "VirtualMachine.GuestOperations.Query";
/// Privilege for guest operations that change the guest (create, move, delete, transfers).
pub const GUEST_MODIFY: &str = "VirtualMachine.GuestOperations.Modify";
/// Privilege for guest operations that run or end programs (processes create and delete).
pub const GUEST_EXECUTE: &str = "VirtualMachine.GuestOperations.Execute";
/// Privilege to ask whether another session is active (`SessionManager.SessionIsActive`).
pub const VALIDATE_SESSION: &str = "Sessions.ValidateSession";

/// A vCenter (SSO) user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VcUser {
    /// Login name, e.g. `administrator@vsphere.local` (compared case-insensitively).
    pub login: String,
    /// Password.
    pub password: String,
    /// The name sessions report, e.g. `VSPHERE.LOCAL\Administrator`.
    pub display: String,
    /// The role's name.
    pub role: String,
    /// Privileges granted; `*` grants all.
    pub privileges: BTreeSet<String>,
}

impl VcUser {
    /// Whether the user holds `privilege`.
    pub fn has(&self, privilege: &str) -> bool {
        self.privileges.contains("*") || self.privileges.contains(privilege)
    }
}

/// The name vCenter shows for a login: `user@domain.tld` becomes `DOMAIN.TLD\user`.
pub fn display_name(login: &str) -> String {
    match login.split_once('@') {
        Some((user, domain)) => format!("{}\\{}", domain.to_uppercase(), user),
        None => login.to_owned(),
    }
}
