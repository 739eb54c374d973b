//! Bad input of every kind: a one-sentence error naming the thing, the documented exit code,
//! no panic, nothing changed.

use crate::support::json::*;
use crate::support::*;

fn one_sentence(out: &Done) {
    let first = out.error_line();
    assert!(
        first.starts_with("error: ") && first.len() > 12,
        "{}: {:?}",
        out.label,
        out.stderr
    );
    // One error: the rest of stderr is diagnostics and the hint.
    assert_eq!(
        out.stderr.matches("error: ").count(),
        1,
        "{}: {}",
        out.label,
        out.stderr
    );
    assert!(
        out.stderr
            .lines()
            .filter(|l| l.starts_with("hint: "))
            .count()
            <= 1,
        "{}",
        out.stderr
    );
}

#[test]
fn bad_task_codes_are_refused_before_any_path_is_built() {
    let env = Env::started("TSK-1");
    let long = "A".repeat(65);
    let codes = [
        "../x", "a/b", ".", "..", "", &long, "tâche", "a\\b", ".hidden", "a b",
    ];
    let mut table = String::new();
    env.unchanged(|env| {
        for code in codes {
            for args in [
                vec!["status", code],
                vec!["task", "new", code, "--title", "t"],
                vec!["task", "show", code],
                vec!["session", "start", code],
                vec!["phase", "complete", code],
                vec!["phase", "set", code, "plan"],
                vec!["session", "end", code],
                vec!["events", code],
                vec!["event", "add", code, "custom.x"],
            ] {
                let out = env.orch(&args).fails(2);
                one_sentence(&out);
                assert!(
                    out.stderr.contains("invalid task code"),
                    "{args:?}: {}",
                    out.stderr
                );
                if args[0] == "status" {
                    table.push_str(&format!("{code:?} -> {}\n", out.error_line()));
                }
                let doc: ErrorDoc = env.orch(&[&args[..], &["--json"]].concat()).fails(2).json();
                assert_eq!((doc.error.kind.as_str(), doc.error.exit_code), ("usage", 2));
            }
        }
    });
    // No folder was made for any of them, anywhere.
    assert!(!env.root.join("x").exists() && !env.root.join(".orchestration/x").exists());
    snap!("bad_task_codes", table);
}

#[test]
fn a_code_that_looks_like_a_flag() {
    let env = Env::started("TSK-1");
    env.unchanged(|env| {
        env.orch(&["status", "--", "-x"])
            .fails(2)
            .stderr_contains("invalid task code \"-x\": it must start with a letter or digit");
        env.orch(&["status", "-x"]).status(2).no_panic();
    });
}

#[test]
fn a_64_character_code_is_fine() {
    let env = Env::new();
    let code = format!("T{}", "a".repeat(63));
    env.orch(&["task", "new", &code, "--title", "long"])
        .succeeds();
    env.orch(&["status", &code]).succeeds();
}

#[test]
fn unknown_task() {
    let env = Env::started("TSK-1");
    env.unchanged(|env| {
        for args in [
            vec!["status", "NOPE"],
            vec!["task", "show", "NOPE"],
            vec!["session", "start", "NOPE"],
            vec!["phase", "complete", "NOPE"],
            vec!["phase", "set", "NOPE", "plan"],
            vec!["session", "end", "NOPE"],
            vec!["events", "NOPE"],
            vec!["event", "add", "NOPE", "custom.x"],
        ] {
            let out = env.orch(&args).fails(2);
            one_sentence(&out);
            assert_eq!(
                out.error_line(),
                "error: unknown task NOPE: .orchestration/tasks/NOPE/TASK.md does not exist",
                "{args:?}"
            );
        }
    });
    assert!(!env.task_file("NOPE", "").exists());
}

