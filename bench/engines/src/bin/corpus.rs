//! The corpus alone, with no engine: what the engines are given, and the baseline of the
//! binary size and compile time comparison (the same extractor, without an index).
//!
//! ```text
//! bench-corpus stats CORPUS_DIR         documents per kind, and the time to read them
//! bench-corpus words CORPUS_DIR [N]     the N most common words: word, documents, occurrences
//! ```

use orch_bench_engines::corpus::{self, Result};
use orch_bench_engines::run::ms;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::time::Instant;

fn stats(dir: &Path) -> Result<()> {
    let t = Instant::now();
    let docs = corpus::read(dir)?;
    let extract = ms(t);
    let mut kinds = BTreeMap::new();
    for d in &docs {
        *kinds.entry(d.kind).or_insert(0) += 1;
    }
    let bytes: usize = docs.iter().map(|d| d.title.len() + d.body.len()).sum();
    let kinds: Vec<String> = kinds.iter().map(|(k, n)| format!("{k}={n}")).collect();
    println!(
        "docs={} {} text_bytes={bytes} extract_ms={extract:.1}",
        docs.len(),
        kinds.join(" ")
    );
    Ok(())
}

/// Words by the number of documents they are in, then by their occurrences.
fn words(dir: &Path, n: usize) -> Result<()> {
    let mut counts: HashMap<String, (u64, u64)> = HashMap::new();
    for d in corpus::read(dir)? {
        let mut seen = HashSet::new();
        for w in corpus::words(&d.title).chain(corpus::words(&d.body)) {
            let c = counts.entry(w.clone()).or_default();
            c.1 += 1;
            if seen.insert(w) {
                c.0 += 1;
            }
        }
    }
    let mut all: Vec<_> = counts.into_iter().collect();
    all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    for (w, (docs, occurrences)) in all.into_iter().take(n) {
        println!("{w} {docs} {occurrences}");
    }
    Ok(())
}

fn run(args: &[String]) -> Result<()> {
    match args {
        [cmd, dir] if cmd == "stats" => stats(Path::new(dir)),
        [cmd, dir] if cmd == "words" => words(Path::new(dir), 10),
        [cmd, dir, n] if cmd == "words" => words(Path::new(dir), n.parse()?),
        _ => Err("usage: stats CORPUS_DIR | words CORPUS_DIR [N]".into()),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Err(e) = run(&args) {
        eprintln!("bench-corpus: {e}");
        std::process::exit(1);
    }
}
