//! `context`: Go's context package. A `Context` carries a cancellation signal, a deadline and
//! request-scoped values down a tree of goroutines; cancelling a context cancels every context
//! derived from it. Its `done()` is a [`Chan<()>`] that is closed on cancellation, so it is a
//! `select!` arm like any other channel.
//!
//! ```
//! use gort::context::{self, ContextError};
//! use std::time::Duration;
//!
//! gort::run(|| {
//!     let (ctx, cancel) = context::with_timeout(&context::background(), Duration::from_millis(10));
//!     let never = gort::chan::<()>(0);
//!     gort::select! {
//!         recv(never) -> _ => unreachable!(),
//!         recv(ctx.done()) -> _ => assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded)),
//!     }
//!     cancel.cancel(); // releases the timer; cancelling again is a no-op
//! });
//! ```
//!
//! # Design
//! A `Context` is a cheap handle (an `Arc`, or nothing for `background()`/`todo()`). The
//! cancellable part of a context is a `CancelCore`: the done channel plus, under a short
//! `RawLock`, the error, the cause, the cores of the cancellable children and the deadline
//! timer. A core holds no pointer to its parent, so parent -> child links make no cycle; the
//! child's handle (and its `CancelFunc`) holds its parent. Value and `without_cancel` contexts
//! have no core; they find the nearest ancestor's.
//!
//! Deadlines are runtime timers whose callback runs on the timer thread, which is not a
//! goroutine: cancellation therefore never parks (it takes `RawLock`s and closes channels,
//! which never block).
//!
//! # Invariants
//! - `err` is set (under the core's lock) before `done` is closed, so once `done` is closed
//!   `err()` is `Some` (Go's guarantee); `err()` reads `None` while `done` is still open.
//! - A core is cancelled at most once: the first canceller sets `err`, takes the children and
//!   the timer, and only it closes `done` and cancels the children (with the same error and
//!   cause).
//! - A child registers with its parent's core under the parent's lock after checking `err`,
//!   so a child created concurrently with the parent's cancellation is either registered
//!   before the parent takes its children or sees the error and cancels itself.
//! - When a context is cancelled by its own `CancelFunc` or timer it removes itself from its
//!   parent's children (Go's `removeChild`); a context that is never cancelled stays
//!   registered until its parent is, as in Go: call the `CancelFunc`.
//!
//! # Lock order
//! A core's lock is taken alone; cancellation releases it before closing the channel, stopping
//! the timer and locking children or the parent.

use crate::locked::Locked;
use gort_chan::{chan, Chan};
use gort_runtime::loom::{AtomicU8, Ordering};
use gort_runtime::time::{after_call, TimerHandle};
use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Why a context is done: Go's `context.Canceled` and `context.DeadlineExceeded`, with Go's
/// messages ("context canceled", "context deadline exceeded").
///
/// # Examples
///
/// ```
/// use gort::context::{self, ContextError};
///
/// let (ctx, cancel) = context::with_cancel(&context::background());
/// cancel.cancel();
/// let err = ctx.err().unwrap();
/// assert_eq!(err, ContextError::Canceled);
/// assert_eq!(err.to_string(), "context canceled");
/// let io: std::io::Error = ContextError::DeadlineExceeded.into(); // for `?` in I/O code
/// assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ContextError {
    /// The context was cancelled (its `CancelFunc`, or an ancestor's, was called).
    Canceled,
    /// The context's deadline passed.
    DeadlineExceeded,
}

impl ContextError {
    /// Whether this is a timeout (Go's `DeadlineExceeded.Timeout()`).
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::context::ContextError;
    ///
    /// assert!(ContextError::DeadlineExceeded.is_timeout());
    /// assert!(!ContextError::Canceled.is_timeout());
    /// ```
    pub fn is_timeout(self) -> bool {
        self == ContextError::DeadlineExceeded
    }
}

impl fmt::Display for ContextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ContextError::Canceled => "context canceled",
            ContextError::DeadlineExceeded => "context deadline exceeded",
        })
    }
}

impl std::error::Error for ContextError {}

impl From<ContextError> for std::io::Error {
    /// `DeadlineExceeded` becomes `TimedOut`, `Canceled` becomes `Interrupted`.
    fn from(e: ContextError) -> std::io::Error {
        let kind = match e {
            ContextError::Canceled => std::io::ErrorKind::Interrupted,
            ContextError::DeadlineExceeded => std::io::ErrorKind::TimedOut,
        };
        std::io::Error::new(kind, e)
    }
}

