//! An M's claim on its P, and sysmon's retake of the P of a goroutine that hogs it.
//!
//! A goroutine that runs far past its time slice without reaching a check point (a pure loop)
//! would keep its P, and at GOMAXPROCS=1 every other goroutine, forever. sysmon treats it like a
//! blocking call: it takes the P and hands it to another M; the hog keeps running on its M
//! without a P, and at its next runtime entry or switch it finds the P gone, takes an idle one
//! or gives up its place (`docs/design.md` "Retaking a P from a hog").
//!
//! # Protocol (asymmetric Dekker over `membarrier`)
//! Each M has `in_runtime`, a depth counter written only by its own thread: 0 while its
//! goroutine runs user code, above 0 while the M is in runtime code that may touch its P's
//! owner-only state (the scheduler on g0; `goready`, `newproc`, the sudog cache, `sync.Pool`'s
//! private slot and the blocking-call entry on the goroutine's side, each through a `Claim`).
//! And `retake`, a state word: `NONE`, `REQUESTED` (by sysmon), `TAKEN` (by sysmon).
//! - M, entering the runtime: `in_runtime += 1` (a plain store), a compiler fence, then read
//!   `retake`: `NONE`: the P is still its own. `REQUESTED`: CAS it back to `NONE`; if that
//!   fails, sysmon changed it first (cancelled to `NONE`, or `TAKEN`): read it again.
//!   `TAKEN`: the P was handed off; forget it (`lost`).
//! - sysmon: CAS `retake` `NONE -> REQUESTED`, then `membarrier` (every running thread of the
//!   process executes a full barrier), then read `in_runtime`. Above 0: the M is in the runtime;
//!   CAS `REQUESTED -> NONE` and leave. 0: CAS `REQUESTED -> TAKEN`; if it wins, the M was in
//!   user code and will see `TAKEN` before it touches the P again, so the P is sysmon's to hand
//!   off.
//!   The barrier makes the M's side need no fence of its own: an increment made before it is
//!   visible to sysmon's read after it; an increment made after it is followed by a read that
//!   sees `REQUESTED` (or `TAKEN`). Either way exactly one CAS on `retake` decides, so the M
//!   never uses a P that sysmon has handed off. The cost on the M's side is two plain stores
//!   and a load per claim; sysmon pays one system call per hog.
//!
//! # Invariants
//! - `in_runtime` is 0 only while the M's goroutine runs its own code outside every `Claim`;
//!   nothing in a `Claim` switches goroutines.
//! - Only sysmon moves `retake` to `REQUESTED` or `TAKEN`; only the M moves it from `TAKEN`.
//! - Without `membarrier` (not Linux, or an old kernel), sysmon never requests a retake.

use crate::loom::compiler_fence;
use crate::loom::{AtomicU32, AtomicU8, Ordering};
use crate::sched::m::M;
use crate::sched::p::{PStatus, P};
use crate::sched::schedule::{acquirep, pidleget_locked};
use crate::sched::Sched;

/// `M::retake` states.
pub(crate) const NONE: u8 = 0;
const REQUESTED: u8 = 1;
const TAKEN: u8 = 2;

/// The M-side words of the protocol (fields of `M`).
pub(crate) struct ClaimWords {
    in_runtime: AtomicU32,
    retake: AtomicU8,
}

impl ClaimWords {
    pub(crate) const fn new() -> ClaimWords {
        ClaimWords {
            // An M starts in the runtime (its scheduler loop).
            in_runtime: AtomicU32::new(1),
            retake: AtomicU8::new(NONE),
        }
    }
}

/// A claim on the calling M's P; the P is the M's own until the claim is dropped.
pub(crate) struct Claim {
    mp: &'static M,
    pp: &'static P,
}

impl Claim {
    pub(crate) fn p(&self) -> &'static P {
        self.pp
    }

    /// Ends the `Claim` without leaving the runtime: the caller now owes the `leave(m)`.
    #[inline]
    pub(crate) fn into_m(self) -> &'static M {
        let mp = self.mp;
        std::mem::forget(self);
        mp
    }
}

impl Drop for Claim {
    #[inline]
    fn drop(&mut self) {
        leave(self.mp);
    }
}

/// Claims `mp`'s P for runtime work on the goroutine's side. `None` if the M has no P (sysmon
/// took it and no idle one could be had): use the no-P path (global queue, central caches).
#[inline]
pub(crate) fn claim(mp: &'static M) -> Option<Claim> {
    let pp = if enter(mp) > 0 { mp.p() } else { check(mp) };
    match pp {
        Some(pp) => Some(Claim { mp, pp }),
        None => {
            leave(mp);
            None
        }
    }
}

