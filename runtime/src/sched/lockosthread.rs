//! `lock_os_thread` / `unlock_os_thread` (Go's `LockOSThread`): wires a goroutine to the M it
//! runs on. Until it unlocks, the goroutine runs only on that M and no other goroutine runs
//! there. Go: `dolockOSThread`, `stoplockedm`, `startlockedm` (proc.go).
//!
//! # Protocol
//! - Locking sets `G::lockedm` and `M::lockedg` (both written by the locked goroutine itself,
//!   on its M); the calls nest, and the last unlock clears both.
//! - When the locked G stops running (it parks or yields), its M does not look for other work:
//!   `stoplockedm` hands its P off and sleeps until the G is runnable again.
//! - The M that finds the locked G in a run queue does not run it: `startlockedm` hands that M's
//!   P to the G's M and wakes it, and the finder goes idle. The locked M then runs the G.
//! - A goroutine that exits while locked takes its M with it, as in Go (the thread may carry
//!   state the goroutine changed): the M hands off its P and its thread ends. M0, the thread
//!   that called `run`, is kept and only unlocked.
//!
//! # Invariants
//! - `M::lockedg` is non-null exactly while a goroutine is locked to the M; that goroutine is
//!   the only one the M runs.
//! - An M sleeping in `stoplockedm` is counted in `Sched::nmidlelocked` (for `checkdead`) from
//!   before it sleeps until the M that wakes it takes the count back, and is listed in `allm`,
//!   where shutdown finds it and wakes it.

use crate::loom::Ordering;
use crate::sched::g::GPtr;
use crate::sched::m::{getg, getm, M};
use crate::sched::park::outside_goroutine;
use crate::sched::schedule::{acquirep, releasep};
use crate::sched::syscall::handoffp;

/// Wires the calling goroutine to its OS thread until a matching `unlock_os_thread` (calls
/// nest). While locked, the goroutine always runs on this thread and no other goroutine does:
/// for thread-local state of C libraries, thread-affine APIs (GUI main loops), or
/// per-thread OS settings. A goroutine that returns while locked ends its thread (unless it
/// is the thread that called `run`).
///
/// # Panics
/// Outside a goroutine.
///
/// Go: `runtime.LockOSThread`.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// gort::run(|| {
///     gort::runtime::lock_os_thread();
///     let thread = std::thread::current().id();
///     gort::time::sleep(Duration::from_millis(1)); // parks, then resumes on the same thread
///     gort::runtime::gosched();
///     assert_eq!(std::thread::current().id(), thread);
///     gort::runtime::unlock_os_thread();
/// });
/// ```
pub fn lock_os_thread() {
    let gp = getg().unwrap_or_else(|| outside_goroutine("lock an OS thread"));
    let mp = getm().expect("a goroutine runs on an M");
    let n = gp.locked.get();
    if n == u32::MAX {
        panic!("LockOSThread nesting overflow");
    }
    gp.locked.set(n + 1);
    if n == 0 {
        // ORDERING: Relaxed: read by Ms that take the G from a run queue, which happens after
        // the G's next park (ordered by the queue's own Release/Acquire).
        gp.lockedm
            .store(mp as *const M as *mut M, Ordering::Relaxed);
        mp.lockedg.store(gp.as_ptr(), Ordering::Relaxed);
    }
}

/// Undoes one `lock_os_thread`; the last one lets the goroutine run on any thread again. Does
/// nothing if the goroutine is not locked.
///
/// # Panics
/// Outside a goroutine.
///
/// Go: `runtime.UnlockOSThread`.
///
/// # Examples
/// ```
/// gort::run(|| {
///     gort::runtime::unlock_os_thread(); // not locked: does nothing
///     gort::runtime::lock_os_thread();
///     gort::runtime::lock_os_thread(); // calls nest
///     gort::runtime::unlock_os_thread();
///     let thread = std::thread::current().id();
///     gort::runtime::gosched();
///     assert_eq!(std::thread::current().id(), thread); // still locked once
///     gort::runtime::unlock_os_thread(); // now it may run on any thread
/// });
/// ```
pub fn unlock_os_thread() {
    let gp = getg().unwrap_or_else(|| outside_goroutine("unlock an OS thread"));
    let n = gp.locked.get();
    if n == 0 {
        return;
    }
    gp.locked.set(n - 1);
    if n == 1 {
        unwire(gp);
    }
}

/// Clears both ends of the lock. Called on the locked M.
pub(crate) fn unwire(gp: GPtr) {
    gp.locked.set(0);
    // ORDERING: as in `lock_os_thread`.
    let mp = gp.lockedm.swap(std::ptr::null_mut(), Ordering::Relaxed);
    // SAFETY: Ms are leaked, so a non-null pointer is valid.
    if let Some(mp) = unsafe { mp.as_ref() } {
        mp.lockedg.store(std::ptr::null_mut(), Ordering::Relaxed);
    }
}

