//! Writing a decision of the rules: session.json, the events it implies, scaffolds, the
//! regenerated CHANGES.md and (when a session closes) POSTOP.md, in one task commit. Session and phase operations end here.

use super::next::{next_step_entered, vars, NextStep};
use super::Loaded;
use crate::diagnostic::Diagnostic;
use crate::event::Event;
use crate::project::Project;
use crate::rules::{self, Decision, Stamp};
use crate::session::Override;
use crate::store::FileWrite;
use crate::Result;
use serde::Serialize;

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

/// Writes decision `d` on task `t` and commits it with `subject`; makes the task the
/// current one. `scaffold_phase` names the phase whose missing required artifacts are
/// written from their templates.
pub fn record(
    p: &Project,
    t: &Loaded,
    mut d: Decision,
    subject: &str,
    stamp: &Stamp,
    scaffold_phase: Option<&str>,
) -> Result<Transition> {
    let code = &t.code;
    // The task file the next step is shown from is read before anything is written: after
    // the commit only reporting is left, so a transition that landed is never reported as
    // refused.
    let doc = match d.session.active {
        true => Some(t.doc()?),
        false => None,
    };
    let mut writes = vec![FileWrite {
        path: p.task_dir(code).join("session.json"),
        bytes: d.session.to_json().into_bytes(),
    }];
    let new_events = events(t, &d, stamp);
    writes.push(super::event::appended(p, code, &new_events)?);
    // A session that closes leaves its compacted record, in the very commit that closes it.
    let postop = super::memory::postop_write(p, t, &d, &new_events)?;
    let compacted = postop.is_some();
    writes.extend(postop);
    let (scaffolds, scaffolded) = scaffolds(p, t, scaffold_phase)?;
    writes.extend(scaffolds);
    if regenerates_changes(p, &d) {
        if let Some(w) = super::changes::derived_write(p, code, &d.session)? {
            writes.push(w);
        }
    }
    let phase_trailer =
        d.to.clone()
            .unwrap_or_else(|| d.session.current_phase.clone());
    let msg = super::commit_message(code, subject, &d.session.session_key, &phase_trailer);
    let applied = super::apply(p, writes, &[&p.task_rel(code)], Some(&msg))?;
    let mut warnings = std::mem::take(&mut d.warnings);
    let next = after_commit(p, t, &d, doc, compacted, &mut warnings);
    Ok(Transition {
        task: code.to_string(),
        kind: d.kind.as_str().into(),
        from: d.from,
        to: d.to,
        session_key: d.session.session_key.clone(),
        commit: applied.commit_id(),
        override_: d.override_,
        scaffolded,
        warnings,
        next,
    })
}

/// What follows a committed transition: the scratch notes a closing session leaves, the
/// current-task pointer, the next step. Each only reports: what goes wrong is a warning, the
/// transition stands.
fn after_commit(
    p: &Project,
    t: &Loaded,
    d: &Decision,
    doc: Option<&crate::task::TaskDoc>,
    compacted: bool,
    warnings: &mut Vec<Diagnostic>,
) -> Option<NextStep> {
    let code = &t.code;
    let mut after = |what: &str, r: Result<()>, fix: &str| {
        if let Err(e) = r {
            warnings.push(Diagnostic::warning(
                "after_commit",
                code.as_str(),
                format!("the transition is committed, but orch could not {what}: {e}"),
                fix.to_string(),
            ));
        }
    };
    if compacted {
        let r = super::memory::clear_scratch(p, code);
        after(
            "clear the session's scratch notes",
            r,
            "remove them by hand",
        );
    }
    // A done task is no longer current: `orch next` then lists what is open.
    if d.session.active {
        let fix = format!("make it current with `orch session start {code} --continue`");
        after("make it the current task", p.set_current_task(code), &fix);
    } else {
        let r = p.clear_current_task(code);
        after(
            "clear the current task",
            r,
            "`orch next` lists what is open",
        );
    }
    match next_step_entered(p, code, doc?, Some(&d.session)) {
        Ok(n) => Some(n),
        Err(e) => {
            after("show the next step", Err(e), "see it with `orch next`");
            None
        }
    }
}

/// The decision's event drafts, stamped and keyed to its session.
fn events(t: &Loaded, d: &Decision, stamp: &Stamp) -> Vec<Event> {
    d.events
        .iter()
        .map(|e| {
            Event::new(
                &e.type_,
                &stamp.now,
                Some(&d.session.session_key),
                t.code.as_str(),
                &stamp.actor,
                e.payload.clone(),
            )
        })
        .collect()
}

/// The required artifacts of `phase` that do not exist yet, rendered from their templates,
/// and their repository paths.
fn scaffolds(
    p: &Project,
    t: &Loaded,
    phase: Option<&str>,
) -> Result<(Vec<FileWrite>, Vec<String>)> {
    let (mut writes, mut names) = (Vec::new(), Vec::new());
    let Some(ph) = phase.and_then(|n| p.workflow.phase(n)) else {
        return Ok((writes, names));
    };
    let dir = p.task_dir(&t.code);
    let v = vars(p, &t.code, t.doc.as_ref().ok(), &ph.name)?;
    for a in &ph.def.artifacts.required {
        let (Some(tpl), path) = (&a.template, dir.join(&a.name)) else {
            continue;
        };
        if std::fs::symlink_metadata(&path).is_err() {
            writes.push(FileWrite {
                path,
                bytes: p.templates.render(tpl, &v)?.into_bytes(),
            });
            names.push(format!("{}/{}", p.task_rel(&t.code), a.name));
        }
    }
    Ok((writes, names))
}

/// CHANGES.md travels with a transition into a phase that generates it (not with a session
/// start, which records no range yet) and with the session's end when `sync_files_on_close`.
/// Without commits there is no diff to build it from.
fn regenerates_changes(p: &Project, d: &Decision) -> bool {
    if !p.config.git.commit {
        return false;
    }
    let entering = d.to.as_ref().is_some_and(|to| {
        p.workflow
            .phase(to)
            .is_some_and(|ph| ph.generates_changes_on_enter())
            && d.kind != rules::Kind::Start
    });
    let closing = d.kind == rules::Kind::End && p.config.workflow.sync_files_on_close;
    entering || closing
}
