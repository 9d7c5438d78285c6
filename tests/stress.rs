//! Conservation under load: many producers and consumers on buffered and unbuffered channels,
//! nested spawns and WaitGroups, at GOMAXPROCS 1, 2 and 4, repeated. Every value sent is
//! received exactly once and every goroutine finishes; a lost wake-up shows as a deadlock
//! report (exit status 2) or a hang, never as a silent pass.

mod common;

use common::for_each_procs;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

fn mpmc(cap: usize, producers: u64, consumers: usize, per: u64) {
    let c = gort::chan::<u64>(cap);
    let wg = Arc::new(gort::sync::WaitGroup::new());
    for p in 0..producers {
        let c = c.clone();
        wg.go(move || {
            for i in 0..per {
                c.send(p * per + i);
            }
        });
    }
    let sums: Vec<_> = (0..consumers)
        .map(|_| {
            let c = c.clone();
            gort::go(move || {
                let mut seen = Vec::new();
                for v in &c {
                    seen.push(v);
                }
                seen
            })
        })
        .collect();
    wg.wait();
    c.close();
    let mut all: Vec<u64> = sums.into_iter().flat_map(|h| h.join().unwrap()).collect();
    all.sort_unstable();
    assert_eq!(all, (0..producers * per).collect::<Vec<_>>());
}

#[test]
fn mpmc_conservation() {
    for_each_procs(|| {
        for round in 0..5 {
            for cap in [0, 1, 16] {
                mpmc(cap, 4 + round, 3, 2_000);
            }
        }
    });
}

#[test]
fn spawn_storm_with_channels() {
    for_each_procs(|| {
        let total = Arc::new(AtomicU64::new(0));
        let done = gort::chan::<()>(0);
        let n = 2_000u64;
        for i in 0..n {
            let (total, done) = (total.clone(), done.clone());
            drop(gort::go(move || {
                // Each goroutine spawns a child and hands it a value over a channel.
                let c = gort::chan::<u64>(0);
                let c2 = c.clone();
                let h = gort::go(move || c2.recv().unwrap() * 2);
                c.send(i);
                total.fetch_add(h.join().unwrap(), Ordering::SeqCst);
                done.send(());
            }));
        }
        for _ in 0..n {
            done.recv().unwrap();
        }
        assert_eq!(total.load(Ordering::SeqCst), n * (n - 1));
    });
}

#[test]
fn ring_of_goroutines_passes_a_token() {
    for_each_procs(|| {
        let n = 500;
        let chans: Vec<_> = (0..n).map(|_| gort::chan::<u64>(0)).collect();
        let mut hs = Vec::new();
        for i in 0..n {
            let (rx, tx) = (chans[i].clone(), chans[(i + 1) % n].clone());
            hs.push(gort::go(move || {
                let mut passes = 0;
                while let Some(v) = rx.recv() {
                    if v == 0 {
                        break;
                    }
                    passes += 1;
                    tx.send(v - 1);
                }
                // The close travels round the ring: whoever stops first closes its output,
                // which ends the next goroutine's loop, and so on.
                tx.close();
                passes
            }));
        }
        chans[0].send(20 * n as u64);
        // Goroutine n-1 closes chans[0] at the end; nothing else reads it by then.
        let passes: u64 = hs.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(passes, 20 * n as u64);
    });
}
