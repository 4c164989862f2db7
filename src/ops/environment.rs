//! Owns the guest environment operations: `Environment.list` and `get`. Their journal entries
//! name the VM only: variable values never reach the journal.

use super::{Context, Operation, Target};
use crate::model::{Credentials, Fault};

/// `environment.list`: the guest user's variables, or those of `names` that are set.
#[derive(Debug, Clone)]
pub struct List {
    /// The VM id.
    pub vm: String,
    /// Guest credentials.
    pub credentials: Credentials,
    /// The variables to read; empty reads them all.
    pub names: Vec<String>,
}

impl Operation for List {
    const NAME: &'static str = "environment.list";
    type Output = Vec<(String, String)>;

    fn target(&self) -> Target<'_> {
        Target::vm(&self.vm)
    }

    fn run(self, cx: &Context<'_>) -> Result<Vec<(String, String)>, Fault> {
        cx.vcenter().list_environment(
            cx.caller()?,
            &self.vm,
            &self.credentials,
            &self.names,
            cx.now(),
        )
    }
}

/// `environment.get`: one variable.
#[derive(Debug, Clone)]
pub struct Get {
    /// The VM id.
    pub vm: String,
    /// Guest credentials.
    pub credentials: Credentials,
    /// The variable's name.
    pub name: String,
}

impl Operation for Get {
    const NAME: &'static str = "environment.get";
    type Output = String;

    fn target(&self) -> Target<'_> {
        Target::vm(&self.vm)
    }

    fn run(self, cx: &Context<'_>) -> Result<String, Fault> {
        cx.vcenter().get_environment(
            cx.caller()?,
            &self.vm,
            &self.credentials,
            &self.name,
            cx.now(),
        )
    }
}
