//! The scheduler: `Sched` (Go's `schedt`) and the G/M/P machinery around it.
//!
//! Map of this module (see docs/design.md for the protocols):
//! - `g`, `m`, `p`: the three entities; `sudog`: wait-queue entries.
//! - `runq`: local run queues, `runnext`, the global queue and stealing.
//! - `schedule`: the M loop (`schedule`, `find_runnable`, `execute`), idle P/M lists,
//!   `wakep`/`startm`/`stopm`, spinning.
//! - `park`: `gopark`/`goready`/`gosched`, the one parking seam.
//! - `proc`: `newproc`, goroutine exit, free lists, `JoinHandle`, bootstrap.
//! - `sysmon`: the monitor thread (preemption flags, schedtrace).
//! - `trace`: GODEBUG=schedtrace output; `traceback`: goroutine dumps.
//!
//! # Lock order
//! `Sched::lock` > `Sched::sudoglock` > stack pool lock. Channel and semaphore locks are taken by
//! goroutines and are never held while taking `Sched::lock` except through `goready` paths that
//! unlock first (never ready a G under a channel lock).

pub mod g;
pub mod lockosthread;
pub mod m;
pub mod p;
pub mod park;
pub mod parkstacks;
pub mod pclaim;
pub mod proc;
pub mod runq;
pub mod schedule;
pub mod spin;
pub mod sudog;
pub mod syscall;
pub mod sysmon;
pub mod trace;
pub mod traceback;

use crate::env::DebugVars;
use crate::lock::RawLock;
use crate::loom::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, Ordering};
use g::GPtr;
use m::{Note, M};
use p::P;
use std::cell::UnsafeCell;
use std::collections::VecDeque;
use std::time::Instant;

/// State protected by `Sched::lock`.
pub(crate) struct SchedLocked {
    /// The global run queue.
    pub runq: VecDeque<GPtr>,
    /// Idle Ms.
    pub midle: Vec<&'static M>,
    /// Idle Ps (indices into `allp`).
    pub pidle: Vec<u32>,
    /// Every M ever started, newest last.
    pub allm: Vec<&'static M>,
    /// Next M id.
    pub mnext: i64,
    /// Dead Gs spilled from P caches (Go's `sched.gFree`).
    pub gfree: Vec<GPtr>,
}

/// Counters for `runtime::metrics()`. Relaxed: statistics only.
#[derive(Default)]
pub(crate) struct Stats {
    pub preemptions: AtomicU64,
    pub preempt_requests: AtomicU64,
    pub goroutines_created: AtomicU64,
    /// Ps sysmon took from Ms in blocking calls and handed off.
    pub syscall_handoffs: AtomicU64,
    /// Ps sysmon took from goroutines that hogged them (`pclaim`).
    pub hog_retakes: AtomicU64,
}

