//! Blocking calls (Go's entersyscall/exitsyscall): `runtime::blocking(f)` runs `f` on the
//! goroutine's M while its P may be handed to another M by sysmon, so a call that blocks the
//! OS thread stops only this goroutine.
//!
//! # Protocol (Go's classic `_Psyscall`)
//! - Enter: the G goes `Running -> Syscall`; the M lets go of its P (`p.m` and `m.p` cleared,
//!   the P remembered in `m.oldp`), then the P goes `Running -> Syscall` (Go's
//!   `reentersyscall`). Nothing else moves, so entering is cheap. While `f` runs, the thread is
//!   not an M at all (`CUR_M` is cleared), so gort calls inside `f` behave as on a plain thread.
//!   The M must not keep `m.p`: another M may own the P by the time the call returns (taken
//!   by sysmon, or even re-taken by this M's fast path after that M entered a call of its own),
//!   and sysmon's hog retake (`pclaim`) finds a P's owner through `p.m` and checks `m.p`.
//! - sysmon retakes a P that has been in the same call for at least one sysmon tick (20 us)
//!   when it has work queued, or no M is spinning and no P is idle, or after 10 ms: it CASes
//!   `Syscall -> Idle` and hands the P off (`handoffp`).
//! - Exit, fast path: CAS `m.oldp` `Syscall -> Running` and `acquirep` it (Go's `wirep`): it
//!   was not taken, or it was taken and is again in a call whose M will find it gone. This runs
//!   inside the runtime (`pclaim::enter_runtime`), so sysmon cannot take the P back before the
//!   M is done.
//!   Slow path: take an idle P; failing that, the G suspends (`ExitSyscall`), its M puts it
//!   on the global run queue and sleeps.
//!   Exactly one of sysmon and the exiting M wins the P's CAS.

use crate::coro::Suspend;
use crate::loom::Ordering;
use crate::sched::g::{GStatus, WaitReason};
use crate::sched::m::{self, getg, getm, M};
use crate::sched::p::{PStatus, P};
use crate::sched::runq::runq_empty;
use crate::sched::schedule::{acquirep, pidleget_locked, pidleput_locked, startm_locked};
use crate::sched::Sched;

