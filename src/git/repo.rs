//! Opening the repository and asking it about its state.
use std::fmt;
use std::path::{Component, Path, PathBuf};

use gix::bstr::ByteSlice;

use crate::error::{Error, Result};

/// A git identity, as `Name <email>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub name: String,
    pub email: String,
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} <{}>", self.name, self.email)
    }
}

/// An opened, non-bare repository.
pub struct Repo {
    pub repo: gix::Repository,
    /// Absolute path of the worktree root.
    pub workdir: PathBuf,
    /// Absolute path of this worktree's git dir (`.git`, or `.git/worktrees/<name>`).
    pub git_dir: PathBuf,
    /// Absolute path of the git dir shared by all worktrees (objects, refs, config, hooks).
    pub common_dir: PathBuf,
}

/// Turns a gix failure into a runtime error naming what orch was trying to do, keeping the
/// innermost cause because gix's top-level message is often generic.
pub(crate) fn gix_err(what: impl fmt::Display) -> impl FnOnce(gix::Error) -> Error {
    move |err| Error::runtime(describe(&what, &err))
}

pub(crate) fn describe(what: &dyn fmt::Display, err: &gix::Error) -> String {
    let top = err.to_string();
    let cause = err.probable_cause().to_string();
    if cause.is_empty() || cause == top {
        format!("could not {what}: {top}")
    } else {
        format!("could not {what}: {top}: {cause}")
    }
}

fn err_chain(err: &gix::Error) -> String {
    err.iter_errors()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join(": ")
}

impl Repo {
    /// Discovery starts from an absolute path because gix reports paths relative to the start,
    /// and callers keep those paths around after changing nothing else.
    pub fn discover(start: &Path) -> Result<Repo> {
        let start = std::path::absolute(start).map_err(|e| Error::io(start, e))?;
        let opts = gix::discover::upwards::Options {
            // Matches git, which ignores ceilings that do not apply instead of failing.
            match_ceiling_dir_or_error: false,
            ..Default::default()
        };
        let repo = gix::ThreadSafeRepository::discover_with_environment_overrides_opts(
            &start,
            opts,
            Default::default(),
        )
        .map_err(|err| discover_error(&start, &err))?
        .to_thread_local();

        // gix opens reftable repositories but cannot read or move their refs, so a commit
        // would fail half-way; refuse up front.
        if let Some(storage) = repo.config_snapshot().string("extensions.refStorage") {
            if !storage.eq_ignore_ascii_case(b"files") {
                return Err(Error::state(format!(
                    "the repository at {} stores its refs in {} format, which orch does not support",
                    repo.git_dir().display(),
                    storage
                ))
                .with_hint("use a repository with the default \"files\" ref format (`git refs migrate --ref-format=files`)"));
            }
        }
        if repo.is_bare() {
            return Err(Error::state(format!(
                "{} is a bare repository; orch needs a worktree to commit task files",
                repo.git_dir().display()
            ))
            .with_hint("run orch inside a clone with a working tree"));
        }
        let workdir = repo
            .workdir()
            .map(Path::to_path_buf)
            .ok_or_else(|| Error::state("the repository has no working tree"))?;
        let abs = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
        Ok(Repo {
            workdir: normalize(&abs(&workdir)),
            git_dir: normalize(&abs(repo.git_dir())),
            common_dir: normalize(&abs(repo.common_dir())),
            repo,
        })
    }

    /// These states leave the index or HEAD half-way through someone else's operation; a
    /// commit on top would be folded into it or lost when it is continued or aborted.
    pub fn ensure_can_commit(&self) -> Result<()> {
        use gix::state::InProgress;
        if let Some(state) = self.repo.state() {
            let (what, cmd) = match state {
                InProgress::Merge => ("a merge", "git merge --continue` or `git merge --abort"),
                InProgress::Rebase
                | InProgress::RebaseInteractive
                | InProgress::ApplyMailboxRebase => {
                    ("a rebase", "git rebase --continue` or `git rebase --abort")
                }
                InProgress::ApplyMailbox => (
                    "a `git am` session",
                    "git am --continue` or `git am --abort",
                ),
                InProgress::CherryPick | InProgress::CherryPickSequence => (
                    "a cherry-pick",
                    "git cherry-pick --continue` or `git cherry-pick --abort",
                ),
                InProgress::Revert | InProgress::RevertSequence => {
                    ("a revert", "git revert --continue` or `git revert --abort")
                }
                InProgress::Bisect => ("a bisect", "git bisect reset"),
            };
            return Err(Error::state(format!(
                "{what} is in progress in {}; orch will not commit in the middle of it",
                self.workdir.display()
            ))
            .with_hint(format!(
                "finish it with `{cmd}`, then run the command again"
            )));
        }
        if self.index_is_sparse()? {
            return Err(sparse_index_error(&self.repo.index_path()));
        }
        Ok(())
    }

    fn index_is_sparse(&self) -> Result<bool> {
        // Only sparse checkouts produce a sparse index; skip reading the index otherwise,
        // as that is a large part of a commit's cost. commit_paths checks again under lock.
        if !self.config_bool("core.sparseCheckout").unwrap_or(false) {
            return Ok(false);
        }
        let path = self.repo.index_path();
        match gix::index::File::at(&path, self.repo.object_hash(), true, Default::default()) {
            Ok(index) => Ok(index.is_sparse()),
            Err(err) if !path.exists() => {
                let _ = err;
                Ok(false)
            }
            Err(err) => Err(gix_err(format_args!("read the index {}", path.display()))(
                err,
            )),
        }
    }

