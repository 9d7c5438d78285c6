//! `Cond`: Go's sync.Cond over the runtime's ticket-based notify list.
//!
//! `wait` takes a ticket while the mutex is still held, unlocks, parks on the ticket, and
//! locks again; `signal` wakes the longest waiter, `broadcast` every waiter. A signal between
//! the unlock and the park is not lost: the ticket was taken first.

use crate::mutex::MutexGuard;
use gort_runtime::rt::{NotifyList, WaitReason};

/// A condition variable (Go's `sync.Cond`), used with a [`crate::Mutex`] guard.
#[derive(Default)]
pub struct Cond {
    notify: NotifyList,
}

impl std::fmt::Debug for Cond {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cond")
    }
}

impl Cond {
    /// A new condition variable.
    pub const fn new() -> Cond {
        Cond {
            notify: NotifyList::new(),
        }
    }

    /// Unlocks the guard's mutex, parks until signalled, and locks it again. As in Go, the
    /// condition must be re-checked in a loop after waking.
    ///
    /// # Panics
    /// Outside a goroutine.
    #[track_caller]
    pub fn wait<'a, T: ?Sized>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        let t = self.notify.add();
        let m = guard.mutex();
        drop(guard);
        self.notify.wait(t, WaitReason::SyncCondWait);
        m.raw().lock();
        MutexGuard::relocked(m)
    }

    /// Wakes one waiting goroutine (the one waiting longest), if any.
    pub fn signal(&self) {
        self.notify.notify_one();
    }

    /// Wakes every waiting goroutine.
    pub fn broadcast(&self) {
        self.notify.notify_all();
    }
}
