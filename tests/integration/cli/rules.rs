//! Every rule of DESIGN §2: validation, overrides, skips, reopens, the end of a session, and
//! what makes an artifact count.

use crate::support::json::*;
use crate::support::*;

#[test]
fn a_failing_validation_refuses_and_changes_nothing() {
    let env = Env::started("TSK-1");
    env.orch(&["phase", "complete"]).succeeds();
    let out = env.unchanged(|env| env.orch(&["phase", "complete"]).fails(3));
    snap!("refusal_missing_context", out.transcript(&env));
    let doc: ErrorDoc =
        env.unchanged(|env| env.orch(&["phase", "complete", "--json"]).fails(3).json());
    assert!(!doc.ok);
    assert_eq!(
        (doc.error.kind.as_str(), doc.error.exit_code),
        ("validation", 3)
    );
    assert_eq!(
        doc.diagnostics,
        [Diagnostic {
            severity: "error".into(),
            code: "missing_artifact".into(),
            message: ".orchestration/tasks/TSK-1/CONTEXT.md does not exist".into(),
            target: "CONTEXT.md".into(),
            fix: "write .orchestration/tasks/TSK-1/CONTEXT.md (phase research requires it)".into(),
        }]
    );
}

#[test]
fn missing_required_fields_of_task_md_block_intake() {
    let env = Env::started("TSK-1");
    env.write(
        ".orchestration/tasks/TSK-1/TASK.md",
        "---\ntitle: Only a title\nstatus: \"\"\n---\n## Problem\n\nIt breaks.\n\n## Acceptance criteria\n\n- [ ] it works\n",
    );
    let doc: ErrorDoc =
        env.unchanged(|env| env.orch(&["phase", "complete", "--json"]).fails(3).json());
    let codes: Vec<(&str, &str, &str)> = doc
        .diagnostics
        .iter()
        .map(|d| (d.severity.as_str(), d.code.as_str(), d.target.as_str()))
        .collect();
    assert_eq!(
        codes,
        [
            ("error", "missing_field", "TASK.md:status"),
            ("error", "missing_field", "TASK.md:description"),
            ("warning", "missing_field", "TASK.md:tags"),
            ("warning", "missing_field", "TASK.md:project_id"),
        ]
    );
    assert!(
        doc.error.message.contains("(and 1 more)"),
        "{}",
        doc.error.message
    );
}

#[test]
fn override_passes_a_failing_validation_and_is_recorded() {
    let env = Env::started("TSK-1");
    env.orch(&["phase", "complete"]).succeeds();
    let t: TransitionDoc = env
        .orch(&[
            "phase",
            "complete",
            "--override",
            "--reason",
            "context agreed in the issue",
            "--json",
        ])
        .succeeds()
        .json();
    assert_eq!(
        (t.kind.as_str(), t.from.as_deref(), t.to.as_deref()),
        ("complete", Some("research"), Some("plan"))
    );
    let ov = t.override_.expect("override in the output");
    assert_eq!(ov.reason, "context agreed in the issue");
    assert_eq!(ov.author, AUTHOR);
    assert_eq!(ov.checks, ["missing_artifact: CONTEXT.md"]);
    // The overridden checks travel as warnings.
    assert!(t.warnings.iter().all(|w| w.severity == "warning") && !t.warnings.is_empty());
    let s = env.session("TSK-1");
    let h = s.phase_history.last().unwrap();
    assert_eq!(h.phase, "research");
    assert_eq!(h.override_.as_ref(), Some(&ov));
    let evs = env.event_lines("TSK-1");
    let e = evs
        .iter()
        .find(|e| e.type_ == "orchestration.phase.override")
        .expect("override event");
    assert_eq!(e.payload["reason"], "context agreed in the issue");
    assert_eq!(e.payload["phase"], "research");
    assert_eq!(e.payload["checks"][0], "missing_artifact: CONTEXT.md");
    assert_eq!(e.actor, AUTHOR);
}

