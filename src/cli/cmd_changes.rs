//! `orch changes`: CHANGES.md from the execute phase's diff, written or printed.

use super::render::{commit_note, Out, Tone};
use orch::changes::{self, Options};
use orch::ops;
use orch::project::Project;
use orch::Result;
use std::io::Write;

pub fn changes(
    p: &Project,
    out: &Out,
    code: Option<&str>,
    opts: &Options,
    stdout: bool,
) -> Result<()> {
    let code = p.resolve_code(code)?;
    if stdout {
        let c = ops::changes::preview(p, &code, opts)?;
        let text = changes::render(&c);
        let warn: Vec<_> = c.off_branch.iter().cloned().collect();
        if out.json {
            out.json_ok(&json_of(&c, &text, None), &warn);
        } else {
            out.warnings(&warn);
            let mut o = std::io::stdout().lock();
            let _ = o.write_all(text.as_bytes());
        }
        return Ok(());
    }
    let (w, c) = ops::changes::write(p, &code, opts)?;
    let warn: Vec<_> = c.off_branch.iter().cloned().collect();
    if out.json {
        out.json_ok(&json_of(&c, &changes::render(&c), Some(&w)), &warn);
        return Ok(());
    }
    out.warnings(&warn);
    for d in &warn {
        out.say(&format!("  fix: {}", d.fix));
    }
    let what = if !w.changed {
        format!("{} is up to date ({})", w.path, w.summary)
    } else {
        let commit = commit_note(w.commit.as_ref());
        format!("Wrote {}: {}{commit}", w.path, w.summary)
    };
    out.say(&format!("{} {what}", out.paint(Tone::Good, "✓")));
    if w.range_recorded {
        out.say("  the execute range in session.json now uses the given commits");
    }
    Ok(())
}

fn json_of(
    c: &changes::Changes,
    text: &str,
    w: Option<&ops::changes::Written>,
) -> serde_json::Value {
    serde_json::json!({
        "task": c.task,
        "base": c.base.map(|b| b.to_string()),
        "head": c.head.to_string(),
        "stat": c.stat,
        "shortstat": c.stat.shortstat(),
        "files": c.file_entries(),
        "commits": c.commits,
        "orch_only_commits": c.orch_only_commits,
        "markdown": text,
        "written": w,
    })
}
