//! `orch bug …` through the real binary: filing, duplicates across tasks, near matches,
//! decisions, regressions, merges of branches that reported the same bug, bad input — each
//! change a commit that `orch verify` and `git fsck` accept.

use crate::support::*;
use serde_json::Value;
use std::io::Write;
use std::process::Stdio;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/bugs");

fn fixture(n: &str) -> String {
    format!("{FIXTURES}/{n}.txt")
}

fn json(env: &Env, args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.push("--json");
    let out = env.orch(&a).succeeds();
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stdout))
}

fn report(env: &Env, code: &str, title: &str, file: &str) -> Value {
    json(
        env,
        &[
            "bug",
            "report",
            code,
            "--title",
            title,
            "--error-file",
            file,
        ],
    )
}

/// A repository with two tasks in execute (whose on_bug_found hook records events).
fn two_tasks() -> Env {
    let env = Env::started("TSK-1");
    env.advance_to("TSK-1", "execute");
    env.new_task("TSK-2");
    env.commit_all("TSK-2: write the problem");
    env
}

fn checked(env: &Env) {
    env.orch(&["verify"]).succeeds();
    env.fsck();
    env.assert_orch_clean();
}

#[test]
fn a_report_files_a_bug_and_the_same_error_elsewhere_is_an_occurrence() {
    let env = two_tasks();
    let head_before = env.head();
    let r = report(&env, "TSK-1", "cargo2junit crash", &fixture("004"));
    assert_eq!(r["outcome"], "new");
    let id = r["bug"]["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("BUG-") && id.len() == 12, "{id}");
    assert_eq!(r["events"], serde_json::json!(["orchestration.bug.found"]));
    // One commit with the bug's two files, the task's event log and the merge rule.
    let files = env.git(&["diff", "--name-only", &head_before, "HEAD"]);
    let mut files: Vec<&str> = files.lines().collect();
    files.sort();
    assert_eq!(
        files,
        [
            ".orchestration/.gitattributes",
            &format!(".orchestration/bugs/{id}.jsonl"),
            &format!(".orchestration/bugs/{id}.md"),
            ".orchestration/tasks/TSK-1/events.jsonl",
        ]
    );
    assert!(env
        .read(".orchestration/.gitattributes")
        .contains("bugs/*.jsonl merge=union"));
    let md = env.read(&format!(".orchestration/bugs/{id}.md"));
    assert!(
        md.contains("fingerprint: ")
            && md.contains("status: open")
            && md.contains("cargo2junit-0.1.13")
    );
    checked(&env);

    // The same panic from another task, other line numbers and home directory.
    let noisy = std::fs::read_to_string(fixture("004"))
        .unwrap()
        .replace("211:21", "219:9")
        .replace("/home/runner/", "/Users/someone/");
    env.write("noisy.txt", noisy);
    let md_before = env.read(&format!(".orchestration/bugs/{id}.md"));
    let again = report(
        &env,
        "TSK-2",
        "same crash",
        &env.path("noisy.txt").display().to_string(),
    );
    assert_eq!(again["outcome"], "duplicate");
    assert_eq!(again["bug"]["id"], id.as_str());
    assert_eq!(again["bug"]["occurrences"], 2);
    assert_eq!(again["bug"]["tasks"], serde_json::json!(["TSK-1", "TSK-2"]));
    // An occurrence appends to the log only: the .md stays, so branches merge cleanly.
    assert_eq!(env.read(&format!(".orchestration/bugs/{id}.md")), md_before);
    assert_eq!(
        again["events"],
        serde_json::json!([]),
        "TSK-2 has no session, so no hook fires"
    );
    env.rm("noisy.txt");
    checked(&env);

    let listed = json(&env, &["bug", "list", "--task", "TSK-2"]);
    assert_eq!(listed["bugs"].as_array().unwrap().len(), 1);
    let shown = env.orch_ok(&["bug", "show", &id]);
    assert!(
        shown.contains("normalised") && shown.contains("message: assertion `left == right` failed"),
        "{shown}"
    );
}

#[test]
fn a_near_match_is_suggested_then_merged_or_kept_distinct() {
    let env = two_tasks();
    let a = report(&env, "TSK-1", "flaky backoff", &fixture("013"));
    let a_id = a["bug"]["id"].as_str().unwrap().to_string();
    // The same flaky test months later, after its tests moved to their own file.
    let out = env
        .orch(&[
            "bug",
            "report",
            "TSK-1",
            "--title",
            "flaky again",
            "--error-file",
            &fixture("014"),
        ])
        .succeeds();
    assert!(
        out.stdout
            .contains(&format!("possible_duplicate_of: {a_id}")),
        "{}",
        out.stdout
    );
    let b = json(&env, &["bug", "list"]);
    let b_id = b["bugs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap().to_string())
        .find(|x| *x != a_id)
        .unwrap();
    let merged = json(&env, &["bug", "merge", &b_id, &a_id]);
    assert_eq!(merged["bug"]["status"], "duplicate");
    assert_eq!(merged["bug"]["duplicate_of"], a_id.as_str());
    // A report matching the merged bug counts for the bug it was merged into.
    let again = report(&env, "TSK-1", "again", &fixture("014"));
    assert_eq!(again["bug"]["id"], a_id.as_str());
    env.orch(&["bug", "reopen", &b_id]).succeeds();
    let d = json(&env, &["bug", "distinct", &b_id, &a_id]);
    assert_eq!(d["bug"]["distinct_from"], serde_json::json!([a_id]));
    assert!(
        d["bug"]["possible_duplicate_of"].is_null(),
        "a distinct bug is no longer suggested"
    );
    let log = env.read(&format!(".orchestration/bugs/{b_id}.jsonl"));
    for kind in ["\"found\"", "\"merged\"", "\"reopened\"", "\"distinct\""] {
        assert!(log.contains(kind), "{kind} missing from {log}");
    }
    checked(&env);
}

#[test]
fn a_resolved_bug_that_comes_back_reopens_as_a_regression() {
    let env = two_tasks();
    let r = report(&env, "TSK-1", "nil deref", &fixture("018"));
    let id = r["bug"]["id"].as_str().unwrap().to_string();
    let resolved = json(
        &env,
        &[
            "bug",
            "resolve",
            &id,
            "--commit",
            "HEAD",
            "--note",
            "guard added",
        ],
    );
    assert_eq!(resolved["bug"]["status"], "resolved");
    let fixed_at = env.git(&["rev-parse", "HEAD~1"]);
    assert_eq!(resolved["bug"]["resolution"]["commit"], fixed_at.trim());
    assert_eq!(
        json(&env, &["bug", "list", "--status", "open"])["bugs"],
        serde_json::json!([])
    );
    env.orch(&["bug", "resolve", &id])
        .fails(4)
        .stderr_contains("already resolved");
    // The same crash, another goroutine and other addresses (#5743 vs #5583).
    let back = env
        .orch(&[
            "bug",
            "report",
            "TSK-1",
            "--title",
            "again",
            "--error-file",
            &fixture("019"),
        ])
        .succeeds();
    assert!(back.stdout.contains("regression"), "{}", back.stdout);
    let shown = json(&env, &["bug", "show", &id]);
    assert_eq!(shown["status"], "open");
    assert_eq!(shown["regressions"], 1);
    let types = env.event_types("TSK-1");
    for t in [
        "orchestration.bug.found",
        "orchestration.bug.resolved",
        "orchestration.bug.regression",
    ] {
        assert!(types.iter().any(|x| x == t), "{t} not in {types:?}");
    }
    checked(&env);
}

#[test]
fn review_warns_about_open_bugs_and_a_block_rule_refuses() {
    let env = two_tasks();
    let r = report(&env, "TSK-1", "nil deref", &fixture("018"));
    let id = r["bug"]["id"].as_str().unwrap().to_string();
    env.advance_to("TSK-1", "review");
    let report_md = env.orch_ok(&["report", "TSK-1"]);
    assert!(
        report_md.contains("### Bugs") && report_md.contains(&format!("{id} (medium) **open**")),
        "{report_md}"
    );
    env.artifact("TSK-1", "REVIEW.md");
    // The built-in review warns about the open bug on the way out.
    let out = env.orch(&["phase", "complete", "TSK-1"]).run();
    assert!(
        out.stderr.contains(&id),
        "no warning about {id}: {}",
        out.stderr
    );

    // With open_bugs: block, TSK-2 cannot leave review while its bug is open.
    let wf =
        orch::workflow::BUILTIN_WORKFLOW.replace("    open_bugs: warn", "    open_bugs: block");
    env.write(".orchestration/workflow.yaml", wf);
    env.commit_all("block on open bugs");
    env.orch(&["session", "start", "TSK-2"]).succeeds();
    let b = report(&env, "TSK-2", "dap crash", &fixture("079"));
    let b_id = b["bug"]["id"].as_str().unwrap().to_string();
    env.advance_to("TSK-2", "review");
    env.artifact("TSK-2", "REVIEW.md");
    env.commit_all("review written");
    env.unchanged(|e| {
        e.orch(&["phase", "complete", "TSK-2"])
            .fails(3)
            .stderr_contains(&b_id);
    });
    env.orch(&["bug", "resolve", &b_id]).succeeds();
    let out = env.orch(&["phase", "complete", "TSK-2"]).run();
    assert!(!out.stderr.contains(&b_id), "{}", out.stderr);
}

#[test]
fn two_branches_that_reported_the_same_bug_merge_without_conflict() {
    let env = two_tasks();
    let first = report(&env, "TSK-1", "known", &fixture("067"));
    let known = first["bug"]["id"].as_str().unwrap().to_string();
    env.git(&["checkout", "-q", "-b", "other"]);
    // On `other`: an occurrence of the known bug and a brand-new one.
    report(&env, "TSK-1", "again", &fixture("067"));
    let fresh_other = report(&env, "TSK-1", "dap crash", &fixture("079"));
    env.git(&["checkout", "-q", "main"]);
    // On `main`: the same two, independently.
    report(&env, "TSK-1", "again", &fixture("067"));
    let fresh_main = report(&env, "TSK-1", "dap crash", &fixture("080"));
    assert_ne!(
        fresh_main["bug"]["id"], fresh_other["bug"]["id"],
        "ids are minted per branch"
    );
    let m = env.git_raw(&["merge", "--no-edit", "other"]);
    assert!(m.status.success(), "merge conflicted: {}", stderr(&m));
    // The known bug's log holds every occurrence once; its .md was never touched.
    let shown = json(&env, &["bug", "show", &known]);
    assert_eq!(shown["occurrences"], 3);
    // The two new ones share a fingerprint; the later points at the earlier.
    let bugs = json(&env, &["bug", "list"]);
    let pointing: Vec<&Value> = bugs["bugs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b.get("same_fingerprint_as").is_some())
        .collect();
    assert_eq!(pointing.len(), 1, "{bugs}");
    // The next report after the merge finds the bug the merge brought in.
    let after = report(&env, "TSK-1", "after merge", &fixture("079"));
    assert_eq!(after["outcome"], "duplicate");
    checked(&env);
}

#[test]
fn bad_input_is_refused_with_nothing_written() {
    let env = two_tasks();
    env.write("big.txt", vec![b'x'; 50 * 1024 * 1024]);
    env.write("binary.bin", [0u8, 159, 146, 150, 0xff, 0x00, 0x01]);
    env.commit_all("inputs");
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (vec!["--title", "t", "--error", ""], 2, "empty"),
        (vec!["--title", "t", "--error", "   \n"], 2, "empty"),
        (
            vec!["--title", "t", "--error-file", "big.txt"],
            2,
            "larger than",
        ),
        (
            vec!["--title", "t", "--error-file", "binary.bin"],
            2,
            "not UTF-8",
        ),
        (
            vec!["--title", "t", "--error", "a\u{1b}[31mred"],
            2,
            "control character",
        ),
        (
            vec!["--title", "two\nlines", "--error", "boom"],
            2,
            "line break",
        ),
        (vec!["--title", "t"], 2, "needs the error"),
        (
            vec!["--title", "t", "--error", "x", "--line", "3"],
            2,
            "--line needs --file",
        ),
        (
            vec!["--title", "t", "--error", "x", "--severity", "huge"],
            2,
            "severity",
        ),
        (
            vec!["--title", "t", "--error-file", "missing.txt"],
            2,
            "missing.txt",
        ),
    ];
    for (extra, code, needle) in cases {
        let mut args = vec!["bug", "report", "TSK-1"];
        args.extend(extra);
        env.unchanged(|e| e.orch(&args).fails(code).stderr_contains(needle).no_panic());
    }
    env.unchanged(|e| {
        e.orch(&["bug", "show", "../../etc/passwd"])
            .fails(2)
            .stderr_contains("not a bug id")
    });
    env.unchanged(|e| {
        e.orch(&["bug", "resolve", "BUG-00000000"])
            .fails(2)
            .stderr_contains("no bug BUG-00000000")
    });
    env.unchanged(|e| {
        e.orch(&["bug", "list", "--status", "maybe"])
            .fails(2)
            .stderr_contains("status")
    });
    // The same huge input on stdin.
    let mut child = env
        .orch(&["bug", "report", "TSK-1", "--title", "t", "-"])
        .command()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // orch stops reading past the limit, so the pipe may close early.
    let _ = stdin.write_all(&vec![b'y'; 5 * 1024 * 1024]);
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert_exit(&out, 2, "larger than");
    assert_eq!(
        env.git(&["status", "--porcelain", "--", ".orchestration"]),
        ""
    );
}

#[test]
fn the_error_can_come_on_stdin_for_the_current_task() {
    let env = two_tasks();
    let mut child = env
        .orch(&["bug", "report", "--title", "from stdin", "-", "--json"])
        .env("ORCH_TASK", "TSK-2")
        .command()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(std::fs::read(fixture("046")).unwrap().as_slice())
        .unwrap();
    let out = ok(child.wait_with_output().unwrap());
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["bug"]["tasks"], serde_json::json!(["TSK-2"]));
    checked(&env);
}

/// Bugs as `orch bug report` writes them are found by the search, dated by their last
/// occurrence, and a filter-only query lists the newest first.
#[test]
fn the_search_dates_bugs_and_lists_the_newest_first() {
    let env = two_tasks();
    let first = report(&env, "TSK-1", "first crash", &fixture("004"));
    let second = report(&env, "TSK-2", "second crash", &fixture("001"));
    let ids = [&second, &first].map(|r| r["bug"]["id"].as_str().unwrap().to_string());
    let v = json(&env, &["search", "kind:bug", "--scope", "project"]);
    let hits = v["hits"].as_array().unwrap();
    let got: Vec<&str> = hits.iter().map(|h| h["bug"].as_str().unwrap()).collect();
    assert_eq!(got, ids, "{v}");
    for h in hits {
        assert!(h["ts"].as_str().is_some_and(|t| t.starts_with("20")), "{h}");
        // A bug hit says its status, and holds no event id or section.
        assert_eq!(h["status"], "open", "{h}");
        assert!(h["event_id"].is_null() && h["section"].is_null(), "{h}");
    }
    let id = &ids[0];
    env.orch(&["search", "kind:bug", "--scope", "project"])
        .succeeds()
        .stdout_contains(&format!(".orchestration/bugs/{id}.md {id} (open)"));
}
