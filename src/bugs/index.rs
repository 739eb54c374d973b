//! The bug index: a cache under `<git dir>/orchestration/`, never committed, rebuilt from the
//! bug files whenever it does not match them. It answers the two questions a report asks —
//! which bugs have this exact fingerprint, which are near — without reading every bug:
//! a sorted fingerprint table and sorted LSH band tables are binary-searched in place, and
//! only the candidates' features are read and scored.
//!
//! `bugs.idx` holds what was there at the last build; bugs reported since are appended to
//! `bugs.delta` (scanned whole, kept small); `bugs.key` names the state of the bug files both
//! describe (the bugs tree at HEAD), so a merge or checkout that brings other bugs is noticed.

use super::normalize::fnv64;
use super::similar::{self, band_keys, signature, Features, Part, BANDS};
use crate::{Error, Result};
use std::collections::BTreeSet;
use std::fs::File;
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"ORCHBIX1";
const HEADER: u64 = 64;
const ID_REC: u64 = 28;
const KEY_REC: u64 = 12;
const FEAT_REC: u64 = 10;
/// More candidates than this from the bands means the query is unspecific; the best-sharing
/// ones are scored and the rest skipped, to keep a report fast.
const MAX_CANDIDATES: usize = 500;
/// Past this many appended bugs the next open rebuilds the main file.
pub const MAX_DELTA: usize = 2000;

/// What the index keeps of one bug.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub id: String,
    pub fingerprint: String,
    pub features: Features,
}

pub struct Index {
    dir: PathBuf,
    file: Option<File>,
    n: u64,
    off_ids: u64,
    off_fp: u64,
    off_band: u64,
    off_foff: u64,
    off_feat: u64,
    delta: Vec<Entry>,
}

fn paths(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    (
        dir.join("bugs.idx"),
        dir.join("bugs.delta"),
        dir.join("bugs.key"),
    )
}

fn io(path: &Path, e: std::io::Error) -> Error {
    Error::io(path, e).with_hint("the bug index is a cache: delete it and run the command again")
}

/// Cache files are replaced whole (write aside, rename), so a crash leaves the old or the new.
fn write_cache(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(|e| io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| io(path, e))
}

fn fp_bytes(hex: &str) -> [u8; 16] {
    let mut out = [0u8; 16];
    for (i, b) in out.iter_mut().enumerate() {
        *b = hex
            .get(i * 2..i * 2 + 2)
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .unwrap_or(0);
    }
    out
}

fn fp_key(hex: &str) -> u64 {
    fnv64(hex.as_bytes(), 11)
}

/// Writes a fresh index of `entries`, described by `key`, and empties the delta.
pub fn build(dir: &Path, key: &str, entries: &[Entry]) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let n = entries.len() as u64;
    let mut ids = Vec::with_capacity(entries.len() * ID_REC as usize);
    let mut fps: Vec<(u64, u32)> = Vec::with_capacity(entries.len());
    let mut bands: Vec<(u64, u32)> = Vec::with_capacity(entries.len() * BANDS);
    let mut foff: Vec<u32> = Vec::with_capacity(entries.len() + 1);
    let mut feat: Vec<u8> = Vec::new();
    let mut count = 0u32;
    for (i, e) in entries.iter().enumerate() {
        let mut id = [b' '; 12];
        for (d, s) in id.iter_mut().zip(e.id.bytes()) {
            *d = s;
        }
        ids.extend_from_slice(&id);
        ids.extend_from_slice(&fp_bytes(&e.fingerprint));
        fps.push((fp_key(&e.fingerprint), i as u32));
        for k in band_keys(&signature(&e.features)) {
            bands.push((k, i as u32));
        }
        foff.push(count);
        for &(h, w, p) in &e.features.0 {
            feat.extend_from_slice(&h.to_le_bytes());
            feat.push(w.min(255) as u8);
            feat.push(p as u8);
            count += 1;
        }
    }
    foff.push(count);
    fps.sort_unstable();
    bands.sort_unstable();
    let off_ids = HEADER + key.len() as u64;
    let off_fp = off_ids + n * ID_REC;
    let off_band = off_fp + n * KEY_REC;
    let off_foff = off_band + bands.len() as u64 * KEY_REC;
    let off_feat = off_foff + foff.len() as u64 * 4;
    let mut out = Vec::with_capacity((off_feat as usize) + feat.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(n as u32).to_le_bytes());
    out.extend_from_slice(&(BANDS as u32).to_le_bytes());
    for o in [off_ids, off_fp, off_band, off_foff, off_feat] {
        out.extend_from_slice(&o.to_le_bytes());
    }
    out.extend_from_slice(&(key.len() as u32).to_le_bytes());
    out.resize(HEADER as usize, 0);
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(&ids);
    for (k, i) in fps.iter().chain(bands.iter()) {
        out.extend_from_slice(&k.to_le_bytes());
        out.extend_from_slice(&i.to_le_bytes());
    }
    for o in &foff {
        out.extend_from_slice(&o.to_le_bytes());
    }
    out.extend_from_slice(&feat);
    let (idx, delta, keyf) = paths(dir);
    write_cache(&idx, &out)?;
    write_cache(&delta, b"")?;
    write_cache(&keyf, key.as_bytes())?;
    Ok(())
}

