//! Markdown artifacts as sections: each `##` heading opens one, and it runs to the next heading
//! of level one or two. Whether a section holds real text is judged against the template's own
//! text for it, so a scaffold's comments, example lines and empty bullets never count.

/// One `##` section: its heading text and the lines under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section<'a> {
    pub title: String,
    pub body: &'a str,
}

/// Where the YAML front matter ends (0 when there is none), so `---` lines are not read as
/// Markdown.
pub fn body_start(text: &str) -> usize {
    let rest = match text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))
    {
        Some(r) => r,
        None => return 0,
    };
    let mut offset = text.len() - rest.len();
    for line in rest.split_inclusive('\n') {
        offset += line.len();
        let t = line.trim_end_matches(['\n', '\r']);
        if t == "---" || t == "..." {
            return offset;
        }
    }
    0
}

/// The YAML between the opening and closing `---` lines, if `text` starts with front matter.
pub fn front_matter(text: &str) -> Option<&str> {
    let end = body_start(text);
    if end == 0 {
        return None;
    }
    let open = if text.starts_with("---\r\n") { 5 } else { 4 };
    let yaml = &text[open..end];
    // Drop the closing `---` line itself.
    let close = yaml.trim_end_matches(['\n', '\r']);
    Some(&yaml[..close.len().saturating_sub(3)])
}

/// The level of an ATX heading line (`#` … `######` then a space or the end), if it is one.
fn heading_level(line: &str) -> Option<(usize, &str)> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    if indent > 3 {
        return None;
    }
    let l = &line[indent..];
    let level = l.len() - l.trim_start_matches('#').len();
    if level == 0 || level > 6 {
        return None;
    }
    let rest = &l[level..];
    if !(rest.is_empty() || rest.starts_with([' ', '\t'])) {
        return None;
    }
    // A closing run of `#` is not part of the heading text.
    let title = rest.trim().trim_end_matches('#').trim_end();
    Some((level, title))
}

/// A code fence opener or closer: ``` or ~~~, indented at most three spaces.
fn fence(line: &str) -> Option<char> {
    let t = line.trim_start_matches(' ');
    if line.len() - t.len() > 3 {
        return None;
    }
    if t.starts_with("```") {
        Some('`')
    } else if t.starts_with("~~~") {
        Some('~')
    } else {
        None
    }
}

/// Every `##` section of `text`, in order. Headings inside code fences do not count.
pub fn sections(text: &str) -> Vec<Section<'_>> {
    let start = body_start(text);
    let mut out: Vec<Section> = Vec::new();
    // (title, byte offset where its body starts)
    let mut open: Option<(String, usize)> = None;
    let mut in_fence: Option<char> = None;
    let mut offset = start;
    for line in text[start..].split_inclusive('\n') {
        let here = offset;
        offset += line.len();
        let bare = line.trim_end_matches(['\n', '\r']);
        if let Some(f) = in_fence {
            if fence(bare) == Some(f) {
                in_fence = None;
            }
            continue;
        }
        if let Some(f) = fence(bare) {
            in_fence = Some(f);
            continue;
        }
        let Some((level, title)) = heading_level(bare) else {
            continue;
        };
        if level > 2 {
            continue;
        }
        if let Some((t, from)) = open.take() {
            out.push(Section {
                title: t,
                body: &text[from..here],
            });
        }
        if level == 2 {
            open = Some((title.to_string(), offset));
        }
    }
    if let Some((t, from)) = open {
        out.push(Section {
            title: t,
            body: &text[from..],
        });
    }
    out
}

/// Headings compare without regard to case or runs of spaces.
pub fn same_title(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        s.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    };
    norm(a) == norm(b)
}

/// The body of the section titled `title`, if `text` has one.
pub fn find<'a>(text: &'a str, title: &str) -> Option<&'a str> {
    sections(text)
        .into_iter()
        .find(|s| same_title(&s.title, title))
        .map(|s| s.body)
}

