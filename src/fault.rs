//! Named fault points in the transition protocol, so tests can stop or fail orch at an exact
//! step (after the files are written, after the index is locked, after the ref moved, ...).
//!
//! They exist only in builds with the `failpoints` cargo feature, which `cargo test` turns on
//! (the crate's dev-dependency on itself) and every other build leaves off: without it
//! [`fault_point!`] expands to nothing and `FAILPOINTS` is never read.
//!
//! A test names the points and what happens there in `FAILPOINTS`, as the `fail` crate reads
//! it: `commit::ref-moved=return(SIGTERM);commit::index-locked=sleep(100)`. Besides the
//! crate's own actions (`sleep(ms)`, `panic`, `pause`, ...), `return(ARG)` does:
//!
//! - `SIGKILL`, `SIGTERM`, `SIGINT`, `SIGHUP`, `SIGQUIT`: orch sends itself the signal at that
//!   point, exactly as if it had arrived from outside then;
//! - `error` (also an empty argument): the step fails with a runtime error;
//! - `enospc`: the step fails as a full disk makes it fail;
//! - `wait:PATH`: orch creates `PATH.reached`, then waits (up to a minute) until `PATH.go`
//!   exists, so a test can change the repository at that exact point and let orch go on.

#[cfg(feature = "failpoints")]
use crate::{Error, Result};

/// The points, by step of the protocol. Tests use these names in `FAILPOINTS`.
pub mod points {
    /// The task files are written (under `index.lock` when committing); nothing is
    /// committed yet.
    pub const FILES_WRITTEN: &str = "ops::files-written";
    /// `index.lock` is held and the index read.
    pub const INDEX_LOCKED: &str = "commit::index-locked";
    /// Blobs, trees and the commit object are written, the new index is in `index.lock`,
    /// the commit's id is in the journal.
    pub const OBJECTS_WRITTEN: &str = "commit::objects-written";
    /// The ref locks are held and checked; the ref has not moved.
    pub const REF_LOCKED: &str = "commit::ref-locked";
    /// The ref moved; the new index is not yet published.
    pub const REF_MOVED: &str = "commit::ref-moved";
    /// The transition is over and its journal removed, its commit id not yet.
    pub const JOURNAL_REMOVED: &str = "store::journal-removed";
    /// A failed transition is putting its files back.
    pub const RESTORING: &str = "store::restoring";
    /// A search index built from nothing has its segments written, not yet committed.
    pub const SEARCH_SEGMENTS: &str = "search::segments-written";
    /// Recovery is settling an interrupted transition.
    pub const RECOVERING: &str = "recover::settling";
}

/// Evaluates the fault point `$name` (see the module docs). In a function returning
/// [`Result`], an injected failure returns from it with the error.
macro_rules! fault_point {
    ($name:expr) => {
        #[cfg(feature = "failpoints")]
        {
            if let Some(arg) = ::fail::eval($name, |arg| arg) {
                $crate::fault::act($name, arg)?;
            }
        }
        #[cfg(not(feature = "failpoints"))]
        {
            let _: &str = $name;
        }
    };
}
pub(crate) use fault_point;

/// Reads `FAILPOINTS`; call once at the start of the process. A no-op without the feature.
pub fn setup() {
    #[cfg(feature = "failpoints")]
    std::mem::forget(fail::FailScenario::setup());
}

/// Carries out `return(arg)` at the point `name`.
#[cfg(feature = "failpoints")]
pub(crate) fn act(name: &str, arg: Option<String>) -> Result<()> {
    let arg = arg.unwrap_or_default();
    let signal = match arg.as_str() {
        "SIGKILL" => Some(libc::SIGKILL),
        "SIGTERM" => Some(libc::SIGTERM),
        "SIGINT" => Some(libc::SIGINT),
        "SIGHUP" => Some(libc::SIGHUP),
        "SIGQUIT" => Some(libc::SIGQUIT),
        _ => None,
    };
    if let Some(sig) = signal {
        // SAFETY: raise only queues a signal for this thread; its handler does the rest.
        unsafe { libc::raise(sig) };
        return Ok(());
    }
    if let Some(path) = arg.strip_prefix("wait:") {
        wait_for(path);
        return Ok(());
    }
    match arg.as_str() {
        "enospc" => Err(Error::runtime(format!(
            "could not continue at {name}: {}",
            std::io::Error::from_raw_os_error(libc::ENOSPC)
        ))),
        _ => Err(Error::runtime(format!("injected fault at {name}"))),
    }
}

#[cfg(feature = "failpoints")]
fn wait_for(path: &str) {
    let _ = std::fs::write(format!("{path}.reached"), b"");
    let go = std::path::PathBuf::from(format!("{path}.go"));
    for _ in 0..6000 {
        if go.exists() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}
