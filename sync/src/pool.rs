//! `Pool<T>`: Go's sync.Pool, a cache of reusable values that may be dropped at any time.
//! `get` returns a cached value or makes one with the pool's function; `put` caches a value.
//!
//! # Design (and how it differs from Go)
//! Go keeps one cache per P (a private slot plus a lock-free deque that other Ps steal from)
//! and, at every garbage collection, moves the caches to a *victim* cache and drops the old
//! victim, so unused values disappear after two GC cycles.
//!
//! gort has no GC. So:
//! - **Per-P shards.** A fixed array of shards (the number of CPUs rounded up to a power of
//!   two, at most 64), each a `Vec<T>` behind a short `RawLock` that is held for one push or
//!   pop and never across anything that blocks. A goroutine uses the shard of the P it runs
//!   on (`rt::procid`, a hint: a shard is locked, so a stale index costs nothing), so with
//!   GOMAXPROCS up to the shard count each P has its own, uncontended cache; plain threads
//!   use a per-thread index. `get` steals from the other shards when its own is empty.
//! - **A timed victim generation instead of GC.** Each shard has a primary and a victim list.
//!   Once a period (1 s) has passed since the last rotation, the next `get`/`put` that checks
//!   (one in 16 per shard, to keep `Instant::now` off the fast path) rotates every shard: the
//!   victim is dropped, the primary becomes the victim. `get` falls back to the victims before
//!   making a new value. So a value left unused for about two periods is dropped; a pool that
//!   is never touched again keeps its values until it is dropped, since nothing runs in the
//!   background. [`Pool::rotate`] does the same on demand (Go's effect of a GC cycle).
//!
//! # Invariants
//! - A shard's lock is held only for a push, a pop or a swap of its two lists; values being
//!   dropped are dropped after unlocking (a `Drop` may do anything).
//! - `last_rotation` only moves forward; the thread whose CAS advances it does the rotation.

use crate::locked::Locked;
use gort_runtime::loom::{AtomicU64, AtomicUsize, Ordering};
use std::cell::{Cell, UnsafeCell};
use std::fmt;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How long a value may sit unused in the primary cache before it moves to the victim cache.
/// Go's caches live for one GC cycle, typically a few hundred milliseconds to minutes apart;
/// one second keeps idle memory bounded without defeating reuse in busy loops.
const ROTATION_PERIOD: Duration = Duration::from_secs(1);

/// Check the clock on one `get`/`put` in this many per shard (a power of two).
const CLOCK_CHECK_EVERY: u32 = 16;

/// Upper bound on the number of shards (Go's per-P caches are bounded by GOMAXPROCS).
const MAX_SHARDS: usize = 64;

/// A pool of reusable values of type `T` (Go's `sync.Pool`). Share it with an `Arc` or a
/// `static` (`std::sync::LazyLock`).
///
/// A pool is a cache, not a container: a value put in may be handed to any goroutine, or
/// dropped. Reset values before putting them back (or after getting them).
///
/// ```
/// use gort::sync::Pool;
///
/// let pool = Pool::new(|| Vec::<u8>::with_capacity(1024));
/// let mut buf = pool.get();
/// buf.extend_from_slice(b"hello");
/// buf.clear(); // reset before giving it back
/// pool.put(buf);
/// assert!(pool.get().capacity() >= 1024); // the same buffer, or a new one
/// ```
pub struct Pool<T> {
    shards: Box<[Shard<T>]>,
    new: Box<dyn Fn() -> T + Send + Sync>,
    /// The time origin for `last_rotation`.
    base: Instant,
    /// Milliseconds after `base` of the last rotation. Atomic: CASed forward by the rotating
    /// thread, read by every `get`/`put` that checks the clock.
    last_rotation: AtomicU64,
    /// Rotations so far; a private slot last touched in an older epoch is aged on next use.
    epoch: AtomicU64,
}

/// Padded so that neighbouring shards' locks do not share a cache line.
#[repr(align(128))]
struct Shard<T> {
    lists: Locked<Lists<T>>,
    /// The runtime whose P with this shard's index owns `private` (0: not yet claimed). Set
    /// once; other runtimes using the same pool take the locked path.
    owner: AtomicUsize,
    /// Go's per-P `private` slot: touched without a lock, only by the goroutine holding the
    /// pin (`rt::proc_pin`) of the owning P (exactly one at a time; `get`/`put` never park
    /// while pinned).
    private: UnsafeCell<Option<T>>,
    /// The pool epoch when `private` was last aged (owner only).
    private_epoch: UnsafeCell<u64>,
}

