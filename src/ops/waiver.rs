//! `orch verify --accept COMMIT --reason TEXT`: a violation in history that cannot be
//! rewritten, accepted on the record as an `orchestration.verify.waiver` event (see
//! `verify::waiver`), committed like every task change.

use crate::code::TaskCode;
use crate::event::Event;
use crate::git::history;
use crate::project::Project;
use crate::store::FileWrite;
use crate::verify::waiver::{Waiver, WAIVER_EVENT};
use crate::verify::{self, trailers};
use crate::{Error, Result};
use serde::Serialize;

/// What `orch verify --accept` recorded.
#[derive(Debug, Clone, Serialize)]
pub struct Accepted {
    pub waivers: Vec<AcceptedTask>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AcceptedTask {
    pub task: String,
    pub waiver: Waiver,
    /// The commit that records it; `None` when `[git] commit = false`.
    pub recorded_in: Option<String>,
}

/// `orch verify --accept COMMIT --reason TEXT`: records a waiver for every violation verify
/// finds at `commit` in HEAD's history, one event per task, each committed on its own.
pub fn accept(p: &Project, commit: &str, reason: &str) -> Result<Accepted> {
    if reason.trim().is_empty() {
        return Err(
            Error::usage("--accept needs a reason: pass --reason \"why it stays\"").with_hint(
                "e.g. orch verify --accept abc1234 --reason \"pushed; agreed in review\"",
            ),
        );
    }
    let repo = &p.git.repo;
    let id = history::resolve(repo, commit)?;
    let head = p.git.head_id()?.ok_or_else(|| {
        Error::state("the repository has no commits yet, so there is nothing to accept")
    })?;
    let report = verify::verify(p, &[head], &[], &[])?;
    let idhex = id.to_string();
    let mut by_task: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for v in report
        .violations
        .iter()
        .filter(|v| v.commit.as_deref() == Some(&idhex))
    {
        let rules = by_task.entry(v.task.clone()).or_default();
        if !rules.contains(&v.rule) {
            rules.push(v.rule.clone());
        }
    }
    if by_task.is_empty() {
        let short = &idhex[..7];
        let already = report
            .waived
            .iter()
            .any(|w| w.violation.commit.as_deref() == Some(&idhex));
        let msg = if already {
            format!("commit {short}'s violations are already waived")
        } else {
            format!("commit {short} breaks no rule in HEAD's history; there is nothing to accept")
        };
        return Err(Error::state(msg).with_hint("see what stands with `orch verify`"));
    }
    super::preflight(p)?;
    let _lock = p.lock()?;
    let mut out = vec![];
    for (task, rules) in by_task {
        out.push(record(
            p,
            &TaskCode::parse(&task)?,
            &idhex,
            rules,
            reason.trim(),
        )?);
    }
    Ok(Accepted { waivers: out })
}

/// Appends one task's waiver event to its committed events.jsonl and commits it.
fn record(
    p: &Project,
    code: &TaskCode,
    commit: &str,
    rules: Vec<String>,
    reason: &str,
) -> Result<AcceptedTask> {
    let (stamp, _) = super::stamp(p)?;
    let (actor, now) = (stamp.actor, stamp.now);
    let session = p.load_session(code).ok().flatten();
    let payload = serde_json::json!({"commit": commit, "rules": rules, "reason": reason});
    let ev = Event::new(
        WAIVER_EVENT,
        &now,
        session.as_ref().map(|s| s.session_key.as_str()),
        code.as_str(),
        &actor,
        payload,
    );
    let path = p.task_dir(code).join("events.jsonl");
    let mut bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => vec![],
        Err(e) => return Err(Error::io(&path, e)),
    };
    let rel_file = format!("{}/events.jsonl", p.task_rel(code));
    if p.config.git.commit {
        // The waiver is appended to the log as committed; an edited log would be committed
        // along with it, unjudged.
        let committed = match p.git.head_id()? {
            Some(h) => {
                let tree = history::commit_tree_parents(&p.git.repo, h)?.0;
                history::blob_at(&p.git.repo, tree, &rel_file)?
            }
            None => None,
        };
        if committed.as_deref().unwrap_or_default() != bytes.as_slice() {
            return Err(Error::state(format!(
                "{rel_file} has uncommitted changes; the waiver would commit them unjudged"
            ))
            .with_hint(format!(
                "put it back with `git restore --source=HEAD -- {rel_file}` (or commit it after `orch verify` accepts it), then run the command again"
            )));
        }
    }
    if !bytes.is_empty() && !bytes.ends_with(b"\n") {
        bytes.push(b'\n');
    }
    bytes.extend_from_slice(ev.to_line().as_bytes());
    let active = session.as_ref().filter(|s| s.active);
    let msg = format!(
        "orch({code}): waive {} at {}\n\n{}: {code}\n{}: {}\n{}: {}\n",
        rules.join(", "),
        &commit[..7],
        trailers::TASK,
        trailers::SESSION,
        session.as_ref().map_or("none", |s| s.session_key.as_str()),
        trailers::PHASE,
        active.map_or("none", |s| s.current_phase.as_str()),
    );
    let applied = super::apply(p, vec![FileWrite { path, bytes }], &[&rel_file], Some(&msg))?;
    Ok(AcceptedTask {
        task: code.to_string(),
        waiver: Waiver {
            commit: commit.to_string(),
            rules,
            reason: reason.to_string(),
            author: actor,
            at: now,
            event: ev.id,
        },
        recorded_in: applied.commit.map(|c| c.commit.to_string()),
    })
}
