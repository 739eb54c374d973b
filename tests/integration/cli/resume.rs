//! `session start` on a task with an active session: --continue, --restart, --new, or exit 4.

use crate::support::json::*;
use crate::support::*;

fn in_plan() -> Env {
    let env = Env::started("TSK-1");
    env.advance_to("TSK-1", "plan");
    env
}

#[test]
fn without_a_flag_and_without_a_terminal_exits_4_naming_the_flags() {
    let env = in_plan();
    let out = env.unchanged(|env| env.orch(&["session", "start", "TSK-1"]).fails(4));
    snap!("resume_without_flag", out.transcript(&env));
    for flag in ["--continue", "--restart", "--new"] {
        assert!(out.stderr.contains(flag), "{flag}: {}", out.stderr);
    }
    let doc: ErrorDoc = env
        .orch(&["session", "start", "TSK-1", "--json"])
        .fails(4)
        .json();
    assert_eq!(doc.error.kind, "state");
    assert!(doc.error.hint.unwrap().contains("--continue"));
}

#[test]
fn without_a_flag_in_the_same_second_still_exits_4_naming_the_flags() {
    // The default session key is made of the time; a second start in the same second must still
    // be told about the active session, not about a key clash it did not ask for.
    let env = Env::with_task("TSK-1");
    let now = "2025-02-01T10:00:00Z";
    env.orch(&["session", "start", "TSK-1"])
        .env("ORCH_NOW", now)
        .succeeds();
    env.orch(&["session", "start", "TSK-1"])
        .env("ORCH_NOW", now)
        .fails(4)
        .stderr_contains("--continue");
}

#[test]
fn restart_and_new_work_in_the_same_second() {
    let env = Env::with_task("TSK-1");
    let now = "2025-02-01T10:00:00Z";
    env.orch(&["session", "start", "TSK-1"])
        .env("ORCH_NOW", now)
        .succeeds();
    env.orch(&["session", "start", "TSK-1", "--new"])
        .env("ORCH_NOW", now)
        .succeeds();
    env.orch(&["session", "start", "TSK-1", "--restart"])
        .env("ORCH_NOW", now)
        .succeeds();
    let s = env.session("TSK-1");
    let mut keys: Vec<&str> = s
        .previous_sessions
        .iter()
        .map(|p| p.session_key.as_str())
        .collect();
    keys.push(&s.session_key);
    let mut unique = keys.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 3, "session keys must differ: {keys:?}");
}

#[test]
fn continue_resumes_as_is() {
    let env = in_plan();
    let before = env.fingerprint();
    let t: TransitionDoc = env
        .orch(&["session", "start", "TSK-1", "--continue", "--json"])
        .succeeds()
        .json();
    assert_eq!(t.kind, "continue");
    assert_eq!(
        (t.from.as_deref(), t.to.as_deref()),
        (Some("plan"), Some("plan"))
    );
    assert_eq!(t.session_key, "sess_TSK-1_20250113_143222");
    assert_eq!(t.next.unwrap().phase, "plan");
    assert_eq!(before, env.fingerprint(), "--continue writes nothing");
    env.orch(&["session", "start", "--continue"])
        .succeeds()
        .stdout_contains("Continuing session sess_TSK-1_20250113_143222 in plan");
}

#[test]
fn restart_archives_and_starts_over_from_intake() {
    let env = in_plan();
    let old = env.session("TSK-1");
    let t: TransitionDoc = env
        .orch(&["session", "start", "TSK-1", "--restart", "--json"])
        .succeeds()
        .json();
    assert_eq!(
        (t.kind.as_str(), t.from.as_deref(), t.to.as_deref()),
        ("start", Some("plan"), Some("intake"))
    );
    let s = env.session("TSK-1");
    assert!(s.active);
    assert_eq!(s.current_phase, "intake");
    assert!(s.phase_history.is_empty());
    assert_ne!(s.session_key, old.session_key);
    assert_eq!(s.previous_sessions.len(), 1);
    let p = &s.previous_sessions[0];
    assert_eq!(
        (p.session_key.as_str(), p.last_phase.as_str()),
        (old.session_key.as_str(), "plan")
    );
    assert_eq!(p.phase_history, old.phase_history);
    let types = env.event_types("TSK-1");
    assert_eq!(
        &types[types.len() - 3..],
        [
            "orchestration.session.end",
            "orchestration.session.start",
            "orchestration.phase.intake.start"
        ]
    );
    let evs = env.event_lines("TSK-1");
    let end = &evs[evs.len() - 3];
    assert_eq!(end.session_key.as_deref(), Some(s.session_key.as_str()));
    assert_eq!(end.payload["mode"], "restart");
    assert_eq!(end.payload["session_key"], old.session_key.as_str());
}

