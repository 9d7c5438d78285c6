//! `RawLock`: the runtime's own mutex (Go's `lock_futex.go`), a three-state futex word.
//!
//! Unlike `std::sync::Mutex` it has no guard, so a lock taken by a goroutine can be released by
//! the M after the goroutine has parked (Go's `parkunlock_c`). It is held only for short critical
//! sections inside the runtime and never across a park by the thread that took it, except for
//! that hand-over to the same M.
//!
//! # Protocol
//! `state`: 0 = unlocked, 1 = locked, 2 = locked with (possible) sleepers. `lock` CASes 0 -> 1,
//! spins briefly, then swaps in 2 and sleeps on the futex while the old value was not 0. `unlock`
//! swaps in 0 and wakes one sleeper if the old value was 2.

use crate::loom::{AtomicU32, Ordering};

/// A word-sized mutex without a guard. See the module docs.
pub struct RawLock {
    state: AtomicU32,
}

const UNLOCKED: u32 = 0;
const LOCKED: u32 = 1;
const SLEEPING: u32 = 2;

/// Spins before sleeping: Go's `active_spin` (4) spin steps (`sched::spin::do_spin`, about 1 µs
/// each; Go's step is 30 PAUSEs).
const SPIN_TRIES: u32 = 4;

impl Default for RawLock {
    fn default() -> Self {
        Self::new()
    }
}

impl RawLock {
    /// An unlocked lock.
    pub const fn new() -> Self {
        RawLock {
            state: AtomicU32::new(UNLOCKED),
        }
    }

    /// Takes the lock, sleeping the OS thread if it is contended for long.
    #[inline]
    pub fn lock(&self) {
        // ORDERING: Acquire pairs with the Release swap in `unlock`, so the critical section
        // of the previous holder happens-before ours.
        if self
            .state
            .compare_exchange_weak(UNLOCKED, LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.lock_slow();
        }
    }

    /// Takes the lock if it is free.
    #[inline]
    pub fn try_lock(&self) -> bool {
        // ORDERING: as in `lock`.
        self.state
            .compare_exchange(UNLOCKED, LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    #[cold]
    fn lock_slow(&self) {
        for _ in 0..SPIN_TRIES {
            crate::sched::spin::do_spin();
            // ORDERING: Acquire as in `lock`.
            if self.state.load(Ordering::Relaxed) == UNLOCKED
                && self
                    .state
                    .compare_exchange_weak(UNLOCKED, LOCKED, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
            {
                return;
            }
        }
        // ORDERING: Acquire as in `lock`; writing SLEEPING makes the holder's unlock wake us.
        while self.state.swap(SLEEPING, Ordering::Acquire) != UNLOCKED {
            futex::wait(&self.state, SLEEPING);
        }
    }

    /// Releases the lock.
    ///
    /// The caller must hold it (taken by this thread, or by a goroutine that parked on this M
    /// and handed the unlock to it).
    #[inline]
    pub fn unlock(&self) {
        // ORDERING: Release pairs with the Acquire in `lock`.
        if self.state.swap(UNLOCKED, Ordering::Release) == SLEEPING {
            futex::wake_one(&self.state);
        }
    }

    /// Whether the lock is held by someone (for assertions only).
    pub fn is_locked(&self) -> bool {
        self.state.load(Ordering::Relaxed) != UNLOCKED
    }
}

/// Thin futex wrappers; on platforms without a futex the wait degrades to a yield loop.
pub(crate) mod futex {
    use crate::loom::AtomicU32;

    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub(crate) fn wait(word: &AtomicU32, expected: u32) {
        // SAFETY: FUTEX_WAIT only reads the word at this valid, aligned address; a null timeout
        // means wait until woken. Spurious returns are handled by every caller's loop.
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                word.as_ptr(),
                libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
                expected,
                std::ptr::null::<libc::timespec>(),
            );
        }
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub(crate) fn wake_one(word: &AtomicU32) {
        // SAFETY: FUTEX_WAKE does not access memory beyond using the address as a key.
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                word.as_ptr(),
                libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
                1,
            );
        }
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub(crate) fn wait_timeout(word: &AtomicU32, expected: u32, d: std::time::Duration) {
        let ts = libc::timespec {
            tv_sec: d.as_secs().min(i64::MAX as u64) as libc::time_t,
            tv_nsec: d.subsec_nanos() as libc::c_long,
        };
        // SAFETY: FUTEX_WAIT reads the word at this valid address; `ts` outlives the call.
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                word.as_ptr(),
                libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
                expected,
                &ts as *const libc::timespec,
            );
        }
    }

    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    pub(crate) fn wait_timeout(word: &AtomicU32, expected: u32, d: std::time::Duration) {
        if word.load(crate::loom::Ordering::Relaxed) == expected {
            std::thread::sleep(d.min(std::time::Duration::from_micros(50)));
        }
    }

    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    pub(crate) fn wait(word: &AtomicU32, expected: u32) {
        if word.load(crate::loom::Ordering::Relaxed) == expected {
            std::thread::yield_now();
        }
    }

    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    pub(crate) fn wake_one(_word: &AtomicU32) {}
}

#[cfg(test)]
mod tests {
    use super::RawLock;
    use std::sync::Arc;

    #[test]
    fn counts_exactly_under_contention() {
        struct Shared {
            lock: RawLock,
            n: std::cell::UnsafeCell<u64>,
        }
        // SAFETY: `n` is only touched with `lock` held.
        unsafe impl Sync for Shared {}
        let s = Arc::new(Shared {
            lock: RawLock::new(),
            n: 0.into(),
        });
        let hs: Vec<_> = (0..4)
            .map(|_| {
                let s = s.clone();
                std::thread::spawn(move || {
                    for _ in 0..20_000 {
                        s.lock.lock();
                        // SAFETY: the lock is held.
                        unsafe { *s.n.get() += 1 };
                        s.lock.unlock();
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        // SAFETY: every thread has been joined.
        assert_eq!(unsafe { *s.n.get() }, 80_000);
    }
}
