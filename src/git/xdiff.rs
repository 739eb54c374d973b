//! git's default line diff, ported from its xdiff (`xprepare.c`, `xdiffi.c`, `xemit.c`), so
//! that counts and hunks are git's own and not merely a diff of the same size.
//!
//! What git does, and this module with it, for `git diff` without options:
//! 1. Lines (records) keep their terminators; equal lines get one class id.
//! 2. `trim_ends`: the lines shared at the start, then those shared at the end, are set aside.
//! 3. `cleanup_records`: a line that does not occur in the other file at all is changed
//!    without further thought; a line that occurs very often there (at least about the square
//!    root of that file's length) is changed too when it sits in a run of such lines. Only the
//!    rest goes into the diff proper, so a script can be longer than the shortest one.
//! 4. Myers' divide and conquer (`recs_cmp`, `split`), with xdiff's cut-offs: a long snake
//!    found after 256 steps is taken as the split, and past a cost of about the square root of
//!    the input the furthest-reaching diagonal is.
//! 5. `change_compact`: each group of changed lines slides as far as it can, merges with the
//!    groups it meets, lines up with a change on the other side when it can, and otherwise
//!    settles where the indent heuristic (git's default) scores best.
//!
//! Indices are `isize` as in the C, where `-1` and `nrec` are meaningful positions.

/// One side of the comparison.
struct File<'a> {
    /// Lines with their terminators; the last may lack one.
    recs: Vec<&'a [u8]>,
    /// The class of each line: equal lines, equal class.
    class: Vec<u32>,
    /// Changed flags with a sentinel `false` before the first and after the last line, so
    /// that index `i` is at `rchg[i + 1]`.
    rchg: Vec<bool>,
    /// First and last line after the shared ends are set aside.
    dstart: isize,
    dend: isize,
    /// The lines that go into the diff proper: their line numbers and classes.
    rindex: Vec<isize>,
    ha: Vec<u32>,
}

impl File<'_> {
    fn nrec(&self) -> isize {
        self.recs.len() as isize
    }

    fn changed(&self, i: isize) -> bool {
        self.rchg[(i + 1) as usize]
    }

    fn set(&mut self, i: isize, v: bool) {
        self.rchg[(i + 1) as usize] = v;
    }
}

/// Lines with their terminators, as xdiff cuts records.
fn records(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::with_capacity(data.len() / 32 + 1);
    let mut rest = data;
    while !rest.is_empty() {
        let end = memchr(b'\n', rest).map_or(rest.len(), |i| i + 1);
        out.push(&rest[..end]);
        rest = &rest[end..];
    }
    out
}

fn memchr(c: u8, s: &[u8]) -> Option<usize> {
    s.iter().position(|&x| x == c)
}

/// A line's hash for the class table: any good hash does, equal lines are compared in full.
fn hash_line(line: &[u8]) -> u64 {
    let mut h: u64 = line.len() as u64;
    let mut chunks = line.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes(c.try_into().expect("8 bytes"));
        h = (h.rotate_left(5) ^ w).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    for &b in chunks.remainder() {
        h = (h.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    h ^ (h >> 29)
}

/// Equal lines share a class; each class counts its lines in either file (xdiff's
/// classifier, whose counts drive `cleanup_records`).
struct Classes {
    /// Occurrences in the old and the new file, by class.
    len1: Vec<u32>,
    len2: Vec<u32>,
}

fn classify<'a>(a: &[&'a [u8]], b: &[&'a [u8]]) -> (Vec<u32>, Vec<u32>, Classes) {
    let n = a.len() + b.len();
    let size = (n * 2).next_power_of_two().max(16);
    let mask = size - 1;
    // Open addressing: slot → class + 1 (0 is empty).
    let mut table = vec![0u32; size];
    let mut lines: Vec<(&[u8], u64)> = Vec::new();
    let mut classes = Classes {
        len1: Vec::new(),
        len2: Vec::new(),
    };
    let mut assign = |line: &'a [u8], first: bool| -> u32 {
        let h = hash_line(line);
        let mut slot = (h as usize) & mask;
        loop {
            let c = table[slot];
            if c == 0 {
                let id = lines.len() as u32;
                table[slot] = id + 1;
                lines.push((line, h));
                classes.len1.push(0);
                classes.len2.push(0);
                break;
            }
            let (l, lh) = lines[(c - 1) as usize];
            if lh == h && l == line {
                break;
            }
            slot = (slot + 1) & mask;
        }
        let id = table[slot] - 1;
        if first {
            classes.len1[id as usize] += 1;
        } else {
            classes.len2[id as usize] += 1;
        }
        id
    };
    let ca: Vec<u32> = a.iter().map(|l| assign(l, true)).collect();
    let cb: Vec<u32> = b.iter().map(|l| assign(l, false)).collect();
    (ca, cb, classes)
}

fn file<'a>(recs: Vec<&'a [u8]>, class: Vec<u32>) -> File<'a> {
    let n = recs.len();
    File {
        recs,
        class,
        rchg: vec![false; n + 2],
        dstart: 0,
        dend: n as isize - 1,
        rindex: Vec::new(),
        ha: Vec::new(),
    }
}

