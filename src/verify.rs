//! Judging changes to task folders after the fact: a commit's (or the index's) version of
//! session.json against the one before it, with the same rules (`rules`) and checks
//! (`validate`) the commands apply, reading artifacts from that snapshot instead of the disk.
//! Used by `orch verify`, the pre-commit hook (index vs HEAD) and the pre-push hook.

use crate::config::WorkflowOptions;
use crate::diagnostic::Diagnostic;
use crate::git::history::{self, Node};
use crate::rules::{self, Stamp, StartMode};
use crate::session::Session;
use crate::templates::{Templates, Vars};
use crate::validate::{self, ArtifactSource, Entry};
use crate::workflow::Workflow;
use crate::Error;
use gix::bstr::ByteSlice;
use gix::ObjectId;
use serde::Serialize;
use std::collections::{BTreeSet, HashMap, HashSet};

mod repair;
mod replay;
pub mod trailers;
pub mod waiver;

pub use replay::{restorable, verify, Repaired, VerifyReport, Waived};

pub const TASKS_DIR: &str = ".orchestration/tasks";

/// One broken rule: where, which rule, what happened and how to repair it.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Violation {
    /// Full commit id; `None` when the staged index was judged.
    pub commit: Option<String>,
    pub task: String,
    pub rule: String,
    /// Repository-relative file the rule is about.
    pub file: String,
    pub message: String,
    pub fix: String,
    /// How to make the change properly once it is undone; `fix` leads with the undoing.
    #[serde(skip)]
    pub redo: String,
}

impl Violation {
    pub fn short_commit(&self) -> String {
        self.commit
            .as_deref()
            .map(|c| c[..c.len().min(7)].to_string())
            .unwrap_or_else(|| "index".into())
    }

    /// One line: `commit abc1234: TSK-1: <message> (rule <rule>)`.
    pub fn line(&self) -> String {
        let at = match &self.commit {
            Some(_) => format!("commit {}: ", self.short_commit()),
            None => String::new(),
        };
        format!("{at}{} (rule {})", self.message, self.rule)
    }

    pub fn to_diagnostic(&self) -> Diagnostic {
        Diagnostic::error(
            &self.rule,
            &format!("{}:{}", self.short_commit(), self.file),
            self.line(),
            self.fix.clone(),
        )
    }
}

/// What a session.json change did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// start, complete, skip, reopen, end, edit, none, range (the execute range re-recorded)
    pub kind: String,
    pub from: Option<String>,
    pub to: Option<String>,
    #[serde(rename = "override")]
    pub override_: bool,
    pub reason: Option<String>,
    pub session_key: String,
}

/// Whether the two differ in the recorded execute range only.
fn same_but_range(old: &Session, new: &Session) -> bool {
    let bare = |s: &Session| Session {
        execute_range: None,
        ..s.clone()
    };
    bare(old) == bare(new)
}

/// Describes the change from `old` to `new` without judging it: `none`, `range` (the
/// execute range re-recorded), `start`, `complete`, `skip`, `reopen`, `end` or `edit`.
pub fn describe(old: Option<&Session>, new: &Session, wf: &Workflow) -> Step {
    let mut st = Step {
        kind: "edit".into(),
        from: old.map(|o| o.current_phase.clone()),
        to: Some(new.current_phase.clone()),
        override_: false,
        reason: None,
        session_key: new.session_key.clone(),
    };
    let Some(old) = old.filter(|o| o.session_key == new.session_key) else {
        st.kind = "start".into();
        st.from = old.filter(|o| o.active).map(|o| o.current_phase.clone());
        return st;
    };
    if old == new {
        st.kind = "none".into();
        return st;
    }
    if same_but_range(old, new) {
        // `orch changes --base/--head` naming the commits the work spans after a rebase.
        st.kind = "range".into();
        return st;
    }
    let appended = (new.phase_history.len() == old.phase_history.len() + 1
        && new.phase_history[..old.phase_history.len()] == old.phase_history[..])
        .then(|| new.phase_history.last())
        .flatten();
    if let Some(o) = appended.and_then(|h| h.override_.as_ref()) {
        st.override_ = true;
        st.reason = Some(o.reason.clone());
    }
    if old.active && !new.active {
        st.kind = "end".into();
        st.to = None;
        if st.reason.is_none() {
            st.reason = new.end.as_ref().and_then(|e| e.reason.clone());
        }
        return st;
    }
    if old.current_phase != new.current_phase {
        st.kind = match (
            wf.index_of(&old.current_phase),
            wf.index_of(&new.current_phase),
        ) {
            (Some(a), Some(b)) if b < a => "reopen",
            (Some(a), Some(b)) if b == a + 1 => "complete",
            (Some(_), Some(_)) => "skip",
            _ => "edit",
        }
        .into();
    }
    st
}

// ---------------------------------------------------------------------------------------------
// snapshots: a commit's tree or the index

/// What a path holds in a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapNode {
    Blob(ObjectId),
    Link(ObjectId),
    Dir,
    Other,
}

