//! The workloads on may: stackful coroutines (`may::go!`), may's channels (all unbounded),
//! `may::select!`, `may::sync::Mutex`, `may::coroutine::sleep` and `may::net`. The workload body
//! runs in a coroutine of its own (as Go's benchmark goroutine), joined by the main thread.

use std::hint::black_box;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use may::net::{TcpListener, TcpStream};
use may::sync::{mpmc, mpsc, Mutex, WaitGroup};

use crate::common::*;
use crate::workload::{Params, Workload};

/// Coroutine stack size: 16 KiB (may counts it in machine words). may's default is 0x1000
/// words (32 KiB); each stack is its own mmap with a guard page, so its size bounds how many
/// coroutines fit in memory and address space.
pub const STACK_BYTES: usize = 16 * 1024;

pub fn run(w: Workload, procs: usize, p: Params) {
    may::config()
        .set_workers(procs)
        .set_stack_size(STACK_BYTES / std::mem::size_of::<usize>());
    let h = may::go!(move || match w {
        Workload::SpawnJoin => spawn_join(p.n),
        Workload::PingPong => pingpong(p.n),
        Workload::Spsc => spsc(p.n),
        Workload::Mpmc => mpmc_bench(p.n),
        Workload::SelectFanIn => select_fanin(p.n),
        Workload::Sieve => sieve_bench(p.n),
        Workload::Pipeline => pipeline(p.n),
        Workload::Yield => yield_ping(p.n),
        Workload::Mutex => mutex(p.n),
        Workload::Sleepers => sleepers(p.n, p.m),
        Workload::TcpEcho => tcp_echo(p.n, p.m),
        Workload::Park => park(p.n),
    });
    if h.join().is_err() {
        eprintln!("may: the workload coroutine panicked");
        std::process::exit(1);
    }
}

fn spawn_join(n: u64) {
    let mut handles = Vec::with_capacity(BATCH as usize);
    let mut sum = 0u64;
    let t = Instant::now();
    let mut done = 0;
    while done < n {
        let k = BATCH.min(n - done);
        for j in 0..k {
            let v = done + j;
            handles.push(may::go!(move || v));
        }
        for h in handles.drain(..) {
            sum = sum.wrapping_add(h.join().unwrap());
        }
        done += k;
    }
    per_op(t.elapsed(), n);
    check(sum == n * (n - 1) / 2, "spawn_join sum");
}

fn pingpong(n: u64) {
    let (ping_tx, ping_rx) = mpsc::channel::<u64>();
    let (pong_tx, pong_rx) = mpsc::channel::<u64>();
    let echo = may::go!(move || {
        while let Ok(v) = ping_rx.recv() {
            pong_tx.send(v).unwrap();
        }
    });
    let mut s = 0u64;
    let t = Instant::now();
    for i in 0..n {
        ping_tx.send(i).unwrap();
        s = s.wrapping_add(pong_rx.recv().unwrap());
    }
    per_op(t.elapsed(), n);
    drop(ping_tx);
    echo.join().unwrap();
    check(s == n * (n - 1) / 2, "pingpong sum");
}

fn spsc(n: u64) {
    let (tx, rx) = mpsc::channel::<u64>();
    let t = Instant::now();
    let producer = may::go!(move || {
        for i in 0..n {
            tx.send(i).unwrap();
        }
    });
    let mut s = 0u64;
    while let Ok(v) = rx.recv() {
        s = s.wrapping_add(v);
    }
    per_op(t.elapsed(), n);
    producer.join().unwrap();
    check(s == n * (n - 1) / 2, "spsc sum");
}

fn mpmc_bench(n: u64) {
    let (tx, rx) = mpmc::channel::<u64>();
    let t = Instant::now();
    let senders: Vec<_> = (0..MPMC_SIDES)
        .map(|k| {
            let tx = tx.clone();
            may::go!(move || {
                for i in 0..share(n, MPMC_SIDES, k) {
                    tx.send(i).unwrap();
                }
            })
        })
        .collect();
    let receivers: Vec<_> = (0..MPMC_SIDES)
        .map(|k| {
            let rx = rx.clone();
            may::go!(move || {
                let mut s = 0u64;
                for _ in 0..share(n, MPMC_SIDES, k) {
                    s = s.wrapping_add(rx.recv().unwrap());
                }
                s
            })
        })
        .collect();
    for h in senders {
        h.join().unwrap();
    }
    let mut total = 0u64;
    for h in receivers {
        total = total.wrapping_add(h.join().unwrap());
    }
    per_op(t.elapsed(), n);
    black_box(total);
}

fn select_fanin(n: u64) {
    let mut rxs = Vec::new();
    // The senders stay alive until the consumer is done, as Go's twin closes nothing: a
    // closed channel's arm would win every later select at once.
    let mut txs = Vec::new();
    let t = Instant::now();
    let producers: Vec<_> = (0..SELECT_ARMS)
        .map(|k| {
            let (tx, rx) = mpsc::channel::<u64>();
            rxs.push(rx);
            txs.push(tx.clone());
            may::go!(move || {
                for i in 0..share(n, SELECT_ARMS, k) {
                    tx.send(i).unwrap();
                }
            })
        })
        .collect();
    let (r0, r1, r2, r3) = (&rxs[0], &rxs[1], &rxs[2], &rxs[3]);
    // Bodies run in the arm coroutines, so the sum and the count are atomics.
    let sum = AtomicU64::new(0);
    let got = AtomicU64::new(0);
    let take = |v: u64| {
        sum.fetch_add(v, Ordering::Relaxed);
        got.fetch_add(1, Ordering::Relaxed);
    };
    while got.load(Ordering::Relaxed) < n {
        may::select!(
            v = r0.recv() => take(v.unwrap()),
            v = r1.recv() => take(v.unwrap()),
            v = r2.recv() => take(v.unwrap()),
            v = r3.recv() => take(v.unwrap())
        );
    }
    for h in producers {
        h.join().unwrap();
    }
    per_op(t.elapsed(), n);
    drop(txs);
    check(got.load(Ordering::Relaxed) == n, "select message count");
    black_box(sum.load(Ordering::Relaxed));
}

