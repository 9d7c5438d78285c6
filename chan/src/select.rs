//! select: Go's `selectgo` over a list of type-erased arms, and the `select!` macro that builds
//! that list on the stack.
//!
//! # Protocol (select.go)
//! 1. Poll order: the non-nil arms shuffled uniformly (inside-out Fisher-Yates).
//! 2. Lock order: the same arms sorted by hchan address; `sellock` locks each distinct channel
//!    once, in that order (so two selects can never deadlock each other).
//! 3. Pass 1: in poll order, take the first arm that is ready now. A send arm on a closed
//!    channel panics "send on closed channel" (after unlocking).
//! 4. With `default` (non-blocking), unlock and report no arm.
//! 5. Pass 2: one sudog per arm (`is_select`), enqueued in lock order and chained through
//!    `waitlink`; park with an unlock function that releases every channel.
//! 6. A waker wins the G by CASing its `selectdone` 0 -> 1 inside `WaitQ::dequeue`, writes
//!    `G::param` = the winning sudog and readies the G. Exactly one arm wins.
//! 7. Pass 3: lock again, find the winner, remove every losing sudog from its queue, release
//!    all sudogs, unlock.
//!
//! Nothing here allocates for up to 32 arms (every `select!`): arms, orders, each arm's channel
//! (read once per select) and sudogs (per-P cache) live on the stack or in caches. A dynamic
//! select with more arms keeps the channels in a vector.

use crate::hchan::{HChan, RecvHeld, SendHeld};
use crate::{Chan, Receiver, Sender};
use gort_runtime::loom::Ordering;
use gort_runtime::rt::{
    acquire_sudog, cheaprandn, getg, gopark, goready, outside_goroutine, release_sudog, GPtr,
    RawLock, Sudog, WaitReason,
};
use std::mem::MaybeUninit;

/// What polling an arm with its channel locked found.
///
/// # Examples
///
/// ```
/// use gort::select::{Arm, Poll, RecvArm, SendArm};
///
/// let c = gort::chan::<i32>(0);
/// let mut arm = SendArm::new(&c, 1);
/// let other = RecvArm::new(&c);
/// let (_, lock) = other.chan().unwrap(); // `c`'s lock: any arm on `c` gives it
/// lock.lock();
/// // SAFETY: `c`'s lock is held.
/// let before = unsafe { arm.poll() }; // unbuffered, no receiver waiting
/// lock.unlock();
/// assert!(matches!(before, Poll::NotReady));
/// c.close();
/// lock.lock();
/// // SAFETY: as above.
/// let after = unsafe { arm.poll() }; // selectgo turns this into a panic
/// lock.unlock();
/// assert!(matches!(after, Poll::SendOnClosed));
/// ```
pub enum Poll {
    /// Not ready.
    NotReady,
    /// Done; the G (if any) must be readied once every channel is unlocked.
    Ready(Option<GPtr>),
    /// A send on a closed channel: panic once unlocked.
    SendOnClosed,
}

