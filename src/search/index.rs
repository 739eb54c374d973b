//! The tantivy indexes behind `orch search`: their schema, writing documents into them, and
//! turning a parsed query plus the scope into tantivy queries over them.
//!
//! A search reads the main index and, when files changed since it was last written, an
//! overlay: a small index of one segment holding the documents of every file changed since,
//! written anew on each change. The main index's documents of those files are masked out, and
//! BM25 is scored with the statistics of both, so the two answer as one index.

use super::cache_dir::CacheDir;
use super::corpus::{Doc, Kind};
use super::query::{Clause, Query, Text};
use crate::{Error, Result};
use std::collections::BTreeSet;
use std::path::Path;
use tantivy::collector::sort_key::SortByStaticFastValue;
use tantivy::collector::{Count, DocSetCollector, TopDocs};
use tantivy::directory::RamDirectory;
use tantivy::indexer::{AddOperation, SegmentWriter};
use tantivy::query::{
    AllQuery, Bm25StatisticsProvider, BooleanQuery, BoostQuery, ConstScoreQuery, EmptyQuery,
    EnableScoring, Occur, PhraseQuery, Query as TQuery, RangeQuery, RegexQuery, TermQuery,
    TermSetQuery,
};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, FAST, STORED, STRING,
};
use tantivy::tokenizer::{
    LowerCaser, RemoveLongFilter, TextAnalyzer, Token, TokenStream, Tokenizer, TokenizerManager,
};
use tantivy::{
    Executor, Index, IndexMeta, IndexReader, IndexWriter, Order, Segment, SegmentMeta,
    SingleSegmentIndexWriter, TantivyDocument, Term,
};

/// The analyzer of the text fields. `query::words` splits text the same way.
const ANALYZER: &str = "orch_words";
/// A title match counts this many times a body match.
pub const TITLE_BOOST: f32 = 3.0;

pub(crate) fn err(what: &str) -> impl FnOnce(tantivy::TantivyError) -> Error + '_ {
    move |e| {
        let io = match &e {
            tantivy::TantivyError::IoError(io) => Some(io.kind()),
            tantivy::TantivyError::OpenWriteError(
                tantivy::directory::error::OpenWriteError::IoError { io_error, .. },
            ) => Some(io_error.kind()),
            _ => None,
        };
        failed(what, io, &e)
    }
}

/// The error of the index failing at `what`: damage, unless the file system refused a write
/// (full, read-only, not permitted), which is not the index's fault and which a rebuild would
/// meet the same way.
fn failed(what: &str, io: Option<std::io::ErrorKind>, e: &dyn std::fmt::Display) -> Error {
    use std::io::ErrorKind::*;
    match io {
        Some(StorageFull | QuotaExceeded | ReadOnlyFilesystem | PermissionDenied) => {
            Error::runtime(format!("search index: cannot {what}: {e}"))
        }
        _ => Error::runtime(format!("{DAMAGE}{what}: {e}")),
    }
}

/// How the errors of reading or writing the index begin.
const DAMAGE: &str = "search index: could not ";

/// Whether `e` is the index failing to be read or written: a damaged index, which a rebuild
/// replaces.
pub fn is_damage(e: &Error) -> bool {
    e.kind == crate::ErrorKind::Runtime && e.message.starts_with(DAMAGE)
}

/// A document's time and line as one number that sorts the same way (exact in an f64 up to
/// the year 2255 and line 999,999), so that the listings of the indexes merge.
fn newness(time: Option<i64>, line: Option<u64>) -> f64 {
    match time {
        None => f64::MIN,
        Some(t) => t as f64 * 1e6 + line.unwrap_or(0).min(999_999) as f64,
    }
}

/// The fields. Those that are only matched whole (path, kind, task, type, phase, session,
/// sprint) are stored apart and indexed together in `keys` as `name:value` terms: a segment
/// costs a term dictionary per indexed field, and a search after a change writes one.
#[derive(Clone, Copy)]
pub struct Fields {
    pub keys: Field,
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
        keys: b.add_text_field("keys", STRING),
        path: b.add_text_field("path", STORED),
        kind: b.add_text_field("kind", STORED),
        task: b.add_text_field("task", STORED),
        section: b.add_text_field("section", STORED),
        line: b.add_u64_field("line", STORED | FAST),
        event_id: b.add_text_field("event_id", STORED),
        ts: b.add_text_field("ts", STORED),
        time: b.add_i64_field("time", FAST),
        type_: b.add_text_field("type", STORED),
        phase: b.add_text_field("phase", STORED),
        session: b.add_text_field("session", STORED),
        sprint: b.add_text_field("sprint", STORED),
        title: b.add_text_field("title", text.clone()),
        body: b.add_text_field("body", text),
    };
    (b.build(), f)
}

