//! orch: a git-native phase workflow for tasks worked on by developers and AI coding agents.
//!
//! The library never prints and never exits: it returns data and [`Error`]s, and the `orch`
//! binary decides how they look.

pub mod error;
pub mod git;

pub use error::{Error, ErrorKind, Result};
