//! REVIEW.md's verdict: front matter `verdict: approve | rework`, and who gave it
//! (`reviewer:`).

use super::sections;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Approve,
    Rework,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Approve => "approve",
            Verdict::Rework => "rework",
        }
    }
}

/// What the front matter says, or why it says nothing usable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reading {
    Given {
        verdict: Verdict,
        reviewer: Option<String>,
    },
    /// No front matter, no `verdict:` key, or an empty one.
    Missing,
    /// A value orch does not know, or front matter that is not YAML.
    Invalid(String),
}

fn text_of(v: &serde_yaml::Value) -> Option<String> {
    match v {
        serde_yaml::Value::String(s) => Some(s.trim().to_string()),
        serde_yaml::Value::Null => None,
        other => serde_yaml::to_string(other)
            .ok()
            .map(|s| s.trim().to_string()),
    }
}

/// Reads the verdict of a review file's text.
pub fn read(text: &str) -> Reading {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let Some(yaml) = sections::front_matter(text) else {
        return Reading::Missing;
    };
    let map = match serde_yaml::from_str::<serde_yaml::Value>(yaml) {
        Ok(serde_yaml::Value::Mapping(m)) => m,
        Ok(serde_yaml::Value::Null) => return Reading::Missing,
        Ok(_) => return Reading::Invalid("the front matter is not a mapping of fields".into()),
        Err(e) => return Reading::Invalid(format!("the front matter is not valid YAML: {e}")),
    };
    let reviewer = map
        .get("reviewer")
        .and_then(text_of)
        .filter(|s| !s.is_empty());
    let Some(raw) = map.get("verdict").and_then(text_of) else {
        return Reading::Missing;
    };
    // A first word is enough ("rework: tests fail" is a rework), so a terse reviewer is
    // read the way they meant it.
    let word: String = raw
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    let verdict = match word.as_str() {
        "" => return Reading::Missing,
        "approve" | "approved" => Verdict::Approve,
        "rework" => Verdict::Rework,
        _ => return Reading::Invalid(format!("`verdict: {raw}` is neither approve nor rework")),
    };
    Reading::Given { verdict, reviewer }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_verdict_and_reviewer() {
        assert_eq!(
            read("---\nverdict: approve\nreviewer: Ann <a@x>\n---\n# Review\n"),
            Reading::Given {
                verdict: Verdict::Approve,
                reviewer: Some("Ann <a@x>".into())
            }
        );
        assert_eq!(
            read("---\nverdict: \"rework: tests fail\"\n---\n"),
            Reading::Given {
                verdict: Verdict::Rework,
                reviewer: None
            }
        );
        assert_eq!(
            read("---\r\nverdict: Approved\r\n---\r\n"),
            Reading::Given {
                verdict: Verdict::Approve,
                reviewer: None
            }
        );
    }

    #[test]
    fn missing_and_invalid_verdicts() {
        assert_eq!(read("x"), Reading::Missing);
        assert_eq!(read("# Review\n\n## Verdict\napprove\n"), Reading::Missing);
        assert_eq!(read("---\nverdict: \"\"\n---\n"), Reading::Missing);
        assert_eq!(read("---\nverdict:\n---\n"), Reading::Missing);
        assert_eq!(read("---\n---\n"), Reading::Missing);
        assert!(
            matches!(read("---\nverdict: maybe\n---\n"), Reading::Invalid(m) if m.contains("maybe"))
        );
        assert!(matches!(
            read("---\nverdict: [\n---\n"),
            Reading::Invalid(_)
        ));
    }
}
