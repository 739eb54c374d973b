//! `orch status`: every task at a glance, or one task's instructions for its current phase.

use super::next::{next_step, NextStep};
use super::task::{list, ListFilter};
use crate::code::TaskCode;
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

pub fn one(p: &Project, code: &TaskCode) -> Result<NextStep> {
    p.require_task(code)?;
    let s = p.load_session(code)?;
    next_step(p, code, &p.load_doc(code)?, s.as_ref())
}