/// The reason given for a cancellation (Go's `context.Cause`): any error. Without an explicit
/// cause it is the [`ContextError`] itself.
///
/// # Examples
///
/// ```
/// use gort::context::{self, Cause};
/// use std::sync::Arc;
///
/// let (ctx, cancel) = context::with_cancel_cause(&context::background());
/// let cause: Cause = Arc::new(std::io::Error::other("client went away"));
/// cancel.cancel(Some(cause));
/// assert_eq!(ctx.cause().unwrap().to_string(), "client went away");
/// ```
pub type Cause = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// A context: a cancellation signal, an optional deadline and values, shared down a tree of
/// goroutines. Cloning is cheap (a reference count); clones are the same context.
///
/// Made by [`background`], [`todo()`] and the `with_*` functions of this module.
///
/// # Examples
///
/// ```
/// use gort::context::{self, ContextError};
///
/// gort::run(|| {
///     let (ctx, cancel) = context::with_cancel(&context::background());
///     let workers: Vec<_> = (0..3)
///         .map(|_| {
///             let ctx = ctx.clone(); // the same context
///             gort::go(move || {
///                 ctx.done().recv(); // work until cancelled
///                 ctx.err()
///             })
///         })
///         .collect();
///     cancel.cancel(); // one call stops them all
///     for w in workers {
///         assert_eq!(w.join().unwrap(), Some(ContextError::Canceled));
///     }
/// });
/// ```
#[derive(Clone)]
pub struct Context {
    repr: Repr,
}

#[derive(Clone)]
enum Repr {
    Background,
    Todo,
    Node(Arc<Node>),
}

enum Node {
    /// `with_cancel`, `with_cancel_cause`, `with_deadline`, `with_timeout`.
    Cancel {
        parent: Context,
        core: Arc<CancelCore>,
        /// This context's own deadline (a timer context); `None` inherits the parent's.
        deadline: Option<Instant>,
    },
    /// `with_value`.
    Value {
        parent: Context,
        key: Box<dyn Any + Send + Sync>,
        key_type: &'static str,
        value: Box<dyn Any + Send + Sync>,
        value_type: &'static str,
    },
    /// `without_cancel`.
    WithoutCancel { parent: Context },
}

/// The cancellable state of a context. See the module docs.
struct CancelCore {
    /// Closed once, by the canceller that set `err`.
    done: Chan<()>,
    /// Protected by its `RawLock`; never held across a channel operation.
    state: Locked<CancelState>,
}

#[derive(Default)]
struct CancelState {
    err: Option<ContextError>,
    cause: Option<Cause>,
    /// Cancellable children, keyed by their core's address.
    children: HashMap<usize, Arc<CancelCore>>,
    /// The deadline timer, stopped on cancellation.
    timer: Option<TimerHandle>,
}

fn key_of(core: &Arc<CancelCore>) -> usize {
    Arc::as_ptr(core) as usize
}

impl CancelCore {
    fn new() -> Arc<CancelCore> {
        Arc::new(CancelCore {
            done: chan(0),
            state: Locked::new(CancelState::default()),
        })
    }

    /// Cancels this core and every descendant with `err` and `cause` (the error itself if
    /// `None`). Returns false if it was already cancelled. Iterative, so deep trees cannot
    /// overflow the goroutine's stack.
    ///
    /// Go: `cancelCtx.cancel` (context.go).
    fn cancel(self: &Arc<Self>, err: ContextError, cause: Option<Cause>) -> bool {
        let cause: Cause = cause.unwrap_or_else(|| Arc::new(err));
        let mut work = match self.cancel_one(err, &cause) {
            Some(children) => children,
            None => return false,
        };
        while let Some(child) = work.pop() {
            if let Some(grandchildren) = child.cancel_one(err, &cause) {
                work.extend(grandchildren);
            }
        }
        true
    }

    /// Cancels this core alone; returns its children for the caller to cancel, or `None` if it
    /// was already cancelled.
    fn cancel_one(&self, err: ContextError, cause: &Cause) -> Option<Vec<Arc<CancelCore>>> {
        let (children, timer) = {
            let mut st = self.state.lock();
            if st.err.is_some() {
                return None;
            }
            st.err = Some(err);
            st.cause = Some(cause.clone());
            (std::mem::take(&mut st.children), st.timer.take())
        };
        // Unlocked: `err` is visible to anyone who sees the channel closed.
        self.done.close();
        if let Some(t) = timer {
            t.stop();
        }
        Some(children.into_values().collect())
    }

