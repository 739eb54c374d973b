//! Commits that contain only some paths, leaving the rest of the user index alone.
//!
//! This is `git add -A -- <paths> && git commit --only -- <paths>` done in-process: the new
//! commit is HEAD's tree plus the worktree state of the given paths, and the index learns
//! exactly those paths. Everything else the user staged stays staged, byte for byte.
//!
//! The transition is a pipeline of steps (see `commit_paths_inner`), in an order chosen for
//! crash and race safety: the index lock is taken first (so a concurrent `git add` cannot be
//! lost), objects are written, the ref moves by compare-and-swap, and only then does the new
//! index replace the old one. Any failure before the ref moved leaves the repository as it
//! was, apart from unreachable objects that `git gc` collects.
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use gix::bstr::{BStr, BString, ByteSlice, ByteVec};
use gix::index::entry::{Flags, Mode, Stage, Stat};
use gix::objs::tree::{EntryKind, EntryMode};
use gix::ObjectId;

use super::index_file::{self, UserIndex};
use super::interrupt;
use super::repo::{gix_err, sparse_index_error, Repo};
use crate::error::{Error, Result};
use crate::fault::{fault_point, points};

pub struct CommitOutcome {
    pub commit: ObjectId,
    pub parent: Option<ObjectId>,
    /// Paths whose tree entry differs from the parent's, sorted, repository-relative.
    pub changed_paths: Vec<String>,
}

pub fn commit_paths(repo: &Repo, paths: &[&str], message: &str) -> Result<Option<CommitOutcome>> {
    commit_paths_inner(repo, paths, message, &mut NoSteps)
}

/// What the caller does at two points of the protocol.
pub trait Steps {
    /// With `index.lock` held, before the worktree is read: write the files to commit, so no
    /// `git add` can stage them half done.
    fn write_files(&mut self) -> Result<()> {
        Ok(())
    }
    /// The commit object `id` exists and the ref has not moved: record it, so that recovery
    /// can tell whether HEAD is this very commit.
    fn commit_written(&mut self, _id: ObjectId) -> Result<()> {
        Ok(())
    }
}

struct NoSteps;
impl Steps for NoSteps {}

/// [`commit_paths`] with the caller's [`Steps`].
pub fn commit_paths_with(
    repo: &Repo,
    paths: &[&str],
    message: &str,
    steps: &mut dyn Steps,
) -> Result<Option<CommitOutcome>> {
    commit_paths_inner(repo, paths, message, steps)
}

/// Runs `before_ref_update` after the commit object exists and before the ref moves, so tests
/// can move the branch underneath and check that nothing is committed.
#[doc(hidden)]
pub fn commit_paths_with_hook(
    repo: &Repo,
    paths: &[&str],
    message: &str,
    before_ref_update: &mut dyn FnMut(),
) -> Result<Option<CommitOutcome>> {
    struct Hook<'a>(&'a mut dyn FnMut());
    impl Steps for Hook<'_> {
        fn commit_written(&mut self, _id: ObjectId) -> Result<()> {
            (self.0)();
            Ok(())
        }
    }
    commit_paths_inner(repo, paths, message, &mut Hook(before_ref_update))
}

/// What the worktree holds at one path, as the tree and index should record it.
struct Wanted {
    id: ObjectId,
    kind: EntryKind,
    stat: Stat,
}

/// One path that may take part in the commit, with what HEAD and the index know about it.
#[derive(Default)]
struct Candidate {
    head: Option<(EntryMode, ObjectId)>,
    /// Position of the stage-0 index entry, valid until the index is restructured.
    index: Option<usize>,
}

/// A candidate with its decided new state: `None` means the path leaves the tree and index.
struct Change {
    path: BString,
    cand: Candidate,
    wanted: Option<Wanted>,
}

/// The commit the transition builds on: HEAD as read under the index lock.
struct Base<'repo> {
    /// The branch HEAD named then (`None` when detached): the one the commit goes to.
    branch: Option<gix::refs::FullName>,
    parent: Option<ObjectId>,
    tree_id: ObjectId,
    tree: gix::Tree<'repo>,
}

/// The new tree and the paths whose entry differs from the parent's.
struct NewTree {
    id: ObjectId,
    changed_paths: Vec<String>,
}

/// The protocol of one transition commit, step by step. Nothing the user can see changes
/// before `commit_ref`; after it, only `publish_index` remains.
fn commit_paths_inner(
    repo: &Repo,
    paths: &[&str],
    message: &str,
    steps: &mut dyn Steps,
) -> Result<Option<CommitOutcome>> {
    let specs = normalize_specs(paths)?;
    let message = clean_message(message)?;
    check_can_commit(repo)?;

    // Declared before the lock so that it ends after it: a signal held back meanwhile ends
    // the process only once the index is published or rolled back.
    let _protected = interrupt::protect();
    let index_path = repo.repo.index_path();
    let mut lock = acquire_index_lock(&index_path)?;
    let mut user_index = read_index(repo, &index_path)?;
    let index = &mut user_index.file;
    fault_point!(points::INDEX_LOCKED);
    steps.write_files()?;
    let base = read_base(repo)?;

    let candidates = collect(repo, &base, index, &specs)?;
    let mut changes = write_objects(repo, index, candidates)?;
    add_displaced_files(&base, index, &mut changes)?;
    let Some(tree) = build_tree(&repo.repo, &base, &changes)? else {
        return Ok(None);
    };
    let racy = find_racily_clean(repo, index, &changes);
    prepare_index(index, &changes, &racy);
    let commit_id = write_commit(repo, &message, tree.id, base.parent)?;
    // The index goes into the lock now so that a write failure leaves the ref alone.
    write_index(&user_index, &mut lock, &index_path, repo)?;
    drop(user_index);
    steps.commit_written(commit_id)?;
    fault_point!(points::OBJECTS_WRITTEN);

    let refs = lock_ref(repo, &message, &base, commit_id)?;
    fault_point!(points::REF_LOCKED);
    if interrupt::requested() {
        // The last moment to give up: dropping the locks leaves everything as it was.
        return Err(Error::runtime("interrupted; nothing was committed"));
    }
    commit_ref(repo, refs)?;
    fault_point!(points::REF_MOVED);
    publish_index(lock, commit_id, &index_path)?;

    Ok(Some(CommitOutcome {
        commit: commit_id,
        parent: base.parent,
        changed_paths: tree.changed_paths,
    }))
}

