//! sysmon: a thread with no P that watches the scheduler. It sleeps 20 us, doubling after 50
//! idle rounds up to 10 ms; deep-sleeps while every P is idle (until the next timer, at most
//! 1 s); asks a G that has held its P for over 10 ms to yield (`retake`, Go's forcePreemptNS);
//! retakes Ps from blocking calls; polls the network if nobody has for 10 ms; starts an M for
//! a timer nobody runs; and prints GODEBUG=schedtrace lines.
//!
//! # Invariants
//! - sysmon never runs goroutines and holds no P; it counts as an M in `mcount` but not in
//!   `checkdead` (`NMSYS`).
//! - It touches only atomics of Ps and Gs plus each P's `sysmontick`, which is its alone.

use crate::loom::Ordering;
use crate::sched::g::GPtr;
use crate::sched::p::PStatus;
use crate::sched::Sched;
use std::time::Duration;

/// Set by the SIGQUIT handler; sysmon prints the goroutine dump and exits the process.
static SIGQUIT_PENDING: crate::loom::AtomicBool = crate::loom::AtomicBool::new(false);

/// Running sysmons; with none, SIGQUIT gets its default action (core dump and exit).
static SYSMONS: crate::loom::AtomicU32 = crate::loom::AtomicU32::new(0);

extern "C" fn on_sigquit(sig: libc::c_int) {
    // Async-signal-safe: atomics, and signal/raise for the fallback. sysmon notices the flag
    // within one round (at most 1 s in deep sleep) and prints on a normal thread.
    // ORDERING: SeqCst; flags read by sysmon.
    if SYSMONS.load(Ordering::SeqCst) == 0 {
        // SAFETY: restoring the default action and re-raising are async-signal-safe.
        unsafe {
            libc::signal(sig, libc::SIG_DFL);
            libc::raise(sig);
        }
        return;
    }
    SIGQUIT_PENDING.store(true, Ordering::SeqCst);
}

/// Installs the SIGQUIT handler once per process (Go: SIGQUIT dumps every goroutine and exits
/// with status 2).
pub(crate) fn install_sigquit() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: a zeroed sigaction with a handler address and an empty mask is a valid
        // argument; the handler only does an atomic store, which is async-signal-safe.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_sigquit as extern "C" fn(libc::c_int) as usize;
            libc::sigemptyset(&mut sa.sa_mask);
            sa.sa_flags = libc::SA_RESTART;
            libc::sigaction(libc::SIGQUIT, &sa, std::ptr::null_mut());
        }
    });
}

fn check_sigquit(sched: &Sched) {
    // ORDERING: SeqCst, the flag set by the handler.
    if SIGQUIT_PENDING.swap(false, Ordering::SeqCst) {
        let dump = crate::sched::trace::goroutine_dump(sched);
        crate::print::stderr(&format!("SIGQUIT: quit\n\n{dump}\n"));
        std::process::exit(2);
    }
}

/// Threads that are Ms without Ps (sysmon), excluded from `checkdead`'s count.
pub(crate) const NMSYS: i64 = 1;

/// The time slice (Go's `forcePreemptNS`).
pub(crate) const FORCE_PREEMPT_NS: i64 = 10_000_000;

pub(crate) fn start(sched: &'static Sched) {
    // ORDERING: counters read under the lock or as hints; `mlive` is the teardown count.
    sched.mcount.fetch_add(1, Ordering::Relaxed);
    sched.mlive.fetch_add(1, Ordering::SeqCst);
    sched.lock.lock();
    // SAFETY: `sched.lock` is held.
    unsafe { sched.locked() }.mnext += 1;
    sched.lock.unlock();
    // ORDERING: SeqCst, read by the signal handler.
    SYSMONS.fetch_add(1, Ordering::SeqCst);
    let r = std::thread::Builder::new()
        .name("gort-sysmon".into())
        .spawn(move || {
            sysmon(sched);
            SYSMONS.fetch_sub(1, Ordering::SeqCst);
            crate::sched::proc::mlive_exit(sched);
        });
    if let Err(e) = r {
        crate::throw!("sysmon: failed to create its OS thread: {e}");
    }
}

