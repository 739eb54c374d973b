//! Whether a phase's requirements hold: artifacts (real, filled-in files) and TASK.md fields.
//! The checks read through [`ArtifactSource`], so the same rules judge the working tree and,
//! in `orch verify`, a commit's tree.

use crate::diagnostic::Diagnostic;
use crate::task::TaskDoc;
use crate::templates::{Templates, Vars};
use crate::workflow::{ArtifactDef, Phase};
use std::path::{Path, PathBuf};

/// What a task-folder path holds, as far as the rules care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Missing,
    /// A folder, socket, or anything else that is not a file.
    NotAFile,
    /// A symbolic link whose target leaves the repository (or dangles).
    LeavesRepository,
    File(Vec<u8>),
}

pub trait ArtifactSource {
    /// `name` is relative to the task folder, already checked not to escape it.
    fn entry(&self, name: &str) -> Entry;
}

/// The task folder in the working tree.
pub struct DiskSource {
    pub task_dir: PathBuf,
    /// Canonical repository root; symlinks must resolve inside it.
    pub root: PathBuf,
}

impl ArtifactSource for DiskSource {
    fn entry(&self, name: &str) -> Entry {
        let path = self.task_dir.join(name);
        let meta = match std::fs::symlink_metadata(&path) {
            Ok(m) => m,
            Err(_) => return Entry::Missing,
        };
        if meta.file_type().is_symlink() {
            match std::fs::canonicalize(&path) {
                Ok(real) if real.starts_with(&self.root) && real.is_file() => {}
                Ok(real) if real.starts_with(&self.root) => return Entry::NotAFile,
                _ => return Entry::LeavesRepository,
            }
        } else if !meta.is_file() {
            return Entry::NotAFile;
        }
        match std::fs::read(&path) {
            Ok(b) => Entry::File(b),
            Err(_) => Entry::Missing,
        }
    }
}

/// Everything needed to judge a phase, apart from where files come from.
pub struct Context<'a> {
    pub templates: &'a Templates,
    pub vars: &'a Vars,
    /// Dates a scaffold may have been rendered on (its `{{ date }}`): an untouched template
    /// must be recognised days after it was written.
    pub dates: Vec<String>,
    /// Repository-relative task folder, for messages.
    pub task_dir: &'a str,
}

/// Parsed TASK.md, or the diagnostic explaining why it could not be read.
pub fn read_task(src: &dyn ArtifactSource, task_dir: &str) -> Result<TaskDoc, Diagnostic> {
    let file = format!("{task_dir}/TASK.md");
    match src.entry("TASK.md") {
        Entry::File(b) => {
            let text = String::from_utf8_lossy(&b);
            TaskDoc::parse(&text, &file).map_err(|e| {
                Diagnostic::error(
                    "invalid_task_md",
                    "TASK.md",
                    e.message,
                    e.hint.unwrap_or_else(|| "fix TASK.md".into()),
                )
            })
        }
        _ => Err(Diagnostic::error(
            "missing_artifact",
            "TASK.md",
            format!("{file} is missing"),
            "restore it with `git checkout HEAD -- <file>` or create it".into(),
        )),
    }
}

/// The artifact's state as the rules see it: `None` when it counts.
pub fn artifact_problem(
    src: &dyn ArtifactSource,
    a: &ArtifactDef,
    ctx: &Context,
) -> Option<(&'static str, String)> {
    let path = format!("{}/{}", ctx.task_dir, a.name);
    match src.entry(&a.name) {
        Entry::Missing => Some(("missing_artifact", format!("{path} does not exist"))),
        Entry::NotAFile => Some((
            "artifact_not_a_file",
            format!("{path} is not a regular file"),
        )),
        Entry::LeavesRepository => Some((
            "artifact_outside_repository",
            format!("{path} is a symbolic link that leaves the repository"),
        )),
        Entry::File(bytes) => {
            if bytes.iter().all(|b| b.is_ascii_whitespace()) {
                return Some(("empty_artifact", format!("{path} is empty")));
            }
            // TASK.md is written by `orch task new` from what the user gave it, so it is
            // judged by its fields; other artifacts must differ from their scaffold.
            if let (Some(t), false) = (&a.template, a.name == "TASK.md") {
                if is_untouched(ctx, t, &bytes) {
                    return Some((
                        "unfilled_artifact",
                        format!("{path} is still the untouched template"),
                    ));
                }
            }
            None
        }
    }
}

fn is_untouched(ctx: &Context, template: &str, bytes: &[u8]) -> bool {
    let mut vars = ctx.vars.clone();
    let mut dates = ctx.dates.clone();
    dates.insert(0, vars.date.clone());
    dates.dedup();
    dates.into_iter().any(|d| {
        vars.date = d;
        ctx.templates
            .render(template, &vars)
            .is_ok_and(|r| r.as_bytes() == bytes)
    })
}

/// Judges `phase`: errors for what blocks completion, warnings for the rest.
pub fn check_phase(src: &dyn ArtifactSource, phase: &Phase, ctx: &Context) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for a in &phase.def.artifacts.required {
        if let Some((code, message)) = artifact_problem(src, a, ctx) {
            let fix = match code {
                "unfilled_artifact" => format!(
                    "fill in {}/{} with this phase's findings",
                    ctx.task_dir, a.name
                ),
                "empty_artifact" | "missing_artifact" => format!(
                    "write {}/{} (phase {} requires it)",
                    ctx.task_dir, a.name, phase.name
                ),
                _ => format!("replace {}/{} with a regular file", ctx.task_dir, a.name),
            };
            out.push(Diagnostic::error(code, &a.name, message, fix));
        }
    }
    for a in &phase.def.artifacts.optional {
        if let Some((code, message)) = artifact_problem(src, a, ctx) {
            out.push(Diagnostic::warning(
                code,
                &a.name,
                format!("{message} (optional)"),
                format!("consider writing {}/{}", ctx.task_dir, a.name),
            ));
        }
    }
    let v = &phase.def.validation;
    if !v.required_fields.is_empty() || !v.warn_if_missing.is_empty() {
        match read_task(src, ctx.task_dir) {
            Err(d) => out.push(d),
            Ok(doc) => {
                for f in &v.required_fields {
                    if !doc.has_value(f) {
                        out.push(Diagnostic::error(
                            "missing_field",
                            &format!("TASK.md:{f}"),
                            format!("{}/TASK.md has no value for `{f}`", ctx.task_dir),
                            format!("set `{f}:` in the front matter of {}/TASK.md", ctx.task_dir),
                        ));
                    }
                }
                for f in &v.warn_if_missing {
                    if !doc.has_value(f) {
                        out.push(Diagnostic::warning(
                            "missing_field",
                            &format!("TASK.md:{f}"),
                            format!("{}/TASK.md has no value for `{f}`", ctx.task_dir),
                            format!("consider setting `{f}:` in {}/TASK.md", ctx.task_dir),
                        ));
                    }
                }
            }
        }
    }
    out
}

/// Canonical form of `p`, falling back to `p` itself.
pub fn canonical(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}
