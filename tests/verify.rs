//! `orch verify`, `orch log` and `orch report` against histories made with real git.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Env {
    root: tempfile::TempDir,
    home: tempfile::TempDir,
}

fn bin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_orch"))
        .parent()
        .unwrap()
        .to_path_buf()
}

impl Env {
    fn new() -> Env {
        let e = Env {
            root: tempfile::tempdir().unwrap(),
            home: tempfile::tempdir().unwrap(),
        };
        e.ok(e.git(&["init", "-q", "-b", "main"]));
        std::fs::create_dir_all(e.path(".orchestration")).unwrap();
        // orch writes files only; commits are made with git, as a user (or --no-verify) would.
        e.write(".orchestration/config.toml", "[git]\ncommit = false\n");
        e.ok(e.orch(&["init"]));
        e.ok(e.git(&["add", "-A"]));
        e.ok(e.git(&["commit", "-q", "-m", "init"]));
        e
    }

    fn dir(&self) -> &Path {
        self.root.path()
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir().join(rel)
    }

    fn cmd(&self, prog: &str, args: &[&str], cwd: &Path) -> Command {
        let mut c = Command::new(prog);
        let path = format!(
            "{}:{}",
            bin_dir().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        c.args(args)
            .current_dir(cwd)
            .env_clear()
            .env("PATH", path)
            .env("HOME", self.home.path())
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "Ada")
            .env("GIT_AUTHOR_EMAIL", "ada@example.com")
            .env("GIT_COMMITTER_NAME", "Ada")
            .env("GIT_COMMITTER_EMAIL", "ada@example.com")
            .env("ORCH_NOW", "2025-01-13T14:30:22Z")
            .env("NO_COLOR", "1");
        c
    }

    fn git(&self, args: &[&str]) -> Output {
        self.git_in(self.dir(), args)
    }

    fn git_in(&self, cwd: &Path, args: &[&str]) -> Output {
        self.cmd("git", args, cwd).output().unwrap()
    }

    fn orch(&self, args: &[&str]) -> Output {
        self.cmd(env!("CARGO_BIN_EXE_orch"), args, self.dir())
            .output()
            .unwrap()
    }

