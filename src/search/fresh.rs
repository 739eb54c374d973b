//! Keeping the index true to the files: what changed since the last search, found cheaply.
//!
//! The index lives in `<git dir>/orchestration/search/` with two tables beside it:
//! `state.json` (small, read by every search) and `files/` (every indexed file with the git
//! blob id of the content indexed and its stat data, in shards read only when something in
//! them changed; see `table`).
//!
//! Files that changed since the main index (`index/`) was last written have their documents
//! in an overlay, `overlay-<generation>/`, written anew as one small segment on each change
//! (see `index`); once it holds more than [`OVERLAY_DOCS`] documents or [`OVERLAY_FILES`]
//! files, it is folded into the main index by an index writer and dropped.
//!
//! A change is written to the indexes first, then to the file table, then to `state.json`.
//! The state names the generation the main index's last commit recorded and the overlay in
//! use; a main index of another generation, an overlay newer than the state (an update that
//! stopped half-way), an unreadable table, another format version or other workflow rules
//! mean the index is rebuilt, never trusted. A rebuild starts past the old generation.
//!
//! A search looks for change without reading every file:
//! - HEAD moved (commit, branch switch, merge, reset, pull): the two commits' trees under
//!   `.orchestration/` are compared and only the paths whose blob id differs are looked at;
//!   when orch's own commits, noted in the journal with the paths each changed, lead from the
//!   one to the other, those paths are taken without comparing trees;
//! - the git index changed while HEAD did not (checkout of paths, stash, conflicted merge,
//!   add): every indexed file is stat'ed;
//! - a task folder or bug appeared or went away: the folder listings show it;
//! - the files in `state.json`'s watch list are stat'ed on every search: every file while
//!   there are at most [`WATCH_ALL`], else the current task's files, the files indexed from
//!   the working tree and not yet seen committed, and any file whose stat data was too fresh
//!   to trust (git's "racy" rule);
//! - orch's own writes are noted by `note_written` and picked up by the next search.
//!
//! A build from nothing reads, parses and indexes the files on each core into segments of
//! that thread's own (`index::Sink`) and commits them together, so no document is handed
//! between threads.
//!
//! A file that looks changed is read and hashed; only when its blob id differs from the one
//! indexed are its documents replaced. So a file whose blob id is unchanged is never parsed
//! again, and a file whose blob id is unchanged in HEAD is not even read.

use super::cache_dir;
use super::corpus::{self, ArtifactPhases};
use super::index::{self, Part, Store};
use super::table::{self, Table};
use crate::project::Project;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Bumped whenever the schema or the way documents are made changes: an older index is
/// rebuilt, not misread.
const VERSION: u32 = 4;
/// Up to this many files, every search stats all of them: a few milliseconds at most.
pub const WATCH_ALL: usize = 4096;
/// Stat data younger than this is not trusted to tell a later change apart (git's racy rule).
const RACY_NS: i64 = 3_000_000_000;
const JOURNAL: &str = "written";
/// An overlay holding more documents than this is folded into the main index.
pub const OVERLAY_DOCS: usize = 1000;
/// An overlay of more files than this (changed or gone) is folded into the main index.
pub const OVERLAY_FILES: usize = 200;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// [`WATCH_ALL`], or the number `ORCH_SEARCH_WATCH_ALL` gives (0 makes a small corpus take the
/// path of a large one).
fn watch_all() -> usize {
    env_usize("ORCH_SEARCH_WATCH_ALL", WATCH_ALL)
}

/// [`OVERLAY_DOCS`], or the number `ORCH_SEARCH_OVERLAY_DOCS` gives (0: every change goes
/// straight into the main index).
fn overlay_docs() -> usize {
    env_usize("ORCH_SEARCH_OVERLAY_DOCS", OVERLAY_DOCS)
}

/// mtime (ns), size and inode: what tells a file changed without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp(pub i64, pub u64, pub u64);

pub fn stamp(path: &Path) -> Option<Stamp> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::symlink_metadata(path).ok()?;
    Some(Stamp(
        m.mtime() * 1_000_000_000 + m.mtime_nsec(),
        m.size(),
        m.ino(),
    ))
}

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// One indexed file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rec {
    pub path: String,
    pub blob: String,
    /// `None`: too fresh to trust, re-hash on the next search.
    pub stamp: Option<Stamp>,
    /// Indexed from the working tree and not yet seen in a commit.
    #[serde(default)]
    pub dirty: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct State {
    version: u32,
    /// The generation of the last write: of the overlay in use, or of the main index.
    generation: u64,
    /// The generation the main index's last commit recorded.
    main_generation: u64,
    /// The files whose documents in the main index are out of date: those the overlay
    /// `overlay-<generation>` holds or that are gone. Empty: no overlay is in use.
    mask: Vec<String>,
    head: Option<String>,
    git_index: Option<Stamp>,
    tasks_dir: Option<Stamp>,
    bugs_dir: Option<Stamp>,
    rules: String,
    current: Option<String>,
    journal_offset: u64,
    file_count: usize,
    watch: Vec<Rec>,
    /// The boot of the system the index was last written in (see `cache_dir`).
    #[serde(default)]
    boot: Option<String>,
}

