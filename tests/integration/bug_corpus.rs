//! Scores bug matching on a corpus of real error reports copied from public issue threads
//! (tests/fixtures/bugs, source and grouping in manifest.tsv). Every pair of reports is a
//! "same bug?" decision; the thread's grouping is the truth. Two tiers:
//! - exact: same fingerprint, filed under one id — must be precise (a wrong merge hides a bug);
//! - suggest: exact or similarity above the threshold (`possible_duplicate_of`) — must find
//!   the duplicates while staying mostly right, since a person or agent confirms it.

use orch::bugs::{analyze, similarity, Analysis};
use std::collections::HashSet;
use std::path::Path;

struct Case {
    file: String,
    group: String,
    analysis: Analysis,
    raw: String,
}

fn corpus() -> Vec<Case> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bugs");
    let manifest = std::fs::read_to_string(dir.join("manifest.tsv")).unwrap();
    manifest
        .lines()
        .skip(1)
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            let raw = std::fs::read_to_string(dir.join(cols[0])).unwrap();
            Case {
                file: cols[0].to_string(),
                group: cols[1].to_string(),
                analysis: analyze(&raw),
                raw,
            }
        })
        .collect()
}

#[derive(Default, Debug)]
struct Score {
    tp: usize,
    fp: usize,
    fn_: usize,
}

impl Score {
    fn add(&mut self, predicted: bool, truth: bool) {
        match (predicted, truth) {
            (true, true) => self.tp += 1,
            (true, false) => self.fp += 1,
            (false, true) => self.fn_ += 1,
            _ => {}
        }
    }
    fn precision(&self) -> f64 {
        if self.tp + self.fp == 0 {
            1.0
        } else {
            self.tp as f64 / (self.tp + self.fp) as f64
        }
    }
    fn recall(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fn_).max(1) as f64
    }
}

fn score(cases: &[Case], same: impl Fn(&Case, &Case) -> bool) -> Score {
    let mut s = Score::default();
    for i in 0..cases.len() {
        for j in i + 1..cases.len() {
            s.add(same(&cases[i], &cases[j]), cases[i].group == cases[j].group);
        }
    }
    s
}

/// Naive references: a hash of the text with digits masked, and plain token Jaccard.
fn masked_digits(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_digit() { '0' } else { c })
        .collect()
}
fn token_jaccard(a: &str, b: &str) -> f64 {
    let ta: HashSet<&str> = a.split_whitespace().collect();
    let tb: HashSet<&str> = b.split_whitespace().collect();
    ta.intersection(&tb).count() as f64 / ta.union(&tb).count().max(1) as f64
}

#[test]
fn bug_matching_scores_on_the_real_corpus() {
    let cases = corpus();
    assert!(cases.len() >= 50, "the corpus needs at least 50 reports");
    let threshold = orch::bugs::similar::SUGGEST_THRESHOLD;
    let exact = score(&cases, |a, b| {
        a.analysis.fingerprint == b.analysis.fingerprint
    });
    let suggest = score(&cases, |a, b| {
        a.analysis.fingerprint == b.analysis.fingerprint
            || similarity(&a.analysis.features, &b.analysis.features) >= threshold
    });
    let naive_hash = score(&cases, |a, b| {
        masked_digits(&a.raw) == masked_digits(&b.raw)
    });
    let naive_jaccard = score(&cases, |a, b| token_jaccard(&a.raw, &b.raw) >= 0.5);
    let groups: HashSet<&str> = cases.iter().map(|c| c.group.as_str()).collect();
    println!(
        "corpus: {} reports, {} bugs, {} same-bug pairs",
        cases.len(),
        groups.len(),
        exact.tp + exact.fn_
    );
    for (name, s) in [
        ("exact (one bug id)", &exact),
        ("exact + possible_duplicate_of", &suggest),
        ("naive: hash of digit-masked text", &naive_hash),
        ("naive: token Jaccard >= 0.5", &naive_jaccard),
    ] {
        println!(
            "{name:34} precision {:.2}  recall {:.2}  (tp {} fp {} fn {})",
            s.precision(),
            s.recall(),
            s.tp,
            s.fp,
            s.fn_
        );
    }
    if std::env::var_os("BUG_CORPUS_DETAIL").is_some() {
        detail(&cases, threshold);
    }
    assert!(
        exact.precision() >= 0.95,
        "exact precision {:.2}",
        exact.precision()
    );
    assert!(
        suggest.recall() >= 0.90,
        "suggestion recall {:.2}",
        suggest.recall()
    );
    assert!(
        suggest.precision() >= 0.80,
        "suggestion precision {:.2}",
        suggest.precision()
    );
}

