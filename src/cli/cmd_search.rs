//! `orch search` and `orch sprint`.

use super::args::{SearchArgs, SprintCmd};
use super::render::{Out, Tone};
use orch::ops;
use orch::project::Project;
use orch::search::{Hit, Outcome, Request, ScopeKind, Snippet};
use orch::Result;

pub fn search(p: &Project, out: &Out, a: &SearchArgs) -> Result<()> {
    if a.query.is_empty() {
        let r = ops::search::reindex(p)?;
        if out.json {
            out.json_ok(&serde_json::json!({ "reindexed": r }), &[]);
        } else {
            out.say(&format!(
                "{} Rebuilt the search index: {} files, {} documents",
                out.paint(Tone::Good, "✓"),
                r.files_read,
                r.documents
            ));
        }
        return Ok(());
    }
    let req = Request {
        query: a.query.join(" "),
        scope: a.scope.as_deref().map(ScopeKind::parse).transpose()?,
        task: a.task.clone(),
        sprint: a.sprint.clone(),
        type_: a.type_.clone(),
        kinds: a.kinds.clone(),
        since: a.since.clone(),
        limit: a.limit,
        reindex: a.reindex,
    };
    let o = ops::search::search(p, &req)?;
    if out.json {
        out.json_ok(&o, &[]);
    } else if a.markdown {
        out.say(&markdown(&o));
    } else {
        human(out, &o);
    }
    Ok(())
}

fn scope_text(o: &Outcome) -> String {
    let s = &o.scope;
    match s.kind {
        ScopeKind::Project => "the project".into(),
        ScopeKind::Task => format!("task {}", s.task.as_deref().unwrap_or("")),
        ScopeKind::Session => format!(
            "session {} of {}",
            s.session.as_deref().unwrap_or(""),
            s.task.as_deref().unwrap_or("")
        ),
        ScopeKind::Sprint => format!("sprint {}", s.sprint.as_deref().unwrap_or("")),
    }
}

/// Where a hit is: file and section, or event id and time.
fn location(h: &Hit) -> String {
    match h.kind.as_str() {
        "event" => format!(
            "{} {} at {} ({} line {})",
            h.type_.as_deref().unwrap_or("event"),
            h.event_id.as_deref().unwrap_or(""),
            h.ts.as_deref().unwrap_or("?"),
            h.path,
            h.line
        ),
        "bug" => format!(
            "{} {} ({})",
            h.path,
            h.bug.as_deref().unwrap_or(""),
            h.status.as_deref().unwrap_or("status unknown")
        ),
        _ => match &h.section {
            Some(s) => format!("{} § {} (line {})", h.path, s, h.line),
            None => h.path.clone(),
        },
    }
}

/// The snippet with each match wrapped by `mark`.
fn marked(s: &Snippet, mark: &dyn Fn(&str) -> String) -> String {
    let mut text = String::with_capacity(s.text.len() + 16);
    let mut at = 0;
    for [a, b] in &s.highlights {
        text.push_str(&s.text[at..*a]);
        text.push_str(&mark(&s.text[*a..*b]));
        at = *b;
    }
    text.push_str(&s.text[at..]);
    text
}

fn footer(o: &Outcome) -> String {
    let idx = &o.index;
    let note = if idx.rebuilt {
        format!("; index built from {} files", idx.files_read)
    } else if idx.files_reindexed + idx.files_removed > 0 {
        match idx.files_reindexed + idx.files_removed {
            1 => "; index refreshed: 1 file re-read".to_string(),
            n => format!("; index refreshed: {n} files re-read"),
        }
    } else {
        String::new()
    };
    format!(
        "{} of {} results in {}{note}",
        o.hits.len(),
        o.total,
        scope_text(o)
    )
}

fn human(out: &Out, o: &Outcome) {
    if o.hits.is_empty() {
        out.say(&format!(
            "Nothing matches {:?} in {}.",
            o.query,
            scope_text(o)
        ));
        return;
    }
    for h in &o.hits {
        out.say(&format!(
            "{} · {} · {}",
            out.paint(Tone::Bold, h.task.as_deref().unwrap_or("-")),
            h.kind,
            out.paint(Tone::Dim, &location(h))
        ));
        if !h.title.is_empty() && h.kind != "event" {
            out.say(&format!("  {}", h.title));
        }
        out.say(&format!(
            "    {}",
            marked(&h.snippet, &|w| out.paint(Tone::Warn, w))
        ));
    }
    out.say(&out.paint(Tone::Dim, &footer(o)));
}

fn markdown(o: &Outcome) -> String {
    let mut s = format!("# Search: {}\n\n", o.query);
    for h in &o.hits {
        s.push_str(&format!(
            "- **{}** · {} · `{}`\n  {}\n",
            h.task.as_deref().unwrap_or("-"),
            h.kind,
            location(h),
            marked(&h.snippet, &|w| format!("**{w}**"))
        ));
    }
    if o.hits.is_empty() {
        s.push_str("Nothing matches.\n");
    }
    s.push_str(&format!("\n{}\n", footer(o)));
    s
}

pub fn sprint(p: &Project, out: &Out, c: &SprintCmd) -> Result<()> {
    match c {
        SprintCmd::List => {
            let list = ops::search::sprint_list(p)?;
            if out.json {
                out.json_ok(&serde_json::json!({ "sprints": list }), &[]);
                return Ok(());
            }
            if list.is_empty() {
                out.say("No sprints yet: no task names one (`orch task new --sprint S`).");
            }
            for s in &list {
                out.say(&sprint_line(out, s));
            }
        }
        SprintCmd::Show { sprint } => {
            let d = ops::search::sprint_show(p, sprint)?;
            if out.json {
                out.json_ok(&d, &[]);
                return Ok(());
            }
            out.say(&sprint_line(out, &d.sprint));
            for t in &d.task_list {
                let phase = match (&t.phase, t.active) {
                    (None, _) => "not started".to_string(),
                    (Some(_), false) => "done".to_string(),
                    (Some(p), true) => p.clone(),
                };
                out.say(&format!("  {:<14} {:<12} {}", t.task, phase, t.title));
            }
        }
    }
    Ok(())
}

fn sprint_line(out: &Out, s: &ops::search::Sprint) -> String {
    let phases: Vec<String> = s
        .by_phase
        .iter()
        .map(|(k, v)| match k.as_str() {
            "not_started" => format!("not started {v}"),
            _ => format!("{k} {v}"),
        })
        .collect();
    format!(
        "{}  {}/{} done ({}%)  {}",
        out.paint(Tone::Bold, &s.sprint),
        s.done,
        s.tasks,
        s.progress,
        phases.join(" · ")
    )
}
