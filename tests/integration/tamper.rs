//! Tamper evidence: `status`, `next` and the hooks judge the task's committed chain and its
//! folder in the working tree as `orch verify` would, and say so at once; and an execute
//! range rewritten away by a rebase is named with the `--base/--head` that re-records it.

use crate::support::*;

const SESSION: &str = ".orchestration/tasks/TSK-1/session.json";

fn json(e: &Env, args: &[&str]) -> serde_json::Value {
    let mut a = vec!["--json"];
    a.extend_from_slice(args);
    let o = e.orch(&a).output();
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|err| panic!("{err}: {}", String::from_utf8_lossy(&o.stdout)))
}

fn set_phase(e: &Env, from: &str, to: &str) {
    let s = e.read(SESSION);
    let edited = s.replace(
        &format!("\"current_phase\": \"{from}\""),
        &format!("\"current_phase\": \"{to}\""),
    );
    assert_ne!(s, edited);
    e.write(SESSION, edited);
}

fn codes(list: &serde_json::Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|b| b["code"].as_str().unwrap().to_string())
        .collect()
}

fn run(e: &Env, cmd: &str) {
    let o = e.shell(cmd);
    assert!(
        o.status.success(),
        "{cmd}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn a_hand_edited_phase_is_shown_by_status_and_next_with_the_restore_that_clears_it() {
    let e = Env::started("TSK-1");
    e.advance_to("TSK-1", "research");
    let before = json(&e, &["next"]);
    assert!(!codes(&before["blockers"]).contains(&"phase_skip".to_string()));
    set_phase(&e, "research", "execute");

    let st = json(&e, &["status", "TSK-1"]);
    assert_eq!(st["ready"], false, "{st}");
    assert_eq!(st["blockers"][0]["code"], "phase_skip", "{st}");
    let cmd = st["command"].as_str().unwrap().to_string();
    assert_eq!(cmd, format!("git restore --source=HEAD -- {SESSION}"));
    let n = json(&e, &["next"]);
    assert_eq!(n["blockers"][0]["code"], "phase_skip", "{n}");
    assert_eq!(n["command"], cmd.as_str(), "{n}");
    assert!(n.to_string().chars().count() <= 1200, "{n}");

    run(&e, &cmd);
    let after = json(&e, &["next"]);
    assert_eq!(after["phase"], "research", "{after}");
    assert!(!codes(&after["blockers"]).contains(&"phase_skip".to_string()));
    e.assert_orch_clean();
}

#[test]
fn the_code_gate_does_not_trust_a_hand_edited_phase() {
    let e = Env::started("TSK-1");
    e.orch_ok(&["hooks", "install"]);
    e.advance_to("TSK-1", "plan");
    set_phase(&e, "plan", "execute");
    e.write("src.rs", "fn main() {}\n");
    e.git(&["add", "src.rs"]);
    let o = e.git_raw(&["commit", "-q", "-m", "code"]);
    let err = String::from_utf8_lossy(&o.stderr);
    // The gate reads the session the commit would have (the index's, which is HEAD's), not
    // the edited file.
    assert!(
        !o.status.success(),
        "code went in while the task is in plan"
    );
    assert!(err.contains("TSK-1 is in plan"), "{err}");
    // Staged, the edit itself is judged and refused.
    e.git(&["add", SESSION]);
    let o = e.git_raw(&["commit", "-q", "-m", "code"]);
    assert!(!o.status.success(), "a hand-made skip went in");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("breaks the phase rules"), "{err}");
    e.git(&["restore", "--staged", SESSION]);
    // Nothing of the user's was lost: the file is still staged.
    assert_eq!(e.git(&["diff", "--cached", "--name-only"]).trim(), "src.rs");
}

