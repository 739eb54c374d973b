//! The gates a phase must pass beyond "the artifact exists": filled-in sections, the acceptance
//! criteria checklist, the review verdict, code committed in execute, and checks that passed.
//!
//! Everything here is a pure function of what it is given (file text, recorded runs, facts
//! gathered from git), so `phase complete` and `orch verify` judge with the same rules.

pub mod checks;
pub mod criteria;
pub mod sections;
pub mod verdict;

use crate::diagnostic::Diagnostic;
use crate::workflow::{ArtifactDef, CriteriaRule, Validation};
use sections::SectionProblem;

/// The `empty_section` diagnostics of a required artifact with text `text`; `template` is its
/// freshly rendered template, whose text under each heading is only a placeholder.
pub fn section_diagnostics(
    a: &ArtifactDef,
    text: &str,
    template: Option<&str>,
    task_dir: &str,
) -> Vec<Diagnostic> {
    let path = format!("{task_dir}/{}", a.name);
    a.sections
        .iter()
        .filter_map(|title| {
            let problem = sections::judge_section(text, title, template)?;
            let (message, fix) = match problem {
                SectionProblem::Missing => (
                    format!("{path} has no `## {title}` section"),
                    format!("add a `## {title}` heading to {path} and write the section under it"),
                ),
                SectionProblem::Empty => (
                    format!("{path}: section {title} is empty (only the template's placeholder is there)"),
                    format!("write under `## {title}` in {path}; the template's comment there says what belongs in it"),
                ),
            };
            Some(Diagnostic::error(
                "empty_section",
                &format!("{}#{title}", a.name),
                message,
                fix,
            ))
        })
        .collect()
}

/// The diagnostics of TASK.md's checklist under `rule`; `task_md` is None when TASK.md cannot
/// be read (that has its own diagnostic).
pub fn criteria_diagnostics(rule: CriteriaRule, task_md: &str, task_dir: &str) -> Vec<Diagnostic> {
    let path = format!("{task_dir}/TASK.md");
    let target = format!("TASK.md#{}", criteria::SECTION);
    let list = criteria::parse(task_md);
    let mut out: Vec<Diagnostic> = list
        .malformed
        .iter()
        .map(|m| {
            Diagnostic::error(
                "malformed_criterion",
                &target,
                format!("{path}: acceptance criterion `{}`: {}", m.line, m.why),
                "write it as `- [ ] TEXT` (open), `- [x] TEXT` (met) or `- [~] TEXT — dropped: REASON`".into(),
            )
        })
        .collect();
    if list.items.is_empty() {
        let message = if list.has_section {
            format!("{path} lists no acceptance criteria (no `- [ ] ...` item under `## Acceptance criteria`)")
        } else {
            format!("{path} has no `## Acceptance criteria` section")
        };
        out.push(Diagnostic::error(
            "no_criteria",
            &target,
            message,
            format!("add one checkable statement per line under `## Acceptance criteria` in {path}, as `- [ ] <statement a reviewer can confirm>`"),
        ));
        return out;
    }
    if rule == CriteriaRule::Resolved {
        for c in list.open() {
            out.push(Diagnostic::error(
                "open_criterion",
                &target,
                format!("{path}: acceptance criterion not met: \"{}\"", c.text),
                format!(
                    "once it is met, tick it (`- [x] {}`); if it will not be met, strike it with the reason (`- [~] {} — dropped: REASON`)",
                    c.text, c.text
                ),
            ));
        }
    }
    out
}

