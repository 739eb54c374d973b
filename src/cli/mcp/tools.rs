//! The MCP tools: one table, each entry a typed argument struct (its doc comments are the
//! input schema) and a thin call into the operation the CLI runs. A new tool is one struct,
//! one function and one `tool!` line in [`tools`].

use crate::cli::cmd_guide;
use crate::cli::render::Out;
use orch::code::TaskCode;
use orch::diagnostic::Diagnostic;
use orch::ops;
use orch::project::Project;
use orch::rules::StartMode;
use orch::{Error, Result};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What a tool returns: the `--json` document's fields, and a short text for the model.
pub struct Output {
    pub data: Value,
    pub text: String,
    pub warnings: Vec<Diagnostic>,
}

pub struct ToolDef {
    pub name: &'static str,
    pub description: &'static str,
    pub schema: fn() -> Value,
    pub call: fn(&Project, Value) -> Result<Output>,
}

/// One table entry: the arguments are read into `$args` (a tool error when they do not fit)
/// before `$f` runs.
macro_rules! tool {
    ($name:literal, $args:ty, $f:path, $desc:literal) => {
        ToolDef {
            name: $name,
            description: $desc,
            schema: schema::<$args>,
            call: |p, v| $f(p, parse::<$args>(v)?),
        }
    };
}

pub fn tools() -> Vec<ToolDef> {
    vec![
        tool!("next", TaskArg, next, "The one next action for the current (or given) task: step, ready, blockers with fixes, the command. Call it again and again."),
        tool!("status", TaskArg, status, "The phase's full instructions: goal, artifacts, next_step text, blockers; all tasks when none is current."),
        tool!("task_new", TaskNew, task_new, "Create a task (TASK.md) and commit it."),
        tool!("session_start", SessionStart, session_start, "Start (or resume) the task's session; it becomes the current task."),
        tool!("phase_complete", PhaseComplete, phase_complete, "Validate the current phase and move to the next one (a commit). Refusals list diagnostics with fixes."),
        tool!("phase_set", PhaseSet, phase_set, "Move to another phase: back any time (rework), forward as the rules allow."),
        tool!("session_end", SessionEnd, session_end, "End the session in the last phase (or earlier with force); the task is done."),
        tool!("event_add", EventAdd, event_add, "Record an event: a type the phase declares (see next.events) or custom.*."),
        tool!("check_run", CheckRun, check_run, "Run the configured [checks] and record each run for the task."),
        tool!("report", TaskArg, report, "The task's record for a pull request: phases, commits, criteria, checks, verify."),
        tool!("bug_report", BugReport, bug_report, "File an error met while working; known bugs get an occurrence."),
        tool!("search", Search, search, "Ranked full-text search over tasks, artifacts, events and bugs."),
        tool!("memory_add", MemoryAdd, memory_add, "Write a note: scratch until the session ends (then POSTOP.md), or pinned (committed)."),
    ]
}

/// The input schema of `T`: JSON Schema 2020-12 without the `$schema` and `title` lines,
/// which only cost the client's context.
fn schema<T: JsonSchema>() -> Value {
    let gen = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    let mut v = serde_json::to_value(gen.into_root_schema_for::<T>()).unwrap_or_default();
    if let Some(m) = v.as_object_mut() {
        m.remove("$schema");
        m.remove("title");
        m.remove("description");
    }
    v
}

fn parse<T: DeserializeOwned>(v: Value) -> Result<T> {
    serde_json::from_value(v).map_err(|e| {
        Error::usage(format!("invalid arguments: {e}"))
            .with_hint("see the tool's inputSchema (tools/list)")
    })
}

fn json<T: Serialize>(t: &T) -> Value {
    serde_json::to_value(t).unwrap_or_default()
}

fn ok(data: Value, text: String) -> Result<Output> {
    Ok(Output {
        data,
        text,
        warnings: vec![],
    })
}

fn plain() -> Out {
    Out::new(false, false, true)
}

