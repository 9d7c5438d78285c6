//! A miniature of the scheduler state the models share, written with the runtime's atomics
//! facade (`gort_runtime::loom`, loom's atomics under `--cfg loom`). It re-implements, step for
//! step and with the same orderings, the parts of the real code that the protocols use; the
//! real code cannot run under loom (`runtime/src/loom.rs` says why).
//!
//! | Here | Mirrors |
//! | --- | --- |
//! | `MiniDeque` | crossbeam-deque 0.8's FIFO `Worker::{push, pop, len}`, `Stealer::{is_empty, steal_batch_with_limit_and_pop}` (a P's local run queue, `P::runq`/`P::stealer`), with a fixed buffer: no resize, no epoch |
//! | `MiniSched::lock` | `Sched::lock` (a `RawLock`) and what it protects, `SchedLocked`: `pidle`, `midle`, the global run queue |
//! | `wakep`, `pidleget`, `pidleget_spinning`, `pidleput`, `startm`, `become_spinning` | the same names in `runtime/src/sched/schedule.rs` |
//! | `drop_p` | `find_runnable` (schedule.rs) from "Nothing to do: give up the P" to the blocking netpoll: the drop under the lock, the spinner's decrement and re-check |
//! | `runq_empty` | `runq_empty` (`runtime/src/sched/runq.rs`) |
//! | `MiniP::{min_when, timers}`, `add_timer`, `sleep_until`, `wake_net_poller` | `PTimers::{add, wake_time}`, `time::sleep_until`, `time::wake_net_poller` (`runtime/src/time/ptimers.rs`) |
//! | `lastpoll`, `poll_until`, `wake_sig` | the same fields of `Sched` (`runtime/src/sched/mod.rs`) |
//!
//! `startm` does not start a thread: it records the P it hands over and whether the M spins
//! (`Locked::started`). A model's obligation ends there, because an M started with a P and
//! spinning runs `find_runnable` from the top, which checks every P's queue, `runnext` and
//! timers.
//!
//! # SeqCst under loom
//! loom treats `SeqCst` accesses as `AcqRel` (loom's README, "Limitations"); only
//! `fence(SeqCst)` is sequentially consistent. Where the real code's StoreLoad is a `SeqCst`
//! access followed by a `SeqCst` load, with no fence between (the spinner's
//! `nmspinning.fetch_sub` then `runqsize.load`), the model writes `storeload()`: a
//! `fence(SeqCst)` in that place. C++20's rules for the single total order of `SeqCst`
//! operations ([atomics.order]/4) give the real accesses the same guarantee against the other
//! side's fence (`wakep`'s), and on x86-64 a `SeqCst` read-modify-write is a locked
//! instruction, a full fence. Where the real code already has a fence (`wakep`, crossbeam's
//! `Stealer::is_empty`), the model has exactly that fence and no other.

#![allow(dead_code)] // Each model uses part of the miniature.

use gort_runtime::loom::{fence, AtomicI64, AtomicU32, AtomicU8, AtomicUsize, Ordering};
use loom::cell::UnsafeCell;
use loom::sync::{Mutex, MutexGuard};
use std::collections::VecDeque;

/// `PStatus` values, Go's numbers (`runtime/src/sched/p.rs`).
pub const P_IDLE: u8 = 0;
pub const P_RUNNING: u8 = 1;
pub const P_SYSCALL: u8 = 2;

/// Runs `f` under loom, with `LOOM_MAX_PREEMPTIONS` if set, else with `preemptions` (`None`:
/// no bound, every interleaving), and prints how many executions loom explored (shown with
/// `--nocapture`, as scripts/loom.sh runs them).
pub fn model_with<F: Fn() + Sync + Send + 'static>(preemptions: Option<usize>, f: F) {
    let mut b = loom::model::Builder::new();
    if b.preemption_bound.is_none() {
        b.preemption_bound = preemptions;
    }
    let runs = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = runs.clone();
    b.check(move || {
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        f()
    });
    let name = std::thread::current().name().unwrap_or("?").to_string();
    let bound = b
        .preemption_bound
        .map_or("none".to_string(), |n| n.to_string());
    println!(
        "loom: {name}: {} executions explored (preemption bound {bound})",
        runs.load(std::sync::atomic::Ordering::Relaxed),
    );
}