/// The scheduler's global state (Go's `schedt`). One per runtime; leaked when created, so every
/// `&'static Sched` stays valid even for goroutines abandoned at shutdown.
pub struct Sched {
    /// Protects `locked`.
    pub(crate) lock: RawLock,
    locked: UnsafeCell<SchedLocked>,
    /// Global run queue size. Written under `lock`; read lock-free as a hint.
    pub(crate) runqsize: AtomicU32,
    /// Idle Ps. Written under `lock`; read lock-free (spinning heuristics).
    pub(crate) npidle: AtomicU32,
    /// Spinning Ms. See "Spinning" in docs/design.md.
    pub(crate) nmspinning: AtomicU32,
    /// Set when a spinning M was wanted but no P was idle (Go's "delicate dance").
    pub(crate) needspinning: AtomicU32,
    /// Idle Ms (mirror of `midle.len()` for schedtrace).
    pub(crate) nmidle: AtomicU32,
    /// Ms asleep in `stoplockedm`, waiting for their locked G (Go's `nmidlelocked`). Signed:
    /// `startlockedm` may take the count back before the M it wakes has added it.
    pub(crate) nmidlelocked: crate::loom::AtomicI32,
    /// Ms ever started, sysmon included.
    pub(crate) mcount: AtomicU32,
    /// Ms (and sysmon) whose threads have not exited. The last to exit tears down.
    pub(crate) mlive: AtomicU32,
    /// All Ps; `allp.len()` is GOMAXPROCS.
    pub(crate) allp: Box<[P]>,
    pub(crate) gomaxprocs: u32,
    /// Coprime-stride orders for stealing (Go's `stealOrder`).
    pub(crate) steal_order: RandomOrder,
    /// Goroutine ids are handed out in batches from here (Go's `sched.goidgen`).
    pub(crate) goidgen: AtomicU64,
    /// Goroutines not yet dead (Go's `gcount`).
    pub(crate) ngoroutine: AtomicI64,
    /// Set when the main goroutine has returned.
    pub(crate) shutdown: AtomicBool,
    /// Set once the main goroutine runs (Go's `mainStarted`): `newproc` wakes Ps from then on.
    pub(crate) main_started: AtomicBool,
    /// Usable bytes per goroutine stack.
    pub(crate) stack_size: usize,
    /// `nanotime()` as of sysmon's last round: a clock for diagnostics (wait durations in
    /// dumps) that costs a load instead of a clock read. Written by sysmon only.
    pub(crate) coarse_now: AtomicI64,
    /// When the runtime started (schedtrace's 0 ms).
    pub(crate) start: Instant,
    pub(crate) debug: DebugVars,
    /// sysmon sleeps here when every P is idle.
    pub(crate) sysmon_note: Note,
    pub(crate) sysmonwait: AtomicBool,
    /// Protects `sudogcache`.
    pub(crate) sudoglock: RawLock,
    pub(crate) sudogcache: UnsafeCell<Vec<*mut sudog::Sudog>>,
    /// Protects `allgs`.
    pub(crate) allglock: RawLock,
    pub(crate) allgs: UnsafeCell<Vec<GPtr>>,
    pub(crate) stats: Stats,
    /// The netpoller, created on first use (see `netpoll`).
    pub(crate) netpoll: std::sync::OnceLock<crate::netpoll::NetPoll>,
    /// Goroutines parked in the netpoller (Go's `netpollWaiters`).
    pub(crate) netpoll_waiters: crate::loom::AtomicI32,
    /// When the network was last polled (nanotime); 0 while an M blocks in the poller (Go's
    /// `sched.lastpoll`).
    pub(crate) lastpoll: AtomicI64,
    /// Set while an M does the non-blocking poll of `find_runnable`, so only one does at a
    /// time; the blocking poll and sysmon's ignore it (Go's `sched.pollingNet`).
    pub(crate) polling_net: AtomicU32,
    /// The deadline of the M blocked in the netpoller (nanotime), or 0 if it blocks with no
    /// deadline or none is blocked (Go's `sched.pollUntil`).
    pub(crate) poll_until: AtomicI64,
    /// M0, the thread that called `run`; woken at shutdown.
    pub(crate) m0: std::sync::OnceLock<&'static M>,
}

// SAFETY: `locked` is only touched with `lock` held, `sudogcache` with `sudoglock`, `allgs`
// with `allglock`; everything else is atomic or immutable after construction.
unsafe impl Sync for Sched {}
// SAFETY: as above.
unsafe impl Send for Sched {}

