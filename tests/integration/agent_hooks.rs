//! The coding-agent hooks: `orch hook agent-pre-tool` fed the payloads Claude Code, Cursor and
//! Codex send (in each agent's documented shape), in every phase; `agent-session-start`;
//! `orch agent-hooks install|uninstall` merging into the agents' files.

use crate::support::*;
use serde_json::{json, Value};
use std::io::Write;
use std::process::Stdio;

/// Runs `orch hook NAME --agent AGENT` with `payload` on stdin.
fn hook(env: &Env, name: &str, agent: &str, payload: &str) -> Done {
    let mut cmd = env.orch(&["hook", name, "--agent", agent]).command();
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn orch");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(payload.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let d = Done {
        label: format!("orch hook {name} --agent {agent}"),
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    };
    d.no_panic()
}

/// The exit code a hook run must have.
trait Exit {
    fn status(self, code: i32) -> Done;
}

impl Exit for Done {
    fn status(self, code: i32) -> Done {
        assert_eq!(self.code, Some(code), "{}: {self:?}", self.label);
        self
    }
}

fn pre_tool(env: &Env, agent: &str, payload: &Value) -> Done {
    hook(env, "agent-pre-tool", agent, &payload.to_string())
}

/// Claude Code's PreToolUse input: the common fields, then the tool's.
fn claude(env: &Env, tool: &str, input: Value) -> Value {
    json!({
        "session_id": "3f1c2a9e-8d4b-4e55-9a61-0c2d7b5e4f10",
        "transcript_path": "/home/dev/.claude/projects/-repo/3f1c2a9e.jsonl",
        "cwd": env.root.display().to_string(),
        "permission_mode": "default",
        "hook_event_name": "PreToolUse",
        "tool_name": tool,
        "tool_input": input,
        "tool_use_id": "toolu_01ABC123DEF456",
    })
}

/// Cursor's preToolUse / beforeShellExecution input.
fn cursor_tool(env: &Env, tool: &str, input: Value) -> Value {
    json!({
        "conversation_id": "668320d2-2fd8-4888-b33c-2a466fec86e7",
        "generation_id": "490b90b7-a2ce-4c2c-bb76-cb77b125df2f",
        "model": "claude-sonnet-4",
        "hook_event_name": "preToolUse",
        "cursor_version": "1.7.2",
        "workspace_roots": [env.root.display().to_string()],
        "user_email": null,
        "tool_name": tool,
        "tool_input": input,
    })
}

fn cursor_shell(env: &Env, command: &str) -> Value {
    json!({
        "conversation_id": "668320d2-2fd8-4888-b33c-2a466fec86e7",
        "generation_id": "490b90b7-a2ce-4c2c-bb76-cb77b125df2f",
        "hook_event_name": "beforeShellExecution",
        "workspace_roots": [env.root.display().to_string()],
        "command": command,
        "cwd": env.root.display().to_string(),
    })
}

/// Codex's PreToolUse input.
fn codex(env: &Env, tool: &str, input: Value) -> Value {
    json!({
        "session_id": "0199a213-81c0-7800-8aa1-bbab2a035a53",
        "transcript_path": null,
        "cwd": env.root.display().to_string(),
        "hook_event_name": "PreToolUse",
        "model": "gpt-5-codex",
        "permission_mode": "default",
        "turn_id": "turn-7",
        "tool_name": tool,
        "tool_input": input,
        "tool_use_id": "call_x7Y2",
    })
}

