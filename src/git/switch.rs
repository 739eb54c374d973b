//! Creating a branch and switching to it in-process, as `git switch [-c] NAME` does: a branch
//! that does not exist is made at HEAD (nothing in the worktree changes); an existing branch
//! at another commit is checked out by a two-tree merge of HEAD's tree into its tree, with
//! git's refusal rules — a path the switch would change must have no staged or unstaged
//! change, and a path it would create must not hold an untracked file — checked for every
//! path before anything is written. Local changes to paths the branches agree on are carried
//! over, as git carries them.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use gix::bstr::{BStr, BString, ByteSlice};
use gix::index::entry::{Flags, Mode, Stat};
use gix::ObjectId;

use super::commit::Blobs;
use super::history::{self, Node};
use super::index_file;
use super::repo::{gix_err, Repo};
use crate::error::{Error, Result};

/// What a switch did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Switched {
    /// The branch now checked out (short name).
    pub branch: String,
    /// The branch (or `detached HEAD`) it was on before.
    pub from: String,
    /// Whether the branch was created.
    pub created: bool,
    /// Files written or removed in the worktree.
    pub files_changed: usize,
}

/// `refs/heads/<name>`, refused unless git would accept it as a branch name
/// (`git check-ref-format --branch`).
pub fn branch_ref(name: &str) -> Result<gix::refs::FullName> {
    let bad = |why: String| {
        Error::usage(format!("{name:?} is not a valid branch name: {why}")).with_hint(
            "use letters, digits and - _ . /, without `..`, `@{`, spaces, or a leading `-` or `.`",
        )
    };
    if name.is_empty() || name.starts_with('-') || name == "HEAD" {
        return Err(bad("git refuses it as a branch".into()));
    }
    gix::refs::FullName::try_from(format!("refs/heads/{name}")).map_err(|e| bad(e.to_string()))
}

/// The commit branch `name` points to, `None` when there is no such branch.
pub fn tip(repo: &Repo, name: &str) -> Result<Option<ObjectId>> {
    let full = branch_ref(name)?;
    repo.repo
        .try_find_reference(full.as_ref())
        .map_err(|e| Error::runtime(format!("cannot read {}: {e}", full.as_bstr())))?
        .map(|mut r| r.peel_to_id().map(|id| id.detach()))
        .transpose()
        .map_err(|e| Error::runtime(format!("cannot resolve {}: {e}", full.as_bstr())))
}

/// Whether the tree of commit `id` has a blob at `path`.
pub fn has_file(repo: &Repo, id: ObjectId, path: &str) -> Result<bool> {
    let tree = history::commit_tree_parents(&repo.repo, id)?.0;
    Ok(history::entry_at(&repo.repo, tree, path)?.is_some_and(|n| n.mode.is_blob()))
}

/// One path the switch changes: its entry in HEAD's tree and in the target's.
struct Change {
    path: BString,
    old: Option<Node>,
    new: Option<Node>,
}

/// Switches to branch `name`, creating it at HEAD when it does not exist.
pub fn switch(repo: &Repo, name: &str) -> Result<Switched> {
    let full = branch_ref(name)?;
    let from = repo.head_name()?;
    let current = repo.repo.head_name().map_err(gix_err("read HEAD"))?;
    if current.as_ref() == Some(&full) {
        return Ok(Switched {
            branch: name.into(),
            from,
            created: false,
            files_changed: 0,
        });
    }
    let head = repo.head_id()?;
    let target = tip(repo, name)?;
    let created = target.is_none();
    let files_changed = match target {
        Some(t) if Some(t) != head => checkout(repo, head, t, name)?,
        _ => 0,
    };
    move_head(repo, &full, created.then_some(head).flatten(), &from, name)?;
    Ok(Switched {
        branch: name.into(),
        from,
        created,
        files_changed,
    })
}