/// Files as a commit or the index has them.
pub trait Snapshot {
    fn node(&self, path: &str) -> Option<SnapNode>;
    fn read(&self, id: ObjectId) -> Option<Vec<u8>>;
}

pub struct TreeSnapshot<'r> {
    pub repo: &'r gix::Repository,
    pub root: ObjectId,
}

fn node_kind(n: Node) -> SnapNode {
    if n.mode.is_tree() {
        SnapNode::Dir
    } else if n.mode.is_link() {
        SnapNode::Link(n.id)
    } else if n.mode.is_blob() {
        SnapNode::Blob(n.id)
    } else {
        SnapNode::Other
    }
}

impl Snapshot for TreeSnapshot<'_> {
    fn node(&self, path: &str) -> Option<SnapNode> {
        history::entry_at(self.repo, self.root, path)
            .ok()
            .flatten()
            .map(node_kind)
    }
    fn read(&self, id: ObjectId) -> Option<Vec<u8>> {
        history::blob(self.repo, id).ok()
    }
}

pub struct IndexSnapshot<'r> {
    pub repo: &'r gix::Repository,
    pub index: &'r gix::index::State,
}

impl Snapshot for IndexSnapshot<'_> {
    fn node(&self, path: &str) -> Option<SnapNode> {
        use gix::index::entry::Mode;
        if let Some(e) = self.index.entry_by_path(path.as_bytes().as_bstr()) {
            return Some(if e.mode == Mode::SYMLINK {
                SnapNode::Link(e.id)
            } else if e.mode == Mode::FILE || e.mode == Mode::FILE_EXECUTABLE {
                SnapNode::Blob(e.id)
            } else if e.mode == Mode::DIR {
                SnapNode::Dir
            } else {
                SnapNode::Other
            });
        }
        let prefix = format!("{path}/");
        self.index
            .prefixed_entries_range(prefix.as_bytes().as_bstr())
            .filter(|r| !r.is_empty())
            .map(|_| SnapNode::Dir)
    }
    fn read(&self, id: ObjectId) -> Option<Vec<u8>> {
        history::blob(self.repo, id).ok()
    }
}

/// What a commit of one folder from the working tree would hold: the folder `scope` as the
/// disk has it, with `writes` (repository-relative path → content) laid over it, and
/// everything else as HEAD has it. Operations judge their commit against HEAD through it
/// before writing anything.
pub struct WorktreeSnapshot<'r> {
    pub repo: &'r gix::Repository,
    pub head_root: Option<ObjectId>,
    pub workdir: std::path::PathBuf,
    /// Repository-relative folder (or file) taken from the disk.
    pub scope: String,
    pub writes: HashMap<String, Vec<u8>>,
    /// Repository-relative files of the scope the commit removes.
    removed: HashSet<String>,
    blobs: std::cell::RefCell<HashMap<ObjectId, Vec<u8>>>,
}

impl<'r> WorktreeSnapshot<'r> {
    pub fn new(
        repo: &'r gix::Repository,
        head_root: Option<ObjectId>,
        workdir: std::path::PathBuf,
        scope: String,
        writes: HashMap<String, Vec<u8>>,
    ) -> WorktreeSnapshot<'r> {
        WorktreeSnapshot {
            repo,
            head_root,
            workdir,
            scope,
            writes,
            removed: HashSet::new(),
            blobs: Default::default(),
        }
    }

    /// The same snapshot with the files `removed` gone.
    pub fn removing(mut self, removed: HashSet<String>) -> WorktreeSnapshot<'r> {
        self.removed = removed;
        self
    }

    fn keep(&self, bytes: Vec<u8>) -> ObjectId {
        let id = gix::objs::compute_hash(self.repo.object_hash(), gix::objs::Kind::Blob, &bytes)
            .unwrap_or_else(|_| ObjectId::null(self.repo.object_hash()));
        self.blobs.borrow_mut().insert(id, bytes);
        id
    }

    fn in_scope(&self, path: &str) -> bool {
        path == self.scope || path.starts_with(&format!("{}/", self.scope))
    }

    /// The file at `path` as the commit would have it: written, on disk, or (outside the
    /// scope) at HEAD.
    pub fn bytes(&self, path: &str) -> Option<Vec<u8>> {
        match self.node(path)? {
            SnapNode::Blob(id) => self.read(id),
            _ => None,
        }
    }
}

impl Snapshot for WorktreeSnapshot<'_> {
    fn node(&self, path: &str) -> Option<SnapNode> {
        if !self.in_scope(path) {
            return history::entry_at(self.repo, self.head_root?, path)
                .ok()
                .flatten()
                .map(node_kind);
        }
        if let Some(b) = self.writes.get(path) {
            return Some(SnapNode::Blob(self.keep(b.clone())));
        }
        if self.removed.contains(path) {
            return None;
        }
        let abs = self.workdir.join(path);
        let meta = std::fs::symlink_metadata(&abs).ok();
        match meta {
            Some(m) if m.file_type().is_symlink() => {
                let target = std::fs::read_link(&abs).ok()?;
                Some(SnapNode::Link(
                    self.keep(target.to_string_lossy().into_owned().into_bytes()),
                ))
            }
            Some(m) if m.is_file() => Some(SnapNode::Blob(self.keep(std::fs::read(&abs).ok()?))),
            Some(m) if m.is_dir() => Some(SnapNode::Dir),
            Some(_) => Some(SnapNode::Other),
            None => {
                let prefix = format!("{path}/");
                self.writes
                    .keys()
                    .any(|k| k.starts_with(&prefix))
                    .then_some(SnapNode::Dir)
            }
        }
    }
    fn read(&self, id: ObjectId) -> Option<Vec<u8>> {
        if let Some(b) = self.blobs.borrow().get(&id) {
            return Some(b.clone());
        }
        history::blob(self.repo, id).ok()
    }
}

