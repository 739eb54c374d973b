//! The command line. Doc comments here are the `--help` text.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Walk a task through intake → research → plan → execute → review → close, with every
/// transition checked and committed to git.
#[derive(Debug, Parser)]
#[command(name = "orch", version, about, long_about = None, disable_help_subcommand = true)]
pub struct Cli {
    /// Run as if orch was started in <DIR> (like git -C)
    #[arg(
        short = 'C',
        global = true,
        value_name = "DIR",
        help_heading = "Global options"
    )]
    pub dir: Option<PathBuf>,
    /// Print one JSON document on stdout instead of human output
    #[arg(long, global = true, help_heading = "Global options")]
    pub json: bool,
    /// Never colour the output (NO_COLOR is honoured too)
    #[arg(long, global = true, help_heading = "Global options")]
    pub no_color: bool,
    /// Print only errors
    #[arg(short, long, global = true, help_heading = "Global options")]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create .orchestration/ (config, .gitattributes) and commit it
    Init {
        /// Also install the git hooks
        #[arg(long)]
        hooks: bool,
    },
    /// Create, list and show tasks
    #[command(subcommand)]
    Task(TaskCmd),
    /// Start, resume and end sessions
    #[command(subcommand)]
    Session(SessionCmd),
    /// Complete the current phase or move to another one
    #[command(subcommand)]
    Phase(PhaseCmd),
    /// Same as `phase complete`
    #[command(name = "phase-complete")]
    PhaseComplete(CompleteArgs),
    /// Same as `session end`
    #[command(name = "session-end")]
    SessionEnd(EndArgs),
    /// All tasks, or one task's instructions for its current phase
    Status {
        /// Task code (default: the current task; all tasks when there is none)
        code: Option<String>,
        /// Show every task even when a current task is set
        #[arg(long)]
        all: bool,
    },
    /// The one next action for the current task, in a few lines: step n/m, blockers with their
    /// fixes, the command; with no current task, the open tasks and how to pick one up
    Next {
        /// Task code (default: the current task)
        code: Option<String>,
    },
    /// The smallest context for an agent starting or resuming work (about 200 tokens):
    /// phase, open acceptance criteria, last decisions and findings, blockers, the command
    Prime {
        /// Task code (default: the current task)
        code: Option<String>,
    },
    /// A task's event timeline
    Events {
        /// Task code (default: the current task)
        code: Option<String>,
        /// Only events of this type (a full type, or dot-separated parts of it such as `start` or `check`)
        #[arg(long = "type", value_name = "TYPE")]
        type_: Option<String>,
        /// Also the events `orch compact` folded away, read back from git history
        #[arg(long)]
        all: bool,
    },
    /// Notes: scratch ones for the session, pinned ones committed for every later session
    #[command(subcommand)]
    Memory(MemoryCmd),
    /// Fold the event logs of long-closed tasks into their POSTOP.md, in one commit
    ///
    /// Each task whose session ended longer ago than --older-than gets a section in POSTOP.md
    /// naming its events.jsonl (blob id and number of events), and the log leaves the working
    /// tree. Git history keeps it: `orch events CODE --all` reads it back, and `orch verify`
    /// accepts the removal because POSTOP.md records it.
    Compact {
        /// Only tasks whose session ended longer ago than this (90d, 2w, 12h, 30m)
        #[arg(long, value_name = "AGE", default_value = "90d")]
        older_than: String,
        /// Say what would be folded and what it saves; change nothing
        #[arg(long)]
        dry_run: bool,
    },
    /// Add an event to a task's log
    #[command(subcommand)]
    Event(EventCmd),
    /// Bugs found during the work: report, list, show, resolve, reopen, merge, distinct
    #[command(subcommand)]
    Bug(BugCmd),
    /// A task's phase history, read from git: each transition with its commit
    Log {
        /// Task code (default: the current task)
        code: Option<String>,
    },
    /// Replay git history and check every transition was legal
    ///
    /// Each violation comes with the ways out that work from here: dropping a commit that is
    /// not pushed, putting the file back as it was before it (verify reports that as repaired),
    /// or accepting it on the record with --accept (reported as waived).
    Verify {
        /// Only commits in this range (A..B)
        #[arg(long, value_name = "A..B", conflicts_with = "accept")]
        range: Option<String>,
        /// Record a waiver for the violations in COMMIT (commits an
        /// orchestration.verify.waiver event: author, time, reason, rules waived)
        #[arg(long, value_name = "COMMIT", requires = "reason")]
        accept: Option<String>,
        /// Why the violations of --accept stay
        #[arg(long, value_name = "TEXT", requires = "accept")]
        reason: Option<String>,
        /// Only these tasks
        #[arg(conflicts_with = "accept")]
        codes: Vec<String>,
    },
    /// Install or remove orch's git hooks
    #[command(subcommand)]
    Hooks(HooksCmd),
    /// Install or remove orch's hooks in a coding agent's project settings (Claude Code,
    /// Cursor, Codex): code edits refused before the code phase, context at session start
    #[command(subcommand, name = "agent-hooks")]
    AgentHooks(AgentHooksCmd),
    /// Run one hook (called by the installed git hooks and agent hooks)
    ///
    /// Git hooks: pre-commit, commit-msg, pre-push. Agent hooks (reading the agent's JSON on
    /// stdin): agent-pre-tool --agent claude|cursor|codex refuses a tool call that writes
    /// outside .orchestration/ while the current task is before `[hooks] code_allowed_from`
    /// (exit 2, the refusal in the agent's format); agent-session-start --agent … prints
    /// `orch prime` for the agent's context.
    Hook {
        /// pre-commit, commit-msg, pre-push, agent-pre-tool or agent-session-start
        name: String,
        /// The arguments git (or the agent hook) passes
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Run the configured checks ([checks] in config.toml) and record each run
    ///
    /// Runs the named checks (all configured ones when none are named) at the current commit,
    /// streaming their output, and records an `orchestration.check.<name>` event for the
    /// current task: exit code, duration, commit, whether the worktree was clean, and the
    /// last lines of output (the full log stays in the git dir). Only the committed
    /// config.toml counts. Exits 3 when a check fails.
    Check {
        /// Checks to run (default: all configured)
        names: Vec<String>,
        /// Record the runs for this task (default: the current task; none: not recorded)
        #[arg(long, value_name = "CODE")]
        task: Option<String>,
        /// Stop a check after this many seconds (default: [checks] timeout_seconds)
        #[arg(long, value_name = "SECONDS")]
        timeout: Option<u64>,
    },
    /// Write CHANGES.md from the execute phase's diff
    Changes {
        /// Task code (default: the current task)
        code: Option<String>,
        /// Include the unified diff of each text file
        #[arg(long)]
        patch: bool,
        /// Print to stdout instead of writing CHANGES.md
        #[arg(long)]
        stdout: bool,
        /// Diff from this commit instead of the recorded base (re-recorded unless --stdout)
        #[arg(long, value_name = "COMMIT")]
        base: Option<String>,
        /// Diff up to this commit instead of the recorded head (re-recorded unless --stdout)
        #[arg(long, value_name = "COMMIT")]
        head: Option<String>,
    },
    /// A task's story for its pull request: state, timeline, changes, evidence, links
    Report {
        /// Task code (default: the current task)
        code: Option<String>,
        /// markdown or json
        #[arg(long, default_value = "markdown")]
        format: String,
        /// Prefix for the artifact links, e.g. https://github.com/OWNER/REPO/blob/SHA
        /// (default: paths relative to the repository's root)
        #[arg(long, value_name = "URL")]
        link_base: Option<String>,
    },
    /// Ranked full-text search over tasks, artifacts, events and bugs
    Search(SearchArgs),
    /// Sprints: the tasks each `sprint:` groups, by phase, with progress
    #[command(subcommand)]
    Sprint(SprintCmd),
    /// What in this clone makes orch refuse, or was left by an interrupted command, and the fixes
    ///
    /// Reports a pending journal, stale lock and temporary files (with the owner's pid when
    /// known), task state that differs from HEAD, a task folder without TASK.md, a dangling
    /// current-task pointer, hooks that are missing or not orch's, a shallow or sparse
    /// checkout and index formats orch refuses or rewrites. Exits 4 while any error or warning
    /// is left, 0 otherwise.
    Doctor {
        /// Apply the repairs that cannot lose data (recovery, stale locks and temporary
        /// files, empty task folders, a dangling pointer, hooks), then examine again
        #[arg(long)]
        fix: bool,
    },
    /// Print a shell completion script: bash, zsh, fish or powershell
    ///
    /// For example `orch completions bash > ~/.local/share/bash-completion/completions/orch`,
    /// or `source <(orch completions zsh)` in ~/.zshrc.
    Completions {
        /// The shell to complete for
        #[arg(value_enum)]
        shell: CompletionShell,
    },
    /// Print orch's man page (roff), or the page of one command
    ///
    /// For example `orch man | man -l -`, or `orch man session start > orch-session-start.1`.
    Man {
        /// A command (and subcommand) to print the page of, e.g. `session start`
        command: Vec<String>,
    },
    /// Serve the Model Context Protocol over stdio, for coding agents
    ///
    /// stdout carries only the protocol; messages go to stderr. Tools: next, status, task_new,
    /// session_start, phase_complete, phase_set, session_end, event_add, check_run (when
    /// [checks] has a command), report, bug_report, search, memory_add, each running the
    /// operation of the command of that name. Resources: orch://task/<CODE>/<file>.
    Mcp {
        /// Print the configuration that adds this server to an agent instead of serving:
        /// claude, cursor, vscode or codex
        #[arg(long, value_name = "AGENT")]
        print_config: Option<String>,
    },
    /// Walk a throwaway repository through every phase, for a first look
    Demo {
        /// Where to create the repository (default: a new temporary folder)
        dir: Option<PathBuf>,
    },
}

