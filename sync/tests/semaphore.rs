//! Semaphore: golang.org/x/sync/semaphore's semantics. Limits, FIFO service (a large request
//! at the front is not overtaken), cancellation and deadlines while waiting, the panic on
//! over-release, and a stress run that checks the weight held never exceeds the size. Each
//! test runs at GOMAXPROCS 1, 2 and 4 and checks outcomes, never durations.

use gort::context::{self, ContextError};
use gort::sync::{Semaphore, WaitGroup};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn for_each_procs(f: impl Fn() + Send + Sync + Clone + 'static) {
    for p in [1, 2, 4] {
        let f = f.clone();
        gort::Builder::new().max_procs(p).run(f);
    }
}

/// Goroutines parked in a `select` (a waiting `acquire` parks in one).
fn parked_in_select() -> usize {
    gort::runtime::stack_dump()
        .lines()
        .filter(|l| l.ends_with("[select]:"))
        .count()
}

/// Polls until `n` goroutines are parked in `acquire`. Only the outcome is checked.
fn wait_for_waiters(n: usize) {
    while parked_in_select() != n {
        gort::time::sleep(Duration::from_millis(1));
    }
}

#[test]
fn try_acquire_respects_the_size() {
    for_each_procs(|| {
        let sem = Semaphore::new(10);
        assert_eq!(sem.size(), 10);
        assert!(sem.try_acquire(3));
        assert!(sem.try_acquire(7));
        assert!(!sem.try_acquire(1));
        sem.release(5);
        assert!(!sem.try_acquire(6));
        assert!(sem.try_acquire(5));
        sem.release(10);
        assert!(sem.try_acquire(10));
        sem.release(10);
        assert!(sem.try_acquire(0));
        assert!(!sem.try_acquire(11));
        assert!(format!("{sem:?}").contains("held: 0"));
    });
}

#[test]
fn releasing_more_than_held_panics() {
    for_each_procs(|| {
        let sem = Semaphore::new(2);
        sem.acquire(&context::background(), 1).unwrap();
        let err = catch_unwind(AssertUnwindSafe(|| sem.release(2))).unwrap_err();
        assert_eq!(
            err.downcast_ref::<&str>(),
            Some(&"semaphore: released more than held")
        );
        // The lock was released before the panic; the count is unchanged.
        sem.release(1);
        assert!(sem.try_acquire(2));
    });
}

#[test]
fn acquire_parks_until_release() {
    for_each_procs(|| {
        let sem = Arc::new(Semaphore::new(2));
        let bg = context::background();
        sem.acquire(&bg, 2).unwrap();
        let s = sem.clone();
        let h = gort::go(move || s.acquire(&context::background(), 1));
        wait_for_waiters(1);
        assert!(!sem.try_acquire(0), "a waiter is queued: nobody may barge");
        sem.release(1);
        assert_eq!(h.join().unwrap(), Ok(()));
        sem.release(2);
        assert!(sem.try_acquire(2));
    });
}

#[test]
fn waiters_are_served_in_arrival_order() {
    for_each_procs(|| {
        let sem = Arc::new(Semaphore::new(1));
        sem.acquire(&context::background(), 1).unwrap();
        let order = gort::chan::<usize>(10);
        for i in 0..10 {
            let (sem, order) = (sem.clone(), order.clone());
            drop(gort::go(move || {
                sem.acquire(&context::background(), 1).unwrap();
                order.send(i);
                sem.release(1); // hands over to the next in line
            }));
            wait_for_waiters(i + 1); // queued before the next one starts
        }
        sem.release(1);
        let got: Vec<usize> = (0..10).map(|_| order.recv().unwrap()).collect();
        assert_eq!(got, (0..10).collect::<Vec<_>>());
    });
}

