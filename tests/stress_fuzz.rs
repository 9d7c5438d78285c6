//! A seeded schedule fuzzer: each iteration runs a random workload (channels buffered and
//! unbuffered, `select!` on both sides, `Mutex`, `WaitGroup`, `join`, `sleep`, loopback TCP
//! through `gort::net`, and `runtime::blocking` calls) under a random GOMAXPROCS in 1..=8, and
//! sprinkles random `gosched`s and goroutine spawns between operations, which move goroutines
//! between the global queue, `runnext` and the local queues, and so perturb stealing.
//!
//! # What is checked, exactly
//! - Every value sent is received exactly once: all values are distinct, and the sorted list of
//!   values received equals the sorted list of values sent.
//! - Every goroutine finishes: every handle is joined, every helper is counted in and out, and
//!   at the end `runtime::num_goroutine()` is back to 1 (the main goroutine).
//! - Every `Mutex` increment, `blocking` call and TCP echo is counted on both sides.
//! - A lost wake-up cannot pass silently: it ends as gort's deadlock report (exit status 2), or
//!   as a hang that the watchdog turns into an abort naming the seed.
//!
//! # Seeds
//! The seed drives the workload and the injected yields and spawns; the OS still schedules the
//! Ms, so a replay repeats the workload and the injections, not the exact interleaving. Each
//! test prints its base seed on stderr when it starts (outside the test harness's capture, so
//! it shows even when the process dies), and a failing iteration prints its own seed.
//!
//! | Variable | Meaning | Default |
//! | --- | --- | --- |
//! | `GORT_STRESS_SEED` | the base seed; iteration `i` uses `base + i` | from the clock |
//! | `GORT_STRESS_ITERS` | iterations of the long test | 2,000 |
//! | `GORT_STRESS_SECS` | stop the long test after this many seconds, at an iteration boundary | none |
//! | `GORT_STRESS_GDB` | on a hang, print every thread's stack with gdb before aborting | unset |
//!
//! Replay one failing iteration: `GORT_STRESS_SEED=<its seed> GORT_STRESS_ITERS=1 cargo test
//! --release --test stress_fuzz -- --ignored --nocapture stress_fuzz_long`.

mod common;

use gort::Chan;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// SplitMix64: small, fast, and good enough to pick a workload.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// A child generator for a goroutine, so each goroutine's choices depend only on the seed.
    fn fork(&mut self) -> Rng {
        Rng(self.next())
    }
}

/// How big an iteration is.
#[derive(Clone, Copy)]
struct Size {
    max_chans: u64,
    max_producers: u64,
    max_consumers: u64,
    max_values: u64,
    /// Chaos between operations, per mille.
    chaos: u64,
}

const SHORT: Size = Size {
    max_chans: 3,
    max_producers: 3,
    max_consumers: 3,
    max_values: 400,
    chaos: 200,
};

const LONG: Size = Size {
    max_chans: 5,
    max_producers: 4,
    max_consumers: 4,
    max_values: 1_500,
    chaos: 200,
};

/// Counters both sides of each checked operation add to.
#[derive(Default)]
struct Tally {
    helpers_spawned: AtomicU64,
    helpers_done: AtomicU64,
    mutex_ops: AtomicU64,
    blocking_calls: AtomicU64,
    blocking_ran: AtomicU64,
    echoes_sent: AtomicU64,
    echoes_served: AtomicU64,
    yields: AtomicU64,
    sleeps: AtomicU64,
}

/// What every goroutine of an iteration shares.
struct Shared {
    tally: Tally,
    mutex: gort::sync::Mutex<u64>,
    helpers: Arc<gort::sync::WaitGroup>,
    addr: SocketAddr,
}

/// A goroutine's connection to the echo server, opened on first use.
struct Conn(Option<gort::net::TcpStream>);

