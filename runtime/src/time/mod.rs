//! Timers (interim design): one min-heap per runtime, run by sysmon, which sleeps no longer than
//! the earliest timer. A timer either readies a parked goroutine (`sleep`) or runs a short
//! callback on sysmon's thread (channel timers: a non-blocking send). Due goroutines go to the
//! global run queue and `wakep` starts an M for them, so timers park goroutines, never Ms.
//!
//! Go keeps a 4-ary heap per P, run by the scheduler and by the M blocked in the netpoller;
//! that design replaces this one together with the netpoller (issue 5). The interface here
//! (`add`, `sleep`, `TimerState`) is what the time API builds on and stays.
//!
//! # Invariants
//! - `heap` is protected by `lock`; callbacks run after the lock is released.
//! - `live` counts timers that are scheduled and not stopped: `checkdead` treats a runtime with
//!   live timers as not deadlocked, because a timer will wake something.
//! - Adding a timer earlier than sysmon's planned wake-up wakes sysmon (`sysmon_wake_at`).

use crate::coro::UnlockFn;
use crate::lock::RawLock;
use crate::loom::{AtomicI64, AtomicU8, Ordering};
use crate::sched::g::{GPtr, WaitReason};
use crate::sched::m::getm;
use crate::sched::park::{gopark, goready, outside_goroutine};
use crate::sched::Sched;
use std::cell::UnsafeCell;
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A timer's state, shared by its heap entry and its handle.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerStatus {
    /// In the heap, not yet due.
    Pending = 0,
    /// Ran (or is running).
    Fired = 1,
    /// Stopped before it ran.
    Stopped = 2,
}

/// The shared state of a timer; `stop` CASes Pending -> Stopped, firing CASes Pending -> Fired,
/// so exactly one of them wins.
pub struct TimerState(AtomicU8);

impl TimerState {
    fn new() -> Arc<TimerState> {
        Arc::new(TimerState(AtomicU8::new(TimerStatus::Pending as u8)))
    }