/// The mistakes, for tuning: wrong pairs above the threshold and missed pairs below it.
fn detail(cases: &[Case], threshold: f64) {
    for c in cases {
        println!(
            "--- {} [{}] {}\n{}",
            c.file, c.group, c.analysis.fingerprint, c.analysis.normalized
        );
    }
    for i in 0..cases.len() {
        for j in i + 1..cases.len() {
            let (a, b) = (&cases[i], &cases[j]);
            let s = similarity(&a.analysis.features, &b.analysis.features);
            let exact = a.analysis.fingerprint == b.analysis.fingerprint;
            let truth = a.group == b.group;
            let predicted = exact || s >= threshold;
            if predicted != truth
                || (exact && !truth)
                || (truth && s < threshold + 0.1)
                || (!truth && s > threshold - 0.1)
            {
                println!(
                    "{} {} {} ({} / {}) sim {:.3}{}",
                    if truth { "SAME" } else { "DIFF" },
                    a.file,
                    b.file,
                    a.group,
                    b.group,
                    s,
                    if exact { " EXACT" } else { "" }
                );
            }
        }
    }
}

/// What differs between two occurrences of one bug — line and column numbers, addresses,
/// home directories, the goroutine or process id — must not change the fingerprint.
#[test]
fn fingerprints_survive_the_noise_between_occurrences() {
    for c in corpus() {
        let noisy = perturb(&c.raw);
        let again = analyze(&noisy);
        assert_eq!(
            c.analysis.fingerprint, again.fingerprint,
            "{}: fingerprint changed under noise\n--- before\n{}--- after\n{}",
            c.file, c.analysis.normalized, again.normalized
        );
    }
}

/// Shifts every line/column number and hex address, and moves home directories.
fn perturb(s: &str) -> String {
    let s = s
        .replace("/home/", "/home/someone-else/x/")
        .replace("/Users/", "/Users/another/y/")
        .replace(r"C:\Users\", r"D:\Users\other\");
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let prev = if i > 0 { chars[i - 1] } else { ' ' };
        let hex = c == '0' && chars.get(i + 1) == Some(&'x');
        let position = c.is_ascii_digit() && (prev == ':' || s_ends_with(&out, "line "));
        if hex {
            out.push_str("0x");
            i += 2;
            while i < chars.len() && chars[i].is_ascii_hexdigit() {
                out.push(if chars[i] == 'f' { 'e' } else { 'f' });
                i += 1;
            }
        } else if position {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let n: u64 = chars[start..i]
                .iter()
                .collect::<String>()
                .parse()
                .unwrap_or(0);
            out.push_str(&(n + 7).to_string());
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn s_ends_with(s: &str, tail: &str) -> bool {
    s.ends_with(tail)
}

/// The matching a report does, against 100,000 bugs: the 93 corpus reports plus variants of
/// them with every identifier changed. Run by `bench/bugs.sh`; ignored in the normal run.
#[test]
#[ignore]
fn bench_matching_against_100k_bugs() {
    use orch::bugs::index::{build, open, Entry};
    let n: usize = std::env::var("BUGS_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let cases = corpus();
    let t = std::time::Instant::now();
    let mut entries = Vec::with_capacity(n);
    for k in 0..n {
        let c = &cases[k % cases.len()];
        let a = if k < cases.len() {
            c.analysis.clone()
        } else {
            analyze(&vary(&c.raw, k))
        };
        entries.push(Entry {
            id: format!("BUG-{k:08X}"),
            fingerprint: a.fingerprint,
            features: a.features,
        });
    }
    let dir = tempfile::tempdir().unwrap();
    build(dir.path(), "bench", &entries).unwrap();
    println!(
        "built an index of {n} bugs in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let idx = open(dir.path(), "bench").unwrap().unwrap();
    let mut times = Vec::new();
    let mut found = 0;
    for c in &cases {
        let q = analyze(&perturb(&c.raw));
        let t = std::time::Instant::now();
        let exact = idx.exact(&q.fingerprint).unwrap();
        // The near lookup every time: it is the expensive path a new bug takes.
        let near = idx
            .nearest(&q.features, orch::bugs::similar::SUGGEST_THRESHOLD, 3)
            .unwrap();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        found += usize::from(!exact.is_empty() || !near.is_empty());
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let p95 = times[times.len() * 95 / 100];
    println!(
        "report matching against {n} bugs: median {median:.2} ms, p95 {p95:.2} ms, max {:.2} ms ({found}/{} matched)",
        times[times.len() - 1],
        cases.len()
    );
    assert_eq!(found, cases.len(), "every corpus report finds itself");
    assert!(p95 <= 50.0, "p95 {p95:.2} ms is over 50 ms");
}

/// The report with every identifier of five or more letters changed, as another bug.
fn vary(s: &str, k: usize) -> String {
    let mut out = String::with_capacity(s.len() + 64);
    let mut word = String::new();
    let flush = |out: &mut String, word: &mut String| {
        if word.len() >= 5 {
            out.push_str(&format!("{word}{}", k % 9973));
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in s.chars() {
        if c.is_ascii_alphabetic() {
            word.push(c);
        } else {
            flush(&mut out, &mut word);
            out.push(c);
        }
    }
    flush(&mut out, &mut word);
    out
}
