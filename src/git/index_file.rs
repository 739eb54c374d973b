//! The user's index read and written as git would, where gix alone does not: a split index is
//! refused before anything changes, the resolve-undo records (`REUC`, what `git checkout -m`
//! re-creates a conflict from) are written back as they were, and racily clean entries are
//! smudged so git looks at their content again.
//!
//! Dropped on write, as git allows: the untracked cache (`UNTR`), the fsmonitor state (`FSMN`)
//! and the entry offset table (`IEOT`), which git rebuilds. Index version 4 is written as
//! version 2 (or 3), since gix cannot write version 4.

use std::io::Write;
use std::path::Path;

use gix::index::entry::Mode;
use gix::ObjectId;

use super::repo::gix_err;
use crate::error::{Error, Result};

/// The index as read under its lock, with what gix would not write back.
pub(crate) struct UserIndex {
    pub file: gix::index::File,
    /// Extensions written back verbatim, each as signature, size and data.
    kept: Vec<u8>,
    kept_toc: Vec<([u8; 4], u32)>,
}

/// Extensions orch keeps byte for byte: gix decodes but never writes them.
const KEPT: [&[u8; 4]; 1] = [b"REUC"];

pub(crate) fn read(path: &Path, object_hash: gix::hash::Kind) -> Result<UserIndex> {
    let what = || format!("read the index {}", path.display());
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let state = gix::index::State::new(object_hash);
            return Ok(UserIndex {
                file: gix::index::File::from_state(state, path),
                kept: Vec::new(),
                kept_toc: Vec::new(),
            });
        }
        Err(e) => return Err(Error::io(path, e)),
    };
    let meta = file.metadata().map_err(|e| Error::io(path, e))?;
    // SAFETY: git never writes into an existing index file, it renames a new one over it; and
    // we hold index.lock, so no git process replaces it while we read.
    let data = unsafe { memmap2::MmapOptions::new().map_copy_read_only(&file) }
        .map_err(|e| Error::io(path, e))?;
    let mtime = filetime::FileTime::from_last_modification_time(&meta);
    // git itself does not verify the index checksum on read (only fsck does); hashing a
    // large index would be a sizeable share of the commit's time.
    let (state, _) = gix::index::State::from_bytes(&data, mtime, object_hash, Default::default())
        .map_err(gix_err(what()))?;
    if state.link().is_some() {
        return Err(Error::state(format!(
            "the index at {} is a split index, which orch cannot write back split",
            path.display()
        ))
        .with_hint("run `git config core.splitIndex false && git update-index --no-split-index`, then the command again"));
    }
    let (kept, kept_toc) = kept_extensions(&data, object_hash.len_in_bytes());
    Ok(UserIndex {
        file: gix::index::File::from_state(state, path),
        kept,
        kept_toc,
    })
}

/// The raw extensions in [`KEPT`], found by walking past the entries (or through `EOIE`).
fn kept_extensions(data: &[u8], hash_len: usize) -> (Vec<u8>, Vec<([u8; 4], u32)>) {
    let mut kept = Vec::new();
    let mut toc = Vec::new();
    let Some(mut at) = end_of_entries(data, hash_len) else {
        return (kept, toc);
    };
    let end = data.len().saturating_sub(hash_len);
    while at + 8 <= end {
        let sig: [u8; 4] = data[at..at + 4].try_into().expect("4 bytes");
        let size = u32::from_be_bytes(data[at + 4..at + 8].try_into().expect("4 bytes"));
        let next = at + 8 + size as usize;
        if next > end {
            break;
        }
        if KEPT.contains(&&sig) {
            kept.extend_from_slice(&data[at..next]);
            toc.push((sig, size));
        }
        at = next;
    }
    (kept, toc)
}

/// The signatures of every extension of the index file `data`, in order (`TREE`, `REUC`,
/// `link`, `UNTR`, ...), as far as they can be walked.
pub(crate) fn extension_signatures(data: &[u8], hash_len: usize) -> Vec<[u8; 4]> {
    let mut out = Vec::new();
    let Some(mut at) = end_of_entries(data, hash_len) else {
        return out;
    };
    let end = data.len().saturating_sub(hash_len);
    while at + 8 <= end {
        let sig: [u8; 4] = data[at..at + 4].try_into().expect("4 bytes");
        let size = u32::from_be_bytes(data[at + 4..at + 8].try_into().expect("4 bytes"));
        let next = at + 8 + size as usize;
        if next > end {
            break;
        }
        out.push(sig);
        at = next;
    }
    out
}