/// xdiff's integer square root approximation.
fn bogosqrt(mut n: isize) -> isize {
    let mut i = 1;
    while n > 0 {
        i <<= 1;
        n >>= 2;
    }
    i
}

/// `xdl_trim_ends`: the shared first lines, then the shared last lines of what is left.
fn trim_ends(x1: &mut File<'_>, x2: &mut File<'_>) {
    let lim = x1.recs.len().min(x2.recs.len());
    let mut i = 0;
    while i < lim && x1.class[i] == x2.class[i] {
        i += 1;
    }
    x1.dstart = i as isize;
    x2.dstart = i as isize;
    let (n1, n2) = (x1.recs.len(), x2.recs.len());
    let lim = lim - i;
    let mut j = 0;
    while j < lim && x1.class[n1 - 1 - j] == x2.class[n2 - 1 - j] {
        j += 1;
    }
    x1.dend = (n1 - j) as isize - 1;
    x2.dend = (n2 - j) as isize - 1;
}

const MAX_EQLIMIT: isize = 1024;
const SIMSCAN_WINDOW: isize = 100;
const KPDIS_RUN: isize = 4;

/// How a line stands against the other file: no match, some, many.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Dis {
    None,
    Match,
    Many,
}

/// `xdl_clean_mmatch`: whether a line with many matches sits among lines without a match
/// (with lines of many matches between), so that it is better treated as changed.
fn clean_mmatch(dis: &[Dis], i: isize, mut s: isize, mut e: isize) -> bool {
    if i - s > SIMSCAN_WINDOW {
        s = i - SIMSCAN_WINDOW;
    }
    if e - i > SIMSCAN_WINDOW {
        e = i + SIMSCAN_WINDOW;
    }
    let run = |step: isize, bound_ok: &dyn Fn(isize) -> bool| -> (isize, isize) {
        let (mut none, mut many) = (0, 1);
        let mut r = 1;
        while bound_ok(i + step * r) {
            match dis[(i + step * r) as usize] {
                Dis::None => none += 1,
                Dis::Many => many += 1,
                Dis::Match => break,
            }
            r += 1;
        }
        (none, many)
    };
    let (rdis0, rpdis0) = run(-1, &|j| j >= s);
    if rdis0 == 0 {
        return false;
    }
    let (rdis1, rpdis1) = run(1, &|j| j <= e);
    if rdis1 == 0 {
        return false;
    }
    let (rdis, rpdis) = (rdis0 + rdis1, rpdis0 + rpdis1);
    rpdis * KPDIS_RUN < rpdis + rdis
}

/// `xdl_cleanup_records`: which lines between the trimmed ends go into the diff proper; the
/// others are marked changed here. Counts are over the whole files, as in git.
fn cleanup_records(classes: &Classes, x1: &mut File<'_>, x2: &mut File<'_>) {
    fn pass(x: &mut File<'_>, other_counts: &[u32]) {
        let mlim = bogosqrt(x.nrec()).min(MAX_EQLIMIT);
        let mut dis = vec![Dis::None; x.recs.len() + 1];
        for i in x.dstart..=x.dend {
            let nm = other_counts[x.class[i as usize] as usize] as isize;
            dis[i as usize] = if nm == 0 {
                Dis::None
            } else if nm >= mlim {
                Dis::Many
            } else {
                Dis::Match
            };
        }
        let keep = (x.dend - x.dstart + 1).max(0) as usize;
        x.rindex = Vec::with_capacity(keep);
        x.ha = Vec::with_capacity(keep);
        for i in x.dstart..=x.dend {
            let d = dis[i as usize];
            if d == Dis::Match || (d == Dis::Many && !clean_mmatch(&dis, i, x.dstart, x.dend)) {
                x.rindex.push(i);
                x.ha.push(x.class[i as usize]);
            } else {
                x.set(i, true);
            }
        }
    }
    pass(x1, &classes.len2);
    pass(x2, &classes.len1);
}

const MAX_COST_MIN: isize = 256;
const HEUR_MIN_COST: isize = 256;
const SNAKE_CNT: isize = 20;
const K_HEUR: isize = 4;
const LINE_MAX: isize = isize::MAX;

/// Where a box is split, and whether either half must be diffed minimally.
struct Split {
    i1: isize,
    i2: isize,
    min_lo: bool,
    min_hi: bool,
}

/// The forward and backward furthest points per diagonal, indexed by diagonal + `base`.
struct Kv {
    f: Vec<isize>,
    b: Vec<isize>,
    base: isize,
    mxcost: isize,
}

impl Kv {
    fn f(&self, d: isize) -> isize {
        self.f[(d + self.base) as usize]
    }
    fn b(&self, d: isize) -> isize {
        self.b[(d + self.base) as usize]
    }
    fn set_f(&mut self, d: isize, v: isize) {
        self.f[(d + self.base) as usize] = v;
    }
    fn set_b(&mut self, d: isize, v: isize) {
        self.b[(d + self.base) as usize] = v;
    }
}

