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
    pub common_dir: PathBuf,
    pub repo: gix::Repository,
    /// Absolute path of the worktree root.
    pub workdir: PathBuf,
    /// Absolute path of this worktree's git dir (`.git`, or `.git/worktrees/<name>`).
    pub git_dir: PathBuf,
}

impl std::fmt::Display for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} <{}>", self.name, self.email)
    }
}

// Temporary stand-ins until the real layer lands.
use crate::{Error, Result};
use std::path::Path;
impl Repo {
    pub fn discover(start: &Path) -> Result<Repo> {
        let repo = gix::discover(start)
            .map_err(|_| Error::state(format!("not a git repository: {}", start.display())))?;
        let workdir =
            std::fs::canonicalize(repo.workdir().ok_or_else(|| Error::state("bare"))?).unwrap();
        let git_dir = std::fs::canonicalize(repo.git_dir()).unwrap();
        let common_dir = std::fs::canonicalize(repo.common_dir()).unwrap();
        Ok(Repo {
            repo,
            workdir,
            git_dir,
            common_dir,
        })
    }
    pub fn ensure_can_commit(&self) -> Result<()> {
        Ok(())
    }
    pub fn author_identity(&self) -> Result<Identity> {
        let s = self
            .repo
            .author()
            .ok_or_else(|| Error::state("no identity"))?
            .map_err(|e| Error::runtime(e.to_string()))?;
        Ok(Identity {
            name: s.name.to_string(),
            email: s.email.to_string(),
        })
    }
    pub fn committer_identity(&self) -> Result<Identity> {
        self.author_identity()
    }
    pub fn head_id(&self) -> Result<Option<gix::ObjectId>> {
        Ok(self.repo.head_id().ok().map(|i| i.detach()))
    }
    pub fn head_name(&self) -> Result<String> {
        Ok("HEAD".into())
    }
    pub fn hooks_dir(&self) -> Result<PathBuf> {
        Ok(self.common_dir.join("hooks"))
    }
    pub fn rel_path(&self, abs: &Path) -> Option<String> {
        abs.strip_prefix(&self.workdir)
            .ok()
            .map(|p| p.to_string_lossy().replace('\\', "/"))
    }
    pub fn config_bool(&self, key: &str) -> Option<bool> {
        self.repo.config_snapshot().boolean(key)
    }
}
