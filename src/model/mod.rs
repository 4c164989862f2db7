//! Owns the emulated vCenter: a pure, synchronous facade with one method per use case.
//! It never reads a clock or a random source itself: `now` and the id generator come in as
//! arguments.

pub mod changes;
pub mod fault;
mod guest_exec;
pub mod guest_fs;
pub mod guest_ticket;
pub mod inventory;
pub mod process;
pub mod session;
pub mod shell;
pub mod transfer;
pub mod vm;
mod vms;

#[cfg(test)]
mod proptests;

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use time::OffsetDateTime;

use crate::ids::IdGen;
pub use changes::Changes;
pub use fault::{Fault, FileFaultKind, FileReason, Refusal};
pub use guest_exec::{GuestPowerOp, ProcessReport, REBOOT_TOOLS_DOWN};
use guest_fs::{AttrUpdate, Blob, FileInfo, GuestPath, GuestUser, ListPage, Meta};
use inventory::VcUser;
use session::{Session, SessionTable};
use transfer::{Direction, Redeem, Transfer, TransferTable, UploadSpec};
pub use vm::{PowerOp, PowerState, VirtualMachine};
use vms::Vms;

/// The most VMs one list call returns before vCenter refuses with `UNABLE_TO_ALLOCATE_RESOURCE`.
pub const VM_LIST_LIMIT: usize = 4000;

/// Tunables of the emulated vCenter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Idle timeout of API sessions.
    pub session_idle: Duration,
    /// Most sessions kept at once.
    pub max_sessions: usize,
    /// Most unused transfer tokens kept at once.
    pub max_live_transfers: usize,
    /// Most bytes the live transfers hold in all (their paths, tokens and names).
    pub max_live_transfer_bytes: usize,
    /// Ended transfers kept for inspection.
    pub transfer_history: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            session_idle: Duration::from_secs(30 * 60),
            max_sessions: 10_000,
            max_live_transfers: 100_000,
            max_live_transfer_bytes: 32 << 20,
            transfer_history: 1000,
        }
    }
}

/// How a guest operation authenticates inside the guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuestAuth {
    /// User name and password.
    Password {
        /// Guest user name.
        user: String,
        /// Password.
        password: String,
    },
    /// A SAML bearer token the guest maps to a user.
    Saml {
        /// The token.
        token: String,
        /// The guest user to map to, if given.
        user: Option<String>,
    },
    /// A ticket [`Vcenter::acquire_guest_ticket`] handed out (vim25's
    /// `TicketedSessionAuthentication`).
    Ticket {
        /// The ticket.
        ticket: String,
    },
}

/// Validated guest credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// How to authenticate.
    pub auth: GuestAuth,
    /// Whether the operation must use the user's interactive desktop session.
    pub interactive: bool,
}

/// A VM as the list operation reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmSummary {
    /// Id.
    pub vm: String,
    /// Name.
    pub name: String,
    /// Power state.
    pub power_state: PowerState,
    /// CPUs.
    pub cpu_count: i64,
    /// Memory in MiB.
    pub memory_mib: i64,
}

/// A list filter for VMs; empty sets match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VmFilter {
    /// Ids to keep.
    pub vms: Vec<String>,
    /// Names to keep.
    pub names: Vec<String>,
    /// Power states to keep.
    pub power_states: Vec<PowerState>,
}

/// A request for a transfer, as `Transfers.create` takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferRequest {
    /// The guest path, as given.
    pub path: String,
    /// `None` for a download; the upload's declaration otherwise.
    pub upload: Option<UploadSpec>,
}

/// A transfer URL's parts, as `Transfers.create` issued them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    /// The transfer id.
    pub id: u64,
    /// The token.
    pub token: String,
    /// For a download asked to be described, the file's information.
    pub file: Option<FileInfo>,
}

/// A transfer that won its redemption, with what the request needs to stream.
#[derive(Debug, Clone)]
pub struct Ticket {
    /// The transfer.
    pub transfer: Transfer,
    /// For downloads, the content to send.
    pub blob: Option<Blob>,
}

/// The emulated vCenter: VMs, users, sessions and transfers.
#[derive(Debug)]
pub struct Vcenter {
    vms: Vms,
    /// By lower-cased login; shared so that authenticating a request copies nothing.
    users: BTreeMap<String, std::sync::Arc<VcUser>>,
    sessions: Mutex<SessionTable>,
    transfers: Mutex<TransferTable>,
    changes: std::sync::Arc<Changes>,
}

