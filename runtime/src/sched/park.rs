//! The one parking seam: `gopark` blocks the running G, `goready` makes a parked G runnable,
//! `gosched`/`preempt_point` yield. Channels, the semaphore and joins all go through here.
//!
//! # Protocol
//! `gopark(unlockf, arg)` suspends the G; its M then marks it Waiting and only then runs
//! `unlockf(gp, arg)`, which typically releases the lock that guards the wait queue the G was
//! put on. A waker must take that lock to find the G, so it can never ready a G that is still
//! running on its stack (Go's `park_m`). If `unlockf` returns false the park is cancelled.
//!
//! # Park sites
//! `gopark`, `gosched` and `preempt_point` are `#[track_caller]`, as is every public gort API
//! that reaches them, so `Location::caller()` in them is the user's call of the blocking API
//! (`c.recv()`, `mu.lock()`, ...). `park_g` stores it in `G::parkpc` (one store, beside the
//! wait reason) for goroutine dumps: the one frame gort records per goroutine. A caller chain
//! that lacks `#[track_caller]` somewhere only makes the recorded site a line inside gort.
//!
//! # Wait time
//! `park_g` also stamps `G::waitsince` (Go's `waitsince`) from sysmon's coarse clock: a relaxed
//! load of `Sched::coarse_now` instead of a clock read on every park. Go stamps it lazily when
//! a GC first sees the G blocked; gort's stamp is at most one sysmon round before the real park
//! (10 ms while any P runs; up to about 1 s right after sysmon's deep sleep), so a dump's
//! "N minutes" is never short, and over by at most that. `entersyscall` stamps it too.

use crate::coro::{Suspend, UnlockFn};
use crate::loom::Ordering;
use crate::sched::g::{GPtr, GStatus, WaitReason};
use crate::sched::m::{getg, getm};
use crate::sched::runq::{glob_runq_put_locked, runq_put};
use crate::sched::schedule::{wakep, wakep_from_p};
use std::panic::Location;

/// Parks the calling goroutine until `goready`. See the module protocol.
///
/// # Safety
/// `unlockf(gp, arg)` must be sound to call on the M after the G is off its stack, and whatever
/// wait queue the G was put on must be protected by what `unlockf` releases (or by an equivalent
/// protocol), so that no waker can ready the G before it has parked.
///
/// # Panics
/// If called outside a goroutine.
///
/// Records the caller's location as the park site (see the module docs).
///
/// Go: `gopark` (proc.go).
#[track_caller]
pub unsafe fn gopark(unlockf: Option<UnlockFn>, arg: *mut (), reason: WaitReason) {
    let gp = getg().unwrap_or_else(|| outside_goroutine("block"));
    park_g(
        gp,
        Suspend::Park { unlockf, arg },
        reason,
        Location::caller(),
    );
}

/// Suspends `gp` (the running G) with `what`. Kept out of line so nothing cached from the
/// thread-locals of the M that parked it survives into the M that resumes it.
#[inline(never)]
fn park_g(gp: GPtr, what: Suspend, reason: WaitReason, site: &'static Location<'static>) {
    // Parking answers any request to yield.
    gp.clear_preempt();
    gp.set_wait_reason(reason);
    gp.stamp_waitsince();
    // ORDERING: diagnostics only (see the module docs, "Park sites").
    gp.parkpc.store(
        site as *const Location<'static> as *mut _,
        Ordering::Relaxed,
    );
    // SAFETY: the yielder pointer was set by this G's body before any user code ran and stays
    // valid while the coroutine is live; we are running on that coroutine.
    let y = unsafe { &*gp.yielder.get() };
    if crate::sched::parkstacks::enabled() {
        crate::sched::parkstacks::record(gp.goid());
    }
    crate::trace::go_park(gp, &what);
    y.suspend(what);
    crate::trace::go_start(gp);
    gp.set_wait_reason(WaitReason::Zero);
}

/// Makes a parked G runnable: on this P's `runnext` if the caller is a goroutine of the same
/// runtime (the woken G inherits the rest of the time slice), else on the global queue. Then
/// wakes an idle P if no M is spinning.
///
/// Go: `goready`/`ready` (proc.go).
pub fn goready(gp: GPtr) {
    crate::trace::go_unblock(gp);
    gp.status.set(GStatus::Waiting, GStatus::Runnable);
    let sched = gp.sched();
    let m = getm();
    match m
        .filter(|m| std::ptr::eq(m.sched, sched))
        .and_then(crate::sched::pclaim::claim)
    {
        Some(claim) => {
            // SAFETY: this thread is the M holding the claimed P.
            unsafe { runq_put(sched, claim.p(), gp, true) };
            drop(claim);
            wakep_from_p(sched);
        }
        None => {
            sched.lock.lock();
            glob_runq_put_locked(sched, gp);
            sched.lock.unlock();
            wakep(sched);
        }
    }
}

