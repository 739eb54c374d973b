//! `orch bug report|list|show|resolve|reopen|merge|distinct`.

use super::args::{BugCmd, Cli};
use super::render::{self, Out, Tone};
use orch::code::TaskCode;
use orch::ops::bug::{self, BugView, Decision, ReportRequest};
use orch::{Error, Result};
use std::io::Read;

pub fn bug(cli: &Cli, out: &Out, cmd: &BugCmd) -> Result<()> {
    match cmd {
        BugCmd::Report {
            args,
            title,
            error,
            error_file,
            file,
            line,
            severity,
        } => {
            let stdin = args.iter().any(|a| a == "-");
            let code = args.iter().find(|a| *a != "-").map(String::as_str);
            let (bytes, source) = error_input(error.as_deref(), error_file.as_deref(), stdin)?;
            let p = super::open(cli)?;
            let code = p.resolve_code(code)?;
            let r = bug::report(
                &p,
                &ReportRequest {
                    code: &code,
                    title,
                    error: &bytes,
                    source: &source,
                    file: file.as_deref(),
                    line: *line,
                    severity: severity.as_deref(),
                },
            )?;
            if out.json {
                out.json_ok(&r, &[]);
                return Ok(());
            }
            let b = &r.bug.meta;
            let what = match r.outcome.as_str() {
                "new" => format!("{} {} filed: {}", out.paint(Tone::Good, "✓"), b.id, b.title),
                "regression" => format!(
                    "{} {} is back: it was resolved, now open again as a regression ({} occurrences)",
                    out.paint(Tone::Warn, "!"),
                    b.id,
                    r.bug.occurrences
                ),
                _ => format!(
                    "{} {} seen again: same fingerprint, occurrence {} added",
                    out.paint(Tone::Good, "✓"),
                    b.id,
                    r.bug.occurrences
                ),
            };
            out.say(&format!("{what}{}", render::commit_note(r.commit.as_ref())));
            for s in &r.possible_duplicate_of {
                out.say(&format!(
                    "  possible_duplicate_of: {} ({:.2}) — `orch bug merge {} {}` if it is, `orch bug distinct {} {}` if not",
                    s.id, s.score, b.id, s.id, b.id, s.id
                ));
            }
            for i in &r.instructions {
                out.say(&format!("  on_bug_found: {i}"));
            }
        }
        BugCmd::List { status, task } => {
            let p = super::open(cli)?;
            let task = task.as_deref().map(TaskCode::parse).transpose()?;
            let bugs = bug::list(&p, status.as_deref(), task.as_ref())?;
            if out.json {
                out.json_ok(&serde_json::json!({ "bugs": bugs }), &[]);
            } else if bugs.is_empty() {
                out.say(if status.is_some() || task.is_some() {
                    "no bugs match; `orch bug list` shows them all"
                } else {
                    "no bugs yet; `orch bug report --title T --error TEXT` files one"
                });
            } else {
                for b in &bugs {
                    out.say(&line(out, b));
                }
            }
        }
        BugCmd::Show { id } => {
            let p = super::open(cli)?;
            let d = bug::show(&p, id)?;
            if out.json {
                out.json_ok(&d, &[]);
                return Ok(());
            }
            out.say(&line(out, &d.bug));
            let m = &d.bug.meta;
            out.say(&format!("fingerprint: {}", m.fingerprint));
            out.say(&format!("tasks: {}", m.tasks.join(", ")));
            out.say(&format!(
                "first seen {}, last seen {}",
                m.first_seen, m.last_seen
            ));
            for s in &m.possible_duplicate_of {
                out.say(&format!("possible_duplicate_of: {} ({:.2})", s.id, s.score));
            }
            if let Some(same) = &d.bug.same_fingerprint_as {
                out.say(&format!(
                    "same fingerprint as {same}, filed first — `orch bug merge {} {same}`",
                    m.id
                ));
            }
            out.say("\nnormalised (what matching compares):");
            for l in d.normalized.lines() {
                out.say(&format!("  {l}"));
            }
            out.say("\nfirst report:");
            for l in d.report.lines() {
                out.say(&format!("  {l}"));
            }
            out.say("\nlog:");
            for e in &d.log {
                let task = e.task.as_deref().unwrap_or("-");
                out.say(&format!("  {}  {:10} {task}", e.ts, e.kind));
            }
        }
        BugCmd::Resolve { id, commit, note } => decide(
            cli,
            out,
            id,
            Decision::Resolve {
                commit: commit.as_deref(),
                note: note.as_deref(),
            },
            "resolved",
        )?,
        BugCmd::Reopen { id } => decide(cli, out, id, Decision::Reopen, "reopened")?,
        BugCmd::Merge { id, into } => decide(cli, out, id, Decision::Merge { into }, "merged")?,
        BugCmd::Distinct { id, other } => decide(
            cli,
            out,
            id,
            Decision::Distinct { other },
            "marked distinct",
        )?,
    }
    Ok(())
}