/// The verdict diagnostics of a review artifact (`text` None: the file is not there).
/// `reopen` is the command that sends the task back for rework.
pub fn verdict_diagnostics(
    artifact: &str,
    text: Option<&str>,
    task_dir: &str,
    reopen: &str,
) -> Vec<Diagnostic> {
    let path = format!("{task_dir}/{artifact}");
    let target = format!("{artifact}:verdict");
    let set_it = format!(
        "put `verdict: approve` or `verdict: rework` in the front matter of {path} (between `---` lines at its top)"
    );
    let Some(text) = text else {
        return vec![Diagnostic::error(
            "missing_verdict",
            &target,
            format!("{path} does not exist, so the review gives no verdict"),
            format!("write {path}, then {set_it}"),
        )];
    };
    match verdict::read(text) {
        verdict::Reading::Given {
            verdict: verdict::Verdict::Approve,
            ..
        } => vec![],
        verdict::Reading::Given {
            verdict: verdict::Verdict::Rework,
            ..
        } => vec![Diagnostic::error(
            "rework_verdict",
            &target,
            format!("the review asks for rework ({path} says verdict: rework)"),
            format!(
                "reopen execute with `{reopen}`; fix, commit, complete execute and review again"
            ),
        )],
        verdict::Reading::Missing => vec![Diagnostic::error(
            "missing_verdict",
            &target,
            format!("{path} gives no verdict"),
            set_it,
        )],
        verdict::Reading::Invalid(why) => vec![Diagnostic::error(
            "invalid_verdict",
            &target,
            format!("{path}: {why}"),
            set_it,
        )],
    }
}

/// What git says about the execute phase, gathered by the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecuteFacts {
    /// The range as a reader should see it, e.g. `a1b2c3d (plan -> execute)..HEAD`.
    pub range: String,
    /// Commits in the range that change a path outside `.orchestration/`.
    pub code_commits: usize,
    /// Tracked paths outside `.orchestration/` whose worktree or index differs from HEAD.
    pub uncommitted: Vec<String>,
}

