//! `orch task new`, `task list` and `task show`.

use crate::code::TaskCode;
use crate::links::{parse_links, Link};
use crate::project::Project;
use crate::rules::Stamp;
use crate::session::Session;
use crate::store::FileWrite;
use crate::task::{TaskDoc, TaskSummary};
use crate::templates::Vars;
use crate::{Error, Result};
use serde::Serialize;

#[derive(Debug, Clone, Default)]
pub struct NewTask {
    pub code: Option<String>,
    pub title: String,
    pub description: Option<String>,
    pub tags: Vec<String>,
    pub sprint: Option<String>,
    /// Acceptance criteria, written as open `- [ ]` items of TASK.md's checklist.
    pub criteria: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TaskCreated {
    pub task: String,
    pub path: String,
    pub commit: Option<String>,
}

/// `orch task new`: TASK.md rendered from the first phase's template with the values given,
/// committed as the task's first commit.
pub fn new(p: &Project, req: &NewTask) -> Result<TaskCreated> {
    if req.title.trim().is_empty() {
        return Err(Error::usage("the task needs a title: pass --title \"...\""));
    }
    if req.title.chars().any(char::is_control) {
        return Err(Error::usage(
            "--title must be one line: it holds a newline or another control character",
        )
        .with_hint("put the details in --description; the title is the task's one-line name"));
    }
    if req.tags.iter().any(|t| t.trim().is_empty()) {
        return Err(Error::usage("--tag needs a non-empty value")
            .with_hint("pass --tag NAME once per tag, or leave --tag out"));
    }
    let has_control = |v: &String| v.chars().any(char::is_control);
    if let Some(t) = req.tags.iter().find(|t| has_control(t)) {
        return Err(Error::usage(format!(
            "--tag {t:?} holds a newline or another control character"
        ))
        .with_hint("a tag is one short word or phrase on one line"));
    }
    match req.sprint.as_ref() {
        Some(s) if s.trim().is_empty() => {
            return Err(Error::usage("--sprint needs a non-empty value")
                .with_hint("pass --sprint NAME, or leave --sprint out"))
        }
        Some(s) if has_control(s) => {
            return Err(Error::usage(format!(
                "--sprint {s:?} holds a newline or another control character"
            ))
            .with_hint("a sprint's name is one line, e.g. --sprint S1"))
        }
        _ => {}
    }
    if req.criteria.iter().any(|c| c.trim().is_empty()) {
        return Err(
            Error::usage("--criterion needs a non-empty value").with_hint(
                "pass --criterion \"a statement a reviewer can check\" once per criterion",
            ),
        );
    }
    super::preflight(p)?;
    let _lock = p.lock()?;
    // TASK.md is written from the template: only a committed one is in force.
    super::guard::require_committed_rules(p)?;
    let (st, _) = super::stamp(p)?;
    let code = pick_code(p, req, &st)?;
    let text = task_text(p, &code, req, &st)?;
    let dir = p.task_dir(&code);
    let rel = p.task_rel(&code);
    let first = &p.workflow.first().name;
    let msg = super::commit_message(&code, "new task", "none", first);
    let write = FileWrite {
        path: dir.join("TASK.md"),
        bytes: text.into_bytes(),
    };
    // The journal records the folder as new, so a failure or crash removes it again.
    let applied = super::apply(p, vec![write], &[&rel], Some(&msg))?;
    Ok(TaskCreated {
        task: code.to_string(),
        path: format!("{rel}/TASK.md"),
        commit: applied.commit_id(),
    })
}

/// A task folder holding anything; an empty one (as an older orch could leave) is free.
fn taken(dir: &std::path::Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut rd| rd.next().is_some())
}

/// The code asked for, refused when taken; else a generated one no task folder has.
fn pick_code(p: &Project, req: &NewTask, st: &Stamp) -> Result<TaskCode> {
    if let Some(c) = &req.code {
        let c = TaskCode::parse(c)?;
        if taken(&p.task_dir(&c)) && !p.task_exists(&c) {
            return Err(crate::project::no_task_md(&p.task_rel(&c)));
        }
        if taken(&p.task_dir(&c)) {
            return Err(
                Error::state(format!("task {c} already exists ({})", p.task_rel(&c))).with_hint(
                    format!("see it with `orch task show {c}`, or pick another code"),
                ),
            );
        }
        if let Some(other) = p
            .task_codes()?
            .into_iter()
            .find(|o| c.same_ignoring_case(o.as_str()))
        {
            return Err(Error::state(format!(
                "task {other} already exists, and {c} differs from it only in letter case ({})",
                p.task_rel(&other)
            ))
            .with_hint(format!(
                "on macOS and Windows both are one folder: use `{other}` or pick another code"
            )));
        }
        return Ok(c);
    }
    Ok((0u64..)
        .map(|salt| {
            TaskCode::generate(
                &req.title,
                &st.now,
                &st.actor,
                salt ^ std::process::id() as u64,
            )
        })
        .find(|c| !p.task_dir(c).exists())
        .expect("a free code"))
}

/// TASK.md of the new task: the first phase's TASK.md template, rendered.
fn task_text(p: &Project, code: &TaskCode, req: &NewTask, st: &Stamp) -> Result<String> {
    let v = Vars {
        code: code.to_string(),
        title: req.title.trim().to_string(),
        phase: p.workflow.first().name.clone(),
        next_phase: String::new(),
        date: st.now[..10].to_string(),
        description: req.description.clone().unwrap_or_default(),
        tags: req.tags.clone(),
        sprint: req.sprint.clone().unwrap_or_default(),
        task_dir: p.task_rel(code),
        checks: Default::default(),
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
    let text = settle_fields(text, &template, &v.title, req.description.as_deref())?;
    Ok(crate::gates::sections::append_to_section(
        &text,
        crate::gates::criteria::SECTION,
        &crate::gates::criteria::open_lines(&req.criteria),
    ))
}

/// The rendered task must read back with the values given, whatever the template does; the
/// template's own formatting is kept unless a value had to be put right.
fn settle_fields(
    text: String,
    template: &str,
    title: &str,
    description: Option<&str>,
) -> Result<String> {
    let mut doc = TaskDoc::parse(&text, &format!("template {template}"))?;
    let rendered = doc.fields.clone();
    doc.set_field("title", title.into());
    if let Some(d) = description {
        doc.set_field("description", d.into());
    }
    if !doc.has_value("status") {
        doc.set_field("status", "open".into());
    }
    Ok(if rendered == doc.fields {
        text
    } else {
        doc.to_text()
    })
}

#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub phase: Option<String>,
    pub sprint: Option<String>,
    pub active: bool,
}

/// `orch task list`: every task's summary (cached, see `listing`), filtered.
pub fn list(p: &Project, f: &ListFilter) -> Result<Vec<TaskSummary>> {
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
    pub links: Vec<Link>,
    pub session: Option<Session>,
    pub files: Vec<String>,
    pub event_count: usize,
}

/// `orch task show`: the task's fields, session, files and number of events.
pub fn show(p: &Project, code: &TaskCode) -> Result<TaskDetail> {
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
        .map(|v| parse_links(v).unwrap_or_default())
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
        event_count: super::event::read(p, code)?.len(),
    })
}
