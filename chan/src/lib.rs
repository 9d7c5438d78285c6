//! gort-chan: Go's channels. `Chan<T>` is a shared handle to an hchan (lock, ring buffer, sudog
//! wait queues); blocking operations park the goroutine, never the OS thread. Closing, nil
//! channels and their panics follow Go's spec word for word.
#![deny(
    missing_docs,
    unsafe_op_in_unsafe_fn,
    clippy::undocumented_unsafe_blocks,
    clippy::missing_safety_doc
)]

mod dynselect;
mod hchan;
pub mod select;
mod waitq;

pub use dynselect::Select;
pub use hchan::{TryRecvError, TrySendError};

use gort_runtime::rt::{getg, gopark, outside_goroutine, WaitReason};
use hchan::HChan;
use std::sync::Arc;

/// A channel: a shared, cloneable handle like Go's `chan T` value. Methods take `&self`.
/// `Chan::nil()` is Go's nil channel: sends and receives block forever, close panics.
///
/// # Examples
///
/// ```
/// gort::run(|| {
///     let c = gort::chan::<i32>(1);
///     let d = c.clone(); // the same channel, as when a Go channel value is copied
///     assert_eq!(c, d);
///     d.send(1);
///     assert_eq!(c.recv(), Some(1));
///     assert_ne!(c, gort::chan(1)); // another channel
///     assert_eq!(gort::Chan::<i32>::default(), gort::Chan::nil()); // the zero value is nil
/// });
/// ```
pub struct Chan<T> {
    c: Option<Arc<HChan<T>>>,
}

/// Makes a channel with `cap` buffer slots (0: unbuffered, a rendezvous). Go's `make(chan T, n)`.
///
/// # Examples
///
/// ```
/// gort::run(|| {
///     // Unbuffered: a send waits for a receiver.
///     let c = gort::chan::<&str>(0);
///     let tx = c.clone();
///     gort::go(move || tx.send("ping"));
///     assert_eq!(c.recv(), Some("ping"));
///     // Buffered: sends complete at once while there is room.
///     let b = gort::chan::<i32>(2);
///     b.send(1);
///     b.send(2);
///     assert_eq!((b.len(), b.cap()), (2, 2));
/// });
/// ```
pub fn chan<T: Send>(cap: usize) -> Chan<T> {
    Chan {
        c: Some(Arc::new(HChan::new(cap))),
    }
}

// A channel operation that panics (closed channel) unlocks first and leaves the hchan
// consistent, so a channel stays usable across `catch_unwind`, as Go's does across `recover`.
impl<T> std::panic::UnwindSafe for Chan<T> {}
impl<T> std::panic::RefUnwindSafe for Chan<T> {}

impl<T> Clone for Chan<T> {
    fn clone(&self) -> Self {
        Chan { c: self.c.clone() }
    }
}

impl<T> PartialEq for Chan<T> {
    /// Channels are equal if they are the same channel (or both nil), as in Go.
    fn eq(&self, other: &Self) -> bool {
        match (&self.c, &other.c) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        }
    }
}

impl<T> Eq for Chan<T> {}

impl<T> std::fmt::Debug for Chan<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.c {
            Some(c) => write!(
                f,
                "Chan({:p}, len {}, cap {})",
                Arc::as_ptr(c),
                c.len(),
                c.cap()
            ),
            None => f.write_str("Chan(nil)"),
        }
    }
}

impl<T> Default for Chan<T> {
    /// The nil channel, as Go's zero value.
    fn default() -> Self {
        Chan::nil()
    }
}

#[cold]
#[track_caller]
fn block_forever(reason: WaitReason) -> ! {
    if getg().is_none() {
        outside_goroutine("use a nil channel (it blocks forever)");
    }
    loop {
        // SAFETY: no unlock function and no wait queue: nothing can ready this G.
        unsafe { gopark(None, std::ptr::null_mut(), reason) };
    }
}