    /// Registers `child` to be cancelled with this core, or cancels it now if this core
    /// already is.
    ///
    /// Go: `propagateCancel` (context.go).
    fn adopt(&self, child: &Arc<CancelCore>) {
        let inherited = {
            let mut st = self.state.lock();
            match st.err {
                Some(err) => Some((err, st.cause.clone())),
                None => {
                    st.children.insert(key_of(child), child.clone());
                    None
                }
            }
        };
        if let Some((err, cause)) = inherited {
            child.cancel(err, cause);
        }
    }

    /// Go: `removeChild` (context.go).
    fn remove_child(&self, child: &Arc<CancelCore>) {
        let removed = self.state.lock().children.remove(&key_of(child));
        drop(removed); // outside the lock: it may be the last reference
    }

    fn err(&self) -> Option<ContextError> {
        if !self.done.is_closed() {
            return None;
        }
        self.state.lock().err
    }
}

/// Cancels `core` and, if this call did it, unregisters it from its parent.
fn cancel_and_detach(
    core: &Arc<CancelCore>,
    parent: Option<&Arc<CancelCore>>,
    err: ContextError,
    cause: Option<Cause>,
) {
    if core.cancel(err, cause) {
        if let Some(p) = parent {
            p.remove_child(core);
        }
    }
}

/// The empty root context: never cancelled, no deadline, no values. Its `done()` is the nil
/// channel (a receive blocks forever), as in Go. Use it in `main`, tests and at the top of a
/// request tree.
///
/// # Examples
///
/// ```
/// use gort::context;
///
/// let ctx = context::background();
/// assert_eq!(ctx.err(), None);
/// assert_eq!(ctx.deadline(), None);
/// assert!(ctx.done().is_nil()); // never closed
/// assert_eq!(format!("{ctx:?}"), "context.Background");
/// ```
pub const fn background() -> Context {
    Context {
        repr: Repr::Background,
    }
}

/// Like [`background`], for code that has not decided which context to use yet (Go's
/// `context.TODO`).
///
/// # Examples
///
/// ```
/// use gort::context;
///
/// let ctx = context::todo(); // to be replaced by the caller's context
/// assert!(ctx.done().is_nil());
/// assert_eq!(format!("{ctx:?}"), "context.TODO");
/// ```
pub const fn todo() -> Context {
    Context { repr: Repr::Todo }
}

impl Default for Context {
    /// [`background`].
    fn default() -> Self {
        background()
    }
}

impl Context {
    fn node(&self) -> Option<&Node> {
        match &self.repr {
            Repr::Node(n) => Some(n),
            Repr::Background | Repr::Todo => None,
        }
    }

    /// The nearest cancellable ancestor's core (this context's own if it has one); `None` if
    /// this context can never be cancelled.
    fn cancel_core(&self) -> Option<&Arc<CancelCore>> {
        let mut cur = self;
        loop {
            match cur.node()? {
                Node::Cancel { core, .. } => return Some(core),
                Node::Value { parent, .. } => cur = parent,
                Node::WithoutCancel { .. } => return None,
            }
        }
    }

    /// A channel that is closed when this context is cancelled or its deadline passes. For a
    /// context that can never be cancelled ([`background`], [`todo()`], [`without_cancel`]) it
    /// is the nil channel, which never becomes ready. Every call returns the same channel.
    ///
    /// ```
    /// use gort::context;
    ///
    /// gort::run(|| {
    ///     let (ctx, cancel) = context::with_cancel(&context::background());
    ///     cancel.cancel();
    ///     assert_eq!(ctx.done().recv(), None); // closed
    ///     assert!(context::background().done().is_nil());
    /// });
    /// ```
    pub fn done(&self) -> Chan<()> {
        match self.cancel_core() {
            Some(core) => core.done.clone(),
            None => Chan::nil(),
        }
    }

    /// `None` while `done()` is open; once it is closed, why: [`ContextError::Canceled`] or
    /// [`ContextError::DeadlineExceeded`]. Stays the same afterwards.
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::context::{self, ContextError};
    ///
    /// let (ctx, cancel) = context::with_cancel(&context::background());
    /// assert_eq!(ctx.err(), None); // still running
    /// cancel.cancel();
    /// assert_eq!(ctx.err(), Some(ContextError::Canceled));
    /// ```
    pub fn err(&self) -> Option<ContextError> {
        self.cancel_core().and_then(|core| core.err())
    }

    /// Whether `done()` is closed (`err().is_some()`, without the lock).
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::context;
    ///
    /// let (ctx, cancel) = context::with_cancel(&context::background());
    /// let mut steps = 0;
    /// while !ctx.is_done() {
    ///     steps += 1; // a step of work, then check again
    ///     if steps == 3 {
    ///         cancel.cancel();
    ///     }
    /// }
    /// assert_eq!(steps, 3);
    /// ```
    pub fn is_done(&self) -> bool {
        self.cancel_core().is_some_and(|core| core.done.is_closed())
    }

