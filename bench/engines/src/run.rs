//! The command line every engine binary shares, and the timing around its calls:
//!
//! ```text
//! build CORPUS_DIR INDEX_DIR          read the corpus, build the index from nothing
//! query INDEX_DIR QUERY [--runs N]    open the index; the ranked top 10 and the hit count, N times
//! ```
//! Output is one line of `key=value` fields, times in milliseconds.

use crate::corpus::{self, Doc, Result};
use std::path::Path;
use std::time::Instant;

/// The number of hits a query returns.
pub const LIMIT: usize = 10;
/// How much more a title match counts than a body match.
pub const TITLE_WEIGHT: f32 = 2.0;

/// A hit: the document's id (its position in the corpus).
#[derive(Debug, Clone)]
pub struct Hit {
    pub id: u64,
    /// The stored text read back, as a command that prints hits would.
    pub bytes: usize,
}

/// A full-text engine under test.
pub trait Engine: Sized {
    /// Writes `docs` into a new index in the empty folder `dir`; what it measured besides the
    /// total, as `key=value` fields.
    fn build(dir: &Path, docs: &[Doc]) -> Result<Vec<(&'static str, String)>>;
    fn open(dir: &Path) -> Result<Self>;
    /// The number of documents in the index.
    fn docs(&self) -> Result<u64>;
    /// The best `LIMIT` hits of `query`, best first, with their stored fields read.
    fn top(&self, query: &str) -> Result<Vec<Hit>>;
    /// How many documents match `query`.
    fn count(&self, query: &str) -> Result<u64>;
}

pub fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

/// The median and the minimum.
pub fn median_min(times: &[f64]) -> (f64, f64) {
    let mut t = times.to_vec();
    t.sort_by(f64::total_cmp);
    let n = t.len();
    let median = if n % 2 == 1 {
        t[n / 2]
    } else {
        (t[n / 2 - 1] + t[n / 2]) / 2.0
    };
    (median, t[0])
}

/// Runs the command line of `args` (without the program name) against engine `E`.
pub fn main<E: Engine>(args: &[String]) -> Result<()> {
    match args {
        [cmd, corpus, index] if cmd == "build" => build::<E>(Path::new(corpus), Path::new(index)),
        [cmd, index, text, rest @ ..] if cmd == "query" => {
            let runs = match rest {
                [] => 1,
                [flag, n] if flag == "--runs" => n.parse().map_err(|_| "--runs: not a number")?,
                _ => return Err(USAGE.into()),
            };
            query::<E>(Path::new(index), text, runs)
        }
        _ => Err(USAGE.into()),
    }
}

const USAGE: &str = "usage: build CORPUS_DIR INDEX_DIR | query INDEX_DIR QUERY [--runs N]";

fn build<E: Engine>(corpus: &Path, index: &Path) -> Result<()> {
    let start = Instant::now();
    let docs = corpus::read(corpus)?;
    let extract = ms(start);
    if index.exists() {
        std::fs::remove_dir_all(index)?;
    }
    std::fs::create_dir_all(index)?;
    let t = Instant::now();
    let fields = E::build(index, &docs)?;
    let build = ms(t);
    let total = ms(start);
    let indexed = E::open(index)?.docs()?;
    if indexed != docs.len() as u64 {
        return Err(format!("{} documents read, {indexed} in the index", docs.len()).into());
    }
    let mut line = format!("docs={indexed} extract_ms={extract:.1} build_ms={build:.1}");
    for (k, v) in fields {
        line.push_str(&format!(" {k}={v}"));
    }
    println!("{line} total_ms={total:.1}");
    Ok(())
}

fn query<E: Engine>(index: &Path, query: &str, runs: usize) -> Result<()> {
    let t = Instant::now();
    let engine = E::open(index)?;
    let open = ms(t);
    let (mut tops, mut counts) = (Vec::new(), Vec::new());
    let (mut hits, mut count) = (Vec::new(), 0);
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        hits = engine.top(query)?;
        tops.push(ms(t));
        let t = Instant::now();
        count = engine.count(query)?;
        counts.push(ms(t));
    }
    let (top_median, top_min) = median_min(&tops);
    let (count_median, _) = median_min(&counts);
    let ids: Vec<String> = hits.iter().map(|h| h.id.to_string()).collect();
    let bytes: usize = hits.iter().map(|h| h.bytes).sum();
    println!(
        "hits={count} runs={} open_ms={open:.2} top_first_ms={:.2} top_median_ms={top_median:.2} \
         top_min_ms={top_min:.2} count_median_ms={count_median:.2} top_bytes={bytes} top={}",
        tops.len(),
        tops[0],
        ids.join(","),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn median_of_odd_and_even() {
        assert_eq!(super::median_min(&[3.0, 1.0, 2.0]), (2.0, 1.0));
        assert_eq!(super::median_min(&[4.0, 1.0, 2.0, 3.0]), (2.5, 1.0));
    }
}
