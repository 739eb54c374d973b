//! Coding agents' hooks: the tool calls Claude Code, Cursor and Codex announce before they run
//! them, read into the files they would write (`call`), where a path lands relative to the
//! repository (`place`), the answers each agent expects (`deny`, `context`), and the hook
//! configuration files orch merges itself into (`config`). Pure: the operation in
//! `ops::agent` decides with these and writes.

pub mod config;
pub mod shell;

use crate::{Error, Result};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// The agents whose hook protocols orch speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agent {
    Claude,
    Cursor,
    Codex,
}

pub const AGENTS: [Agent; 3] = [Agent::Claude, Agent::Cursor, Agent::Codex];

impl Agent {
    pub fn parse(s: &str) -> Result<Agent> {
        match s {
            "claude" => Ok(Agent::Claude),
            "cursor" => Ok(Agent::Cursor),
            "codex" => Ok(Agent::Codex),
            other => Err(Error::usage(format!("unknown agent {other:?}"))
                .with_hint("use --agent claude, --agent cursor or --agent codex")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Agent::Claude => "claude",
            Agent::Cursor => "cursor",
            Agent::Codex => "codex",
        }
    }
}

/// What a tool call would do to files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// Writes (creates, edits, moves or deletes) these paths, as the agent gave them.
    Writes { tool: String, paths: Vec<String> },
    /// Runs this shell command line.
    Shell { tool: String, command: String },
    /// A write whose files cannot be told from the call.
    Unknown { tool: String, why: String },
    /// Reads, searches, fetches: nothing to judge.
    Other { tool: String },
}

impl Call {
    pub fn tool(&self) -> &str {
        match self {
            Call::Writes { tool, .. }
            | Call::Shell { tool, .. }
            | Call::Unknown { tool, .. }
            | Call::Other { tool } => tool,
        }
    }
}

/// Tools that run a shell command (`tool_input.command`).
const SHELL_TOOLS: &[&str] = &[
    "bash",
    "shell",
    "run_terminal_cmd",
    "terminal",
    "local_shell",
    "exec_command",
    "shell_command",
];
/// Tools that write the file they name.
const FILE_TOOLS: &[&str] = &[
    "write",
    "edit",
    "multiedit",
    "notebookedit",
    "strreplace",
    "str_replace",
    "str_replace_editor",
    "search_replace",
    "delete",
    "delete_file",
    "edit_file",
    "create_file",
    "write_file",
    "tabwrite",
];
/// Where the tools put the path they write.
const PATH_KEYS: &[&str] = &[
    "file_path",
    "notebook_path",
    "path",
    "target_file",
    "filePath",
    "file",
];

/// Reads a hook payload (Claude Code and Codex `PreToolUse`, Cursor `preToolUse` and
/// `beforeShellExecution`) into what the call would do.
pub fn call(payload: &Value) -> Call {
    let event = payload["hook_event_name"].as_str().unwrap_or("");
    if event == "beforeShellExecution" {
        let command = payload["command"].as_str().unwrap_or("").to_string();
        return Call::Shell {
            tool: "Shell".into(),
            command,
        };
    }
    let tool = payload["tool_name"].as_str().unwrap_or("").to_string();
    let input = match &payload["tool_input"] {
        // Some agents send the input as a JSON string.
        Value::String(s) => serde_json::from_str(s).unwrap_or(Value::String(s.clone())),
        Value::Null => payload["input"].clone(),
        v => v.clone(),
    };
    let lower = tool.to_ascii_lowercase();
    if SHELL_TOOLS.contains(&lower.as_str()) {
        return match command_of(&input) {
            Some(command) => Call::Shell { tool, command },
            None => Call::Unknown {
                tool,
                why: "no command in the call".into(),
            },
        };
    }
    if lower == "apply_patch" || lower == "applypatch" {
        let text = strings(&input).join("\n");
        let paths = patch_paths(&text);
        if paths.is_empty() {
            return Call::Unknown {
                tool,
                why: "a patch naming no file".into(),
            };
        }
        return Call::Writes { tool, paths };
    }
    if FILE_TOOLS.contains(&lower.as_str()) {
        let paths: Vec<String> = PATH_KEYS
            .iter()
            .filter_map(|k| input[*k].as_str())
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .take(1)
            .collect();
        if paths.is_empty() {
            return Call::Unknown {
                tool,
                why: "no file path in the call".into(),
            };
        }
        return Call::Writes { tool, paths };
    }
    Call::Other { tool }
}

