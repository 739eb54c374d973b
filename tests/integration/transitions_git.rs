//! Acceptance tests of git-native transitions, through the real `orch` binary and checked with
//! the real `git` binary: every state change is one clean commit of the task folder only, the
//! user's index is left alone, failures put everything back, and concurrent or killed
//! processes never lose or duplicate a transition.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;

/// A repository of a few user files, in one commit, on the wall clock as for a user. These
/// tests are about how transitions commit, with the user's own changes left staged, so the
/// repository's workflow turns execute's code gates off.
fn repo_builder() -> Builder {
    user_files(Env::builder().clock(Clock::Wall).file(
        ".orchestration/workflow.yaml",
        workflow_without_code_gates(),
    ))
}

/// The user files of [`repo_builder`] added to `b`, and committed.
fn user_files(b: Builder) -> Builder {
    b.file("a.txt", "a\n")
        .file("del.txt", "delete me\n")
        .file("script.sh", "#!/bin/sh\necho hi\n")
        .file("keep.txt", "keep\n")
        .file("src/lib.rs", "pub fn x() {}\n")
        .file("other/x.txt", "outside\n")
        .commit("initial")
}

/// An empty directory `repo` (not yet a repository).
fn empty() -> Env {
    Env::builder().clock(Clock::Wall).no_git().build()
}

/// `git init` with one commit of a few user files.
fn repo() -> Env {
    repo_builder().build()
}

/// A repository with orch initialised, TSK-1 created with the artifacts of every phase
/// written, and a session started (in intake).
fn started() -> Env {
    let fx = repo_builder().orch_init().build();
    fx.task_with_artifacts("TSK-1");
    fx.orch_ok(&["session", "start", "TSK-1"]);
    fx
}

/// What these tests do to a repository, on top of the harness.
trait TransitionsEnv {
    fn task_with_artifacts(&self, code: &str);
    fn write_artifacts(&self, code: &str);
}

impl TransitionsEnv for Env {
    /// `orch task new`, then the artifacts of every phase written by hand.
    fn task_with_artifacts(&self, code: &str) {
        self.orch_ok(&[
            "task",
            "new",
            code,
            "--title",
            &format!("Task {code}"),
            "--description",
            "Make the thing work.",
        ]);
        self.write_artifacts(code);
    }

    fn write_artifacts(&self, code: &str) {
        self.fill_task(code);
        for name in ["CONTEXT", "PLAN", "REVIEW", "SUMMARY"] {
            self.write(
                &format!(".orchestration/tasks/{code}/{name}.md"),
                filled_artifact(code, &format!("{name}.md")),
            );
        }
    }
}

#[derive(Debug, PartialEq, Eq, Clone)]
enum Node {
    Dir,
    File { exec: bool, bytes: Vec<u8> },
    Link(PathBuf),
    Other,
}

/// Every file, directory and symlink below `dir`, with content and executable bit.
/// FIFOs and the like are listed but never opened. With `skip_git`, `.git` is left out.
fn snapshot(dir: &Path, skip_git: bool) -> BTreeMap<PathBuf, Node> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let rel = p.strip_prefix(dir).unwrap().to_path_buf();
            if skip_git && rel == Path::new(".git") {
                continue;
            }
            let md = std::fs::symlink_metadata(&p).unwrap();
            let node = if md.is_dir() {
                stack.push(p.clone());
                Node::Dir
            } else if md.is_symlink() {
                Node::Link(std::fs::read_link(&p).unwrap())
            } else if md.is_file() {
                Node::File {
                    exec: md.permissions().mode() & 0o111 != 0,
                    bytes: std::fs::read(&p).unwrap(),
                }
            } else {
                Node::Other
            };
            out.insert(rel, node);
        }
    }
    out
}

#[track_caller]
fn assert_same_tree(before: &BTreeMap<PathBuf, Node>, after: &BTreeMap<PathBuf, Node>, what: &str) {
    if before == after {
        return;
    }
    let mut diffs = Vec::new();
    for (k, v) in before {
        match after.get(k) {
            None => diffs.push(format!("removed {}", k.display())),
            Some(w) if w != v => diffs.push(format!("changed {}", k.display())),
            _ => {}
        }
    }
    for k in after.keys() {
        if !before.contains_key(k) {
            diffs.push(format!("added {}", k.display()));
        }
    }
    panic!("{what} changed:\n  {}", diffs.join("\n  "));
}

/// A small deterministic random number generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn seed() -> u64 {
    std::env::var("ORCH_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        })
}

// ---------------------------------------------------------------------------------------------
// Every command leaves a consistent repository.

/// What the user has staged and changed outside orch's folder, to compare after each command.
struct UserState {
    cached: Vec<u8>,
    unstaged: Vec<u8>,
}

fn user_state(fx: &Env) -> UserState {
    UserState {
        cached: fx.git_bytes(&["diff", "--cached", "--binary", "--full-index"]),
        unstaged: fx.git_bytes(&[
            "diff",
            "--binary",
            "--full-index",
            "--",
            ".",
            ":(exclude).orchestration",
        ]),
    }
}