/// Splits text into the words of [`super::query::spans`].
#[derive(Clone, Default)]
struct Words {
    token: Token,
}

struct WordStream<'a> {
    text: &'a str,
    spans: super::query::Spans<'a>,
    token: &'a mut Token,
}

impl Tokenizer for Words {
    type TokenStream<'a> = WordStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> WordStream<'a> {
        self.token.reset();
        WordStream {
            text,
            spans: super::query::spans(text),
            token: &mut self.token,
        }
    }
}

impl TokenStream for WordStream<'_> {
    fn advance(&mut self) -> bool {
        let Some((a, b)) = self.spans.next() else {
            return false;
        };
        self.token.text.clear();
        self.token.text.push_str(&self.text[a..b]);
        self.token.offset_from = a;
        self.token.offset_to = b;
        self.token.position = self.token.position.wrapping_add(1);
        true
    }

    fn token(&self) -> &Token {
        self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        self.token
    }
}

fn tokenizers() -> TokenizerManager {
    let analyzer = TextAnalyzer::builder(Words::default())
        .filter(RemoveLongFilter::limit(256))
        .filter(LowerCaser)
        .build();
    let m = TokenizerManager::default();
    m.register(ANALYZER, analyzer);
    m
}

fn settings() -> tantivy::IndexSettings {
    tantivy::IndexSettings {
        // Speed over size: the index is a cache of text that is in the repository anyway.
        docstore_compression: tantivy::store::Compressor::None,
        // Nothing to compress: a thread of its own would only cost its start.
        docstore_compress_dedicated_thread: false,
        ..Default::default()
    }
}

/// The writer heap of an overlay: small, so that its hash table is cheap to set up and to
/// walk (the overlay holds at most a few thousand documents).
const OVERLAY_HEAP: usize = 1_000_000;

