//! `orch bug report|list|show|resolve|reopen|merge|distinct`: bugs found during the work, one
//! file per bug under `.orchestration/bugs/`, matched across every task by fingerprint and
//! similarity (see `bugs`), each change a commit.

use crate::bugs::index::{self, Entry, Index};
use crate::bugs::record::{
    self, BugDoc, BugMeta, LogEntry, Resolution, Severity, Status, Suggestion,
};
use crate::bugs::{analyze, similar::SUGGEST_THRESHOLD, Analysis};
use crate::code::TaskCode;
use crate::event::Event;
use crate::project::{Project, ORCH_DIR};
use crate::session::Session;
use crate::store::FileWrite;
use crate::{Error, Result};
use serde::Serialize;
use std::path::PathBuf;

pub const BUGS_DIR: &str = "bugs";
/// The merge rule for bug logs, in `.orchestration/.gitattributes`.
pub const GITATTRIBUTES_LINE: &str = "bugs/*.jsonl merge=union";
/// The built-in action of the `on_bug_found` hook point.
pub const RECORD_EVENT: &str = "record_event";

/// A bug as commands show it: the file's front matter with the log folded in.
#[derive(Debug, Clone, Serialize)]
pub struct BugView {
    #[serde(flatten)]
    pub meta: BugMeta,
    pub occurrences: usize,
    /// Another bug with the same fingerprint, filed first (two branches reported it at once).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub same_fingerprint_as: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BugDetail {
    #[serde(flatten)]
    pub bug: BugView,
    pub report: String,
    pub normalized: String,
    pub log: Vec<LogEntry>,
}

/// What a report did.
#[derive(Debug, Clone, Serialize)]
pub struct Reported {
    /// new · duplicate (an occurrence of a known bug) · regression (a resolved bug is back)
    pub outcome: String,
    pub bug: BugView,
    pub fingerprint: String,
    pub possible_duplicate_of: Vec<Suggestion>,
    pub events: Vec<String>,
    /// The on_bug_found hook's own instructions in the current phase, for whoever reported.
    pub instructions: Vec<String>,
    pub commit: Option<String>,
}

/// A decision about one bug (resolve, reopen, merge, distinct).
#[derive(Debug, Clone, Serialize)]
pub struct Changed {
    pub bug: BugView,
    pub commit: Option<String>,
}

pub struct ReportRequest<'a> {
    pub code: &'a TaskCode,
    pub title: &'a str,
    pub error: &'a [u8],
    /// Where the text came from, for messages: `--error`, a file name, `stdin`.
    pub source: &'a str,
    pub file: Option<&'a str>,
    pub line: Option<u32>,
    pub severity: Option<&'a str>,
}

fn bugs_dir(p: &Project) -> PathBuf {
    p.orch_dir.join(BUGS_DIR)
}

fn rel(id: &str, ext: &str) -> String {
    format!("{ORCH_DIR}/{BUGS_DIR}/{id}.{ext}")
}

fn md_path(p: &Project, id: &str) -> PathBuf {
    bugs_dir(p).join(format!("{id}.md"))
}

fn log_path(p: &Project, id: &str) -> PathBuf {
    bugs_dir(p).join(format!("{id}.jsonl"))
}

pub fn load(p: &Project, id: &str) -> Result<BugDoc> {
    let path = md_path(p, id);
    match std::fs::read_to_string(&path) {
        Ok(t) => record::parse(&t, &rel(id, "md")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::usage(format!(
            "no bug {id} in {ORCH_DIR}/{BUGS_DIR}/"
        ))
        .with_hint("`orch bug list` shows the bugs")),
        Err(e) => Err(Error::io(&path, e)),
    }
}

