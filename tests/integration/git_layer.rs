//! The git layer checked against real git: every repository is made and inspected with the
//! `git` binary, and orch's commits must look to git exactly like its own.

use std::fs;
use std::path::{Path, PathBuf};

use orch::git::commit::commit_paths_with_hook;
use orch::git::{commit_paths, Repo};
use orch::ErrorKind;
use tempfile::TempDir;

use crate::support::in_process::*;

/// A repository with one commit: some files at the top and a task folder.
fn fixture() -> (TempDir, PathBuf) {
    hermetic_process();
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().join("repo");
    fs::create_dir(&dir).unwrap();
    init(&dir);
    write(&dir, "a.txt", "a\n");
    write(&dir, "b.txt", "b\n");
    write(&dir, "del.txt", "delete me\n");
    write(&dir, "src/lib.rs", "fn x() {}\n");
    write(&dir, "tasks/T1/x.md", "x v1\n");
    write(&dir, "tasks/T1/z.md", "z v1\n");
    write(&dir, "tasks/T1/sub/deep.md", "deep\n");
    write(&dir, "tasks/T2/other.md", "other\n");
    git(&dir, &["add", "-A"]);
    git(&dir, &["commit", "-q", "-m", "initial"]);
    (tmp, dir)
}

fn init(dir: &Path) {
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["config", "user.name", "Test User"]);
    git(dir, &["config", "user.email", "test@example.com"]);
}

fn head(dir: &Path) -> String {
    git(dir, &["rev-parse", "HEAD"]).trim().to_owned()
}

fn show(dir: &Path, spec: &str) -> String {
    git(dir, &["show", spec])
}

fn fsck(dir: &Path) {
    git(dir, &["fsck", "--strict", "--no-dangling"]);
}

fn status(dir: &Path) -> String {
    git(dir, &["status", "--porcelain"])
}

fn open(dir: &Path) -> Repo {
    Repo::discover(dir).unwrap()
}

fn index_bytes(dir: &Path) -> Vec<u8> {
    let p = PathBuf::from(
        git(
            dir,
            &["rev-parse", "--path-format=absolute", "--git-path", "index"],
        )
        .trim(),
    );
    fs::read(p).unwrap_or_default()
}

fn task_changes(dir: &Path) {
    write(dir, "tasks/T1/x.md", "x v2\n");
    write(dir, "tasks/T1/y.md", "y new\n");
    fs::remove_file(dir.join("tasks/T1/z.md")).unwrap();
}

#[test]
fn other_staged_changes_stay_staged_and_untouched() {
    let (_t, dir) = fixture();
    // The user's own staged work: a new file, a modification, a deletion, a mode change.
    write(&dir, "new.txt", "new\n");
    write(&dir, "a.txt", "a modified\n");
    chmod(&dir, "b.txt", 0o755);
    git(&dir, &["add", "new.txt", "a.txt", "b.txt"]);
    git(&dir, &["rm", "-q", "del.txt"]);
    // Unstaged work outside the folder must stay unstaged.
    write(&dir, "src/lib.rs", "fn x() { changed }\n");
    task_changes(&dir);

    let cached_before = git_bytes(&dir, &["diff", "--cached", "--", ".", ":!tasks"]);
    let unstaged_before = git_bytes(&dir, &["diff"]);
    let parent = head(&dir);

    let repo = open(&dir);
    let out = commit_paths(
        &repo,
        &["tasks/T1"],
        "orch(T1): intake -> research\n\nOrchestration-Task: T1\n",
    )
    .unwrap()
    .expect("a commit");
    assert_eq!(out.parent.unwrap().to_string(), parent);
    assert_eq!(out.commit.to_string(), head(&dir));
    assert_eq!(
        out.changed_paths,
        vec!["tasks/T1/x.md", "tasks/T1/y.md", "tasks/T1/z.md"]
    );

    assert_eq!(
        git_bytes(&dir, &["diff", "--cached"]),
        cached_before,
        "other staged changes changed"
    );
    let unstaged_after = git_bytes(&dir, &["diff"]);
    assert!(
        String::from_utf8_lossy(&unstaged_after).contains("changed }"),
        "unstaged change lost"
    );
    assert!(!String::from_utf8_lossy(&unstaged_after).contains("tasks/"));
    assert_ne!(unstaged_before, Vec::<u8>::new());
    assert_eq!(git(&dir, &["status", "--porcelain", "--", "tasks"]), "");
    fsck(&dir);

    // Only the task folder is in the commit.
    let names = git(&dir, &["show", "--name-status", "--format=", "HEAD"]);
    assert_eq!(
        names,
        "M\ttasks/T1/x.md\nA\ttasks/T1/y.md\nD\ttasks/T1/z.md\n"
    );
    assert_eq!(
        git(&dir, &["log", "-1", "--format=%an <%ae>|%cn <%ce>|%B"]),
        "Test User <test@example.com>|Test User <test@example.com>|orch(T1): intake -> research\n\nOrchestration-Task: T1\n\n"
    );
    let reflog = git(&dir, &["reflog", "-1", "--format=%gs"]);
    assert_eq!(reflog.trim(), "commit: orch(T1): intake -> research");
    let branch_reflog = git(&dir, &["reflog", "-1", "--format=%gs", "main"]);
    assert_eq!(branch_reflog.trim(), "commit: orch(T1): intake -> research");

    // The user's next plain commit must not revert ours.
    git(&dir, &["commit", "-q", "-m", "user work"]);
    assert_eq!(show(&dir, "HEAD:tasks/T1/x.md"), "x v2\n");
    assert_eq!(show(&dir, "HEAD:tasks/T1/y.md"), "y new\n");
    assert!(
        git_raw(&dir, &["cat-file", "-e", "HEAD:tasks/T1/z.md"])
            .status
            .code()
            != Some(0)
    );
    let user_commit = git(&dir, &["show", "--name-status", "--format=", "HEAD"]);
    assert_eq!(user_commit, "M\ta.txt\nM\tb.txt\nD\tdel.txt\nA\tnew.txt\n");
    fsck(&dir);
}

