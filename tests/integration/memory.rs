//! `orch memory`, POSTOP.md at a session's close, pins in `orch prime`, and `orch compact`:
//! scratch notes stay in the git dir, pins are commits that travel with the task, a closing
//! session leaves a bounded, deterministic record, and a compacted log reads back from git
//! history — with `orch verify` clean after each step and git as the oracle.

use crate::support::*;
use serde_json::Value;

const T: &str = "TSK-1";

fn postop(env: &Env) -> String {
    env.read(&format!(".orchestration/tasks/{T}/POSTOP.md"))
}

fn postop_path(env: &Env) -> std::path::PathBuf {
    env.task_file(T, "POSTOP.md")
}

/// Note ids are random; everything else of a POSTOP.md is the session's.
fn redact_notes(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("mem_") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 4..];
        let n = after.chars().take_while(|c| c.is_ascii_hexdigit()).count();
        out.push_str(if n >= 8 { "[NOTE]" } else { "mem_" });
        rest = &after[if n >= 8 { n } else { 0 }..];
    }
    out.push_str(rest);
    out
}

fn add(env: &Env, args: &[&str]) -> Value {
    let mut a = vec!["memory", "add", "--json"];
    a.extend_from_slice(args);
    env.orch(&a).succeeds().json()
}

fn verify_clean(env: &Env) {
    env.orch(&["verify"])
        .succeeds()
        .stdout_contains("no violations");
    env.fsck();
}

/// A session with overrides, events of every kind and notes, ended by force.
fn eventful_session(env: &Env) {
    add(env, &["the pool is per thread", "--tag", "pool"]);
    add(env, &["the pool is per thread", "--tag", "pool"]);
    add(
        env,
        &["retrying the request did not help", "--tag", "dead-end"],
    );
    add(
        env,
        &["bump the version after release", "--tag", "followup"],
    );
    add(env, &["untagged thought"]);
    add(env, &["keep the public API stable", "--pin"]);
    env.orch_ok(&["phase", "complete"]);
    env.orch_ok(&[
        "event",
        "add",
        "research.finding",
        "--data",
        r#"{"file":"src/pool.rs","note":"one pool per thread"}"#,
    ]);
    // CONTEXT.md is missing: the override is recorded with what it passed.
    env.orch_ok(&[
        "phase",
        "complete",
        "--override",
        "--reason",
        "agreed in the thread",
    ]);
    env.orch_ok(&[
        "event",
        "add",
        "plan.decision",
        "--data",
        r#"{"decision":"share one pool","why":"fewer sockets"}"#,
    ]);
    env.orch_ok(&["session", "end", "--force", "--reason", "handing over"]);
}

