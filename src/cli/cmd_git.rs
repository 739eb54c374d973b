//! Commands that read or guard git history: log, verify, hooks, hook, report.

use super::args::{Cli, HooksCmd};
use super::render::{Out, Tone};
use orch::git::history;
use orch::ops::{hooks, report};
use orch::project::Project;
use orch::{verify, Error, Result};
use std::io::Read;

pub fn log(p: &Project, out: &Out, code: Option<&str>) -> Result<()> {
    let code = p.resolve_code(code)?;
    p.require_task(&code)?;
    let entries = report::log(p, &code)?;
    if out.json {
        out.json_ok(
            &serde_json::json!({ "task": code.as_str(), "transitions": entries }),
            &[],
        );
        return Ok(());
    }
    if entries.is_empty() {
        out.say(&format!("{code} has no committed session changes yet"));
        return Ok(());
    }
    let mut s = String::new();
    for e in &entries {
        let what = match e.kind.as_str() {
            "start" => format!("session start → {}", e.to.as_deref().unwrap_or("?")),
            "end" => format!("{} → session end", e.from.as_deref().unwrap_or("?")),
            k => format!(
                "{} → {} ({k})",
                e.from.as_deref().unwrap_or("?"),
                e.to.as_deref().unwrap_or("?")
            ),
        };
        let ov = match (&e.override_, &e.reason) {
            (true, Some(r)) => format!("  {} {r}", out.paint(Tone::Warn, "override:")),
            _ => String::new(),
        };
        let short = |c: &str| c[..c.len().min(7)].to_string();
        // An open range (execute not left yet) runs to whatever HEAD is then.
        let range = e
            .execute_range
            .as_ref()
            .map(|r| {
                let base = r.base.as_deref().map_or("(first commit)".into(), short);
                match r.head.as_deref() {
                    Some(h) => format!("  execute range {base}..{}", short(h)),
                    None => format!("  execute range starts after {base}"),
                }
            })
            .unwrap_or_default();
        s.push_str(&format!(
            "{}  {}  {}  {what}{ov}{range}\n",
            out.paint(Tone::Dim, &e.commit[..7]),
            e.date,
            e.author
        ));
    }
    out.say(s.trim_end());
    Ok(())
}

fn range(p: &Project, range: Option<&str>) -> Result<(Vec<gix::ObjectId>, Vec<gix::ObjectId>)> {
    let repo = &p.git.repo;
    match range {
        None => Ok((p.git.head_id()?.into_iter().collect(), vec![])),
        Some(r) => {
            let Some((a, b)) = r.split_once("..") else {
                return Err(
                    Error::usage(format!("--range {r:?} is not of the form A..B"))
                        .with_hint("e.g. --range origin/main..HEAD"),
                );
            };
            let b = if b.is_empty() { "HEAD" } else { b };
            let tip = history::resolve(repo, b)?;
            let hidden = if a.is_empty() {
                vec![]
            } else {
                vec![history::resolve(repo, a)?]
            };
            Ok((vec![tip], hidden))
        }
    }
}

pub fn verify(p: &Project, out: &Out, range_arg: Option<&str>, codes: &[String]) -> Result<()> {
    let parsed = codes
        .iter()
        .map(|c| orch::code::TaskCode::parse(c))
        .collect::<Result<Vec<_>>>()?;
    let (tips, hidden) = range(p, range_arg)?;
    let r = verify::verify(p, &tips, &hidden, codes)?;
    // A mistyped code would otherwise verify nothing and pass: it must name a task that
    // exists now or that the verified history touched.
    for c in &parsed {
        if !r.tasks.iter().any(|t| t == c.as_str()) {
            p.require_task(c)?;
        }
    }
    report_verify(out, &r)
}

/// `orch verify --accept COMMIT --reason TEXT`.
pub fn accept(p: &Project, out: &Out, commit: &str, reason: &str) -> Result<()> {
    let a = orch::ops::waiver::accept(p, commit, reason)?;
    if out.json {
        out.json_ok(&a, &[]);
        return Ok(());
    }
    for t in &a.waivers {
        out.say(&format!(
            "{} {}: waived {} at {} ({}){}",
            out.paint(Tone::Good, "✓"),
            t.task,
            t.waiver.rules.join(", "),
            &t.waiver.commit[..7],
            t.waiver.reason,
            super::render::commit_note(t.recorded_in.as_ref())
        ));
    }
    Ok(())
}

/// Violations that no longer stand, said aloud: a waiver or a repair is on the record, not
/// a clean history.
fn settled_lines(out: &Out, r: &verify::VerifyReport) -> Vec<String> {
    let mut lines = vec![];
    for w in &r.waived {
        lines.push(format!(
            "{} {} — accepted by {} at {}: {}",
            out.paint(Tone::Warn, "waived:"),
            w.violation.line(),
            w.waiver.author,
            w.waiver.at,
            w.waiver.reason
        ));
    }
    for rep in &r.repaired {
        lines.push(format!(
            "{} {} — undone by commit {}",
            out.paint(Tone::Dim, "repaired:"),
            rep.violation.line(),
            &rep.repaired_by[..7]
        ));
    }
    lines
}

fn report_verify(out: &Out, r: &verify::VerifyReport) -> Result<()> {
    if r.ok() {
        if out.json {
            out.json_ok(r, &[]);
        } else {
            out.say(&format!("{} {}", out.paint(Tone::Good, "✓"), r.verdict()));
            for l in settled_lines(out, r) {
                out.say(&l);
            }
        }
        return Ok(());
    }
    if !out.json {
        for l in settled_lines(out, r) {
            eprintln!("{l}");
        }
    }
    Err(Error::validation(r.verdict())
        .with_hint(
            "each line names the commit, task and rule; fix as shown, then run `orch verify` again",
        )
        .with_diagnostics(r.violations.iter().map(|v| v.to_diagnostic()).collect()))
}