#[test]
fn write_tree_matches_head_and_commit_am_keeps_our_change() {
    let (_t, dir) = fixture();
    task_changes(&dir);
    let repo = open(&dir);
    commit_paths(&repo, &["tasks/T1"], "t1").unwrap().unwrap();
    assert_eq!(
        git(&dir, &["write-tree"]).trim(),
        git(&dir, &["rev-parse", "HEAD^{tree}"]).trim()
    );
    assert_eq!(status(&dir), "");
    // Fresh stat data: the index matches the worktree without re-hashing surprises.
    git(&dir, &["diff-files", "--quiet"]);
    write(&dir, "a.txt", "later\n");
    git(&dir, &["commit", "-q", "-am", "user"]);
    assert_eq!(show(&dir, "HEAD:tasks/T1/x.md"), "x v2\n");
    assert_eq!(
        git(&dir, &["show", "--name-only", "--format=", "HEAD"]),
        "a.txt\n"
    );
    fsck(&dir);
}

#[test]
fn staged_version_inside_folder_is_replaced_by_worktree_version() {
    let (_t, dir) = fixture();
    write(&dir, "tasks/T1/x.md", "staged\n");
    git(&dir, &["add", "tasks/T1/x.md"]);
    write(&dir, "tasks/T1/x.md", "worktree\n");
    let repo = open(&dir);
    commit_paths(&repo, &["tasks/T1"], "t1").unwrap().unwrap();
    assert_eq!(show(&dir, "HEAD:tasks/T1/x.md"), "worktree\n");
    assert_eq!(status(&dir), "");
}

#[test]
fn no_change_returns_none_and_writes_nothing() {
    let (_t, dir) = fixture();
    let repo = open(&dir);
    let before = index_bytes(&dir);
    let h = head(&dir);
    assert!(commit_paths(&repo, &["tasks/T1"], "nothing")
        .unwrap()
        .is_none());
    assert!(commit_paths(&repo, &["tasks/missing"], "nothing")
        .unwrap()
        .is_none());
    assert_eq!(index_bytes(&dir), before);
    assert_eq!(head(&dir), h);
    // After a real commit, the same call has nothing left to do.
    write(&dir, "tasks/T1/x.md", "changed\n");
    assert!(commit_paths(&repo, &["tasks/T1"], "one").unwrap().is_some());
    let repo = open(&dir);
    assert!(commit_paths(&repo, &["tasks/T1"], "two").unwrap().is_none());
}

#[test]
fn single_files_and_several_paths() {
    let (_t, dir) = fixture();
    write(&dir, "tasks/T1/x.md", "x3\n");
    write(&dir, "tasks/T2/other.md", "other2\n");
    write(&dir, "tasks/T1/z.md", "z not committed\n");
    let repo = open(&dir);
    let out = commit_paths(&repo, &["tasks/T1/x.md", "tasks/T2/"], "two paths")
        .unwrap()
        .unwrap();
    assert_eq!(
        out.changed_paths,
        vec!["tasks/T1/x.md", "tasks/T2/other.md"]
    );
    assert_eq!(show(&dir, "HEAD:tasks/T1/z.md"), "z v1\n");
    assert_eq!(status(&dir), " M tasks/T1/z.md\n");
    fsck(&dir);
}