/// (agent, what the call is, payload, whether it writes code).
fn calls(env: &Env) -> Vec<(&'static str, &'static str, Value, bool)> {
    let root = env.root.display().to_string();
    let src = format!("{root}/src/auth.rs");
    let ctx = format!("{root}/.orchestration/tasks/TSK-1/CONTEXT.md");
    vec![
        (
            "claude",
            "Write",
            claude(
                env,
                "Write",
                json!({"file_path": src, "content": "fn a() {}\n"}),
            ),
            true,
        ),
        (
            "claude",
            "Edit",
            claude(
                env,
                "Edit",
                json!({"file_path": src, "old_string": "a", "new_string": "b", "replace_all": false}),
            ),
            true,
        ),
        (
            "claude",
            "Bash cat >",
            claude(
                env,
                "Bash",
                json!({"command": "cat > src/auth.rs <<'EOF'\nfn a() {}\nEOF", "description": "Write auth.rs"}),
            ),
            true,
        ),
        (
            "claude",
            "Bash sed -i",
            claude(
                env,
                "Bash",
                json!({"command": "sed -i 's/5 \\* 60/30 * 60/' src/auth.rs", "description": "Raise the timeout"}),
            ),
            true,
        ),
        (
            "claude",
            "Bash read-only",
            claude(
                env,
                "Bash",
                json!({"command": "grep -rn timeout src | head -20 && git status", "description": "Look"}),
            ),
            false,
        ),
        (
            "claude",
            "Write artifact",
            claude(
                env,
                "Write",
                json!({"file_path": ctx, "content": "# Context\n"}),
            ),
            false,
        ),
        (
            "claude",
            "Write Windows path",
            claude(
                env,
                "Write",
                json!({"file_path": "src\\auth.rs", "content": "x"}),
            ),
            true,
        ),
        (
            "claude",
            "Write Windows artifact",
            claude(
                env,
                "Write",
                json!({"file_path": ".orchestration\\tasks\\TSK-1\\PLAN.md", "content": "x"}),
            ),
            false,
        ),
        (
            "claude",
            "Read",
            claude(env, "Read", json!({"file_path": src})),
            false,
        ),
        (
            "cursor",
            "Write",
            cursor_tool(env, "Write", json!({"file_path": src, "content": "x"})),
            true,
        ),
        (
            "cursor",
            "Write artifact",
            cursor_tool(env, "Write", json!({"file_path": ctx, "content": "x"})),
            false,
        ),
        (
            "cursor",
            "shell sed -i",
            cursor_shell(env, "sed -i 's/a/b/' src/auth.rs"),
            true,
        ),
        (
            "cursor",
            "shell read-only",
            cursor_shell(env, "cargo test --release 2>&1 | tail -5"),
            false,
        ),
        (
            "codex",
            "Bash redirect",
            codex(
                env,
                "Bash",
                json!({"command": "echo 'fn a() {}' > src/auth.rs"}),
            ),
            true,
        ),
        (
            "codex",
            "apply_patch",
            codex(
                env,
                "apply_patch",
                json!({"command": "*** Begin Patch\n*** Add File: src/new.rs\n+fn x() {}\n*** End Patch\n"}),
            ),
            true,
        ),
        (
            "codex",
            "Bash read-only",
            codex(env, "Bash", json!({"command": "ls -la src"})),
            false,
        ),
    ]
}

fn assert_denied(d: &Done, agent: &str, what: &str, phase: &str) {
    assert_eq!(d.code, Some(2), "{agent} {what} in {phase}: {d:?}");
    let v: Value = serde_json::from_str(d.stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "{agent} {what}: stdout is not one JSON document ({e}): {}",
            d.stdout
        )
    });
    let reason = match agent {
        "cursor" => {
            assert_eq!(v["permission"], "deny", "{v}");
            assert!(v["user_message"].as_str().unwrap().contains("TSK-1"), "{v}");
            assert_eq!(v.as_object().unwrap().len(), 3, "{v}");
            v["agent_message"].as_str().unwrap().to_string()
        }
        _ => {
            assert_eq!(v.as_object().unwrap().len(), 1, "{v}");
            let h = &v["hookSpecificOutput"];
            assert_eq!(h["hookEventName"], "PreToolUse", "{v}");
            assert_eq!(h["permissionDecision"], "deny", "{v}");
            h["permissionDecisionReason"].as_str().unwrap().to_string()
        }
    };
    assert!(
        reason.contains(&format!("TSK-1 is in {phase}"))
            && reason.contains("code changes start in execute")
            && reason.contains("orch phase complete TSK-1"),
        "{agent} {what}: {reason}"
    );
    assert!(d.stderr.contains(&reason), "{agent} {what}: {}", d.stderr);
}

