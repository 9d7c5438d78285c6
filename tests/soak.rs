//! Soak test: an echo server under continuous load, with client connections opened and closed
//! all the time, for `GORT_SOAK_SECS` seconds (`scripts/soak.sh DURATION`; `#[ignore]`d in the
//! normal suite).
//!
//! The run is cut into phases of `GORT_SOAK_PHASE_SECS` (10 s). At the end of each phase the
//! clients stop and every connection closes, and at that quiet point the test samples the live
//! goroutines (`runtime::num_goroutine()`), the Ms, the live timers, the open descriptors
//! (`/proc/self/fd`), the memory mappings (`/proc/self/maps`, where stack slabs show) and the
//! resident memory (`/proc/self/statm`). The first phase is the warm-up and gives the baseline.
//!
//! # Checked
//! - Every echo comes back byte for byte, and no client or server operation fails.
//! - At the last quiet point, against the baseline: the same number of goroutines and no more
//!   descriptors (both exact), at most 16 more mappings, at most 8 more Ms, at most 16 live
//!   timers, and resident memory grown by at most `max(16 MiB, 25%)`.
//!
//! The figures of every phase are printed, one line each.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Concurrent client goroutines.
const CLIENTS: u64 = 48;
/// A round trip carries at most this many bytes.
const MAX_MSG: usize = 4096;

#[derive(Default)]
struct Counters {
    conns_opened: AtomicU64,
    conns_accepted: AtomicU64,
    conns_live: AtomicU64,
    round_trips: AtomicU64,
    bytes: AtomicU64,
}

/// What the process holds at a quiet point.
#[derive(Debug, Clone, Copy)]
struct Sample {
    goroutines: u64,
    threads: u64,
    timers: u64,
    fds: u64,
    maps: u64,
    rss_kib: u64,
}

fn sample() -> Sample {
    let m = gort::runtime::metrics();
    let (fds, maps, rss_kib) = gort::runtime::blocking(|| {
        let fds = std::fs::read_dir("/proc/self/fd").unwrap().count() as u64;
        let maps = std::fs::read_to_string("/proc/self/maps")
            .unwrap()
            .lines()
            .count() as u64;
        let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
        let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as u64;
        (fds, maps, pages * page / 1024)
    });
    Sample {
        goroutines: gort::runtime::num_goroutine() as u64,
        threads: m.threads,
        timers: m.timers,
        fds,
        maps,
        rss_kib,
    }
}

fn serve(ln: Arc<gort::net::TcpListener>, c: Arc<Counters>) {
    let conns = Arc::new(gort::sync::WaitGroup::new());
    while let Ok((s, _)) = ln.accept() {
        c.conns_accepted.fetch_add(1, Ordering::Relaxed);
        c.conns_live.fetch_add(1, Ordering::Relaxed);
        let c = c.clone();
        conns.go(move || {
            let mut buf = vec![0u8; MAX_MSG];
            loop {
                match (&s).read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => (&s).write_all(&buf[..n]).expect("server write"),
                    Err(e) => panic!("server read: {e}"),
                }
            }
            c.conns_live.fetch_sub(1, Ordering::Relaxed);
        });
    }
    conns.wait();
}

/// One client: connections of 1 to 40 round trips each, until `stop`.
fn client(id: u64, addr: SocketAddr, stop: Arc<AtomicBool>, c: Arc<Counters>) {
    let mut x = id.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut out = vec![0u8; MAX_MSG];
    let mut back = vec![0u8; MAX_MSG];
    while !stop.load(Ordering::Relaxed) {
        let s = gort::net::TcpStream::connect(addr).expect("connect");
        c.conns_opened.fetch_add(1, Ordering::Relaxed);
        // A hang shows as an error here rather than as a stuck test.
        s.set_read_deadline(Some(Instant::now() + Duration::from_secs(30)))
            .unwrap();
        for _ in 0..1 + next() % 40 {
            let n = 1 + (next() as usize) % MAX_MSG;
            let fill = next() as u8;
            out[..n].iter_mut().enumerate().for_each(|(i, b)| {
                *b = fill.wrapping_add(i as u8);
            });
            (&s).write_all(&out[..n]).expect("client write");
            (&s).read_exact(&mut back[..n]).expect("client read");
            assert_eq!(back[..n], out[..n], "echo mismatch");
            c.round_trips.fetch_add(1, Ordering::Relaxed);
            c.bytes.fetch_add(n as u64, Ordering::Relaxed);
        }
        drop(s);
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().parse().expect(name))
        .unwrap_or(default)
}