/// The M `gp` is locked to, if it is locked.
pub(crate) fn lockedm(gp: GPtr) -> Option<&'static M> {
    // ORDERING: see `lock_os_thread`.
    let mp = gp.lockedm.load(Ordering::Relaxed);
    // SAFETY: Ms are leaked, so a non-null pointer is valid.
    unsafe { mp.as_ref() }
}

/// The G locked to `mp`, if any.
pub(crate) fn lockedg(mp: &M) -> Option<GPtr> {
    // ORDERING: written by this M's own thread (the locked G runs only here).
    GPtr::from_ptr(mp.lockedg.load(Ordering::Relaxed))
}

/// The locked G of `mp` stopped running: hand the P off and sleep until the G is runnable and
/// another M hands this one a P (`startlockedm`). Returns false if woken for shutdown.
///
/// Go: `stoplockedm` (proc.go).
pub(crate) fn stoplockedm(mp: &'static M) -> bool {
    let sched = mp.sched;
    if mp.p().is_some() {
        let pp = releasep(mp);
        handoffp(sched, pp);
    }
    // The M that wakes us takes the count back (`startlockedm`), so `checkdead` never sees a
    // woken M as idle.
    incidlelocked(sched, 1);
    // ORDERING: `blocked` is read by scheddetail only.
    mp.blocked.store(true, Ordering::Relaxed);
    if !sched.is_shutdown() {
        mp.park.sleep();
    }
    mp.blocked.store(false, Ordering::Relaxed);
    // ORDERING: Acquire pairs with the Release store in `startlockedm` (the P's state the
    // waker left is visible; the note's own Release/Acquire orders it too).
    let pp = mp.nextp.swap(std::ptr::null_mut(), Ordering::Acquire);
    if pp.is_null() {
        return false;
    }
    // SAFETY: Ps live in the leaked `Sched::allp`.
    acquirep(mp, unsafe { &*pp });
    true
}

/// This M found `gp`, which is locked to another M: give that M our P and wake it; this M is
/// left without a P (its scheduler loop then stops it).
///
/// Go: `startlockedm` (proc.go).
pub(crate) fn startlockedm(mp: &'static M, locked: &'static M) {
    let sched = mp.sched;
    // On behalf of the M we wake.
    incidlelocked(sched, -1);
    let pp = releasep(mp);
    // ORDERING: Release pairs with the Acquire swap in `stoplockedm`.
    locked
        .nextp
        .store(pp as *const _ as *mut _, Ordering::Release);
    locked.park.wakeup();
}

/// A locked G exited on `mp`: hand off the P; the thread then ends (its scheduler loop
/// returns). M0, whose thread `run` must return on, is wedged instead, as Go wedges it: it
/// counts as idle and sleeps until shutdown.
///
/// Go: `mexit` (proc.go).
pub(crate) fn mexit(mp: &'static M) {
    let sched = mp.sched;
    if mp.p().is_some() {
        let pp = releasep(mp);
        handoffp(sched, pp);
    }
    if !sched.m0.get().is_some_and(|m0| std::ptr::eq(*m0, mp)) {
        // ORDERING: counters read under the lock or as hints (see `startm_locked`).
        sched.mcount.fetch_sub(1, Ordering::Relaxed);
        return;
    }
    incidlelocked(sched, 1);
    while !sched.is_shutdown() {
        mp.park.sleep();
    }
}

/// Counts Ms idle with a locked G (or wedged) in or out; a new one may make every M idle, so
/// it runs `checkdead`. sysmon also uses it to count itself as running while it hands off a
/// P it retook (see `retake_syscall`, `retake_hog`).
///
/// Go: `incidlelocked` (proc.go).
pub(crate) fn incidlelocked(sched: &'static crate::sched::Sched, v: i32) {
    sched.lock.lock();
    // ORDERING: SeqCst, changed and read by `checkdead` under the sched lock.
    sched.nmidlelocked.fetch_add(v, Ordering::SeqCst);
    if v > 0 {
        crate::sched::proc::checkdead_locked(sched);
    }
    sched.lock.unlock();
}

/// Wakes the Ms that are not on the idle list at shutdown: those asleep in `stoplockedm`, and
/// a wedged M0.
pub(crate) fn wake_locked_ms(sched: &crate::sched::Sched) {
    sched.lock.lock();
    // SAFETY: `sched.lock` is held.
    for mp in unsafe { sched.locked() }.allm.iter() {
        // ORDERING: see `gdestroy`.
        if lockedg(mp).is_some() || mp.exit_thread.load(Ordering::Relaxed) {
            mp.park.wakeup();
        }
    }
    sched.lock.unlock();
}
