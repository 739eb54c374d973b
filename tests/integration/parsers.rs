//! Every parser of orch's files and inputs, fed random and mutated bytes: none panics, and an
//! error names the file (or input) it is about. A small number of cases per parser by default,
//! so the whole module runs in seconds; `PROPTEST_CASES=N` runs N per parser.
//!
//! Inputs that once made a parser panic are kept in `regressions` below.

use crate::support::Env;
use orch::config::Config;
use orch::session::Session;
use orch::task::TaskDoc;
use orch::templates::Templates;
use orch::workflow::Workflow;
use proptest::prelude::*;
use proptest::test_runner::{Config as RunConfig, TestRunner};
use std::path::Path;

/// Cases per parser: `PROPTEST_CASES`, else `default`.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn config(default: u32) -> RunConfig {
    RunConfig {
        cases: cases(default),
        // A failure is shrunk and reported; no file of persisted seeds is written into the tree.
        failure_persistence: None,
        ..RunConfig::default()
    }
}

const TASK_MD: &str = "---\ntitle: \"Fix login timeout\"\nstatus: open\ndescription: \"Sessions expire\"\ntags: [auth, \"p1\"]\nsprint: S1\nlinks:\n  - kind: pr\n    url: https://example.com/pull/7\n---\n\n## Problem\n\nSessions expire after 5 minutes.\n\n## Acceptance criteria\n\n- [ ] a session lasts 30 minutes\n- [x] done one\n- [~] dropped — dropped: not needed\n";

const SESSION_JSON: &str = r#"{
  "task": "TSK-1",
  "session_key": "sess_TSK-1_20250113_143022",
  "started_at": "2025-01-13T14:30:22Z",
  "current_phase": "research",
  "active": true,
  "branch": "main",
  "phase_history": [
    {
      "phase": "intake",
      "started_at": "2025-01-13T14:30:22Z",
      "completed_at": "2025-01-13T14:40:00Z",
      "override": {"reason": "agreed", "author": "A <a@x>", "at": "2025-01-13T14:40:00Z", "checks": ["x"]},
      "to": "research",
      "transition": "complete"
    }
  ],
  "execute_range": {"base": "0123456789abcdef0123456789abcdef01234567"},
  "previous_sessions": []
}
"#;

const EVENTS: &str = "{\"id\":\"evt_1\",\"ts\":\"2025-01-13T14:30:22Z\",\"type\":\"orchestration.session.start\",\"session_key\":\"s\",\"entity_type\":\"task\",\"entity_id\":\"TSK-1\",\"actor\":\"A <a@x>\",\"payload\":{\"phase\":\"intake\"}}\n{\"ts\":\"2025-01-13T14:31:00Z\",\"type\":\"research.finding\",\"entity_type\":\"task\",\"entity_id\":\"TSK-1\",\"actor\":\"A\",\"payload\":{\"file\":\"src/a.rs\"}}\n";

const COMMIT_MSG: &str = "Keep sessions for 30 minutes\n\nBody text.\n\nOrchestration-Task: TSK-1\nOrchestration-Phase: execute\nSigned-off-by: A <a@x>\n# Please enter the commit message\n";

const BUG_REPORT: &str = "thread 'main' panicked at src/parse.rs:42:9:\nindex out of bounds: the len is 3 but the index is 7\nstack backtrace:\n   0: orch::parse::front\n             at ./src/parse.rs:42:9\nTraceback (most recent call last):\n  File \"/home/u/app.py\", line 3, in <module>\n    main()\nValueError: bad value 'x'\n";

