//! The query language of `orch search`, parsed into a plain tree before any index is touched,
//! so a bad query is a usage error that names what is wrong and costs nothing.
//!
//! ```text
//! query   := clause+                    every clause must hold (AND)
//! clause  := ["-"] (filter | phrase | word)
//! filter  := FIELD ":" value            type: task: phase: kind: sprint:
//! phrase  := '"' words '"'              the words in this order
//! word    := TEXT ["*"]                 a trailing * matches every word with this prefix
//! ```
//! `a OR b` joins two clauses so that either may hold.

use crate::{Error, Result};

/// The fields a filter may name.
pub const FIELDS: &[&str] = &["type", "task", "phase", "kind", "sprint"];

/// The document kinds a search returns.
pub const KINDS: &[&str] = &["task", "artifact", "event", "bug"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Text {
    /// Words that must appear one after another (a single word is a phrase of one).
    Phrase(Vec<String>),
    /// A word prefix.
    Prefix(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Clause {
    Text(Text),
    Filter {
        field: String,
        value: String,
    },
    /// Either side may hold.
    Or(Vec<Clause>),
    Not(Box<Clause>),
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Query {
    pub clauses: Vec<Clause>,
}

impl Query {
    /// Whether any clause matches text (and so ranks); a query of only filters lists by time.
    pub fn has_text(&self) -> bool {
        fn text(c: &Clause) -> bool {
            match c {
                Clause::Text(_) => true,
                Clause::Or(v) => v.iter().any(text),
                Clause::Filter { .. } | Clause::Not(_) => false,
            }
        }
        self.clauses.iter().any(text)
    }

    /// Whether the query has a phrase of several words anywhere: such a query checks the
    /// positions of every document holding all the words, which is worth a thread per segment.
    pub fn has_phrase(&self) -> bool {
        fn phrase(c: &Clause) -> bool {
            match c {
                Clause::Text(Text::Phrase(w)) => w.len() > 1,
                Clause::Or(v) => v.iter().any(phrase),
                Clause::Not(c) => phrase(c),
                Clause::Text(Text::Prefix(_)) | Clause::Filter { .. } => false,
            }
        }
        self.clauses.iter().any(phrase)
    }

    /// Every clause that is no `OR`, with whether a `-` stands over it.
    fn leaves(&self) -> Vec<(&Clause, bool)> {
        fn walk<'q>(c: &'q Clause, negated: bool, out: &mut Vec<(&'q Clause, bool)>) {
            match c {
                Clause::Or(v) => v.iter().for_each(|c| walk(c, negated, out)),
                Clause::Not(c) => walk(c, true, out),
                _ => out.push((c, negated)),
            }
        }
        let mut out = Vec::new();
        self.clauses.iter().for_each(|c| walk(c, false, &mut out));
        out
    }

    /// The values the query's filters on `field` ask for, wherever they stand.
    pub fn filter_values(&self, field: &str) -> Vec<&str> {
        let values = self.leaves().into_iter().filter_map(|(c, _)| match c {
            Clause::Filter { field: f, value } if f == field => Some(value.as_str()),
            _ => None,
        });
        values.collect()
    }

    /// Whether the query asks for values of `fields` outside any negation (`task:T-1`, or
    /// `task:T-1 OR sprint:S2`), so that it says itself which tasks or sprints to search.
    pub fn selects(&self, fields: &[&str]) -> bool {
        fn walk(c: &Clause, fields: &[&str]) -> bool {
            match c {
                Clause::Filter { field: f, .. } => fields.contains(&f.as_str()),
                Clause::Or(v) => v.iter().all(|c| walk(c, fields)),
                Clause::Text(_) | Clause::Not(_) => false,
            }
        }
        self.clauses.iter().any(|c| walk(c, fields))
    }

    /// The phrases of several words the query looks for, outside negations (for centring
    /// snippets on them).
    pub fn phrases(&self) -> Vec<Vec<String>> {
        let found = self
            .leaves()
            .into_iter()
            .filter_map(|(c, negated)| match c {
                Clause::Text(Text::Phrase(w)) if w.len() > 1 && !negated => Some(w.clone()),
                _ => None,
            });
        found.collect()
    }

    /// The single words and prefixes (with their `*`) the query looks for, outside phrases
    /// of several words and negations.
    pub fn single_words(&self) -> Vec<String> {
        let found = self
            .leaves()
            .into_iter()
            .filter_map(|(c, negated)| match c {
                _ if negated => None,
                Clause::Text(Text::Phrase(w)) if w.len() == 1 => Some(w[0].clone()),
                Clause::Text(Text::Prefix(p)) => Some(format!("{p}*")),
                _ => None,
            });
        found.collect()
    }
}

/// Splits text into lower-case words the way the index does (see [`spans`]). The index's
/// tokenizer and this function must agree, or a query would miss what it should find; a test
/// checks that they do.
pub fn words(text: &str) -> Vec<String> {
    spans(text)
        .map(|(a, b)| text[a..b].chars().flat_map(char::to_lowercase).collect())
        .collect()
}

/// Chinese and Japanese script, written without spaces between words: each character is a
/// word of its own, so that a run of them is found as a phrase anywhere in a text (as
/// Lucene's standard tokenizer does).
pub fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{3040}'..='\u{30FF}'   // Hiragana, Katakana
        | '\u{31F0}'..='\u{31FF}' // Katakana phonetic extensions
        | '\u{3400}'..='\u{4DBF}' // CJK extension A
        | '\u{4E00}'..='\u{9FFF}' // CJK unified ideographs
        | '\u{F900}'..='\u{FAFF}' // CJK compatibility ideographs
        | '\u{FF66}'..='\u{FF9F}' // half-width Katakana
        | '\u{20000}'..='\u{2FA1F}' // CJK extensions B and later
    )
}

/// The byte ranges of the words of `text`: runs of letters and digits, except that each
/// Chinese or Japanese character is a word of its own ([`is_cjk`]).
pub fn spans(text: &str) -> Spans<'_> {
    Spans {
        it: text.char_indices().peekable(),
    }
}

pub struct Spans<'a> {
    it: std::iter::Peekable<std::str::CharIndices<'a>>,
}

