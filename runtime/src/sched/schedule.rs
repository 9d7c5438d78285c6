//! The M loop: `schedule` finds a runnable G (`find_runnable`, in Go's order) and runs it
//! (`execute`) until it parks, yields or exits. Also the idle lists of Ps and Ms and the
//! spinning protocol (`wakep`, `startm`, `stopm`, `reset_spinning`).
//!
//! # Protocol (spinning; docs/design.md "Spinning" has the full argument)
//! - Submit: publish the G (run queue store), StoreLoad, then `wakep` checks `nmspinning`.
//! - A spinning M that drops its P: decrement `nmspinning`, StoreLoad, then re-check the global
//!   queue and every P's run queue before sleeping.
//! - The last spinning M to find work wakes another spinner (`reset_spinning`).
//!   Together these make sure no runnable G is left while an idle P and a sleeping M exist.

use crate::coro::Suspend;
use crate::loom::Ordering;
use crate::sched::g::CoroSlot;
use crate::sched::g::{GPtr, GStatus};
use crate::sched::lockosthread;
use crate::sched::m::{self, M};
use crate::sched::p::{PStatus, P};
use crate::sched::runq::{
    glob_runq_get_batch_locked, glob_runq_get_locked, glob_runq_put_locked, runq_empty, runq_get,
    runq_steal,
};
use crate::sched::Sched;
use corosensei::CoroutineResult;

/// How many times `steal_work` walks all Ps (Go's `stealTries`).
const STEAL_TRIES: usize = 4;

/// Go's `sched.maxmcount`.
const MAX_M_COUNT: u32 = 10_000;

/// Runs the scheduler on this M until the runtime shuts down.
///
/// Go: `schedule` (proc.go).
pub(crate) fn schedule_loop(mp: &'static M) {
    loop {
        // An M with a locked G runs nothing else: it waits for that G (`lockosthread`).
        let (gp, inherit) = match lockosthread::lockedg(mp) {
            Some(gp) => {
                if !lockosthread::stoplockedm(mp) {
                    return;
                }
                (gp, false)
            }
            None => match find_runnable(mp) {
                Some(r) => r,
                None => return,
            },
        };
        if mp.spinning.load(Ordering::Relaxed) {
            reset_spinning(mp);
        }
        if let Some(locked) = lockosthread::lockedm(gp).filter(|l| !std::ptr::eq(*l, mp)) {
            // Locked to another M: hand it our P, and go idle.
            lockosthread::startlockedm(mp, locked);
            if !stopm(mp) {
                return;
            }
            continue;
        }
        execute(mp, gp, inherit);
        // ORDERING: written by this thread (`gdestroy`).
        if mp.exit_thread.load(Ordering::Relaxed) {
            // A locked G exited: this thread goes with it (Go's `mexit`).
            lockosthread::mexit(mp);
            return;
        }
        // A G that left a blocking call without finding a P left this M without one.
        if mp.p().is_none() && lockosthread::lockedg(mp).is_none() && !stopm(mp) {
            return;
        }
    }
}

