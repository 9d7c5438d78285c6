//! The workloads on plain OS threads (`std::thread`), `std::sync::mpsc::sync_channel` (capacity
//! 0 is a true rendezvous), `std::sync::Mutex` and `std::net`: the baseline with no user-space
//! scheduler. At procs = 1 the process is pinned to one CPU (`sched_setaffinity`), the closest
//! thread-level equivalent of one worker; at procs = 2 the kernel uses both cores.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Instant;

use crate::common::*;
use crate::workload::{Params, Workload};

/// The most threads the harness runs at once: past this, std rows and scaling points are
/// skipped (each thread is a kernel task with its own stack mapping, and `ulimit -u` bounds
/// them).
pub const MAX_THREADS: u64 = 10_000;

/// Stack of the parked threads: 64 KiB instead of std's 2 MiB, to keep 10,000 of them small in
/// address space; only the pages a thread touches count in RSS either way.
const PARK_STACK: usize = 64 * 1024;

pub fn run(w: Workload, procs: usize, p: Params) {
    if procs == 1 {
        pin_to_one_cpu();
    }
    match w {
        Workload::SpawnJoin => spawn_join(p.n),
        Workload::PingPong => pingpong(p.n),
        Workload::Spsc => spsc(p.n),
        Workload::Sieve => sieve_bench(p.n),
        Workload::Pipeline => pipeline(p.n),
        Workload::Yield => yield_ping(p.n),
        Workload::Mutex => mutex(p.n),
        Workload::TcpEcho => tcp_echo(p.n, p.m),
        Workload::Park => park(p.n),
        Workload::Mpmc | Workload::SelectFanIn | Workload::Sleepers => {
            eprintln!("std threads: {w} is not available (see the table's notes)");
            std::process::exit(4);
        }
    }
}

/// Restricts this process (and the threads it will start) to the first CPU it may run on.
fn pin_to_one_cpu() {
    // SAFETY: `set` is a plain bitmask that sched_getaffinity fills and sched_setaffinity
    // reads; both get its size; pid 0 is the calling thread.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        let size = std::mem::size_of::<libc::cpu_set_t>();
        if libc::sched_getaffinity(0, size, &mut set) != 0 {
            return;
        }
        let first = (0..libc::CPU_SETSIZE as usize).find(|&c| libc::CPU_ISSET(c, &set));
        let Some(first) = first else { return };
        let mut one: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(first, &mut one);
        libc::sched_setaffinity(0, size, &one);
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
            handles.push(thread::spawn(move || v));
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
    let (ping_tx, ping_rx) = sync_channel::<u64>(0);
    let (pong_tx, pong_rx) = sync_channel::<u64>(0);
    let echo = thread::spawn(move || {
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
    let (tx, rx) = sync_channel::<u64>(BUF);
    let t = Instant::now();
    let producer = thread::spawn(move || {
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

fn filter(input: Receiver<i64>, out: SyncSender<i64>, prime: i64) {
    while let Ok(i) = input.recv() {
        if i % prime != 0 {
            out.send(i).unwrap();
        }
    }
}

fn sieve(n: usize, limit: i64) -> i64 {
    let mut handles = Vec::with_capacity(n + 1);
    let (tx, mut rx) = sync_channel::<i64>(0);
    handles.push(thread::spawn(move || {
        for i in 2..=limit {
            tx.send(i).unwrap();
        }
    }));
    let mut prime = 0;
    for _ in 0..n {
        prime = rx.recv().unwrap();
        let (tx1, rx1) = sync_channel::<i64>(0);
        let input = std::mem::replace(&mut rx, rx1);
        handles.push(thread::spawn(move || filter(input, tx1, prime)));
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
    let (gen_tx, gen_rx) = sync_channel::<u64>(0);
    let (sq_tx, sq_rx) = sync_channel::<u64>(0);
    let (add_tx, add_rx) = sync_channel::<u64>(0);
    let stages = [
        thread::spawn(move || {
            for i in 1..=n {
                gen_tx.send(i).unwrap();
            }
        }),
        thread::spawn(move || {
            for v in gen_rx.iter() {
                sq_tx.send(v * v).unwrap();
            }
        }),
        thread::spawn(move || {
            for v in sq_rx.iter() {
                add_tx.send(v + PIPELINE_ADD).unwrap();
            }
        }),
    ];
    let sum = thread::spawn(move || add_rx.iter().fold(0u64, u64::wrapping_add))
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
            thread::spawn(move || {
                for _ in 0..share(n, 2, k) {
                    thread::yield_now();
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
            thread::spawn(move || {
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

fn tcp_echo(clients: u64, rounds: u64) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().unwrap();
    thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            thread::spawn(move || {
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
            thread::spawn(move || {
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
    if n > MAX_THREADS {
        eprintln!("std threads: park of {n} threads is above the {MAX_THREADS}-thread cap");
        std::process::exit(4);
    }
    let before = rss_bytes();
    let start = Instant::now();
    // Counts the threads that have started; the last one tells the main thread.
    let started = Arc::new(AtomicU64::new(0));
    let (all_tx, all_rx) = sync_channel::<()>(1);
    let mut txs = Vec::with_capacity(n as usize);
    let mut handles = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let (tx, rx) = sync_channel::<u8>(0);
        let (started, all_tx) = (started.clone(), all_tx.clone());
        handles.push(
            thread::Builder::new()
                .stack_size(PARK_STACK)
                .spawn(move || {
                    if started.fetch_add(1, Ordering::AcqRel) + 1 == n {
                        all_tx.send(()).unwrap();
                    }
                    let _ = rx.recv();
                })
                .expect("spawn parked thread"),
        );
        txs.push(tx);
    }
    if n > 0 {
        all_rx.recv().unwrap();
    }
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
