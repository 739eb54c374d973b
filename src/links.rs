//! Links from a task to pull requests, issues and commits, kept in TASK.md's `links:` field.

use crate::code::TaskCode;
use crate::project::Project;
use crate::store;
use crate::task::TaskDoc;
use crate::{Error, Result};
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

/// What `orch task link` did.
#[derive(Debug, Clone, Serialize)]
pub struct LinkAdded {
    pub task: String,
    pub link: Link,
    /// False when the task already had this link (nothing written).
    pub added: bool,
    pub links: Vec<Link>,
    pub commit: Option<String>,
}

/// Checks and normalises a link given on the command line: URLs must be one word; commit ids
/// are hex, expanded to the full id when the commit is in this repository.
pub fn normalise(repo: &gix::Repository, kind: &str, target: &str) -> Result<Link> {
    let t = target.trim();
    if t.is_empty() || t.chars().any(char::is_whitespace) {
        return Err(Error::usage(format!(
            "--{kind} {target:?}: give one URL or id without spaces"
        )));
    }
    let target = if kind == "commit" {
        if !(4..=64).contains(&t.len()) || !t.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(Error::usage(format!("--commit {t:?} is not a commit id"))
                .with_hint("give a hex commit id, e.g. --commit 1a2b3c4"));
        }
        crate::changes::resolve_commit(repo, t)
            .map(|id| id.to_string())
            .unwrap_or_else(|_| t.to_ascii_lowercase())
    } else {
        t.to_string()
    };
    Ok(Link {
        kind: kind.to_string(),
        target,
    })
}

/// `orch task link`: records a link in TASK.md's front matter (no duplicates; the rest of the
/// file kept byte for byte) and commits it as a task commit.
pub fn add(p: &Project, code: &TaskCode, kind: &str, target: &str) -> Result<LinkAdded> {
    if !KINDS.contains(&kind) {
        return Err(Error::usage(format!(
            "unknown link kind {kind:?} (pr, issue or commit)"
        )));
    }
    p.require_task(code)?;
    if p.config.git.commit {
        p.git.ensure_can_commit()?;
        p.git.author_identity()?;
    }
    let link = normalise(&p.git.repo, kind, target)?;
    let _lock = p.lock()?;
    let rel = p.task_rel(code);
    let file = format!("{rel}/TASK.md");
    let path = p.task_dir(code).join("TASK.md");
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let doc = TaskDoc::parse(&text, &file)?;
    let mut links = match doc.fields.get("links") {
        Some(v) => parse_links(v)
            .map_err(|why| Error::validation(format!("{file}: field `links` {why}")))?,
        None => vec![],
    };
    let same = |l: &Link| {
        l.kind == link.kind
            && (l.target == link.target
                || (kind == "commit"
                    && (l.target.starts_with(&link.target) || link.target.starts_with(&l.target))))
    };
    if links.iter().any(same) {
        return Ok(LinkAdded {
            task: code.to_string(),
            link,
            added: false,
            links,
            commit: None,
        });
    }
    links.push(link.clone());
    let new_text = match replace_block(&text, &links) {
        // The textual edit must read back as intended; otherwise re-serialise the front matter.
        Some(t)
            if TaskDoc::parse(&t, &file)
                .ok()
                .and_then(|d| d.fields.get("links").cloned())
                .map(|v| parse_links(&v))
                == Some(Ok(links.clone())) =>
        {
            t
        }
        _ => {
            let mut d = doc;
            d.set_field(
                "links",
                Value::Sequence(links.iter().map(Link::to_value).collect()),
            );
            d.to_text()
        }
    };
    let session = p.load_session(code)?;
    let key = session.as_ref().map_or("none", |s| s.session_key.as_str());
    let phase = session
        .as_ref()
        .map_or("none", |s| s.current_phase.as_str());
    let msg = format!(
        "orch({code}): link {kind} {}\n\nOrchestration-Task: {code}\nOrchestration-Session: {key}\nOrchestration-Phase: {phase}\n",
        link.target
    );
    let applied = store::apply(
        p,
        vec![store::FileWrite {
            path,
            bytes: new_text.into_bytes(),
        }],
        &[&rel],
        Some(&msg),
    )?;
    Ok(LinkAdded {
        task: code.to_string(),
        link,
        added: true,
        links,
        commit: applied.commit.map(|c| c.commit.to_string()),
    })
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
