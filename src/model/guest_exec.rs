//! Owns the facade of what runs in a guest: letting guest time pass (processes advance, a
//! reboot ends), guest processes, the guest environment, and guest power (shutdown, reboot,
//! standby) through the same power path as the power API.

use std::time::Duration;

use time::OffsetDateTime;

use super::guest_fs::GuestUser;
use super::inventory::{self, VcUser};
use super::process::environment;
use super::process::{ProcessInfo, StartSpec};
use super::shell::{Event, Guest, GuestChange};
use super::transfer::TransferTable;
use super::vm::VirtualMachine;
use super::{Credentials, Fault, PowerState, Vcenter, lock};

/// How long Tools stay down while a guest reboots (`Power.reboot`, or a program that reboots
/// the guest); the guest power state reads `RESETTING` meanwhile.
pub const REBOOT_TOOLS_DOWN: Duration = Duration::from_secs(10);

/// Most rounds of guest changes one settle applies (each round ends or reboots the guest, so
/// more would mean a program that reboots at once, forever).
const SETTLE_ROUNDS: usize = 16;

/// Lets guest time pass on `vm` up to `now`: Tools come back after a reboot, processes run
/// what became due, and the guest changes they ask for are applied in order.
fn settle_vm(vm: &mut VirtualMachine, transfers: &mut TransferTable, now: OffsetDateTime) {
    for _ in 0..SETTLE_ROUNDS {
        if vm.runtime.rebooting_until.is_some_and(|t| t <= now) {
            vm.runtime.rebooting_until = None;
            vm.tools.running = vm.tools.installed && vm.tools.starts_with_guest;
        }
        if vm.power != PowerState::PoweredOn {
            return;
        }
        let events = advance(vm, now);
        if events.is_empty() {
            return;
        }
        apply(vm, transfers, &events);
    }
}

/// Runs `vm`'s due processes and returns the changes they asked for.
fn advance(vm: &mut VirtualMachine, now: OffsetDateTime) -> Vec<Event> {
    let system = vm.system();
    let mut guest = Guest {
        fs: &mut vm.fs,
        programs: &vm.runtime.programs,
        system: &system,
    };
    vm.runtime.processes.advance(&mut guest, now)
}

/// Applies guest changes in order, each at its own time, up to the first that ends the
/// guest's processes.
fn apply(vm: &mut VirtualMachine, transfers: &mut TransferTable, events: &[Event]) {
    for e in events {
        match e.change {
            GuestChange::StopTools => vm.tools.running = false,
            GuestChange::Shutdown => power_path(vm, transfers, PowerState::PoweredOff, e.at),
            GuestChange::Standby => power_path(vm, transfers, PowerState::Suspended, e.at),
            GuestChange::Reboot => reboot_path(vm, transfers, e.at),
        }
        if e.change.ends_processes() {
            return;
        }
    }
}

/// The power path a guest-initiated change takes, as the power API's does: the state changes,
/// processes end, and the VM's transfer URLs are revoked (transfers in flight are cut off).
fn power_path(
    vm: &mut VirtualMachine,
    transfers: &mut TransferTable,
    to: PowerState,
    now: OffsetDateTime,
) {
    let reason = match to {
        PowerState::PoweredOff => "guest shut down",
        PowerState::Suspended => "guest went to standby",
        PowerState::PoweredOn => "powered on",
    };
    vm.set_power(to, to == PowerState::PoweredOff, now);
    transfers.revoke_vm(&vm.id, reason, now);
}

fn reboot_path(vm: &mut VirtualMachine, transfers: &mut TransferTable, now: OffsetDateTime) {
    let back = now
        .checked_add(time::Duration::try_from(REBOOT_TOOLS_DOWN).unwrap_or(time::Duration::ZERO))
        .unwrap_or(now);
    vm.reboot_guest(now, back);
    transfers.revoke_vm(&vm.id, "guest rebooted", now);
}

/// Which guest power request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuestPowerOp {
    /// `Power.shutdown`: a clean shutdown; the VM powers off.
    Shutdown,
    /// `Power.reboot`: the VM stays on; Tools stop for [`REBOOT_TOOLS_DOWN`].
    Reboot,
    /// `Power.standby`: the VM suspends.
    Standby,
}

impl GuestPowerOp {
    /// The `action=` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Shutdown => "shutdown",
            Self::Reboot => "reboot",
            Self::Standby => "standby",
        }
    }
}

impl Vcenter {
    /// Lets guest time pass on VM `id` up to `now` (processes run what became due, a reboot
    /// ends). Unknown VMs are ignored: the operation that follows reports them.
    pub fn settle(&self, id: &str, now: OffsetDateTime) {
        if let Some(mut vm) = self.vms.get_mut(id) {
            let due = vm.runtime.rebooting_until.is_some_and(|t| t <= now)
                || vm.runtime.processes.next_wake().is_some_and(|t| t <= now);
            if due {
                settle_vm(&mut vm, &mut lock(&self.transfers), now);
            }
        }
    }