/// Between operations: maybe yield, spawn, lock, sleep, block, or echo over TCP.
fn chaos(rng: &mut Rng, sh: &Arc<Shared>, conn: &mut Conn, size: Size) {
    if rng.below(1000) >= size.chaos {
        return;
    }
    match rng.below(100) {
        0..=39 => {
            sh.tally.yields.fetch_add(1, Ordering::Relaxed);
            gort::runtime::gosched();
        }
        40..=59 => spawn_helper(rng.fork(), sh),
        60..=74 => {
            let mut g = sh.mutex.lock();
            *g += 1;
            sh.tally.mutex_ops.fetch_add(1, Ordering::Relaxed);
            if rng.below(4) == 0 {
                // Hold the lock across a yield: other goroutines queue on it.
                gort::runtime::gosched();
            }
        }
        75..=84 => {
            sh.tally.sleeps.fetch_add(1, Ordering::Relaxed);
            gort::time::sleep(Duration::from_micros(rng.below(300)));
        }
        85..=92 => {
            let us = rng.range(20, 400);
            sh.tally.blocking_calls.fetch_add(1, Ordering::Relaxed);
            gort::runtime::blocking(|| {
                // A call that blocks its OS thread, as a system call would: the P may be
                // handed off meanwhile, which is what this exercises.
                #[allow(clippy::disallowed_methods)]
                std::thread::sleep(Duration::from_micros(us));
                sh.tally.blocking_ran.fetch_add(1, Ordering::Relaxed);
            });
        }
        _ => echo(rng, sh, conn),
    }
}

/// A round trip through the echo server; sometimes the connection is closed and reopened.
fn echo(rng: &mut Rng, sh: &Arc<Shared>, conn: &mut Conn) {
    if conn.0.is_some() && rng.below(8) == 0 {
        conn.0 = None;
    }
    let s = conn.0.get_or_insert_with(|| {
        let s = gort::net::TcpStream::connect(sh.addr).expect("connect to the echo server");
        s.set_nodelay(true).unwrap();
        s
    });
    let v = rng.next().to_le_bytes();
    (&*s).write_all(&v).expect("echo write");
    let mut back = [0u8; 8];
    (&*s).read_exact(&mut back).expect("echo read");
    assert_eq!(back, v, "echo mismatch");
    sh.tally.echoes_sent.fetch_add(1, Ordering::Relaxed);
}

/// A short-lived goroutine, detached (counted by the helpers' WaitGroup) or joined at once.
fn spawn_helper(mut rng: Rng, sh: &Arc<Shared>) {
    sh.tally.helpers_spawned.fetch_add(1, Ordering::Relaxed);
    let sh2 = sh.clone();
    let detach = rng.below(2) == 0;
    let body = move || {
        match rng.below(3) {
            0 => gort::runtime::gosched(),
            1 => {
                // A hand-off through an unbuffered channel to a grandchild.
                let c = gort::chan::<u64>(0);
                let c2 = c.clone();
                let h = gort::go(move || c2.recv().unwrap() + 1);
                c.send(41);
                assert_eq!(h.join().unwrap(), 42);
            }
            _ => {}
        }
        sh2.tally.helpers_done.fetch_add(1, Ordering::Relaxed);
    };
    if detach {
        sh.helpers.go(body);
    } else {
        gort::go(body).join().unwrap();
    }
}

/// How a producer sends.
#[derive(Clone, Copy, Debug)]
enum SendMode {
    Plain,
    /// `select!` between its own channel and the next one.
    SelectTwo,
    /// `select!` with a timeout arm, retried until the send arm wins.
    SelectTimeout,
    /// `try_send`, yielding while the channel is full.
    TrySend,
}

/// How a consumer receives.
#[derive(Clone, Copy, Debug)]
enum RecvMode {
    Plain,
    /// `select!` over its own channel and the next one until both are closed.
    SelectTwo,
    SelectTimeout,
    TryRecv,
}

