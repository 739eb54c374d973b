//! `[checks]` in config.toml: named commands orch runs itself (`orch check`), and the rule that
//! a phase's required checks have passed on the current HEAD with a clean worktree.
//!
//! A command is an argv: a string is split the way a POSIX shell splits words, a list is taken
//! as it is. No shell runs unless the command names one (`sh -c "..."`), so quoting in the
//! config means what it looks like and nothing is expanded.

use crate::diagnostic::Diagnostic;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Event type prefix of a recorded run: `orchestration.check.<name>`.
pub const EVENT_PREFIX: &str = "orchestration.check.";
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 600;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// As written in config.toml, for messages (`python3 -m unittest`).
    pub display: String,
    pub argv: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checks {
    pub commands: BTreeMap<String, Command>,
    /// `phase complete` runs the phase's required checks itself instead of asking for a run.
    pub run_on_complete: bool,
    pub timeout_seconds: u64,
}

impl Default for Checks {
    fn default() -> Self {
        Checks {
            commands: BTreeMap::new(),
            run_on_complete: false,
            timeout_seconds: DEFAULT_TIMEOUT_SECONDS,
        }
    }
}

pub use crate::workflow::valid_check_name as valid_name;

/// The argv of a command string, split like a shell splits words (quotes and backslashes,
/// no expansion).
pub fn split_command(s: &str) -> Result<Vec<String>, String> {
    let argv = shlex::split(s).ok_or_else(|| {
        "has an unclosed quote or a trailing backslash; quote it as a shell would".to_string()
    })?;
    if argv.is_empty() {
        return Err("is empty; give the command to run, e.g. \"python3 -m unittest\"".into());
    }
    Ok(argv)
}

impl Checks {
    fn from_table(t: BTreeMap<String, toml::Value>) -> Result<Checks, String> {
        let mut out = Checks::default();
        for (key, value) in t {
            match (key.as_str(), value) {
                ("run_on_complete", toml::Value::Boolean(b)) => out.run_on_complete = b,
                ("run_on_complete", _) => return Err("[checks] run_on_complete must be true or false".into()),
                ("timeout_seconds", toml::Value::Integer(n)) if n > 0 => {
                    out.timeout_seconds = n as u64
                }
                ("timeout_seconds", _) => {
                    return Err("[checks] timeout_seconds must be a whole number of seconds above 0".into())
                }
                (name, _) if !valid_name(name) => {
                    return Err(format!(
                        "[checks] {name:?} is not a usable check name: use letters, digits, '_' and '-'"
                    ))
                }
                (name, toml::Value::String(s)) => {
                    let argv = split_command(&s).map_err(|why| format!("[checks] {name} {why}"))?;
                    out.commands.insert(
                        name.to_string(),
                        Command {
                            display: s.trim().to_string(),
                            argv,
                        },
                    );
                }
                (name, toml::Value::Array(items)) => {
                    let argv: Option<Vec<String>> = items
                        .iter()
                        .map(|v| v.as_str().map(str::to_string))
                        .collect();
                    let argv = argv
                        .filter(|a| !a.is_empty())
                        .ok_or_else(|| format!("[checks] {name} must be a non-empty list of strings"))?;
                    let display = shlex::try_join(argv.iter().map(String::as_str))
                        .unwrap_or_else(|_| argv.join(" "));
                    out.commands
                        .insert(name.to_string(), Command { display, argv });
                }
                (name, _) => {
                    return Err(format!(
                        "[checks] {name} must be a command string, e.g. {name} = \"python3 -m unittest\""
                    ))
                }
            }
        }
        Ok(out)
    }

    pub fn get(&self, name: &str) -> Option<&Command> {
        self.commands.get(name)
    }

    pub fn names(&self) -> Vec<&str> {
        self.commands.keys().map(String::as_str).collect()
    }
}

impl<'de> Deserialize<'de> for Checks {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let t = BTreeMap::<String, toml::Value>::deserialize(d)?;
        Checks::from_table(t).map_err(D::Error::custom)
    }
}

