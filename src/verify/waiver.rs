//! Waivers: a violation in history that cannot be rewritten is accepted on the record. The
//! acknowledgment is an `orchestration.verify.waiver` event in the task's events.jsonl
//! (append-only, judged like every event), naming the commit, the rules waived, the reason,
//! who and when. verify reports such a violation as waived, never as clean. `ops::waiver`
//! records them.

use super::{Violation, TASKS_DIR};
use crate::event::Event;
use crate::git::history;
use crate::Result;
use gix::ObjectId;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

pub const WAIVER_EVENT: &str = "orchestration.verify.waiver";

/// One recorded acknowledgment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Waiver {
    /// The commit whose violations are accepted (full id).
    pub commit: String,
    /// The rules accepted there.
    pub rules: Vec<String>,
    pub reason: String,
    pub author: String,
    pub at: String,
    /// The id of the event that records it.
    pub event: String,
}

#[derive(Deserialize)]
struct Payload {
    commit: String,
    rules: Vec<String>,
    reason: String,
}

/// The waivers of the tasks that have standing violations, as the tips have them.
pub(super) struct Waivers {
    by_task: HashMap<String, Vec<Waiver>>,
}

/// The waivers recorded in an events.jsonl.
pub fn parse(text: &str) -> Vec<Waiver> {
    text.lines()
        .filter_map(|l| serde_json::from_str::<Event>(l).ok())
        .filter(|e| e.type_ == WAIVER_EVENT)
        .filter_map(|e| {
            let p: Payload = serde_json::from_value(e.payload.clone()).ok()?;
            Some(Waiver {
                commit: p.commit,
                rules: p.rules,
                reason: p.reason,
                author: e.actor,
                at: e.ts,
                event: e.id,
            })
        })
        .collect()
}

impl Waivers {
    pub(super) fn at(
        repo: &gix::Repository,
        tips: &[ObjectId],
        standing: &[Violation],
    ) -> Result<Waivers> {
        let mut by_task: HashMap<String, Vec<Waiver>> = HashMap::new();
        for v in standing.iter().filter(|v| v.commit.is_some()) {
            if by_task.contains_key(&v.task) {
                continue;
            }
            let path = format!("{TASKS_DIR}/{}/events.jsonl", v.task);
            let mut found = vec![];
            for tip in tips {
                let tree = history::commit_tree_parents(repo, *tip)?.0;
                if let Some(b) = history::blob_at(repo, tree, &path)? {
                    found.extend(parse(&String::from_utf8_lossy(&b)));
                }
                // A compacted log's waivers still count: POSTOP.md names the folded log.
                let postop = format!("{TASKS_DIR}/{}/{}", v.task, crate::memory::postop::FILE);
                if let Some(b) = history::blob_at(repo, tree, &postop)? {
                    for m in crate::memory::postop::markers(&String::from_utf8_lossy(&b)) {
                        let log = ObjectId::from_hex(m.blob.as_bytes())
                            .ok()
                            .and_then(|id| history::blob(repo, id).ok());
                        if let Some(log) = log {
                            found.extend(parse(&String::from_utf8_lossy(&log)));
                        }
                    }
                }
            }
            by_task.insert(v.task.clone(), found);
        }
        Ok(Waivers { by_task })
    }

    pub(super) fn find(&self, v: &Violation) -> Option<&Waiver> {
        let commit = v.commit.as_deref()?;
        self.by_task
            .get(&v.task)?
            .iter()
            .find(|w| w.commit == commit && w.rules.contains(&v.rule))
    }
}
