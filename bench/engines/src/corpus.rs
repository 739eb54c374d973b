//! The documents of a repository's `.orchestration/tasks`, read the same way for every engine:
//!
//! - `<CODE>/TASK.md`: one `task` document (the front matter's title; its other values as the
//!   body), and one `artifact` document per `## ` section of the Markdown after it;
//! - `<CODE>/*.md` (any other): one `artifact` document per `## ` section;
//! - `<CODE>/events.jsonl`: one `event` document per line (its type; the text of its payload).
//!
//! The text before the first `## ` is a section with an empty heading. HTML comments are
//! removed from Markdown first.

use std::path::Path;
use walkdir::WalkDir;

pub type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// One searchable document.
#[derive(Debug, Clone, PartialEq)]
pub struct Doc {
    /// The task folder's name: untokenized, for filtering.
    pub task: String,
    /// `task`, `artifact` or `event`.
    pub kind: &'static str,
    pub title: String,
    pub body: String,
}

impl Doc {
    fn new(task: &str, kind: &'static str, title: &str, body: &str) -> Doc {
        Doc {
            task: task.to_string(),
            kind,
            title: title.to_string(),
            body: body.to_string(),
        }
    }
}

/// Every document under `repo/.orchestration/tasks`, in file-name order, so that a document's
/// position is the same id in every engine.
pub fn read(repo: &Path) -> Result<Vec<Doc>> {
    let tasks = repo.join(".orchestration/tasks");
    if !tasks.is_dir() {
        return Err(format!("{}: no such folder", tasks.display()).into());
    }
    let mut out = Vec::new();
    let walk = WalkDir::new(&tasks)
        .min_depth(2)
        .max_depth(2)
        .sort_by_file_name();
    for entry in walk {
        let entry = entry?;
        if !entry.file_type().is_file() {
            continue;
        }
        let name = entry.file_name().to_string_lossy();
        let task = entry.path().parent().and_then(Path::file_name);
        let task = task.map(|t| t.to_string_lossy()).unwrap_or_default();
        if name.ends_with(".md") || name == "events.jsonl" {
            let text = String::from_utf8_lossy(&std::fs::read(entry.path())?).into_owned();
            out.extend(docs(&task, &name, &text));
        }
    }
    Ok(out)
}

/// The documents of one file of a task folder.
pub fn docs(task: &str, name: &str, text: &str) -> Vec<Doc> {
    match name {
        "TASK.md" => task_md(task, text),
        "events.jsonl" => events(task, text),
        _ if name.ends_with(".md") => sections(task, &strip_comments(text)),
        _ => vec![],
    }
}

/// Text without its `<!-- … -->` comments (an unclosed one runs to the end).
pub fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("<!--") {
        out.push_str(&rest[..i]);
        rest = match rest[i + 4..].find("-->") {
            Some(j) => &rest[i + 4 + j + 3..],
            None => "",
        };
    }
    out.push_str(rest);
    out
}

/// The front matter's lines (between `---` lines at the top) and the Markdown after it.
fn split_front_matter(text: &str) -> (&str, &str) {
    let Some(rest) = text.strip_prefix("---\n") else {
        return ("", text);
    };
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == "---" {
            return (&rest[..offset], &rest[offset + line.len()..]);
        }
        offset += line.len();
    }
    ("", text)
}

/// A front-matter value as text: quotes and list brackets left out.
fn yaml_value(v: &str) -> &str {
    let v = v.trim();
    let v = v
        .strip_prefix('[')
        .and_then(|v| v.strip_suffix(']'))
        .unwrap_or(v);
    v.trim_matches(|c| c == '"' || c == '\'')
}

fn task_md(task: &str, text: &str) -> Vec<Doc> {
    let (front, markdown) = split_front_matter(text);
    let mut title = "";
    let mut rest = Vec::new();
    for line in front.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        match key.trim() {
            "title" => title = yaml_value(value),
            _ => rest.push(yaml_value(value)),
        }
    }
    let mut out = vec![Doc::new(task, "task", title, &rest.join("\n"))];
    out.extend(sections(task, &strip_comments(markdown)));
    out
}

/// One `artifact` document per `## ` section; an empty section (no heading, no text) is none.
fn sections(task: &str, text: &str) -> Vec<Doc> {
    let mut out = Vec::new();
    let mut push = |heading: &str, body: &str| {
        if !heading.is_empty() || !body.trim().is_empty() {
            out.push(Doc::new(task, "artifact", heading, body.trim()));
        }
    };
    let mut heading = "";
    let mut body = String::new();
    for line in text.lines() {
        if let Some(h) = line.strip_prefix("## ") {
            push(heading, &body);
            heading = h.trim();
            body.clear();
        } else {
            body.push_str(line);
            body.push('\n');
        }
    }
    push(heading, &body);
    out
}

/// Every string in a JSON value, joined by spaces.
fn strings(v: &serde_json::Value, out: &mut Vec<String>) {
    use serde_json::Value;
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(m) => m.values().for_each(|x| strings(x, out)),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// One `event` document per line that is a JSON object; other lines are skipped.
fn events(task: &str, text: &str) -> Vec<Doc> {
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let Ok(serde_json::Value::Object(obj)) = serde_json::from_str(line) else {
            continue;
        };
        let type_ = obj.get("type").and_then(|t| t.as_str()).unwrap_or("");
        let mut text = Vec::new();
        if let Some(data) = obj.get("data").or_else(|| obj.get("payload")) {
            strings(data, &mut text);
        }
        out.push(Doc::new(task, "event", type_, &text.join(" ")));
    }
    out
}

/// Lower-case words, split at everything that is not a letter or a digit: what both engines'
/// tokenizers make of the text (tantivy's simple tokenizer, FTS5's unicode61).
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_md_is_a_task_and_its_sections() {
        let text = "---\ntitle: Task 1 zeta\ntags: [gamma]\n---\n\n# Task 1\n<!-- hidden -->\n\
                    Body.\n## Notes\nsome notes\n";
        let d = docs("TSK-1", "TASK.md", text);
        assert_eq!(d[0], Doc::new("TSK-1", "task", "Task 1 zeta", "gamma"));
        assert_eq!(d[1], Doc::new("TSK-1", "artifact", "", "# Task 1\n\nBody."));
        assert_eq!(d[2], Doc::new("TSK-1", "artifact", "Notes", "some notes"));
        assert_eq!(d.len(), 3);
    }

    #[test]
    fn an_event_is_its_type_and_payload_strings() {
        let line = r#"{"type":"custom.note","actor":"x","payload":{"text":"a b","n":1,"l":["c"]}}"#;
        let d = docs("TSK-1", "events.jsonl", &format!("{line}\nnot json\n"));
        assert_eq!(d, vec![Doc::new("TSK-1", "event", "custom.note", "a b c")]);
    }

    #[test]
    fn words_split_like_the_tokenizers() {
        let w: Vec<_> = words("Custom.note TSK-000001 naïve_X").collect();
        assert_eq!(w, ["custom", "note", "tsk", "000001", "naïve", "x"]);
    }
}
