//! `orch memory add|list|pin|unpin|forget`, and the compaction of a closing session into
//! POSTOP.md. Scratch notes are local (`<git dir>/orchestration/memory/`); pinned ones are
//! records appended to the task's `memory.jsonl` or the project's `.orchestration/memory.jsonl`,
//! each change one commit.

use super::Loaded;
use crate::code::TaskCode;
use crate::event::Event;
use crate::memory::{self, postop, Note, Record};
use crate::project::{Project, ORCH_DIR};
use crate::rules::{Decision, Kind};
use crate::store::FileWrite;
use crate::{Error, Result};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// What `memory add` is asked.
pub struct AddRequest<'a> {
    pub code: Option<&'a str>,
    pub text: &'a str,
    pub pin: bool,
    pub tags: &'a [String],
    /// `task` (default) or `project`.
    pub scope: Option<&'a str>,
}

/// A note written, pinned, unpinned or forgotten.
#[derive(Debug, Clone, Serialize)]
pub struct Changed {
    /// `added`, `pinned`, `unpinned`, `forgotten`.
    pub action: String,
    pub note: Note,
    /// Where it is kept now: `scratch`, the committed file, or `none` once forgotten.
    pub stored_in: String,
    pub commit: Option<String>,
}

/// `memory list`.
#[derive(Debug, Clone, Serialize)]
pub struct Listed {
    /// The task listed (`None`: only the project's notes, or `--all`).
    pub task: Option<String>,
    pub notes: Vec<Note>,
}

fn scratch_dir(p: &Project) -> PathBuf {
    p.local_dir().join("memory")
}

fn scratch_path(p: &Project, code: &TaskCode) -> PathBuf {
    scratch_dir(p).join(format!("{code}.jsonl"))
}

fn task_log(p: &Project, code: &TaskCode) -> PathBuf {
    p.task_dir(code).join(memory::TASK_FILE)
}

fn project_log(p: &Project) -> PathBuf {
    p.orch_dir.join(memory::PROJECT_FILE)
}

fn read_opt(path: &std::path::Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// The task's scratch notes, oldest first.
pub fn scratch(p: &Project, code: &TaskCode) -> Vec<Note> {
    std::fs::read_to_string(scratch_path(p, code))
        .map(|t| memory::parse_scratch(&t))
        .unwrap_or_default()
}

fn write_scratch(p: &Project, code: &TaskCode, notes: &[Note]) -> Result<()> {
    let path = scratch_path(p, code);
    if notes.is_empty() {
        return match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(&path, e)),
            _ => Ok(()),
        };
    }
    let dir = scratch_dir(p);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    crate::store::write_atomic(&path, memory::render_scratch(notes).as_bytes())
}

/// The task's pinned notes, oldest first.
pub fn pinned(p: &Project, code: &TaskCode) -> Result<Vec<Note>> {
    let rel = format!("{}/{}", p.task_rel(code), memory::TASK_FILE);
    match read_opt(&task_log(p, code))? {
        Some(t) => memory::fold(&t, &rel),
        None => Ok(vec![]),
    }
}

/// The project's pinned notes, oldest first.
pub fn project_pins(p: &Project) -> Result<Vec<Note>> {
    let rel = format!("{ORCH_DIR}/{}", memory::PROJECT_FILE);
    match read_opt(&project_log(p))? {
        Some(t) => memory::fold(&t, &rel),
        None => Ok(vec![]),
    }
}

/// `.orchestration/.gitattributes` with the memory merge rules, if it lacks them.
fn attributes_write(p: &Project) -> Result<Option<FileWrite>> {
    let path = p.orch_dir.join(".gitattributes");
    let text = read_opt(&path)?.unwrap_or_default();
    let missing: Vec<&str> = memory::GITATTRIBUTES_LINES
        .iter()
        .copied()
        .filter(|l| !text.lines().any(|x| x.trim() == *l))
        .collect();
    if missing.is_empty() {
        return Ok(None);
    }
    let mut bytes = text.into_bytes();
    if !bytes.is_empty() && !bytes.ends_with(b"\n") {
        bytes.push(b'\n');
    }
    for l in missing {
        bytes.extend_from_slice(l.as_bytes());
        bytes.push(b'\n');
    }
    Ok(Some(FileWrite { path, bytes }))
}