impl<T> Chan<T> {
    /// The nil channel.
    ///
    /// # Examples
    ///
    /// A nil channel is never ready, so in a select it disables its arm:
    ///
    /// ```
    /// gort::run(|| {
    ///     let off = gort::Chan::<i32>::nil();
    ///     let on = gort::chan::<i32>(1);
    ///     on.send(1);
    ///     let v = gort::select! {
    ///         recv(off) -> v => v,
    ///         recv(on) -> v => v,
    ///     };
    ///     assert_eq!(v, Some(1));
    ///     assert!(off.try_send(2).unwrap_err().is_full()); // a send would block forever
    /// });
    /// ```
    pub const fn nil() -> Chan<T> {
        Chan { c: None }
    }

    /// Whether this is the nil channel.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(gort::Chan::<i32>::nil().is_nil());
    /// assert!(gort::Chan::<i32>::default().is_nil());
    /// assert!(!gort::chan::<i32>(0).is_nil());
    /// ```
    pub fn is_nil(&self) -> bool {
        self.c.is_none()
    }

    /// Buffered values (Go's `len(c)`; 0 for nil).
    ///
    /// # Examples
    ///
    /// ```
    /// gort::run(|| {
    ///     let c = gort::chan::<i32>(3);
    ///     c.send(1);
    ///     c.send(2);
    ///     assert_eq!(c.len(), 2);
    ///     c.recv();
    ///     assert_eq!(c.len(), 1);
    ///     assert_eq!(gort::Chan::<i32>::nil().len(), 0);
    /// });
    /// ```
    pub fn len(&self) -> usize {
        self.c.as_ref().map_or(0, |c| c.len())
    }

    /// Whether no values are buffered.
    ///
    /// # Examples
    ///
    /// ```
    /// let c = gort::chan::<i32>(1);
    /// assert!(c.is_empty());
    /// c.try_send(1).unwrap();
    /// assert!(!c.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Buffer capacity (Go's `cap(c)`; 0 for nil).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(gort::chan::<i32>(8).cap(), 8);
    /// assert_eq!(gort::chan::<i32>(0).cap(), 0); // unbuffered
    /// assert_eq!(gort::Chan::<i32>::nil().cap(), 0);
    /// ```
    pub fn cap(&self) -> usize {
        self.c.as_ref().map_or(0, |c| c.cap())
    }

    /// Whether the channel has been closed (a snapshot; Go has no such query, use with care).
    ///
    /// # Examples
    ///
    /// ```
    /// gort::run(|| {
    ///     let c = gort::chan::<i32>(1);
    ///     c.send(1);
    ///     assert!(!c.is_closed());
    ///     c.close();
    ///     assert!(c.is_closed()); // closed, though a value is still buffered
    ///     assert_eq!(c.recv(), Some(1));
    ///     assert!(!gort::Chan::<i32>::nil().is_closed());
    /// });
    /// ```
    pub fn is_closed(&self) -> bool {
        self.c.as_ref().is_some_and(|c| c.is_closed())
    }
}

impl<T: Send> Chan<T> {
    /// Sends `v`, parking the goroutine until a receiver takes it or buffer space frees up.
    ///
    /// # Panics
    /// "send on closed channel" if the channel is or becomes closed while waiting; if it must
    /// wait outside a goroutine. On a nil channel, blocks forever.
    ///
    /// # Examples
    ///
    /// ```
    /// gort::run(|| {
    ///     let c = gort::chan::<i32>(0);
    ///     let rx = c.clone();
    ///     let h = gort::go(move || rx.recv());
    ///     c.send(7); // parks until the goroutine receives
    ///     assert_eq!(h.join().unwrap(), Some(7));
    ///     c.close();
    ///     let err = std::panic::catch_unwind(|| c.send(8)).unwrap_err();
    ///     assert_eq!(err.downcast_ref::<&str>(), Some(&"send on closed channel"));
    /// });
    /// ```
    #[track_caller]
    pub fn send(&self, v: T) {
        match &self.c {
            Some(c) => c.send(v),
            None => block_forever(WaitReason::ChanSendNilChan),
        }
    }