/// Points HEAD at `full`, creating the branch at `create_at` first when given. Each edit is
/// a compare-and-swap: a branch made meanwhile is not overwritten.
fn move_head(
    repo: &Repo,
    full: &gix::refs::FullName,
    create_at: Option<ObjectId>,
    from: &str,
    name: &str,
) -> Result<()> {
    use gix::refs::transaction::{Change, LogChange, PreviousValue, RefEdit, RefLog};
    use gix::refs::Target;
    let log = |message: String| LogChange {
        mode: RefLog::AndReference,
        force_create_reflog: false,
        message: message.into(),
    };
    let mut edits = vec![];
    if let Some(at) = create_at {
        edits.push(RefEdit {
            change: Change::Update {
                log: log(format!("branch: Created from {from}")),
                expected: PreviousValue::MustNotExist,
                new: Target::Object(at),
            },
            name: full.clone(),
            deref: false,
        });
    }
    edits.push(RefEdit {
        change: Change::Update {
            log: log(format!("checkout: moving from {from} to {name}")),
            expected: PreviousValue::Any,
            new: Target::Symbolic(full.clone()),
        },
        name: "HEAD".try_into().expect("valid ref name"),
        deref: false,
    });
    let old_head = repo.head_id()?;
    repo.repo.edit_references(edits).map(drop).map_err(|e| {
        if e.is_conflict() {
            Error::conflict(format!(
                "branch {name} was created by someone else meanwhile; nothing was switched"
            ))
            .with_hint("run the command again")
        } else {
            gix_err(format_args!("switch HEAD to {name}"))(e)
        }
    })?;
    head_reflog(
        repo,
        old_head,
        &format!("checkout: moving from {from} to {name}"),
    );
    Ok(())
}

/// Appends the line git writes to HEAD's reflog on a switch (gix logs only moves of a ref's
/// commit, not of HEAD's target), which `git switch -` and `@{-1}` read. A reflog that
/// cannot be written costs only that.
fn head_reflog(repo: &Repo, old: Option<ObjectId>, message: &str) {
    use std::io::Write;
    let Ok(Some(new)) = repo.head_id() else {
        return;
    };
    let Some(Ok(who)) = repo.repo.committer() else {
        return;
    };
    let mut sig = Vec::new();
    if who.write_to(&mut sig).is_err() {
        return;
    }
    let null = repo.repo.object_hash().null();
    let line = format!(
        "{} {} {}\t{message}\n",
        old.unwrap_or(null),
        new,
        sig.to_str_lossy()
    );
    let path = repo.git_dir.join("logs").join("HEAD");
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(&path)
    {
        let _ = f.write_all(line.as_bytes());
    }
}

/// Brings the index and worktree from HEAD's tree `head` to the tree of `target`, under the
/// index lock, after checking that nothing local would be lost. Returns the files written or
/// removed.
fn checkout(repo: &Repo, head: Option<ObjectId>, target: ObjectId, name: &str) -> Result<usize> {
    let grepo = &repo.repo;
    let old_tree = head
        .map(|h| history::commit_tree_parents(grepo, h).map(|t| t.0))
        .transpose()?;
    let new_tree = history::commit_tree_parents(grepo, target)?.0;
    let mut changes = vec![];
    changed_paths(grepo, old_tree, Some(new_tree), "", &mut changes)?;
    let index_path = grepo.index_path();
    let mut lock = super::commit::acquire_index_lock(&index_path)?;
    let mut user = index_file::read(&index_path, grepo.object_hash())?;
    refuse_clobbering(repo, &user.file, &changes, name)?;
    let n = apply(repo, &mut user.file, &changes)?;
    super::commit::write_index(&user, &mut lock, &index_path, repo)?;
    lock.commit().map_err(|e| {
        Error::runtime(format!(
            "could not write the index {}: {}",
            index_path.display(),
            e.error
        ))
        .with_hint(format!("run `git switch {name}` to finish the switch"))
    })?;
    Ok(n)
}

/// Every path (blobs, symlinks, submodules) whose entry differs between the trees `a` and
/// `b`, below `prefix`, in path order.
fn changed_paths(
    repo: &gix::Repository,
    a: Option<ObjectId>,
    b: Option<ObjectId>,
    prefix: &str,
    out: &mut Vec<Change>,
) -> Result<()> {
    for (name, old, new) in history::diff_names(repo, a, b)? {
        let path = format!("{prefix}{name}");
        let sub = |n: Option<Node>| n.filter(|n| n.mode.is_tree()).map(|n| n.id);
        let leaf = |n: Option<Node>| n.filter(|n| !n.mode.is_tree());
        if sub(old).is_some() || sub(new).is_some() {
            changed_paths(repo, sub(old), sub(new), &format!("{path}/"), out)?;
        }
        if leaf(old).is_some() || leaf(new).is_some() {
            out.push(Change {
                path: path.into(),
                old: leaf(old),
                new: leaf(new),
            });
        }
    }
    Ok(())
}

