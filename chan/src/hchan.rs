//! `HChan<T>`: Go's hchan. A lock, a ring buffer of `cap` slots, and the sendq/recvq of waiting
//! sudogs; send, receive and close with Go's semantics (`chan.go`).
//!
//! # Invariants (from chan.go)
//! - At least one of `sendq` and `recvq` is empty, except for a select that waits to send and
//!   receive on the same unbuffered channel.
//! - Buffered: `qcount > 0` implies `recvq` is empty; `qcount < cap` implies `sendq` is empty.
//! - Never ready a G while holding `lock`: wakers collect, unlock, then `goready`.
//! - A waiting sender's value lives in a slot on its own stack (`Sudog::elem`); a receiver (or
//!   the buffer) moves it out and sets `success`. A sender woken with `success == false` (by
//!   close) still owns its value, drops it and panics.
//! - `closed` and `qcount` have atomic mirrors written under the lock for lock-free readers
//!   (`len`, and checks that only need a hint).

use crate::waitq::WaitQ;
use gort_runtime::loom::{AtomicBool, AtomicUsize, Ordering};
use gort_runtime::rt::{
    acquire_sudog, getg, gopark, goready, maybe_preempt, outside_goroutine, release_sudog, GPtr,
    RawLock, Sudog, WaitReason,
};
use std::cell::UnsafeCell;
use std::mem::MaybeUninit;

/// Why a non-blocking send failed; the value comes back.
///
/// # Examples
///
/// ```
/// use gort::TrySendError;
///
/// let c = gort::chan::<i32>(0);
/// assert_eq!(c.try_send(1), Err(TrySendError::Full(1))); // no receiver is waiting
/// c.close();
/// let err = c.try_send(2).unwrap_err();
/// assert_eq!(err, TrySendError::Closed(2));
/// assert_eq!(err.to_string(), "sending on a closed channel");
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TrySendError<T> {
    /// No receiver is waiting and the buffer is full (or the channel is unbuffered).
    Full(T),
    /// The channel is closed. (A blocking send would panic "send on closed channel".)
    Closed(T),
}

impl<T> TrySendError<T> {
    /// The value that was not sent.
    ///
    /// # Examples
    ///
    /// ```
    /// let c = gort::chan::<String>(0);
    /// let err = c.try_send("not sent".to_string()).unwrap_err();
    /// assert_eq!(err.into_inner(), "not sent");
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Full(v) | TrySendError::Closed(v) => v,
        }
    }

    /// Whether the channel was full.
    ///
    /// # Examples
    ///
    /// ```
    /// let c = gort::chan::<i32>(1);
    /// c.try_send(1).unwrap();
    /// assert!(c.try_send(2).unwrap_err().is_full());
    /// c.close();
    /// assert!(!c.try_send(3).unwrap_err().is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        matches!(self, TrySendError::Full(_))
    }

    /// Whether the channel was closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let c = gort::chan::<i32>(1);
    /// c.close();
    /// let err = c.try_send(1).unwrap_err();
    /// assert!(err.is_closed()); // a blocking send would have panicked
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self, TrySendError::Closed(_))
    }
}

impl<T> std::fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("Full(..)"),
            TrySendError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<T> std::fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("sending on a full channel"),
            TrySendError::Closed(_) => f.write_str("sending on a closed channel"),
        }
    }
}

impl<T> std::error::Error for TrySendError<T> {}

/// Why a non-blocking receive got nothing.
///
/// # Examples
///
/// ```
/// use gort::TryRecvError;
///
/// let c = gort::chan::<i32>(1);
/// assert_eq!(c.try_recv(), Err(TryRecvError::Empty));
/// c.close();
/// assert_eq!(c.try_recv(), Err(TryRecvError::Closed));
/// assert_eq!(TryRecvError::Closed.to_string(), "receiving on a closed channel");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryRecvError {
    /// No value is ready and the channel is open.
    Empty,
    /// The channel is closed and drained.
    Closed,
}

impl std::fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("receiving on an empty channel"),
            TryRecvError::Closed => f.write_str("receiving on a closed channel"),
        }
    }
}

impl std::error::Error for TryRecvError {}

struct State<T> {
    buf: Box<[MaybeUninit<T>]>,
    qcount: usize,
    sendx: usize,
    recvx: usize,
    closed: bool,
    recvq: WaitQ,
    sendq: WaitQ,
}

/// Go's hchan. See the module docs.
pub(crate) struct HChan<T> {
    lock: RawLock,
    st: UnsafeCell<State<T>>,
    cap: usize,
    /// Mirror of `State::closed`, written under `lock`.
    closed: AtomicBool,
    /// Mirror of `State::qcount`, written under `lock`.
    qcount: AtomicUsize,
}

