//! `orch changes`, the execute range it reads, and `orch task link`, with real git as the
//! oracle: per-file counts equal `git diff --numstat` (renames detected, as git's default),
//! the summary equals `--shortstat`, hunks equal `git diff -U3` (without git's function
//! context).

use crate::support::gitdiff;
use crate::support::*;
use serde_json::Value;
use std::process::Command;

/// A repository with a commit of README.md and one of `orch init`, dated a minute apart so
/// git and orch agree on the order of commits. Without `orch_commits`, orch only writes files
/// and the tests commit them.
fn repo(orch_commits: bool) -> Env {
    let b = Env::builder()
        .clock(Clock::Ticking)
        .file("README.md", "hello\n")
        .commit("initial")
        .orch_init();
    let b = if orch_commits {
        b
    } else {
        b.config("[git]\ncommit = false\n")
    };
    b.commit("orch init").build()
}

/// What these tests do to a repository, on top of the harness.
trait ChangesEnv {
    fn json(&self, args: &[&str]) -> Value;
    fn range(&self, code: &str) -> (Option<String>, Option<String>);
    fn task_in_execute(&self, code: &str);
    fn to_review(&self, code: &str);
}

impl ChangesEnv for Env {
    fn json(&self, args: &[&str]) -> Value {
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        serde_json::from_str(&self.orch_ok(&a)).unwrap()
    }

    fn range(&self, code: &str) -> (Option<String>, Option<String>) {
        let s = self.session_json(code);
        let r = &s["execute_range"];
        (
            r["base"].as_str().map(str::to_string),
            r["head"].as_str().map(str::to_string),
        )
    }

    /// A task walked to the start of execute (overrides stand in for real artifacts).
    fn task_in_execute(&self, code: &str) {
        self.orch_ok(&["task", "new", code, "--title", "Make it work"]);
        self.orch_ok(&["session", "start", code]);
        for _ in 0..3 {
            self.orch_ok(&["phase", "complete", code, "--override", "--reason", "test"]);
        }
        assert_eq!(self.session_json(code)["current_phase"], "execute");
        // Keep orch's files out of the way of the code commits when orch does not commit.
        self.commit_all("orch state");
    }

    fn to_review(&self, code: &str) {
        self.orch_ok(&["phase", "complete", code, "--override", "--reason", "test"]);
        assert_eq!(self.session_json(code)["current_phase"], "review");
    }
}

const ORCH_PATHSPEC: &str = ":!.orchestration";

fn assert_matches_git(e: &Env, code: &str, base: &str, head: &str) -> Value {
    let j = e.json(&["changes", code, "--stdout", "--patch"]);
    let git = gitdiff::git(&|args| e.git(args), base, head, &[".", ORCH_PATHSPEC]);
    let orch = gitdiff::orch(&j);
    assert_eq!(orch.numstat, git.numstat, "numstat");
    assert_eq!(orch.shortstat, git.shortstat, "shortstat");
    assert_eq!(orch.hunks, git.hunks, "hunks");
    j
}

