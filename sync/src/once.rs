//! `Once` and `OnceValue<T>`: Go's sync.Once (sync/once.go) and sync.OnceValue.
//!
//! # Protocol
//! The fast path is one atomic load of `done`. The slow path takes the mutex, re-checks, runs
//! the function and sets `done` on the way out, even if it panicked (a deferred store in Go).
//! Callers that lose the race wait on the mutex until the function has finished, which is why
//! a bare compare-and-swap would be wrong (Go's once.go comment).

use crate::mutex::RawMutex;
use gort_runtime::loom::{AtomicBool, AtomicU32, Ordering};
use std::cell::UnsafeCell;

/// Runs a function exactly once (Go's `sync.Once`).
///
/// # Examples
///
/// ```
/// use gort::sync::{Once, WaitGroup};
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
///
/// static INIT: Once = Once::new();
/// static RUNS: AtomicUsize = AtomicUsize::new(0);
///
/// gort::run(|| {
///     let wg = Arc::new(WaitGroup::new());
///     for _ in 0..10 {
///         wg.go(|| INIT.call_once(|| { RUNS.fetch_add(1, Ordering::Relaxed); }));
///     }
///     wg.wait();
///     assert_eq!(RUNS.load(Ordering::Relaxed), 1);
/// });
/// ```
#[derive(Default)]
pub struct Once {
    done: AtomicU32,
    m: RawMutex,
}

impl std::fmt::Debug for Once {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Once {{ done: {} }}", self.is_done())
    }
}

impl Once {
    /// A `Once` that has not run.
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::sync::Once;
    ///
    /// static SETUP: Once = Once::new(); // `const`, so it can be a static
    /// assert!(!SETUP.is_done());
    /// ```
    pub const fn new() -> Once {
        Once {
            done: AtomicU32::new(0),
            m: RawMutex::new(),
        }
    }

    /// Runs `f` if no call has run yet; otherwise waits until the running call has finished.
    /// A panic in `f` still counts as done (later calls return at once).
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::sync::Once;
    ///
    /// gort::run(|| {
    ///     let once = Once::new();
    ///     let mut calls = Vec::new();
    ///     once.call_once(|| calls.push("first"));
    ///     once.call_once(|| calls.push("second")); // does nothing
    ///     assert_eq!(calls, ["first"]);
    ///
    ///     let failed = Once::new();
    ///     let r = std::panic::catch_unwind(|| failed.call_once(|| panic!("setup failed")));
    ///     assert!(r.is_err());
    ///     failed.call_once(|| unreachable!()); // a panic still counts as done
    /// });
    /// ```
    #[track_caller]
    pub fn call_once<F: FnOnce()>(&self, f: F) {
        // ORDERING: Acquire pairs with the Release store in `Done::drop`, so whatever `f` did
        // is visible once `done` is seen.
        if self.done.load(Ordering::Acquire) == 0 {
            self.call_slow(f);
        }
    }

    #[cold]
    #[track_caller]
    fn call_slow<F: FnOnce()>(&self, f: F) {
        struct Done<'a>(&'a Once);
        impl Drop for Done<'_> {
            fn drop(&mut self) {
                // ORDERING: Release pairs with the Acquire in `call_once`.
                self.0.done.store(1, Ordering::Release);
                self.0.m.unlock();
            }
        }
        self.m.lock();
        // ORDERING: under the mutex; Acquire for symmetry with the fast path.
        if self.done.load(Ordering::Acquire) == 0 {
            let _d = Done(self);
            f();
        } else {
            self.m.unlock();
        }
    }

    /// Whether a call has completed.
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::sync::Once;
    ///
    /// gort::run(|| {
    ///     let once = Once::new();
    ///     assert!(!once.is_done());
    ///     once.call_once(|| {});
    ///     assert!(once.is_done());
    /// });
    /// ```
    pub fn is_done(&self) -> bool {
        // ORDERING: as in `call_once`.
        self.done.load(Ordering::Acquire) != 0
    }
}

