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
    /// A folder, a symbolic link within the repository, a socket, or anything else that is
    /// not a regular file.
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
            // An artifact is a regular file: a link's target is not part of the task's
            // commit, so it would not count in `orch verify` either.
            return match std::fs::canonicalize(&path) {
                Ok(real) if real.starts_with(&self.root) => Entry::NotAFile,
                _ => Entry::LeavesRepository,
            };
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
        } else if !a.sections.is_empty() {
            if let Entry::File(bytes) = src.entry(&a.name) {
                let text = String::from_utf8_lossy(&bytes);
                let template = a
                    .template
                    .as_ref()
                    .and_then(|t| ctx.templates.render(t, ctx.vars).ok());
                out.extend(crate::gates::section_diagnostics(
                    a,
                    &text,
                    template.as_deref(),
                    ctx.task_dir,
                ));
            }
        }
    }
    let gates = gate_diagnostics(src, phase, ctx);
    // An empty checklist section is said once, by the criteria gate.
    if gates.iter().any(|d| d.code == "no_criteria") {
        out.retain(|d| !(d.code == "empty_section" && d.target == gates_criteria_target()));
    }
    out.extend(gates);
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

fn gates_criteria_target() -> String {
    format!("TASK.md#{}", crate::gates::criteria::SECTION)
}

/// The checklist and verdict gates of `phase`, read from the artifact source.
fn gate_diagnostics(src: &dyn ArtifactSource, phase: &Phase, ctx: &Context) -> Vec<Diagnostic> {
    let v = &phase.def.validation;
    let mut out = Vec::new();
    let text = |name: &str| match src.entry(name) {
        Entry::File(b) => Some(String::from_utf8_lossy(&b).into_owned()),
        _ => None,
    };
    let required = |name: &str| phase.def.artifacts.required.iter().any(|a| a.name == name);
    if let Some(rule) = v.criteria {
        match text("TASK.md") {
            Some(t) => out.extend(crate::gates::criteria_diagnostics(rule, &t, ctx.task_dir)),
            None if required("TASK.md") => {}
            None => out.extend(read_task(src, ctx.task_dir).err()),
        }
    }
    if let Some(name) = &v.verdict {
        let t = text(name);
        if t.is_some() || !required(name) {
            let reopen = format!("orch phase set {} execute", ctx.vars.code);
            out.extend(crate::gates::verdict_diagnostics(
                name,
                t.as_deref(),
                ctx.task_dir,
                &reopen,
            ));
        }
    }
    out
}

