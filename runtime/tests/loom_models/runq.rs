//! Model: a P's run queue with `runnext`, against a thief.
//!
//! Mirrors `runtime/src/sched/runq.rs`: `runq_put` (the `runnext` swap, the displaced G to the
//! local queue, the overflow of half the queue to the global queue, `runq_put_slow`),
//! `runq_get` (`runnext` first, then the queue) and `runq_steal` (a batch of about half the
//! queue with `steal_batch_with_limit_and_pop`, then on the last pass the CAS of the victim's
//! `runnext` to null). The local queue is `mini::MiniDeque`, a miniature of crossbeam-deque's
//! FIFO worker and stealer; the real code cannot run under loom (`runtime/src/loom.rs`). The
//! thief's 3 us pause before taking `runnext` only delays it and is left out. `RUNQ_CAP` is
//! shrunk to 2 so the overflow path is reached with three Gs.
//!
//! # Checked
//! - Conservation: every G put is taken exactly once (by the owner, by the thief, or left in a
//!   queue and drained at the end), never lost or duplicated.
//! - Ownership moves with the G: the putter writes the G's state before publishing it, the
//!   taker reads and writes it after taking it; loom reports a data race if the `runnext`
//!   swap/CAS or the deque's fences did not order them.
//! - Invariant 4 of docs/design.md: only the owner sets `runnext` non-null (by construction;
//!   the thief only CASes it to null).

use crate::mini::{model, model_with, MiniDeque, Steal, THREE_THREAD_PREEMPTIONS};
use gort_runtime::loom::{AtomicU32, AtomicUsize, Ordering};
use loom::cell::UnsafeCell;
use loom::sync::{Arc, Mutex};
use loom::thread;

/// The model's local queue capacity (the real one is 256).
const RUNQ_CAP: usize = 2;
/// `STEAL_LIMIT` (`RUNQ_CAP / 2` in the real code, 128), kept at 2 so a batch is possible.
const STEAL_LIMIT: usize = 2;
/// G ids are 1..=MAX_G.
const MAX_G: usize = 3;

const QUEUED: u32 = 1;
const TAKEN: u32 = 2;

struct World {
    q: MiniDeque,
    runnext: AtomicUsize,
    glob: Mutex<Vec<u32>>,
    runqsize: AtomicU32,
    /// Each G's state, standing for the G struct the queues hand over.
    gstate: Vec<UnsafeCell<u32>>,
}

impl World {
    fn new() -> World {
        World {
            q: MiniDeque::default(),
            runnext: AtomicUsize::new(0),
            glob: Mutex::new(Vec::new()),
            runqsize: AtomicU32::new(0),
            gstate: (0..=MAX_G).map(|_| UnsafeCell::new(0)).collect(),
        }
    }

    /// The putter readies the G before it publishes it.
    fn ready(&self, g: u32) {
        // SAFETY: the G is not in any queue yet, so only the putter touches it.
        self.gstate[g as usize].with_mut(|s| unsafe { *s = QUEUED });
    }

    /// Whoever took the G now owns it.
    fn take(&self, g: u32) -> u32 {
        // SAFETY: the taker owns the G; a race here is the bug the model looks for.
        self.gstate[g as usize].with_mut(|s| unsafe {
            assert_eq!(*s, QUEUED, "G {g} taken twice or never published");
            *s = TAKEN;
        });
        g
    }

    /// `runq_put`: owner only.
    fn runq_put(&self, mut g: u32, next: bool) {
        self.ready(g);
        if next {
            let old = self.runnext.swap(g as usize, Ordering::AcqRel);
            if old == 0 {
                return;
            }
            g = old as u32;
        }
        if self.q.len() < RUNQ_CAP {
            self.q.push(g);
            return;
        }
        // `runq_put_slow`: half the queue plus `g` to the global queue, in one batch.
        let mut batch = Vec::new();
        while batch.len() < RUNQ_CAP / 2 {
            match self.q.pop() {
                Some(x) => batch.push(x),
                None => break,
            }
        }
        batch.push(g);
        let mut glob = self.glob.lock().unwrap();
        glob.extend(batch);
        self.runqsize.store(glob.len() as u32, Ordering::SeqCst);
    }

