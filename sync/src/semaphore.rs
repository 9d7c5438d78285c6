//! `Semaphore`: a weighted semaphore with golang.org/x/sync/semaphore's semantics. Goroutines
//! acquire weights up to a fixed size; waiters are served strictly in arrival order, so a large
//! request at the front is not starved by a stream of small ones.
//!
//! # Protocol
//! - `state` (a short `RawLock`) holds `cur`, the weight held, and the FIFO of waiters. Each
//!   waiter has an id and its own `ready` channel.
//! - `acquire` takes the weight at once only if it fits *and* nobody is waiting; otherwise it
//!   queues and parks in a `select!` on `ready` and the context's `done()`.
//! - `release` (and a waiter that gives up) grants weight to the front waiters in order while
//!   the front one fits (Go's `notifyWaiters`): a granted waiter is removed from the queue and
//!   its weight added to `cur` under the lock; its `ready` channel is closed after unlocking.
//! - A waiter whose context ends looks for itself in the queue under the lock: still there
//!   means not granted (it leaves, and wakes the next ones if it was at the front and weight is
//!   free); gone means it was granted meanwhile, and it gives the weight back.
//!
//! # Invariants
//! `cur <= size`; every queued waiter wants at most `size`; no channel operation happens
//! while `state` is locked.

use crate::context::{Context, ContextError};
use crate::locked::Locked;
use gort_chan::{chan, Chan};
use std::collections::VecDeque;
use std::fmt;

/// A weighted semaphore (golang.org/x/sync/semaphore's `Weighted`). Share it with an `Arc`.
///
/// ```
/// use gort::context;
/// use gort::sync::Semaphore;
/// use std::sync::Arc;
///
/// gort::run(|| {
///     let sem = Arc::new(Semaphore::new(3));
///     let ctx = context::background();
///     sem.acquire(&ctx, 2).unwrap();
///     assert!(!sem.try_acquire(2)); // only 1 left
///     assert!(sem.try_acquire(1));
///     sem.release(3);
/// });
/// ```
pub struct Semaphore {
    size: u64,
    state: Locked<State>,
}

struct State {
    /// Weight currently held.
    cur: u64,
    /// Waiters in arrival order.
    waiters: VecDeque<Waiter>,
    /// The next waiter id.
    next_id: u64,
}

struct Waiter {
    id: u64,
    n: u64,
    /// Closed (after unlocking) once the weight has been granted.
    ready: Chan<()>,
}

impl State {
    /// Grants weight to the front waiters while the front one fits; returns the channels to
    /// close once unlocked.
    ///
    /// Go: `Weighted.notifyWaiters` (x/sync/semaphore).
    fn notify_waiters(&mut self, size: u64) -> Vec<Chan<()>> {
        let mut ready = Vec::new();
        while let Some(w) = self.waiters.front() {
            if size - self.cur < w.n {
                // Not enough for the front waiter. Serving smaller ones behind it could
                // starve it forever, so stop here (FIFO).
                break;
            }
            self.cur += w.n;
            let w = self.waiters.pop_front().expect("front exists");
            ready.push(w.ready);
        }
        ready
    }
}

fn wake(ready: Vec<Chan<()>>) {
    for c in ready {
        c.close();
    }
}

impl Semaphore {
    /// A semaphore with total weight `n`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::sync::Semaphore;
    ///
    /// static DOWNLOADS: Semaphore = Semaphore::new(4); // `const`, so it can be a static
    /// assert_eq!(DOWNLOADS.size(), 4);
    /// ```
    pub const fn new(n: u64) -> Semaphore {
        Semaphore {
            size: n,
            state: Locked::new(State {
                cur: 0,
                waiters: VecDeque::new(),
                next_id: 0,
            }),
        }
    }