#[test]
fn override_needs_a_reason() {
    let env = Env::started("TSK-1");
    env.orch(&["phase", "complete"]).succeeds();
    env.unchanged(|env| {
        env.orch(&["phase", "complete", "--override"])
            .fails(2)
            .stderr_contains("--override needs a reason");
        env.orch(&["phase", "complete", "--override", "--reason", "  "])
            .fails(2)
            .stderr_contains("reason");
        env.orch(&["phase", "complete", "--reason", "why"])
            .fails(2)
            .stderr_contains("--reason goes with --override");
    });
}

#[test]
fn an_override_when_nothing_fails_records_nothing() {
    let env = Env::started("TSK-1");
    let t: TransitionDoc = env
        .orch(&[
            "phase",
            "complete",
            "--override",
            "--reason",
            "just in case",
            "--json",
        ])
        .succeeds()
        .json();
    assert!(t.override_.is_none());
    assert!(env.session("TSK-1").phase_history[0].override_.is_none());
    assert!(!env
        .event_types("TSK-1")
        .iter()
        .any(|t| t == "orchestration.phase.override"));
}

#[test]
fn skipping_forward_needs_permission() {
    let env = Env::started("TSK-1");
    env.unchanged(|env| {
        env.orch(&["phase", "set", "execute"])
            .fails(4)
            .stderr_contains(
                "skipping from intake to execute is not allowed (allow_phase_skip = false)",
            );
    });
    // --override passes the skip, and says what it skipped.
    let t: TransitionDoc = env
        .orch(&[
            "phase",
            "set",
            "TSK-1",
            "execute",
            "--override",
            "--reason",
            "hotfix",
            "--json",
        ])
        .succeeds()
        .json();
    assert_eq!(t.kind, "skip");
    assert_eq!(
        t.override_.unwrap().checks,
        ["phase_skip: intake -> execute skips research, plan"]
    );
    let h = env.session("TSK-1").phase_history;
    assert_eq!(
        (
            h[0].phase.as_str(),
            h[0].to.as_deref(),
            h[0].transition.as_deref()
        ),
        ("intake", Some("execute"), Some("skip"))
    );
    // Forward by one with `phase set` is a plain completion, checks included.
    env.code_commit("TSK-1");
    env.orch(&["phase", "set", "review"]).succeeds();
    env.unchanged(|env| {
        env.orch(&["phase", "set", "close"])
            .fails(3)
            .stderr_contains("REVIEW.md");
        env.orch(&["phase", "set", "review"])
            .fails(4)
            .stderr_contains("TSK-1 is already in phase review");
    });
}

#[test]
fn skip_with_allow_phase_skip_still_checks_the_current_phase() {
    let env = Env::started("TSK-1");
    env.config("[workflow]\nallow_phase_skip = true\n");
    env.orch(&["phase", "complete"]).succeeds();
    env.unchanged(|env| {
        env.orch(&["phase", "set", "execute"])
            .fails(3)
            .stderr_contains("CONTEXT.md");
    });
    env.artifact("TSK-1", "CONTEXT.md");
    let t: TransitionDoc = env
        .orch(&["phase", "set", "execute", "--json"])
        .succeeds()
        .json();
    assert_eq!((t.kind.as_str(), t.override_.is_none()), ("skip", true));
    assert_eq!(env.session("TSK-1").current_phase, "execute");
}

