//! The workloads on tokio's multi-thread runtime with `procs` worker threads: stackless tasks
//! (`tokio::spawn`), `tokio::sync::mpsc`, `tokio::select!`, `tokio::sync::Mutex`,
//! `tokio::time::sleep` and `tokio::net`. The workload body is itself a spawned task (as Go's
//! benchmark goroutine), so it runs on a worker, not on the thread calling `block_on`.

use std::future::Future;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Mutex};

use crate::common::*;
use crate::workload::{Params, Workload};

pub fn run(w: Workload, procs: usize, p: Params) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(procs)
        .enable_all()
        .build()
        .expect("tokio runtime");
    match w {
        Workload::SpawnJoin => main_task(&rt, spawn_join(p.n)),
        Workload::PingPong => main_task(&rt, pingpong(p.n)),
        Workload::Spsc => main_task(&rt, spsc(p.n)),
        Workload::Mpmc => main_task(&rt, mpmc(p.n)),
        Workload::SelectFanIn => main_task(&rt, select_fanin(p.n)),
        Workload::Sieve => main_task(&rt, sieve_bench(p.n)),
        Workload::Pipeline => main_task(&rt, pipeline(p.n)),
        Workload::Yield => main_task(&rt, yield_ping(p.n)),
        Workload::Mutex => main_task(&rt, mutex(p.n)),
        Workload::Sleepers => main_task(&rt, sleepers(p.n, p.m)),
        Workload::TcpEcho => main_task(&rt, tcp_echo(p.n, p.m)),
        Workload::Park => main_task(&rt, park(p.n)),
    }
    // Tasks still running (the echo server) are dropped with the runtime.
    rt.shutdown_background();
}

/// Runs `f` as a task on a worker and waits for it.
fn main_task<F: Future<Output = ()> + Send + 'static>(rt: &tokio::runtime::Runtime, f: F) {
    rt.block_on(async move { tokio::spawn(f).await.expect("workload task panicked") });
}

async fn spawn_join(n: u64) {
    let mut handles = Vec::with_capacity(BATCH as usize);
    let mut sum = 0u64;
    let t = Instant::now();
    let mut done = 0;
    while done < n {
        let k = BATCH.min(n - done);
        for j in 0..k {
            let v = done + j;
            handles.push(tokio::spawn(async move { v }));
        }
        for h in handles.drain(..) {
            sum = sum.wrapping_add(h.await.unwrap());
        }
        done += k;
    }
    per_op(t.elapsed(), n);
    check(sum == n * (n - 1) / 2, "spawn_join sum");
}

async fn pingpong(n: u64) {
    let (ping_tx, mut ping_rx) = mpsc::channel::<u64>(1);
    let (pong_tx, mut pong_rx) = mpsc::channel::<u64>(1);
    let echo = tokio::spawn(async move {
        while let Some(v) = ping_rx.recv().await {
            pong_tx.send(v).await.unwrap();
        }
    });
    let mut s = 0u64;
    let t = Instant::now();
    for i in 0..n {
        ping_tx.send(i).await.unwrap();
        s = s.wrapping_add(pong_rx.recv().await.unwrap());
    }
    per_op(t.elapsed(), n);
    drop(ping_tx);
    echo.await.unwrap();
    check(s == n * (n - 1) / 2, "pingpong sum");
}

async fn spsc(n: u64) {
    let (tx, mut rx) = mpsc::channel::<u64>(BUF);
    let t = Instant::now();
    let producer = tokio::spawn(async move {
        for i in 0..n {
            tx.send(i).await.unwrap();
        }
    });
    let mut s = 0u64;
    while let Some(v) = rx.recv().await {
        s = s.wrapping_add(v);
    }
    per_op(t.elapsed(), n);
    producer.await.unwrap();
    check(s == n * (n - 1) / 2, "spsc sum");
}

async fn mpmc(n: u64) {
    let (tx, rx) = async_channel::bounded::<u64>(BUF);
    let t = Instant::now();
    let senders: Vec<_> = (0..MPMC_SIDES)
        .map(|k| {
            let tx = tx.clone();
            tokio::spawn(async move {
                for i in 0..share(n, MPMC_SIDES, k) {
                    tx.send(i).await.unwrap();
                }
            })
        })
        .collect();
    let receivers: Vec<_> = (0..MPMC_SIDES)
        .map(|k| {
            let rx = rx.clone();
            tokio::spawn(async move {
                let mut s = 0u64;
                for _ in 0..share(n, MPMC_SIDES, k) {
                    s = s.wrapping_add(rx.recv().await.unwrap());
                }
                s
            })
        })
        .collect();
    for h in senders {
        h.await.unwrap();
    }
    let mut total = 0u64;
    for h in receivers {
        total = total.wrapping_add(h.await.unwrap());
    }
    per_op(t.elapsed(), n);
    black_box(total);
}

async fn select_fanin(n: u64) {
    let mut rxs = Vec::new();
    let t = Instant::now();
    let producers: Vec<_> = (0..SELECT_ARMS)
        .map(|k| {
            let (tx, rx) = mpsc::channel::<u64>(BUF);
            rxs.push(rx);
            tokio::spawn(async move {
                for i in 0..share(n, SELECT_ARMS, k) {
                    tx.send(i).await.unwrap();
                }
            })
        })
        .collect();
    let [r0, r1, r2, r3]: &mut [mpsc::Receiver<u64>; 4] =
        (&mut rxs[..]).try_into().expect("four receivers");
    let mut sum = 0u64;
    for _ in 0..n {
        // A closed channel's recv() yields None at once; the `Some` patterns disable such an
        // arm for this call, as Go's select never picks a nil channel.
        tokio::select! {
            Some(v) = r0.recv() => sum = sum.wrapping_add(v),
            Some(v) = r1.recv() => sum = sum.wrapping_add(v),
            Some(v) = r2.recv() => sum = sum.wrapping_add(v),
            Some(v) = r3.recv() => sum = sum.wrapping_add(v),
        }
    }
    for h in producers {
        h.await.unwrap();
    }
    per_op(t.elapsed(), n);
    black_box(sum);
}