/// The index, if it exists, is readable and describes `key`; `None` means: rebuild it.
pub fn open(dir: &Path, key: &str) -> Result<Option<Index>> {
    let (idx, delta, keyf) = paths(dir);
    match std::fs::read_to_string(&keyf) {
        Ok(k) if k == key => {}
        _ => return Ok(None),
    }
    let file = match File::open(&idx) {
        Ok(f) => f,
        Err(_) => return Ok(None),
    };
    let mut h = [0u8; HEADER as usize];
    if read_at(&file, 0, &mut h).is_err() || &h[..8] != MAGIC {
        return Ok(None);
    }
    let u32_at = |o: usize| u32::from_le_bytes(h[o..o + 4].try_into().unwrap()) as u64;
    let u64_at = |o: usize| u64::from_le_bytes(h[o..o + 8].try_into().unwrap());
    if u32_at(12) as usize != BANDS {
        return Ok(None);
    }
    let delta_text = std::fs::read_to_string(&delta).unwrap_or_default();
    let Some(delta) = parse_delta(&delta_text) else {
        return Ok(None);
    };
    if delta.len() > MAX_DELTA {
        return Ok(None);
    }
    Ok(Some(Index {
        dir: dir.to_path_buf(),
        file: Some(file),
        n: u32_at(8),
        off_ids: u64_at(16),
        off_fp: u64_at(24),
        off_band: u64_at(32),
        off_foff: u64_at(40),
        off_feat: u64_at(48),
        delta,
    }))
}

#[cfg(unix)]
fn read_at(f: &File, off: u64, buf: &mut [u8]) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    f.read_exact_at(buf, off)
}

#[cfg(not(unix))]
fn read_at(f: &File, off: u64, buf: &mut [u8]) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = f.try_clone()?;
    f.seek(SeekFrom::Start(off))?;
    f.read_exact(buf)
}

fn delta_line(e: &Entry) -> String {
    let feats: Vec<String> = e
        .features
        .0
        .iter()
        .map(|(h, w, p)| format!("{h:x}:{w}:{}", *p as u8))
        .collect();
    format!("{}\t{}\t{}\n", e.id, e.fingerprint, feats.join(","))
}

fn parse_delta(text: &str) -> Option<Vec<Entry>> {
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        let mut cols = line.split('\t');
        let id = cols.next()?.to_string();
        let fingerprint = cols.next()?.to_string();
        let mut features = Vec::new();
        for f in cols
            .next()
            .unwrap_or("")
            .split(',')
            .filter(|f| !f.is_empty())
        {
            let mut p = f.split(':');
            let h = u64::from_str_radix(p.next()?, 16).ok()?;
            let w: u32 = p.next()?.parse().ok()?;
            let part = Part::from_u8(p.next()?.parse().ok()?)?;
            features.push((h, w, part));
        }
        out.push(Entry {
            id,
            fingerprint,
            features: Features(features),
        });
    }
    Some(out)
}