#[test]
fn code_writes_are_refused_before_execute_in_each_agents_format() {
    let env = Env::started("TSK-1");
    env.write("src/auth.rs", "fn a() {}\n");
    env.commit_all("code before");
    for phase in PHASES {
        env.advance_to("TSK-1", phase);
        let before_code = ["intake", "research", "plan"].contains(&phase);
        for (agent, what, payload, writes_code) in calls(&env) {
            let d = pre_tool(&env, agent, &payload);
            if writes_code && before_code {
                assert_denied(&d, agent, what, phase);
            } else {
                assert_eq!(d.code, Some(0), "{agent} {what} in {phase}: {d:?}");
                assert_eq!(d.stdout, "", "{agent} {what} in {phase}");
            }
        }
    }
    // Nothing the hook did broke the history.
    env.orch(&["verify"]).succeeds();
    env.fsck();
}

#[test]
fn refusals_are_recorded_and_reported() {
    let env = Env::started("TSK-1");
    let p = claude(
        &env,
        "Write",
        json!({"file_path": "src/auth.rs", "content": "x"}),
    );
    pre_tool(&env, "claude", &p).status(2);
    pre_tool(
        &env,
        "codex",
        &codex(&env, "Bash", json!({"command": "rm -rf src"})),
    )
    .status(2);
    let denied: Vec<_> = env
        .event_lines("TSK-1")
        .into_iter()
        .filter(|e| e.type_ == "orchestration.agent.denied")
        .collect();
    assert_eq!(denied.len(), 2);
    assert_eq!(denied[0].payload["tool"], "Write");
    assert_eq!(denied[0].payload["path"], "src/auth.rs");
    assert_eq!(denied[0].payload["phase"], "intake");
    assert_eq!(denied[1].payload["agent"], "codex");
    assert_eq!(denied[1].payload["command"], "rm -rf src");
    // The events travel with the next transition, which verify accepts.
    env.orch(&["phase", "complete", "TSK-1"]).succeeds();
    env.orch(&["verify"]).succeeds();
    let r: Value =
        serde_json::from_str(&env.orch_ok(&["report", "TSK-1", "--format", "json"])).unwrap();
    assert_eq!(r["agent_denials"], json!([{"phase": "intake", "count": 2}]));
    env.orch(&["report", "TSK-1"])
        .succeeds()
        .stdout_contains("The agent tried to write code 2 times before execute** (2 in intake)");
}

#[test]
fn what_cannot_be_judged_is_allowed_and_noted() {
    let env = Env::started("TSK-1");
    let d = pre_tool(
        &env,
        "claude",
        &claude(&env, "Bash", json!({"command": "echo x > $OUT"})),
    );
    assert_eq!(d.code, Some(0), "{d:?}");
    assert_eq!(d.stdout, "");
    assert!(d.stderr.contains("could not judge"), "{}", d.stderr);
    assert!(env
        .event_types("TSK-1")
        .contains(&"orchestration.agent.unjudged".to_string()));
    // Input that is not a tool call at all is let through, saying so.
    let d = hook(&env, "agent-pre-tool", "claude", "not json");
    assert_eq!(d.code, Some(0));
    assert!(d.stderr.contains("not JSON"), "{}", d.stderr);
}

#[test]
fn nothing_is_refused_without_a_current_task_or_outside_an_orch_repository() {
    let env = Env::with_task("TSK-1");
    let p = claude(
        &env,
        "Write",
        json!({"file_path": "src/a.rs", "content": "x"}),
    );
    pre_tool(&env, "claude", &p).status(0).stdout_empty();
    let bare = Env::git_only();
    pre_tool(&bare, "claude", &p).status(0).stdout_empty();
    // From execute on, code is what the phase is for.
    let env = Env::started("TSK-1");
    env.advance_to("TSK-1", "execute");
    pre_tool(&env, "claude", &p).status(0);
    pre_tool(&env, "cursor", &cursor_shell(&env, "touch src/a.rs")).status(0);
}