fn normalize_specs(paths: &[&str]) -> Result<Vec<String>> {
    let specs = paths
        .iter()
        .map(|p| normalize_spec(p))
        .collect::<Result<Vec<_>>>()?;
    if specs.is_empty() {
        return Err(Error::usage("no paths were given to commit"));
    }
    Ok(specs)
}

/// Refuses before anything is written: an operation in progress, a sparse index, or a missing
/// identity (git, too, refuses before it writes).
fn check_can_commit(repo: &Repo) -> Result<()> {
    repo.ensure_can_commit()?;
    repo.author_identity()?;
    repo.committer_identity()?;
    Ok(())
}

/// Reads the index under its lock, so no concurrent `git add` can be lost, and refuses the
/// index states a partial commit would corrupt (split or sparse entries, unmerged paths).
fn read_index(repo: &Repo, index_path: &Path) -> Result<UserIndex> {
    let user = index_file::read(index_path, repo.repo.object_hash())?;
    let index = &user.file;
    if index.is_sparse() {
        return Err(sparse_index_error(index_path));
    }
    if let Some(e) = index.entries().iter().find(|e| e.stage_raw() != 0) {
        return Err(Error::state(format!(
            "the index has unmerged paths (for example {}); orch will not commit over a conflict",
            e.path(index)
        ))
        .with_hint("resolve the conflicts and `git add` the files (or `git reset`), then run the command again"));
    }
    Ok(user)
}

/// HEAD's commit and tree, read after the index lock: the ref update later expects exactly
/// this parent, so a concurrent commit is detected rather than overwritten.
fn read_base(repo: &Repo) -> Result<Base<'_>> {
    let grepo = &repo.repo;
    let head = grepo.head().map_err(gix_err("read HEAD"))?;
    let parent = head.id().map(|id| id.detach());
    let branch = head.referent_name().map(|n| n.to_owned());
    let tree_id = match parent {
        Some(p) => grepo
            .find_commit(p)
            .and_then(|c| c.tree_id())
            .map_err(gix_err(format_args!("read the tree of HEAD ({p})")))?
            .detach(),
        None => ObjectId::empty_tree(grepo.object_hash()),
    };
    let tree = grepo
        .find_tree(tree_id)
        .map_err(gix_err(format_args!("read the tree {tree_id}")))?;
    Ok(Base {
        branch,
        parent,
        tree_id,
        tree,
    })
}

/// Gathers every path that HEAD, the index or the worktree has under the specs, so that
/// deletions are committed as well as additions, and nothing outside the specs is looked at.
fn collect(
    repo: &Repo,
    base: &Base<'_>,
    index: &gix::index::State,
    specs: &[String],
) -> Result<BTreeMap<BString, Candidate>> {
    let mut cands: BTreeMap<BString, Candidate> = BTreeMap::new();
    for spec in specs {
        collect_head(&repo.repo, &base.tree, spec, &mut cands)?;
        collect_index(index, spec, &mut cands);
    }
    let mut walker = Walker {
        repo: &repo.repo,
        index,
        excludes: None,
    };
    for spec in specs {
        walker.collect_worktree(&repo.workdir, spec, &mut cands)?;
    }
    Ok(cands)
}

/// Decides the new state of every candidate from the worktree, writing its blob as `git add`
/// would (filters, line endings, modes). Objects are unreachable until the ref moves, so a
/// failure here changes nothing the user can see.
fn write_objects(
    repo: &Repo,
    index: &gix::index::State,
    cands: BTreeMap<BString, Candidate>,
) -> Result<Vec<Change>> {
    let mut blobs = Blobs::new(repo, index);
    let mut changes = Vec::with_capacity(cands.len());
    let mut real_dirs: HashMap<BString, bool> = HashMap::new();
    for (path, cand) in cands {
        let prev_mode = cand
            .index
            .map(|i| index.entries()[i].mode)
            .or_else(|| cand.head.map(|(m, _)| Mode::from(m)));
        if prev_mode.is_some_and(|m| m == Mode::COMMIT)
            || cand
                .index
                .is_some_and(|i| index.entries()[i].flags.contains(Flags::SKIP_WORKTREE))
        {
            // Submodules and paths outside a sparse checkout are not the worktree's to
            // report on; leave them exactly as they are.
            continue;
        }
        let wanted = if parents_are_real_dirs(&repo.workdir, path.as_bstr(), &mut real_dirs) {
            match blobs.worktree_state(path.as_bstr(), prev_mode)? {
                WorktreeState::Present(w) => Some(w),
                WorktreeState::Gone => None,
                WorktreeState::Unsupported => continue,
            }
        } else {
            // Reached through a symlink or a file: as far as git is concerned the path is gone.
            None
        };
        changes.push(Change { path, cand, wanted });
    }
    Ok(changes)
}

