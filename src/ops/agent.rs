//! Agent-side hooks: judging a coding agent's tool call before it runs (no code writes before
//! `[hooks] code_allowed_from`, the rule the pre-commit hook applies to commits), recording
//! each refusal, and installing the hooks into the agent's project configuration.

use crate::agent::{self, config, shell, Agent, Call, Place};
use crate::code::TaskCode;
use crate::event::Event;
use crate::project::Project;
use crate::{Error, Result};
use serde::Serialize;
use std::path::{Path, PathBuf};

pub const DENIED: &str = "orchestration.agent.denied";
pub const UNJUDGED: &str = "orchestration.agent.unjudged";

/// The answer to one tool call.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub allowed: bool,
    pub tool: String,
    /// The path that decided a refusal (as the agent wrote it).
    pub path: Option<String>,
    /// Why it was refused: the task, its phase, the command that moves it on.
    pub reason: Option<String>,
    /// Why an allowed call could not be judged.
    pub note: Option<String>,
    pub task: Option<String>,
    pub phase: Option<String>,
    /// Whether the refusal (or note) made it into the task's events.
    pub recorded: bool,
}

impl Verdict {
    pub fn allow(tool: &str) -> Verdict {
        Verdict {
            allowed: true,
            tool: tool.into(),
            path: None,
            reason: None,
            note: None,
            task: None,
            phase: None,
            recorded: false,
        }
    }
}

/// The current task while it is in a phase before code is allowed: its code, session key,
/// phase, and the phase code starts in.
pub fn code_locked(p: &Project) -> Result<Option<(TaskCode, String, String, String)>> {
    let Some(code) = p.current_task()? else {
        return Ok(None);
    };
    let Some(s) = p.load_session(&code)?.filter(|s| s.active) else {
        return Ok(None);
    };
    let from = &p.config.hooks.code_allowed_from;
    match (
        p.workflow.index_of(&s.current_phase),
        p.workflow.index_of(from),
    ) {
        (Some(cur), Some(gate)) if cur < gate => {
            Ok(Some((code, s.session_key, s.current_phase, from.clone())))
        }
        _ => Ok(None),
    }
}

/// Judges `call` (made in `cwd`): refused when it writes outside `.orchestration/` while the
/// current task is before the code phase. Refusals and unjudged calls are recorded as events.
pub fn pre_tool(p: &Project, agent: Agent, call: &Call, cwd: &Path) -> Result<Verdict> {
    let mut v = Verdict::allow(call.tool());
    let (paths, unjudged) = match call {
        Call::Other { .. } => return Ok(v),
        Call::Writes { paths, .. } => (paths.clone(), None),
        Call::Shell { command, .. } => {
            let w = shell::writes(command);
            (w.targets, w.unjudged)
        }
        Call::Unknown { why, .. } => (vec![], Some(why.clone())),
    };
    if paths.is_empty() && unjudged.is_none() {
        return Ok(v);
    }
    let Some((code, key, phase, from)) = code_locked(p)? else {
        return Ok(v);
    };
    v.task = Some(code.to_string());
    v.phase = Some(phase.clone());
    let cwd = std::fs::canonicalize(cwd).unwrap_or_else(|_| cwd.to_path_buf());
    let code_path = paths
        .iter()
        .find(|x| matches!(agent::place(x, &cwd, &p.root), Place::Code(_)));
    let command = match call {
        Call::Shell { command, .. } => Some(crate::ops::guide::short(command, 200)),
        _ => None,
    };
    let mut payload =
        serde_json::json!({ "agent": agent.as_str(), "tool": v.tool, "phase": phase });
    if let Some(c) = &command {
        payload["command"] = c.clone().into();
    }
    let type_ = match code_path {
        Some(path) => {
            v.allowed = false;
            v.path = Some(path.clone());
            v.reason = Some(reason(&code, &phase, &from, path));
            payload["path"] = path.clone().into();
            DENIED
        }
        None => match unjudged {
            Some(why) => {
                v.note = Some(format!("orch could not judge this call ({why}); allowed"));
                payload["why"] = why.into();
                UNJUDGED
            }
            None => return Ok(v),
        },
    };
    // The answer stands whether or not it can be recorded (a held lock, uncommitted rules).
    v.recorded = record(p, &code, &key, type_, payload).is_ok();
    Ok(v)
}

fn reason(code: &TaskCode, phase: &str, from: &str, path: &str) -> String {
    format!(
        "orch: {code} is in {phase}; code changes start in {from}, so writing {path} is refused. \
         Finish {phase} first: `orch next {code}` lists what it still needs, then run \
         `orch phase complete {code}`. Files under .orchestration/ (the task's artifacts) can be \
         written now."
    )
}

/// Appends one event to the task's log; it travels with the task's next commit.
fn record(
    p: &Project,
    code: &TaskCode,
    key: &str,
    type_: &str,
    payload: serde_json::Value,
) -> Result<()> {
    let _lock = p.lock()?;
    let (st, _) = super::stamp(p)?;
    let ev = Event::new(type_, &st.now, Some(key), code.as_str(), &st.actor, payload);
    let write = super::event::appended(p, code, std::slice::from_ref(&ev))?;
    super::apply(p, vec![write], &[], None).map(|_| ())
}

/// What installing or removing one agent's hooks did.
#[derive(Debug, Clone, Serialize)]
pub struct HooksChange {
    pub agent: String,
    pub path: String,
    /// installed, unchanged, removed, absent
    pub action: String,
}

/// Merges orch's hooks into the agent's project file under `root` (the worktree).
pub fn install(root: &Path, agent: Agent) -> Result<HooksChange> {
    let path = root.join(config::file(agent));
    let text = read(&path)?;
    let (new, changed) = config::install(agent, text.as_deref())?;
    if changed {
        write(&path, &new)?;
    }
    Ok(change(
        agent,
        &path,
        if changed { "installed" } else { "unchanged" },
    ))
}

/// Takes orch's hooks out of the agent's project file; a file left empty is removed.
pub fn uninstall(root: &Path, agent: Agent) -> Result<HooksChange> {
    let path = root.join(config::file(agent));
    let Some(text) = read(&path)? else {
        return Ok(change(agent, &path, "absent"));
    };
    let (new, changed) = config::uninstall(agent, &text)?;
    if !changed {
        return Ok(change(agent, &path, "absent"));
    }
    match new {
        Some(t) => write(&path, &t)?,
        None => {
            std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
            // The folder too, when orch's file was all it held.
            if let Some(dir) = path.parent() {
                let _ = std::fs::remove_dir(dir);
            }
        }
    }
    Ok(change(agent, &path, "removed"))
}

fn change(agent: Agent, path: &Path, action: &str) -> HooksChange {
    HooksChange {
        agent: agent.as_str().into(),
        path: path.display().to_string(),
        action: action.into(),
    }
}

fn read(path: &PathBuf) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path, e)),
    }
}

fn write(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    crate::store::write_atomic(path, text.as_bytes())
}
