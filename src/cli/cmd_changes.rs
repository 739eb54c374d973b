//! Commands about the work itself: changes (CHANGES.md) and task links.

use super::render::Out;
use orch::project::Project;
use orch::{Error, Result};

pub fn changes(
    _p: &Project,
    _out: &Out,
    _code: Option<&str>,
    _patch: bool,
    _stdout: bool,
) -> Result<()> {
    Err(Error::usage(
        "`orch changes` is not available in this build",
    ))
}

pub fn link(
    _p: &Project,
    _out: &Out,
    _code: Option<&str>,
    _pr: Option<&str>,
    _issue: Option<&str>,
    _commit: Option<&str>,
) -> Result<()> {
    Err(Error::usage(
        "`orch task link` is not available in this build",
    ))
}
