//! The agents' project hook files, with orch's entries merged in and taken out again:
//! `.claude/settings.json` and `.codex/hooks.json` (`hooks.<Event>: [{matcher, hooks:
//! [{type, command}]}]`) and `.cursor/hooks.json` (`version: 1, hooks.<event>: [{command,
//! …}]`). Everything else in the file — other settings, other hooks — is kept as it was.

use super::Agent;
use crate::{Error, Result};
use serde_json::{json, Map, Value};

/// Every command orch installs starts with this, which is how its entries are recognised.
pub const COMMAND_PREFIX: &str = "orch hook agent-";

/// The file an agent reads, relative to the worktree root.
pub fn file(agent: Agent) -> &'static str {
    match agent {
        Agent::Claude => ".claude/settings.json",
        Agent::Cursor => ".cursor/hooks.json",
        Agent::Codex => ".codex/hooks.json",
    }
}

fn pre_tool(agent: Agent) -> String {
    format!("orch hook agent-pre-tool --agent {}", agent.as_str())
}

fn session_start(agent: Agent) -> String {
    format!("orch hook agent-session-start --agent {}", agent.as_str())
}

/// orch's entries: (event, the entry as the file holds it).
fn entries(agent: Agent) -> Vec<(&'static str, Value)> {
    let group = |matcher: Option<&str>, command: String| {
        let mut g = Map::new();
        if let Some(m) = matcher {
            g.insert("matcher".into(), m.into());
        }
        g.insert(
            "hooks".into(),
            json!([{ "type": "command", "command": command }]),
        );
        Value::Object(g)
    };
    match agent {
        Agent::Claude => vec![
            (
                "PreToolUse",
                group(
                    Some("Edit|Write|MultiEdit|NotebookEdit|Bash"),
                    pre_tool(agent),
                ),
            ),
            ("SessionStart", group(None, session_start(agent))),
        ],
        // Codex names its tools Bash and apply_patch (and MCP tools by server): every call
        // goes through the hook, which answers the ones it does not judge at once.
        Agent::Codex => vec![
            ("PreToolUse", group(None, pre_tool(agent))),
            (
                "SessionStart",
                group(Some("startup|resume"), session_start(agent)),
            ),
        ],
        // failClosed: a hook that cannot run (orch missing) blocks instead of waving through.
        Agent::Cursor => vec![
            (
                "preToolUse",
                json!({ "command": pre_tool(agent), "failClosed": true }),
            ),
            (
                "beforeShellExecution",
                json!({ "command": pre_tool(agent), "failClosed": true }),
            ),
            ("sessionStart", json!({ "command": session_start(agent) })),
        ],
    }
}

/// Whether an entry of the file (a group, or a Cursor entry) is orch's, or holds orch's.
fn is_ours(v: &Value) -> bool {
    v["command"]
        .as_str()
        .is_some_and(|c| c.starts_with(COMMAND_PREFIX))
}

/// The file's object, or why it cannot be merged into (never overwritten).
fn object<'a>(v: &'a mut Value, what: &str, rel: &str) -> Result<&'a mut Map<String, Value>> {
    v.as_object_mut().ok_or_else(|| {
        Error::usage(format!("{rel}: {what} is not a JSON object")).with_hint(format!(
            "fix {rel} by hand; orch only merges into a valid file"
        ))
    })
}

fn array<'a>(v: &'a mut Value, what: &str, rel: &str) -> Result<&'a mut Vec<Value>> {
    v.as_array_mut().ok_or_else(|| {
        Error::usage(format!("{rel}: {what} is not a JSON array")).with_hint(format!(
            "fix {rel} by hand; orch only merges into a valid file"
        ))
    })
}

/// Takes orch's hooks out of one event's list; groups left empty go too.
fn remove_ours(list: &mut Vec<Value>, flat: bool) {
    if flat {
        list.retain(|e| !is_ours(e));
        return;
    }
    for g in list.iter_mut() {
        if let Some(hooks) = g.get_mut("hooks").and_then(Value::as_array_mut) {
            hooks.retain(|h| !is_ours(h));
        }
    }
    list.retain(|g| {
        g.get("hooks")
            .and_then(Value::as_array)
            .is_none_or(|h| !h.is_empty())
    });
}