/// The box being split and the lines in it.
struct Region<'h> {
    ha1: &'h [u32],
    ha2: &'h [u32],
    off1: isize,
    lim1: isize,
    off2: isize,
    lim2: isize,
}

impl Region<'_> {
    fn eq(&self, i1: isize, i2: isize) -> bool {
        self.ha1[i1 as usize] == self.ha2[i2 as usize]
    }
}

/// `xdl_split`: the middle snake of Myers' algorithm from both corners of the box, cut short
/// by xdiff's heuristics when the cost grows.
fn split(bx: &Region<'_>, kv: &mut Kv, need_min: bool) -> Split {
    let (off1, lim1, off2, lim2) = (bx.off1, bx.lim1, bx.off2, bx.lim2);
    let (dmin, dmax) = (off1 - lim2, lim1 - off2);
    let (fmid, bmid) = (off1 - off2, lim1 - lim2);
    let odd = (fmid - bmid) & 1 != 0;
    let (mut fmin, mut fmax, mut bmin, mut bmax) = (fmid, fmid, bmid, bmid);
    kv.set_f(fmid, off1);
    kv.set_b(bmid, lim1);
    let mut ec = 1;
    loop {
        let mut got_snake = false;
        // Widen the diagonal domain by one, or narrow it at the box's edge; the value just
        // outside is set so that the loop below needs no bounds checks.
        if fmin > dmin {
            fmin -= 1;
            kv.set_f(fmin - 1, -1);
        } else {
            fmin += 1;
        }
        if fmax < dmax {
            fmax += 1;
            kv.set_f(fmax + 1, -1);
        } else {
            fmax -= 1;
        }
        let mut d = fmax;
        while d >= fmin {
            let mut i1 = if kv.f(d - 1) >= kv.f(d + 1) {
                kv.f(d - 1) + 1
            } else {
                kv.f(d + 1)
            };
            let prev1 = i1;
            let mut i2 = i1 - d;
            while i1 < lim1 && i2 < lim2 && bx.eq(i1, i2) {
                i1 += 1;
                i2 += 1;
            }
            if i1 - prev1 > SNAKE_CNT {
                got_snake = true;
            }
            kv.set_f(d, i1);
            if odd && bmin <= d && d <= bmax && kv.b(d) <= i1 {
                return Split {
                    i1,
                    i2,
                    min_lo: true,
                    min_hi: true,
                };
            }
            d -= 2;
        }

        if bmin > dmin {
            bmin -= 1;
            kv.set_b(bmin - 1, LINE_MAX);
        } else {
            bmin += 1;
        }
        if bmax < dmax {
            bmax += 1;
            kv.set_b(bmax + 1, LINE_MAX);
        } else {
            bmax -= 1;
        }
        let mut d = bmax;
        while d >= bmin {
            let mut i1 = if kv.b(d - 1) < kv.b(d + 1) {
                kv.b(d - 1)
            } else {
                kv.b(d + 1) - 1
            };
            let prev1 = i1;
            let mut i2 = i1 - d;
            while i1 > off1 && i2 > off2 && bx.eq(i1 - 1, i2 - 1) {
                i1 -= 1;
                i2 -= 1;
            }
            if prev1 - i1 > SNAKE_CNT {
                got_snake = true;
            }
            kv.set_b(d, i1);
            if !odd && fmin <= d && d <= fmax && i1 <= kv.f(d) {
                return Split {
                    i1,
                    i2,
                    min_lo: true,
                    min_hi: true,
                };
            }
            d -= 2;
        }

        if !need_min {
            if got_snake && ec > HEUR_MIN_COST {
                if let Some(s) = snake_heuristic(bx, kv, ec, (fmin, fmax, fmid), (bmin, bmax, bmid))
                {
                    return s;
                }
            }
            if ec >= kv.mxcost {
                return furthest(bx, kv, (fmin, fmax), (bmin, bmax));
            }
        }
        ec += 1;
    }
}