/// A task folder inside a snapshot, as the phase checks read it.
pub struct FolderSource<'a> {
    pub snap: &'a dyn Snapshot,
    pub task_dir: &'a str,
}

impl ArtifactSource for FolderSource<'_> {
    fn entry(&self, name: &str) -> Entry {
        let path = format!("{}/{name}", self.task_dir);
        match self.snap.node(&path) {
            None => Entry::Missing,
            Some(SnapNode::Dir | SnapNode::Other) => Entry::NotAFile,
            Some(SnapNode::Blob(id)) => self.snap.read(id).map_or(Entry::Missing, Entry::File),
            Some(SnapNode::Link(id)) => {
                let target = self.snap.read(id).unwrap_or_default();
                let target = String::from_utf8_lossy(&target).into_owned();
                if target.starts_with('/') {
                    return Entry::LeavesRepository;
                }
                let mut parts: Vec<&str> = path.split('/').collect();
                parts.pop();
                for c in target.split('/') {
                    match c {
                        "" | "." => {}
                        ".." => {
                            if parts.pop().is_none() {
                                return Entry::LeavesRepository;
                            }
                        }
                        c => parts.push(c),
                    }
                }
                // An artifact is a regular file; a link inside the repository is not one.
                match self.snap.node(&parts.join("/")) {
                    None | Some(SnapNode::Link(_)) => Entry::LeavesRepository,
                    Some(_) => Entry::NotAFile,
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// judging one task's change

/// The rules in force: workflow, options, templates.
pub struct RuleSet<'a> {
    pub workflow: &'a Workflow,
    pub options: &'a WorkflowOptions,
    pub templates: &'a Templates,
}

/// One task's files before and after a change.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskFiles {
    pub session: Option<Vec<u8>>,
    pub events: Option<Vec<u8>>,
}

/// Where a change was made, for messages and fixes.
pub struct At<'a> {
    pub commit: Option<&'a str>,
    /// Author date of the commit (scaffold dates), RFC 3339.
    pub date: Option<&'a str>,
}

fn violation(
    at: &At,
    task: &str,
    file: &str,
    rule: &str,
    message: String,
    how: impl Into<String>,
) -> Violation {
    let how = how.into();
    Violation {
        commit: at.commit.map(str::to_string),
        task: task.to_string(),
        rule: rule.to_string(),
        file: file.to_string(),
        message,
        fix: repair(at, file, &how),
        redo: how,
    }
}

/// How to undo a change that is not committed yet (the index, or the working tree): restore
/// `file` as committed, then `how`. Violations in commits get their ways out from
/// `repair::complete`, which knows what was pushed and what came after.
fn repair(at: &At, file: &str, how: &str) -> String {
    match at.commit {
        Some(_) => how.to_string(),
        None => format!(
            "restore the committed file (`git restore --staged --worktree {file}`) and {how}"
        ),
    }
}

/// The rule a refusal from `rules` stands for.
fn rule_of(e: &Error) -> String {
    let codes: BTreeSet<&str> = e
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.code.as_str())
        .collect();
    if !codes.is_empty() {
        return codes.into_iter().collect::<Vec<_>>().join(",");
    }
    let m = &e.message;
    let r = if m.contains("allow_phase_skip") {
        "phase_skip"
    } else if m.contains("overrides are disabled") {
        "override_disabled"
    } else if m.contains("needs a reason") {
        "override_without_reason"
    } else if m.contains("is the last phase") {
        "no_next_phase"
    } else if m.contains("a session ends in") {
        "early_end"
    } else if m.contains("no active session") {
        "inactive_session"
    } else if m.contains("does not define") || m.contains("unknown phase") {
        "unknown_phase"
    } else {
        "illegal_transition"
    };
    r.to_string()
}

fn task_vars(
    task: &str,
    task_dir: &str,
    doc: Option<&crate::task::TaskDoc>,
    wf: &Workflow,
    phase: &str,
    date: &str,
) -> Vars {
    Vars {
        code: task.to_string(),
        title: doc.map(|d| d.title()).unwrap_or_default(),
        phase: phase.to_string(),
        next_phase: wf
            .next_after(phase)
            .map(|n| n.name.clone())
            .unwrap_or_default(),
        date: date.get(..10).unwrap_or("").to_string(),
        description: doc
            .and_then(|d| d.str_field("description"))
            .unwrap_or_default(),
        tags: doc.map(|d| d.tags()).unwrap_or_default(),
        sprint: doc.and_then(|d| d.str_field("sprint")).unwrap_or_default(),
        task_dir: task_dir.to_string(),
        checks: Default::default(),
    }
}