/// git's refusals, for every path at once: a local change (staged or not) to a path the
/// switch changes, an unmerged path, a submodule, and an untracked file or folder where the
/// target puts something.
fn refuse_clobbering(
    repo: &Repo,
    index: &gix::index::State,
    changes: &[Change],
    name: &str,
) -> Result<()> {
    let mut blobs = Blobs::new(repo, index);
    let mut local = vec![];
    let mut untracked = vec![];
    let leaving: HashSet<&BStr> = changes
        .iter()
        .filter(|c| c.old.is_some())
        .map(|c| c.path.as_bstr())
        .collect();
    for c in changes {
        let is_submodule = |n: Option<Node>| n.is_some_and(|n| n.mode.is_commit());
        if is_submodule(c.old) || is_submodule(c.new) {
            return Err(Error::state(format!(
                "switching to {name} changes the submodule {}, which orch does not check out",
                c.path
            ))
            .with_hint(format!(
                "switch with `git switch {name}`, then run the command again"
            )));
        }
        let entries: &[gix::index::Entry] = index
            .entry_range(c.path.as_bstr())
            .map_or(&[], |r| &index.entries()[r]);
        if entries.iter().any(|e| e.stage_raw() != 0) {
            local.push(c.path.to_string());
            continue;
        }
        match entries.first() {
            Some(e) => {
                let staged_ok = Some((e.id, e.mode)) == c.old.map(|n| (n.id, mode_of(n)))
                    || Some((e.id, e.mode)) == c.new.map(|n| (n.id, mode_of(n)));
                if !staged_ok || worktree_differs(repo, index, e, &mut blobs)? {
                    local.push(c.path.to_string());
                }
            }
            None if c.old.is_some() => {
                // Staged for deletion: the target would bring it back or change it.
                let abs = abs_of(&repo.workdir, c.path.as_bstr())?;
                if c.new.is_some() || abs.symlink_metadata().is_ok() {
                    local.push(c.path.to_string());
                }
            }
            None => {
                if in_the_way(&repo.workdir, c.path.as_bstr(), &leaving) {
                    untracked.push(c.path.to_string());
                }
            }
        }
    }
    if !local.is_empty() {
        return Err(Error::state(format!(
            "your local changes to these files would be overwritten by switching to {name}: {}",
            local.join(", ")
        ))
        .with_hint("commit them or stash them (`git stash`) first, then run the command again"));
    }
    if !untracked.is_empty() {
        return Err(Error::state(format!(
            "these untracked files would be overwritten by switching to {name}: {}",
            untracked.join(", ")
        ))
        .with_hint("move or remove them first, then run the command again"));
    }
    Ok(())
}

/// The worktree path of the repository-relative `rela`.
fn abs_of(workdir: &Path, rela: &BStr) -> Result<PathBuf> {
    gix::path::from_bstr(rela)
        .map(|p| workdir.join(p))
        .map_err(|e| Error::runtime(format!("the path {rela} cannot be a file name here: {e}")))
}

fn mode_of(n: Node) -> Mode {
    use gix::objs::tree::EntryKind;
    match n.mode.kind() {
        EntryKind::BlobExecutable => Mode::FILE_EXECUTABLE,
        EntryKind::Link => Mode::SYMLINK,
        EntryKind::Commit => Mode::COMMIT,
        _ => Mode::FILE,
    }
}

