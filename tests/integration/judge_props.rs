//! One judge, as a property: random sequences of orch commands interleaved with random edits,
//! deletions and truncations of task files and rule files. After every orch command that
//! exits 0, `orch verify` over the whole history is clean; every refusal left the working
//! tree and HEAD as they were. A few sequences by default; `PROPTEST_CASES=N` runs N.

use crate::support::*;
use proptest::prelude::*;
use proptest::test_runner::{Config as RunConfig, TestRunner};
use std::collections::BTreeMap;
use std::path::Path;

const DIR: &str = ".orchestration/tasks/TSK-1";

#[derive(Debug, Clone)]
enum Step {
    Complete,
    CompleteOverride,
    Set(usize),
    Event(bool),
    End,
    Start(bool),
    Changes,
    Artifact(usize),
    CodeCommit,
    EditPhase(usize),
    DropEventLine(bool),
    Delete(usize),
    LoosenRules,
    EditWorkflow,
}

const FILES: [&str; 4] = ["session.json", "events.jsonl", "PLAN.md", "TASK.md"];
const ARTIFACTS: [&str; 5] = [
    "CONTEXT.md",
    "PLAN.md",
    "REVIEW.md",
    "SUMMARY.md",
    "NOTES.md",
];

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => Just(Step::Complete),
        1 => Just(Step::CompleteOverride),
        1 => (0..PHASES.len()).prop_map(Step::Set),
        2 => any::<bool>().prop_map(Step::Event),
        1 => Just(Step::End),
        1 => any::<bool>().prop_map(Step::Start),
        1 => Just(Step::Changes),
        3 => (0..ARTIFACTS.len()).prop_map(Step::Artifact),
        2 => Just(Step::CodeCommit),
        2 => (0..PHASES.len()).prop_map(Step::EditPhase),
        1 => any::<bool>().prop_map(Step::DropEventLine),
        1 => (0..FILES.len()).prop_map(Step::Delete),
        1 => Just(Step::LoosenRules),
        1 => Just(Step::EditWorkflow),
    ]
}

/// The orch command a step runs, if it is one.
fn command(s: &Step) -> Option<Vec<String>> {
    let v = |a: &[&str]| Some(a.iter().map(|x| x.to_string()).collect());
    match s {
        Step::Complete => v(&["phase", "complete", "TSK-1"]),
        Step::CompleteOverride => v(&["phase", "complete", "TSK-1", "--override", "--reason", "r"]),
        Step::Set(i) => v(&["phase", "set", "TSK-1", PHASES[*i]]),
        Step::Event(true) => v(&[
            "event",
            "add",
            "TSK-1",
            "research.finding",
            "--data",
            "{\"finding\":\"f\"}",
            "--commit",
        ]),
        Step::Event(false) => v(&[
            "event",
            "add",
            "TSK-1",
            "plan.decision",
            "--data",
            "{\"decision\":\"d\",\"why\":\"w\"}",
        ]),
        Step::End => v(&["session", "end", "TSK-1"]),
        Step::Start(true) => v(&["session", "start", "TSK-1", "--reopen"]),
        Step::Start(false) => v(&["session", "start", "TSK-1"]),
        Step::Changes => v(&["changes", "TSK-1"]),
        _ => None,
    }
}

/// Applies an edit by hand, as a user or agent would.
fn edit(e: &Env, s: &Step, n: usize) {
    let file = |f: &str| e.path(&format!("{DIR}/{f}"));
    match s {
        Step::Artifact(i) => {
            e.artifact("TSK-1", ARTIFACTS[*i]);
        }
        Step::CodeCommit => {
            e.write(&format!("src/f{n}.rs"), format!("// {n}\n"));
            e.git(&["add", "src"]);
            e.git(&["commit", "-q", "--no-verify", "-m", &format!("code {n}")]);
        }
        Step::EditPhase(i) => {
            if let Ok(text) = std::fs::read_to_string(file("session.json")) {
                let to = format!("\"current_phase\": \"{}\"", PHASES[*i]);
                let edited = PHASES.iter().fold(text, |t, p| {
                    t.replace(&format!("\"current_phase\": \"{p}\""), &to)
                });
                std::fs::write(file("session.json"), edited).unwrap();
            }
        }
        Step::DropEventLine(first) => {
            if let Ok(text) = std::fs::read_to_string(file("events.jsonl")) {
                let mut lines: Vec<&str> = text.lines().collect();
                if !lines.is_empty() {
                    if *first {
                        lines.remove(0);
                    } else {
                        lines.pop();
                    }
                }
                let mut out = lines.join("\n");
                if !out.is_empty() {
                    out.push('\n');
                }
                std::fs::write(file("events.jsonl"), out).unwrap();
            }
        }
        Step::Delete(i) => {
            let _ = std::fs::remove_file(file(FILES[*i]));
        }
        Step::LoosenRules => {
            let cfg = e.path(".orchestration/config.toml");
            let text = std::fs::read_to_string(&cfg).unwrap_or_default();
            std::fs::write(
                &cfg,
                format!("{text}\n[workflow]\nallow_phase_skip = true\n"),
            )
            .unwrap();
        }
        Step::EditWorkflow => {
            let wf = e.path(".orchestration/workflow.yaml");
            if let Ok(text) = std::fs::read_to_string(&wf) {
                std::fs::write(&wf, format!("{text}\n# edited\n")).unwrap();
            }
        }
        _ => unreachable!("not an edit: {s:?}"),
    }
}

/// Every file of the working tree outside `.git`, by path, with its bytes.
fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for entry in walkdir::WalkDir::new(root)
        .into_iter()
        .filter_entry(|d| d.file_name() != ".git")
        .flatten()
    {
        if entry.file_type().is_file() {
            let rel = entry.path().strip_prefix(root).unwrap();
            out.insert(
                rel.to_string_lossy().into_owned(),
                std::fs::read(entry.path()).unwrap(),
            );
        }
    }
    out
}

fn run_sequence(steps: &[Step]) -> Result<(), TestCaseError> {
    let e = Env::started("TSK-1");
    for (n, s) in steps.iter().enumerate() {
        let Some(args) = command(s) else {
            edit(&e, s, n);
            continue;
        };
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (before, head) = (tree(&e.root), e.head());
        let o = e.orch(&args).output();
        let code = o.status.code();
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        prop_assert!(code.is_some_and(|c| c < 100), "{args:?} crashed: {err}");
        if code == Some(0) {
            let v = e.orch(&["--json", "verify"]).output();
            prop_assert!(
                v.status.success(),
                "after {args:?} (step {n} of {steps:?}), verify fails:\n{}",
                String::from_utf8_lossy(&v.stdout)
            );
        } else {
            prop_assert_eq!(
                e.head(),
                head,
                "{:?} refused ({}) but moved HEAD",
                args,
                err
            );
            let after = tree(&e.root);
            let changed: Vec<&String> = before
                .keys()
                .chain(after.keys())
                .filter(|k| before.get(*k) != after.get(*k))
                .collect();
            prop_assert!(
                changed.is_empty(),
                "{args:?} refused ({err}) but changed {changed:?}"
            );
        }
    }
    Ok(())
}

#[test]
fn random_commands_and_edits_never_commit_what_verify_rejects() {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(12);
    let mut runner = TestRunner::new(RunConfig {
        cases,
        failure_persistence: None,
        max_shrink_iters: 64,
        ..RunConfig::default()
    });
    runner
        .run(&prop::collection::vec(step(), 4..18), |steps| {
            run_sequence(&steps)
        })
        .unwrap();
}
