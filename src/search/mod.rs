//! Ranked full-text search over everything the workflow recorded: tasks, artifact sections,
//! events and bugs, scoped to a session, a task, a sprint or the whole project.
//!
//! The index (tantivy) is a cache in `<git dir>/orchestration/search/`, never committed and
//! per worktree; [`fresh`] keeps it true to the files and rebuilds it when it cannot be
//! trusted. [`query`] parses the query language, [`corpus`] turns files into documents.

mod cache_dir;
pub mod corpus;
pub mod event_line;
pub mod fresh;
pub mod index;
pub mod query;
mod table;

use crate::code::TaskCode;
use crate::project::Project;
use crate::{Error, Result};
use corpus::Kind;
use serde::Serialize;

pub use fresh::{note_written, RefreshReport};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ScopeKind {
    Session,
    Task,
    Sprint,
    Project,
}

impl ScopeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ScopeKind::Session => "session",
            ScopeKind::Task => "task",
            ScopeKind::Sprint => "sprint",
            ScopeKind::Project => "project",
        }
    }

    pub fn parse(s: &str) -> Result<ScopeKind> {
        Ok(match s {
            "session" => ScopeKind::Session,
            "task" => ScopeKind::Task,
            "sprint" => ScopeKind::Sprint,
            "project" => ScopeKind::Project,
            _ => {
                return Err(Error::usage(format!("unknown scope {s:?}"))
                    .with_hint("use --scope session, task, sprint or project"))
            }
        })
    }
}

/// A search as asked for on the command line.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub query: String,
    pub scope: Option<ScopeKind>,
    pub task: Option<String>,
    pub sprint: Option<String>,
    pub type_: Option<String>,
    pub kinds: Vec<String>,
    pub since: Option<String>,
    pub limit: usize,
    pub reindex: bool,
}

/// Where a search looked.
#[derive(Debug, Clone, Serialize)]
pub struct ScopeInfo {
    pub kind: ScopeKind,
    pub task: Option<String>,
    pub sprint: Option<String>,
    pub session: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Snippet {
    pub text: String,
    /// Byte ranges `[start, end)` of the matching words in `text`.
    pub highlights: Vec<[usize; 2]>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    pub task: Option<String>,
    pub tasks: Vec<String>,
    pub kind: String,
    pub path: String,
    pub section: Option<String>,
    pub line: u64,
    pub event_id: Option<String>,
    pub ts: Option<String>,
    #[serde(rename = "type")]
    pub type_: Option<String>,
    pub phase: Option<String>,
    /// A bug's id and status (`open`, `resolved`, ...), for bug hits only.
    pub bug: Option<String>,
    pub status: Option<String>,
    pub title: String,
    pub score: f32,
    pub snippet: Snippet,
}

#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub query: String,
    pub scope: ScopeInfo,
    /// How many documents match in all (the hits are the best `limit` of them).
    pub total: usize,
    pub hits: Vec<Hit>,
    pub index: RefreshReport,
}

fn opt(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

/// `--since`: a date (`2025-01-31`, from its midnight UTC) or an RFC 3339 time.
pub fn parse_since(s: &str) -> Result<i64> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.timestamp());
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d
            .and_hms_opt(0, 0, 0)
            .expect("midnight exists")
            .and_utc()
            .timestamp());
    }
    Err(Error::usage(format!("--since {s:?} is not a date"))
        .with_hint("give a date like 2025-01-31 or a time like 2025-01-31T12:00:00Z"))
}

/// Holds `<git dir>/orchestration/search/lock` so that two searches never update the index at
/// once (nor one read files another is replacing).
fn lock(p: &Project) -> Result<crate::project::LockGuard> {
    let dir = fresh::Paths::of(p).dir;
    crate::project::lock_dir(&dir).map_err(|e| match e.kind {
        crate::ErrorKind::Runtime if e.hint.is_none() => e.with_hint(format!(
            "orch search keeps its index in {} and must be able to write there: run it as a user who can write to the repository's git dir",
            dir.display()
        )),
        _ => e,
    })
}

/// Rebuilds the index from every file.
pub fn reindex(p: &Project) -> Result<RefreshReport> {
    let _l = lock(p)?;
    let current = p.named_task()?;
    Ok(fresh::open(p, true, current.as_ref())?.1)
}

