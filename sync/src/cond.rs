//! `Cond`: Go's sync.Cond over the runtime's ticket-based notify list.
//!
//! `wait` takes a ticket while the mutex is still held, unlocks, parks on the ticket, and
//! locks again; `signal` wakes the longest waiter, `broadcast` every waiter. A signal between
//! the unlock and the park is not lost: the ticket was taken first.

use crate::mutex::MutexGuard;
use gort_runtime::rt::{NotifyList, WaitReason};

/// A condition variable (Go's `sync.Cond`), used with a [`crate::Mutex`] guard.
///
/// # Examples
///
/// ```
/// use gort::sync::{Cond, Mutex};
/// use std::sync::Arc;
///
/// gort::run(|| {
///     let state = Arc::new((Mutex::new(false), Cond::new()));
///     let s = state.clone();
///     gort::go(move || {
///         *s.0.lock() = true;
///         s.1.signal();
///     });
///     let mut ready = state.0.lock();
///     while !*ready {
///         ready = state.1.wait(ready); // re-check in a loop, as in Go
///     }
///     assert!(*ready);
/// });
/// ```
#[derive(Default)]
pub struct Cond {
    notify: NotifyList,
}

impl std::fmt::Debug for Cond {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cond")
    }
}

impl Cond {
    /// A new condition variable.
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::sync::Cond;
    ///
    /// static COND: Cond = Cond::new(); // `const`, so it can be a static
    /// COND.signal(); // nobody is waiting: a no-op
    /// ```
    pub const fn new() -> Cond {
        Cond {
            notify: NotifyList::new(),
        }
    }

    /// Unlocks the guard's mutex, parks until signalled, and locks it again. As in Go, the
    /// condition must be re-checked in a loop after waking.
    ///
    /// # Panics
    /// Outside a goroutine.
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::sync::{Cond, Mutex};
    /// use std::sync::Arc;
    ///
    /// gort::run(|| {
    ///     let queue = Arc::new((Mutex::new(Vec::new()), Cond::new()));
    ///     let q = queue.clone();
    ///     gort::go(move || {
    ///         q.0.lock().push("job");
    ///         q.1.signal();
    ///     });
    ///     let mut jobs = queue.0.lock();
    ///     while jobs.is_empty() {
    ///         jobs = queue.1.wait(jobs); // the mutex is unlocked while parked
    ///     }
    ///     assert_eq!(jobs.pop(), Some("job"));
    /// });
    /// ```
    #[track_caller]
    pub fn wait<'a, T: ?Sized>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        let t = self.notify.add();
        let m = guard.mutex();
        drop(guard);
        self.notify.wait(t, WaitReason::SyncCondWait);
        m.raw().lock();
        MutexGuard::relocked(m)
    }

    /// Wakes one waiting goroutine (the one waiting longest), if any.
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::sync::{Cond, Mutex};
    /// use std::sync::Arc;
    ///
    /// gort::run(|| {
    ///     let c = Arc::new((Mutex::new(0), Cond::new()));
    ///     let c2 = c.clone();
    ///     let waiter = gort::go(move || {
    ///         let mut n = c2.0.lock();
    ///         while *n == 0 {
    ///             n = c2.1.wait(n);
    ///         }
    ///         *n
    ///     });
    ///     *c.0.lock() = 7;
    ///     c.1.signal();
    ///     assert_eq!(waiter.join().unwrap(), 7);
    /// });
    /// ```
    pub fn signal(&self) {
        self.notify.notify_one();
    }

    /// Wakes every waiting goroutine.
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::sync::{Cond, Mutex, WaitGroup};
    /// use std::sync::Arc;
    ///
    /// gort::run(|| {
    ///     // (parked, go): each waiter counts itself, then parks until `go` is set.
    ///     let c = Arc::new((Mutex::new((0, false)), Cond::new()));
    ///     let wg = Arc::new(WaitGroup::new());
    ///     for _ in 0..3 {
    ///         let c = c.clone();
    ///         wg.go(move || {
    ///             let mut s = c.0.lock();
    ///             s.0 += 1;
    ///             while !s.1 {
    ///                 s = c.1.wait(s);
    ///             }
    ///         });
    ///     }
    ///     while c.0.lock().0 < 3 {
    ///         gort::runtime::gosched(); // until all three are parked in `wait`
    ///     }
    ///     c.0.lock().1 = true;
    ///     c.1.broadcast();
    ///     wg.wait(); // one broadcast woke every waiter
    /// });
    /// ```
    pub fn broadcast(&self) {
        self.notify.notify_all();
    }
}
