//! The operations behind the commands, one module per command group. Every operation has the
//! same shape:
//!
//! 1. receive the opened [`Project`] and the request;
//! 2. check what needs no lock, take the project lock, and load what it needs once
//!    ([`Loaded`]: TASK.md and session.json);
//! 3. decide — pure functions in `rules` and `validate` say what changes;
//! 4. write files and commit them in one journalled, all-or-nothing step ([`apply`]);
//! 5. return plain data; the binary (or any other front end) renders it.

pub mod agent;
pub mod bug;
pub mod changes;
pub mod check;
pub mod compact;
pub mod doctor;
pub mod event;
pub mod gates;
mod guard;
pub mod guide;
pub mod hooks;
pub mod init;
pub mod link;
pub mod memory;
pub mod next;
pub mod phase;
pub mod report;
pub mod search;
pub mod session;
pub mod status;
pub mod task;
pub mod transition;
pub mod waiver;

use crate::code::TaskCode;
use crate::project::Project;
use crate::rules::Stamp;
use crate::session::Session;
use crate::store::{self, FileWrite};
use crate::task::TaskDoc;
use crate::{clock, Result};

/// A task as an operation reads it, once. An unreadable TASK.md is kept as its error: the
/// checks report it as a diagnostic, and only what needs the task's fields fails on it.
pub struct Loaded {
    pub code: TaskCode,
    pub doc: Result<TaskDoc>,
    pub session: Option<Session>,
}

impl Loaded {
    /// Reads TASK.md and session.json of a task known to exist.
    pub fn read(p: &Project, code: &TaskCode) -> Result<Loaded> {
        Ok(Loaded {
            code: code.clone(),
            doc: p.load_doc(code),
            session: p.load_session(code)?,
        })
    }

    pub fn doc(&self) -> Result<&TaskDoc> {
        self.doc.as_ref().map_err(Clone::clone)
    }
}

/// What writing a change did: the commit, when one was made.
pub struct Applied {
    pub commit: Option<crate::git::CommitOutcome>,
}

impl Applied {
    /// The new commit's id, as operations report it.
    pub fn commit_id(&self) -> Option<String> {
        self.commit.as_ref().map(|c| c.commit.to_string())
    }
}

/// Writes `writes` and, when git commits are on and `commit` names a message, commits
/// `commit_paths` with it — all or nothing: the files are journalled first and put back if
/// anything fails (a crash is finished or undone by the next command, see `store::recover`).
/// The caller holds the project lock.
pub fn apply(
    p: &Project,
    writes: Vec<FileWrite>,
    commit_paths: &[&str],
    commit: Option<&str>,
) -> Result<Applied> {
    apply_removing(p, writes, &[], commit_paths, commit)
}

/// [`apply`] that also removes the files `removals` (absolute paths), journalled alike.
pub fn apply_removing(
    p: &Project,
    writes: Vec<FileWrite>,
    removals: &[std::path::PathBuf],
    commit_paths: &[&str],
    commit: Option<&str>,
) -> Result<Applied> {
    guard::before_commit(
        p,
        &writes,
        removals,
        commit_paths,
        commit.is_some() && p.config.git.commit,
    )?;
    let head_before = p.git.head_id()?.map(|i| i.to_string());
    let txn = store::Txn::begin_removing(&p.journal_dir(), head_before, &writes, removals)?;
    let outcome = (|| -> Result<Applied> {
        txn.write(&writes)?;
        txn.remove(removals)?;
        crate::fault::fault_point!(crate::fault::points::FILES_WRITTEN);
        let commit = match commit {
            Some(msg) if p.config.git.commit => {
                crate::git::commit::commit_paths(&p.git, commit_paths, msg)?
            }
            _ => None,
        };
        Ok(Applied { commit })
    })();
    txn.finish(outcome.is_ok());
    if outcome.is_ok() {
        // The search index learns of the change without scanning for it.
        let written: Vec<std::path::PathBuf> = writes.iter().map(|w| w.path.clone()).collect();
        crate::search::note_written(p, &written);
    }
    outcome
}

/// Refuses early, before the lock and before anything is written, what would make the commit
/// fail: a repository that cannot take a commit now, or no identity to make it with.
pub(crate) fn preflight(p: &Project) -> Result<()> {
    if p.config.git.commit {
        p.git.ensure_can_commit()?;
        p.git.author_identity()?;
    }
    Ok(())
}

/// Who acts and when, for events and session.json. Without commits a missing identity is no
/// error: the actor is recorded as `unknown`.
pub(crate) fn stamp(p: &Project) -> Result<(Stamp, chrono::DateTime<chrono::Utc>)> {
    let now = clock::now()?;
    let actor = if p.config.git.commit {
        p.git.author_identity()?.to_string()
    } else {
        p.git
            .author_identity()
            .map(|i| i.to_string())
            .unwrap_or_else(|_| "unknown".into())
    };
    Ok((
        Stamp {
            actor,
            now: clock::fmt(&now),
        },
        now,
    ))
}

/// A task commit's message: the subject, then the trailers `orch verify` and `orch log` read.
pub(crate) fn commit_message(
    code: &TaskCode,
    subject: &str,
    session_key: &str,
    phase: &str,
) -> String {
    format!(
        "orch({code}): {subject}\n\nOrchestration-Task: {code}\nOrchestration-Session: {session_key}\nOrchestration-Phase: {phase}\n"
    )
}

/// [`commit_message`] for a commit made outside a transition: the session's key and phase,
/// `none` without a session.
pub(crate) fn task_commit_message(code: &TaskCode, subject: &str, s: Option<&Session>) -> String {
    let key = s.map_or("none", |s| s.session_key.as_str());
    let phase = s.map_or("none", |s| s.current_phase.as_str());
    commit_message(code, subject, key, phase)
}
