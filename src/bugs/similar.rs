//! Near matches: a weighted set of features per report (type, message words, tests, panic
//! location, frames weighted by origin), compared by weighted Jaccard similarity. MinHash
//! signatures and LSH bands over the same features find the candidates among many bugs
//! without a linear scan; the score itself is always the exact weighted Jaccard.

use super::fingerprint::primary_frames;
use super::normalize::{fnv64, mix64};
use super::parse::{Origin, Parsed};

/// The parts of a report a feature comes from; similarity weighs them differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Part {
    Type = 0,
    Message = 1,
    Cause = 2,
    Tests = 3,
    Location = 4,
    Frames = 5,
    Snippet = 6,
    Text = 7,
}

const PARTS: usize = 8;

impl Part {
    pub fn from_u8(v: u8) -> Option<Part> {
        use Part::*;
        [Type, Message, Cause, Tests, Location, Frames, Snippet, Text]
            .get(v as usize)
            .copied()
    }
}

/// A report's features: (hash, weight, part), sorted by hash, hashes unique.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Features(pub Vec<(u64, u32, Part)>);

/// The similarity from which a new report names an existing bug as `possible_duplicate_of`.
pub const SUGGEST_THRESHOLD: f64 = 0.5;

/// MinHash signature length and its LSH banding: 42 bands of 3 rows find a pair whose
/// feature sets overlap by 0.5 with probability 0.996, by 0.3 with 0.68, by 0.1 with 0.04.
pub const SIG_LEN: usize = 126;
pub const ROWS: usize = 3;
pub const BANDS: usize = SIG_LEN / ROWS;

const MAX_MESSAGE_WORDS: usize = 30;
const MAX_FRAMES: usize = 12;

pub fn features(p: &Parsed) -> Features {
    let mut v: Vec<(String, u32, Part)> = Vec::new();
    if !p.error_type.is_empty() {
        v.push((format!("t:{}", p.error_type.to_lowercase()), 1, Part::Type));
    }
    words_into(&mut v, Part::Message, &p.message);
    for c in &p.causes {
        let (t, m) = c.split_once(": ").unwrap_or((c, ""));
        v.push((format!("c:{}", t.to_lowercase()), 2, Part::Cause));
        words_into(&mut v, Part::Cause, m);
    }
    for t in &p.tests {
        v.push((format!("test:{t}"), 1, Part::Tests));
    }
    if !p.location.is_empty() {
        v.push((format!("loc:{}", p.location), 1, Part::Location));
    }
    let (best, primary) = primary_frames(p);
    for f in primary.iter().take(MAX_FRAMES) {
        v.push((format!("f:{}@{}", f.func, f.file), 3, Part::Frames));
        if !f.func.is_empty() {
            v.push((format!("fn:{}", f.func), 1, Part::Frames));
        }
    }
    // Secondary frames: libraries under an application count a little; the runtime not at all.
    if best == Some(Origin::App) {
        for f in p
            .frames
            .iter()
            .filter(|f| f.origin == Origin::Library)
            .take(MAX_FRAMES)
        {
            v.push((format!("f:{}@{}", f.func, f.file), 1, Part::Frames));
        }
    }
    for s in p.snippet.iter().take(8) {
        v.push((format!("src:{s}"), 1, Part::Snippet));
    }
    if v.iter().all(|x| x.2 <= Part::Cause) {
        // Nothing locates the failure: shingles of the masked text carry the comparison.
        let words: Vec<String> = p
            .text
            .split_whitespace()
            .map(|w| w.to_lowercase())
            .collect();
        for w in words.windows(3).take(80) {
            v.push((format!("x:{} {} {}", w[0], w[1], w[2]), 1, Part::Text));
        }
    }
    from_named(v)
}

fn words_into(v: &mut Vec<(String, u32, Part)>, part: Part, text: &str) {
    let words: Vec<String> = text
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|s| s.len() > 1 && !matches!(*s, "n" | "q" | "h" | "url" | "v"))
        .map(|s| s.to_lowercase())
        .take(MAX_MESSAGE_WORDS)
        .collect();
    let tag = part as u8;
    for word in &words {
        v.push((format!("{tag}:{word}"), 1, part));
    }
    for pair in words.windows(2) {
        v.push((format!("{tag}2:{} {}", pair[0], pair[1]), 1, part));
    }
}

fn from_named(v: Vec<(String, u32, Part)>) -> Features {
    let mut hv: Vec<(u64, u32, Part)> = v
        .into_iter()
        .map(|(s, w, p)| (fnv64(s.as_bytes(), 0), w, p))
        .collect();
    hv.sort_unstable_by_key(|x| (x.0, std::cmp::Reverse(x.1)));
    // Repeated features keep their largest weight.
    hv.dedup_by_key(|x| x.0);
    Features(hv)
}

fn parts_present(f: &Features) -> [bool; PARTS] {
    let mut present = [false; PARTS];
    for x in &f.0 {
        present[x.2 as usize] = true;
    }
    present
}

