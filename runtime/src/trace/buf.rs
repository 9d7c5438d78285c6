//! Per-thread event buffers for the execution trace, and the registry `stop` drains them from.
//!
//! Every thread that emits an event (an M, sysmon, a plain thread that readies a goroutine) gets
//! its own `Buf` on first use, registered once under `REGISTRY`'s lock. After that, emitting
//! takes only that buffer's own `RawLock`, which nobody else touches until `stop` drains it: no
//! lock or atomic shared between threads on the event path.
//!
//! # Invariants
//! - A thread's `Local` is read and written only by that thread, and only through the
//!   `#[inline(never)]` `with_local`, which never parks: a goroutine that migrates between Ms
//!   cannot carry a stale thread-local address across a switch (m.rs, invariant 11).
//! - `Buf::events` is touched only with `Buf::lock` held.
//! - Open intervals (`Local::run`, `sys`) carry the session they began in; an end in a
//!   later session (a trace stopped and restarted meanwhile) is dropped, not paired.

use super::event::Event;
use crate::lock::RawLock;
use std::cell::{Cell, UnsafeCell};
use std::sync::{Arc, Mutex};

/// Events one thread keeps before it drops new ones (about 48 MB); `stop` reports the drops.
pub(super) const MAX_EVENTS_PER_THREAD: usize = 1 << 20;

/// One thread's events.
pub(super) struct Buf {
    lock: RawLock,
    events: UnsafeCell<Vec<Event>>,
    /// Events dropped because the buffer was full. Protected by `lock`.
    dropped: UnsafeCell<u64>,
}

// SAFETY: `events` and `dropped` are only touched with `lock` held.
unsafe impl Sync for Buf {}
// SAFETY: as above.
unsafe impl Send for Buf {}

impl Buf {
    fn new() -> Buf {
        Buf {
            lock: RawLock::new(),
            events: UnsafeCell::new(Vec::new()),
            dropped: UnsafeCell::new(0),
        }
    }

    pub(super) fn push(&self, e: Event) {
        self.lock.lock();
        // SAFETY: `lock` is held.
        let events = unsafe { &mut *self.events.get() };
        if events.len() < MAX_EVENTS_PER_THREAD {
            events.push(e);
        } else {
            // SAFETY: `lock` is held.
            unsafe { *self.dropped.get() += 1 };
        }
        self.lock.unlock();
    }

    /// Takes every event and the drop count, leaving the buffer empty.
    fn drain(&self) -> (Vec<Event>, u64) {
        self.lock.lock();
        // SAFETY: `lock` is held.
        let events = std::mem::take(unsafe { &mut *self.events.get() });
        // SAFETY: `lock` is held.
        let dropped = std::mem::replace(unsafe { &mut *self.dropped.get() }, 0);
        self.lock.unlock();
        (events, dropped)
    }
}

/// Every thread's buffer, in registration order. Locked on a thread's first event and by
/// `drain_all`; never on the event path after that.
static REGISTRY: Mutex<Vec<Arc<Buf>>> = Mutex::new(Vec::new());

/// An interval a thread has begun and not yet ended.
#[derive(Clone, Copy)]
pub(super) struct Open<T: Copy> {
    pub session: u32,
    pub start: u64,
    pub what: T,
}

/// One thread's trace state.
pub(super) struct Local {
    pub buf: Arc<Buf>,
    /// The goroutine this M is running: (goid, P id, M id).
    pub run: Cell<Option<Open<(u64, u32, i64)>>>,
    /// The goroutine in a blocking call on this thread: (goid, M id).
    pub sys: Cell<Option<Open<(u64, i64)>>>,
}

thread_local! {
    static LOCAL: Local = {
        let buf = Arc::new(Buf::new());
        REGISTRY
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(buf.clone());
        Local {
            buf,
            run: Cell::new(None),
            sys: Cell::new(None),
        }
    };
}

/// Runs `f` on this thread's trace state. Does nothing on a thread being torn down.
#[inline(never)]
pub(super) fn with_local(f: impl FnOnce(&Local)) {
    let _ = LOCAL.try_with(f);
}

/// Takes every thread's events, and how many were dropped in all. Buffers of threads that have
/// exited are drained one last time and forgotten.
pub(super) fn drain_all() -> (Vec<Event>, u64) {
    let mut reg = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
    let mut all = Vec::new();
    let mut dropped = 0;
    for b in reg.iter() {
        let (mut e, d) = b.drain();
        all.append(&mut e);
        dropped += d;
    }
    // Only the registry holds the buffer of an exited thread.
    reg.retain(|b| Arc::strong_count(b) > 1);
    (all, dropped)
}
