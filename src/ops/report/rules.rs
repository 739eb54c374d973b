//! The report's "rules" section: every commit that changed the rules in force while the task
//! was under way — which keys of config.toml, workflow.yaml, which templates — and who made
//! it when. `orch verify` judges each transition by its parent's rules, so a reviewer sees
//! here what those rules were and when they moved.

use super::TaskData;
use crate::config::Config;
use crate::git::history::{self, CommitMeta};
use crate::project::ORCH_DIR;
use crate::Result;
use gix::ObjectId;
use serde::Serialize;
use std::collections::BTreeSet;
use std::path::Path;

/// Where the rules in force live, under `.orchestration/`.
const RULE_PATHS: [&str; 3] = ["config.toml", "workflow.yaml", "templates"];

/// One commit that changed the rules.
#[derive(Debug, Clone, Serialize)]
pub struct RuleChange {
    pub commit: String,
    pub date: String,
    pub author: String,
    pub subject: String,
    /// `config.toml: workflow.allow_phase_skip`, `workflow.yaml`, `templates/PLAN.md`.
    pub changed: Vec<String>,
}

/// The rule changes reachable from HEAD since the task's folder first appeared, oldest first.
/// The commit that created a rule file is its adoption, not a change, and is left out.
pub fn changes(d: &TaskData) -> Result<Vec<RuleChange>> {
    let (Some(head), Some(first)) = (d.head, d.log.last()) else {
        return Ok(vec![]);
    };
    let repo = &d.p.git.repo;
    let since = ObjectId::from_hex(first.commit.as_bytes())
        .ok()
        .and_then(|c| history::commit_meta(repo, c).ok())
        .map_or(i64::MIN, |m| m.commit_time);
    let mut commits: Vec<CommitMeta> = vec![];
    for path in RULE_PATHS {
        let log = match history::path_log(repo, &[head], &format!("{ORCH_DIR}/{path}")) {
            Ok(log) => log,
            // In a shallow clone the walk meets the cut: the rules' history before it is not
            // here, and the report says what is (`verify` names the missing history).
            Err(_) if !history::shallow_cut(repo).is_empty() => vec![],
            Err(e) => return Err(e),
        };
        for c in log {
            if c.commit_time >= since && !commits.iter().any(|x| x.id == c.id) {
                commits.push(c);
            }
        }
    }
    commits.sort_by_key(|c| c.commit_time);
    let mut out = vec![];
    for c in commits {
        let Some(parent) = c.parents.first() else {
            continue;
        };
        let old = history::commit_meta(repo, *parent)?.tree;
        let changed = changed_rules(repo, old, c.tree)?;
        if !changed.is_empty() {
            out.push(RuleChange {
                commit: c.id.to_string(),
                date: c.date(),
                author: c.author.clone(),
                subject: c.subject().to_string(),
                changed,
            });
        }
    }
    Ok(out)
}

/// What differs in the rules between two trees: config.toml's rule keys (a file created is
/// no change), workflow.yaml, and each template added, changed or removed.
fn changed_rules(repo: &gix::Repository, old: ObjectId, new: ObjectId) -> Result<Vec<String>> {
    let mut out = vec![];
    let cfg = format!("{ORCH_DIR}/config.toml");
    let read_cfg = |tree| -> Result<Option<Config>> {
        Ok(history::blob_at(repo, tree, &cfg)?
            .and_then(|b| Config::parse(&String::from_utf8_lossy(&b), Path::new(&cfg)).ok()))
    };
    if let (Some(a), Some(b)) = (read_cfg(old)?, read_cfg(new)?) {
        out.extend(
            super::super::guard::rule_keys_differ(&a, &b)
                .into_iter()
                .map(|k| format!("config.toml: {k}")),
        );
    }
    let wf = format!("{ORCH_DIR}/workflow.yaml");
    let (a, b) = (
        history::blob_at(repo, old, &wf)?,
        history::blob_at(repo, new, &wf)?,
    );
    if a.is_some() && b.is_some() && a != b {
        out.push("workflow.yaml".into());
    }
    let templates = |tree| -> Result<Vec<(String, ObjectId)>> {
        let rel = format!("{ORCH_DIR}/templates");
        Ok(match history::entry_at(repo, tree, &rel)? {
            Some(n) if n.mode.is_tree() => history::list_tree(repo, n.id)?
                .into_iter()
                .map(|(name, node)| (name, node.id))
                .collect(),
            _ => vec![],
        })
    };
    let (ta, tb) = (templates(old)?, templates(new)?);
    let names: BTreeSet<&String> = ta.iter().chain(&tb).map(|(n, _)| n).collect();
    for n in names {
        let id = |t: &[(String, ObjectId)]| t.iter().find(|(x, _)| x == n).map(|(_, i)| *i);
        if id(&ta) != id(&tb) {
            out.push(format!("templates/{n}"));
        }
    }
    Ok(out)
}
