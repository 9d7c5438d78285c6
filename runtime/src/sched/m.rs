//! M: an OS thread running the scheduler loop on its own stack (the g0 of Go). Idle Ms sleep on
//! their `Note` on the idle list and are reused.
//!
//! # Invariants
//! - `CUR_M` is set for the life of an M's thread and never for other threads. It is read only
//!   through `#[inline(never)]` accessors: a G may migrate between Ms across a park, and LLVM may
//!   cache a thread-local's address within one function (llvm#98479).
//! - `nextp` is written by `startm` under `Sched::lock` before the M's note is woken; the M reads
//!   it after waking.

use crate::lock::futex;
use crate::loom::{AtomicBool, AtomicPtr, AtomicU32, Ordering};
use crate::sched::g::{GPtr, G};
use crate::sched::p::P;
use crate::sched::Sched;
use std::cell::Cell;

/// A one-shot wake-up for a sleeping thread (Go's `note`).
pub(crate) struct Note {
    key: AtomicU32,
}

impl Note {
    pub(crate) const fn new() -> Note {
        Note {
            key: AtomicU32::new(0),
        }
    }

    /// Sleeps until `wakeup`, then re-arms.
    pub(crate) fn sleep(&self) {
        // ORDERING: Acquire pairs with the Release in `wakeup`: whatever the waker wrote
        // (`nextp`, `spinning`) is visible after we wake.
        while self.key.load(Ordering::Acquire) == 0 {
            futex::wait(&self.key, 0);
        }
        // ORDERING: only this thread sleeps on the note; the reset needs no ordering.
        self.key.store(0, Ordering::Relaxed);
    }

    /// Sleeps until `wakeup` or `timeout`; returns whether it was woken.
    pub(crate) fn sleep_timeout(&self, timeout: std::time::Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        // ORDERING: as in `sleep`.
        while self.key.load(Ordering::Acquire) == 0 {
            let now = std::time::Instant::now();
            if now >= deadline {
                return false;
            }
            futex::wait_timeout(&self.key, 0, deadline - now);
        }
        // ORDERING: as in `sleep`.
        self.key.store(0, Ordering::Relaxed);
        true
    }

    pub(crate) fn wakeup(&self) {
        // ORDERING: Release pairs with the Acquire in `sleep`.
        self.key.store(1, Ordering::Release);
        futex::wake_one(&self.key);
    }
}

/// An OS thread. See the module docs.
pub struct M {
    /// Thread id as Go numbers them (M0 is 0).
    pub(crate) id: i64,
    pub(crate) sched: &'static Sched,
    /// The P this M holds, or null. Written by this M (or under `Sched::lock`); read by
    /// diagnostics.
    pub(crate) p: AtomicPtr<P>,
    /// The P to take on wake-up (set by `startm`).
    pub(crate) nextp: AtomicPtr<P>,
    /// The P this M gave up on entering a blocking call, to try to take back on return (Go's
    /// `m.oldp`). This M only.
    pub(crate) oldp: AtomicPtr<P>,
    /// Whether this M is spinning (looking for work with a P and counted in `nmspinning`).
    pub(crate) spinning: AtomicBool,
    /// Whether this M is parked on the idle list (for scheddetail).
    pub(crate) blocked: AtomicBool,
    /// The G this M is running, or null. Written by this M; read by diagnostics.
    pub(crate) curg: AtomicPtr<G>,
    /// The G locked to this M (`lockosthread`), or null. Written by that G, on this M.
    pub(crate) lockedg: AtomicPtr<G>,
    /// Set when a locked G exited: the M's thread ends (Go's `mexit` for locked Ms).
    pub(crate) exit_thread: AtomicBool,
    pub(crate) park: Note,
    /// The claim protocol's words (`pclaim`): this M's runtime depth and sysmon's retake state.
    pub(crate) claim: crate::sched::pclaim::ClaimWords,
    /// Go's `cheaprand` state. This M only.
    rand: Cell<u64>,
}

// SAFETY: `rand` is touched only by the M's own thread; everything else is atomic.
unsafe impl Sync for M {}
// SAFETY: as above.
unsafe impl Send for M {}

thread_local! {
    static CUR_M: Cell<*const M> = const { Cell::new(std::ptr::null()) };
}

impl M {
    pub(crate) fn new(id: i64, sched: &'static Sched) -> &'static M {
        Box::leak(Box::new(M {
            id,
            sched,
            p: AtomicPtr::new(std::ptr::null_mut()),
            nextp: AtomicPtr::new(std::ptr::null_mut()),
            oldp: AtomicPtr::new(std::ptr::null_mut()),
            spinning: AtomicBool::new(false),
            blocked: AtomicBool::new(false),
            curg: AtomicPtr::new(std::ptr::null_mut()),
            lockedg: AtomicPtr::new(std::ptr::null_mut()),
            exit_thread: AtomicBool::new(false),
            park: Note::new(),
            claim: crate::sched::pclaim::ClaimWords::new(),
            rand: Cell::new(
                0x9E37_79B9_7F4A_7C15 ^ (id as u64).wrapping_mul(0xA076_1D64_78BD_642F),
            ),
        }))
    }

    /// The P held by this M, if any.
    #[inline]
    pub(crate) fn p(&self) -> Option<&'static P> {
        // ORDERING: only this M's own thread writes `p` while the M is running (diagnostics
        // readers tolerate staleness).
        let p = self.p.load(Ordering::Relaxed);
        // SAFETY: Ps live in the leaked `Sched::allp`.
        unsafe { p.as_ref() }
    }

