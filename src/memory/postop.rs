//! POSTOP.md: the compacted record of each session of a task, written at the session's end
//! (and when `session start --restart|--new` archives one). One `## Session <key>` section
//! per session, appended; `orch compact` adds a section naming the event log it folded away.
//!
//! Everything here is pure: the same session, events and notes give the same bytes, and the
//! section stays within [`BUDGET`] characters (about 1,500 tokens) however long the session
//! was — longer lists are cut, and the cut says how many were left out and where they are.

use super::Note;
use crate::event::Event;
use crate::session::HistoryEntry;
use std::collections::BTreeMap;

pub const FILE: &str = "POSTOP.md";
/// Characters one session's section may take (about 1,500 tokens at four per token, with room
/// for the words that tokenise worse).
pub const BUDGET: usize = 5_600;
/// Characters an item keeps before it is cut.
const ITEM: usize = 160;
/// Items per list, tried in turn until the section fits.
const CAPS: [usize; 6] = [8, 6, 4, 3, 2, 1];
/// Headings `settled` reads back for `orch prime`.
pub const DECISIONS: &str = "Decisions";
pub const DEAD_ENDS: &str = "Dead ends";
const MARKER: &str = "<!-- orch:compacted events.jsonl";

/// The session being closed, as session.json recorded it.
pub struct Closed<'a> {
    pub task: &'a str,
    pub key: &'a str,
    pub started_at: &'a str,
    pub ended_at: &'a str,
    pub last_phase: &'a str,
    pub history: &'a [HistoryEntry],
    /// How it closed: `ended`, `ended early (forced): reason`, `archived by a new session`.
    pub how: String,
}

/// Everything one section is made of.
pub struct Input<'a> {
    pub closed: Closed<'a>,
    /// The session's events (others are ignored).
    pub events: &'a [Event],
    /// The task's pinned notes.
    pub pinned: &'a [Note],
    /// The scratch notes to fold in.
    pub scratch: &'a [Note],
    /// Bug id → its status now, for the bugs the session met.
    pub bug_status: &'a BTreeMap<String, String>,
}

/// One list of the section: a heading, its items, and where the ones cut away are.
struct Block {
    title: &'static str,
    items: Vec<String>,
    /// Said after the count of items left out.
    rest: String,
    /// Verbatim items (pinned notes) are never shortened.
    verbatim: bool,
}

/// `s` cut to `max` characters, on one line, with an ellipsis when cut.
pub fn short(s: &str, max: usize) -> String {
    let one: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() <= max {
        return one;
    }
    let mut out: String = one.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The payload's words: string values joined in key order, else the JSON.
pub fn payload_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Object(m) => {
            let parts: Vec<String> = m
                .values()
                .filter_map(|x| x.as_str().map(str::to_string))
                .filter(|s| !s.trim().is_empty())
                .collect();
            if parts.is_empty() {
                if m.is_empty() {
                    String::new()
                } else {
                    v.to_string()
                }
            } else {
                parts.join(" — ")
            }
        }
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        _ => v.to_string(),
    }
}

/// `1h 05m`, `12m 30s`, `2d 3h`: the time from `a` to `b`, or `?` when either is unreadable.
pub fn duration(a: &str, b: &str) -> String {
    let (Some(a), Some(b)) = (crate::clock::parse(a), crate::clock::parse(b)) else {
        return "?".into();
    };
    let s = (b - a).num_seconds().max(0);
    let (d, h, m, sec) = (s / 86_400, s / 3_600 % 24, s / 60 % 60, s % 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m:02}m")
    } else if m > 0 {
        format!("{m}m {sec:02}s")
    } else {
        format!("{sec}s")
    }
}

fn last_part(t: &str) -> &str {
    t.rsplit('.').next().unwrap_or(t)
}

fn tagged(n: &Note, tags: &[&str]) -> bool {
    n.tags.iter().any(|t| tags.contains(&t.as_str()))
}

const FOLLOWUP_TAGS: [&str; 3] = ["followup", "follow-up", "todo"];
const DEAD_END_TAGS: [&str; 3] = ["dead-end", "dead_end", "deadend"];
const DECISION_TAGS: [&str; 1] = ["decision"];

/// Items with repeats folded into one, `(×n)` after it, in order of first appearance.
fn dedup(items: Vec<String>) -> Vec<String> {
    let mut order: Vec<(String, String, usize)> = vec![];
    for it in items {
        let key = it.to_lowercase();
        match order.iter_mut().find(|(k, _, _)| *k == key) {
            Some(e) => e.2 += 1,
            None => order.push((key, it, 1)),
        }
    }
    order
        .into_iter()
        .map(|(_, it, n)| if n > 1 { format!("{it} (×{n})") } else { it })
        .collect()
}

