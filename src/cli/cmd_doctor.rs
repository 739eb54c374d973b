//! `orch doctor [--fix]`: the findings, the repairs made and what is left; exit 4 while an
//! error or warning is left.

use super::args::Cli;
use super::render::{Out, Tone};
use orch::ops::doctor::{self, Finding, Report, Severity};
use orch::Result;
use serde::Serialize;

pub fn doctor(cli: &Cli, out: &Out, fix: bool) -> Result<i32> {
    let report = doctor::doctor(&super::cwd(cli)?, fix)?;
    let code = if report.healthy { 0 } else { 4 };
    if out.json {
        #[derive(Serialize)]
        struct Doc<'a> {
            ok: bool,
            #[serde(flatten)]
            report: &'a Report,
            diagnostics: [(); 0],
        }
        let doc = Doc {
            ok: report.healthy,
            report: &report,
            diagnostics: [],
        };
        let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
        out.print(&format!("{text}\n"));
        return Ok(code);
    }
    if out.quiet && report.healthy {
        return Ok(code);
    }
    let mut s = format!("orch doctor: {}\n", report.root);
    let shown = if fix { &report.findings } else { &report.left };
    if shown.is_empty() {
        s.push_str("  nothing found\n");
    }
    for f in shown {
        s.push_str(&finding(out, f));
    }
    if fix {
        s.push_str("\nRepairs:\n");
        if report.fixed.is_empty() {
            s.push_str("  none needed\n");
        }
        for a in &report.fixed {
            let mark = if a.ok {
                out.paint(Tone::Good, "✓")
            } else {
                out.paint(Tone::Bad, "✗")
            };
            s.push_str(&format!("  {mark} {}: {}\n", a.code, a.did));
        }
        let left: Vec<&Finding> = report.left.iter().filter(|f| f.counts()).collect();
        if !left.is_empty() {
            s.push_str("\nLeft (needs you):\n");
            for f in left {
                s.push_str(&finding(out, f));
            }
        }
    }
    let problems = report.left.iter().filter(|f| f.counts()).count();
    s.push('\n');
    s.push_str(&if problems == 0 {
        format!("{} healthy", out.paint(Tone::Good, "✓"))
    } else {
        let fixable = report
            .left
            .iter()
            .filter(|f| f.counts() && f.fixable)
            .count();
        let hint = if fixable > 0 && !fix {
            format!("; `orch doctor --fix` repairs {fixable} of them safely")
        } else {
            String::new()
        };
        format!("{} {problems} problem(s){hint}", out.paint(Tone::Bad, "✗"))
    });
    // The report goes to stdout even when unhealthy: it is what was asked for.
    out.print(&format!("{s}\n"));
    Ok(code)
}

fn finding(out: &Out, f: &Finding) -> String {
    let mark = match f.severity {
        Severity::Error => out.paint(Tone::Bad, "✗"),
        Severity::Warning => out.paint(Tone::Warn, "!"),
        Severity::Info => out.paint(Tone::Dim, "·"),
    };
    let mut s = format!("  {mark} {}: {}\n", f.code, f.what);
    if let Some(p) = &f.path {
        let owner = match (f.pid, f.alive) {
            (Some(pid), Some(true)) => format!(" (pid {pid}, running)"),
            (Some(pid), _) => format!(" (pid {pid}, no longer running)"),
            _ => String::new(),
        };
        s.push_str(&format!(
            "      {}\n",
            out.paint(Tone::Dim, &format!("{p}{owner}"))
        ));
    }
    s.push_str(&format!(
        "      {}\n",
        out.paint(Tone::Dim, &format!("fix: {}", f.fix))
    ));
    s
}
