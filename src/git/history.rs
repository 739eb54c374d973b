//! Reading history in-process: which commits changed a path (the list `git log -- <path>`
//! prints, merges simplified the way git does), and files and folders as they were at a commit.
//! gix has no pathspec-limited log, so the walk is written here.

use crate::{Error, Result};
use gix::objs::tree::EntryMode;
use gix::ObjectId;
use std::collections::{BinaryHeap, HashMap, HashSet};

/// One commit, decoded once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitMeta {
    pub id: ObjectId,
    pub tree: ObjectId,
    pub parents: Vec<ObjectId>,
    /// `Name <email>` of the author.
    pub author: String,
    /// Author time, seconds since the epoch.
    pub time: i64,
    /// Committer time, which orders the walk as in git.
    pub commit_time: i64,
    pub message: String,
    /// `(token, value)` pairs of the message's trailer block, in order.
    pub trailers: Vec<(String, String)>,
}

impl CommitMeta {
    pub fn subject(&self) -> &str {
        self.message.lines().next().unwrap_or("")
    }

    /// The value of the first trailer named `token` (case-insensitive).
    pub fn trailer(&self, token: &str) -> Option<&str> {
        self.trailers
            .iter()
            .find(|(t, _)| t.eq_ignore_ascii_case(token))
            .map(|(_, v)| v.as_str())
    }

    /// Author time as RFC 3339 UTC.
    pub fn date(&self) -> String {
        chrono::DateTime::from_timestamp(self.time, 0)
            .map(|t| crate::clock::fmt(&t))
            .unwrap_or_default()
    }
}

pub(crate) fn git_err(what: &str, e: impl std::fmt::Display) -> Error {
    Error::runtime(format!("git: {what}: {e}"))
}

/// The commits at which a shallow clone's history is cut (their parents are not here); empty
/// in a full clone.
pub fn shallow_cut(repo: &gix::Repository) -> Vec<ObjectId> {
    repo.shallow_commits()
        .ok()
        .flatten()
        .map(|c| c.iter().copied().collect())
        .unwrap_or_default()
}

/// A commit that cannot be read. In a shallow clone that is history beyond the cut, and the
/// error says so and how to fetch it, instead of git's "object not found".
pub(crate) fn unreadable_commit(
    repo: &gix::Repository,
    id: ObjectId,
    e: impl std::fmt::Display,
) -> Error {
    let cut = shallow_cut(repo);
    if cut.is_empty() || repo.has_object(id) {
        return git_err(&format!("cannot read commit {id}"), e);
    }
    shallow_error(repo, &cut, &format!("commit {id}"))
}

/// `what` reaches back past the cut of this shallow clone: which history is missing, and the
/// two ways on — fetch it, or verify only what is here.
pub fn shallow_error(repo: &gix::Repository, cut: &[ObjectId], what: &str) -> Error {
    let name = |id: &ObjectId| {
        let short = id.to_hex_with_len(7).to_string();
        match commit_meta(repo, *id) {
            Ok(m) => {
                let date = m.date();
                format!(
                    "{short} ({}, \"{}\")",
                    date.get(..10).unwrap_or(&date),
                    m.subject()
                )
            }
            Err(_) => short,
        }
    };
    let names: Vec<String> = cut.iter().map(name).collect();
    Error::state(format!(
        "this is a shallow clone: the history before {} is not here, and {what} needs it",
        names.join(", ")
    ))
    .with_hint(shallow_hint(repo, cut))
}

/// How to go on in a shallow clone cut at `cut` (not empty): fetch the rest, or verify the
/// commits after the newest cut.
pub fn shallow_hint(repo: &gix::Repository, cut: &[ObjectId]) -> String {
    let newest = cut
        .iter()
        .max_by_key(|id| commit_tree_parents(repo, **id).map_or(0, |t| t.2))
        .unwrap_or(&cut[0]);
    format!(
        "fetch the missing history with `git fetch --unshallow` (or part of it with `git fetch --deepen=<N>`); `orch verify --range {}..HEAD` checks the commits that are here",
        newest.to_hex_with_len(7)
    )
}