impl Iterator for Spans<'_> {
    type Item = (usize, usize);

    fn next(&mut self) -> Option<(usize, usize)> {
        let (start, c) = self.it.find(|(_, c)| c.is_alphanumeric())?;
        let mut end = start + c.len_utf8();
        if is_cjk(c) {
            return Some((start, end));
        }
        while let Some(&(i, c)) = self.it.peek() {
            let word = match c.is_ascii() {
                true => c.is_ascii_alphanumeric(),
                false => c.is_alphanumeric() && !is_cjk(c),
            };
            if !word {
                break;
            }
            end = i + c.len_utf8();
            self.it.next();
        }
        Some((start, end))
    }
}

fn usage(msg: String) -> Error {
    Error::usage(msg).with_hint(
        "write words, \"a phrase\", a prefix like time*, or filters like type:plan.decision task:TSK-1 phase:research kind:event sprint:S1; quote text that contains a colon",
    )
}

/// One raw token of the query: its text, whether it was quoted, and whether `-` preceded it.
#[derive(Debug)]
struct Raw {
    text: String,
    quoted: bool,
    negated: bool,
}

fn lex(input: &str) -> Result<Vec<Raw>> {
    let mut out = Vec::new();
    let mut chars = input.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut negated = false;
        if c == '-' {
            chars.next();
            negated = true;
        }
        let mut text = String::new();
        let mut quoted = false;
        if chars.peek() == Some(&'"') {
            chars.next();
            quoted = true;
            let mut closed = false;
            for c in chars.by_ref() {
                if c == '"' {
                    closed = true;
                    break;
                }
                text.push(c);
            }
            if !closed {
                return Err(usage(format!(
                    "the query {input:?} has an unbalanced quote: a phrase opened with \" is never closed"
                )));
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                if c == '"' {
                    // `field:"quoted value"` keeps the quoted part as the value.
                    chars.next();
                    let mut closed = false;
                    for c in chars.by_ref() {
                        if c == '"' {
                            closed = true;
                            break;
                        }
                        text.push(c);
                    }
                    if !closed {
                        return Err(usage(format!(
                            "the query {input:?} has an unbalanced quote: a phrase opened with \" is never closed"
                        )));
                    }
                    continue;
                }
                text.push(c);
                chars.next();
            }
        }
        out.push(Raw {
            text,
            quoted,
            negated,
        });
    }
    Ok(out)
}

