//! `orch init` and the options that change how transitions are written.

use crate::support::json::*;
use crate::support::*;

#[test]
fn init_writes_config_and_gitattributes_and_is_idempotent() {
    let env = Env::git_only();
    let out = env.orch(&["init"]).succeeds();
    assert!(
        out.stdout.contains("Initialised .orchestration/ in [REPO]")
            || out
                .transcript(&env)
                .contains("Initialised .orchestration/ in [REPO]")
    );
    let cfg = env.read(".orchestration/config.toml");
    for key in [
        "allow_phase_skip = false",
        "allow_user_override = true",
        "require_artifact_validation = true",
        "sync_files_on_phase_complete = false",
        "sync_files_on_close = true",
        "commit = true",
        "code_allowed_from = \"execute\"",
    ] {
        assert!(cfg.contains(key), "{key}: {cfg}");
    }
    assert_eq!(
        env.read(".orchestration/.gitattributes"),
        "tasks/*/events.jsonl merge=union\n"
    );
    // Users' edits survive a second init.
    env.config("[workflow]\nallow_phase_skip = true\n");
    env.orch(&["init"])
        .succeeds()
        .stdout_contains("already set up");
    assert_eq!(
        env.read(".orchestration/config.toml"),
        "[workflow]\nallow_phase_skip = true\n"
    );
}

#[test]
fn a_missing_config_means_the_defaults() {
    let env = Env::started("TSK-1");
    std::fs::remove_file(env.path(".orchestration/config.toml")).unwrap();
    env.orch(&["phase", "complete"]).succeeds();
    env.orch(&["phase", "complete"]).fails(3);
    env.artifact("TSK-1", "CONTEXT.md");
    env.orch(&["phase", "set", "execute"])
        .fails(4)
        .stderr_contains("allow_phase_skip = false");
    env.orch(&["phase", "complete"]).succeeds();
}

#[test]
fn git_commit_false_writes_files_only() {
    let env = Env::with_task("TSK-1");
    env.config("[git]\ncommit = false\n");
    let t: TransitionDoc = env
        .orch(&["session", "start", "TSK-1", "--json"])
        .succeeds()
        .json();
    assert!(t.commit.is_none());
    assert!(env.task_file("TSK-1", "session.json").is_file());
    env.orch(&["phase", "complete"]).succeeds();
    assert_eq!(env.session("TSK-1").current_phase, "research");
}
