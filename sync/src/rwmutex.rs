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
///
/// # Examples
///
/// ```
/// use gort::sync::RawRwMutex;
///
/// gort::run(|| {
///     let l = RawRwMutex::new();
///     l.rlock();
///     l.rlock(); // readers share the lock
///     assert!(!l.try_lock()); // but a writer must wait for both
///     l.runlock();
///     l.runlock();
///     l.lock();
///     l.unlock();
/// });
/// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::sync::RawRwMutex;
    ///
    /// static L: RawRwMutex = RawRwMutex::new(); // `const`, so it can be a static
    /// assert!(L.try_lock());
    /// L.unlock();
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::sync::RawRwMutex;
    /// use std::sync::Arc;
    ///
    /// gort::run(|| {
    ///     let l = Arc::new(RawRwMutex::new());
    ///     l.lock();
    ///     let l2 = l.clone();
    ///     let reader = gort::go(move || {
    ///         l2.rlock(); // parks until the writer unlocks
    ///         l2.runlock();
    ///     });
    ///     l.unlock();
    ///     reader.join().unwrap();
    /// });
    /// ```
    #[inline]
    #[track_caller]
    pub fn rlock(&self) {
        // A check point, as in `RawMutex::lock` (a writer's `lock` goes through that one).
        gort_runtime::rt::maybe_preempt();
        if self.reader_count.fetch_add(1, Ordering::SeqCst) + 1 < 0 {
            self.rlock_slow();
        }
    }

    /// A writer is pending: wait for it.
    #[cold]
    #[inline(never)]
    #[track_caller]
    fn rlock_slow(&self) {
        semacquire(&self.reader_sem, false, WaitReason::SyncRWMutexRLock);
    }

    /// Locks for reading if no writer holds or waits for the lock.
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::sync::RawRwMutex;
    /// use std::sync::Arc;
    ///
    /// gort::run(|| {
    ///     let l = Arc::new(RawRwMutex::new());
    ///     l.rlock();
    ///     let l2 = l.clone();
    ///     let writer = gort::go(move || { l2.lock(); l2.unlock(); }); // waits for our read lock
    ///     // Once the writer is waiting, new readers are refused (writer preference).
    ///     while l.try_rlock() {
    ///         l.runlock();
    ///         gort::runtime::gosched();
    ///     }
    ///     l.runlock(); // lets the writer in
    ///     writer.join().unwrap();
    /// });
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::sync::RawRwMutex;
    ///
    /// let l = RawRwMutex::new();
    /// assert!(l.try_rlock());
    /// assert!(!l.try_lock());
    /// l.runlock();
    /// assert!(l.try_lock()); // the last reader left
    /// l.unlock();
    /// ```
    #[inline]
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
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::sync::RawRwMutex;
    /// use std::sync::Arc;
    ///
    /// gort::run(|| {
    ///     let l = Arc::new(RawRwMutex::new());
    ///     l.rlock();
    ///     let l2 = l.clone();
    ///     let writer = gort::go(move || {
    ///         l2.lock(); // parks until the reader leaves
    ///         l2.unlock();
    ///     });
    ///     l.runlock();
    ///     writer.join().unwrap();
    /// });
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::sync::RawRwMutex;
    ///
    /// let l = RawRwMutex::new();
    /// assert!(l.try_lock());
    /// assert!(!l.try_lock()); // one writer at a time
    /// assert!(!l.try_rlock()); // and no readers meanwhile
    /// l.unlock();
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::sync::RawRwMutex;
    ///
    /// gort::run(|| {
    ///     let l = RawRwMutex::new();
    ///     l.lock();
    ///     l.unlock();
    ///     assert!(l.try_rlock()); // readers may come in again
    ///     l.runlock();
    /// });
    /// ```
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
///
/// # Examples
///
/// ```
/// use gort::sync::{RwMutex, WaitGroup};
/// use std::sync::Arc;
///
/// gort::run(|| {
///     let config = Arc::new(RwMutex::new(String::from("v1")));
///     let wg = Arc::new(WaitGroup::new());
///     for _ in 0..4 {
///         let config = config.clone();
///         wg.go(move || assert!(config.read().starts_with('v'))); // readers share
///     }
///     *config.write() = String::from("v2"); // the writer has it alone
///     wg.wait();
///     assert_eq!(*config.read(), "v2");
/// });
/// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::sync::RwMutex;
    ///
    /// // `new` is `const`, so the lock can be a static.
    /// static TABLE: RwMutex<Vec<u32>> = RwMutex::new(Vec::new());
    ///
    /// gort::run(|| {
    ///     TABLE.write().push(1);
    ///     assert_eq!(*TABLE.read(), [1]);
    /// });
    /// ```
    pub const fn new(v: T) -> RwMutex<T> {
        RwMutex {
            raw: RawRwMutex::new(),
            data: UnsafeCell::new(v),
        }
    }

    /// The value, consuming the lock.
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::sync::RwMutex;
    ///
    /// let l = RwMutex::new(vec![1, 2, 3]);
    /// assert_eq!(l.into_inner(), [1, 2, 3]);
    /// ```
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> RwMutex<T> {
    /// Shared access; parks while a writer holds or waits for the lock.
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::sync::RwMutex;
    ///
    /// gort::run(|| {
    ///     let l = RwMutex::new(5);
    ///     let a = l.read();
    ///     let b = l.read(); // many readers at once
    ///     assert_eq!(*a + *b, 10);
    /// });
    /// ```
    #[track_caller]
    pub fn read(&self) -> RwMutexReadGuard<'_, T> {
        self.raw.rlock();
        RwMutexReadGuard { l: self }
    }

    /// Shared access if available now.
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::sync::RwMutex;
    ///
    /// gort::run(|| {
    ///     let l = RwMutex::new(0);
    ///     let w = l.write();
    ///     assert!(l.try_read().is_none()); // a writer holds it: does not wait
    ///     drop(w);
    ///     assert_eq!(l.try_read().map(|g| *g), Some(0));
    /// });
    /// ```
    pub fn try_read(&self) -> Option<RwMutexReadGuard<'_, T>> {
        self.raw.try_rlock().then(|| RwMutexReadGuard { l: self })
    }

    /// Exclusive access; parks until every reader and writer is out.
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::sync::RwMutex;
    /// use std::sync::Arc;
    ///
    /// gort::run(|| {
    ///     let l = Arc::new(RwMutex::new(0));
    ///     let r = l.read();
    ///     let l2 = l.clone();
    ///     let writer = gort::go(move || *l2.write() += 1); // parks until the reader leaves
    ///     drop(r);
    ///     writer.join().unwrap();
    ///     assert_eq!(*l.read(), 1);
    /// });
    /// ```
    #[track_caller]
    pub fn write(&self) -> RwMutexWriteGuard<'_, T> {
        self.raw.lock();
        RwMutexWriteGuard { l: self }
    }

    /// Exclusive access if available now.
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::sync::RwMutex;
    ///
    /// gort::run(|| {
    ///     let l = RwMutex::new(0);
    ///     let r = l.read();
    ///     assert!(l.try_write().is_none()); // a reader is in: does not wait
    ///     drop(r);
    ///     *l.try_write().unwrap() = 1;
    ///     assert_eq!(*l.read(), 1);
    /// });
    /// ```
    pub fn try_write(&self) -> Option<RwMutexWriteGuard<'_, T>> {
        self.raw.try_lock().then(|| RwMutexWriteGuard { l: self })
    }

    /// The value, through exclusive access.
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::sync::RwMutex;
    ///
    /// let mut l = RwMutex::new(1);
    /// *l.get_mut() += 1; // `&mut` proves nobody else holds the lock
    /// assert_eq!(l.into_inner(), 2);
    /// ```
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
///
/// # Examples
///
/// ```
/// use gort::sync::RwMutex;
///
/// gort::run(|| {
///     let l = RwMutex::new(String::from("shared"));
///     let (a, b) = (l.read(), l.read()); // two read guards at once
///     assert_eq!(*a, *b);
///     assert!(l.try_write().is_none());
///     drop((a, b)); // dropping the last one lets writers in
///     assert!(l.try_write().is_some());
/// });
/// ```
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
///
/// # Examples
///
/// ```
/// use gort::sync::RwMutex;
///
/// gort::run(|| {
///     let l = RwMutex::new(vec![1]);
///     let mut w = l.write();
///     w.push(2);
///     assert!(l.try_read().is_none()); // exclusive while held
///     drop(w);
///     assert_eq!(*l.read(), [1, 2]);
/// });
/// ```
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
