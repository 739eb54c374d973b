//! `orch session start` and `orch session end`.

use super::next::{check, next_step_entered};
use super::transition::{record, Transition};
use super::Loaded;
use crate::code::TaskCode;
use crate::project::Project;
use crate::rules::{self, StartMode};
use crate::session::Session;
use crate::{Error, Result};
use serde::Serialize;

/// A start on a branch of its own (`session start --branch`): the switch, then the start.
#[derive(Debug, Clone, Serialize)]
pub struct BranchStart {
    #[serde(flatten)]
    pub transition: Transition,
    pub branch: BranchSwitch,
}

#[derive(Debug, Clone, Serialize)]
pub struct BranchSwitch {
    /// The branch checked out now.
    pub name: String,
    /// The branch (or `detached HEAD`) it was on.
    pub from: String,
    /// Whether the branch was created (at HEAD).
    pub created: bool,
    /// Files the switch wrote or removed in the worktree.
    pub files_changed: usize,
}

/// The branch `session start --branch` uses for `code`: `name`, else `[git] branch_template`
/// filled in with the task's code, title and the git identity.
pub fn branch_for(p: &Project, code: &TaskCode, name: Option<&str>) -> Result<String> {
    if let Some(n) = name {
        crate::git::switch::branch_ref(n)?;
        return Ok(n.to_string());
    }
    let title = p.load_doc(code)?.title();
    let user = p
        .git
        .author_identity()
        .map(|i| {
            let local = i.email.split('@').next().unwrap_or("").to_string();
            crate::config::slug(if local.is_empty() { &i.name } else { &local }, 40)
        })
        .unwrap_or_default();
    p.config
        .git
        .branch_name(code.as_str(), &crate::config::slug(&title, 40), &user)
}

/// `orch session start --branch [NAME]`: switches to the branch (created at HEAD unless it
/// exists; an existing one is checked out as `git switch` would, refusing to overwrite local
/// changes), then starts the session there, so the session records that branch. A start the
/// rules refuse on the current branch switches nothing.
pub fn start_on_branch(
    p: &Project,
    code: &TaskCode,
    key: Option<&str>,
    mode: StartMode,
    name: &str,
) -> Result<BranchStart> {
    p.require_task(code)?;
    super::preflight(p)?;
    {
        let _lock = p.lock()?;
        let (st, _) = super::stamp(p)?;
        let t = Loaded::read(p, code)?;
        rules::start(
            code.as_str(),
            t.session.as_ref(),
            mode,
            &p.workflow,
            "check".into(),
            &st,
        )?;
    }
    // The task must be there once switched, or the start would fail on the other branch.
    if let Some(tip) = crate::git::switch::tip(&p.git, name)? {
        let task_md = format!("{}/TASK.md", p.task_rel(code));
        if !crate::git::switch::has_file(&p.git, tip, &task_md)? {
            return Err(Error::state(format!(
                "branch {name} has no task {code} ({task_md} is not in its last commit); nothing was switched"
            ))
            .with_hint(format!(
                "start it on a new branch (`orch session start {code} --branch NEW-NAME`), or merge the branch that has the task into {name} first"
            )));
        }
    }
    let sw = crate::git::switch::switch(&p.git, name)?;
    // Checked out, the branch's own config.toml and workflow.yaml are the rules in force.
    let reloaded;
    let p = if sw.files_changed > 0 {
        reloaded = Project::open(&p.root)?;
        &reloaded
    } else {
        p
    };
    let started = start(p, code, key, mode);
    let transition = match started {
        Ok(t) => t,
        Err(e) => {
            let hint = format!(
                "now on branch {name} (was {}); `git switch {}` goes back",
                sw.from, sw.from
            );
            let hint = match &e.hint {
                Some(h) => format!("{h}; {hint}"),
                None => hint,
            };
            return Err(e.with_hint(hint));
        }
    };
    Ok(BranchStart {
        transition,
        branch: BranchSwitch {
            name: sw.branch,
            from: sw.from,
            created: sw.created,
            files_changed: sw.files_changed,
        },
    })
}