/// The checks of `phase` for a task, against a snapshot.
pub fn check_in(
    r: &RuleSet,
    snap: &dyn Snapshot,
    task: &str,
    phase: &crate::workflow::Phase,
    session: &Session,
    date: Option<&str>,
) -> Vec<Diagnostic> {
    let task_dir = format!("{TASKS_DIR}/{task}");
    let src = FolderSource {
        snap,
        task_dir: &task_dir,
    };
    let doc = validate::read_task(&src, &task_dir).ok();
    let now = date
        .map(str::to_string)
        .unwrap_or_else(|| session.phase_started_at().to_string());
    let vars = task_vars(task, &task_dir, doc.as_ref(), r.workflow, &phase.name, &now);
    let mut dates: Vec<String> = std::iter::once(session.started_at.as_str())
        .chain(
            session
                .phase_history
                .iter()
                .map(|h| h.completed_at.as_str()),
        )
        .chain(date)
        .filter_map(|d| d.get(..10).map(str::to_string))
        .collect();
    dates.sort();
    dates.dedup();
    let ctx = validate::Context {
        templates: r.templates,
        vars: &vars,
        dates,
        task_dir: &task_dir,
    };
    validate::check_phase(&src, phase, &ctx)
}

/// Judges one task's session.json and events.jsonl change. `folder_gone`: the whole task
/// folder was removed (a deleted task, not a hand edit).
pub fn judge_task(
    r: &RuleSet,
    task: &str,
    old: &TaskFiles,
    new: &TaskFiles,
    snap: &dyn Snapshot,
    at: &At,
    folder_gone: bool,
) -> (Option<Step>, Vec<Violation>) {
    let mut out = Vec::new();
    let mut step = None;
    if old.session != new.session {
        let (s, v) = judge_session(
            r,
            task,
            old.session.as_deref(),
            new.session.as_deref(),
            snap,
            at,
            folder_gone,
        );
        step = s;
        out.extend(v);
    }
    let compacted = old.session == new.session
        && ended(new.session.as_deref())
        && new.events.is_none()
        && old
            .events
            .as_deref()
            .is_some_and(|log| compacted_into_postop(task, log, snap));
    if old.events != new.events && !folder_gone && !compacted {
        out.extend(judge_events(
            task,
            old.events.as_deref(),
            new.events.as_deref(),
            at,
        ));
    }
    (step, out)
}

/// Whether a session.json says its session had ended.
fn ended(session: Option<&[u8]>) -> bool {
    session
        .and_then(|b| parse_session(b, "session.json").ok())
        .is_some_and(|s| !s.active)
}

/// A compaction (`orch compact`) removes a closed task's events.jsonl in the commit that
/// makes POSTOP.md name the removed log — its blob id and its number of events — so the log
/// stays readable from history (`orch events CODE --all`). A removal without such a record,
/// or with one that names another log, is a deletion (`events_deleted`).
pub fn compacted_into_postop(task: &str, log: &[u8], snap: &dyn Snapshot) -> bool {
    let path = format!("{TASKS_DIR}/{task}/{}", crate::memory::postop::FILE);
    let Some(SnapNode::Blob(id)) = snap.node(&path) else {
        return false;
    };
    let Some(text) = snap.read(id) else {
        return false;
    };
    let count = crate::event::parse_log(&String::from_utf8_lossy(log), "events.jsonl")
        .map(|v| v.len())
        .ok();
    crate::memory::postop::markers(&String::from_utf8_lossy(&text))
        .iter()
        .any(|m| {
            Some(m.events) == count
                && ObjectId::from_hex(m.blob.as_bytes())
                    .ok()
                    .and_then(|oid| snap.read(oid))
                    .is_some_and(|b| b == log)
        })
}

fn parse_session(bytes: &[u8], file: &str) -> std::result::Result<Session, Error> {
    Session::parse(&String::from_utf8_lossy(bytes), file)
}

/// One task's session.json change being judged: the rules in force, the snapshot the
/// artifacts are read from and where the change was made. Each rule family below is one
/// method, so `judge_session` reads as the list of rules a change must keep.
struct SessionJudge<'a> {
    r: &'a RuleSet<'a>,
    task: &'a str,
    file: String,
    snap: &'a dyn Snapshot,
    at: &'a At<'a>,
}

/// The transition a same-session change claims to make: its description and the history
/// entry it appended (when it appended exactly one).
struct Claimed<'s> {
    moved: String,
    entry: Option<&'s crate::session::HistoryEntry>,
    reason: Option<&'s str>,
    when: String,
}