/// The shells `orch completions` writes a script for.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
    Powershell,
}

/// QUERY: words (all must match), "a phrase", a prefix like time*, -word to exclude, a OR b,
/// and filters type:T task:CODE phase:P kind:K sprint:S.
#[derive(Debug, Args)]
pub struct SearchArgs {
    /// What to search for (several words are joined with spaces)
    #[arg(required_unless_present = "reindex")]
    pub query: Vec<String>,
    /// session, task, sprint or project (default: the current task's sprint if it has one,
    /// else the project)
    #[arg(long, value_name = "SCOPE")]
    pub scope: Option<String>,
    /// Search this task (implies --scope task unless --scope says otherwise)
    #[arg(long, value_name = "CODE")]
    pub task: Option<String>,
    /// Search this sprint (implies --scope sprint unless --scope says otherwise)
    #[arg(long, value_name = "SPRINT")]
    pub sprint: Option<String>,
    /// Only events of this type (a full type, or dot-separated parts of it such as `decision`)
    #[arg(long = "type", value_name = "TYPE")]
    pub type_: Option<String>,
    /// Only this kind: event, artifact, bug or task (repeatable)
    #[arg(long = "kind", value_name = "KIND")]
    pub kinds: Vec<String>,
    /// Only events and bugs from this date (2025-01-31) or time (RFC 3339) on
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// At most this many results
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub limit: usize,
    /// Rebuild the search index from every file first (alone: only rebuild)
    #[arg(long)]
    pub reindex: bool,
    /// Print the results as Markdown (matches in **bold**)
    #[arg(long)]
    pub markdown: bool,
}

