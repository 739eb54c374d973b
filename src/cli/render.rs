//! The one place results become text: human output (colour only on a terminal) or one JSON
//! document; errors to stderr with their hint, exit code by kind.

use orch::diagnostic::{Diagnostic, Severity};
use orch::ops::next::NextStep;
use orch::ops::transition::Transition;
use orch::Error;
use serde::Serialize;
use serde_json::{Map, Value};
use std::io::{IsTerminal, Write};

/// ` (commit abc1234)` after a line that made a commit, nothing otherwise.
pub fn commit_note(commit: Option<&String>) -> String {
    commit
        .map(|c| format!(" (commit {})", &c[..c.len().min(7)]))
        .unwrap_or_default()
}

pub struct Out {
    pub json: bool,
    pub quiet: bool,
    color: bool,
    /// Every warning printed (or, with `--json` or `-q`, not printed) so far: the JSON
    /// document's `diagnostics` carry them all, so nothing said on stderr is missing there.
    said: std::cell::RefCell<Vec<Diagnostic>>,
}

#[derive(Clone, Copy)]
pub enum Tone {
    Bold,
    Good,
    Bad,
    Warn,
    Dim,
}

impl Out {
    pub fn new(json: bool, quiet: bool, no_color: bool) -> Out {
        let no_color_env = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Out {
            json,
            quiet,
            color: !no_color && !no_color_env && std::io::stdout().is_terminal(),
            said: Default::default(),
        }
    }

    pub fn paint(&self, tone: Tone, s: &str) -> String {
        if !self.color {
            return s.to_string();
        }
        let code = match tone {
            Tone::Bold => "1",
            Tone::Good => "32",
            Tone::Bad => "31",
            Tone::Warn => "33",
            Tone::Dim => "2",
        };
        format!("\x1b[{code}m{s}\x1b[0m")
    }

    /// Human text on stdout (suppressed by -q).
    pub fn say(&self, s: &str) {
        if self.quiet || self.json {
            return;
        }
        let mut o = std::io::stdout().lock();
        let _ = writeln!(o, "{s}");
    }

    /// What was asked for on stdout (a report, a document), even with -q. A reader that
    /// stopped reading (`| head`) is not an error.
    pub fn print(&self, s: &str) {
        let mut o = std::io::stdout().lock();
        let _ = o.write_all(s.as_bytes());
        let _ = o.flush();
    }

    /// `warnings` and every warning given to [`Out::warn`], each once, in order.
    fn diagnostics(&self, warnings: &[Diagnostic]) -> Vec<Diagnostic> {
        let mut all: Vec<Diagnostic> = warnings.to_vec();
        for d in self.said.borrow().iter() {
            if !all.contains(d) {
                all.push(d.clone());
            }
        }
        all
    }