impl SessionJudge<'_> {
    fn violation(&self, rule: &str, message: String, how: impl Into<String>) -> Violation {
        violation(self.at, self.task, &self.file, rule, message, how)
    }

    /// A refusal from `rules` as a violation: its rule, its message (with the failing checks
    /// when there are several) and its hint as the way to redo the change.
    fn refused(&self, moved: &str, e: Error) -> Violation {
        let mut msg = format!("{moved}: {}", e.message);
        let details: Vec<String> = e
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.message.clone())
            .collect();
        if !details.is_empty() && e.diagnostics.len() > 1 {
            msg = format!("{msg} [{}]", details.join("; "));
        }
        let how = e.hint.clone().unwrap_or_else(|| {
            format!(
                "make the transition with `orch phase complete {}`",
                self.task
            )
        });
        self.violation(&rule_of(&e), msg, format!("redo it with orch: {how}"))
    }

    /// Rule family "a session.json orch can read": the file is not deleted while its folder
    /// stays, parses, and names its own task. Violations: `session_deleted`,
    /// `invalid_session_json`, `wrong_task`. `Ok(None)`: the whole folder went, nothing to judge.
    fn readable(
        &self,
        new: Option<&[u8]>,
        folder_gone: bool,
    ) -> std::result::Result<Option<Session>, Box<Violation>> {
        let (task, file) = (self.task, &self.file);
        let Some(new) = new else {
            if folder_gone {
                return Ok(None);
            }
            return Err(Box::new(self.violation(
                "session_deleted",
                format!("{task}: {file} was deleted while the task folder stayed"),
                "end the session with `orch session end` instead",
            )));
        };
        let new = parse_session(new, file).map_err(|e| {
            Box::new(self.violation(
                "invalid_session_json",
                e.message,
                "let orch write session.json",
            ))
        })?;
        if new.task != task {
            return Err(Box::new(self.violation(
                "wrong_task",
                format!("{file} names task {:?}, not {task}", new.task),
                "keep each session.json in its own task's folder",
            )));
        }
        Ok(Some(new))
    }

    /// Rule family "sessions start as `orch session start` starts them": a new session key
    /// is a legal start (fresh, or `--restart`/`--new` of an active one) in the phase that
    /// start picks, with an empty history, archiving the session it replaces. Violations:
    /// `session_start` (or the rule `rules::start` refused with), `history_rewritten`,
    /// `previous_sessions_lost`.
    fn start(&self, old: Option<&Session>, new: &Session, moved: &str) -> Vec<Violation> {
        let task = self.task;
        let modes: &[StartMode] = match old {
            Some(o) if o.active => &[StartMode::Restart, StartMode::New],
            Some(_) => &[StartMode::Reopen],
            None => &[StartMode::Fresh],
        };
        let stamp = stamp(&new.started_at);
        let mut last_err = None;
        for m in modes {
            match rules::start(
                task,
                old,
                *m,
                self.r.workflow,
                new.session_key.clone(),
                &stamp,
            ) {
                Ok(Some(d)) if d.session.current_phase == new.current_phase => {
                    return self.previous_kept(old, new);
                }
                Ok(Some(d)) => {
                    last_err = Some(Error::state(format!(
                        "session {} starts in {}, but a new session starts in {}",
                        new.session_key, new.current_phase, d.session.current_phase
                    )))
                }
                Ok(None) => {}
                Err(e) => last_err = Some(e),
            }
        }
        let e = last_err.unwrap_or_else(|| Error::state("not a legal session start"));
        let mut viol = self.refused(moved, e);
        if viol.rule == "illegal_transition" {
            viol.rule = "session_start".into();
        }
        vec![viol]
    }

    /// Rule family "previous sessions kept": a started session begins with no history of its
    /// own and archives the one it replaces. Violations: `history_rewritten`,
    /// `previous_sessions_lost`.
    fn previous_kept(&self, old: Option<&Session>, new: &Session) -> Vec<Violation> {
        let task = self.task;
        let how = &format!("start sessions with `orch session start {task}`");
        let mut out = vec![];
        if !new.phase_history.is_empty() {
            out.push(self.violation(
                "history_rewritten",
                format!(
                    "{task}: new session {} starts with a phase history it never made",
                    new.session_key
                ),
                how.clone(),
            ));
        }
        if let Some(o) = old {
            if new.previous_sessions.len() < o.previous_sessions.len() + 1 {
                out.push(self.violation(
                    "previous_sessions_lost",
                    format!(
                        "{task}: new session {} does not archive session {}",
                        new.session_key, o.session_key
                    ),
                    how,
                ));
            }
        }
        out
    }

    /// Rule family "ended sessions and plain edits": a session that had ended never changes,
    /// and a change that moves neither the phase nor the active flag is no transition.
    /// Violations: `session_ended`, `session_edited`.
    fn frozen(&self, old: &Session, new: &Session, step: &Step) -> Option<Violation> {
        let task = self.task;
        if !old.active {
            return Some(self.violation(
                "session_ended",
                format!(
                    "{task}: session {} had ended, yet its session.json changed",
                    old.session_key
                ),
                format!("start a new session with `orch session start {task}`"),
            ));
        }
        let plain = step.kind == "edit"
            && old.current_phase == new.current_phase
            && old.active == new.active;
        plain.then(|| {
            self.violation(
                "session_edited",
                format!(
                    "{task}: session.json was edited without a phase transition (still in {})",
                    new.current_phase
                ),
                "leave session.json to orch",
            )
        })
    }

    /// Rule family "artifacts present at that commit": the checks of `phase` run against the
    /// snapshot being judged, not the disk. Their failures (`missing_artifact`, ...) reach the
    /// violation through the refusal of `legal`.
    fn checks(&self, old: &Session, phase: &str) -> Vec<Diagnostic> {
        match self.r.workflow.phase(phase) {
            Some(ph) => check_in(self.r, self.snap, self.task, ph, old, self.at.date),
            None => vec![],
        }
    }

    /// Rule family "transition legality": the change is one `orch phase complete|set` or
    /// `orch session end` would have made from `old`, by the rules in force, with the
    /// artifacts of the snapshot. Violations: the rule `rules` refused with (`phase_skip`,
    /// `missing_artifact`, `override_disabled`, `early_end`, `unknown_phase`,
    /// `illegal_transition`, ...).
    fn legal(
        &self,
        old: &Session,
        new: &Session,
        step: &Step,
        c: &Claimed,
    ) -> std::result::Result<rules::Decision, Box<Violation>> {
        let (task, wf) = (self.task, self.r.workflow);
        let decided = if step.kind == "end" {
            let in_last = old.current_phase == wf.last().name;
            let checks = if in_last {
                self.checks(old, &old.current_phase)
            } else {
                vec![]
            };
            let forced = new.end.as_ref().is_some_and(|e| e.forced);
            let reason = c
                .reason
                .or(new.end.as_ref().and_then(|e| e.reason.as_deref()));
            let st = stamp(&c.when);
            rules::end(old, wf, self.r.options, checks, forced, reason, &st, None)
        } else if wf.phase(&new.current_phase).is_none() {
            Err(Error::state(format!(
                "{task}: phase {:?} is not defined by the workflow",
                new.current_phase
            ))
            .with_hint(format!("phases are: {}", wf.names().join(", "))))
        } else {
            let checks = self.checks(old, &old.current_phase);
            let st = stamp(&c.when);
            let to = &new.current_phase;
            rules::set_phase(old, wf, self.r.options, to, checks, c.reason, &st, None)
        };
        decided.map_err(|e| Box::new(self.skip_first(old, new, step, c, self.refused(&c.moved, e))))
    }

    /// A skip is the rule a hand edit breaks first, whatever else is missing: without an
    /// override and with `allow_phase_skip = false` the violation is `phase_skip`, naming
    /// the phases skipped.
    fn skip_first(
        &self,
        old: &Session,
        new: &Session,
        step: &Step,
        c: &Claimed,
        mut viol: Violation,
    ) -> Violation {
        let wf = self.r.workflow;
        if step.kind != "skip" || c.reason.is_some() || self.r.options.allow_phase_skip {
            return viol;
        }
        let (a, b) = (
            wf.index_of(&old.current_phase),
            wf.index_of(&new.current_phase),
        );
        if let (Some(a), Some(b)) = (a, b) {
            let skipped: Vec<&str> = wf.phases[a + 1..b]
                .iter()
                .map(|p| p.name.as_str())
                .collect();
            let moved = &c.moved;
            viol.message = format!(
                "{moved} skips {} (allow_phase_skip = false); {}",
                skipped.join(", "),
                viol.message.trim_start_matches(&format!("{moved}: "))
            );
            viol.rule = "phase_skip".into();
        }
        viol
    }

    /// Rule family "history kept": a legal transition appends exactly the history entry orch
    /// writes for it (the phase left, where it went) and sets the active flag as orch does.
    /// Violation: `history_not_recorded`.
    fn history_kept(
        &self,
        old: &Session,
        new: &Session,
        d: &rules::Decision,
        c: &Claimed,
    ) -> Option<Violation> {
        let recorded = c.entry.is_some_and(|h| {
            h.phase == old.current_phase && h.to.as_ref().is_none_or(|t| Some(t) == d.to.as_ref())
        });
        (!recorded || new.active != d.session.active).then(|| {
            self.violation(
                "history_not_recorded",
                format!(
                    "{}: session.json changes the phase without recording {} in phase_history",
                    c.moved, old.current_phase
                ),
                format!(
                    "make the transition with `orch phase complete {}`",
                    self.task
                ),
            )
        })
    }

    /// Rule family "overrides": an override the rules needed carries a reason.
    /// Violation: `override_without_reason`.
    fn override_reasoned(&self, d: &rules::Decision, c: &Claimed) -> Option<Violation> {
        let o = c.entry.and_then(|h| h.override_.as_ref())?;
        (d.override_.is_some() && o.reason.trim().is_empty()).then(|| {
            self.violation(
                "override_without_reason",
                format!("{}: the override carries no reason", c.moved),
                "pass --override --reason \"why\"",
            )
        })
    }

    /// A change within one session: not frozen, a legal transition, its history recorded,
    /// its override reasoned.
    fn transition(
        &self,
        old: &Session,
        new: &Session,
        step: &Step,
        moved: String,
    ) -> Vec<Violation> {
        if let Some(v) = self.frozen(old, new, step) {
            return vec![v];
        }
        let appended = new.phase_history.len() == old.phase_history.len() + 1
            && new.phase_history[..old.phase_history.len()] == old.phase_history[..];
        let entry = appended.then(|| new.phase_history.last()).flatten();
        let c = Claimed {
            moved,
            entry,
            reason: entry
                .and_then(|h| h.override_.as_ref())
                .map(|o| o.reason.as_str()),
            when: entry
                .map(|h| h.completed_at.clone())
                .unwrap_or_else(|| new.phase_started_at().to_string()),
        };
        let d = match self.legal(old, new, step, &c) {
            Ok(d) => d,
            Err(v) => return vec![*v],
        };
        match self.history_kept(old, new, &d, &c) {
            Some(v) => vec![v],
            None => self.override_reasoned(&d, &c).into_iter().collect(),
        }
    }
}