/// The checks after each command of the sequence. `trailers` names the task and phase the
/// commit must carry; `clean_index` says nothing else was staged.
#[track_caller]
fn check_after(
    fx: &Env,
    what: &str,
    head_before: Option<&str>,
    user: &UserState,
    trailers: Option<(&str, &str)>,
    clean_index: bool,
) {
    fx.fsck();
    fx.assert_orch_clean();
    // One commit, on top of the previous HEAD, containing only orch's folder.
    let parents = fx.git(&["rev-list", "--parents", "-n", "1", "HEAD"]);
    let parents: Vec<&str> = parents.split_whitespace().skip(1).collect();
    assert_eq!(
        parents,
        head_before.into_iter().collect::<Vec<_>>(),
        "{what}: not one commit on top of the previous HEAD"
    );
    let files = fx.git(&[
        "diff-tree",
        "--root",
        "--no-commit-id",
        "--name-only",
        "-r",
        "HEAD",
    ]);
    assert!(!files.trim().is_empty(), "{what}: an empty commit");
    for f in files.lines() {
        assert!(
            f.starts_with(".orchestration/"),
            "{what}: the commit contains {f}"
        );
    }
    let now = user_state(fx);
    assert!(
        now.cached == user.cached,
        "{what}: git diff --cached changed:\nbefore:\n{}\nafter:\n{}",
        String::from_utf8_lossy(&user.cached),
        String::from_utf8_lossy(&now.cached)
    );
    assert!(
        now.unstaged == user.unstaged,
        "{what}: the user's unstaged changes changed"
    );
    if let Some((code, phase)) = trailers {
        let t = fx.git(&["log", "-1", "--format=%(trailers)"]);
        assert!(
            t.contains(&format!("Orchestration-Task: {code}\n")),
            "{what}: trailers {t:?}"
        );
        assert!(
            t.contains("Orchestration-Session: "),
            "{what}: trailers {t:?}"
        );
        assert!(
            t.contains(&format!("Orchestration-Phase: {phase}\n")),
            "{what}: trailers {t:?}"
        );
    }
    if clean_index {
        let tree = fx.git(&["write-tree"]);
        let head_tree = fx.git(&["rev-parse", "HEAD^{tree}"]);
        assert_eq!(tree, head_tree, "{what}: git write-tree differs from HEAD");
    }
    // The user's next plain `git commit` keeps everything orch committed: made in a copy,
    // so the sequence goes on with the user's changes still staged.
    let copy = fx.base.join("copy");
    let _ = std::fs::remove_dir_all(&copy);
    let st = Command::new("cp")
        .arg("-a")
        .arg(&fx.root)
        .arg(&copy)
        .status()
        .unwrap();
    assert!(st.success());
    fx.git_in(
        &copy,
        &["commit", "-q", "--allow-empty", "-m", "user commit"],
    );
    let a = fx.git_in(&copy, &["rev-parse", "HEAD~1:.orchestration"]);
    let b = fx.git_in(&copy, &["rev-parse", "HEAD:.orchestration"]);
    assert_eq!(
        a, b,
        "{what}: the user's next git commit changes .orchestration"
    );
    let changed = fx.git_in(&copy, &["diff", "--name-only", "HEAD~1", "HEAD"]);
    let staged = fx.git(&["diff", "--cached", "--name-only"]);
    assert_eq!(
        changed, staged,
        "{what}: the user's commit is not what they staged"
    );
    std::fs::remove_dir_all(&copy).unwrap();
}

/// Runs every committing command once, checking the repository after each.
fn run_sequence(fx: &Env, clean_index: bool) {
    let user = user_state(fx);
    let code = "TSK-1";
    let mut head: Option<String> = fx
        .git_raw(&["rev-parse", "-q", "--verify", "HEAD"])
        .status
        .success()
        .then(|| fx.head());

    let mut step = |args: &[&str], phase: Option<&str>| {
        fx.orch_ok(args);
        let what = format!("orch {}", args.join(" "));
        check_after(
            fx,
            &what,
            head.as_deref(),
            &user,
            phase.map(|p| (code, p)),
            clean_index,
        );
        head = Some(fx.head());
    };
    // `init` has no task, session or phase to name: its commit carries no trailers.
    step(&["init"], None);
    step(
        &[
            "task",
            "new",
            code,
            "--title",
            "First task",
            "--description",
            "Make it work.",
        ],
        Some("intake"),
    );
    fx.write_artifacts(code);
    step(&["session", "start", code], Some("intake"));
    step(&["phase", "complete", code], Some("research"));
    step(
        &["phase", "complete", code, "--from", "research"],
        Some("plan"),
    );
    step(&["phase", "set", code, "research"], Some("research"));
    step(&["phase", "set", code, "plan"], Some("plan"));
    step(&["phase", "complete", code], Some("execute"));
    step(
        &[
            "event",
            "add",
            code,
            "execute.test_run",
            "--data",
            r#"{"cmd":"cargo test","passed":true}"#,
            "--commit",
        ],
        Some("execute"),
    );
    step(&["phase", "complete", code], Some("review"));
    step(&["phase", "complete", code], Some("close"));
    step(&["session", "end", code], Some("close"));
    assert_eq!(fx.session_json(code)["active"], false);
}