fn clause(raw: &Raw) -> Result<Option<Clause>> {
    let c = if raw.quoted {
        let w = words(&raw.text);
        if w.is_empty() {
            return Err(usage(format!(
                "the phrase \"{}\" holds no word to search for",
                raw.text
            )));
        }
        Clause::Text(Text::Phrase(w))
    } else if let Some((field, value)) = raw.text.split_once(':').filter(|(f, v)| {
        // `https://…` is text to look for, not a field.
        !f.is_empty()
            && f.chars().all(|c| c.is_ascii_alphabetic() || c == '_')
            && !v.starts_with("//")
    }) {
        if !FIELDS.contains(&field) {
            return Err(usage(format!(
                "unknown field `{field}` in {:?}; the fields are {}",
                raw.text,
                FIELDS.join(", ")
            )));
        }
        if value.is_empty() {
            return Err(usage(format!(
                "the filter `{field}:` has no value, e.g. `{field}:{}`",
                example(field)
            )));
        }
        if field == "kind" && !KINDS.contains(&value) {
            return Err(usage(format!(
                "unknown kind `{value}`; the kinds are {}",
                KINDS.join(", ")
            )));
        }
        Clause::Filter {
            field: field.to_string(),
            value: value.to_string(),
        }
    } else if let Some(stem) = raw.text.strip_suffix('*') {
        let w = words(stem);
        match w.as_slice() {
            [] => {
                return Err(usage(format!(
                    "the prefix {:?} needs at least one letter or digit before the *",
                    raw.text
                )))
            }
            [one] if stem.chars().all(char::is_alphanumeric) => {
                Clause::Text(Text::Prefix(one.clone()))
            }
            // Chinese or Japanese characters are words each, so a run of them already
            // matches wherever it stands, as a phrase.
            _ if stem.chars().all(is_cjk) => Clause::Text(Text::Phrase(w)),
            _ => {
                return Err(usage(format!(
                    "the prefix {:?} must be one word of letters and digits",
                    raw.text
                )))
            }
        }
    } else {
        let w = words(&raw.text);
        if w.is_empty() {
            // Punctuation alone (e.g. `--` or `+`) says nothing to search for.
            return Ok(None);
        }
        Clause::Text(Text::Phrase(w))
    };
    Ok(Some(if raw.negated {
        Clause::Not(Box::new(c))
    } else {
        c
    }))
}

fn example(field: &str) -> &'static str {
    match field {
        "type" => "plan.decision",
        "task" => "TSK-1",
        "phase" => "research",
        "kind" => "event",
        _ => "S1",
    }
}

