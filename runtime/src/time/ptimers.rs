//! One P's timers (Go's `timers` in time.go): a 4-ary heap behind a short lock, run by the
//! scheduler. The M holding the P runs its due timers at the top of `find_runnable`; spinning
//! Ms run other Ps' due timers on their last steal pass; the M that blocks in the netpoller
//! sleeps until the earliest timer of every P (`sleep_until`), and adding a timer earlier than
//! that breaks the poll (`wake_net_poller`).
//!
//! A timer either readies a goroutine parked in `sleep` (no allocation: the entry is the G
//! pointer) or calls a short callback on the scheduler's stack (channel timers, deadlines,
//! `after_func`). A stopped callback timer stays in the heap as a *zombie* until it reaches the
//! top or zombies pass a quarter of the heap, when the heap is cleaned (Go's `zombies`).
//!
//! # Invariants
//! - `heap` is touched only with `lock` held; actions run after the lock is released (a
//!   callback may add timers to this same heap).
//! - `len` and `min_when` mirror the heap (written under `lock`): `min_when` is the earliest
//!   entry's `when`, or 0 when the heap is empty. They are read without the lock as hints
//!   that are re-checked under it.
//! - `zombies` counts stopped entries still in the heap: incremented by `stop` (any thread),
//!   decremented when the entry is removed (under `lock`). `len - zombies` is the number of
//!   timers that will still fire (`checkdead`).

use super::heap::{Heap4, When};
use crate::lock::RawLock;
use crate::loom::{AtomicI64, AtomicU32, AtomicU8, Ordering};
use crate::sched::g::GPtr;
use crate::sched::park::goready;
use crate::sched::Sched;
use std::cell::UnsafeCell;
use std::sync::Arc;

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

/// The shared state of a callback timer: `stop` CASes Pending -> Stopped, firing CASes
/// Pending -> Fired, so exactly one of them wins.
pub struct TimerState {
    status: AtomicU8,
    /// The heap the timer is in (Ps are never freed).
    ts: &'static PTimers,
}

