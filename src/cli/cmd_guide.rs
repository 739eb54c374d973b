//! `orch next` and `orch prime`: what an agent reads on every step, kept short.

use super::render::{Out, Tone};
use orch::ops::guide::{self, Next};
use orch::project::Project;
use orch::Result;

pub fn next(p: &Project, out: &Out, code: Option<&str>) -> Result<()> {
    let n = guide::next(p, code)?;
    if out.json {
        out.json_compact(&n, &[]);
        return Ok(());
    }
    for line in lines(out, &n) {
        out.say(&line);
    }
    Ok(())
}

/// Three to six lines: the task and where it stands, what blocks, what to record, the command.
fn lines(out: &Out, n: &Next) -> Vec<String> {
    let cmd = |c: &Option<String>| out.paint(Tone::Bold, c.as_deref().unwrap_or(""));
    if n.state == "none" {
        let mut v = vec![if n.tasks.is_empty() {
            "No current task and no open tasks.".to_string()
        } else {
            "No current task. Open tasks (active first):".to_string()
        }];
        for t in n.tasks.iter().take(4) {
            let phase = t.phase.as_deref().unwrap_or("not started");
            v.push(format!("  {}  {phase:<11} {}", t.task, t.title));
        }
        v.push(format!("Pick one up: {}", cmd(&n.command)));
        return v;
    }
    let task = n.task.as_deref().unwrap_or("");
    let title = n.title.as_deref().unwrap_or("");
    let phase = n.phase.as_deref().unwrap_or("");
    let step = n.step.as_deref().unwrap_or("?");
    let mut v = vec![out.paint(Tone::Bold, &format!("{task} · {title}"))];
    match n.state.as_str() {
        "done" => {
            v.push(format!(
                "{} done: session ended, {}",
                out.paint(Tone::Good, "✓"),
                n.ended.as_deref().unwrap_or("")
            ));
            v.push(format!(
                "Report: {}   (open tasks: orch next)",
                cmd(&n.command)
            ));
            return v;
        }
        "not_started" => v.push(format!("phase {phase} ({step}), no session yet")),
        _ => v.push(format!(
            "phase {phase} ({step}), {}",
            if n.ready { "ready" } else { "blocked" }
        )),
    }
    for b in n.blockers.iter().take(2) {
        let fix = b.fix.lines().next().unwrap_or("");
        v.push(format!(
            "  {} {}: {fix}",
            out.paint(Tone::Bad, "✗"),
            b.target
        ));
    }
    if !n.events.is_empty() {
        let types: Vec<&str> = n.events.iter().map(|e| e.type_.as_str()).collect();
        v.push(format!(
            "Record: orch event add {task} <{}>",
            types.join("|")
        ));
    }
    let when = if n.ready { "Next" } else { "Then" };
    v.push(format!(
        "{when}: {}   (instructions: {})",
        cmd(&n.command),
        n.instructions.as_deref().unwrap_or("")
    ));
    v
}

pub fn prime(p: &Project, out: &Out, code: Option<&str>) -> Result<()> {
    let pr = guide::prime(p, code)?;
    if out.json {
        out.json_compact(&pr, &[]);
        return Ok(());
    }
    out.say(&prime_text(&pr));
    Ok(())
}

/// `orch next`'s lines, without colour: for an agent's context when no task is current.
pub fn next_text(n: &Next) -> String {
    lines(&Out::new(false, false, true), n).join("\n")
}

/// `orch prime`'s text.
pub fn prime_text(pr: &guide::Prime) -> String {
    let mut s = format!(
        "{} · {} — {} {}",
        pr.task,
        pr.title,
        pr.phase,
        pr.step.as_deref().unwrap_or("")
    );
    if pr.state != "active" {
        s.push_str(&format!(" ({})", pr.state.replace('_', " ")));
    }
    if let Some(c) = &pr.command {
        s.push_str(&format!("\nNext: {c}"));
    }
    for b in &pr.blockers {
        s.push_str(&format!("\n✗ {b}"));
    }
    for n in &pr.pins {
        s.push_str(&format!("\n📌 {n}"));
    }
    for n in &pr.settled {
        s.push_str(&format!("\n= {n}"));
    }
    for b in &pr.open_bugs {
        s.push_str(&format!("\n🐞 {b}"));
    }
    for c in &pr.open_criteria {
        s.push_str(&format!("\n- [ ] {c}"));
    }
    for n in &pr.notes {
        s.push_str(&format!("\n* {n}"));
    }
    if !pr.pointers.is_empty() {
        s.push_str(&format!("\nMore: {}", pr.pointers.join(" · ")));
    }
    for o in &pr.omitted {
        s.push_str(&format!("\n(left out: {o})"));
    }
    s
}