/// Past the heuristic's minimum cost, a diagonal that got far from its corner (beyond
/// `K_HEUR` times the cost, less its distance from the middle diagonal) and ends in a snake
/// of `SNAKE_CNT` lines is taken as the split: forward paths first, then backward ones.
fn snake_heuristic(
    bx: &Region<'_>,
    kv: &Kv,
    ec: isize,
    (fmin, fmax, fmid): (isize, isize, isize),
    (bmin, bmax, bmid): (isize, isize, isize),
) -> Option<Split> {
    let (off1, lim1, off2, lim2) = (bx.off1, bx.lim1, bx.off2, bx.lim2);
    let mut best = 0;
    let mut at = (0, 0);
    let mut d = fmax;
    while d >= fmin {
        let dd = (d - fmid).abs();
        let i1 = kv.f(d);
        let i2 = i1 - d;
        let v = (i1 - off1) + (i2 - off2) - dd;
        if v > K_HEUR * ec
            && v > best
            && off1 + SNAKE_CNT <= i1
            && i1 < lim1
            && off2 + SNAKE_CNT <= i2
            && i2 < lim2
        {
            let mut k = 1;
            while bx.eq(i1 - k, i2 - k) {
                if k == SNAKE_CNT {
                    best = v;
                    at = (i1, i2);
                    break;
                }
                k += 1;
            }
        }
        d -= 2;
    }
    if best > 0 {
        return Some(Split {
            i1: at.0,
            i2: at.1,
            min_lo: true,
            min_hi: false,
        });
    }
    let mut d = bmax;
    while d >= bmin {
        let dd = (d - bmid).abs();
        let i1 = kv.b(d);
        let i2 = i1 - d;
        let v = (lim1 - i1) + (lim2 - i2) - dd;
        if v > K_HEUR * ec
            && v > best
            && off1 < i1
            && i1 <= lim1 - SNAKE_CNT
            && off2 < i2
            && i2 <= lim2 - SNAKE_CNT
        {
            let mut k = 0;
            while bx.eq(i1 + k, i2 + k) {
                if k == SNAKE_CNT - 1 {
                    best = v;
                    at = (i1, i2);
                    break;
                }
                k += 1;
            }
        }
        d -= 2;
    }
    (best > 0).then_some(Split {
        i1: at.0,
        i2: at.1,
        min_lo: false,
        min_hi: true,
    })
}

/// Enough is enough: the furthest-reaching forward or backward path (by `i1 + i2`).
fn furthest(
    bx: &Region<'_>,
    kv: &Kv,
    (fmin, fmax): (isize, isize),
    (bmin, bmax): (isize, isize),
) -> Split {
    let (off1, lim1, off2, lim2) = (bx.off1, bx.lim1, bx.off2, bx.lim2);
    let (mut fbest, mut fbest1) = (-1, -1);
    let mut d = fmax;
    while d >= fmin {
        let mut i1 = kv.f(d).min(lim1);
        let mut i2 = i1 - d;
        if lim2 < i2 {
            i1 = lim2 + d;
            i2 = lim2;
        }
        if fbest < i1 + i2 {
            fbest = i1 + i2;
            fbest1 = i1;
        }
        d -= 2;
    }
    let (mut bbest, mut bbest1) = (LINE_MAX, LINE_MAX);
    let mut d = bmax;
    while d >= bmin {
        let mut i1 = off1.max(kv.b(d));
        let mut i2 = i1 - d;
        if i2 < off2 {
            i1 = off2 + d;
            i2 = off2;
        }
        if i1 + i2 < bbest {
            bbest = i1 + i2;
            bbest1 = i1;
        }
        d -= 2;
    }
    if (lim1 + lim2) - bbest < fbest - (off1 + off2) {
        Split {
            i1: fbest1,
            i2: fbest - fbest1,
            min_lo: true,
            min_hi: false,
        }
    } else {
        Split {
            i1: bbest1,
            i2: bbest - bbest1,
            min_lo: false,
            min_hi: true,
        }
    }
}

/// `xdl_recs_cmp`: divide and conquer over the lines of the diff proper, marking the changed
/// ones. An explicit stack instead of recursion; the order of the boxes does not matter, as
/// each marks its own lines and `split` sets up every value it reads.
fn recs_cmp(x1: &mut File<'_>, x2: &mut File<'_>, kv: &mut Kv) {
    let ha1 = std::mem::take(&mut x1.ha);
    let ha2 = std::mem::take(&mut x2.ha);
    let mut stack = vec![(0, ha1.len() as isize, 0, ha2.len() as isize, false)];
    while let Some((mut off1, mut lim1, mut off2, mut lim2, need_min)) = stack.pop() {
        while off1 < lim1 && off2 < lim2 && ha1[off1 as usize] == ha2[off2 as usize] {
            off1 += 1;
            off2 += 1;
        }
        while off1 < lim1 && off2 < lim2 && ha1[(lim1 - 1) as usize] == ha2[(lim2 - 1) as usize] {
            lim1 -= 1;
            lim2 -= 1;
        }
        if off1 == lim1 {
            for k in off2..lim2 {
                let r = x2.rindex[k as usize];
                x2.set(r, true);
            }
        } else if off2 == lim2 {
            for k in off1..lim1 {
                let r = x1.rindex[k as usize];
                x1.set(r, true);
            }
        } else {
            let bx = Region {
                ha1: &ha1,
                ha2: &ha2,
                off1,
                lim1,
                off2,
                lim2,
            };
            let s = split(&bx, kv, need_min);
            stack.push((s.i1, lim1, s.i2, lim2, s.min_hi));
            stack.push((off1, s.i1, off2, s.i2, s.min_lo));
        }
    }
    x1.ha = ha1;
    x2.ha = ha2;
}