/// One arm of a select, type-erased. Implemented by [`RecvArm`] and [`SendArm`].
///
/// # Safety
/// `chan` must return the same channel every time, whose lock stays valid as long as the arm
/// does (`selectgo` reads it once and keeps a pointer to it), and `enqueue` must put the sudog
/// on that channel's queue with `elem` pointing at storage that lives as long as the arm.
///
/// # Examples
///
/// Arms are built by `select!` and [`Select`](crate::Select); implementing the trait takes the
/// runtime's lock and sudog types. This wrapper logs the calls [`selectgo`] makes while it waits
/// on two channels and a goroutine sends on the second:
///
/// ```
/// use gort::select::{selectgo, Arm, Poll, RecvArm};
/// use gort_runtime::rt::{RawLock, Sudog};
/// use std::sync::{Arc, Mutex};
///
/// // Forwards every call to `inner` and logs the calls that selectgo makes.
/// struct Traced<A> {
///     inner: A,
///     log: Arc<Mutex<Vec<&'static str>>>,
/// }
///
/// impl<A> Traced<A> {
///     fn note(&self, call: &'static str) {
///         self.log.lock().unwrap().push(call);
///     }
/// }
///
/// // SAFETY: every call is forwarded to `inner`, which keeps the contract.
/// unsafe impl<A: Arm> Arm for Traced<A> {
///     fn chan(&self) -> Option<(usize, &RawLock)> {
///         self.inner.chan()
///     }
///     unsafe fn poll(&mut self) -> Poll {
///         self.note("poll");
///         unsafe { self.inner.poll() }
///     }
///     unsafe fn enqueue(&mut self, sg: *mut Sudog) {
///         self.note("enqueue");
///         unsafe { self.inner.enqueue(sg) }
///     }
///     unsafe fn remove(&mut self, sg: *mut Sudog) {
///         self.note("remove");
///         unsafe { self.inner.remove(sg) }
///     }
///     unsafe fn woke(&mut self, success: bool) -> bool {
///         self.note("woke");
///         unsafe { self.inner.woke(success) }
///     }
///     fn fire(&mut self) {
///         self.inner.fire()
///     }
///     fn spent(&self) -> bool {
///         self.inner.spent()
///     }
/// }
///
/// gort::run(|| {
///     let (a, b) = (gort::chan::<i32>(0), gort::chan::<i32>(0));
///     let (log_a, log_b) = (Arc::default(), Arc::default());
///     let mut arm_a = Traced { inner: RecvArm::new(&a), log: Arc::clone(&log_a) };
///     let mut arm_b = Traced { inner: RecvArm::new(&b), log: Arc::clone(&log_b) };
///     let (tx, seen) = (b.clone(), Arc::clone(&log_b));
///     gort::go(move || {
///         while !seen.lock().unwrap().contains(&"enqueue") {
///             gort::runtime::gosched();
///         }
///         tx.send(7);
///     });
///     let i = selectgo(&mut [&mut arm_a, &mut arm_b], &mut [0; 2], &mut [0; 2], true);
///     assert_eq!(i, Some(1));
///     // Pass 1 polled both arms, pass 2 queued both, the sender chose `b`, pass 3 dequeued `a`.
///     assert_eq!(*log_a.lock().unwrap(), ["poll", "enqueue", "remove"]);
///     assert_eq!(*log_b.lock().unwrap(), ["poll", "enqueue", "woke"]);
///     arm_b.fire();
///     assert_eq!(arm_b.inner.into_outcome(), Some(Some(7)));
/// });
/// ```
pub unsafe trait Arm {
    /// The channel's identity (hchan address) and lock; `None` for a nil channel.
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::select::{Arm, RecvArm, SendArm};
    ///
    /// fn id(arm: &dyn Arm) -> Option<usize> {
    ///     arm.chan().map(|(addr, _lock)| addr)
    /// }
    ///
    /// let c = gort::chan::<i32>(1);
    /// let (recv, send) = (RecvArm::new(&c), SendArm::new(&c, 1));
    /// assert!(id(&recv).is_some());
    /// assert_eq!(id(&recv), id(&send)); // one channel, one identity and lock
    /// assert_eq!(id(&RecvArm::new(&gort::Chan::<i32>::nil())), None);
    /// ```
    fn chan(&self) -> Option<(usize, &RawLock)>;
    /// Tries the operation now.
    ///
    /// # Safety
    /// The channel lock must be held.
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::select::{Arm, Poll, RecvArm};
    ///
    /// let c = gort::chan::<i32>(1);
    /// c.try_send(5).unwrap();
    /// let mut arm = RecvArm::new(&c);
    /// let other = RecvArm::new(&c);
    /// let (_, lock) = other.chan().unwrap(); // `c`'s lock
    /// lock.lock();
    /// // SAFETY: `c`'s lock is held.
    /// let p = unsafe { arm.poll() };
    /// lock.unlock();
    /// assert!(matches!(p, Poll::Ready(None))); // took the buffered value; no G to wake
    /// arm.fire();
    /// assert_eq!(arm.into_outcome(), Some(Some(5)));
    /// ```
    unsafe fn poll(&mut self) -> Poll;
    /// Enqueues `sg` (filled by the caller but for `elem`) on the channel.
    ///
    /// # Safety
    /// The channel lock must be held; `sg` is on no queue.
    ///
    /// # Examples
    ///
    /// [`selectgo`] enqueues every arm when none is ready, then parks. `Traced` is the logging
    /// wrapper of the [`Arm`] example; a goroutine sends on `b` once its arm is queued:
    ///
    /// ```
    /// use gort::select::{selectgo, RecvArm};
    /// use std::sync::Arc;
    /// # use gort::select::{Arm, Poll};
    /// # use gort_runtime::rt::{RawLock, Sudog};
    /// # use std::sync::Mutex;
    /// #
    /// # // Forwards every call to `inner` and logs the calls that selectgo makes.
    /// # struct Traced<A> {
    /// #     inner: A,
    /// #     log: Arc<Mutex<Vec<&'static str>>>,
    /// # }
    /// #
    /// # impl<A> Traced<A> {
    /// #     fn note(&self, call: &'static str) {
    /// #         self.log.lock().unwrap().push(call);
    /// #     }
    /// # }
    /// #
    /// # // SAFETY: every call is forwarded to `inner`, which keeps the contract.
    /// # unsafe impl<A: Arm> Arm for Traced<A> {
    /// #     fn chan(&self) -> Option<(usize, &RawLock)> {
    /// #         self.inner.chan()
    /// #     }
    /// #     unsafe fn poll(&mut self) -> Poll {
    /// #         self.note("poll");
    /// #         unsafe { self.inner.poll() }
    /// #     }
    /// #     unsafe fn enqueue(&mut self, sg: *mut Sudog) {
    /// #         self.note("enqueue");
    /// #         unsafe { self.inner.enqueue(sg) }
    /// #     }
    /// #     unsafe fn remove(&mut self, sg: *mut Sudog) {
    /// #         self.note("remove");
    /// #         unsafe { self.inner.remove(sg) }
    /// #     }
    /// #     unsafe fn woke(&mut self, success: bool) -> bool {
    /// #         self.note("woke");
    /// #         unsafe { self.inner.woke(success) }
    /// #     }
    /// #     fn fire(&mut self) {
    /// #         self.inner.fire()
    /// #     }
    /// #     fn spent(&self) -> bool {
    /// #         self.inner.spent()
    /// #     }
    /// # }
    ///
    /// gort::run(|| {
    ///     let (a, b) = (gort::chan::<i32>(0), gort::chan::<i32>(0));
    ///     let (log_a, log_b) = (Arc::default(), Arc::default());
    ///     let mut arm_a = Traced { inner: RecvArm::new(&a), log: Arc::clone(&log_a) };
    ///     let mut arm_b = Traced { inner: RecvArm::new(&b), log: Arc::clone(&log_b) };
    ///     let (tx, seen) = (b.clone(), Arc::clone(&log_b));
    ///     gort::go(move || {
    ///         while !seen.lock().unwrap().contains(&"enqueue") {
    ///             gort::runtime::gosched();
    ///         }
    ///         tx.send(7);
    ///     });
    ///     let i = selectgo(&mut [&mut arm_a, &mut arm_b], &mut [0; 2], &mut [0; 2], true);
    ///     assert_eq!(i, Some(1));
    ///     assert!(log_a.lock().unwrap().contains(&"enqueue"));
    ///     assert!(log_b.lock().unwrap().contains(&"enqueue"));
    /// });
    /// ```
    unsafe fn enqueue(&mut self, sg: *mut Sudog);
    /// Removes a losing sudog from the channel's queue, if still there.
    ///
    /// # Safety
    /// The channel lock must be held; `sg` was enqueued by `enqueue`.
    ///
    /// # Examples
    ///
    /// After the wake-up, [`selectgo`] removes the losing arms' sudogs; the winner's was already
    /// dequeued by its waker. `Traced` is the logging wrapper of the [`Arm`] example:
    ///
    /// ```
    /// use gort::select::{selectgo, RecvArm};
    /// use std::sync::Arc;
    /// # use gort::select::{Arm, Poll};
    /// # use gort_runtime::rt::{RawLock, Sudog};
    /// # use std::sync::Mutex;
    /// #
    /// # // Forwards every call to `inner` and logs the calls that selectgo makes.
    /// # struct Traced<A> {
    /// #     inner: A,
    /// #     log: Arc<Mutex<Vec<&'static str>>>,
    /// # }
    /// #
    /// # impl<A> Traced<A> {
    /// #     fn note(&self, call: &'static str) {
    /// #         self.log.lock().unwrap().push(call);
    /// #     }
    /// # }
    /// #
    /// # // SAFETY: every call is forwarded to `inner`, which keeps the contract.
    /// # unsafe impl<A: Arm> Arm for Traced<A> {
    /// #     fn chan(&self) -> Option<(usize, &RawLock)> {
    /// #         self.inner.chan()
    /// #     }
    /// #     unsafe fn poll(&mut self) -> Poll {
    /// #         self.note("poll");
    /// #         unsafe { self.inner.poll() }
    /// #     }
    /// #     unsafe fn enqueue(&mut self, sg: *mut Sudog) {
    /// #         self.note("enqueue");
    /// #         unsafe { self.inner.enqueue(sg) }
    /// #     }
    /// #     unsafe fn remove(&mut self, sg: *mut Sudog) {
    /// #         self.note("remove");
    /// #         unsafe { self.inner.remove(sg) }
    /// #     }
    /// #     unsafe fn woke(&mut self, success: bool) -> bool {
    /// #         self.note("woke");
    /// #         unsafe { self.inner.woke(success) }
    /// #     }
    /// #     fn fire(&mut self) {
    /// #         self.inner.fire()
    /// #     }
    /// #     fn spent(&self) -> bool {
    /// #         self.inner.spent()
    /// #     }
    /// # }
    ///
    /// gort::run(|| {
    ///     let (a, b) = (gort::chan::<i32>(0), gort::chan::<i32>(0));
    ///     let (log_a, log_b) = (Arc::default(), Arc::default());
    ///     let mut arm_a = Traced { inner: RecvArm::new(&a), log: Arc::clone(&log_a) };
    ///     let mut arm_b = Traced { inner: RecvArm::new(&b), log: Arc::clone(&log_b) };
    ///     let (tx, seen) = (b.clone(), Arc::clone(&log_b));
    ///     gort::go(move || {
    ///         while !seen.lock().unwrap().contains(&"enqueue") {
    ///             gort::runtime::gosched();
    ///         }
    ///         tx.send(7);
    ///     });
    ///     let i = selectgo(&mut [&mut arm_a, &mut arm_b], &mut [0; 2], &mut [0; 2], true);
    ///     assert_eq!(i, Some(1));
    ///     assert!(log_a.lock().unwrap().contains(&"remove")); // lost
    ///     assert!(!log_b.lock().unwrap().contains(&"remove")); // won
    /// });
    /// ```
    unsafe fn remove(&mut self, sg: *mut Sudog);
    /// Records the outcome of a wake-up on this arm. Returns false for a send woken by close.
    ///
    /// # Safety
    /// `success` may be true only if a peer completed this arm's operation through its
    /// sudog: a sender copied a value into a receive arm's slot, or a receiver took a send
    /// arm's value. A receive arm told `true` without a value would later read an
    /// uninitialised slot.
    ///
    /// # Examples
    ///
    /// `selectgo` calls it on the arm whose wake-up ended the wait; `false` means `close` did it:
    ///
    /// ```
    /// use gort::select::{Arm, RecvArm, SendArm};
    ///
    /// let c = gort::chan::<i32>(0);
    /// let mut recv = RecvArm::new(&c);
    /// // SAFETY: `false` claims no hand-off.
    /// assert!(unsafe { recv.woke(false) }); // a receive completes, seeing the channel closed
    /// recv.fire();
    /// assert_eq!(recv.into_outcome(), Some(None));
    /// let mut send = SendArm::new(&c, 1);
    /// // SAFETY: as above.
    /// assert!(!unsafe { send.woke(false) }); // a send panics "send on closed channel"
    /// ```
    unsafe fn woke(&mut self, success: bool) -> bool;
    /// Marks this arm as the chosen one.
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::select::{selectgo, Arm, RecvArm};
    ///
    /// let c = gort::chan::<i32>(1);
    /// c.try_send(3).unwrap();
    /// let mut arm = RecvArm::new(&c);
    /// assert_eq!(selectgo(&mut [&mut arm], &mut [0], &mut [0], false), Some(0));
    /// assert_eq!(arm.into_outcome(), None); // not marked: reads as "another arm won"
    /// let mut arm = RecvArm::new(&c);
    /// c.try_send(4).unwrap();
    /// assert_eq!(selectgo(&mut [&mut arm], &mut [0], &mut [0], false), Some(0));
    /// arm.fire();
    /// assert_eq!(arm.into_outcome(), Some(Some(4)));
    /// ```
    fn fire(&mut self);
    /// Whether the arm can never fire again (a send arm whose value was sent).
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::select::{selectgo, Arm, RecvArm, SendArm};
    ///
    /// let c = gort::chan::<i32>(1);
    /// let mut send = SendArm::new(&c, 1);
    /// assert!(!send.spent());
    /// assert_eq!(selectgo(&mut [&mut send], &mut [0], &mut [0], false), Some(0));
    /// assert!(send.spent()); // the value is in `c`'s buffer
    /// assert!(!RecvArm::new(&c).spent()); // a receive arm can always fire again
    /// assert_eq!(c.try_recv(), Ok(1));
    /// ```
    fn spent(&self) -> bool {
        false
    }
}

