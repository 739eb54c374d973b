//! What a shell command line would write, judged conservatively: the files named by
//! redirections, `tee`, `sed -i`, `mv`, `cp`, `rm` and their kin. Anything whose targets
//! cannot be known from the text (a `$VAR` or glob target, `eval`, `xargs rm`, `find -delete`,
//! `git checkout`) is reported as unjudged, never guessed at: the hook allows it and notes it.

/// The files a command line writes, as written in it (relative or absolute).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Writes {
    pub targets: Vec<String>,
    /// Why part of the command could not be judged, when it could not.
    pub unjudged: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    /// A word with its quotes removed; `dynamic` when its value depends on expansion
    /// (`$VAR`, `$(…)`, a backtick, a glob, `~`).
    Word { text: String, dynamic: bool },
    /// `;` `&` `&&` `|` `||` `|&` a newline `(` `)`: ends a simple command.
    Sep,
    /// A redirection operator: `>` `>>` `>|` `&>` `&>>` `>&` (writes) or `<` `<<` `<<<` `<&`.
    Redir { writes: bool, dup: bool },
}

/// Longest nesting of `bash -c '…'` followed; deeper is unjudged.
const MAX_DEPTH: usize = 3;

pub fn writes(command: &str) -> Writes {
    let mut w = Writes::default();
    judge(command, 0, &mut w);
    w.targets.dedup();
    w
}

fn judge(command: &str, depth: usize, w: &mut Writes) {
    if depth > MAX_DEPTH {
        note(w, "nested shells too deep to follow");
        return;
    }
    let toks = tokens(command);
    for simple in toks.split(|t| *t == Tok::Sep) {
        judge_simple(simple, depth, w);
    }
}

fn note(w: &mut Writes, why: impl Into<String>) {
    if w.unjudged.is_none() {
        w.unjudged = Some(why.into());
    }
}

/// One simple command: its redirections, then what the program itself writes.
fn judge_simple(toks: &[Tok], depth: usize, w: &mut Writes) {
    let mut words: Vec<(String, bool)> = vec![];
    let mut i = 0;
    while i < toks.len() {
        match &toks[i] {
            Tok::Redir { writes, dup } => {
                if let Some(Tok::Word { text, dynamic }) = toks.get(i + 1) {
                    // `>&2` and `2>&1` duplicate a descriptor; `>&-` closes one.
                    let fd = *dup && (text == "-" || text.chars().all(|c| c.is_ascii_digit()));
                    if *writes && !fd {
                        target(w, text, *dynamic);
                    }
                    i += 1;
                }
            }
            Tok::Word { text, dynamic } => words.push((text.clone(), *dynamic)),
            Tok::Sep => {}
        }
        i += 1;
    }
    program(&words, depth, w);
}

fn target(w: &mut Writes, text: &str, dynamic: bool) {
    if dynamic {
        note(
            w,
            format!("a write to {text}, which only the shell can expand"),
        );
    } else if !text.is_empty() {
        w.targets.push(text.to_string());
    }
}

/// Drops what runs the real program: assignments, `sudo`, `env`, `timeout 5`, `nice`, ….
fn strip_prefixes(words: &[(String, bool)]) -> &[(String, bool)] {
    let mut rest = words;
    loop {
        let Some((first, _)) = rest.first() else {
            return rest;
        };
        let name = base(first);
        if is_assignment(first) {
            rest = &rest[1..];
        } else if matches!(
            name,
            "sudo" | "command" | "builtin" | "exec" | "nohup" | "time" | "nice" | "env" | "doas"
        ) {
            rest = &rest[1..];
            while rest
                .first()
                .is_some_and(|(a, _)| a.starts_with('-') || is_assignment(a))
            {
                rest = &rest[1..];
            }
        } else if name == "timeout" {
            rest = &rest[1..];
            while rest.first().is_some_and(|(a, _)| a.starts_with('-')) {
                rest = &rest[1..];
            }
            rest = rest.get(1..).unwrap_or(&[]);
        } else {
            return rest;
        }
    }
}

