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
        /// Only events of this type (a full type, or a suffix such as `start`)
        #[arg(long = "type", value_name = "TYPE")]
        type_: Option<String>,
    },
    /// Add an event to a task's log
    #[command(subcommand)]
    Event(EventCmd),
    /// A task's phase history, read from git: each transition with its commit
    Log {
        /// Task code (default: the current task)
        code: Option<String>,
    },
    /// Replay git history and check every transition was legal
    Verify {
        /// Only commits in this range (A..B)
        #[arg(long, value_name = "A..B")]
        range: Option<String>,
        /// Only these tasks
        codes: Vec<String>,
    },
    /// Install or remove orch's git hooks
    #[command(subcommand)]
    Hooks(HooksCmd),
    /// Run one git hook (called by the installed hook scripts)
    Hook {
        /// pre-commit, commit-msg or pre-push
        name: String,
        /// The arguments git passed to the hook
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
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
    /// The phase history of a task, for a pull request
    Report {
        /// Task code (default: the current task)
        code: Option<String>,
        /// markdown or json
        #[arg(long, default_value = "markdown")]
        format: String,
    },
    /// Walk a throwaway repository through every phase, for a first look
    Demo {
        /// Where to create the repository (default: a new temporary folder)
        dir: Option<PathBuf>,
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
        /// Commit id
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