/// Whether the history's last entry is the one the session's end wrote (the last phase,
/// completed when the session ended).
fn ends_with_end(c: &Closed) -> bool {
    c.history
        .last()
        .is_some_and(|h| h.phase == c.last_phase && h.completed_at == c.ended_at && h.to.is_none())
}

fn phases(c: &Closed) -> Vec<String> {
    let mut out: Vec<String> = c
        .history
        .iter()
        .map(|h| {
            let mut s = format!("{}: {}", h.phase, duration(&h.started_at, &h.completed_at));
            match (h.transition.as_deref(), h.to.as_deref()) {
                (Some("reopen"), Some(to)) => s.push_str(&format!(", back to {to}")),
                (Some("skip"), Some(to)) => s.push_str(&format!(", skipped to {to}")),
                _ => {}
            }
            if h.override_.is_some() {
                s.push_str(" (override)");
            }
            s
        })
        .collect();
    if ends_with_end(c) {
        if let Some(l) = out.last_mut() {
            l.push_str(", then the end");
        }
        return out;
    }
    let since = c
        .history
        .last()
        .map_or(c.started_at, |h| h.completed_at.as_str());
    out.push(format!(
        "{}: {}, then the end",
        c.last_phase,
        duration(since, c.ended_at)
    ));
    out
}

fn overrides(c: &Closed, events: &[Event]) -> Vec<String> {
    let last = c.history.len().saturating_sub(1);
    let mut out: Vec<String> = c
        .history
        .iter()
        .enumerate()
        .filter_map(|(n, h)| {
            let o = h.override_.as_ref()?;
            let to = match h.to.as_deref() {
                Some(t) => t,
                None if n == last && ends_with_end(c) => "end",
                None => "next",
            };
            let passed = if o.checks.is_empty() {
                String::new()
            } else {
                format!(" — passed {}", o.checks.join(", "))
            };
            Some(format!(
                "override {} → {to} by {}: \"{}\"{passed}",
                h.phase,
                o.author,
                short(&o.reason, ITEM)
            ))
        })
        .collect();
    for e in events
        .iter()
        .filter(|e| e.type_ == "orchestration.verify.waiver")
    {
        let p = &e.payload;
        let commit = p["commit"].as_str().unwrap_or("?");
        let rules: Vec<&str> = p["rules"]
            .as_array()
            .map(|a| a.iter().filter_map(|r| r.as_str()).collect())
            .unwrap_or_default();
        out.push(format!(
            "waiver of {} ({}) by {}: \"{}\"",
            &commit[..commit.len().min(7)],
            rules.join(", "),
            e.actor,
            short(p["reason"].as_str().unwrap_or(""), ITEM)
        ));
    }
    out
}

fn of_kind(events: &[Event], kinds: &[&str], label: bool) -> Vec<String> {
    events
        .iter()
        .filter(|e| {
            !e.type_.starts_with("orchestration.") || e.type_.starts_with("orchestration.phase.")
        })
        .filter(|e| kinds.contains(&last_part(&e.type_)))
        .map(|e| {
            let text = short(&payload_text(&e.payload), ITEM);
            let k = last_part(&e.type_).replace('_', " ");
            match (label, text.is_empty()) {
                (_, true) => k,
                (true, false) => format!("{k}: {text}"),
                (false, false) => text,
            }
        })
        .collect()
}

fn checks(events: &[Event]) -> Vec<String> {
    // name → (runs, passed, last line)
    let mut by: BTreeMap<String, (usize, usize, String)> = BTreeMap::new();
    for e in events
        .iter()
        .filter(|e| e.type_.starts_with("orchestration.check."))
    {
        let name = e.type_["orchestration.check.".len()..].to_string();
        let p = &e.payload;
        let passed = p["passed"].as_bool().unwrap_or(false);
        let commit = p["commit"].as_str().unwrap_or("");
        let secs = p["duration_ms"].as_u64().unwrap_or(0) as f64 / 1000.0;
        let last = format!(
            "{} on {} ({secs:.1} s)",
            if passed { "passed" } else { "failed" },
            if commit.is_empty() {
                "?"
            } else {
                &commit[..commit.len().min(7)]
            }
        );
        let entry = by.entry(name).or_insert((0, 0, String::new()));
        entry.0 += 1;
        entry.1 += usize::from(passed);
        entry.2 = last;
    }
    by.into_iter()
        .map(|(name, (runs, ok, last))| {
            format!(
                "{name}: {runs} run{}, {ok} passed; last {last}",
                if runs == 1 { "" } else { "s" }
            )
        })
        .collect()
}

