//! session.json: the task's current phase and how it got there. Written pretty, keys in a
//! fixed order, with a trailing newline, so diffs in review stay small.

use crate::{Error, Result};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Session {
    pub task: String,
    pub session_key: String,
    pub started_at: String,
    pub current_phase: String,
    pub active: bool,
    /// The branch the session started on: in any clone on that branch, the task is the
    /// current one while its session is active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    #[serde(default)]
    pub phase_history: Vec<HistoryEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<EndRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execute_range: Option<ExecuteRange>,
    #[serde(default)]
    pub previous_sessions: Vec<PreviousSession>,
}

/// A stretch of time spent in one phase, written when the phase is left.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryEntry {
    pub phase: String,
    pub started_at: String,
    pub completed_at: String,
    #[serde(rename = "override")]
    pub override_: Option<Override>,
    /// The phase entered next; absent in hand-written or older files (then: the next in order).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// `complete` (forward by one), `skip` (forward by more) or `reopen` (back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transition: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Override {
    pub reason: String,
    pub author: String,
    pub at: String,
    /// The diagnostics codes and targets it passed, e.g. `missing_artifact: CONTEXT.md`.
    #[serde(default)]
    pub checks: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndRecord {
    pub forced: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub author: String,
}

/// The commits that bound the execute phase's work: `base` is HEAD just before entering
/// execute, `head` the last commit before leaving it. Rework loops extend `head`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecuteRange {
    pub base: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head: Option<String>,
}

/// A session that was replaced by `session start --restart|--new`, or ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreviousSession {
    pub session_key: String,
    pub started_at: String,
    pub ended_at: String,
    pub last_phase: String,
    #[serde(default)]
    pub phase_history: Vec<HistoryEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execute_range: Option<ExecuteRange>,
}

impl Session {
    pub fn new(task: &str, key: String, now: &str, first_phase: &str) -> Session {
        Session {
            task: task.to_string(),
            session_key: key,
            started_at: now.to_string(),
            current_phase: first_phase.to_string(),
            active: true,
            branch: None,
            phase_history: vec![],
            ended_at: None,
            end: None,
            execute_range: None,
            previous_sessions: vec![],
        }
    }

    /// `sess_<CODE>_<YYYYMMDD>_<HHMMSS>`.
    pub fn default_key(task: &str, now: &chrono::DateTime<chrono::Utc>) -> String {
        format!("sess_{task}_{}", now.format("%Y%m%d_%H%M%S"))
    }

    /// When the current phase began: the end of the last history entry, else the session start.
    pub fn phase_started_at(&self) -> &str {
        self.phase_history
            .last()
            .map(|h| h.completed_at.as_str())
            .unwrap_or(&self.started_at)
    }

    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("session serialises");
        s.push('\n');
        s
    }

    /// `file` names the file in messages.
    pub fn parse(text: &str, file: &str) -> Result<Session> {
        serde_json::from_str(text).map_err(|e| {
            let what = if e.is_eof() {
                "is truncated".to_string()
            } else {
                // serde_json ends its message with the location, which follows anyway.
                let msg = e.to_string();
                let msg = msg.rsplit_once(" at line ").map_or(msg.as_str(), |(m, _)| m).to_string();
                format!("is not valid: {msg}")
            };
            Error::state(format!(
                "{file} {what} (line {}, column {})",
                e.line(),
                e.column()
            ))
            .with_hint(format!(
                "repair it by hand, or restore the committed version with `git checkout HEAD -- {file}`"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_in_contract_order() {
        let mut s = Session::new(
            "T-1",
            "sess_T-1_20250113_143022".into(),
            "2025-01-13T14:30:22Z",
            "intake",
        );
        s.phase_history.push(HistoryEntry {
            phase: "intake".into(),
            started_at: "2025-01-13T14:30:22Z".into(),
            completed_at: "2025-01-13T14:45:00Z".into(),
            override_: None,
            to: Some("research".into()),
            transition: Some("complete".into()),
        });
        let text = s.to_json();
        let keys: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("  \""))
            .map(|l| l.trim().split('"').nth(1).unwrap())
            .collect();
        assert_eq!(
            keys,
            [
                "task",
                "session_key",
                "started_at",
                "current_phase",
                "active",
                "phase_history",
                "previous_sessions"
            ]
        );
        assert!(text.ends_with("}\n"));
        assert_eq!(Session::parse(&text, "s").unwrap(), s);
    }

    #[test]
    fn truncated_file_names_line() {
        let e = Session::parse("{\n  \"task\": \"T\",\n", "x/session.json").unwrap_err();
        assert!(
            e.message.contains("x/session.json is truncated"),
            "{}",
            e.message
        );
        assert!(e.message.contains("line 3"), "{}", e.message);
    }
}
