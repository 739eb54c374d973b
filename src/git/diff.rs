//! Diffs between two commits, counted and printed the way `git diff` does by default:
//! per-file insertions and deletions (`--numstat`), the summary line (`--shortstat`) and the
//! hunks of the unified diff (`-U3`), with renames detected as `diff.renames` does. Trees are
//! compared with gix; lines with a port of git's own xdiff ([`super::xdiff`]), renames with
//! a port of its rename detection ([`super::rename`]).

use crate::{Error, Result};
use gix::objs::tree::EntryKind;
use gix::ObjectId;

/// How a path changed between the two trees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Added,
    Deleted,
    Modified,
    /// Moved from `old_path`, perhaps edited (and its mode changed) on the way.
    Renamed,
    /// Same content, other mode (e.g. 100644 → 100755).
    ModeChanged,
    /// A file became a symlink or submodule, or the other way round.
    TypeChanged,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Added => "added",
            Status::Deleted => "deleted",
            Status::Modified => "modified",
            Status::Renamed => "renamed",
            Status::ModeChanged => "mode change",
            Status::TypeChanged => "type change",
        }
    }
}

/// One side of a changed path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Side {
    pub kind: EntryKind,
    pub id: ObjectId,
}

/// `100644`, `100755`, `120000` or `160000`, as git prints modes.
pub fn mode_str(kind: EntryKind) -> &'static str {
    match kind {
        EntryKind::Blob => "100644",
        EntryKind::BlobExecutable => "100755",
        EntryKind::Link => "120000",
        EntryKind::Commit => "160000",
        EntryKind::Tree => "040000",
    }
}

#[derive(Debug, Clone)]
pub struct FileDiff {
    /// Repository-relative path with `/` separators (lossy if not UTF-8).
    pub path: String,
    /// Where a renamed file came from.
    pub old_path: Option<String>,
    /// How similar a renamed file is to its source, in percent as git prints it.
    pub similarity: Option<u32>,
    pub status: Status,
    pub old: Option<Side>,
    pub new: Option<Side>,
    /// Either side has a NUL byte in its first 8000 bytes; git then counts no lines (even
    /// when only the mode changed).
    pub binary: bool,
    pub insertions: usize,
    pub deletions: usize,
    /// The hunks of `git diff -U3` for this path (without git's function context after
    /// `@@`), when asked for and the file is text. A type change holds the deletion's hunks,
    /// then the addition's, as git prints two patches for it.
    pub hunks: Option<Vec<u8>>,
}

/// The numbers of `git diff --shortstat`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stat {
    pub files: usize,
    pub insertions: usize,
    pub deletions: usize,
}

impl Stat {
    pub fn of(files: &[FileDiff]) -> Stat {
        files.iter().fold(Stat::default(), |s, f| Stat {
            files: s.files + 1,
            insertions: s.insertions + f.insertions,
            deletions: s.deletions + f.deletions,
        })
    }

    /// The line `git diff --shortstat` prints, without its leading space.
    pub fn shortstat(&self) -> String {
        let plural = |n: usize| if n == 1 { "" } else { "s" };
        let mut s = format!("{} file{} changed", self.files, plural(self.files));
        if self.insertions > 0 || self.deletions == 0 {
            s.push_str(&format!(
                ", {} insertion{}(+)",
                self.insertions,
                plural(self.insertions)
            ));
        }
        if self.deletions > 0 || self.insertions == 0 {
            s.push_str(&format!(
                ", {} deletion{}(-)",
                self.deletions,
                plural(self.deletions)
            ));
        }
        s
    }
}

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Top-level path prefixes to leave out, e.g. `.orchestration` (a whole folder or file).
    pub exclude: Vec<String>,
    /// Also produce the hunks of text files.
    pub patch: bool,
}

fn excluded(path: &[u8], exclude: &[String]) -> bool {
    exclude.iter().any(|x| {
        let x = x.as_bytes();
        path.starts_with(x) && (path.len() == x.len() || path[x.len()] == b'/')
    })
}

fn rt(what: &str, e: impl std::fmt::Display) -> Error {
    Error::runtime(format!("{what}: {e}"))
}

/// The tree of a commit (or the tree itself when `id` names a tree); `None` is the empty tree.
pub fn tree_of(repo: &gix::Repository, id: Option<ObjectId>) -> Result<ObjectId> {
    let Some(id) = id else {
        return Ok(ObjectId::empty_tree(repo.object_hash()));
    };
    let obj = repo
        .find_object(id)
        .map_err(|e| rt(&format!("cannot read object {id}"), e))?;
    match obj.kind {
        gix::object::Kind::Tree => Ok(id),
        gix::object::Kind::Commit => obj
            .into_commit()
            .tree_id()
            .map(|t| t.detach())
            .map_err(|e| rt(&format!("cannot read commit {id}"), e)),
        k => Err(Error::runtime(format!("{id} is a {k}, not a commit"))),
    }
}

