//! G: a goroutine. Its coroutine and stack, status, wait reason, preempt flag, the join slot
//! through which its result reaches its `JoinHandle`, and what goroutine dumps print about it
//! (`Origin`: who started it, from where; `parkpc`: where it last blocked).
//!
//! # Invariants
//! - G structs are never freed while their runtime runs: dead Gs go to a free list (`gfree`) with
//!   their stacks and are reused by `newproc`, so a `GPtr` held by a sudog, a run queue or a
//!   `JoinHandle` stays valid. Teardown frees only Gs on free lists, once every M has exited.
//! - Only the M that moved a G to `Running` touches its coroutine until the G suspends.
//! - A G on a free list has `refs == 0`; a live G has one reference for its body and one for its
//!   `JoinHandle` until that is joined or dropped.

use crate::coro::{Coro, GYielder, StackSlot};
use crate::loom::{
    AtomicBool, AtomicI64, AtomicPtr, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering,
};
use crate::sched::m::M;
use crate::sched::Sched;
use std::cell::{Cell, UnsafeCell};
use std::panic::Location;
use std::ptr::NonNull;

/// A goroutine's status (Go's `_Gidle` ... `_Gdead`, same numbers as `runtime2.go`).
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GStatus {
    /// Just allocated, not yet initialised. No stack owner, on no queue.
    Idle = 0,
    /// On a run queue (local, `runnext` or global), not running. Its stack is suspended and
    /// owned by the queue; no M.
    Runnable = 1,
    /// Running user code on an M that holds a P; the M owns the stack.
    Running = 2,
    /// In a blocking call (`runtime::blocking`); the M owns the stack, the P may be retaken.
    Syscall = 3,
    /// Parked by `gopark`, on no run queue; its stack is suspended and may be pointed into by
    /// sudogs. Only `goready` moves it on.
    Waiting = 4,
    /// Finished; on a free list or held by an unjoined `JoinHandle`. Its stack is unused.
    Dead = 6,
}

impl GStatus {
    fn from_u8(v: u8) -> GStatus {
        match v {
            0 => GStatus::Idle,
            1 => GStatus::Runnable,
            2 => GStatus::Running,
            3 => GStatus::Syscall,
            4 => GStatus::Waiting,
            _ => GStatus::Dead,
        }
    }

    /// Go's transition table (`casgstatus`), checked in debug builds.
    fn can_go(from: GStatus, to: GStatus) -> bool {
        use GStatus::*;
        matches!(
            (from, to),
            (Idle, Runnable)
                | (Dead, Runnable)
                | (Runnable, Running)
                | (Running, Waiting)
                | (Running, Runnable)
                | (Running, Syscall)
                | (Running, Dead)
                | (Syscall, Running)
                | (Syscall, Runnable)
                | (Waiting, Runnable)
                | (Waiting, Running)
                | (Idle, Dead)
        )
    }
}

/// `GStatus` in an atomic byte.
pub struct AtomicGStatus(AtomicU8);

impl AtomicGStatus {
    pub(crate) const fn new(s: GStatus) -> Self {
        AtomicGStatus(AtomicU8::new(s as u8))
    }

    /// Current status.
    pub fn load(&self) -> GStatus {
        // ORDERING: Acquire pairs with the Release in `cas`, so state written before a
        // transition (a sudog's `success`, the stored result) is visible to whoever sees it.
        GStatus::from_u8(self.0.load(Ordering::Acquire))
    }

    /// Moves `from -> to`, throwing if the status was not `from` (Go's `casgstatus`).
    ///
    /// Every transition has exactly one actor by protocol (the M running the G, or the one
    /// waker that dequeued it under a wait-queue lock), so a checked load and a store suffice;
    /// the check still catches a double ready. No read-modify-write on the hot path.
    #[inline]
    pub(crate) fn set(&self, from: GStatus, to: GStatus) {
        debug_assert!(
            GStatus::can_go(from, to),
            "bad G transition {from:?} -> {to:?}"
        );
        // ORDERING: Acquire/Release: the status hand-over publishes everything the previous
        // actor wrote (a sudog's result, the coroutine state) to the next one.
        if self.0.load(Ordering::Acquire) != from as u8 {
            crate::throw!("casgstatus: bad incoming values ({from:?} -> {to:?})");
        }
        self.0.store(to as u8, Ordering::Release);
    }
}