/// An arm on the nil channel: never ready. Stands in for disabled arms of a dynamic select.
pub(crate) struct NilArm;

// SAFETY: no channel, so nothing is ever enqueued.
unsafe impl Arm for NilArm {
    fn chan(&self) -> Option<(usize, &RawLock)> {
        None
    }
    unsafe fn poll(&mut self) -> Poll {
        Poll::NotReady
    }
    unsafe fn enqueue(&mut self, _sg: *mut Sudog) {}
    unsafe fn remove(&mut self, _sg: *mut Sudog) {}
    unsafe fn woke(&mut self, _success: bool) -> bool {
        true
    }
    fn fire(&mut self) {}
}

/// A channel usable in a select arm: `Chan<T>`, `Sender<T>`, `Receiver<T>`, or a reference.
///
/// # Examples
///
/// ```
/// use gort::select::SelectChan;
///
/// // Takes a value if one is ready, from a `Chan`, a `Receiver` or a reference to either.
/// fn poll_one(c: impl SelectChan<i32>) -> Option<i32> {
///     gort::select! {
///         recv(c) -> v => v,
///         default => None,
///     }
/// }
///
/// let c = gort::chan::<i32>(2);
/// let (tx, rx) = c.clone().split();
/// tx.try_send(1).unwrap();
/// tx.try_send(2).unwrap();
/// assert_eq!(poll_one(&rx), Some(1));
/// assert_eq!(poll_one(c), Some(2));
/// assert_eq!(poll_one(rx), None);
/// ```
pub trait SelectChan<T> {
    /// The channel.
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::select::SelectChan;
    ///
    /// let c = gort::chan::<i32>(0);
    /// let (tx, rx) = c.clone().split();
    /// assert_eq!(tx.as_chan(), &c);
    /// assert_eq!(rx.as_chan(), &c); // both views are the same channel
    /// ```
    fn as_chan(&self) -> &Chan<T>;
}