/// Runs `gp` on this M until it stops running.
///
/// Go: `execute` plus the g0 halves of `park_m`, `goschedImpl` and `goexit0` (proc.go).
fn execute(mp: &'static M, gp: GPtr, inherit_time: bool) {
    let sched = mp.sched;
    let pp0 = mp.p().expect("execute: M has no P");
    gp.status.set(GStatus::Runnable, GStatus::Running);
    // A new time slice answers any request to yield.
    gp.clear_preempt();
    if !inherit_time {
        // ORDERING: owner-only counter; sysmon reads it as a progress hint.
        pp0.schedtick.store(
            pp0.schedtick.load(Ordering::Relaxed).wrapping_add(1),
            Ordering::Relaxed,
        );
    }
    loop {
        // ORDERING: read by diagnostics only.
        mp.curg.store(gp.as_ptr(), Ordering::Relaxed);
        gp.m.store(mp as *const M as *mut M, Ordering::Relaxed);
        // SAFETY: the G is Running and this M moved it there, so this M owns its coroutine
        // (g.rs invariants). The reference ends before the G can be readied elsewhere.
        let coro = match unsafe { &mut *gp.coro.get() } {
            CoroSlot::Live(c) => c,
            _ => crate::throw!("execute: G has no coroutine"),
        };
        crate::sched::pclaim::enter_user(mp);
        let r = coro.resume(());
        // Back in the runtime: the P is ours, or sysmon took it from a hog and this is an idle
        // one, or there is none (`pclaim`).
        let owned = crate::sched::pclaim::leave_user(mp);
        // ORDERING: as above.
        mp.curg.store(std::ptr::null_mut(), Ordering::Relaxed);
        gp.m.store(std::ptr::null_mut(), Ordering::Relaxed);
        if let CoroutineResult::Yield(Suspend::ExitSyscall) = r {
            // Go: `exitsyscall0`. This M lost its P during the call.
            sched.lock.lock();
            match pidleget_locked(sched) {
                Some(pp) => {
                    sched.lock.unlock();
                    acquirep(mp, pp);
                    gp.status.set(GStatus::Syscall, GStatus::Running);
                    continue;
                }
                None => {
                    gp.status.set(GStatus::Syscall, GStatus::Runnable);
                    glob_runq_put_locked(sched, gp);
                    sched.lock.unlock();
                    return;
                }
            }
        }
        // The P may have changed across a blocking call (exitsyscall's slow path) or a hog's
        // retake; without one, the G cannot run on here and goes to the global queue.
        let pp = owned;
        match r {
            CoroutineResult::Yield(Suspend::Park { unlockf, arg }) => {
                gp.status.set(GStatus::Running, GStatus::Waiting);
                if let Some(pp) = pp {
                    // ORDERING: an owner-only statistic: load + store, no read-modify-write.
                    pp.parks
                        .store(pp.parks.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
                }
                if let Some(f) = unlockf {
                    // SAFETY: the G parked with this unlock function and argument, and is now
                    // off its stack, which is the contract of `UnlockFn`.
                    if !unsafe { f(gp, arg) } {
                        // The park was cancelled: run the G again at once (or, without a P,
                        // let an M that has one run it).
                        if pp.is_none() {
                            gp.status.set(GStatus::Waiting, GStatus::Runnable);
                            requeue_global(sched, gp);
                            return;
                        }
                        gp.status.set(GStatus::Waiting, GStatus::Running);
                        continue;
                    }
                }
                return;
            }
            CoroutineResult::Yield(Suspend::Yield) | CoroutineResult::Yield(Suspend::Preempt) => {
                gp.status.set(GStatus::Running, GStatus::Runnable);
                sched.lock.lock();
                glob_runq_put_locked(sched, gp);
                sched.lock.unlock();
                if pp.is_none() {
                    wakep(sched);
                } else if sched.main_started.load(Ordering::Relaxed) {
                    wakep_from_p(sched);
                }
                return;
            }
            CoroutineResult::Yield(Suspend::YieldLocal) => {
                gp.status.set(GStatus::Running, GStatus::Runnable);
                match pp {
                    // SAFETY: this M holds `pp`.
                    Some(pp) => unsafe { crate::sched::runq::runq_put(sched, pp, gp, false) },
                    None => requeue_global(sched, gp),
                }
                return;
            }
            CoroutineResult::Return(()) => {
                crate::sched::proc::gdestroy(mp, gp);
                return;
            }
            CoroutineResult::Yield(Suspend::ExitSyscall) => unreachable!("handled above"),
        }
    }
}

/// Puts a runnable G on the global queue and wakes an M for it: what an M that lost its P
/// (a hog's retake) does with the G it was running.
fn requeue_global(sched: &'static Sched, gp: GPtr) {
    sched.lock.lock();
    glob_runq_put_locked(sched, gp);
    sched.lock.unlock();
    wakep(sched);
}

/// Finds a runnable G for this M, blocking (parking the M) until one exists. Returns the G and
/// whether it inherits the time slice, or None when the runtime shuts down.
///
/// Go: `findRunnable` (proc.go).
fn find_runnable(mp: &'static M) -> Option<(GPtr, bool)> {
    let sched = mp.sched;
    'top: loop {
        if sched.is_shutdown() {
            return None;
        }
        let pp = mp.p().expect("find_runnable: M has no P");

        // This P's due timers; `now` and `poll_until` (the next deadline, 0 if none) are kept
        // for the steal pass and the poller.
        let (now, mut poll_until, _) = pp.timers.check(sched, 0);

        // Fairness: every 61st schedule tick, look at the global queue first, so two Gs that
        // keep readying each other cannot starve it.
        // ORDERING: owner-only counter.
        if pp.schedtick.load(Ordering::Relaxed) % 61 == 0
            && sched.runqsize.load(Ordering::Relaxed) > 0
        {
            sched.lock.lock();
            let gp = glob_runq_get_locked(sched);
            sched.lock.unlock();
            if let Some(gp) = gp {
                return Some((gp, false));
            }
        }

        // Local run queue.
        // SAFETY: this M holds `pp`.
        if let Some(r) = unsafe { runq_get(pp) } {
            return Some(r);
        }

        // Global run queue.
        if sched.runqsize.load(Ordering::Relaxed) > 0 {
            sched.lock.lock();
            // SAFETY: this M holds `pp` and `sched.lock`.
            let gp =
                unsafe { glob_runq_get_batch_locked(sched, pp, crate::sched::p::RUNQ_CAP / 2) };
            sched.lock.unlock();
            if let Some(gp) = gp {
                return Some((gp, false));
            }
        }

        // Non-blocking netpoll, only an optimisation before stealing: skipped if nobody waits
        // on the network, if an M is blocked in the poller (it sees the events), or if another
        // M is polling right now (`polling_net`, sparing the kernel's queue lock).
        // ORDERING: SeqCst, the polling protocol (netpoll module docs).
        if crate::netpoll::any_waiters(sched)
            && sched.lastpoll.load(Ordering::SeqCst) != 0
            && sched.polling_net.swap(1, Ordering::SeqCst) == 0
        {
            let mut list = Vec::new();
            crate::netpoll::netpoll(sched, Some(std::time::Duration::ZERO), &mut list);
            sched.polling_net.store(0, Ordering::SeqCst);
            if let Some(gp) = list.pop() {
                inject_glist(sched, Some(pp), list);
                gp.status.set(GStatus::Waiting, GStatus::Runnable);
                return Some((gp, false));
            }
        }

        // Steal, limiting spinning Ms to half the busy Ps.
        let spinning = mp.spinning.load(Ordering::Relaxed);
        let busy = sched.gomaxprocs - sched.npidle.load(Ordering::SeqCst);
        if spinning || 2 * sched.nmspinning.load(Ordering::SeqCst) < busy {
            if !spinning {
                become_spinning(mp);
            }
            let stolen = steal_work(mp, pp, now);
            if let Some(gp) = stolen.gp {
                return Some((gp, false));
            }
            poll_until = earliest(poll_until, stolen.poll_until);
            if stolen.ran_timer {
                // Timers of other Ps ran; what they readied is on our P.
                continue 'top;
            }
        }

        // Nothing to do: give up the P.
        sched.lock.lock();
        if sched.is_shutdown() {
            sched.lock.unlock();
            return None;
        }
        if sched.runqsize.load(Ordering::Relaxed) > 0 {
            // SAFETY: this M holds `pp` and `sched.lock`.
            let gp =
                unsafe { glob_runq_get_batch_locked(sched, pp, crate::sched::p::RUNQ_CAP / 2) };
            sched.lock.unlock();
            if let Some(gp) = gp {
                return Some((gp, false));
            }
            continue 'top;
        }
        if !mp.spinning.load(Ordering::Relaxed) && sched.needspinning.load(Ordering::SeqCst) == 1 {
            // Someone wanted a spinning M but found no idle P: be that M (Go's "delicate
            // dance").
            become_spinning(mp);
            sched.lock.unlock();
            continue 'top;
        }
        releasep(mp);
        pidleput_locked(sched, pp);
        sched.lock.unlock();

        if mp.spinning.load(Ordering::Relaxed) {
            mp.spinning.store(false, Ordering::Relaxed);
            // ORDERING: SeqCst is the StoreLoad of the spinning protocol: the decrement must
            // be visible before we re-check the queues, pairing with the submitter's publish
            // then `wakep` load of `nmspinning`.
            if sched.nmspinning.fetch_sub(1, Ordering::SeqCst) == 0 {
                crate::throw!("findrunnable: negative nmspinning");
            }

            // Re-check the global queue.
            if sched.runqsize.load(Ordering::SeqCst) > 0 {
                sched.lock.lock();
                if let Some(pp2) = pidleget_spinning_locked(sched) {
                    acquirep(mp, pp2);
                    // SAFETY: this M now holds `pp2` and `sched.lock`.
                    let gp = unsafe {
                        glob_runq_get_batch_locked(sched, pp2, crate::sched::p::RUNQ_CAP / 2)
                    };
                    sched.lock.unlock();
                    become_spinning(mp);
                    match gp {
                        Some(gp) => return Some((gp, false)),
                        None => continue 'top,
                    }
                }
                sched.lock.unlock();
            }

            // Re-check every P's run queue.
            if sched
                .allp
                .iter()
                .any(|p2| p2.status() != PStatus::Idle && !runq_empty(p2))
            {
                sched.lock.lock();
                let pp2 = pidleget_spinning_locked(sched);
                sched.lock.unlock();
                if let Some(pp2) = pp2 {
                    acquirep(mp, pp2);
                    become_spinning(mp);
                    continue 'top;
                }
            }

            // And timers added meanwhile (Go's `checkTimersNoP`).
            poll_until = earliest(poll_until, crate::time::sleep_until(sched));
        }

        // Block in the netpoller instead of sleeping, if goroutines wait on the network or a
        // timer is pending, and no other M is blocked in it. Swapping `lastpoll` to 0 takes
        // that right and tells everyone an M is blocked in the poller (`poll_until` says until
        // when); a concurrent non-blocking poll by another M or sysmon does not matter.
        // ORDERING: SeqCst, the polling protocol (`time::wake_net_poller` reads these).
        if (crate::netpoll::any_waiters(sched) || poll_until != 0)
            && sched.lastpoll.swap(0, Ordering::SeqCst) != 0
        {
            // Shutdown may have begun since our last check, and its `netpoll_break` may have
            // been consumed by another M's non-blocking poll: re-check before blocking (the
            // StoreLoad pair with `begin_shutdown`; modelled in runtime/tests/loom_models).
            if sched.shutdown.load(Ordering::SeqCst) {
                sched
                    .lastpoll
                    .store(sched.nanotime().max(1), Ordering::SeqCst);
                return None;
            }
            sched.poll_until.store(poll_until, Ordering::SeqCst);
            let delay = (poll_until != 0).then(|| {
                std::time::Duration::from_nanos((poll_until - sched.nanotime()).max(0) as u64)
            });
            let mut list = Vec::new();
            crate::netpoll::netpoll(sched, delay, &mut list);
            sched.poll_until.store(0, Ordering::SeqCst);
            sched
                .lastpoll
                .store(sched.nanotime().max(1), Ordering::SeqCst);
            if sched.is_shutdown() {
                return None;
            }
            sched.lock.lock();
            let pp2 = pidleget_locked(sched);
            sched.lock.unlock();
            match pp2 {
                None => inject_glist(sched, None, list),
                Some(pp2) => {
                    acquirep(mp, pp2);
                    if let Some(gp) = list.pop() {
                        inject_glist(sched, Some(pp2), list);
                        gp.status.set(GStatus::Waiting, GStatus::Runnable);
                        return Some((gp, false));
                    }
                    continue 'top;
                }
            }
        } else if poll_until != 0 {
            // Another M is blocked in the poller: make sure it wakes for our timer.
            // ORDERING: SeqCst, the polling protocol.
            let until = sched.poll_until.load(Ordering::SeqCst);
            if until == 0 || until > poll_until {
                crate::netpoll::netpoll_break(sched);
            }
        }

        if !stopm(mp) {
            return None;
        }
    }
}

