//! `Mutex<T>`: Go's sync.Mutex (internal/sync/mutex.go) around a value, with guards like std's.
//!
//! # Protocol
//! `state` packs `LOCKED` (1), `WOKEN` (2), `STARVING` (4) and the waiter count (`>> 3`).
//! - Normal mode: waiters queue FIFO on the runtime semaphore, but a woken waiter competes
//!   with newly arriving goroutines (which are running and usually win). A waiter that has
//!   waited over 1 ms switches the mutex to starvation mode.
//! - Starvation mode: `unlock` hands the mutex directly to the waiter at the front (the
//!   semaphore's hand-off), newcomers queue at the tail and do not spin. The last waiter, or
//!   one that waited under 1 ms, switches back to normal mode.
//! - Spinning: only briefly (up to 4 steps of about 1 µs each, `rt::do_spin`), only while the
//!   mutex is locked and not starving, and only if the runtime says other Ps are running
//!   (`can_spin`).
//!
//! Waiting parks the goroutine, never the OS thread. Guards may be sent between goroutines (a
//! Go mutex is not tied to a goroutine), so `MutexGuard: Send` when `T: Send`.

use gort_runtime::loom::{AtomicI32, AtomicU32, Ordering};
use gort_runtime::rt::{can_spin, do_spin, semacquire, semrelease, WaitReason};
use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};
use std::time::Instant;

const LOCKED: i32 = 1;
const WOKEN: i32 = 2;
const STARVING: i32 = 4;
const WAITER_SHIFT: u32 = 3;
/// Go's `starvationThresholdNs`: 1 ms.
const STARVATION_THRESHOLD_NS: u128 = 1_000_000;

/// The lock itself, without data (Go's `sync.Mutex`). Used by `Mutex<T>`, `RwMutex<T>` and
/// `Once`.
///
/// # Examples
///
/// ```
/// use gort::sync::RawMutex;
///
/// static MU: RawMutex = RawMutex::new();
///
/// gort::run(|| {
///     MU.lock();
///     // As in Go, any goroutine may unlock it, not only the one that locked it.
///     gort::go(|| MU.unlock()).join().unwrap();
///     assert!(!MU.is_locked());
/// });
/// ```
#[derive(Default)]
pub struct RawMutex {
    state: AtomicI32,
    sema: AtomicU32,
}

impl std::fmt::Debug for RawMutex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // ORDERING: a snapshot for display.
        let s = self.state.load(Ordering::Relaxed);
        write!(
            f,
            "RawMutex {{ locked: {}, waiters: {} }}",
            s & LOCKED != 0,
            s >> WAITER_SHIFT
        )
    }
}

impl RawMutex {
    /// An unlocked mutex.
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::sync::RawMutex;
    ///
    /// let m = RawMutex::new();
    /// assert!(!m.is_locked());
    /// ```
    pub const fn new() -> RawMutex {
        RawMutex {
            state: AtomicI32::new(0),
            sema: AtomicU32::new(0),
        }
    }