#[test]
fn a_skip_committed_past_the_hooks_is_reported_by_status_and_blocks_code() {
    let e = Env::user_commits();
    e.task_in("TSK-1", "plan");
    e.orch_ok(&["hooks", "install"]);
    set_phase(&e, "plan", "execute");
    e.git(&["add", SESSION]);
    e.git(&["commit", "-q", "--no-verify", "-m", "skip ahead"]);
    let bad = e.head();

    let st = json(&e, &["status", "TSK-1"]);
    assert_eq!(st["ready"], false, "{st}");
    // plan -> execute without PLAN.md: the phase was not complete.
    let first = &st["blockers"][0];
    assert_eq!(first["code"], "missing_artifact", "{st}");
    assert!(
        first["target"].as_str().unwrap().starts_with(&bad[..7]),
        "{st}"
    );
    assert_eq!(
        json(&e, &["next"])["blockers"][0]["code"],
        "missing_artifact"
    );

    // In "execute" by the skipped session, code is still refused: the chain fails.
    e.write("src.rs", "fn main() {}\n");
    e.git(&["add", "src.rs"]);
    let o = e.git_raw(&["commit", "-q", "-m", "code"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("cannot be relied on"), "{err}");

    // The fix status prints, followed literally, clears it; then code goes in.
    e.git(&["restore", "--staged", "src.rs"]);
    let cmd = st["command"].as_str().unwrap();
    run(&e, cmd);
    let again = json(&e, &["status", "TSK-1"]);
    let at_bad = |b: &serde_json::Value| b["target"].as_str().unwrap().starts_with(&bad[..7]);
    assert!(
        !again["blockers"].as_array().unwrap().iter().any(at_bad),
        "{again}"
    );
    assert_eq!(again["phase"], "plan", "{again}");
    assert_eq!(json(&e, &["verify"])["ok"], true);
}

#[test]
fn the_verdict_is_remembered_and_a_broken_cache_is_rebuilt_not_trusted() {
    let e = Env::user_commits();
    e.task_in("TSK-1", "plan");
    json(&e, &["status", "TSK-1"]);
    let cache = e.git_dir().join("orchestration/verified.json");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&cache).unwrap()).unwrap();
    assert_eq!(v["head"], e.head().as_str());
    assert_eq!(v["violations"], serde_json::json!([]));

    // A later bad commit is found by replaying only the commits since the remembered one.
    set_phase(&e, "plan", "review");
    e.git(&["add", SESSION]);
    e.git(&["commit", "-q", "--no-verify", "-m", "skip ahead"]);
    assert_eq!(
        json(&e, &["status", "TSK-1"])["blockers"][0]["code"],
        "phase_skip"
    );

    // A cache that says "clean" in a format of its own is not believed.
    std::fs::write(&cache, b"{\"head\": \"nonsense\"").unwrap();
    assert_eq!(
        json(&e, &["status", "TSK-1"])["blockers"][0]["code"],
        "phase_skip"
    );
    std::fs::write(
        &cache,
        format!(
            "{{\"version\":1,\"head\":\"{}\",\"violations\":[]}}",
            e.git(&["rev-parse", "HEAD~1"]).trim()
        ),
    )
    .unwrap();
    assert_eq!(
        json(&e, &["status", "TSK-1"])["blockers"][0]["code"],
        "phase_skip"
    );
}

/// A task that entered execute right after an unrelated commit `U`, committed code and moved
/// on to review; then `U` is dropped with a rebase, so both recorded ends are rewritten.
fn rebased_after_review() -> (Env, String) {
    let e = Env::started("TSK-1");
    e.advance_to("TSK-1", "plan");
    e.write("unrelated.txt", "u\n");
    e.git(&["add", "unrelated.txt"]);
    e.git(&["commit", "-q", "-m", "unrelated"]);
    let u = e.head();
    e.advance_to("TSK-1", "review");
    let range = e.session("TSK-1").execute_range.expect("range recorded");
    assert_eq!(range.base.as_deref(), Some(u.as_str()));
    e.git(&["rebase", "-q", "--onto", &format!("{u}~1"), &u]);
    (e, u)
}