// SAFETY: `lists` is a lock; `private` is reached only through `Pool::private_slot` by the one
// goroutine running on the owning P (see there), so values move between threads only as `T:
// Send` allows.
unsafe impl<T: Send> Sync for Shard<T> {}

struct Lists<T> {
    primary: Vec<T>,
    victim: Vec<T>,
    /// Operations since the last clock check.
    ops: u32,
}

/// The next per-thread shard index to hand out.
static NEXT_THREAD_INDEX: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's shard index (mod the shard count); `usize::MAX` until first use.
    static THREAD_INDEX: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// The shard of the caller: the current P's id inside a goroutine (a hint, see the module
/// docs), else a per-thread index.
fn thread_index() -> usize {
    if let Some(p) = gort_runtime::rt::procid() {
        return p;
    }
    THREAD_INDEX.with(|i| {
        let mut v = i.get();
        if v == usize::MAX {
            // ORDERING: Relaxed: only uniqueness matters, not ordering with other memory.
            v = NEXT_THREAD_INDEX.fetch_add(1, Ordering::Relaxed);
            i.set(v);
        }
        v
    })
}

/// The number of CPUs rounded up to a power of two, at most `MAX_SHARDS`; computed once
/// (`available_parallelism` may read cgroup files).
fn shard_count() -> usize {
    static SHARDS: OnceLock<usize> = OnceLock::new();
    *SHARDS.get_or_init(|| {
        std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .next_power_of_two()
            .min(MAX_SHARDS)
    })
}

impl<T: Send> Pool<T> {
    /// A pool whose `get` calls `new` when it has no cached value (Go's `Pool{New: f}`).
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::sync::Pool;
    /// use std::sync::{Arc, LazyLock};
    ///
    /// static BUFFERS: LazyLock<Pool<String>> = LazyLock::new(|| Pool::new(String::new));
    ///
    /// let shared = Arc::new(Pool::new(|| vec![0u8; 64])); // or share it with an `Arc`
    /// assert_eq!(shared.get().len(), 64); // empty pool: made by the function
    /// assert!(BUFFERS.get().is_empty());
    /// ```
    pub fn new<F>(new: F) -> Pool<T>
    where
        F: Fn() -> T + Send + Sync + 'static,
    {
        Pool {
            shards: (0..shard_count())
                .map(|_| Shard {
                    lists: Locked::new(Lists {
                        primary: Vec::new(),
                        victim: Vec::new(),
                        ops: 0,
                    }),
                    owner: AtomicUsize::new(0),
                    private: UnsafeCell::new(None),
                    private_epoch: UnsafeCell::new(0),
                })
                .collect(),
            new: Box::new(new),
            base: Instant::now(),
            last_rotation: AtomicU64::new(0),
            epoch: AtomicU64::new(0),
        }
    }

    /// A cached value if there is one (this thread's shard, then the others, then the victim
    /// caches), else a new one from the pool's function. Never blocks.
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::sync::Pool;
    ///
    /// let pool = Pool::new(|| String::from("new"));
    /// assert_eq!(pool.get(), "new"); // nothing cached yet
    /// pool.put(String::from("reused"));
    /// assert_eq!(pool.get(), "reused");
    /// ```
    #[inline]
    pub fn get(&self) -> T {
        match self.take_private() {
            Some(v) => v,
            None => self.get_slow(),
        }
    }

    #[cold]
    #[inline(never)]
    fn get_slow(&self) -> T {
        self.try_get_slow().unwrap_or_else(|| (self.new)())
    }

    /// A cached value, or `None` if the pool has none (Go's `Get` on a pool without `New`).
    /// Never blocks.
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::sync::Pool;
    ///
    /// let pool = Pool::new(|| 0u32);
    /// assert_eq!(pool.try_get(), None); // does not call the function
    /// pool.put(7);
    /// assert_eq!(pool.try_get(), Some(7));
    /// ```
    #[inline]
    pub fn try_get(&self) -> Option<T> {
        self.take_private().or_else(|| self.try_get_slow())
    }

    /// The fast path of `get`: the value in the P's private slot, if the slot is this
    /// pool's and needs no ageing (everything else is `try_get_slow`'s).
    #[inline]
    fn take_private(&self) -> Option<T> {
        let pin = gort_runtime::rt::proc_pin()?;
        self.ready_private_slot(&pin)?.take()
    }