    fn ok(&self, o: Output) -> String {
        assert!(
            o.status.success(),
            "command failed: {}\nstdout: {}\nstderr: {}",
            o.status,
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    fn write(&self, rel: &str, text: &str) {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap()
    }

    /// Commits everything staged plus the task folder, as an orch transition would.
    fn commit_task(&self, code: &str, subject: &str) {
        self.ok(self.git(&["add", "-A", &format!(".orchestration/tasks/{code}")]));
        self.ok(self.git(&["commit", "-q", "-m", &format!("orch({code}): {subject}")]));
    }

    /// A task with an active session, walked to `phase` with its artifacts filled in.
    fn task_in(&self, code: &str, phase: &str) {
        self.ok(self.orch(&[
            "task",
            "new",
            code,
            "--title",
            "Fix it",
            "--description",
            "Make it work",
        ]));
        self.commit_task(code, "new task");
        self.ok(self.orch(&["session", "start", code]));
        self.commit_task(code, "session start");
        let order = ["intake", "research", "plan", "execute", "review", "close"];
        let artifacts = [("research", "CONTEXT.md"), ("plan", "PLAN.md")];
        for w in order.windows(2) {
            if w[0] == phase {
                break;
            }
            if let Some((_, a)) = artifacts.iter().find(|(p, _)| *p == w[0]) {
                self.write(
                    &format!(".orchestration/tasks/{code}/{a}"),
                    &format!("# {a}\n\nReal findings for {code}.\n"),
                );
            }
            self.ok(self.orch(&["phase", "complete", code]));
            self.commit_task(code, &format!("{} -> {}", w[0], w[1]));
        }
    }

    fn stderr(o: &Output) -> String {
        String::from_utf8_lossy(&o.stderr).into_owned()
    }
}

fn verify_json(e: &Env, args: &[&str]) -> (i32, serde_json::Value) {
    let mut a = vec!["--json", "verify"];
    a.extend_from_slice(args);
    let o = e.orch(&a);
    (
        o.status.code().unwrap(),
        serde_json::from_slice(&o.stdout).unwrap(),
    )
}

fn head(e: &Env) -> String {
    e.ok(e.git(&["rev-parse", "HEAD"])).trim().to_string()
}

#[test]
fn a_legal_history_verifies_clean() {
    let e = Env::new();
    e.task_in("TSK-1", "review");
    let (code, v) = verify_json(&e, &[]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["transitions"], 5);
    assert_eq!(v["violations"].as_array().unwrap().len(), 0);
}

#[test]
fn a_no_verify_skip_is_reported_by_verify_and_refused_by_pre_push() {
    let e = Env::new();
    let remote = tempfile::tempdir().unwrap();
    e.ok(e.git_in(remote.path(), &["init", "-q", "--bare"]));
    e.ok(e.git(&["remote", "add", "origin", remote.path().to_str().unwrap()]));
    e.ok(e.orch(&["hooks", "install"]));
    e.task_in("TSK-1", "research");
    e.ok(e.git(&["push", "-q", "origin", "main"]));
    let s = e.read(".orchestration/tasks/TSK-1/session.json");
    e.write(
        ".orchestration/tasks/TSK-1/session.json",
        &s.replace(
            "\"current_phase\": \"research\"",
            "\"current_phase\": \"execute\"",
        ),
    );
    e.ok(e.git(&["add", "-A"]));
    e.ok(e.git(&["commit", "-q", "--no-verify", "-m", "skip"]));
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
    let o = e.git(&["push", "-q", "origin", "main"]);
    assert!(!o.status.success());
    let err = Env::stderr(&o);
    assert!(err.contains("push to origin refused"), "{err}");
    assert!(err.contains("phase_skip"), "{err}");
    // The remote did not move.
    let remote_head = e.ok(e.git_in(remote.path(), &["rev-parse", "main"]));
    assert_ne!(remote_head.trim(), bad);
}

#[test]
fn missing_artifact_at_the_commit_is_a_violation() {
    let e = Env::new();
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
    let e = Env::new();
    e.task_in("TSK-1", "research");
    e.ok(e.git(&["checkout", "-q", "-b", "side"]));
    e.write("side.txt", "s\n");
    e.ok(e.git(&["add", "side.txt"]));
    e.ok(e.git(&["commit", "-q", "-m", "side work"]));
    e.ok(e.git(&["checkout", "-q", "main"]));
    e.write(
        ".orchestration/tasks/TSK-1/CONTEXT.md",
        "# Context\n\nFound it.\n",
    );
    e.ok(e.orch(&["phase", "complete", "TSK-1"]));
    e.commit_task("TSK-1", "research -> plan");
    e.ok(e.git(&["merge", "-q", "--no-edit", "side"]));
    let git_says: Vec<String> = e
        .ok(e.git(&[
            "log",
            "--format=%H",
            "--",
            ".orchestration/tasks/TSK-1/session.json",
        ]))
        .lines()
        .map(str::to_string)
        .collect();
    let o = e.ok(e.orch(&["--json", "log", "TSK-1"]));
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
    let e = Env::new();
    e.task_in("TSK-1", "research");
    e.ok(e.orch(&[
        "phase",
        "complete",
        "TSK-1",
        "--override",
        "--reason",
        "context is in the issue",
    ]));
    e.commit_task("TSK-1", "research -> plan");
    let v: serde_json::Value =
        serde_json::from_str(&e.ok(e.orch(&["--json", "log", "TSK-1"]))).unwrap();
    assert_eq!(v["transitions"][0]["override"], true);
    assert_eq!(v["transitions"][0]["reason"], "context is in the issue");
    assert_eq!(verify_json(&e, &[]).0, 0);
    let md = e.ok(e.orch(&["report", "TSK-1"]));
    assert!(md.contains("| research |"), "{md}");
    assert!(md.contains("context is in the issue"), "{md}");
    assert!(md.contains("**Verify:** ✅"), "{md}");
    // The same override with its reason removed by hand is refused.
    let s = e.read(".orchestration/tasks/TSK-1/session.json");
    e.ok(e.git(&["reset", "-q", "--hard", "HEAD~1"]));
    e.ok(e.orch(&["phase", "complete", "TSK-1", "--override", "--reason", "x"]));
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
    let e = Env::new();
    e.task_in("TSK-A", "intake");
    e.task_in("TSK-B", "intake");
    e.ok(e.git(&["checkout", "-q", "-b", "b"]));
    e.ok(e.orch(&["phase", "complete", "TSK-B"]));
    e.commit_task("TSK-B", "intake -> research");
    e.ok(e.git(&["checkout", "-q", "main"]));
    e.ok(e.orch(&["phase", "complete", "TSK-A"]));
    e.commit_task("TSK-A", "intake -> research");
    e.ok(e.git(&["merge", "-q", "--no-edit", "b"]));
    let (code, v) = verify_json(&e, &[]);
    assert_eq!(code, 0, "{v}");
}

#[test]
fn merging_branches_that_advanced_one_task_differently_is_a_divergence() {
    let e = Env::new();
    e.task_in("TSK-1", "research");
    e.ok(e.git(&["checkout", "-q", "-b", "b"]));
    e.ok(e.orch(&["phase", "set", "TSK-1", "intake"]));
    e.commit_task("TSK-1", "research -> intake (reopen)");
    e.ok(e.git(&["checkout", "-q", "main"]));
    e.ok(e.orch(&[
        "phase",
        "complete",
        "TSK-1",
        "--override",
        "--reason",
        "known",
    ]));
    e.commit_task("TSK-1", "research -> plan");
    let o = e.git(&["merge", "-q", "--no-edit", "b"]);
    if !o.status.success() {
        // session.json conflicts; the user keeps ours.
        e.ok(e.git(&[
            "checkout",
            "--ours",
            ".orchestration/tasks/TSK-1/session.json",
        ]));
        e.ok(e.git(&["add", "-A"]));
        e.ok(e.git(&["commit", "-q", "--no-edit", "--no-verify"]));
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
    let e = Env::new();
    e.task_in("TSK-1", "intake");
    e.ok(e.git(&["checkout", "-q", "-b", "b"]));
    e.ok(e.orch(&["event", "add", "TSK-1", "custom.from_b"]));
    e.ok(e.orch(&["event", "add", "TSK-1", "custom.from_b2"]));
    e.commit_task("TSK-1", "events on b");
    e.ok(e.git(&["checkout", "-q", "main"]));
    e.ok(e.orch(&["event", "add", "TSK-1", "custom.from_main"]));
    e.commit_task("TSK-1", "events on main");
    let before: usize = e
        .read(".orchestration/tasks/TSK-1/events.jsonl")
        .lines()
        .count();
    e.ok(e.git(&["merge", "-q", "--no-edit", "b"]));
    let text = e.read(".orchestration/tasks/TSK-1/events.jsonl");
    assert!(!text.contains("<<<<<<<"), "{text}");
    let v: serde_json::Value =
        serde_json::from_str(&e.ok(e.orch(&["--json", "events", "TSK-1"]))).unwrap();
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
    let e = Env::new();
    e.ok(e.orch(&["hooks", "install"]));
    e.task_in("TSK-1", "execute");
    e.write("src/a.rs", "a\n");
    e.ok(e.git(&["add", "src/a.rs"]));
    e.ok(e.git(&["commit", "-q", "-m", "add a"]));
    let v: serde_json::Value =
        serde_json::from_str(&e.ok(e.orch(&["report", "TSK-1", "--format", "json"]))).unwrap();
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
    let e = Env::new();
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
    e.ok(e.git(&["add", "-A"]));
    e.ok(e.git(&["commit", "-q", "-m", "drop the task"]));
    let (code, v) = verify_json(&e, &["TSK-1"]);
    assert_eq!(code, 0, "{v}");
    assert!(v["transitions"].as_u64().unwrap() > 0, "{v}");
}