/// `text` without its HTML comments; an unterminated comment runs to the end.
pub fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("<!--") {
        out.push_str(&rest[..i]);
        match rest[i + 4..].find("-->") {
            Some(j) => rest = &rest[i + 4 + j + 3..],
            None => return out,
        }
    }
    out.push_str(rest);
    out
}

/// A list marker with nothing after it: `-`, `*`, `+`, `1.`, `1)`, optionally with an empty
/// checkbox (`- [ ]`). Scaffolds are full of them; they say nothing.
pub fn is_empty_bullet(line: &str) -> bool {
    let t = line.trim();
    let rest = if let Some(r) = t.strip_prefix(['-', '*', '+']) {
        r
    } else {
        let digits = t.len() - t.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 {
            return false;
        }
        match t[digits..].strip_prefix(['.', ')']) {
            Some(r) => r,
            None => return false,
        }
    };
    let rest = rest.trim();
    rest.is_empty() || matches!(rest, "[ ]" | "[]" | "[x]" | "[X]" | "[~]")
}

/// The lines of `body` a reader would take as content: comments, blank lines, empty bullets
/// and the lines of `placeholder` (the template's own text for this section) removed.
pub fn real_lines(body: &str, placeholder: Option<&str>) -> Vec<String> {
    let template: Vec<String> = placeholder
        .map(|p| {
            strip_comments(p)
                .lines()
                .map(|l| l.trim().to_string())
                .filter(|l| !l.is_empty())
                .collect()
        })
        .unwrap_or_default();
    strip_comments(body)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !is_empty_bullet(l))
        .filter(|l| !template.iter().any(|t| t == l))
        .map(str::to_string)
        .collect()
}

/// Whether `body` holds text of its own beyond `placeholder`.
pub fn holds_real_text(body: &str, placeholder: Option<&str>) -> bool {
    !real_lines(body, placeholder).is_empty()
}

/// What a required section lacks, if anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SectionProblem {
    /// The artifact has no `## <title>` heading.
    Missing,
    /// The heading is there, with nothing but the template's placeholder under it.
    Empty,
}

/// Judges the section `title` of `text`; `template` is the freshly rendered template, whose
/// text for the same section is the placeholder.
pub fn judge_section(text: &str, title: &str, template: Option<&str>) -> Option<SectionProblem> {
    let Some(body) = find(text, title) else {
        return Some(SectionProblem::Missing);
    };
    let placeholder = template.and_then(|t| find(t, title));
    (!holds_real_text(body, placeholder)).then_some(SectionProblem::Empty)
}

