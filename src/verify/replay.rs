//! Replaying history: every commit in a range, oldest first, each task-folder change judged
//! against its parent by the rules the parent had committed. A later commit that puts a file
//! back as it was before a violation repairs it; a recorded waiver accepts it; what is left
//! gets the ways out that work from where the repository stands.

use super::repair::{Undo, ViolationKind};
use super::{judge_merge, judge_task, At, RuleSet, TaskFiles, TreeSnapshot, Violation, TASKS_DIR};
use crate::config::{Config, WorkflowOptions};
use crate::git::history::{self, Node};
use crate::project::{Project, ORCH_DIR};
use crate::workflow::Workflow;
use crate::Result;
use gix::ObjectId;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::rc::Rc;

#[derive(Debug, Clone, Default, Serialize)]
pub struct VerifyReport {
    /// Commits looked at.
    pub commits: usize,
    /// Commits that changed a task folder.
    pub task_commits: usize,
    /// session.json changes judged.
    pub transitions: usize,
    pub tasks: Vec<String>,
    pub violations: Vec<Violation>,
    /// Violations a later commit undid by putting the file back as it was before them.
    pub repaired: Vec<Repaired>,
    /// Violations accepted with `orch verify --accept`.
    pub waived: Vec<Waived>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Repaired {
    #[serde(flatten)]
    pub violation: Violation,
    /// The commit that restored the state before the violation.
    pub repaired_by: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Waived {
    #[serde(flatten)]
    pub violation: Violation,
    pub waiver: super::waiver::Waiver,
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.violations.is_empty()
    }

    /// One line for humans: what was checked and the outcome.
    pub fn verdict(&self) -> String {
        if self.ok() {
            let mut kept = vec![];
            if !self.repaired.is_empty() {
                kept.push(format!("{} repaired", self.repaired.len()));
            }
            if !self.waived.is_empty() {
                kept.push(format!("{} waived", self.waived.len()));
            }
            let kept = if kept.is_empty() {
                String::new()
            } else {
                format!(" ({})", kept.join(", "))
            };
            format!(
                "verified: {} transition{} in {} commit{} across {} task{}, no violations{kept}",
                self.transitions,
                plural(self.transitions),
                self.task_commits,
                plural(self.task_commits),
                self.tasks.len(),
                plural(self.tasks.len())
            )
        } else {
            format!(
                "{} violation{} in {} commit{} touching tasks ({} transition{} checked)",
                self.violations.len(),
                plural(self.violations.len()),
                self.task_commits,
                plural(self.task_commits),
                self.transitions,
                plural(self.transitions)
            )
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

type Listing = Rc<BTreeMap<String, Node>>;

/// Violations of one task file since its last legal state, oldest first.
struct Pending {
    commit: ObjectId,
    /// The file as it was before the violating commit: putting it back repairs this one and
    /// every later pending violation of the same file.
    restore: Option<Vec<u8>>,
    violations: Vec<usize>,
}

/// Which of a task's judged files a violation is about.
fn file_key(task: &str, file: &str) -> (String, bool) {
    (task.to_string(), file.ends_with("/events.jsonl"))
}

/// Everything verify reads repeatedly, cached by object id, and what it learnt on the way.
struct Replay<'a> {
    p: &'a Project,
    repo: &'a gix::Repository,
    listings: HashMap<ObjectId, Listing>,
    configs: HashMap<Option<ObjectId>, Rc<WorkflowOptions>>,
    workflows: HashMap<Option<ObjectId>, Rc<Workflow>>,
    /// The tasks folder of each commit seen, so a parent's is read once.
    tasks_of: HashMap<ObjectId, Option<ObjectId>>,
    /// Per task and file (`true`: events.jsonl), the violations not repaired yet.
    pending: HashMap<(String, bool), Vec<Pending>>,
    /// Violation index → the commit that repaired it.
    repaired_by: HashMap<usize, ObjectId>,
    /// The commits that changed each task folder, in replay order.
    touched: HashMap<String, Vec<ObjectId>>,
    /// Violation indices that turned out to be repairs of history outside the range.
    dropped: HashSet<usize>,
}

impl<'a> Replay<'a> {
    fn new(p: &'a Project, repo: &'a gix::Repository) -> Replay<'a> {
        Replay {
            p,
            repo,
            listings: HashMap::new(),
            configs: HashMap::new(),
            workflows: HashMap::new(),
            tasks_of: HashMap::new(),
            pending: HashMap::new(),
            repaired_by: HashMap::new(),
            touched: HashMap::new(),
            dropped: HashSet::new(),
        }
    }

    fn listing(&mut self, tree: Option<ObjectId>) -> Result<Listing> {
        let Some(t) = tree else {
            return Ok(Rc::new(BTreeMap::new()));
        };
        if let Some(l) = self.listings.get(&t) {
            return Ok(l.clone());
        }
        if self.listings.len() > 256 {
            self.listings.clear();
        }
        let l: Listing = Rc::new(history::list_tree(self.repo, t)?.into_iter().collect());
        self.listings.insert(t, l.clone());
        Ok(l)
    }

    fn tasks_tree(&self, root: ObjectId) -> Result<Option<ObjectId>> {
        Ok(history::entry_at(self.repo, root, TASKS_DIR)?
            .filter(|n| n.mode.is_tree())
            .map(|n| n.id))
    }

    fn task_files(&mut self, task_tree: Option<Node>) -> Result<TaskFiles> {
        let Some(n) = task_tree.filter(|n| n.mode.is_tree()) else {
            return Ok(TaskFiles::default());
        };
        let l = self.listing(Some(n.id))?;
        let read = |name: &str| -> Result<Option<Vec<u8>>> {
            match l.get(name) {
                Some(n) if n.mode.is_blob() => history::blob(self.repo, n.id).map(Some),
                _ => Ok(None),
            }
        };
        Ok(TaskFiles {
            session: read("session.json")?,
            events: read("events.jsonl")?,
        })
    }

    /// The workflow and options committed in the tree `root`; the defaults without one.
    fn rules_at(&mut self, root: Option<ObjectId>) -> Result<(Rc<Workflow>, Rc<WorkflowOptions>)> {
        let orch_dir = match root {
            Some(root) => history::entry_at(self.repo, root, ORCH_DIR)?.map(|n| n.id),
            None => None,
        };
        let orch = self.listing(orch_dir)?;
        let cfg_id = orch.get("config.toml").map(|n| n.id);
        let wf_id = orch.get("workflow.yaml").map(|n| n.id);
        if !self.configs.contains_key(&cfg_id) {
            let opts = match cfg_id {
                Some(id) => {
                    let text = String::from_utf8_lossy(&history::blob(self.repo, id)?).into_owned();
                    Config::parse(&text, std::path::Path::new(".orchestration/config.toml"))
                        .map(|c| c.workflow)
                        .unwrap_or_else(|_| self.p.config.workflow.clone())
                }
                None => WorkflowOptions::default(),
            };
            self.configs.insert(cfg_id, Rc::new(opts));
        }
        if !self.workflows.contains_key(&wf_id) {
            let wf = match wf_id {
                Some(id) => {
                    let text = String::from_utf8_lossy(&history::blob(self.repo, id)?).into_owned();
                    Workflow::parse(&text, ".orchestration/workflow.yaml", &self.p.templates)
                        .unwrap_or_else(|_| self.p.workflow.clone())
                }
                None => Workflow::builtin(&self.p.templates)?,
            };
            self.workflows.insert(wf_id, Rc::new(wf));
        }
        Ok((
            self.workflows[&wf_id].clone(),
            self.configs[&cfg_id].clone(),
        ))
    }
}

/// Replays the commits reachable from `tips` and not from `hidden` (all of them when `hidden`
/// is empty) and judges every change to a task folder; `codes` limits it to those tasks.
pub fn verify(
    p: &Project,
    tips: &[ObjectId],
    hidden: &[ObjectId],
    codes: &[String],
) -> Result<VerifyReport> {
    let walker = history::for_walking(&p.git.repo);
    let (mut report, mut rp) = replay(p, &walker, tips, hidden, codes)?;
    if !hidden.is_empty() {
        repairs_of_hidden(p, &walker, &mut rp, &mut report)?;
    }
    settle(&walker, rp, tips, &mut report)?;
    Ok(report)
}

/// A range leaves out the history before it, where the violation a commit in the range
/// repairs may lie. For each violation found in the range, the task's whole history up to
/// that commit decides: if there the commit is a repair, it is one here too, and the
/// violations it repaired are reported as such.
fn repairs_of_hidden(
    p: &Project,
    repo: &gix::Repository,
    rp: &mut Replay,
    report: &mut VerifyReport,
) -> Result<()> {
    let mut seen: HashSet<(ObjectId, String)> = HashSet::new();
    for (i, v) in report.violations.iter().enumerate() {
        let Some(c) = v
            .commit
            .as_deref()
            .and_then(|c| ObjectId::from_hex(c.as_bytes()).ok())
        else {
            continue;
        };
        if v.rule == "trailer_mismatch" || rp.repaired_by.contains_key(&i) {
            continue;
        }
        if !seen.insert((c, v.task.clone())) {
            continue;
        }
        let (whole, wrp) = replay(p, repo, &[c], &[], std::slice::from_ref(&v.task))?;
        let by_c: Vec<usize> = (0..whole.violations.len())
            .filter(|j| wrp.repaired_by.get(j) == Some(&c))
            .collect();
        if by_c.is_empty() {
            continue;
        }
        let ours = |x: &Violation| x.commit == v.commit;
        for (k, x) in report.violations.iter().enumerate() {
            let gone = x.task == v.task
                && ours(x)
                && !whole.violations.iter().any(|w| ours(w) && w.file == x.file);
            if gone {
                rp.dropped.insert(k);
            }
        }
        for j in by_c {
            report.repaired.push(Repaired {
                violation: whole.violations[j].clone(),
                repaired_by: c.to_string(),
            });
        }
    }
    Ok(())
}

/// The content each of `task`'s files (`events.jsonl` when the flag is set) had before its
/// oldest violation not repaired yet in HEAD's history: committing a file back to one of these
/// is a repair, not a transition.
pub fn restorable(p: &Project, task: &str) -> Result<Vec<(bool, Option<Vec<u8>>)>> {
    let Some(head) = p.git.head_id()? else {
        return Ok(vec![]);
    };
    let walker = history::for_walking(&p.git.repo);
    let (_, rp) = replay(p, &walker, &[head], &[], &[task.to_string()])?;
    Ok(rp
        .pending
        .into_iter()
        .filter(|((t, _), _)| t == task)
        .flat_map(|((_, events), ps)| ps.into_iter().map(move |p| (events, p.restore)))
        .collect())
}

fn replay<'a>(
    p: &'a Project,
    repo: &'a gix::Repository,
    tips: &[ObjectId],
    hidden: &[ObjectId],
    codes: &[String],
) -> Result<(VerifyReport, Replay<'a>)> {
    let mut commits = history::range_commits(repo, tips, hidden)?;
    commits.reverse();
    let mut rp = Replay::new(p, repo);
    let only: HashSet<&str> = codes.iter().map(String::as_str).collect();
    let mut report = VerifyReport {
        commits: commits.len(),
        task_commits: 0,
        transitions: 0,
        tasks: vec![],
        violations: vec![],
        repaired: vec![],
        waived: vec![],
    };
    let mut tasks: BTreeSet<String> = BTreeSet::new();
    let cut = history::shallow_cut(repo);
    for id in commits {
        if cut.contains(&id) {
            // Where a shallow clone's history starts: nothing to judge it against.
            shallow_start(repo, &cut, id, &only)?;
            continue;
        }
        let c = rp.commit_tasks(id)?;
        if let Some(trailers) = &c.trailers {
            let parent_root = match c.first_parent {
                Some(par) => Some(history::commit_tree_parents(repo, par)?.0),
                None => None,
            };
            let first = rp.rules_at(parent_root)?.0.first().name.clone();
            let v = super::trailers::judge(repo, &c, trailers, &first, &only)?;
            report.violations.extend(v);
        }
        let mut changed = rp.changed_tasks(&c)?;
        changed.retain(|t| only.is_empty() || only.contains(t.as_str()));
        if changed.is_empty() {
            continue;
        }
        report.task_commits += 1;
        rp.judge_commit(&c, &changed, &mut report)?;
        for t in &changed {
            rp.touched.entry(t.clone()).or_default().push(id);
        }
        tasks.extend(changed);
    }
    report.tasks = tasks.into_iter().collect();
    Ok((report, rp))
}

/// A commit at the cut of a shallow clone, whose parents are not here. It is judged against
/// nothing: if a task being verified already exists there, its history goes on beyond what is
/// here, and the error says which history is missing; otherwise the verified tasks all begin
/// after it and it is only the base.
fn shallow_start(
    repo: &gix::Repository,
    cut: &[ObjectId],
    id: ObjectId,
    only: &HashSet<&str>,
) -> Result<()> {
    let tree = history::commit_tree_parents(repo, id)?.0;
    let tasks = history::list_folder(repo, tree, TASKS_DIR)?;
    let before: Vec<&str> = tasks
        .iter()
        .map(|(name, _)| name.as_str())
        .filter(|t| only.is_empty() || only.contains(t))
        .collect();
    match before.first() {
        Some(t) => Err(history::shallow_error(
            repo,
            cut,
            &format!(
                "verifying {t}{}",
                if before.len() > 1 {
                    " and other tasks"
                } else {
                    ""
                }
            ),
        )),
        None => Ok(()),
    }
}

/// Sorts the violations found into repaired, waived and standing, and gives each standing
/// one the ways out that work from here.
fn settle(
    repo: &gix::Repository,
    rp: Replay,
    tips: &[ObjectId],
    report: &mut VerifyReport,
) -> Result<()> {
    let all = std::mem::take(&mut report.violations);
    let mut standing = vec![];
    for (i, v) in all.into_iter().enumerate() {
        if rp.dropped.contains(&i) {
            continue;
        }
        match rp.repaired_by.get(&i) {
            Some(by) => report.repaired.push(Repaired {
                violation: v,
                repaired_by: by.to_string(),
            }),
            None => standing.push(v),
        }
    }
    let waivers = super::waiver::Waivers::at(repo, tips, &standing)?;
    let undo = Undo::new(repo, rp.p.config.git.commit)?;
    for mut v in standing {
        if let Some(w) = waivers.find(&v) {
            report.waived.push(Waived {
                violation: v,
                waiver: w.clone(),
            });
            continue;
        }
        if let Some(c) = v
            .commit
            .as_deref()
            .and_then(|c| ObjectId::from_hex(c.as_bytes()).ok())
        {
            let later = rp
                .touched
                .get(&v.task)
                .map_or(0, |ts| ts.iter().skip_while(|t| **t != c).skip(1).count());
            let kind = if v.rule == "trailer_mismatch" {
                ViolationKind::Message
            } else {
                ViolationKind::TaskFile
            };
            v.fix = undo.fix(c, &v, kind, later)?;
        }
        report.violations.push(v);
    }
    Ok(())
}

/// A commit's tasks folder and its parents' (one `None` for a root commit).
pub(super) struct CommitTasks {
    pub id: ObjectId,
    pub tree: ObjectId,
    /// The first parent, whose committed rules were in force when the commit was made.
    pub first_parent: Option<ObjectId>,
    pub tasks: Option<ObjectId>,
    pub parents: Vec<Option<ObjectId>>,
    /// The `Orchestration-*` trailers of its message, when it has any.
    pub trailers: Option<Vec<(String, String)>>,
}

impl Replay<'_> {
    /// The tasks folders of `id` and its parents; each commit's is read once.
    fn commit_tasks(&mut self, id: ObjectId) -> Result<CommitTasks> {
        let (tree, parents, trailers) = super::trailers::commit_brief(self.repo, id)?;
        let tasks = self.tasks_tree(tree)?;
        self.tasks_of.insert(id, tasks);
        let mut parent_tts = Vec::with_capacity(parents.len().max(1));
        for par in &parents {
            let ptt = match self.tasks_of.get(par) {
                Some(t) => *t,
                None => {
                    let t = self.tasks_tree(history::commit_tree_parents(self.repo, *par)?.0)?;
                    self.tasks_of.insert(*par, t);
                    t
                }
            };
            parent_tts.push(ptt);
        }
        if parents.is_empty() {
            parent_tts.push(None);
        }
        Ok(CommitTasks {
            id,
            tree,
            first_parent: parents.first().copied(),
            tasks,
            parents: parent_tts,
            trailers,
        })
    }