/// Decodes the commit `id`.
pub fn commit_meta(repo: &gix::Repository, id: ObjectId) -> Result<CommitMeta> {
    let obj = repo
        .find_object(id)
        .map_err(|e| unreadable_commit(repo, id, e))?;
    let c = gix::objs::CommitRef::from_bytes(&obj.data, repo.object_hash())
        .map_err(|e| git_err(&format!("cannot decode commit {id}"), e))?;
    let author = c
        .author()
        .map_err(|e| git_err(&format!("commit {id} author"), e))?;
    let committer = c
        .committer()
        .map_err(|e| git_err(&format!("commit {id} committer"), e))?;
    let message = String::from_utf8_lossy(c.message).into_owned();
    Ok(CommitMeta {
        id,
        tree: c.tree(),
        parents: c.parents().collect(),
        author: format!("{} <{}>", author.name, author.email),
        time: author.time().map(|t| t.seconds).unwrap_or(0),
        commit_time: committer.time().map(|t| t.seconds).unwrap_or(0),
        trailers: parse_trailers(&message),
        message,
    })
}

/// Only the tree and parents of a commit: what the walks need.
pub fn commit_tree_parents(
    repo: &gix::Repository,
    id: ObjectId,
) -> Result<(ObjectId, Vec<ObjectId>, i64)> {
    let obj = repo
        .find_object(id)
        .map_err(|e| unreadable_commit(repo, id, e))?;
    let c = gix::objs::CommitRef::from_bytes(&obj.data, repo.object_hash())
        .map_err(|e| git_err(&format!("cannot decode commit {id}"), e))?;
    let t = c
        .committer()
        .ok()
        .and_then(|s| s.time().ok())
        .map_or(0, |t| t.seconds);
    Ok((c.tree(), c.parents().collect(), t))
}

/// The trailers of a message: `Token: value` lines of its last paragraph, when that paragraph
/// is not the subject and every non-continuation line in it is a trailer.
pub fn parse_trailers(message: &str) -> Vec<(String, String)> {
    let paras: Vec<&str> = message
        .trim_end()
        .split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .collect();
    if paras.len() < 2 {
        return vec![];
    }
    let last = paras[paras.len() - 1];
    let mut out: Vec<(String, String)> = Vec::new();
    for line in last.lines() {
        if line.starts_with('#') {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            if let Some(l) = out.last_mut() {
                l.1.push(' ');
                l.1.push_str(line.trim());
                continue;
            }
            return vec![];
        }
        match line.split_once(':') {
            Some((t, v))
                if !t.is_empty() && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') =>
            {
                out.push((t.to_string(), v.trim().to_string()));
            }
            _ => return vec![],
        }
    }
    out
}

/// A tree entry: mode and object id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Node {
    pub mode: EntryMode,
    pub id: ObjectId,
}

/// The entry named `name` in the tree `tree`.
pub fn child(repo: &gix::Repository, tree: ObjectId, name: &[u8]) -> Result<Option<Node>> {
    let obj = repo
        .find_object(tree)
        .map_err(|e| git_err(&format!("cannot read tree {tree}"), e))?;
    for e in gix::objs::TreeRefIter::from_bytes(&obj.data, repo.object_hash()) {
        let e = e.map_err(|e| git_err(&format!("cannot decode tree {tree}"), e))?;
        if e.filename == name {
            return Ok(Some(Node {
                mode: e.mode,
                id: e.oid.to_owned(),
            }));
        }
    }
    Ok(None)
}

/// The entry at the slash-separated `path` below the tree `tree` (`""` is the tree itself).
pub fn entry_at(repo: &gix::Repository, tree: ObjectId, path: &str) -> Result<Option<Node>> {
    let mut cur = Node {
        mode: EntryMode::from(gix::objs::tree::EntryKind::Tree),
        id: tree,
    };
    for part in path.split('/').filter(|p| !p.is_empty()) {
        if !cur.mode.is_tree() {
            return Ok(None);
        }
        match child(repo, cur.id, part.as_bytes())? {
            Some(n) => cur = n,
            None => return Ok(None),
        }
    }
    Ok(Some(cur))
}

