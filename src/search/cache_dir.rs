//! The folder the index is written to: tantivy's memory-mapped directory, except that writes do
//! not wait for the disk.
//!
//! tantivy makes every commit durable: each new file, `meta.json` and the folder itself are
//! synced, which is most of what a small update costs. The index is a cache of text the
//! repository holds anyway, and only a crash of the whole system can lose writes that were
//! not synced, so an index written this way records the boot it was written in
//! ([`boot_id`]); an index from an earlier boot has its checksums verified before it is
//! trusted (see `fresh`). Where the boot cannot be told, every write is synced as tantivy
//! would.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tantivy::directory::error::{
    DeleteError, LockError, OpenDirectoryError, OpenReadError, OpenWriteError,
};
use tantivy::directory::{
    AntiCallToken, Directory, DirectoryLock, FileHandle, Lock, MmapDirectory, TerminatingWrite,
    WatchCallback, WatchHandle, WritePtr,
};

/// This boot of the system, when the system tells it (Linux); read once per process.
pub fn boot_id() -> Option<String> {
    static BOOT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    BOOT.get_or_init(|| {
        let id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
        let id = id.trim();
        (!id.is_empty()).then(|| id.to_string())
    })
    .clone()
}

/// The index folder: reads through tantivy's [`MmapDirectory`], writes without syncing.
#[derive(Clone, Debug)]
pub struct CacheDir {
    root: PathBuf,
    inner: MmapDirectory,
}

impl CacheDir {
    pub fn open(root: &Path) -> Result<Box<dyn Directory>, OpenDirectoryError> {
        let inner = MmapDirectory::open(root)?;
        if boot_id().is_none() {
            return Ok(Box::new(inner));
        }
        Ok(Box::new(CacheDir {
            root: root.to_path_buf(),
            inner,
        }))
    }
}

/// A new file of the index; finished by flushing it, not by waiting for the disk.
struct Unsynced(File);

impl Write for Unsynced {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl TerminatingWrite for Unsynced {
    fn terminate_ref(&mut self, _: AntiCallToken) -> io::Result<()> {
        self.0.flush()
    }
}

impl Directory for CacheDir {
    fn get_file_handle(&self, path: &Path) -> Result<Arc<dyn FileHandle>, OpenReadError> {
        self.inner.get_file_handle(path)
    }

    fn delete(&self, path: &Path) -> Result<(), DeleteError> {
        self.inner.delete(path)
    }

    fn exists(&self, path: &Path) -> Result<bool, OpenReadError> {
        self.inner.exists(path)
    }

    fn open_write(&self, path: &Path) -> Result<WritePtr, OpenWriteError> {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(self.root.join(path))
            .map_err(|e| match e.kind() {
                io::ErrorKind::AlreadyExists => OpenWriteError::FileAlreadyExists(path.into()),
                _ => OpenWriteError::wrap_io_error(e, path.into()),
            })?;
        Ok(BufWriter::new(Box::new(Unsynced(file))))
    }

    fn atomic_read(&self, path: &Path) -> Result<Vec<u8>, OpenReadError> {
        self.inner.atomic_read(path)
    }

    /// A temporary file renamed over the old one: whole or not at all, without the sync.
    fn atomic_write(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        let target = self.root.join(path);
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        let tmp = self
            .root
            .join(format!(".{name}.tmp-{}", std::process::id()));
        std::fs::write(&tmp, data)
            .and_then(|_| std::fs::rename(&tmp, &target))
            .inspect_err(|_| {
                let _ = std::fs::remove_file(&tmp);
            })
    }

    fn sync_directory(&self) -> io::Result<()> {
        Ok(())
    }

    fn acquire_lock(&self, lock: &Lock) -> Result<DirectoryLock, LockError> {
        self.inner.acquire_lock(lock)
    }

    fn watch(&self, callback: WatchCallback) -> tantivy::Result<WatchHandle> {
        self.inner.watch(callback)
    }
}