/// What one worktree path holds, as far as git would commit it.
enum WorktreeState {
    Present(Wanted),
    /// Missing, or a directory now stands where a file was (its files are candidates of
    /// their own).
    Gone,
    /// Neither a file nor a symlink (a socket, a fifo): git does not track it.
    Unsupported,
}

/// Writes worktree files as blobs, setting up the attribute filters only once a regular file
/// needs them.
pub(super) struct Blobs<'a> {
    repo: &'a Repo,
    index: &'a gix::index::State,
    file_mode: bool,
    symlinks: bool,
    pipeline: Option<gix::filter::Pipeline<'a>>,
}

impl<'a> Blobs<'a> {
    pub(super) fn new(repo: &'a Repo, index: &'a gix::index::State) -> Blobs<'a> {
        Blobs {
            repo,
            index,
            file_mode: repo.config_bool("core.fileMode").unwrap_or(true),
            symlinks: repo.config_bool("core.symlinks").unwrap_or(true),
            pipeline: None,
        }
    }

    /// The blob id `git add` would give the worktree file, without storing it.
    pub(super) fn content_id(&mut self, abs: &Path, rela: &BStr, mode: Mode) -> Option<ObjectId> {
        use gix::filter::plumbing::pipeline::convert::ToGitOutcome;
        use std::io::Read;
        let kind = self.repo.repo.object_hash();
        let bytes = if mode == Mode::SYMLINK && self.symlinks {
            let target = std::fs::read_link(abs).ok()?;
            gix::path::into_bstr(target).ok()?.into_owned().into()
        } else {
            let file = std::fs::File::open(abs).ok()?;
            let rela_path = to_path(rela).ok()?;
            let index = self.index;
            let pipeline = self.pipeline().ok()?;
            let mut buf = Vec::new();
            match pipeline.convert_to_git(file, &rela_path, index).ok()? {
                ToGitOutcome::Unchanged(mut f) => f.read_to_end(&mut buf).ok()?,
                ToGitOutcome::Buffer(b) => {
                    buf.extend_from_slice(b);
                    b.len()
                }
                ToGitOutcome::Process(mut r) => r.read_to_end(&mut buf).ok()?,
            };
            buf
        };
        gix::objs::compute_hash(kind, gix::objs::Kind::Blob, &bytes).ok()
    }

    fn worktree_state(&mut self, path: &BStr, prev_mode: Option<Mode>) -> Result<WorktreeState> {
        let abs = self.repo.workdir.join(to_path(path)?);
        let md = match gix::index::fs::Metadata::from_path_no_follow(&abs) {
            Ok(md) => md,
            Err(e) if is_gone(&e) => return Ok(WorktreeState::Gone),
            Err(e) => return Err(Error::io(&abs, e)),
        };
        if md.is_dir() {
            return Ok(WorktreeState::Gone);
        }
        if !md.is_file() && !md.is_symlink() {
            return Ok(WorktreeState::Unsupported);
        }
        let stat = Stat::from_fs(&md).map_err(|e| {
            Error::runtime(format!(
                "could not read the timestamps of {}: {e}",
                abs.display()
            ))
        })?;
        let wanted = if md.is_symlink() {
            Wanted {
                id: self.symlink_blob(&abs)?,
                kind: EntryKind::Link,
                stat,
            }
        } else {
            let id = self.file_blob(&abs, path)?;
            let kind = file_kind(self.file_mode, self.symlinks, prev_mode, md.is_executable());
            Wanted { id, kind, stat }
        };
        Ok(WorktreeState::Present(wanted))
    }

    fn symlink_blob(&self, abs: &Path) -> Result<ObjectId> {
        let target = std::fs::read_link(abs).map_err(|e| Error::io(abs, e))?;
        let target = gix::path::into_bstr(target).map_err(|e| {
            Error::runtime(format!(
                "the symlink {} points to a path git cannot store: {e}",
                abs.display()
            ))
        })?;
        Ok(self
            .repo
            .repo
            .write_blob(target.as_ref() as &[u8])
            .map_err(gix_err(format_args!("store the symlink {}", abs.display())))?
            .detach())
    }

    fn file_blob(&mut self, abs: &Path, rela: &BStr) -> Result<ObjectId> {
        let (grepo, index) = (&self.repo.repo, self.index);
        let pl = self.pipeline()?;
        blob_from_file(grepo, pl, index, abs, rela)
    }

    /// The attribute filters (line endings, clean filters), set up on first use.
    fn pipeline(&mut self) -> Result<&mut gix::filter::Pipeline<'a>> {
        if self.pipeline.is_none() {
            let grepo = &self.repo.repo;
            let attrs = grepo
                .attributes_only(
                    self.index,
                    gix::worktree::stack::state::attributes::Source::WorktreeThenIdMapping,
                )
                .map_err(gix_err("read .gitattributes"))?;
            self.pipeline = Some(
                gix::filter::Pipeline::new(grepo, attrs.detach())
                    .map_err(gix_err("set up the attribute filters"))?,
            );
        }
        Ok(self.pipeline.as_mut().expect("just set"))
    }
}