    /// The time at which this context is cancelled by a deadline, if any (its own or an
    /// ancestor's, whichever is earlier).
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::context;
    /// use std::time::{Duration, Instant};
    ///
    /// gort::run(|| {
    ///     let d = Instant::now() + Duration::from_millis(5);
    ///     let (parent, cancel_parent) = context::with_deadline(&context::background(), d);
    ///     let (child, cancel_child) = context::with_timeout(&parent, Duration::from_millis(10));
    ///     assert_eq!(child.deadline(), Some(d)); // the parent's is earlier
    ///     let (plain, _c) = context::with_cancel(&context::background());
    ///     assert_eq!(plain.deadline(), None);
    ///     cancel_child.cancel();
    ///     cancel_parent.cancel();
    /// });
    /// ```
    pub fn deadline(&self) -> Option<Instant> {
        let mut cur = self;
        loop {
            match cur.node()? {
                Node::Cancel {
                    deadline: Some(d), ..
                } => return Some(*d),
                Node::Cancel { parent, .. } | Node::Value { parent, .. } => cur = parent,
                Node::WithoutCancel { .. } => return None,
            }
        }
    }

    /// The value stored under `key` by the nearest [`with_value`] ancestor that used an equal
    /// key of type `K`, if that value is a `V`. Keys of different types never match, so a
    /// private key type cannot collide with other packages' keys (Go's advice).
    ///
    /// ```
    /// use gort::context;
    ///
    /// #[derive(PartialEq)]
    /// struct RequestId;
    ///
    /// let ctx = context::with_value(&context::background(), RequestId, 42u64);
    /// let (child, _cancel) = context::with_cancel(&ctx);
    /// assert_eq!(child.value::<_, u64>(&RequestId), Some(&42));
    /// assert_eq!(child.value::<_, u32>(&RequestId), None); // stored as u64
    /// ```
    pub fn value<K, V>(&self, key: &K) -> Option<&V>
    where
        K: Any + PartialEq,
        V: Any,
    {
        let mut cur = self;
        loop {
            match cur.node()? {
                Node::Value {
                    parent,
                    key: k,
                    value,
                    ..
                } => {
                    if k.downcast_ref::<K>() == Some(key) {
                        return value.downcast_ref::<V>();
                    }
                    cur = parent;
                }
                Node::Cancel { parent, .. } | Node::WithoutCancel { parent } => cur = parent,
            }
        }
    }

    /// Why this context was cancelled (Go's `context.Cause(ctx)`): the cause given to a
    /// [`CancelCauseFunc`] or to `with_deadline_cause`/`with_timeout_cause`, inherited by
    /// descendants; otherwise the [`ContextError`] itself. `None` while not cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::context;
    ///
    /// let (ctx, cancel) = context::with_cancel(&context::background());
    /// assert!(ctx.cause().is_none());
    /// cancel.cancel();
    /// assert_eq!(ctx.cause().unwrap().to_string(), "context canceled"); // no explicit cause
    /// ```
    pub fn cause(&self) -> Option<Cause> {
        let core = self.cancel_core()?;
        let st = core.state.lock();
        st.cause.clone()
    }
}

impl fmt::Debug for Context {
    /// Go's `String()`: `context.Background.WithCancel.WithValue(K, V)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut chain = Vec::new();
        let mut cur = self;
        let root = loop {
            match &cur.repr {
                Repr::Background => break "context.Background",
                Repr::Todo => break "context.TODO",
                Repr::Node(n) => {
                    chain.push(&**n);
                    cur = match &**n {
                        Node::Cancel { parent, .. }
                        | Node::Value { parent, .. }
                        | Node::WithoutCancel { parent } => parent,
                    };
                }
            }
        };
        f.write_str(root)?;
        for n in chain.iter().rev() {
            match n {
                Node::Cancel {
                    deadline: Some(d), ..
                } => {
                    let now = Instant::now();
                    if *d >= now {
                        write!(f, ".WithDeadline([{:?}])", *d - now)?
                    } else {
                        write!(f, ".WithDeadline([-{:?}])", now - *d)?
                    }
                }
                Node::Cancel { .. } => f.write_str(".WithCancel")?,
                Node::Value {
                    key_type,
                    value_type,
                    ..
                } => write!(f, ".WithValue({key_type}, {value_type})")?,
                Node::WithoutCancel { .. } => f.write_str(".WithoutCancel")?,
            }
        }
        Ok(())
    }
}