impl Sched {
    pub(crate) fn new(gomaxprocs: u32, stack_size: usize, debug: DebugVars) -> &'static Sched {
        let allp: Box<[P]> = (0..gomaxprocs).map(P::new).collect();
        Box::leak(Box::new(Sched {
            lock: RawLock::new(),
            locked: UnsafeCell::new(SchedLocked {
                runq: VecDeque::with_capacity(256),
                midle: Vec::with_capacity(gomaxprocs as usize + 4),
                pidle: (0..gomaxprocs).rev().collect(),
                allm: Vec::new(),
                mnext: 0,
                gfree: Vec::new(),
            }),
            runqsize: AtomicU32::new(0),
            npidle: AtomicU32::new(gomaxprocs),
            nmspinning: AtomicU32::new(0),
            needspinning: AtomicU32::new(0),
            nmidle: AtomicU32::new(0),
            nmidlelocked: crate::loom::AtomicI32::new(0),
            mcount: AtomicU32::new(0),
            mlive: AtomicU32::new(0),
            allp,
            gomaxprocs,
            steal_order: RandomOrder::new(gomaxprocs),
            goidgen: AtomicU64::new(0),
            ngoroutine: AtomicI64::new(0),
            shutdown: AtomicBool::new(false),
            main_started: AtomicBool::new(false),
            stack_size,
            coarse_now: AtomicI64::new(0),
            start: Instant::now(),
            debug,
            sysmon_note: Note::new(),
            sysmonwait: AtomicBool::new(false),
            sudoglock: RawLock::new(),
            sudogcache: UnsafeCell::new(Vec::new()),
            allglock: RawLock::new(),
            allgs: UnsafeCell::new(Vec::new()),
            stats: Stats::default(),
            netpoll: std::sync::OnceLock::new(),
            netpoll_waiters: crate::loom::AtomicI32::new(0),
            lastpoll: AtomicI64::new(1),
            polling_net: AtomicU32::new(0),
            poll_until: AtomicI64::new(0),
            m0: std::sync::OnceLock::new(),
        }))
    }

    /// The locked state.
    ///
    /// # Safety
    /// `self.lock` must be held for the whole use of the returned reference.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn locked(&self) -> &mut SchedLocked {
        // SAFETY: exclusive under `lock` by the caller's contract.
        unsafe { &mut *self.locked.get() }
    }

    /// Nanoseconds since the runtime started (Go's `nanotime` relative to `runtimeInitTime`).
    pub(crate) fn nanotime(&self) -> i64 {
        self.start.elapsed().as_nanos() as i64
    }

    pub(crate) fn is_shutdown(&self) -> bool {
        // ORDERING: Acquire pairs with the Release in `begin_shutdown`.
        self.shutdown.load(Ordering::Acquire)
    }
}

/// Go's `randomOrder`: visits every P exactly once, starting at a random P with a random stride
/// coprime to the count, without allocating.
pub(crate) struct RandomOrder {
    count: u32,
    coprimes: Vec<u32>,
}

pub(crate) struct RandomEnum {
    i: u32,
    count: u32,
    pos: u32,
    inc: u32,
}

impl RandomOrder {
    fn new(count: u32) -> RandomOrder {
        fn gcd(mut a: u32, mut b: u32) -> u32 {
            while b != 0 {
                (a, b) = (b, a % b);
            }
            a
        }
        let coprimes = (1..=count).filter(|&i| gcd(i, count) == 1).collect();
        RandomOrder { count, coprimes }
    }

    pub(crate) fn start(&self, r: u32) -> RandomEnum {
        RandomEnum {
            i: 0,
            count: self.count,
            pos: r % self.count,
            inc: self.coprimes[(r / self.count) as usize % self.coprimes.len()],
        }
    }
}

impl Iterator for RandomEnum {
    type Item = u32;
    fn next(&mut self) -> Option<u32> {
        if self.i == self.count {
            return None;
        }
        let p = self.pos;
        self.i += 1;
        self.pos = (self.pos + self.inc) % self.count;
        Some(p)
    }
}

#[cfg(test)]
mod tests {
    use super::RandomOrder;

    #[test]
    fn random_order_visits_every_p_once() {
        for n in 1..=9 {
            let o = RandomOrder::new(n);
            for r in 0..50 {
                let mut seen: Vec<u32> = o.start(r * 7919).collect();
                seen.sort();
                assert_eq!(seen, (0..n).collect::<Vec<_>>());
            }
        }
    }
}
