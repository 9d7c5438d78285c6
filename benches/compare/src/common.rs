//! What every system's workloads share: the work split, the sieve and pipeline constants, the
//! resident-memory reading, and the lines a worker process prints for the driver.

use std::time::Duration;

/// Capacity of the buffered channels (SPSC, MPMC, select fan-in), as in `benches/go`.
pub const BUF: usize = 1024;
/// Tasks spawned before they are all joined, in `spawn_join` (`BenchmarkSpawnJoinBatch1000`).
pub const BATCH: u64 = 1000;
/// Senders and receivers of the MPMC workload (`BenchmarkBuffered1024_4x4`).
pub const MPMC_SIDES: u64 = 4;
/// Channels, and producers, of the select fan-in (`BenchmarkSelect4`).
pub const SELECT_ARMS: u64 = 4;
/// Goroutines sharing the mutex (`BenchmarkMutexContended8`).
pub const MUTEX_WORKERS: u64 = 8;
/// Primes the sieve computes, and the last of them (`BenchmarkSieve2000`).
pub const SIEVE_PRIMES: usize = 2000;
/// The 2000th prime: the generator stops there and closes its channel.
pub const SIEVE_LIMIT: i64 = 17389;
/// What the pipeline's add stage adds (examples/pipeline.rs, `BenchmarkPipeline4`).
pub const PIPELINE_ADD: u64 = 1;
/// Bytes per TCP echo message (`benches/go/cmd/echo`).
pub const ECHO_MSG: usize = 64;

/// Goroutine k's share when `total` ops are split over `parts` goroutines: total/parts, plus
/// one for the first total%parts goroutines (`share` in benches/go/bench_test.go).
pub fn share(total: u64, parts: u64, k: u64) -> u64 {
    total / parts + u64::from(k < total % parts)
}

/// The sum the pipeline's sink must see: the sum of i*i + ADD for i in 1..=n.
pub fn pipeline_expected(n: u64) -> u64 {
    let n = u128::from(n);
    let s = n * (n + 1) * (2 * n + 1) / 6 + n * u128::from(PIPELINE_ADD);
    s as u64
}

/// Resident memory of this process in bytes (`/proc/self/statm`, Linux), as cmd/park reads it.
pub fn rss_bytes() -> u64 {
    let pages: u64 = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    pages * page as u64
}

/// One result line for the driver: `metric NAME VALUE`.
pub fn metric(name: &str, value: f64) {
    println!("metric {name} {value}");
}

/// Prints the time per op, in ns.
pub fn per_op(elapsed: Duration, ops: u64) {
    metric("ns_per_op", elapsed.as_nanos() as f64 / ops.max(1) as f64);
}

/// What a park run measured: spawn time and resident memory, both per task.
pub fn park_result(n: u64, spawn: Duration, rss_before: u64, rss_after: u64) {
    metric(
        "spawn_ns_per_task",
        spawn.as_nanos() as f64 / n.max(1) as f64,
    );
    metric(
        "rss_per_task",
        rss_after.saturating_sub(rss_before) as f64 / n.max(1) as f64,
    );
}

/// Fails the worker process when a workload computed a wrong result.
pub fn check(ok: bool, what: &str) {
    if !ok {
        eprintln!("check failed: {what}");
        std::process::exit(3);
    }
}