/// Cancels the context it was returned with (Go's `CancelFunc`). Cloneable; every call after
/// the first does nothing. Dropping it does not cancel (as in Go, where an uncalled cancel
/// function leaks the context until its parent is cancelled): call [`CancelFunc::cancel`]
/// when the work is done, typically right after the goroutines using the context finish.
///
/// # Examples
///
/// ```
/// use gort::context;
///
/// gort::run(|| {
///     let (ctx, cancel) = context::with_cancel(&context::background());
///     let c = cancel.clone(); // any clone cancels the same context
///     let worker = gort::go(move || {
///         c.cancel(); // e.g. on finding the answer
///     });
///     worker.join().unwrap();
///     assert!(ctx.is_done());
///     cancel.cancel(); // the usual deferred call: a no-op now
/// });
/// ```
#[derive(Clone)]
pub struct CancelFunc {
    core: Arc<CancelCore>,
    parent: Option<Arc<CancelCore>>,
}

impl CancelFunc {
    /// Cancels the context and its descendants with [`ContextError::Canceled`], closes their
    /// `done()` channels, stops the deadline timer and unregisters the context from its
    /// parent. Never blocks.
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::context::{self, ContextError};
    ///
    /// let (parent, cancel_parent) = context::with_cancel(&context::background());
    /// let (child, cancel_child) = context::with_cancel(&parent);
    /// cancel_child.cancel(); // cancels downwards only
    /// assert_eq!(child.err(), Some(ContextError::Canceled));
    /// assert_eq!(parent.err(), None);
    /// cancel_parent.cancel();
    /// ```
    pub fn cancel(&self) {
        cancel_and_detach(
            &self.core,
            self.parent.as_ref(),
            ContextError::Canceled,
            None,
        );
    }
}

impl fmt::Debug for CancelFunc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CancelFunc({:p})", Arc::as_ptr(&self.core))
    }
}

/// Cancels the context it was returned with, recording a cause (Go's `CancelCauseFunc`).
///
/// # Examples
///
/// ```
/// use gort::context::{self, Cause, ContextError};
/// use std::sync::Arc;
///
/// let (ctx, cancel) = context::with_cancel_cause(&context::background());
/// let cause: Cause = Arc::new(std::io::Error::other("quota exceeded"));
/// cancel.cancel(Some(cause));
/// assert_eq!(ctx.err(), Some(ContextError::Canceled)); // `err` stays Go's error
/// assert_eq!(ctx.cause().unwrap().to_string(), "quota exceeded");
/// ```
#[derive(Clone, Debug)]
pub struct CancelCauseFunc {
    inner: CancelFunc,
}

impl CancelCauseFunc {
    /// As [`CancelFunc::cancel`], with `cause` reported by [`Context::cause`] on this context
    /// and its descendants (`None`: the cause is [`ContextError::Canceled`]). Only the first
    /// cancellation's cause is kept.
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::context::{self, Cause};
    /// use std::sync::Arc;
    ///
    /// let (parent, cancel) = context::with_cancel_cause(&context::background());
    /// let (child, _cancel_child) = context::with_cancel(&parent);
    /// let first: Cause = Arc::new(std::io::Error::other("first"));
    /// let second: Cause = Arc::new(std::io::Error::other("second"));
    /// cancel.cancel(Some(first));
    /// cancel.cancel(Some(second)); // too late: ignored
    /// assert_eq!(child.cause().unwrap().to_string(), "first"); // inherited
    /// ```
    pub fn cancel(&self, cause: Option<Cause>) {
        cancel_and_detach(
            &self.inner.core,
            self.inner.parent.as_ref(),
            ContextError::Canceled,
            cause,
        );
    }
}

/// Makes a cancellable node under `parent` and registers its core with the parent's.
fn new_cancel_ctx(parent: &Context, deadline: Option<Instant>) -> (Context, CancelFunc) {
    let core = CancelCore::new();
    let parent_core = parent.cancel_core().cloned();
    if let Some(pc) = &parent_core {
        pc.adopt(&core);
    }
    let ctx = Context {
        repr: Repr::Node(Arc::new(Node::Cancel {
            parent: parent.clone(),
            core: core.clone(),
            deadline,
        })),
    };
    (
        ctx,
        CancelFunc {
            core,
            parent: parent_core,
        },
    )
}

