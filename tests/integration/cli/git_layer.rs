//! Transitions as git commits, checked with real git as the oracle. These belong to the git
//! layer (src/git/commit.rs).

use crate::support::json::*;
use crate::support::*;

fn subjects(env: &Env) -> Vec<String> {
    env.git(&["log", "--format=%s"])
        .lines()
        .map(str::to_string)
        .collect()
}

fn head(env: &Env) -> String {
    env.git(&["rev-parse", "HEAD"]).trim().to_string()
}

fn assert_clean(env: &Env) {
    assert_eq!(
        env.git(&["status", "--porcelain", "--", ".orchestration"]),
        "",
        "orch left .orchestration dirty"
    );
    env.git(&["fsck", "--strict", "--no-progress"]);
}

#[test]
fn every_transition_is_a_commit_of_the_task_folder_only() {
    let env = Env::git_only();
    env.write("README.md", "hello\n");
    env.git(&["add", "README.md"]);
    env.git(&["commit", "-q", "-m", "initial"]);
    env.orch(&["init"]).succeeds();
    env.new_task("TSK-1");
    env.orch(&["session", "start", "TSK-1"]).succeeds();
    let key = env.session("TSK-1").session_key;
    env.advance_to("TSK-1", "close");
    env.artifact("TSK-1", "SUMMARY.md");
    env.orch(&["session", "end"]).succeeds();
    assert_eq!(
        subjects(&env),
        [
            "orch(TSK-1): session end (close)",
            "orch(TSK-1): review -> close",
            "orch(TSK-1): execute -> review",
            "Work on TSK-1 (0)",
            "orch(TSK-1): plan -> execute",
            "orch(TSK-1): research -> plan",
            "orch(TSK-1): intake -> research",
            "orch(TSK-1): session start (intake)",
            "orch(TSK-1): new task",
            "orch: initialise .orchestration",
            "initial",
        ]
    );
    let trailers = env.git(&["log", "-1", "--skip=6", "--format=%(trailers)"]);
    assert_eq!(
        trailers,
        format!("Orchestration-Task: TSK-1\nOrchestration-Session: {key}\nOrchestration-Phase: research\n\n")
    );
    // Each transition commit touches only the task's folder.
    for rev in [
        "HEAD", "HEAD~1", "HEAD~2", "HEAD~4", "HEAD~5", "HEAD~6", "HEAD~7", "HEAD~8",
    ] {
        for f in env.git(&["show", "--name-only", "--format=", rev]).lines() {
            assert!(
                f.starts_with(".orchestration/tasks/TSK-1/"),
                "{rev} touched {f}"
            );
        }
    }
    let init_files = env.git(&["show", "--name-only", "--format=", "HEAD~9"]);
    assert_eq!(
        init_files,
        ".orchestration/.gitattributes\n.orchestration/config.toml\n"
    );
    assert_clean(&env);
    assert_eq!(
        env.git(&[
            "check-attr",
            "merge",
            ".orchestration/tasks/TSK-1/events.jsonl"
        ])
        .trim(),
        ".orchestration/tasks/TSK-1/events.jsonl: merge: union"
    );
}

#[test]
fn the_printed_commit_is_head() {
    let env = Env::started("TSK-1");
    let t: TransitionDoc = env.orch(&["phase", "complete", "--json"]).succeeds().json();
    assert_eq!(t.commit.as_deref(), Some(head(&env).as_str()));
    env.artifact("TSK-1", "CONTEXT.md");
    let out = env.orch(&["phase", "complete"]).succeeds();
    let short = env.git(&["rev-parse", "--short=7", "HEAD"]);
    assert!(
        out.stdout.contains(&format!("(commit {})", short.trim())),
        "{}",
        out.stdout
    );
    assert_clean(&env);
}

