//! The integration tests, all in one test binary so that `cargo test` links them once.
//!
//! Each module runs the built `orch` (or, in `git_layer`, the library) against real git
//! repositories in temporary folders, set up and checked through the one harness in
//! `support`. A new test goes into the module of the command or layer it is about; a new
//! module is a file in `tests/integration/` declared below (the `layout` test fails for a
//! test file that is not reached from here).

#[macro_use]
mod support;

mod bug_corpus;
mod bugs;
mod changes;
mod cli;
mod diff_vs_git;
mod faults;
mod git_layer;
mod hooks;
mod judge;
mod layout;
mod transitions_git;
mod verify;