#[test]
fn scratch_notes_stay_in_the_git_dir_and_pins_are_commits() {
    let env = Env::started(T);
    let before = env.head();
    let v = add(&env, &["a scratch note", "--tag", "Pool"]);
    assert_eq!(v["note"]["pinned"], false);
    assert_eq!(v["note"]["tags"][0], "pool");
    assert_eq!(v["stored_in"], "scratch");
    assert_eq!(env.head(), before, "a scratch note is no commit");
    assert_eq!(env.git(&["status", "--porcelain"]), "");
    assert!(env
        .git_dir()
        .join("orchestration/memory/TSK-1.jsonl")
        .is_file());

    let v = add(&env, &["a pinned note", "--pin"]);
    assert_eq!(v["note"]["pinned"], true);
    assert_eq!(v["stored_in"], ".orchestration/tasks/TSK-1/memory.jsonl");
    assert_ne!(env.head(), before);
    let files = env.git(&["show", "--name-only", "--format=%s", "HEAD"]);
    assert!(files.starts_with("orch(TSK-1): memory pin mem_"), "{files}");
    assert!(files.contains(".orchestration/tasks/TSK-1/memory.jsonl"));
    assert!(env
        .read(".orchestration/.gitattributes")
        .contains("tasks/*/memory.jsonl merge=union"));
    assert_eq!(env.git(&["status", "--porcelain"]), "");

    let l: Value = env.orch(&["memory", "list", "--json"]).succeeds().json();
    let notes = l["notes"].as_array().unwrap();
    assert_eq!(notes.len(), 2);
    assert_eq!(notes[0]["text"], "a scratch note");
    assert_eq!(notes[1]["text"], "a pinned note");

    // pin, unpin, forget: each pinned change one commit, each scratch change none.
    let id = notes[0]["id"].as_str().unwrap().to_string();
    env.orch(&["memory", "pin", &id]).succeeds();
    env.orch(&["memory", "pin", &id])
        .fails(4)
        .stderr_contains("already pinned");
    env.orch(&["memory", "unpin", &id]).succeeds();
    let h = env.head();
    env.orch(&["memory", "forget", &id]).succeeds();
    assert_eq!(env.head(), h, "forgetting a scratch note commits nothing");
    let l: Value = env.orch(&["memory", "list", "--json"]).succeeds().json();
    assert_eq!(l["notes"].as_array().unwrap().len(), 1);
    let log = env.read(".orchestration/tasks/TSK-1/memory.jsonl");
    assert_eq!(
        log.lines().count(),
        3,
        "pin, pin, unpin: appended, never rewritten\n{log}"
    );
    verify_clean(&env);
}

#[test]
fn bad_memory_input_is_refused_with_the_fix() {
    let env = Env::started(T);
    env.unchanged(|env| {
        env.orch(&["memory", "add", "  "])
            .fails(2)
            .stderr_contains("empty");
        env.orch(&["memory", "add", "x", "--scope", "team"])
            .fails(2)
            .stderr_contains("--scope task");
        env.orch(&["memory", "add", "x", "--tag", "a b"])
            .fails(2)
            .stderr_contains("invalid tag");
        env.orch(&["memory", "add", &"x".repeat(501)])
            .fails(2)
            .stderr_contains("at most 500");
        env.orch(&["memory", "pin", "mem_00000000"])
            .fails(2)
            .stderr_contains("orch memory list --all");
        env.orch(&["memory", "forget", "nonsense"])
            .fails(2)
            .stderr_contains("not a note id");
        env.orch(&["compact", "--older-than", "5y"])
            .fails(2)
            .stderr_contains("90d");
    });
    let v = add(&env, &["scratch"]);
    env.orch(&["memory", "unpin", v["note"]["id"].as_str().unwrap()])
        .fails(4)
        .stderr_contains("orch memory pin");
}

#[test]
fn session_end_writes_a_deterministic_postop_in_the_closing_commit() {
    let run = || {
        let env = Env::started(T);
        eventful_session(&env);
        env
    };
    let env = run();
    let files = env.git(&["show", "--name-only", "--format=%s", "HEAD"]);
    assert!(files.starts_with("orch(TSK-1): session end"), "{files}");
    assert!(
        files.contains(".orchestration/tasks/TSK-1/POSTOP.md"),
        "{files}"
    );
    let text = postop(&env);
    assert!(
        text.contains("- keep the public API stable (mem_"),
        "pinned verbatim\n{text}"
    );
    assert!(
        text.contains("pool: the pool is per thread (×2)"),
        "grouped, de-duplicated\n{text}"
    );
    assert!(text.contains("agreed in the thread"), "{text}");
    // The scratch store is cleared; the pin stays.
    let l: Value = env.orch(&["memory", "list", T, "--json"]).succeeds().json();
    let notes = l["notes"].as_array().unwrap();
    assert_eq!(notes.len(), 1, "{l}");
    assert_eq!(notes[0]["pinned"], true);
    assert_eq!(env.git(&["status", "--porcelain"]), "");
    verify_clean(&env);
    // The same session gives the same file.
    assert_eq!(redact_notes(&text), redact_notes(&postop(&run())));
    snap!("postop_of_an_eventful_session", redact_notes(&text));
}

