//! Run queues: a P's local queue (crossbeam `Worker`, capped at `RUNQ_CAP` with Go's overflow of
//! half plus one to the global queue), its `runnext` slot, the global queue, and stealing.
//!
//! # Protocol
//! - `runq_put(next = true)` swaps the G into `runnext`; the G it displaces goes to the tail of
//!   the local queue. A G taken from `runnext` inherits the current time slice.
//! - Thieves take about half of a victim's queue (`steal_batch_with_limit_and_pop`, limit 128)
//!   and, only on the last steal pass, its `runnext` (after a 3 us pause if the victim is
//!   running, so a G that is about to run there is not stolen; Go's `runqgrab`).
//! - crossbeam's `Steal::Retry` is never read as empty: callers loop until Success or Empty.

use crate::loom::Ordering;
use crate::sched::g::GPtr;
use crate::sched::p::{PStatus, P, RUNQ_CAP};
use crate::sched::Sched;
use crossbeam_deque::Steal;

/// Go steals half of a full ring at most.
const STEAL_LIMIT: usize = RUNQ_CAP / 2;

/// Puts `gp` on `pp`'s local queue, in `runnext` if `next`. Overflow moves half the queue plus
/// `gp` to the global queue.
///
/// # Safety
/// The caller must be the M holding `pp`.
///
/// Go: `runqput` (proc.go).
pub(crate) unsafe fn runq_put(sched: &Sched, pp: &P, mut gp: GPtr, next: bool) {
    if next {
        // ORDERING: AcqRel: Release publishes the G's state to a thief that CASes it out;
        // Acquire takes ownership of the displaced G.
        let old = pp.runnext.swap(gp.as_ptr(), Ordering::AcqRel);
        match GPtr::from_ptr(old) {
            None => return,
            Some(old) => gp = old,
        }
    }
    // SAFETY: the caller holds `pp`.
    let q = unsafe { pp.runq_mut() };
    if q.len() < RUNQ_CAP {
        q.push(gp);
        return;
    }
    // SAFETY: the caller holds `pp`.
    unsafe { runq_put_slow(sched, pp, gp) };
}

/// Moves half of the full local queue and `gp` to the global queue (129 Gs).
///
/// # Safety
/// The caller must be the M holding `pp`.
///
/// Go: `runqputslow` (proc.go).
unsafe fn runq_put_slow(sched: &Sched, pp: &P, gp: GPtr) {
    // SAFETY: the caller holds `pp`.
    let q = unsafe { pp.runq_mut() };
    let mut batch: [Option<GPtr>; RUNQ_CAP / 2 + 1] = [None; RUNQ_CAP / 2 + 1];
    let mut n = 0;
    while n < RUNQ_CAP / 2 {
        match q.pop() {
            Some(g) => {
                batch[n] = Some(g);
                n += 1;
            }
            None => break,
        }
    }
    batch[n] = Some(gp);
    sched.lock.lock();
    // SAFETY: `sched.lock` is held.
    let locked = unsafe { sched.locked() };
    for g in batch.iter().take(n + 1).flatten() {
        locked.runq.push_back(*g);
    }
    // ORDERING: mirror of `runq.len()`, written under the lock; lock-free readers use it as
    // a hint and re-check under the lock.
    sched
        .runqsize
        .store(locked.runq.len() as u32, Ordering::SeqCst);
    sched.lock.unlock();
}

/// Takes the next G from `pp`: `runnext` first (inheriting the time slice), then the queue.
///
/// # Safety
/// The caller must be the M holding `pp`.
///
/// Go: `runqget` (proc.go).
pub(crate) unsafe fn runq_get(pp: &P) -> Option<(GPtr, bool)> {
    // ORDERING: Acquire takes ownership of the G published by `runq_put`'s swap.
    let next = pp.runnext.swap(std::ptr::null_mut(), Ordering::Acquire);
    if let Some(gp) = GPtr::from_ptr(next) {
        return Some((gp, true));
    }
    // SAFETY: the caller holds `pp`.
    unsafe { pp.runq_mut() }.pop().map(|g| (g, false))
}