/// The mode git records for a regular file: with `core.symlinks=false` a checked-out symlink
/// stays a symlink, and with `core.fileMode=false` the executable bit comes from the index.
fn file_kind(
    file_mode: bool,
    symlinks: bool,
    prev_mode: Option<Mode>,
    executable: bool,
) -> EntryKind {
    if !symlinks && prev_mode == Some(Mode::SYMLINK) {
        EntryKind::Link
    } else if !file_mode {
        match prev_mode {
            Some(Mode::FILE_EXECUTABLE) => EntryKind::BlobExecutable,
            _ => EntryKind::Blob,
        }
    } else if executable {
        EntryKind::BlobExecutable
    } else {
        EntryKind::Blob
    }
}

/// A new file under a path that HEAD or the index has as a file replaces that file, as
/// `git add` does; otherwise the index would hold both and git would reject it.
fn add_displaced_files(
    base: &Base<'_>,
    index: &gix::index::State,
    changes: &mut Vec<Change>,
) -> Result<()> {
    let mut displaced: BTreeMap<BString, Candidate> = BTreeMap::new();
    for change in changes.iter().filter(|c| c.wanted.is_some()) {
        let path = &change.path;
        let mut prefix_end = 0;
        while let Some(pos) = path[prefix_end..].find_byte(b'/') {
            prefix_end += pos;
            let parent_path = &path[..prefix_end];
            prefix_end += 1;
            if displaced.contains_key(parent_path)
                || changes
                    .binary_search_by(|c| c.path.as_slice().cmp(parent_path))
                    .is_ok()
            {
                continue;
            }
            let mut cand = Candidate {
                index: index
                    .entry_index_by_path_and_stage(parent_path.as_bstr(), Stage::Unconflicted),
                head: None,
            };
            if let Some(e) = base
                .tree
                .lookup_entry(parent_path.split_str("/"))
                .map_err(gix_err(format_args!(
                    "read {} in HEAD",
                    parent_path.as_bstr()
                )))?
            {
                if !e.mode().is_tree() {
                    cand.head = Some((e.mode(), e.object_id()));
                }
            }
            if cand.index.is_some() || cand.head.is_some() {
                displaced.insert(parent_path.into(), cand);
            }
        }
    }
    changes.extend(displaced.into_iter().map(|(path, cand)| Change {
        path,
        cand,
        wanted: None,
    }));
    Ok(())
}

/// HEAD's tree, edited only where the worktree differs from it, so the commit holds nothing
/// outside the task paths. `None` when nothing differs: no empty commit is made.
fn build_tree(
    grepo: &gix::Repository,
    base: &Base<'_>,
    changes: &[Change],
) -> Result<Option<NewTree>> {
    let mut changed_paths: Vec<String> = Vec::new();
    let mut editor = grepo
        .edit_tree(base.tree_id)
        .map_err(gix_err("start editing the tree"))?;
    for c in changes {
        if c.wanted.is_none() && c.cand.head.is_some() {
            editor
                .remove(c.path.as_bstr())
                .map_err(gix_err(format_args!(
                    "remove {} from the tree",
                    c.path.as_bstr()
                )))?;
            changed_paths.push(c.path.to_str_lossy().into_owned());
        }
    }
    for c in changes {
        let Some(w) = &c.wanted else { continue };
        if c.cand.head == Some((w.kind.into(), w.id)) {
            continue;
        }
        editor
            .upsert(c.path.as_bstr(), w.kind, w.id)
            .map_err(gix_err(format_args!(
                "add {} to the tree",
                c.path.as_bstr()
            )))?;
        changed_paths.push(c.path.to_str_lossy().into_owned());
    }
    if changed_paths.is_empty() {
        return Ok(None);
    }
    changed_paths.sort();
    changed_paths.dedup();
    let id = editor
        .write()
        .map_err(gix_err("write the new tree"))?
        .detach();
    Ok(Some(NewTree { id, changed_paths }))
}

/// Entries git would smudge when it writes the index: racily clean ones whose content differs
/// (see `index_file::racily_clean_changed`). The committed paths are set afresh, so skipped.
fn find_racily_clean(repo: &Repo, index: &gix::index::State, changes: &[Change]) -> Vec<usize> {
    let mut skip: Vec<usize> = changes.iter().filter_map(|c| c.cand.index).collect();
    skip.sort_unstable();
    let mut blobs = Blobs::new(repo, index);
    index_file::racily_clean_changed(index, &repo.workdir, &skip, |abs, rela, mode| {
        blobs.content_id(abs, rela, mode)
    })
}

