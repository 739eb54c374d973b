//! `orch changes` on the real history of a real project (the fd bundle among the shared
//! fixtures): per-file counts, the summary line and every hunk equal `git diff`'s with git's
//! defaults, over 200 pairs of commits: neighbours and distant ones, and every commit of the
//! history with renames, binary files, CRLF lines, a mode change or a missing final newline
//! among the neighbours; and on large generated texts edited hard enough for xdiff's
//! cut-offs to decide.

use crate::support::{gitdiff, hermetic, BIN};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `shared/fixtures/fd.bundle` beside the repository (or beside one of its parents, for a
/// worktree kept in a subfolder).
fn bundle() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    root.ancestors()
        .map(|d| d.join("shared/fixtures/fd.bundle"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "no shared/fixtures/fd.bundle beside {} or its parents: the history this test runs on",
                root.display()
            )
        })
}

fn run(mut c: Command) -> String {
    let o = c.output().unwrap();
    assert!(
        o.status.success(),
        "{c:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

struct Repo {
    _tmp: tempfile::TempDir,
    home: PathBuf,
    dir: PathBuf,
}

impl Repo {
    fn git(&self, args: &[&str]) -> String {
        let mut c = hermetic("git", &self.home);
        c.current_dir(&self.dir).args(args);
        run(c)
    }

    fn orch(&self, args: &[&str]) -> String {
        let mut c = hermetic(BIN, &self.home);
        c.current_dir(&self.dir).args(args);
        run(c)
    }
}

/// What a commit's own diff (against its first parent) shows, from `git log -p`.
#[derive(Default, Clone, Copy)]
struct Features {
    rename: bool,
    binary: bool,
    crlf: bool,
    mode: bool,
    no_newline: bool,
}

fn features(patch: &str) -> Features {
    Features {
        rename: patch.contains("\nrename from "),
        binary: patch.contains("\nBinary files "),
        crlf: patch
            .split('\n')
            .any(|l| (l.starts_with('+') || l.starts_with('-')) && l.ends_with('\r')),
        mode: patch.contains("\nold mode "),
        no_newline: patch.contains("\n\\ No newline at end of file"),
    }
}

/// 200 pairs `(base, head)` of first-parent commits, oldest first in `fp`: every commit whose
/// own diff has one of the features, with its parent; neighbours spread over the history;
/// HEAD~600..HEAD~300; and distant pairs of all spans.
fn pairs(fp: &[String], feats: &[Features]) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    let add = |p: (usize, usize), out: &mut Vec<(usize, usize)>| {
        if p.0 < p.1 && !out.contains(&p) {
            out.push(p);
        }
    };
    for (i, f) in feats.iter().enumerate().skip(1) {
        if f.rename || f.binary || f.crlf || f.mode || f.no_newline {
            add((i - 1, i), &mut out);
        }
    }
    let n = fp.len();
    for k in 0..60 {
        let i = 1 + k * (n - 2) / 59;
        add((i - 1, i), &mut out);
    }
    add((n - 1 - 600, n - 1 - 300), &mut out);
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut rnd = |m: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % m as u64) as usize
    };
    while out.len() < 200 {
        // Spans from a few commits to the whole history.
        let scale = [8, 60, 400, n - 3][rnd(4)];
        let span = 2 + rnd(scale);
        let i = rnd(n - span);
        add((i, i + span), &mut out);
    }
    out
}

#[test]
fn counts_and_hunks_equal_git_over_200_pairs_of_real_history() {
    let started = std::time::Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let dir = tmp.path().join("fd");
    std::fs::create_dir_all(&home).unwrap();
    let mut clone = hermetic("git", &home);
    clone
        .current_dir(tmp.path())
        .args(["clone", "-q"])
        .arg(bundle())
        .arg(&dir);
    run(clone);
    let r = Repo {
        _tmp: tmp,
        home,
        dir,
    };
    let fp: Vec<String> = r
        .git(&["rev-list", "--first-parent", "--reverse", "HEAD"])
        .lines()
        .map(str::to_string)
        .collect();
    assert!(fp.len() > 1000, "the fd history has {} commits", fp.len());
    let log = r.git(&["log", "--first-parent", "-p", "--format=%x01%H", "HEAD"]);
    let by_id: std::collections::HashMap<&str, Features> = log
        .split('\x01')
        .skip(1)
        .map(|c| (&c[..40], features(c)))
        .collect();
    let feats: Vec<Features> = fp.iter().map(|c| by_id[c.as_str()]).collect();
    r.orch(&["init"]);
    r.orch(&["task", "new", "T-1", "--title", "History"]);

    let setup = started.elapsed();
    let pairs = pairs(&fp, &feats);
    assert_eq!(pairs.len(), 200);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let compare = || {
        let mut done = Vec::new();
        loop {
            let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(&(i, j)) = pairs.get(k) else { break };
            let (a, b) = (fp[i].as_str(), fp[j].as_str());
            let out = r.orch(&[
                "--json", "changes", "T-1", "--stdout", "--patch", "--base", a, "--head", b,
            ]);
            let json: Value = serde_json::from_str(&out).unwrap();
            let orch = gitdiff::orch(&json);
            let git = gitdiff::git(&|args| r.git(args), a, b, &[".", ":!.orchestration"]);
            done.push(((i, j), git, orch));
        }
        done
    };
    let results: Vec<_> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..3).map(|_| s.spawn(compare)).collect();
        hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(results.len(), 200);

    let mut bad = Vec::new();
    for ((i, j), git, orch) in &results {
        if git != orch {
            let what = if git.numstat != orch.numstat {
                format!("numstat\n git  {:?}\n orch {:?}", git.numstat, orch.numstat)
            } else if git.shortstat != orch.shortstat {
                format!(
                    "shortstat: git {:?}, orch {:?}",
                    git.shortstat, orch.shortstat
                )
            } else {
                let path = git
                    .hunks
                    .keys()
                    .chain(orch.hunks.keys())
                    .find(|p| git.hunks.get(*p) != orch.hunks.get(*p))
                    .unwrap();
                format!(
                    "hunks of {path}\n--- git\n{}\n--- orch\n{}",
                    git.hunks.get(path).map_or("", String::as_str),
                    orch.hunks.get(path).map_or("", String::as_str)
                )
            };
            bad.push(format!(
                "{}..{} (commits {i}..{j}): {what}",
                &fp[*i][..10],
                &fp[*j][..10]
            ));
        }
    }
    assert!(
        bad.is_empty(),
        "{} of 200 pairs differ from git; first: {}",
        bad.len(),
        bad[0]
    );

    // What the pairs covered, by git's own account.
    let count =
        |f: &dyn Fn(&gitdiff::Diff) -> bool| results.iter().filter(|(_, g, _)| f(g)).count();
    let renames = count(&|g| g.numstat.iter().any(|l| l.0.is_some()));
    let binary = count(&|g| g.numstat.iter().any(|l| l.2.is_none()));
    let crlf = count(&|g| g.hunks.values().any(|h| h.contains("\r\n")));
    let no_newline = count(&|g| g.hunks.values().any(|h| h.contains("\\ No newline")));
    let mode = pairs
        .iter()
        .filter(|(i, j)| j - i == 1 && feats[*j].mode)
        .count();
    let adjacent = pairs.iter().filter(|(i, j)| j - i == 1).count();
    let files: usize = results.iter().map(|(_, g, _)| g.numstat.len()).sum();
    eprintln!(
        "200 pairs ({adjacent} adjacent), {files} files: {renames} with renames, {binary} with binary files, {crlf} with CRLF lines, {no_newline} with a missing final newline, {mode} with a mode change; setup {setup:.1?}, all {:.1?}",
        started.elapsed()
    );
    assert!(renames >= 10 && binary >= 4 && crlf >= 2 && no_newline >= 20 && mode >= 1);
    assert!(adjacent >= 60 && 200 - adjacent >= 100);
}

