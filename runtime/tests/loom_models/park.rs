//! Model: parking and readying a goroutine without losing the wake-up, in the three forms the
//! runtime uses.
//!
//! 1. **Unlock after the switch** (invariant 2 of docs/design.md). Mirrors `gopark`
//!    (`runtime/src/sched/park.rs`), the `Suspend::Park` arm of `execute`
//!    (`runtime/src/sched/schedule.rs`: the M sets the G Running -> Waiting, then runs the
//!    unlock function), `goready` (Waiting -> Runnable, checked as `AtomicGStatus::set` does,
//!    then into the waker's `runnext`), and a channel receive that blocks against a send
//!    (`chan/src/hchan.rs`: the receiver queues a sudog whose `elem` points at a slot on its
//!    own stack and parks with `unlock_chan`; the sender finds it under the channel lock,
//!    writes the value into the slot, unlocks, then readies it).
//! 2. **The join bits** (`runtime/src/sched/proc.rs`: `JoinHandle::join`, `join_unlock`,
//!    `complete`): no lock; the unlock function sets JOINER and cancels the park if COMPLETE
//!    is already set.
//! 3. **A netpoll slot** (`runtime/src/netpoll/mod.rs`: `PollDesc::wait`, `block_commit`,
//!    `unblock`): no lock; the unlock function CASes the slot WAIT -> G and cancels the park if
//!    an event got there first.
//!
//! The channel lock is a loom `Mutex` standing for the `RawLock`, the G's stack slot and the
//! join result are loom `UnsafeCell`s (so a write that is not ordered before the read is a
//! reported data race), and the G's "switch" is the point after which the model touches the G
//! only through its M. The real code cannot run under loom (`runtime/src/loom.rs`).
//!
//! # Checked
//! The parked G is readied exactly when it must be: never while it is still Running (the
//! status check of `goready`), never twice, and never left Waiting with its event delivered;
//! it then sees the value or result that was handed to it.

use crate::mini::model;
use gort_runtime::loom::{AtomicU32, AtomicU8, AtomicUsize, Ordering};
use loom::cell::UnsafeCell;
use loom::sync::{Arc, Mutex};
use loom::thread;

/// `GStatus` values, Go's numbers (`runtime/src/sched/g.rs`).
const RUNNABLE: u8 = 1;
const RUNNING: u8 = 2;
const WAITING: u8 = 4;

/// A goroutine: its status and a slot on its stack.
struct G {
    status: AtomicU8,
    slot: UnsafeCell<u32>,
}

impl G {
    fn new(status: u8) -> G {
        G {
            status: AtomicU8::new(status),
            slot: UnsafeCell::new(0),
        }
    }

    /// `AtomicGStatus::set`: each transition has one actor, and a wrong `from` is fatal.
    fn set(&self, from: u8, to: u8) {
        let cur = self.status.load(Ordering::Acquire);
        assert_eq!(cur, from, "casgstatus: bad incoming values");
        self.status.store(to, Ordering::Release);
    }
}

// ---- 1. A channel receive parks; a send readies it. ----

const V: u32 = 7;

#[derive(Default)]
struct Chan {
    /// A one-slot buffer.
    buf: Option<u32>,
    /// A parked receiver (its sudog), if any.
    recvq: bool,
}

struct ChanWorld {
    lock: Mutex<Chan>,
    g: G,
    /// The sender's P's `runnext`.
    runnext: AtomicUsize,
}

#[derive(Debug, PartialEq, Eq)]
enum Recv {
    Got(u32),
    Parked,
}

