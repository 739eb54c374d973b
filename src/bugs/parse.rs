//! Reading an error report: the error type, its parameterised message, the failing tests and
//! the stack frames, for Python tracebacks, Rust panics and backtraces, Go panics, Java/Kotlin
//! exceptions (with `Caused by`), JavaScript/Node stack traces and pytest / cargo test / jest
//! output. Frames are found wherever they sit in a line, so log prefixes and pasting styles do
//! not matter; anything unrecognised still yields the normalised text.

use super::normalize::{clean_lines, mask, normalize_path, split_location};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Ecosystem {
    Python,
    Rust,
    Go,
    Java,
    Javascript,
    Text,
}

impl Ecosystem {
    pub fn as_str(self) -> &'static str {
        match self {
            Ecosystem::Python => "python",
            Ecosystem::Rust => "rust",
            Ecosystem::Go => "go",
            Ecosystem::Java => "java",
            Ecosystem::Javascript => "javascript",
            Ecosystem::Text => "text",
        }
    }
}

/// Where a frame's code lives. The application's own frames identify a bug; library frames a
/// little; runtime frames (the language's own machinery) hardly at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    App,
    Library,
    Runtime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Frame {
    pub func: String,
    pub file: String,
    pub origin: Origin,
}

/// What a report says, with the noise taken out. Frames are innermost first.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Parsed {
    pub ecosystem: Option<Ecosystem>,
    pub error_type: String,
    pub message: String,
    pub causes: Vec<String>,
    pub tests: Vec<String>,
    /// Where a panic or assertion says it happened (file only, no line).
    pub location: String,
    pub frames: Vec<Frame>,
    /// Source lines a test runner quoted around the failure.
    pub snippet: Vec<String>,
    /// The whole report, masked line by line.
    pub text: String,
}

const MAX_FRAMES: usize = 64;
const MAX_TESTS: usize = 16;

pub fn parse(report: &str) -> Parsed {
    let lines = clean_lines(report);
    let mut p = Parsed {
        text: lines
            .iter()
            .map(|l| mask(l))
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("\n"),
        ..Parsed::default()
    };
    let mut py = Vec::new();
    let mut rust_frames = Vec::new();
    let mut others = Vec::new();
    let mut last_rust_frame = false;
    for (i, line) in lines.iter().enumerate() {
        if let Some(f) = python_frame(line) {
            py.push(f);
            last_rust_frame = false;
            continue;
        }
        if let Some(f) = rust_frame(line) {
            rust_frames.push(f);
            last_rust_frame = true;
            continue;
        }
        if last_rust_frame {
            if let Some(file) = rust_at_line(line) {
                if let Some(f) = rust_frames.last_mut() {
                    if f.file.is_empty() {
                        f.file = normalize_path(&file);
                        f.origin = f.origin.min(rust_origin(&f.func, &file));
                    }
                }
                continue;
            }
        }
        last_rust_frame = false;
        if let Some(f) = java_frame(line).or_else(|| js_frame(line)) {
            others.push(f);
        } else if let Some(f) = go_frame(&lines, i) {
            others.push(f);
        } else if let Some(f) = pytest_location(line) {
            py.push(f);
        }
    }
    // Python prints the innermost frame last; everyone else first.
    py.reverse();
    let mut frames = others;
    frames.extend(rust_frames);
    frames.extend(py);
    frames.truncate(MAX_FRAMES);
    p.frames = frames;
    headline(&lines, &mut p);
    runner_tests(&lines, &mut p);
    p.tests.truncate(MAX_TESTS);
    p
}

// ---------------------------------------------------------------- frames

fn python_frame(line: &str) -> Option<Frame> {
    let start = line.find("File \"")? + 6;
    let rest = &line[start..];
    let q = rest.find('"')?;
    let path = &rest[..q];
    let after = &rest[q + 1..];
    let after = after.strip_prefix(", line ")?;
    let digits = after.chars().take_while(|c| c.is_ascii_digit()).count();
    let after = &after[digits..];
    let func = after
        .strip_prefix(", in ")
        .map(|f| f.split_whitespace().next().unwrap_or(""))
        .unwrap_or("");
    Some(Frame {
        func: func.to_string(),
        file: normalize_path(path),
        origin: python_origin(path),
    })
}

