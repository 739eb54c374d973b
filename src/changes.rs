//! CHANGES.md, built from the git diff of the execute phase.
//!
//! The range is the one session.json records (`execute_range`): `base` is HEAD just before
//! the task entered execute, `head` HEAD when it left (HEAD itself while the task is still in
//! execute). Everything under `.orchestration/` is left out of the diff, and commits that
//! changed nothing outside it (orch's own transitions, events, links, CHANGES.md itself) are
//! left out of the commit list, so regenerating the file after orch's own commits gives the
//! same bytes.

use crate::code::TaskCode;
use crate::diagnostic::Diagnostic;
use crate::git::diff::{self, FileDiff, Stat, Status};
use crate::git::history;
use crate::project::{Project, ORCH_DIR};
use crate::session::{ExecuteRange, Session};
use crate::{Error, Result};
use gix::ObjectId;
use serde::Serialize;

pub const FILE: &str = "CHANGES.md";

/// What the caller wants beyond the recorded range.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Include the unified diff of each text file.
    pub patch: bool,
    /// Use this commit as the base instead of the recorded one (re-recorded when written).
    pub base: Option<String>,
    /// Use this commit as the head instead of the recorded one (re-recorded when written).
    pub head: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CommitInfo {
    pub id: String,
    pub short: String,
    pub subject: String,
    /// The `Orchestration-Phase` trailer, when the commit has one.
    pub phase: Option<String>,
    pub merge: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileEntry {
    pub path: String,
    /// Where a renamed file came from.
    pub old_path: Option<String>,
    /// How similar a renamed file is to its source, in percent.
    pub similarity: Option<u32>,
    pub status: Status,
    pub old_mode: Option<String>,
    pub new_mode: Option<String>,
    pub binary: bool,
    pub insertions: usize,
    pub deletions: usize,
}

/// The execute phase's changes of one task.
#[derive(Debug, Clone)]
pub struct Changes {
    pub task: String,
    pub title: String,
    /// `None`: the task entered execute on an unborn branch; the diff starts from nothing.
    pub base: Option<ObjectId>,
    pub head: ObjectId,
    pub stat: Stat,
    pub files: Vec<FileDiff>,
    /// Oldest first.
    pub commits: Vec<CommitInfo>,
    /// Commits in the range that changed only `.orchestration/`.
    pub orch_only_commits: usize,
    pub patch: bool,
    /// The recorded range is no longer in HEAD's history (see [`off_branch`]).
    pub off_branch: Option<Diagnostic>,
}

impl Changes {
    pub fn file_entries(&self) -> Vec<FileEntry> {
        self.files
            .iter()
            .map(|f| FileEntry {
                path: f.path.clone(),
                old_path: f.old_path.clone(),
                similarity: f.similarity,
                status: f.status,
                old_mode: f.old.map(|s| diff::mode_str(s.kind).to_string()),
                new_mode: f.new.map(|s| diff::mode_str(s.kind).to_string()),
                binary: f.binary,
                insertions: f.insertions,
                deletions: f.deletions,
            })
            .collect()
    }
}

fn short(id: &ObjectId) -> String {
    // Fixed length, not git's auto length: the file must not change as the repository grows.
    id.to_hex_with_len(7).to_string()
}

/// The range recorded for a task: the current session's, else the latest earlier session's.
pub fn recorded_range(s: &Session) -> Option<ExecuteRange> {
    s.execute_range.clone().or_else(|| {
        s.previous_sessions
            .iter()
            .rev()
            .find_map(|p| p.execute_range.clone())
    })
}

/// Whether the task is in the execute phase now, so its range is still open.
pub fn in_execute(p: &Project, s: &Session) -> bool {
    s.active
        && p.workflow
            .phase("execute")
            .is_some_and(|e| e.name == s.current_phase)
}

fn recorded_commit(
    repo: &gix::Repository,
    code: &TaskCode,
    what: &str,
    hex: &str,
) -> Result<ObjectId> {
    let fix = format!(
        "if the history was rewritten (rebase, squash), name the commits the work now spans: `orch changes {code} --base <commit> [--head <commit>]` (e.g. --base $(git merge-base main HEAD)); this re-records the range"
    );
    let id = ObjectId::from_hex(hex.as_bytes()).map_err(|_| {
        Error::state(format!("{code}: session.json records the execute phase's {what} as {hex:?}, which is not a commit id"))
            .with_hint(fix.clone())
    })?;
    match repo.try_find_object(id) {
        Ok(Some(o)) if o.kind == gix::object::Kind::Commit => Ok(id),
        _ => Err(Error::state(format!(
            "{code}: commit {} recorded as the execute phase's {what} is not in this repository",
            short(&id)
        ))
        .with_hint(fix)),
    }
}

/// Base and head of the diff for a task, checked against the repository.
fn range(
    p: &Project,
    code: &TaskCode,
    s: Option<&Session>,
    opts: &Options,
) -> Result<(Option<ObjectId>, ObjectId)> {
    let repo = &p.git.repo;
    let rec = s.and_then(recorded_range);
    let head_now = || -> Result<ObjectId> {
        p.git.head_id()?.ok_or_else(|| {
            Error::state(format!(
                "{code}: the branch has no commits yet, so there are no changes to describe"
            ))
            .with_hint("commit the work first")
        })
    };
    let base = match (&opts.base, &rec) {
        (Some(b), _) => Some(history::resolve_commit(repo, b)?),
        (None, Some(r)) => match &r.base {
            Some(b) => Some(recorded_commit(repo, code, "base", b)?),
            None => None,
        },
        (None, None) => {
            return Err(Error::state(format!(
                "{code} never reached the execute phase, so there are no code changes to describe"
            ))
            .with_hint(format!(
                "the range starts when the task enters execute (`orch phase complete {code}` from plan); or name it: `orch changes {code} --base <commit>`"
            )))
        }
    };
    let head = match (&opts.head, &rec) {
        (Some(h), _) => history::resolve_commit(repo, h)?,
        (None, Some(r)) if !s.is_some_and(|s| in_execute(p, s)) => match &r.head {
            Some(h) => recorded_commit(repo, code, "head", h)?,
            None => head_now()?,
        },
        _ => head_now()?,
    };
    Ok((base, head))
}

/// A warning when an end of the recorded execute range is no longer in HEAD's history — a
/// rebase, an amend or a reset rewrote the commits — with the `orch changes --base/--head`
/// that re-records the range from the task's transition commits as HEAD's history has them.
pub fn off_branch(p: &Project, code: &TaskCode, s: &Session) -> Result<Option<Diagnostic>> {
    let (Some(r), Some(head)) = (recorded_range(s), p.git.head_id()?) else {
        return Ok(None);
    };
    let repo = &p.git.repo;
    let live = in_execute(p, s);
    let ends = [
        ("base", r.base.as_deref()),
        ("head", r.head.as_deref().filter(|_| !live)),
    ];
    let mut gone = vec![];
    for (what, hex) in ends {
        // An id that names no commit here has its own error where the range is used.
        let Some(id) = hex
            .and_then(|h| ObjectId::from_hex(h.as_bytes()).ok())
            .filter(|id| history::commit_tree_parents(repo, *id).is_ok())
        else {
            continue;
        };
        if !history::reaches(repo, id, &[head])? {
            gone.push(format!("{what} {}", short(&id)));
        }
    }
    if gone.is_empty() {
        return Ok(None);
    }
    let (base, end) = spans(p, code, head)?;
    let mut fix = match base {
        Some(b) => format!("orch changes {code} --base {}", short(&b)),
        None => format!("orch changes {code} --base <commit before the execute work>"),
    };
    if let (Some(e), false) = (end, live) {
        fix.push_str(&format!(" --head {}", short(&e)));
    }
    Ok(Some(Diagnostic::warning(
        "range_off_branch",
        &format!("{}/session.json", p.task_rel(code)),
        format!(
            "{code}: the execute range's {} {} no longer in HEAD's history (rewritten by a rebase, an amend or a reset), so CHANGES.md would describe commits the branch does not have",
            gone.join(" and "),
            if gone.len() == 1 { "is" } else { "are" }
        ),
        format!("re-record the range from the commits the work spans now: `{fix}`"),
    )))
}

/// Where `code`'s execute work lies in HEAD's history: the parent of the oldest transition
/// into execute, and the parent of the newest transition out of it (`None` when not found).
fn spans(
    p: &Project,
    code: &TaskCode,
    head: ObjectId,
) -> Result<(Option<ObjectId>, Option<ObjectId>)> {
    let Some(exec) = p.workflow.phase("execute").map(|e| e.name.clone()) else {
        return Ok((None, None));
    };
    let log = history::path_log(&p.git.repo, &[head], &p.task_rel(code))?;
    let prefix = format!("orch({code}): ");
    let subject = |m: &history::CommitMeta| m.subject().strip_prefix(&prefix).map(str::to_string);
    let into = format!(" -> {exec}");
    let out_of = format!("{exec} -> ");
    // `path_log` is newest first.
    let base = log
        .iter()
        .rev()
        .find(|m| subject(m).is_some_and(|s| s.contains(&into)))
        .and_then(|m| m.parents.first().copied());
    let end = log
        .iter()
        .find(|m| subject(m).is_some_and(|s| s.starts_with(&out_of)))
        .and_then(|m| m.parents.first().copied());
    Ok((base, end))
}

/// Whether a commit changed anything outside `.orchestration/` against its first parent,
/// by comparing the root trees' other entries (cheap: one tree read per side).
fn touches_code(repo: &gix::Repository, commit: &gix::Commit<'_>) -> Result<bool> {
    let entries = |tree: Option<ObjectId>| -> Result<Vec<(Vec<u8>, ObjectId, u16)>> {
        let Some(t) = tree else { return Ok(vec![]) };
        let obj = repo
            .find_object(t)
            .map_err(|e| Error::runtime(format!("cannot read tree {t}: {e}")))?;
        let tree = obj.into_tree();
        let decoded = tree
            .decode()
            .map_err(|e| Error::runtime(format!("cannot decode tree {t}: {e}")))?;
        Ok(decoded
            .entries
            .iter()
            .filter(|e| e.filename != ORCH_DIR)
            .map(|e| (e.filename.to_vec(), e.oid.to_owned(), e.mode.value()))
            .collect())
    };
    let mine = commit
        .tree_id()
        .map_err(|e| Error::runtime(format!("cannot read commit {}: {e}", commit.id)))?
        .detach();
    let parent = match commit.parent_ids().next() {
        Some(pid) => Some(diff::tree_of(repo, Some(pid.detach()))?),
        None => None,
    };
    Ok(entries(Some(mine))? != entries(parent)?)
}

/// The commits in `base..head`, oldest first, and how many changed only `.orchestration/`.
/// Fails when `base` is not an ancestor of `head`.
fn commits(
    p: &Project,
    code: &TaskCode,
    base: Option<ObjectId>,
    head: ObjectId,
) -> Result<(Vec<CommitInfo>, usize)> {
    // Each commit's root tree is compared with its parent's: caches keep a long range from
    // inflating the same delta bases over and over.
    let repo = &crate::git::history::for_walking(&p.git.repo);
    if Some(head) == base {
        return Ok((vec![], 0));
    }
    let walk = repo
        .rev_walk([head])
        .sorting(gix::revision::walk::Sorting::ByCommitTime(
            Default::default(),
        ))
        .with_hidden(base)
        .all()
        .map_err(|e| Error::runtime(format!("cannot walk history from {head}: {e}")))?;
    let mut out = Vec::new();
    let mut orch_only = 0;
    let mut reached_base = base.is_none();
    for info in walk {
        let info =
            info.map_err(|e| Error::runtime(format!("cannot walk history from {head}: {e}")))?;
        let commit = info
            .object()
            .map_err(|e| Error::runtime(format!("cannot read commit {}: {e}", info.id)))?;
        let parents: Vec<ObjectId> = commit.parent_ids().map(|i| i.detach()).collect();
        if base.is_some_and(|b| parents.contains(&b)) {
            reached_base = true;
        }
        if !touches_code(repo, &commit)? {
            orch_only += 1;
            continue;
        }
        let decoded = commit
            .decode()
            .map_err(|e| Error::runtime(format!("cannot decode commit {}: {e}", info.id)))?;
        let phase = decoded
            .message_trailers()
            .find(|t| t.token.eq_ignore_ascii_case(b"Orchestration-Phase"))
            .map(|t| t.value.to_string());
        out.push(CommitInfo {
            id: info.id.to_string(),
            short: short(&info.id),
            subject: decoded.message_summary().to_string(),
            phase,
            merge: parents.len() > 1,
        });
    }
    if !reached_base {
        let b = base.expect("checked");
        return Err(Error::state(format!(
            "{code}: the execute phase's base {} is not an ancestor of {}; the history was rewritten (rebase, squash?)",
            short(&b),
            short(&head)
        ))
        .with_hint(format!(
            "name the commit the work now starts from: `orch changes {code} --base <commit>` (e.g. --base $(git merge-base main HEAD)); this re-records the range"
        )));
    }
    out.reverse();
    Ok((out, orch_only))
}

/// The execute phase's changes of a task.
pub fn compute(
    p: &Project,
    code: &TaskCode,
    session: Option<&Session>,
    opts: &Options,
) -> Result<Changes> {
    let (base, head) = range(p, code, session, opts)?;
    let (commits, orch_only_commits) = commits(p, code, base, head)?;
    let files = diff::diff(
        &p.git.repo,
        base,
        Some(head),
        &diff::Options {
            exclude: vec![ORCH_DIR.to_string()],
            patch: opts.patch,
        },
    )?;
    let title = p.load_doc(code).map(|d| d.title()).unwrap_or_default();
    Ok(Changes {
        task: code.to_string(),
        title,
        base,
        head,
        stat: Stat::of(&files),
        files,
        commits,
        orch_only_commits,
        patch: opts.patch,
        off_branch: None,
    })
}

/// [`compute`] for a reader, with the warning when the recorded range is no longer in HEAD's
/// history. Transitions regenerating CHANGES.md use `compute` and skip that walk.
pub fn compute_checked(
    p: &Project,
    code: &TaskCode,
    session: Option<&Session>,
    opts: &Options,
) -> Result<Changes> {
    let mut c = compute(p, code, session, opts)?;
    if let (Some(s), None, None) = (session, &opts.base, &opts.head) {
        c.off_branch = off_branch(p, code, s)?;
    }
    Ok(c)
}

fn md_code(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    push_md_code(&mut out, s);
    out
}

/// `s` as inline code, with `|` escaped for tables.
fn push_md_code(out: &mut String, s: &str) {
    let (open, close) = if s.contains('`') {
        ("`` ", " ``")
    } else {
        ("`", "`")
    };
    out.push_str(open);
    for (i, part) in s.split('|').enumerate() {
        if i > 0 {
            out.push_str("\\|");
        }
        out.push_str(part);
    }
    out.push_str(close);
}

fn md_cell(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\r', '\n'], " ")
}

/// CHANGES.md: deterministic (no clock, fixed-length ids) so regenerating it changes nothing.
pub fn render(c: &Changes) -> String {
    let mut s = String::new();
    render_header(c, &mut s);
    render_files(c, &mut s);
    render_commits(c, &mut s);
    if c.patch {
        render_patch(c, &mut s);
    }
    s
}

fn render_header(c: &Changes, s: &mut String) {
    let title = if c.title.is_empty() {
        String::new()
    } else {
        format!(": {}", c.title)
    };
    s.push_str(&format!("# Changes of {}{title}\n\n", c.task));
    let base = c
        .base
        .as_ref()
        .map_or("(empty tree)".to_string(), |b| format!("`{}`", short(b)));
    // The newest listed commit stands for the head, so orch's own later commits (which
    // change only .orchestration/) leave the file as it is.
    let head = c
        .commits
        .last()
        .map(|x| format!("`{}`", x.short))
        .unwrap_or_else(|| base.clone());
    let n = c.commits.len();
    s.push_str(&format!(
        "Execute phase: {base}..{head}, {n} commit{}; `{ORCH_DIR}/` is left out.\n\n",
        if n == 1 { "" } else { "s" }
    ));
}

fn render_files(c: &Changes, s: &mut String) {
    if c.files.is_empty() {
        s.push_str("No code changes.\n");
        return;
    }
    s.push_str(&format!("**{}**\n\n", c.stat.shortstat()));
    s.push_str("| File | Status | + | − |\n|---|---|--:|--:|\n");
    s.reserve(c.files.iter().map(|f| f.path.len() + 32).sum());
    for f in &c.files {
        file_row(f, s);
    }
}

/// One row of the file table, written in place: the table has a row per file.
fn file_row(f: &FileDiff, s: &mut String) {
    use std::fmt::Write as _;
    s.push_str("| ");
    push_md_code(s, &display_path(f));
    s.push_str(" | ");
    s.push_str(f.status.as_str());
    if let Some(pct) = f.similarity {
        let _ = write!(s, " ({pct}%)");
    }
    let mode = diff::mode_str;
    match (f.status, f.old, f.new) {
        (Status::ModeChanged | Status::TypeChanged, Some(a), Some(b)) => {
            let _ = write!(s, " {} → {}", mode(a.kind), mode(b.kind));
        }
        (Status::Modified | Status::Renamed, Some(a), Some(b)) if a.kind != b.kind => {
            let _ = write!(s, ", mode {} → {}", mode(a.kind), mode(b.kind));
        }
        (_, _, Some(b)) | (_, Some(b), None) if b.kind == gix::objs::tree::EntryKind::Link => {
            s.push_str(" (symlink)")
        }
        _ => {}
    }
    if f.binary {
        s.push_str(", binary | - | - |\n");
    } else {
        let _ = writeln!(s, " | {} | {} |", f.insertions, f.deletions);
    }
}

fn render_commits(c: &Changes, s: &mut String) {
    s.push_str("\n## Commits\n\n");
    // orch's own commits (only `.orchestration/`) are left out: the file must read the same
    // after orch commits it.
    if c.commits.is_empty() {
        s.push_str("No commits changed code in this range.\n");
        return;
    }
    s.push_str("| Commit | Phase | Subject |\n|---|---|---|\n");
    for x in &c.commits {
        let subject = if x.merge {
            format!("{} (merge)", md_cell(&x.subject))
        } else {
            md_cell(&x.subject)
        };
        s.push_str(&format!(
            "| `{}` | {} | {subject} |\n",
            x.short,
            x.phase
                .as_deref()
                .map(md_cell)
                .unwrap_or_else(|| "—".into())
        ));
    }
    s.push_str(&format!(
        "\nCommits that changed only `{ORCH_DIR}/` are not listed.\n"
    ));
}

fn render_patch(c: &Changes, s: &mut String) {
    s.push_str("\n## Patch\n");
    for f in &c.files {
        s.push_str(&format!("\n### {}\n\n", md_code(&display_path(f))));
        match &f.hunks {
            _ if f.binary => s.push_str("Binary file, not shown.\n"),
            Some(h) if !h.is_empty() => {
                let text = String::from_utf8_lossy(h);
                let fence = "`".repeat(longest_backtick_run(&text).max(2) + 1);
                s.push_str(&format!("{fence}diff\n{text}{fence}\n"));
            }
            _ => s.push_str("No text changes.\n"),
        }
    }
}

/// The path as git's `--stat` prints it: a rename as `dir/{old => new}.rs`.
fn display_path(f: &FileDiff) -> std::borrow::Cow<'_, str> {
    match &f.old_path {
        Some(old) => crate::git::rename::pprint(old, &f.path).into(),
        None => f.path.as_str().into(),
    }
}

fn longest_backtick_run(s: &str) -> usize {
    s.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_code_escapes_pipes_and_fences_backticks() {
        assert_eq!(md_code("src/a.rs"), "`src/a.rs`");
        assert_eq!(md_code("a|b|c"), "`a\\|b\\|c`");
        assert_eq!(md_code("a`b|"), "`` a`b\\| ``");
        assert_eq!(md_code(""), "``");
    }
}
