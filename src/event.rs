//! events.jsonl: one JSON object per line, only ever appended. Branches that both appended
//! merge by `merge=union`, which can repeat lines: readers drop repeated ids and order by
//! `ts` then `id`, so a merged log reads the same whichever side merged.

use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::hash::{BuildHasher, Hasher};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    #[serde(default)]
    pub id: String,
    pub ts: String,
    #[serde(rename = "type")]
    pub type_: String,
    #[serde(default)]
    pub session_key: Option<String>,
    #[serde(default = "task_entity")]
    pub entity_type: String,
    pub entity_id: String,
    #[serde(default)]
    pub actor: String,
    #[serde(default)]
    pub payload: serde_json::Value,
}

fn task_entity() -> String {
    "task".into()
}

pub const SESSION_START: &str = "orchestration.session.start";
pub const SESSION_END: &str = "orchestration.session.end";
pub const PHASE_OVERRIDE: &str = "orchestration.phase.override";
pub const PHASE_REOPEN: &str = "orchestration.phase.reopen";

pub fn phase_start(phase: &str) -> String {
    format!("orchestration.phase.{phase}.start")
}
pub fn phase_end(phase: &str) -> String {
    format!("orchestration.phase.{phase}.end")
}

fn fnv(bytes: &[u8], mut h: u64) -> u64 {
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

impl Event {
    pub fn new(
        type_: &str,
        ts: &str,
        session_key: Option<&str>,
        task: &str,
        actor: &str,
        payload: serde_json::Value,
    ) -> Event {
        let mut e = Event {
            id: String::new(),
            ts: ts.to_string(),
            type_: type_.to_string(),
            session_key: session_key.map(str::to_string),
            entity_type: "task".into(),
            entity_id: task.to_string(),
            actor: actor.to_string(),
            payload,
        };
        // Time, then a hash of content, time and a random part: unique across processes and
        // branches. The time leads and never repeats within a process, so the events one
        // command writes with the same `ts` read back in the order they were made.
        static LAST: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let prev = LAST
            .fetch_update(
                std::sync::atomic::Ordering::SeqCst,
                std::sync::atomic::Ordering::SeqCst,
                |last| Some(nanos.max(last + 1)),
            )
            .unwrap_or(0);
        let seq = nanos.max(prev + 1);
        let mut random = std::collections::hash_map::RandomState::new().build_hasher();
        random.write_u64(seq);
        random.write_u32(std::process::id());
        let content = serde_json::to_vec(&e).unwrap_or_default();
        let h = fnv(&content, 0xcbf2_9ce4_8422_2325 ^ random.finish());
        e.id = format!("evt_{seq:016x}{:08x}", h as u32);
        e
    }

    pub fn to_line(&self) -> String {
        let mut s = serde_json::to_string(self).expect("event serialises");
        s.push('\n');
        s
    }
}

/// Whether an event of type `type_` is one `--type want` (and a search's `type:`) asks for:
/// the full type, or a run of its dot-separated parts: `decision`, `plan.decision`, `check`
/// (every `orchestration.check.<name>`), `orchestration`.
pub fn type_matches(type_: &str, want: &str) -> bool {
    let mut starts = std::iter::once(0).chain(type_.match_indices('.').map(|(i, _)| i + 1));
    !want.is_empty()
        && starts.any(|i| {
            type_[i..]
                .strip_prefix(want)
                .is_some_and(|after| after.is_empty() || after.starts_with('.'))
        })
}

/// The id of an event line written without one: derived from its content, so identical lines
/// (a union merge's repeats) get the same id and collapse.
pub fn content_id(line: &str) -> String {
    format!(
        "evt_{:016x}",
        fnv(line.trim().as_bytes(), 0xcbf2_9ce4_8422_2325)
    )
}

/// Parses a log: drops repeated ids, orders by `ts` then `id`. A line without an id gets one
/// derived from its content, so identical lines still collapse.
pub fn parse_log(text: &str, file: &str) -> Result<Vec<Event>> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let mut e: Event = serde_json::from_str(line).map_err(|err| {
            Error::state(format!("{file}:{}: not a valid event: {err}", n + 1)).with_hint(
                "events.jsonl holds one JSON object per line; repair that line or restore it with `git checkout HEAD -- <file>`",
            )
        })?;
        if e.id.is_empty() {
            e.id = content_id(line);
        }
        if seen.insert(e.id.clone()) {
            out.push(e);
        }
    }
    out.sort_by(|a, b| a.ts.cmp(&b.ts).then_with(|| a.id.cmp(&b.id)));
    Ok(out)
}

/// Whether `type_` may be added by `orch event add` in `phase`.
pub fn check_addable(type_: &str, phase: &crate::workflow::Phase) -> Result<()> {
    let ok_custom = type_
        .strip_prefix("custom.")
        .is_some_and(|rest| !rest.is_empty() && rest.split('.').all(valid_part));
    if ok_custom || phase.declares_event(type_) {
        return Ok(());
    }
    let declared: Vec<&str> = phase.def.events.iter().map(String::as_str).collect();
    Err(Error::usage(format!(
        "event type {type_:?} is not declared by phase {}",
        phase.name
    ))
    .with_hint(if declared.is_empty() {
        "use a custom type such as custom.note".to_string()
    } else {
        format!(
            "use one of {} or a custom type such as custom.note",
            declared.join(", ")
        )
    }))
}

fn valid_part(p: &str) -> bool {
    !p.is_empty()
        && p.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// The stored type of an event added by an agent: declared short names get the phase prefix.
pub fn full_type(type_: &str) -> String {
    if type_.starts_with("custom.") || type_.starts_with("orchestration.") {
        type_.to_string()
    } else {
        format!("orchestration.phase.{type_}")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn types_match_whole_runs_of_parts() {
        use super::type_matches;
        let t = "orchestration.phase.plan.decision";
        for want in [
            t,
            "plan.decision",
            "decision",
            "orchestration",
            "phase",
            "phase.plan",
        ] {
            assert!(type_matches(t, want), "{want}");
        }
        for want in ["ision", "plan.dec", "orchestration.plan", "", "."] {
            assert!(!type_matches(t, want), "{want}");
        }
        assert!(type_matches("orchestration.check.tests", "check"));
        assert!(!type_matches("custom.note", "custom.no"));
        // A later occurrence counts when an earlier one is inside a part, or overlaps it.
        assert!(type_matches("xcheck.check", "check"));
        assert!(type_matches("xa.a.a", "a.a"));
    }

    use super::*;

    #[test]
    fn ids_are_unique() {
        let a = Event::new("x", "t", None, "T", "a", serde_json::json!({}));
        let b = Event::new("x", "t", None, "T", "a", serde_json::json!({}));
        assert_ne!(a.id, b.id);
        assert!(a.id.starts_with("evt_"));
    }

    #[test]
    fn duplicates_are_dropped_and_order_is_stable() {
        let a = Event::new(
            "x",
            "2025-01-01T00:00:02Z",
            None,
            "T",
            "a",
            serde_json::json!({}),
        );
        let b = Event::new(
            "y",
            "2025-01-01T00:00:01Z",
            None,
            "T",
            "a",
            serde_json::json!({}),
        );
        let one = format!("{}{}{}", a.to_line(), b.to_line(), a.to_line());
        let two = format!("{}{}", b.to_line(), a.to_line());
        let x = parse_log(&one, "f").unwrap();
        assert_eq!(x.len(), 2);
        assert_eq!(x, parse_log(&two, "f").unwrap());
        assert_eq!(x[0].type_, "y");
    }
}
