//! `orch check`, and the live view of a running check that `phase complete` shares.

use super::args::Cli;
use super::render::{Out, Tone};
use orch::code::TaskCode;
use orch::gates::checks::Run;
use orch::ops::check::Progress;
use orch::Result;
use std::io::{IsTerminal, Write};
use std::time::Duration;

pub fn check(
    cli: &Cli,
    out: &Out,
    names: &[String],
    task: Option<&str>,
    timeout: Option<u64>,
) -> Result<()> {
    let p = super::open(cli)?;
    let code = match task {
        Some(c) => Some(TaskCode::parse(c)?),
        None => p.current_task()?.filter(|c| p.task_exists(c)),
    };
    let mut view = Live::new(out);
    let report =
        orch::ops::check::check(&p, names, code.as_ref(), timeout, &mut |ev| view.show(ev))?;
    view.done();
    let failure = orch::ops::check::failure(&p, &report)?;
    if !out.json {
        for r in &report.runs {
            out.say(&summary(out, r));
        }
        match &report.task {
            Some(t) => out.say(&format!(
                "  recorded for {t} (orch events {t} --type check; full output in the git dir)"
            )),
            None => out.say(
                "  not recorded: no current task (pass --task CODE, or start a session first)",
            ),
        }
    }
    match failure {
        None => {
            if out.json {
                out.json_ok(&report, &[]);
            }
            Ok(())
        }
        Some(e) => Err(e),
    }
}

/// `✓ tests passed in 1.2 s (python3 -m unittest)`.
fn summary(out: &Out, r: &Run) -> String {
    let secs = r.duration_ms as f64 / 1000.0;
    let clean = if r.clean {
        ""
    } else {
        " — uncommitted changes or untracked files in the worktree, so it does not count for a phase"
    };
    if r.passed {
        format!(
            "{} {} passed in {secs:.1} s ({}){clean}",
            out.paint(Tone::Good, "✓"),
            r.check,
            r.command
        )
    } else {
        let how = if r.timed_out {
            "timed out".to_string()
        } else {
            match r.exit_code {
                Some(c) => format!("failed with exit code {c}"),
                None => "was killed or could not start".into(),
            }
        };
        format!(
            "{} {} {how} after {secs:.1} s ({}){clean}",
            out.paint(Tone::Bad, "✗"),
            r.check,
            r.command
        )
    }
}

/// Streams a check's output to stderr as it comes; on a terminal a status line under it
/// shows the elapsed time.
pub struct Live {
    quiet: bool,
    tty: bool,
    status: Option<String>,
    frame: usize,
}

impl Live {
    pub fn new(out: &Out) -> Live {
        Live {
            quiet: out.quiet,
            tty: std::io::stderr().is_terminal(),
            status: None,
            frame: 0,
        }
    }

    fn clear(&mut self, err: &mut impl Write) {
        if self.tty && self.status.take().is_some() {
            let _ = write!(err, "\r\x1b[2K");
        }
    }

    fn draw(&mut self, err: &mut impl Write, check: &str, elapsed: Duration) {
        const FRAMES: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
        self.frame = (self.frame + 1) % FRAMES.len();
        let line = format!(
            "{} {check}  {:.1} s",
            FRAMES[self.frame],
            elapsed.as_secs_f64()
        );
        let _ = write!(err, "\r\x1b[2K{line}");
        self.status = Some(line);
    }

    pub fn show(&mut self, ev: Progress) {
        if self.quiet {
            return;
        }
        let mut err = std::io::stderr().lock();
        match ev {
            Progress::Started { check, command } => {
                self.clear(&mut err);
                let _ = writeln!(err, "▶ {check}: {command}");
            }
            Progress::Line { check, line } => {
                self.clear(&mut err);
                let _ = writeln!(err, "  {line}");
                if self.tty {
                    let _ = check;
                }
            }
            Progress::Tick { check, elapsed } if self.tty => self.draw(&mut err, check, elapsed),
            Progress::Tick { .. } => {}
            Progress::Finished { .. } => self.clear(&mut err),
        }
        let _ = err.flush();
    }

    pub fn done(&mut self) {
        let mut err = std::io::stderr().lock();
        self.clear(&mut err);
    }
}