/// Object reads for a diff. Loose objects, which a task's own recent commits mostly are, are
/// read here: opened relative to the objects directory, read into a reused buffer and inflated
/// with one reused state (gix stats and maps each file and sets up a new inflate state per
/// object, which for small files costs more than the object itself). Objects in the packs
/// (checked in their indices first, so they cost no failed open), alternates, and anything
/// unexpected go through gix, which also reports the errors.
pub struct Objects<'r> {
    /// Where everything else is read: the repository's object database.
    odb: &'r dyn gix::objs::Find,
    /// `None` when object replacements are configured: gix applies those.
    loose: Option<std::cell::RefCell<Loose<'r>>>,
}

/// The repository's objects directory, shared by the threads reading it.
pub struct LooseDir {
    path: std::path::PathBuf,
    hash: gix::hash::Kind,
    /// The objects directory, opened (loose files are opened relative to it).
    #[cfg(unix)]
    dir: std::fs::File,
    /// `<objects dir>/`, where `dir` cannot be used.
    #[cfg(not(unix))]
    dir: std::ffi::OsString,
    /// The indices of the packs in the objects directory.
    packs: Vec<gix::odb::pack::index::File>,
}

/// One reader's state.
struct Loose<'d> {
    at: &'d LooseDir,
    /// `xx/xxxx…` and a NUL, rewritten per object.
    name: Vec<u8>,
    file: Vec<u8>,
    inflate: gix::zlib::Inflate,
}

impl LooseDir {
    /// `None` when object replacements are configured (gix applies those) or the directory
    /// cannot be opened.
    pub fn new(repo: &gix::Repository) -> Option<LooseDir> {
        let store = repo.objects.store_ref();
        if store.replacements().next().is_some() {
            return None;
        }
        let (objects, hash) = (store.path(), repo.object_hash());
        let packs = match std::fs::read_dir(objects.join("pack")) {
            Ok(dir) => dir
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "idx"))
                .filter_map(|p| gix::odb::pack::index::File::at(p, hash).ok())
                .collect(),
            Err(_) => Vec::new(),
        };
        #[cfg(unix)]
        let dir = std::fs::File::open(objects).ok()?;
        #[cfg(not(unix))]
        let dir = {
            let mut d = objects.as_os_str().to_owned();
            d.push("/");
            d
        };
        Some(LooseDir {
            path: objects.to_owned(),
            hash,
            dir,
            packs,
        })
    }
}

impl Loose<'_> {
    #[cfg(unix)]
    fn open(&mut self) -> Option<std::fs::File> {
        use std::os::fd::{AsRawFd, FromRawFd};
        let name = std::ffi::CStr::from_bytes_with_nul(&self.name).ok()?;
        // SAFETY: `name` is NUL-terminated and `dir` an open descriptor; a descriptor returned
        // by openat is owned by nothing else.
        let fd = unsafe {
            libc::openat(
                self.at.dir.as_raw_fd(),
                name.as_ptr(),
                libc::O_RDONLY | libc::O_CLOEXEC,
            )
        };
        (fd >= 0).then(|| unsafe { std::fs::File::from_raw_fd(fd) })
    }

    #[cfg(not(unix))]
    fn open(&mut self) -> Option<std::fs::File> {
        let name = std::str::from_utf8(&self.name[..self.name.len() - 1]).ok()?;
        let mut path = self.at.dir.clone();
        path.push(name);
        std::fs::File::open(path).ok()
    }

    /// The object from its loose file: `None` when it is packed, has no loose file, or cannot
    /// be read as one.
    fn find(&mut self, id: &gix::oid, out: &mut Vec<u8>) -> Option<gix::objs::Kind> {
        use std::io::Read;
        if self.at.packs.iter().any(|p| p.lookup(id).is_some()) {
            return None;
        }
        let hex = id.to_hex().to_string();
        self.name.clear();
        self.name.extend_from_slice(&hex.as_bytes()[..2]);
        self.name.push(b'/');
        self.name.extend_from_slice(&hex.as_bytes()[2..]);
        self.name.push(0);
        let mut f = self.open()?;
        let file = &mut self.file;
        if file.len() < 64 * 1024 {
            file.resize(64 * 1024, 0);
        }
        // A short read of a regular file is its end; were it not, the stream would come out
        // short, and gix would read the object instead.
        let mut len = 0;
        loop {
            match f.read(&mut file[len..]) {
                Ok(0) => break,
                Ok(n) => len += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => return None,
            }
            if len < file.len() {
                break;
            }
            file.resize(file.len() * 2, 0);
        }
        let data = &file[..len];
        let mut header = [0u8; 64];
        let inflate = &mut self.inflate;
        inflate.reset();
        let (status, used, written) = inflate.prefix(data, &mut header).ok()?;
        let (kind, size, header_len) = gix::objs::decode::loose_header(&header[..written]).ok()?;
        let size = usize::try_from(size).ok()?;
        if written < header_len || written - header_len > size {
            return None;
        }
        if status == gix::zlib::Status::StreamEnd {
            if written - header_len != size {
                return None;
            }
            out.clear();
            out.extend_from_slice(&header[header_len..written]);
        } else {
            let n = inflate
                .rest(&data[used..], &header[..written], header_len, out, size)
                .ok()?;
            if n != size {
                return None;
            }
        }
        Some(kind)
    }
}