#[test]
fn task_md_without_front_matter_broken_yaml_or_a_wrong_type() {
    let env = Env::started("TSK-1");
    let cases = [
        (
            "# Just a heading\n\nno front matter\n",
            "has no YAML front matter",
        ),
        (
            "---\ntitle: [unclosed\nstatus: open\n---\n",
            "broken YAML front matter",
        ),
        (
            "---\ntitle: ok\nstatus: open\ndescription: [a, b]\n---\n",
            "field `description` must be text, found a list",
        ),
        (
            "---\ntitle: ok\ntags: nope\n---\n",
            "field `tags` must be a list of text",
        ),
        ("---\n- a list\n---\n", "must be a mapping of fields"),
    ];
    let mut table = String::new();
    for (text, want) in cases {
        env.write(".orchestration/tasks/TSK-1/TASK.md", text);
        env.unchanged(|env| {
            for args in [
                vec!["status", "TSK-1"],
                vec!["task", "show", "TSK-1"],
                vec!["phase", "complete"],
                vec!["session", "start", "TSK-1", "--continue"],
            ] {
                let out = env.orch(&args).run().no_panic();
                assert!(matches!(out.code, Some(3)), "{args:?} on {text:?}: {out:?}");
                one_sentence(&out);
                assert!(
                    out.stderr.contains(".orchestration/tasks/TSK-1/TASK.md"),
                    "{args:?}: {}",
                    out.stderr
                );
                assert!(out.stderr.contains(want), "{args:?}: {}", out.stderr);
            }
            // The overview still lists the task, marked unreadable.
            let list: TaskListDoc = env.orch(&["task", "list", "--json"]).succeeds().json();
            assert!(
                list.tasks[0]
                    .error
                    .as_deref()
                    .is_some_and(|e| e.contains(want)),
                "{:?}",
                list.tasks
            );
            let out = env.orch(&["status", "TSK-1"]).fails(3);
            table.push_str(&format!("{}\n", out.error_line()));
        });
    }
    snap!("broken_task_md", table);
}

#[test]
fn session_json_truncated_or_hand_broken() {
    let env = Env::started("TSK-1");
    let path = ".orchestration/tasks/TSK-1/session.json";
    let good = env.read(path);
    let cases = [
        (good[..good.len() / 2].to_string(), "is truncated"),
        (
            good.replacen("\"active\": true", "\"active\": yes", 1),
            "is not valid",
        ),
        (
            good.replacen("\"active\": true", "\"active\": \"true\"", 1),
            "is not valid",
        ),
        (good.replacen("\"task\"", "\"tusk\"", 1), "is not valid"),
        (String::new(), "is truncated"),
    ];
    let mut table = String::new();
    for (text, want) in cases {
        env.write(path, &text);
        env.unchanged(|env| {
            for args in [
                vec!["status", "TSK-1"],
                vec!["phase", "complete"],
                vec!["phase", "set", "intake"],
                vec!["session", "start", "TSK-1", "--continue"],
                vec!["session", "end", "--force"],
                vec!["event", "add", "custom.x"],
                vec!["task", "show", "TSK-1"],
            ] {
                let out = env.orch(&args).fails(4);
                one_sentence(&out);
                assert!(out.error_line().contains(".orchestration/tasks/TSK-1/session.json"), "{args:?}: {}", out.stderr);
                assert!(out.error_line().contains(want), "{args:?}: {}", out.stderr);
                assert!(out.error_line().contains("(line "), "names the line: {}", out.stderr);
                assert!(out.stderr.contains("hint: repair it by hand, or restore the committed version with `git checkout HEAD --"), "{}", out.stderr);
            }
        });
        table.push_str(&format!(
            "{}\n",
            env.orch(&["status", "TSK-1"]).fails(4).error_line()
        ));
    }
    snap!("broken_session_json", table);
}

#[test]
fn session_json_naming_a_phase_the_workflow_lacks() {
    let env = Env::started("TSK-1");
    let path = ".orchestration/tasks/TSK-1/session.json";
    env.write(
        path,
        env.read(path)
            .replace("\"current_phase\": \"intake\"", "\"current_phase\": \"qa\""),
    );
    env.unchanged(|env| {
        env.orch(&["status", "TSK-1"])
            .fails(4)
            .stderr_contains("session.json says phase \"qa\", which the workflow does not define");
        env.orch(&["phase", "complete"])
            .fails(4)
            .stderr_contains("\"qa\"");
        env.orch(&["phase", "set", "TSK-1", "intake"])
            .fails(4)
            .stderr_contains("\"qa\"");
    });
    // The printed fix, followed literally, works.
    let out = env.orch(&["status", "TSK-1"]).fails(4);
    let fix = out
        .stderr
        .split('`')
        .nth(1)
        .expect("a quoted command")
        .to_string();
    assert_eq!(fix, format!("git restore --source=HEAD -- {path}"));
    let args: Vec<&str> = fix.split(' ').skip(1).collect();
    env.git(&args);
    env.orch(&["status", "TSK-1"]).succeeds();
    env.orch(&["phase", "complete"]).succeeds();
    env.orch(&["verify"]).succeeds();
}