impl<T> SelectChan<T> for Chan<T> {
    fn as_chan(&self) -> &Chan<T> {
        self
    }
}

impl<T> SelectChan<T> for Sender<T> {
    fn as_chan(&self) -> &Chan<T> {
        &self.c
    }
}

impl<T> SelectChan<T> for Receiver<T> {
    fn as_chan(&self) -> &Chan<T> {
        &self.c
    }
}

impl<T, C: SelectChan<T> + ?Sized> SelectChan<T> for &C {
    fn as_chan(&self) -> &Chan<T> {
        (**self).as_chan()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ArmState {
    Pending,
    /// Receive: a value is in the slot. Send: the value was sent.
    Done,
    /// Receive: the channel was closed.
    Closed,
}

/// A receive arm: `recv(c) -> v`.
///
/// # Examples
///
/// What `recv(c) -> v` in [`select!`](crate::select!) builds:
///
/// ```
/// use gort::select::{selectgo, Arm, RecvArm};
///
/// gort::run(|| {
///     let c = gort::chan::<&str>(1);
///     c.send("hi");
///     let mut arm = RecvArm::new(&c);
///     let i = selectgo(&mut [&mut arm], &mut [0], &mut [0], true);
///     assert_eq!(i, Some(0));
///     arm.fire();
///     assert_eq!(arm.into_outcome(), Some(Some("hi")));
/// });
/// ```
pub struct RecvArm<'a, T> {
    c: Option<&'a HChan<T>>,
    slot: MaybeUninit<T>,
    state: ArmState,
    fired: bool,
}

impl<'a, T: Send> RecvArm<'a, T> {
    /// An arm receiving from `c`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::select::{selectgo, RecvArm};
    ///
    /// gort::run(|| {
    ///     let (tx, rx) = gort::chan::<i32>(1).split();
    ///     tx.send(1);
    ///     let nil = gort::Chan::<i32>::nil();
    ///     let mut from_nil = RecvArm::new(&nil); // never ready
    ///     let mut from_rx = RecvArm::new(&rx); // any `SelectChan`
    ///     let i = selectgo(&mut [&mut from_nil, &mut from_rx], &mut [0; 2], &mut [0; 2], true);
    ///     assert_eq!(i, Some(1));
    /// });
    /// ```
    pub fn new<C: SelectChan<T> + ?Sized>(c: &'a C) -> Self {
        RecvArm {
            c: c.as_chan().c.as_deref(),
            slot: MaybeUninit::uninit(),
            state: ArmState::Pending,
            fired: false,
        }
    }

    /// `Some(received)` if this arm was chosen (`received` is `None` if the channel was
    /// closed), `None` if another arm was.
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::select::{selectgo, Arm, RecvArm};
    ///
    /// gort::run(|| {
    ///     let (a, b) = (gort::chan::<i32>(1), gort::chan::<i32>(1));
    ///     b.close();
    ///     let (mut ra, mut rb) = (RecvArm::new(&a), RecvArm::new(&b));
    ///     let i = selectgo(&mut [&mut ra, &mut rb], &mut [0; 2], &mut [0; 2], true);
    ///     assert_eq!(i, Some(1)); // only the closed channel is ready
    ///     rb.fire();
    ///     assert_eq!(ra.into_outcome(), None); // not chosen
    ///     assert_eq!(rb.into_outcome(), Some(None)); // chosen; the channel was closed
    /// });
    /// ```
    pub fn into_outcome(mut self) -> Option<Option<T>> {
        self.take()
    }