    /// [`Vcenter::settle`] on every VM (before listing their power states).
    pub fn settle_all(&self, now: OffsetDateTime) {
        for id in self.vm_ids() {
            self.settle(&id, now);
        }
    }

    /// Runs `op` inside the guest after the common guest checks, then applies the guest
    /// changes it returns.
    fn in_guest<R>(
        &self,
        caller: &VcUser,
        id: &str,
        creds: &Credentials,
        privilege: &'static str,
        now: OffsetDateTime,
        op: impl FnOnce(&mut VirtualMachine, &GuestUser) -> Result<(R, Vec<Event>), Fault>,
    ) -> Result<R, Fault> {
        self.settle(id, now);
        self.guest(caller, id, creds, privilege, |vm, user, transfers| {
            let (out, events) = op(vm, user)?;
            apply(vm, transfers, &events);
            Ok(out)
        })
    }

    /// `Processes.create`: starts a program in the guest as the guest user and returns its
    /// pid. It runs at once until it first waits, so a quick command has finished on return.
    pub fn create_process(
        &self,
        caller: &VcUser,
        id: &str,
        creds: &Credentials,
        spec: &StartSpec,
        now: OffsetDateTime,
    ) -> Result<u64, Fault> {
        self.in_guest(
            caller,
            id,
            creds,
            inventory::GUEST_EXECUTE,
            now,
            |vm, user| {
                let env = vm.environment_for(user);
                let system = vm.system();
                let mut guest = Guest {
                    fs: &mut vm.fs,
                    programs: &vm.runtime.programs,
                    system: &system,
                };
                vm.runtime
                    .processes
                    .create(&mut guest, user, spec, &env, now)
            },
        )
    }

    /// `Processes.list`.
    pub fn list_processes(
        &self,
        caller: &VcUser,
        id: &str,
        creds: &Credentials,
        now: OffsetDateTime,
    ) -> Result<Vec<ProcessInfo>, Fault> {
        self.settle(id, now);
        self.guest_read(caller, id, creds, inventory::GUEST_QUERY, |vm, _| {
            Ok(vm.runtime.processes.list(now))
        })
    }

    /// `Processes.get`.
    pub fn get_process(
        &self,
        caller: &VcUser,
        id: &str,
        creds: &Credentials,
        pid: i64,
        now: OffsetDateTime,
    ) -> Result<ProcessInfo, Fault> {
        self.settle(id, now);
        self.guest_read(caller, id, creds, inventory::GUEST_QUERY, |vm, _| {
            let pid = u64::try_from(pid).map_err(|_| Fault::ProcessNotFound { pid })?;
            vm.runtime.processes.get(pid, now)
        })
    }

    /// `Processes.delete`: terminates a process the guest user may terminate.
    pub fn delete_process(
        &self,
        caller: &VcUser,
        id: &str,
        creds: &Credentials,
        pid: i64,
        now: OffsetDateTime,
    ) -> Result<(), Fault> {
        self.in_guest(
            caller,
            id,
            creds,
            inventory::GUEST_EXECUTE,
            now,
            |vm, user| {
                let pid = u64::try_from(pid).map_err(|_| Fault::ProcessNotFound { pid })?;
                Ok(((), vm.runtime.processes.terminate(pid, user, now)?))
            },
        )
    }

    /// `Environment.list`: the guest user's variables (all, or those of `names` that are set),
    /// sorted by name.
    pub fn list_environment(
        &self,
        caller: &VcUser,
        id: &str,
        creds: &Credentials,
        names: &[String],
        now: OffsetDateTime,
    ) -> Result<Vec<(String, String)>, Fault> {
        self.settle(id, now);
        self.guest_read(caller, id, creds, inventory::GUEST_QUERY, |vm, user| {
            Ok(environment::select(&vm.environment_for(user), names))
        })
    }

    /// `Environment.get`: one variable of the guest user's environment.
    pub fn get_environment(
        &self,
        caller: &VcUser,
        id: &str,
        creds: &Credentials,
        name: &str,
        now: OffsetDateTime,
    ) -> Result<String, Fault> {
        self.settle(id, now);
        self.guest_read(caller, id, creds, inventory::GUEST_QUERY, |vm, user| {
            vm.environment_for(user)
                .get(name)
                .map(str::to_owned)
                .ok_or_else(|| Fault::EnvironmentVariableNotFound {
                    name: name.to_owned(),
                })
        })
    }