    /// Locks, parking the goroutine while another holds the lock.
    ///
    /// # Panics
    /// If it must wait outside a goroutine.
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::sync::RawMutex;
    /// use std::sync::Arc;
    ///
    /// gort::run(|| {
    ///     let m = Arc::new(RawMutex::new());
    ///     m.lock();
    ///     let m2 = m.clone();
    ///     let waiter = gort::go(move || {
    ///         m2.lock(); // parks until the main goroutine unlocks
    ///         m2.unlock();
    ///     });
    ///     m.unlock();
    ///     waiter.join().unwrap();
    /// });
    /// ```
    #[inline]
    #[track_caller]
    pub fn lock(&self) {
        // A check point: yields here if sysmon asked this goroutine to (Go would preempt a
        // goroutine looping on Lock/Unlock asynchronously).
        gort_runtime::rt::maybe_preempt();
        // ORDERING: Acquire pairs with the Release in `unlock`.
        if self
            .state
            .compare_exchange(0, LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
        {
            return;
        }
        self.lock_slow();
    }

    /// Locks if free (and not in starvation mode, where the next owner is already chosen).
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::sync::RawMutex;
    ///
    /// let m = RawMutex::new();
    /// assert!(m.try_lock());
    /// assert!(!m.try_lock()); // already held
    /// m.unlock();
    /// ```
    #[inline]
    pub fn try_lock(&self) -> bool {
        // ORDERING: Relaxed load, then Acquire CAS as in `lock`.
        let old = self.state.load(Ordering::Relaxed);
        if old & (LOCKED | STARVING) != 0 {
            return false;
        }
        self.state
            .compare_exchange(old, old | LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    #[cold]
    #[track_caller]
    fn lock_slow(&self) {
        let mut wait_start: Option<Instant> = None;
        let mut starving = false;
        let mut awoke = false;
        let mut iter = 0u32;
        // ORDERING: every state transition below is a CAS (SeqCst, as Go's atomics); plain
        // loads only feed the next CAS.
        let mut old = self.state.load(Ordering::Relaxed);
        loop {
            // Spin while the mutex is locked in normal mode and spinning makes sense.
            if old & (LOCKED | STARVING) == LOCKED && can_spin(iter) {
                // Set WOKEN so `unlock` does not wake another waiter while we spin.
                if !awoke
                    && old & WOKEN == 0
                    && old >> WAITER_SHIFT != 0
                    && self
                        .state
                        .compare_exchange(old, old | WOKEN, Ordering::SeqCst, Ordering::Relaxed)
                        .is_ok()
                {
                    awoke = true;
                }
                do_spin();
                iter += 1;
                old = self.state.load(Ordering::Relaxed);
                continue;
            }
            let mut new = old;
            // Don't try to acquire a starving mutex: it goes to the queue's front.
            if old & STARVING == 0 {
                new |= LOCKED;
            }
            if old & (LOCKED | STARVING) != 0 {
                new += 1 << WAITER_SHIFT;
            }
            // Switch to starvation mode, but only if the mutex is still locked.
            if starving && old & LOCKED != 0 {
                new |= STARVING;
            }
            if awoke {
                if new & WOKEN == 0 {
                    gort_runtime::throw!("sync: inconsistent mutex state");
                }
                new &= !WOKEN;
            }
            if self
                .state
                .compare_exchange(old, new, Ordering::SeqCst, Ordering::Relaxed)
                .is_ok()
            {
                if old & (LOCKED | STARVING) == 0 {
                    break; // locked with the CAS
                }
                // Queue: at the front if we have waited before.
                let lifo = wait_start.is_some();
                let start = *wait_start.get_or_insert_with(Instant::now);
                semacquire(&self.sema, lifo, WaitReason::SyncMutexLock);
                starving = starving || start.elapsed().as_nanos() > STARVATION_THRESHOLD_NS;
                old = self.state.load(Ordering::SeqCst);
                if old & STARVING != 0 {
                    // Handed to us: the state is inconsistent until we fix it here (LOCKED not
                    // set, and we are still counted as a waiter).
                    if old & (LOCKED | WOKEN) != 0 || old >> WAITER_SHIFT == 0 {
                        gort_runtime::throw!("sync: inconsistent mutex state");
                    }
                    let mut delta = LOCKED - (1 << WAITER_SHIFT);
                    if !starving || old >> WAITER_SHIFT == 1 {
                        // Leave starvation mode (do it now: it is hard to know later).
                        delta -= STARVING;
                    }
                    self.state.fetch_add(delta, Ordering::SeqCst);
                    break;
                }
                awoke = true;
                iter = 0;
            } else {
                old = self.state.load(Ordering::Relaxed);
            }
        }
    }

    /// Unlocks.
    ///
    /// # Panics
    /// "sync: unlock of unlocked mutex" (Go makes this fatal; here it aborts the process the
    /// same way, as the state can no longer be trusted).
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::sync::RawMutex;
    ///
    /// gort::run(|| {
    ///     let m = RawMutex::new();
    ///     m.lock();
    ///     m.unlock();
    ///     assert!(m.try_lock()); // free again
    ///     m.unlock();
    /// });
    /// ```
    #[inline]
    pub fn unlock(&self) {
        // ORDERING: Release pairs with the Acquire in `lock`; SeqCst as Go's atomic add.
        let new = self.state.fetch_sub(LOCKED, Ordering::SeqCst) - LOCKED;
        if new != 0 {
            self.unlock_slow(new);
        }
    }

    #[cold]
    fn unlock_slow(&self, new: i32) {
        if (new + LOCKED) & LOCKED == 0 {
            gort_runtime::fatal_error("sync: unlock of unlocked mutex");
        }
        if new & STARVING == 0 {
            let mut old = new;
            loop {
                // No waiters, or someone already woken or holding the lock: nothing to do.
                if old >> WAITER_SHIFT == 0 || old & (LOCKED | WOKEN | STARVING) != 0 {
                    return;
                }
                let new = (old - (1 << WAITER_SHIFT)) | WOKEN;
                if self
                    .state
                    .compare_exchange(old, new, Ordering::SeqCst, Ordering::Relaxed)
                    .is_ok()
                {
                    semrelease(&self.sema, false);
                    return;
                }
                old = self.state.load(Ordering::Relaxed);
            }
        } else {
            // Starvation mode: hand ownership to the next waiter and yield to it.
            semrelease(&self.sema, true);
        }
    }

    /// Whether the mutex is locked (a snapshot).
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::sync::RawMutex;
    ///
    /// let m = RawMutex::new();
    /// assert!(m.try_lock());
    /// assert!(m.is_locked());
    /// m.unlock();
    /// assert!(!m.is_locked());
    /// ```
    pub fn is_locked(&self) -> bool {
        // ORDERING: a snapshot.
        self.state.load(Ordering::Relaxed) & LOCKED != 0
    }
}

/// A mutual-exclusion lock around a `T` (Go's `sync.Mutex` plus the data it guards). Waiting
/// parks the goroutine. There is no poisoning: a panic while the guard is held unlocks it.
///
/// # Examples
///
/// ```
/// use gort::sync::{Mutex, WaitGroup};
/// use std::sync::Arc;
///
/// gort::run(|| {
///     let counter = Arc::new(Mutex::new(0));
///     let wg = Arc::new(WaitGroup::new());
///     for _ in 0..100 {
///         let counter = counter.clone();
///         wg.go(move || *counter.lock() += 1);
///     }
///     wg.wait();
///     assert_eq!(*counter.lock(), 100); // no increment was lost
/// });
/// ```
#[derive(Default)]
pub struct Mutex<T: ?Sized> {
    raw: RawMutex,
    data: UnsafeCell<T>,
}

// SAFETY: the mutex hands out `&mut T` to one holder at a time, so sharing it requires only
// `T: Send`, as for std's Mutex.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}
// SAFETY: owning the mutex owns the `T`.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}

impl<T> Mutex<T> {
    /// A new unlocked mutex holding `v`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::sync::Mutex;
    ///
    /// // `new` is `const`, so a mutex can be a static.
    /// static NAMES: Mutex<Vec<&str>> = Mutex::new(Vec::new());
    ///
    /// gort::run(|| {
    ///     NAMES.lock().push("gopher");
    ///     assert_eq!(*NAMES.lock(), ["gopher"]);
    /// });
    /// ```
    pub const fn new(v: T) -> Mutex<T> {
        Mutex {
            raw: RawMutex::new(),
            data: UnsafeCell::new(v),
        }
    }

    /// The value, consuming the mutex.
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::sync::Mutex;
    ///
    /// let m = Mutex::new(String::from("gort"));
    /// assert_eq!(m.into_inner(), "gort");
    /// ```
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Locks the mutex, parking the goroutine until it is free.
    ///
    /// # Panics
    /// If it must wait outside a goroutine.
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::sync::Mutex;
    ///
    /// gort::run(|| {
    ///     let m = Mutex::new(vec![1, 2]);
    ///     m.lock().push(3); // the guard unlocks at the end of the statement
    ///     assert_eq!(*m.lock(), [1, 2, 3]);
    /// });
    /// ```
    #[track_caller]
    pub fn lock(&self) -> MutexGuard<'_, T> {
        self.raw.lock();
        MutexGuard { m: self }
    }

    /// Locks the mutex if it is free.
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::sync::Mutex;
    ///
    /// gort::run(|| {
    ///     let m = Mutex::new(0);
    ///     let g = m.lock();
    ///     assert!(m.try_lock().is_none()); // held: does not wait
    ///     drop(g);
    ///     assert!(m.try_lock().is_some());
    /// });
    /// ```
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        self.raw.try_lock().then(|| MutexGuard { m: self })
    }

    /// The value, through exclusive access (no locking needed).
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::sync::Mutex;
    ///
    /// let mut m = Mutex::new(1);
    /// *m.get_mut() += 1; // `&mut` proves nobody else holds the lock
    /// assert_eq!(m.into_inner(), 2);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }

    /// The underlying lock.
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::sync::Mutex;
    ///
    /// gort::run(|| {
    ///     let m = Mutex::new(());
    ///     let g = m.lock();
    ///     assert!(m.raw().is_locked());
    ///     drop(g);
    ///     assert!(!m.raw().is_locked());
    /// });
    /// ```
    pub fn raw(&self) -> &RawMutex {
        &self.raw
    }
}

impl<T: ?Sized + std::fmt::Debug> std::fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.try_lock() {
            Some(g) => f.debug_struct("Mutex").field("data", &&*g).finish(),
            None => f.write_str("Mutex { <locked> }"),
        }
    }
}

