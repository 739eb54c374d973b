//! One line of `events.jsonl` as the search reads it, taken in a single pass over the JSON:
//! the few top-level strings it keeps, and the payload's text values one per line (what a
//! person wrote, not the keys), without building a JSON tree first.
//!
//! It reads what a JSON tree would give: the last of repeated top-level keys wins; a
//! top-level value that is not a string counts as absent; numbers are written as
//! `serde_json` writes them; every value is checked as a tree would check it (escapes,
//! number range, nesting), so a line that is not a JSON object is not an event. A key
//! repeated inside the payload (where a tree keeps the last value at the first one's place)
//! is left to a tree: such lines are rare.

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;

/// The leaves every collecting visitor handles alike: numbers and booleans as text, null as
/// nothing.
macro_rules! other_leaves {
    (|$this:ident| $out:expr, $none:expr) => {
        fn visit_bool<E>(self, b: bool) -> Result<Self::Value, E> {
            let $this = self;
            push_line($out, if b { "true" } else { "false" });
            Ok($none)
        }
        fn visit_u64<E>(self, n: u64) -> Result<Self::Value, E> {
            let $this = self;
            push_line($out, &n.to_string());
            Ok($none)
        }
        fn visit_i64<E>(self, n: i64) -> Result<Self::Value, E> {
            let $this = self;
            push_line($out, &n.to_string());
            Ok($none)
        }
        fn visit_f64<E>(self, n: f64) -> Result<Self::Value, E> {
            let $this = self;
            if let Some(n) = serde_json::Number::from_f64(n) {
                push_line($out, &n.to_string());
            }
            Ok($none)
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            let _ = self;
            Ok($none)
        }
    };
}

#[derive(Debug, Default, PartialEq)]
pub struct EventLine<'a> {
    pub id: Option<Cow<'a, str>>,
    pub ts: Option<Cow<'a, str>>,
    pub type_: Option<Cow<'a, str>>,
    pub session: Option<Cow<'a, str>>,
    /// The payload's string, number and boolean values, each followed by a line break.
    pub text: String,
    /// The payload's own `phase`, when it is a string.
    pub phase: Option<String>,
}

/// The event on `line`, or `None` when the line is not a JSON object.
pub fn parse(line: &str) -> Option<EventLine<'_>> {
    let mut de = serde_json::Deserializer::from_str(line);
    match de.deserialize_map(LineVisitor) {
        Ok(e) => de.end().ok().map(|()| e),
        Err(e) if e.to_string().starts_with(REPEATED) => by_tree(line),
        Err(_) => None,
    }
}

/// The error a repeated key inside the payload stops the single pass with.
const REPEATED: &str = "a key repeated inside the payload";

/// The same reading through a JSON tree.
fn by_tree(line: &str) -> Option<EventLine<'_>> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    let o = v.as_object()?;
    let s = |k: &str| {
        o.get(k)
            .and_then(|x| x.as_str())
            .map(|s| Cow::Owned(s.to_string()))
    };
    let mut text = String::new();
    let payload = o.get("payload").unwrap_or(&serde_json::Value::Null);
    tree_text(payload, &mut text);
    Some(EventLine {
        id: s("id"),
        ts: s("ts"),
        type_: s("type"),
        session: s("session_key"),
        text,
        phase: payload
            .get("phase")
            .and_then(|p| p.as_str())
            .map(str::to_string),
    })
}

fn tree_text(v: &serde_json::Value, out: &mut String) {
    use serde_json::Value;
    match v {
        Value::String(s) => push_line(Some(out), s),
        Value::Number(n) => push_line(Some(out), &n.to_string()),
        Value::Bool(b) => push_line(Some(out), if *b { "true" } else { "false" }),
        Value::Array(a) => a.iter().for_each(|x| tree_text(x, out)),
        Value::Object(m) => m.values().for_each(|x| tree_text(x, out)),
        Value::Null => {}
    }
}