#[test]
fn whole_folder_deleted() {
    let (_t, dir) = fixture();
    fs::remove_dir_all(dir.join("tasks/T1")).unwrap();
    let repo = open(&dir);
    let out = commit_paths(&repo, &["tasks/T1"], "gone").unwrap().unwrap();
    assert_eq!(
        out.changed_paths,
        vec!["tasks/T1/sub/deep.md", "tasks/T1/x.md", "tasks/T1/z.md"]
    );
    assert_eq!(
        git(&dir, &["ls-tree", "-r", "--name-only", "HEAD", "tasks"]),
        "tasks/T2/other.md\n"
    );
    assert_eq!(status(&dir), "");
    assert_eq!(
        git(&dir, &["write-tree"]).trim(),
        git(&dir, &["rev-parse", "HEAD^{tree}"]).trim()
    );
    fsck(&dir);
}

#[test]
fn file_replaced_by_directory_and_back() {
    let (_t, dir) = fixture();
    // x.md becomes a folder with a file in it.
    fs::remove_file(dir.join("tasks/T1/x.md")).unwrap();
    write(&dir, "tasks/T1/x.md/inner.md", "inner\n");
    // sub/ becomes a file.
    fs::remove_dir_all(dir.join("tasks/T1/sub")).unwrap();
    write(&dir, "tasks/T1/sub", "now a file\n");
    let repo = open(&dir);
    commit_paths(&repo, &["tasks/T1"], "swap").unwrap().unwrap();
    assert_eq!(
        git(&dir, &["ls-tree", "-r", "--name-only", "HEAD", "tasks/T1"]),
        "tasks/T1/sub\ntasks/T1/x.md/inner.md\ntasks/T1/z.md\n"
    );
    assert_eq!(status(&dir), "");
    assert_eq!(
        git(&dir, &["write-tree"]).trim(),
        git(&dir, &["rev-parse", "HEAD^{tree}"]).trim()
    );
    fsck(&dir);
}

#[test]
fn file_replaced_by_directory_above_the_committed_path() {
    let (_t, dir) = fixture();
    write(&dir, "notes", "a file\n");
    git(&dir, &["add", "notes"]);
    git(&dir, &["commit", "-q", "-m", "notes file"]);
    fs::remove_file(dir.join("notes")).unwrap();
    write(&dir, "notes/T9/a.md", "a\n");
    let repo = open(&dir);
    let out = commit_paths(&repo, &["notes/T9"], "dir").unwrap().unwrap();
    assert_eq!(out.changed_paths, vec!["notes", "notes/T9/a.md"]);
    assert_eq!(
        git(&dir, &["ls-tree", "-r", "--name-only", "HEAD", "notes"]),
        "notes/T9/a.md\n"
    );
    assert_eq!(status(&dir), "");
    fsck(&dir);
}

#[test]
fn unborn_branch_first_commit() {
    hermetic_process();
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().to_path_buf();
    init(&dir);
    write(&dir, "tasks/T1/x.md", "x\n");
    write(&dir, "README.md", "untracked, not committed\n");
    assert!(!dir.join(".git/index").exists());
    let repo = open(&dir);
    assert_eq!(repo.head_id().unwrap(), None);
    assert_eq!(repo.head_name().unwrap(), "main");
    let out = commit_paths(&repo, &["tasks/T1"], "first")
        .unwrap()
        .unwrap();
    assert_eq!(out.parent, None);
    assert_eq!(
        git(&dir, &["ls-tree", "-r", "--name-only", "HEAD"]),
        "tasks/T1/x.md\n"
    );
    assert_eq!(
        git(&dir, &["reflog", "-1", "--format=%gs"]).trim(),
        "commit (initial): first"
    );
    assert_eq!(status(&dir), "?? README.md\n");
    fsck(&dir);
}

#[test]
fn unborn_branch_with_other_staged_files() {
    hermetic_process();
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().to_path_buf();
    init(&dir);
    write(&dir, "staged.txt", "staged\n");
    git(&dir, &["add", "staged.txt"]);
    write(&dir, "tasks/T1/x.md", "x\n");
    let repo = open(&dir);
    commit_paths(&repo, &["tasks/T1"], "first")
        .unwrap()
        .unwrap();
    assert_eq!(
        git(&dir, &["ls-tree", "-r", "--name-only", "HEAD"]),
        "tasks/T1/x.md\n"
    );
    assert_eq!(
        git(&dir, &["diff", "--cached", "--name-status"]),
        "A\tstaged.txt\n"
    );
    git(&dir, &["commit", "-q", "-m", "user"]);
    assert_eq!(
        git(&dir, &["ls-tree", "-r", "--name-only", "HEAD"]),
        "staged.txt\ntasks/T1/x.md\n"
    );
    fsck(&dir);
}

#[test]
fn detached_head_moves_head_only() {
    let (_t, dir) = fixture();
    git(&dir, &["checkout", "-q", "--detach"]);
    let main_before = git(&dir, &["rev-parse", "main"]);
    task_changes(&dir);
    let repo = open(&dir);
    assert_eq!(repo.head_name().unwrap(), "detached HEAD");
    let out = commit_paths(&repo, &["tasks/T1"], "detached")
        .unwrap()
        .unwrap();
    assert_eq!(head(&dir), out.commit.to_string());
    assert_eq!(git(&dir, &["rev-parse", "main"]), main_before);
    let sym = git_raw(&dir, &["symbolic-ref", "-q", "HEAD"]);
    assert_eq!(sym.status.code(), Some(1), "HEAD must stay detached");
    fsck(&dir);
}

