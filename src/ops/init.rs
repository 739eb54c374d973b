//! `orch init`: the `.orchestration/` folder with its options and merge rules, committed.

use crate::project::ORCH_DIR;
use crate::store;
use crate::validate;
use crate::{Error, Result};
use serde::Serialize;
use std::path::Path;

#[derive(Debug, Clone, Serialize)]
pub struct InitReport {
    pub root: String,
    pub created: Vec<String>,
    pub commit: Option<String>,
}

pub const GITATTRIBUTES: &str = "tasks/*/events.jsonl merge=union\n";

/// `orch init`: writes what is missing of `.orchestration/` and commits it. It cannot go
/// through [`super::apply`]: there is no project to open before it exists.
pub fn init(cwd: &Path) -> Result<InitReport> {
    let git = crate::git::Repo::discover(cwd)?;
    let root = validate::canonical(&git.workdir);
    let orch = root.join(ORCH_DIR);
    let _lock = crate::project::lock_recovered(&git)?;
    let commit_enabled = match crate::config::Config::load(&orch.join("config.toml")) {
        Ok(c) => c.git.commit,
        Err(e) => return Err(e),
    };
    if commit_enabled {
        git.ensure_can_commit()?;
        git.author_identity()?;
    }
    let mut writes = Vec::new();
    let mut created = Vec::new();
    for (name, content) in [
        ("config.toml", crate::config::DEFAULT_CONFIG_TOML),
        (".gitattributes", GITATTRIBUTES),
    ] {
        let path = orch.join(name);
        if !path.exists() {
            created.push(format!("{ORCH_DIR}/{name}"));
            writes.push(store::FileWrite {
                path,
                bytes: content.as_bytes().to_vec(),
            });
        }
    }
    let paths = [
        format!("{ORCH_DIR}/config.toml"),
        format!("{ORCH_DIR}/.gitattributes"),
    ];
    let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
    let message = commit_enabled.then_some("orch: initialise .orchestration\n");
    // Journalled like every transition, so a crash is finished or undone, never left half.
    let local = crate::project::local_dir_of(&git);
    let change = super::Change {
        writes: &writes,
        removals: &[],
    };
    let commit = super::transact(&git, &local, change, &refs, message)?;
    // Empty, so git never sees it; made once the rest is in place.
    let tasks = orch.join("tasks");
    std::fs::create_dir_all(&tasks).map_err(|e| Error::io(&tasks, e))?;
    let commit = commit.map(|c| c.commit.to_string());
    Ok(InitReport {
        root: root.display().to_string(),
        created,
        commit,
    })
}