/// Runs `f`, which may block its OS thread (a syscall, a C call, a long computation), the way
/// Go runs a system call: the goroutine's P is handed to another M if the call takes long and
/// other goroutines want to run. Outside a goroutine it just calls `f`.
///
/// Inside `f` the thread is a plain thread to gort: blocking gort calls (channel operations
/// that must wait, `join`) panic there, as outside a goroutine.
///
/// Go: `entersyscall`/`exitsyscall` (proc.go).
///
/// # Examples
/// ```
/// use std::time::Duration;
/// gort::run(|| {
///     let n = gort::runtime::blocking(|| {
///         std::thread::sleep(Duration::from_millis(2)); // its P may go to another thread
///         42
///     });
///     assert_eq!(n, 42);
///     // Inside the call the thread is a plain thread to gort.
///     assert_eq!(gort::runtime::blocking(|| gort::runtime::goid()), None);
/// });
/// assert_eq!(gort::runtime::blocking(|| 1 + 1), 2); // outside a goroutine: just calls f
/// ```
pub fn blocking<F: FnOnce() -> R, R>(f: F) -> R {
    let Some(mp) = getm() else { return f() };
    if mp.curg().is_none() {
        return f();
    }
    entersyscall(mp);
    struct Exit(&'static M);
    impl Drop for Exit {
        fn drop(&mut self) {
            exitsyscall(self.0);
        }
    }
    let _exit = Exit(mp);
    f()
}

/// Go: `reentersyscall` (proc.go).
#[inline(never)]
fn entersyscall(mp: &'static M) {
    let gp = mp.curg().expect("entersyscall outside a goroutine");
    // Without a P (sysmon took it from this goroutine as a hog), the call runs without one
    // and `exitsyscall` takes the slow path.
    let claim = crate::sched::pclaim::claim(mp);
    gp.set_wait_reason(WaitReason::Zero);
    gp.stamp_waitsince();
    crate::trace::syscall_enter(mp, gp);
    gp.status.set(GStatus::Running, GStatus::Syscall);
    if let Some(c) = &claim {
        let pp = c.p();
        // Let go of the P before publishing `Syscall` (after which sysmon may hand it to
        // another M, whose `acquirep` must not be overwritten). Go: `reentersyscall`.
        // ORDERING: owner-written fields; the status store below publishes them.
        pp.m.store(std::ptr::null_mut(), Ordering::Relaxed);
        mp.oldp.store(pp as *const P as *mut P, Ordering::Relaxed);
        mp.p.store(std::ptr::null_mut(), Ordering::Relaxed);
        pp.set_status(PStatus::Syscall);
    }
    drop(claim);
    let sched = mp.sched;
    // ORDERING: SeqCst, as in `pidleget_locked`: sysmon must run to retake the P.
    if sched.sysmonwait.load(Ordering::SeqCst) {
        sched.lock.lock();
        if sched.sysmonwait.swap(false, Ordering::SeqCst) {
            sched.sysmon_note.wakeup();
        }
        sched.lock.unlock();
    }
    m::set_current(None);
}

/// Go: `exitsyscall` (proc.go).
#[inline(never)]
fn exitsyscall(mp: &'static M) {
    m::set_current(Some(mp));
    let gp = getg().expect("exitsyscall: no G");
    // ORDERING: this M's own field.
    let oldp = mp.oldp.swap(std::ptr::null_mut(), Ordering::Relaxed);
    // SAFETY: Ps live in the leaked `Sched::allp`.
    let oldp = unsafe { oldp.as_ref() };
    {
        // In the runtime until the P is ours and set up: sysmon's hog retake must not take
        // it in between.
        let _rt = crate::sched::pclaim::enter_runtime(mp);
        if let Some(pp) = oldp.filter(|pp| pp.cas_status(PStatus::Syscall, PStatus::Running)) {
            // Fast path: the P was not taken, or was taken and is in another call again.
            acquirep(mp, pp);
            // ORDERING: owner-only counter, read by sysmon as a hint.
            pp.syscalltick.store(
                pp.syscalltick.load(Ordering::Relaxed).wrapping_add(1),
                Ordering::Relaxed,
            );
            gp.status.set(GStatus::Syscall, GStatus::Running);
            crate::trace::syscall_exit(gp);
            return;
        }
        let sched = mp.sched;
        sched.lock.lock();
        let pp = pidleget_locked(sched);
        sched.lock.unlock();
        if let Some(pp) = pp {
            acquirep(mp, pp);
            gp.status.set(GStatus::Syscall, GStatus::Running);
            crate::trace::syscall_exit(gp);
            return;
        }
    }
    // No P: off the stack, onto the global queue; the M sleeps (Go's `exitsyscall0`).
    // SAFETY: the yielder is valid while the coroutine runs, and it runs now.
    let y = unsafe { &*gp.yielder.get() };
    crate::trace::syscall_block(gp);
    y.suspend(Suspend::ExitSyscall);
    crate::trace::go_start(gp);
    // Resumed (on some M, with a P), status set to Running by that M.
}

/// Gives a P whose M is in a blocking call to something useful: an M if there is work, a
/// spinning M if nobody looks for work, else the idle list.
///
/// Go: `handoffp` (proc.go).
pub(crate) fn handoffp(sched: &'static Sched, pp: &'static P) {
    sched.lock.lock();
    // SAFETY: `sched.lock` is held.
    let global = unsafe { sched.locked() }.runq.len();
    if !runq_empty(pp) || global > 0 {
        startm_locked(sched, pp, false);
        sched.lock.unlock();
        return;
    }
    // No local work: start a spinning M if nobody is spinning or idle.
    // ORDERING: SeqCst, the spinning protocol.
    if sched.nmspinning.load(Ordering::SeqCst) + sched.npidle.load(Ordering::SeqCst) == 0
        && sched
            .nmspinning
            .compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    {
        startm_locked(sched, pp, true);
        sched.lock.unlock();
        return;
    }
    // The last running P and nobody polls the network: keep an M on it.
    if sched.npidle.load(Ordering::SeqCst) == sched.gomaxprocs - 1
        && crate::netpoll::any_waiters(sched)
        && sched.lastpoll.load(Ordering::SeqCst) != 0
    {
        startm_locked(sched, pp, false);
        sched.lock.unlock();
        return;
    }
    pp.m.store(std::ptr::null_mut(), Ordering::Relaxed);
    pidleput_locked(sched, pp);
    sched.lock.unlock();
}

/// sysmon's half: retakes `pp` if its M has been in a blocking call long enough.
///
/// Go: `retake` (proc.go), the `_Psyscall` case.
pub(crate) fn retake_syscall(
    sched: &'static Sched,
    pp: &'static P,
    now: i64,
    pd: &mut crate::sched::p::SysmonTick,
) -> bool {
    // ORDERING: a progress hint.
    let t = pp.syscalltick.load(Ordering::Relaxed);
    if pd.syscalltick != t {
        pd.syscalltick = t;
        pd.syscallwhen = now;
        return false;
    }
    // Leave it if there is nothing to do elsewhere, but not forever (10 ms), so sysmon can
    // deep-sleep eventually.
    // ORDERING: SeqCst reads, as the spinning protocol's.
    if runq_empty(pp)
        && sched.nmspinning.load(Ordering::SeqCst) + sched.npidle.load(Ordering::SeqCst) > 0
        && pd.syscallwhen + 10_000_000 > now
    {
        return false;
    }
    // From the CAS until `handoffp` has put the P somewhere, the P is in sysmon's hands: on no
    // list and held by no M. The M may leave its call meanwhile, find no P, queue its G and go
    // idle; if it were the last, `checkdead` would see every M idle and report a deadlock (or
    // a runnable G). So sysmon counts as running across the hand-off (Go's `retake` does the
    // same with `incidlelocked(-1)`/`(1)`), and the final `incidlelocked(1)` runs `checkdead`
    // once the P is placed.
    crate::sched::lockosthread::incidlelocked(sched, -1);
    let taken = pp.cas_status(PStatus::Syscall, PStatus::Idle);
    if taken {
        pp.syscalltick.store(t.wrapping_add(1), Ordering::Relaxed);
        // ORDERING: statistics.
        sched.stats.syscall_handoffs.fetch_add(1, Ordering::Relaxed);
        handoffp(sched, pp);
    }
    crate::sched::lockosthread::incidlelocked(sched, 1);
    taken
}
