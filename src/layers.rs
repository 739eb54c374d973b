//! The library's layers, checked: each module imports only its own layer and the ones below,
//! the imports between modules form no loop, and the few modules of one layer that must stay
//! apart do. ARCHITECTURE.md explains the layers; a new module gets its line here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Bottom first. `src/cli/` (the binary) sits on top of all of them.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "domain",
        &[
            "error",
            "fault",
            "diagnostic",
            "clock",
            "code",
            "config",
            "templates",
            "workflow",
            "gates",
            "session",
            "event",
            "links",
            "task",
            "bugs",
            "memory",
            "agent",
        ],
    ),
    ("rules", &["validate", "rules"]),
    (
        "storage",
        &["store", "git", "stat_cache", "project", "listing", "procs"],
    ),
    ("history", &["changes", "verify", "search"]),
    ("operations", &["ops"]),
];

/// Modules of one layer that must not import each other: the store writes files and knows
/// nothing of git (the operation commits); the git layer knows nothing of orch's files.
const APART: &[(&str, &str)] = &[
    ("store", "git"),
    ("store", "project"),
    ("store", "listing"),
    ("store", "stat_cache"),
    ("git", "store"),
    ("git", "project"),
    ("git", "listing"),
    ("git", "stat_cache"),
];

/// Front ends in the binary other than the command line, and the library modules each may
/// name: the operations and the types their requests and answers are made of, never a
/// decision or a write of its own (one code path: the one the CLI runs).
const FRONT_ENDS: &[(&str, &[&str])] = &[(
    // `orch mcp`: `mod` (the rmcp handler), `tools` (the tool table), `resources` (task files).
    "cli/mcp",
    &[
        "ops",
        "project",
        "code",
        "diagnostic",
        "error",
        "rules",
        "search",
    ],
)];

/// The library module a source file belongs to: `src/git/commit.rs` → `git`.
fn module_of(rel: &Path) -> Option<String> {
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (!matches!(name, "lib" | "main" | "cli" | "layers")).then(|| name.to_string())
}

/// Library modules named by `crate::` paths in `text` (comments left out). `crate::Error`
/// and the other capitalised names are the error module's, re-exported at the top.
fn imports(text: &str) -> BTreeSet<String> {
    imports_through(text, "crate::")
}

/// Library modules named by paths starting with `prefix` (`crate::`, or `orch::` in the binary).
fn imports_through(text: &str, prefix: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(i) = rest.find(prefix) {
            if rest[..i].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
                rest = &rest[i + prefix.len()..];
                continue;
            }
            rest = &rest[i + prefix.len()..];
            let names: Vec<&str> = match rest.strip_prefix('{') {
                Some(group) => group
                    .split('}')
                    .next()
                    .unwrap_or("")
                    .split(',')
                    .map(|n| n.trim())
                    .collect(),
                None => vec![rest],
            };
            for n in names {
                let ident: String = n
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if ident.starts_with(|c: char| c.is_ascii_uppercase()) {
                    out.insert("error".to_string());
                } else if !ident.is_empty() && ident != "self" {
                    out.insert(ident);
                }
            }
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).expect("src/ is readable").flatten() {
        let path = e.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// Module → the other library modules it imports, read from the sources.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in files {
        let Some(m) = module_of(f.strip_prefix(&src).unwrap()) else {
            continue;
        };
        let text = std::fs::read_to_string(&f).unwrap();
        let deps = g.entry(m.clone()).or_default();
        deps.extend(imports(&text).into_iter().filter(|d| *d != m));
    }
    g
}

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, ms)| ms.contains(&module))
}

#[test]
fn every_module_has_a_layer_and_imports_only_downwards() {
    let mut wrong = Vec::new();
    for (m, deps) in graph() {
        let Some(own) = layer_of(&m) else {
            wrong.push(format!("module `{m}` is in no layer: add it to LAYERS"));
            continue;
        };
        for d in deps {
            match layer_of(&d) {
                None => wrong.push(format!("`{m}` imports `{d}`, which is in no layer")),
                Some(l) if l > own => wrong.push(format!(
                    "`{m}` ({}) imports `{d}` ({}), a layer above it",
                    LAYERS[own].0, LAYERS[l].0
                )),
                Some(_) if APART.contains(&(m.as_str(), d.as_str())) => wrong.push(format!(
                    "`{m}` imports `{d}`, which it must stay apart from"
                )),
                Some(_) => {}
            }
        }
    }
    assert!(wrong.is_empty(), "layering broken:\n{}", wrong.join("\n"));
}

#[test]
fn front_ends_reach_the_library_only_through_its_operations() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut wrong = Vec::new();
    for (dir, allowed) in FRONT_ENDS {
        let mut files = Vec::new();
        rust_files(&src.join(dir), &mut files);
        assert!(
            !files.is_empty(),
            "src/{dir} has no sources: update FRONT_ENDS"
        );
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            for m in imports_through(&text, "orch::") {
                if !allowed.contains(&m.as_str()) {
                    wrong.push(format!(
                        "{} names orch::{m}: call the operation in orch::ops the CLI calls",
                        f.strip_prefix(&src).unwrap().display()
                    ));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "a second code path:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn modules_import_each_other_in_no_loop() {
    let g = graph();
    // Depth-first search; a module met again while still on the path closes a loop.
    fn visit<'a>(
        m: &'a str,
        g: &'a BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<String> {
        if let Some(i) = path.iter().position(|p| *p == m) {
            return Some(format!("{} -> {m}", path[i..].join(" -> ")));
        }
        if !done.insert(m) {
            return None;
        }
        path.push(m);
        for d in g.get(m).into_iter().flatten() {
            if let Some(cycle) = visit(d, g, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    for m in g.keys() {
        if let Some(cycle) = visit(m, &g, &mut Vec::new(), &mut done) {
            panic!("modules import each other in a loop: {cycle}");
        }
    }
}

#[test]
fn the_import_reader_sees_grouped_and_nested_paths() {
    let found = imports(
        "use crate::{clock, Error, Result};\nuse crate::git::history; // crate::ops\nlet x = crate::store::write_atomic(a);",
    );
    let want: BTreeSet<String> = ["clock", "error", "git", "store"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(found, want);
    let found = imports_through("use orch::{ops, Error};\nlet x = memorch::store;", "orch::");
    let want: BTreeSet<String> = ["error", "ops"].iter().map(|s| s.to_string()).collect();
    assert_eq!(found, want);
}
