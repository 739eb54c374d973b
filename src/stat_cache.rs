//! Stat-validated caches in the git dir: what was read from a file is kept with the file's
//! stat data (mtime, size, inode), so a later run that finds the same stamp need not read the
//! file again. A file changed within the last seconds is never trusted from a cache (the
//! "racy git" rule: its mtime may not show a second change in the same tick). `listing` keeps
//! task summaries this way; the branch bindings the current-task lookup needs are here.

use crate::code::TaskCode;
use std::path::Path;

/// What identifies a file's content without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp(pub i64, pub u64, pub u64);

/// Stat data of `<code>/<file>` below the open tasks folder. Resolving a short path relative
/// to an open folder is what makes 20,000 of these cheap enough to list 10,000 tasks.
pub(crate) fn stamp_at(dir: &std::fs::File, code: &str, file: &str) -> Option<Stamp> {
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

pub(crate) fn esc(s: &str, out: &mut String) {
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

pub(crate) fn unesc(s: &str) -> String {
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

pub(crate) fn stamp_fields(s: Option<Stamp>, out: &mut String) {
    use std::fmt::Write;
    match s {
        Some(Stamp(m, z, i)) => {
            let _ = write!(out, "{m}\t{z}\t{i}");
        }
        None => out.push_str("-\t-\t-"),
    }
}

pub(crate) fn parse_stamp(m: &str, z: &str, i: &str) -> Option<Stamp> {
    Some(Stamp(m.parse().ok()?, z.parse().ok()?, i.parse().ok()?))
}

pub(crate) fn is_recent(s: Option<Stamp>, now_ns: i64) -> bool {
    s.is_some_and(|s| now_ns - s.0 < 3_000_000_000)
}

const BINDINGS_FILE: &str = "branch-bindings-v1.tsv";

/// One task's binding as its session.json had it when the stamp was taken.
struct Binding<'a> {
    code: &'a str,
    session: Option<Stamp>,
    active: bool,
    branch: &'a str,
}

fn parse_binding(line: &str) -> Option<Binding<'_>> {
    let f: Vec<&str> = line.splitn(6, '\t').collect();
    if f.len() != 6 {
        return None;
    }
    Some(Binding {
        code: f[0],
        session: parse_stamp(f[1], f[2], f[3]),
        active: f[4] == "1",
        branch: f[5],
    })
}

/// The stat data of each task's session.json, in the order of `codes`. Ten thousand of them
/// are most of a lookup's time, all of it in the kernel, so they are taken on every core.
fn session_stamps(tasks_dir: &Path, codes: &[TaskCode]) -> Vec<Option<Stamp>> {
    let Ok(folder) = std::fs::File::open(tasks_dir) else {
        return vec![None; codes.len()];
    };
    let stamp = |code: &TaskCode| stamp_at(&folder, code.as_str(), "session.json");
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    if threads == 1 || codes.len() < 1024 {
        return codes.iter().map(stamp).collect();
    }
    let chunk = codes.len().div_ceil(threads);
    let stamps = |part: &[TaskCode]| part.iter().map(stamp).collect::<Vec<_>>();
    std::thread::scope(|sc| {
        // A part whose thread cannot be started is done here, after the others start.
        let parts: Vec<_> = codes
            .chunks(chunk)
            .map(|part| {
                let h = std::thread::Builder::new().spawn_scoped(sc, move || stamps(part));
                (part, h.ok())
            })
            .collect();
        parts
            .into_iter()
            .flat_map(|(part, h)| match h.map(|h| h.join()) {
                Some(Ok(v)) => v,
                // A thread that failed: its sessions count as unreadable, so not bound.
                Some(Err(_)) => vec![None; part.len()],
                None => stamps(part),
            })
            .collect()
    })
}

/// Tasks among `codes` whose session is active and started on `branch`. The current-task
/// lookup of every hook and command runs this when no task is named, so it must not read
/// every session.json: each one's stat data is checked against the cache in `cache_dir`,
/// and only a file that changed (or changed within the last seconds) is read and parsed.
pub fn bound_to(
    tasks_dir: &Path,
    cache_dir: &Path,
    codes: &[TaskCode],
    branch: &str,
) -> Vec<TaskCode> {
    let cache_path = cache_dir.join(BINDINGS_FILE);
    let text = std::fs::read_to_string(&cache_path).unwrap_or_default();
    let mut cache: Vec<Binding> = text.lines().filter_map(parse_binding).collect();
    if !cache.is_sorted_by(|a, b| a.code <= b.code) {
        cache.sort_by(|a, b| a.code.cmp(b.code));
    }
    let now_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0);
    let stamps = session_stamps(tasks_dir, codes);
    let mut out = vec![];
    let mut fresh = String::new();
    let mut changed = false;
    let mut kept = 0;
    for (code, stamp) in codes.iter().zip(stamps) {
        let Some(stamp) = stamp else {
            continue;
        };
        let cached = cache
            .binary_search_by(|c| c.code.cmp(code.as_str()))
            .ok()
            .map(|i| &cache[i])
            .filter(|c| c.session == Some(stamp));
        let (active, bound) = match cached {
            Some(c) => (c.active, unesc(c.branch)),
            None => {
                changed = true;
                let path = tasks_dir.join(code.as_str()).join("session.json");
                let session = std::fs::read_to_string(&path)
                    .ok()
                    .and_then(|t| crate::session::Session::parse(&t, "session.json").ok());
                match session {
                    Some(s) => (s.active, s.branch.unwrap_or_default()),
                    // Unreadable: not bound, and not cached, so it is looked at again.
                    None => continue,
                }
            }
        };
        if active && bound == branch {
            out.push(code.clone());
        }
        if !is_recent(Some(stamp), now_ns) {
            kept += 1;
            esc(code.as_str(), &mut fresh);
            fresh.push('\t');
            stamp_fields(Some(stamp), &mut fresh);
            fresh.push_str(if active { "\t1\t" } else { "\t0\t" });
            esc(&bound, &mut fresh);
            fresh.push('\n');
        } else {
            changed = true;
        }
    }
    // A cache that cannot be written only costs speed.
    if (changed || kept != cache.len()) && std::fs::create_dir_all(cache_dir).is_ok() {
        let _ = crate::store::write_atomic(&cache_path, fresh.as_bytes());
    }
    out
}