/// Random bytes, or `sample` mutated: bytes flipped, inserted, removed, ranges repeated or cut.
fn mutated(sample: &'static str) -> impl Strategy<Value = Vec<u8>> {
    let edit = (
        any::<u8>(),
        any::<prop::sample::Index>(),
        0u8..5,
        any::<u8>(),
    );
    let mutations = proptest::collection::vec(edit, 1..12).prop_map(move |edits| {
        let mut b = sample.as_bytes().to_vec();
        for (kind, at, op, byte) in edits {
            if b.is_empty() {
                b.push(byte);
                continue;
            }
            let i = at.index(b.len());
            match (op, kind % 4) {
                (0, _) => b[i] = byte,
                (1, k) => b.insert(
                    i,
                    [b'"', b'\n', b'-', b':', b'{', b'}', b'[', b'\xff']
                        [(k as usize + byte as usize) % 8],
                ),
                (2, _) => {
                    b.remove(i);
                }
                (3, _) => {
                    let end = (i + byte as usize % 16).min(b.len());
                    let piece = b[i..end].to_vec();
                    b.splice(i..i, piece);
                }
                _ => b.truncate(i),
            }
        }
        b
    });
    prop_oneof![
        1 => proptest::collection::vec(any::<u8>(), 0..256),
        1 => "\\PC{0,200}".prop_map(String::into_bytes),
        4 => mutations,
    ]
}

/// Runs `check` on `cases` inputs from `strategy`, failing (with the shrunk input) on a panic.
fn fuzz(name: &str, default: u32, sample: &'static str, check: impl Fn(&str)) -> u32 {
    let cfg = config(default);
    let n = cfg.cases;
    let mut runner = TestRunner::new(cfg);
    let result = runner.run(&mutated(sample), |bytes| {
        let text = String::from_utf8_lossy(&bytes);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&text)));
        prop_assert!(outcome.is_ok(), "{name} panicked on {text:?}");
        Ok(())
    });
    if let Err(e) = result {
        panic!("{name}: {e}");
    }
    eprintln!("parsers: {name}: {n} cases, no panic");
    n
}

/// An error of a file's parser names that file.
fn names(message: &str, file: &str, input: &str) {
    assert!(
        message.contains(file),
        "the error does not name {file}: {message:?}\ninput: {input:?}"
    );
}

#[test]
fn task_md_front_matter() {
    let file = ".orchestration/tasks/TSK-1/TASK.md";
    fuzz("TASK.md", 256, TASK_MD, |t| {
        if let Err(e) = TaskDoc::parse(t, file) {
            names(&e.message, file, t);
        }
        let _ = orch::gates::criteria::parse(t);
        let _ = orch::gates::sections::sections(t);
        let _ = orch::gates::sections::front_matter(t);
        let _ = orch::gates::verdict::read(t);
    });
}

#[test]
fn session_json() {
    let file = ".orchestration/tasks/TSK-1/session.json";
    fuzz("session.json", 256, SESSION_JSON, |t| {
        if let Err(e) = Session::parse(t, file) {
            names(&e.message, file, t);
        }
    });
}

#[test]
fn events_jsonl() {
    let file = ".orchestration/tasks/TSK-1/events.jsonl";
    fuzz("events.jsonl", 256, EVENTS, |t| {
        if let Err(e) = orch::event::parse_log(t, file) {
            names(&e.message, file, t);
        }
        let _ = orch::verify::waiver::parse(t);
    });
}

#[test]
fn workflow_yaml() {
    let file = ".orchestration/workflow.yaml";
    let templates = Templates::builtin_only();
    fuzz(
        "workflow.yaml",
        128,
        orch::workflow::BUILTIN_WORKFLOW,
        |t| {
            if let Err(e) = Workflow::parse(t, file, &templates) {
                names(&e.message, file, t);
            }
        },
    );
}

#[test]
fn config_toml() {
    let file = Path::new(".orchestration/config.toml");
    fuzz(
        "config.toml",
        256,
        orch::config::DEFAULT_CONFIG_TOML,
        |t| match Config::parse(t, file) {
            Err(e) => names(&e.message, "config.toml", t),
            Ok(_) => {
                if let Err(e) = orch::config::check_phase_names(t, file, &["intake", "execute"]) {
                    names(&e.message, "config.toml", t);
                }
            }
        },
    );
}

#[test]
fn commit_message_trailers() {
    fuzz("commit message", 256, COMMIT_MSG, |t| {
        let _ = orch::git::history::parse_trailers(t);
        let added = orch::git::trailers::add_trailers(t, &[("Orchestration-Task", "TSK-1")], "#");
        let _ = orch::git::trailers::remove_trailers(&added, "#", |k, _| k.starts_with("Orch"));
        let _ = orch::verify::trailers::ours(&orch::git::history::parse_trailers(t));
    });
}