#[test]
fn other_staged_changes_stay_staged_and_out_of_the_commit() {
    let env = Env::started("TSK-1");
    env.write("src/lib.rs", "fn a() {}\n");
    env.git(&["add", "src/lib.rs"]);
    env.write("src/lib.rs", "fn a() {}\nfn b() {}\n");
    env.write("untracked.txt", "u\n");
    env.orch(&["phase", "complete"]).succeeds();
    assert_eq!(
        env.git(&["diff", "--cached", "--name-only"]),
        "src/lib.rs\n"
    );
    assert_eq!(env.git(&["diff", "--name-only"]), "src/lib.rs\n");
    assert_eq!(
        env.git(&["show", "--name-only", "--format=", "HEAD"])
            .lines()
            .filter(|f| !f.starts_with(".orchestration/tasks/TSK-1/"))
            .count(),
        0
    );
    assert_eq!(
        env.git(&["status", "--porcelain"]),
        "AM src/lib.rs\n?? untracked.txt\n"
    );
    env.git(&["fsck", "--strict", "--no-progress"]);
}

#[test]
fn refusals_make_no_commit() {
    let env = Env::started("TSK-1");
    env.orch(&["phase", "complete"]).succeeds();
    let before = head(&env);
    env.orch(&["phase", "complete"]).fails(3);
    env.orch(&["phase", "set", "close"]).fails(3);
    env.orch(&["session", "end"]).fails(4);
    assert_eq!(head(&env), before);
    assert_clean(&env);
}

#[test]
fn an_added_event_travels_with_the_next_commit_unless_committed_now() {
    let env = Env::started("TSK-1");
    let before = head(&env);
    env.orch(&["event", "add", "intake.question", "--data", "{}"])
        .succeeds();
    assert_eq!(head(&env), before, "no commit for a plain event add");
    assert_eq!(
        env.git(&["status", "--porcelain"]),
        " M .orchestration/tasks/TSK-1/events.jsonl\n"
    );
    env.orch(&["phase", "complete"]).succeeds();
    assert_clean(&env);
    let added: EventAddedDoc = env
        .orch(&["event", "add", "custom.note", "--commit", "--json"])
        .succeeds()
        .json();
    assert_eq!(added.commit.as_deref(), Some(head(&env).as_str()));
    assert_eq!(subjects(&env)[0], "orch(TSK-1): event custom.note");
    assert_clean(&env);
}

#[test]
fn no_identity_is_a_clear_error_before_anything_is_written() {
    let env = Env::with_task("TSK-1");
    env.unchanged(|env| {
        let out = env
            .orch(&["session", "start", "TSK-1"])
            .env_remove("GIT_AUTHOR_NAME")
            .env_remove("GIT_AUTHOR_EMAIL")
            .env_remove("GIT_COMMITTER_NAME")
            .env_remove("GIT_COMMITTER_EMAIL")
            .env("EMAIL", "")
            .run()
            .no_panic();
        assert!(matches!(out.code, Some(1) | Some(4)), "{out:?}");
        assert!(out.stderr.contains("identity"), "{}", out.stderr);
        assert!(out.stderr.contains("user.name"), "{}", out.stderr);
    });
}

#[test]
fn works_on_an_unborn_branch_and_detached_head() {
    let env = Env::new();
    assert_eq!(subjects(&env), ["orch: initialise .orchestration"]);
    env.new_task("TSK-1");
    env.git(&["checkout", "-q", "--detach"]);
    env.orch(&["session", "start", "TSK-1"]).succeeds();
    assert_eq!(subjects(&env)[0], "orch(TSK-1): session start (intake)");
    assert_eq!(
        env.git(&["rev-parse", "main"]),
        env.git(&["rev-parse", "HEAD~1"])
    );
    assert_clean(&env);
}

#[test]
fn a_merge_in_progress_is_refused() {
    let env = Env::started("TSK-1");
    env.write("f.txt", "base\n");
    env.git(&["add", "f.txt"]);
    env.git(&["commit", "-q", "-m", "base"]);
    env.git(&["checkout", "-q", "-b", "other"]);
    env.write("f.txt", "other\n");
    env.git(&["commit", "-q", "-am", "other"]);
    env.git(&["checkout", "-q", "main"]);
    env.write("f.txt", "main\n");
    env.git(&["commit", "-q", "-am", "main"]);
    let out = hermetic("git", &env.home)
        .current_dir(&env.root)
        .args(["merge", "-q", "other"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "the merge conflicts");
    env.unchanged(|env| {
        let out = env.orch(&["phase", "complete"]).run().no_panic();
        assert!(out.code != Some(0), "{out:?}");
        assert!(
            out.stderr.to_lowercase().contains("merge"),
            "{}",
            out.stderr
        );
    });
}