fn load_log(p: &Project, id: &str) -> Result<Vec<LogEntry>> {
    let path = log_path(p, id);
    match std::fs::read_to_string(&path) {
        Ok(t) => record::parse_log(&t, &rel(id, "jsonl")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(vec![]),
        Err(e) => Err(Error::io(&path, e)),
    }
}

/// All bug ids on disk, sorted.
fn ids(p: &Project) -> Result<Vec<String>> {
    let dir = bugs_dir(p);
    let rd = match std::fs::read_dir(&dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(Error::io(&dir, e)),
    };
    let mut out: Vec<String> = rd
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_suffix(".md")
                .filter(|id| record::check_id(id).is_ok())
                .map(str::to_string)
        })
        .collect();
    out.sort();
    Ok(out)
}

/// The front matter with the log folded in: every task that hit it, the last time it did.
fn view(meta: BugMeta, log: &[LogEntry]) -> BugView {
    let mut meta = meta;
    for e in log {
        if let Some(t) = &e.task {
            if !meta.tasks.contains(t) {
                meta.tasks.push(t.clone());
            }
        }
        if matches!(e.kind.as_str(), "found" | "occurrence" | "regression") && e.ts > meta.last_seen
        {
            meta.last_seen = e.ts.clone();
        }
    }
    let occurrences = log
        .iter()
        .filter(|e| matches!(e.kind.as_str(), "found" | "occurrence" | "regression"))
        .count()
        .max(1);
    BugView {
        meta,
        occurrences,
        same_fingerprint_as: None,
    }
}

/// What identifies the state of the bug files: the bugs tree at HEAD when they are all
/// committed, else a listing of the folder.
fn index_key(p: &Project) -> Result<String> {
    if let Some(head) = p.git.head_id()? {
        let tree = crate::git::history::commit_tree_parents(&p.git.repo, head)?.0;
        let node =
            crate::git::history::entry_at(&p.git.repo, tree, &format!("{ORCH_DIR}/{BUGS_DIR}"))?;
        if p.config.git.commit {
            return Ok(node.map_or_else(|| "empty".to_string(), |n| n.id.to_string()));
        }
    }
    let names = ids(p)?;
    Ok(format!(
        "worktree:{}:{}",
        names.len(),
        crate::bugs::normalize::fnv64(names.join(",").as_bytes(), 0)
    ))
}

/// The index, rebuilt from the bug files when it does not describe them.
fn open_index(p: &Project) -> Result<Index> {
    let key = index_key(p)?;
    let dir = p.local_dir();
    if let Some(idx) = index::open(&dir, &key)? {
        return Ok(idx);
    }
    let mut entries = Vec::new();
    for id in ids(p)? {
        let doc = load(p, &id)?;
        let a = analyze(&doc.report);
        entries.push(Entry {
            id,
            fingerprint: doc.meta.fingerprint,
            features: a.features,
        });
    }
    index::build(&dir, &key, &entries)?;
    index::open(&dir, &key)?
        .ok_or_else(|| Error::runtime("the bug index could not be read back after building it"))
}

fn check_location(file: Option<&str>, line: Option<u32>) -> Result<Option<String>> {
    match (file, line) {
        (None, None) => Ok(None),
        (None, Some(_)) => {
            Err(Error::usage("--line needs --file").with_hint("pass --file PATH --line N"))
        }
        (Some(f), line) => {
            if f.is_empty() || f.len() > 400 || f.chars().any(|c| c.is_control()) {
                return Err(
                    Error::usage(format!("--file {f:?} is not a usable path")).with_hint(
                        "pass the repository-relative path of the file where the bug shows",
                    ),
                );
            }
            Ok(Some(match line {
                Some(n) => format!("{f}:{n}"),
                None => f.to_string(),
            }))
        }
    }
}

fn salt() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
        ^ std::process::id() as u64
}

