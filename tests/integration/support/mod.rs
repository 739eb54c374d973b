//! The one test harness: a temporary repository, a hermetic process environment, a builder
//! that sets the repository up declaratively, and a fluent way to run `orch` in it and check
//! what happened.
//!
//! ```ignore
//! let env = Env::builder().orch_init().task("TSK-1").session("TSK-1").build();
//! env.orch(&["phase", "complete"]).fails(3).stderr_contains("CONTEXT.md");
//! ```
//!
//! Every child process (orch or git) starts from an empty environment plus the variables set
//! here, so nothing of the developer's git config, identity or clock leaks into a test. The
//! tests of the library itself, which run gix in this process, use [`in_process`] instead.

#![allow(dead_code)]

/// `insta::assert_snapshot!` with the snapshots kept in `tests/snapshots/`.
macro_rules! snap {
    ($name:expr, $value:expr) => {
        insta::with_settings!({
            snapshot_path => concat!(env!("CARGO_MANIFEST_DIR"), "/tests/snapshots"),
            prepend_module_to_snapshot => true,
        }, {
            insta::assert_snapshot!($name, $value);
        })
    };
}

pub mod gitdiff;
pub mod in_process;
pub mod json;

use std::cell::Cell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_orch");
pub const AUTHOR: &str = "Test User <test@example.com>";
/// The first `ORCH_NOW` of [`Clock::Stepped`], and the fixed one tests set by hand.
pub const START: &str = "2025-01-13T14:30:22Z";

pub const PHASES: [&str; 6] = ["intake", "research", "plan", "execute", "review", "close"];
/// The required artifact of each phase of the built-in workflow (execute has none).
pub fn required_artifact(phase: &str) -> Option<&'static str> {
    match phase {
        "intake" => Some("TASK.md"),
        "research" => Some("CONTEXT.md"),
        "plan" => Some("PLAN.md"),
        "review" => Some("REVIEW.md"),
        "close" => Some("SUMMARY.md"),
        _ => None,
    }
}

/// The phase after `p` in the built-in workflow.
pub fn next_phase(p: &str) -> &'static str {
    let i = PHASES.iter().position(|x| *x == p).expect("known phase");
    PHASES[i + 1]
}

/// What time orch and git see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// Reproducible output for snapshots: git's dates are fixed at [`START`] and `ORCH_NOW`
    /// starts there and moves one minute with each orch run.
    Stepped,
    /// Commits ordered by date: git's author and committer dates start at 2023-11-14 and move
    /// 60 s with each orch or git run; `ORCH_NOW` stays at [`START`].
    Ticking,
    /// The wall clock, as for a user: neither git's dates nor `ORCH_NOW` are set.
    Wall,
}

/// The seconds since the epoch [`Clock::Ticking`] starts from.
const TICKING_START: i64 = 1_700_000_000;

/// A hermetic `Command`: nothing from the caller's environment but PATH (with the built
/// `orch` first, so the git hook shims find it), a home of its own, no git config, a fixed
/// identity, commit date, locale and time zone.
pub fn hermetic(program: &str, home: &Path) -> Command {
    let path = format!(
        "{}:{}",
        bin_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut c = Command::new(program);
    c.env_clear()
        .env("PATH", path)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Test User")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test User")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .env("GIT_AUTHOR_DATE", START)
        .env("GIT_COMMITTER_DATE", START)
        .env("GIT_EDITOR", "true")
        .env("TZ", "UTC")
        .env("LC_ALL", "C")
        .env("NO_COLOR", "1")
        .env("ORCH_LOCK_TIMEOUT_MS", "2000");
    default_signals(&mut c);
    c
}

/// The termination signals start with their default action in the child, whatever the test
/// runner inherited (`nohup` ignores SIGHUP, a shell's background job SIGINT and SIGQUIT):
/// an ignored signal is inherited across exec and orch rightly keeps ignoring it.
fn default_signals(c: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: signal(2) is async-signal-safe, which is all pre_exec allows.
    unsafe {
        c.pre_exec(|| {
            for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGQUIT] {
                libc::signal(sig, libc::SIG_DFL);
            }
            Ok(())
        });
    }
}

