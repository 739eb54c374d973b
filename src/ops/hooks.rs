//! Git hooks: installing the shims into the hooks folder git really uses, and what each hook
//! checks — staged transitions (pre-commit), trailers (commit-msg), pushed history (pre-push).

use crate::git::history;
use crate::git::staged::{head_tree, read_index, staged_changes, Staged};
use crate::git::trailers::{add_trailers, remove_trailers};
use crate::project::{Project, ORCH_DIR};
use crate::session::Session;
use crate::verify::{self, trailers, At, IndexSnapshot, RuleSet, TaskFiles, Violation, TASKS_DIR};
use crate::{Error, Result};
use gix::bstr::ByteSlice;
use gix::ObjectId;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const HOOKS: [&str; 3] = ["pre-commit", "commit-msg", "pre-push"];
/// Marks a hook file as orch's own.
pub const MARKER: &str = "# orch-managed-hook";
/// A user's hook that orch's shim runs first is kept under this suffix.
pub const CHAINED: &str = ".orch-chained";

/// The hooks folder git uses: `core.hooksPath` (relative to the worktree root), else
/// `<common dir>/hooks` — linked worktrees share the main repository's hooks.
pub fn hooks_dir(repo: &gix::Repository, workdir: &Path, common_dir: &Path) -> Result<PathBuf> {
    match repo.config_snapshot().trusted_path("core.hooksPath") {
        Ok(Some(p)) if p.is_absolute() => Ok(p),
        Ok(Some(p)) => Ok(workdir.join(p)),
        Ok(None) => Ok(common_dir.join("hooks")),
        Err(e) => Err(Error::usage(format!("core.hooksPath cannot be read: {e}"))
            .with_hint("fix core.hooksPath with `git config core.hooksPath <dir>`")),
    }
}

/// The shim for `name`: runs a chained user hook first, then `orch hook <name>`.
pub fn shim(name: &str) -> String {
    let missing = format!(
        "echo \"orch {name} hook: the orch command is not on PATH; install orch or put it on PATH (skip the hook once with --no-verify, or remove the hooks with 'orch hooks uninstall')\" >&2\n    exit 1"
    );
    let (chain, run) = if name == "pre-push" {
        (
            "input=$(cat)\nif [ -x \"$0.orch-chained\" ]; then\n    printf '%s\\n' \"$input\" | \"$0.orch-chained\" \"$@\" || exit $?\nfi",
            "printf '%s\\n' \"$input\" | orch hook pre-push \"$@\"",
        )
    } else {
        (
            "if [ -x \"$0.orch-chained\" ]; then\n    \"$0.orch-chained\" \"$@\" || exit $?\nfi",
            match name {
                "pre-commit" => "exec orch hook pre-commit \"$@\"",
                _ => "exec orch hook commit-msg \"$@\"",
            },
        )
    };
    format!(
        "#!/bin/sh\n{MARKER}: installed by `orch hooks install`; `orch hooks uninstall` removes it and\n# restores the hook it replaced. A hook that was here before runs first as {name}{CHAINED}.\n{chain}\nif ! command -v orch >/dev/null 2>&1; then\n    {missing}\nfi\n{run}\n"
    )
}

#[derive(Debug, Clone, Serialize)]
pub struct HookAction {
    pub hook: String,
    pub path: String,
    /// installed, updated, unchanged, chained, removed, restored, left, absent
    pub action: String,
    /// The user's hook that runs first, when there is one.
    pub chained: Option<String>,
}

pub(crate) fn is_ours(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|b| b.find(MARKER.as_bytes()).is_some())
}

fn exists(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

fn write_shim(path: &Path, name: &str) -> Result<()> {
    crate::store::write_atomic(path, shim(name).as_bytes())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| Error::io(path, e))?;
    }
    Ok(())
}