/// Makes goroutines readied by the netpoller runnable. Without a P (`pp` None: sysmon, or an
/// M back from the poller that found no idle P) they all go on the global queue, with an M
/// started for each idle P. With one, only as many as there are idle Ps go global (each with
/// an M to run it); the rest go on this P's local queue, where a spinning M woken by `wakep`
/// steals half, so a batch of network events costs one `sched.lock` round at most.
///
/// Go: `injectglist` (proc.go).
pub(crate) fn inject_glist(sched: &'static Sched, pp: Option<&'static P>, mut list: Vec<GPtr>) {
    if list.is_empty() {
        return;
    }
    for gp in &list {
        gp.status.set(GStatus::Waiting, GStatus::Runnable);
    }
    // ORDERING: a hint (Go reads it the same way); `pidleget_locked` decides under the lock.
    let nglobal = match pp {
        None => list.len(),
        Some(_) => list
            .len()
            .min(sched.npidle.load(Ordering::Relaxed) as usize),
    };
    if nglobal > 0 {
        sched.lock.lock();
        for gp in list.drain(..nglobal) {
            glob_runq_put_locked(sched, gp);
        }
        for _ in 0..nglobal {
            match pidleget_locked(sched) {
                Some(idle) => startm_locked(sched, idle, false),
                None => break,
            }
        }
        sched.lock.unlock();
    }
    if let Some(pp) = pp {
        if !list.is_empty() {
            for gp in list {
                // SAFETY: this M holds `pp` (the caller's contract).
                unsafe { crate::sched::runq::runq_put(sched, pp, gp, false) };
            }
            wakep_from_p(sched);
        }
    }
}