fn producer(
    mut rng: Rng,
    sh: Arc<Shared>,
    own: Chan<u64>,
    next: Chan<u64>,
    values: Vec<u64>,
    mode: SendMode,
    size: Size,
) {
    let mut conn = Conn(None);
    for v in values {
        chaos(&mut rng, &sh, &mut conn, size);
        match mode {
            SendMode::Plain => own.send(v),
            SendMode::SelectTwo => gort::select! {
                send(own, v) => {},
                send(next, v) => {},
            },
            SendMode::SelectTimeout => loop {
                let sent = gort::select! {
                    send(own, v) => true,
                    recv(gort::time::after(Duration::from_micros(200))) -> _t => false,
                };
                if sent {
                    break;
                }
            },
            SendMode::TrySend => {
                let mut v = v;
                let mut tries = 0;
                loop {
                    match own.try_send(v) {
                        Ok(()) => break,
                        Err(gort::TrySendError::Full(back)) if tries < 50 => {
                            v = back;
                            tries += 1;
                            gort::runtime::gosched();
                        }
                        // Every receiver may be polling too (an unbuffered channel then never
                        // has a parked receiver): block after a while.
                        Err(gort::TrySendError::Full(back)) => {
                            own.send(back);
                            break;
                        }
                        Err(gort::TrySendError::Closed(_)) => panic!("send on closed channel"),
                    }
                }
            }
        }
    }
}

fn consumer(
    mut rng: Rng,
    sh: Arc<Shared>,
    own: Chan<u64>,
    next: Chan<u64>,
    mode: RecvMode,
    size: Size,
) -> Vec<u64> {
    let mut conn = Conn(None);
    let mut got = Vec::new();
    match mode {
        RecvMode::Plain => {
            for v in &own {
                got.push(v);
                chaos(&mut rng, &sh, &mut conn, size);
            }
        }
        RecvMode::SelectTwo => {
            let (mut a, mut b) = (own, next);
            while !(a.is_nil() && b.is_nil()) {
                gort::select! {
                    recv(a) -> v => match v {
                        Some(v) => got.push(v),
                        None => a = Chan::nil(),
                    },
                    recv(b) -> v => match v {
                        Some(v) => got.push(v),
                        None => b = Chan::nil(),
                    },
                }
                chaos(&mut rng, &sh, &mut conn, size);
            }
        }
        RecvMode::SelectTimeout => loop {
            let r = gort::select! {
                recv(own) -> v => Some(v),
                recv(gort::time::after(Duration::from_micros(300))) -> _t => None,
            };
            match r {
                Some(Some(v)) => got.push(v),
                Some(None) => break,
                None => {}
            }
            chaos(&mut rng, &sh, &mut conn, size);
        },
        RecvMode::TryRecv => {
            let mut empty = 0;
            loop {
                match own.try_recv() {
                    Ok(v) => {
                        empty = 0;
                        got.push(v);
                    }
                    Err(gort::TryRecvError::Empty) if empty < 50 => {
                        empty += 1;
                        gort::runtime::gosched();
                    }
                    // As in `SendMode::TrySend`: block after a while.
                    Err(gort::TryRecvError::Empty) => match own.recv() {
                        Some(v) => {
                            empty = 0;
                            got.push(v);
                        }
                        None => break,
                    },
                    Err(gort::TryRecvError::Closed) => break,
                }
                chaos(&mut rng, &sh, &mut conn, size);
            }
        }
    }
    got
}

/// Serves echo connections until the listener is closed, then waits for its handlers.
fn echo_server(ln: Arc<gort::net::TcpListener>, sh: Arc<Shared>) {
    let conns = Arc::new(gort::sync::WaitGroup::new());
    while let Ok((s, _)) = ln.accept() {
        let sh = sh.clone();
        conns.go(move || {
            let mut buf = [0u8; 8];
            loop {
                match (&s).read(&mut buf[..]) {
                    Ok(0) => break,
                    Ok(n) => {
                        (&s).write_all(&buf[..n]).expect("echo server write");
                        // Count whole 8-byte messages by bytes: 8 bytes = one echo.
                        sh.tally
                            .echoes_served
                            .fetch_add(n as u64, Ordering::Relaxed);
                    }
                    Err(e) => panic!("echo server read: {e}"),
                }
            }
        });
    }
    conns.wait();
}

/// One iteration: returns a one-line summary.
fn iteration(seed: u64, size: Size) -> String {
    let mut rng = Rng(seed);
    let procs = rng.range(1, 8) as usize;
    let plan_rng = rng.fork();
    let summary = common::run_with(procs, move || workload(plan_rng, size));
    format!("seed {seed}: GOMAXPROCS {procs}, {summary}")
}

