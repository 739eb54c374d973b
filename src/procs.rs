//! Which processes are alive and which hold a file: what tells a stale lock from one in use.
//! Read from `/proc` (Linux); elsewhere the answers are "unknown", and callers treat unknown
//! as "maybe in use" so that nothing is removed on a guess.

use std::path::{Path, PathBuf};

/// Whether a process with this id exists (it may belong to another user).
pub fn alive(pid: u32) -> bool {
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks that the process exists and may be signalled.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// The short command name of a live process (`/proc/PID/comm`), when readable.
pub fn command_name(pid: u32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|s| s.trim().to_string())
}

/// Whether `/proc` can answer the questions below on this system.
pub fn inspectable() -> bool {
    Path::new("/proc/self/fd").is_dir()
}

fn other_pids() -> Vec<u32> {
    let me = std::process::id();
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return vec![];
    };
    rd.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| *p != me)
        .collect()
}

/// Processes (other than this one) with `path` open, as far as this user may see.
pub fn holders(path: &Path) -> Vec<u32> {
    let Ok(target) = std::fs::canonicalize(path) else {
        return vec![];
    };
    let mut out = vec![];
    for pid in other_pids() {
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        if fds
            .flatten()
            .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|l| l == target))
        {
            out.push(pid);
        }
    }
    out
}

/// The process holding a `flock` on `path`, from `/proc/locks` (matched by inode).
pub fn flock_holder(path: &Path) -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    let ino = std::fs::metadata(path).ok()?.ino();
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    locks.lines().find_map(|line| parse_lock_line(line, ino))
}

/// `1: FLOCK  ADVISORY  WRITE 4242 08:01:123456 0 EOF` → 4242 when the inode is `ino`.
fn parse_lock_line(line: &str, ino: u64) -> Option<u32> {
    let f: Vec<&str> = line.split_whitespace().collect();
    // A waiting lock is shown with "->" after the number; it holds nothing.
    if f.get(1) == Some(&"->") || f.get(1) != Some(&"FLOCK") {
        return None;
    }
    let pid: u32 = f.get(4)?.parse().ok()?;
    let inode: u64 = f.get(5)?.rsplit(':').next()?.parse().ok()?;
    (inode == ino).then_some(pid)
}

/// Live processes (other than this one) named one of `names` whose working directory is
/// inside `dir`: the git or orch commands that may own a lock file they do not keep open.
pub fn working_in(dir: &Path, names: &[&str]) -> Vec<u32> {
    let dir: PathBuf = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    other_pids()
        .into_iter()
        .filter(|pid| command_name(*pid).is_some_and(|c| names.contains(&c.as_str())))
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|c| c.starts_with(&dir))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_lines() {
        let l = "1: FLOCK  ADVISORY  WRITE 4242 08:01:123456 0 EOF";
        assert_eq!(parse_lock_line(l, 123456), Some(4242));
        assert_eq!(parse_lock_line(l, 1), None);
        assert_eq!(
            parse_lock_line("1: -> FLOCK  ADVISORY  WRITE 77 08:01:123456 0 EOF", 123456),
            None
        );
        assert_eq!(
            parse_lock_line("2: POSIX  ADVISORY  WRITE 9 08:01:123456 0 EOF", 123456),
            None
        );
        assert_eq!(parse_lock_line("", 1), None);
    }

    #[test]
    fn this_process_is_alive_and_a_huge_pid_is_not() {
        assert!(alive(std::process::id()));
        assert!(!alive(u32::MAX));
        assert!(!alive(0));
    }
}
