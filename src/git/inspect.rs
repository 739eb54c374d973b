//! The repository's state as `orch doctor` reads it, without changing anything: git's lock
//! files, the index's format and extensions, a shallow or sparse checkout, and which files
//! under a folder differ from HEAD.

use super::repo::Repo;
use crate::{Error, Result};
use gix::bstr::ByteSlice;
use gix::ObjectId;
use std::path::{Path, PathBuf};

/// A `*.lock` file git (or orch's commit, which uses git's protocol) left in the git dir.
#[derive(Debug, Clone)]
pub struct LockFile {
    pub path: PathBuf,
    /// Relative to the git dir it is in, with `/`: `index.lock`, `refs/heads/main.lock`.
    pub name: String,
    pub size: u64,
    pub modified: Option<std::time::SystemTime>,
    /// For a ref lock: the object id it would have set the ref to.
    pub new_value: Option<String>,
}

/// Every lock file in this worktree's git dir and the common dir: top-level ones (`index.lock`,
/// `HEAD.lock`, `config.lock`, `packed-refs.lock`, `shallow.lock`, ...) and those under `refs/`.
pub fn lock_files(git: &Repo) -> Vec<LockFile> {
    let mut dirs = vec![git.git_dir.clone()];
    if git.common_dir != git.git_dir {
        dirs.push(git.common_dir.clone());
    }
    let mut out: Vec<LockFile> = vec![];
    for base in &dirs {
        let mut found = vec![];
        if let Ok(rd) = std::fs::read_dir(base) {
            found.extend(rd.flatten().map(|e| e.path()).filter(|p| p.is_file()));
        }
        let refs = base.join("refs");
        if refs.is_dir() {
            found.extend(
                walkdir::WalkDir::new(&refs)
                    .into_iter()
                    .flatten()
                    .filter(|e| e.file_type().is_file())
                    .map(|e| e.into_path()),
            );
        }
        for path in found {
            if !path.to_string_lossy().ends_with(".lock") || out.iter().any(|l| l.path == path) {
                continue;
            }
            let name = path
                .strip_prefix(base)
                .map(|r| r.to_string_lossy().replace('\\', "/"))
                .unwrap_or_default();
            let meta = std::fs::metadata(&path).ok();
            let new_value = (name.starts_with("refs/") || name.ends_with("HEAD.lock"))
                .then(|| std::fs::read_to_string(&path).ok())
                .flatten()
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty());
            out.push(LockFile {
                name,
                size: meta.as_ref().map_or(0, |m| m.len()),
                modified: meta.and_then(|m| m.modified().ok()),
                new_value,
                path,
            });
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// What an index file is made of, as far as orch writing it back is concerned.
#[derive(Debug, Clone, Default)]
pub struct IndexInfo {
    pub version: u32,
    /// Signatures of its extensions, in order.
    pub extensions: Vec<String>,
    pub sparse: bool,
    /// Paths under the given prefix marked skip-worktree (outside a sparse checkout's cone).
    pub skipped_under: Vec<String>,
    /// The root tree the index's tree cache names, when that cache is valid.
    pub cached_root: Option<ObjectId>,
}

/// Reads the index file at `path` (`None` when there is none). `prefix` selects which
/// skip-worktree entries are reported.
pub fn index_info(git: &Repo, path: &Path, prefix: &str) -> Result<Option<IndexInfo>> {
    let data = match std::fs::read(path) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path, e)),
    };
    let hash = git.repo.object_hash();
    let version = data
        .get(4..8)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_be_bytes)
        .unwrap_or(0);
    let extensions = super::index_file::extension_signatures(&data, hash.len_in_bytes())
        .iter()
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect();
    let (state, _) =
        gix::index::State::from_bytes(&data, filetime::FileTime::zero(), hash, Default::default())
            .map_err(|e| {
                Error::runtime(format!("cannot read the index {}: {e}", path.display()))
            })?;
    let skipped_under = state
        .entries()
        .iter()
        .filter(|e| e.flags.contains(gix::index::entry::Flags::SKIP_WORKTREE))
        .map(|e| e.path(&state).to_str_lossy().into_owned())
        .filter(|p| p == prefix || p.starts_with(&format!("{prefix}/")))
        .collect();
    let cached_root = state
        .tree()
        .filter(|t| t.num_entries.is_some())
        .map(|t| t.id);
    Ok(Some(IndexInfo {
        version,
        extensions,
        sparse: state.is_sparse(),
        skipped_under,
        cached_root,
    }))
}

/// HEAD's root tree, `None` on an unborn branch.
pub fn head_tree(git: &Repo) -> Result<Option<ObjectId>> {
    let Some(head) = git.head_id()? else {
        return Ok(None);
    };
    Ok(Some(
        super::history::commit_tree_parents(&git.repo, head)?.0,
    ))
}

/// A path under a folder that differs from HEAD, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed {
    pub path: String,
    /// `staged` (index differs from HEAD), `modified`, `deleted` (worktree differs from the
    /// index) or `untracked`.
    pub how: &'static str,
}

/// Files under `folder` whose index or worktree state differs from HEAD, untracked ones
/// included, sorted by path (a path may appear twice: staged and modified).
pub fn changed_under(repo: &gix::Repository, folder: &str) -> Result<Vec<Changed>> {
    use gix::status::index_worktree::Item as Iw;
    use gix::status::plumbing::index_as_worktree::{Change, EntryStatus};
    let err = |e: &dyn std::fmt::Display| {
        Error::runtime(format!("cannot read the status of {folder}: {e}"))
    };
    let platform = repo
        .status(gix::progress::Discard)
        .map_err(|e| err(&e))?
        .untracked_files(gix::status::UntrackedFiles::Files)
        .index_worktree_rewrites(None);
    let iter = platform
        .into_iter([gix::bstr::BString::from(folder)])
        .map_err(|e| err(&e))?;
    let mut out = vec![];
    for item in iter {
        let item = item.map_err(|e| err(&e))?;
        let how = match &item {
            gix::status::Item::TreeIndex(_) => "staged",
            gix::status::Item::IndexWorktree(Iw::Modification { status, .. }) => match status {
                EntryStatus::NeedsUpdate(_) => continue,
                EntryStatus::Change(Change::Removed) => "deleted",
                _ => "modified",
            },
            gix::status::Item::IndexWorktree(Iw::DirectoryContents { entry, .. }) => {
                if entry.status != gix::dir::entry::Status::Untracked {
                    continue;
                }
                "untracked"
            }
            gix::status::Item::IndexWorktree(Iw::Rewrite { .. }) => "modified",
        };
        let path = item.location().to_str_lossy().into_owned();
        if path == folder || path.starts_with(&format!("{folder}/")) {
            out.push(Changed { path, how });
        }
    }
    out.sort_by(|a, b| (&a.path, a.how).cmp(&(&b.path, b.how)));
    out.dedup();
    Ok(out)
}
