//! `orch doctor`: everything in this clone that makes orch refuse, or that an interrupted
//! command left behind — a pending journal, stale lock and temporary files, task state that
//! differs from HEAD, hooks that are missing or not orch's, a shallow or sparse checkout,
//! index formats orch refuses or rewrites — each with its fix; and `--fix`, which applies only
//! the repairs that cannot lose data.
//!
//! It opens the repository without the recovery every other command runs first, so that it
//! can report what a crash left; `--fix` then runs that same recovery.

use crate::code::TaskCode;
use crate::git::inspect::{self, LockFile};
use crate::git::Repo;
use crate::ops::hooks;
use crate::project::ORCH_DIR;
use crate::{procs, Result};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// How much a finding matters. `error` and `warning` make the clone unhealthy (exit 4);
/// `info` is reported and changes nothing.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

/// A repair `--fix` may apply: none of them can lose data.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Repair {
    /// Finish or roll back interrupted transitions with the recovery every command runs.
    Recover,
    /// A file whose content nothing needs: a stale lock, a temporary file, a dangling pointer.
    Remove(PathBuf),
    /// A task folder with no file in it.
    RemoveEmptyDir(PathBuf),
    /// `orch hooks install` (a hook that is not orch's is chained, never lost).
    InstallHooks(PathBuf),
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// Stable identifier: `pending_journal`, `stale_lock`, `hook_missing`, ...
    pub code: &'static str,
    pub severity: Severity,
    /// What is wrong, in one sentence naming the file, ref or task.
    pub what: String,
    /// What to run (or do) to fix it.
    pub fix: String,
    /// The file involved, when there is one.
    pub path: Option<String>,
    /// The process that owns it, when known.
    pub pid: Option<u32>,
    /// Whether that process is still running.
    pub alive: Option<bool>,
    /// Whether `orch doctor --fix` repairs it.
    pub fixable: bool,
    #[serde(skip)]
    repair: Option<Repair>,
}

impl Finding {
    fn new(code: &'static str, severity: Severity, what: String, fix: String) -> Finding {
        Finding {
            code,
            severity,
            what,
            fix,
            path: None,
            pid: None,
            alive: None,
            fixable: false,
            repair: None,
        }
    }

    fn at(mut self, path: &Path) -> Finding {
        self.path = Some(path.display().to_string());
        self
    }

    fn owner(mut self, pid: Option<u32>) -> Finding {
        self.pid = pid;
        self.alive = pid.map(procs::alive);
        self
    }

    fn repair(mut self, r: Repair) -> Finding {
        self.repair = Some(r);
        self.fixable = true;
        self
    }

    /// Whether it makes the clone unhealthy.
    pub fn counts(&self) -> bool {
        self.severity != Severity::Info
    }
}

/// A repair `--fix` carried out, or tried.
#[derive(Debug, Clone, Serialize)]
pub struct Action {
    pub code: &'static str,
    pub path: Option<String>,
    /// What was done, or why it could not be.
    pub did: String,
    pub ok: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub root: String,
    pub git_dir: String,
    /// No error or warning is left.
    pub healthy: bool,
    /// What was found (before any repair).
    pub findings: Vec<Finding>,
    /// With `--fix`: the repairs, in the order they were made.
    pub fixed: Vec<Action>,
    /// What is still there after the repairs (with `--fix`, found again from scratch).
    pub left: Vec<Finding>,
}

