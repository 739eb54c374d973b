//! CHANGES.md, built from the git diff of the execute phase.

use crate::code::TaskCode;
use crate::project::Project;
use crate::session::Session;
use crate::store::Write_;
use crate::Result;

/// The regenerated CHANGES.md to include in a transition, if there is anything to write.
pub fn derived_write(_p: &Project, _code: &TaskCode, _s: &Session) -> Result<Option<Write_>> {
    Ok(None)
}
