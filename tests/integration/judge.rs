//! One judge everywhere: the rules in force are the committed ones, every fix verify prints
//! works when followed literally with real git, and trailers cannot be forged.

use crate::support::*;
use std::process::Output;

const SESSION: &str = ".orchestration/tasks/TSK-1/session.json";

fn verify_json(e: &Env, args: &[&str]) -> (i32, serde_json::Value) {
    let mut a = vec!["--json", "verify"];
    a.extend_from_slice(args);
    let o = e.orch(&a).output();
    let doc = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|err| panic!("{err}: {}", String::from_utf8_lossy(&o.stdout)));
    (o.status.code().unwrap(), doc)
}

fn head(e: &Env) -> String {
    e.head()
}

fn sh(e: &Env, cmd: &str) -> Output {
    e.shell(cmd)
}

fn ok(o: Output) -> String {
    assert!(
        o.status.success(),
        "failed: {}\nstdout: {}\nstderr: {}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The commands a fix quotes (`...`), in order.
fn commands(fix: &str) -> Vec<String> {
    fix.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// The one quoted command of the only violation's fix that starts with `prefix`.
fn fix_command(v: &serde_json::Value, prefix: &str) -> String {
    let fix = v["diagnostics"][0]["fix"].as_str().unwrap();
    commands(fix)
        .into_iter()
        .find(|c| c.starts_with(prefix))
        .unwrap_or_else(|| panic!("no `{prefix}...` in {fix}"))
}

/// A hand-made skip from `from` to `to`, committed past the hooks.
fn commit_skip(e: &Env, from: &str, to: &str) -> String {
    let s = e.read(SESSION);
    e.write(
        SESSION,
        s.replace(
            &format!("\"current_phase\": \"{from}\""),
            &format!("\"current_phase\": \"{to}\""),
        ),
    );
    e.git(&["add", SESSION]);
    e.git(&["commit", "-q", "--no-verify", "-m", "skip ahead"]);
    head(e)
}

fn with_remote(e: &Env) -> tempfile::TempDir {
    let remote = tempfile::tempdir().unwrap();
    e.git_in(remote.path(), &["init", "-q", "--bare"]);
    e.git(&["remote", "add", "origin", remote.path().to_str().unwrap()]);
    remote
}

fn assert_clean(e: &Env) -> serde_json::Value {
    let (code, v) = verify_json(e, &[]);
    assert_eq!(code, 0, "{v}");
    v
}

fn rule_of(v: &serde_json::Value) -> &str {
    v["diagnostics"][0]["code"].as_str().unwrap()
}

#[test]
fn a_phase_option_naming_no_phase_is_an_error() {
    let e = Env::user_commits();
    e.write(
        ".orchestration/config.toml",
        "[git]\ncommit = false\n\n[hooks]\ncode_allowed_from = \"qa\"\n",
    );
    let o = e.orch(&["task", "list"]).output();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("hooks.code_allowed_from = \"qa\""), "{err}");
    assert!(
        err.contains("intake, research, plan, execute, review, close"),
        "{err}"
    );
    // The hook refuses too instead of switching the code gate off.
    e.orch_ok(&["hooks", "install"]);
    e.write("a.rs", "a\n");
    e.git(&["add", "a.rs"]);
    assert!(!e.git_raw(&["commit", "-q", "-m", "code"]).status.success());
}

#[test]
fn a_commit_that_loosens_the_rules_cannot_use_them_at_once() {
    let e = Env::user_commits();
    e.task_in("TSK-1", "intake");
    let cfg = ".orchestration/config.toml";
    let strict = e.read(cfg);
    e.write(
        cfg,
        format!("{strict}\n[workflow]\nallow_phase_skip = true\n"),
    );
    // orch obeys only committed rules...
    e.orch(&["phase", "set", "TSK-1", "plan"])
        .fails(4)
        .stderr_contains("workflow.allow_phase_skip");
    // ...so the looser rule is committed, used, and the two squashed into one commit.
    e.git(&["commit", "-q", "-m", "allow skips", "--", cfg]);
    e.orch_ok(&["phase", "set", "TSK-1", "plan"]);
    e.git(&["reset", "-q", "--soft", "HEAD~1"]);
    e.git(&["add", "-A"]);
    e.git(&["commit", "-q", "-m", "allow skips and skip"]);
    let (code, v) = verify_json(&e, &[]);
    assert_eq!(code, 3, "{v}");
    assert_eq!(rule_of(&v), "phase_skip", "{v}");
    // Committed first, the looser rule is in force for the next commit.
    e.git(&["reset", "-q", "--hard", "HEAD~1"]);
    e.write(
        cfg,
        format!("{strict}\n[workflow]\nallow_phase_skip = true\n"),
    );
    e.git(&["commit", "-q", "-am", "allow skips"]);
    e.orch_ok(&["phase", "set", "TSK-1", "plan"]);
    e.commit_task("TSK-1", "intake -> plan");
    assert_clean(&e);
}

#[test]
fn an_unpushed_bad_commit_at_head_is_dropped_by_the_reset_verify_prints() {
    let e = Env::user_commits();
    e.task_in("TSK-1", "research");
    let bad = commit_skip(&e, "research", "execute");
    let (code, v) = verify_json(&e, &[]);
    assert_eq!(code, 3, "{v}");
    let fix = v["diagnostics"][0]["fix"].as_str().unwrap();
    assert!(fix.contains("orch verify --accept"), "{fix}");
    assert!(
        fix.contains(&format!("git revert --no-edit {}", &bad[..7])),
        "{fix}"
    );
    ok(sh(&e, &fix_command(&v, "git reset")));
    assert_ne!(head(&e), bad);
    assert_clean(&e);
    assert!(e.git(&["status", "--porcelain"]).is_empty());
}

#[test]
fn an_unpushed_bad_commit_below_head_is_dropped_by_the_rebase_verify_prints() {
    let e = Env::user_commits();
    e.task_in("TSK-1", "research");
    let bad = commit_skip(&e, "research", "execute");
    e.write("later.txt", "later\n");
    e.git(&["add", "later.txt"]);
    e.git(&["commit", "-q", "-m", "later work"]);
    let (code, v) = verify_json(&e, &[]);
    assert_eq!(code, 3, "{v}");
    let cmd = fix_command(&v, "git rebase");
    assert!(cmd.contains(&bad[..7]), "{cmd}");
    ok(sh(&e, &cmd));
    assert_clean(&e);
    // The later work stayed, the skip is gone.
    assert_eq!(e.read("later.txt"), "later\n");
    assert!(e.read(SESSION).contains("\"current_phase\": \"research\""));
}

#[test]
fn an_unpushed_bad_commit_with_later_task_commits_is_dropped_with_them() {
    let e = Env::user_commits();
    e.task_in("TSK-1", "research");
    commit_skip(&e, "research", "execute");
    e.orch_ok(&["event", "add", "TSK-1", "custom.note"]);
    e.commit_task("TSK-1", "event");
    let (code, v) = verify_json(&e, &[]);
    assert_eq!(code, 3, "{v}");
    let fix = v["diagnostics"][0]["fix"].as_str().unwrap();
    assert!(fix.contains("and the 1 later commit"), "{fix}");
    ok(sh(&e, &fix_command(&v, "git reset --keep")));
    assert_clean(&e);
}

#[test]
fn a_pushed_bad_commit_is_repaired_by_the_revert_verify_prints() {
    let e = Env::user_commits();
    let _remote = with_remote(&e);
    e.task_in("TSK-1", "research");
    let bad = commit_skip(&e, "research", "execute");
    e.git(&["push", "-q", "origin", "main"]);
    let (code, v) = verify_json(&e, &[]);
    assert_eq!(code, 3, "{v}");
    let fix = v["diagnostics"][0]["fix"].as_str().unwrap();
    assert!(
        !fix.contains("git reset") && !fix.contains("git rebase"),
        "{fix}"
    );
    ok(sh(&e, &fix_command(&v, "git revert")));
    let v = assert_clean(&e);
    assert_eq!(v["repaired"][0]["commit"], bad, "{v}");
    assert_eq!(v["repaired"][0]["rule"], "phase_skip", "{v}");
    assert_eq!(v["repaired"][0]["repaired_by"], head(&e), "{v}");
    let human = e.orch_ok(&["verify"]);
    assert!(human.contains("1 repaired"), "{human}");
    assert!(
        human.contains(&format!("repaired: commit {}", &bad[..7])),
        "{human}"
    );
    // Reverting the revert brings the violation back: it is not forgotten.
    e.git(&["revert", "--no-edit", "HEAD"]);
    assert_eq!(verify_json(&e, &[]).0, 3);
}

#[test]
fn a_pushed_bad_commit_with_later_changes_is_repaired_by_restoring_the_file() {
    let e = Env::user_commits();
    let _remote = with_remote(&e);
    e.orch_ok(&["hooks", "install"]);
    e.task_in("TSK-1", "research");
    commit_skip(&e, "research", "execute");
    e.orch_ok(&["event", "add", "TSK-1", "custom.note"]);
    e.commit_task("TSK-1", "event");
    e.git(&["push", "-q", "--no-verify", "origin", "main"]);
    let (code, v) = verify_json(&e, &[]);
    assert_eq!(code, 3, "{v}");
    // The restoring commit runs the pre-commit hook, which recognises the repair.
    let o = sh(&e, &fix_command(&v, "git restore"));
    assert!(o.status.success(), "{}", stderr(&o));
    let v = assert_clean(&e);
    assert_eq!(v["repaired"].as_array().unwrap().len(), 1, "{v}");
    assert!(e.read(SESSION).contains("\"current_phase\": \"research\""));
    e.git(&["push", "-q", "origin", "main"]);
}

#[test]
fn a_waiver_is_committed_and_reported_as_waived() {
    let e = Env::user_commits();
    let _remote = with_remote(&e);
    e.task_in("TSK-1", "research");
    let bad = commit_skip(&e, "research", "execute");
    e.write(".orchestration/config.toml", "[git]\ncommit = true\n");
    e.git(&["commit", "-q", "-am", "orch commits"]);
    e.git(&["push", "-q", "origin", "main"]);
    let (_, v) = verify_json(&e, &[]);
    let cmd =
        fix_command(&v, "orch verify --accept").replace("<why>", "pushed before review; agreed");
    ok(sh(&e, &cmd));
    // One commit holding only the event, judged clean.
    assert_eq!(
        e.git(&["show", "--name-only", "--format=", "HEAD"]),
        ".orchestration/tasks/TSK-1/events.jsonl\n"
    );
    assert!(e.git(&["status", "--porcelain"]).is_empty());
    let v = assert_clean(&e);
    let w = &v["waived"][0];
    assert_eq!(w["commit"], bad, "{v}");
    assert_eq!(w["rule"], "phase_skip", "{v}");
    assert_eq!(w["waiver"]["reason"], "pushed before review; agreed", "{v}");
    assert_eq!(w["waiver"]["author"], "Test User <test@example.com>", "{v}");
    assert_eq!(w["waiver"]["rules"][0], "phase_skip", "{v}");
    assert_eq!(w["waiver"]["at"], "2025-01-13T14:30:22Z", "{v}");
    let human = e.orch_ok(&["verify"]);
    assert!(human.contains("1 waived"), "{human}");
    assert!(human.contains("waived: commit"), "{human}");
    let md = e.orch_ok(&["report", "TSK-1"]);
    assert!(md.contains("waived: commit"), "{md}");
    assert!(md.contains("pushed before review; agreed"), "{md}");
    // Nothing left to accept.
    let o = e
        .orch(&["verify", "--accept", &bad, "--reason", "again"])
        .output();
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(stderr(&o).contains("already waived"));
    e.git(&["push", "-q", "origin", "main"]);
}

#[test]
fn a_waiver_without_orch_commits_is_committed_as_the_fix_says() {
    let e = Env::user_commits();
    e.task_in("TSK-1", "research");
    commit_skip(&e, "research", "execute");
    let (_, v) = verify_json(&e, &[]);
    ok(sh(&e, &fix_command(&v, "orch verify --accept")));
    let v = assert_clean(&e);
    assert_eq!(v["waived"][0]["waiver"]["reason"], "<why>", "{v}");
}

#[test]
fn accept_needs_a_commit_with_a_violation_and_a_reason() {
    let e = Env::user_commits();
    e.task_in("TSK-1", "research");
    let o = e
        .orch(&["verify", "--accept", "HEAD", "--reason", "x"])
        .output();
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(stderr(&o).contains("breaks no rule"));
    let o = e.orch(&["verify", "--accept", "HEAD"]).output();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = e
        .orch(&["verify", "--accept", "HEAD", "--reason", " "])
        .output();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn a_rewritten_event_log_is_repaired_by_restoring_it() {
    let e = Env::user_commits();
    let _remote = with_remote(&e);
    e.task_in("TSK-1", "research");
    let ev = ".orchestration/tasks/TSK-1/events.jsonl";
    let text = e.read(ev);
    e.write(
        ev,
        text.lines()
            .skip(1)
            .map(|l| format!("{l}\n"))
            .collect::<String>(),
    );
    e.git(&["commit", "-q", "--no-verify", "-am", "drop an event"]);
    e.git(&["push", "-q", "origin", "main"]);
    let (code, v) = verify_json(&e, &[]);
    assert_eq!(code, 3, "{v}");
    assert_eq!(rule_of(&v), "events_rewritten");
    let cmd = fix_command(&v, "git revert");
    ok(sh(&e, &cmd));
    assert_eq!(e.read(ev), text);
    assert_clean(&e);
}

#[test]
fn the_pre_commit_fix_for_a_rewritten_event_log_names_the_event_log() {
    let e = Env::user_commits();
    e.orch_ok(&["hooks", "install"]);
    e.task_in("TSK-1", "research");
    let ev = ".orchestration/tasks/TSK-1/events.jsonl";
    let text = e.read(ev);
    e.write(
        ev,
        text.lines()
            .skip(1)
            .map(|l| format!("{l}\n"))
            .collect::<String>(),
    );
    e.git(&["add", ev]);
    let o = e.orch(&["--json", "hook", "pre-commit"]).output();
    assert_eq!(o.status.code(), Some(3));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let fix = v["diagnostics"][0]["fix"].as_str().unwrap();
    let cmd = commands(fix).into_iter().next().unwrap();
    assert_eq!(
        cmd,
        format!("git restore --staged --worktree {ev}"),
        "{fix}"
    );
    ok(sh(&e, &cmd));
    assert_eq!(e.read(ev), text);
    e.orch_ok(&["hook", "pre-commit"]);
}

#[test]
fn commit_msg_replaces_typed_trailers_that_disagree() {
    let e = Env::user_commits();
    e.orch_ok(&["hooks", "install"]);
    e.task_in("TSK-1", "execute");
    e.write("src/a.rs", "a\n");
    e.git(&["add", "src/a.rs"]);
    let o = e.git_raw(&[
        "commit",
        "-q",
        "-m",
        "work\n\nOrchestration-Task: FAKE-9\nOrchestration-Phase: close",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("Orchestration-Task: FAKE-9"), "{err}");
    assert!(err.contains("disagrees"), "{err}");
    let trailers = e.git(&["log", "-1", "--format=%(trailers:only,unfold)"]);
    assert_eq!(
        trailers,
        "Orchestration-Task: TSK-1\nOrchestration-Phase: execute\n\n"
    );
    assert_clean(&e);
    // Trailers that agree stay once.
    e.write("src/b.rs", "b\n");
    e.git(&["add", "src/b.rs"]);
    e.git(&[
        "commit",
        "-q",
        "-m",
        "more\n\nOrchestration-Task: TSK-1\nOrchestration-Phase: execute",
    ]);
    let trailers = e.git(&["log", "-1", "--format=%(trailers:only,unfold)"]);
    assert_eq!(
        trailers,
        "Orchestration-Task: TSK-1\nOrchestration-Phase: execute\n\n"
    );
}

#[test]
fn commit_msg_without_a_session_removes_trailers_naming_no_task() {
    let e = Env::user_commits();
    e.orch_ok(&["hooks", "install"]);
    e.write("a.txt", "a\n");
    e.git(&["add", "a.txt"]);
    e.git(&[
        "commit",
        "-q",
        "-m",
        "plain\n\nReviewed-by: B\nOrchestration-Task: FAKE-9\nOrchestration-Phase: close",
    ]);
    assert_eq!(
        e.git(&["log", "-1", "--format=%(trailers:only,unfold)"]),
        "Reviewed-by: B\n\n"
    );
}

#[test]
fn forged_trailers_past_the_hook_are_a_trailer_mismatch_with_a_working_fix() {
    let e = Env::user_commits();
    e.task_in("TSK-1", "execute");
    e.write("src/a.rs", "a\n");
    e.git(&["add", "src/a.rs"]);
    e.git(&[
        "commit",
        "-q",
        "--no-verify",
        "-m",
        "work\n\nOrchestration-Task: TSK-1\nOrchestration-Phase: close",
    ]);
    let (code, v) = verify_json(&e, &[]);
    assert_eq!(code, 3, "{v}");
    assert_eq!(rule_of(&v), "trailer_mismatch", "{v}");
    let msg = v["diagnostics"][0]["message"].as_str().unwrap();
    assert!(
        msg.contains("phase close, but TSK-1 was in execute"),
        "{msg}"
    );
    // A task that does not exist is a mismatch too.
    let (code, v2) = {
        e.git(&[
            "commit",
            "-q",
            "--amend",
            "--no-verify",
            "-m",
            "work\n\nOrchestration-Task: FAKE-9\nOrchestration-Phase: execute",
        ]);
        verify_json(&e, &[])
    };
    assert_eq!(code, 3, "{v2}");
    assert!(v2["diagnostics"][0]["message"]
        .as_str()
        .unwrap()
        .contains("name task FAKE-9, which does not exist"));
    ok(sh(&e, &fix_command(&v2, "git reset --soft")));
    assert_eq!(e.git(&["diff", "--cached", "--name-only"]), "src/a.rs\n");
    assert_clean(&e);
}

// ---------------------------------------------------------------------------------------------
// before every commit orch makes

const EVENTS: &str = ".orchestration/tasks/TSK-1/events.jsonl";

/// A refusal that names `file` and `rule`, changed nothing, and whose fix works: the quoted
/// `git restore`, then the same orch command again, after which verify is clean.
fn refused_then_repaired(e: &Env, args: &[&str], file: &str, rule: &str) {
    let before = e.fingerprint();
    let head_before = e.head();
    let mut json = vec!["--json"];
    json.extend_from_slice(args);
    let d = e.orch(&json).status(4);
    let v: serde_json::Value = serde_json::from_str(&d.stdout).unwrap();
    let diag = &v["diagnostics"][0];
    assert_eq!(diag["code"], rule, "{v}");
    assert_eq!(diag["target"], file, "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains(file),
        "{v}"
    );
    assert_eq!(e.fingerprint(), before, "a refusal changed the repository");
    assert_eq!(e.head(), head_before);
    let fix = diag["fix"].as_str().unwrap();
    let restore = commands(fix).into_iter().next().unwrap();
    assert_eq!(
        restore,
        format!("git restore --source=HEAD -- {file}"),
        "{fix}"
    );
    ok(sh(e, &restore));
    e.orch(args).succeeds();
    assert_clean(e);
    e.fsck();
}

#[test]
fn a_rewritten_event_log_is_refused_before_orch_commits_it() {
    let e = Env::started("TSK-1");
    let text = e.read(EVENTS);
    e.write(
        EVENTS,
        text.lines()
            .skip(1)
            .map(|l| format!("{l}\n"))
            .collect::<String>(),
    );
    refused_then_repaired(
        &e,
        &["phase", "complete", "TSK-1"],
        EVENTS,
        "events_rewritten",
    );
}

#[test]
fn a_deleted_event_log_is_refused_before_orch_commits_it() {
    let e = Env::started("TSK-1");
    e.rm(EVENTS);
    refused_then_repaired(
        &e,
        &["event", "add", "TSK-1", "custom.note", "--commit"],
        EVENTS,
        "events_deleted",
    );
}

#[test]
fn a_hand_edited_phase_is_refused_before_orch_commits_it() {
    let e = Env::started("TSK-1");
    e.advance_to("TSK-1", "research");
    let s = e.read(SESSION);
    e.write(
        SESSION,
        s.replace(
            "\"current_phase\": \"research\"",
            "\"current_phase\": \"execute\"",
        ),
    );
    refused_then_repaired(
        &e,
        &["phase", "complete", "TSK-1", "--override", "--reason", "x"],
        SESSION,
        "phase_skip",
    );
}

#[test]
fn a_deleted_session_is_refused_before_session_start_drops_the_history() {
    let e = Env::started("TSK-1");
    e.advance_to("TSK-1", "plan");
    e.rm(SESSION);
    let before = e.fingerprint();
    e.orch(&["session", "start", "TSK-1"])
        .fails(4)
        .stderr_contains(SESSION)
        .stderr_contains("session_deleted")
        .stderr_contains(&format!("git restore --source=HEAD -- {SESSION}"));
    assert_eq!(e.fingerprint(), before);
    ok(sh(&e, &format!("git restore --source=HEAD -- {SESSION}")));
    assert_eq!(e.phase("TSK-1"), "plan");
    e.orch(&["session", "start", "TSK-1", "--continue"])
        .succeeds();
    assert_clean(&e);
}

#[test]
fn a_deleted_task_file_is_refused_before_orch_commits_the_deletion() {
    let e = Env::started("TSK-1");
    e.advance_to("TSK-1", "plan");
    let ctx = ".orchestration/tasks/TSK-1/CONTEXT.md";
    e.rm(ctx);
    refused_then_repaired(
        &e,
        &["phase", "set", "TSK-1", "research"],
        ctx,
        "file_deleted",
    );
}

#[test]
fn uncommitted_rules_are_refused_and_committed_ones_obeyed() {
    let e = Env::started("TSK-1");
    let cfg = ".orchestration/config.toml";
    let strict = e.read(cfg);
    assert!(strict.contains("allow_phase_skip = false"));
    e.write(
        cfg,
        strict.replace("allow_phase_skip = false", "allow_phase_skip = true"),
    );
    let before = e.fingerprint();
    e.orch(&["phase", "set", "TSK-1", "plan"])
        .fails(4)
        .stderr_contains("workflow.allow_phase_skip")
        .stderr_contains("uncommitted changes")
        .stderr_contains(&format!(
            "git commit -m \"Change the workflow rules\" -- {cfg}"
        ));
    assert_eq!(e.fingerprint(), before);
    // Committed, the rule is in force — for orch and for verify alike.
    e.git(&["commit", "-q", "-m", "Change the workflow rules", "--", cfg]);
    e.orch(&["phase", "set", "TSK-1", "plan"]).succeeds();
    assert_clean(&e);
    // An uncommitted workflow.yaml, too.
    e.artifact("TSK-1", "PLAN.md");
    let builtin = include_str!("../../workflow/workflow.yaml");
    e.write(".orchestration/workflow.yaml", builtin);
    e.orch(&["phase", "complete", "TSK-1"])
        .fails(4)
        .stderr_contains(".orchestration/workflow.yaml");
    e.rm(".orchestration/workflow.yaml");
    // What is no rule (a comment, `[git]`) needs no commit.
    e.write(cfg, format!("{}# a note\n", e.read(cfg)));
    e.orch(&["phase", "complete", "TSK-1"]).succeeds();
}

/// `task new` writes TASK.md from the template, so an uncommitted template is refused like
/// any rule change, with the commit that settles it — which, run as printed, works.
#[test]
fn task_new_is_refused_with_an_uncommitted_template() {
    let e = Env::started("TSK-1");
    let tpl = ".orchestration/templates/task_template.md";
    e.write(
        tpl,
        "---\ntitle: \"{{title}}\"\nstatus: open\ndescription: \"\"\n---\n\n## Problem\n\nPREFILLED\n",
    );
    refused_then_committed_by_the_fix(&e, tpl);
    e.orch(&["task", "new", "T9", "--title", "nine"]).succeeds();
    assert!(e
        .read(".orchestration/tasks/T9/TASK.md")
        .contains("PREFILLED"));
    assert_clean(&e);
    // A name with a space, and a template removed with `git rm`: the fix works for both.
    let spaced = ".orchestration/templates/my note.md";
    e.write(spaced, "a note\n");
    refused_then_committed_by_the_fix(&e, spaced);
    e.git(&["rm", "-q", spaced]);
    refused_then_committed_by_the_fix(&e, spaced);
    assert_eq!(e.git(&["ls-files", "--", spaced]), "");
    assert_clean(&e);
}

/// `task new` is refused naming `file`, changing nothing; the fix it prints, run as printed,
/// commits the rules.
fn refused_then_committed_by_the_fix(e: &Env, file: &str) {
    let before = e.fingerprint();
    let out = e.orch(&["task", "new", "T-X", "--title", "x"]).fails(4);
    assert!(out.stderr.contains(file), "{}", out.stderr);
    assert_eq!(e.fingerprint(), before);
    assert!(!e.root.join(".orchestration/tasks/T-X").exists());
    let fix = out
        .stderr
        .split_once("commit them first (`")
        .and_then(|(_, rest)| rest.split_once('`'))
        .map(|(cmd, _)| cmd.to_string())
        .unwrap_or_else(|| panic!("no fix in {}", out.stderr));
    ok(sh(e, &fix));
    assert_eq!(
        e.git(&["status", "--porcelain", "--", ".orchestration"]),
        "",
        "{fix}"
    );
}