/// How alike two reports are, 0 to 1. Each part is compared by weighted Jaccard; what locates
/// the failure (tests, panic location, frames, quoted source) counts for 0.65, what describes
/// it (type, message, causes) for 0.35, so two different crashes with the same message stay
/// apart. When both name failing tests, the tests alone locate the failure.
pub fn similarity(a: &Features, b: &Features) -> f64 {
    let (num, den) = part_overlaps(a, b);
    let (pa, pb) = (parts_present(a), parts_present(b));
    let s = |p: Part| {
        let i = p as usize;
        if den[i] == 0 {
            None
        } else {
            Some(num[i] as f64 / den[i] as f64)
        }
    };
    let mix = |parts: &[(Part, f64)]| {
        let (mut n, mut d) = (0.0, 0.0);
        for &(p, w) in parts {
            if w == 0.0 {
                continue;
            }
            if let Some(v) = s(p) {
                n += w * v;
                d += w;
            }
        }
        (d > 0.0).then(|| n / d)
    };
    // Tests, locations and descriptions are compared only when both reports have them: a
    // truncated paste lacks the message line, a bare panic names no test.
    let both = |p: Part| pa[p as usize] && pb[p as usize];
    let identity = if both(Part::Tests) {
        s(Part::Tests)
    } else {
        let loc = if both(Part::Location) { 2.0 } else { 0.0 };
        mix(&[
            (Part::Location, loc),
            (Part::Frames, 3.0),
            (Part::Snippet, 1.0),
        ])
    };
    let w = |p: Part, w: f64| (p, if both(p) { w } else { 0.0 });
    let describe = mix(&[
        w(Part::Type, 1.0),
        w(Part::Message, 2.0),
        w(Part::Cause, 1.0),
    ])
    .filter(|_| both(Part::Type) || both(Part::Message) || both(Part::Cause));
    // Two messages with nothing in common speak against one bug, whatever else agrees.
    let unlike = both(Part::Message) && s(Part::Message).unwrap_or(0.0) < 0.15;
    let score = match (identity, describe, s(Part::Text)) {
        (Some(i), Some(d), _) => 0.65 * i + 0.35 * d,
        (Some(i), None, _) => i,
        (None, Some(d), Some(t)) => 0.5 * t + 0.5 * d,
        (None, Some(d), None) => d,
        (None, None, Some(t)) => t,
        (None, None, None) => 0.0,
    };
    if unlike {
        score * 0.6
    } else {
        score
    }
}

fn part_overlaps(a: &Features, b: &Features) -> ([u64; PARTS], [u64; PARTS]) {
    let (mut num, mut den) = ([0u64; PARTS], [0u64; PARTS]);
    let (x, y) = (&a.0, &b.0);
    let (mut i, mut j) = (0, 0);
    while i < x.len() || j < y.len() {
        if j >= y.len() || (i < x.len() && x[i].0 < y[j].0) {
            den[x[i].2 as usize] += x[i].1 as u64;
            i += 1;
        } else if i >= x.len() || y[j].0 < x[i].0 {
            den[y[j].2 as usize] += y[j].1 as u64;
            j += 1;
        } else {
            let p = x[i].2 as usize;
            num[p] += x[i].1.min(y[j].1) as u64;
            den[p] += x[i].1.max(y[j].1) as u64;
            i += 1;
            j += 1;
        }
    }
    (num, den)
}

/// MinHash over the weighted set, each feature repeated `weight` times, so the chance that
/// two signatures agree in a slot approximates the weighted Jaccard above.
pub fn signature(f: &Features) -> [u32; SIG_LEN] {
    let mut sig = [u32::MAX; SIG_LEN];
    for &(h, w, _) in &f.0 {
        for k in 0..w.min(8) as u64 {
            let base = mix64(h ^ k.wrapping_mul(0xD6E8_FEB8_6659_FD93));
            for (slot, s) in sig.iter_mut().enumerate() {
                let v =
                    (mix64(base ^ (slot as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)) >> 32) as u32;
                if v < *s {
                    *s = v;
                }
            }
        }
    }
    sig
}

/// One key per band: the band number and its rows, hashed.
pub fn band_keys(sig: &[u32; SIG_LEN]) -> [u64; BANDS] {
    let mut keys = [0u64; BANDS];
    for (b, key) in keys.iter_mut().enumerate() {
        let mut bytes = Vec::with_capacity(4 * ROWS + 1);
        bytes.push(b as u8);
        for r in 0..ROWS {
            bytes.extend_from_slice(&sig[b * ROWS + r].to_le_bytes());
        }
        *key = fnv64(&bytes, 7);
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::super::parse::parse;
    use super::*;

    #[test]
    fn identical_reports_score_one_and_disjoint_zero() {
        let a = features(&parse("KeyError: 'x'\n  File \"a.py\", line 1, in f\n"));
        assert_eq!(similarity(&a, &a), 1.0);
        let b = features(&parse("panic: runtime error: index out of range\ngoroutine 1 [running]:\nmain.g()\n\t/x/y.go:3 +0x1\n"));
        assert_eq!(similarity(&a, &b), 0.0);
    }

    #[test]
    fn signatures_estimate_similarity() {
        let a = features(&parse(
            "TypeError: boom here now\n    at f (a.js:1:2)\n    at g (b.js:1:2)\n",
        ));
        let b = features(&parse(
            "TypeError: boom here now\n    at f (a.js:3:2)\n    at h (c.js:1:2)\n",
        ));
        let (sa, sb) = (signature(&a), signature(&b));
        let agree =
            sa.iter().zip(sb.iter()).filter(|(x, y)| x == y).count() as f64 / SIG_LEN as f64;
        assert!(
            (agree - similarity(&a, &b)).abs() < 0.2,
            "{agree} vs {}",
            similarity(&a, &b)
        );
    }
}
