//! `orch completions` and `orch man`: shell completion scripts and man pages, generated from
//! the same clap definitions that parse the command line, so they never drift from it.

use super::args::{Cli, CompletionShell};
use super::render::Out;
use clap::CommandFactory;
use orch::{Error, Result};
use std::io::Write;

pub fn completions(out: &Out, shell: CompletionShell) -> Result<()> {
    use clap_complete::Shell;
    let shell = match shell {
        CompletionShell::Bash => Shell::Bash,
        CompletionShell::Zsh => Shell::Zsh,
        CompletionShell::Fish => Shell::Fish,
        CompletionShell::Powershell => Shell::PowerShell,
    };
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "orch", &mut buf);
    emit(out, "completions", &shell.to_string(), buf)
}

/// The page of `orch`, or of the command `path` names (`session start` → orch-session-start).
pub fn man(out: &Out, path: &[String]) -> Result<()> {
    let mut cmd = Cli::command();
    cmd.build();
    let mut name = "orch".to_string();
    for word in path {
        let sub = cmd
            .get_subcommands()
            .find(|c| c.get_name() == word.as_str())
            .cloned()
            .ok_or_else(|| {
                let known: Vec<&str> = cmd.get_subcommands().map(|c| c.get_name()).collect();
                Error::usage(format!("`{name}` has no command {word:?}")).with_hint(format!(
                    "name one of: {} (or none, for orch's own page)",
                    known.join(", ")
                ))
            })?;
        name = format!("{name}-{}", sub.get_name());
        cmd = sub;
    }
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd)
        .title(name.to_uppercase())
        .source(format!("orch {}", env!("CARGO_PKG_VERSION")))
        .render(&mut buf)
        .map_err(|e| Error::runtime(format!("cannot render the man page: {e}")))?;
    emit(out, "man", &name, buf)
}

/// The generated text on stdout as it is, or inside the one JSON document with `--json`.
fn emit(out: &Out, kind: &str, name: &str, text: Vec<u8>) -> Result<()> {
    let text = String::from_utf8(text)
        .map_err(|_| Error::runtime(format!("the generated {kind} text is not UTF-8")))?;
    if out.json {
        out.json_ok(
            &serde_json::json!({ "kind": kind, "name": name, "text": text }),
            &[],
        );
        return Ok(());
    }
    let mut o = std::io::stdout().lock();
    o.write_all(text.as_bytes())
        .and_then(|_| o.flush())
        .map_err(|e| Error::runtime(format!("cannot write to stdout: {e}")))
}
