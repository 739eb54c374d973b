//! End-to-end tests of the `orch` binary: each runs the built program in a temporary git
//! repository with a hermetic environment (see `support`).

#[macro_use]
mod support;

#[path = "cli/bad_input.rs"]
mod bad_input;
#[path = "cli/example.rs"]
mod example;
#[path = "cli/git_layer.rs"]
mod git_layer;
#[path = "cli/help.rs"]
mod help;
#[path = "cli/journey.rs"]
mod journey;
#[path = "cli/json_output.rs"]
mod json_output;
#[path = "cli/options.rs"]
mod options;
#[path = "cli/property.rs"]
mod property;
#[path = "cli/resume.rs"]
mod resume;
#[path = "cli/rules.rs"]
mod rules;
