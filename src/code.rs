//! Task codes: the only user input that becomes a path, so it is checked before anything else.

use crate::{Error, Result};
use std::fmt;

/// The folder, at the top of the worktree, that holds everything orch records.
pub const ORCH_DIR: &str = ".orchestration";

/// A validated task code: 1–64 chars of `[A-Za-z0-9._-]`, starting with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskCode(String);

impl TaskCode {
    pub const MAX_LEN: usize = 64;

    pub fn parse(s: &str) -> Result<TaskCode> {
        let reason = if s.is_empty() {
            Some("it is empty")
        } else if s.len() > Self::MAX_LEN || s.chars().count() > Self::MAX_LEN {
            Some("it is longer than 64 characters")
        } else if s == "." || s == ".." {
            Some("it names a folder")
        } else if s.contains('/') || s.contains('\\') {
            Some("it contains a path separator")
        } else if !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            Some("only ASCII letters, digits, '.', '_' and '-' are allowed")
        } else if !s.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            Some("it must start with a letter or digit")
        } else if s.ends_with('.') {
            Some("it ends with '.', which Windows drops from folder names")
        } else if windows_reserved(s) {
            Some("it is a device name on Windows (CON, PRN, AUX, NUL, COM1-9, LPT1-9), so no clone there could hold its folder")
        } else {
            None
        };
        match reason {
            Some(why) => Err(Error::usage(format!(
                "invalid task code {:?}: {why}",
                truncate(s, 80)
            ))
            .with_hint("use 1-64 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit, e.g. TSK-1")),
            None => Ok(TaskCode(s.to_string())),
        }
    }

    /// Whether `other` is this code spelled with different letter case: two such task folders
    /// are one folder on a case-insensitive file system (macOS, Windows).
    pub fn same_ignoring_case(&self, other: &str) -> bool {
        self.0 != other && self.0.eq_ignore_ascii_case(other)
    }

    /// A fresh code derived from a hash of title, time and author, so two branches never mint
    /// the same one: `TSK-` and six uppercase hex characters.
    pub fn generate(title: &str, now: &str, author: &str, salt: u64) -> TaskCode {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in title
            .bytes()
            .chain([0])
            .chain(now.bytes())
            .chain([0])
            .chain(author.bytes())
            .chain(salt.to_le_bytes())
        {
            h ^= b as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        TaskCode(format!("TSK-{:06X}", (h ^ (h >> 32)) & 0xFF_FFFF))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() > n {
        let mut t: String = s.chars().take(n).collect();
        t.push('…');
        t
    } else {
        s.to_string()
    }
}

/// Windows device names, reserved with any extension (`CON`, `nul.txt`, `COM1.x`).
fn windows_reserved(s: &str) -> bool {
    let stem = s.split('.').next().unwrap_or(s).to_ascii_uppercase();
    matches!(stem.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || (stem.len() == 4
            && (stem.starts_with("COM") || stem.starts_with("LPT"))
            && matches!(stem.as_bytes()[3], b'1'..=b'9'))
}

impl fmt::Display for TaskCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for TaskCode {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_good_codes() {
        for ok in [
            "TSK-1",
            "a",
            "9.x_y-z",
            &"A".repeat(64),
            "CONTEXT",
            "COM10",
            "LPT0",
            "NULL-1",
        ] {
            assert!(TaskCode::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_bad_codes() {
        for bad in [
            "",
            ".",
            "..",
            "../x",
            "a/b",
            "a\\b",
            "-x",
            ".hidden",
            "tâche",
            "a b",
            &"A".repeat(65),
            "CON",
            "nul",
            "Aux.txt",
            "COM1",
            "lpt9.x",
            "TSK-1.",
        ] {
            let err = TaskCode::parse(bad).unwrap_err();
            assert_eq!(err.kind, crate::ErrorKind::Usage, "{bad}");
        }
    }

    #[test]
    fn generated_codes_are_valid_and_differ() {
        let a = TaskCode::generate("t", "2025-01-01T00:00:00Z", "me", 1);
        let b = TaskCode::generate("t", "2025-01-01T00:00:00Z", "me", 2);
        assert_ne!(a, b);
        assert!(TaskCode::parse(a.as_str()).is_ok());
        assert_eq!(a.as_str().len(), 10);
    }
}
