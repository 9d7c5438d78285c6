//! `errgroup::Group`: golang.org/x/sync/errgroup. A group of goroutines working on subtasks of
//! one task: `wait` returns the first error, the first error cancels the group's context (made
//! by [`Group::with_context`]), and `set_limit` bounds how many run at once.
//!
//! ```
//! use gort::context;
//! use gort::sync::errgroup::Group;
//!
//! gort::run(|| {
//!     let (g, ctx) = Group::<String>::with_context(&context::background());
//!     for i in 0..4 {
//!         let ctx = ctx.clone();
//!         g.go(move || {
//!             if i == 2 {
//!                 return Err(format!("task {i} failed"));
//!             }
//!             ctx.done().recv(); // the others wait until the failure cancels them
//!             Ok(())
//!         });
//!     }
//!     assert_eq!(g.wait(), Err("task 2 failed".to_string()));
//!     assert!(ctx.err().is_some());
//! });
//! ```
//!
//! # Design
//! State shared by the handles (`Group` is a cheap `Clone`): a [`WaitGroup`] counting running
//! goroutines, the first error, the first panic, the optional limit (a buffered channel used as
//! a counting semaphore, as in Go) and the context's cancel function. The error, panic and
//! limit sit behind short `RawLock`s that are never held across a channel operation.
//!
//! Panics: a goroutine that panics does not end the process (as a detached goroutine would);
//! the first panic is kept, cancels the context like an error, and is resumed by `wait` on the
//! waiting goroutine, so a panic in a subtask is never lost.

use crate::context::{self, CancelFunc, Context};
use crate::locked::Locked;
use crate::WaitGroup;
use gort_chan::{chan, Chan};
use std::any::Any;
use std::fmt;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::Arc;

/// A group of goroutines whose first error is reported by [`wait`](Group::wait). `E` is the
/// error type of the subtasks. Clone the group to call `go` from inside its goroutines.
///
/// # Examples
///
/// ```
/// use gort::sync::errgroup::Group;
///
/// gort::run(|| {
///     let g = Group::<String>::new();
///     let g2 = g.clone();
///     g.go(move || {
///         // A subtask may start more subtasks through its own handle.
///         g2.go(|| Err(String::from("nested failure")));
///         Ok(())
///     });
///     assert_eq!(g.wait(), Err(String::from("nested failure")));
/// });
/// ```
pub struct Group<E> {
    inner: Arc<Inner<E>>,
}

struct Inner<E> {
    wg: WaitGroup,
    /// The first error; taken by `wait`.
    err: Locked<Option<E>>,
    /// The first panic's payload; resumed by `wait`.
    panic: Locked<Option<Box<dyn Any + Send>>>,
    /// A token per running goroutine when limited (Go's `sem chan token`).
    sem: Locked<Option<Chan<()>>>,
    cancel: Option<CancelFunc>,
}

impl<E> Clone for Group<E> {
    fn clone(&self) -> Self {
        Group {
            inner: self.inner.clone(),
        }
    }
}

impl<E> fmt::Debug for Group<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Group")
            .field("wg", &self.inner.wg)
            .field("failed", &self.inner.err.lock().is_some())
            .finish()
    }
}

impl<E: Send + 'static> Default for Group<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: Send + 'static> Group<E> {
    /// An empty group with no context and no limit (Go's zero `errgroup.Group`).
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::sync::errgroup::Group;
    ///
    /// gort::run(|| {
    ///     let g = Group::<std::io::Error>::new();
    ///     for _ in 0..3 {
    ///         g.go(|| Ok(()));
    ///     }
    ///     assert!(g.wait().is_ok()); // every subtask succeeded
    /// });
    /// ```
    pub fn new() -> Group<E> {
        Group::with_cancel(None)
    }

    fn with_cancel(cancel: Option<CancelFunc>) -> Group<E> {
        Group {
            inner: Arc::new(Inner {
                wg: WaitGroup::new(),
                err: Locked::new(None),
                panic: Locked::new(None),
                sem: Locked::new(None),
                cancel,
            }),
        }
    }

    /// A group and a child context of `ctx` that is cancelled the first time a goroutine of
    /// the group returns an error (or panics), or when [`wait`](Group::wait) returns,
    /// whichever comes first (Go's `errgroup.WithContext`).
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::context::{self, ContextError};
    /// use gort::sync::errgroup::Group;
    ///
    /// gort::run(|| {
    ///     let (g, ctx) = Group::<()>::with_context(&context::background());
    ///     g.go(|| Ok(()));
    ///     assert_eq!(ctx.err(), None);
    ///     g.wait().unwrap();
    ///     assert_eq!(ctx.err(), Some(ContextError::Canceled)); // `wait` cancels it too
    /// });
    /// ```
    pub fn with_context(ctx: &Context) -> (Group<E>, Context) {
        let (ctx, cancel) = context::with_cancel(ctx);
        (Group::with_cancel(Some(cancel)), ctx)
    }

    /// Runs `f` in a new goroutine. The first error returned by any `f` of the group is what
    /// `wait` returns, and cancels the group's context. With a limit set, first waits
    /// (parking the goroutine) until fewer than the limit are running.
    ///
    /// # Panics
    /// Outside a goroutine.
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::context;
    /// use gort::sync::errgroup::Group;
    ///
    /// gort::run(|| {
    ///     let (g, ctx) = Group::<String>::with_context(&context::background());
    ///     let gate = gort::chan::<()>(0);
    ///     let held = gate.clone();
    ///     g.go(move || { held.recv(); Err(String::from("second")) }); // fails later
    ///     g.go(|| Err(String::from("first")));
    ///     g.go(|| Ok(()));
    ///     ctx.done().recv(); // the first error cancelled the group's context
    ///     gate.close();
    ///     assert_eq!(g.wait(), Err(String::from("first"))); // later errors are dropped
    /// });
    /// ```
    #[track_caller]
    pub fn go<F>(&self, f: F)
    where
        F: FnOnce() -> Result<(), E> + Send + 'static,
    {
        let sem = self.inner.sem.lock().clone();
        if let Some(sem) = &sem {
            sem.send(());
        }
        self.spawn(sem, f);
    }

