//! `orch events` and `orch event add`: a task's event log, read and appended to.

use crate::code::TaskCode;
use crate::event::Event;
use crate::project::Project;
use crate::store::FileWrite;
use crate::{Error, Result};
use serde::Serialize;

/// The task's events.jsonl as readers see it: repeated ids dropped, in order (see `event`).
pub fn read(p: &Project, code: &TaskCode) -> Result<Vec<Event>> {
    let path = p.task_dir(code).join("events.jsonl");
    match std::fs::read_to_string(&path) {
        Ok(text) => crate::event::parse_log(&text, &format!("{}/events.jsonl", p.task_rel(code))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(vec![]),
        Err(e) => Err(Error::io(&path, e)),
    }
}

/// Every event the task ever recorded: events.jsonl and the logs `orch compact` folded into
/// POSTOP.md, read back from git history by the blob ids POSTOP.md names.
pub fn read_all(p: &Project, code: &TaskCode) -> Result<Vec<Event>> {
    let rel = p.task_rel(code);
    let path = p.task_dir(code).join("events.jsonl");
    let mut text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(Error::io(&path, e)),
    };
    let postop = std::fs::read_to_string(p.task_dir(code).join(crate::memory::postop::FILE))
        .unwrap_or_default();
    for m in crate::memory::postop::markers(&postop) {
        let missing = || {
            Error::runtime(format!(
                "{rel}/POSTOP.md names the compacted event log {}, which this clone does not have",
                m.blob
            ))
            .with_hint(
                "fetch the full history (`git fetch --unshallow`), then run the command again",
            )
        };
        let oid = gix::ObjectId::from_hex(m.blob.as_bytes()).map_err(|_| missing())?;
        let bytes = crate::git::history::blob(&p.git.repo, oid).map_err(|_| missing())?;
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&String::from_utf8_lossy(&bytes));
    }
    crate::event::parse_log(&text, &format!("{rel}/events.jsonl"))
}

/// Whether the task's event log was folded into POSTOP.md by `orch compact`.
pub fn compacted(p: &Project, code: &TaskCode) -> bool {
    std::fs::read_to_string(p.task_dir(code).join(crate::memory::postop::FILE))
        .is_ok_and(|t| !crate::memory::postop::markers(&t).is_empty())
}

/// events.jsonl with `new` appended: the bytes on disk are kept as they are, never rewritten.
pub(crate) fn appended(p: &Project, code: &TaskCode, new: &[Event]) -> Result<FileWrite> {
    let path = p.task_dir(code).join("events.jsonl");
    let mut bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => vec![],
        Err(e) => return Err(Error::io(&path, e)),
    };
    if !bytes.is_empty() && !bytes.ends_with(b"\n") {
        bytes.push(b'\n');
    }
    for e in new {
        bytes.extend_from_slice(e.to_line().as_bytes());
    }
    Ok(FileWrite { path, bytes })
}

/// `orch events`: the task's events, optionally only those of a type (a full type, a suffix
/// such as `start`, or a prefix such as `custom`).
/// With `all`, the logs compaction folded away are read back from git history too.
pub fn list(p: &Project, code: &TaskCode, type_: Option<&str>, all: bool) -> Result<Vec<Event>> {
    p.require_task(code)?;
    let all = if all {
        read_all(p, code)?
    } else {
        read(p, code)?
    };
    Ok(match type_ {
        Some(t) => all
            .into_iter()
            .filter(|e| crate::event::type_matches(&e.type_, t))
            .collect(),
        None => all,
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct EventAdded {
    pub event: Event,
    pub commit: Option<String>,
}

/// `orch event add`: appends an event of a type the current phase declares (or any
/// `custom.` type); it travels with the task's next commit unless `commit` asks for one now.
pub fn add(
    p: &Project,
    code: &TaskCode,
    type_: &str,
    data: Option<&str>,
    commit: bool,
) -> Result<EventAdded> {
    p.require_task(code)?;
    let payload: serde_json::Value = match data {
        Some(d) => serde_json::from_str(d).map_err(|e| {
            Error::usage(format!("--data is not valid JSON: {e}"))
                .with_hint("pass a JSON value, e.g. --data '{\"note\":\"...\"}'")
        })?,
        None => serde_json::json!({}),
    };
    if commit {
        super::preflight(p)?;
    }
    let _lock = p.lock()?;
    let session = p.load_session(code)?;
    let phase_name = session
        .as_ref()
        .filter(|s| s.active)
        .map(|s| s.current_phase.clone());
    check_type(p, code, type_, phase_name.as_deref())?;
    let (st, _) = super::stamp(p)?;
    let ev = Event::new(
        &crate::event::full_type(type_),
        &st.now,
        session.as_ref().map(|s| s.session_key.as_str()),
        code.as_str(),
        &st.actor,
        payload,
    );
    let msg = commit.then(|| {
        super::commit_message(
            code,
            &format!("event {}", ev.type_),
            session.as_ref().map_or("none", |s| s.session_key.as_str()),
            phase_name.as_deref().unwrap_or("none"),
        )
    });
    let write = appended(p, code, std::slice::from_ref(&ev))?;
    let applied = super::apply(p, vec![write], &[&p.task_rel(code)], msg.as_deref())?;
    Ok(EventAdded {
        event: ev,
        commit: applied.commit_id(),
    })
}

/// An event type may be added in the active session's phase if that phase declares it;
/// without an active session only `custom.` types may.
fn check_type(p: &Project, code: &TaskCode, type_: &str, phase: Option<&str>) -> Result<()> {
    match phase {
        Some(ph) => crate::event::check_addable(type_, p.workflow.require(ph)?),
        None if type_.starts_with("custom.") && type_.len() > 7 => Ok(()),
        None => Err(Error::state(format!(
            "{code} has no active session, so only custom.* events can be added"
        ))
        .with_hint(format!(
            "start one with `orch session start {code}`, or use a type like custom.note"
        ))),
    }
}