/// The bug a fingerprint belongs to: among bugs with it, the one others were merged into,
/// else the first filed.
fn canonical_of(p: &Project, ids: &[String]) -> Result<Option<BugDoc>> {
    let mut docs = Vec::new();
    for id in ids {
        match load(p, id) {
            Ok(d) => docs.push(d),
            Err(e) if e.kind == crate::ErrorKind::Usage => continue,
            Err(e) => return Err(e),
        }
    }
    docs.sort_by(|a, b| (&a.meta.first_seen, &a.meta.id).cmp(&(&b.meta.first_seen, &b.meta.id)));
    let Some(first) = docs.into_iter().next() else {
        return Ok(None);
    };
    // Follow merges to the bug that absorbed it (bounded, in case of a loop).
    let mut cur = first;
    for _ in 0..16 {
        match (&cur.meta.status, &cur.meta.duplicate_of) {
            (Status::Duplicate, Some(into)) => match load(p, into) {
                Ok(next) => cur = next,
                Err(_) => break,
            },
            _ => break,
        }
    }
    Ok(Some(cur))
}

/// The on_bug_found hook of the task's current phase: whether it records events, and its
/// instructions (every entry that is not a built-in action).
fn hook(p: &Project, session: Option<&Session>) -> (bool, Vec<String>) {
    let phase = session
        .filter(|s| s.active)
        .and_then(|s| p.workflow.phase(&s.current_phase));
    let Some(actions) = phase.and_then(|ph| ph.def.hooks.get("on_bug_found")) else {
        return (false, vec![]);
    };
    let record = actions.iter().any(|a| a == RECORD_EVENT);
    let notes = actions
        .iter()
        .filter(|a| *a != RECORD_EVENT)
        .cloned()
        .collect();
    (record, notes)
}

/// `.orchestration/.gitattributes` with the bug-log merge rule, if it lacks it.
fn gitattributes_write(p: &Project) -> Result<Option<FileWrite>> {
    let path = p.orch_dir.join(".gitattributes");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(Error::io(&path, e)),
    };
    if text.lines().any(|l| l.trim() == GITATTRIBUTES_LINE) {
        return Ok(None);
    }
    let mut bytes = text.into_bytes();
    if !bytes.is_empty() && !bytes.ends_with(b"\n") {
        bytes.push(b'\n');
    }
    bytes.extend_from_slice(GITATTRIBUTES_LINE.as_bytes());
    bytes.push(b'\n');
    Ok(Some(FileWrite { path, bytes }))
}

fn appended_log(p: &Project, id: &str, e: &LogEntry) -> Result<FileWrite> {
    let path = log_path(p, id);
    let mut bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => vec![],
        Err(err) => return Err(Error::io(&path, err)),
    };
    if !bytes.is_empty() && !bytes.ends_with(b"\n") {
        bytes.push(b'\n');
    }
    bytes.extend_from_slice(e.to_line().as_bytes());
    Ok(FileWrite { path, bytes })
}

struct Ctx {
    now: String,
    actor: String,
    head: Option<String>,
}

fn ctx(p: &Project) -> Result<Ctx> {
    let (st, _) = super::stamp(p)?;
    Ok(Ctx {
        now: st.now,
        actor: st.actor,
        head: p.git.head_id()?.map(|i| i.to_string()),
    })
}

fn entry(
    c: &Ctx,
    kind: &str,
    bug: &str,
    task: Option<&TaskCode>,
    session: Option<&Session>,
) -> LogEntry {
    LogEntry {
        id: record::entry_id(kind, bug, &c.now, salt()),
        ts: c.now.clone(),
        kind: kind.into(),
        task: task.map(|t| t.to_string()),
        session_key: session.map(|s| s.session_key.clone()),
        commit: c.head.clone(),
        actor: c.actor.clone(),
        location: None,
        other: None,
        note: None,
    }
}

