//! `RwMutex<T>`: Go's sync.RWMutex (sync/rwmutex.go) around a value: many readers or one
//! writer, with writer preference.
//!
//! # Protocol
//! `reader_count` counts active readers; a writer subtracts `MAX_READERS` from it, which makes
//! new readers see a negative count and park on `reader_sem` (writer preference), then waits
//! on `writer_sem` for the `reader_wait` readers that were already in. The last departing
//! reader releases the writer. Unlocking the writer adds `MAX_READERS` back and releases every
//! reader that queued meanwhile. Recursive read locking is not allowed (a reader that locks
//! again while a writer waits deadlocks, as in Go).

use crate::mutex::RawMutex;
use gort_runtime::loom::{AtomicI32, AtomicU32, Ordering};
use gort_runtime::rt::{semacquire, semrelease, WaitReason};
use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};

/// Go's `rwmutexMaxReaders`.
const MAX_READERS: i32 = 1 << 30;

/// The lock without data (Go's `sync.RWMutex`).
#[derive(Default)]
pub struct RawRwMutex {
    w: RawMutex,
    writer_sem: AtomicU32,
    reader_sem: AtomicU32,
    reader_count: AtomicI32,
    reader_wait: AtomicI32,
}

impl std::fmt::Debug for RawRwMutex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // ORDERING: a snapshot for display.
        write!(
            f,
            "RawRwMutex {{ readers: {} }}",
            self.reader_count.load(Ordering::Relaxed)
        )
    }
}

// ORDERING (whole impl): SeqCst everywhere, as Go's sync/atomic; the protocol relies on the
// total order between readers' adds and the writer's subtraction.
impl RawRwMutex {
    /// An unlocked lock.
    pub const fn new() -> RawRwMutex {
        RawRwMutex {
            w: RawMutex::new(),
            writer_sem: AtomicU32::new(0),
            reader_sem: AtomicU32::new(0),
            reader_count: AtomicI32::new(0),
            reader_wait: AtomicI32::new(0),
        }
    }

    /// Locks for reading.
    #[track_caller]
    pub fn rlock(&self) {
        if self.reader_count.fetch_add(1, Ordering::SeqCst) + 1 < 0 {
            // A writer is pending: wait for it.
            semacquire(&self.reader_sem, false, WaitReason::SyncRWMutexRLock);
        }
    }

    /// Locks for reading if no writer holds or waits for the lock.
    pub fn try_rlock(&self) -> bool {
        let mut c = self.reader_count.load(Ordering::SeqCst);
        loop {
            if c < 0 {
                return false;
            }
            match self
                .reader_count
                .compare_exchange(c, c + 1, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => return true,
                Err(now) => c = now,
            }
        }
    }

    /// Unlocks a read lock.
    ///
    /// # Panics
    /// "sync: RUnlock of unlocked RWMutex" (fatal, as in Go).
    pub fn runlock(&self) {
        let r = self.reader_count.fetch_sub(1, Ordering::SeqCst) - 1;
        if r < 0 {
            self.runlock_slow(r);
        }
    }

    #[cold]
    fn runlock_slow(&self, r: i32) {
        if r + 1 == 0 || r + 1 == -MAX_READERS {
            gort_runtime::fatal_error("sync: RUnlock of unlocked RWMutex");
        }
        // A writer is pending; the last departing reader unblocks it.
        if self.reader_wait.fetch_sub(1, Ordering::SeqCst) - 1 == 0 {
            semrelease(&self.writer_sem, false);
        }
    }

    /// Locks for writing.
    #[track_caller]
    pub fn lock(&self) {
        // First, resolve competition with other writers.
        self.w.lock();
        // Announce to readers there is a pending writer.
        let r = self.reader_count.fetch_sub(MAX_READERS, Ordering::SeqCst);
        // Wait for active readers.
        if r != 0 && self.reader_wait.fetch_add(r, Ordering::SeqCst) + r != 0 {
            semacquire(&self.writer_sem, false, WaitReason::SyncRWMutexLock);
        }
    }

    /// Locks for writing if the lock is free.
    pub fn try_lock(&self) -> bool {
        if !self.w.try_lock() {
            return false;
        }
        if self
            .reader_count
            .compare_exchange(0, -MAX_READERS, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            self.w.unlock();
            return false;
        }
        true
    }