#[derive(Debug, Subcommand)]
pub enum SprintCmd {
    /// Every sprint: its tasks by phase and how many are done
    List,
    /// One sprint and its tasks
    Show {
        /// The sprint's name, as in `sprint:` of TASK.md
        sprint: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TaskCmd {
    /// Scaffold a new task's TASK.md and commit it
    New {
        /// Task code (default: generated, TSK- and six hex characters)
        code: Option<String>,
        /// One-line title
        #[arg(long)]
        title: String,
        /// What the task should achieve
        #[arg(long)]
        description: Option<String>,
        /// A tag (repeatable)
        #[arg(long = "tag", value_name = "TAG")]
        tags: Vec<String>,
        /// Sprint name
        #[arg(long)]
        sprint: Option<String>,
        /// An acceptance criterion, written as a `- [ ]` item of TASK.md (repeatable)
        #[arg(long = "criterion", value_name = "TEXT")]
        criteria: Vec<String>,
    },
    /// Overview of all tasks
    List {
        /// Only tasks in this phase
        #[arg(long)]
        phase: Option<String>,
        /// Only tasks of this sprint
        #[arg(long)]
        sprint: Option<String>,
        /// Only tasks with an active session
        #[arg(long)]
        active: bool,
    },
    /// One task in full
    Show {
        /// Task code (default: the current task)
        code: Option<String>,
    },
    /// Link a pull request, issue or commit to a task (recorded in TASK.md)
    Link {
        /// Task code (default: the current task)
        code: Option<String>,
        /// Pull request URL
        #[arg(long, group = "link")]
        pr: Option<String>,
        /// Issue URL
        #[arg(long, group = "link")]
        issue: Option<String>,
        /// Commit id, or a revision of this repository (HEAD, main~2) recorded as its id
        #[arg(long, group = "link")]
        commit: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum HooksCmd {
    /// Install pre-commit, commit-msg and pre-push hooks
    Install {
        /// Install even when <name>.orch-chained already holds a kept hook (it moves to
        /// <name>.orch-chained.old); a hook that is not orch's is always kept and chained
        #[arg(long)]
        force: bool,
    },
    /// Remove orch's hooks and restore what was there before
    Uninstall,
}

#[derive(Debug, Subcommand)]
pub enum AgentHooksCmd {
    /// Merge orch's hooks into the agent's project file (.claude/settings.json,
    /// .cursor/hooks.json, .codex/hooks.json), keeping everything else in it
    Install(AgentChoice),
    /// Take orch's hooks out again (a file left empty is removed)
    Uninstall(AgentChoice),
}

#[derive(Debug, Args)]
#[group(required = true, multiple = true)]
pub struct AgentChoice {
    /// Claude Code: PreToolUse on Edit|Write|MultiEdit|NotebookEdit|Bash, SessionStart
    #[arg(long)]
    pub claude: bool,
    /// Cursor: preToolUse and beforeShellExecution (failClosed), sessionStart
    #[arg(long)]
    pub cursor: bool,
    /// Codex: PreToolUse, SessionStart
    #[arg(long)]
    pub codex: bool,
}

#[derive(Debug, Subcommand)]
pub enum SessionCmd {
    /// Start a session, or resume one
    Start(StartArgs),
    /// End the session (only in the last phase unless --force)
    End(EndArgs),
}

#[derive(Debug, Args)]
pub struct StartArgs {
    /// Task code (default: the current task)
    pub code: Option<String>,
    /// Use this session key instead of sess_<CODE>_<YYYYMMDD>_<HHMMSS>
    #[arg(long)]
    pub session_key: Option<String>,
    /// Resume the active session as it is
    #[arg(long, group = "mode")]
    pub r#continue: bool,
    /// Archive the active session and start over from the first phase
    #[arg(long, group = "mode")]
    pub restart: bool,
    /// Archive the active session and begin a new one in the same phase
    #[arg(long, group = "mode")]
    pub new: bool,
    /// Start a new session on a done task (its session ended), recorded as a reopen
    #[arg(long, group = "mode")]
    pub reopen: bool,
    /// First switch to a branch for the task, created at HEAD unless it exists: NAME, else
    /// [git] branch_template (default task/<CODE>). Refused, as by git, when local changes
    /// would be overwritten. Put the task code before it: `session start TSK-1 --branch`
    #[arg(long, value_name = "NAME", num_args = 0..=1, default_missing_value = "")]
    pub branch: Option<String>,
}

#[derive(Debug, Args)]
pub struct EndArgs {
    /// Task code (default: the current task)
    pub code: Option<String>,
    /// End even outside the last phase or with its checks failing (recorded)
    #[arg(long)]
    pub force: bool,
    /// Why (recorded with --force or --override)
    #[arg(long)]
    pub reason: Option<String>,
    /// Pass failing checks of the last phase, with --reason
    #[arg(long = "override")]
    pub override_: bool,
}

#[derive(Debug, Subcommand)]
pub enum PhaseCmd {
    /// Check the current phase and move to the next one
    Complete(CompleteArgs),
    /// Move to another phase: back any time (reopen), forward as the rules allow
    Set {
        /// [CODE] PHASE
        #[arg(value_name = "CODE|PHASE", num_args = 1..=2, required = true)]
        args: Vec<String>,
        /// Pass failing checks (or a skip), with --reason
        #[arg(long = "override")]
        override_: bool,
        /// Why the override is needed (recorded)
        #[arg(long)]
        reason: Option<String>,
        /// Refuse (exit 5) unless the task is in this phase
        #[arg(long, value_name = "PHASE")]
        from: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct CompleteArgs {
    /// Task code (default: the current task)
    pub code: Option<String>,
    /// Pass failing checks, with --reason (recorded)
    #[arg(long = "override")]
    pub override_: bool,
    /// Why the override is needed
    #[arg(long)]
    pub reason: Option<String>,
    /// Refuse (exit 5) unless the task is in this phase: safe against a concurrent move
    #[arg(long, value_name = "PHASE")]
    pub from: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum EventCmd {
    /// Append an event: a type the current phase declares, or any custom.* type
    Add {
        /// [CODE] TYPE
        #[arg(value_name = "CODE|TYPE", num_args = 1..=2, required = true)]
        args: Vec<String>,
        /// Payload, as JSON
        #[arg(long)]
        data: Option<String>,
        /// Commit the event now instead of with the task's next transition
        #[arg(long)]
        commit: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum MemoryCmd {
    /// Write a note: scratch (kept in the git dir until the session ends and folds it into
    /// POSTOP.md), or with --pin committed to the task's memory.jsonl
    Add {
        /// [CODE] TEXT
        #[arg(value_name = "CODE|TEXT", num_args = 1..=2, required = true)]
        args: Vec<String>,
        /// Commit the note: it travels with the task to every clone and later session
        #[arg(long)]
        pin: bool,
        /// A tag (repeatable); decision, dead-end and followup land in POSTOP.md's lists of those
        #[arg(long = "tag", value_name = "TAG")]
        tags: Vec<String>,
        /// task (default) or project: a project note is always pinned, to
        /// .orchestration/memory.jsonl, and shown by every task's `orch prime`
        #[arg(long, value_name = "SCOPE")]
        scope: Option<String>,
    },
    /// The task's notes (scratch and pinned) and the project's
    List {
        /// Task code (default: the current task)
        code: Option<String>,
        /// Every task's notes
        #[arg(long)]
        all: bool,
    },
    /// Commit a scratch note to its task's memory.jsonl
    Pin {
        /// Note id (mem_…)
        id: String,
    },
    /// Make a pinned note of a task a scratch note again (recorded in memory.jsonl)
    Unpin {
        /// Note id (mem_…)
        id: String,
    },
    /// Drop a note: a scratch one at once, a pinned one recorded as forgotten
    Forget {
        /// Note id (mem_…)
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum BugCmd {
    /// Record a bug against a task from its error text (stack trace, panic, test output);
    /// a known bug gets an occurrence, a resolved one reopens as a regression
    Report {
        /// [CODE] and/or `-` to read the error from stdin
        #[arg(value_name = "CODE|-", num_args = 0..=2)]
        args: Vec<String>,
        /// One-line title
        #[arg(long)]
        title: String,
        /// The error text
        #[arg(long, value_name = "TEXT", conflicts_with = "error_file")]
        error: Option<String>,
        /// Read the error text from a file
        #[arg(long, value_name = "FILE")]
        error_file: Option<PathBuf>,
        /// The file where the bug shows
        #[arg(long, value_name = "PATH")]
        file: Option<String>,
        /// Its line (with --file)
        #[arg(long, value_name = "N")]
        line: Option<u32>,
        /// low, medium (default), high or critical
        #[arg(long)]
        severity: Option<String>,
    },
    /// All bugs, newest first
    List {
        /// Only bugs of this status: open, resolved or duplicate
        #[arg(long)]
        status: Option<String>,
        /// Only bugs this task found
        #[arg(long, value_name = "CODE")]
        task: Option<String>,
    },
    /// One bug: its first report, normalised form and every occurrence
    Show {
        /// Bug id (BUG-…)
        id: String,
    },
    /// Mark a bug fixed
    Resolve {
        /// Bug id (BUG-…)
        id: String,
        /// The commit that fixed it
        #[arg(long, value_name = "SHA")]
        commit: Option<String>,
        /// A one-line note
        #[arg(long, value_name = "TEXT")]
        note: Option<String>,
    },
    /// Open a resolved (or merged) bug again
    Reopen {
        /// Bug id (BUG-…)
        id: String,
    },
    /// Record that a bug is a duplicate of another
    Merge {
        /// The duplicate
        id: String,
        /// The bug it duplicates
        into: String,
    },
    /// Record that two bugs only look alike
    Distinct {
        /// Bug id (BUG-…)
        id: String,
        /// The bug it is not
        other: String,
    },
}
