//! A task's phase history read from git (`orch log`), and the pull-request report built on it
//! (`orch report`): what happened to the task, told from its files and its history.
//!
//! The report is a list of sections. Each is one function here that reads the task's data
//! ([`TaskData`], loaded once) into a field of [`Report`], and one function in [`markdown`]
//! that renders that field; a feature that records something new adds a field, a gathering
//! function and a section, and nothing else changes.

mod gantt;
pub mod markdown;
pub mod rules;

pub use markdown::{markdown, markdown_with, Style};

use crate::code::TaskCode;
use crate::event::Event;
use crate::gates::checks::Run;
use crate::gates::criteria::Criterion;
use crate::gates::verdict::Verdict;
use crate::git::history::{self, CommitMeta};
use crate::links::Link;
use crate::project::Project;
use crate::session::{HistoryEntry, Session};
use crate::task::TaskDoc;
use crate::verify::{self, VerifyReport};
use crate::Result;
use gix::ObjectId;
use serde::Serialize;

/// One change of a task's session.json, as git recorded it.
#[derive(Debug, Clone, Serialize)]
pub struct LogEntry {
    pub commit: String,
    pub date: String,
    pub author: String,
    pub subject: String,
    /// start, complete, skip, reopen, end, edit
    pub kind: String,
    pub from: Option<String>,
    pub to: Option<String>,
    #[serde(rename = "override")]
    pub override_: bool,
    pub reason: Option<String>,
    pub session_key: Option<String>,
    /// The execute phase's commit range, when this transition recorded or extended it.
    pub execute_range: Option<crate::session::ExecuteRange>,
    /// How many phase history entries the session had after this commit: the entry a
    /// transition appended is the one at `history_len - 1`.
    #[serde(skip)]
    pub history_len: usize,
}

/// The commits that changed `<task>/session.json`, newest first, in `git log -- <path>` order.
pub fn log(p: &Project, code: &TaskCode) -> Result<Vec<LogEntry>> {
    let repo = &p.git.repo;
    let Some(head) = p.git.head_id()? else {
        return Ok(vec![]);
    };
    let path = format!("{}/session.json", p.task_rel(code));
    let commits = history::path_log(repo, &[head], &path)?;
    let mut out = Vec::with_capacity(commits.len());
    for c in &commits {
        let parse = |tree| -> Result<Option<Session>> {
            Ok(history::blob_at(repo, tree, &path)?
                .and_then(|b| Session::parse(&String::from_utf8_lossy(&b), &path).ok()))
        };
        let new = parse(c.tree)?;
        let old = match c.parents.first() {
            Some(par) => parse(history::commit_meta(repo, *par)?.tree)?,
            None => None,
        };
        let step = new
            .as_ref()
            .map(|n| verify::describe(old.as_ref(), n, &p.workflow));
        let range = new.as_ref().and_then(|n| n.execute_range.clone());
        let execute_range =
            range.filter(|r| old.as_ref().and_then(|o| o.execute_range.as_ref()) != Some(r));
        out.push(LogEntry {
            commit: c.id.to_string(),
            date: c.date(),
            author: c.author.clone(),
            subject: c.subject().to_string(),
            kind: step.as_ref().map_or("delete".into(), |s| s.kind.clone()),
            from: step.as_ref().and_then(|s| s.from.clone()),
            to: step.as_ref().and_then(|s| s.to.clone()),
            override_: step.as_ref().is_some_and(|s| s.override_),
            reason: step.as_ref().and_then(|s| s.reason.clone()),
            session_key: step.map(|s| s.session_key),
            execute_range,
            history_len: new.as_ref().map_or(0, |n| n.phase_history.len()),
        });
    }
    Ok(out)
}

