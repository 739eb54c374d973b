//! `orch search` and `orch sprint`: ranked search over the recorded work, and the sprints the
//! tasks' `sprint:` fields group them into.

use crate::project::Project;
use crate::search::{self, Outcome, RefreshReport, Request};
use crate::task::TaskSummary;
use crate::{Error, Result};
use serde::Serialize;
use std::collections::BTreeMap;

pub fn search(p: &Project, req: &Request) -> Result<Outcome> {
    search::search(p, req)
}

pub fn reindex(p: &Project) -> Result<RefreshReport> {
    search::reindex(p)
}

/// One sprint: its tasks counted by phase, and how many are done (their session ended).
#[derive(Debug, Clone, Serialize)]
pub struct Sprint {
    pub sprint: String,
    pub tasks: usize,
    pub done: usize,
    /// Done tasks in percent, rounded down.
    pub progress: u32,
    /// Tasks by current phase; `not_started` for tasks without a session, `done` for ended ones
    /// (the words of `task list`'s `state`).
    pub by_phase: BTreeMap<String, usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SprintDetail {
    #[serde(flatten)]
    pub sprint: Sprint,
    pub task_list: Vec<TaskSummary>,
}

fn summarize(name: &str, tasks: &[&TaskSummary]) -> Sprint {
    let mut by_phase = BTreeMap::new();
    let mut done = 0;
    for t in tasks {
        // Its phase while active, else its state (`not_started`, `done`).
        let key = match (t.state, &t.phase) {
            ("active", Some(phase)) => phase.clone(),
            (state, _) => state.to_string(),
        };
        done += usize::from(t.state == "done");
        *by_phase.entry(key).or_insert(0) += 1;
    }
    Sprint {
        sprint: name.to_string(),
        tasks: tasks.len(),
        done,
        progress: (done * 100).checked_div(tasks.len()).unwrap_or(0) as u32,
        by_phase,
    }
}

fn all_tasks(p: &Project) -> Result<Vec<TaskSummary>> {
    super::task::list(p, &super::task::ListFilter::default())
}

/// Every sprint named by a task, in name order.
pub fn sprint_list(p: &Project) -> Result<Vec<Sprint>> {
    let tasks = all_tasks(p)?;
    let mut groups: BTreeMap<&str, Vec<&TaskSummary>> = BTreeMap::new();
    for t in &tasks {
        if let Some(s) = t.sprint.as_deref().filter(|s| !s.is_empty()) {
            groups.entry(s).or_default().push(t);
        }
    }
    Ok(groups
        .into_iter()
        .map(|(name, ts)| summarize(name, &ts))
        .collect())
}

pub fn sprint_show(p: &Project, name: &str) -> Result<SprintDetail> {
    let tasks = all_tasks(p)?;
    let mine: Vec<&TaskSummary> = tasks
        .iter()
        .filter(|t| t.sprint.as_deref() == Some(name))
        .collect();
    if mine.is_empty() {
        let known: Vec<String> = sprint_list(p)?.into_iter().map(|s| s.sprint).collect();
        return Err(
            Error::usage(format!("no task is in sprint {name:?}")).with_hint(if known.is_empty() {
                "no task names a sprint yet; set one with `orch task new --sprint S` or `sprint:` in TASK.md".to_string()
            } else {
                format!("the sprints are {}", known.join(", "))
            }),
        );
    }
    Ok(SprintDetail {
        sprint: summarize(name, &mine),
        task_list: mine.into_iter().cloned().collect(),
    })
}
