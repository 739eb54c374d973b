//! What is staged: the index against HEAD's tree, the way `git diff --cached --name-only`
//! sees it, without reading the folders whose cached tree matches HEAD.

use super::history::{self, Node};
use crate::{Error, Result};
use gix::bstr::{BStr, ByteSlice};
use gix::ObjectId;
use std::collections::{HashMap, HashSet};

/// A path whose index entry differs from HEAD's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staged {
    pub path: String,
    pub head: Option<ObjectId>,
    pub index: Option<ObjectId>,
}

/// The index git commits from: `GIT_INDEX_FILE` (set by `git commit -a` / `git commit <paths>`)
/// or the repository's own.
pub fn read_index(repo: &gix::Repository) -> Result<Option<gix::index::File>> {
    let path = match std::env::var_os("GIT_INDEX_FILE") {
        Some(p) if !p.is_empty() => std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_default(),
        _ => repo.index_path(),
    };
    if !path.exists() {
        return Ok(None);
    }
    gix::index::File::at(&path, repo.object_hash(), true, Default::default())
        .map(Some)
        .map_err(|e| Error::runtime(format!("cannot read the index {}: {e}", path.display())))
}

struct Differ<'a> {
    repo: &'a gix::Repository,
    index: &'a gix::index::State,
    first_only: bool,
    skip_top: Option<&'a str>,
    out: Vec<Staged>,
}

fn find_child<'t>(
    t: Option<&'t gix::index::extension::Tree>,
    name: &[u8],
) -> Option<&'t gix::index::extension::Tree> {
    t.and_then(|t| t.children.iter().find(|c| c.name.as_slice() == name))
}

impl Differ<'_> {
    fn done(&self) -> bool {
        self.first_only && !self.out.is_empty()
    }

    /// Compares index entries `range` (all below `prefix`, which ends in `/` or is empty) with
    /// the HEAD tree `head`, skipping folders whose cached tree id equals HEAD's.
    fn dir(
        &mut self,
        range: std::ops::Range<usize>,
        prefix: &[u8],
        cache: Option<&gix::index::extension::Tree>,
        head: Option<ObjectId>,
    ) -> Result<()> {
        if let (Some(c), Some(h)) = (cache, head) {
            if c.num_entries.is_some_and(|n| n as usize == range.len()) && c.id == h {
                return Ok(());
            }
        }
        let listing: HashMap<Vec<u8>, Node> = match head {
            Some(h) => history::list_tree(self.repo, h)?
                .into_iter()
                .map(|(n, node)| (n.into_bytes(), node))
                .collect(),
            None => HashMap::new(),
        };
        let mut seen: HashSet<Vec<u8>> = HashSet::new();
        let entries = self.index.entries();
        let mut i = range.start;
        while i < range.end && !self.done() {
            let e = &entries[i];
            let path: &BStr = e.path(self.index);
            let rest = &path[prefix.len()..];
            if let Some(slash) = rest.find_byte(b'/') {
                let name = rest[..slash].to_vec();
                let sub: Vec<u8> = path[..prefix.len() + slash + 1].to_vec();
                let end = i + entries[i..range.end]
                    .partition_point(|x| x.path(self.index).starts_with(&sub));
                let skip = prefix.is_empty()
                    && self
                        .skip_top
                        .is_some_and(|s| s.as_bytes() == name.as_slice());
                if !skip {
                    let h = listing
                        .get(&name)
                        .filter(|n| n.mode.is_tree())
                        .map(|n| n.id);
                    self.dir(i..end, &sub, find_child(cache, &name), h)?;
                }
                seen.insert(name);
                i = end;
                continue;
            }
            let name = rest.to_vec();
            let h = listing.get(&name).filter(|n| !n.mode.is_tree());
            let same = e.stage() == gix::index::entry::Stage::Unconflicted
                && h.is_some_and(|n| n.id == e.id && n.mode.value() as u32 == e.mode.bits());
            if !same {
                self.out.push(Staged {
                    path: path.to_str_lossy().into_owned(),
                    head: h.map(|n| n.id),
                    index: Some(e.id),
                });
            }
            seen.insert(name);
            i += 1;
        }
        if self.done() {
            return Ok(());
        }
        for (name, node) in listing {
            if seen.contains(&name)
                || (prefix.is_empty()
                    && self
                        .skip_top
                        .is_some_and(|s| s.as_bytes() == name.as_slice()))
            {
                continue;
            }
            let path = format!("{}{}", prefix.to_str_lossy(), name.to_str_lossy());
            if node.mode.is_tree() {
                self.deleted_tree(node.id, &path)?;
            } else {
                self.out.push(Staged {
                    path,
                    head: Some(node.id),
                    index: None,
                });
            }
            if self.done() {
                return Ok(());
            }
        }
        Ok(())
    }

    fn deleted_tree(&mut self, tree: ObjectId, path: &str) -> Result<()> {
        for (name, node) in history::list_tree(self.repo, tree)? {
            let p = format!("{path}/{name}");
            if node.mode.is_tree() {
                self.deleted_tree(node.id, &p)?;
            } else {
                self.out.push(Staged {
                    path: p,
                    head: Some(node.id),
                    index: None,
                });
            }
        }
        Ok(())
    }
}

/// The staged changes below the folder `scope` (`""`: everywhere), optionally leaving out
/// one top-level folder and stopping at the first change. Folders whose tree-cache entry
/// matches HEAD are skipped without looking at their entries, which keeps this close to
/// `git diff --cached --name-only`.
pub fn staged_changes(
    repo: &gix::Repository,
    index: &gix::index::State,
    head_tree: Option<ObjectId>,
    scope: &str,
    skip_top: Option<&str>,
    first_only: bool,
) -> Result<Vec<Staged>> {
    let mut cache = index.tree();
    let mut head = head_tree;
    let mut prefix = String::new();
    for part in scope.split('/').filter(|p| !p.is_empty()) {
        cache = find_child(cache, part.as_bytes());
        head = match head {
            Some(h) => history::child(repo, h, part.as_bytes())?
                .filter(|n| n.mode.is_tree())
                .map(|n| n.id),
            None => None,
        };
        prefix.push_str(part);
        prefix.push('/');
    }
    let range = if prefix.is_empty() {
        0..index.entries().len()
    } else {
        index
            .prefixed_entries_range(prefix.as_bytes().as_bstr())
            .unwrap_or(0..0)
    };
    let mut d = Differ {
        repo,
        index,
        first_only,
        skip_top,
        out: vec![],
    };
    d.dir(range, prefix.as_bytes(), cache, head)?;
    let mut out = d.out;
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// The tree HEAD's commit records; `None` on an unborn branch.
pub fn head_tree(repo: &gix::Repository) -> Result<Option<ObjectId>> {
    match repo.head_id() {
        Ok(id) => Ok(Some(history::commit_meta(repo, id.detach())?.tree)),
        Err(_) => Ok(None),
    }
}
