//! The fault windows of the transition protocol, reproduced deterministically: orch is stopped
//! or failed at a named step (`src/fault.rs`, on in test builds) and git is the oracle of what
//! it left behind.

use crate::support::{self, Env};

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
    assert_eq!(
        env.git(&["status", "--porcelain", "--", ".orchestration"]),
        ""
    );
    let head = env.git(&[
        "show",
        &format!("HEAD:.orchestration/tasks/{CODE}/session.json"),
    ]);
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
        assert_eq!(
            settle(&env, "intake"),
            step == "commit::ref-moved",
            "{step}"
        );
    }
}

/// Killed as the landed transition removes its journal: it stays landed.
#[test]
fn a_kill_while_the_journal_is_removed_keeps_the_landed_transition() {
    let env = repo();
    let done = complete_with(&env, "store::journal-removed", "return(SIGKILL)");
    assert_eq!(done.code, None, "killed, got {done:?}");
    assert!(
        settle(&env, "intake"),
        "the landed transition was rolled back"
    );
    assert!(
        std::fs::read_dir(env.path(".git/orchestration/pending"))
            .unwrap()
            .next()
            .is_none(),
        "files left in the journal folder"
    );
}

/// SIGTERM, SIGINT and SIGHUP at each step end exactly as SIGKILL does after recovery: the
/// transition wholly there or wholly not, the prepared index never lost.
/// (The children start with default signal actions whatever the test runner inherited; see
/// `support::default_signals` and the `nohup` test below.)
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

/// Under `nohup` SIGHUP is ignored, and orch keeps it so: a hangup at any step is no
/// interruption, and the transition finishes whole.
#[test]
fn a_hangup_under_nohup_is_ignored_and_the_transition_finishes() {
    use std::os::unix::process::CommandExt;
    for step in STEPS {
        let env = repo();
        let mut cmd = env
            .orch(&["phase", "complete", CODE, "--override", "--reason", "r"])
            .env("FAILPOINTS", &format!("{step}=return(SIGHUP)"))
            .command();
        // SAFETY: signal(2) is async-signal-safe, which is all pre_exec allows.
        unsafe {
            cmd.pre_exec(|| {
                libc::signal(libc::SIGHUP, libc::SIG_IGN);
                Ok(())
            });
        }
        let out = cmd.output().expect("run orch");
        assert_eq!(out.status.code(), Some(0), "SIGHUP at {step} under nohup");
        assert!(settle(&env, "intake"), "SIGHUP at {step}: not landed");
    }
}