#[test]
fn a_session_of_200_events_compacts_within_1500_tokens() {
    let env = Env::started(T);
    let key = env.session(T).session_key;
    let mut log = env.events_text(T);
    for n in 0..200 {
        let ty = match n % 4 {
            0 => "orchestration.phase.plan.decision",
            1 => "orchestration.phase.research.finding",
            2 => "custom.dead_end",
            _ => "orchestration.check.tests",
        };
        let payload = if n % 4 == 3 {
            format!(
                r#"{{"passed":{},"duration_ms":1200,"commit":"abcdef0123"}}"#,
                n % 8 == 3
            )
        } else {
            format!(
                r#"{{"note":"item {n}: {}"}}"#,
                "a long explanation of why ".repeat(8)
            )
        };
        log.push_str(&format!(
            "{{\"id\":\"evt_{n:024x}\",\"ts\":\"2025-01-13T14:31:{:02}Z\",\"type\":\"{ty}\",\"session_key\":\"{key}\",\"entity_type\":\"task\",\"entity_id\":\"{T}\",\"actor\":\"{AUTHOR}\",\"payload\":{payload}}}\n",
            n % 60
        ));
    }
    env.write(&format!(".orchestration/tasks/{T}/events.jsonl"), &log);
    for n in 0..30 {
        add(
            &env,
            &[&format!("scratch note {n} {}", "with words ".repeat(10))],
        );
    }
    env.orch_ok(&["session", "end", "--force", "--reason", "long session"]);
    let text = postop(&env);
    let tokens = text.chars().count() / 4;
    assert!(tokens <= 1500, "{tokens} tokens\n{text}");
    assert!(
        text.contains("more: `orch events TSK-1 --all --type decision`"),
        "{text}"
    );
    assert!(text.contains("tests: 50 runs, 25 passed"), "{text}");
    assert!(
        text.contains(" more: the rest were folded away with the session"),
        "{text}"
    );
    verify_clean(&env);
}

#[test]
fn restart_and_new_archive_the_session_into_postop() {
    let env = Env::started(T);
    add(&env, &["first try: patch the client", "--tag", "dead-end"]);
    let old = env.session(T).session_key;
    env.orch_ok(&["session", "start", "--restart"]);
    let files = env.git(&["show", "--name-only", "--format=%s", "HEAD"]);
    assert!(files.contains("POSTOP.md"), "{files}");
    let text = postop(&env);
    assert!(text.contains(&format!("## Session {old}")), "{text}");
    assert!(text.contains("archived by a new session start"));
    assert!(text.contains("first try: patch the client"));
    let second = env.session(T).session_key;
    env.orch_ok(&["session", "start", "--new"]);
    let text = postop(&env);
    assert!(text.contains(&format!("## Session {second}")), "{text}");
    assert_eq!(text.matches("# Post-operation record").count(), 1);
    // What an earlier session settled comes back in prime.
    let v: Value = env.orch(&["prime", "--json"]).succeeds().json();
    assert_eq!(
        v["settled"][0], "dead end: first try: patch the client",
        "{v}"
    );
    verify_clean(&env);
}

#[test]
fn pins_survive_two_sessions_and_a_fresh_clone() {
    let env = Env::started(T);
    add(&env, &["the staging database is read-only", "--pin"]);
    env.orch_ok(&[
        "session",
        "end",
        "--force",
        "--reason",
        "first session done",
    ]);
    env.orch_ok(&["session", "start", T, "--reopen"]);
    let v: Value = env.orch(&["prime", "--json"]).succeeds().json();
    assert_eq!(v["pins"][0], "the staging database is read-only", "{v}");
    add(&env, &["second session's pin", "--pin"]);
    env.orch_ok(&[
        "session",
        "end",
        "--force",
        "--reason",
        "second session done",
    ]);
    let text = postop(&env);
    assert_eq!(text.matches("## Session ").count(), 2, "{text}");
    assert_eq!(text.matches("the staging database is read-only").count(), 2);
    verify_clean(&env);

    let clone = env.base.join("clone");
    env.git(&[
        "clone",
        "-q",
        env.root.to_str().unwrap(),
        clone.to_str().unwrap(),
    ]);
    let v: Value = env
        .orch(&["prime", T, "--json"])
        .current_dir(&clone)
        .succeeds()
        .json();
    let pins: Vec<&str> = v["pins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert_eq!(
        pins,
        ["second session's pin", "the staging database is read-only"],
        "{v}"
    );
    env.orch(&["memory", "list", T])
        .current_dir(&clone)
        .succeeds()
        .stdout_contains("the staging database is read-only");
    env.orch(&["verify"]).current_dir(&clone).succeeds();
}