impl<'r> Objects<'r> {
    /// Reads through `dir` where it can, else through `odb`.
    pub fn new(odb: &'r dyn gix::objs::Find, dir: Option<&'r LooseDir>) -> Self {
        let loose = dir.map(|at| {
            std::cell::RefCell::new(Loose {
                at,
                name: Vec::new(),
                file: Vec::new(),
                inflate: gix::zlib::Inflate::default(),
            })
        });
        Objects { odb, loose }
    }

    /// The raw object into `out`: a tree's entries, a blob's bytes. `what` names it in errors.
    pub fn read(&self, id: &gix::oid, out: &mut Vec<u8>, what: &str) -> Result<gix::objs::Kind> {
        use gix::objs::Find;
        match self.try_find(id, out) {
            Ok(Some(d)) => Ok(d.kind),
            Ok(None) => Err(Error::runtime(format!(
                "cannot read {what} {id}: the object is missing"
            ))),
            Err(e) => Err(rt(&format!("cannot read {what} {id}"), e)),
        }
    }
}

impl gix::objs::Find for Objects<'_> {
    fn try_find<'a>(
        &self,
        id: &gix::oid,
        buffer: &'a mut Vec<u8>,
    ) -> gix::error::Result<Option<gix::objs::Data<'a>>> {
        if let Some(kind) = self
            .loose
            .as_ref()
            .and_then(|l| l.borrow_mut().find(id, buffer))
        {
            return Ok(Some(gix::objs::Data {
                kind,
                object_hash: id.kind(),
                data: buffer,
            }));
        }
        self.odb.try_find(id, buffer)
    }
}

