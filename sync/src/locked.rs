//! `Locked<T>`: a value behind the runtime's `RawLock`, for the short critical sections of
//! context, errgroup, singleflight, the weighted semaphore and Pool.
//!
//! Why not `crate::Mutex`: a context is cancelled from the timer thread (sysmon), which is not
//! a goroutine and so cannot park; and these sections are a few loads and stores long, where
//! parking would cost more than it saves.
//!
//! # Invariants
//! - A `LockedGuard` is never held across anything that can park or yield the goroutine (a
//!   channel operation, `gort::go`, a semaphore wait, `preempt_point`): another goroutine on
//!   the same M would then sleep the M on the futex and never let the holder run again. So no
//!   channel is closed, sent to or received from while a guard is alive; callers collect what
//!   to wake, drop the guard, then wake.
//! - The guard is `!Send`: it is released by the thread that took it.

use gort_runtime::rt::RawLock;
use std::cell::UnsafeCell;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};

/// A value protected by a `RawLock`. See the module docs.
pub(crate) struct Locked<T> {
    lock: RawLock,
    value: UnsafeCell<T>,
}

// SAFETY: the value is only reached through a `LockedGuard`, and at most one guard exists at a
// time (the lock), so sharing a `Locked<T>` only ever hands `&mut T` to one thread at a time;
// that needs `T: Send`, as for `std::sync::Mutex`.
unsafe impl<T: Send> Sync for Locked<T> {}

impl<T> Locked<T> {
    /// An unlocked cell holding `value`.
    pub(crate) const fn new(value: T) -> Locked<T> {
        Locked {
            lock: RawLock::new(),
            value: UnsafeCell::new(value),
        }
    }

    /// Takes the lock (spinning briefly, then sleeping the thread on a futex while contended).
    pub(crate) fn lock(&self) -> LockedGuard<'_, T> {
        self.lock.lock();
        LockedGuard {
            cell: self,
            _not_send: PhantomData,
        }
    }
}

/// Proof that the lock is held; unlocks on drop. `!Send` (a raw pointer marker).
pub(crate) struct LockedGuard<'a, T> {
    cell: &'a Locked<T>,
    _not_send: PhantomData<*const ()>,
}

impl<T> Deref for LockedGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard exists only while this thread holds the lock, so no other reference
        // to the value is live.
        unsafe { &*self.cell.value.get() }
    }
}

impl<T> DerefMut for LockedGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` makes this the only borrow through the guard.
        unsafe { &mut *self.cell.value.get() }
    }
}

impl<T> Drop for LockedGuard<'_, T> {
    fn drop(&mut self) {
        self.cell.lock.unlock();
    }
}
