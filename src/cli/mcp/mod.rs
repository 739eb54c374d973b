//! `orch mcp`: a Model Context Protocol server over stdio (rmcp). stdout carries only the
//! protocol; anything else goes to stderr. Each tool call opens the project afresh and runs
//! the operation the CLI runs (`tools`); the tasks' files are resources (`resources`).

mod resources;
mod tools;

use crate::cli::render::Out;
use orch::project::Project;
use orch::Error;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, Implementation,
    ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, PaginatedRequestParams,
    ReadResourceRequestParams, ReadResourceResponse, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler, ServiceExt};
use serde_json::{json, Value};
use std::path::PathBuf;

const INSTRUCTIONS: &str = "orch walks this repository's tasks through phases (intake → research → plan → execute → review → close); every transition is a git commit. Call `next` again and again: it names the one next action, its blockers with fixes, and the command (`orch phase complete X` is the tool phase_complete). `status` has the phase's full instructions. A refused transition is a tool error whose diagnostics say what to fix. Task files are resources orch://task/<CODE>/<file>.";

/// The result of every tool: `{"ok": true, …}` as `--json` prints it.
const OUTPUT_SCHEMA: &str =
    r#"{"type":"object","properties":{"ok":{"type":"boolean"}},"required":["ok"]}"#;

pub struct Server {
    dir: PathBuf,
}

/// Serves until the client closes stdin; the process's exit code.
pub fn serve(dir: PathBuf) -> i32 {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("orch mcp: cannot start: {e}");
            return 1;
        }
    };
    rt.block_on(async move {
        let running = match (Server { dir }).serve(rmcp::transport::stdio()).await {
            Ok(r) => r,
            Err(e) => {
                eprintln!("orch mcp: the client did not initialise: {e}");
                return 1;
            }
        };
        match running.waiting().await {
            Ok(_) => 0,
            Err(e) => {
                eprintln!("orch mcp: {e}");
                1
            }
        }
    })
}

/// The `tools/list` answer: every tool with its input schema and the shared output schema;
/// `check_run` only when there are checks to run, so it costs no context where it cannot help.
pub fn tool_list(has_checks: bool) -> Value {
    let out: Value = serde_json::from_str(OUTPUT_SCHEMA).expect("valid schema");
    let tools: Vec<Value> = tools::tools()
        .iter()
        .filter(|t| has_checks || t.name != "check_run")
        .map(|t| {
            json!({
                "name": t.name,
                "description": t.description,
                "inputSchema": (t.schema)(),
                "outputSchema": out,
            })
        })
        .collect();
    json!({ "tools": tools })
}

/// An orch error as a tool error: the `--json` document (`ok: false`, `error`, `diagnostics`)
/// and the message with each diagnostic's fix as text.
fn tool_error(e: &Error) -> CallToolResult {
    let doc = json!({
        "ok": false,
        "error": {
            "kind": e.kind.as_str(),
            "exit_code": e.exit_code(),
            "message": e.message,
            "hint": e.hint,
        },
        "diagnostics": e.diagnostics,
    });
    let mut text = format!("error: {}", e.message);
    for d in &e.diagnostics {
        text.push_str(&format!("\n  - {} — fix: {}", d.message, d.fix));
    }
    if let Some(h) = &e.hint {
        text.push_str(&format!("\nhint: {h}"));
    }
    let mut r = CallToolResult::structured_error(doc);
    r.content = vec![rmcp::model::ContentBlock::text(text)];
    r
}

impl Server {
    fn open(&self) -> orch::Result<Project> {
        Project::open(&self.dir)
    }