impl Index {
    pub fn len(&self) -> usize {
        self.n as usize + self.delta.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn read(&self, off: u64, len: usize) -> Result<Vec<u8>> {
        let mut buf = vec![0u8; len];
        if let Some(f) = &self.file {
            read_at(f, off, &mut buf).map_err(|e| io(&self.dir.join("bugs.idx"), e))?;
        }
        Ok(buf)
    }

    /// The slots whose key in the sorted table at `off` (`count` records) equals `key`.
    fn lookup(&self, off: u64, count: u64, key: u64) -> Result<Vec<u32>> {
        let (mut lo, mut hi) = (0u64, count);
        while lo < hi {
            let mid = (lo + hi) / 2;
            let r = self.read(off + mid * KEY_REC, 8)?;
            if u64::from_le_bytes(r.try_into().unwrap()) < key {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let mut out = Vec::new();
        let mut i = lo;
        while i < count {
            let r = self.read(off + i * KEY_REC, KEY_REC as usize)?;
            if u64::from_le_bytes(r[..8].try_into().unwrap()) != key {
                break;
            }
            out.push(u32::from_le_bytes(r[8..].try_into().unwrap()));
            i += 1;
            if out.len() > MAX_CANDIDATES {
                break;
            }
        }
        Ok(out)
    }

    fn id_and_fp(&self, slot: u32) -> Result<(String, String)> {
        let r = self.read(self.off_ids + slot as u64 * ID_REC, ID_REC as usize)?;
        let id = String::from_utf8_lossy(&r[..12]).trim().to_string();
        let fp: String = r[12..].iter().map(|b| format!("{b:02x}")).collect();
        Ok((id, fp))
    }

    fn features_of(&self, slot: u32) -> Result<Features> {
        let o = self.read(self.off_foff + slot as u64 * 4, 8)?;
        let start = u32::from_le_bytes(o[..4].try_into().unwrap()) as u64;
        let end = u32::from_le_bytes(o[4..].try_into().unwrap()) as u64;
        let raw = self.read(
            self.off_feat + start * FEAT_REC,
            ((end - start) * FEAT_REC) as usize,
        )?;
        let mut v = Vec::with_capacity((end - start) as usize);
        for c in raw.chunks_exact(FEAT_REC as usize) {
            let h = u64::from_le_bytes(c[..8].try_into().unwrap());
            if let Some(p) = Part::from_u8(c[9]) {
                v.push((h, c[8] as u32, p));
            }
        }
        Ok(Features(v))
    }

    /// Ids of the bugs with exactly this fingerprint.
    pub fn exact(&self, fingerprint: &str) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for slot in self.lookup(self.off_fp, self.n, fp_key(fingerprint))? {
            let (id, fp) = self.id_and_fp(slot)?;
            if fp == fingerprint {
                out.push(id);
            }
        }
        out.extend(
            self.delta
                .iter()
                .filter(|e| e.fingerprint == fingerprint)
                .map(|e| e.id.clone()),
        );
        Ok(out)
    }

    /// The bugs most like `features`, best first, at least `min` similar: LSH candidates from
    /// the bands, each scored exactly.
    pub fn nearest(&self, features: &Features, min: f64, k: usize) -> Result<Vec<(String, f64)>> {
        let keys = band_keys(&signature(features));
        let mut hits: std::collections::HashMap<u32, u32> = std::collections::HashMap::new();
        for key in keys {
            for slot in self.lookup(self.off_band, self.n * BANDS as u64, key)? {
                *hits.entry(slot).or_default() += 1;
            }
        }
        let mut cands: Vec<(u32, u32)> = hits.into_iter().collect();
        cands.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        cands.truncate(MAX_CANDIDATES);
        let mut scored = Vec::new();
        for (slot, _) in cands {
            let s = similar::similarity(features, &self.features_of(slot)?);
            if s >= min {
                scored.push((self.id_and_fp(slot)?.0, s));
            }
        }
        for e in &self.delta {
            let s = similar::similarity(features, &e.features);
            if s >= min {
                scored.push((e.id.clone(), s));
            }
        }
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut seen = BTreeSet::new();
        scored.retain(|(id, _)| seen.insert(id.clone()));
        scored.truncate(k);
        Ok(scored)
    }

    /// Records a bug added since the build; `key` is the state the files are now in.
    pub fn append(&mut self, entry: Entry, key: &str) -> Result<()> {
        let (_, delta, keyf) = paths(&self.dir);
        let mut text = std::fs::read_to_string(&delta).unwrap_or_default();
        text.push_str(&delta_line(&entry));
        write_cache(&delta, text.as_bytes())?;
        write_cache(&keyf, key.as_bytes())?;
        self.delta.push(entry);
        Ok(())
    }

    /// Notes that the files changed in ways the index does not depend on (a bug's status).
    pub fn rekey(&self, key: &str) -> Result<()> {
        write_cache(&paths(&self.dir).2, key.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::super::analyze;
    use super::*;

    fn entry(id: &str, text: &str) -> Entry {
        let a = analyze(text);
        Entry {
            id: id.into(),
            fingerprint: a.fingerprint,
            features: a.features,
        }
    }

    #[test]
    fn finds_exact_and_near_matches_and_survives_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let a = entry(
            "BUG-0000000A",
            "KeyError: 'port'\n  File \"/x/t1000.py\", line 146, in main\n",
        );
        let b = entry(
            "BUG-0000000B",
            "panic: runtime error: index out of range\ngoroutine 1 [running]:\nmain.g()\n\t/x/y.go:3 +0x1\n",
        );
        build(dir.path(), "k1", &[a.clone(), b.clone()]).unwrap();
        assert!(
            open(dir.path(), "other").unwrap().is_none(),
            "a stale key rebuilds"
        );
        let mut idx = open(dir.path(), "k1").unwrap().unwrap();
        assert_eq!(idx.exact(&a.fingerprint).unwrap(), vec!["BUG-0000000A"]);
        let near = entry("q", "KeyError: 'port'\n  File \"/x/t1000.py\", line 20, in run\n  File \"/x/t1000.py\", line 150, in main\n");
        let got = idx.nearest(&near.features, 0.3, 3).unwrap();
        assert_eq!(got[0].0, "BUG-0000000A");
        let c = entry(
            "BUG-0000000C",
            "TypeError: x is not a function\n    at f (a.js:1:2)\n",
        );
        idx.append(c.clone(), "k2").unwrap();
        let idx = open(dir.path(), "k2").unwrap().unwrap();
        assert_eq!(idx.len(), 3);
        assert_eq!(idx.exact(&c.fingerprint).unwrap(), vec!["BUG-0000000C"]);
    }
}