/// Examines the clone found from `cwd`; with `fix`, repairs what can be repaired safely and
/// examines it again.
pub fn doctor(cwd: &Path, fix: bool) -> Result<Report> {
    let git = Repo::discover(cwd)?;
    let findings = diagnose(&git)?;
    let mut fixed = vec![];
    let mut left = findings.clone();
    if fix {
        // Recovery first: the locks and files a crashed transition left are its to settle.
        if left.iter().any(|f| f.repair == Some(Repair::Recover)) {
            fixed.push(recover(&git));
            left = diagnose(&Repo::discover(cwd)?)?;
        }
        let mut hooks_done = false;
        for f in &left {
            match &f.repair {
                Some(Repair::InstallHooks(_)) if hooks_done => {}
                Some(r) if *r != Repair::Recover => {
                    hooks_done |= matches!(r, Repair::InstallHooks(_));
                    fixed.push(apply(f, r));
                }
                _ => {}
            }
        }
        left = diagnose(&Repo::discover(cwd)?)?;
    }
    Ok(Report {
        root: git.workdir.display().to_string(),
        git_dir: git.git_dir.display().to_string(),
        healthy: !left.iter().any(Finding::counts),
        findings,
        fixed,
        left,
    })
}

/// Every finding, most serious first (in the order they were found within a severity).
fn diagnose(git: &Repo) -> Result<Vec<Finding>> {
    let local = git.git_dir.join("orchestration");
    let journals = journal_findings(&local);
    let pending = journals.iter().any(|f| f.code == "pending_journal");
    let mut all = journals;
    all.extend(orch_lock_finding(&local));
    all.extend(git_lock_findings(git, pending)?);
    all.extend(temp_file_findings(git, &local));
    all.extend(project_findings(git, &local)?);
    all.extend(hook_findings(git)?);
    all.extend(checkout_findings(git)?);
    all.sort_by_key(|f| f.severity);
    Ok(all)
}

// ---------------------------------------------------------------------------------------------
// The journal, orch's lock, git's locks, temporary files

/// `txn-4242.json` → 4242: the process that wrote the journal.
fn pid_in_name(name: &str, prefix: &str) -> Option<u32> {
    let rest = &name[name.find(prefix)? + prefix.len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Whether `pid` is a running orch: alive and named orch, so a reused pid does not count.
fn running_orch(pid: Option<u32>) -> bool {
    pid.is_some_and(|p| procs::alive(p) && procs::command_name(p).is_some_and(|c| c == "orch"))
}

fn journal_findings(local: &Path) -> Vec<Finding> {
    let dir = local.join("pending");
    let mut out = vec![];
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return out;
    };
    let mut paths: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        if !name.ends_with(".json") || name.starts_with('.') {
            continue;
        }
        let pid = pid_in_name(&name, "txn-");
        let f = if running_orch(pid) {
            Finding::new(
                "transition_in_progress",
                Severity::Info,
                format!(
                    "orch (pid {}) is in the middle of a transition",
                    pid.unwrap_or(0)
                ),
                "wait for it to finish".into(),
            )
        } else {
            Finding::new(
                "pending_journal",
                Severity::Error,
                "a transition was interrupted: its journal is still there, so the task files may be half written".into(),
                "run `orch doctor --fix` (or any orch command, e.g. `orch status`): it finishes the transition if its commit landed and puts the old files back otherwise".into(),
            )
            .repair(Repair::Recover)
        };
        out.push(f.at(&path).owner(pid));
    }
    out
}

/// orch's own lock is an advisory lock the kernel drops with its holder, so it is never
/// stale; a holder is worth naming when a command waits on it.
fn orch_lock_finding(local: &Path) -> Option<Finding> {
    let path = local.join("lock");
    let pid = procs::flock_holder(&path)?;
    if pid == std::process::id() {
        return None;
    }
    Some(
        Finding::new(
            "orch_lock_held",
            Severity::Info,
            format!("orch's lock is held by pid {pid}; other orch commands wait for it"),
            "wait for that command to finish".into(),
        )
        .at(&path)
        .owner(Some(pid)),
    )
}

/// What a lock file being there stops.
fn blocks(name: &str) -> String {
    match name {
        "index.lock" => "git and orch cannot change the index (git says \"Unable to create index.lock: File exists\") until it is gone".into(),
        "config.lock" => "git cannot change the repository's config until it is gone".into(),
        "packed-refs.lock" => "git cannot pack or delete refs until it is gone".into(),
        "shallow.lock" => "git cannot fetch until it is gone".into(),
        n => {
            let r = n.trim_end_matches(".lock");
            format!("{r} cannot be updated (by git or orch) until it is gone")
        }
    }
}