fn is_assignment(w: &str) -> bool {
    match w.split_once('=') {
        Some((k, _)) => {
            !k.is_empty()
                && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !k.starts_with(|c: char| c.is_ascii_digit())
        }
        None => false,
    }
}

fn base(word: &str) -> &str {
    word.rsplit(['/', '\\']).next().unwrap_or(word)
}

/// Arguments that are not options (everything after `--` counts as an argument).
fn operands(args: &[(String, bool)], takes_value: &[&str]) -> Vec<(String, bool)> {
    let mut out = vec![];
    let mut i = 0;
    let mut options = true;
    while i < args.len() {
        let (a, d) = &args[i];
        if options && a == "--" {
            options = false;
        } else if options && a.starts_with('-') && a.len() > 1 {
            if takes_value.contains(&a.as_str()) {
                i += 1;
            }
        } else {
            out.push((a.clone(), *d));
        }
        i += 1;
    }
    out
}

/// Commands that write the files they name.
const WRITERS: &[&str] = &[
    "tee", "sed", "gsed", "perl", "mv", "cp", "install", "ln", "rm", "rmdir", "unlink", "touch",
    "truncate", "shred", "dd",
];

fn program(words: &[(String, bool)], depth: usize, w: &mut Writes) {
    let words = strip_prefixes(words);
    let Some((first, _)) = words.first() else {
        return;
    };
    let name = base(first);
    let args = &words[1..];
    match name {
        "tee" => all(w, &operands(args, &[])),
        "sed" | "gsed" | "perl" => in_place(name, args, w),
        "mv" => all(w, &operands(args, &["-t", "--target-directory", "-S"])),
        "cp" | "install" | "ln" => copy_like(args, w),
        "rm" | "rmdir" | "unlink" | "touch" | "shred" => all(w, &operands(args, &[])),
        "truncate" => all(w, &operands(args, &["-s", "--size", "-r", "--reference"])),
        "dd" => {
            for (a, d) in args {
                if let Some(f) = a.strip_prefix("of=") {
                    target(w, f, *d);
                }
            }
        }
        "bash" | "sh" | "zsh" | "dash" | "ksh" => shell_c(args, depth, w),
        "eval" => note(w, "eval runs text only the shell can expand"),
        "xargs" if args.iter().any(|(a, _)| WRITERS.contains(&base(a))) => {
            note(w, "xargs passes file names only known at run time");
        }
        "find" => {
            let writes = args.iter().any(|(a, _)| a == "-delete")
                || args.windows(2).any(|p| {
                    matches!(p[0].0.as_str(), "-exec" | "-execdir" | "-ok")
                        && WRITERS.contains(&base(&p[1].0))
                });
            if writes {
                note(w, "find changes files it only finds at run time");
            }
        }
        "git" => git(args, w),
        "patch" => note(w, "patch writes the files its input names"),
        _ => {}
    }
}

fn all(w: &mut Writes, ops: &[(String, bool)]) {
    for (a, d) in ops {
        target(w, a, *d);
    }
}

/// `cp`/`install`/`ln`: the destination (last operand, or `-t DIR`).
fn copy_like(args: &[(String, bool)], w: &mut Writes) {
    if let Some(i) = args
        .iter()
        .position(|(a, _)| a == "-t" || a == "--target-directory")
    {
        if let Some((dir, d)) = args.get(i + 1) {
            target(w, dir, *d);
        }
        return;
    }
    if let Some((a, d)) = args.iter().find_map(|(a, d)| {
        a.strip_prefix("--target-directory=")
            .map(|x| (x.to_string(), *d))
    }) {
        target(w, &a, d);
        return;
    }
    let ops = operands(args, &["-S", "--suffix", "-m", "--mode", "-o", "-g"]);
    if ops.len() >= 2 {
        let (a, d) = &ops[ops.len() - 1];
        target(w, a, *d);
    }
}