/// What `steal_work` found.
struct Stolen {
    gp: Option<GPtr>,
    /// The earliest timer of the Ps whose timers it checked (0: none).
    poll_until: i64,
    /// Timers of other Ps ran (their readied Gs are on our P, or were, if stolen since).
    ran_timer: bool,
}

/// The earlier of two deadlines where 0 means none.
fn earliest(a: i64, b: i64) -> i64 {
    match (a, b) {
        (0, x) | (x, 0) => x,
        (a, b) => a.min(b),
    }
}

/// Tries to steal a G from another P: four passes in a random coprime-stride order; the last
/// pass also runs the victims' due timers (idle Ps included) and may take a victim's
/// `runnext`.
///
/// Go: `stealWork` (proc.go).
fn steal_work(mp: &'static M, pp: &'static P, mut now: i64) -> Stolen {
    let sched = mp.sched;
    let mut out = Stolen {
        gp: None,
        poll_until: 0,
        ran_timer: false,
    };
    for i in 0..STEAL_TRIES {
        let last = i == STEAL_TRIES - 1;
        for id in sched.steal_order.start(mp.cheaprand()) {
            if sched.is_shutdown() {
                return out;
            }
            let p2 = &sched.allp[id as usize];
            if std::ptr::eq(p2, pp) {
                continue;
            }
            if last && p2.timers.wake_time() != 0 {
                let (tnow, w, ran) = p2.timers.check(sched, now);
                now = tnow;
                out.poll_until = earliest(out.poll_until, w);
                if ran {
                    // SAFETY: this M holds `pp`.
                    if let Some((gp, _)) = unsafe { runq_get(pp) } {
                        out.gp = Some(gp);
                        return out;
                    }
                    out.ran_timer = true;
                }
            }
            if p2.status() == PStatus::Idle {
                continue;
            }
            // SAFETY: this M holds `pp`.
            if let Some(gp) = unsafe { runq_steal(pp, p2, last) } {
                // ORDERING: statistics.
                pp.steals.fetch_add(1, Ordering::Relaxed);
                out.gp = Some(gp);
                return out;
            }
        }
    }
    out
}

