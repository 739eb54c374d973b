//! Listing many tasks fast: each task's summary is cached in the git dir with the stat data
//! of the files it came from, so an unchanged task costs two `lstat`s instead of two reads and
//! two parses. A file changed within the last seconds is never trusted from the cache (the
//! "racy git" rule), so an edit is always seen.

use crate::code::TaskCode;
use crate::project::{read_doc, read_session, ORCH_DIR};
use crate::task::TaskSummary;
use std::path::Path;

const CACHE_FILE: &str = "task-list-v2.tsv";

/// What identifies a file's content without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp(i64, u64, u64);

/// Stat data of `<code>/<file>` below the open tasks folder. Resolving a short path relative
/// to an open folder is what makes 20,000 of these cheap enough to list 10,000 tasks.
fn stamp_at(dir: &std::fs::File, code: &str, file: &str) -> Option<Stamp> {
    use std::os::fd::AsRawFd;
    let mut rel = Vec::with_capacity(code.len() + file.len() + 2);
    rel.extend_from_slice(code.as_bytes());
    rel.push(b'/');
    rel.extend_from_slice(file.as_bytes());
    let rel = std::ffi::CString::new(rel).ok()?;
    // SAFETY: `st` is plain old data filled in by the call; `rel` is NUL-terminated and the
    // folder's descriptor stays open for the duration of the call.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    let rc = unsafe {
        libc::fstatat(
            dir.as_raw_fd(),
            rel.as_ptr(),
            &mut st,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    (rc == 0).then(|| {
        Stamp(
            st.st_mtime as i64 * 1_000_000_000 + st.st_mtime_nsec as i64,
            st.st_size as u64,
            st.st_ino as u64,
        )
    })
}

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

fn esc(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\u{1f}' => out.push_str("\\u"),
            c => out.push(c),
        }
    }
}

fn unesc(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('u') => out.push('\u{1f}'),
            Some(o) => out.push(o),
            None => {}
        }
    }
    out
}

fn stamp_fields(s: Option<Stamp>, out: &mut String) {
    use std::fmt::Write;
    match s {
        Some(Stamp(m, z, i)) => {
            let _ = write!(out, "{m}\t{z}\t{i}");
        }
        None => out.push_str("-\t-\t-"),
    }
}

fn parse_stamp(m: &str, z: &str, i: &str) -> Option<Stamp> {
    Some(Stamp(m.parse().ok()?, z.parse().ok()?, i.parse().ok()?))
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
