//! `WaitGroup` (Go's sync/waitgroup.go): a 64-bit state with the counter in the high 32 bits and
//! the waiter count in the low 32, plus a semaphore the waiters park on.
//!
//! # Protocol
//! `add` that brings the counter to 0 with waiters resets the state to 0 and releases the
//! semaphore once per waiter. `wait` CASes the waiter count up and parks on the semaphore.
//! Misuse panics with Go's messages.

use gort_runtime::loom::{AtomicU32, AtomicU64, Ordering};
use gort_runtime::rt::{semacquire, semrelease, WaitReason};

/// Waits for a collection of goroutines to finish.
///
/// # Examples
///
/// ```
/// use gort::sync::WaitGroup;
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
///
/// gort::run(|| {
///     let wg = Arc::new(WaitGroup::new());
///     let finished = Arc::new(AtomicUsize::new(0));
///     for _ in 0..10 {
///         wg.add(1);
///         let (wg, finished) = (wg.clone(), finished.clone());
///         gort::go(move || {
///             finished.fetch_add(1, Ordering::Relaxed);
///             wg.done();
///         });
///     }
///     wg.wait(); // parks until all ten have called `done`
///     assert_eq!(finished.load(Ordering::Relaxed), 10);
/// });
/// ```
#[derive(Default)]
pub struct WaitGroup {
    state: AtomicU64,
    sema: AtomicU32,
}

impl std::fmt::Debug for WaitGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // ORDERING: a snapshot for display.
        let s = self.state.load(Ordering::Relaxed);
        write!(
            f,
            "WaitGroup {{ counter: {}, waiters: {} }}",
            (s >> 32) as i32,
            s as u32
        )
    }
}

impl WaitGroup {
    /// A WaitGroup with counter 0.
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::sync::WaitGroup;
    ///
    /// gort::run(|| {
    ///     let wg = WaitGroup::new();
    ///     wg.wait(); // the counter is 0: returns at once
    /// });
    /// ```
    pub const fn new() -> WaitGroup {
        WaitGroup {
            state: AtomicU64::new(0),
            sema: AtomicU32::new(0),
        }
    }

    /// Adds `delta` (may be negative) to the counter; at 0, releases every waiter.
    ///
    /// # Panics
    /// "sync: negative WaitGroup counter"; "sync: WaitGroup misuse: Add called concurrently
    /// with Wait".
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::sync::WaitGroup;
    /// use std::sync::Arc;
    ///
    /// gort::run(|| {
    ///     let wg = Arc::new(WaitGroup::new());
    ///     wg.add(3); // before starting the goroutines, as in Go
    ///     let wg2 = wg.clone();
    ///     gort::go(move || wg2.add(-3)); // one goroutine finishing three items
    ///     wg.wait();
    ///     let r = std::panic::catch_unwind(|| wg.add(-1));
    ///     assert!(r.is_err()); // "sync: negative WaitGroup counter"
    /// });
    /// ```
    #[inline]
    pub fn add(&self, delta: i32) {
        // ORDERING: SeqCst as Go's atomic.Uint64 (a StoreLoad against `wait`'s CAS).
        let state = self
            .state
            .fetch_add((delta as i64 as u64) << 32, Ordering::SeqCst)
            .wrapping_add((delta as i64 as u64) << 32);
        // The common case: no waiters and a counter that did not go negative.
        if state as u32 == 0 && (state >> 32) as i32 >= 0 {
            return;
        }
        self.add_slow(delta, state);
    }

    /// `add` with waiters to release, or misuse to report.
    #[cold]
    #[inline(never)]
    fn add_slow(&self, delta: i32, state: u64) {
        let v = (state >> 32) as i32;
        let w = state as u32;
        if v < 0 {
            panic!("sync: negative WaitGroup counter");
        }
        if w != 0 && delta > 0 && v == delta {
            panic!("sync: WaitGroup misuse: Add called concurrently with Wait");
        }
        if v > 0 || w == 0 {
            return;
        }
        // Counter is 0 and there are waiters: no Add may happen now.
        if self.state.load(Ordering::SeqCst) != state {
            panic!("sync: WaitGroup misuse: Add called concurrently with Wait");
        }
        self.state.store(0, Ordering::SeqCst);
        for _ in 0..w {
            semrelease(&self.sema, false);
        }
    }

    /// Decrements the counter by one.
    ///
    /// # Panics
    /// As `add(-1)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::sync::WaitGroup;
    /// use std::sync::Arc;
    ///
    /// gort::run(|| {
    ///     let wg = Arc::new(WaitGroup::new());
    ///     wg.add(1);
    ///     let wg2 = wg.clone();
    ///     gort::go(move || wg2.done()); // Go's `defer wg.Done()`
    ///     wg.wait();
    /// });
    /// ```
    #[inline]
    pub fn done(&self) {
        self.add(-1);
    }

    /// Parks the goroutine until the counter is 0.
    ///
    /// # Panics
    /// "sync: WaitGroup is reused before previous Wait has returned"; if it must wait outside a
    /// goroutine.
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::sync::WaitGroup;
    /// use std::sync::Arc;
    ///
    /// gort::run(|| {
    ///     let wg = Arc::new(WaitGroup::new());
    ///     let done = Arc::new(WaitGroup::new());
    ///     wg.add(1);
    ///     // Any number of goroutines may wait; all are released together.
    ///     for _ in 0..3 {
    ///         let wg = wg.clone();
    ///         done.go(move || wg.wait());
    ///     }
    ///     wg.done();
    ///     done.wait();
    /// });
    /// ```
    #[track_caller]
    pub fn wait(&self) {
        loop {
            // ORDERING: SeqCst, see `add`.
            let state = self.state.load(Ordering::SeqCst);
            if (state >> 32) as i32 == 0 {
                return;
            }
            if self
                .state
                .compare_exchange(state, state + 1, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
            {
                semacquire(&self.sema, false, WaitReason::SyncWaitGroupWait);
                if self.state.load(Ordering::SeqCst) != 0 {
                    panic!("sync: WaitGroup is reused before previous Wait has returned");
                }
                return;
            }
        }
    }

    /// Runs `f` in a new goroutine, counting it in the group (Go 1.25's `WaitGroup.Go`).
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::sync::{Mutex, WaitGroup};
    /// use std::sync::Arc;
    ///
    /// gort::run(|| {
    ///     let wg = Arc::new(WaitGroup::new());
    ///     let results = Arc::new(Mutex::new(Vec::new()));
    ///     for i in 0..5 {
    ///         let results = results.clone();
    ///         wg.go(move || results.lock().push(i * i)); // no add/done to get wrong
    ///     }
    ///     wg.wait();
    ///     let mut r = results.lock().clone();
    ///     r.sort();
    ///     assert_eq!(r, [0, 1, 4, 9, 16]);
    /// });
    /// ```
    #[track_caller]
    pub fn go<F>(self: &std::sync::Arc<Self>, f: F)
    where
        F: FnOnce() + Send + 'static,
    {
        self.add(1);
        let wg = self.clone();
        drop(gort_runtime::go(move || {
            struct Done(std::sync::Arc<WaitGroup>);
            impl Drop for Done {
                fn drop(&mut self) {
                    self.0.done();
                }
            }
            let _d = Done(wg);
            f()
        }));
    }
}
