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
pub struct Chan<T> {
    c: Option<Arc<HChan<T>>>,
}

/// Makes a channel with `cap` buffer slots (0: unbuffered, a rendezvous). Go's `make(chan T, n)`.
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
    pub const fn nil() -> Chan<T> {
        Chan { c: None }
    }

    /// Whether this is the nil channel.
    pub fn is_nil(&self) -> bool {
        self.c.is_none()
    }

    /// Buffered values (Go's `len(c)`; 0 for nil).
    pub fn len(&self) -> usize {
        self.c.as_ref().map_or(0, |c| c.len())
    }

    /// Whether no values are buffered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Buffer capacity (Go's `cap(c)`; 0 for nil).
    pub fn cap(&self) -> usize {
        self.c.as_ref().map_or(0, |c| c.cap())
    }

    /// Whether the channel has been closed (a snapshot; Go has no such query, use with care).
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
    pub fn close(&self) {
        match &self.c {
            Some(c) => c.close(),
            None => panic!("close of nil channel"),
        }
    }

    /// Directional views: a `Sender` (send, close) and a `Receiver` (recv).
    pub fn split(self) -> (Sender<T>, Receiver<T>) {
        (Sender { c: self.clone() }, Receiver { c: self })
    }

    /// Iterates received values until the channel is closed and drained (Go's `for v := range c`).
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { c: self }
    }
}

/// Iterator over received values; ends when the channel is closed and drained.
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
    #[track_caller]
    pub fn send(&self, v: T) {
        self.c.send(v)
    }
    /// See [`Chan::try_send`].
    ///
    /// # Errors
    /// As [`Chan::try_send`].
    pub fn try_send(&self, v: T) -> Result<(), TrySendError<T>> {
        self.c.try_send(v)
    }
    /// See [`Chan::close`].
    pub fn close(&self) {
        self.c.close()
    }
    /// Buffered values.
    pub fn len(&self) -> usize {
        self.c.len()
    }
    /// Whether no values are buffered.
    pub fn is_empty(&self) -> bool {
        self.c.is_empty()
    }
    /// Buffer capacity.
    pub fn cap(&self) -> usize {
        self.c.cap()
    }
}

/// The receive-only view of a channel (Go's `<-chan T`).
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
    #[track_caller]
    pub fn recv(&self) -> Option<T> {
        self.c.recv()
    }
    /// See [`Chan::try_recv`].
    ///
    /// # Errors
    /// As [`Chan::try_recv`].
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.c.try_recv()
    }
    /// Iterates until closed and drained.
    pub fn iter(&self) -> Iter<'_, T> {
        self.c.iter()
    }
    /// Buffered values.
    pub fn len(&self) -> usize {
        self.c.len()
    }
    /// Whether no values are buffered.
    pub fn is_empty(&self) -> bool {
        self.c.is_empty()
    }
    /// Buffer capacity.
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