#[test]
fn a_task_folder_without_task_md_gets_one_answer() {
    let env = Env::with_task("TSK-1");
    env.write(".orchestration/tasks/LOST/notes.md", "kept\n");
    let says = "LOST has no TASK.md, so it is not a readable task";
    env.unchanged(|env| {
        env.orch(&["task", "show", "LOST"])
            .fails(4)
            .stderr_contains(says)
            .stderr_contains("rm -r .orchestration/tasks/LOST");
        env.orch(&["task", "new", "LOST", "--title", "t"])
            .fails(4)
            .stderr_contains(says);
        env.orch(&["task", "list"]).succeeds().stdout_contains(says);
    });
}

#[test]
fn events_jsonl_with_a_broken_line() {
    let env = Env::started("TSK-1");
    let path = ".orchestration/tasks/TSK-1/events.jsonl";
    env.write(path, format!("{}{{not json\n", env.read(path)));
    env.unchanged(|env| {
        env.orch(&["events", "TSK-1"])
            .fails(4)
            .stderr_contains(".orchestration/tasks/TSK-1/events.jsonl:3: not a valid event");
    });
}

#[test]
fn an_unknown_phase_name() {
    let env = Env::started("TSK-1");
    env.unchanged(|env| {
        let out = env.orch(&["phase", "set", "TSK-1", "qa"]).fails(2);
        one_sentence(&out);
        assert_eq!(out.error_line(), "error: unknown phase \"qa\"");
        assert!(out
            .stderr
            .contains("hint: phases are: intake, research, plan, execute, review, close"));
        env.orch(&["phase", "set", "Plan"])
            .fails(2)
            .stderr_contains("unknown phase \"Plan\"");
        // Not a phase at all: a mistake to correct, not a race to retry.
        env.orch(&["phase", "complete", "--from", "qa"])
            .fails(2)
            .stderr_contains("unknown phase \"qa\"");
    });
}

#[test]
fn unknown_keys_in_config_toml() {
    let env = Env::started("TSK-1");
    for (text, key, line) in [
        ("[workflow]\nallow_skip = true\n", "allow_skip", ":2"),
        (
            "[workflow]\nallow_phase_skip = true\n[gti]\ncommit = false\n",
            "gti",
            ":3",
        ),
        ("color = true\n", "color", ":1"),
    ] {
        env.config(text);
        env.unchanged(|env| {
            for args in [
                vec!["status"],
                vec!["phase", "complete"],
                vec!["task", "list"],
            ] {
                let out = env.orch(&args).fails(2);
                one_sentence(&out);
                assert!(
                    out.error_line()
                        .contains(&format!(".orchestration/config.toml{line}")),
                    "{}",
                    out.stderr
                );
                assert!(out.error_line().contains(key), "{}", out.stderr);
            }
        });
    }
    env.config("[workflow]\nallow_phase_skip = \"yes\"\n");
    env.orch(&["status"])
        .fails(2)
        .stderr_contains("config.toml:2");
}

#[test]
fn bad_workflow_yaml() {
    let env = Env::started("TSK-1");
    let base = "intake:\n  order: 1\n  goal: \"g\"\n";
    for (text, wants) in [
        (
            format!("{base}  colour: red\n"),
            vec![".orchestration/workflow.yaml", "intake", "colour"],
        ),
        (
            format!("{base}  artifacts:\n    required: [{{ name: X.md, tmpl: t }}]\n"),
            vec!["workflow.yaml", "tmpl"],
        ),
        (
            format!("{base}plan:\n  order: 1\n  goal: g\n"),
            vec!["workflow.yaml", "both have order 1"],
        ),
        (
            format!("{base}plan:\n  goal: g\n"),
            vec!["workflow.yaml", "order"],
        ),
        (
            format!("{base}  artifacts:\n    required: [{{ name: ../../x.md }}]\n"),
            vec![
                "phase intake",
                "artifacts.required",
                "escapes the task folder",
            ],
        ),
        (
            format!("{base}  artifacts:\n    required: [{{ name: X.md, template: nope }}]\n"),
            vec!["phase intake", "unknown template \"nope\""],
        ),
        ("".to_string(), vec!["workflow.yaml", "defines no phases"]),
    ] {
        env.write(".orchestration/workflow.yaml", &text);
        env.unchanged(|env| {
            let out = env.orch(&["status", "TSK-1"]).fails(2);
            one_sentence(&out);
            for w in &wants {
                assert!(
                    out.error_line().contains(w),
                    "{text:?}: want {w:?} in {}",
                    out.stderr
                );
            }
        });
    }
}