    fn cas(&self, from: TimerStatus, to: TimerStatus) -> bool {
        // ORDERING: AcqRel: the winner's prior writes are visible to the loser's later reads.
        self.0
            .compare_exchange(from as u8, to as u8, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// The current status.
    pub fn status(&self) -> TimerStatus {
        // ORDERING: Acquire pairs with the CAS above.
        match self.0.load(Ordering::Acquire) {
            0 => TimerStatus::Pending,
            1 => TimerStatus::Fired,
            _ => TimerStatus::Stopped,
        }
    }
}

enum Action {
    Ready(GPtr),
    Call(Box<dyn FnOnce() + Send>),
}

struct Entry {
    when: i64,
    seq: u64,
    state: Arc<TimerState>,
    action: Action,
}

impl PartialEq for Entry {
    fn eq(&self, o: &Self) -> bool {
        (self.when, self.seq) == (o.when, o.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Entry {
    /// Reversed: `BinaryHeap` is a max-heap and we want the earliest first.
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (o.when, o.seq).cmp(&(self.when, self.seq))
    }
}

/// A runtime's timers. See the module docs.
pub(crate) struct Timers {
    lock: RawLock,
    heap: UnsafeCell<BinaryHeap<Entry>>,
    seq: UnsafeCell<u64>,
    /// Scheduled, not stopped, not yet fired.
    live: AtomicI64,
    /// When sysmon plans to wake next (nanotime), deep sleep included.
    pub(crate) sysmon_wake_at: AtomicI64,
}

// SAFETY: `heap` and `seq` are only touched with `lock` held.
unsafe impl Sync for Timers {}
// SAFETY: as above.
unsafe impl Send for Timers {}

impl Timers {
    pub(crate) fn new() -> Timers {
        Timers {
            lock: RawLock::new(),
            heap: UnsafeCell::new(BinaryHeap::new()),
            seq: UnsafeCell::new(0),
            live: AtomicI64::new(0),
            sysmon_wake_at: AtomicI64::new(0),
        }
    }

    /// Timers that will still fire.
    pub(crate) fn live(&self) -> i64 {
        // ORDERING: SeqCst: read by `checkdead` under the sched lock against the increment in
        // `push`, which happens before the timer can be relied on.
        self.live.load(Ordering::SeqCst)
    }

    /// The earliest deadline, if any.
    pub(crate) fn next_when(&self) -> Option<i64> {
        self.lock.lock();
        // SAFETY: the lock is held.
        let w = unsafe { &*self.heap.get() }.peek().map(|e| e.when);
        self.lock.unlock();
        w
    }

    fn push(&self, sched: &Sched, when: i64, state: Arc<TimerState>, action: Action) {
        self.live.fetch_add(1, Ordering::SeqCst);
        self.lock.lock();
        // SAFETY: the lock is held.
        unsafe {
            let seq = &mut *self.seq.get();
            *seq += 1;
            (*self.heap.get()).push(Entry {
                when,
                seq: *seq,
                state,
                action,
            });
        }
        self.lock.unlock();
        // ORDERING: a hint; a stale value only costs sysmon one extra wake-up or a late one
        // bounded by its own maximum delay (10 ms), except in deep sleep, where it is MAX.
        if when < self.sysmon_wake_at.load(Ordering::SeqCst) {
            sched.sysmon_note.wakeup();
        }
    }

    /// Runs every timer due at `now`. Called by sysmon only.
    pub(crate) fn run_due(&self, now: i64) {
        loop {
            self.lock.lock();
            // SAFETY: the lock is held.
            let heap = unsafe { &mut *self.heap.get() };
            let due = heap.peek().is_some_and(|e| e.when <= now);
            let e = if due { heap.pop() } else { None };
            self.lock.unlock();
            let Some(e) = e else { return };
            if !e.state.cas(TimerStatus::Pending, TimerStatus::Fired) {
                continue; // stopped; `stop` already took it out of `live`
            }
            match e.action {
                Action::Ready(gp) => goready(gp),
                Action::Call(f) => f(),
            }
            self.live.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Stops a pending timer; true if it had not fired.
    pub(crate) fn stop(&self, state: &TimerState) -> bool {
        if state.cas(TimerStatus::Pending, TimerStatus::Stopped) {
            self.live.fetch_sub(1, Ordering::SeqCst);
            true
        } else {
            false
        }
    }
}

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
    sched
        .timers
        .push(sched, when, TimerState::new(), Action::Ready(gp));
    true
}

/// Runs `f` on the timer thread (sysmon) after `d`; `f` must be short and must not block
/// (a non-blocking channel send, a `goready`). Returns the timer's state for `stop`.
///
/// # Panics
/// Outside a goroutine.
pub fn after_call(d: Duration, f: Box<dyn FnOnce() + Send>) -> TimerHandle {
    let sched = current_sched("start a timer");
    let state = TimerState::new();
    sched
        .timers
        .push(sched, deadline(sched, d), state.clone(), Action::Call(f));
    TimerHandle { sched, state }
}

/// `after_call` for a given runtime (callable from any thread).
pub(crate) fn after_call_in(
    sched: &'static Sched,
    d: Duration,
    f: Box<dyn FnOnce() + Send>,
) -> TimerHandle {
    let state = TimerState::new();
    sched
        .timers
        .push(sched, deadline(sched, d), state.clone(), Action::Call(f));
    TimerHandle { sched, state }
}

/// The runtime a goroutine runs in, as a handle for timers that re-arm themselves from the
/// timer thread (tickers) and for starting goroutines from it (`after_func`).
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

    /// `after_call` in this runtime; callable from any thread (the timer thread included).
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
    sched: &'static Sched,
    state: Arc<TimerState>,
}

impl TimerHandle {
    /// Stops the timer; true if it had not fired yet.
    pub fn stop(&self) -> bool {
        self.sched.timers.stop(&self.state)
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
