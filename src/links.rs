//! Links from a task to pull requests, issues and commits, kept in TASK.md's `links:` field:
//! reading the field and rewriting only its block of the front matter.

use crate::Result;
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

/// `links:` as a YAML block in the style orch writes (two-space indented list of mappings),
/// lines ending with `nl`.
fn render_block(links: &[Link], nl: &str) -> String {
    let scalar = |s: &str| {
        let y = serde_yaml::to_string(&Value::String(s.to_string())).unwrap_or_default();
        y.trim_end().to_string()
    };
    let mut out = format!("links:{nl}");
    for l in links {
        let key = if l.kind == "commit" { "sha" } else { "url" };
        out.push_str(&format!(
            "  - kind: {}{nl}    {key}: {}{nl}",
            l.kind,
            scalar(&l.target)
        ));
    }
    out
}

/// TASK.md's text with its front matter's `links:` set to `links`. Only the `links:` block is
/// replaced (or appended at the end of the front matter); every other byte stays as it was.
/// `None` when the front matter cannot be found.
pub fn replace_block(text: &str, links: &[Link]) -> Option<String> {
    let bom = if text.starts_with('\u{feff}') {
        "\u{feff}"
    } else {
        ""
    };
    let rest = &text[bom.len()..];
    let open_len = if rest.starts_with("---\n") {
        4
    } else if rest.starts_with("---\r\n") {
        5
    } else {
        return None;
    };
    let nl = if open_len == 5 { "\r\n" } else { "\n" };
    let fm_start = bom.len() + open_len;
    // Lines of the front matter, as (start, end-with-terminator) offsets into `text`.
    let mut lines = Vec::new();
    let mut off = fm_start;
    let mut fm_end = None;
    for line in text[fm_start..].split_inclusive('\n') {
        let t = line.trim_end_matches(['\n', '\r']);
        if t == "---" || t == "..." {
            fm_end = Some(off);
            break;
        }
        lines.push((off, off + line.len()));
        off += line.len();
    }
    let fm_end = fm_end?;
    let top_key = |l: &str| {
        let first = l.chars().next();
        first.is_some_and(|c| !c.is_whitespace() && c != '#' && c != '-')
    };
    let start = lines.iter().position(|&(a, b)| {
        let l = &text[a..b];
        l.starts_with("links:") || l.starts_with("\"links\":") || l.starts_with("'links':")
    });
    let block = render_block(links, nl);
    let mut out = String::with_capacity(text.len() + block.len());
    match start {
        Some(i) => {
            let mut k = lines[i + 1..]
                .iter()
                .position(|&(a, b)| top_key(&text[a..b]))
                .map_or(lines.len(), |j| i + 1 + j);
            // Blank and comment lines just before the next key belong to what follows.
            while k > i + 1 && {
                let l = text[lines[k - 1].0..lines[k - 1].1].trim();
                l.is_empty() || l.starts_with('#')
            } {
                k -= 1;
            }
            let end = lines.get(k).map_or(fm_end, |l| l.0);
            out.push_str(&text[..lines[i].0]);
            if !links.is_empty() {
                out.push_str(&block);
            }
            out.push_str(&text[end..]);
        }
        None => {
            out.push_str(&text[..fm_end]);
            if fm_end > fm_start && !text[..fm_end].ends_with('\n') {
                out.push_str(nl);
            }
            if !links.is_empty() {
                out.push_str(&block);
            }
            out.push_str(&text[fm_end..]);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pr(u: &str) -> Link {
        Link {
            kind: "pr".into(),
            target: u.into(),
        }
    }

    #[test]
    fn replaces_only_the_links_block() {
        let text = "---\ntitle: \"T\"   # keep\nlinks:\n- kind: issue\n  url: x\n\n# note\nstatus: open\n---\n\nBody\n";
        let out = replace_block(text, &[pr("https://h/1")]).unwrap();
        assert_eq!(
            out,
            "---\ntitle: \"T\"   # keep\nlinks:\n  - kind: pr\n    url: https://h/1\n\n# note\nstatus: open\n---\n\nBody\n"
        );
        let appended = replace_block("---\ntitle: T\n---\nB", &[pr("u")]).unwrap();
        assert_eq!(
            appended,
            "---\ntitle: T\nlinks:\n  - kind: pr\n    url: u\n---\nB"
        );
    }
}
