//! Active spinning: whether a goroutine waiting for a `Mutex` may spin instead of parking
//! (`can_spin`), and one spin step (`do_spin`), which the runtime's own `RawLock` also uses
//! before it sleeps on its futex.
//!
//! # A spin step is a duration, not a count
//! Go's step is `procyield(active_spin_cnt)`, 30 PAUSE instructions. PAUSE takes about 10
//! cycles on Intel CPUs before Skylake and up to about 140 from Skylake on (Intel's
//! optimization manual), and other values elsewhere (about 12 ns on the Xeon this project is
//! measured on). So the same 30 spin for anything from 0.1 to 1.5 µs. gort spins for
//! `SPIN_STEP_NS` (1 µs: Go's 30 PAUSEs on a Skylake-era server) and converts that to a PAUSE
//! count once per process by timing PAUSE itself, as .NET's normalized `YieldProcessor` does.
//! On the measurement machine that is about 83 PAUSEs; with Go's 30, 8 goroutines contending
//! on one `Mutex` at GOMAXPROCS=2 took about 64 ns per lock, with 83 about 49 ns: each step that
//! ends in a park costs far more than the spin it cut short (docs/benchmarks.md).
//!
//! # Invariants
//! - `SPIN_PAUSES` is 0 until the first `do_spin` measures it, then fixed for the process.
//! - Spinning never outlasts `ACTIVE_SPIN` steps, and happens only while another P runs and
//!   this P has nothing else to run (`can_spin`), so it only burns time the P would idle.

use crate::loom::{AtomicU32, Ordering};
use crate::sched::m::getm;
use std::time::{Duration, Instant};

/// Go's `active_spin`: spin steps before a waiter parks.
const ACTIVE_SPIN: u32 = 4;
/// The length of one spin step.
const SPIN_STEP_NS: u128 = 1_000;
/// PAUSEs timed per calibration trial.
const PROBE_PAUSES: u32 = 100;
/// Bounds on the calibrated count: at least one PAUSE, and a cap for CPUs whose spin hint is
/// nearly free (where the step would otherwise be thousands of iterations of nothing).
const MIN_PAUSES: u32 = 1;
const MAX_PAUSES: u32 = 4_096;

/// PAUSEs per spin step; 0 until calibrated.
static SPIN_PAUSES: AtomicU32 = AtomicU32::new(0);

/// Whether a goroutine spinning on a sync primitive should spin once more (`iter` is how many
/// times it has spun): only a few times, only with more than one CPU and another P running,
/// and only if this P has no other work.
///
/// Go: `sync_runtime_canSpin` (proc.go).
///
/// # Examples
/// ```
/// // Outside a goroutine there is no P to keep busy: never spin.
/// assert!(!gort_runtime::rt::can_spin(0));
/// ```
pub fn can_spin(iter: u32) -> bool {
    if iter >= ACTIVE_SPIN || crate::env::num_cpu() <= 1 {
        return false;
    }
    let Some(m) = getm() else { return false };
    let sched = m.sched;
    // ORDERING: heuristics only.
    let busy_others =
        sched.npidle.load(Ordering::Relaxed) + sched.nmspinning.load(Ordering::Relaxed) + 1;
    if sched.gomaxprocs <= busy_others {
        return false;
    }
    match m.p() {
        Some(pp) => crate::sched::runq::runq_empty(pp),
        None => false,
    }
}

/// One spin step: about `SPIN_STEP_NS` of PAUSE instructions (Go's
/// `procyield(active_spin_cnt)`, normalized to a duration; see the module docs).
///
/// # Examples
/// ```
/// gort_runtime::rt::do_spin(); // about a microsecond of spin hints
/// ```
pub fn do_spin() {
    // ORDERING: Relaxed: a calibrated constant; a thread that sees 0 calibrates again, which
    // gives the same answer.
    let mut n = SPIN_PAUSES.load(Ordering::Relaxed);
    if n == 0 {
        n = calibrate();
    }
    for _ in 0..n {
        std::hint::spin_loop();
    }
}

/// Times PAUSE (the fastest of three trials, so a trial cut by a preemption does not count)
/// and stores the count that makes a step last `SPIN_STEP_NS`.
#[cold]
#[inline(never)]
fn calibrate() -> u32 {
    let fastest = (0..3)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..PROBE_PAUSES {
                std::hint::spin_loop();
            }
            t.elapsed()
        })
        .min()
        .unwrap_or(Duration::ZERO)
        .as_nanos()
        .max(1);
    let n = (SPIN_STEP_NS * u128::from(PROBE_PAUSES) / fastest)
        .clamp(u128::from(MIN_PAUSES), u128::from(MAX_PAUSES)) as u32;
    // The first calibration to finish wins, so the count never changes once set.
    // ORDERING: see `do_spin`.
    match SPIN_PAUSES.compare_exchange(0, n, Ordering::Relaxed, Ordering::Relaxed) {
        Ok(_) => n,
        Err(first) => first,
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn calibrated_count_is_within_bounds_and_kept() {
        do_spin();
        // ORDERING: test read.
        let n = SPIN_PAUSES.load(Ordering::Relaxed);
        assert!((MIN_PAUSES..=MAX_PAUSES).contains(&n), "{n}");
        do_spin();
        assert_eq!(SPIN_PAUSES.load(Ordering::Relaxed), n);
    }
}
