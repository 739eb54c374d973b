//! orch: a git-native phase workflow for tasks worked on by developers and AI coding agents.
//!
//! The library never prints and never exits: it returns data and [`Error`]s, and the `orch`
//! binary decides how they look.

pub mod agent;
pub mod bugs;
pub mod changes;
pub mod clock;
pub mod code;
pub mod config;
pub mod diagnostic;
pub mod error;
pub mod event;
pub mod fault;
pub mod gates;
pub mod git;
#[cfg(test)]
mod layers;
pub mod links;
pub mod listing;
pub mod memory;
pub mod ops;
pub mod procs;
pub mod project;
pub mod rules;
pub mod search;
pub mod session;
pub mod stat_cache;
pub mod store;
pub mod task;
pub mod templates;
pub mod validate;
pub mod verify;
pub mod workflow;

pub use error::{Error, ErrorKind, Result};
