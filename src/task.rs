//! TASK.md: YAML front matter between `---` lines, then a Markdown body.

use crate::{Error, Result};
use serde::Serialize;
use serde_yaml::{Mapping, Value};

/// Front-matter fields orch knows, with the type each must have.
const STRING_FIELDS: &[&str] = &["title", "status", "description", "project_id", "sprint"];
const LIST_FIELDS: &[&str] = &["tags"];

#[derive(Debug, Clone, PartialEq)]
pub struct TaskDoc {
    pub fields: Mapping,
    pub body: String,
}

/// One line of a task list: what `orch task list` and `orch status` show of a task.
#[derive(Debug, Clone, Serialize)]
pub struct TaskSummary {
    pub task: String,
    pub title: String,
    pub status: String,
    pub phase: Option<String>,
    pub active: bool,
    /// `not_started`, `active` or `done` (its session ended), as `orch next` says.
    pub state: &'static str,
    pub sprint: Option<String>,
    pub tags: Vec<String>,
    /// Why the task could not be read, when it could not.
    pub error: Option<String>,
}

/// A task's state from its session: none yet, open, or ended.
pub fn state_of(phase: Option<&str>, active: bool) -> &'static str {
    match (phase, active) {
        (None, _) => "not_started",
        (Some(_), true) => "active",
        (Some(_), false) => "done",
    }
}

/// Where the front matter ends, as (yaml, body).
fn split(text: &str) -> Option<(&str, &str)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let rest = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))?;
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        let trimmed = line.trim_end_matches(['\n', '\r']);
        if trimmed == "---" || trimmed == "..." {
            return Some((&rest[..offset], &rest[offset + line.len()..]));
        }
        offset += line.len();
    }
    if rest[offset..].trim_end() == "---" {
        return Some((&rest[..offset], ""));
    }
    None
}

impl TaskDoc {
    /// `file` names the file in messages (e.g. `.orchestration/tasks/TSK-1/TASK.md`).
    pub fn parse(text: &str, file: &str) -> Result<TaskDoc> {
        let hint = "TASK.md must start with YAML front matter between two `---` lines, e.g.\n---\ntitle: \"...\"\nstatus: open\ndescription: \"...\"\n---";
        let (yaml, body) = split(text).ok_or_else(|| {
            Error::validation(format!("{file} has no YAML front matter")).with_hint(hint)
        })?;
        let value: Value = if yaml.trim().is_empty() {
            Value::Mapping(Mapping::new())
        } else {
            serde_yaml::from_str(yaml).map_err(|e| {
                let loc = e
                    .location()
                    .map(|l| format!(" (front matter line {})", l.line()))
                    .unwrap_or_default();
                Error::validation(format!("{file}: broken YAML front matter{loc}: {e}"))
                    .with_hint("fix the YAML between the `---` lines")
            })?
        };
        let fields = match value {
            Value::Mapping(m) => m,
            Value::Null => Mapping::new(),
            _ => {
                return Err(Error::validation(format!(
                    "{file}: the front matter must be a mapping of fields, not a {}",
                    kind(&value)
                ))
                .with_hint(hint))
            }
        };
        let doc = TaskDoc {
            fields,
            body: body.to_string(),
        };
        doc.check_types(file)?;
        Ok(doc)
    }

    fn check_types(&self, file: &str) -> Result<()> {
        for f in STRING_FIELDS {
            if let Some(v) = self.fields.get(*f) {
                if !matches!(v, Value::String(_) | Value::Null | Value::Number(_)) {
                    return Err(Error::validation(format!(
                        "{file}: field `{f}` must be text, found a {}",
                        kind(v)
                    ))
                    .with_hint(format!("write `{f}: \"...\"` in the front matter")));
                }
            }
        }
        for f in LIST_FIELDS {
            if let Some(v) = self.fields.get(*f) {
                let ok = match v {
                    Value::Null => true,
                    Value::Sequence(s) => s
                        .iter()
                        .all(|x| matches!(x, Value::String(_) | Value::Number(_))),
                    _ => false,
                };
                if !ok {
                    return Err(Error::validation(format!(
                        "{file}: field `{f}` must be a list of text, found a {}",
                        kind(v)
                    ))
                    .with_hint(format!("write `{f}: [a, b]` in the front matter")));
                }
            }
        }
        if let Some(v) = self.fields.get("links") {
            crate::links::parse_links(v).map_err(|why| {
                Error::validation(format!("{file}: field `links` {why}"))
                    .with_hint("each link is a mapping like `{kind: pr, url: https://...}`")
            })?;
        }
        Ok(())
    }

    pub fn str_field(&self, name: &str) -> Option<String> {
        match self.fields.get(name)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    pub fn title(&self) -> String {
        self.str_field("title").unwrap_or_default()
    }

    pub fn tags(&self) -> Vec<String> {
        match self.fields.get("tags") {
            Some(Value::Sequence(s)) => s
                .iter()
                .filter_map(|v| match v {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
                .collect(),
            _ => vec![],
        }
    }

    /// A field counts as filled in when it is present and not blank, empty or null.
    pub fn has_value(&self, name: &str) -> bool {
        match self.fields.get(name) {
            None | Some(Value::Null) => false,
            Some(Value::String(s)) => !s.trim().is_empty(),
            Some(Value::Sequence(s)) => !s.is_empty(),
            Some(Value::Mapping(m)) => !m.is_empty(),
            Some(_) => true,
        }
    }

    /// Set a field and write the document back out (front matter re-serialised, body kept).
    pub fn set_field(&mut self, name: &str, value: Value) {
        self.fields.insert(Value::String(name.to_string()), value);
    }

    pub fn to_text(&self) -> String {
        let yaml = if self.fields.is_empty() {
            String::new()
        } else {
            serde_yaml::to_string(&self.fields).unwrap_or_default()
        };
        format!("---\n{yaml}---\n{}", self.body)
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "text",
        Value::Sequence(_) => "list",
        Value::Mapping(_) => "mapping",
        Value::Tagged(_) => "tagged value",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_front_matter_and_body() {
        let d = TaskDoc::parse("---\ntitle: Hi\ntags: [a, b]\n---\n\n# Body\n", "T").unwrap();
        assert_eq!(d.title(), "Hi");
        assert_eq!(d.tags(), vec!["a", "b"]);
        assert_eq!(d.body, "\n# Body\n");
        assert!(d.has_value("title"));
        assert!(!d.has_value("description"));
    }

    #[test]
    fn errors_name_the_problem() {
        assert!(TaskDoc::parse("# no front matter\n", "T")
            .unwrap_err()
            .message
            .contains("no YAML front matter"));
        assert!(TaskDoc::parse("---\ntitle: [\n---\n", "T")
            .unwrap_err()
            .message
            .contains("broken YAML"));
        assert!(TaskDoc::parse("---\ntitle: [a]\n---\n", "T")
            .unwrap_err()
            .message
            .contains("`title` must be text"));
    }
}
