//! The report as GitHub-flavoured Markdown, for a pull request's description or comment.
//!
//! Every section is one function over the [`Report`], listed in [`SECTIONS`]. Lists are cut
//! at a fixed length with the number left out, texts at a fixed width, so the whole stays
//! under GitHub's 65,536-character limit for a comment; [`fit`] holds the line if a task
//! still manages more.

use super::{gantt, Report};
use crate::gates::criteria::State;

/// GitHub's limit for a comment or a pull request's description.
pub const GITHUB_LIMIT: usize = 65_536;
/// What one report may take of it, in bytes (never fewer than characters): the rest is room
/// for what a workflow puts around it (a marker, a heading).
pub const MAX_LEN: usize = 60_000;

/// How a section lists: at most this many items, each text at most [`TEXT`] characters.
const PHASE_ROWS: usize = 40;
const CODE_COMMITS: usize = 20;
const CRITERIA: usize = 40;
const CHECK_RUNS: usize = 30;
const REVIEW_ROUNDS: usize = 10;
const OVERRIDES: usize = 15;
const VERIFY_ITEMS: usize = 20;
const BUGS: usize = 15;
const AGENT_REFUSALS: usize = 15;
const RULE_CHANGES: usize = 15;
const FOLLOW_UPS: usize = 20;
const LINKS: usize = 20;
const ARTIFACTS: usize = 30;
const TEXT: usize = 160;
/// Texts inside table cells, which share a line with the rest of the row.
const CELL: usize = 60;

/// Where a cut list points to.
const ALL: &str = "`orch report --format json` lists all";

/// How links are written.
#[derive(Debug, Clone, Default)]
pub struct Style {
    /// Put before each artifact's repository-relative path (e.g. a repository's
    /// `https://github.com/OWNER/REPO/blob/SHA`); the links stay relative without it.
    pub link_base: Option<String>,
}

/// The Markdown being written, and how.
pub struct Md<'a> {
    out: String,
    style: &'a Style,
}

impl Md<'_> {
    fn line(&mut self, s: &str) {
        self.out.push_str(s);
        self.out.push('\n');
    }

    fn heading(&mut self, title: &str) {
        self.out.push_str("\n### ");
        self.line(title);
        self.out.push('\n');
    }

    /// `items` as lines, the first `cap` of them (the last `cap` with `newest`), and a line
    /// saying how many were left out.
    fn list<T>(&mut self, items: &[T], cap: usize, newest: bool, f: impl Fn(&T) -> String) {
        let left = items.len().saturating_sub(cap);
        let shown = if newest {
            &items[left..]
        } else {
            &items[..items.len() - left]
        };
        if newest && left > 0 {
            self.line(&format!("- … {left} earlier left out ({ALL})"));
        }
        for it in shown {
            self.line(&f(it));
        }
        if !newest && left > 0 {
            self.line(&format!("- … and {left} more ({ALL})"));
        }
    }

    /// A table of the newest `cap` of `rows` under `head` (its header lines), the number left
    /// out said above it: a line inside a table would end it.
    fn table<T>(
        &mut self,
        head: &[&str],
        rows: &[T],
        cap: usize,
        what: &str,
        f: impl Fn(&T) -> String,
    ) {
        let left = rows.len().saturating_sub(cap);
        if left > 0 {
            self.line(&format!("_… {left} earlier {what} left out ({ALL})._"));
            self.line("");
        }
        for h in head {
            self.line(h);
        }
        for r in &rows[left..] {
            self.line(&f(r));
        }
    }

    fn link(&self, path: &str) -> String {
        let encoded = encode_path(path);
        match &self.style.link_base {
            Some(b) => format!("{}/{encoded}", b.trim_end_matches('/')),
            None => encoded,
        }
    }
}

/// One section: reads the report, writes Markdown.
pub type Section = fn(&Report, &mut Md);

/// The report's sections, in order. A feature that adds to the report adds its section here
/// (and a link to a new record of the task folder goes into `artifacts` by itself).
pub const SECTIONS: &[Section] = &[
    header,
    timeline,
    phase_table,
    changes,
    code_commits,
    criteria,
    checks,
    review,
    overrides_and_waivers,
    rule_changes,
    agent_refusals,
    bugs,
    follow_ups,
    links,
    artifacts,
];

/// The report as Markdown with relative links.
pub fn markdown(r: &Report) -> String {
    markdown_with(r, &Style::default())
}

pub fn markdown_with(r: &Report, style: &Style) -> String {
    let mut md = Md {
        out: String::new(),
        style,
    };
    for section in SECTIONS {
        section(r, &mut md);
    }
    fit(md.out)
}

