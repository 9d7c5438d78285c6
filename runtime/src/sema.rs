//! The runtime semaphore (Go's `sema.go`): goroutines block on a `u32` count by address and are
//! parked, never the OS thread. This is the one parking seam of the sync package.
//!
//! Waiters hang off one of 251 roots chosen by address, each with its own lock and a FIFO list
//! of sudogs (a LIFO re-queue is available for Mutex's starving waiters).
//!
//! # Protocol
//! - `semrelease` increments the count *before* checking `nwait`; `semacquire` increments
//!   `nwait` *before* re-trying the count under the root lock. Both are SeqCst, so either the
//!   releaser sees the waiter or the waiter sees the count (no lost wake-up).
//! - With `handoff`, the releaser takes the count for the woken waiter (`ticket = 1`) so a
//!   barging goroutine cannot steal it (starvation mode).

use crate::lock::RawLock;
use crate::loom::{AtomicU32, Ordering};
use crate::sched::g::{GPtr, WaitReason};
use crate::sched::m::getg;
use crate::sched::park::{gopark, goready, outside_goroutine};
use crate::sched::sudog::{acquire_sudog, release_sudog, Sudog};
use std::cell::UnsafeCell;
use std::ptr;

/// Number of roots (a prime; Go's `semTabSize`).
const SEM_TAB_SIZE: usize = 251;

#[repr(align(64))]
struct SemaRoot {
    lock: RawLock,
    /// Waiters in FIFO order. Protected by `lock`.
    head: UnsafeCell<*mut Sudog>,
    tail: UnsafeCell<*mut Sudog>,
    /// Waiters on this root (any address). Atomic: read lock-free by `semrelease`.
    nwait: AtomicU32,
}

// SAFETY: `head`/`tail` and the sudogs on the list are only touched with `lock` held.
unsafe impl Sync for SemaRoot {}

#[allow(clippy::declare_interior_mutable_const)]
const ROOT: SemaRoot = SemaRoot {
    lock: RawLock::new(),
    head: UnsafeCell::new(ptr::null_mut()),
    tail: UnsafeCell::new(ptr::null_mut()),
    nwait: AtomicU32::new(0),
};

static SEMTABLE: [SemaRoot; SEM_TAB_SIZE] = [ROOT; SEM_TAB_SIZE];

fn root_for(addr: &AtomicU32) -> &'static SemaRoot {
    &SEMTABLE[(addr as *const AtomicU32 as usize >> 3) % SEM_TAB_SIZE]
}

fn cansemacquire(addr: &AtomicU32) -> bool {
    // ORDERING: SeqCst, part of the no-lost-wake-up protocol (module docs).
    let mut v = addr.load(Ordering::SeqCst);
    loop {
        if v == 0 {
            return false;
        }
        match addr.compare_exchange_weak(v, v - 1, Ordering::SeqCst, Ordering::SeqCst) {
            Ok(_) => return true,
            Err(cur) => v = cur,
        }
    }
}

/// Waits until `*addr > 0`, then decrements it. `lifo` queues the caller at the front.
///
/// # Panics
/// If it must wait outside a goroutine.
///
/// Go: `semacquire1` (sema.go).
#[track_caller]
pub fn semacquire(addr: &AtomicU32, lifo: bool, reason: WaitReason) {
    if cansemacquire(addr) {
        return;
    }
    let gp = getg().unwrap_or_else(|| outside_goroutine("wait on a semaphore"));
    let root = root_for(addr);
    let s = acquire_sudog();
    loop {
        root.lock.lock();
        // ORDERING: SeqCst (module protocol).
        root.nwait.fetch_add(1, Ordering::SeqCst);
        if cansemacquire(addr) {
            root.nwait.fetch_sub(1, Ordering::SeqCst);
            root.lock.unlock();
            break;
        }
        // SAFETY: `s` is ours and not on any queue; the root lock is held for the queue.
        unsafe {
            (*s).elem = addr.as_ptr().cast();
            (*s).g = Some(gp);
            (*s).ticket = 0;
            queue(root, s, lifo);
        }
        // SAFETY: the sudog is on the root's list, protected by `root.lock`, which the unlock
        // function releases after we are off our stack.
        unsafe {
            gopark(
                Some(unlock_root),
                root as *const SemaRoot as *mut (),
                reason,
            )
        };
        // SAFETY: we were dequeued by `semrelease` before being readied; `s` is ours again.
        if unsafe { (*s).ticket } != 0 || cansemacquire(addr) {
            break;
        }
    }
    // SAFETY: `s` is on no queue and not used after this.
    unsafe { release_sudog(s) };
}

