//! What is and is not committed outside one top-level folder: tracked paths whose index or
//! worktree differs from HEAD, and the commits of a range that change anything else.

use super::history::{self, git_err};
use crate::Result;
use gix::ObjectId;

fn outside(path: &str, folder: &str) -> bool {
    !(path == folder || path.starts_with(&format!("{folder}/")))
}

/// Tracked paths outside `folder` whose staged or worktree content differs from HEAD, and
/// with `untracked` the files git would list as untracked (not ignored ones), sorted.
/// Untracked files matter before a check runs (they are in the worktree it tests, not in the
/// commit it is recorded for), not after: they may be the output a check wrote.
pub fn uncommitted_outside(
    repo: &gix::Repository,
    folder: &str,
    untracked: bool,
) -> Result<Vec<String>> {
    let err = |e: &dyn std::fmt::Display| git_err("cannot read the worktree status", e);
    let platform = repo
        .status(gix::progress::Discard)
        .map_err(|e| err(&e))?
        .index_worktree_rewrites(None);
    let platform = match untracked {
        true => platform.untracked_files(gix::status::UntrackedFiles::Files),
        false => platform
            .untracked_files(gix::status::UntrackedFiles::None)
            .index_worktree_options_mut(|o| o.dirwalk_options = None),
    };
    let iter = platform.into_iter(None).map_err(|e| err(&e))?;
    let mut out = Vec::new();
    for item in iter {
        let item = item.map_err(|e| err(&e))?;
        let path = item.location().to_string();
        if outside(&path, folder) {
            out.push(path);
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// The commits reachable from `head` and not from `base` that change something outside the
/// top-level `folder` (compared with their first parent), newest first.
pub fn commits_outside(
    repo: &gix::Repository,
    head: ObjectId,
    base: Option<ObjectId>,
    folder: &str,
) -> Result<Vec<ObjectId>> {
    let hidden: Vec<ObjectId> = base.into_iter().collect();
    let mut out = Vec::new();
    for id in history::range_commits(repo, &[head], &hidden)? {
        let (tree, parents, _) = history::commit_tree_parents(repo, id)?;
        let parent_tree = match parents.first() {
            Some(p) => Some(history::commit_tree_parents(repo, *p)?.0),
            None => None,
        };
        // Only the root level needs reading: the folder is one entry there.
        let changed = history::diff_names(repo, parent_tree, Some(tree))?;
        if changed.iter().any(|(name, _, _)| name != folder) {
            out.push(id);
        }
    }
    Ok(out)
}
