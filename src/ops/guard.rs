//! Before orch commits a task folder: the rules in force are the committed ones, and the
//! folder's new state is judged against HEAD's committed version by exactly the code
//! `orch verify` and the pre-commit hook use. So orch never writes a commit its own verify
//! rejects, and a hand edit it would have swept into its commit is refused instead, with the
//! way to undo it.

use crate::config::Config;
use crate::diagnostic::Diagnostic;
use crate::git::history;
use crate::project::{Project, ORCH_DIR};
use crate::store::FileWrite;
use crate::verify::{
    self, At, RuleSet, Snapshot, TaskFiles, Violation, WorktreeSnapshot, TASKS_DIR,
};
use crate::{Error, Result};
use gix::ObjectId;
use std::collections::{HashMap, HashSet};

/// Judges a commit of `commit_paths` with `writes` laid over the working tree, before
/// anything is written (`committing`: orch makes the commit; without, only the rules are
/// checked, as the user commits later). Nothing to judge on an unborn branch: no committed
/// state exists.
pub(crate) fn before_commit(
    p: &Project,
    writes: &[FileWrite],
    removals: &[std::path::PathBuf],
    commit_paths: &[&str],
    committing: bool,
) -> Result<()> {
    let Some(head) = p.git.head_id()? else {
        return Ok(());
    };
    let root = history::commit_tree_parents(&p.git.repo, head)?.0;
    let writes: HashMap<String, Vec<u8>> = writes
        .iter()
        .filter_map(|w| Some((p.git.rel_path(&w.path)?, w.bytes.clone())))
        .collect();
    let removed: HashSet<String> = removals.iter().filter_map(|r| p.git.rel_path(r)).collect();
    if writes.keys().chain(&removed).any(|k| judged_file(k)) {
        rules_committed(p, root)?;
    }
    if !committing {
        return Ok(());
    }
    for scope in commit_paths {
        let Some(task) = task_of(scope) else {
            continue;
        };
        judge_folder(p, root, task, scope, &writes, &removed)?;
    }
    Ok(())
}

/// `.orchestration/tasks/<T>[/...]` → `T`.
fn task_of(scope: &str) -> Option<&str> {
    let rest = scope.strip_prefix(TASKS_DIR)?.strip_prefix('/')?;
    rest.split('/').next().filter(|t| !t.is_empty())
}

fn files(snap: &WorktreeSnapshot, task: &str) -> TaskFiles {
    TaskFiles {
        session: snap.bytes(&format!("{TASKS_DIR}/{task}/session.json")),
        events: snap.bytes(&format!("{TASKS_DIR}/{task}/events.jsonl")),
    }
}