#[test]
fn the_agent_must_be_named() {
    let env = Env::started("TSK-1");
    let mut cmd = env.orch(&["hook", "agent-pre-tool"]).command();
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--agent claude|cursor|codex"),
        "{}",
        stderr(&out)
    );
    let out = env
        .orch(&["hook", "agent-pre-tool", "--agent", "vim"])
        .output();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown agent \"vim\""),
        "{}",
        stderr(&out)
    );
}

#[test]
fn session_start_gives_prime_in_each_agents_format() {
    let env = Env::started("TSK-1");
    let d = hook(
        &env,
        "agent-session-start",
        "claude",
        "{\"hook_event_name\":\"SessionStart\",\"source\":\"startup\"}",
    )
    .status(0);
    assert!(
        d.stdout.contains("TSK-1 · Fix login timeout — intake 1/6"),
        "{}",
        d.stdout
    );
    assert!(d.stdout.contains("orch next"), "{}", d.stdout);
    let d = hook(&env, "agent-session-start", "codex", "{}").status(0);
    let v: Value = serde_json::from_str(d.stdout.trim()).unwrap();
    assert_eq!(v["hookSpecificOutput"]["hookEventName"], "SessionStart");
    assert!(v["hookSpecificOutput"]["additionalContext"]
        .as_str()
        .unwrap()
        .contains("TSK-1"));
    let d = hook(&env, "agent-session-start", "cursor", "{}").status(0);
    let v: Value = serde_json::from_str(d.stdout.trim()).unwrap();
    assert!(
        v["additional_context"]
            .as_str()
            .unwrap()
            .contains("Next: orch phase complete TSK-1"),
        "{v}"
    );
    // No current task: the open tasks, as `orch next` lists them.
    let env = Env::with_task("TSK-2");
    let d = hook(&env, "agent-session-start", "claude", "{}").status(0);
    assert!(
        d.stdout.contains("orch session start TSK-2"),
        "{}",
        d.stdout
    );
}

#[test]
fn install_creates_merges_is_idempotent_and_uninstalls_cleanly() {
    let env = Env::new();
    let status_before = env.git(&["status", "--porcelain"]);
    let d = env
        .orch(&["agent-hooks", "install", "--claude", "--cursor", "--codex"])
        .succeeds();
    assert_eq!(d.stdout.matches("installed").count(), 3, "{}", d.stdout);
    let claude: Value = serde_json::from_str(&env.read(".claude/settings.json")).unwrap();
    assert_eq!(
        claude,
        json!({"hooks": {
            "PreToolUse": [{"matcher": "Edit|Write|MultiEdit|NotebookEdit|Bash", "hooks": [{"type": "command", "command": "orch hook agent-pre-tool --agent claude"}]}],
            "SessionStart": [{"hooks": [{"type": "command", "command": "orch hook agent-session-start --agent claude"}]}],
        }})
    );
    let cursor: Value = serde_json::from_str(&env.read(".cursor/hooks.json")).unwrap();
    assert_eq!(cursor["version"], 1);
    assert_eq!(
        cursor["hooks"]["preToolUse"],
        json!([{"command": "orch hook agent-pre-tool --agent cursor", "failClosed": true}])
    );
    assert_eq!(
        cursor["hooks"]["beforeShellExecution"][0]["failClosed"],
        true
    );
    let codex: Value = serde_json::from_str(&env.read(".codex/hooks.json")).unwrap();
    assert_eq!(
        codex["hooks"]["PreToolUse"][0]["hooks"][0]["command"],
        "orch hook agent-pre-tool --agent codex"
    );

    let files = [
        ".claude/settings.json",
        ".cursor/hooks.json",
        ".codex/hooks.json",
    ]
    .map(|f| env.read(f));
    let d = env
        .orch(&["agent-hooks", "install", "--claude", "--cursor", "--codex"])
        .succeeds();
    assert_eq!(d.stdout.matches("unchanged").count(), 3, "{}", d.stdout);
    assert_eq!(
        files,
        [
            ".claude/settings.json",
            ".cursor/hooks.json",
            ".codex/hooks.json"
        ]
        .map(|f| env.read(f))
    );

    let d = env
        .orch(&[
            "agent-hooks",
            "uninstall",
            "--claude",
            "--cursor",
            "--codex",
            "--json",
        ])
        .succeeds();
    let v: Value = serde_json::from_str(&d.stdout).unwrap();
    assert!(
        v["agents"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["action"] == "removed"),
        "{v}"
    );
    assert!(
        !env.path(".claude").exists()
            && !env.path(".cursor").exists()
            && !env.path(".codex").exists()
    );
    assert_eq!(env.git(&["status", "--porcelain"]), status_before);
    env.orch(&["agent-hooks", "uninstall", "--claude"])
        .succeeds()
        .stdout_contains("absent");
}