fn workload(mut rng: Rng, size: Size) -> String {
    let ln = Arc::new(gort::net::TcpListener::bind("127.0.0.1:0").expect("bind"));
    let sh = Arc::new(Shared {
        tally: Tally::default(),
        mutex: gort::sync::Mutex::new(0),
        helpers: Arc::new(gort::sync::WaitGroup::new()),
        addr: ln.local_addr().unwrap(),
    });
    let server = {
        let (ln, sh) = (ln.clone(), sh.clone());
        gort::go(move || echo_server(ln, sh))
    };

    let nchan = rng.range(1, size.max_chans) as usize;
    let chans: Vec<Chan<u64>> = (0..nchan)
        .map(|_| gort::chan([0, 0, 1, 3, 16][rng.below(5) as usize]))
        .collect();
    let producers_wg = Arc::new(gort::sync::WaitGroup::new());
    let mut sent = Vec::new();
    let mut consumers = Vec::new();
    for (k, own) in chans.iter().enumerate() {
        let next = chans[(k + 1) % nchan].clone();
        for p in 0..rng.range(1, size.max_producers) {
            let n = rng.range(1, size.max_values);
            let values: Vec<u64> = (0..n).map(|i| (k as u64) << 40 | p << 24 | i).collect();
            sent.extend_from_slice(&values);
            let mode = [
                SendMode::Plain,
                SendMode::SelectTwo,
                SendMode::SelectTimeout,
                SendMode::TrySend,
            ][rng.below(4) as usize];
            let (r, sh, own, next) = (rng.fork(), sh.clone(), own.clone(), next.clone());
            producers_wg.go(move || producer(r, sh, own, next, values, mode, size));
        }
        for _ in 0..rng.range(1, size.max_consumers) {
            let mode = [
                RecvMode::Plain,
                RecvMode::SelectTwo,
                RecvMode::SelectTimeout,
                RecvMode::TryRecv,
            ][rng.below(4) as usize];
            let (r, sh, own, next) = (rng.fork(), sh.clone(), own.clone(), next.clone());
            consumers.push(gort::go(move || consumer(r, sh, own, next, mode, size)));
        }
    }
    // The main goroutine makes some chaos of its own while the others run.
    let mut conn = Conn(None);
    for _ in 0..20 {
        chaos(&mut rng, &sh, &mut conn, size);
    }
    drop(conn);
    producers_wg.wait();
    for c in &chans {
        c.close();
    }
    let mut received: Vec<u64> = consumers
        .into_iter()
        .flat_map(|h| h.join().expect("consumer panicked"))
        .collect();
    sh.helpers.wait();
    ln.close();
    server.join().expect("echo server panicked");

    // Exact conservation.
    sent.sort_unstable();
    received.sort_unstable();
    assert_eq!(received.len(), sent.len(), "values received vs sent");
    assert!(received == sent, "a value was lost, duplicated or invented");
    let t = &sh.tally;
    let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
    assert_eq!(load(&t.helpers_done), load(&t.helpers_spawned), "helpers");
    assert_eq!(*sh.mutex.lock(), load(&t.mutex_ops), "mutex increments");
    assert_eq!(
        load(&t.blocking_ran),
        load(&t.blocking_calls),
        "blocking calls"
    );
    assert_eq!(
        load(&t.echoes_served),
        8 * load(&t.echoes_sent),
        "echoed bytes"
    );

    // Every goroutine finishes: the ones that signalled a WaitGroup from a drop guard may
    // still be on their way out, so give them a moment.
    let deadline = Instant::now() + Duration::from_secs(10);
    while gort::runtime::num_goroutine() > 1 {
        assert!(
            Instant::now() < deadline,
            "goroutines left over:\n{}",
            gort::runtime::stack_dump()
        );
        gort::time::sleep(Duration::from_millis(1));
    }
    format!(
        "{} values over {nchan} channels, {} helpers, {} mutex ops, {} blocking calls, {} \
         echoes, {} yields, {} sleeps",
        sent.len(),
        load(&t.helpers_spawned),
        load(&t.mutex_ops),
        load(&t.blocking_calls),
        load(&t.echoes_sent),
        load(&t.yields),
        load(&t.sleeps),
    )
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().map(|v| {
        v.trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number"))
    })
}