/// A child of `parent` that is cancelled when the returned [`CancelFunc`] is called or when
/// `parent` is cancelled, whichever happens first (Go's `context.WithCancel`).
///
/// ```
/// use gort::context::{self, ContextError};
///
/// let root = context::background();
/// let (parent, cancel_parent) = context::with_cancel(&root);
/// let (child, _cancel_child) = context::with_cancel(&parent);
/// cancel_parent.cancel();
/// assert_eq!(child.err(), Some(ContextError::Canceled));
/// ```
pub fn with_cancel(parent: &Context) -> (Context, CancelFunc) {
    new_cancel_ctx(parent, None)
}

/// Like [`with_cancel`], but the cancel function records a cause (Go's
/// `context.WithCancelCause`).
///
/// # Examples
///
/// ```
/// use gort::context::{self, Cause};
/// use std::sync::Arc;
///
/// gort::run(|| {
///     let (ctx, cancel) = context::with_cancel_cause(&context::background());
///     gort::go(move || {
///         let why: Cause = Arc::new(std::io::Error::other("upstream failed"));
///         cancel.cancel(Some(why));
///     });
///     ctx.done().recv();
///     assert_eq!(ctx.cause().unwrap().to_string(), "upstream failed");
/// });
/// ```
pub fn with_cancel_cause(parent: &Context) -> (Context, CancelCauseFunc) {
    let (ctx, inner) = new_cancel_ctx(parent, None);
    (ctx, CancelCauseFunc { inner })
}

/// A child of `parent` that is also cancelled, with [`ContextError::DeadlineExceeded`], once
/// `deadline` passes (Go's `context.WithDeadline`). If `parent`'s deadline is earlier, this is
/// [`with_cancel`]; if `deadline` has passed, the child is returned already cancelled.
///
/// Call the returned [`CancelFunc`] once the work is done: it releases the timer.
///
/// # Panics
/// If the deadline is in the future and this is called outside a goroutine (the timer belongs
/// to the running runtime).
///
/// # Examples
///
/// ```
/// use gort::context::{self, ContextError};
/// use std::time::{Duration, Instant};
///
/// gort::run(|| {
///     let soon = Instant::now() + Duration::from_millis(5);
///     let (ctx, cancel) = context::with_deadline(&context::background(), soon);
///     assert_eq!(ctx.deadline(), Some(soon));
///     ctx.done().recv(); // parks until the deadline passes
///     assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
///     cancel.cancel();
///
///     let (past, _cancel) = context::with_deadline(&context::background(), Instant::now());
///     assert!(past.is_done()); // a deadline already passed: done at once
/// });
/// ```
pub fn with_deadline(parent: &Context, deadline: Instant) -> (Context, CancelFunc) {
    with_deadline_cause(parent, deadline, None)
}

/// Like [`with_deadline`], with `cause` reported by [`Context::cause`] when the deadline passes
/// (Go's `context.WithDeadlineCause`).
///
/// # Panics
/// As [`with_deadline`].
///
/// # Examples
///
/// ```
/// use gort::context::{self, Cause, ContextError};
/// use std::sync::Arc;
/// use std::time::Instant;
///
/// let why: Cause = Arc::new(std::io::Error::other("backend too slow"));
/// let (ctx, cancel) =
///     context::with_deadline_cause(&context::background(), Instant::now(), Some(why));
/// assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
/// assert_eq!(ctx.cause().unwrap().to_string(), "backend too slow");
/// cancel.cancel();
/// ```
pub fn with_deadline_cause(
    parent: &Context,
    deadline: Instant,
    cause: Option<Cause>,
) -> (Context, CancelFunc) {
    if parent.deadline().is_some_and(|cur| cur < deadline) {
        // The parent's deadline is earlier; the new one would never fire.
        return with_cancel(parent);
    }
    let (ctx, cancel) = new_cancel_ctx(parent, Some(deadline));
    let now = Instant::now();
    if deadline <= now {
        cancel_and_detach(
            &cancel.core,
            cancel.parent.as_ref(),
            ContextError::DeadlineExceeded,
            cause,
        );
        return (ctx, cancel);
    }
    let (core, parent_core) = (cancel.core.clone(), cancel.parent.clone());
    let timer = after_call(
        deadline - now,
        Box::new(move || {
            // On the timer thread: never blocks (locks held briefly, channels closed).
            cancel_and_detach(
                &core,
                parent_core.as_ref(),
                ContextError::DeadlineExceeded,
                cause,
            );
        }),
    );
    let late = {
        let mut st = cancel.core.state.lock();
        if st.err.is_none() {
            st.timer = Some(timer);
            None
        } else {
            Some(timer) // cancelled meanwhile (by the parent, or the timer itself)
        }
    };
    if let Some(t) = late {
        t.stop();
    }
    (ctx, cancel)
}

