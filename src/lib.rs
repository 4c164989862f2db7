#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub mod catalogue;
pub mod cli;
pub mod clock;
pub mod config;
pub mod fixtures;
pub mod ids;
pub mod injection;
pub mod journal;
pub mod metrics;
pub mod model;
pub mod ops;
pub mod routes;
pub mod server;
pub mod state;
pub mod tls;
pub mod vapi;

pub use clock::{Clock, ClockMode, ManualClock, SwitchableClock, SystemClock};
pub use fixtures::Fixture;
pub use fixtures::{User, Vm};
pub use injection::{Effect, Injection, InjectionRule};
pub use journal::JournalEntry;
pub use server::VmHandle;
pub use server::{Builder, MockVcenter};