/// Marks `mp` as in the runtime without claiming a P, for code that acquires one and must not
/// lose it to sysmon before it is set up (`exitsyscall`). The M holds no P here, so sysmon
/// cannot have requested or taken one from it (it finds owners through `P::m`); any request
/// still pending from before is cancelled.
pub(crate) fn enter_runtime(mp: &'static M) -> RuntimeGuard {
    if enter(mp) == 0 {
        // ORDERING: the decision CAS, as in `check`.
        let _ =
            mp.claim
                .retake
                .compare_exchange(REQUESTED, NONE, Ordering::SeqCst, Ordering::SeqCst);
    }
    RuntimeGuard { mp }
}

/// See `enter_runtime`; leaves the runtime when dropped.
pub(crate) struct RuntimeGuard {
    mp: &'static M,
}

impl Drop for RuntimeGuard {
    #[inline]
    fn drop(&mut self) {
        leave(self.mp);
    }
}

/// Raises `mp`'s runtime depth by one and returns the depth before (0: the outermost entry,
/// which must then read `retake`; see the module protocol).
#[inline]
fn enter(mp: &M) -> u32 {
    let w = &mp.claim;
    // ORDERING: Relaxed: only this thread writes `in_runtime`; sysmon reads it after a
    // `membarrier`, which orders this store before our read of `retake` (module docs).
    let d = w.in_runtime.load(Ordering::Relaxed);
    w.in_runtime.store(d + 1, Ordering::Relaxed);
    compiler_fence(Ordering::SeqCst);
    d
}

/// Lowers `mp`'s runtime depth by one (the end of an `enter`).
#[inline]
pub(crate) fn leave(mp: &M) {
    compiler_fence(Ordering::SeqCst);
    let w = &mp.claim;
    // ORDERING: as in `claim`.
    let d = w.in_runtime.load(Ordering::Relaxed);
    w.in_runtime.store(d - 1, Ordering::Relaxed);
}

