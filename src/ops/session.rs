//! `orch session start` and `orch session end`.

use super::next::{check, next_step};
use super::transition::{record, Transition};
use super::Loaded;
use crate::code::TaskCode;
use crate::project::Project;
use crate::rules::{self, StartMode};
use crate::session::Session;
use crate::{Error, Result};

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
        next: Some(next_step(p, &t.code, t.doc()?, Some(s))?),
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
