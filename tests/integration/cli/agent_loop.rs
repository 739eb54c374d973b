//! The agent's loop: `orch next` and `orch prime` stay small in every phase, a task whose
//! session ended is done (never restarted by accident), and a task is bound to the branch
//! its session started on, so any clone on that branch enforces and tags commits.

use crate::support::json::*;
use crate::support::*;
use serde_json::Value;

fn next_json(env: &Env, args: &[&str]) -> (Value, usize) {
    let mut a = vec!["next", "--json"];
    a.extend_from_slice(args);
    let out = env.orch(&a).succeeds();
    let v: Value = out.json();
    (v, out.stdout.trim_end().chars().count())
}

#[test]
fn next_json_is_small_in_every_phase_and_names_step_blockers_and_events() {
    let env = Env::started("TSK-1");
    for (i, phase) in PHASES.iter().enumerate() {
        env.advance_to("TSK-1", phase);
        let (v, len) = next_json(&env, &[]);
        assert!(
            len <= 1200,
            "{phase}: next --json is {len} characters:\n{v}"
        );
        assert_eq!(v["phase"], *phase);
        assert_eq!(v["step"], format!("{}/6", i + 1));
        assert_eq!(v["state"], "active");
        assert_eq!(v["instructions"], "orch status TSK-1");
        assert!(v.get("next_step").is_none() && !v.to_string().contains("Re-read"));
        let events = v["events"].as_array().unwrap();
        assert!(!events.is_empty(), "{phase}: no event types");
        let ready = v["ready"].as_bool().unwrap();
        let blockers = v["blockers"].as_array().unwrap();
        assert_eq!(ready, blockers.is_empty(), "{phase}: {v}");
        if let Some(a) = required_artifact(phase).filter(|a| *a != "TASK.md") {
            assert!(!ready, "{phase}: ready without {a}");
            assert!(blockers
                .iter()
                .any(|b| b["target"].as_str().unwrap().ends_with(a)));
            assert!(blockers
                .iter()
                .all(|b| !b["fix"].as_str().unwrap().is_empty()));
            // The one source of truth: `phase complete` refuses what `next` calls blocked.
            let verb: &[&str] = if *phase == "close" {
                &["session", "end", "TSK-1"]
            } else {
                &["phase", "complete", "TSK-1"]
            };
            env.unchanged(|env| env.orch(verb).fails(3));
        }
        // The command that makes progress now: a commit clears execute's first blocker;
        // an edit leaves the completion as what follows it.
        let want = match *phase {
            "close" => "orch session end TSK-1",
            "execute" => "git commit",
            _ => "orch phase complete TSK-1",
        };
        assert_eq!(v["command"], want, "{phase}: {v}");
    }
    let research = next_json(&env, &["TSK-1"]).0;
    assert_eq!(research["task"], "TSK-1");
    let human = env.orch_ok(&["next"]);
    let n = human.lines().count();
    assert!((3..=6).contains(&n), "{n} lines:\n{human}");
    assert!(!human.contains("Re-read these instructions"));
}

/// `[checks] tests = <cmd>` in config.toml, committed.
fn configure_tests(env: &Env, cmd: &str) {
    let text = env.read(".orchestration/config.toml").replace(
        "# tests = \"python3 -m unittest\"",
        &format!("tests = {cmd:?}"),
    );
    assert!(text.contains("tests = "), "{text}");
    env.config(&text);
}

