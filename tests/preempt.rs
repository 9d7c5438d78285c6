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

/// Under `GORT_RETAKE_STORM=1` sysmon takes the P of every goroutine in user code, every round,
/// so the hand-off paths run thousands of times. Goroutines that trade values over unbuffered
/// channels and `select!` (Go's test/chan/select2.go pattern, and a ping-pong) must all finish:
/// no value lost, no false deadlock report while sysmon holds a P it took (the bug this
/// found: `checkdead` ran between the take and `handoffp`).
#[test]
fn retake_storm_loses_no_goroutine() {
    common::scenario("storm", || {
        let mut retakes = 0;
        for round in 0..20 {
            for procs in [1, 2, 4] {
                retakes += run_with(procs, move || {
                    let c = gort::chan::<u64>(0);
                    let dummy = gort::chan::<u64>(0);
                    let (tx, _) = c.clone().split();
                    let n = 2_000;
                    let sender = gort::go(move || {
                        for i in 0..n {
                            tx.send(i);
                        }
                    });
                    let mut sum = 0;
                    for _ in 0..n {
                        gort::select! {
                            recv(c) -> v => sum += v.unwrap(),
                            recv(dummy) -> _ => panic!("dummy"),
                        }
                    }
                    sender.join().unwrap();
                    assert_eq!(sum, n * (n - 1) / 2, "round {round}, GOMAXPROCS={procs}");
                    let (ping, pong) = (gort::chan::<u64>(0), gort::chan::<u64>(0));
                    let echo = {
                        let (ping, pong) = (ping.clone(), pong.clone());
                        gort::go(move || {
                            while let Some(v) = ping.recv() {
                                pong.send(v + 1);
                            }
                        })
                    };
                    for i in 0..1_000 {
                        ping.send(i);
                        assert_eq!(pong.recv(), Some(i + 1));
                    }
                    ping.close();
                    echo.join().unwrap();
                    gort::runtime::metrics().hog_retakes
                });
            }
        }
        // The storm must really have taken Ps (membarrier is there on the Linux machines
        // this runs on; elsewhere sysmon never takes a hog's P and the count stays 0).
        assert!(retakes > 0 || !cfg!(target_os = "linux"), "no P was taken");
        println!("STORM ok hog_retakes={retakes}");
    });
    let o = common::spawn_scenario(
        "retake_storm_loses_no_goroutine",
        "storm",
        &[("GORT_RETAKE_STORM", "1")],
    );
    common::expect_scenario_ok(&o, "STORM ok");
}
