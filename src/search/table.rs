//! `files.tsv`: every indexed file with the blob id of the content indexed and its stat data.
//!
//! The first line is the index generation the table belongs to; then one line per file:
//! `path \t blob \t mtime_ns \t size \t inode \t dirty` (`-` for stat data too fresh to trust).
//! On ten thousand tasks the table has fifty thousand lines, so a search that found a handful
//! of changed files neither parses nor rebuilds it whole: [`Table::get`] picks out the lines it
//! needs and [`Table::patched`] copies every other line as it was.

use super::fresh::{Rec, Stamp};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// The table as read, checked against the generation the index's state names.
pub struct Table {
    text: String,
    /// Where the records start (after the generation line).
    body: usize,
}

impl Table {
    /// `None` when the text is no table of `generation`: the caller rebuilds.
    pub fn parse(text: String, generation: u64) -> Option<Table> {
        let end = text.find('\n')?;
        if text[..end].parse::<u64>().ok()? != generation {
            return None;
        }
        Some(Table {
            body: end + 1,
            text,
        })
    }

    fn lines(&self) -> impl Iterator<Item = &str> {
        self.text[self.body..].lines()
    }

    /// Every record; `None` when a line is malformed.
    pub fn all(&self) -> Option<BTreeMap<String, Rec>> {
        self.lines()
            .map(|l| parse_line(l).map(|r| (r.path.clone(), r)))
            .collect()
    }

    /// The records of `paths` that the table has; `None` when one of their lines is malformed.
    pub fn get(&self, paths: &BTreeSet<String>) -> Option<BTreeMap<String, Rec>> {
        let mut out = BTreeMap::new();
        for line in self.lines() {
            let path = line.split('\t').next().unwrap_or_default();
            if paths.contains(path) {
                let r = parse_line(line)?;
                out.insert(r.path.clone(), r);
            }
        }
        Some(out)
    }

    /// The table of `generation` with `updates` applied (`None`: the file is no longer indexed),
    /// every other line copied as it was. Also returns how many records it holds.
    pub fn patched(
        &self,
        generation: u64,
        updates: &BTreeMap<String, Option<Rec>>,
    ) -> (String, usize) {
        let mut out = String::with_capacity(self.text.len() + updates.len() * 100);
        let _ = writeln!(out, "{generation}");
        let mut seen = BTreeSet::new();
        let mut count = 0;
        for line in self.lines() {
            let path = line.split('\t').next().unwrap_or_default();
            match updates.get(path) {
                None => {
                    out.push_str(line);
                    out.push('\n');
                    count += 1;
                }
                Some(new) => {
                    seen.insert(path);
                    if let Some(r) = new {
                        push_line(&mut out, r);
                        count += 1;
                    }
                }
            }
        }
        for (path, new) in updates {
            if let (false, Some(r)) = (seen.contains(path.as_str()), new) {
                push_line(&mut out, r);
                count += 1;
            }
        }
        (out, count)
    }
}

/// The whole table of `generation`.
pub fn render(generation: u64, files: &BTreeMap<String, Rec>) -> String {
    let mut text = String::with_capacity(files.len() * 90);
    let _ = writeln!(text, "{generation}");
    for r in files.values() {
        push_line(&mut text, r);
    }
    text
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

    #[test]
    fn a_patched_table_reads_back_as_the_whole_table_would() {
        let mut files = BTreeMap::new();
        for (p, b) in [("a", "1"), ("b", "2"), ("c", "3")] {
            files.insert(p.to_string(), rec(p, b, false));
        }
        let table = Table::parse(render(4, &files), 4).unwrap();
        assert!(Table::parse(render(4, &files), 5).is_none(), "generation");
        let want: BTreeSet<String> = ["b".to_string(), "z".to_string()].into();
        assert_eq!(table.get(&want).unwrap().keys().collect::<Vec<_>>(), ["b"]);

        let updates: BTreeMap<String, Option<Rec>> = [
            ("a".to_string(), None),
            ("b".to_string(), Some(rec("b", "20", true))),
            ("d".to_string(), Some(rec("d", "4", false))),
        ]
        .into();
        let (text, count) = table.patched(5, &updates);
        files.remove("a");
        files.insert("b".into(), rec("b", "20", true));
        files.insert("d".into(), rec("d", "4", false));
        assert_eq!(count, 3);
        assert_eq!(Table::parse(text, 5).unwrap().all().unwrap(), files);
    }

    #[test]
    fn a_malformed_line_is_no_table() {
        let table = Table::parse("1\na\tb\n".into(), 1).unwrap();
        assert!(table.all().is_none());
        assert!(table.get(&["a".to_string()].into()).is_none());
    }
}
