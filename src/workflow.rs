//! The workflow: phases as data, ordered by `order`. Built in (`workflow/workflow.yaml`) or the
//! repository's own `.orchestration/workflow.yaml`, which replaces it whole.

use crate::templates::Templates;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const BUILTIN_WORKFLOW: &str = include_str!("../workflow/workflow.yaml");

/// One phase as written in the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhaseDef {
    pub order: i64,
    #[serde(default)]
    pub title: Option<String>,
    pub goal: String,
    #[serde(default)]
    pub artifacts: Artifacts,
    #[serde(default)]
    pub validation: Validation,
    #[serde(default)]
    pub events: Vec<String>,
    #[serde(default)]
    pub hooks: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub next_step: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Artifacts {
    #[serde(default)]
    pub required: Vec<ArtifactDef>,
    #[serde(default)]
    pub optional: Vec<ArtifactDef>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArtifactDef {
    pub name: String,
    #[serde(default)]
    pub template: Option<String>,
    /// `##` sections that must hold text of their own beyond the template's placeholder.
    /// Without any, the artifact only has to exist and differ from its template.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sections: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Validation {
    #[serde(default)]
    pub required_fields: Vec<String>,
    #[serde(default)]
    pub warn_if_missing: Vec<String>,
    /// What TASK.md's acceptance criteria checklist must look like to leave the phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub criteria: Option<CriteriaRule>,
    /// At least one commit outside `.orchestration/` in the execute range.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub code_commits: bool,
    /// No uncommitted changes to tracked files outside `.orchestration/`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub clean_worktree: bool,
    /// Names of `[checks]` that must have passed on the current HEAD.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<String>,
    /// The artifact whose front matter carries `verdict: approve | rework`; only approve passes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<String>,
    /// What an open bug the task found does to leaving the phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_bugs: Option<OpenBugs>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpenBugs {
    /// The phase cannot be completed while one is open.
    Block,
    /// Completing it warns about each.
    Warn,
    Ignore,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CriteriaRule {
    /// At least one `- [ ]` item, none malformed.
    Defined,
    /// Every item ticked `- [x]` or struck `- [~] … — dropped: REASON`.
    Resolved,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Phase {
    pub name: String,
    pub def: PhaseDef,
}

impl Phase {
    pub fn title(&self) -> String {
        match &self.def.title {
            Some(t) if !t.trim().is_empty() => t.clone(),
            _ => {
                let mut c = self.name.chars();
                match c.next() {
                    Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
                    None => String::new(),
                }
            }
        }
    }

    /// Whether entering this phase regenerates CHANGES.md.
    pub fn generates_changes_on_enter(&self) -> bool {
        self.def
            .hooks
            .get("on_enter")
            .is_some_and(|v| v.iter().any(|a| a == "generate_changes"))
    }

    /// The full event type of a declared short name (`intake.confirmed` →
    /// `orchestration.phase.intake.confirmed`).
    pub fn declares_event(&self, ty: &str) -> bool {
        let short = ty.strip_prefix("orchestration.phase.").unwrap_or(ty);
        self.def.events.iter().any(|e| e == short)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Workflow {
    /// Where it came from: `built-in` or the file's path, for messages.
    pub source: String,
    pub phases: Vec<Phase>,
}

impl Workflow {
    pub fn builtin(templates: &Templates) -> Result<Workflow> {
        Workflow::parse(BUILTIN_WORKFLOW, "built-in workflow.yaml", templates)
    }

    pub fn parse(text: &str, source: &str, templates: &Templates) -> Result<Workflow> {
        let bad = |msg: String| {
            Error::usage(format!("{source}: {msg}"))
                .with_hint("fix the workflow file, or delete it to use the built-in workflow")
        };
        let raw: BTreeMap<String, PhaseDef> =
            serde_yaml::from_str(text).map_err(|e| bad(e.to_string()))?;
        if raw.is_empty() {
            return Err(bad("defines no phases".into()));
        }
        let mut phases: Vec<Phase> = raw
            .into_iter()
            .map(|(name, def)| Phase { name, def })
            .collect();
        phases.sort_by_key(|p| p.def.order);
        for w in phases.windows(2) {
            if w[0].def.order == w[1].def.order {
                return Err(bad(format!(
                    "phases {} and {} both have order {}; each phase needs its own `order`",
                    w[0].name, w[1].name, w[0].def.order
                )));
            }
        }
        for p in &phases {
            let at = |key: &str| format!("phase {}, key {key}", p.name);
            if p.name.is_empty()
                || !p
                    .name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
            {
                return Err(bad(format!(
                    "phase name {:?} must be lowercase letters, digits, '_' or '-'",
                    p.name
                )));
            }
            if p.def.goal.trim().is_empty() {
                return Err(bad(format!("{}: the goal is empty", at("goal"))));
            }
            let all = p
                .def
                .artifacts
                .required
                .iter()
                .map(|a| ("artifacts.required", a))
                .chain(
                    p.def
                        .artifacts
                        .optional
                        .iter()
                        .map(|a| ("artifacts.optional", a)),
                );
            for (key, a) in all {
                if let Err(why) = check_artifact_name(&a.name) {
                    return Err(bad(format!("{}: artifact {:?} {why}", at(key), a.name)));
                }
                for sec in &a.sections {
                    if sec.trim().is_empty() || sec.contains('\n') {
                        return Err(bad(format!(
                            "{}: artifact {} lists an empty or multi-line section name",
                            at(key),
                            a.name
                        )));
                    }
                }
                if let Some(t) = &a.template {
                    if !templates.exists(t) {
                        return Err(bad(format!(
                            "{}: artifact {} uses unknown template {t:?} (known: {})",
                            at(key),
                            a.name,
                            templates.names().join(", ")
                        )));
                    }
                }
            }
            for c in &p.def.validation.checks {
                if !valid_check_name(c) {
                    return Err(bad(format!(
                        "{}: {c:?} is not a check name (letters, digits, '_' and '-')",
                        at("validation.checks")
                    )));
                }
            }
            if let Some(v) = &p.def.validation.verdict {
                if let Err(why) = check_artifact_name(v) {
                    return Err(bad(format!(
                        "{}: artifact {v:?} {why}",
                        at("validation.verdict")
                    )));
                }
            }
            for (hook, actions) in &p.def.hooks {
                if hook == "on_bug_found" {
                    // Built-in actions are single words; anything else is an instruction
                    // shown to whoever reported the bug.
                    for a in actions {
                        if !a.contains(' ') && a != "record_event" {
                            return Err(bad(format!(
                                "{}: unknown action {a:?} (known: record_event; an instruction is a sentence)",
                                at("hooks.on_bug_found")
                            )));
                        }
                    }
                }
                if hook == "on_enter" {
                    for a in actions {
                        if a != "generate_changes" {
                            return Err(bad(format!(
                                "{}: unknown action {a:?} (known: generate_changes)",
                                at("hooks.on_enter")
                            )));
                        }
                    }
                }
            }
            if let Err(e) = crate::templates::check_syntax(&p.def.next_step) {
                return Err(bad(format!("{}: {e}", at("next_step"))));
            }
        }
        Ok(Workflow {
            source: source.to_string(),
            phases,
        })
    }

    pub fn phase(&self, name: &str) -> Option<&Phase> {
        self.phases.iter().find(|p| p.name == name)
    }

    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.phases.iter().position(|p| p.name == name)
    }

    pub fn first(&self) -> &Phase {
        &self.phases[0]
    }

    pub fn last(&self) -> &Phase {
        &self.phases[self.phases.len() - 1]
    }

    pub fn next_after(&self, name: &str) -> Option<&Phase> {
        self.index_of(name).and_then(|i| self.phases.get(i + 1))
    }

    pub fn names(&self) -> Vec<&str> {
        self.phases.iter().map(|p| p.name.as_str()).collect()
    }

    /// A phase by name, or a usage error listing the phases there are.
    pub fn require(&self, name: &str) -> Result<&Phase> {
        self.phase(name).ok_or_else(|| {
            Error::usage(format!("unknown phase {name:?}"))
                .with_hint(format!("phases are: {}", self.names().join(", ")))
        })
    }
}

/// Artifact names are paths inside the task folder: relative, no `..`, no empty parts.
pub fn check_artifact_name(name: &str) -> std::result::Result<(), &'static str> {
    if name.trim().is_empty() {
        return Err("is empty");
    }
    if name.starts_with('/') || name.starts_with('\\') || name.contains(':') {
        return Err("must be a relative path inside the task folder");
    }
    for part in name.split(['/', '\\']) {
        if part.is_empty() || part == "." || part == ".." {
            return Err("escapes the task folder (no '..', '.' or empty path parts)");
        }
    }
    if matches!(name, "session.json" | "events.jsonl") {
        return Err("is a file orch manages itself");
    }
    Ok(())
}

/// Check names (`[checks]` keys, `validation.checks`) become event types and log file names:
/// keep them plain.
pub fn valid_check_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::templates::{render_str, Vars};

    /// Every built-in next_step renders, with and without configured checks, and names them.
    #[test]
    fn builtin_instructions_render_and_name_the_checks() {
        let t = Templates::builtin_only();
        let wf = Workflow::builtin(&t).unwrap();
        let mut vars = Vars {
            code: "T-1".into(),
            ..Vars::default()
        };
        for p in &wf.phases {
            let text = render_str(&p.def.next_step, &vars).unwrap();
            assert!(!text.contains("cargo"), "{}: {text}", p.name);
            if p.name == "execute" {
                assert!(text.contains("No tests check is configured"), "{text}");
            }
        }
        vars.checks
            .insert("tests".into(), "python3 -m unittest".into());
        let exec = wf.phase("execute").unwrap();
        let text = render_str(&exec.def.next_step, &vars).unwrap();
        assert!(
            text.contains("   orch check tests    (runs python3 -m unittest)\n4."),
            "{text}"
        );
        assert!(!text.contains("No tests check"), "{text}");
        assert!(!text.contains("{%"), "{text}");
    }
}
