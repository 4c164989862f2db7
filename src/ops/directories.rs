//! Owns the guest directory operations: `Directories.create`, `delete`, `move` and
//! `createTemporary`.

use super::files::TemporarySpec;
use super::{Context, Operation, Target};
use crate::model::{Credentials, Fault};

/// `directories.create`.
#[derive(Debug, Clone)]
pub struct Create {
    /// The VM id.
    pub vm: String,
    /// Guest credentials.
    pub credentials: Credentials,
    /// The directory to create.
    pub path: String,
    /// Whether missing parents are created too.
    pub create_parents: bool,
}

impl Operation for Create {
    const NAME: &'static str = "directories.create";
    type Output = ();

    fn target(&self) -> Target<'_> {
        Target::guest(&self.vm, &self.path)
    }

    fn run(self, cx: &Context<'_>) -> Result<(), Fault> {
        cx.vcenter().create_dir(
            cx.caller()?,
            &self.vm,
            &self.credentials,
            &self.path,
            self.create_parents,
            cx.now(),
        )
    }
}

/// `directories.delete`.
#[derive(Debug, Clone)]
pub struct Delete {
    /// The VM id.
    pub vm: String,
    /// Guest credentials.
    pub credentials: Credentials,
    /// The directory.
    pub path: String,
    /// Whether its content goes too.
    pub recursive: bool,
}

impl Operation for Delete {
    const NAME: &'static str = "directories.delete";
    type Output = ();

    fn target(&self) -> Target<'_> {
        Target::guest(&self.vm, &self.path)
    }

    fn run(self, cx: &Context<'_>) -> Result<(), Fault> {
        cx.vcenter().delete_dir(
            cx.caller()?,
            &self.vm,
            &self.credentials,
            &self.path,
            self.recursive,
        )
    }
}

/// `directories.move`.
#[derive(Debug, Clone)]
pub struct Move {
    /// The VM id.
    pub vm: String,
    /// Guest credentials.
    pub credentials: Credentials,
    /// The source.
    pub path: String,
    /// The destination, which must not exist.
    pub new_path: String,
}

impl Operation for Move {
    const NAME: &'static str = "directories.move";
    type Output = ();

    fn target(&self) -> Target<'_> {
        Target::guest(&self.vm, &self.path)
    }

    fn run(self, cx: &Context<'_>) -> Result<(), Fault> {
        cx.vcenter().move_dir(
            cx.caller()?,
            &self.vm,
            &self.credentials,
            &self.path,
            &self.new_path,
        )
    }
}

/// `directories.createTemporary`: a new, empty directory with a unique name.
#[derive(Debug, Clone)]
pub struct CreateTemporary(pub TemporarySpec);

impl Operation for CreateTemporary {
    const NAME: &'static str = "directories.createTemporary";
    type Output = String;

    fn target(&self) -> Target<'_> {
        self.0.target()
    }

    fn run(self, cx: &Context<'_>) -> Result<String, Fault> {
        self.0.create(cx, true)
    }
}