/// Starts `phase complete` with the fault point `step` set to `action`, without waiting.
fn spawn_complete(env: &Env, step: &str, action: &str) -> std::process::Child {
    support::hermetic(support::BIN, &env.home)
        .current_dir(&env.root)
        .args(["phase", "complete", CODE, "--override", "--reason", "r"])
        .env("ORCH_NOW", env.now())
        .env("FAILPOINTS", format!("{step}={action}"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start orch")
}

/// Stops orch at `step`, runs `meanwhile`, lets orch go on; returns its exit code and stderr.
fn interleave(env: &Env, step: &str, meanwhile: impl FnOnce()) -> (Option<i32>, String) {
    let gate = env.home.join(format!("gate-{}", step.replace(':', "_")));
    let gate = gate.to_str().unwrap().to_owned();
    let child = spawn_complete(env, step, &format!("return(wait:{gate})"));
    let reached = std::path::PathBuf::from(format!("{gate}.reached"));
    let start = std::time::Instant::now();
    while !reached.exists() {
        assert!(start.elapsed().as_secs() < 30, "orch never reached {step}");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    // orch goes on even when `meanwhile` fails, so that no process is left waiting.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(meanwhile));
    std::fs::write(format!("{gate}.go"), b"").unwrap();
    let out = child.wait_with_output().unwrap();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The user switches to another branch at the same tip while orch prepares its commit: orch
/// must not commit to the other branch; it exits 5 and changes nothing.
#[test]
fn head_switched_before_the_ref_moves_exits_5_and_changes_nothing() {
    let env = repo();
    env.git(&["branch", "other"]);
    let tip = env.git(&["rev-parse", "main"]);
    let index_before = std::fs::read(env.path(".git/index")).unwrap();
    let (code, stderr) = interleave(&env, "commit::objects-written", || {
        env.git(&["symbolic-ref", "HEAD", "refs/heads/other"]);
    });
    assert_eq!(code, Some(5), "{stderr}");
    assert!(stderr.contains("switched"), "{stderr}");
    assert_eq!(env.git(&["rev-parse", "main"]), tip, "main moved");
    assert_eq!(
        env.git(&["rev-parse", "other"]),
        tip,
        "the commit went to the other branch"
    );
    assert_eq!(std::fs::read(env.path(".git/index")).unwrap(), index_before);
    env.git(&["symbolic-ref", "HEAD", "refs/heads/main"]);
    assert!(!settle(&env, "intake"));
}

/// Modification time of `rel` in whole seconds.
fn mtime_secs(env: &Env, rel: &str) -> u64 {
    let t = std::fs::metadata(env.path(rel))
        .unwrap()
        .modified()
        .unwrap();
    t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

/// A file staged and changed again (same size) within the second the index was written is
/// racily clean: orch's newer index must smudge it, as git does, so git still sees the change.
#[test]
fn a_racily_clean_entry_is_smudged_so_git_still_sees_the_change() {
    let env = repo();
    env.write("f.txt", "AAAA\n");
    env.git(&["add", "f.txt"]);
    env.git(&["commit", "-q", "-m", "f"]);
    let mut attempts = 0;
    loop {
        attempts += 1;
        // Start at the beginning of a second, so the three steps share it.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap();
        std::thread::sleep(std::time::Duration::from_nanos(
            1_050_000_000 - u64::from(now.subsec_nanos()),
        ));
        env.write("f.txt", "BBBB\n");
        env.git(&["add", "f.txt"]);
        env.write("f.txt", "CCCC\n");
        if mtime_secs(&env, "f.txt") == mtime_secs(&env, ".git/index") || attempts == 5 {
            break;
        }
    }
    std::thread::sleep(std::time::Duration::from_millis(1100));
    complete_with(&env, "none", "off");
    assert_ne!(
        env.git(&["diff", "--name-only", "--", "f.txt"]),
        "",
        "git no longer sees that f.txt differs from what is staged"
    );
    assert_eq!(env.git(&["show", ":f.txt"]), "BBBB\n");
}

/// The resolve-undo records survive a transition: `git checkout -m` can still re-create the
/// conflict the user resolved.
#[test]
fn resolve_undo_records_are_kept() {
    let env = repo();
    env.git(&["commit", "-q", "-m", "notes"]);
    env.write("a.txt", "base\n");
    env.git(&["add", "a.txt"]);
    env.git(&["commit", "-q", "-m", "a"]);
    env.git(&["checkout", "-q", "-b", "side"]);
    env.write("a.txt", "side\n");
    env.git(&["commit", "-q", "-a", "-m", "side"]);
    env.git(&["checkout", "-q", "main"]);
    env.write("a.txt", "main\n");
    env.git(&["commit", "-q", "-a", "-m", "main"]);
    assert!(!env.git_raw(&["merge", "-q", "side"]).status.success());
    env.write("a.txt", "resolved\n");
    env.git(&["add", "a.txt"]);
    env.git(&["commit", "-q", "--no-edit"]);
    let done = complete_with(&env, "none", "off");
    assert_eq!(done.code, Some(0), "{done:?}");
    env.git(&["checkout", "-m", "a.txt"]);
    assert_ne!(
        env.git(&["ls-files", "-u", "a.txt"]),
        "",
        "conflict not re-created"
    );
}

/// The index orch writes carries the checksum git verifies (`git fsck` checks it), or the null
/// one git writes with `index.skipHash`; either way git reads it back as it was meant.
#[test]
fn the_index_checksum_is_written_as_git_would_with_and_without_skip_hash() {
    for skip in [false, true] {
        let env = repo();
        if skip {
            env.git(&["config", "index.skipHash", "true"]);
            env.git(&["add", "notes.txt"]); // rewrites the index with git's own setting
        }
        let done = complete_with(&env, "none", "off");
        assert_eq!(done.code, Some(0), "{done:?}");
        let index = std::fs::read(env.path(".git/index")).unwrap();
        let (body, sum) = index.split_at(index.len() - 20);
        let want = if skip {
            vec![0; 20]
        } else {
            let mut h = gix::hash::hasher(gix::hash::Kind::Sha1);
            h.update(body);
            h.try_finalize().unwrap().as_slice().to_vec()
        };
        assert_eq!(sum, &want[..], "skipHash={skip}");
        let fsck = env.git(&["fsck", "--strict", "--no-progress"]);
        assert!(!fsck.contains("error"), "skipHash={skip}: {fsck}");
        assert!(settle(&env, "intake"), "skipHash={skip}: not landed");
    }
}

/// A split index is refused before anything changes, rather than written back un-split.
#[test]
fn a_split_index_is_refused_and_nothing_changes() {
    let env = repo();
    env.git(&["update-index", "--split-index"]);
    env.write("more.txt", "more\n");
    env.git(&["add", "more.txt"]);
    let index_before = std::fs::read(env.path(".git/index")).unwrap();
    let done = env
        .orch(&["phase", "complete", CODE, "--override", "--reason", "r"])
        .fails(4);
    assert!(done.stderr.contains("split index"), "{}", done.stderr);
    assert!(done.stderr.contains("--no-split-index"), "{}", done.stderr);
    assert_eq!(std::fs::read(env.path(".git/index")).unwrap(), index_before);
    assert_eq!(
        env.git(&["status", "--porcelain", "--", ".orchestration"]),
        ""
    );
    let session = env.read(&format!(".orchestration/tasks/{CODE}/session.json"));
    assert!(
        session.contains("\"current_phase\": \"intake\""),
        "{session}"
    );
}

// ---------------------------------------------------------------------------------------------
// Recovery that cannot misjudge, init and task new as transitions, the user's git commands.

fn session_rel() -> String {
    format!(".orchestration/tasks/{CODE}/session.json")
}

/// The journals left pending.
fn journals(env: &Env) -> Vec<String> {
    std::fs::read_dir(env.path(".git/orchestration/pending"))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".json"))
                .collect()
        })
        .unwrap_or_default()
}

/// The task folder, the index and HEAD agree, nothing is pending, and verify passes.
fn consistent(env: &Env, what: &str) {
    assert!(journals(env).is_empty(), "{what}: journal left");
    assert!(
        !env.path(".git/index.lock").exists(),
        "{what}: index.lock left"
    );
    assert_eq!(
        env.git(&["status", "--porcelain", "--", ".orchestration"]),
        "",
        "{what}: task files differ from the index or HEAD"
    );
    assert_eq!(
        env.read(&session_rel()),
        env.git(&["show", &format!("HEAD:{}", session_rel())]),
        "{what}: session.json differs from HEAD's"
    );
    let fsck = env.git(&["fsck", "--strict", "--no-progress"]);
    assert!(!fsck.contains("error"), "{what}: fsck: {fsck}");
    env.orch(&["verify"]).succeeds();
}

/// F2: killed with its files written (the commit object too, at the later step), then the
/// user removes the lock as git suggests and commits: HEAD moved, but not to orch's commit,
/// so the transition must be rolled back, not taken as landed.
#[test]
fn a_user_commit_after_a_kill_is_not_taken_for_orchs() {
    for step in ["ops::files-written", "commit::objects-written"] {
        let env = repo();
        let done = complete_with(&env, step, "return(SIGKILL)");
        assert_eq!(done.code, None, "{step}: killed, got {done:?}");
        let _ = std::fs::remove_file(env.path(".git/index.lock"));
        env.git(&["commit", "-q", "-m", "user work"]);
        env.orch(&["status", CODE]).succeeds();
        consistent(&env, step);
        assert!(
            env.read(&session_rel())
                .contains("\"current_phase\": \"intake\""),
            "{step}: the transition was kept although HEAD is the user's commit"
        );
        assert_eq!(env.git(&["log", "-1", "--format=%s"]).trim(), "user work");
    }
}

/// F3: with orch's hooks installed, a `git commit -a` over a killed transition's half-written
/// files is refused by the pre-commit hook (it never recovers under git's feet); after
/// `orch status` as it says, the commit goes through and the commit and the worktree agree.
#[test]
fn the_pre_commit_hook_refuses_while_a_transition_is_pending() {
    let env = repo();
    let cfg = env.read(".orchestration/config.toml").replace(
        "code_allowed_from = \"execute\"",
        "code_allowed_from = \"intake\"",
    );
    env.write(".orchestration/config.toml", cfg);
    env.git(&[
        "commit",
        "-q",
        "-m",
        "cfg",
        "--",
        ".orchestration/config.toml",
    ]);
    env.orch(&["hooks", "install"]).succeeds();
    let done = complete_with(&env, "ops::files-written", "return(SIGKILL)");
    assert_eq!(done.code, None, "killed, got {done:?}");
    let _ = std::fs::remove_file(env.path(".git/index.lock"));
    env.write("notes.txt", "more of the user's work\n");
    let refused = env.git_raw(&["commit", "-a", "-m", "user work"]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success(),
        "the commit went through over a pending transition: {stderr}"
    );
    assert!(stderr.contains("orch status"), "{stderr}");
    env.orch(&["status", CODE]).succeeds();
    env.git(&["commit", "-q", "-a", "-m", "user work"]);
    assert_eq!(
        env.git(&["show", &format!("HEAD:{}", session_rel())]),
        env.read(&session_rel()),
        "the commit and the worktree disagree"
    );
    assert_eq!(env.git(&["status", "--porcelain"]), "");
}

/// Starts orch with `args` and `FAILPOINTS`, without waiting.
fn spawn(env: &Env, args: &[&str], failpoints: &str, vars: &[(&str, &str)]) -> std::process::Child {
    let mut cmd = support::hermetic(support::BIN, &env.home);
    cmd.current_dir(&env.root)
        .args(args)
        .env("ORCH_NOW", env.now())
        .env("FAILPOINTS", failpoints)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.spawn().expect("start orch")
}

fn wait_for(path: &std::path::Path, what: &str) {
    let start = std::time::Instant::now();
    while !path.exists() {
        assert!(start.elapsed().as_secs() < 30, "never reached: {what}");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// F4: B opens the project while nothing is pending and queues on the lock A holds; A is
/// killed with its files written. B must recover A's transition under the lock before it
/// reads anything, so B's commit holds B's transition alone.
#[test]
fn recovery_runs_under_the_lock_before_anything_is_read() {
    let env = repo();
    let session = env.read(&session_rel());
    // A blocks reading session.json (a FIFO) with the lock held and no journal written yet.
    let fifo = env.path(&session_rel());
    std::fs::remove_file(&fifo).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let gate = env.home.join("gate-a");
    let gate_s = gate.to_str().unwrap().to_owned();
    let a = spawn(
        &env,
        &["phase", "complete", CODE, "--override", "--reason", "A"],
        &format!("ops::files-written=return(wait:{gate_s})"),
        &[],
    );
    std::thread::sleep(std::time::Duration::from_millis(300));
    let b = spawn(
        &env,
        &["phase", "complete", CODE, "--override", "--reason", "B"],
        "",
        &[("ORCH_LOCK_TIMEOUT_MS", "60000")],
    );
    std::thread::sleep(std::time::Duration::from_millis(500));
    // Let A read; B will find a regular file once it has the lock.
    let mut writer = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
    let regular = env.path("session.json.new");
    std::fs::write(&regular, &session).unwrap();
    std::fs::rename(&regular, &fifo).unwrap();
    std::io::Write::write_all(&mut writer, session.as_bytes()).unwrap();
    drop(writer);
    wait_for(
        &std::path::PathBuf::from(format!("{gate_s}.reached")),
        "A's files written",
    );
    let mut a = a;
    a.kill().unwrap();
    a.wait().unwrap();
    let b = b.wait_with_output().unwrap();
    assert_eq!(
        b.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&b.stderr)
    );
    let head = env.git(&["show", &format!("HEAD:{}", session_rel())]);
    let before = env.git(&["show", &format!("HEAD~1:{}", session_rel())]);
    assert!(before.contains("\"current_phase\": \"intake\""), "{before}");
    assert!(
        head.contains("\"current_phase\": \"research\""),
        "B's commit skipped a phase: {head}"
    );
    assert!(
        !head.contains("\"reason\": \"A\""),
        "B's commit holds A's transition: {head}"
    );
    consistent(&env, "after B");
}

/// F5: `orch init` killed holding `index.lock` (its ref lock too) is rolled back by the next
/// command, and `init` then works; killed after its ref moved, it is completed: the index
/// holds what HEAD does and the user's next commit deletes nothing.
#[test]
fn an_interrupted_init_is_recovered_like_any_transition() {
    let env = Env::git_only();
    env.write("a.txt", "a\n");
    env.git(&["add", "a.txt"]);
    env.git(&["commit", "-q", "-m", "init"]);
    let killed = env
        .orch(&["init"])
        .env("FAILPOINTS", "commit::ref-locked=return(SIGKILL)")
        .run();
    assert_eq!(killed.code, None, "killed, got {killed:?}");
    let status = env.orch(&["status"]).run().no_panic();
    assert_ne!(status.code, Some(5), "{status:?}");
    assert!(!env.path(".git/index.lock").exists(), "index.lock left");
    env.orch(&["init"]).succeeds();
    assert_ne!(env.git(&["ls-files", ".orchestration/config.toml"]), "");
    assert_eq!(env.git(&["status", "--porcelain"]), "");

    let env = Env::git_only();
    env.write("a.txt", "a\n");
    env.git(&["add", "a.txt"]);
    env.git(&["commit", "-q", "-m", "init"]);
    let killed = env
        .orch(&["init"])
        .env("FAILPOINTS", "commit::ref-moved=return(SIGKILL)")
        .run();
    assert_eq!(killed.code, None, "killed, got {killed:?}");
    env.orch(&["task", "new", "T-1", "--title", "t"]).succeeds();
    assert!(!env.path(".git/index.lock").exists(), "index.lock left");
    assert_ne!(env.git(&["ls-files", ".orchestration/config.toml"]), "");
    assert_eq!(env.git(&["status", "--porcelain"]), "");
    env.write("x.txt", "x\n");
    env.git(&["add", "x.txt"]);
    env.git(&["commit", "-q", "-m", "user commit"]);
    assert_eq!(
        env.git(&["show", "--name-status", "--format=", "HEAD"]),
        "A\tx.txt\n",
        "the user's commit changed orch's files"
    );
}

/// F6: `task new` killed before its commit leaves no folder: the code is free again.
#[test]
fn an_interrupted_task_new_leaves_no_folder() {
    let env = Env::new();
    let killed = env
        .orch(&["task", "new", "T-9", "--title", "t"])
        .env("FAILPOINTS", "ops::files-written=return(SIGKILL)")
        .run();
    assert_eq!(killed.code, None, "killed, got {killed:?}");
    env.orch(&["status"]).succeeds();
    assert!(
        !env.path(".orchestration/tasks/T-9").exists(),
        "folder left"
    );
    env.orch(&["task", "new", "T-9", "--title", "t"]).succeeds();
    env.orch(&["task", "show", "T-9"]).succeeds();
    env.orch(&["task", "list"]).succeeds();
    assert_eq!(env.git(&["status", "--porcelain"]), "");
}

/// F9: a full disk while writing objects, and the rollback fails too: the journal stays, and
/// the next command (with space back) puts the files back.
#[test]
fn a_rollback_that_fails_keeps_the_journal_for_the_next_command() {
    let env = repo();
    let done = env
        .orch(&["phase", "complete", CODE, "--override", "--reason", "r"])
        .env(
            "FAILPOINTS",
            "commit::objects-written=return(enospc);store::restoring=return(enospc)",
        )
        .run()
        .no_panic();
    assert_eq!(done.code, Some(1), "{done:?}");
    assert!(done.stderr.contains("orch status"), "{}", done.stderr);
    assert_eq!(journals(&env).len(), 1, "the journal was dropped");
    env.orch(&["status", CODE]).succeeds();
    assert!(env
        .read(&session_rel())
        .contains("\"current_phase\": \"intake\""));
    assert_eq!(
        env.git(&["diff", "--cached", "--name-status"]),
        "A\tnotes.txt\n"
    );
    consistent(&env, "after the next command");
}

/// F10: orch writes the task files only while it holds `index.lock`, so a `git add -A` at that
/// moment cannot stage a half-done transition; no temporary file ever lands in the worktree.
#[test]
fn git_add_all_never_stages_a_half_done_transition() {
    let env = repo();
    let (code, stderr) = interleave(&env, "ops::files-written", || {
        let add = env.git_raw(&["add", "-A"]);
        assert!(
            !add.status.success(),
            "git add -A staged the half-done transition: {}",
            env.git(&["diff", "--cached", "--name-status"])
        );
        let tmp = env.shell("find . -path ./.git -prune -o -name '*orch-tmp*' -print");
        assert_eq!(
            String::from_utf8_lossy(&tmp.stdout),
            "",
            "temporary files in the worktree"
        );
    });
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        env.git(&["diff", "--cached", "--name-status"]),
        "A\tnotes.txt\n"
    );
    consistent(&env, "after the transition");
}

/// F11: a plain `git commit` that read HEAD just after orch moved it and the index just before
/// orch published its own reverts orch's commit. The next orch command says so with a fix
/// that works as printed; orch refuses to build on the reverted state until then.
#[test]
fn a_user_commit_that_reverted_orchs_is_detected_with_a_working_fix() {
    let env = repo();
    let old_index = env.home.join("old-index");
    std::fs::copy(env.path(".git/index"), &old_index).unwrap();
    env.orch(&["phase", "complete", CODE, "--override", "--reason", "r"])
        .succeeds();
    let script = format!(
        "export GIT_INDEX_FILE={idx}; echo u > u.txt && git add u.txt && t=$(git write-tree) && \
         c=$(git commit-tree $t -p HEAD -m 'user work') && git update-ref HEAD $c && cp {idx} .git/index",
        idx = old_index.display()
    );
    assert!(env.shell(&script).status.success());
    assert_ne!(
        env.git(&["status", "--porcelain", "--", ".orchestration"]),
        ""
    );
    let refused = env
        .orch(&["phase", "complete", CODE, "--override", "--reason", "r2"])
        .fails(4);
    assert!(refused.stderr.contains("reverted"), "{}", refused.stderr);
    let status = env.orch(&["status", CODE, "--json"]).succeeds();
    let doc: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    let fix = doc["diagnostics"][0]["fix"]
        .as_str()
        .expect("a fix")
        .to_owned();
    assert!(refused.stderr.contains(&fix), "{}", refused.stderr);
    let human = env.orch(&["status", CODE]).succeeds();
    assert!(human.stderr.contains(&fix), "{}", human.stderr);
    let out = env.shell(&fix);
    assert!(
        out.status.success(),
        "{fix}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        env.git(&["status", "--porcelain", "--", ".orchestration"]),
        ""
    );
    env.orch(&["verify"]).succeeds();
    env.orch(&["phase", "complete", CODE, "--override", "--reason", "r2"])
        .succeeds();
    assert!(env.git(&["show", ":u.txt"]).contains('u'));
    consistent(&env, "after the fix");
}

// ---------------------------------------------------------------------------------------------
// Random crashes

/// A small xorshift generator: the tests need no randomness crate, and a seed replays a run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The current phase as the worktree's session.json has it, `None` once the session ended.
fn phase_of(env: &Env) -> Option<String> {
    let s: serde_json::Value = serde_json::from_str(&env.read(&session_rel())).unwrap();
    let phase = s["current_phase"].as_str().unwrap().to_owned();
    (s["active"] != serde_json::Value::Bool(false)).then_some(phase)
}

/// Every invariant a kill must leave once the next command (`orch status`) ran.
fn check_after_kill(env: &Env, cached: &[u8], what: &str) {
    env.orch(&["status", CODE]).succeeds();
    for lock in [
        ".git/index.lock",
        ".git/HEAD.lock",
        ".git/refs/heads/main.lock",
    ] {
        assert!(!env.path(lock).exists(), "{what}: {lock} left");
    }
    assert!(journals(env).is_empty(), "{what}: journal left");
    let tmp =
        env.shell("find . \\( -name '*orch-tmp*' -o -path './.git/orchestration/tmp/*' \\) -print");
    assert_eq!(
        String::from_utf8_lossy(&tmp.stdout),
        "",
        "{what}: temporary files left"
    );
    let fsck = env.git_raw(&["fsck", "--strict", "--no-progress"]);
    let fsck_err =
        String::from_utf8_lossy(&fsck.stderr).into_owned() + &String::from_utf8_lossy(&fsck.stdout);
    assert!(
        fsck.status.success() && !fsck_err.contains("error") && !fsck_err.contains("missing"),
        "{what}: fsck: {fsck_err}"
    );
    assert_eq!(
        env.read(&session_rel()),
        env.git(&["show", &format!("HEAD:{}", session_rel())]),
        "{what}: session.json differs from HEAD's"
    );
    assert_eq!(
        env.git(&["status", "--porcelain", "--", ".orchestration"]),
        "",
        "{what}: task files differ from the index or HEAD"
    );
    let events = env.read(&format!(".orchestration/tasks/{CODE}/events.jsonl"));
    assert!(
        events.is_empty() || events.ends_with('\n'),
        "{what}: partial line"
    );
    let mut seen = std::collections::HashSet::new();
    for line in events.lines() {
        assert!(
            serde_json::from_str::<serde_json::Value>(line).is_ok(),
            "{what}: not a JSON line: {line}"
        );
        assert!(seen.insert(line), "{what}: duplicate event line: {line}");
    }
    assert!(
        env.git_bytes(&["diff", "--cached", "--binary"]) == cached,
        "{what}: the user's staged changes changed"
    );
}

/// SIGKILL and SIGTERM at random moments over many transitions, on a repository where the
/// user has staged an addition, a change and a deletion: after every kill and one
/// `orch status`, fsck is clean, no lock is left, session.json is HEAD's, events have no
/// duplicate or partial line, and `git diff --cached` is byte-identical. `ORCH_CRASH_KILLS`
/// sets how many kills (default 120), `ORCH_CRASH_SEED` replays a run.
#[test]
fn random_kills_over_many_transitions_leave_nothing_half_done() {
    let env = repo();
    env.write("keep.txt", "committed\n");
    env.write("gone.txt", "to be deleted\n");
    env.git(&["add", "keep.txt", "gone.txt"]);
    env.git(&[
        "commit",
        "-q",
        "-m",
        "user files",
        "--",
        "keep.txt",
        "gone.txt",
    ]);
    env.write("keep.txt", "changed and staged\n");
    env.git(&["add", "keep.txt"]);
    env.git(&["rm", "-q", "--cached", "gone.txt"]);
    env.write("unstaged.txt", "not staged\n");
    let cached = env.git_bytes(&["diff", "--cached", "--binary"]);
    let kills = env_number("ORCH_CRASH_KILLS", 120);
    let seed = env_number(
        "ORCH_CRASH_SEED",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
            | 1,
    );
    let mut rng = Rng(seed);
    let (mut mid_flight, mut landed) = (0, 0);
    for i in 0..kills {
        let phase = phase_of(&env);
        let data = format!("{{\"i\":{i}}}");
        let args: Vec<&str> = if phase.is_none() {
            vec!["session", "start", CODE, "--reopen"]
        } else if phase.as_deref() == Some("close") {
            vec!["phase", "set", CODE, "intake"]
        } else if i % 3 == 0 {
            vec![
                "event",
                "add",
                CODE,
                "custom.note",
                "--data",
                &data,
                "--commit",
            ]
        } else {
            vec!["phase", "complete", CODE, "--override", "--reason", "r"]
        };
        let head_before = env.git(&["rev-parse", "HEAD"]);
        let mut child = spawn(&env, &args, "", &[]);
        std::thread::sleep(std::time::Duration::from_micros(rng.below(40_000)));
        let sig = if rng.below(2) == 0 {
            libc::SIGKILL
        } else {
            libc::SIGTERM
        };
        if child.try_wait().unwrap().is_none() {
            mid_flight += 1;
        }
        // SAFETY: signalling our own child by its pid.
        unsafe { libc::kill(child.id() as libc::pid_t, sig) };
        let out = child.wait_with_output().unwrap();
        let what = format!(
            "kill {i} (seed {seed}, {} during `{}`, exit {:?}: {})",
            if sig == libc::SIGKILL {
                "SIGKILL"
            } else {
                "SIGTERM"
            },
            args.join(" "),
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
        check_after_kill(&env, &cached, &what);
        if env.git(&["rev-parse", "HEAD"]) != head_before {
            landed += 1;
        }
    }
    env.orch(&["verify"]).succeeds();
    eprintln!(
        "{kills} kills (seed {seed}): {mid_flight} while orch ran, {landed} transitions landed"
    );
    assert!(mid_flight > 0, "no kill hit a running orch");
}