// SAFETY: `st` is only touched with `lock` held; values of `T` move between goroutines, so
// `T: Send` is required and sufficient.
unsafe impl<T: Send> Sync for HChan<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Send for HChan<T> {}

/// # Safety
/// `arg` is the `RawLock` of a channel the parked G locked.
pub(crate) unsafe fn unlock_chan(_gp: GPtr, arg: *mut ()) -> bool {
    // SAFETY: per the contract.
    unsafe { &*(arg as *const RawLock) }.unlock();
    true
}

/// Outcome of a send attempted with the channel lock held.
pub(crate) enum SendHeld<T> {
    /// Sent (buffered, or handed to a receiver that must be readied after unlocking).
    Done(Option<GPtr>),
    /// Would block; the value comes back.
    Full(T),
    /// The channel is closed; the value comes back.
    Closed(T),
}

/// Outcome of a receive attempted with the channel lock held.
pub(crate) enum RecvHeld<T> {
    /// A value (from the buffer, or from a sender that must be readied after unlocking).
    Got(T, Option<GPtr>),
    /// Would block.
    Empty,
    /// Closed and drained.
    Closed,
}

/// Fills a parked waiter's sudog after its operation completed (`success`) or was cancelled
/// by close, and returns its G for `goready`.
///
/// # Safety
/// `sg` was just dequeued under the channel lock.
unsafe fn finish_waiter(sg: *mut Sudog, success: bool) -> GPtr {
    // SAFETY: per the contract the sudog is ours until its G is readied.
    unsafe {
        (*sg).success = success;
        let gp = (*sg).g.expect("queued sudog has a G");
        // ORDERING: Release pairs with the woken G's Acquire load of `param` (select).
        gp.param.store(sg, Ordering::Release);
        gp
    }
}

impl<T> HChan<T> {
    pub(crate) fn new(cap: usize) -> HChan<T> {
        let buf = (0..cap).map(|_| MaybeUninit::uninit()).collect();
        HChan {
            lock: RawLock::new(),
            st: UnsafeCell::new(State {
                buf,
                qcount: 0,
                sendx: 0,
                recvx: 0,
                closed: false,
                recvq: WaitQ::new(),
                sendq: WaitQ::new(),
            }),
            cap,
            closed: AtomicBool::new(false),
            qcount: AtomicUsize::new(0),
        }
    }

    /// # Safety
    /// `lock` must be held for the life of the reference.
    #[allow(clippy::mut_from_ref)]
    unsafe fn st(&self) -> &mut State<T> {
        // SAFETY: exclusive under the lock (contract).
        unsafe { &mut *self.st.get() }
    }

    pub(crate) fn lock(&self) -> &RawLock {
        &self.lock
    }

    pub(crate) fn cap(&self) -> usize {
        self.cap
    }

    pub(crate) fn len(&self) -> usize {
        // ORDERING: a snapshot, as Go's `len(c)`.
        self.qcount.load(Ordering::Relaxed)
    }

    /// Sends with the lock held (it stays held): hand off to a waiting receiver, or buffer.
    ///
    /// # Safety
    /// `lock` must be held.
    ///
    /// Go: the ready half of `chansend` / select's `send`/`bufsend` (chan.go, select.go).
    pub(crate) unsafe fn send_held(&self, v: T) -> SendHeld<T> {
        // SAFETY: the lock is held (contract).
        let st = unsafe { self.st() };
        if st.closed {
            return SendHeld::Closed(v);
        }
        // SAFETY: the lock is held.
        if let Some(sg) = unsafe { st.recvq.dequeue() } {
            // SAFETY: a dequeued receiver's `elem` points to an uninitialised `T` slot on its
            // parked stack (sudog invariant); we move `v` there.
            let gp = unsafe {
                (*sg).elem.cast::<T>().write(v);
                finish_waiter(sg, true)
            };
            return SendHeld::Done(Some(gp));
        }
        if st.qcount < self.cap {
            st.buf[st.sendx].write(v);
            st.sendx += 1;
            if st.sendx == self.cap {
                st.sendx = 0;
            }
            st.qcount += 1;
            // ORDERING: a mirror for `len`; the lock orders the real state.
            self.qcount.store(st.qcount, Ordering::Relaxed);
            return SendHeld::Done(None);
        }
        SendHeld::Full(v)
    }