fn folder(dir: &Path) -> Result<Box<dyn tantivy::Directory>> {
    CacheDir::open(dir).map_err(|e| Error::runtime(format!("search index: {e}")))
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
        let index = Index::builder()
            .schema(schema)
            .settings(settings())
            .tokenizers(tokenizers())
            .open_or_create(folder(dir)?)
            .map_err(err("create the index"))?;
        Ok(Store { index, f })
    }

    /// Writes an overlay holding `docs` into `dir` (made here; it must not exist yet): one
    /// segment built in memory, without the machinery of an index writer, then its files
    /// written out once each.
    pub fn write_overlay<'d>(dir: &Path, docs: impl Iterator<Item = &'d Doc>) -> Result<Store> {
        let (schema, f) = schema();
        let ram = RamDirectory::create();
        let mut w: SingleSegmentIndexWriter = Index::builder()
            .schema(schema)
            .settings(settings())
            .tokenizers(tokenizers())
            .single_segment_index_writer(ram.clone(), OVERLAY_HEAP)
            .map_err(err("create the overlay"))?;
        for d in docs {
            w.add_document(to_tantivy(&f, d))
                .map_err(err("add a document"))?;
        }
        let index = w.finalize().map_err(err("write the overlay"))?;
        std::fs::create_dir(dir).map_err(|e| Error::io(dir, e))?;
        ram.persist(&*folder(dir)?)
            .map_err(err("write the overlay"))?;
        Ok(Store { index, f })
    }

    /// A writer of whole segments on the calling thread, each up to `heap` bytes of memory;
    /// [`Store::commit_segments`] makes the segments of every sink the index's content.
    pub fn sink(&self, heap: usize) -> Sink<'_> {
        // tantivy's writer refuses less per thread; a segment writer needs the room.
        debug_assert!(
            heap >= 15_000_000,
            "a sink's heap of {heap} bytes is too small"
        );
        Sink {
            store: self,
            heap,
            open: None,
            opstamp: 0,
            done: Vec::new(),
        }
    }

    /// Records `segments` (written by sinks into this index's folder) as the index's whole
    /// content, with `payload` as the commit's payload. The index must have been empty.
    pub fn commit_segments(&self, segments: Vec<SegmentMeta>, payload: &str) -> Result<()> {
        let before = self
            .index
            .load_metas()
            .map_err(err("read the index's metadata"))?;
        debug_assert!(before.segments.is_empty(), "the index was empty");
        let docs: u64 = segments.iter().map(|s| u64::from(s.max_doc())).sum();
        let meta = IndexMeta {
            index_settings: self.index.settings().clone(),
            persisted_custom_extensions: before.persisted_custom_extensions,
            segments,
            schema: self.index.schema(),
            opstamp: docs,
            payload: Some(payload.to_string()),
        };
        let mut bytes = serde_json::to_vec_pretty(&meta).map_err(|e| failed("commit", None, &e))?;
        bytes.push(b'\n');
        use tantivy::Directory as _;
        // As tantivy's own commit: the segments' files are made durable before the metadata
        // naming them, and the metadata after.
        let dir = self.index.directory();
        dir.sync_directory()
            .and_then(|()| dir.atomic_write(Path::new("meta.json"), &bytes))
            .and_then(|()| dir.sync_directory())
            .map_err(|e| failed("commit", Some(e.kind()), &e))
    }

    /// Opens an index and checks it has the schema this version writes; anything else is an
    /// error the caller answers by rebuilding.
    pub fn open(dir: &Path) -> Result<Store> {
        let mut index = Index::open(folder(dir)?).map_err(err("open the index"))?;
        let (schema, f) = schema();
        if index.schema() != schema {
            return Err(Error::runtime("search index: written with another schema"));
        }
        index.set_tokenizers(tokenizers());
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
        to_tantivy(&self.f, d)
    }

    /// Every document of the index, as it was added: for an overlay, which is small.
    pub fn all_docs(&self) -> Result<Vec<Doc>> {
        let searcher = self.reader()?.searcher();
        let mut out = Vec::with_capacity(searcher.num_docs() as usize);
        for (ord, seg) in searcher.segment_readers().iter().enumerate() {
            for doc in seg.doc_ids_alive() {
                let addr = tantivy::DocAddress::new(ord as u32, doc);
                let t: TantivyDocument = searcher.doc(addr).map_err(err("read a document"))?;
                out.push(from_tantivy(&self.f, &t));
            }
        }
        Ok(out)
    }
}

/// Indexes documents into segments of its own, written out whenever one reaches the heap
/// size and at [`Sink::finish`]: what an index writer's thread does, without handing every
/// document to another thread.
pub struct Sink<'s> {
    store: &'s Store,
    heap: usize,
    open: Option<(SegmentWriter, Segment)>,
    opstamp: u64,
    done: Vec<SegmentMeta>,
}

/// Room left in a sink's heap when its segment is written out (tantivy's writer keeps 1 MB).
const SINK_MARGIN: usize = 1_000_000;

impl Sink<'_> {
    pub fn add(&mut self, d: &Doc) -> Result<()> {
        let (w, _) = match &mut self.open {
            Some(open) => open,
            slot => {
                let segment = self.store.index.new_segment();
                let w = SegmentWriter::for_segment(self.heap, segment.clone())
                    .map_err(err("start a segment"))?;
                slot.insert((w, segment))
            }
        };
        let document = to_tantivy(&self.store.f, d);
        let opstamp = self.opstamp;
        self.opstamp += 1;
        w.add_document(AddOperation { opstamp, document })
            .map_err(err("add a document"))?;
        if w.mem_usage() + SINK_MARGIN >= self.heap {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if let Some((w, segment)) = self.open.take() {
            let max_doc = w.max_doc();
            w.finalize().map_err(err("write a segment"))?;
            if max_doc > 0 {
                self.done.push(segment.with_max_doc(max_doc).meta().clone());
            }
        }
        Ok(())
    }

    /// Writes out the open segment; the segments written, for [`Store::commit_segments`].
    pub fn finish(mut self) -> Result<Vec<SegmentMeta>> {
        self.flush()?;
        Ok(self.done)
    }
}