/// Whether the worktree file differs from its index entry: by stat data when the entry is
/// not racy, else by content. A missing file is no local change git would keep (it stays
/// deleted or is written afresh).
fn worktree_differs(
    repo: &Repo,
    index: &gix::index::State,
    e: &gix::index::Entry,
    blobs: &mut Blobs<'_>,
) -> Result<bool> {
    let rela = e.path(index);
    let abs = abs_of(&repo.workdir, rela)?;
    let md = match gix::index::fs::Metadata::from_path_no_follow(&abs) {
        Ok(md) => md,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(err) => return Err(Error::io(&abs, err)),
    };
    if md.is_dir() {
        return Ok(true);
    }
    let kind_differs = (e.mode == Mode::SYMLINK) != md.is_symlink()
        || (e.mode == Mode::FILE_EXECUTABLE) != (md.is_file() && md.is_executable());
    if kind_differs && repo.config_bool("core.fileMode").unwrap_or(true) {
        return Ok(true);
    }
    if let Ok(st) = Stat::from_fs(&md) {
        let opts = Default::default();
        if e.stat.matches(&st, opts) && !e.stat.is_racy(index.timestamp(), opts) {
            return Ok(false);
        }
    }
    Ok(blobs.content_id(&abs, rela, e.mode) != Some(e.id))
}

/// Whether something not tracked occupies `path` or one of its parent folders, so that
/// writing `path` would destroy it. Tracked paths the switch removes are not in the way.
fn in_the_way(workdir: &Path, path: &BStr, leaving: &HashSet<&BStr>) -> bool {
    let mut at = 0;
    while let Some(i) = path[at..].find_byte(b'/') {
        let parent = path[..at + i].as_bstr();
        let Ok(abs) = abs_of(workdir, parent) else {
            return true;
        };
        if abs.symlink_metadata().is_ok_and(|md| !md.is_dir()) && !leaving.contains(parent) {
            return true;
        }
        at += i + 1;
    }
    let Ok(abs) = abs_of(workdir, path) else {
        return true;
    };
    match abs.symlink_metadata() {
        Err(_) => false,
        // A folder is in the way unless everything in it is tracked and leaves.
        Ok(md) if md.is_dir() => walkdir::WalkDir::new(&abs)
            .into_iter()
            .filter_map(|e| e.ok())
            .filter(|e| !e.file_type().is_dir())
            .any(|e| {
                let rel = e.path().strip_prefix(workdir).ok();
                match rel.and_then(|r| gix::path::into_bstr(r).ok()) {
                    Some(r) => !leaving.contains(r.as_ref()),
                    None => true,
                }
            }),
        // Neither in HEAD nor in the index: untracked.
        Ok(_) => true,
    }
}

/// Removes what leaves, then writes what arrives (each file through the attribute filters,
/// as `git checkout` writes it) and records it in the index with its new stat data.
fn apply(repo: &Repo, index: &mut gix::index::File, changes: &[Change]) -> Result<usize> {
    let workdir = &repo.workdir;
    // Racily clean entries the switch keeps must be smudged, or git would trust their stat
    // data once the newer index is written (see `index_file::racily_clean_changed`).
    let racy = {
        let state: &gix::index::State = index;
        let mut blobs = Blobs::new(repo, state);
        index_file::racily_clean_changed(state, workdir, &[], |abs, rela, mode| {
            blobs.content_id(abs, rela, mode)
        })
    };
    for i in racy {
        index.entries_mut()[i].stat.size = 0;
    }
    let mut n = 0;
    // Deepest first, so that a folder empties before it is removed.
    for c in changes
        .iter()
        .rev()
        .filter(|c| c.old.is_some() && c.new.is_none())
    {
        let abs = abs_of(workdir, c.path.as_bstr())?;
        match std::fs::remove_file(&abs) {
            Ok(()) => n += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(&abs, e)),
        }
        remove_empty_parents(workdir, &abs);
    }
    let gone: HashSet<&BStr> = changes.iter().map(|c| c.path.as_bstr()).collect();
    index.remove_entries(|_, path, _| gone.contains(path));
    let arriving: Vec<(&Change, Node)> = changes
        .iter()
        .filter_map(|c| c.new.map(|n| (c, n)))
        .collect();
    for (c, node) in &arriving {
        index.dangerously_push_entry(
            Stat::default(),
            node.id,
            Flags::empty(),
            mode_of(*node),
            c.path.as_bstr(),
        );
    }
    index.sort_entries();
    // The attributes that decide line endings are the target's, now in the index.
    let attrs = repo
        .repo
        .attributes_only(
            index,
            gix::worktree::stack::state::attributes::Source::IdMappingThenWorktree,
        )
        .map_err(gix_err("read .gitattributes"))?;
    let mut pipeline = gix::filter::Pipeline::new(&repo.repo, attrs.detach())
        .map_err(gix_err("set up the attribute filters"))?;
    let mut stats: Vec<(BString, Stat)> = vec![];
    for (c, node) in &arriving {
        let abs = abs_of(workdir, c.path.as_bstr())?;
        write_entry(repo, &mut pipeline, c.path.as_bstr(), *node, &abs)?;
        n += 1;
        let md =
            gix::index::fs::Metadata::from_path_no_follow(&abs).map_err(|e| Error::io(&abs, e))?;
        let st = Stat::from_fs(&md).map_err(|e| {
            Error::runtime(format!(
                "cannot read the timestamps of {}: {e}",
                abs.display()
            ))
        })?;
        stats.push((c.path.clone(), st));
    }
    for (path, st) in stats {
        if let Some(e) = index
            .entry_mut_by_path_and_stage(path.as_bstr(), gix::index::entry::Stage::Unconflicted)
        {
            e.stat = st;
        }
    }
    // The cached trees describe HEAD's; git rebuilds them on the next write-tree.
    index.remove_tree();
    Ok(n)
}

