//! What a phase wants, against the working tree: its checks (the same `validate` rules
//! `orch verify` applies to commits) and the instructions the agent is given.

use super::Loaded;
use crate::code::TaskCode;
use crate::diagnostic::Diagnostic;
use crate::project::Project;
use crate::session::Session;
use crate::task::TaskDoc;
use crate::templates::Vars;
use crate::validate::{self, DiskSource};
use crate::workflow::Phase;
use crate::{clock, Error, Result};
use serde::Serialize;
use std::path::Path;

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
    /// Whether the command that ends this phase (`complete_command`) would succeed now.
    pub ready: bool,
    /// What keeps the phase from completing, each with its fix; empty when ready.
    pub blockers: Vec<Diagnostic>,
    /// What to run next: `complete_command` when ready; otherwise the command that clears the
    /// first blocker that has one (`orch check tests`, `git commit …`), or empty when the
    /// next step is an edit the blockers describe.
    pub command: String,
    /// The command that ends this phase: `phase complete`, `session end`, or `session start`
    /// without an active session.
    pub complete_command: String,
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

/// Template variables of a task in `phase`; without a readable TASK.md its fields are empty.
pub(crate) fn vars(
    p: &Project,
    code: &TaskCode,
    doc: Option<&TaskDoc>,
    phase: &str,
) -> Result<Vars> {
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
        checks: super::check::committed_checks(p)
            .map(|c| {
                c.commands
                    .into_iter()
                    .map(|(n, c)| (n, c.display))
                    .collect()
            })
            .unwrap_or_default(),
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

/// The checks of `phase` for the task: its artifacts in the working tree, then the gates git
/// judges (code commits, uncommitted code, checks).
pub fn check(p: &Project, t: &Loaded, phase: &Phase) -> Result<Vec<Diagnostic>> {
    check_with(
        p,
        &t.code,
        t.doc.as_ref().ok(),
        t.session.as_ref(),
        phase,
        true,
    )
}

fn check_with(
    p: &Project,
    code: &TaskCode,
    doc: Option<&TaskDoc>,
    session: Option<&Session>,
    phase: &Phase,
    worktree: bool,
) -> Result<Vec<Diagnostic>> {
    let v = vars(p, code, doc, &phase.name)?;
    let mut out = on_disk(p, code, session, &v, |src, ctx| {
        validate::check_phase(src, phase, ctx)
    });
    out.extend(super::gates::diagnostics(
        p, code, session, phase, worktree,
    )?);
    if phase.def.validation.open_bugs.is_some() {
        let open: Vec<(String, String)> = super::bug::open_for_task(p, code)?
            .into_iter()
            .map(|b| (b.meta.id, b.meta.title))
            .collect();
        out.extend(validate::open_bugs(
            phase.def.validation.open_bugs,
            &phase.name,
            &open,
        ));
    }
    Ok(out)
}

/// Blockers whose fix is a command to run, not an edit: the fix's first `quoted` command.
const RUNNABLE: &[&str] = &[
    "check_not_run",
    "check_failed",
    "rework_verdict",
    "uncommitted_code",
    "no_code_commits",
    "rules_uncommitted",
];

/// The command that clears the first blocker that has one.
pub(crate) fn unblocking_command<'a>(
    blockers: impl IntoIterator<Item = &'a Diagnostic>,
) -> Option<String> {
    blockers
        .into_iter()
        .filter(|d| RUNNABLE.contains(&d.code.as_str()))
        .find_map(|d| first_command(&d.fix))
}

/// The first `quoted` command of a fix.
pub(crate) fn first_command(fix: &str) -> Option<String> {
    let (_, rest) = fix.split_once('`')?;
    Some(rest.split_once('`')?.0.to_string())
}

/// The current phase of the task (`session`, or the first phase before any session), what
/// it wants and the command that moves on.
pub fn next_step(
    p: &Project,
    code: &TaskCode,
    doc: &TaskDoc,
    session: Option<&Session>,
) -> Result<NextStep> {
    next_step_with(p, code, doc, session, true)
}

/// [`next_step`] for a phase that has just begun, as a transition prints it: the working
/// tree is not scanned for uncommitted code (every tracked file, as git status does), which
/// `orch next`, `orch status` and completing the phase still judge.
pub fn next_step_entered(
    p: &Project,
    code: &TaskCode,
    doc: &TaskDoc,
    session: Option<&Session>,
) -> Result<NextStep> {
    next_step_with(p, code, doc, session, false)
}

fn next_step_with(
    p: &Project,
    code: &TaskCode,
    doc: &TaskDoc,
    session: Option<&Session>,
    worktree: bool,
) -> Result<NextStep> {
    let phase = current_phase(p, code, session)?;
    let v = vars(p, code, Some(doc), &phase.name)?;
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
    let ended = session.filter(|s| !s.active);
    let instructions = match ended {
        Some(s) => done_text(code, s),
        None => instructions,
    };
    let complete_command = if ended.is_some() {
        format!("orch report {code}")
    } else if !active {
        format!("orch session start {code}")
    } else if p.workflow.last().name == phase.name {
        format!("orch session end {code}")
    } else {
        format!("orch phase complete {code}")
    };
    // Uncommitted rules refuse every transition, so committing them comes first.
    let mut blockers: Vec<Diagnostic> = match ended {
        None => super::guard::rules_blocker(p).into_iter().collect(),
        Some(_) => vec![],
    };
    if active && p.config.workflow.require_artifact_validation {
        blockers.extend(
            check_with(p, code, Some(doc), session, phase, worktree)?
                .into_iter()
                .filter(Diagnostic::is_error),
        );
    }
    let ready = active && blockers.is_empty();
    let command = match unblocking_command(&blockers) {
        Some(c) if !ready => c,
        _ if ready || !active => complete_command.clone(),
        _ => String::new(),
    };
    Ok(NextStep {
        task: code.to_string(),
        title: doc.title(),
        phase: phase.name.clone(),
        phase_title: phase.title(),
        goal: phase.def.goal.trim().to_string(),
        artifacts,
        instructions: instructions.trim_end().to_string(),
        ready,
        blockers,
        command,
        complete_command,
        next_phase: p.workflow.next_after(&phase.name).map(|n| n.name.clone()),
        session_key: session.map(|s| s.session_key.clone()),
        active,
    })
}

/// What `status` says of a done task instead of its last phase's instructions.
fn done_text(code: &TaskCode, s: &Session) -> String {
    format!(
        "{code} is done: session {} ended at {} ({}).\nFor the pull request: orch report {code}\nOpen tasks: orch next\nWorking on it again takes a new session, recorded as a reopen: orch session start {code} --reopen",
        s.session_key,
        s.ended_at.as_deref().unwrap_or("an unknown time"),
        end_how(s)
    )
}

/// How a session ended: `completed` in the last phase, or `forced in <phase>`.
pub fn end_how(s: &Session) -> String {
    match &s.end {
        Some(e) if e.forced => format!("forced in {}", s.current_phase),
        _ => format!("completed in {}", s.current_phase),
    }
}

fn current_phase<'w>(
    p: &'w Project,
    code: &TaskCode,
    session: Option<&Session>,
) -> Result<&'w Phase> {
    let phase_name = session
        .map(|s| s.current_phase.clone())
        .unwrap_or_else(|| p.workflow.first().name.clone());
    p.workflow
        .phase(&phase_name)
        .ok_or_else(|| crate::rules::unknown_phase(code.as_str(), &phase_name, &p.workflow))
}