/// Whether `pp` has no local work (queue and `runnext`). Racy by nature; callers that act on
/// "empty" re-check after a StoreLoad barrier.
pub(crate) fn runq_empty(pp: &P) -> bool {
    // ORDERING: SeqCst: part of the spinning StoreLoad protocol (docs/design.md "Spinning").
    pp.stealer.is_empty() && pp.runnext.load(Ordering::SeqCst).is_null()
}

/// Steals about half of `p2`'s queue into `pp`'s and returns one G to run; on the last pass
/// may also take `p2.runnext`.
///
/// # Safety
/// The caller must be the M holding `pp`.
///
/// Go: `runqsteal`/`runqgrab` (proc.go).
pub(crate) unsafe fn runq_steal(pp: &P, p2: &P, steal_runnext: bool) -> Option<GPtr> {
    // SAFETY: the caller holds `pp`.
    let dest = unsafe { pp.runq_mut() };
    loop {
        match p2.stealer.steal_batch_with_limit_and_pop(dest, STEAL_LIMIT) {
            Steal::Success(g) => return Some(g),
            Steal::Retry => continue,
            Steal::Empty => break,
        }
    }
    if steal_runnext {
        // ORDERING: a hint; the CAS below decides.
        let next = p2.runnext.load(Ordering::Relaxed);
        if !next.is_null() {
            if p2.status() == PStatus::Running {
                // The victim is about to run it: a channel hand-off takes ~50 ns, so 3 us
                // gives it ample time (Go's runqgrab comment). This runs on a spinning M
                // that holds no G, so sleeping the thread is what is meant.
                #[allow(clippy::disallowed_methods)]
                std::thread::sleep(std::time::Duration::from_micros(3));
            }
            // ORDERING: Acquire takes ownership of the G published by the owner's swap.
            if p2
                .runnext
                .compare_exchange(
                    next,
                    std::ptr::null_mut(),
                    Ordering::Acquire,
                    Ordering::Relaxed,
                )
                .is_ok()
            {
                return GPtr::from_ptr(next);
            }
        }
    }
    None
}

/// Appends `gp` to the global queue. `sched.lock` must be held.
///
/// Go: `globrunqput` (proc.go).
pub(crate) fn glob_runq_put_locked(sched: &Sched, gp: GPtr) {
    // SAFETY: the caller holds `sched.lock` (documented precondition).
    let locked = unsafe { sched.locked() };
    locked.runq.push_back(gp);
    // ORDERING: see `runq_put_slow`.
    sched
        .runqsize
        .store(locked.runq.len() as u32, Ordering::SeqCst);
}

/// Takes one G from the global queue (the 1-in-61 fairness check). `sched.lock` must be held.
///
/// Go: `globrunqget` (proc.go).
pub(crate) fn glob_runq_get_locked(sched: &Sched) -> Option<GPtr> {
    // SAFETY: the caller holds `sched.lock`.
    let locked = unsafe { sched.locked() };
    let g = locked.runq.pop_front();
    // ORDERING: see `runq_put_slow`.
    sched
        .runqsize
        .store(locked.runq.len() as u32, Ordering::SeqCst);
    g
}

/// Takes a batch of `min(max, size, size/gomaxprocs + 1)` Gs from the global queue: returns the
/// first and puts the rest on `pp`'s local queue. `sched.lock` must be held.
///
/// # Safety
/// The caller must be the M holding `pp` and hold `sched.lock`.
///
/// Go: `globrunqgetbatch` (proc.go).
pub(crate) unsafe fn glob_runq_get_batch_locked(sched: &Sched, pp: &P, max: usize) -> Option<GPtr> {
    // SAFETY: the caller holds `sched.lock`.
    let locked = unsafe { sched.locked() };
    let size = locked.runq.len();
    if size == 0 {
        return None;
    }
    let n = max.min(size).min(size / sched.gomaxprocs as usize + 1);
    let first = locked.runq.pop_front();
    // SAFETY: the caller holds `pp`.
    let q = unsafe { pp.runq_mut() };
    for _ in 1..n {
        match locked.runq.pop_front() {
            Some(g) => q.push(g),
            None => break,
        }
    }
    // ORDERING: see `runq_put_slow`.
    sched
        .runqsize
        .store(locked.runq.len() as u32, Ordering::SeqCst);
    first
}
