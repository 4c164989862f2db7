//! Owns the operations: one unit per vCenter operation, with its name, its typed input, the
//! checks vCenter runs before it and its call into the model. The wires (REST, JSON-RPC, SOAP)
//! turn a request into an operation's input and its output into their own shape; they hold no
//! vCenter rules.
//!
//! Calling an operation ([`Call::invoke`]) does, in this order: name the request (journal,
//! metrics, log) and note the VM and guest path its input names, apply the failure-injection
//! rules (they model server-side failures, so they fire before authentication), authenticate the
//! vCenter session when the operation needs one, refuse a bad input (after authentication, as
//! vCenter does), let guest time pass on the VM it names, and run the operation. The
//! operation's own checks (VM state, Tools, guest credentials, privilege, in vCenter's order)
//! happen in the model as part of its call.

/// Operations that take a VM id and change it through one model call,
/// `Vcenter::$method(caller, vm, $op, now)`: the power changes and the guest power requests.
macro_rules! vm_change_ops {
    ($method:ident: $($(#[$doc:meta])* $ty:ident => $op:expr, $name:literal),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $ty {
            /// The VM id.
            pub vm: String,
        }

        impl $crate::ops::Operation for $ty {
            const NAME: &'static str = $name;
            type Output = ();

            fn target(&self) -> $crate::ops::Target<'_> {
                $crate::ops::Target::vm(&self.vm)
            }

            fn run(self, cx: &$crate::ops::Context<'_>) -> Result<(), $crate::model::Fault> {
                cx.vcenter().$method(cx.caller()?, &self.vm, $op, cx.now())
            }
        }
    )*};
}

pub mod directories;
pub mod environment;
pub mod files;
pub mod guest_auth;
pub mod guest_file;
pub mod guest_power;
pub mod processes;
pub mod session;
pub mod transfers;
pub mod vm;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use time::OffsetDateTime;

use crate::ids::IdGen;
use crate::injection::{Effect, RequestFacts};
use crate::model::inventory::VcUser;
use crate::model::{Fault, Vcenter};
use crate::state::{AppState, Settings};

/// What an operation needs from the request before it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// A live vCenter session (401 `UNAUTHENTICATED` without one).
    Session,
    /// Nothing: the operation checks its own credentials (login, `/guestFile` tokens).
    Anyone,
}

/// One vCenter operation. The value is its input, already typed; [`Operation::run`] is its call.
pub trait Operation: Sized + Send {
    /// The operation's name in the journal, the metrics, the log and failure-injection rules,
    /// e.g. `files.list`. The same on every wire.
    const NAME: &'static str;
    /// What the request must carry before the operation runs.
    const ACCESS: Access = Access::Session;
    /// What the operation gives back.
    type Output;

    /// The VM and guest path the operation names.
    fn target(&self) -> Target<'_> {
        Target::default()
    }

    /// Runs the operation: its checks in vCenter's order, then its change or query.
    fn run(self, cx: &Context<'_>) -> Result<Self::Output, Fault>;
}

/// The VM and guest path an operation names (journal entries and rule matching).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Target<'a> {
    /// The VM id.
    pub vm: Option<&'a str>,
    /// The guest path.
    pub guest_path: Option<&'a str>,
}

impl<'a> Target<'a> {
    /// A VM.
    pub fn vm(vm: &'a str) -> Self {
        Self {
            vm: Some(vm),
            guest_path: None,
        }
    }

    /// A guest path on a VM.
    pub fn guest(vm: &'a str, path: &'a str) -> Self {
        Self {
            vm: Some(vm),
            guest_path: Some(path),
        }
    }
}

/// How the client reached the server, as far as an operation's answer depends on it: transfer
/// URLs carry the port the client called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin {
    /// The port the client called (see [`transfers::called_port`]).
    pub port: u16,
}

/// What an operation can reach while it runs.
#[derive(Debug)]
pub struct Context<'a> {
    state: &'a AppState,
    vcenter: Arc<Vcenter>,
    now: OffsetDateTime,
    caller: Option<Arc<VcUser>>,
    session: Option<&'a str>,
    origin: Origin,
}

