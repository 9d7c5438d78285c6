//! `runtime::blocking`: a goroutine blocked in a call that holds its OS thread does not stop
//! the others, even at GOMAXPROCS=1 (sysmon hands its P to another M). Checked by progress, not
//! by time: the blocked call waits until another goroutine has made progress, which can only
//! happen through the hand-off.

mod common;

use common::{for_each_procs, run_with};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

#[test]
fn blocked_call_does_not_stop_other_goroutines() {
    for_each_procs(|| {
        let progress = Arc::new(AtomicU64::new(0));
        let p = progress.clone();
        let worker = gort::go(move || {
            while p.load(Ordering::SeqCst) < 1_000_000 {
                p.fetch_add(1, Ordering::SeqCst);
                if p.load(Ordering::SeqCst) % 64 == 0 {
                    gort::runtime::gosched();
                }
            }
        });
        let p = progress.clone();
        let blocker = gort::go(move || {
            gort::runtime::blocking(|| {
                // Holds this OS thread until the worker has run a while.
                while p.load(Ordering::SeqCst) < 1000 {
                    std::thread::yield_now();
                }
            });
            p.load(Ordering::SeqCst)
        });
        assert!(blocker.join().unwrap() >= 1000);
        worker.join().unwrap();
    });
}

#[test]
fn one_p_hands_off_during_a_blocking_call() {
    // The progress check above, at GOMAXPROCS=1 with the blocker started first.
    run_with(1, || {
        let progress = Arc::new(AtomicU64::new(0));
        let p = progress.clone();
        let blocker = gort::go(move || {
            gort::runtime::blocking(|| {
                while p.load(Ordering::SeqCst) < 100 {
                    std::thread::yield_now();
                }
            })
        });
        gort::runtime::gosched(); // let the blocker enter its call
        for _ in 0..100 {
            progress.fetch_add(1, Ordering::SeqCst);
            gort::runtime::gosched();
        }
        blocker.join().unwrap();
        assert!(gort::runtime::metrics().threads >= 2);
    });
}

#[test]
fn blocking_returns_values_and_panics() {
    for_each_procs(|| {
        assert_eq!(gort::runtime::blocking(|| 6 * 7), 42);
        let r = std::panic::catch_unwind(|| gort::runtime::blocking(|| panic!("inside")));
        assert!(r.is_err());
        // The runtime is intact: goroutines still run and join.
        assert_eq!(gort::go(|| 5).join().unwrap(), 5);
        // Blocking gort calls inside a blocking call panic with the outside-goroutine message.
        let c = gort::chan::<u8>(0);
        let e = std::panic::catch_unwind(|| gort::runtime::blocking(|| c.recv())).unwrap_err();
        let msg = common::panic_message(&*e);
        assert!(msg.contains("outside a goroutine"), "{msg}");
    });
    // Outside any runtime it just calls the function.
    assert_eq!(gort::runtime::blocking(|| 1), 1);
}

#[test]
fn fs_helpers_round_trip() {
    for_each_procs(|| {
        let dir = std::env::temp_dir().join(format!("gort-fs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("f{}", gort::runtime::gomaxprocs()));
        gort::fs::write(&path, b"hello gort").unwrap();
        assert_eq!(gort::fs::read_to_string(&path).unwrap(), "hello gort");
        use std::io::{Read, Write};
        let mut f = gort::fs::File::create(&path).unwrap();
        f.write_all(b"abc").unwrap();
        f.sync_all().unwrap();
        let mut s = String::new();
        gort::fs::File::open(&path)
            .unwrap()
            .read_to_string(&mut s)
            .unwrap();
        assert_eq!(s, "abc");
        std::fs::remove_file(&path).unwrap();
    });
}