// ---------------------------------------------------------------------------------------------
// Arguments

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskArg {
    /// Task code (default: the current task)
    task: Option<String>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskNew {
    /// One-line title
    title: String,
    /// Task code (default: generated)
    code: Option<String>,
    /// What the task should achieve
    description: Option<String>,
    /// Acceptance criteria, each a `- [ ]` item
    #[serde(default)]
    criteria: Vec<String>,
    #[serde(default)]
    tags: Vec<String>,
    sprint: Option<String>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Continue,
    Restart,
    New,
    Reopen,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionStart {
    task: Option<String>,
    /// With an active session: continue it, restart from intake, or a new one in its phase;
    /// reopen a done task
    mode: Option<Mode>,
    /// First switch to this branch (created at HEAD unless it exists); "" for [git]
    /// branch_template
    branch: Option<String>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PhaseComplete {
    task: Option<String>,
    /// Refuse unless the task is in this phase
    from: Option<String>,
    /// Pass failing checks; recorded
    override_reason: Option<String>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PhaseSet {
    /// Target phase
    phase: String,
    task: Option<String>,
    /// Refuse unless the task is in this phase
    from: Option<String>,
    /// Pass failing checks or a skip; recorded
    override_reason: Option<String>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionEnd {
    task: Option<String>,
    /// End outside the last phase
    #[serde(default)]
    force: bool,
    /// Why: passes failing checks of the last phase; recorded
    override_reason: Option<String>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EventAdd {
    /// Event type, e.g. research.finding or custom.note
    #[serde(rename = "type")]
    type_: String,
    task: Option<String>,
    /// Payload
    data: Option<Value>,
    /// Commit now instead of with the next transition
    #[serde(default)]
    commit: bool,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckRun {
    /// Checks to run (default: all)
    #[serde(default)]
    names: Vec<String>,
    task: Option<String>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BugReport {
    title: String,
    /// The error text: trace, panic, test output
    error: String,
    task: Option<String>,
    file: Option<String>,
    line: Option<u32>,
    /// low, medium, high or critical
    severity: Option<String>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Search {
    /// Words, "a phrase", prefix*, -word, a OR b, type: task: phase: kind: sprint:
    query: String,
    /// session, task, sprint or project
    scope: Option<String>,
    task: Option<String>,
    sprint: Option<String>,
    /// An event type, or a run of its dot-separated parts (`decision`)
    #[serde(rename = "type")]
    type_: Option<String>,
    /// Any of event, artifact, bug, task
    #[serde(default)]
    kinds: Vec<String>,
    /// A date (2025-01-31) or time (2025-01-31T12:00:00Z)
    since: Option<String>,
    /// Default 10
    #[schemars(range(min = 1))]
    limit: Option<usize>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MemoryAdd {
    /// At most 500 characters
    text: String,
    task: Option<String>,
    /// Commit it to the task's memory.jsonl
    #[serde(default)]
    pin: bool,
    /// decision, dead-end and followup land in POSTOP.md's lists of those
    #[serde(default)]
    tags: Vec<String>,
    /// task (default) or project (always pinned, in every prime)
    scope: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Calls

fn next(p: &Project, a: TaskArg) -> Result<Output> {
    let n = ops::guide::next(p, a.task.as_deref())?;
    ok(json(&n), cmd_guide::next_text(&n))
}

fn status(p: &Project, a: TaskArg) -> Result<Output> {
    let code = match a.task.as_deref() {
        Some(c) => Some(TaskCode::parse(c)?),
        None => p.current_task()?.filter(|c| p.task_exists(c)),
    };
    match code {
        Some(c) => {
            let n = ops::status::one(p, &c)?;
            ok(json(&n), plain().next_step(&n))
        }
        None => {
            let s = ops::status::all(p)?;
            let text = format!(
                "{} tasks, none current; call next to pick one up",
                s.tasks.len()
            );
            ok(json(&s), text)
        }
    }
}

fn task_new(p: &Project, a: TaskNew) -> Result<Output> {
    let t = ops::task::new(
        p,
        &ops::task::NewTask {
            code: a.code,
            title: a.title,
            description: a.description,
            tags: a.tags,
            sprint: a.sprint,
            criteria: a.criteria,
        },
    )?;
    let text = format!(
        "created {} ({}); start it with session_start",
        t.task, t.path
    );
    ok(json(&t), text)
}

fn transition(t: ops::transition::Transition) -> Result<Output> {
    let text = match (t.kind.as_str(), &t.next) {
        ("end", _) => format!("session {} ended; {} is done", t.session_key, t.task),
        (kind, Some(n)) => format!(
            "{kind}: {} → {}; now in {}: {}. Call next.",
            t.from.as_deref().unwrap_or("-"),
            t.to.as_deref().unwrap_or("-"),
            n.phase,
            n.goal
        ),
        (kind, None) => format!("{kind}: {}", t.task),
    };
    Ok(Output {
        data: json(&t),
        text,
        warnings: t.warnings.clone(),
    })
}

fn session_start(p: &Project, a: SessionStart) -> Result<Output> {
    let code = p.resolve_code(a.task.as_deref())?;
    let mode = match a.mode {
        None => StartMode::Fresh,
        Some(Mode::Continue) => StartMode::Continue,
        Some(Mode::Restart) => StartMode::Restart,
        Some(Mode::New) => StartMode::New,
        Some(Mode::Reopen) => StartMode::Reopen,
    };
    let Some(branch) = a.branch else {
        return transition(ops::session::start(p, &code, None, mode)?);
    };
    let name = ops::session::branch_for(p, &code, Some(branch.as_str()).filter(|b| !b.is_empty()))?;
    let b = ops::session::start_on_branch(p, &code, None, mode, &name)?;
    let mut o = transition(b.transition.clone())?;
    o.data = json(&b);
    o.text = format!("on branch {}; {}", b.branch.name, o.text);
    Ok(o)
}

fn reason(r: Option<String>) -> Result<Option<String>> {
    match r {
        Some(r) if r.trim().is_empty() => Err(Error::usage("override_reason is empty")
            .with_hint("say why the checks can be passed, or leave override_reason out")),
        r => Ok(r),
    }
}

fn phase_complete(p: &Project, a: PhaseComplete) -> Result<Output> {
    let code = p.resolve_code(a.task.as_deref())?;
    let r = reason(a.override_reason)?;
    transition(ops::phase::complete(
        p,
        &code,
        r.as_deref(),
        a.from.as_deref(),
        &mut |_| {},
    )?)
}

fn phase_set(p: &Project, a: PhaseSet) -> Result<Output> {
    let code = p.resolve_code(a.task.as_deref())?;
    let r = reason(a.override_reason)?;
    transition(ops::phase::set(
        p,
        &code,
        &a.phase,
        r.as_deref(),
        a.from.as_deref(),
        &mut |_| {},
    )?)
}

fn session_end(p: &Project, a: SessionEnd) -> Result<Output> {
    let code = p.resolve_code(a.task.as_deref())?;
    let r = reason(a.override_reason)?;
    transition(ops::session::end(p, &code, a.force, r.as_deref())?)
}

fn event_add(p: &Project, a: EventAdd) -> Result<Output> {
    let code = p.resolve_code(a.task.as_deref())?;
    let data = a.data.map(|d| d.to_string());
    let r = ops::event::add(p, &code, &a.type_, data.as_deref(), a.commit)?;
    let text = format!("{} added to {code}", r.event.type_);
    ok(json(&r), text)
}

fn check_run(p: &Project, a: CheckRun) -> Result<Output> {
    let code = match a.task.as_deref() {
        Some(c) => Some(TaskCode::parse(c)?),
        None => p.current_task()?.filter(|c| p.task_exists(c)),
    };
    let r = ops::check::check(p, &a.names, code.as_ref(), None, &mut |_| {})?;
    if let Some(e) = ops::check::failure(p, &r)? {
        return Err(e);
    }
    let names: Vec<&str> = r.runs.iter().map(|r| r.check.as_str()).collect();
    let text = format!("passed: {}", names.join(", "));
    ok(json(&r), text)
}

fn report(p: &Project, a: TaskArg) -> Result<Output> {
    let code = p.resolve_code(a.task.as_deref())?;
    p.require_task(&code)?;
    let r = ops::report::report(p, &code)?;
    ok(json(&r), ops::report::markdown(&r))
}

fn bug_report(p: &Project, a: BugReport) -> Result<Output> {
    let code = p.resolve_code(a.task.as_deref())?;
    let r = ops::bug::report(
        p,
        &ops::bug::ReportRequest {
            code: &code,
            title: &a.title,
            error: a.error.as_bytes(),
            source: "error",
            file: a.file.as_deref(),
            line: a.line,
            severity: a.severity.as_deref(),
        },
    )?;
    let text = format!("{} {}: {}", r.bug.meta.id, r.outcome, r.bug.meta.title);
    ok(json(&r), text)
}

fn search(p: &Project, a: Search) -> Result<Output> {
    let req = orch::search::Request {
        query: a.query,
        scope: a
            .scope
            .as_deref()
            .map(orch::search::ScopeKind::parse)
            .transpose()?,
        task: a.task,
        sprint: a.sprint,
        type_: a.type_,
        kinds: a.kinds,
        since: a.since,
        limit: a.limit.unwrap_or(10),
        reindex: false,
    };
    let o = ops::search::search(p, &req)?;
    let text = format!("{} of {} matches", o.hits.len(), o.total);
    ok(json(&o), text)
}

fn memory_add(p: &Project, a: MemoryAdd) -> Result<Output> {
    let c = ops::memory::add(
        p,
        &ops::memory::AddRequest {
            code: a.task.as_deref(),
            text: &a.text,
            pin: a.pin,
            tags: &a.tags,
            scope: a.scope.as_deref(),
        },
    )?;
    let text = format!("{} {} ({})", c.note.id, c.action, c.stored_in);
    ok(json(&c), text)
}