fn stamp(now: &str) -> Stamp {
    Stamp {
        actor: String::new(),
        now: now.to_string(),
    }
}

/// Judges one session.json change: readable, then either a legal start or a legal
/// transition within the session.
fn judge_session(
    r: &RuleSet,
    task: &str,
    old: Option<&[u8]>,
    new: Option<&[u8]>,
    snap: &dyn Snapshot,
    at: &At,
    folder_gone: bool,
) -> (Option<Step>, Vec<Violation>) {
    let j = SessionJudge {
        r,
        task,
        file: format!("{TASKS_DIR}/{task}/session.json"),
        snap,
        at,
    };
    let new = match j.readable(new, folder_gone) {
        Ok(Some(s)) => s,
        Ok(None) => return (None, vec![]),
        Err(v) => return (None, vec![*v]),
    };
    let old = old.and_then(|b| parse_session(b, &j.file).ok());
    let step = describe(old.as_ref(), &new, r.workflow);
    let moved = format!(
        "{task}: {} -> {}",
        step.from.as_deref().unwrap_or("(none)"),
        step.to.as_deref().unwrap_or("(end)")
    );
    let out = match (step.kind.as_str(), &old) {
        ("none", _) | ("range", _) => vec![],
        // `describe` calls every change without an old session of the same key a start.
        ("start", _) | (_, None) => j.start(old.as_ref(), &new, &moved),
        (_, Some(old)) => j.transition(old, &new, &step, moved),
    };
    (Some(step), out)
}

