//! Sync benchmarks: Mutex uncontended and contended by 8 goroutines,
//! RwMutex read-mostly, WaitGroup add/done, the Once fast path, and Pool
//! get/put.
//!
//! Go twins: `benches/go/sync_test.go` (`BenchmarkMutexUncontended`,
//! `BenchmarkMutexContended8`, `BenchmarkRWMutexReadMostly`,
//! `BenchmarkWaitGroupAddDone`, `BenchmarkOnce`, `BenchmarkPool`). Compare
//! with `scripts/bench-compare.sh`; the workloads are described in
//! `docs/benchmarks.md`.
//!
//! Every benchmark starts a runtime per sample with `gort::run` (honouring
//! `GOMAXPROCS`) and times only the ops inside the main goroutine, so the
//! runtime's start-up and shutdown are not measured.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use gort::sync::{Mutex, Once, Pool, RwMutex, WaitGroup};

/// Goroutines in `mutex_contended8` and `rwmutex_read_mostly`.
const WORKERS: u64 = 8;
/// In `rwmutex_read_mostly`, every `WRITE_EVERY`-th op of a goroutine is a
/// write lock.
const WRITE_EVERY: u64 = 100;

/// Goroutine `k`'s share when `total` ops are split over `parts` goroutines:
/// `total / parts`, plus one for the first `total % parts` goroutines.
fn share(total: u64, parts: u64, k: u64) -> u64 {
    total / parts + u64::from(k < total % parts)
}

fn sync(c: &mut Criterion) {
    let mut group = c.benchmark_group("sync");
    group
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1))
        .sample_size(20)
        .throughput(Throughput::Elements(1)); // per op, as described below

    // One goroutine; op = lock, increment the guarded counter, unlock.
    group.bench_function("mutex_uncontended", |b| {
        b.iter_custom(|iters| {
            gort::run(move || {
                let m = Mutex::new(0u64);
                let t = Instant::now();
                for _ in 0..iters {
                    *m.lock() += 1;
                }
                let elapsed = t.elapsed();
                assert_eq!(m.into_inner(), iters);
                elapsed
            })
        })
    });

    // 8 goroutines share `iters` lock/increment/unlock ops on one Mutex;
    // the main goroutine starts and joins them; op = one lock+unlock.
    group.bench_function("mutex_contended8", |b| {
        b.iter_custom(|iters| {
            gort::run(move || {
                let m = Arc::new(Mutex::new(0u64));
                let t = Instant::now();
                let hs: Vec<_> = (0..WORKERS)
                    .map(|k| {
                        let (m, n) = (m.clone(), share(iters, WORKERS, k));
                        gort::go(move || {
                            for _ in 0..n {
                                *m.lock() += 1;
                            }
                        })
                    })
                    .collect();
                for h in hs {
                    h.join().unwrap();
                }
                let elapsed = t.elapsed();
                assert_eq!(*m.lock(), iters);
                elapsed
            })
        })
    });

    // 8 goroutines share `iters` ops on one RwMutex; every 100th op of a
    // goroutine (its ops j = 0, 1, 2, ... with j % 100 == 99) is a write
    // lock (increment, then unlock), the others a read lock (read the value,
    // then unlock). The main goroutine starts and joins them; op = one
    // lock+unlock.
    group.bench_function("rwmutex_read_mostly", |b| {
        b.iter_custom(|iters| {
            gort::run(move || {
                let rw = Arc::new(RwMutex::new(0u64));
                let t = Instant::now();
                let hs: Vec<_> = (0..WORKERS)
                    .map(|k| {
                        let (rw, n) = (rw.clone(), share(iters, WORKERS, k));
                        gort::go(move || {
                            let mut sum = 0u64;
                            for j in 0..n {
                                if j % WRITE_EVERY == WRITE_EVERY - 1 {
                                    *rw.write() += 1;
                                } else {
                                    sum = sum.wrapping_add(*rw.read());
                                }
                            }
                            sum
                        })
                    })
                    .collect();
                let mut sum = 0u64;
                for h in hs {
                    sum = sum.wrapping_add(h.join().unwrap());
                }
                let elapsed = t.elapsed();
                black_box(sum);
                let writes: u64 = (0..WORKERS)
                    .map(|k| share(iters, WORKERS, k) / WRITE_EVERY)
                    .sum();
                assert_eq!(*rw.read(), writes);
                elapsed
            })
        })
    });

    // One goroutine; op = add(1) then done() on one WaitGroup; one wait()
    // (the counter is then 0, so it returns at once) ends the timed loop.
    group.bench_function("waitgroup", |b| {
        b.iter_custom(|iters| {
            gort::run(move || {
                let wg = WaitGroup::new();
                let t = Instant::now();
                for _ in 0..iters {
                    wg.add(1);
                    wg.done();
                }
                wg.wait();
                t.elapsed()
            })
        })
    });

    // One goroutine; the Once has run before the timed loop; op = one
    // call_once (the fast path: its function does not run).
    group.bench_function("once", |b| {
        b.iter_custom(|iters| {
            gort::run(move || {
                let once = Once::new();
                let mut runs = 0u64;
                once.call_once(|| runs += 1);
                let t = Instant::now();
                for _ in 0..iters {
                    once.call_once(|| runs += 1);
                }
                let elapsed = t.elapsed();
                assert_eq!(runs, 1);
                elapsed
            })
        })
    });

    // One goroutine; a pool of boxed 64-byte buffers, primed with one
    // get/put before the timed loop; op = get, then put the value back.
    group.bench_function("pool", |b| {
        b.iter_custom(|iters| {
            gort::run(move || {
                let pool = Pool::new(|| Box::new([0u8; 64]));
                pool.put(pool.get());
                let t = Instant::now();
                for _ in 0..iters {
                    let v = pool.get();
                    pool.put(black_box(v));
                }
                t.elapsed()
            })
        })
    });

    group.finish();
}

criterion_group!(benches, sync);
criterion_main!(benches);