/// Sleeps on the sysmon note for at most `max_ns`, and never past the earliest future timer
/// (so a timer nobody runs is noticed: see `kick_overdue_timers`).
fn sleep_until_timer(sched: &Sched, max_ns: i64) {
    let now = sched.nanotime();
    let mut sleep_ns = max_ns;
    let next = crate::time::sleep_until(sched);
    // A timer already due is the Ms' business (or `kick_overdue_timers`'s): sleep as planned.
    if next > now {
        sleep_ns = sleep_ns.min(next - now);
    }
    if sleep_ns > 0 {
        sched
            .sysmon_note
            .sleep_timeout(Duration::from_nanos(sleep_ns as u64));
    }
}

/// How late a timer may be before sysmon starts an M for it.
const TIMER_OVERDUE_NS: i64 = 10_000_000;

/// The netpoller M runs timers on time; this is the safety net for a timer left on the heap of
/// a P whose M is busy while the other Ps idle: if one is over 10 ms late, wake an idle P, whose
/// spinning M runs every P's due timers. (Go relies on the poller alone, except on NetBSD.)
fn kick_overdue_timers(sched: &'static Sched, now: i64) {
    let next = crate::time::sleep_until(sched);
    // ORDERING: SeqCst, read as `wakep` itself reads it.
    if next != 0 && next + TIMER_OVERDUE_NS < now && sched.npidle.load(Ordering::SeqCst) > 0 {
        crate::sched::schedule::wakep(sched);
    }
}

/// Go: `sysmon` (proc.go).
fn sysmon(sched: &'static Sched) {
    let mut idle = 0u32;
    let mut delay_us = 20u64;
    // Go prints the first line at once (its `lasttrace` starts at 0 against an absolute clock).
    let mut lasttrace = i64::MIN / 2;
    let schedtrace = sched.debug.schedtrace;
    loop {
        if idle == 0 {
            delay_us = 20;
        } else if idle > 50 {
            delay_us *= 2;
        }
        delay_us = delay_us.min(10_000);
        sleep_until_timer(sched, delay_us as i64 * 1000);
        if sched.is_shutdown() {
            return;
        }
        if schedtrace <= 0 && sched.npidle.load(Ordering::SeqCst) == sched.gomaxprocs {
            sched.lock.lock();
            if sched.npidle.load(Ordering::SeqCst) == sched.gomaxprocs {
                // ORDERING: SeqCst with `pidleget_locked`'s check, both under the lock.
                sched.sysmonwait.store(true, Ordering::SeqCst);
                sched.lock.unlock();
                // Deep sleep, but never past the next timer, and at most 1 s so a SIGQUIT is
                // answered promptly.
                sleep_until_timer(sched, 1_000_000_000);
                sched.lock.lock();
                sched.sysmonwait.store(false, Ordering::SeqCst);
                idle = 0;
                delay_us = 20;
            }
            sched.lock.unlock();
            if sched.is_shutdown() {
                return;
            }
        }
        check_sigquit(sched);
        kick_overdue_timers(sched, sched.nanotime());
        // Poll the network if nobody has for 10 ms (Go's sysmon).
        let now = sched.nanotime();
        let last = sched.lastpoll.load(Ordering::SeqCst);
        if crate::netpoll::any_waiters(sched) && last != 0 && last + 10_000_000 < now {
            // Only if no M blocked in the poller meanwhile (it swaps `lastpoll` to 0).
            let _ = sched.lastpoll.compare_exchange(
                last,
                now.max(1),
                Ordering::SeqCst,
                Ordering::SeqCst,
            );
            let mut list = Vec::new();
            crate::netpoll::netpoll(sched, Some(Duration::ZERO), &mut list);
            crate::sched::schedule::inject_glist(sched, None, list);
        }
        let now = sched.nanotime();
        // ORDERING: a diagnostic clock; readers tolerate staleness.
        sched.coarse_now.store(now, Ordering::Relaxed);
        if retake(sched, now) != 0 {
            idle = 0;
        } else {
            idle += 1;
        }
        if schedtrace > 0 && lasttrace + schedtrace * 1_000_000 <= now {
            lasttrace = now;
            crate::sched::trace::schedtrace(sched, sched.debug.scheddetail > 0);
        }
    }
}

