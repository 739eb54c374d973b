//! The git layer: everything orch does to a repository goes through here, made in-process
//! with gix.

pub mod commit;
pub mod diff;
pub mod history;
mod index_file;
pub mod inspect;
pub mod interrupt;
pub mod recover;
pub mod rename;
pub mod repo;
pub mod staged;
pub mod status;
pub mod switch;
pub mod trailers;
pub mod xdiff;

pub use commit::{commit_paths, CommitOutcome};
pub use repo::{Identity, Repo};

/// Without this, SIGINT or SIGTERM while orch holds `index.lock` leaves the lock behind and
/// every later git command fails until the user deletes it by hand; and one arriving in the
/// middle of a commit could leave it half done (see `interrupt`). Safe to call repeatedly.
pub fn install_signal_handlers() {
    interrupt::install();
}