/// `text` with `lines` added at the end of the section `title` (after the template's comment),
/// or in a new `## title` section at the end when there is none.
pub fn append_to_section(text: &str, title: &str, lines: &[String]) -> String {
    if lines.is_empty() {
        return text.to_string();
    }
    let block: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let Some(s) = sections(text)
        .into_iter()
        .find(|s| same_title(&s.title, title))
    else {
        let sep = if text.is_empty() || text.ends_with("\n\n") {
            ""
        } else if text.ends_with('\n') {
            "\n"
        } else {
            "\n\n"
        };
        return format!("{text}{sep}## {title}\n\n{block}");
    };
    // Insert after the section's last non-blank line, keeping the blank lines that separate
    // it from the next heading.
    let body_at = s.body.as_ptr() as usize - text.as_ptr() as usize;
    let content = s.body.trim_end();
    let end = body_at + content.len();
    let (head, tail) = text.split_at(end);
    let lead = if content.is_empty() { "\n" } else { "\n\n" };
    match tail.trim_start() {
        "" => format!("{head}{lead}{block}"),
        next => format!("{head}{lead}{block}\n{next}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = "---\ntitle: x\n---\n\n# Title\n\n<!-- intro -->\n\n## Problem\n\n<!-- What is wrong. -->\n\n## Steps\n\nExample: do the thing.\n- [ ]\n\n## Notes\n";

    #[test]
    fn splits_on_level_two_headings_only() {
        let s = sections("# T\n\nintro\n## A\none\n### sub\ntwo\n## B ##\nthree\n# Next\nfour\n");
        let titles: Vec<&str> = s.iter().map(|s| s.title.as_str()).collect();
        assert_eq!(titles, ["A", "B"]);
        assert_eq!(s[0].body, "one\n### sub\ntwo\n");
        assert_eq!(s[1].body, "three\n");
    }

    #[test]
    fn headings_in_code_fences_and_front_matter_do_not_count() {
        let text = "---\n## not: a heading\n---\n## A\n```\n## inside\n```\n~~~\n## also\n~~~\n";
        let s = sections(text);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].title, "A");
        assert!(s[0].body.contains("## inside"));
        assert!(sections("##nospace\n#### deep\n").is_empty());
    }

    #[test]
    fn titles_match_loosely() {
        assert!(find("## Acceptance   Criteria\n- [ ] a\n", "acceptance criteria").is_some());
        assert!(find("## Acceptance\n", "Acceptance criteria").is_none());
    }

    #[test]
    fn comments_empty_bullets_and_template_lines_are_not_real_text() {
        let placeholder = find(TEMPLATE, "Steps");
        assert!(!holds_real_text(
            "\n<!-- multi\nline -->\n\n- [ ]\n-\n1.\n*  \n",
            None
        ));
        assert!(!holds_real_text(
            "Example: do the thing.\n- [ ]\n",
            placeholder
        ));
        assert!(holds_real_text(
            "Example: do the thing.\n- [ ] step one\n",
            placeholder
        ));
        assert!(holds_real_text("The parser drops `--json`.\n", None));
        assert!(!holds_real_text(
            "<!-- never closed\nreal looking text\n",
            None
        ));
        assert!(holds_real_text("a <!-- c --> b\n", None));
        assert!(holds_real_text("```\ncode\n```\n", None));
    }

    #[test]
    fn untouched_and_filled_sections_are_told_apart() {
        assert_eq!(
            judge_section(TEMPLATE, "Problem", Some(TEMPLATE)),
            Some(SectionProblem::Empty)
        );
        assert_eq!(
            judge_section(TEMPLATE, "Risks", Some(TEMPLATE)),
            Some(SectionProblem::Missing)
        );
        let filled = TEMPLATE.replace("<!-- What is wrong. -->", "`--json` is ignored.");
        assert_eq!(judge_section(&filled, "Problem", Some(TEMPLATE)), None);
        // The last section runs to the end of the file.
        assert_eq!(
            judge_section(TEMPLATE, "Notes", Some(TEMPLATE)),
            Some(SectionProblem::Empty)
        );
        assert_eq!(
            judge_section(&format!("{TEMPLATE}Keep the API.\n"), "Notes", None),
            None
        );
    }

    #[test]
    fn appends_to_a_section_after_its_comment() {
        let t = "# T\n\n## Acceptance criteria\n\n<!-- one per line -->\n\n## Notes\n\nx\n";
        let got = append_to_section(
            t,
            "Acceptance criteria",
            &["- [ ] a".into(), "- [ ] b".into()],
        );
        assert_eq!(
            got,
            "# T\n\n## Acceptance criteria\n\n<!-- one per line -->\n\n- [ ] a\n- [ ] b\n\n## Notes\n\nx\n"
        );
        let last = append_to_section("## A\n\n<!-- c -->\n", "A", &["- [ ] z".into()]);
        assert_eq!(last, "## A\n\n<!-- c -->\n\n- [ ] z\n");
        let empty = append_to_section("## A\n## B\n", "A", &["- [ ] z".into()]);
        assert_eq!(empty, "## A\n\n- [ ] z\n\n## B\n");
        let missing = append_to_section("# T\n", "Acceptance criteria", &["- [ ] z".into()]);
        assert_eq!(missing, "# T\n\n## Acceptance criteria\n\n- [ ] z\n");
        assert_eq!(append_to_section("# T\n", "A", &[]), "# T\n");
    }
}
