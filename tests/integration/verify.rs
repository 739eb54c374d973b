//! `orch verify`, `orch log` and `orch report` against histories made with real git.

#![allow(dead_code)]

use crate::support::*;

fn verify_json(e: &Env, args: &[&str]) -> (i32, serde_json::Value) {
    let mut a = vec!["--json", "verify"];
    a.extend_from_slice(args);
    let o = e.orch(&a).output();
    (
        o.status.code().unwrap(),
        serde_json::from_slice(&o.stdout).unwrap(),
    )
}

fn head(e: &Env) -> String {
    e.git(&["rev-parse", "HEAD"]).trim().to_string()
}

#[test]
fn a_legal_history_verifies_clean() {
    let e = Env::user_commits();
    e.task_in("TSK-1", "review");
    let (code, v) = verify_json(&e, &[]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["transitions"], 5);
    assert_eq!(v["violations"].as_array().unwrap().len(), 0);
}

#[test]
fn a_no_verify_skip_is_reported_by_verify_and_refused_by_pre_push() {
    let e = Env::user_commits();
    let remote = tempfile::tempdir().unwrap();
    e.git_in(remote.path(), &["init", "-q", "--bare"]);
    e.git(&["remote", "add", "origin", remote.path().to_str().unwrap()]);
    e.orch_ok(&["hooks", "install"]);
    e.task_in("TSK-1", "research");
    e.git(&["push", "-q", "origin", "main"]);
    let s = e.read(".orchestration/tasks/TSK-1/session.json");
    e.write(
        ".orchestration/tasks/TSK-1/session.json",
        s.replace(
            "\"current_phase\": \"research\"",
            "\"current_phase\": \"execute\"",
        ),
    );
    e.git(&["add", "-A"]);
    e.git(&["commit", "-q", "--no-verify", "-m", "skip"]);
    let bad = head(&e);
    let (code, v) = verify_json(&e, &[]);
    assert_eq!(code, 3, "{v}");
    let d = &v["diagnostics"][0];
    assert_eq!(d["code"], "phase_skip", "{v}");
    let msg = d["message"].as_str().unwrap();
    assert!(msg.contains(&format!("commit {}", &bad[..7])), "{msg}");
    assert!(msg.contains("TSK-1: research -> execute"), "{msg}");
    assert!(d["fix"].as_str().unwrap().contains("git revert"), "{v}");
    // Only the range holding the bad commit fails.
    let (code, _) = verify_json(&e, &["--range", "HEAD~1..HEAD"]);
    assert_eq!(code, 3);
    let (code, _) = verify_json(&e, &["--range", "HEAD~2..HEAD~1"]);
    assert_eq!(code, 0);
    let o = e.git_raw(&["push", "-q", "origin", "main"]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("push to origin refused"), "{err}");
    assert!(err.contains("phase_skip"), "{err}");
    // The remote did not move.
    let remote_head = e.git_in(remote.path(), &["rev-parse", "main"]);
    assert_ne!(remote_head.trim(), bad);
}

#[test]
fn missing_artifact_at_the_commit_is_a_violation() {
    let e = Env::user_commits();
    e.task_in("TSK-1", "research");
    // research -> plan committed by hand without CONTEXT.md.
    let s = e.read(".orchestration/tasks/TSK-1/session.json");
    let s = s.replace(
        "\"current_phase\": \"research\"",
        "\"current_phase\": \"plan\"",
    );
    e.write(".orchestration/tasks/TSK-1/session.json", &s);
    e.commit_task("TSK-1", "research -> plan");
    let (code, v) = verify_json(&e, &["TSK-1"]);
    assert_eq!(code, 3, "{v}");
    assert_eq!(v["diagnostics"][0]["code"], "missing_artifact", "{v}");
}

