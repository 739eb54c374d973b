//! Tamper evidence for `status`, `next` and the hooks: a task's committed chain as
//! `orch verify` judges it, and its folder in the working tree as the guard before a commit
//! judges it. The chain's verdict is remembered in the git dir by the commit it was reached
//! at, so after a commit only the commits since then are replayed.

use super::guard;
use crate::code::TaskCode;
use crate::diagnostic::Diagnostic;
use crate::git::history;
use crate::project::Project;
use crate::store;
use crate::verify::{self, Violation};
use crate::Result;
use gix::ObjectId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The remembered verdict: `violations` is what `orch verify` left (neither repaired nor
/// waived) over HEAD `head`'s whole history.
#[derive(Debug, Serialize, Deserialize)]
struct Verified {
    version: u32,
    head: String,
    violations: Vec<Violation>,
}

const VERSION: u32 = 1;
const FILE: &str = "verified.json";

/// The violations `orch verify` finds in HEAD's history, every task's. A cache that is
/// missing, unreadable or of another format is rebuilt by a whole replay, never trusted.
pub fn committed(p: &Project) -> Result<Vec<Violation>> {
    let Some(head) = p.git.head_id()? else {
        return Ok(vec![]);
    };
    let cached = read(p);
    if let Some(c) = &cached {
        if ObjectId::from_hex(c.head.as_bytes()).ok() == Some(head) {
            return Ok(c.violations.clone());
        }
    }
    let violations = match cached.and_then(|c| replay_from(p, head, c)) {
        Some((base, old)) => since(p, head, base, old)?,
        None => verify::verify(p, &[head], &[], &[])?.violations,
    };
    write(p, head, &violations);
    Ok(violations)
}

/// From a verdict remembered at `base`, only the commits since are replayed. Each commit is
/// judged against its own parents by their rules, so a clean history stays clean when they
/// are; and only a commit of a task's own folder can repair or waive its violations, so a
/// task they did not touch keeps its remembered ones, and a touched task that had some is
/// judged again over its whole history.
fn since(
    p: &Project,
    head: ObjectId,
    base: ObjectId,
    old: Vec<Violation>,
) -> Result<Vec<Violation>> {
    let range = verify::verify(p, &[head], &[base], &[])?;
    let touched: BTreeSet<&str> = range.tasks.iter().map(String::as_str).collect();
    let redo: BTreeSet<String> = old
        .iter()
        .filter(|v| touched.contains(v.task.as_str()))
        .map(|v| v.task.clone())
        .collect();
    let mut out: Vec<Violation> = old
        .into_iter()
        .filter(|v| !touched.contains(v.task.as_str()))
        .collect();
    out.extend(
        range
            .violations
            .into_iter()
            .filter(|v| !redo.contains(&v.task)),
    );
    if !redo.is_empty() {
        let codes: Vec<String> = redo.into_iter().collect();
        out.extend(verify::verify(p, &[head], &[], &codes)?.violations);
    }
    Ok(out)
}

/// The remembered commit to replay from, while its commit is still in the object database.
/// A verdict with violations is carried forward only along HEAD's own history: after a
/// switch to a branch without them, they are not this branch's.
fn replay_from(p: &Project, head: ObjectId, c: Verified) -> Option<(ObjectId, Vec<Violation>)> {
    let id = ObjectId::from_hex(c.head.as_bytes()).ok()?;
    history::commit_tree_parents(&p.git.repo, id).ok()?;
    if !c.violations.is_empty() && !history::reaches(&p.git.repo, id, &[head]).ok()? {
        return None;
    }
    Some((id, c.violations))
}

fn read(p: &Project) -> Option<Verified> {
    let bytes = std::fs::read(p.local_dir().join(FILE)).ok()?;
    serde_json::from_slice::<Verified>(&bytes)
        .ok()
        .filter(|v| v.version == VERSION)
}

/// Best effort: a cache that cannot be written is rebuilt next time.
fn write(p: &Project, head: ObjectId, violations: &[Violation]) {
    let v = Verified {
        version: VERSION,
        head: head.to_string(),
        violations: violations.to_vec(),
    };
    if let Ok(json) = serde_json::to_vec(&v) {
        let dir = p.local_dir();
        if std::fs::create_dir_all(&dir).is_ok() {
            let _ = store::write_atomic(&dir.join(FILE), &json);
        }
    }
}

/// What makes `code`'s state untrustworthy, as error diagnostics: violations in its
/// committed chain (with verify's fixes), then hand edits of its folder that verify would
/// reject once committed (with the `git restore` that undoes them).
pub fn task(p: &Project, code: &TaskCode) -> Result<Vec<Diagnostic>> {
    let mut out: Vec<Diagnostic> = committed(p)?
        .iter()
        .filter(|v| v.task == code.as_str())
        .map(Violation::to_diagnostic)
        .collect();
    out.extend(
        edits(p, code)?
            .iter()
            .map(|v| Diagnostic::error(&v.rule, &v.file, v.message.clone(), guard::restore_fix(v))),
    );
    Ok(out)
}

/// Hand edits of `code`'s folder that verify would reject, judged against HEAD's tree.
pub fn edits(p: &Project, code: &TaskCode) -> Result<Vec<Violation>> {
    let Some(head) = p.git.head_id()? else {
        return Ok(vec![]);
    };
    let root = history::commit_tree_parents(&p.git.repo, head)?.0;
    guard::hand_edits(p, root, code.as_str(), &p.task_rel(code))
}