#[test]
fn next_json_stays_small_with_checks_long_titles_and_long_criteria() {
    let long = "word ".repeat(120);
    let env = Env::builder().orch_init().build();
    configure_tests(&env, "sh -c 'seq 1 500; exit ${FAIL:-0}'");
    let c2 = format!("{long} second");
    let c3 = format!("{long} third");
    env.orch_ok(&[
        "task",
        "new",
        "TSK-1",
        "--title",
        &long,
        "--description",
        "d",
        "--criterion",
        &long,
        "--criterion",
        &c2,
        "--criterion",
        &c3,
    ]);
    env.fill_task("TSK-1");
    env.orch_ok(&["session", "start", "TSK-1"]);
    let small = |what: &str| {
        let (v, len) = next_json(&env, &[]);
        assert!(len <= 1200, "{what}: next --json is {len} characters:\n{v}");
        assert!(v["title"].as_str().unwrap().chars().count() <= 80, "{v}");
        v
    };
    for phase in ["intake", "research", "plan", "execute"] {
        env.advance_to("TSK-1", phase);
        assert_eq!(small(phase)["phase"], phase);
    }
    env.code_commit("TSK-1");
    assert_eq!(small("execute, committed")["command"], "orch check tests");
    env.orch(&["check", "tests"]).env("FAIL", "1").status(3);
    let v = small("execute, check failed");
    assert!(v["blockers"].to_string().contains("check_failed"), "{v}");
    assert_eq!(v["command"], "orch check tests", "{v}");
    env.orch_ok(&["check", "tests"]);
    assert_eq!(small("execute, check passed")["ready"], true);
    env.orch_ok(&["phase", "complete"]);
    small("review");
    env.artifact("TSK-1", "REVIEW.md");
    env.orch_ok(&["phase", "complete"]);
    // SUMMARY.md missing and three long open criteria: some are listed, the rest counted.
    let v = small("close");
    let listed = v["blockers"].as_array().unwrap().len();
    let more = v["more_blockers"].as_u64().unwrap() as usize;
    assert!(listed >= 1 && listed + more >= 4, "{v}");
    assert_eq!(v["command"], "orch session end TSK-1");
}

#[test]
fn payload_hints_come_from_the_instructions() {
    let env = Env::started("TSK-1");
    env.advance_to("TSK-1", "research");
    let (v, _) = next_json(&env, &[]);
    let finding = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "research.finding")
        .expect("research.finding listed");
    let data = finding["data"].as_str().unwrap();
    serde_json::from_str::<Value>(data).expect("the hint is JSON");
    env.orch(&["event", "add", "research.finding", "--data", data])
        .succeeds();
}

