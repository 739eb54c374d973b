//! Noise removal shared by every parser: what differs between two occurrences of one bug
//! (numbers, addresses, ids, times, quoted values, machine-specific path prefixes) is masked,
//! what identifies the bug (words, identifiers, the project-relative part of paths) is kept.

/// Placeholder tokens. They are kept as words so "Expected: <n>" still reads as a sentence.
pub const NUM: &str = "<n>";
pub const QUOTED: &str = "<q>";
pub const URL: &str = "<url>";
pub const HASH: &str = "<h>";

/// A stable 64-bit FNV-1a hash; fingerprints and the similarity index are stored on disk, so
/// the hash must not change with the Rust version (std's hasher makes no such promise).
pub fn fnv64(bytes: &[u8], seed: u64) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    mix64(h)
}

/// splitmix64's finaliser: spreads FNV's weak low bits so MinHash slots are independent.
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Masks one line (or a message): numbers, hex ids, UUIDs, times, durations, ports and
/// addresses become `<n>`, single- and double-quoted values `<q>`, URLs `<url>`, paths keep
/// their project-relative tail. Backtick-quoted text is kept: by convention it is code
/// (`Option::unwrap()`), part of the message template rather than data.
pub fn mask(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let prev = if i > 0 { Some(chars[i - 1]) } else { None };
        let word_before = prev.is_some_and(|p| p.is_alphanumeric() || p == '_');
        if starts_with(&chars, i, "http://") || starts_with(&chars, i, "https://") {
            let end = scan(&chars, i, |c| {
                !c.is_whitespace() && !matches!(c, ')' | ']' | '>' | '"' | '\'')
            });
            push_word(&mut out, URL);
            i = end;
        } else if (c == '\'' || c == '"') && !word_before {
            match closing_quote(&chars, i) {
                Some(end) => {
                    push_word(&mut out, QUOTED);
                    i = end + 1;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else if is_path_start(&chars, i, word_before) {
            let end = scan(&chars, i, |c| {
                !c.is_whitespace()
                    && !matches!(c, '(' | ')' | '[' | ']' | '"' | '\'' | ',' | '{' | '}')
            });
            let token: String = chars[i..end].iter().collect();
            let (path, _) = split_location(&token);
            out.push_str(&normalize_path(&path));
            i = end;
        } else if c.is_ascii_digit() && !word_before {
            // A number-led run: counts, ids, versions, times, durations, addresses.
            let end = scan(&chars, i, |c| {
                c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '_' | '-' | '/')
            });
            let end = trim_trailing_punct(&chars, i, end);
            push_word(&mut out, NUM);
            i = end;
        } else if c.is_alphanumeric() || c == '_' {
            let end = scan(&chars, i, |c| c.is_alphanumeric() || c == '_');
            let word: String = chars[i..end].iter().collect();
            out.push_str(&mask_word(&word));
            i = end;
        } else {
            out.push(c);
            i += 1;
        }
    }
    collapse_spaces(&out)
}

/// A word that is really an id (a hex hash like `h396c07d2071b43af`) or carries a long digit
/// run (`func_150810_a`) loses the variable part.
fn mask_word(w: &str) -> String {
    let hexish = w.len() >= 8
        && w.chars().all(|c| c.is_ascii_hexdigit())
        && w.chars().filter(|c| c.is_ascii_digit()).count() >= 2;
    let rust_hash =
        w.len() == 17 && w.starts_with('h') && w[1..].chars().all(|c| c.is_ascii_hexdigit());
    if hexish || rust_hash {
        return HASH.to_string();
    }
    let mut out = String::new();
    let mut run = String::new();
    for c in w.chars() {
        if c.is_ascii_digit() {
            run.push(c);
        } else {
            flush_digits(&mut out, &mut run);
            out.push(c);
        }
    }
    flush_digits(&mut out, &mut run);
    out
}

fn flush_digits(out: &mut String, run: &mut String) {
    if run.len() >= 4 {
        out.push_str(NUM);
    } else {
        out.push_str(run);
    }
    run.clear();
}

fn push_word(out: &mut String, w: &str) {
    out.push_str(w);
}

fn starts_with(chars: &[char], i: usize, pat: &str) -> bool {
    pat.chars()
        .enumerate()
        .all(|(k, p)| chars.get(i + k) == Some(&p))
}

fn scan(chars: &[char], from: usize, keep: impl Fn(char) -> bool) -> usize {
    let mut j = from;
    while j < chars.len() && keep(chars[j]) {
        j += 1;
    }
    j
}

fn trim_trailing_punct(chars: &[char], from: usize, mut end: usize) -> usize {
    while end > from + 1 && matches!(chars[end - 1], '.' | ':' | '-' | '_' | '/') {
        end -= 1;
    }
    end
}

/// The index of the quote closing the one at `i`, on the same line and not too far away, so a
/// stray apostrophe does not swallow the rest of the text.
fn closing_quote(chars: &[char], i: usize) -> Option<usize> {
    let q = chars[i];
    let mut j = i + 1;
    while j < chars.len() && j - i <= 400 {
        match chars[j] {
            '\n' => return None,
            '\\' => j += 1,
            c if c == q => return Some(j),
            _ => {}
        }
        j += 1;
    }
    None
}

fn is_path_start(chars: &[char], i: usize, word_before: bool) -> bool {
    let c = chars[i];
    let next = chars.get(i + 1).copied();
    if word_before {
        return false;
    }
    // /abs/path, ~/x, ./x, ../x, C:\x or C:/x
    (c == '/' && next.is_some_and(|n| n.is_alphanumeric() || n == '.' || n == '_' || n == '~'))
        || (c == '~' && next == Some('/'))
        || (c == '.'
            && (next == Some('/') || (next == Some('.') && chars.get(i + 2) == Some(&'/'))))
        || (c.is_ascii_alphabetic()
            && next == Some(':')
            && matches!(chars.get(i + 2), Some('\\') | Some('/'))
            && chars.get(i + 3).is_some_and(|n| n.is_alphanumeric()))
}

fn collapse_spaces(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.trim().chars() {
        if c.is_whitespace() {
            space = true;
        } else {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.push(c);
        }
    }
    out
}

/// Splits `path:line:col` (or `path:line`) into the path and whether a position was present.
pub fn split_location(token: &str) -> (String, bool) {
    let mut s = token.trim_end_matches([')', ',', ';', ':']).to_string();
    let mut had = false;
    for _ in 0..2 {
        if let Some(pos) = s.rfind(':') {
            let tail = &s[pos + 1..];
            if !tail.is_empty() && tail.chars().all(|c| c.is_ascii_digit()) {
                s.truncate(pos);
                had = true;
                continue;
            }
        }
        break;
    }
    (s, had)
}

/// The part of a path that is the same on every machine: after the last `node_modules/`,
/// `site-packages/`, cargo registry or Go module cache (with the version dropped), otherwise
/// the last three components. Separators become `/`, ids in file names (bundle hashes) `<h>`.
pub fn normalize_path(p: &str) -> String {
    let mut s = p.replace('\\', "/");
    if let Some(rest) = s.strip_prefix("file://") {
        s = rest.to_string();
    }
    if let Some(pos) = s.find("://") {
        // A URL (bundled browser code): the host differs per deployment, the path does not.
        let after = &s[pos + 3..];
        s = after
            .find('/')
            .map(|p| after[p..].to_string())
            .unwrap_or_default();
    }
    if let Some(q) = s.find(['?', '#']) {
        s.truncate(q);
    }
    let mut tail = library_tail(&s).unwrap_or_else(|| last_components(&s, 3));
    if tail.ends_with(".py") {
        // Python: package and module. Above that sits an install location (a zipapp, a
        // checkout, site-packages) that differs between machines.
        tail = last_components(&tail, 2);
    }
    tail.split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .map(mask_path_component)
        .collect::<Vec<_>>()
        .join("/")
}

fn library_tail(s: &str) -> Option<String> {
    for marker in [
        "node_modules/",
        "site-packages/",
        "dist-packages/",
        "/vendor/",
    ] {
        if let Some(pos) = s.rfind(marker) {
            return Some(s[pos + marker.len()..].to_string());
        }
    }
    for marker in [".cargo/registry/src/", ".cargo/git/checkouts/"] {
        if let Some(pos) = s.find(marker) {
            let rest = &s[pos + marker.len()..];
            // registry: <index>/<crate>-<ver>/...; git: <name>-<hash>/<rev>/...
            let skip = if marker.contains("git") { 2 } else { 1 };
            let mut parts: Vec<&str> = rest.split('/').skip(skip).collect();
            if let Some(first) = parts.first_mut() {
                *first = strip_version(first);
            }
            return Some(parts.join("/"));
        }
    }
    if let Some(pos) = s.find("/pkg/mod/") {
        let rest = &s[pos + 9..];
        return Some(
            rest.split('/')
                .map(|c| c.split('@').next().unwrap_or(c))
                .collect::<Vec<_>>()
                .join("/"),
        );
    }
    if let Some(pos) = s.find("/rustc/") {
        let rest = &s[pos + 7..];
        return Some(
            rest.split_once('/')
                .map(|x| x.1)
                .unwrap_or(rest)
                .to_string(),
        );
    }
    None
}

/// `cargo2junit-0.1.13` → `cargo2junit`, `ropey-1.5.1-alpha` → `ropey`.
fn strip_version(c: &str) -> &str {
    let b = c.as_bytes();
    for i in 0..b.len().saturating_sub(1) {
        if b[i] == b'-' && b[i + 1].is_ascii_digit() {
            return &c[..i];
        }
    }
    c
}

fn last_components(s: &str, n: usize) -> String {
    let parts: Vec<&str> = s.split('/').filter(|c| !c.is_empty()).collect();
    let start = parts.len().saturating_sub(n);
    parts[start..].join("/")
}

/// `index.78c07bfe.js` → `index.<h>.js`, `framework-eda4609282c049ac.js` → `framework-<h>.js`.
fn mask_path_component(c: &str) -> String {
    let mut out = String::new();
    let mut run = String::new();
    let flush = |out: &mut String, run: &mut String| {
        let digits = run.chars().filter(|c| c.is_ascii_digit()).count();
        if run.len() >= 8 && digits >= 2 && run.chars().all(|c| c.is_ascii_hexdigit()) {
            out.push_str(HASH);
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for ch in c.chars() {
        if ch.is_ascii_alphanumeric() {
            run.push(ch);
        } else {
            flush(&mut out, &mut run);
            out.push(ch);
        }
    }
    flush(&mut out, &mut run);
    out
}

/// Per-line clean-up before parsing: log gutters (CI line numbers, `> ` mail quoting, `// # `
/// comment prefixes) and JavaScript-string-wrapped logs (`'  at x\n' +`) are unwrapped, so a
/// pasted trace reads the same however it was pasted.
pub fn clean_lines(text: &str) -> Vec<String> {
    let raw: Vec<&str> = text.lines().collect();
    let nonempty = raw.iter().filter(|l| !l.trim().is_empty()).count().max(1);
    let gutter = raw
        .iter()
        .filter(|l| {
            let t = l.trim_start();
            let digits = t.chars().take_while(|c| c.is_ascii_digit()).count();
            digits > 0 && (digits == t.len() || t[digits..].starts_with([' ', '\t']))
        })
        .count();
    let strip_gutter = gutter * 2 >= nonempty;
    let mut out = Vec::with_capacity(raw.len());
    for line in raw {
        let mut l = line.trim_end().to_string();
        if strip_gutter {
            let t = l.trim_start();
            let digits = t.chars().take_while(|c| c.is_ascii_digit()).count();
            if digits > 0 && (digits == t.len() || t[digits..].starts_with([' ', '\t'])) {
                let rest = &t[digits..];
                l = rest.strip_prefix(' ').unwrap_or(rest).to_string();
            }
        }
        l = unquote_mail(&l);
        l = unwrap_js_string(&l);
        if l.trim().is_empty() {
            continue;
        }
        out.push(l);
    }
    out
}

fn unquote_mail(l: &str) -> String {
    let t = l.trim_start();
    for p in ["> ", "// # ", "// "] {
        if let Some(rest) = t.strip_prefix(p) {
            return rest.to_string();
        }
    }
    if t == ">" {
        return String::new();
    }
    l.to_string()
}

fn unwrap_js_string(l: &str) -> String {
    let t = l.trim();
    for q in ['\'', '"'] {
        if t.starts_with(q) {
            for tail in ["\\n' +", "\\n\" +", "\\n',", "\\n\",", "\\n'", "\\n\""] {
                if let Some(inner) = t.strip_suffix(tail) {
                    return inner[1..].replace("\\'", "'");
                }
            }
        }
    }
    l.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_noise_but_keeps_words() {
        assert_eq!(
            mask("goroutine 1065 [running]: addr=0x0 pc=0xdf95b3"),
            "goroutine <n> [running]: addr=<n> pc=<n>"
        );
        assert_eq!(mask("KeyError: 'port'"), "KeyError: <q>");
        assert_eq!(
            mask("called `Option::unwrap()` on a `None` value"),
            "called `Option::unwrap()` on a `None` value"
        );
        assert_eq!(mask("don't stop"), "don't stop");
        assert_eq!(
            mask("see https://yt-dl.org/update on how"),
            "see <url> on how"
        );
        assert_eq!(
            mask("id 123e4567-e89b-12d3-a456-426614174000 at 2023-06-29T12:43:03Z took 1.5s"),
            "id <n> at <n> took <n>"
        );
        assert_eq!(mask("h396c07d2071b43af"), "<h>");
        assert_eq!(mask("func_150810_a class_636"), "func_<n>_a class_636");
    }

    #[test]
    fn paths_lose_their_machine_part() {
        assert_eq!(
            normalize_path(
                "/home/w0x7ce/Desktop/scratch-gui/node_modules/webpack/lib/util/createHash.js"
            ),
            "webpack/lib/util/createHash.js"
        );
        assert_eq!(
            normalize_path(
                r"C:\Users\prana\Desktop\main-file\Admin\dashboard\node_modules\webpack\lib\util\createHash.js"
            ),
            "webpack/lib/util/createHash.js"
        );
        assert_eq!(
            normalize_path("/home/runner/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/cargo2junit-0.1.14/src/main.rs"),
            "cargo2junit/src/main.rs"
        );
        assert_eq!(
            normalize_path(
                "/home/eric/Projects/personal/system/helix/helix-view/src/handlers/dap.rs"
            ),
            normalize_path("/mnt/work/projects/rust/helix/helix-view/src/handlers/dap.rs")
        );
        assert_eq!(
            normalize_path("https://wanweb-figsum.tlon.network/apps/grid/assets/index.78c07bfe.js"),
            "grid/assets/index.<h>.js"
        );
        assert_eq!(
            normalize_path("/usr/lib/python3/dist-packages/youtube_dl/YoutubeDL.py"),
            "youtube_dl/YoutubeDL.py"
        );
    }

    #[test]
    fn gutters_and_wrappers_are_removed() {
        let lines = clean_lines(
            "485  left: `\"good\"`,\n486 right: `\"bad\"`\n487stack backtrace:\n488   0: x",
        );
        assert_eq!(lines[0], " left: `\"good\"`,");
        let js = clean_lines("      '    at new Script (node:vm:100:7)\\n' +");
        assert_eq!(js, vec!["    at new Script (node:vm:100:7)".to_string()]);
    }

    #[test]
    fn location_splits() {
        assert_eq!(split_location("src/main.rs:177:37").0, "src/main.rs");
        assert_eq!(
            split_location("node:internal/crypto/hash:71:19").0,
            "node:internal/crypto/hash"
        );
        assert_eq!(split_location("tests/tests.rs:111").0, "tests/tests.rs");
    }
}