/// The bytes of the blob `id`.
pub fn blob(repo: &gix::Repository, id: ObjectId) -> Result<Vec<u8>> {
    let obj = repo
        .find_object(id)
        .map_err(|e| git_err(&format!("cannot read blob {id}"), e))?;
    Ok(obj.data.clone())
}

/// The file at `path` in the tree `tree`, if it is a blob there.
pub fn blob_at(repo: &gix::Repository, tree: ObjectId, path: &str) -> Result<Option<Vec<u8>>> {
    match entry_at(repo, tree, path)? {
        Some(n) if n.mode.is_blob() || n.mode.is_link() => blob(repo, n.id).map(Some),
        _ => Ok(None),
    }
}

/// The entries of the folder `path` in `tree`, in tree order: `(name, node)`.
pub fn list_folder(
    repo: &gix::Repository,
    tree: ObjectId,
    path: &str,
) -> Result<Vec<(String, Node)>> {
    let Some(dir) = entry_at(repo, tree, path)?.filter(|n| n.mode.is_tree()) else {
        return Ok(vec![]);
    };
    list_tree(repo, dir.id)
}

/// The entries of the tree object `id`: `(name, node)`.
pub fn list_tree(repo: &gix::Repository, id: ObjectId) -> Result<Vec<(String, Node)>> {
    let obj = repo
        .find_object(id)
        .map_err(|e| git_err(&format!("cannot read tree {id}"), e))?;
    let mut out = Vec::new();
    for e in gix::objs::TreeRefIter::from_bytes(&obj.data, repo.object_hash()) {
        let e = e.map_err(|e| git_err(&format!("cannot decode tree {id}"), e))?;
        out.push((
            String::from_utf8_lossy(e.filename).into_owned(),
            Node {
                mode: e.mode,
                id: e.oid.to_owned(),
            },
        ));
    }
    Ok(out)
}

/// The commits that changed `path` (a file or a folder), newest first, as
/// `git log --format=%H <tips> -- <path>` lists them: commits are ordered by committer date,
/// and a merge whose version of the path equals one parent's is left out and only that parent
/// is followed (git's default history simplification).
///
/// In a shallow clone the walk stops at the cut, as git's does; if `path` exists there, its
/// history goes on beyond what is here, and the error says which history is missing.
pub fn path_log(repo: &gix::Repository, tips: &[ObjectId], path: &str) -> Result<Vec<CommitMeta>> {
    let cut = shallow_cut(repo);
    let mut entries: HashMap<ObjectId, (Option<Node>, Vec<ObjectId>, i64)> = HashMap::new();
    let mut load = |id: ObjectId| -> Result<(Option<Node>, Vec<ObjectId>, i64)> {
        if let Some(v) = entries.get(&id) {
            return Ok(v.clone());
        }
        let (tree, mut parents, time) = commit_tree_parents(repo, id)?;
        let node = entry_at(repo, tree, path)?;
        if cut.contains(&id) {
            if node.is_some() {
                return Err(shallow_error(repo, &cut, &format!("the history of {path}")));
            }
            parents.clear();
        }
        let v = (node, parents, time);
        entries.insert(id, v.clone());
        Ok(v)
    };
    // git's priority queue: newest committer date first, ties in insertion order.
    let mut heap: BinaryHeap<(i64, std::cmp::Reverse<u64>, ObjectId)> = BinaryHeap::new();
    let mut seen: HashSet<ObjectId> = HashSet::new();
    let mut seq = 0u64;
    for t in tips {
        if seen.insert(*t) {
            let (_, _, time) = load(*t)?;
            heap.push((time, std::cmp::Reverse(seq), *t));
            seq += 1;
        }
    }
    let mut shown = Vec::new();
    while let Some((_, _, id)) = heap.pop() {
        let (mine, parents, _) = load(id)?;
        let mut follow = parents.clone();
        let show = if parents.is_empty() {
            mine.is_some()
        } else {
            let mut same = None;
            for p in &parents {
                if load(*p)?.0 == mine {
                    same = Some(*p);
                    break;
                }
            }
            match same {
                Some(p) => {
                    follow = vec![p];
                    false
                }
                None => true,
            }
        };
        if show {
            shown.push(id);
        }
        for p in follow {
            if seen.insert(p) {
                let (_, _, time) = load(p)?;
                heap.push((time, std::cmp::Reverse(seq), p));
                seq += 1;
            }
        }
    }
    shown.into_iter().map(|id| commit_meta(repo, id)).collect()
}