fn chan_recv_vs_send(unlock_before_switch: bool) {
    model(move || {
        let w = Arc::new(ChanWorld {
            lock: Mutex::new(Chan::default()),
            g: G::new(RUNNING),
            runnext: AtomicUsize::new(0),
        });
        let w2 = w.clone();
        // The receiving G and its M.
        let receiver = thread::spawn(move || {
            let mut c = w2.lock.lock().unwrap();
            if let Some(v) = c.buf.take() {
                return Recv::Got(v);
            }
            // The G's receive slot on its own stack, then its sudog on `recvq`.
            // SAFETY: the G's own stack, not yet reachable by any waker.
            w2.g.slot.with_mut(|p| unsafe { *p = 0 });
            c.recvq = true;
            if unlock_before_switch {
                // The bug invariant 2 forbids: the lock released while the G still runs.
                drop(c);
                w2.g.set(RUNNING, WAITING);
                return Recv::Parked;
            }
            // gopark: the G suspends. Its M marks it Waiting, then runs `unlock_chan`.
            w2.g.set(RUNNING, WAITING);
            drop(c);
            Recv::Parked
        });
        // The sending G.
        let sent_direct = {
            let mut c = w.lock.lock().unwrap();
            if c.recvq {
                c.recvq = false;
                // SAFETY: the receiver is parked (stacks never move), and the channel lock
                // orders its slot write before ours.
                w.g.slot.with_mut(|p| unsafe { *p = V });
                drop(c);
                // goready, outside the lock (invariant 3).
                w.g.set(WAITING, RUNNABLE);
                w.runnext.store(1, Ordering::Release);
                true
            } else {
                c.buf = Some(V);
                false
            }
        };
        match receiver.join().unwrap() {
            Recv::Got(v) => {
                assert_eq!(v, V);
                assert!(!sent_direct);
            }
            Recv::Parked => {
                assert!(
                    sent_direct,
                    "lost wake-up: the receiver sleeps, the value is buffered"
                );
                // The sender's M runs the G from its `runnext`.
                assert_eq!(w.runnext.swap(0, Ordering::Acquire), 1);
                w.g.set(RUNNABLE, RUNNING);
                // SAFETY: the G runs again and owns its stack.
                assert_eq!(w.g.slot.with(|p| unsafe { *p }), V);
            }
        }
    });
}

#[test]
fn chan_recv_parks_vs_send() {
    chan_recv_vs_send(false);
}

/// Negative control: unlocking before the switch lets the sender ready a G that is still
/// Running.
#[test]
#[should_panic(expected = "casgstatus: bad incoming values")]
fn broken_unlock_before_the_switch() {
    chan_recv_vs_send(true);
}

// ---- 2. join vs the body completing. ----

const COMPLETE: u32 = 1;
const JOINER: u32 = 2;
const RESULT: u32 = 42;

struct JoinWorld {
    /// The target G's join bits.
    join: AtomicU32,
    /// The target's result slot.
    result: UnsafeCell<u32>,
    /// The target's `joiner` (a `Cell` in the real code): 1 when the joiner recorded itself.
    joiner: UnsafeCell<u32>,
    /// The joining G.
    jg: G,
}

#[derive(Debug, PartialEq, Eq)]
enum Join {
    Done(u32),
    Parked,
}

#[test]
fn join_vs_complete() {
    model(|| {
        let w = Arc::new(JoinWorld {
            join: AtomicU32::new(0),
            result: UnsafeCell::new(0),
            joiner: UnsafeCell::new(0),
            jg: G::new(RUNNING),
        });
        let w2 = w.clone();
        let joiner = thread::spawn(move || {
            let read = |w: &JoinWorld| {
                // SAFETY: COMPLETE was seen (Acquire), so the result is stored.
                w.result.with(|p| unsafe { *p })
            };
            if w2.join.load(Ordering::Acquire) & COMPLETE == 0 {
                // SAFETY: only the joiner writes `joiner`, before it sets JOINER.
                w2.joiner.with_mut(|p| unsafe { *p = 1 });
                // gopark(join_unlock): the M marks the G Waiting, then runs the unlock fn.
                w2.jg.set(RUNNING, WAITING);
                let prev = w2.join.fetch_or(JOINER, Ordering::AcqRel);
                if prev & COMPLETE == 0 {
                    return Join::Parked;
                }
                // Park cancelled: the M resumes the G at once.
                w2.jg.set(WAITING, RUNNING);
            }
            Join::Done(read(&w2))
        });
        // The body completes.
        // SAFETY: only the body writes the result, before COMPLETE.
        w.result.with_mut(|p| unsafe { *p = RESULT });
        let prev = w.join.fetch_or(COMPLETE, Ordering::AcqRel);
        let readied = if prev & JOINER != 0 {
            // SAFETY: JOINER was seen (AcqRel), so `joiner` is written.
            let joiner = w.joiner.with(|p| unsafe { *p });
            assert_eq!(joiner, 1, "JOINER set without a joiner");
            w.jg.set(WAITING, RUNNABLE);
            true
        } else {
            false
        };
        match joiner.join().unwrap() {
            Join::Done(v) => {
                assert_eq!(v, RESULT);
                assert!(!readied, "a joiner readied although it did not sleep");
            }
            Join::Parked => {
                assert!(readied, "lost wake-up: the joiner sleeps after COMPLETE");
                w.jg.set(RUNNABLE, RUNNING);
                // SAFETY: readied after COMPLETE.
                assert_eq!(w.result.with(|p| unsafe { *p }), RESULT);
            }
        }
    });
}