fn appended(path: PathBuf, rec: &Record) -> Result<FileWrite> {
    let mut bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => vec![],
        Err(e) => return Err(Error::io(&path, e)),
    };
    if !bytes.is_empty() && !bytes.ends_with(b"\n") {
        bytes.push(b'\n');
    }
    bytes.extend_from_slice(rec.to_line().as_bytes());
    Ok(FileWrite { path, bytes })
}

/// Appends `rec` to the task's (or, with `None`, the project's) pinned-note log and commits
/// it, with the merge rules when `.gitattributes` lacks them.
fn commit_record(p: &Project, code: Option<&TaskCode>, rec: &Record) -> Result<Option<String>> {
    let mut writes = vec![];
    let mut paths = vec![];
    let msg = match code {
        Some(c) => {
            writes.push(appended(task_log(p, c), rec)?);
            paths.push(p.task_rel(c));
            let s = p.load_session(c)?;
            let subject = format!("memory {} {}", rec.op, rec.note);
            super::task_commit_message(c, &subject, s.as_ref())
        }
        None => {
            writes.push(appended(project_log(p), rec)?);
            paths.push(format!("{ORCH_DIR}/{}", memory::PROJECT_FILE));
            format!("orch: memory {} {} (project)\n", rec.op, rec.note)
        }
    };
    if let Some(w) = attributes_write(p)? {
        writes.push(w);
        paths.push(format!("{ORCH_DIR}/.gitattributes"));
    }
    let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
    Ok(super::apply(p, writes, &refs, Some(&msg))?.commit_id())
}

fn stored_in(n: &Note) -> String {
    match (&n.task, n.pinned) {
        (_, false) => "scratch".into(),
        (Some(t), true) => format!("{ORCH_DIR}/tasks/{t}/{}", memory::TASK_FILE),
        (None, true) => format!("{ORCH_DIR}/{}", memory::PROJECT_FILE),
    }
}

/// `orch memory add`: a scratch note of the task's session, or (`--pin`, or `--scope
/// project`, which is always pinned) a committed one.
pub fn add(p: &Project, req: &AddRequest) -> Result<Changed> {
    let text = memory::check_text(req.text)?;
    let tags = req
        .tags
        .iter()
        .map(|t| memory::check_tag(t))
        .collect::<Result<Vec<_>>>()?;
    let project = match req.scope.unwrap_or("task") {
        "task" => false,
        "project" => true,
        s => {
            return Err(Error::usage(format!("--scope {s:?} is not a memory scope"))
                .with_hint("use --scope task (the default) or --scope project"))
        }
    };
    let code = if project {
        None
    } else {
        let c = p.resolve_code(req.code)?;
        p.require_task(&c)?;
        Some(c)
    };
    let pin = req.pin || project;
    if pin {
        super::preflight(p)?;
    }
    let _lock = p.lock()?;
    let (st, _) = super::stamp(p)?;
    let session = match &code {
        Some(c) => p.load_session(c)?.filter(|s| s.active),
        None => None,
    };
    let mut note = Note {
        id: memory::mint("mem_", &format!("{text}{}", st.now), 8),
        ts: st.now.clone(),
        text,
        tags,
        scope: if project { "project" } else { "task" }.into(),
        task: code.as_ref().map(|c| c.to_string()),
        session_key: session.map(|s| s.session_key),
        actor: st.actor.clone(),
        pinned: pin,
    };
    let commit = if pin {
        let rec = Record::new("pin", &st.now, &note.id, Some(note.clone()), &st.actor);
        commit_record(p, code.as_ref(), &rec)?
    } else {
        let c = code.as_ref().expect("a scratch note has a task");
        let mut all = scratch(p, c);
        all.push(note.clone());
        write_scratch(p, c, &all)?;
        None
    };
    note.pinned = pin;
    Ok(Changed {
        action: "added".into(),
        stored_in: stored_in(&note),
        note,
        commit,
    })
}

/// `orch memory list`: the task's notes (scratch, then pinned) and the project's; `all`: every
/// task's too.
pub fn list(p: &Project, given: Option<&str>, all: bool) -> Result<Listed> {
    let code = match given {
        Some(c) => {
            let c = TaskCode::parse(c)?;
            p.require_task(&c)?;
            Some(c)
        }
        None if all => None,
        None => p.current_task()?.filter(|c| p.task_exists(c)),
    };
    let codes: Vec<TaskCode> = match (&code, all) {
        (Some(c), false) => vec![c.clone()],
        (_, true) => p.task_codes()?,
        (None, false) => vec![],
    };
    let mut notes = vec![];
    for c in &codes {
        notes.extend(scratch(p, c));
        notes.extend(pinned(p, c)?);
    }
    notes.extend(project_pins(p)?);
    Ok(Listed {
        task: code.filter(|_| !all).map(|c| c.to_string()),
        notes,
    })
}