/// [`with_deadline`] at now + `timeout` (Go's `context.WithTimeout`). A timeout too large
/// to represent as an `Instant` means no deadline.
///
/// ```
/// use gort::context::{self, ContextError};
/// use std::time::Duration;
///
/// gort::run(|| {
///     let (ctx, cancel) = context::with_timeout(&context::background(), Duration::from_millis(5));
///     ctx.done().recv(); // parks until the deadline
///     assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
///     assert_eq!(ctx.err().unwrap().to_string(), "context deadline exceeded");
///     cancel.cancel();
/// });
/// ```
///
/// # Panics
/// As [`with_deadline`].
pub fn with_timeout(parent: &Context, timeout: Duration) -> (Context, CancelFunc) {
    with_timeout_cause(parent, timeout, None)
}

/// [`with_deadline_cause`] at now + `timeout` (Go's `context.WithTimeoutCause`).
///
/// # Panics
/// As [`with_deadline`].
///
/// # Examples
///
/// ```
/// use gort::context::{self, Cause, ContextError};
/// use std::sync::Arc;
/// use std::time::Duration;
///
/// gort::run(|| {
///     let why: Cause = Arc::new(std::io::Error::other("no reply in time"));
///     let parent = context::background();
///     let (ctx, cancel) =
///         context::with_timeout_cause(&parent, Duration::from_millis(1), Some(why));
///     ctx.done().recv();
///     assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
///     assert_eq!(ctx.cause().unwrap().to_string(), "no reply in time");
///     cancel.cancel();
/// });
/// ```
pub fn with_timeout_cause(
    parent: &Context,
    timeout: Duration,
    cause: Option<Cause>,
) -> (Context, CancelFunc) {
    match Instant::now().checked_add(timeout) {
        Some(d) => with_deadline_cause(parent, d, cause),
        None => with_cancel(parent),
    }
}

/// A child of `parent` carrying `value` under `key` (Go's `context.WithValue`). Lookups walk
/// up the tree, so the nearest binding of an equal key wins. Use a private key type; keep
/// values to request-scoped data, not optional parameters.
///
/// # Examples
///
/// ```
/// use gort::context;
///
/// #[derive(PartialEq)]
/// struct User; // a private key type
///
/// let outer = context::with_value(&context::background(), User, "alice");
/// let inner = context::with_value(&outer, User, "bob");
/// assert_eq!(outer.value::<_, &str>(&User), Some(&"alice"));
/// assert_eq!(inner.value::<_, &str>(&User), Some(&"bob")); // the nearest binding wins
/// assert_eq!(context::background().value::<_, &str>(&User), None);
/// ```
pub fn with_value<K, V>(parent: &Context, key: K, value: V) -> Context
where
    K: Any + PartialEq + Send + Sync,
    V: Any + Send + Sync,
{
    Context {
        repr: Repr::Node(Arc::new(Node::Value {
            parent: parent.clone(),
            key: Box::new(key),
            key_type: std::any::type_name::<K>(),
            value: Box::new(value),
            value_type: std::any::type_name::<V>(),
        })),
    }
}

/// A child of `parent` with its values but never cancelled: no deadline, `done()` is the nil
/// channel, `err()` is `None` (Go's `context.WithoutCancel`). For work that must outlive the
/// request that started it.
///
/// # Examples
///
/// ```
/// use gort::context;
///
/// let (request, cancel) = context::with_cancel(&context::background());
/// let request = context::with_value(&request, "trace-id", 7u32);
/// let background_job = context::without_cancel(&request);
/// cancel.cancel();
/// assert!(request.is_done());
/// assert_eq!(background_job.err(), None); // not cancelled with the request
/// assert_eq!(background_job.value::<_, u32>(&"trace-id"), Some(&7)); // values are kept
/// ```
pub fn without_cancel(parent: &Context) -> Context {
    Context {
        repr: Repr::Node(Arc::new(Node::WithoutCancel {
            parent: parent.clone(),
        })),
    }
}

const AF_PENDING: u8 = 0;
const AF_RUNNING: u8 = 1;
const AF_STOPPED: u8 = 2;

/// Handle to a function registered with [`after_func`].
///
/// # Examples
///
/// ```
/// use gort::context;
///
/// gort::run(|| {
///     let (ctx, cancel) = context::with_cancel(&context::background());
///     let ran = gort::chan::<()>(0);
///     let r = ran.clone();
///     let handle = context::after_func(&ctx, move || r.close());
///     cancel.cancel();
///     ran.recv(); // the function ran
///     assert!(!handle.stop()); // too late to stop it
/// });
/// ```
#[derive(Clone, Debug)]
pub struct AfterFunc {
    state: Arc<AtomicU8>,
    stop: Chan<()>,
}

