//! A finished runtime gives its poller's descriptors back: a process that starts runtime after
//! runtime, each using timers and sockets, does not accumulate descriptors. Runs in a child
//! process, so no other test's descriptors are counted.

mod common;

use common::{scenario, spawn_scenario};
use std::io::{Read, Write};
use std::time::Duration;

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

/// One runtime that sleeps (a timer, so the netpoller exists) and makes a TCP round trip.
fn one_runtime() {
    gort::Builder::new().max_procs(2).run(|| {
        gort::time::sleep(Duration::from_millis(1));
        let l = gort::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let server = gort::go(move || {
            let (mut c, _) = l.accept().unwrap();
            let mut b = [0u8; 4];
            c.read_exact(&mut b).unwrap();
            c.write_all(&b).unwrap();
        });
        let mut c = gort::net::TcpStream::connect(addr).unwrap();
        c.write_all(b"ping").unwrap();
        let mut b = [0u8; 4];
        c.read_exact(&mut b).unwrap();
        assert_eq!(&b, b"ping");
        server.join().unwrap();
    });
}

#[test]
fn finished_runtimes_give_their_descriptors_back() {
    scenario("fds", || {
        one_runtime(); // warm-up: whatever is opened once per process
                       // Teardown runs on the last M to exit, which may finish just after `run` returns.
        let settle = || {
            for _ in 0..200 {
                std::thread::yield_now();
            }
        };
        settle();
        let before = open_fds();
        for _ in 0..200 {
            one_runtime();
        }
        settle();
        let after = open_fds();
        println!("FDS {before} {after}");
    });
    let o = spawn_scenario("finished_runtimes_give_their_descriptors_back", "fds", &[]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let nums: Vec<usize> = out
        .split("FDS ")
        .nth(1)
        .unwrap_or_else(|| panic!("no FDS line in: {out}"))
        .split_whitespace()
        .take(2)
        .map(|n| n.parse().unwrap())
        .collect();
    let (before, after) = (nums[0], nums[1]);
    // Three per runtime leaked before the fix (600 here); a few may still be closing.
    assert!(
        after <= before + 6,
        "{before} descriptors before, {after} after 200 runtimes"
    );
}
