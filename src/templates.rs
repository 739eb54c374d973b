//! Artifact templates: built in (`templates/*.md`), overridden by the repository's
//! `.orchestration/templates/<name>.md`, rendered with minijinja.

use crate::{Error, Result};
use serde::Serialize;
use std::path::{Path, PathBuf};

const BUILTIN: &[(&str, &str)] = &[
    (
        "task_template",
        include_str!("../templates/task_template.md"),
    ),
    (
        "context_template",
        include_str!("../templates/context_template.md"),
    ),
    (
        "plan_template",
        include_str!("../templates/plan_template.md"),
    ),
    (
        "notes_template",
        include_str!("../templates/notes_template.md"),
    ),
    (
        "review_template",
        include_str!("../templates/review_template.md"),
    ),
    (
        "summary_template",
        include_str!("../templates/summary_template.md"),
    ),
];

/// What a template (and a phase's next-step text) can refer to.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Vars {
    pub code: String,
    pub title: String,
    pub phase: String,
    pub next_phase: String,
    pub date: String,
    pub description: String,
    pub tags: Vec<String>,
    pub sprint: String,
    pub task_dir: String,
    /// The committed `[checks]`: name → command as written, for instructions that name them.
    pub checks: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default)]
pub struct Templates {
    /// `.orchestration/templates`, when the repository has one.
    override_dir: Option<PathBuf>,
}

impl Templates {
    pub fn builtin_only() -> Templates {
        Templates { override_dir: None }
    }

    pub fn with_overrides(dir: &Path) -> Templates {
        Templates {
            override_dir: dir.is_dir().then(|| dir.to_path_buf()),
        }
    }

    fn override_path(&self, name: &str) -> Option<PathBuf> {
        let dir = self.override_dir.as_ref()?;
        if name.contains(['/', '\\']) || name.starts_with('.') {
            return None;
        }
        let p = dir.join(format!("{name}.md"));
        p.is_file().then_some(p)
    }

    pub fn exists(&self, name: &str) -> bool {
        BUILTIN.iter().any(|(n, _)| *n == name) || self.override_path(name).is_some()
    }

    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = BUILTIN.iter().map(|(n, _)| n.to_string()).collect();
        if let Some(dir) = &self.override_dir {
            if let Ok(rd) = std::fs::read_dir(dir) {
                for e in rd.flatten() {
                    if let Some(n) = e.file_name().to_str().and_then(|n| n.strip_suffix(".md")) {
                        if !v.iter().any(|x| x == n) {
                            v.push(n.to_string());
                        }
                    }
                }
            }
        }
        v.sort();
        v
    }

    pub fn source(&self, name: &str) -> Result<String> {
        if let Some(p) = self.override_path(name) {
            return std::fs::read_to_string(&p).map_err(|e| Error::io(&p, e));
        }
        BUILTIN
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, s)| s.to_string())
            .ok_or_else(|| Error::usage(format!("unknown template {name:?}")))
    }

    pub fn render(&self, name: &str, vars: &Vars) -> Result<String> {
        let src = self.source(name)?;
        render_str(&src, vars).map_err(|e| {
            Error::usage(format!("template {name}: {e}"))
                .with_hint("fix the template in .orchestration/templates/")
        })
    }
}

fn env() -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    env.set_keep_trailing_newline(true);
    // A `{% ... %}` tag on a line of its own leaves no line behind (next_step texts).
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env
}

pub fn render_str(src: &str, vars: &Vars) -> std::result::Result<String, String> {
    env().render_str(src, vars).map_err(|e| describe(&e))
}

pub fn check_syntax(src: &str) -> std::result::Result<(), String> {
    let env = env();
    env.template_from_str(src)
        .map(|_| ())
        .map_err(|e| describe(&e))
}

fn describe(e: &minijinja::Error) -> String {
    match e.line() {
        Some(l) => format!("{} (line {l})", e.detail().unwrap_or(&e.to_string())),
        None => e
            .detail()
            .map(str::to_string)
            .unwrap_or_else(|| e.to_string()),
    }
}