/// The file with orch's hooks in it, and whether that changed anything. `text` is the file
/// as it is (None: absent).
pub fn install(agent: Agent, text: Option<&str>) -> Result<(String, bool)> {
    let rel = file(agent);
    let mut doc = parse(text, rel)?;
    let before = doc.clone();
    let root = object(&mut doc, "the file", rel)?;
    if agent == Agent::Cursor && !root.contains_key("version") {
        root.insert("version".into(), 1.into());
    }
    let hooks = root.entry("hooks").or_insert_with(|| json!({}));
    let hooks = object(hooks, "\"hooks\"", rel)?;
    for (event, entry) in entries(agent) {
        let list = hooks.entry(event).or_insert_with(|| json!([]));
        let list = array(list, &format!("\"hooks.{event}\""), rel)?;
        if list.contains(&entry) {
            continue;
        }
        remove_ours(list, agent == Agent::Cursor);
        list.push(entry);
    }
    Ok((render(&doc), doc != before))
}

/// The file without orch's hooks: `None` when nothing else was left in it (remove the file),
/// and whether orch's hooks were there.
pub fn uninstall(agent: Agent, text: &str) -> Result<(Option<String>, bool)> {
    let rel = file(agent);
    let mut doc = parse(Some(text), rel)?;
    let before = doc.clone();
    let root = object(&mut doc, "the file", rel)?;
    if let Some(hooks) = root.get_mut("hooks").and_then(Value::as_object_mut) {
        for list in hooks.values_mut() {
            if let Some(list) = list.as_array_mut() {
                remove_ours(list, agent == Agent::Cursor);
            }
        }
        hooks.retain(|_, v| v.as_array().is_none_or(|a| !a.is_empty()));
        if hooks.is_empty() {
            root.remove("hooks");
        }
    }
    let changed = doc != before;
    let root = doc.as_object().expect("checked above");
    // `version` alone is what install added to an empty Cursor file.
    let empty = root.is_empty()
        || (agent == Agent::Cursor && root.len() == 1 && root.contains_key("version"));
    Ok(((!empty).then(|| render(&doc)), changed))
}

fn parse(text: Option<&str>, rel: &str) -> Result<Value> {
    match text {
        None => Ok(json!({})),
        Some(t) if t.trim().is_empty() => Ok(json!({})),
        Some(t) => serde_json::from_str(t).map_err(|e| {
            Error::usage(format!("{rel} is not valid JSON: {e}")).with_hint(format!(
                "fix {rel} by hand; orch only merges into a valid file"
            ))
        }),
    }
}

fn render(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).expect("JSON serialises");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_merges_and_uninstall_restores() {
        let mine = r#"{"model": "x", "hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "./lint.sh"}]}]}}"#;
        let (with, changed) = install(Agent::Claude, Some(mine)).unwrap();
        assert!(changed);
        let v: Value = serde_json::from_str(&with).unwrap();
        assert_eq!(v["model"], "x");
        assert_eq!(v["hooks"]["PreToolUse"].as_array().unwrap().len(), 2);
        assert_eq!(
            v["hooks"]["PreToolUse"][0]["hooks"][0]["command"],
            "./lint.sh"
        );
        let (again, changed) = install(Agent::Claude, Some(&with)).unwrap();
        assert!(!changed);
        assert_eq!(again, with);
        let (back, changed) = uninstall(Agent::Claude, &with).unwrap();
        assert!(changed);
        let back: Value = serde_json::from_str(&back.unwrap()).unwrap();
        assert_eq!(back, serde_json::from_str::<Value>(mine).unwrap());
    }

    #[test]
    fn a_file_orch_made_goes_away_whole() {
        for a in super::super::AGENTS {
            let (with, _) = install(a, None).unwrap();
            assert_eq!(uninstall(a, &with).unwrap(), (None, true));
        }
    }

    #[test]
    fn a_file_that_is_not_an_object_is_refused() {
        let e = install(Agent::Cursor, Some("[1]")).unwrap_err();
        assert!(e.message.contains(".cursor/hooks.json"), "{}", e.message);
        let e = install(Agent::Claude, Some(r#"{"hooks": {"PreToolUse": {}}}"#)).unwrap_err();
        assert!(e.message.contains("hooks.PreToolUse"), "{}", e.message);
        assert!(install(Agent::Codex, Some("{oops")).is_err());
    }
}
