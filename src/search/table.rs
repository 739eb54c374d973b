//! The file table: every indexed file with the blob id of the content indexed and its stat
//! data, one line per file: `path \t blob \t mtime_ns \t size \t inode \t dirty` (`-` for
//! stat data too fresh to trust).
//!
//! On ten thousand tasks the table has fifty thousand lines, so it is kept in [`SHARDS`] files
//! (`files/00.tsv` …), a task folder's files all in the same one: a search that found a handful
//! of changed files reads and rewrites only their shards. Every shard exists, if only empty;
//! a missing or malformed one means the table cannot be trusted. The shards carry no
//! generation: they are written after the index commits and before `state.json`, whose
//! generation the index must match, so a crash in between is caught there.

use super::fresh::{Rec, Stamp};
use crate::{Error, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::path::{Path, PathBuf};

pub const SHARDS: usize = 64;

/// The shard of a path: by its task folder (or bug), so that one task's files share one.
pub fn shard_of(path: &str) -> usize {
    let folder = path.splitn(4, '/').take(3).collect::<Vec<_>>().join("/");
    let mut h: u32 = 0x811c_9dc5;
    for b in folder.bytes() {
        h ^= b as u32;
        h = h.wrapping_mul(0x0100_0193);
    }
    h as usize % SHARDS
}

/// Replaces a file whole (temporary file, then rename) without waiting for the disk: the
/// tables are a cache, and one lost in a crash fails the generation check and is rebuilt.
pub fn replace(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    std::fs::write(&tmp, bytes)
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            Error::io(path, e)
        })
}

/// The table in its folder.
pub struct Table {
    dir: PathBuf,
}

impl Table {
    pub fn at(dir: PathBuf) -> Table {
        Table { dir }
    }

    fn shard(&self, i: usize) -> PathBuf {
        self.dir.join(format!("{i:02x}.tsv"))
    }

    fn read(&self, i: usize) -> Option<String> {
        std::fs::read_to_string(self.shard(i)).ok()
    }

    /// Every record; `None` when a shard is missing or a line malformed.
    pub fn all(&self) -> Option<BTreeMap<String, Rec>> {
        let mut out = BTreeMap::new();
        for i in 0..SHARDS {
            for line in self.read(i)?.lines() {
                let r = parse_line(line)?;
                out.insert(r.path.clone(), r);
            }
        }
        Some(out)
    }

    /// The records of `paths` that the table has, reading only their shards; `None` when one
    /// of those shards is missing or malformed.
    pub fn get(&self, paths: &BTreeSet<String>) -> Option<BTreeMap<String, Rec>> {
        let shards: BTreeSet<usize> = paths.iter().map(|p| shard_of(p)).collect();
        let mut out = BTreeMap::new();
        for i in shards {
            for line in self.read(i)?.lines() {
                let r = parse_line(line)?;
                if paths.contains(&r.path) {
                    out.insert(r.path.clone(), r);
                }
            }
        }
        Some(out)
    }

    /// Applies `updates` (`None`: the file is no longer indexed) to their shards, every other
    /// line kept as it was. Returns how the number of records changed; `None` when a shard
    /// is missing or malformed.
    pub fn patch(&self, updates: &BTreeMap<String, Option<Rec>>) -> Result<Option<i64>> {
        let mut by_shard: BTreeMap<usize, BTreeMap<&str, &Option<Rec>>> = BTreeMap::new();
        for (path, new) in updates {
            by_shard
                .entry(shard_of(path))
                .or_default()
                .insert(path, new);
        }
        let mut delta = 0;
        for (i, ups) in by_shard {
            let Some(text) = self.read(i) else {
                return Ok(None);
            };
            let Some((text, d)) = patched(&text, &ups) else {
                return Ok(None);
            };
            replace(&self.shard(i), text.as_bytes())?;
            delta += d;
        }
        Ok(Some(delta))
    }

    /// Writes the whole table anew.
    pub fn write_all(&self, files: &BTreeMap<String, Rec>) -> Result<()> {
        std::fs::create_dir_all(&self.dir).map_err(|e| Error::io(&self.dir, e))?;
        let mut shards = vec![String::new(); SHARDS];
        for r in files.values() {
            push_line(&mut shards[shard_of(&r.path)], r);
        }
        for (i, text) in shards.iter().enumerate() {
            replace(&self.shard(i), text.as_bytes())?;
        }
        Ok(())
    }
}