impl Context<'_> {
    /// The emulated vCenter.
    pub fn vcenter(&self) -> &Vcenter {
        &self.vcenter
    }

    /// The instant the request is handled at.
    pub fn now(&self) -> OffsetDateTime {
        self.now
    }

    /// The seeded id generator.
    pub fn ids(&self) -> &IdGen {
        self.state.ids()
    }

    /// The server settings.
    pub fn settings(&self) -> &Settings {
        self.state.settings()
    }

    /// The authenticated vCenter user. Only for operations with [`Access::Session`], for which
    /// the caller is known before they run.
    pub fn caller(&self) -> Result<&VcUser, Fault> {
        self.caller.as_deref().ok_or(Fault::SessionRequired)
    }

    /// The session id the request carried, if any.
    pub fn session(&self) -> Result<&str, Fault> {
        self.session.ok_or(Fault::SessionRequired)
    }

    /// How the client reached the server.
    pub fn origin(&self) -> Origin {
        self.origin
    }
}

/// Why an operation did not give an output: a vCenter fault, or a failure-injection effect the
/// wire answers in its own way.
#[derive(Debug, Clone, PartialEq)]
pub enum Stop {
    /// A fault, rendered by the wire through the catalogue.
    Fault(Fault),
    /// A raw HTTP answer chosen by a rule: the status, and a body (JSON, or text when it is a
    /// string).
    Respond {
        /// HTTP status (100-599, checked when the rule was added).
        status: u16,
        /// The body.
        body: Option<serde_json::Value>,
    },
    /// Close the connection without answering.
    Reset,
}

impl From<Fault> for Stop {
    fn from(f: Fault) -> Self {
        Self::Fault(f)
    }
}

/// How a rule shapes a streamed answer (`/guestFile` downloads and uploads).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Shaping {
    /// Cut the stream after this many bytes.
    pub truncate_after: Option<u64>,
    /// Throttle to this many bytes per second.
    pub bytes_per_second: Option<u64>,
}

/// The most bytes of a client-supplied text (a guest path, a VM id) a journal entry keeps.
pub const RECORDED_TEXT_MAX: usize = 1024;

/// What the operation layer learned about one request: filled while it is handled, read by the
/// journal, the metrics and the log when its answer goes out.
#[derive(Debug, Default)]
pub struct Record(Mutex<Recorded>);

/// The facts a [`Record`] holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recorded {
    /// The operation's name, once the wire has chosen one.
    pub operation: Option<&'static str>,
    /// The VM it names (at most [`RECORDED_TEXT_MAX`] bytes).
    pub vm: Option<String>,
    /// The guest path it names (at most [`RECORDED_TEXT_MAX`] bytes).
    pub guest_path: Option<String>,
    /// The error type of the fault it ended with, on whichever wire.
    pub error_type: Option<&'static str>,
    /// Why it was refused, or which rule fired, in words.
    pub note: Option<String>,
}

impl Record {
    fn with<R>(&self, f: impl FnOnce(&mut Recorded) -> R) -> R {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// What is known, taken out (the record is left empty): for the one reader at the end of a
    /// request.
    pub fn take(&self) -> Recorded {
        self.with(std::mem::take)
    }

    /// Names the request's operation.
    pub fn set_operation(&self, name: &'static str) {
        self.with(|r| r.operation = Some(name));
    }

    /// Notes why the request ended as it did, in words (at most [`RECORDED_TEXT_MAX`] bytes:
    /// a refusal's message can quote a client's path).
    pub fn note(&self, note: impl Into<String>) {
        let note = bounded_owned(note.into());
        self.with(|r| r.note = Some(note));
    }

    /// Notes the fault the request ended with.
    pub fn fault(&self, fault: &Fault) {
        let entry = crate::catalogue::describe(fault);
        self.with(|r| r.error_type = Some(entry.row.error_type.as_str()));
    }

    fn target(&self, t: Target<'_>) {
        self.with(|r| {
            r.vm = t.vm.map(bounded);
            r.guest_path = t.guest_path.map(bounded);
        });
    }
}

/// `text`, cut to at most [`RECORDED_TEXT_MAX`] bytes on a character boundary, with a marker
/// saying how long it was.
pub fn bounded(text: &str) -> String {
    if text.len() <= RECORDED_TEXT_MAX {
        return text.to_owned();
    }
    let mut end = RECORDED_TEXT_MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &text[..end], text.len())
}