/// `orch bug report`: files the error against the task — as an occurrence of the bug with
/// the same fingerprint (reopening it if it was resolved), or as a new bug naming its near
/// matches — and commits it.
pub fn report(p: &Project, req: &ReportRequest) -> Result<Reported> {
    let title = record::check_title(req.title)?;
    let text = record::check_error_text(req.error, req.source)?;
    let severity = req.severity.map(Severity::parse).transpose()?;
    let location = check_location(req.file, req.line)?;
    p.require_task(req.code)?;
    super::preflight(p)?;
    let _lock = p.lock()?;
    let session = p.load_session(req.code)?;
    let analysis = analyze(&text);
    let mut idx = open_index(p)?;
    let c = ctx(p)?;
    let known = canonical_of(p, &idx.exact(&analysis.fingerprint)?)?;
    let mut writes = Vec::new();
    let (outcome, doc, suggestions) = match known {
        Some(doc) => occurrence(p, &c, req, session.as_ref(), doc, location, &mut writes)?,
        None => {
            let s = suggestions(&idx, &analysis)?;
            let doc = new_bug(
                p,
                &c,
                req,
                session.as_ref(),
                &analysis,
                title,
                severity,
                location,
                &s,
                &mut writes,
            )?;
            ("new".to_string(), doc, s)
        }
    };
    let id = doc.meta.id.clone();
    let (record_events, instructions) = hook(p, session.as_ref());
    let mut events = Vec::new();
    let mut paths = vec![rel(&id, "md"), rel(&id, "jsonl")];
    if record_events {
        let ty = match outcome.as_str() {
            "new" => "orchestration.bug.found",
            "regression" => "orchestration.bug.regression",
            _ => "orchestration.bug.duplicate",
        };
        let ev = bug_event(&c, ty, req.code, session.as_ref(), &doc.meta, &suggestions);
        events.push(ev.type_.clone());
        writes.push(super::event::appended(p, req.code, &[ev])?);
        paths.push(p.task_rel(req.code));
    }
    if let Some(w) = gitattributes_write(p)? {
        writes.push(w);
        paths.push(format!("{ORCH_DIR}/.gitattributes"));
    }
    let subject = match outcome.as_str() {
        "new" => format!("bug {id} found: {}", doc.meta.title),
        "regression" => format!("bug {id} is back (regression)"),
        _ => format!("bug {id} seen again"),
    };
    let msg = super::task_commit_message(req.code, &subject, session.as_ref());
    let path_refs: Vec<&str> = paths.iter().map(String::as_str).collect();
    let applied = super::apply(p, writes, &path_refs, Some(&msg))?;
    let key = index_key(p)?;
    if outcome == "new" {
        idx.append(
            Entry {
                id: id.clone(),
                fingerprint: analysis.fingerprint.clone(),
                features: analysis.features.clone(),
            },
            &key,
        )?;
    } else {
        idx.rekey(&key)?;
    }
    let log = load_log(p, &id)?;
    Ok(Reported {
        outcome,
        bug: view(doc.meta, &log),
        fingerprint: analysis.fingerprint,
        possible_duplicate_of: suggestions,
        events,
        instructions,
        commit: applied.commit_id(),
    })
}

fn suggestions(idx: &Index, a: &Analysis) -> Result<Vec<Suggestion>> {
    Ok(idx
        .nearest(&a.features, SUGGEST_THRESHOLD, 3)?
        .into_iter()
        .map(|(id, score)| Suggestion {
            id,
            score: (score * 100.0).round() / 100.0,
        })
        .collect())
}

/// A report of a known bug: a line in its log; if it was resolved, it is open again.
fn occurrence(
    p: &Project,
    c: &Ctx,
    req: &ReportRequest,
    session: Option<&Session>,
    mut doc: BugDoc,
    location: Option<String>,
    writes: &mut Vec<FileWrite>,
) -> Result<(String, BugDoc, Vec<Suggestion>)> {
    let regression = doc.meta.status == Status::Resolved;
    let mut e = entry(
        c,
        if regression {
            "regression"
        } else {
            "occurrence"
        },
        &doc.meta.id,
        Some(req.code),
        session,
    );
    e.location = location;
    writes.push(appended_log(p, &doc.meta.id, &e)?);
    if regression {
        doc.meta.status = Status::Open;
        doc.meta.regressions += 1;
        doc.meta.last_seen = c.now.clone();
        if !doc.meta.tasks.contains(&req.code.to_string()) {
            doc.meta.tasks.push(req.code.to_string());
        }
        writes.push(FileWrite {
            path: md_path(p, &doc.meta.id),
            bytes: record::render(&doc).into_bytes(),
        });
    }
    let outcome = if regression {
        "regression"
    } else {
        "duplicate"
    };
    Ok((outcome.to_string(), doc, vec![]))
}