fn python_origin(path: &str) -> Origin {
    let p = path.replace('\\', "/");
    if p.starts_with("<frozen") || p.starts_with('<') {
        Origin::Runtime
    } else if p.contains("site-packages/") || p.contains("dist-packages/") {
        Origin::Library
    } else if p.contains("/lib/python") || p.contains("/lib64/python") || p.contains("/Lib/") {
        Origin::Runtime
    } else {
        Origin::App
    }
}

/// pytest's `path/test_x.py:15: ` lines and `<TracebackEntry path:line>` reprs.
fn pytest_location(line: &str) -> Option<Frame> {
    let t = line.trim();
    let (path, rest) = t.split_once(".py:")?;
    let digits = rest.chars().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 || path.contains(' ') || !(rest[digits..].starts_with(':')) {
        return None;
    }
    let path = format!("{path}.py");
    Some(Frame {
        func: String::new(),
        file: normalize_path(&path),
        origin: python_origin(&path),
    })
}

/// `  12: 0x7ffd85afefb9 - rustc_hir_analysis[ccd5d03ad0caa7a4]::check_crate` or `  3: cargo2junit::main`.
fn rust_frame(line: &str) -> Option<Frame> {
    let t = line.trim_start();
    let digits = t.chars().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 {
        return None;
    }
    let rest = t[digits..].strip_prefix(':')?;
    if !rest.starts_with([' ', '\t']) {
        return None;
    }
    let mut sym = rest.trim();
    if let Some((addr, s)) = sym.split_once(" - ") {
        if addr.trim().starts_with("0x") {
            sym = s.trim();
        }
    } else if sym.starts_with("0x") {
        return None;
    }
    if sym.is_empty() || sym.contains(' ') && !sym.contains("::") && !sym.starts_with('<') {
        return None;
    }
    let func = rust_symbol(sym);
    let origin = rust_origin(&func, "");
    Some(Frame {
        func,
        file: String::new(),
        origin,
    })
}

/// `std[ab177967e26f838a]::thread` → `std::thread`; `::h46a716bba2450163` hash suffixes go.
fn rust_symbol(sym: &str) -> String {
    let mut out = String::new();
    let mut chars = sym.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '[' {
            let mut inner = String::new();
            while let Some(&n) = chars.peek() {
                if n == ']' {
                    break;
                }
                inner.push(n);
                chars.next();
            }
            if chars.peek() == Some(&']') && inner.chars().all(|c| c.is_ascii_hexdigit()) {
                chars.next();
                continue;
            }
            out.push('[');
            out.push_str(&inner);
        } else {
            out.push(c);
        }
    }
    if let Some(pos) = out.rfind("::h") {
        let tail = &out[pos + 3..];
        if tail.len() == 16 && tail.chars().all(|c| c.is_ascii_hexdigit()) {
            out.truncate(pos);
        }
    }
    out.chars().take(200).collect()
}

fn rust_at_line(line: &str) -> Option<String> {
    let t = line.trim_start().strip_prefix("at ")?;
    let (path, had) = split_location(t.trim());
    (had && !path.contains(' ')).then_some(path)
}

fn rust_origin(func: &str, file: &str) -> Origin {
    const RUNTIME: [&str; 16] = [
        "std::",
        "core::",
        "alloc::",
        "backtrace::",
        "test::",
        "panic_unwind",
        "rust_begin_unwind",
        "__rust",
        "__rustc",
        "<unknown>",
        "<std::",
        "<core::",
        "<alloc::",
        "start_thread",
        "__libc_start",
        "__pthread_start",
    ];
    const OS: [&str; 6] = [
        "clone",
        "clone3",
        "BaseThreadInitThunk",
        "RtlUserThreadStart",
        "_iob_func",
        "main",
    ];
    let f = func.trim_start_matches('<');
    if RUNTIME
        .iter()
        .any(|p| func.starts_with(p) || f.starts_with(p.trim_start_matches('<')))
        || OS.contains(&func)
        || file.contains("/rustc/")
        || file.contains("libstd")
        || file.contains("libcore")
        || file.contains("/library/std/")
        || file.contains("/library/core/")
    {
        Origin::Runtime
    } else if file.contains(".cargo/registry") || file.contains(".cargo/git") {
        Origin::Library
    } else {
        Origin::App
    }
}

