//! Many goroutines that sleep at once: each of N goroutines sleeps D, and main waits for all of
//! them with a `WaitGroup` (Go's `wg.Go(func() { time.Sleep(d) })`). Every sleeper parks on a
//! timer, so the whole run takes about D plus the cost of starting, timing and waking N
//! goroutines; its Go twin is `benches/go/cmd/sleepers`, and `scripts/bench-compare.sh --programs`
//! times both whole processes.
//!
//! `cargo run --release --example sleepers -- [N] [MS]` (default 100000 goroutines, 10 ms)
//! prints how many slept and the elapsed time.

use gort::sync::WaitGroup;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn main() {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<u64>());
    let n = args
        .next()
        .unwrap_or(Ok(100_000))
        .expect("N must be a number");
    let ms = args.next().unwrap_or(Ok(10)).expect("MS must be a number");
    gort::run(move || {
        let d = Duration::from_millis(ms);
        let start = Instant::now();
        let wg = Arc::new(WaitGroup::new());
        for _ in 0..n {
            wg.go(move || gort::time::sleep(d));
        }
        wg.wait();
        println!("sleepers: {n} goroutines slept {ms}ms each");
        println!("elapsed = {:.1}ms", start.elapsed().as_secs_f64() * 1e3);
    });
}