/// The current task, looked up only as far as the search needs it. Finding it through the
/// branch bindings stats every task's session, which on ten thousand tasks is most of a warm
/// search; a search whose scope does not depend on it asks only `ORCH_TASK` and the pointer.
fn current_for(p: &Project, req: &Request, q: &query::Query) -> Result<Option<TaskCode>> {
    let needs_task = !query_scoped(req, q)
        && req.task.is_none()
        && match req.scope {
            Some(ScopeKind::Project) => false,
            Some(ScopeKind::Sprint) | None => req.sprint.is_none(),
            Some(_) => true,
        };
    if needs_task {
        p.current_task()
    } else {
        p.named_task()
    }
}

/// `--task` and `--sprint` only say which task, session or sprint a scope means: given to a
/// scope that does not use them they would be silently ignored, so they are refused.
fn ignored_options(req: &Request) -> Result<()> {
    let (kind, scope) = match (req.scope, &req.task, &req.sprint) {
        (Some(k), _, _) => (k, format!("--scope {}", k.as_str())),
        (None, Some(_), _) => (ScopeKind::Task, "the task scope --task gives".to_string()),
        _ => return Ok(()),
    };
    let (option, value) = match (kind, &req.task, &req.sprint) {
        (ScopeKind::Project, Some(t), _) => ("--task", t),
        (ScopeKind::Project | ScopeKind::Task | ScopeKind::Session, _, Some(s)) => ("--sprint", s),
        _ => return Ok(()),
    };
    let hint = match option {
        "--task" => "drop --task to search every task, or use --scope task, session or sprint",
        _ => "drop --sprint, or search the sprint with --scope sprint --sprint NAME",
    };
    Err(Error::usage(format!("{option} {value} has no effect with {scope}")).with_hint(hint))
}

struct Resolved {
    info: ScopeInfo,
    scope: index::Scope,
}

fn current_sprint(p: &Project, code: &TaskCode) -> Option<String> {
    p.load_doc(code)
        .ok()?
        .str_field("sprint")
        .filter(|s| !s.trim().is_empty())
}

/// Turns `--scope`, `--task` and `--sprint` into the tasks to search. Without any of them the
/// scope is the current task's sprint when it has one, else the project.
fn resolve(
    p: &Project,
    req: &Request,
    q: &query::Query,
    current: Option<TaskCode>,
    s: &index::Searcher,
) -> Result<Resolved> {
    let task = match &req.task {
        Some(t) => {
            let c = TaskCode::parse(t)?;
            p.require_task(&c)?;
            Some(c)
        }
        None => current,
    };
    let kind = match (req.scope, &req.task, &req.sprint) {
        (Some(k), _, _) => k,
        (None, Some(_), _) => ScopeKind::Task,
        (None, None, Some(_)) => ScopeKind::Sprint,
        (None, None, None) if query_scoped(req, q) => ScopeKind::Project,
        (None, None, None) => match task.as_ref().and_then(|t| current_sprint(p, t)) {
            Some(_) => ScopeKind::Sprint,
            None => ScopeKind::Project,
        },
    };
    let need_task = |what: &str| -> Result<TaskCode> {
        task.clone().ok_or_else(|| {
            Error::usage(format!(
                "--scope {what} needs a task and no current task is set"
            ))
            .with_hint("pass --task CODE, set ORCH_TASK, or run `orch session start CODE`")
        })
    };
    let mut info = ScopeInfo {
        kind,
        task: None,
        sprint: None,
        session: None,
    };
    let mut scope = index::Scope::default();
    match kind {
        ScopeKind::Project => {}
        ScopeKind::Task => {
            let t = need_task("task")?;
            scope.tasks = Some(vec![t.to_string()]);
            info.task = Some(t.to_string());
        }
        ScopeKind::Session => {
            let t = need_task("session")?;
            let session = p.load_session(&t)?.ok_or_else(|| {
                Error::state(format!("{t} has no session to search")).with_hint(format!(
                    "start one with `orch session start {t}`, or use --scope task"
                ))
            })?;
            scope.tasks = Some(vec![t.to_string()]);
            scope.session = Some(session.session_key.clone());
            info.task = Some(t.to_string());
            info.session = Some(session.session_key);
        }
        ScopeKind::Sprint => {
            let sprint = match &req.sprint {
                Some(s) => s.clone(),
                None => task
                    .as_ref()
                    .and_then(|t| current_sprint(p, t))
                    .ok_or_else(|| {
                        Error::usage("--scope sprint needs a sprint and the current task has none")
                            .with_hint("pass --sprint NAME (see `orch sprint list`)")
                    })?,
            };
            let tasks = s.sprint_tasks(&sprint)?;
            if tasks.is_empty() {
                return Err(Error::usage(format!("no task is in sprint {sprint:?}"))
                    .with_hint("name a sprint `orch sprint list` shows"));
            }
            scope.tasks = Some(tasks);
            info.sprint = Some(sprint);
        }
    }
    Ok(Resolved { info, scope })
}

