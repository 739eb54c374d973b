//! For the tests of the library itself, which run gix in the test process: that process's
//! own environment made hermetic, and plain git run in a folder with it.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Once;

/// The library reads config in-process, so the process itself must not see the developer's
/// global git config. Every in-process test calls this before anything else, and `Once`
/// makes the others wait, so no such test reads the environment while it changes. The
/// tests that run the binary are not affected: their children start from an empty
/// environment (see [`super::hermetic`]).
pub fn hermetic_process() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let home = tempfile::TempDir::new().unwrap().keep();
        std::env::set_var("HOME", &home);
        std::env::set_var("XDG_CONFIG_HOME", home.join(".config"));
        std::env::set_var("GIT_CONFIG_NOSYSTEM", "1");
        std::env::set_var("GIT_CONFIG_GLOBAL", "/dev/null");
        for var in [
            "GIT_DIR",
            "GIT_WORK_TREE",
            "GIT_INDEX_FILE",
            "GIT_AUTHOR_NAME",
            "GIT_AUTHOR_EMAIL",
            "GIT_AUTHOR_DATE",
            "GIT_COMMITTER_NAME",
            "GIT_COMMITTER_EMAIL",
            "GIT_COMMITTER_DATE",
            "EMAIL",
            "GIT_CEILING_DIRECTORIES",
        ] {
            std::env::remove_var(var);
        }
        orch::git::install_signal_handlers();
    });
}

/// Runs git in `dir` with this process's (hermetic) environment, whatever its exit status.
pub fn git_raw(dir: &Path, args: &[&str]) -> Output {
    Command::new("git")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("git runs")
}

/// Runs git in `dir`; panics unless it succeeds; returns stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = git_raw(dir, args);
    assert!(
        out.status.success(),
        "git {args:?} failed in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Like [`git`], for output that need not be UTF-8.
pub fn git_bytes(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = git_raw(dir, args);
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

pub fn write(dir: &Path, rel: &str, content: &str) {
    let p = dir.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, content).unwrap();
}

#[cfg(unix)]
pub fn chmod(dir: &Path, rel: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(dir.join(rel), fs::Permissions::from_mode(mode)).unwrap();
}
