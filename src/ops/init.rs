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
    let _lock = crate::project::lock_dir(&git.git_dir.join("orchestration"))?;
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
            writes.push((path, content));
        }
    }
    let tasks = orch.join("tasks");
    for (path, content) in &writes {
        store::write_atomic(path, content.as_bytes())?;
    }
    std::fs::create_dir_all(&tasks).map_err(|e| Error::io(&tasks, e))?;
    let commit = if commit_enabled {
        let paths = [
            format!("{ORCH_DIR}/config.toml"),
            format!("{ORCH_DIR}/.gitattributes"),
        ];
        let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
        match crate::git::commit::commit_paths(&git, &refs, "orch: initialise .orchestration\n") {
            Ok(c) => c.map(|c| c.commit.to_string()),
            Err(e) => {
                for (path, _) in &writes {
                    let _ = std::fs::remove_file(path);
                }
                return Err(e);
            }
        }
    } else {
        None
    };
    Ok(InitReport {
        root: root.display().to_string(),
        created,
        commit,
    })
}