/// Who may own a lock file: a process that has it open, else a git or orch command running
/// in this repository (git closes a lock before its hooks run and only renames it after).
fn lock_owner(git: &Repo, lock: &LockFile) -> (Option<u32>, bool) {
    if let Some(pid) = procs::holders(&lock.path).first() {
        return (Some(*pid), true);
    }
    let near = [&git.workdir, &git.git_dir, &git.common_dir];
    let running = near
        .iter()
        .flat_map(|d| procs::working_in(d, &["git", "orch"]))
        .next();
    (running, running.is_some())
}

/// A lock younger than this may be between git closing it and renaming it into place.
const FRESH: Duration = Duration::from_secs(2);

fn git_lock_findings(git: &Repo, pending: bool) -> Result<Vec<Finding>> {
    let mut out = vec![];
    for lock in inspect::lock_files(git) {
        let (pid, in_use) = lock_owner(git, &lock);
        let fresh = lock
            .modified
            .and_then(|m| SystemTime::now().duration_since(m).ok())
            .is_some_and(|age| age < FRESH);
        let f = if in_use || fresh || !procs::inspectable() {
            let who = pid.map_or("a command that may still be running".into(), |p| {
                format!("pid {p} ({})", procs::command_name(p).unwrap_or_default())
            });
            Finding::new(
                "lock_in_use",
                Severity::Info,
                format!("{} is held, probably by {who}", lock.name),
                "wait for it to finish, then run `orch doctor` again".into(),
            )
        } else if pending {
            Finding::new(
                "stale_lock",
                Severity::Error,
                format!(
                    "{} was left by an interrupted transition; {}",
                    lock.name,
                    blocks(&lock.name)
                ),
                "run `orch doctor --fix`: recovery uses it or removes it".into(),
            )
            .repair(Repair::Recover)
        } else if lock.name == "index.lock" && index_lock_needed(git, &lock.path)? {
            Finding::new(
                "unpublished_index",
                Severity::Error,
                "index.lock holds the index of HEAD's commit, which the command that made the commit never put in place; without it the next commit would undo that commit".into(),
                format!(
                    "put it in place: `mv {} {}`",
                    shell_quote(&lock.path),
                    shell_quote(&git.repo.index_path())
                ),
            )
        } else {
            stale_lock(git, &lock)
        };
        out.push(f.at(&lock.path).owner(pid));
    }
    Ok(out)
}

fn stale_lock(git: &Repo, lock: &LockFile) -> Finding {
    let current = lock
        .name
        .strip_suffix(".lock")
        .and_then(|r| git.repo.find_reference(r).ok())
        .and_then(|mut r| r.peel_to_id().ok())
        .map(|id| id.to_string());
    let lost_update = match (&lock.new_value, &current) {
        (Some(new), cur) if new.len() >= 40 && Some(new) != cur.as_ref() => format!(
            " It would have set {} to {new}; that commit stays in the object store (`git branch rescued {new}` keeps it).",
            lock.name.trim_end_matches(".lock")
        ),
        _ => String::new(),
    };
    Finding::new(
        "stale_lock",
        Severity::Error,
        format!(
            "{} was left by a command that is no longer running; {}.{lost_update}",
            lock.name,
            blocks(&lock.name)
        ),
        format!(
            "run `orch doctor --fix`, or `rm {}`",
            shell_quote(&lock.path)
        ),
    )
    .repair(Repair::Remove(lock.path.clone()))
}

