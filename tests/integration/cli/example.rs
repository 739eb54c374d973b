//! `.orchestration.example/` of this project stays a valid state folder.

use crate::support::json::*;
use crate::support::*;
use std::path::Path;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

fn example_env() -> Env {
    let env = Env::git_only();
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join(".orchestration.example"),
        &env.path(".orchestration"),
    );
    // Committed, as a repository adopting it would: only committed rules are in force.
    env.commit_all("Adopt the example state folder");
    env
}

#[test]
fn the_example_state_folder_is_valid() {
    let env = example_env();
    let list: TaskListDoc = env.orch(&["task", "list", "--json"]).succeeds().json();
    assert_eq!(list.tasks.len(), 1);
    let t = &list.tasks[0];
    assert_eq!(
        (
            t.task.as_str(),
            t.phase.as_deref(),
            t.active,
            t.error.as_deref()
        ),
        ("EX-1", Some("plan"), true, None)
    );

    let out = env.orch(&["status", "EX-1"]).succeeds();
    assert!(out.stdout.contains("PHASE: Plan"), "{}", out.stdout);
    let st: StatusDoc = env.orch(&["status", "EX-1", "--json"]).succeeds().json();
    assert_eq!(st.next_phase.as_deref(), Some("execute"));
    // In plan, the missing PLAN.md blocks it; and as status judges the committed chain
    // like `orch verify` does, a session adopted already in plan is named first.
    let blockers: Vec<(&str, &str)> = st
        .blockers
        .iter()
        .map(|d| (d.code.as_str(), d.target.rsplit(':').next().unwrap()))
        .collect();
    assert_eq!(
        blockers,
        [
            ("session_start", ".orchestration/tasks/EX-1/session.json"),
            ("missing_artifact", "PLAN.md")
        ]
    );
    assert_eq!(env.orch(&["verify"]).output().status.code(), Some(3));
    assert!(!st.ready);

    let s = env.session("EX-1");
    assert_eq!(s.current_phase, "plan");
    let chain: Vec<(&str, Option<&str>)> = s
        .phase_history
        .iter()
        .map(|h| (h.phase.as_str(), h.to.as_deref()))
        .collect();
    assert_eq!(
        chain,
        [("intake", Some("research")), ("research", Some("plan"))]
    );
    // session.json is exactly as orch writes it.
    let text = env.read(".orchestration/tasks/EX-1/session.json");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        text,
        format!("{}\n", serde_json::to_string_pretty(&v).unwrap())
    );

    let evs: EventsDoc = env.orch(&["events", "EX-1", "--json"]).succeeds().json();
    assert!(evs.events.len() >= 6);
    assert_eq!(
        evs.events.len(),
        env.event_lines("EX-1").len(),
        "no repeated ids"
    );
    let out = env.orch(&["events", "EX-1"]).succeeds();
    assert!(
        out.stdout.contains("orchestration.phase.research.finding"),
        "{}",
        out.stdout
    );

    // The completed phases' artifacts count; the current one is still to be written.
    env.orch(&["phase", "set", "EX-1", "research"]).succeeds();
    env.orch(&["phase", "complete", "EX-1"]).succeeds();
    env.unchanged(|env| {
        env.orch(&["phase", "complete", "EX-1"])
            .fails(3)
            .stderr_contains("PLAN.md");
    });
    env.artifact("EX-1", "PLAN.md");
    env.orch(&["phase", "complete", "EX-1"]).succeeds();
}

#[test]
fn the_example_task_validates_for_intake_and_research() {
    let env = example_env();
    env.orch(&["phase", "set", "EX-1", "intake"]).succeeds();
    for _ in ["intake", "research"] {
        let out = env.orch(&["phase", "complete", "EX-1"]).succeeds();
        assert!(out.stderr.is_empty(), "no warnings either: {}", out.stderr);
    }
    assert_eq!(env.session("EX-1").current_phase, "plan");
}
