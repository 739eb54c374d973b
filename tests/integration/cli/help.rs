//! The whole CLI reference, from the doc comments that are the `--help` text: a change to any
//! command's flags or wording shows up here for review.

use crate::support::*;

const COMMANDS: &[&[&str]] = &[
    &[],
    &["init"],
    &["task"],
    &["task", "new"],
    &["task", "list"],
    &["task", "show"],
    &["task", "link"],
    &["session", "start"],
    &["session", "end"],
    &["phase", "complete"],
    &["phase", "set"],
    &["status"],
    &["log"],
    &["events"],
    &["event", "add"],
    &["verify"],
    &["hooks", "install"],
    &["hooks", "uninstall"],
    &["hook"],
    &["changes"],
    &["report"],
    &["completions"],
    &["man"],
    &["mcp"],
    &["demo"],
];

#[test]
fn cli_reference() {
    let env = Env::no_repo();
    let mut all = String::new();
    for cmd in COMMANDS {
        let mut args: Vec<&str> = cmd.to_vec();
        args.push("--help");
        let out = env.orch(&args).succeeds();
        all.push_str(&format!("$ orch {}\n{}\n", args.join(" "), out.stdout));
    }
    snap!("cli_reference", all);
}
