//! Listing many tasks fast: each task's summary is cached in the git dir with the stat data
//! of the files it came from, so an unchanged task costs two `lstat`s instead of two reads and
//! two parses. A file changed within the last seconds is never trusted from the cache (the
//! "racy git" rule), so an edit is always seen.

use crate::code::TaskCode;
use crate::project::{read_doc, read_session, ORCH_DIR};
use crate::stat_cache::{esc, is_recent, parse_stamp, stamp_at, stamp_fields, unesc, Stamp};
use crate::task::TaskSummary;
use std::path::Path;

const CACHE_FILE: &str = "task-list-v2.tsv";

/// One cached task: a line of tab-separated fields (text fields escaped), parsed in place.
struct Cached<'a> {
    code: &'a str,
    task: Option<Stamp>,
    session: Option<Stamp>,
    phase: &'a str,
    active: bool,
    status: &'a str,
    sprint: &'a str,
    tags: &'a str,
    title: &'a str,
}

fn parse_line(line: &str) -> Option<Cached<'_>> {
    let f: Vec<&str> = line.splitn(13, '\t').collect();
    if f.len() != 13 {
        return None;
    }
    Some(Cached {
        code: f[0],
        task: parse_stamp(f[1], f[2], f[3]),
        session: parse_stamp(f[4], f[5], f[6]),
        phase: f[7],
        active: f[8] == "1",
        status: f[9],
        sprint: f[10],
        tags: f[11],
        title: f[12],
    })
}

fn to_line(t: Option<Stamp>, s: Option<Stamp>, sum: &TaskSummary, out: &mut String) {
    esc(&sum.task, out);
    out.push('\t');
    stamp_fields(t, out);
    out.push('\t');
    stamp_fields(s, out);
    out.push('\t');
    esc(sum.phase.as_deref().unwrap_or(""), out);
    out.push_str(if sum.active { "\t1\t" } else { "\t0\t" });
    esc(&sum.status, out);
    out.push('\t');
    esc(sum.sprint.as_deref().unwrap_or(""), out);
    out.push('\t');
    for (i, tag) in sum.tags.iter().enumerate() {
        if i > 0 {
            out.push('\u{1f}');
        }
        esc(tag, out);
    }
    out.push('\t');
    esc(&sum.title, out);
    out.push('\n');
}

impl Cached<'_> {
    fn summary(&self) -> TaskSummary {
        let opt = |s: &str| (!s.is_empty()).then(|| unesc(s));
        TaskSummary {
            task: self.code.to_string(),
            title: unesc(self.title),
            status: unesc(self.status),
            phase: opt(self.phase),
            active: self.active,
            state: crate::task::state_of(opt(self.phase).as_deref(), self.active),
            sprint: opt(self.sprint),
            tags: if self.tags.is_empty() {
                vec![]
            } else {
                self.tags.split('\u{1f}').map(unesc).collect()
            },
            error: None,
        }
    }
}

fn summarize(dir: &Path, code: &TaskCode) -> (TaskSummary, bool) {
    let rel = format!("{ORCH_DIR}/tasks/{code}");
    let mut s = TaskSummary {
        task: code.to_string(),
        title: String::new(),
        status: String::new(),
        phase: None,
        active: false,
        state: crate::task::state_of(None, false),
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
            s.state = crate::task::state_of(Some(&sess.current_phase), sess.active);
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
    let text = std::fs::read_to_string(&cache_path).unwrap_or_default();
    let mut cache: Vec<Cached> = text.lines().filter_map(parse_line).collect();
    if !cache.is_sorted_by(|a, b| a.code <= b.code) {
        cache.sort_by(|a, b| a.code.cmp(b.code));
    }
    let now_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0);
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    let chunk = codes.len().div_ceil(threads).max(1);
    let cache_ref = &cache;
    let folder = std::fs::File::open(tasks_dir).ok();
    let folder = folder.as_ref();
    // Each result: the summary, its stamps, and whether it may be cached and was re-read.
    type Row = (TaskSummary, Option<Stamp>, Option<Stamp>, bool, bool);
    let results: Vec<Row> = std::thread::scope(|sc| {
        let handles: Vec<_> = codes
            .chunks(chunk)
            .map(|part| {
                sc.spawn(move || {
                    part.iter()
                        .map(|code| {
                            let (t, s) = match folder {
                                Some(f) => (
                                    stamp_at(f, code.as_str(), "TASK.md"),
                                    stamp_at(f, code.as_str(), "session.json"),
                                ),
                                None => (None, None),
                            };
                            if let Ok(i) = cache_ref.binary_search_by(|c| c.code.cmp(code.as_str()))
                            {
                                let c = &cache_ref[i];
                                if c.task == t && c.session == s && t.is_some() {
                                    return (c.summary(), t, s, true, false);
                                }
                            }
                            let (sum, ok) = summarize(&tasks_dir.join(code.as_str()), code);
                            let keep = ok && !is_recent(t, now_ns) && !is_recent(s, now_ns);
                            (sum, t, s, keep, true)
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
    let changed = results.iter().any(|r| r.4) || results.len() != cache.len();
    if changed {
        let mut text = String::with_capacity(results.len() * 96);
        for (sum, t, s, keep, _) in &results {
            if *keep {
                to_line(*t, *s, sum, &mut text);
            }
        }
        // A cache that cannot be written only costs speed.
        if std::fs::create_dir_all(cache_dir).is_ok() {
            let _ = crate::store::write_atomic(&cache_path, text.as_bytes());
        }
    }
    results.into_iter().map(|r| r.0).collect()
}
