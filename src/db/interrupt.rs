//! SIGINT and SIGTERM during an online run.
//!
//! [`install`] starts a thread that waits for either signal. Before a
//! database connection is registered nothing has been written, so the
//! thread prints one line and ends the process at once (status 128 + the
//! signal). Once a connection is registered with [`set_canceller`], the
//! thread only records the signal and cancels the running statement
//! (PostgreSQL: a cancel request on a second connection; SQLite:
//! `sqlite3_interrupt`), repeating the cancel every 200 ms in case it
//! arrived between two statements. The runner notices [`received`] after
//! the statement fails or before the next one starts, rolls back the open
//! revision and returns [`RunError::Interrupted`](super::RunError), so that
//! the lock is released and the caller prints one line and exits.

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// Cancels whatever statement the registered connection is running.
pub type Canceller = Box<dyn Fn() + Send>;

static RECEIVED: AtomicI32 = AtomicI32::new(0);
static CANCELLER: Mutex<Option<Canceller>> = Mutex::new(None);
static INSTALLED: OnceLock<bool> = OnceLock::new();

/// Starts watching for SIGINT and SIGTERM (once per process). Returns false
/// when the handlers could not be installed; the process then keeps the
/// default behaviour.
pub fn install() -> bool {
    *INSTALLED.get_or_init(|| {
        let Ok(mut signals) = signal_hook::iterator::Signals::new([
            signal_hook::consts::SIGINT,
            signal_hook::consts::SIGTERM,
        ]) else {
            return false;
        };
        std::thread::spawn(move || {
            if let Some(signal) = signals.forever().next() {
                RECEIVED.store(signal, Ordering::SeqCst);
                loop {
                    {
                        let guard = CANCELLER.lock().unwrap_or_else(|e| e.into_inner());
                        match guard.as_ref() {
                            Some(cancel) => cancel(),
                            None => {
                                eprintln!(
                                    "aurora: interrupted by {}; nothing was written",
                                    signal_name(signal)
                                );
                                std::process::exit(exit_status(signal));
                            }
                        }
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        });
        true
    })
}

/// Registers (or, with `None`, clears) how to cancel the running statement.
/// While one is registered a signal no longer ends the process by itself.
pub fn set_canceller(canceller: Option<Canceller>) {
    *CANCELLER.lock().unwrap_or_else(|e| e.into_inner()) = canceller;
}

/// The signal received, if any.
pub fn received() -> Option<i32> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        signal => Some(signal),
    }
}

/// `SIGINT`, `SIGTERM`.
pub fn signal_name(signal: i32) -> &'static str {
    match signal {
        signal_hook::consts::SIGINT => "SIGINT",
        signal_hook::consts::SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}

/// The shell's status for a process ended by `signal`: 130 for SIGINT, 143 for SIGTERM.
pub fn exit_status(signal: i32) -> i32 {
    128 + signal
}