/// The user's index with only the committed paths changed: they take the new blobs (as
/// fresh entries, like `git add` makes them), every other entry stays byte-identical, and
/// the tree cache is invalidated along each touched path so git cannot reuse a stale tree.
fn prepare_index(index: &mut gix::index::File, changes: &[Change], racily_changed: &[usize]) {
    // Positions are those of the index as read, so this comes before any restructuring.
    for &i in racily_changed {
        index.entries_mut()[i].stat.size = 0;
    }
    let mut touched: Vec<&BStr> = Vec::new();
    let mut remove_at: Vec<usize> = Vec::new();
    let mut push: Vec<(&BStr, &Wanted)> = Vec::new();
    for c in changes {
        let path = c.path.as_bstr();
        match (&c.wanted, c.cand.index) {
            (Some(w), Some(i)) => {
                let mode = Mode::from(EntryMode::from(w.kind));
                let entry = &mut index.entries_mut()[i];
                if entry.id != w.id || entry.mode != mode {
                    touched.push(path);
                }
                entry.id = w.id;
                entry.mode = mode;
                entry.stat = w.stat;
                // A fresh entry, as `git add` makes it: no intent-to-add or other leftovers.
                entry.flags = Flags::empty();
            }
            (Some(w), None) => {
                touched.push(path);
                push.push((path, w));
            }
            (None, Some(i)) => {
                touched.push(path);
                remove_at.push(i);
            }
            (None, None) => {}
        }
    }
    // Edits and removals use positions, so they come before any push; pushes break the sort
    // order, restored once at the end.
    if !remove_at.is_empty() {
        remove_at.sort_unstable();
        index.remove_entries(|i, _, _| remove_at.binary_search(&i).is_ok());
    }
    for (path, w) in &push {
        index.dangerously_push_entry(
            w.stat,
            w.id,
            Flags::empty(),
            Mode::from(EntryMode::from(w.kind)),
            path,
        );
    }
    if !push.is_empty() {
        index.sort_entries();
    }
    if let Some(cache) = index.tree_mut() {
        for path in &touched {
            invalidate_tree_cache(cache, path);
        }
    }
}

/// The commit object on top of the parent read under the lock; unreachable until the ref
/// moves.
fn write_commit(
    repo: &Repo,
    message: &str,
    tree: ObjectId,
    parent: Option<ObjectId>,
) -> Result<ObjectId> {
    let grepo = &repo.repo;
    let author = grepo
        .author()
        .expect("checked before the lock")
        .map_err(gix_err("read the author identity"))?;
    let committer = grepo
        .committer()
        .expect("checked before the lock")
        .map_err(gix_err("read the committer identity"))?;
    let commit = gix::objs::Commit {
        message: message.into(),
        tree,
        author: author.into(),
        committer: committer.into(),
        encoding: None,
        parents: parent.into_iter().collect(),
        extra_headers: Default::default(),
    };
    Ok(grepo
        .write_object(&commit)
        .map_err(gix_err("write the commit object"))?
        .detach())
}

/// Locks the ref the commit goes to and checks it by compare-and-swap against what was read
/// under the index lock: the branch must still be at the parent (a concurrent commit fails
/// instead of being overwritten), and HEAD must still name that branch (a `git switch` in the
/// meantime fails instead of the commit landing on the other branch). Nothing has moved yet.
fn lock_ref<'s>(
    repo: &'s Repo,
    message: &str,
    base: &Base<'_>,
    commit_id: ObjectId,
) -> Result<gix::refs::file::Transaction<'s, 's>> {
    use gix::refs::transaction::{Change, LogChange, PreviousValue, RefEdit, RefLog};
    use gix::refs::Target;
    let subject = message.lines().next().unwrap_or_default();
    let reflog = if base.parent.is_some() {
        format!("commit: {subject}")
    } else {
        format!("commit (initial): {subject}")
    };
    let edit = RefEdit {
        change: Change::Update {
            log: LogChange {
                mode: RefLog::AndReference,
                force_create_reflog: false,
                message: reflog.into(),
            },
            expected: match base.parent {
                Some(p) => PreviousValue::MustExistAndMatch(Target::Object(p)),
                None => PreviousValue::MustNotExist,
            },
            new: Target::Object(commit_id),
        },
        name: "HEAD".try_into().expect("valid ref name"),
        // Detached, HEAD itself is the ref, so HEAD turning into a branch fails the CAS.
        deref: base.branch.is_some(),
    };
    let (file_lock, packed_lock) = ref_lock_timeouts(repo);
    let refs = repo
        .repo
        .refs
        .transaction()
        .prepare(Some(edit), file_lock, packed_lock)
        .map_err(|err| ref_update_error(repo, err))?;
    if let Some(branch) = &base.branch {
        check_head_still_names(repo, branch, commit_id)?;
    }
    Ok(refs)
}

/// With every lock of the edit held (HEAD's too), HEAD must name `branch` and `branch`'s lock
/// must hold our commit: gix resolves HEAD before it locks it, so a switch just then would
/// otherwise send the commit to the other branch.
fn check_head_still_names(
    repo: &Repo,
    branch: &gix::refs::FullName,
    commit_id: ObjectId,
) -> Result<()> {
    let head_path = repo.git_dir.join("HEAD");
    let head = std::fs::read_to_string(&head_path).map_err(|e| Error::io(&head_path, e))?;
    let now = head.trim_end().strip_prefix("ref: ").map(str::to_owned);
    let lock_path = to_path(branch.as_bstr())
        .map(|rel| repo.common_dir.join(format!("{}.lock", rel.display())))?;
    let ours = std::fs::read_to_string(&lock_path)
        .is_ok_and(|held| ObjectId::from_hex(held.trim_end().as_bytes()).ok() == Some(commit_id));
    if now.as_deref() == Some(branch.as_bstr().to_str_lossy().as_ref()) && ours {
        return Ok(());
    }
    let short = |name: &str| name.strip_prefix("refs/heads/").unwrap_or(name).to_owned();
    let was = short(&branch.as_bstr().to_str_lossy());
    let now = now
        .map(|n| short(&n))
        .unwrap_or_else(|| "a detached HEAD".into());
    Err(Error::conflict(format!(
        "HEAD was switched from {was} to {now} while orch was committing; nothing was committed"
    ))
    .with_hint(format!(
        "run the command again on the branch it should go to (`git switch {was}` first for {was})"
    )))
}