    /// Like [`Out::json_ok`], on one line: for output an agent reads on every step.
    pub fn json_compact<T: Serialize>(&self, data: &T, warnings: &[Diagnostic]) {
        let warnings = &self.diagnostics(warnings)[..];
        #[derive(Serialize)]
        struct Doc<'a, T> {
            ok: bool,
            #[serde(flatten)]
            data: &'a T,
            diagnostics: &'a [Diagnostic],
        }
        let doc = Doc {
            ok: true,
            data,
            diagnostics: warnings,
        };
        let mut o = std::io::stdout().lock();
        let _ = serde_json::to_writer(&mut o, &doc);
        let _ = writeln!(o);
    }

    /// The JSON result: `ok`, then the data's fields, then `diagnostics` (`warnings` and
    /// those given to [`Out::warn`]).
    pub fn json_ok<T: Serialize>(&self, data: &T, warnings: &[Diagnostic]) {
        let warnings = &self.diagnostics(warnings)[..];
        #[derive(Serialize)]
        struct Doc<'a, T> {
            ok: bool,
            #[serde(flatten)]
            data: &'a T,
            diagnostics: &'a [Diagnostic],
        }
        let doc = Doc {
            ok: true,
            data,
            diagnostics: warnings,
        };
        // Straight to stdout: large listings never exist twice in memory.
        let mut o = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
        let _ = serde_json::to_writer_pretty(&mut o, &doc);
        let _ = writeln!(o);
        let _ = o.flush();
    }

    /// A warning: on stderr in human mode, in the JSON document's `diagnostics` with
    /// `--json`. The one way a command warns.
    pub fn warn(&self, d: &Diagnostic) {
        if !self.json && !self.quiet {
            eprintln!("{} {}", self.paint(Tone::Warn, "warning:"), d.message);
        }
        let mut said = self.said.borrow_mut();
        if !said.contains(d) {
            said.push(d.clone());
        }
    }

    pub fn warnings(&self, w: &[Diagnostic]) {
        for d in w {
            self.warn(d);
        }
    }

    pub fn error(&self, e: &Error) -> i32 {
        if self.json {
            let mut m = Map::new();
            m.insert("ok".into(), Value::Bool(false));
            m.insert(
                "error".into(),
                serde_json::json!({
                    "kind": e.kind.as_str(),
                    "exit_code": e.exit_code(),
                    "message": e.message,
                    "hint": e.hint,
                }),
            );
            m.insert(
                "diagnostics".into(),
                serde_json::to_value(self.diagnostics(&e.diagnostics)).unwrap_or_default(),
            );
            let text = serde_json::to_string_pretty(&Value::Object(m)).unwrap_or_default();
            self.print(&format!("{text}\n"));
        }
        let color = !self.json && self.color && std::io::stderr().is_terminal();
        let paint = |t: Tone, s: &str| {
            if color {
                self.paint(t, s)
            } else {
                s.to_string()
            }
        };
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{} {}", paint(Tone::Bad, "error:"), e.message);
        for d in &e.diagnostics {
            let mark = match d.severity {
                Severity::Error => paint(Tone::Bad, "✗"),
                Severity::Warning => paint(Tone::Warn, "!"),
            };
            let _ = writeln!(err, "  {mark} {}", d.message);
            let fix = d.fix.replace('\n', "\n         ");
            let _ = writeln!(err, "    {}", paint(Tone::Dim, &format!("fix: {fix}")));
        }
        if let Some(h) = &e.hint {
            let _ = writeln!(err, "{} {h}", paint(Tone::Dim, "hint:"));
        }
        e.exit_code()
    }

    pub fn rule(&self, c: char) -> String {
        c.to_string().repeat(64)
    }

    /// The next-step box: phase, goal, artifacts, instructions, command, next phase.
    pub fn next_step(&self, n: &NextStep) -> String {
        let mut s = String::new();
        let heavy = self.rule('═');
        let light = self.rule('─');
        s.push_str(&heavy);
        s.push('\n');
        s.push_str(&self.paint(
            Tone::Bold,
            &format!(" PHASE: {}   ({} · {})", n.phase_title, n.task, n.title),
        ));
        s.push('\n');
        s.push_str(&heavy);
        s.push_str(&format!("\n\nGoal: {}\n", n.goal));
        if !n.artifacts.is_empty() {
            s.push_str("\nArtifacts:\n");
            for a in &n.artifacts {
                let mark = if a.present {
                    self.paint(Tone::Good, "✓")
                } else if a.required {
                    self.paint(Tone::Bad, "✗")
                } else {
                    self.paint(Tone::Dim, "·")
                };
                let kind = if a.required { "required" } else { "optional" };
                let state = if a.present { "present" } else { "missing" };
                s.push_str(&format!("  {mark} {}  ({kind}, {state})\n", a.path));
            }
        }
        s.push_str(&format!("\n{light}\nNext steps\n{light}\n"));
        s.push_str(&n.instructions);
        s.push_str("\n\n");
        if !n.active && n.session_key.is_some() {
            s.push_str(&format!(
                "{} done: {}\n",
                self.paint(Tone::Good, "✓"),
                self.paint(Tone::Bold, &n.command)
            ));
        } else if !n.active {
            s.push_str(&format!(
                "{} no active session: {}\n",
                self.paint(Tone::Warn, "!"),
                self.paint(Tone::Bold, &n.command)
            ));
        } else if n.ready {
            s.push_str(&format!(
                "When ready: {}\n",
                self.paint(Tone::Bold, &n.command)
            ));
        } else {
            s.push_str(&format!(
                "Not ready yet: {} would refuse because\n",
                n.complete_command
            ));
            for d in &n.blockers {
                let first = d.message.lines().next().unwrap_or("");
                s.push_str(&format!("  {} {first}\n", self.paint(Tone::Bad, "✗")));
                s.push_str(&format!(
                    "    {}\n",
                    self.paint(Tone::Dim, &format!("fix: {}", d.fix))
                ));
            }
            if !n.command.is_empty() {
                s.push_str(&format!("Next: {}\n", self.paint(Tone::Bold, &n.command)));
            }
            s.push_str(&format!("When ready: {}\n", n.complete_command));
        }
        match &n.next_phase {
            _ if !n.active && n.session_key.is_some() => {}
            Some(p) => s.push_str(&format!("Next phase: {p}\n")),
            None => s.push_str("This is the last phase.\n"),
        }
        s
    }

    pub fn transition(&self, t: &Transition) {
        self.transition_with(t, true)
    }

    /// `full`: print the next-step box; otherwise one line naming the next phase's goal.
    pub fn transition_with(&self, t: &Transition, full: bool) {
        if self.json {
            self.json_ok(t, &t.warnings);
            return;
        }
        self.warnings(&t.warnings);
        let commit = commit_note(t.commit.as_ref());
        let line = match t.kind.as_str() {
            "start" => format!(
                "Session {} started in {}{commit}",
                t.session_key,
                t.to.clone().unwrap_or_default()
            ),
            "continue" => format!(
                "Continuing session {} in {}",
                t.session_key,
                t.to.clone().unwrap_or_default()
            ),
            "end" => format!(
                "Session {} ended{commit}; {} is done (report: orch report {}; open tasks: orch next)",
                t.session_key, t.task, t.task
            ),
            "reopen" => format!(
                "Reopened {}: {} → {}{commit}",
                t.task,
                t.from.clone().unwrap_or_default(),
                t.to.clone().unwrap_or_default()
            ),
            _ => format!(
                "Phase {} completed: {} → {}{commit}",
                t.from.clone().unwrap_or_default(),
                t.from.clone().unwrap_or_default(),
                t.to.clone().unwrap_or_default()
            ),
        };
        self.say(&format!("{} {line}", self.paint(Tone::Good, "✓")));
        if let Some(o) = &t.override_ {
            self.say(&format!(
                "{} override recorded: {} (passed: {})",
                self.paint(Tone::Warn, "!"),
                o.reason,
                o.checks.join("; ")
            ));
        }
        for f in &t.scaffolded {
            self.say(&format!("  scaffolded {f}"));
        }
        match &t.next {
            Some(n) if full => {
                self.say("");
                self.say(&self.next_step(n));
            }
            Some(n) => self.say(&format!("  now in {}: {}", n.phase_title, n.goal)),
            None => {}
        }
    }
}