/// # Safety
/// `arg` is a `SemaRoot` whose lock the parked G holds.
unsafe fn unlock_root(_gp: GPtr, arg: *mut ()) -> bool {
    // SAFETY: per the contract.
    unsafe { &*(arg as *const SemaRoot) }.lock.unlock();
    true
}

/// Increments `*addr` and wakes one waiter on it, if any. With `handoff`, the count is passed
/// directly to the woken waiter.
///
/// Go: `semrelease1` (sema.go).
pub fn semrelease(addr: &AtomicU32, handoff: bool) {
    let root = root_for(addr);
    // ORDERING: SeqCst (module protocol): the add is visible before the nwait check.
    addr.fetch_add(1, Ordering::SeqCst);
    if root.nwait.load(Ordering::SeqCst) == 0 {
        return;
    }
    root.lock.lock();
    if root.nwait.load(Ordering::SeqCst) == 0 {
        root.lock.unlock();
        return;
    }
    // SAFETY: the root lock is held.
    let s = unsafe { dequeue(root, addr.as_ptr().cast()) };
    let mut gp = None;
    let mut handed = false;
    if !s.is_null() {
        root.nwait.fetch_sub(1, Ordering::SeqCst);
        // SAFETY: `s` was just dequeued under the lock; its G is parked and cannot touch it.
        unsafe {
            if handoff && cansemacquire(addr) {
                (*s).ticket = 1;
                handed = true;
            }
            gp = (*s).g;
        }
    }
    root.lock.unlock();
    if let Some(gp) = gp {
        goready(gp);
        // A direct hand-off: let the waiter run now on this P, inheriting the time slice, so
        // a starving Mutex waiter is not overtaken again (Go issue 33747).
        if handed {
            crate::sched::park::goyield();
        }
    }
}

/// # Safety
/// The root lock must be held; `s` must be on no list.
unsafe fn queue(root: &SemaRoot, s: *mut Sudog, lifo: bool) {
    // SAFETY: the lock is held (contract), so the list is ours.
    unsafe {
        let head = &mut *root.head.get();
        let tail = &mut *root.tail.get();
        if head.is_null() {
            *head = s;
            *tail = s;
        } else if lifo {
            (*s).next = *head;
            (**head).prev = s;
            *head = s;
        } else {
            (*s).prev = *tail;
            (**tail).next = s;
            *tail = s;
        }
    }
}

/// Removes the first waiter on `addr`.
///
/// # Safety
/// The root lock must be held.
unsafe fn dequeue(root: &SemaRoot, addr: *mut u8) -> *mut Sudog {
    // SAFETY: the lock is held (contract).
    unsafe {
        let head = &mut *root.head.get();
        let tail = &mut *root.tail.get();
        let mut s = *head;
        while !s.is_null() && (*s).elem != addr {
            s = (*s).next;
        }
        if s.is_null() {
            return s;
        }
        let (prev, next) = ((*s).prev, (*s).next);
        if prev.is_null() {
            *head = next;
        } else {
            (*prev).next = next;
        }
        if next.is_null() {
            *tail = prev;
        } else {
            (*next).prev = prev;
        }
        (*s).next = ptr::null_mut();
        (*s).prev = ptr::null_mut();
        s
    }
}

/// Go's `notifyList`: the ticket-based wait list under `sync.Cond`. `add` takes a ticket
/// before the caller releases its lock; `wait(t)` parks unless ticket `t` was already
/// notified; `notify_one` wakes the waiter holding the oldest unnotified ticket, `notify_all`
/// every one. Tickets make a signal between `add` and `wait` impossible to lose.
///
/// # Invariants
/// `wait` is the next ticket to hand out (atomic); `notify` is the next ticket to notify
/// (written under `lock`, read lock-free as a fast path). The list holds sudogs with
/// `ticket` in `[notify, wait)` in no particular order.
pub struct NotifyList {
    wait: AtomicU32,
    notify: AtomicU32,
    lock: RawLock,
    head: UnsafeCell<*mut Sudog>,
    tail: UnsafeCell<*mut Sudog>,
}

// SAFETY: the list is only touched with `lock` held.
unsafe impl Sync for NotifyList {}
// SAFETY: as above.
unsafe impl Send for NotifyList {}

impl Default for NotifyList {
    fn default() -> Self {
        Self::new()
    }
}

