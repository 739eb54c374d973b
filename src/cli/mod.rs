//! The `orch` binary: parse arguments, run one operation, render its result. One module per
//! command group (`cmd_*`), each calling the library's operations (`orch::ops`) and handing
//! their data to `render`.

mod args;
mod cmd_agent;
mod cmd_bug;
mod cmd_changes;
mod cmd_check;
mod cmd_docs;
mod cmd_doctor;
mod cmd_event;
mod cmd_git;
mod cmd_guide;
mod cmd_init;
mod cmd_memory;
mod cmd_search;
mod cmd_session;
mod cmd_status;
mod cmd_task;
mod demo;
mod mcp;
mod render;

use args::{Cli, Command, EventCmd, PhaseCmd, SessionCmd};
use clap::Parser;
use orch::project::Project;
use orch::{Error, Result};
use render::Out;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

pub fn run() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => 0,
                _ => 2,
            };
            // `--json` promises one document on stdout, argument errors included.
            let wants_json = std::env::args_os()
                .skip(1)
                .take_while(|a| a != "--")
                .any(|a| a == "--json");
            if code == 2 && wants_json {
                // clap's whole text: the first line is the message, the rest (tips, the usage
                // line, where to read more) the hint, so JSON readers lose nothing.
                let text = e.render().to_string();
                let mut lines = text.lines();
                let message = lines
                    .next()
                    .unwrap_or("invalid arguments")
                    .trim_start_matches("error: ")
                    .to_string();
                let rest = lines
                    .map(str::trim_end)
                    .skip_while(|l| l.is_empty())
                    .collect::<Vec<_>>()
                    .join("\n");
                let hint = if rest.is_empty() {
                    "see `orch --help`".to_string()
                } else {
                    rest.trim_start().to_string()
                };
                let err = Error::usage(message).with_hint(hint);
                let _ = Out::new(true, false, true).error(&err);
                return code;
            }
            let _ = e.print();
            return code;
        }
    };
    let out = Out::new(cli.json, cli.quiet, cli.no_color);
    // Agent hooks answer in the agent's protocol, exit code included.
    if let Command::Hook { name, args } = &cli.command {
        if name.starts_with("agent-") {
            return cmd_agent::hook(&cli, &out, name, args);
        }
    }
    if let Command::Mcp { print_config } = &cli.command {
        return match print_config {
            Some(agent) => match mcp::print_config(&out, agent) {
                Ok(()) => 0,
                Err(e) => out.error(&e),
            },
            // The protocol owns stdout from here on; errors go to stderr.
            None => match cwd(&cli) {
                Ok(dir) => mcp::serve(dir),
                Err(e) => out.error(&e),
            },
        };
    }
    if let Command::Doctor { fix } = &cli.command {
        // Its report is the output whether or not the clone is healthy; the exit code says which.
        return match cmd_doctor::doctor(&cli, &out, *fix) {
            Ok(code) => code,
            Err(e) => out.error(&e),
        };
    }
    match dispatch(&cli, &out) {
        Ok(()) => 0,
        Err(e) => out.error(&e),
    }
}

pub(crate) fn cwd(cli: &Cli) -> Result<PathBuf> {
    let here = std::env::current_dir()
        .map_err(|e| Error::runtime(format!("cannot read the current directory: {e}")))?;
    Ok(match &cli.dir {
        Some(d) => {
            let d = here.join(d);
            if !d.is_dir() {
                return Err(Error::usage(format!(
                    "-C {}: no such directory",
                    d.display()
                )));
            }
            d
        }
        None => here,
    })
}

pub(crate) fn open(cli: &Cli) -> Result<Project> {
    Project::open(&cwd(cli)?)
}

/// `--override` needs a reason: asked for on a terminal, required otherwise.
pub(crate) fn override_reason(
    over: bool,
    reason: &Option<String>,
    json: bool,
) -> Result<Option<String>> {
    match (over, reason) {
        (false, None) => Ok(None),
        (false, Some(_)) => Err(Error::usage("--reason goes with --override")
            .with_hint("add --override, or drop --reason")),
        (true, Some(r)) if !r.trim().is_empty() => Ok(Some(r.clone())),
        (true, _) => {
            if !json && std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
                eprint!("Reason for the override: ");
                let _ = std::io::stderr().flush();
                let mut line = String::new();
                std::io::stdin()
                    .lock()
                    .read_line(&mut line)
                    .map_err(|e| Error::runtime(e.to_string()))?;
                if !line.trim().is_empty() {
                    return Ok(Some(line.trim().to_string()));
                }
            }
            Err(Error::usage("--override needs a reason")
                .with_hint("pass --reason \"why the checks can be passed\""))
        }
    }
}