#[test]
fn bug_reports_and_search_queries() {
    fuzz("bug report", 128, BUG_REPORT, |t| {
        let _ = orch::bugs::parse::parse(t);
        if let Err(e) = orch::bugs::record::parse(t, ".orchestration/bugs/BUG-1.md") {
            names(&e.message, "BUG-1.md", t);
        }
        if let Err(e) = orch::bugs::record::parse_log(t, ".orchestration/bugs/BUG-1.jsonl") {
            names(&e.message, "BUG-1.jsonl", t);
        }
    });
    fuzz("search query", 256, "\"connection reset\" time* -flaky type:plan.decision OR task:TSK-1 phase:plan kind:event sprint:S1", |t| {
        if let Err(e) = orch::search::query::parse(t) {
            assert!(!e.message.is_empty(), "empty error for query {t:?}");
        }
        let _ = orch::search::parse_since(t);
        let _ = orch::code::TaskCode::parse(t);
        let _ = orch::clock::parse(t);
        let _ = orch::gates::checks::split_command(t);
    });
}

/// The same files read by the binary from a repository: a random session.json, events.jsonl
/// or TASK.md makes `orch status`/`events`/`verify` fail with the file's name, never panic.
#[test]
fn the_binary_reads_broken_task_files() {
    let env = Env::started("TSK-1");
    let files = [
        ("session.json", SESSION_JSON),
        ("events.jsonl", EVENTS),
        ("TASK.md", TASK_MD),
    ];
    let originals: Vec<Vec<u8>> = files
        .iter()
        .map(|(name, _)| std::fs::read(env.task_file("TSK-1", name)).unwrap())
        .collect();
    let mut runner = TestRunner::new(config(12));
    let strategy = (
        0usize..3,
        mutated(SESSION_JSON),
        mutated(EVENTS),
        mutated(TASK_MD),
    );
    let result = runner.run(&strategy, |(which, a, b, c)| {
        // One broken file at a time, the others as orch wrote them.
        for ((name, _), bytes) in files.iter().zip(&originals) {
            std::fs::write(env.task_file("TSK-1", name), bytes).unwrap();
        }
        let (name, _) = files[which];
        let bytes = [a, b, c][which].clone();
        std::fs::write(env.task_file("TSK-1", name), &bytes).unwrap();
        for args in [
            &["status", "TSK-1"][..],
            &["events", "TSK-1"],
            &["next", "--json"],
        ] {
            let d = env.orch(args).run().no_panic();
            if d.code != Some(0) {
                prop_assert!(
                    d.stderr.contains(name) || d.stdout.contains(name),
                    "orch {args:?} failed without naming {name}:\n{}{}",
                    d.stdout,
                    d.stderr
                );
            }
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// Hook stdin and the commit message file, as git hands them to the hooks.
#[test]
fn the_hooks_read_random_input() {
    let env = Env::started("TSK-1");
    let head = env.head();
    let push = format!(
        "refs/heads/main {head} refs/heads/main 0000000000000000000000000000000000000000\n"
    );
    let push: &'static str = Box::leak(push.into_boxed_str());
    let mut runner = TestRunner::new(config(16));
    let result = runner.run(&(mutated(push), mutated(COMMIT_MSG)), |(stdin, msg)| {
        use std::io::Write;
        let mut child = env
            .orch(&["hook", "pre-push", "origin", "file:///nowhere"])
            .command()
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let _ = child.stdin.take().unwrap().write_all(&stdin);
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        prop_assert!(
            out.status.code() != Some(101) && !err.contains("panicked at"),
            "pre-push panicked: {err}"
        );
        let file = env.git_dir().join("COMMIT_EDITMSG");
        std::fs::write(&file, &msg).unwrap();
        let path = file.display().to_string();
        let d = env.orch(&["hook", "commit-msg", &path]).run().no_panic();
        if d.code != Some(0) {
            prop_assert!(
                d.stderr.contains("COMMIT_EDITMSG"),
                "commit-msg failed without naming the file: {}",
                d.stderr
            );
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// Inputs that once made a parser panic.
mod regressions {}