fn become_spinning(mp: &M) {
    mp.spinning.store(true, Ordering::Relaxed);
    // ORDERING: SeqCst, part of the spinning protocol (see module docs).
    mp.sched.nmspinning.fetch_add(1, Ordering::SeqCst);
    mp.sched.needspinning.store(0, Ordering::SeqCst);
}

/// A spinning M found work: stop spinning and, if it was the last spinner, wake another.
///
/// Go: `resetspinning` (proc.go).
fn reset_spinning(mp: &M) {
    mp.spinning.store(false, Ordering::Relaxed);
    // ORDERING: SeqCst, part of the spinning protocol.
    if mp.sched.nmspinning.fetch_sub(1, Ordering::SeqCst) == 0 {
        crate::throw!("resetspinning: negative nmspinning");
    }
    wakep_from_p(mp.sched);
}

/// `wakep` for a caller that holds a P of `sched` (so with GOMAXPROCS=1 there is no other P to
/// wake and the whole protocol can be skipped).
#[inline]
pub(crate) fn wakep_from_p(sched: &'static Sched) {
    if sched.gomaxprocs > 1 {
        wakep(sched);
    }
}

/// Wakes an idle P with a spinning M if there is an idle P and no M is spinning.
///
/// Go: `wakep` (proc.go).
pub(crate) fn wakep(sched: &'static Sched) {
    if sched.is_shutdown() {
        return;
    }
    // ORDERING: SeqCst fence: the StoreLoad between publishing the G (a Release store into a
    // run queue) and reading `nmspinning` below ("submit" in docs/design.md).
    crate::loom::fence(Ordering::SeqCst);
    // No idle P and a spinner already requested: the full path below would only store
    // `needspinning = 1` again. An M about to idle its P checks `needspinning` under the lock
    // and spins instead, so it will find the work we published before these SeqCst loads.
    // ORDERING: SeqCst loads: the "check" half of the submit StoreLoad.
    if sched.npidle.load(Ordering::SeqCst) == 0 && sched.needspinning.load(Ordering::SeqCst) == 1 {
        return;
    }
    // ORDERING: SeqCst loads/CAS: the "check nmspinning" half of the submit StoreLoad.
    if sched.nmspinning.load(Ordering::SeqCst) != 0
        || sched
            .nmspinning
            .compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
    {
        return;
    }
    sched.lock.lock();
    let pp = pidleget_spinning_locked(sched);
    match pp {
        None => {
            // ORDERING: undoing our increment, SeqCst as the protocol's other operations.
            sched.nmspinning.fetch_sub(1, Ordering::SeqCst);
            sched.lock.unlock();
        }
        Some(pp) => {
            startm_locked(sched, pp, true);
            sched.lock.unlock();
        }
    }
}