    /// `runq_get`: owner only.
    fn runq_get(&self) -> Option<u32> {
        let next = self.runnext.swap(0, Ordering::Acquire);
        if next != 0 {
            return Some(self.take(next as u32));
        }
        self.q.pop().map(|g| self.take(g))
    }

    /// `runq_steal`: the thief's batch goes to `dest` (its own queue), one G is returned.
    fn runq_steal(&self, dest: &mut Vec<u32>, steal_runnext: bool) -> Option<u32> {
        loop {
            match self.q.steal_batch_and_pop(dest, STEAL_LIMIT) {
                Steal::Success(g) => return Some(g),
                Steal::Retry => continue,
                Steal::Empty => break,
            }
        }
        if steal_runnext {
            let next = self.runnext.load(Ordering::Relaxed);
            if next != 0
                && self
                    .runnext
                    .compare_exchange(next, 0, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
            {
                return Some(next as u32);
            }
        }
        None
    }
}

/// Runs `owner` against `thieves` last-pass steals (one thread each) and checks
/// conservation of `n` Gs.
fn run(n: u32, thieves: usize, owner: fn(&World) -> Vec<u32>) {
    let check = move || {
        let w = Arc::new(World::new());
        let thieves: Vec<_> = (0..thieves)
            .map(|_| {
                let w2 = w.clone();
                thread::spawn(move || {
                    let mut dest = Vec::new();
                    let mut got = Vec::new();
                    if let Some(g) = w2.runq_steal(&mut dest, true) {
                        got.push(g);
                    }
                    got.extend(dest);
                    got.into_iter().map(|g| w2.take(g)).collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all = owner(&w);
        for t in thieves {
            all.extend(t.join().unwrap());
        }
        // Drain what is left, as the owner would.
        while let Some(g) = w.runq_get() {
            all.push(g);
        }
        for g in w.glob.lock().unwrap().drain(..) {
            all.push(w.take(g));
        }
        all.sort_unstable();
        assert_eq!(
            all,
            (1..=n).collect::<Vec<_>>(),
            "a G was lost or duplicated"
        );
    };
    if thieves > 1 {
        model_with(Some(THREE_THREAD_PREEMPTIONS), check);
    } else {
        model(check);
    }
}

/// The owner readies two Gs through `runnext` (the second displaces the first to the queue)
/// and takes one, while a thief steals from the queue and then `runnext`.
#[test]
fn runnext_put_get_vs_steal() {
    run(2, 1, |w| {
        w.runq_put(1, true);
        w.runq_put(2, true);
        w.runq_get().into_iter().collect()
    });
}

/// The owner pushes three Gs to the queue and pops two while a thief steals a batch.
#[test]
fn pop_vs_steal_batch() {
    run(3, 1, |w| {
        for g in 1..=3 {
            w.runq_put(g, false);
        }
        let mut got = Vec::new();
        got.extend(w.runq_get());
        got.extend(w.runq_get());
        got
    });
}

/// The third G overflows the queue (capacity 2): half the queue plus the G go to the global
/// queue while a thief steals.
#[test]
fn overflow_to_global_vs_steal() {
    run(3, 1, |w| {
        for g in 1..=3 {
            w.runq_put(g, false);
        }
        Vec::new()
    });
}

/// Two thieves against an owner that readies three Gs through `runnext` (two displaced to the
/// queue) and takes one.
#[test]
fn runnext_put_get_vs_two_thieves() {
    run(3, 2, |w| {
        for g in 1..=3 {
            w.runq_put(g, true);
        }
        w.runq_get().into_iter().collect()
    });
}
