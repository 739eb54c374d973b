//! The repository as orch sees it: where `.orchestration/` is, its options, workflow and
//! templates, the current task, and the lock that keeps two orch processes apart.

use crate::code::TaskCode;
use crate::config::Config;
use crate::git::Repo;
use crate::session::Session;
use crate::task::TaskDoc;
use crate::templates::Templates;
use crate::workflow::Workflow;
use crate::{Error, Result};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use crate::code::ORCH_DIR;

pub struct Project {
    pub git: Repo,
    /// Canonical worktree root.
    pub root: PathBuf,
    pub orch_dir: PathBuf,
    pub config: Config,
    pub templates: Templates,
    pub workflow: Workflow,
}

/// Which task is current, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Current {
    None,
    Task(TaskCode, Source),
    /// Two or more active tasks are bound to the checked-out branch.
    Ambiguous(String, Vec<TaskCode>),
}

/// Where the current task came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Env,
    Pointer,
    Branch,
}

/// A task as stored: its TASK.md and, once a session was started, its session.json.
pub struct TaskState {
    pub code: TaskCode,
    pub doc: TaskDoc,
    pub session: Option<Session>,
}

impl Project {
    /// Opens an initialised repository found from `cwd`.
    pub fn open(cwd: &Path) -> Result<Project> {
        let git = Repo::discover(cwd)?;
        Project::load(git)
    }

    /// Opens the project of `git`, first finishing or undoing (under the project lock) any
    /// transition a killed orch left, so that nothing half-written is ever read.
    pub fn load(git: Repo) -> Result<Project> {
        let local = local_dir_of(&git);
        crate::store::recover(&local, || lock_dir(&local), |j| settle(&git, j))?;
        Project::load_as_is(git)
    }

    /// Opens the project of `git` without recovering anything: for git's hooks, which must
    /// never change files git is in the middle of committing (see [`Project::pending`]).
    pub fn load_as_is(git: Repo) -> Result<Project> {
        let root = crate::validate::canonical(&git.workdir);
        let orch_dir = root.join(ORCH_DIR);
        if !orch_dir.is_dir() {
            return Err(
                Error::state(format!("{} has no {ORCH_DIR}/ folder", root.display()))
                    .with_hint("run `orch init` to set it up"),
            );
        }
        let cfg_path = orch_dir.join("config.toml");
        let (config, cfg_text) = Config::load_with_text(&cfg_path)?;
        let templates = Templates::with_overrides(&orch_dir.join("templates"));
        let wf_path = orch_dir.join("workflow.yaml");
        let workflow = match std::fs::read_to_string(&wf_path) {
            Ok(text) => Workflow::parse(&text, &format!("{ORCH_DIR}/workflow.yaml"), &templates)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Workflow::builtin(&templates)?,
            Err(e) => return Err(Error::io(&wf_path, e)),
        };
        if let Some(text) = &cfg_text {
            let rel = Path::new(ORCH_DIR).join("config.toml");
            crate::config::check_phase_names(text, &rel, &workflow.names())?;
        }
        Ok(Project {
            git,
            root,
            orch_dir,
            config,
            templates,
            workflow,
        })
    }

    /// Whether a transition's journal is pending, and whether its orch process is still
    /// running (it holds the project lock) rather than killed.
    pub fn pending(&self) -> Option<Pending> {
        if !crate::store::journal_pending(&self.local_dir()) {
            return None;
        }
        let path = self.local_dir().join("lock");
        let running = std::fs::File::open(&path)
            .map(|f| matches!(f.try_lock(), Err(std::fs::TryLockError::WouldBlock)))
            .unwrap_or(false);
        Some(if running {
            Pending::Running
        } else {
            Pending::Interrupted
        })
    }

    pub fn tasks_dir(&self) -> PathBuf {
        self.orch_dir.join("tasks")
    }

    pub fn task_dir(&self, code: &TaskCode) -> PathBuf {
        self.tasks_dir().join(code.as_str())
    }

    /// `.orchestration/tasks/<CODE>`, as paths appear in git.
    pub fn task_rel(&self, code: &TaskCode) -> String {
        format!("{ORCH_DIR}/tasks/{code}")
    }

    /// `<git dir>/orchestration`: local state that is never committed.
    pub fn local_dir(&self) -> PathBuf {
        local_dir_of(&self.git)
    }

    /// Journals of transitions in progress (see `store::Txn`).
    pub fn journal_dir(&self) -> PathBuf {
        crate::store::journal_dir(&self.local_dir())
    }

    pub fn task_exists(&self, code: &TaskCode) -> bool {
        self.task_dir(code).join("TASK.md").is_file()
    }

    /// The task `CODE` stands for: given, else `ORCH_TASK`, else the one `session start` recorded.
    pub fn resolve_code(&self, given: Option<&str>) -> Result<TaskCode> {
        if let Some(c) = given {
            return TaskCode::parse(c);
        }
        if let Some(c) = self.current_task()? {
            return Ok(c);
        }
        Err(Error::usage("no task given and no current task is set")
            .with_hint("name the task (e.g. `orch status TSK-1`), set ORCH_TASK, or run `orch session start CODE`"))
    }