#[test]
fn a_rebased_execute_range_is_named_with_the_range_that_re_records_it() {
    let (e, u) = rebased_after_review();
    let ch = json(&e, &["changes", "TSK-1", "--stdout"]);
    let d = &ch["diagnostics"][0];
    assert_eq!(d["code"], "range_off_branch", "{ch}");
    assert!(d["message"].as_str().unwrap().contains(&u[..7]), "{ch}");
    let st = json(&e, &["status", "TSK-1"]);
    assert!(
        st["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["code"] == "range_off_branch"),
        "{st}"
    );
    let human = e.orch(&["changes", "TSK-1", "--stdout"]).output();
    assert!(String::from_utf8_lossy(&human.stderr).contains("no longer in HEAD's history"));

    let fix = d["fix"].as_str().unwrap();
    let cmd = fix.split('`').nth(1).unwrap().to_string();
    assert!(
        cmd.starts_with("orch changes TSK-1 --base ") && cmd.contains(" --head "),
        "{cmd}"
    );
    run(&e, &cmd);
    let after = json(&e, &["changes", "TSK-1", "--stdout"]);
    assert_eq!(after["diagnostics"], serde_json::json!([]), "{after}");
    let (base, head) = (
        after["base"].as_str().unwrap(),
        after["head"].as_str().unwrap(),
    );
    // The re-recorded range is the rebased work: git's own numstat agrees.
    let numstat = e.git(&[
        "diff",
        "--numstat",
        base,
        head,
        "--",
        ".",
        ":!.orchestration",
    ]);
    let files: Vec<&str> = numstat
        .lines()
        .map(|l| l.rsplit('\t').next().unwrap())
        .collect();
    let ours: Vec<String> = after["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(files, ours);
    assert!(!ours.iter().any(|f| f == "unrelated.txt"));
    // Re-recording the range is legal in review: verify accepts the commit it made.
    assert_eq!(json(&e, &["verify"])["ok"], true);
    e.assert_orch_clean();
}

#[test]
fn the_report_names_a_rewritten_range_and_every_change_of_the_rules() {
    let (e, _) = rebased_after_review();
    let cfg = ".orchestration/config.toml";
    let text = e.read(cfg);
    let strict = "allow_phase_skip = false";
    assert!(text.contains(strict), "{text}");
    e.config(&text.replacen(strict, "allow_phase_skip = true", 1));
    let changer = e.head();
    let tpl = ".orchestration/templates/plan_template.md";
    let builtin = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/templates/plan_template.md"
    ))
    .unwrap();
    e.write(tpl, format!("{builtin}\n<!-- team note -->\n"));
    e.git(&["add", tpl]);
    e.git(&["commit", "-q", "-m", "Plan template: a team note"]);

    let o = e.orch(&["report", "TSK-1", "--format", "json"]).output();
    let r: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&o.stderr)));
    assert_eq!(
        r["changes"]["off_branch"]["code"], "range_off_branch",
        "{r}"
    );
    let rules = r["rule_changes"].as_array().unwrap();
    assert_eq!(rules.len(), 2, "{r}");
    assert_eq!(rules[0]["commit"], changer.as_str());
    assert_eq!(
        rules[0]["changed"],
        serde_json::json!(["config.toml: workflow.allow_phase_skip"])
    );
    assert_eq!(rules[0]["author"], AUTHOR);
    assert_eq!(
        rules[1]["changed"],
        serde_json::json!(["templates/plan_template.md"])
    );

    let md = e.orch_ok(&["report", "TSK-1"]);
    assert!(md.contains("### Rule changes"), "{md}");
    assert!(
        md.contains("config.toml: workflow.allow_phase_skip"),
        "{md}"
    );
    assert!(md.contains("no longer in HEAD's history"), "{md}");
}

#[test]
fn a_report_of_a_task_worked_under_its_first_rules_has_no_rule_section() {
    let e = Env::started("TSK-1");
    e.advance_to("TSK-1", "review");
    let o = e.orch(&["report", "TSK-1", "--format", "json"]).output();
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["rule_changes"], serde_json::json!([]), "{r}");
    assert!(!e.orch_ok(&["report", "TSK-1"]).contains("Rule changes"));
}

#[test]
fn remembered_violations_carry_over_commits_that_do_not_touch_their_task() {
    let e = Env::user_commits();
    e.task_in("TSK-1", "plan");
    set_phase(&e, "plan", "review");
    e.git(&["add", SESSION]);
    e.git(&["commit", "-q", "--no-verify", "-m", "skip ahead"]);
    let st = json(&e, &["status", "TSK-1"]);
    let fix = st["command"].as_str().unwrap().to_string();
    assert_eq!(fix, "git reset --keep HEAD~1", "{st}");

    // Work on another task and on code: TSK-1's violation stays, TSK-2 is clean.
    e.task_in("TSK-2", "research");
    e.write("lib.rs", "pub fn f() {}\n");
    e.git(&["add", "lib.rs"]);
    e.git(&["commit", "-q", "--no-verify", "-m", "code"]);
    let one = json(&e, &["status", "TSK-1"]);
    assert_eq!(one["blockers"][0]["code"], "phase_skip", "{one}");
    let two = json(&e, &["status", "TSK-2"]);
    assert!(
        !two["blockers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["code"] == "phase_skip"),
        "{two}"
    );

    // Waiving it is a commit of TSK-1's own folder: the task is judged again, and cleared.
    let bad = e.git(&["log", "--format=%H", "-1", "--grep", "skip ahead"]);
    let bad = bad.trim();
    e.orch_ok(&["verify", "--accept", &bad[..7], "--reason", "agreed"]);
    e.git(&["add", ".orchestration"]);
    e.git(&["commit", "-q", "-m", "orch(TSK-1): waiver"]);
    let after = json(&e, &["status", "TSK-1"]);
    assert!(
        !after["blockers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["code"] == "phase_skip"),
        "{after}"
    );
    assert_eq!(json(&e, &["verify"])["ok"], true);
}
