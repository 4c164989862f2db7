//! Owns the wire: JSON shapes, the error catalogue, and request extractors. No handlers.

pub mod bind;
pub mod dto;
pub mod error;
pub mod extract;
pub mod guest_exec;
pub mod jsonrpc;
pub mod strict;