/// `at pkg.Class.method(File.java:123)`, Kotlin and Android variants, `~[jar:?]` suffixes.
fn java_frame(line: &str) -> Option<Frame> {
    let start = find_word(line, "at ")?;
    let rest = line[start + 3..].trim_start();
    let open = rest.find('(')?;
    let func = rest[..open].trim();
    let close = rest[open..].find(')')? + open;
    let inside = &rest[open + 1..close];
    let is_source = inside == "Native Method"
        || inside.starts_with("Unknown Source")
        || inside.starts_with("SourceFile")
        || inside.starts_with("Unknown:")
        || [".java", ".kt", ".scala", ".groovy", ".kts", ".clj"]
            .iter()
            .any(|ext| inside.contains(&format!("{ext}:")) || inside.ends_with(ext));
    if !is_source || func.is_empty() || !func.contains('.') || func.contains(' ') {
        return None;
    }
    let file = split_location(inside).0;
    Some(Frame {
        func: mask_java_func(func),
        file,
        origin: java_origin(func),
    })
}

fn mask_java_func(func: &str) -> String {
    // lambda$item$55, $$ExternalSyntheticLambda0, access$1500: compiler-numbered names.
    let mut out = String::new();
    let mut after_dollar = false;
    for c in func.chars() {
        if c.is_ascii_digit() && after_dollar {
            if !out.ends_with('N') {
                out.push('N');
            }
            continue;
        }
        after_dollar = c == '$' || (after_dollar && c.is_alphabetic() && out.ends_with("Lambda"));
        if c == '$' {
            after_dollar = true;
        }
        out.push(c);
        if out.ends_with("Lambda") {
            after_dollar = true;
        }
    }
    out
}

fn java_origin(func: &str) -> Origin {
    const RUNTIME: [&str; 11] = [
        "java.",
        "javax.",
        "sun.",
        "jdk.",
        "com.sun.",
        "android.",
        "dalvik.",
        "com.android.",
        "kotlin.",
        "kotlinx.coroutines.",
        "libcore.",
    ];
    const LIBRARY: [&str; 22] = [
        "org.junit.",
        "junit.",
        "org.testng.",
        "org.gradle.",
        "org.springframework.",
        "org.apache.",
        "org.eclipse.",
        "com.google.",
        "androidx.",
        "io.reactivex.",
        "retrofit2.",
        "okhttp3.",
        "com.fasterxml.",
        "org.slf4j.",
        "ch.qos.",
        "org.hibernate.",
        "io.netty.",
        "org.jetbrains.",
        "org.codehaus.",
        "groovy.",
        "scala.",
        "org.objectweb.",
    ];
    if RUNTIME.iter().any(|p| func.starts_with(p)) {
        Origin::Runtime
    } else if LIBRARY.iter().any(|p| func.starts_with(p)) {
        Origin::Library
    } else {
        Origin::App
    }
}

/// `at fn (path:1:2)`, `at path:1:2`, `at new Hash (node:internal/crypto/hash:71:19)`.
fn js_frame(line: &str) -> Option<Frame> {
    if line.contains("panicked at") {
        return None;
    }
    let start = find_word(line, "at ")?;
    let rest = line[start + 3..].trim();
    let (func, loc) = match rest.rfind(" (") {
        Some(pos) if rest.ends_with(')') => (&rest[..pos], &rest[pos + 2..rest.len() - 1]),
        _ => ("", rest),
    };
    let loc = loc.trim();
    let (path, had) = split_location(loc);
    let special = matches!(loc, "<anonymous>" | "native");
    if !(had || special) || path.contains(' ') || func.contains("  ") {
        return None;
    }
    let func = func.trim_start_matches("async ").trim();
    let origin = if special
        || path.starts_with("node:")
        || path.starts_with("internal/")
        || path.starts_with("events.js")
    {
        Origin::Runtime
    } else if path.contains("node_modules") {
        Origin::Library
    } else {
        Origin::App
    };
    Some(Frame {
        func: func.to_string(),
        file: if special {
            loc.to_string()
        } else {
            normalize_path(&path)
        },
        origin,
    })
}

/// A Go frame is a function line followed by a `\t/path/file.go:123 +0x1d` line.
fn go_frame(lines: &[String], i: usize) -> Option<Frame> {
    let line = &lines[i];
    let tok = line.split_whitespace().find(|t| {
        t.contains(".go:")
            && t.split(".go:")
                .nth(1)
                .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()))
    })?;
    let path = split_location(tok).0;
    let mut func = String::new();
    for back in 1..=2 {
        if i < back {
            break;
        }
        let prev = lines[i - back].trim_end();
        let prev = strip_go_args(prev);
        let last = prev.split_whitespace().last().unwrap_or("");
        if last.starts_with('(') || last.is_empty() {
            continue;
        }
        if !prev.contains(".go:") && !last.starts_with('+') {
            func = last.to_string();
        }
        break;
    }
    let func = go_short_func(&func);
    let origin = go_origin(&func, &path);
    Some(Frame {
        func,
        file: normalize_path(&path),
        origin,
    })
}

