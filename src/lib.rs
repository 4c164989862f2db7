#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub mod builder;
pub mod cli;
pub mod clock;
pub mod config;
pub mod fixtures;
pub mod ids;
pub mod model;
pub mod routes;
pub mod server;
pub mod state;
pub mod tls;
pub mod toolkit;
pub mod vapi;

pub use builder::{User, Vm, VmHandle};
pub use clock::{Clock, ClockMode, ManualClock, SwitchableClock, SystemClock};
pub use fixtures::Fixture;
pub use server::{Builder, MockVcenter};
pub use toolkit::{Effect, FaultSpec, JournalEntry};