/// The task folder as the disk has it against HEAD (a hand edit), then with this command's
/// writes (what orch is about to commit).
fn judge_folder(
    p: &Project,
    root: ObjectId,
    task: &str,
    scope: &str,
    writes: &HashMap<String, Vec<u8>>,
    removed: &HashSet<String>,
) -> Result<()> {
    let found = hand_edits(p, root, task, scope)?;
    if !found.is_empty() {
        return Err(refusal(&found, true));
    }
    let repo = &p.git.repo;
    let head = head_files(repo, root, task)?;
    let (rules, now) = (rules(p), crate::clock::fmt(&crate::clock::now()?));
    let at = At {
        commit: None,
        date: Some(&now),
    };
    let snap = |w: HashMap<String, Vec<u8>>| {
        WorktreeSnapshot::new(repo, Some(root), p.root.clone(), scope.to_string(), w)
    };
    // Only the scope's own writes: a commit of many task folders (`orch compact`) would
    // otherwise copy every folder's writes once per folder.
    let inside = |k: &String| k == scope || k.starts_with(&format!("{scope}/"));
    let own: HashMap<String, Vec<u8>> = writes
        .iter()
        .filter(|(k, _)| inside(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let gone: HashSet<String> = removed.iter().filter(|k| inside(k)).cloned().collect();
    let next = snap(own).removing(gone);
    let new = files(&next, task);
    let (_, v) = verify::judge_task(&rules, task, &head, &new, &next, &at, false);
    if !v.is_empty() {
        return Err(refusal(&v, false));
    }
    Ok(())
}

fn head_files(repo: &gix::Repository, root: ObjectId, task: &str) -> Result<TaskFiles> {
    Ok(TaskFiles {
        session: history::blob_at(repo, root, &format!("{TASKS_DIR}/{task}/session.json"))?,
        events: history::blob_at(repo, root, &format!("{TASKS_DIR}/{task}/events.jsonl"))?,
    })
}

fn rules(p: &Project) -> RuleSet<'_> {
    RuleSet {
        workflow: &p.workflow,
        options: &p.config.workflow,
        templates: &p.templates,
    }
}

/// What a hand edit did to the task folder in the working tree that `orch verify` would
/// reject once committed: the folder on disk judged against HEAD's (tree `root`) as a commit.
pub(crate) fn hand_edits(
    p: &Project,
    root: ObjectId,
    task: &str,
    scope: &str,
) -> Result<Vec<Violation>> {
    let repo = &p.git.repo;
    let head = head_files(repo, root, task)?;
    let now = crate::clock::fmt(&crate::clock::now()?);
    let at = At {
        commit: None,
        date: Some(&now),
    };
    let disk = WorktreeSnapshot::new(
        repo,
        Some(root),
        p.root.clone(),
        scope.to_string(),
        HashMap::new(),
    );
    let mut found = deleted(repo, root, task, scope, &disk)?;
    let on_disk = files(&disk, task);
    if on_disk != head {
        found.extend(verify::judge_task(&rules(p), task, &head, &on_disk, &disk, &at, false).1);
    }
    Ok(found)
}

/// The way out of a hand edit: put the file back as committed, then make the change with orch.
pub(crate) fn restore_fix(v: &Violation) -> String {
    format!(
        "put it back with `git restore --source=HEAD -- {}`, then {}",
        v.file, v.redo
    )
}

/// session.json and events.jsonl have rules of their own (`session_deleted`,
/// `events_deleted`), judged with the rest of their change.
fn judged_file(path: &str) -> bool {
    path.ends_with("/session.json") || path.ends_with("/events.jsonl")
}

/// Files of the task folder that HEAD has and the commit would delete (`file_deleted`).
fn deleted(
    repo: &gix::Repository,
    root: ObjectId,
    task: &str,
    scope: &str,
    disk: &WorktreeSnapshot,
) -> Result<Vec<Violation>> {
    let mut out = vec![];
    let Some(node) = history::entry_at(repo, root, scope)? else {
        return Ok(out);
    };
    let mut stack = vec![(scope.to_string(), node)];
    while let Some((path, node)) = stack.pop() {
        if node.mode.is_tree() {
            for (name, child) in history::list_tree(repo, node.id)? {
                stack.push((format!("{path}/{name}"), child));
            }
        } else if disk.node(&path).is_none() && !judged_file(&path) {
            out.push(Violation {
                commit: None,
                task: task.to_string(),
                rule: "file_deleted".into(),
                file: path.clone(),
                message: format!("{task}: {path} was deleted, but HEAD has it"),
                fix: String::new(),
                redo: "delete task files only with a commit of your own".into(),
            });
        }
    }
    out.sort_by(|a, b| a.file.cmp(&b.file));
    Ok(out)
}

/// Exit 4, naming the file and the rule, with the fix that works: put the file back as
/// committed, then make the change with orch.
fn refusal(found: &[Violation], by_hand: bool) -> Error {
    let diags: Vec<Diagnostic> = found
        .iter()
        .map(|v| {
            let fix = format!("{} and run the command again", restore_fix(v));
            Diagnostic::error(&v.rule, &v.file, v.message.clone(), fix)
        })
        .collect();
    let first = &found[0];
    let why = if by_hand {
        "it was changed by hand in a way `orch verify` rejects, and this command would commit it"
    } else {
        "the commit this command would make fails `orch verify`"
    };
    Error::state(format!(
        "{}: {} (rule {}); {why}",
        first.file, first.message, first.rule
    ))
    .with_hint(diags[0].fix.clone())
    .with_diagnostics(diags)
}

/// Refuses (exit 4) while the rules in force differ from HEAD's: for a command that writes
/// from them without judging a session, as `task new` renders TASK.md from the template.
pub(crate) fn require_committed_rules(p: &Project) -> Result<()> {
    match p.git.head_id()? {
        Some(head) => rules_committed(p, history::commit_tree_parents(&p.git.repo, head)?.0),
        None => Ok(()),
    }
}

/// What `orch next` and `orch status` show while the rules are not committed: every
/// transition is refused until they are, so it is the first blocker.
pub(crate) fn rules_blocker(p: &Project) -> Option<Diagnostic> {
    // Only the refusal itself: a repository that cannot be read says so elsewhere.
    let e = require_committed_rules(p)
        .err()
        .filter(|e| e.kind == crate::error::ErrorKind::State)?;
    Some(Diagnostic::error(
        "rules_uncommitted",
        ORCH_DIR,
        e.message,
        e.hint.unwrap_or_default(),
    ))
}

/// The rules in force are HEAD's: config.toml's rule sections, workflow.yaml and the
/// templates must not differ from what HEAD has, or orch would obey rules `orch verify`
/// does not (it judges each commit by its parent's). `[git]` is no rule.
fn rules_committed(p: &Project, root: ObjectId) -> Result<()> {
    let repo = &p.git.repo;
    // Each changed file, with what changed in it when that is narrower than the file.
    let mut changed: Vec<(String, Vec<String>)> = vec![];
    let cfg = format!("{ORCH_DIR}/config.toml");
    let head_cfg = match history::blob_at(repo, root, &cfg)? {
        Some(b) => Config::parse(&String::from_utf8_lossy(&b), std::path::Path::new(&cfg)).ok(),
        None => Some(Config::default()),
    };
    match head_cfg.map(|h| rule_keys_differ(&h, &p.config)) {
        Some(keys) if keys.is_empty() => {}
        Some(keys) => changed.push((cfg, keys)),
        None => changed.push((cfg, vec![])),
    }
    let wf = format!("{ORCH_DIR}/workflow.yaml");
    if history::blob_at(repo, root, &wf)? != std::fs::read(p.root.join(&wf)).ok() {
        changed.push((wf, vec![]));
    }
    changed.extend(templates_changed(p, root)?.into_iter().map(|t| (t, vec![])));
    if changed.is_empty() {
        return Ok(());
    }
    let named: Vec<String> = changed
        .iter()
        .map(|(path, keys)| match keys.is_empty() {
            true => path.clone(),
            false => format!("{path} ({})", keys.join(", ")),
        })
        .collect();
    Err(Error::state(format!(
        "the rules in force are the committed ones, and {} {} uncommitted changes",
        named.join(", "),
        if named.len() == 1 { "has" } else { "have" }
    ))
    .with_hint(format!(
        "commit them first (`{}`), or put back the committed ones (`git restore --source=HEAD -- FILE`, or delete a file HEAD does not have); then run the command again",
        commit_command(p, changed.iter().map(|(path, _)| path.as_str()))
    )))
}

/// The command that commits `paths` as they are on disk: files there are added first (a new
/// one is not known to git yet), and every path is committed (a removed one as removed).
fn commit_command<'a>(p: &Project, paths: impl Iterator<Item = &'a str>) -> String {
    let all: Vec<String> = paths.map(str::to_string).collect();
    let present: Vec<String> = all
        .iter()
        .filter(|path| p.root.join(path).exists())
        .cloned()
        .collect();
    let commit = format!(
        "git commit -m \"Change the workflow rules\" -- {}",
        crate::gates::quoted(&all)
    );
    match present.is_empty() {
        true => commit,
        false => format!("git add -- {} && {commit}", crate::gates::quoted(&present)),
    }
}

