//! Timeouts with `select` and `time.After`. It mirrors the seed notes' "タイムアウトの実装"
//! chapter (Google I/O 2012's timeout pattern) and the select timeout in "Go並行処理":
//!
//! 1. A call with a timeout: `select { case r := <-resultCh: ... case <-time.After(d): ... }`.
//! 2. A timeout per receive: `time.After` is called inside the loop, so the clock restarts on
//!    every `select` and the loop ends once the stream has been quiet for `d`.
//! 3. One deadline for the whole loop: `time.After` is called once, before the loop.
//!
//! Prints what happened in each case. The checked lines do not depend on timing: the fast
//! call answers at once and the slow one takes an hour, against a 100 ms limit. Exits with
//! status 1 if the wrong case wins.

use gort::time::{after, sleep};
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_millis(100);

/// Runs a job that takes `work`, waiting at most `limit` for its result.
fn call_with_timeout(work: Duration, limit: Duration) -> Option<u64> {
    // Buffered, so a late worker can still send and exit instead of blocking forever.
    let result = gort::chan::<u64>(1);
    let tx = result.clone();
    drop(gort::go(move || {
        sleep(work);
        tx.send(42);
    }));
    gort::select! {
        recv(result) -> v => v,
        recv(after(limit)) -> _ => None,
    }
}

fn main() {
    let ok = gort::run(|| {
        // 1. A call with a timeout.
        let fast = call_with_timeout(Duration::ZERO, LIMIT);
        let slow = call_with_timeout(Duration::from_secs(3600), LIMIT);
        println!(
            "fast call: {}",
            fast.map_or("timed out".into(), |v| format!("got {v}"))
        );
        println!(
            "slow call: {}",
            slow.map_or("timed out".into(), |v| format!("got {v}"))
        );

        // 2. A timeout per receive: three values arrive, then the stream goes quiet.
        let ch = gort::chan::<&str>(3);
        for s in ["a", "b", "c"] {
            ch.send(s);
        }
        let mut got = Vec::new();
        loop {
            gort::select! {
                recv(ch) -> s => got.extend(s),
                recv(after(LIMIT)) -> _ => break, // restarted by every select
            }
        }
        println!("per-receive timeout: got {got:?}, then timed out");

        // 3. One deadline for the whole loop, over a stream that never goes quiet.
        let ticks = gort::chan::<u64>(0);
        let tx = ticks.clone();
        drop(gort::go(move || {
            for i in 0.. {
                tx.send(i);
            }
        }));
        let start = Instant::now();
        let deadline = after(LIMIT); // once, outside the loop
        let mut n = 0;
        loop {
            gort::select! {
                recv(ticks) -> _ => n += 1,
                recv(deadline) -> _ => break,
            }
            sleep(Duration::from_millis(5));
        }
        println!("overall deadline: fired while values kept coming");
        println!(
            "  ({n} values in {:.0}ms)",
            start.elapsed().as_secs_f64() * 1e3
        );

        fast == Some(42) && slow.is_none() && got == ["a", "b", "c"] && n > 0
    });
    if !ok {
        eprintln!("timeout: self-check failed");
        std::process::exit(1);
    }
}
