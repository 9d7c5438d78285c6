//! N goroutines (default 1,000,000), each parked receiving on its own channel; once all are
//! parked it prints how long spawning them took and the resident memory each costs, then
//! releases and joins them all. The Go twin is `benches/go/cmd/park`;
//! `scripts/bench-compare.sh --programs park` runs both.
//!
//! ```sh
//! cargo run --release --example park -- 1000000
//! ```

use std::sync::Arc;
use std::time::Instant;

/// Resident memory of this process in bytes (`/proc/self/statm`, Linux).
fn rss_bytes() -> u64 {
    let pages: u64 = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    pages * unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as u64
}

fn main() {
    let n: usize = match std::env::args().nth(1) {
        None => 1_000_000,
        Some(a) => a.parse().unwrap_or_else(|_| {
            eprintln!("park: the argument must be a number of goroutines");
            std::process::exit(2)
        }),
    };
    gort::run(move || {
        let before = rss_bytes();
        let start = Instant::now();
        let parked = Arc::new(gort::sync::WaitGroup::new());
        let mut chans = Vec::with_capacity(n);
        let mut handles = Vec::with_capacity(n);
        for _ in 0..n {
            let c = gort::chan::<u8>(0);
            let rx = c.clone();
            parked.add(1);
            let p = parked.clone();
            handles.push(gort::go(move || {
                p.done();
                rx.recv();
            }));
            chans.push(c);
        }
        parked.wait();
        let spawn = start.elapsed();
        let per_g = rss_bytes().saturating_sub(before) / n.max(1) as u64;
        for c in &chans {
            c.send(1);
        }
        for h in handles {
            h.join().expect("a parked goroutine panicked");
        }
        println!("park: {n} goroutines parked");
        println!("spawn: {:.1} ms", spawn.as_secs_f64() * 1e3);
        println!("rss per goroutine: {per_g} bytes");
        println!("total: {:.1} ms", start.elapsed().as_secs_f64() * 1e3);
    });
}
