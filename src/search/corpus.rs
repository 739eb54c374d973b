//! What is searched: the documents each recorded file yields. Pure: text in, documents out,
//! so the index and the brute-force oracle of the tests read files the same way.
//!
//! - `tasks/<CODE>/TASK.md`: one `task` document (title; description and tags), and its
//!   Markdown sections as `artifact` documents;
//! - `tasks/<CODE>/*.md` (CONTEXT, PLAN, NOTES, REVIEW, SUMMARY, CHANGES, POSTOP, …): one
//!   `artifact` document per section, the text before the first `##` counting as one;
//! - `tasks/<CODE>/events.jsonl`: one `event` document per event (type; payload text);
//! - `bugs/<BUG-ID>.md`: one `bug` document (title; body and the text fields of the front matter).
//!
//! HTML comments are left out: they are the templates' placeholders, the same in every task.

use std::collections::{BTreeMap, HashSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Task,
    Artifact,
    Event,
    Bug,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Task => "task",
            Kind::Artifact => "artifact",
            Kind::Event => "event",
            Kind::Bug => "bug",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "task" => Kind::Task,
            "artifact" => Kind::Artifact,
            "event" => Kind::Event,
            "bug" => Kind::Bug,
            _ => return None,
        })
    }
}

/// One searchable document.
#[derive(Debug, Clone, PartialEq)]
pub struct Doc {
    pub kind: Kind,
    /// The tasks it belongs to: one, or a bug's `tasks`.
    pub tasks: Vec<String>,
    /// The file, relative to the repository root.
    pub path: String,
    /// The section heading of an artifact (empty for the text before any heading).
    pub section: String,
    /// 1-based line where the section or event starts.
    pub line: u64,
    pub event_id: String,
    /// RFC 3339 time of an event or a bug; empty otherwise.
    pub ts: String,
    pub type_: String,
    /// The phase it was recorded in, when known.
    pub phase: String,
    pub session: String,
    /// A task document's sprint.
    pub sprint: String,
    pub title: String,
    pub body: String,
}

impl Doc {
    fn new(kind: Kind, task: &str, path: &str) -> Doc {
        Doc {
            kind,
            tasks: if task.is_empty() {
                vec![]
            } else {
                vec![task.to_string()]
            },
            path: path.to_string(),
            section: String::new(),
            line: 1,
            event_id: String::new(),
            ts: String::new(),
            type_: String::new(),
            phase: String::new(),
            session: String::new(),
            sprint: String::new(),
            title: String::new(),
            body: String::new(),
        }
    }
}

/// Which phase declares each artifact file name (from the workflow), e.g. PLAN.md → plan.
pub type ArtifactPhases = BTreeMap<String, String>;

/// What a repository-relative path is to the search, if anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source<'a> {
    Markdown { task: &'a str, name: &'a str },
    Events { task: &'a str },
    Bug { id: &'a str },
}

pub const TASKS_PREFIX: &str = ".orchestration/tasks/";
pub const BUGS_PREFIX: &str = ".orchestration/bugs/";

pub fn source(path: &str) -> Option<Source<'_>> {
    if let Some(rest) = path.strip_prefix(TASKS_PREFIX) {
        let (task, name) = rest.split_once('/')?;
        if name.contains('/') || crate::code::TaskCode::parse(task).is_err() {
            return None;
        }
        if name == "events.jsonl" {
            return Some(Source::Events { task });
        }
        if name.ends_with(".md") && !name.starts_with('.') {
            return Some(Source::Markdown { task, name });
        }
        return None;
    }
    let name = path.strip_prefix(BUGS_PREFIX)?;
    let id = name.strip_suffix(".md")?;
    (!id.is_empty() && !id.contains('/') && !id.starts_with('.')).then_some(Source::Bug { id })
}

/// The documents of the file at `path` with content `text`.
pub fn docs(path: &str, text: &str, phases: &ArtifactPhases) -> Vec<Doc> {
    match source(path) {
        Some(Source::Markdown {
            task,
            name: "TASK.md",
        }) => {
            let phase = phases.get("TASK.md").map_or("", String::as_str);
            task_md(path, task, text, phase)
        }
        Some(Source::Markdown { task, name }) => {
            let phase = phases.get(name).cloned().unwrap_or_default();
            sections(path, task, name, strip_comments(text).as_str(), 1, &phase)
        }
        Some(Source::Events { task }) => events(path, task, text),
        Some(Source::Bug { id }) => bug(path, id, text),
        None => vec![],
    }
}

