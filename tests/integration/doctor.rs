//! `orch doctor [--fix]`: each condition produced for real (a killed transition, git's own
//! lock files, hand edits, hooks, shallow and sparse checkouts, index formats), what doctor
//! reports, and that `--fix` repairs only what cannot lose data — git as the oracle.

use crate::support::{Done, Env};
use serde_json::Value;
use std::process::{Command, Stdio};

const CODE: &str = "TSK-1";

fn doctor(env: &Env, args: &[&str]) -> (Done, Value) {
    let mut a = vec!["doctor", "--json"];
    a.extend_from_slice(args);
    let d = env.orch(&a).run().no_panic();
    let v: Value = serde_json::from_str(&d.stdout)
        .unwrap_or_else(|e| panic!("doctor --json: {e}\n{}\n{}", d.stdout, d.stderr));
    (d, v)
}

/// The findings of `key` (`findings` or `left`) with `code`.
fn with_code<'a>(v: &'a Value, key: &str, code: &str) -> Vec<&'a Value> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("no {key} in {v}"))
        .iter()
        .filter(|f| f["code"] == code)
        .collect()
}

fn codes(v: &Value, key: &str) -> Vec<String> {
    v[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

/// Every finding carries every field, with the types the README documents.
fn assert_complete(v: &Value) {
    for key in ["root", "git_dir"] {
        assert!(v[key].is_string(), "{key} in {v}");
    }
    assert!(v["healthy"].is_boolean() && v["ok"] == v["healthy"]);
    for key in ["findings", "left"] {
        for f in v[key].as_array().unwrap() {
            for field in ["code", "what", "fix"] {
                assert!(
                    f[field].as_str().is_some_and(|s| !s.is_empty()),
                    "{field} in {f}"
                );
            }
            assert!(["error", "warning", "info"].contains(&f["severity"].as_str().unwrap()));
            assert!(f["fixable"].is_boolean());
            for field in ["path", "pid", "alive"] {
                assert!(f.get(field).is_some(), "{field} missing in {f}");
            }
        }
    }
    for a in v["fixed"].as_array().unwrap() {
        assert!(a["code"].is_string() && a["did"].is_string() && a["ok"].is_boolean());
    }
}

/// Sets a file's modification time a minute back: older than a lock any running command
/// could be about to rename.
fn age(path: &std::path::Path) {
    let t = filetime::FileTime::from_unix_time(filetime::FileTime::now().unix_seconds() - 60, 0);
    filetime::set_file_mtime(path, t).unwrap();
}

/// A process id that belonged to a process that has exited.
fn dead_pid() -> u32 {
    let mut c = Command::new("true").spawn().unwrap();
    let pid = c.id();
    c.wait().unwrap();
    pid
}

#[test]
fn a_healthy_clone_exits_0_with_only_notes() {
    let env = Env::started(CODE);
    let (d, v) = doctor(&env, &[]);
    assert_eq!(d.code, Some(0), "{}", d.stdout);
    assert_complete(&v);
    assert_eq!(v["healthy"], true);
    assert_eq!(codes(&v, "findings"), ["hooks_not_installed"]);
    env.orch(&["doctor"]).succeeds().stdout_contains("healthy");
}

#[test]
fn a_killed_transition_is_reported_and_fix_runs_the_recovery() {
    let env = Env::started(CODE);
    env.write("notes.txt", "the user's staged work\n");
    env.git(&["add", "notes.txt"]);
    let head = env.head();
    let d = env
        .orch(&["phase", "complete", CODE, "--override", "--reason", "r"])
        .env("FAILPOINTS", "ops::files-written=return(SIGKILL)")
        .run();
    assert_eq!(d.code, None, "killed: {d:?}");

    let (d, v) = doctor(&env, &[]);
    assert_eq!(d.code, Some(4), "{}", d.stdout);
    assert_complete(&v);
    let j = with_code(&v, "findings", "pending_journal");
    assert_eq!(j.len(), 1, "{v}");
    assert_eq!(j[0]["severity"], "error");
    assert_eq!(j[0]["alive"], false, "the killed orch is not running");
    assert!(j[0]["pid"].as_u64().is_some());
    assert!(j[0]["path"]
        .as_str()
        .unwrap()
        .contains("/orchestration/pending/"));
    // The half-written task state shows too, and doctor itself changed nothing.
    assert!(
        !with_code(&v, "findings", "task_state_uncommitted").is_empty(),
        "{v}"
    );
    assert!(env
        .git_dir()
        .join("orchestration/pending")
        .read_dir()
        .unwrap()
        .next()
        .is_some());

    let (d, v) = doctor(&env, &["--fix"]);
    assert_eq!(d.code, Some(0), "{}", d.stdout);
    assert_complete(&v);
    assert_eq!(codes(&v, "fixed"), ["pending_journal"]);
    assert_eq!(v["fixed"][0]["ok"], true);
    assert!(with_code(&v, "left", "pending_journal").is_empty());
    // Rolled back: HEAD never moved, the worktree is HEAD's, the user's staging untouched.
    assert_eq!(env.head(), head);
    assert_eq!(
        env.git(&["status", "--porcelain", "--", ".orchestration"]),
        ""
    );
    assert_eq!(
        env.git(&["diff", "--cached", "--name-status"]),
        "A\tnotes.txt\n"
    );
    assert_eq!(env.phase(CODE), "intake");
}

#[test]
fn a_stale_index_lock_is_removed_and_git_works_again() {
    let env = Env::started(CODE);
    let lock = env.git_dir().join("index.lock");
    std::fs::write(&lock, b"").unwrap();
    age(&lock);
    env.write("a.txt", "a\n");
    assert!(
        !env.git_raw(&["add", "a.txt"]).status.success(),
        "git refuses while it is there"
    );

    let (d, v) = doctor(&env, &[]);
    assert_eq!(d.code, Some(4));
    let f = with_code(&v, "findings", "stale_lock");
    assert_eq!(f.len(), 1, "{v}");
    assert!(f[0]["what"].as_str().unwrap().contains("index.lock"));
    assert_eq!(f[0]["fixable"], true);
    env.orch(&["doctor"])
        .status(4)
        .stdout_contains("stale_lock")
        .stdout_contains("--fix");

    let (d, v) = doctor(&env, &["--fix"]);
    assert_eq!(d.code, Some(0), "{}", d.stdout);
    assert_eq!(codes(&v, "fixed"), ["stale_lock"]);
    assert!(!lock.exists());
    env.git(&["add", "a.txt"]);
}

#[test]
fn a_lock_a_live_process_holds_is_left_alone() {
    let env = Env::started(CODE);
    let lock = env.git_dir().join("index.lock");
    std::fs::write(&lock, b"").unwrap();
    age(&lock);
    let mut holder = Command::new("sh")
        .args([
            "-c",
            "exec 3>>\"$0\"; exec sleep 30",
            lock.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the shell has the file open.
    let fd_open = || {
        std::fs::read_dir(format!("/proc/{}/fd", holder.id()))
            .map(|rd| {
                rd.flatten()
                    .any(|e| std::fs::read_link(e.path()).is_ok_and(|l| l == lock))
            })
            .unwrap_or(false)
    };
    let start = std::time::Instant::now();
    while !fd_open() {
        assert!(start.elapsed().as_secs() < 10);
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let (_, v) = doctor(&env, &["--fix"]);
    let f = with_code(&v, "findings", "lock_in_use");
    assert_eq!(f.len(), 1, "{v}");
    assert_eq!(f[0]["pid"], holder.id());
    assert_eq!(f[0]["alive"], true);
    assert!(lock.exists(), "a lock in use is never removed");
    assert!(codes(&v, "fixed").is_empty());
    holder.kill().unwrap();
    holder.wait().unwrap();
}

#[test]
fn a_stale_ref_lock_names_the_update_it_held() {
    let env = Env::started(CODE);
    let head = env.head();
    let lock = env.git_dir().join("refs/heads/main.lock");
    std::fs::write(&lock, format!("{head}\n")).unwrap();
    age(&lock);
    env.write("b.txt", "b\n");
    env.git(&["add", "b.txt"]);
    assert!(!env.git_raw(&["commit", "-qm", "b"]).status.success());
    // The commit a killed update would have set the branch to is named so it can be kept.
    let other = env.git(&[
        "commit-tree",
        "-p",
        &head,
        "-m",
        "x",
        &format!("{head}^{{tree}}"),
    ]);
    std::fs::write(&lock, other.as_bytes()).unwrap();
    age(&lock);

    let (d, v) = doctor(&env, &[]);
    assert_eq!(d.code, Some(4));
    let f = with_code(&v, "findings", "stale_lock");
    assert_eq!(f.len(), 1, "{v}");
    let what = f[0]["what"].as_str().unwrap();
    assert!(
        what.contains("refs/heads/main") && what.contains(other.trim()),
        "{what}"
    );

    let (d, _) = doctor(&env, &["--fix"]);
    assert_eq!(d.code, Some(0), "{}", d.stdout);
    env.git(&["commit", "-qm", "b"]);
    // The named commit is still there, as the message says.
    env.git(&["cat-file", "-e", other.trim()]);
}

#[test]
fn hand_edited_task_state_is_reported_and_never_touched() {
    let env = Env::started(CODE);
    let path = env.task_file(CODE, "session.json");
    let edited = std::fs::read_to_string(&path)
        .unwrap()
        .replace("\"intake\"", "\"review\"");
    std::fs::write(&path, &edited).unwrap();
    env.artifact(CODE, "CONTEXT.md");

    let (d, v) = doctor(&env, &["--fix"]);
    assert_eq!(d.code, Some(4));
    let f = with_code(&v, "left", "task_state_uncommitted");
    assert_eq!(f.len(), 1, "{v}");
    assert_eq!(f[0]["fixable"], false);
    assert!(f[0]["what"].as_str().unwrap().contains("session.json"));
    let notes = with_code(&v, "left", "task_files_uncommitted");
    assert!(
        notes[0]["what"].as_str().unwrap().contains("CONTEXT.md"),
        "{v}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), edited);
    // The fix it prints works as printed.
    let fix = f[0]["fix"].as_str().unwrap();
    let cmd = fix.rsplit_once('`').unwrap().0.rsplit_once('`').unwrap().1;
    assert!(env.shell(cmd).status.success(), "{cmd}");
    assert_eq!(
        env.git(&["status", "--porcelain", "--", &path.display().to_string()]),
        ""
    );
}

#[test]
fn hooks_missing_or_replaced_are_reinstalled_keeping_the_users_hook() {
    let env = Env::started(CODE);
    env.orch(&["hooks", "install"]).succeeds();
    let hooks = env.git_dir().join("hooks");
    std::fs::remove_file(hooks.join("pre-push")).unwrap();
    let mine = "#!/bin/sh\necho mine\n";
    std::fs::write(hooks.join("commit-msg"), mine).unwrap();

    let (d, v) = doctor(&env, &[]);
    assert_eq!(d.code, Some(4));
    assert_eq!(with_code(&v, "findings", "hook_missing").len(), 1, "{v}");
    assert_eq!(with_code(&v, "findings", "hook_not_orch").len(), 1, "{v}");

    let (d, v) = doctor(&env, &["--fix"]);
    assert_eq!(d.code, Some(0), "{}", d.stdout);
    assert_eq!(
        codes(&v, "fixed"),
        ["hook_not_orch"],
        "one install repairs both"
    );
    for h in ["pre-commit", "commit-msg", "pre-push"] {
        assert!(std::fs::read_to_string(hooks.join(h))
            .unwrap()
            .contains("orch-managed-hook"));
    }
    assert_eq!(
        std::fs::read_to_string(hooks.join("commit-msg.orch-chained")).unwrap(),
        mine
    );
}

#[test]
fn a_dangling_pointer_and_an_empty_task_folder_are_cleared() {
    let env = Env::started(CODE);
    let pointer = env.git_dir().join("orchestration/current-task");
    std::fs::write(&pointer, "TSK-9\n").unwrap();
    let folder = env.path(".orchestration/tasks/TSK-2");
    std::fs::create_dir_all(&folder).unwrap();
    let dead = dead_pid();
    let temp = env.task_file(CODE, &format!(".session.json.orch-tmp-{dead}"));
    std::fs::write(&temp, "{\"half").unwrap();

    let (d, v) = doctor(&env, &[]);
    assert_eq!(d.code, Some(4));
    assert_eq!(
        with_code(&v, "findings", "dangling_current_task").len(),
        1,
        "{v}"
    );
    assert_eq!(
        with_code(&v, "findings", "orphan_task_folder").len(),
        1,
        "{v}"
    );
    let t = with_code(&v, "findings", "stale_temp_file");
    assert_eq!(t.len(), 1, "{v}");
    assert_eq!(t[0]["pid"], dead);

    let (d, v) = doctor(&env, &["--fix"]);
    assert_eq!(d.code, Some(0), "{}", d.stdout);
    assert_eq!(v["fixed"].as_array().unwrap().len(), 3, "{v}");
    assert!(!pointer.exists() && !folder.exists() && !temp.exists());
    env.orch(&["task", "new", "TSK-2", "--title", "t"])
        .succeeds();
}

#[test]
fn a_task_folder_with_files_is_reported_but_kept() {
    let env = Env::started(CODE);
    env.write(".orchestration/tasks/TSK-2/notes.md", "mine\n");
    let (d, v) = doctor(&env, &["--fix"]);
    assert_eq!(d.code, Some(4));
    let f = with_code(&v, "left", "orphan_task_folder");
    assert_eq!(f[0]["fixable"], false, "{v}");
    assert_eq!(env.read(".orchestration/tasks/TSK-2/notes.md"), "mine\n");
}

#[test]
fn a_shallow_clone_names_the_cut_and_the_fetch() {
    let env = Env::started(CODE);
    env.fill_task(CODE);
    env.orch(&["phase", "complete", CODE]).succeeds();
    let url = format!("file://{}", env.root.display());
    let clone = env.base.join("shallow");
    env.git(&["clone", "-q", "--depth", "1", &url, clone.to_str().unwrap()]);
    let (d, v) = {
        let d = env
            .orch(&["doctor", "--json"])
            .current_dir(&clone)
            .run()
            .no_panic();
        let v: Value = serde_json::from_str(&d.stdout).unwrap();
        (d, v)
    };
    assert_eq!(d.code, Some(4), "{}", d.stdout);
    let f = with_code(&v, "findings", "shallow_clone");
    assert_eq!(f.len(), 1, "{v}");
    let cut = std::fs::read_to_string(clone.join(".git/shallow")).unwrap();
    assert!(
        f[0]["what"].as_str().unwrap().contains(&cut.trim()[..12]),
        "{f:?}"
    );
    assert!(f[0]["fix"]
        .as_str()
        .unwrap()
        .contains("git fetch --unshallow"));
    assert_eq!(f[0]["fixable"], false);
}

#[test]
fn index_formats_orch_refuses_or_rewrites() {
    let env = Env::started(CODE);
    env.git(&["update-index", "--split-index"]);
    let (d, v) = doctor(&env, &[]);
    assert_eq!(d.code, Some(4));
    assert_eq!(with_code(&v, "findings", "split_index").len(), 1, "{v}");
    // The fix as printed makes the finding go away.
    let fix = with_code(&v, "findings", "split_index")[0]["fix"]
        .as_str()
        .unwrap()
        .to_string();
    let cmd = fix.split('`').nth(1).unwrap();
    assert!(env.shell(cmd).status.success());
    let (_, v) = doctor(&env, &[]);
    assert!(with_code(&v, "findings", "split_index").is_empty(), "{v}");

    env.git(&["config", "core.untrackedCache", "true"]);
    env.git(&["update-index", "--untracked-cache", "--index-version", "4"]);
    env.git(&["status", "--porcelain"]);
    let (d, v) = doctor(&env, &[]);
    assert_eq!(d.code, Some(0), "notes only: {}", d.stdout);
    let dropped = with_code(&v, "findings", "index_extension_dropped");
    assert!(dropped[0]["what"].as_str().unwrap().contains("UNTR"), "{v}");
    assert_eq!(with_code(&v, "findings", "index_v4").len(), 1, "{v}");
}

#[test]
fn a_sparse_checkout_without_the_orch_folder_is_an_error() {
    let env = Env::started(CODE);
    env.write("src/a.txt", "a\n");
    env.commit_all("code");
    env.git(&["sparse-checkout", "set", "--no-cone", "/src/"]);
    let (d, v) = doctor(&env, &[]);
    assert_eq!(d.code, Some(4), "{}", d.stdout);
    assert_eq!(with_code(&v, "findings", "sparse_checkout").len(), 1, "{v}");
    assert_eq!(
        with_code(&v, "findings", "orch_dir_not_checked_out").len(),
        1,
        "{v}"
    );
}

#[test]
fn a_sparse_index_is_an_error() {
    let env = Env::started(CODE);
    env.write("src/a.txt", "a\n");
    env.write("lib/b.txt", "b\n");
    env.commit_all("code");
    env.git(&[
        "sparse-checkout",
        "set",
        "--cone",
        "--sparse-index",
        "src",
        ".orchestration",
    ]);
    let (d, v) = doctor(&env, &[]);
    assert_eq!(d.code, Some(4), "{}", d.stdout);
    assert_eq!(with_code(&v, "findings", "sparse_index").len(), 1, "{v}");
    // orch refuses to transition, as doctor says.
    env.orch(&["phase", "complete", CODE, "--override", "--reason", "r"])
        .fails(4)
        .stderr_contains("sparse");
}

#[test]
fn outside_a_repository_it_says_so() {
    let env = Env::no_repo();
    env.orch(&["doctor"])
        .fails(4)
        .stderr_contains("not a git repository");
}

#[test]
fn events_added_for_the_next_commit_are_noted_not_flagged() {
    let env = Env::started(CODE);
    let add = env
        .orch(&[
            "event",
            "add",
            CODE,
            "custom.note",
            "--data",
            r#"{"text":"later"}"#,
        ])
        .run();
    assert_eq!(add.code, Some(0), "{add:?}");
    let (d, v) = doctor(&env, &[]);
    assert_eq!(d.code, Some(0), "{}", d.stdout);
    assert!(
        with_code(&v, "findings", "task_state_uncommitted").is_empty(),
        "{v}"
    );
    let f = with_code(&v, "findings", "task_events_pending");
    assert_eq!(f.len(), 1, "{v}");
    assert_eq!(f[0]["severity"], "info");

    // Lines added that are no events are damage, not pending events.
    let path = env.task_file(CODE, "events.jsonl");
    let pending = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("{pending}not json at all\n")).unwrap();
    let (d, v) = doctor(&env, &[]);
    assert_eq!(d.code, Some(4), "{}", d.stdout);
    assert_eq!(
        with_code(&v, "findings", "task_state_uncommitted").len(),
        1,
        "{v}"
    );
    std::fs::write(&path, &pending).unwrap();

    // The same file with an earlier line changed is not an append: it stays a warning.
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replacen("\"ts\"", "\"ts\" ", 1)).unwrap();
    let (d, v) = doctor(&env, &[]);
    assert_eq!(d.code, Some(4), "{}", d.stdout);
    assert_eq!(
        with_code(&v, "findings", "task_state_uncommitted").len(),
        1,
        "{v}"
    );
    assert!(
        with_code(&v, "findings", "task_events_pending").is_empty(),
        "{v}"
    );
}