/// `s` cut to at most [`MAX_LEN`] bytes at a line end, an open code fence closed, with a note
/// saying where the rest is.
pub fn fit(s: String) -> String {
    if s.len() <= MAX_LEN {
        return s;
    }
    let total = s.chars().count();
    let mut cut = MAX_LEN - 400;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    let end = s[..cut].rfind('\n').map_or(0, |i| i + 1);
    let mut out = s[..end].to_string();
    if out.lines().filter(|l| l.starts_with("```")).count() % 2 == 1 {
        out.push_str("```\n");
    }
    out.push_str(&format!(
        "\n_The report is cut here after {} of {total} characters; `orch report --format json` has all of it._\n",
        out.chars().count()
    ));
    out
}

/// `s` on one line, at most `max` characters.
fn clip(s: &str, max: usize) -> String {
    let one: String = s
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect();
    let one = one.trim();
    if one.chars().count() <= max {
        one.to_string()
    } else {
        let cut: String = one.chars().take(max - 1).collect();
        format!("{}…", cut.trim_end())
    }
}

/// `s` for a table cell: one line, `|` escaped, at most `max` characters.
fn cell(s: &str, max: usize) -> String {
    clip(s, max).replace('|', "\\|")
}

fn short(c: &str) -> &str {
    c.get(..7).unwrap_or(c)
}