#[allow(clippy::too_many_arguments)]
fn new_bug(
    p: &Project,
    c: &Ctx,
    req: &ReportRequest,
    session: Option<&Session>,
    a: &Analysis,
    title: String,
    severity: Option<Severity>,
    location: Option<String>,
    suggestions: &[Suggestion],
    writes: &mut Vec<FileWrite>,
) -> Result<BugDoc> {
    let mut id = record::new_id(&a.fingerprint, &c.now, &c.actor, salt());
    while md_path(p, &id).exists() {
        id = record::new_id(&a.fingerprint, &c.now, &c.actor, salt().wrapping_add(1));
    }
    let mut report = String::from_utf8_lossy(req.error).replace("\r\n", "\n");
    if !report.ends_with('\n') {
        report.push('\n');
    }
    let doc = BugDoc {
        meta: BugMeta {
            id: id.clone(),
            title,
            fingerprint: a.fingerprint.clone(),
            status: Status::Open,
            severity: severity.unwrap_or(Severity::Medium),
            tasks: vec![req.code.to_string()],
            first_seen: c.now.clone(),
            last_seen: c.now.clone(),
            location: location.clone(),
            possible_duplicate_of: suggestions.to_vec(),
            duplicate_of: None,
            distinct_from: vec![],
            resolution: None,
            regressions: 0,
        },
        report,
        normalized: a.normalized.clone(),
    };
    let mut e = entry(c, "found", &id, Some(req.code), session);
    e.location = location;
    writes.push(FileWrite {
        path: md_path(p, &id),
        bytes: record::render(&doc).into_bytes(),
    });
    writes.push(appended_log(p, &id, &e)?);
    Ok(doc)
}

fn bug_event(
    c: &Ctx,
    ty: &str,
    code: &TaskCode,
    session: Option<&Session>,
    meta: &BugMeta,
    suggestions: &[Suggestion],
) -> Event {
    Event::new(
        ty,
        &c.now,
        session.map(|s| s.session_key.as_str()),
        code.as_str(),
        &c.actor,
        serde_json::json!({
            "bug": meta.id,
            "title": meta.title,
            "fingerprint": meta.fingerprint,
            "severity": meta.severity.as_str(),
            "status": meta.status.as_str(),
            "possible_duplicate_of": suggestions,
        }),
    )
}

/// `orch bug list`: every bug, or those of one status or task, newest first.
pub fn list(p: &Project, status: Option<&str>, task: Option<&TaskCode>) -> Result<Vec<BugView>> {
    let status = match status {
        None => None,
        Some("open") => Some(Status::Open),
        Some("resolved") => Some(Status::Resolved),
        Some("duplicate") => Some(Status::Duplicate),
        Some(s) => {
            return Err(Error::usage(format!("--status {s:?} is not a bug status"))
                .with_hint("use open, resolved or duplicate"))
        }
    };
    let mut all = Vec::new();
    for id in ids(p)? {
        let doc = load(p, &id)?;
        all.push(view(doc.meta, &load_log(p, &id)?));
    }
    // Bugs sharing a fingerprint (reported on two branches at once) point at the first one.
    let mut first: std::collections::HashMap<String, (String, String)> =
        std::collections::HashMap::new();
    for b in &all {
        let e = first
            .entry(b.meta.fingerprint.clone())
            .or_insert((b.meta.first_seen.clone(), b.meta.id.clone()));
        if (&b.meta.first_seen, &b.meta.id) < (&e.0, &e.1) {
            *e = (b.meta.first_seen.clone(), b.meta.id.clone());
        }
    }
    for b in &mut all {
        let f = &first[&b.meta.fingerprint].1;
        if *f != b.meta.id && b.meta.status != Status::Duplicate {
            b.same_fingerprint_as = Some(f.clone());
        }
    }
    all.retain(|b| status.is_none_or(|s| b.meta.status == s));
    if let Some(t) = task {
        all.retain(|b| b.meta.tasks.iter().any(|x| x == t.as_str()));
    }
    all.sort_by(|a, b| {
        b.meta
            .last_seen
            .cmp(&a.meta.last_seen)
            .then(a.meta.id.cmp(&b.meta.id))
    });
    Ok(all)
}