fn strip_go_args(line: &str) -> &str {
    let t = line.trim_end();
    let t = t.strip_suffix("(...)").unwrap_or(t);
    if t.ends_with(')') {
        let mut depth = 0i32;
        for (pos, c) in t.char_indices().rev() {
            match c {
                ')' => depth += 1,
                '(' => {
                    depth -= 1;
                    if depth == 0 {
                        return &t[..pos];
                    }
                }
                _ => {}
            }
        }
    }
    t
}

/// `github.com/hashicorp/terraform/builtin/providers/digitalocean.resourceDigitalOceanDropletRead`
/// → `digitalocean.resourceDigitalOceanDropletRead`: the import path prefix differs with
/// vendoring and forks, the package and function do not.
fn go_short_func(f: &str) -> String {
    let f = f.trim();
    match f.rfind('/') {
        Some(pos) => f[pos + 1..].to_string(),
        None => f.to_string(),
    }
}

fn go_origin(func: &str, path: &str) -> Origin {
    let p = path.replace('\\', "/");
    let stdlib_pkg = func
        .split('.')
        .next()
        .is_some_and(|pkg| !pkg.is_empty() && !func.contains('/') && GO_STD.contains(&pkg));
    if p.contains("/go/src/runtime/")
        || p.starts_with("runtime/")
        || p.contains("/libexec/src/")
        || p.contains("/usr/local/go/src/")
        || p.contains("/usr/lib/go")
        || func.starts_with("runtime.")
        || func == "panic"
        || stdlib_pkg && !p.contains("github.com")
    {
        Origin::Runtime
    } else if p.contains("/vendor/") || p.contains("/pkg/mod/") {
        Origin::Library
    } else {
        Origin::App
    }
}

const GO_STD: [&str; 14] = [
    "runtime", "http", "sql", "exec", "os", "io", "bufio", "sync", "net", "reflect", "testing",
    "debug", "fmt", "signal",
];

fn find_word(line: &str, w: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(pos) = line[from..].find(w) {
        let at = from + pos;
        let before = line[..at].chars().last();
        if before.is_none_or(|c| c.is_whitespace() || c == '\t' || c == '-') {
            return Some(at);
        }
        from = at + w.len();
    }
    None
}

// ---------------------------------------------------------------- headline

/// The error type and message, and the ecosystem they reveal.
fn headline(lines: &[String], p: &mut Parsed) {
    if rust_panic(lines, p)
        || go_panic(lines, p)
        || java_exception(lines, p)
        || python_exception(lines, p)
        || js_error(lines, p)
    {
        return;
    }
    // Nothing structured: the first line that says "error" (e.g. `ERROR: ...`), or the first line.
    let first = lines
        .iter()
        .find(|l| {
            let lower = l.to_ascii_lowercase();
            lower.contains("error") || lower.contains("fail") || lower.contains("exception")
        })
        .or_else(|| lines.first());
    if let Some(l) = first {
        let (t, m) = match l.split_once(": ") {
            Some((t, m))
                if t.len() <= 40
                    && t.chars()
                        .all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '-'))
                    && !t.chars().any(|c| c.is_ascii_digit()) =>
            {
                (t.trim().to_string(), m)
            }
            _ => (String::new(), l.as_str()),
        };
        p.error_type = t;
        p.message = message(m);
    }
    if p.ecosystem.is_none() {
        p.ecosystem = ecosystem_from_frames(p);
    }
}

fn ecosystem_from_frames(p: &Parsed) -> Option<Ecosystem> {
    let f = p.frames.first()?;
    let file = &f.file;
    Some(if file.ends_with(".py") {
        Ecosystem::Python
    } else if file.ends_with(".rs") || f.func.contains("::") {
        Ecosystem::Rust
    } else if file.ends_with(".go") {
        Ecosystem::Go
    } else if file.contains(".java") || file.contains(".kt") || file.contains("Native Method") {
        Ecosystem::Java
    } else {
        Ecosystem::Javascript
    })
}

/// A message without its data: masked, first clause only (the rest of `Unable to extract
/// uploader id; please report this issue ...` is boilerplate that changes between versions).
fn message(m: &str) -> String {
    let m = m.split("; ").next().unwrap_or(m);
    let masked = mask(m.trim());
    masked.chars().take(300).collect()
}