    /// Acquires weight `n`, parking the goroutine until it is available or `ctx` is done. On
    /// success the caller must [`release`](Self::release) `n` later. Waiters are served in
    /// arrival order. A request larger than the semaphore's size waits until `ctx` is done.
    ///
    /// # Errors
    /// `ctx.err()` if `ctx` is done before the weight is granted (also if it is done on
    /// entry, even if the weight is free); the semaphore is then left as it was.
    ///
    /// # Panics
    /// If it must wait outside a goroutine.
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::context::{self, ContextError};
    /// use gort::sync::Semaphore;
    /// use std::sync::Arc;
    ///
    /// gort::run(|| {
    ///     let sem = Arc::new(Semaphore::new(1));
    ///     sem.acquire(&context::background(), 1).unwrap();
    ///     let s = sem.clone();
    ///     let waiter = gort::go(move || s.acquire(&context::background(), 1)); // waits
    ///     sem.release(1); // lets the waiter in
    ///     assert_eq!(waiter.join().unwrap(), Ok(()));
    ///
    ///     let (ctx, cancel) = context::with_cancel(&context::background());
    ///     cancel.cancel();
    ///     assert_eq!(sem.acquire(&ctx, 1), Err(ContextError::Canceled)); // gives up
    /// });
    /// ```
    #[track_caller]
    pub fn acquire(&self, ctx: &Context, n: u64) -> Result<(), ContextError> {
        let done = ctx.done();
        if let Some(err) = ctx.err() {
            return Err(err);
        }
        let (id, ready) = {
            let mut st = self.state.lock();
            if self.size - st.cur >= n && st.waiters.is_empty() {
                st.cur += n;
                return Ok(());
            }
            if n > self.size {
                drop(st);
                // Can never succeed: wait for the context (forever on a nil `done`).
                done.recv();
                return Err(ctx.err().expect("done is closed only after err is set"));
            }
            let id = st.next_id;
            st.next_id += 1;
            let ready = chan::<()>(0);
            st.waiters.push_back(Waiter {
                id,
                n,
                ready: ready.clone(),
            });
            (id, ready)
        };
        gort_chan::select! {
            recv(ready) -> _ => {
                // Granted. If the context ended meanwhile, report that and give it back
                // (Go checks the done channel here too).
                if done.is_closed() {
                    self.release(n);
                    return Err(ctx.err().expect("done is closed only after err is set"));
                }
                Ok(())
            },
            recv(done) -> _ => {
                let wake_up = {
                    let mut st = self.state.lock();
                    match st.waiters.iter().position(|w| w.id == id) {
                        Some(pos) => {
                            st.waiters.remove(pos);
                            // Leaving the front may let the next waiters in.
                            if pos == 0 && self.size > st.cur {
                                st.notify_waiters(self.size)
                            } else {
                                Vec::new()
                            }
                        }
                        None => {
                            // Granted just as the context ended: give the weight back.
                            st.cur -= n;
                            st.notify_waiters(self.size)
                        }
                    }
                };
                wake(wake_up);
                Err(ctx.err().expect("done is closed only after err is set"))
            },
        }
    }

    /// Acquires weight `n` if it is available now and nobody is waiting; never blocks.
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::sync::Semaphore;
    ///
    /// let sem = Semaphore::new(2);
    /// assert!(sem.try_acquire(2));
    /// assert!(!sem.try_acquire(1)); // all weight is held
    /// sem.release(2);
    /// assert!(sem.try_acquire(1));
    /// ```
    pub fn try_acquire(&self, n: u64) -> bool {
        let mut st = self.state.lock();
        let ok = self.size - st.cur >= n && st.waiters.is_empty();
        if ok {
            st.cur += n;
        }
        ok
    }

    /// Releases weight `n`, waking the waiters at the front that now fit.
    ///
    /// # Panics
    /// "semaphore: released more than held" if more than the held weight is released.
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::context;
    /// use gort::sync::Semaphore;
    /// use std::sync::Arc;
    ///
    /// gort::run(|| {
    ///     let sem = Arc::new(Semaphore::new(3));
    ///     sem.acquire(&context::background(), 3).unwrap();
    ///     let s = sem.clone();
    ///     let big = gort::go(move || s.acquire(&context::background(), 2)); // waits
    ///     sem.release(1);
    ///     sem.release(1); // now 2 are free: the waiter gets them
    ///     assert_eq!(big.join().unwrap(), Ok(()));
    /// });
    /// ```
    pub fn release(&self, n: u64) {
        let ready = {
            let mut st = self.state.lock();
            match st.cur.checked_sub(n) {
                Some(cur) => st.cur = cur,
                None => {
                    drop(st);
                    panic!("semaphore: released more than held");
                }
            }
            st.notify_waiters(self.size)
        };
        wake(ready);
    }

    /// The total weight.
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::sync::Semaphore;
    ///
    /// let sem = Semaphore::new(10);
    /// assert!(sem.try_acquire(4));
    /// assert_eq!(sem.size(), 10); // the total, not what is free
    /// ```
    pub fn size(&self) -> u64 {
        self.size
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (cur, waiters) = {
            let st = self.state.lock();
            (st.cur, st.waiters.len())
        };
        f.debug_struct("Semaphore")
            .field("size", &self.size)
            .field("held", &cur)
            .field("waiters", &waiters)
            .finish()
    }
}