/// `xdl_do_diff` for the Myers algorithm: prepare both files, then mark what changed.
fn do_diff<'a>(a: &'a [u8], b: &'a [u8]) -> (File<'a>, File<'a>) {
    let (ra, rb) = (records(a), records(b));
    let (ca, cb, classes) = classify(&ra, &rb);
    let (mut x1, mut x2) = (file(ra, ca), file(rb, cb));
    trim_ends(&mut x1, &mut x2);
    if x1.dstart > x1.dend || x2.dstart > x2.dend {
        // One side has nothing left: everything left on the other side changed, which is
        // what the cleanup and the diff proper would find too.
        for x in [&mut x1, &mut x2] {
            for i in x.dstart..=x.dend {
                x.set(i, true);
            }
        }
        return (x1, x2);
    }
    cleanup_records(&classes, &mut x1, &mut x2);
    let (n1, n2) = (x1.ha.len() as isize, x2.ha.len() as isize);
    let ndiags = n1 + n2 + 3;
    let mut kv = Kv {
        f: vec![0; ndiags as usize],
        b: vec![0; ndiags as usize],
        base: n2 + 1,
        mxcost: bogosqrt(ndiags).max(MAX_COST_MIN),
    };
    recs_cmp(&mut x1, &mut x2, &mut kv);
    (x1, x2)
}

/// A group of changed lines: `start..end`; empty (`start == end`) above an unchanged line.
#[derive(Clone, Copy)]
struct Group {
    start: isize,
    end: isize,
}

fn group_init(x: &File<'_>) -> Group {
    let mut g = Group { start: 0, end: 0 };
    while x.changed(g.end) {
        g.end += 1;
    }
    g
}

fn group_next(x: &File<'_>, g: &mut Group) -> bool {
    if g.end == x.nrec() {
        return false;
    }
    g.start = g.end + 1;
    g.end = g.start;
    while x.changed(g.end) {
        g.end += 1;
    }
    true
}

fn group_previous(x: &File<'_>, g: &mut Group) -> bool {
    if g.start == 0 {
        return false;
    }
    g.end = g.start - 1;
    g.start = g.end;
    while x.changed(g.start - 1) {
        g.start -= 1;
    }
    true
}

fn group_slide_down(x: &mut File<'_>, g: &mut Group) -> bool {
    if g.end < x.nrec() && x.class[g.start as usize] == x.class[g.end as usize] {
        x.set(g.start, false);
        x.set(g.end, true);
        g.start += 1;
        g.end += 1;
        while x.changed(g.end) {
            g.end += 1;
        }
        true
    } else {
        false
    }
}

fn group_slide_up(x: &mut File<'_>, g: &mut Group) -> bool {
    if g.start > 0 && x.class[(g.start - 1) as usize] == x.class[(g.end - 1) as usize] {
        g.start -= 1;
        g.end -= 1;
        x.set(g.start, true);
        x.set(g.end, false);
        while x.changed(g.start - 1) {
            g.start -= 1;
        }
        true
    } else {
        false
    }
}

const MAX_INDENT: i32 = 200;
const MAX_BLANKS: i32 = 20;

/// Columns of indentation (a tab to the next multiple of 8), `-1` for a blank line.
fn get_indent(rec: &[u8]) -> i32 {
    let mut ret = 0;
    for &c in rec {
        match c {
            b' ' => ret += 1,
            b'\t' => ret += 8 - ret % 8,
            // git's isspace: also `\n` and `\r` (not `\v`, `\f`), which add nothing.
            b'\n' | b'\r' => {}
            _ => return ret,
        }
        if ret >= MAX_INDENT {
            return MAX_INDENT;
        }
    }
    -1
}

#[derive(Default)]
struct Measure {
    end_of_file: bool,
    indent: i32,
    pre_blank: i32,
    pre_indent: i32,
    post_blank: i32,
    post_indent: i32,
}

/// The surroundings of a split above line `split`.
fn measure_split(x: &File<'_>, split: isize) -> Measure {
    let mut m = Measure::default();
    if split >= x.nrec() {
        m.end_of_file = true;
        m.indent = -1;
    } else {
        m.indent = get_indent(x.recs[split as usize]);
    }
    m.pre_indent = -1;
    let mut i = split - 1;
    while i >= 0 {
        m.pre_indent = get_indent(x.recs[i as usize]);
        if m.pre_indent != -1 {
            break;
        }
        m.pre_blank += 1;
        if m.pre_blank == MAX_BLANKS {
            m.pre_indent = 0;
            break;
        }
        i -= 1;
    }
    m.post_indent = -1;
    let mut i = split + 1;
    while i < x.nrec() {
        m.post_indent = get_indent(x.recs[i as usize]);
        if m.post_indent != -1 {
            break;
        }
        m.post_blank += 1;
        if m.post_blank == MAX_BLANKS {
            m.post_indent = 0;
            break;
        }
        i += 1;
    }
    m
}

const START_OF_FILE_PENALTY: i32 = 1;
const END_OF_FILE_PENALTY: i32 = 21;
const TOTAL_BLANK_WEIGHT: i32 = -30;
const POST_BLANK_WEIGHT: i32 = 6;
const RELATIVE_INDENT_PENALTY: i32 = -4;
const RELATIVE_INDENT_WITH_BLANK_PENALTY: i32 = 10;
const RELATIVE_OUTDENT_PENALTY: i32 = 24;
const RELATIVE_OUTDENT_WITH_BLANK_PENALTY: i32 = 17;
const RELATIVE_DEDENT_PENALTY: i32 = 23;
const RELATIVE_DEDENT_WITH_BLANK_PENALTY: i32 = 17;
const INDENT_WEIGHT: i32 = 60;
const INDENT_HEURISTIC_MAX_SLIDING: isize = 100;