/// `a < b` in ticket order, tolerating wrap-around (Go's `less`).
fn ticket_less(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

impl NotifyList {
    /// An empty list.
    pub const fn new() -> NotifyList {
        NotifyList {
            wait: AtomicU32::new(0),
            notify: AtomicU32::new(0),
            lock: RawLock::new(),
            head: UnsafeCell::new(ptr::null_mut()),
            tail: UnsafeCell::new(ptr::null_mut()),
        }
    }

    /// Takes a ticket. Go: `notifyListAdd`.
    pub fn add(&self) -> u32 {
        // ORDERING: SeqCst: the ticket order is the notification order.
        self.wait.fetch_add(1, Ordering::SeqCst)
    }

    /// Parks until ticket `t` is notified (returns at once if it already was).
    ///
    /// # Panics
    /// If it must wait outside a goroutine.
    ///
    /// Go: `notifyListWait`.
    #[track_caller]
    pub fn wait(&self, t: u32, reason: WaitReason) {
        self.lock.lock();
        // ORDERING: `notify` is written under the lock we hold.
        if ticket_less(t, self.notify.load(Ordering::Relaxed)) {
            self.lock.unlock();
            return;
        }
        let Some(gp) = getg() else {
            self.lock.unlock();
            outside_goroutine("wait on a sync.Cond")
        };
        let s = acquire_sudog();
        // SAFETY: `s` is ours; the lock is held for the list.
        unsafe {
            (*s).g = Some(gp);
            (*s).ticket = t;
            let tail = &mut *self.tail.get();
            if tail.is_null() {
                *self.head.get() = s;
            } else {
                (**tail).next = s;
            }
            *tail = s;
        }
        // SAFETY: the sudog is on our list, guarded by `self.lock`, which the unlock function
        // releases after the G is off its stack.
        unsafe {
            gopark(
                Some(unlock_notify),
                &self.lock as *const RawLock as *mut (),
                reason,
            );
            release_sudog(s);
        }
    }

    /// Wakes every waiter. Go: `notifyListNotifyAll`.
    pub fn notify_all(&self) {
        // ORDERING: fast path: nothing to do if no ticket was handed out since the last
        // notification; SeqCst against `add`.
        if self.wait.load(Ordering::SeqCst) == self.notify.load(Ordering::SeqCst) {
            return;
        }
        self.lock.lock();
        // SAFETY: the lock is held.
        let mut s = unsafe { std::mem::replace(&mut *self.head.get(), ptr::null_mut()) };
        // SAFETY: the lock is held.
        unsafe { *self.tail.get() = ptr::null_mut() };
        self.notify
            .store(self.wait.load(Ordering::SeqCst), Ordering::SeqCst);
        self.lock.unlock();
        while !s.is_null() {
            // SAFETY: the detached list is ours; each G is parked until we ready it, and we
            // read `next` before readying.
            unsafe {
                let next = (*s).next;
                (*s).next = ptr::null_mut();
                let gp = (*s).g.expect("waiter without G");
                s = next;
                goready(gp);
            }
        }
    }

    /// Wakes the waiter with the oldest unnotified ticket. Go: `notifyListNotifyOne`.
    pub fn notify_one(&self) {
        // ORDERING: as in `notify_all`.
        if self.wait.load(Ordering::SeqCst) == self.notify.load(Ordering::SeqCst) {
            return;
        }
        self.lock.lock();
        let t = self.notify.load(Ordering::SeqCst);
        if t == self.wait.load(Ordering::SeqCst) {
            self.lock.unlock();
            return;
        }
        self.notify.store(t.wrapping_add(1), Ordering::SeqCst);
        // Find the waiter with ticket t. If it has not enqueued yet it will see that `t` was
        // notified and not park.
        let mut prev: *mut Sudog = ptr::null_mut();
        // SAFETY: the lock is held; the list is ours.
        let mut s = unsafe { *self.head.get() };
        while !s.is_null() {
            // SAFETY: as above.
            unsafe {
                if (*s).ticket == t {
                    let next = (*s).next;
                    if prev.is_null() {
                        *self.head.get() = next;
                    } else {
                        (*prev).next = next;
                    }
                    if *self.tail.get() == s {
                        *self.tail.get() = prev;
                    }
                    (*s).next = ptr::null_mut();
                    let gp = (*s).g.expect("waiter without G");
                    self.lock.unlock();
                    goready(gp);
                    return;
                }
                prev = s;
                s = (*s).next;
            }
        }
        self.lock.unlock();
    }
}

/// # Safety
/// `arg` is a `NotifyList`'s lock held by the parked G.
unsafe fn unlock_notify(_gp: GPtr, arg: *mut ()) -> bool {
    // SAFETY: per the contract.
    unsafe { &*(arg as *const RawLock) }.unlock();
    true
}
