//! The whole six-phase journey, and the ways of naming the task and the repository.

use crate::support::json::*;
use crate::support::*;

#[test]
fn six_phases_from_intake_to_close() {
    let env = Env::with_task("TSK-1");
    env.orch(&["session", "start", "TSK-1"])
        .succeeds()
        .stdout_contains("Session sess_TSK-1_20250113_143222 started in intake")
        .stdout_contains("PHASE: Intake");

    // intake: TASK.md has title, status and description; tags and project_id only warn.
    env.orch(&["phase", "complete", "TSK-1"])
        .succeeds()
        .stdout_contains("intake → research")
        .stderr_contains("warning: .orchestration/tasks/TSK-1/TASK.md has no value for `tags`");
    for (phase, artifact) in [("research", "CONTEXT.md"), ("plan", "PLAN.md")] {
        assert_eq!(env.session("TSK-1").current_phase, phase);
        env.artifact("TSK-1", artifact);
        env.orch(&["phase", "complete"])
            .succeeds()
            .stdout_contains(&format!("{phase} →"));
    }
    // execute requires a code commit; NOTES.md is optional.
    env.code_commit("TSK-1");
    env.orch(&["phase", "complete"])
        .succeeds()
        .stdout_contains("execute → review");
    env.artifact("TSK-1", "REVIEW.md");
    env.orch(&["phase", "complete"])
        .succeeds()
        .stdout_contains("review → close");
    env.orch(&["status", "TSK-1"])
        .succeeds()
        .stdout_contains("When ready: orch session end TSK-1")
        .stdout_contains("This is the last phase.");
    env.orch(&["phase", "complete"])
        .fails(4)
        .stderr_contains("close is the last phase")
        .stderr_contains("orch session end TSK-1");
    env.artifact("TSK-1", "SUMMARY.md");
    env.tick_criteria("TSK-1");
    env.orch(&["session", "end"])
        .succeeds()
        .stdout_contains("Session sess_TSK-1_20250113_143222 ended");

    let s = env.session("TSK-1");
    assert!(!s.active);
    assert_eq!(s.current_phase, "close");
    let hist: Vec<(&str, Option<&str>, Option<&str>)> = s
        .phase_history
        .iter()
        .map(|h| (h.phase.as_str(), h.to.as_deref(), h.transition.as_deref()))
        .collect();
    assert_eq!(
        hist,
        [
            ("intake", Some("research"), Some("complete")),
            ("research", Some("plan"), Some("complete")),
            ("plan", Some("execute"), Some("complete")),
            ("execute", Some("review"), Some("complete")),
            ("review", Some("close"), Some("complete")),
            ("close", None, Some("end")),
        ]
    );
    // Each phase starts when the one before it was completed.
    for w in s.phase_history.windows(2) {
        assert_eq!(w[1].started_at, w[0].completed_at);
        assert!(w[0].override_.is_none());
    }
    assert_eq!(s.phase_history[0].started_at, s.started_at);
    assert_eq!(
        s.ended_at.as_deref(),
        Some(s.phase_history[5].completed_at.as_str())
    );
    assert_eq!(
        s.end.as_ref().map(|e| (e.forced, e.author.as_str())),
        Some((false, AUTHOR))
    );

    let mut want = vec![
        "orchestration.session.start".to_string(),
        "orchestration.phase.intake.start".into(),
    ];
    for w in PHASES.windows(2) {
        want.push(format!("orchestration.phase.{}.end", w[0]));
        want.push(format!("orchestration.phase.{}.start", w[1]));
    }
    want.push("orchestration.phase.close.end".into());
    want.push("orchestration.session.end".into());
    assert_eq!(env.event_types("TSK-1"), want);
    for e in env.event_lines("TSK-1") {
        assert_eq!(e.entity_id, "TSK-1");
        assert_eq!(e.entity_type, "task");
        assert_eq!(e.actor, AUTHOR);
        assert_eq!(e.session_key.as_deref(), Some("sess_TSK-1_20250113_143222"));
    }

    // Ended: the task is done; only --reopen starts a new session, over from intake.
    env.orch(&["phase", "complete", "TSK-1"])
        .fails(4)
        .stderr_contains("TSK-1 has no active session");
    env.orch(&["session", "end", "TSK-1"])
        .fails(4)
        .stderr_contains("no active session");
    env.unchanged(|env| {
        env.orch(&["session", "start", "TSK-1"])
            .fails(4)
            .stderr_contains("TSK-1 is done")
            .stderr_contains("orch session start TSK-1 --reopen");
    });
    env.orch(&["session", "start", "TSK-1", "--reopen"])
        .succeeds()
        .stdout_contains("started in intake");
    let s = env.session("TSK-1");
    assert_eq!(s.previous_sessions.len(), 1);
    assert_eq!(s.previous_sessions[0].last_phase, "close");
    assert_eq!(s.previous_sessions[0].phase_history.len(), 6);
}