fn bin_dir() -> PathBuf {
    Path::new(BIN).parent().unwrap().to_path_buf()
}

/// One thing [`Builder::build`] does to the new repository, in the order given.
enum Step {
    Write(String, Vec<u8>),
    CommitAll(String),
    Orch(Vec<String>),
    FillTask(String),
}

/// The built-in workflow with execute's code gates (a code commit, nothing uncommitted)
/// turned off, as a repository's own `.orchestration/workflow.yaml` may: for tests of the
/// commit machinery that walk every phase with the user's changes left staged.
pub fn workflow_without_code_gates() -> String {
    let text = include_str!("../../../workflow/workflow.yaml");
    let gates = "    code_commits: true\n    clean_worktree: true\n";
    assert!(
        text.contains(gates),
        "the built-in execute phase lost its code gates"
    );
    text.replace(gates, "")
}

/// The acceptance criterion every harness task is created with.
pub const CRITERION: &str = "a session lasts 30 minutes without activity";

/// Filled-in text of a built-in artifact: every section the built-in workflow requires holds
/// text of its own (REVIEW.md approves).
pub fn filled_artifact(code: &str, name: &str) -> String {
    let sections: &[&str] = match name {
        "CONTEXT.md" => &["Summary", "Relevant code"],
        "PLAN.md" => &["Approach", "Steps", "Tests"],
        "REVIEW.md" => &["Verdict", "What was checked"],
        "SUMMARY.md" => &["What changed", "How it was verified"],
        _ => &[],
    };
    let front = if name == "REVIEW.md" {
        "---\nverdict: approve\n---\n"
    } else {
        ""
    };
    let mut s = format!("{front}# {name} for {code}\n\nReal findings, written by hand.\n");
    for sec in sections {
        s.push_str(&format!("\n## {sec}\n\nWritten by hand for {code}.\n"));
    }
    s
}

/// TASK.md with its Problem written (and the text kept otherwise), as an agent leaves it
/// after intake.
/// A TASK.md that lists no criterion gets one, already met (`- [x]`), so both intake and
/// close accept it.
pub fn fill_task_text(text: &str) -> String {
    let mut t = text.to_string();
    if !t.contains("Sessions expire too early.") {
        t = t.replacen(
            "## Problem\n",
            "## Problem\n\nSessions expire too early.\n",
            1,
        );
    }
    if !t.contains("\n- [ ] ") && !t.contains("\n- [x] ") {
        t = t.replacen(
            "## Acceptance criteria\n",
            &format!("## Acceptance criteria\n\n- [x] {CRITERION}\n"),
            1,
        );
    }
    t
}

/// Declares the repository a test starts from; [`Builder::build`] makes it.
pub struct Builder {
    clock: Clock,
    branch: Option<String>,
    vars: Vec<(String, String)>,
    steps: Vec<Step>,
}

impl Builder {
    /// What time orch and git see ([`Clock::Stepped`] unless told).
    pub fn clock(mut self, clock: Clock) -> Builder {
        self.clock = clock;
        self
    }

    /// No `git init`: a folder that is not inside any repository.
    pub fn no_git(mut self) -> Builder {
        self.branch = None;
        self
    }

    /// `git init -b <branch>` instead of `main`.
    pub fn branch(mut self, name: &str) -> Builder {
        self.branch = Some(name.into());
        self
    }

    /// An environment variable for every later orch and git run.
    pub fn var(mut self, k: &str, v: &str) -> Builder {
        self.vars.push((k.into(), v.into()));
        self
    }

    /// Writes a file of the worktree.
    pub fn file(mut self, rel: &str, content: impl AsRef<[u8]>) -> Builder {
        self.steps
            .push(Step::Write(rel.into(), content.as_ref().to_vec()));
        self
    }

    /// Writes `.orchestration/config.toml`.
    pub fn config(self, toml: &str) -> Builder {
        self.file(".orchestration/config.toml", toml)
    }