fn sieve(n: usize, limit: i64) -> i64 {
    let mut handles = Vec::with_capacity(n + 1);
    let (tx, mut rx) = mpsc::channel::<i64>();
    handles.push(may::go!(move || {
        for i in 2..=limit {
            tx.send(i).unwrap();
        }
    }));
    let mut prime = 0;
    for _ in 0..n {
        prime = rx.recv().unwrap();
        let (tx1, rx1) = mpsc::channel::<i64>();
        let input = std::mem::replace(&mut rx, rx1);
        handles.push(may::go!(move || {
            while let Ok(i) = input.recv() {
                if i % prime != 0 {
                    tx1.send(i).unwrap();
                }
            }
        }));
    }
    while rx.recv().is_ok() {}
    for h in handles {
        h.join().unwrap();
    }
    prime
}

fn sieve_bench(n: u64) {
    let t = Instant::now();
    for _ in 0..n {
        check(
            sieve(SIEVE_PRIMES, SIEVE_LIMIT) == SIEVE_LIMIT,
            "sieve prime",
        );
    }
    per_op(t.elapsed(), n);
}

fn pipeline(n: u64) {
    let t = Instant::now();
    let (gen_tx, gen_rx) = mpsc::channel::<u64>();
    let (sq_tx, sq_rx) = mpsc::channel::<u64>();
    let (add_tx, add_rx) = mpsc::channel::<u64>();
    let stages = [
        may::go!(move || {
            for i in 1..=n {
                gen_tx.send(i).unwrap();
            }
        }),
        may::go!(move || {
            for v in gen_rx.iter() {
                sq_tx.send(v * v).unwrap();
            }
        }),
        may::go!(move || {
            for v in sq_rx.iter() {
                add_tx.send(v + PIPELINE_ADD).unwrap();
            }
        }),
    ];
    let sum = may::go!(move || add_rx.iter().fold(0u64, u64::wrapping_add))
        .join()
        .unwrap();
    per_op(t.elapsed(), n);
    for h in stages {
        h.join().unwrap();
    }
    check(sum == pipeline_expected(n), "pipeline sum");
}

fn yield_ping(n: u64) {
    let t = Instant::now();
    let hs: Vec<_> = (0..2)
        .map(|k| {
            may::go!(move || {
                for _ in 0..share(n, 2, k) {
                    may::coroutine::yield_now();
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    per_op(t.elapsed(), n);
}

fn mutex(n: u64) {
    let m = Arc::new(Mutex::new(0u64));
    let t = Instant::now();
    let hs: Vec<_> = (0..MUTEX_WORKERS)
        .map(|k| {
            let m = m.clone();
            may::go!(move || {
                for _ in 0..share(n, MUTEX_WORKERS, k) {
                    *m.lock().unwrap() += 1;
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    per_op(t.elapsed(), n);
    check(*m.lock().unwrap() == n, "mutex count");
}

fn sleepers(n: u64, ms: u64) {
    let d = Duration::from_millis(ms);
    let start = Instant::now();
    let wg = WaitGroup::new();
    for _ in 0..n {
        let wg = wg.clone();
        may::go!(move || {
            may::coroutine::sleep(d);
            drop(wg);
        });
    }
    wg.wait();
    metric("ms", start.elapsed().as_secs_f64() * 1e3);
}

fn tcp_echo(clients: u64, rounds: u64) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().unwrap();
    may::go!(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            may::go!(move || {
                let mut buf = [0u8; 4096];
                loop {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(k) => {
                            if s.write_all(&buf[..k]).is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        }
    });
    let t = Instant::now();
    let hs: Vec<_> = (0..clients)
        .map(|c| {
            may::go!(move || {
                let mut s = TcpStream::connect(addr).expect("connect");
                let mut buf = [0u8; ECHO_MSG];
                for i in 0..rounds {
                    let msg = [(c + i) as u8; ECHO_MSG];
                    s.write_all(&msg).unwrap();
                    s.read_exact(&mut buf).unwrap();
                    check(buf == msg, "echo payload");
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    metric(
        "rate",
        (clients * rounds) as f64 / t.elapsed().as_secs_f64(),
    );
}

fn park(n: u64) {
    let before = rss_bytes();
    let start = Instant::now();
    let parked = WaitGroup::new();
    let mut txs = Vec::with_capacity(n as usize);
    let mut handles = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let (tx, rx) = mpsc::channel::<u8>();
        let p = parked.clone();
        handles.push(may::go!(move || {
            drop(p);
            let _ = rx.recv();
        }));
        txs.push(tx);
    }
    parked.wait();
    let spawn = start.elapsed();
    let after = rss_bytes();
    park_result(n, spawn, before, after);
    for tx in &txs {
        tx.send(1).unwrap();
    }
    for h in handles {
        h.join().unwrap();
    }
}
