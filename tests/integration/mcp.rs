//! `orch mcp`: the protocol on stdout and nothing else, the size of `tools/list`, tool errors
//! for refusals and bad arguments, resources, `--print-config`; and a real client (the
//! Python `mcp` package, installed by `.ci/run` into `target/mcp-venv`) driving a whole
//! journey through the six phases.

use crate::support::*;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Stdio};
use std::time::{Duration, Instant};

/// `orch mcp` spoken to line by line, as a client does.
struct Client {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    id: u64,
}

impl Client {
    fn start(env: &Env) -> Client {
        let mut cmd = env.orch(&["mcp"]).command();
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn orch mcp");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut c = Client {
            child,
            stdin,
            stdout,
            id: 0,
        };
        let init = c.request(
            "initialize",
            json!({
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "orch-tests", "version": "0"},
            }),
        );
        assert_eq!(init["result"]["serverInfo"]["name"], "orch", "{init}");
        c.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        c
    }

    fn send(&mut self, msg: &Value) {
        writeln!(self.stdin, "{msg}").unwrap();
        self.stdin.flush().unwrap();
    }

    /// Sends a request and reads lines up to its answer; every line must be JSON-RPC.
    fn request(&mut self, method: &str, params: Value) -> Value {
        self.id += 1;
        let id = self.id;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let mut line = String::new();
            let n = self.stdout.read_line(&mut line).unwrap();
            assert!(n > 0, "orch mcp closed stdout while {method} was pending");
            let v: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("stdout carried a non-protocol line ({e}): {line:?}"));
            assert_eq!(v["jsonrpc"], "2.0", "{v}");
            if v["id"] == id {
                return v;
            }
        }
    }

    fn tool(&mut self, name: &str, args: Value) -> Value {
        let r = self.request("tools/call", json!({"name": name, "arguments": args}));
        assert!(r.get("error").is_none(), "a protocol error for {name}: {r}");
        r["result"].clone()
    }

    fn close(mut self) -> std::process::Output {
        drop(self.stdin);
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.child.try_wait().unwrap().is_none() {
            assert!(
                Instant::now() < deadline,
                "orch mcp did not exit after stdin closed"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        self.child.wait_with_output().unwrap()
    }
}

fn tool_names(r: &Value) -> Vec<String> {
    let tools = r["result"]["tools"].as_array().unwrap();
    tools
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn tools_list_fits_in_two_thousand_tokens() {
    let env = Env::new();
    let mut c = Client::start(&env);
    let r = c.request("tools/list", json!({}));
    // No [checks] configured: check_run is left out.
    let mut want = vec![
        "next",
        "status",
        "task_new",
        "session_start",
        "phase_complete",
        "phase_set",
        "session_end",
        "event_add",
        "report",
        "bug_report",
        "search",
        "memory_add",
    ];
    assert_eq!(tool_names(&r), want);
    let tools = r["result"]["tools"].as_array().unwrap();
    for t in tools {
        assert_eq!(t["inputSchema"]["type"], "object", "{t}");
        assert_eq!(t["outputSchema"]["required"], json!(["ok"]), "{t}");
        assert!(
            t["description"].as_str().is_some_and(|d| !d.is_empty()),
            "{t}"
        );
    }
    let pc = tools
        .iter()
        .find(|t| t["name"] == "phase_complete")
        .unwrap();
    let props = pc["inputSchema"]["properties"].as_object().unwrap();
    assert!(
        props.contains_key("from") && props.contains_key("override_reason"),
        "{pc}"
    );
    assert!(c.close().status.success());

    // With checks, check_run is listed (and runs the committed command); still in budget.
    env.config("[checks]\ntests = \"true\"\n");
    let mut c = Client::start(&env);
    let r = c.request("tools/list", json!({}));
    want.insert(8, "check_run");
    assert_eq!(tool_names(&r), want);
    let tokens = r["result"].to_string().len() / 4;
    eprintln!("tools/list: {tokens} tokens ({} tools)", want.len());
    assert!(tokens <= 2000, "tools/list costs {tokens} tokens");
    let run = c.tool("check_run", json!({}));
    assert_eq!(run["isError"], false, "{run}");
    assert_eq!(run["structuredContent"]["passed"], true, "{run}");
    assert_eq!(
        run["structuredContent"]["runs"][0]["check"], "tests",
        "{run}"
    );
    let out = c.close();
    assert!(out.status.success(), "{out:?}");
}

/// Spawn to the `initialize` answer, the median of 11 starts (the median, so one start slowed
/// by a busy machine does not decide).
#[test]
fn startup_to_first_answer_is_within_fifty_ms() {
    let env = Env::started("TSK-1");
    let mut times: Vec<Duration> = (0..11)
        .map(|_| {
            let t0 = Instant::now();
            let c = Client::start(&env);
            let took = t0.elapsed();
            assert!(c.close().status.success());
            took
        })
        .collect();
    times.sort();
    let median = times[times.len() / 2];
    eprintln!("orch mcp startup to first answer: median {median:?} of {times:?}");
    assert!(median <= Duration::from_millis(50), "median {median:?}");
}

#[test]
fn a_refused_transition_is_a_tool_error_with_the_json_diagnostics() {
    let env = Env::started("TSK-1");
    env.orch(&["phase", "complete", "TSK-1"]).succeeds(); // intake -> research
    let cli: Value = serde_json::from_str(
        &env.orch(&["phase", "complete", "TSK-1", "--json"])
            .fails(3)
            .stdout,
    )
    .unwrap();
    let mut c = Client::start(&env);
    let r = env.unchanged(|_| c.tool("phase_complete", json!({"task": "TSK-1"})));
    assert_eq!(r["isError"], true, "{r}");
    let doc = &r["structuredContent"];
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["error"]["exit_code"], 3);
    assert_eq!(doc["diagnostics"], cli["diagnostics"]);
    assert_eq!(doc["error"]["message"], cli["error"]["message"]);
    let text = r["content"][0]["text"].as_str().unwrap();
    assert!(
        text.contains("CONTEXT.md") && text.contains("fix:"),
        "{text}"
    );
    // Bad arguments are tool errors too, and the server goes on.
    let r = c.tool("phase_set", json!({"task": "TSK-1", "phase": 7}));
    assert_eq!(r["isError"], true, "{r}");
    assert_eq!(r["structuredContent"]["error"]["kind"], "usage", "{r}");
    let r = c.tool("next", json!({}));
    assert_eq!(r["structuredContent"]["phase"], "research", "{r}");
    assert_eq!(r["structuredContent"]["ok"], true, "{r}");
    c.close();
}

#[test]
fn tools_make_the_commits_the_cli_makes() {
    let env = Env::started("TSK-1");
    let mut c = Client::start(&env);
    env.fill_task("TSK-1");
    let r = c.tool("phase_complete", json!({"task": "TSK-1", "from": "intake"}));
    assert_eq!(r["isError"], false, "{r}");
    assert_eq!(r["structuredContent"]["to"], "research");
    let commit = r["structuredContent"]["commit"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(env.head(), commit);
    assert_eq!(
        env.git(&["log", "-1", "--format=%s"]),
        "orch(TSK-1): intake -> research\n"
    );
    let r = c.tool(
        "phase_set",
        json!({"task": "TSK-1", "phase": "plan", "override_reason": "context is in the issue"}),
    );
    assert_eq!(
        r["structuredContent"]["override"]["reason"], "context is in the issue",
        "{r}"
    );
    let r = c.tool(
        "event_add",
        json!({"type": "custom.note", "data": {"text": "hi"}}),
    );
    assert_eq!(
        r["structuredContent"]["event"]["payload"],
        json!({"text": "hi"}),
        "{r}"
    );
    c.close();
    env.orch(&["verify"]).succeeds();
    env.fsck();
    assert_eq!(env.phase("TSK-1"), "plan");
}

#[test]
fn session_start_switches_to_the_tasks_branch_first() {
    let env = Env::with_task("TSK-1");
    let mut c = Client::start(&env);
    let r = c.tool("session_start", json!({"task": "TSK-1", "branch": ""}));
    assert_eq!(r["isError"], false, "{r}");
    let doc = &r["structuredContent"];
    assert_eq!(doc["to"], "intake", "{r}");
    assert_eq!(doc["branch"]["created"], true, "{r}");
    let name = doc["branch"]["name"].as_str().unwrap();
    assert_eq!(env.git(&["symbolic-ref", "--short", "HEAD"]).trim(), name);
    assert_eq!(env.session_json("TSK-1")["branch"], name);
    c.close();
    env.orch(&["verify"]).succeeds();
    env.fsck();
}

#[test]
fn resources_are_the_task_files_and_nothing_else() {
    let env = Env::started("TSK-1");
    let mut c = Client::start(&env);
    let r = c.request("resources/list", json!({}));
    let uris: Vec<&str> = r["result"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["uri"].as_str().unwrap())
        .collect();
    assert!(uris.contains(&"orch://task/TSK-1/TASK.md"), "{uris:?}");
    assert!(uris.contains(&"orch://task/TSK-1/session.json"), "{uris:?}");
    assert!(uris.contains(&"orch://task/TSK-1/report"), "{uris:?}");
    let r = c.request(
        "resources/read",
        json!({"uri": "orch://task/TSK-1/TASK.md"}),
    );
    assert_eq!(
        r["result"]["contents"][0]["text"].as_str().unwrap(),
        env.read(".orchestration/tasks/TSK-1/TASK.md")
    );
    let r = c.request("resources/read", json!({"uri": "orch://task/TSK-1/report"}));
    assert!(
        r["result"]["contents"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with("## TSK-1"),
        "{r}"
    );
    for bad in [
        "orch://task/TSK-1/../../config.toml",
        "orch://task/../x/TASK.md",
        "orch://task/NOPE/TASK.md",
        "file:///etc/passwd",
    ] {
        let r = c.request("resources/read", json!({"uri": bad}));
        assert!(r.get("error").is_some(), "{bad}: {r}");
    }
    c.close();
}

#[test]
fn print_config_gives_each_clients_snippet() {
    let env = Env::new();
    let out = env
        .orch(&["mcp", "--print-config", "vscode"])
        .succeeds()
        .stdout;
    let body: Value = serde_json::from_str(out.split_once('\n').unwrap().1).unwrap();
    assert_eq!(
        body,
        json!({"servers": {"orch": {"type": "stdio", "command": "orch", "args": ["mcp"]}}})
    );
    let out = env
        .orch(&["mcp", "--print-config", "claude", "--json"])
        .succeeds()
        .stdout;
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["config"]["mcpServers"]["orch"]["command"], "orch");
    let out = env
        .orch(&["mcp", "--print-config", "cursor"])
        .succeeds()
        .stdout;
    assert!(out.starts_with("// .cursor/mcp.json\n"), "{out}");
    env.orch(&["mcp", "--print-config", "codex"])
        .succeeds()
        .stdout_contains("[mcp_servers.orch]");
    let out = env
        .orch(&["mcp", "--print-config", "codex", "--json"])
        .succeeds()
        .stdout;
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["config"]["mcp_servers"]["orch"]["args"],
        json!(["mcp"]),
        "{v}"
    );
    env.orch(&["mcp", "--print-config", "emacs"])
        .fails(2)
        .stderr_contains("unknown agent \"emacs\"");
}

/// The Python with the `mcp` package: `ORCH_MCP_PYTHON` (which `.ci/run` exports, pointing
/// into the venv it makes), else `target/mcp-venv` when a developer made it. `None` — skip —
/// only off CI with neither: under CI (`CI` or `ORCH_MCP_PYTHON` set) a missing client fails.
fn client_python() -> Option<PathBuf> {
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/mcp-venv/bin/python");
    let (python, required) = match std::env::var_os("ORCH_MCP_PYTHON") {
        Some(p) => (PathBuf::from(p), true),
        None => (venv, std::env::var_os("CI").is_some()),
    };
    let works = python.is_file()
        && std::process::Command::new(&python)
            .args(["-c", "import mcp"])
            .output()
            .is_ok_and(|o| o.status.success());
    if works {
        return Some(python);
    }
    let make = "python3 -m venv target/mcp-venv && target/mcp-venv/bin/pip install 'mcp>=2,<3' (as .ci/run does)";
    assert!(
        !required,
        "the MCP client test cannot run: {} has no `mcp` package; {make}",
        python.display()
    );
    eprintln!(
        "\n*** SKIPPED a_real_client_walks_a_task_through_every_phase: no Python MCP client at {} ***\n*** {make}, or set ORCH_MCP_PYTHON ***\n",
        python.display()
    );
    None
}

#[test]
fn a_real_client_walks_a_task_through_every_phase() {
    let Some(python) = client_python() else {
        return;
    };
    let env = Env::builder().clock(Clock::Wall).orch_init().build();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mcp/journey.py");
    // The harness's environment (home, identity, no git config), on the wall clock.
    let mut cmd = hermetic(python.to_str().unwrap(), &env.home);
    cmd.env_remove("GIT_AUTHOR_DATE")
        .env_remove("GIT_COMMITTER_DATE")
        .arg(&script)
        .arg(BIN)
        .arg(&env.root)
        .current_dir(&env.root);
    let out = cmd.output().expect("run the MCP client");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the MCP client failed:\n--- stdout\n{stdout}\n--- stderr\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_str(stdout.lines().last().unwrap_or("")).unwrap();
    eprintln!("MCP client: {v}");
    // git, the oracle: six phases, each transition a commit that verify accepts.
    env.orch(&["verify"]).succeeds();
    env.fsck();
    let subjects = env.git(&["log", "--format=%s", "--", ".orchestration/tasks/TSK-1"]);
    for t in [
        "intake -> research",
        "research -> plan",
        "plan -> execute",
        "execute -> review",
        "review -> close",
        "session end (close)",
    ] {
        assert!(subjects.contains(t), "no commit {t:?}:\n{subjects}");
    }
    assert!(!env.session_json("TSK-1")["active"].as_bool().unwrap());
}
