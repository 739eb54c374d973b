//! Listing many tasks fast: each task's summary is cached in the git dir with the stat data
//! of the files it came from, so an unchanged task costs two `lstat`s instead of two reads and
//! two parses. A file changed within the last seconds is never trusted from the cache (the
//! "racy git" rule), so an edit is always seen.

use crate::code::TaskCode;
use crate::ops::TaskSummary;
use crate::project::{read_doc, read_session, ORCH_DIR};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

const CACHE_FILE: &str = "task-list-v1.json";

/// What identifies a file's content without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Stamp(i64, u64, u64);

fn stamp(path: &Path) -> Option<Stamp> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::symlink_metadata(path).ok()?;
    Some(Stamp(
        m.mtime() * 1_000_000_000 + m.mtime_nsec(),
        m.size(),
        m.ino(),
    ))
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Cached {
    task: Option<Stamp>,
    session: Option<Stamp>,
    phase: Option<String>,
    active: bool,
    title: String,
    status: String,
    sprint: Option<String>,
    tags: Vec<String>,
}

#[derive(Default, Serialize, Deserialize)]
struct Cache {
    tasks: HashMap<String, Cached>,
}

fn is_recent(s: Option<Stamp>, now_ns: i64) -> bool {
    s.is_some_and(|s| now_ns - s.0 < 3_000_000_000)
}

fn summarize(dir: &Path, code: &TaskCode) -> (TaskSummary, bool) {
    let rel = format!("{ORCH_DIR}/tasks/{code}");
    let mut s = TaskSummary {
        task: code.to_string(),
        title: String::new(),
        status: String::new(),
        phase: None,
        active: false,
        sprint: None,
        tags: vec![],
        error: None,
    };
    match read_doc(dir, &rel) {
        Ok(doc) => {
            s.title = doc.title();
            s.status = doc.str_field("status").unwrap_or_default();
            s.sprint = doc.str_field("sprint").filter(|x| !x.is_empty());
            s.tags = doc.tags();
        }
        Err(e) => s.error = Some(e.message),
    }
    match read_session(dir, &rel) {
        Ok(Some(sess)) => {
            s.phase = Some(sess.current_phase);
            s.active = sess.active;
        }
        Ok(None) => {}
        Err(e) => s.error = s.error.or(Some(e.message)),
    }
    let ok = s.error.is_none();
    (s, ok)
}

/// Summaries of `codes` (tasks under `tasks_dir`), using and refreshing the cache in `cache_dir`.
pub fn summaries(tasks_dir: &Path, cache_dir: &Path, codes: &[TaskCode]) -> Vec<TaskSummary> {
    let cache_path = cache_dir.join(CACHE_FILE);
    let cache: Cache = std::fs::read(&cache_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let now_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0);
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    let chunk = codes.len().div_ceil(threads).max(1);
    let cache_ref = &cache;
    // Each result: the summary, and the cache entry to store (None: don't cache).
    let results: Vec<(TaskSummary, Option<Cached>, bool)> = std::thread::scope(|sc| {
        let handles: Vec<_> = codes
            .chunks(chunk)
            .map(|part| {
                sc.spawn(move || {
                    part.iter()
                        .map(|code| {
                            let dir: PathBuf = tasks_dir.join(code.as_str());
                            let t = stamp(&dir.join("TASK.md"));
                            let s = stamp(&dir.join("session.json"));
                            if let Some(c) = cache_ref.tasks.get(code.as_str()) {
                                if c.task == t && c.session == s && t.is_some() {
                                    let sum = TaskSummary {
                                        task: code.to_string(),
                                        title: c.title.clone(),
                                        status: c.status.clone(),
                                        phase: c.phase.clone(),
                                        active: c.active,
                                        sprint: c.sprint.clone(),
                                        tags: c.tags.clone(),
                                        error: None,
                                    };
                                    return (sum, Some(c.clone()), false);
                                }
                            }
                            let (sum, ok) = summarize(&dir, code);
                            let keep = ok && !is_recent(t, now_ns) && !is_recent(s, now_ns);
                            let entry = keep.then(|| Cached {
                                task: t,
                                session: s,
                                phase: sum.phase.clone(),
                                active: sum.active,
                                title: sum.title.clone(),
                                status: sum.status.clone(),
                                sprint: sum.sprint.clone(),
                                tags: sum.tags.clone(),
                            });
                            (sum, entry, true)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let changed = results.iter().any(|r| r.2) || results.len() != cache.tasks.len();
    let mut out = Vec::with_capacity(results.len());
    let mut fresh = Cache::default();
    for (sum, entry, _) in results {
        if let Some(e) = entry {
            fresh.tasks.insert(sum.task.clone(), e);
        }
        out.push(sum);
    }
    if changed {
        // A cache that cannot be written only costs speed.
        if std::fs::create_dir_all(cache_dir).is_ok() {
            if let Ok(bytes) = serde_json::to_vec(&fresh) {
                let _ = crate::store::write_atomic(&cache_path, &bytes);
            }
        }
    }
    out
}
