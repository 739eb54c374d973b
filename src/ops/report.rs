//! A task's phase history read from git (`orch log`), and the pull-request report built on it
//! (`orch report`): phases with their transition commits, code commits per phase, artifacts,
//! and verify's verdict.

use crate::code::TaskCode;
use crate::git::history::{self, CommitMeta};
use crate::project::Project;
use crate::session::Session;
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
        });
    }
    Ok(out)
}

#[derive(Debug, Clone, Serialize)]
pub struct PhaseRow {
    pub phase: String,
    pub started: String,
    pub completed: Option<String>,
    pub duration: Option<String>,
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

#[derive(Debug, Clone, Serialize)]
pub struct ArtifactLink {
    pub name: String,
    pub path: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub task: String,
    pub title: String,
    pub current_phase: Option<String>,
    pub active: bool,
    pub phases: Vec<PhaseRow>,
    pub code_commits: Vec<PhaseCommits>,
    pub artifacts: Vec<ArtifactLink>,
    /// TASK.md's acceptance criteria with their state.
    pub criteria: Vec<crate::gates::criteria::Criterion>,
    /// The review's verdict and who gave it, once REVIEW.md says.
    pub review: Option<Review>,
    /// The last recorded run of each check.
    pub checks: Vec<crate::gates::checks::Run>,
    pub verdict: String,
    pub verified: bool,
    pub violations: Vec<verify::Violation>,
    /// Violations accepted on the record with `orch verify --accept`.
    pub waived: Vec<verify::Waived>,
    /// Violations a later commit undid.
    pub repaired: Vec<verify::Repaired>,
    /// Bugs the task found that are still open.
    pub open_bugs: Vec<OpenBug>,
    /// Tool calls of a coding agent refused because they wrote code before the code phase
    /// (`orchestration.agent.denied`), by phase.
    pub agent_denials: Vec<Denials>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Denials {
    pub phase: String,
    pub count: usize,
}

/// The refusals of the agent hook, counted per phase in workflow order.
fn denials(p: &Project, events: &[crate::event::Event]) -> Vec<Denials> {
    let mut out: Vec<Denials> = vec![];
    for e in events.iter().filter(|e| e.type_ == super::agent::DENIED) {
        let phase = e.payload["phase"].as_str().unwrap_or("?");
        match out.iter_mut().find(|d| d.phase == phase) {
            Some(d) => d.count += 1,
            None => out.push(Denials {
                phase: phase.into(),
                count: 1,
            }),
        }
    }
    out.sort_by_key(|d| p.workflow.index_of(&d.phase).unwrap_or(usize::MAX));
    out
}

#[derive(Debug, Clone, Serialize)]
pub struct OpenBug {
    pub id: String,
    pub title: String,
    pub severity: String,
    pub occurrences: usize,
}

/// The task's open bugs, for the report.
fn open_bugs(p: &Project, code: &TaskCode) -> Result<Vec<OpenBug>> {
    Ok(super::bug::open_for_task(p, code)?
        .into_iter()
        .map(|b| OpenBug {
            occurrences: b.occurrences,
            id: b.meta.id,
            title: b.meta.title,
            severity: b.meta.severity.as_str().to_string(),
        })
        .collect())
}

fn bugs_section(s: &mut String, r: &Report) {
    s.push_str("\n### Open bugs\n\n");
    for b in &r.open_bugs {
        s.push_str(&format!(
            "- {} ({}, seen {}×): {}\n",
            b.id,
            b.severity,
            b.occurrences,
            b.title.replace('|', "\\|")
        ));
    }
    if r.open_bugs.is_empty() {
        s.push_str("None.\n");
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Review {
    pub verdict: crate::gates::verdict::Verdict,
    /// REVIEW.md's `reviewer:`, else whoever completed the review phase.
    pub reviewer: Option<String>,
}

/// The verdict of the review artifact the workflow names, if it gives one.
fn review(p: &Project, code: &TaskCode, events: &[crate::event::Event]) -> Option<Review> {
    let (phase, name) = p
        .workflow
        .phases
        .iter()
        .find_map(|ph| ph.def.validation.verdict.as_ref().map(|v| (ph, v)))?;
    let text = std::fs::read_to_string(p.task_dir(code).join(name)).ok()?;
    let crate::gates::verdict::Reading::Given { verdict, reviewer } =
        crate::gates::verdict::read(&text)
    else {
        return None;
    };
    let ended = crate::event::phase_end(&phase.name);
    let reviewer = reviewer.or_else(|| {
        events
            .iter()
            .rev()
            .find(|e| e.type_ == ended)
            .map(|e| e.actor.clone())
    });
    Some(Review { verdict, reviewer })
}

/// The newest run of each check, by check name.
fn last_runs(events: &[crate::event::Event]) -> Vec<crate::gates::checks::Run> {
    let mut out: Vec<crate::gates::checks::Run> = Vec::new();
    for r in super::check::runs_of(events) {
        match out.iter_mut().find(|x| x.check == r.check) {
            Some(x) => *x = r,
            None => out.push(r),
        }
    }
    out
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

/// `orch report`: the task's phases with their transition commits, its code commits grouped
/// by phase, its artifacts, and verify's verdict on its history.
pub fn report(p: &Project, code: &TaskCode) -> Result<Report> {
    let doc = p.load_doc(code)?;
    let session = p.load_session(code)?;
    let entries = log(p, code)?;
    let phases = session
        .as_ref()
        .map(|s| phase_rows(s, &entries))
        .unwrap_or_default();
    let (mut code_commits, verdict_report) = match p.git.head_id()? {
        Some(head) => (
            code_commits(p, code, head)?,
            verify::verify(p, &[head], &[], &[code.to_string()])?,
        ),
        None => (vec![], VerifyReport::default()),
    };
    code_commits.sort_by_key(|g| p.workflow.index_of(&g.phase).unwrap_or(usize::MAX));
    for g in &mut code_commits {
        g.commits.reverse();
    }
    let events = super::event::read_all(p, code)?;
    let task_text = std::fs::read_to_string(p.task_dir(code).join("TASK.md")).unwrap_or_default();
    Ok(Report {
        task: code.to_string(),
        title: doc.title(),
        current_phase: session.as_ref().map(|s| s.current_phase.clone()),
        active: session.as_ref().is_some_and(|s| s.active),
        phases,
        code_commits,
        artifacts: artifacts(p, code),
        criteria: crate::gates::criteria::parse(&task_text).items,
        review: review(p, code, &events),
        checks: last_runs(&events),
        verdict: verdict_report.verdict(),
        verified: verdict_report.ok(),
        violations: verdict_report.violations,
        waived: verdict_report.waived,
        repaired: verdict_report.repaired,
        open_bugs: open_bugs(p, code)?,
        agent_denials: denials(p, &events),
    })
}

/// One row per completed phase, paired in order with the transition commits of `entries`
/// (newest first, as `log` returns them), and one for the phase an active session is in.
fn phase_rows(s: &Session, entries: &[LogEntry]) -> Vec<PhaseRow> {
    let mut transitions: Vec<&LogEntry> = entries
        .iter()
        .filter(|e| e.kind != "start" && e.kind != "none" && e.kind != "edit")
        .collect();
    transitions.reverse();
    let mut phases = vec![];
    for (i, h) in s.phase_history.iter().enumerate() {
        phases.push(PhaseRow {
            phase: h.phase.clone(),
            started: h.started_at.clone(),
            completed: Some(h.completed_at.clone()),
            duration: duration(&h.started_at, &h.completed_at),
            commit: transitions.get(i).map(|e| e.commit.clone()),
            override_: h.override_.as_ref().map(|o| o.reason.clone()),
        });
    }
    if s.active {
        phases.push(PhaseRow {
            phase: s.current_phase.clone(),
            started: s.phase_started_at().to_string(),
            completed: None,
            duration: None,
            commit: entries.first().map(|e| e.commit.clone()),
            override_: None,
        });
    }
    phases
}

/// The task's code commits reachable from `head` (commits with its `Orchestration-Task`
/// trailer that orch did not make), newest first, grouped by their phase trailer.
fn code_commits(p: &Project, code: &TaskCode, head: ObjectId) -> Result<Vec<PhaseCommits>> {
    let repo = &p.git.repo;
    let mut groups: Vec<PhaseCommits> = vec![];
    for id in history::range_commits(repo, &[head], &[])? {
        let c: CommitMeta = history::commit_meta(repo, id)?;
        if c.subject().starts_with("orch(")
            || c.trailer("Orchestration-Task") != Some(code.as_str())
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
    Ok(groups)
}

/// The workflow's artifacts the task folder has, in workflow order, each once.
fn artifacts(p: &Project, code: &TaskCode) -> Vec<ArtifactLink> {
    let mut artifacts = vec![];
    for ph in &p.workflow.phases {
        for a in ph
            .def
            .artifacts
            .required
            .iter()
            .chain(&ph.def.artifacts.optional)
        {
            if p.task_dir(code).join(&a.name).is_file()
                && !artifacts.iter().any(|x: &ArtifactLink| x.name == a.name)
            {
                artifacts.push(ArtifactLink {
                    name: a.name.clone(),
                    path: format!("{}/{}", p.task_rel(code), a.name),
                });
            }
        }
    }
    // The sessions' compacted record, once one closed.
    if p.task_dir(code).join(crate::memory::postop::FILE).is_file() {
        artifacts.push(ArtifactLink {
            name: crate::memory::postop::FILE.into(),
            path: format!("{}/{}", p.task_rel(code), crate::memory::postop::FILE),
        });
    }
    artifacts
}

fn short(c: &str) -> &str {
    &c[..c.len().min(7)]
}

/// The report as GitHub-flavoured Markdown.
pub fn markdown(r: &Report) -> String {
    let mut s = format!("## {} — {}\n\n", r.task, r.title.replace('|', "\\|"));
    let state = match (&r.current_phase, r.active) {
        (Some(p), true) => format!("in **{p}**"),
        (Some(p), false) => format!("session ended in **{p}**"),
        (None, _) => "no session yet".into(),
    };
    s.push_str(&format!("Status: {state}\n\n"));
    s.push_str("| Phase | Started | Completed | Duration | Transition commit | Override |\n");
    s.push_str("|---|---|---|---|---|---|\n");
    for row in &r.phases {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            row.phase,
            row.started,
            row.completed.as_deref().unwrap_or("—"),
            row.duration.as_deref().unwrap_or("—"),
            row.commit
                .as_deref()
                .map(|c| format!("`{}`", short(c)))
                .unwrap_or_else(|| "—".into()),
            row.override_
                .as_deref()
                .map(|o| format!("⚠ {}", o.replace('|', "\\|")))
                .unwrap_or_else(|| "—".into()),
        ));
    }
    s.push_str("\n### Code commits by phase\n\n");
    if r.code_commits.is_empty() {
        s.push_str("None recorded (code commits carry `Orchestration-Task` trailers once `orch hooks install` ran).\n");
    }
    for g in &r.code_commits {
        s.push_str(&format!("- **{}** ({})\n", g.phase, g.commits.len()));
        for c in &g.commits {
            s.push_str(&format!("  - `{}` {}\n", short(&c.commit), c.subject));
        }
    }
    s.push_str("\n### Acceptance criteria\n\n");
    if r.criteria.is_empty() {
        s.push_str("None listed.\n");
    }
    for c in &r.criteria {
        let line = match &c.state {
            crate::gates::criteria::State::Open => format!("- [ ] {} — open", c.text),
            crate::gates::criteria::State::Done => format!("- [x] {}", c.text),
            crate::gates::criteria::State::Dropped { reason } => {
                format!("- [~] ~~{}~~ — dropped: {reason}", c.text)
            }
        };
        s.push_str(&line);
        s.push('\n');
    }
    if let Some(rv) = &r.review {
        let by = rv
            .reviewer
            .as_deref()
            .map(|w| format!(" by {w}"))
            .unwrap_or_default();
        s.push_str(&format!("\n**Review:** {}{by}\n", rv.verdict.as_str()));
    }
    if !r.checks.is_empty() {
        s.push_str("\n### Checks (last run)\n\n");
        for c in &r.checks {
            let mark = if c.passed { "✅" } else { "❌" };
            let at = c.commit.as_deref().map(short).unwrap_or("—");
            let clean = if c.clean { "" } else { ", uncommitted changes" };
            s.push_str(&format!(
                "- {mark} {} (`{}`) on `{at}`, {:.1} s{clean}\n",
                c.check,
                c.command,
                c.duration_ms as f64 / 1000.0
            ));
        }
    }
    s.push_str("\n### Artifacts\n\n");
    for a in &r.artifacts {
        s.push_str(&format!("- [{}]({})\n", a.name, a.path));
    }
    if r.artifacts.is_empty() {
        s.push_str("None yet.\n");
    }
    bugs_section(&mut s, r);
    if !r.agent_denials.is_empty() {
        let total: usize = r.agent_denials.iter().map(|d| d.count).sum();
        let by: Vec<String> = r
            .agent_denials
            .iter()
            .map(|d| format!("{} in {}", d.count, d.phase))
            .collect();
        s.push_str(&format!(
            "\n**Agent edits refused before the code phase:** {total} ({})\n",
            by.join(", ")
        ));
    }
    let mark = if r.verified { "✅" } else { "❌" };
    s.push_str(&format!("\n**Verify:** {mark} {}\n", r.verdict));
    for v in &r.violations {
        s.push_str(&format!("- {}\n", v.line()));
    }
    for w in &r.waived {
        s.push_str(&format!(
            "- waived: {} — accepted by {} at {}: {}\n",
            w.violation.line(),
            w.waiver.author,
            w.waiver.at,
            w.waiver.reason
        ));
    }
    for rep in &r.repaired {
        s.push_str(&format!(
            "- repaired: {} — undone by commit {}\n",
            rep.violation.line(),
            short(&rep.repaired_by)
        ));
    }
    s
}
