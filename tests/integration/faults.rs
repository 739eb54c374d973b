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

/// SIGTERM, SIGINT and SIGHUP at each step end exactly as SIGKILL does after recovery: the
/// transition wholly there or wholly not, the prepared index never lost.
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
    meanwhile();
    std::fs::write(format!("{gate}.go"), b"").unwrap();
    let out = child.wait_with_output().unwrap();
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