/// [`bounded`] for a text the caller owns: kept as it is when it is short enough.
pub fn bounded_owned(text: String) -> String {
    if text.len() <= RECORDED_TEXT_MAX {
        text
    } else {
        bounded(&text)
    }
}

/// One request's call of an operation, as a wire makes it.
#[derive(Debug)]
pub struct Call<'a> {
    /// The server.
    pub state: &'a AppState,
    /// The vCenter session id the request carried, as the wire found it (borrowed from the
    /// request where the wire can).
    pub session: Option<std::borrow::Cow<'a, str>>,
    /// The HTTP method (rules can match it).
    pub method: &'a str,
    /// How the client reached the server.
    pub origin: Origin,
    /// Where the journal's facts go; `None` for calls nobody records.
    pub record: Option<&'a Record>,
}

impl Call<'_> {
    /// Invokes `O` with `input` (the wire's reading of the request, or why it could not read
    /// it). Authentication comes before input errors, as on vCenter.
    pub async fn invoke<O: Operation>(&self, input: Result<O, Fault>) -> Result<O::Output, Stop> {
        self.invoke_shaped(input).await.map(|(out, _)| out)
    }

    /// Like [`Call::invoke`], also giving how a rule shapes the streamed answer.
    pub async fn invoke_shaped<O: Operation>(
        &self,
        input: Result<O, Fault>,
    ) -> Result<(O::Output, Shaping), Stop> {
        let result = self.run(input).await;
        if let (Some(record), Err(Stop::Fault(f))) = (self.record, &result) {
            record.fault(f);
        }
        result
    }

    async fn run<O: Operation>(
        &self,
        input: Result<O, Fault>,
    ) -> Result<(O::Output, Shaping), Stop> {
        if let Some(record) = self.record {
            record.set_operation(O::NAME);
            if let Ok(op) = &input {
                record.target(op.target());
            }
        }
        // Rules model server-side failures: they fire before the session is looked at.
        let shaping = match &input {
            Ok(op) => self.inject(op).await?,
            Err(_) => Shaping::default(),
        };
        let vcenter = self.state.vcenter();
        // One instant for the whole call (read after any injected delay): the session's
        // expiry and the operation see the same time.
        let now = self.state.now();
        let caller = match O::ACCESS {
            Access::Session => {
                let id = self.session.as_deref().ok_or(Fault::SessionRequired)?;
                Some(vcenter.caller(id, now)?)
            }
            Access::Anyone => None,
        };
        let op = input?;
        let cx = Context {
            state: self.state,
            vcenter,
            now,
            caller,
            session: self.session.as_deref(),
            origin: self.origin,
        };
        // Guest time passes before the operation looks at its VM: processes run what became
        // due and apply the guest changes they asked for.
        if let Some(vm) = op.target().vm {
            cx.vcenter().settle(vm, cx.now());
        }
        Ok((op.run(&cx)?, shaping))
    }

    /// Applies the first failure-injection rule that fires for this call.
    async fn inject<O: Operation>(&self, op: &O) -> Result<Shaping, Stop> {
        let rules = self.state.injections();
        if rules.is_empty() {
            return Ok(Shaping::default());
        }
        let target = op.target();
        let facts = RequestFacts {
            operation: O::NAME.to_owned(),
            method: self.method.to_owned(),
            vm: target.vm.map(str::to_owned),
            guest_path: target.guest_path.map(str::to_owned),
        };
        let Some((rule, effect)) = rules.check(&facts, self.state.ids()) else {
            return Ok(Shaping::default());
        };
        if let Some(record) = self.record {
            record.note(format!("fault rule {rule}"));
        }
        match effect {
            Effect::Error {
                error_type,
                message,
            } => Err(Stop::Fault(Fault::Injected {
                error_type: error_type.as_str().to_owned(),
                message,
            })),
            Effect::Status { status, body } => Err(Stop::Respond { status, body }),
            Effect::Reset => Err(Stop::Reset),
            Effect::Delay { ms } => {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Ok(Shaping::default())
            }
            Effect::Truncate { after_bytes } => Ok(Shaping {
                truncate_after: Some(after_bytes),
                ..Shaping::default()
            }),
            Effect::Slow { bytes_per_second } => Ok(Shaping {
                bytes_per_second: Some(bytes_per_second.max(1)),
                ..Shaping::default()
            }),
        }
    }
}