/// The changed files between the trees of `old` and `new` (commits or trees; `None` is the
/// empty tree), sorted by path as git sorts them.
pub fn diff(
    repo: &gix::Repository,
    old: Option<ObjectId>,
    new: Option<ObjectId>,
    opts: &Options,
) -> Result<Vec<FileDiff>> {
    let (ta, tb) = (tree_of(repo, old)?, tree_of(repo, new)?);
    let dir = LooseDir::new(repo);
    let objects = Objects::new(&repo.objects, dir.as_ref());
    let empty = ObjectId::empty_tree(repo.object_hash());
    let (mut da, mut db) = (Vec::new(), Vec::new());
    if ta != empty {
        objects.read(&ta, &mut da, "tree")?;
    }
    if tb != empty {
        objects.read(&tb, &mut db, "tree")?;
    }
    let mut rec = gix::diff::tree::Recorder::default();
    gix::diff::tree(
        gix::objs::TreeRefIter::from_bytes(&da, repo.object_hash()),
        gix::objs::TreeRefIter::from_bytes(&db, repo.object_hash()),
        &mut gix::diff::tree::State::default(),
        &objects,
        &mut rec,
    )
    .map_err(|e| rt("cannot compare trees", e))?;

    use gix::diff::tree::recorder::Change;
    let mut pairs: Vec<Pair> = Vec::new();
    let side = |mode: gix::objs::tree::EntryMode, id: ObjectId| {
        let kind = mode.kind();
        (kind != EntryKind::Tree).then_some(Side { kind, id })
    };
    for c in rec.records {
        let (path, a, b) = match c {
            Change::Addition {
                entry_mode,
                oid,
                path,
                ..
            } => (path, None, side(entry_mode, oid)),
            Change::Deletion {
                entry_mode,
                oid,
                path,
                ..
            } => (path, side(entry_mode, oid), None),
            Change::Modification {
                previous_entry_mode,
                previous_oid,
                entry_mode,
                oid,
                path,
            } => (
                path,
                side(previous_entry_mode, previous_oid),
                side(entry_mode, oid),
            ),
        };
        if (a.is_none() && b.is_none()) || excluded(&path, &opts.exclude) {
            continue;
        }
        pairs.push(Pair {
            path: path.into(),
            old_path: None,
            a,
            b,
            score: None,
        });
    }
    pairs.sort_by(|x, y| x.path.cmp(&y.path));
    let pairs = find_renames(&objects, pairs)?;

    let each = |objects: &Objects<'_>, pairs: &[Pair]| -> Vec<Result<FileDiff>> {
        let mut bufs = (Vec::new(), Vec::new());
        pairs
            .iter()
            .map(|p| file_diff(objects, &mut bufs, p, opts.patch))
            .collect()
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    let Some(shared) = dir
        .as_ref()
        .filter(|_| threads > 1 && pairs.len() >= PARALLEL_FROM)
    else {
        return each(&objects, &pairs).into_iter().collect();
    };
    // Files in chunks handed out in turn, so that large files even out. The other threads
    // read what is not loose through their own handle on the object database (gix's handles
    // stay on the thread that made them); there are no replacements to apply, or `dir`
    // would be `None`.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let chunks: Vec<&[Pair]> = pairs.chunks(CHUNK).collect();
    let work = |objects: &Objects<'_>| {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(chunk) = chunks.get(i) else { break };
            done.push((i, each(objects, chunk)));
        }
        done
    };
    let mut done = std::thread::scope(|s| {
        let helpers: Vec<_> = (1..threads)
            .map(|_| {
                let work = &work;
                s.spawn(move || {
                    let odb = gix::odb::at(&shared.path, shared.hash).ok()?;
                    Some(work(&Objects::new(&odb, Some(shared))))
                })
            })
            .collect();
        let mut done = work(&objects);
        for h in helpers {
            done.extend(
                h.join()
                    .expect("a diff thread panicked")
                    .unwrap_or_default(),
            );
        }
        // A thread that could not open the database took no work; whatever is left is done here.
        done.extend(work(&objects));
        done
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().flat_map(|(_, r)| r).collect()
}

/// A path to diff: both sides, or for a rename where it came from and how similar it is.
struct Pair {
    path: Vec<u8>,
    old_path: Option<Vec<u8>>,
    a: Option<Side>,
    b: Option<Side>,
    score: Option<u32>,
}

/// The pairs with deletions and additions that git sees as renames joined, each at its new
/// path's place (git's output order).
fn find_renames(objects: &Objects<'_>, pairs: Vec<Pair>) -> Result<Vec<Pair>> {
    use super::rename;
    fn file(p: &Pair, s: Side) -> rename::File<'_> {
        rename::File {
            path: &p.path,
            kind: s.kind,
            id: s.id,
        }
    }
    let (mut src_at, mut dst_at) = (Vec::new(), Vec::new());
    let (mut srcs, mut dsts) = (Vec::new(), Vec::new());
    for (i, p) in pairs.iter().enumerate() {
        match (p.a, p.b) {
            (Some(a), None) => {
                src_at.push(i);
                srcs.push(file(p, a));
            }
            (None, Some(b)) => {
                dst_at.push(i);
                dsts.push(file(p, b));
            }
            _ => {}
        }
    }
    let found = rename::detect(&srcs, &dsts, |id| {
        let mut buf = Vec::new();
        objects.read(id, &mut buf, "blob")?;
        Ok(buf)
    })?;
    drop((srcs, dsts));
    if found.is_empty() {
        return Ok(pairs);
    }
    let mut pairs: Vec<Option<Pair>> = pairs.into_iter().map(Some).collect();
    let mut moved = Vec::new();
    for r in &found {
        let src = pairs[src_at[r.src]].take().expect("a source is used once");
        moved.push((dst_at[r.dst], src, r.score));
    }
    for (at, src, score) in moved {
        let dst = pairs[at].as_mut().expect("a destination is used once");
        dst.old_path = Some(src.path);
        dst.a = src.a;
        dst.score = Some(score);
    }
    Ok(pairs.into_iter().flatten().collect())
}

/// From this many files on, the line diffs run on all cores.
const PARALLEL_FROM: usize = 64;
/// Files per unit of work handed to a thread.
const CHUNK: usize = 16;

