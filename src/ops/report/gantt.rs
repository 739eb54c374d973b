//! The timeline as a Mermaid `gantt` chart, which GitHub draws in pull requests: one section
//! per phase in workflow order, one bar per stretch in it with its real times (UTC), overrides
//! as critical bars, and each reopen as a milestone where the reopened phase starts again.
//!
//! Mermaid's gantt grammar ends a task's name at `:` and its data at `#` or `;`, and takes
//! `%%` as a comment, so every text put in the chart goes through [`text`].

use super::{PhaseRow, Report};
use chrono::{DateTime, Utc};

/// Bars the chart draws at most: the newest stretches are kept.
pub const MAX_BARS: usize = 40;

/// `dateFormat` of the chart, and the same format for chrono.
pub const DATE_FORMAT: &str = "YYYY-MM-DD HH:mm:ss";
const CHRONO_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

pub struct Chart {
    /// The lines between the fences, each ending in a newline.
    pub text: String,
    /// Stretches left out because the chart holds [`MAX_BARS`].
    pub left_out: usize,
}

/// `s` as text Mermaid takes in a name or title: no separators or comment marks, one line,
/// at most 60 characters.
pub fn text(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| match c {
            ':' | ';' | '#' | '%' | ',' => ' ',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect();
    let words: Vec<&str> = cleaned.split_whitespace().collect();
    let joined = words.join(" ");
    if joined.chars().count() <= 60 {
        joined
    } else {
        let cut: String = joined.chars().take(59).collect();
        format!("{}…", cut.trim_end())
    }
}

fn at(t: &DateTime<Utc>) -> String {
    t.format(CHRONO_FORMAT).to_string()
}

/// A stretch's name in the chart: the phase, and how it began and ended when not plainly.
fn label(r: &PhaseRow) -> String {
    let mut marks = vec![];
    if r.pass > 1 {
        marks.push(format!("pass {}", r.pass));
    }
    if r.override_.is_some() {
        marks.push("override".to_string());
    }
    match (r.left_by.as_deref(), &r.to) {
        (Some("reopen"), Some(to)) => marks.push(format!("sent back to {to}")),
        (Some("skip"), Some(to)) => marks.push(format!("skipped to {to}")),
        (None, _) => marks.push("now".to_string()),
        _ => {}
    }
    if marks.is_empty() {
        text(&r.phase)
    } else {
        text(&format!("{} ({})", r.phase, marks.join(" · ")))
    }
}

/// The axis labels for a chart spanning `secs` seconds.
fn axis_format(secs: i64) -> &'static str {
    if secs <= 86_400 {
        "%H:%M"
    } else if secs <= 90 * 86_400 {
        "%m-%d"
    } else {
        "%Y-%m"
    }
}

struct Bar<'r> {
    row: &'r PhaseRow,
    n: usize,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

/// The chart of `r.phases`, or `None` when there is no stretch with readable times.
pub fn chart(r: &Report) -> Option<Chart> {
    let order = |p: &str| r.phase_order.iter().position(|x| x == p);
    let now = crate::clock::parse(&r.generated_at);
    let skip = r.phases.len().saturating_sub(MAX_BARS);
    let bars: Vec<Bar> = r
        .phases
        .iter()
        .enumerate()
        .skip(skip)
        .filter_map(|(i, row)| {
            let start = crate::clock::parse(&row.started)?;
            let end = match &row.completed {
                Some(c) => crate::clock::parse(c)?,
                None => now.unwrap_or(start),
            };
            Some(Bar {
                row,
                n: i + 1,
                start,
                end: end.max(start),
            })
        })
        .collect();
    let first = bars.iter().map(|b| b.start).min()?;
    let last = bars.iter().map(|b| b.end).max()?;
    let mut sections: Vec<&str> = vec![];
    for b in &bars {
        if !sections.contains(&b.row.phase.as_str()) {
            sections.push(&b.row.phase);
        }
    }
    // Workflow order; a phase the workflow no longer has goes last, where it first appeared.
    sections.sort_by_key(|p| order(p).unwrap_or(usize::MAX));
    let mut s = String::from("gantt\n");
    s.push_str(&format!("    title {} phases (UTC)\n", text(&r.task)));
    s.push_str(&format!("    dateFormat {DATE_FORMAT}\n"));
    s.push_str(&format!(
        "    axisFormat {}\n",
        axis_format((last - first).num_seconds())
    ));
    s.push_str("    todayMarker off\n");
    for phase in sections {
        s.push_str(&format!("    section {}\n", text(phase)));
        for b in bars.iter().filter(|b| b.row.phase == phase) {
            if let Some(from) = &b.row.reopened_from {
                let t = at(&b.start);
                s.push_str(&format!(
                    "    {} :milestone, r{}, {t}, {t}\n",
                    text(&format!("reopened from {from}")),
                    b.n
                ));
            }
            let mut tags = vec![if b.row.completed.is_some() {
                "done"
            } else {
                "active"
            }];
            if b.row.override_.is_some() {
                tags.push("crit");
            }
            s.push_str(&format!(
                "    {} :{}, p{}, {}, {}\n",
                label(b.row),
                tags.join(", "),
                b.n,
                at(&b.start),
                at(&b.end)
            ));
        }
    }
    Some(Chart {
        text: s,
        left_out: skip,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_drops_what_mermaid_reads_as_syntax() {
        assert_eq!(text("a: b; c # d %% e, f"), "a b c d e f");
        assert_eq!(text("two\nlines"), "two lines");
        let long = "x".repeat(100);
        assert_eq!(text(&long).chars().count(), 60);
    }

    #[test]
    fn the_axis_follows_the_span() {
        assert_eq!(axis_format(3600), "%H:%M");
        assert_eq!(axis_format(5 * 86_400), "%m-%d");
        assert_eq!(axis_format(400 * 86_400), "%Y-%m");
    }
}
