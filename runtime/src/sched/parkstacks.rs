//! Full stacks of parked goroutines in dumps, opt-in with `GORT_PARK_STACKS=1`.
//!
//! A dump shows each parked goroutine's park site (the gort call it is blocked in and the source
//! line of that call, `G::parkpc`) at no cost. A full backtrace of a suspended coroutine cannot
//! be taken afterwards with std (its unwinder starts from the current thread's registers), so
//! in this mode each park captures the goroutine's own stack first (`Backtrace::force_capture`,
//! unresolved; symbolized only when a dump prints it). That costs microseconds per park, hence
//! opt-in, like Go's `GOTRACEBACK` levels.
//!
//! # Invariants
//! - Off (the default), the only cost is `enabled()`: a `OnceLock` load and a branch per park.
//! - `STACKS` holds at most one backtrace per live goroutine (replaced at each park, removed at
//!   exit); its lock is never held across a park.

use std::backtrace::Backtrace;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// The environment variable that turns the mode on (`1`).
pub const ENV: &str = "GORT_PARK_STACKS";

fn stacks() -> &'static Mutex<HashMap<u64, Backtrace>> {
    static STACKS: OnceLock<Mutex<HashMap<u64, Backtrace>>> = OnceLock::new();
    STACKS.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Whether parks record their stacks (read once from `GORT_PARK_STACKS`).
#[inline]
pub(crate) fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var(ENV).is_ok_and(|v| v == "1"))
}

/// Records the calling goroutine's stack as it parks.
#[cold]
#[inline(never)]
pub(crate) fn record(goid: u64) {
    let bt = Backtrace::force_capture();
    stacks()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(goid, bt);
}

/// Forgets an exiting goroutine's stack.
#[cold]
pub(crate) fn forget(goid: u64) {
    stacks()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&goid);
}

/// The recorded stack of a parked goroutine, as Go frames, if there is one.
pub(crate) fn frames(goid: u64) -> Option<String> {
    if !enabled() {
        return None;
    }
    let text = stacks()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&goid)
        .map(|bt| bt.to_string())?;
    Some(crate::sched::traceback::go_frames(&text))
}