#[test]
fn status_box_for_the_current_phase() {
    let env = Env::started("TSK-1");
    env.orch(&["phase", "complete"]).succeeds();
    let out = env.orch(&["status", "TSK-1"]).succeeds();
    snap!("status_research", out.transcript(&env));
    env.artifact("TSK-1", "CONTEXT.md");
    let out = env.orch(&["status"]).succeeds();
    assert!(
        out.stdout
            .contains("✓ .orchestration/tasks/TSK-1/CONTEXT.md  (required, present)"),
        "{}",
        out.stdout
    );
}

#[test]
fn status_without_a_session_says_how_to_start() {
    let env = Env::with_task("TSK-1");
    env.orch(&["status", "TSK-1"])
        .succeeds()
        .stdout_contains("PHASE: Intake")
        .stdout_contains("no active session: orch session start TSK-1");
}

#[test]
fn task_list_table_and_filters() {
    let env = Env::started("TSK-1");
    env.orch(&[
        "task",
        "new",
        "TSK-2",
        "--title",
        "Second",
        "--description",
        "d",
        "--sprint",
        "s7",
        "--tag",
        "ui",
    ])
    .succeeds();
    env.orch(&["task", "new", "TSK-3", "--title", "Third"])
        .succeeds();
    let out = env.orch(&["task", "list"]).succeeds();
    snap!("task_list", out.transcript(&env));
    let out = env.orch(&["status"]).succeeds();
    assert!(
        out.stdout.contains("PHASE: Intake"),
        "status with a current task shows its box"
    );
    let out = env.orch(&["status", "--all"]).succeeds();
    assert!(out.stdout.contains("TSK-3"), "{}", out.stdout);

    let codes = |args: &[&str]| -> Vec<String> {
        let mut a = vec!["task", "list", "--json"];
        a.extend_from_slice(args);
        env.orch(&a)
            .succeeds()
            .json::<TaskListDoc>()
            .tasks
            .into_iter()
            .map(|t| t.task)
            .collect()
    };
    assert_eq!(codes(&[]), ["TSK-1", "TSK-2", "TSK-3"]);
    assert_eq!(codes(&["--active"]), ["TSK-1"]);
    assert_eq!(codes(&["--phase", "intake"]), ["TSK-1"]);
    assert_eq!(codes(&["--sprint", "s7"]), ["TSK-2"]);
    assert!(codes(&["--phase", "plan"]).is_empty());
    env.orch(&["task", "list", "--phase", "nope"])
        .fails(2)
        .stderr_contains("unknown phase \"nope\"");
    // Filters that match nothing say so, rather than claiming there are no tasks at all.
    env.orch(&["task", "list", "--phase", "plan"])
        .succeeds()
        .stdout_contains("No tasks match these filters")
        .stdout_lacks("No tasks yet");
}

#[test]
fn task_show_in_full() {
    let env = Env::started("TSK-1");
    env.orch(&["phase", "complete"]).succeeds();
    let out = env.orch(&["task", "show", "TSK-1"]).succeeds();
    snap!("task_show", out.transcript(&env));
}

