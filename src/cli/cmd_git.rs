//! Commands that read or guard git history: log, verify, hooks, hook, report.

use super::args::{Cli, HooksCmd};
use super::render::Out;
use orch::project::Project;
use orch::{Error, Result};

fn todo(what: &str) -> Error {
    Error::usage(format!("`orch {what}` is not available in this build"))
}

pub fn log(_p: &Project, _out: &Out, _code: Option<&str>) -> Result<()> {
    Err(todo("log"))
}

pub fn verify(_p: &Project, _out: &Out, _range: Option<&str>, _codes: &[String]) -> Result<()> {
    Err(todo("verify"))
}

pub fn hooks(_cli: &Cli, _out: &Out, _h: &HooksCmd) -> Result<()> {
    Err(todo("hooks"))
}

pub fn hook(_cli: &Cli, _out: &Out, _name: &str, _args: &[String]) -> Result<()> {
    Err(todo("hook"))
}

pub fn report(_p: &Project, _out: &Out, _code: Option<&str>, _format: &str) -> Result<()> {
    Err(todo("report"))
}