#[test]
fn every_command_keeps_the_users_staged_changes() {
    let fx = repo().set_var("ORCH_NOW", START);
    // Staged: a new file, a modification, a deletion and an executable-bit change; plus an
    // unstaged modification that must stay unstaged.
    fx.write("new.txt", "new\n");
    fx.write("a.txt", "a changed\n");
    fx.git(&["add", "new.txt", "a.txt"]);
    fx.git(&["rm", "-q", "del.txt"]);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(fx.path("script.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    fx.git(&["add", "script.sh"]);
    fx.write("keep.txt", "keep, changed but not staged\n");
    let cached = fx.git(&["diff", "--cached", "--name-status"]);
    assert_eq!(cached, "M\ta.txt\nD\tdel.txt\nA\tnew.txt\nM\tscript.sh\n");

    run_sequence(&fx, false);

    // The user's real commit: exactly what they staged, and orch's work stays.
    let orch_tree = fx.git(&["rev-parse", "HEAD:.orchestration"]);
    fx.git(&["commit", "-q", "-m", "user work"]);
    assert_eq!(fx.git(&["rev-parse", "HEAD:.orchestration"]), orch_tree);
    assert_eq!(
        fx.git(&["diff", "--name-status", "HEAD~1", "HEAD"]),
        "M\ta.txt\nD\tdel.txt\nA\tnew.txt\nM\tscript.sh\n"
    );
    assert_eq!(fx.git(&["ls-files", "-s", "script.sh"])[..6], *"100755");
    assert_eq!(fx.git(&["status", "--porcelain"]), " M keep.txt\n");
    fx.fsck();
}

#[test]
fn every_command_with_a_clean_index_matches_write_tree() {
    let fx = repo().set_var("ORCH_NOW", START);
    run_sequence(&fx, true);
    assert_eq!(fx.git(&["status", "--porcelain"]), "");
    // The log reads as the transitions, one commit each.
    let log = fx.git(&["log", "--reverse", "--format=%s"]);
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 13, "{log}");
    assert_eq!(lines[1], "orch: initialise .orchestration");
    assert_eq!(lines[4], "orch(TSK-1): intake -> research");
    assert!(
        lines[6].starts_with("orch(TSK-1): plan -> research"),
        "{log}"
    );
    assert_eq!(lines[12], "orch(TSK-1): session end (close)");
}

// ---------------------------------------------------------------------------------------------
// All or nothing.

/// Everything a failed command must leave as it was: the worktree (bytes, modes), the index
/// file, HEAD and every ref.
struct Before {
    tree: BTreeMap<PathBuf, Node>,
    index: Vec<u8>,
    refs: String,
    head: String,
}

fn before(fx: &Env) -> Before {
    Before {
        tree: snapshot(&fx.root, true),
        index: std::fs::read(fx.git_dir().join("index")).unwrap(),
        refs: fx.git(&["show-ref", "--head"]),
        head: fx.head(),
    }
}

#[track_caller]
fn assert_unchanged(fx: &Env, b: &Before) {
    assert_same_tree(&b.tree, &snapshot(&fx.root, true), "the worktree");
    assert!(
        std::fs::read(fx.git_dir().join("index")).unwrap() == b.index,
        "the index file changed"
    );
    assert_eq!(fx.git(&["show-ref", "--head"]), b.refs, "refs changed");
    assert_eq!(fx.head(), b.head);
    let pending = fx.git_dir().join("orchestration/pending");
    let left: Vec<_> = std::fs::read_dir(&pending)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "journal files left: {left:?}");
}

#[test]
fn index_lock_held_is_exit_5_and_files_are_put_back() {
    let fx = started();
    fx.write("a.txt", "staged by the user\n");
    fx.git(&["add", "a.txt"]);
    let lock = fx.git_dir().join("index.lock");
    std::fs::write(&lock, b"").unwrap();
    let b = before(&fx);
    for args in [
        &["phase", "complete", "TSK-1"][..],
        &["session", "start", "TSK-1", "--new", "--session-key", "s2"][..],
        &["event", "add", "TSK-1", "custom.note", "--commit"][..],
    ] {
        let out = fx.orch(args).output();
        assert_exit(&out, 5, "index.lock");
        assert_unchanged(&fx, &b);
    }
    std::fs::remove_file(&lock).unwrap();
    fx.orch_ok(&["phase", "complete", "TSK-1"]);
    assert_eq!(fx.phase("TSK-1"), "research");
    fx.assert_orch_clean();
    assert_eq!(fx.git(&["diff", "--cached", "--name-only"]), "a.txt\n");
}

#[test]
fn ref_lock_held_is_exit_5_and_files_are_put_back() {
    let fx = started();
    let lock = fx.git_dir().join("refs/heads/main.lock");
    std::fs::write(&lock, b"").unwrap();
    let b = before(&fx);
    let out = fx.orch(&["phase", "complete", "TSK-1"]).output();
    assert_exit(&out, 5, "main.lock");
    // The lock is not orch's to remove; and the index lock it took is gone.
    assert!(lock.exists());
    std::fs::remove_file(&lock).unwrap();
    assert_unchanged(&fx, &b);
    fx.orch_ok(&["phase", "complete", "TSK-1"]);
    fx.assert_orch_clean();
}