    /// As `into_outcome`, leaving the arm ready for another select.
    pub(crate) fn take(&mut self) -> Option<Option<T>> {
        if !std::mem::replace(&mut self.fired, false) {
            return None;
        }
        let st = std::mem::replace(&mut self.state, ArmState::Pending);
        Some(match st {
            // SAFETY: `Done` means the slot holds a received value, moved out once here.
            ArmState::Done => Some(unsafe { self.slot.assume_init_read() }),
            _ => None,
        })
    }
}

impl<T> Drop for RecvArm<'_, T> {
    fn drop(&mut self) {
        if self.state == ArmState::Done {
            // SAFETY: `Done` means the slot holds a value nobody took.
            unsafe { self.slot.assume_init_drop() };
        }
    }
}

// SAFETY: `chan` is fixed at construction; `enqueue` points `elem` at `self.slot`, which lives
// as long as the arm (the arm stays on the parked G's stack, which never moves).
unsafe impl<T: Send> Arm for RecvArm<'_, T> {
    fn chan(&self) -> Option<(usize, &RawLock)> {
        self.c.map(|c| (c as *const HChan<T> as usize, c.lock()))
    }

    unsafe fn poll(&mut self) -> Poll {
        let c = self.c.expect("poll of a nil arm");
        // SAFETY: the lock is held (contract).
        match unsafe { c.recv_held() } {
            RecvHeld::Got(v, w) => {
                self.slot.write(v);
                self.state = ArmState::Done;
                Poll::Ready(w)
            }
            RecvHeld::Closed => {
                self.state = ArmState::Closed;
                Poll::Ready(None)
            }
            RecvHeld::Empty => Poll::NotReady,
        }
    }

    unsafe fn enqueue(&mut self, sg: *mut Sudog) {
        // SAFETY: the caller owns `sg`; the lock is held (contract).
        unsafe {
            (*sg).elem = self.slot.as_mut_ptr().cast();
            self.c.expect("enqueue of a nil arm").enqueue_recv(sg);
        }
    }

    unsafe fn remove(&mut self, sg: *mut Sudog) {
        // SAFETY: forwarded contract.
        unsafe { self.c.expect("remove of a nil arm").remove_recv(sg) }
    }

    unsafe fn woke(&mut self, success: bool) -> bool {
        self.state = if success {
            ArmState::Done
        } else {
            ArmState::Closed
        };
        true
    }

    fn fire(&mut self) {
        self.fired = true;
    }
}

/// A send arm: `send(c, v)`. The value is dropped if another arm is chosen.
///
/// # Examples
///
/// What `send(c, v)` in [`select!`](crate::select!) builds:
///
/// ```
/// use gort::select::{selectgo, Arm, SendArm};
///
/// gort::run(|| {
///     let c = gort::chan::<String>(1);
///     let mut arm = SendArm::new(&c, "hi".to_string());
///     assert_eq!(selectgo(&mut [&mut arm], &mut [0], &mut [0], true), Some(0));
///     arm.fire();
///     assert_eq!(arm.into_outcome(), Some(()));
///     assert_eq!(c.recv().as_deref(), Some("hi"));
/// });
/// ```
pub struct SendArm<'a, T> {
    c: Option<&'a HChan<T>>,
    val: MaybeUninit<T>,
    state: ArmState,
    fired: bool,
}

impl<'a, T: Send> SendArm<'a, T> {
    /// An arm sending `v` on `c`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::select::{selectgo, SendArm};
    /// use std::sync::Arc;
    ///
    /// let v = Arc::new(0);
    /// let c = gort::chan::<Arc<i32>>(0); // unbuffered, no receiver: never ready
    /// let mut arm = SendArm::new(&c, Arc::clone(&v));
    /// assert_eq!(selectgo(&mut [&mut arm], &mut [0], &mut [0], false), None);
    /// drop(arm); // the value was not sent, so the arm drops it
    /// assert_eq!(Arc::strong_count(&v), 1);
    /// ```
    pub fn new<C: SelectChan<T> + ?Sized>(c: &'a C, v: T) -> Self {
        SendArm {
            c: c.as_chan().c.as_deref(),
            val: MaybeUninit::new(v),
            state: ArmState::Pending,
            fired: false,
        }
    }

    /// `Some(())` if this arm was chosen (the value was sent).
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::select::{selectgo, Arm, SendArm};
    ///
    /// let (a, b) = (gort::chan::<i32>(1), gort::chan::<i32>(0));
    /// let (mut sa, mut sb) = (SendArm::new(&a, 1), SendArm::new(&b, 2));
    /// let i = selectgo(&mut [&mut sa, &mut sb], &mut [0; 2], &mut [0; 2], false);
    /// assert_eq!(i, Some(0)); // `b` has no room and no receiver
    /// sa.fire();
    /// assert_eq!(sa.into_outcome(), Some(()));
    /// assert_eq!(sb.into_outcome(), None); // not sent
    /// assert_eq!(a.try_recv(), Ok(1));
    /// ```
    pub fn into_outcome(self) -> Option<()> {
        self.fired.then_some(())
    }
}

impl<T> Drop for SendArm<'_, T> {
    fn drop(&mut self) {
        if self.state == ArmState::Pending {
            // SAFETY: `Pending` means the value is still ours.
            unsafe { self.val.assume_init_drop() };
        }
    }
}

