//! Timers: Go's per-P timer heaps (`ptimers`, a 4-ary heap per P in `heap`), run by the
//! scheduler, and the API the time package builds on: `sleep` parks the goroutine on a timer of
//! its P (no allocation), `after_call` runs a short callback when a timer fires (channel
//! timers, deadlines, `after_func`), `TimerHost` re-arms timers from a callback.
//!
//! Who runs timers (docs/design.md "Timers"): the M holding a P runs that P's due timers at
//! the top of `find_runnable`; spinning Ms run other Ps' due timers on their last steal pass;
//! an M with nothing to do blocks in the netpoller until the earliest timer of any P, and a
//! timer added earlier than that breaks the poll. Callbacks therefore run on an M's scheduler
//! stack, outside any goroutine, and must not block.
//!
//! # Invariants
//! - A timer is added to the heap of the P its caller runs on, or, from a thread without a P of
//!   this runtime, to a P picked at random (every heap has its own lock).
//! - The netpoller exists before the first timer is added (the M sleeping until a timer sleeps
//!   in it, as Go's `doaddtimer` calls `netpollGenericInit`).

mod heap;
mod ptimers;

pub(crate) use ptimers::{live, sleep_until, PTimers};
pub use ptimers::{TimerState, TimerStatus};

use crate::coro::UnlockFn;
use crate::sched::g::{GPtr, WaitReason};
use crate::sched::m::{cheaprandn, getm};
use crate::sched::park::{gopark, outside_goroutine};
use crate::sched::Sched;
use ptimers::Action;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn current_sched(what: &str) -> &'static Sched {
    getm()
        .map(|m| m.sched)
        .unwrap_or_else(|| outside_goroutine(what))
}

fn deadline(sched: &Sched, d: Duration) -> i64 {
    sched
        .nanotime()
        .saturating_add(d.as_nanos().min(i64::MAX as u128) as i64)
}

/// Parks the calling goroutine for `d`. Zero returns at once (Go: `time.Sleep(0)`).
///
/// # Panics
/// Outside a goroutine (for a non-zero duration).
#[track_caller]
pub fn sleep(d: Duration) {
    if d.is_zero() {
        return;
    }
    let sched = current_sched("sleep");
    let when = deadline(sched, d);
    let mut req = (sched, when);
    // SAFETY: `add_sleep` registers the timer only after the G is off its stack, so the timer
    // cannot ready a G that is still running; `req` lives on the parked stack.
    unsafe {
        gopark(
            Some(add_sleep as UnlockFn),
            &mut req as *mut (&'static Sched, i64) as *mut (),
            WaitReason::Sleep,
        )
    };
}

/// # Safety
/// `arg` points to a `(&Sched, i64)` on the parked G's stack.
unsafe fn add_sleep(gp: GPtr, arg: *mut ()) -> bool {
    // SAFETY: per the contract.
    let (sched, when) = unsafe { *(arg as *const (&'static Sched, i64)) };
    add(sched, when, Action::Ready(gp));
    true
}

/// The heap a new timer of `sched` goes to: the caller's P, or a random P from a thread that
/// holds none of this runtime's Ps.
fn target(sched: &'static Sched) -> &'static PTimers {
    let own = getm()
        .filter(|m| std::ptr::eq(m.sched, sched))
        .and_then(|m| m.p());
    match own {
        Some(pp) => &pp.timers,
        None => &sched.allp[cheaprandn(sched.gomaxprocs) as usize].timers,
    }
}

/// Adds a timer to `ts` and makes sure an M will run it.
fn add_to(sched: &'static Sched, ts: &'static PTimers, when: i64, action: Action) {
    if let Err(e) = crate::netpoll::netpoll_of(sched) {
        crate::throw!("timers: cannot create the netpoller the scheduler sleeps in: {e}");
    }
    if ts.add(when, action) {
        ptimers::wake_net_poller(sched, when);
    }
}

fn add(sched: &'static Sched, when: i64, action: Action) {
    add_to(sched, target(sched), when, action);
}

fn add_call(sched: &'static Sched, d: Duration, f: Box<dyn FnOnce() + Send>) -> TimerHandle {
    let ts = target(sched);
    let state = ts.new_state();
    let action = Action::Call {
        state: state.clone(),
        f,
    };
    add_to(sched, ts, deadline(sched, d), action);
    TimerHandle { state }
}

/// Runs `f` when `d` has passed, on the scheduler's stack of whichever M runs the timer; `f`
/// must be short and must not block (a non-blocking channel send, a `goready`). Returns a
/// handle to stop it.
///
/// # Panics
/// Outside a goroutine.
pub fn after_call(d: Duration, f: Box<dyn FnOnce() + Send>) -> TimerHandle {
    add_call(current_sched("start a timer"), d, f)
}

/// `after_call` for a given runtime (callable from any thread).
pub(crate) fn after_call_in(
    sched: &'static Sched,
    d: Duration,
    f: Box<dyn FnOnce() + Send>,
) -> TimerHandle {
    add_call(sched, d, f)
}

/// The runtime a goroutine runs in, as a handle for timers that re-arm themselves from the
/// timer callback (tickers) and for starting goroutines from one (`after_func`).
#[derive(Clone, Copy)]
pub struct TimerHost {
    sched: &'static Sched,
}

impl std::fmt::Debug for TimerHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TimerHost")
    }
}

impl TimerHost {
    /// The calling goroutine's runtime.
    ///
    /// # Panics
    /// Outside a goroutine.
    pub fn current() -> TimerHost {
        TimerHost {
            sched: current_sched("start a timer"),
        }
    }

    /// `after_call` in this runtime; callable from any thread (a timer callback included).
    pub fn after_call(self, d: Duration, f: Box<dyn FnOnce() + Send>) -> TimerHandle {
        after_call_in(self.sched, d, f)
    }

    /// Starts a goroutine running `f` in this runtime, from any thread.
    pub fn spawn(self, f: Box<dyn FnOnce() + Send>) {
        crate::sched::proc::newproc_global(self.sched, f);
    }
}

/// A handle to a callback timer.
pub struct TimerHandle {
    state: Arc<TimerState>,
}

impl TimerHandle {
    /// Stops the timer; true if it had not fired yet.
    pub fn stop(&self) -> bool {
        self.state.stop()
    }

    /// The timer's status.
    pub fn status(&self) -> TimerStatus {
        self.state.status()
    }
}

/// Monotonic now, as `Instant` (what timer channels deliver).
pub fn now() -> Instant {
    Instant::now()
}