/// One stretch of time the task spent in a phase.
#[derive(Debug, Clone, Serialize)]
pub struct PhaseRow {
    pub phase: String,
    pub session_key: String,
    pub started: String,
    pub completed: Option<String>,
    pub duration: Option<String>,
    /// How the phase was left: complete, skip, reopen or end; `None` while the task is in it.
    pub left_by: Option<String>,
    /// The phase entered next.
    pub to: Option<String>,
    /// Which time the task is in this phase: 1 the first, 2 after one reopen, and so on.
    pub pass: usize,
    /// The phase a reopen came back from, when this stretch began with one.
    pub reopened_from: Option<String>,
    /// The commit that left the phase (or entered it, for the current one).
    pub commit: Option<String>,
    #[serde(rename = "override")]
    pub override_: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CodeCommit {
    pub commit: String,
    pub subject: String,
    pub author: String,
    pub date: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PhaseCommits {
    pub phase: String,
    pub commits: Vec<CodeCommit>,
}

/// A file of the task folder, by its repository-relative path.
#[derive(Debug, Clone, Serialize)]
pub struct ArtifactLink {
    pub name: String,
    pub path: String,
}

/// What the execute phase changed, as CHANGES.md has it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ChangesSummary {
    /// The `git diff --shortstat` line of the execute phase's range.
    pub summary: Option<String>,
    pub base: Option<String>,
    pub head: Option<String>,
    pub files: usize,
    pub commits: usize,
    /// The files with the most changed lines, most first (at most [`TOP_FILES`]).
    pub top_files: Vec<crate::changes::FileEntry>,
    /// Why there is no summary: the task never reached execute, or its range is gone.
    pub note: Option<String>,
    /// The recorded range is no longer in HEAD's history, with the command that re-records it.
    pub off_branch: Option<crate::diagnostic::Diagnostic>,
}

/// How many files "what changed" lists.
pub const TOP_FILES: usize = 10;

/// One recorded run of a check, with when and by whom.
#[derive(Debug, Clone, Serialize)]
pub struct CheckRun {
    pub at: String,
    pub actor: String,
    #[serde(flatten)]
    pub run: Run,
}

#[derive(Debug, Clone, Serialize)]
pub struct Review {
    pub verdict: Verdict,
    /// REVIEW.md's `reviewer:`, else whoever completed the review phase.
    pub reviewer: Option<String>,
}

/// One pass through the review phase, with the verdict its artifact held when it was left.
#[derive(Debug, Clone, Serialize)]
pub struct ReviewRound {
    pub pass: usize,
    pub verdict: Option<Verdict>,
    pub reviewer: Option<String>,
    pub at: String,
    /// complete, reopen, skip or end
    pub left_by: String,
    pub to: Option<String>,
    pub commit: Option<String>,
}

/// A validation passed on the record with `--override --reason`.
#[derive(Debug, Clone, Serialize)]
pub struct OverrideRecord {
    pub phase: String,
    pub to: Option<String>,
    pub reason: String,
    pub author: String,
    pub at: String,
    /// The checks it passed, e.g. `missing_artifact: CONTEXT.md`.
    pub checks: Vec<String>,
}

/// A bug the task found, open or not.
#[derive(Debug, Clone, Serialize)]
pub struct BugRecord {
    pub id: String,
    pub title: String,
    pub severity: String,
    /// open, resolved or duplicate
    pub status: String,
    pub occurrences: usize,
    pub first_seen: String,
    pub resolved_at: Option<String>,
    pub resolution: Option<String>,
}

/// Work left for later: a `*.followup` event, or a line of an artifact's Follow-ups section.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FollowUp {
    pub text: String,
    /// `event`, or the artifact that lists it (SUMMARY.md, REVIEW.md).
    pub source: String,
    pub at: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub task: String,
    pub title: String,
    /// done · in PHASE · ended early in PHASE · not started
    pub state: String,
    pub current_phase: Option<String>,
    pub active: bool,
    /// When the report was made: the end of the current phase's bar in the timeline.
    pub generated_at: String,
    /// clean · repaired · waived · violations
    pub verify: String,
    /// verify's one-line verdict.
    pub verdict: String,
    pub verified: bool,
    /// The workflow's phases in order.
    pub phase_order: Vec<String>,
    /// Every stretch in a phase, oldest first, across the task's sessions.
    pub phases: Vec<PhaseRow>,
    pub changes: ChangesSummary,
    pub code_commits: Vec<PhaseCommits>,
    /// TASK.md's acceptance criteria with their state.
    pub criteria: Vec<Criterion>,
    /// Every recorded check run, oldest first.
    pub checks: Vec<CheckRun>,
    /// The review's verdict now and who gave it, once REVIEW.md says.
    pub review: Option<Review>,
    /// Each completed pass through review, oldest first.
    pub review_rounds: Vec<ReviewRound>,
    pub overrides: Vec<OverrideRecord>,
    pub violations: Vec<verify::Violation>,
    /// Violations accepted on the record with `orch verify --accept`.
    pub waived: Vec<verify::Waived>,
    /// Violations a later commit undid.
    pub repaired: Vec<verify::Repaired>,
    /// Bugs reported against the task, newest first.
    pub bugs: Vec<BugRecord>,
    pub follow_ups: Vec<FollowUp>,
    /// TASK.md's `links:` (pull requests, issues, commits).
    pub links: Vec<Link>,
    /// The task folder's artifacts and records, in workflow order.
    pub artifacts: Vec<ArtifactLink>,
    /// The phase code changes start in (`[hooks] code_allowed_from`).
    pub code_allowed_from: String,
    /// A coding agent's tool calls refused by the agent hook because they wrote code before
    /// the code phase (`orchestration.agent.denied`), counted by phase in workflow order.
    pub agent_denials: Vec<Denials>,
    /// The same refusals one by one, oldest first.
    pub agent_refusals: Vec<AgentRefusal>,
    /// Every commit since the task began that changed the rules in force (config.toml's
    /// rule keys, workflow.yaml, the templates), oldest first.
    pub rule_changes: Vec<rules::RuleChange>,
}