/// Why a G is parked (Go's `waitReason`; the strings are Go's `waitReasonStrings`).
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitReason {
    /// No reason (not waiting); Go prints the status instead.
    Zero = 0,
    /// Receiving from a nil channel: forever.
    ChanReceiveNilChan,
    /// Sending on a nil channel: forever.
    ChanSendNilChan,
    /// `select! {}`: forever.
    SelectNoCases,
    /// In a `select!` with no ready arm.
    Select,
    /// In `Chan::recv`.
    ChanReceive,
    /// In `Chan::send`.
    ChanSend,
    /// On the runtime semaphore (Go's `semacquire`).
    Semacquire,
    /// In `time::sleep`.
    Sleep,
    /// In `Cond::wait`.
    SyncCondWait,
    /// In `Mutex::lock`.
    SyncMutexLock,
    /// In `RwMutex::read`.
    SyncRWMutexRLock,
    /// In `RwMutex::write`.
    SyncRWMutexLock,
    /// In `WaitGroup::wait`.
    SyncWaitGroupWait,
    /// On a socket, in the netpoller.
    IoWait,
    /// Stopped at a check point after sysmon's request, on its way to a run queue.
    Preempted,
    /// gort's own: a goroutine waiting in `JoinHandle::join`.
    JoinWait,
}

impl WaitReason {
    /// The string Go prints for this reason.
    pub fn as_str(self) -> &'static str {
        match self {
            WaitReason::Zero => "",
            WaitReason::ChanReceiveNilChan => "chan receive (nil chan)",
            WaitReason::ChanSendNilChan => "chan send (nil chan)",
            WaitReason::SelectNoCases => "select (no cases)",
            WaitReason::Select => "select",
            WaitReason::ChanReceive => "chan receive",
            WaitReason::ChanSend => "chan send",
            WaitReason::Semacquire => "semacquire",
            WaitReason::Sleep => "sleep",
            WaitReason::SyncCondWait => "sync.Cond.Wait",
            WaitReason::SyncMutexLock => "sync.Mutex.Lock",
            WaitReason::SyncRWMutexRLock => "sync.RWMutex.RLock",
            WaitReason::SyncRWMutexLock => "sync.RWMutex.Lock",
            WaitReason::SyncWaitGroupWait => "sync.WaitGroup.Wait",
            WaitReason::IoWait => "IO wait",
            WaitReason::Preempted => "preempted",
            WaitReason::JoinWait => "JoinHandle.join",
        }
    }

    fn from_u8(v: u8) -> WaitReason {
        use WaitReason::*;
        const ALL: [WaitReason; 17] = [
            Zero,
            ChanReceiveNilChan,
            ChanSendNilChan,
            SelectNoCases,
            Select,
            ChanReceive,
            ChanSend,
            Semacquire,
            Sleep,
            SyncCondWait,
            SyncMutexLock,
            SyncRWMutexRLock,
            SyncRWMutexLock,
            SyncWaitGroupWait,
            IoWait,
            Preempted,
            JoinWait,
        ];
        ALL.get(v as usize).copied().unwrap_or(Zero)
    }
}

/// Where a coroutine's state lives across a G's life.
pub(crate) enum CoroSlot {
    /// A fresh G struct with no stack yet.
    Empty,
    /// A dead (or not yet started) G keeps its stack here for reuse.
    Stack(StackSlot),
    /// A live coroutine.
    Live(Coro),
}