    /// Unlocks a write lock.
    ///
    /// # Panics
    /// "sync: Unlock of unlocked RWMutex" (fatal, as in Go).
    pub fn unlock(&self) {
        // Announce to readers there is no active writer.
        let r = self.reader_count.fetch_add(MAX_READERS, Ordering::SeqCst) + MAX_READERS;
        if r >= MAX_READERS {
            gort_runtime::fatal_error("sync: Unlock of unlocked RWMutex");
        }
        // Unblock the readers that queued while we held the lock.
        for _ in 0..r {
            semrelease(&self.reader_sem, false);
        }
        // Allow other writers to proceed.
        self.w.unlock();
    }
}

/// A reader-writer lock around a `T` (Go's `sync.RWMutex`): `read()` for shared access,
/// `write()` for exclusive access. Waiting parks the goroutine.
#[derive(Default)]
pub struct RwMutex<T: ?Sized> {
    raw: RawRwMutex,
    data: UnsafeCell<T>,
}

// SAFETY: readers share `&T` (needs `T: Sync`), the writer gets `&mut T` (needs `T: Send`),
// as for std's RwLock.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwMutex<T> {}
// SAFETY: owning the lock owns the `T`.
unsafe impl<T: ?Sized + Send> Send for RwMutex<T> {}

impl<T> RwMutex<T> {
    /// A new unlocked lock holding `v`.
    pub const fn new(v: T) -> RwMutex<T> {
        RwMutex {
            raw: RawRwMutex::new(),
            data: UnsafeCell::new(v),
        }
    }

    /// The value, consuming the lock.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> RwMutex<T> {
    /// Shared access; parks while a writer holds or waits for the lock.
    #[track_caller]
    pub fn read(&self) -> RwMutexReadGuard<'_, T> {
        self.raw.rlock();
        RwMutexReadGuard { l: self }
    }

    /// Shared access if available now.
    pub fn try_read(&self) -> Option<RwMutexReadGuard<'_, T>> {
        self.raw.try_rlock().then(|| RwMutexReadGuard { l: self })
    }

    /// Exclusive access; parks until every reader and writer is out.
    #[track_caller]
    pub fn write(&self) -> RwMutexWriteGuard<'_, T> {
        self.raw.lock();
        RwMutexWriteGuard { l: self }
    }

    /// Exclusive access if available now.
    pub fn try_write(&self) -> Option<RwMutexWriteGuard<'_, T>> {
        self.raw.try_lock().then(|| RwMutexWriteGuard { l: self })
    }

    /// The value, through exclusive access.
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }
}

impl<T: ?Sized + std::fmt::Debug> std::fmt::Debug for RwMutex<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.try_read() {
            Some(g) => f.debug_struct("RwMutex").field("data", &&*g).finish(),
            None => f.write_str("RwMutex { <locked> }"),
        }
    }
}

/// Shared access to an `RwMutex`'s value.
pub struct RwMutexReadGuard<'a, T: ?Sized> {
    l: &'a RwMutex<T>,
}

// SAFETY: a read guard only gives `&T`; moving it between goroutines is fine when `T: Sync`.
unsafe impl<T: ?Sized + Sync> Send for RwMutexReadGuard<'_, T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Sync> Sync for RwMutexReadGuard<'_, T> {}

impl<T: ?Sized> Deref for RwMutexReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: a read lock is held, so no writer has `&mut T`.
        unsafe { &*self.l.data.get() }
    }
}

impl<T: ?Sized> Drop for RwMutexReadGuard<'_, T> {
    fn drop(&mut self) {
        self.l.raw.runlock();
    }
}

/// Exclusive access to an `RwMutex`'s value.
pub struct RwMutexWriteGuard<'a, T: ?Sized> {
    l: &'a RwMutex<T>,
}

// SAFETY: as for `MutexGuard`: the lock is not tied to a thread.
unsafe impl<T: ?Sized + Send> Send for RwMutexWriteGuard<'_, T> {}
// SAFETY: `&guard` gives `&T`.
unsafe impl<T: ?Sized + Sync> Sync for RwMutexWriteGuard<'_, T> {}

impl<T: ?Sized> Deref for RwMutexWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the write lock is held.
        unsafe { &*self.l.data.get() }
    }
}

impl<T: ?Sized> DerefMut for RwMutexWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the write lock is held and the guard is borrowed mutably.
        unsafe { &mut *self.l.data.get() }
    }
}

impl<T: ?Sized> Drop for RwMutexWriteGuard<'_, T> {
    fn drop(&mut self) {
        self.l.raw.unlock();
    }
}