    /// `Power.shutdown`, `Power.reboot` and `Power.standby` of the guest, checked in vCenter's
    /// order (VM, privilege, power state, Tools, busy) and applied through the same power path
    /// as the power API: transfer URLs are revoked, transfers and processes in flight end.
    ///
    /// The privileges are those the SOAP methods need: `PowerOff` for a shutdown, `Reset` for a
    /// reboot, `Suspend` for a standby. Tools not running is `ToolsUnavailable` (503 on REST),
    /// the fault `ShutdownGuest` declares.
    pub fn guest_power(
        &self,
        caller: &VcUser,
        id: &str,
        op: GuestPowerOp,
        now: OffsetDateTime,
    ) -> Result<(), Fault> {
        self.settle(id, now);
        let mut vm = self
            .vms
            .get_mut(id)
            .ok_or_else(|| Fault::VmNotFound { vm: id.to_owned() })?;
        Self::require(
            caller,
            match op {
                GuestPowerOp::Shutdown => inventory::POWER_OFF,
                GuestPowerOp::Reboot => inventory::RESET,
                GuestPowerOp::Standby => inventory::SUSPEND,
            },
        )?;
        let already = |state: PowerState| Fault::AlreadyInPowerState {
            vm: id.to_owned(),
            state: state.as_str(),
        };
        let not_allowed = |state: PowerState| Fault::PowerOpNotAllowed {
            vm: id.to_owned(),
            op: op.as_str(),
            state: state.as_str(),
        };
        match (op, vm.power) {
            (_, PowerState::PoweredOn) => {}
            (GuestPowerOp::Shutdown, PowerState::Suspended) => {
                return Err(not_allowed(PowerState::Suspended));
            }
            (GuestPowerOp::Shutdown, s) => return Err(already(s)),
            (GuestPowerOp::Standby, PowerState::Suspended) => {
                return Err(already(PowerState::Suspended));
            }
            (_, s) => return Err(not_allowed(s)),
        }
        if !vm.tools.running {
            return Err(Fault::ToolsUnavailable { vm: id.to_owned() });
        }
        if vm.busy {
            return Err(Fault::GuestBusy { vm: id.to_owned() });
        }
        let mut transfers = lock(&self.transfers);
        match op {
            GuestPowerOp::Shutdown => {
                power_path(&mut vm, &mut transfers, PowerState::PoweredOff, now)
            }
            GuestPowerOp::Standby => {
                power_path(&mut vm, &mut transfers, PowerState::Suspended, now)
            }
            GuestPowerOp::Reboot => reboot_path(&mut vm, &mut transfers, now),
        }
        Ok(())
    }
}

/// A process as the admin API reports it: its information, whether it runs and until when it
/// waits, and what it wrote to its own (not redirected) output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessReport {
    /// What `Processes.get` reports.
    pub info: ProcessInfo,
    /// A standing system process (not started by `create`).
    pub system: bool,
    /// Still running.
    pub running: bool,
    /// When it next needs the clock (running processes; `None`: until terminated).
    pub wake: Option<OffsetDateTime>,
    /// Shell commands it has run.
    pub steps: u32,
    /// Its own standard output (bounded).
    pub stdout: Vec<u8>,
    /// Its own standard error (bounded).
    pub stderr: Vec<u8>,
}

impl Vcenter {
    /// Every process of VM `id` at `now`, with what the admin API shows (no guest checks).
    pub fn process_report(
        &self,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<Vec<ProcessReport>, Fault> {
        self.settle(id, now);
        self.with_vm(id, |vm| {
            let table = &vm.runtime.processes;
            table
                .list(now)
                .into_iter()
                .map(|info| match table.process(info.pid) {
                    Some(p) => ProcessReport {
                        system: false,
                        running: p.is_running(),
                        wake: p.wake(),
                        steps: p.steps(),
                        stdout: p.stdout().to_vec(),
                        stderr: p.stderr().to_vec(),
                        info,
                    },
                    None => ProcessReport {
                        info,
                        system: true,
                        running: true,
                        wake: None,
                        steps: 0,
                        stdout: Vec::new(),
                        stderr: Vec::new(),
                    },
                })
                .collect()
        })
    }

    /// Ends a process started by `create` (admin; no guest rights). Fails with
    /// `ProcessNotFound` if no such process runs.
    pub fn kill_process(&self, id: &str, pid: u64, now: OffsetDateTime) -> Result<(), Fault> {
        self.settle(id, now);
        self.with_vm_mut(id, |vm| {
            if vm.runtime.processes.kill(pid, now) {
                Ok(())
            } else {
                Err(Fault::ProcessNotFound {
                    pid: i64::try_from(pid).unwrap_or(i64::MAX),
                })
            }
        })?
    }

    /// Declares programs for VM `id` (admin): `replace` drops the ones declared before. Each
    /// path gets an executable file if nothing is there.
    pub fn declare_programs(
        &self,
        id: &str,
        programs: Vec<super::shell::Program>,
        replace: bool,
        now: OffsetDateTime,
    ) -> Result<(), Fault> {
        self.with_vm_mut(id, |vm| {
            let family = vm.family();
            for p in &programs {
                p.validate(family)
                    .map_err(|detail| Fault::InvalidInput { detail })?;
            }
            if replace {
                vm.runtime.programs.clear();
            }
            for p in programs {
                super::process::ensure_program_file(&mut vm.fs, &p, now);
                vm.runtime.programs.push(p);
            }
            Ok(())
        })?
    }

    /// Replaces the variables VM `id` adds to every guest user's environment (admin).
    pub fn set_environment(&self, id: &str, vars: Vec<(String, String)>) -> Result<(), Fault> {
        self.with_vm_mut(id, |vm| vm.runtime.environment = vars)
    }
}
