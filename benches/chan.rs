//! Channel benchmarks: unbuffered ping-pong, buffered single-producer
//! single-consumer streaming, throughput with 1 and 4 senders and receivers
//! on one channel, select over 2 and 4 channels, fan-in of 4 producers, and
//! Go's concurrent prime sieve.
//!
//! Go twins: `benches/go/bench_test.go` (`BenchmarkPingPongUnbuffered`,
//! `BenchmarkSPSCBuffered`, `BenchmarkUnbuffered1x1`, `BenchmarkUnbuffered4x4`,
//! `BenchmarkBuffered1024_1x1`, `BenchmarkBuffered1024_4x4`,
//! `BenchmarkSelect2`, `BenchmarkSelect4`, `BenchmarkFanIn4`,
//! `BenchmarkSieve2000`). Compare with `scripts/bench-compare.sh`; the
//! workloads are described in `docs/benchmarks.md`.
//!
//! Every benchmark starts a runtime per sample with `gort::run` (honouring
//! `GOMAXPROCS`) and times only the ops inside the main goroutine, so the
//! runtime's start-up and shutdown are not measured.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use gort::sync::WaitGroup;
use gort::Chan;

/// Capacity of the buffered channels of `buffered1024_*` and `select*`.
const BUF: usize = 1024;

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

/// Goroutine `k`'s share when `total` ops are split over `parts` goroutines:
/// `total / parts`, plus one for the first `total % parts` goroutines.
fn share(total: u64, parts: u64, k: u64) -> u64 {
    total / parts + u64::from(k < total % parts)
}

/// `senders` goroutines send `iters` messages in all (split by `share`) on
/// one channel of capacity `cap`, and `receivers` goroutines receive them
/// (split the same way); the main goroutine starts the senders, then the
/// receivers, and joins them all. Returns the time from the first spawn to
/// the last join.
fn n_by_m(iters: u64, cap: usize, senders: u64, receivers: u64) -> Duration {
    let c = gort::chan::<u64>(cap);
    let t = Instant::now();
    let tx: Vec<_> = (0..senders)
        .map(|k| {
            let (c, n) = (c.clone(), share(iters, senders, k));
            gort::go(move || {
                for i in 0..n {
                    c.send(i);
                }
            })
        })
        .collect();
    let rx: Vec<_> = (0..receivers)
        .map(|k| {
            let (c, n) = (c.clone(), share(iters, receivers, k));
            gort::go(move || {
                let mut sum = 0u64;
                for _ in 0..n {
                    sum = sum.wrapping_add(c.recv().unwrap());
                }
                sum
            })
        })
        .collect();
    for h in tx {
        h.join().unwrap();
    }
    let mut sum = 0u64;
    for h in rx {
        sum = sum.wrapping_add(h.join().unwrap());
    }
    let elapsed = t.elapsed();
    black_box(sum);
    elapsed
}

/// Starts one producer goroutine per channel of `chans`, producer `k`
/// sending its `share` of `iters` ints on `chans[k]`.
fn start_producers(iters: u64, chans: &[Chan<u64>]) -> Vec<gort::JoinHandle<()>> {
    let parts = chans.len() as u64;
    chans
        .iter()
        .zip(0..)
        .map(|(c, k)| {
            let (c, n) = (c.clone(), share(iters, parts, k));
            gort::go(move || {
                for i in 0..n {
                    c.send(i);
                }
            })
        })
        .collect()
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

    // Senders and receivers on one channel (unbuffered, or capacity 1024);
    // the main goroutine only starts and joins them; op = one message.
    for (name, cap, n) in [
        ("unbuffered_1x1", 0, 1),
        ("unbuffered_4x4", 0, 4),
        ("buffered1024_1x1", BUF, 1),
        ("buffered1024_4x4", BUF, 4),
    ] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| gort::run(move || n_by_m(iters, cap, n, n)))
        });
    }

    // The main goroutine loops on a select over 2 channels of capacity
    // 1024, each fed by its own producer goroutine; op = one message
    // received through the select.
    group.bench_function("select2", |b| {
        b.iter_custom(|iters| {
            gort::run(move || {
                let cs = [gort::chan::<u64>(BUF), gort::chan::<u64>(BUF)];
                let [c0, c1] = &cs;
                let mut sum = 0u64;
                let t = Instant::now();
                let producers = start_producers(iters, &cs);
                for _ in 0..iters {
                    gort::select! {
                        recv(c0) -> v => sum = sum.wrapping_add(v.unwrap()),
                        recv(c1) -> v => sum = sum.wrapping_add(v.unwrap()),
                    }
                }
                for h in producers {
                    h.join().unwrap();
                }
                let elapsed = t.elapsed();
                black_box(sum);
                elapsed
            })
        })
    });

    // As `select2`, over 4 channels and 4 producers.
    group.bench_function("select4", |b| {
        b.iter_custom(|iters| {
            gort::run(move || {
                let cs = [
                    gort::chan::<u64>(BUF),
                    gort::chan::<u64>(BUF),
                    gort::chan::<u64>(BUF),
                    gort::chan::<u64>(BUF),
                ];
                let [c0, c1, c2, c3] = &cs;
                let mut sum = 0u64;
                let t = Instant::now();
                let producers = start_producers(iters, &cs);
                for _ in 0..iters {
                    gort::select! {
                        recv(c0) -> v => sum = sum.wrapping_add(v.unwrap()),
                        recv(c1) -> v => sum = sum.wrapping_add(v.unwrap()),
                        recv(c2) -> v => sum = sum.wrapping_add(v.unwrap()),
                        recv(c3) -> v => sum = sum.wrapping_add(v.unwrap()),
                    }
                }
                for h in producers {
                    h.join().unwrap();
                }
                let elapsed = t.elapsed();
                black_box(sum);
                elapsed
            })
        })
    });

    // Go's fan-in (merge) pattern: 4 producers, each with its own
    // unbuffered channel that it closes when done; one forwarding goroutine
    // per producer copies into a shared unbuffered output channel; a closer
    // goroutine closes the output once every forwarder has returned; the
    // main goroutine receives until the output is closed and drained.
    // op = one message at the consumer.
    group.bench_function("fanin4", |b| {
        b.iter_custom(|iters| {
            gort::run(move || {
                const PRODUCERS: u64 = 4;
                let out = gort::chan::<u64>(0);
                let wg = Arc::new(WaitGroup::new());
                let mut producers = Vec::with_capacity(PRODUCERS as usize);
                let mut sum = 0u64;
                let t = Instant::now();
                for k in 0..PRODUCERS {
                    let c = gort::chan::<u64>(0);
                    let (tx, n) = (c.clone(), share(iters, PRODUCERS, k));
                    producers.push(gort::go(move || {
                        for i in 0..n {
                            tx.send(i);
                        }
                        tx.close();
                    }));
                    let out = out.clone();
                    wg.go(move || {
                        while let Some(v) = c.recv() {
                            out.send(v);
                        }
                    });
                }
                let closer = {
                    let out = out.clone();
                    gort::go(move || {
                        wg.wait();
                        out.close();
                    })
                };
                while let Some(v) = out.recv() {
                    sum = sum.wrapping_add(v);
                }
                let elapsed = t.elapsed();
                for h in producers {
                    h.join().unwrap();
                }
                closer.join().unwrap();
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