/// Writes one blob of the target where `abs` is: a symlink, or a file through the smudge
/// filters with the executable bit the tree records.
fn write_entry(
    repo: &Repo,
    pipeline: &mut gix::filter::Pipeline<'_>,
    rela: &BStr,
    node: Node,
    abs: &PathBuf,
) -> Result<()> {
    use gix::filter::plumbing::driver::apply::MaybeDelayed;
    use gix::filter::plumbing::pipeline::convert::ToWorktreeOutcome;
    use std::io::Read;
    let data = history::blob(&repo.repo, node.id)?;
    if let Some(parent) = abs.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    if abs.symlink_metadata().is_ok_and(|m| m.is_dir()) {
        std::fs::remove_dir_all(abs).map_err(|e| Error::io(abs, e))?;
    }
    if mode_of(node) == Mode::SYMLINK && repo.config_bool("core.symlinks").unwrap_or(true) {
        let target = gix::path::from_bstr(data.as_bstr())
            .map_err(|e| Error::runtime(format!("the symlink {rela} has no usable target: {e}")))?
            .into_owned();
        let _ = std::fs::remove_file(abs);
        return std::os::unix::fs::symlink(&target, abs).map_err(|e| Error::io(abs, e));
    }
    let mut out = Vec::new();
    let outcome = pipeline
        .convert_to_worktree(&data, rela, Default::default())
        .map_err(gix_err(format_args!(
            "apply the attribute filters to {rela}"
        )))?;
    match outcome {
        ToWorktreeOutcome::Unchanged(b) => out.extend_from_slice(b),
        ToWorktreeOutcome::Buffer(b) => out.extend_from_slice(b),
        ToWorktreeOutcome::Process(MaybeDelayed::Immediate(mut r)) => {
            r.read_to_end(&mut out).map_err(|e| Error::io(abs, e))?;
        }
        ToWorktreeOutcome::Process(MaybeDelayed::Delayed(_)) => {
            return Err(Error::runtime(format!(
                "the filter for {rela} delayed its output"
            )));
        }
    }
    let _ = std::fs::remove_file(abs);
    std::fs::write(abs, &out).map_err(|e| Error::io(abs, e))?;
    if mode_of(node) == Mode::FILE_EXECUTABLE {
        use std::os::unix::fs::PermissionsExt;
        let mut perm = std::fs::metadata(abs)
            .map_err(|e| Error::io(abs, e))?
            .permissions();
        perm.set_mode(perm.mode() | ((perm.mode() & 0o444) >> 2));
        std::fs::set_permissions(abs, perm).map_err(|e| Error::io(abs, e))?;
    }
    Ok(())
}

/// Removes the folders above `abs` that the removal left empty, up to the worktree root.
fn remove_empty_parents(workdir: &Path, abs: &Path) {
    let mut dir = abs.parent();
    while let Some(d) = dir {
        if d == workdir || std::fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
}
