//! Scale: a million goroutines parked at once on a stock kernel, the memory each costs, and
//! what happens when stacks cannot be had. Each scenario runs in a re-executed child, so its
//! memory is returned when it ends and its exit can be checked.

mod common;

use common::{scenario, spawn_scenario};
use std::sync::Arc;

/// Resident memory of this process in bytes (`/proc/self/statm`).
fn rss_bytes() -> u64 {
    let s = std::fs::read_to_string("/proc/self/statm").expect("read /proc/self/statm");
    let pages: u64 = s
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .expect("statm resident field");
    // SAFETY: sysconf has no preconditions.
    pages * unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as u64
}

/// Spawns `n` goroutines, each parked receiving on its own channel; once all are parked,
/// prints the resident memory per goroutine, then releases and joins them all.
fn park_many(n: usize) {
    gort::Builder::new().max_procs(2).run(move || {
        let before = rss_bytes();
        let parked = Arc::new(gort::sync::WaitGroup::new());
        let mut chans = Vec::with_capacity(n);
        let mut handles = Vec::with_capacity(n);
        for i in 0..n {
            let c = gort::chan::<usize>(0);
            let rx = c.clone();
            parked.add(1);
            let p = parked.clone();
            handles.push(gort::go(move || {
                p.done();
                rx.recv() == Some(i)
            }));
            chans.push(c);
        }
        parked.wait();
        let per_g = (rss_bytes().saturating_sub(before)) / n as u64;
        println!("PARKED {n} RSS_PER_G {per_g}");
        for (i, c) in chans.iter().enumerate() {
            c.send(i);
        }
        let ok = handles.into_iter().all(|h| matches!(h.join(), Ok(true)));
        assert!(ok, "every goroutine received its own value");
        assert_eq!(gort::runtime::num_goroutine(), 1);
        println!("JOINED {n}");
    });
}

#[test]
fn a_million_goroutines_park_and_finish() {
    scenario("million", || park_many(1_000_000));
    let o = spawn_scenario("a_million_goroutines_park_and_finish", "million", &[]);
    let out = String::from_utf8_lossy(&o.stdout);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "status {:?}\n{out}\n{err}", o.status);
    assert!(out.contains("JOINED 1000000"), "{out}\n{err}");
    let per_g: u64 = out
        .lines()
        .find_map(|l| l.split("PARKED 1000000 RSS_PER_G ").nth(1))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no RSS figure in: {out}"));
    eprintln!("resident memory per parked goroutine: {per_g} bytes");
    // One page of stack plus the G and its channel is about 4.5 KiB; a second page per
    // goroutine (frames straddling a page boundary) would show as about 8.5 KiB.
    assert!(per_g <= 6 * 1024, "{per_g} bytes per parked goroutine");
}

#[test]
fn running_out_of_stack_space_panics_with_a_clear_message() {
    scenario("no-stacks", || {
        // Cap the address space a little above what the process uses now: slabs of goroutine
        // stacks (256 stacks of 256 KiB each) soon cannot be mapped.
        let vm = std::fs::read_to_string("/proc/self/statm")
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
            .expect("statm size field");
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as u64;
        let cap = vm * page + (512 << 20);
        let lim = libc::rlimit {
            rlim_cur: cap,
            rlim_max: libc::RLIM_INFINITY,
        };
        // SAFETY: a valid rlimit struct.
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_AS, &lim) }, 0);
        gort::Builder::new().max_procs(1).run(|| {
            let mut chans = Vec::new();
            loop {
                let c = gort::chan::<()>(0);
                let rx = c.clone();
                drop(gort::go(move || {
                    rx.recv();
                }));
                chans.push(c);
            }
        });
    });
    let o = spawn_scenario(
        "running_out_of_stack_space_panics_with_a_clear_message",
        "no-stacks",
        &[],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("gort: cannot start a goroutine: cannot allocate a goroutine stack"),
        "status {:?}, stderr:\n{err}",
        o.status
    );
    // A panic, not a crash by signal.
    assert!(
        o.status.code().is_some(),
        "killed by a signal: {:?}",
        o.status
    );
}