/// `core.filesRefLockTimeout` and `core.packedRefsTimeout`, read as git reads them.
fn ref_lock_timeouts(repo: &Repo) -> (gix::lock::acquire::Fail, gix::lock::acquire::Fail) {
    use gix::lock::acquire::Fail;
    let config = repo.repo.config_snapshot();
    let timeout = |key: &str, default_ms: u64| match config.integer(key) {
        Some(ms) if ms < 0 => {
            Fail::AfterDurationWithBackoff(std::time::Duration::from_secs(u64::MAX))
        }
        Some(0) => Fail::Immediately,
        Some(ms) => Fail::AfterDurationWithBackoff(std::time::Duration::from_millis(ms as u64)),
        None => Fail::AfterDurationWithBackoff(std::time::Duration::from_millis(default_ms)),
    };
    (
        timeout("core.filesRefLockTimeout", 100),
        timeout("core.packedRefsTimeout", 1000),
    )
}

/// Moves the locked ref, writing the reflogs of the branch and HEAD as git does
/// (`commit:` / `commit (initial):`). The point of no return of the transition.
fn commit_ref(repo: &Repo, refs: gix::refs::file::Transaction<'_, '_>) -> Result<()> {
    let committer = repo
        .repo
        .committer()
        .expect("checked before the lock")
        .map_err(gix_err("read the committer identity"))?;
    refs.commit(Some(committer))
        .map(drop)
        .map_err(|err| ref_update_error(repo, err))
}

/// Explains a failed ref update; every variant means nothing was committed.
fn ref_update_error(repo: &Repo, err: gix::Error) -> Error {
    if err.is_conflict() {
        let now = repo
            .head_id()
            .ok()
            .flatten()
            .map(|id| id.to_hex_with_len(7).to_string())
            .unwrap_or_else(|| "a new commit".to_owned());
        return Error::conflict(format!(
            "HEAD moved to {now} while orch was committing; nothing was committed"
        ))
        .with_hint("run the command again");
    }
    // A ref lock held by someone else is a concurrent update too, as for `index.lock`.
    if let Some(held) = ref_lock_held(repo) {
        return Error::conflict(format!(
            "{} exists, so another git process is updating {}; nothing was committed",
            held.display(),
            repo.head_name().unwrap_or_else(|_| "HEAD".into())
        ))
        .with_hint(format!(
            "run the command again once it is done; if no git process is running, remove {}",
            held.display()
        ));
    }
    gix_err(format_args!(
        "move {} to the new commit",
        repo.head_name().unwrap_or_else(|_| "HEAD".into())
    ))(err)
}

/// Renames the prepared index over the user's: the last step, so the index never names a
/// commit the ref does not hold.
fn publish_index(lock: gix::lock::File, commit_id: ObjectId, index_path: &Path) -> Result<()> {
    lock.commit().map_err(|e| {
        Error::runtime(format!(
            "committed {} but could not replace the index {}: {}",
            commit_id.to_hex_with_len(7),
            index_path.display(),
            e.error
        ))
        .with_hint("run `git reset` to make the index match HEAD again")
    })?;
    Ok(())
}

/// The lock file of HEAD or of the branch it points to, when one exists.
fn ref_lock_held(repo: &Repo) -> Option<PathBuf> {
    let lock = |p: PathBuf| {
        let mut s = p.into_os_string();
        s.push(".lock");
        PathBuf::from(s)
    };
    let mut candidates = vec![lock(repo.git_dir.join("HEAD"))];
    if let Ok(head) = repo.repo.head() {
        if let Some(name) = head.referent_name() {
            let rel = to_path(name.as_bstr()).ok()?;
            candidates.push(lock(repo.common_dir.join(rel)));
        }
    }
    candidates.into_iter().find(|p| p.exists())
}

pub(super) fn acquire_index_lock(index_path: &Path) -> Result<gix::lock::File> {
    gix::lock::File::acquire_to_update_resource(
        index_path,
        gix::lock::acquire::Fail::Immediately,
        None,
        0,
    )
    .map_err(|err| {
        let mut lock_path = index_path.as_os_str().to_owned();
        lock_path.push(".lock");
        let lock_path = PathBuf::from(lock_path);
        if lock_path.exists() || err.is_conflict() {
            Error::conflict(format!(
                "{} exists, so another git process is using the index",
                lock_path.display()
            ))
            .with_hint(format!(
                "another git process is running; if none is, remove {}",
                lock_path.display()
            ))
        } else {
            gix_err(format_args!("lock the index {}", index_path.display()))(err)
        }
    })
}

