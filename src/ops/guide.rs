//! `orch next` and `orch prime`: the short loop an agent calls again and again, and the
//! smallest context to start or resume work with. Both read only; the blockers are the very
//! checks `phase complete` applies (`ops::next::check`), so what `next` calls ready is what
//! `phase complete` accepts.

use super::next::{check, end_how};
use super::Loaded;
use crate::code::TaskCode;
use crate::diagnostic::Diagnostic;
use crate::project::{Current, Project};
use crate::session::Session;
use crate::workflow::Phase;
use crate::Result;
use serde::Serialize;

/// Blockers listed in full; the rest are counted (the agent reads them all on `orch status`).
const MAX_BLOCKERS: usize = 3;
/// Open tasks listed when there is no current task.
const MAX_TASKS: usize = 5;
/// Characters `next --json` stays within, whatever the titles, criteria and workflow hold.
pub const NEXT_BUDGET: usize = 1200;

/// The one next action.
#[derive(Debug, Clone, Serialize)]
pub struct Next {
    /// `active`, `not_started`, `done`, or `none` (no current task: see `tasks`).
    pub state: String,
    pub task: Option<String>,
    pub title: Option<String>,
    pub phase: Option<String>,
    /// `n/m`: the phase's place in the workflow.
    pub step: Option<String>,
    /// Whether `command` makes progress now: the phase's checks pass.
    pub ready: bool,
    pub blockers: Vec<Blocker>,
    /// Blockers beyond those listed.
    pub more_blockers: usize,
    /// The command that makes progress now.
    pub command: Option<String>,
    /// Event types the phase accepts (`orch event add CODE TYPE --data JSON`), with a payload hint.
    pub events: Vec<EventHint>,
    /// Where the full instructions are.
    pub instructions: Option<String>,
    /// How the session ended, for a done task.
    pub ended: Option<String>,
    /// Open tasks (active first, then by phase), when there is no current task.
    pub tasks: Vec<OpenTask>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Blocker {
    pub code: String,
    pub target: String,
    pub fix: String,
}

impl From<&Diagnostic> for Blocker {
    fn from(d: &Diagnostic) -> Blocker {
        Blocker {
            code: d.code.clone(),
            target: d.target.clone(),
            fix: d.fix.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct EventHint {
    #[serde(rename = "type")]
    pub type_: String,
    pub data: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct OpenTask {
    pub task: String,
    pub title: String,
    pub phase: Option<String>,
    pub command: String,
}

impl Next {
    fn empty(state: &str) -> Next {
        Next {
            state: state.into(),
            task: None,
            title: None,
            phase: None,
            step: None,
            ready: false,
            blockers: vec![],
            more_blockers: 0,
            command: None,
            events: vec![],
            instructions: None,
            ended: None,
            tasks: vec![],
        }
    }
}

/// `orch next [CODE]`: for the given or current task; with neither, the open tasks.
pub fn next(p: &Project, given: Option<&str>) -> Result<Next> {
    let code = match given {
        Some(c) => TaskCode::parse(c)?,
        None => match p.current()? {
            Current::Task(c, _) if p.task_exists(&c) => c,
            // `current_task` turns two tasks bound to the branch into the error naming both.
            Current::Ambiguous(..) => {
                return p
                    .current_task()
                    .and_then(|_| open_tasks(p))
                    .map(|n| rules_first(p, n))
            }
            _ => return open_tasks(p).map(|n| rules_first(p, n)),
        },
    };
    p.require_task(&code)?;
    let t = Loaded::read(p, &code)?;
    let mut n = rules_first(p, for_task(p, &t)?);
    fit_next(&mut n);
    Ok(n)
}

/// Uncommitted rules refuse every transition (and `session start`), so committing them is
/// the first thing to do in every state but done.
fn rules_first(p: &Project, mut n: Next) -> Next {
    if n.state == "done" {
        return n;
    }
    if let Some(b) = super::guard::rules_blocker(p) {
        n.ready = false;
        n.command = super::next::first_command(&b.fix).or(n.command);
        n.blockers.insert(0, Blocker::from(&b));
        if n.blockers.len() > MAX_BLOCKERS {
            n.blockers.truncate(MAX_BLOCKERS);
            n.more_blockers += 1;
        }
    }
    n
}

/// The task's state and next action; an untrustworthy chain or folder comes first.
fn for_task(p: &Project, t: &Loaded) -> Result<Next> {
    let mut n = state_of(p, t)?;
    untrusted(p, &t.code, &mut n)?;
    Ok(n)
}

/// Violations of the committed chain and hand edits `orch verify` would reject block the
/// task before anything else: its state cannot be relied on until they are undone or waived.
fn untrusted(p: &Project, code: &TaskCode, n: &mut Next) -> Result<()> {
    let broken = super::integrity::task(p, code)?;
    let Some(first) = broken.first() else {
        return Ok(());
    };
    n.ready = false;
    n.command = super::next::first_command(&first.fix).or(Some("orch verify".into()));
    let mut blockers: Vec<Blocker> = broken.iter().map(Blocker::from).collect();
    blockers.append(&mut n.blockers);
    n.more_blockers += blockers.len().saturating_sub(MAX_BLOCKERS);
    blockers.truncate(MAX_BLOCKERS);
    n.blockers = blockers;
    Ok(())
}

fn state_of(p: &Project, t: &Loaded) -> Result<Next> {
    let code = &t.code;
    let session = t.session.as_ref();
    let mut n = Next::empty(crate::task::state_of(
        session.map(|s| s.current_phase.as_str()),
        session.is_some_and(|s| s.active),
    ));
    n.task = Some(code.to_string());
    n.title = t.doc.as_ref().ok().map(|d| short(&d.title(), 80));
    let phase = match &t.session {
        Some(s) => p.workflow.phase(&s.current_phase),
        None => Some(p.workflow.first()),
    };
    n.phase = Some(phase.map_or_else(
        || {
            t.session
                .as_ref()
                .map(|s| s.current_phase.clone())
                .unwrap_or_default()
        },
        |ph| ph.name.clone(),
    ));
    n.step = phase
        .and_then(|ph| p.workflow.index_of(&ph.name))
        .map(|i| format!("{}/{}", i + 1, p.workflow.phases.len()));
    n.instructions = Some(format!("orch status {code}"));
    match &t.session {
        None => {
            n.ready = true;
            n.command = Some(format!("orch session start {code}"));
        }
        Some(s) if !s.active => {
            n.ready = true;
            n.ended = Some(format!(
                "{} at {}",
                end_how(s),
                s.ended_at.as_deref().unwrap_or("?")
            ));
            n.command = Some(format!("orch report {code}"));
        }
        Some(s) => {
            let Some(ph) = phase else {
                n.command = Some(format!("orch phase set {code} <phase>"));
                return Ok(n);
            };
            active(p, t, s, ph, &mut n)?;
        }
    }
    Ok(n)
}

/// The blockers, events and command of an active session in `ph`.
fn active(p: &Project, t: &Loaded, s: &Session, ph: &Phase, n: &mut Next) -> Result<()> {
    let code = &t.code;
    let checks = check(p, t, ph)?;
    let blocking: Vec<&Diagnostic> = if p.config.workflow.require_artifact_validation {
        checks.iter().filter(|d| d.is_error()).collect()
    } else {
        vec![]
    };
    n.ready = blocking.is_empty();
    n.blockers = blocking
        .iter()
        .take(MAX_BLOCKERS)
        .map(|d| Blocker::from(*d))
        .collect();
    n.more_blockers = blocking.len().saturating_sub(MAX_BLOCKERS);
    // A blocker cleared by a command (`orch check tests`, `git commit`) makes that command
    // the one that makes progress; an edit leaves the completion as what follows it.
    let unblock = super::next::unblocking_command(blocking.iter().copied());
    n.events = ph
        .def
        .events
        .iter()
        .map(|e| EventHint {
            type_: e.clone(),
            data: payload_hint(&ph.def.next_step, e),
        })
        .collect();
    n.command = Some(unblock.unwrap_or_else(|| {
        if p.workflow.last().name == s.current_phase {
            format!("orch session end {code}")
        } else {
            format!("orch phase complete {code}")
        }
    }));
    Ok(())
}

/// Keeps `next --json` within [`NEXT_BUDGET`]: long fixes are cut (the full ones are on
/// `orch status`), then blockers beyond the first are counted instead of listed, then event
/// hints lose their payloads and, last, the events themselves.
fn fit_next(n: &mut Next) {
    const FIX: usize = 160;
    let size = |n: &Next| serde_json::to_string(n).map_or(0, |s| s.chars().count());
    // `{"ok":true,` and `,"diagnostics":[]}` around the data.
    let budget = NEXT_BUDGET - 30;
    if size(n) <= budget {
        return;
    }
    for b in &mut n.blockers {
        if b.fix.chars().count() > FIX {
            b.fix = short(&b.fix, FIX);
        }
        b.target = short(&b.target, 60);
    }
    while size(n) > budget && n.blockers.len() > 1 {
        n.blockers.pop();
        n.more_blockers += 1;
    }
    for i in 0..n.events.len() {
        if size(n) <= budget {
            return;
        }
        n.events[i].data = "{}".into();
    }
    while size(n) > budget && !n.events.is_empty() {
        n.events.pop();
    }
}

/// The `--data '…'` the phase's instructions show for event `type_`, else `{}`.
pub fn payload_hint(next_step: &str, type_: &str) -> String {
    let pat = format!("{type_} --data '");
    next_step
        .find(&pat)
        .and_then(|i| {
            let rest = &next_step[i + pat.len()..];
            rest.find('\'').map(|j| rest[..j].to_string())
        })
        .unwrap_or_else(|| "{}".into())
}

/// No current task: what is open, active sessions first, then by phase, then by code.
fn open_tasks(p: &Project) -> Result<Next> {
    let mut n = Next::empty("none");
    let all = super::task::list(p, &super::task::ListFilter::default())?;
    let rank = |t: &crate::task::TaskSummary| {
        let phase = t
            .phase
            .as_deref()
            .and_then(|ph| p.workflow.index_of(ph))
            .unwrap_or(0);
        (!t.active, std::cmp::Reverse(phase), t.task.clone())
    };
    let mut open: Vec<_> = all
        .into_iter()
        .filter(|t| t.active || t.phase.is_none())
        .collect();
    open.sort_by_key(rank);
    n.more_blockers = 0;
    for t in open.iter().take(MAX_TASKS) {
        let command = if t.active {
            format!("orch session start {} --continue", t.task)
        } else {
            format!("orch session start {}", t.task)
        };
        n.tasks.push(OpenTask {
            task: t.task.clone(),
            title: short(&t.title, 60),
            phase: t.phase.clone(),
            command,
        });
    }
    n.command = Some(match n.tasks.first() {
        Some(t) => t.command.clone(),
        None => "orch task new --title \"...\"".into(),
    });
    n.ready = true;
    Ok(n)
}

/// `s` cut to `max` characters, with an ellipsis when cut.
pub fn short(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The smallest context to start or resume a task with, in the order an agent needs it:
/// where the task stands and the next command; pinned notes; what earlier sessions settled;
/// open bugs; open criteria and the session's last decisions; pointers to the rest. What did
/// not fit the budget is counted in `omitted`, each with the command or file that has it.
#[derive(Debug, Clone, Serialize)]
pub struct Prime {
    pub task: String,
    pub title: String,
    pub state: String,
    pub phase: String,
    pub step: Option<String>,
    pub command: Option<String>,
    pub blockers: Vec<String>,
    /// Pinned notes: the task's (newest first), then the project's as `project: …`.
    pub pins: Vec<String>,
    /// Decisions and dead ends of earlier sessions (POSTOP.md), the newest session first.
    pub settled: Vec<String>,
    /// Bugs the task found that are still open: `BUG-…: title`.
    pub open_bugs: Vec<String>,
    /// Acceptance criteria not yet ticked.
    pub open_criteria: Vec<String>,
    /// The last decisions and findings recorded as events.
    pub notes: Vec<String>,
    /// Where the rest is.
    pub pointers: Vec<String>,
    /// What was left out, with how to get it.
    pub omitted: Vec<String>,
}

/// Characters of the JSON `prime` prints, at most (its envelope included, 800: about 200
/// tokens at four per token).
pub const PRIME_BUDGET: usize = 760;
/// Project pins shown at most, whatever the room: project memory is shared by every task.
pub const PROJECT_PIN_CAP: usize = 3;
/// Characters a pinned note keeps in `prime`; the full text is one `orch memory list` away.
const PIN_CHARS: usize = 160;

/// The ranked lists `prime` chooses from, best first, each with how to get what is cut.
struct Ranked {
    lists: Vec<(Category, Vec<String>)>,
    /// Items already left out before the budget (the project cap), per category.
    pre_cut: Vec<(Category, usize)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Category {
    Pins,
    ProjectPins,
    Settled,
    Bugs,
    Criteria,
    Notes,
}

/// `orch prime [CODE]`.
pub fn prime(p: &Project, given: Option<&str>) -> Result<Prime> {
    let code = p.resolve_code(given)?;
    p.require_task(&code)?;
    let t = Loaded::read(p, &code)?;
    let n = for_task(p, &t)?;
    let ranked = ranked(p, &code)?;
    let postop = p.task_dir(&code).join(crate::memory::postop::FILE);
    let mut pointers = vec![];
    if postop.is_file() {
        pointers.push(format!(
            "{}/{}",
            p.task_rel(&code),
            crate::memory::postop::FILE
        ));
    }
    pointers.push(format!("orch search --task {code} QUERY"));
    let base = Prime {
        task: code.to_string(),
        title: short(&n.title.clone().unwrap_or_default(), 70),
        state: n.state.clone(),
        phase: n.phase.clone().unwrap_or_default(),
        step: n.step.clone(),
        command: n.command.clone(),
        blockers: n
            .blockers
            .iter()
            .map(|b| short(&format!("{}: {}", b.code, b.target), 60))
            .collect(),
        pins: vec![],
        settled: vec![],
        open_bugs: vec![],
        open_criteria: vec![],
        notes: vec![],
        pointers,
        omitted: vec![],
    };
    Ok(fit(base, ranked, &code, p))
}

/// Everything `prime` could show, ranked: pinned before unpinned, the task before the
/// project, the newest first.
fn ranked(p: &Project, code: &TaskCode) -> Result<Ranked> {
    let mut pins: Vec<String> = super::memory::pinned(p, code)?
        .iter()
        .rev()
        .map(|n| short(&n.text, PIN_CHARS))
        .collect();
    pins.dedup();
    let project: Vec<String> = super::memory::project_pins(p)?
        .iter()
        .rev()
        .map(|n| format!("project: {}", short(&n.text, PIN_CHARS)))
        .collect();
    let over_cap = project.len().saturating_sub(PROJECT_PIN_CAP);
    let project = project.into_iter().take(PROJECT_PIN_CAP).collect();
    let postop = std::fs::read_to_string(p.task_dir(code).join(crate::memory::postop::FILE))
        .unwrap_or_default();
    let settled = crate::memory::postop::settled(&postop)
        .into_iter()
        .map(|s| short(&s, 100))
        .collect();
    let bugs = super::bug::list(p, Some("open"), Some(code))
        .unwrap_or_default()
        .into_iter()
        .map(|b| short(&format!("{}: {}", b.meta.id, b.meta.title), 80))
        .collect();
    let task_md = std::fs::read_to_string(p.task_dir(code).join("TASK.md")).unwrap_or_default();
    let criteria = crate::gates::criteria::parse(&task_md)
        .open()
        .map(|c| short(&c.text, 80))
        .collect();
    // The session's own decisions; a closed session's are in POSTOP.md (`settled`).
    let active_key = p
        .load_session(code)?
        .filter(|s| s.active)
        .map(|s| s.session_key);
    let events = super::event::read(p, code).unwrap_or_default();
    let notes = events
        .iter()
        .rev()
        .filter(|e| active_key.is_some() && e.session_key == active_key)
        .filter(|e| e.type_.ends_with(".decision") || e.type_.ends_with(".finding"))
        .take(3)
        .map(|e| {
            let kind = e.type_.rsplit('.').next().unwrap_or("note");
            format!(
                "{kind}: {}",
                short(&crate::memory::postop::payload_text(&e.payload), 90)
            )
        })
        .collect();
    Ok(Ranked {
        lists: vec![
            (Category::Pins, pins),
            (Category::ProjectPins, project),
            (Category::Settled, settled),
            (Category::Bugs, bugs),
            (Category::Criteria, criteria),
            (Category::Notes, notes),
        ],
        pre_cut: vec![(Category::ProjectPins, over_cap)],
    })
}

/// How to get what `prime` left out of a category.
fn omitted_line(c: Category, n: usize, code: &TaskCode, p: &Project) -> String {
    match c {
        Category::Pins => format!("{n} pinned: orch memory list {code}"),
        Category::ProjectPins if n == 1 => {
            format!("1 project pin (cap {PROJECT_PIN_CAP}): orch memory list {code}")
        }
        Category::ProjectPins => {
            format!("{n} project pins (cap {PROJECT_PIN_CAP}): orch memory list {code}")
        }
        Category::Settled => format!(
            "{n} settled: {}/{}",
            p.task_rel(code),
            crate::memory::postop::FILE
        ),
        Category::Bugs => format!("{n} open bugs: orch bug list --task {code} --status open"),
        Category::Criteria => format!("{n} criteria: orch status {code}"),
        Category::Notes => format!("{n} notes: orch events {code} --type decision"),
    }
}

/// Fills `base` with the ranked items that fit [`PRIME_BUDGET`]: the lowest-ranked item (the
/// last of the last list) goes first, and each category's cut is counted in `omitted`.
fn fit(base: Prime, r: Ranked, code: &TaskCode, p: &Project) -> Prime {
    let mut lists = r.lists;
    let mut cut: Vec<(Category, usize)> = lists.iter().map(|(c, _)| (*c, 0)).collect();
    for (c, n) in &r.pre_cut {
        if let Some(e) = cut.iter_mut().find(|(x, _)| x == c) {
            e.1 += n;
        }
    }
    loop {
        let mut pr = base.clone();
        for (c, items) in &lists {
            let v = items.clone();
            match c {
                Category::Pins => pr.pins.extend(v),
                Category::ProjectPins => pr.pins.extend(v),
                Category::Settled => pr.settled = v,
                Category::Bugs => pr.open_bugs = v,
                Category::Criteria => pr.open_criteria = v,
                Category::Notes => pr.notes = v,
            }
        }
        pr.omitted = cut
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(c, n)| omitted_line(*c, *n, code, p))
            .collect();
        let size = serde_json::to_string(&pr).map_or(0, |s| s.len());
        // The lowest-ranked item still shown.
        let last = lists.iter_mut().rev().find(|(_, items)| !items.is_empty());
        match last {
            Some((c, items)) if size > PRIME_BUDGET => {
                items.pop();
                if let Some(e) = cut.iter_mut().find(|(x, _)| x == c) {
                    e.1 += 1;
                }
            }
            _ => return pr,
        }
    }
}
