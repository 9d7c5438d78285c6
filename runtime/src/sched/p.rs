//! P: a processor token. GOMAXPROCS of them; an M must hold one to run Go code. Each owns a local
//! run queue (crossbeam-deque, capped at 256 like Go's ring), the `runnext` slot, a schedtick,
//! and caches of dead Gs and sudogs.
//!
//! # Invariants
//! - Fields marked "owner" are touched only by the M currently holding the P (`P::m`), which
//!   changes hands only under `Sched::lock` (acquirep/releasep/pidleput/pidleget).
//! - Only the owner sets `runnext` to non-null; thieves may CAS it to null (steal it).
//! - An idle P (`PStatus::Idle`, on `pidle`) has an empty run queue and empty `runnext`.

use crate::loom::{AtomicPtr, AtomicU32, AtomicU64, AtomicU8, Ordering};
use crate::sched::g::{GPtr, G};
use crate::sched::m::M;
use crate::sched::sudog::Sudog;
use crossbeam_deque::{Stealer, Worker};
use std::cell::{Cell, UnsafeCell};

/// A P's status (Go's `_Pidle`...`_Pdead`, same numbers).
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PStatus {
    /// On the idle list, owned by no M, run queue empty.
    Idle = 0,
    /// Owned by an M running the scheduler or user code.
    Running = 1,
    /// Owned by an M in a blocking call; sysmon may retake it.
    Syscall = 2,
    /// Stopped (not used until the world can be stopped).
    GcStop = 3,
    /// Beyond GOMAXPROCS.
    Dead = 4,
}

/// The local run queue's capacity (Go's `len(p.runq)`).
pub const RUNQ_CAP: usize = 256;

/// Per-P tick record kept by sysmon (Go's `sysmontick`). Touched only by sysmon.
#[derive(Default)]
pub(crate) struct SysmonTick {
    pub schedtick: u32,
    pub schedwhen: i64,
    pub syscalltick: u32,
    pub syscallwhen: i64,
    /// When sysmon asked the G on this P (at this `schedtick`) to yield; 0: not asked.
    pub preempt_when: i64,
}

/// A processor. See the module docs.
pub struct P {
    /// Index in `Sched::allp`.
    pub(crate) id: u32,
    /// A `PStatus`. Written by the owner or under `Sched::lock`; read by anyone.
    pub(crate) status: AtomicU8,
    /// The M holding this P, or null. Written under `Sched::lock` or by the owner.
    pub(crate) m: AtomicPtr<M>,
    /// Owner: the local run queue.
    pub(crate) runq: UnsafeCell<Worker<GPtr>>,
    /// Anyone: the thief end of `runq`.
    pub(crate) stealer: Stealer<GPtr>,
    /// A G to run next, inheriting the current time slice. Owner sets non-null; anyone CASes
    /// to null.
    pub(crate) runnext: AtomicPtr<G>,
    /// Incremented on every scheduler call that starts a fresh time slice. Owner writes; sysmon
    /// and schedtrace read.
    pub(crate) schedtick: AtomicU32,
    /// Incremented on every blocking call. Owner writes; sysmon reads.
    pub(crate) syscalltick: AtomicU32,
    /// Owner: dead Gs with stacks (Go's `gFree`).
    pub(crate) gfree: UnsafeCell<Vec<GPtr>>,
    /// Owner: free sudogs (Go's `sudogcache`).
    pub(crate) sudogcache: UnsafeCell<Vec<*mut Sudog>>,
    /// Owner: a batch of goroutine ids (Go's `goidcache`/`goidcacheend`).
    pub(crate) goidcache: Cell<u64>,
    pub(crate) goidcacheend: Cell<u64>,
    /// Successful steals by Ms holding this P. Owner writes; metrics read.
    pub(crate) steals: AtomicU64,
    /// Goroutine parks on this P. Owner writes (load + store); metrics read.
    pub(crate) parks: AtomicU64,
    /// sysmon only.
    pub(crate) sysmontick: UnsafeCell<SysmonTick>,
    /// This P's timers (their own lock; see `time`).
    pub(crate) timers: crate::time::PTimers,
}

// SAFETY: owner fields are touched only by the M holding the P, which changes under
// `Sched::lock` (a happens-before edge between successive owners); the rest are atomics or
// `Stealer`, which is Sync.
unsafe impl Sync for P {}
// SAFETY: as above; a P is created once and shared by reference.
unsafe impl Send for P {}

impl P {
    pub(crate) fn new(id: u32) -> P {
        let w = Worker::new_fifo();
        let stealer = w.stealer();
        P {
            id,
            status: AtomicU8::new(PStatus::Idle as u8),
            m: AtomicPtr::new(std::ptr::null_mut()),
            runq: UnsafeCell::new(w),
            stealer,
            runnext: AtomicPtr::new(std::ptr::null_mut()),
            schedtick: AtomicU32::new(0),
            syscalltick: AtomicU32::new(0),
            gfree: UnsafeCell::new(Vec::with_capacity(64)),
            sudogcache: UnsafeCell::new(Vec::with_capacity(128)),
            goidcache: Cell::new(0),
            goidcacheend: Cell::new(0),
            steals: AtomicU64::new(0),
            parks: AtomicU64::new(0),
            sysmontick: UnsafeCell::new(SysmonTick::default()),
            timers: crate::time::PTimers::new(),
        }
    }

    pub(crate) fn status(&self) -> PStatus {
        // ORDERING: Acquire pairs with the Release in `set_status` (status changes publish
        // queue state to sysmon and thieves).
        match self.status.load(Ordering::Acquire) {
            0 => PStatus::Idle,
            1 => PStatus::Running,
            2 => PStatus::Syscall,
            3 => PStatus::GcStop,
            _ => PStatus::Dead,
        }
    }

    /// Moves `from -> to` if the status is `from` (the syscall hand-over between the M in the
    /// call and sysmon).
    pub(crate) fn cas_status(&self, from: PStatus, to: PStatus) -> bool {
        // ORDERING: AcqRel: the winner owns the P and sees the loser's writes.
        self.status
            .compare_exchange(from as u8, to as u8, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    pub(crate) fn set_status(&self, s: PStatus) {
        // ORDERING: see `status`.
        self.status.store(s as u8, Ordering::Release);
    }

    /// The local run queue. Owner only.
    ///
    /// # Safety
    /// The caller must be the M holding this P.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn runq_mut(&self) -> &mut Worker<GPtr> {
        // SAFETY: exclusive by the caller's contract.
        unsafe { &mut *self.runq.get() }
    }

    /// Dead-G cache. Owner only.
    ///
    /// # Safety
    /// The caller must be the M holding this P.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn gfree_mut(&self) -> &mut Vec<GPtr> {
        // SAFETY: exclusive by the caller's contract.
        unsafe { &mut *self.gfree.get() }
    }

    /// Sudog cache. Owner only.
    ///
    /// # Safety
    /// The caller must be the M holding this P.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn sudogcache_mut(&self) -> &mut Vec<*mut Sudog> {
        // SAFETY: exclusive by the caller's contract.
        unsafe { &mut *self.sudogcache.get() }
    }
}