/// A `task:` filter must name a task: a mistyped code would quietly match nothing.
fn known_tasks(p: &Project, q: &query::Query) -> Result<()> {
    for v in q.filter_values("task") {
        let code = TaskCode::parse(v)
            .map_err(|e| Error::usage(format!("task:{v} in the query: {}", e.message)))?;
        if !p.task_exists(&code) {
            return Err(
                Error::usage(format!("unknown task {v} in the query (task:{v})"))
                    .with_hint("name an existing task (see `orch task list`)"),
            );
        }
    }
    Ok(())
}

/// Whether the query itself says which tasks or sprints it searches (`task:T-1`,
/// `sprint:S1`): then, with no scope asked for, it searches the project rather than the
/// current task's sprint, which might not hold them.
fn query_scoped(req: &Request, q: &query::Query) -> bool {
    req.scope.is_none()
        && req.task.is_none()
        && req.sprint.is_none()
        && q.selects(&["task", "sprint"])
}

/// A `phase:` filter that matched nothing must name a phase of the workflow: any other value
/// is a mistake (one an old event recorded is found, so it is not refused).
fn known_phases(q: &query::Query, wf: &crate::workflow::Workflow) -> Result<()> {
    let names: Vec<&str> = wf.phases.iter().map(|ph| ph.name.as_str()).collect();
    match q
        .filter_values("phase")
        .into_iter()
        .find(|v| !names.contains(v))
    {
        None => Ok(()),
        Some(v) => Err(Error::usage(format!(
            "unknown phase `{v}` in the query; the workflow's phases are {}",
            names.join(", ")
        ))
        .with_hint(format!("filter on one of them, e.g. phase:{}", names[0]))),
    }
}

pub fn search(p: &Project, req: &Request) -> Result<Outcome> {
    let q = query::parse(&req.query)?;
    known_tasks(p, &q)?;
    if req.limit == 0 {
        return Err(Error::usage("--limit 0 asks for no results")
            .with_hint("give a limit of 1 or more, or leave it out for the default"));
    }
    ignored_options(req)?;
    let mut kinds = Vec::new();
    for k in &req.kinds {
        kinds.push(Kind::parse(k).ok_or_else(|| {
            Error::usage(format!("unknown kind {k:?}"))
                .with_hint("use --kind event, artifact, bug or task")
        })?);
    }
    let since = req.since.as_deref().map(parse_since).transpose()?;
    let current = current_for(p, req, &q)?;
    let _l = lock(p)?;
    let filters = index::Scope {
        kinds,
        type_: req.type_.clone(),
        since,
        ..Default::default()
    };
    let run = |rebuild: bool| answer(p, req, &q, &filters, current.clone(), rebuild);
    let outcome = answered(req, run)?;
    if outcome.total == 0 {
        // Nothing found: a phase neither the workflow nor any document has is a mistake.
        known_phases(&q, &p.workflow)?;
    }
    Ok(outcome)
}

/// Runs `run(rebuild)`, rebuilding the index when it proves damaged while being read.
fn answered(req: &Request, run: impl Fn(bool) -> Result<Outcome>) -> Result<Outcome> {
    match quietly(|| run(req.reindex)) {
        // A segment found damaged only once it is read: the index is rebuilt.
        Some(Err(e)) if !req.reindex && index::is_damage(&e) => {
            quietly(|| run(true)).unwrap_or(Err(e))
        }
        Some(outcome) => outcome,
        // Some damage makes tantivy panic where no checksum was asked to find it: the index
        // is not trusted, and is rebuilt.
        None => quietly(|| run(true)).unwrap_or_else(|| {
            Err(
                Error::runtime("search index: could not be read, not even when rebuilt")
                    .with_hint("run `orch doctor`, then `orch search --reindex`"),
            )
        }),
    }
}

/// Runs `f`; `None` if it panicked, without the panic's message.
fn quietly<T>(f: impl FnOnce() -> T) -> Option<T> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    std::panic::set_hook(hook);
    r.ok()
}