/// The branch moves while orch is committing: orch reads `.gitattributes` files while it
/// hashes the task folder, after it has read HEAD and before it moves the ref, so a FIFO there
/// holds it at that point until the test has moved the branch.
#[cfg(target_os = "linux")]
#[test]
fn branch_moved_during_commit_is_exit_5_and_files_are_put_back() {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    const O_NONBLOCK: i32 = 0o4000;

    let fx = started();
    fx.write("a.txt", "staged by the user\n");
    fx.git(&["add", "a.txt"]);
    let head = fx.head();
    // A commit to move the branch to, made without touching the index.
    let moved = fx
        .git(&["commit-tree", "-p", &head, "-m", "moved", "HEAD^{tree}"])
        .trim()
        .to_owned();
    let fifo = fx.path(".orchestration/tasks/.gitattributes");
    let st = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(st.success());
    let b = before(&fx);

    let mut child = fx
        .orch(&["phase", "complete", "TSK-1"])
        .command()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut moved_ref = false;
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        assert!(Instant::now() < deadline, "orch never finished");
        // Opening for writing without blocking succeeds only once orch has it open.
        match std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(O_NONBLOCK)
            .open(&fifo)
        {
            Ok(mut f) => {
                if !moved_ref {
                    fx.git(&["update-ref", "refs/heads/main", &moved, &head]);
                    moved_ref = true;
                }
                let _ = f.write_all(b"\n");
            }
            Err(_) => std::thread::sleep(Duration::from_millis(2)),
        }
    }
    let out = child.wait_with_output().unwrap();
    std::fs::remove_file(&fifo).unwrap();
    assert!(moved_ref, "orch never read the .gitattributes FIFO");
    assert_exit(&out, 5, "HEAD moved");
    // Everything but the branch is as it was.
    let mut b = b;
    b.tree
        .remove(Path::new(".orchestration/tasks/.gitattributes"));
    b.refs = b.refs.replace(&head, &moved);
    b.head = moved.clone();
    assert_unchanged(&fx, &b);
    assert_eq!(fx.phase("TSK-1"), "intake");
    fx.fsck();
    fx.orch_ok(&["phase", "complete", "TSK-1", "--from", "intake"]);
    assert_eq!(
        fx.git(&["rev-parse", "HEAD~1"]).trim(),
        moved,
        "the retry builds on the moved branch"
    );
    fx.assert_orch_clean();
    assert_eq!(fx.git(&["diff", "--cached", "--name-only"]), "a.txt\n");
}

#[test]
fn no_identity_is_exit_4_before_any_file_is_written() {
    let fx = started()
        .unset_var("GIT_AUTHOR_NAME")
        .unset_var("GIT_AUTHOR_EMAIL")
        .unset_var("GIT_COMMITTER_NAME")
        .unset_var("GIT_COMMITTER_EMAIL");
    let b = before(&fx);
    for args in [
        &["phase", "complete", "TSK-1"][..],
        &["phase", "set", "TSK-1", "research"][..],
        &["session", "start", "TSK-1", "--new", "--session-key", "s2"][..],
        &["session", "end", "TSK-1", "--force", "--reason", "x"][..],
        &["event", "add", "TSK-1", "custom.note", "--commit"][..],
        &["task", "new", "TSK-2", "--title", "Two"][..],
    ] {
        let out = fx.orch(args).output();
        assert_exit(&out, 4, "identity");
        assert_unchanged(&fx, &b);
    }
    // `orch init` in a fresh repository: nothing created.
    let fresh = fx.base.join("fresh");
    std::fs::create_dir(&fresh).unwrap();
    fx.git_in(&fresh, &["init", "-q", "-b", "main"]);
    let snap = snapshot(&fresh, false);
    let out = fx.orch(&["init"]).current_dir(&fresh).output();
    assert_exit(&out, 4, "identity");
    let after = snapshot(&fresh, false);
    let added: Vec<_> = after
        .keys()
        .filter(|k| !snap.contains_key(*k))
        .filter(|k| !k.starts_with(".git/orchestration"))
        .collect();
    assert!(added.is_empty(), "init wrote {added:?}");
    assert!(!fresh.join(".orchestration/config.toml").exists());
}

// ---------------------------------------------------------------------------------------------
// Concurrency: many processes race the same transition.

