//! Rename detection as `git diff` does it by default (`diff.renames=true`, no copies, 50%
//! similarity, `diff.renameLimit` 1000), ported from git's `diffcore-rename.c` and
//! `diffcore-delta.c`. Deleted files are the sources, added files the destinations:
//! 1. exact renames: the same blob (and for symlinks and submodules the same mode), a source
//!    with the same file name preferred;
//! 2. files whose name is unique among the remaining sources and among the remaining
//!    destinations are paired by name when they are at least 75% similar;
//! 3. unless there are more than 1000 × 1000 candidate pairs, every remaining pair is scored,
//!    and the best (ties: same file name first, then git's order) at least 50% similar become
//!    renames.

use crate::Result;
use gix::objs::tree::EntryKind;
use std::collections::HashMap;

/// git's similarity scale: 60000 is identical.
pub const MAX_SCORE: u32 = 60000;
const DEFAULT_RENAME_SCORE: u32 = 30000;
const RENAME_LIMIT: usize = 1000;
/// Candidates kept per destination in the full comparison.
const NUM_CANDIDATE_PER_DST: usize = 4;

/// A file on one side of a candidate pair.
pub struct File<'p> {
    pub path: &'p [u8],
    pub kind: EntryKind,
    pub id: gix::ObjectId,
}

/// A rename found: destination and source indices, and the similarity (`MAX_SCORE` = same).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rename {
    pub dst: usize,
    pub src: usize,
    pub score: u32,
}

fn is_reg(k: EntryKind) -> bool {
    matches!(k, EntryKind::Blob | EntryKind::BlobExecutable)
}

/// Whether two paths end in the same file name (`basename_same`).
fn basename_same(a: &[u8], b: &[u8]) -> bool {
    basename(a) == basename(b)
}

fn basename(p: &[u8]) -> &[u8] {
    p.iter()
        .rposition(|&c| c == b'/')
        .map_or(p, |i| &p[i + 1..])
}

/// The content of a file and what similarity needs of it, read once.
struct Loaded {
    size: usize,
    /// Span hashes and their byte counts, sorted by hash (`hash_chars`).
    spans: Option<Vec<(u32, u32)>>,
    data: Option<Vec<u8>>,
}

/// Files' contents for the similarity estimates, read on first use.
struct Contents<F> {
    read: F,
    srcs: Vec<Option<Loaded>>,
    dsts: Vec<Option<Loaded>>,
}

impl<F: FnMut(&gix::oid) -> Result<Vec<u8>>> Contents<F> {
    fn get(&mut self, dst: bool, i: usize, id: &gix::oid) -> Result<&mut Loaded> {
        let slot = if dst {
            &mut self.dsts[i]
        } else {
            &mut self.srcs[i]
        };
        if slot.is_none() {
            let data = (self.read)(id)?;
            *slot = Some(Loaded {
                size: data.len(),
                spans: None,
                data: Some(data),
            });
        }
        Ok(slot.as_mut().expect("just loaded"))
    }
}

impl Loaded {
    fn spans(&mut self) -> &[(u32, u32)] {
        if self.spans.is_none() {
            let data = self.data.take().unwrap_or_default();
            self.spans = Some(hash_chars(&data));
        }
        self.spans.as_deref().expect("just computed")
    }
}

const HASHBASE: u32 = 107927;

/// `hash_chars`: the content cut into chunks ending at a newline or after 64 bytes, each
/// hashed; per hash, the bytes in such chunks. A CR before an LF is ignored in text.
fn hash_chars(buf: &[u8]) -> Vec<(u32, u32)> {
    let is_text = !super::diff::is_binary(buf);
    let mut counts: HashMap<u32, u32> = HashMap::new();
    let (mut n, mut accum1, mut accum2) = (0u32, 0u32, 0u32);
    for (i, &c) in buf.iter().enumerate() {
        if is_text && c == b'\r' && buf.get(i + 1) == Some(&b'\n') {
            continue;
        }
        let old_1 = accum1;
        accum1 = (accum1 << 7) ^ (accum2 >> 25);
        accum2 = (accum2 << 7) ^ (old_1 >> 25);
        accum1 = accum1.wrapping_add(u32::from(c));
        n += 1;
        if n < 64 && c != b'\n' {
            continue;
        }
        let h = accum1.wrapping_add(accum2.wrapping_mul(0x61)) % HASHBASE;
        *counts.entry(h).or_default() += n;
        n = 0;
        accum1 = 0;
        accum2 = 0;
    }
    if n > 0 {
        let h = accum1.wrapping_add(accum2.wrapping_mul(0x61)) % HASHBASE;
        *counts.entry(h).or_default() += n;
    }
    let mut v: Vec<(u32, u32)> = counts.into_iter().collect();
    v.sort_unstable();
    v
}