    /// `git add -A && git commit --allow-empty -m <msg>`.
    pub fn commit(mut self, msg: &str) -> Builder {
        self.steps.push(Step::CommitAll(msg.into()));
        self
    }

    /// Runs orch with `args`, which must succeed.
    pub fn orch(mut self, args: &[&str]) -> Builder {
        self.steps
            .push(Step::Orch(args.iter().map(|a| a.to_string()).collect()));
        self
    }

    /// `orch init`.
    pub fn orch_init(self) -> Builder {
        self.orch(&["init"])
    }

    /// `orch task new <code>` with a title, a description and one criterion, then its
    /// Problem written, so intake can complete.
    pub fn task(mut self, code: &str) -> Builder {
        self = self.orch(&[
            "task",
            "new",
            code,
            "--title",
            "Fix login timeout",
            "--description",
            "Sessions expire after 5 min",
            "--criterion",
            CRITERION,
        ]);
        self.steps.push(Step::FillTask(code.into()));
        self
    }

    /// `orch session start <code>`.
    pub fn session(self, code: &str) -> Builder {
        self.orch(&["session", "start", code])
    }

    pub fn build(self) -> Env {
        let tmp = tempfile::Builder::new()
            .prefix("orch-test")
            .tempdir()
            .expect("temp dir");
        let base = std::fs::canonicalize(tmp.path()).unwrap();
        let home = base.join("home");
        let root = base.join("repo");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(&root).unwrap();
        let env = Env {
            _tmp: tmp,
            base,
            root,
            home,
            clock: self.clock,
            tick: Cell::new(0),
            vars: self.vars,
            unset: Vec::new(),
        };
        if let Some(branch) = &self.branch {
            env.git(&["init", "-q", "-b", branch]);
        }
        for step in self.steps {
            match step {
                Step::Write(rel, bytes) => {
                    env.write(&rel, bytes);
                }
                Step::CommitAll(msg) => {
                    env.commit_all(&msg);
                }
                Step::Orch(args) => {
                    let args: Vec<&str> = args.iter().map(String::as_str).collect();
                    env.orch(&args).succeeds();
                }
                Step::FillTask(code) => env.fill_task(&code),
            }
        }
        env
    }
}

/// A temporary folder with a home and a repository, and the environment every command in it
/// gets.
pub struct Env {
    _tmp: tempfile::TempDir,
    /// The temporary folder holding `home/` and `repo/` (and whatever else a test adds).
    pub base: PathBuf,
    /// The repository's worktree (canonical path).
    pub root: PathBuf,
    pub home: PathBuf,
    clock: Clock,
    /// Runs so far, for the clock.
    tick: Cell<i64>,
    vars: Vec<(String, String)>,
    unset: Vec<String>,
}

impl Env {
    /// A repository to declare: `git init -b main`, nothing else yet, [`Clock::Stepped`].
    pub fn builder() -> Builder {
        Builder {
            clock: Clock::Stepped,
            branch: Some("main".into()),
            vars: Vec::new(),
            steps: Vec::new(),
        }
    }

    /// An empty git repository (`git init -b main`), without `.orchestration/`.
    pub fn git_only() -> Env {
        Env::builder().build()
    }

    /// A directory that is not inside any git repository.
    pub fn no_repo() -> Env {
        Env::builder().no_git().build()
    }

    /// A repository after `orch init`.
    pub fn new() -> Env {
        Env::builder().orch_init().build()
    }

    /// A repository with task `code` created (title, description) but no session.
    pub fn with_task(code: &str) -> Env {
        Env::builder().orch_init().task(code).build()
    }

    /// A repository with task `code` and an active session in intake.
    pub fn started(code: &str) -> Env {
        Env::builder().orch_init().task(code).session(code).build()
    }

    /// A repository where orch writes files and the user commits them with git, as with
    /// `[git] commit = false` or `--no-verify`: one commit "init" of `orch init`.
    pub fn user_commits() -> Env {
        Env::builder()
            .clock(Clock::Wall)
            .var("ORCH_NOW", START)
            .config("[git]\ncommit = false\n")
            .orch_init()
            .commit("init")
            .build()
    }