/// `command` as a string, or as an argv (`["bash", "-lc", "…"]` is the script itself).
fn command_of(input: &Value) -> Option<String> {
    match &input["command"] {
        Value::String(s) => Some(s.clone()),
        Value::Array(a) => {
            let argv: Vec<&str> = a.iter().filter_map(Value::as_str).collect();
            match argv.as_slice() {
                [sh, flag, script]
                    if flag.starts_with('-') && flag.contains('c') && is_shell(sh) =>
                {
                    Some(script.to_string())
                }
                _ => Some(shlex::try_join(argv.iter().copied()).unwrap_or_else(|_| argv.join(" "))),
            }
        }
        _ => input.as_str().map(str::to_string),
    }
}

fn is_shell(s: &str) -> bool {
    matches!(
        s.rsplit('/').next().unwrap_or(s),
        "bash" | "sh" | "zsh" | "dash"
    )
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().flat_map(strings).collect(),
        Value::Object(m) => m.values().flat_map(strings).collect(),
        _ => vec![],
    }
}

/// The files an `apply_patch` envelope adds, updates, deletes or moves to.
pub fn patch_paths(text: &str) -> Vec<String> {
    const HEADS: [&str; 4] = [
        "*** Add File: ",
        "*** Update File: ",
        "*** Delete File: ",
        "*** Move to: ",
    ];
    text.lines()
        .filter_map(|l| HEADS.iter().find_map(|h| l.trim_start().strip_prefix(h)))
        .map(|p| p.trim().to_string())
        .collect()
}

/// Where a written path lands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// Inside `.orchestration/`: the workflow's own files, written in any phase.
    Orchestration,
    /// Elsewhere in the worktree (the path relative to its root): code.
    Code(String),
    /// Outside the worktree, or inside `.git/`: not the repository's code.
    Outside,
}

/// Where `path` (as an agent wrote it: relative to `cwd` or absolute, `/` or `\`
/// separated) lands relative to the worktree `root` (canonical).
pub fn place(path: &str, cwd: &Path, root: &Path) -> Place {
    let p = slashes(path);
    let abs = if is_absolute(&p) {
        p
    } else {
        format!("{}/{p}", slashes(&cwd.to_string_lossy()))
    };
    let abs = lexical(&abs);
    let root_s = lexical(&slashes(&root.to_string_lossy()));
    let rel = match strip_root(&abs, &root_s) {
        Some(r) => r,
        // A path through a symbolic link (`/tmp` → `/private/tmp`): its existing part resolved.
        None => match resolved(&abs).and_then(|a| strip_root(&a, &root_s)) {
            Some(r) => r,
            None => return Place::Outside,
        },
    };
    let first = rel.split('/').next().unwrap_or("");
    // The name `project::ORCH_DIR` holds; the domain layer sits below it.
    if first == ".orchestration" {
        Place::Orchestration
    } else if first == ".git" {
        Place::Outside
    } else if rel.is_empty() {
        Place::Code(".".into())
    } else {
        Place::Code(rel)
    }
}

fn slashes(s: &str) -> String {
    let s = s.replace('\\', "/");
    // `\\?\C:\…`, Windows' verbatim form of a path.
    s.strip_prefix("//?/").map(str::to_string).unwrap_or(s)
}

fn is_absolute(p: &str) -> bool {
    let b = p.as_bytes();
    p.starts_with('/') || (b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':')
}

/// `.` and `..` resolved without touching the disk.
fn lexical(p: &str) -> String {
    let mut parts: Vec<&str> = vec![];
    let (prefix, rest) = match p.find('/') {
        Some(0) => ("", &p[1..]),
        Some(i) if p[..i].ends_with(':') => (&p[..i], &p[i + 1..]),
        _ => ("", p),
    };
    for part in rest.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            x => parts.push(x),
        }
    }
    format!("{prefix}/{}", parts.join("/"))
}

/// `abs` relative to `root`, when it is inside it (drive letters compare without case).
fn strip_root(abs: &str, root: &str) -> Option<String> {
    let (a, r) = if root.as_bytes().get(1) == Some(&b':') {
        (abs.to_ascii_lowercase(), root.to_ascii_lowercase())
    } else {
        (abs.to_string(), root.to_string())
    };
    let r = r.trim_end_matches('/');
    if a == r {
        return Some(String::new());
    }
    a.strip_prefix(&format!("{r}/"))
        .map(|_| abs[r.len() + 1..].to_string())
}

