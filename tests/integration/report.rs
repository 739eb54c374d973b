//! `orch report`: a task's story for its pull request, as Markdown (snapshots, a grammar check
//! of the Mermaid chart, the size limit) and as JSON (strict structs); and the GitHub workflow
//! that publishes it.

#![allow(dead_code)]

use crate::support::*;
use serde::Deserialize;

const T: &str = ".orchestration/tasks/TSK-1";

// ---------------------------------------------------------------------------------------------
// The JSON document, field for field.

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportDoc {
    ok: bool,
    task: String,
    title: String,
    state: String,
    current_phase: Option<String>,
    active: bool,
    generated_at: String,
    verify: String,
    verdict: String,
    verified: bool,
    phase_order: Vec<String>,
    phases: Vec<PhaseRow>,
    changes: Changes,
    code_commits: Vec<PhaseCommits>,
    criteria: Vec<Criterion>,
    checks: Vec<CheckRun>,
    review: Option<Review>,
    review_rounds: Vec<ReviewRound>,
    overrides: Vec<OverrideRecord>,
    violations: Vec<Violation>,
    waived: Vec<Waived>,
    repaired: Vec<Repaired>,
    bugs: Vec<Bug>,
    follow_ups: Vec<FollowUp>,
    links: Vec<json::Link>,
    artifacts: Vec<ArtifactLink>,
    code_allowed_from: String,
    agent_denials: Vec<Denials>,
    agent_refusals: Vec<AgentRefusal>,
    rule_changes: Vec<RuleChange>,
    diagnostics: Vec<json::Diagnostic>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleChange {
    commit: String,
    date: String,
    author: String,
    subject: String,
    changed: Vec<String>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Denials {
    phase: String,
    count: usize,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AgentRefusal {
    at: String,
    agent: String,
    tool: String,
    phase: String,
    path: Option<String>,
    command: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PhaseRow {
    phase: String,
    session_key: String,
    started: String,
    completed: Option<String>,
    duration: Option<String>,
    left_by: Option<String>,
    to: Option<String>,
    pass: usize,
    reopened_from: Option<String>,
    commit: Option<String>,
    #[serde(rename = "override")]
    override_: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Changes {
    summary: Option<String>,
    base: Option<String>,
    head: Option<String>,
    files: usize,
    commits: usize,
    top_files: Vec<FileEntry>,
    note: Option<String>,
    off_branch: Option<crate::support::json::Diagnostic>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileEntry {
    path: String,
    old_path: Option<String>,
    similarity: Option<u32>,
    status: String,
    old_mode: Option<String>,
    new_mode: Option<String>,
    binary: bool,
    insertions: usize,
    deletions: usize,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PhaseCommits {
    phase: String,
    commits: Vec<CodeCommit>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CodeCommit {
    commit: String,
    subject: String,
    author: String,
    date: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Criterion {
    text: String,
    state: String,
    reason: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckRun {
    at: String,
    actor: String,
    check: String,
    command: String,
    exit_code: Option<i32>,
    passed: bool,
    timed_out: bool,
    duration_ms: u64,
    commit: Option<String>,
    clean: bool,
    tail: String,
    log: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Review {
    verdict: String,
    reviewer: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReviewRound {
    pass: usize,
    verdict: Option<String>,
    reviewer: Option<String>,
    at: String,
    left_by: String,
    to: Option<String>,
    commit: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OverrideRecord {
    phase: String,
    to: Option<String>,
    reason: String,
    author: String,
    at: String,
    checks: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Violation {
    commit: Option<String>,
    task: String,
    rule: String,
    file: String,
    message: String,
    fix: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Waived {
    commit: Option<String>,
    task: String,
    rule: String,
    file: String,
    message: String,
    fix: String,
    waiver: Waiver,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Waiver {
    commit: String,
    rules: Vec<String>,
    reason: String,
    author: String,
    at: String,
    event: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Repaired {
    commit: Option<String>,
    task: String,
    rule: String,
    file: String,
    message: String,
    fix: String,
    repaired_by: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Bug {
    id: String,
    title: String,
    severity: String,
    status: String,
    occurrences: usize,
    first_seen: String,
    resolved_at: Option<String>,
    resolution: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FollowUp {
    text: String,
    source: String,
    at: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ArtifactLink {
    name: String,
    path: String,
}

/// A coding agent's tool call put to `orch hook agent-pre-tool` as the agent sends it (Claude
/// Code's and Codex's PreToolUse input have the same shape); it must be refused.
fn agent_call_refused(env: &Env, agent: &str, tool: &str, input: serde_json::Value) {
    use std::io::Write;
    let payload = serde_json::json!({
        "session_id": "3f1c2a9e-8d4b-4e55-9a61-0c2d7b5e4f10",
        "cwd": env.root.display().to_string(),
        "hook_event_name": "PreToolUse",
        "tool_name": tool,
        "tool_input": input,
    });
    let mut cmd = env
        .orch(&["hook", "agent-pre-tool", "--agent", agent])
        .command();
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("spawn orch");
    let stdin = child.stdin.take().unwrap();
    { stdin }.write_all(payload.to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{agent} {tool}: {out:?}");
}

fn report_json(env: &Env) -> ReportDoc {
    env.orch(&["report", "TSK-1", "--format", "json"])
        .succeeds()
        .json()
}

// ---------------------------------------------------------------------------------------------
// Mermaid: the `gantt` lines orch writes, checked against the grammar Mermaid reads them with.

/// The lines of the first ```mermaid block of `md`.
fn mermaid_block(md: &str) -> Vec<&str> {
    let start = md.find("```mermaid\n").expect("a mermaid block") + "```mermaid\n".len();
    let end = md[start..].find("```").expect("the block is closed");
    md[start..start + end].lines().collect()
}

/// A `YYYY-MM-DD HH:mm:ss` time as seconds since 0000-01-01 (enough to order them).
fn gantt_time(s: &str) -> Result<i64, String> {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Result<i64, String> {
        s.get(r)
            .filter(|d| d.bytes().all(|c| c.is_ascii_digit()))
            .map(|d| d.parse::<i64>().unwrap())
            .ok_or_else(|| format!("{s:?} is not YYYY-MM-DD HH:mm:ss"))
    };
    if b.len() != 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b' '
        || b[13] != b':'
        || b[16] != b':'
    {
        return Err(format!("{s:?} is not YYYY-MM-DD HH:mm:ss"));
    }
    let (y, mo, d) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    let (h, mi, se) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 59 {
        return Err(format!("{s:?} is out of range"));
    }
    Ok(((((y * 12 + mo) * 31 + d) * 24 + h) * 60 + mi) * 60 + se)
}

/// Checks every line of a gantt chart the way Mermaid's lexer splits them: the keywords orch
/// uses, `section NAME`, and `NAME :tags, id, start, end` tasks whose name holds no `:`, `#`,
/// `;` or `%`, whose data holds no `#` or `;`, with known tags, unique ids, and times in the
/// declared `dateFormat` that do not run backwards. Returns the tasks as (name, tags, start).
fn check_gantt(lines: &[&str]) -> Result<Vec<(String, Vec<String>, i64)>, String> {
    let mut it = lines.iter();
    if it.next().map(|l| l.trim()) != Some("gantt") {
        return Err("the chart does not start with `gantt`".into());
    }
    let (mut ids, mut tasks, mut date_format, mut in_section) = (vec![], vec![], None, false);
    for raw in it {
        let l = raw.trim();
        let bad = |why: &str| Err(format!("{why}: {raw:?}"));
        if l.is_empty() || l.starts_with("%%") {
            continue;
        }
        let (word, rest) = l.split_once(' ').unwrap_or((l, ""));
        match word {
            "title" | "axisFormat" | "dateFormat" | "section" => {
                if rest.trim().is_empty() || rest.contains(['#', ';']) {
                    return bad("keyword without a value, or with # or ;");
                }
                if word == "section" && rest.contains(':') {
                    return bad("a section name with `:`");
                }
                if word == "axisFormat" && !rest.starts_with('%') {
                    return bad("axisFormat is not a d3 time format");
                }
                if word == "dateFormat" {
                    date_format = Some(rest.to_string());
                }
                in_section |= word == "section";
            }
            "todayMarker" if rest == "off" => {}
            _ => {
                let Some((name, data)) = l.split_once(':') else {
                    return bad("neither a keyword nor a task");
                };
                if !in_section {
                    return bad("a task before any section");
                }
                if name.trim().is_empty() || name.contains(['#', ';', '%']) {
                    return bad("a task name that is empty or holds # ; %");
                }
                if data.contains(['#', ';', ':']) && date_format.is_none() {
                    return bad("task data before dateFormat");
                }
                let fields: Vec<&str> = data.split(',').map(str::trim).collect();
                let n_tags = fields
                    .iter()
                    .take_while(|f| matches!(**f, "done" | "active" | "crit" | "milestone"))
                    .count();
                let rest = &fields[n_tags..];
                if rest.len() != 3 {
                    return bad("a task without exactly `id, start, end` after its tags");
                }
                let id = rest[0];
                if !id.starts_with(|c: char| c.is_ascii_alphabetic())
                    || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                {
                    return bad("a task id that is not a plain identifier");
                }
                if ids.contains(&id.to_string()) {
                    return bad("a repeated task id");
                }
                ids.push(id.to_string());
                if date_format.as_deref() != Some("YYYY-MM-DD HH:mm:ss") {
                    return Err(format!("unexpected dateFormat {date_format:?}"));
                }
                let (start, end) = (gantt_time(rest[1])?, gantt_time(rest[2])?);
                if end < start {
                    return bad("a task that ends before it starts");
                }
                let tags = fields[..n_tags].iter().map(|s| s.to_string()).collect();
                tasks.push((name.trim().to_string(), tags, start));
            }
        }
    }
    if date_format.is_none() || tasks.is_empty() {
        return Err("no dateFormat or no task".into());
    }
    Ok(tasks)
}

#[test]
fn the_gantt_check_refuses_what_mermaid_would() {
    let ok = [
        "gantt",
        "    dateFormat YYYY-MM-DD HH:mm:ss",
        "    section a",
        "    a :done, p1, 2025-01-13 14:30:22, 2025-01-13 14:31:22",
    ];
    assert!(check_gantt(&ok).is_ok());
    for (i, bad) in [
        "    a: b :done, p1, 2025-01-13 14:30:22, 2025-01-13 14:31:22",
        "    a :done, p 1, 2025-01-13 14:30:22, 2025-01-13 14:31:22",
        "    a :done, p1, 2025-01-13T14:30:22Z, 2025-01-13 14:31:22",
        "    a :done, p1, 2025-01-13 14:31:22, 2025-01-13 14:30:22",
        "    a :later, p1, 2025-01-13 14:30:22, 2025-01-13 14:31:22",
        "    a # b :done, p1, 2025-01-13 14:30:22, 2025-01-13 14:31:22",
        "    a :done, p1, 2025-01-13 14:30:22",
    ]
    .iter()
    .enumerate()
    {
        let mut lines = ok.to_vec();
        lines[3] = bad;
        assert!(check_gantt(&lines).is_err(), "case {i} passed: {bad}");
    }
}

// ---------------------------------------------------------------------------------------------
// The story: a task with two links, an override, a failing then passing check, a bug found
// and resolved, a waived violation, a review that asked for rework, a reopen, dropped
// criteria and follow-ups.

fn story() -> Env {
    let env = Env::builder()
        .orch_init()
        .orch(&["hooks", "install"])
        .task("TSK-1")
        .build();
    let config = env.read(".orchestration/config.toml").replace(
        "# tests = \"python3 -m unittest\"",
        "tests = \"test -f work/ok\"",
    );
    env.config(&config);
    env.write(
        &format!("{T}/TASK.md"),
        env.read(&format!("{T}/TASK.md")).replace(
            &format!("- [ ] {CRITERION}"),
            &format!("- [ ] {CRITERION}\n- [ ] works offline"),
        ),
    );
    env.orch_ok(&[
        "task",
        "link",
        "TSK-1",
        "--pr",
        "https://github.com/acme/app/pull/7",
    ]);
    env.orch_ok(&[
        "task",
        "link",
        "TSK-1",
        "--issue",
        "https://github.com/acme/app/issues/3",
    ]);
    env.orch_ok(&["session", "start", "TSK-1"]);
    // The agent reaches for the code twice before the plan is done; the agent hook refuses.
    let auth = env.root.join("src/auth.rs").display().to_string();
    agent_call_refused(
        &env,
        "claude",
        "Write",
        serde_json::json!({"file_path": auth, "content": "fn login() {}"}),
    );
    env.orch_ok(&["phase", "complete"]); // intake -> research
    env.orch_ok(&[
        "phase",
        "complete",
        "--override",
        "--reason",
        "the issue holds the context",
    ]);
    agent_call_refused(
        &env,
        "codex",
        "Bash",
        serde_json::json!({"command": "echo 'timeout = 30' > src/config.rs"}),
    );
    env.artifact("TSK-1", "PLAN.md");
    env.orch_ok(&["phase", "complete"]); // plan -> execute
    env.code_commit("TSK-1");
    env.orch(&["check"])
        .status(3)
        .stderr_contains("error: check tests failed");
    env.orch_ok(&[
        "bug",
        "report",
        "TSK-1",
        "--title",
        "the ok file is missing",
        "--error",
        "test: work/ok: No such file or directory",
    ]);
    env.write("work/ok", "ok\n");
    env.git(&["add", "work/ok"]);
    env.git(&["commit", "-q", "-m", "Add the ok file"]);
    // A commit whose trailers name the wrong phase, made past the hooks, then accepted.
    env.write("work/label.txt", "mislabelled\n");
    env.git(&["add", "work/label.txt"]);
    env.git(&[
        "commit",
        "-q",
        "--no-verify",
        "-m",
        "Mislabelled work",
        "-m",
        "Orchestration-Task: TSK-1\nOrchestration-Phase: plan",
    ]);
    let bad = env.head();
    env.orch_ok(&[
        "verify",
        "--accept",
        &bad,
        "--reason",
        "pushed before the hooks were installed",
    ]);
    env.orch_ok(&["check"]);
    env.orch_ok(&["phase", "complete"]); // execute -> review
    let review = filled_artifact("TSK-1", "REVIEW.md")
        .replace(
            "verdict: approve\n",
            "verdict: \"rework: the timeout is not configurable\"\nreviewer: Rita Reviewer <rita@example.com>\n",
        )
        + "\n## Follow-ups\n\n- make the timeout a setting\n";
    env.write(&format!("{T}/REVIEW.md"), &review);
    env.orch(&["phase", "complete"]).fails(3);
    env.orch_ok(&["phase", "set", "TSK-1", "execute"]);
    env.code_commit("TSK-1");
    env.orch_ok(&["check"]);
    env.orch_ok(&["phase", "complete"]); // execute -> review
    env.write(
        &format!("{T}/REVIEW.md"),
        review.replace("\"rework: the timeout is not configurable\"", "approve"),
    );
    env.orch_ok(&["phase", "complete"]); // review -> close
    let bugs: serde_json::Value =
        serde_json::from_str(&env.orch_ok(&["--json", "bug", "list"])).unwrap();
    let bug = bugs["bugs"][0]["id"].as_str().unwrap().to_string();
    env.orch_ok(&["bug", "resolve", &bug]);
    env.write(
        &format!("{T}/SUMMARY.md"),
        filled_artifact("TSK-1", "SUMMARY.md") + "\n## Follow-ups\n\n- document the setting\n",
    );
    env.write(
        &format!("{T}/TASK.md"),
        env.read(&format!("{T}/TASK.md"))
            .replace(&format!("- [ ] {CRITERION}"), &format!("- [x] {CRITERION}"))
            .replace(
                "- [ ] works offline",
                "- [~] works offline — dropped: needs a cache, follow-up task",
            ),
    );
    env.orch_ok(&[
        "event",
        "add",
        "TSK-1",
        "close.followup",
        "--data",
        r#"{"note":"cache sessions for offline use"}"#,
    ]);
    env.orch_ok(&["session", "end"]);
    env
}

/// Commit ids, bug ids and check durations vary from run to run; the rest is the fixed clock's.
fn snap_report(name: &str, text: &str) {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/snapshots"));
    s.set_prepend_module_to_snapshot(true);
    s.add_filter(r"BUG-[0-9A-F]{8}", "BUG-[ID]");
    s.add_filter(r"\b[0-9a-f]{7,40}\b", "[SHA]");
    s.add_filter(r"\| \d+\.\d s \|", "| [TIME] |");
    s.bind(|| insta::assert_snapshot!(name, text));
}

#[test]
fn the_report_tells_the_story_of_a_task() {
    let env = story();
    let md = env.orch_ok(&["report", "TSK-1"]);
    snap_report("story", &md);
    let tasks = check_gantt(&mermaid_block(&md)).unwrap_or_else(|e| panic!("{e}\n{md}"));
    // Every stretch has its bar, the reopen its milestone, the override a critical bar.
    assert_eq!(
        tasks
            .iter()
            .filter(|t| !t.1.contains(&"milestone".to_string()))
            .count(),
        8
    );
    assert!(tasks
        .iter()
        .any(|t| t.0 == "reopened from review" && t.1 == ["milestone"]));
    assert!(tasks
        .iter()
        .any(|t| t.0.starts_with("research (override") && t.1.contains(&"crit".to_string())));
    assert!(md.len() < 65_536);
    env.orch_ok(&["verify"]);
    env.assert_orch_clean();
}

#[test]
fn the_json_report_carries_every_section() {
    let env = story();
    let r = report_json(&env);
    assert!(r.ok && r.diagnostics.is_empty());
    assert_eq!(
        (r.task.as_str(), r.title.as_str()),
        ("TSK-1", "Fix login timeout")
    );
    assert_eq!(
        (r.state.as_str(), r.verify.as_str(), r.verified),
        ("done", "waived", true)
    );
    assert!(!r.active && r.current_phase.as_deref() == Some("close"));
    assert_eq!(r.phase_order, PHASES);
    let phases: Vec<(&str, usize, Option<&str>, Option<&str>)> = r
        .phases
        .iter()
        .map(|p| {
            (
                p.phase.as_str(),
                p.pass,
                p.left_by.as_deref(),
                p.reopened_from.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        phases,
        [
            ("intake", 1, Some("complete"), None),
            ("research", 1, Some("complete"), None),
            ("plan", 1, Some("complete"), None),
            ("execute", 1, Some("complete"), None),
            ("review", 1, Some("reopen"), None),
            ("execute", 2, Some("complete"), Some("review")),
            ("review", 2, Some("complete"), None),
            ("close", 1, Some("end"), None),
        ]
    );
    // Each stretch's commit is the one that left it, as `orch log` has them (newest first).
    let log: serde_json::Value =
        serde_json::from_str(&env.orch_ok(&["--json", "log", "TSK-1"])).unwrap();
    let mut transitions: Vec<&str> = log["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["kind"] != "start")
        .map(|t| t["commit"].as_str().unwrap())
        .collect();
    transitions.reverse();
    let commits: Vec<&str> = r
        .phases
        .iter()
        .map(|p| p.commit.as_deref().unwrap())
        .collect();
    assert_eq!(commits, transitions);
    assert_eq!(
        r.phases[1].override_.as_deref(),
        Some("the issue holds the context")
    );
    assert_eq!(r.overrides.len(), 1);
    assert_eq!(r.overrides[0].checks, ["missing_artifact: CONTEXT.md"]);
    assert_eq!(
        (r.overrides[0].phase.as_str(), r.overrides[0].to.as_deref()),
        ("research", Some("plan"))
    );
    // What changed equals git's own count of the execute range.
    let stat = env.git(&[
        "diff",
        "--shortstat",
        r.changes.base.as_deref().unwrap(),
        r.changes.head.as_deref().unwrap(),
        "--",
        ".",
        ":!.orchestration",
    ]);
    assert_eq!(r.changes.summary.as_deref(), Some(stat.trim()));
    assert_eq!(r.changes.files, 4);
    assert_eq!(r.changes.top_files.len(), 4);
    let passed: Vec<bool> = r.checks.iter().map(|c| c.passed).collect();
    assert_eq!(passed, [false, true, true]);
    assert_eq!(r.checks[0].exit_code, Some(1));
    assert!(r
        .checks
        .iter()
        .all(|c| c.check == "tests" && c.commit.is_some()));
    let rounds: Vec<(Option<&str>, &str, Option<&str>)> = r
        .review_rounds
        .iter()
        .map(|x| {
            (
                x.verdict.as_deref(),
                x.left_by.as_str(),
                x.reviewer.as_deref(),
            )
        })
        .collect();
    let rita = Some("Rita Reviewer <rita@example.com>");
    assert_eq!(
        rounds,
        [
            (Some("rework"), "reopen", rita),
            (Some("approve"), "complete", rita)
        ]
    );
    assert_eq!(r.review.as_ref().unwrap().verdict, "approve");
    assert_eq!(r.waived.len(), 1);
    assert_eq!(r.waived[0].rule, "trailer_mismatch");
    assert_eq!(
        r.waived[0].waiver.reason,
        "pushed before the hooks were installed"
    );
    assert!(r.violations.is_empty() && r.repaired.is_empty());
    assert_eq!(r.bugs.len(), 1);
    assert_eq!(r.bugs[0].status, "resolved");
    assert!(r.bugs[0].resolved_at.is_some());
    let follow: Vec<(&str, &str)> = r
        .follow_ups
        .iter()
        .map(|f| (f.text.as_str(), f.source.as_str()))
        .collect();
    assert_eq!(
        follow,
        [
            ("cache sessions for offline use", "event"),
            ("document the setting", "SUMMARY.md"),
            ("make the timeout a setting", "REVIEW.md"),
        ]
    );
    let kinds: Vec<&str> = r.links.iter().map(|l| l.kind.as_str()).collect();
    assert_eq!(kinds, ["pr", "issue"]);
    let states: Vec<(&str, Option<&str>)> = r
        .criteria
        .iter()
        .map(|c| (c.state.as_str(), c.reason.as_deref()))
        .collect();
    assert_eq!(
        states,
        [
            ("done", None),
            ("dropped", Some("needs a cache, follow-up task"))
        ]
    );
    let names: Vec<&str> = r.artifacts.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "TASK.md",
            "PLAN.md",
            "REVIEW.md",
            "CHANGES.md",
            "SUMMARY.md",
            "POSTOP.md"
        ]
    );
    for a in &r.artifacts {
        assert!(
            env.path(&a.path).is_file(),
            "{} is not a relative path to the file",
            a.path
        );
    }
    let groups: Vec<(&str, usize)> = r
        .code_commits
        .iter()
        .map(|g| (g.phase.as_str(), g.commits.len()))
        .collect();
    assert_eq!(groups, [("plan", 1), ("execute", 3)]);
    // The agent's refused code writes, by phase and one by one.
    assert_eq!(r.code_allowed_from, "execute");
    assert_eq!(
        r.agent_denials,
        [
            Denials {
                phase: "intake".into(),
                count: 1
            },
            Denials {
                phase: "plan".into(),
                count: 1
            }
        ]
    );
    let refused: Vec<String> = r
        .agent_refusals
        .iter()
        .map(|a| {
            format!(
                "{} {} in {}: {:?} {:?}",
                a.agent, a.tool, a.phase, a.path, a.command
            )
        })
        .collect();
    assert_eq!(
        refused,
        [
            "claude Write in intake: Some(\"src/auth.rs\") None",
            "codex Bash in plan: Some(\"src/config.rs\") Some(\"echo 'timeout = 30' > src/config.rs\")",
        ]
    );
    assert!(r.agent_refusals.iter().all(|a| !a.at.is_empty()));
}

#[test]
fn what_changed_lists_the_biggest_files_and_counts_the_rest() {
    let env = Env::started("TSK-1");
    env.advance_to("TSK-1", "execute");
    // Twelve files, file i with i + 1 lines, and advance_to's one-line code commit: the ten
    // biggest are listed, most lines first.
    for i in 0..12 {
        env.write(&format!("src/f{i:02}.txt"), "line\n".repeat(i + 1));
    }
    env.git(&["add", "src"]);
    env.git(&[
        "commit",
        "-q",
        "-m",
        "Twelve files",
        "-m",
        "Orchestration-Task: TSK-1\nOrchestration-Phase: execute",
    ]);
    env.advance_to("TSK-1", "review");
    let md = env.orch_ok(&["report", "TSK-1"]);
    assert!(
        md.contains("**13 files changed, 79 insertions(+)** in 2 commits"),
        "{md}"
    );
    let listed: Vec<&str> = md
        .lines()
        .filter_map(|l| l.strip_prefix("| `src/"))
        .map(|l| &l[..7])
        .collect();
    let biggest: Vec<String> = (2..12).rev().map(|i| format!("f{i:02}.txt")).collect();
    assert_eq!(listed, biggest);
    assert!(
        md.contains("\n… and 3 more files (CHANGES.md lists every file)\n"),
        "{md}"
    );
    let r = report_json(&env);
    assert_eq!((r.changes.files, r.changes.top_files.len()), (13, 10));
}

#[test]
fn links_can_point_at_a_repository_and_commit() {
    let env = story();
    let base = "https://github.com/acme/app/blob/0123abc";
    let md = env.orch_ok(&["report", "TSK-1", "--link-base", &format!("{base}/")]);
    assert!(
        md.contains(&format!(
            "- [PLAN.md]({base}/.orchestration/tasks/TSK-1/PLAN.md)"
        )),
        "{md}"
    );
    env.orch(&["report", "TSK-1", "--format", "yaml"])
        .fails(2)
        .stderr_contains("--format markdown");
}

#[test]
fn an_active_task_has_a_bar_that_runs_until_now() {
    let env = Env::started("TSK-1");
    env.orch_ok(&["phase", "complete"]); // intake -> research
    let md = env.orch_ok(&["report", "TSK-1"]);
    let tasks = check_gantt(&mermaid_block(&md)).unwrap_or_else(|e| panic!("{e}\n{md}"));
    assert_eq!(tasks.len(), 2, "{md}");
    assert_eq!(tasks[1].0, "research (now)");
    assert_eq!(tasks[1].1, ["active"]);
    assert!(
        md.starts_with("## TSK-1: Fix login timeout — in research · verify: clean ✅\n"),
        "{md}"
    );
    assert!(
        md.contains("| research | 2025-01-13T14:33:22Z | — | — | in progress |"),
        "{md}"
    );
    let r = report_json(&env);
    assert_eq!(r.state, "in research");
    assert!(r.changes.summary.is_none() && r.changes.note.is_some());
    // A task without a session has no chart and says so.
    env.new_task("TSK-2");
    let md = env.orch_ok(&["report", "TSK-2"]);
    assert!(
        md.contains("— not started ·") && md.contains("No phases yet."),
        "{md}"
    );
}

// ---------------------------------------------------------------------------------------------
// A task far larger than a comment holds.

#[test]
fn a_huge_task_stays_under_the_comment_limit_and_says_what_it_cut() {
    let env = Env::started("TSK-1");
    env.orch_ok(&["phase", "complete"]);
    let long = "a criterion with a long explanation ".repeat(20);
    // TASK.md with 3,000 criteria and 500 links; 2,000 check runs and follow-ups; 1,000 refused
    // agent writes; 600 stretches.
    let mut task = env.read(&format!("{T}/TASK.md"));
    let links: String = (0..500)
        .map(|i| format!("  - kind: pr\n    url: https://github.com/acme/app/pull/{i}\n"))
        .collect();
    task = task.replacen("---\n", &format!("---\nlinks:\n{links}"), 1);
    let crit: String = (0..3000).map(|i| format!("- [x] {i} {long}\n")).collect();
    task = task.replace(
        "## Acceptance criteria\n",
        &format!("## Acceptance criteria\n\n{crit}"),
    );
    env.write(&format!("{T}/TASK.md"), task);
    let mut events = env.read(&format!("{T}/events.jsonl"));
    for i in 0..2000 {
        events.push_str(&format!(
            "{{\"id\":\"evt_{i:024x}\",\"ts\":\"2025-01-13T15:00:00Z\",\"type\":\"orchestration.check.tests\",\"entity_type\":\"task\",\"entity_id\":\"TSK-1\",\"actor\":\"A\",\"payload\":{{\"check\":\"tests\",\"command\":\"make test\",\"exit_code\":{},\"passed\":{},\"duration_ms\":5,\"commit\":null,\"clean\":true,\"tail\":\"\"}}}}\n",
            i % 2,
            i % 2 == 0
        ));
        events.push_str(&format!(
            "{{\"id\":\"evt_f{i:023x}\",\"ts\":\"2025-01-13T15:00:01Z\",\"type\":\"close.followup\",\"entity_type\":\"task\",\"entity_id\":\"TSK-1\",\"actor\":\"A\",\"payload\":{{\"note\":\"follow-up {i} {long}\"}}}}\n"
        ));
        if i % 2 == 0 {
            events.push_str(&format!(
                "{{\"id\":\"evt_a{i:023x}\",\"ts\":\"2025-01-13T15:00:02Z\",\"type\":\"orchestration.agent.denied\",\"entity_type\":\"task\",\"entity_id\":\"TSK-1\",\"actor\":\"A\",\"payload\":{{\"agent\":\"claude\",\"tool\":\"Bash\",\"phase\":\"research\",\"path\":\"src/{i}.rs\",\"command\":\"echo {long} > src/{i}.rs\"}}}}\n"
            ));
        }
    }
    env.write(&format!("{T}/events.jsonl"), events);
    let mut s = env.session_json("TSK-1");
    let history: Vec<serde_json::Value> = (0..600)
        .map(|i| {
            let a = i % 2;
            let (phase, to) = [("research", "plan"), ("plan", "research")][a];
            serde_json::json!({
                "phase": phase,
                "started_at": format!("2025-01-{:02}T10:00:00Z", 14 + i / 100),
                "completed_at": format!("2025-01-{:02}T10:00:00Z", 14 + (i + 1) / 100),
                "override": {"reason": long, "author": "A", "at": "2025-01-14T10:00:00Z", "checks": []},
                "to": to,
                "transition": if a == 1 { "reopen" } else { "complete" },
            })
        })
        .collect();
    s["phase_history"] = serde_json::Value::Array(history);
    s["current_phase"] = "plan".into();
    env.write(
        &format!("{T}/session.json"),
        serde_json::to_string_pretty(&s).unwrap(),
    );
    let md = env.orch_ok(&["report", "TSK-1"]);
    assert!(
        md.chars().count() < 65_536,
        "{} characters",
        md.chars().count()
    );
    assert!(md.len() <= 60_000, "{} bytes", md.len());
    for cut in [
        "- … and 2961 more (`orch report --format json` lists all)",
        "_… 1970 earlier runs left out (`orch report --format json` lists all)._",
        "_… 561 earlier phase stretches left out",
        "- … and 585 more",
        "- … and 1980 more",
        "- … and 480 more",
        "- … 985 earlier left out",
        "**The agent tried to write code 1000 times before execute** (1000 in research)",
        "earlier stretches are in the table and the JSON",
    ] {
        assert!(md.contains(cut), "no {cut:?} in\n{md}");
    }
    check_gantt(&mermaid_block(&md)).unwrap_or_else(|e| panic!("{e}"));
    let r = report_json(&env);
    assert_eq!(r.criteria.len(), 3001);
    assert_eq!(r.links.len(), 500);
    assert_eq!(r.checks.len(), 2000);
    assert_eq!(r.follow_ups.len(), 2000);
    assert_eq!(r.phases.len(), 601);
    assert_eq!(r.agent_refusals.len(), 1000);
    assert_eq!(r.agent_denials.len(), 1);
}

// ---------------------------------------------------------------------------------------------
// The GitHub workflow that publishes the report.

const WORKFLOW: &str = include_str!("../../.orchestration.example/github-workflow.yml");

fn workflow_steps() -> Vec<serde_yaml::Value> {
    let doc: serde_yaml::Value = serde_yaml::from_str(WORKFLOW).expect("the workflow is YAML");
    assert!(doc["on"]["pull_request"]["types"]
        .as_sequence()
        .unwrap()
        .contains(&"synchronize".into()));
    assert_eq!(doc["permissions"]["pull-requests"], "write");
    assert_eq!(doc["env"]["ORCH_REPO"], "https://github.com/OWNER/REPO");
    doc["jobs"]["verify"]["steps"]
        .as_sequence()
        .unwrap()
        .clone()
}

fn step<'a>(steps: &'a [serde_yaml::Value], name: &str) -> &'a serde_yaml::Value {
    steps
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no step {name:?}"))
}

#[test]
fn the_workflow_verifies_and_publishes_one_sticky_comment() {
    let steps = workflow_steps();
    let run = |name: &str| step(&steps, name)["run"].as_str().unwrap().to_string();
    assert!(run("Install orch").contains("cargo install --locked --git \"$ORCH_REPO\" orch"));
    assert!(run("Verify phase history").starts_with("orch verify --range"));
    assert!(run("Write the report").contains("orch report \"$t\" --format markdown --link-base"));
    assert!(run("Publish the report as the job summary").contains(">> \"$GITHUB_STEP_SUMMARY\""));
    let comment = step(&steps, "Publish the report as the pull request comment");
    assert!(comment["uses"]
        .as_str()
        .unwrap()
        .starts_with("actions/github-script@"));
    let script = comment["with"]["script"].as_str().unwrap();
    for needle in [
        "<!-- orch-report -->",
        "listComments",
        "updateComment",
        "createComment",
        "startsWith(marker)",
    ] {
        assert!(script.contains(needle), "the comment script lacks {needle}");
    }
    // The report is written after a failed verify too, and never without orch installed.
    for name in ["Write the report", "Publish the report as the job summary"] {
        let cond = step(&steps, name)["if"].as_str().unwrap();
        assert!(
            cond.contains("!cancelled()") && cond.contains(".outcome == 'success'"),
            "{cond}"
        );
    }
}

/// The report step's script, run as the runner would run it, in a clone with a pull request's
/// branch: the file starts with the marker and holds the report of the task the branch changed.
#[test]
fn the_workflow_report_step_writes_the_marked_report() {
    let env = Env::started("TSK-1");
    env.orch_ok(&["task", "new", "TSK-3", "--title", "Untouched"]);
    let origin = env.base.join("origin.git");
    env.git(&["clone", "-q", "--bare", ".", origin.to_str().unwrap()]);
    env.git(&["remote", "add", "origin", origin.to_str().unwrap()]);
    env.git(&["fetch", "-q", "origin"]);
    env.git(&["checkout", "-q", "-b", "feature"]);
    env.orch_ok(&["phase", "complete", "TSK-1"]);
    env.new_task("TSK-2"); // created on the branch, no session
    let steps = workflow_steps();
    let script = step(&steps, "Write the report")["run"]
        .as_str()
        .unwrap()
        .to_string();
    let out = env.base.join("report.md");
    let mut c = hermetic("bash", &env.home);
    c.current_dir(&env.root)
        .env("BASE_REF", "main")
        .env("LINK_BASE", "https://github.com/acme/app/blob/abc")
        .env("REPORT", &out)
        .args(["-e", "-c", &script]);
    let o = c.output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.starts_with("<!-- orch-report -->\n## TSK-1: Fix login timeout — in research"),
        "{text}"
    );
    assert!(
        text.contains("\n## TSK-2: Fix login timeout — not started"),
        "{text}"
    );
    assert!(!text.contains("TSK-3"), "{text}");
    assert!(
        text.contains("(https://github.com/acme/app/blob/abc/.orchestration/tasks/TSK-1/TASK.md)"),
        "{text}"
    );
}
