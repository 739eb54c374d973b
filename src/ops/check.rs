//! `orch check [NAME…]`: runs the repository's configured checks, streams their output to the
//! caller, and records each run as an `orchestration.check.<name>` event of the task, with the
//! full output kept in the git dir.
//!
//! Only the committed `[checks]` count: the commands come from HEAD's config.toml, so nothing
//! written into the worktree (a task file, an uncommitted config edit) can choose what runs.

use crate::code::TaskCode;
use crate::config::Config;
use crate::event::Event;
use crate::gates::checks::{self, Checks, Run};
use crate::project::{Project, ORCH_DIR};
use crate::{Error, Result};
use serde::Serialize;
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Lines of output an event keeps, and their bound in bytes.
const TAIL_LINES: usize = 20;
const TAIL_BYTES: usize = 2000;
/// Runs of one check whose logs are kept in the git dir.
const LOGS_KEPT: usize = 5;
/// How often the caller hears that a check is still running.
const TICK: Duration = Duration::from_millis(100);

/// What a running check reports to whoever shows it.
pub enum Progress<'a> {
    Started { check: &'a str, command: &'a str },
    Line { check: &'a str, line: &'a str },
    Tick { check: &'a str, elapsed: Duration },
    Finished { run: &'a Run },
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// The task the runs were recorded for; `None` when no task is current.
    pub task: Option<String>,
    pub runs: Vec<Run>,
    pub passed: bool,
}

/// The `[checks]` of HEAD's config.toml (defaults when HEAD has none).
pub fn committed_checks(p: &Project) -> Result<Checks> {
    let Some(head) = p.git.head_id()? else {
        return Ok(Checks::default());
    };
    let repo = &p.git.repo;
    let tree = crate::git::history::commit_tree_parents(repo, head)?.0;
    let rel = format!("{ORCH_DIR}/config.toml");
    match crate::git::history::blob_at(repo, tree, &rel)? {
        Some(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            Ok(Config::parse(&text, Path::new(&rel))?.checks)
        }
        None => Ok(Checks::default()),
    }
}

/// The checks orch may run: the committed ones, refused when the worktree's config.toml says
/// otherwise (the user would expect their edit to count, and it must not).
pub fn checks_in_force(p: &Project) -> Result<Checks> {
    let committed = committed_checks(p)?;
    if committed != p.config.checks {
        return Err(Error::state(format!(
            "the [checks] in {ORCH_DIR}/config.toml differ from the committed ones; orch runs only committed commands"
        ))
        .with_hint(format!(
            "commit the file first: git commit -m \"Configure checks\" -- {ORCH_DIR}/config.toml"
        )));
    }
    Ok(committed)
}

/// The checks to run for `names` (all configured ones when empty), in the order given.
pub fn select<'c>(
    checks: &'c Checks,
    names: &[String],
) -> Result<Vec<(&'c str, &'c checks::Command)>> {
    if checks.commands.is_empty() {
        return Err(Error::usage(format!(
            "no checks are configured in {ORCH_DIR}/config.toml"
        ))
        .with_hint(format!(
            "add the commands under [checks], e.g. tests = \"python3 -m unittest\", and commit {ORCH_DIR}/config.toml"
        )));
    }
    if names.is_empty() {
        return Ok(checks
            .commands
            .iter()
            .map(|(n, c)| (n.as_str(), c))
            .collect());
    }
    names
        .iter()
        .map(|n| {
            checks
                .commands
                .get_key_value(n)
                .map(|(k, c)| (k.as_str(), c))
                .ok_or_else(|| {
                    Error::usage(format!("no check named {n:?} is configured"))
                        .with_hint(format!("configured checks: {}", checks.names().join(", ")))
                })
        })
        .collect()
}

/// Whether the worktree holds only what HEAD has outside the orchestration folder: no
/// changed tracked file, no untracked one. Asked before checks run: what they write is their
/// output, not the code they test.
fn worktree_clean(p: &Project) -> Result<bool> {
    Ok(crate::git::status::uncommitted_outside(&p.git.repo, ORCH_DIR, true)?.is_empty())
}

/// Runs one check at the current HEAD and returns its record (not yet written anywhere but
/// the log file); `clean` is [`worktree_clean`] from before the checks started.
fn run_one(
    p: &Project,
    name: &str,
    cmd: &checks::Command,
    timeout: Duration,
    clean: bool,
    sink: &mut dyn FnMut(Progress),
) -> Result<Run> {
    let commit = p.git.head_id()?.map(|i| i.to_string());
    let log_path = log_path(p, name)?;
    let mut log = std::fs::File::create(&log_path).map_err(|e| Error::io(&log_path, e))?;
    let _ = writeln!(log, "$ {}", cmd.display);
    sink(Progress::Started {
        check: name,
        command: &cmd.display,
    });
    let out = execute(&cmd.argv, &p.root, timeout, &mut log, &mut |ev| match ev {
        Feed::Line(line) => sink(Progress::Line { check: name, line }),
        Feed::Tick(elapsed) => sink(Progress::Tick {
            check: name,
            elapsed,
        }),
    })?;
    let passed = out.exit_code == Some(0) && !out.timed_out;
    let _ = writeln!(
        log,
        "# exit code {}{}",
        out.exit_code.map_or("none".to_string(), |c| c.to_string()),
        if out.timed_out { ", timed out" } else { "" }
    );
    prune_logs(p, name);
    let run = Run {
        check: name.to_string(),
        command: cmd.display.clone(),
        exit_code: out.exit_code,
        passed,
        timed_out: out.timed_out,
        duration_ms: out.duration.as_millis() as u64,
        commit,
        clean,
        tail: out.tail,
        log: Some(log_path.display().to_string()),
    };
    sink(Progress::Finished { run: &run });
    Ok(run)
}

