//! A bounded worker pool: a buffered channel of capacity N used as a counting semaphore. It
//! mirrors Effective Go's `sem` example from the seed notes' chapter "バッファありチャネルは
//! セマフォの役割", the `sem := make(chan struct{}, maxConcurrent)` downloader of "Day 4", and
//! the worker pool in "Go並行処理".
//!
//! A producer feeds jobs into `jobs`. The dispatcher takes one job at a time and sends to `sem`
//! before starting a goroutine for it, so a full `sem` blocks the dispatcher until a worker
//! leaves. Each worker receives from `sem` when it is done. Workers send to `results`, and a
//! WaitGroup closes `results` once all of them have finished. Every worker counts itself in and
//! out, and the largest count seen must never exceed N. Exits with status 1 if it does, or if a
//! result is wrong or missing.

use gort::sync::WaitGroup;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// At most this many jobs run at once.
const N: usize = 3;
/// How many jobs there are.
const JOBS: u64 = 20;

fn main() {
    let (results, max_seen) = gort::run(|| {
        let (jobs_tx, jobs) = gort::chan::<u64>(0).split();
        let (results_tx, results) = gort::chan::<u64>(0).split();
        let sem = gort::chan::<()>(N); // Go: sem := make(chan struct{}, N)
        let active = Arc::new(AtomicUsize::new(0));
        let max_seen = Arc::new(AtomicUsize::new(0));

        drop(gort::go(move || {
            (0..JOBS).for_each(|j| jobs_tx.send(j));
            jobs_tx.close();
        }));

        let (active2, max2) = (active.clone(), max_seen.clone());
        drop(gort::go(move || {
            let wg = Arc::new(WaitGroup::new());
            for job in &jobs {
                sem.send(()); // acquire: blocks while N workers are running
                let (sem, results, active, max_seen) = (
                    sem.clone(),
                    results_tx.clone(),
                    active2.clone(),
                    max2.clone(),
                );
                wg.go(move || {
                    let now = active.fetch_add(1, Ordering::SeqCst) + 1;
                    max_seen.fetch_max(now, Ordering::SeqCst);
                    gort::time::sleep(Duration::from_millis(2)); // the "work"
                    results.send(job * job);
                    active.fetch_sub(1, Ordering::SeqCst);
                    sem.recv(); // release: Go's `defer func() { <-sem }()`
                });
            }
            wg.wait();
            results_tx.close();
        }));

        let mut got: Vec<u64> = results.iter().collect();
        got.sort_unstable();
        (got, max_seen.load(Ordering::SeqCst))
    });

    let want: Vec<u64> = (0..JOBS).map(|j| j * j).collect();
    println!(
        "{} jobs done, results correct: {}",
        results.len(),
        results == want
    );
    println!("at most {N} at once: {}", max_seen <= N);
    println!("(most seen running at once: {max_seen})");
    if results != want || max_seen > N || max_seen == 0 {
        eprintln!("worker_pool: self-check failed");
        std::process::exit(1);
    }
}