/// `orch bug show`: one bug with its first report, normalised form and log.
pub fn show(p: &Project, id: &str) -> Result<BugDetail> {
    let id = record::check_id(id)?;
    let doc = load(p, &id)?;
    let log = load_log(p, &id)?;
    let same = list(p, None, None)?
        .into_iter()
        .find(|b| b.meta.id == id)
        .and_then(|b| b.same_fingerprint_as);
    let mut bug = view(doc.meta, &log);
    bug.same_fingerprint_as = same;
    Ok(BugDetail {
        bug,
        report: doc.report,
        normalized: doc.normalized,
        log,
    })
}

/// What a decision does to the bug file and its log.
pub enum Decision<'a> {
    Resolve {
        commit: Option<&'a str>,
        note: Option<&'a str>,
    },
    Reopen,
    Merge {
        into: &'a str,
    },
    Distinct {
        other: &'a str,
    },
}

/// `orch bug resolve|reopen|merge|distinct`: the decision written to the bug file, logged,
/// committed; resolving also records `orchestration.bug.resolved` on the current task.
pub fn decide(p: &Project, id: &str, d: Decision, task: Option<&TaskCode>) -> Result<Changed> {
    let id = record::check_id(id)?;
    super::preflight(p)?;
    let _lock = p.lock()?;
    let mut doc = load(p, &id)?;
    let c = ctx(p)?;
    let session = match task {
        Some(t) if p.task_exists(t) => p.load_session(t)?,
        _ => None,
    };
    let task = task.filter(|t| p.task_exists(t));
    let key_before = index_key(p)?;
    let (kind, subject, mut e) = apply_decision(p, &c, &mut doc, &d)?;
    e.task = task.map(|t| t.to_string());
    e.session_key = session.as_ref().map(|s| s.session_key.clone());
    let mut writes = vec![
        FileWrite {
            path: md_path(p, &id),
            bytes: record::render(&doc).into_bytes(),
        },
        appended_log(p, &id, &e)?,
    ];
    let mut paths = vec![rel(&id, "md"), rel(&id, "jsonl")];
    if let (Some(t), "resolved") = (task, kind) {
        if hook(p, session.as_ref()).0 {
            let ev = bug_event(
                &c,
                "orchestration.bug.resolved",
                t,
                session.as_ref(),
                &doc.meta,
                &[],
            );
            writes.push(super::event::appended(p, t, &[ev])?);
            paths.push(p.task_rel(t));
        }
    }
    let msg = match task {
        Some(t) => super::task_commit_message(t, &subject, session.as_ref()),
        None => format!("orch: {subject}\n"),
    };
    let path_refs: Vec<&str> = paths.iter().map(String::as_str).collect();
    let applied = super::apply(p, writes, &path_refs, Some(&msg))?;
    // A fresh index stays fresh: a decision changes no fingerprint or feature it holds.
    if let Some(idx) = index::open(&p.local_dir(), &key_before)? {
        idx.rekey(&index_key(p)?)?;
    }
    let log = load_log(p, &id)?;
    Ok(Changed {
        bug: view(doc.meta, &log),
        commit: applied.commit_id(),
    })
}

