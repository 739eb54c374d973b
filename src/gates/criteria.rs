//! TASK.md's acceptance criteria: a checklist under `## Acceptance criteria`.
//! `- [ ] text` is open, `- [x] text` met, `- [~] text — dropped: REASON` struck with a reason.

use super::sections;
use serde::Serialize;

/// The heading the checklist lives under.
pub const SECTION: &str = "Acceptance criteria";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "state")]
pub enum State {
    Open,
    Done,
    Dropped { reason: String },
}

impl State {
    pub fn as_str(&self) -> &'static str {
        match self {
            State::Open => "open",
            State::Done => "done",
            State::Dropped { .. } => "dropped",
        }
    }
    pub fn is_resolved(&self) -> bool {
        !matches!(self, State::Open)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Criterion {
    pub text: String,
    #[serde(flatten)]
    pub state: State,
}

/// A checklist line orch cannot take as a criterion, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    pub line: String,
    pub why: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checklist {
    /// Whether TASK.md has the section at all.
    pub has_section: bool,
    pub items: Vec<Criterion>,
    pub malformed: Vec<Malformed>,
}

impl Checklist {
    pub fn open(&self) -> impl Iterator<Item = &Criterion> {
        self.items.iter().filter(|c| !c.state.is_resolved())
    }
}

/// Splits `text — dropped: reason` (also `--` or `-` before `dropped:`).
fn split_dropped(rest: &str) -> Option<(&str, &str)> {
    // ASCII lowercasing keeps byte offsets, so `at` indexes `rest` too.
    let at = rest.to_ascii_lowercase().rfind("dropped:")?;
    let before = rest[..at].trim_end();
    let text = before
        .strip_suffix('—')
        .or_else(|| before.strip_suffix('–'))
        .or_else(|| before.strip_suffix("--"))
        .or_else(|| before.strip_suffix('-'))?;
    Some((text.trim(), rest[at + "dropped:".len()..].trim()))
}

/// One checklist line, if it is one: `Ok(None)` for other lines and empty boxes.
fn item(line: &str) -> Result<Option<Criterion>, Malformed> {
    let t = line.trim();
    let Some(rest) = t.strip_prefix(['-', '*', '+']) else {
        return Ok(None);
    };
    let rest = rest.trim_start();
    let Some(after) = rest.strip_prefix('[') else {
        return Ok(None);
    };
    let mut chars = after.chars();
    let (mark, close) = (chars.next(), chars.next());
    if close != Some(']') {
        return Ok(None);
    }
    let text = chars.as_str().trim();
    if text.is_empty() {
        return Ok(None);
    }
    let bad = |why: &str| Malformed {
        line: t.to_string(),
        why: why.to_string(),
    };
    let state = match mark {
        Some(' ') => State::Open,
        Some('x' | 'X') => State::Done,
        Some('~') => match split_dropped(text) {
            Some((_, "")) => {
                return Err(bad(
                    "it is struck with `[~]` but gives no reason after `dropped:`",
                ))
            }
            Some((criterion, reason)) => {
                return Ok(Some(Criterion {
                    text: criterion.to_string(),
                    state: State::Dropped {
                        reason: reason.to_string(),
                    },
                }))
            }
            None => {
                return Err(bad(
                    "it is struck with `[~]` but does not end in `— dropped: REASON`",
                ))
            }
        },
        _ => return Err(bad("its box is not `[ ]`, `[x]` or `[~]`")),
    };
    Ok(Some(Criterion {
        text: text.to_string(),
        state,
    }))
}

/// The checklist of a TASK.md's text. Items inside comments are the template's examples and
/// do not count.
pub fn parse(task_md: &str) -> Checklist {
    let Some(body) = sections::find(task_md, SECTION) else {
        return Checklist::default();
    };
    let mut out = Checklist {
        has_section: true,
        ..Checklist::default()
    };
    let mut in_fence = false;
    for line in sections::strip_comments(body).lines() {
        let t = line.trim_start();
        if t.starts_with("```") || t.starts_with("~~~") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        match item(line) {
            Ok(Some(c)) => out.items.push(c),
            Ok(None) => {}
            Err(m) => out.malformed.push(m),
        }
    }
    out
}

/// Checklist lines for `orch task new --criterion`.
pub fn open_lines(criteria: &[String]) -> Vec<String> {
    criteria
        .iter()
        .map(|c| {
            format!(
                "- [ ] {}",
                c.split_whitespace().collect::<Vec<_>>().join(" ")
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn md(items: &str) -> String {
        format!("---\ntitle: t\n---\n# t\n\n## Acceptance criteria\n\n<!-- e.g. - [ ] example -->\n{items}\n## Notes\n- [ ] not a criterion\n")
    }

    #[test]
    fn reads_each_state() {
        let c = parse(&md(
            "- [ ] open one\n- [x] done one\n* [X] done two\n- [~] gone — dropped: out of scope\n  - [~] nested -- dropped: covered by TSK-2\n",
        ));
        assert!(c.has_section);
        assert!(c.malformed.is_empty(), "{:?}", c.malformed);
        let got: Vec<(&str, &str)> = c
            .items
            .iter()
            .map(|i| (i.text.as_str(), i.state.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("open one", "open"),
                ("done one", "done"),
                ("done two", "done"),
                ("gone", "dropped"),
                ("nested", "dropped"),
            ]
        );
        assert_eq!(
            c.items[3].state,
            State::Dropped {
                reason: "out of scope".into()
            }
        );
        assert_eq!(c.open().count(), 1);
    }

    #[test]
    fn template_examples_and_empty_boxes_are_not_criteria() {
        let c = parse(&md("- [ ]\n- [x] \nplain text\n```\n- [ ] in code\n```\n"));
        assert!(c.has_section);
        assert!(c.items.is_empty(), "{:?}", c.items);
        assert!(!parse("# t\n\n## Problem\n- [ ] x\n").has_section);
    }

    #[test]
    fn struck_items_need_a_reason() {
        let c = parse(&md("- [~] no reason\n- [~] empty — dropped:\n- [?] odd\n"));
        assert!(c.items.is_empty());
        let why: Vec<&str> = c.malformed.iter().map(|m| m.why.as_str()).collect();
        assert_eq!(why.len(), 3);
        assert!(why[0].contains("dropped: REASON"));
        assert!(why[1].contains("no reason"));
        assert!(why[2].contains("[x]"));
    }

    #[test]
    fn new_criteria_are_open_lines() {
        assert_eq!(
            open_lines(&["a  b\nc".into()]),
            vec!["- [ ] a b c".to_string()]
        );
    }
}