fn rust_panic(lines: &[String], p: &mut Parsed) -> bool {
    let Some((i, pos)) = lines
        .iter()
        .enumerate()
        .find_map(|(i, l)| l.find("panicked at").map(|pos| (i, pos)))
    else {
        return false;
    };
    let line = &lines[i];
    // thread 'name' (tid) panicked at …: the name is the test for cargo test.
    if let Some(start) = line[..pos].find("thread '") {
        let rest = &line[start + 8..pos];
        if let Some(end) = rest.find('\'') {
            let name = &rest[..end];
            if name != "main" && name != "<unnamed>" && name != "rustc" && !name.is_empty() {
                p.tests.push(name.to_string());
            }
        }
    }
    if let Some(t) = cargo_inline_test(&line[..pos]) {
        p.tests.push(t);
    }
    let after = line[pos + "panicked at".len()..].trim_start();
    let (msg, loc) = if let Some(stripped) = after.strip_prefix('\'') {
        // Old format: 'message', path:line:col — the message may span lines.
        let mut buf = stripped.to_string();
        let mut j = i;
        loop {
            if let Some(end) = buf.rfind("', ") {
                let loc = buf[end + 3..].trim().to_string();
                buf.truncate(end);
                break (buf, loc);
            }
            j += 1;
            if j >= lines.len() || j > i + 12 {
                break (buf, String::new());
            }
            buf.push('\n');
            buf.push_str(lines[j].trim());
        }
    } else {
        // New format: path:line:col:\nmessage (one or more lines).
        let loc = after.trim_end_matches(':').to_string();
        let (loc, inline) = match loc.split_once(": ") {
            Some((l, m)) => (l.trim_end_matches(':').to_string(), m.trim().to_string()),
            None => (loc, String::new()),
        };
        let mut msg = inline;
        for l in lines.iter().skip(i + 1).take(6) {
            let t = l.trim();
            if t.starts_with("note:") || t.starts_with("stack backtrace") || t == "--" {
                if t == "--" {
                    continue;
                }
                break;
            }
            if !msg.is_empty() {
                msg.push('\n');
            }
            msg.push_str(t);
        }
        (msg, loc)
    };
    p.ecosystem = Some(Ecosystem::Rust);
    p.error_type = "panic".into();
    p.message = rust_message(&msg);
    let (path, _) = split_location(loc.split_whitespace().next().unwrap_or(""));
    p.location = normalize_path(&path);
    true
}

/// Old and new assert formats say the same thing: `assertion failed: `(left == right)`` vs
/// ``assertion `left == right` failed``; the values are data.
fn rust_message(msg: &str) -> String {
    let flat: String = msg.lines().map(str::trim).collect::<Vec<_>>().join(" ");
    let flat = flat
        .replace(
            "assertion failed: `(left == right)`",
            "assertion `left == right` failed",
        )
        .replace(
            "assertion failed: `(left != right)`",
            "assertion `left != right` failed",
        );
    let flat = match flat.find("failed") {
        Some(pos) if flat.starts_with("assertion `left") => {
            // left: X, right: Y → values masked as a whole, they are data.
            let head = &flat[..pos + 6];
            let has_left = flat.contains("left:");
            if has_left {
                format!("{head} left: <v> right: <v>")
            } else {
                head.to_string()
            }
        }
        _ => flat,
    };
    message(&flat)
}

fn cargo_inline_test(prefix: &str) -> Option<String> {
    let t = prefix.trim();
    let rest = t.strip_prefix("test ")?;
    let name = rest.split(" ...").next()?.trim();
    (!name.is_empty() && !name.contains(' ')).then(|| name.to_string())
}

fn go_panic(lines: &[String], p: &mut Parsed) -> bool {
    let has_goroutine = lines
        .iter()
        .any(|l| l.contains("goroutine ") && l.contains('['));
    for l in lines {
        for key in ["panic: ", "fatal error: ", "http: panic serving "] {
            if let Some(pos) = l.find(key) {
                let rest = &l[pos + key.len()..];
                let rest = if key.starts_with("http") {
                    rest.split_once(": ").map(|x| x.1).unwrap_or(rest)
                } else {
                    rest
                };
                if !has_goroutine && key == "panic: " && !rest.contains("runtime error") {
                    continue;
                }
                p.ecosystem = Some(Ecosystem::Go);
                p.error_type = key
                    .trim_end_matches(": ")
                    .trim_start_matches("http: ")
                    .into();
                if p.error_type.starts_with("panic serving") {
                    p.error_type = "panic".into();
                }
                p.message = message(rest.split("goroutine ").next().unwrap_or(rest));
                return true;
            }
        }
    }
    if has_goroutine {
        if let Some(l) = lines.iter().find(|l| l.contains("runtime error:")) {
            let pos = l.find("runtime error:").unwrap_or(0);
            p.ecosystem = Some(Ecosystem::Go);
            p.error_type = "panic".into();
            p.message = message(l[pos..].split("goroutine ").next().unwrap_or(""));
            return true;
        }
        p.ecosystem = Some(Ecosystem::Go);
        p.error_type = "panic".into();
        return true;
    }
    false
}