    /// The task folders that differ from any parent's.
    fn changed_tasks(&self, c: &CommitTasks) -> Result<BTreeSet<String>> {
        let mut changed: BTreeSet<String> = BTreeSet::new();
        for ptt in &c.parents {
            for (name, _, _) in history::diff_names(self.repo, c.tasks, *ptt)? {
                changed.insert(name);
            }
        }
        Ok(changed)
    }

    /// Judges each changed task of one commit against its parent (or, for a merge, its
    /// parents) by the rules committed in its first parent.
    fn judge_commit(
        &mut self,
        c: &CommitTasks,
        changed: &BTreeSet<String>,
        report: &mut VerifyReport,
    ) -> Result<()> {
        let repo = self.repo;
        // A transition is judged by the rules its parent had committed, so a commit that
        // loosens the rules cannot use them at once.
        let parent_root = match c.first_parent {
            Some(par) => Some(history::commit_tree_parents(repo, par)?.0),
            None => None,
        };
        let (wf, opts) = self.rules_at(parent_root)?;
        let rules = RuleSet {
            workflow: &wf,
            options: &opts,
            templates: &self.p.templates,
        };
        let idhex = c.id.to_string();
        let date = history::commit_meta(repo, c.id)?.date();
        let at = At {
            commit: Some(&idhex),
            date: Some(&date),
        };
        let snap = TreeSnapshot { repo, root: c.tree };
        for task in changed {
            let node = |t: Option<ObjectId>| -> Result<Option<Node>> {
                match t {
                    Some(t) => history::child(repo, t, task.as_bytes()),
                    None => Ok(None),
                }
            };
            let mine = node(c.tasks)?;
            let new = self.task_files(mine)?;
            let mut olds = Vec::with_capacity(c.parents.len());
            for ptt in &c.parents {
                let n = node(*ptt)?;
                olds.push(self.task_files(n)?);
            }
            let gone = mine.is_none();
            let first = report.violations.len();
            let old = olds.first().cloned().unwrap_or_default();
            if olds.len() <= 1 {
                if old.session != new.session {
                    report.transitions += 1;
                }
                let judged = self.repairs(task, c.id, &old, &new)?;
                let (_, v) = judge_task(&rules, task, &judged, &new, &snap, &at, gone);
                report.violations.extend(v);
            } else {
                report.violations.extend(judge_merge(
                    &rules,
                    task,
                    &olds,
                    &new,
                    &snap,
                    &at,
                    gone,
                    &mut report.transitions,
                ));
            }
            self.remember(task, c.id, &old, &report.violations[first..], first);
        }
        Ok(())
    }