#[test]
fn event_add_with_invalid_json() {
    let env = Env::started("TSK-1");
    env.unchanged(|env| {
        for data in ["{bad", "", "{\"a\":1", "'single'"] {
            let out = env
                .orch(&["event", "add", "custom.note", "--data", data])
                .fails(2);
            one_sentence(&out);
            assert!(
                out.error_line()
                    .starts_with("error: --data is not valid JSON"),
                "{}",
                out.stderr
            );
        }
        env.orch(&["event", "add", "custom.", "--data", "{}"])
            .fails(2);
        env.orch(&["event", "add", "nonsense"])
            .fails(2)
            .stderr_contains("not declared by phase intake");
    });
    // Any JSON value is a payload.
    env.orch(&["event", "add", "custom.note", "--data", "[1,2]"])
        .succeeds();
    assert_eq!(
        env.event_lines("TSK-1").last().unwrap().payload,
        serde_json::json!([1, 2])
    );
}

#[test]
fn outside_a_git_repository() {
    let env = Env::no_repo();
    env.unchanged(|env| {
        for args in [
            vec!["init"],
            vec!["status"],
            vec!["task", "list"],
            vec!["task", "new", "T", "--title", "t"],
            vec!["session", "start", "T"],
        ] {
            let out = env.orch(&args).fails(4);
            one_sentence(&out);
            assert!(
                out.error_line().starts_with("error: not a git repository"),
                "{}",
                out.stderr
            );
            assert!(out.error_line().contains(&env.root.display().to_string()));
        }
        let doc: ErrorDoc = env.orch(&["status", "--json"]).fails(4).json();
        assert_eq!(doc.error.kind, "state");
    });
    assert!(!env.root.join(".orchestration").exists());
}

#[test]
fn a_repository_without_orch_init() {
    let env = Env::git_only();
    env.unchanged(|env| {
        env.orch(&["status"])
            .fails(4)
            .stderr_contains("has no .orchestration/ folder")
            .stderr_contains("orch init");
        env.orch(&["task", "new", "T", "--title", "t"]).fails(4);
    });
}

#[test]
fn usage_errors_exit_2_without_a_panic() {
    let env = Env::started("TSK-1");
    env.unchanged(|env| {
        for args in [
            vec!["frobnicate"],
            vec!["phase"],
            vec!["phase", "set"],
            vec!["task", "new"],
            vec!["status", "--bogus"],
            vec![],
        ] {
            env.orch(&args).status(2).no_panic();
        }
        env.orch(&["status"])
            .env("ORCH_NOW", "yesterday")
            .fails(2)
            .stderr_contains("ORCH_NOW");
        env.orch(&["task", "new", "T2", "--title", "  "])
            .fails(2)
            .stderr_contains("title");
        let out = env
            .orch(&[
                "task", "new", "T2", "--title", "t", "--tag", "ui", "--tag", "",
            ])
            .fails(2)
            .stderr_contains("--tag needs a non-empty value");
        one_sentence(&out);
    });
    env.orch(&["--help"])
        .succeeds()
        .stdout_contains("Usage: orch");
    env.orch(&["--version"]).succeeds().stdout_contains("orch ");
}

#[test]
fn event_add_with_only_a_task_code_names_the_missing_type() {
    let env = Env::started("TSK-1");
    env.unchanged(|env| {
        env.orch(&["event", "add", "TSK-1"])
            .fails(2)
            .stderr_contains("the event TYPE is missing")
            .stderr_contains("orch event add TSK-1 <type>");
    });
}

