//! `--json` on every command: exactly one document on stdout, strict shapes, errors with
//! their exit code.

use crate::support::json::*;
use crate::support::*;
use serde_json::Value;

#[test]
fn every_command_prints_exactly_one_document() {
    let env = Env::git_only();
    let init: InitDoc = env.orch(&["init", "--json"]).succeeds().json();
    assert_eq!(
        init.created,
        [
            ".orchestration/config.toml",
            ".orchestration/.gitattributes"
        ]
    );
    assert_eq!(init.root, env.root.display().to_string());
    let again: InitDoc = env.orch(&["init", "--json"]).succeeds().json();
    assert!(again.created.is_empty());

    let t: TaskCreatedDoc = env
        .orch(&[
            "task",
            "new",
            "TSK-1",
            "--title",
            "T",
            "--description",
            "D",
            "--tag",
            "a",
            "--tag",
            "b",
            "--criterion",
            CRITERION,
            "--json",
        ])
        .succeeds()
        .json();
    env.fill_task("TSK-1");
    assert_eq!(
        (t.task.as_str(), t.path.as_str()),
        ("TSK-1", ".orchestration/tasks/TSK-1/TASK.md")
    );

    let st: TransitionDoc = env
        .orch(&["session", "start", "TSK-1", "--json"])
        .succeeds()
        .json();
    assert_eq!(
        (st.kind.as_str(), st.from.as_deref(), st.to.as_deref()),
        ("start", None, Some("intake"))
    );
    let next = st.next.expect("instructions for intake");
    assert_eq!(next.command, "orch phase complete TSK-1");
    assert_eq!(
        next.artifacts,
        [Artifact {
            name: "TASK.md".into(),
            path: ".orchestration/tasks/TSK-1/TASK.md".into(),
            required: true,
            present: true
        }]
    );

    let status: StatusDoc = env.orch(&["status", "TSK-1", "--json"]).succeeds().json();
    assert_eq!(
        (
            status.phase.as_str(),
            status.next_phase.as_deref(),
            status.active
        ),
        ("intake", Some("research"), true)
    );
    assert_eq!(
        status.goal,
        "Clarify task requirements and confirm understanding"
    );
    assert!(status.instructions.contains("orch phase complete TSK-1"));
    let all: StatusAllDoc = env.orch(&["status", "--all", "--json"]).succeeds().json();
    assert_eq!(all.current_task.as_deref(), Some("TSK-1"));
    assert_eq!(
        all.tasks,
        [TaskSummary {
            task: "TSK-1".into(),
            title: "T".into(),
            status: "open".into(),
            phase: Some("intake".into()),
            active: true,
            state: "active".into(),
            sprint: None,
            tags: vec!["a".into(), "b".into()],
            error: None
        }]
    );

    let c: TransitionDoc = env.orch(&["phase", "complete", "--json"]).succeeds().json();
    assert_eq!(
        (c.kind.as_str(), c.from.as_deref(), c.to.as_deref()),
        ("complete", Some("intake"), Some("research"))
    );
    // Warnings of a successful command travel as diagnostics.
    assert_eq!(
        c.diagnostics
            .iter()
            .map(|d| d.target.as_str())
            .collect::<Vec<_>>(),
        ["TASK.md:project_id"]
    );
    assert_eq!(c.diagnostics, c.warnings);

    let added: EventAddedDoc = env
        .orch(&[
            "event",
            "add",
            "research.finding",
            "--data",
            r#"{"file":"a.rs"}"#,
            "--json",
        ])
        .succeeds()
        .json();
    assert_eq!(added.event.type_, "orchestration.phase.research.finding");
    assert!(added.event.id.starts_with("evt_"));
    let evs: EventsDoc = env.orch(&["events", "--json"]).succeeds().json();
    assert_eq!(evs.task, "TSK-1");
    assert!(evs.events.contains(&added.event));
    let evs: EventsDoc = env
        .orch(&[
            "events",
            "--type",
            "orchestration.phase.research.finding",
            "--json",
        ])
        .succeeds()
        .json();
    assert_eq!(evs.events, [added.event]);

    let list: TaskListDoc = env.orch(&["task", "list", "--json"]).succeeds().json();
    assert_eq!(list.tasks.len(), 1);
    let show: TaskShowDoc = env.orch(&["task", "show", "--json"]).succeeds().json();
    assert_eq!(show.description, "D");
    assert_eq!(show.files, ["TASK.md", "events.jsonl", "session.json"]);
    assert_eq!(show.event_count, 5);
    assert_eq!(show.session.unwrap().current_phase, "research");

    let r: TransitionDoc = env
        .orch(&["phase", "set", "intake", "--json"])
        .succeeds()
        .json();
    assert_eq!(r.kind, "reopen");
    let cont: TransitionDoc = env
        .orch(&["session", "start", "--continue", "--json"])
        .succeeds()
        .json();
    assert_eq!(cont.kind, "continue");
    let end: TransitionDoc = env
        .orch(&["session", "end", "--force", "--json"])
        .succeeds()
        .json();
    assert_eq!(end.kind, "end");
    assert!(end.next.is_none());
}

#[test]
fn quiet_json_still_prints_the_document() {
    let env = Env::started("TSK-1");
    let _: StatusDoc = env
        .orch(&["status", "TSK-1", "--json", "-q"])
        .succeeds()
        .json();
    env.orch(&["phase", "complete", "-q"])
        .succeeds()
        .stdout_empty();
}