/// Where the extensions start: after the last entry.
fn end_of_entries(data: &[u8], hash_len: usize) -> Option<usize> {
    let version = u32::from_be_bytes(data.get(4..8)?.try_into().ok()?);
    let count = u32::from_be_bytes(data.get(8..12)?.try_into().ok()?) as usize;
    let mut at = 12;
    for _ in 0..count {
        let flags_at = at + 40 + hash_len;
        let flags = u16::from_be_bytes(data.get(flags_at..flags_at + 2)?.try_into().ok()?);
        let mut path_at = flags_at + 2;
        if version >= 3 && flags & 0x4000 != 0 {
            path_at += 2;
        }
        if version == 4 {
            // A varint (how much of the previous path to strip), then the rest, NUL-ended.
            while *data.get(path_at)? & 0x80 != 0 {
                path_at += 1;
            }
            path_at += 1;
            let nul = data.get(path_at..)?.iter().position(|b| *b == 0)?;
            at = path_at + nul + 1;
        } else {
            let len = match (flags & 0x0fff) as usize {
                0x0fff => data.get(path_at..)?.iter().position(|b| *b == 0)?,
                n => n,
            };
            // Entries are NUL-padded to a multiple of eight bytes, at least one NUL.
            let entry_len = path_at - at + len;
            at += (entry_len + 8) & !7;
        }
    }
    Some(at)
}

/// Writes `index` into the lock as git would: header and entries, the tree cache (already
/// invalidated where it changed), the kept extensions, the end-of-index entry and the checksum
/// (null with `index.skipHash`).
pub(crate) fn write(index: &UserIndex, out: impl Write, skip_hash: bool) -> std::io::Result<()> {
    use gix::index::write::{Extensions, Options};
    let state: &gix::index::State = &index.file;
    let kind = state.object_hash();
    // gix writes each entry in many small pieces: they are gathered before they are hashed,
    // so the hasher sees large blocks.
    let hashed = gix::hash::io::Write::new(out, kind);
    let mut gathered = std::io::BufWriter::with_capacity(256 * 1024, hashed);
    let mut counted = Counted {
        inner: &mut gathered,
        count: 0,
    };
    let options = Options {
        extensions: Extensions::None,
        skip_hash,
    };
    state
        .write_to(&mut counted, options)
        .map_err(std::io::Error::other)?;
    let offset_to_extensions = counted.count;
    let mut toc: Vec<([u8; 4], u32)> = Vec::new();
    if let Some(tree) = state.tree() {
        let before = counted.count;
        tree.write_to(&mut counted)?;
        toc.push((*b"TREE", (counted.count - before - 8) as u32));
    }
    counted.write_all(&index.kept)?;
    toc.extend_from_slice(&index.kept_toc);
    if state.entries().is_empty() || toc.is_empty() {
        // gix writes no end-of-index entry then either.
    } else {
        gix::index::extension::end_of_index_entry::write_to(
            &mut counted,
            kind,
            offset_to_extensions as u32,
            toc,
        )
        .map_err(std::io::Error::other)?;
    }
    let mut hashed = gathered.into_inner().map_err(|e| e.into_error())?;
    let hash = if skip_hash {
        kind.null()
    } else {
        hashed.hash.try_finalize().map_err(std::io::Error::other)?
    };
    hashed.inner.write_all(hash.as_slice())?;
    hashed.inner.flush()
}

struct Counted<W> {
    inner: W,
    count: usize,
}

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count += n;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// git's racy-git rule: an entry whose mtime is not older than the index file it was read
/// from may have changed within the same second without its stat data showing it. Once
/// orch writes a newer index file, git would trust that stat data, so such an entry whose
/// worktree content differs from its blob must be smudged (size 0) for git to compare its
/// content again. Returns the positions of those entries; `skip` (sorted) are positions orch
/// sets afresh. `content_id` hashes a worktree file as `git add` would (`None` when it cannot
/// be read: git then sees the entry as changed anyway).
pub(crate) fn racily_clean_changed(
    index: &gix::index::State,
    workdir: &Path,
    skip: &[usize],
    mut content_id: impl FnMut(&Path, &gix::bstr::BStr, Mode) -> Option<ObjectId>,
) -> Vec<usize> {
    let index_secs = index.timestamp().unix_seconds();
    let mut out = Vec::new();
    if index_secs <= 0 {
        return out;
    }
    for (i, e) in index.entries().iter().enumerate() {
        if i64::from(e.stat.mtime.secs) < index_secs
            || e.mode == Mode::COMMIT
            || e.stat.size == 0
            || skip.binary_search(&i).is_ok()
        {
            continue;
        }
        let path = e.path(index);
        let Ok(rel) = gix::path::from_bstr(path) else {
            continue;
        };
        let abs = workdir.join(rel);
        let Ok(md) = std::fs::symlink_metadata(&abs) else {
            continue;
        };
        if md.len() as u32 != e.stat.size {
            // git sees the size differ and looks at the content anyway.
            continue;
        }
        if content_id(&abs, path, e.mode) != Some(e.id) {
            out.push(i);
        }
    }
    out
}