impl TimerState {
    fn cas(&self, from: TimerStatus, to: TimerStatus) -> bool {
        // ORDERING: AcqRel: the winner's prior writes are visible to the loser's later reads.
        self.status
            .compare_exchange(from as u8, to as u8, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// The current status.
    pub fn status(&self) -> TimerStatus {
        // ORDERING: Acquire pairs with the CAS above.
        match self.status.load(Ordering::Acquire) {
            0 => TimerStatus::Pending,
            1 => TimerStatus::Fired,
            _ => TimerStatus::Stopped,
        }
    }

    /// Stops the timer; true if it had not fired. The entry becomes a zombie of its heap.
    pub(crate) fn stop(&self) -> bool {
        // Count the zombie before it can exist: the M that pops a stopped entry decrements the
        // count, and must never take it below zero (`live` would overcount the zombies).
        // ORDERING: SeqCst: read against `len` by `checkdead` and by the cleaner.
        self.ts.zombies.fetch_add(1, Ordering::SeqCst);
        if self.cas(TimerStatus::Pending, TimerStatus::Stopped) {
            return true;
        }
        self.ts.zombies.fetch_sub(1, Ordering::SeqCst);
        false
    }
}

/// What a timer does when it fires.
pub(crate) enum Action {
    /// Ready a goroutine parked in `sleep`.
    Ready(GPtr),
    /// Call `f` unless `state` was stopped.
    Call {
        state: Arc<TimerState>,
        f: Box<dyn FnOnce() + Send>,
    },
}

pub(crate) struct Entry {
    pub(crate) when: i64,
    pub(crate) action: Action,
}

impl When for Entry {
    fn when(&self) -> i64 {
        self.when
    }
}

impl Entry {
    fn is_zombie(&self) -> bool {
        matches!(&self.action, Action::Call { state, .. } if state.status() == TimerStatus::Stopped)
    }
}

/// A P's timers. See the module docs.
pub(crate) struct PTimers {
    lock: RawLock,
    heap: UnsafeCell<Heap4<Entry>>,
    len: AtomicU32,
    zombies: AtomicU32,
    min_when: AtomicI64,
}

// SAFETY: `heap` is only touched with `lock` held; the rest is atomic.
unsafe impl Sync for PTimers {}
// SAFETY: as above.
unsafe impl Send for PTimers {}

impl PTimers {
    pub(crate) const fn new() -> PTimers {
        PTimers {
            lock: RawLock::new(),
            heap: UnsafeCell::new(Heap4::new()),
            len: AtomicU32::new(0),
            zombies: AtomicU32::new(0),
            min_when: AtomicI64::new(0),
        }
    }

    /// The earliest deadline in the heap (zombies included), or 0 if it is empty (Go's
    /// `wakeTime`).
    pub(crate) fn wake_time(&self) -> i64 {
        // ORDERING: SeqCst: the Dekker pair with `wake_net_poller` (an M that stops spinning
        // reads this after decrementing `nmspinning`; an adder writes it before `wakep`).
        self.min_when.load(Ordering::SeqCst)
    }

    /// Timers in the heap that will still fire.
    pub(crate) fn live(&self) -> u32 {
        // ORDERING: SeqCst, paired with `stop`; read by `checkdead` under the sched lock.
        let len = self.len.load(Ordering::SeqCst);
        len.saturating_sub(self.zombies.load(Ordering::SeqCst))
    }

    /// Entries in the heap, zombies included (schedtrace's `timerslen`).
    pub(crate) fn len(&self) -> u32 {
        // ORDERING: diagnostics.
        self.len.load(Ordering::Relaxed)
    }

    /// Mirrors the heap into `len`/`min_when`. `lock` must be held.
    fn publish(&self, heap: &Heap4<Entry>) {
        // ORDERING: SeqCst, see `wake_time` and `live`.
        self.len.store(heap.len() as u32, Ordering::SeqCst);
        self.min_when
            .store(heap.peek().map_or(0, |e| e.when), Ordering::SeqCst);
    }

    /// Adds a timer. Returns true if it is now the earliest of this heap (the caller then
    /// wakes the poller). Zombies are cleaned first when they are over a quarter of the heap.
    pub(crate) fn add(&'static self, when: i64, action: Action) -> bool {
        let mut removed = Vec::new();
        self.lock.lock();
        // SAFETY: the lock is held.
        let heap = unsafe { &mut *self.heap.get() };
        // ORDERING: SeqCst, see `live`.
        let zombies = self.zombies.load(Ordering::SeqCst) as usize;
        if zombies > 0 && zombies * 4 > heap.len() {
            removed = heap.retain_split(|e| !e.is_zombie());
            self.zombies
                .fetch_sub(removed.len() as u32, Ordering::SeqCst);
        }
        let first = heap.peek().is_none_or(|e| when < e.when);
        heap.push(Entry { when, action });
        self.publish(heap);
        self.lock.unlock();
        drop(removed); // unlocked: a callback's captures may do anything when dropped
        first
    }

    /// A callback timer's shared state, for a timer about to be added to this heap.
    pub(crate) fn new_state(&'static self) -> Arc<TimerState> {
        Arc::new(TimerState {
            status: AtomicU8::new(TimerStatus::Pending as u8),
            ts: self,
        })
    }

    /// Runs every timer due at `now` (0: read the clock if anything may be due). Returns the
    /// time used, the next deadline (0 if none) and whether any timer ran.
    ///
    /// Go: `timers.check` (time.go).
    pub(crate) fn check(&self, sched: &Sched, now: i64) -> (i64, i64, bool) {
        let next = self.wake_time();
        if next == 0 {
            return (now, 0, false);
        }
        let now = if now == 0 { sched.nanotime() } else { now };
        if now < next {
            return (now, next, false);
        }
        let mut ran = false;
        self.lock.lock();
        loop {
            // SAFETY: the lock is held.
            let heap = unsafe { &mut *self.heap.get() };
            let e = match heap.peek() {
                Some(e) if e.when <= now => heap.pop(),
                _ => None,
            };
            self.publish(heap);
            let Some(e) = e else { break };
            match e.action {
                Action::Ready(gp) => {
                    self.lock.unlock();
                    goready(gp);
                }
                Action::Call { state, f } => {
                    if !state.cas(TimerStatus::Pending, TimerStatus::Fired) {
                        // A zombie: stopped before it was due.
                        // ORDERING: SeqCst, see `live`.
                        self.zombies.fetch_sub(1, Ordering::SeqCst);
                        self.lock.unlock();
                        drop(f); // unlocked, as in `add`
                        self.lock.lock();
                        continue;
                    }
                    self.lock.unlock();
                    f();
                }
            }
            ran = true;
            self.lock.lock();
        }
        self.lock.unlock();
        (now, self.wake_time(), ran)
    }
}

/// The earliest timer of any P, or 0 if there is none (Go's `timeSleepUntil`).
pub(crate) fn sleep_until(sched: &Sched) -> i64 {
    sched
        .allp
        .iter()
        .map(|pp| pp.timers.wake_time())
        .filter(|&w| w != 0)
        .min()
        .unwrap_or(0)
}

/// Timers that will still fire, over every P (`checkdead`).
pub(crate) fn live(sched: &Sched) -> u64 {
    sched.allp.iter().map(|pp| pp.timers.live() as u64).sum()
}

/// A timer for `when` was added as the earliest of its heap: make sure an M will run it.
/// If an M is blocked in the netpoller for longer, break its poll; if none is, wake an idle
/// P (its M will see the timer, and block in the poller until it is due if it finds nothing
/// else to do).
///
/// Go: `wakeNetPoller` (proc.go).
pub(crate) fn wake_net_poller(sched: &'static Sched, when: i64) {
    // ORDERING: SeqCst, the polling protocol: the poller swaps `lastpoll` to 0 and then
    // stores `poll_until`; a stale `poll_until` of 0 only causes a spurious break.
    if sched.lastpoll.load(Ordering::SeqCst) == 0 {
        let until = sched.poll_until.load(Ordering::SeqCst);
        if until == 0 || until > when {
            crate::netpoll::netpoll_break(sched);
        }
    } else {
        crate::sched::schedule::wakep(sched);
    }
}
