//! Diffs between two commits, counted and printed the way `git diff --no-renames` does:
//! per-file insertions and deletions (`--numstat`), the summary line (`--shortstat`) and the
//! hunks of the unified diff (`-U3`). Trees are compared with gix; lines with `imara-diff` (the
//! Myers diff and indent heuristic of git's xdiff), fed lines with their terminators: gix's own
//! blob diff strips them and so misses CRLF and missing-final-newline changes.

use crate::{Error, Result};
use gix::objs::tree::EntryKind;
use gix::ObjectId;
use imara_diff::InternedInput;

/// How a path changed between the two trees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Added,
    Deleted,
    Modified,
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
    pub status: Status,
    pub old: Option<Side>,
    pub new: Option<Side>,
    /// Either side has a NUL byte in its first 8000 bytes; git then counts no lines.
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
        pairs.push((path.into(), a, b));
    }
    pairs.sort_by(|x, y| x.0.cmp(&y.0));

    let each = |objects: &Objects<'_>, pairs: &[Pair]| -> Vec<Result<FileDiff>> {
        let mut bufs = (Vec::new(), Vec::new());
        pairs
            .iter()
            .map(|(p, a, b)| file_diff(objects, &mut bufs, p, *a, *b, opts.patch))
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

type Pair = (Vec<u8>, Option<Side>, Option<Side>);

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

