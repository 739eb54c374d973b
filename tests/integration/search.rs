//! `orch search` and `orch sprint`: ranking on hand-built corpora, recall against a
//! brute-force scan in every scope, scopes, an index kept true after a branch switch, a merge
//! and a hand edit, strict JSON, and bad queries.

use crate::support::*;
use proptest::prelude::*;
use serde::Deserialize;
use std::collections::BTreeSet;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchDoc {
    ok: bool,
    query: String,
    scope: ScopeDoc,
    total: usize,
    hits: Vec<HitDoc>,
    index: IndexDoc,
    diagnostics: Vec<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScopeDoc {
    kind: String,
    task: Option<String>,
    sprint: Option<String>,
    session: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HitDoc {
    task: Option<String>,
    tasks: Vec<String>,
    kind: String,
    path: String,
    section: Option<String>,
    line: u64,
    event_id: Option<String>,
    ts: Option<String>,
    #[serde(rename = "type")]
    type_: Option<String>,
    phase: Option<String>,
    bug: Option<String>,
    status: Option<String>,
    title: String,
    score: f32,
    snippet: SnippetDoc,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SnippetDoc {
    text: String,
    highlights: Vec<[usize; 2]>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IndexDoc {
    rebuilt: bool,
    files_checked: usize,
    files_read: usize,
    files_reindexed: usize,
    files_removed: usize,
    documents: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SprintListDoc {
    ok: bool,
    sprints: Vec<SprintDoc>,
    diagnostics: Vec<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SprintDoc {
    sprint: String,
    tasks: usize,
    done: usize,
    progress: u32,
    by_phase: std::collections::BTreeMap<String, usize>,
}

fn task_md(title: &str, description: &str, sprint: &str, body: &str) -> String {
    format!(
        "---\ntitle: {title:?}\nstatus: open\ndescription: {description:?}\ntags: []\nsprint: {sprint:?}\n---\n\n# {title}\n\n{body}\n"
    )
}

fn event_line(id: &str, type_: &str, text: &str, session: &str) -> String {
    serde_json::json!({
        "id": id, "ts": "2025-02-01T10:00:00Z", "type": type_, "session_key": session,
        "entity_type": "task", "entity_id": "x", "actor": "T <t@example.com>",
        "payload": {"text": text}
    })
    .to_string()
        + "\n"
}

fn search(env: &Env, args: &[&str]) -> SearchDoc {
    let mut a = vec!["search", "--json"];
    a.extend_from_slice(args);
    let d: SearchDoc = env.orch(&a).succeeds().json();
    assert!(d.ok && d.diagnostics.is_empty());
    let words: Vec<&str> = args
        .iter()
        .copied()
        .take_while(|a| !a.starts_with("--"))
        .collect();
    assert_eq!(d.query, words.join(" "));
    for h in &d.hits {
        assert_eq!(h.task.as_ref(), h.tasks.first(), "{h:?}");
        assert!(h.kind == "event" || h.kind == "bug" || !h.title.is_empty() || h.section.is_some());
        // Only a bug hit has a bug id and status, and then no event id.
        assert_eq!(h.kind == "bug", h.bug.is_some(), "{h:?}");
        assert!(h.status.is_none() || h.bug.is_some(), "{h:?}");
        assert!(h.kind != "bug" || h.event_id.is_none(), "{h:?}");
    }
    let i = &d.index;
    assert!(i.rebuilt || (i.files_read <= i.files_checked && i.files_removed <= i.files_checked));
    assert!(i.files_reindexed == 0 || i.documents > 0, "{i:?}");
    d
}

fn where_(h: &HitDoc) -> String {
    format!(
        "{}:{}",
        h.path.rsplit('/').next().unwrap_or(""),
        h.section
            .as_deref()
            .unwrap_or(h.event_id.as_deref().unwrap_or(""))
    )
}

/// A repository of hand-written task files, committed with git.
fn corpus(files: &[(&str, String)]) -> Env {
    let mut b = Env::builder().orch_init();
    for (rel, text) in files {
        b = b.file(&format!(".orchestration/tasks/{rel}"), text.as_bytes());
    }
    b.commit("corpus").build()
}

#[test]
fn a_decision_in_a_title_outranks_a_passing_mention() {
    let long = "We looked at many things in the code today. ".repeat(12);
    let env = corpus(&[
        (
            "A-1/TASK.md",
            task_md(
                "Mention",
                "Something else",
                "",
                &format!("{long} pool {long}"),
            ),
        ),
        (
            "B-2/PLAN.md",
            "# Plan\n\n## Connection pool\n\nReuse connections through a pool of ten.\n".into(),
        ),
        ("B-2/TASK.md", task_md("Other", "Other", "", "Text.")),
        ("C-3/TASK.md", task_md("Unrelated", "Nothing", "", "Text.")),
    ]);
    let d = search(&env, &["pool", "--scope", "project"]);
    assert_eq!(d.total, 2, "{d:#?}");
    assert_eq!(where_(&d.hits[0]), "PLAN.md:Connection pool");
    assert_eq!(d.hits[0].task.as_deref(), Some("B-2"));
    assert_eq!(d.hits[0].phase.as_deref(), Some("plan"));
    assert!(d.hits[0].score > d.hits[1].score);
    let s = &d.hits[0].snippet;
    let marked: Vec<&str> = s.highlights.iter().map(|[a, b]| &s.text[*a..*b]).collect();
    assert_eq!(marked, vec!["pool"]);
    // The human form names task, kind and place; markdown marks the words in bold.
    env.orch(&["search", "pool", "--scope", "project"])
        .succeeds()
        .stdout_contains(
            "B-2 · artifact · .orchestration/tasks/B-2/PLAN.md § Connection pool (line 3)",
        );
    env.orch(&["search", "pool", "--scope", "project", "--markdown"])
        .succeeds()
        .stdout_contains("through a **pool** of ten");
}

#[test]
fn phrases_prefixes_filters_and_exclusions() {
    let events = event_line(
        "e1",
        "orchestration.phase.plan.decision",
        "Use retries after connection reset",
        "s1",
    ) + &event_line("e2", "custom.note", "reset the connection by hand", "s1")
        + &event_line(
            "e3",
            "orchestration.phase.research.start",
            "timestamps everywhere",
            "s1",
        );
    let env = corpus(&[
        (
            "T-1/TASK.md",
            task_md("Timeouts", "Slow fetches", "", "Text."),
        ),
        ("T-1/events.jsonl", events),
    ]);
    let ids = |d: SearchDoc| -> Vec<String> {
        d.hits
            .iter()
            .map(|h| h.event_id.clone().unwrap_or_else(|| h.kind.clone()))
            .collect()
    };
    assert_eq!(ids(search(&env, &["\"connection reset\""])), vec!["e1"]);
    let mut got = ids(search(&env, &["time*"]));
    got.sort();
    assert_eq!(got, vec!["e3", "task"]);
    assert_eq!(
        ids(search(&env, &["connection", "type:plan.decision"])),
        vec!["e1"]
    );
    assert_eq!(
        ids(search(&env, &["connection", "--type", "note"])),
        vec!["e2"]
    );
    assert_eq!(ids(search(&env, &["connection -retries"])), vec!["e2"]);
    assert_eq!(
        ids(search(&env, &["type:decision", "OR", "type:note"])).len(),
        2
    );
    // A filter alone lists what it selects, newest first.
    assert_eq!(ids(search(&env, &["phase:research"])), vec!["e3"]);
    assert_eq!(
        search(&env, &["phase:plan"]).hits[0].event_id.as_deref(),
        Some("e1")
    );
    assert_eq!(ids(search(&env, &["kind:task"])), vec!["task"]);
    // All three were recorded in the same second: the later line is the newer.
    assert_eq!(ids(search(&env, &["kind:event"])), vec!["e3", "e2", "e1"]);
    // TASK.md belongs to the first phase.
    let mut intake = ids(search(&env, &["phase:intake"]));
    intake.sort();
    assert_eq!(intake, vec!["artifact", "task"]);
    let d = search(&env, &["reset", "--kind", "event", "--since", "2025-02-01"]);
    assert_eq!(d.total, 2);
    assert_eq!(search(&env, &["reset", "--since", "2025-02-02"]).total, 0);
}

#[test]
fn bad_queries_are_usage_errors() {
    let legacy = r#"{"id":"e1","ts":"2025-01-01T00:00:00Z","type":"custom.note","entity_id":"T-1","payload":{"phase":"legacy","text":"old"}}"#;
    let env = corpus(&[
        ("T-1/TASK.md", task_md("A", "B", "", "C")),
        ("T-1/events.jsonl", format!("{legacy}\n")),
    ]);
    // A phase an event recorded, gone from the workflow since, is still found.
    assert_eq!(search(&env, &["phase:legacy"]).total, 1);
    for (q, want) in [
        ("\"open phrase", "unbalanced quote"),
        ("colour:red", "unknown field `colour`"),
        ("   ", "empty"),
        ("kind:file", "unknown kind"),
        // A phase neither the workflow nor any document has is a mistake.
        ("phase:bogus", "unknown phase `bogus`"),
        ("x -phase:reserch", "unknown phase `reserch`"),
    ] {
        env.orch(&["search", q])
            .fails(2)
            .stderr_contains(want)
            .stdout_empty();
        let e: json::ErrorDoc = env.orch(&["search", "--json", q]).fails(2).json();
        assert_eq!(e.error.kind, "usage");
        assert!(e.error.message.contains(want), "{}", e.error.message);
    }
    env.orch(&["search", "x", "--scope", "galaxy"])
        .fails(2)
        .stderr_contains("unknown scope");
    env.orch(&["search", "x", "--since", "soon"])
        .fails(2)
        .stderr_contains("not a date");
    env.orch(&["search", "x", "--task", "NOPE"])
        .fails(2)
        .stderr_contains("unknown task NOPE");
    env.orch(&["search", "x", "--scope", "task"])
        .fails(2)
        .stderr_contains("needs a task");
    env.orch(&["search", "x", "--limit", "0"])
        .fails(2)
        .stderr_contains("--limit 0 asks for no results");
    // An option the scope does not use is refused, not silently dropped.
    env.orch(&["search", "x", "--scope", "project", "--task", "T-1"])
        .fails(2)
        .stderr_contains("--task T-1 has no effect with --scope project");
    env.orch(&[
        "search", "x", "--scope", "task", "--task", "T-1", "--sprint", "S1",
    ])
    .fails(2)
    .stderr_contains("--sprint S1 has no effect with --scope task");
    env.orch(&["search", "x", "--task", "T-1", "--sprint", "S1"])
        .fails(2)
        .stderr_contains("--sprint S1 has no effect with the task scope --task gives");
}

/// Tasks in two sprints, one of them with two sessions.
fn scoped() -> Env {
    let env = Env::builder()
        .orch_init()
        .orch(&["task", "new", "A-1", "--title", "Alpha", "--sprint", "S1"])
        .orch(&["task", "new", "B-2", "--title", "Beta", "--sprint", "S1"])
        .orch(&["task", "new", "C-3", "--title", "Gamma", "--sprint", "S2"])
        .build();
    for t in ["A-1", "B-2", "C-3"] {
        env.orch_ok(&["session", "start", t]);
        env.orch_ok(&[
            "event",
            "add",
            t,
            "custom.note",
            "--data",
            r#"{"text":"zebra crossing"}"#,
            "--commit",
        ]);
    }
    env.orch_ok(&["session", "start", "A-1", "--new"]);
    env.orch_ok(&[
        "event",
        "add",
        "A-1",
        "custom.note",
        "--data",
        r#"{"text":"zebra again"}"#,
    ]);
    env
}

#[test]
fn scopes_session_task_sprint_project() {
    let env = scoped();
    // The current task is A-1 (its session started last), in sprint S1: the default scope.
    let d = search(&env, &["zebra"]);
    assert_eq!(d.scope.kind, "sprint");
    assert_eq!(d.scope.sprint.as_deref(), Some("S1"));
    let tasks = |d: &SearchDoc| -> BTreeSet<String> {
        d.hits.iter().filter_map(|h| h.task.clone()).collect()
    };
    assert_eq!(tasks(&d), ["A-1", "B-2"].map(String::from).into());
    assert_eq!(d.total, 3);
    let d = search(&env, &["zebra", "--scope", "project"]);
    assert_eq!(d.total, 4);
    let d = search(&env, &["zebra", "--scope", "task"]);
    assert_eq!((d.total, d.scope.task.as_deref()), (2, Some("A-1")));
    let d = search(&env, &["zebra", "--scope", "session"]);
    assert_eq!(d.total, 1);
    assert!(d.hits[0].snippet.text.contains("again"));
    assert_eq!(
        d.scope.session.as_deref(),
        Some(env.session("A-1").session_key.as_str())
    );
    let d = search(&env, &["zebra", "--sprint", "S2"]);
    assert_eq!(tasks(&d), ["C-3".to_string()].into());
    let d = search(&env, &["zebra", "--task", "B-2"]);
    assert_eq!((d.scope.kind.as_str(), d.total), ("task", 1));
    // A query that names its tasks or sprints searches the project, not the current sprint,
    // which does not hold C-3.
    for q in [
        "zebra task:C-3",
        "zebra sprint:S2",
        "zebra task:C-3 OR task:B-2",
        "zebra task:C-3 OR sprint:S2",
    ] {
        let d = search(&env, &[q]);
        assert_eq!(d.scope.kind, "project", "{q}");
        assert!(tasks(&d).contains("C-3"), "{q}");
    }
    // Excluding a task keeps the default scope.
    let d = search(&env, &["zebra -task:B-2"]);
    assert_eq!((d.scope.kind.as_str(), d.total), ("sprint", 2));
    env.orch(&["search", "zebra", "--sprint", "S9"])
        .fails(2)
        .stderr_contains("no task is in sprint \"S9\"");
    env.orch(&["search", "zebra task:Z-9"])
        .fails(2)
        .stderr_contains("unknown task Z-9 in the query");
    // Sprints: each with its tasks by phase.
    let l: SprintListDoc = env.orch(&["sprint", "list", "--json"]).succeeds().json();
    assert!(l.ok && l.diagnostics.is_empty());
    let names: Vec<(&str, usize, usize, u32)> = l
        .sprints
        .iter()
        .map(|s| (s.sprint.as_str(), s.tasks, s.done, s.progress))
        .collect();
    assert_eq!(names, vec![("S1", 2, 0, 0), ("S2", 1, 0, 0)]);
    assert_eq!(l.sprints[0].by_phase.get("intake"), Some(&2));
    env.orch_ok(&["task", "new", "D-4", "--title", "Delta", "--sprint", "S2"]);
    let l: SprintListDoc = env.orch(&["sprint", "list", "--json"]).succeeds().json();
    // The words of `task list`'s `state`.
    assert_eq!(l.sprints[1].by_phase.get("not_started"), Some(&1));
    env.orch(&["sprint", "list"])
        .succeeds()
        .stdout_contains("not started 1");
    env.orch(&["sprint", "show", "S2"])
        .succeeds()
        .stdout_contains("C-3")
        .stdout_lacks("A-1");
    env.orch(&["sprint", "show", "S9"])
        .fails(2)
        .stderr_contains("the sprints are S1, S2");
}

#[test]
fn the_index_follows_a_branch_switch_a_merge_and_a_hand_edit() {
    let env = corpus(&[
        (
            "T-1/TASK.md",
            task_md("Base", "Base task", "", "Nothing yet."),
        ),
        (
            "T-1/CONTEXT.md",
            "# Context\n\n## Findings\n\nThe cache is warm.\n".into(),
        ),
    ]);
    let count = |q: &str| search(&env, &[q, "--scope", "project"]).total;
    assert!(search(&env, &["warm"]).index.rebuilt);
    assert!(
        !search(&env, &["warm"]).index.rebuilt,
        "the second search reuses the index"
    );
    assert_eq!(count("warm"), 1);

    env.git(&["checkout", "-q", "-b", "side"]);
    env.write(
        ".orchestration/tasks/T-2/TASK.md",
        task_md("Kiwi", "Side task", "", "Side text."),
    );
    env.commit_all("side task");
    assert_eq!(count("kiwi"), 1, "a commit on the branch");
    env.git(&["checkout", "-q", "main"]);
    assert_eq!(count("kiwi"), 0, "back on main the side task is gone");
    let d = search(&env, &["warm"]);
    assert!(!d.index.rebuilt && d.index.files_read <= 2, "{:?}", d.index);

    env.git(&["merge", "-q", "--no-edit", "side"]);
    assert_eq!(count("kiwi"), 1, "merged");

    // Edited in place: same inode, same folder times; only the file's own stat changes.
    let ctx = env.task_file("T-1", "CONTEXT.md");
    std::fs::write(&ctx, "# Context\n\n## Findings\n\nThe cache is cold.\n").unwrap();
    assert_eq!(count("cold"), 1, "the hand edit is seen");
    assert_eq!(count("warm"), 0, "and the old text is gone");
    env.rm(".orchestration/tasks/T-2/TASK.md");
    assert_eq!(count("kiwi"), 0, "a deleted file leaves the index");

    // A stash takes the edit back out without moving HEAD.
    env.git(&["stash", "-q"]);
    assert_eq!(count("warm"), 1);
    assert_eq!(count("kiwi"), 1);
}

#[test]
fn a_corrupt_index_is_rebuilt_not_trusted() {
    let env = corpus(&[("T-1/TASK.md", task_md("Apple", "Fruit", "", "Text."))]);
    assert_eq!(search(&env, &["apple"]).total, 1);
    let dir = env.git_dir().join("orchestration/search");
    std::fs::write(dir.join("state.json"), "{ not json").unwrap();
    let d = search(&env, &["apple"]);
    assert!(d.index.rebuilt);
    assert_eq!(d.total, 1);
    // An index whose generation does not match the tables is not used either.
    for e in std::fs::read_dir(dir.join("index")).unwrap().flatten() {
        if e.file_name() == "meta.json" {
            std::fs::write(e.path(), "garbage").unwrap();
        }
    }
    let d = search(&env, &["apple"]);
    assert!(d.index.rebuilt);
    assert_eq!(d.total, 1);
    let d: serde_json::Value = env
        .orch(&["search", "--reindex", "--json"])
        .succeeds()
        .json();
    assert_eq!(d["reindexed"]["rebuilt"], true);
}

/// A segment file cut short, emptied or removed is found only when it is read: the search
/// rebuilds the index and answers, and the next one finds it sound.
#[test]
fn a_damaged_segment_file_is_rebuilt_when_read() {
    let env = corpus(&[
        ("T-1/TASK.md", task_md("Apple", "Fruit", "", "Text.")),
        (
            "T-1/events.jsonl",
            r#"{"id":"e1","ts":"2025-01-01T00:00:00Z","type":"custom.note","entity_id":"T-1","payload":{"text":"apple pie"}}"#.to_string() + "\n",
        ),
    ]);
    let index = env.git_dir().join("orchestration/search/index");
    for (ext, damage) in [
        ("store", "cut"),
        ("pos", "empty"),
        ("term", "cut"),
        ("idx", "remove"),
        ("fast", "cut"),
        ("fieldnorm", "empty"),
    ] {
        assert_eq!(search(&env, &["apple"]).total, 2, "{ext}");
        let files: Vec<_> = std::fs::read_dir(&index)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == ext))
            .collect();
        assert!(!files.is_empty(), "no .{ext} file");
        for f in files {
            match damage {
                "cut" => std::fs::write(&f, b"0123456789").unwrap(),
                "empty" => std::fs::write(&f, b"").unwrap(),
                _ => std::fs::remove_file(&f).unwrap(),
            }
        }
        let d = search(&env, &["apple"]);
        assert!(d.index.rebuilt, ".{ext} {damage}: rebuilt");
        assert_eq!(d.total, 2, ".{ext} {damage}");
        assert!(
            !search(&env, &["apple"]).index.rebuilt,
            ".{ext}: sound again"
        );
    }
    assert_eq!(env.git(&["status", "--porcelain"]), "");
}

/// Chinese and Japanese text has no spaces between words: any run of its characters is found,
/// and the snippet marks each of them.
#[test]
fn chinese_and_japanese_text_is_found_by_any_run_of_characters() {
    let env = corpus(&[
        (
            "T-1/TASK.md",
            task_md("日本語のテキスト", "接続がリセットされた", "", "Text."),
        ),
        ("T-2/TASK.md", task_md("Other", "本日は晴天", "", "Text.")),
    ]);
    let count = |q: &str| search(&env, &[q, "--scope", "project"]).total;
    for q in [
        "日本語",
        "テキスト",
        "語の",
        "\"リセット\"",
        "日本語*",
        "リセット OR 晴天",
    ] {
        assert!(count(q) >= 1, "{q}");
    }
    // A run is a phrase: its characters apart do not match.
    assert_eq!(count("語本"), 0);
    let d = search(&env, &["リセット", "--scope", "project"]);
    assert_eq!(d.hits[0].task.as_deref(), Some("T-1"));
    let s = &d.hits[0].snippet;
    let marked: String = s.highlights.iter().map(|[a, b]| &s.text[*a..*b]).collect();
    assert_eq!(marked, "リセット");
}

/// Where the index cannot be written, the error names the folder and says what it needs.
#[test]
fn an_index_folder_that_cannot_be_written_is_a_clear_error() {
    let env = corpus(&[("T-1/TASK.md", task_md("Apple", "Fruit", "", "Text."))]);
    let orch_dir = env.git_dir().join("orchestration");
    std::fs::create_dir_all(&orch_dir).unwrap();
    std::fs::write(orch_dir.join("search"), "not a folder").unwrap();
    env.orch(&["search", "apple"])
        .fails(1)
        .stderr_contains("orchestration/search")
        .stderr_contains("must be able to write there");
}

/// A build from nothing that fails or is killed half-way leaves no folder behind for good:
/// a failed one removes its own, and the next build removes a killed one's.
#[test]
fn a_build_stopped_half_way_leaves_nothing_behind() {
    let env = corpus(&[("T-1/TASK.md", task_md("Apple", "Fruit", "", "Text."))]);
    let dir = env.git_dir().join("orchestration/search");
    let leftovers = || -> Vec<String> {
        std::fs::read_dir(&dir)
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.starts_with("index.new-") || n.starts_with("index.old-"))
                    .collect()
            })
            .unwrap_or_default()
    };
    let point = "search::segments-written";
    env.orch(&["search", "apple"])
        .env("FAILPOINTS", &format!("{point}=return(error)"))
        .fails(1);
    assert_eq!(
        leftovers(),
        Vec::<String>::new(),
        "a failed build removes its folder"
    );
    let d = env
        .orch(&["search", "apple"])
        .env("FAILPOINTS", &format!("{point}=return(SIGKILL)"))
        .run();
    assert_eq!(d.code, None, "killed: {d:?}");
    assert_eq!(leftovers().len(), 1, "a killed build leaves its folder");
    let d = search(&env, &["apple"]);
    assert!(d.index.rebuilt);
    assert_eq!(d.total, 1);
    assert_eq!(
        leftovers(),
        Vec::<String>::new(),
        "the next build removes it"
    );
    assert_eq!(env.git(&["status", "--porcelain"]), "");
}

/// Flips `n` bytes in the middle of the largest segment file of the index in `dir`, where only
/// its checksum tells.
fn damage_largest_file(dir: &std::path::Path, n: usize) {
    let biggest = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name() != "meta.json" && e.file_name() != ".managed.json")
        .max_by_key(|e| e.metadata().unwrap().len())
        .unwrap()
        .path();
    let mut bytes = std::fs::read(&biggest).unwrap();
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + n] {
        *b = !*b;
    }
    std::fs::write(&biggest, bytes).unwrap();
}

