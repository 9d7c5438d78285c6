//! Preemption and liveness: a goroutine that spins in a pure loop (no channel operation, no
//! `preempt_point`, no call into gort at all) cannot stop the others, at any GOMAXPROCS:
//! sysmon asks it to yield, and when it does not, takes its P as from a blocking call. The
//! assertions count progress; nothing is timed except a generous safety valve that turns a
//! hang into a failure.

mod common;

use common::run_with;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The hog gives up after this long, so a broken runtime fails the test instead of hanging it.
const SAFETY_VALVE: Duration = Duration::from_secs(120);

#[test]
fn a_pure_loop_does_not_stop_other_goroutines() {
    for procs in [1, 2] {
        run_with(procs, move || {
            let started = Arc::new(AtomicBool::new(false));
            let progress = Arc::new(AtomicU64::new(0));
            let target = 200 * procs as u64;
            // The hog starts first and spins until the others have made all their progress.
            let hog = {
                let started = started.clone();
                let progress = progress.clone();
                gort::go(move || {
                    started.store(true, Ordering::SeqCst);
                    let t = Instant::now();
                    while progress.load(Ordering::SeqCst) < target && t.elapsed() < SAFETY_VALVE {
                        std::hint::spin_loop();
                    }
                    progress.load(Ordering::SeqCst)
                })
            };
            while !started.load(Ordering::SeqCst) {
                gort::runtime::gosched();
            }
            // The hog is running; these goroutines must still get to run.
            let workers: Vec<_> = (0..procs)
                .map(|_| {
                    let progress = progress.clone();
                    gort::go(move || {
                        for _ in 0..200 {
                            progress.fetch_add(1, Ordering::SeqCst);
                            gort::runtime::gosched();
                        }
                    })
                })
                .collect();
            for w in workers {
                w.join().unwrap();
            }
            assert_eq!(hog.join().unwrap(), target, "GOMAXPROCS={procs}");
            if procs == 1 {
                // Only taking the hog's P lets anything else run at GOMAXPROCS=1.
                assert!(gort::runtime::metrics().hog_retakes > 0);
            }
        });
    }
}

#[test]
fn a_hog_that_lost_its_p_keeps_using_the_runtime_correctly() {
    // After its P is taken, the hog goes on calling into the runtime (spawning, channel
    // operations, joins) from an M without a P; everything it sends arrives exactly once.
    run_with(1, || {
        let started = Arc::new(AtomicBool::new(false));
        let released = Arc::new(AtomicBool::new(false));
        let c = gort::chan::<u64>(1024);
        let hog = {
            let (started, released, c) = (started.clone(), released.clone(), c.clone());
            gort::go(move || {
                started.store(true, Ordering::SeqCst);
                let t = Instant::now();
                while !released.load(Ordering::SeqCst) && t.elapsed() < SAFETY_VALVE {
                    std::hint::spin_loop();
                }
                let hs: Vec<_> = (0..100u64)
                    .map(|i| {
                        let c = c.clone();
                        gort::go(move || c.send(i))
                    })
                    .collect();
                for h in hs {
                    h.join().unwrap();
                }
                c.close();
            })
        };
        while !started.load(Ordering::SeqCst) {
            gort::runtime::gosched();
        }
        // We only run again once sysmon has taken the hog's P.
        released.store(true, Ordering::SeqCst);
        let mut got: Vec<u64> = c.iter().collect();
        hog.join().unwrap();
        got.sort_unstable();
        assert_eq!(got, (0..100).collect::<Vec<_>>());
    });
}