/// Notes `key` as seen in one object; a repeat is an error that hands the line to a tree.
fn once<'de, E: serde::de::Error>(
    seen: &mut Vec<Cow<'de, str>>,
    key: Cow<'de, str>,
) -> Result<(), E> {
    if seen.contains(&key) {
        return Err(E::custom(REPEATED));
    }
    seen.push(key);
    Ok(())
}

struct LineVisitor;

impl<'de> Visitor<'de> for LineVisitor {
    type Value = EventLine<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an event object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<EventLine<'de>, A::Error> {
        let mut e = EventLine::default();
        while let Some(Str(key)) = m.next_key::<Str>()? {
            match &*key {
                "id" => e.id = m.next_value::<StrOrNone>()?.0,
                "ts" => e.ts = m.next_value::<StrOrNone>()?.0,
                "type" => e.type_ = m.next_value::<StrOrNone>()?.0,
                "session_key" => e.session = m.next_value::<StrOrNone>()?.0,
                "payload" => {
                    let mut text = String::new();
                    e.phase = m.next_value_seed(Payload(&mut text))?;
                    e.text = text;
                }
                // Checked as a tree would check it, though nothing of it is kept.
                _ => {
                    m.next_value_seed(Collect {
                        out: None,
                        keep: false,
                    })?;
                }
            }
        }
        Ok(e)
    }
}

/// A string, borrowed from the line when it has no escapes.
struct Str<'a>(Cow<'a, str>);

impl<'de> serde::Deserialize<'de> for Str<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(s.to_string())))
            }
        }
        d.deserialize_str(V)
    }
}

/// Any value; kept only when it is a string.
struct StrOrNone<'a>(Option<Cow<'a, str>>);

impl<'de> serde::Deserialize<'de> for StrOrNone<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Collect {
            out: None,
            keep: true,
        })
        .map(|s| StrOrNone(s.map(|s| s.0)))
    }
}

/// The payload's text, appended to the string it holds; its `phase` when that is a string.
struct Payload<'s>(&'s mut String);

impl<'de> DeserializeSeed<'de> for Payload<'_> {
    type Value = Option<String>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<String>, D::Error> {
        struct V<'s>(&'s mut String);
        impl<'de> Visitor<'de> for V<'_> {
            type Value = Option<String>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a payload")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Option<String>, A::Error> {
                let (mut phase, mut seen) = (None, Vec::new());
                while let Some(Str(key)) = m.next_key::<Str>()? {
                    let keep = key == "phase";
                    once(&mut seen, key)?;
                    let s = m.next_value_seed(Collect {
                        out: Some(&mut *self.0),
                        keep,
                    })?;
                    if keep {
                        phase = s.map(|s| s.0.into_owned());
                    }
                }
                Ok(phase)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, s: A) -> Result<Option<String>, A::Error> {
                visit_seq_into(Some(self.0), s).map(|()| None)
            }
            fn visit_str<E>(self, s: &str) -> Result<Option<String>, E> {
                push_line(Some(self.0), s);
                Ok(None)
            }
            other_leaves!(|v| Some(v.0), None);
        }
        d.deserialize_any(V(self.0))
    }
}

/// Appends the text values of any JSON value to `out` (when there is one); returns the value
/// itself when it is a string and `keep` is set.
struct Collect<'s> {
    out: Option<&'s mut String>,
    keep: bool,
}

fn push_line(out: Option<&mut String>, s: &str) {
    if let Some(o) = out {
        o.push_str(s);
        o.push('\n');
    }
}

fn visit_seq_into<'de, A: SeqAccess<'de>>(
    mut out: Option<&mut String>,
    mut s: A,
) -> Result<(), A::Error> {
    while s
        .next_element_seed(Collect {
            out: out.as_deref_mut(),
            keep: false,
        })?
        .is_some()
    {}
    Ok(())
}

