//! The benchmark's SQLite FTS5 engine: one `docs` table with title and body indexed by the
//! unicode61 tokenizer, task and kind stored unindexed, the rowid the document's id. A query
//! ranks by BM25 with the title weighted over the body (`bm25(docs, 2.0, 1.0)` as the table's
//! rank function, so `ORDER BY rank` uses FTS5's own sorted plan).

use orch_bench_engines::corpus::{Doc, Result};
use orch_bench_engines::run::{self, ms, Engine, Hit, LIMIT, TITLE_WEIGHT};
use rusqlite::{params, Connection, OpenFlags};
use std::path::Path;
use std::time::Instant;

const FILE: &str = "docs.db";

const SCHEMA: &str = "CREATE VIRTUAL TABLE docs USING fts5(title, body, task UNINDEXED, \
                      kind UNINDEXED, tokenize='unicode61')";

struct Fts5 {
    db: Connection,
}

/// Creates the table and inserts every document in one transaction.
fn insert(db: &mut Connection, docs: &[Doc]) -> Result<()> {
    db.execute_batch("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;")?;
    db.execute_batch(SCHEMA)?;
    db.execute(
        "INSERT INTO docs(docs, rank) VALUES('rank', ?1)",
        [format!("bm25({TITLE_WEIGHT:.1}, 1.0)")],
    )?;
    let tx = db.transaction()?;
    {
        let mut st = tx.prepare(
            "INSERT INTO docs(rowid, title, body, task, kind) VALUES(?1, ?2, ?3, ?4, ?5)",
        )?;
        for (id, d) in docs.iter().enumerate() {
            st.execute(params![id as i64, d.title, d.body, d.task, d.kind])?;
        }
    }
    tx.commit()?;
    Ok(())
}

impl Engine for Fts5 {
    fn build(dir: &Path, docs: &[Doc]) -> Result<Vec<(&'static str, String)>> {
        let path = dir.join(FILE);
        let mut db = Connection::open(&path)?;
        let t = Instant::now();
        insert(&mut db, docs)?;
        let insert_ms = ms(t);
        let before = std::fs::metadata(&path)?.len();
        let t = Instant::now();
        db.execute_batch("INSERT INTO docs(docs) VALUES('optimize')")?;
        let optimize_ms = ms(t);
        db.close().map_err(|(_, e)| e)?;
        Ok(vec![
            ("insert_ms", format!("{insert_ms:.1}")),
            ("optimize_ms", format!("{optimize_ms:.1}")),
            ("bytes_before_optimize", before.to_string()),
        ])
    }

    fn open(dir: &Path) -> Result<Fts5> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let db = Connection::open_with_flags(dir.join(FILE), flags)?;
        Ok(Fts5 { db })
    }

    fn docs(&self) -> Result<u64> {
        let n: i64 = self
            .db
            .query_row("SELECT count(*) FROM docs", [], |r| r.get(0))?;
        Ok(n as u64)
    }

    fn top(&self, query: &str) -> Result<Vec<Hit>> {
        let mut st = self.db.prepare(
            "SELECT rowid, title, body, task, kind FROM docs WHERE docs MATCH ?1 \
             ORDER BY rank LIMIT ?2",
        )?;
        let mut rows = st.query(params![query, LIMIT as i64])?;
        let mut hits = Vec::with_capacity(LIMIT);
        while let Some(r) = rows.next()? {
            let mut bytes = 0;
            for i in 1..=4 {
                bytes += r.get_ref(i)?.as_str()?.len();
            }
            hits.push(Hit {
                id: r.get::<_, i64>(0)? as u64,
                bytes,
            });
        }
        Ok(hits)
    }

    fn count(&self, query: &str) -> Result<u64> {
        let mut st = self
            .db
            .prepare("SELECT count(*) FROM docs WHERE docs MATCH ?1")?;
        let n: i64 = st.query_row([query], |r| r.get(0))?;
        Ok(n as u64)
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Err(e) = run::main::<Fts5>(&args) {
        eprintln!("bench-fts5: {e}");
        std::process::exit(1);
    }
}
