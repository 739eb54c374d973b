//! A temporary repository with a hermetic git and orch environment, shared by the hook and
//! verify tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Env {
    pub root: tempfile::TempDir,
    pub home: tempfile::TempDir,
}

fn bin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_orch"))
        .parent()
        .unwrap()
        .to_path_buf()
}

impl Env {
    pub fn new() -> Env {
        let e = Env {
            root: tempfile::tempdir().unwrap(),
            home: tempfile::tempdir().unwrap(),
        };
        e.ok(e.git(&["init", "-q", "-b", "main"]));
        std::fs::create_dir_all(e.path(".orchestration")).unwrap();
        // orch writes files only; commits are made with git, as a user (or --no-verify) would.
        e.write(".orchestration/config.toml", "[git]\ncommit = false\n");
        e.ok(e.orch(&["init"]));
        e.ok(e.git(&["add", "-A"]));
        e.ok(e.git(&["commit", "-q", "-m", "init"]));
        e
    }

    pub fn dir(&self) -> &Path {
        self.root.path()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir().join(rel)
    }

    pub fn cmd(&self, prog: &str, args: &[&str], cwd: &Path) -> Command {
        let mut c = Command::new(prog);
        let path = format!(
            "{}:{}",
            bin_dir().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        c.args(args)
            .current_dir(cwd)
            .env_clear()
            .env("PATH", path)
            .env("HOME", self.home.path())
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "Ada")
            .env("GIT_AUTHOR_EMAIL", "ada@example.com")
            .env("GIT_COMMITTER_NAME", "Ada")
            .env("GIT_COMMITTER_EMAIL", "ada@example.com")
            .env("ORCH_NOW", "2025-01-13T14:30:22Z")
            .env("NO_COLOR", "1");
        c
    }

    pub fn git(&self, args: &[&str]) -> Output {
        self.git_in(self.dir(), args)
    }

    pub fn git_in(&self, cwd: &Path, args: &[&str]) -> Output {
        self.cmd("git", args, cwd).output().unwrap()
    }

    pub fn orch(&self, args: &[&str]) -> Output {
        self.cmd(env!("CARGO_BIN_EXE_orch"), args, self.dir())
            .output()
            .unwrap()
    }

    pub fn ok(&self, o: Output) -> String {
        assert!(
            o.status.success(),
            "command failed: {}\nstdout: {}\nstderr: {}",
            o.status,
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    pub fn write(&self, rel: &str, text: &str) {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap()
    }

    /// Commits everything staged plus the task folder, as an orch transition would.
    pub fn commit_task(&self, code: &str, subject: &str) {
        self.ok(self.git(&["add", "-A", &format!(".orchestration/tasks/{code}")]));
        self.ok(self.git(&["commit", "-q", "-m", &format!("orch({code}): {subject}")]));
    }

    /// A task with an active session, walked to `phase` with its artifacts filled in.
    pub fn task_in(&self, code: &str, phase: &str) {
        self.ok(self.orch(&[
            "task",
            "new",
            code,
            "--title",
            "Fix it",
            "--description",
            "Make it work",
        ]));
        self.commit_task(code, "new task");
        self.ok(self.orch(&["session", "start", code]));
        self.commit_task(code, "session start");
        let order = ["intake", "research", "plan", "execute", "review", "close"];
        let artifacts = [("research", "CONTEXT.md"), ("plan", "PLAN.md")];
        for w in order.windows(2) {
            if w[0] == phase {
                break;
            }
            if let Some((_, a)) = artifacts.iter().find(|(p, _)| *p == w[0]) {
                self.write(
                    &format!(".orchestration/tasks/{code}/{a}"),
                    &format!("# {a}\n\nReal findings for {code}.\n"),
                );
            }
            self.ok(self.orch(&["phase", "complete", code]));
            self.commit_task(code, &format!("{} -> {}", w[0], w[1]));
        }
    }

    pub fn stderr(o: &Output) -> String {
        String::from_utf8_lossy(&o.stderr).into_owned()
    }
}