/// `orch check`: runs the named checks (all when none are named) and, when a task is given,
/// appends their events to its log (they travel with its next commit).
pub fn check(
    p: &Project,
    names: &[String],
    task: Option<&TaskCode>,
    timeout_seconds: Option<u64>,
    sink: &mut dyn FnMut(Progress),
) -> Result<CheckReport> {
    if let Some(code) = task {
        p.require_task(code)?;
    }
    let checks = checks_in_force(p)?;
    let selected = select(&checks, names)?;
    let timeout = Duration::from_secs(timeout_seconds.unwrap_or(checks.timeout_seconds));
    let clean = worktree_clean(p)?;
    let mut runs = Vec::new();
    for (name, cmd) in selected {
        runs.push(run_one(p, name, cmd, timeout, clean, sink)?);
    }
    if let Some(code) = task {
        record(p, code, &runs)?;
    }
    Ok(CheckReport {
        task: task.map(|c| c.to_string()),
        passed: runs.iter().all(|r| r.passed),
        runs,
    })
}

/// The error a report with failed runs amounts to (exit 3, one diagnostic per failed check
/// with the tail of its output and the command to rerun), `None` when every run passed.
pub fn failure(p: &Project, report: &CheckReport) -> Result<Option<crate::Error>> {
    let head = p.git.head_id()?.map(|i| i.to_string());
    let failed: Vec<&Run> = report.runs.iter().filter(|r| !r.passed).collect();
    if failed.is_empty() {
        return Ok(None);
    }
    let names: Vec<&str> = failed.iter().map(|r| r.check.as_str()).collect();
    let diagnostics = failed
        .iter()
        .map(|r| crate::gates::checks::failed(&r.check, r, head.as_deref()))
        .collect();
    Ok(Some(
        crate::Error::validation(format!("check {} failed", names.join(", ")))
            .with_hint(format!(
                "fix it, commit, and rerun: orch check {}",
                names.join(" ")
            ))
            .with_diagnostics(diagnostics),
    ))
}

/// Appends one event per run to the task's events.jsonl, under the lock.
pub fn record(p: &Project, code: &TaskCode, runs: &[Run]) -> Result<()> {
    let _lock = p.lock()?;
    let write = record_write(p, code, runs)?;
    super::apply(p, vec![write], &[&p.task_rel(code)], None)?;
    Ok(())
}

/// A run as the task's history keeps it: the log named inside the git dir
/// (`orchestration/checks/…`), so that no clone's local path is committed.
fn committed_run(p: &Project, r: &Run) -> Run {
    let mut r = r.clone();
    r.log = r.log.map(
        |l| match std::path::Path::new(&l).strip_prefix(&p.git.git_dir) {
            Ok(rel) => rel.display().to_string(),
            Err(_) => l,
        },
    );
    r
}

/// events.jsonl with the runs' events appended, for a caller that writes it (a transition
/// commits it with everything else).
pub fn record_write(p: &Project, code: &TaskCode, runs: &[Run]) -> Result<crate::store::FileWrite> {
    let session = p.load_session(code)?;
    let (st, _) = super::stamp(p)?;
    let events: Vec<Event> = runs
        .iter()
        .map(|r| {
            Event::new(
                &r.event_type(),
                &st.now,
                session.as_ref().map(|s| s.session_key.as_str()),
                code.as_str(),
                &st.actor,
                committed_run(p, r).payload(),
            )
        })
        .collect();
    super::event::appended(p, code, &events)
}

/// With `[checks] run_on_complete`, runs the phase's required checks that have no passing
/// run on HEAD's code yet, and appends their events. The caller holds the project lock. On a
/// worktree with uncommitted code nothing runs: such a run would not count.
pub fn run_due(
    p: &Project,
    code: &TaskCode,
    phase: &crate::workflow::Phase,
    sink: &mut dyn FnMut(Progress),
) -> Result<Vec<Run>> {
    let checks = committed_checks(p)?;
    if !checks.run_on_complete {
        return Ok(vec![]);
    }
    let due: Vec<String> = super::gates::check_diagnostics(p, code, phase)?
        .iter()
        .filter(|d| d.is_error())
        .filter_map(|d| d.target.strip_prefix("check:").map(str::to_string))
        .collect();
    if due.is_empty() || !worktree_clean(p)? {
        return Ok(vec![]);
    }
    let timeout = Duration::from_secs(checks.timeout_seconds);
    let mut runs = Vec::new();
    for (name, cmd) in select(&checks, &due)? {
        runs.push(run_one(p, name, cmd, timeout, true, sink)?);
    }
    let write = record_write(p, code, &runs)?;
    super::apply(p, vec![write], &[&p.task_rel(code)], None)?;
    Ok(runs)
}