/// Access to a locked `Mutex`'s value; unlocks when dropped.
///
/// # Examples
///
/// ```
/// use gort::sync::Mutex;
///
/// static M: Mutex<i32> = Mutex::new(0);
///
/// gort::run(|| {
///     let mut g = M.lock();
///     *g += 1;
///     // A Go mutex is not tied to a goroutine: the guard may be dropped by another one.
///     gort::go(move || drop(g)).join().unwrap();
///     assert_eq!(*M.lock(), 1);
/// });
/// ```
pub struct MutexGuard<'a, T: ?Sized> {
    m: &'a Mutex<T>,
}

// SAFETY: a gort mutex is not tied to a thread, so the guard may move with its goroutine to
// another M (or to another goroutine), as long as the value may.
unsafe impl<T: ?Sized + Send> Send for MutexGuard<'_, T> {}
// SAFETY: `&MutexGuard` gives `&T`.
unsafe impl<T: ?Sized + Sync> Sync for MutexGuard<'_, T> {}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// The mutex this guard locks.
    pub(crate) fn mutex(&self) -> &'a Mutex<T> {
        self.m
    }

    /// Rebuilds a guard for a mutex the caller has locked.
    pub(crate) fn relocked(m: &'a Mutex<T>) -> MutexGuard<'a, T> {
        MutexGuard { m }
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard proves the lock is held, so no one else accesses the data.
        unsafe { &*self.m.data.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and the guard is borrowed mutably.
        unsafe { &mut *self.m.data.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.m.raw.unlock();
    }
}

impl<T: ?Sized + std::fmt::Debug> std::fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (**self).fmt(f)
    }
}