/// `sed -i` / `perl -i`: the files after the script. Without `-i` nothing is written.
fn in_place(name: &str, args: &[(String, bool)], w: &mut Writes) {
    let in_place = args.iter().any(|(a, _)| {
        a.starts_with("--in-place")
            || (a.starts_with('-') && !a.starts_with("--") && a[1..].contains('i'))
    });
    if !in_place {
        return;
    }
    let scripted = args.iter().any(|(a, _)| {
        matches!(a.as_str(), "-e" | "-f" | "--expression" | "--file")
            || a.starts_with("--expression=")
    });
    let takes: &[&str] = if name == "perl" {
        &["-e"]
    } else {
        &["-e", "-f", "--expression", "--file", "-l"]
    };
    let ops = operands(args, takes);
    let files = if scripted {
        &ops[..]
    } else {
        ops.get(1..).unwrap_or(&[])
    };
    all(w, files);
}

/// `bash -c 'SCRIPT'`: the script is judged like a command line of its own.
fn shell_c(args: &[(String, bool)], depth: usize, w: &mut Writes) {
    let Some(i) = args
        .iter()
        .position(|(a, _)| a.starts_with('-') && !a.starts_with("--") && a.contains('c'))
    else {
        return;
    };
    match args.get(i + 1) {
        Some((script, false)) => judge(script, depth + 1, w),
        Some((_, true)) => note(w, "a shell runs a script only it can expand"),
        None => {}
    }
}

/// git: `git mv`/`git rm` name their files; what changes the worktree wholesale is unjudged.
fn git(args: &[(String, bool)], w: &mut Writes) {
    let mut rest = args;
    // Global options before the subcommand: `-C dir`, `-c k=v`, `--no-pager`, ….
    while let Some((a, _)) = rest.first() {
        if a == "-C" || a == "-c" {
            rest = rest.get(2..).unwrap_or(&[]);
        } else if a.starts_with('-') {
            rest = &rest[1..];
        } else {
            break;
        }
    }
    let Some((sub, _)) = rest.first() else {
        return;
    };
    let args = &rest[1..];
    match sub.as_str() {
        "mv" | "rm" => all(w, &operands(args, &[])),
        "checkout" | "restore" | "apply" | "am" | "stash" | "reset" | "clean" | "merge"
        | "pull" | "rebase" | "cherry-pick" | "revert" | "switch" => {
            // A new branch changes no file.
            let branch_only = sub == "checkout"
                && args
                    .iter()
                    .all(|(a, _)| a == "-b" || a == "-B" || !a.starts_with('-'))
                && args.iter().any(|(a, _)| a == "-b" || a == "-B")
                && args.len() <= 3;
            if !branch_only {
                note(w, format!("git {sub} changes files it does not name"));
            }
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------
// Tokens

/// Splits a command line as a POSIX shell would, far enough to find commands, words and
/// redirections: quotes, escapes, `$(…)`, comments and here-documents (their bodies are data).
fn tokens(s: &str) -> Vec<Tok> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = vec![];
    let mut word = String::new();
    let mut in_word = false;
    let mut dynamic = false;
    let mut quoted = false;
    let mut heredocs: Vec<(String, bool)> = vec![];
    let mut i = 0;
    macro_rules! flush {
        () => {
            if in_word {
                out.push(Tok::Word {
                    text: std::mem::take(&mut word),
                    dynamic,
                });
                in_word = false;
                dynamic = false;
                quoted = false;
            }
        };
    }
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\r' => flush!(),
            '\n' => {
                flush!();
                out.push(Tok::Sep);
                if !heredocs.is_empty() {
                    i = skip_heredocs(&chars, i + 1, &mut heredocs);
                    continue;
                }
            }
            '#' if !in_word => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                continue;
            }
            '\\' => {
                in_word = true;
                if let Some(&n) = chars.get(i + 1) {
                    if n != '\n' {
                        word.push(n);
                    }
                    i += 1;
                }
            }
            '\'' => {
                in_word = true;
                quoted = true;
                i += 1;
                while i < chars.len() && chars[i] != '\'' {
                    word.push(chars[i]);
                    i += 1;
                }
            }
            '"' => {
                in_word = true;
                quoted = true;
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    match chars[i] {
                        '\\' if i + 1 < chars.len() => {
                            i += 1;
                            word.push(chars[i]);
                        }
                        '$' | '`' => {
                            dynamic = true;
                            word.push(chars[i]);
                        }
                        ch => word.push(ch),
                    }
                    i += 1;
                }
            }
            '$' | '`' => {
                in_word = true;
                dynamic = true;
                let end = substitution_end(&chars, i);
                word.extend(&chars[i..end]);
                i = end;
                continue;
            }
            '*' | '?' | '[' => {
                in_word = true;
                dynamic = true;
                word.push(c);
            }
            '~' if !in_word => {
                in_word = true;
                dynamic = true;
                word.push(c);
            }
            ';' | '|' | '(' | ')' => {
                flush!();
                out.push(Tok::Sep);
                if c == '|' && matches!(chars.get(i + 1), Some('|') | Some('&')) {
                    i += 1;
                }
            }
            '&' => {
                flush!();
                if chars.get(i + 1) == Some(&'>') {
                    i += if chars.get(i + 2) == Some(&'>') { 2 } else { 1 };
                    out.push(Tok::Redir {
                        writes: true,
                        dup: false,
                    });
                } else {
                    if chars.get(i + 1) == Some(&'&') {
                        i += 1;
                    }
                    out.push(Tok::Sep);
                }
            }
            '>' | '<' => {
                // `2>` : the digits before the operator name a descriptor, not a word.
                if in_word && !quoted && !dynamic && word.chars().all(|d| d.is_ascii_digit()) {
                    word.clear();
                    in_word = false;
                }
                flush!();
                let (tok, len, heredoc) = redirection(&chars, i);
                if let Some(strip) = heredoc {
                    let (delim, next) = heredoc_word(&chars, i + len);
                    heredocs.push((delim, strip));
                    out.push(tok);
                    i = next;
                    continue;
                }
                out.push(tok);
                i += len;
                continue;
            }
            _ => {
                in_word = true;
                word.push(c);
            }
        }
        i += 1;
    }
    if in_word {
        out.push(Tok::Word {
            text: word,
            dynamic,
        });
    }
    out
}

