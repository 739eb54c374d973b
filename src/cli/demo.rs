//! `orch demo`: a throwaway repository walked through every phase, narrated.

use super::render::{Out, Tone};
use orch::code::TaskCode;
use orch::ops;
use orch::project::Project;
use orch::{Error, Result};
use std::path::{Path, PathBuf};

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

pub fn run(out: &Out, dir: Option<PathBuf>) -> Result<()> {
    let dir = fresh_dir(dir)?;
    repository(&dir)?;
    out.say(&format!("A throwaway repository in {}", dir.display()));
    first_commit(&dir)?;
    step(out, "orch init");
    ops::init::init(&dir)?;
    let p = Project::open(&dir)?;
    let code = TaskCode::parse("DEMO-1")?;
    intake(out, &p, &code)?;
    research_and_plan(out, &p, &code)?;
    execute_to_end(out, &p, &dir, &code)?;
    let evs = ops::event::list(&p, &code, None)?;
    if !out.json {
        step(
            out,
            "orch log DEMO-1   (the phase history, read back from git)",
        );
        super::cmd_git::log(&p, out, Some("DEMO-1"))?;
    }
    if out.json {
        out.json_ok(
            &serde_json::json!({ "dir": dir.display().to_string(), "task": code.as_str(), "events": evs.len() }),
            &[],
        );
    } else {
        out.say(&format!(
            "\n{} DEMO-1 went through every phase; {} events recorded.\n  Look around: cd {} && git log --stat && orch report DEMO-1 && orch verify",
            out.paint(Tone::Good, "✓"),
            evs.len(),
            dir.display()
        ));
    }
    Ok(())
}

fn step(out: &Out, s: &str) {
    out.say(&format!(
        "\n{} {}",
        out.paint(Tone::Bold, "▶"),
        out.paint(Tone::Bold, s)
    ))
}

/// With --json the demo prints only its closing document.
fn brief(out: &Out, t: &ops::transition::Transition) {
    if !out.json {
        out.transition_with(t, false)
    }
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

/// The code the demo task works on, committed.
fn first_commit(dir: &Path) -> Result<()> {
    write(dir, "README.md", "# greeter\n\nSays hello.\n")?;
    write(
        dir,
        "src/lib.rs",
        "pub fn greet(name: &str) -> String {\n    format!(\"Hello {name}\")\n}\n",
    )?;
    let git = orch::git::Repo::discover(dir)?;
    orch::git::commit::commit_paths(&git, &["README.md", "src"], "Initial code\n")?;
    Ok(())
}

/// The task created, its TASK.md completed, a session started and intake completed.
fn intake(out: &Out, p: &Project, code: &TaskCode) -> Result<()> {
    step(
        out,
        "orch task new DEMO-1 --title \"Greet with punctuation\"",
    );
    ops::task::new(
        p,
        &ops::task::NewTask {
            code: Some(code.to_string()),
            title: "Greet with punctuation".into(),
            description: Some("greet() should end its greeting with an exclamation mark.".into()),
            tags: vec!["demo".into()],
            sprint: None,
            criteria: vec![],
        },
    )?;
    // What an agent does in intake: fill in what the task still lacks.
    let task_md = p.task_dir(code).join("TASK.md");
    let text = std::fs::read_to_string(&task_md).map_err(|e| Error::io(&task_md, e))?;
    write(
        &p.task_dir(code),
        "TASK.md",
        &text.replacen("project_id: \"\"", "project_id: demo", 1),
    )?;
    step(out, "orch session start DEMO-1");
    let t = ops::session::start(p, code, None, orch::rules::StartMode::Fresh)?;
    if !out.json {
        out.transition(&t);
    }
    step(
        out,
        "orch phase complete DEMO-1   (intake: TASK.md has title, status and description)",
    );
    brief(
        out,
        &ops::phase::complete(p, code, None, None, &mut |_| {})?,
    );
    Ok(())
}

/// Research refused without its artifact, then research and plan completed.
fn research_and_plan(out: &Out, p: &Project, code: &TaskCode) -> Result<()> {
    step(
        out,
        "orch phase complete DEMO-1   (research, before CONTEXT.md exists: refused)",
    );
    match ops::phase::complete(p, code, None, None, &mut |_| {}) {
        Err(e) => {
            out.say(&format!(
                "{} {} (exit {})",
                out.paint(Tone::Bad, "refused:"),
                e.message,
                e.exit_code()
            ));
        }
        Ok(_) => return Err(Error::runtime("the demo expected research to be refused")),
    }
    let task_dir = p.task_dir(code);
    write(&task_dir, "CONTEXT.md", "# Context for DEMO-1\n\n## Relevant code\n\n- src/lib.rs:1-3 `greet` builds the greeting with format!.\n\n## Constraints\n\nKeep the signature.\n")?;
    step(
        out,
        "orch phase complete DEMO-1   (research, with CONTEXT.md written)",
    );
    brief(
        out,
        &ops::phase::complete(p, code, None, None, &mut |_| {})?,
    );
    write(&task_dir, "PLAN.md", "# Plan for DEMO-1\n\n1. Append `!` in `greet` (src/lib.rs).\n2. Check by reading the output.\n")?;
    step(out, "orch phase complete DEMO-1   (plan)");
    brief(
        out,
        &ops::phase::complete(p, code, None, None, &mut |_| {})?,
    );
    Ok(())
}

/// The code change committed with the task's trailers, then execute, review and the end.
fn execute_to_end(out: &Out, p: &Project, dir: &Path, code: &TaskCode) -> Result<()> {
    step(out, "the work itself: edit src/lib.rs and commit it");
    write(
        dir,
        "src/lib.rs",
        "pub fn greet(name: &str) -> String {\n    format!(\"Hello {name}!\")\n}\n",
    )?;
    orch::git::commit::commit_paths(
        &p.git,
        &["src"],
        "Greet with an exclamation mark\n\nOrchestration-Task: DEMO-1\nOrchestration-Phase: execute\n",
    )?;
    let task_dir = p.task_dir(code);
    write(&task_dir, "NOTES.md", "# Notes for DEMO-1\n\n## Log\n\n- Changed the format string in src/lib.rs.\n\n## Deviations from plan\n\nNone.\n")?;
    step(out, "orch phase complete DEMO-1   (execute)");
    brief(
        out,
        &ops::phase::complete(p, code, None, None, &mut |_| {})?,
    );
    write(&task_dir, "REVIEW.md", "# Review of DEMO-1\n\n## Verdict\n\napprove\n\n## What was checked\n\nsrc/lib.rs: the greeting now ends with `!`.\n")?;
    step(out, "orch phase complete DEMO-1   (review)");
    brief(
        out,
        &ops::phase::complete(p, code, None, None, &mut |_| {})?,
    );
    write(
        &task_dir,
        "SUMMARY.md",
        "# Summary of DEMO-1\n\n`greet` ends its greeting with `!`. Reviewed and approved.\n",
    )?;
    step(out, "orch session end DEMO-1");
    brief(out, &ops::session::end(p, code, false, None)?);
    Ok(())
}