    /// Receives a value, parking the goroutine until one is ready. `None` means the channel is
    /// closed and drained (Go's `v, ok := <-c` with `ok == false`).
    ///
    /// # Panics
    /// If it must wait outside a goroutine. On a nil channel, blocks forever.
    ///
    /// # Examples
    ///
    /// ```
    /// gort::run(|| {
    ///     let c = gort::chan::<i32>(2);
    ///     c.send(1);
    ///     c.send(2);
    ///     c.close();
    ///     assert_eq!(c.recv(), Some(1)); // buffered values are still delivered after close
    ///     assert_eq!(c.recv(), Some(2));
    ///     assert_eq!(c.recv(), None); // closed and drained: Go's `ok == false`
    ///     assert_eq!(c.recv(), None);
    /// });
    /// ```
    #[track_caller]
    pub fn recv(&self) -> Option<T> {
        match &self.c {
            Some(c) => c.recv(),
            None => block_forever(WaitReason::ChanReceiveNilChan),
        }
    }

    /// Sends if a receiver is waiting or buffer space is free.
    ///
    /// # Errors
    /// `Full(v)` if the send would block (always, on nil); `Closed(v)` if the channel is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::TrySendError;
    ///
    /// let c = gort::chan::<i32>(1);
    /// assert_eq!(c.try_send(1), Ok(()));
    /// assert_eq!(c.try_send(2), Err(TrySendError::Full(2))); // the buffer is full
    /// c.close();
    /// assert_eq!(c.try_send(3), Err(TrySendError::Closed(3)));
    /// ```
    pub fn try_send(&self, v: T) -> Result<(), TrySendError<T>> {
        match &self.c {
            Some(c) => c.try_send(v),
            None => Err(TrySendError::Full(v)),
        }
    }

    /// Receives if a value is ready.
    ///
    /// # Errors
    /// `Empty` if the receive would block (always, on nil); `Closed` once closed and drained.
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::TryRecvError;
    ///
    /// let c = gort::chan::<i32>(1);
    /// assert_eq!(c.try_recv(), Err(TryRecvError::Empty));
    /// c.try_send(1).unwrap();
    /// c.close();
    /// assert_eq!(c.try_recv(), Ok(1)); // drains the buffer first
    /// assert_eq!(c.try_recv(), Err(TryRecvError::Closed));
    /// ```
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        match &self.c {
            Some(c) => c.try_recv(),
            None => Err(TryRecvError::Empty),
        }
    }

    /// Closes the channel. Waiting receivers get `None`; waiting senders panic.
    ///
    /// # Panics
    /// "close of nil channel"; "close of closed channel".
    ///
    /// # Examples
    ///
    /// ```
    /// use std::panic::catch_unwind;
    ///
    /// gort::run(|| {
    ///     let c = gort::chan::<i32>(0);
    ///     let rx = c.clone();
    ///     let h = gort::go(move || rx.recv()); // nothing is ever sent
    ///     c.close(); // wakes the receiver with `None`
    ///     assert_eq!(h.join().unwrap(), None);
    ///     assert!(catch_unwind(|| c.close()).is_err()); // "close of closed channel"
    ///     assert!(catch_unwind(|| gort::Chan::<i32>::nil().close()).is_err()); // "close of nil channel"
    /// });
    /// ```
    pub fn close(&self) {
        match &self.c {
            Some(c) => c.close(),
            None => panic!("close of nil channel"),
        }
    }

    /// Directional views: a `Sender` (send, close) and a `Receiver` (recv).
    ///
    /// # Examples
    ///
    /// ```
    /// gort::run(|| {
    ///     let (tx, rx) = gort::chan::<i32>(0).split();
    ///     gort::go(move || {
    ///         tx.send(1);
    ///         tx.close();
    ///     });
    ///     assert_eq!(rx.recv(), Some(1));
    ///     assert_eq!(rx.recv(), None);
    /// });
    /// ```
    pub fn split(self) -> (Sender<T>, Receiver<T>) {
        (Sender { c: self.clone() }, Receiver { c: self })
    }

    /// Iterates received values until the channel is closed and drained (Go's `for v := range c`).
    ///
    /// # Examples
    ///
    /// ```
    /// gort::run(|| {
    ///     let c = gort::chan::<i32>(0);
    ///     let tx = c.clone();
    ///     gort::go(move || {
    ///         for i in 1..=3 {
    ///             tx.send(i);
    ///         }
    ///         tx.close(); // ends the receiver's loop
    ///     });
    ///     let got: Vec<i32> = c.iter().collect();
    ///     assert_eq!(got, [1, 2, 3]);
    /// });
    /// ```
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { c: self }
    }
}

