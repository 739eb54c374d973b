//! `orch agent-hooks install|uninstall` and the agent hooks `orch hook agent-pre-tool` and
//! `orch hook agent-session-start`, which speak the agent's protocol: JSON on stdin, the
//! answer on stdout, exit 2 for a refusal.

use super::args::{AgentChoice, AgentHooksCmd, Cli};
use super::render::{Out, Tone};
use orch::agent::{self, Agent, Call};
use orch::ops;
use orch::project::Project;
use orch::{Error, Result};
use std::io::{Read, Write};
use std::path::PathBuf;

pub fn agent_hooks(cli: &Cli, out: &Out, h: &AgentHooksCmd) -> Result<()> {
    let git = orch::git::Repo::discover(&super::cwd(cli)?)?;
    let root = orch::validate::canonical(&git.workdir);
    let (choice, install) = match h {
        AgentHooksCmd::Install(c) => (c, true),
        AgentHooksCmd::Uninstall(c) => (c, false),
    };
    let changes = chosen(choice)
        .into_iter()
        .map(|a| {
            if install {
                ops::agent::install(&root, a)
            } else {
                ops::agent::uninstall(&root, a)
            }
        })
        .collect::<Result<Vec<_>>>()?;
    if out.json {
        out.json_ok(&serde_json::json!({ "agents": changes }), &[]);
        return Ok(());
    }
    for c in &changes {
        let note = match c.action.as_str() {
            "installed" => "orch's hooks merged in; the rest of the file is as it was",
            "unchanged" => "orch's hooks were already there",
            "removed" => "orch's hooks taken out",
            _ => "no orch hooks there; nothing to remove",
        };
        out.say(&format!(
            "{} {:<7} {:<10} {}  ({note})",
            out.paint(Tone::Good, "✓"),
            c.agent,
            c.action,
            c.path
        ));
    }
    Ok(())
}

fn chosen(c: &AgentChoice) -> Vec<Agent> {
    let mut v = vec![];
    if c.claude {
        v.push(Agent::Claude);
    }
    if c.cursor {
        v.push(Agent::Cursor);
    }
    if c.codex {
        v.push(Agent::Codex);
    }
    v
}

/// `--agent NAME` (or `--agent=NAME`) among the hook's arguments.
fn agent_arg(args: &[String]) -> Result<Agent> {
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--agent" {
            if let Some(v) = it.next() {
                return Agent::parse(v);
            }
        } else if let Some(v) = a.strip_prefix("--agent=") {
            return Agent::parse(v);
        }
    }
    Err(
        Error::usage("the agent hook needs --agent claude|cursor|codex").with_hint(
            "run it as the installed hook does, e.g. `orch hook agent-pre-tool --agent claude`",
        ),
    )
}

/// Runs one agent hook; the process's exit code.
pub fn hook(cli: &Cli, out: &Out, name: &str, args: &[String]) -> i32 {
    let agent = match agent_arg(args) {
        Ok(a) => a,
        Err(e) => return out.error(&e),
    };
    let mut input = String::new();
    let _ = std::io::stdin().read_to_string(&mut input);
    match name {
        "agent-pre-tool" => pre_tool(cli, agent, &input),
        "agent-session-start" => session_start(cli, agent),
        other => out.error(
            &Error::usage(format!("unknown hook {other:?}"))
                .with_hint("agent hooks are agent-pre-tool and agent-session-start"),
        ),
    }
}

/// The repository the hook guards, if it has `.orchestration/`.
fn project(cli: &Cli) -> Result<Option<Project>> {
    let git = orch::git::Repo::discover(&super::cwd(cli)?)?;
    if !git.workdir.join(orch::project::ORCH_DIR).is_dir() {
        return Ok(None);
    }
    Project::load(git).map(Some)
}

/// Allows anything it cannot judge — a payload it does not understand, a repository it cannot
/// open — saying so on stderr: a hook that blocks blindly would stop the agent for nothing.
fn pre_tool(cli: &Cli, agent: Agent, input: &str) -> i32 {
    let payload: serde_json::Value = match serde_json::from_str(input) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("orch agent-pre-tool: the hook input is not JSON ({e}); the call is allowed");
            return 0;
        }
    };
    let call = agent::call(&payload);
    if matches!(call, Call::Other { .. }) {
        return 0;
    }
    let p = match project(cli) {
        Ok(Some(p)) => p,
        Ok(None) => return 0,
        Err(e) => {
            eprintln!("orch agent-pre-tool: {}; the call is allowed", e.message);
            return 0;
        }
    };
    let cwd = payload["cwd"]
        .as_str()
        .or_else(|| payload["workspace_roots"][0].as_str())
        .map(PathBuf::from)
        .or_else(|| super::cwd(cli).ok())
        .unwrap_or_else(|| p.root.clone());
    let v = match ops::agent::pre_tool(&p, agent, &call, &cwd) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("orch agent-pre-tool: {}; the call is allowed", e.message);
            return 0;
        }
    };
    if v.allowed {
        if let Some(n) = &v.note {
            eprintln!("{n}");
        }
        return 0;
    }
    let reason = v.reason.clone().unwrap_or_default();
    let short = format!(
        "orch: {} is in {}; code edits wait for a later phase",
        v.task.as_deref().unwrap_or("the task"),
        v.phase.as_deref().unwrap_or("?")
    );
    let doc = agent::deny(agent, &reason, &short);
    let mut o = std::io::stdout().lock();
    let _ = writeln!(o, "{doc}");
    // On exit 2 some agents read the reason from stderr instead of the JSON.
    eprintln!("{reason}");
    2
}

/// `orch prime` (or, with no current task, `orch next`) as the agent takes context.
fn session_start(cli: &Cli, agent: Agent) -> i32 {
    let p = match project(cli) {
        Ok(Some(p)) => p,
        Ok(None) => return 0,
        Err(e) => {
            eprintln!("orch agent-session-start: {}", e.message);
            return 0;
        }
    };
    let body = match ops::guide::prime(&p, None) {
        Ok(pr) => super::cmd_guide::prime_text(&pr),
        Err(_) => match ops::guide::next(&p, None) {
            Ok(n) => super::cmd_guide::next_text(&n),
            Err(e) => format!("orch: {}", e.message),
        },
    };
    let text = format!(
        "This repository runs its work through orch phases (intake → … → close); `orch next` is the loop: it names the one next action.\n{body}"
    );
    let mut o = std::io::stdout().lock();
    let _ = write!(o, "{}", agent::context(agent, &text));
    if agent != Agent::Claude {
        let _ = writeln!(o);
    }
    0
}
