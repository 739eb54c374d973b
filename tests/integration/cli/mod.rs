//! End-to-end tests of the `orch` binary: each runs the built program in a temporary git
//! repository with a hermetic environment (see `support`).

mod agent_loop;
mod bad_input;
mod branch;
mod docs;
mod example;
mod git_layer;
mod help;
mod journey;
mod json_output;
mod options;
mod property;
mod resume;
mod rules;
