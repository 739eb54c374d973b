//! The transition rules as pure functions: a session, the workflow, the options and what the
//! checks found go in; the new session, the events to append and the warnings come out.

// Each rule takes the whole situation explicitly, which keeps them pure and easy to test.
#![allow(clippy::too_many_arguments)]

use crate::config::WorkflowOptions;
use crate::diagnostic::{has_errors, Diagnostic};
use crate::event;
use crate::session::{EndRecord, ExecuteRange, HistoryEntry, Override, PreviousSession, Session};
use crate::workflow::Workflow;
use crate::{Error, Result};
use serde_json::{json, Value};

/// Who acts, and when.
#[derive(Debug, Clone)]
pub struct Stamp {
    pub actor: String,
    pub now: String,
}

/// An event to append: type and payload; the caller adds id, time, actor and session.
#[derive(Debug, Clone, PartialEq)]
pub struct EventDraft {
    pub type_: String,
    pub payload: Value,
}

fn draft(type_: impl Into<String>, payload: Value) -> EventDraft {
    EventDraft {
        type_: type_.into(),
        payload,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Start,
    Complete,
    Skip,
    Reopen,
    End,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Start => "start",
            Kind::Complete => "complete",
            Kind::Skip => "skip",
            Kind::Reopen => "reopen",
            Kind::End => "end",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Decision {
    pub session: Session,
    pub events: Vec<EventDraft>,
    pub warnings: Vec<Diagnostic>,
    pub kind: Kind,
    pub from: Option<String>,
    pub to: Option<String>,
    pub override_: Option<Override>,
}

fn require_active(s: &Session, wf: &Workflow) -> Result<()> {
    if !s.active {
        return Err(Error::state(format!("{} has no active session", s.task))
            .with_hint(format!("start one with `orch session start {}`", s.task)));
    }
    if wf.phase(&s.current_phase).is_none() {
        return Err(unknown_phase(&s.task, &s.current_phase, wf));
    }
    Ok(())
}

/// session.json names a phase the workflow lacks. No orch command can move a task out of a
/// phase it cannot judge, so the fix puts the committed session.json back — or, when the
/// committed one names it too, the phase back into the workflow.
pub fn unknown_phase(task: &str, phase: &str, wf: &Workflow) -> Error {
    let path = format!("{}/tasks/{task}/session.json", crate::code::ORCH_DIR);
    Error::state(format!(
        "{task}: session.json says phase {phase:?}, which the workflow does not define (phases: {})",
        wf.names().join(", ")
    ))
    .with_hint(format!(
        "put back the committed session.json with `git restore --source=HEAD -- {path}`; if HEAD's names {phase:?} too, the workflow lost that phase: define it again in workflow.yaml and commit that"
    ))
}

/// Splits the current phase's checks into what blocks and what only warns, honouring
/// `require_artifact_validation`, and resolves an override.
fn gate(
    s: &Session,
    opts: &WorkflowOptions,
    checks: Vec<Diagnostic>,
    extra_blockers: Vec<String>,
    override_reason: Option<&str>,
    stamp: &Stamp,
    what: &str,
) -> Result<(Vec<Diagnostic>, Option<Override>)> {
    let mut checks = checks;
    if !opts.require_artifact_validation {
        for d in &mut checks {
            d.severity = crate::diagnostic::Severity::Warning;
        }
    }
    let failing: Vec<String> = checks
        .iter()
        .filter(|d| d.is_error())
        .map(Diagnostic::short)
        .chain(extra_blockers.iter().cloned())
        .collect();
    if failing.is_empty() {
        if override_reason.is_some() {
            checks.push(Diagnostic::warning(
                "override_not_needed",
                &s.current_phase,
                format!(
                    "nothing keeps {} from {what}, so no override was recorded",
                    s.current_phase
                ),
                "leave out --override and --reason when the phase's checks pass".into(),
            ));
        }
        return Ok((checks, None));
    }
    let Some(reason) = override_reason else {
        if !extra_blockers.is_empty() && !has_errors(&checks) {
            return Err(Error::state(format!(
                "{}: {} is not allowed (allow_phase_skip = false)",
                s.task, what
            ))
            .with_hint(format!(
                "complete phases one at a time with `orch phase complete {}`, or pass --override --reason \"...\"",
                s.task
            )));
        }
        let errors: Vec<&Diagnostic> = checks.iter().filter(|d| d.is_error()).collect();
        // The error line names the first problem; its details (a check's output) are listed
        // with the diagnostics below it.
        let first = errors
            .first()
            .map(|d| d.message.lines().next().unwrap_or("").to_string())
            .unwrap_or_default();
        let more = if errors.len() > 1 {
            format!(" (and {} more)", errors.len() - 1)
        } else {
            String::new()
        };
        let hint = if opts.allow_user_override {
            "fix what is listed and run the command again, or pass --override --reason \"why\" to record an override".to_string()
        } else {
            "fix what is listed and run the command again".to_string()
        };
        return Err(Error::validation(format!(
            "{}: phase {} is not complete: {first}{more}",
            s.task, s.current_phase
        ))
        .with_hint(hint)
        .with_diagnostics(checks));
    };
    if !opts.allow_user_override {
        return Err(Error::state(format!(
            "{}: overrides are disabled (allow_user_override = false in .orchestration/config.toml)",
            s.task
        ))
        .with_hint("fix what the checks report instead")
        .with_diagnostics(checks));
    }
    if reason.trim().is_empty() {
        return Err(Error::usage(
            "--override needs a reason: pass --reason \"why\"",
        ));
    }
    let ov = Override {
        reason: reason.trim().to_string(),
        author: stamp.actor.clone(),
        at: stamp.now.clone(),
        checks: failing,
    };
    for d in &mut checks {
        d.severity = crate::diagnostic::Severity::Warning;
    }
    Ok((checks, Some(ov)))
}

/// Leaves the current phase for `to`, writing history, events and the execute range.
fn leave(
    mut s: Session,
    wf: &Workflow,
    to: &str,
    kind: Kind,
    ov: Option<Override>,
    warnings: Vec<Diagnostic>,
    stamp: &Stamp,
    head: Option<&str>,
) -> Decision {
    let from = s.current_phase.clone();
    s.phase_history.push(HistoryEntry {
        phase: from.clone(),
        started_at: s.phase_started_at().to_string(),
        completed_at: stamp.now.clone(),
        override_: ov.clone(),
        to: Some(to.to_string()),
        transition: Some(kind.as_str().to_string()),
    });
    track_execute(&mut s, wf, &from, Some(to), head);
    s.current_phase = to.to_string();
    let mut events = vec![draft(
        event::phase_end(&from),
        json!({"phase": from, "to": to, "transition": kind.as_str()}),
    )];
    if let Some(o) = &ov {
        events.push(draft(
            event::PHASE_OVERRIDE,
            json!({"phase": from, "to": to, "reason": o.reason, "checks": o.checks}),
        ));
    }
    if kind == Kind::Reopen {
        events.push(draft(event::PHASE_REOPEN, json!({"from": from, "to": to})));
    }
    events.push(draft(
        event::phase_start(to),
        json!({"phase": to, "from": from}),
    ));
    Decision {
        session: s,
        events,
        warnings,
        kind,
        from: Some(from),
        to: Some(to.to_string()),
        override_: ov,
    }
}

/// Records the commits around the execute phase: the base when it is first entered, the head
/// each time it is left (so rework loops extend the range).
fn track_execute(s: &mut Session, wf: &Workflow, from: &str, to: Option<&str>, head: Option<&str>) {
    let exec = wf.phase("execute").map(|p| p.name.as_str());
    let Some(exec) = exec else { return };
    if to == Some(exec) && from != exec && s.execute_range.is_none() {
        s.execute_range = Some(ExecuteRange {
            base: head.map(str::to_string),
            head: None,
        });
    }
    if from == exec && to != Some(exec) {
        let r = s.execute_range.get_or_insert(ExecuteRange {
            base: None,
            head: None,
        });
        r.head = head.map(str::to_string);
    }
}

/// `orch phase complete`: forward by one after validation.
pub fn complete(
    s: &Session,
    wf: &Workflow,
    opts: &WorkflowOptions,
    checks: Vec<Diagnostic>,
    override_reason: Option<&str>,
    stamp: &Stamp,
    head: Option<&str>,
) -> Result<Decision> {
    require_active(s, wf)?;
    let Some(next) = wf.next_after(&s.current_phase) else {
        return Err(Error::state(format!(
            "{}: {} is the last phase; there is nothing to complete it into",
            s.task, s.current_phase
        ))
        .with_hint(format!(
            "end the session with `orch session end {}`",
            s.task
        )));
    };
    let (warnings, ov) = gate(
        s,
        opts,
        checks,
        vec![],
        override_reason,
        stamp,
        "completing",
    )?;
    Ok(leave(
        s.clone(),
        wf,
        &next.name,
        Kind::Complete,
        ov,
        warnings,
        stamp,
        head,
    ))
}

/// `orch phase set`: back any time; forward by one like complete; further only with
/// `allow_phase_skip` or an override.
pub fn set_phase(
    s: &Session,
    wf: &Workflow,
    opts: &WorkflowOptions,
    target: &str,
    checks: Vec<Diagnostic>,
    override_reason: Option<&str>,
    stamp: &Stamp,
    head: Option<&str>,
) -> Result<Decision> {
    require_active(s, wf)?;
    let to = wf.require(target)?;
    let cur = wf.index_of(&s.current_phase).expect("checked active phase");
    let dest = wf.index_of(&to.name).expect("known phase");
    if dest == cur {
        return Err(
            Error::state(format!("{} is already in phase {}", s.task, to.name))
                .with_hint(format!("see what it needs with `orch status {}`", s.task)),
        );
    }
    if dest < cur {
        return Ok(leave(
            s.clone(),
            wf,
            &to.name,
            Kind::Reopen,
            None,
            vec![],
            stamp,
            head,
        ));
    }
    if dest == cur + 1 {
        return complete(s, wf, opts, checks, override_reason, stamp, head);
    }
    let skipped: Vec<&str> = wf.phases[cur + 1..dest]
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    let blockers = if opts.allow_phase_skip {
        vec![]
    } else {
        vec![format!(
            "phase_skip: {} -> {} skips {}",
            s.current_phase,
            to.name,
            skipped.join(", ")
        )]
    };
    let what = format!("skipping from {} to {}", s.current_phase, to.name);
    let (warnings, ov) = gate(s, opts, checks, blockers, override_reason, stamp, &what)?;
    Ok(leave(
        s.clone(),
        wf,
        &to.name,
        Kind::Skip,
        ov,
        warnings,
        stamp,
        head,
    ))
}

/// `--force`: every check only warns; what failed (and ending outside the last phase) is
/// recorded as an override.
fn forced(
    s: &Session,
    checks: Vec<Diagnostic>,
    in_last: bool,
    reason: Option<&str>,
    stamp: &Stamp,
) -> (Vec<Diagnostic>, Option<Override>) {
    let failing: Vec<String> = checks
        .iter()
        .filter(|d| d.is_error())
        .map(Diagnostic::short)
        .chain((!in_last).then(|| format!("early_end: in {}", s.current_phase)))
        .collect();
    let ov = (!failing.is_empty()).then(|| Override {
        reason: reason.unwrap_or("ended with --force").to_string(),
        author: stamp.actor.clone(),
        at: stamp.now.clone(),
        checks: failing,
    });
    let mut w = checks;
    for d in &mut w {
        d.severity = crate::diagnostic::Severity::Warning;
    }
    (w, ov)
}

/// `orch session end`: only in the last phase, after its checks, unless forced.
pub fn end(
    s: &Session,
    wf: &Workflow,
    opts: &WorkflowOptions,
    checks: Vec<Diagnostic>,
    force: bool,
    reason: Option<&str>,
    stamp: &Stamp,
    head: Option<&str>,
) -> Result<Decision> {
    require_active(s, wf)?;
    let last = wf.last();
    let in_last = s.current_phase == last.name;
    if !in_last && !force {
        return Err(Error::state(format!(
            "{} is in phase {}; a session ends in {}",
            s.task, s.current_phase, last.name
        ))
        .with_hint(format!(
            "complete the remaining phases with `orch phase complete {}`, or end it now with `orch session end {} --force`",
            s.task, s.task
        )));
    }
    let (warnings, ov) = if force {
        forced(s, checks, in_last, reason, stamp)
    } else {
        gate(s, opts, checks, vec![], reason, stamp, "ending")?
    };
    let mut n = s.clone();
    let from = n.current_phase.clone();
    n.phase_history.push(HistoryEntry {
        phase: from.clone(),
        started_at: n.phase_started_at().to_string(),
        completed_at: stamp.now.clone(),
        override_: ov.clone(),
        to: None,
        transition: Some(Kind::End.as_str().to_string()),
    });
    track_execute(&mut n, wf, &from, None, head);
    n.active = false;
    n.ended_at = Some(stamp.now.clone());
    n.end = Some(EndRecord {
        forced: force,
        reason: reason.map(str::to_string),
        author: stamp.actor.clone(),
    });
    let mut events = vec![draft(
        event::phase_end(&from),
        json!({"phase": from, "transition": "end"}),
    )];
    if let Some(o) = &ov {
        events.push(draft(
            event::PHASE_OVERRIDE,
            json!({"phase": from, "reason": o.reason, "checks": o.checks}),
        ));
    }
    events.push(draft(
        event::SESSION_END,
        json!({"phase": from, "forced": force}),
    ));
    Ok(Decision {
        session: n,
        events,
        warnings,
        kind: Kind::End,
        from: Some(from),
        to: None,
        override_: ov,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartMode {
    /// No flag: only when there is no active session.
    Fresh,
    /// Resume the active session as it is.
    Continue,
    /// Archive the active session and start over from the first phase.
    Restart,
    /// Archive the active session and begin a new one in the same phase.
    New,
    /// Start a new session on a task whose session ended (a done task), from the first phase.
    Reopen,
}

fn archive(old: &Session, now: &str) -> PreviousSession {
    PreviousSession {
        session_key: old.session_key.clone(),
        started_at: old.started_at.clone(),
        ended_at: old.ended_at.clone().unwrap_or_else(|| now.to_string()),
        last_phase: old.current_phase.clone(),
        phase_history: old.phase_history.clone(),
        execute_range: old.execute_range.clone(),
    }
}

/// `orch session start`. `None` in the result means nothing changes (`--continue`).
pub fn start(
    task: &str,
    existing: Option<&Session>,
    mode: StartMode,
    wf: &Workflow,
    key: String,
    stamp: &Stamp,
) -> Result<Option<Decision>> {
    let first = wf.first().name.clone();
    match existing {
        None => {
            if matches!(mode, StartMode::Continue | StartMode::Reopen) {
                return Err(
                    Error::state(format!("{task} has no session to continue or reopen"))
                        .with_hint(format!("start one with `orch session start {task}`")),
                );
            }
            let extra = json!({"mode": "new", "phase": first});
            let d = begin(task, &key, stamp, vec![], &first, None, vec![], extra, None);
            Ok(Some(d))
        }
        Some(old) if old.active => {
            if mode == StartMode::Reopen {
                return Err(Error::state(format!(
                    "{task}'s session {} is still active (phase {}); there is nothing to reopen",
                    old.session_key, old.current_phase
                ))
                .with_hint(format!(
                    "resume it with `orch session start {task} --continue`"
                )));
            }
            replace_active(task, old, mode, &first, key, stamp)
        }
        Some(old) => {
            if mode != StartMode::Reopen {
                return Err(done_refusal(task, old));
            }
            let mut prev = old.previous_sessions.clone();
            prev.push(archive(old, &stamp.now));
            let extra = json!({"mode": "reopen", "phase": first, "previous": old.session_key});
            let d = begin(task, &key, stamp, prev, &first, None, vec![], extra, None);
            Ok(Some(d))
        }
    }
}

/// A done task (its session ended) is not restarted by accident: only `--reopen` does it.
fn done_refusal(task: &str, old: &Session) -> Error {
    let at = old.ended_at.as_deref().unwrap_or("earlier");
    Error::state(format!(
        "{task} is done: its session {} ended at {at}",
        old.session_key
    ))
    .with_hint(format!(
        "see its record with `orch report {task}`; to work on it again, `orch session start {task} --reopen` starts a new session from the first phase (recorded as a reopen)"
    ))
}

/// A start while `old` is active: refused without a mode, nothing with `--continue`; with
/// `--restart` (from `first`) or `--new` (in the same phase) `old` is archived and ended.
fn replace_active(
    task: &str,
    old: &Session,
    mode: StartMode,
    first: &str,
    key: String,
    stamp: &Stamp,
) -> Result<Option<Decision>> {
    if old.session_key == key && !matches!(mode, StartMode::Continue | StartMode::Fresh) {
        return Err(Error::usage(format!(
            "session key {key:?} is already used by {task}'s active session"
        ))
        .with_hint("pass a different --session-key, or leave it out"));
    }
    let (phase, range, how) = match mode {
        StartMode::Fresh | StartMode::Reopen => {
            return Err(Error::state(format!(
                "{task} already has an active session ({}, phase {})",
                old.session_key, old.current_phase
            ))
            .with_hint(format!(
                "pass --continue to resume it, --restart to start over from {first}, or --new to begin a new session in {}",
                old.current_phase
            )))
        }
        StartMode::Continue => return Ok(None),
        StartMode::Restart => (first.to_string(), None, "restart"),
        StartMode::New => (old.current_phase.clone(), old.execute_range.clone(), "new"),
    };
    let mut prev = old.previous_sessions.clone();
    prev.push(archive(old, &stamp.now));
    let ended = vec![draft(
        event::SESSION_END,
        json!({"phase": old.current_phase, "replaced_by": key, "mode": how, "session_key": old.session_key}),
    )];
    let extra = json!({"mode": how, "phase": phase, "previous": old.session_key});
    let from = Some(old.current_phase.clone());
    Ok(Some(begin(
        task, &key, stamp, prev, &phase, range, ended, extra, from,
    )))
}

/// A new session `key` in `phase` after the sessions `prev`: `events` (what ended before it),
/// then the session start (payload `extra`) and the phase start.
fn begin(
    task: &str,
    key: &str,
    stamp: &Stamp,
    prev: Vec<PreviousSession>,
    phase: &str,
    range: Option<ExecuteRange>,
    mut events: Vec<EventDraft>,
    extra: Value,
    from: Option<String>,
) -> Decision {
    let mut s = Session::new(task, key.to_string(), &stamp.now, phase);
    s.previous_sessions = prev;
    s.execute_range = range;
    events.push(draft(event::SESSION_START, extra));
    events.push(draft(event::phase_start(phase), json!({"phase": phase})));
    Decision {
        to: Some(s.current_phase.clone()),
        session: s,
        events,
        warnings: vec![],
        kind: Kind::Start,
        from,
        override_: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Severity;
    use crate::templates::Templates;

    fn wf() -> Workflow {
        Workflow::builtin(&Templates::builtin_only()).unwrap()
    }
    fn st() -> Stamp {
        Stamp {
            actor: "A <a@x>".into(),
            now: "2025-01-13T15:00:00Z".into(),
        }
    }
    fn opts() -> WorkflowOptions {
        WorkflowOptions::default()
    }
    fn session_in(phase: &str) -> Session {
        let mut s = Session::new("T-1", "k".into(), "2025-01-13T14:00:00Z", phase);
        s.current_phase = phase.into();
        s
    }
    fn failing() -> Vec<Diagnostic> {
        vec![Diagnostic::error(
            "missing_artifact",
            "CONTEXT.md",
            "gone".into(),
            "write it".into(),
        )]
    }

    #[test]
    fn builtin_workflow_has_six_phases_in_order() {
        assert_eq!(
            wf().names(),
            ["intake", "research", "plan", "execute", "review", "close"]
        );
    }

    #[test]
    fn complete_moves_forward_by_one_and_records_history() {
        let d = complete(
            &session_in("intake"),
            &wf(),
            &opts(),
            vec![],
            None,
            &st(),
            None,
        )
        .unwrap();
        assert_eq!(d.session.current_phase, "research");
        let h = d.session.phase_history.last().unwrap();
        assert_eq!(
            (h.phase.as_str(), h.to.as_deref()),
            ("intake", Some("research"))
        );
        assert_eq!(h.started_at, "2025-01-13T14:00:00Z");
        let types: Vec<&str> = d.events.iter().map(|e| e.type_.as_str()).collect();
        assert_eq!(
            types,
            [
                "orchestration.phase.intake.end",
                "orchestration.phase.research.start"
            ]
        );
    }

    #[test]
    fn failing_validation_refuses_with_diagnostics() {
        let e = complete(
            &session_in("research"),
            &wf(),
            &opts(),
            failing(),
            None,
            &st(),
            None,
        )
        .unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::Validation);
        assert_eq!(e.diagnostics.len(), 1);
    }

    #[test]
    fn override_records_reason_author_and_checks() {
        let d = complete(
            &session_in("research"),
            &wf(),
            &opts(),
            failing(),
            Some("agreed"),
            &st(),
            None,
        )
        .unwrap();
        let o = d.override_.unwrap();
        assert_eq!(o.reason, "agreed");
        assert_eq!(o.author, "A <a@x>");
        assert_eq!(o.checks, ["missing_artifact: CONTEXT.md"]);
        assert!(d.events.iter().any(|e| e.type_ == event::PHASE_OVERRIDE));
        assert!(d.warnings.iter().all(|w| w.severity == Severity::Warning));
    }

    #[test]
    fn override_refused_when_disabled() {
        let mut o = opts();
        o.allow_user_override = false;
        let e = complete(
            &session_in("research"),
            &wf(),
            &o,
            failing(),
            Some("x"),
            &st(),
            None,
        )
        .unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::State);
    }

    #[test]
    fn validation_off_turns_failures_into_warnings() {
        let mut o = opts();
        o.require_artifact_validation = false;
        let d = complete(
            &session_in("research"),
            &wf(),
            &o,
            failing(),
            None,
            &st(),
            None,
        )
        .unwrap();
        assert!(d.override_.is_none());
        assert_eq!(d.warnings.len(), 1);
    }

    #[test]
    fn skip_needs_option_or_override() {
        let e = set_phase(
            &session_in("intake"),
            &wf(),
            &opts(),
            "plan",
            vec![],
            None,
            &st(),
            None,
        )
        .unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::State);
        let d = set_phase(
            &session_in("intake"),
            &wf(),
            &opts(),
            "plan",
            vec![],
            Some("small"),
            &st(),
            None,
        )
        .unwrap();
        assert_eq!(d.kind, Kind::Skip);
        assert!(d.override_.unwrap().checks[0].starts_with("phase_skip"));
        let mut o = opts();
        o.allow_phase_skip = true;
        let d = set_phase(
            &session_in("intake"),
            &wf(),
            &o,
            "plan",
            vec![],
            None,
            &st(),
            None,
        )
        .unwrap();
        assert_eq!(
            (d.kind, d.session.current_phase.as_str()),
            (Kind::Skip, "plan")
        );
        assert!(d.override_.is_none());
    }

    #[test]
    fn back_is_always_a_reopen() {
        let d = set_phase(
            &session_in("review"),
            &wf(),
            &opts(),
            "execute",
            failing(),
            None,
            &st(),
            Some("abc"),
        )
        .unwrap();
        assert_eq!(d.kind, Kind::Reopen);
        assert!(d.events.iter().any(|e| e.type_ == event::PHASE_REOPEN));
    }

    #[test]
    fn end_only_in_last_phase_unless_forced() {
        let e = end(
            &session_in("plan"),
            &wf(),
            &opts(),
            vec![],
            false,
            None,
            &st(),
            None,
        )
        .unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::State);
        let d = end(
            &session_in("plan"),
            &wf(),
            &opts(),
            vec![],
            true,
            None,
            &st(),
            None,
        )
        .unwrap();
        assert!(!d.session.active);
        assert!(d.session.end.unwrap().forced);
        let d = end(
            &session_in("close"),
            &wf(),
            &opts(),
            vec![],
            false,
            None,
            &st(),
            None,
        )
        .unwrap();
        assert!(!d.session.active);
    }

    #[test]
    fn execute_range_is_captured_and_extended_by_rework() {
        let w = wf();
        let d = complete(
            &session_in("plan"),
            &w,
            &opts(),
            vec![],
            None,
            &st(),
            Some("base"),
        )
        .unwrap();
        assert_eq!(
            d.session.execute_range.as_ref().unwrap().base.as_deref(),
            Some("base")
        );
        let d = complete(&d.session, &w, &opts(), vec![], None, &st(), Some("h1")).unwrap();
        assert_eq!(
            d.session.execute_range.as_ref().unwrap().head.as_deref(),
            Some("h1")
        );
        let d = set_phase(
            &d.session,
            &w,
            &opts(),
            "execute",
            vec![],
            None,
            &st(),
            Some("h1b"),
        )
        .unwrap();
        let d = complete(&d.session, &w, &opts(), vec![], None, &st(), Some("h2")).unwrap();
        let r = d.session.execute_range.unwrap();
        assert_eq!(
            (r.base.as_deref(), r.head.as_deref()),
            (Some("base"), Some("h2"))
        );
    }

    #[test]
    fn start_modes() {
        let w = wf();
        let first = start("T-1", None, StartMode::Fresh, &w, "k1".into(), &st())
            .unwrap()
            .unwrap();
        let s = first.session;
        let mut moved = s.clone();
        moved.current_phase = "plan".into();
        let e = start(
            "T-1",
            Some(&moved),
            StartMode::Fresh,
            &w,
            "k2".into(),
            &st(),
        )
        .unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::State);
        assert!(e.hint.unwrap().contains("--continue"));
        assert!(start(
            "T-1",
            Some(&moved),
            StartMode::Continue,
            &w,
            "k2".into(),
            &st()
        )
        .unwrap()
        .is_none());
        let r = start(
            "T-1",
            Some(&moved),
            StartMode::Restart,
            &w,
            "k2".into(),
            &st(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            (
                r.session.current_phase.as_str(),
                r.session.previous_sessions.len()
            ),
            ("intake", 1)
        );
        let n = start("T-1", Some(&moved), StartMode::New, &w, "k2".into(), &st())
            .unwrap()
            .unwrap();
        assert_eq!(
            (
                n.session.current_phase.as_str(),
                n.session.session_key.as_str()
            ),
            ("plan", "k2")
        );
    }
}