#[test]
fn log_lists_what_git_log_lists() {
    let e = Env::user_commits();
    e.task_in("TSK-1", "research");
    e.git(&["checkout", "-q", "-b", "side"]);
    e.write("side.txt", "s\n");
    e.git(&["add", "side.txt"]);
    e.git(&["commit", "-q", "-m", "side work"]);
    e.git(&["checkout", "-q", "main"]);
    e.artifact("TSK-1", "CONTEXT.md");
    e.orch_ok(&["phase", "complete", "TSK-1"]);
    e.commit_task("TSK-1", "research -> plan");
    e.git(&["merge", "-q", "--no-edit", "side"]);
    let git_says: Vec<String> = e
        .git(&[
            "log",
            "--format=%H",
            "--",
            ".orchestration/tasks/TSK-1/session.json",
        ])
        .lines()
        .map(str::to_string)
        .collect();
    let o = e.orch_ok(&["--json", "log", "TSK-1"]);
    let v: serde_json::Value = serde_json::from_str(&o).unwrap();
    let ours: Vec<String> = v["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["commit"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ours, git_says);
    let kinds: Vec<&str> = v["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["complete", "complete", "start"]);
    assert_eq!(v["transitions"][0]["from"], "research");
    assert_eq!(v["transitions"][0]["to"], "plan");
    let (code, _) = verify_json(&e, &[]);
    assert_eq!(code, 0);
}

#[test]
fn overrides_need_a_reason_and_are_logged() {
    let e = Env::user_commits();
    e.task_in("TSK-1", "research");
    e.orch_ok(&[
        "phase",
        "complete",
        "TSK-1",
        "--override",
        "--reason",
        "context is in the issue",
    ]);
    e.commit_task("TSK-1", "research -> plan");
    let v: serde_json::Value =
        serde_json::from_str(&e.orch_ok(&["--json", "log", "TSK-1"])).unwrap();
    assert_eq!(v["transitions"][0]["override"], true);
    assert_eq!(v["transitions"][0]["reason"], "context is in the issue");
    assert_eq!(verify_json(&e, &[]).0, 0);
    let md = e.orch_ok(&["report", "TSK-1"]);
    assert!(md.contains("| research |"), "{md}");
    assert!(md.contains("context is in the issue"), "{md}");
    assert!(md.contains("**Verify:** ✅"), "{md}");
    // The same override with its reason removed by hand is refused.
    let s = e.read(".orchestration/tasks/TSK-1/session.json");
    e.git(&["reset", "-q", "--hard", "HEAD~1"]);
    e.orch_ok(&["phase", "complete", "TSK-1", "--override", "--reason", "x"]);
    let s2 = e
        .read(".orchestration/tasks/TSK-1/session.json")
        .replace("\"reason\": \"x\"", "\"reason\": \"\"");
    assert_ne!(s, s2);
    e.write(".orchestration/tasks/TSK-1/session.json", &s2);
    e.commit_task("TSK-1", "research -> plan");
    let (code, v) = verify_json(&e, &[]);
    assert_eq!(code, 3);
    assert_eq!(
        v["diagnostics"][0]["code"], "override_without_reason",
        "{v}"
    );
}

#[test]
fn merging_branches_that_advanced_different_tasks_is_clean() {
    let e = Env::user_commits();
    e.task_in("TSK-A", "intake");
    e.task_in("TSK-B", "intake");
    e.git(&["checkout", "-q", "-b", "b"]);
    e.orch_ok(&["phase", "complete", "TSK-B"]);
    e.commit_task("TSK-B", "intake -> research");
    e.git(&["checkout", "-q", "main"]);
    e.orch_ok(&["phase", "complete", "TSK-A"]);
    e.commit_task("TSK-A", "intake -> research");
    e.git(&["merge", "-q", "--no-edit", "b"]);
    let (code, v) = verify_json(&e, &[]);
    assert_eq!(code, 0, "{v}");
}

#[test]
fn merging_branches_that_advanced_one_task_differently_is_a_divergence() {
    let e = Env::user_commits();
    e.task_in("TSK-1", "research");
    e.git(&["checkout", "-q", "-b", "b"]);
    e.orch_ok(&["phase", "set", "TSK-1", "intake"]);
    e.commit_task("TSK-1", "research -> intake (reopen)");
    e.git(&["checkout", "-q", "main"]);
    e.orch_ok(&[
        "phase",
        "complete",
        "TSK-1",
        "--override",
        "--reason",
        "known",
    ]);
    e.commit_task("TSK-1", "research -> plan");
    let o = e.git_raw(&["merge", "-q", "--no-edit", "b"]);
    if !o.status.success() {
        // session.json conflicts; the user keeps ours.
        e.git(&[
            "checkout",
            "--ours",
            ".orchestration/tasks/TSK-1/session.json",
        ]);
        e.git(&["add", "-A"]);
        e.git(&["commit", "-q", "--no-edit", "--no-verify"]);
    }
    let (code, v) = verify_json(&e, &[]);
    assert_eq!(code, 3, "{v}");
    let d = &v["diagnostics"][0];
    assert_eq!(d["code"], "diverged_session", "{v}");
    assert!(
        d["message"].as_str().unwrap().contains("both branches"),
        "{v}"
    );
}

#[test]
fn union_merge_of_events_keeps_every_event_once() {
    let e = Env::user_commits();
    e.task_in("TSK-1", "intake");
    e.git(&["checkout", "-q", "-b", "b"]);
    e.orch_ok(&["event", "add", "TSK-1", "custom.from_b"]);
    e.orch_ok(&["event", "add", "TSK-1", "custom.from_b2"]);
    e.commit_task("TSK-1", "events on b");
    e.git(&["checkout", "-q", "main"]);
    e.orch_ok(&["event", "add", "TSK-1", "custom.from_main"]);
    e.commit_task("TSK-1", "events on main");
    let before: usize = e
        .read(".orchestration/tasks/TSK-1/events.jsonl")
        .lines()
        .count();
    e.git(&["merge", "-q", "--no-edit", "b"]);
    let text = e.read(".orchestration/tasks/TSK-1/events.jsonl");
    assert!(!text.contains("<<<<<<<"), "{text}");
    let v: serde_json::Value =
        serde_json::from_str(&e.orch_ok(&["--json", "events", "TSK-1"])).unwrap();
    let types: Vec<&str> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["type"].as_str().unwrap())
        .collect();
    assert_eq!(types.len(), before + 2, "{types:?}");
    for t in ["custom.from_b", "custom.from_b2", "custom.from_main"] {
        assert_eq!(
            types.iter().filter(|x| **x == t).count(),
            1,
            "{t}: {types:?}"
        );
    }
    let ids: std::collections::HashSet<&str> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), types.len());
    assert_eq!(verify_json(&e, &[]).0, 0);
}