// SAFETY: as for `RecvArm`, with `elem` pointing at `self.val`.
unsafe impl<T: Send> Arm for SendArm<'_, T> {
    fn chan(&self) -> Option<(usize, &RawLock)> {
        self.c.map(|c| (c as *const HChan<T> as usize, c.lock()))
    }

    fn spent(&self) -> bool {
        self.state == ArmState::Done
    }

    unsafe fn poll(&mut self) -> Poll {
        let c = self.c.expect("poll of a nil arm");
        // SAFETY: `Pending` (we are polling) means the value is ours to move out; it is put
        // back if the send cannot happen.
        let v = unsafe { self.val.assume_init_read() };
        // SAFETY: the lock is held (contract).
        match unsafe { c.send_held(v) } {
            SendHeld::Done(w) => {
                self.state = ArmState::Done;
                Poll::Ready(w)
            }
            SendHeld::Full(v) => {
                self.val.write(v);
                Poll::NotReady
            }
            SendHeld::Closed(v) => {
                self.val.write(v);
                Poll::SendOnClosed
            }
        }
    }

    unsafe fn enqueue(&mut self, sg: *mut Sudog) {
        // SAFETY: the caller owns `sg`; the lock is held (contract).
        unsafe {
            (*sg).elem = self.val.as_mut_ptr().cast();
            self.c.expect("enqueue of a nil arm").enqueue_send(sg);
        }
    }

    unsafe fn remove(&mut self, sg: *mut Sudog) {
        // SAFETY: forwarded contract.
        unsafe { self.c.expect("remove of a nil arm").remove_send(sg) }
    }

    unsafe fn woke(&mut self, success: bool) -> bool {
        if success {
            // The receiver moved the value out of `val`.
            self.state = ArmState::Done;
        }
        success
    }

    fn fire(&mut self) {
        self.fired = true;
    }
}

/// One arm's channel, read once per `selectgo` (the address orders the locks; 0 for a nil arm).
#[derive(Clone, Copy)]
struct ChanRef {
    addr: usize,
    lock: *const RawLock,
}

impl ChanRef {
    const NIL: ChanRef = ChanRef {
        addr: 0,
        lock: std::ptr::null(),
    };

    fn lock(&self) -> &RawLock {
        // SAFETY: only non-nil arms are in the lock order, and an arm borrows its channel for
        // longer than the `selectgo` call that made this `ChanRef`, so the lock is alive.
        unsafe { &*self.lock }
    }
}

/// Arms in a `select!` (the macro's limit); `selectgo` keeps their `ChanRef`s on its stack.
/// A larger dynamic select keeps them in a vector.
const STACK_ARMS: usize = 32;

fn sellock(chans: &[ChanRef], lockorder: &[u16]) {
    let mut last = 0;
    for &i in lockorder {
        let c = chans[i as usize];
        if c.addr != last {
            last = c.addr;
            c.lock().lock();
        }
    }
}

fn selunlock(chans: &[ChanRef], lockorder: &[u16]) {
    // Reverse order, each distinct channel once (Go unlocks the last of a run of duplicates).
    for k in (0..lockorder.len()).rev() {
        let c = chans[lockorder[k] as usize];
        if k > 0 && chans[lockorder[k - 1] as usize].addr == c.addr {
            continue;
        }
        c.lock().unlock();
    }
}

struct ParkArgs<'s> {
    chans: &'s [ChanRef],
    lockorder: &'s [u16],
}