    /// The fast path of `put`: into the P's private slot if it is empty, this pool's and
    /// needs no ageing; otherwise gives `v` back.
    #[inline]
    fn put_private(&self, v: T) -> Result<(), T> {
        let Some(pin) = gort_runtime::rt::proc_pin() else {
            return Err(v);
        };
        match self.ready_private_slot(&pin) {
            Some(slot) if slot.is_none() => {
                *slot = Some(v);
                Ok(())
            }
            _ => Err(v),
        }
    }

    #[cold]
    #[inline(never)]
    fn try_get_slow(&self) -> Option<T> {
        // Declared before the pin, so an aged-out value is dropped after the pin is released
        // (a `Drop` may park).
        let mut aged = None;
        if let Some(pin) = gort_runtime::rt::proc_pin() {
            if let Some(v) = self.private_slot(&pin, &mut aged).and_then(Option::take) {
                return Some(v);
            }
        }
        let n = self.shards.len();
        let me = thread_index() & (n - 1);
        let (v, check) = {
            let mut l = self.shards[me].lists.lock();
            let check = l.tick();
            (l.primary.pop(), check)
        };
        if check {
            self.maybe_rotate();
        }
        if v.is_some() {
            return v;
        }
        // Steal from the other shards, then fall back to the victims (own shard first).
        (1..n)
            .find_map(|k| self.shards[(me + k) & (n - 1)].lists.lock().primary.pop())
            .or_else(|| {
                (0..n).find_map(|k| self.shards[(me + k) & (n - 1)].lists.lock().victim.pop())
            })
    }

    /// Caches `v` for a later `get`. Never blocks.
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::sync::Pool;
    ///
    /// let pool = Pool::new(Vec::<u8>::new);
    /// let mut buf = pool.get();
    /// buf.extend_from_slice(b"request");
    /// buf.clear(); // reset before putting it back: the next `get` may be anyone's
    /// pool.put(buf);
    /// assert!(pool.get().is_empty());
    /// ```
    #[inline]
    pub fn put(&self, v: T) {
        if let Err(v) = self.put_private(v) {
            self.put_slow(v);
        }
    }

    #[cold]
    #[inline(never)]
    fn put_slow(&self, v: T) {
        // As in `try_get_slow`: dropped after the pin.
        let mut aged = None;
        let v = match gort_runtime::rt::proc_pin() {
            Some(pin) => match self.private_slot(&pin, &mut aged) {
                Some(slot) if slot.is_none() => {
                    *slot = Some(v);
                    return;
                }
                _ => v,
            },
            None => v,
        };
        let me = thread_index() & (self.shards.len() - 1);
        let check = {
            let mut l = self.shards[me].lists.lock();
            l.primary.push(v);
            l.tick()
        };
        if check {
            self.maybe_rotate();
        }
    }

    /// Rotates now, as a Go GC cycle would: every cached value moves to the victim cache and
    /// the previous victims are dropped. Two rotations in a row empty the pool.
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::sync::Pool;
    ///
    /// let pool = Pool::new(|| 0);
    /// pool.put(1);
    /// pool.rotate();
    /// assert_eq!(pool.try_get(), Some(1)); // still there, in the victim cache
    /// pool.put(2);
    /// pool.rotate();
    /// pool.rotate();
    /// assert_eq!(pool.try_get(), None); // unused for two rotations: dropped
    /// ```
    pub fn rotate(&self) {
        // ORDERING: Relaxed: owners age their private slots when they next see the new epoch.
        self.epoch.fetch_add(1, Ordering::Relaxed);
        for shard in self.shards.iter() {
            let dropped = {
                let mut l = shard.lists.lock();
                let primary = std::mem::take(&mut l.primary);
                std::mem::replace(&mut l.victim, primary)
            };
            drop(dropped); // unlocked: `T::drop` may do anything
        }
        // Age the caller's own private slot now (others age theirs on their next use).
        let mut aged = None;
        if let Some(pin) = gort_runtime::rt::proc_pin() {
            let _ = self.private_slot(&pin, &mut aged);
        }
    }