impl Serialize for Checks {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = serde_json::Map::new();
        for (name, c) in &self.commands {
            m.insert(name.clone(), Value::String(c.display.clone()));
        }
        m.insert("run_on_complete".into(), self.run_on_complete.into());
        m.insert("timeout_seconds".into(), self.timeout_seconds.into());
        m.serialize(s)
    }
}

/// One recorded run of a check, as its `orchestration.check.<name>` event carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Run {
    pub check: String,
    pub command: String,
    /// `None` when the process was killed (timeout, signal) or could not start.
    pub exit_code: Option<i32>,
    pub passed: bool,
    #[serde(default)]
    pub timed_out: bool,
    pub duration_ms: u64,
    /// The commit HEAD pointed at when the run started (`None` on an unborn branch).
    pub commit: Option<String>,
    /// Whether tracked files outside `.orchestration/` matched HEAD when the run started.
    pub clean: bool,
    /// The last lines of output, bounded.
    pub tail: String,
    /// Where the full output was written: the full path in `orch check`'s answer, the path
    /// inside the git dir (`orchestration/checks/…`) in the recorded event. The log itself is
    /// never committed.
    #[serde(default)]
    pub log: Option<String>,
}

impl Run {
    pub fn event_type(&self) -> String {
        format!("{EVENT_PREFIX}{}", self.check)
    }

    pub fn payload(&self) -> Value {
        serde_json::to_value(self).unwrap_or_else(|_| json!({}))
    }

    /// The run an event records, if it is a check event with a readable payload.
    pub fn from_event(type_: &str, payload: &Value) -> Option<Run> {
        let name = type_.strip_prefix(EVENT_PREFIX)?;
        let run: Run = serde_json::from_value(payload.clone()).ok()?;
        (run.check == name).then_some(run)
    }

    fn short_commit(&self) -> String {
        short(self.commit.as_deref())
    }
}

fn short(c: Option<&str>) -> String {
    match c {
        Some(c) => c.get(..7).unwrap_or(c).to_string(),
        None => "(no commit)".into(),
    }
}

/// The last `max_lines` lines of `output`, at most `max_bytes` long (cut at a line start
/// where it can be, else at a character boundary).
pub fn tail(output: &str, max_lines: usize, max_bytes: usize) -> String {
    let lines: Vec<&str> = output.trim_end().lines().collect();
    let t = lines[lines.len().saturating_sub(max_lines)..].join("\n");
    if t.len() <= max_bytes {
        return t;
    }
    let mut cut = t.len() - max_bytes;
    while !t.is_char_boundary(cut) {
        cut += 1;
    }
    let rest = &t[cut..];
    // Start at a whole line when the cut fell inside one and a later line fits.
    if t.as_bytes()[cut - 1] != b'\n' {
        if let Some(nl) = rest.find('\n') {
            return rest[nl + 1..].to_string();
        }
    }
    rest.to_string()
}

/// How to rerun `name`, as printed in a fix (in backticks, so it reads as the command).
pub fn rerun(name: &str) -> String {
    format!("`orch check {name}`")
}

/// Judges the phase's required checks against the recorded runs (oldest first): each needs a
/// passing run, with a clean worktree and the configured command, on a commit whose code is
/// HEAD's. `same_code` says whether a run's commit has HEAD's tree outside `.orchestration/`,
/// so the commits orch itself makes after a run do not make it stale. A required check the
/// config does not define is skipped: the phase's instructions say how to add it.
pub fn judge(
    required: &[String],
    checks: &Checks,
    runs: &[Run],
    head: Option<&str>,
    same_code: &dyn Fn(Option<&str>) -> bool,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for name in required {
        let Some(cmd) = checks.get(name) else {
            continue;
        };
        let target = format!("check:{name}");
        let mut mine = runs.iter().filter(|r| &r.check == name);
        let current = mine
            .clone()
            .rfind(|r| r.command == cmd.display && same_code(r.commit.as_deref()));
        let Some(run) = current else {
            let message = match mine.next_back() {
                Some(r) if r.command != cmd.display => format!(
                    "the {name} check last ran `{}`, but the configured command is now `{}`",
                    r.command, cmd.display
                ),
                Some(r) => format!(
                    "the {name} check last ran on {}, and the code changed since (HEAD is {})",
                    r.short_commit(),
                    short(head)
                ),
                None => format!(
                    "the {name} check ({}) has not run on HEAD {}",
                    cmd.display,
                    short(head)
                ),
            };
            out.push(Diagnostic::error(
                "check_not_run",
                &target,
                message,
                format!("run it: {}", rerun(name)),
            ));
            continue;
        };
        if !run.passed {
            out.push(failed(name, run, head));
        } else if !run.clean {
            out.push(Diagnostic::error(
                "check_not_run",
                &target,
                format!(
                    "the {name} check passed on {}, but with uncommitted changes in the worktree, so it did not test a commit",
                    run.short_commit()
                ),
                format!(
                    "commit, restore, or remove the changes and untracked files (git status lists them; output a check writes belongs in .gitignore), then run {}",
                    rerun(name)
                ),
            ));
        }
    }
    out
}