#[test]
fn project_pins_show_in_every_task_prime_capped_and_byte_identical() {
    let env = Env::started(T);
    env.new_task("TSK-2");
    for n in 1..=5 {
        let v = add(&env, &[&format!("project rule {n}"), "--scope", "project"]);
        assert_eq!(v["stored_in"], ".orchestration/memory.jsonl");
    }
    assert!(env
        .read(".orchestration/.gitattributes")
        .contains("memory.jsonl merge=union"));
    for task in [T, "TSK-2"] {
        let out = env.orch(&["prime", task, "--json"]).succeeds();
        assert!(out.stdout.trim_end().len() <= 800, "{}", out.stdout);
        let v: Value = out.json();
        let pins: Vec<&str> = v["pins"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        assert_eq!(
            pins,
            [
                "project: project rule 5",
                "project: project rule 4",
                "project: project rule 3"
            ],
            "{v}"
        );
        assert_eq!(
            v["omitted"][0],
            format!("2 project pins (cap 3): orch memory list {task}"),
            "{v}"
        );
        let again = env.orch(&["prime", task, "--json"]).succeeds();
        assert_eq!(
            out.stdout, again.stdout,
            "the same state gives the same bytes"
        );
        let human = env.orch_ok(&["prime", task]);
        assert_eq!(human, env.orch_ok(&["prime", task]));
        assert!(human.contains("left out: 2 project pins"), "{human}");
    }
    verify_clean(&env);
}

#[test]
fn prime_stays_within_its_budget_ranked_pins_first() {
    let env = Env::started(T);
    for n in 0..12 {
        add(
            &env,
            &[
                &format!("pinned fact {n}: {}", "detail ".repeat(30)),
                "--pin",
            ],
        );
    }
    add(&env, &["a project pin", "--scope", "project"]);
    let out = env.orch(&["prime", "--json"]).succeeds();
    let len = out.stdout.trim_end().len();
    assert!(len <= 800, "{len}: {}", out.stdout);
    let v: Value = out.json();
    assert!(
        v["pins"][0].as_str().unwrap().starts_with("pinned fact 11"),
        "{v}"
    );
    assert!(
        v["omitted"].as_array().unwrap().iter().any(|o| o
            .as_str()
            .unwrap()
            .ends_with("pinned: orch memory list TSK-1")),
        "{v}"
    );
    assert_eq!(v["command"], "orch phase complete TSK-1");
    assert!(env.orch_ok(&["prime"]).len() / 4 <= 200);
}

/// A task whose session ended, with its log committed.
fn closed_task(env: &Env) -> Vec<String> {
    env.orch_ok(&[
        "event",
        "add",
        "intake.question",
        "--data",
        r#"{"question":"which timeout?"}"#,
    ]);
    env.orch_ok(&["session", "end", "--force", "--reason", "done for now"]);
    let v: Value = env.orch(&["events", T, "--json"]).succeeds().json();
    v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn compact_folds_the_log_and_events_all_reads_it_back() {
    let env = Env::started(T);
    let ids = closed_task(&env);
    assert!(ids.len() >= 3);
    let r = env.unchanged(|env| {
        env.orch(&["compact", "--older-than", "0d", "--dry-run", "--json"])
            .succeeds()
            .json::<Value>()
    });
    assert_eq!(r["tasks"][0]["task"], T);
    assert_eq!(r["commit"], Value::Null);
    env.orch(&["compact", "--json"])
        .succeeds()
        .stdout_contains("\"tasks\": []");
    let r: Value = env
        .orch(&["compact", "--older-than", "0d", "--json"])
        .succeeds()
        .json();
    assert_eq!(r["tasks"][0]["events"], ids.len());
    assert!(r["saved_bytes"].as_i64().unwrap() != 0);
    assert!(!env.task_file(T, "events.jsonl").exists());
    assert_eq!(env.git(&["status", "--porcelain"]), "");
    let files = env.git(&["show", "--name-status", "--format=%s", "HEAD"]);
    assert!(
        files.contains("D\t.orchestration/tasks/TSK-1/events.jsonl"),
        "{files}"
    );
    assert!(
        files.contains("M\t.orchestration/tasks/TSK-1/POSTOP.md"),
        "{files}"
    );
    assert!(postop(&env).contains("<!-- orch:compacted events.jsonl blob="));
    verify_clean(&env);

    let v: Value = env
        .orch(&["events", T, "--all", "--json"])
        .succeeds()
        .json();
    let back: Vec<String> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(back, ids, "every original event, in order");
    env.orch(&["events", T])
        .succeeds()
        .stdout_contains("orch events TSK-1 --all");
    env.orch(&["report", T])
        .succeeds()
        .stdout_contains("[POSTOP.md](.orchestration/tasks/TSK-1/POSTOP.md)");
    // A second compaction finds nothing left to fold.
    let r: Value = env
        .orch(&["compact", "--older-than", "0d", "--json"])
        .succeeds()
        .json();
    assert_eq!(r["tasks"], serde_json::json!([]));

    // A fresh clone reads it back from history too, and verifies.
    let clone = env.base.join("clone");
    env.git(&[
        "clone",
        "-q",
        env.root.to_str().unwrap(),
        clone.to_str().unwrap(),
    ]);
    let v: Value = env
        .orch(&["events", T, "--all", "--json"])
        .current_dir(&clone)
        .succeeds()
        .json();
    assert_eq!(v["events"].as_array().unwrap().len(), ids.len());
    env.orch(&["verify"]).current_dir(&clone).succeeds();
}

#[test]
fn a_hand_deleted_event_log_stays_a_violation() {
    let env = Env::started(T);
    closed_task(&env);
    env.git(&["rm", "-q", ".orchestration/tasks/TSK-1/events.jsonl"]);
    env.git(&["commit", "-q", "-m", "drop the log"]);
    env.orch(&["verify", "--json"])
        .fails(3)
        .stdout_contains("\"code\": \"events_deleted\"");
}

#[test]
fn a_compaction_naming_another_log_is_a_violation() {
    let env = Env::started(T);
    closed_task(&env);
    let other = env.git(&["hash-object", "-w", ".orchestration/tasks/TSK-1/TASK.md"]);
    let forged = format!(
        "{}\n## Event log compacted\n\n<!-- orch:compacted events.jsonl blob={} events=3 -->\n",
        postop(&env),
        other.trim()
    );
    std::fs::write(postop_path(&env), forged).unwrap();
    env.git(&["rm", "-q", ".orchestration/tasks/TSK-1/events.jsonl"]);
    env.git(&["add", "-A"]);
    env.git(&["commit", "-q", "-m", "pretend to compact"]);
    env.orch(&["verify", "--json"])
        .fails(3)
        .stdout_contains("\"code\": \"events_deleted\"");
}

#[test]
fn a_branch_merged_after_a_compaction_verifies() {
    let env = Env::started(T);
    closed_task(&env);
    env.git(&["checkout", "-q", "-b", "side"]);
    env.code_commit("TSK-9");
    env.git(&["checkout", "-q", "main"]);
    env.orch_ok(&["compact", "--older-than", "0d"]);
    env.git(&["merge", "-q", "--no-edit", "side"]);
    verify_clean(&env);
}