    pub fn new_task(&self, code: &str) {
        self.orch(&[
            "task",
            "new",
            code,
            "--title",
            "Fix login timeout",
            "--description",
            "Sessions expire after 5 min",
            "--criterion",
            CRITERION,
        ])
        .succeeds();
        self.fill_task(code);
    }

    /// Writes the task's Problem into TASK.md (uncommitted, as an agent would).
    pub fn fill_task(&self, code: &str) {
        let rel = format!(".orchestration/tasks/{code}/TASK.md");
        let text = self.read(&rel);
        self.write(&rel, fill_task_text(&text));
    }

    /// Ticks every open acceptance criterion of the task's TASK.md.
    pub fn tick_criteria(&self, code: &str) {
        let rel = format!(".orchestration/tasks/{code}/TASK.md");
        let text = self.read(&rel);
        self.write(&rel, text.replace("- [ ] ", "- [x] "));
    }

    /// A commit of code (a file outside .orchestration/), as the execute phase makes them.
    pub fn code_commit(&self, code: &str) -> String {
        let n = std::fs::read_dir(self.path("work"))
            .map(|d| d.count())
            .unwrap_or(0);
        let rel = format!("work/{code}-{n}.txt");
        self.write(&rel, format!("change {n} for {code}\n"));
        self.git(&["add", "--", &rel]);
        self.git(&[
            "commit",
            "-q",
            "-m",
            &format!("Work on {code} ({n})"),
            "--",
            &rel,
        ]);
        self.head()
    }

    /// Sets an environment variable for every later orch and git run.
    pub fn set_var(mut self, k: &str, v: &str) -> Env {
        self.vars.push((k.into(), v.into()));
        self
    }

    /// Removes an environment variable the harness sets (an identity, say) from every later
    /// orch and git run.
    pub fn unset_var(mut self, k: &str) -> Env {
        self.unset.push(k.into());
        self
    }

    /// The `ORCH_NOW` the next orch run gets under [`Clock::Stepped`].
    pub fn now(&self) -> String {
        chrono_like_add_minutes(START, self.tick.get())
    }

    /// A hermetic command in the repository, with this environment's clock and variables.
    fn command(&self, program: &str, is_orch: bool) -> Command {
        let mut c = hermetic(program, &self.home);
        c.current_dir(&self.root);
        match self.clock {
            Clock::Stepped => {
                if is_orch {
                    c.env("ORCH_NOW", self.now());
                    self.tick.set(self.tick.get() + 1);
                }
            }
            Clock::Ticking => {
                let t = TICKING_START + 60 * (self.tick.get() + 1);
                self.tick.set(self.tick.get() + 1);
                c.env("ORCH_NOW", START)
                    .env("GIT_AUTHOR_DATE", format!("@{t} +0000"))
                    .env("GIT_COMMITTER_DATE", format!("@{t} +0000"));
            }
            Clock::Wall => {
                c.env_remove("GIT_AUTHOR_DATE")
                    .env_remove("GIT_COMMITTER_DATE");
            }
        }
        for (k, v) in &self.vars {
            c.env(k, v);
        }
        for k in &self.unset {
            c.env_remove(k);
        }
        c
    }

    /// orch with `args`, in the repository, ready to run and check.
    pub fn orch(&self, args: &[&str]) -> Run {
        let mut cmd = self.command(BIN, true);
        cmd.args(args).stdin(Stdio::null());
        Run {
            cmd,
            label: format!("orch {}", args.join(" ")),
        }
    }

    /// Runs orch, which must succeed; returns stdout.
    pub fn orch_ok(&self, args: &[&str]) -> String {
        self.orch(args).succeeds().stdout
    }

    /// A git command in the repository, not yet run.
    pub fn git_cmd(&self, args: &[&str]) -> Command {
        let mut c = self.command("git", false);
        c.args(args);
        c
    }

    /// Runs `sh -c script` in the repository with this environment, whatever its exit status:
    /// for commands orch prints for the user to run, followed literally.
    pub fn shell(&self, script: &str) -> Output {
        self.command("sh", false)
            .args(["-c", script])
            .output()
            .expect("run sh")
    }