/// The operator at `i`, its length, and for `<<`/`<<-` whether tabs are stripped.
fn redirection(chars: &[char], i: usize) -> (Tok, usize, Option<bool>) {
    let at = |k: usize| chars.get(i + k).copied();
    if chars[i] == '>' {
        return match at(1) {
            Some('>') => (
                Tok::Redir {
                    writes: true,
                    dup: false,
                },
                2,
                None,
            ),
            Some('|') => (
                Tok::Redir {
                    writes: true,
                    dup: false,
                },
                2,
                None,
            ),
            Some('&') => (
                Tok::Redir {
                    writes: true,
                    dup: true,
                },
                2,
                None,
            ),
            _ => (
                Tok::Redir {
                    writes: true,
                    dup: false,
                },
                1,
                None,
            ),
        };
    }
    let read = Tok::Redir {
        writes: false,
        dup: false,
    };
    match (at(1), at(2)) {
        (Some('<'), Some('<')) => (read, 3, None),
        (Some('<'), Some('-')) => (read, 3, Some(true)),
        (Some('<'), _) => (read, 2, Some(false)),
        (Some('&'), _) => (read, 2, None),
        _ => (read, 1, None),
    }
}

/// The here-document delimiter after `<<` (quotes removed) and where scanning goes on.
fn heredoc_word(chars: &[char], mut i: usize) -> (String, usize) {
    while i < chars.len() && matches!(chars[i], ' ' | '\t') {
        i += 1;
    }
    let mut d = String::new();
    while i < chars.len() && !matches!(chars[i], ' ' | '\t' | '\n' | ';' | '|' | '&' | '<' | '>') {
        if !matches!(chars[i], '\'' | '"' | '\\') {
            d.push(chars[i]);
        }
        i += 1;
    }
    (d, i)
}

/// Skips the bodies of the pending here-documents, from the start of the line after them.
fn skip_heredocs(chars: &[char], mut i: usize, pending: &mut Vec<(String, bool)>) -> usize {
    for (delim, strip) in pending.drain(..) {
        loop {
            let start = i;
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            let line: String = chars[start..i].iter().collect();
            i = (i + 1).min(chars.len());
            let line = if strip {
                line.trim_start_matches('\t')
            } else {
                line.as_str()
            };
            if line.trim_end_matches('\r') == delim || i >= chars.len() {
                break;
            }
        }
    }
    i
}