#[test]
fn after_session_end_the_task_is_done_and_nothing_suggests_a_start() {
    let env = Env::started("TSK-1");
    env.new_task("TSK-2");
    env.advance_to("TSK-1", "close");
    env.artifact("TSK-1", "SUMMARY.md");
    env.orch(&["session", "end", "TSK-1"])
        .succeeds()
        .stdout_contains("done");
    assert!(
        !env.git_dir().join("orchestration/current-task").exists(),
        "session end clears the current-task pointer"
    );
    let (named, len) = next_json(&env, &["TSK-1"]);
    assert!(len <= 1200);
    assert_eq!(named["state"], "done");
    assert_eq!(named["command"], "orch report TSK-1");
    assert!(named["ended"]
        .as_str()
        .unwrap()
        .contains("completed in close"));
    assert!(!named.to_string().contains("session start"), "{named}");
    let st: StatusDoc = env.orch(&["status", "TSK-1", "--json"]).succeeds().json();
    assert_eq!(st.command, "orch report TSK-1");
    assert!(st.instructions.contains("is done"), "{}", st.instructions);
    let list: TaskListDoc = env.orch(&["task", "list", "--json"]).succeeds().json();
    let states: Vec<(&str, &str)> = list
        .tasks
        .iter()
        .map(|t| (t.task.as_str(), t.state.as_str()))
        .collect();
    assert_eq!(states, [("TSK-1", "done"), ("TSK-2", "not_started")]);
    // No current task: the open tasks, and the command that picks the first one up.
    let (none, len) = next_json(&env, &[]);
    assert!(len <= 1200);
    assert_eq!(none["state"], "none");
    let tasks: Vec<&str> = none["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["task"].as_str().unwrap())
        .collect();
    assert_eq!(tasks, ["TSK-2"], "done tasks are not open");
    assert_eq!(none["command"], "orch session start TSK-2");
    env.orch(&["next"])
        .succeeds()
        .stdout_contains("Pick one up: orch session start TSK-2");
}

#[test]
fn open_tasks_list_active_first_then_by_phase() {
    let env = Env::started("TSK-1");
    env.new_task("TSK-0");
    env.advance_to("TSK-1", "plan");
    env.drop_pointer();
    // Bound to main, TSK-1 is current there; on another branch nothing is.
    assert_eq!(next_json(&env, &[]).0["task"], "TSK-1");
    env.git(&["switch", "-q", "-c", "other"]);
    let (v, _) = next_json(&env, &[]);
    let order: Vec<&str> = v["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["task"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["TSK-1", "TSK-0"]);
    assert_eq!(v["command"], "orch session start TSK-1 --continue");
}

#[test]
fn a_done_task_needs_reopen_which_is_recorded() {
    let env = Env::started("TSK-1");
    env.orch_ok(&["session", "end", "TSK-1", "--force", "--reason", "dropped"]);
    let out = env.unchanged(|env| env.orch(&["session", "start", "TSK-1"]).fails(4));
    assert!(out.stderr.contains("--reopen"), "{}", out.stderr);
    assert!(out.stderr.contains("is done"), "{}", out.stderr);
    let (v, _) = next_json(&env, &["TSK-1"]);
    assert!(v["ended"].as_str().unwrap().starts_with("forced in intake"));
    env.orch(&["session", "start", "TSK-1", "--reopen"])
        .succeeds()
        .stdout_contains("started in intake");
    let s = env.session("TSK-1");
    assert!(s.active);
    assert_eq!(s.previous_sessions.len(), 1);
    let start = env
        .event_lines("TSK-1")
        .into_iter()
        .rev()
        .find(|e| e.type_ == "orchestration.session.start")
        .unwrap();
    assert_eq!(start.payload["mode"], "reopen");
    assert!(env.git(&["log", "-1", "--format=%s"]).contains("reopen"));
    env.orch(&["verify"]).succeeds();
    env.orch(&["session", "start", "TSK-1", "--reopen"])
        .fails(4)
        .stderr_contains("--continue");
}

#[test]
fn prime_is_within_200_tokens() {
    let env = Env::started("TSK-1");
    env.advance_to("TSK-1", "plan");
    for n in 0..8 {
        let data = format!(
            "{{\"decision\":\"decision number {n} with a long explanation of why it was taken over the others\"}}"
        );
        env.orch_ok(&["event", "add", "plan.decision", "--data", &data]);
    }
    let out = env.orch(&["prime", "--json"]).succeeds();
    let v: Value = out.json();
    assert!(out.stdout.trim_end().len() / 4 <= 200, "{}", out.stdout);
    assert_eq!(v["phase"], "plan");
    assert_eq!(v["step"], "3/6");
    assert!(v["notes"][0]
        .as_str()
        .unwrap()
        .contains("decision number 7"));
    assert_eq!(v["command"], "orch phase complete TSK-1");
    let human = env.orch_ok(&["prime"]);
    assert!(human.len() / 4 <= 200, "{human}");
}

#[test]
fn session_start_records_the_branch() {
    let env = Env::builder()
        .branch("feature/x")
        .orch_init()
        .task("TSK-1")
        .session("TSK-1")
        .build();
    assert_eq!(env.session("TSK-1").branch.as_deref(), Some("feature/x"));
    env.orch(&["verify"]).succeeds();
}

#[test]
fn a_fresh_clone_enforces_the_task_bound_to_its_branch() {
    let env = Env::builder()
        .clock(Clock::Ticking)
        .orch_init()
        .task("TSK-1")
        .session("TSK-1")
        .build();
    env.advance_to("TSK-1", "plan");
    let clone = env.base.join("clone");
    env.git(&[
        "clone",
        "-q",
        env.root.to_str().unwrap(),
        clone.to_str().unwrap(),
    ]);
    let c = |args: &[&str]| env.orch(args).current_dir(&clone);
    c(&["hooks", "install"]).succeeds();
    std::fs::write(clone.join("app.rs"), "fn main() {}\n").unwrap();
    env.git_in(&clone, &["add", "app.rs"]);
    let refused = env
        .git_cmd(&["commit", "-q", "-m", "code too early"])
        .current_dir(&clone)
        .output()
        .unwrap();
    assert!(
        !refused.status.success(),
        "the hook let code through in plan"
    );
    assert!(
        stderr(&refused).contains("TSK-1 is in plan"),
        "{}",
        stderr(&refused)
    );
    let (v, _) = {
        let out = c(&["next", "--json"]).succeeds();
        (out.json::<Value>(), ())
    };
    assert_eq!(v["task"], "TSK-1", "the clone knows the current task");
    env.advance_to("TSK-1", "execute");
    env.git_in(&clone, &["pull", "-q", "--no-rebase"]);
    env.git_in(&clone, &["commit", "-q", "-m", "the code"]);
    let msg = env.git_in(&clone, &["log", "-1", "--format=%B"]);
    assert!(msg.contains("Orchestration-Task: TSK-1"), "{msg}");
    assert!(msg.contains("Orchestration-Phase: execute"), "{msg}");
}

#[test]
fn two_active_tasks_on_one_branch_make_the_hook_ask_for_orch_task() {
    let env = Env::started("TSK-1");
    env.new_task("TSK-2");
    env.orch_ok(&["session", "start", "TSK-2"]);
    env.drop_pointer();
    env.orch(&["hooks", "install"]).succeeds();
    env.write("app.rs", "fn main() {}\n");
    env.git(&["add", "app.rs"]);
    let out = env.git_raw(&["commit", "-q", "-m", "which task?"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("TSK-1") && err.contains("TSK-2") && err.contains("ORCH_TASK"),
        "{err}"
    );
    env.orch(&["next"]).fails(4).stderr_contains("ORCH_TASK");
    let ok = env
        .git_cmd(&["commit", "-q", "-m", "only config"])
        .env("ORCH_TASK", "TSK-1")
        .output()
        .unwrap();
    // TSK-1 is in intake: now the hook judges that task and refuses the code, naming it.
    assert!(
        stderr(&ok).contains("TSK-1 is in intake"),
        "{}",
        stderr(&ok)
    );
}

/// Uncommitted rules refuse every transition, so `next` says so first, and its command —
/// run literally — commits them, after which the transition goes through.
#[test]
fn uncommitted_rules_are_the_first_blocker_and_its_command_clears_them() {
    let env = Env::started("TSK-1");
    env.new_task("TSK-2");
    env.advance_to("TSK-1", "research");
    env.artifact("TSK-1", "CONTEXT.md");
    let cfg = env
        .read(".orchestration/config.toml")
        .replace("allow_phase_skip = false", "allow_phase_skip = true");
    env.write(".orchestration/config.toml", cfg);
    let (v, _) = next_json(&env, &[]);
    assert_eq!(v["ready"], false, "{v}");
    assert_eq!(v["blockers"][0]["code"], "rules_uncommitted", "{v}");
    let command = v["command"].as_str().unwrap().to_string();
    assert!(
        command.starts_with("git add -- .orchestration/config.toml && git commit"),
        "{command}"
    );
    env.orch(&["phase", "complete"]).fails(4);
    // `status` says the same; so does `next` for a task not started, whose start is refused.
    let st: Value = env.orch(&["status", "TSK-1", "--json"]).succeeds().json();
    assert_eq!(st["blockers"][0]["code"], "rules_uncommitted", "{st}");
    assert_eq!(st["command"], command.as_str(), "{st}");
    let (other, _) = next_json(&env, &["TSK-2"]);
    assert_eq!(other["state"], "not_started", "{other}");
    assert_eq!(other["blockers"][0]["code"], "rules_uncommitted", "{other}");
    assert_eq!(other["command"], command.as_str(), "{other}");
    env.orch(&["session", "start", "TSK-2"]).fails(4);

    let ran = env.shell(&command);
    assert!(ran.status.success(), "{command}: {ran:?}");
    let (v, _) = next_json(&env, &[]);
    assert_eq!(v["ready"], true, "{v}");
    env.orch(&["phase", "complete"]).succeeds();
    env.orch(&["verify"]).succeeds();
}