/// Text with `<!-- … -->` comments blanked out; line breaks inside them are kept so line
/// numbers still match the file.
pub fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("<!--") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 4..];
        match after.find("-->") {
            Some(j) => {
                out.extend(after[..j].chars().filter(|c| *c == '\n'));
                rest = &after[j + 3..];
            }
            None => {
                out.extend(after.chars().filter(|c| *c == '\n'));
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Front matter (YAML between `---` lines) and the body, with the body's first line number.
fn split_front_matter(text: &str) -> (Option<&str>, &str, u64) {
    let t = text.strip_prefix('\u{feff}').unwrap_or(text);
    let Some(rest) = t
        .strip_prefix("---\n")
        .or_else(|| t.strip_prefix("---\r\n"))
    else {
        return (None, t, 1);
    };
    let mut offset = 0;
    for (line, l) in (2u64..).zip(rest.split_inclusive('\n')) {
        let trimmed = l.trim_end_matches(['\n', '\r']);
        if trimmed == "---" || trimmed == "..." {
            return (Some(&rest[..offset]), &rest[offset + l.len()..], line + 1);
        }
        offset += l.len();
    }
    (None, t, 1)
}

/// The text of a YAML value: strings and numbers, lists joined by spaces.
fn yaml_text(v: &serde_yaml::Value) -> String {
    use serde_yaml::Value;
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Sequence(s) => s.iter().map(yaml_text).collect::<Vec<_>>().join(" "),
        Value::Mapping(m) => m.values().map(yaml_text).collect::<Vec<_>>().join(" "),
        Value::Tagged(t) => yaml_text(&t.value),
        Value::Null => String::new(),
    }
}

fn front_matter(yaml: Option<&str>) -> serde_yaml::Mapping {
    yaml.and_then(|y| serde_yaml::from_str::<serde_yaml::Value>(y).ok())
        .and_then(|v| match v {
            serde_yaml::Value::Mapping(m) => Some(m),
            _ => None,
        })
        .unwrap_or_default()
}

fn field(m: &serde_yaml::Mapping, name: &str) -> String {
    m.get(name).map(yaml_text).unwrap_or_default()
}

fn task_md(path: &str, task: &str, text: &str, phase: &str) -> Vec<Doc> {
    let (yaml, body, body_line) = split_front_matter(text);
    let fm = front_matter(yaml);
    let mut d = Doc::new(Kind::Task, task, path);
    d.title = field(&fm, "title");
    d.body = [field(&fm, "description"), field(&fm, "tags")]
        .iter()
        .filter(|s| !s.is_empty())
        .cloned()
        .collect::<Vec<_>>()
        .join("\n");
    d.sprint = field(&fm, "sprint");
    d.phase = phase.to_string();
    d.section = "front matter".into();
    let title = d.title.clone();
    let mut out = vec![d];
    out.extend(sections(
        path,
        task,
        "TASK.md",
        &strip_comments(body),
        body_line,
        phase,
    ));
    // The `# Title` line repeats the front matter's title: the task document carries it.
    for s in out.iter_mut().skip(1) {
        if s.section == title {
            s.title.clear();
        }
    }
    out
}

/// One document per `##` section. A `#` title line names the text before the first `##`.
fn sections(
    path: &str,
    task: &str,
    name: &str,
    text: &str,
    first_line: u64,
    phase: &str,
) -> Vec<Doc> {
    let mut out = Vec::new();
    let mut heading = String::new();
    let mut start = first_line;
    let mut body = String::new();
    let mut push = |heading: &str, start: u64, body: &str| {
        if body.trim().is_empty() {
            return;
        }
        let mut d = Doc::new(Kind::Artifact, task, path);
        d.section = heading.to_string();
        d.title = if heading.is_empty() {
            name.trim_end_matches(".md").to_string()
        } else {
            heading.to_string()
        };
        d.line = start;
        d.phase = phase.to_string();
        d.body = body.trim().to_string();
        out.push(d);
    };
    let mut in_fence = false;
    for (i, line) in text.lines().enumerate() {
        let n = first_line + i as u64;
        let t = line.trim_start();
        if t.starts_with("```") || t.starts_with("~~~") {
            in_fence = !in_fence;
        }
        if !in_fence {
            if let Some(h) = t.strip_prefix("## ") {
                push(&heading, start, &body);
                heading = h.trim().trim_end_matches('#').trim().to_string();
                start = n;
                body.clear();
                continue;
            }
            if heading.is_empty() && body.trim().is_empty() {
                if let Some(h) = t.strip_prefix("# ") {
                    heading = h.trim().to_string();
                    start = n;
                    continue;
                }
            }
        }
        body.push_str(line);
        body.push('\n');
    }
    push(&heading, start, &body);
    out
}

/// The phase an event type names, e.g. `orchestration.phase.plan.decision` → plan.
fn phase_of_type(type_: &str) -> Option<&str> {
    let rest = type_.strip_prefix("orchestration.phase.")?;
    let (phase, _) = rest.split_once('.')?;
    Some(phase)
}

/// Events in log order (time, then id), duplicates of a union merge dropped, each with the
/// phase it was recorded in: its payload's `phase`, the phase its type names, or the phase the
/// log last entered. A line that is not an event is skipped, not fatal: one broken line must
/// not hide a task's other records from the search.
fn events(path: &str, task: &str, text: &str) -> Vec<Doc> {
    let mut seen = HashSet::new();
    let mut evs = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        let Some(e) = super::event_line::parse(trimmed) else {
            continue;
        };
        let id = match e.id {
            Some(id) if !id.is_empty() => id.into_owned(),
            _ => crate::event::content_id(trimmed),
        };
        if !seen.insert(id.clone()) {
            continue;
        }
        let owned =
            |s: Option<std::borrow::Cow<str>>| s.map(|s| s.into_owned()).unwrap_or_default();
        let mut d = Doc::new(Kind::Event, task, path);
        d.event_id = id;
        d.ts = owned(e.ts);
        d.type_ = owned(e.type_);
        d.session = owned(e.session);
        d.line = n as u64 + 1;
        d.title = d.type_.clone();
        d.body = e.text;
        d.phase = e.phase.unwrap_or_default();
        evs.push(d);
    }
    evs.sort_by(|a, b| a.ts.cmp(&b.ts).then_with(|| a.event_id.cmp(&b.event_id)));
    let mut current = String::new();
    for d in &mut evs {
        if let Some(p) = phase_of_type(&d.type_) {
            if d.phase.is_empty() {
                d.phase = p.to_string();
            }
        }
        if d.type_.ends_with(".start") && !d.phase.is_empty() {
            current = d.phase.clone();
        }
        if d.phase.is_empty() {
            d.phase = current.clone();
        }
    }
    evs
}