#[test]
fn codes_no_clone_could_hold_and_titles_over_two_lines_are_refused() {
    let env = Env::with_task("TSK-1");
    env.unchanged(|env| {
        env.orch(&["task", "new", "tsk-1", "--title", "t"])
            .fails(4)
            .stderr_contains("task TSK-1 already exists")
            .stderr_contains("only in letter case");
        for code in ["CON", "nul", "Aux.txt", "COM1", "lpt9", "T."] {
            env.orch(&["task", "new", code, "--title", "t"])
                .fails(2)
                .stderr_contains(&format!("invalid task code \"{code}\""));
        }
        env.orch(&["task", "new", "T2", "--title", "first\nsecond"])
            .fails(2)
            .stderr_contains("--title must be one line");
        // A sprint or tag over two lines would split `sprint list` and TASK.md's front matter.
        env.orch(&["task", "new", "T2", "--title", "t", "--sprint", "a\nb"])
            .fails(2)
            .stderr_contains("--sprint \"a\\nb\" holds a newline");
        env.orch(&["task", "new", "T2", "--title", "t", "--sprint", " "])
            .fails(2)
            .stderr_contains("--sprint needs a non-empty value");
        env.orch(&["task", "new", "T2", "--title", "t", "--tag", "x\ty"])
            .fails(2)
            .stderr_contains("--tag \"x\\ty\" holds");
    });
}

#[test]
fn environment_variables_with_bad_values_are_named() {
    let env = Env::started("TSK-1");
    env.unchanged(|env| {
        env.orch(&["phase", "complete"])
            .env("ORCH_LOCK_TIMEOUT_MS", "abc")
            .fails(2)
            .stderr_contains("ORCH_LOCK_TIMEOUT_MS=\"abc\" is not a number");
        for args in [&["status"][..], &["phase", "complete"], &["next"]] {
            env.orch(args)
                .env("ORCH_TASK", "NO-SUCH")
                .fails(2)
                .stderr_contains("ORCH_TASK=NO-SUCH names no task");
        }
    });
}

#[test]
fn json_usage_errors_keep_clap_s_whole_text() {
    let env = Env::started("TSK-1");
    let out = env
        .orch(&["--json", "phase", "complete", "--bogus"])
        .fails(2);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["error"]["message"], "unexpected argument '--bogus' found");
    let hint = v["error"]["hint"].as_str().unwrap();
    assert!(hint.contains("Usage: orch phase complete"), "{hint}");
    assert!(hint.contains("-- --bogus"), "{hint}");
}

#[test]
fn an_override_when_nothing_fails_is_not_recorded() {
    let env = Env::started("TSK-1");
    env.orch(&[
        "phase",
        "complete",
        "--override",
        "--reason",
        "just in case",
    ])
    .succeeds()
    .stderr_contains("no override was recorded");
    assert!(env.session("TSK-1").phase_history[0].override_.is_none());
    env.artifact("TSK-1", "CONTEXT.md");
    let out = env
        .orch(&[
            "--json",
            "phase",
            "complete",
            "--override",
            "--reason",
            "again",
        ])
        .succeeds();
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let codes: Vec<&str> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"override_not_needed"), "{codes:?}");
    assert!(env.session("TSK-1").phase_history[1].override_.is_none());
    env.orch(&["verify"]).succeeds();
}

/// `orch report X | head`: a reader that stops reading is no crash. The pipe's reading end is
/// closed before orch starts, so every write to stdout fails.
#[test]
fn a_closed_stdout_is_no_panic() {
    let env = Env::started("TSK-1");
    for args in [
        &["report", "TSK-1"][..],
        &["report", "TSK-1", "--json"],
        &["doctor"],
        &["doctor", "--json"],
        &["status"],
        &["task", "list", "--json"],
        &["task", "show", "NOPE", "--json"],
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = env
            .orch(args)
            .command()
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_ne!(out.status.code(), Some(101), "{args:?}: {stderr}");
    }
}

/// A TASK.md whose front matter is broken cannot show the next step: the transition is
/// refused before anything is written (it used to commit, then exit 3 as if refused).
#[test]
fn a_broken_task_file_refuses_the_transition_before_its_commit() {
    let env = Env::started("TSK-1");
    env.write(
        ".orchestration/tasks/TSK-1/TASK.md",
        "---\ntitle: [unclosed\n---\nbody\n",
    );
    env.unchanged(|env| {
        for args in [
            &["phase", "complete", "--override", "--reason", "r"][..],
            &["phase", "set", "plan", "--override", "--reason", "r"],
        ] {
            let e: ErrorDoc = env.orch(&[args, &["--json"]].concat()).fails(3).json();
            assert!(
                e.error.message.contains("broken YAML"),
                "{}",
                e.error.message
            );
        }
    });
    env.fsck();
    env.orch(&["verify"]).succeeds();
}
