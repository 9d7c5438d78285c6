//! Sudog: a G waiting on a wait queue (a channel's sendq/recvq, a semaphore root). Cached per P
//! (128, half moved to or from the central cache on overflow or refill), so a blocking operation
//! allocates nothing in steady state.
//!
//! # Invariants
//! - A sudog is on at most one wait queue, and its fields are written only under the lock of
//!   that queue (or by its owning G before it is enqueued and after it is dequeued).
//! - `elem` may point into the waiting G's stack; that is sound because goroutine stacks never
//!   move and the G cannot run (so the slot cannot die) until it is readied, which happens only
//!   after the waker is done with `elem`.
//! - A sudog returned to a cache has `g`, `elem`, `c`, `next`, `prev`, `waitlink` cleared and
//!   `is_select` false (checked in debug builds, as Go's `releaseSudog` does).

use crate::sched::g::GPtr;
use crate::sched::m::getm;
use std::ptr;

/// A waiting G on a wait queue. Fields are public for the channel and sync crates, which own
/// the queue locks.
#[derive(Debug)]
pub struct Sudog {
    /// The waiting goroutine.
    pub g: Option<GPtr>,
    /// The next sudog in its wait queue.
    pub next: *mut Sudog,
    /// The previous sudog in its wait queue.
    pub prev: *mut Sudog,
    /// The data slot: for a send, the value to take; for a receive, where to write.
    pub elem: *mut u8,
    /// The channel (or semaphore address) waited on, type-erased.
    pub c: *const (),
    /// Whether this sudog belongs to a select (the waker must win `G::selectdone` first).
    pub is_select: bool,
    /// Whether the wake-up delivered a value (false: woken by close).
    pub success: bool,
    /// Semaphore hand-off ticket / select case index.
    pub ticket: u32,
    /// The G's list of sudogs in a select, in lock order (Go's `waitlink`).
    pub waitlink: *mut Sudog,
}

impl Sudog {
    fn new() -> Sudog {
        Sudog {
            g: None,
            next: ptr::null_mut(),
            prev: ptr::null_mut(),
            elem: ptr::null_mut(),
            c: ptr::null(),
            is_select: false,
            success: false,
            ticket: 0,
            waitlink: ptr::null_mut(),
        }
    }
}

/// Per-P cache capacity (Go's `sudogbuf`).
const CACHE_CAP: usize = 128;

/// Takes a clean sudog from this P's cache, refilling from the central cache or allocating.
/// Callable from any thread; without a P it uses the central cache.
pub fn acquire_sudog() -> *mut Sudog {
    let m = getm();
    if let Some(claim) = m.and_then(crate::sched::pclaim::claim) {
        // SAFETY: this thread is the M holding the claimed P.
        let cache = unsafe { claim.p().sudogcache_mut() };
        if cache.is_empty() {
            let sched = m.expect("a P implies an M").sched;
            sched.sudoglock.lock();
            // SAFETY: `sudogcache` is protected by `sudoglock`, held.
            let central = unsafe { &mut *sched.sudogcache.get() };
            while cache.len() < CACHE_CAP / 2 {
                match central.pop() {
                    Some(s) => cache.push(s),
                    None => break,
                }
            }
            sched.sudoglock.unlock();
            if cache.is_empty() {
                cache.push(Box::into_raw(Box::new(Sudog::new())));
            }
        }
        return cache.pop().expect("refilled above");
    }
    Box::into_raw(Box::new(Sudog::new()))
}

/// Returns a sudog to this P's cache (spilling half to the central cache when full).
///
/// # Safety
/// `s` must come from `acquire_sudog`, be on no wait queue, and not be used afterwards.
pub unsafe fn release_sudog(s: *mut Sudog) {
    // SAFETY: the caller owns `s` exclusively.
    let sg = unsafe { &mut *s };
    debug_assert!(
        sg.next.is_null() && sg.prev.is_null(),
        "release_sudog: sudog on a queue"
    );
    sg.g = None;
    sg.elem = ptr::null_mut();
    sg.c = ptr::null();
    sg.waitlink = ptr::null_mut();
    sg.is_select = false;
    sg.success = false;
    sg.ticket = 0;
    let m = getm();
    if let Some(claim) = m.and_then(crate::sched::pclaim::claim) {
        // SAFETY: this thread is the M holding the claimed P.
        let cache = unsafe { claim.p().sudogcache_mut() };
        if cache.len() == CACHE_CAP {
            let sched = m.expect("a P implies an M").sched;
            sched.sudoglock.lock();
            // SAFETY: `sudogcache` is protected by `sudoglock`, held.
            let central = unsafe { &mut *sched.sudogcache.get() };
            central.extend(cache.drain(CACHE_CAP / 2..));
            sched.sudoglock.unlock();
        }
        cache.push(s);
        return;
    }
    // SAFETY: `s` came from `Box::into_raw` in `acquire_sudog` and is no longer used.
    drop(unsafe { Box::from_raw(s) });
}
