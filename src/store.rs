//! Writing the task folder: every file atomically (temp file + rename), and every transition
//! as a journalled change that is kept whole or put back, even after a crash. This layer knows
//! files only: the operation commits between writing and finishing the change, and recovery
//! asks its caller whether an interrupted commit landed.
//!
//! Where things live, under the local folder (`<git dir>/orchestration/`): `pending/` holds
//! one journal per transition in progress (`txn-PID.json`, and `txn-PID.commit` once its
//! commit object exists), `tmp/` the temporary files of atomic writes. Nothing temporary is
//! ever written in the working tree, where `git add -A` could pick it up.

use crate::fault::{fault_point, points};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` through a temporary file in the same folder, so a reader (or a
/// crash) sees the old file or the new one, never half of it. For files of the local folder;
/// working-tree files go through [`Txn`].
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.orch-tmp-{}", std::process::id()));
    write_then_rename(&tmp, path, bytes).map_err(|e| Error::io(path, e))
}

fn write_then_rename(tmp: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let result = (|| {
        let mut f = std::fs::File::create(tmp)?;
        f.write_all(bytes)?;
        f.sync_data()?;
        std::fs::rename(tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(tmp);
    }
    result
}

/// Writes a working-tree file atomically with its temporary file in `tmp_dir` (in the git
/// dir). Only when the two are on different file systems, where a rename cannot cross, does
/// the temporary file go beside the target; orch then holds `index.lock`, so no git command
/// can stage it.
fn write_via(tmp_dir: &Path, path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    std::fs::create_dir_all(tmp_dir).map_err(|e| Error::io(tmp_dir, e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = tmp_dir.join(format!(".{name}.orch-tmp-{}", std::process::id()));
    match write_then_rename(&tmp, path, bytes) {
        Err(e) if e.raw_os_error() == Some(libc::EXDEV) => write_atomic(path, bytes),
        r => r.map_err(|e| Error::io(path, e)),
    }
}

/// The journal format; `v` tells journals of this format from older ones, which recorded
/// only HEAD before.
const JOURNAL_VERSION: u32 = 2;

/// What a transition will change, recorded before it changes anything: all a rollback needs.
#[derive(Serialize, Deserialize)]
struct Journal {
    #[serde(default)]
    v: u32,
    head_before: Option<String>,
    /// Whether the transition commits; without a commit it is rolled back when interrupted.
    #[serde(default)]
    committing: bool,
    /// Folders the transition creates, deepest first: a rollback removes them again.
    #[serde(default)]
    dirs: Vec<PathBuf>,
    files: Vec<Saved>,
}

#[derive(Serialize, Deserialize)]
struct Saved {
    path: PathBuf,
    /// The old content; `None` if the file did not exist.
    old: Option<String>,
}

/// A file to write: absolute path and new content.
pub struct FileWrite {
    pub path: PathBuf,
    pub bytes: Vec<u8>,
}

/// The journals' folder under the local folder.
pub fn journal_dir(local_dir: &Path) -> PathBuf {
    local_dir.join("pending")
}

fn tmp_dir(local_dir: &Path) -> PathBuf {
    local_dir.join("tmp")
}

/// A transition in progress: its journal is on disk before any of its files is written, so a
/// crash at any point is finished or undone by [`recover`].
pub struct Txn {
    journal: PathBuf,
    commit_file: PathBuf,
    tmp_dir: PathBuf,
    files: Vec<Saved>,
    dirs: Vec<PathBuf>,
    commit: std::cell::RefCell<Option<String>>,
}

impl Txn {
    /// Records in the journal the current content of every file `writes` will replace and
    /// `removals` will remove, the folders the writes will create, `head_before` and whether the transition commits. Writes
    /// nothing else. The caller holds the project lock.
    pub fn begin(
        local_dir: &Path,
        head_before: Option<String>,
        committing: bool,
        writes: &[FileWrite],
        removals: &[PathBuf],
    ) -> Result<Txn> {
        let mut saved = Vec::new();
        let mut dirs: Vec<PathBuf> = Vec::new();
        for path in writes.iter().map(|w| &w.path).chain(removals) {
            let old = match std::fs::read(path) {
                Ok(b) => Some(String::from_utf8(b).map_err(|_| {
                    Error::runtime(format!("{} is not UTF-8 text", path.display()))
                })?),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => return Err(Error::io(path, e)),
            };
            saved.push(Saved {
                path: path.clone(),
                old,
            });
            for dir in path.ancestors().skip(1) {
                if dir.exists() || dirs.iter().any(|d| d == dir) {
                    break;
                }
                dirs.push(dir.to_path_buf());
            }
        }
        // Deepest first, so that removing them in order empties each parent before it.
        dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
        let jdir = journal_dir(local_dir);
        std::fs::create_dir_all(&jdir).map_err(|e| Error::io(&jdir, e))?;
        let pid = std::process::id();
        let path = jdir.join(format!("txn-{pid}.json"));
        let commit_file = jdir.join(format!("txn-{pid}.commit"));
        // A commit id left by an earlier process of the same pid must not be read as ours.
        let _ = std::fs::remove_file(&commit_file);
        let journal = Journal {
            v: JOURNAL_VERSION,
            head_before,
            committing,
            dirs,
            files: saved,
        };
        let text = serde_json::to_string(&journal).expect("journal serialises");
        write_atomic(&path, text.as_bytes())?;
        Ok(Txn {
            journal: path,
            commit_file,
            tmp_dir: tmp_dir(local_dir),
            files: journal.files,
            dirs: journal.dirs,
            commit: std::cell::RefCell::new(None),
        })
    }

    /// Writes the new files, each atomically.
    pub fn write(&self, writes: &[FileWrite]) -> Result<()> {
        for w in writes {
            write_via(&self.tmp_dir, &w.path, &w.bytes)?;
        }
        Ok(())
    }

    /// Removes the files `removals` journalled by [`Txn::begin`].
    pub fn remove(&self, removals: &[PathBuf]) -> Result<()> {
        for path in removals {
            match std::fs::remove_file(path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(Error::io(path, e))
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Records the id of the transition's commit object, before the ref moves: recovery
    /// takes the transition as landed only when HEAD is this very commit.
    pub fn record_commit(&self, id: &str) -> Result<()> {
        write_atomic(&self.commit_file, format!("{id}\n").as_bytes())?;
        *self.commit.borrow_mut() = Some(id.to_owned());
        Ok(())
    }

    /// The commit recorded by [`Txn::record_commit`].
    pub fn recorded_commit(&self) -> Option<String> {
        self.commit.borrow().clone()
    }

    /// Ends the transition: its files stay when it `landed`, otherwise every journalled file
    /// is put back as it was. The journal goes only once that succeeded; if putting the files
    /// back fails (a full disk), it stays for the next command to finish the rollback.
    pub fn finish(self, landed: bool) -> Result<()> {
        if !landed {
            restore(&self.tmp_dir, &self.files, &self.dirs).map_err(unfinished_rollback)?;
        }
        remove_journal(&self.journal, &self.commit_file);
        Ok(())
    }
}

fn remove_journal(journal: &Path, commit_file: &Path) {
    // The journal first: a journal without its commit file would read as "not landed" and
    // roll back a commit that landed; a commit file without its journal means nothing and
    // the next recovery removes it.
    let _ = std::fs::remove_file(journal);
    let _ = (|| -> Result<()> {
        fault_point!(points::JOURNAL_REMOVED);
        Ok(())
    })();
    let _ = std::fs::remove_file(commit_file);
}

fn unfinished_rollback(e: Error) -> Error {
    Error::runtime(format!(
        "could not put the task files back as they were: {}",
        e.message
    ))
    .with_hint("the change stays journalled; once the cause is fixed (free disk space, for one), run `orch status`, which finishes putting them back")
}

/// Puts every journalled file back and removes the folders the transition created.
fn restore(tmp_dir: &Path, files: &[Saved], dirs: &[PathBuf]) -> Result<()> {
    fault_point!(points::RESTORING);
    for f in files {
        match &f.old {
            Some(old) => write_via(tmp_dir, &f.path, old.as_bytes())?,
            None => match std::fs::remove_file(&f.path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(Error::io(&f.path, e))
                }
                _ => {}
            },
        }
    }
    for d in dirs {
        // A folder someone put other files into meanwhile is theirs to keep.
        let _ = std::fs::remove_dir(d);
    }
    Ok(())
}

/// One transition a killed orch left unfinished, as its journal tells.
pub struct Interrupted<'a> {
    /// Whether the transition was to commit.
    pub committing: bool,
    /// The commit object it wrote, once it got that far: it landed only if HEAD is this one.
    pub commit: Option<&'a str>,
    /// A journal of an older orch, which recorded no commit: HEAD before the transition.
    pub legacy_head_before: Option<Option<&'a str>>,
    /// When the journal was written: lock files at least this new are the killed process's.
    pub since: Option<std::time::SystemTime>,
}

/// Whether anything is left to recover: a journal, or a temporary file of a killed process.
pub fn pending(local_dir: &Path) -> bool {
    let any = |dir: &Path, f: &dyn Fn(&Path) -> bool| {
        std::fs::read_dir(dir).is_ok_and(|rd| rd.flatten().any(|e| f(&e.path())))
    };
    let jdir = journal_dir(local_dir);
    any(&jdir, &|p| {
        is_journal(p) || is_commit_file(p) || is_temp_file(p)
    }) || any(local_dir, &is_temp_file)
        || any(&tmp_dir(local_dir), &|_| true)
}

/// Whether a transition's journal is pending (its process killed, or still running).
pub fn journal_pending(local_dir: &Path) -> bool {
    std::fs::read_dir(journal_dir(local_dir))
        .is_ok_and(|rd| rd.flatten().any(|e| is_journal(&e.path())))
}

fn is_journal(p: &Path) -> bool {
    p.extension().is_some_and(|x| x == "json")
}

fn is_commit_file(p: &Path) -> bool {
    p.extension().is_some_and(|x| x == "commit")
}

/// Finishes what a killed orch left: takes the project lock with `lock` when there is
/// anything to do, then [`recover_locked`].
pub fn recover<L>(
    local_dir: &Path,
    lock: impl FnOnce() -> Result<L>,
    settle: impl FnMut(&Interrupted) -> Result<bool>,
) -> Result<()> {
    if !pending(local_dir) {
        return Ok(());
    }
    let _lock = lock()?;
    recover_locked(local_dir, settle)
}

/// Finishes what a killed orch left in the local folder; the caller holds the project lock.
/// For each interrupted transition, `settle` says whether its commit landed (and tidies what
/// the commit left half done); if it did, the new files stay, otherwise the old ones are put
/// back. A journal is removed only once that succeeded. Temporary files are removed.
pub fn recover_locked(
    local_dir: &Path,
    mut settle: impl FnMut(&Interrupted) -> Result<bool>,
) -> Result<()> {
    let jdir = journal_dir(local_dir);
    let tmp = tmp_dir(local_dir);
    // Under the lock no other orch process is writing, so every temporary file is a leftover.
    remove_temp_files(&jdir);
    remove_temp_files(local_dir);
    if let Ok(rd) = std::fs::read_dir(&tmp) {
        for e in rd.flatten() {
            let _ = std::fs::remove_file(e.path());
        }
    }
    let mut journals: Vec<PathBuf> = std::fs::read_dir(&jdir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| is_journal(p))
                .collect()
        })
        .unwrap_or_default();
    journals.sort();
    for j in journals {
        let commit_file = j.with_extension("commit");
        // Another process may have finished it while we waited for the lock.
        let Ok(text) = std::fs::read_to_string(&j) else {
            continue;
        };
        let since = std::fs::metadata(&j).and_then(|m| m.modified()).ok();
        let Ok(journal) = serde_json::from_str::<Journal>(&text) else {
            // Cut short while being written (its temporary file renamed over it is whole, so
            // this is not ours): nothing was touched under it.
            remove_journal(&j, &commit_file);
            continue;
        };
        let commit = std::fs::read_to_string(&commit_file).ok();
        let commit = commit.as_deref().map(str::trim).filter(|c| !c.is_empty());
        let legacy = journal.v < JOURNAL_VERSION;
        let landed = settle(&Interrupted {
            committing: journal.committing || legacy,
            commit,
            legacy_head_before: legacy.then_some(journal.head_before.as_deref()),
            since,
        })?;
        if !landed {
            restore(&tmp, &journal.files, &journal.dirs).map_err(unfinished_rollback)?;
        }
        for f in &journal.files {
            // Temporary files of older versions, written beside the task files.
            if let Some(dir) = f.path.parent() {
                remove_temp_files(dir);
            }
        }
        remove_journal(&j, &commit_file);
    }
    // Commit files whose journal was removed just before a crash.
    if let Ok(rd) = std::fs::read_dir(&jdir) {
        for p in rd.flatten().map(|e| e.path()) {
            if is_commit_file(&p) && !p.with_extension("json").exists() {
                let _ = std::fs::remove_file(p);
            }
        }
    }
    Ok(())
}

/// A temporary file of an atomic write (see `write_atomic`).
fn is_temp_file(path: &Path) -> bool {
    path.file_name()
        .map(|n| n.to_string_lossy())
        .is_some_and(|n| n.starts_with('.') && n.contains(".orch-tmp-"))
}

/// Temporary files of an interrupted atomic write.
fn remove_temp_files(dir: &Path) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if is_temp_file(&e.path()) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}