/// Where a note is.
enum Found {
    Scratch(TaskCode, Note),
    Task(TaskCode, Note),
    Project(Note),
}

/// Finds a note: scratch notes first (a small local folder), then the project's pins, then the
/// current task's, then every task's.
fn find(p: &Project, id: &str) -> Result<Found> {
    memory::check_id(id)?;
    if let Ok(rd) = std::fs::read_dir(scratch_dir(p)) {
        let mut names: Vec<String> = rd
            .flatten()
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .collect();
        names.sort();
        for name in names {
            let Some(c) = name
                .strip_suffix(".jsonl")
                .and_then(|c| TaskCode::parse(c).ok())
            else {
                continue;
            };
            if let Some(n) = scratch(p, &c).into_iter().find(|n| n.id == id) {
                return Ok(Found::Scratch(c, n));
            }
        }
    }
    if let Some(n) = project_pins(p)?.into_iter().find(|n| n.id == id) {
        return Ok(Found::Project(n));
    }
    let mut codes = p.task_codes()?;
    if let Some(cur) = p.current_task().ok().flatten() {
        codes.retain(|c| *c != cur);
        codes.insert(0, cur);
    }
    for c in codes {
        if !task_log(p, &c).exists() {
            continue;
        }
        if let Some(n) = pinned(p, &c)?.into_iter().find(|n| n.id == id) {
            return Ok(Found::Task(c, n));
        }
    }
    Err(Error::usage(format!("no note {id} in this repository"))
        .with_hint("`orch memory list --all` shows every note with its id"))
}

/// `orch memory pin ID`: a scratch note committed to its task's memory.jsonl.
pub fn pin(p: &Project, id: &str) -> Result<Changed> {
    super::preflight(p)?;
    let _lock = p.lock()?;
    let (c, mut note) = match find(p, id)? {
        Found::Scratch(c, n) => (c, n),
        Found::Task(..) | Found::Project(_) => {
            return Err(
                Error::state(format!("note {id} is already pinned")).with_hint(format!(
                    "`orch memory unpin {id}` makes it a scratch note again"
                )),
            )
        }
    };
    let (st, _) = super::stamp(p)?;
    note.pinned = true;
    let rec = Record::new("pin", &st.now, id, Some(note.clone()), &st.actor);
    let commit = commit_record(p, Some(&c), &rec)?;
    let rest: Vec<Note> = scratch(p, &c).into_iter().filter(|n| n.id != id).collect();
    write_scratch(p, &c, &rest)?;
    Ok(Changed {
        action: "pinned".into(),
        stored_in: stored_in(&note),
        note,
        commit,
    })
}

/// `orch memory unpin ID`: a task's pinned note back to scratch, recorded in memory.jsonl.
pub fn unpin(p: &Project, id: &str) -> Result<Changed> {
    super::preflight(p)?;
    let _lock = p.lock()?;
    let (c, mut note) = match find(p, id)? {
        Found::Task(c, n) => (c, n),
        Found::Scratch(..) => {
            return Err(Error::state(format!("note {id} is not pinned"))
                .with_hint(format!("`orch memory pin {id}` pins it")))
        }
        Found::Project(_) => {
            return Err(Error::state(format!(
                "note {id} is a project note, which is always pinned"
            ))
            .with_hint(format!("`orch memory forget {id}` removes it")))
        }
    };
    let (st, _) = super::stamp(p)?;
    let rec = Record::new("unpin", &st.now, id, None, &st.actor);
    let commit = commit_record(p, Some(&c), &rec)?;
    note.pinned = false;
    let mut all = scratch(p, &c);
    all.push(note.clone());
    write_scratch(p, &c, &all)?;
    Ok(Changed {
        action: "unpinned".into(),
        stored_in: "scratch".into(),
        note,
        commit,
    })
}

