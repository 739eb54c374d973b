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

/// The library module a source file belongs to: `src/git/commit.rs` → `git`.
fn module_of(rel: &Path) -> Option<String> {
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (!matches!(name, "lib" | "main" | "cli" | "layers")).then(|| name.to_string())
}

/// Library modules named by `crate::` paths in `text` (comments left out). `crate::Error`
/// and the other capitalised names are the error module's, re-exported at the top.
fn imports(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
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
}