/// Whether `a` is one of `tips` or an ancestor of one.
pub fn reaches(repo: &gix::Repository, a: ObjectId, tips: &[ObjectId]) -> Result<bool> {
    if tips.is_empty() {
        return Ok(false);
    }
    Ok(tips.contains(&a) || range_commits(repo, &[a], tips)?.is_empty())
}

/// Every commit reachable from `tips` and not from `hidden`, newest first.
pub fn range_commits(
    repo: &gix::Repository,
    tips: &[ObjectId],
    hidden: &[ObjectId],
) -> Result<Vec<ObjectId>> {
    if tips.is_empty() {
        return Ok(vec![]);
    }
    let walk = repo
        .rev_walk(tips.iter().copied())
        .sorting(gix::revision::walk::Sorting::ByCommitTime(
            Default::default(),
        ))
        .with_hidden(hidden.iter().copied())
        .all()
        .map_err(|e| git_err("cannot walk history", e))?;
    let mut out = Vec::new();
    for info in walk {
        let info = info.map_err(|e| git_err("cannot walk history", e))?;
        out.push(info.id);
    }
    Ok(out)
}

/// A commit named by full or abbreviated hex id, `HEAD`, or a branch or tag name, optionally
/// followed by `~N`, `^` or `^N` as in git (`HEAD~3`, `main^2`).
pub fn resolve_commit(repo: &gix::Repository, spec: &str) -> Result<ObjectId> {
    let spec = spec.trim();
    if let Some(pos) = spec.rfind(['~', '^']).filter(|&p| p > 0) {
        let (base, op) = (&spec[..pos], &spec[pos + 1..]);
        let n: usize = if op.is_empty() {
            1
        } else {
            op.parse().map_err(|_| {
                Error::usage(format!(
                    "{spec:?} does not name a commit in this repository"
                ))
                .with_hint("after ~ or ^ give a number of parents, e.g. HEAD~3 or main^2")
            })?
        };
        let mut id = resolve_commit(repo, base)?;
        let first_parent_steps = if spec[pos..].starts_with('~') {
            n
        } else {
            n.min(1)
        };
        let parent_index = if spec[pos..].starts_with('~') {
            0
        } else {
            n.saturating_sub(1)
        };
        for _ in 0..first_parent_steps {
            let parents = commit_tree_parents(repo, id)?.1;
            id = *parents.get(parent_index).ok_or_else(|| {
                Error::usage(format!("{spec:?}: commit {id} has no such parent"))
                    .with_hint("check the history with `git log --oneline --graph`")
            })?;
        }
        return Ok(id);
    }
    let not_found = || {
        Error::usage(format!(
            "{spec:?} does not name a commit in this repository"
        ))
        .with_hint("give a commit id (full or abbreviated), a branch or a tag")
    };
    let is_hex = !spec.is_empty() && spec.chars().all(|c| c.is_ascii_hexdigit());
    let id = if is_hex && spec.len() == repo.object_hash().len_in_hex() {
        ObjectId::from_hex(spec.as_bytes()).map_err(|_| not_found())?
    } else if is_hex && spec.len() >= 4 {
        let prefix = gix::hash::Prefix::from_hex(spec).map_err(|_| not_found())?;
        match repo.objects.lookup_prefix(prefix, None) {
            Ok(Some(Ok(id))) => id,
            Ok(Some(Err(()))) => {
                return Err(Error::usage(format!("commit prefix {spec:?} is ambiguous"))
                    .with_hint("give more characters of the id"))
            }
            _ => match ref_id(repo, spec) {
                Some(id) => id,
                None => return Err(not_found()),
            },
        }
    } else {
        ref_id(repo, spec).ok_or_else(not_found)?
    };
    match repo.try_find_object(id) {
        Ok(Some(o)) if o.kind == gix::object::Kind::Commit => Ok(id),
        Ok(Some(o)) => Err(Error::usage(format!(
            "{spec} is a {}, not a commit",
            o.kind
        ))),
        _ => Err(not_found()),
    }
}