/// Canonical form of `p`, falling back to `p` itself.
pub fn canonical(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

/// The `validation.open_bugs` gate: the task's open bugs as errors (`block`) or warnings
/// (`warn`). The bug ids are read by the operation; the decision is here.
pub fn open_bugs(
    rule: Option<crate::workflow::OpenBugs>,
    phase: &str,
    open: &[(String, String)],
) -> Vec<Diagnostic> {
    use crate::workflow::OpenBugs;
    let make = match rule {
        Some(OpenBugs::Block) => Diagnostic::error,
        Some(OpenBugs::Warn) => Diagnostic::warning,
        Some(OpenBugs::Ignore) | None => return vec![],
    };
    open.iter()
        .map(|(id, title)| {
            make(
                "open_bug",
                id,
                format!("bug {id} ({title}) found by this task is still open in {phase}"),
                format!("fix it and run `orch bug resolve {id} --commit SHA`, or `orch bug merge {id} OTHER` if it duplicates another"),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    struct Mem(Vec<(&'static str, String)>);

    impl super::ArtifactSource for Mem {
        fn entry(&self, name: &str) -> super::Entry {
            match self.0.iter().find(|(n, _)| *n == name) {
                Some((_, t)) => super::Entry::File(t.clone().into_bytes()),
                None => super::Entry::Missing,
            }
        }
    }

    const WORKFLOW: &str = r#"
intake:
  order: 1
  goal: g
  artifacts:
    required: [{ name: TASK.md, template: task_template, sections: [Problem, Acceptance criteria] }]
  validation: { required_fields: [title], criteria: defined }
review:
  order: 2
  goal: g
  artifacts:
    required: [{ name: REVIEW.md, template: review_template, sections: [Verdict] }]
  validation: { verdict: REVIEW.md, checks: [tests], code_commits: true, clean_worktree: true }
close:
  order: 3
  goal: g
  validation: { criteria: resolved }
"#;

    fn judge(phase: &str, files: Vec<(&'static str, String)>) -> Vec<String> {
        use crate::templates::{Templates, Vars};
        let templates = Templates::builtin_only();
        let wf = crate::workflow::Workflow::parse(WORKFLOW, "w", &templates).unwrap();
        let vars = Vars {
            code: "T-1".into(),
            title: "Add --json".into(),
            date: "2025-01-13".into(),
            task_dir: "tasks/T-1".into(),
            ..Vars::default()
        };
        let ctx = super::Context {
            templates: &templates,
            vars: &vars,
            dates: vec![],
            task_dir: "tasks/T-1",
        };
        super::check_phase(&Mem(files), wf.phase(phase).unwrap(), &ctx)
            .into_iter()
            .filter(|d| d.is_error())
            .map(|d| format!("{}:{}", d.code, d.target))
            .collect()
    }

    #[test]
    fn check_phase_applies_the_gates_a_workflow_declares() {
        use crate::templates::{Templates, Vars};
        let t = Templates::builtin_only();
        let vars = Vars {
            code: "T-1".into(),
            title: "Add --json".into(),
            date: "2025-01-13".into(),
            ..Vars::default()
        };
        let task = t.render("task_template", &vars).unwrap();
        assert_eq!(
            judge("intake", vec![("TASK.md", task.clone())]),
            [
                "empty_section:TASK.md#Problem",
                "no_criteria:TASK.md#Acceptance criteria"
            ]
        );
        let filled = crate::gates::sections::append_to_section(
            &task.replace(
                "## Problem\n",
                "## Problem\n\nThe CLI has no machine-readable output.\n",
            ),
            "Acceptance criteria",
            &["- [ ] `tool --json` prints one JSON document".into()],
        );
        assert!(judge("intake", vec![("TASK.md", filled.clone())]).is_empty());
        assert_eq!(
            judge("close", vec![("TASK.md", filled.clone())]),
            ["open_criterion:TASK.md#Acceptance criteria"]
        );
        let ticked = filled.replace("- [ ] `tool", "- [x] `tool");
        assert!(judge("close", vec![("TASK.md", ticked)]).is_empty());

        let review = t.render("review_template", &vars).unwrap();
        assert_eq!(
            judge("review", vec![("REVIEW.md", review.clone())]),
            [
                "unfilled_artifact:REVIEW.md",
                "missing_verdict:REVIEW.md:verdict"
            ]
        );
        assert_eq!(
            judge("review", vec![("REVIEW.md", "x".into())]),
            [
                "empty_section:REVIEW.md#Verdict",
                "missing_verdict:REVIEW.md:verdict"
            ]
        );
        let rework = review
            .replace("verdict: \"\"", "verdict: rework")
            .replace("## Verdict\n", "## Verdict\n\nThe tests fail.\n");
        assert_eq!(
            judge("review", vec![("REVIEW.md", rework.clone())]),
            ["rework_verdict:REVIEW.md:verdict"]
        );
        let approve = rework.replace("verdict: rework", "verdict: approve");
        assert!(judge("review", vec![("REVIEW.md", approve)]).is_empty());
        // A missing required artifact is reported once, not again as a missing verdict.
        assert_eq!(judge("review", vec![]), ["missing_artifact:REVIEW.md"]);
    }

    #[test]
    fn workflow_keys_are_checked() {
        let t = crate::templates::Templates::builtin_only();
        let parse = |y: &str| {
            crate::workflow::Workflow::parse(y, "w.yaml", &t)
                .map(|_| ())
                .map_err(|e| e.message)
        };
        assert!(parse(WORKFLOW).is_ok());
        let typo = WORKFLOW.replace("criteria: defined", "criterion: defined");
        assert!(parse(&typo).unwrap_err().contains("criterion"));
        let rule = WORKFLOW.replace("criteria: defined", "criteria: some");
        assert!(parse(&rule).unwrap_err().contains("some"));
        let check = WORKFLOW.replace("checks: [tests]", "checks: [\"a b\"]");
        assert!(parse(&check).unwrap_err().contains("validation.checks"));
        let section = WORKFLOW.replace("sections: [Verdict]", "sections: [\"\"]");
        assert!(parse(&section).unwrap_err().contains("section name"));
        let verdict = WORKFLOW.replace("verdict: REVIEW.md", "verdict: ../x");
        assert!(parse(&verdict).unwrap_err().contains("validation.verdict"));
    }
}