/// Large generated texts, edited hard enough that xdiff's cut-offs decide the script: more
/// than 256 edits in a box (the snake heuristic and the cost limit), lines unique to one side
/// and lines repeated far beyond the square root of the file (both set aside before the diff
/// proper), runs of blank lines and braces (the indent heuristic). Hunks and counts equal
/// `git diff --no-index`'s.
#[test]
fn hunks_and_counts_equal_git_on_large_generated_texts() {
    let tmp = tempfile::tempdir().unwrap();
    let mut seed = 0x0123_4567_89ab_cdefu64;
    let mut rnd = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let vocabulary = [
        "}\n",
        "\n",
        "    }\n",
        "fn f() {\n",
        "    let x = 1;\n",
        "        x += 1;\n",
        "\tif x {\n",
        "// note\n",
        "use std::io;\n",
        "    return x;\n",
        "end\r\n",
    ];
    let mut mismatched = Vec::new();
    for case in 0..24u64 {
        let len = 500 + rnd(3000) as usize;
        // Some cases draw from few lines (heavy repeats), some mostly unique lines.
        let unique_share = [0, 5, 30, 70][(case % 4) as usize];
        let line = |rnd: &mut dyn FnMut(u64) -> u64| -> String {
            if rnd(100) < unique_share {
                format!("unique {}\n", rnd(1 << 40))
            } else {
                vocabulary[rnd(vocabulary.len() as u64) as usize].to_string()
            }
        };
        let a: Vec<String> = (0..len).map(|_| line(&mut rnd)).collect();
        let mut b = a.clone();
        let edits = 50 + rnd(len as u64 / 2) as usize;
        for _ in 0..edits {
            let at = rnd(b.len() as u64 + 1) as usize;
            match rnd(3) {
                0 if at < b.len() => {
                    b.remove(at);
                }
                1 if at < b.len() => b[at] = line(&mut rnd),
                _ => {
                    let block = 1 + rnd(4);
                    for _ in 0..block {
                        b.insert(at.min(b.len()), line(&mut rnd));
                    }
                }
            }
        }
        let (a, mut b) = (a.concat(), b.concat());
        if case % 5 == 0 {
            b.pop();
        }
        let (pa, pb) = (tmp.path().join("a"), tmp.path().join("b"));
        std::fs::write(&pa, &a).unwrap();
        std::fs::write(&pb, &b).unwrap();
        let out = hermetic("git", tmp.path())
            .args(["diff", "--no-index", "--no-color", "-U3"])
            .arg(&pa)
            .arg(&pb)
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        let expected: String = match text.find("\n@@ ") {
            Some(i) => text[i + 1..]
                .split_inclusive('\n')
                .map(|l| gitdiff::hunk_header(l).unwrap_or_else(|| l.to_string()))
                .collect(),
            None => String::new(),
        };
        let plus = expected.lines().filter(|l| l.starts_with('+')).count();
        let minus = expected.lines().filter(|l| l.starts_with('-')).count();
        let got = String::from_utf8(orch::git::diff::unified(a.as_bytes(), b.as_bytes())).unwrap();
        let counts = orch::git::diff::line_stat(a.as_bytes(), b.as_bytes());
        if got != expected || counts != (plus, minus) {
            mismatched.push((case, counts, (plus, minus)));
        }
    }
    assert!(
        mismatched.is_empty(),
        "{} of 24 large cases differ from git (case, orch counts, git counts): {mismatched:?}",
        mismatched.len()
    );
}
