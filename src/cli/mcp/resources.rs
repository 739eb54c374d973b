//! The tasks' files as MCP resources: `orch://task/<CODE>/<file>` for each regular file of a
//! task folder, and `orch://task/<CODE>/report` for `orch report` as Markdown.

use orch::code::TaskCode;
use orch::project::Project;
use orch::{Error, Result};
use serde_json::{json, Value};

/// Resources listed at most; the template reaches the rest.
const MAX_LISTED: usize = 500;

fn uri(code: &str, file: &str) -> String {
    format!("orch://task/{code}/{file}")
}

fn mime(file: &str) -> &'static str {
    if file.ends_with(".md") || file == "report" {
        "text/markdown"
    } else if file.ends_with(".json") {
        "application/json"
    } else {
        "text/plain"
    }
}

/// Every task's files, then its report, up to [`MAX_LISTED`].
pub fn list(p: &Project) -> Vec<Value> {
    let mut out = vec![];
    for code in p.task_codes().unwrap_or_default() {
        let Ok(rd) = std::fs::read_dir(p.task_dir(&code)) else {
            continue;
        };
        let mut files: Vec<String> = rd
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .collect();
        files.sort();
        files.push("report".into());
        for f in files {
            out.push(json!({
                "uri": uri(code.as_str(), &f),
                "name": format!("{code}/{f}"),
                "mimeType": mime(&f),
            }));
            if out.len() >= MAX_LISTED {
                return out;
            }
        }
    }
    out
}

/// The text of `orch://task/<CODE>/<file>` and its MIME type. The code and the file name are
/// checked before any path is built; only regular files inside the task folder are read.
pub fn read(p: &Project, uri: &str) -> Result<(String, &'static str)> {
    let bad = || {
        Error::usage(format!("{uri}: not a resource of orch"))
            .with_hint("resources are orch://task/<CODE>/<file>, e.g. orch://task/TSK-1/TASK.md")
    };
    let rest = uri.strip_prefix("orch://task/").ok_or_else(bad)?;
    let (code, file) = rest.split_once('/').ok_or_else(bad)?;
    let code = TaskCode::parse(code)?;
    p.require_task(&code)?;
    if file == "report" {
        let r = orch::ops::report::report(p, &code)?;
        return Ok((orch::ops::report::markdown(&r), "text/markdown"));
    }
    if file.is_empty() || file.contains(['/', '\\']) || file == "." || file == ".." {
        return Err(bad());
    }
    let path = p.task_dir(&code).join(file);
    let meta = std::fs::symlink_metadata(&path).map_err(|_| {
        Error::usage(format!("{code} has no file {file}")).with_hint(format!(
            "list the task's files with resources/list ({})",
            uri_hint(&code)
        ))
    })?;
    if !meta.is_file() {
        return Err(Error::usage(format!(
            "{}/{file} is not a regular file",
            p.task_rel(&code)
        )));
    }
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    Ok((text, mime(file)))
}

fn uri_hint(code: &TaskCode) -> String {
    uri(code.as_str(), "TASK.md")
}
