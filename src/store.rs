//! Writing the task folder: every file atomically (temp file + rename), and every transition
//! as a journalled change that is committed whole or put back, even after a crash.

use crate::project::Project;
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

fn journal_dir(p: &Project) -> PathBuf {
    p.local_dir().join("pending")
}

/// A file to write: absolute path and new content.
pub struct FileWrite {
    pub path: PathBuf,
    pub bytes: Vec<u8>,
}

pub struct Applied {
    pub commit: Option<crate::git::commit::CommitOutcome>,
}

/// Writes `writes` and, when git commits are on and `commit` names a message, commits
/// `commit_paths` with it. If anything fails, the files are put back as they were. The caller
/// holds the project lock.
pub fn apply(
    p: &Project,
    writes: Vec<FileWrite>,
    commit_paths: &[&str],
    commit: Option<&str>,
) -> Result<Applied> {
    let head_before = p.git.head_id()?.map(|i| i.to_string());
    let mut saved = Vec::new();
    for w in &writes {
        let old =
            match std::fs::read(&w.path) {
                Ok(b) => Some(String::from_utf8(b).map_err(|_| {
                    Error::runtime(format!("{} is not UTF-8 text", w.path.display()))
                })?),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => return Err(Error::io(&w.path, e)),
            };
        saved.push(Saved {
            path: w.path.clone(),
            old,
        });
    }
    let jdir = journal_dir(p);
    std::fs::create_dir_all(&jdir).map_err(|e| Error::io(&jdir, e))?;
    let jpath = jdir.join(format!("txn-{}.json", std::process::id()));
    let journal = Journal {
        head_before,
        files: saved,
    };
    write_atomic(
        &jpath,
        serde_json::to_string(&journal)
            .expect("journal serialises")
            .as_bytes(),
    )?;

    let outcome = (|| -> Result<Applied> {
        for w in &writes {
            write_atomic(&w.path, &w.bytes)?;
        }
        let commit = match commit {
            Some(msg) if p.config.git.commit => {
                crate::git::commit::commit_paths(&p.git, commit_paths, msg)?
            }
            _ => None,
        };
        Ok(Applied { commit })
    })();
    if outcome.is_err() {
        restore(&journal.files);
    }
    let _ = std::fs::remove_file(&jpath);
    outcome
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

/// Finishes what a killed orch left: if its commit landed (HEAD moved), the new files stay
/// and the prepared index is put in place; otherwise the old files are put back. Lock files
/// the killed process created after its journal (index, ref) are cleared, so they never block
/// the next command.
pub fn recover(p: &Project) -> Result<()> {
    let jdir = journal_dir(p);
    let (mut pending, mut temps) = (Vec::new(), false);
    if let Ok(rd) = std::fs::read_dir(&jdir) {
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
    let local = p.local_dir();
    temps |=
        std::fs::read_dir(&local).is_ok_and(|rd| rd.flatten().any(|e| is_temp_file(&e.path())));
    if pending.is_empty() && !temps {
        return Ok(());
    }
    let _lock = p.lock()?;
    // Under the lock no other orch process is writing, so every temporary file is a leftover.
    remove_temp_files(&jdir);
    remove_temp_files(&local);
    for j in pending {
        // Another process may have finished it while we waited for the lock.
        let Ok(text) = std::fs::read_to_string(&j) else {
            continue;
        };
        let since = std::fs::metadata(&j).and_then(|m| m.modified()).ok();
        let head = p.git.head_id()?.map(|i| i.to_string());
        if let Ok(journal) = serde_json::from_str::<Journal>(&text) {
            let landed = p.config.git.commit && journal.head_before != head;
            let index = p.git.repo.index_path();
            let index_lock = with_suffix(&index, ".lock");
            if ours(&index_lock, since) {
                if landed {
                    // The ref moved but the index was not yet published: publish it now, or
                    // the user's next commit would revert the transition.
                    std::fs::rename(&index_lock, &index).map_err(|e| Error::io(&index, e))?;
                } else {
                    let _ = std::fs::remove_file(&index_lock);
                }
            }
            for name in ref_lock_candidates(p) {
                if ours(&name, since) {
                    let _ = std::fs::remove_file(&name);
                }
            }
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

fn with_suffix(p: &Path, suffix: &str) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// A lock file created after the journal `since` was written: left by the killed process.
fn ours(lock: &Path, since: Option<std::time::SystemTime>) -> bool {
    match (std::fs::metadata(lock).and_then(|m| m.modified()), since) {
        (Ok(t), Some(since)) => t >= since,
        _ => false,
    }
}

fn ref_lock_candidates(p: &Project) -> Vec<PathBuf> {
    let mut v = vec![with_suffix(&p.git.git_dir.join("HEAD"), ".lock")];
    if let Ok(head) = p.git.repo.head() {
        if let Some(name) = head.referent_name() {
            let rel = name.as_bstr().to_string();
            v.push(with_suffix(&p.git.common_dir.join(rel), ".lock"));
        }
    }
    v
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