/// `diffcore_count_changes`' copied bytes: per span hash, what the source has that the
/// destination has too.
fn src_copied(src: &[(u32, u32)], dst: &[(u32, u32)]) -> u64 {
    let (mut i, mut j, mut sc) = (0, 0, 0u64);
    while i < src.len() && j < dst.len() {
        match src[i].0.cmp(&dst[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                sc += u64::from(src[i].1.min(dst[j].1));
                i += 1;
                j += 1;
            }
        }
    }
    sc
}

/// `estimate_similarity`: how much of the larger file's size is material found in the other
/// (0 for anything but regular files, or sizes too different to reach `minimum_score`).
fn estimate<F: FnMut(&gix::oid) -> Result<Vec<u8>>>(
    c: &mut Contents<F>,
    (si, src): (usize, &File<'_>),
    (di, dst): (usize, &File<'_>),
    minimum_score: u32,
) -> Result<u32> {
    if !is_reg(src.kind) || !is_reg(dst.kind) {
        return Ok(0);
    }
    let ssize = c.get(false, si, &src.id)?.size;
    let dsize = c.get(true, di, &dst.id)?.size;
    let (max_size, base_size) = (ssize.max(dsize), ssize.min(dsize));
    let delta_size = max_size - base_size;
    let max = f64::from(MAX_SCORE);
    if max_size as f64 * (max - f64::from(minimum_score)) < delta_size as f64 * max {
        return Ok(0);
    }
    if dsize == 0 {
        return Ok(0);
    }
    let s = c.get(false, si, &src.id)?.spans().to_vec();
    let copied = src_copied(&s, c.get(true, di, &dst.id)?.spans());
    Ok((copied as f64 * max / max_size as f64) as u32)
}

/// A scored candidate pair (`struct diff_score`); `dst == None` is an empty slot.
#[derive(Clone, Copy)]
struct Score {
    src: usize,
    dst: Option<usize>,
    score: u32,
    name_score: bool,
}

/// `score_compare`: better pairs first, empty slots last.
fn score_compare(a: &Score, b: &Score) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a.dst, b.dst) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        _ if a.score == b.score => b.name_score.cmp(&a.name_score),
        _ => b.score.cmp(&a.score),
    }
}

/// `record_if_better`: replaces the worst of a destination's candidates (the first of the
/// worst) when `o` is better.
fn record_if_better(m: &mut [Score], o: Score) {
    let mut worst = 0;
    for i in 1..m.len() {
        if score_compare(&m[i], &m[worst]).is_gt() {
            worst = i;
        }
    }
    if score_compare(&m[worst], &o).is_gt() {
        m[worst] = o;
    }
}

