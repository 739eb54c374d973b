//! The tantivy index behind `orch search`: its schema, writing documents into it, and turning
//! a parsed query plus the scope into a tantivy query.

use super::cache_dir::CacheDir;
use super::corpus::{Doc, Kind};
use super::query::{Clause, Query, Text};
use crate::{Error, Result};
use std::collections::BTreeSet;
use std::path::Path;
use tantivy::collector::TopDocs;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, EmptyQuery, Occur, PhraseQuery,
    Query as TQuery, RangeQuery, RegexQuery, TermQuery, TermSetQuery,
};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, FAST, INDEXED, STORED,
    STRING,
};
use tantivy::tokenizer::{LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer};
use tantivy::{Index, IndexReader, IndexWriter, Order, TantivyDocument, Term};

/// The analyzer of the text fields. `query::words` splits text the same way.
const ANALYZER: &str = "orch_words";
/// A title match counts this many times a body match.
pub const TITLE_BOOST: f32 = 3.0;

pub(crate) fn err(what: &str) -> impl FnOnce(tantivy::TantivyError) -> Error + '_ {
    move |e| Error::runtime(format!("search index: could not {what}: {e}"))
}

#[derive(Clone, Copy)]
pub struct Fields {
    pub path: Field,
    pub kind: Field,
    pub task: Field,
    pub section: Field,
    pub line: Field,
    pub event_id: Field,
    pub ts: Field,
    pub time: Field,
    pub type_: Field,
    pub phase: Field,
    pub session: Field,
    pub sprint: Field,
    pub title: Field,
    pub body: Field,
}

pub fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = TextOptions::default()
        .set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(ANALYZER)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        )
        .set_stored();
    let f = Fields {
        path: b.add_text_field("path", STRING | STORED),
        kind: b.add_text_field("kind", STRING | STORED),
        task: b.add_text_field("task", STRING | STORED),
        section: b.add_text_field("section", STORED),
        line: b.add_u64_field("line", STORED),
        event_id: b.add_text_field("event_id", STORED),
        ts: b.add_text_field("ts", STORED),
        time: b.add_i64_field("time", INDEXED | FAST),
        type_: b.add_text_field("type", STRING | STORED),
        phase: b.add_text_field("phase", STRING | STORED),
        session: b.add_text_field("session", STRING),
        sprint: b.add_text_field("sprint", STRING),
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

/// Seconds since the epoch of an RFC 3339 time; 0 when there is none.
pub fn epoch(ts: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(ts)
        .map(|t| t.timestamp())
        .unwrap_or(0)
}

pub struct Store {
    pub index: Index,
    pub f: Fields,
}

impl Store {
    pub fn create(dir: &Path) -> Result<Store> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let (schema, f) = schema();
        let settings = tantivy::IndexSettings {
            // Speed over size: the index is a cache of text that is in the repository anyway.
            docstore_compression: tantivy::store::Compressor::None,
            ..Default::default()
        };
        let folder =
            CacheDir::open(dir).map_err(|e| Error::runtime(format!("search index: {e}")))?;
        let index = Index::builder()
            .schema(schema)
            .settings(settings)
            .open_or_create(folder)
            .map_err(err("create the index"))?;
        register(&index);
        Ok(Store { index, f })
    }

    /// Opens an index and checks it has the schema this version writes; anything else is an
    /// error the caller answers by rebuilding.
    pub fn open(dir: &Path) -> Result<Store> {
        let folder =
            CacheDir::open(dir).map_err(|e| Error::runtime(format!("search index: {e}")))?;
        let index = Index::open(folder).map_err(err("open the index"))?;
        let (schema, f) = schema();
        if index.schema() != schema {
            return Err(Error::runtime("search index: written with another schema"));
        }
        register(&index);
        Ok(Store { index, f })
    }

    /// The generation the last commit recorded.
    pub fn generation(&self) -> Option<u64> {
        self.index
            .load_metas()
            .ok()?
            .payload
            .and_then(|p| p.parse().ok())
    }

    /// A writer with `threads` indexing threads of `heap` bytes each, and one thread for
    /// merges: a search waits for them anyway, and each thread costs its start.
    pub fn writer(&self, threads: usize, heap: usize) -> Result<IndexWriter> {
        let options = tantivy::indexer::IndexWriterOptions::builder()
            .num_worker_threads(threads)
            .memory_budget_per_thread(heap / threads.max(1))
            .num_merge_threads(1)
            .build();
        self.index
            .writer_with_options(options)
            .map_err(err("open the index for writing"))
    }

    pub fn reader(&self) -> Result<IndexReader> {
        self.index
            .reader_builder()
            .reload_policy(tantivy::ReloadPolicy::Manual)
            .try_into()
            .map_err(err("read the index"))
    }

    pub fn to_tantivy(&self, d: &Doc) -> TantivyDocument {
        let f = &self.f;
        let mut t = TantivyDocument::default();
        t.add_text(f.path, &d.path);
        t.add_text(f.kind, d.kind.as_str());
        for task in &d.tasks {
            t.add_text(f.task, task);
        }
        t.add_text(f.section, &d.section);
        t.add_u64(f.line, d.line);
        t.add_text(f.event_id, &d.event_id);
        t.add_text(f.ts, &d.ts);
        t.add_i64(f.time, epoch(&d.ts));
        for (field, v) in [
            (f.type_, &d.type_),
            (f.phase, &d.phase),
            (f.session, &d.session),
            (f.sprint, &d.sprint),
        ] {
            if !v.is_empty() {
                t.add_text(field, v);
            }
        }
        t.add_text(f.title, &d.title);
        t.add_text(f.body, &d.body);
        t
    }
}

