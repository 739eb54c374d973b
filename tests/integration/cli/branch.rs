//! `session start --branch [NAME]`: a branch for the task, made and checked out in-process,
//! with git's refusals for local changes the switch would overwrite; git is the oracle for
//! the index and worktree it leaves (`git status --porcelain`, `git fsck --strict`).

use crate::support::*;
use std::os::unix::fs::PermissionsExt;

fn current_branch(env: &Env) -> String {
    env.git(&["branch", "--show-current"]).trim().to_string()
}

#[test]
fn branch_defaults_to_task_code_and_the_session_records_it() {
    let env = Env::builder().orch_init().task("TSK-1").build();
    let main_before = env.git(&["rev-parse", "main"]);
    env.orch(&["session", "start", "TSK-1", "--branch"])
        .succeeds()
        .stdout_contains("Switched to a new branch task/TSK-1 (from main)");
    assert_eq!(current_branch(&env), "task/TSK-1");
    assert_eq!(env.session("TSK-1").branch.as_deref(), Some("task/TSK-1"));
    // The session's commit is on the new branch only; main stays where it was.
    assert_eq!(env.git(&["rev-parse", "main"]), main_before);
    assert_eq!(env.git(&["rev-parse", "task/TSK-1~1"]), main_before);
    assert_eq!(env.git(&["status", "--porcelain"]), "");
    env.fsck();
    // HEAD's reflog has the switch, as git writes it: `git switch -` goes back.
    assert_eq!(
        env.git(&["rev-parse", "--abbrev-ref", "@{-1}"]).trim(),
        "main"
    );
    env.orch(&["verify"]).succeeds();
    // Bound to the branch: with the pointer gone the task is still current there.
    env.drop_pointer();
    env.orch(&["next"]).succeeds().stdout_contains("TSK-1");
}

#[test]
fn the_template_names_the_branch_and_bad_names_are_refused() {
    let env = Env::builder().orch_init().task("TSK-7").build();
    let text = env.read(".orchestration/config.toml").replace(
        "# branch_template = \"task/{code}\"",
        "branch_template = \"{user}/{code}-{slug}\"",
    );
    assert!(text.contains("branch_template = \"{user}"), "{text}");
    env.config(&text);
    let v: serde_json::Value = env
        .orch(&["session", "start", "TSK-7", "--branch", "--json"])
        .succeeds()
        .json();
    // test@example.com, "Fix login timeout".
    assert_eq!(v["branch"]["name"], "test/TSK-7-fix-login-timeout", "{v}");
    assert_eq!(v["branch"]["created"], true);
    assert_eq!(v["kind"], "start");
    assert_eq!(current_branch(&env), "test/TSK-7-fix-login-timeout");
    env.fsck();

    let env = Env::builder().orch_init().task("TSK-1").build();
    for bad in ["bad..name", "-x", "a b", "x.lock", "HEAD"] {
        env.unchanged(|env| {
            env.orch(&["session", "start", "TSK-1", &format!("--branch={bad}")])
                .fails(2)
                .stderr_contains("is not a valid branch name")
        });
    }
    let text = env.read(".orchestration/config.toml").replace(
        "# branch_template = \"task/{code}\"",
        "branch_template = \"t/{id}\"",
    );
    env.write(".orchestration/config.toml", text);
    env.orch(&["status"])
        .fails(2)
        .stderr_contains("git.branch_template = \"t/{id}\" names an unknown placeholder {id}");
}

