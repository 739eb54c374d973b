//! `orch phase complete` and `orch phase set`: moving a task's session between phases.

use super::check::Progress;
use super::next::check;
use super::session::with_session;
use super::transition::{record, Transition};
use crate::code::TaskCode;
use crate::project::Project;
use crate::rules;
use crate::session::Session;
use crate::{Error, Result};

/// `orch phase complete`: forward by one, once the current phase's checks pass (or are
/// overridden with a reason). `from` refuses if the task is no longer where the caller saw it.
/// `sink` shows the checks `[checks] run_on_complete` runs on the way.
pub fn complete(
    p: &Project,
    code: &TaskCode,
    override_reason: Option<&str>,
    from: Option<&str>,
    sink: &mut dyn FnMut(Progress),
) -> Result<Transition> {
    move_phase(p, code, None, override_reason, from, sink)
}

/// `orch phase set`: to any phase the rules allow (back always; forward past the next one
/// only with skipping allowed or an override).
pub fn set(
    p: &Project,
    code: &TaskCode,
    target: &str,
    override_reason: Option<&str>,
    from: Option<&str>,
    sink: &mut dyn FnMut(Progress),
) -> Result<Transition> {
    p.workflow.require(target)?;
    move_phase(p, code, Some(target), override_reason, from, sink)
}

/// Forward by one (`target` None) or to `target`, as the rules allow.
fn move_phase(
    p: &Project,
    code: &TaskCode,
    target: Option<&str>,
    override_reason: Option<&str>,
    from: Option<&str>,
    sink: &mut dyn FnMut(Progress),
) -> Result<Transition> {
    p.require_task(code)?;
    if let Some(f) = from {
        // A phase the workflow does not have is a mistake, not someone else's move.
        p.workflow.require(f)?;
    }
    super::preflight(p)?;
    let _lock = p.lock()?;
    let (t, s) = with_session(p, code)?;
    expect_phase(&s, from)?;
    let (st, _) = super::stamp(p)?;
    let leaving_forward =
        target.is_none_or(|to| p.workflow.index_of(to) > p.workflow.index_of(&s.current_phase));
    let checks = match p.workflow.phase(&s.current_phase) {
        Some(ph) => {
            // Going back needs no checks; going forward may run them first.
            if leaving_forward {
                super::check::run_due(p, code, ph, sink)?;
            }
            check(p, &t, ph)?
        }
        None => vec![],
    };
    let head = p.git.head_id()?.map(|i| i.to_string());
    let (w, o, head) = (&p.workflow, &p.config.workflow, head.as_deref());
    let d = match target {
        None => rules::complete(&s, w, o, checks, override_reason, &st, head)?,
        Some(to) => rules::set_phase(&s, w, o, to, checks, override_reason, &st, head)?,
    };
    let reopen = if d.kind == rules::Kind::Reopen {
        " (reopen)"
    } else {
        ""
    };
    let to = d.to.clone().unwrap_or_default();
    let subject = format!("{} -> {to}{reopen}", s.current_phase);
    let scaffold = o.sync_files_on_phase_complete.then_some(to.as_str());
    record(p, &t, d, &subject, &st, scaffold)
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