#[test]
fn going_back_reopens_and_is_recorded() {
    let env = Env::started("TSK-1");
    env.advance_to("TSK-1", "review");
    // Back is always allowed, whatever the current phase's checks say.
    let out = env.orch(&["phase", "set", "execute"]).succeeds();
    assert!(
        out.stdout.contains("Reopened TSK-1: review → execute"),
        "{}",
        out.stdout
    );
    let s = env.session("TSK-1");
    assert_eq!(s.current_phase, "execute");
    let h = s.phase_history.last().unwrap();
    assert_eq!(
        (h.phase.as_str(), h.to.as_deref(), h.transition.as_deref()),
        ("review", Some("execute"), Some("reopen"))
    );
    let types = env.event_types("TSK-1");
    assert_eq!(
        &types[types.len() - 3..],
        [
            "orchestration.phase.review.end",
            "orchestration.phase.reopen",
            "orchestration.phase.execute.start"
        ]
    );
    let reopen = env
        .event_lines("TSK-1")
        .into_iter()
        .find(|e| e.type_ == "orchestration.phase.reopen")
        .unwrap();
    assert_eq!(
        reopen.payload,
        serde_json::json!({"from": "review", "to": "execute"})
    );
    // And all the way back to the first phase.
    env.orch(&["phase", "set", "TSK-1", "intake"]).succeeds();
    assert_eq!(env.session("TSK-1").current_phase, "intake");
    // Then forward again through the completed phases: artifacts are still there.
    env.advance_to("TSK-1", "close");
}

#[test]
fn a_session_ends_only_in_the_last_phase_unless_forced() {
    let env = Env::started("TSK-1");
    env.advance_to("TSK-1", "plan");
    env.unchanged(|env| {
        env.orch(&["session", "end"])
            .fails(4)
            .stderr_contains("TSK-1 is in phase plan; a session ends in close")
            .stderr_contains("--force");
    });
    env.advance_to("TSK-1", "close");
    // In close, SUMMARY.md is still required.
    env.unchanged(|env| {
        env.orch(&["session", "end"])
            .fails(3)
            .stderr_contains("SUMMARY.md");
    });
    let t: TransitionDoc = env
        .orch(&[
            "session",
            "end",
            "--override",
            "--reason",
            "summary in the PR",
            "--json",
        ])
        .succeeds()
        .json();
    assert_eq!(t.kind, "end");
    assert!(t.next.is_none());
    assert_eq!(
        t.override_.unwrap().checks,
        ["missing_artifact: SUMMARY.md"]
    );
    assert!(!env.session("TSK-1").active);
}

#[test]
fn forced_end_is_recorded() {
    let env = Env::started("TSK-1");
    env.orch(&["session", "end", "--force"]).succeeds();
    let s = env.session("TSK-1");
    assert!(!s.active);
    assert!(s.end.as_ref().unwrap().forced);
    let ov = s.phase_history[0].override_.clone().unwrap();
    assert_eq!(ov.reason, "ended with --force");
    let types = env.event_types("TSK-1");
    assert_eq!(
        &types[2..],
        [
            "orchestration.phase.intake.end",
            "orchestration.phase.override",
            "orchestration.session.end"
        ]
    );
    let end = env.event_lines("TSK-1").pop().unwrap();
    assert_eq!(
        end.payload,
        serde_json::json!({"phase": "intake", "forced": true})
    );
}

#[test]
fn from_refuses_when_someone_else_moved_the_task() {
    let env = Env::started("TSK-1");
    env.unchanged(|env| {
        env.orch(&["phase", "complete", "--from", "research"])
            .fails(5)
            .stderr_contains("TSK-1 is in phase intake, not research: someone else moved it");
        env.orch(&[
            "phase",
            "set",
            "plan",
            "--from",
            "review",
            "--override",
            "--reason",
            "x",
        ])
        .fails(5);
        let doc: ErrorDoc = env
            .orch(&["phase", "complete", "--from", "plan", "--json"])
            .fails(5)
            .json();
        assert_eq!(
            (doc.error.kind.as_str(), doc.error.exit_code),
            ("conflict", 5)
        );
    });
    env.orch(&["phase", "complete", "--from", "intake"])
        .succeeds();
    env.orch(&["phase", "set", "intake", "--from", "research"])
        .succeeds();
}

