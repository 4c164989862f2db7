#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

mod catalogue;
mod cli;
mod clock;
mod config;
mod fixtures;
mod ids;
mod injection;
mod journal;
mod metrics;
mod model;
mod ops;
mod routes;
mod server;
mod soap;
mod state;
mod tls;
mod vapi;

pub use catalogue::{ErrorType, Row as CatalogueRow, catalogue as error_catalogue};
pub use clock::{Clock, ClockMode, ManualClock, SwitchableClock, SystemClock};
pub use fixtures::{Fixture, FixtureError, User, Vm};
pub use injection::{Effect, Injection, InjectionRule};
pub use journal::{Journal, JournalEntry, JournalFilter};
pub use model::process::ProcessInfo;
pub use model::shell::{GuestChange, Program, ProgramFile};
pub use model::transfer::{Direction, Transfer, TransferState};
pub use model::{Fault, PowerState, ProcessReport, REBOOT_TOOLS_DOWN};
pub use server::{Builder, MockVcenter, StartError, VmHandle};

/// Runs the `vcmock` command line (the binary's `main`).
#[doc(hidden)]
pub fn run_cli() -> std::process::ExitCode {
    cli::main()
}

/// The SOAP wire's XML reader, for tests that read `/sdk` answers and captured client requests.
#[doc(hidden)]
pub mod soap_xml {
    pub use crate::soap::envelope::{Call, read as read_envelope};
    pub use crate::soap::xml::{Bounds, Element, XmlError, parse};
}