fn apply_decision(
    p: &Project,
    c: &Ctx,
    doc: &mut BugDoc,
    d: &Decision,
) -> Result<(&'static str, String, LogEntry)> {
    let id = doc.meta.id.clone();
    let m = &mut doc.meta;
    Ok(match d {
        Decision::Resolve { commit, note } => {
            if m.status == Status::Resolved {
                return Err(Error::state(format!("{id} is already resolved"))
                    .with_hint(format!("`orch bug reopen {id}` opens it again")));
            }
            if m.status == Status::Duplicate {
                return Err(duplicate_state(&id, m));
            }
            let commit = match commit {
                Some(spec) => {
                    Some(crate::git::history::resolve_commit(&p.git.repo, spec)?.to_string())
                }
                None => None,
            };
            if let Some(n) = note {
                if n.contains(['\n', '\r']) || n.chars().any(|c| c.is_control()) {
                    return Err(
                        Error::usage("--note is one line").with_hint("drop the line breaks")
                    );
                }
            }
            m.status = Status::Resolved;
            m.resolution = Some(Resolution {
                at: c.now.clone(),
                commit: commit.clone(),
                note: note.map(str::to_string),
            });
            let mut e = entry(c, "resolved", &id, None, None);
            e.other = commit;
            e.note = note.map(str::to_string);
            ("resolved", format!("bug {id} resolved"), e)
        }
        Decision::Reopen => {
            if m.status == Status::Open {
                return Err(
                    Error::state(format!("{id} is already open")).with_hint("nothing to do")
                );
            }
            m.status = Status::Open;
            m.resolution = None;
            m.duplicate_of = None;
            (
                "reopened",
                format!("bug {id} reopened"),
                entry(c, "reopened", &id, None, None),
            )
        }
        Decision::Merge { into } => {
            let into = record::check_id(into)?;
            if into == id {
                return Err(Error::usage(format!("cannot merge {id} into itself"))
                    .with_hint("name the bug it duplicates: `orch bug merge ID INTO`"));
            }
            let target = load(p, &into)?;
            if target.meta.duplicate_of.as_deref() == Some(id.as_str()) {
                return Err(
                    Error::state(format!("{into} is already merged into {id}")).with_hint(format!(
                        "merge the other way round, or `orch bug reopen {into}` first"
                    )),
                );
            }
            m.status = Status::Duplicate;
            m.duplicate_of = Some(into.clone());
            m.distinct_from.retain(|x| *x != into);
            let mut e = entry(c, "merged", &id, None, None);
            e.other = Some(into.clone());
            ("merged", format!("bug {id} merged into {into}"), e)
        }
        Decision::Distinct { other } => {
            let other = record::check_id(other)?;
            if other == id {
                return Err(Error::usage(format!("{id} cannot be distinct from itself"))
                    .with_hint("name the other bug: `orch bug distinct ID OTHER`"));
            }
            load(p, &other)?;
            if !m.distinct_from.contains(&other) {
                m.distinct_from.push(other.clone());
            }
            m.possible_duplicate_of.retain(|s| s.id != other);
            let mut e = entry(c, "distinct", &id, None, None);
            e.other = Some(other.clone());
            ("distinct", format!("bug {id} is not {other}"), e)
        }
    })
}

fn duplicate_state(id: &str, m: &BugMeta) -> Error {
    let into = m.duplicate_of.clone().unwrap_or_default();
    Error::state(format!("{id} was merged into {into}")).with_hint(format!(
        "resolve {into} instead, or `orch bug reopen {id}` to split it off again"
    ))
}

/// The task's open bugs, for `orch report` and `orch status`.
pub fn open_for_task(p: &Project, code: &TaskCode) -> Result<Vec<BugView>> {
    list(p, Some("open"), Some(code))
}
