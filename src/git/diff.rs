//! Diffs between two commits, counted and printed the way `git diff --no-renames` does:
//! per-file insertions and deletions (`--numstat`), the summary line (`--shortstat`) and the
//! hunks of the unified diff (`-U3`). Trees are compared with gix; lines with `imara-diff` (the
//! Myers diff and indent heuristic of git's xdiff), fed lines with their terminators: gix's own
//! blob diff strips them and so misses CRLF and missing-final-newline changes.

use crate::{Error, Result};
use gix::bstr::ByteSlice;
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

fn tree_bytes(repo: &gix::Repository, tree: ObjectId) -> Result<Vec<u8>> {
    if tree == ObjectId::empty_tree(repo.object_hash()) {
        return Ok(Vec::new());
    }
    Ok(repo
        .find_object(tree)
        .map_err(|e| rt(&format!("cannot read tree {tree}"), e))?
        .detach()
        .data)
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
    let (da, db) = (tree_bytes(repo, ta)?, tree_bytes(repo, tb)?);
    let mut rec = gix::diff::tree::Recorder::default();
    gix::diff::tree(
        gix::objs::TreeRefIter::from_bytes(&da, repo.object_hash()),
        gix::objs::TreeRefIter::from_bytes(&db, repo.object_hash()),
        &mut gix::diff::tree::State::default(),
        &repo.objects,
        &mut rec,
    )
    .map_err(|e| rt("cannot compare trees", e))?;

    use gix::diff::tree::recorder::Change;
    let mut pairs: Vec<(Vec<u8>, Option<Side>, Option<Side>)> = Vec::new();
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

    pairs
        .iter()
        .map(|(p, a, b)| file_diff(repo, p, *a, *b, opts.patch))
        .collect()
}

/// What git diffs for an entry: the blob, the link target, or `Subproject commit <id>`.
fn content(repo: &gix::Repository, s: Option<Side>) -> Result<Vec<u8>> {
    let Some(s) = s else { return Ok(Vec::new()) };
    if s.kind == EntryKind::Commit {
        return Ok(format!("Subproject commit {}\n", s.id).into_bytes());
    }
    Ok(repo
        .find_object(s.id)
        .map_err(|e| rt(&format!("cannot read blob {}", s.id), e))?
        .detach()
        .data)
}

fn file_diff(
    repo: &gix::Repository,
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
    let (old, new) = if status == Status::ModeChanged {
        (Vec::new(), Vec::new())
    } else {
        (content(repo, a)?, content(repo, b)?)
    };
    let binary = is_binary(&old) || is_binary(&new);
    let (mut insertions, mut deletions) = (0, 0);
    let mut hunks = None;
    if !binary {
        if status == Status::TypeChanged {
            // git shows a type change as a deletion followed by an addition.
            deletions = count_lines(&old);
            insertions = count_lines(&new);
            if patch {
                let mut h = unified(&old, b"");
                h.extend(unified(b"", &new));
                hunks = Some(h);
            }
        } else {
            (insertions, deletions) = line_stat(&old, &new);
            if patch {
                hunks = Some(unified(&old, &new));
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

fn count_lines(data: &[u8]) -> usize {
    data.lines_with_terminator().count()
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

/// Lines added and removed, as `git diff --numstat` counts them.
pub fn line_stat(a: &[u8], b: &[u8]) -> (usize, usize) {
    if a == b {
        return (0, 0);
    }
    if a.is_empty() || b.is_empty() {
        return (count_lines(b), count_lines(a));
    }
    let (hunks, _) = hunks_of(a, b);
    hunks
        .iter()
        .fold((0, 0), |(i, d), h| (i + h.after.len(), d + h.before.len()))
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
}