#[test]
fn racing_processes_each_transition_happens_exactly_once() {
    const PROCS: usize = 8;
    const ROUNDS: usize = 50;
    // Losers wait for the orch lock and then see the task has moved; give slow machines room.
    let fx = started().set_var("ORCH_LOCK_TIMEOUT_MS", "60000");
    let start = Instant::now();
    let mut winners = BTreeSet::new();
    for round in 0..ROUNDS {
        let mut phase = fx.phase("TSK-1");
        if phase == "close" {
            fx.orch_ok(&["phase", "set", "TSK-1", "intake", "--from", "close"]);
            phase = "intake".into();
        }
        let children: Vec<Child> = (0..PROCS)
            .map(|_| {
                fx.orch(&["--json", "phase", "complete", "TSK-1", "--from", &phase])
                    .command()
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let outs: Vec<Output> = children
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .collect();
        let mut won = 0;
        for out in &outs {
            let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
                panic!(
                    "round {round}: not JSON ({e}): {}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                )
            });
            match out.status.code() {
                Some(0) => {
                    won += 1;
                    assert_eq!(json["from"], phase.as_str());
                    assert_eq!(json["to"], next_phase(&phase));
                    let commit = json["commit"].as_str().expect("a commit").to_owned();
                    assert!(winners.insert(commit));
                }
                Some(5) => {
                    let msg = json["error"]["message"].as_str().unwrap();
                    assert!(
                        msg.contains(&format!("not {phase}: someone else moved it")),
                        "round {round}: unclear loser message {msg:?}"
                    );
                }
                other => panic!(
                    "round {round}: exit {other:?}: {}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ),
            }
        }
        assert_eq!(won, 1, "round {round} ({phase}): {won} winners");
        assert_eq!(fx.phase("TSK-1"), next_phase(&phase));
    }
    eprintln!(
        "{ROUNDS} rounds of {PROCS} racing processes in {:?}",
        start.elapsed()
    );

    fx.fsck();
    fx.assert_orch_clean();
    // The history: exactly the winners' commits as forward transitions, in a single line.
    let log = fx.git(&["log", "--first-parent", "--format=%H %P|%s"]);
    let mut completes = BTreeSet::new();
    for line in log.lines() {
        let (ids, subject) = line.split_once('|').unwrap();
        let ids: Vec<&str> = ids.split_whitespace().collect();
        assert!(ids.len() <= 2, "a merge commit: {line}");
        if subject.contains(" -> ") && !subject.contains("reopen") {
            completes.insert(ids[0].to_owned());
        }
    }
    assert_eq!(completes, winners);
    // Every event exactly once, and the log only ever grew.
    let events =
        String::from_utf8(fx.read_bytes(".orchestration/tasks/TSK-1/events.jsonl")).unwrap();
    let ids: Vec<String> = events
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["id"].as_str().unwrap().to_owned()
        })
        .collect();
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "duplicated event ids");
    let completed_events = events
        .lines()
        .filter(|l| l.contains(r#""transition":"complete""#) && l.contains(".end\""))
        .count();
    assert_eq!(completed_events, ROUNDS, "phase-end events vs transitions");
    let path = ".orchestration/tasks/TSK-1/events.jsonl";
    let commits = fx.git(&["rev-list", "HEAD", "--", path]);
    let mut total_added = 0;
    for c in commits.lines() {
        let new = fx.git(&["show", &format!("{c}:{path}")]);
        let old = fx.git_raw(&["show", &format!("{c}~1:{path}")]).stdout;
        let old = String::from_utf8(old).unwrap();
        assert!(new.starts_with(&old), "{c} rewrote earlier events");
        total_added += new.lines().count() - old.lines().count();
    }
    assert_eq!(
        total_added,
        ids.len(),
        "events not accounted for by commits"
    );
}

// ---------------------------------------------------------------------------------------------
// Crashes: orch killed at random moments.

#[test]
fn killed_at_random_moments_the_repository_stays_consistent() {
    const TRANSITIONS: usize = 200;
    let fx = started();
    let seed = seed();
    eprintln!("crash test seed: ORCH_TEST_SEED={seed}");
    let mut rng = Rng(seed);
    let git_dir = fx.git_dir();
    let pending = git_dir.join("orchestration/pending");
    // Kills must be able to land anywhere in a transition, the commit and the index update
    // at its end included: on a machine where syncing the files makes a transition take
    // longer than 30 ms, the range grows to cover it.
    let mut longest = Duration::ZERO;
    for _ in 0..3 {
        let t = Instant::now();
        fx.orch_ok(&["phase", "complete", "TSK-1"]);
        longest = longest.max(t.elapsed());
    }
    let range_ms = (longest.as_millis() as u64 * 5 / 4).max(30);
    let start = Instant::now();
    let (mut landed, mut recovered, mut recovered_landed, mut finished) = (0, 0, 0, 0);
    for i in 0..TRANSITIONS {
        let head = fx.head();
        let session = fx.read_bytes(".orchestration/tasks/TSK-1/session.json");
        let phase = fx.phase("TSK-1");
        let (args, target): (Vec<&str>, &str) = if phase == "close" {
            (vec!["phase", "set", "TSK-1", "intake"], "intake")
        } else {
            (vec!["phase", "complete", "TSK-1"], next_phase(&phase))
        };
        let mut child = fx
            .orch(&args)
            .command()
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(rng.below(range_ms + 1)));
        let _ = child.kill();
        let status = child.wait().unwrap();
        if status.success() {
            finished += 1;
        }
        let journal = std::fs::read_dir(&pending).is_ok_and(|rd| {
            rd.flatten()
                .any(|e| e.path().extension().is_some_and(|x| x == "json"))
        });
        if journal {
            recovered += 1;
        }

        // One command later everything is consistent again.
        let out = fx.orch(&["status", "TSK-1"]).output();
        assert!(
            out.status.success(),
            "iteration {i} (seed {seed}): orch status failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        for lock in [
            git_dir.join("index.lock"),
            git_dir.join("HEAD.lock"),
            git_dir.join("refs/heads/main.lock"),
        ] {
            assert!(
                !lock.exists(),
                "iteration {i} (seed {seed}): {} left",
                lock.display()
            );
        }
        // Nothing of the killed process is left behind: no journal, no temporary file.
        let left: Vec<_> = std::fs::read_dir(&pending)
            .map(|rd| rd.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        assert!(
            left.is_empty(),
            "iteration {i} (seed {seed}): left {left:?}"
        );
        let temps: Vec<_> = std::fs::read_dir(git_dir.join("orchestration"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".orch-tmp-"))
            .collect();
        assert!(
            temps.is_empty(),
            "iteration {i} (seed {seed}): left {temps:?}"
        );
        let st = fx.git(&["status", "--porcelain", "--", ".orchestration"]);
        assert_eq!(st, "", "iteration {i} (seed {seed}): git status");
        let diff = fx.git(&["diff", "HEAD", "--", ".orchestration"]);
        assert_eq!(diff, "", "iteration {i} (seed {seed}): worktree vs HEAD");
        let now = fx.read_bytes(".orchestration/tasks/TSK-1/session.json");
        if now == session {
            assert_eq!(
                fx.head(),
                head,
                "iteration {i}: HEAD moved, session.json did not"
            );
            assert!(!status.success(), "iteration {i}: success without a change");
        } else {
            landed += 1;
            recovered_landed += usize::from(journal);
            assert_eq!(
                fx.git(&["rev-parse", "HEAD~1"]).trim(),
                head,
                "iteration {i} (seed {seed}): not one commit on the old HEAD"
            );
            assert_eq!(fx.phase("TSK-1"), target, "iteration {i}: a third state");
        }
        if i % 25 == 24 {
            fx.fsck();
        }
    }
    fx.fsck();
    // The next command works as usual.
    let phase = fx.phase("TSK-1");
    if phase == "close" {
        fx.orch_ok(&["session", "end", "TSK-1"]);
    } else {
        fx.orch_ok(&["phase", "complete", "TSK-1"]);
    }
    fx.assert_orch_clean();
    fx.fsck();
    eprintln!(
        "{TRANSITIONS} kills after 0-{range_ms} ms in {:?}: {landed} transitions landed \
         ({finished} ran to the end), {recovered} recovered from a journal \
         ({recovered_landed} of them had landed)",
        start.elapsed()
    );
}

// ---------------------------------------------------------------------------------------------
// Git states that work.

#[test]
fn unborn_branch_first_command_works() {
    let fx = empty();
    fx.git(&["init", "-q", "-b", "trunk"]);
    fx.write("user.txt", "staged before the first commit\n");
    fx.git(&["add", "user.txt"]);
    fx.orch_ok(&["init"]);
    assert_eq!(fx.git(&["rev-list", "--count", "HEAD"]).trim(), "1");
    assert_eq!(fx.git(&["symbolic-ref", "HEAD"]).trim(), "refs/heads/trunk");
    let files = fx.git(&["ls-tree", "-r", "--name-only", "HEAD"]);
    assert_eq!(
        files,
        ".orchestration/.gitattributes\n.orchestration/config.toml\n"
    );
    // The user's file is still staged, not committed.
    assert_eq!(
        fx.git(&["diff", "--cached", "--name-status"]),
        "A\tuser.txt\n"
    );
    fx.fsck();
    fx.assert_orch_clean();
    fx.task_with_artifacts("TSK-1");
    fx.orch_ok(&["session", "start", "TSK-1"]);
    fx.assert_orch_clean();
    assert_eq!(fx.git(&["rev-list", "--count", "HEAD"]).trim(), "3");
}

#[test]
fn unborn_branch_task_new_works_without_init_commit() {
    // The branch is unborn again (orch's files untracked): the first commit is the task's.
    let fx = empty();
    fx.git(&["init", "-q", "-b", "main"]);
    fx.orch_ok(&["init"]);
    fx.git(&["update-ref", "-d", "refs/heads/main"]);
    fx.git(&["rm", "-q", "--cached", "-r", ".orchestration"]);
    assert!(!fx
        .git_raw(&["rev-parse", "-q", "--verify", "HEAD"])
        .status
        .success());
    fx.task_with_artifacts("TSK-1");
    assert_eq!(fx.git(&["rev-list", "--count", "HEAD"]).trim(), "1");
    let files = fx.git(&["ls-tree", "-r", "--name-only", "HEAD"]);
    assert_eq!(files, ".orchestration/tasks/TSK-1/TASK.md\n");
    fx.fsck();
}

#[test]
fn detached_head_moves_head_and_leaves_the_branch() {
    let fx = started();
    let main = fx.git(&["rev-parse", "refs/heads/main"]);
    fx.git(&["checkout", "-q", "--detach"]);
    let head = fx.head();
    fx.orch_ok(&["phase", "complete", "TSK-1"]);
    assert_eq!(fx.git(&["rev-parse", "HEAD~1"]).trim(), head);
    assert_eq!(fx.git(&["rev-parse", "refs/heads/main"]), main);
    assert!(
        !fx.git_raw(&["symbolic-ref", "-q", "HEAD"]).status.success(),
        "HEAD is no longer detached"
    );
    // The reflog of HEAD records it like git would.
    let reflog = fx.git(&["reflog", "-1", "--format=%gs", "HEAD"]);
    assert_eq!(reflog.trim(), "commit: orch(TSK-1): intake -> research");
    fx.fsck();
    fx.assert_orch_clean();
    assert_eq!(
        fx.git(&["write-tree"]),
        fx.git(&["rev-parse", "HEAD^{tree}"])
    );
}

#[test]
fn running_from_a_subfolder() {
    let fx = started();
    let sub = fx.path("src/deep/er");
    std::fs::create_dir_all(&sub).unwrap();
    let head = fx.head();
    fx.orch(&["phase", "complete", "TSK-1"])
        .current_dir(&sub)
        .succeeds();
    fx.orch(&["event", "add", "TSK-1", "custom.note", "--commit"])
        .current_dir(&sub)
        .succeeds();
    assert_eq!(fx.git(&["rev-parse", "HEAD~2"]).trim(), head);
    let files = fx.git(&["diff", "--name-only", &head, "HEAD"]);
    for f in files.lines() {
        assert!(f.starts_with(".orchestration/tasks/TSK-1/"), "{f}");
    }
    assert!(!sub.join(".orchestration").exists());
    fx.fsck();
    fx.assert_orch_clean();
}

#[test]
fn linked_worktree_has_its_own_head_index_lock_and_current_task() {
    let fx = repo();
    fx.orch_ok(&["init"]);
    fx.task_with_artifacts("TSK-1");
    fx.task_with_artifacts("TSK-2");
    // TASK.md's filled-in Problem committed for both tasks; the other artifacts stay untracked.
    fx.orch_ok(&["event", "add", "TSK-1", "custom.note", "--commit"]);
    fx.orch_ok(&["event", "add", "TSK-2", "custom.note", "--commit"]);
    let wt = fx.base.join("wt");
    fx.git(&["worktree", "add", "-q", "-b", "side", wt.to_str().unwrap()]);
    let base = fx.head();
    let main_index = std::fs::read(fx.git_dir().join("index")).unwrap();

    // In the linked worktree: commits go to `side`, its own index learns them.
    fx.orch(&["session", "start", "TSK-2"])
        .current_dir(&wt)
        .succeeds();
    fx.orch(&["phase", "complete", "TSK-2"])
        .current_dir(&wt)
        .succeeds();
    assert_eq!(fx.git(&["rev-parse", "refs/heads/main"]).trim(), base);
    assert_eq!(fx.git(&["rev-parse", "side~2"]).trim(), base);
    assert_eq!(
        fx.git_in(&wt, &["status", "--porcelain"]),
        "",
        "the linked worktree's index does not match"
    );
    assert!(
        std::fs::read(fx.git_dir().join("index")).unwrap() == main_index,
        "the main worktree's index changed"
    );
    // (TSK-1's artifacts are not committed yet in the main worktree.)
    assert_eq!(fx.git(&["status", "--porcelain", "-uno"]), "");
    let wt_git_dir = PathBuf::from(fx.git_in(&wt, &["rev-parse", "--absolute-git-dir"]).trim());
    assert_ne!(wt_git_dir, fx.git_dir());
    assert!(wt_git_dir.join("orchestration/lock").exists());
    assert_eq!(
        std::fs::read_to_string(wt_git_dir.join("orchestration/current-task")).unwrap(),
        "TSK-2\n"
    );
    assert!(!fx.git_dir().join("orchestration/current-task").exists());

    // In the main worktree: commits go to `main`; `side` stays.
    let side = fx.git(&["rev-parse", "refs/heads/side"]);
    fx.orch_ok(&["session", "start", "TSK-1"]);
    assert_eq!(fx.git(&["rev-parse", "HEAD~1"]).trim(), base);
    assert_eq!(fx.git(&["rev-parse", "refs/heads/side"]), side);
    assert_eq!(
        std::fs::read_to_string(fx.git_dir().join("orchestration/current-task")).unwrap(),
        "TSK-1\n"
    );
    assert_eq!(
        std::fs::read_to_string(wt_git_dir.join("orchestration/current-task")).unwrap(),
        "TSK-2\n"
    );
    // With no code given, each worktree acts on its own current task.
    fx.orch(&["phase", "complete"]).current_dir(&wt).succeeds();
    assert_eq!(
        fx.git(&["log", "-1", "--format=%s", "side"]).trim(),
        "orch(TSK-2): research -> plan"
    );
    assert_eq!(fx.git(&["status", "--porcelain"]), "");
    assert_eq!(fx.git_in(&wt, &["status", "--porcelain"]), "");
    fx.fsck();
}

#[test]
fn commit_false_writes_files_without_committing() {
    let fx = user_files(Env::builder().clock(Clock::Wall)).build();
    fx.write(".orchestration/config.toml", "[git]\ncommit = false\n");
    let head = fx.head();
    let index = std::fs::read(fx.git_dir().join("index")).unwrap();
    fx.orch_ok(&["init"]);
    fx.task_with_artifacts("TSK-1");
    fx.orch_ok(&["session", "start", "TSK-1"]);
    fx.orch_ok(&["phase", "complete", "TSK-1"]);
    fx.orch_ok(&["phase", "set", "TSK-1", "intake"]);
    fx.orch_ok(&["event", "add", "TSK-1", "custom.note", "--commit"]);
    fx.orch_ok(&["session", "end", "TSK-1", "--force", "--reason", "done"]);
    assert_eq!(fx.head(), head, "a commit was made");
    assert!(
        std::fs::read(fx.git_dir().join("index")).unwrap() == index,
        "the index changed"
    );
    assert_eq!(fx.git(&["status", "--porcelain"]), "?? .orchestration/\n");
    let s = fx.session_json("TSK-1");
    assert_eq!(s["active"], false);
    let events =
        String::from_utf8(fx.read_bytes(".orchestration/tasks/TSK-1/events.jsonl")).unwrap();
    assert!(events.contains("custom.note"));
    fx.fsck();

    // Without commits, no identity is needed either.
    let fx = fx
        .unset_var("GIT_AUTHOR_NAME")
        .unset_var("GIT_AUTHOR_EMAIL")
        .unset_var("GIT_COMMITTER_NAME")
        .unset_var("GIT_COMMITTER_EMAIL");
    fx.orch_ok(&["session", "start", "TSK-1", "--reopen"]);
    assert_eq!(fx.head(), head);
}

// ---------------------------------------------------------------------------------------------
// Git states that are refused: exit 4, a clear message, nothing changed.

/// Runs a committing command in a refused state and checks nothing at all changed, the git
/// directory included.
#[track_caller]
fn assert_refused(fx: &Env, dir: &Path, needle: &str) {
    let snap = snapshot(dir, false);
    for args in [
        &["phase", "complete", "TSK-1"][..],
        &["event", "add", "TSK-1", "custom.note", "--commit"][..],
    ] {
        let out = fx.orch(args).current_dir(dir).output();
        assert_exit(&out, 4, needle);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("hint:"), "no hint: {stderr}");
        let after = snapshot(dir, false);
        // orch may create its lock file (empty, in its own folder) before it looks.
        let mut after = after;
        if !snap.contains_key(Path::new(".git/orchestration/lock")) {
            after.remove(Path::new(".git/orchestration/lock"));
            after.remove(Path::new(".git/orchestration"));
        }
        assert_same_tree(&snap, &after, "the repository");
    }
}