fn file_diff(
    objects: &Objects<'_>,
    (old_buf, new_buf): &mut (Vec<u8>, Vec<u8>),
    path: &[u8],
    a: Option<Side>,
    b: Option<Side>,
    patch: bool,
) -> Result<FileDiff> {
    let is_file = |k: EntryKind| matches!(k, EntryKind::Blob | EntryKind::BlobExecutable);
    let status = match (a, b) {
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
    };
    let (old, new): (&[u8], &[u8]) = if status == Status::ModeChanged {
        (b"", b"")
    } else {
        (content(objects, a, old_buf)?, content(objects, b, new_buf)?)
    };
    let binary = is_binary(old) || is_binary(new);
    let (mut insertions, mut deletions) = (0, 0);
    let mut hunks = None;
    if !binary {
        if status == Status::TypeChanged {
            // git shows a type change as a deletion followed by an addition.
            deletions = count_lines(old);
            insertions = count_lines(new);
            if patch {
                let mut h = unified(old, b"");
                h.extend(unified(b"", new));
                hunks = Some(h);
            }
        } else {
            (insertions, deletions) = line_stat(old, new);
            if patch {
                hunks = Some(unified(old, new));
            }
        }
    }
    Ok(FileDiff {
        path: String::from_utf8_lossy(path).into_owned(),
        status,
        old: a,
        new: b,
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

/// Lines as git counts them: a last line without a newline counts too.
fn count_lines(data: &[u8]) -> usize {
    data.iter().filter(|&&c| c == b'\n').count()
        + usize::from(data.last().is_some_and(|&c| c != b'\n'))
}

/// The changed line ranges, as git's xdiff finds them: Myers, then the sliders moved by the
/// indent heuristic (git's default `diff.indentHeuristic`). Lines keep their terminators, so a
/// CRLF or a missing final newline is a change, as in git.
fn hunks_of<'a>(a: &'a [u8], b: &'a [u8]) -> (Vec<imara_diff::Hunk>, InternedInput<&'a [u8]>) {
    let input = InternedInput::new(
        imara_diff::sources::byte_lines(a),
        imara_diff::sources::byte_lines(b),
    );
    let mut d = imara_diff::Diff::compute(imara_diff::Algorithm::Myers, &input);
    d.postprocess_lines(&input);
    (d.hunks().collect(), input)
}

/// The texts without the lines they share at the start, then without those they share at the
/// end of what is left, as xdiff and imara-diff trim them before diffing. Lines keep their
/// terminators, so `x` and `x\n` differ.
fn trim_common_lines<'a>(a: &'a [u8], b: &'a [u8]) -> (&'a [u8], &'a [u8]) {
    // Whole lines within the common bytes: up to the last newline among them.
    let same = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let start = if same == a.len() && same == b.len() {
        same
    } else {
        a[..same]
            .iter()
            .rposition(|&c| c == b'\n')
            .map_or(0, |i| i + 1)
    };
    let (a, b) = (&a[start..], &b[start..]);
    let same = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    if same == 0 {
        return (a, b);
    }
    // The shared tail starts a line in both texts when each has a newline (or its start)
    // right before it; otherwise the shared lines begin after its first newline.
    let line_start = |t: &[u8]| t.len() == same || t[t.len() - same - 1] == b'\n';
    let tail = if line_start(a) && line_start(b) {
        same
    } else {
        let tail = &a[a.len() - same..];
        match tail.iter().position(|&c| c == b'\n') {
            Some(i) => same - i - 1,
            None => 0,
        }
    };
    (&a[..a.len() - tail], &b[..b.len() - tail])
}

/// Lines added and removed, as `git diff --numstat` counts them. The shared head and tail are
/// trimmed first, as the diff itself does; what is left is often one-sided (lines appended or
/// cut), and then needs no diff.
pub fn line_stat(a: &[u8], b: &[u8]) -> (usize, usize) {
    if a == b {
        return (0, 0);
    }
    let (a, b) = trim_common_lines(a, b);
    if a.is_empty() || b.is_empty() {
        return (count_lines(b), count_lines(a));
    }
    let input = InternedInput::new(
        imara_diff::sources::byte_lines(a),
        imara_diff::sources::byte_lines(b),
    );
    let d = imara_diff::Diff::compute(imara_diff::Algorithm::Myers, &input);
    (d.count_additions() as usize, d.count_removals() as usize)
}

const CONTEXT: u32 = 3;

/// git's hunk range: `start,len`, `start` alone when len is 1, and the line before when empty.
fn range_str(start: u32, len: u32) -> String {
    match len {
        0 => format!("{start},0"),
        1 => format!("{}", start + 1),
        n => format!("{},{n}", start + 1),
    }
}

/// The hunks of `git diff -U3` between two texts: `@@ -a,b +c,d @@` headers (no function
/// context), ` `/`-`/`+` lines, and `\ No newline at end of file` after a last line without one.
pub fn unified(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    if a == b {
        return out;
    }
    let (hunks, input) = hunks_of(a, b);
    let (old, new) = (&input.before, &input.after);
    let (old_n, new_n) = (old.len() as u32, new.len() as u32);
    let tok = |t: imara_diff::Token| -> &[u8] { input.interner[t] };
    let line = |out: &mut Vec<u8>, tag: u8, text: &[u8]| {
        out.push(tag);
        out.extend_from_slice(text);
        if !text.ends_with(b"\n") {
            out.extend_from_slice(b"\n\\ No newline at end of file\n");
        }
    };
    // Changes closer than twice the context share one hunk, as in git.
    let mut i = 0;
    while i < hunks.len() {
        let mut j = i;
        while j + 1 < hunks.len() && hunks[j + 1].before.start - hunks[j].before.end <= 2 * CONTEXT
        {
            j += 1;
        }
        let (first, last) = (&hunks[i], &hunks[j]);
        let pre = first.before.start.min(CONTEXT);
        let post = (old_n - last.before.end).min(CONTEXT);
        let (o0, n0) = (first.before.start - pre, first.after.start - pre);
        let (o1, n1) = (last.before.end + post, last.after.end + post);
        let _ = new_n;
        out.extend_from_slice(
            format!(
                "@@ -{} +{} @@\n",
                range_str(o0, o1 - o0),
                range_str(n0, n1 - n0)
            )
            .as_bytes(),
        );
        let mut at = o0;
        for h in &hunks[i..=j] {
            for k in at..h.before.start {
                line(&mut out, b' ', tok(old[k as usize]));
            }
            for k in h.before.clone() {
                line(&mut out, b'-', tok(old[k as usize]));
            }
            for k in h.after.clone() {
                line(&mut out, b'+', tok(new[k as usize]));
            }
            at = h.before.end;
        }
        for k in at..o1 {
            line(&mut out, b' ', tok(old[k as usize]));
        }
        i = j + 1;
    }
    out
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

    #[test]
    fn trimming_keeps_whole_lines_with_their_terminators() {
        let t = |a: &str, b: &str| {
            let (x, y) = trim_common_lines(a.as_bytes(), b.as_bytes());
            (
                String::from_utf8(x.to_vec()).unwrap(),
                String::from_utf8(y.to_vec()).unwrap(),
            )
        };
        let s = |a: &str, b: &str| (a.to_string(), b.to_string());
        assert_eq!(t("a\nb\n", "a\nb\nc\n"), s("", "c\n"));
        assert_eq!(t("a\nb", "a\nb\n"), s("b", "b\n"));
        assert_eq!(t("x\ny\n", "z\ny\n"), s("x\n", "z\n"));
        assert_eq!(t("ab\nc\n", "b\nc\n"), s("ab\n", "b\n"));
        assert_eq!(t("a\nxc\n", "a\nyc\n"), s("xc\n", "yc\n"));
        assert_eq!(t("c\n", "b\nc\n"), s("", "b\n"));
        assert_eq!(t("", "a"), s("", "a"));
        assert_eq!(t("a\na\n", "a\n"), s("a\n", ""));
        for (a, b) in [
            ("a\nb", "a\nb\n"),
            ("p\nq\nr\n", "p\nX\nq\nr\n"),
            ("1\n2\n3\n4\n", "1\n3\n2\n4\n"),
            ("ab\nc\n", "b\nc\n"),
        ] {
            // The same counts as a diff of the untrimmed texts.
            let input = InternedInput::new(
                imara_diff::sources::byte_lines(a.as_bytes()),
                imara_diff::sources::byte_lines(b.as_bytes()),
            );
            let d = imara_diff::Diff::compute(imara_diff::Algorithm::Myers, &input);
            assert_eq!(
                line_stat(a.as_bytes(), b.as_bytes()),
                (d.count_additions() as usize, d.count_removals() as usize),
                "{a:?} {b:?}"
            );
        }
    }
}
