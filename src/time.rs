//! Go's time package, the parts that park goroutines: `sleep` and `after`.
//!
//! Timers are run by the runtime (see `gort_runtime::time`); a goroutine waiting for one is
//! parked, never its OS thread. Durations are `std::time::Duration`, times `std::time::Instant`.

use crate::{chan, Chan};
use std::time::{Duration, Instant};

/// Parks the calling goroutine for at least `d`. A zero duration returns at once.
///
/// # Panics
/// Outside a goroutine (for a non-zero duration).
pub fn sleep(d: Duration) {
    gort_runtime::time::sleep(d)
}

/// A channel that receives the current time once `d` has passed (Go's `time.After`). The
/// channel has a one-value buffer, so the timer never blocks when nobody receives.
///
/// # Panics
/// Outside a goroutine.
pub fn after(d: Duration) -> Chan<Instant> {
    let c = chan::<Instant>(1);
    let tx = c.clone();
    let _ = gort_runtime::time::after_call(
        d,
        Box::new(move || {
            let _ = tx.try_send(Instant::now());
        }),
    );
    c
}