#[test]
fn refuses_bare_repository() {
    let fx = started();
    let bare = fx.base.join("bare.git");
    fx.git(&["clone", "-q", "--bare", ".", bare.to_str().unwrap()]);
    let snap = snapshot(&bare, false);
    for args in [&["init"][..], &["phase", "complete", "TSK-1"][..]] {
        let out = fx.orch(args).current_dir(&bare).output();
        assert_exit(&out, 4, "bare repository");
        assert_same_tree(&snap, &snapshot(&bare, false), "the bare repository");
    }
}

#[test]
fn refuses_merge_in_progress() {
    let fx = started();
    fx.git(&["checkout", "-q", "-b", "side"]);
    fx.write("side.txt", "side\n");
    fx.git(&["add", "side.txt"]);
    fx.git(&["commit", "-q", "-m", "side"]);
    fx.git(&["checkout", "-q", "main"]);
    fx.write("m.txt", "main\n");
    fx.git(&["add", "m.txt"]);
    fx.git(&["commit", "-q", "-m", "main"]);
    fx.git(&["merge", "-q", "--no-commit", "--no-ff", "side"]);
    assert!(fx.git_dir().join("MERGE_HEAD").exists());
    assert_refused(&fx, &fx.root, "merge is in progress");
}

#[test]
fn refuses_rebase_in_progress() {
    let fx = started();
    let mut c = fx.git_cmd(&["rebase", "-q", "-i", "HEAD~1"]);
    c.env("GIT_SEQUENCE_EDITOR", "sed -i -e 1s/^pick/edit/");
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(fx.git_dir().join("rebase-merge").exists());
    assert_refused(&fx, &fx.root, "rebase is in progress");
}

