//! Trailers added to (and removed from) a commit message, found and placed the way
//! `git interpret-trailers` finds and places them.

const GIT_GENERATED: [&str; 2] = ["Signed-off-by: ", "(cherry picked from commit "];

fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

/// Start offsets of the lines of `s` (each line includes its `\n`).
fn line_starts(s: &str) -> Vec<usize> {
    let mut v = vec![];
    let mut i = 0;
    while i < s.len() {
        v.push(i);
        i = s[i..].find('\n').map_or(s.len(), |n| i + n + 1);
    }
    v
}

/// Where the message proper ends: before a scissors line and before trailing comment and
/// blank lines (git's `ignored_log_message_bytes`).
fn end_of_message(s: &str, comment: &str) -> usize {
    let scissors = format!("{comment} ------------------------ >8 ------------------------\n");
    let cutoff = if s.starts_with(&scissors) {
        0
    } else {
        s.find(&format!("\n{scissors}")).map_or(s.len(), |i| i + 1)
    };
    let mut boc: Option<usize> = None;
    let mut in_conflicts = false;
    for start in line_starts(&s[..cutoff]) {
        let line = &s[start..];
        if line.starts_with(comment) || line.starts_with('\n') {
            boc.get_or_insert(start);
        } else if line.starts_with("Conflicts:\n") {
            in_conflicts = true;
            boc.get_or_insert(start);
        } else if in_conflicts && line.starts_with('\t') {
        } else if boc.is_some() {
            boc = None;
            in_conflicts = false;
        }
    }
    boc.unwrap_or(cutoff)
}

fn separator_pos(line: &str) -> Option<usize> {
    let mut ws = false;
    for (i, c) in line.char_indices() {
        if c == ':' {
            return Some(i);
        }
        if !ws && (c.is_ascii_alphanumeric() || c == '-') {
            continue;
        }
        if i != 0 && (c == ' ' || c == '\t') {
            ws = true;
            continue;
        }
        break;
    }
    None
}

/// git's `find_trailer_block_start` over `s[..len]`.
fn trailer_block_start(s: &str, len: usize, comment: &str) -> usize {
    let text = &s[..len];
    let starts = line_starts(text);
    let mut end_of_title = len;
    for &st in &starts {
        let line = &text[st..];
        if line.starts_with(comment) {
            continue;
        }
        if is_blank(line.split('\n').next().unwrap_or("")) {
            end_of_title = st;
            break;
        }
    }
    let (mut only_spaces, mut recognized, mut trailers, mut non_trailers, mut cont) =
        (true, false, 0, 0, 0);
    for (k, &st) in starts.iter().enumerate().rev() {
        if st < end_of_title {
            break;
        }
        let line = text[st..].split('\n').next().unwrap_or("");
        if line.starts_with(comment) {
            non_trailers += cont;
            cont = 0;
            continue;
        }
        if is_blank(line) {
            if only_spaces {
                continue;
            }
            non_trailers += cont;
            let next = starts.get(k + 1).copied().unwrap_or(len);
            if (recognized && trailers * 3 >= non_trailers) || (trailers > 0 && non_trailers == 0) {
                return next;
            }
            return len;
        }
        only_spaces = false;
        if GIT_GENERATED.iter().any(|p| line.starts_with(p)) {
            trailers += 1;
            cont = 0;
            recognized = true;
            continue;
        }
        match separator_pos(line) {
            Some(pos) if pos >= 1 && !line.starts_with([' ', '\t']) => {
                trailers += 1;
                cont = 0;
            }
            _ if line.starts_with([' ', '\t']) => cont += 1,
            _ => {
                non_trailers += 1 + cont;
                cont = 0;
            }
        }
    }
    len
}

/// Adds `Token: value` trailers to a commit message as
/// `git interpret-trailers --no-divider --if-exists addIfDifferent` does: into the existing
/// trailer block, or a new one after a blank line, before trailing comments. A trailer whose
/// token and value are already there is not added again. An empty message stays empty.
pub fn add_trailers(msg: &str, new: &[(&str, &str)], comment: &str) -> String {
    let mut s = msg.to_string();
    if !s.is_empty() && !s.ends_with('\n') {
        s.push('\n');
    }
    let end = end_of_message(&s, comment);
    let content = s[..end]
        .lines()
        .any(|l| !l.starts_with(comment) && !is_blank(l));
    if !content {
        return msg.to_string();
    }
    let start = trailer_block_start(&s, end, comment);
    let block = &s[start..end];
    let existing: Vec<(String, String)> = block
        .lines()
        .filter_map(|l| {
            separator_pos(l).filter(|&p| p >= 1).map(|p| {
                (
                    l[..p].trim().to_ascii_lowercase(),
                    l[p + 1..].trim().to_string(),
                )
            })
        })
        .collect();
    let mut out = String::with_capacity(s.len() + 128);
    out.push_str(&s[..start]);
    let before = &s[..start];
    let blank_before = line_starts(before)
        .last()
        .is_some_and(|&l| is_blank(&before[l..]));
    if !blank_before {
        out.push('\n');
    }
    out.push_str(block);
    for (t, v) in new {
        if existing
            .iter()
            .any(|(et, ev)| et == &t.to_ascii_lowercase() && ev == v)
        {
            continue;
        }
        out.push_str(&format!("{t}: {v}\n"));
    }
    out.push_str(&s[end..]);
    out
}

/// Removes the trailers of the message's trailer block (found as `git interpret-trailers`
/// finds it) for which `drop(token, value)` holds; returns the message and the lines removed.
pub fn remove_trailers(
    msg: &str,
    comment: &str,
    drop: impl Fn(&str, &str) -> bool,
) -> (String, Vec<String>) {
    let mut s = msg.to_string();
    if !s.is_empty() && !s.ends_with('\n') {
        s.push('\n');
    }
    let end = end_of_message(&s, comment);
    let start = trailer_block_start(&s, end, comment);
    if start >= end {
        return (msg.to_string(), vec![]);
    }
    let mut kept = String::new();
    let mut removed = vec![];
    for line in s[start..end].split_inclusive('\n') {
        let l = line.trim_end_matches('\n');
        let hit = separator_pos(l)
            .filter(|&p| p >= 1)
            .is_some_and(|p| drop(l[..p].trim(), l[p + 1..].trim()));
        if hit {
            removed.push(l.to_string());
        } else {
            kept.push_str(line);
        }
    }
    if removed.is_empty() {
        return (msg.to_string(), vec![]);
    }
    (format!("{}{kept}{}", &s[..start], &s[end..]), removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailers_go_after_a_blank_line() {
        let t = [("A-B", "1")];
        assert_eq!(add_trailers("subject\n", &t, "#"), "subject\n\nA-B: 1\n");
        assert_eq!(add_trailers("subject", &t, "#"), "subject\n\nA-B: 1\n");
        assert_eq!(
            add_trailers("s\n\nbody\n\nX: y\n", &t, "#"),
            "s\n\nbody\n\nX: y\nA-B: 1\n"
        );
        assert_eq!(add_trailers("s\n\nA-B: 1\n", &t, "#"), "s\n\nA-B: 1\n");
        assert_eq!(
            add_trailers("\n# only comments\n", &t, "#"),
            "\n# only comments\n"
        );
        assert_eq!(
            add_trailers("s\n\n# Please enter\n", &t, "#"),
            "s\n\nA-B: 1\n\n# Please enter\n"
        );
    }
}