    /// The current task: `ORCH_TASK`, else the local pointer `session start` wrote, else the
    /// one active task whose session started on the checked-out branch — so a fresh clone on
    /// that branch knows it too. Two such tasks are an error naming both.
    pub fn current_task(&self) -> Result<Option<TaskCode>> {
        match self.current()? {
            Current::None => Ok(None),
            Current::Task(c, _) => Ok(Some(c)),
            Current::Ambiguous(branch, codes) => {
                let list: Vec<&str> = codes.iter().map(TaskCode::as_str).collect();
                Err(Error::state(format!(
                    "{} active tasks are bound to branch {branch}: {}",
                    codes.len(),
                    list.join(", ")
                ))
                .with_hint(format!(
                    "say which one this work belongs to: set ORCH_TASK (e.g. `ORCH_TASK={} git commit ...`) or run `orch session start {} --continue`",
                    list[0], list[0]
                )))
            }
        }
    }

    /// The current task when `ORCH_TASK` or the local pointer names it: the cheap part of
    /// [`Project::current_task`], which reads no session (the branch bindings are not asked).
    pub fn named_task(&self) -> Result<Option<TaskCode>> {
        Ok(self.named_current()?.map(|(c, _)| c))
    }

    fn named_current(&self) -> Result<Option<(TaskCode, Source)>> {
        if let Ok(c) = std::env::var("ORCH_TASK") {
            if !c.trim().is_empty() {
                let code = TaskCode::parse(c.trim())
                    .map_err(|e| Error::usage(format!("ORCH_TASK: {}", e.message)))?;
                if !self.task_exists(&code) {
                    return Err(Error::usage(format!(
                        "ORCH_TASK={code} names no task ({} does not exist)",
                        self.task_rel(&code)
                    ))
                    .with_hint("set ORCH_TASK to an existing task's code (see `orch task list`), or unset it"));
                }
                return Ok(Some((code, Source::Env)));
            }
        }
        if let Ok(s) = std::fs::read_to_string(self.local_dir().join("current-task")) {
            if let Ok(c) = TaskCode::parse(s.trim()) {
                if self.task_exists(&c) {
                    return Ok(Some((c, Source::Pointer)));
                }
            }
        }
        Ok(None)
    }

    /// [`Project::current_task`] with where it came from, and without failing on two tasks
    /// bound to one branch.
    pub fn current(&self) -> Result<Current> {
        if let Some((code, source)) = self.named_current()? {
            return Ok(Current::Task(code, source));
        }
        let Some(branch) = self.branch()? else {
            return Ok(Current::None);
        };
        let mut bound = self.bound_to(&branch)?;
        Ok(match bound.len() {
            0 => Current::None,
            1 => Current::Task(bound.remove(0), Source::Branch),
            _ => Current::Ambiguous(branch, bound),
        })
    }

    /// The checked-out branch (short name), `None` on a detached HEAD.
    pub fn branch(&self) -> Result<Option<String>> {
        let head = self
            .git
            .repo
            .head_name()
            .map_err(|e| Error::runtime(format!("cannot read HEAD: {e}")))?;
        Ok(head.map(|n| n.shorten().to_string()))
    }

    /// Tasks with an active session that started on `branch`, through the stat-validated
    /// cache: a hook that runs on every commit must not read every session.json.
    fn bound_to(&self, branch: &str) -> Result<Vec<TaskCode>> {
        let codes = self.task_codes()?;
        Ok(crate::stat_cache::bound_to(
            &self.tasks_dir(),
            &self.local_dir(),
            &codes,
            branch,
        ))
    }

    pub fn set_current_task(&self, code: &TaskCode) -> Result<()> {
        let dir = self.local_dir();
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        crate::store::write_atomic(&dir.join("current-task"), format!("{code}\n").as_bytes())
    }