// ---- 3. A netpoll slot: wait vs an I/O event. ----

const NIL: usize = 0;
const READY: usize = 1;
const WAIT: usize = 2;
/// The parked G's "address" in the slot.
const GADDR: usize = 64;

struct PollWorld {
    slot: AtomicUsize,
    waiters: AtomicU32,
    g: G,
}

/// `PollDesc::wait` without deadlines or closing: true if the G parked (committed).
fn poll_wait(w: &PollWorld, plain_commit: bool) -> bool {
    loop {
        if w.slot
            .compare_exchange(READY, NIL, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            return false;
        }
        match w
            .slot
            .compare_exchange(NIL, WAIT, Ordering::SeqCst, Ordering::SeqCst)
        {
            Ok(_) => break,
            Err(READY) => continue,
            Err(_) => panic!("netpollblock: double wait"),
        }
    }
    // gopark(block_commit): the M marks the G Waiting, then commits.
    w.g.set(RUNNING, WAITING);
    let ok = if plain_commit {
        w.slot.store(GADDR, Ordering::SeqCst);
        true
    } else {
        w.slot
            .compare_exchange(WAIT, GADDR, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    };
    if ok {
        w.waiters.fetch_add(1, Ordering::SeqCst);
        return true;
    }
    w.g.set(WAITING, RUNNING);
    after_wake(w);
    false
}

/// The G, running again after `wait`'s park: consumes the slot; it must hold the event.
fn after_wake(w: &PollWorld) {
    let old = w.slot.swap(NIL, Ordering::SeqCst);
    assert_eq!(old, READY, "woken without the event");
}

/// `PollDesc::unblock(mode, ioready = true)`: the G to ready, if one was parked.
fn unblock(w: &PollWorld) -> bool {
    loop {
        let old = w.slot.load(Ordering::SeqCst);
        if old == READY {
            return false;
        }
        if w.slot
            .compare_exchange(old, READY, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            if old == WAIT || old == NIL {
                return false;
            }
            w.waiters.fetch_sub(1, Ordering::SeqCst);
            return true;
        }
    }
}

fn netpoll_wait_vs_event(plain_commit: bool) {
    model(move || {
        let w = Arc::new(PollWorld {
            slot: AtomicUsize::new(NIL),
            waiters: AtomicU32::new(0),
            g: G::new(RUNNING),
        });
        let w2 = w.clone();
        let poller = thread::spawn(move || {
            if unblock(&w2) {
                w2.g.set(WAITING, RUNNABLE);
                true
            } else {
                false
            }
        });
        let parked = poll_wait(&w, plain_commit);
        let readied = poller.join().unwrap();
        assert_eq!(parked, readied, "parked {parked}, readied {readied}");
        if parked {
            w.g.set(RUNNABLE, RUNNING);
            after_wake(&w);
        }
        assert_eq!(w.waiters.load(Ordering::SeqCst), 0);
    });
}

#[test]
fn netpoll_wait_vs_io_event() {
    netpoll_wait_vs_event(false);
}

/// Negative control: committing the park with a store instead of the CAS WAIT -> G
/// overwrites an event that arrived in between, and the G sleeps through it.
#[test]
#[should_panic(expected = "parked true, readied false")]
fn broken_netpoll_commit_without_cas() {
    netpoll_wait_vs_event(true);
}