/// `a.txt` changed differently on `side` and on `main`.
fn diverged(fx: &Env) {
    fx.git(&["checkout", "-q", "-b", "side"]);
    fx.write("a.txt", "side\n");
    fx.git(&["commit", "-q", "-am", "side"]);
    fx.git(&["checkout", "-q", "main"]);
    fx.write("a.txt", "main\n");
    fx.git(&["commit", "-q", "-am", "main"]);
}

#[test]
fn refuses_cherry_pick_in_progress() {
    let fx = started();
    diverged(&fx);
    assert!(!fx.git_raw(&["cherry-pick", "side"]).status.success());
    assert!(fx.git_dir().join("CHERRY_PICK_HEAD").exists());
    assert_refused(&fx, &fx.root, "cherry-pick is in progress");
}

#[test]
fn refuses_revert_in_progress() {
    let fx = started();
    fx.write("a.txt", "one\n");
    fx.git(&["commit", "-q", "-am", "one"]);
    fx.write("a.txt", "two\n");
    fx.git(&["commit", "-q", "-am", "two"]);
    assert!(!fx
        .git_raw(&["revert", "--no-edit", "HEAD~1"])
        .status
        .success());
    assert!(fx.git_dir().join("REVERT_HEAD").exists());
    assert_refused(&fx, &fx.root, "revert is in progress");
}

