//! Model: shutdown against the M about to block in the netpoller: the shutdown's
//! `netpoll_break` must not be lost. It was lost before the fix: `old_protocol_loses_the_break`
//! reproduces the hang the schedule fuzzer found (docs/reliability.md, "Findings").
//!
//! Mirrors `begin_shutdown` (`runtime/src/sched/proc.rs`: store `shutdown`, then
//! `netpoll_break`), `netpoll_break` and `netpoll` (`runtime/src/netpoll/mod.rs`: the `wake_sig`
//! CAS 0 -> 1 de-duplicates breaks; a poll that returns the waker's event stores `wake_sig = 0`),
//! and `find_runnable` (`runtime/src/sched/schedule.rs`): an M that found no work and passed
//! its last shutdown check (under `Sched::lock`, when it dropped its P) takes the polling right
//! (`acquire_poller`), stores `lastpoll = 0` and blocks with no timeout, because goroutines wait
//! on the network; another M, which passed its own shutdown check at the top of
//! `find_runnable`, polls without blocking (step 5) in the meantime. The eventfd behind mio's
//! `Waker` is a loom `Mutex<u32>` of pending wake-ups (the kernel orders it). The real code cannot
//! run under loom (`runtime/src/loom.rs`).
//!
//! # Checked
//! When every thread is done, the M that blocked in the poller has a pending wake-up to return
//! with, or did not block. `old_protocol_loses_the_break` runs the code before the fix and must
//! fail: the non-blocking poller consumes the shutdown's wake-up before the blocking M enters
//! `epoll_wait`, and the blocking M, which never looked at `shutdown` again, slept forever (the
//! M never exited, `run` never returned if it was M0, and otherwise the thread and the
//! runtime's teardown leaked). `recheck_after_taking_the_poller` runs the code as it is now, a
//! SeqCst re-check of `shutdown` once the M holds the polling right, with `shutdown` stored
//! SeqCst, and must pass.

use crate::mini::{model_with, THREE_THREAD_PREEMPTIONS};
use gort_runtime::loom::{AtomicBool, AtomicI64, AtomicU32, Ordering};
use loom::sync::{Arc, Mutex};
use loom::thread;

/// `acquire_poller`'s tries in the model (see there).
const SPIN_TRIES: usize = 4;

struct World {
    shutdown: AtomicBool,
    wake_sig: AtomicU32,
    /// The waker's eventfd: wake-ups written and not yet returned by a poll.
    eventfd: Mutex<u32>,
    polling_net: AtomicU32,
    lastpoll: AtomicI64,
}

impl World {
    /// `netpoll_break`.
    fn netpoll_break(&self) {
        if self
            .wake_sig
            .compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            *self.eventfd.lock().unwrap() += 1;
        }
    }

    /// The waker part of `netpoll`: takes the pending wake-ups, re-arms `wake_sig`.
    fn poll_events(&self) -> bool {
        let got = std::mem::take(&mut *self.eventfd.lock().unwrap()) > 0;
        if got {
            self.wake_sig.store(0, Ordering::SeqCst);
        }
        got
    }
}

/// How the blocking M ended.
#[derive(Debug, PartialEq, Eq)]
enum Blocker {
    /// Blocked in `epoll_wait` with no timeout.
    Blocked,
    /// Saw the shutdown and left without blocking.
    Left,
    /// Another M is blocked in the poller (`acquire_poller` gave up).
    Stopm,
}

fn shutdown_vs_poller(recheck: bool) {
    model_with(Some(THREE_THREAD_PREEMPTIONS), move || {
        let w = Arc::new(World {
            shutdown: AtomicBool::new(false),
            wake_sig: AtomicU32::new(0),
            eventfd: Mutex::new(0),
            polling_net: AtomicU32::new(0),
            lastpoll: AtomicI64::new(1),
        });
        // The M about to block, past its last shutdown check.
        let wb = w.clone();
        let blocker = thread::spawn(move || {
            // `acquire_poller`. The real loop retries until the short-term holder (the other
            // M's non-blocking poll, a few steps here) lets go; loom needs the spin bounded,
            // and a path that needs more tries only repeats the holder's steps.
            let mut got = false;
            for _ in 0..SPIN_TRIES {
                if wb.polling_net.swap(1, Ordering::SeqCst) == 0 {
                    got = true;
                    break;
                }
                if wb.lastpoll.load(Ordering::SeqCst) == 0 {
                    return Blocker::Stopm;
                }
                thread::yield_now();
            }
            if !got {
                return Blocker::Stopm;
            }
            wb.lastpoll.store(0, Ordering::SeqCst);
            if recheck && wb.shutdown.load(Ordering::SeqCst) {
                wb.lastpoll.store(2, Ordering::SeqCst);
                wb.polling_net.store(0, Ordering::SeqCst);
                return Blocker::Left;
            }
            // `netpoll(None)`: if a wake-up is pending, epoll_wait returns at once and the
            // M sees the shutdown afterwards; otherwise it sleeps (checked at the end).
            if wb.poll_events() {
                return Blocker::Left;
            }
            Blocker::Blocked
        });
        // Another M, past the shutdown check at the top of `find_runnable`: step 5.
        let wx = w.clone();
        let other = thread::spawn(move || {
            if wx.lastpoll.load(Ordering::SeqCst) != 0
                && wx.polling_net.swap(1, Ordering::SeqCst) == 0
            {
                wx.poll_events();
                wx.lastpoll.store(3, Ordering::SeqCst);
                wx.polling_net.store(0, Ordering::SeqCst);
            }
        });
        // The main goroutine returned: `begin_shutdown`.
        w.shutdown.store(true, Ordering::SeqCst);
        w.netpoll_break();
        other.join().unwrap();
        let end = blocker.join().unwrap();
        if end == Blocker::Blocked {
            let pending = *w.eventfd.lock().unwrap();
            assert!(
                pending > 0,
                "shutdown lost: an M sleeps in the netpoller with no wake-up pending"
            );
        }
    });
}

/// The protocol before the fix: the break can be consumed by another M's non-blocking poll
/// before the blocking M enters `epoll_wait`. A negative control: loom must find the loss.
#[test]
#[should_panic(expected = "shutdown lost")]
fn old_protocol_loses_the_break() {
    shutdown_vs_poller(false);
}

/// The code now (`find_runnable` step 9): re-check `shutdown` (SeqCst) after taking the polling
/// right and storing `lastpoll = 0`, before blocking.
#[test]
fn recheck_after_taking_the_poller() {
    shutdown_vs_poller(true);
}