/// `check_failed`, with the tail of the output and the command to rerun.
pub fn failed(name: &str, run: &Run, head: Option<&str>) -> Diagnostic {
    let how = if run.timed_out {
        "timed out".to_string()
    } else {
        match run.exit_code {
            Some(c) => format!("exited with {c}"),
            None => "was killed or could not start".to_string(),
        }
    };
    // The first line says what failed; the output's last lines follow, indented.
    let tail: String = run.tail.lines().map(|l| format!("\n    | {l}")).collect();
    let at = if run.commit.as_deref() == head {
        run.short_commit()
    } else {
        format!("{} (HEAD {})", run.short_commit(), short(head))
    };
    Diagnostic::error(
        "check_failed",
        &format!("check:{name}"),
        format!("the {name} check ({}) {how} on {at}{tail}", run.command),
        format!("make it pass, commit, and rerun it: {}", rerun(name)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(toml_text: &str) -> Result<Checks, String> {
        #[derive(Deserialize)]
        struct W {
            checks: Checks,
        }
        toml::from_str::<W>(toml_text)
            .map(|w| w.checks)
            .map_err(|e| e.to_string())
    }

    fn run(check: &str, commit: &str, passed: bool, clean: bool) -> Run {
        Run {
            check: check.into(),
            command: "python3 -m unittest".into(),
            exit_code: Some(if passed { 0 } else { 1 }),
            passed,
            timed_out: false,
            duration_ms: 5,
            commit: Some(commit.into()),
            clean,
            tail: "FAILED (failures=1)".into(),
            log: None,
        }
    }

    #[test]
    fn commands_split_like_a_shell() {
        let c = parse(
            "[checks]\ntests = \"python3 -m unittest -k 'a b'\"\nlint = [\"ruff\", \"check\", \".\"]\nsh = \"sh -c 'make && make test'\"\nrun_on_complete = true\ntimeout_seconds = 30\n",
        )
        .unwrap();
        assert_eq!(
            c.get("tests").unwrap().argv,
            ["python3", "-m", "unittest", "-k", "a b"]
        );
        assert_eq!(c.get("lint").unwrap().argv, ["ruff", "check", "."]);
        assert_eq!(c.get("lint").unwrap().display, "ruff check .");
        assert_eq!(c.get("sh").unwrap().argv, ["sh", "-c", "make && make test"]);
        assert!(c.run_on_complete);
        assert_eq!(c.timeout_seconds, 30);
        assert_eq!(c.names(), ["lint", "sh", "tests"]);
        // Nothing is expanded: no shell sees the value.
        assert_eq!(
            split_command("echo $HOME *.py ~").unwrap(),
            ["echo", "$HOME", "*.py", "~"]
        );
    }

    #[test]
    fn bad_values_are_named() {
        for (text, want) in [
            (
                "[checks]\ntests = \"python3 'oops\"\n",
                "tests has an unclosed quote",
            ),
            ("[checks]\ntests = \"  \"\n", "tests is empty"),
            ("[checks]\ntests = 3\n", "tests must be a command string"),
            ("[checks]\ntests = []\n", "non-empty list"),
            ("[checks]\n\"a b\" = \"x\"\n", "not a usable check name"),
            ("[checks]\nrun_on_complete = \"yes\"\n", "true or false"),
            ("[checks]\ntimeout_seconds = 0\n", "above 0"),
        ] {
            let e = parse(text).unwrap_err();
            assert!(e.contains(want), "{text:?}: {e}");
        }
        assert_eq!(parse("[checks]\n").unwrap(), Checks::default());
    }

    #[test]
    fn runs_round_trip_through_events() {
        let r = run("tests", "abc1234def", false, true);
        assert_eq!(
            Run::from_event(&r.event_type(), &r.payload()),
            Some(r.clone())
        );
        assert_eq!(
            Run::from_event("orchestration.check.lint", &r.payload()),
            None
        );
        assert_eq!(Run::from_event("custom.x", &r.payload()), None);
    }

    #[test]
    fn tail_is_bounded() {
        let out: String = (1..=50).map(|i| format!("line {i}\n")).collect();
        assert_eq!(tail(&out, 3, 1000), "line 48\nline 49\nline 50");
        assert_eq!(tail("one\ntwo\n", 10, 1000), "one\ntwo");
        assert_eq!(tail(&out, 50, 16), "line 49\nline 50");
        assert_eq!(tail(&out, 50, 10), "line 50");
        assert_eq!(tail(&"é".repeat(100), 5, 9).chars().count(), 4);
    }

    #[test]
    fn required_checks_need_a_clean_pass_on_head() {
        let checks = parse("[checks]\ntests = \"python3 -m unittest\"\n").unwrap();
        let req = vec!["tests".to_string()];
        // h1 and h1b hold the same code (h1b only added orch's files).
        let same = |c: Option<&str>| matches!(c, Some("h1" | "h1b"));
        let codes = |runs: &[Run]| -> Vec<String> {
            judge(&req, &checks, runs, Some("h1b"), &same)
                .into_iter()
                .map(|d| format!("{:?}:{}", d.severity, d.code))
                .collect()
        };
        assert_eq!(codes(&[]), ["Error:check_not_run"]);
        assert_eq!(
            codes(&[run("tests", "h0", true, true)]),
            ["Error:check_not_run"]
        );
        assert_eq!(
            codes(&[run("tests", "h1", false, true)]),
            ["Error:check_failed"]
        );
        assert_eq!(
            codes(&[run("tests", "h1", true, false)]),
            ["Error:check_not_run"]
        );
        assert!(codes(&[run("tests", "h1", true, true)]).is_empty());
        assert!(codes(&[run("tests", "h1b", true, true)]).is_empty());
        // The latest run on the code decides.
        assert_eq!(
            codes(&[
                run("tests", "h1", true, true),
                run("tests", "h1b", false, true)
            ]),
            ["Error:check_failed"]
        );
        assert!(codes(&[
            run("tests", "h1", false, true),
            run("tests", "h1", true, true)
        ])
        .is_empty());
        // A run of another command does not count for the one configured now.
        let mut old = run("tests", "h1", true, true);
        old.command = "make test".into();
        let d = judge(&req, &checks, &[old], Some("h1b"), &same);
        assert_eq!(d[0].code, "check_not_run");
        assert!(d[0].message.contains("`make test`"), "{}", d[0].message);
        let stale = judge(
            &req,
            &checks,
            &[run("tests", "h0", true, true)],
            Some("h1b"),
            &same,
        );
        assert!(
            stale[0].message.contains("code changed since"),
            "{}",
            stale[0].message
        );
        let failed = judge(
            &req,
            &checks,
            &[run("tests", "h1", false, true)],
            Some("h1b"),
            &same,
        );
        assert!(
            failed[0].message.contains("FAILED (failures=1)"),
            "{}",
            failed[0].message
        );
        assert!(
            failed[0].message.contains("exited with 1"),
            "{}",
            failed[0].message
        );
        assert!(failed[0].fix.contains("orch check tests"));
        // Unconfigured checks are skipped.
        assert!(judge(&["lint".into()], &checks, &[], Some("h1"), &same).is_empty());
    }
}