fn to_tantivy(f: &Fields, d: &Doc) -> TantivyDocument {
    // Room for the text and the fields' headers, so that the document is not grown piecemeal.
    let mut t = TantivyDocument::with_capacity(
        2 * (d.path.len() + d.session.len()) + d.title.len() + d.body.len() + 256,
    );
    let mut key = String::with_capacity(96);
    let mut add_key = |t: &mut TantivyDocument, name: &str, value: &str| {
        key.clear();
        write_key(&mut key, name, value);
        t.add_text(f.keys, &key);
    };
    t.add_text(f.path, &d.path);
    add_key(&mut t, "path", &d.path);
    t.add_text(f.kind, d.kind.as_str());
    add_key(&mut t, "kind", d.kind.as_str());
    for task in &d.tasks {
        t.add_text(f.task, task);
        add_key(&mut t, "task", task);
    }
    t.add_text(f.section, &d.section);
    t.add_u64(f.line, d.line);
    t.add_text(f.event_id, &d.event_id);
    t.add_text(f.ts, &d.ts);
    t.add_i64(f.time, epoch(&d.ts));
    for (name, field, v) in [
        ("type", f.type_, &d.type_),
        ("phase", f.phase, &d.phase),
        ("session", f.session, &d.session),
        ("sprint", f.sprint, &d.sprint),
    ] {
        if !v.is_empty() {
            t.add_text(field, v);
            add_key(&mut t, name, v);
        }
    }
    t.add_text(f.title, &d.title);
    t.add_text(f.body, &d.body);
    t
}

/// A document as [`to_tantivy`] stored it.
fn from_tantivy(f: &Fields, t: &TantivyDocument) -> Doc {
    let s = |field: Field| {
        t.get_first(field)
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    };
    Doc {
        kind: Kind::parse(&s(f.kind)).unwrap_or(Kind::Artifact),
        tasks: t
            .get_all(f.task)
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        path: s(f.path),
        section: s(f.section),
        line: t.get_first(f.line).and_then(|v| v.as_u64()).unwrap_or(0),
        event_id: s(f.event_id),
        ts: s(f.ts),
        type_: s(f.type_),
        phase: s(f.phase),
        session: s(f.session),
        sprint: s(f.sprint),
        title: s(f.title),
        body: s(f.body),
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

use crate::event::type_matches;

/// The `keys` term of a field matched whole: `name:value`.
fn write_key(out: &mut String, name: &str, value: &str) {
    out.push_str(name);
    out.push(':');
    out.push_str(value);
}

fn key_text(name: &str, value: &str) -> String {
    let mut out = String::with_capacity(name.len() + 1 + value.len());
    write_key(&mut out, name, value);
    out
}

pub fn key(f: &Fields, name: &str, value: &str) -> Term {
    Term::from_field_text(f.keys, &key_text(name, value))
}

/// Documents whose whole-value field `name` is `v`.
fn term(f: &Fields, name: &str, v: &str) -> Box<dyn TQuery> {
    Box::new(TermQuery::new(key(f, name, v), IndexRecordOption::Basic))
}

fn filter(q: Box<dyn TQuery>) -> Box<dyn TQuery> {
    Box::new(ConstScoreQuery::new(q, 0.0))
}

/// Documents whose whole-value field `name` is any of `values`.
fn set(f: &Fields, name: &str, values: impl IntoIterator<Item = String>) -> Box<dyn TQuery> {
    let terms: Vec<Term> = values.into_iter().map(|v| key(f, name, &v)).collect();
    if terms.is_empty() {
        return Box::new(EmptyQuery);
    }
    Box::new(TermSetQuery::new(terms))
}

/// An executor that searches the segments of an index on a thread per core, up to four (the
/// main index has a segment per core it was built on); one thread if none can be started.
fn segment_threads() -> Executor {
    let n = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    match n {
        1 => Executor::single_thread(),
        n => Executor::multi_thread(n, "orch-search-").unwrap_or(Executor::SingleThread),
    }
}

/// One index a search reads, and the files whose documents in it are out of date.
pub struct Part {
    pub searcher: tantivy::Searcher,
    /// Paths whose documents this index must not answer with (an overlay has newer ones).
    pub mask: Vec<String>,
}

impl Part {
    /// `q` without the documents of masked files.
    fn masked(&self, f: &Fields, q: &dyn TQuery) -> Box<dyn TQuery> {
        if self.mask.is_empty() {
            return q.box_clone();
        }
        Box::new(BooleanQuery::new(vec![
            (Occur::Must, q.box_clone()),
            (Occur::MustNot, any_of(f, "path", &self.mask)),
        ]))
    }
}

/// The BM25 statistics of all the parts together, so that a score means the same in each.
struct Stats<'a>(&'a [Part]);

impl Bm25StatisticsProvider for Stats<'_> {
    fn total_num_tokens(&self, field: Field) -> tantivy::Result<u64> {
        self.0
            .iter()
            .map(|p| Bm25StatisticsProvider::total_num_tokens(&p.searcher, field))
            .sum()
    }

    fn total_num_docs(&self) -> tantivy::Result<u64> {
        self.0
            .iter()
            .map(|p| Bm25StatisticsProvider::total_num_docs(&p.searcher))
            .sum()
    }

    fn doc_freq(&self, term: &Term) -> tantivy::Result<u64> {
        self.0.iter().map(|p| p.searcher.doc_freq(term)).sum()
    }
}