    /// Receives with the lock held (it stays held).
    ///
    /// # Safety
    /// `lock` must be held.
    ///
    /// Go: the ready half of `chanrecv` / select's `recv`/`bufrecv`/`rclose`.
    pub(crate) unsafe fn recv_held(&self) -> RecvHeld<T> {
        // SAFETY: the lock is held (contract).
        let st = unsafe { self.st() };
        if st.closed && st.qcount == 0 {
            return RecvHeld::Closed;
        }
        // SAFETY: the lock is held.
        if let Some(sg) = unsafe { st.sendq.dequeue() } {
            // SAFETY: a dequeued sender's `elem` holds an initialised `T` on its parked stack;
            // we move it out and mark success so the sender does not drop it.
            unsafe {
                let from = (*sg).elem.cast::<T>().read();
                let v = if self.cap == 0 {
                    from
                } else {
                    // Full buffer: take the head, put the sender's value at the tail (which is
                    // the same slot), keeping FIFO order.
                    let v = st.buf[st.recvx].assume_init_read();
                    st.buf[st.recvx].write(from);
                    st.recvx += 1;
                    if st.recvx == self.cap {
                        st.recvx = 0;
                    }
                    st.sendx = st.recvx;
                    v
                };
                return RecvHeld::Got(v, Some(finish_waiter(sg, true)));
            }
        }
        if st.qcount > 0 {
            // SAFETY: slots in [recvx, recvx + qcount) are initialised.
            let v = unsafe { st.buf[st.recvx].assume_init_read() };
            st.recvx += 1;
            if st.recvx == self.cap {
                st.recvx = 0;
            }
            st.qcount -= 1;
            // ORDERING: a mirror for `len`.
            self.qcount.store(st.qcount, Ordering::Relaxed);
            return RecvHeld::Got(v, None);
        }
        RecvHeld::Empty
    }

    /// Puts a waiting sender's sudog on `sendq`.
    ///
    /// # Safety
    /// `lock` must be held; `sg` is valid, on no queue, and its `elem` holds a `T`.
    pub(crate) unsafe fn enqueue_send(&self, sg: *mut Sudog) {
        // SAFETY: per the contract.
        unsafe { self.st().sendq.enqueue(sg) }
    }

    /// Puts a waiting receiver's sudog on `recvq`.
    ///
    /// # Safety
    /// `lock` must be held; `sg` is valid, on no queue, and its `elem` is a `T` slot.
    pub(crate) unsafe fn enqueue_recv(&self, sg: *mut Sudog) {
        // SAFETY: per the contract.
        unsafe { self.st().recvq.enqueue(sg) }
    }

    /// Removes a select's losing sudog from `sendq` (or nothing, if a waker already popped it).
    ///
    /// # Safety
    /// `lock` must be held; `sg` was enqueued on this channel's `sendq`.
    pub(crate) unsafe fn remove_send(&self, sg: *mut Sudog) {
        // SAFETY: per the contract.
        unsafe { self.st().sendq.remove(sg) }
    }

    /// As `remove_send`, for `recvq`.
    ///
    /// # Safety
    /// As `remove_send`.
    pub(crate) unsafe fn remove_recv(&self, sg: *mut Sudog) {
        // SAFETY: per the contract.
        unsafe { self.st().recvq.remove(sg) }
    }

    /// Sends `v`, blocking the goroutine until a receiver takes it or there is buffer space.
    ///
    /// Go: `chansend` (chan.go).
    #[track_caller]
    pub(crate) fn send(&self, v: T) {
        self.lock.lock();
        // SAFETY: the lock is held.
        let v = match unsafe { self.send_held(v) } {
            SendHeld::Done(w) => {
                self.lock.unlock();
                if let Some(gp) = w {
                    goready(gp);
                }
                return maybe_preempt();
            }
            SendHeld::Closed(v) => {
                self.lock.unlock();
                drop(v);
                panic!("send on closed channel");
            }
            SendHeld::Full(v) => v,
        };
        let Some(gp) = getg() else {
            self.lock.unlock();
            drop(v);
            outside_goroutine("send on a channel that is not ready")
        };
        let mut slot = MaybeUninit::new(v);
        let sg = acquire_sudog();
        // SAFETY: the lock is held; `sg` is ours; `slot` lives on this G's stack until it is
        // readied, which happens only after the receiver has moved the value out (or close
        // has marked failure).
        unsafe {
            (*sg).elem = slot.as_mut_ptr().cast();
            (*sg).g = Some(gp);
            (*sg).c = self as *const Self as *const ();
            (*sg).success = false;
            self.enqueue_send(sg);
            gopark(
                Some(unlock_chan),
                &self.lock as *const RawLock as *mut (),
                WaitReason::ChanSend,
            );
        }
        // SAFETY: we were dequeued before being readied, so the sudog is ours again.
        let success = unsafe { (*sg).success };
        // SAFETY: `sg` is on no queue.
        unsafe { release_sudog(sg) };
        if !success {
            // SAFETY: a failed send leaves the value in our slot untouched.
            unsafe { slot.assume_init_drop() };
            panic!("send on closed channel");
        }
    }

