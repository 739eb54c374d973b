//! The operations behind the commands. Each one has the same shape: open → load → decide
//! (pure, in `rules`) → write files → commit; and returns data for the binary to render.

use crate::code::TaskCode;
use crate::diagnostic::Diagnostic;
use crate::event::Event;
use crate::project::{Project, ORCH_DIR};
use crate::rules::{self, Decision, Stamp, StartMode};
use crate::session::{Override, Session};
use crate::store::{self, FileWrite};
use crate::task::TaskDoc;
use crate::task::TaskSummary;
use crate::templates::Vars;
use crate::validate::{self, DiskSource};
use crate::workflow::Phase;
use crate::{clock, Error, Result};
use serde::Serialize;
use std::path::Path;

pub mod changes;
pub mod link;

/// What writing a change did: the commit, when one was made.
pub struct Applied {
    pub commit: Option<crate::git::CommitOutcome>,
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
    let head_before = p.git.head_id()?.map(|i| i.to_string());
    let txn = store::Txn::begin(&p.journal_dir(), head_before, &writes)?;
    let outcome = (|| -> Result<Applied> {
        txn.write(&writes)?;
        let commit = match commit {
            Some(msg) if p.config.git.commit => {
                crate::git::commit::commit_paths(&p.git, commit_paths, msg)?
            }
            _ => None,
        };
        Ok(Applied { commit })
    })();
    txn.finish(outcome.is_ok());
    outcome
}

