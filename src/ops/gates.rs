//! The gates that need git to judge: code committed in the execute range, nothing of it left
//! uncommitted, and the phase's checks passed on HEAD's code. The decisions are the pure ones
//! of `gates`; this module only gathers the facts they decide on.

use super::check;
use crate::code::TaskCode;
use crate::diagnostic::Diagnostic;
use crate::gates::{self, ExecuteFacts};
use crate::git::history;
use crate::project::{Project, ORCH_DIR};
use crate::session::Session;
use crate::workflow::Phase;
use crate::Result;
use gix::ObjectId;

/// The git-backed gates of `phase` for the task; `worktree`: also scan the working tree for
/// uncommitted code (as git status does, every tracked file).
pub fn diagnostics(
    p: &Project,
    code: &TaskCode,
    session: Option<&Session>,
    phase: &Phase,
    worktree: bool,
) -> Result<Vec<Diagnostic>> {
    let v = &phase.def.validation;
    let mut out = Vec::new();
    if v.code_commits || v.clean_worktree {
        let scan = v.clean_worktree && worktree;
        let facts = execute_facts(p, session, v.code_commits, scan)?;
        out.extend(gates::execute_diagnostics(
            v,
            &facts,
            code.as_str(),
            &phase.name,
        ));
    }
    out.extend(check_diagnostics(p, code, phase)?);
    Ok(out)
}

/// The phase's required checks, judged against the task's recorded runs.
pub fn check_diagnostics(p: &Project, code: &TaskCode, phase: &Phase) -> Result<Vec<Diagnostic>> {
    let required = &phase.def.validation.checks;
    if required.is_empty() {
        return Ok(vec![]);
    }
    let checks = check::committed_checks(p)?;
    if !required.iter().any(|n| checks.get(n).is_some()) {
        return Ok(vec![]);
    }
    let runs = check::runs_of(&super::event::read(p, code)?);
    let head = p.git.head_id()?;
    let head_s = head.map(|h| h.to_string());
    let same = |c: Option<&str>| same_code(p, head, c);
    Ok(gates::checks::judge(
        required,
        &checks,
        &runs,
        head_s.as_deref(),
        &same,
    ))
}

/// What the execute range holds, as far as asked: code commits and uncommitted code.
pub fn execute_facts(
    p: &Project,
    session: Option<&Session>,
    commits: bool,
    worktree: bool,
) -> Result<ExecuteFacts> {
    let repo = &p.git.repo;
    let base = session
        .and_then(|s| s.execute_range.as_ref())
        .and_then(|r| r.base.as_deref())
        .and_then(|b| ObjectId::from_hex(b.as_bytes()).ok());
    let mut facts = ExecuteFacts {
        range: describe_range(p, base),
        ..ExecuteFacts::default()
    };
    if commits {
        if let Some(head) = p.git.head_id()? {
            facts.code_commits =
                crate::git::status::commits_outside(repo, head, base, ORCH_DIR)?.len();
        }
    }
    if worktree {
        facts.uncommitted = crate::git::status::uncommitted_outside(repo, ORCH_DIR, false)?;
    }
    Ok(facts)
}

/// `a1b2c3d..HEAD, the commits after "orch(T-1): research -> plan"`, as a reader wants it.
pub fn describe_range(p: &Project, base: Option<ObjectId>) -> String {
    match base {
        None => "every commit up to HEAD".into(),
        Some(b) => {
            let short = b.to_hex_with_len(7).to_string();
            match history::commit_meta(&p.git.repo, b) {
                Ok(m) => format!("{short}..HEAD, the commits after \"{}\"", m.subject()),
                Err(_) => format!("{short}..HEAD"),
            }
        }
    }
}

/// Whether `commit` holds HEAD's code: the same tree outside `.orchestration/`.
fn same_code(p: &Project, head: Option<ObjectId>, commit: Option<&str>) -> bool {
    let (Some(head), Some(c)) = (head, commit) else {
        return head.is_none() && commit.is_none();
    };
    let Ok(c) = ObjectId::from_hex(c.as_bytes()) else {
        return false;
    };
    if c == head {
        return true;
    }
    let repo = &p.git.repo;
    let trees = history::commit_tree_parents(repo, c)
        .and_then(|a| Ok((a.0, history::commit_tree_parents(repo, head)?.0)));
    match trees {
        Ok((a, b)) => history::diff_names(repo, Some(a), Some(b))
            .is_ok_and(|d| d.iter().all(|(name, _, _)| name == ORCH_DIR)),
        Err(_) => false,
    }
}
