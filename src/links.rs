//! Links from a task to pull requests, issues and commits, kept in TASK.md's `links:` field.

use serde::Serialize;
use serde_yaml::{Mapping, Value};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Link {
    /// `pr`, `issue` or `commit`.
    pub kind: String,
    /// A URL for pr/issue, a commit id for commit.
    pub target: String,
}

pub const KINDS: &[&str] = &["pr", "issue", "commit"];

impl Link {
    pub fn to_value(&self) -> Value {
        let mut m = Mapping::new();
        m.insert("kind".into(), self.kind.clone().into());
        let key = if self.kind == "commit" { "sha" } else { "url" };
        m.insert(key.into(), self.target.clone().into());
        Value::Mapping(m)
    }
}

/// Reads `links:`; the error says what is wrong, to follow "field `links` ".
pub fn parse_links(v: &Value) -> Result<Vec<Link>, String> {
    let seq = match v {
        Value::Null => return Ok(vec![]),
        Value::Sequence(s) => s,
        _ => return Err("must be a list".into()),
    };
    let mut out = Vec::new();
    for (i, item) in seq.iter().enumerate() {
        let m = item
            .as_mapping()
            .ok_or_else(|| format!("entry {} must be a mapping", i + 1))?;
        let kind = m
            .get("kind")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("entry {} has no `kind` (pr, issue or commit)", i + 1))?;
        if !KINDS.contains(&kind) {
            return Err(format!(
                "entry {} has unknown kind {kind:?} (pr, issue or commit)",
                i + 1
            ));
        }
        let target = m
            .get("url")
            .or_else(|| m.get("sha"))
            .and_then(Value::as_str)
            .ok_or_else(|| format!("entry {} has no `url` or `sha`", i + 1))?;
        out.push(Link {
            kind: kind.to_string(),
            target: target.to_string(),
        });
    }
    Ok(out)
}