pub fn parse(input: &str) -> Result<Query> {
    if input.trim().is_empty() {
        return Err(usage("the query is empty; say what to search for".into()));
    }
    let raws = lex(input)?;
    let mut clauses: Vec<Clause> = Vec::new();
    let mut pending_or = false;
    for raw in &raws {
        if !raw.quoted && !raw.negated && raw.text == "OR" {
            if clauses.is_empty() || pending_or {
                return Err(usage(format!(
                    "OR in {input:?} needs something to search for on both sides"
                )));
            }
            pending_or = true;
            continue;
        }
        let Some(c) = clause(raw)? else { continue };
        if pending_or {
            pending_or = false;
            let left = clauses.pop().expect("OR follows a clause");
            clauses.push(match left {
                Clause::Or(mut v) => {
                    v.push(c);
                    Clause::Or(v)
                }
                other => Clause::Or(vec![other, c]),
            });
        } else {
            clauses.push(c);
        }
    }
    if pending_or {
        return Err(usage(format!(
            "OR in {input:?} needs something to search for on both sides"
        )));
    }
    if clauses.is_empty() {
        return Err(usage(format!(
            "the query {input:?} holds no word to search for"
        )));
    }
    if clauses.iter().all(|c| matches!(c, Clause::Not(_))) {
        return Err(usage(format!(
            "the query {input:?} only excludes; add a word or a filter to search for"
        )));
    }
    Ok(Query { clauses })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phrase(w: &[&str]) -> Clause {
        Clause::Text(Text::Phrase(w.iter().map(|s| s.to_string()).collect()))
    }

    #[test]
    fn words_phrases_prefixes_and_filters() {
        let q = parse(r#"Timeout "connection reset" time* type:plan.decision -flaky"#).unwrap();
        assert_eq!(
            q.clauses,
            vec![
                phrase(&["timeout"]),
                phrase(&["connection", "reset"]),
                Clause::Text(Text::Prefix("time".into())),
                Clause::Filter {
                    field: "type".into(),
                    value: "plan.decision".into()
                },
                Clause::Not(Box::new(phrase(&["flaky"]))),
            ]
        );
        assert!(q.has_text());
        assert!(!parse("task:TSK-1").unwrap().has_text());
    }

    #[test]
    fn a_word_with_punctuation_is_a_phrase_of_its_parts() {
        let q = parse("src/config.rs").unwrap();
        assert_eq!(q.clauses, vec![phrase(&["src", "config", "rs"])]);
        // A URL's scheme is not a field.
        assert!(parse("https://example.com/x").is_ok());
    }

    #[test]
    fn or_joins_neighbours() {
        let q = parse("alpha OR beta gamma").unwrap();
        assert_eq!(
            q.clauses,
            vec![
                Clause::Or(vec![phrase(&["alpha"]), phrase(&["beta"])]),
                phrase(&["gamma"])
            ]
        );
    }

    #[test]
    fn chinese_and_japanese_characters_are_words_each() {
        assert_eq!(
            words("日本語のテキスト, abc漢字Def 한국어"),
            [
                "日",
                "本",
                "語",
                "の",
                "テ",
                "キ",
                "ス",
                "ト",
                "abc",
                "漢",
                "字",
                "def",
                "한국어"
            ]
        );
        // A run of them is a phrase; so is the same run with a *.
        for q in ["日本語", "日本語*"] {
            assert_eq!(
                parse(q).unwrap().clauses,
                vec![phrase(&["日", "本", "語"])],
                "{q}"
            );
        }
    }

    #[test]
    fn bad_queries_are_usage_errors_naming_the_problem() {
        let cases = [
            ("", "empty"),
            ("   ", "empty"),
            ("\"connection reset", "unbalanced quote"),
            ("colour:red", "unknown field `colour`"),
            ("type:", "has no value"),
            ("kind:file", "unknown kind"),
            ("*", "needs at least one letter"),
            ("a-b*", "one word"),
            ("\"  \"", "no word"),
            ("OR x", "both sides"),
            ("x OR", "both sides"),
            ("-alpha", "only excludes"),
            ("-- ++", "no word"),
        ];
        for (q, want) in cases {
            let e = parse(q).unwrap_err();
            assert_eq!(e.kind, crate::ErrorKind::Usage, "{q}");
            assert!(e.message.contains(want), "{q}: {}", e.message);
            assert!(e.hint.is_some());
        }
    }
}