    /// Go's `cheaprand` (wyrand).
    pub(crate) fn cheaprand(&self) -> u32 {
        let s = self.rand.get().wrapping_add(0xA076_1D64_78BD_642F);
        self.rand.set(s);
        let t = (s as u128).wrapping_mul((s ^ 0xE703_7ED1_A0B4_28DB) as u128);
        ((t >> 64) as u64 ^ t as u64) as u32
    }

    pub(crate) fn curg(&self) -> Option<GPtr> {
        // ORDERING: written by this thread.
        GPtr::from_ptr(self.curg.load(Ordering::Relaxed))
    }
}

/// Marks the calling thread as M `m` (or clears it).
pub(crate) fn set_current(m: Option<&'static M>) {
    CUR_M.with(|c| c.set(m.map_or(std::ptr::null(), |m| m as *const M)));
}

/// Reads `CUR_M`. Inlined only into the `#[inline(never)]` accessors below, so each of them
/// costs one call and the thread-local's address is never cached across a goroutine switch.
#[inline(always)]
fn cur_m() -> Option<&'static M> {
    let p = CUR_M.with(|c| c.get());
    // SAFETY: Ms are leaked, so a non-null pointer is valid forever.
    unsafe { p.as_ref() }
}

/// The M running on this thread, if the thread is an M.
#[inline(never)]
pub fn getm() -> Option<&'static M> {
    cur_m()
}

/// The goroutine running on this thread, if any (Go's `getg().m.curg`).
#[inline(never)]
pub fn getg() -> Option<GPtr> {
    cur_m().and_then(|m| m.curg())
}

/// A random number in `[0, n)` from the calling M's `cheaprand` (or a thread-local generator
/// on other threads). `n` must be non-zero. Go: `cheaprandn` (rand.go).
///
/// `#[inline(never)]` like `getm`, whose thread-local read it inlines (one call, not two).
#[inline(never)]
pub fn cheaprandn(n: u32) -> u32 {
    let r = match cur_m() {
        Some(m) => m.cheaprand(),
        None => {
            thread_local! {
                static STATE: Cell<u64> = const { Cell::new(0x2545_F491_4F6C_DD1D) };
            }
            STATE.with(|s| {
                let mut x = s.get();
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                s.set(x);
                x as u32
            })
        }
    };
    // Lemire's multiply-shift reduction, as Go's cheaprandn.
    ((r as u64 * n as u64) >> 32) as u32
}

/// The id of the P the calling goroutine runs on (0..GOMAXPROCS), or `None` outside a
/// goroutine. Stable until the goroutine next parks or yields (gort preempts only at those
/// points), which is what per-P caches such as `sync.Pool` need (Go's `procPin`).
#[inline(never)]
pub fn procid() -> Option<usize> {
    cur_m().and_then(|m| m.p()).map(|p| p.id as usize)
}

/// The calling goroutine's P, pinned: while the pin lives, the P is this goroutine's alone
/// (sysmon cannot take it), so per-P caches may use owner-only slots through it (Go's
/// `procPin`). `None` outside a goroutine or when the goroutine's M has no P. Nothing that
/// parks or yields may run while it is held.
#[inline(never)]
pub fn proc_pin() -> Option<ProcPin> {
    let m = cur_m()?;
    let claim = crate::sched::pclaim::claim(m)?;
    let pid = claim.p().id as usize;
    Some(ProcPin {
        mp: claim.into_m(),
        pid,
        _not_send: std::marker::PhantomData,
    })
}

/// A pinned P (see `proc_pin`). Not `Send`: it belongs to the M that pinned it. Two words, so
/// `proc_pin` returns it in registers; dropping it (leaving the runtime) is inlined.
///
/// ```compile_fail
/// fn assert_send<T: Send>() {}
/// assert_send::<gort_runtime::rt::ProcPin>();
/// ```
pub struct ProcPin {
    /// The M whose claim this is (the claim's depth is released by `drop`).
    mp: &'static M,
    pid: usize,
    /// `!Send`: only the pinning M's thread may leave the runtime through this pin.
    _not_send: std::marker::PhantomData<*const ()>,
}

impl ProcPin {
    /// The runtime (an opaque id) and the P's id: a pair no other running goroutine has.
    #[inline]
    pub fn key(&self) -> (usize, usize) {
        (self.mp.sched as *const Sched as usize, self.pid)
    }
}

impl Drop for ProcPin {
    #[inline]
    fn drop(&mut self) {
        crate::sched::pclaim::leave(self.mp);
    }
}

impl std::fmt::Debug for ProcPin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcPin").field("p", &self.pid).finish()
    }
}
