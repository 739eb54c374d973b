//! `orch task link`: recording links to pull requests, issues and commits in TASK.md.

use crate::code::TaskCode;
use crate::links::{parse_links, replace_block, Link, KINDS};
use crate::project::Project;
use crate::store::FileWrite;
use crate::task::TaskDoc;
use crate::{Error, Result};
use serde::Serialize;
use serde_yaml::Value;

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
        // A revision of this repository (HEAD, main~2) is recorded as its id; a hex id this
        // repository lacks (another repository's commit) as given.
        let hex = (4..=64).contains(&t.len()) && t.chars().all(|c| c.is_ascii_hexdigit());
        match crate::git::history::resolve_commit(repo, t) {
            Ok(id) => id.to_string(),
            Err(_) if hex => t.to_ascii_lowercase(),
            Err(_) => {
                return Err(Error::usage(format!(
                    "--commit {t:?} is neither a commit id nor a revision of this repository"
                ))
                .with_hint(
                    "give a hex commit id (--commit 1a2b3c4) or a revision (--commit HEAD)",
                ))
            }
        }
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
    super::preflight(p)?;
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
    if links.iter().any(|l| same(l, &link)) {
        return Ok(LinkAdded {
            task: code.to_string(),
            link,
            added: false,
            links,
            commit: None,
        });
    }
    links.push(link.clone());
    let new_text = with_links(&text, doc, &links, &file);
    let session = p.load_session(code)?;
    let subject = format!("link {kind} {}", link.target);
    let msg = super::task_commit_message(code, &subject, session.as_ref());
    let applied = super::apply(
        p,
        vec![FileWrite {
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
        commit: applied.commit_id(),
    })
}

/// Whether `old` already records `new`; an abbreviated commit id matches its full id.
fn same(old: &Link, new: &Link) -> bool {
    old.kind == new.kind
        && (old.target == new.target
            || (new.kind == "commit"
                && (old.target.starts_with(&new.target) || new.target.starts_with(&old.target))))
}

/// TASK.md's text with `links` as its links: only the `links:` block edited when that edit
/// reads back as intended, otherwise the front matter re-serialised.
fn with_links(text: &str, doc: TaskDoc, links: &[Link], file: &str) -> String {
    match replace_block(text, links) {
        Some(t)
            if TaskDoc::parse(&t, file)
                .ok()
                .and_then(|d| d.fields.get("links").cloned())
                .map(|v| parse_links(&v))
                == Some(Ok(links.to_vec())) =>
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
    }
}