#[test]
fn errors_are_one_document_with_the_exit_code() {
    let env = Env::started("TSK-1");
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (vec!["status", "../x"], 2, "usage"),
        (vec!["phase", "set", "qa"], 2, "usage"),
        (vec!["phase", "set", "execute"], 4, "state"),
        (vec!["session", "start", "TSK-1"], 4, "state"),
        (vec!["session", "end"], 4, "state"),
        (vec!["phase", "complete", "--from", "plan"], 5, "conflict"),
        (vec!["event", "add", "custom.x", "--data", "{"], 2, "usage"),
    ];
    env.unchanged(|env| {
        for (args, code, kind) in &cases {
            let mut a = args.clone();
            a.push("--json");
            let out = env.orch(&a).fails(*code);
            let doc: ErrorDoc = out.json();
            assert!(!doc.ok);
            assert_eq!(
                (doc.error.exit_code, doc.error.kind.as_str()),
                (*code, *kind),
                "{args:?}"
            );
            assert!(!doc.error.message.is_empty());
            assert!(doc.diagnostics.is_empty());
            // The same sentence on stderr, for a human watching.
            assert!(out.stderr.contains(&doc.error.message));
        }
    });
    env.orch(&["phase", "complete"]).succeeds();
    let doc: ErrorDoc = env.orch(&["phase", "complete", "--json"]).fails(3).json();
    assert_eq!(doc.diagnostics.len(), 1);
}

#[test]
fn argument_errors_with_json_are_a_document_too() {
    let env = Env::started("TSK-1");
    for args in [
        vec!["phase", "set", "--json"],
        vec!["status", "--bogus", "--json"],
        vec!["--json", "frobnicate"],
    ] {
        let out = env.orch(&args).fails(2);
        let doc: ErrorDoc = out.json();
        assert_eq!(
            (doc.error.exit_code, doc.error.kind.as_str()),
            (2, "usage"),
            "{args:?}"
        );
    }
}

#[test]
fn json_keys_keep_their_documented_order() {
    let env = Env::started("TSK-1");
    let out = env.orch(&["status", "TSK-1", "--json"]).succeeds();
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys.first().map(|k| k.as_str()), Some("ok"));
    assert_eq!(keys.last().map(|k| k.as_str()), Some("diagnostics"));
    let text = env.read(".orchestration/tasks/TSK-1/session.json");
    assert!(text.ends_with("}\n"));
    let keys: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("  \""))
        .map(|l| l.trim().split('"').nth(1).unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "task",
            "session_key",
            "started_at",
            "current_phase",
            "active",
            "branch",
            "phase_history",
            "previous_sessions"
        ]
    );
}

/// The messages of the `warning:` lines on stderr.
fn stderr_warnings(d: &Done) -> Vec<String> {
    d.stderr
        .lines()
        .filter_map(|l| l.strip_prefix("warning: "))
        .map(str::to_string)
        .collect()
}

/// Runs `args` without and with `--json` on two repositories made alike by `make` (the
/// command changes what it runs on), and checks that every warning printed on stderr is in
/// the JSON document's diagnostics, and that there was at least one.
fn warnings_reach_json(make: &dyn Fn() -> Env, args: &[&str]) -> Value {
    let (human_env, json_env) = (make(), make());
    let human = human_env.orch(args).succeeds();
    let said = stderr_warnings(&human);
    assert!(
        !said.is_empty(),
        "orch {args:?} printed no warning:\n{}",
        human.stderr
    );
    // First, as a hook's own arguments are everything after its name.
    let mut with_json = vec!["--json"];
    with_json.extend_from_slice(args);
    let out = json_env.orch(&with_json).succeeds();
    assert!(
        out.stderr.is_empty(),
        "--json printed on stderr: {}",
        out.stderr
    );
    let v: Value = out.json();
    let in_json: Vec<&str> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["message"].as_str().unwrap())
        .collect();
    for w in &said {
        assert!(
            in_json.contains(&w.as_str()),
            "orch {args:?}: the warning {w:?} is not in --json's diagnostics {in_json:?}"
        );
    }
    v
}

#[test]
fn every_warning_on_stderr_is_in_the_json_diagnostics() {
    // Intake passes with project_id and tags unset: warned.
    let v = warnings_reach_json(&|| Env::started("TSK-1"), &["phase", "complete"]);
    assert!(v.to_string().contains("project_id"), "{v}");
    // With validation off, what would block is a warning.
    let lax = || {
        let env = Env::started("TSK-1");
        let text = env.read(".orchestration/config.toml").replace(
            "require_artifact_validation = true",
            "require_artifact_validation = false",
        );
        env.config(&text);
        env.orch_ok(&["phase", "complete"]);
        env
    };
    let v = warnings_reach_json(&lax, &["phase", "complete"]);
    assert!(v.to_string().contains("CONTEXT.md"), "{v}");
    // An override passes what would block, and says what it passed.
    let in_research = || {
        let env = Env::started("TSK-1");
        env.orch_ok(&["phase", "complete"]);
        env
    };
    let v = warnings_reach_json(
        &in_research,
        &["phase", "complete", "--override", "--reason", "agreed"],
    );
    assert!(v["override"]["reason"] == "agreed", "{v}");
    // commit-msg takes out a trailer that disagrees with the task's phase, and says so.
    let typed = || {
        let env = Env::started("TSK-1");
        env.write(
            "msg.txt",
            "Fix it\n\nOrchestration-Task: TSK-1\nOrchestration-Phase: execute\n",
        );
        env
    };
    let v = warnings_reach_json(&typed, &["hook", "commit-msg", "msg.txt"]);
    assert_eq!(
        v["trailers_replaced"][0], "Orchestration-Phase: execute",
        "{v}"
    );
    assert_eq!(v["diagnostics"][0]["code"], "trailer_removed", "{v}");
}
