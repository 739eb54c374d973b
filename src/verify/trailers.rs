//! `Orchestration-*` trailers against the history they describe: a commit that says it was
//! made for task T in phase P must have been made while T's committed session was in P.
//! `orch changes` and `orch report` group commits by these trailers, so a typed or stale one
//! would misfile work.

use super::replay::CommitTasks;
use super::{Violation, TASKS_DIR};
use crate::git::history::{self, git_err};
use crate::session::Session;
use crate::Result;
use gix::bstr::ByteSlice;
use gix::ObjectId;
use std::collections::{BTreeSet, HashSet};

pub const TASK: &str = "Orchestration-Task";
pub const PHASE: &str = "Orchestration-Phase";
pub const SESSION: &str = "Orchestration-Session";

/// A commit's tree, parents and `Orchestration-*` trailers (when it has any).
pub type Brief = (ObjectId, Vec<ObjectId>, Option<Vec<(String, String)>>);

/// Tree, parents and — only when the message mentions one — the `Orchestration-*` trailers of
/// a commit, decoded once. Most commits carry none, so their message is never parsed.
pub fn commit_brief(repo: &gix::Repository, id: ObjectId) -> Result<Brief> {
    let obj = repo
        .find_object(id)
        .map_err(|e| crate::git::history::unreadable_commit(repo, id, e))?;
    let c = gix::objs::CommitRef::from_bytes(&obj.data, repo.object_hash())
        .map_err(|e| git_err(&format!("cannot decode commit {id}"), e))?;
    let trailers = c
        .message
        .find(b"Orchestration-")
        .map(|_| {
            let all = history::parse_trailers(&String::from_utf8_lossy(c.message));
            ours(&all)
        })
        .filter(|t| !t.is_empty());
    Ok((c.tree(), c.parents().collect(), trailers))
}

/// The `Orchestration-Task|Phase|Session` trailers of a trailer list, tokens as spelled here.
pub fn ours(all: &[(String, String)]) -> Vec<(String, String)> {
    all.iter()
        .filter_map(|(t, v)| {
            [TASK, PHASE, SESSION]
                .into_iter()
                .find(|k| k.eq_ignore_ascii_case(t))
                .map(|k| (k.to_string(), v.clone()))
        })
        .collect()
}

/// What a commit's trailers should say about `task`, given its session.json in that commit:
/// the phase (`none` without an active session, as orch writes it; a task without a session
/// yet is in the workflow's `first` phase) and the session key.
pub fn disagreement(
    task: &str,
    exists: bool,
    session: Option<&Session>,
    first: &str,
    phase: Option<&str>,
    key: Option<&str>,
) -> Option<String> {
    if !exists {
        return Some(format!("name task {task}, which does not exist there"));
    }
    if let Some(ph) = phase {
        let ok = match (ph, session) {
            ("none", s) => s.is_none_or(|s| !s.active),
            (ph, Some(s)) => s.current_phase == ph,
            (ph, None) => ph == first,
        };
        if !ok {
            let was = match session {
                Some(s) if s.active => format!("{task} was in {}", s.current_phase),
                Some(s) => format!("{task}'s session had ended in {}", s.current_phase),
                None => format!("{task} had no session"),
            };
            return Some(format!("say {task} was in phase {ph}, but {was}"));
        }
    }
    if let Some(k) = key.filter(|k| *k != "none") {
        if session.is_none_or(|s| s.session_key != k) {
            return Some(format!(
                "name session {k}, which is not {task}'s session there"
            ));
        }
    }
    None
}

/// `trailer_mismatch`: the commit's trailers name one task, which exists, in the phase (and
/// session) its committed session.json had in that very commit.
pub(super) fn judge(
    repo: &gix::Repository,
    c: &CommitTasks,
    trailers: &[(String, String)],
    first: &str,
    only: &HashSet<&str>,
) -> Result<Vec<Violation>> {
    let values = |token: &str| -> BTreeSet<&str> {
        trailers
            .iter()
            .filter(|(t, _)| t == token)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    let (tasks, phases, keys) = (values(TASK), values(PHASE), values(SESSION));
    let Some(task) = tasks.iter().next().copied() else {
        return Ok(vec![]);
    };
    if !only.is_empty() && !tasks.iter().any(|t| only.contains(t)) {
        return Ok(vec![]);
    }
    let file = format!("{TASKS_DIR}/{task}/session.json");
    let id = c.id.to_string();
    let v = |message: String| Violation {
        commit: Some(id.clone()),
        task: task.to_string(),
        rule: "trailer_mismatch".into(),
        file: file.clone(),
        message: format!("{task}: the commit's trailers {message}"),
        fix: String::new(),
        redo: String::new(),
    };
    if tasks.len() > 1 || phases.len() > 1 || keys.len() > 1 {
        let all: Vec<String> = trailers.iter().map(|(t, v)| format!("{t}: {v}")).collect();
        return Ok(vec![v(format!(
            "disagree with each other ({})",
            all.join(", ")
        ))]);
    }
    let here = |tasks_tree: Option<ObjectId>| -> Result<bool> {
        Ok(match tasks_tree {
            Some(t) => history::child(repo, t, task.as_bytes())?.is_some(),
            None => false,
        })
    };
    let exists = here(c.tasks)? || here(c.parents.first().copied().flatten())?;
    let session = history::blob_at(repo, c.tree, &file)?
        .and_then(|b| Session::parse(&String::from_utf8_lossy(&b), &file).ok());
    let phase = phases.iter().next().copied();
    let key = keys.iter().next().copied();
    Ok(
        disagreement(task, exists, session.as_ref(), first, phase, key)
            .map(v)
            .into_iter()
            .collect(),
    )
}