    /// A file put back exactly as it was before a pending violation repairs that violation
    /// and every later one of the same file; the restoring change itself is not judged as a
    /// transition (it is the undoing of one). Returns the old files with each restored file
    /// set to its new content, so only what was not restored is judged.
    fn repairs(
        &mut self,
        task: &str,
        id: ObjectId,
        old: &TaskFiles,
        new: &TaskFiles,
    ) -> Result<TaskFiles> {
        let mut judged = old.clone();
        for events in [false, true] {
            let (was, now) = if events {
                (&old.events, &new.events)
            } else {
                (&old.session, &new.session)
            };
            if was == now {
                continue;
            }
            let key = (task.to_string(), events);
            let Some(list) = self.pending.get(&key) else {
                continue;
            };
            let mut hit = None;
            for (i, pend) in list.iter().enumerate() {
                if &pend.restore == now
                    && history::range_commits(self.repo, &[pend.commit], &[id])?.is_empty()
                {
                    hit = Some(i);
                    break;
                }
            }
            let Some(i) = hit else { continue };
            let list = self.pending.get_mut(&key).expect("looked up above");
            for pend in list.drain(i..) {
                for v in pend.violations {
                    self.repaired_by.insert(v, id);
                }
            }
            if events {
                judged.events = now.clone();
            } else {
                judged.session = now.clone();
            }
        }
        Ok(judged)
    }

    /// Files a commit broke a rule in, with what they held before it.
    fn remember(
        &mut self,
        task: &str,
        id: ObjectId,
        old: &TaskFiles,
        found: &[Violation],
        first: usize,
    ) {
        for (n, v) in found.iter().enumerate() {
            let key = file_key(task, &v.file);
            let restore = if key.1 {
                old.events.clone()
            } else {
                old.session.clone()
            };
            let list = self.pending.entry(key).or_default();
            match list.last_mut() {
                Some(last) if last.commit == id => last.violations.push(first + n),
                _ => list.push(Pending {
                    commit: id,
                    restore,
                    violations: vec![first + n],
                }),
            }
        }
    }
}