#[derive(Default, Clone, Copy)]
struct Score {
    effective_indent: i32,
    penalty: i32,
}

/// git's empirically weighted badness of a split (smaller is better).
fn score_add_split(m: &Measure, s: &mut Score) {
    if m.pre_indent == -1 && m.pre_blank == 0 {
        s.penalty += START_OF_FILE_PENALTY;
    }
    if m.end_of_file {
        s.penalty += END_OF_FILE_PENALTY;
    }
    let post_blank = if m.indent == -1 { 1 + m.post_blank } else { 0 };
    let total_blank = m.pre_blank + post_blank;
    s.penalty += TOTAL_BLANK_WEIGHT * total_blank;
    s.penalty += POST_BLANK_WEIGHT * post_blank;
    let indent = if m.indent != -1 {
        m.indent
    } else {
        m.post_indent
    };
    let any_blanks = total_blank != 0;
    s.effective_indent += indent;
    if indent == -1 || m.pre_indent == -1 || indent == m.pre_indent {
        // No adjustment.
        return;
    }
    if indent > m.pre_indent {
        s.penalty += if any_blanks {
            RELATIVE_INDENT_WITH_BLANK_PENALTY
        } else {
            RELATIVE_INDENT_PENALTY
        };
    } else if m.post_indent != -1 && m.post_indent > indent {
        // Indented less than the line before and less than the next: likely a block's start.
        s.penalty += if any_blanks {
            RELATIVE_OUTDENT_WITH_BLANK_PENALTY
        } else {
            RELATIVE_OUTDENT_PENALTY
        };
    } else {
        // Probably the end of a block.
        s.penalty += if any_blanks {
            RELATIVE_DEDENT_WITH_BLANK_PENALTY
        } else {
            RELATIVE_DEDENT_PENALTY
        };
    }
}

fn score_cmp(s1: &Score, s2: &Score) -> i32 {
    let cmp_indents = i32::from(s1.effective_indent > s2.effective_indent)
        - i32::from(s1.effective_indent < s2.effective_indent);
    INDENT_WEIGHT * cmp_indents + (s1.penalty - s2.penalty)
}

/// The end the indent heuristic picks for a group that can slide from `earliest_end` to
/// `g.end` (its lowest position).
fn best_shift(x: &File<'_>, g: Group, groupsize: isize, earliest_end: isize) -> isize {
    let mut shift = earliest_end;
    if g.end - groupsize - 1 > shift {
        shift = g.end - groupsize - 1;
    }
    if g.end - INDENT_HEURISTIC_MAX_SLIDING > shift {
        shift = g.end - INDENT_HEURISTIC_MAX_SLIDING;
    }
    let mut best: Option<(isize, Score)> = None;
    while shift <= g.end {
        let mut score = Score::default();
        score_add_split(&measure_split(x, shift), &mut score);
        score_add_split(&measure_split(x, shift - groupsize), &mut score);
        if best.is_none_or(|(_, b)| score_cmp(&score, &b) <= 0) {
            best = Some((shift, score));
        }
        shift += 1;
    }
    best.map_or(g.end, |(s, _)| s)
}

/// `xdl_change_compact` with the indent heuristic: slides the groups of changed lines of `x`
/// (keeping `o`'s groups in step) to where git puts them.
fn change_compact(x: &mut File<'_>, o: &File<'_>) {
    let mut g = group_init(x);
    let mut go = group_init(o);
    loop {
        if g.end != g.start {
            let mut groupsize;
            let mut earliest_end;
            let mut end_matching_other;
            loop {
                groupsize = g.end - g.start;
                end_matching_other = -1;
                while group_slide_up(x, &mut g) {
                    assert!(group_previous(o, &mut go), "group sync broken sliding up");
                }
                earliest_end = g.end;
                if go.end > go.start {
                    end_matching_other = g.end;
                }
                while group_slide_down(x, &mut g) {
                    assert!(group_next(o, &mut go), "group sync broken sliding down");
                    if go.end > go.start {
                        end_matching_other = g.end;
                    }
                }
                if groupsize == g.end - g.start {
                    break;
                }
            }
            if g.end == earliest_end {
                // It cannot move.
            } else if end_matching_other != -1 {
                // Back up to line up with the last change on the other side it can meet.
                while go.end == go.start {
                    assert!(group_slide_up(x, &mut g), "match disappeared");
                    assert!(group_previous(o, &mut go), "group sync broken");
                }
            } else {
                let target = best_shift(x, g, groupsize, earliest_end);
                while g.end > target {
                    assert!(group_slide_up(x, &mut g), "best shift unreached");
                    assert!(group_previous(o, &mut go), "group sync broken");
                }
            }
        }
        if !group_next(x, &mut g) {
            break;
        }
        assert!(group_next(o, &mut go), "group sync broken moving on");
    }
}