/// Shell-quoted paths for a command a user can paste.
pub(crate) fn quoted(paths: &[String]) -> String {
    paths
        .iter()
        .map(|p| shlex::try_quote(p).map_or_else(|_| p.clone(), |q| q.into_owned()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The `no_code_commits` and `uncommitted_code` diagnostics, as far as `v` asks for them.
pub fn execute_diagnostics(
    v: &Validation,
    facts: &ExecuteFacts,
    code: &str,
    phase: &str,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if v.code_commits && facts.code_commits == 0 {
        out.push(Diagnostic::error(
            "no_code_commits",
            "execute_range",
            format!(
                "phase {phase} made no commit outside .orchestration/ (execute range {})",
                facts.range
            ),
            format!(
                "commit the change with `git commit`, then run `orch phase complete {code}` again"
            ),
        ));
    }
    if v.clean_worktree && !facts.uncommitted.is_empty() {
        const SHOWN: usize = 10;
        let n = facts.uncommitted.len();
        let mut list = facts.uncommitted[..n.min(SHOWN)].join(", ");
        if n > SHOWN {
            list.push_str(&format!(" and {} more", n - SHOWN));
        }
        let files = if n == 1 { "file" } else { "files" };
        out.push(Diagnostic::error(
            "uncommitted_code",
            "worktree",
            format!("{n} tracked {files} outside .orchestration/ with uncommitted changes: {list}"),
            format!(
                "commit them (`git commit -m \"...\" -- {}`) or set them aside (`git stash`)",
                quoted(&facts.uncommitted[..n.min(SHOWN)])
            ),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(name: &str, sections: &[&str]) -> ArtifactDef {
        ArtifactDef {
            name: name.into(),
            template: None,
            sections: sections.iter().map(|s| s.to_string()).collect(),
        }
    }

    const TEMPLATE: &str = "# T\n\n## Problem\n\n<!-- What is wrong. -->\n\n## Acceptance criteria\n\n<!-- - [ ] example -->\n";

    #[test]
    fn sections_name_the_artifact_and_the_heading() {
        let a = def("TASK.md", &["Problem", "Acceptance criteria", "Risks"]);
        let d = section_diagnostics(&a, TEMPLATE, Some(TEMPLATE), "T");
        let got: Vec<(&str, &str)> = d
            .iter()
            .map(|d| (d.code.as_str(), d.target.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("empty_section", "TASK.md#Problem"),
                ("empty_section", "TASK.md#Acceptance criteria"),
                ("empty_section", "TASK.md#Risks"),
            ]
        );
        assert!(d[0].message.contains("T/TASK.md: section Problem is empty"));
        assert!(d[2].message.contains("has no `## Risks` section"));
        let filled = TEMPLATE.replace("<!-- What is wrong. -->", "It crashes.");
        let d = section_diagnostics(&def("TASK.md", &["Problem"]), &filled, Some(TEMPLATE), "T");
        assert!(d.is_empty(), "{d:?}");
    }

    #[test]
    fn criteria_rules() {
        let codes = |rule, text: &str| -> Vec<String> {
            criteria_diagnostics(rule, text, "T")
                .into_iter()
                .map(|d| d.code)
                .collect()
        };
        assert_eq!(codes(CriteriaRule::Defined, TEMPLATE), ["no_criteria"]);
        assert_eq!(codes(CriteriaRule::Defined, "# T\n"), ["no_criteria"]);
        let one = format!("{TEMPLATE}- [ ] exits 0\n");
        assert!(codes(CriteriaRule::Defined, &one).is_empty());
        assert_eq!(codes(CriteriaRule::Resolved, &one), ["open_criterion"]);
        let done = format!("{TEMPLATE}- [x] exits 0\n- [~] fast — dropped: not measurable\n");
        assert!(codes(CriteriaRule::Resolved, &done).is_empty());
        let bad = format!("{TEMPLATE}- [x] exits 0\n- [~] fast\n");
        assert_eq!(codes(CriteriaRule::Resolved, &bad), ["malformed_criterion"]);
        let d = criteria_diagnostics(CriteriaRule::Resolved, &one, "T");
        assert!(d[0].message.contains("\"exits 0\""));
        assert!(d[0].fix.contains("- [x] exits 0"));
    }

    #[test]
    fn verdicts() {
        let codes = |text: Option<&str>| -> Vec<String> {
            verdict_diagnostics("REVIEW.md", text, "T", "orch phase set X execute")
                .into_iter()
                .map(|d| d.code)
                .collect()
        };
        assert!(codes(Some("---\nverdict: approve\n---\n")).is_empty());
        assert_eq!(codes(Some("x")), ["missing_verdict"]);
        assert_eq!(codes(None), ["missing_verdict"]);
        assert_eq!(codes(Some("---\nverdict: meh\n---\n")), ["invalid_verdict"]);
        let d = verdict_diagnostics(
            "REVIEW.md",
            Some("---\nverdict: rework\n---\n"),
            "T",
            "orch phase set X execute",
        );
        assert_eq!(d[0].code, "rework_verdict");
        assert!(d[0].message.contains("the review asks for rework"));
        assert!(d[0].fix.contains("`orch phase set X execute`"));
    }

    #[test]
    fn execute_needs_committed_code() {
        let v = Validation {
            code_commits: true,
            clean_worktree: true,
            ..Validation::default()
        };
        let facts = ExecuteFacts {
            range: "a1b2c3d..HEAD".into(),
            code_commits: 0,
            uncommitted: vec!["src/a b.py".into(), "lib.py".into()],
        };
        let d = execute_diagnostics(&v, &facts, "T-1", "execute");
        let got: Vec<&str> = d.iter().map(|d| d.code.as_str()).collect();
        assert_eq!(got, ["no_code_commits", "uncommitted_code"]);
        assert!(d[0].message.contains("a1b2c3d..HEAD"));
        assert!(d[1].message.contains("src/a b.py, lib.py"));
        assert!(d[1].fix.contains("-- 'src/a b.py' lib.py"), "{}", d[1].fix);
        let ok = ExecuteFacts {
            code_commits: 2,
            ..ExecuteFacts::default()
        };
        assert!(execute_diagnostics(&v, &ok, "T-1", "execute").is_empty());
        // A workflow that turns both off asks for neither.
        assert!(execute_diagnostics(&Validation::default(), &facts, "T-1", "execute").is_empty());
    }
}