/// How many of an agent's code writes were refused in one phase.
#[derive(Debug, Clone, Serialize)]
pub struct Denials {
    pub phase: String,
    pub count: usize,
}

/// One tool call of a coding agent that the agent hook refused.
#[derive(Debug, Clone, Serialize)]
pub struct AgentRefusal {
    pub at: String,
    /// claude, cursor, codex
    pub agent: String,
    pub tool: String,
    pub phase: String,
    /// The code file the call would have written.
    pub path: Option<String>,
    /// The shell command, for a shell call.
    pub command: Option<String>,
}

/// Everything the sections read, loaded once.
pub struct TaskData<'p> {
    pub p: &'p Project,
    pub code: &'p TaskCode,
    pub doc: TaskDoc,
    pub session: Option<Session>,
    /// session.json's history in git, newest first.
    pub log: Vec<LogEntry>,
    pub events: Vec<Event>,
    pub task_text: String,
    pub head: Option<ObjectId>,
}

impl<'p> TaskData<'p> {
    pub fn load(p: &'p Project, code: &'p TaskCode) -> Result<TaskData<'p>> {
        Ok(TaskData {
            p,
            code,
            doc: p.load_doc(code)?,
            session: p.load_session(code)?,
            log: log(p, code)?,
            // With the logs `orch compact` folded into POSTOP.md: a compacted task keeps its story.
            events: super::event::read_all(p, code)?,
            task_text: std::fs::read_to_string(p.task_dir(code).join("TASK.md"))
                .unwrap_or_default(),
            head: p.git.head_id()?,
        })
    }
}

/// `orch report`: the task's story, every section gathered from its files and history.
pub fn report(p: &Project, code: &TaskCode) -> Result<Report> {
    let d = TaskData::load(p, code)?;
    let v = match d.head {
        Some(head) => verify::verify(p, &[head], &[], &[code.to_string()])?,
        None => VerifyReport::default(),
    };
    let phases = d
        .session
        .as_ref()
        .map(|s| phase_rows(s, &d.log))
        .unwrap_or_default();
    let s = d.session.as_ref();
    Ok(Report {
        task: code.to_string(),
        title: d.doc.title(),
        state: state(s, &p.workflow),
        current_phase: s.map(|s| s.current_phase.clone()),
        active: s.is_some_and(|s| s.active),
        generated_at: crate::clock::fmt(&crate::clock::now()?),
        verify: verify_status(&v).to_string(),
        verdict: v.verdict(),
        verified: v.ok(),
        phase_order: p.workflow.phases.iter().map(|ph| ph.name.clone()).collect(),
        changes: changes(&d),
        code_commits: code_commits(&d)?,
        criteria: crate::gates::criteria::parse(&d.task_text).items,
        checks: check_runs(&d.events),
        review: review(&d),
        review_rounds: review_rounds(&d, &phases)?,
        overrides: s.map(overrides).unwrap_or_default(),
        phases,
        violations: v.violations,
        waived: v.waived,
        repaired: v.repaired,
        bugs: bugs(&d)?,
        follow_ups: follow_ups(&d),
        links: links(&d),
        artifacts: artifacts(&d),
        code_allowed_from: p.config.hooks.code_allowed_from.clone(),
        agent_denials: denials(p, &d.events),
        agent_refusals: refusals(p, &d.events),
        rule_changes: rules::changes(&d)?,
    })
}