/// The index is written without waiting for the disk, so one last written in an earlier boot
/// of the system is only trusted once its checksums are verified.
#[test]
fn an_index_from_an_earlier_boot_is_verified_before_it_is_trusted() {
    let Ok(boot) = std::fs::read_to_string("/proc/sys/kernel/random/boot_id") else {
        return; // the system does not tell its boots apart: every write is synced
    };
    let env = corpus(&[("T-1/TASK.md", task_md("Apple", "Fruit", "", "Text."))]);
    assert_eq!(search(&env, &["apple"]).total, 1);
    let dir = env.git_dir().join("orchestration/search");
    let state = dir.join("state.json");
    let as_of = |boot: &str| {
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
        v["boot"] = boot.into();
        std::fs::write(&state, v.to_string()).unwrap();
    };
    let recorded = |_: ()| -> serde_json::Value {
        serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(&state).unwrap())
            .unwrap()["boot"]
            .clone()
    };
    assert_eq!(recorded(()), boot.trim());

    // Intact: verified, kept, and the current boot recorded.
    as_of("an-earlier-boot");
    let d = search(&env, &["apple"]);
    assert!(!d.index.rebuilt && d.total == 1, "{:?}", d.index);
    assert_eq!(recorded(()), boot.trim());

    // A segment file damaged in the middle, where only its checksum tells: rebuilt.
    damage_largest_file(&dir.join("index"), 4);
    as_of("an-earlier-boot");
    let d = search(&env, &["apple"]);
    assert!(d.index.rebuilt, "{:?}", d.index);
    assert_eq!(d.total, 1);
    assert_eq!(search(&env, &["apple"]).total, 1);
}

