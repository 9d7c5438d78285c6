//! Timers: sleep and after park goroutines (other goroutines keep running on the same P), a
//! timer in select works as a receive timeout, and a runtime whose goroutines only wait on
//! timers is not reported as deadlocked. Assertions are about order and completion, never
//! about how long anything took.

mod common;

use common::for_each_procs;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[test]
fn sleep_waits_at_least_the_duration() {
    for_each_procs(|| {
        let t = Instant::now();
        gort::time::sleep(Duration::from_millis(5));
        assert!(t.elapsed() >= Duration::from_millis(5));
        gort::time::sleep(Duration::ZERO);
    });
}

#[test]
fn a_sleeping_goroutine_does_not_block_its_p() {
    // At GOMAXPROCS=1 a sleeper must not stop the other goroutine from running to completion
    // first (it does far less than the sleep's worth of work, in progress counted, not timed).
    for_each_procs(|| {
        let progress = Arc::new(AtomicU64::new(0));
        let p2 = progress.clone();
        let sleeper = gort::go(move || {
            gort::time::sleep(Duration::from_millis(50));
            p2.load(Ordering::SeqCst)
        });
        let worker = gort::go({
            let p = progress.clone();
            move || {
                for _ in 0..1000 {
                    p.fetch_add(1, Ordering::SeqCst);
                    gort::runtime::gosched();
                }
            }
        });
        worker.join().unwrap();
        let seen = sleeper.join().unwrap();
        assert_eq!(progress.load(Ordering::SeqCst), 1000);
        assert!(seen <= 1000);
    });
}

#[test]
fn many_sleepers_wake_in_deadline_order_per_goroutine() {
    for_each_procs(|| {
        let order = gort::chan::<u64>(100);
        let hs: Vec<_> = (0..100u64)
            .map(|i| {
                let o = order.clone();
                gort::go(move || {
                    gort::time::sleep(Duration::from_millis(1 + (i % 10)));
                    o.send(i);
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        order.close();
        let mut got: Vec<u64> = order.iter().collect();
        got.sort();
        assert_eq!(got, (0..100).collect::<Vec<_>>());
    });
}

#[test]
fn after_delivers_once() {
    for_each_procs(|| {
        let t0 = Instant::now();
        let c = gort::time::after(Duration::from_millis(3));
        let t = c.recv().unwrap();
        assert!(t >= t0 + Duration::from_millis(3));
        assert_eq!(c.try_recv(), Err(gort::TryRecvError::Empty));
    });
}

#[test]
fn receive_with_timeout_in_select() {
    for_each_procs(|| {
        let never = gort::chan::<u32>(0);
        let r = gort::select! {
            recv(never) -> _v => "value",
            recv(gort::time::after(Duration::from_millis(2))) -> _t => "timeout",
        };
        assert_eq!(r, "timeout");
        // And the value wins when it is there first.
        let c = gort::chan::<u32>(1);
        c.send(1);
        let r = gort::select! {
            recv(c) -> _v => "value",
            recv(gort::time::after(Duration::from_secs(3600))) -> _t => "timeout",
        };
        assert_eq!(r, "value");
    });
}

#[test]
fn only_sleepers_is_not_a_deadlock() {
    // Every goroutine is asleep on a timer and every M is idle: checkdead must not fire.
    for_each_procs(|| {
        let hs: Vec<_> = (0..10)
            .map(|_| gort::go(|| gort::time::sleep(Duration::from_millis(20))))
            .collect();
        gort::time::sleep(Duration::from_millis(30));
        for h in hs {
            h.join().unwrap();
        }
    });
}