impl AfterFunc {
    /// Stops the function from running. Returns true if this call stopped it; false if it has
    /// already started or was already stopped (Go's `stop` returned by `context.AfterFunc`).
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::context;
    ///
    /// gort::run(|| {
    ///     let (ctx, cancel) = context::with_cancel(&context::background());
    ///     let handle = context::after_func(&ctx, || unreachable!("stopped before cancel"));
    ///     assert!(handle.stop()); // this call stopped it
    ///     assert!(!handle.stop()); // already stopped
    ///     cancel.cancel(); // the function does not run
    /// });
    /// ```
    pub fn stop(&self) -> bool {
        // ORDERING: Relaxed: the CAS only decides who wins; nothing is published through it.
        let won = self
            .state
            .compare_exchange(AF_PENDING, AF_STOPPED, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok();
        if won {
            self.stop.close();
        }
        won
    }
}

/// Runs `f` in its own goroutine once `ctx` is done, unless stopped first (Go's
/// `context.AfterFunc`). If `ctx` is already done, `f` starts at once.
///
/// Implemented as a goroutine parked in a `select!` on `ctx.done()` and the stop channel, so
/// it works whatever thread cancels the context (the timer thread cannot start goroutines).
/// That goroutine lives until the context is done or `stop` is called: on a context that is
/// never cancelled, call `stop` when the function is no longer wanted.
///
/// # Panics
/// Outside a goroutine.
///
/// # Examples
///
/// ```
/// use gort::context;
///
/// gort::run(|| {
///     let (ctx, cancel) = context::with_cancel(&context::background());
///     let log = gort::chan::<&str>(1);
///     let l = log.clone();
///     let _handle = context::after_func(&ctx, move || l.send("connection closed"));
///     cancel.cancel(); // starts the function in its own goroutine
///     assert_eq!(log.recv(), Some("connection closed"));
/// });
/// ```
pub fn after_func<F>(ctx: &Context, f: F) -> AfterFunc
where
    F: FnOnce() + Send + 'static,
{
    let state = Arc::new(AtomicU8::new(AF_PENDING));
    let stop = chan::<()>(0);
    let done = ctx.done();
    let (st, stopped) = (state.clone(), stop.clone());
    drop(gort_runtime::go(move || {
        gort_chan::select! {
            recv(done) -> _ => {
                // ORDERING: as in `AfterFunc::stop`.
                if st
                    .compare_exchange(AF_PENDING, AF_RUNNING, Ordering::Relaxed, Ordering::Relaxed)
                    .is_ok()
                {
                    f();
                }
            },
            recv(stopped) -> _ => {},
        }
    }));
    AfterFunc { state, stop }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn children(ctx: &Context) -> usize {
        ctx.cancel_core().unwrap().state.lock().children.len()
    }

    #[test]
    fn cancelled_children_leave_their_parent() {
        let (parent, cancel_parent) = with_cancel(&background());
        let (_a, cancel_a) = with_cancel(&parent);
        let v = with_value(&parent, "k", 1u8);
        let (_b, cancel_b) = with_cancel(&v); // registers with `parent`'s core through `v`
        let _c = without_cancel(&parent); // never registers
        assert_eq!(children(&parent), 2);
        cancel_a.cancel();
        assert_eq!(children(&parent), 1);
        cancel_a.cancel();
        cancel_b.cancel();
        assert_eq!(children(&parent), 0);
        cancel_parent.cancel();
    }

    #[test]
    fn parent_cancellation_takes_the_children() {
        let (parent, cancel_parent) = with_cancel(&background());
        let (child, _cancel_child) = with_cancel(&parent);
        let (_grandchild, _c) = with_cancel(&child);
        cancel_parent.cancel();
        assert_eq!(children(&parent), 0);
        assert_eq!(children(&child), 0);
        // A child made after the parent was cancelled is cancelled at once, not registered.
        let (late, _c) = with_cancel(&parent);
        assert_eq!(late.err(), Some(ContextError::Canceled));
        assert_eq!(children(&parent), 0);
    }

    #[test]
    fn deadline_timer_is_dropped_on_cancel() {
        gort_runtime::Builder::new().max_procs(1).run(|| {
            let (ctx, cancel) = with_timeout(&background(), Duration::from_secs(3600));
            assert!(ctx.cancel_core().unwrap().state.lock().timer.is_some());
            cancel.cancel();
            assert!(ctx.cancel_core().unwrap().state.lock().timer.is_none());
            assert_eq!(ctx.err(), Some(ContextError::Canceled));
        });
    }
}