fn bug(path: &str, id: &str, text: &str) -> Vec<Doc> {
    let (yaml, body, _) = split_front_matter(text);
    let fm = front_matter(yaml);
    let mut d = Doc::new(Kind::Bug, "", path);
    d.tasks = match fm.get("tasks") {
        Some(serde_yaml::Value::Sequence(s)) => s.iter().map(yaml_text).collect(),
        Some(v) => yaml_text(v).split_whitespace().map(String::from).collect(),
        None => vec![],
    };
    d.event_id = match field(&fm, "id") {
        s if s.is_empty() => id.to_string(),
        s => s,
    };
    d.title = field(&fm, "title");
    // Its last occurrence dates it: a filter-only search lists the newest first.
    d.ts = ["last_seen", "first_seen", "seen"]
        .iter()
        .map(|k| field(&fm, k))
        .find(|s| !s.is_empty())
        .unwrap_or_default();
    d.section = field(&fm, "status");
    let mut b = strip_comments(body).trim().to_string();
    for k in ["error", "normalized", "normalised", "notes", "severity"] {
        let v = field(&fm, k);
        if !v.is_empty() {
            b.push('\n');
            b.push_str(&v);
        }
    }
    d.body = b;
    vec![d]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phases() -> ArtifactPhases {
        [
            ("PLAN.md", "plan"),
            ("CONTEXT.md", "research"),
            ("TASK.md", "intake"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
    }

    #[test]
    fn paths_name_their_source() {
        assert_eq!(
            source(".orchestration/tasks/T-1/PLAN.md"),
            Some(Source::Markdown {
                task: "T-1",
                name: "PLAN.md"
            })
        );
        assert_eq!(
            source(".orchestration/tasks/T-1/events.jsonl"),
            Some(Source::Events { task: "T-1" })
        );
        assert_eq!(
            source(".orchestration/bugs/BUG-1.md"),
            Some(Source::Bug { id: "BUG-1" })
        );
        for p in [
            ".orchestration/tasks/T-1/session.json",
            ".orchestration/tasks/T-1/sub/X.md",
            ".orchestration/tasks/.hidden/X.md",
            ".orchestration/tasks/T-1/.TASK.md.orch-tmp-1",
            ".orchestration/bugs/BUG-1.jsonl",
            "src/main.rs",
        ] {
            assert_eq!(source(p), None, "{p}");
        }
    }

    #[test]
    fn task_md_gives_a_task_document_and_sections() {
        let text = "---\ntitle: Retry on timeout\ndescription: The fetcher gives up\ntags: [net, retry]\nsprint: S1\n---\n\n# Retry on timeout\n\n<!-- placeholder -->\n\n## Problem\n\nIt fails.\n\n## Notes\n\n<!-- only a comment -->\n";
        let d = docs(".orchestration/tasks/T-1/TASK.md", text, &phases());
        assert_eq!(d.len(), 2, "{d:#?}");
        assert_eq!(d[0].kind, Kind::Task);
        assert_eq!(d[0].title, "Retry on timeout");
        assert_eq!(d[0].body, "The fetcher gives up\nnet retry");
        assert_eq!(d[0].sprint, "S1");
        assert_eq!(d[1].section, "Problem");
        assert_eq!(d[1].line, 12);
        assert_eq!(d[1].body, "It fails.");
    }

    #[test]
    fn artifacts_split_at_level_two_headings_outside_code_fences() {
        let text = "# Plan for T-1\n\nIntro words.\n\n## Decisions\n\nUse a pool.\n```\n## not a heading\n```\n## Risks ##\nNone.\n";
        let d = docs(".orchestration/tasks/T-1/PLAN.md", text, &phases());
        let s: Vec<_> = d
            .iter()
            .map(|d| (d.section.as_str(), d.line, d.phase.as_str()))
            .collect();
        assert_eq!(
            s,
            vec![
                ("Plan for T-1", 1, "plan"),
                ("Decisions", 5, "plan"),
                ("Risks", 11, "plan")
            ]
        );
        assert!(d[1].body.contains("## not a heading"));
    }

    #[test]
    fn events_carry_type_payload_and_the_phase_they_were_recorded_in() {
        let text = concat!(
            r#"{"id":"e1","ts":"2025-01-01T00:00:00Z","type":"orchestration.phase.plan.start","entity_id":"T-1","payload":{"phase":"plan"}}"#,
            "\n",
            r#"{"id":"e2","ts":"2025-01-01T00:01:00Z","type":"orchestration.phase.plan.decision","entity_id":"T-1","payload":{"text":"Use a pool"}}"#,
            "\n",
            "not json\n",
            r#"{"id":"e2","ts":"2025-01-01T00:01:00Z","type":"orchestration.phase.plan.decision","entity_id":"T-1","payload":{"text":"Use a pool"}}"#,
            "\n",
        );
        let d = docs(".orchestration/tasks/T-1/events.jsonl", text, &phases());
        assert_eq!(d.len(), 2);
        assert_eq!(d[1].event_id, "e2");
        assert_eq!(d[1].phase, "plan");
        assert_eq!(d[1].body, "Use a pool\n");
        assert_eq!(d[1].line, 2);
    }

    #[test]
    fn bugs_read_their_front_matter() {
        let text = "---\nid: BUG-7\ntitle: Connection reset on push\nfingerprint: abc\nstatus: open\nseverity: high\ntasks: [T-1, T-2]\nfirst_seen: 2025-01-01T00:00:00Z\nlast_seen: 2025-01-02T00:00:00Z\n---\n\nFirst report: connection reset by peer\n";
        let d = docs(".orchestration/bugs/BUG-7.md", text, &phases());
        assert_eq!(d[0].kind, Kind::Bug);
        assert_eq!(d[0].tasks, vec!["T-1", "T-2"]);
        assert_eq!(d[0].title, "Connection reset on push");
        assert!(d[0].body.starts_with("First report"));
        assert_eq!(d[0].ts, "2025-01-02T00:00:00Z");
    }

    #[test]
    fn comments_are_blanked_keeping_lines() {
        assert_eq!(strip_comments("a<!-- x\ny -->b\n<!-- open"), "a\nb\n");
    }
}