/// main with files a switch will change, a task, and a branch `feature` that changes them.
fn two_branches() -> Env {
    let env = Env::builder()
        .file("a.txt", "one\n")
        .file("dir/b.txt", "bee\n")
        .file("keep.txt", "kept\n")
        .file("run.sh", "echo 1\n")
        .commit("files")
        .orch_init()
        .task("TSK-1")
        .build();
    env.commit_all("the task's problem");
    env.git(&["switch", "-q", "-c", "feature"]);
    env.write("a.txt", "two\n");
    env.rm("dir/b.txt");
    env.write("new/d.txt", "dee\n");
    env.write("run.sh", "echo 2\n");
    std::fs::set_permissions(env.path("run.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink("a.txt", env.path("link")).unwrap();
    env.commit_all("feature work");
    env.git(&["switch", "-q", "main"]);
    assert_eq!(env.git(&["status", "--porcelain"]), "");
    env
}

#[test]
fn an_existing_branch_is_checked_out_as_git_would_carrying_unrelated_changes() {
    let env = two_branches();
    env.write("keep.txt", "my local edit\n");
    env.orch(&["session", "start", "TSK-1", "--branch", "feature"])
        .succeeds()
        .stdout_contains("Switched to branch feature (from main; 5 files updated)");
    assert_eq!(current_branch(&env), "feature");
    // Only the carried local edit differs from HEAD, in the worktree and not in the index.
    assert_eq!(env.git(&["status", "--porcelain"]), " M keep.txt\n");
    assert_eq!(env.git(&["diff", "--cached", "--name-only"]), "");
    env.fsck();
    assert_eq!(env.read("a.txt"), "two\n");
    assert_eq!(env.read("new/d.txt"), "dee\n");
    assert!(!env.path("dir").exists(), "the emptied folder is removed");
    assert_eq!(
        std::fs::read_link(env.path("link")).unwrap(),
        std::path::Path::new("a.txt")
    );
    let mode = std::fs::metadata(env.path("run.sh"))
        .unwrap()
        .permissions()
        .mode();
    assert!(mode & 0o111 != 0, "run.sh is executable: {mode:o}");
    assert!(env.git(&["ls-files", "-s", "run.sh"]).starts_with("100755"));
    // The index git reads is the one git would have written: a commit of everything changes
    // only keep.txt.
    env.git(&["add", "-A"]);
    assert_eq!(env.git(&["diff", "--cached", "--name-only"]), "keep.txt\n");
    env.orch(&["verify"]).succeeds();
}

#[test]
fn local_changes_the_switch_would_overwrite_are_refused_and_nothing_changes() {
    let env = two_branches();
    env.write("a.txt", "unsaved\n");
    let out = env.unchanged(|env| {
        env.orch(&["session", "start", "TSK-1", "--branch", "feature"])
            .fails(4)
    });
    assert!(
        out.stderr.contains("a.txt") && out.stderr.contains("git stash"),
        "{}",
        out.stderr
    );
    env.git(&["checkout", "--", "a.txt"]);

    env.write("a.txt", "staged\n");
    env.git(&["add", "a.txt"]);
    env.write("a.txt", "one\n");
    env.unchanged(|env| {
        env.orch(&["session", "start", "TSK-1", "--branch", "feature"])
            .fails(4)
            .stderr_contains("a.txt")
    });
    env.git(&["reset", "-q"]);

    env.write("new/d.txt", "mine\n");
    env.unchanged(|env| {
        env.orch(&["session", "start", "TSK-1", "--branch", "feature"])
            .fails(4)
            .stderr_contains("untracked files would be overwritten")
            .stderr_contains("new/d.txt")
    });
    env.rm("new/d.txt");
    // git itself refuses the same switches, and allows this one.
    env.orch(&["session", "start", "TSK-1", "--branch", "feature"])
        .succeeds();
    assert_eq!(env.git(&["status", "--porcelain"]), "");
    env.fsck();
}

#[test]
fn a_branch_without_the_task_or_a_refused_start_switches_nothing() {
    let env = Env::builder()
        .file("a.txt", "one\n")
        .commit("files")
        .orch_init()
        .build();
    env.git(&["branch", "old"]);
    env.new_task("TSK-1");
    env.unchanged(|env| {
        env.orch(&["session", "start", "TSK-1", "--branch", "old"])
            .fails(4)
            .stderr_contains("branch old has no task TSK-1")
    });
    env.orch_ok(&["session", "start", "TSK-1"]);
    env.orch_ok(&["session", "end", "TSK-1", "--force", "--reason", "dropped"]);
    env.unchanged(|env| {
        env.orch(&["session", "start", "TSK-1", "--branch"])
            .fails(4)
            .stderr_contains("--reopen")
    });
    assert_eq!(current_branch(&env), "main");
}