fn bugs(events: &[Event], status: &BTreeMap<String, String>) -> Vec<String> {
    // bug id → (title, how it was met, resolved in this session)
    let mut by: Vec<(String, String, String, bool)> = vec![];
    for e in events {
        let Some(kind) = e.type_.strip_prefix("orchestration.bug.") else {
            continue;
        };
        let id = e.payload["bug"].as_str().unwrap_or("?").to_string();
        let title = e.payload["title"].as_str().unwrap_or("").to_string();
        let i = match by.iter().position(|b| b.0 == id) {
            Some(i) => i,
            None => {
                by.push((id.clone(), title.clone(), String::new(), false));
                by.len() - 1
            }
        };
        if by[i].1.is_empty() {
            by[i].1 = title;
        }
        match kind {
            "resolved" => by[i].3 = true,
            k if by[i].2.is_empty() => {
                by[i].2 = if k == "found" {
                    "found".into()
                } else {
                    k.into()
                }
            }
            _ => {}
        }
    }
    let mut out: Vec<String> = by
        .into_iter()
        .map(|(id, title, met, resolved)| {
            let mut how = vec![];
            if !met.is_empty() {
                how.push(met);
            }
            if resolved {
                how.push("resolved".into());
            }
            if let Some(s) = status.get(&id) {
                how.push(format!("now {s}"));
            }
            format!("{id} {} — {}", short(&title, 100), how.join(", "))
        })
        .collect();
    out.extend(of_kind(events, &["bug_found"], false));
    out
}

fn note_line(n: &Note) -> String {
    let tags = if n.tags.is_empty() {
        String::new()
    } else {
        format!(" [{}]", n.tags.join(", "))
    };
    format!("{}{tags} ({})", n.text.replace('\n', "\n  "), n.id)
}

/// Scratch notes grouped by their first tag (untagged last), repeats folded.
fn scratch(notes: &[Note]) -> Vec<String> {
    let mut groups: Vec<(String, Vec<String>)> = vec![];
    for n in notes {
        let g = n.tags.first().cloned().unwrap_or_default();
        let text = short(&n.text, ITEM);
        match groups.iter_mut().find(|(k, _)| *k == g) {
            Some((_, v)) => v.push(text),
            None => groups.push((g, vec![text])),
        }
    }
    groups.sort_by_key(|(k, _)| k.is_empty());
    let mut out = vec![];
    for (g, items) in groups {
        for it in dedup(items) {
            out.push(if g.is_empty() {
                it
            } else {
                format!("{g}: {it}")
            });
        }
    }
    out
}