#[test]
fn an_empty_or_whitespace_artifact_does_not_count() {
    let env = Env::started("TSK-1");
    env.orch(&["phase", "complete"]).succeeds();
    for text in ["", "   \n\t\n"] {
        env.write(".orchestration/tasks/TSK-1/CONTEXT.md", text);
        let doc: ErrorDoc =
            env.unchanged(|env| env.orch(&["phase", "complete", "--json"]).fails(3).json());
        assert_eq!(doc.diagnostics[0].code, "empty_artifact");
        assert_eq!(
            doc.diagnostics[0].message,
            ".orchestration/tasks/TSK-1/CONTEXT.md is empty"
        );
        let st: StatusDoc = env.orch(&["status", "--json"]).succeeds().json();
        assert!(!st.artifacts[0].present);
    }
}

#[test]
fn an_artifact_that_is_a_folder_does_not_count() {
    let env = Env::started("TSK-1");
    env.orch(&["phase", "complete"]).succeeds();
    std::fs::create_dir_all(env.task_file("TSK-1", "CONTEXT.md")).unwrap();
    std::fs::write(env.task_file("TSK-1", "CONTEXT.md").join("x"), "x").unwrap();
    let doc: ErrorDoc = env.orch(&["phase", "complete", "--json"]).fails(3).json();
    assert_eq!(doc.diagnostics[0].code, "artifact_not_a_file");
}

#[cfg(unix)]
#[test]
fn a_symlink_leaving_the_repository_does_not_count() {
    let env = Env::started("TSK-1");
    env.orch(&["phase", "complete"]).succeeds();
    let outside = env.home.join("context-elsewhere.md");
    std::fs::write(&outside, "# Real content\n\nbut outside the repository\n").unwrap();
    std::os::unix::fs::symlink(&outside, env.task_file("TSK-1", "CONTEXT.md")).unwrap();
    let doc: ErrorDoc =
        env.unchanged(|env| env.orch(&["phase", "complete", "--json"]).fails(3).json());
    assert_eq!(doc.diagnostics[0].code, "artifact_outside_repository");
    assert!(doc.diagnostics[0]
        .message
        .contains("symbolic link that leaves the repository"));
    // A relative link escaping with ../ is no better; a dangling one neither.
    std::fs::remove_file(env.task_file("TSK-1", "CONTEXT.md")).unwrap();
    std::os::unix::fs::symlink(
        "../../../../home/context-elsewhere.md",
        env.task_file("TSK-1", "CONTEXT.md"),
    )
    .unwrap();
    env.orch(&["phase", "complete"])
        .fails(3)
        .stderr_contains("leaves the repository");
    std::fs::remove_file(env.task_file("TSK-1", "CONTEXT.md")).unwrap();
    std::os::unix::fs::symlink("/nonexistent/x.md", env.task_file("TSK-1", "CONTEXT.md")).unwrap();
    env.orch(&["phase", "complete"]).fails(3);
    // A link to a real file inside the repository does not count either: an artifact is a
    // regular file, and the link's target is not part of the task's commit.
    std::fs::remove_file(env.task_file("TSK-1", "CONTEXT.md")).unwrap();
    env.write("docs/context.md", filled_artifact("TSK-1", "CONTEXT.md"));
    std::os::unix::fs::symlink(
        "../../../docs/context.md",
        env.task_file("TSK-1", "CONTEXT.md"),
    )
    .unwrap();
    env.orch(&["phase", "complete"])
        .fails(3)
        .stderr_contains("is not a regular file");
    std::fs::remove_file(env.task_file("TSK-1", "CONTEXT.md")).unwrap();
    env.artifact("TSK-1", "CONTEXT.md");
    env.orch(&["phase", "complete"]).succeeds();
}