/// Asks Gs that have run for over 10 ms to yield, and retakes Ps from Ms stuck in blocking
/// calls. Returns how many Ps it retook; as in Go, preemption requests do not count, so a busy
/// program lets sysmon back off to 10 ms rounds.
///
/// Go: `retake` (proc.go), the running-too-long half.
fn retake(sched: &'static Sched, now: i64) -> u32 {
    let mut n = 0;
    for pp in sched.allp.iter() {
        // SAFETY: `sysmontick` is touched only by sysmon (this thread).
        let pd = unsafe { &mut *pp.sysmontick.get() };
        match pp.status() {
            PStatus::Running => {}
            PStatus::Syscall => {
                if crate::sched::syscall::retake_syscall(sched, pp, now, pd) {
                    n += 1;
                }
                continue;
            }
            _ => continue,
        }
        if retake_storm() {
            // Testing aid: treat every running goroutine as a hog.
            if crate::sched::pclaim::retake_hog(sched, pp) {
                n += 1;
            }
            continue;
        }
        // ORDERING: a progress hint.
        let t = pp.schedtick.load(Ordering::Relaxed);
        if pd.schedtick != t {
            pd.schedtick = t;
            pd.schedwhen = now;
            pd.preempt_when = 0;
            continue;
        }
        if pd.preempt_when != 0
            && pd.preempt_when + FORCE_PREEMPT_NS <= now
            && others_waiting(sched, pp, now)
        {
            // Asked a whole slice ago and still running: a hog that reaches no check point.
            // Take its P as from a blocking call, so the others run (`pclaim`).
            if crate::sched::pclaim::retake_hog(sched, pp) {
                n += 1;
            }
            pd.preempt_when = now;
        } else if pd.schedwhen + FORCE_PREEMPT_NS <= now {
            if preemptone(pp) {
                // ORDERING: statistics.
                sched.stats.preempt_requests.fetch_add(1, Ordering::Relaxed);
                if pd.preempt_when == 0 {
                    pd.preempt_when = now;
                }
            }
            // Restart the slice so the flag is not re-set every round.
            pd.schedwhen = now;
        }
    }
    n
}

/// `GORT_RETAKE_STORM=1` (a testing aid, read once per process): every round, sysmon takes the
/// P of every goroutine running user code, as from a hog, instead of only after a time slice
/// ignored. It drives the hand-off paths (`pclaim`, `handoffp`) thousands of times a second,
/// as valgrind's slowness does by accident; `tests/preempt.rs` runs channel and select
/// workloads under it.
fn retake_storm() -> bool {
    static STORM: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *STORM.get_or_init(|| std::env::var_os("GORT_RETAKE_STORM").is_some_and(|v| v == "1"))
}

/// Whether anything waits for `pp` to be given up: Gs in its run queue or the global one, its
/// due timers, or the network with no P free to poll it.
fn others_waiting(sched: &Sched, pp: &crate::sched::p::P, now: i64) -> bool {
    let due = pp.timers.wake_time();
    // ORDERING: hints; a wrong guess costs one round.
    !crate::sched::runq::runq_empty(pp)
        || sched.runqsize.load(Ordering::Relaxed) > 0
        || (due != 0 && due <= now)
        || (crate::netpoll::any_waiters(sched) && sched.npidle.load(Ordering::Relaxed) == 0)
}

/// Sets the preempt flag of the G running on `pp`.
///
/// Go: `preemptone` (proc.go).
fn preemptone(pp: &crate::sched::p::P) -> bool {
    // ORDERING: snapshots; the M and G are never freed while the runtime runs.
    let mp = pp.m.load(Ordering::Relaxed);
    // SAFETY: Ms are leaked, so a non-null pointer is valid.
    let Some(mp) = (unsafe { mp.as_ref() }) else {
        return false;
    };
    let Some(gp) = GPtr::from_ptr(mp.curg.load(Ordering::Relaxed)) else {
        return false;
    };
    gp.request_preempt();
    true
}