/// Writes to the process's stderr directly, past the test harness's capture, so the line is
/// there even if the process dies (deadlock report, abort).
fn say(msg: &str) {
    let _ = writeln!(std::io::stderr(), "stress_fuzz: {msg}");
}

/// Prints the seed of an iteration whose panic unwinds through it.
struct SeedOnPanic(u64);

impl Drop for SeedOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            say(&format!(
                "FAILED at seed {0}; replay: GORT_STRESS_SEED={0} GORT_STRESS_ITERS=1 cargo test \
                 --release --test stress_fuzz -- --ignored --nocapture stress_fuzz_long",
                self.0
            ));
        }
    }
}

/// Aborts the process, naming the seed, if an iteration hangs past `limit`.
fn watchdog(seed: u64, limit: Duration) -> mpsc::Sender<()> {
    let (tx, rx) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(limit) {
            say(&format!(
                "HANG: seed {seed} did not finish in {limit:?}; replay with \
                 GORT_STRESS_SEED={seed} GORT_STRESS_ITERS=1 (add GODEBUG=schedtrace=1000,\
                 scheddetail=1 to watch the scheduler)"
            ));
            if std::env::var_os("GORT_STRESS_GDB").is_some() {
                // Every M's stack, for the report (docs/hacking.md, "Debugging a hang").
                let _ = std::process::Command::new("gdb")
                    .args(["-p", &std::process::id().to_string(), "-batch"])
                    .args(["-ex", "thread apply all bt"])
                    .status();
            }
            std::process::abort();
        }
    });
    tx
}

/// Runs `iters` iterations from the base seed, stopping early after `secs` if given.
fn fuzz(name: &str, iters: u64, secs: Option<u64>, size: Size, verbose: bool) {
    let base = env_u64("GORT_STRESS_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
    });
    say(&format!(
        "{name}: base seed {base} ({iters} iterations); replay: GORT_STRESS_SEED={base}"
    ));
    let start = Instant::now();
    let mut done = 0;
    for i in 0..iters {
        if secs.is_some_and(|s| start.elapsed() >= Duration::from_secs(s)) {
            break;
        }
        let seed = base.wrapping_add(i);
        let _guard = SeedOnPanic(seed);
        let _dog = watchdog(seed, Duration::from_secs(60));
        let summary = iteration(seed, size);
        if verbose {
            say(&summary);
        }
        done += 1;
    }
    say(&format!(
        "{name}: {done} iterations passed in {:.1} s",
        start.elapsed().as_secs_f64()
    ));
}

/// The short version, in the normal suite: 40 small random workloads (about a second).
#[test]
fn stress_fuzz_short() {
    fuzz("stress_fuzz_short", 40, None, SHORT, false);
}

/// The short version again, in a child process under `GORT_RETAKE_STORM=1`: sysmon takes the
/// P of every goroutine it finds in user code, every round, so the hand-off paths (hog
/// retake, blocking calls, `exitsyscall`'s fast path on a P another M gave up) run thousands
/// of times. Three bugs were found this way (docs/reliability.md, "Findings").
#[test]
fn stress_fuzz_short_under_retake_storm() {
    common::scenario("storm", || {
        fuzz(
            "stress_fuzz_short_under_retake_storm",
            40,
            None,
            SHORT,
            false,
        );
        println!("STORM ok");
    });
    let o = common::spawn_scenario(
        "stress_fuzz_short_under_retake_storm",
        "storm",
        &[("GORT_RETAKE_STORM", "1")],
    );
    common::expect_scenario_ok(&o, "STORM ok");
}

/// The long version: `GORT_STRESS_ITERS` (2,000) larger workloads, or `GORT_STRESS_SECS`.
#[test]
#[ignore = "long: run with --ignored (scripts or by hand), see the module docs"]
fn stress_fuzz_long() {
    let iters = env_u64("GORT_STRESS_ITERS").unwrap_or(2_000);
    fuzz(
        "stress_fuzz_long",
        iters,
        env_u64("GORT_STRESS_SECS"),
        LONG,
        true,
    );
}