/// The task's state in a few words.
fn state(s: Option<&Session>, wf: &crate::workflow::Workflow) -> String {
    match s {
        None => "not started".into(),
        Some(s) if s.active => format!("in {}", s.current_phase),
        Some(s) => {
            let early =
                s.end.as_ref().is_some_and(|e| e.forced) && s.current_phase != wf.last().name;
            if early {
                format!("ended early in {}", s.current_phase)
            } else {
                "done".into()
            }
        }
    }
}

/// verify's verdict in one word: a violation outweighs a waiver, a waiver a repair.
fn verify_status(v: &VerifyReport) -> &'static str {
    if !v.ok() {
        "violations"
    } else if !v.waived.is_empty() {
        "waived"
    } else if !v.repaired.is_empty() {
        "repaired"
    } else {
        "clean"
    }
}

fn duration(a: &str, b: &str) -> Option<String> {
    let (a, b) = (crate::clock::parse(a)?, crate::clock::parse(b)?);
    let s = (b - a).num_seconds().max(0);
    Some(if s >= 86_400 {
        format!("{}d {}h", s / 86_400, (s % 86_400) / 3600)
    } else if s >= 3600 {
        format!("{}h {}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    })
}

/// The task's sessions' histories, oldest session first, each with its key.
fn histories(s: &Session) -> Vec<(&str, &[HistoryEntry])> {
    let mut out: Vec<(&str, &[HistoryEntry])> = s
        .previous_sessions
        .iter()
        .map(|p| (p.session_key.as_str(), p.phase_history.as_slice()))
        .collect();
    out.push((s.session_key.as_str(), s.phase_history.as_slice()));
    out
}

/// The commit that appended entry `i` of session `key`'s history: the oldest commit of that
/// session whose session.json has more than `i` entries (`log` is newest first).
fn commit_of(log: &[LogEntry], key: &str, i: usize) -> Option<String> {
    log.iter()
        .rev()
        .find(|e| e.session_key.as_deref() == Some(key) && e.history_len > i)
        .map(|e| e.commit.clone())
}

/// One row per stretch in a phase, across sessions, with the transition commit that ended it,
/// and one for the phase an active session is in. Reopened stretches are numbered.
fn phase_rows(s: &Session, log: &[LogEntry]) -> Vec<PhaseRow> {
    let mut rows: Vec<PhaseRow> = vec![];
    let pass =
        |rows: &[PhaseRow], phase: &str| rows.iter().filter(|r| r.phase == phase).count() + 1;
    for (key, history) in histories(s) {
        let first = rows.len();
        for (i, h) in history.iter().enumerate() {
            let reopened_from = (rows.len() > first)
                .then(|| rows.last())
                .flatten()
                .filter(|prev| prev.left_by.as_deref() == Some("reopen"))
                .map(|prev| prev.phase.clone());
            rows.push(PhaseRow {
                phase: h.phase.clone(),
                session_key: key.to_string(),
                started: h.started_at.clone(),
                completed: Some(h.completed_at.clone()),
                duration: duration(&h.started_at, &h.completed_at),
                left_by: Some(h.transition.clone().unwrap_or_else(|| "complete".into())),
                to: h.to.clone(),
                pass: pass(&rows, &h.phase),
                reopened_from,
                commit: commit_of(log, key, i),
                override_: h.override_.as_ref().map(|o| o.reason.clone()),
            });
        }
    }
    if s.active {
        let reopened_from = rows
            .last()
            .filter(|prev| {
                prev.session_key == s.session_key && prev.left_by.as_deref() == Some("reopen")
            })
            .map(|prev| prev.phase.clone());
        rows.push(PhaseRow {
            phase: s.current_phase.clone(),
            session_key: s.session_key.clone(),
            started: s.phase_started_at().to_string(),
            completed: None,
            duration: None,
            left_by: None,
            to: None,
            pass: pass(&rows, &s.current_phase),
            reopened_from,
            commit: log
                .iter()
                .find(|e| e.session_key.as_deref() == Some(s.session_key.as_str()))
                .map(|e| e.commit.clone()),
            override_: None,
        });
    }
    rows
}

/// Every override on the record, oldest first.
fn overrides(s: &Session) -> Vec<OverrideRecord> {
    histories(s)
        .into_iter()
        .flat_map(|(_, h)| h.iter())
        .filter_map(|h| {
            let o = h.override_.as_ref()?;
            Some(OverrideRecord {
                phase: h.phase.clone(),
                to: h.to.clone(),
                reason: o.reason.clone(),
                author: o.author.clone(),
                at: o.at.clone(),
                checks: o.checks.clone(),
            })
        })
        .collect()
}

/// The execute phase's diff summed up as CHANGES.md does, with its biggest files.
fn changes(d: &TaskData) -> ChangesSummary {
    let Some(s) = d
        .session
        .as_ref()
        .filter(|s| crate::changes::recorded_range(s).is_some())
    else {
        return ChangesSummary {
            note: Some("the task has not reached the execute phase".into()),
            ..ChangesSummary::default()
        };
    };
    let c = match crate::changes::compute_checked(d.p, d.code, Some(s), &Default::default()) {
        Ok(c) => c,
        Err(e) => {
            return ChangesSummary {
                note: Some(e.message),
                ..ChangesSummary::default()
            }
        }
    };
    let mut files = c.file_entries();
    // Most changed lines first; a stable sort keeps CHANGES.md's order among equals.
    files.sort_by_key(|f| std::cmp::Reverse(f.insertions + f.deletions));
    files.truncate(TOP_FILES);
    ChangesSummary {
        summary: (!c.files.is_empty()).then(|| c.stat.shortstat()),
        base: c.base.map(|b| b.to_string()),
        head: Some(c.head.to_string()),
        files: c.files.len(),
        commits: c.commits.len(),
        top_files: files,
        note: c.files.is_empty().then(|| "no code changes".to_string()),
        off_branch: c.off_branch,
    }
}

/// The task's code commits reachable from HEAD (commits with its `Orchestration-Task`
/// trailer that orch did not make), oldest first, grouped by their phase trailer in
/// workflow order.
fn code_commits(d: &TaskData) -> Result<Vec<PhaseCommits>> {
    let Some(head) = d.head else {
        return Ok(vec![]);
    };
    let repo = &d.p.git.repo;
    let mut groups: Vec<PhaseCommits> = vec![];
    for id in history::range_commits(repo, &[head], &[])? {
        let c: CommitMeta = history::commit_meta(repo, id)?;
        if c.subject().starts_with("orch(")
            || c.trailer("Orchestration-Task") != Some(d.code.as_str())
        {
            continue;
        }
        let phase = c
            .trailer("Orchestration-Phase")
            .unwrap_or("unknown")
            .to_string();
        let cc = CodeCommit {
            commit: c.id.to_string(),
            subject: c.subject().to_string(),
            author: c.author.clone(),
            date: c.date(),
        };
        match groups.iter_mut().find(|g| g.phase == phase) {
            Some(g) => g.commits.push(cc),
            None => groups.push(PhaseCommits {
                phase,
                commits: vec![cc],
            }),
        }
    }
    groups.sort_by_key(|g| d.p.workflow.index_of(&g.phase).unwrap_or(usize::MAX));
    for g in &mut groups {
        g.commits.reverse();
    }
    Ok(groups)
}

/// Every check run the events record, oldest first.
fn check_runs(events: &[Event]) -> Vec<CheckRun> {
    events
        .iter()
        .filter_map(|e| {
            Some(CheckRun {
                run: Run::from_event(&e.type_, &e.payload)?,
                at: e.ts.clone(),
                actor: e.actor.clone(),
            })
        })
        .collect()
}

/// The phase whose artifact gives the review verdict, and that artifact's name.
fn verdict_phase(p: &Project) -> Option<(&str, &str)> {
    p.workflow.phases.iter().find_map(|ph| {
        ph.def
            .validation
            .verdict
            .as_deref()
            .map(|v| (ph.name.as_str(), v))
    })
}

fn read_verdict(text: &str) -> Option<(Verdict, Option<String>)> {
    match crate::gates::verdict::read(text) {
        crate::gates::verdict::Reading::Given { verdict, reviewer } => Some((verdict, reviewer)),
        _ => None,
    }
}

/// The verdict the review artifact gives now, if it gives one.
fn review(d: &TaskData) -> Option<Review> {
    let (phase, name) = verdict_phase(d.p)?;
    let text = std::fs::read_to_string(d.p.task_dir(d.code).join(name)).ok()?;
    let (verdict, reviewer) = read_verdict(&text)?;
    let ended = crate::event::phase_end(phase);
    let reviewer = reviewer.or_else(|| {
        d.events
            .iter()
            .rev()
            .find(|e| e.type_ == ended)
            .map(|e| e.actor.clone())
    });
    Some(Review { verdict, reviewer })
}

/// Each pass through review that ended, with the verdict its artifact held in the commit
/// that left it, given by its `reviewer:` or else the author of that commit.
fn review_rounds(d: &TaskData, rows: &[PhaseRow]) -> Result<Vec<ReviewRound>> {
    let Some((phase, name)) = verdict_phase(d.p) else {
        return Ok(vec![]);
    };
    let path = format!("{}/{name}", d.p.task_rel(d.code));
    let mut out = vec![];
    for r in rows.iter().filter(|r| r.phase == phase) {
        let (Some(at), Some(left_by)) = (&r.completed, &r.left_by) else {
            continue;
        };
        let mut given = None;
        if let Some(c) = &r.commit {
            let id = ObjectId::from_hex(c.as_bytes()).ok();
            if let Some(id) = id {
                let tree = history::commit_meta(&d.p.git.repo, id)?.tree;
                given = history::blob_at(&d.p.git.repo, tree, &path)?
                    .and_then(|b| read_verdict(&String::from_utf8_lossy(&b)));
            }
        }
        let author = d
            .log
            .iter()
            .find(|e| Some(&e.commit) == r.commit.as_ref())
            .map(|e| e.author.clone());
        out.push(ReviewRound {
            pass: r.pass,
            verdict: given.as_ref().map(|g| g.0),
            reviewer: given.and_then(|g| g.1).or(author),
            at: at.clone(),
            left_by: left_by.clone(),
            to: r.to.clone(),
            commit: r.commit.clone(),
        });
    }
    Ok(out)
}

/// The bugs reported against the task, open and closed.
fn bugs(d: &TaskData) -> Result<Vec<BugRecord>> {
    Ok(super::bug::list(d.p, None, Some(d.code))?
        .into_iter()
        .map(|b| BugRecord {
            occurrences: b.occurrences,
            id: b.meta.id,
            title: b.meta.title,
            severity: b.meta.severity.as_str().to_string(),
            status: b.meta.status.as_str().to_string(),
            first_seen: b.meta.first_seen,
            resolved_at: b.meta.resolution.as_ref().map(|r| r.at.clone()),
            resolution: b.meta.resolution.and_then(|r| r.note),
        })
        .collect())
}

/// The artifacts whose `## Follow-ups` section the report lists.
const FOLLOW_UP_ARTIFACTS: &[&str] = &["SUMMARY.md", "REVIEW.md"];

/// Follow-ups recorded as events (`close.followup`, with a `note`), then those the summary
/// and review list, each text once.
fn follow_ups(d: &TaskData) -> Vec<FollowUp> {
    let mut out: Vec<FollowUp> = vec![];
    for e in d.events.iter().filter(|e| e.type_.ends_with(".followup")) {
        let text = match e.payload.get("note").or_else(|| e.payload.get("text")) {
            Some(serde_json::Value::String(s)) => s.clone(),
            _ => e.payload.to_string(),
        };
        out.push(FollowUp {
            text,
            source: "event".into(),
            at: Some(e.ts.clone()),
        });
    }
    for name in FOLLOW_UP_ARTIFACTS {
        let Ok(text) = std::fs::read_to_string(d.p.task_dir(d.code).join(name)) else {
            continue;
        };
        let Some(body) = crate::gates::sections::find(&text, "Follow-ups") else {
            continue;
        };
        for line in crate::gates::sections::real_lines(body, None) {
            let t = line.trim_start_matches(['-', '*', '+', ' ']).trim();
            let none = t.trim_end_matches('.').eq_ignore_ascii_case("none");
            if !t.is_empty() && !none && !out.iter().any(|f| f.text == t) {
                out.push(FollowUp {
                    text: t.to_string(),
                    source: name.to_string(),
                    at: None,
                });
            }
        }
    }
    out
}

/// The agent hook's refusals as the events record them, oldest first; a path the agent
/// wrote absolute is shown relative to the worktree, as a reviewer knows it.
fn refusals(p: &Project, events: &[Event]) -> Vec<AgentRefusal> {
    let text = |e: &Event, k: &str| e.payload.get(k).and_then(|v| v.as_str()).map(String::from);
    let canonical = std::fs::canonicalize(&p.root).ok();
    let relative = |path: String| {
        let abs = std::path::Path::new(&path);
        let rel = std::iter::once(p.root.as_path())
            .chain(canonical.as_deref())
            .find_map(|root| abs.strip_prefix(root).ok())
            .filter(|rel| !rel.as_os_str().is_empty());
        match rel {
            Some(rel) => rel.to_string_lossy().replace('\\', "/"),
            None => path,
        }
    };
    events
        .iter()
        .filter(|e| e.type_ == super::agent::DENIED)
        .map(|e| AgentRefusal {
            at: e.ts.clone(),
            agent: text(e, "agent").unwrap_or_else(|| "?".into()),
            tool: text(e, "tool").unwrap_or_else(|| "?".into()),
            phase: text(e, "phase").unwrap_or_else(|| "?".into()),
            path: text(e, "path").map(relative),
            command: text(e, "command"),
        })
        .collect()
}

/// The agent hook's refusals counted per phase, in workflow order (a phase the workflow no
/// longer has last).
fn denials(p: &Project, events: &[Event]) -> Vec<Denials> {
    let mut out: Vec<Denials> = vec![];
    for r in refusals(p, events) {
        match out.iter_mut().find(|d| d.phase == r.phase) {
            Some(d) => d.count += 1,
            None => out.push(Denials {
                phase: r.phase,
                count: 1,
            }),
        }
    }
    out.sort_by_key(|d| p.workflow.index_of(&d.phase).unwrap_or(usize::MAX));
    out
}

fn links(d: &TaskData) -> Vec<Link> {
    d.doc
        .fields
        .get("links")
        .and_then(|v| crate::links::parse_links(v).ok())
        .unwrap_or_default()
}

/// Files a task folder holds beside the workflow's artifacts, linked when present: CHANGES.md
/// and the sessions' compacted record. A feature that keeps a new record names it here.
const RECORDS: &[&str] = &[crate::changes::FILE, crate::memory::postop::FILE];

/// The workflow's artifacts the task folder has, in workflow order, then its other records,
/// each once.
fn artifacts(d: &TaskData) -> Vec<ArtifactLink> {
    let wf = d.p.workflow.phases.iter().flat_map(|ph| {
        ph.def
            .artifacts
            .required
            .iter()
            .chain(&ph.def.artifacts.optional)
            .map(|a| a.name.as_str())
    });
    let mut out: Vec<ArtifactLink> = vec![];
    for name in wf.chain(RECORDS.iter().copied()) {
        if d.p.task_dir(d.code).join(name).is_file() && !out.iter().any(|x| x.name == name) {
            out.push(ArtifactLink {
                name: name.to_string(),
                path: format!("{}/{name}", d.p.task_rel(d.code)),
            });
        }
    }
    out
}