    /// Sends without blocking.
    pub(crate) fn try_send(&self, v: T) -> Result<(), TrySendError<T>> {
        self.lock.lock();
        // SAFETY: the lock is held.
        let r = unsafe { self.send_held(v) };
        self.lock.unlock();
        match r {
            SendHeld::Done(w) => {
                if let Some(gp) = w {
                    goready(gp);
                }
                Ok(())
            }
            SendHeld::Full(v) => Err(TrySendError::Full(v)),
            SendHeld::Closed(v) => Err(TrySendError::Closed(v)),
        }
    }

    /// Receives a value, blocking the goroutine until one is available; `None` once the channel
    /// is closed and drained.
    ///
    /// Go: `chanrecv` (chan.go).
    #[track_caller]
    pub(crate) fn recv(&self) -> Option<T> {
        self.lock.lock();
        // SAFETY: the lock is held.
        match unsafe { self.recv_held() } {
            RecvHeld::Got(v, w) => {
                self.lock.unlock();
                if let Some(gp) = w {
                    goready(gp);
                }
                maybe_preempt();
                return Some(v);
            }
            RecvHeld::Closed => {
                self.lock.unlock();
                return None;
            }
            RecvHeld::Empty => {}
        }
        let Some(gp) = getg() else {
            self.lock.unlock();
            outside_goroutine("receive from a channel that is not ready")
        };
        let mut slot = MaybeUninit::<T>::uninit();
        let sg = acquire_sudog();
        // SAFETY: as in `send`: `slot` outlives the wait, and only a waker holding the lock
        // writes it before readying us.
        unsafe {
            (*sg).elem = slot.as_mut_ptr().cast();
            (*sg).g = Some(gp);
            (*sg).c = self as *const Self as *const ();
            (*sg).success = false;
            self.enqueue_recv(sg);
            gopark(
                Some(unlock_chan),
                &self.lock as *const RawLock as *mut (),
                WaitReason::ChanReceive,
            );
        }
        // SAFETY: dequeued before being readied; ours again.
        let success = unsafe { (*sg).success };
        // SAFETY: `sg` is on no queue.
        unsafe { release_sudog(sg) };
        if success {
            // SAFETY: a successful wake-up means the sender wrote the slot.
            Some(unsafe { slot.assume_init() })
        } else {
            None
        }
    }

    /// Receives without blocking.
    pub(crate) fn try_recv(&self) -> Result<T, TryRecvError> {
        self.lock.lock();
        // SAFETY: the lock is held.
        let r = unsafe { self.recv_held() };
        self.lock.unlock();
        match r {
            RecvHeld::Got(v, w) => {
                if let Some(gp) = w {
                    goready(gp);
                }
                Ok(v)
            }
            RecvHeld::Empty => Err(TryRecvError::Empty),
            RecvHeld::Closed => Err(TryRecvError::Closed),
        }
    }

    /// Closes the channel: waiting receivers get `None`, waiting senders panic.
    ///
    /// Go: `closechan` (chan.go).
    pub(crate) fn close(&self) {
        self.lock.lock();
        // SAFETY: the lock is held.
        let st = unsafe { self.st() };
        if st.closed {
            self.lock.unlock();
            panic!("close of closed channel");
        }
        st.closed = true;
        // ORDERING: a mirror for lock-free readers; the lock orders the real state.
        self.closed.store(true, Ordering::Release);
        let mut wake: Vec<GPtr> = Vec::new();
        // SAFETY: the lock is held; dequeued sudogs belong to parked Gs that cannot run until
        // we ready them, after unlocking.
        unsafe {
            while let Some(sg) = st.recvq.dequeue() {
                wake.push(finish_waiter(sg, false));
            }
            while let Some(sg) = st.sendq.dequeue() {
                wake.push(finish_waiter(sg, false));
            }
        }
        self.lock.unlock();
        for gp in wake {
            goready(gp);
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        // ORDERING: Acquire pairs with the Release in `close`.
        self.closed.load(Ordering::Acquire)
    }
}

impl<T> Drop for HChan<T> {
    fn drop(&mut self) {
        let st = self.st.get_mut();
        let mut i = st.recvx;
        for _ in 0..st.qcount {
            // SAFETY: slots in [recvx, recvx + qcount) are initialised; each is dropped once.
            unsafe { st.buf[i].assume_init_drop() };
            i += 1;
            if i == self.cap {
                i = 0;
            }
        }
    }
}