/// The recorded runs of a task, oldest first.
pub fn runs_of(events: &[Event]) -> Vec<Run> {
    events
        .iter()
        .filter_map(|e| Run::from_event(&e.type_, &e.payload))
        .collect()
}

fn logs_dir(p: &Project) -> PathBuf {
    p.local_dir().join("checks")
}

fn log_path(p: &Project, name: &str) -> Result<PathBuf> {
    let dir = logs_dir(p);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let stamp = crate::clock::now()?.format("%Y%m%dT%H%M%S").to_string();
    let mut path = dir.join(format!("{name}-{stamp}.log"));
    let mut n = 2;
    while path.exists() {
        path = dir.join(format!("{name}-{stamp}-{n}.log"));
        n += 1;
    }
    Ok(path)
}

/// Keeps the newest [`LOGS_KEPT`] logs of `name`; the names sort by time.
fn prune_logs(p: &Project, name: &str) {
    let Ok(rd) = std::fs::read_dir(logs_dir(p)) else {
        return;
    };
    let prefix = format!("{name}-");
    let mut logs: Vec<(std::time::SystemTime, PathBuf)> = rd
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".log"))
        })
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    logs.sort();
    let extra = logs.len().saturating_sub(LOGS_KEPT);
    for (_, path) in logs.into_iter().take(extra) {
        let _ = std::fs::remove_file(path);
    }
}

enum Feed<'a> {
    Line(&'a str),
    Tick(Duration),
}

struct Outcome {
    exit_code: Option<i32>,
    timed_out: bool,
    duration: Duration,
    tail: String,
}

/// Runs `argv` in `dir` without a shell, stdin closed, stdout and stderr read line by line as
/// they come. Past `timeout` the whole process group is killed, so a test runner's children
/// do not keep the pipes open.
fn execute(
    argv: &[String],
    dir: &Path,
    timeout: Duration,
    log: &mut std::fs::File,
    feed: &mut dyn FnMut(Feed),
) -> Result<Outcome> {
    let start = Instant::now();
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            let line = format!("cannot run {}: {e}", argv[0]);
            let _ = writeln!(log, "{line}");
            feed(Feed::Line(&line));
            return Ok(Outcome {
                exit_code: None,
                timed_out: false,
                duration: start.elapsed(),
                tail: line,
            });
        }
    };
    let (tx, rx) = mpsc::channel::<String>();
    let readers: Vec<_> = [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .flatten()
    .map(|stream| {
        let tx = tx.clone();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stream);
            let mut buf = Vec::new();
            while matches!(r.read_until(b'\n', &mut buf), Ok(n) if n > 0) {
                let line = String::from_utf8_lossy(&buf)
                    .trim_end_matches(['\n', '\r'])
                    .to_string();
                if tx.send(line).is_err() {
                    break;
                }
                buf.clear();
            }
        })
    })
    .collect();
    drop(tx);
    let deadline = start + timeout;
    let mut tail: VecDeque<String> = VecDeque::new();
    let mut timed_out = false;
    loop {
        match rx.recv_timeout(TICK) {
            Ok(line) => {
                let _ = writeln!(log, "{line}");
                feed(Feed::Line(&line));
                tail.push_back(line);
                if tail.len() > TAIL_LINES {
                    tail.pop_front();
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => feed(Feed::Tick(start.elapsed())),
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        if !timed_out && Instant::now() >= deadline {
            timed_out = true;
            kill_group(&mut child);
            let line = format!("orch: stopped after {} s (timeout)", timeout.as_secs());
            let _ = writeln!(log, "{line}");
            feed(Feed::Line(&line));
            tail.push_back(line);
        }
        // A process that left the group may still hold the pipes; stop listening to it.
        if timed_out && Instant::now() >= deadline + Duration::from_secs(2) {
            break;
        }
    }
    if !timed_out {
        for r in readers {
            let _ = r.join();
        }
    }
    let status = child
        .wait()
        .map_err(|e| Error::runtime(format!("waiting for {}: {e}", argv[0])))?;
    let text: Vec<String> = tail.into_iter().collect();
    Ok(Outcome {
        exit_code: status.code(),
        timed_out,
        duration: start.elapsed(),
        tail: checks::tail(&text.join("\n"), TAIL_LINES, TAIL_BYTES),
    })
}

fn kill_group(child: &mut std::process::Child) {
    #[cfg(unix)]
    {
        // The child leads its own process group (process_group(0) above).
        let pid = child.id() as libc::pid_t;
        // SAFETY: kill(2) with a negative pid signals that process group; no memory is shared.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
    let _ = child.kill();
}