#[test]
fn execute_range_base_head_and_rework() {
    let e = repo(false);
    e.orch_ok(&["task", "new", "T-1", "--title", "Range"]);
    e.orch_ok(&["session", "start", "T-1"]);
    for _ in 0..2 {
        e.orch_ok(&["phase", "complete", "T-1", "--override", "--reason", "t"]);
    }
    assert_eq!(
        e.session_json("T-1").get("execute_range"),
        None,
        "no range before execute"
    );
    let before = e.head();
    e.orch_ok(&["phase", "complete", "T-1", "--override", "--reason", "t"]);
    assert_eq!(
        e.range("T-1"),
        (Some(before.clone()), None),
        "entering execute records the base"
    );
    e.write("src/a.rs", "fn a() {}\n");
    let c1 = e.commit_all("a");
    e.to_review("T-1");
    assert_eq!(
        e.range("T-1"),
        (Some(before.clone()), Some(c1.clone())),
        "leaving records the head"
    );
    e.orch_ok(&["phase", "set", "T-1", "execute"]);
    assert_eq!(
        e.range("T-1"),
        (Some(before.clone()), Some(c1)),
        "reopening keeps the range"
    );
    e.write("src/b.rs", "fn b() {}\n");
    let c2 = e.commit_all("b");
    e.to_review("T-1");
    assert_eq!(
        e.range("T-1"),
        (Some(before.clone()), Some(c2.clone())),
        "rework extends the head"
    );
    let j = assert_matches_git(&e, "T-1", &before, &c2);
    assert_eq!(j["files"].as_array().unwrap().len(), 2);
    // `orch log` shows where the range was recorded and extended.
    e.commit_all("record the range");
    let log = e.json(&["log", "T-1"]);
    let ranges: Vec<(Value, Value)> = log["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| !t["execute_range"].is_null())
        .map(|t| {
            (
                t["execute_range"]["base"].clone(),
                t["execute_range"]["head"].clone(),
            )
        })
        .collect();
    assert!(
        ranges.contains(&(Value::from(before.clone()), Value::from(c2.clone()))),
        "{log}"
    );
}

#[test]
fn every_kind_of_change_matches_git() {
    let e = repo(false);
    let mut lines: String = (1..=40).map(|i| format!("line {i}\n")).collect();
    e.write("multi.txt", &lines);
    e.write("gone.txt", "bye\n");
    e.write("old/name.txt", "renamed content\n");
    e.write("script.sh", "#!/bin/sh\necho hi\n");
    e.write("crlf.txt", "one\ntwo\nthree\n");
    e.write("nonl.txt", "a\nb\nc");
    e.write("to_link.txt", "was a file\n");
    e.write("dir/inner.txt", "inside\n");
    e.write("readd.txt", "first\n");
    e.write("slide.txt", "a\nb\nb\nc\n}\n\n}\n");
    e.write("img.bin", b"\x89PNG\0\x01\x02");
    e.write("tool.bin", b"\0exec");
    e.write("moved.bin", b"\0\x01moved");
    e.write("linked.txt", "x\ntarget");
    let story: String = (1..=20).map(|i| format!("chapter {i}\n")).collect();
    e.write("docs/story.md", &story);
    std::os::unix::fs::symlink("README.md", e.path("link")).unwrap();
    e.commit_all("files");
    e.task_in_execute("T-2");
    let base = e.head();

    lines = lines
        .replace("line 3\n", "line three\n")
        .replace("line 30\n", "line thirty\nline 30b\n");
    e.write("multi.txt", &lines);
    e.rm("gone.txt");
    e.rm("old/name.txt");
    e.write("new/name.txt", "renamed content\n");
    std::fs::set_permissions(
        e.path("script.sh"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    e.write("crlf.txt", "one\r\ntwo\r\nthree\n");
    e.write("nonl.txt", "a\nB\nc");
    e.rm("to_link.txt");
    std::os::unix::fs::symlink("README.md", e.path("to_link.txt")).unwrap();
    e.rm("dir");
    e.write("dir", "now a file\n");
    e.write("added.txt", "fresh\n");
    e.write("img.bin", b"\x89PNG\0\x03");
    e.write("slide.txt", "a\nb\nb\nb\nc\n}\n\n}\n\n}\n");
    e.rm("link");
    std::os::unix::fs::symlink("added.txt", e.path("link")).unwrap();
    e.rm("readd.txt");
    // A binary file's mode change, a binary file moved, a file that becomes a symlink to its
    // own last line, and a file moved and edited.
    std::fs::set_permissions(
        e.path("tool.bin"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    e.rm("moved.bin");
    e.write("bin/moved.bin", b"\0\x01moved");
    e.rm("linked.txt");
    std::os::unix::fs::symlink("target", e.path("linked.txt")).unwrap();
    e.rm("docs/story.md");
    e.write(
        "book/story.md",
        story.replace("chapter 7\n", "chapter seven\n"),
    );
    e.commit_all("first step");
    e.write("readd.txt", "second\n");
    e.write(
        ".orchestration/tasks/T-2/NOTES.md",
        "orch files are left out\n",
    );
    e.commit_all("second step");
    // A side branch merged back: the merge commit sits in the range.
    e.git(&["checkout", "-q", "-b", "side"]);
    e.write("side.txt", "from the side\n");
    e.commit_all("side work");
    e.git(&["checkout", "-q", "main"]);
    e.write("main.txt", "on main\n");
    e.commit_all("main work");
    e.git(&["merge", "-q", "--no-ff", "-m", "merge side", "side"]);
    let head = e.head();

    let j = assert_matches_git(&e, "T-2", &base, &head);
    let subjects: Vec<&str> = j["commits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["subject"].as_str().unwrap())
        .collect();
    let git_subjects = e.git(&[
        "log",
        "--reverse",
        "--format=%s",
        &format!("{base}..{head}"),
        "--",
        ".",
        ORCH_PATHSPEC,
    ]);
    assert_eq!(subjects, git_subjects.lines().collect::<Vec<_>>());
    let merge = j["commits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["subject"] == "merge side")
        .unwrap();
    assert_eq!(merge["merge"], true);
    let status = |p: &str| {
        j["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == p)
            .unwrap()["status"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(status("script.sh"), "mode_changed");
    assert_eq!(status("to_link.txt"), "type_changed");
    assert_eq!(status("gone.txt"), "deleted");
    assert_eq!(status("new/name.txt"), "renamed");
    assert_eq!(status("book/story.md"), "renamed");
    assert_eq!(status("bin/moved.bin"), "renamed");
    assert_eq!(status("tool.bin"), "mode_changed");
    assert_eq!(status("readd.txt"), "modified");
    let paths: Vec<&str> = j["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(!paths.contains(&"old/name.txt"), "{paths:?}");
    let md = j["markdown"].as_str().unwrap();
    assert!(
        md.contains("| `{old => new}/name.txt` | renamed (100%) | 0 | 0 |"),
        "{md}"
    );
    assert!(
        md.contains("| `{docs => book}/story.md` | renamed (93%) | 1 | 1 |"),
        "{md}"
    );
    assert!(
        md.contains("| `tool.bin` | mode change 100644 → 100755, binary | - | - |"),
        "{md}"
    );
    assert!(
        md.contains("| `img.bin` | modified, binary | - | - |"),
        "{md}"
    );
    assert!(md.contains("mode change 100644 → 100755"), "{md}");
    assert!(!md.contains("NOTES.md"), "{md}");

    // The same range with every object packed (read through gix rather than as loose files).
    e.git(&["gc", "-q", "--prune=now"]);
    let packed = assert_matches_git(&e, "T-2", &base, &head);
    assert_eq!(packed["markdown"], j["markdown"]);
}

#[test]
fn large_files_and_mixed_loose_and_packed_objects_match_git() {
    let e = repo(false);
    // Hard to compress, so the loose files are far larger than one read buffer.
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut line = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        format!("{x:016x} {:x}\n", x.rotate_left(29))
    };
    let big: Vec<String> = (0..20_000).map(|_| line()).collect();
    e.write("big.txt", big.concat());
    e.write("small.txt", "a\nb\n");
    e.write("tail.txt", "x\ny\nz");
    // Enough files for the line counts to be split across threads.
    for i in 0..150 {
        e.write(
            &format!("many/f{i:03}.txt"),
            format!("{i}\nshared\n").repeat(i % 7 + 1),
        );
    }
    e.commit_all("files");
    e.git(&["gc", "-q", "--prune=now"]);
    e.task_in_execute("T-4");
    let base = e.head();
    let mut changed = big.clone();
    changed[7] = "edited\n".to_string();
    changed.insert(12_345, "inserted\n".to_string());
    changed.truncate(19_990);
    e.write("big.txt", changed.concat());
    e.write("small.txt", "a\nb\nc\n");
    e.write("tail.txt", "x\ny\nz\n");
    e.write("huge_new.txt", big[..5_000].concat());
    for i in (0..150).step_by(2) {
        e.write(
            &format!("many/f{i:03}.txt"),
            format!("{i}\nother\n").repeat(i % 5 + 1),
        );
    }
    for i in (1..150).step_by(15) {
        e.rm(&format!("many/f{i:03}.txt"));
    }
    for i in 0..40 {
        e.write(&format!("many/g{i:03}.txt"), format!("new {i}\n"));
    }
    e.commit_all("edit");
    let head = e.head();
    let j = assert_matches_git(&e, "T-4", &base, &head);
    // 75 rewritten, 5 of them then deleted, with 5 more deleted; 40 added.
    assert_eq!(j["files"].as_array().unwrap().len(), 4 + 70 + 10 + 40);
}

#[test]
fn hunks_and_counts_match_git_on_generated_texts() {
    let tmp = tempfile::tempdir().unwrap();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut rnd = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let mut mismatched = Vec::new();
    let adversarial = [
        "a\n",
        "b\n",
        "}\n",
        "\n",
        "fn x() {\n",
        "    y\n",
        "c\r\n",
        "end",
    ];
    let realistic = [
        "fn parse() {\n",
        "    let x = 1;\n",
        "    x + 1\n",
        "}\n",
        "\n",
        "// comment\n",
        "use a::b;\n",
        "    if ok {\n",
        "        go();\n",
        "    }\n",
        "struct S;\r\n",
        "last line",
    ];
    for case in 0..300 {
        let words: &[&str] = if case < 150 { &realistic } else { &adversarial };
        let gen = |len: u64, rnd: &mut dyn FnMut(u64) -> u64| {
            let mut s = String::new();
            for _ in 0..len {
                s.push_str(words[rnd(words.len() as u64) as usize]);
            }
            s
        };
        let n = rnd(30);
        let a = gen(n, &mut rnd);
        let mut b_lines: Vec<&str> = a.split_inclusive('\n').collect();
        let extra = gen(6, &mut rnd);
        for _ in 0..rnd(5) + 1 {
            let at = rnd(b_lines.len() as u64 + 1) as usize;
            match rnd(3) {
                0 if !b_lines.is_empty() && at < b_lines.len() => {
                    b_lines.remove(at);
                }
                _ => b_lines.insert(at.min(b_lines.len()), &extra),
            }
        }
        let b: String = b_lines.concat();
        let (pa, pb) = (tmp.path().join("a"), tmp.path().join("b"));
        std::fs::write(&pa, &a).unwrap();
        std::fs::write(&pb, &b).unwrap();
        let out = Command::new("git")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .args(["diff", "--no-index", "--no-color", "-U3"])
            .arg(&pa)
            .arg(&pb)
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        let expected: String = match text.find("\n@@ ") {
            Some(i) => text[i + 1..]
                .split_inclusive('\n')
                .map(|l| gitdiff::hunk_header(l).unwrap_or_else(|| l.to_string()))
                .collect(),
            None => String::new(),
        };
        let got = String::from_utf8(orch::git::diff::unified(a.as_bytes(), b.as_bytes())).unwrap();
        if got != expected {
            mismatched.push((case, a.clone(), b.clone(), got, expected.clone()));
        }
        let plus = expected.lines().filter(|l| l.starts_with('+')).count();
        let minus = expected.lines().filter(|l| l.starts_with('-')).count();
        assert_eq!(
            orch::git::diff::line_stat(a.as_bytes(), b.as_bytes()),
            (plus, minus),
            "case {case}"
        );
    }
    // Runs of repeated lines leave a diff free to place a slider in several places; git's
    // xdiff has one answer, and so must orch.
    assert!(
        mismatched.is_empty(),
        "hunks differ from git in {} of 300 cases, first: {:?}",
        mismatched.len(),
        mismatched.first()
    );
}

#[test]
fn never_reached_execute_is_a_state_error() {
    let e = repo(false);
    e.orch_ok(&["task", "new", "T-3", "--title", "Early"]);
    let o = e.orch(&["changes", "T-3"]).output();
    assert_eq!(o.status.code(), Some(4));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("T-3 never reached the execute phase"), "{err}");
    e.orch_ok(&["session", "start", "T-3"]);
    let o = e.orch(&["changes", "T-3", "--stdout"]).output();
    assert_eq!(o.status.code(), Some(4));
    assert!(!e.path(".orchestration/tasks/T-3/CHANGES.md").exists());
}

#[test]
fn empty_range_says_no_code_changes_and_rewriting_is_idempotent() {
    let e = repo(false);
    e.task_in_execute("T-4");
    let out = e.orch_ok(&["changes", "T-4"]);
    assert!(out.contains("no code changes"), "{out}");
    let path = e.path(".orchestration/tasks/T-4/CHANGES.md");
    let first = std::fs::read_to_string(&path).unwrap();
    assert!(first.contains("No code changes."), "{first}");
    e.write("x.rs", "x\n");
    e.commit_all("x");
    e.orch_ok(&["changes", "T-4"]);
    let second = std::fs::read(&path).unwrap();
    // orch's own commit of CHANGES.md changes nothing: same bytes, nothing to write.
    e.commit_all("orch(T-4): changes");
    let out = e.orch_ok(&["changes", "T-4"]);
    assert!(out.contains("up to date"), "{out}");
    assert_eq!(std::fs::read(&path).unwrap(), second);
    let stdout = e.orch_ok(&["changes", "T-4", "--stdout"]);
    assert_eq!(
        stdout.as_bytes(),
        &second[..],
        "--stdout prints exactly the file"
    );
    // Entering review regenerates it in the transition; same content as before.
    let o = e.orch_ok(&["phase", "complete", "T-4", "--override", "--reason", "t"]);
    assert!(!o.is_empty());
    assert_eq!(std::fs::read(&path).unwrap(), second);
}

#[test]
fn entering_review_writes_changes_md() {
    let e = repo(true);
    e.task_in_execute("T-5");
    let base = e.range("T-5").0.unwrap();
    e.write("lib.rs", "pub fn f() {}\n");
    let head = e.commit_all("feature");
    e.to_review("T-5");
    let md = std::fs::read_to_string(e.path(".orchestration/tasks/T-5/CHANGES.md")).unwrap();
    assert!(md.contains("**1 file changed, 1 insertion(+)**"), "{md}");
    assert!(
        md.contains(&format!("`{}`..`{}`", &base[..7], &head[..7])),
        "{md}"
    );
    assert!(md.contains("| `lib.rs` | added | 1 | 0 |"), "{md}");
    assert!(
        md.contains(&format!("| `{}` | — | feature |", &head[..7])),
        "the commit is listed: {md}"
    );
}

#[test]
fn rewritten_history_is_explained_and_fixed_with_base() {
    let e = repo(false);
    e.write("a.txt", "a\n");
    e.commit_all("before");
    e.task_in_execute("T-6");
    e.write("a.txt", "a\nb\n");
    e.commit_all("work");
    // Rewrite the commit the range starts from (and everything after it).
    e.git(&["reset", "-q", "--soft", "HEAD~3"]);
    e.commit_all("squashed");
    let o = e.orch(&["changes", "T-6", "--stdout"]).output();
    assert_eq!(o.status.code(), Some(4));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("is not an ancestor of"), "{err}");
    assert!(err.contains("orch changes T-6 --base"), "{err}");
    let new_base = e.git(&["rev-parse", "HEAD~1"]).trim().to_string();
    e.orch_ok(&["changes", "T-6", "--base", &new_base[..9]]);
    assert_eq!(
        e.range("T-6").0.as_deref(),
        Some(new_base.as_str()),
        "re-recorded"
    );
    let o = e.orch(&["changes", "T-6", "--stdout"]).output();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // A head that is gone from the repository is named too.
    let o = e
        .orch(&[
            "changes",
            "T-6",
            "--stdout",
            "--base",
            "0123456789abcdef0123456789abcdef01234567",
        ])
        .output();
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn links_are_recorded_without_touching_the_rest() {
    let e = repo(false);
    e.orch_ok(&["task", "new", "T-7", "--title", "Linked"]);
    let path = e.path(".orchestration/tasks/T-7/TASK.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let (fm_end, _) = text.match_indices("\n---\n").next().unwrap();
    let custom = format!(
        "{}\n# a comment the user wrote\n{}",
        &text[..fm_end],
        &text[fm_end..]
    );
    std::fs::write(&path, &custom).unwrap();
    let body = custom[fm_end..].to_string();
    let sha = e.head();
    e.orch_ok(&[
        "task",
        "link",
        "T-7",
        "--pr",
        "https://github.com/o/r/pull/12",
    ]);
    e.orch_ok(&[
        "task",
        "link",
        "T-7",
        "--issue",
        "https://github.com/o/r/issues/3",
    ]);
    e.orch_ok(&["task", "link", "T-7", "--commit", &sha[..8]]);
    let again = e.orch_ok(&[
        "task",
        "link",
        "T-7",
        "--pr",
        "https://github.com/o/r/pull/12",
    ]);
    assert!(again.contains("already links"), "{again}");
    let after = std::fs::read_to_string(&path).unwrap();
    assert!(
        after.ends_with(&body[body.find("\n---\n").unwrap()..]),
        "body kept:\n{after}"
    );
    assert!(after.contains("# a comment the user wrote"), "{after}");
    assert!(
        after.starts_with(&custom[..fm_end]),
        "fields before links kept:\n{after}"
    );
    let show = e.json(&["task", "show", "T-7"]);
    let links: Vec<(String, String)> = show["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["kind"].as_str().unwrap().into(),
                l["target"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        links,
        vec![
            ("pr".into(), "https://github.com/o/r/pull/12".into()),
            ("issue".into(), "https://github.com/o/r/issues/3".into()),
            ("commit".into(), sha.clone()),
        ]
    );
    let human = e.orch_ok(&["task", "show", "T-7"]);
    assert!(
        human.contains("link:        pr https://github.com/o/r/pull/12"),
        "{human}"
    );
    let o = e
        .orch(&["task", "link", "T-7", "--commit", "not-hex"])
        .output();
    assert_eq!(o.status.code(), Some(2));
    // A revision is recorded as the commit it names, as `bug resolve --commit` takes it.
    let parent = e.git(&["rev-parse", "HEAD~1"]).trim().to_string();
    e.orch_ok(&["task", "link", "T-7", "--commit", "HEAD~1"]);
    let show = e.json(&["task", "show", "T-7"]);
    let last = show["links"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["target"], parent.as_str(), "{show}");
}

#[test]
fn base_and_head_take_parent_suffixes_like_git() {
    let e = repo(false);
    e.task_in_execute("T-9");
    e.write("a.txt", "a\n");
    e.commit_all("one");
    e.write("b.txt", "b\n");
    e.commit_all("two");
    let base = e.git(&["rev-parse", "HEAD~2"]).trim().to_string();
    let head = e.git(&["rev-parse", "HEAD^"]).trim().to_string();
    let out = e.orch_ok(&[
        "changes", "T-9", "--stdout", "--base", "HEAD~2", "--head", "HEAD^",
    ]);
    assert!(
        out.contains(&format!("`{}`..`{}`", &base[..7], &head[..7])),
        "{out}"
    );
    assert!(out.contains("`a.txt`") && !out.contains("`b.txt`"), "{out}");
    let o = e
        .orch(&["changes", "T-9", "--stdout", "--base", "HEAD~999"])
        .output();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("\"HEAD~999\""), "{err}");
}
