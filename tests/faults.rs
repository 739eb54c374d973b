//! The fault windows of the transition protocol, reproduced deterministically: orch is stopped
//! or failed at a named step (`src/fault.rs`, on in test builds) and git is the oracle of what
//! it left behind.

mod support;

use support::Env;

const CODE: &str = "TSK-1";
const STEPS: [&str; 4] = [
    "commit::index-locked",
    "commit::objects-written",
    "commit::ref-locked",
    "commit::ref-moved",
];

/// A started task with a staged change of the user's beside it.
fn repo() -> Env {
    let env = Env::started(CODE);
    env.write("notes.txt", "the user's staged work\n");
    env.git(&["add", "notes.txt"]);
    env
}

/// Runs `phase complete` with the fault point `step` set to `action`.
fn complete_with(env: &Env, step: &str, action: &str) -> support::Done {
    env.orch(&["phase", "complete", CODE, "--override", "--reason", "r"])
        .env("FAILPOINTS", &format!("{step}={action}"))
        .run()
}

/// What a transition left once the next command recovered: whether it landed, with every
/// invariant checked on the way.
fn settle(env: &Env, phase_before: &str) -> bool {
    env.orch(&["status", CODE]).succeeds();
    assert!(!env.path(".git/index.lock").exists(), "index.lock left");
    let fsck = env.git(&["fsck", "--strict", "--no-progress"]);
    assert!(!fsck.contains("error"), "fsck: {fsck}");
    assert_eq!(
        env.git(&["diff", "--cached", "--name-status"]),
        "A\tnotes.txt\n",
        "the user's staged change must stay staged, and nothing of orch's"
    );
    assert_eq!(env.git(&["status", "--porcelain", "--", ".orchestration"]), "");
    let head = env.git(&["show", &format!("HEAD:.orchestration/tasks/{CODE}/session.json")]);
    let landed = !head.contains(&format!("\"current_phase\": \"{phase_before}\""));
    let worktree = env.read(&format!(".orchestration/tasks/{CODE}/session.json"));
    assert_eq!(worktree, head, "session.json must equal HEAD's");
    landed
}

/// SIGKILL at each step, for reference: before the ref moved the transition is rolled back,
/// after it the recovery completes it.
#[test]
fn sigkill_at_each_step_is_recovered() {
    for step in STEPS {
        let env = repo();
        let done = complete_with(&env, step, "return(SIGKILL)");
        assert_eq!(done.code, None, "{step}: killed, got {done:?}");
        assert_eq!(settle(&env, "intake"), step == "commit::ref-moved", "{step}");
    }
}

/// SIGTERM, SIGINT and SIGHUP at each step end exactly as SIGKILL does after recovery: the
/// transition wholly there or wholly not, the prepared index never lost.
#[test]
fn termination_signals_at_each_step_end_as_sigkill_would() {
    for sig in ["SIGTERM", "SIGINT", "SIGHUP"] {
        for step in STEPS {
            let env = repo();
            let done = complete_with(&env, step, &format!("return({sig})"));
            assert_eq!(done.code, None, "{sig} at {step}: killed, got {done:?}");
            assert_eq!(
                settle(&env, "intake"),
                step == "commit::ref-moved",
                "{sig} at {step}"
            );
        }
    }
}