/// Hands `pp` to an idle M (or a new one), optionally spinning. `sched.lock` must be held.
///
/// Go: `startm` (proc.go).
pub(crate) fn startm_locked(sched: &'static Sched, pp: &'static P, spinning: bool) {
    // SAFETY: the caller holds `sched.lock`.
    let locked = unsafe { sched.locked() };
    if sched.is_shutdown() {
        // No new Ms once shutdown began (teardown runs when the last M exits). The P stays
        // off the idle list: nothing will run on it again.
        if spinning {
            // ORDERING: undoing the caller's increment.
            sched.nmspinning.fetch_sub(1, Ordering::SeqCst);
        }
        return;
    }
    if let Some(nmp) = locked.midle.pop() {
        // ORDERING: mirror for schedtrace, written under the lock.
        sched
            .nmidle
            .store(locked.midle.len() as u32, Ordering::Relaxed);
        nmp.spinning.store(spinning, Ordering::Relaxed);
        nmp.nextp.store(pp as *const P as *mut P, Ordering::Relaxed);
        // Published by the note's Release.
        nmp.park.wakeup();
        return;
    }
    if sched.mcount.load(Ordering::Relaxed) >= MAX_M_COUNT {
        crate::throw!("thread exhaustion");
    }
    let id = locked.mnext;
    locked.mnext += 1;
    let nmp = M::new(id, sched);
    nmp.spinning.store(spinning, Ordering::Relaxed);
    nmp.nextp.store(pp as *const P as *mut P, Ordering::Relaxed);
    locked.allm.push(nmp);
    // ORDERING: counters read under the lock or as hints.
    sched.mcount.fetch_add(1, Ordering::Relaxed);
    sched.mlive.fetch_add(1, Ordering::SeqCst);
    let r = std::thread::Builder::new()
        .name(format!("gort-m{id}"))
        .spawn(move || {
            m::set_current(Some(nmp));
            let pp = nmp.nextp.swap(std::ptr::null_mut(), Ordering::Acquire);
            // SAFETY: Ps live in the leaked `Sched::allp`.
            let pp = unsafe { &*pp };
            acquirep(nmp, pp);
            schedule_loop(nmp);
            m::set_current(None);
            crate::sched::proc::m_exit(nmp);
        });
    if let Err(e) = r {
        crate::throw!("newm: failed to create an OS thread for an M: {e}");
    }
}

