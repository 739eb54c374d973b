//! The tests stay one binary: every Rust file under `tests/` is a module of
//! `tests/integration/main.rs`, so none is left out of the run or built as a binary of its
//! own.

use std::path::{Path, PathBuf};

const TESTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests");

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The file whose modules live in folder `dir`: the crate root `main.rs` for
/// `tests/integration/`, else `dir/mod.rs`, or `dir.rs` beside it.
fn module_file_of(dir: &Path) -> PathBuf {
    if dir == Path::new(TESTS).join("integration") {
        return dir.join("main.rs");
    }
    let mod_rs = dir.join("mod.rs");
    if mod_rs.is_file() {
        mod_rs
    } else {
        dir.with_extension("rs")
    }
}

/// The file that must declare `mod <name>;` for `file` to be compiled.
fn declaring_file(file: &Path) -> PathBuf {
    let dir = file.parent().unwrap();
    if file.file_name().unwrap() == "mod.rs" {
        module_file_of(dir.parent().unwrap())
    } else {
        module_file_of(dir)
    }
}

fn module_name(file: &Path) -> String {
    let name = if file.file_name().unwrap() == "mod.rs" {
        file.parent().unwrap().file_name().unwrap()
    } else {
        file.file_stem().unwrap()
    };
    name.to_string_lossy().into_owned()
}

#[test]
fn every_test_file_is_a_module_of_the_one_binary() {
    let root = Path::new(TESTS).join("integration/main.rs");
    let mut files = Vec::new();
    rust_files(Path::new(TESTS), &mut files);
    files.sort();
    let mut strays = Vec::new();
    for f in files.iter().filter(|f| **f != root) {
        let rel = f.strip_prefix(TESTS).unwrap().display().to_string();
        if !f.starts_with(Path::new(TESTS).join("integration")) {
            strays.push(format!(
                "tests/{rel}: a test binary of its own; move it to tests/integration/ and declare it"
            ));
            continue;
        }
        let decl = declaring_file(f);
        let text = std::fs::read_to_string(&decl).unwrap_or_default();
        let name = module_name(f);
        let declared = text.lines().any(|l| {
            let l = l.trim_start().trim_start_matches("pub ");
            l == format!("mod {name};")
        });
        if !declared {
            strays.push(format!(
                "tests/{rel}: not compiled; declare `mod {name};` in tests/{}",
                decl.strip_prefix(TESTS).unwrap_or(&decl).display()
            ));
        }
    }
    assert!(
        strays.is_empty(),
        "test files outside the one binary:\n{}",
        strays.join("\n")
    );
}
