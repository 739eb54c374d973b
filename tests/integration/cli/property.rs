//! Random command sequences against one task; after every command the state must still make
//! sense: known phase, history that leads to it, an append-only event log, no panic, and a
//! refused command changes nothing.

use crate::support::json::*;
use crate::support::*;
use proptest::prelude::*;
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
enum Op {
    Complete,
    CompleteOverride,
    Set(usize),
    SetOverride(usize),
    /// 0: no flag, 1: --continue, 2: --restart, 3: --new
    Start(u8),
    End,
    EndForce,
    EventAdd(bool),
    CustomEvent,
    WriteArtifact(usize),
    DeleteArtifact(usize),
    BlankArtifact(usize),
}

const ARTIFACTS: [&str; 5] = [
    "CONTEXT.md",
    "PLAN.md",
    "REVIEW.md",
    "SUMMARY.md",
    "NOTES.md",
];

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => Just(Op::Complete),
        1 => Just(Op::CompleteOverride),
        2 => (0..PHASES.len()).prop_map(Op::Set),
        1 => (0..PHASES.len()).prop_map(Op::SetOverride),
        1 => (0u8..4).prop_map(Op::Start),
        1 => Just(Op::End),
        1 => Just(Op::EndForce),
        1 => any::<bool>().prop_map(Op::EventAdd),
        1 => Just(Op::CustomEvent),
        3 => (0..ARTIFACTS.len()).prop_map(Op::WriteArtifact),
        1 => (0..ARTIFACTS.len()).prop_map(Op::DeleteArtifact),
        1 => (0..ARTIFACTS.len()).prop_map(Op::BlankArtifact),
    ]
}

fn task_files(env: &Env) -> BTreeMap<String, Vec<u8>> {
    let dir = env.task_file("P-1", "");
    let mut m = BTreeMap::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.file_type().unwrap().is_file() {
            m.insert(
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            );
        }
    }
    m
}

fn check_invariants(env: &Env, label: &str) -> Session {
    let s = env.session("P-1");
    assert!(
        PHASES.contains(&s.current_phase.as_str()),
        "{label}: unknown phase {}",
        s.current_phase
    );
    let mut prev_to: Option<&str> = None;
    for h in &s.phase_history {
        assert!(
            PHASES.contains(&h.phase.as_str()),
            "{label}: history phase {}",
            h.phase
        );
        if let Some(p) = prev_to {
            assert_eq!(
                p, h.phase,
                "{label}: history is not a chain: {:?}",
                s.phase_history
            );
        }
        prev_to = h.to.as_deref();
        if let Some(t) = &h.to {
            assert!(PHASES.contains(&t.as_str()));
        }
    }
    match s.phase_history.last() {
        Some(last) => match &last.to {
            Some(to) => assert_eq!(
                to, &s.current_phase,
                "{label}: history ends elsewhere: {s:?}"
            ),
            None => {
                assert_eq!(last.phase, s.current_phase, "{label}");
                assert!(
                    !s.active,
                    "{label}: only an end leaves the history without `to`"
                );
            }
        },
        None => assert!(s.active, "{label}: a session that ended has history"),
    }
    assert_eq!(s.active, s.ended_at.is_none(), "{label}");
    env.event_lines("P-1");
    s
}

fn run_ops(ops: &[Op]) {
    let env = Env::started("P-1");
    let mut log = env.events_text("P-1");
    let mut session = check_invariants(&env, "start");
    for (i, op) in ops.iter().enumerate() {
        let label = format!("step {i} {op:?}");
        let before = task_files(&env);
        let args: Vec<String> = match op {
            Op::Complete => vec!["phase".into(), "complete".into()],
            Op::CompleteOverride => ["phase", "complete", "--override", "--reason", "prop"]
                .map(String::from)
                .to_vec(),
            Op::Set(p) => vec!["phase".into(), "set".into(), PHASES[*p].into()],
            Op::SetOverride(p) => ["phase", "set", PHASES[*p], "--override", "--reason", "prop"]
                .map(String::from)
                .to_vec(),
            Op::Start(f) => {
                let mut a = vec!["session".to_string(), "start".into(), "P-1".into()];
                match f {
                    1 => a.push("--continue".into()),
                    2 => a.push("--restart".into()),
                    3 => a.push("--new".into()),
                    _ => {}
                }
                a
            }
            Op::End => vec!["session".into(), "end".into()],
            Op::EndForce => vec!["session".into(), "end".into(), "--force".into()],
            Op::EventAdd(valid) => {
                let data = if *valid { r#"{"n":1}"# } else { "{nope" };
                ["event", "add", "custom.prop", "--data", data]
                    .map(String::from)
                    .to_vec()
            }
            Op::CustomEvent => vec!["event".into(), "add".into(), "research.finding".into()],
            Op::WriteArtifact(a) => {
                env.artifact("P-1", ARTIFACTS[*a]);
                continue;
            }
            Op::DeleteArtifact(a) => {
                let _ = std::fs::remove_file(env.task_file("P-1", ARTIFACTS[*a]));
                continue;
            }
            Op::BlankArtifact(a) => {
                std::fs::write(env.task_file("P-1", ARTIFACTS[*a]), " \n").unwrap();
                continue;
            }
        };
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = env.orch(&args).run().no_panic();
        let code = out.code.unwrap_or(-1);
        assert!(
            [0, 2, 3, 4, 5].contains(&code),
            "{label}: exit {code}: {}",
            out.stderr
        );
        if code != 0 {
            assert_eq!(
                before,
                task_files(&env),
                "{label}: a refused command changed the task: {}",
                out.stderr
            );
            assert!(out.stderr.starts_with("error: "), "{label}: {}", out.stderr);
        }
        let new = check_invariants(&env, &label);
        if code == 0 {
            match op {
                Op::Complete | Op::CompleteOverride => {
                    let i = PHASES
                        .iter()
                        .position(|p| *p == session.current_phase)
                        .unwrap();
                    assert_eq!(new.current_phase, PHASES[i + 1], "{label}");
                }
                Op::Set(p) | Op::SetOverride(p) => {
                    assert_eq!(new.current_phase, PHASES[*p], "{label}")
                }
                Op::Start(2) => assert_eq!(new.current_phase, "intake", "{label}"),
                // An ended session is followed by a new one from the first phase, whatever the flag.
                Op::Start(_) if !session.active => {
                    assert_eq!(new.current_phase, "intake", "{label}")
                }
                Op::Start(1) | Op::Start(3) => {
                    assert_eq!(new.current_phase, session.current_phase, "{label}")
                }
                Op::End | Op::EndForce => assert!(!new.active, "{label}"),
                _ => {}
            }
        }
        let text = env.events_text("P-1");
        assert!(
            text.starts_with(&log),
            "{label}: events.jsonl was rewritten"
        );
        log = text;
        session = new;
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 24,
        max_shrink_iters: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_command_sequences_keep_the_state_consistent(ops in proptest::collection::vec(op(), 6..16)) {
        run_ops(&ops);
    }
}
