//! The integration tests, all in one test binary so that `cargo test` links them once.
//!
//! Most modules run the built `orch` against real git repositories in temporary folders; the
//! library's own tests (`git_layer`, `bug_corpus`) call it in-process. Those that need a
//! repository set it up and check it through the one harness in `support`. A new test goes
//! into the module of the command or layer it is about; a new module is a file in
//! `tests/integration/` declared below (the `layout` test fails for a test file that is not
//! reached from here).

#[macro_use]
mod support;

mod agent_hooks;
mod bug_corpus;
mod bugs;
mod changes;
mod cli;
mod diff_vs_git;
mod doctor;
mod faults;
mod gates;
mod git_layer;
mod hooks;
mod judge;
mod judge_props;
mod layout;
mod mcp;
mod memory;
mod parsers;
mod report;
mod search;
mod tamper;
mod transitions_git;
mod verify;