fn blocks(i: &Input) -> Vec<Block> {
    let c = &i.closed;
    let code = c.task;
    let events: Vec<Event> = i
        .events
        .iter()
        .filter(|e| e.session_key.as_deref() == Some(c.key))
        .cloned()
        .collect();
    let tagged_notes = |tags: &[&str]| -> Vec<String> {
        i.scratch
            .iter()
            .chain(
                i.pinned
                    .iter()
                    .filter(|n| n.session_key.as_deref() == Some(c.key)),
            )
            .filter(|n| tagged(n, tags))
            .map(|n| short(&n.text, ITEM))
            .collect()
    };
    let mut decisions = of_kind(&events, &["decision"], false);
    decisions.extend(tagged_notes(&DECISION_TAGS));
    let mut dead = of_kind(&events, &["dead_end", "dead-end"], false);
    dead.extend(tagged_notes(&DEAD_END_TAGS));
    let mut follow = of_kind(&events, &["followup", "follow_up"], false);
    follow.extend(tagged_notes(&FOLLOWUP_TAGS));
    let special: Vec<&str> = FOLLOWUP_TAGS
        .iter()
        .chain(&DEAD_END_TAGS)
        .chain(&DECISION_TAGS)
        .copied()
        .collect();
    let plain: Vec<Note> = i
        .scratch
        .iter()
        .filter(|n| !tagged(n, &special))
        .cloned()
        .collect();
    let ev = |t: &str| format!("`orch events {code} --all --type {t}`");
    vec![
        Block {
            title: "Phases",
            items: phases(c),
            rest: format!("`orch log {code}`"),
            verbatim: false,
        },
        Block {
            title: "Overrides and waivers",
            items: overrides(c, &events),
            rest: format!("`orch report {code}`"),
            verbatim: false,
        },
        Block {
            title: DECISIONS,
            items: dedup(decisions),
            rest: ev("decision"),
            verbatim: false,
        },
        Block {
            title: "Findings",
            items: dedup(of_kind(
                &events,
                &["finding", "issue_found", "deviation", "question"],
                true,
            )),
            rest: ev("finding"),
            verbatim: false,
        },
        Block {
            title: DEAD_ENDS,
            items: dedup(dead),
            rest: ev("dead_end"),
            verbatim: false,
        },
        Block {
            title: "Checks",
            items: checks(&events),
            rest: ev("orchestration.check"),
            verbatim: false,
        },
        Block {
            title: "Bugs",
            items: bugs(&events, i.bug_status),
            rest: format!("`orch bug list --task {code}`"),
            verbatim: false,
        },
        Block {
            title: "Follow-ups",
            items: dedup(follow),
            rest: ev("followup"),
            verbatim: false,
        },
        Block {
            title: "Pinned notes",
            items: i.pinned.iter().map(note_line).collect(),
            rest: format!("`orch memory list {code}`"),
            verbatim: true,
        },
        Block {
            title: "Scratch notes",
            items: scratch(&plain),
            rest: "the rest were folded away with the session".into(),
            verbatim: false,
        },
    ]
}

fn render(i: &Input, blocks: &[Block], cap: usize) -> String {
    let c = &i.closed;
    let n = i
        .events
        .iter()
        .filter(|e| e.session_key.as_deref() == Some(c.key))
        .count();
    let mut s = format!(
        "## Session {}\n\n{} → {} ({}), {}, {n} event{}.\n",
        c.key,
        c.started_at,
        c.ended_at,
        duration(c.started_at, c.ended_at),
        c.how,
        if n == 1 { "" } else { "s" }
    );
    for b in blocks.iter().filter(|b| !b.items.is_empty()) {
        s.push_str(&format!("\n### {}\n\n", b.title));
        for it in b.items.iter().take(cap) {
            let it = if b.verbatim {
                it.clone()
            } else {
                short(it, ITEM)
            };
            s.push_str(&format!("- {it}\n"));
        }
        if b.items.len() > cap {
            s.push_str(&format!("- … {} more: {}\n", b.items.len() - cap, b.rest));
        }
    }
    s
}

/// One session's section: every list cut to the largest of [`CAPS`] that keeps the section
/// within [`BUDGET`].
pub fn section(i: &Input) -> String {
    let bl = blocks(i);
    let mut out = String::new();
    for cap in CAPS {
        out = render(i, &bl, cap);
        if out.chars().count() <= BUDGET {
            break;
        }
    }
    out
}

/// The file's first lines.
pub fn header(task: &str) -> String {
    format!(
        "# Post-operation record: {task}\n\nWritten by orch when a session closes: one section per session, the newest last.\n"
    )
}

/// POSTOP.md with `section` appended (the header first when the file is new).
pub fn append(existing: Option<&str>, task: &str, section: &str) -> String {
    let mut s = match existing {
        Some(t) if !t.trim().is_empty() => t.to_string(),
        _ => header(task),
    };
    if !s.ends_with('\n') {
        s.push('\n');
    }
    s.push('\n');
    s.push_str(section);
    s
}

/// Whether the file already holds the section of session `key`.
pub fn has_section(text: &str, key: &str) -> bool {
    text.lines()
        .any(|l| l.trim_end() == format!("## Session {key}"))
}

/// The decisions and dead ends earlier sessions recorded, newest session first, each
/// `decision: …` or `dead end: …`.
pub fn settled(text: &str) -> Vec<String> {
    let mut sessions: Vec<Vec<String>> = vec![];
    let mut heading: Option<&str> = None;
    for line in text.lines() {
        if line.starts_with("## ") {
            sessions.push(vec![]);
            heading = None;
        } else if let Some(h) = line.strip_prefix("### ") {
            heading = match h.trim() {
                DECISIONS => Some("decision"),
                DEAD_ENDS => Some("dead end"),
                _ => None,
            };
        } else if let (Some(kind), Some(item)) = (heading, line.strip_prefix("- ")) {
            if item.starts_with("… ") {
                continue;
            }
            if let Some(cur) = sessions.last_mut() {
                cur.push(format!("{kind}: {item}"));
            }
        }
    }
    sessions.into_iter().rev().flatten().collect()
}