    pub fn author_identity(&self) -> Result<Identity> {
        identity(self.repo.author(), "author")
    }

    pub fn committer_identity(&self) -> Result<Identity> {
        identity(self.repo.committer(), "committer")
    }

    pub fn head_id(&self) -> Result<Option<gix::ObjectId>> {
        let head = self.repo.head().map_err(gix_err("read HEAD"))?;
        Ok(head.id().map(|id| id.detach()))
    }

    pub fn head_name(&self) -> Result<String> {
        let head = self.repo.head().map_err(gix_err("read HEAD"))?;
        Ok(match head.referent_name() {
            Some(name) => name.shorten().to_str_lossy().into_owned(),
            None => "detached HEAD".to_owned(),
        })
    }

    /// git runs hooks from `core.hooksPath` when set, so a different folder would make orch
    /// run hooks the user did not configure (or miss the ones they did).
    pub fn hooks_dir(&self) -> Result<PathBuf> {
        let configured = self
            .repo
            .config_snapshot()
            .trusted_path("core.hooksPath")
            .map_err(gix_err("read core.hooksPath"))?;
        Ok(match configured {
            Some(p) if p.is_absolute() => p,
            Some(p) => self.workdir.join(p),
            None => self.common_dir.join("hooks"),
        })
    }

    pub fn rel_path(&self, abs: &Path) -> Option<String> {
        let abs = normalize(abs);
        let rel = match abs.strip_prefix(&self.workdir) {
            Ok(rel) => rel.to_path_buf(),
            Err(_) => {
                // The caller's path may go through a symlink the worktree path does not.
                let real_root = std::fs::canonicalize(&self.workdir).ok()?;
                let real = canonicalize_existing_prefix(&abs)?;
                real.strip_prefix(&real_root).ok()?.to_path_buf()
            }
        };
        let mut out = String::new();
        for c in rel.components() {
            match c {
                Component::Normal(part) => {
                    if !out.is_empty() {
                        out.push('/');
                    }
                    out.push_str(part.to_str()?);
                }
                _ => return None,
            }
        }
        Some(out)
    }

    pub fn config_bool(&self, key: &str) -> Option<bool> {
        self.repo.config_snapshot().boolean(key)
    }
}

pub(crate) fn sparse_index_error(index_path: &Path) -> Error {
    Error::state(format!(
        "the index at {} is a sparse index, which orch cannot update safely",
        index_path.display()
    ))
    .with_hint("run `git sparse-checkout disable` or `git config index.sparse false` and retry")
}

fn identity(
    sig: Option<std::result::Result<gix::actor::SignatureRef<'_>, gix::Error>>,
    role: &str,
) -> Result<Identity> {
    let missing = || {
        Error::state(format!(
            "no {role} identity is configured (Please tell me who you are)"
        ))
        .with_hint(
            "run `git config --global user.email \"you@example.com\"` and `git config --global user.name \"Your Name\"` (omit --global to set it only in this repository)",
        )
    };
    let sig = sig
        .ok_or_else(missing)?
        .map_err(gix_err(format!("read the {role} identity")))?;
    let name = sig.name.to_str_lossy().trim().to_owned();
    let email = sig.email.to_str_lossy().trim().to_owned();
    if name.is_empty() || email.is_empty() {
        return Err(missing());
    }
    Ok(Identity { name, email })
}

fn discover_error(start: &Path, err: &gix::Error) -> Error {
    use gix::discover::upwards::Error as Up;
    if let Some(e) = err.downcast_any_ref::<Up>() {
        match e {
            Up::NoGitRepository { .. }
            | Up::NoGitRepositoryWithinCeiling { .. }
            | Up::NoGitRepositoryWithinFs { .. } => {
                return Error::state(format!("not a git repository: {}", start.display()))
                    .with_hint("run `git init` first (or pass -C <dir>)");
            }
            Up::NoTrustedGitRepository { candidate, .. } => {
                return Error::state(format!(
                    "the repository at {} is owned by someone else and is not trusted",
                    candidate.display()
                ))
                .with_hint(format!(
                    "if you trust it, run `git config --global --add safe.directory {}`",
                    candidate.display()
                ));
            }
            _ => {}
        }
    }
    let chain = err_chain(err);
    let lower = chain.to_lowercase();
    if lower.contains("reftable") || lower.contains("unsupported storage backend") {
        return Error::state(format!(
            "the repository at {} stores its refs in reftable format, which orch does not support",
            start.display()
        ))
        .with_hint("use a repository with the default \"files\" ref format");
    }
    if lower.contains("objectformat") || lower.contains("object format") {
        return Error::state(format!(
            "the repository at {} uses an object format orch does not support: {chain}",
            start.display()
        ))
        .with_hint("orch works with SHA-1 repositories");
    }
    if err.is_unsupported() {
        return Error::state(format!(
            "the repository at {} uses a format orch does not support: {chain}",
            start.display()
        ));
    }
    Error::runtime(format!(
        "could not open the git repository at {}: {chain}",
        start.display()
    ))
}

/// Removes `.` and resolves `..` lexically so prefix checks work on paths spelled differently.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Canonicalizes the longest existing ancestor so paths of files not yet created still resolve.
fn canonicalize_existing_prefix(p: &Path) -> Option<PathBuf> {
    let mut rest = Vec::new();
    let mut cur = p.to_path_buf();
    loop {
        if let Ok(real) = std::fs::canonicalize(&cur) {
            let mut out = real;
            for part in rest.iter().rev() {
                out.push(part);
            }
            return Some(out);
        }
        rest.push(cur.file_name()?.to_owned());
        cur = cur.parent()?.to_path_buf();
    }
}
