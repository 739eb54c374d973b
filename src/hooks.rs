//! Git hooks: installing the shims into the hooks folder git really uses, and what each hook
//! checks — staged transitions (pre-commit), trailers (commit-msg), pushed history (pre-push).

use crate::git::history::{self, Node};
use crate::project::{Project, ORCH_DIR};
use crate::session::Session;
use crate::verify::{self, At, IndexSnapshot, RuleSet, TaskFiles, Violation, TASKS_DIR};
use crate::{Error, Result};
use gix::bstr::{BStr, ByteSlice};
use gix::ObjectId;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

pub const HOOKS: [&str; 3] = ["pre-commit", "commit-msg", "pre-push"];
/// Marks a hook file as orch's own.
pub const MARKER: &str = "# orch-managed-hook";
/// A user's hook that orch's shim runs first is kept under this suffix.
pub const CHAINED: &str = ".orch-chained";

/// The hooks folder git uses: `core.hooksPath` (relative to the worktree root), else
/// `<common dir>/hooks` — linked worktrees share the main repository's hooks.
pub fn hooks_dir(repo: &gix::Repository, workdir: &Path, common_dir: &Path) -> Result<PathBuf> {
    match repo.config_snapshot().trusted_path("core.hooksPath") {
        Ok(Some(p)) if p.is_absolute() => Ok(p),
        Ok(Some(p)) => Ok(workdir.join(p)),
        Ok(None) => Ok(common_dir.join("hooks")),
        Err(e) => Err(Error::usage(format!("core.hooksPath cannot be read: {e}"))
            .with_hint("fix core.hooksPath with `git config core.hooksPath <dir>`")),
    }
}

/// The shim for `name`: runs a chained user hook first, then `orch hook <name>`.
pub fn shim(name: &str) -> String {
    let missing = format!(
        "echo \"orch {name} hook: the orch command is not on PATH; install orch or put it on PATH (skip the hook once with --no-verify, or remove the hooks with 'orch hooks uninstall')\" >&2\n    exit 1"
    );
    let (chain, run) = if name == "pre-push" {
        (
            "input=$(cat)\nif [ -x \"$0.orch-chained\" ]; then\n    printf '%s\\n' \"$input\" | \"$0.orch-chained\" \"$@\" || exit $?\nfi",
            "printf '%s\\n' \"$input\" | orch hook pre-push \"$@\"",
        )
    } else {
        (
            "if [ -x \"$0.orch-chained\" ]; then\n    \"$0.orch-chained\" \"$@\" || exit $?\nfi",
            match name {
                "pre-commit" => "exec orch hook pre-commit \"$@\"",
                _ => "exec orch hook commit-msg \"$@\"",
            },
        )
    };
    format!(
        "#!/bin/sh\n{MARKER}: installed by `orch hooks install`; `orch hooks uninstall` removes it and\n# restores the hook it replaced. A hook that was here before runs first as {name}{CHAINED}.\n{chain}\nif ! command -v orch >/dev/null 2>&1; then\n    {missing}\nfi\n{run}\n"
    )
}

#[derive(Debug, Clone, Serialize)]
pub struct HookAction {
    pub hook: String,
    pub path: String,
    /// installed, updated, unchanged, chained, removed, restored, left, absent
    pub action: String,
    /// The user's hook that runs first, when there is one.
    pub chained: Option<String>,
}

fn is_ours(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|b| b.find(MARKER.as_bytes()).is_some())
}

fn exists(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

fn write_shim(path: &Path, name: &str) -> Result<()> {
    crate::store::write_atomic(path, shim(name).as_bytes())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| Error::io(path, e))?;
    }
    Ok(())
}

fn rename(from: &Path, to: &Path) -> Result<()> {
    std::fs::rename(from, to).map_err(|e| {
        Error::runtime(format!(
            "cannot move {} to {}: {e}",
            from.display(),
            to.display()
        ))
    })
}