fn rename(from: &Path, to: &Path) -> Result<()> {
    std::fs::rename(from, to).map_err(|e| {
        Error::runtime(format!(
            "cannot move {} to {}: {e}",
            from.display(),
            to.display()
        ))
    })
}

/// Installs the shims. A hook that is not orch's is kept as `<name>.orch-chained` and run
/// first (its failure fails the hook). If one is already kept there, the install is refused
/// unless `force`, which keeps the older one as `<name>.orch-chained.old`.
pub fn install(dir: &Path, force: bool) -> Result<Vec<HookAction>> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    for name in HOOKS {
        let path = dir.join(name);
        let chained = dir.join(format!("{name}{CHAINED}"));
        if exists(&path) && !is_ours(&path) && exists(&chained) && !force {
            return Err(Error::conflict(format!(
                "{} is not orch's hook, and {} already holds another chained hook",
                path.display(),
                chained.display()
            ))
            .with_hint("merge the two by hand, or run `orch hooks install --force` to keep the older one as <name>.orch-chained.old"));
        }
    }
    let mut out = vec![];
    for name in HOOKS {
        let path = dir.join(name);
        let chained = dir.join(format!("{name}{CHAINED}"));
        let action = if !exists(&path) {
            write_shim(&path, name)?;
            "installed"
        } else if is_ours(&path) {
            if std::fs::read_to_string(&path).is_ok_and(|t| t == shim(name)) {
                "unchanged"
            } else {
                write_shim(&path, name)?;
                "updated"
            }
        } else {
            if exists(&chained) {
                rename(&chained, &dir.join(format!("{name}{CHAINED}.old")))?;
            }
            rename(&path, &chained)?;
            write_shim(&path, name)?;
            "chained"
        };
        out.push(HookAction {
            hook: name.into(),
            path: path.display().to_string(),
            action: action.into(),
            chained: exists(&chained).then(|| chained.display().to_string()),
        });
    }
    Ok(out)
}

