//! Writing the task folder: every file atomically (temp file + rename), and every transition
//! as a journalled change that is kept whole or put back, even after a crash. This layer knows
//! files only: the operation commits between writing and finishing the change, and recovery
//! asks its caller whether an interrupted commit landed.

use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` through a temporary file in the same folder, so a reader (or a
/// crash) sees the old file or the new one, never half of it.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.orch-tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_data()?;
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, e)
    })
}

/// What a transition will change, recorded before it changes anything.
#[derive(Serialize, Deserialize)]
struct Journal {
    head_before: Option<String>,
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

/// A transition in progress: its journal is on disk before any of its files is written, so a
/// crash at any point is finished or undone by [`recover`].
pub struct Txn {
    journal: PathBuf,
    files: Vec<Saved>,
}

impl Txn {
    /// Records in `journal_dir` the current content of every file `writes` will replace, and
    /// `head_before` (HEAD now: how recovery tells whether this transition's commit landed).
    /// Writes nothing else. The caller holds the project lock.
    pub fn begin(
        journal_dir: &Path,
        head_before: Option<String>,
        writes: &[FileWrite],
    ) -> Result<Txn> {
        Txn::begin_removing(journal_dir, head_before, writes, &[])
    }

    /// [`Txn::begin`] for a transition that also removes the files `removals`: they are
    /// journalled like the written ones, so a failure or a crash puts them back.
    pub fn begin_removing(
        journal_dir: &Path,
        head_before: Option<String>,
        writes: &[FileWrite],
        removals: &[PathBuf],
    ) -> Result<Txn> {
        let mut saved = Vec::new();
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
        }
        std::fs::create_dir_all(journal_dir).map_err(|e| Error::io(journal_dir, e))?;
        let path = journal_dir.join(format!("txn-{}.json", std::process::id()));
        let journal = Journal {
            head_before,
            files: saved,
        };
        write_atomic(
            &path,
            serde_json::to_string(&journal)
                .expect("journal serialises")
                .as_bytes(),
        )?;
        Ok(Txn {
            journal: path,
            files: journal.files,
        })
    }

    /// Writes the new files, each atomically.
    pub fn write(&self, writes: &[FileWrite]) -> Result<()> {
        for w in writes {
            write_atomic(&w.path, &w.bytes)?;
        }
        Ok(())
    }

    /// Removes files journalled by [`Txn::begin_removing`].
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

    /// Ends the transition: its files stay when `done`, otherwise every journalled file is put
    /// back as it was. Either way the journal goes.
    pub fn finish(self, done: bool) {
        if !done {
            restore(&self.files);
        }
        let _ = std::fs::remove_file(&self.journal);
    }
}

fn restore(files: &[Saved]) {
    for f in files {
        match &f.old {
            Some(old) => {
                let _ = write_atomic(&f.path, old.as_bytes());
            }
            None => {
                let _ = std::fs::remove_file(&f.path);
            }
        }
    }
}

/// One transition a killed orch left unfinished, as its journal tells.
pub struct Interrupted<'a> {
    /// HEAD before the transition: if HEAD names another commit now, the commit landed.
    pub head_before: Option<&'a str>,
    /// When the journal was written: lock files at least this new are the killed process's.
    pub since: Option<std::time::SystemTime>,
}

/// Finishes what a killed orch left in `journal_dir`. For each interrupted transition,
/// `settle` says whether its commit landed (and tidies what the commit left half done); if it
/// did, the new files stay, otherwise the old ones are put back. Temporary files of
/// interrupted atomic writes (in `journal_dir`, `local_dir` and the journalled files' folders)
/// are removed. `lock` takes the project lock, only when there is something to do.
pub fn recover<L>(
    journal_dir: &Path,
    local_dir: &Path,
    lock: impl FnOnce() -> Result<L>,
    mut settle: impl FnMut(&Interrupted) -> Result<bool>,
) -> Result<()> {
    let (mut pending, mut temps) = (Vec::new(), false);
    if let Ok(rd) = std::fs::read_dir(journal_dir) {
        for path in rd.flatten().map(|e| e.path()) {
            if path.extension().is_some_and(|x| x == "json") {
                pending.push(path);
            } else {
                temps |= is_temp_file(&path);
            }
        }
    }
    // A process killed while writing its journal or the current-task file leaves only a
    // temporary file; those would pile up, one per killed process.
    temps |=
        std::fs::read_dir(local_dir).is_ok_and(|rd| rd.flatten().any(|e| is_temp_file(&e.path())));
    if pending.is_empty() && !temps {
        return Ok(());
    }
    let _lock = lock()?;
    // Under the lock no other orch process is writing, so every temporary file is a leftover.
    remove_temp_files(journal_dir);
    remove_temp_files(local_dir);
    for j in pending {
        // Another process may have finished it while we waited for the lock.
        let Ok(text) = std::fs::read_to_string(&j) else {
            continue;
        };
        let since = std::fs::metadata(&j).and_then(|m| m.modified()).ok();
        if let Ok(journal) = serde_json::from_str::<Journal>(&text) {
            let landed = settle(&Interrupted {
                head_before: journal.head_before.as_deref(),
                since,
            })?;
            if !landed {
                restore(&journal.files);
            }
            for f in &journal.files {
                if let Some(dir) = f.path.parent() {
                    remove_temp_files(dir);
                }
            }
        }
        let _ = std::fs::remove_file(&j);
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
