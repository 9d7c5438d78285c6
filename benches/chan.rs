//! Channel benchmarks: unbuffered ping-pong, buffered single-producer
//! single-consumer streaming, and Go's concurrent prime sieve.
//!
//! Go twins: `benches/go/bench_test.go` (`BenchmarkPingPongUnbuffered`,
//! `BenchmarkSPSCBuffered`, `BenchmarkSieve2000`). Compare with
//! `scripts/bench-compare.sh`; the workloads are described in
//! `docs/benchmarks.md`.
//!
//! Every benchmark starts a runtime per sample with `gort::run` (honouring
//! `GOMAXPROCS`) and times only the ops inside the main goroutine, so the
//! runtime's start-up and shutdown are not measured.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use gort::Chan;

/// How many primes `sieve_2000` computes per op.
const SIEVE_PRIMES: usize = 2000;
/// The 2000th prime: the generator stops there (see `sieve`).
const SIEVE_LIMIT: i64 = 17389;

/// Sends 2, 3, 4, ..., `limit` to `ch`, then closes it.
fn generate(ch: Chan<i64>, limit: i64) {
    for i in 2..=limit {
        ch.send(i);
    }
    ch.close();
}

/// Copies the values from `input` to `out`, removing those divisible by
/// `prime`; closes `out` once `input` is closed and drained.
fn filter(input: Chan<i64>, out: Chan<i64>, prime: i64) {
    while let Some(i) = input.recv() {
        if i % prime != 0 {
            out.send(i);
        }
    }
    out.close();
}

/// The concurrent prime sieve of go.dev/doc/play/sieve.go, made to end (as
/// its Go twin is): returns the `n`-th prime; `limit` must be at least that
/// prime. Every goroutine it starts has returned when it returns.
fn sieve(n: usize, limit: i64) -> i64 {
    let mut handles = Vec::with_capacity(n + 1);
    let mut ch = gort::chan::<i64>(0);
    {
        let ch = ch.clone();
        handles.push(gort::go(move || generate(ch, limit)));
    }
    let mut prime = 0;
    for _ in 0..n {
        prime = ch
            .recv()
            .expect("sieve: channel closed before the last prime");
        let ch1 = gort::chan::<i64>(0);
        let out = ch1.clone();
        handles.push(gort::go(move || filter(ch, out, prime)));
        ch = ch1;
    }
    // Drain the last filter's output: when it is closed, every stage has
    // done its work.
    while ch.recv().is_some() {}
    for h in handles {
        h.join().unwrap();
    }
    prime
}

fn chan(c: &mut Criterion) {
    let mut group = c.benchmark_group("chan");
    group
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1))
        .sample_size(20)
        .throughput(Throughput::Elements(1)); // per op, as described below

    // Two goroutines, two unbuffered channels; op = one round trip.
    group.bench_function("pingpong_unbuffered", |b| {
        b.iter_custom(|iters| {
            gort::run(move || {
                let ping = gort::chan::<u64>(0);
                let pong = gort::chan::<u64>(0);
                let echo = {
                    let (ping, pong) = (ping.clone(), pong.clone());
                    gort::go(move || {
                        while let Some(v) = ping.recv() {
                            pong.send(v);
                        }
                    })
                };
                let mut sum = 0u64;
                let t = Instant::now();
                for i in 0..iters {
                    ping.send(i);
                    sum = sum.wrapping_add(pong.recv().unwrap());
                }
                let elapsed = t.elapsed();
                ping.close();
                echo.join().unwrap();
                black_box(sum);
                elapsed
            })
        })
    });

    // A channel of capacity 1024: one producer goroutine sends `iters` ints
    // and closes it, the main goroutine receives until closed and drained;
    // op = one message.
    group.bench_function("spsc_buffered", |b| {
        b.iter_custom(|iters| {
            gort::run(move || {
                let c = gort::chan::<u64>(1024);
                let tx = c.clone();
                let t = Instant::now();
                let producer = gort::go(move || {
                    for i in 0..iters {
                        tx.send(i);
                    }
                    tx.close();
                });
                let mut sum = 0u64;
                while let Some(v) = c.recv() {
                    sum = sum.wrapping_add(v);
                }
                let elapsed = t.elapsed();
                producer.join().unwrap();
                black_box(sum);
                elapsed
            })
        })
    });

    // The concurrent prime sieve for the first 2000 primes (one generator
    // and 2000 filter goroutines, unbuffered channels); op = the whole
    // sieve. An op takes a good part of a second, so sample flat: the same
    // iteration count in every sample.
    group.sampling_mode(SamplingMode::Flat);
    group.bench_function("sieve_2000", |b| {
        b.iter_custom(|iters| {
            gort::run(move || {
                let t = Instant::now();
                for _ in 0..iters {
                    let p = sieve(SIEVE_PRIMES, SIEVE_LIMIT);
                    assert_eq!(p, SIEVE_LIMIT, "sieve: wrong prime #{SIEVE_PRIMES}");
                }
                t.elapsed()
            })
        })
    });

    group.finish();
}

criterion_group!(benches, chan);
criterion_main!(benches);