/// Opens the index (brought up to date, or rebuilt) and answers `q` with `filters`, in the
/// scope the request names.
fn answer(
    p: &Project,
    req: &Request,
    q: &query::Query,
    filters: &index::Scope,
    current: Option<TaskCode>,
    rebuild: bool,
) -> Result<Outcome> {
    let (indexes, mut report) = fresh::open(p, rebuild, current.as_ref())?;
    let s = indexes.searcher()?;
    if !report.rebuilt && report.files_reindexed + report.files_removed > 0 {
        report.documents = s.num_docs()?;
    }
    let Resolved { info, scope } = resolve(p, req, q, current, &s)?;
    let scope = index::Scope {
        tasks: scope.tasks,
        session: scope.session,
        ..filters.clone()
    };
    let (top, total) = s.top(q, &scope, req.limit)?;
    let want = Wanted::of(q);
    let hits = top.into_iter().map(|d| hit(d, &want)).collect();
    Ok(Outcome {
        query: req.query.clone(),
        scope: info,
        total,
        hits,
        index: report,
    })
}

fn hit(d: index::Stored, want: &Wanted) -> Hit {
    let body = snippet(&d.body, want);
    let snippet = if body.highlights.is_empty() {
        let t = snippet(&d.title, want);
        if t.highlights.is_empty() && !body.text.is_empty() {
            body
        } else {
            t
        }
    } else {
        body
    };
    // A bug's id and status are stored where an event's id and an artifact's section are.
    let (section, event_id, bug, status) = match d.kind.as_str() {
        "bug" => (None, None, opt(d.event_id), opt(d.section)),
        _ => (opt(d.section), opt(d.event_id), None, None),
    };
    Hit {
        task: d.tasks.first().cloned(),
        tasks: d.tasks,
        kind: d.kind,
        path: d.path,
        section,
        line: d.line,
        event_id,
        ts: opt(d.ts),
        type_: opt(d.type_),
        phase: opt(d.phase),
        bug,
        status,
        title: d.title,
        score: d.score,
        snippet,
    }
}

const SNIPPET_CHARS: usize = 160;

/// Byte ranges of the words of `text`, as the index splits them.
fn word_ranges(text: &str) -> Vec<(usize, usize)> {
    query::spans(text).collect()
}

