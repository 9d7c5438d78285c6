//! Model: the select win race (invariant 12 of docs/design.md: exactly one waker wins a
//! selecting G).
//!
//! Mirrors `chan/src/waitq.rs` `WaitQ::dequeue` (a select sudog counts only if the waker CASes
//! the G's `selectdone` 0 -> 1, AcqRel; a loser skips it, already unlinked) and `remove`,
//! `chan/src/hchan.rs`'s send to a waiting receiver (write through `elem`, set `success`, store
//! the sudog in `G::param` with Release, unlock, `goready`), and `chan/src/select.rs`'s pass 3
//! (lock every channel in address order, reset `selectdone`, load `param` with Acquire, remove
//! every other sudog from its queue, unlock in reverse). The channel locks are loom `Mutex`es
//! standing for the `RawLock`s, the arms' receive slots on the selecting G's stack and the
//! sudogs' `success` are loom `UnsafeCell`s. The real code cannot run under loom
//! (`runtime/src/loom.rs`).
//!
//! The scenario: a G blocked in `select! { recv(c1) -> .., recv(c2) -> .. }` over two buffered
//! channels (capacity 1), each with one sudog of the G on its `recvq` (pass 2 done, G
//! Waiting), and one sender per channel. The sender that wins readies the G, and its M then
//! runs the G's pass 3 (the G is in that M's `runnext`); the loser finds no receiver and
//! buffers its value.
//!
//! # Checked
//! Exactly one sender wins and readies the G, once; the G's pass 3 names that sender's arm and
//! finds its value in that arm's slot; the other value is in the other channel's buffer; both
//! wait queues end empty. Values are conserved: two sent, one received, one buffered.

use crate::mini::model;
use gort_runtime::loom::{AtomicU32, AtomicU8, AtomicUsize, Ordering};
use loom::cell::UnsafeCell;
use loom::sync::{Arc, Mutex};
use loom::thread;

const RUNNABLE: u8 = 1;
const RUNNING: u8 = 2;
const WAITING: u8 = 4;

/// A channel: a one-slot buffer and a `recvq` of sudog ids (1-based: the arm index + 1).
#[derive(Default)]
struct Chan {
    buf: Option<u32>,
    recvq: Vec<usize>,
}

struct World {
    chans: [Mutex<Chan>; 2],
    /// The selecting G.
    selectdone: AtomicU32,
    param: AtomicUsize,
    status: AtomicU8,
    /// The arms' receive slots, on the G's stack (a sudog's `elem` points here).
    slots: [UnsafeCell<u32>; 2],
    /// The sudogs' `success`.
    success: [UnsafeCell<bool>; 2],
    readies: AtomicU32,
}

fn set_status(w: &World, from: u8, to: u8) {
    let cur = w.status.load(Ordering::Acquire);
    assert_eq!(cur, from, "casgstatus: bad incoming values");
    w.status.store(to, Ordering::Release);
}

/// `WaitQ::dequeue` under the channel lock. `no_cas` is the negative control's bug: a waker
/// that checks `selectdone` and then sets it, instead of one CAS.
fn dequeue(w: &World, q: &mut Vec<usize>, no_cas: bool) -> Option<usize> {
    while !q.is_empty() {
        let sg = q.remove(0);
        // Every sudog here is a select's.
        let won = if no_cas {
            let free = w.selectdone.load(Ordering::Acquire) == 0;
            w.selectdone.store(1, Ordering::Release);
            free
        } else {
            w.selectdone
                .compare_exchange(0, 1, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        };
        if !won {
            continue;
        }
        return Some(sg);
    }
    None
}

/// The sender on channel `i`; returns the arm its M ran the G's pass 3 for, if it won.
fn send(w: &World, i: usize, v: u32, no_cas: bool) -> Option<usize> {
    let mut c = w.chans[i].lock().unwrap();
    match dequeue(w, &mut c.recvq, no_cas) {
        Some(sg) => {
            let arm = sg - 1;
            assert_eq!(arm, i);
            // SAFETY: the G is parked (stacks never move) and this waker won `selectdone`.
            w.slots[arm].with_mut(|p| unsafe { *p = v });
            // SAFETY: as above; the sudog is ours until `param` is published.
            w.success[arm].with_mut(|p| unsafe { *p = true });
            w.param.store(sg, Ordering::Release);
            drop(c);
            // goready, outside the lock.
            set_status(w, WAITING, RUNNABLE);
            w.readies.fetch_add(1, Ordering::Relaxed);
            // This M runs the G from its `runnext`: pass 3.
            Some(pass3(w))
        }
        None => {
            assert!(c.buf.is_none());
            c.buf = Some(v);
            None
        }
    }
}

/// `selectgo`'s pass 3, on the G's stack: returns the chosen arm.
fn pass3(w: &World) -> usize {
    set_status(w, RUNNABLE, RUNNING);
    let mut c0 = w.chans[0].lock().unwrap();
    let mut c1 = w.chans[1].lock().unwrap();
    w.selectdone.store(0, Ordering::Relaxed);
    let sg = w.param.swap(0, Ordering::Acquire);
    assert_ne!(sg, 0, "selectgo: bad wakeup");
    let arm = sg - 1;
    // The losing sudog leaves its queue (a no-op if a losing waker already unlinked it).
    for (i, q) in [&mut c0.recvq, &mut c1.recvq].into_iter().enumerate() {
        if i != arm {
            q.retain(|&s| s != i + 1);
        }
    }
    drop(c1);
    drop(c0);
    // SAFETY: the G owns its stack again; the winner's writes were published by `param`.
    assert!(w.success[arm].with(|p| unsafe { *p }));
    arm
}

fn two_senders(no_cas: bool) {
    model(move || {
        let w = Arc::new(World {
            chans: [
                Mutex::new(Chan {
                    buf: None,
                    recvq: vec![1],
                }),
                Mutex::new(Chan {
                    buf: None,
                    recvq: vec![2],
                }),
            ],
            selectdone: AtomicU32::new(0),
            param: AtomicUsize::new(0),
            status: AtomicU8::new(WAITING),
            slots: [UnsafeCell::new(0), UnsafeCell::new(0)],
            success: [UnsafeCell::new(false), UnsafeCell::new(false)],
            readies: AtomicU32::new(0),
        });
        let w2 = w.clone();
        let s1 = thread::spawn(move || send(&w2, 1, 200, no_cas));
        let r0 = send(&w, 0, 100, no_cas);
        let r1 = s1.join().unwrap();
        assert_eq!(
            w.readies.load(Ordering::Relaxed),
            1,
            "not exactly one winner"
        );
        let arm = match (r0, r1) {
            (Some(a), None) | (None, Some(a)) => a,
            other => panic!("winners: {other:?}"),
        };
        // SAFETY: every thread has been joined.
        let got = w.slots[arm].with(|p| unsafe { *p });
        assert_eq!(got, [100, 200][arm]);
        let other = 1 - arm;
        let c = w.chans[other].lock().unwrap();
        assert_eq!(c.buf, Some([100, 200][other]), "the losing value was lost");
        assert!(c.recvq.is_empty());
        assert!(w.chans[arm].lock().unwrap().recvq.is_empty());
    });
}

#[test]
fn two_senders_race_for_one_select() {
    two_senders(false);
}

/// Negative control: a waker that loads `selectdone` and then stores it, instead of CASing
/// it, lets both senders win the same select.
#[test]
#[should_panic]
fn broken_selectdone_without_cas() {
    two_senders(true);
}
