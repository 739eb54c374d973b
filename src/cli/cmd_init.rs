//! `orch init`.

use super::args::{Cli, HooksCmd};
use super::render::{self, Out, Tone};
use orch::ops;
use orch::Result;

pub fn init(cli: &Cli, out: &Out, hooks: bool) -> Result<()> {
    let r = ops::init::init(&super::cwd(cli)?)?;
    if out.json {
        out.json_ok(&r, &[]);
    } else if r.created.is_empty() {
        out.say(&format!(
            "{} .orchestration/ is already set up in {}",
            out.paint(Tone::Good, "✓"),
            r.root
        ));
    } else {
        let commit = render::commit_note(r.commit.as_ref());
        out.say(&format!(
            "{} Initialised .orchestration/ in {}{commit}",
            out.paint(Tone::Good, "✓"),
            r.root
        ));
        out.say("  next: orch task new --title \"...\"");
    }
    if hooks {
        super::cmd_git::hooks(cli, out, &HooksCmd::Install { force: false })?;
    }
    Ok(())
}
