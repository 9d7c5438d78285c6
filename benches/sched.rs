//! Scheduler benchmarks: spawning and joining goroutines.
//!
//! Go twins: `benches/go/bench_test.go` (`BenchmarkSpawnJoin`,
//! `BenchmarkSpawnJoinBatch1000`). Compare with `scripts/bench-compare.sh`;
//! the workloads are described in `docs/benchmarks.md`.
//!
//! Every benchmark starts a runtime per sample with `gort::run` (honouring
//! `GOMAXPROCS`) and times only the ops inside the main goroutine, so the
//! runtime's start-up and shutdown are not measured.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

/// Goroutines spawned before waiting, in `spawn_join_batch1000`.
const BATCH: u64 = 1000;

fn sched(c: &mut Criterion) {
    let mut group = c.benchmark_group("sched");
    group
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1))
        .sample_size(20)
        .throughput(Throughput::Elements(1));

    // op = spawn one goroutine that produces a value, and join it.
    group.bench_function("spawn_join", |b| {
        b.iter_custom(|iters| {
            gort::run(move || {
                let t = Instant::now();
                for i in 0..iters {
                    black_box(gort::go(move || i).join().unwrap());
                }
                t.elapsed()
            })
        })
    });

    // Spawn 1000 goroutines, then join them all; op = one goroutine
    // (`iters` counts goroutines; the last batch may be short, as in Go).
    group.bench_function("spawn_join_batch1000", |b| {
        b.iter_custom(|iters| {
            gort::run(move || {
                let mut handles = Vec::with_capacity(BATCH as usize);
                let mut sum = 0u64;
                let t = Instant::now();
                let mut n = 0;
                while n < iters {
                    let k = BATCH.min(iters - n);
                    for j in 0..k {
                        let v = n + j;
                        handles.push(gort::go(move || v));
                    }
                    for h in handles.drain(..) {
                        sum = sum.wrapping_add(h.join().unwrap());
                    }
                    n += k;
                }
                let elapsed = t.elapsed();
                black_box(sum);
                elapsed
            })
        })
    });

    group.finish();
}

criterion_group!(benches, sched);
criterion_main!(benches);
