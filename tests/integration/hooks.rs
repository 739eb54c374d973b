//! The git hooks, run by real `git commit` / `git push` with the shims installed.

use std::process::Stdio;

use crate::support::*;

#[test]
fn code_commit_is_refused_before_execute_and_accepted_in_execute() {
    let e = Env::user_commits();
    e.orch_ok(&["hooks", "install"]);
    e.task_in("TSK-1", "plan");
    e.write("src/lib.rs", "fn main() {}\n");
    e.git(&["add", "src/lib.rs"]);
    let o = e.git_raw(&["commit", "-q", "-m", "code too early"]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("TSK-1 is in plan; code changes start in execute — finish the plan (`orch phase complete`) or commit with --no-verify"),
        "{err}"
    );
    // Still staged, nothing committed.
    assert_eq!(e.git(&["diff", "--cached", "--name-only"]), "src/lib.rs\n");

    e.write(
        ".orchestration/tasks/TSK-1/PLAN.md",
        filled_artifact("TSK-1", "PLAN.md"),
    );
    e.orch_ok(&["phase", "complete", "TSK-1"]);
    e.git(&["restore", "--staged", "src/lib.rs"]);
    e.commit_task("TSK-1", "plan -> execute");
    e.git(&["add", "src/lib.rs"]);
    e.git(&["commit", "-q", "-m", "implement"]);
    let trailers = e.git(&[
        "log",
        "-1",
        "--format=%(trailers:key=Orchestration-Task,key=Orchestration-Phase)",
    ]);
    assert_eq!(
        trailers,
        "Orchestration-Task: TSK-1\nOrchestration-Phase: execute\n\n"
    );
}

#[test]
fn trailers_are_absent_without_a_current_session() {
    let e = Env::user_commits();
    e.orch_ok(&["hooks", "install"]);
    e.write("a.txt", "a\n");
    e.git(&["add", "a.txt"]);
    e.git(&["commit", "-q", "-m", "plain"]);
    assert_eq!(e.git(&["log", "-1", "--format=%B"]), "plain\n\n");
}

#[test]
fn hand_edited_skip_is_refused_by_pre_commit() {
    let e = Env::user_commits();
    e.orch_ok(&["hooks", "install"]);
    e.task_in("TSK-1", "intake");
    let s = e.read(".orchestration/tasks/TSK-1/session.json");
    e.write(
        ".orchestration/tasks/TSK-1/session.json",
        s.replace(
            "\"current_phase\": \"intake\"",
            "\"current_phase\": \"execute\"",
        ),
    );
    e.git(&["add", "-A"]);
    let o = e.git_raw(&["commit", "-q", "-m", "skip ahead"]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("TSK-1: intake -> execute"), "{err}");
    assert!(err.contains("phase_skip"), "{err}");
}