/// A value computed once, on first use (Go's `sync.OnceValue`).
///
/// If the function panics, that call panics and every later `get` panics too.
///
/// # Examples
///
/// ```
/// use gort::sync::OnceValue;
/// use std::sync::atomic::{AtomicUsize, Ordering};
///
/// static CALLS: AtomicUsize = AtomicUsize::new(0);
/// static ANSWER: OnceValue<u64> = OnceValue::new(|| {
///     CALLS.fetch_add(1, Ordering::Relaxed);
///     42
/// });
///
/// gort::run(|| {
///     let readers: Vec<_> = (0..4).map(|_| gort::go(|| *ANSWER.get())).collect();
///     for r in readers {
///         assert_eq!(r.join().unwrap(), 42);
///     }
///     assert_eq!(CALLS.load(Ordering::Relaxed), 1); // computed once
/// });
/// ```
pub struct OnceValue<T, F = fn() -> T> {
    once: Once,
    f: UnsafeCell<Option<F>>,
    value: UnsafeCell<Option<T>>,
    panicked: AtomicBool,
}

// SAFETY: `f` is taken and `value` written only inside `Once::call_once`, which serialises them
// and publishes the result with a Release/Acquire pair; afterwards `value` is only read. Sharing
// needs `T: Sync` (readers get `&T`) and `T: Send`/`F: Send` (the goroutine that runs `f` may
// not be the one that created the OnceValue).
unsafe impl<T: Send + Sync, F: Send> Sync for OnceValue<T, F> {}

impl<T, F: FnOnce() -> T> OnceValue<T, F> {
    /// A value that `f` will compute on the first `get`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::sync::OnceValue;
    ///
    /// let greeting = OnceValue::new(|| format!("hello, {}", "gopher")); // not run yet
    /// gort::run(move || assert_eq!(greeting.get(), "hello, gopher"));
    /// ```
    pub const fn new(f: F) -> OnceValue<T, F> {
        OnceValue {
            once: Once::new(),
            f: UnsafeCell::new(Some(f)),
            value: UnsafeCell::new(None),
            panicked: AtomicBool::new(false),
        }
    }

    /// The value, computing it on the first call.
    ///
    /// # Panics
    /// If the function panicked (in this call or an earlier one).
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::sync::OnceValue;
    /// use std::cell::Cell;
    ///
    /// gort::run(|| {
    ///     let calls = Cell::new(0);
    ///     let v = OnceValue::new(|| {
    ///         calls.set(calls.get() + 1);
    ///         vec![1, 2, 3]
    ///     });
    ///     assert_eq!(v.get().len(), 3);
    ///     assert_eq!(v.get().len(), 3); // the same value, not recomputed
    ///     assert_eq!(calls.get(), 1);
    /// });
    /// ```
    #[track_caller]
    pub fn get(&self) -> &T {
        self.once.call_once(|| {
            // ORDERING: written before `Once` publishes completion.
            self.panicked.store(true, Ordering::Relaxed);
            // SAFETY: inside `call_once`, only one caller ever runs this closure.
            let f = unsafe { (*self.f.get()).take() }.expect("OnceValue function already taken");
            let v = f();
            // SAFETY: as above; nobody reads `value` before `call_once` completes.
            unsafe { *self.value.get() = Some(v) };
            self.panicked.store(false, Ordering::Relaxed);
        });
        // ORDERING: `call_once` returned, so its writes are visible (Acquire on `done`).
        if self.panicked.load(Ordering::Relaxed) {
            panic!("sync: OnceValue function panicked");
        }
        // SAFETY: the value was written inside `call_once`, which has completed; from now on
        // it is only read.
        unsafe { (*self.value.get()).as_ref() }.expect("OnceValue computed")
    }
}

impl<T: std::fmt::Debug, F> std::fmt::Debug for OnceValue<T, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.once.is_done() && !self.panicked.load(Ordering::Relaxed) {
            // SAFETY: completed, so only read from now on.
            let v = unsafe { (*self.value.get()).as_ref() };
            f.debug_struct("OnceValue").field("value", &v).finish()
        } else {
            f.write_str("OnceValue { <not computed> }")
        }
    }
}
