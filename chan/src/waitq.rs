//! `WaitQ`: a channel's FIFO queue of waiting sudogs (its sendq or recvq), intrusive and
//! doubly linked so a select can remove its losing sudogs in O(1).
//!
//! # Invariants
//! Protected by the owning `HChan`'s lock. A sudog is on at most one queue.

use gort_runtime::rt::Sudog;
use std::ptr;

/// A FIFO of sudogs. See the module docs.
pub(crate) struct WaitQ {
    first: *mut Sudog,
    last: *mut Sudog,
}

impl WaitQ {
    pub(crate) const fn new() -> WaitQ {
        WaitQ {
            first: ptr::null_mut(),
            last: ptr::null_mut(),
        }
    }

    /// Appends `sg`.
    ///
    /// # Safety
    /// `sg` must be valid and on no queue; the channel lock must be held.
    pub(crate) unsafe fn enqueue(&mut self, sg: *mut Sudog) {
        // SAFETY: per the contract `sg` and every queued sudog are valid and ours to link.
        unsafe {
            (*sg).next = ptr::null_mut();
            (*sg).prev = self.last;
            if self.last.is_null() {
                self.first = sg;
            } else {
                (*self.last).next = sg;
            }
        }
        self.last = sg;
    }

    /// Removes and returns the first sudog whose G can be woken: a select's sudog counts only if
    /// this waker wins the G's `selectdone` race (Go's `waitq.dequeue`).
    ///
    /// # Safety
    /// The channel lock must be held.
    pub(crate) unsafe fn dequeue(&mut self) -> Option<*mut Sudog> {
        loop {
            let sg = self.first;
            if sg.is_null() {
                return None;
            }
            // SAFETY: queued sudogs are valid while the lock is held (contract).
            unsafe {
                let next = (*sg).next;
                self.first = next;
                if next.is_null() {
                    self.last = ptr::null_mut();
                } else {
                    (*next).prev = ptr::null_mut();
                }
                (*sg).next = ptr::null_mut();
                (*sg).prev = ptr::null_mut();
                if (*sg).is_select {
                    let g = (*sg).g.expect("queued sudog has a G");
                    // ORDERING: the select win race; AcqRel so the winner's writes to the
                    // sudog and the G's `param` are ordered with the loser's view.
                    if g.selectdone
                        .compare_exchange(
                            0,
                            1,
                            gort_runtime::loom::Ordering::AcqRel,
                            gort_runtime::loom::Ordering::Acquire,
                        )
                        .is_err()
                    {
                        continue;
                    }
                }
                return Some(sg);
            }
        }
    }

    /// Removes `sg` from anywhere in the queue (a select's losing case).
    ///
    /// # Safety
    /// `sg` must be on this queue or on none (then this is a no-op when it is not the head);
    /// the channel lock must be held.
    pub(crate) unsafe fn remove(&mut self, sg: *mut Sudog) {
        // SAFETY: per the contract.
        unsafe {
            let (prev, next) = ((*sg).prev, (*sg).next);
            if prev.is_null() {
                if self.first != sg {
                    return;
                }
                self.first = next;
            } else {
                (*prev).next = next;
            }
            if next.is_null() {
                self.last = prev;
            } else {
                (*next).prev = prev;
            }
            (*sg).next = ptr::null_mut();
            (*sg).prev = ptr::null_mut();
        }
    }
}