/// Installs the shims. A hook that is not orch's is kept as `<name>.orch-chained` and run
/// first (its failure fails the hook). If one is already kept there, the install is refused
/// unless `force`, which keeps the older one as `<name>.orch-chained.old`.
pub fn install(dir: &Path, force: bool) -> Result<Vec<HookAction>> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    for name in HOOKS {
        let path = dir.join(name);
        let chained = dir.join(format!("{name}{CHAINED}"));
        if exists(&path) && !is_ours(&path) && exists(&chained) && !force {
            return Err(Error::conflict(format!(
                "{} is not orch's hook, and {} already holds another chained hook",
                path.display(),
                chained.display()
            ))
            .with_hint("merge the two by hand, or run `orch hooks install --force` to keep the older one as <name>.orch-chained.old"));
        }
    }
    let mut out = vec![];
    for name in HOOKS {
        let path = dir.join(name);
        let chained = dir.join(format!("{name}{CHAINED}"));
        let action = if !exists(&path) {
            write_shim(&path, name)?;
            "installed"
        } else if is_ours(&path) {
            if std::fs::read_to_string(&path).is_ok_and(|t| t == shim(name)) {
                "unchanged"
            } else {
                write_shim(&path, name)?;
                "updated"
            }
        } else {
            if exists(&chained) {
                rename(&chained, &dir.join(format!("{name}{CHAINED}.old")))?;
            }
            rename(&path, &chained)?;
            write_shim(&path, name)?;
            "chained"
        };
        out.push(HookAction {
            hook: name.into(),
            path: path.display().to_string(),
            action: action.into(),
            chained: exists(&chained).then(|| chained.display().to_string()),
        });
    }
    Ok(out)
}

/// Removes orch's shims and puts back the hooks they chained, byte for byte.
pub fn uninstall(dir: &Path) -> Result<Vec<HookAction>> {
    let mut out = vec![];
    for name in HOOKS {
        let path = dir.join(name);
        let chained = dir.join(format!("{name}{CHAINED}"));
        let action = if exists(&path) && !is_ours(&path) {
            "left"
        } else if !exists(&path) && !exists(&chained) {
            "absent"
        } else {
            if exists(&path) {
                std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
            }
            if exists(&chained) {
                rename(&chained, &path)?;
                "restored"
            } else {
                "removed"
            }
        };
        out.push(HookAction {
            hook: name.into(),
            path: path.display().to_string(),
            action: action.into(),
            chained: None,
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// what is staged: the index against HEAD's tree

/// A path whose index entry differs from HEAD's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staged {
    pub path: String,
    pub head: Option<ObjectId>,
    pub index: Option<ObjectId>,
}

/// The index git commits from: `GIT_INDEX_FILE` (set by `git commit -a` / `git commit <paths>`)
/// or the repository's own.
pub fn read_index(repo: &gix::Repository) -> Result<Option<gix::index::File>> {
    let path = match std::env::var_os("GIT_INDEX_FILE") {
        Some(p) if !p.is_empty() => std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_default(),
        _ => repo.index_path(),
    };
    if !path.exists() {
        return Ok(None);
    }
    gix::index::File::at(&path, repo.object_hash(), true, Default::default())
        .map(Some)
        .map_err(|e| Error::runtime(format!("cannot read the index {}: {e}", path.display())))
}

struct Differ<'a> {
    repo: &'a gix::Repository,
    index: &'a gix::index::State,
    first_only: bool,
    skip_top: Option<&'a str>,
    out: Vec<Staged>,
}

fn find_child<'t>(
    t: Option<&'t gix::index::extension::Tree>,
    name: &[u8],
) -> Option<&'t gix::index::extension::Tree> {
    t.and_then(|t| t.children.iter().find(|c| c.name.as_slice() == name))
}

