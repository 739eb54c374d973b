//! The `orch` binary: parse arguments, run one operation, render its result.

mod args;
mod cmd_changes;
mod cmd_git;
mod demo;
mod render;

use args::{
    Cli, Command, CompleteArgs, EndArgs, EventCmd, PhaseCmd, SessionCmd, StartArgs, TaskCmd,
};
use clap::Parser;
use orch::code::TaskCode;
use orch::ops;
use orch::project::Project;
use orch::rules::StartMode;
use orch::{Error, Result};
use render::{Out, Tone};
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
                let text = e.render().to_string();
                let message = text
                    .lines()
                    .next()
                    .unwrap_or("invalid arguments")
                    .trim_start_matches("error: ")
                    .to_string();
                let err = Error::usage(message).with_hint("see `orch --help`");
                let _ = Out::new(true, false, true).error(&err);
                return code;
            }
            let _ = e.print();
            return code;
        }
    };
    let out = Out::new(cli.json, cli.quiet, cli.no_color);
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
fn override_reason(over: bool, reason: &Option<String>, json: bool) -> Result<Option<String>> {
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
fn code_and(args: &[String]) -> (Option<&str>, &str) {
    match args {
        [x] => (None, x.as_str()),
        [c, x, ..] => (Some(c.as_str()), x.as_str()),
        [] => (None, ""),
    }
}

fn dispatch(cli: &Cli, out: &Out) -> Result<()> {
    match &cli.command {
        Command::Init { hooks } => {
            let r = ops::init(&cwd(cli)?)?;
            if out.json {
                out.json_ok(&r, &[]);
            } else if r.created.is_empty() {
                out.say(&format!(
                    "{} .orchestration/ is already set up in {}",
                    out.paint(Tone::Good, "✓"),
                    r.root
                ));
            } else {
                let commit = render::commit_note(r.commit.as_ref());
                out.say(&format!(
                    "{} Initialised .orchestration/ in {}{commit}",
                    out.paint(Tone::Good, "✓"),
                    r.root
                ));
                out.say("  next: orch task new --title \"...\"");
            }
            if *hooks {
                cmd_git::hooks(cli, out, &args::HooksCmd::Install { force: false })?;
            }
            Ok(())
        }
        Command::Task(t) => task(cli, out, t),
        Command::Session(SessionCmd::Start(a)) => session_start(cli, out, a),
        Command::Session(SessionCmd::End(a)) | Command::SessionEnd(a) => session_end(cli, out, a),
        Command::Phase(PhaseCmd::Complete(a)) | Command::PhaseComplete(a) => {
            phase_complete(cli, out, a)
        }
        Command::Phase(PhaseCmd::Set {
            args,
            override_,
            reason,
            from,
        }) => {
            let p = open(cli)?;
            let (code, phase) = code_and(args);
            let code = p.resolve_code(code)?;
            let reason = override_reason(*override_, reason, out.json)?;
            let t = ops::phase_set(&p, &code, phase, reason.as_deref(), from.as_deref())?;
            out.transition(&t);
            Ok(())
        }
        Command::Status { code, all } => {
            let p = open(cli)?;
            let code = match (code, all) {
                (Some(c), _) => Some(TaskCode::parse(c)?),
                (None, false) => p.current_task()?.filter(|c| p.task_exists(c)),
                (None, true) => None,
            };
            match code {
                Some(c) => {
                    let n = ops::status_one(&p, &c)?;
                    if out.json {
                        out.json_ok(&n, &[]);
                    } else {
                        out.say(&out.next_step(&n));
                    }
                }
                None => {
                    let s = ops::status_all(&p)?;
                    if out.json {
                        out.json_ok(&s, &[]);
                    } else {
                        task_table(out, &s.tasks, s.current_task.as_deref());
                    }
                }
            }
            Ok(())
        }
        Command::Events { code, type_ } => {
            let p = open(cli)?;
            let code = p.resolve_code(code.as_deref())?;
            let evs = ops::events(&p, &code, type_.as_deref())?;
            if out.json {
                out.json_ok(
                    &serde_json::json!({ "task": code.as_str(), "events": evs }),
                    &[],
                );
            } else if evs.is_empty() {
                match type_ {
                    Some(t) => out.say(&format!(
                        "{code} has no events of type {t}; `orch events {code}` shows them all"
                    )),
                    None => out.say(&format!("{code} has no events yet")),
                }
            } else {
                for e in &evs {
                    let payload = if e.payload.as_object().is_some_and(|o| o.is_empty())
                        || e.payload.is_null()
                    {
                        String::new()
                    } else {
                        format!("  {}", e.payload)
                    };
                    out.say(&format!(
                        "{}  {}{}",
                        out.paint(Tone::Dim, &e.ts),
                        e.type_,
                        out.paint(Tone::Dim, &payload)
                    ));
                }
            }
            Ok(())
        }
        Command::Event(EventCmd::Add { args, data, commit }) => {
            let p = open(cli)?;
            let (code, ty) = code_and(args);
            // Event types always have a dot (`research.finding`, `custom.note`); a lone task
            // code means the type was left out.
            if code.is_none() && !ty.contains('.') {
                if let Ok(c) = TaskCode::parse(ty) {
                    if p.task_exists(&c) {
                        return Err(Error::usage(format!("event add {c}: the event TYPE is missing"))
                            .with_hint(format!("run `orch event add {c} <type>`, e.g. `orch event add {c} custom.note --data '{{\"text\":\"...\"}}'`")));
                    }
                }
            }
            let code = p.resolve_code(code)?;
            let r = ops::event_add(&p, &code, ty, data.as_deref(), *commit)?;
            if out.json {
                out.json_ok(&r, &[]);
            } else {
                let note = match &r.commit {
                    Some(_) => render::commit_note(r.commit.as_ref()),
                    None => " (travels with the task's next commit)".into(),
                };
                out.say(&format!(
                    "{} {} added to {code}{note}",
                    out.paint(Tone::Good, "✓"),
                    r.event.type_
                ));
            }
            Ok(())
        }
        Command::Log { code } => cmd_git::log(&open(cli)?, out, code.as_deref()),
        Command::Verify { range, codes } => {
            cmd_git::verify(&open(cli)?, out, range.as_deref(), codes)
        }
        Command::Hooks(h) => cmd_git::hooks(cli, out, h),
        Command::Hook { name, args } => cmd_git::hook(cli, out, name, args),
        Command::Report { code, format } => {
            cmd_git::report(&open(cli)?, out, code.as_deref(), format)
        }
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
        Command::Demo { dir } => demo::run(out, dir.clone()),
    }
}

fn task(cli: &Cli, out: &Out, t: &TaskCmd) -> Result<()> {
    match t {
        TaskCmd::New {
            code,
            title,
            description,
            tags,
            sprint,
        } => {
            let p = open(cli)?;
            let r = ops::task_new(
                &p,
                &ops::NewTask {
                    code: code.clone(),
                    title: title.clone(),
                    description: description.clone(),
                    tags: tags.clone(),
                    sprint: sprint.clone(),
                },
            )?;
            if out.json {
                out.json_ok(&r, &[]);
            } else {
                let commit = render::commit_note(r.commit.as_ref());
                out.say(&format!(
                    "{} Created {} at {}{commit}",
                    out.paint(Tone::Good, "✓"),
                    r.task,
                    r.path
                ));
                out.say(&format!("  next: orch session start {}", r.task));
            }
            Ok(())
        }
        TaskCmd::Link {
            code,
            pr,
            issue,
            commit,
        } => cmd_changes::link(
            &open(cli)?,
            out,
            code.as_deref(),
            pr.as_deref(),
            issue.as_deref(),
            commit.as_deref(),
        ),
        TaskCmd::List {
            phase,
            sprint,
            active,
        } => {
            let p = open(cli)?;
            let tasks = ops::task_list(
                &p,
                &ops::ListFilter {
                    phase: phase.clone(),
                    sprint: sprint.clone(),
                    active: *active,
                },
            )?;
            if out.json {
                out.json_ok(&serde_json::json!({ "tasks": tasks }), &[]);
            } else if tasks.is_empty() && (phase.is_some() || sprint.is_some() || *active) {
                out.say("No tasks match these filters; `orch task list` shows every task.");
            } else {
                task_table(out, &tasks, p.current_task()?.as_ref().map(|c| c.as_str()));
            }
            Ok(())
        }
        TaskCmd::Show { code } => {
            let p = open(cli)?;
            let code = p.resolve_code(code.as_deref())?;
            let d = ops::task_show(&p, &code)?;
            if out.json {
                out.json_ok(&d, &[]);
                return Ok(());
            }
            out.say(&out.paint(Tone::Bold, &format!("{}  {}", d.task, d.title)));
            out.say(&format!("  path:        {}", d.path));
            out.say(&format!("  status:      {}", d.status));
            if !d.description.is_empty() {
                out.say(&format!("  description: {}", d.description));
            }
            if !d.tags.is_empty() {
                out.say(&format!("  tags:        {}", d.tags.join(", ")));
            }
            if let Some(s) = &d.sprint {
                out.say(&format!("  sprint:      {s}"));
            }
            for l in &d.links {
                out.say(&format!("  link:        {} {}", l.kind, l.target));
            }
            match &d.session {
                Some(s) => {
                    out.say(&format!(
                        "  session:     {} ({}), phase {}",
                        s.session_key,
                        if s.active { "active" } else { "ended" },
                        s.current_phase
                    ));
                    for h in &s.phase_history {
                        let ov = h
                            .override_
                            .as_ref()
                            .map(|o| format!("  override: {}", o.reason))
                            .unwrap_or_default();
                        out.say(&format!(
                            "    {:<9} {} → {}  {}{ov}",
                            h.phase,
                            h.started_at,
                            h.completed_at,
                            h.transition.clone().unwrap_or_default()
                        ));
                    }
                }
                None => out.say("  session:     none (start one with `orch session start`)"),
            }
            out.say(&format!("  files:       {}", d.files.join(", ")));
            out.say(&format!("  events:      {}", d.event_count));
            Ok(())
        }
    }
}

fn task_table(out: &Out, tasks: &[orch::task::TaskSummary], current: Option<&str>) {
    use std::fmt::Write as _;
    if tasks.is_empty() {
        out.say("No tasks yet. Create one with `orch task new --title \"...\"`.");
        return;
    }
    let w = tasks.iter().map(|t| t.task.len()).max().unwrap_or(4).max(4);
    let mut s = String::with_capacity(tasks.len() * 80);
    s.push_str(&out.paint(
        Tone::Bold,
        &format!(
            "  {:<w$}  {:<9} {:<7} {:<12} TITLE",
            "TASK", "PHASE", "SESSION", "STATUS"
        ),
    ));
    for t in tasks {
        let mark = if Some(t.task.as_str()) == current {
            '*'
        } else {
            ' '
        };
        let phase = t.phase.as_deref().unwrap_or("-");
        let sess = if t.phase.is_none() {
            "-"
        } else if t.active {
            "active"
        } else {
            "ended"
        };
        let _ = write!(
            s,
            "\n{mark} {:<w$}  {phase:<9} {sess:<7} {:<12} ",
            t.task, t.status
        );
        match &t.error {
            Some(e) => s.push_str(&out.paint(Tone::Bad, &format!("unreadable: {e}"))),
            None => s.push_str(&t.title),
        }
    }
    out.say(&s);
}

fn session_start(cli: &Cli, out: &Out, a: &StartArgs) -> Result<()> {
    let p = open(cli)?;
    let code = p.resolve_code(a.code.as_deref())?;
    let mut mode = if a.r#continue {
        StartMode::Continue
    } else if a.restart {
        StartMode::Restart
    } else if a.new {
        StartMode::New
    } else {
        StartMode::Fresh
    };
    if mode == StartMode::Fresh
        && !out.json
        && std::io::stdin().is_terminal()
        && std::io::stderr().is_terminal()
    {
        if let Some(s) = p.load_session(&code)?.filter(|s| s.active) {
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
            mode = match line.trim().to_ascii_lowercase().as_str() {
                "c" | "continue" => StartMode::Continue,
                "r" | "restart" => StartMode::Restart,
                "n" | "new" => StartMode::New,
                _ => {
                    return Err(Error::state("nothing changed")
                        .with_hint("pass --continue, --restart or --new"))
                }
            };
        }
    }
    let t = ops::session_start(&p, &code, a.session_key.as_deref(), mode)?;
    out.transition(&t);
    Ok(())
}

fn session_end(cli: &Cli, out: &Out, a: &EndArgs) -> Result<()> {
    let p = open(cli)?;
    let code = p.resolve_code(a.code.as_deref())?;
    let reason = if a.force {
        a.reason.clone()
    } else {
        override_reason(a.override_, &a.reason, out.json)?
    };
    let t = ops::session_end(&p, &code, a.force, reason.as_deref())?;
    out.transition(&t);
    Ok(())
}

fn phase_complete(cli: &Cli, out: &Out, a: &CompleteArgs) -> Result<()> {
    let p = open(cli)?;
    let code = p.resolve_code(a.code.as_deref())?;
    let reason = override_reason(a.override_, &a.reason, out.json)?;
    let t = ops::phase_complete(&p, &code, reason.as_deref(), a.from.as_deref())?;
    out.transition(&t);
    Ok(())
}
