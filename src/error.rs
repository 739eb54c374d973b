//! One error type for the whole library: a kind (which decides the exit code), a message that
//! names the thing involved, and an optional hint saying what to run next.

use std::fmt;

/// What went wrong, broadly. Each kind maps to one documented exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// I/O, git or another runtime failure (exit 1).
    Runtime,
    /// Bad arguments or bad input files (exit 2).
    Usage,
    /// A phase's requirements do not hold; nothing changed (exit 3).
    Validation,
    /// The task or repository is in a state that does not allow this (exit 4).
    State,
    /// Someone else holds a lock or moved a ref under us (exit 5).
    Conflict,
}

impl ErrorKind {
    pub fn exit_code(self) -> i32 {
        match self {
            ErrorKind::Runtime => 1,
            ErrorKind::Usage => 2,
            ErrorKind::Validation => 3,
            ErrorKind::State => 4,
            ErrorKind::Conflict => 5,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Runtime => "runtime",
            ErrorKind::Usage => "usage",
            ErrorKind::Validation => "validation",
            ErrorKind::State => "state",
            ErrorKind::Conflict => "conflict",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
    pub hint: Option<String>,
    /// The checks behind a validation failure, for `--json` and the human list.
    pub diagnostics: Vec<crate::diagnostic::Diagnostic>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            hint: None,
            diagnostics: Vec::new(),
        }
    }
    pub fn runtime(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Runtime, message)
    }
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Usage, message)
    }
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Validation, message)
    }
    pub fn state(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::State, message)
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
    pub fn with_diagnostics(mut self, d: Vec<crate::diagnostic::Diagnostic>) -> Self {
        self.diagnostics = d;
        self
    }
    /// An I/O error on a named path, as a runtime error.
    pub fn io(path: &std::path::Path, err: std::io::Error) -> Self {
        Self::runtime(format!("{}: {}", path.display(), err))
    }
    pub fn exit_code(&self) -> i32 {
        self.kind.exit_code()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}