    /// Runs git in the repository, whatever its exit status.
    pub fn git_raw(&self, args: &[&str]) -> Output {
        self.git_cmd(args).output().expect("run git")
    }

    /// Runs git in `dir`; panics unless it succeeds; returns stdout.
    pub fn git_in(&self, dir: &Path, args: &[&str]) -> String {
        let out = self
            .git_cmd(args)
            .current_dir(dir)
            .output()
            .expect("run git");
        assert!(
            out.status.success(),
            "git {args:?} failed in {}: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs git in the repository; panics unless it succeeds; returns stdout.
    pub fn git(&self, args: &[&str]) -> String {
        self.git_in(&self.root, args)
    }

    /// Like [`Env::git`], for output that need not be UTF-8.
    pub fn git_bytes(&self, args: &[&str]) -> Vec<u8> {
        let out = self.git_raw(args);
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// `git add -A && git commit --allow-empty -m <msg>`; returns the new HEAD.
    pub fn commit_all(&self, msg: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", msg]);
        self.head()
    }

    /// Commits everything staged plus the task folder, as an orch transition would.
    pub fn commit_task(&self, code: &str, subject: &str) {
        self.git(&["add", "-A", &format!(".orchestration/tasks/{code}")]);
        self.git(&["commit", "-q", "-m", &format!("orch({code}): {subject}")]);
    }

    pub fn head(&self) -> String {
        self.git(&["rev-parse", "HEAD"]).trim().to_owned()
    }

    pub fn fsck(&self) {
        self.git(&["fsck", "--strict", "--no-progress"]);
    }

    pub fn git_dir(&self) -> PathBuf {
        let p = self.git(&["rev-parse", "--absolute-git-dir"]);
        PathBuf::from(p.trim())
    }

    /// `.orchestration/` has nothing to show in `git status` and matches HEAD.
    pub fn assert_orch_clean(&self) {
        let st = self.git(&["status", "--porcelain", "--", ".orchestration"]);
        assert_eq!(st, "", "git status shows orch's files");
        let diff = self.git(&["diff", "HEAD", "--", ".orchestration"]);
        assert_eq!(diff, "", "the worktree differs from HEAD in .orchestration");
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    pub fn task_file(&self, code: &str, name: &str) -> PathBuf {
        self.root.join(".orchestration/tasks").join(code).join(name)
    }

    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) -> &Env {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
        self
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
    }

    pub fn read_bytes(&self, rel: &str) -> Vec<u8> {
        std::fs::read(self.path(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
    }

    /// Removes a file, a symlink or a whole folder of the worktree.
    /// Removes the local current-task pointer, leaving the branch bindings to name the task.
    pub fn drop_pointer(&self) {
        std::fs::remove_file(self.git_dir().join("orchestration/current-task")).unwrap();
    }

    pub fn rm(&self, rel: &str) {
        let p = self.path(rel);
        if p.is_dir() && !p.is_symlink() {
            std::fs::remove_dir_all(p).unwrap();
        } else {
            std::fs::remove_file(p).unwrap();
        }
    }

    /// Writes a real, filled-in artifact into the task folder (with the sections the
    /// built-in workflow requires).
    pub fn artifact(&self, code: &str, name: &str) -> &Env {
        self.write(
            &format!(".orchestration/tasks/{code}/{name}"),
            filled_artifact(code, name),
        )
    }

    /// Writes config.toml and, in a repository with commits, commits it: orch obeys only
    /// the rules HEAD has.
    pub fn config(&self, toml: &str) -> &Env {
        self.write(".orchestration/config.toml", toml);
        self.commit_rules()
    }

    /// Commits config.toml, workflow.yaml and the templates as they are on disk (past any
    /// hooks), when the repository has a commit to build on.
    pub fn commit_rules(&self) -> &Env {
        if !self
            .git_raw(&["rev-parse", "-q", "--verify", "HEAD"])
            .status
            .success()
        {
            return self;
        }
        let paths: Vec<&str> = [
            ".orchestration/config.toml",
            ".orchestration/workflow.yaml",
            ".orchestration/templates",
        ]
        .into_iter()
        .filter(|p| self.path(p).exists() || !self.git(&["ls-files", "--", p]).is_empty())
        .collect();
        if paths.is_empty() {
            return self;
        }
        let mut add = vec!["add", "-A", "--"];
        add.extend(&paths);
        self.git(&add);
        let mut commit = vec![
            "commit",
            "-q",
            "--no-verify",
            "--allow-empty",
            "-m",
            "rules",
            "--",
        ];
        commit.extend(&paths);
        self.git(&commit);
        self
    }

    pub fn session(&self, code: &str) -> json::Session {
        let text = std::fs::read_to_string(self.task_file(code, "session.json")).unwrap();
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("session.json: {e}\n{text}"))
    }

    /// `session.json` as loose JSON, for the fields a test looks at.
    pub fn session_json(&self, code: &str) -> serde_json::Value {
        let text = std::fs::read(self.task_file(code, "session.json")).unwrap();
        serde_json::from_slice(&text).unwrap()
    }

    pub fn phase(&self, code: &str) -> String {
        self.session_json(code)["current_phase"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub fn events_text(&self, code: &str) -> String {
        std::fs::read_to_string(self.task_file(code, "events.jsonl")).unwrap_or_default()
    }

    /// Every event line of the task, parsed strictly, in file order.
    pub fn event_lines(&self, code: &str) -> Vec<json::Event> {
        self.events_text(code)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("event line {l}: {e}")))
            .collect()
    }

    pub fn event_types(&self, code: &str) -> Vec<String> {
        self.event_lines(code)
            .into_iter()
            .map(|e| e.type_)
            .collect()
    }

    /// Walks `code` (with an active session in intake) forward to `phase`, writing each
    /// phase's required artifact on the way.
    pub fn advance_to(&self, code: &str, phase: &str) -> &Env {
        loop {
            let cur = self.session(code).current_phase;
            if cur == phase {
                return self;
            }
            if let Some(a) = required_artifact(&cur) {
                if a != "TASK.md" {
                    self.artifact(code, a);
                }
            }
            if cur == "execute" {
                self.code_commit(code);
            }
            self.orch(&["phase", "complete", code]).succeeds();
            if self.session(code).current_phase == "close" {
                self.tick_criteria(code);
            }
        }
    }

    /// A task with an active session, walked to `phase` with its artifacts filled in, each
    /// step committed with git (for repositories made by [`Env::user_commits`]).
    pub fn task_in(&self, code: &str, phase: &str) {
        self.orch_ok(&[
            "task",
            "new",
            code,
            "--title",
            "Fix it",
            "--description",
            "Make it work",
            "--criterion",
            CRITERION,
        ]);
        self.fill_task(code);
        self.commit_task(code, "new task");
        self.orch_ok(&["session", "start", code]);
        self.commit_task(code, "session start");
        let artifacts = [("research", "CONTEXT.md"), ("plan", "PLAN.md")];
        for w in PHASES.windows(2) {
            if w[0] == phase {
                break;
            }
            if let Some((_, a)) = artifacts.iter().find(|(p, _)| *p == w[0]) {
                self.write(
                    &format!(".orchestration/tasks/{code}/{a}"),
                    filled_artifact(code, a),
                );
            }
            if w[0] == "execute" {
                self.code_commit(code);
            }
            self.orch_ok(&["phase", "complete", code]);
            self.commit_task(code, &format!("{} -> {}", w[0], w[1]));
        }
    }

    /// Everything a command could change: files of the worktree (outside .git), HEAD, the
    /// index, and the refs.
    pub fn fingerprint(&self) -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        for e in walkdir(&self.root) {
            let rel = e
                .strip_prefix(&self.root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if rel == ".git" || rel.starts_with(".git/") {
                continue;
            }
            let meta = std::fs::symlink_metadata(&e).unwrap();
            let v = if meta.file_type().is_symlink() {
                format!("-> {}", std::fs::read_link(&e).unwrap().display())
            } else if meta.is_dir() {
                "<dir>".into()
            } else {
                String::from_utf8_lossy(&std::fs::read(&e).unwrap()).into_owned()
            };
            m.insert(rel, v);
        }
        if !self.root.join(".git").exists() {
            return m;
        }
        m.insert(
            "<refs>".into(),
            self.git(&["for-each-ref", "--format=%(refname) %(objectname)"]),
        );
        m.insert("<HEAD>".into(), self.git(&["symbolic-ref", "-q", "HEAD"]));
        m.insert("<index>".into(), self.git(&["ls-files", "-s"]));
        m
    }

    /// Runs `f` and checks it changed nothing.
    pub fn unchanged<R>(&self, f: impl FnOnce(&Env) -> R) -> R {
        let before = self.fingerprint();
        let r = f(self);
        let after = self.fingerprint();
        if before != after {
            let mut diff = String::new();
            for k in before.keys().chain(after.keys()) {
                if before.get(k) != after.get(k) {
                    diff.push_str(&format!(
                        "{k}: {:?}\n  -> {:?}\n",
                        before.get(k),
                        after.get(k)
                    ));
                }
            }
            panic!("the command changed the repository:\n{diff}");
        }
        r
    }

    /// Replaces the temporary paths and ids in `text` with stable placeholders, for snapshots.
    pub fn redact(&self, text: &str) -> String {
        let mut t = text.replace(&self.root.display().to_string(), "[REPO]");
        t = t.replace(&self.home.display().to_string(), "[HOME]");
        t = redact_ids(&t);
        t
    }
}

/// Asserts `o` succeeded; returns its stdout.
#[track_caller]
pub fn ok(o: Output) -> String {
    assert!(
        o.status.success(),
        "command failed: {}\nstdout: {}\nstderr: {}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The stderr of `o`, as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The exit code is `code` and stderr mentions `needle` (in any case).
#[track_caller]
pub fn assert_exit(out: &Output, code: i32, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(code),
        "expected exit {code}; stdout:\n{}\nstderr:\n{stderr}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        stderr.to_lowercase().contains(&needle.to_lowercase()),
        "stderr does not mention {needle:?}:\n{stderr}"
    );
}

/// Commit ids (7 to 40 hex digits after "commit ") and event ids.
pub fn redact_ids(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("evt_") {
            let n = after.chars().take_while(|c| c.is_ascii_hexdigit()).count();
            if n >= 8 {
                out.push_str("[EVT]");
                rest = &after[n..];
                continue;
            }
        }
        if let Some(after) = rest.strip_prefix("commit ") {
            let n = after.chars().take_while(|c| c.is_ascii_hexdigit()).count();
            if n >= 7 {
                out.push_str("commit [COMMIT]");
                rest = &after[n..];
                continue;
            }
        }
        let c = rest.chars().next().unwrap();
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

fn walkdir(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let is_dir = e.file_type().map(|t| t.is_dir()).unwrap_or(false);
            if p.file_name().is_some_and(|n| n == ".git") && d == dir {
                continue;
            }
            out.push(p.clone());
            if is_dir {
                stack.push(p);
            }
        }
    }
    out.sort();
    out
}

/// `start` plus `minutes`, in the format `ORCH_NOW` wants (no date library in dev-deps).
fn chrono_like_add_minutes(start: &str, minutes: i64) -> String {
    // START is 2025-01-13T14:30:22Z; tests never run more than a few days of minutes.
    let base_min = 14 * 60 + 30 + minutes;
    let day = 13 + base_min / (24 * 60);
    let m = base_min % (24 * 60);
    assert!(day <= 31, "test clock ran past January");
    let _ = start;
    format!("2025-01-{day:02}T{:02}:{:02}:22Z", m / 60, m % 60)
}

/// An orch command, not yet run.
pub struct Run {
    cmd: Command,
    label: String,
}

impl Run {
    pub fn env(mut self, k: &str, v: &str) -> Run {
        self.cmd.env(k, v);
        self
    }
    pub fn env_remove(mut self, k: &str) -> Run {
        self.cmd.env_remove(k);
        self
    }
    pub fn current_dir(mut self, d: impl AsRef<Path>) -> Run {
        self.cmd.current_dir(d);
        self
    }

    /// The command itself, to spawn or to give other stdio.
    pub fn command(self) -> Command {
        self.cmd
    }

    /// Runs the command, whatever its exit status; the raw output.
    pub fn output(mut self) -> Output {
        self.cmd.output().expect("run orch")
    }

    /// Runs the command, whatever its exit status.
    pub fn run(self) -> Done {
        let label = self.label.clone();
        let out = self.output();
        Done {
            label,
            code: out.status.code(),
            stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
        }
    }

    pub fn succeeds(self) -> Done {
        self.status(0)
    }

    /// Runs and checks a failure with exit `code`, a one-line `error:` on stderr, no panic.
    pub fn fails(self, code: i32) -> Done {
        let d = self.status(code);
        assert!(
            d.stderr.starts_with("error: ") || code == 2 && d.stderr.contains("error:"),
            "{}: stderr does not start with `error: `:\n{}",
            d.label,
            d.stderr
        );
        d
    }

    pub fn status(self, code: i32) -> Done {
        let d = self.run();
        assert_eq!(
            d.code,
            Some(code),
            "{}: expected exit {code}, got {:?}\n--- stdout\n{}\n--- stderr\n{}",
            d.label,
            d.code,
            d.stdout,
            d.stderr
        );
        d.no_panic()
    }
}

/// What a finished orch run printed and how it exited.
#[derive(Debug, Clone)]
pub struct Done {
    pub label: String,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Done {
    pub fn no_panic(self) -> Done {
        assert_ne!(
            self.code,
            Some(101),
            "{} panicked:\n{}",
            self.label,
            self.stderr
        );
        assert!(
            !self.stderr.contains("panicked at"),
            "{} panicked:\n{}",
            self.label,
            self.stderr
        );
        self
    }
    pub fn stdout_contains(self, s: &str) -> Done {
        assert!(
            self.stdout.contains(s),
            "{}: stdout lacks {s:?}:\n{}",
            self.label,
            self.stdout
        );
        self
    }
    pub fn stderr_contains(self, s: &str) -> Done {
        assert!(
            self.stderr.contains(s),
            "{}: stderr lacks {s:?}:\n{}",
            self.label,
            self.stderr
        );
        self
    }
    pub fn stdout_lacks(self, s: &str) -> Done {
        assert!(
            !self.stdout.contains(s),
            "{}: stdout has {s:?}:\n{}",
            self.label,
            self.stdout
        );
        self
    }
    pub fn stderr_lacks(self, s: &str) -> Done {
        assert!(
            !self.stderr.contains(s),
            "{}: stderr has {s:?}:\n{}",
            self.label,
            self.stderr
        );
        self
    }
    pub fn stdout_empty(self) -> Done {
        assert!(
            self.stdout.is_empty(),
            "{}: stdout not empty:\n{}",
            self.label,
            self.stdout
        );
        self
    }
    /// The first line of stderr: the error sentence.
    pub fn error_line(&self) -> &str {
        self.stderr.lines().next().unwrap_or("")
    }
    /// stdout as exactly one JSON document of type `T`.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> T {
        let mut de = serde_json::Deserializer::from_str(&self.stdout);
        let v = T::deserialize(&mut de).unwrap_or_else(|e| {
            panic!(
                "{}: stdout is not the expected JSON: {e}\n{}",
                self.label, self.stdout
            )
        });
        de.end().unwrap_or_else(|e| {
            panic!(
                "{}: more than one JSON document on stdout: {e}\n{}",
                self.label, self.stdout
            )
        });
        v
    }
    /// stdout and stderr together, labelled, for a snapshot.
    pub fn transcript(&self, env: &Env) -> String {
        env.redact(&format!(
            "exit: {:?}\n--- stdout\n{}--- stderr\n{}",
            self.code.unwrap_or(-1),
            self.stdout,
            self.stderr
        ))
    }
}
