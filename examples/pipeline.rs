//! A four-stage pipeline (Go blog, "Go Concurrency Patterns: Pipelines"): generate -> square ->
//! add -> sink, each stage a goroutine, linked by unbuffered channels. Every value crosses three
//! rendezvous hand-offs, so the run time is mostly channel and scheduler cost.
//!
//! The generator sends 1..=N and closes its channel; each middle stage ranges over its input
//! until that is closed and then closes its output; the sink sums what arrives. The sum is
//! checked against the closed form N(N+1)(2N+1)/6 + N*ADD and the process exits with status 1
//! if it differs.
//!
//! `cargo run --release --example pipeline -- N` (N defaults to 100000, at most 2^32 - 1 so
//! that i*i + ADD fits in a u64). Set `GOMAXPROCS=1`, `2`, `4` to compare schedules.

use gort::{Receiver, Sender};
use std::time::{Duration, Instant};

/// What the add stage adds to every value.
const ADD: u64 = 1;

/// Sends 1..=n, then closes.
fn generate(n: u64, out: Sender<u64>) {
    for i in 1..=n {
        out.send(i);
    }
    out.close();
}

/// Sends the square of every input value; closes its output when the input is closed.
fn square(input: Receiver<u64>, out: Sender<u64>) {
    for v in &input {
        out.send(v * v);
    }
    out.close();
}

/// Sends every input value plus `k`; closes its output when the input is closed.
fn add(input: Receiver<u64>, out: Sender<u64>, k: u64) {
    for v in &input {
        out.send(v + k);
    }
    out.close();
}

/// Sums every input value until the input is closed.
fn sink(input: Receiver<u64>) -> u128 {
    let mut sum = 0u128;
    for v in &input {
        sum += u128::from(v);
    }
    sum
}

/// The sum the pipeline must produce: the sum of i*i + ADD for i in 1..=n.
fn expected(n: u64) -> u128 {
    let n = u128::from(n);
    n * (n + 1) * (2 * n + 1) / 6 + n * u128::from(ADD)
}

fn usage() -> ! {
    eprintln!(
        "usage: pipeline [N]  (N = how many values to send, 1 to {})",
        u32::MAX
    );
    std::process::exit(2)
}

fn main() {
    let n: u64 = match std::env::args().nth(1) {
        None => 100_000,
        Some(a) => match a.parse() {
            Ok(n) if (1..=u64::from(u32::MAX)).contains(&n) => n,
            _ => usage(),
        },
    };

    let (sum, elapsed, procs) = gort::run(move || {
        let start = Instant::now();
        let (gen_tx, gen_rx) = gort::chan::<u64>(0).split();
        let (sq_tx, sq_rx) = gort::chan::<u64>(0).split();
        let (add_tx, add_rx) = gort::chan::<u64>(0).split();
        let stages = [
            gort::go(move || generate(n, gen_tx)),
            gort::go(move || square(gen_rx, sq_tx)),
            gort::go(move || add(sq_rx, add_tx, ADD)),
        ];
        let sum = gort::go(move || sink(add_rx))
            .join()
            .expect("sink goroutine panicked");
        for h in stages {
            h.join().expect("pipeline stage panicked");
        }
        (sum, start.elapsed(), gort::runtime::gomaxprocs())
    });

    println!("sum = {sum}");
    println!(
        "elapsed = {:.3}ms (n = {n}, GOMAXPROCS = {procs})",
        ms(elapsed)
    );
    let want = expected(n);
    if sum != want {
        eprintln!("pipeline: wrong sum: got {sum}, want {want}");
        std::process::exit(1);
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