pub struct Paths {
    pub dir: PathBuf,
}

impl Paths {
    pub fn of(p: &Project) -> Paths {
        Paths {
            dir: p.local_dir().join("search"),
        }
    }
    fn index(&self) -> PathBuf {
        self.dir.join("index")
    }
    fn overlay(&self, generation: u64) -> PathBuf {
        self.dir.join(format!("overlay-{generation}"))
    }
    /// The generations of the overlays on disk.
    fn overlays(&self) -> Vec<u64> {
        list_dir(&self.dir)
            .iter()
            .filter_map(|n| n.strip_prefix("overlay-")?.parse().ok())
            .collect()
    }
    /// Removes every overlay but `keep`'s.
    fn prune_overlays(&self, keep: Option<u64>) {
        for g in self.overlays() {
            if Some(g) != keep {
                let _ = std::fs::remove_dir_all(self.overlay(g));
            }
        }
    }
    /// Removes what builds from nothing left behind when they stopped half-way (`index.new-PID`,
    /// `index.old-PID`). Only the holder of the search lock builds, so none is in use.
    fn prune_builds(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for e in entries.flatten() {
            let name = e.file_name();
            let name = name.to_string_lossy();
            if name.starts_with("index.new-") || name.starts_with("index.old-") {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    fn state(&self) -> PathBuf {
        self.dir.join("state.json")
    }
    fn files(&self) -> PathBuf {
        self.dir.join("files")
    }
    fn journal(&self) -> PathBuf {
        self.dir.join(JOURNAL)
    }
}

/// Records that orch wrote these files (absolute paths), and the commit it made of them if
/// any, so the next search re-reads them even when nothing else would show the change, and
/// need not compare the commit's tree with its parent's. Losing a note only costs freshness
/// or time, so failures are ignored. One write, so that a note is never interleaved with
/// another process's; it starts a new line, so that one a crash cut short spoils no other.
pub fn note_written(p: &Project, files: &[PathBuf], commit: Option<&crate::git::CommitOutcome>) {
    use std::io::Write;
    let paths = Paths::of(p);
    if !paths.dir.is_dir() {
        return; // no index yet: the first search reads everything anyway
    }
    // A line a crash cut short stays a line of its own.
    let mut text = String::from("\n");
    for f in files {
        if let Some(rel) = p.git.rel_path(f) {
            text.push_str(&rel);
            text.push('\n');
        }
    }
    if let Some(c) = commit {
        let moved = Moved {
            from: c.parent.map(|id| id.to_string()),
            to: c.commit.to_string(),
            paths: c.changed_paths.clone(),
        };
        text.push(COMMIT_MARK);
        text.push_str(&serde_json::to_string(&moved).expect("a note serialises"));
        text.push('\n');
    }
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(paths.journal())
    {
        let _ = file.write_all(text.as_bytes());
    }
}

/// Starts a journal line recording a commit orch made (no searched path starts with it).
const COMMIT_MARK: char = '@';

/// A commit orch made: `to`, on top of `from`, changing exactly `paths`.
#[derive(Debug, Serialize, Deserialize)]
struct Moved {
    from: Option<String>,
    to: String,
    paths: Vec<String>,
}

/// What the journal noted since the last search: files orch wrote, and commits it made.
#[derive(Default)]
struct Journal {
    written: Vec<String>,
    commits: Vec<Moved>,
}

impl Journal {
    /// The journal from byte `offset` on, or whole when it is shorter than that (someone
    /// removed it since). A line cut short by a crash is skipped.
    fn read(path: &Path, offset: u64) -> Journal {
        use std::io::{Read, Seek};
        let mut bytes = Vec::new();
        if let Ok(mut f) = std::fs::File::open(path) {
            let len = f.metadata().map_or(0, |m| m.len());
            let offset = if len < offset { 0 } else { offset };
            if f.seek(std::io::SeekFrom::Start(offset)).is_ok() {
                let _ = f.read_to_end(&mut bytes);
            }
        }
        let mut j = Journal::default();
        for line in String::from_utf8_lossy(&bytes).lines() {
            match line.strip_prefix(COMMIT_MARK) {
                Some(json) => j.commits.extend(serde_json::from_str(json).ok()),
                None if corpus::source(line).is_some() => j.written.push(line.to_string()),
                None => {}
            }
        }
        j
    }

    /// The paths that differ between commits `from` and `to`, when orch's own commits lead
    /// from one to the other: the union of what each changed. `None` otherwise (someone else
    /// moved HEAD, or a note was lost), and the trees must be compared.
    fn moved(&self, from: &Option<String>, to: &Option<String>) -> Option<BTreeSet<String>> {
        let to = to.as_ref()?;
        let mut at = from.clone();
        let mut paths = BTreeSet::new();
        for m in &self.commits {
            if m.from == at {
                paths.extend(
                    m.paths
                        .iter()
                        .filter(|p| corpus::source(p).is_some())
                        .cloned(),
                );
                if m.to == *to {
                    return Some(paths);
                }
                at = Some(m.to.clone());
            }
        }
        None
    }
}

/// What the workflow says about artifacts, as a hash: other rules mean other documents.
fn rules_hash(phases: &ArtifactPhases) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (k, v) in phases {
        for b in k.bytes().chain([0]).chain(v.bytes()).chain([1]) {
            h ^= b as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{VERSION}-{h:016x}")
}

pub fn artifact_phases(p: &Project) -> ArtifactPhases {
    let mut out = ArtifactPhases::new();
    for ph in &p.workflow.phases {
        for a in ph
            .def
            .artifacts
            .required
            .iter()
            .chain(&ph.def.artifacts.optional)
        {
            out.entry(a.name.clone()).or_insert_with(|| ph.name.clone());
        }
    }
    // TASK.md is written when the task is made, in the first phase.
    if let Some(first) = p.workflow.phases.first() {
        out.entry("TASK.md".to_string())
            .or_insert_with(|| first.name.clone());
    }
    out
}

fn blob_id(bytes: &[u8]) -> String {
    gix::objs::compute_hash(gix::hash::Kind::Sha1, gix::objs::Kind::Blob, bytes)
        .map(|id| id.to_string())
        .unwrap_or_default()
}

/// The indexed files under the working tree: every searched file of every task and bug.
fn walk(root: &Path) -> Vec<String> {
    let tasks = root.join(corpus::TASKS_PREFIX);
    let codes = list_dir(&tasks);
    // Listing ten thousand folders one after another is most of a cold search's wait.
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8);
    let chunk = codes.len().div_ceil(threads).max(1);
    let mut out: Vec<String> = std::thread::scope(|sc| {
        let handles: Vec<_> = codes
            .chunks(chunk)
            .map(|part| {
                sc.spawn(|| {
                    part.iter()
                        .flat_map(|c| task_files(root, c))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    for name in list_dir(&root.join(corpus::BUGS_PREFIX)) {
        let rel = format!("{}{name}", corpus::BUGS_PREFIX);
        if corpus::source(&rel).is_some() {
            out.push(rel);
        }
    }
    out
}

fn list_dir(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    v.sort_unstable();
    v
}

fn task_files(root: &Path, code: &str) -> Vec<String> {
    let dir = root.join(corpus::TASKS_PREFIX).join(code);
    list_dir(&dir)
        .into_iter()
        .map(|n| format!("{}{code}/{n}", corpus::TASKS_PREFIX))
        .filter(|rel| corpus::source(rel).is_some())
        .collect()
}

/// What changed between two commits under `.orchestration/tasks` and `.orchestration/bugs`,
/// by gix's tree diff: only subtrees whose id differs are opened.
struct CommitTrees<'r> {
    repo: &'r gix::Repository,
}

impl CommitTrees<'_> {
    /// The id of entry `name` in tree `tree`.
    fn sub(&self, tree: Option<gix::ObjectId>, name: &str) -> Option<Option<gix::ObjectId>> {
        let Some(tree) = tree else {
            return Some(None);
        };
        let tree = self.repo.find_tree(tree).ok()?;
        Some(tree.find_entry(name).map(|e| e.object_id()))
    }

    /// The trees of `.orchestration/tasks` and `.orchestration/bugs` in commit `c`.
    fn roots(&self, c: Option<&str>) -> Option<(Option<gix::ObjectId>, Option<gix::ObjectId>)> {
        let Some(c) = c else {
            return Some((None, None));
        };
        let id = gix::ObjectId::from_hex(c.as_bytes()).ok()?;
        let commit = self.repo.find_commit(id).ok()?;
        let root = commit.tree_id().ok()?.detach();
        let orch = self.sub(Some(root), crate::project::ORCH_DIR)?;
        Some((self.sub(orch, "tasks")?, self.sub(orch, "bugs")?))
    }

    /// Paths under `.orchestration/` whose blob differs between two commits (changed, added or
    /// gone). `None` when a commit cannot be read (e.g. pruned after a rebase).
    fn diff(&self, old: Option<&str>, new: Option<&str>) -> Option<BTreeSet<String>> {
        let (ot, ob) = self.roots(old)?;
        let (nt, nb) = self.roots(new)?;
        let mut out = BTreeSet::new();
        for (prefix, a, b) in [
            (corpus::TASKS_PREFIX, ot, nt),
            (corpus::BUGS_PREFIX, ob, nb),
        ] {
            for path in self.changed(a, b)? {
                let rel = format!("{prefix}{path}");
                if corpus::source(&rel).is_some() {
                    out.insert(rel);
                }
            }
        }
        Some(out)
    }

    /// The files whose blob differs between trees `a` and `b`, relative to them.
    fn changed(&self, a: Option<gix::ObjectId>, b: Option<gix::ObjectId>) -> Option<Vec<String>> {
        if a == b {
            return Some(Vec::new());
        }
        let data = |id: Option<gix::ObjectId>| match id {
            None => Some(Vec::new()),
            Some(id) => Some(self.repo.find_tree(id).ok()?.detach().data),
        };
        let (da, db) = (data(a)?, data(b)?);
        let kind = self.repo.object_hash();
        let mut rec = gix::diff::tree::Recorder::default();
        gix::diff::tree(
            gix::objs::TreeRefIter::from_bytes(&da, kind),
            gix::objs::TreeRefIter::from_bytes(&db, kind),
            &mut gix::diff::tree::State::default(),
            &self.repo.objects,
            &mut rec,
        )
        .ok()?;
        use gix::diff::tree::recorder::Change;
        let files = rec.records.into_iter().filter_map(|c| match c {
            Change::Addition {
                entry_mode, path, ..
            }
            | Change::Deletion {
                entry_mode, path, ..
            }
            | Change::Modification {
                entry_mode, path, ..
            } => (!entry_mode.is_tree()).then(|| path.to_string()),
        });
        Some(files.collect())
    }
}

fn read_state(paths: &Paths) -> Option<State> {
    let text = std::fs::read_to_string(paths.state()).ok()?;
    let s: State = serde_json::from_str(&text).ok()?;
    (s.version == VERSION).then_some(s)
}

/// The generation a rebuild starts at: past any the old state named, so that tables left
/// by an earlier index never match the new one.
fn next_generation(paths: &Paths) -> u64 {
    let old = std::fs::read_to_string(paths.state())
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v["generation"].as_u64());
    old.map_or(1, |g| g + 1)
}

/// A stamp that can be trusted later: not so fresh that a change in the same tick would keep it.
fn trusted(s: Option<Stamp>, now: i64) -> Option<Stamp> {
    s.filter(|s| now - s.0 >= RACY_NS)
}

/// What a refresh did, for `--json` and the benchmark.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RefreshReport {
    pub rebuilt: bool,
    pub files_checked: usize,
    pub files_read: usize,
    pub files_reindexed: usize,
    pub files_removed: usize,
    pub documents: u64,
}

struct Ctx<'a> {
    p: &'a Project,
    paths: Paths,
    phases: ArtifactPhases,
    rules: String,
    /// The current task, as the caller found it (its files are watched).
    current: Option<String>,
}

/// The indexes a search reads: the main one and, while files changed since it was written are
/// kept apart, the overlay with their documents.
pub struct Indexes {
    main: Store,
    main_generation: u64,
    /// Present exactly when `mask` is not empty.
    overlay: Option<Store>,
    /// The files the overlay holds or that are gone: masked out of the main index.
    mask: Vec<String>,
}

impl Indexes {
    pub fn searcher(&self) -> Result<index::Searcher> {
        let mut parts = vec![Part {
            searcher: self.main.reader()?.searcher(),
            mask: self.mask.clone(),
        }];
        if let Some(o) = &self.overlay {
            parts.push(Part {
                searcher: o.reader()?.searcher(),
                mask: Vec::new(),
            });
        }
        Ok(index::Searcher {
            f: self.main.f,
            parts,
        })
    }
}

/// Opens the index, brought up to date with the files; rebuilt when `rebuild` is asked for or
/// the index cannot be trusted. The caller holds the search lock.
pub fn open(
    p: &Project,
    rebuild: bool,
    current: Option<&crate::code::TaskCode>,
) -> Result<(Indexes, RefreshReport)> {
    let phases = artifact_phases(p);
    let cx = Ctx {
        p,
        paths: Paths::of(p),
        rules: rules_hash(&phases),
        phases,
        current: current.map(|c| c.to_string()),
    };
    if !rebuild {
        if let Some(state) = read_state(&cx.paths).filter(|s| s.rules == cx.rules) {
            if let Some(mut ix) = load(&cx.paths, &state) {
                if let Some(report) = update(&cx, &mut ix, state)? {
                    return Ok((ix, report));
                }
            }
        }
    }
    build(&cx)
}

/// The indexes `st` names, when they can be trusted.
fn load(paths: &Paths, st: &State) -> Option<Indexes> {
    let main = Store::open(&paths.index()).ok()?;
    if main.generation() != Some(st.main_generation) || st.main_generation > st.generation {
        return None;
    }
    // An overlay newer than the state: an update stopped half-way.
    if paths.overlays().into_iter().any(|g| g > st.generation) {
        return None;
    }
    let overlay = match st.mask.is_empty() {
        false => Some(Store::open(&paths.overlay(st.generation)).ok()?),
        true => None,
    };
    let ok = intact(&main, st) && overlay.as_ref().is_none_or(|o| intact(o, st));
    ok.then(|| Indexes {
        main,
        main_generation: st.main_generation,
        overlay,
        mask: st.mask.clone(),
    })
}

/// Writes not synced can only be lost with the system: an index last written in another boot
/// is trusted only once its checksums are verified.
fn intact(store: &Store, st: &State) -> bool {
    st.boot == cache_dir::boot_id()
        || store
            .index
            .validate_checksum()
            .is_ok_and(|bad| bad.is_empty())
}

/// The paths to check, and those among them a move of HEAD changed.
type Suspects = (BTreeSet<String>, BTreeSet<String>);

/// Everything the cheap checks say may have changed, and the paths a move of HEAD changed;
/// `None` when every file must be checked.
fn suspects(cx: &Ctx, st: &State, head: &Option<String>) -> Option<Suspects> {
    let root = &cx.p.root;
    let mut out = BTreeSet::new();
    let mut diffed = BTreeSet::new();
    let journal = Journal::read(&cx.paths.journal(), st.journal_offset);
    if *head != st.head {
        let trees = || CommitTrees {
            repo: &cx.p.git.repo,
        };
        match journal.moved(&st.head, head) {
            Some(paths) => diffed.extend(paths),
            None => diffed.extend(trees().diff(st.head.as_deref(), head.as_deref())?),
        }
        out.extend(diffed.iter().cloned());
        // A stopped merge or rebase leaves the working tree between commits.
        if cx.p.git.repo.state().is_some() {
            return None;
        }
    } else if stamp(&cx.p.git.repo.index_path()) != st.git_index {
        return None;
    }
    for r in &st.watch {
        if r.stamp.is_none() || stamp(&root.join(&r.path)) != r.stamp {
            out.insert(r.path.clone());
        }
    }
    let known: BTreeSet<&str> = st.watch.iter().map(|r| r.path.as_str()).collect();
    // With every file watched, new files in any folder are looked for too; otherwise only in
    // the current task's.
    let fresh: Vec<String> = if st.file_count <= watch_all() {
        walk(root)
    } else {
        match &cx.current {
            Some(code) => task_files(root, code),
            None => vec![],
        }
    };
    out.extend(fresh.into_iter().filter(|f| !known.contains(f.as_str())));
    out.extend(journal.written);
    Some((out, diffed))
}

/// Brings a trusted index up to date. `None` when it turns out not to be trustworthy.
fn update(cx: &Ctx, ix: &mut Indexes, st: State) -> Result<Option<RefreshReport>> {
    let after = After::now(cx, st.generation)?;
    let suspects = suspects(cx, &st, &after.head);
    let dirs_same = after.tasks_dir == st.tasks_dir && after.bugs_dir == st.bugs_dir;
    if suspects.as_ref().is_some_and(|s| s.0.is_empty())
        && dirs_same
        && after.current == st.current
        && after.journal_offset == st.journal_offset
        && after.boot == st.boot
    {
        return Ok(Some(RefreshReport::default()));
    }
    let table = Table::at(cx.paths.files());
    match suspects {
        Some(found) if dirs_same && st.file_count > watch_all() => {
            update_some(cx, ix, &st, after, &table, found)
        }
        suspects => update_all(cx, ix, &st, after, &table, suspects, dirs_same),
    }
}

/// Checks what [`full_check`] names against the whole table, and writes the table anew.
fn update_all(
    cx: &Ctx,
    ix: &mut Indexes,
    st: &State,
    mut after: After,
    table: &Table,
    suspects: Option<Suspects>,
    dirs_same: bool,
) -> Result<Option<RefreshReport>> {
    let Some(mut files) = table.all() else {
        return Ok(None);
    };
    let mut report = RefreshReport::default();
    let (mut check, diffed) = full_check(cx, &files, suspects, dirs_same);
    add_new_current(&mut check, &cx.p.root, st, &after);
    after.generation = apply(
        cx,
        ix,
        &mut files,
        &check,
        &diffed,
        st.generation,
        &mut report,
    )?;
    let watch = watch_list(files.values(), &after.current, files.len() <= watch_all());
    table.write_all(&files)?;
    save(cx, &after, ix, files.len(), watch)?;
    Ok(Some(report))
}

/// A few files looked changed: only their lines of the table are read and rewritten, and the
/// watch list is the old one with their records replaced.
fn update_some(
    cx: &Ctx,
    ix: &mut Indexes,
    st: &State,
    mut after: After,
    table: &Table,
    (mut check, diffed): Suspects,
) -> Result<Option<RefreshReport>> {
    add_new_current(&mut check, &cx.p.root, st, &after);
    let Some(mut files) = table.get(&check) else {
        return Ok(None);
    };
    let mut report = RefreshReport::default();
    after.generation = apply(
        cx,
        ix,
        &mut files,
        &check,
        &diffed,
        st.generation,
        &mut report,
    )?;
    let updates: BTreeMap<String, Option<Rec>> = check
        .iter()
        .map(|p| (p.clone(), files.get(p).cloned()))
        .collect();
    let Some(delta) = table.patch(&updates)? else {
        return Ok(None);
    };
    let count = (st.file_count as i64 + delta).max(0) as usize;
    let watch = if count <= watch_all() {
        // Small enough again for every file to be watched.
        table
            .all()
            .map(|all| all.into_values().collect())
            .unwrap_or_default()
    } else {
        let mut watch: BTreeMap<&str, &Rec> = st
            .watch
            .iter()
            .filter(|r| !updates.contains_key(&r.path))
            .map(|r| (r.path.as_str(), r))
            .collect();
        watch.extend(files.values().map(|r| (r.path.as_str(), r)));
        watch_list(watch.into_values(), &after.current, false)
    };
    save(cx, &after, ix, count, watch)?;
    Ok(Some(report))
}

/// What to check when the cheap checks could not narrow it down, or task folders appeared or
/// went away: every file, or the suspects plus the files of those folders.
fn full_check(
    cx: &Ctx,
    files: &BTreeMap<String, Rec>,
    suspects: Option<Suspects>,
    dirs_same: bool,
) -> Suspects {
    let root = &cx.p.root;
    let (mut check, diffed) = match suspects {
        Some(s) => s,
        None => (
            files.keys().cloned().chain(walk(root)).collect(),
            BTreeSet::new(),
        ),
    };
    if !dirs_same {
        // Folders that appeared bring all their files; folders that went away take theirs.
        let known: BTreeSet<&str> = files
            .keys()
            .filter_map(|k| k.strip_prefix(corpus::TASKS_PREFIX)?.split('/').next())
            .collect();
        let now: BTreeSet<String> = list_dir(&root.join(corpus::TASKS_PREFIX))
            .into_iter()
            .collect();
        for code in now.iter().filter(|c| !known.contains(c.as_str())) {
            check.extend(task_files(root, code));
        }
        for k in files.keys() {
            let gone = k
                .strip_prefix(corpus::TASKS_PREFIX)
                .and_then(|r| r.split('/').next())
                .is_some_and(|c| !now.contains(c));
            if gone || k.starts_with(corpus::BUGS_PREFIX) {
                check.insert(k.clone());
            }
        }
        check.extend(walk_bugs(root));
    }
    (check, diffed)
}

/// A task that became the current one has its files looked at: from now on they are watched.
fn add_new_current(check: &mut BTreeSet<String>, root: &Path, st: &State, after: &After) {
    if after.current == st.current {
        return;
    }
    if let Some(c) = &after.current {
        check.extend(task_files(root, c));
    }
}

fn walk_bugs(root: &Path) -> Vec<String> {
    list_dir(&root.join(corpus::BUGS_PREFIX))
        .into_iter()
        .map(|n| format!("{}{n}", corpus::BUGS_PREFIX))
        .filter(|rel| corpus::source(rel).is_some())
        .collect()
}

/// Checks `check` against the records: re-reads what looks changed, replaces the documents of
/// what is changed, and commits. Returns the new generation.
fn apply(
    cx: &Ctx,
    ix: &mut Indexes,
    files: &mut BTreeMap<String, Rec>,
    check: &BTreeSet<String>,
    diffed: &BTreeSet<String>,
    generation: u64,
    report: &mut RefreshReport,
) -> Result<u64> {
    let now = now_ns();
    let mut changed: Vec<(String, String)> = Vec::new();
    let mut removed: Vec<String> = Vec::new();
    for path in check {
        report.files_checked += 1;
        let abs = cx.p.root.join(path);
        let s = stamp(&abs);
        let is_file = std::fs::symlink_metadata(&abs).is_ok_and(|m| m.is_file());
        if !is_file {
            if files.remove(path).is_some() {
                removed.push(path.clone());
            }
            continue;
        }
        // Seen in the commit that moved HEAD: no longer only in the working tree.
        let committed = diffed.contains(path);
        let rec = files.get(path);
        if let Some(r) = rec {
            if r.stamp.is_some() && r.stamp == s {
                if committed {
                    files.get_mut(path).expect("present").dirty = false;
                }
                continue;
            }
        }
        let Ok(bytes) = std::fs::read(&abs) else {
            continue;
        };
        report.files_read += 1;
        let blob = blob_id(&bytes);
        let dirty = !committed;
        if rec.is_some_and(|r| r.blob == blob) {
            let r = files.get_mut(path).expect("present");
            r.stamp = trusted(s, now);
            r.dirty = r.dirty && dirty;
            continue;
        }
        let text = String::from_utf8_lossy(&bytes).into_owned();
        files.insert(
            path.clone(),
            Rec {
                path: path.clone(),
                blob,
                stamp: trusted(s, now),
                dirty,
            },
        );
        changed.push((path.clone(), text));
    }
    if changed.is_empty() && removed.is_empty() {
        return Ok(generation);
    }
    report.files_reindexed = changed.len();
    report.files_removed = removed.len();
    let generation = generation + 1;
    write_changes(cx, ix, &changed, &removed, generation)?;
    Ok(generation)
}

/// Writes the documents of `changed` and drops those of `removed`: into a new overlay with
/// the old overlay's other documents, or, once that grows too large, into the main index.
fn write_changes(
    cx: &Ctx,
    ix: &mut Indexes,
    changed: &[(String, String)],
    removed: &[String],
    generation: u64,
) -> Result<()> {
    let replaced: BTreeSet<&str> = changed
        .iter()
        .map(|c| c.0.as_str())
        .chain(removed.iter().map(String::as_str))
        .collect();
    let mut docs = match &ix.overlay {
        Some(o) => o.all_docs()?,
        None => Vec::new(),
    };
    docs.retain(|d| !replaced.contains(d.path.as_str()));
    for (path, text) in changed {
        docs.extend(corpus::docs(path, text, &cx.phases));
    }
    let mut mask: BTreeSet<String> = std::mem::take(&mut ix.mask).into_iter().collect();
    mask.extend(replaced.iter().map(|p| p.to_string()));
    if docs.len() > overlay_docs() || mask.len() > OVERLAY_FILES {
        let w = ix.main.writer(1, 15_000_000)?;
        for path in &mask {
            w.delete_term(index::key(&ix.main.f, "path", path));
        }
        for d in &docs {
            w.add_document(ix.main.to_tantivy(d))
                .map_err(index::err("add a document"))?;
        }
        commit(w, generation)?;
        ix.main_generation = generation;
        ix.overlay = None;
        return Ok(());
    }
    let dir = cx.paths.overlay(generation);
    let _ = std::fs::remove_dir_all(&dir);
    ix.overlay = Some(Store::write_overlay(&dir, docs.iter())?);
    ix.mask = mask.into_iter().collect();
    Ok(())
}

fn commit(mut w: tantivy::IndexWriter, generation: u64) -> Result<()> {
    let mut prepared = w
        .prepare_commit()
        .map_err(super::index::err("commit the index"))?;
    prepared.set_payload(&generation.to_string());
    prepared
        .commit()
        .map_err(super::index::err("commit the index"))?;
    w.wait_merging_threads()
        .map_err(super::index::err("merge the index"))
}

/// What `state.json` records besides the watch list: the index's generation and what the
/// cheap checks compare against next time.
struct After {
    generation: u64,
    head: Option<String>,
    tasks_dir: Option<Stamp>,
    bugs_dir: Option<Stamp>,
    current: Option<String>,
    journal_offset: u64,
    boot: Option<String>,
}

impl After {
    /// What the cheap checks see now, for an index of `generation`.
    fn now(cx: &Ctx, generation: u64) -> Result<After> {
        let root = &cx.p.root;
        Ok(After {
            generation,
            head: cx.p.git.head_id()?.map(|i| i.to_string()),
            tasks_dir: stamp(&root.join(corpus::TASKS_PREFIX)),
            bugs_dir: stamp(&root.join(corpus::BUGS_PREFIX)),
            current: cx.current.clone(),
            journal_offset: std::fs::metadata(cx.paths.journal()).map_or(0, |m| m.len()),
            boot: cache_dir::boot_id(),
        })
    }
}

/// The files every search stats: all of them when `all`, else the current task's, those
/// indexed from the working tree and not yet seen committed, and those too fresh to trust.
fn watch_list<'a>(
    recs: impl Iterator<Item = &'a Rec>,
    current: &Option<String>,
    all: bool,
) -> Vec<Rec> {
    let cur_prefix = current
        .as_ref()
        .map(|c| format!("{}{c}/", corpus::TASKS_PREFIX));
    recs.filter(|r| {
        all || r.dirty
            || r.stamp.is_none()
            || cur_prefix.as_ref().is_some_and(|p| r.path.starts_with(p))
    })
    .cloned()
    .collect()
}

/// Writes `state.json`, last: the indexes and the table (of `file_count` files) are written
/// by then. Overlays the state no longer names are removed after.
fn save(cx: &Ctx, a: &After, ix: &Indexes, file_count: usize, watch: Vec<Rec>) -> Result<()> {
    let state = State {
        version: VERSION,
        generation: a.generation,
        main_generation: ix.main_generation,
        mask: ix.mask.clone(),
        head: a.head.clone(),
        git_index: stamp(&cx.p.git.repo.index_path()),
        tasks_dir: a.tasks_dir,
        bugs_dir: a.bugs_dir,
        rules: cx.rules.clone(),
        current: a.current.clone(),
        journal_offset: a.journal_offset,
        file_count,
        watch,
        boot: a.boot.clone(),
    };
    let text = serde_json::to_string(&state).expect("state serialises");
    table::replace(&cx.paths.state(), text.as_bytes())?;
    cx.paths
        .prune_overlays((!state.mask.is_empty()).then_some(state.generation));
    Ok(())
}

/// Reads every file and builds the index from nothing, in a fresh folder that replaces the
/// old one only when complete.
fn build(cx: &Ctx) -> Result<(Indexes, RefreshReport)> {
    let root = &cx.p.root;
    let after = After::now(cx, next_generation(&cx.paths))?;
    let paths = walk(root);
    std::fs::create_dir_all(&cx.paths.dir).map_err(|e| Error::io(&cx.paths.dir, e))?;
    cx.paths.prune_overlays(None);
    cx.paths.prune_builds();
    let tmp = cx
        .paths
        .dir
        .join(format!("index.new-{}", std::process::id()));
    let files = build_in(cx, &tmp, &paths, after.generation).inspect_err(|_| {
        let _ = std::fs::remove_dir_all(&tmp);
    })?;
    let index = cx.paths.index();
    let old = cx
        .paths
        .dir
        .join(format!("index.old-{}", std::process::id()));
    if index.exists() {
        std::fs::rename(&index, &old).map_err(|e| Error::io(&index, e))?;
    }
    std::fs::rename(&tmp, &index).map_err(|e| Error::io(&index, e))?;
    let _ = std::fs::remove_dir_all(&old);
    let ix = Indexes {
        main: Store::open(&index)?,
        main_generation: after.generation,
        overlay: None,
        mask: Vec::new(),
    };
    let watch = watch_list(files.values(), &after.current, files.len() <= watch_all());
    Table::at(cx.paths.files()).write_all(&files)?;
    // The single table of earlier versions.
    let _ = std::fs::remove_file(cx.paths.dir.join("files.tsv"));
    save(cx, &after, &ix, files.len(), watch)?;
    let report = RefreshReport {
        rebuilt: true,
        files_checked: paths.len(),
        files_read: files.len(),
        files_reindexed: files.len(),
        files_removed: 0,
        documents: ix.main.reader()?.searcher().num_docs(),
    };
    Ok((ix, report))
}

/// Builds an index of `paths` in the new folder `tmp`, committed as `generation`.
fn build_in(
    cx: &Ctx,
    tmp: &Path,
    paths: &[String],
    generation: u64,
) -> Result<BTreeMap<String, Rec>> {
    let store = Store::create(tmp)?;
    let (files, segments) = read_all(cx, &store, paths, now_ns())?;
    crate::fault::fault_point!(crate::fault::points::SEARCH_SEGMENTS);
    store.commit_segments(segments, &generation.to_string())?;
    Ok(files)
}

/// The memory each thread building the index from nothing may take before it writes a
/// segment out.
const BUILD_HEAP: usize = 48_000_000;

/// The files one thread read, and the segments it wrote.
type Built = (Vec<Rec>, Vec<tantivy::SegmentMeta>);

/// Reads, parses and indexes `paths` into segments of this thread's own.
fn index_part<'a>(
    (root, phases): (&Path, &ArtifactPhases),
    store: &Store,
    paths: impl Iterator<Item = &'a String>,
    now: i64,
) -> Result<Built> {
    let mut out = Vec::new();
    let mut sink = store.sink(BUILD_HEAP);
    for rel in paths {
        let abs = root.join(rel);
        let Ok(bytes) = std::fs::read(&abs) else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes);
        for d in corpus::docs(rel, &text, phases) {
            sink.add(&d)?;
        }
        out.push(Rec {
            path: rel.clone(),
            blob: blob_id(&bytes),
            stamp: trusted(stamp(&abs), now),
            dirty: false,
        });
    }
    Ok((out, sink.finish()?))
}

/// Reads, parses and indexes the files on all cores (up to 4), each thread writing segments
/// of its own.
fn read_all(
    cx: &Ctx,
    store: &Store,
    paths: &[String],
    now: i64,
) -> Result<(BTreeMap<String, Rec>, Vec<tantivy::SegmentMeta>)> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 4);
    // Each thread takes a run of neighbouring files: reading the files of one folder after
    // another is much faster than taking every n-th file.
    let chunk = paths.len().div_ceil(threads).max(1);
    let input = (cx.p.root.as_path(), &cx.phases);
    let part = |t: usize| index_part(input, store, paths.iter().skip(t * chunk).take(chunk), now);
    let results: Vec<Result<Built>> = std::thread::scope(|sc| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let h = std::thread::Builder::new().spawn_scoped(sc, move || part(t));
                (t, h.ok())
            })
            .collect();
        handles
            .into_iter()
            .map(|(t, h)| match h {
                Some(h) => h.join().unwrap_or_else(|_| {
                    Err(Error::runtime("search index: a reader thread failed"))
                }),
                // A part whose thread could not be started is done here.
                None => part(t),
            })
            .collect()
    });
    let mut files = BTreeMap::new();
    let mut segments = Vec::new();
    for r in results {
        let (recs, segs) = r?;
        segments.extend(segs);
        for rec in recs {
            files.insert(rec.path.clone(), rec);
        }
    }
    Ok((files, segments))
}
