//! `orch status`: every task at a glance, or one task's instructions for its current phase.

use super::next::{next_step, NextStep};
use super::task::{list, ListFilter};
use crate::code::TaskCode;
use crate::diagnostic::Diagnostic;
use crate::project::Project;
use crate::task::TaskSummary;
use crate::Result;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct StatusOverview {
    pub current_task: Option<String>,
    pub tasks: Vec<TaskSummary>,
}

pub fn all(p: &Project) -> Result<StatusOverview> {
    Ok(StatusOverview {
        current_task: p.current_task()?.map(|c| c.to_string()),
        tasks: list(p, &ListFilter::default())?,
    })
}

/// One task's instructions; a chain `orch verify` rejects, or a hand edit it would, comes
/// first among the blockers and its undoing is the command.
pub fn one(p: &Project, code: &TaskCode) -> Result<NextStep> {
    p.require_task(code)?;
    let s = p.load_session(code)?;
    let mut n = next_step(p, code, &p.load_doc(code)?, s.as_ref())?;
    let broken = super::integrity::task(p, code)?;
    if let Some(cmd) = broken
        .first()
        .and_then(|d| super::next::first_command(&d.fix))
    {
        n.command = cmd;
    }
    if !broken.is_empty() {
        n.ready = false;
        n.blockers.splice(0..0, broken);
    }
    Ok(n)
}

/// What `status` warns of for one task beside its blockers: an execute range that HEAD's
/// history no longer has.
pub fn warnings(p: &Project, code: &TaskCode) -> Result<Vec<Diagnostic>> {
    let Some(s) = p.load_session(code)? else {
        return Ok(vec![]);
    };
    Ok(crate::changes::off_branch(p, code, &s)?
        .into_iter()
        .collect())
}