/// What the agent is told for the current phase: the whole contract, kept short.
#[derive(Debug, Clone, Serialize)]
pub struct NextStep {
    pub task: String,
    pub title: String,
    pub phase: String,
    pub phase_title: String,
    pub goal: String,
    pub artifacts: Vec<ArtifactStatus>,
    pub instructions: String,
    pub command: String,
    pub next_phase: Option<String>,
    pub session_key: Option<String>,
    pub active: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ArtifactStatus {
    pub name: String,
    pub path: String,
    pub required: bool,
    pub present: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Transition {
    pub task: String,
    pub kind: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub session_key: String,
    pub commit: Option<String>,
    #[serde(rename = "override")]
    pub override_: Option<Override>,
    pub scaffolded: Vec<String>,
    pub warnings: Vec<Diagnostic>,
    /// Instructions for the phase the task is now in (absent once the session ended).
    pub next: Option<NextStep>,
}

fn stamp(p: &Project) -> Result<(Stamp, chrono::DateTime<chrono::Utc>)> {
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

fn vars(p: &Project, code: &TaskCode, doc: Option<&TaskDoc>, phase: &str) -> Result<Vars> {
    let next = p
        .workflow
        .next_after(phase)
        .map(|n| n.name.clone())
        .unwrap_or_default();
    Ok(Vars {
        code: code.to_string(),
        title: doc.map(|d| d.title()).unwrap_or_default(),
        phase: phase.to_string(),
        next_phase: next,
        date: clock::now()?.format("%Y-%m-%d").to_string(),
        description: doc
            .and_then(|d| d.str_field("description"))
            .unwrap_or_default(),
        tags: doc.map(|d| d.tags()).unwrap_or_default(),
        sprint: doc.and_then(|d| d.str_field("sprint")).unwrap_or_default(),
        task_dir: p.task_rel(code),
    })
}

/// Dates a scaffold in this task may carry.
fn scaffold_dates(session: Option<&Session>, task_dir: &Path) -> Vec<String> {
    let mut d = Vec::new();
    if let Some(s) = session {
        d.push(s.started_at.clone());
        d.extend(s.phase_history.iter().map(|h| h.completed_at.clone()));
    }
    let mut out: Vec<String> = d
        .iter()
        .filter_map(|t| t.get(..10).map(str::to_string))
        .collect();
    if let Ok(rd) = std::fs::read_dir(task_dir) {
        for e in rd.flatten() {
            if let Ok(m) = e.metadata().and_then(|m| m.modified()) {
                let t: chrono::DateTime<chrono::Utc> = m.into();
                out.push(t.format("%Y-%m-%d").to_string());
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Runs `f` with the task folder in the working tree as the artifact source.
fn on_disk<R>(
    p: &Project,
    code: &TaskCode,
    session: Option<&Session>,
    vars: &Vars,
    f: impl FnOnce(&DiskSource, &validate::Context) -> R,
) -> R {
    let dir = p.task_dir(code);
    let task_dir = p.task_rel(code);
    let ctx = validate::Context {
        templates: &p.templates,
        vars,
        dates: scaffold_dates(session, &dir),
        task_dir: &task_dir,
    };
    let src = DiskSource {
        task_dir: dir,
        root: p.root.clone(),
    };
    f(&src, &ctx)
}

/// The checks of `phase` for a task, against the working tree.
pub fn check(
    p: &Project,
    code: &TaskCode,
    phase: &Phase,
    session: Option<&Session>,
) -> Result<Vec<Diagnostic>> {
    let doc = p.load_doc(code).ok();
    let v = vars(p, code, doc.as_ref(), &phase.name)?;
    Ok(on_disk(p, code, session, &v, |src, ctx| {
        validate::check_phase(src, phase, ctx)
    }))
}

pub fn next_step(p: &Project, code: &TaskCode, session: Option<&Session>) -> Result<NextStep> {
    let doc = p.load_doc(code)?;
    let phase_name = session
        .map(|s| s.current_phase.clone())
        .unwrap_or_else(|| p.workflow.first().name.clone());
    let phase = p.workflow.phase(&phase_name).ok_or_else(|| {
        Error::state(format!(
            "{code}: session.json says phase {phase_name:?}, which the workflow does not define"
        ))
        .with_hint(format!(
            "move it with `orch phase set {code} <phase>` (phases: {})",
            p.workflow.names().join(", ")
        ))
    })?;
    let v = vars(p, code, Some(&doc), &phase.name)?;
    let instructions = crate::templates::render_str(&phase.def.next_step, &v).map_err(|e| {
        Error::usage(format!(
            "{}: phase {}, key next_step: {e}",
            p.workflow.source, phase.name
        ))
    })?;
    let artifacts = on_disk(p, code, session, &v, |src, ctx| {
        phase
            .def
            .artifacts
            .required
            .iter()
            .map(|a| (a, true))
            .chain(phase.def.artifacts.optional.iter().map(|a| (a, false)))
            .map(|(a, required)| ArtifactStatus {
                name: a.name.clone(),
                path: format!("{}/{}", p.task_rel(code), a.name),
                required,
                present: validate::artifact_problem(src, a, ctx).is_none(),
            })
            .collect::<Vec<_>>()
    });
    let active = session.is_some_and(|s| s.active);
    let command = if !active {
        format!("orch session start {code}")
    } else if p.workflow.last().name == phase.name {
        format!("orch session end {code}")
    } else {
        format!("orch phase complete {code}")
    };
    Ok(NextStep {
        task: code.to_string(),
        title: doc.title(),
        phase: phase.name.clone(),
        phase_title: phase.title(),
        goal: phase.def.goal.trim().to_string(),
        artifacts,
        instructions: instructions.trim_end().to_string(),
        command,
        next_phase: p.workflow.next_after(&phase.name).map(|n| n.name.clone()),
        session_key: session.map(|s| s.session_key.clone()),
        active,
    })
}

// ---------------------------------------------------------------------------------------------
// init

#[derive(Debug, Clone, Serialize)]
pub struct InitReport {
    pub root: String,
    pub created: Vec<String>,
    pub commit: Option<String>,
}

pub const GITATTRIBUTES: &str = "tasks/*/events.jsonl merge=union\n";

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

// ---------------------------------------------------------------------------------------------
// tasks

#[derive(Debug, Clone, Default)]
pub struct NewTask {
    pub code: Option<String>,
    pub title: String,
    pub description: Option<String>,
    pub tags: Vec<String>,
    pub sprint: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TaskCreated {
    pub task: String,
    pub path: String,
    pub commit: Option<String>,
}

fn commit_message(code: &TaskCode, subject: &str, session_key: &str, phase: &str) -> String {
    format!(
        "orch({code}): {subject}\n\nOrchestration-Task: {code}\nOrchestration-Session: {session_key}\nOrchestration-Phase: {phase}\n"
    )
}

fn preflight(p: &Project) -> Result<()> {
    if p.config.git.commit {
        p.git.ensure_can_commit()?;
        p.git.author_identity()?;
    }
    Ok(())
}

pub fn task_new(p: &Project, req: &NewTask) -> Result<TaskCreated> {
    if req.title.trim().is_empty() {
        return Err(Error::usage("the task needs a title: pass --title \"...\""));
    }
    if req.tags.iter().any(|t| t.trim().is_empty()) {
        return Err(Error::usage("--tag needs a non-empty value")
            .with_hint("pass --tag NAME once per tag, or leave --tag out"));
    }
    preflight(p)?;
    let _lock = p.lock()?;
    let (st, _) = stamp(p)?;
    let code = match &req.code {
        Some(c) => {
            let c = TaskCode::parse(c)?;
            if p.task_dir(&c).exists() {
                return Err(
                    Error::state(format!("task {c} already exists ({})", p.task_rel(&c)))
                        .with_hint(format!(
                            "see it with `orch task show {c}`, or pick another code"
                        )),
                );
            }
            c
        }
        None => (0u64..)
            .map(|salt| {
                TaskCode::generate(
                    &req.title,
                    &st.now,
                    &st.actor,
                    salt ^ std::process::id() as u64,
                )
            })
            .find(|c| !p.task_dir(c).exists())
            .expect("a free code"),
    };
    let v = Vars {
        code: code.to_string(),
        title: req.title.trim().to_string(),
        phase: p.workflow.first().name.clone(),
        next_phase: String::new(),
        date: st.now[..10].to_string(),
        description: req.description.clone().unwrap_or_default(),
        tags: req.tags.clone(),
        sprint: req.sprint.clone().unwrap_or_default(),
        task_dir: p.task_rel(&code),
    };
    let template = p
        .workflow
        .first()
        .def
        .artifacts
        .required
        .iter()
        .find(|a| a.name == "TASK.md")
        .and_then(|a| a.template.clone())
        .unwrap_or_else(|| "task_template".into());
    let text = p.templates.render(&template, &v)?;
    // The rendered task must read back with the values given, whatever the template does.
    let mut doc = TaskDoc::parse(&text, &format!("template {template}"))?;
    let rendered = doc.fields.clone();
    doc.set_field("title", v.title.clone().into());
    if let Some(d) = &req.description {
        doc.set_field("description", d.clone().into());
    }
    if !doc.has_value("status") {
        doc.set_field("status", "open".into());
    }
    // Keep the template's own formatting unless a value had to be put right.
    let text = if rendered == doc.fields {
        text
    } else {
        doc.to_text()
    };
    let dir = p.task_dir(&code);
    let rel = p.task_rel(&code);
    let applied = apply(
        p,
        vec![FileWrite {
            path: dir.join("TASK.md"),
            bytes: text.into_bytes(),
        }],
        &[&rel],
        Some(&commit_message(
            &code,
            "new task",
            "none",
            &p.workflow.first().name,
        )),
    )
    .inspect_err(|_| {
        let _ = std::fs::remove_dir(&dir);
    })?;
    Ok(TaskCreated {
        task: code.to_string(),
        path: format!("{rel}/TASK.md"),
        commit: applied.commit.map(|c| c.commit.to_string()),
    })
}

#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub phase: Option<String>,
    pub sprint: Option<String>,
    pub active: bool,
}

pub fn task_list(p: &Project, f: &ListFilter) -> Result<Vec<TaskSummary>> {
    if let Some(ph) = &f.phase {
        p.workflow.require(ph)?;
    }
    let codes = p.task_codes()?;
    let all = crate::listing::summaries(&p.tasks_dir(), &p.local_dir().join("cache"), &codes);
    Ok(all
        .into_iter()
        .filter(|t| {
            f.phase
                .as_ref()
                .is_none_or(|ph| t.phase.as_ref() == Some(ph))
        })
        .filter(|t| {
            f.sprint
                .as_ref()
                .is_none_or(|sp| t.sprint.as_ref() == Some(sp))
        })
        .filter(|t| !f.active || t.active)
        .collect())
}

#[derive(Debug, Clone, Serialize)]
pub struct TaskDetail {
    pub task: String,
    pub path: String,
    pub title: String,
    pub status: String,
    pub description: String,
    pub tags: Vec<String>,
    pub sprint: Option<String>,
    pub project_id: Option<String>,
    pub links: Vec<crate::links::Link>,
    pub session: Option<Session>,
    pub files: Vec<String>,
    pub event_count: usize,
}

pub fn task_show(p: &Project, code: &TaskCode) -> Result<TaskDetail> {
    let t = p.load_task(code)?;
    let dir = p.task_dir(code);
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|e| Error::io(&dir, e))?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    files.sort();
    let links = t
        .doc
        .fields
        .get("links")
        .map(|v| crate::links::parse_links(v).unwrap_or_default())
        .unwrap_or_default();
    Ok(TaskDetail {
        task: code.to_string(),
        path: p.task_rel(code),
        title: t.doc.title(),
        status: t.doc.str_field("status").unwrap_or_default(),
        description: t.doc.str_field("description").unwrap_or_default(),
        tags: t.doc.tags(),
        sprint: t.doc.str_field("sprint").filter(|s| !s.is_empty()),
        project_id: t.doc.str_field("project_id").filter(|s| !s.is_empty()),
        links,
        session: t.session,
        files,
        event_count: read_events(p, code)?.len(),
    })
}

// ---------------------------------------------------------------------------------------------
// events

pub fn read_events(p: &Project, code: &TaskCode) -> Result<Vec<Event>> {
    let path = p.task_dir(code).join("events.jsonl");
    match std::fs::read_to_string(&path) {
        Ok(text) => crate::event::parse_log(&text, &format!("{}/events.jsonl", p.task_rel(code))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(vec![]),
        Err(e) => Err(Error::io(&path, e)),
    }
}

fn events_with(p: &Project, code: &TaskCode, new: &[Event]) -> Result<FileWrite> {
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

pub fn events(p: &Project, code: &TaskCode, type_: Option<&str>) -> Result<Vec<Event>> {
    p.require_task(code)?;
    let all = read_events(p, code)?;
    Ok(match type_ {
        Some(t) => all
            .into_iter()
            .filter(|e| {
                e.type_ == t
                    || e.type_.ends_with(&format!(".{t}"))
                    || e.type_.starts_with(&format!("{t}."))
            })
            .collect(),
        None => all,
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct EventAdded {
    pub event: Event,
    pub commit: Option<String>,
}

pub fn event_add(
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
        preflight(p)?;
    }
    let _lock = p.lock()?;
    let session = p.load_session(code)?;
    let phase_name = session
        .as_ref()
        .filter(|s| s.active)
        .map(|s| s.current_phase.clone());
    match &phase_name {
        Some(ph) => crate::event::check_addable(type_, p.workflow.require(ph)?)?,
        None if type_.starts_with("custom.") && type_.len() > 7 => {}
        None => {
            return Err(Error::state(format!(
                "{code} has no active session, so only custom.* events can be added"
            ))
            .with_hint(format!(
                "start one with `orch session start {code}`, or use a type like custom.note"
            )))
        }
    }
    let (st, _) = stamp(p)?;
    let ev = Event::new(
        &crate::event::full_type(type_),
        &st.now,
        session.as_ref().map(|s| s.session_key.as_str()),
        code.as_str(),
        &st.actor,
        payload,
    );
    let rel = p.task_rel(code);
    let msg = commit.then(|| {
        commit_message(
            code,
            &format!("event {}", ev.type_),
            session.as_ref().map_or("none", |s| s.session_key.as_str()),
            phase_name.as_deref().unwrap_or("none"),
        )
    });
    let applied = apply(
        p,
        vec![events_with(p, code, std::slice::from_ref(&ev))?],
        &[&rel],
        msg.as_deref(),
    )?;
    Ok(EventAdded {
        event: ev,
        commit: applied.commit.map(|c| c.commit.to_string()),
    })
}

// ---------------------------------------------------------------------------------------------
// transitions

/// Writes a decision: session.json, events, scaffolds; commits; sets the current task.
fn commit_decision(
    p: &Project,
    code: &TaskCode,
    d: Decision,
    subject: &str,
    stamp: &Stamp,
    scaffold_phase: Option<&str>,
) -> Result<Transition> {
    let dir = p.task_dir(code);
    let mut writes = vec![FileWrite {
        path: dir.join("session.json"),
        bytes: d.session.to_json().into_bytes(),
    }];
    let events: Vec<Event> = d
        .events
        .iter()
        .map(|e| {
            Event::new(
                &e.type_,
                &stamp.now,
                Some(&d.session.session_key),
                code.as_str(),
                &stamp.actor,
                e.payload.clone(),
            )
        })
        .collect();
    writes.push(events_with(p, code, &events)?);
    let mut scaffolded = Vec::new();
    if let Some(ph) = scaffold_phase.and_then(|n| p.workflow.phase(n)) {
        let doc = p.load_doc(code).ok();
        let v = vars(p, code, doc.as_ref(), &ph.name)?;
        for a in &ph.def.artifacts.required {
            let (Some(t), path) = (&a.template, dir.join(&a.name)) else {
                continue;
            };
            if std::fs::symlink_metadata(&path).is_err() {
                writes.push(FileWrite {
                    path,
                    bytes: p.templates.render(t, &v)?.into_bytes(),
                });
                scaffolded.push(format!("{}/{}", p.task_rel(code), a.name));
            }
        }
    }
    if let Some(to) = &d.to {
        if p.workflow
            .phase(to)
            .is_some_and(|ph| ph.generates_changes_on_enter())
            && d.kind != rules::Kind::Start
            && p.config.git.commit
        {
            if let Some(w) = changes::derived_write(p, code, &d.session)? {
                writes.push(w);
            }
        }
    }
    if d.kind == rules::Kind::End && p.config.workflow.sync_files_on_close && p.config.git.commit {
        if let Some(w) = changes::derived_write(p, code, &d.session)? {
            writes.push(w);
        }
    }
    let rel = p.task_rel(code);
    let phase_trailer =
        d.to.clone()
            .unwrap_or_else(|| d.session.current_phase.clone());
    let msg = commit_message(code, subject, &d.session.session_key, &phase_trailer);
    let applied = apply(p, writes, &[&rel], Some(&msg))?;
    p.set_current_task(code)?;
    let next = if d.session.active {
        Some(next_step(p, code, Some(&d.session))?)
    } else {
        None
    };
    Ok(Transition {
        task: code.to_string(),
        kind: d.kind.as_str().into(),
        from: d.from,
        to: d.to,
        session_key: d.session.session_key.clone(),
        commit: applied.commit.map(|c| c.commit.to_string()),
        override_: d.override_,
        scaffolded,
        warnings: d.warnings,
        next,
    })
}

fn head(p: &Project) -> Result<Option<String>> {
    Ok(p.git.head_id()?.map(|i| i.to_string()))
}

fn check_session_key(k: &str) -> Result<()> {
    if k.is_empty()
        || k.len() > 128
        || !k
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
    {
        return Err(Error::usage(format!("invalid session key {k:?}"))
            .with_hint("use 1-128 characters of A-Z a-z 0-9 _ - . :"));
    }
    Ok(())
}

pub fn session_start(
    p: &Project,
    code: &TaskCode,
    key: Option<&str>,
    mode: StartMode,
) -> Result<Transition> {
    if let Some(k) = key {
        check_session_key(k)?;
    }
    p.require_task(code)?;
    preflight(p)?;
    let _lock = p.lock()?;
    let (st, now) = stamp(p)?;
    let existing = p.load_session(code)?;
    let key = match key {
        Some(k) => k.to_string(),
        // A second start within the same second must not reuse the key it replaces.
        None => {
            let base = Session::default_key(code.as_str(), &now);
            let taken = |k: &str| {
                existing.as_ref().is_some_and(|s| {
                    s.session_key == k || s.previous_sessions.iter().any(|p| p.session_key == k)
                })
            };
            (1..)
                .map(|n| {
                    if n == 1 {
                        base.clone()
                    } else {
                        format!("{base}_{n}")
                    }
                })
                .find(|k| !taken(k))
                .expect("a free session key")
        }
    };
    match rules::start(
        code.as_str(),
        existing.as_ref(),
        mode,
        &p.workflow,
        key,
        &st,
    )? {
        None => {
            let s = existing.expect("continue needs a session");
            p.set_current_task(code)?;
            Ok(Transition {
                task: code.to_string(),
                kind: "continue".into(),
                from: Some(s.current_phase.clone()),
                to: Some(s.current_phase.clone()),
                session_key: s.session_key.clone(),
                commit: None,
                override_: None,
                scaffolded: vec![],
                warnings: vec![],
                next: Some(next_step(p, code, Some(&s))?),
            })
        }
        Some(d) => {
            let phase = d.session.current_phase.clone();
            let scaffold = p
                .config
                .workflow
                .sync_files_on_phase_complete
                .then_some(phase.as_str());
            commit_decision(
                p,
                code,
                d,
                &format!("session start ({phase})"),
                &st,
                scaffold,
            )
        }
    }
}

/// Refuses when the task moved on since the caller looked (`--from`).
fn expect_phase(s: &Session, from: Option<&str>) -> Result<()> {
    match from {
        Some(f) if f != s.current_phase => Err(Error::conflict(format!(
            "{} is in phase {}, not {f}: someone else moved it",
            s.task, s.current_phase
        ))
        .with_hint(format!("see where it is with `orch status {}`", s.task))),
        _ => Ok(()),
    }
}

fn active_session(p: &Project, code: &TaskCode) -> Result<Session> {
    p.load_session(code)?.ok_or_else(|| {
        Error::state(format!("{code} has no session"))
            .with_hint(format!("start one with `orch session start {code}`"))
    })
}

pub fn phase_complete(
    p: &Project,
    code: &TaskCode,
    override_reason: Option<&str>,
    from: Option<&str>,
) -> Result<Transition> {
    move_phase(p, code, None, override_reason, from)
}

pub fn phase_set(
    p: &Project,
    code: &TaskCode,
    target: &str,
    override_reason: Option<&str>,
    from: Option<&str>,
) -> Result<Transition> {
    p.workflow.require(target)?;
    move_phase(p, code, Some(target), override_reason, from)
}

/// Forward by one (`target` None) or to `target`, as the rules allow.
fn move_phase(
    p: &Project,
    code: &TaskCode,
    target: Option<&str>,
    override_reason: Option<&str>,
    from: Option<&str>,
) -> Result<Transition> {
    p.require_task(code)?;
    preflight(p)?;
    let _lock = p.lock()?;
    let s = active_session(p, code)?;
    expect_phase(&s, from)?;
    let (st, _) = stamp(p)?;
    let checks = match p.workflow.phase(&s.current_phase) {
        Some(ph) => check(p, code, ph, Some(&s))?,
        None => vec![],
    };
    let (w, o, head) = (&p.workflow, &p.config.workflow, head(p)?);
    let d = match target {
        None => rules::complete(&s, w, o, checks, override_reason, &st, head.as_deref())?,
        Some(t) => rules::set_phase(&s, w, o, t, checks, override_reason, &st, head.as_deref())?,
    };
    let reopen = if d.kind == rules::Kind::Reopen {
        " (reopen)"
    } else {
        ""
    };
    let to = d.to.clone().unwrap_or_default();
    let subject = format!("{} -> {to}{reopen}", s.current_phase);
    let scaffold = o.sync_files_on_phase_complete.then_some(to.as_str());
    commit_decision(p, code, d, &subject, &st, scaffold)
}

pub fn session_end(
    p: &Project,
    code: &TaskCode,
    force: bool,
    reason: Option<&str>,
) -> Result<Transition> {
    p.require_task(code)?;
    preflight(p)?;
    let _lock = p.lock()?;
    let s = active_session(p, code)?;
    let (st, _) = stamp(p)?;
    let checks = match p.workflow.phase(&s.current_phase) {
        Some(ph) if ph.name == p.workflow.last().name => check(p, code, ph, Some(&s))?,
        _ => vec![],
    };
    let d = rules::end(
        &s,
        &p.workflow,
        &p.config.workflow,
        checks,
        force,
        reason,
        &st,
        head(p)?.as_deref(),
    )?;
    let subject = format!(
        "session end ({}{})",
        s.current_phase,
        if force { ", forced" } else { "" }
    );
    commit_decision(p, code, d, &subject, &st, None)
}

// ---------------------------------------------------------------------------------------------
// status

#[derive(Debug, Clone, Serialize)]
pub struct StatusOverview {
    pub current_task: Option<String>,
    pub tasks: Vec<TaskSummary>,
}

pub fn status_all(p: &Project) -> Result<StatusOverview> {
    Ok(StatusOverview {
        current_task: p.current_task()?.map(|c| c.to_string()),
        tasks: task_list(p, &ListFilter::default())?,
    })
}

pub fn status_one(p: &Project, code: &TaskCode) -> Result<NextStep> {
    p.require_task(code)?;
    let s = p.load_session(code)?;
    next_step(p, code, s.as_ref())
}
