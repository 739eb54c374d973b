//! Notes an agent keeps while it works, and the record a session leaves behind.
//!
//! - **Scratch notes** live in the git dir (`<git dir>/orchestration/memory/<CODE>.jsonl`, per
//!   worktree, never committed) for the life of a session; the session's end folds them into
//!   POSTOP.md and clears them.
//! - **Pinned notes** are committed: a task's in `tasks/<CODE>/memory.jsonl`, the project's in
//!   `.orchestration/memory.jsonl`. Both files are logs of records (`pin`, `unpin`, `forget`),
//!   only ever appended and merged with `merge=union` like events.jsonl: readers drop repeated
//!   record ids and fold the records in order of time, so a merged file reads the same
//!   whichever side merged.
//! - [`postop`] renders POSTOP.md and reads back what later sessions need from it.

pub mod postop;

use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::hash::{BuildHasher, Hasher};

/// The task folder's pinned notes.
pub const TASK_FILE: &str = "memory.jsonl";
/// The project's pinned notes, in `.orchestration/`.
pub const PROJECT_FILE: &str = "memory.jsonl";
/// The merge rules the pinned-note logs need in `.orchestration/.gitattributes`.
pub const GITATTRIBUTES_LINES: [&str; 2] = [
    "tasks/*/memory.jsonl merge=union",
    "memory.jsonl merge=union",
];
/// Longest note text, in characters: a note is a line of memory, not a document.
pub const MAX_TEXT: usize = 500;

/// One note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    /// `mem_` and eight hex digits.
    pub id: String,
    /// When the note was written (RFC 3339).
    pub ts: String,
    pub text: String,
    #[serde(default)]
    pub tags: Vec<String>,
    /// `task` or `project`.
    pub scope: String,
    /// The task it belongs to (`None` for project notes).
    #[serde(default)]
    pub task: Option<String>,
    /// The session it was written in.
    #[serde(default)]
    pub session_key: Option<String>,
    #[serde(default)]
    pub actor: String,
    /// Committed (`true`) or scratch. Not stored: the file it is in says it.
    #[serde(default, skip_deserializing)]
    pub pinned: bool,
}

/// One line of a pinned-note log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// `rec_…`, unique per line: what a union merge's repeats collapse on.
    pub id: String,
    pub ts: String,
    /// `pin`, `unpin` or `forget`.
    pub op: String,
    /// The note's id.
    pub note: String,
    /// The note itself, with `pin`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Note>,
    #[serde(default)]
    pub actor: String,
}

fn fnv(bytes: &[u8], mut h: u64) -> u64 {
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// A fresh id with `prefix`: time, process and a random part hashed with `seed`, so two
/// branches or processes never mint the same one.
pub fn mint(prefix: &str, seed: &str, hex_digits: usize) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let mut random = std::collections::hash_map::RandomState::new().build_hasher();
    random.write_u64(nanos);
    random.write_u64(seq);
    random.write_u32(std::process::id());
    let h = fnv(seed.as_bytes(), 0xcbf2_9ce4_8422_2325 ^ random.finish());
    let hex = format!("{h:016x}");
    format!("{prefix}{}", &hex[..hex_digits.min(16)])
}

impl Record {
    pub fn new(op: &str, ts: &str, note: &str, body: Option<Note>, actor: &str) -> Record {
        Record {
            id: mint("rec_", &format!("{op}{note}{ts}"), 16),
            ts: ts.to_string(),
            op: op.to_string(),
            note: note.to_string(),
            body,
            actor: actor.to_string(),
        }
    }

    pub fn to_line(&self) -> String {
        let mut s = serde_json::to_string(self).expect("a record serialises");
        s.push('\n');
        s
    }
}

/// The text of a new note, checked: not empty, at most [`MAX_TEXT`] characters, no control
/// characters but newlines and tabs. Surrounding blank space is dropped.
pub fn check_text(text: &str) -> Result<String> {
    let t = text.trim();
    if t.is_empty() {
        return Err(Error::usage("the note is empty")
            .with_hint("write the note as the last argument: orch memory add \"what I learnt\""));
    }
    let n = t.chars().count();
    if n > MAX_TEXT {
        return Err(Error::usage(format!(
            "the note has {n} characters; a note holds at most {MAX_TEXT}"
        ))
        .with_hint(
            "keep the note to what must be remembered, and point to the file that holds the rest",
        ));
    }
    if t.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(Error::usage("the note contains control characters")
            .with_hint("write plain text; newlines and tabs are allowed"));
    }
    Ok(t.to_string())
}

