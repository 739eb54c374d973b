//! `orch memory add|list|pin|unpin|forget` and `orch compact`.

use super::args::MemoryCmd;
use super::render::{self, Out, Tone};
use orch::memory::Note;
use orch::ops::compact;
use orch::ops::memory::{self, AddRequest, Changed};
use orch::project::Project;
use orch::Result;

pub fn memory(p: &Project, out: &Out, cmd: &MemoryCmd) -> Result<()> {
    let changed = match cmd {
        MemoryCmd::Add {
            args,
            pin,
            tags,
            scope,
        } => {
            let (code, text) = super::code_and(args);
            memory::add(
                p,
                &AddRequest {
                    code,
                    text,
                    pin: *pin,
                    tags,
                    scope: scope.as_deref(),
                },
            )?
        }
        MemoryCmd::List { code, all } => return list(p, out, code.as_deref(), *all),
        MemoryCmd::Pin { id } => memory::pin(p, id)?,
        MemoryCmd::Unpin { id } => memory::unpin(p, id)?,
        MemoryCmd::Forget { id } => memory::forget(p, id)?,
    };
    said(out, &changed);
    Ok(())
}

fn said(out: &Out, c: &Changed) {
    if out.json {
        out.json_ok(c, &[]);
        return;
    }
    let n = &c.note;
    let where_ = match c.action.as_str() {
        "forgotten" => String::new(),
        _ => format!(" ({})", c.stored_in),
    };
    out.say(&format!(
        "{} {} {}{where_}{}",
        out.paint(Tone::Good, "✓"),
        n.id,
        c.action,
        render::commit_note(c.commit.as_ref())
    ));
}

fn line(out: &Out, n: &Note) -> String {
    let kind = match (n.pinned, n.scope.as_str()) {
        (_, "project") => "project",
        (true, _) => "pinned",
        (false, _) => "scratch",
    };
    let tags = if n.tags.is_empty() {
        String::new()
    } else {
        format!(" [{}]", n.tags.join(", "))
    };
    let task = n
        .task
        .as_deref()
        .map(|t| format!("{t} "))
        .unwrap_or_default();
    format!(
        "{} {task}{kind:<7} {}{}",
        out.paint(Tone::Dim, &n.id),
        n.text.replace('\n', "\n    "),
        out.paint(Tone::Dim, &tags)
    )
}

fn list(p: &Project, out: &Out, code: Option<&str>, all: bool) -> Result<()> {
    let l = memory::list(p, code, all)?;
    if out.json {
        out.json_ok(&l, &[]);
        return Ok(());
    }
    if l.notes.is_empty() {
        out.say(match &l.task {
            Some(_) => "No notes yet: `orch memory add \"...\"` writes one (--pin keeps it)",
            None => "No notes yet",
        });
        return Ok(());
    }
    for n in &l.notes {
        out.say(&line(out, n));
    }
    Ok(())
}

pub fn compact(p: &Project, out: &Out, older_than: &str, dry_run: bool) -> Result<()> {
    let r = compact::compact(p, older_than, dry_run)?;
    if out.json {
        out.json_ok(&r, &[]);
        return Ok(());
    }
    let verb = if dry_run { "would fold" } else { "folded" };
    for t in &r.tasks {
        out.say(&format!(
            "{} {verb} {} events ({} bytes) into POSTOP.md (+{} bytes)",
            t.task, t.events, t.log_bytes, t.postop_bytes_added
        ));
    }
    for s in &r.skipped {
        out.say(&format!(
            "{} {} left as is: {}",
            out.paint(Tone::Warn, "!"),
            s.task,
            s.reason
        ));
    }
    if r.tasks.is_empty() {
        out.say(&format!(
            "Nothing to compact: no task's session ended before {} with its event log still in the working tree",
            r.cutoff
        ));
        return Ok(());
    }
    out.say(&format!(
        "{} {} task{}: {} bytes of event logs {}, POSTOP.md +{} bytes, {} bytes saved{}",
        out.paint(Tone::Good, "✓"),
        r.tasks.len(),
        if r.tasks.len() == 1 { "" } else { "s" },
        r.log_bytes,
        if dry_run { "would go" } else { "removed" },
        r.postop_bytes_added,
        r.saved_bytes,
        render::commit_note(r.commit.as_ref())
    ));
    Ok(())
}