/// Parks this M on the idle list until `startm` hands it a P. Returns false if it was woken for
/// shutdown instead.
///
/// Go: `stopm` (proc.go).
pub(crate) fn stopm(mp: &'static M) -> bool {
    let sched = mp.sched;
    sched.lock.lock();
    // Shutdown wakes the Ms on `midle` under this lock; an M that arrives later must not
    // sleep (it would never be woken).
    if sched.is_shutdown() {
        sched.lock.unlock();
        return false;
    }
    // SAFETY: `sched.lock` is held.
    let locked = unsafe { sched.locked() };
    locked.midle.push(mp);
    // ORDERING: mirror for schedtrace, written under the lock.
    sched
        .nmidle
        .store(locked.midle.len() as u32, Ordering::Relaxed);
    crate::sched::proc::checkdead_locked(sched);
    sched.lock.unlock();
    mp.blocked.store(true, Ordering::Relaxed);
    mp.park.sleep();
    mp.blocked.store(false, Ordering::Relaxed);
    let pp = mp.nextp.swap(std::ptr::null_mut(), Ordering::Acquire);
    if pp.is_null() {
        return false;
    }
    // SAFETY: Ps live in the leaked `Sched::allp`.
    acquirep(mp, unsafe { &*pp });
    true
}

/// Associates `pp` with this M.
///
/// Go: `acquirep` (proc.go).
pub(crate) fn acquirep(mp: &'static M, pp: &'static P) {
    pp.m.store(mp as *const M as *mut M, Ordering::Relaxed);
    pp.set_status(PStatus::Running);
    // ORDERING: owner-written; diagnostics tolerate staleness.
    mp.p.store(pp as *const P as *mut P, Ordering::Relaxed);
}

/// Disassociates this M from its P.
///
/// Go: `releasep` (proc.go).
pub(crate) fn releasep(mp: &M) -> &'static P {
    let pp = mp.p().expect("releasep: M has no P");
    // ORDERING: see `acquirep`.
    mp.p.store(std::ptr::null_mut(), Ordering::Relaxed);
    pp.m.store(std::ptr::null_mut(), Ordering::Relaxed);
    pp
}

/// Puts `pp` on the idle list. `sched.lock` must be held; `pp` must have no local work.
///
/// Go: `pidleput` (proc.go).
pub(crate) fn pidleput_locked(sched: &Sched, pp: &P) {
    if !runq_empty(pp) {
        crate::throw!("pidleput: P has non-empty run queue");
    }
    pp.set_status(PStatus::Idle);
    // SAFETY: the caller holds `sched.lock`.
    let locked = unsafe { sched.locked() };
    locked.pidle.push(pp.id);
    // ORDERING: SeqCst, read by the spinning heuristics in `find_runnable`.
    sched.npidle.fetch_add(1, Ordering::SeqCst);
}

/// Takes an idle P. `sched.lock` must be held.
///
/// Go: `pidleget` (proc.go).
pub(crate) fn pidleget_locked(sched: &'static Sched) -> Option<&'static P> {
    // SAFETY: the caller holds `sched.lock`.
    let locked = unsafe { sched.locked() };
    let id = locked.pidle.pop()?;
    // ORDERING: see `pidleput_locked`.
    sched.npidle.fetch_sub(1, Ordering::SeqCst);
    let pp = &sched.allp[id as usize];
    // Leave the Idle status until acquirep so thieves keep skipping it.
    if sched.sysmonwait.load(Ordering::SeqCst) {
        sched.sysmonwait.store(false, Ordering::SeqCst);
        sched.sysmon_note.wakeup();
    }
    Some(pp)
}

/// `pidleget`, or records that a spinning M is needed. `sched.lock` must be held.
///
/// Go: `pidlegetSpinning` (proc.go).
fn pidleget_spinning_locked(sched: &'static Sched) -> Option<&'static P> {
    let pp = pidleget_locked(sched);
    if pp.is_none() {
        // ORDERING: SeqCst, read by `find_runnable` under the lock.
        sched.needspinning.store(1, Ordering::SeqCst);
    }
    pp
}