impl Differ<'_> {
    fn done(&self) -> bool {
        self.first_only && !self.out.is_empty()
    }

    /// Compares index entries `range` (all below `prefix`, which ends in `/` or is empty) with
    /// the HEAD tree `head`, skipping folders whose cached tree id equals HEAD's.
    fn dir(
        &mut self,
        range: std::ops::Range<usize>,
        prefix: &[u8],
        cache: Option<&gix::index::extension::Tree>,
        head: Option<ObjectId>,
    ) -> Result<()> {
        if let (Some(c), Some(h)) = (cache, head) {
            if c.num_entries.is_some_and(|n| n as usize == range.len()) && c.id == h {
                return Ok(());
            }
        }
        let listing: HashMap<Vec<u8>, Node> = match head {
            Some(h) => history::list_tree(self.repo, h)?
                .into_iter()
                .map(|(n, node)| (n.into_bytes(), node))
                .collect(),
            None => HashMap::new(),
        };
        let mut seen: HashSet<Vec<u8>> = HashSet::new();
        let entries = self.index.entries();
        let mut i = range.start;
        while i < range.end && !self.done() {
            let e = &entries[i];
            let path: &BStr = e.path(self.index);
            let rest = &path[prefix.len()..];
            if let Some(slash) = rest.find_byte(b'/') {
                let name = rest[..slash].to_vec();
                let sub: Vec<u8> = path[..prefix.len() + slash + 1].to_vec();
                let end = i + entries[i..range.end]
                    .partition_point(|x| x.path(self.index).starts_with(&sub));
                let skip = prefix.is_empty()
                    && self
                        .skip_top
                        .is_some_and(|s| s.as_bytes() == name.as_slice());
                if !skip {
                    let h = listing
                        .get(&name)
                        .filter(|n| n.mode.is_tree())
                        .map(|n| n.id);
                    self.dir(i..end, &sub, find_child(cache, &name), h)?;
                }
                seen.insert(name);
                i = end;
                continue;
            }
            let name = rest.to_vec();
            let h = listing.get(&name).filter(|n| !n.mode.is_tree());
            let same = e.stage() == gix::index::entry::Stage::Unconflicted
                && h.is_some_and(|n| n.id == e.id && n.mode.value() as u32 == e.mode.bits());
            if !same {
                self.out.push(Staged {
                    path: path.to_str_lossy().into_owned(),
                    head: h.map(|n| n.id),
                    index: Some(e.id),
                });
            }
            seen.insert(name);
            i += 1;
        }
        if self.done() {
            return Ok(());
        }
        for (name, node) in listing {
            if seen.contains(&name)
                || (prefix.is_empty()
                    && self
                        .skip_top
                        .is_some_and(|s| s.as_bytes() == name.as_slice()))
            {
                continue;
            }
            let path = format!("{}{}", prefix.to_str_lossy(), name.to_str_lossy());
            if node.mode.is_tree() {
                self.deleted_tree(node.id, &path)?;
            } else {
                self.out.push(Staged {
                    path,
                    head: Some(node.id),
                    index: None,
                });
            }
            if self.done() {
                return Ok(());
            }
        }
        Ok(())
    }

    fn deleted_tree(&mut self, tree: ObjectId, path: &str) -> Result<()> {
        for (name, node) in history::list_tree(self.repo, tree)? {
            let p = format!("{path}/{name}");
            if node.mode.is_tree() {
                self.deleted_tree(node.id, &p)?;
            } else {
                self.out.push(Staged {
                    path: p,
                    head: Some(node.id),
                    index: None,
                });
            }
        }
        Ok(())
    }
}

