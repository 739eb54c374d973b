//! The benchmark's tantivy engine, set up as `orch search` sets it up: title and body indexed
//! with positions by a lower-casing simple tokenizer and stored, the document store not
//! compressed, written by 2 threads with a 128 MB heap. A query ranks by BM25 with title
//! matches boosted over body matches.

use orch_bench_engines::corpus::{self, Doc, Result};
use orch_bench_engines::run::{self, Engine, Hit, LIMIT, TITLE_WEIGHT};
use std::path::Path;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{BooleanQuery, BoostQuery, Occur, PhraseQuery, Query, RegexQuery, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, STORED, STRING,
};
use tantivy::tokenizer::{LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer};
use tantivy::{Index, IndexReader, TantivyDocument, Term};

const ANALYZER: &str = "words";
const THREADS: usize = 2;
const HEAP: usize = 128_000_000;

#[derive(Clone, Copy)]
struct Fields {
    id: Field,
    task: Field,
    kind: Field,
    title: Field,
    body: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let indexing = TextFieldIndexing::default()
        .set_tokenizer(ANALYZER)
        .set_index_option(IndexRecordOption::WithFreqsAndPositions);
    let text = TextOptions::default()
        .set_indexing_options(indexing)
        .set_stored();
    let f = Fields {
        id: b.add_u64_field("id", STORED),
        task: b.add_text_field("task", STRING | STORED),
        kind: b.add_text_field("kind", STRING | STORED),
        title: b.add_text_field("title", text.clone()),
        body: b.add_text_field("body", text),
    };
    (b.build(), f)
}

fn register(index: &Index) {
    let analyzer = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(256))
        .filter(LowerCaser)
        .build();
    index.tokenizers().register(ANALYZER, analyzer);
}

struct Tantivy {
    reader: IndexReader,
    f: Fields,
}

impl Engine for Tantivy {
    fn build(dir: &Path, docs: &[Doc]) -> Result<Vec<(&'static str, String)>> {
        let (schema, f) = schema();
        let settings = tantivy::IndexSettings {
            docstore_compression: tantivy::store::Compressor::None,
            ..Default::default()
        };
        let index = Index::builder()
            .schema(schema)
            .settings(settings)
            .create_in_dir(dir)?;
        register(&index);
        let mut w: tantivy::IndexWriter = index.writer_with_num_threads(THREADS, HEAP)?;
        for (id, d) in docs.iter().enumerate() {
            let mut t = TantivyDocument::default();
            t.add_u64(f.id, id as u64);
            t.add_text(f.task, &d.task);
            t.add_text(f.kind, d.kind);
            t.add_text(f.title, &d.title);
            t.add_text(f.body, &d.body);
            w.add_document(t)?;
        }
        w.commit()?;
        w.wait_merging_threads()?;
        let segments = index.searchable_segment_ids()?.len();
        Ok(vec![("segments", segments.to_string())])
    }

    fn open(dir: &Path) -> Result<Tantivy> {
        let index = Index::open_in_dir(dir)?;
        register(&index);
        let reader = index
            .reader_builder()
            .reload_policy(tantivy::ReloadPolicy::Manual)
            .try_into()?;
        Ok(Tantivy {
            reader,
            f: schema().1,
        })
    }

    fn docs(&self) -> Result<u64> {
        Ok(self.reader.searcher().num_docs())
    }

    fn top(&self, query: &str) -> Result<Vec<Hit>> {
        let searcher = self.reader.searcher();
        let q = self.compile(query)?;
        let top = searcher.search(&*q, &TopDocs::with_limit(LIMIT).order_by_score())?;
        let mut hits = Vec::with_capacity(top.len());
        for (_, addr) in top {
            let d: TantivyDocument = searcher.doc(addr)?;
            let text = |field| d.get_first(field).and_then(|v| v.as_str()).unwrap_or("");
            let f = &self.f;
            hits.push(Hit {
                id: d
                    .get_first(f.id)
                    .and_then(|v| v.as_u64())
                    .unwrap_or(u64::MAX),
                bytes: [f.task, f.kind, f.title, f.body]
                    .map(|x| text(x).len())
                    .iter()
                    .sum(),
            });
        }
        Ok(hits)
    }

    fn count(&self, query: &str) -> Result<u64> {
        let q = self.compile(query)?;
        Ok(self.reader.searcher().search(&*q, &Count)? as u64)
    }
}

/// One clause of a query: the words of a phrase (one word is a phrase of one), or a prefix.
enum Clause {
    Phrase(Vec<String>),
    Prefix(String),
}

/// The clauses of a query, all of which must match: words, `"phrases"` and `prefixes*`
/// (the subset of the FTS5 query syntax the benchmark uses).
fn clauses(query: &str) -> Vec<Clause> {
    let mut out = Vec::new();
    for (i, part) in query.split('"').enumerate() {
        if i % 2 == 1 {
            out.push(Clause::Phrase(corpus::words(part).collect()));
            continue;
        }
        for w in part.split_whitespace() {
            match w.strip_suffix('*') {
                Some(p) => out.push(Clause::Prefix(p.to_lowercase())),
                None => out.push(Clause::Phrase(corpus::words(w).collect())),
            }
        }
    }
    out.retain(|c| !matches!(c, Clause::Phrase(w) if w.is_empty()));
    out
}

impl Tantivy {
    /// The clause in one field.
    fn field(&self, c: &Clause, field: Field) -> Result<Box<dyn Query>> {
        let term = |w: &String| Term::from_field_text(field, w);
        Ok(match c {
            Clause::Phrase(w) if w.len() == 1 => {
                Box::new(TermQuery::new(term(&w[0]), IndexRecordOption::WithFreqs))
            }
            Clause::Phrase(w) => Box::new(PhraseQuery::new(w.iter().map(term).collect())),
            Clause::Prefix(p) => Box::new(RegexQuery::from_pattern(&format!("{p}.*"), field)?),
        })
    }

    /// Every clause must match, in the title (boosted) or the body. One clause alone keeps
    /// its own shape, so tantivy can skip blocks that cannot reach the top hits.
    fn compile(&self, query: &str) -> Result<Box<dyn Query>> {
        let mut must: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for c in clauses(query) {
            let title = BoostQuery::new(self.field(&c, self.f.title)?, TITLE_WEIGHT);
            let either = BooleanQuery::new(vec![
                (Occur::Should, Box::new(title) as Box<dyn Query>),
                (Occur::Should, self.field(&c, self.f.body)?),
            ]);
            must.push((Occur::Must, Box::new(either)));
        }
        match must.len() {
            1 => Ok(must.remove(0).1),
            _ => Ok(Box::new(BooleanQuery::new(must))),
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Err(e) = run::main::<Tantivy>(&args) {
        eprintln!("bench-tantivy: {e}");
        std::process::exit(1);
    }
}
