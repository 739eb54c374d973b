//! After a crash: whether the commit of an interrupted transition landed, and tidying the lock
//! files the killed process left in the middle of the commit protocol (see `commit`).

use super::history;
use super::repo::Repo;
use crate::{Error, Result};
use gix::ObjectId;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Whether the commit of an interrupted transition landed: only when HEAD is the very commit
/// its journal names (`commit`) — HEAD having merely moved may be the user's commit. For a
/// journal of an older orch, which named no commit, HEAD having moved from `legacy_head_before`
/// is all there is to go by. Lock files the killed process created (at or after `since`) are
/// cleared so they never block the next command; if its ref moved but its new index was not
/// yet published, the index is published now, or the user's next commit would revert the
/// transition.
pub fn settle_interrupted(
    git: &Repo,
    committing: bool,
    commit: Option<&str>,
    legacy_head_before: Option<Option<&str>>,
    since: Option<SystemTime>,
) -> Result<bool> {
    crate::fault::fault_point!(crate::fault::points::RECOVERING);
    let head = git.head_id()?.map(|i| i.to_string());
    let landed = committing
        && match (commit, legacy_head_before) {
            (Some(c), _) => head.as_deref() == Some(c),
            (None, Some(before)) => before != head.as_deref(),
            (None, None) => false,
        };
    let index = git.repo.index_path();
    let index_lock = with_suffix(&index, ".lock");
    if ours(&index_lock, since) {
        if landed {
            std::fs::rename(&index_lock, &index).map_err(|e| Error::io(&index, e))?;
        } else {
            let _ = std::fs::remove_file(&index_lock);
        }
    }
    for name in ref_lock_candidates(git) {
        if ours(&name, since) {
            let _ = std::fs::remove_file(&name);
        }
    }
    Ok(landed)
}

fn with_suffix(p: &Path, suffix: &str) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// A lock file created after the journal `since` was written: left by the killed process.
fn ours(lock: &Path, since: Option<SystemTime>) -> bool {
    match (std::fs::metadata(lock).and_then(|m| m.modified()), since) {
        (Ok(t), Some(since)) => t >= since,
        _ => false,
    }
}

fn ref_lock_candidates(git: &Repo) -> Vec<PathBuf> {
    let mut v = vec![with_suffix(&git.git_dir.join("HEAD"), ".lock")];
    if let Ok(head) = git.repo.head() {
        if let Some(name) = head.referent_name() {
            let rel = name.as_bstr().to_string();
            v.push(with_suffix(&git.common_dir.join(rel), ".lock"));
        }
    }
    v
}

/// A commit of the user's that put task files back as they were before orch's commit beneath
/// it — what a plain `git commit` does when it reads HEAD just after orch moved it and the
/// index just before orch published its own — and that HEAD still holds, while the worktree
/// still has orch's version.
#[derive(Debug, Clone)]
pub struct Reverted {
    pub user_commit: ObjectId,
    pub orch_commit: ObjectId,
    /// The task orch's commit was for.
    pub task: String,
    /// Repository-relative paths whose committed state was reverted.
    pub paths: Vec<String>,
}

/// How many commits of the user's above orch's last one are looked through.
const REVERT_LOOKBACK: usize = 16;

/// Finds a [`Reverted`] commit between HEAD and orch's last commit, looking only at the first
/// parents of at most [`REVERT_LOOKBACK`] commits, so it is cheap enough for every command.
pub fn reverted_task_state(git: &Repo, tasks_dir: &str) -> Result<Option<Reverted>> {
    let repo = &git.repo;
    let Some(head) = git.head_id()? else {
        return Ok(None);
    };
    let head_tree = history::commit_tree_parents(repo, head)?.0;
    let (mut cur, mut child) = (head, None);
    let orch = loop {
        let meta = history::commit_meta(repo, cur)?;
        if let Some(task) = task_trailer(&meta) {
            break Some((meta, task));
        }
        match meta.parents.first() {
            Some(p) if child_depth(&mut child, cur) < REVERT_LOOKBACK => cur = *p,
            _ => break None,
        }
    };
    let (Some((orch, task)), Some((user, _))) = (orch, child) else {
        return Ok(None);
    };
    let Some(&before) = orch.parents.first() else {
        return Ok(None);
    };
    let before_tree = history::commit_tree_parents(repo, before)?.0;
    let user_tree = history::commit_tree_parents(repo, user)?.0;
    let folder = format!("{tasks_dir}/{task}");
    let mut names: Vec<String> = Vec::new();
    for tree in [orch.tree, before_tree] {
        if let Some(n) = history::entry_at(repo, tree, &folder)? {
            if n.mode.is_tree() {
                names.extend(history::list_tree(repo, n.id)?.into_iter().map(|(p, _)| p));
            }
        }
    }
    names.sort();
    names.dedup();
    let mut paths = Vec::new();
    for name in names {
        let path = format!("{folder}/{name}");
        let at = |tree| history::entry_at(repo, tree, &path).map(|n| n.map(|n| n.id));
        let (old, new) = (at(before_tree)?, at(orch.tree)?);
        if new != old && at(user_tree)? == old && at(head_tree)? == old && on_disk(git, &path, new)
        {
            paths.push(path);
        }
    }
    Ok((!paths.is_empty()).then_some(Reverted {
        user_commit: user,
        orch_commit: orch.id,
        task,
        paths,
    }))
}

/// Whether the worktree still holds orch's version `new` of `path`: the mark of the race (orch
/// wrote its files; git committed the old index over them). A deliberate `git revert` or
/// checkout changes the worktree too, and is the user's to make.
fn on_disk(git: &Repo, path: &str, new: Option<ObjectId>) -> bool {
    let bytes = std::fs::read(git.workdir.join(path)).ok();
    let want = new.and_then(|id| history::blob(&git.repo, id).ok());
    bytes == want
}

/// Records `cur` as the child of the next commit looked at; returns how many were looked at.
fn child_depth(child: &mut Option<(ObjectId, usize)>, cur: ObjectId) -> usize {
    let depth = child.map_or(0, |(_, d)| d) + 1;
    *child = Some((cur, depth));
    depth
}

fn task_trailer(meta: &history::CommitMeta) -> Option<String> {
    meta.trailers
        .iter()
        .find(|(k, _)| k == "Orchestration-Task")
        .map(|(_, v)| v.trim().to_owned())
}