#[test]
fn linked_worktree() {
    let (t, dir) = fixture();
    let wt = t.path().join("wt");
    git(
        &dir,
        &["worktree", "add", "-q", "-b", "feat", wt.to_str().unwrap()],
    );
    task_changes(&wt);
    let main_before = git(&dir, &["rev-parse", "main"]);
    let repo = open(&wt.join("tasks"));
    assert_eq!(repo.workdir, wt.canonicalize().unwrap_or(wt.clone()));
    assert_eq!(repo.head_name().unwrap(), "feat");
    assert_eq!(
        repo.rel_path(&wt.join("tasks/T1/x.md")).as_deref(),
        Some("tasks/T1/x.md")
    );
    let hooks = PathBuf::from(
        git(
            &wt,
            &["rev-parse", "--path-format=absolute", "--git-path", "hooks"],
        )
        .trim(),
    );
    assert_eq!(
        repo.hooks_dir()
            .unwrap()
            .canonicalize()
            .unwrap_or(repo.hooks_dir().unwrap()),
        hooks.canonicalize().unwrap_or(hooks.clone())
    );
    commit_paths(&repo, &["tasks/T1"], "in worktree")
        .unwrap()
        .unwrap();
    assert_eq!(git(&dir, &["rev-parse", "main"]), main_before);
    assert_eq!(git(&wt, &["rev-parse", "feat"]).trim(), head(&wt));
    assert_eq!(show(&wt, "feat:tasks/T1/x.md"), "x v2\n");
    assert_eq!(status(&wt), "");
    assert_eq!(status(&dir), "");
    fsck(&dir);
}

#[test]
fn packed_refs() {
    let (_t, dir) = fixture();
    git(&dir, &["pack-refs", "--all"]);
    assert!(!dir.join(".git/refs/heads/main").exists());
    task_changes(&dir);
    let repo = open(&dir);
    let out = commit_paths(&repo, &["tasks/T1"], "packed")
        .unwrap()
        .unwrap();
    assert_eq!(
        git(&dir, &["rev-parse", "main"]).trim(),
        out.commit.to_string()
    );
    fsck(&dir);
}

#[test]
fn autocrlf_stores_lf_like_git_add() {
    let (_t, dir) = fixture();
    git(&dir, &["config", "core.autocrlf", "true"]);
    write(&dir, "tasks/T1/crlf.md", "one\r\ntwo\r\n");
    let repo = open(&dir);
    commit_paths(&repo, &["tasks/T1"], "crlf").unwrap().unwrap();
    let expected = git(&dir, &["hash-object", "tasks/T1/crlf.md"]);
    let staged = git(&dir, &["ls-files", "-s", "tasks/T1/crlf.md"]);
    assert!(staged.contains(expected.trim()), "{staged} vs {expected}");
    assert_eq!(show(&dir, "HEAD:tasks/T1/crlf.md"), "one\ntwo\n");
    assert_eq!(status(&dir), "");
}

#[test]
fn gitattributes_eol_is_honoured() {
    let (_t, dir) = fixture();
    write(&dir, ".gitattributes", "*.txt text eol=lf\n");
    git(&dir, &["add", ".gitattributes"]);
    git(&dir, &["commit", "-q", "-m", "attrs"]);
    write(&dir, "tasks/T1/n.txt", "a\r\nb\r\n");
    let repo = open(&dir);
    commit_paths(&repo, &["tasks/T1"], "attrs")
        .unwrap()
        .unwrap();
    assert_eq!(show(&dir, "HEAD:tasks/T1/n.txt"), "a\nb\n");
}

#[cfg(unix)]
#[test]
fn executable_bit_and_file_mode_false() {
    let (_t, dir) = fixture();
    write(&dir, "tasks/T1/run.sh", "#!/bin/sh\n");
    chmod(&dir, "tasks/T1/run.sh", 0o755);
    let repo = open(&dir);
    commit_paths(&repo, &["tasks/T1"], "exec").unwrap().unwrap();
    assert!(git(&dir, &["ls-tree", "HEAD", "tasks/T1/run.sh"]).starts_with("100755"));

    // With core.fileMode=false, the recorded mode wins over the file system's.
    git(&dir, &["config", "core.fileMode", "false"]);
    chmod(&dir, "tasks/T1/run.sh", 0o644);
    write(&dir, "tasks/T1/run.sh", "#!/bin/sh\necho\n");
    chmod(&dir, "tasks/T1/x.md", 0o755);
    write(&dir, "tasks/T1/x.md", "x changed\n");
    write(&dir, "tasks/T1/newexec.sh", "new\n");
    chmod(&dir, "tasks/T1/newexec.sh", 0o755);
    let repo = open(&dir);
    commit_paths(&repo, &["tasks/T1"], "filemode")
        .unwrap()
        .unwrap();
    assert!(git(&dir, &["ls-tree", "HEAD", "tasks/T1/run.sh"]).starts_with("100755"));
    assert!(git(&dir, &["ls-tree", "HEAD", "tasks/T1/x.md"]).starts_with("100644"));
    assert!(git(&dir, &["ls-tree", "HEAD", "tasks/T1/newexec.sh"]).starts_with("100644"));
    assert_eq!(status(&dir), "");
    fsck(&dir);
}

