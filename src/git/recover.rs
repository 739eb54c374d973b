//! After a crash: whether the commit of an interrupted transition landed, and tidying the lock
//! files the killed process left in the middle of the commit protocol (see `commit`).

use super::repo::Repo;
use crate::{Error, Result};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Whether the commit of a transition that began at `head_before` (journal written at
/// `since`) landed, given that commits were on (`committing`). Lock files the killed process
/// created are cleared so they never block the next command; if its ref moved but its new
/// index was not yet published, the index is published now, or the user's next commit would
/// revert the transition.
pub fn settle_interrupted(
    git: &Repo,
    committing: bool,
    head_before: Option<&str>,
    since: Option<SystemTime>,
) -> Result<bool> {
    crate::fault::fault_point!(crate::fault::points::RECOVERING);
    let head = git.head_id()?.map(|i| i.to_string());
    let landed = committing && head_before != head.as_deref();
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