fn ref_id(repo: &gix::Repository, name: &str) -> Option<ObjectId> {
    if name == "HEAD" {
        return repo.head_id().ok().map(|i| i.detach());
    }
    let r = repo.try_find_reference(name).ok()??;
    r.into_fully_peeled_id().ok().map(|i| i.detach())
}

/// Resolves a full or abbreviated hex id, `HEAD`, or a branch/tag/remote name to a commit.
pub fn resolve(repo: &gix::Repository, spec: &str) -> Result<ObjectId> {
    let spec = spec.trim();
    // `X~N`, `X^` and `X^N`: walk parents of X.
    if let Some(pos) = spec.rfind(['~', '^']) {
        let (base, op) = (&spec[..pos], &spec[pos..]);
        let n: usize = if op.len() == 1 {
            1
        } else {
            op[1..]
                .parse()
                .map_err(|_| Error::usage(format!("cannot resolve {spec:?} to a commit")))?
        };
        let mut id = resolve(repo, base)?;
        if op.starts_with('~') {
            for _ in 0..n {
                id = *commit_tree_parents(repo, id)?
                    .1
                    .first()
                    .ok_or_else(|| Error::usage(format!("{spec:?}: {id} has no parent")))?;
            }
        } else if n > 0 {
            id = *commit_tree_parents(repo, id)?
                .1
                .get(n - 1)
                .ok_or_else(|| Error::usage(format!("{spec:?}: {id} has no parent {n}")))?;
        }
        return Ok(id);
    }
    let bad = || {
        Error::usage(format!("cannot resolve {spec:?} to a commit"))
            .with_hint("give a commit id, HEAD, or a branch or tag name")
    };
    if spec == "HEAD" {
        return repo.head_id().map(|i| i.detach()).map_err(|_| {
            Error::state("HEAD does not point to a commit yet").with_hint("make a first commit")
        });
    }
    if let Ok(id) = ObjectId::from_hex(spec.as_bytes()) {
        return Ok(id);
    }
    for full in [
        spec.to_string(),
        format!("refs/heads/{spec}"),
        format!("refs/tags/{spec}"),
        format!("refs/remotes/{spec}"),
    ] {
        if let Ok(Some(mut r)) = repo.try_find_reference(full.as_str()) {
            if let Ok(id) = r.peel_to_id() {
                return Ok(id.detach());
            }
        }
    }
    if spec.len() >= 4 && spec.chars().all(|c| c.is_ascii_hexdigit()) {
        if let Ok(prefix) = gix::hash::Prefix::from_hex(spec) {
            if let Ok(Some(id)) = repo.objects.lookup_prefix(prefix, None) {
                return id.map_err(|_| {
                    Error::usage(format!("{spec:?} is ambiguous"))
                        .with_hint("give more characters of the id")
                });
            }
        }
    }
    Err(bad())
}