/// `[CODE] X` positionals: one value is X, two are CODE and X.
pub(crate) fn code_and(args: &[String]) -> (Option<&str>, &str) {
    match args {
        [x] => (None, x.as_str()),
        [c, x, ..] => (Some(c.as_str()), x.as_str()),
        [] => (None, ""),
    }
}

/// Which command group runs the command.
fn dispatch(cli: &Cli, out: &Out) -> Result<()> {
    match &cli.command {
        Command::Init { hooks } => cmd_init::init(cli, out, *hooks),
        Command::Task(t) => cmd_task::task(cli, out, t),
        Command::Session(SessionCmd::Start(a)) => cmd_session::start(cli, out, a),
        Command::Session(SessionCmd::End(a)) | Command::SessionEnd(a) => {
            cmd_session::end(cli, out, a)
        }
        Command::Phase(PhaseCmd::Complete(a)) | Command::PhaseComplete(a) => {
            cmd_session::phase_complete(cli, out, a)
        }
        Command::Phase(PhaseCmd::Set {
            args,
            override_,
            reason,
            from,
        }) => cmd_session::phase_set(cli, out, args, *override_, reason, from.as_deref()),
        Command::Status { code, all } => cmd_status::status(cli, out, code.as_deref(), *all),
        Command::Next { code } => cmd_guide::next(&open(cli)?, out, code.as_deref()),
        Command::Prime { code } => cmd_guide::prime(&open(cli)?, out, code.as_deref()),
        Command::Events { code, type_, all } => {
            cmd_event::events(cli, out, code.as_deref(), type_.as_deref(), *all)
        }
        Command::Memory(m) => cmd_memory::memory(&open(cli)?, out, m),
        Command::Compact {
            older_than,
            dry_run,
        } => cmd_memory::compact(&open(cli)?, out, older_than, *dry_run),
        Command::Event(EventCmd::Add { args, data, commit }) => {
            cmd_event::add(cli, out, args, data.as_deref(), *commit)
        }
        Command::Bug(b) => cmd_bug::bug(cli, out, b),
        Command::Log { code } => cmd_git::log(&open(cli)?, out, code.as_deref()),
        Command::Verify {
            range,
            accept: Some(commit),
            reason,
            ..
        } => {
            debug_assert!(range.is_none());
            cmd_git::accept(&open(cli)?, out, commit, reason.as_deref().unwrap_or(""))
        }
        Command::Verify { range, codes, .. } => {
            cmd_git::verify(&open(cli)?, out, range.as_deref(), codes)
        }
        Command::Hooks(h) => cmd_git::hooks(cli, out, h),
        Command::AgentHooks(h) => cmd_agent::agent_hooks(cli, out, h),
        Command::Hook { name, args } => cmd_git::hook(cli, out, name, args),
        Command::Report {
            code,
            format,
            link_base,
        } => cmd_git::report(
            &open(cli)?,
            out,
            code.as_deref(),
            format,
            link_base.as_deref(),
        ),
        Command::Changes {
            code,
            patch,
            stdout,
            base,
            head,
        } => {
            let opts = orch::changes::Options {
                patch: *patch,
                base: base.clone(),
                head: head.clone(),
            };
            cmd_changes::changes(&open(cli)?, out, code.as_deref(), &opts, *stdout)
        }
        Command::Check {
            names,
            task,
            timeout,
        } => cmd_check::check(cli, out, names, task.as_deref(), *timeout),
        Command::Search(a) => cmd_search::search(&open(cli)?, out, a),
        Command::Sprint(s) => cmd_search::sprint(&open(cli)?, out, s),
        Command::Completions { shell } => cmd_docs::completions(out, *shell),
        Command::Man { command } => cmd_docs::man(out, command),
        Command::Demo { dir } => demo::run(out, dir.clone()),
        Command::Doctor { .. } => unreachable!("run() handles doctor"),
        Command::Mcp { .. } => unreachable!("run() serves mcp"),
    }
}