#[test]
#[ignore = "long: scripts/soak.sh DURATION_SECS"]
fn soak_echo_server() {
    let secs = env_u64("GORT_SOAK_SECS", 300);
    let phase = env_u64("GORT_SOAK_PHASE_SECS", 10)
        .min(secs.max(2) / 2)
        .max(1);
    gort::run(move || {
        let ln = Arc::new(gort::net::TcpListener::bind("127.0.0.1:0").unwrap());
        let addr = ln.local_addr().unwrap();
        let c = Arc::new(Counters::default());
        let server = {
            let (ln, c) = (ln.clone(), c.clone());
            gort::go(move || serve(ln, c))
        };
        let start = Instant::now();
        let mut baseline: Option<Sample> = None;
        let mut last = None;
        let mut n = 0;
        while n == 0 || start.elapsed() < Duration::from_secs(secs) {
            n += 1;
            let stop = Arc::new(AtomicBool::new(false));
            let clients: Vec<_> = (0..CLIENTS)
                .map(|i| {
                    let (stop, c) = (stop.clone(), c.clone());
                    gort::go(move || client(n * 1000 + i, addr, stop, c))
                })
                .collect();
            gort::time::sleep(Duration::from_secs(phase));
            stop.store(true, Ordering::Relaxed);
            for h in clients {
                h.join().expect("client panicked");
            }
            // Quiet point: every server handler has seen its EOF.
            let t = Instant::now();
            while c.conns_live.load(Ordering::Relaxed) != 0 {
                assert!(
                    t.elapsed() < Duration::from_secs(30),
                    "server handlers stuck"
                );
                gort::time::sleep(Duration::from_millis(1));
            }
            let s = sample();
            println!(
                "soak: phase {n} at {:>4} s: {:?}; {} connections, {} round trips, {} MiB echoed",
                start.elapsed().as_secs(),
                s,
                c.conns_opened.load(Ordering::Relaxed),
                c.round_trips.load(Ordering::Relaxed),
                c.bytes.load(Ordering::Relaxed) >> 20,
            );
            if baseline.is_none() {
                baseline = Some(s);
            }
            last = Some(s);
        }
        ln.close();
        server.join().expect("server panicked");
        let (b, l) = (baseline.unwrap(), last.unwrap());
        assert_eq!(
            c.conns_opened.load(Ordering::Relaxed),
            c.conns_accepted.load(Ordering::Relaxed),
            "connections opened vs accepted"
        );
        println!("soak: baseline {b:?}");
        println!("soak: final    {l:?}");
        if n > 1 {
            assert_eq!(l.goroutines, b.goroutines, "goroutines grew");
            assert!(l.fds <= b.fds, "descriptors grew: {} -> {}", b.fds, l.fds);
            // A new M brings its thread stack and maybe a malloc arena: a few mappings each.
            assert!(
                l.maps <= b.maps + 16,
                "mappings grew: {} -> {}",
                b.maps,
                l.maps
            );
            assert!(
                l.threads <= b.threads + 8,
                "Ms grew: {} -> {}",
                b.threads,
                l.threads
            );
            assert!(l.timers <= 16, "live timers: {}", l.timers);
            let bound = b.rss_kib + (16 * 1024).max(b.rss_kib / 4);
            assert!(
                l.rss_kib <= bound,
                "resident memory grew: {} KiB -> {} KiB (bound {bound} KiB)",
                b.rss_kib,
                l.rss_kib
            );
        }
    });
}