/// Keeps decoded pack entries so a chain of deltas (trees of consecutive commits are stored
/// as deltas of each other) is not inflated again for every commit of a history walk. gix only
/// installs such a cache with its `max-performance` features.
struct DeltaBaseCache {
    map: HashMap<(u32, u64), (gix::objs::Kind, Vec<u8>, usize)>,
    bytes: usize,
    cap: usize,
}

impl gix::odb::pack::cache::DecodeEntry for DeltaBaseCache {
    fn put(
        &mut self,
        pack_id: u32,
        offset: u64,
        data: &[u8],
        kind: gix::objs::Kind,
        compressed_size: usize,
    ) {
        if data.len() > self.cap / 8 {
            return;
        }
        if self.bytes + data.len() > self.cap {
            self.map.clear();
            self.bytes = 0;
        }
        self.bytes += data.len();
        self.map
            .insert((pack_id, offset), (kind, data.to_vec(), compressed_size));
    }

    fn get(
        &mut self,
        pack_id: u32,
        offset: u64,
        out: &mut Vec<u8>,
    ) -> Option<(gix::objs::Kind, usize)> {
        let (kind, data, size) = self.map.get(&(pack_id, offset))?;
        out.clear();
        out.extend_from_slice(data);
        Some((*kind, *size))
    }
}

/// A handle on `repo` with a delta-base cache and an object cache, for long history walks.
pub fn for_walking(repo: &gix::Repository) -> gix::Repository {
    let mut r = repo.clone();
    r.objects.set_pack_cache(|| {
        Box::new(DeltaBaseCache {
            map: HashMap::new(),
            bytes: 0,
            cap: 64 << 20,
        })
    });
    r.object_cache_size_if_unset(16 << 20);
    r
}

/// A name whose entry differs: `(name, entry in a, entry in b)`.
pub type NameChange = (String, Option<Node>, Option<Node>);

/// Names whose entries differ between the trees `a` and `b` (either may be absent), with the
/// entry in `a` and in `b`. Both trees are walked once, side by side, without a lookup table.
pub fn diff_names(
    repo: &gix::Repository,
    a: Option<ObjectId>,
    b: Option<ObjectId>,
) -> Result<Vec<NameChange>> {
    if a == b {
        return Ok(vec![]);
    }
    let load = |t: Option<ObjectId>| -> Result<Vec<u8>> {
        match t {
            Some(t) => Ok(repo
                .find_object(t)
                .map_err(|e| git_err(&format!("cannot read tree {t}"), e))?
                .data
                .clone()),
            None => Ok(vec![]),
        }
    };
    let (da, db) = (load(a)?, load(b)?);
    let entries = |d: &[u8]| -> Result<Vec<(Vec<u8>, Node)>> {
        let mut v = Vec::new();
        for e in gix::objs::TreeRefIter::from_bytes(d, repo.object_hash()) {
            let e = e.map_err(|e| git_err("cannot decode tree", e))?;
            let mut key = e.filename.to_vec();
            if e.mode.is_tree() {
                key.push(b'/');
            }
            v.push((
                key,
                Node {
                    mode: e.mode,
                    id: e.oid.to_owned(),
                },
            ));
        }
        Ok(v)
    };
    let (ea, eb) = (entries(&da)?, entries(&db)?);
    let name = |k: &[u8]| String::from_utf8_lossy(k.strip_suffix(b"/").unwrap_or(k)).into_owned();
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < ea.len() || j < eb.len() {
        let ord = match (ea.get(i), eb.get(j)) {
            (Some(x), Some(y)) => x.0.cmp(&y.0),
            (Some(_), None) => std::cmp::Ordering::Less,
            _ => std::cmp::Ordering::Greater,
        };
        match ord {
            std::cmp::Ordering::Less => {
                out.push((name(&ea[i].0), Some(ea[i].1), None));
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push((name(&eb[j].0), None, Some(eb[j].1)));
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                if ea[i].1 != eb[j].1 {
                    out.push((name(&ea[i].0), Some(ea[i].1), Some(eb[j].1)));
                }
                i += 1;
                j += 1;
            }
        }
    }
    Ok(out)
}