/// `java.lang.NullPointerException: msg`, `Exception in thread "main" x.Y: msg`,
/// `Caused by: x.Y: msg`. The type must be qualified or end in Exception/Error.
fn java_exception(lines: &[String], p: &mut Parsed) -> bool {
    let has_java_frames = p.frames.iter().any(|f| {
        f.file.contains(".java")
            || f.file.contains(".kt")
            || f.file == "Native Method"
            || f.file.starts_with("Unknown")
            || f.file.starts_with("SourceFile")
    });
    if !has_java_frames {
        return false;
    }
    let mut found = false;
    for l in lines {
        let t = l.trim();
        if t.starts_with("at ") || t.starts_with("...") {
            continue;
        }
        let caused = t.find("Caused by: ");
        let body = match caused {
            Some(pos) => &t[pos + 11..],
            None => t,
        };
        let Some((ty, msg)) = java_type_and_message(body) else {
            continue;
        };
        if caused.is_some() {
            p.causes.push(format!("{ty}: {}", message(msg)));
        } else if !found {
            p.error_type = ty;
            p.message = message(msg);
            found = true;
        }
    }
    if found || !p.causes.is_empty() {
        p.ecosystem = Some(Ecosystem::Java);
        if !found {
            if let Some(c) = p.causes.first() {
                let (t, m) = c.split_once(": ").unwrap_or((c, ""));
                p.error_type = t.to_string();
                p.message = m.to_string();
            }
        }
        return true;
    }
    false
}

fn java_type_and_message(body: &str) -> Option<(String, &str)> {
    // Find the first token that looks like an exception class.
    for (start, tok) in token_starts(body) {
        let name = tok.trim_end_matches(':');
        let last = name.rsplit('.').next().unwrap_or(name);
        let qualified = name.contains('.')
            && name.split('.').all(|s| {
                !s.is_empty()
                    && s.chars()
                        .all(|c| c.is_alphanumeric() || c == '_' || c == '$')
            });
        let looks = last.ends_with("Exception")
            || last.ends_with("Error")
            || last.ends_with("Throwable")
            || last.ends_with("Failure");
        if looks && (qualified || last.len() > 9) && last.starts_with(|c: char| c.is_uppercase()) {
            let rest = &body[start + name.len()..];
            let msg = rest.strip_prefix(':').unwrap_or(rest).trim();
            return Some((name.to_string(), msg));
        }
    }
    None
}