#[test]
fn a_large_request_at_the_front_is_not_overtaken() {
    for_each_procs(|| {
        let sem = Arc::new(Semaphore::new(10));
        let bg = context::background();
        sem.acquire(&bg, 10).unwrap();
        let log = gort::chan::<&str>(2);

        let (s, l) = (sem.clone(), log.clone());
        drop(gort::go(move || {
            s.acquire(&context::background(), 10).unwrap();
            l.send("big");
            s.release(10);
        }));
        wait_for_waiters(1);
        let (s, l) = (sem.clone(), log.clone());
        drop(gort::go(move || {
            s.acquire(&context::background(), 1).unwrap();
            l.send("small");
            s.release(1);
        }));
        wait_for_waiters(2);

        // One unit free: enough for "small", but "big" is in front, so nobody runs.
        sem.release(1);
        assert!(!sem.try_acquire(1));
        sem.release(9);
        assert_eq!(log.recv(), Some("big"));
        assert_eq!(log.recv(), Some("small"));
    });
}

#[test]
fn cancellation_while_waiting_leaves_the_semaphore_unchanged() {
    for_each_procs(|| {
        let sem = Arc::new(Semaphore::new(1));
        let bg = context::background();
        sem.acquire(&bg, 1).unwrap();

        let (ctx, cancel) = context::with_cancel(&bg);
        let s = sem.clone();
        let h = gort::go(move || s.acquire(&ctx, 1));
        wait_for_waiters(1);
        cancel.cancel();
        assert_eq!(h.join().unwrap(), Err(ContextError::Canceled));

        // A deadline works the same way.
        let (ctx, cancel) = context::with_timeout(&bg, Duration::from_millis(2));
        assert_eq!(sem.acquire(&ctx, 1), Err(ContextError::DeadlineExceeded));
        cancel.cancel();

        sem.release(1);
        assert!(sem.try_acquire(1), "the cancelled waiters took nothing");
        sem.release(1);

        // Done on entry: fails even though the weight is free (Go checks done first).
        let (done, cancel) = context::with_cancel(&bg);
        cancel.cancel();
        assert_eq!(sem.acquire(&done, 1), Err(ContextError::Canceled));
        assert!(sem.try_acquire(1));
    });
}

#[test]
fn a_cancelled_front_waiter_lets_the_next_ones_in() {
    for_each_procs(|| {
        let sem = Arc::new(Semaphore::new(10));
        let bg = context::background();
        sem.acquire(&bg, 5).unwrap(); // 5 free

        let (ctx, cancel) = context::with_cancel(&bg);
        let s = sem.clone();
        let big = gort::go(move || s.acquire(&ctx, 10));
        wait_for_waiters(1);
        let s = sem.clone();
        let small = gort::go(move || s.acquire(&context::background(), 5));
        wait_for_waiters(2); // queued behind "big" although 5 are free

        cancel.cancel();
        assert_eq!(big.join().unwrap(), Err(ContextError::Canceled));
        assert_eq!(small.join().unwrap(), Ok(()));
        assert!(!sem.try_acquire(1), "5 + 5 held");
        sem.release(10);
    });
}

#[test]
fn a_request_above_the_size_waits_for_the_context() {
    for_each_procs(|| {
        let sem = Semaphore::new(3);
        let (ctx, cancel) = context::with_timeout(&context::background(), Duration::from_millis(2));
        assert_eq!(sem.acquire(&ctx, 4), Err(ContextError::DeadlineExceeded));
        cancel.cancel();
        assert!(sem.try_acquire(3));
    });
}

#[test]
fn stress_the_weight_held_never_exceeds_the_size() {
    for_each_procs(|| {
        const SIZE: u64 = 4;
        let sem = Arc::new(Semaphore::new(SIZE));
        let held = Arc::new(AtomicU64::new(0));
        let wg = Arc::new(WaitGroup::new());
        for g in 0..16u64 {
            let (sem, held) = (sem.clone(), held.clone());
            wg.go(move || {
                let bg = context::background();
                for i in 0..200u64 {
                    let n = 1 + (g + i) % SIZE;
                    if i % 5 == 0 {
                        if !sem.try_acquire(n) {
                            continue;
                        }
                    } else {
                        sem.acquire(&bg, n).unwrap();
                    }
                    let now = held.fetch_add(n, Ordering::SeqCst) + n;
                    assert!(now <= SIZE, "{now} held out of {SIZE}");
                    gort::runtime::gosched();
                    held.fetch_sub(n, Ordering::SeqCst);
                    sem.release(n);
                }
            });
        }
        wg.wait();
        assert!(sem.try_acquire(SIZE), "everything was released");
    });
}
