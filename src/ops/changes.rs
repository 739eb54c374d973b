//! `orch changes`: CHANGES.md computed from the execute phase's diff, previewed or written and
//! committed; and the regenerated file that transitions carry.

use crate::changes::{
    compute, compute_checked, in_execute, recorded_range, render, Changes, Options, FILE,
};
use crate::code::TaskCode;
use crate::project::Project;
use crate::session::{ExecuteRange, Session};
use crate::store::FileWrite;
use crate::Result;
use serde::Serialize;

/// Whether an existing CHANGES.md was written with `--patch`, so regenerating keeps its form.
fn has_patch(text: &str) -> bool {
    text.contains("\n## Patch\n")
}

/// The regenerated CHANGES.md to include in a transition, if there is anything to write:
/// nothing when the task never reached execute. Keeps the `--patch` form of an existing file.
pub fn derived_write(p: &Project, code: &TaskCode, s: &Session) -> Result<Option<FileWrite>> {
    if recorded_range(s).is_none() {
        return Ok(None);
    }
    let path = p.task_dir(code).join(FILE);
    let old = std::fs::read_to_string(&path).ok();
    let opts = Options {
        patch: old.as_deref().is_some_and(has_patch),
        ..Options::default()
    };
    let text = render(&compute(p, code, Some(s), &opts)?);
    if old.as_deref() == Some(text.as_str()) {
        return Ok(None);
    }
    Ok(Some(FileWrite {
        path,
        bytes: text.into_bytes(),
    }))
}

#[derive(Debug, Clone, Serialize)]
pub struct Written {
    pub task: String,
    pub path: String,
    /// False when CHANGES.md already had this content (nothing written, nothing committed).
    pub changed: bool,
    pub commit: Option<String>,
    /// The range was re-recorded in session.json (from `--base`/`--head`).
    pub range_recorded: bool,
    pub summary: String,
}

/// `orch changes`: computes the changes without writing anything.
pub fn preview(p: &Project, code: &TaskCode, opts: &Options) -> Result<Changes> {
    p.require_task(code)?;
    let s = p.load_session(code)?;
    compute_checked(p, code, s.as_ref(), opts)
}

/// `orch changes`: writes CHANGES.md (and, with `--base`/`--head`, the re-recorded range in
/// session.json) and commits them as one task commit.
pub fn write(p: &Project, code: &TaskCode, opts: &Options) -> Result<(Written, Changes)> {
    p.require_task(code)?;
    super::preflight(p)?;
    let _lock = p.lock()?;
    let session = p.load_session(code)?;
    let c = compute_checked(p, code, session.as_ref(), opts)?;
    let text = render(&c);
    let dir = p.task_dir(code);
    let path = dir.join(FILE);
    let rel = p.task_rel(code);
    let mut writes = Vec::new();
    if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
        writes.push(FileWrite {
            path,
            bytes: text.into_bytes(),
        });
    }
    let mut range_recorded = false;
    if let Some(mut s) = session
        .clone()
        .filter(|_| opts.base.is_some() || opts.head.is_some())
    {
        let live = in_execute(p, &s);
        let new = ExecuteRange {
            base: c.base.map(|b| b.to_string()),
            head: if live && opts.head.is_none() {
                s.execute_range.as_ref().and_then(|r| r.head.clone())
            } else {
                Some(c.head.to_string())
            },
        };
        if s.execute_range.as_ref() != Some(&new) {
            s.execute_range = Some(new);
            writes.push(FileWrite {
                path: dir.join("session.json"),
                bytes: s.to_json().into_bytes(),
            });
            range_recorded = true;
        }
    }
    let summary = if c.files.is_empty() {
        "no code changes".to_string()
    } else {
        c.stat.shortstat()
    };
    let mut w = Written {
        task: code.to_string(),
        path: format!("{rel}/{FILE}"),
        changed: !writes.is_empty(),
        commit: None,
        range_recorded,
        summary,
    };
    if writes.is_empty() {
        return Ok((w, c));
    }
    let subject = if range_recorded {
        "changes (range re-recorded)"
    } else {
        "changes"
    };
    let msg = super::task_commit_message(code, subject, session.as_ref());
    let applied = super::apply(p, writes, &[&rel], Some(&msg))?;
    w.commit = applied.commit_id();
    Ok((w, c))
}