/// The main index and, when there is one, the overlay, read as one.
/// Documents with any of `values` in `field`: for a few values, cheaper than a term set, which
/// builds an automaton of them first.
fn any_of(f: &Fields, name: &str, values: &[String]) -> Box<dyn TQuery> {
    let terms = values.iter().map(|v| (Occur::Should, term(f, name, v)));
    Box::new(BooleanQuery::new(terms.collect()))
}

pub struct Searcher {
    pub f: Fields,
    pub parts: Vec<Part>,
}

/// A match: its sort key (score, or time for a query without words), its score, and where.
type Found = (f64, f32, usize, tantivy::DocAddress);

impl Searcher {
    fn f(&self) -> &Fields {
        &self.f
    }

    /// Every distinct event type in the indexes.
    fn types(&self) -> Result<BTreeSet<String>> {
        let mut out = BTreeSet::new();
        for part in &self.parts {
            for seg in part.searcher.segment_readers() {
                let inv = seg
                    .inverted_index(self.f().keys)
                    .map_err(err("read event types"))?;
                // `type:` up to the next byte after ':', which is ';'.
                let mut s = inv
                    .terms()
                    .range()
                    .ge(b"type:")
                    .lt(b"type;")
                    .into_stream()
                    .map_err(|e| Error::runtime(format!("{DAMAGE}read event types: {e}")))?;
                while s.advance() {
                    let t = String::from_utf8_lossy(s.key());
                    out.insert(t["type:".len()..].to_string());
                }
            }
        }
        Ok(out)
    }

    fn type_filter(&self, want: &str) -> Result<Box<dyn TQuery>> {
        let types = self.types()?;
        Ok(set(
            self.f(),
            "type",
            types.into_iter().filter(|t| type_matches(t, want)),
        ))
    }

    /// Tasks whose TASK.md names `sprint`.
    pub fn sprint_tasks(&self, sprint: &str) -> Result<Vec<String>> {
        let q = BooleanQuery::new(vec![
            (Occur::Must, term(self.f(), "sprint", sprint)),
            (Occur::Must, term(self.f(), "kind", Kind::Task.as_str())),
        ]);
        let mut out = BTreeSet::new();
        for (i, part) in self.parts.iter().enumerate() {
            let found = part
                .searcher
                .search(&*part.masked(self.f(), &q), &DocSetCollector)
                .map_err(err("look up a sprint"))?;
            for addr in found {
                let d = self.doc(i, addr)?;
                for v in d.get_all(self.f().task) {
                    if let Some(s) = v.as_str() {
                        out.insert(s.to_string());
                    }
                }
            }
        }
        Ok(out.into_iter().collect())
    }

    /// How many documents the indexes hold, masked ones left out.
    pub fn num_docs(&self) -> Result<u64> {
        let mut n = 0;
        for part in &self.parts {
            let q = part.masked(self.f(), &AllQuery);
            n += part.searcher.search(&*q, &Count).map_err(err("count"))? as u64;
        }
        Ok(n)
    }

