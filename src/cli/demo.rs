//! `orch demo`: a throwaway repository walked through every phase, narrated: each step says
//! what it did, two gates refuse and are then met for real (an untouched TASK.md, a failing
//! test check), and the closing lines are commands that work as printed.

use super::render::{Out, Tone};
use orch::code::TaskCode;
use orch::ops;
use orch::project::Project;
use orch::{Error, Result};
use std::path::{Path, PathBuf};

const CODE: &str = "DEMO-1";

const LIB_BEFORE: &str = "pub fn greet(name: &str) -> String {\n    format!(\"Hello {name}\")\n}\n";
const LIB_AFTER: &str = "pub fn greet(name: &str) -> String {\n    format!(\"Hello {name}!\")\n}\n";
/// The project's test, as its own test runner would be: plain `sh`, so the demo runs anywhere.
const TEST_SH: &str = "# The greeting must end with an exclamation mark.\nif grep -q 'Hello {name}!' src/lib.rs; then\n  echo \"ok: greet() ends with !\"\nelse\n  echo \"FAIL: greet() does not end with !\"\n  exit 1\nfi\n";

fn write(dir: &Path, rel: &str, text: &str) -> Result<()> {
    let p = dir.join(rel);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    std::fs::write(&p, text).map_err(|e| Error::io(&p, e))
}

fn fresh_dir(dir: Option<PathBuf>) -> Result<PathBuf> {
    let dir = match dir {
        Some(d) => d,
        None => {
            let stamp = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis())
                .unwrap_or(0);
            std::env::temp_dir().join(format!("orch-demo-{}-{stamp}", std::process::id()))
        }
    };
    if dir.exists()
        && std::fs::read_dir(&dir)
            .map(|mut r| r.next().is_some())
            .unwrap_or(true)
    {
        return Err(Error::usage(format!("{} is not empty", dir.display()))
            .with_hint("give `orch demo` a new or empty folder, or none for a temporary one"));
    }
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    Ok(std::fs::canonicalize(&dir).unwrap_or(dir))
}

/// The narration: silent with --json, which prints only the closing document.
struct Story<'a> {
    out: &'a Out,
}

impl Story<'_> {
    fn step(&self, s: &str) {
        self.out.say(&format!(
            "\n{} {}",
            self.out.paint(Tone::Bold, "▶"),
            self.out.paint(Tone::Bold, s)
        ))
    }
    fn said(&self, s: &str) {
        self.out.say(&format!("  {s}"))
    }
    fn refused(&self, e: &Error) {
        self.out.say(&format!(
            "  {} {} (exit {})",
            self.out.paint(Tone::Bad, "refused:"),
            e.message.lines().next().unwrap_or(""),
            e.exit_code()
        ));
        for d in e.diagnostics.iter().filter(|d| d.is_error()) {
            for line in d.message.lines() {
                self.out.say(&format!("    {line}"));
            }
            self.out.say(&format!("    fix: {}", d.fix));
        }
    }
    fn moved(&self, t: &ops::transition::Transition) {
        let commit = super::render::commit_note(t.commit.as_ref());
        let (from, to) = (t.from.clone().unwrap_or_default(), t.to.clone());
        match (t.kind.as_str(), to) {
            ("end", _) => self.said(&format!("✓ session ended in {from}{commit}")),
            (_, Some(to)) if t.kind == "start" => {
                self.said(&format!("✓ session started in {to}{commit}"))
            }
            (_, Some(to)) => self.said(&format!("✓ {from} → {to}{commit}")),
            _ => {}
        }
        if let Some(n) = &t.next {
            self.said(&format!("now in {}: {}", n.phase_title, n.goal));
        }
    }
}

