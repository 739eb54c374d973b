//! "Now", pinned by `ORCH_NOW` in tests so output is reproducible.

use crate::{Error, Result};
use chrono::{DateTime, SecondsFormat, Utc};

pub fn now() -> Result<DateTime<Utc>> {
    match std::env::var("ORCH_NOW") {
        Ok(s) if !s.is_empty() => DateTime::parse_from_rfc3339(&s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| {
                Error::usage(format!("ORCH_NOW={s:?} is not an RFC 3339 time: {e}"))
                    .with_hint("use a value like 2025-01-13T14:30:22Z, or unset ORCH_NOW")
            }),
        _ => Ok(Utc::now()),
    }
}

/// RFC 3339 in UTC with whole seconds, the one format every file uses.
pub fn fmt(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub fn parse(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}
