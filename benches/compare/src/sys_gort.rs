//! The workloads on gort: goroutines, `gort::chan`, `gort::select!`, `gort::sync`,
//! `gort::time` and `gort::net`, in a runtime of `procs` Ps.

use std::hint::black_box;
use std::io::{Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gort::net::{TcpListener, TcpStream};
use gort::sync::{Mutex, WaitGroup};
use gort::Chan;

use crate::common::*;
use crate::workload::{Params, Workload};

pub fn run(w: Workload, procs: usize, p: Params) {
    gort::Builder::new().max_procs(procs).run(move || match w {
        Workload::SpawnJoin => spawn_join(p.n),
        Workload::PingPong => pingpong(p.n),
        Workload::Spsc => spsc(p.n),
        Workload::Mpmc => mpmc(p.n),
        Workload::SelectFanIn => select_fanin(p.n),
        Workload::Sieve => sieve_bench(p.n),
        Workload::Pipeline => pipeline(p.n),
        Workload::Yield => yield_ping(p.n),
        Workload::Mutex => mutex(p.n),
        Workload::Sleepers => sleepers(p.n, p.m),
        Workload::TcpEcho => tcp_echo(p.n, p.m),
        Workload::Park => park(p.n),
    })
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
            handles.push(gort::go(move || v));
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
    let mut s = 0u64;
    let t = Instant::now();
    for i in 0..n {
        ping.send(i);
        s = s.wrapping_add(pong.recv().unwrap());
    }
    per_op(t.elapsed(), n);
    ping.close();
    echo.join().unwrap();
    check(s == n * (n - 1) / 2, "pingpong sum");
}

fn spsc(n: u64) {
    let c = gort::chan::<u64>(BUF);
    let t = Instant::now();
    let producer = {
        let c = c.clone();
        gort::go(move || {
            for i in 0..n {
                c.send(i);
            }
            c.close();
        })
    };
    let mut s = 0u64;
    while let Some(v) = c.recv() {
        s = s.wrapping_add(v);
    }
    per_op(t.elapsed(), n);
    producer.join().unwrap();
    check(s == n * (n - 1) / 2, "spsc sum");
}

fn mpmc(n: u64) {
    let c = gort::chan::<u64>(BUF);
    let t = Instant::now();
    let senders: Vec<_> = (0..MPMC_SIDES)
        .map(|k| {
            let c = c.clone();
            gort::go(move || {
                for i in 0..share(n, MPMC_SIDES, k) {
                    c.send(i);
                }
            })
        })
        .collect();
    let receivers: Vec<_> = (0..MPMC_SIDES)
        .map(|k| {
            let c = c.clone();
            gort::go(move || {
                let mut s = 0u64;
                for _ in 0..share(n, MPMC_SIDES, k) {
                    s = s.wrapping_add(c.recv().unwrap());
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
    let cs = [
        gort::chan::<u64>(BUF),
        gort::chan::<u64>(BUF),
        gort::chan::<u64>(BUF),
        gort::chan::<u64>(BUF),
    ];
    let [c0, c1, c2, c3] = &cs;
    let mut sum = 0u64;
    let t = Instant::now();
    let producers: Vec<_> = cs
        .iter()
        .enumerate()
        .map(|(k, c)| {
            let c = c.clone();
            gort::go(move || {
                for i in 0..share(n, SELECT_ARMS, k as u64) {
                    c.send(i);
                }
            })
        })
        .collect();
    for _ in 0..n {
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
    per_op(t.elapsed(), n);
    black_box(sum);
}

/// Sends 2, 3, 4, ..., `limit` to `ch`, then closes it.
fn generate(ch: Chan<i64>, limit: i64) {
    for i in 2..=limit {
        ch.send(i);
    }
    ch.close();
}

/// Copies `input` to `out`, dropping multiples of `prime`; closes `out` at the end.
fn filter(input: Chan<i64>, out: Chan<i64>, prime: i64) {
    while let Some(i) = input.recv() {
        if i % prime != 0 {
            out.send(i);
        }
    }
    out.close();
}

/// Go's concurrent prime sieve, made to end (as `BenchmarkSieve2000`): the `n`-th prime.
fn sieve(n: usize, limit: i64) -> i64 {
    let mut handles = Vec::with_capacity(n + 1);
    let mut ch = gort::chan::<i64>(0);
    {
        let ch = ch.clone();
        handles.push(gort::go(move || generate(ch, limit)));
    }
    let mut prime = 0;
    for _ in 0..n {
        prime = ch.recv().unwrap();
        let ch1 = gort::chan::<i64>(0);
        let (input, out) = (ch.clone(), ch1.clone());
        handles.push(gort::go(move || filter(input, out, prime)));
        ch = ch1;
    }
    while ch.recv().is_some() {}
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
    let (gen_tx, gen_rx) = gort::chan::<u64>(0).split();
    let (sq_tx, sq_rx) = gort::chan::<u64>(0).split();
    let (add_tx, add_rx) = gort::chan::<u64>(0).split();
    let stages = [
        gort::go(move || {
            for i in 1..=n {
                gen_tx.send(i);
            }
            gen_tx.close();
        }),
        gort::go(move || {
            for v in &gen_rx {
                sq_tx.send(v * v);
            }
            sq_tx.close();
        }),
        gort::go(move || {
            for v in &sq_rx {
                add_tx.send(v + PIPELINE_ADD);
            }
            add_tx.close();
        }),
    ];
    let sum = gort::go(move || {
        let mut s = 0u64;
        for v in &add_rx {
            s = s.wrapping_add(v);
        }
        s
    })
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
            gort::go(move || {
                for _ in 0..share(n, 2, k) {
                    gort::runtime::gosched();
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
            gort::go(move || {
                for _ in 0..share(n, MUTEX_WORKERS, k) {
                    *m.lock() += 1;
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    per_op(t.elapsed(), n);
    check(*m.lock() == n, "mutex count");
}

fn sleepers(n: u64, ms: u64) {
    let d = Duration::from_millis(ms);
    let start = Instant::now();
    let wg = Arc::new(WaitGroup::new());
    for _ in 0..n {
        wg.go(move || gort::time::sleep(d));
    }
    wg.wait();
    metric("ms", start.elapsed().as_secs_f64() * 1e3);
}

fn tcp_echo(clients: u64, rounds: u64) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().unwrap();
    drop(gort::go(move || loop {
        let Ok((s, _)) = l.accept() else { continue };
        drop(gort::go(move || {
            let mut buf = [0u8; 4096];
            loop {
                match (&s).read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(k) => {
                        if (&s).write_all(&buf[..k]).is_err() {
                            return;
                        }
                    }
                }
            }
        }));
    }));
    let t = Instant::now();
    let hs: Vec<_> = (0..clients)
        .map(|c| {
            gort::go(move || {
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
    let parked = Arc::new(WaitGroup::new());
    let mut chans = Vec::with_capacity(n as usize);
    let mut handles = Vec::with_capacity(n as usize);
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
    let after = rss_bytes();
    park_result(n, spawn, before, after);
    for c in &chans {
        c.send(1);
    }
    for h in handles {
        h.join().unwrap();
    }
}