pub fn run(out: &Out, dir: Option<PathBuf>) -> Result<()> {
    let dir = fresh_dir(dir)?;
    let story = Story { out };
    repository(&dir)?;
    out.say(&format!("A throwaway repository in {}", dir.display()));
    first_commit(&story, &dir)?;
    setup(&story, &dir)?;
    let p = Project::open(&dir)?;
    let code = TaskCode::parse(CODE)?;
    intake(&story, &p, &code)?;
    research_and_plan(&story, &p, &code)?;
    execute(&story, &p, &dir, &code)?;
    review_and_close(&story, &p, &code)?;
    let evs = ops::event::list(&p, &code, None, false)?;
    if out.json {
        out.json_ok(
            &serde_json::json!({ "dir": dir.display().to_string(), "task": code.as_str(), "events": evs.len() }),
            &[],
        );
        return Ok(());
    }
    story.step(&format!(
        "orch log {CODE}   (the phase history, read back from git)"
    ));
    super::cmd_git::log(&p, out, Some(CODE))?;
    closing(out, &dir, evs.len());
    Ok(())
}

/// The closing lines: commands that work as printed, with this very binary.
fn closing(out: &Out, dir: &Path, events: usize) {
    let quote = |s: &str| shlex::try_quote(s).map_or_else(|_| s.to_string(), |q| q.into_owned());
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "orch".into());
    let (exe, d) = (quote(&exe), quote(&dir.display().to_string()));
    out.say(&format!(
        "\n{} {CODE} went through every phase; {events} events recorded.\n  Look around:\n    git -C {d} log --oneline --stat\n    {exe} -C {d} report {CODE}\n    {exe} -C {d} verify",
        out.paint(Tone::Good, "✓"),
    ));
}

/// A new repository with an identity of its own.
fn repository(dir: &Path) -> Result<()> {
    gix::init(dir).map_err(|e| {
        Error::runtime(format!(
            "cannot create a repository in {}: {e}",
            dir.display()
        ))
    })?;
    // The demo must work on a machine with no git identity: give the throwaway repository one.
    let git = orch::git::Repo::discover(dir)?;
    if git.author_identity().is_err() || git.committer_identity().is_err() {
        let cfg = git.git_dir.join("config");
        let mut text = std::fs::read_to_string(&cfg).map_err(|e| Error::io(&cfg, e))?;
        text.push_str("[user]\n\tname = orch demo\n\temail = demo@example.invalid\n");
        std::fs::write(&cfg, text).map_err(|e| Error::io(&cfg, e))?;
    }
    Ok(())
}

fn short(id: &str) -> &str {
    &id[..id.len().min(7)]
}

/// Commits `paths` with `message` as a user would; returns the short id.
fn user_commit(dir: &Path, paths: &[&str], message: &str) -> Result<String> {
    let git = orch::git::Repo::discover(dir)?;
    let c = orch::git::commit::commit_paths(&git, paths, message)?
        .ok_or_else(|| Error::runtime("the demo's commit changed nothing"))?;
    Ok(short(&c.commit.to_string()).to_string())
}

/// The code the demo task works on, and its test, committed.
fn first_commit(story: &Story, dir: &Path) -> Result<()> {
    write(dir, "README.md", "# greeter\n\nSays hello.\n")?;
    write(dir, "src/lib.rs", LIB_BEFORE)?;
    write(dir, "test.sh", TEST_SH)?;
    let c = user_commit(dir, &["README.md", "src", "test.sh"], "Initial code\n")?;
    story.said(&format!(
        "commit {c}: src/lib.rs (greet says \"Hello NAME\") and test.sh, its test"
    ));
    Ok(())
}

/// `orch init`, and the repository's test command configured as the `tests` check.
fn setup(story: &Story, dir: &Path) -> Result<()> {
    story.step("orch init");
    let r = ops::init::init(dir)?;
    story.said(&format!(
        "created {}{}",
        r.created.join(", "),
        super::render::commit_note(r.commit.as_ref())
    ));
    story.step(
        "configure the tests check: [checks] tests = \"sh test.sh\" in .orchestration/config.toml",
    );
    let cfg = dir.join(".orchestration/config.toml");
    let text = std::fs::read_to_string(&cfg).map_err(|e| Error::io(&cfg, e))?;
    let text = text.replacen(
        "# tests = \"python3 -m unittest\"",
        "tests = \"sh test.sh\"",
        1,
    );
    std::fs::write(&cfg, text).map_err(|e| Error::io(&cfg, e))?;
    let c = user_commit(
        dir,
        &[".orchestration/config.toml"],
        "Configure the tests check\n",
    )?;
    story.said(&format!(
        "commit {c}: only committed checks run, so nothing in a task can choose the command"
    ));
    Ok(())
}