/// The path with its longest existing ancestor canonicalised.
fn resolved(abs: &str) -> Option<String> {
    let mut base = PathBuf::from(abs);
    let mut tail: Vec<String> = vec![];
    loop {
        if let Ok(c) = base.canonicalize() {
            let mut s = slashes(&c.to_string_lossy());
            for t in tail.iter().rev() {
                s.push('/');
                s.push_str(t);
            }
            return Some(lexical(&s));
        }
        tail.push(base.file_name()?.to_string_lossy().to_string());
        if !base.pop() {
            return None;
        }
    }
}

/// The refusal in the agent's own format (printed on stdout, with exit 2).
pub fn deny(agent: Agent, reason: &str, short: &str) -> Value {
    match agent {
        Agent::Claude | Agent::Codex => json!({
            "hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "permissionDecision": "deny",
                "permissionDecisionReason": reason,
            }
        }),
        Agent::Cursor => json!({
            "permission": "deny",
            "user_message": short,
            "agent_message": reason,
        }),
    }
}

/// Context for a starting session in the agent's format: Claude Code adds plain stdout to
/// the context; Codex reads `additionalContext`; Cursor `additional_context`.
pub fn context(agent: Agent, text: &str) -> String {
    match agent {
        Agent::Claude => format!("{text}\n"),
        Agent::Codex => json!({
            "hookSpecificOutput": {
                "hookEventName": "SessionStart",
                "additionalContext": text,
            }
        })
        .to_string(),
        Agent::Cursor => json!({ "additional_context": text }).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places() {
        let root = Path::new("/r/repo");
        let cwd = Path::new("/r/repo/src");
        assert_eq!(place("a.rs", cwd, root), Place::Code("src/a.rs".into()));
        assert_eq!(place("/r/repo/x.rs", cwd, root), Place::Code("x.rs".into()));
        assert_eq!(
            place("../.orchestration/tasks/T/PLAN.md", cwd, root),
            Place::Orchestration
        );
        assert_eq!(
            place("..\\.orchestration\\tasks\\T\\PLAN.md", cwd, root),
            Place::Orchestration
        );
        assert_eq!(
            place("/r/repo/.orchestration/../src/a.rs", cwd, root),
            Place::Code("src/a.rs".into())
        );
        assert_eq!(place("/tmp/scratch.txt", cwd, root), Place::Outside);
        assert_eq!(place("/r/repository/a", cwd, root), Place::Outside);
        assert_eq!(place("../.git/hooks/x", cwd, root), Place::Outside);
        let win = Path::new("C:\\Users\\dev\\proj");
        assert_eq!(
            place("c:\\users\\dev\\proj\\src\\main.rs", win, win),
            Place::Code("src\\main.rs".replace('\\', "/"))
        );
        assert_eq!(
            place(".orchestration\\tasks\\T\\PLAN.md", win, win),
            Place::Orchestration
        );
    }

    #[test]
    fn calls() {
        let c = call(
            &json!({"tool_name": "Write", "tool_input": {"file_path": "/a/b.rs", "content": "x"}}),
        );
        assert_eq!(
            c,
            Call::Writes {
                tool: "Write".into(),
                paths: vec!["/a/b.rs".into()]
            }
        );
        let c =
            call(&json!({"hook_event_name": "beforeShellExecution", "command": "ls", "cwd": "/a"}));
        assert_eq!(
            c,
            Call::Shell {
                tool: "Shell".into(),
                command: "ls".into()
            }
        );
        let c = call(
            &json!({"tool_name": "Bash", "tool_input": {"command": ["bash", "-lc", "echo > x"]}}),
        );
        assert_eq!(
            c,
            Call::Shell {
                tool: "Bash".into(),
                command: "echo > x".into()
            }
        );
        let c = call(
            &json!({"tool_name": "apply_patch", "tool_input": {"command": "*** Begin Patch\n*** Update File: src/a.rs\n@@\n-x\n+y\n*** End Patch\n"}}),
        );
        assert_eq!(
            c,
            Call::Writes {
                tool: "apply_patch".into(),
                paths: vec!["src/a.rs".into()]
            }
        );
        assert!(matches!(
            call(&json!({"tool_name": "Read", "tool_input": {"file_path": "a"}})),
            Call::Other { .. }
        ));
        assert!(matches!(
            call(&json!({"tool_name": "Edit", "tool_input": {}})),
            Call::Unknown { .. }
        ));
    }
}
