//! `orch completions` and `orch man`: generated from the clap definitions, checked by the
//! programs that read them (bash runs the completion function, nroff renders the page).

use crate::support::*;
use std::io::Write;
use std::process::{Command, Stdio};

/// What bash's completion function offers after `words` (the last one being completed).
fn bash_complete(script: &str, words: &[&str]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("orch.bash");
    std::fs::write(&file, script).unwrap();
    let words_q: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let prog = format!(
        "source '{}'\nCOMP_WORDS=({})\nCOMP_CWORD={}\nCOMP_LINE='{}'\nCOMP_POINT=${{#COMP_LINE}}\n_orch orch '{}' '{}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        file.display(),
        words_q.join(" "),
        words.len() - 1,
        words.join(" "),
        words[words.len() - 1],
        words[words.len().saturating_sub(2)],
    );
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &prog])
        .output()
        .expect("run bash");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

#[test]
fn bash_completion_offers_the_subcommands_and_their_flags() {
    let env = Env::no_repo();
    let script = env.orch(&["completions", "bash"]).succeeds().stdout;
    for cmd in [
        "session",
        "phase",
        "next",
        "prime",
        "completions",
        "man",
        "verify",
    ] {
        assert!(script.contains(cmd), "the script lacks {cmd}");
    }
    let top = bash_complete(&script, &["orch", "se"]);
    assert!(top.contains(&"session".to_string()), "{top:?}");
    assert!(top.contains(&"search".to_string()), "{top:?}");
    let start = bash_complete(&script, &["orch", "session", "start", "--re"]);
    assert!(start.contains(&"--reopen".to_string()), "{start:?}");
    assert!(start.contains(&"--restart".to_string()), "{start:?}");
}

#[test]
fn every_shell_gets_a_script_and_an_unknown_one_is_a_usage_error() {
    let env = Env::no_repo();
    for (shell, marker) in [
        ("zsh", "#compdef orch"),
        ("fish", "complete -c orch"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        env.orch(&["completions", shell])
            .succeeds()
            .stdout_contains(marker)
            .stdout_contains("session");
    }
    env.orch(&["completions", "tcsh"])
        .fails(2)
        .stderr_contains("bash");
    let v: serde_json::Value = env
        .orch(&["completions", "fish", "--json"])
        .succeeds()
        .json();
    assert_eq!(v["ok"], true);
    assert!(v["text"].as_str().unwrap().contains("complete -c orch"));
}

/// The page rendered as `man` would show it.
fn render(roff: &str) -> String {
    let mut child = Command::new("nroff")
        .args(["-man", "-Tutf8", "-rLL=300n"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("nroff is installed (.ci/run installs groff-base)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(roff.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    // nroff overstrikes bold text (`N\bN`); the plain letters are what a reader sees.
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let mut plain = String::new();
    for c in text.chars() {
        if c == '\u{8}' {
            plain.pop();
        } else {
            plain.push(c);
        }
    }
    plain
}

#[test]
fn the_man_page_renders_with_name_synopsis_and_the_commands() {
    let env = Env::no_repo();
    let roff = env.orch(&["man"]).succeeds().stdout;
    assert!(roff.contains(".TH ORCH 1"), "{roff}");
    let page = render(&roff);
    for section in ["NAME", "SYNOPSIS", "SUBCOMMANDS"] {
        assert!(
            page.lines().any(|l| l.trim() == section),
            "no {section} section:\n{page}"
        );
    }
    let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words(&page).contains("orch - Git-native phase workflow"),
        "{page}"
    );
    assert!(page.contains("orch-session(1)"), "{page}");
    let start = render(&env.orch(&["man", "session", "start"]).succeeds().stdout);
    assert!(
        words(&start).contains("orch-session-start - Start a session"),
        "{start}"
    );
    assert!(start.contains("--reopen"), "{start}");
    env.orch(&["man", "session", "stop"])
        .fails(2)
        .stderr_contains("start, end");
}