fn event_id(line: &str) -> Option<String> {
    serde_json::from_str::<serde_json::Value>(line)
        .ok()
        .and_then(|v| v.get("id").and_then(|i| i.as_str()).map(str::to_string))
}

/// events.jsonl may only grow at its end, with valid events whose ids are new.
pub fn judge_events(task: &str, old: Option<&[u8]>, new: Option<&[u8]>, at: &At) -> Vec<Violation> {
    let file = format!("{TASKS_DIR}/{task}/events.jsonl");
    let v = |rule: &str, message: String, fix: &str| violation(at, task, &file, rule, message, fix);
    let old = old.unwrap_or_default();
    let Some(new) = new else {
        return vec![v(
            "events_deleted",
            format!("{task}: {file} was deleted"),
            "keep the event log",
        )];
    };
    let mut base = old.to_vec();
    if !base.is_empty() && !base.ends_with(b"\n") {
        base.push(b'\n');
    }
    let added = if new.starts_with(&base) {
        &new[base.len()..]
    } else if new.starts_with(old) {
        &new[old.len()..]
    } else {
        let line = old
            .lines()
            .zip(new.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| old.lines().count().min(new.lines().count()))
            + 1;
        return vec![v(
            "events_rewritten",
            format!(
                "{task}: {file} was rewritten, not appended to (line {line} changed or removed)"
            ),
            "only append to events.jsonl (`orch event add`)",
        )];
    };
    let mut ids: HashSet<String> = old
        .lines()
        .filter_map(|l| event_id(&String::from_utf8_lossy(l)))
        .collect();
    let first = old.lines().count();
    let mut out = vec![];
    for (n, line) in added.lines().enumerate() {
        let line = String::from_utf8_lossy(line);
        if line.trim().is_empty() {
            continue;
        }
        if serde_json::from_str::<crate::event::Event>(&line).is_err() {
            out.push(v(
                "invalid_event",
                format!("{task}: {file}:{} is not a valid event", first + n + 1),
                "append events with `orch event add`",
            ));
            continue;
        }
        if let Some(id) = event_id(&line) {
            if !ids.insert(id.clone()) {
                out.push(v(
                    "duplicate_event_id",
                    format!("{task}: {file}:{} repeats event id {id}", first + n + 1),
                    "append events with `orch event add`, which mints unique ids",
                ));
            }
        }
    }
    out
}