/// The task created; intake refused with TASK.md as generated, then met.
fn intake(story: &Story, p: &Project, code: &TaskCode) -> Result<()> {
    story.step(&format!(
        "orch task new {CODE} --title \"Greet with punctuation\" --criterion \"greet(\\\"Ann\\\") returns \\\"Hello Ann!\\\"\""
    ));
    let t = ops::task::new(
        p,
        &ops::task::NewTask {
            code: Some(code.to_string()),
            title: "Greet with punctuation".into(),
            description: Some("greet() should end its greeting with an exclamation mark.".into()),
            tags: vec!["demo".into()],
            sprint: None,
            criteria: vec!["greet(\"Ann\") returns \"Hello Ann!\"".into()],
        },
    )?;
    story.said(&format!(
        "wrote {} with one acceptance criterion{}",
        t.path,
        super::render::commit_note(t.commit.as_ref())
    ));
    story.step(&format!("orch session start {CODE}"));
    story.moved(&ops::session::start(
        p,
        code,
        None,
        orch::rules::StartMode::Fresh,
    )?);
    story.step(&format!(
        "orch phase complete {CODE}   (TASK.md's Problem still as generated)"
    ));
    match ops::phase::complete(p, code, None, None, &mut |_| {}) {
        Err(e) => story.refused(&e),
        Ok(_) => return Err(Error::runtime("the demo expected intake to be refused")),
    }
    let task_md = p.task_dir(code).join("TASK.md");
    let text = std::fs::read_to_string(&task_md).map_err(|e| Error::io(&task_md, e))?;
    let text = text
        .replacen("project_id: \"\"", "project_id: demo", 1)
        .replacen(
        "## Problem\n",
        "## Problem\n\ngreet(\"Ann\") returns \"Hello Ann\"; the greeting should end with \"!\".\n",
        1,
    );
    write(&p.task_dir(code), "TASK.md", &text)?;
    story.step(&format!(
        "write the Problem in TASK.md, then orch phase complete {CODE}"
    ));
    story.moved(&ops::phase::complete(p, code, None, None, &mut |_| {})?);
    Ok(())
}

/// Research and plan, each artifact written with the sections the workflow requires.
fn research_and_plan(story: &Story, p: &Project, code: &TaskCode) -> Result<()> {
    let task_dir = p.task_dir(code);
    write(&task_dir, "CONTEXT.md", "# Context for DEMO-1\n\n## Summary\n\n`greet` formats \"Hello {name}\" with no punctuation.\n\n## Relevant code\n\n- src/lib.rs:1-3 `greet` builds the greeting with format!.\n- test.sh checks the greeting; it fails today.\n")?;
    story.step(&format!(
        "write CONTEXT.md (Summary, Relevant code), then orch phase complete {CODE}"
    ));
    story.moved(&ops::phase::complete(p, code, None, None, &mut |_| {})?);
    write(&task_dir, "PLAN.md", "# Plan for DEMO-1\n\n## Approach\n\nAppend `!` in the format string of `greet`.\n\n## Steps\n\n- [ ] Change the format string in src/lib.rs.\n\n## Tests\n\n`orch check tests` runs test.sh.\n")?;
    story.step(&format!(
        "write PLAN.md (Approach, Steps, Tests), then orch phase complete {CODE}"
    ));
    story.moved(&ops::phase::complete(p, code, None, None, &mut |_| {})?);
    Ok(())
}

/// Runs the tests check for the task and says how it went.
fn run_tests(story: &Story, p: &Project, code: &TaskCode) -> Result<bool> {
    story.step("orch check tests");
    let r = ops::check::check(p, &["tests".into()], Some(code), None, &mut |e| {
        if let ops::check::Progress::Line { line, .. } = e {
            story.said(&format!("| {line}"));
        }
    })?;
    for run in &r.runs {
        let how = if run.passed { "passed" } else { "failed" };
        story.said(&format!(
            "tests {how} (exit {}) on {}; recorded as an orchestration.check.tests event",
            run.exit_code.map_or("none".to_string(), |c| c.to_string()),
            run.commit.as_deref().map(short).unwrap_or("-")
        ));
    }
    Ok(r.passed)
}