fn token_starts(s: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices() {
        if c.is_whitespace() || c == '[' || c == ']' {
            if let Some(st) = start.take() {
                out.push((st, &s[st..i]));
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(st) = start {
        out.push((st, &s[st..]));
    }
    out
}

fn python_exception(lines: &[String], p: &mut Parsed) -> bool {
    let is_py = lines
        .iter()
        .any(|l| l.contains("Traceback (most recent call last)"))
        || p.frames.iter().any(|f| f.file.ends_with(".py"));
    if !is_py {
        return false;
    }
    p.ecosystem = Some(Ecosystem::Python);
    // The exception line follows the last frame; search from the end.
    for l in lines.iter().rev() {
        let t = l.trim();
        if t.starts_with("File \"") || t.starts_with("Traceback") {
            break;
        }
        if let Some((ty, msg)) = python_type_and_message(t) {
            p.error_type = ty;
            p.message = message(msg);
            return true;
        }
    }
    // pytest: `E   AssertionError: ...`, `<class 'AssertionError'>`, `FAILED x - Err: msg`.
    for l in lines {
        let t = l.trim();
        if let Some(e) = t.strip_prefix("E ") {
            if let Some((ty, msg)) = python_type_and_message(e.trim()) {
                p.error_type = ty;
                p.message = message(msg);
            } else if p.message.is_empty() {
                p.error_type = "AssertionError".into();
                p.message = message(e.trim());
            }
            return true;
        }
        if let Some(inner) = t
            .strip_prefix("<class '")
            .and_then(|r| r.strip_suffix("'>"))
        {
            p.error_type = inner.to_string();
            let pos = lines.iter().position(|x| x == l).unwrap_or(0);
            if let Some(next) = lines.get(pos + 1) {
                p.message = message(next.trim());
            }
            return true;
        }
    }
    for l in lines {
        if let Some((_, rest)) = l.split_once(" - ") {
            if l.trim_start().starts_with("FAILED ") {
                if let Some((ty, msg)) = python_type_and_message(rest.trim()) {
                    p.error_type = ty;
                    p.message = message(msg.trim_end_matches("..."));
                    return true;
                }
            }
        }
    }
    // A tool's own error line (`ERROR: Unable to extract uploader id; ...`).
    if let Some(l) = lines.iter().find(|l| l.trim_start().starts_with("ERROR: ")) {
        p.error_type = "ERROR".into();
        p.message = message(&l.trim_start()[7..]);
        return true;
    }
    false
}

fn python_type_and_message(t: &str) -> Option<(String, &str)> {
    // The rightmost `Name:` / `pkg.Name:` that looks like an exception class; log prefixes such
    // as `Error: VailantPiec:` sit to its left.
    let mut best = None;
    for (start, tok) in token_starts(t) {
        let name = tok.trim_end_matches(':');
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
        {
            continue;
        }
        let last = name.rsplit('.').next().unwrap_or(name);
        let looks = [
            "Error",
            "Exception",
            "Warning",
            "Exit",
            "Interrupt",
            "StopIteration",
            "Failed",
        ]
        .iter()
        .any(|s| last.ends_with(s))
            && last.starts_with(|c: char| c.is_ascii_uppercase())
            && last != "Error"
            && last != "ERROR";
        let ends_ok = tok.ends_with(':') || start + tok.len() == t.len();
        if looks && ends_ok {
            best = Some((start, name));
        }
    }
    let (start, name) = best?;
    let rest = &t[start + name.len()..];
    Some((
        name.to_string(),
        rest.strip_prefix(':').unwrap_or(rest).trim(),
    ))
}

fn js_error(lines: &[String], p: &mut Parsed) -> bool {
    let js_frames = p.frames.iter().any(|f| {
        f.file.ends_with(".js")
            || f.file.ends_with(".ts")
            || f.file.ends_with(".mjs")
            || f.file.ends_with(".jsx")
            || f.file.ends_with(".tsx")
            || f.file.starts_with("node:")
            || f.file == "<anonymous>"
    });
    let jest = lines
        .iter()
        .any(|l| l.contains("expect(received)") || l.trim_start().starts_with('●'));
    if !js_frames && !jest {
        return false;
    }
    p.ecosystem = Some(Ecosystem::Javascript);
    if jest {
        if let Some(l) = lines.iter().find(|l| l.contains("expect(received)")) {
            let t = l.trim().trim_start_matches("Error: ");
            p.error_type = "expect".into();
            p.message = message(t);
            // Expected/Received values are data; their presence is not.
            return true;
        }
    }
    for l in lines {
        let t = l.trim();
        if t.starts_with("at ") {
            continue;
        }
        for (start, tok) in token_starts(t) {
            let name = tok.trim_end_matches(':');
            if tok.ends_with(':')
                && name.ends_with("Error")
                && name
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
            {
                p.error_type = name.to_string();
                p.message = message(t[start + tok.len()..].trim());
                return true;
            }
        }
    }
    true
}

// ---------------------------------------------------------------- runners

/// Failing tests named by pytest, cargo test and jest, and the source lines jest quotes.
fn runner_tests(lines: &[String], p: &mut Parsed) {
    let mut in_failures = false;
    for l in lines {
        let t = l.trim();
        if let Some(rest) = t.strip_prefix("FAILED ") {
            let name = rest.split(" - ").next().unwrap_or(rest).trim();
            push_test(p, name);
        } else if let Some(rest) = t
            .strip_prefix("---- ")
            .and_then(|r| r.strip_suffix(" stdout ----"))
        {
            push_test(p, rest);
        } else if t.starts_with("test ") && t.ends_with(" ... FAILED") {
            push_test(p, &t[5..t.len() - 11]);
        } else if let Some(rest) = t.strip_prefix('●') {
            let name = rest.replace('›', " ");
            push_test(p, name.trim());
        } else if t.starts_with("____") && t.ends_with("____") {
            push_test(p, t.trim_matches('_').trim());
        } else if let Some(rest) = t.strip_prefix("FAIL ") {
            push_test(p, &format!("suite {}", rest.trim()));
        } else if t == "failures:" {
            in_failures = true;
            continue;
        } else if in_failures && !t.contains(' ') && !t.is_empty() && !t.starts_with("test") {
            push_test(p, t);
        } else if let Some((name, _)) = t.split_once(" failed (") {
            if name.starts_with("test") && !name.contains(' ') {
                push_test(p, name);
            }
        }
        if t.starts_with('>') && t.contains(" | ") || is_snippet_line(t) {
            let code = t.split_once(" | ").map(|x| x.1).unwrap_or("").trim();
            if !code.is_empty() && p.snippet.len() < 12 {
                p.snippet.push(code.to_string());
            }
        }
        if !t.is_empty() && t != "failures:" && in_failures && t.contains(' ') {
            in_failures = false;
        }
    }
}

fn is_snippet_line(t: &str) -> bool {
    let digits = t.chars().take_while(|c| c.is_ascii_digit()).count();
    digits > 0 && t[digits..].trim_start().starts_with('|')
}

fn push_test(p: &mut Parsed, name: &str) {
    let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
    let name = mask(&name);
    if !name.is_empty() && !p.tests.contains(&name) {
        p.tests.push(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_traceback() {
        let p = parse(
            "Traceback (most recent call last):\n  File \"/usr/lib/nav/t1000.py\", line 230, in <module>\n    main()\n  File \"/usr/lib/nav/t1000.py\", line 146, in main\n    x\nKeyError: 'port'\n",
        );
        assert_eq!(p.ecosystem, Some(Ecosystem::Python));
        assert_eq!(p.error_type, "KeyError");
        assert_eq!(p.message, "<q>");
        assert_eq!(p.frames[0].func, "main");
        assert_eq!(p.frames[0].file, "nav/t1000.py");
    }

    #[test]
    fn rust_old_and_new_assert_formats_agree() {
        let old = parse("thread 'main' panicked at 'assertion failed: `(left == right)`\n  left: `None`,\n right: `Some(\"a\")`', /home/r/.cargo/registry/src/index.crates.io-6f17d22bba15001f/cargo2junit-0.1.13/src/main.rs:211:21\n");
        let new = parse("thread 'main' panicked at /home/r/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/cargo2junit-0.1.14/src/main.rs:191:21:\nassertion `left == right` failed\n  left: None\n right: Some(\"b\")\nnote: run with `RUST_BACKTRACE=1`\n");
        assert_eq!(old.message, new.message);
        assert_eq!(old.location, "cargo2junit/src/main.rs");
        assert_eq!(old.location, new.location);
    }

    #[test]
    fn go_panic_frames() {
        let p = parse("panic: runtime error: invalid memory address or nil pointer dereference\n[signal SIGSEGV: segmentation violation code=0x1 addr=0x28 pc=0x1385f7c]\n\ngoroutine 1 [running]:\nmain.ReadRoutines(0xc000228000, 0xa1)\n\t/Users/me/go/src/github.com/bcicen/grmon/parse.go:76 +0x19c\n");
        assert_eq!(p.ecosystem, Some(Ecosystem::Go));
        assert_eq!(p.frames[0].func, "main.ReadRoutines");
        assert_eq!(p.frames[0].origin, Origin::App);
    }

    #[test]
    fn java_caused_by() {
        let p = parse("java.lang.RuntimeException: boom\n\tat com.x.A.b(A.java:10)\nCaused by: java.lang.IllegalStateException: inner 42\n\tat com.x.C.d(C.kt:5)\n\t... 3 more\n");
        assert_eq!(p.error_type, "java.lang.RuntimeException");
        assert_eq!(
            p.causes,
            vec!["java.lang.IllegalStateException: inner <n>".to_string()]
        );
        assert_eq!(p.frames.len(), 2);
    }

    #[test]
    fn js_stack() {
        let p = parse("TypeError: Cannot read properties of undefined (reading 'code')\n    at w (8185.2267ed13f79fe630.js:1:3538)\n    at new Promise (<anonymous>)\n");
        assert_eq!(p.ecosystem, Some(Ecosystem::Javascript));
        assert_eq!(p.error_type, "TypeError");
        assert_eq!(p.frames[0].func, "w");
        assert_eq!(p.frames[1].origin, Origin::Runtime);
    }
}
