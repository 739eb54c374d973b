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
pub(crate) mod guard;
pub mod guide;
pub mod hooks;
pub mod init;
pub mod integrity;
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
use crate::{clock, Error, Result};

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
/// `commit_paths` with it — all or nothing, through [`transact`]. The caller holds the project
/// lock.
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
    let message = commit.filter(|_| p.config.git.commit);
    if message.is_some() {
        refuse_reverted(p, commit_paths)?;
    }
    guard::before_commit(p, &writes, removals, commit_paths, message.is_some())?;
    let change = Change {
        writes: &writes,
        removals,
    };
    let commit = transact(&p.git, &p.local_dir(), change, commit_paths, message)?;
    // The search index learns of the change without scanning for it.
    let written: Vec<std::path::PathBuf> = writes.iter().map(|w| w.path.clone()).collect();
    crate::search::note_written(p, &written, commit.as_ref());
    Ok(Applied { commit })
}

/// The one way task files change: the journal first (all a rollback needs), then — when
/// `message` asks for a commit — the files written under `index.lock` and committed, else the
/// files alone. Any failure puts them back unless the commit landed (HEAD is the commit the
/// journal names); a crash is finished or undone by the next command (`store::recover`).
/// Termination signals are held back until the transition is whole or undone. The caller
/// holds the project lock.
pub(crate) fn transact(
    git: &crate::git::Repo,
    local_dir: &std::path::Path,
    change: Change<'_>,
    commit_paths: &[&str],
    message: Option<&str>,
) -> Result<Option<crate::git::CommitOutcome>> {
    let _protected = crate::git::interrupt::protect();
    let head_before = git.head_id()?.map(|i| i.to_string());
    let (writes, removals) = (change.writes, change.removals);
    let txn = store::Txn::begin(local_dir, head_before, message.is_some(), writes, removals)?;
    let mut steps = TxnSteps {
        txn: &txn,
        writes,
        removals,
    };
    let outcome = match message {
        Some(msg) => crate::git::commit::commit_paths_with(git, commit_paths, msg, &mut steps),
        None => steps.write().map(|()| None),
    };
    let landed = match &outcome {
        Ok(_) => true,
        // A failure after the ref moved (the index could not be published) still landed.
        Err(_) => txn.recorded_commit().is_some_and(|c| {
            let head = git.head_id().ok().flatten();
            gix::ObjectId::from_hex(c.as_bytes()).is_ok_and(|c| Some(c) == head)
        }),
    };
    match (txn.finish(landed), outcome) {
        (Ok(()), outcome) => outcome,
        (Err(undo), Ok(_)) => Err(undo),
        (Err(undo), Err(e)) => {
            let mut both = Error::runtime(format!("{}; {}", e.message, undo.message));
            both.hint = undo.hint;
            Err(both)
        }
    }
}

/// What a transition changes in the worktree: files written, files removed.
pub(crate) struct Change<'a> {
    pub writes: &'a [FileWrite],
    pub removals: &'a [std::path::PathBuf],
}

/// The journal's part in the commit protocol.
struct TxnSteps<'a> {
    txn: &'a store::Txn,
    writes: &'a [FileWrite],
    removals: &'a [std::path::PathBuf],
}

impl TxnSteps<'_> {
    fn write(&mut self) -> Result<()> {
        self.txn.write(self.writes)?;
        self.txn.remove(self.removals)?;
        crate::fault::fault_point!(crate::fault::points::FILES_WRITTEN);
        Ok(())
    }
}

impl crate::git::commit::Steps for TxnSteps<'_> {
    fn write_files(&mut self) -> Result<()> {
        self.write()
    }
    fn commit_written(&mut self, id: gix::ObjectId) -> Result<()> {
        self.txn.record_commit(&id.to_string())
    }
}

/// A user's commit reverted orch's committed state of a task: orch would build on the
/// reverted state, so it refuses until it is restored, saying how.
pub(crate) fn reverted(p: &Project) -> Result<Option<(crate::git::recover::Reverted, String)>> {
    let Some(r) = crate::git::recover::reverted_task_state(&p.git, crate::verify::TASKS_DIR)?
    else {
        return Ok(None);
    };
    let short = |id: &gix::ObjectId| id.to_hex_with_len(7).to_string();
    let paths = r.paths.join(" ");
    let fix = format!(
        "git restore --source={orch} --staged --worktree -- {paths} && git commit -m \"orch({task}): restore the task state {user} reverted\" -- {paths}",
        orch = short(&r.orch_commit),
        user = short(&r.user_commit),
        task = r.task,
    );
    Ok(Some((r, fix)))
}

/// The message for [`reverted`].
pub(crate) fn reverted_message(r: &crate::git::recover::Reverted) -> String {
    format!(
        "commit {} put {} back as it was before orch's commit {}: task {}'s committed state was reverted (a `git commit` that read the index just before orch published its own)",
        r.user_commit.to_hex_with_len(7),
        r.paths.join(", "),
        r.orch_commit.to_hex_with_len(7),
        r.task
    )
}

fn refuse_reverted(p: &Project, commit_paths: &[&str]) -> Result<()> {
    let Some((r, fix)) = reverted(p)? else {
        return Ok(());
    };
    let folder = format!("{}/{}", crate::verify::TASKS_DIR, r.task);
    if !commit_paths.iter().any(|c| {
        *c == folder || c.starts_with(&format!("{folder}/")) || folder.starts_with(&format!("{c}/"))
    }) {
        return Ok(());
    }
    Err(Error::state(reverted_message(&r)).with_hint(format!(
        "restore it with `{fix}`, then run the command again"
    )))
}

/// What every command should tell about the repository: a task state a user's commit reverted.
pub fn warnings(p: &Project) -> Vec<crate::diagnostic::Diagnostic> {
    match reverted(p) {
        Ok(Some((r, fix))) => vec![crate::diagnostic::Diagnostic::warning(
            "task_state_reverted",
            &format!("{}/{}", crate::verify::TASKS_DIR, r.task),
            reverted_message(&r),
            fix,
        )],
        _ => vec![],
    }
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
