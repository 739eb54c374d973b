//! The exact fingerprint: a hash of the normalised form — error type, parameterised message,
//! causes, failing tests, panic location and the most relevant frames without line numbers.
//! Two reports share a fingerprint only when all of these agree, so filing under one id stays
//! precise; everything looser is the similarity index's job.

use super::normalize::fnv64;
use super::parse::{Frame, Origin, Parsed};

/// How many of the most relevant frames the exact fingerprint takes.
const FINGERPRINT_FRAMES: usize = 5;

/// The frames that identify the bug: the application's own if there are any, else the
/// libraries', else (when nothing else locates the failure) the runtime's.
pub fn primary_frames(p: &Parsed) -> (Option<Origin>, Vec<&Frame>) {
    let best = p.frames.iter().map(|f| f.origin).min();
    let best = match best {
        Some(Origin::Runtime) if !p.location.is_empty() || !p.tests.is_empty() => None,
        other => other,
    };
    let frames = match best {
        Some(o) => p.frames.iter().filter(|f| f.origin == o).collect(),
        None => Vec::new(),
    };
    (best, frames)
}

/// The normalised form, one fact per line; stored with the bug so `orch bug show` can say
/// why two reports matched.
pub fn canonical(p: &Parsed) -> String {
    let mut out = String::new();
    let mut push = |k: &str, v: &str| {
        if !v.is_empty() {
            out.push_str(k);
            out.push_str(": ");
            out.push_str(v);
            out.push('\n');
        }
    };
    if let Some(e) = p.ecosystem {
        push("kind", e.as_str());
    }
    push("type", &p.error_type);
    push("message", &p.message);
    for c in &p.causes {
        push("cause", c);
    }
    let mut tests = p.tests.clone();
    tests.sort();
    for t in &tests {
        push("test", t);
    }
    push("at", &p.location);
    let (_, frames) = primary_frames(p);
    for f in frames.iter().take(FINGERPRINT_FRAMES) {
        push("frame", &format!("{} @ {}", f.func, f.file));
    }
    let structured = !p.error_type.is_empty() || !frames.is_empty() || !tests.is_empty();
    if !structured {
        let text: Vec<&str> = p.text.lines().take(40).collect();
        push("text", &text.join(" / "));
    }
    out
}

/// 32 hex characters from two independent 64-bit hashes of the normalised form.
pub fn fingerprint_of(canonical: &str) -> String {
    let a = fnv64(canonical.as_bytes(), 1);
    let b = fnv64(canonical.as_bytes(), 2);
    format!("{a:016x}{b:016x}")
}

#[cfg(test)]
mod tests {
    use super::super::parse::parse;
    use super::*;

    #[test]
    fn line_numbers_and_paths_do_not_change_the_fingerprint() {
        let a = parse("thread 'main' panicked at 'called `Option::unwrap()` on a `None` value', /home/eric/p/helix/helix-view/src/handlers/dap.rs:231:57\n");
        let b = parse("thread 'main' panicked at 'called `Option::unwrap()` on a `None` value', /mnt/w/helix/helix-view/src/handlers/dap.rs:230:57\n");
        assert_eq!(
            fingerprint_of(&canonical(&a)),
            fingerprint_of(&canonical(&b))
        );
        let c = parse("thread 'main' panicked at 'called `Option::unwrap()` on a `None` value', /mnt/w/helix/helix-view/src/handlers/lsp.rs:230:57\n");
        assert_ne!(
            fingerprint_of(&canonical(&a)),
            fingerprint_of(&canonical(&c))
        );
    }
}
