//! `orch status`.

use super::args::Cli;
use super::render::Out;
use orch::code::TaskCode;
use orch::ops;
use orch::Result;

pub fn status(cli: &Cli, out: &Out, code: Option<&str>, all: bool) -> Result<()> {
    let p = super::open(cli)?;
    let warnings = ops::warnings(&p);
    out.warnings(&warnings);
    if !out.json && !out.quiet {
        for w in &warnings {
            eprintln!("  fix: {}", w.fix);
        }
    }
    let code = match (code, all) {
        (Some(c), _) => Some(TaskCode::parse(c)?),
        (None, false) => p.current_task()?.filter(|c| p.task_exists(c)),
        (None, true) => None,
    };
    match code {
        Some(c) => {
            let n = ops::status::one(&p, &c)?;
            let mine = ops::status::warnings(&p, &c)?;
            out.warnings(&mine);
            if out.json {
                let all: Vec<_> = warnings.into_iter().chain(mine).collect();
                out.json_ok(&n, &all);
            } else {
                out.say(&out.next_step(&n));
            }
        }
        None => {
            let s = ops::status::all(&p)?;
            if out.json {
                out.json_ok(&s, &warnings);
            } else {
                super::cmd_task::table(out, &s.tasks, s.current_task.as_deref());
            }
        }
    }
    Ok(())
}