/// The staged changes below the folder `scope` (`""`: everywhere), optionally leaving out
/// one top-level folder and stopping at the first change. Folders whose tree-cache entry
/// matches HEAD are skipped without looking at their entries, which keeps this close to
/// `git diff --cached --name-only`.
pub fn staged_changes(
    repo: &gix::Repository,
    index: &gix::index::State,
    head_tree: Option<ObjectId>,
    scope: &str,
    skip_top: Option<&str>,
    first_only: bool,
) -> Result<Vec<Staged>> {
    let mut cache = index.tree();
    let mut head = head_tree;
    let mut prefix = String::new();
    for part in scope.split('/').filter(|p| !p.is_empty()) {
        cache = find_child(cache, part.as_bytes());
        head = match head {
            Some(h) => history::child(repo, h, part.as_bytes())?
                .filter(|n| n.mode.is_tree())
                .map(|n| n.id),
            None => None,
        };
        prefix.push_str(part);
        prefix.push('/');
    }
    let range = if prefix.is_empty() {
        0..index.entries().len()
    } else {
        index
            .prefixed_entries_range(prefix.as_bytes().as_bstr())
            .unwrap_or(0..0)
    };
    let mut d = Differ {
        repo,
        index,
        first_only,
        skip_top,
        out: vec![],
    };
    d.dir(range, prefix.as_bytes(), cache, head)?;
    let mut out = d.out;
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// pre-commit

fn head_tree(repo: &gix::Repository) -> Result<Option<ObjectId>> {
    match repo.head_id() {
        Ok(id) => Ok(Some(history::commit_meta(repo, id.detach())?.tree)),
        Err(_) => Ok(None),
    }
}

/// The staged task-folder changes judged like commits, then the code-before-phase rule.
/// Refusals come back as a validation error with one diagnostic per broken rule.
pub fn pre_commit(p: &Project) -> Result<()> {
    let repo = &p.git.repo;
    let Some(index) = read_index(repo)? else {
        return Ok(());
    };
    let head = head_tree(repo)?;
    let staged = staged_changes(repo, &index, head, TASKS_DIR, None, false)?;
    let mut by_task: BTreeMap<String, Vec<&Staged>> = BTreeMap::new();
    for s in &staged {
        let rest = &s.path[TASKS_DIR.len() + 1..];
        if let Some((task, file)) = rest.split_once('/') {
            if matches!(file, "session.json" | "events.jsonl") {
                by_task.entry(task.to_string()).or_default().push(s);
            }
        }
    }
    let mut violations: Vec<Violation> = vec![];
    let now = crate::clock::fmt(&crate::clock::now()?);
    let snap = IndexSnapshot {
        repo,
        index: &index,
    };
    let rules = RuleSet {
        workflow: &p.workflow,
        options: &p.config.workflow,
        templates: &p.templates,
    };
    let at = At {
        commit: None,
        date: Some(&now),
    };
    for (task, changes) in &by_task {
        let mut old = TaskFiles::default();
        let mut new = TaskFiles::default();
        for file in ["session.json", "events.jsonl"] {
            let path = format!("{TASKS_DIR}/{task}/{file}");
            let (o, n) = match changes.iter().find(|s| s.path == path) {
                Some(s) => (
                    s.head.map(|id| history::blob(repo, id)).transpose()?,
                    s.index.map(|id| history::blob(repo, id)).transpose()?,
                ),
                None => {
                    let same = match index.entry_by_path(path.as_bytes().as_bstr()) {
                        Some(e) => Some(history::blob(repo, e.id)?),
                        None => None,
                    };
                    (same.clone(), same)
                }
            };
            if file == "session.json" {
                old.session = o;
                new.session = n;
            } else {
                old.events = o;
                new.events = n;
            }
        }
        let gone = index
            .prefixed_entries_range(format!("{TASKS_DIR}/{task}/").as_bytes().as_bstr())
            .is_none_or(|r| r.is_empty());
        let (_, v) = verify::judge_task(&rules, task, &old, &new, &snap, &at, gone);
        violations.extend(v);
    }
    if !violations.is_empty() {
        let first = violations[0].message.clone();
        let more = if violations.len() > 1 {
            format!(" (and {} more)", violations.len() - 1)
        } else {
            String::new()
        };
        return Err(Error::validation(format!("the staged session change breaks the phase rules: {first}{more}"))
            .with_hint("make transitions with `orch phase complete` / `orch phase set`, or commit with --no-verify to bypass the check")
            .with_diagnostics(violations.iter().map(Violation::to_diagnostic).collect()));
    }
    code_gate(p, &index, head)
}

/// The current task's session as the commit will have it: staged, else on disk.
fn current_session(
    p: &Project,
    index: Option<&gix::index::State>,
) -> Result<Option<(crate::code::TaskCode, Session)>> {
    let Some(code) = p.current_task()? else {
        return Ok(None);
    };
    let rel = format!("{}/session.json", p.task_rel(&code));
    let staged = index.and_then(|i| i.entry_by_path(rel.as_bytes().as_bstr()).map(|e| e.id));
    let session = match staged {
        Some(id) => Session::parse(
            &String::from_utf8_lossy(&history::blob(&p.git.repo, id)?),
            &rel,
        )
        .ok(),
        None => p.load_session(&code).ok().flatten(),
    };
    Ok(session.filter(|s| s.active).map(|s| (code, s)))
}

fn code_gate(p: &Project, index: &gix::index::State, head: Option<ObjectId>) -> Result<()> {
    let Some((code, s)) = current_session(p, Some(index))? else {
        return Ok(());
    };
    let from = &p.config.hooks.code_allowed_from;
    let (Some(cur), Some(gate)) = (
        p.workflow.index_of(&s.current_phase),
        p.workflow.index_of(from),
    ) else {
        return Ok(());
    };
    if cur >= gate {
        return Ok(());
    }
    let code_changes = staged_changes(&p.git.repo, index, head, "", Some(ORCH_DIR), true)?;
    if let Some(first) = code_changes.first() {
        return Err(Error::validation(format!(
            "{code} is in {}; code changes start in {from} — finish the {} (`orch phase complete`) or commit with --no-verify",
            s.current_phase, s.current_phase
        ))
        .with_hint(format!(
            "staged outside .orchestration/: {} — unstage it with `git restore --staged {}`, or end the task's session",
            first.path, first.path
        )));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// commit-msg: trailers, placed the way `git interpret-trailers` places them

const GIT_GENERATED: [&str; 2] = ["Signed-off-by: ", "(cherry picked from commit "];

fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

/// Start offsets of the lines of `s` (each line includes its `\n`).
fn line_starts(s: &str) -> Vec<usize> {
    let mut v = vec![];
    let mut i = 0;
    while i < s.len() {
        v.push(i);
        i = s[i..].find('\n').map_or(s.len(), |n| i + n + 1);
    }
    v
}

/// Where the message proper ends: before a scissors line and before trailing comment and
/// blank lines (git's `ignored_log_message_bytes`).
fn end_of_message(s: &str, comment: &str) -> usize {
    let scissors = format!("{comment} ------------------------ >8 ------------------------\n");
    let cutoff = if s.starts_with(&scissors) {
        0
    } else {
        s.find(&format!("\n{scissors}")).map_or(s.len(), |i| i + 1)
    };
    let mut boc: Option<usize> = None;
    let mut in_conflicts = false;
    for start in line_starts(&s[..cutoff]) {
        let line = &s[start..];
        if line.starts_with(comment) || line.starts_with('\n') {
            boc.get_or_insert(start);
        } else if line.starts_with("Conflicts:\n") {
            in_conflicts = true;
            boc.get_or_insert(start);
        } else if in_conflicts && line.starts_with('\t') {
        } else if boc.is_some() {
            boc = None;
            in_conflicts = false;
        }
    }
    boc.unwrap_or(cutoff)
}

fn separator_pos(line: &str) -> Option<usize> {
    let mut ws = false;
    for (i, c) in line.char_indices() {
        if c == ':' {
            return Some(i);
        }
        if !ws && (c.is_ascii_alphanumeric() || c == '-') {
            continue;
        }
        if i != 0 && (c == ' ' || c == '\t') {
            ws = true;
            continue;
        }
        break;
    }
    None
}

/// git's `find_trailer_block_start` over `s[..len]`.
fn trailer_block_start(s: &str, len: usize, comment: &str) -> usize {
    let text = &s[..len];
    let starts = line_starts(text);
    let mut end_of_title = len;
    for &st in &starts {
        let line = &text[st..];
        if line.starts_with(comment) {
            continue;
        }
        if is_blank(line.split('\n').next().unwrap_or("")) {
            end_of_title = st;
            break;
        }
    }
    let (mut only_spaces, mut recognized, mut trailers, mut non_trailers, mut cont) =
        (true, false, 0, 0, 0);
    for (k, &st) in starts.iter().enumerate().rev() {
        if st < end_of_title {
            break;
        }
        let line = text[st..].split('\n').next().unwrap_or("");
        if line.starts_with(comment) {
            non_trailers += cont;
            cont = 0;
            continue;
        }
        if is_blank(line) {
            if only_spaces {
                continue;
            }
            non_trailers += cont;
            let next = starts.get(k + 1).copied().unwrap_or(len);
            if (recognized && trailers * 3 >= non_trailers) || (trailers > 0 && non_trailers == 0) {
                return next;
            }
            return len;
        }
        only_spaces = false;
        if GIT_GENERATED.iter().any(|p| line.starts_with(p)) {
            trailers += 1;
            cont = 0;
            recognized = true;
            continue;
        }
        match separator_pos(line) {
            Some(pos) if pos >= 1 && !line.starts_with([' ', '\t']) => {
                trailers += 1;
                cont = 0;
            }
            _ if line.starts_with([' ', '\t']) => cont += 1,
            _ => {
                non_trailers += 1 + cont;
                cont = 0;
            }
        }
    }
    len
}

/// Adds `Token: value` trailers to a commit message as
/// `git interpret-trailers --no-divider --if-exists addIfDifferent` does: into the existing
/// trailer block, or a new one after a blank line, before trailing comments. A trailer whose
/// token and value are already there is not added again. An empty message stays empty.
pub fn add_trailers(msg: &str, new: &[(&str, &str)], comment: &str) -> String {
    let mut s = msg.to_string();
    if !s.is_empty() && !s.ends_with('\n') {
        s.push('\n');
    }
    let end = end_of_message(&s, comment);
    let content = s[..end]
        .lines()
        .any(|l| !l.starts_with(comment) && !is_blank(l));
    if !content {
        return msg.to_string();
    }
    let start = trailer_block_start(&s, end, comment);
    let block = &s[start..end];
    let existing: Vec<(String, String)> = block
        .lines()
        .filter_map(|l| {
            separator_pos(l).filter(|&p| p >= 1).map(|p| {
                (
                    l[..p].trim().to_ascii_lowercase(),
                    l[p + 1..].trim().to_string(),
                )
            })
        })
        .collect();
    let mut out = String::with_capacity(s.len() + 128);
    out.push_str(&s[..start]);
    let before = &s[..start];
    let blank_before = line_starts(before)
        .last()
        .is_some_and(|&l| is_blank(&before[l..]));
    if !blank_before {
        out.push('\n');
    }
    out.push_str(block);
    for (t, v) in new {
        if existing
            .iter()
            .any(|(et, ev)| et == &t.to_ascii_lowercase() && ev == v)
        {
            continue;
        }
        out.push_str(&format!("{t}: {v}\n"));
    }
    out.push_str(&s[end..]);
    out
}

/// commit-msg: adds `Orchestration-Task` and `Orchestration-Phase` when a current task has an
/// active session. Returns whether the file changed.
pub fn commit_msg(p: &Project, file: &Path) -> Result<bool> {
    let Some((code, s)) = current_session(p, None)? else {
        return Ok(false);
    };
    let msg = std::fs::read_to_string(file).map_err(|e| Error::io(file, e))?;
    let comment = p
        .git
        .repo
        .config_snapshot()
        .string("core.commentChar")
        .map(|c| c.to_string())
        .filter(|c| !c.is_empty() && c != "auto")
        .unwrap_or_else(|| "#".into());
    let out = add_trailers(
        &msg,
        &[
            ("Orchestration-Task", code.as_str()),
            ("Orchestration-Phase", &s.current_phase),
        ],
        &comment,
    );
    if out == msg {
        return Ok(false);
    }
    std::fs::write(file, out).map_err(|e| Error::io(file, e))?;
    Ok(true)
}

// ---------------------------------------------------------------------------------------------
// pre-push

/// pre-push: verifies the commits each pushed ref brings to `remote`. `stdin` is git's
/// `<local ref> <local sha> <remote ref> <remote sha>` lines.
pub fn pre_push(p: &Project, remote: &str, stdin: &str) -> Result<verify::VerifyReport> {
    let repo = &p.git.repo;
    let zero = |s: &str| s.chars().all(|c| c == '0');
    let mut tips = vec![];
    let mut hidden = vec![];
    for line in stdin.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let [_, local, _, remote_sha] = f[..] else {
            continue;
        };
        if zero(local) {
            continue;
        }
        let Ok(local) = ObjectId::from_hex(local.as_bytes()) else {
            continue;
        };
        tips.push(local);
        match ObjectId::from_hex(remote_sha.as_bytes()) {
            Ok(r) if !zero(remote_sha) && repo.find_object(r).is_ok() => hidden.push(r),
            _ => {
                if let Ok(refs) = repo.references() {
                    if let Ok(iter) = refs.prefixed(format!("refs/remotes/{remote}/").as_str()) {
                        for mut r in iter.flatten() {
                            if let Ok(id) = r.peel_to_id() {
                                hidden.push(id.detach());
                            }
                        }
                    }
                }
            }
        }
    }
    verify::verify(p, &tips, &hidden, &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailers_go_after_a_blank_line() {
        let t = [("A-B", "1")];
        assert_eq!(add_trailers("subject\n", &t, "#"), "subject\n\nA-B: 1\n");
        assert_eq!(add_trailers("subject", &t, "#"), "subject\n\nA-B: 1\n");
        assert_eq!(
            add_trailers("s\n\nbody\n\nX: y\n", &t, "#"),
            "s\n\nbody\n\nX: y\nA-B: 1\n"
        );
        assert_eq!(add_trailers("s\n\nA-B: 1\n", &t, "#"), "s\n\nA-B: 1\n");
        assert_eq!(
            add_trailers("\n# only comments\n", &t, "#"),
            "\n# only comments\n"
        );
        assert_eq!(
            add_trailers("s\n\n# Please enter\n", &t, "#"),
            "s\n\nA-B: 1\n\n# Please enter\n"
        );
    }
}