    fn call(&self, name: &str, args: Value) -> CallToolResult {
        let all = tools::tools();
        let Some(t) = all.iter().find(|t| t.name == name) else {
            let names: Vec<&str> = all.iter().map(|t| t.name).collect();
            return tool_error(
                &Error::usage(format!("unknown tool {name:?}"))
                    .with_hint(format!("the tools are {}", names.join(", "))),
            );
        };
        let outcome = self.open().and_then(|p| (t.call)(&p, args));
        match outcome {
            Ok(o) => {
                let mut doc = json!({ "ok": true });
                match o.data {
                    Value::Object(m) => doc.as_object_mut().unwrap().extend(m),
                    other => doc["result"] = other,
                }
                doc["diagnostics"] = serde_json::to_value(&o.warnings).unwrap_or_default();
                let mut r = CallToolResult::structured(doc);
                r.content = vec![rmcp::model::ContentBlock::text(o.text)];
                r
            }
            Err(e) => tool_error(&e),
        }
    }
}

fn from_json<T: serde::de::DeserializeOwned>(v: Value) -> Result<T, McpError> {
    serde_json::from_value(v).map_err(|e| McpError::internal_error(e.to_string(), None))
}

impl ServerHandler for Server {
    fn get_info(&self) -> ServerConfig {
        let info = Implementation::new("orch", env!("CARGO_PKG_VERSION"));
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .build(),
        )
        .with_server_info(info)
        .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        // A folder that is no project yet lists everything: each call then says what is wrong.
        let has_checks = self
            .open()
            .map_or(true, |p| !p.config.checks.commands.is_empty());
        from_json(tool_list(has_checks))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let args = Value::Object(request.arguments.unwrap_or_default());
        Ok(self.call(&request.name, args).into())
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        let p = self
            .open()
            .map_err(|e| McpError::internal_error(e.message, None))?;
        from_json(json!({ "resources": resources::list(&p) }))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        from_json(json!({ "resourceTemplates": [{
            "uriTemplate": "orch://task/{code}/{file}",
            "name": "task file",
            "description": "A task's artifact (TASK.md, CONTEXT.md, …), session.json, events.jsonl, or `report` (orch report as Markdown)",
        }]}))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let p = self
            .open()
            .map_err(|e| McpError::internal_error(e.message, None))?;
        let (text, mime) = resources::read(&p, &request.uri)
            .map_err(|e| McpError::resource_not_found(e.message, None))?;
        let r: rmcp::model::ReadResourceResult = from_json(json!({
            "contents": [{ "uri": request.uri, "mimeType": mime, "text": text }]
        }))?;
        Ok(r.into())
    }
}

/// `orch mcp --print-config AGENT`: the snippet that adds the server to the agent.
pub fn print_config(out: &Out, agent: &str) -> orch::Result<()> {
    let server = json!({ "command": "orch", "args": ["mcp"] });
    let (file, doc) = match agent {
        "claude" => (
            ".mcp.json (or: claude mcp add --transport stdio --scope project orch -- orch mcp)",
            json!({ "mcpServers": { "orch": { "type": "stdio", "command": "orch", "args": ["mcp"], "env": {} } } }),
        ),
        "cursor" => (
            ".cursor/mcp.json",
            json!({ "mcpServers": { "orch": server } }),
        ),
        "vscode" => (
            ".vscode/mcp.json",
            json!({ "servers": { "orch": { "type": "stdio", "command": "orch", "args": ["mcp"] } } }),
        ),
        "codex" if out.json => (
            // The TOML's data, so `--json` stays one JSON document.
            "~/.codex/config.toml",
            json!({ "mcp_servers": { "orch": server } }),
        ),
        "codex" => {
            out.say("# ~/.codex/config.toml (or: codex mcp add orch -- orch mcp)\n[mcp_servers.orch]\ncommand = \"orch\"\nargs = [\"mcp\"]");
            return Ok(());
        }
        other => {
            return Err(
                Error::usage(format!("unknown agent {other:?} for --print-config"))
                    .with_hint("use claude, cursor, vscode or codex"),
            )
        }
    };
    if out.json {
        out.json_ok(&json!({ "file": file, "config": doc }), &[]);
    } else {
        out.say(&format!(
            "// {file}\n{}",
            serde_json::to_string_pretty(&doc).unwrap_or_default()
        ));
    }
    Ok(())
}