/// A change: `chg1` lines from line `i1` of the old file replaced by `chg2` lines from line
/// `i2` of the new one (0-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    pub i1: usize,
    pub i2: usize,
    pub chg1: usize,
    pub chg2: usize,
}

/// `xdl_build_script`: the changes in file order.
fn build_script(x1: &File<'_>, x2: &File<'_>) -> Vec<Change> {
    let mut out = Vec::new();
    let (mut i1, mut i2) = (x1.nrec(), x2.nrec());
    // Unchanged lines pair up one to one, so both indices reach the start together.
    while i1 >= 0 || i2 >= 0 {
        let c1 = i1 >= 0 && x1.changed(i1 - 1);
        let c2 = i2 >= 0 && x2.changed(i2 - 1);
        if c1 || c2 {
            let (l1, l2) = (i1, i2);
            while i1 > 0 && x1.changed(i1 - 1) {
                i1 -= 1;
            }
            while i2 > 0 && x2.changed(i2 - 1) {
                i2 -= 1;
            }
            out.push(Change {
                i1: i1 as usize,
                i2: i2 as usize,
                chg1: (l1 - i1) as usize,
                chg2: (l2 - i2) as usize,
            });
        }
        i1 -= 1;
        i2 -= 1;
    }
    out.reverse();
    out
}

/// Lines added and removed, as `git diff --numstat` counts them. Sliding changes no count,
/// so it is skipped.
pub fn count(a: &[u8], b: &[u8]) -> (usize, usize) {
    if a == b {
        return (0, 0);
    }
    let (x1, x2) = do_diff(a, b);
    let n = |x: &File<'_>| x.rchg.iter().filter(|&&c| c).count();
    (n(&x2), n(&x1))
}

/// The script of `git diff` between two texts, and their lines.
pub fn diff<'a>(a: &'a [u8], b: &'a [u8]) -> (Vec<Change>, Vec<&'a [u8]>, Vec<&'a [u8]>) {
    let (mut x1, mut x2) = do_diff(a, b);
    change_compact(&mut x1, &x2);
    change_compact(&mut x2, &x1);
    let script = build_script(&x1, &x2);
    (script, x1.recs, x2.recs)
}

/// Context lines around each change, as `git diff` defaults to (`-U3`).
const CONTEXT: usize = 3;

/// The hunk range of a header: `start,len`; `start` alone when len is 1; the line before when
/// empty.
fn range_str(start: usize, len: usize) -> String {
    match len {
        0 => format!("{start},0"),
        1 => format!("{}", start + 1),
        n => format!("{},{n}", start + 1),
    }
}