#[test]
fn events_may_only_be_appended() {
    let e = Env::user_commits();
    e.orch_ok(&["hooks", "install"]);
    e.task_in("TSK-1", "research");
    let ev = e.read(".orchestration/tasks/TSK-1/events.jsonl");
    let first_dropped: String = ev.lines().skip(1).map(|l| format!("{l}\n")).collect();
    e.write(".orchestration/tasks/TSK-1/events.jsonl", &first_dropped);
    e.git(&["add", "-A"]);
    let o = e.git_raw(&["commit", "-q", "-m", "rewrite"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("events_rewritten"), "{}", stderr(&o));
}

#[test]
fn a_users_hook_is_chained_and_restored() {
    let e = Env::user_commits();
    let hook = e.path(".git/hooks/pre-commit");
    let mine = "#!/bin/sh\necho user-hook-ran >&2\n[ ! -f block ] || exit 7\n";
    std::fs::write(&hook, mine).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let out = e.orch_ok(&["hooks", "install"]);
    assert!(out.contains("chained"), "{out}");
    e.write("a.txt", "a\n");
    e.git(&["add", "a.txt"]);
    let o = e.git_raw(&["commit", "-q", "-m", "one"]);
    assert!(o.status.success());
    assert!(stderr(&o).contains("user-hook-ran"));
    // Its failure fails the commit.
    e.write("block", "");
    e.write("b.txt", "b\n");
    e.git(&["add", "b.txt"]);
    assert!(!e.git_raw(&["commit", "-q", "-m", "two"]).status.success());
    std::fs::remove_file(e.path("block")).unwrap();
    // Installing twice changes nothing.
    assert!(e.orch_ok(&["hooks", "install"]).contains("unchanged"));
    e.orch_ok(&["hooks", "uninstall"]);
    assert_eq!(std::fs::read_to_string(&hook).unwrap(), mine);
    assert!(!e.path(".git/hooks/pre-commit.orch-chained").exists());
    assert!(!e.path(".git/hooks/commit-msg").exists());
}

#[test]
fn hooks_go_where_core_hooks_path_points() {
    let e = Env::user_commits();
    e.git(&["config", "core.hooksPath", "githooks"]);
    e.orch_ok(&["hooks", "install"]);
    assert!(e.path("githooks/pre-commit").is_file());
    assert!(!e.path(".git/hooks/pre-commit").exists());
    let git_says = e.git(&["rev-parse", "--git-path", "hooks"]);
    assert_eq!(git_says.trim(), "githooks");
    e.task_in("TSK-1", "intake");
    e.write("x.rs", "x\n");
    e.git(&["add", "x.rs"]);
    assert!(!e.git_raw(&["commit", "-q", "-m", "early"]).status.success());
}

#[test]
fn linked_worktrees_share_the_hooks() {
    let e = Env::user_commits();
    let wt = tempfile::tempdir().unwrap();
    let wt_path = wt.path().join("wt");
    e.git(&[
        "worktree",
        "add",
        "-q",
        wt_path.to_str().unwrap(),
        "-b",
        "side",
    ]);
    e.orch(&["hooks", "install"])
        .current_dir(&wt_path)
        .succeeds();
    assert!(e.path(".git/hooks/pre-commit").is_file());
    // A session started in the worktree is current there only; code is refused there.
    e.orch(&["task", "new", "TSK-W", "--title", "W", "--description", "d"])
        .current_dir(&wt_path)
        .succeeds();
    e.orch(&["session", "start", "TSK-W"])
        .current_dir(&wt_path)
        .succeeds();
    e.git_in(&wt_path, &["add", "-A"]);
    e.git_in(
        &wt_path,
        &["commit", "-q", "-m", "orch(TSK-W): session start"],
    );
    std::fs::write(wt_path.join("code.rs"), "c\n").unwrap();
    e.git_in(&wt_path, &["add", "code.rs"]);
    let o = e
        .git_cmd(&["commit", "-q", "-m", "early"])
        .current_dir(&wt_path)
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(stderr(&o).contains("TSK-W is in intake"), "{}", stderr(&o));
    // The main worktree has no current task: code commits pass.
    e.write("main.rs", "m\n");
    e.git(&["add", "main.rs"]);
    e.git(&["commit", "-q", "-m", "main code"]);
}

#[test]
fn shim_fails_clearly_without_orch_on_path() {
    let e = Env::user_commits();
    e.orch_ok(&["hooks", "install"]);
    e.write("a.txt", "a\n");
    e.git(&["add", "a.txt"]);
    let mut c = e.git_cmd(&["commit", "-q", "-m", "x"]);
    c.env("PATH", "/usr/bin:/bin");
    let o = c.output().unwrap();
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("the orch command is not on PATH"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn trailers_match_git_interpret_trailers() {
    let e = Env::user_commits();
    let cases = [
        "subject\n",
        "subject",
        "subject\n\nbody text\n",
        "subject\n\nbody\n\nSigned-off-by: A <a@b>\n",
        "subject\n\nReviewed-by: X\nOrchestration-Task: TSK-1\n",
        "subject\n\nbody\n\n# Please enter the commit message\n# Lines starting with '#' are ignored\n",
        "subject\n\nbody\n# ------------------------ >8 ------------------------\ndiff --git a/x b/x\n",
        "subject\n\nnot: a trailer block\nbecause this line is prose\n",
        "subject\n\nFixes: #12\n  continued line\n",
        "subject\nsecond title line\n\nKey: v\n",
        "subject\n\nbody\n\n\n",
        "subject\n\n---\nKey: value\n",
    ];
    for msg in cases {
        let ours = orch::git::trailers::add_trailers(
            msg,
            &[
                ("Orchestration-Task", "TSK-1"),
                ("Orchestration-Phase", "execute"),
            ],
            "#",
        );
        let mut c = e.git_cmd(&[
            "interpret-trailers",
            "--no-divider",
            "--if-exists",
            "addIfDifferent",
            "--trailer",
            "Orchestration-Task: TSK-1",
            "--trailer",
            "Orchestration-Phase: execute",
        ]);
        c.stdin(Stdio::piped()).stdout(Stdio::piped());
        let mut child = c.spawn().unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(msg.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            ours,
            String::from_utf8_lossy(&out.stdout),
            "message {msg:?}"
        );
    }
}

#[test]
fn hook_without_orchestration_folder_passes() {
    let e = Env::user_commits();
    e.orch_ok(&["hooks", "install"]);
    std::fs::remove_dir_all(e.path(".orchestration")).unwrap();
    e.git(&["add", "-A"]);
    e.git(&["commit", "-q", "-m", "drop orchestration"]);
}

#[test]
fn hook_with_json_prints_one_document_on_success() {
    let e = Env::user_commits();
    e.task_in("TSK-1", "intake");
    e.write("msg", "plain\n");
    for args in [
        &["--json", "hook", "pre-commit"][..],
        &["--json", "hook", "commit-msg", "msg"][..],
    ] {
        let out = e.orch_ok(args);
        let doc: serde_json::Value =
            serde_json::from_str(&out).unwrap_or_else(|err| panic!("{args:?}: {err}: {out:?}"));
        assert_eq!(doc["ok"], true, "{out}");
        assert_eq!(doc["hook"], args[2], "{out}");
    }
    assert!(e.read("msg").contains("Orchestration-Task: TSK-1"));
}

#[test]
fn uninstall_without_hooks_says_they_were_absent() {
    let e = Env::user_commits();
    let out = e.orch_ok(&["hooks", "uninstall"]);
    assert!(!out.contains("removed"), "{out}");
    assert!(
        out.contains("was not installed; nothing to remove"),
        "{out}"
    );
    let out = e.orch_ok(&["--json", "hooks", "uninstall"]);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    for h in doc["hooks"].as_array().unwrap() {
        assert_eq!(h["action"], "absent", "{out}");
    }
    e.orch_ok(&["hooks", "install"]);
    let out = e.orch_ok(&["hooks", "uninstall"]);
    assert!(out.contains("pre-commit  removed"), "{out}");
}

#[test]
fn install_chains_without_force_and_force_only_settles_a_second_chained_hook() {
    use std::os::unix::fs::PermissionsExt;
    let e = Env::user_commits();
    let hooks = e.path(".git/hooks");
    let user_hook = |text: &str| {
        e.write(".git/hooks/pre-commit", text);
        std::fs::set_permissions(
            hooks.join("pre-commit"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
    };
    let help = e.orch_ok(&["hooks", "install", "--help"]);
    assert!(help.contains("orch-chained.old"), "{help}");
    user_hook("#!/bin/sh\nexit 0\n# first\n");
    e.orch_ok(&["hooks", "install"]);
    assert!(e
        .read(".git/hooks/pre-commit.orch-chained")
        .contains("# first"));
    // Another hook of the user's replaces orch's shim: a second chained hook needs --force.
    user_hook("#!/bin/sh\nexit 0\n# second\n");
    let o = e.orch(&["hooks", "install"]).output();
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    e.orch_ok(&["hooks", "install", "--force"]);
    assert!(e
        .read(".git/hooks/pre-commit.orch-chained")
        .contains("# second"));
    assert!(e
        .read(".git/hooks/pre-commit.orch-chained.old")
        .contains("# first"));
}