/// Iterator over received values; ends when the channel is closed and drained.
///
/// # Examples
///
/// ```
/// gort::run(|| {
///     let c = gort::chan::<i32>(3);
///     for i in 1..=3 {
///         c.send(i);
///     }
///     c.close();
///     let mut sum = 0;
///     for v in &c {
///         // Go's `for v := range c`
///         sum += v;
///     }
///     assert_eq!(sum, 6);
/// });
/// ```
pub struct Iter<'a, T> {
    c: &'a Chan<T>,
}

impl<T: Send> Iterator for Iter<'_, T> {
    type Item = T;
    #[track_caller]
    fn next(&mut self) -> Option<T> {
        self.c.recv()
    }
}

impl<'a, T: Send> IntoIterator for &'a Chan<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;
    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

/// The send-only view of a channel (Go's `chan<- T`).
///
/// # Examples
///
/// ```
/// fn produce(tx: gort::Sender<i32>) {
///     for i in 0..3 {
///         tx.send(i);
///     }
///     tx.close();
/// }
///
/// gort::run(|| {
///     let (tx, rx) = gort::chan::<i32>(0).split();
///     gort::go(move || produce(tx));
///     assert_eq!(rx.iter().collect::<Vec<_>>(), [0, 1, 2]);
/// });
/// ```
pub struct Sender<T> {
    c: Chan<T>,
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        Sender { c: self.c.clone() }
    }
}

impl<T> std::fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sender({:?})", self.c)
    }
}

impl<T: Send> Sender<T> {
    /// See [`Chan::send`].
    ///
    /// # Examples
    ///
    /// ```
    /// gort::run(|| {
    ///     let (tx, rx) = gort::chan::<&str>(1).split();
    ///     tx.send("hello");
    ///     assert_eq!(rx.recv(), Some("hello"));
    /// });
    /// ```
    #[track_caller]
    pub fn send(&self, v: T) {
        self.c.send(v)
    }
    /// See [`Chan::try_send`].
    ///
    /// # Errors
    /// As [`Chan::try_send`].
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = gort::chan::<String>(1).split();
    /// assert!(tx.try_send("a".to_string()).is_ok());
    /// let err = tx.try_send("b".to_string()).unwrap_err(); // full: the value comes back
    /// assert_eq!(err.into_inner(), "b");
    /// assert_eq!(rx.try_recv().as_deref(), Ok("a"));
    /// ```
    pub fn try_send(&self, v: T) -> Result<(), TrySendError<T>> {
        self.c.try_send(v)
    }
    /// See [`Chan::close`].
    ///
    /// # Examples
    ///
    /// ```
    /// gort::run(|| {
    ///     let (tx, rx) = gort::chan::<i32>(1).split();
    ///     tx.send(1);
    ///     tx.close();
    ///     assert_eq!(rx.recv(), Some(1));
    ///     assert_eq!(rx.recv(), None);
    /// });
    /// ```
    pub fn close(&self) {
        self.c.close()
    }
    /// Buffered values.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = gort::chan::<i32>(2).split();
    /// tx.try_send(1).unwrap();
    /// assert_eq!(tx.len(), 1);
    /// assert_eq!(rx.len(), 1); // one channel behind both views
    /// ```
    pub fn len(&self) -> usize {
        self.c.len()
    }
    /// Whether no values are buffered.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = gort::chan::<i32>(1).split();
    /// assert!(tx.is_empty());
    /// tx.try_send(1).unwrap();
    /// assert!(!tx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.c.is_empty()
    }
    /// Buffer capacity.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = gort::chan::<i32>(4).split();
    /// assert_eq!(tx.cap(), 4);
    /// ```
    pub fn cap(&self) -> usize {
        self.c.cap()
    }
}