pub(super) fn write_index(
    index: &UserIndex,
    lock: &mut gix::lock::File,
    index_path: &Path,
    repo: &Repo,
) -> Result<()> {
    let skip_hash = repo.config_bool("index.skipHash").unwrap_or(false);
    // gix writes each entry in many small pieces; unbuffered this is ~40x slower.
    let out = std::io::BufWriter::with_capacity(64 * 1024, &mut *lock);
    index_file::write(index, out, skip_hash).map_err(|e| {
        Error::runtime(format!(
            "could not write the new index {}: {e}",
            index_path.display()
        ))
    })
}

/// git trusts a tree-cache node whose entry count is set; every directory above a changed
/// entry must be marked invalid or `git commit` would reuse the old tree and revert us.
fn invalidate_tree_cache(root: &mut gix::index::extension::Tree, path: &BStr) {
    root.num_entries = None;
    let mut node = root;
    for comp in path.split_str("/") {
        let Some(child) = node.children.iter_mut().find(|c| c.name.as_slice() == comp) else {
            break;
        };
        child.num_entries = None;
        node = child;
    }
}

fn blob_from_file(
    repo: &gix::Repository,
    pipeline: &mut gix::filter::Pipeline<'_>,
    index: &gix::index::State,
    abs: &Path,
    rela: &BStr,
) -> Result<ObjectId> {
    use gix::filter::plumbing::pipeline::convert::ToGitOutcome;
    let file = std::fs::File::open(abs).map_err(|e| Error::io(abs, e))?;
    let rela_path = to_path(rela)?;
    let what = || format!("store {}", abs.display());
    let id = match pipeline
        .convert_to_git(file, &rela_path, index)
        .map_err(|e| gix_err(what())(e))?
    {
        ToGitOutcome::Unchanged(mut f) => repo.write_blob_stream(&mut f),
        ToGitOutcome::Buffer(buf) => repo.write_blob(buf),
        ToGitOutcome::Process(mut r) => repo.write_blob_stream(&mut r),
    }
    .map_err(|e| gix_err(what())(e))?;
    Ok(id.detach())
}

fn collect_head(
    repo: &gix::Repository,
    head_tree: &gix::Tree<'_>,
    spec: &str,
    out: &mut BTreeMap<BString, Candidate>,
) -> Result<()> {
    let entry = head_tree
        .lookup_entry(spec.split('/'))
        .map_err(gix_err(format_args!("read {spec} in HEAD")))?;
    let Some(entry) = entry else { return Ok(()) };
    if !entry.mode().is_tree() {
        out.entry(spec.into()).or_default().head = Some((entry.mode(), entry.object_id()));
        return Ok(());
    }
    let sub = repo
        .find_tree(entry.object_id())
        .map_err(gix_err(format_args!("read the tree of {spec} in HEAD")))?;
    let files = sub
        .traverse()
        .breadthfirst
        .files()
        .map_err(gix_err(format_args!("list {spec} in HEAD")))?;
    for f in files {
        if f.mode.is_tree() {
            continue;
        }
        let mut path = BString::from(spec);
        path.push_byte(b'/');
        path.push_str(&f.filepath);
        out.entry(path).or_default().head = Some((f.mode, f.oid));
    }
    Ok(())
}

fn collect_index(index: &gix::index::State, spec: &str, out: &mut BTreeMap<BString, Candidate>) {
    if let Some(i) = index.entry_index_by_path_and_stage(spec.into(), Stage::Unconflicted) {
        out.entry(spec.into()).or_default().index = Some(i);
    }
    let prefix = format!("{spec}/");
    if let Some(range) = index.prefixed_entries_range(prefix.as_str().into()) {
        for i in range {
            let e = &index.entries()[i];
            if e.stage() != Stage::Unconflicted {
                continue;
            }
            out.entry(e.path(index).to_owned()).or_default().index = Some(i);
        }
    }
}

struct Walker<'a> {
    repo: &'a gix::Repository,
    index: &'a gix::index::State,
    excludes: Option<gix::AttributeStack<'a>>,
}