/// `table.key` of every rule option whose value differs between two configs.
pub(crate) fn rule_keys_differ(a: &Config, b: &Config) -> Vec<String> {
    let as_table = |c: &Config| {
        toml::Value::try_from(c)
            .ok()
            .and_then(|v| v.as_table().cloned())
    };
    let (Some(a), Some(b)) = (as_table(a), as_table(b)) else {
        return vec!["config".into()];
    };
    let mut out = vec![];
    let tables: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    for t in tables.into_iter().filter(|t| *t != "git") {
        let (ta, tb) = (a.get(t), b.get(t));
        if ta == tb {
            continue;
        }
        let keys =
            |v: Option<&toml::Value>| v.and_then(|v| v.as_table().cloned()).unwrap_or_default();
        let (ka, kb) = (keys(ta), keys(tb));
        let names: std::collections::BTreeSet<&String> = ka.keys().chain(kb.keys()).collect();
        let before = out.len();
        for k in names {
            if ka.get(k) != kb.get(k) {
                out.push(format!("{t}.{k}"));
            }
        }
        if out.len() == before {
            out.push(t.clone());
        }
    }
    out
}

/// Templates the working tree has differently from HEAD (added, changed or removed).
fn templates_changed(p: &Project, root: ObjectId) -> Result<Vec<String>> {
    let repo = &p.git.repo;
    let rel = format!("{ORCH_DIR}/templates");
    let mut at_head: HashMap<String, Vec<u8>> = HashMap::new();
    if let Some(n) = history::entry_at(repo, root, &rel)?.filter(|n| n.mode.is_tree()) {
        for (name, child) in history::list_tree(repo, n.id)? {
            if child.mode.is_blob() {
                at_head.insert(name, history::blob(repo, child.id)?);
            }
        }
    }
    let mut on_disk: HashMap<String, Vec<u8>> = HashMap::new();
    if let Ok(rd) = std::fs::read_dir(p.root.join(&rel)) {
        for e in rd.flatten() {
            if e.file_type().is_ok_and(|t| t.is_file()) {
                if let Ok(b) = std::fs::read(e.path()) {
                    on_disk.insert(e.file_name().to_string_lossy().into_owned(), b);
                }
            }
        }
    }
    let mut names: Vec<&String> = at_head.keys().chain(on_disk.keys()).collect();
    names.sort();
    names.dedup();
    Ok(names
        .into_iter()
        .filter(|n| at_head.get(*n) != on_disk.get(*n))
        .map(|n| format!("{rel}/{n}"))
        .collect())
}