/// `model_with(None, f)`: every interleaving. The two-thread models are small enough for that
/// (a few thousand executions at most).
pub fn model<F: Fn() + Sync + Send + 'static>(f: F) {
    model_with(None, f)
}

/// The preemption bound of the three-thread models (tokio's CI uses 2 to 3): every
/// interleaving with up to this many preemptions, in seconds.
pub const THREE_THREAD_PREEMPTIONS: usize = 3;

/// The StoreLoad that the real code gets from a `SeqCst` access followed by a `SeqCst` load
/// (see the module docs, "SeqCst under loom").
pub fn storeload() {
    fence(Ordering::SeqCst);
}

/// A deque's fixed capacity: larger than anything a model pushes, so slots are never reused
/// (crossbeam grows its buffer instead; growth is not modelled).
pub const DEQUE_CAP: usize = 8;

/// What `MiniDeque::steal_batch_and_pop` returns (crossbeam's `Steal`).
#[derive(Debug, PartialEq, Eq)]
pub enum Steal {
    Empty,
    Success(u32),
    Retry,
}

/// crossbeam-deque's FIFO `Worker`/`Stealer` pair over a fixed buffer of G ids.
pub struct MiniDeque {
    front: AtomicUsize,
    back: AtomicUsize,
    buf: [UnsafeCell<u32>; DEQUE_CAP],
}

impl Default for MiniDeque {
    fn default() -> Self {
        MiniDeque {
            front: AtomicUsize::new(0),
            back: AtomicUsize::new(0),
            buf: std::array::from_fn(|_| UnsafeCell::new(0)),
        }
    }
}

fn signed(x: usize) -> isize {
    x as isize
}

impl MiniDeque {
    /// `Worker::push`: owner only.
    pub fn push(&self, g: u32) {
        let b = self.back.load(Ordering::Relaxed);
        let f = self.front.load(Ordering::Acquire);
        assert!(
            signed(b.wrapping_sub(f)) < DEQUE_CAP as isize && b < DEQUE_CAP,
            "model deque full"
        );
        // SAFETY: slot `b` is beyond `back`, so no stealer reads it until the store below.
        self.buf[b].with_mut(|p| unsafe { *p = g });
        fence(Ordering::Release);
        self.back.store(b.wrapping_add(1), Ordering::Relaxed);
    }

    /// `Worker::len`: owner only.
    pub fn len(&self) -> usize {
        let b = self.back.load(Ordering::Relaxed);
        let f = self.front.load(Ordering::SeqCst);
        signed(b.wrapping_sub(f)).max(0) as usize
    }

    /// `Worker::pop`, FIFO flavour: owner only.
    pub fn pop(&self) -> Option<u32> {
        let b = self.back.load(Ordering::Relaxed);
        let f = self.front.load(Ordering::Relaxed);
        if signed(b.wrapping_sub(f)) <= 0 {
            return None;
        }
        let f = self.front.fetch_add(1, Ordering::SeqCst);
        let new_f = f.wrapping_add(1);
        if signed(b.wrapping_sub(new_f)) < 0 {
            self.front.store(f, Ordering::Relaxed);
            return None;
        }
        // SAFETY: the owner wrote slot `f`; the fetch_add reserved it for us.
        Some(self.buf[f].with(|p| unsafe { *p }))
    }

    /// `Stealer::is_empty`: anyone.
    pub fn is_empty(&self) -> bool {
        let f = self.front.load(Ordering::Acquire);
        fence(Ordering::SeqCst);
        let b = self.back.load(Ordering::Acquire);
        signed(b.wrapping_sub(f)) <= 0
    }