/// The receive-only view of a channel (Go's `<-chan T`).
///
/// # Examples
///
/// ```
/// fn sum(rx: gort::Receiver<i32>) -> i32 {
///     rx.iter().sum()
/// }
///
/// gort::run(|| {
///     let (tx, rx) = gort::chan::<i32>(0).split();
///     let h = gort::go(move || sum(rx));
///     for i in 1..=4 {
///         tx.send(i);
///     }
///     tx.close();
///     assert_eq!(h.join().unwrap(), 10);
/// });
/// ```
pub struct Receiver<T> {
    c: Chan<T>,
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        Receiver { c: self.c.clone() }
    }
}

impl<T> std::fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Receiver({:?})", self.c)
    }
}

impl<T: Send> Receiver<T> {
    /// See [`Chan::recv`].
    ///
    /// # Examples
    ///
    /// ```
    /// gort::run(|| {
    ///     let (tx, rx) = gort::chan::<i32>(0).split();
    ///     gort::go(move || tx.send(5));
    ///     assert_eq!(rx.recv(), Some(5)); // parks until the goroutine sends
    /// });
    /// ```
    #[track_caller]
    pub fn recv(&self) -> Option<T> {
        self.c.recv()
    }
    /// See [`Chan::try_recv`].
    ///
    /// # Errors
    /// As [`Chan::try_recv`].
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::TryRecvError;
    ///
    /// let (tx, rx) = gort::chan::<i32>(1).split();
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.try_send(1).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// tx.close();
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    /// ```
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.c.try_recv()
    }
    /// Iterates until closed and drained.
    ///
    /// # Examples
    ///
    /// ```
    /// gort::run(|| {
    ///     let (tx, rx) = gort::chan::<char>(3).split();
    ///     for ch in ['g', 'o', '!'] {
    ///         tx.send(ch);
    ///     }
    ///     tx.close();
    ///     assert_eq!(rx.iter().collect::<String>(), "go!");
    /// });
    /// ```
    pub fn iter(&self) -> Iter<'_, T> {
        self.c.iter()
    }
    /// Buffered values.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = gort::chan::<i32>(2).split();
    /// tx.try_send(1).unwrap();
    /// tx.try_send(2).unwrap();
    /// assert_eq!(rx.len(), 2);
    /// rx.try_recv().unwrap();
    /// assert_eq!(rx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.c.len()
    }
    /// Whether no values are buffered.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = gort::chan::<i32>(1).split();
    /// tx.try_send(1).unwrap();
    /// assert!(!rx.is_empty());
    /// rx.try_recv().unwrap();
    /// assert!(rx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.c.is_empty()
    }
    /// Buffer capacity.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_tx, rx) = gort::chan::<i32>(0).split();
    /// assert_eq!(rx.cap(), 0); // unbuffered
    /// ```
    pub fn cap(&self) -> usize {
        self.c.cap()
    }
}

impl<'a, T: Send> IntoIterator for &'a Receiver<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;
    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}
