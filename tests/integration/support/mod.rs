//! The test environment: a temporary git repository, a hermetic process environment and a
//! fluent way to run `orch` in it and check what happened.
//!
//! ```ignore
//! let env = Env::with_task("TSK-1");
//! env.orch(&["phase", "complete"]).fails(3).stderr_contains("CONTEXT.md");
//! ```

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

pub mod json;

use std::cell::Cell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_orch");
pub const AUTHOR: &str = "Test User <test@example.com>";
/// `ORCH_NOW` of the first command; each command run through [`Env::orch`] is one minute later.
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

pub struct Env {
    _tmp: tempfile::TempDir,
    /// The repository's worktree (canonical path).
    pub root: PathBuf,
    pub home: PathBuf,
    clock: Cell<i64>,
    vars: Vec<(String, String)>,
}

/// A hermetic `Command`: nothing from the caller's environment but PATH.
pub fn hermetic(program: &str, home: &Path) -> Command {
    let mut c = Command::new(program);
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Test User")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test User")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .env("GIT_AUTHOR_DATE", "2025-01-13T14:30:22Z")
        .env("GIT_COMMITTER_DATE", "2025-01-13T14:30:22Z")
        .env("TZ", "UTC")
        .env("LC_ALL", "C")
        .env("ORCH_LOCK_TIMEOUT_MS", "2000")
        .stdin(Stdio::null());
    c
}

impl Env {
    /// An empty git repository (`git init -b main`), without `.orchestration/`.
    pub fn git_only() -> Env {
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
            root,
            home,
            clock: Cell::new(0),
            vars: Vec::new(),
        };
        env.git(&["init", "-q", "-b", "main"]);
        env
    }

    /// A directory that is not inside any git repository.
    pub fn no_repo() -> Env {
        let env = Env::git_only();
        std::fs::remove_dir_all(env.root.join(".git")).unwrap();
        env
    }

    /// A repository after `orch init`.
    pub fn new() -> Env {
        let env = Env::git_only();
        env.orch(&["init"]).succeeds();
        env
    }

    /// A repository with task `code` created (title, description) but no session.
    pub fn with_task(code: &str) -> Env {
        let env = Env::new();
        env.new_task(code);
        env
    }

    /// A repository with task `code` and an active session in intake.
    pub fn started(code: &str) -> Env {
        let env = Env::with_task(code);
        env.orch(&["session", "start", code]).succeeds();
        env
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
        ])
        .succeeds();
    }

    /// Sets an environment variable for every later `orch` run.
    pub fn set_var(mut self, k: &str, v: &str) -> Env {
        self.vars.push((k.into(), v.into()));
        self
    }

    /// The `ORCH_NOW` the next command gets.
    pub fn now(&self) -> String {
        chrono_like_add_minutes(START, self.clock.get())
    }

    pub fn orch(&self, args: &[&str]) -> Run {
        let now = self.now();
        self.clock.set(self.clock.get() + 1);
        let mut cmd = hermetic(BIN, &self.home);
        cmd.current_dir(&self.root).args(args).env("ORCH_NOW", &now);
        for (k, v) in &self.vars {
            cmd.env(k, v);
        }
        Run {
            cmd,
            label: format!("orch {}", args.join(" ")),
        }
    }

    /// Runs real git in the repository; panics unless it succeeds; returns stdout.
    pub fn git(&self, args: &[&str]) -> String {
        let out = hermetic("git", &self.home)
            .current_dir(&self.root)
            .args(args)
            .output()
            .expect("run git");
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    pub fn task_file(&self, code: &str, name: &str) -> PathBuf {
        self.root.join(".orchestration/tasks").join(code).join(name)
    }

    pub fn write(&self, rel: &str, text: &str) -> &Env {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
        self
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
    }

    /// Writes a real, filled-in artifact into the task folder.
    pub fn artifact(&self, code: &str, name: &str) -> &Env {
        self.write(
            &format!(".orchestration/tasks/{code}/{name}"),
            &format!("# {name} for {code}\n\nReal findings, written by hand.\n"),
        )
    }

    pub fn config(&self, toml: &str) -> &Env {
        self.write(".orchestration/config.toml", toml)
    }

    pub fn session(&self, code: &str) -> json::Session {
        let text = std::fs::read_to_string(self.task_file(code, "session.json")).unwrap();
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("session.json: {e}\n{text}"))
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
    pub fn advance_to(&self, code: &str, phase: &str) {
        loop {
            let cur = self.session(code).current_phase;
            if cur == phase {
                return;
            }
            if let Some(a) = required_artifact(&cur) {
                if a != "TASK.md" {
                    self.artifact(code, a);
                }
            }
            self.orch(&["phase", "complete", code]).succeeds();
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

    /// Runs the command, whatever its exit status.
    pub fn run(mut self) -> Done {
        let out = self.cmd.output().expect("run orch");
        Done {
            label: self.label,
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
