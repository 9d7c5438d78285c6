//! `runtime::lock_os_thread`: a locked goroutine runs only on its thread, across every kind of
//! park, and no other goroutine runs there meanwhile; a goroutine that exits locked ends its
//! thread; a deadlock with a locked goroutine is still reported. Thread identity is compared
//! with `std::thread::ThreadId`, which is never reused within a process.

mod common;

use common::{for_each_procs, scenario, spawn_scenario};
use std::collections::HashSet;
use std::sync::{Arc, Mutex as StdMutex};
use std::thread::{self, ThreadId};
use std::time::Duration;

#[test]
fn a_locked_goroutine_stays_on_its_thread_and_has_it_alone() {
    for_each_procs(|| {
        let others_seen = Arc::new(StdMutex::new(HashSet::<ThreadId>::new()));
        let go_on = gort::chan::<()>(0);
        let done = gort::chan::<()>(0);
        let (go_on2, done2) = (go_on.clone(), done.clone());
        let locked = gort::go(move || {
            gort::runtime::lock_os_thread();
            let me = thread::current().id();
            let mut seen = vec![me];
            go_on2.send(()); // let the others start
            for i in 0..50 {
                match i % 4 {
                    0 => gort::runtime::gosched(),
                    1 => gort::time::sleep(Duration::from_micros(100)),
                    2 => {
                        gort::runtime::blocking(|| std::hint::black_box(i));
                    }
                    _ => {
                        let c = gort::chan::<u32>(0);
                        let c2 = c.clone();
                        gort::go(move || c2.send(i));
                        assert_eq!(c.recv(), Some(i));
                    }
                };
                seen.push(thread::current().id());
            }
            done2.recv(); // park until the others are done
            seen.push(thread::current().id());
            gort::runtime::unlock_os_thread();
            (me, seen)
        });
        go_on.recv();
        let workers: Vec<_> = (0..8)
            .map(|_| {
                let others_seen = others_seen.clone();
                gort::go(move || {
                    for _ in 0..200 {
                        others_seen.lock().unwrap().insert(thread::current().id());
                        gort::runtime::gosched();
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
        done.send(());
        let (me, seen) = locked.join().unwrap();
        assert!(seen.iter().all(|t| *t == me), "the locked goroutine moved");
        assert!(
            !others_seen.lock().unwrap().contains(&me),
            "another goroutine ran on the locked thread"
        );
    });
}

#[test]
fn locks_nest_and_unlocking_an_unlocked_goroutine_does_nothing() {
    for_each_procs(|| {
        let h = gort::go(|| {
            gort::runtime::unlock_os_thread(); // not locked: a no-op
            gort::runtime::lock_os_thread();
            gort::runtime::lock_os_thread();
            let me = thread::current().id();
            gort::runtime::unlock_os_thread(); // still locked once
            for _ in 0..20 {
                gort::runtime::gosched();
                assert_eq!(thread::current().id(), me);
            }
            gort::runtime::unlock_os_thread();
        });
        h.join().unwrap();
    });
}

#[test]
fn a_goroutine_that_exits_locked_takes_its_thread_with_it() {
    for_each_procs(|| {
        let h = gort::go(|| {
            gort::runtime::lock_os_thread();
            gort::runtime::gosched();
            thread::current().id()
        });
        let gone = h.join().unwrap();
        // Plenty of goroutines, on every thread the runtime still has: none is the ended one.
        let hs: Vec<_> = (0..200)
            .map(|_| {
                gort::go(|| {
                    gort::runtime::gosched();
                    thread::current().id()
                })
            })
            .collect();
        for h in hs {
            assert_ne!(h.join().unwrap(), gone);
        }
    });
}

#[test]
fn a_deadlock_with_a_locked_goroutine_is_reported() {
    scenario("locked-deadlock", || {
        gort::Builder::new().max_procs(2).run(|| {
            let c = gort::chan::<()>(0);
            let c2 = c.clone();
            drop(gort::go(move || {
                gort::runtime::lock_os_thread();
                c2.recv();
            }));
            gort::chan::<()>(0).recv();
        });
    });
    let o = spawn_scenario(
        "a_deadlock_with_a_locked_goroutine_is_reported",
        "locked-deadlock",
        &[],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "stderr: {err}");
    assert!(
        err.contains("fatal error: all goroutines are asleep - deadlock!"),
        "{err}"
    );
}
