//! `.orchestration/config.toml`: options with defaults; unknown keys are errors.

use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub workflow: WorkflowOptions,
    pub git: GitOptions,
    pub hooks: HookOptions,
    pub checks: crate::gates::checks::Checks,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkflowOptions {
    pub allow_phase_skip: bool,
    pub allow_user_override: bool,
    pub require_artifact_validation: bool,
    pub sync_files_on_phase_complete: bool,
    pub sync_files_on_close: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GitOptions {
    pub commit: bool,
    /// The branch `session start --branch` creates: `{code}`, `{slug}` (from the title) and
    /// `{user}` (from the git identity) are filled in.
    pub branch_template: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HookOptions {
    pub code_allowed_from: String,
}

impl Default for WorkflowOptions {
    fn default() -> Self {
        WorkflowOptions {
            allow_phase_skip: false,
            allow_user_override: true,
            require_artifact_validation: true,
            sync_files_on_phase_complete: false,
            sync_files_on_close: true,
        }
    }
}

impl Default for GitOptions {
    fn default() -> Self {
        GitOptions {
            commit: true,
            branch_template: "task/{code}".into(),
        }
    }
}

impl Default for HookOptions {
    fn default() -> Self {
        HookOptions {
            code_allowed_from: "execute".into(),
        }
    }
}

/// The file `orch init` writes: every option with its default, commented.
pub const DEFAULT_CONFIG_TOML: &str = r#"# orch options. Delete a line to get its default.

[workflow]
allow_phase_skip = false              # complete more than one phase at once only with --override
allow_user_override = true            # `--override --reason` may pass a failing validation
require_artifact_validation = true    # false: failed checks become warnings
sync_files_on_phase_complete = false  # scaffold the next phase's artifacts from templates
sync_files_on_close = true            # at session end, regenerate derived files (CHANGES.md)

[git]
commit = true                         # each transition is a commit; false: write files only
# branch_template = "task/{code}"     # session start --branch; also {slug} (title), {user}

[hooks]
code_allowed_from = "execute"         # pre-commit refuses code changes of a current task before this phase

[checks]
# Named commands `orch check NAME` runs, split into words like a shell does (no shell runs
# unless you write one, e.g. "sh -c '...'"). Phases that require a check (execute and review
# require `tests`) need a passing run on the current commit. Only the committed file counts.
# tests = "python3 -m unittest"
# lint = "ruff check ."
run_on_complete = false               # phase complete runs the phase's required checks itself
timeout_seconds = 600                 # a check still running after this is stopped and fails
"#;

impl Config {
    pub fn parse(text: &str, path: &Path) -> Result<Config> {
        let c: Config = toml::from_str(text).map_err(|e| {
            let msg = e.message().trim().to_string();
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            let at = match line {
                Some(l) => format!("{}:{l}", path.display()),
                None => path.display().to_string(),
            };
            Error::usage(format!("{at}: {msg}"))
                .with_hint("fix or remove that key; `orch init` documents every option")
        })?;
        // A template that cannot make a branch name is refused when it is read, not when a
        // session is about to start.
        c.git
            .branch_name("TSK-1", "title", "user")
            .map_err(|e| Error::usage(format!("{}: {}", path.display(), e.message)))?;
        Ok(c)
    }

    pub fn load(path: &Path) -> Result<Config> {
        Ok(Config::load_with_text(path)?.0)
    }

    /// The options and the file's text (`None` when there is no file).
    pub fn load_with_text(path: &Path) -> Result<(Config, Option<String>)> {
        match std::fs::read_to_string(path) {
            Ok(text) => Ok((Config::parse(&text, path)?, Some(text))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok((Config::default(), None)),
            Err(e) => Err(Error::io(path, e)),
        }
    }
}

impl GitOptions {
    /// `branch_template` filled in, refused unless git accepts the result as a branch name.
    pub fn branch_name(&self, code: &str, slug: &str, user: &str) -> Result<String> {
        let t = &self.branch_template;
        let bad = |why: String| {
            Error::usage(format!("git.branch_template = {t:?} {why}")).with_hint(
                "use {code}, {slug} and {user} with letters, digits and - _ . /, e.g. \"{user}/{code}-{slug}\"",
            )
        };
        let mut out = String::new();
        let mut rest = t.as_str();
        while let Some(i) = rest.find(['{', '}']) {
            out.push_str(&rest[..i]);
            let after = &rest[i..];
            let Some(end) = after.find('}').filter(|_| after.starts_with('{')) else {
                return Err(bad("has an unmatched brace".into()));
            };
            out.push_str(match &after[1..end] {
                "code" => code,
                "slug" => slug,
                "user" => user,
                other => return Err(bad(format!("names an unknown placeholder {{{other}}}"))),
            });
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        if out.is_empty() || out.starts_with('-') || out == "HEAD" {
            return Err(bad(format!(
                "makes {out:?}, which git refuses as a branch name"
            )));
        }
        gix::refs::FullName::try_from(format!("refs/heads/{out}")).map_err(|e| {
            bad(format!(
                "makes {out:?}, which is not a valid branch name: {e}"
            ))
        })?;
        Ok(out)
    }
}

/// `text` as a branch-name part: lowercase letters and digits, other runs as one `-`, at most
/// `max` characters.
pub fn slug(text: &str, max: usize) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
        if out.len() >= max {
            break;
        }
    }
    out.trim_end_matches('-').to_string()
}

/// Options whose value is the name of a phase, as `table.key`.
pub const PHASE_OPTIONS: [&str; 1] = ["hooks.code_allowed_from"];

/// Refuses a phase-naming option the file sets to a phase the workflow does not define: an
/// unknown phase would silently switch its rule off. Defaults are not checked (even spelled
/// out, as `orch init` writes them), so a workflow without an `execute` phase keeps working.
pub fn check_phase_names(text: &str, path: &Path, phases: &[&str]) -> Result<()> {
    let Ok(doc) = text.parse::<toml::Table>() else {
        return Ok(());
    };
    for key in PHASE_OPTIONS {
        let (table, name) = key.split_once('.').unwrap_or(("", key));
        let value = doc
            .get(table)
            .and_then(|t| t.get(name))
            .and_then(|v| v.as_str());
        // The file `orch init` writes spells out the default; a workflow without that
        // phase simply has no code gate, as without the line.
        let default = key == "hooks.code_allowed_from"
            && value == Some(HookOptions::default().code_allowed_from.as_str());
        if let Some(v) = value.filter(|v| !phases.contains(v) && !default) {
            return Err(Error::usage(format!(
                "{}: {key} = {v:?} names no phase of the workflow (phases: {})",
                path.display(),
                phases.join(", ")
            ))
            .with_hint(format!(
                "set {name} to one of {} in [{table}], or remove the line for the default",
                phases.join(", ")
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_file_parses_to_defaults() {
        let c = Config::parse(DEFAULT_CONFIG_TOML, Path::new("config.toml")).unwrap();
        assert_eq!(c, Config::default());
    }

    #[test]
    fn checks_parse_with_their_options() {
        let c = Config::parse(
            "[checks]\ntests = \"python3 -m unittest\"\nrun_on_complete = true\n",
            Path::new("c.toml"),
        )
        .unwrap();
        assert_eq!(
            c.checks.get("tests").unwrap().argv,
            ["python3", "-m", "unittest"]
        );
        assert!(c.checks.run_on_complete);
        let e = Config::parse("[checks]\ntests = \"a 'b\"\n", Path::new("c.toml")).unwrap_err();
        assert!(e.message.contains("c.toml:"), "{}", e.message);
        assert!(e.message.contains("unclosed quote"), "{}", e.message);
    }

    #[test]
    fn a_phase_option_must_name_a_phase() {
        let phases = ["intake", "execute"];
        let p = Path::new("c.toml");
        check_phase_names("[hooks]\ncode_allowed_from = \"execute\"\n", p, &phases).unwrap();
        check_phase_names("[workflow]\n", p, &["triage"]).unwrap();
        check_phase_names(DEFAULT_CONFIG_TOML, p, &["triage"]).unwrap();
        let e = check_phase_names("[hooks]\ncode_allowed_from = \"qa\"\n", p, &phases).unwrap_err();
        assert!(
            e.message.contains("hooks.code_allowed_from = \"qa\""),
            "{}",
            e.message
        );
        assert!(e.message.contains("intake, execute"), "{}", e.message);
    }

    #[test]
    fn branch_templates_are_filled_and_checked() {
        let g = |t: &str| GitOptions {
            branch_template: t.into(),
            ..GitOptions::default()
        };
        assert_eq!(
            g("task/{code}").branch_name("TSK-1", "s", "u").unwrap(),
            "task/TSK-1"
        );
        assert_eq!(
            g("{user}/{code}-{slug}")
                .branch_name("TSK-1", "fix-login", "ann")
                .unwrap(),
            "ann/TSK-1-fix-login"
        );
        for (t, why) in [
            ("task/{id}", "unknown placeholder {id}"),
            ("task/{code", "unmatched brace"),
            ("task}/{code}", "unmatched brace"),
            ("task..{code}", "not a valid branch name"),
            ("task/{code}.lock", "not a valid branch name"),
            ("-{code}", "git refuses"),
            ("a b/{code}", "not a valid branch name"),
        ] {
            let e = g(t).branch_name("TSK-1", "s", "u").unwrap_err();
            assert!(e.message.contains(why), "{t}: {}", e.message);
        }
        let e = Config::parse(
            "[git]\nbranch_template = \"x/{nope}\"\n",
            Path::new("c.toml"),
        )
        .unwrap_err();
        assert!(
            e.message.contains("c.toml: git.branch_template"),
            "{}",
            e.message
        );
        assert_eq!(
            slug("Fix login: timeout after 5 min!", 40),
            "fix-login-timeout-after-5-min"
        );
        assert_eq!(slug("Ünïcode — only", 40), "n-code-only");
    }

    #[test]
    fn unknown_key_is_named() {
        let e = Config::parse("[workflow]\nallow_skip = true\n", Path::new("c.toml")).unwrap_err();
        assert!(e.message.contains("allow_skip"), "{}", e.message);
        assert!(e.message.contains("c.toml:2"), "{}", e.message);
    }
}