    /// `Stealer::steal_batch_with_limit_and_pop` into a FIFO destination that only the thief
    /// touches (here a `Vec`): about half of the queue goes to `dest`, one G is returned.
    pub fn steal_batch_and_pop(&self, dest: &mut Vec<u32>, limit: usize) -> Steal {
        let f = self.front.load(Ordering::Acquire);
        // `epoch::pin` issues this fence in crossbeam.
        fence(Ordering::SeqCst);
        let b = self.back.load(Ordering::Acquire);
        let len = signed(b.wrapping_sub(f));
        if len <= 0 {
            return Steal::Empty;
        }
        let batch = ((len as usize - 1) / 2).min(limit - 1);
        // SAFETY: slots [f, b) were written before the `back` store we acquired, and are not
        // rewritten (no slot reuse); reading them speculatively is crossbeam's algorithm.
        let task = self.buf[f].with(|p| unsafe { *p });
        let mut tmp = Vec::new();
        for i in 0..batch {
            // SAFETY: as above.
            tmp.push(self.buf[f + i + 1].with(|p| unsafe { *p }));
        }
        if self
            .front
            .compare_exchange(f, f + batch + 1, Ordering::SeqCst, Ordering::Relaxed)
            .is_err()
        {
            return Steal::Retry;
        }
        dest.extend(tmp);
        Steal::Success(task)
    }
}

/// A processor: what the protocols read of `runtime/src/sched/p.rs`'s `P`.
pub struct MiniP {
    pub status: AtomicU8,
    /// A G id, 0 for none. Owner sets non-zero; anyone CASes to zero.
    pub runnext: AtomicUsize,
    pub q: MiniDeque,
    /// `PTimers::min_when`: the earliest timer, 0 for none. Written under `timers`.
    pub min_when: AtomicI64,
    /// `PTimers::heap`: the `when`s of the timers.
    pub timers: Mutex<Vec<i64>>,
    pub syscalltick: AtomicU32,
}

impl MiniP {
    fn new(status: u8) -> MiniP {
        MiniP {
            status: AtomicU8::new(status),
            runnext: AtomicUsize::new(0),
            q: MiniDeque::default(),
            min_when: AtomicI64::new(0),
            timers: Mutex::new(Vec::new()),
            syscalltick: AtomicU32::new(0),
        }
    }

    /// `P::status`.
    pub fn status(&self) -> u8 {
        self.status.load(Ordering::Acquire)
    }

    /// `P::set_status`.
    pub fn set_status(&self, s: u8) {
        self.status.store(s, Ordering::Release);
    }

    /// `P::cas_status`.
    pub fn cas_status(&self, from: u8, to: u8) -> bool {
        self.status
            .compare_exchange(from, to, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// `PTimers::wake_time`.
    pub fn wake_time(&self) -> i64 {
        self.min_when.load(Ordering::SeqCst)
    }
}

/// An M handed a P by `startm`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Started {
    pub p: usize,
    pub spinning: bool,
}

/// What `Sched::lock` protects.
#[derive(Default)]
pub struct Locked {
    pub pidle: Vec<usize>,
    /// Ms asleep in `stopm`, by a model-chosen id.
    pub midle: Vec<usize>,
    /// The global run queue (G ids).
    pub runq: VecDeque<u32>,
    pub started: Vec<Started>,
}

/// The scheduler: what the protocols read of `runtime/src/sched/mod.rs`'s `Sched`.
pub struct MiniSched {
    pub gomaxprocs: u32,
    pub lock: Mutex<Locked>,
    pub npidle: AtomicU32,
    pub nmspinning: AtomicU32,
    pub needspinning: AtomicU32,
    pub runqsize: AtomicU32,
    pub allp: Vec<MiniP>,
    /// 0 while an M blocks in the netpoller; else the time of the last poll.
    pub lastpoll: AtomicI64,
    /// Until when the M blocked in the netpoller sleeps (0: no deadline).
    pub poll_until: AtomicI64,
    /// `NetPoll::wake_sig`: set by `netpoll_break`, which wakes the blocked poller.
    pub wake_sig: AtomicU32,
    /// `Sched::netpoll_waiters`.
    pub netpoll_waiters: AtomicU32,
}

/// Model switches that break one step of a protocol, for the negative controls: each must make
/// loom find a failing interleaving, which shows the model can see the bug the step prevents.
#[derive(Debug, Clone, Copy, Default)]
pub struct Breaks {
    /// `wakep` without its `fence(SeqCst)`.
    pub no_wakep_fence: bool,
    /// A spinner re-checks the queues without the StoreLoad after its decrement.
    pub no_spinner_storeload: bool,
    /// `wake_net_poller` trusts a blocked poller to see the timer and ignores `poll_until`.
    pub ignore_poll_until: bool,
}

/// How `drop_p` ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dropped {
    /// Took this G from the global queue, holding `p`.
    Found { g: u32, p: usize },
    /// Holds `p` and spins again: back to the top of `find_runnable`, which will look at
    /// every P's queues, `runnext` and timers.
    Spinning { p: usize },
    /// Released its P; `poll_until` is the earliest timer it saw (0: none).
    Idle { poll_until: i64 },
}