/// An `index.lock` a killed command wrote after moving HEAD to its commit: its tree cache
/// names HEAD's tree while the published index's does not. Removing it would lose that.
fn index_lock_needed(git: &Repo, lock: &Path) -> Result<bool> {
    let Some(head_tree) = inspect::head_tree(git)? else {
        return Ok(false);
    };
    let locked = inspect::index_info(git, lock, ORCH_DIR).ok().flatten();
    let published = inspect::index_info(git, &git.repo.index_path(), ORCH_DIR)
        .ok()
        .flatten();
    Ok(locked.and_then(|l| l.cached_root) == Some(head_tree)
        && published.and_then(|p| p.cached_root) != Some(head_tree))
}

/// Temporary files of orch's atomic writes whose writer is gone: half-written copies of a
/// file that was never replaced by them, so nothing needs them.
fn temp_file_findings(git: &Repo, local: &Path) -> Vec<Finding> {
    let mut dirs = vec![local.to_path_buf(), local.join("pending")];
    let tasks = git.workdir.join(ORCH_DIR).join("tasks");
    dirs.push(git.workdir.join(ORCH_DIR));
    if let Ok(rd) = std::fs::read_dir(&tasks) {
        dirs.extend(rd.flatten().map(|e| e.path()).filter(|p| p.is_dir()));
    }
    let mut out = vec![];
    for dir in dirs {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
        paths.sort();
        for path in paths {
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            if !(name.starts_with('.') && name.contains(".orch-tmp-")) {
                continue;
            }
            let pid = pid_in_name(&name, ".orch-tmp-");
            if running_orch(pid) {
                continue;
            }
            out.push(
                Finding::new(
                    "stale_temp_file",
                    Severity::Warning,
                    format!("{name} is a temporary file an interrupted orch command left"),
                    format!("run `orch doctor --fix`, or `rm {}`", shell_quote(&path)),
                )
                .at(&path)
                .owner(pid)
                .repair(Repair::Remove(path.clone())),
            );
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// orch's files: initialised, readable, committed, the current-task pointer

fn project_findings(git: &Repo, local: &Path) -> Result<Vec<Finding>> {
    let orch_dir = git.workdir.join(ORCH_DIR);
    if !orch_dir.is_dir() {
        return Ok(vec![Finding::new(
            "not_initialised",
            Severity::Warning,
            format!(
                "{} has no {ORCH_DIR}/ folder; orch commands refuse to run",
                git.workdir.display()
            ),
            "run `orch init`".into(),
        )]);
    }
    let mut out = config_findings(&orch_dir);
    out.extend(task_file_findings(git)?);
    out.extend(folder_findings(&orch_dir.join("tasks")));
    out.extend(pointer_findings(&orch_dir.join("tasks"), local));
    Ok(out)
}

/// config.toml and workflow.yaml as every command reads them.
fn config_findings(orch_dir: &Path) -> Vec<Finding> {
    let cfg = orch_dir.join("config.toml");
    let templates = crate::templates::Templates::with_overrides(&orch_dir.join("templates"));
    let wf = orch_dir.join("workflow.yaml");
    let mut problems = vec![];
    if let Err(e) = crate::config::Config::load_with_text(&cfg) {
        problems.push((cfg.clone(), e));
    }
    if let Ok(text) = std::fs::read_to_string(&wf) {
        let rel = format!("{ORCH_DIR}/workflow.yaml");
        if let Err(e) = crate::workflow::Workflow::parse(&text, &rel, &templates) {
            problems.push((wf.clone(), e));
        }
    }
    problems
        .into_iter()
        .map(|(path, e)| {
            let rel = format!("{ORCH_DIR}/{}", path.file_name().unwrap_or_default().to_string_lossy());
            Finding::new(
                "unreadable_config",
                Severity::Error,
                format!("every orch command fails: {}", e.message),
                format!("correct {rel}, or put back the committed one with `git restore --source=HEAD -- {rel}`"),
            )
            .at(&path)
        })
        .collect()
}

/// Task files whose index or worktree state differs from HEAD. session.json and events.jsonl
/// are orch's to write, so a difference there is an interrupted or hand-made change; edited
/// artifacts are ordinary work and only noted.
fn task_file_findings(git: &Repo) -> Result<Vec<Finding>> {
    let tasks = format!("{ORCH_DIR}/tasks");
    let changed = match inspect::changed_under(&git.repo, &tasks) {
        Ok(c) => c,
        // A refused index (split, sparse) is reported on its own below.
        Err(_) => return Ok(vec![]),
    };
    let mut out = vec![];
    let mut others = vec![];
    let head = inspect::head_tree(git).ok().flatten();
    let mut pending = vec![];
    for c in &changed {
        let file = c.path.rsplit('/').next().unwrap_or("");
        if file == "events.jsonl" && events_appended(git, head, &c.path) {
            if !pending.contains(&c.path) {
                pending.push(c.path.clone());
            }
        } else if matches!(file, "session.json" | "events.jsonl") {
            out.push(
                Finding::new(
                    "task_state_uncommitted",
                    Severity::Warning,
                    format!("{} is {} compared with HEAD; orch writes it only in its own commits, so this is an interrupted or hand-made change (the next transition refuses a change verify would reject)", c.path, c.how),
                    format!("see it with `git diff HEAD -- {0}`; if it is not wanted, `git restore --source=HEAD --staged --worktree -- {0}`", c.path),
                )
                .at(&git.workdir.join(&c.path)),
            );
        } else if !others.contains(&c.path) {
            others.push(c.path.clone());
        }
    }
    for path in pending {
        out.push(
            Finding::new(
                "task_events_pending",
                Severity::Info,
                format!("{path} holds events recorded after HEAD and not committed yet, as `orch event add` without --commit leaves them"),
                format!("the task's next transition commits them; `git diff HEAD -- {path}` shows them"),
            )
            .at(&git.workdir.join(&path)),
        );
    }
    if !others.is_empty() {
        let shown: Vec<&str> = others.iter().take(8).map(String::as_str).collect();
        let more = others.len().saturating_sub(shown.len());
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        out.push(Finding::new(
            "task_files_uncommitted",
            Severity::Info,
            format!("{} task file(s) differ from HEAD: {}{more}", others.len(), shown.join(", ")),
            "the next transition of each task commits them; `git status -- .orchestration/tasks` lists them".into(),
        ));
    }
    Ok(out)
}

/// Whether the events.jsonl at `path` is HEAD's with whole lines added after it: events an
/// `orch event add` recorded for the next commit, not damage.
fn events_appended(git: &Repo, head: Option<gix::ObjectId>, path: &str) -> bool {
    let Ok(now) = std::fs::read(git.workdir.join(path)) else {
        return false;
    };
    let before = match head {
        Some(tree) => match crate::git::history::blob_at(&git.repo, tree, path) {
            Ok(b) => b.unwrap_or_default(),
            Err(_) => return false,
        },
        None => vec![],
    };
    // Whole lines, each an event as orch reads them; anything else is damage after all.
    appends_whole_lines(&before, &now)
        && std::str::from_utf8(&now[before.len()..])
            .is_ok_and(|added| crate::event::parse_log(added, path).is_ok())
}

/// `now` is `before` followed by one or more whole lines.
fn appends_whole_lines(before: &[u8], now: &[u8]) -> bool {
    now.len() > before.len()
        && now.starts_with(before)
        && (before.is_empty() || before.ends_with(b"\n"))
        && now.ends_with(b"\n")
}

/// A task folder without TASK.md (a `task new` interrupted before its commit): `task new`
/// says it exists while every other command says it does not.
fn folder_findings(tasks: &Path) -> Vec<Finding> {
    let Ok(rd) = std::fs::read_dir(tasks) else {
        return vec![];
    };
    let mut dirs: Vec<PathBuf> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let mut out = vec![];
    for dir in dirs {
        if dir.join("TASK.md").exists() {
            continue;
        }
        let name = dir
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let files = walkdir::WalkDir::new(&dir)
            .into_iter()
            .flatten()
            .filter(|e| !e.file_type().is_dir())
            .count();
        let f = Finding::new(
            "orphan_task_folder",
            Severity::Warning,
            format!("{ORCH_DIR}/tasks/{name}/ has no TASK.md: `orch task new {name}` says it exists, every other command that it does not"),
            if files == 0 {
                "run `orch doctor --fix` to remove the empty folder".into()
            } else {
                format!("look at its {files} file(s); if nothing needs them, `rm -r {}`", shell_quote(&dir))
            },
        )
        .at(&dir);
        out.push(if files == 0 {
            f.repair(Repair::RemoveEmptyDir(dir.clone()))
        } else {
            f
        });
    }
    out
}

/// The current task as `ORCH_TASK` or the local pointer names it, when that task is gone.
fn pointer_findings(tasks: &Path, local: &Path) -> Vec<Finding> {
    let exists = |c: &str| TaskCode::parse(c).is_ok() && tasks.join(c).join("TASK.md").is_file();
    let mut out = vec![];
    if let Ok(c) = std::env::var("ORCH_TASK") {
        let c = c.trim();
        if !c.is_empty() && !exists(c) {
            out.push(Finding::new(
                "dangling_current_task",
                Severity::Warning,
                format!("ORCH_TASK names {c}, which is not a task here"),
                "unset ORCH_TASK, or set it to a task `orch task list` shows".into(),
            ));
        }
    }
    let path = local.join("current-task");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let c = text.trim();
        if !exists(c) {
            out.push(
                Finding::new(
                    "dangling_current_task",
                    Severity::Warning,
                    format!("the current-task pointer names {c:?}, which is not a task here; commands without a code ignore it"),
                    "run `orch doctor --fix` to clear it, or `orch session start CODE` to point it at a task".into(),
                )
                .at(&path)
                .repair(Repair::Remove(path.clone())),
            );
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Hooks

fn hook_findings(git: &Repo) -> Result<Vec<Finding>> {
    let dir = match hooks::hooks_dir(&git.repo, &git.workdir, &git.common_dir) {
        Ok(d) => d,
        Err(e) => {
            return Ok(vec![Finding::new(
                "hooks_dir_unreadable",
                Severity::Warning,
                e.message,
                e.hint.unwrap_or_default(),
            )])
        }
    };
    let state: Vec<(&str, PathBuf, Option<bool>)> = hooks::HOOKS
        .iter()
        .map(|name| {
            let path = dir.join(name);
            let ours = std::fs::symlink_metadata(&path)
                .is_ok()
                .then(|| hooks::is_ours(&path));
            (*name, path, ours)
        })
        .collect();
    let installed = state.iter().filter(|(_, _, o)| *o == Some(true)).count();
    if installed == 0 {
        return Ok(vec![Finding::new(
            "hooks_not_installed",
            Severity::Info,
            format!("orch's git hooks are not installed in {}: plain `git commit` and `git push` are not checked", dir.display()),
            "run `orch hooks install` (a hook already there is kept and runs first)".into(),
        )
        .at(&dir)]);
    }
    let mut out = vec![];
    for (name, path, ours) in state {
        let (code, what) = match ours {
            None => ("hook_missing", format!("the {name} hook is missing while orch's other hooks are installed")),
            Some(false) => ("hook_not_orch", format!("the {name} hook is not orch's (something replaced it), so orch does not check {name}")),
            Some(true) if std::fs::read_to_string(&path).ok() != Some(hooks::shim(name)) => {
                ("hook_outdated", format!("the {name} hook is an older version of orch's"))
            }
            Some(true) => continue,
        };
        out.push(
            Finding::new(code, Severity::Warning, what, "run `orch doctor --fix` or `orch hooks install` (a hook that is not orch's is kept and runs first)".into())
                .at(&path)
                .repair(Repair::InstallHooks(dir.clone())),
        );
    }
    if !on_path("orch") {
        out.push(Finding::new(
            "orch_not_on_path",
            Severity::Warning,
            "orch's hooks are installed but no `orch` is on PATH: every `git commit` fails".into(),
            "put orch on PATH (`cargo install --path .`), or remove the hooks with `orch hooks uninstall`".into(),
        ));
    }
    Ok(out)
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|p| {
        std::env::split_paths(&p).any(|d| {
            let f = d.join(program);
            f.is_file()
        })
    })
}

// ---------------------------------------------------------------------------------------------
// The checkout: shallow, sparse, the index's format, operations in progress, identity

fn checkout_findings(git: &Repo) -> Result<Vec<Finding>> {
    let mut out = vec![];
    let boundary = crate::git::history::shallow_cut(&git.repo);
    if !boundary.is_empty() {
        let ids: Vec<String> = boundary
            .iter()
            .map(|i| i.to_hex_with_len(12).to_string())
            .collect();
        out.push(Finding::new(
            "shallow_clone",
            Severity::Warning,
            format!("this is a shallow clone: history before {} is not here, so `orch log`, `orch verify` and `orch report` see only part of each task's history", ids.join(", ")),
            crate::git::history::shallow_hint(&git.repo, &boundary),
        ));
    }
    if git.config_bool("core.sparseCheckout").unwrap_or(false) {
        out.push(Finding::new(
            "sparse_checkout",
            Severity::Info,
            "this is a sparse checkout".into(),
            format!("keep {ORCH_DIR}/ in it (`git sparse-checkout add {ORCH_DIR}`)"),
        ));
    }
    out.extend(index_findings(git)?);
    if let Err(e) = git.ensure_can_commit() {
        // The sparse index is reported with the index above; this is the operation in progress.
        if !e.message.contains("sparse index") {
            out.push(Finding::new(
                "git_operation_in_progress",
                Severity::Warning,
                e.message,
                e.hint.unwrap_or_default(),
            ));
        }
    }
    if git.author_identity().is_err() {
        out.push(Finding::new(
            "no_identity",
            Severity::Warning,
            "no git identity is configured; every transition is refused".into(),
            "run `git config --global user.name \"Your Name\"` and `git config --global user.email you@example.com`".into(),
        ));
    }
    Ok(out)
}

fn index_findings(git: &Repo) -> Result<Vec<Finding>> {
    let path = git.repo.index_path();
    let info = match inspect::index_info(git, &path, ORCH_DIR) {
        Ok(Some(i)) => i,
        Ok(None) => return Ok(vec![]),
        Err(e) => {
            return Ok(vec![Finding::new(
                "unreadable_index",
                Severity::Error,
                e.message,
                "see what git says with `git status`; `git read-tree HEAD` rebuilds the index from HEAD (staged changes are lost)".into(),
            )
            .at(&path)])
        }
    };
    let mut out = vec![];
    let mut add = |code, severity, what: String, fix: &str| {
        out.push(Finding::new(code, severity, what, fix.into()).at(&path));
    };
    if info.extensions.iter().any(|e| e == "link") {
        add("split_index", Severity::Error, "the index is a split index, which orch cannot write back split: every transition is refused".into(), "run `git config core.splitIndex false && git update-index --no-split-index`");
    }
    if info.sparse {
        add("sparse_index", Severity::Error, "the index is a sparse index, which orch cannot update: every transition is refused".into(), "run `git sparse-checkout disable`, or `git config index.sparse false && git sparse-checkout reapply`");
    }
    if !info.skipped_under.is_empty() {
        add("orch_dir_not_checked_out", Severity::Error, format!("{} file(s) under {ORCH_DIR}/ are outside the sparse checkout (skip-worktree), e.g. {}", info.skipped_under.len(), info.skipped_under[0]), &format!("run `git sparse-checkout add {ORCH_DIR}`"));
    }
    let dropped: Vec<&str> = info
        .extensions
        .iter()
        .map(String::as_str)
        .filter(|e| matches!(*e, "UNTR" | "FSMN" | "IEOT"))
        .collect();
    if !dropped.is_empty() {
        add("index_extension_dropped", Severity::Info, format!("the index has {} , which orch drops when it writes the index (git rebuilds them; the next `git status` is slower once)", dropped.join(", ")), "nothing to do");
    }
    if info.version == 4 {
        add("index_v4", Severity::Info, "the index is in version 4; orch writes it back as version 2 or 3 (git reads either, and `git update-index --index-version 4` converts it back)".into(), "nothing to do");
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Repairs

fn recover(git: &Repo) -> Action {
    match crate::project::Project::open(&git.workdir) {
        Ok(_) => Action {
            code: "pending_journal",
            path: None,
            did: "ran recovery: each interrupted transition is finished (its commit landed) or rolled back".into(),
            ok: true,
        },
        Err(e) => Action {
            code: "pending_journal",
            path: None,
            did: format!("recovery could not run: {}", e.message),
            ok: false,
        },
    }
}

fn apply(f: &Finding, r: &Repair) -> Action {
    let (path, result) = match r {
        Repair::Recover => unreachable!("recovery runs first"),
        Repair::Remove(p) => (
            p,
            std::fs::remove_file(p).map(|_| format!("removed {}", p.display())),
        ),
        Repair::RemoveEmptyDir(p) => (
            p,
            remove_empty_dir(p).map(|_| format!("removed the empty folder {}", p.display())),
        ),
        Repair::InstallHooks(dir) => (
            dir,
            hooks::install(dir, false)
                .map(|a| {
                    let done: Vec<String> = a
                        .iter()
                        .map(|a| format!("{} {}", a.hook, a.action))
                        .collect();
                    format!("orch hooks install: {}", done.join(", "))
                })
                .map_err(|e| std::io::Error::other(e.message)),
        ),
    };
    match result {
        Ok(did) => Action {
            code: f.code,
            path: Some(path.display().to_string()),
            did,
            ok: true,
        },
        Err(e) => Action {
            code: f.code,
            path: Some(path.display().to_string()),
            did: format!("left as it is: {e}"),
            ok: false,
        },
    }
}

/// Removes a folder tree that holds no file (only empty folders), and nothing else.
fn remove_empty_dir(dir: &Path) -> std::io::Result<()> {
    let mut dirs: Vec<PathBuf> = vec![];
    for e in walkdir::WalkDir::new(dir) {
        let e = e.map_err(std::io::Error::other)?;
        if !e.file_type().is_dir() {
            return Err(std::io::Error::other(format!(
                "{} is not empty",
                dir.display()
            )));
        }
        dirs.push(e.into_path());
    }
    // Deepest first; remove_dir itself refuses a folder that is not empty.
    for d in dirs.iter().rev() {
        std::fs::remove_dir(d)?;
    }
    Ok(())
}

/// A path as a POSIX shell word, so a printed command works as printed.
fn shell_quote(p: &Path) -> String {
    let s = p.display().to_string();
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:@".contains(c))
    {
        s
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pids_in_names() {
        assert_eq!(pid_in_name("txn-4242.json", "txn-"), Some(4242));
        assert_eq!(
            pid_in_name(".session.json.orch-tmp-77", ".orch-tmp-"),
            Some(77)
        );
        assert_eq!(pid_in_name("journal.json", "txn-"), None);
        assert_eq!(pid_in_name("txn-.json", "txn-"), None);
    }

    #[test]
    fn quoting() {
        assert_eq!(shell_quote(Path::new("/a/b.lock")), "/a/b.lock");
        assert_eq!(shell_quote(Path::new("/a b/it's")), "'/a b/it'\\''s'");
    }

    #[test]
    fn what_a_lock_blocks() {
        assert!(blocks("index.lock").contains("index"));
        assert!(blocks("refs/heads/main.lock").starts_with("refs/heads/main"));
    }
}