/// Anything lockable with a mutex, recovering from poisoning (a panicking request must not
/// take the server down).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Vcenter {
    /// A vCenter holding `vms` and `users`. The VMs go straight into the registry, so a large
    /// fixture's VMs are never held twice.
    pub fn new(
        vms: impl IntoIterator<Item = VirtualMachine, IntoIter: ExactSizeIterator>,
        users: Vec<VcUser>,
        limits: Limits,
    ) -> Self {
        let changes = std::sync::Arc::new(Changes::default());
        Self {
            vms: Vms::new(vms, changes.clone()),
            changes,
            users: users
                .into_iter()
                .map(|u| (u.login.to_lowercase(), std::sync::Arc::new(u)))
                .collect(),
            sessions: Mutex::new(SessionTable::new(limits.session_idle, limits.max_sessions)),
            transfers: Mutex::new(
                TransferTable::new(limits.max_live_transfers, limits.transfer_history)
                    .with_byte_cap(limits.max_live_transfer_bytes),
            ),
        }
    }

    /// The same vCenter, counting its changes in `changes` (shared with the `/sdk` state, and
    /// kept across resets, so that the generation only moves forward).
    pub fn with_changes(mut self, changes: std::sync::Arc<Changes>) -> Self {
        self.vms.count_in(changes.clone());
        self.changes = changes;
        self
    }

    /// The count of the changes a reader of the inventory could see.
    pub fn changes(&self) -> &std::sync::Arc<Changes> {
        &self.changes
    }

    // ----------------------------------------------------------------- sessions

    /// `POST /api/session`: checks the user and password and opens a session.
    pub fn login(
        &self,
        login: &str,
        password: &str,
        ids: &IdGen,
        now: OffsetDateTime,
    ) -> Result<String, Fault> {
        let key = login.to_lowercase();
        let user = self
            .users
            .get(&key)
            .filter(|u| u.password == password)
            .ok_or(Fault::LoginFailed)?;
        let id = ids.session_id();
        // Sessions keep the lookup key, so authenticating a request needs no case folding.
        lock(&self.sessions).create(id.clone(), &key, &user.display, now);
        self.changes.bump();
        Ok(id)
    }

    /// Finds the session `id` and marks it used.
    pub fn session(&self, id: &str, now: OffsetDateTime) -> Result<Session, Fault> {
        lock(&self.sessions)
            .touch(id, now)
            .ok_or(Fault::SessionRequired)
    }

    /// The user behind a session id.
    pub fn caller(&self, id: &str, now: OffsetDateTime) -> Result<std::sync::Arc<VcUser>, Fault> {
        lock(&self.sessions)
            .touch_with(id, now, |s| self.users.get(&s.login).cloned())
            .flatten()
            .ok_or(Fault::SessionRequired)
    }

    /// `DELETE /api/session`.
    pub fn logout(&self, id: &str, now: OffsetDateTime) -> Result<(), Fault> {
        if lock(&self.sessions).delete(id, now) {
            self.changes.bump();
            Ok(())
        } else {
            Err(Fault::SessionRequired)
        }
    }

    /// Every live session (admin state dump; ids included).
    pub fn sessions(&self) -> Vec<(String, Session)> {
        lock(&self.sessions).all()
    }

    /// How many sessions have ended in all (logged out, expired, dropped for room).
    pub fn sessions_ended(&self) -> u64 {
        lock(&self.sessions).ended()
    }

    /// How many sessions are open.
    pub fn session_count(&self) -> usize {
        lock(&self.sessions).len()
    }

    /// The vCenter users.
    pub fn users(&self) -> impl Iterator<Item = &VcUser> {
        self.users.values().map(|u| &**u)
    }

    // ----------------------------------------------------------------- inventory

    fn require(caller: &VcUser, privilege: &'static str) -> Result<(), Fault> {
        if caller.has(privilege) {
            Ok(())
        } else {
            Err(Fault::PrivilegeMissing { privilege })
        }
    }

    /// Reads a VM through a closure (no lock escapes).
    pub fn with_vm<R>(&self, id: &str, f: impl FnOnce(&VirtualMachine) -> R) -> Result<R, Fault> {
        self.vms
            .get(id)
            .map(|vm| f(&vm))
            .ok_or_else(|| Fault::VmNotFound { vm: id.to_owned() })
    }

    /// Changes a VM through a closure.
    pub fn with_vm_mut<R>(
        &self,
        id: &str,
        f: impl FnOnce(&mut VirtualMachine) -> R,
    ) -> Result<R, Fault> {
        self.vms
            .get_mut(id)
            .map(|mut vm| f(&mut vm))
            .ok_or_else(|| Fault::VmNotFound { vm: id.to_owned() })
    }

    /// Reads a VM for `caller`, who needs `System.Read`.
    pub fn read_vm<R>(
        &self,
        caller: &VcUser,
        id: &str,
        f: impl FnOnce(&VirtualMachine) -> R,
    ) -> Result<R, Fault> {
        let r = self.with_vm(id, f)?;
        Self::require(caller, inventory::SYSTEM_READ)?;
        Ok(r)
    }

    /// `GET /api/vcenter/vm`: VMs matching `filter`, ordered by id.
    pub fn list_vms(&self, caller: &VcUser, filter: &VmFilter) -> Result<Vec<VmSummary>, Fault> {
        Self::require(caller, inventory::SYSTEM_READ)?;
        let mut out: Vec<VmSummary> = self
            .vms
            .iter()
            .filter(|vm| filter.vms.is_empty() || filter.vms.contains(&vm.id))
            .filter(|vm| filter.names.is_empty() || filter.names.contains(&vm.name))
            .filter(|vm| filter.power_states.is_empty() || filter.power_states.contains(&vm.power))
            .map(|vm| VmSummary {
                vm: vm.id.clone(),
                name: vm.name.clone(),
                power_state: vm.power,
                cpu_count: vm.cpu_count,
                memory_mib: vm.memory_mib,
            })
            .collect();
        if out.len() > VM_LIST_LIMIT {
            return Err(Fault::TooManyVms { count: out.len() });
        }
        out.sort_by(|a, b| natural_id_order(&a.vm, &b.vm));
        Ok(out)
    }

    /// Ids of every VM, ordered.
    pub fn vm_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.vms.iter().map(|v| v.id.clone()).collect();
        ids.sort_by(|a, b| natural_id_order(a, b));
        ids
    }

    /// Every VM, cloned, ordered by id (state dump).
    pub fn vms(&self) -> Vec<VirtualMachine> {
        self.vm_ids()
            .iter()
            .filter_map(|id| self.vms.get(id).map(|v| v.clone()))
            .collect()
    }

    /// `POST .../power?action=...` by an API user.
    pub fn power(
        &self,
        caller: &VcUser,
        id: &str,
        op: PowerOp,
        now: OffsetDateTime,
    ) -> Result<(), Fault> {
        let mut vm = self
            .vms
            .get_mut(id)
            .ok_or_else(|| Fault::VmNotFound { vm: id.to_owned() })?;
        Self::require(
            caller,
            match op {
                PowerOp::Start => inventory::POWER_ON,
                PowerOp::Stop => inventory::POWER_OFF,
                PowerOp::Suspend => inventory::SUSPEND,
                PowerOp::Reset => inventory::RESET,
            },
        )?;
        let already = |state: PowerState| Fault::AlreadyInPowerState {
            vm: id.to_owned(),
            state: state.as_str(),
        };
        let not_allowed = || Fault::PowerOpNotAllowed {
            vm: id.to_owned(),
            op: op.as_str(),
            state: vm.power.as_str(),
        };
        let (to, reason) = match (op, vm.power) {
            (PowerOp::Start, PowerState::PoweredOn) => return Err(already(PowerState::PoweredOn)),
            (PowerOp::Start, _) => (PowerState::PoweredOn, "powered on"),
            (PowerOp::Stop, PowerState::PoweredOff) => return Err(already(PowerState::PoweredOff)),
            (PowerOp::Stop, _) => (PowerState::PoweredOff, "powered off"),
            (PowerOp::Suspend, PowerState::Suspended) => {
                return Err(already(PowerState::Suspended));
            }
            (PowerOp::Suspend, PowerState::PoweredOff) => return Err(not_allowed()),
            (PowerOp::Suspend, _) => (PowerState::Suspended, "suspended"),
            (PowerOp::Reset, PowerState::PoweredOn) => (PowerState::PoweredOn, "reset"),
            (PowerOp::Reset, _) => return Err(not_allowed()),
        };
        vm.set_power(to, false, now);
        lock(&self.transfers).revoke_vm(id, reason, now);
        Ok(())
    }

    /// Sets a VM's power state directly, as an administrator clicking in vSphere would
    /// (no already-in-state errors). Revokes the VM's transfers when the state changes.
    pub fn set_power_state(
        &self,
        id: &str,
        to: PowerState,
        now: OffsetDateTime,
    ) -> Result<(), Fault> {
        let mut vm = self
            .vms
            .get_mut(id)
            .ok_or_else(|| Fault::VmNotFound { vm: id.to_owned() })?;
        let reason = match (vm.power, to) {
            (a, b) if a == b && to != PowerState::PoweredOn => return Ok(()),
            (PowerState::PoweredOn, PowerState::PoweredOn) => "reset",
            (_, PowerState::PoweredOn) => "powered on",
            (_, PowerState::PoweredOff) => "powered off",
            (_, PowerState::Suspended) => "suspended",
        };
        vm.set_power(to, to == PowerState::PoweredOff, now);
        lock(&self.transfers).revoke_vm(id, reason, now);
        Ok(())
    }

    /// Sets whether Tools run in a VM (admin).
    pub fn set_tools_running(&self, id: &str, running: bool) -> Result<(), Fault> {
        self.with_vm_mut(id, |vm| {
            vm.runtime.rebooting_until = None;
            vm.tools.running = running && vm.power == PowerState::PoweredOn
        })
    }

    /// Registers a VM (admin). Replaces one with the same id, revoking its transfers.
    pub fn add_vm(&self, vm: VirtualMachine, now: OffsetDateTime) {
        lock(&self.transfers).revoke_vm(&vm.id, "unregistered", now);
        self.vms.insert(vm);
    }

    /// Unregisters a VM (admin), revoking its transfers.
    pub fn unregister(&self, id: &str, now: OffsetDateTime) -> Result<(), Fault> {
        self.vms
            .remove(id)
            .ok_or_else(|| Fault::VmNotFound { vm: id.to_owned() })?;
        lock(&self.transfers).revoke_vm(id, "unregistered", now);
        Ok(())
    }

    /// Migrates a VM to another host (admin), revoking its transfers.
    pub fn migrate(&self, id: &str, host: &str, now: OffsetDateTime) -> Result<(), Fault> {
        let mut vm = self
            .vms
            .get_mut(id)
            .ok_or_else(|| Fault::VmNotFound { vm: id.to_owned() })?;
        vm.host = host.to_owned();
        lock(&self.transfers).revoke_vm(id, "migrated", now);
        Ok(())
    }

    /// Revokes every transfer (used when the whole vCenter is reset or shut down).
    pub fn revoke_all(&self, reason: &str, now: OffsetDateTime) {
        let ids = self.vm_ids();
        let mut transfers = lock(&self.transfers);
        for id in ids {
            transfers.revoke_vm(&id, reason, now);
        }
    }

    // ----------------------------------------------------------------- guest operations

    /// Runs a guest operation after vCenter's common checks, in its order: VM exists, vCenter
    /// privilege on it, VM on, Tools running, Tools able, guest credentials, VM busy.
    ///
    /// The privilege comes before anything the guest answers, as vCenter's authorization
    /// layer runs before the method, so a user without it learns nothing about guest accounts.
    pub fn guest<R>(
        &self,
        caller: &VcUser,
        id: &str,
        creds: &Credentials,
        privilege: &'static str,
        op: impl FnOnce(&mut VirtualMachine, &GuestUser, &mut TransferTable) -> Result<R, Fault>,
    ) -> Result<R, Fault> {
        let mut vm = self
            .vms
            .get_mut(id)
            .ok_or_else(|| Fault::VmNotFound { vm: id.to_owned() })?;
        let user = Self::guest_checks(&vm, caller, creds, privilege)?.clone();
        let mut transfers = lock(&self.transfers);
        op(&mut vm, &user, &mut transfers)
    }

    /// [`Vcenter::guest`] for an operation that only reads the VM: the same checks in the same
    /// order, on a shared borrow, so that reading neither waits for other readers nor counts
    /// as a change.
    pub fn guest_read<R>(
        &self,
        caller: &VcUser,
        id: &str,
        creds: &Credentials,
        privilege: &'static str,
        op: impl FnOnce(&VirtualMachine, &GuestUser) -> Result<R, Fault>,
    ) -> Result<R, Fault> {
        let vm = self
            .vms
            .get(id)
            .ok_or_else(|| Fault::VmNotFound { vm: id.to_owned() })?;
        let user = Self::guest_checks(&vm, caller, creds, privilege)?;
        op(&vm, user)
    }

    /// The common guest checks after the VM is found, in vCenter's order; the guest user.
    fn guest_checks<'vm>(
        vm: &'vm VirtualMachine,
        caller: &VcUser,
        creds: &Credentials,
        privilege: &'static str,
    ) -> Result<&'vm GuestUser, Fault> {
        let id = &vm.id;
        Self::require(caller, privilege)?;
        if vm.power != PowerState::PoweredOn {
            return Err(Fault::VmNotRunning { vm: id.to_owned() });
        }
        if !vm.tools.running {
            return Err(Fault::ToolsNotRunning { vm: id.to_owned() });
        }
        if vm.tools.too_old() {
            return Err(Fault::ToolsTooOld { vm: id.to_owned() });
        }
        if !vm.tools.guest_ops_enabled {
            return Err(Fault::GuestOpsDisabled { vm: id.to_owned() });
        }
        let user = Self::guest_login(vm, creds)?;
        if vm.busy {
            return Err(Fault::GuestBusy { vm: id.to_owned() });
        }
        Ok(user)
    }

    fn guest_login<'vm>(
        vm: &'vm VirtualMachine,
        creds: &Credentials,
    ) -> Result<&'vm GuestUser, Fault> {
        let user = match &creds.auth {
            GuestAuth::Password { user, password } => vm
                .user(user)
                .filter(|u| u.password == *password)
                .ok_or(Fault::GuestAuthFailed)?,
            GuestAuth::Saml { token, user } => {
                let mapped = vm.saml_tokens.get(token).ok_or(Fault::GuestAuthFailed)?;
                if user.as_ref().is_some_and(|u| vm.user(u) != vm.user(mapped)) {
                    return Err(Fault::GuestAuthFailed);
                }
                vm.user(mapped).ok_or(Fault::GuestAuthFailed)?
            }
            GuestAuth::Ticket { ticket } => vm
                .runtime
                .tickets
                .user(ticket)
                .and_then(|u| vm.user(u))
                .ok_or(Fault::GuestAuthFailed)?,
        };
        if creds.interactive && !user.interactive {
            return Err(Fault::NoInteractiveSession {
                user: user.name.clone(),
            });
        }
        Ok(user)
    }

    /// Parses `raw` for `vm`'s guest and fails with `RESOURCE_BUSY` if a transfer in flight
    /// holds it (or anything below it), whichever links lead there.
    fn free_path(
        vm: &VirtualMachine,
        raw: &str,
        transfers: &TransferTable,
    ) -> Result<GuestPath, Fault> {
        let path = vm.fs.path(raw)?;
        if transfers.holds(&vm.id, &vm.fs.real_path_ignoring_permissions(&path)) {
            return Err(Fault::GuestBusy { vm: vm.id.clone() });
        }
        Ok(path)
    }

    /// [`Vcenter::free_path`] for an operation that removes or moves what `raw` names: a path
    /// ending in `.` or `..` is refused where the guest refuses it, instead of folding onto the
    /// directory it stands in.
    fn removable_path(
        vm: &VirtualMachine,
        raw: &str,
        transfers: &TransferTable,
    ) -> Result<GuestPath, Fault> {
        if GuestPath::ends_in_dot(vm.family(), raw) {
            return Err(Fault::InvalidPath {
                path: raw.to_owned(),
                why: "a path ending in '.' or '..' cannot be removed or moved",
            });
        }
        Self::free_path(vm, raw, transfers)
    }

    /// The default directory for temporary files: `/tmp`, or the user's `%TEMP%` on Windows.
    fn temp_dir(vm: &VirtualMachine, user: &GuestUser) -> Result<GuestPath, Fault> {
        let raw = match (&user.temp_dir, vm.family()) {
            (Some(dir), _) => dir.clone(),
            (None, guest_fs::Family::Linux) => "/tmp".into(),
            (None, guest_fs::Family::Windows) => process::environment::windows_temp(user),
        };
        vm.fs.path(&raw)
    }

    /// vim25's `AcquireCredentialsInGuest`: after the common guest checks with `creds`, a new
    /// ticket standing for the same guest user, valid until released or the guest's next boot.
    pub fn acquire_guest_ticket(
        &self,
        caller: &VcUser,
        id: &str,
        creds: &Credentials,
        ids: &IdGen,
    ) -> Result<String, Fault> {
        self.guest(caller, id, creds, inventory::GUEST_QUERY, |vm, user, _| {
            let ticket = ids.session_id();
            vm.runtime.tickets.issue(ticket.clone(), &user.name)?;
            Ok(ticket)
        })
    }

    /// vim25's `ReleaseCredentialsInGuest`: ends the ticket `creds` carries, after the common
    /// guest checks with it (so an unknown ticket is bad guest credentials).
    pub fn release_guest_ticket(
        &self,
        caller: &VcUser,
        id: &str,
        creds: &Credentials,
    ) -> Result<(), Fault> {
        let GuestAuth::Ticket { ticket } = &creds.auth else {
            return Err(Fault::InvalidInput {
                detail: "auth: only a TicketedSessionAuthentication can be released".into(),
            });
        };
        self.guest(caller, id, creds, inventory::GUEST_QUERY, |vm, _, _| {
            vm.runtime.tickets.release(ticket);
            Ok(())
        })
    }

    /// `Files.createTemporary` / `Directories.createTemporary`.
    #[expect(
        clippy::too_many_arguments,
        reason = "mirrors the vAPI operation's inputs"
    )]
    pub fn create_temporary(
        &self,
        caller: &VcUser,
        id: &str,
        creds: &Credentials,
        prefix: &str,
        suffix: &str,
        parent: Option<&str>,
        directory: bool,
        ids: &IdGen,
        now: OffsetDateTime,
    ) -> Result<String, Fault> {
        self.guest(
            caller,
            id,
            creds,
            inventory::GUEST_MODIFY,
            |vm, user, transfers| {
                let parent = parent
                    .map(|p| Self::free_path(vm, p, transfers))
                    .transpose()?;
                let default = Self::temp_dir(vm, user)?;
                let created = vm.fs.create_temporary(
                    user,
                    parent.as_ref(),
                    &default,
                    prefix,
                    suffix,
                    directory,
                    &mut || ids.temp_part(),
                    now,
                )?;
                Ok(created.display())
            },
        )
    }

    /// `Files.list`; `detailed` entries carry their whole information (vim25's listing).
    #[expect(
        clippy::too_many_arguments,
        reason = "mirrors the vAPI operation's inputs"
    )]
    pub fn list_files(
        &self,
        caller: &VcUser,
        id: &str,
        creds: &Credentials,
        path: &str,
        index: u64,
        size: u64,
        detailed: bool,
        matches: &dyn Fn(&str) -> bool,
    ) -> Result<ListPage, Fault> {
        self.guest_read(caller, id, creds, inventory::GUEST_QUERY, |vm, user| {
            let path = vm.fs.path(path)?;
            vm.fs.list(&path, user, index, size, detailed, matches)
        })
    }

    /// `Files.get`.
    pub fn stat(
        &self,
        caller: &VcUser,
        id: &str,
        creds: &Credentials,
        path: &str,
    ) -> Result<FileInfo, Fault> {
        self.guest_read(caller, id, creds, inventory::GUEST_QUERY, |vm, user| {
            let path = vm.fs.path(path)?;
            vm.fs.stat(&path, user)
        })
    }

    /// `Files.delete`.
    pub fn delete_file(
        &self,
        caller: &VcUser,
        id: &str,
        creds: &Credentials,
        path: &str,
    ) -> Result<(), Fault> {
        self.guest(
            caller,
            id,
            creds,
            inventory::GUEST_MODIFY,
            |vm, user, transfers| {
                let path = Self::removable_path(vm, path, transfers)?;
                vm.fs.delete_file(&path, user)
            },
        )
    }

    /// `Files.move`.
    pub fn move_file(
        &self,
        caller: &VcUser,
        id: &str,
        creds: &Credentials,
        from: &str,
        to: &str,
        overwrite: bool,
    ) -> Result<(), Fault> {
        self.guest(
            caller,
            id,
            creds,
            inventory::GUEST_MODIFY,
            |vm, user, transfers| {
                let from = Self::removable_path(vm, from, transfers)?;
                let to = Self::removable_path(vm, to, transfers)?;
                vm.fs.move_file(&from, &to, user, overwrite)
            },
        )
    }

    /// `Files.update`.
    pub fn update_file(
        &self,
        caller: &VcUser,
        id: &str,
        creds: &Credentials,
        path: &str,
        attrs: &AttrUpdate,
    ) -> Result<(), Fault> {
        self.guest(
            caller,
            id,
            creds,
            inventory::GUEST_MODIFY,
            |vm, user, transfers| {
                let path = Self::free_path(vm, path, transfers)?;
                vm.fs.update(&path, user, attrs)
            },
        )
    }

    /// `Directories.create`.
    pub fn create_dir(
        &self,
        caller: &VcUser,
        id: &str,
        creds: &Credentials,
        path: &str,
        parents: bool,
        now: OffsetDateTime,
    ) -> Result<(), Fault> {
        self.guest(
            caller,
            id,
            creds,
            inventory::GUEST_MODIFY,
            |vm, user, transfers| {
                let path = Self::free_path(vm, path, transfers)?;
                vm.fs.mkdir(&path, user, parents, now)
            },
        )
    }

    /// `Directories.delete`.
    pub fn delete_dir(
        &self,
        caller: &VcUser,
        id: &str,
        creds: &Credentials,
        path: &str,
        recursive: bool,
    ) -> Result<(), Fault> {
        self.guest(
            caller,
            id,
            creds,
            inventory::GUEST_MODIFY,
            |vm, user, transfers| {
                let path = Self::removable_path(vm, path, transfers)?;
                vm.fs.rmdir(&path, user, recursive)
            },
        )
    }

    /// `Directories.move`.
    pub fn move_dir(
        &self,
        caller: &VcUser,
        id: &str,
        creds: &Credentials,
        from: &str,
        to: &str,
    ) -> Result<(), Fault> {
        self.guest(
            caller,
            id,
            creds,
            inventory::GUEST_MODIFY,
            |vm, user, transfers| {
                let from = Self::removable_path(vm, from, transfers)?;
                let to = Self::removable_path(vm, to, transfers)?;
                vm.fs.move_dir(&from, &to, user)
            },
        )
    }

    // ----------------------------------------------------------------- transfers

    /// `Transfers.create`: checks the path in vCenter's order and issues a token. `privilege`
    /// is the one the API asked through needs (`Transfers.create`: `GuestOperations.Modify`
    /// both ways; vim25's `InitiateFileTransferFromGuest`: `GuestOperations.Query`). A download
    /// is `described` on request: the file's information as the checks saw it (vim25's
    /// `FileTransferInformation` reports its size and attributes).
    #[expect(clippy::too_many_arguments, reason = "mirrors the operation's inputs")]
    pub fn create_transfer(
        &self,
        caller: &VcUser,
        id: &str,
        creds: &Credentials,
        request: &TransferRequest,
        privilege: &'static str,
        describe: bool,
        ids: &IdGen,
        now: OffsetDateTime,
    ) -> Result<Issued, Fault> {
        // The token is issued while the VM entry is held, so that a power change cannot slip
        // in between the checks and the issue and leave a live URL on a stopped VM.
        self.guest(caller, id, creds, privilege, |vm, user, transfers| {
            let path = Self::free_path(vm, &request.path, transfers)?;
            let mut file = None;
            match &request.upload {
                None => {
                    vm.fs.read(&path, user)?;
                    if describe {
                        file = Some(vm.fs.stat(&path, user)?);
                    }
                }
                Some(spec) => {
                    match (vm.family(), &spec.attrs.windows, &spec.attrs.posix) {
                        (guest_fs::Family::Linux, Some(_), _) => {
                            return Err(Fault::AttributesNotApplicable { given: "windows" });
                        }
                        (guest_fs::Family::Windows, _, Some(_)) => {
                            return Err(Fault::AttributesNotApplicable { given: "posix" });
                        }
                        _ => {}
                    }
                    vm.fs.check_upload(
                        &path,
                        user,
                        spec.size,
                        spec.overwrite,
                        spec.attrs.posix.as_ref(),
                    )?;
                }
            }
            // The URL reaches the file the checks were made on, through whatever directory
            // links the path took.
            let path = vm.fs.real_path(&path, user)?;
            let token = ids.token();
            let direction = match &request.upload {
                None => Direction::Download,
                Some(spec) => Direction::Upload(spec.clone()),
            };
            let tid = transfers.issue(token.clone(), id, path, &user.name, direction, now);
            Ok(Issued {
                id: tid,
                token,
                file,
            })
        })
    }

    /// `/guestFile`: redeems a token. On success the transfer is in flight and, for a download,
    /// the ticket carries the content.
    pub fn begin_transfer(
        &self,
        tid: u64,
        token: &str,
        method: Redeem,
        now: OffsetDateTime,
    ) -> Result<Ticket, Fault> {
        // Lock order everywhere: VM entry, then the transfer table.
        let vm_id = lock(&self.transfers).all_live_vm(tid).unwrap_or_default();
        // What the guest's processes wrote by now is what a download sends.
        self.settle(&vm_id, now);
        let vm = self.vms.get(&vm_id);
        let mut transfers = lock(&self.transfers);
        let transfer = transfers.begin(tid, token, method, now)?;
        let Some(vm) = vm else {
            transfers.finish(tid, false, now);
            return Err(Fault::TransferRefused {
                refusal: Refusal::Revoked,
            });
        };
        let blob = match transfer.direction {
            Direction::Download => match vm.fs.read_ignoring_permissions(&transfer.path) {
                Some(b) => Some(b),
                None => {
                    // The file went away after the URL was issued: nothing to send, and a
                    // failed attempt leaves the URL usable.
                    transfers.release(tid);
                    return Err(Fault::not_found(transfer.path.display()));
                }
            },
            Direction::Upload(_) => None,
        };
        Ok(Ticket { transfer, blob })
    }

    /// Ends a download (used up either way).
    pub fn finish_download(&self, tid: u64, now: OffsetDateTime) {
        lock(&self.transfers).finish(tid, true, now);
    }

    /// Gives an upload token back after a failed attempt.
    pub fn abort_upload(&self, tid: u64, now: OffsetDateTime) {
        lock(&self.transfers).finish(tid, false, now);
    }

    /// Lands a completed upload atomically, unless the transfer was revoked meanwhile or the
    /// guest changed so that the write is no longer allowed.
    pub fn commit_upload(
        &self,
        ticket: &Transfer,
        blob: Blob,
        now: OffsetDateTime,
    ) -> Result<(), Fault> {
        let Direction::Upload(spec) = &ticket.direction else {
            return Err(Fault::TransferWrongMethod { expected: "GET" });
        };
        let Some(mut vm) = self.vms.get_mut(&ticket.vm) else {
            return Err(Fault::TransferAborted);
        };
        let mut transfers = lock(&self.transfers);
        if !transfers.still_in_flight(ticket.id) || ticket.cancel().is_cancelled() {
            return Err(Fault::TransferAborted);
        }
        let result = (|| {
            let user = vm
                .user(&ticket.user)
                .cloned()
                .ok_or(Fault::GuestAuthFailed)?;
            vm.fs.check_upload(
                &ticket.path,
                &user,
                blob.len(),
                spec.overwrite,
                spec.attrs.posix.as_ref(),
            )?;
            let a = &spec.attrs;
            let mut meta = Meta::new_for(&user, now, 0o644);
            meta.modified = a.modified.unwrap_or(now);
            meta.accessed = a.accessed.unwrap_or(now);
            if let Some(w) = &a.windows {
                meta.hidden = w.hidden.unwrap_or(false);
                meta.read_only = w.read_only.unwrap_or(false);
            }
            if let Some(p) = &a.posix {
                meta.owner = p.owner.unwrap_or(user.uid);
                meta.group = p.group.unwrap_or(user.gid);
                meta.mode = p.mode.unwrap_or(0o644);
            }
            vm.fs.write(&ticket.path, blob, meta)
        })();
        transfers.finish(ticket.id, result.is_ok(), now);
        result
    }

    /// Every transfer the table knows, live first.
    pub fn transfers(&self) -> Vec<Transfer> {
        lock(&self.transfers).all()
    }

    /// Live (unused or in-flight) transfers.
    pub fn live_transfer_count(&self) -> usize {
        lock(&self.transfers).live_count()
    }
}

/// Orders `vm-9` before `vm-10`.
fn natural_id_order(a: &str, b: &str) -> std::cmp::Ordering {
    fn split(s: &str) -> (&str, u64) {
        let digits = s.trim_start_matches(|c: char| !c.is_ascii_digit());
        (
            &s[..s.len() - digits.len()],
            digits.parse().unwrap_or(u64::MAX),
        )
    }
    split(a).cmp(&split(b)).then_with(|| a.cmp(b))
}