fn floor_char(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The part of `text` with the most query words, up to [`SNIPPET_CHARS`] bytes, line breaks
/// as spaces, and where those words are in it.
/// What a snippet looks for: the query's single words and prefixes (with their `*`), and
/// its phrases of several words, whose words count only where the whole phrase stands.
pub struct Wanted {
    pub words: Vec<String>,
    pub phrases: Vec<Vec<String>>,
}

impl Wanted {
    pub fn of(q: &query::Query) -> Wanted {
        Wanted {
            words: q.single_words(),
            phrases: q.phrases(),
        }
    }

    fn matches(&self, w: &str) -> bool {
        self.words.iter().any(|q| match q.strip_suffix('*') {
            Some(prefix) => w.starts_with(prefix),
            None => q == w,
        })
    }
}

/// The words of a text that a snippet marks, and the phrases among them.
struct Marks {
    /// Each marked word's byte range, in order.
    words: Vec<(usize, usize)>,
    /// The byte range of each phrase occurrence.
    phrases: Vec<(usize, usize)>,
}

fn marks(text: &str, want: &Wanted) -> Marks {
    let all = word_ranges(text);
    let lower: Vec<String> = all
        .iter()
        .map(|&(a, b)| text[a..b].chars().flat_map(char::to_lowercase).collect())
        .collect();
    let mut marked = vec![false; all.len()];
    let mut phrases = Vec::new();
    for i in 0..all.len() {
        marked[i] |= want.matches(&lower[i]);
        for p in &want.phrases {
            if lower.get(i..i + p.len()).is_some_and(|w| w == p.as_slice()) {
                marked[i..i + p.len()].iter_mut().for_each(|m| *m = true);
                phrases.push((all[i].0, all[i + p.len() - 1].1));
            }
        }
    }
    let words = (0..all.len())
        .filter(|&i| marked[i])
        .map(|i| all[i])
        .collect();
    Marks { words, phrases }
}

/// The part of `text` a snippet whose first marked word starts at byte `first` shows: from up
/// to a quarter of its length before, at a word boundary when the text is cut there.
fn window(text: &str, first: usize) -> (usize, usize) {
    let start = floor_char(text, first.saturating_sub(SNIPPET_CHARS / 4));
    let start = match start > 0 && !text[..start].ends_with(char::is_whitespace) {
        true => text[start..first]
            .char_indices()
            .find(|(_, c)| c.is_whitespace())
            .map_or(start, |(k, c)| start + k + c.len_utf8()),
        false => start,
    };
    (
        start,
        floor_char(text, (start + SNIPPET_CHARS).min(text.len())),
    )
}

/// The part of `text` around the most phrases, then the most marked words, with the marked
/// words' byte offsets in it.
pub fn snippet(text: &str, want: &Wanted) -> Snippet {
    let m = marks(text, want);
    let inside = |(a, b): (usize, usize), (start, end): (usize, usize)| a >= start && b <= end;
    // Both lists are in text order: those inside a window are a run, found by bisection.
    let within = |v: &[(usize, usize)], (start, end): (usize, usize)| {
        let from = v.partition_point(|r| r.0 < start);
        v[from..].partition_point(|r| r.1 <= end)
    };
    let best = m
        .words
        .iter()
        .map(|w| window(text, w.0))
        .max_by_key(|&win| {
            (
                within(&m.phrases, win),
                within(&m.words, win),
                std::cmp::Reverse(win.0),
            )
        });
    let (start, end) = best.unwrap_or((0, floor_char(text, SNIPPET_CHARS.min(text.len()))));
    let frag: String = text[start..end]
        .chars()
        .map(|c| {
            if matches!(c, '\n' | '\r' | '\t') {
                ' '
            } else {
                c
            }
        })
        .collect();
    let highlights = m
        .words
        .iter()
        .filter(|&&w| inside(w, (start, end)))
        .map(|w| [w.0 - start, w.1 - start])
        .collect();
    Snippet {
        text: frag,
        highlights,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_show_the_densest_part_with_offsets() {
        let text = format!(
            "{} the Timeout hit\nagain: timeouts everywhere",
            "x ".repeat(200)
        );
        let want = Wanted {
            words: vec!["timeout".into(), "time*".into()],
            phrases: vec![],
        };
        let s = snippet(&text, &want);
        let marked: Vec<&str> = s.highlights.iter().map(|[a, b]| &s.text[*a..*b]).collect();
        assert_eq!(marked, vec!["Timeout", "timeouts"]);
        assert!(!s.text.contains('\n'));
        assert!(s.text.len() <= SNIPPET_CHARS);
    }

    fn wanted(words: &[&str], phrases: &[&[&str]]) -> Wanted {
        let own = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        Wanted {
            words: own(words),
            phrases: phrases.iter().map(|p| own(p)).collect(),
        }
    }

    #[test]
    fn a_snippet_of_a_short_text_keeps_its_first_word() {
        for (text, word) in [
            ("Fix login timeout", "timeout"),
            ("zebra quagga", "quagga"),
            ("The login handler drops sessions", "login"),
        ] {
            assert_eq!(snippet(text, &wanted(&[word], &[])).text, text);
        }
        // Cut inside a long text, it starts at the next word.
        let long = format!("{}needle", "abc ".repeat(30));
        let s = snippet(&long, &wanted(&["needle"], &[]));
        assert!(s.text.starts_with("abc "), "{:?}", s.text);
    }

    #[test]
    fn a_snippet_cut_at_a_wide_space_starts_after_it() {
        for space in ['\u{3000}', '\u{a0}', ' '] {
            let text = format!("{}{space}needle here", "x".repeat(60));
            let s = snippet(&text, &wanted(&["needle"], &[]));
            assert!(s.text.starts_with("needle"), "{:?}", s.text);
            assert_eq!(&s.text[s.highlights[0][0]..s.highlights[0][1]], "needle");
        }
    }

    #[test]
    fn a_phrase_marks_its_words_only_where_it_stands_whole() {
        let s = snippet("本日は日本語です", &wanted(&[], &[&["日", "本", "語"]]));
        let marked: String = s.highlights.iter().map(|[a, b]| &s.text[*a..*b]).collect();
        assert_eq!(marked, "日本語");
        assert_eq!(s.highlights[0][0], "本日は".len());
    }

    #[test]
    fn a_snippet_shows_the_phrase_rather_than_its_words_apart() {
        let text = format!(
            "{}Then the connection reset by peer came.",
            "the connection was slow and the reset happened later. ".repeat(12)
        );
        let want = wanted(&[], &[&["connection", "reset"]]);
        let s = snippet(&text, &want);
        assert!(s.text.contains("connection reset by peer"), "{:?}", s.text);
        let marked: Vec<&str> = s.highlights.iter().map(|[a, b]| &s.text[*a..*b]).collect();
        assert!(marked.ends_with(&["connection", "reset"]), "{marked:?}");
    }

    #[test]
    fn since_takes_dates_and_times() {
        assert_eq!(parse_since("1970-01-02").unwrap(), 86400);
        assert_eq!(parse_since("1970-01-01T00:01:00Z").unwrap(), 60);
        assert_eq!(
            parse_since("yesterday").unwrap_err().kind,
            crate::ErrorKind::Usage
        );
    }
}