/// The hunks of `git diff -U3` between two texts: `@@ -a,b +c,d @@` headers (without the
/// function context git appends), ` `/`-`/`+` lines, and `\ No newline at end of file` after
/// a last line without one.
pub fn unified(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    if a == b {
        return out;
    }
    let (script, old, new) = diff(a, b);
    let line = |out: &mut Vec<u8>, tag: u8, text: &[u8]| {
        out.push(tag);
        out.extend_from_slice(text);
        if !text.ends_with(b"\n") {
            out.extend_from_slice(b"\n\\ No newline at end of file\n");
        }
    };
    let mut i = 0;
    while i < script.len() {
        // Changes at most twice the context apart share a hunk (`xdl_get_hunk`).
        let mut j = i;
        while j + 1 < script.len()
            && script[j + 1].i1 - (script[j].i1 + script[j].chg1) <= 2 * CONTEXT
        {
            j += 1;
        }
        let (first, last) = (script[i], script[j]);
        let (s1, s2) = (
            first.i1.saturating_sub(CONTEXT),
            first.i2.saturating_sub(CONTEXT),
        );
        let lctx = CONTEXT
            .min(old.len() - (last.i1 + last.chg1))
            .min(new.len() - (last.i2 + last.chg2));
        let (e1, e2) = (last.i1 + last.chg1 + lctx, last.i2 + last.chg2 + lctx);
        out.extend_from_slice(
            format!(
                "@@ -{} +{} @@\n",
                range_str(s1, e1 - s1),
                range_str(s2, e2 - s2)
            )
            .as_bytes(),
        );
        let mut at = s2;
        for c in &script[i..=j] {
            for l in &new[at..c.i2] {
                line(&mut out, b' ', l);
            }
            for l in &old[c.i1..c.i1 + c.chg1] {
                line(&mut out, b'-', l);
            }
            for l in &new[c.i2..c.i2 + c.chg2] {
                line(&mut out, b'+', l);
            }
            at = c.i2 + c.chg2;
        }
        for l in &new[at..e2] {
            line(&mut out, b' ', l);
        }
        i = j + 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(a: &str, b: &str) -> String {
        String::from_utf8(unified(a.as_bytes(), b.as_bytes())).unwrap()
    }

    #[test]
    fn records_keep_their_terminators() {
        assert_eq!(records(b"a\nb"), vec![&b"a\n"[..], &b"b"[..]]);
        assert_eq!(records(b"\n\n"), vec![&b"\n"[..], &b"\n"[..]]);
        assert!(records(b"").is_empty());
    }

    #[test]
    fn square_root_and_indent_as_xdiff_computes_them() {
        let roots: Vec<isize> = [0, 1, 3, 4, 15, 16, 8000].map(bogosqrt).to_vec();
        assert_eq!(roots, vec![1, 2, 2, 4, 4, 8, 128]);
        assert_eq!(get_indent(b"    x\n"), 4);
        assert_eq!(get_indent(b"\tx"), 8);
        assert_eq!(get_indent(b"  \tx"), 8);
        assert_eq!(get_indent(b"   \r\n"), -1);
        assert_eq!(
            get_indent(format!("{}x", " ".repeat(250)).as_bytes()),
            MAX_INDENT
        );
    }

    #[test]
    fn a_repeated_line_among_unmatched_ones_is_set_aside() {
        use Dis::{Many, Match, None as No};
        // A line with many matches among enough unmatched ones (more than three times the
        // lines with many matches, itself included) is changed without a diff.
        let around = |n: usize| {
            let mut v = vec![No; n];
            v.push(Many);
            v.extend(vec![No; n]);
            v
        };
        assert!(clean_mmatch(&around(4), 4, 0, 8));
        assert!(!clean_mmatch(&around(3), 3, 0, 6));
        // Not next to a line with one match, nor at the edge of the range.
        let mut v = around(4);
        v[3] = Match;
        assert!(!clean_mmatch(&v, 4, 0, 8));
        assert!(!clean_mmatch(&around(4)[4..], 0, 0, 4));
    }

    // The expected hunks below are git 2.47's for the same texts.

    #[test]
    fn lines_only_one_side_has_are_left_out_of_the_diff_proper() {
        // Every line of the new text but `use a::b;` and `    if ok {` is new: the diff
        // proper only sees those two, and lines up the middle `use a::b;`.
        let b = "\n// comment\n    x + 1\n}\nuse a::b;\n    let x = 1;\n\n// comment\n    x + 1\n}\nuse a::b;\n    let x = 1;\n\n// comment\n    x + 1\n}\nuse a::b;\n    let x = 1;\n    if ok {\n";
        assert_eq!(
            u("    if ok {\nuse a::b;\n", b),
            "@@ -1,2 +1,19 @@\n-    if ok {\n+\n+// comment\n+    x + 1\n+}\n+use a::b;\n+    let x = 1;\n+\n+// comment\n+    x + 1\n+}\n use a::b;\n+    let x = 1;\n+\n+// comment\n+    x + 1\n+}\n+use a::b;\n+    let x = 1;\n+    if ok {\n"
        );
    }

    #[test]
    fn the_indent_heuristic_places_sliders() {
        assert_eq!(
            u(
                "fn a() {\n}\n\nfn c() {\n}\n",
                "fn a() {\n}\n\nfn b() {\n}\n\nfn c() {\n}\n"
            ),
            "@@ -1,5 +1,8 @@\n fn a() {\n }\n \n+fn b() {\n+}\n+\n fn c() {\n }\n"
        );
        let a = "use a::b;\nstruct S;\r\nfn parse() {\n    }\n    if ok {\n}\nstruct S;\r\n    }\nfn parse() {\nfn parse() {\n    x + 1\n}\nstruct S;\r\n    }\n\n    let x = 1;\n}\nstruct S;\r\n";
        let b = "use a::b;\n}\nuse a::b;\nfn parse() {\nstruct S;\r\n    }\nstruct S;\r\nstruct S;\r\nfn parse() {\n    }\n    if ok {\n}\nstruct S;\r\n    }\nfn parse() {\n    x + 1\nstruct S;\r\n    }\n\n    let x = 1;\n}\nstruct S;\r\n";
        assert_eq!(
            u(a, b),
            "@@ -1,4 +1,10 @@\n use a::b;\n+}\n+use a::b;\n+fn parse() {\n+struct S;\r\n+    }\n+struct S;\r\n struct S;\r\n fn parse() {\n     }\n@@ -6,10 +12,8 @@\n }\n struct S;\r\n     }\n-fn parse() {\n fn parse() {\n     x + 1\n-}\n struct S;\r\n     }\n \n"
        );
    }

    #[test]
    fn scripts_and_counts() {
        let (script, _, _) = diff(b"a\nb\nc\n", b"a\nx\nc\nd");
        assert_eq!(
            script,
            vec![
                Change {
                    i1: 1,
                    i2: 1,
                    chg1: 1,
                    chg2: 1
                },
                Change {
                    i1: 3,
                    i2: 3,
                    chg1: 0,
                    chg2: 1
                },
            ]
        );
        assert_eq!(count(b"a\nb\nc\n", b"a\nx\nc\nd"), (2, 1));
        assert_eq!(count(b"same\n", b"same\n"), (0, 0));
        assert_eq!(count(b"", b"x\ny"), (2, 0));
        assert_eq!(
            u("x", "x\n"),
            "@@ -1 +1 @@\n-x\n\\ No newline at end of file\n+x\n"
        );
    }
}