fn code(c: Option<&str>) -> String {
    c.map_or("—".into(), |c| format!("`{}`", short(c)))
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A path for a link: what is not a URL path character percent-encoded.
fn encode_path(p: &str) -> String {
    let mut out = String::with_capacity(p.len());
    for b in p.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn verify_mark(r: &Report) -> &'static str {
    match r.verify.as_str() {
        "clean" => "✅",
        "violations" => "❌",
        _ => "⚠️",
    }
}

/// The header line (task, title, state, verify's verdict) and the counts under it.
fn header(r: &Report, md: &mut Md) {
    let title = if r.title.is_empty() {
        String::new()
    } else {
        format!(": {}", clip(&r.title, TEXT))
    };
    md.line(&format!(
        "## {}{title} — {} · verify: {} {}",
        r.task,
        r.state,
        r.verify,
        verify_mark(r)
    ));
    let reopens = r
        .phases
        .iter()
        .filter(|p| p.reopened_from.is_some())
        .count();
    let resolved = r.bugs.iter().filter(|b| b.status != "open").count();
    let mut facts = vec![
        plural(r.phases.len(), "phase stretch", "phase stretches"),
        plural(reopens, "reopen", "reopens"),
        plural(r.overrides.len(), "override", "overrides"),
        plural(r.checks.len(), "check run", "check runs"),
    ];
    let refused: usize = r.agent_denials.iter().map(|d| d.count).sum();
    if refused > 0 {
        facts.push(plural(
            refused,
            "agent code write refused",
            "agent code writes refused",
        ));
    }
    if !r.bugs.is_empty() {
        facts.push(format!(
            "{} ({resolved} resolved)",
            plural(r.bugs.len(), "bug", "bugs")
        ));
    }
    md.line("");
    md.line(&format!("_{}_", facts.join(" · ")));
}

fn timeline(r: &Report, md: &mut Md) {
    md.heading("Timeline");
    let Some(chart) = gantt::chart(r) else {
        md.line("No phases yet.");
        return;
    };
    md.line("```mermaid");
    md.out.push_str(&chart.text);
    md.line("```");
    if chart.left_out > 0 {
        md.line(&format!(
            "\n_The chart shows the newest {}; {} earlier stretches are in the table and the JSON._",
            gantt::MAX_BARS,
            chart.left_out
        ));
    }
}

/// The phase column of a stretch: the phase, and its pass when it came back by a reopen.
fn phase_label(p: &super::PhaseRow) -> String {
    let mut s = cell(&p.phase, CELL);
    match (&p.reopened_from, p.pass) {
        (Some(from), n) => s.push_str(&format!(" ↺ pass {n}, reopened from {}", cell(from, CELL))),
        (None, n) if n > 1 => s.push_str(&format!(" (pass {n})")),
        _ => {}
    }
    s
}

fn phase_table(r: &Report, md: &mut Md) {
    if r.phases.is_empty() {
        return;
    }
    md.line("");
    let head = [
        "| Phase | Started | Completed | Duration | Left by | Transition commit | Override |",
        "|---|---|---|---|---|---|---|",
    ];
    md.table(&head, &r.phases, PHASE_ROWS, "phase stretches", |p| {
        let left = match (&p.left_by, &p.to) {
            (None, _) => "in progress".to_string(),
            (Some(k), Some(to)) if k != "complete" => format!("{k} → {}", cell(to, CELL)),
            (Some(k), _) => k.clone(),
        };
        format!(
            "| {} | {} | {} | {} | {left} | {} | {} |",
            phase_label(p),
            p.started,
            p.completed.as_deref().unwrap_or("—"),
            p.duration.as_deref().unwrap_or("—"),
            code(p.commit.as_deref()),
            p.override_
                .as_deref()
                .map_or("—".into(), |o| format!("⚠ {}", cell(o, CELL))),
        )
    });
}

fn changes(r: &Report, md: &mut Md) {
    md.heading("What changed");
    let c = &r.changes;
    if let Some(d) = &c.off_branch {
        md.line(&format!(
            "> ⚠ {} — {}",
            clip(&d.message, TEXT * 2),
            clip(&d.fix, TEXT)
        ));
        md.line("");
    }
    let Some(summary) = &c.summary else {
        let why = c.note.as_deref().unwrap_or("no code changes");
        md.line(&format!("No code changes to show: {}.", clip(why, TEXT)));
        return;
    };
    let range = match (&c.base, &c.head) {
        (Some(b), Some(h)) => format!(" (`{}..{}`)", short(b), short(h)),
        (None, Some(h)) => format!(" (up to `{}`)", short(h)),
        _ => String::new(),
    };
    let file = r
        .artifacts
        .iter()
        .find(|a| a.name == crate::changes::FILE)
        .map(|a| format!("; all files in [{}]({})", a.name, md.link(&a.path)))
        .unwrap_or_default();
    md.line(&format!(
        "**{summary}** in {}{range}{file}",
        plural(c.commits, "commit", "commits")
    ));
    md.line("");
    md.line("| File | Status | + | − |");
    md.line("|---|---|--:|--:|");
    for f in &c.top_files {
        let (ins, del) = if f.binary {
            ("-".to_string(), "-".to_string())
        } else {
            (f.insertions.to_string(), f.deletions.to_string())
        };
        md.line(&format!(
            "| `{}` | {} | {ins} | {del} |",
            cell(&f.path, TEXT).replace('`', "'"),
            serde_json::to_value(f.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        ));
    }
    if c.files > c.top_files.len() {
        let n = c.files - c.top_files.len();
        md.line(&format!(
            "\n… and {n} more {} (CHANGES.md lists every file)",
            if n == 1 { "file" } else { "files" }
        ));
    }
}

fn code_commits(r: &Report, md: &mut Md) {
    md.heading("Code commits by phase");
    if r.code_commits.is_empty() {
        md.line("None recorded (code commits carry `Orchestration-Task` trailers once `orch hooks install` ran).");
        return;
    }
    let mut budget = CODE_COMMITS;
    for g in &r.code_commits {
        md.line(&format!(
            "- **{}** ({})",
            cell(&g.phase, CELL),
            g.commits.len()
        ));
        let shown = g.commits.len().min(budget);
        for c in &g.commits[..shown] {
            md.line(&format!(
                "  - `{}` {}",
                short(&c.commit),
                clip(&c.subject, TEXT)
            ));
        }
        if shown < g.commits.len() {
            md.line(&format!("  - … and {} more", g.commits.len() - shown));
        }
        budget -= shown;
    }
}

fn criteria(r: &Report, md: &mut Md) {
    md.heading("Acceptance criteria");
    if r.criteria.is_empty() {
        md.line("None listed.");
        return;
    }
    let count = |s: &str| r.criteria.iter().filter(|c| c.state.as_str() == s).count();
    md.line(&format!(
        "{} met · {} dropped · {} open",
        count("done"),
        count("dropped"),
        count("open")
    ));
    md.line("");
    md.list(&r.criteria, CRITERIA, false, |c| {
        let text = clip(&c.text, TEXT);
        match &c.state {
            State::Open => format!("- [ ] {text} — open"),
            State::Done => format!("- [x] {text}"),
            State::Dropped { reason } => {
                format!("- [~] ~~{text}~~ — dropped: {}", clip(reason, TEXT))
            }
        }
    });
}

fn check_result(run: &crate::gates::checks::Run) -> String {
    let mut s = if run.passed {
        "✅ passed".to_string()
    } else if run.timed_out {
        "❌ timed out".to_string()
    } else {
        match run.exit_code {
            Some(c) => format!("❌ failed (exit {c})"),
            None => "❌ killed".to_string(),
        }
    };
    if !run.clean {
        s.push_str(", uncommitted changes");
    }
    s
}

fn checks(r: &Report, md: &mut Md) {
    md.heading("Checks");
    if r.checks.is_empty() {
        md.line("None run.");
        return;
    }
    let head = [
        "| Check | Result | Commit | At | Duration |",
        "|---|---|---|---|--:|",
    ];
    md.table(&head, &r.checks, CHECK_RUNS, "runs", |c| {
        format!(
            "| {} (`{}`) | {} | {} | {} | {:.1} s |",
            cell(&c.run.check, CELL),
            cell(&c.run.command, CELL).replace('`', "'"),
            check_result(&c.run),
            code(c.run.commit.as_deref()),
            c.at,
            c.run.duration_ms as f64 / 1000.0
        )
    });
}

fn review(r: &Report, md: &mut Md) {
    if r.review.is_none() && r.review_rounds.is_empty() {
        return;
    }
    md.heading("Review");
    if let Some(rv) = &r.review {
        let by = rv
            .reviewer
            .as_deref()
            .map(|w| format!(" by {}", clip(w, CELL)))
            .unwrap_or_default();
        md.line(&format!("**Review:** {}{by}", rv.verdict.as_str()));
        md.line("");
    }
    md.list(&r.review_rounds, REVIEW_ROUNDS, true, |rr| {
        let verdict = rr.verdict.map_or("no verdict", |v| v.as_str());
        let by = rr
            .reviewer
            .as_deref()
            .map(|w| format!(" by {}", clip(w, CELL)))
            .unwrap_or_default();
        let then = match (rr.left_by.as_str(), &rr.to) {
            ("reopen", Some(to)) => format!("sent back to {to}"),
            ("end", _) => "session ended".to_string(),
            (_, Some(to)) => format!("on to {to}"),
            (k, None) => k.to_string(),
        };
        format!(
            "- pass {}, {}: **{verdict}**{by} → {then} ({})",
            rr.pass,
            rr.at,
            code(rr.commit.as_deref())
        )
    });
}

fn overrides_and_waivers(r: &Report, md: &mut Md) {
    md.heading("Overrides and waivers");
    if r.overrides.is_empty() && r.waived.is_empty() && r.repaired.is_empty() {
        md.line("None.");
    }
    md.list(&r.overrides, OVERRIDES, false, |o| {
        let to =
            o.to.as_deref()
                .map(|t| format!(" → {t}"))
                .unwrap_or_default();
        let passed = if o.checks.is_empty() {
            String::new()
        } else {
            format!(" (passed: {})", clip(&o.checks.join(", "), TEXT))
        };
        format!(
            "- ⚠ override {}{to} by {} at {}: {}{passed}",
            o.phase,
            clip(&o.author, CELL),
            o.at,
            clip(&o.reason, TEXT)
        )
    });
    md.list(&r.waived, VERIFY_ITEMS, false, |w| {
        format!(
            "- waived: {} — accepted by {} at {}: {}",
            clip(&w.violation.line(), TEXT),
            clip(&w.waiver.author, CELL),
            w.waiver.at,
            clip(&w.waiver.reason, TEXT)
        )
    });
    md.list(&r.repaired, VERIFY_ITEMS, false, |rep| {
        format!(
            "- repaired: {} — undone by commit {}",
            clip(&rep.violation.line(), TEXT),
            short(&rep.repaired_by)
        )
    });
    md.line("");
    let mark = if r.verified { "✅" } else { "❌" };
    md.line(&format!("**Verify:** {mark} {}", r.verdict));
    md.list(&r.violations, VERIFY_ITEMS, false, |v| {
        format!("- {}", clip(&v.line(), TEXT * 2))
    });
}

/// Commits that changed the rules while the task was under way. Shown only when there were
/// some: a task worked under the rules it started with needs no section.
fn rule_changes(r: &Report, md: &mut Md) {
    if r.rule_changes.is_empty() {
        return;
    }
    md.heading("Rule changes");
    md.line(&format!(
        "{} changed the rules in force while the task was under way:",
        plural(r.rule_changes.len(), "commit", "commits")
    ));
    md.line("");
    md.list(&r.rule_changes, RULE_CHANGES, true, |c| {
        format!(
            "- `{}` by {} at {}: {} ({})",
            short(&c.commit),
            clip(&c.author, CELL),
            c.date,
            clip(&c.changed.join(", "), TEXT),
            clip(&c.subject, CELL)
        )
    });
}

/// The coding agent's attempts to write code before the code phase, which the agent hook
/// refused. Shown only when there were some: without agent hooks there is nothing to count.
fn agent_refusals(r: &Report, md: &mut Md) {
    let total: usize = r.agent_denials.iter().map(|d| d.count).sum();
    if total == 0 {
        return;
    }
    md.heading("Agent");
    let by: Vec<String> = r
        .agent_denials
        .iter()
        .map(|d| format!("{} in {}", d.count, cell(&d.phase, CELL)))
        .collect();
    md.line(&format!(
        "**The agent tried to write code {} before {}** ({}); the agent hook refused each:",
        plural(total, "time", "times"),
        cell(&r.code_allowed_from, CELL),
        by.join(", ")
    ));
    md.line("");
    md.list(&r.agent_refusals, AGENT_REFUSALS, true, |a| {
        let what = match (&a.path, &a.command) {
            (Some(p), Some(c)) => format!(
                "`{}` writing `{}`",
                clip(c, CELL).replace('`', "'"),
                clip(p, CELL).replace('`', "'")
            ),
            (Some(p), None) => format!("`{}`", clip(p, TEXT).replace('`', "'")),
            (None, Some(c)) => format!("`{}`", clip(c, TEXT).replace('`', "'")),
            (None, None) => "a code file".to_string(),
        };
        format!(
            "- {} in {}: {} {} {what}",
            a.at,
            cell(&a.phase, CELL),
            clip(&a.agent, CELL),
            clip(&a.tool, CELL)
        )
    });
}

fn bugs(r: &Report, md: &mut Md) {
    md.heading("Bugs");
    if r.bugs.is_empty() {
        md.line("None reported.");
        return;
    }
    md.list(&r.bugs, BUGS, false, |b| {
        let seen = if b.occurrences > 1 {
            format!(", seen {}×", b.occurrences)
        } else {
            String::new()
        };
        let state = match (&b.resolved_at, b.status.as_str()) {
            (Some(at), "resolved") => format!("resolved at {at}"),
            (_, s) => s.to_string(),
        };
        let note = b
            .resolution
            .as_deref()
            .map(|n| format!(" — {}", clip(n, CELL)))
            .unwrap_or_default();
        format!(
            "- {} ({}{seen}) **{state}**: {}{note}",
            b.id,
            b.severity,
            clip(&b.title, TEXT)
        )
    });
}

fn follow_ups(r: &Report, md: &mut Md) {
    md.heading("Follow-ups");
    if r.follow_ups.is_empty() {
        md.line("None recorded.");
        return;
    }
    md.list(&r.follow_ups, FOLLOW_UPS, false, |f| {
        let from = if f.source == "event" {
            String::new()
        } else {
            format!(" ({})", f.source)
        };
        format!("- {}{from}", clip(&f.text, TEXT))
    });
}

fn links(r: &Report, md: &mut Md) {
    md.heading("Links");
    if r.links.is_empty() {
        md.line("None (`orch task link` adds them).");
        return;
    }
    md.list(&r.links, LINKS, false, |l| {
        let what = match l.kind.as_str() {
            "pr" => "Pull request",
            "issue" => "Issue",
            "commit" => "Commit",
            k => k,
        };
        let target = if l.kind == "commit" {
            format!("`{}`", clip(&l.target, 40).replace('`', "'"))
        } else if l.target.len() <= 300 && !l.target.contains([' ', '<', '>']) {
            format!("<{}>", l.target)
        } else {
            format!("`{}`", clip(&l.target, TEXT).replace('`', "'"))
        };
        format!("- {what}: {target}")
    });
}

fn artifacts(r: &Report, md: &mut Md) {
    md.heading("Artifacts");
    if r.artifacts.is_empty() {
        md.line("None yet.");
        return;
    }
    let lines: Vec<String> = r
        .artifacts
        .iter()
        .map(|a| format!("- [{}]({})", clip(&a.name, CELL), md.link(&a.path)))
        .collect();
    md.list(&lines, ARTIFACTS, false, |l| l.clone());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_cuts_at_a_line_and_closes_a_fence() {
        let mut s = String::from("## T\n```mermaid\n");
        while s.len() < MAX_LEN * 2 {
            s.push_str("    a line of the chart\n");
        }
        let out = fit(s);
        assert!(out.len() <= MAX_LEN, "{}", out.len());
        assert!(out.contains("```\n\n_The report is cut here after"));
        assert_eq!(out.lines().filter(|l| l.starts_with("```")).count(), 2);
    }

    #[test]
    fn clip_keeps_one_line() {
        assert_eq!(clip("a\nb", 10), "a b");
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(cell("a|b", 10), "a\\|b");
    }

    #[test]
    fn paths_are_encoded_for_links() {
        assert_eq!(
            encode_path(".orchestration/tasks/T-1/A B.md"),
            ".orchestration/tasks/T-1/A%20B.md"
        );
    }
}