/// What git diffs for an entry, in `buf`: the blob, the link target, or
/// `Subproject commit <id>`.
fn content<'b>(objects: &Objects<'_>, s: Option<Side>, buf: &'b mut Vec<u8>) -> Result<&'b [u8]> {
    buf.clear();
    let Some(s) = s else { return Ok(buf) };
    if s.kind == EntryKind::Commit {
        buf.extend_from_slice(format!("Subproject commit {}\n", s.id).as_bytes());
        return Ok(buf);
    }
    objects.read(&s.id, buf, "blob")?;
    Ok(buf)
}

fn status_of(p: &Pair) -> Status {
    let is_file = |k: EntryKind| matches!(k, EntryKind::Blob | EntryKind::BlobExecutable);
    match (p.a, p.b) {
        _ if p.old_path.is_some() => Status::Renamed,
        (None, _) => Status::Added,
        (_, None) => Status::Deleted,
        (Some(x), Some(y)) if x.kind == y.kind || (is_file(x.kind) && is_file(y.kind)) => {
            if x.id == y.id {
                Status::ModeChanged
            } else {
                Status::Modified
            }
        }
        _ => Status::TypeChanged,
    }
}

fn file_diff(
    objects: &Objects<'_>,
    (old_buf, new_buf): &mut (Vec<u8>, Vec<u8>),
    p: &Pair,
    patch: bool,
) -> Result<FileDiff> {
    let status = status_of(p);
    // The same blob on both sides (a mode change, a rename without edits) is read once: git
    // still looks at it to call it binary, but diffs nothing.
    let same = matches!((p.a, p.b), (Some(x), Some(y)) if x.id == y.id);
    let old = content(objects, p.a, old_buf)?;
    let new: &[u8] = if same {
        old
    } else {
        content(objects, p.b, new_buf)?
    };
    let binary = is_binary(old) || is_binary(new);
    let (mut insertions, mut deletions) = (0, 0);
    let mut hunks = None;
    if !binary && !same {
        // A type change is counted as one diff of the two contents but printed as a
        // deletion followed by an addition, as git does both.
        (insertions, deletions) = line_stat(old, new);
        if patch {
            hunks = Some(if status == Status::TypeChanged {
                let mut h = unified(old, b"");
                h.extend(unified(b"", new));
                h
            } else {
                unified(old, new)
            });
        }
    } else if patch && !binary {
        hunks = Some(Vec::new());
    }
    let lossy = |p: &[u8]| String::from_utf8_lossy(p).into_owned();
    Ok(FileDiff {
        path: lossy(&p.path),
        old_path: p.old_path.as_deref().map(lossy),
        similarity: p
            .score
            .map(|s| (f64::from(s) * 100.0 / f64::from(super::rename::MAX_SCORE)) as u32),
        status,
        old: p.a,
        new: p.b,
        binary,
        insertions,
        deletions,
        hunks,
    })
}

/// git's rule: a NUL byte in the first 8000 bytes makes a file binary.
pub fn is_binary(data: &[u8]) -> bool {
    data[..data.len().min(8000)].contains(&0)
}

/// Lines added and removed, as `git diff --numstat` counts them.
pub fn line_stat(a: &[u8], b: &[u8]) -> (usize, usize) {
    super::xdiff::count(a, b)
}

/// The hunks of `git diff -U3` between two texts: `@@ -a,b +c,d @@` headers (no function
/// context), ` `/`-`/`+` lines, and `\ No newline at end of file` after a last line without one.
pub fn unified(a: &[u8], b: &[u8]) -> Vec<u8> {
    super::xdiff::unified(a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortstat_wording_matches_git() {
        let s = |files, insertions, deletions| {
            Stat {
                files,
                insertions,
                deletions,
            }
            .shortstat()
        };
        assert_eq!(s(1, 1, 0), "1 file changed, 1 insertion(+)");
        assert_eq!(s(2, 0, 3), "2 files changed, 3 deletions(-)");
        assert_eq!(
            s(1, 0, 0),
            "1 file changed, 0 insertions(+), 0 deletions(-)"
        );
        assert_eq!(
            s(3, 2, 1),
            "3 files changed, 2 insertions(+), 1 deletion(-)"
        );
    }

    #[test]
    fn hunks_mark_missing_newline() {
        let h = unified(b"a\nb", b"a\nc");
        assert_eq!(
            String::from_utf8(h).unwrap(),
            "@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+c\n\\ No newline at end of file\n"
        );
        assert_eq!(
            String::from_utf8(unified(b"", b"x\n")).unwrap(),
            "@@ -0,0 +1 @@\n+x\n"
        );
        assert_eq!(line_stat(b"a\r\n", b"a\n"), (1, 1));
    }
}