/// The renames among `srcs` (deleted files) and `dsts` (added ones), both in git's path
/// order. `read` gives a blob's content.
pub fn detect(
    srcs: &[File<'_>],
    dsts: &[File<'_>],
    read: impl FnMut(&gix::oid) -> Result<Vec<u8>>,
) -> Result<Vec<Rename>> {
    let mut out = Vec::new();
    if srcs.is_empty() || dsts.is_empty() {
        return Ok(out);
    }
    let mut used = vec![false; srcs.len()];
    let mut renamed = vec![false; dsts.len()];
    exact(srcs, dsts, &mut used, &mut renamed, &mut out);
    let mut c = Contents {
        read,
        srcs: (0..srcs.len()).map(|_| None).collect(),
        dsts: (0..dsts.len()).map(|_| None).collect(),
    };
    by_basename(srcs, dsts, &mut used, &mut renamed, &mut out, &mut c)?;
    let left_src: Vec<usize> = (0..srcs.len()).filter(|&i| !used[i]).collect();
    let left_dst: Vec<usize> = (0..dsts.len()).filter(|&i| !renamed[i]).collect();
    if left_src.is_empty() || left_dst.is_empty() {
        return Ok(out);
    }
    // Beyond the limit git keeps only the renames found so far (and warns).
    if left_src.len().saturating_mul(left_dst.len()) > RENAME_LIMIT * RENAME_LIMIT {
        return Ok(out);
    }
    let mut mx = Vec::with_capacity(left_dst.len() * NUM_CANDIDATE_PER_DST);
    for &di in &left_dst {
        let mut m = [Score {
            src: 0,
            dst: None,
            score: 0,
            name_score: false,
        }; NUM_CANDIDATE_PER_DST];
        for &si in &left_src {
            let score = estimate(
                &mut c,
                (si, &srcs[si]),
                (di, &dsts[di]),
                DEFAULT_RENAME_SCORE,
            )?;
            let name_score = basename_same(srcs[si].path, dsts[di].path);
            record_if_better(
                &mut m,
                Score {
                    src: si,
                    dst: Some(di),
                    score,
                    name_score,
                },
            );
        }
        mx.extend_from_slice(&m);
    }
    // Stable, as git's STABLE_QSORT: ties keep destination order, then slot order.
    mx.sort_by(score_compare);
    for s in mx {
        let Some(di) = s.dst else { break };
        if s.score < DEFAULT_RENAME_SCORE {
            break;
        }
        if renamed[di] || used[s.src] {
            continue;
        }
        renamed[di] = true;
        used[s.src] = true;
        out.push(Rename {
            dst: di,
            src: s.src,
            score: s.score,
        });
    }
    Ok(out)
}

/// `find_exact_renames`: per destination, the sources with the same blob, in order; the
/// first with the same file name wins, else the first (among at most 100 looked at).
fn exact(
    srcs: &[File<'_>],
    dsts: &[File<'_>],
    used: &mut [bool],
    renamed: &mut [bool],
    out: &mut Vec<Rename>,
) {
    let mut by_id: HashMap<&gix::oid, Vec<usize>> = HashMap::new();
    for (i, s) in srcs.iter().enumerate() {
        by_id.entry(s.id.as_ref()).or_default().push(i);
    }
    for (di, d) in dsts.iter().enumerate() {
        let Some(cands) = by_id.get(d.id.as_ref()) else {
            continue;
        };
        let mut best: Option<(usize, u8)> = None;
        let mut budget = 100;
        for &si in cands {
            let s = &srcs[si];
            if (!is_reg(s.kind) || !is_reg(d.kind)) && s.kind != d.kind {
                continue;
            }
            if used[si] {
                continue;
            }
            let score = 1 + u8::from(basename_same(s.path, d.path));
            if best.is_none_or(|(_, b)| score > b) {
                best = Some((si, score));
                if score == 2 {
                    break;
                }
            }
            budget -= 1;
            if budget == 0 {
                break;
            }
        }
        if let Some((si, _)) = best {
            used[si] = true;
            renamed[di] = true;
            out.push(Rename {
                dst: di,
                src: si,
                score: MAX_SCORE,
            });
        }
    }
}

/// `find_basename_matches`: a source and a destination whose file name is unique on both
/// sides (among those left) are a rename when at least 75% similar.
fn by_basename<F: FnMut(&gix::oid) -> Result<Vec<u8>>>(
    srcs: &[File<'_>],
    dsts: &[File<'_>],
    used: &mut [bool],
    renamed: &mut [bool],
    out: &mut Vec<Rename>,
    c: &mut Contents<F>,
) -> Result<()> {
    let min = DEFAULT_RENAME_SCORE + (MAX_SCORE - DEFAULT_RENAME_SCORE) / 2;
    // basename → index if unique, else None.
    let mut sources: HashMap<&[u8], Option<usize>> = HashMap::new();
    for (i, s) in srcs.iter().enumerate().filter(|(i, _)| !used[*i]) {
        sources
            .entry(basename(s.path))
            .and_modify(|e| *e = None)
            .or_insert(Some(i));
    }
    let mut dests: HashMap<&[u8], Option<usize>> = HashMap::new();
    for (i, d) in dsts.iter().enumerate().filter(|(i, _)| !renamed[*i]) {
        dests
            .entry(basename(d.path))
            .and_modify(|e| *e = None)
            .or_insert(Some(i));
    }
    for si in 0..srcs.len() {
        if used[si] {
            continue;
        }
        let base = basename(srcs[si].path);
        let (Some(Some(_)), Some(Some(di))) = (sources.get(base), dests.get(base).copied()) else {
            continue;
        };
        if renamed[di] {
            continue;
        }
        let score = estimate(c, (si, &srcs[si]), (di, &dsts[di]), min)?;
        if score < min {
            continue;
        }
        used[si] = true;
        renamed[di] = true;
        out.push(Rename {
            dst: di,
            src: si,
            score,
        });
    }
    Ok(())
}

/// A rename as git prints it in `--stat` and `--numstat`: `dir/{old => new}.rs`.
pub fn pprint(a: &str, b: &str) -> String {
    let (ab, bb) = (a.as_bytes(), b.as_bytes());
    // Index `len` stands for the terminating NUL, which both have.
    let at = |s: &[u8], i: usize| s.get(i).copied().unwrap_or(0);
    let mut pfx = 0;
    let mut i = 0;
    while i < ab.len() && i < bb.len() && ab[i] == bb[i] {
        if ab[i] == b'/' {
            pfx = i + 1;
        }
        i += 1;
    }
    let adjust = usize::from(pfx > 0);
    let (mut oa, mut ob) = (ab.len() as isize, bb.len() as isize);
    let mut sfx = 0;
    let low = pfx as isize - adjust as isize;
    while low <= oa && low <= ob && at(ab, oa as usize) == at(bb, ob as usize) {
        if at(ab, oa as usize) == b'/' {
            sfx = ab.len() - oa as usize;
        }
        oa -= 1;
        ob -= 1;
    }
    let a_mid = ab.len().saturating_sub(pfx + sfx);
    let b_mid = bb.len().saturating_sub(pfx + sfx);
    let mut s = String::new();
    let braces = pfx + sfx > 0;
    if braces {
        s.push_str(&a[..pfx]);
        s.push('{');
    }
    s.push_str(&String::from_utf8_lossy(&ab[pfx..pfx + a_mid]));
    s.push_str(" => ");
    s.push_str(&String::from_utf8_lossy(&bb[pfx..pfx + b_mid]));
    if braces {
        s.push('}');
        s.push_str(&a[ab.len() - sfx..]);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renames_print_as_git_prints_them() {
        assert_eq!(pprint("a.rs", "b.rs"), "a.rs => b.rs");
        assert_eq!(pprint("src/a.rs", "src/b.rs"), "src/{a.rs => b.rs}");
        assert_eq!(
            pprint("old/name.txt", "new/name.txt"),
            "{old => new}/name.txt"
        );
        assert_eq!(pprint("src/x/m.rs", "src/y/m.rs"), "src/{x => y}/m.rs");
        assert_eq!(pprint("a/b/c", "a/c"), "a/{b => }/c");
        assert_eq!(
            pprint("src/main.rs", "src/bin/main.rs"),
            "src/{ => bin}/main.rs"
        );
    }

    #[test]
    fn span_hashes_ignore_cr_before_lf_in_text() {
        assert_eq!(hash_chars(b"a\r\nb\r\n"), hash_chars(b"a\nb\n"));
        assert_ne!(hash_chars(b"a\r\n\0"), hash_chars(b"a\n\0"));
        // 64-byte chunks without a newline.
        let long = vec![b'x'; 130];
        let spans = hash_chars(&long);
        assert_eq!(spans.iter().map(|s| s.1).sum::<u32>(), 130);
    }
}