impl<'de> DeserializeSeed<'de> for Collect<'_> {
    type Value = Option<Str<'de>>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Collect<'_> {
    type Value = Option<Str<'de>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
        push_line(self.out, s);
        Ok(self.keep.then_some(Str(Cow::Borrowed(s))))
    }

    fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
        push_line(self.out, s);
        Ok(self.keep.then(|| Str(Cow::Owned(s.to_string()))))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, s: A) -> Result<Self::Value, A::Error> {
        visit_seq_into(self.out, s).map(|()| None)
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut m: A) -> Result<Self::Value, A::Error> {
        let mut seen = Vec::new();
        while let Some(Str(key)) = m.next_key::<Str>()? {
            if self.out.is_some() {
                once(&mut seen, key)?;
            }
            m.next_value_seed(Collect {
                out: self.out.as_deref_mut(),
                keep: false,
            })?;
        }
        Ok(None)
    }

    other_leaves!(|c| c.out, None);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// id, ts, type, session, payload text, payload phase.
    type Seen = (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        String,
        Option<String>,
    );

    fn seen(e: Option<EventLine>) -> Option<Seen> {
        let e = e?;
        let own = |c: Option<Cow<str>>| c.map(Cow::into_owned);
        Some((
            own(e.id),
            own(e.ts),
            own(e.type_),
            own(e.session),
            e.text,
            e.phase,
        ))
    }

    fn by_stream(line: &str) -> Option<Seen> {
        seen(parse(line))
    }

    #[test]
    fn reads_what_a_json_tree_gives() {
        for line in [
            r#"{"id":"e1","ts":"2025-01-01T00:00:00Z","type":"plan.decision","payload":{"text":"use \"tantivy\"","n":3,"f":1.5,"e":2.5e-7,"neg":-2,"ok":true,"none":null,"list":["a",{"b":"c"},[1]],"phase":"plan"}}"#,
            r#"{"type":7,"id":null,"payload":"just text"}"#,
            r#"{"payload":[1,"x"],"type":"a","type":"b"}"#,
            r#"{"payload":{"phase":{"deep":"x"}}}"#,
            r#"{"payload":{"phase":"a\nb"},"session_key":"s\u0041"}"#,
            r#"{}"#,
            r#"{"payload":{"big":1e400}}"#,
            r#"{"payload":{"big":18446744073709551616}}"#,
            // Values nothing is kept of are still checked as a tree checks them.
            r#"{"x":1e400,"payload":{"t":"zebra"}}"#,
            r#"{"x":"\ud800","payload":{"t":"yak"}}"#,
            // A repeated key inside the payload: the last value, at the first one's place.
            r#"{"payload":{"a":"1","b":"2","a":"3"}}"#,
            r#"{"payload":{"deep":{"text":"alpha","text":"omega"}},"type":"t"}"#,
            r#"["not","an","object"]"#,
            r#""text""#,
            r#"{"unclosed":"#,
            r#"{"a":1} trailing"#,
        ] {
            assert_eq!(by_stream(line), seen(by_tree(line)), "{line}");
        }
    }

    #[test]
    fn nesting_past_the_limit_is_no_event_even_where_nothing_is_kept() {
        let deep = format!(
            r#"{{"x":{}1{},"payload":"p"}}"#,
            "[".repeat(200),
            "]".repeat(200)
        );
        assert_eq!(by_stream(&deep), None);
        assert_eq!(seen(by_tree(&deep)), None);
    }

    #[test]
    fn a_repeated_payload_key_keeps_the_last_value_only() {
        let e = parse(r#"{"payload":{"text":"alpha","text":"omega"}}"#).unwrap();
        assert_eq!(e.text, "omega\n");
    }

    #[test]
    fn strings_without_escapes_are_borrowed() {
        let e = parse(r#"{"ts":"2025","session_key":"s\n1"}"#).unwrap();
        assert!(matches!(e.ts, Some(Cow::Borrowed("2025"))));
        assert_eq!(e.session.as_deref(), Some("s\n1"));
    }
}