#[test]
fn orch_writes_are_seen_by_the_next_search() {
    let env = Env::started("T-1");
    assert_eq!(search(&env, &["mango"]).total, 0);
    env.orch_ok(&[
        "event",
        "add",
        "custom.note",
        "--data",
        r#"{"text":"mango season"}"#,
    ]);
    let d = search(&env, &["mango"]);
    assert_eq!(d.total, 1);
    assert_eq!(d.hits[0].kind, "event");
    assert_eq!(d.hits[0].type_.as_deref(), Some("custom.note"));
    assert!(d.hits[0].ts.is_some() && d.hits[0].line > 0);
    assert!(
        !d.index.rebuilt && d.index.files_reindexed == 1,
        "{:?}",
        d.index
    );
}

/// A project search as in a repository too large to stat every file on each search, with
/// T-1 the current task.
fn large_search(env: &Env, args: &[&str]) -> Run {
    let mut a = vec!["search", "--json", "--scope", "project"];
    a.extend_from_slice(args);
    env.orch(&a)
        .env("ORCH_SEARCH_WATCH_ALL", "0")
        .env("ORCH_TASK", "T-1")
}

/// `orch event add TASK custom.note` with `text`, and `extra` arguments (`--commit`).
fn custom_note(env: &Env, task: &str, text: &str, extra: &[&str]) {
    let data = format!(r#"{{"text":"{text}"}}"#);
    let mut args = vec!["event", "add", task, "custom.note", "--data", &data];
    args.extend_from_slice(extra);
    env.orch(&args).env("ORCH_TASK", "T-1").succeeds();
}

/// orch notes each commit it makes, with the paths it changed, so that a search can follow
/// HEAD along orch's own commits without comparing trees. A HEAD those notes do not lead to
/// (an amended commit, a user's commit in between) means the trees are compared; a note cut
/// short is ignored.
#[test]
fn orch_commits_are_followed_by_their_notes_and_only_as_far_as_they_go() {
    let env = Env::started("T-1");
    env.new_task("T-2");
    env.commit_all("tasks");
    let large = |word: &str| -> SearchDoc { large_search(&env, &[word]).succeeds().json() };
    let mango = |text: &str| custom_note(&env, "T-1", text, &["--commit"]);
    // Another task's file, last changed long ago: its stat data is trusted, so the search
    // looks at it only when a commit says it changed.
    let other = env.task_file("T-2", "TASK.md");
    let age =
        || filetime::set_file_mtime(&other, filetime::FileTime::from_unix_time(1e9 as i64, 0));
    let edit_other = |word: &str| {
        let text = std::fs::read_to_string(&other).unwrap();
        std::fs::write(&other, format!("{text}\n{word}\n")).unwrap();
        age().unwrap();
    };
    age().unwrap();
    let journal = env.git_dir().join("orchestration/search/written");
    assert!(large("mango").index.rebuilt);

    mango("mango one");
    assert!(std::fs::read_to_string(&journal).unwrap().contains("\n@{"));
    let d = large("mango");
    assert_eq!((d.total, d.index.files_reindexed), (1, 1), "{:?}", d.index);

    // orch commits, then the user amends that commit with an edit of another task's file.
    mango("mango two");
    edit_other("papaya");
    env.git(&["commit", "-q", "-a", "--amend", "--no-edit"]);
    assert_eq!(large("mango").total, 2);
    assert_eq!(
        large("papaya").total,
        1,
        "the amended commit's trees are compared"
    );

    // The user commits, then orch commits on top: the notes start past the indexed HEAD.
    edit_other("guava");
    env.commit_all("guava");
    mango("mango three");
    assert_eq!(
        large("guava").total,
        1,
        "a user's commit before orch's is seen"
    );
    assert_eq!(large("mango").total, 3);

    // Two orch commits of the other task, with no search between, carry a file written there
    // by hand (new, so no listing of the current task's folder finds it): only the notes' paths
    // name it, along a chain of two.
    env.write(
        ".orchestration/tasks/T-2/CONTEXT.md",
        "# Context\n\n## Findings\n\nA lychee.\n",
    );
    for text in ["kiwi one", "kiwi two"] {
        custom_note(&env, "T-2", text, &["--commit"]);
    }
    assert_eq!(large("lychee").total, 1, "the paths of a chain of notes");
    assert_eq!(large("kiwi").total, 2);

    // A note cut short by a crash is skipped; an orch commit noted after it is still followed.
    let mut text = std::fs::read_to_string(&journal).unwrap();
    text.push_str("@{\"from\":\"");
    std::fs::write(&journal, text).unwrap();
    env.write(
        ".orchestration/tasks/T-2/NOTES.md",
        "# Notes\n\n## Open\n\nA quince.\n",
    );
    custom_note(&env, "T-2", "kiwi three", &["--commit"]);
    assert_eq!(large("quince").total, 1);
    assert_eq!(large("mango").total, 3);
}

/// A journal shorter than the last search read (someone removed it since) is read from its
/// start, so a note in it is not skipped.
#[test]
fn a_journal_shorter_than_the_offset_read_is_read_whole() {
    let env = Env::started("T-1");
    env.new_task("T-2");
    let large = |word: &str| -> SearchDoc { large_search(&env, &[word]).succeeds().json() };
    let journal = env.git_dir().join("orchestration/search/written");
    let note = |task: &str, text: &str| custom_note(&env, task, text, &[]);
    large("fig");
    for i in 0..3 {
        note("T-1", &format!("filler {i}"));
    }
    assert_eq!(large("filler").total, 3, "the notes so far are taken in");
    let read = std::fs::metadata(&journal).unwrap().len();
    std::fs::remove_file(&journal).unwrap();
    // Another task's file, not the current one's and not committed: only the note tells.
    note("T-2", "fig");
    assert!(std::fs::metadata(&journal).unwrap().len() < read);
    assert_eq!(
        large("fig").total,
        1,
        "the new journal is read from its start"
    );
}

// ---------------------------------------------------------------------------------------------
// Recall: every term query finds every document a brute-force scan of the files finds.

const VOCAB: [&str; 8] = [
    "amber", "birch", "cedar", "delta", "ember", "fjord", "grove", "haze",
];

/// Per task: sprint index, then words of the title, the CONTEXT.md section and two events.
type GenTask = (usize, Vec<usize>, Vec<usize>, Vec<usize>, Vec<usize>);

#[derive(Debug, Clone)]
struct Gen {
    tasks: Vec<GenTask>,
}

fn words(ix: &[usize]) -> String {
    ix.iter().map(|i| VOCAB[*i]).collect::<Vec<_>>().join(" ")
}

fn gen() -> impl Strategy<Value = Gen> {
    let w = || prop::collection::vec(0..VOCAB.len(), 0..4);
    prop::collection::vec((0..2usize, w(), w(), w(), w()), 1..5).prop_map(|tasks| Gen { tasks })
}

/// The documents (path and line) whose text holds `word`, found by reading every file.
fn brute(env: &Env, word: &str, tasks: Option<&BTreeSet<String>>) -> BTreeSet<(String, u64)> {
    let mut out = BTreeSet::new();
    let root = env.path(".orchestration/tasks");
    for e in std::fs::read_dir(&root).unwrap().flatten() {
        let code = e.file_name().to_string_lossy().into_owned();
        if tasks.is_some_and(|t| !t.contains(&code)) {
            continue;
        }
        for f in std::fs::read_dir(e.path()).unwrap().flatten() {
            let rel = format!(
                ".orchestration/tasks/{code}/{}",
                f.file_name().to_string_lossy()
            );
            let text = std::fs::read_to_string(f.path()).unwrap();
            for d in orch::search::corpus::docs(&rel, &text, &Default::default()) {
                let all = format!("{} {}", d.title, d.body).to_lowercase();
                if all.split(|c: char| !c.is_alphanumeric()).any(|w| w == word) {
                    out.insert((rel.clone(), d.line));
                }
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, .. ProptestConfig::default() })]
    #[test]
    fn every_term_query_finds_what_a_scan_finds(g in gen()) {
        let mut files = Vec::new();
        for (i, (sprint, title, ctx, e1, e2)) in g.tasks.iter().enumerate() {
            let code = format!("T-{i}");
            files.push((format!("{code}/TASK.md"), task_md(&format!("Task {}", words(title)), "d", &format!("S{sprint}"), "b")));
            files.push((format!("{code}/CONTEXT.md"), format!("# Context\n\n## Notes\n\n{}\n", words(ctx))));
            files.push((format!("{code}/events.jsonl"),
                event_line(&format!("{code}-a"), "custom.note", &words(e1), "s")
                + &event_line(&format!("{code}-b"), "custom.note", &words(e2), "s")));
        }
        let refs: Vec<(&str, String)> = files.iter().map(|(a, b)| (a.as_str(), b.clone())).collect();
        let env = corpus(&refs);
        let sprint0: BTreeSet<String> = g.tasks.iter().enumerate()
            .filter(|(_, t)| t.0 == 0).map(|(i, _)| format!("T-{i}")).collect();
        let only_t0: BTreeSet<String> = ["T-0".to_string()].into();
        for word in VOCAB {
            for (args, tasks) in [
                (vec!["--scope", "project"], None),
                (vec!["--sprint", "S0"], Some(&sprint0)),
                (vec!["--task", "T-0"], Some(&only_t0)),
            ] {
                let mut a = vec![word, "--limit", "1000"];
                a.extend(args.iter().copied());
                if tasks.is_some_and(|t| t.is_empty()) {
                    // A sprint no task is in is refused, not searched.
                    let cmd: Vec<&str> = ["search"].into_iter().chain(a.iter().copied()).collect();
                    env.orch(&cmd).fails(2).stderr_contains("no task is in sprint");
                    continue;
                }
                let d = search(&env, &a);
                let got: BTreeSet<(String, u64)> = d.hits.iter().map(|h| (h.path.clone(), h.line)).collect();
                let want = brute(&env, word, tasks);
                prop_assert_eq!(&got, &want, "{} {:?}", word, args);
                prop_assert_eq!(d.total, want.len());
            }
        }
    }
}

/// With more files than every search stats (`ORCH_SEARCH_WATCH_ALL=0` makes this small corpus
/// one), a few changed files update only their lines of the file table; after commits, a hand
/// edit of the current task, a branch switch and a merge, the answers equal a rebuilt index's.
/// The overlay of changed files is trusted only as the state names it: one newer than the
/// state (an update that stopped after writing it) or, after a reboot, one whose checksums
/// fail means a rebuild.
#[test]
fn an_overlay_left_by_a_stopped_update_or_damaged_is_not_trusted() {
    let env = corpus(&[("T-1/TASK.md", task_md("Apple", "Fruit", "", "Text."))]);
    assert_eq!(search(&env, &["apple"]).total, 1);
    let dir = env.git_dir().join("orchestration/search");
    let overlays = || -> Vec<u64> {
        let names = std::fs::read_dir(&dir).unwrap().flatten();
        names
            .filter_map(|e| {
                let n = e.file_name().to_string_lossy().into_owned();
                n.strip_prefix("overlay-")?.parse().ok()
            })
            .collect()
    };
    let task = ".orchestration/tasks/T-1/TASK.md";
    env.write(task, task_md("Pear", "Fruit", "", "Text."));
    let d = search(&env, &["pear"]);
    assert!(!d.index.rebuilt && d.total == 1, "{:?}", d.index);
    let g = match overlays()[..] {
        [g] => g,
        ref v => panic!("one overlay expected, found {v:?}"),
    };

    std::fs::create_dir(dir.join(format!("overlay-{}", g + 1))).unwrap();
    let d = search(&env, &["pear"]);
    assert!(
        d.index.rebuilt,
        "a newer overlay than the state: {:?}",
        d.index
    );
    assert_eq!(d.total, 1);
    assert_eq!(search(&env, &["apple"]).total, 0);
    assert!(overlays().is_empty(), "a rebuild removes every overlay");

    // Damage in the middle of the overlay's largest file, which makes the engine panic when it
    // reads it unless its checksums are verified first: within this boot it is rebuilt when
    // the engine fails; after a reboot the checksums find it first.
    for (word, reboot) in [("plum", false), ("fig", true)] {
        env.write(task, task_md(word, "Fruit", "", "Text."));
        assert_eq!(search(&env, &[word]).total, 1);
        let [g] = overlays()[..] else {
            panic!("one overlay expected")
        };
        damage_largest_file(&dir.join(format!("overlay-{g}")), 1);
        if reboot {
            if std::fs::read_to_string("/proc/sys/kernel/random/boot_id").is_err() {
                return; // every write is synced: nothing to verify after a reboot
            }
            let state = dir.join("state.json");
            let mut v: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
            v["boot"] = "an-earlier-boot".into();
            std::fs::write(&state, v.to_string()).unwrap();
        }
        let d: SearchDoc = env
            .orch(&["search", "--json", word])
            .succeeds()
            .stderr_lacks("panicked")
            .json();
        assert!(d.index.rebuilt, "{word}: a damaged overlay: {:?}", d.index);
        assert_eq!(d.total, 1);
    }
}

/// Changes kept in the overlay, and changes written straight into the main index
/// (`ORCH_SEARCH_OVERLAY_DOCS=0`), answer as a rebuild does.
#[test]
fn a_large_corpus_is_updated_file_by_file_and_agrees_with_a_rebuild() {
    updated_file_by_file(None);
    updated_file_by_file(Some("0"));
}

fn updated_file_by_file(overlay_docs: Option<&str>) {
    let env = corpus(&[
        ("T-1/TASK.md", task_md("Base", "Base task", "", "Nothing.")),
        (
            "T-1/CONTEXT.md",
            "# Context\n\n## Findings\n\nThe cache is warm.\n".into(),
        ),
        ("T-2/TASK.md", task_md("Pear", "Other task", "", "Pears.")),
    ]);
    let large = |args: &[&str]| -> SearchDoc {
        let mut run = large_search(&env, args);
        if let Some(n) = overlay_docs {
            run = run.env("ORCH_SEARCH_OVERLAY_DOCS", n);
        }
        run.succeeds().json()
    };
    let search_dir = env.git_dir().join("orchestration/search");
    let overlays = || -> usize {
        std::fs::read_dir(&search_dir)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("overlay-"))
            .count()
    };
    let words = ["warm", "cold", "kiwi", "pear", "plum", "base"];
    let answers = |reindex: bool| -> Vec<(String, usize, Vec<String>)> {
        words
            .iter()
            .map(|w| {
                let d = if reindex {
                    large(&[w, "--reindex"])
                } else {
                    large(&[w])
                };
                (w.to_string(), d.total, d.hits.iter().map(where_).collect())
            })
            .collect()
    };
    assert!(large(&["warm"]).index.rebuilt);
    let table = env.git_dir().join("orchestration/search/files");
    let lines = |t: &std::path::Path| -> usize {
        let shards = std::fs::read_dir(t).unwrap().flatten();
        shards
            .map(|e| std::fs::read_to_string(e.path()).unwrap().lines().count())
            .sum()
    };
    assert_eq!(lines(&table), 3, "three files");

    let ctx = env.task_file("T-1", "CONTEXT.md");
    std::fs::write(&ctx, "# Context\n\n## Findings\n\nThe cache is cold.\n").unwrap();
    env.commit_all("colder");
    let d = large(&["cold"]);
    assert_eq!(d.total, 1, "the committed change is seen");
    // (Files indexed within the last seconds are re-hashed too: their stat data is racy.)
    assert!(
        !d.index.rebuilt && d.index.files_reindexed == 1,
        "only the changed file is indexed again: {:?}",
        d.index
    );
    assert_eq!(large(&["warm"]).total, 0);
    let expected = match overlay_docs {
        Some(_) => 0,
        None => 1,
    };
    assert_eq!(
        overlays(),
        expected,
        "the change kept apart, or written into the index"
    );

    // A hand edit of the current task's file, not committed.
    std::fs::write(&ctx, "# Context\n\n## Findings\n\nA plum.\n").unwrap();
    assert_eq!(
        large(&["plum"]).total,
        1,
        "the current task's files are watched"
    );

    env.git(&["checkout", "-q", "-b", "side"]);
    env.write(
        ".orchestration/tasks/T-3/TASK.md",
        task_md("Kiwi", "Side task", "", "Side text."),
    );
    env.commit_all("side task");
    assert_eq!(large(&["kiwi"]).total, 1, "a new folder on the branch");
    env.git(&["checkout", "-q", "main"]);
    assert_eq!(large(&["kiwi"]).total, 0, "gone on main");
    env.git(&["merge", "-q", "--no-edit", "side"]);
    env.rm(".orchestration/tasks/T-2/TASK.md");
    env.commit_all("no pears");

    let incremental = answers(false);
    assert_eq!(lines(&table), 3, "T-1's two files and T-3's");
    assert_eq!(
        incremental,
        answers(true),
        "incremental answers equal a rebuild's"
    );
    assert_eq!(incremental[2].1, 1, "kiwi merged");
    assert_eq!(incremental[3].1, 0, "pear removed");
}