/// A search hit as stored.
#[derive(Debug, Clone)]
pub struct Stored {
    pub score: f32,
    pub kind: String,
    pub tasks: Vec<String>,
    pub path: String,
    pub section: String,
    pub line: u64,
    pub event_id: String,
    pub ts: String,
    pub type_: String,
    pub phase: String,
    pub title: String,
    pub body: String,
}

/// Where the search looks, besides the query's own filters.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Only these tasks (`None`: all).
    pub tasks: Option<Vec<String>>,
    /// Only these kinds (empty: all).
    pub kinds: Vec<Kind>,
    /// Only events of this type (same rule as `type:`).
    pub type_: Option<String>,
    /// Only documents from this time on (seconds since the epoch).
    pub since: Option<i64>,
    /// The session scope: events only of this session (other kinds of its task stay).
    pub session: Option<String>,
}

/// `orch events --type` semantics: the full type, a suffix after a dot, or a prefix before one.
pub fn type_matches(type_: &str, want: &str) -> bool {
    type_ == want
        || type_
            .strip_suffix(want)
            .is_some_and(|rest| rest.ends_with('.'))
        || type_
            .strip_prefix(want)
            .is_some_and(|rest| rest.starts_with('.'))
}

fn term(field: Field, v: &str) -> Box<dyn TQuery> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, v),
        IndexRecordOption::WithFreqs,
    ))
}

fn filter(q: Box<dyn TQuery>) -> Box<dyn TQuery> {
    Box::new(ConstScoreQuery::new(q, 0.0))
}

fn set(field: Field, values: impl IntoIterator<Item = String>) -> Box<dyn TQuery> {
    let terms: Vec<Term> = values
        .into_iter()
        .map(|v| Term::from_field_text(field, &v))
        .collect();
    if terms.is_empty() {
        return Box::new(EmptyQuery);
    }
    Box::new(TermSetQuery::new(terms))
}

pub struct Searcher<'a> {
    pub store: &'a Store,
    pub searcher: tantivy::Searcher,
}

