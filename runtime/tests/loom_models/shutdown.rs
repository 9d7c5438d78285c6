//! Model: shutdown against the M about to block in the netpoller: the shutdown's
//! `netpoll_break` must not be lost. It was lost before the fix: `old_protocol_loses_the_break`
//! reproduces the hang the schedule fuzzer found (docs/reliability.md, "Findings").
//!
//! Mirrors `begin_shutdown` (`runtime/src/sched/proc.rs`: store `shutdown`, then
//! `netpoll_break`), `netpoll_break` and `netpoll` (`runtime/src/netpoll/mod.rs`: the `wake_sig`
//! CAS 0 -> 1 de-duplicates breaks; a poll that returns the waker's event stores `wake_sig = 0`),
//! and `find_runnable` (`runtime/src/sched/schedule.rs`): an M that found no work and passed
//! its last shutdown check (under `Sched::lock`, when it dropped its P) takes the right to block
//! in the poller (swaps `lastpoll` to 0) and blocks with no timeout, because goroutines wait
//! on the network; another M, which passed its own shutdown check at the top of
//! `find_runnable` and saw `lastpoll != 0` just before, polls without blocking (step 5) at the
//! same time (the kernel queue takes concurrent waits). The eventfd behind mio's
//! `Waker` is a loom `Mutex<u32>` of pending wake-ups (the kernel orders it). The real code cannot
//! run under loom (`runtime/src/loom.rs`).
//!
//! # Checked
//! When every thread is done, the M that blocked in the poller has a pending wake-up to return
//! with, or did not block.
//! - `nonblocking_poll_that_swallows_the_break_loses_it` must fail. The non-blocking poll runs
//!   beside the blocking M's, receives the shutdown's wake-up and consumes it (re-arming
//!   `wake_sig`) after the blocking M re-checked `shutdown`; the blocking M then sleeps forever
//!   (its thread and the runtime's teardown leak, and `run` never returns if it is M0). This is
//!   the first version of concurrent polling; this model found it.
//! - `nonblocking_poll_passes_the_break_on` is the code now: a non-blocking poll that receives
//!   the waker's event raises it again (Go's non-blocking poll leaves the break byte unread),
//!   and must pass.
//!
//! The blocking M also re-checks `shutdown` (SeqCst) after its `lastpoll` swap: without that, a
//! previous blocking poller could consume the break and leave (it sees `shutdown`) while this M,
//! past its last check, blocks. That fix came from the schedule fuzzer (docs/reliability.md,
//! "Findings"); the model keeps it.

use crate::mini::{model_with, THREE_THREAD_PREEMPTIONS};
use gort_runtime::loom::{AtomicBool, AtomicI64, AtomicU32, Ordering};
use loom::sync::{Arc, Mutex};
use loom::thread;

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
    /// Another M is blocked in the poller (the `lastpoll` swap found 0).
    Stopm,
}

/// What the non-blocking poll does with the waker's event.
#[derive(Clone, Copy)]
enum NonBlocking {
    /// Consumes it, as a blocking poll does.
    Swallows,
    /// Raises it again (the waker is edge-triggered), leaving it to the blocking poller.
    PassesOn,
}

fn shutdown_vs_poller(nb: NonBlocking) {
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
            if wb.lastpoll.swap(0, Ordering::SeqCst) == 0 {
                return Blocker::Stopm;
            }
            if wb.shutdown.load(Ordering::SeqCst) {
                wb.lastpoll.store(2, Ordering::SeqCst);
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
                match nb {
                    NonBlocking::Swallows => {
                        wx.poll_events();
                    }
                    NonBlocking::PassesOn => {
                        // The event is returned (taken), then the waker is raised again.
                        let got = std::mem::take(&mut *wx.eventfd.lock().unwrap()) > 0;
                        if got {
                            *wx.eventfd.lock().unwrap() += 1;
                        }
                    }
                }
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

/// A non-blocking poll beside the blocking one consumes the break. A negative control: loom
/// must find the loss.
#[test]
#[should_panic(expected = "shutdown lost")]
fn nonblocking_poll_that_swallows_the_break_loses_it() {
    shutdown_vs_poller(NonBlocking::Swallows);
}

/// The code now: the non-blocking poll raises the break again.
#[test]
fn nonblocking_poll_passes_the_break_on() {
    shutdown_vs_poller(NonBlocking::PassesOn);
}