#[test]
fn events_timeline_and_type_filter() {
    let env = Env::started("TSK-1");
    env.orch(&[
        "event",
        "add",
        "intake.question",
        "--data",
        r#"{"question":"which browsers?"}"#,
    ])
    .succeeds()
    .stdout_contains(
        "orchestration.phase.intake.question added to TSK-1 (travels with the task's next commit)",
    );
    env.orch(&["event", "add", "TSK-1", "custom.note"])
        .succeeds();
    let out = env
        .orch(&["events", "TSK-1", "--type", "question"])
        .succeeds();
    assert_eq!(out.stdout.lines().count(), 1, "{}", out.stdout);
    assert!(out
        .stdout
        .contains(r#"orchestration.phase.intake.question  {"question":"which browsers?"}"#));
    let doc: EventsDoc = env.orch(&["events", "--json"]).succeeds().json();
    let types: Vec<&str> = doc.events.iter().map(|e| e.type_.as_str()).collect();
    assert_eq!(
        types,
        [
            "orchestration.session.start",
            "orchestration.phase.intake.start",
            "orchestration.phase.intake.question",
            "custom.note"
        ]
    );
    env.orch(&["events", "TSK-1", "--type", "nothing.like.this"])
        .succeeds()
        .stdout_contains("TSK-1 has no events of type nothing.like.this")
        .stdout_lacks("no events yet");
    // A type the phase does not declare is refused, naming the ones it does.
    env.unchanged(|env| {
        env.orch(&["event", "add", "plan.decision"])
            .fails(2)
            .stderr_contains("not declared by phase intake")
            .stderr_contains("intake.question");
    });
}

#[test]
fn a_new_task_without_a_code_gets_one() {
    let env = Env::new();
    let doc: TaskCreatedDoc = env
        .orch(&["task", "new", "--title", "Anything", "--json"])
        .succeeds()
        .json();
    assert!(
        doc.task.starts_with("TSK-") && doc.task.len() == 10,
        "{}",
        doc.task
    );
    assert!(doc.task[4..]
        .chars()
        .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase()));
    assert!(env.task_file(&doc.task, "TASK.md").is_file());
    env.orch(&["task", "new", "TSK-9", "--title", "x"])
        .succeeds();
    env.unchanged(|env| {
        env.orch(&["task", "new", "TSK-9", "--title", "again"])
            .fails(4)
            .stderr_contains("task TSK-9 already exists");
    });
}

#[test]
fn code_may_be_left_out_with_a_current_task_or_orch_task() {
    let env = Env::with_task("TSK-1");
    env.new_task("TSK-2");
    env.orch(&["phase", "complete"])
        .fails(2)
        .stderr_contains("no task given and no current task is set");
    env.orch(&["session", "start"])
        .fails(2)
        .stderr_contains("ORCH_TASK");
    // ORCH_TASK names it.
    env.orch(&["session", "start"])
        .env("ORCH_TASK", "TSK-2")
        .succeeds()
        .stdout_contains("TSK-2");
    // `session start` remembers it for the commands after.
    env.orch(&["status"])
        .succeeds()
        .stdout_contains("(TSK-2 · Fix login timeout)");
    env.orch(&["session", "start", "TSK-1"]).succeeds();
    env.orch(&["phase", "complete"]).succeeds();
    assert_eq!(env.session("TSK-1").current_phase, "research");
    assert_eq!(env.session("TSK-2").current_phase, "intake");
    // ORCH_TASK wins over the remembered task.
    env.orch(&["phase", "complete"])
        .env("ORCH_TASK", "TSK-2")
        .succeeds();
    assert_eq!(env.session("TSK-2").current_phase, "research");
    env.orch(&["status"])
        .env("ORCH_TASK", "../x")
        .fails(2)
        .stderr_contains("ORCH_TASK");
}

#[test]
fn works_from_a_subfolder_like_git() {
    let env = Env::started("TSK-1");
    env.write("src/deep/er/file.txt", "x\n");
    let sub = env.path("src/deep/er");
    env.orch(&["status", "TSK-1"])
        .current_dir(&sub)
        .succeeds()
        .stdout_contains("PHASE: Intake");
    env.orch(&["phase", "complete"])
        .current_dir(&sub)
        .succeeds();
    assert_eq!(env.session("TSK-1").current_phase, "research");
    assert!(!sub.join(".orchestration").exists());
    env.orch(&["task", "new", "TSK-2", "--title", "from below"])
        .current_dir(&sub)
        .succeeds();
    assert!(env.task_file("TSK-2", "TASK.md").is_file());
}

#[test]
fn dash_c_runs_as_if_started_there() {
    let env = Env::started("TSK-1");
    let root = env.root.display().to_string();
    env.orch(&["-C", &root, "status", "TSK-1"])
        .current_dir(&env.home)
        .succeeds()
        .stdout_contains("PHASE: Intake");
    env.orch(&["-C", "../repo", "phase", "complete", "TSK-1"])
        .current_dir(&env.home)
        .succeeds();
    assert_eq!(env.session("TSK-1").current_phase, "research");
    env.orch(&["status", "-C", "src"])
        .fails(2)
        .stderr_contains("-C")
        .stderr_contains("no such directory");
    env.write("src/a.txt", "a");
    env.orch(&["-C", "src", "status", "TSK-1"]).succeeds();
}

#[test]
fn aliases_phase_complete_and_session_end() {
    let env = Env::started("TSK-1");
    env.orch(&["phase-complete"])
        .succeeds()
        .stdout_contains("intake → research");
    env.orch(&["session-end", "--force", "--reason", "abandoned"])
        .succeeds();
    let s = env.session("TSK-1");
    assert!(!s.active);
    let end = s.end.unwrap();
    assert!(end.forced);
    assert_eq!(end.reason.as_deref(), Some("abandoned"));
    let ov = s.phase_history.last().unwrap().override_.clone().unwrap();
    assert_eq!(ov.reason, "abandoned");
    assert!(
        ov.checks.iter().any(|c| c == "early_end: in research"),
        "{:?}",
        ov.checks
    );
}

#[test]
fn no_color_and_no_escape_codes() {
    let env = Env::started("TSK-1");
    for extra in [&[][..], &["--no-color"][..]] {
        for args in [
            &["status", "TSK-1"][..],
            &["task", "list"][..],
            &["phase", "complete", "--from", "plan"][..],
        ] {
            let mut a = args.to_vec();
            a.extend_from_slice(extra);
            let out = env.orch(&a).env("NO_COLOR", "1").run().no_panic();
            assert!(
                !out.stdout.contains('\x1b') && !out.stderr.contains('\x1b'),
                "{a:?}: {out:?}"
            );
        }
    }
}

#[test]
fn demo_walks_a_throwaway_repository() {
    let env = Env::git_only();
    let dir = env.home.join("demo");
    let out = env.orch(&["demo", dir.to_str().unwrap()]).succeeds();
    assert!(
        out.stdout.contains("DEMO-1 went through every phase"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("refused:"),
        "the demo shows a refusal: {}",
        out.stdout
    );
    assert!(dir.join(".orchestration/tasks/DEMO-1/SUMMARY.md").is_file());
    let s: Session = serde_json::from_str(
        &std::fs::read_to_string(dir.join(".orchestration/tasks/DEMO-1/session.json")).unwrap(),
    )
    .unwrap();
    assert!(!s.active);
    assert_eq!(s.phase_history.len(), 6);
    // Not into a folder that has something in it.
    env.orch(&["demo", dir.to_str().unwrap()])
        .fails(2)
        .stderr_contains("is not empty");
    let dir2 = env.home.join("demo2");
    let doc: DemoDoc = env
        .orch(&["demo", dir2.to_str().unwrap(), "--json"])
        .succeeds()
        .json();
    assert!(doc.ok && doc.task == "DEMO-1" && doc.events > 10, "{doc:?}");
}

/// Splits one README shell line into words: '…' and "…" quoting, `#` comments.
fn shell_words(line: &str) -> Vec<String> {
    let (mut words, mut cur, mut quote, mut any) = (vec![], String::new(), None, false);
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => (quote, any) = (Some(c), true),
            (None, '#') if !any && cur.is_empty() => break,
            (None, c) if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            (None, c) => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        words.push(cur);
    }
    words
}

#[test]
fn readme_walkthrough_runs_as_written() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = readme.split("## Walkthrough").nth(1).unwrap();
    let block = section
        .split("```sh")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    let env = Env::git_only();
    let mut ran = 0;
    for line in block.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let words = shell_words(line);
        match words[0].as_str() {
            "orch" => {
                let args: Vec<&str> = words[1..].iter().map(String::as_str).collect();
                env.orch(&args).succeeds();
                ran += 1;
            }
            "$EDITOR" if words[1].ends_with("/TASK.md") => env.fill_task("TSK-1"),
            "$EDITOR" if words[1].starts_with(".orchestration/") => {
                let name = words[1].rsplit('/').next().unwrap();
                env.write(&words[1], filled_artifact("TSK-1", name));
            }
            "$EDITOR" => {
                env.write(&words[1], "pub const TIMEOUT_MINUTES: u32 = 30;\n");
            }
            "git" => {
                let args: Vec<&str> = words[1..].iter().map(String::as_str).collect();
                env.git(&args);
            }
            other => panic!("unexpected walkthrough line starting with {other}: {line}"),
        }
    }
    assert!(ran >= 10, "only {ran} orch commands in the walkthrough");
    assert!(!env.session("TSK-1").active);
}