#[test]
fn require_artifact_validation_false_turns_failures_into_warnings() {
    let env = Env::started("TSK-1");
    env.config("[workflow]\nrequire_artifact_validation = false\n");
    env.orch(&["phase", "complete"]).succeeds();
    let out = env.orch(&["phase", "complete"]).succeeds();
    assert!(
        out.stderr
            .contains("warning: .orchestration/tasks/TSK-1/CONTEXT.md does not exist"),
        "{}",
        out.stderr
    );
    let t: TransitionDoc = env.orch(&["phase", "complete", "--json"]).succeeds().json();
    assert_eq!(t.to.as_deref(), Some("execute"));
    assert!(t.override_.is_none(), "a warning is not an override");
    assert_eq!(t.diagnostics.len(), 1);
    assert_eq!(
        (
            t.diagnostics[0].severity.as_str(),
            t.diagnostics[0].code.as_str()
        ),
        ("warning", "missing_artifact")
    );
    assert!(env
        .session("TSK-1")
        .phase_history
        .iter()
        .all(|h| h.override_.is_none()));
}

#[test]
fn sync_files_scaffolds_the_next_phase_and_an_untouched_scaffold_still_fails() {
    let env = Env::started("TSK-1");
    env.config("[workflow]\nsync_files_on_phase_complete = true\n");
    let t: TransitionDoc = env.orch(&["phase", "complete", "--json"]).succeeds().json();
    assert_eq!(t.scaffolded, [".orchestration/tasks/TSK-1/CONTEXT.md"]);
    let text = std::fs::read_to_string(env.task_file("TSK-1", "CONTEXT.md")).unwrap();
    assert!(
        text.starts_with("# Context: TSK-1 Fix login timeout\n"),
        "{text}"
    );
    // The scaffold is the template, not findings: it does not count.
    let doc: ErrorDoc =
        env.unchanged(|env| env.orch(&["phase", "complete", "--json"]).fails(3).json());
    assert_eq!(doc.diagnostics[0].code, "unfilled_artifact");
    assert!(doc.diagnostics[0]
        .message
        .contains("still the untouched template"));
    let st: StatusDoc = env.orch(&["status", "--json"]).succeeds().json();
    assert!(!st.artifacts[0].present);
    // Filled in, it counts; an existing file is never overwritten by the next scaffold.
    std::fs::write(
        env.task_file("TSK-1", "CONTEXT.md"),
        text.replace("## Summary\n", "## Summary\n\nFound: src/auth.rs:10.\n")
            .replace("## Relevant code\n", "## Relevant code\n\nsrc/auth.rs:10\n"),
    )
    .unwrap();
    env.artifact("TSK-1", "PLAN.md");
    let t: TransitionDoc = env.orch(&["phase", "complete", "--json"]).succeeds().json();
    assert!(
        t.scaffolded.is_empty(),
        "PLAN.md existed: {:?}",
        t.scaffolded
    );
    assert_eq!(
        std::fs::read_to_string(env.task_file("TSK-1", "PLAN.md")).unwrap(),
        filled_artifact("TSK-1", "PLAN.md")
    );
}

#[test]
fn an_untouched_scaffold_fails_even_days_later() {
    let env = Env::started("TSK-1");
    env.config("[workflow]\nsync_files_on_phase_complete = true\n");
    env.orch(&["phase", "complete"]).succeeds();
    env.orch(&["phase", "complete"])
        .env("ORCH_NOW", "2025-01-20T09:00:00Z")
        .fails(3)
        .stderr_contains("untouched template");
}

#[test]
fn allow_user_override_false_refuses_overrides() {
    let env = Env::started("TSK-1");
    env.config("[workflow]\nallow_user_override = false\n");
    env.orch(&["phase", "complete"]).succeeds();
    env.unchanged(|env| {
        let out = env.orch(&["phase", "complete"]).fails(3);
        assert!(
            !out.stderr.contains("--override"),
            "no override suggested when disabled: {}",
            out.stderr
        );
        env.orch(&["phase", "complete", "--override", "--reason", "please"])
            .fails(4)
            .stderr_contains("overrides are disabled (allow_user_override = false");
        env.orch(&[
            "phase",
            "set",
            "execute",
            "--override",
            "--reason",
            "please",
        ])
        .fails(4)
        .stderr_contains("overrides are disabled");
    });
}