async fn sieve(n: usize, limit: i64) -> i64 {
    let mut handles = Vec::with_capacity(n + 1);
    let (tx, mut rx) = mpsc::channel::<i64>(1);
    handles.push(tokio::spawn(async move {
        for i in 2..=limit {
            tx.send(i).await.unwrap();
        }
    }));
    let mut prime = 0;
    for _ in 0..n {
        prime = rx.recv().await.unwrap();
        let (tx1, rx1) = mpsc::channel::<i64>(1);
        let mut input = std::mem::replace(&mut rx, rx1);
        handles.push(tokio::spawn(async move {
            while let Some(i) = input.recv().await {
                if i % prime != 0 {
                    tx1.send(i).await.unwrap();
                }
            }
        }));
    }
    while rx.recv().await.is_some() {}
    for h in handles {
        h.await.unwrap();
    }
    prime
}

async fn sieve_bench(n: u64) {
    let t = Instant::now();
    for _ in 0..n {
        check(
            sieve(SIEVE_PRIMES, SIEVE_LIMIT).await == SIEVE_LIMIT,
            "sieve prime",
        );
    }
    per_op(t.elapsed(), n);
}

async fn pipeline(n: u64) {
    let t = Instant::now();
    let (gen_tx, mut gen_rx) = mpsc::channel::<u64>(1);
    let (sq_tx, mut sq_rx) = mpsc::channel::<u64>(1);
    let (add_tx, mut add_rx) = mpsc::channel::<u64>(1);
    let stages = [
        tokio::spawn(async move {
            for i in 1..=n {
                gen_tx.send(i).await.unwrap();
            }
        }),
        tokio::spawn(async move {
            while let Some(v) = gen_rx.recv().await {
                sq_tx.send(v * v).await.unwrap();
            }
        }),
        tokio::spawn(async move {
            while let Some(v) = sq_rx.recv().await {
                add_tx.send(v + PIPELINE_ADD).await.unwrap();
            }
        }),
    ];
    let sum = tokio::spawn(async move {
        let mut s = 0u64;
        while let Some(v) = add_rx.recv().await {
            s = s.wrapping_add(v);
        }
        s
    })
    .await
    .unwrap();
    per_op(t.elapsed(), n);
    for h in stages {
        h.await.unwrap();
    }
    check(sum == pipeline_expected(n), "pipeline sum");
}

async fn yield_ping(n: u64) {
    let t = Instant::now();
    let hs: Vec<_> = (0..2)
        .map(|k| {
            tokio::spawn(async move {
                for _ in 0..share(n, 2, k) {
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    for h in hs {
        h.await.unwrap();
    }
    per_op(t.elapsed(), n);
}

async fn mutex(n: u64) {
    let m = Arc::new(Mutex::new(0u64));
    let t = Instant::now();
    let hs: Vec<_> = (0..MUTEX_WORKERS)
        .map(|k| {
            let m = m.clone();
            tokio::spawn(async move {
                for _ in 0..share(n, MUTEX_WORKERS, k) {
                    *m.lock().await += 1;
                }
            })
        })
        .collect();
    for h in hs {
        h.await.unwrap();
    }
    per_op(t.elapsed(), n);
    check(*m.lock().await == n, "mutex count");
}

async fn sleepers(n: u64, ms: u64) {
    let d = Duration::from_millis(ms);
    let start = Instant::now();
    let hs: Vec<_> = (0..n)
        .map(|_| tokio::spawn(tokio::time::sleep(d)))
        .collect();
    for h in hs {
        h.await.unwrap();
    }
    metric("ms", start.elapsed().as_secs_f64() * 1e3);
}

async fn tcp_echo(clients: u64, rounds: u64) {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = l.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                loop {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(k) => {
                            if s.write_all(&buf[..k]).await.is_err() {
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
            tokio::spawn(async move {
                let mut s = TcpStream::connect(addr).await.expect("connect");
                let mut buf = [0u8; ECHO_MSG];
                for i in 0..rounds {
                    let msg = [(c + i) as u8; ECHO_MSG];
                    s.write_all(&msg).await.unwrap();
                    s.read_exact(&mut buf).await.unwrap();
                    check(buf == msg, "echo payload");
                }
            })
        })
        .collect();
    for h in hs {
        h.await.unwrap();
    }
    metric(
        "rate",
        (clients * rounds) as f64 / t.elapsed().as_secs_f64(),
    );
}

async fn park(n: u64) {
    let before = rss_bytes();
    let start = Instant::now();
    // Counts the tasks that have started; the last one wakes the main task.
    let started = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let all = Arc::new(tokio::sync::Notify::new());
    let mut txs = Vec::with_capacity(n as usize);
    let mut handles = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let (tx, mut rx) = mpsc::channel::<u8>(1);
        let (started, all) = (started.clone(), all.clone());
        handles.push(tokio::spawn(async move {
            if started.fetch_add(1, std::sync::atomic::Ordering::AcqRel) + 1 == n {
                all.notify_one();
            }
            rx.recv().await;
        }));
        txs.push(tx);
    }
    all.notified().await;
    let spawn = start.elapsed();
    let after = rss_bytes();
    park_result(n, spawn, before, after);
    for tx in &txs {
        tx.send(1).await.unwrap();
    }
    for h in handles {
        h.await.unwrap();
    }
}