    fn doc(&self, part: usize, addr: tantivy::DocAddress) -> Result<TantivyDocument> {
        self.parts[part]
            .searcher
            .doc(addr)
            .map_err(err("read a document"))
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
                "task" | "phase" | "kind" => term(f, field, value),
                _ => set(f, "task", self.sprint_tasks(value)?),
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
            must.push((Occur::Must, filter(set(f, "kind", kinds))));
        }
        if let Some(tasks) = &scope.tasks {
            must.push((Occur::Must, filter(set(f, "task", tasks.iter().cloned()))));
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
                (Occur::MustNot, term(f, "kind", Kind::Event.as_str())),
            ]));
            must.push((
                Occur::Must,
                filter(Box::new(BooleanQuery::new(vec![
                    (Occur::Should, term(f, "session", key)),
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
    /// how many documents match in all, in one pass over the matches of each index.
    pub fn top(&self, q: &Query, scope: &Scope, limit: usize) -> Result<(Vec<Stored>, usize)> {
        let tq = self.compile(q, scope)?;
        let limit = limit.max(1);
        let stats = Stats(&self.parts);
        let segments = |p: &Part| p.searcher.segment_readers().len();
        let executor = match q.has_phrase() && self.parts.iter().any(|p| segments(p) > 1) {
            true => segment_threads(),
            false => Executor::single_thread(),
        };
        let mut found: Vec<Found> = Vec::new();
        let mut total = 0;
        for (i, part) in self.parts.iter().enumerate() {
            let pq = part.masked(self.f(), &*tq);
            let s = &part.searcher;
            let n = if q.has_text() {
                let c = (TopDocs::with_limit(limit).order_by_score(), Count);
                let scoring = EnableScoring::enabled_from_statistics_provider(&stats, s);
                let (top, n) = s
                    .search_with_executor(&*pq, &c, &executor, scoring)
                    .map_err(err("search"))?;
                found.extend(top.into_iter().map(|(sc, a)| (sc as f64, sc, i, a)));
                n
            } else {
                // Newest first; within a second, the later line of a log first.
                let newest = TopDocs::with_limit(limit).order_by((
                    (SortByStaticFastValue::<i64>::for_field("time"), Order::Desc),
                    (SortByStaticFastValue::<u64>::for_field("line"), Order::Desc),
                ));
                let (top, n) = s.search(&*pq, &(newest, Count)).map_err(err("search"))?;
                found.extend(
                    top.into_iter()
                        .map(|((t, l), a)| (newness(t, l), 0.0, i, a)),
                );
                n
            };
            total += n;
        }
        // Stable: among equal keys the main index's order stands, then the overlay's.
        found.sort_by(|a, b| b.0.total_cmp(&a.0));
        found.truncate(limit);
        let hits = found
            .into_iter()
            .map(|(_, score, part, addr)| self.stored(score, part, addr))
            .collect::<Result<_>>()?;
        Ok((hits, total))
    }

    fn stored(&self, score: f32, part: usize, addr: tantivy::DocAddress) -> Result<Stored> {
        let d = from_tantivy(self.f(), &self.doc(part, addr)?);
        Ok(Stored {
            score,
            kind: d.kind.as_str().to_string(),
            tasks: d.tasks,
            path: d.path,
            section: d.section,
            line: d.line,
            event_id: d.event_id,
            ts: d.ts,
            type_: d.type_,
            phase: d.phase,
            title: d.title,
            body: d.body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_no_damage_to_rebuild_from() {
        use std::io::{Error as IoError, ErrorKind};
        let io = |k: ErrorKind| tantivy::TantivyError::IoError(IoError::from(k).into());
        for k in [ErrorKind::StorageFull, ErrorKind::PermissionDenied] {
            let e = err("write a segment")(io(k));
            assert!(!is_damage(&e), "{}", e.message);
            assert!(
                e.message.contains("cannot write a segment"),
                "{}",
                e.message
            );
        }
        let e = err("read a segment")(io(ErrorKind::UnexpectedEof));
        assert!(is_damage(&e), "{}", e.message);
    }

    #[test]
    fn the_analyzer_splits_like_the_query_parser() {
        let (schema, _) = schema();
        let index = Index::builder()
            .schema(schema)
            .tokenizers(tokenizers())
            .create_in_ram()
            .unwrap();
        let mut a = index.tokenizers().get(ANALYZER).unwrap();
        for text in [
            "Connection-Reset by peer: ÉTÉ naïve_snake 42x ΣΑΣ",
            "src/config.rs:40-92 x.y.z",
            "日本語のテキスト abc漢字def 한국어 단어 カタカナ🚀emoji",
        ] {
            let mut got = Vec::new();
            let mut s = a.token_stream(text);
            let mut positions = Vec::new();
            while s.advance() {
                got.push(s.token().text.clone());
                positions.push(s.token().position);
            }
            assert_eq!(got, super::super::query::words(text), "{text}");
            assert_eq!(positions, (0..got.len()).collect::<Vec<_>>(), "{text}");
        }
    }
}