fn decide(cli: &Cli, out: &Out, id: &str, d: Decision, verb: &str) -> Result<()> {
    let p = super::open(cli)?;
    let task = p.current_task()?;
    let r = bug::decide(&p, id, d, task.as_ref())?;
    if out.json {
        out.json_ok(&r, &[]);
    } else {
        out.say(&format!(
            "{} {} {verb}{}",
            out.paint(Tone::Good, "✓"),
            r.bug.meta.id,
            render::commit_note(r.commit.as_ref())
        ));
    }
    Ok(())
}

fn line(out: &Out, b: &BugView) -> String {
    let m = &b.meta;
    let status = match m.status.as_str() {
        "open" => out.paint(Tone::Bad, "open"),
        s => out.paint(Tone::Dim, s),
    };
    let extra = match (&m.duplicate_of, &b.same_fingerprint_as) {
        (Some(d), _) => format!("  → {d}"),
        (None, Some(s)) => format!("  (same fingerprint as {s})"),
        _ => String::new(),
    };
    format!(
        "{}  {status:8} {:8} {}×  {}  [{}]{extra}",
        m.id,
        m.severity.as_str(),
        b.occurrences,
        m.title,
        m.tasks.join(", ")
    )
}

/// The error text from exactly one of --error, --error-file and `-` (stdin), read as bytes:
/// the library decides whether it is acceptable text, and reads at most a little more than
/// it would keep, so a huge input is refused without being held whole.
fn error_input(
    error: Option<&str>,
    file: Option<&std::path::Path>,
    stdin: bool,
) -> Result<(Vec<u8>, String)> {
    let limit = (orch::bugs::record::MAX_ERROR_BYTES + 1) as u64;
    match (error, file, stdin) {
        (Some(e), None, false) => Ok((e.as_bytes().to_vec(), "--error".into())),
        (None, Some(f), false) => {
            let fh = std::fs::File::open(f).map_err(|e| {
                Error::usage(format!("--error-file {}: {e}", f.display()))
                    .with_hint("pass a readable file holding the error text")
            })?;
            let mut buf = Vec::new();
            fh.take(limit)
                .read_to_end(&mut buf)
                .map_err(|e| Error::io(f, e))?;
            Ok((buf, f.display().to_string()))
        }
        (None, None, true) => {
            let mut buf = Vec::new();
            std::io::stdin()
                .take(limit)
                .read_to_end(&mut buf)
                .map_err(|e| Error::runtime(format!("reading the error from stdin: {e}")))?;
            Ok((buf, "stdin".into()))
        }
        (None, None, false) => Err(Error::usage("bug report needs the error text")
            .with_hint("pass --error TEXT, --error-file FILE, or - to read it from stdin")),
        _ => Err(
            Error::usage("give the error text one way: --error, --error-file or -")
                .with_hint("pass exactly one of them"),
        ),
    }
}