#[test]
fn new_archives_and_begins_in_the_same_phase() {
    let env = in_plan();
    let old = env.session("TSK-1");
    env.orch(&[
        "session",
        "start",
        "TSK-1",
        "--new",
        "--session-key",
        "sess_custom-2",
    ])
    .succeeds();
    let s = env.session("TSK-1");
    assert_eq!(
        (s.session_key.as_str(), s.current_phase.as_str(), s.active),
        ("sess_custom-2", "plan", true)
    );
    assert!(s.phase_history.is_empty());
    assert_eq!(s.previous_sessions.len(), 1);
    assert_eq!(s.previous_sessions[0].session_key, old.session_key);
    assert_eq!(s.previous_sessions[0].last_phase, "plan");
    // The new session carries on: plan still needs PLAN.md.
    env.orch(&["phase", "complete"])
        .fails(3)
        .stderr_contains("PLAN.md");
}

#[test]
fn flags_are_exclusive_and_continue_needs_a_session() {
    let env = Env::with_task("TSK-1");
    env.orch(&["session", "start", "TSK-1", "--continue", "--new"])
        .status(2)
        .no_panic();
    env.unchanged(|env| {
        env.orch(&["session", "start", "TSK-1", "--continue"])
            .fails(4)
            .stderr_contains("no session to continue");
    });
    env.orch(&["session", "start", "TSK-1"]).succeeds();
    env.orch(&["session", "end", "--force"]).succeeds();
    env.unchanged(|env| {
        env.orch(&["session", "start", "TSK-1", "--continue"])
            .fails(4)
            .stderr_contains("TSK-1 is done");
        env.orch(&["session", "start", "TSK-1"])
            .fails(4)
            .stderr_contains("--reopen");
    });
    // After an end, the task is done: working on it again is a recorded reopen.
    env.orch(&["session", "start", "TSK-1", "--reopen"])
        .succeeds();
}

#[test]
fn a_bad_session_key_is_refused() {
    let env = Env::with_task("TSK-1");
    env.unchanged(|env| {
        env.orch(&["session", "start", "TSK-1", "--session-key", "a b/c"])
            .fails(2)
            .stderr_contains("invalid session key");
        env.orch(&["session", "start", "TSK-1", "--session-key", ""])
            .fails(2);
    });
    env.orch(&["session", "start", "TSK-1", "--session-key", "k1"])
        .succeeds();
    env.orch(&["session", "start", "TSK-1", "--new", "--session-key", "k1"])
        .fails(2)
        .stderr_contains("already used");
}

/// On a terminal, `session start` on an active session asks instead of failing. The terminal
/// is a real pseudo-terminal made by `script`.
#[test]
fn terminal_prompt_offers_continue_restart_new() {
    let tty = |env: &Env, answer: &str| -> (Option<i32>, String) {
        let cmdline = format!("{BIN} session start TSK-1");
        let mut c = hermetic("script", &env.home);
        c.current_dir(&env.root)
            .args(["-qec", &cmdline, "/dev/null"])
            .env("ORCH_NOW", env.now())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = c.spawn().expect("script runs");
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().unwrap();
            stdin.write_all(answer.as_bytes()).unwrap();
        }
        let out = child.wait_with_output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let env = Env::started("TSK-1");
    env.advance_to("TSK-1", "plan");
    let key = env.session("TSK-1").session_key;

    let before = env.fingerprint();
    let (code, text) = tty(&env, "q\n");
    assert_eq!(code, Some(4), "{text}");
    assert!(text.contains("[c]ontinue"), "the prompt is shown: {text}");
    assert_eq!(env.fingerprint(), before, "quitting changes nothing");

    let (code, text) = tty(&env, "c\n");
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("Continuing session"), "{text}");
    assert_eq!(env.session("TSK-1").session_key, key);

    let (code, text) = tty(&env, "n\n");
    assert_eq!(code, Some(0), "{text}");
    let s = env.session("TSK-1");
    assert_eq!(s.current_phase, "plan", "a new session stays in the phase");
    assert_ne!(s.session_key, key);
    assert_eq!(s.previous_sessions.len(), 1);

    let (code, text) = tty(&env, "r\n");
    assert_eq!(code, Some(0), "{text}");
    let s = env.session("TSK-1");
    assert_eq!(
        s.current_phase, "intake",
        "a restart goes back to the first phase"
    );
    assert_eq!(s.previous_sessions.len(), 2);
}