    /// Like [`go`](Group::go), but only if the limit allows another goroutine now; returns
    /// whether `f` was started (Go's `TryGo`). Never blocks.
    ///
    /// # Panics
    /// Outside a goroutine.
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::sync::errgroup::Group;
    ///
    /// gort::run(|| {
    ///     let g = Group::<()>::new();
    ///     g.set_limit(Some(1));
    ///     let gate = gort::chan::<()>(0);
    ///     let held = gate.clone();
    ///     assert!(g.try_go(move || { held.recv(); Ok(()) })); // takes the only slot
    ///     assert!(!g.try_go(|| Ok(()))); // no free slot: not started
    ///     gate.close();
    ///     g.wait().unwrap();
    ///     assert!(g.try_go(|| Ok(()))); // free again
    ///     g.wait().unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn try_go<F>(&self, f: F) -> bool
    where
        F: FnOnce() -> Result<(), E> + Send + 'static,
    {
        let sem = self.inner.sem.lock().clone();
        if let Some(sem) = &sem {
            if sem.try_send(()).is_err() {
                return false;
            }
        }
        self.spawn(sem, f);
        true
    }

    #[track_caller]
    fn spawn<F>(&self, sem: Option<Chan<()>>, f: F)
    where
        F: FnOnce() -> Result<(), E> + Send + 'static,
    {
        self.inner.wg.add(1);
        let inner = self.inner.clone();
        drop(gort_runtime::go(move || {
            match catch_unwind(AssertUnwindSafe(f)) {
                Ok(Ok(())) => {}
                Ok(Err(e)) => inner.fail(Some(e), None),
                Err(p) => inner.fail(None, Some(p)),
            }
            if let Some(sem) = sem {
                sem.recv();
            }
            inner.wg.done();
        }));
    }

    /// Parks until every goroutine started with `go`/`try_go` has returned, cancels the
    /// group's context, and returns the first error, if any (Go's `Wait`). The error is handed
    /// out once: a later `wait` returns `Ok(())` unless a new error happened.
    ///
    /// # Errors
    /// The first error returned by a goroutine of the group.
    ///
    /// # Panics
    /// If a goroutine of the group panicked: the first panic is resumed here. If it must wait
    /// outside a goroutine.
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::sync::errgroup::Group;
    /// use std::panic::AssertUnwindSafe;
    ///
    /// gort::run(|| {
    ///     let g = Group::<&str>::new();
    ///     g.go(|| Err("disk full"));
    ///     assert_eq!(g.wait(), Err("disk full")); // after every goroutine has returned
    ///     assert_eq!(g.wait(), Ok(())); // the error is handed out once
    ///
    ///     g.go(|| panic!("bug"));
    ///     let r = std::panic::catch_unwind(AssertUnwindSafe(|| g.wait()));
    ///     assert!(r.is_err()); // the subtask's panic, resumed by `wait`
    /// });
    /// ```
    #[track_caller]
    pub fn wait(&self) -> Result<(), E> {
        self.inner.wg.wait();
        if let Some(c) = &self.inner.cancel {
            c.cancel();
        }
        let panic = self.inner.panic.lock().take();
        if let Some(p) = panic {
            resume_unwind(p);
        }
        let err = self.inner.err.lock().take();
        match err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Limits the number of goroutines of this group running at once to `n` (`None`: no
    /// limit). `go` then waits for a free slot and `try_go` fails without one (Go's
    /// `SetLimit`; a zero limit blocks every `go`).
    ///
    /// # Panics
    /// "errgroup: modify limit while N goroutines in the group are still active", if
    /// goroutines started under the current limit are running.
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::sync::errgroup::Group;
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    ///
    /// gort::run(|| {
    ///     let g = Group::<()>::new();
    ///     g.set_limit(Some(2));
    ///     let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    ///     for _ in 0..10 {
    ///         let (running, most) = (running.clone(), most.clone());
    ///         g.go(move || {
    ///             let now = running.fetch_add(1, Ordering::SeqCst) + 1;
    ///             most.fetch_max(now, Ordering::SeqCst);
    ///             gort::runtime::gosched();
    ///             running.fetch_sub(1, Ordering::SeqCst);
    ///             Ok(())
    ///         }); // waits for a free slot
    ///     }
    ///     g.wait().unwrap();
    ///     assert!(most.load(Ordering::SeqCst) <= 2);
    /// });
    /// ```
    pub fn set_limit(&self, n: Option<usize>) {
        let mut sem = self.inner.sem.lock();
        if let Some(active) = sem.as_ref().map(|s| s.len()).filter(|&len| len != 0) {
            drop(sem);
            panic!(
                "errgroup: modify limit while {active} goroutines in the group are still active"
            );
        }
        *sem = n.map(chan::<()>);
    }
}

impl<E> Inner<E> {
    /// Records the first failure and cancels the context (Go's `errOnce`).
    fn fail(&self, err: Option<E>, panic: Option<Box<dyn Any + Send>>) {
        let first = {
            let mut e = self.err.lock();
            let mut p = self.panic.lock();
            let first = e.is_none() && p.is_none();
            if first {
                *e = err;
                *p = panic;
            }
            first
        };
        if first {
            if let Some(c) = &self.cancel {
                c.cancel();
            }
        }
    }
}
