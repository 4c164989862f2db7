//! Owns the guest process operations: `Processes.create`, `list`, `get` and `delete`.

use super::{Context, Operation, Target};
use crate::model::process::{ProcessInfo, StartSpec};
use crate::model::{Credentials, Fault};

/// `processes.create`: starts a program in the guest (`GuestOperations.Execute`).
#[derive(Debug, Clone)]
pub struct Create {
    /// The VM id.
    pub vm: String,
    /// Guest credentials.
    pub credentials: Credentials,
    /// What to start.
    pub spec: StartSpec,
}

impl Operation for Create {
    const NAME: &'static str = "processes.create";
    type Output = u64;

    fn target(&self) -> Target<'_> {
        Target::guest(&self.vm, &self.spec.path)
    }

    fn run(self, cx: &Context<'_>) -> Result<u64, Fault> {
        cx.vcenter().create_process(
            cx.caller()?,
            &self.vm,
            &self.credentials,
            &self.spec,
            cx.now(),
        )
    }
}

/// `processes.list`: the guest's processes (`GuestOperations.Query`).
#[derive(Debug, Clone)]
pub struct List {
    /// The VM id.
    pub vm: String,
    /// Guest credentials.
    pub credentials: Credentials,
    /// Only these processes (vim25's `pids`); every process when empty. An unknown pid is
    /// left out, not refused.
    pub pids: Vec<i64>,
}

impl Operation for List {
    const NAME: &'static str = "processes.list";
    type Output = Vec<ProcessInfo>;

    fn target(&self) -> Target<'_> {
        Target::vm(&self.vm)
    }

    fn run(self, cx: &Context<'_>) -> Result<Vec<ProcessInfo>, Fault> {
        let mut all =
            cx.vcenter()
                .list_processes(cx.caller()?, &self.vm, &self.credentials, cx.now())?;
        if !self.pids.is_empty() {
            all.retain(|p| i64::try_from(p.pid).is_ok_and(|pid| self.pids.contains(&pid)));
        }
        Ok(all)
    }
}

/// A process of a VM, with the credentials to reach it (`get` and `delete`).
#[derive(Debug, Clone)]
pub struct PidSpec {
    /// The VM id.
    pub vm: String,
    /// Guest credentials.
    pub credentials: Credentials,
    /// The process id.
    pub pid: i64,
}

/// `processes.get`: one process (`GuestOperations.Query`).
#[derive(Debug, Clone)]
pub struct Get(pub PidSpec);

impl Operation for Get {
    const NAME: &'static str = "processes.get";
    type Output = ProcessInfo;

    fn target(&self) -> Target<'_> {
        Target::vm(&self.0.vm)
    }

    fn run(self, cx: &Context<'_>) -> Result<ProcessInfo, Fault> {
        let s = self.0;
        cx.vcenter()
            .get_process(cx.caller()?, &s.vm, &s.credentials, s.pid, cx.now())
    }
}

/// `processes.delete`: terminates a process (`GuestOperations.Execute`).
#[derive(Debug, Clone)]
pub struct Delete(pub PidSpec);

impl Operation for Delete {
    const NAME: &'static str = "processes.delete";
    type Output = ();

    fn target(&self) -> Target<'_> {
        Target::vm(&self.0.vm)
    }

    fn run(self, cx: &Context<'_>) -> Result<(), Fault> {
        let s = self.0;
        cx.vcenter()
            .delete_process(cx.caller()?, &s.vm, &s.credentials, s.pid, cx.now())
    }
}