/// The outermost entry's check of `retake` (see the module protocol). Returns the M's P, a
/// replacement, or `None`.
#[inline]
fn check(mp: &'static M) -> Option<&'static P> {
    // ORDERING: Relaxed load: `membarrier` on sysmon's side orders it (module docs); the CAS
    // is SeqCst as the decision point.
    loop {
        match mp.claim.retake.load(Ordering::Relaxed) {
            NONE => return mp.p(),
            REQUESTED => {
                // Cancel the request. If the CAS fails, sysmon moved the word first: to NONE
                // (it cancelled, seeing us in the runtime) or to TAKEN; read it again. Reading
                // a failed cancel as "taken" would drop a P nobody took.
                if mp
                    .claim
                    .retake
                    .compare_exchange(REQUESTED, NONE, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
                {
                    return mp.p();
                }
            }
            _ => return lost(mp),
        }
    }
}

/// sysmon handed our P off: forget it, and take an idle P if there is one (Go's exitsyscall
/// slow path). Without one, the running goroutine is asked to yield at its next check point,
/// so it goes back to the run queue instead of running on without a P for long.
#[cold]
#[inline(never)]
fn lost(mp: &'static M) -> Option<&'static P> {
    // ORDERING: owner-written fields (see `M::p`).
    mp.p.store(std::ptr::null_mut(), Ordering::Relaxed);
    mp.claim.retake.store(NONE, Ordering::SeqCst);
    let sched = mp.sched;
    sched.lock.lock();
    let pp = pidleget_locked(sched);
    sched.lock.unlock();
    match pp {
        Some(pp) => {
            acquirep(mp, pp);
            Some(pp)
        }
        None => {
            if let Some(gp) = mp.curg() {
                gp.request_preempt();
            }
            None
        }
    }
}

/// g0, about to resume a goroutine: the M leaves the runtime.
#[inline]
pub(crate) fn enter_user(mp: &M) {
    compiler_fence(Ordering::SeqCst);
    // ORDERING: as in `claim`.
    mp.claim.in_runtime.store(0, Ordering::Relaxed);
}

/// g0, back from a goroutine: the M re-enters the runtime. Returns its P (its own, or an idle
/// one if sysmon took its own), or `None`.
#[inline]
pub(crate) fn leave_user(mp: &'static M) -> Option<&'static P> {
    // ORDERING: as in `claim`.
    mp.claim.in_runtime.store(1, Ordering::Relaxed);
    compiler_fence(Ordering::SeqCst);
    check(mp)
}

/// sysmon: takes `pp` from its M if that M is running user code, and hands it off. True if it
/// did. `pp` is Running and its G has ignored a preemption request for a whole time slice.
///
/// Go has no equivalent (it preempts such a goroutine with a signal); this is gort's
/// treatment of a hog as a blocking call (issue 6).
pub(crate) fn retake_hog(sched: &'static Sched, pp: &'static P) -> bool {
    if !membarrier::available() {
        return false;
    }
    // ORDERING: the M is leaked; a snapshot is enough, the CAS below decides.
    let mp = pp.m.load(Ordering::Relaxed);
    // SAFETY: Ms are leaked, so a non-null pointer is valid.
    let Some(mp) = (unsafe { mp.as_ref() }) else {
        return false;
    };
    let w = &mp.claim;
    if w.retake
        .compare_exchange(NONE, REQUESTED, Ordering::SeqCst, Ordering::SeqCst)
        .is_err()
    {
        return false;
    }
    membarrier::barrier();
    // ORDERING: ordered by the barrier (module docs).
    let in_user = w.in_runtime.load(Ordering::Relaxed) == 0
        && std::ptr::eq(mp.p.load(Ordering::Relaxed), pp)
        && pp.status() == PStatus::Running;
    if !in_user {
        // If this fails the M already cancelled the request itself.
        let _ = w
            .retake
            .compare_exchange(REQUESTED, NONE, Ordering::SeqCst, Ordering::SeqCst);
        return false;
    }
    // Once TAKEN, the hog's M may find its P gone, get no other and go idle while the P is
    // still in sysmon's hands (on no list, held by no M) until `handoffp` places it; if that M
    // were the last, `checkdead` would report a false deadlock with the P's queue full. So
    // sysmon counts as running across the hand-off, as in `retake_syscall` (found with
    // valgrind, where slowed-down goroutines get retaken often).
    crate::sched::lockosthread::incidlelocked(sched, -1);
    if w.retake
        .compare_exchange(REQUESTED, TAKEN, Ordering::SeqCst, Ordering::SeqCst)
        .is_err()
    {
        crate::sched::lockosthread::incidlelocked(sched, 1);
        return false; // the M entered the runtime and cancelled
    }
    // The P is ours: the M will see TAKEN before it touches it again.
    if let Some(gp) = mp.curg() {
        gp.request_preempt();
    }
    pp.set_status(PStatus::Idle);
    pp.m.store(std::ptr::null_mut(), Ordering::Relaxed);
    // ORDERING: statistics.
    sched.stats.hog_retakes.fetch_add(1, Ordering::Relaxed);
    crate::sched::syscall::handoffp(sched, pp);
    crate::sched::lockosthread::incidlelocked(sched, 1);
    true
}

/// `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)`: a full memory barrier on every running
/// thread of this process (Linux 4.14+), registered once.
mod membarrier {
    use std::sync::OnceLock;

    #[cfg(target_os = "linux")]
    const CMD_PRIVATE_EXPEDITED: libc::c_int = 1 << 3;
    #[cfg(target_os = "linux")]
    const CMD_REGISTER_PRIVATE_EXPEDITED: libc::c_int = 1 << 4;

    /// Whether the barrier works here (registers the process on first use).
    pub(super) fn available() -> bool {
        static OK: OnceLock<bool> = OnceLock::new();
        *OK.get_or_init(register)
    }

    #[cfg(target_os = "linux")]
    fn register() -> bool {
        // SAFETY: the membarrier system call takes three integer arguments and touches no
        // memory of ours.
        unsafe { libc::syscall(libc::SYS_membarrier, CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0 }
    }

    #[cfg(not(target_os = "linux"))]
    fn register() -> bool {
        false
    }

    #[cfg(target_os = "linux")]
    pub(super) fn barrier() {
        // SAFETY: as in `register`; registration succeeded (`available`).
        let r = unsafe { libc::syscall(libc::SYS_membarrier, CMD_PRIVATE_EXPEDITED, 0, 0) };
        if r != 0 {
            crate::throw!(
                "membarrier failed after registering: {}",
                std::io::Error::last_os_error()
            );
        }
    }

    #[cfg(not(target_os = "linux"))]
    pub(super) fn barrier() {
        unreachable!("membarrier is not available")
    }
}
