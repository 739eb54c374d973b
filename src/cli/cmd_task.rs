//! `orch task new|list|show|link`.

use super::args::{Cli, TaskCmd};
use super::render::{commit_note, Out, Tone};
use orch::ops;
use orch::ops::task::{ListFilter, NewTask, TaskDetail};
use orch::project::Project;
use orch::session::Session;
use orch::task::TaskSummary;
use orch::{Error, Result};

pub fn task(cli: &Cli, out: &Out, t: &TaskCmd) -> Result<()> {
    match t {
        TaskCmd::New {
            code,
            title,
            description,
            tags,
            sprint,
            criteria,
        } => {
            let req = NewTask {
                code: code.clone(),
                title: title.clone(),
                description: description.clone(),
                tags: tags.clone(),
                sprint: sprint.clone(),
                criteria: criteria.clone(),
            };
            new(&super::open(cli)?, out, &req)
        }
        TaskCmd::Link {
            code,
            pr,
            issue,
            commit,
        } => link(
            &super::open(cli)?,
            out,
            code.as_deref(),
            pr.as_deref(),
            issue.as_deref(),
            commit.as_deref(),
        ),
        TaskCmd::List {
            phase,
            sprint,
            active,
        } => {
            let f = ListFilter {
                phase: phase.clone(),
                sprint: sprint.clone(),
                active: *active,
            };
            list(&super::open(cli)?, out, &f)
        }
        TaskCmd::Show { code } => show(&super::open(cli)?, out, code.as_deref()),
    }
}

fn new(p: &Project, out: &Out, req: &NewTask) -> Result<()> {
    let r = ops::task::new(p, req)?;
    if out.json {
        out.json_ok(&r, &[]);
    } else {
        let commit = commit_note(r.commit.as_ref());
        out.say(&format!(
            "{} Created {} at {}{commit}",
            out.paint(Tone::Good, "✓"),
            r.task,
            r.path
        ));
        out.say(&format!("  next: orch session start {}", r.task));
    }
    Ok(())
}

fn list(p: &Project, out: &Out, f: &ListFilter) -> Result<()> {
    let tasks = ops::task::list(p, f)?;
    if out.json {
        out.json_ok(&serde_json::json!({ "tasks": tasks }), &[]);
    } else if tasks.is_empty() && (f.phase.is_some() || f.sprint.is_some() || f.active) {
        out.say("No tasks match these filters; `orch task list` shows every task.");
    } else {
        table(out, &tasks, p.current_task()?.as_ref().map(|c| c.as_str()));
    }
    Ok(())
}

fn show(p: &Project, out: &Out, code: Option<&str>) -> Result<()> {
    let code = p.resolve_code(code)?;
    let d = ops::task::show(p, &code)?;
    if out.json {
        out.json_ok(&d, &[]);
        return Ok(());
    }
    out.say(&out.paint(Tone::Bold, &format!("{}  {}", d.task, d.title)));
    out.say(&format!("  path:        {}", d.path));
    out.say(&format!("  status:      {}", d.status));
    if !d.description.is_empty() {
        out.say(&format!("  description: {}", d.description));
    }
    if !d.tags.is_empty() {
        out.say(&format!("  tags:        {}", d.tags.join(", ")));
    }
    if let Some(s) = &d.sprint {
        out.say(&format!("  sprint:      {s}"));
    }
    for l in &d.links {
        out.say(&format!("  link:        {} {}", l.kind, l.target));
    }
    show_session(out, &d);
    out.say(&format!("  files:       {}", d.files.join(", ")));
    out.say(&format!("  events:      {}", d.event_count));
    Ok(())
}

fn show_session(out: &Out, d: &TaskDetail) {
    let Some(s) = &d.session else {
        out.say("  session:     none (start one with `orch session start`)");
        return;
    };
    out.say(&format!(
        "  session:     {} ({}), phase {}",
        s.session_key,
        if s.active { "active" } else { "ended" },
        s.current_phase
    ));
    show_history(out, s);
}

fn show_history(out: &Out, s: &Session) {
    for h in &s.phase_history {
        let ov = h
            .override_
            .as_ref()
            .map(|o| format!("  override: {}", o.reason))
            .unwrap_or_default();
        out.say(&format!(
            "    {:<9} {} → {}  {}{ov}",
            h.phase,
            h.started_at,
            h.completed_at,
            h.transition.clone().unwrap_or_default()
        ));
    }
}

pub fn link(
    p: &Project,
    out: &Out,
    code: Option<&str>,
    pr: Option<&str>,
    issue: Option<&str>,
    commit: Option<&str>,
) -> Result<()> {
    let code = p.resolve_code(code)?;
    let (kind, target) = match (pr, issue, commit) {
        (Some(u), _, _) => ("pr", u),
        (_, Some(u), _) => ("issue", u),
        (_, _, Some(s)) => ("commit", s),
        _ => {
            return Err(
                Error::usage("say what to link: --pr URL, --issue URL or --commit SHA").with_hint(
                    format!(
                        "e.g. `orch task link {code} --pr https://github.com/org/repo/pull/12`"
                    ),
                ),
            )
        }
    };
    let r = ops::link::add(p, &code, kind, target)?;
    if out.json {
        out.json_ok(&r, &[]);
    } else if r.added {
        let commit = commit_note(r.commit.as_ref());
        out.say(&format!(
            "{} Linked {} {} to {code}{commit}",
            out.paint(Tone::Good, "✓"),
            r.link.kind,
            r.link.target
        ));
    } else {
        out.say(&format!(
            "{code} already links {} {}",
            r.link.kind, r.link.target
        ));
    }
    Ok(())
}

/// The task list: a marker on the current task, one line per task.
pub fn table(out: &Out, tasks: &[TaskSummary], current: Option<&str>) {
    use std::fmt::Write as _;
    if tasks.is_empty() {
        out.say("No tasks yet. Create one with `orch task new --title \"...\"`.");
        return;
    }
    let w = tasks.iter().map(|t| t.task.len()).max().unwrap_or(4).max(4);
    let mut s = String::with_capacity(tasks.len() * 80);
    s.push_str(&out.paint(
        Tone::Bold,
        &format!(
            "  {:<w$}  {:<9} {:<7} {:<12} TITLE",
            "TASK", "PHASE", "SESSION", "STATUS"
        ),
    ));
    for t in tasks {
        let mark = if Some(t.task.as_str()) == current {
            '*'
        } else {
            ' '
        };
        let phase = t.phase.as_deref().unwrap_or("-");
        let sess = if t.phase.is_none() {
            "-"
        } else if t.active {
            "active"
        } else {
            "ended"
        };
        let _ = write!(
            s,
            "\n{mark} {:<w$}  {phase:<9} {sess:<7} {:<12} ",
            t.task, t.status
        );
        match &t.error {
            Some(e) => s.push_str(&out.paint(Tone::Bad, &format!("unreadable: {e}"))),
            None => s.push_str(&t.title),
        }
    }
    out.say(&s);
}
