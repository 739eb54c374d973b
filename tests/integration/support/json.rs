//! The JSON documents orch prints, as strict structs: a field orch adds or drops breaks the
//! tests, so the agent-facing contract only changes on purpose.

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Diagnostic {
    pub severity: String,
    pub code: String,
    pub message: String,
    pub target: String,
    pub fix: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorDoc {
    pub ok: bool,
    pub error: ErrorBody,
    pub diagnostics: Vec<Diagnostic>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    pub kind: String,
    pub exit_code: i32,
    pub message: String,
    pub hint: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Artifact {
    pub name: String,
    pub path: String,
    pub required: bool,
    pub present: bool,
}

/// `orch status CODE --json`, and the `next` of a transition.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NextStep {
    pub task: String,
    pub title: String,
    pub phase: String,
    pub phase_title: String,
    pub goal: String,
    pub artifacts: Vec<Artifact>,
    pub instructions: String,
    pub ready: bool,
    pub blockers: Vec<Diagnostic>,
    pub command: String,
    pub complete_command: String,
    pub next_phase: Option<String>,
    pub session_key: Option<String>,
    pub active: bool,
}

/// `orch status CODE --json`: the agent's whole contract for the current phase.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusDoc {
    pub ok: bool,
    pub task: String,
    pub title: String,
    pub phase: String,
    pub phase_title: String,
    pub goal: String,
    pub artifacts: Vec<Artifact>,
    pub instructions: String,
    pub ready: bool,
    pub blockers: Vec<Diagnostic>,
    pub command: String,
    pub complete_command: String,
    pub next_phase: Option<String>,
    pub session_key: Option<String>,
    pub active: bool,
    pub diagnostics: Vec<Diagnostic>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Override {
    pub reason: String,
    pub author: String,
    pub at: String,
    pub checks: Vec<String>,
}

/// A transition: session start, phase complete/set, session end.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransitionDoc {
    pub ok: bool,
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
    pub next: Option<NextStep>,
    pub diagnostics: Vec<Diagnostic>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskSummary {
    pub task: String,
    pub title: String,
    pub status: String,
    pub phase: Option<String>,
    pub active: bool,
    pub state: String,
    pub sprint: Option<String>,
    pub tags: Vec<String>,
    pub error: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskListDoc {
    pub ok: bool,
    pub tasks: Vec<TaskSummary>,
    pub diagnostics: Vec<Diagnostic>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusAllDoc {
    pub ok: bool,
    pub current_task: Option<String>,
    pub tasks: Vec<TaskSummary>,
    pub diagnostics: Vec<Diagnostic>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Link {
    pub kind: String,
    pub target: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskShowDoc {
    pub ok: bool,
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
    pub diagnostics: Vec<Diagnostic>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Session {
    pub task: String,
    pub session_key: String,
    pub started_at: String,
    pub current_phase: String,
    pub active: bool,
    #[serde(default)]
    pub branch: Option<String>,
    pub phase_history: Vec<HistoryEntry>,
    pub ended_at: Option<String>,
    pub end: Option<EndRecord>,
    pub execute_range: Option<ExecuteRange>,
    pub previous_sessions: Vec<PreviousSession>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryEntry {
    pub phase: String,
    pub started_at: String,
    pub completed_at: String,
    #[serde(rename = "override")]
    pub override_: Option<Override>,
    pub to: Option<String>,
    pub transition: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndRecord {
    pub forced: bool,
    pub reason: Option<String>,
    pub author: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecuteRange {
    pub base: Option<String>,
    pub head: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreviousSession {
    pub session_key: String,
    pub started_at: String,
    pub ended_at: String,
    pub last_phase: String,
    pub phase_history: Vec<HistoryEntry>,
    pub execute_range: Option<ExecuteRange>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    pub id: String,
    pub ts: String,
    #[serde(rename = "type")]
    pub type_: String,
    pub session_key: Option<String>,
    pub entity_type: String,
    pub entity_id: String,
    pub actor: String,
    pub payload: Value,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsDoc {
    pub ok: bool,
    pub task: String,
    pub events: Vec<Event>,
    pub diagnostics: Vec<Diagnostic>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventAddedDoc {
    pub ok: bool,
    pub event: Event,
    pub commit: Option<String>,
    pub diagnostics: Vec<Diagnostic>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InitDoc {
    pub ok: bool,
    pub root: String,
    pub created: Vec<String>,
    pub commit: Option<String>,
    pub diagnostics: Vec<Diagnostic>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskCreatedDoc {
    pub ok: bool,
    pub task: String,
    pub path: String,
    pub commit: Option<String>,
    pub diagnostics: Vec<Diagnostic>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoDoc {
    pub ok: bool,
    pub dir: String,
    pub task: String,
    pub events: usize,
    pub diagnostics: Vec<Diagnostic>,
}

/// One recorded check run, as `orch check --json` and the check events carry it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckRun {
    pub check: String,
    pub command: String,
    pub exit_code: Option<i32>,
    pub passed: bool,
    pub timed_out: bool,
    pub duration_ms: u64,
    pub commit: Option<String>,
    pub clean: bool,
    pub tail: String,
    pub log: Option<String>,
}

/// `orch check --json` when every check passed.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckDoc {
    pub ok: bool,
    pub task: Option<String>,
    pub runs: Vec<CheckRun>,
    pub passed: bool,
    pub diagnostics: Vec<Diagnostic>,
}
