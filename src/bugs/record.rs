//! The bug files: `.orchestration/bugs/<BUG-ID>.md` (front matter and the first report) and
//! `<BUG-ID>.jsonl` beside it (occurrences and decisions, appended, `merge=union`).
//!
//! An occurrence only appends to the JSONL, never rewrites the `.md`: two branches that both
//! hit a known bug then merge without conflict. The front matter's `tasks` and `last_seen` are
//! as of the file's last rewrite (new bug, resolve, reopen, merge, distinct); readers combine
//! them with the log.

use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The largest error text accepted: a long backtrace fits many times over, a whole log does not.
pub const MAX_ERROR_BYTES: usize = 256 * 1024;
pub const MAX_TITLE_CHARS: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Open,
    Resolved,
    /// Merged into another bug (`duplicate_of`).
    Duplicate,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Resolved => "resolved",
            Status::Duplicate => "duplicate",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn parse(s: &str) -> Result<Severity> {
        match s {
            "low" => Ok(Severity::Low),
            "medium" => Ok(Severity::Medium),
            "high" => Ok(Severity::High),
            "critical" => Ok(Severity::Critical),
            _ => Err(Error::usage(format!("--severity {s:?} is not a severity"))
                .with_hint("use one of low, medium, high, critical")),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// A near match recorded at report time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suggestion {
    pub id: String,
    pub score: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resolution {
    pub at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The front matter of a bug file, in this order on disk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BugMeta {
    pub id: String,
    pub title: String,
    pub fingerprint: String,
    pub status: Status,
    pub severity: Severity,
    pub tasks: Vec<String>,
    pub first_seen: String,
    pub last_seen: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub possible_duplicate_of: Vec<Suggestion>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub distinct_from: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<Resolution>,
    /// How often it came back after being resolved.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub regressions: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A bug file read back: its front matter, the first report and its normalised form.
#[derive(Debug, Clone, PartialEq)]
pub struct BugDoc {
    pub meta: BugMeta,
    pub report: String,
    pub normalized: String,
}

/// One line of `<BUG-ID>.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogEntry {
    pub id: String,
    pub ts: String,
    /// found · occurrence · regression · resolved · reopened · merged · distinct
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    #[serde(default)]
    pub actor: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl LogEntry {
    pub fn to_line(&self) -> String {
        let mut s = serde_json::to_string(self).expect("log entries serialise");
        s.push('\n');
        s
    }
}

/// Bug ids look like task codes: `BUG-` and eight uppercase hex characters.
pub fn check_id(s: &str) -> Result<String> {
    let ok = s.len() == 12
        && s.starts_with("BUG-")
        && s[4..]
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase());
    if ok {
        Ok(s.to_string())
    } else {
        Err(Error::usage(format!("{s:?} is not a bug id"))
            .with_hint("bug ids look like BUG-1A2B3C4D; `orch bug list` shows them"))
    }
}

/// A fresh id from the fingerprint, time, author and a salt, so two branches reporting the
/// same error at once still mint different ids (`orch bug list` shows them as one fingerprint).
pub fn new_id(fingerprint: &str, now: &str, actor: &str, salt: u64) -> String {
    let mut bytes = Vec::new();
    for part in [fingerprint, now, actor] {
        bytes.extend_from_slice(part.as_bytes());
        bytes.push(0);
    }
    bytes.extend_from_slice(&salt.to_le_bytes());
    let h = super::normalize::fnv64(&bytes, 3);
    format!("BUG-{:08X}", (h ^ (h >> 32)) & 0xFFFF_FFFF)
}

/// Refuses what cannot be a report: empty, too large, not text, or with control characters
/// that would garble a terminal. Nothing in it is ever executed or rendered as markup.
pub fn check_error_text(bytes: &[u8], source: &str) -> Result<String> {
    if bytes.len() > MAX_ERROR_BYTES {
        return Err(Error::usage(format!(
            "the error text from {source} is larger than {} KiB, the most a bug keeps",
            MAX_ERROR_BYTES / 1024
        ))
        .with_hint("pass the failing part: the error line and its stack trace"));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| {
        Error::usage(format!("the error text from {source} is not UTF-8 text"))
            .with_hint("pass the error as text (a stack trace, panic message or test output), not a binary file")
    })?;
    if let Some(c) = text
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
    {
        return Err(Error::usage(format!(
            "the error text from {source} contains the control character U+{:04X}",
            c as u32
        ))
        .with_hint("pass plain text; strip terminal colour codes (e.g. with `sed 's/\\x1b\\[[0-9;]*m//g'`)"));
    }
    if text.trim().is_empty() {
        return Err(
            Error::usage(format!("the error text from {source} is empty")).with_hint(
                "pass the error with --error TEXT, --error-file FILE or on stdin with -",
            ),
        );
    }
    Ok(text.replace("\r\n", "\n"))
}

pub fn check_title(t: &str) -> Result<String> {
    let t = t.trim();
    if t.is_empty() {
        return Err(Error::usage("the bug title is empty")
            .with_hint("give a short title with --title, e.g. --title \"crash on empty config\""));
    }
    if t.contains(['\n', '\r']) || t.chars().any(|c| c.is_control()) {
        return Err(
            Error::usage("the bug title contains a line break or control character")
                .with_hint("a title is one line; put details in the error text"),
        );
    }
    if t.chars().count() > MAX_TITLE_CHARS {
        return Err(Error::usage(format!(
            "the bug title is longer than {MAX_TITLE_CHARS} characters"
        ))
        .with_hint("shorten it; put details in the error text"));
    }
    Ok(t.to_string())
}

/// A fence longer than any backtick run in `text`, so the report can never close it.
fn fence(text: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    "`".repeat((longest + 1).max(3))
}

pub fn render(doc: &BugDoc) -> String {
    let yaml = serde_yaml::to_string(&doc.meta).expect("bug front matter serialises");
    let rf = fence(&doc.report);
    let nf = fence(&doc.normalized);
    let report = doc.report.trim_end_matches('\n');
    let normalized = doc.normalized.trim_end_matches('\n');
    format!(
        "---\n{yaml}---\n\n# {}\n\n## First report\n\n{rf}text\n{report}\n{rf}\n\n## Normalised\n\n{nf}text\n{normalized}\n{nf}\n",
        doc.meta.title
    )
}

pub fn parse(text: &str, source: &str) -> Result<BugDoc> {
    let bad = |why: &str| {
        Error::runtime(format!("{source}: {why}")).with_hint(
            "restore the file from git (`git checkout -- <file>`) or fix its front matter",
        )
    };
    let rest = text
        .strip_prefix("---\n")
        .ok_or_else(|| bad("no front matter"))?;
    let end = rest
        .find("\n---\n")
        .ok_or_else(|| bad("front matter not closed"))?;
    let meta: BugMeta =
        serde_yaml::from_str(&rest[..end + 1]).map_err(|e| bad(&format!("front matter: {e}")))?;
    let body = &rest[end + 5..];
    let (report, after) = fenced_after(body, "## First report").unwrap_or_default();
    let (normalized, _) = fenced_after(&body[after..], "## Normalised").unwrap_or_default();
    Ok(BugDoc {
        meta,
        report,
        normalized,
    })
}

/// The fenced block after `heading`, and the offset just past its closing fence.
fn fenced_after(body: &str, heading: &str) -> Option<(String, usize)> {
    let start = body.find(heading)? + heading.len();
    let skip = body[start..].len() - body[start..].trim_start_matches('\n').len();
    let open = start + skip;
    let rest = &body[open..];
    let ticks = rest.chars().take_while(|c| *c == '`').count();
    if ticks < 3 {
        return None;
    }
    let open_end = rest.find('\n')? + 1;
    let fence = "`".repeat(ticks);
    let inner = &rest[open_end..];
    let close = inner.find(&format!("\n{fence}\n")).map(|p| p + 1)?;
    Some((
        inner[..close].to_string(),
        open + open_end + close + fence.len(),
    ))
}

/// The log as readers see it: repeated ids (from `merge=union`) dropped, in order of time.
pub fn parse_log(text: &str, source: &str) -> Result<Vec<LogEntry>> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let e: LogEntry = serde_json::from_str(line).map_err(|e| {
            Error::runtime(format!("{source}:{}: not a bug log entry: {e}", n + 1))
                .with_hint("restore the file from git; each line is one JSON object")
        })?;
        if seen.insert(e.id.clone()) {
            out.push(e);
        }
    }
    out.sort_by(|a, b| (&a.ts, &a.id).cmp(&(&b.ts, &b.id)));
    Ok(out)
}

/// A log entry id: a hash of its content and a salt, unique enough to de-duplicate on.
pub fn entry_id(kind: &str, bug: &str, ts: &str, salt: u64) -> String {
    let h = super::normalize::fnv64(format!("{kind}\0{bug}\0{ts}").as_bytes(), salt);
    format!("occ_{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(report: &str) -> BugDoc {
        BugDoc {
            meta: BugMeta {
                id: "BUG-0000ABCD".into(),
                title: "crash".into(),
                fingerprint: "f".repeat(32),
                status: Status::Open,
                severity: Severity::Medium,
                tasks: vec!["TSK-1".into()],
                first_seen: "2025-01-01T00:00:00Z".into(),
                last_seen: "2025-01-01T00:00:00Z".into(),
                location: None,
                possible_duplicate_of: vec![],
                duplicate_of: None,
                distinct_from: vec![],
                resolution: None,
                regressions: 0,
            },
            report: report.into(),
            normalized: "type: panic\n".into(),
        }
    }

    #[test]
    fn round_trips_reports_with_fences_and_markup_inside() {
        for r in [
            "plain\n",
            "has ``` a fence\n````\n",
            "---\nfront: matter\n---\n# heading\n",
        ] {
            let d = doc(r);
            let back = parse(&render(&d), "x.md").unwrap();
            assert_eq!(back, d, "{r:?}");
        }
    }

    #[test]
    fn refuses_bad_input() {
        assert!(check_error_text(b"", "--error").is_err());
        assert!(check_error_text(b"  \n", "--error").is_err());
        assert!(check_error_text(&[0xff, 0xfe, 0], "f").is_err());
        assert!(check_error_text(b"a\x00b", "f").is_err());
        assert!(check_error_text(&vec![b'a'; MAX_ERROR_BYTES + 1], "f").is_err());
        assert!(check_title("two\nlines").is_err());
        assert!(check_title("  ").is_err());
        assert!(check_id("BUG-12345678").is_ok());
        assert!(check_id("BUG-1234567g").is_err());
        assert!(check_id("../x").is_err());
    }
}
