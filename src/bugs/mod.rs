//! Bugs found during the work: reading error reports into fingerprints and similarity
//! features, independent of storage and of git.

pub mod fingerprint;
pub mod index;
pub mod normalize;
pub mod parse;
pub mod record;
pub mod similar;

pub use fingerprint::{canonical, fingerprint_of};
pub use parse::{parse, Parsed};
pub use similar::{features, similarity, Features};

/// Everything matching needs to know about one report.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub parsed: Parsed,
    pub normalized: String,
    pub fingerprint: String,
    pub features: Features,
}

pub fn analyze(report: &str) -> Analysis {
    let parsed = parse(report);
    let normalized = canonical(&parsed);
    let fingerprint = fingerprint_of(&normalized);
    let features = features(&parsed);
    Analysis {
        parsed,
        normalized,
        fingerprint,
        features,
    }
}