#[test]
fn repository_workflow_replaces_the_built_in_one() {
    let env = Env::with_task("TSK-1");
    env.write(
        ".orchestration/workflow.yaml",
        r#"
triage:
  order: 10
  goal: "Decide whether to do it"
  artifacts:
    required: [{ name: TASK.md, template: task_template }]
  validation:
    required_fields: [title]
  events: [triage.decided]
  next_step: "Triage {{ code }}, then {{ next_phase }}."
build:
  order: 20
  goal: "Build it"
  artifacts:
    required: [{ name: notes/BUILD.md }]
  next_step: "Write notes/BUILD.md"
"#,
    );
    env.commit_rules();
    env.orch(&["session", "start", "TSK-1"])
        .succeeds()
        .stdout_contains("started in triage");
    let st: StatusDoc = env.orch(&["status", "--json"]).succeeds().json();
    assert_eq!(st.instructions, "Triage TSK-1, then build.");
    assert_eq!(st.next_phase.as_deref(), Some("build"));
    env.orch(&["event", "add", "triage.decided"]).succeeds();
    env.orch(&["phase", "complete"])
        .succeeds()
        .stdout_contains("triage → build");
    env.orch(&["phase", "complete"])
        .fails(4)
        .stderr_contains("build is the last phase");
    env.orch(&["session", "end"])
        .fails(3)
        .stderr_contains("notes/BUILD.md");
    env.write(".orchestration/tasks/TSK-1/notes/BUILD.md", "built\n");
    env.orch(&["session", "end"]).succeeds();
    env.orch(&["phase", "set", "TSK-1", "plan"])
        .fails(2)
        .stderr_contains("phases are: triage, build");
}

#[test]
fn repository_template_overrides_the_built_in_one() {
    let env = Env::with_task("TSK-1");
    env.config("[workflow]\nsync_files_on_phase_complete = true\n");
    env.write(
        ".orchestration/templates/context_template.md",
        "# Our context for {{ code }}\n\n## Summary\n\nTODO\n\n## Relevant code\n\nTODO\n",
    );
    env.commit_rules();
    env.orch(&["session", "start", "TSK-1"]).succeeds();
    env.orch(&["phase", "complete"])
        .succeeds()
        .stdout_contains("scaffolded .orchestration/tasks/TSK-1/CONTEXT.md");
    assert_eq!(
        env.read(".orchestration/tasks/TSK-1/CONTEXT.md"),
        "# Our context for TSK-1\n\n## Summary\n\nTODO\n\n## Relevant code\n\nTODO\n"
    );
    // The overriding template is the one an untouched file is compared with.
    env.orch(&["phase", "complete"])
        .fails(3)
        .stderr_contains("untouched template");
    env.write(
        ".orchestration/tasks/TSK-1/CONTEXT.md",
        "# Our context for TSK-1\n\n## Summary\n\nDone.\n\n## Relevant code\n\nsrc/auth.rs:10\n",
    );
    env.orch(&["phase", "complete"]).succeeds();
    // A new task is scaffolded from an overriding task template.
    env.write(".orchestration/templates/task_template.md", "---\ntitle: {{ title | tojson }}\nstatus: open\ndescription: \"\"\n---\nOur format for {{ code }}.\n");
    // Only once committed: the template is a rule like the others.
    env.orch(&["task", "new", "TSK-2", "--title", "Two"])
        .fails(4)
        .stderr_contains("task_template.md has uncommitted changes");
    env.commit_rules();
    env.orch(&["task", "new", "TSK-2", "--title", "Two"])
        .succeeds();
    assert_eq!(
        env.read(".orchestration/tasks/TSK-2/TASK.md"),
        "---\ntitle: \"Two\"\nstatus: open\ndescription: \"\"\n---\nOur format for TSK-2.\n"
    );
}
