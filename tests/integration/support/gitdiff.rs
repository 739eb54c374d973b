//! git as the oracle for `orch changes`: what `git diff` prints with its defaults (renames
//! detected, `-U3`) for a range, and the same facts read from orch's JSON, in one shape so
//! that a test compares them whole.

use serde_json::Value;
use std::collections::BTreeMap;

/// One file of `--numstat`: where a rename came from, the path, and the counts (`None` for
/// a binary file).
pub type NumstatLine = (Option<String>, String, Option<(usize, usize)>);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diff {
    pub numstat: Vec<NumstatLine>,
    /// The `--shortstat` line without its leading space; empty when nothing changed.
    pub shortstat: String,
    /// The hunks per (new) path, function context after `@@` left out; files without hunks
    /// are absent.
    pub hunks: BTreeMap<String, String>,
}

/// A hunk header without git's function context after the closing `@@`.
pub fn hunk_header(line: &str) -> Option<String> {
    let rest = line.strip_prefix("@@ ")?;
    let end = rest.find(" @@")?;
    Some(format!("@@ {} @@\n", &rest[..end]))
}

/// `git diff` between `a` and `b` limited to `pathspec`, in one run:
/// `-z --numstat --shortstat -U3` prints the numstat entries, each ending in a NUL, the
/// shortstat line and a NUL, then the patch. `git` runs git with the arguments and returns
/// its stdout.
pub fn git(git: &dyn Fn(&[&str]) -> String, a: &str, b: &str, pathspec: &[&str]) -> Diff {
    let mut args = vec![
        "diff",
        "-z",
        "--numstat",
        "--shortstat",
        "-U3",
        "--no-color",
    ];
    args.extend_from_slice(&[a, b, "--"]);
    args.extend_from_slice(pathspec);
    let out = git(&args);
    let mut rest = out.as_str();
    fn field<'a>(rest: &mut &'a str) -> &'a str {
        let end = rest.find('\0').expect("a NUL-terminated field");
        let f = &rest[..end];
        *rest = &rest[end + 1..];
        f
    }
    let mut numstat = Vec::new();
    let mut shortstat = String::new();
    while !rest.is_empty() {
        let head = field(&mut rest);
        if let Some(s) = head.strip_prefix(' ') {
            shortstat = s.trim_end().to_string();
            break;
        }
        let mut it = head.splitn(3, '\t');
        let (i, d, p) = (it.next().unwrap(), it.next().unwrap(), it.next().unwrap());
        let n = (i != "-").then(|| (i.parse().unwrap(), d.parse().unwrap()));
        if p.is_empty() {
            // A rename: `added\tdeleted\t\0old\0new\0`.
            let old = field(&mut rest).to_string();
            numstat.push((Some(old), field(&mut rest).to_string(), n));
        } else {
            numstat.push((None, p.to_string(), n));
        }
    }
    let patch = rest;
    let mut hunks = BTreeMap::<String, String>::new();
    let mut cur: Option<String> = None;
    let mut in_hunks = false;
    for line in patch.split_inclusive('\n') {
        if let Some(rest) = line.strip_prefix("diff --git a/") {
            assert!(!line.contains('"'), "quoted path in {line:?}");
            // A type change is two patches for one path; their hunks add up.
            let path = rest.trim_end().rsplit(" b/").next().unwrap().to_string();
            hunks.entry(path.clone()).or_default();
            cur = Some(path);
            in_hunks = false;
            continue;
        }
        if let Some(h) = hunk_header(line) {
            in_hunks = true;
            hunks.get_mut(cur.as_ref().unwrap()).unwrap().push_str(&h);
            continue;
        }
        if in_hunks {
            hunks.get_mut(cur.as_ref().unwrap()).unwrap().push_str(line);
        }
    }
    hunks.retain(|_, v| !v.is_empty());
    Diff {
        numstat,
        shortstat,
        hunks,
    }
}

/// The same facts from `orch --json changes … --patch`: the files, the shortstat, and the
/// hunks of the `## Patch` section of the markdown, whose sections follow the files' order.
pub fn orch(j: &Value) -> Diff {
    let files = j["files"].as_array().unwrap();
    let numstat = files
        .iter()
        .map(|f| {
            let n = (!f["binary"].as_bool().unwrap()).then(|| {
                (
                    f["insertions"].as_u64().unwrap() as usize,
                    f["deletions"].as_u64().unwrap() as usize,
                )
            });
            let old = f["old_path"].as_str().map(str::to_string);
            (old, f["path"].as_str().unwrap().to_string(), n)
        })
        .collect();
    let shortstat = if files.is_empty() {
        String::new()
    } else {
        j["shortstat"].as_str().unwrap().to_string()
    };
    let md = j["markdown"].as_str().unwrap();
    let patch = &md[md.find("\n## Patch\n").expect("patch section")..];
    let sections: Vec<&str> = patch.split("\n### ").skip(1).collect();
    assert_eq!(sections.len(), files.len(), "one patch section per file");
    let mut hunks = BTreeMap::new();
    for (f, sec) in files.iter().zip(sections) {
        let Some(start) = sec.find("```diff\n") else {
            continue;
        };
        let fence = &sec[..start + 3];
        let fence = &fence[fence.trim_end_matches('`').len()..];
        let body = &sec[start + 3 + "diff\n".len()..];
        let end = body.rfind(fence).unwrap();
        hunks.insert(
            f["path"].as_str().unwrap().to_string(),
            body[..end].to_string(),
        );
    }
    Diff {
        numstat,
        shortstat,
        hunks,
    }
}