/// `orch session start`: a new session in the first phase, or (by `mode`) the active one
/// resumed, restarted or replaced.
pub fn start(
    p: &Project,
    code: &TaskCode,
    key: Option<&str>,
    mode: StartMode,
) -> Result<Transition> {
    if let Some(k) = key {
        check_session_key(k)?;
    }
    p.require_task(code)?;
    super::preflight(p)?;
    let _lock = p.lock()?;
    let (st, now) = super::stamp(p)?;
    let t = Loaded::read(p, code)?;
    let key = match key {
        Some(k) => k.to_string(),
        None => free_key(
            t.session.as_ref(),
            &Session::default_key(code.as_str(), &now),
        ),
    };
    let decision = rules::start(
        code.as_str(),
        t.session.as_ref(),
        mode,
        &p.workflow,
        key,
        &st,
    )?;
    let Some(mut d) = decision else {
        return continued(p, &t);
    };
    d.session.branch = p.branch()?;
    let phase = d.session.current_phase.clone();
    let scaffold = p
        .config
        .workflow
        .sync_files_on_phase_complete
        .then_some(phase.as_str());
    let subject = if mode == StartMode::Reopen {
        format!("session start ({phase}, reopen)")
    } else {
        format!("session start ({phase})")
    };
    record(p, &t, d, &subject, &st, scaffold)
}

/// `base`, or `base_2`, `base_3`…: a second start within the same second must not reuse the
/// key it replaces.
fn free_key(existing: Option<&Session>, base: &str) -> String {
    let taken = |k: &str| {
        existing.is_some_and(|s| {
            s.session_key == k || s.previous_sessions.iter().any(|p| p.session_key == k)
        })
    };
    (1..)
        .map(|n| {
            if n == 1 {
                base.to_string()
            } else {
                format!("{base}_{n}")
            }
        })
        .find(|k| !taken(k))
        .expect("a free session key")
}

/// `--continue`: nothing is written; the task becomes the current one.
fn continued(p: &Project, t: &Loaded) -> Result<Transition> {
    let s = t.session.as_ref().expect("continue needs a session");
    p.set_current_task(&t.code)?;
    Ok(Transition {
        task: t.code.to_string(),
        kind: "continue".into(),
        from: Some(s.current_phase.clone()),
        to: Some(s.current_phase.clone()),
        session_key: s.session_key.clone(),
        commit: None,
        override_: None,
        scaffolded: vec![],
        warnings: vec![],
        next: Some(next_step_entered(p, &t.code, t.doc()?, Some(s))?),
    })
}

fn check_session_key(k: &str) -> Result<()> {
    if k.is_empty()
        || k.len() > 128
        || !k
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
    {
        return Err(Error::usage(format!("invalid session key {k:?}"))
            .with_hint("use 1-128 characters of A-Z a-z 0-9 _ - . :"));
    }
    Ok(())
}

/// The task loaded, with the session it must have.
pub(crate) fn with_session(p: &Project, code: &TaskCode) -> Result<(Loaded, Session)> {
    let t = Loaded::read(p, code)?;
    let s = t.session.clone().ok_or_else(|| {
        Error::state(format!("{code} has no session"))
            .with_hint(format!("start one with `orch session start {code}`"))
    })?;
    Ok((t, s))
}

/// `orch session end`: from the last phase once its checks pass; `force` ends it anywhere,
/// recording the checks it passed over.
pub fn end(p: &Project, code: &TaskCode, force: bool, reason: Option<&str>) -> Result<Transition> {
    p.require_task(code)?;
    super::preflight(p)?;
    let _lock = p.lock()?;
    let (t, s) = with_session(p, code)?;
    let (st, _) = super::stamp(p)?;
    let checks = match p.workflow.phase(&s.current_phase) {
        Some(ph) if ph.name == p.workflow.last().name => check(p, &t, ph)?,
        _ => vec![],
    };
    let head = p.git.head_id()?.map(|i| i.to_string());
    let (w, o) = (&p.workflow, &p.config.workflow);
    let d = rules::end(&s, w, o, checks, force, reason, &st, head.as_deref())?;
    let subject = format!(
        "session end ({}{})",
        s.current_phase,
        if force { ", forced" } else { "" }
    );
    record(p, &t, d, &subject, &st, None)
}
