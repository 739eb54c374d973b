//! Commits that contain only some paths, leaving the rest of the user index alone.
use super::Repo;
use crate::Result;
pub struct CommitOutcome {
    pub commit: gix::ObjectId,
    pub parent: Option<gix::ObjectId>,
    pub changed_paths: Vec<String>,
}
pub fn commit_paths(
    _repo: &Repo,
    _paths: &[&str],
    _message: &str,
) -> Result<Option<CommitOutcome>> {
    Ok(None)
}