    /// Rotates if a period has passed since the last rotation and this thread wins the race
    /// to do it.
    /// `private_slot` for the fast paths: `None` unless the shard is already this runtime's
    /// and the slot has seen the current epoch (claiming the shard and ageing the slot are
    /// left to the slow paths, through `private_slot`).
    #[allow(clippy::mut_from_ref)]
    #[inline(always)]
    fn ready_private_slot<'p>(
        &'p self,
        pin: &'p gort_runtime::rt::ProcPin,
    ) -> Option<&'p mut Option<T>> {
        let (rt, pid) = pin.key();
        let sh = self.shards.get(pid)?;
        // ORDERING: Relaxed, as in `private_slot`.
        if sh.owner.load(Ordering::Relaxed) != rt {
            return None;
        }
        // SAFETY: as in `private_slot`: the pin of P `pid` of runtime `rt` is held, and the
        // borrow ends before the pin is dropped.
        let (slot, seen) = unsafe { (&mut *sh.private.get(), &*sh.private_epoch.get()) };
        // ORDERING: Relaxed, as in `private_slot`.
        (*seen == self.epoch.load(Ordering::Relaxed)).then_some(slot)
    }

    /// The calling goroutine's P's private slot (Go's `pin` + `l.private`), if this pool's
    /// shard for that P belongs to the caller's runtime and the P has a shard of its own. A
    /// value left there across rotations is aged as the lists were: after one rotation it
    /// moves to the victim list, after two it is dropped (Go clears `private` at every GC).
    /// A value aged out of the slot for good is moved to `aged`, for the caller to drop once
    /// the pin is released.
    #[allow(clippy::mut_from_ref)]
    #[inline(always)]
    fn private_slot<'p>(
        &'p self,
        pin: &'p gort_runtime::rt::ProcPin,
        aged: &mut Option<T>,
    ) -> Option<&'p mut Option<T>> {
        let (rt, pid) = pin.key();
        let sh = self.shards.get(pid)?;
        // ORDERING: Relaxed: the owner is written once; the slot itself is ordered by the P
        // hand-over between Ms (under the scheduler lock).
        let owner = sh.owner.load(Ordering::Relaxed);
        if owner != rt
            && (owner != 0
                || sh
                    .owner
                    .compare_exchange(0, rt, Ordering::Relaxed, Ordering::Relaxed)
                    .is_err())
        {
            return None;
        }
        // SAFETY: only the goroutine holding the pin of P `pid` of runtime `rt` gets here, one
        // at a time (one M holds a P, and sysmon cannot take a pinned P), and the slot's
        // borrow ends before the pin is dropped.
        let (slot, seen) = unsafe { (&mut *sh.private.get(), &mut *sh.private_epoch.get()) };
        // ORDERING: Relaxed: a stale epoch only delays the ageing to the next call.
        let now = self.epoch.load(Ordering::Relaxed);
        if *seen != now {
            *aged = Self::age_private(sh, slot, seen, now);
        }
        Some(slot)
    }

    /// Ages a private slot last seen in epoch `*seen` to epoch `now` (off the fast path).
    /// Returns the value if it aged out for good, to be dropped by the caller after unpinning.
    #[cold]
    #[inline(never)]
    fn age_private(sh: &Shard<T>, slot: &mut Option<T>, seen: &mut u64, now: u64) -> Option<T> {
        let aged = now.wrapping_sub(*seen);
        *seen = now;
        let v = slot.take()?;
        if aged == 1 {
            sh.lists.lock().victim.push(v);
            None
        } else {
            Some(v)
        }
    }

    fn maybe_rotate(&self) {
        let now = u64::try_from(self.base.elapsed().as_millis()).unwrap_or(u64::MAX);
        // ORDERING: Relaxed: the shards' locks order the lists; this only elects a rotator.
        let last = self.last_rotation.load(Ordering::Relaxed);
        let period = ROTATION_PERIOD.as_millis() as u64;
        if now.saturating_sub(last) >= period
            // ORDERING: Relaxed, as for the load: the CAS only picks the thread that rotates.
            && self
                .last_rotation
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.rotate();
        }
    }
}

impl<T> Lists<T> {
    /// Counts an operation; true when it is time to look at the clock.
    fn tick(&mut self) -> bool {
        self.ops = self.ops.wrapping_add(1);
        self.ops % CLOCK_CHECK_EVERY == 0
    }
}

impl<T> fmt::Debug for Pool<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (mut primary, mut victim) = (0, 0);
        for s in self.shards.iter() {
            let l = s.lists.lock();
            primary += l.primary.len();
            victim += l.victim.len();
        }
        f.debug_struct("Pool")
            .field("shards", &self.shards.len())
            .field("cached", &primary)
            .field("victim", &victim)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_count_is_a_power_of_two() {
        let n = shard_count();
        assert!(n.is_power_of_two() && n <= MAX_SHARDS);
    }

    #[test]
    fn clock_checks_are_periodic() {
        let pool = Pool::new(|| 0u8);
        let mut l = pool.shards[0].lists.lock();
        let checks = (0..CLOCK_CHECK_EVERY * 4).filter(|_| l.tick()).count();
        assert_eq!(checks, 4);
    }
}