/// A shard's text with `updates` applied, and how its number of records changed; `None` when a
/// line is malformed.
fn patched(text: &str, updates: &BTreeMap<&str, &Option<Rec>>) -> Option<(String, i64)> {
    let mut out = String::with_capacity(text.len() + updates.len() * 100);
    let mut seen = BTreeSet::new();
    let mut delta = 0;
    for line in text.lines() {
        let path = line.split('\t').next().unwrap_or_default();
        match updates.get(path) {
            None => {
                parse_line(line)?;
                out.push_str(line);
                out.push('\n');
            }
            Some(new) => {
                seen.insert(path);
                match new {
                    Some(r) => push_line(&mut out, r),
                    None => delta -= 1,
                }
            }
        }
    }
    for (path, new) in updates {
        if let (false, Some(r)) = (seen.contains(path), new) {
            push_line(&mut out, r);
            delta += 1;
        }
    }
    Some((out, delta))
}

fn push_line(out: &mut String, r: &Rec) {
    let _ = write!(out, "{}\t{}\t", r.path, r.blob);
    match r.stamp {
        Some(Stamp(m, z, i)) => {
            let _ = write!(out, "{m}\t{z}\t{i}");
        }
        None => out.push_str("-\t-\t-"),
    }
    out.push_str(if r.dirty { "\t1\n" } else { "\t0\n" });
}

fn parse_line(line: &str) -> Option<Rec> {
    let f: Vec<&str> = line.split('\t').collect();
    let [path, blob, m, z, i, dirty] = f[..] else {
        return None;
    };
    let stamp = match (m.parse(), z.parse(), i.parse()) {
        (Ok(m), Ok(z), Ok(i)) => Some(Stamp(m, z, i)),
        _ => None,
    };
    Some(Rec {
        path: path.to_string(),
        blob: blob.to_string(),
        stamp,
        dirty: dirty == "1",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(path: &str, blob: &str, dirty: bool) -> Rec {
        Rec {
            path: path.into(),
            blob: blob.into(),
            stamp: (!dirty).then_some(Stamp(1, 2, 3)),
            dirty,
        }
    }

    fn path(code: &str, file: &str) -> String {
        format!(".orchestration/tasks/{code}/{file}")
    }

    #[test]
    fn a_patched_table_reads_back_as_the_whole_table_would() {
        let dir = std::env::temp_dir().join(format!("orch-table-{}", std::process::id()));
        let table = Table::at(dir.clone());
        let mut files = BTreeMap::new();
        for (i, b) in ["1", "2", "3", "4"].iter().enumerate() {
            let p = path(&format!("T-{i}"), "TASK.md");
            files.insert(p.clone(), rec(&p, b, false));
        }
        table.write_all(&files).unwrap();
        assert_eq!(table.all().unwrap(), files);
        let (a, b, c) = (
            path("T-0", "TASK.md"),
            path("T-1", "TASK.md"),
            path("T-9", "PLAN.md"),
        );
        let want: BTreeSet<String> = [b.clone(), c.clone()].into();
        assert_eq!(table.get(&want).unwrap().keys().collect::<Vec<_>>(), [&b]);

        let updates: BTreeMap<String, Option<Rec>> = [
            (a.clone(), None),
            (b.clone(), Some(rec(&b, "20", true))),
            (c.clone(), Some(rec(&c, "9", false))),
        ]
        .into();
        assert_eq!(table.patch(&updates).unwrap(), Some(0));
        files.remove(&a);
        files.insert(b.clone(), rec(&b, "20", true));
        files.insert(c.clone(), rec(&c, "9", false));
        assert_eq!(table.all().unwrap(), files);

        // A shard gone or damaged: no table.
        std::fs::write(table.shard(shard_of(&b)), "a\tb\n").unwrap();
        assert!(table.all().is_none());
        assert!(table.get(&[b.clone()].into()).is_none());
        std::fs::remove_file(table.shard(shard_of(&b))).unwrap();
        assert!(table.all().is_none());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_task_folder_keeps_to_one_shard() {
        assert_eq!(
            shard_of(&path("T-1", "TASK.md")),
            shard_of(&path("T-1", "events.jsonl"))
        );
        let spread: BTreeSet<usize> = (0..1000)
            .map(|i| shard_of(&path(&format!("T-{i}"), "TASK.md")))
            .collect();
        assert!(spread.len() > SHARDS / 2, "{spread:?}");
    }
}