/// A merge's events.jsonl must keep every line of every parent (merge=union), and two
/// different lines must not share an id.
pub fn judge_events_merge(
    task: &str,
    parents: &[Option<Vec<u8>>],
    merged: Option<&[u8]>,
    at: &At,
) -> Vec<Violation> {
    let file = format!("{TASKS_DIR}/{task}/events.jsonl");
    let merged = merged.unwrap_or_default();
    let lines: HashSet<&[u8]> = merged.lines().filter(|l| !l.trim().is_empty()).collect();
    let mut out = vec![];
    for p in parents.iter().flatten() {
        if let Some(lost) = p
            .lines()
            .filter(|l| !l.trim().is_empty())
            .find(|l| !lines.contains(l))
        {
            out.push(violation(
                at,
                task,
                &file,
                "events_lost",
                format!(
                    "{task}: the merge dropped events of a parent from {file} (e.g. {})",
                    event_id(&String::from_utf8_lossy(lost)).unwrap_or_else(|| "a line".into())
                ),
                "merge with `merge=union` for events.jsonl (`orch init` writes .orchestration/.gitattributes)",
            ));
            break;
        }
    }
    let mut by_id: HashMap<String, &[u8]> = HashMap::new();
    for l in &lines {
        if let Some(id) = event_id(&String::from_utf8_lossy(l)) {
            if let Some(prev) = by_id.insert(id.clone(), l) {
                if prev != *l {
                    out.push(violation(
                        at,
                        task,
                        &file,
                        "duplicate_event_id",
                        format!("{task}: two different events in {file} share id {id}"),
                        "append events with `orch event add`",
                    ));
                }
            }
        }
    }
    out
}

/// Whether session state `a` is an earlier state of `b`: the history only grew since.
pub fn is_ancestor_state(a: &Session, b: &Session) -> bool {
    let prefix = |x: &[crate::session::HistoryEntry], y: &[crate::session::HistoryEntry]| {
        x.len() <= y.len() && x == &y[..x.len()]
    };
    if a.session_key == b.session_key {
        return prefix(&a.phase_history, &b.phase_history) && (a.active || !b.active);
    }
    b.previous_sessions
        .iter()
        .any(|p| p.session_key == a.session_key && prefix(&a.phase_history, &p.phase_history))
}

/// A merge: a task whose session.json both sides advanced differently has diverged; a side
/// that only lags behind the other is fine; a version of the merge's own must be a legal
/// step from the newest side.
#[allow(clippy::too_many_arguments)]
fn judge_merge(
    r: &RuleSet,
    task: &str,
    parents: &[TaskFiles],
    merged: &TaskFiles,
    snap: &dyn Snapshot,
    at: &At,
    gone: bool,
    transitions: &mut usize,
) -> Vec<Violation> {
    let file = format!("{TASKS_DIR}/{task}/session.json");
    let mut out = vec![];
    let evs: Vec<Option<Vec<u8>>> = parents.iter().map(|p| p.events.clone()).collect();
    // A side that compacted the log meets a side that left it as it was: the merge keeps the
    // compaction, and the folded log is the one the other side has.
    let compacted = merged.events.is_none()
        && parents.iter().any(|p| p.events.is_none())
        && evs
            .iter()
            .flatten()
            .all(|log| compacted_into_postop(task, log, snap));
    if !gone && !compacted && parents.iter().any(|p| p.events != merged.events) {
        out.extend(judge_events_merge(task, &evs, merged.events.as_deref(), at));
    }
    let parse = |b: &Option<Vec<u8>>| b.as_deref().and_then(|b| parse_session(b, &file).ok());
    let states: Vec<Option<Session>> = parents.iter().map(|p| parse(&p.session)).collect();
    let distinct: Vec<&Session> = {
        let mut v: Vec<&Session> = vec![];
        for s in states.iter().flatten() {
            if !v.contains(&s) {
                v.push(s);
            }
        }
        v
    };
    // The newest side: one every other side's state leads up to.
    let newest = distinct
        .iter()
        .find(|c| distinct.iter().all(|o| is_ancestor_state(o, c)))
        .copied();
    let Some(newest) = newest else {
        if distinct.len() > 1 {
            let phases: Vec<String> = distinct
                .iter()
                .map(|s| format!("{} ({})", s.current_phase, s.session_key))
                .collect();
            out.push(violation(
                at,
                task,
                &file,
                "diverged_session",
                format!(
                    "{task}: both branches of the merge advanced session.json differently ({}); neither history contains the other",
                    phases.join(" vs ")
                ),
                format!(
                    "keep one branch's session.json, then redo the other branch's transitions with `orch phase set {task} <phase>` (see `orch log {task}` on each branch)"
                ),
            ));
        }
        return out;
    };
    let newest_bytes = parents
        .iter()
        .zip(&states)
        .find(|(_, s)| s.as_ref() == Some(newest))
        .and_then(|(p, _)| p.session.clone());
    if merged.session != newest_bytes && parse(&merged.session).as_ref() != Some(newest) {
        *transitions += 1;
        let old = TaskFiles {
            session: newest_bytes,
            events: merged.events.clone(),
        };
        let (_, v) = judge_task(r, task, &old, merged, snap, at, gone);
        out.extend(v);
    }
    out
}