/// Yields the processor: the calling goroutine goes to the global run queue and others run.
/// Outside a goroutine this yields the OS thread.
///
/// Go: `runtime.Gosched`.
///
/// # Examples
/// ```
/// gort::Builder::new().max_procs(1).run(|| {
///     let h = gort::go(|| 6 * 7); // queued behind main on the only P
///     while !h.is_finished() {
///         gort::runtime::gosched(); // lets it run
///     }
///     assert_eq!(h.join().unwrap(), 42);
/// });
/// ```
#[track_caller]
pub fn gosched() {
    match getg() {
        Some(gp) => park_g(gp, Suspend::Yield, WaitReason::Zero, Location::caller()),
        None => std::thread::yield_now(),
    }
}

/// Yields to the G just readied: the caller goes to the tail of its P's local run queue, so
/// whatever is in `runnext` (typically a goroutine the caller just woke) runs now. Outside a
/// goroutine it does nothing.
///
/// Go: `goyield` (proc.go).
#[track_caller]
pub fn goyield() {
    if let Some(gp) = getg() {
        park_g(
            gp,
            Suspend::YieldLocal,
            WaitReason::Zero,
            Location::caller(),
        );
    }
}

/// A cheap check point: yields if sysmon has asked the running goroutine to (it has run past
/// its 10 ms time slice). Call it in long loops that make no other gort calls.
///
/// # Examples
/// ```
/// gort::run(|| {
///     let mut sum = 0u64;
///     for i in 0..1_000_000u64 {
///         sum += i;
///         if i % 1024 == 0 {
///             gort::runtime::preempt_point(); // yields only if sysmon asked
///         }
///     }
///     assert_eq!(sum, 499_999_500_000);
/// });
/// ```
#[inline]
#[track_caller]
pub fn preempt_point() {
    // One load unless some goroutine has been asked to yield (`PREEMPT_PENDING` is exact).
    maybe_preempt();
}

/// How many goroutines (of every runtime in the process) have an unanswered request to yield
/// (`G::request_preempt`/`clear_preempt` keep it). The fast paths of sync operations, which
/// otherwise never enter the runtime, read it (`maybe_preempt`), so a goroutine looping on them
/// yields at its next operation, as Go's asynchronous preemption would stop it, instead of
/// being retaken as a hog and running on beside the goroutine that got its P (which at
/// GOMAXPROCS=1 ran two goroutines at once and made them contend). It is non-zero only from a
/// request to its answer, microseconds every 10 ms.
pub static PREEMPT_PENDING: crate::loom::AtomicU32 = crate::loom::AtomicU32::new(0);

/// A check point for fast paths: one load of a read-mostly static, and the goroutine's own
/// flag only while some goroutine has been asked to yield (`PREEMPT_PENDING`).
#[inline(always)]
#[track_caller]
pub fn maybe_preempt() {
    // ORDERING: a hint; a stale value delays or repeats one check.
    if PREEMPT_PENDING.load(Ordering::Relaxed) != 0 {
        preempt_point_slow(Location::caller());
    }
}

/// Yields if the calling goroutine has been asked to.
#[cold]
#[inline(never)]
fn preempt_point_slow(site: &'static Location<'static>) {
    if let Some(gp) = getg() {
        // ORDERING: an advisory flag.
        if gp.preempt.load(Ordering::Relaxed) {
            preempt_now(gp, site);
        }
    }
}

#[cold]
#[inline(never)]
fn preempt_now(gp: GPtr, site: &'static Location<'static>) {
    gp.clear_preempt();
    gp.sched().stats.preemptions.fetch_add(1, Ordering::Relaxed);
    park_g(gp, Suspend::Preempt, WaitReason::Preempted, site);
}

/// Panics with the message every blocking API gives outside a goroutine.
#[cold]
#[track_caller]
pub fn outside_goroutine(what: &str) -> ! {
    panic!(
        "gort: cannot {what} outside a goroutine: this thread is not running gort code. Start \
         the runtime with gort::run(|| ...) and call blocking gort APIs from inside it (or \
         from goroutines started with gort::go)"
    )
}