#[test]
fn report_lists_code_commits_by_phase() {
    let e = Env::user_commits();
    e.orch_ok(&["hooks", "install"]);
    e.task_in("TSK-1", "execute");
    e.write("src/a.rs", "a\n");
    e.git(&["add", "src/a.rs"]);
    e.git(&["commit", "-q", "-m", "add a"]);
    let v: serde_json::Value =
        serde_json::from_str(&e.orch_ok(&["report", "TSK-1", "--format", "json"])).unwrap();
    assert_eq!(v["code_commits"][0]["phase"], "execute", "{v}");
    assert_eq!(v["code_commits"][0]["commits"][0]["subject"], "add a");
    assert_eq!(v["verified"], true);
    let phases: Vec<&str> = v["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["phase"].as_str().unwrap())
        .collect();
    assert_eq!(phases, ["intake", "research", "plan", "execute"]);
    assert!(v["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["name"] == "PLAN.md"));
}

#[test]
fn verify_of_an_unknown_task_code_is_a_usage_error_not_a_pass() {
    let e = Env::user_commits();
    e.task_in("TSK-1", "plan");
    let (code, v) = verify_json(&e, &["TSK-TYPO"]);
    assert_eq!(code, 2, "{v}");
    assert_eq!(v["ok"], false, "{v}");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains("unknown task TSK-TYPO"), "{msg}");
    // A task that exists, or one only the history still holds, verifies as before.
    let (code, v) = verify_json(&e, &["TSK-1"]);
    assert_eq!(code, 0, "{v}");
    std::fs::remove_dir_all(e.path(".orchestration/tasks/TSK-1")).unwrap();
    e.git(&["add", "-A"]);
    e.git(&["commit", "-q", "-m", "drop the task"]);
    let (code, v) = verify_json(&e, &["TSK-1"]);
    assert_eq!(code, 0, "{v}");
    assert!(v["transitions"].as_u64().unwrap() > 0, "{v}");
}

/// A task with a history of several transitions, cloned with only the last `depth` commits.
fn shallow_clone_of(depth: &str) -> (Env, std::path::PathBuf) {
    let e = Env::started("TSK-1");
    for i in 0..3 {
        e.orch(&[
            "event",
            "add",
            "TSK-1",
            "custom.note",
            "--data",
            &format!("{{\"i\":{i}}}"),
            "--commit",
        ])
        .succeeds();
    }
    e.orch(&["phase", "complete", "TSK-1", "--override", "--reason", "r"])
        .succeeds();
    e.code_commit("TSK-1");
    let url = format!("file://{}", e.root.display());
    let clone = e.base.join("shallow");
    e.git(&[
        "clone",
        "-q",
        "--depth",
        depth,
        &url,
        clone.to_str().unwrap(),
    ]);
    (e, clone)
}

/// The cut of a shallow clone, as git records it.
fn cut(clone: &std::path::Path) -> String {
    std::fs::read_to_string(clone.join(".git/shallow"))
        .unwrap()
        .trim()
        .to_string()
}

#[test]
fn log_report_and_verify_in_a_shallow_clone_name_the_missing_history() {
    let (e, clone) = shallow_clone_of("2");
    let cut = cut(&clone);
    for args in [&["log", "TSK-1"][..], &["report", "TSK-1"], &["verify"]] {
        let d = e.orch(args).current_dir(&clone).fails(4);
        let err = d.stderr.clone();
        assert!(
            err.contains("shallow clone") && err.contains(&cut[..7]),
            "{args:?}: {err}"
        );
        assert!(err.contains("git fetch --unshallow"), "{args:?}: {err}");
        assert!(!err.contains("cannot read commit"), "{args:?}: {err}");
        assert!(
            err.contains(&format!("orch verify --range {}..HEAD", &cut[..7])),
            "{err}"
        );
    }
    // Both ways on work as printed: verify of what is here ...
    let range = format!("{}..HEAD", &cut[..7]);
    e.orch(&["verify", "--range", &range])
        .current_dir(&clone)
        .succeeds();
    // ... and the fetch, after which log lists what the full repository's log lists.
    e.git_in(&clone, &["fetch", "-q", "--unshallow"]);
    let full = e.orch_ok(&["--json", "log", "TSK-1"]);
    let fetched = e
        .orch(&["--json", "log", "TSK-1"])
        .current_dir(&clone)
        .succeeds()
        .stdout;
    assert_eq!(fetched, full);
    e.orch(&["verify"]).current_dir(&clone).succeeds();
}

#[test]
fn a_task_begun_after_the_cut_reads_as_usual_in_a_shallow_clone() {
    let (e, clone) = shallow_clone_of("1");
    e.new_task("TSK-2");
    e.orch(&["session", "start", "TSK-2"]).succeeds();
    e.git_in(&clone, &["pull", "-q", "--ff-only"]);
    let full = e.orch_ok(&["--json", "log", "TSK-2"]);
    let here = e
        .orch(&["--json", "log", "TSK-2"])
        .current_dir(&clone)
        .succeeds()
        .stdout;
    assert_eq!(here, full);
    e.orch(&["report", "TSK-2"]).current_dir(&clone).succeeds();
}
