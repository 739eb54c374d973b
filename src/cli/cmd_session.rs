//! `orch session start|end` and `orch phase complete|set`: the commands that move a task.

use super::args::{Cli, CompleteArgs, EndArgs, StartArgs};
use super::render::Out;
use orch::code::TaskCode;
use orch::ops;
use orch::project::Project;
use orch::rules::StartMode;
use orch::{Error, Result};
use std::io::{BufRead, IsTerminal, Write};

pub fn start(cli: &Cli, out: &Out, a: &StartArgs) -> Result<()> {
    let p = super::open(cli)?;
    let code = p.resolve_code(a.code.as_deref())?;
    let mut mode = if a.r#continue {
        StartMode::Continue
    } else if a.restart {
        StartMode::Restart
    } else if a.new {
        StartMode::New
    } else if a.reopen {
        StartMode::Reopen
    } else {
        StartMode::Fresh
    };
    if mode == StartMode::Fresh
        && !out.json
        && std::io::stdin().is_terminal()
        && std::io::stderr().is_terminal()
    {
        mode = ask_mode(&p, &code)?;
    }
    let Some(branch) = &a.branch else {
        let t = ops::session::start(&p, &code, a.session_key.as_deref(), mode)?;
        out.transition(&t);
        return Ok(());
    };
    let name =
        ops::session::branch_for(&p, &code, Some(branch.as_str()).filter(|b| !b.is_empty()))?;
    let b = ops::session::start_on_branch(&p, &code, a.session_key.as_deref(), mode, &name)?;
    if out.json {
        out.json_ok(&b, &b.transition.warnings);
        return Ok(());
    }
    let sw = &b.branch;
    out.say(&if sw.created {
        format!("Switched to a new branch {} (from {})", sw.name, sw.from)
    } else if sw.name == sw.from {
        format!("Already on branch {}", sw.name)
    } else {
        format!(
            "Switched to branch {} (from {}; {} files updated)",
            sw.name, sw.from, sw.files_changed
        )
    });
    out.transition(&b.transition);
    Ok(())
}

/// On a terminal, a start over an active session asks what to do with it.
fn ask_mode(p: &Project, code: &TaskCode) -> Result<StartMode> {
    let Some(s) = p.load_session(code)?.filter(|s| s.active) else {
        return Ok(StartMode::Fresh);
    };
    eprintln!(
        "{code} already has an active session ({}, phase {}).",
        s.session_key, s.current_phase
    );
    eprint!(
        "[c]ontinue it, [r]estart from {}, start a [n]ew session in {}, or [q]uit? ",
        p.workflow.first().name,
        s.current_phase
    );
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Error::runtime(e.to_string()))?;
    match line.trim().to_ascii_lowercase().as_str() {
        "c" | "continue" => Ok(StartMode::Continue),
        "r" | "restart" => Ok(StartMode::Restart),
        "n" | "new" => Ok(StartMode::New),
        _ => Err(Error::state("nothing changed").with_hint("pass --continue, --restart or --new")),
    }
}

pub fn end(cli: &Cli, out: &Out, a: &EndArgs) -> Result<()> {
    let p = super::open(cli)?;
    let code = p.resolve_code(a.code.as_deref())?;
    let reason = if a.force {
        a.reason.clone()
    } else {
        super::override_reason(a.override_, &a.reason, out.json)?
    };
    let t = ops::session::end(&p, &code, a.force, reason.as_deref())?;
    out.transition(&t);
    Ok(())
}

pub fn phase_complete(cli: &Cli, out: &Out, a: &CompleteArgs) -> Result<()> {
    let p = super::open(cli)?;
    let code = p.resolve_code(a.code.as_deref())?;
    let reason = super::override_reason(a.override_, &a.reason, out.json)?;
    let mut live = super::cmd_check::Live::new(out);
    let t = ops::phase::complete(&p, &code, reason.as_deref(), a.from.as_deref(), &mut |e| {
        live.show(e)
    });
    live.done();
    let t = t?;
    out.transition(&t);
    Ok(())
}

pub fn phase_set(
    cli: &Cli,
    out: &Out,
    args: &[String],
    override_: bool,
    reason: &Option<String>,
    from: Option<&str>,
) -> Result<()> {
    let p = super::open(cli)?;
    let (code, phase) = super::code_and(args);
    let code = p.resolve_code(code)?;
    let reason = super::override_reason(override_, reason, out.json)?;
    let mut live = super::cmd_check::Live::new(out);
    let t = ops::phase::set(&p, &code, phase, reason.as_deref(), from, &mut |e| {
        live.show(e)
    });
    live.done();
    let t = t?;
    out.transition(&t);
    Ok(())
}
