//! `orch compact`: the event logs of long-closed tasks folded into their POSTOP.md and removed
//! from the working tree, all in one commit. The full logs stay in git history: POSTOP.md
//! names each one's blob, `orch events CODE --all` reads them back, and `orch verify` accepts
//! the removal only with that record (`verify::compacted_into_postop`).

use crate::code::TaskCode;
use crate::git::history;
use crate::memory::postop;
use crate::project::Project;
use crate::session::Session;
use crate::store::FileWrite;
use crate::{Error, Result};
use serde::Serialize;
use std::path::PathBuf;

/// One task whose log is (or would be) folded.
#[derive(Debug, Clone, Serialize)]
pub struct Folded {
    pub task: String,
    pub ended_at: String,
    pub events: usize,
    /// Bytes of the events.jsonl removed.
    pub log_bytes: u64,
    /// Bytes POSTOP.md grows by.
    pub postop_bytes_added: u64,
}

/// A closed task left as it is, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    pub task: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Compacted {
    pub dry_run: bool,
    /// Tasks whose session ended before this time were eligible.
    pub cutoff: String,
    pub tasks: Vec<Folded>,
    pub skipped: Vec<Skipped>,
    pub log_bytes: u64,
    pub postop_bytes_added: u64,
    /// What the working tree shrinks by: `log_bytes - postop_bytes_added`.
    pub saved_bytes: i64,
    pub commit: Option<String>,
}

/// `90d`, `12h`, `2w`, `30m`: an age.
pub fn parse_age(s: &str) -> Result<chrono::Duration> {
    let bad = || {
        Error::usage(format!("--older-than {s:?} is not an age")).with_hint(
            "write a number and a unit: 90d (days), 2w (weeks), 12h (hours), 30m (minutes)",
        )
    };
    let s = s.trim();
    let split = s.len().checked_sub(1).ok_or_else(bad)?;
    let (n, unit) = s.split_at(split);
    let n: i64 = n.parse().map_err(|_| bad())?;
    if !(0..=100_000).contains(&n) {
        return Err(bad());
    }
    Ok(match unit {
        "d" => chrono::Duration::days(n),
        "w" => chrono::Duration::weeks(n),
        "h" => chrono::Duration::hours(n),
        "m" => chrono::Duration::minutes(n),
        _ => return Err(bad()),
    })
}

/// The sections of the sessions in `s` that POSTOP.md lacks (tasks closed before sessions
/// wrote their own), oldest first, then the compaction's own section.
fn folded_postop(
    p: &Project,
    code: &TaskCode,
    s: &Session,
    existing: Option<&str>,
    events: &[crate::event::Event],
    blob: &str,
    now: &str,
) -> Result<String> {
    let pinned = super::memory::pinned(p, code)?;
    let status = Default::default();
    let mut text = existing.map(str::to_string);
    let mut closed: Vec<postop::Closed> = s
        .previous_sessions
        .iter()
        .map(|a| postop::Closed {
            task: code.as_str(),
            key: &a.session_key,
            started_at: &a.started_at,
            ended_at: &a.ended_at,
            last_phase: &a.last_phase,
            history: &a.phase_history,
            how: "archived".into(),
        })
        .collect();
    closed.push(postop::Closed {
        task: code.as_str(),
        key: &s.session_key,
        started_at: &s.started_at,
        ended_at: s.ended_at.as_deref().unwrap_or(&s.started_at),
        last_phase: &s.current_phase,
        history: &s.phase_history,
        how: if s.end.as_ref().is_some_and(|e| e.forced) {
            "ended early (forced)".into()
        } else {
            "ended".into()
        },
    });
    for c in closed {
        if text
            .as_deref()
            .is_some_and(|t| postop::has_section(t, c.key))
        {
            continue;
        }
        let section = postop::section(&postop::Input {
            closed: c,
            events,
            pinned: &pinned,
            scratch: &[],
            bug_status: &status,
        });
        text = Some(postop::append(text.as_deref(), code.as_str(), &section));
    }
    let marker = postop::compaction(code.as_str(), blob, events, now);
    Ok(postop::append(text.as_deref(), code.as_str(), &marker))
}

