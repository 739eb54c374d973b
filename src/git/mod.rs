//! The git layer: everything orch does to a repository goes through here, made in-process
//! with gix.

pub mod commit;
pub mod history;
pub mod repo;

pub use repo::{Identity, Repo};

pub fn install_signal_handlers() {}