/// `task list` serves unchanged tasks from a cache in the git dir; an edit made in place
/// (same inode, as many editors save) must still be seen, and so must a phase change.
#[test]
fn task_list_cache_sees_in_place_edits() {
    let env = Env::started("TSK-1");
    let old = "2020-01-01 00:00:00";
    let age = |env: &Env| {
        for f in ["TASK.md", "session.json"] {
            let p = env.task_file("TSK-1", f);
            let st = std::process::Command::new("touch")
                .args(["-d", old])
                .arg(&p)
                .status()
                .unwrap();
            assert!(st.success());
        }
    };
    age(&env);
    let out = env.orch(&["task", "list"]).succeeds();
    assert!(out.stdout.contains("Fix login"), "{}", out.stdout);
    assert!(
        env.path(".git/orchestration/cache").is_dir(),
        "the first listing fills the cache"
    );
    // Rewrite TASK.md in place: same file, new title.
    let path = env.task_file("TSK-1", "TASK.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let edited = text.replacen("Fix login", "Mend login", 1);
    assert_ne!(text, edited, "the fixture's title changed");
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        f.write_all(edited.as_bytes()).unwrap();
    }
    let out = env.orch(&["task", "list"]).succeeds();
    assert!(out.stdout.contains("Mend login"), "{}", out.stdout);
    assert!(!out.stdout.contains("Fix login"), "{}", out.stdout);
    // A transition moves the phase shown.
    age(&env);
    env.orch(&["task", "list"]).succeeds();
    env.orch(&["phase", "complete", "TSK-1"]).succeeds();
    let out = env.orch(&["task", "list"]).succeeds();
    assert!(out.stdout.contains("research"), "{}", out.stdout);
}