/// Two active tasks on one branch and no pointer: a search whose scope needs the current task
/// asks for `ORCH_TASK`, as every command does; one whose scope does not (the project, a named
/// task or sprint) does not look for the current task through the branch at all.
#[test]
fn only_a_scope_that_needs_the_current_task_looks_for_it() {
    let env = Env::started("TSK-1");
    env.new_task("TSK-2");
    env.orch_ok(&["session", "start", "TSK-2"]);
    env.drop_pointer();
    for args in [
        &["search", "intake", "--scope", "project"][..],
        &["search", "intake", "--task", "TSK-1"],
        &["search", "intake task:TSK-1"],
    ] {
        env.orch(args).succeeds();
    }
    // No task is in S1: that, not the two bound tasks, is what stops it.
    env.orch(&["search", "intake", "--sprint", "S1"])
        .fails(2)
        .stderr_contains("no task is in sprint \"S1\"");
    for args in [
        &["search", "intake"][..],
        &["search", "intake", "--scope", "task"],
    ] {
        env.orch(args)
            .fails(4)
            .stderr_contains("TSK-1")
            .stderr_contains("TSK-2")
            .stderr_contains("ORCH_TASK");
    }
    env.orch(&["search", "intake", "--scope", "task"])
        .env("ORCH_TASK", "TSK-2")
        .succeeds();
}