/// The end of `$VAR`, `${…}`, `$(…)` or a backtick substitution starting at `i`.
fn substitution_end(chars: &[char], i: usize) -> usize {
    let (open, close) = match (chars[i], chars.get(i + 1)) {
        ('`', _) => {
            let mut j = i + 1;
            while j < chars.len() && chars[j] != '`' {
                j += 1;
            }
            return (j + 1).min(chars.len());
        }
        ('$', Some('(')) => ('(', ')'),
        ('$', Some('{')) => ('{', '}'),
        _ => {
            let mut j = i + 1;
            while j < chars.len() && (chars[j].is_ascii_alphanumeric() || chars[j] == '_') {
                j += 1;
            }
            return j.max(i + 1);
        }
    };
    let mut depth = 0;
    let mut j = i + 1;
    while j < chars.len() {
        if chars[j] == open {
            depth += 1;
        } else if chars[j] == close {
            depth -= 1;
            if depth == 0 {
                return j + 1;
            }
        }
        j += 1;
    }
    chars.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(cmd: &str) -> Vec<String> {
        writes(cmd).targets
    }

    #[test]
    fn redirections_name_their_files() {
        assert_eq!(t("cat > src/a.rs"), ["src/a.rs"]);
        assert_eq!(t("echo hi >>notes.txt"), ["notes.txt"]);
        assert_eq!(t("echo x 2>err.log"), ["err.log"]);
        assert_eq!(t("make 2>&1 | tee build.log"), ["build.log"]);
        assert_eq!(t("ls >&2"), Vec::<String>::new());
        assert_eq!(t("cmd &> out.txt"), ["out.txt"]);
        assert_eq!(t("echo 'a > b' \"c > d\""), Vec::<String>::new());
        assert_eq!(t("wc -l < input.txt"), Vec::<String>::new());
    }

    #[test]
    fn writers_name_their_files() {
        assert_eq!(t("sed -i 's/a/b/' src/x.rs"), ["src/x.rs"]);
        assert_eq!(t("sed -i.bak -e 's/a/b/' a.rs b.rs"), ["a.rs", "b.rs"]);
        assert_eq!(t("sed 's/a/b/' src/x.rs"), Vec::<String>::new());
        assert_eq!(t("mv a.rs b.rs"), ["a.rs", "b.rs"]);
        assert_eq!(t("cp -r templates/x src/"), ["src/"]);
        assert_eq!(t("rm -rf build"), ["build"]);
        assert_eq!(t("sudo -E touch x"), ["x"]);
        assert_eq!(t("FOO=1 tee -a log"), ["log"]);
        assert_eq!(t("git mv a b && git status"), ["a", "b"]);
        assert_eq!(t("bash -c 'echo x > y'"), ["y"]);
        assert_eq!(t("cd src; rm x"), ["x"]);
        assert_eq!(t("dd if=/dev/zero of=disk.img"), ["disk.img"]);
    }

    #[test]
    fn read_only_commands_write_nothing() {
        for c in [
            "cat src/a.rs",
            "grep -rn foo src | head",
            "cargo test --release",
            "git log --oneline -5",
            "ls -la # > not a file",
            "git checkout -b topic",
        ] {
            assert_eq!(writes(c), Writes::default(), "{c}");
        }
    }

    #[test]
    fn heredoc_bodies_are_data() {
        let w = writes(
            "cat > .orchestration/tasks/T/PLAN.md <<'EOF'\nrm -rf src\necho > x\nEOF\necho done",
        );
        assert_eq!(w.targets, [".orchestration/tasks/T/PLAN.md"]);
        assert!(w.unjudged.is_none());
    }

    #[test]
    fn what_only_the_shell_knows_is_unjudged() {
        for c in [
            "echo x > $OUT",
            "rm *.rs",
            "eval \"$CMD\"",
            "find . -name '*.o' -delete",
            "ls | xargs rm",
            "git checkout -- src",
            "patch -p1 < fix.diff",
        ] {
            let w = writes(c);
            assert!(w.unjudged.is_some(), "{c}: {w:?}");
        }
    }
}
