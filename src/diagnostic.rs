//! What a check found: a severity, a stable code, the thing it is about and how to fix it.
//! Validation, the transition rules, `orch verify` and the error type all speak in these.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: String,
    pub message: String,
    pub target: String,
    pub fix: String,
}

impl Diagnostic {
    pub fn error(code: &str, target: &str, message: String, fix: String) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code: code.into(),
            message,
            target: target.into(),
            fix,
        }
    }
    pub fn warning(code: &str, target: &str, message: String, fix: String) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, target, message, fix)
        }
    }
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
    /// `code: target`, as recorded in an override.
    pub fn short(&self) -> String {
        format!("{}: {}", self.code, self.target)
    }
}

/// Whether any of `d` blocks (is an error rather than a warning).
pub fn has_errors(d: &[Diagnostic]) -> bool {
    d.iter().any(Diagnostic::is_error)
}