/// What compacting one task would write, or why it is left alone (`Ok(None)`: not eligible).
#[allow(clippy::type_complexity)]
fn plan_task(
    p: &Project,
    root: gix::ObjectId,
    code: &TaskCode,
    cutoff: &chrono::DateTime<chrono::Utc>,
    now: &str,
) -> Result<Option<std::result::Result<(Folded, FileWrite, PathBuf), Skipped>>> {
    let skip = |reason: &str| {
        Ok(Some(Err(Skipped {
            task: code.to_string(),
            reason: reason.to_string(),
        })))
    };
    let s = match p.load_session(code) {
        Ok(Some(s)) if !s.active => s,
        Ok(_) => return Ok(None),
        Err(_) => return skip("session.json cannot be read"),
    };
    let ended = s.ended_at.as_deref().and_then(crate::clock::parse);
    if ended.is_none_or(|e| e > *cutoff) {
        return Ok(None);
    }
    let log_path = p.task_dir(code).join("events.jsonl");
    let Ok(disk) = std::fs::read(&log_path) else {
        return Ok(None);
    };
    let rel = format!("{}/events.jsonl", p.task_rel(code));
    let node = history::entry_at(&p.git.repo, root, &rel)?.filter(|n| n.mode.is_blob());
    let Some(node) = node else {
        return skip("events.jsonl is not committed");
    };
    if history::blob(&p.git.repo, node.id)? != disk {
        return skip("events.jsonl has uncommitted events; commit them first");
    }
    let events = crate::event::parse_log(&String::from_utf8_lossy(&disk), &rel)?;
    let postop_path = p.task_dir(code).join(postop::FILE);
    let existing = std::fs::read_to_string(&postop_path).ok();
    let text = folded_postop(
        p,
        code,
        &s,
        existing.as_deref(),
        &events,
        &node.id.to_string(),
        now,
    )?;
    let before = existing.as_ref().map_or(0, |e| e.len() as u64);
    Ok(Some(Ok((
        Folded {
            task: code.to_string(),
            ended_at: s.ended_at.clone().unwrap_or_default(),
            events: events.len(),
            log_bytes: disk.len() as u64,
            postop_bytes_added: (text.len() as u64).saturating_sub(before),
        },
        FileWrite {
            path: postop_path,
            bytes: text.into_bytes(),
        },
        log_path,
    ))))
}

fn commit_message(tasks: &[Folded]) -> String {
    let n = tasks.len();
    let mut msg = format!(
        "orch: compact the event logs of {n} closed task{}\n\nFolded into POSTOP.md (read back with `orch events CODE --all`):\n",
        if n == 1 { "" } else { "s" }
    );
    for t in tasks.iter().take(20) {
        msg.push_str(&format!("- {} ({} events)\n", t.task, t.events));
    }
    if n > 20 {
        msg.push_str(&format!("- and {} more\n", n - 20));
    }
    msg
}

/// `orch compact`: folds the logs of tasks whose session ended more than `older_than` ago.
pub fn compact(p: &Project, older_than: &str, dry_run: bool) -> Result<Compacted> {
    let age = parse_age(older_than)?;
    if !dry_run {
        super::preflight(p)?;
    }
    let _lock = p.lock()?;
    let (st, now) = super::stamp(p)?;
    let cutoff = now - age;
    let mut out = Compacted {
        dry_run,
        cutoff: crate::clock::fmt(&cutoff),
        tasks: vec![],
        skipped: vec![],
        log_bytes: 0,
        postop_bytes_added: 0,
        saved_bytes: 0,
        commit: None,
    };
    let Some(head) = p.git.head_id()? else {
        return Ok(out);
    };
    let root = history::commit_tree_parents(&p.git.repo, head)?.0;
    let (mut writes, mut removals, mut paths) = (vec![], vec![], vec![]);
    for code in p.task_codes()? {
        match plan_task(p, root, &code, &cutoff, &st.now)? {
            None => {}
            Some(Err(s)) => out.skipped.push(s),
            Some(Ok((f, w, r))) => {
                out.log_bytes += f.log_bytes;
                out.postop_bytes_added += f.postop_bytes_added;
                out.tasks.push(f);
                writes.push(w);
                removals.push(r);
                paths.push(p.task_rel(&code));
            }
        }
    }
    out.saved_bytes = out.log_bytes as i64 - out.postop_bytes_added as i64;
    if dry_run || out.tasks.is_empty() {
        return Ok(out);
    }
    let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
    let msg = commit_message(&out.tasks);
    out.commit = super::apply_removing(p, writes, &removals, &refs, Some(&msg))?.commit_id();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_parse() {
        assert_eq!(parse_age("90d").unwrap(), chrono::Duration::days(90));
        assert_eq!(parse_age("0d").unwrap(), chrono::Duration::zero());
        assert_eq!(parse_age("2w").unwrap(), chrono::Duration::days(14));
        for bad in ["", "d", "90", "-1d", "5y", "1.5d"] {
            assert!(parse_age(bad).is_err(), "{bad}");
        }
    }
}