#[test]
fn refuses_bisect_in_progress() {
    let fx = started();
    fx.git(&["bisect", "start"]);
    fx.git(&["bisect", "bad"]);
    assert!(fx.git_dir().join("BISECT_LOG").exists());
    assert_refused(&fx, &fx.root, "bisect is in progress");
}

#[test]
fn refuses_sparse_index() {
    let fx = started();
    fx.git(&[
        "sparse-checkout",
        "set",
        "--cone",
        "--sparse-index",
        ".orchestration",
        "src",
    ]);
    assert!(
        !fx.path("other/x.txt").exists(),
        "other/ is outside the cone"
    );
    let ls = fx.git(&["ls-files", "--sparse"]);
    assert!(
        ls.lines().any(|l| l == "other/"),
        "not a sparse index:\n{ls}"
    );
    assert_refused(&fx, &fx.root, "sparse index");
}

#[test]
fn refuses_reftable() {
    let fx = started();
    let out = fx.git_raw(&["refs", "migrate", "--ref-format=reftable"]);
    if out.status.success() {
        assert_refused(&fx, &fx.root, "reftable");
    } else {
        eprintln!(
            "git cannot migrate refs ({}); checking a new reftable repository only",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    // A new reftable repository: `orch init` creates nothing.
    let fresh = fx.base.join("fresh");
    std::fs::create_dir(&fresh).unwrap();
    let out = fx
        .git_cmd(&["init", "-q", "--ref-format=reftable"])
        .current_dir(&fresh)
        .output()
        .unwrap();
    if !out.status.success() {
        eprintln!("git cannot make reftable repositories; skipped");
        return;
    }
    let snap = snapshot(&fresh, false);
    let out = fx.orch(&["init"]).current_dir(&fresh).output();
    assert_exit(&out, 4, "reftable");
    assert_same_tree(&snap, &snapshot(&fresh, false), "the reftable repository");
}