/// Inline storage for a goroutine's `Result<T, Panic>`; larger results are boxed.
#[repr(C, align(16))]
pub(crate) struct ResultSlot(pub(crate) [std::mem::MaybeUninit<u8>; 64]);

/// Join-state bits in `G::join`.
pub(crate) mod join {
    /// The body has finished and stored its result.
    pub const COMPLETE: u8 = 1;
    /// A goroutine is parked in `join` and must be readied on completion.
    pub const JOINER: u8 = 2;
    /// The `JoinHandle` was dropped: the body disposes of its own result.
    pub const DETACHED: u8 = 4;
}

/// A goroutine. See the module docs.
pub struct G {
    /// Goroutine id, as Go numbers them (main is 1). Written by `newproc` before the G is
    /// published on a run queue; read by anyone.
    pub(crate) goid: AtomicU64,
    /// Status; see `GStatus`.
    pub(crate) status: AtomicGStatus,
    /// A `WaitReason` while Waiting. Written by the G itself before it parks.
    pub(crate) waitreason: AtomicU8,
    /// Set by sysmon when the G has run past its time slice; cleared by the G when it yields.
    /// Set and cleared only through `request_preempt`/`clear_preempt`, which keep
    /// `park::PREEMPT_PENDING` equal to the number of Gs with the flag set.
    pub(crate) preempt: AtomicBool,
    /// Select wake-up race: the first waker to CAS 0 -> 1 wins (Go's `selectDone`).
    pub selectdone: AtomicU32,
    /// When the G last parked or entered a blocking call (Go's `waitsince`), in nanoseconds since
    /// the runtime started, as sysmon's coarse clock (`Sched::coarse_now`) had it: a load, not a
    /// clock read. Written by the G itself; read by dumps.
    pub(crate) waitsince: AtomicI64,
    /// Where the G last parked or yielded (Go's saved `sched.pc`): the call site of the gort
    /// blocking API, passed down by `#[track_caller]` to `gopark`. Null before the first park.
    /// Written by the G itself before it suspends; read by dumps.
    pub(crate) parkpc: AtomicPtr<Location<'static>>,
    /// Who started this G and from where. Written by `newproc` before the G is published on a
    /// run queue; read by dumps.
    pub(crate) origin: Origin,
    /// The coroutine. Owned by the M running the G, or by the scheduler while it is not running.
    pub(crate) coro: UnsafeCell<CoroSlot>,
    /// The coroutine's yielder; valid while the coroutine is live. Written once by the body.
    pub(crate) yielder: Cell<*const GYielder>,
    /// The M running this G, or null. Written by that M.
    pub(crate) m: AtomicPtr<M>,
    /// The runtime this G belongs to (never freed: see `Sched`).
    pub(crate) sched: *const Sched,
    /// Join protocol bits (`join::*`).
    pub(crate) join: AtomicU8,
    /// References: the running body and the `JoinHandle`. The last release frees the G.
    pub(crate) refs: AtomicU8,
    /// The goroutine parked in `join`, set before `JOINER` is published.
    pub(crate) joiner: Cell<Option<GPtr>>,
    /// The body's result, written before `COMPLETE` is published.
    pub(crate) result: UnsafeCell<ResultSlot>,
    /// Whether this is the main goroutine (its end ends the runtime).
    pub(crate) is_main: Cell<bool>,
    /// `lock_os_thread` nesting depth. The G itself only.
    pub(crate) locked: Cell<u32>,
    /// The M this G is locked to, or null (`lockosthread`). Written by the G itself.
    pub(crate) lockedm: AtomicPtr<M>,
    /// Select bookkeeping: the sudog that won (Go's `g.param`). Written by the waker before
    /// `goready`, read by the G after it wakes.
    pub param: AtomicPtr<crate::sched::sudog::Sudog>,
}

/// A pointer to a G. Gs outlive every `GPtr` (see the module invariants), so it may be
/// dereferenced freely.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct GPtr(NonNull<G>);