#[test]
fn install_keeps_the_users_settings_and_hooks() {
    let env = Env::new();
    let mine = json!({
        "permissions": {"allow": ["Bash(cargo test:*)"]},
        "hooks": {
            "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "./scripts/lint-bash.sh", "timeout": 10}]}],
            "Stop": [{"hooks": [{"type": "command", "command": "say done"}]}],
        },
        "model": "opus",
    });
    env.write(
        ".claude/settings.json",
        serde_json::to_string_pretty(&mine).unwrap(),
    );
    let cursor_mine = json!({"version": 1, "hooks": {"afterFileEdit": [{"command": "./fmt.sh"}], "beforeShellExecution": [{"command": "./audit.sh"}]}});
    env.write(".cursor/hooks.json", cursor_mine.to_string());
    env.orch(&["agent-hooks", "install", "--claude", "--cursor"])
        .succeeds();
    let v: Value = serde_json::from_str(&env.read(".claude/settings.json")).unwrap();
    assert_eq!(v["permissions"], mine["permissions"]);
    assert_eq!(v["model"], "opus");
    assert_eq!(v["hooks"]["Stop"], mine["hooks"]["Stop"]);
    let pre = v["hooks"]["PreToolUse"].as_array().unwrap();
    assert_eq!(pre.len(), 2);
    assert_eq!(pre[0], mine["hooks"]["PreToolUse"][0]);
    // Keys keep their order: the user's file reads as before, with orch's lines added.
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["permissions", "hooks", "model"]);
    let c: Value = serde_json::from_str(&env.read(".cursor/hooks.json")).unwrap();
    assert_eq!(
        c["hooks"]["beforeShellExecution"].as_array().unwrap().len(),
        2
    );
    assert_eq!(
        c["hooks"]["afterFileEdit"],
        cursor_mine["hooks"]["afterFileEdit"]
    );

    env.orch(&["agent-hooks", "uninstall", "--claude", "--cursor"])
        .succeeds();
    let back: Value = serde_json::from_str(&env.read(".claude/settings.json")).unwrap();
    assert_eq!(back, mine);
    let back: Value = serde_json::from_str(&env.read(".cursor/hooks.json")).unwrap();
    assert_eq!(back, cursor_mine);
}

#[test]
fn a_broken_settings_file_is_never_overwritten() {
    let env = Env::new();
    env.write(".claude/settings.json", "{ \"hooks\": [ }");
    env.unchanged(|env| env.orch(&["agent-hooks", "install", "--claude"]).fails(2))
        .stderr_contains(".claude/settings.json is not valid JSON");
    env.write(
        ".codex/hooks.json",
        "{\"hooks\": {\"PreToolUse\": {\"matcher\": \"Bash\"}}}",
    );
    env.unchanged(|env| env.orch(&["agent-hooks", "install", "--codex"]).fails(2))
        .stderr_contains("\"hooks.PreToolUse\" is not a JSON array");
    env.orch(&["agent-hooks", "install"]).fails(2);
}
