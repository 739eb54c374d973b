//! Opening the repository and asking it about its state.
use std::path::PathBuf;

/// A git identity, as `Name <email>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub name: String,
    pub email: String,
}

/// An opened, non-bare repository.
pub struct Repo {
    pub repo: gix::Repository,
    /// Absolute path of the worktree root.
    pub workdir: PathBuf,
    /// Absolute path of this worktree's git dir (`.git`, or `.git/worktrees/<name>`).
    pub git_dir: PathBuf,
}
