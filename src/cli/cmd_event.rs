//! `orch events` and `orch event add`.

use super::args::Cli;
use super::render::{self, Out, Tone};
use orch::code::TaskCode;
use orch::ops;
use orch::{Error, Result};

pub fn events(
    cli: &Cli,
    out: &Out,
    code: Option<&str>,
    type_: Option<&str>,
    all: bool,
) -> Result<()> {
    let p = super::open(cli)?;
    let code = p.resolve_code(code)?;
    let evs = ops::event::list(&p, &code, type_, all)?;
    if out.json {
        out.json_ok(
            &serde_json::json!({ "task": code.as_str(), "events": evs }),
            &[],
        );
    } else if evs.is_empty() {
        match type_ {
            Some(t) => out.say(&format!(
                "{code} has no events of type {t}; `orch events {code}` shows them all"
            )),
            None if !all && ops::event::compacted(&p, &code) => out.say(&format!(
                "{code}'s event log was compacted into POSTOP.md; `orch events {code} --all` reads it back"
            )),
            None => out.say(&format!("{code} has no events yet")),
        }
    } else {
        for e in &evs {
            let payload =
                if e.payload.as_object().is_some_and(|o| o.is_empty()) || e.payload.is_null() {
                    String::new()
                } else {
                    format!("  {}", e.payload)
                };
            out.say(&format!(
                "{}  {}{}",
                out.paint(Tone::Dim, &e.ts),
                e.type_,
                out.paint(Tone::Dim, &payload)
            ));
        }
    }
    Ok(())
}

pub fn add(cli: &Cli, out: &Out, args: &[String], data: Option<&str>, commit: bool) -> Result<()> {
    let p = super::open(cli)?;
    let (code, ty) = super::code_and(args);
    // Event types always have a dot (`research.finding`, `custom.note`); a lone task code
    // means the type was left out.
    if code.is_none() && !ty.contains('.') {
        if let Ok(c) = TaskCode::parse(ty) {
            if p.task_exists(&c) {
                return Err(Error::usage(format!("event add {c}: the event TYPE is missing"))
                    .with_hint(format!("run `orch event add {c} <type>`, e.g. `orch event add {c} custom.note --data '{{\"text\":\"...\"}}'`")));
            }
        }
    }
    let code = p.resolve_code(code)?;
    let r = ops::event::add(&p, &code, ty, data, commit)?;
    if out.json {
        out.json_ok(&r, &[]);
    } else {
        let note = match &r.commit {
            Some(_) => render::commit_note(r.commit.as_ref()),
            None => " (travels with the task's next commit)".into(),
        };
        out.say(&format!(
            "{} {} added to {code}{note}",
            out.paint(Tone::Good, "✓"),
            r.event.type_
        ));
    }
    Ok(())
}