impl Walker<'_> {
    fn is_excluded(&mut self, rela: &str, is_dir: bool) -> Result<bool> {
        if self.excludes.is_none() {
            self.excludes = Some(
                self.repo
                    .excludes(
                        self.index,
                        None,
                        gix::worktree::stack::state::ignore::Source::WorktreeThenIdMappingIfNotSkipped,
                    )
                    .map_err(gix_err("read .gitignore files"))?,
            );
        }
        let stack = self.excludes.as_mut().expect("just set");
        let mode = is_dir.then_some(Mode::DIR);
        let platform = stack
            .at_entry(rela, mode)
            .map_err(gix_err(format_args!("check whether {rela} is ignored")))?;
        Ok(platform.is_excluded())
    }

    /// Finds the files git would add for `spec`; untracked ignored ones are left out, and an
    /// ignored directory is not entered, like `git add -A`.
    fn collect_worktree(
        &mut self,
        workdir: &Path,
        spec: &str,
        out: &mut BTreeMap<BString, Candidate>,
    ) -> Result<()> {
        let abs = workdir.join(spec);
        let md = match std::fs::symlink_metadata(&abs) {
            Ok(md) => md,
            Err(e) if is_gone(&e) => return Ok(()),
            Err(e) => return Err(Error::io(&abs, e)),
        };
        refuse_symlinked_parent(workdir, spec)?;
        let ft = md.file_type();
        if ft.is_dir() {
            if abs.join(".git").exists() {
                return Ok(());
            }
            // Untracked files inside an ignored directory are never added.
            for prefix in prefixes(spec) {
                if self.is_excluded(prefix, true)? {
                    return Ok(());
                }
            }
            self.walk_dir(&abs, spec, out)
        } else if ft.is_file() || ft.is_symlink() {
            if !out.contains_key(spec.as_bytes().as_bstr()) && !self.file_is_excluded(spec)? {
                out.entry(spec.into()).or_default();
            }
            Ok(())
        } else {
            Ok(())
        }
    }

    /// An untracked file is ignored when it or any directory above it is.
    fn file_is_excluded(&mut self, spec: &str) -> Result<bool> {
        for prefix in prefixes(spec) {
            if self.is_excluded(prefix, prefix.len() != spec.len())? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn walk_dir(
        &mut self,
        abs: &Path,
        rela: &str,
        out: &mut BTreeMap<BString, Candidate>,
    ) -> Result<()> {
        let rd = std::fs::read_dir(abs).map_err(|e| Error::io(abs, e))?;
        for entry in rd {
            let entry = entry.map_err(|e| Error::io(abs, e))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else {
                return Err(Error::runtime(format!(
                    "{} has a name that is not valid UTF-8, which orch cannot commit",
                    entry.path().display()
                )));
            };
            if name == ".git" {
                continue;
            }
            let child = format!("{rela}/{name}");
            let ft = entry.file_type().map_err(|e| Error::io(&entry.path(), e))?;
            if ft.is_dir() {
                let path = entry.path();
                if path.join(".git").exists() {
                    // A nested repository; git would record it as a submodule, orch does not.
                    continue;
                }
                if self.is_excluded(&child, true)? {
                    continue;
                }
                self.walk_dir(&path, &child, out)?;
            } else if ft.is_file() || ft.is_symlink() {
                if out.contains_key(child.as_bytes().as_bstr()) {
                    continue;
                }
                if self.is_excluded(&child, false)? {
                    continue;
                }
                out.entry(child.into()).or_default();
            }
        }
        Ok(())
    }
}

/// `a`, `a/b`, `a/b/c` for `a/b/c`.
fn prefixes(spec: &str) -> impl Iterator<Item = &str> {
    spec.match_indices('/')
        .map(|(i, _)| &spec[..i])
        .chain(std::iter::once(spec))
}

/// git does not look through symlinked directories, and neither do we: a path whose parent
/// is a symlink is not inside the worktree as far as git is concerned.
fn refuse_symlinked_parent(workdir: &Path, spec: &str) -> Result<()> {
    for prefix in prefixes(spec).filter(|p| p.len() != spec.len()) {
        let is_link = std::fs::symlink_metadata(workdir.join(prefix))
            .map(|m| m.file_type().is_symlink())
            .unwrap_or(false);
        if is_link {
            return Err(Error::usage(format!(
                "{spec} is beyond a symbolic link ({prefix}); git cannot track it"
            )));
        }
    }
    Ok(())
}

/// Like git's `has_symlink_leading_path`: the OS would follow a symlinked parent directory,
/// but git records the symlink itself and nothing below it.
fn parents_are_real_dirs(workdir: &Path, path: &BStr, cache: &mut HashMap<BString, bool>) -> bool {
    let mut end = 0;
    while let Some(pos) = path[end..].find_byte(b'/') {
        end += pos;
        let dir = &path[..end];
        end += 1;
        let real = match cache.get(dir) {
            Some(real) => *real,
            None => {
                let real = to_path(dir.as_bstr())
                    .ok()
                    .and_then(|rel| std::fs::symlink_metadata(workdir.join(rel)).ok())
                    .is_some_and(|md| md.file_type().is_dir());
                cache.insert(dir.into(), real);
                real
            }
        };
        if !real {
            return false;
        }
    }
    true
}

fn to_path(p: &BStr) -> Result<std::borrow::Cow<'_, Path>> {
    gix::path::from_bstr(p)
        .map_err(|e| Error::runtime(format!("the path {p} cannot be used on this system: {e}")))
}

fn is_gone(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
    ) || e.raw_os_error() == Some(20)
}

/// Paths come from orch itself, but a slip like `../x` or `.git/...` must never reach the tree.
fn normalize_spec(p: &str) -> Result<String> {
    let trimmed = p.trim_end_matches('/');
    let bad = || {
        Error::usage(format!(
            "cannot commit path {p:?}: it must be a repository-relative path like \"dir/file\""
        ))
    };
    if trimmed.is_empty() || trimmed.starts_with('/') || trimmed.contains('\\') {
        return Err(bad());
    }
    for comp in trimmed.split('/') {
        if comp.is_empty() || comp == "." || comp == ".." || comp.eq_ignore_ascii_case(".git") {
            return Err(bad());
        }
    }
    Ok(trimmed.to_owned())
}

/// git's default cleanup leaves a message without trailing blank lines and with one final
/// newline; tools reading trailers rely on that.
fn clean_message(message: &str) -> Result<String> {
    let mut out = String::with_capacity(message.len() + 1);
    let mut blank_pending = false;
    for line in message.lines().map(str::trim_end) {
        if line.is_empty() {
            blank_pending = !out.is_empty();
            continue;
        }
        if blank_pending {
            out.push('\n');
            blank_pending = false;
        }
        out.push_str(line);
        out.push('\n');
    }
    if out.is_empty() {
        return Err(Error::usage("the commit message is empty"));
    }
    Ok(out)
}