impl MiniSched {
    /// `gomaxprocs` Ps; `held[i]` says whether P i starts held by an M (Running) or idle (on
    /// `pidle`). `nmspinning` Ms start spinning.
    pub fn new(held: &[bool], nmspinning: u32) -> MiniSched {
        let mut locked = Locked::default();
        let mut allp = Vec::new();
        for (i, &h) in held.iter().enumerate() {
            allp.push(MiniP::new(if h { P_RUNNING } else { P_IDLE }));
            if !h {
                locked.pidle.push(i);
            }
        }
        let npidle = locked.pidle.len() as u32;
        MiniSched {
            gomaxprocs: held.len() as u32,
            lock: Mutex::new(locked),
            npidle: AtomicU32::new(npidle),
            nmspinning: AtomicU32::new(nmspinning),
            needspinning: AtomicU32::new(0),
            runqsize: AtomicU32::new(0),
            allp,
            lastpoll: AtomicI64::new(1),
            poll_until: AtomicI64::new(0),
            wake_sig: AtomicU32::new(0),
            netpoll_waiters: AtomicU32::new(0),
        }
    }

    pub fn locked(&self) -> MutexGuard<'_, Locked> {
        self.lock.lock().unwrap()
    }

    /// `runq_empty`.
    pub fn runq_empty(&self, p: usize) -> bool {
        let pp = &self.allp[p];
        pp.q.is_empty() && pp.runnext.load(Ordering::SeqCst) == 0
    }

    /// `glob_runq_put_locked`.
    pub fn glob_runq_put_locked(&self, l: &mut Locked, g: u32) {
        l.runq.push_back(g);
        self.runqsize.store(l.runq.len() as u32, Ordering::SeqCst);
    }

    /// `glob_runq_get_batch_locked`, for a batch of one (the models queue one G at most).
    pub fn glob_runq_get_locked(&self, l: &mut Locked) -> Option<u32> {
        let g = l.runq.pop_front();
        self.runqsize.store(l.runq.len() as u32, Ordering::SeqCst);
        g
    }

    /// `pidleput_locked`.
    pub fn pidleput_locked(&self, l: &mut Locked, p: usize) {
        assert!(self.runq_empty(p), "pidleput: P has non-empty run queue");
        self.allp[p].set_status(P_IDLE);
        l.pidle.push(p);
        self.npidle.fetch_add(1, Ordering::SeqCst);
    }

    /// `pidleget_locked`. The P stays Idle until `acquirep`.
    pub fn pidleget_locked(&self, l: &mut Locked) -> Option<usize> {
        let p = l.pidle.pop()?;
        self.npidle.fetch_sub(1, Ordering::SeqCst);
        Some(p)
    }

    /// `pidleget_spinning_locked`.
    pub fn pidleget_spinning_locked(&self, l: &mut Locked) -> Option<usize> {
        let p = self.pidleget_locked(l);
        if p.is_none() {
            self.needspinning.store(1, Ordering::SeqCst);
        }
        p
    }

    /// `acquirep`.
    pub fn acquirep(&self, p: usize) {
        self.allp[p].set_status(P_RUNNING);
    }

    /// `startm_locked`: wakes an idle M (or would start a thread) with `p`.
    pub fn startm_locked(&self, l: &mut Locked, p: usize, spinning: bool) {
        l.midle.pop();
        l.started.push(Started { p, spinning });
    }

    /// `become_spinning`.
    pub fn become_spinning(&self) {
        self.nmspinning.fetch_add(1, Ordering::SeqCst);
        self.needspinning.store(0, Ordering::SeqCst);
    }

    /// `wakep`.
    pub fn wakep(&self, br: Breaks) {
        if !br.no_wakep_fence {
            fence(Ordering::SeqCst);
        }
        if self.npidle.load(Ordering::SeqCst) == 0 && self.needspinning.load(Ordering::SeqCst) == 1
        {
            return;
        }
        if self.nmspinning.load(Ordering::SeqCst) != 0
            || self
                .nmspinning
                .compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst)
                .is_err()
        {
            return;
        }
        let mut l = self.locked();
        match self.pidleget_spinning_locked(&mut l) {
            None => {
                self.nmspinning.fetch_sub(1, Ordering::SeqCst);
            }
            Some(p) => self.startm_locked(&mut l, p, true),
        }
    }

    /// `find_runnable` once this M (holding `p`, spinning or not) has found no work: drop the
    /// P under the lock, or spin instead if `needspinning` asks; a spinner then decrements
    /// `nmspinning` and re-checks the global queue, every non-idle P's queue and every P's
    /// timers. `own_timers` is the earliest timer this M saw before (0: none).
    pub fn drop_p(&self, p: usize, spinning: bool, own_timers: i64, br: Breaks) -> Dropped {
        let mut poll_until = own_timers;
        {
            let mut l = self.locked();
            if self.runqsize.load(Ordering::Relaxed) > 0 {
                if let Some(g) = self.glob_runq_get_locked(&mut l) {
                    return Dropped::Found { g, p };
                }
            }
            if !spinning && self.needspinning.load(Ordering::SeqCst) == 1 {
                self.become_spinning();
                return Dropped::Spinning { p };
            }
            self.pidleput_locked(&mut l, p);
        }
        if spinning {
            if self.nmspinning.fetch_sub(1, Ordering::SeqCst) == 0 {
                panic!("findrunnable: negative nmspinning");
            }
            if !br.no_spinner_storeload {
                storeload();
            }
            if self.runqsize.load(Ordering::SeqCst) > 0 {
                let mut l = self.locked();
                if let Some(p2) = self.pidleget_spinning_locked(&mut l) {
                    self.acquirep(p2);
                    let g = self.glob_runq_get_locked(&mut l);
                    drop(l);
                    self.become_spinning();
                    return match g {
                        Some(g) => Dropped::Found { g, p: p2 },
                        None => Dropped::Spinning { p: p2 },
                    };
                }
            }
            let busy = (0..self.allp.len())
                .any(|i| self.allp[i].status() != P_IDLE && !self.runq_empty(i));
            if busy {
                let p2 = self.pidleget_spinning_locked(&mut self.locked());
                if let Some(p2) = p2 {
                    self.acquirep(p2);
                    self.become_spinning();
                    return Dropped::Spinning { p: p2 };
                }
            }
            poll_until = earliest(poll_until, self.sleep_until());
        }
        Dropped::Idle { poll_until }
    }

    /// `time::sleep_until`: the earliest timer of any P.
    pub fn sleep_until(&self) -> i64 {
        self.allp.iter().map(|pp| pp.wake_time()).fold(0, earliest)
    }

    /// `PTimers::add` on P `p` followed by `wake_net_poller` if it is the earliest: a timer
    /// for `when`.
    pub fn add_timer(&self, p: usize, when: i64, br: Breaks) {
        let pp = &self.allp[p];
        let first = {
            let mut heap = pp.timers.lock().unwrap();
            let first = heap.iter().all(|&w| when < w);
            heap.push(when);
            let min = heap.iter().copied().min().unwrap_or(0);
            pp.min_when.store(min, Ordering::SeqCst);
            first
        };
        if first {
            self.wake_net_poller(when, br);
        }
    }

    /// `time::wake_net_poller`.
    pub fn wake_net_poller(&self, when: i64, br: Breaks) {
        if self.lastpoll.load(Ordering::SeqCst) == 0 {
            if br.ignore_poll_until {
                return;
            }
            let until = self.poll_until.load(Ordering::SeqCst);
            if until == 0 || until > when {
                self.netpoll_break();
            }
        } else {
            self.wakep(br);
        }
    }

    /// `netpoll_break`: wakes the M blocked in the poller.
    pub fn netpoll_break(&self) {
        let _ = self
            .wake_sig
            .compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst);
    }
}

/// The earlier of two deadlines where 0 means none (`schedule.rs` `earliest`).
pub fn earliest(a: i64, b: i64) -> i64 {
    match (a, b) {
        (0, x) | (x, 0) => x,
        (a, b) => a.min(b),
    }
}