fn hooks_dir(cli: &Cli) -> Result<std::path::PathBuf> {
    let git = orch::git::Repo::discover(&super::cwd(cli)?)?;
    hooks::hooks_dir(&git.repo, &git.workdir, &git.common_dir)
}

pub fn hooks(cli: &Cli, out: &Out, h: &HooksCmd) -> Result<()> {
    let dir = hooks_dir(cli)?;
    let (actions, verb) = match h {
        HooksCmd::Install { force } => (hooks::install(&dir, *force)?, "installed"),
        HooksCmd::Uninstall => (hooks::uninstall(&dir)?, "uninstalled"),
    };
    if out.json {
        out.json_ok(
            &serde_json::json!({ "hooks_dir": dir.display().to_string(), "hooks": actions }),
            &[],
        );
        return Ok(());
    }
    out.say(&format!(
        "{} orch hooks {verb} in {}",
        out.paint(Tone::Good, "✓"),
        dir.display()
    ));
    for a in &actions {
        let note = match a.action.as_str() {
            "chained" => format!(
                "your existing hook was kept as {} and runs first; its failure stops the commit (restored by `orch hooks uninstall`)",
                a.chained.as_deref().unwrap_or("")
            ),
            "restored" => "your earlier hook is back in place".into(),
            "left" => "not orch's hook; left untouched".into(),
            "absent" => "was not installed; nothing to remove".into(),
            _ => match &a.chained {
                Some(c) => format!("chains {c}"),
                None => String::new(),
            },
        };
        out.say(&format!("  {:<11} {:<10} {note}", a.hook, a.action));
    }
    Ok(())
}

/// Hooks run where `.orchestration/` may not exist yet: then there is nothing to guard. They
/// never recover an interrupted transition: that would change files git is committing.
fn open_for_hook(cli: &Cli) -> Result<Option<Project>> {
    let git = orch::git::Repo::discover(&super::cwd(cli)?)?;
    if !git.workdir.join(orch::project::ORCH_DIR).is_dir() {
        return Ok(None);
    }
    Project::load_as_is(git).map(Some)
}

pub fn hook(cli: &Cli, out: &Out, name: &str, args: &[String]) -> Result<()> {
    let changed = run_hook(cli, name, args)?;
    // Hooks print nothing on success but what the user must know; `--json` still promises
    // one document on stdout.
    for l in changed.iter().flat_map(|c| &c.replaced) {
        out.warn(&orch::diagnostic::Diagnostic::warning(
            "trailer_removed",
            "commit message",
            format!(
                "orch commit-msg: removed the trailer \"{l}\": it disagrees with the task and phase this commit is made in"
            ),
            "nothing to do: the trailers orch added say where the commit belongs".into(),
        ));
    }
    if out.json {
        let mut doc = serde_json::json!({ "hook": name });
        if let Some(c) = &changed {
            doc["trailers_added"] = c.changed.into();
            doc["trailers_replaced"] = c.replaced.clone().into();
        }
        out.json_ok(&doc, &[]);
    }
    Ok(())
}

/// Runs one hook; for commit-msg, whether trailers were added to the message.
fn run_hook(cli: &Cli, name: &str, args: &[String]) -> Result<Option<hooks::CommitMsg>> {
    match name {
        "pre-commit" => {
            let Some(p) = open_for_hook(cli)? else {
                return Ok(None);
            };
            hooks::pre_commit(&p).map(|()| None)
        }
        "commit-msg" => {
            let Some(file) = args.first() else {
                return Err(
                    Error::usage("orch hook commit-msg needs the message file git passes")
                        .with_hint(
                            "run it as `orch hook commit-msg <file>`, as the installed hook does",
                        ),
                );
            };
            let Some(p) = open_for_hook(cli)? else {
                return Ok(Some(hooks::CommitMsg::default()));
            };
            hooks::commit_msg(&p, &super::cwd(cli)?.join(file)).map(Some)
        }
        "pre-push" => {
            let remote = args.first().map(String::as_str).unwrap_or("origin");
            let mut input = String::new();
            std::io::stdin().read_to_string(&mut input).map_err(|e| {
                Error::runtime(format!("cannot read the refs git sends on stdin: {e}"))
            })?;
            let Some(p) = open_for_hook(cli)? else {
                return Ok(None);
            };
            let r = hooks::pre_push(&p, remote, &input)?;
            if r.ok() {
                return Ok(None);
            }
            Err(Error::validation(format!("push to {remote} refused: {}", r.verdict()))
                .with_hint("fix the commits listed (see `orch verify`), or push with --no-verify to bypass")
                .with_diagnostics(r.violations.iter().map(|v| v.to_diagnostic()).collect()))
        }
        other => Err(Error::usage(format!("unknown hook {other:?}"))
            .with_hint("orch handles pre-commit, commit-msg and pre-push")),
    }
}

pub fn report(
    p: &Project,
    out: &Out,
    code: Option<&str>,
    format: &str,
    link_base: Option<&str>,
) -> Result<()> {
    let code = p.resolve_code(code)?;
    p.require_task(&code)?;
    let json = match format {
        "json" => true,
        "markdown" | "md" => out.json,
        f => {
            return Err(Error::usage(format!("unknown report format {f:?}"))
                .with_hint("use --format markdown or --format json"))
        }
    };
    let r = report::report(p, &code)?;
    if json {
        out.json_ok(&r, &[]);
    } else {
        let style = report::Style {
            link_base: link_base.map(str::to_string),
        };
        out.print(&report::markdown_with(&r, &style));
    }
    Ok(())
}