/// `orch memory forget ID`: a scratch note dropped; a pinned one recorded as forgotten (its
/// text stays in git history).
pub fn forget(p: &Project, id: &str) -> Result<Changed> {
    let found = {
        let _lock = p.lock()?;
        find(p, id)?
    };
    let (note, commit) = match found {
        Found::Scratch(c, n) => {
            let _lock = p.lock()?;
            let rest: Vec<Note> = scratch(p, &c).into_iter().filter(|x| x.id != id).collect();
            write_scratch(p, &c, &rest)?;
            (n, None)
        }
        Found::Task(c, n) => {
            super::preflight(p)?;
            let _lock = p.lock()?;
            let (st, _) = super::stamp(p)?;
            let rec = Record::new("forget", &st.now, id, None, &st.actor);
            (n, commit_record(p, Some(&c), &rec)?)
        }
        Found::Project(n) => {
            super::preflight(p)?;
            let _lock = p.lock()?;
            let (st, _) = super::stamp(p)?;
            let rec = Record::new("forget", &st.now, id, None, &st.actor);
            (n, commit_record(p, None, &rec)?)
        }
    };
    Ok(Changed {
        action: "forgotten".into(),
        stored_in: "none".into(),
        note,
        commit,
    })
}

/// The session a decision closes, if any: the one `session end` ends, or the active one
/// `session start --restart|--new` archives.
fn closing<'a>(t: &'a Loaded, d: &'a Decision) -> Option<postop::Closed<'a>> {
    let code = t.code.as_str();
    match d.kind {
        Kind::End => {
            let s = &d.session;
            let how = match &s.end {
                Some(e) if e.forced => match &e.reason {
                    Some(r) => format!("ended early (forced): {}", postop::short(r, 120)),
                    None => "ended early (forced)".into(),
                },
                _ => "ended".into(),
            };
            Some(postop::Closed {
                task: code,
                key: &s.session_key,
                started_at: &s.started_at,
                ended_at: s.ended_at.as_deref().unwrap_or(&s.started_at),
                last_phase: &s.current_phase,
                history: &s.phase_history,
                how,
            })
        }
        Kind::Start => {
            let old = t.session.as_ref().filter(|s| s.active)?;
            let a = d
                .session
                .previous_sessions
                .iter()
                .rev()
                .find(|ps| ps.session_key == old.session_key)?;
            Some(postop::Closed {
                task: code,
                key: &a.session_key,
                started_at: &a.started_at,
                ended_at: &a.ended_at,
                last_phase: &a.last_phase,
                history: &a.phase_history,
                how: "archived by a new session start".into(),
            })
        }
        _ => None,
    }
}

/// The status now of every bug `events` name.
fn bug_status(p: &Project, code: &TaskCode, events: &[Event]) -> BTreeMap<String, String> {
    let named: std::collections::BTreeSet<&str> = events
        .iter()
        .filter(|e| e.type_.starts_with("orchestration.bug."))
        .filter_map(|e| e.payload["bug"].as_str())
        .collect();
    if named.is_empty() {
        return BTreeMap::new();
    }
    super::bug::list(p, None, Some(code))
        .unwrap_or_default()
        .into_iter()
        .filter(|b| named.contains(b.meta.id.as_str()))
        .map(|b| (b.meta.id.clone(), b.meta.status.as_str().to_string()))
        .collect()
}

/// POSTOP.md with the section of the session `d` closes appended, when it closes one that
/// the file does not hold yet. `new` are the events the decision adds.
pub(crate) fn postop_write(
    p: &Project,
    t: &Loaded,
    d: &Decision,
    new: &[Event],
) -> Result<Option<FileWrite>> {
    let Some(closed) = closing(t, d) else {
        return Ok(None);
    };
    let path = p.task_dir(&t.code).join(postop::FILE);
    let existing = read_opt(&path)?;
    if existing
        .as_deref()
        .is_some_and(|e| postop::has_section(e, closed.key))
    {
        return Ok(None);
    }
    let mut events = super::event::read(p, &t.code)?;
    events.extend(new.iter().cloned());
    let pinned = pinned(p, &t.code)?;
    let scratch = scratch(p, &t.code);
    let status = bug_status(p, &t.code, &events);
    let section = postop::section(&postop::Input {
        closed,
        events: &events,
        pinned: &pinned,
        scratch: &scratch,
        bug_status: &status,
    });
    Ok(Some(FileWrite {
        path,
        bytes: postop::append(existing.as_deref(), t.code.as_str(), &section).into_bytes(),
    }))
}

/// After the closing commit: the scratch notes live on in POSTOP.md only.
pub(crate) fn clear_scratch(p: &Project, code: &TaskCode) -> Result<()> {
    write_scratch(p, code, &[])
}