// SAFETY: a G is shared between Ms by design; every field is either atomic or owned by exactly
// one M at a time under the status protocol (module invariants).
unsafe impl Send for GPtr {}
// SAFETY: as above.
unsafe impl Sync for GPtr {}

impl std::ops::Deref for GPtr {
    type Target = G;
    #[inline]
    fn deref(&self) -> &G {
        // SAFETY: Gs are never deallocated while any GPtr to them can be used (module
        // invariants).
        unsafe { self.0.as_ref() }
    }
}

impl GPtr {
    pub(crate) fn as_ptr(self) -> *mut G {
        self.0.as_ptr()
    }

    pub(crate) fn from_ptr(p: *mut G) -> Option<GPtr> {
        NonNull::new(p).map(GPtr)
    }

    /// The goroutine id.
    pub fn goid(self) -> u64 {
        // ORDERING: written before the G is published on a run queue (a Release), read after.
        self.goid.load(Ordering::Relaxed)
    }

    /// The current status.
    pub fn status(self) -> GStatus {
        self.status.load()
    }

    /// The current wait reason.
    pub fn wait_reason(self) -> WaitReason {
        // ORDERING: diagnostic only.
        WaitReason::from_u8(self.waitreason.load(Ordering::Relaxed))
    }
}

impl G {
    /// Asks the G to yield at its next check point (sets `preempt`, counted in
    /// `park::PREEMPT_PENDING`).
    pub(crate) fn request_preempt(&self) {
        // ORDERING: the flag is advisory; the swap only pairs the count with the transition.
        if !self.preempt.swap(true, Ordering::Relaxed) {
            // ORDERING: a hint read by fast paths; exactness comes from the paired swaps.
            crate::sched::park::PREEMPT_PENDING.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Withdraws a request to yield, if any (the G yielded, parked, was rescheduled or ended).
    #[inline]
    pub(crate) fn clear_preempt(&self) {
        // ORDERING: as in `request_preempt`; the load keeps the common case (no request) to a
        // plain read.
        if self.preempt.load(Ordering::Relaxed) && self.preempt.swap(false, Ordering::Relaxed) {
            // ORDERING: as in `request_preempt`.
            crate::sched::park::PREEMPT_PENDING.fetch_sub(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn new(sched: *const Sched) -> Box<G> {
        Box::new(G {
            goid: AtomicU64::new(0),
            status: AtomicGStatus::new(GStatus::Idle),
            waitreason: AtomicU8::new(0),
            preempt: AtomicBool::new(false),
            selectdone: AtomicU32::new(0),
            waitsince: AtomicI64::new(0),
            parkpc: AtomicPtr::new(std::ptr::null_mut()),
            origin: Origin::new(),
            coro: UnsafeCell::new(CoroSlot::Empty),
            yielder: Cell::new(std::ptr::null()),
            m: AtomicPtr::new(std::ptr::null_mut()),
            sched,
            join: AtomicU8::new(0),
            refs: AtomicU8::new(0),
            joiner: Cell::new(None),
            result: UnsafeCell::new(ResultSlot([std::mem::MaybeUninit::uninit(); 64])),
            is_main: Cell::new(false),
            locked: Cell::new(0),
            lockedm: AtomicPtr::new(std::ptr::null_mut()),
            param: AtomicPtr::new(std::ptr::null_mut()),
        })
    }

    /// The runtime this G belongs to.
    pub(crate) fn sched(&self) -> &'static Sched {
        // SAFETY: a Sched is leaked when created and never freed.
        unsafe { &*self.sched }
    }
}

impl GPtr {
    pub(crate) fn new_boxed(b: Box<G>) -> GPtr {
        GPtr(NonNull::from(Box::leak(b)))
    }

    pub(crate) fn set_wait_reason(self, r: WaitReason) {
        // ORDERING: diagnostic only.
        self.waitreason.store(r as u8, Ordering::Relaxed);
    }

    /// Stamps `waitsince` with sysmon's coarse clock: the G is about to park or enter a
    /// blocking call (see `park.rs`, "Wait time").
    #[inline]
    pub(crate) fn stamp_waitsince(self) {
        // ORDERING: diagnostics only; a stale clock only makes a dump's minutes high by at most
        // one sysmon round.
        let now = self.sched().coarse_now.load(Ordering::Relaxed);
        self.waitsince.store(now, Ordering::Relaxed);
    }

    /// Where the G last parked or yielded, if it has.
    pub(crate) fn park_site(self) -> Option<&'static Location<'static>> {
        // ORDERING: diagnostic only; the pointee is a `'static` `Location`.
        let p = self.parkpc.load(Ordering::Relaxed);
        // SAFETY: only `&'static Location` values (or null) are ever stored.
        unsafe { p.as_ref() }
    }
}

/// What a dump prints about where a goroutine came from (Go's `gopc`, `startpc` and
/// `parentGoid`): three words, stored without an allocation per spawn.
///
/// Each field is its own atomic word, so a dump that races with the reuse of a dead G may mix
/// the old and the new goroutine's values, as Go's racy `tracebackothers` may, but never reads
/// a torn value.
pub(crate) struct Origin {
    /// The goroutine whose `go` call started this one; 0 for goroutine 1 and for goroutines
    /// started off a goroutine (timer callbacks), for which Go prints no " in goroutine N".
    parent_goid: AtomicU64,
    /// The `go` call site, from `#[track_caller]`; null when there is none (goroutine 1).
    gopc: AtomicPtr<Location<'static>>,
    /// `std::any::type_name::<F>` of the body, as a `fn() -> &'static str` cast to a word (a
    /// `&str` would be two words and could tear); 0 when unknown.
    start_name: AtomicUsize,
}

/// A goroutine's origin as read back by a dump.
#[derive(Clone, Copy, Debug)]
pub(crate) struct OriginInfo {
    pub parent_goid: u64,
    pub gopc: Option<&'static Location<'static>>,
    /// The body's type name (`my_crate::main::{{closure}}`), when known.
    pub start_name: Option<&'static str>,
}

impl Origin {
    const fn new() -> Origin {
        Origin {
            parent_goid: AtomicU64::new(0),
            gopc: AtomicPtr::new(std::ptr::null_mut()),
            start_name: AtomicUsize::new(0),
        }
    }

    /// Records a new goroutine's origin. Three relaxed stores: no allocation, no clock.
    #[inline]
    /// `gopc` is null or a `&'static Location`.
    pub(crate) fn set(
        &self,
        parent_goid: u64,
        gopc: *const Location<'static>,
        start_name: fn() -> &'static str,
    ) {
        // ORDERING: Relaxed: the G is unpublished; the run-queue push that publishes it is the
        // Release, and dumps only read these racily anyway.
        self.parent_goid.store(parent_goid, Ordering::Relaxed);
        self.gopc.store(gopc.cast_mut(), Ordering::Relaxed);
        self.start_name
            .store(start_name as usize, Ordering::Relaxed);
    }

    pub(crate) fn get(&self) -> OriginInfo {
        // ORDERING: diagnostic snapshot (see the type's docs).
        let gopc = self.gopc.load(Ordering::Relaxed);
        let f = self.start_name.load(Ordering::Relaxed);
        OriginInfo {
            parent_goid: self.parent_goid.load(Ordering::Relaxed),
            // SAFETY: only `&'static Location` values (or null) are stored in `gopc` (`set`).
            gopc: unsafe { gopc.as_ref() },
            start_name: (f != 0).then(|| {
                // SAFETY: a non-zero `start_name` was stored from a `fn() -> &'static str` in
                // `set`, and fn pointers round-trip through `usize`.
                let f: fn() -> &'static str = unsafe { std::mem::transmute(f) };
                f()
            }),
        }
    }
}
