//! Termination signals (SIGTERM, SIGINT, SIGHUP, SIGQUIT) and the commit protocol.
//!
//! gix's own handler removes every lock file the process holds and exits. Once a commit's ref
//! moved, that is the one thing that must not happen: `index.lock` then holds the index that
//! matches the new commit, and without it the user's next commit reverts the transition. So
//! orch installs its own handler. Outside a [`Protected`] section it does what gix's did:
//! remove the lock files, then die of the signal (as SIGKILL would, recovery finishes or undoes
//! the transition). Inside one it only records the signal; the commit gives up at its last
//! check before the ref moves ([`requested`]), or completes, and the process dies of the
//! signal as the section ends. Either way the transition is wholly there or wholly not.

use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};

const SIGNALS: [libc::c_int; 4] = [libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGQUIT];

/// How many protected sections are open (threads may each have one).
static PROTECTED: AtomicUsize = AtomicUsize::new(0);
/// The first signal that arrived during a protected section, or 0.
static PENDING: AtomicI32 = AtomicI32::new(0);

/// Installs the handler for the termination signals, leaving alone any the process was told to
/// ignore (`nohup`). Safe to call repeatedly.
pub fn install() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        for sig in SIGNALS {
            // SAFETY: the handler only touches atomics and calls async-signal-safe functions
            // (gix's signal-safe tempfile cleanup, signal, raise, _exit).
            unsafe {
                let mut old: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(sig, std::ptr::null(), &mut old) == 0
                    && old.sa_sigaction == libc::SIG_IGN
                {
                    continue;
                }
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
                action.sa_flags = libc::SA_RESTART;
                libc::sigemptyset(&mut action.sa_mask);
                libc::sigaction(sig, &action, std::ptr::null_mut());
            }
        }
    });
}

extern "C" fn on_signal(sig: libc::c_int) {
    let _ = PENDING.compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst);
    // Checked after recording: a section that closed meanwhile has already looked for it.
    if PROTECTED.load(Ordering::SeqCst) == 0 {
        let sig = PENDING.swap(0, Ordering::SeqCst);
        if sig != 0 {
            terminate(sig);
        }
    }
}

/// Removes the lock files this process holds and dies of `sig`, as without any handler.
fn terminate(sig: libc::c_int) -> ! {
    gix::tempfile::registry::cleanup_tempfiles_signal_safe();
    // SAFETY: async-signal-safe calls only; the signal is unblocked so that raising it with
    // the default action ends the process even from inside its own handler.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, sig);
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        libc::raise(sig);
        libc::_exit(128 + sig)
    }
}

/// While alive, a termination signal is held back; when the last one is dropped, a signal
/// that arrived meanwhile ends the process.
pub struct Protected(());

/// Opens a protected section; see the module docs.
pub fn protect() -> Protected {
    PROTECTED.fetch_add(1, Ordering::SeqCst);
    Protected(())
}

/// Whether a termination signal arrived during a protected section.
pub fn requested() -> bool {
    PENDING.load(Ordering::SeqCst) != 0
}

impl Drop for Protected {
    fn drop(&mut self) {
        if PROTECTED.fetch_sub(1, Ordering::SeqCst) == 1 {
            let sig = PENDING.swap(0, Ordering::SeqCst);
            if sig != 0 {
                terminate(sig);
            }
        }
    }
}