/// Removes orch's shims and puts back the hooks they chained, byte for byte.
pub fn uninstall(dir: &Path) -> Result<Vec<HookAction>> {
    let mut out = vec![];
    for name in HOOKS {
        let path = dir.join(name);
        let chained = dir.join(format!("{name}{CHAINED}"));
        let action = if exists(&path) && !is_ours(&path) {
            "left"
        } else if !exists(&path) && !exists(&chained) {
            "absent"
        } else {
            if exists(&path) {
                std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
            }
            if exists(&chained) {
                rename(&chained, &path)?;
                "restored"
            } else {
                "removed"
            }
        };
        out.push(HookAction {
            hook: name.into(),
            path: path.display().to_string(),
            action: action.into(),
            chained: None,
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// pre-commit

/// With a transition's journal pending, the task files may be half written: committing them
/// would record a half transition, and finishing it here would change files git is in the
/// middle of committing. So the commit waits for orch to settle it.
fn refuse_pending(p: &Project) -> Result<()> {
    use crate::project::Pending;
    match p.pending() {
        None => Ok(()),
        Some(Pending::Running) => Err(Error::conflict(
            "an orch command is changing the task files right now; the commit was stopped",
        )
        .with_hint("commit again once it is done")),
        Some(Pending::Interrupted) => Err(Error::state(
            "an interrupted orch transition is pending, so the task files may be half written; the commit was stopped",
        )
        .with_hint("run `orch status` first (it finishes or rolls back the transition), then commit again")),
    }
}

/// The staged task-folder changes judged like commits, then the code-before-phase rule.
/// Refusals come back as a validation error with one diagnostic per broken rule.
pub fn pre_commit(p: &Project) -> Result<()> {
    refuse_pending(p)?;
    let repo = &p.git.repo;
    let Some(index) = read_index(repo)? else {
        return Ok(());
    };
    let head = head_tree(repo)?;
    let staged = staged_changes(repo, &index, head, TASKS_DIR, None, false)?;
    let mut by_task: BTreeMap<String, Vec<&Staged>> = BTreeMap::new();
    for s in &staged {
        let rest = &s.path[TASKS_DIR.len() + 1..];
        if let Some((task, file)) = rest.split_once('/') {
            if matches!(file, "session.json" | "events.jsonl") {
                by_task.entry(task.to_string()).or_default().push(s);
            }
        }
    }
    let mut violations: Vec<Violation> = vec![];
    let now = crate::clock::fmt(&crate::clock::now()?);
    let snap = IndexSnapshot {
        repo,
        index: &index,
    };
    let rules = RuleSet {
        workflow: &p.workflow,
        options: &p.config.workflow,
        templates: &p.templates,
    };
    let at = At {
        commit: None,
        date: Some(&now),
    };
    for (task, changes) in &by_task {
        let (old, new) = staged_task_files(repo, &index, task, changes)?;
        let gone = index
            .prefixed_entries_range(format!("{TASKS_DIR}/{task}/").as_bytes().as_bstr())
            .is_none_or(|r| r.is_empty());
        let (_, mut v) = verify::judge_task(&rules, task, &old, &new, &snap, &at, gone);
        if !v.is_empty() {
            // Putting a file back as it was before a violation in HEAD's history is the
            // repair verify recognises, not a transition.
            let restores = verify::restorable(p, task)?;
            v.retain(|x| {
                let events = x.file.ends_with("/events.jsonl");
                let staged = if events { &new.events } else { &new.session };
                !restores.iter().any(|(e, r)| *e == events && r == staged)
            });
        }
        violations.extend(v);
    }
    if !violations.is_empty() {
        return Err(refusal(&violations));
    }
    code_gate(p, &index, head)
}

/// A task's session.json and events.jsonl as HEAD has them and as the index has them.
fn staged_task_files(
    repo: &gix::Repository,
    index: &gix::index::File,
    task: &str,
    changes: &[&Staged],
) -> Result<(TaskFiles, TaskFiles)> {
    let mut old = TaskFiles::default();
    let mut new = TaskFiles::default();
    for file in ["session.json", "events.jsonl"] {
        let path = format!("{TASKS_DIR}/{task}/{file}");
        let (o, n) = match changes.iter().find(|s| s.path == path) {
            Some(s) => (
                s.head.map(|id| history::blob(repo, id)).transpose()?,
                s.index.map(|id| history::blob(repo, id)).transpose()?,
            ),
            None => {
                let same = match index.entry_by_path(path.as_bytes().as_bstr()) {
                    Some(e) => Some(history::blob(repo, e.id)?),
                    None => None,
                };
                (same.clone(), same)
            }
        };
        if file == "session.json" {
            old.session = o;
            new.session = n;
        } else {
            old.events = o;
            new.events = n;
        }
    }
    Ok((old, new))
}

fn refusal(violations: &[Violation]) -> Error {
    let first = violations[0].message.clone();
    let more = if violations.len() > 1 {
        format!(" (and {} more)", violations.len() - 1)
    } else {
        String::new()
    };
    Error::validation(format!("the staged session change breaks the phase rules: {first}{more}"))
        .with_hint("make transitions with `orch phase complete` / `orch phase set`, or commit with --no-verify to bypass the check")
        .with_diagnostics(violations.iter().map(Violation::to_diagnostic).collect())
}

/// The current task's session as the commit will have it: staged, else on disk.
fn current_session(
    p: &Project,
    index: Option<&gix::index::State>,
) -> Result<Option<(crate::code::TaskCode, Session)>> {
    let Some(code) = p.current_task()? else {
        return Ok(None);
    };
    let rel = format!("{}/session.json", p.task_rel(&code));
    let staged = index.and_then(|i| i.entry_by_path(rel.as_bytes().as_bstr()).map(|e| e.id));
    let session = match staged {
        Some(id) => Session::parse(
            &String::from_utf8_lossy(&history::blob(&p.git.repo, id)?),
            &rel,
        )
        .ok(),
        None => p.load_session(&code).ok().flatten(),
    };
    Ok(session.filter(|s| s.active).map(|s| (code, s)))
}

fn code_gate(p: &Project, index: &gix::index::State, head: Option<ObjectId>) -> Result<()> {
    let Some((code, s)) = current_session(p, Some(index))? else {
        return Ok(());
    };
    let from = &p.config.hooks.code_allowed_from;
    let (Some(cur), Some(gate)) = (
        p.workflow.index_of(&s.current_phase),
        p.workflow.index_of(from),
    ) else {
        return Ok(());
    };
    if cur >= gate {
        return trusted(p, &code, index, head);
    }
    let code_changes = staged_changes(&p.git.repo, index, head, "", Some(ORCH_DIR), true)?;
    if let Some(first) = code_changes.first() {
        return Err(Error::validation(format!(
            "{code} is in {}; code changes start in {from} — finish the {} (`orch phase complete`) or commit with --no-verify",
            s.current_phase, s.current_phase
        ))
        .with_hint(format!(
            "staged outside .orchestration/: {} — unstage it with `git restore --staged {}`, or end the task's session",
            first.path, first.path
        )));
    }
    Ok(())
}

/// The code gate does not trust a session whose committed chain `orch verify` rejects, or
/// whose folder was edited by hand in a way it would reject (a `current_phase` typed into
/// session.json): code is refused until that is undone or waived. A commit of task files
/// only stays possible, since that is how a violation is repaired.
fn trusted(
    p: &Project,
    code: &crate::code::TaskCode,
    index: &gix::index::State,
    head: Option<ObjectId>,
) -> Result<()> {
    let broken = super::integrity::task(p, code)?;
    let Some(first) = broken.first() else {
        return Ok(());
    };
    let code_changes = staged_changes(&p.git.repo, index, head, "", Some(ORCH_DIR), true)?;
    if code_changes.is_empty() {
        return Ok(());
    }
    Err(Error::validation(format!(
        "{code}'s recorded state cannot be relied on: {} — code commits wait until it is undone or waived",
        first.message
    ))
    .with_hint(first.fix.clone())
    .with_diagnostics(broken))
}

/// What commit-msg did to the message.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CommitMsg {
    /// Whether the file changed.
    pub changed: bool,
    /// `Orchestration-*` trailer lines the message carried that disagreed with the task and
    /// phase the commit is made in, and were taken out.
    pub replaced: Vec<String>,
}

fn is_orch_trailer(token: &str) -> bool {
    [trailers::TASK, trailers::PHASE, trailers::SESSION]
        .iter()
        .any(|t| t.eq_ignore_ascii_case(token))
}

/// commit-msg: the `Orchestration-*` trailers say what the commit records — the current
/// task and its phase as the commit will have them (staged, else on disk). Typed ones that
/// disagree are replaced, and without a current session they must agree with the staged
/// session of the task they name, as `orch verify` will check (`trailer_mismatch`).
pub fn commit_msg(p: &Project, file: &Path) -> Result<CommitMsg> {
    let index = read_index(&p.git.repo)?;
    let current = current_session(p, index.as_deref())?;
    let msg = std::fs::read_to_string(file).map_err(|e| Error::io(file, e))?;
    let comment = p
        .git
        .repo
        .config_snapshot()
        .string("core.commentChar")
        .map(|c| c.to_string())
        .filter(|c| !c.is_empty() && c != "auto")
        .unwrap_or_else(|| "#".into());
    let (out, replaced) = match &current {
        Some((code, s)) => {
            let agrees = |t: &str, v: &str| {
                (t.eq_ignore_ascii_case(trailers::TASK) && v == code.as_str())
                    || (t.eq_ignore_ascii_case(trailers::PHASE) && v == s.current_phase)
                    || (t.eq_ignore_ascii_case(trailers::SESSION) && v == s.session_key)
            };
            let (stripped, removed) =
                remove_trailers(&msg, &comment, |t, v| is_orch_trailer(t) && !agrees(t, v));
            let added = add_trailers(
                &stripped,
                &[
                    (trailers::TASK, code.as_str()),
                    (trailers::PHASE, &s.current_phase),
                ],
                &comment,
            );
            (added, removed)
        }
        None if typed_trailers_disagree(p, index.as_deref(), &msg)? => {
            remove_trailers(&msg, &comment, |t, _| is_orch_trailer(t))
        }
        None => (msg.clone(), vec![]),
    };
    if out == msg {
        return Ok(CommitMsg::default());
    }
    std::fs::write(file, &out).map_err(|e| Error::io(file, e))?;
    Ok(CommitMsg {
        changed: true,
        replaced,
    })
}

/// Without a current session: do the typed trailers disagree with the staged session of the
/// task they name (or name no task at all)?
fn typed_trailers_disagree(
    p: &Project,
    index: Option<&gix::index::State>,
    msg: &str,
) -> Result<bool> {
    let typed = trailers::ours(&history::parse_trailers(msg));
    if typed.is_empty() {
        return Ok(false);
    }
    let one = |token: &str| -> Vec<&str> {
        let mut v: Vec<&str> = typed
            .iter()
            .filter(|(t, _)| t == token)
            .map(|(_, v)| v.as_str())
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let (tasks, phases, keys) = (
        one(trailers::TASK),
        one(trailers::PHASE),
        one(trailers::SESSION),
    );
    if tasks.len() != 1 || phases.len() > 1 || keys.len() > 1 {
        return Ok(true);
    }
    let task = tasks[0];
    let dir = format!("{TASKS_DIR}/{task}/");
    let exists = index
        .and_then(|i| i.prefixed_entries_range(dir.as_bytes().as_bstr()))
        .is_some_and(|r| !r.is_empty());
    let rel = format!("{dir}session.json");
    let session = match index.and_then(|i| i.entry_by_path(rel.as_bytes().as_bstr())) {
        Some(e) => Session::parse(
            &String::from_utf8_lossy(&history::blob(&p.git.repo, e.id)?),
            &rel,
        )
        .ok(),
        None => None,
    };
    Ok(trailers::disagreement(
        task,
        exists,
        session.as_ref(),
        &p.workflow.first().name,
        phases.first().copied(),
        keys.first().copied(),
    )
    .is_some())
}

// ---------------------------------------------------------------------------------------------
// pre-push

/// pre-push: verifies the commits each pushed ref brings to `remote`. `stdin` is git's
/// `<local ref> <local sha> <remote ref> <remote sha>` lines.
pub fn pre_push(p: &Project, remote: &str, stdin: &str) -> Result<verify::VerifyReport> {
    let repo = &p.git.repo;
    let zero = |s: &str| s.chars().all(|c| c == '0');
    let mut tips = vec![];
    let mut hidden = vec![];
    for line in stdin.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let [_, local, _, remote_sha] = f[..] else {
            continue;
        };
        if zero(local) {
            continue;
        }
        let Ok(local) = ObjectId::from_hex(local.as_bytes()) else {
            continue;
        };
        tips.push(local);
        match ObjectId::from_hex(remote_sha.as_bytes()) {
            Ok(r) if !zero(remote_sha) && repo.find_object(r).is_ok() => hidden.push(r),
            _ => {
                if let Ok(refs) = repo.references() {
                    if let Ok(iter) = refs.prefixed(format!("refs/remotes/{remote}/").as_str()) {
                        for mut r in iter.flatten() {
                            if let Ok(id) = r.peel_to_id() {
                                hidden.push(id.detach());
                            }
                        }
                    }
                }
            }
        }
    }
    verify::verify(p, &tips, &hidden, &[])
}