    /// Forgets the local pointer when it names `code` (its session ended).
    pub fn clear_current_task(&self, code: &TaskCode) -> Result<()> {
        let path = self.local_dir().join("current-task");
        match std::fs::read_to_string(&path) {
            Ok(s) if s.trim() == code.as_str() => {
                std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))
            }
            _ => Ok(()),
        }
    }

    pub fn require_task(&self, code: &TaskCode) -> Result<()> {
        if self.task_exists(code) {
            return Ok(());
        }
        if self.task_dir(code).is_dir() {
            return Err(no_task_md(&self.task_rel(code)));
        }
        Err(Error::usage(format!(
            "unknown task {code}: {}/TASK.md does not exist",
            self.task_rel(code)
        ))
        .with_hint("list tasks with `orch task list`, or create it with `orch task new`"))
    }

    pub fn load_doc(&self, code: &TaskCode) -> Result<TaskDoc> {
        self.require_task(code)?;
        read_doc(&self.task_dir(code), &self.task_rel(code))
    }

    pub fn load_session(&self, code: &TaskCode) -> Result<Option<Session>> {
        read_session(&self.task_dir(code), &self.task_rel(code))
    }

    pub fn load_task(&self, code: &TaskCode) -> Result<TaskState> {
        let doc = self.load_doc(code)?;
        let session = self.load_session(code)?;
        Ok(TaskState {
            code: code.clone(),
            doc,
            session,
        })
    }

    /// Codes of every task folder, sorted. Folders whose names are not valid codes are skipped.
    pub fn task_codes(&self) -> Result<Vec<TaskCode>> {
        let dir = self.tasks_dir();
        let rd = match std::fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
            Err(e) => return Err(Error::io(&dir, e)),
        };
        let mut codes: Vec<TaskCode> = rd
            .flatten()
            .filter_map(|e| e.file_name().to_str().and_then(|n| TaskCode::parse(n).ok()))
            .collect();
        codes.sort_unstable();
        Ok(codes)
    }

    /// Holds `<git dir>/orchestration/lock` until dropped. Waits up to `ORCH_LOCK_TIMEOUT_MS`
    /// (default 5000) for another orch process, then gives up with a conflict.
    /// Under the lock, a transition of another process that was killed while this one waited
    /// is finished or undone first, before this one reads anything.
    pub fn lock(&self) -> Result<LockGuard> {
        lock_recovered(&self.git)
    }
}

/// A pending transition, as [`Project::pending`] finds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pending {
    /// Another orch command is in the middle of it.
    Running,
    /// Its orch was killed; the next orch command finishes or undoes it.
    Interrupted,
}

/// `<git dir>/orchestration` of `git`.
pub fn local_dir_of(git: &Repo) -> PathBuf {
    git.git_dir.join("orchestration")
}

/// Takes the project lock of `git`, then recovers what a killed orch left (see
/// [`Project::lock`]).
pub fn lock_recovered(git: &Repo) -> Result<LockGuard> {
    let local = local_dir_of(git);
    let guard = lock_dir(&local)?;
    if crate::store::pending(&local) {
        crate::store::recover_locked(&local, |j| settle(git, j))?;
    }
    Ok(guard)
}

fn settle(git: &Repo, j: &crate::store::Interrupted) -> Result<bool> {
    crate::git::recover::settle_interrupted(
        git,
        j.committing,
        j.commit,
        j.legacy_head_before,
        j.since,
    )
}

/// TASK.md of the task folder `dir` (`rel` names it in messages).
pub fn read_doc(dir: &Path, rel: &str) -> Result<TaskDoc> {
    let path = dir.join("TASK.md");
    let text = std::fs::read_to_string(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound if dir.is_dir() => no_task_md(rel),
        _ => Error::io(&path, e),
    })?;
    TaskDoc::parse(&text, &format!("{rel}/TASK.md"))
}

/// A task folder without its TASK.md: the one answer `task show`, `task list` and `task new`
/// give, since the folder is neither a task nor free for a new one.
pub fn no_task_md(rel: &str) -> Error {
    Error::state(format!("{rel} has no TASK.md, so it is not a readable task"))
        .with_hint(format!(
            "if TASK.md was committed, put it back with `git restore --source=HEAD -- {rel}/TASK.md`; if nothing in the folder is needed, remove it with `rm -r {rel}`"
        ))
}

pub fn read_session(dir: &Path, rel: &str) -> Result<Option<Session>> {
    let path = dir.join("session.json");
    match std::fs::read_to_string(&path) {
        Ok(text) => Session::parse(&text, &format!("{rel}/session.json")).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(&path, e)),
    }
}

pub struct LockGuard {
    _file: std::fs::File,
}

/// `ORCH_LOCK_TIMEOUT_MS`, 5000 when unset; anything but a whole number of milliseconds is
/// refused rather than silently replaced by the default.
fn lock_timeout_ms() -> Result<u64> {
    match std::env::var("ORCH_LOCK_TIMEOUT_MS") {
        Err(_) => Ok(5000),
        Ok(v) => v.trim().parse().map_err(|_| {
            Error::usage(format!(
                "ORCH_LOCK_TIMEOUT_MS={v:?} is not a number of milliseconds"
            ))
            .with_hint("set it to a whole number such as 5000, or unset it for the default")
        }),
    }
}

pub fn lock_dir(dir: &Path) -> Result<LockGuard> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let path = dir.join("lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io(&path, e))?;
    let timeout = lock_timeout_ms()?;
    let deadline = Instant::now() + Duration::from_millis(timeout);
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(LockGuard { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(Error::conflict(format!(
                    "another orch process holds {} (waited {timeout} ms)",
                    path.display()
                ))
                .with_hint("wait for it to finish and run the command again"))
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&path, e)),
        }
    }
}