/// A folded event log, as a compaction's section names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    /// The blob id of the events.jsonl that was removed.
    pub blob: String,
    /// How many events it held.
    pub events: usize,
}

/// The event logs POSTOP.md says were folded into it.
pub fn markers(text: &str) -> Vec<Marker> {
    text.lines()
        .filter_map(|l| {
            let rest = l.trim().strip_prefix(MARKER)?.strip_suffix("-->")?;
            let mut blob = None;
            let mut events = None;
            for kv in rest.split_whitespace() {
                match kv.split_once('=') {
                    Some(("blob", v)) if v.chars().all(|c| c.is_ascii_hexdigit()) => {
                        blob = Some(v.to_string())
                    }
                    Some(("events", v)) => events = v.parse().ok(),
                    _ => {}
                }
            }
            Some(Marker {
                blob: blob?,
                events: events?,
            })
        })
        .collect()
}

/// The section `orch compact` appends: the marker that makes the removal legal, what the log
/// held by type, and how to read it back.
pub fn compaction(task: &str, blob: &str, events: &[Event], now: &str) -> String {
    let mut by: BTreeMap<&str, usize> = BTreeMap::new();
    for e in events {
        *by.entry(e.type_.as_str()).or_default() += 1;
    }
    let mut counts: Vec<(&str, usize)> = by.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let shown: Vec<String> = counts
        .iter()
        .take(12)
        .map(|(t, n)| format!("{t} ×{n}"))
        .collect();
    let more = counts.len().saturating_sub(12);
    let span = match (events.first(), events.last()) {
        (Some(a), Some(b)) => format!(", {} → {}", a.ts, b.ts),
        _ => String::new(),
    };
    let mut s = format!(
        "## Event log compacted\n\n{MARKER} blob={blob} events={} -->\nFolded at {now}: {} event{}{span}. By type: {}{}.\nThe full log stays in git history: `orch events {task} --all`.\n",
        events.len(),
        events.len(),
        if events.len() == 1 { "" } else { "s" },
        shown.join(", "),
        if more > 0 { format!(", and {more} more types") } else { String::new() },
    );
    if events.is_empty() {
        s = s.replace(" By type: .", "");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(ty: &str, ts: &str, payload: serde_json::Value) -> Event {
        let mut e = Event::new(ty, ts, Some("K"), "T", "a <a@x>", payload);
        e.id = format!("evt_{ts}_{ty}");
        e
    }

    fn closed() -> Closed<'static> {
        Closed {
            task: "T",
            key: "K",
            started_at: "2025-01-01T00:00:00Z",
            ended_at: "2025-01-01T02:00:00Z",
            last_phase: "close",
            history: &[],
            how: "ended".into(),
        }
    }

    #[test]
    fn a_long_session_stays_within_budget_and_says_what_it_cut() {
        let events: Vec<Event> = (0..200)
            .map(|n| {
                ev(
                    if n % 2 == 0 { "orchestration.phase.plan.decision" } else { "orchestration.phase.research.finding" },
                    &format!("2025-01-01T00:{:02}:{:02}Z", n / 60, n % 60),
                    serde_json::json!({"decision": format!("choice {n} {}", "with a long why ".repeat(12))}),
                )
            })
            .collect();
        let status = BTreeMap::new();
        let i = Input {
            closed: closed(),
            events: &events,
            pinned: &[],
            scratch: &[],
            bug_status: &status,
        };
        let s = section(&i);
        assert!(s.chars().count() <= BUDGET, "{}", s.len());
        assert!(
            s.contains("more: `orch events T --all --type decision`"),
            "{s}"
        );
        assert_eq!(s, section(&i));
        let text = append(None, "T", &s);
        assert!(has_section(&text, "K"));
        assert!(settled(&text)[0].starts_with("decision: choice 0"));
    }

    #[test]
    fn markers_read_back() {
        let s = compaction(
            "T",
            "abc123",
            &[ev("x.y", "2025-01-01T00:00:00Z", serde_json::json!({}))],
            "now",
        );
        assert_eq!(
            markers(&s),
            vec![Marker {
                blob: "abc123".into(),
                events: 1
            }]
        );
        assert_eq!(
            duration("2025-01-01T00:00:00Z", "2025-01-01T01:05:00Z"),
            "1h 05m"
        );
    }
}