/// # Safety
/// `arg` is a `ParkArgs` on the parked G's stack, whose channels that G locked.
unsafe fn selparkcommit(_gp: GPtr, arg: *mut ()) -> bool {
    // SAFETY: per the contract; the G is parked so nothing else uses its stack.
    let a = unsafe { &*(arg as *const ParkArgs<'_>) };
    selunlock(a.chans, a.lockorder);
    true
}

/// Go's `selectgo`: picks one ready arm at random, or (if `block`) waits for one. Returns the
/// chosen arm's index, or `None` if `!block` and nothing was ready. `pollorder` and
/// `lockorder` are scratch space at least `arms.len()` long. It does not mark the chosen arm:
/// the caller calls its `fire`.
///
/// # Panics
/// "send on closed channel" if the chosen arm sends on a closed channel; if it must wait
/// outside a goroutine.
///
/// # Examples
///
/// ```
/// use gort::select::{selectgo, RecvArm, SendArm};
///
/// gort::run(|| {
///     let (a, b) = (gort::chan::<i32>(0), gort::chan::<i32>(1));
///     let mut recv_a = RecvArm::new(&a); // not ready: nobody sends on `a`
///     let mut send_b = SendArm::new(&b, 1); // ready: `b` has room
///     let (mut poll, mut lock) = ([0; 2], [0; 2]);
///     let i = selectgo(&mut [&mut recv_a, &mut send_b], &mut poll, &mut lock, true);
///     assert_eq!(i, Some(1));
///     assert_eq!(b.recv(), Some(1));
///     // Not blocking, nothing ready: no arm (Go's `default`).
///     let mut recv_a = RecvArm::new(&a);
///     assert_eq!(selectgo(&mut [&mut recv_a], &mut [0], &mut [0], false), None);
/// });
/// ```
#[track_caller]
pub fn selectgo(
    arms: &mut [&mut dyn Arm],
    pollorder: &mut [u16],
    lockorder: &mut [u16],
    block: bool,
) -> Option<usize> {
    let n = arms.len();
    assert!(n <= u16::MAX as usize && pollorder.len() >= n && lockorder.len() >= n);
    // Each arm's channel, read once (a virtual call per arm, not one per use). Left
    // uninitialised on the stack (zeroing 32 entries would cost a memset per select); the
    // loop below writes entries 0..n before anything reads them.
    let mut on_stack = [const { MaybeUninit::<ChanRef>::uninit() }; STACK_ARMS];
    let mut on_heap = Vec::new();
    let slots: &mut [MaybeUninit<ChanRef>] = if n <= STACK_ARMS {
        &mut on_stack[..n]
    } else {
        on_heap.resize(n, MaybeUninit::new(ChanRef::NIL));
        &mut on_heap
    };
    // 1. Poll order: a uniform shuffle of the non-nil arms (inside-out Fisher-Yates; the first
    //    arm needs no random number: its slot can only be 0).
    let mut norder = 0usize;
    for (i, arm) in arms.iter().enumerate() {
        let Some((addr, lock)) = arm.chan() else {
            slots[i].write(ChanRef::NIL);
            continue;
        };
        slots[i].write(ChanRef { addr, lock });
        let j = if norder == 0 {
            0
        } else {
            cheaprandn(norder as u32 + 1) as usize
        };
        pollorder[norder] = pollorder[j];
        pollorder[j] = i as u16;
        norder += 1;
    }
    let pollorder = &pollorder[..norder];
    // SAFETY: the loop above wrote every one of the `n` slots, and `ChanRef` is plain data.
    let chans: &[ChanRef] =
        unsafe { &*(slots as *const [MaybeUninit<ChanRef>] as *const [ChanRef]) };
    // 2. Lock order: by channel address. Insertion sort straight from the poll order (selects
    //    have a handful of arms; Go uses a heap sort for its n log n bound, which matters only
    //    for huge dynamic selects).
    let lockorder = &mut lockorder[..norder];
    if norder <= STACK_ARMS {
        for (k, &idx) in pollorder.iter().enumerate() {
            let key = chans[idx as usize].addr;
            let mut j = k;
            while j > 0 && chans[lockorder[j - 1] as usize].addr > key {
                lockorder[j] = lockorder[j - 1];
                j -= 1;
            }
            lockorder[j] = idx;
        }
    } else {
        lockorder.copy_from_slice(pollorder);
        lockorder.sort_unstable_by_key(|&i| chans[i as usize].addr);
    }
    let lockorder = &*lockorder;

    sellock(chans, lockorder);
    // 3. Pass 1: anything ready now?
    for &i in pollorder {
        // SAFETY: every channel is locked.
        match unsafe { arms[i as usize].poll() } {
            Poll::NotReady => continue,
            Poll::Ready(w) => {
                selunlock(chans, lockorder);
                if let Some(gp) = w {
                    goready(gp);
                }
                return Some(i as usize);
            }
            Poll::SendOnClosed => {
                selunlock(chans, lockorder);
                panic!("send on closed channel");
            }
        }
    }
    // 4. default.
    if !block {
        selunlock(chans, lockorder);
        return None;
    }
    let Some(gp) = getg() else {
        selunlock(chans, lockorder);
        outside_goroutine("block in select")
    };
    // 5. Pass 2: enqueue one sudog per arm, in lock order, chained through `waitlink`.
    // ORDERING: no waker can see our sudogs until we unlock (after parking), which publishes
    // these stores.
    gp.selectdone.store(0, Ordering::Relaxed);
    gp.param.store(std::ptr::null_mut(), Ordering::Relaxed);
    let mut head: *mut Sudog = std::ptr::null_mut();
    let mut tail: *mut Sudog = std::ptr::null_mut();
    for &i in lockorder {
        let sg = acquire_sudog();
        // SAFETY: `sg` is ours; every channel is locked.
        unsafe {
            (*sg).g = Some(gp);
            (*sg).is_select = true;
            (*sg).success = false;
            (*sg).ticket = i as u32;
            (*sg).c = chans[i as usize].addr as *const ();
            arms[i as usize].enqueue(sg);
            if tail.is_null() {
                head = sg;
            } else {
                (*tail).waitlink = sg;
            }
        }
        tail = sg;
    }
    {
        let args = ParkArgs { chans, lockorder };
        // SAFETY: the channel list and orders stay on this G's stack while it is parked
        // (stacks never move); the unlock function only releases the channel locks this G
        // holds, after it is off its stack, and every sudog is on a queue guarded by one of
        // those locks.
        unsafe {
            gopark(
                Some(selparkcommit),
                &args as *const ParkArgs<'_> as *mut (),
                WaitReason::Select,
            )
        };
    }
    // 7. Pass 3: find the winner, dequeue the losers.
    sellock(chans, lockorder);
    // ORDERING: Acquire pairs with the waker's Release store of `param`.
    gp.selectdone.store(0, Ordering::Relaxed);
    let winner = gp.param.swap(std::ptr::null_mut(), Ordering::Acquire);
    let mut chosen = None;
    let mut success = false;
    let mut sg = head;
    for &i in lockorder {
        // SAFETY: `sg` walks the sudogs we enqueued, in the same lock order; every channel is
        // locked, so no waker touches them now.
        unsafe {
            let next = (*sg).waitlink;
            if sg == winner {
                chosen = Some(i as usize);
                success = (*sg).success;
            } else {
                arms[i as usize].remove(sg);
            }
            (*sg).waitlink = std::ptr::null_mut();
            release_sudog(sg);
            sg = next;
        }
    }
    selunlock(chans, lockorder);
    let i = chosen.unwrap_or_else(|| gort_runtime::throw!("selectgo: bad wakeup"));
    // SAFETY: `success` is the sudog's: true only if the peer completed the hand-off.
    if !unsafe { arms[i].woke(success) } {
        panic!("send on closed channel");
    }
    Some(i)
}

/// Runs a select over `arms` and marks the chosen arm (read back by `into_outcome`). Used by
/// `select!`.
#[doc(hidden)]
#[track_caller]
pub fn run_select(
    arms: &mut [&mut dyn Arm],
    pollorder: &mut [u16],
    lockorder: &mut [u16],
    block: bool,
) {
    if let Some(i) = selectgo(arms, pollorder, lockorder, block) {
        arms[i].fire();
    }
}

/// `select {}`: blocks the goroutine forever (Go's `block`).
#[doc(hidden)]
#[track_caller]
pub fn block_forever() -> ! {
    if getg().is_none() {
        outside_goroutine("block in an empty select");
    }
    loop {
        // SAFETY: no unlock function and no wait queue: nothing can ready this G.
        unsafe { gopark(None, std::ptr::null_mut(), WaitReason::SelectNoCases) };
    }
}

/// Go's `select` statement. Arms: `recv(c) -> v => body`, `send(c, v) => body`, and at most
/// one `default => body`. `v` is an `Option<T>` (`None`: closed). A body is a block (no comma
/// needed after it) or an expression followed by a comma.
///
/// Operands (channels and values to send) are evaluated once, in source order, before an arm
/// is chosen. Among ready arms one is chosen uniformly at random; without `default` the
/// goroutine parks until one is ready. Nil channels never become ready. The macro is an
/// expression, and `break`/`continue`/`return` in a body act on the enclosing code.
/// `select! {}` blocks forever.
///
/// ```
/// gort::run(|| {
///     let a = gort::chan::<i32>(1);
///     let b = gort::chan::<&str>(1);
///     b.send("hi");
///     let got = gort::select! {
///         recv(a) -> v => format!("a: {v:?}"),
///         recv(b) -> v => format!("b: {v:?}"),
///     };
///     assert_eq!(got, "b: Some(\"hi\")");
///     let r = gort::select! {
///         send(a, 7) => "sent",
///         default => "full",
///     };
///     assert_eq!(r, "sent");
/// });
/// ```
#[macro_export]
macro_rules! select {
    () => {
        $crate::select::block_forever()
    };
    ($($arms:tt)+) => {
        $crate::__select_parse!(
            (__gort_s0 __gort_s1 __gort_s2 __gort_s3 __gort_s4 __gort_s5 __gort_s6 __gort_s7
             __gort_s8 __gort_s9 __gort_s10 __gort_s11 __gort_s12 __gort_s13 __gort_s14
             __gort_s15 __gort_s16 __gort_s17 __gort_s18 __gort_s19 __gort_s20 __gort_s21
             __gort_s22 __gort_s23 __gort_s24 __gort_s25 __gort_s26 __gort_s27 __gort_s28
             __gort_s29 __gort_s30 __gort_s31)
            ()
            ()
            $($arms)+
        )
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __select_parse {
    // A comma left after a block body.
    (($($names:ident)*) ($($acc:tt)*) ($($def:tt)*) , $($rest:tt)*) => {
        $crate::__select_parse!(($($names)*) ($($acc)*) ($($def)*) $($rest)*)
    };
    // recv(c) -> v => { ... }
    (($name:ident $($names:ident)*) ($($acc:tt)*) ($($def:tt)*)
        recv($c:expr) -> $v:pat => $body:block $($rest:tt)*) => {
        $crate::__select_parse!(($($names)*) ($($acc)* [$name recv ($c) (()) ($v) $body])
            ($($def)*) $($rest)*)
    };
    // recv(c) -> v => expr,
    (($name:ident $($names:ident)*) ($($acc:tt)*) ($($def:tt)*)
        recv($c:expr) -> $v:pat => $body:expr $(, $($rest:tt)*)?) => {
        $crate::__select_parse!(($($names)*) ($($acc)* [$name recv ($c) (()) ($v) { $body }])
            ($($def)*) $($($rest)*)?)
    };
    // send(c, v) => { ... }
    (($name:ident $($names:ident)*) ($($acc:tt)*) ($($def:tt)*)
        send($c:expr, $val:expr) => $body:block $($rest:tt)*) => {
        $crate::__select_parse!(($($names)*) ($($acc)* [$name send ($c) ($val) (()) $body])
            ($($def)*) $($rest)*)
    };
    // send(c, v) => expr,
    (($name:ident $($names:ident)*) ($($acc:tt)*) ($($def:tt)*)
        send($c:expr, $val:expr) => $body:expr $(, $($rest:tt)*)?) => {
        $crate::__select_parse!(($($names)*) ($($acc)* [$name send ($c) ($val) (()) { $body }])
            ($($def)*) $($($rest)*)?)
    };
    // default => { ... }
    (($($names:ident)*) ($($acc:tt)*) () default => $body:block $($rest:tt)*) => {
        $crate::__select_parse!(($($names)*) ($($acc)*) ($body) $($rest)*)
    };
    // default => expr,
    (($($names:ident)*) ($($acc:tt)*) () default => $body:expr $(, $($rest:tt)*)?) => {
        $crate::__select_parse!(($($names)*) ($($acc)*) ({ $body }) $($($rest)*)?)
    };
    // Done: only default.
    (($($names:ident)*) () ($def:block)) => {
        $def
    };
    // Done.
    (($($names:ident)*) ($($acc:tt)+) ($($def:tt)*)) => {
        $crate::__select_expand!(($($acc)+) ($($def)*))
    };
    (($($names:ident)*) ($($acc:tt)*) ($($def:tt)*) $($bad:tt)+) => {
        ::core::compile_error!(
            "select!: expected `recv(c) -> v => body`, `send(c, v) => body` or `default => body` \
             (at most one default, at most 32 arms)"
        )
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __select_expand {
    (($([$name:ident $kind:ident ($c:expr) ($x:expr) ($p:pat) $body:block])+) ($($def:block)?)) => {
        // Operands are evaluated here, once, in source order; temporaries live to the end.
        match ($( (&$c, $x), )+) {
            ($($name,)+) => {
                $( let mut $name = $crate::__select_arm!($kind $name); )+
                {
                    let mut __gort_arms = [$(&mut $name as &mut dyn $crate::select::Arm),+];
                    let mut __gort_poll = [$($crate::__select_zero!($name)),+];
                    let mut __gort_lock = [$($crate::__select_zero!($name)),+];
                    $crate::select::run_select(
                        &mut __gort_arms,
                        &mut __gort_poll,
                        &mut __gort_lock,
                        $crate::__select_block!($($def)?),
                    );
                }
                $( let $name = $name.into_outcome(); )+
                $( if let ::core::option::Option::Some($p) = $name $body else )+
                { $crate::__select_default!($($def)?) }
            }
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __select_arm {
    (recv $name:ident) => {
        $crate::select::RecvArm::new($name.0)
    };
    (send $name:ident) => {
        $crate::select::SendArm::new($name.0, $name.1)
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __select_zero {
    ($name:ident) => {
        0u16
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __select_block {
    () => {
        true
    };
    ($def:block) => {
        false
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __select_default {
    () => {
        ::core::unreachable!("select!: no arm fired in a blocking select")
    };
    ($def:block) => {
        $def
    };
}