/// A tag: 1–32 characters of `[A-Za-z0-9._-]`, kept lower-case so `Followup` and `followup`
/// group together.
pub fn check_tag(tag: &str) -> Result<String> {
    let ok = !tag.is_empty()
        && tag.len() <= 32
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !ok {
        return Err(Error::usage(format!("invalid tag {tag:?}"))
            .with_hint("use 1-32 characters of A-Z a-z 0-9 . _ -, e.g. --tag dead-end"));
    }
    Ok(tag.to_ascii_lowercase())
}

/// A note id as typed: `mem_` and hex digits.
pub fn check_id(id: &str) -> Result<()> {
    let ok = id.strip_prefix("mem_").is_some_and(|h| {
        !h.is_empty() && h.len() <= 16 && h.chars().all(|c| c.is_ascii_hexdigit())
    });
    if ok {
        Ok(())
    } else {
        Err(Error::usage(format!("{id:?} is not a note id"))
            .with_hint("note ids look like mem_1a2b3c4d; `orch memory list --all` shows them"))
    }
}

/// Reads a pinned-note log: repeated record ids dropped, records folded in order of time
/// (then id), the notes still pinned returned oldest first.
pub fn fold(text: &str, file: &str) -> Result<Vec<Note>> {
    let mut seen = HashSet::new();
    let mut recs = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let r: Record = serde_json::from_str(line).map_err(|e| {
            Error::state(format!("{file}:{}: not a valid memory record: {e}", n + 1)).with_hint(
                format!("{file} holds one JSON record per line, written by `orch memory`; restore it with `git checkout HEAD -- {file}`"),
            )
        })?;
        if seen.insert(r.id.clone()) {
            recs.push(r);
        }
    }
    recs.sort_by(|a, b| a.ts.cmp(&b.ts).then_with(|| a.id.cmp(&b.id)));
    let mut notes: Vec<Note> = Vec::new();
    for r in recs {
        notes.retain(|n| n.id != r.note);
        if r.op == "pin" {
            if let Some(mut body) = r.body {
                body.id = r.note.clone();
                body.pinned = true;
                notes.push(body);
            }
        }
    }
    Ok(notes)
}

/// Reads a scratch file: one note per line, later lines win.
pub fn parse_scratch(text: &str) -> Vec<Note> {
    let mut out: Vec<Note> = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        // A damaged line of a local cache is dropped, never fatal: scratch is best effort.
        if let Ok(n) = serde_json::from_str::<Note>(line) {
            out.retain(|o| o.id != n.id);
            out.push(n);
        }
    }
    out
}

/// Writes a scratch file.
pub fn render_scratch(notes: &[Note]) -> String {
    notes
        .iter()
        .map(|n| {
            let mut s = serde_json::to_string(n).expect("a note serialises");
            s.push('\n');
            s
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(id: &str, text: &str) -> Note {
        Note {
            id: id.into(),
            ts: "2025-01-01T00:00:00Z".into(),
            text: text.into(),
            tags: vec![],
            scope: "task".into(),
            task: Some("T".into()),
            session_key: None,
            actor: "a".into(),
            pinned: false,
        }
    }

    #[test]
    fn a_merged_log_folds_the_same_whichever_side_merged() {
        let a = Record::new(
            "pin",
            "2025-01-01T00:00:01Z",
            "mem_1",
            Some(note("mem_1", "one")),
            "a",
        );
        let b = Record::new(
            "pin",
            "2025-01-01T00:00:02Z",
            "mem_2",
            Some(note("mem_2", "two")),
            "a",
        );
        let u = Record::new("unpin", "2025-01-01T00:00:03Z", "mem_1", None, "a");
        let one = format!(
            "{}{}{}{}",
            a.to_line(),
            b.to_line(),
            a.to_line(),
            u.to_line()
        );
        let two = format!("{}{}{}", u.to_line(), b.to_line(), a.to_line());
        let x = fold(&one, "f").unwrap();
        assert_eq!(x, fold(&two, "f").unwrap());
        assert_eq!(x.len(), 1);
        assert_eq!(x[0].text, "two");
        assert!(x[0].pinned);
    }

    #[test]
    fn texts_tags_and_ids_are_checked() {
        assert!(check_text("  ").is_err());
        assert!(check_text(&"x".repeat(MAX_TEXT + 1)).is_err());
        assert!(check_text("a\u{7}b").is_err());
        assert_eq!(check_text(" keep\nthis ").unwrap(), "keep\nthis");
        assert_eq!(check_tag("Dead-End").unwrap(), "dead-end");
        assert!(check_tag("a b").is_err());
        assert!(check_id("mem_1a2b").is_ok());
        assert!(check_id("evt_1").is_err());
        assert_ne!(mint("mem_", "x", 8), mint("mem_", "x", 8));
    }
}
