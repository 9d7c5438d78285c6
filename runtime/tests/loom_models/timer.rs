//! Model: adding a timer against the M that is about to block in the netpoller (docs/design.md,
//! "Timers": "adding an earlier timer").
//!
//! Mirrors `runtime/src/time/ptimers.rs` (`PTimers::add` publishes `min_when` under the heap
//! lock; `wake_net_poller`: if an M blocks in the poller, `lastpoll == 0`, break its poll
//! unless its `poll_until` is already early enough, else `wakep`) and the end of
//! `find_runnable` in `runtime/src/sched/schedule.rs` (drop the P; a spinner decrements
//! `nmspinning` and folds every P's `min_when` into `poll_until`, Go's `checkTimersNoP`; then,
//! if goroutines wait on the network or a timer is pending, take the polling right, store
//! `lastpoll = 0`, then `poll_until`, and block until `poll_until` or a break; otherwise
//! `stopm`). Built on the miniature in `mini.rs`; the real code cannot run under loom
//! (`runtime/src/loom.rs`).
//!
//! The scenario: P0's M runs a goroutine that adds a timer for `WHEN` to P0's heap and goes on
//! running (so P0's own M does not look at the timer again soon); P1's M has run out of work
//! and is about to sleep.
//!
//! # Checked
//! The timer is never missed: when both threads are done, the sleeping M blocks in the poller
//! with a deadline no later than `WHEN`, or its poll was broken, or it kept a P and spins (it
//! will see the timer on its steal pass), or `wakep` started a spinning M (which will).
//! The `broken_*` test drops the `poll_until` half of `wake_net_poller` and must fail.

use crate::mini::{model, Breaks, Dropped, MiniSched};
use gort_runtime::loom::Ordering;
use loom::sync::Arc;
use loom::thread;

const WHEN: i64 = 100;

/// Where P1's M ended.
#[derive(Debug, Clone, Copy)]
enum Sleeper {
    /// Kept or re-took a P and spins.
    Spinning,
    /// Blocked in the netpoller until this deadline (0: none).
    Polling { until: i64 },
    /// Asleep in `stopm`, with no timeout.
    Stopped,
}

/// P1's M from "nothing to do" to its sleep. `net_waiters`: goroutines wait on the network,
/// so it blocks in the poller even without a timer.
fn sleeper(s: &MiniSched, spinning: bool, net_waiters: bool, br: Breaks) -> Sleeper {
    let poll_until = match s.drop_p(1, spinning, 0, br) {
        Dropped::Found { .. } => unreachable!("no G in this model"),
        Dropped::Spinning { .. } => return Sleeper::Spinning,
        Dropped::Idle { poll_until } => poll_until,
    };
    let any_waiters = s.netpoll_waiters.load(Ordering::SeqCst) > 0;
    assert_eq!(any_waiters, net_waiters);
    // The right to block in the poller: the only poller in this model, so the swap wins.
    if (any_waiters || poll_until != 0) && s.lastpoll.swap(0, Ordering::SeqCst) != 0 {
        s.poll_until.store(poll_until, Ordering::SeqCst);
        return Sleeper::Polling { until: poll_until };
    }
    Sleeper::Stopped
}

fn add_vs_sleeper(spinning: bool, net_waiters: bool, br: Breaks) {
    model(move || {
        let s = Arc::new(MiniSched::new(&[true, true], u32::from(spinning)));
        if net_waiters {
            s.netpoll_waiters.store(1, Ordering::SeqCst);
        }
        let s2 = s.clone();
        let m1 = thread::spawn(move || sleeper(&s2, spinning, net_waiters, br));
        s.add_timer(0, WHEN, br);
        let end = m1.join().unwrap();
        let broken = s.wake_sig.load(Ordering::SeqCst) == 1;
        let started = s.locked().started.iter().any(|st| st.spinning);
        let ok = match end {
            Sleeper::Spinning => true,
            Sleeper::Polling { until } => (until != 0 && until <= WHEN) || broken || started,
            Sleeper::Stopped => started,
        };
        assert!(
            ok,
            "timer missed: {end:?}, broken {broken}, started {started}"
        );
    });
}

#[test]
fn timer_add_vs_spinner_going_to_sleep() {
    add_vs_sleeper(true, false, Breaks::default());
}

#[test]
fn timer_add_vs_m_going_to_sleep() {
    add_vs_sleeper(false, false, Breaks::default());
}

#[test]
fn timer_add_vs_spinner_blocking_in_netpoll() {
    add_vs_sleeper(true, true, Breaks::default());
}

#[test]
fn timer_add_vs_m_blocking_in_netpoll() {
    add_vs_sleeper(false, true, Breaks::default());
}

/// Negative control: if the adder trusted an M blocked in the poller to have seen the timer
/// (ignoring its `poll_until`), a poller that read `min_when` just before the add would sleep
/// through it.
#[test]
#[should_panic(expected = "timer missed")]
fn broken_timer_add_ignoring_poll_until() {
    add_vs_sleeper(
        true,
        true,
        Breaks {
            ignore_poll_until: true,
            ..Breaks::default()
        },
    );
}