impl Searcher<'_> {
    fn f(&self) -> &Fields {
        &self.store.f
    }

    /// Every distinct event type in the index.
    fn types(&self) -> Result<BTreeSet<String>> {
        let mut out = BTreeSet::new();
        for seg in self.searcher.segment_readers() {
            let inv = seg
                .inverted_index(self.f().type_)
                .map_err(err("read event types"))?;
            let mut s = inv
                .terms()
                .stream()
                .map_err(|e| Error::runtime(format!("search index: {e}")))?;
            while s.advance() {
                out.insert(String::from_utf8_lossy(s.key()).into_owned());
            }
        }
        Ok(out)
    }

    fn type_filter(&self, want: &str) -> Result<Box<dyn TQuery>> {
        let types = self.types()?;
        Ok(set(
            self.f().type_,
            types.into_iter().filter(|t| type_matches(t, want)),
        ))
    }

    /// Tasks whose TASK.md names `sprint`.
    pub fn sprint_tasks(&self, sprint: &str) -> Result<Vec<String>> {
        let q = BooleanQuery::new(vec![
            (Occur::Must, term(self.f().sprint, sprint)),
            (Occur::Must, term(self.f().kind, Kind::Task.as_str())),
        ]);
        let n = self.searcher.num_docs() as usize;
        let top = self
            .searcher
            .search(&q, &TopDocs::with_limit(n.max(1)).order_by_score())
            .map_err(err("look up a sprint"))?;
        let mut out = BTreeSet::new();
        for (_, addr) in top {
            let d: TantivyDocument = self.searcher.doc(addr).map_err(err("read a document"))?;
            for v in d.get_all(self.f().task) {
                if let Some(s) = v.as_str() {
                    out.insert(s.to_string());
                }
            }
        }
        Ok(out.into_iter().collect())
    }

    fn text(&self, t: &Text) -> Box<dyn TQuery> {
        let f = self.f();
        let one = |field: Field| -> Box<dyn TQuery> {
            match t {
                Text::Phrase(w) if w.len() == 1 => Box::new(TermQuery::new(
                    Term::from_field_text(field, &w[0]),
                    IndexRecordOption::WithFreqs,
                )),
                Text::Phrase(w) => Box::new(PhraseQuery::new(
                    w.iter().map(|x| Term::from_field_text(field, x)).collect(),
                )),
                // A prefix is letters and digits only (the parser sees to it), so it needs no
                // escaping; the regex crate treats them as literals.
                Text::Prefix(p) => match RegexQuery::from_pattern(&format!("{p}.*"), field) {
                    Ok(q) => Box::new(q),
                    Err(_) => Box::new(EmptyQuery),
                },
            }
        };
        Box::new(BooleanQuery::new(vec![
            (
                Occur::Should,
                Box::new(BoostQuery::new(one(f.title), TITLE_BOOST)),
            ),
            (Occur::Should, one(f.body)),
        ]))
    }

    fn clause(&self, c: &Clause) -> Result<Box<dyn TQuery>> {
        let f = self.f();
        Ok(match c {
            Clause::Text(t) => self.text(t),
            Clause::Filter { field, value } => filter(match field.as_str() {
                "type" => self.type_filter(value)?,
                "task" => term(f.task, value),
                "phase" => term(f.phase, value),
                "kind" => term(f.kind, value),
                _ => set(f.task, self.sprint_tasks(value)?),
            }),
            Clause::Or(v) => Box::new(BooleanQuery::new(
                v.iter()
                    .map(|c| Ok((Occur::Should, self.clause(c)?)))
                    .collect::<Result<Vec<_>>>()?,
            )),
            Clause::Not(c) => Box::new(BooleanQuery::new(vec![
                (Occur::Must, Box::new(AllQuery)),
                (Occur::MustNot, self.clause(c)?),
            ])),
        })
    }

    pub fn compile(&self, q: &Query, scope: &Scope) -> Result<Box<dyn TQuery>> {
        let f = self.f();
        let mut must: Vec<(Occur, Box<dyn TQuery>)> = Vec::new();
        for c in &q.clauses {
            match c {
                Clause::Not(inner) => must.push((Occur::MustNot, self.clause(inner)?)),
                other => must.push((Occur::Must, self.clause(other)?)),
            }
        }
        if !scope.kinds.is_empty() {
            let kinds = scope.kinds.iter().map(|k| k.as_str().to_string());
            must.push((Occur::Must, filter(set(f.kind, kinds))));
        }
        if let Some(tasks) = &scope.tasks {
            must.push((Occur::Must, filter(set(f.task, tasks.iter().cloned()))));
        }
        if let Some(t) = &scope.type_ {
            must.push((Occur::Must, self.type_filter(t)?));
        }
        if let Some(since) = scope.since {
            must.push((
                Occur::Must,
                filter(Box::new(RangeQuery::new(
                    std::ops::Bound::Included(Term::from_field_i64(f.time, since)),
                    std::ops::Bound::Unbounded,
                ))),
            ));
        }
        if let Some(key) = &scope.session {
            let not_event: Box<dyn TQuery> = Box::new(BooleanQuery::new(vec![
                (Occur::Must, Box::new(AllQuery)),
                (Occur::MustNot, term(f.kind, Kind::Event.as_str())),
            ]));
            must.push((
                Occur::Must,
                filter(Box::new(BooleanQuery::new(vec![
                    (Occur::Should, term(f.session, key)),
                    (Occur::Should, not_event),
                ]))),
            ));
        }
        if must.len() == 1 && must[0].0 == Occur::Must {
            // One clause alone keeps its own shape, which lets tantivy skip blocks that cannot
            // reach the top results.
            return Ok(must.pop().expect("one clause").1);
        }
        Ok(Box::new(BooleanQuery::new(must)))
    }

    /// The best `limit` hits (by BM25 when the query has words, else the newest first) and
    /// how many documents match in all, in one pass over the matches.
    pub fn top(&self, q: &Query, scope: &Scope, limit: usize) -> Result<(Vec<Stored>, usize)> {
        let tq = self.compile(q, scope)?;
        let limit = limit.max(1);
        let count = tantivy::collector::Count;
        let (addrs, total): (Vec<(f32, tantivy::DocAddress)>, usize) = if q.has_text() {
            self.searcher
                .search(&*tq, &(TopDocs::with_limit(limit).order_by_score(), count))
                .map_err(err("search"))?
        } else {
            let newest = TopDocs::with_limit(limit).order_by_fast_field::<i64>("time", Order::Desc);
            let (top, total) = self
                .searcher
                .search(&*tq, &(newest, count))
                .map_err(err("search"))?;
            (top.into_iter().map(|(_, a)| (0.0, a)).collect(), total)
        };
        let hits = addrs
            .into_iter()
            .map(|(score, addr)| self.stored(score, addr))
            .collect::<Result<_>>()?;
        Ok((hits, total))
    }

    fn stored(&self, score: f32, addr: tantivy::DocAddress) -> Result<Stored> {
        let f = self.f();
        let d: TantivyDocument = self.searcher.doc(addr).map_err(err("read a document"))?;
        let s = |field: Field| {
            d.get_first(field)
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        };
        Ok(Stored {
            score,
            kind: s(f.kind),
            tasks: d
                .get_all(f.task)
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            path: s(f.path),
            section: s(f.section),
            line: d.get_first(f.line).and_then(|v| v.as_u64()).unwrap_or(0),
            event_id: s(f.event_id),
            ts: s(f.ts),
            type_: s(f.type_),
            phase: s(f.phase),
            title: s(f.title),
            body: s(f.body),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_match_like_orch_events() {
        assert!(type_matches(
            "orchestration.phase.plan.decision",
            "plan.decision"
        ));
        assert!(type_matches(
            "orchestration.phase.plan.decision",
            "decision"
        ));
        assert!(type_matches(
            "orchestration.phase.plan.decision",
            "orchestration"
        ));
        assert!(!type_matches("orchestration.phase.plan.decision", "ision"));
        assert!(!type_matches("custom.note", "custom.no"));
    }

    #[test]
    fn the_analyzer_splits_like_the_query_parser() {
        let (schema, _) = schema();
        let index = Index::create_in_ram(schema);
        register(&index);
        let mut a = index.tokenizers().get(ANALYZER).unwrap();
        for text in [
            "Connection-Reset by peer: ÉTÉ naïve_snake 42x ΣΑΣ",
            "src/config.rs:40-92 x.y.z",
        ] {
            let mut got = Vec::new();
            let mut s = a.token_stream(text);
            while s.advance() {
                got.push(s.token().text.clone());
            }
            assert_eq!(got, super::super::query::words(text), "{text}");
        }
    }
}