/// Execute: the check fails and the phase is refused; the code is changed, committed, the
/// check passes and the phase completes.
fn execute(story: &Story, p: &Project, dir: &Path, code: &TaskCode) -> Result<()> {
    let s = p
        .load_session(code)?
        .ok_or_else(|| Error::runtime("no session"))?;
    let base = s
        .execute_range
        .as_ref()
        .and_then(|r| r.base.as_deref())
        .and_then(|b| gix::ObjectId::from_hex(b.as_bytes()).ok());
    story.said(&format!(
        "the execute range: {}",
        ops::gates::describe_range(p, base)
    ));
    run_tests(story, p, code)?;
    story.step(&format!(
        "orch phase complete {CODE}   (no code commit yet, and the tests fail)"
    ));
    match ops::phase::complete(p, code, None, None, &mut |_| {}) {
        Err(e) => story.refused(&e),
        Ok(_) => return Err(Error::runtime("the demo expected execute to be refused")),
    }
    story.step("the work itself: edit src/lib.rs and commit it");
    write(dir, "src/lib.rs", LIB_AFTER)?;
    let c = user_commit(
        dir,
        &["src"],
        "Greet with an exclamation mark\n\nOrchestration-Task: DEMO-1\nOrchestration-Phase: execute\n",
    )?;
    story.said(&format!(
        "commit {c}: src/lib.rs, format!(\"Hello {{name}}!\")"
    ));
    if !run_tests(story, p, code)? {
        return Err(Error::runtime("the demo expected the tests to pass"));
    }
    write(&p.task_dir(code), "NOTES.md", "# Notes for DEMO-1\n\n## Log\n\n- Changed the format string in src/lib.rs; orch check tests passed.\n\n## Deviations from plan\n\nNone.\n")?;
    story.step(&format!("orch phase complete {CODE}"));
    let t = ops::phase::complete(p, code, None, None, &mut |_| {})?;
    let s = p
        .load_session(code)?
        .ok_or_else(|| Error::runtime("no session"))?;
    if let Some(r) = &s.execute_range {
        story.said(&format!(
            "execute range {}..{}: the commits CHANGES.md lists",
            r.base.as_deref().map(short).unwrap_or("(root)"),
            r.head.as_deref().map(short).unwrap_or("HEAD")
        ));
    }
    story.moved(&t);
    Ok(())
}

/// Review approves (the tests run on this code still counts), close ticks the criterion.
fn review_and_close(story: &Story, p: &Project, code: &TaskCode) -> Result<()> {
    let task_dir = p.task_dir(code);
    write(&task_dir, "REVIEW.md", "---\nverdict: approve\nreviewer: orch demo\n---\n# Review of DEMO-1\n\n## Verdict\n\nApprove: the change is the one planned, and the tests pass.\n\n## What was checked\n\nsrc/lib.rs: the greeting now ends with `!`; orch check tests passed on the commit.\n")?;
    story.step(&format!(
        "write REVIEW.md (verdict: approve), then orch phase complete {CODE}"
    ));
    story.moved(&ops::phase::complete(p, code, None, None, &mut |_| {})?);
    write(
        &task_dir,
        "SUMMARY.md",
        "# Summary of DEMO-1\n\n## What changed\n\n`greet` ends its greeting with `!`.\n\n## How it was verified\n\norch check tests (sh test.sh) passed; the review approved.\n",
    )?;
    let task_md = task_dir.join("TASK.md");
    let text = std::fs::read_to_string(&task_md).map_err(|e| Error::io(&task_md, e))?;
    write(
        &task_dir,
        "TASK.md",
        &text.replace("- [ ] greet", "- [x] greet"),
    )?;
    story.step(&format!(
        "write SUMMARY.md, tick the criterion in TASK.md, then orch session end {CODE}"
    ));
    story.moved(&ops::session::end(p, code, false, None)?);
    Ok(())
}