#[cfg(unix)]
#[test]
fn symlink_is_stored_as_link() {
    let (_t, dir) = fixture();
    std::os::unix::fs::symlink("x.md", dir.join("tasks/T1/link")).unwrap();
    std::os::unix::fs::symlink("../../src", dir.join("tasks/T1/dirlink")).unwrap();
    let repo = open(&dir);
    commit_paths(&repo, &["tasks/T1"], "links")
        .unwrap()
        .unwrap();
    assert!(git(&dir, &["ls-tree", "HEAD", "tasks/T1/link"]).starts_with("120000"));
    assert_eq!(show(&dir, "HEAD:tasks/T1/link"), "x.md");
    assert!(git(&dir, &["ls-tree", "HEAD", "tasks/T1/dirlink"]).starts_with("120000"));
    assert_eq!(status(&dir), "");
    fsck(&dir);
}

#[cfg(unix)]
#[test]
fn directory_replaced_by_symlink_drops_files_below_it() {
    let (t, dir) = fixture();
    let elsewhere = t.path().join("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    fs::write(elsewhere.join("deep.md"), "outside the repo\n").unwrap();
    fs::remove_dir_all(dir.join("tasks/T1/sub")).unwrap();
    std::os::unix::fs::symlink(&elsewhere, dir.join("tasks/T1/sub")).unwrap();
    let repo = open(&dir);
    let out = commit_paths(&repo, &["tasks/T1"], "link").unwrap().unwrap();
    assert_eq!(
        out.changed_paths,
        vec!["tasks/T1/sub", "tasks/T1/sub/deep.md"]
    );
    assert!(git(&dir, &["ls-tree", "HEAD", "tasks/T1/sub"]).starts_with("120000"));
    assert_eq!(status(&dir), "");
    fsck(&dir);
}

#[test]
fn ignored_files_are_not_committed_unless_tracked() {
    let (_t, dir) = fixture();
    write(&dir, ".gitignore", "*.log\nbuild/\n");
    write(&dir, "tasks/T1/sub/.gitignore", "secret.md\n");
    write(&dir, "tracked.log", "forced\n");
    git(&dir, &["add", ".gitignore", "tasks/T1/sub/.gitignore"]);
    git(&dir, &["add", "-f", "tracked.log"]);
    write(&dir, "tasks/T1/tracked.log", "tracked v1\n");
    git(&dir, &["add", "-f", "tasks/T1/tracked.log"]);
    git(&dir, &["commit", "-q", "-m", "ignores"]);

    write(&dir, "tasks/T1/debug.log", "ignored\n");
    write(&dir, "tasks/T1/build/out.bin", "ignored dir\n");
    write(&dir, "tasks/T1/sub/secret.md", "ignored by nested file\n");
    write(&dir, "tasks/T1/keep.md", "kept\n");
    write(&dir, "tasks/T1/tracked.log", "tracked v2\n");
    let repo = open(&dir);
    let out = commit_paths(&repo, &["tasks/T1"], "ignore")
        .unwrap()
        .unwrap();
    assert_eq!(
        out.changed_paths,
        vec!["tasks/T1/keep.md", "tasks/T1/tracked.log"]
    );
    assert_eq!(show(&dir, "HEAD:tasks/T1/tracked.log"), "tracked v2\n");
    assert_eq!(status(&dir), "");
    // An ignored file named directly is not committed either.
    assert!(commit_paths(&repo, &["tasks/T1/debug.log"], "x")
        .unwrap()
        .is_none());
}

#[test]
fn intent_to_add_entry_is_committed_and_cleared() {
    let (_t, dir) = fixture();
    write(&dir, "tasks/T1/ita.md", "ita\n");
    git(&dir, &["add", "-N", "tasks/T1/ita.md"]);
    let repo = open(&dir);
    commit_paths(&repo, &["tasks/T1"], "ita").unwrap().unwrap();
    assert_eq!(show(&dir, "HEAD:tasks/T1/ita.md"), "ita\n");
    assert_eq!(status(&dir), "");
    assert_eq!(
        git(&dir, &["write-tree"]).trim(),
        git(&dir, &["rev-parse", "HEAD^{tree}"]).trim()
    );
    fsck(&dir);
}

fn assert_refused(dir: &Path, kind: ErrorKind, needle: &str) {
    let idx = index_bytes(dir);
    let h = git(dir, &["rev-parse", "-q", "--verify", "HEAD"]);
    task_changes(dir);
    let repo = open(dir);
    let err = repo.ensure_can_commit().unwrap_err();
    assert_eq!(err.kind, kind, "{}", err.message);
    assert!(err.message.contains(needle), "{}", err.message);
    assert!(err.hint.is_some());
    let err = match commit_paths(&repo, &["tasks/T1"], "refused") {
        Err(e) => e,
        Ok(_) => panic!("commit was not refused"),
    };
    assert_eq!(err.kind, kind, "{}", err.message);
    assert_eq!(index_bytes(dir), idx);
    assert_eq!(git(dir, &["rev-parse", "-q", "--verify", "HEAD"]), h);
}

#[test]
fn refuses_merge_in_progress() {
    let (_t, dir) = fixture();
    let h = head(&dir);
    fs::write(dir.join(".git/MERGE_HEAD"), format!("{h}\n")).unwrap();
    assert_refused(&dir, ErrorKind::State, "merge");
}

#[test]
fn refuses_real_merge_conflict() {
    let (_t, dir) = fixture();
    git(&dir, &["checkout", "-q", "-b", "side"]);
    write(&dir, "a.txt", "side\n");
    git(&dir, &["commit", "-q", "-am", "side"]);
    git(&dir, &["checkout", "-q", "main"]);
    write(&dir, "a.txt", "main\n");
    git(&dir, &["commit", "-q", "-am", "main"]);
    assert!(!git_raw(&dir, &["merge", "-q", "side"]).status.success());
    assert_refused(&dir, ErrorKind::State, "merge");
}

#[test]
fn refuses_rebase_in_progress() {
    for d in ["rebase-merge", "rebase-apply"] {
        let (_t, dir) = fixture();
        fs::create_dir(dir.join(".git").join(d)).unwrap();
        if d == "rebase-apply" {
            fs::write(dir.join(".git/rebase-apply/rebasing"), "").unwrap();
        }
        assert_refused(&dir, ErrorKind::State, "rebase");
    }
}

#[test]
fn refuses_cherry_pick_revert_bisect() {
    for (file, needle) in [
        ("CHERRY_PICK_HEAD", "cherry-pick"),
        ("REVERT_HEAD", "revert"),
        ("BISECT_LOG", "bisect"),
    ] {
        let (_t, dir) = fixture();
        let h = head(&dir);
        fs::write(dir.join(".git").join(file), format!("{h}\n")).unwrap();
        assert_refused(&dir, ErrorKind::State, needle);
    }
}

#[test]
fn refuses_sparse_index() {
    let (_t, dir) = fixture();
    git(
        &dir,
        &["sparse-checkout", "init", "--cone", "--sparse-index"],
    );
    git(&dir, &["sparse-checkout", "set", "tasks/T1"]);
    let ls = git(&dir, &["ls-files", "--sparse"]);
    assert!(
        ls.contains("src/"),
        "expected a sparse directory entry: {ls}"
    );
    assert_refused(&dir, ErrorKind::State, "sparse");
}

#[test]
fn refuses_bare_repository() {
    hermetic_process();
    let tmp = TempDir::new().unwrap();
    git(tmp.path(), &["init", "-q", "--bare", "b.git"]);
    let err = Repo::discover(&tmp.path().join("b.git"))
        .err()
        .expect("refused");
    assert_eq!(err.kind, ErrorKind::State);
    assert!(err.message.contains("bare"), "{}", err.message);
}

#[test]
fn refuses_non_repository() {
    hermetic_process();
    let tmp = TempDir::new().unwrap();
    let err = Repo::discover(tmp.path()).err().expect("refused");
    assert_eq!(err.kind, ErrorKind::State);
    assert!(
        err.message.starts_with("not a git repository: "),
        "{}",
        err.message
    );
    assert_eq!(
        err.hint.as_deref(),
        Some("run `git init` first (or pass -C <dir>)")
    );
}

#[test]
fn refuses_reftable() {
    hermetic_process();
    let tmp = TempDir::new().unwrap();
    let out = git_raw(tmp.path(), &["init", "-q", "--ref-format=reftable", "r"]);
    if !out.status.success() {
        eprintln!("git cannot make reftable repositories; skipping");
        return;
    }
    let err = Repo::discover(&tmp.path().join("r"))
        .err()
        .expect("refused");
    assert_eq!(err.kind, ErrorKind::State, "{}", err.message);
    assert!(err.message.contains("reftable"), "{}", err.message);
}

#[test]
fn refuses_sha256_when_not_compiled() {
    hermetic_process();
    let tmp = TempDir::new().unwrap();
    git(tmp.path(), &["init", "-q", "--object-format=sha256", "r"]);
    let err = Repo::discover(&tmp.path().join("r"))
        .err()
        .expect("refused");
    assert_eq!(err.kind, ErrorKind::State, "{}", err.message);
    assert!(err.message.contains("object format"), "{}", err.message);
}

#[test]
fn missing_identity_writes_nothing() {
    let (_t, dir) = fixture();
    git(&dir, &["config", "--unset", "user.name"]);
    git(&dir, &["config", "--unset", "user.email"]);
    task_changes(&dir);
    let idx = index_bytes(&dir);
    let h = head(&dir);
    let objects_before = git(&dir, &["count-objects"]);
    let repo = open(&dir);
    let err = repo.author_identity().unwrap_err();
    assert_eq!(err.kind, ErrorKind::State);
    assert!(err.message.contains("Please tell me who you are"));
    assert!(err.hint.as_deref().unwrap().contains("git config"));
    assert_eq!(
        repo.committer_identity().unwrap_err().kind,
        ErrorKind::State
    );
    let err = commit_paths(&repo, &["tasks/T1"], "x")
        .err()
        .expect("refused");
    assert_eq!(err.kind, ErrorKind::State);
    assert_eq!(index_bytes(&dir), idx);
    assert_eq!(head(&dir), h);
    assert_eq!(git(&dir, &["count-objects"]), objects_before);
    assert!(!dir.join(".git/index.lock").exists());
}

#[test]
fn identity_from_author_and_committer_config() {
    let (_t, dir) = fixture();
    git(&dir, &["config", "author.name", "Au Thor"]);
    git(&dir, &["config", "author.email", "author@example.com"]);
    let repo = open(&dir);
    assert_eq!(
        repo.author_identity().unwrap().to_string(),
        "Au Thor <author@example.com>"
    );
    assert_eq!(
        repo.committer_identity().unwrap().to_string(),
        "Test User <test@example.com>"
    );
    task_changes(&dir);
    commit_paths(&repo, &["tasks/T1"], "who").unwrap().unwrap();
    assert_eq!(
        git(&dir, &["log", "-1", "--format=%an <%ae>|%cn <%ce>"]).trim(),
        "Au Thor <author@example.com>|Test User <test@example.com>"
    );
}

#[test]
fn index_lock_held_is_a_conflict() {
    let (_t, dir) = fixture();
    task_changes(&dir);
    let lock = dir.join(".git/index.lock");
    fs::write(&lock, "").unwrap();
    let h = head(&dir);
    let repo = open(&dir);
    let err = commit_paths(&repo, &["tasks/T1"], "x")
        .err()
        .expect("refused");
    assert_eq!(err.kind, ErrorKind::Conflict);
    assert!(err.message.contains("index.lock"), "{}", err.message);
    assert!(err.hint.as_deref().unwrap().contains("index.lock"));
    assert!(lock.exists(), "someone else's lock must not be removed");
    assert_eq!(head(&dir), h);
}

#[test]
fn ref_moved_underneath_is_a_conflict() {
    let (_t, dir) = fixture();
    task_changes(&dir);
    write(&dir, "a.txt", "user staged\n");
    git(&dir, &["add", "a.txt"]);
    let idx = index_bytes(&dir);
    let repo = open(&dir);
    let d = dir.clone();
    let mut moved = String::new();
    let err = commit_paths_with_hook(&repo, &["tasks/T1"], "racing", &mut || {
        let c = git(
            &d,
            &["commit-tree", "HEAD^{tree}", "-p", "HEAD", "-m", "other"],
        );
        git(&d, &["update-ref", "refs/heads/main", c.trim()]);
        moved = c.trim().to_owned();
    })
    .err()
    .expect("conflict");
    assert_eq!(err.kind, ErrorKind::Conflict, "{}", err.message);
    assert!(err.message.contains(&moved[..7]), "{}", err.message);
    assert!(err.message.contains("nothing was committed"));
    assert_eq!(err.hint.as_deref(), Some("run the command again"));
    assert_eq!(head(&dir), moved);
    assert_eq!(index_bytes(&dir), idx);
    assert!(!dir.join(".git/index.lock").exists());
    fsck(&dir);
}

#[test]
fn branch_created_underneath_on_unborn_is_a_conflict() {
    hermetic_process();
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().to_path_buf();
    init(&dir);
    write(&dir, "tasks/T1/x.md", "x\n");
    let repo = open(&dir);
    let d = dir.clone();
    let err = commit_paths_with_hook(&repo, &["tasks/T1"], "racing", &mut || {
        let tree = git(&d, &["mktree"]);
        let c = git(&d, &["commit-tree", tree.trim(), "-m", "other"]);
        git(&d, &["update-ref", "refs/heads/main", c.trim()]);
    })
    .err()
    .expect("conflict");
    assert_eq!(err.kind, ErrorKind::Conflict, "{}", err.message);
    assert!(!dir.join(".git/index").exists());
}

#[test]
fn bad_paths_are_usage_errors() {
    let (_t, dir) = fixture();
    let repo = open(&dir);
    for p in ["", "/abs", "../x", "a/../b", ".git/config", "./x"] {
        let err = commit_paths(&repo, &[p], "x").err().expect("refused");
        assert_eq!(err.kind, ErrorKind::Usage, "{p}: {}", err.message);
    }
    assert_eq!(
        commit_paths(&repo, &[], "x").err().unwrap().kind,
        ErrorKind::Usage
    );
    write(&dir, "tasks/T1/x.md", "changed\n");
    assert_eq!(
        commit_paths(&repo, &["tasks/T1"], " \n\n")
            .err()
            .unwrap()
            .kind,
        ErrorKind::Usage
    );
}

#[test]
fn repo_queries() {
    let (_t, dir) = fixture();
    let repo = open(&dir.join("tasks/T1"));
    let canon = dir.canonicalize().unwrap();
    assert_eq!(repo.workdir, canon);
    assert_eq!(repo.git_dir, canon.join(".git"));
    assert_eq!(repo.common_dir, canon.join(".git"));
    assert_eq!(repo.head_id().unwrap().unwrap().to_string(), head(&dir));
    assert_eq!(repo.head_name().unwrap(), "main");
    assert_eq!(repo.hooks_dir().unwrap(), canon.join(".git/hooks"));
    assert_eq!(
        repo.rel_path(&dir.join("tasks/T1/x.md")).as_deref(),
        Some("tasks/T1/x.md")
    );
    assert_eq!(
        repo.rel_path(&canon.join("tasks/./T1/new.md")).as_deref(),
        Some("tasks/T1/new.md")
    );
    assert_eq!(repo.rel_path(Path::new("/somewhere/else")), None);
    assert_eq!(repo.config_bool("core.bare"), Some(false));
    assert_eq!(repo.config_bool("orch.nothing"), None);

    git(&dir, &["config", "core.hooksPath", "my-hooks"]);
    let repo = open(&dir);
    assert_eq!(repo.hooks_dir().unwrap(), canon.join("my-hooks"));
    git(&dir, &["config", "core.hooksPath", "/abs/hooks"]);
    let repo = open(&dir);
    assert_eq!(repo.hooks_dir().unwrap(), PathBuf::from("/abs/hooks"));
}

#[test]
fn message_is_cleaned_like_git() {
    let (_t, dir) = fixture();
    task_changes(&dir);
    let repo = open(&dir);
    commit_paths(
        &repo,
        &["tasks/T1"],
        "\n\nsubject  \n\n\n\nbody\nTrailer: x\n\n",
    )
    .unwrap()
    .unwrap();
    assert_eq!(
        git(&dir, &["cat-file", "commit", "HEAD"])
            .split("\n\n")
            .skip(1)
            .collect::<Vec<_>>()
            .join("\n\n"),
        "subject\n\nbody\nTrailer: x\n"
    );
}

/// Times commits of one task folder in a large repository made by `shared/bench/make-repo`;
/// run with `ORCH_BENCH_REPO=/tmp/big cargo test --release --test integration -- --ignored git_layer::bench`.
#[test]
#[ignore]
fn bench_commit_in_large_repo() {
    hermetic_process();
    let Some(dir) = std::env::var_os("ORCH_BENCH_REPO").map(PathBuf::from) else {
        eprintln!("ORCH_BENCH_REPO not set; skipping");
        return;
    };
    git(&dir, &["config", "user.name", "Bench"]);
    git(&dir, &["config", "user.email", "bench@example.com"]);
    let task = ".orchestration/tasks/TSK-000007";
    let mut times = Vec::new();
    for n in 0..15 {
        write(
            &dir,
            &format!("{task}/session.json"),
            &format!("{{\"n\": {n}}}\n"),
        );
        write(
            &dir,
            &format!("{task}/events.jsonl"),
            &format!("{{\"e\": {n}}}\n"),
        );
        write(&dir, &format!("{task}/new-{n}.md"), "new\n");
        let start = std::time::Instant::now();
        let repo = Repo::discover(&dir).unwrap();
        commit_paths(&repo, &[task], &format!("bench {n}"))
            .unwrap()
            .unwrap();
        times.push(start.elapsed());
    }
    times.sort();
    eprintln!(
        "commit of one task folder, discover included: min {:?} median {:?} max {:?}",
        times[0],
        times[times.len() / 2],
        times[times.len() - 1]
    );
    assert_eq!(git(&dir, &["status", "--porcelain", "--", task]), "");
    assert_eq!(
        git(&dir, &["write-tree"]).trim(),
        git(&dir, &["rev-parse", "HEAD^{tree}"]).trim()
    );
}
