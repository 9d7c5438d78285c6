//! Go's sync tests that apply to gort (ported from src/sync/{mutex,rwmutex,once,cond,
//! waitgroup}_test.go, Copyright 2009 The Go Authors, BSD licence), each at GOMAXPROCS 1, 2
//! and 4. Same structure and constants as Go's unless a comment says otherwise.

use gort::sync::{Cond, Mutex, Once, OnceValue, RwMutex, WaitGroup};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn for_each_procs(f: impl Fn() + Send + Sync + Clone + 'static) {
    for p in [1, 2, 4] {
        let f = f.clone();
        gort::Builder::new().max_procs(p).run(f);
    }
}

// https://github.com/golang/go/blob/master/src/sync/mutex_test.go

/// TestMutex: 10 goroutines each lock and unlock 1000 times around a non-atomic update.
#[test]
fn go_mutex() {
    for_each_procs(|| {
        let m = Arc::new(Mutex::new(0u64));
        let c = gort::chan::<bool>(0);
        for _ in 0..10 {
            let (m, c) = (m.clone(), c.clone());
            drop(gort::go(move || {
                for _ in 0..1000 {
                    *m.lock() += 1;
                }
                c.send(true);
            }));
        }
        for _ in 0..10 {
            c.recv();
        }
        assert_eq!(*m.lock(), 10_000);
        assert!(m.try_lock().is_some());
    });
}

/// TestMutexFairness: a goroutine that holds the lock almost all the time must not starve a
/// goroutine that wants it briefly 10 times (starvation mode must kick in). Go allows 10 s;
/// here the check is that it finishes at all (a hang would be the failure), not how fast.
#[test]
fn go_mutex_fairness() {
    for_each_procs(|| {
        let mu = Arc::new(Mutex::new(()));
        let stop = Arc::new(AtomicBool::new(false));
        let (mu1, stop1) = (mu.clone(), stop.clone());
        let hog = gort::go(move || {
            while !stop1.load(Ordering::SeqCst) {
                let _g = mu1.lock();
                gort::time::sleep(Duration::from_micros(100));
            }
        });
        let done = gort::chan::<bool>(1);
        let (mu2, d2) = (mu.clone(), done.clone());
        drop(gort::go(move || {
            for _ in 0..10 {
                gort::time::sleep(Duration::from_micros(100));
                drop(mu2.lock());
            }
            d2.send(true);
        }));
        assert_eq!(done.recv(), Some(true));
        stop.store(true, Ordering::SeqCst);
        hog.join().unwrap();
    });
}

/// A guard sent to another goroutine unlocks there (Go mutexes are not tied to goroutines).
#[test]
fn unlock_from_another_goroutine() {
    for_each_procs(|| {
        let ms: &'static Mutex<i32> = Box::leak(Box::new(Mutex::new(7)));
        let g = ms.lock();
        let c = gort::chan::<gort::sync::MutexGuard<'static, i32>>(0);
        let c2 = c.clone();
        let h = gort::go(move || drop(c2.recv().unwrap()));
        c.send(g);
        h.join().unwrap();
        assert_eq!(*ms.lock(), 7);
    });
}

// https://github.com/golang/go/blob/master/src/sync/rwmutex_test.go

/// TestParallelReaders: numReaders readers hold the read lock at the same time.
#[test]
fn go_parallel_readers() {
    for_each_procs(|| {
        for num_readers in [1, 3, 4] {
            let m = Arc::new(RwMutex::new(()));
            let clocked = gort::chan::<bool>(0);
            let cunlock = gort::chan::<bool>(0);
            let cdone = gort::chan::<bool>(0);
            for _ in 0..num_readers {
                let (m, cl, cu, cd) = (m.clone(), clocked.clone(), cunlock.clone(), cdone.clone());
                drop(gort::go(move || {
                    let g = m.read();
                    cl.send(true);
                    cu.recv();
                    drop(g);
                    cd.send(true);
                }));
            }
            // Wait for all parallel RLock()s to succeed.
            for _ in 0..num_readers {
                clocked.recv();
            }
            for _ in 0..num_readers {
                cunlock.send(true);
            }
            // Wait for the goroutines to finish.
            for _ in 0..num_readers {
                cdone.recv();
            }
        }
    });
}

fn hammer_reader(rw: &RwMutex<()>, iters: usize, activity: &AtomicI32, cdone: &gort::Chan<bool>) {
    for _ in 0..iters {
        let g = rw.read();
        let n = activity.fetch_add(1, Ordering::SeqCst) + 1;
        assert!((1..10_000).contains(&n), "rlock({n})");
        std::hint::black_box(0..100).for_each(drop);
        activity.fetch_sub(1, Ordering::SeqCst);
        drop(g);
    }
    cdone.send(true);
}

fn hammer_writer(rw: &RwMutex<()>, iters: usize, activity: &AtomicI32, cdone: &gort::Chan<bool>) {
    for _ in 0..iters {
        let g = rw.write();
        let n = activity.fetch_add(10_000, Ordering::SeqCst) + 10_000;
        assert_eq!(n, 10_000, "wlock({n})");
        std::hint::black_box(0..100).for_each(drop);
        activity.fetch_sub(10_000, Ordering::SeqCst);
        drop(g);
    }
    cdone.send(true);
}

/// TestRWMutex (HammerRWMutex): readers and writers check the activity counter's invariants.
#[test]
fn go_hammer_rwmutex() {
    for_each_procs(|| {
        let n = 1000;
        for num_readers in [1, 3, 10] {
            let rw = Arc::new(RwMutex::new(()));
            let activity = Arc::new(AtomicI32::new(0));
            let cdone = gort::chan::<bool>(0);
            let spawn = |write: bool| {
                let (rw, a, c) = (rw.clone(), activity.clone(), cdone.clone());
                drop(gort::go(move || {
                    if write {
                        hammer_writer(&rw, n, &a, &c)
                    } else {
                        hammer_reader(&rw, n, &a, &c)
                    }
                }));
            };
            spawn(true);
            let mut i = 0;
            while i < num_readers / 2 {
                spawn(false);
                i += 1;
            }
            spawn(true);
            while i < num_readers {
                spawn(false);
                i += 1;
            }
            // Wait for the 2 writers and all readers to finish.
            for _ in 0..2 + num_readers {
                cdone.recv();
            }
        }
    });
}

/// Writer preference: once a writer waits, new readers wait behind it.
#[test]
fn rwmutex_writer_preference() {
    for_each_procs(|| {
        let rw = Arc::new(RwMutex::new(0));
        let r1 = rw.read();
        let (rw2, rw3) = (rw.clone(), rw.clone());
        let writer = gort::go(move || *rw2.write() += 1);
        // Wait until the writer is pending: from then on new readers are turned away.
        while rw.try_read().is_some() {
            gort::runtime::gosched();
        }
        let reader = gort::go(move || *rw3.read());
        drop(r1);
        writer.join().unwrap();
        assert_eq!(reader.join().unwrap(), 1, "the reader ran after the writer");
    });
}

// https://github.com/golang/go/blob/master/src/sync/once_test.go

/// TestOnce: 10 goroutines, the function runs once and every caller sees its effect.
#[test]
fn go_once() {
    for_each_procs(|| {
        let o = Arc::new((Once::new(), AtomicI32::new(0)));
        let c = gort::chan::<bool>(0);
        for _ in 0..10 {
            let (o, c) = (o.clone(), c.clone());
            drop(gort::go(move || {
                o.0.call_once(|| {
                    o.1.fetch_add(1, Ordering::SeqCst);
                });
                assert_eq!(o.1.load(Ordering::SeqCst), 1, "once failed inside run");
                c.send(true);
            }));
        }
        for _ in 0..10 {
            c.recv();
        }
        assert_eq!(o.1.load(Ordering::SeqCst), 1);
    });
}

/// TestOncePanic: a panicking function counts as done.
#[test]
fn go_once_panic() {
    for_each_procs(|| {
        let once = Once::new();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            once.call_once(|| panic!("failed"));
        }));
        assert!(r.is_err(), "Once.Do did not panic");
        once.call_once(|| panic!("Once.Do called twice"));
    });
}

#[test]
fn once_value() {
    for_each_procs(|| {
        let calls = Arc::new(AtomicUsize::new(0));
        let c2 = calls.clone();
        let v = Arc::new(OnceValue::new(move || {
            c2.fetch_add(1, Ordering::SeqCst);
            42
        }));
        let hs: Vec<_> = (0..20)
            .map(|_| {
                let v = v.clone();
                gort::go(move || *v.get())
            })
            .collect();
        for h in hs {
            assert_eq!(h.join().unwrap(), 42);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    });
}

// https://github.com/golang/go/blob/master/src/sync/cond_test.go

/// TestCondSignal: n waiters; each Signal wakes exactly one.
#[test]
fn go_cond_signal() {
    for_each_procs(|| {
        let n = 2;
        let st = Arc::new((Mutex::new(0), Cond::new()));
        let running = gort::chan::<bool>(n);
        let awake = gort::chan::<bool>(n);
        for _ in 0..n {
            let (st, r, a) = (st.clone(), running.clone(), awake.clone());
            drop(gort::go(move || {
                let g = st.0.lock();
                r.send(true);
                let g = st.1.wait(g);
                a.send(true);
                drop(g);
            }));
        }
        for _ in 0..n {
            running.recv(); // Wait for everyone to run.
        }
        for _ in 0..n {
            {
                let _g = st.0.lock();
            }
            assert!(awake.try_recv().is_err(), "goroutine not asleep");
            let g = st.0.lock();
            st.1.signal();
            drop(g);
            awake.recv(); // Will deadlock if no goroutine wakes up.
            assert!(awake.try_recv().is_err(), "too many goroutines awake");
        }
        st.1.signal();
    });
}

/// TestCondBroadcast: every waiter wakes on each broadcast, n rounds.
#[test]
fn go_cond_broadcast() {
    for_each_procs(|| {
        let n = 20;
        let st = Arc::new((Mutex::new(0usize), Cond::new()));
        let running = gort::chan::<usize>(n);
        let awake = gort::chan::<usize>(n);
        let exit = Arc::new(AtomicBool::new(false));
        for g in 0..n {
            let (st, r, a, exit) = (st.clone(), running.clone(), awake.clone(), exit.clone());
            drop(gort::go(move || {
                let mut guard = st.0.lock();
                while !exit.load(Ordering::SeqCst) {
                    r.send(g);
                    guard = st.1.wait(guard);
                    a.send(g);
                }
                drop(guard);
            }));
        }
        for _ in 0..n {
            for _ in 0..n {
                running.recv(); // Will deadlock unless n are running.
            }
            let g = st.0.lock();
            st.1.broadcast();
            drop(g);
            let mut seen = vec![false; n];
            for _ in 0..n {
                let w = awake.recv().unwrap();
                assert!(!seen[w], "goroutine woke up twice");
                seen[w] = true;
            }
        }
        exit.store(true, Ordering::SeqCst);
        for _ in 0..n {
            running.recv();
        }
        let g = st.0.lock();
        st.1.broadcast();
        drop(g);
    });
}

/// TestRace: three goroutines hand a counter around with Cond.Signal; none may miss a wake-up.
#[test]
fn go_cond_race() {
    for_each_procs(|| {
        let st = Arc::new((Mutex::new(0), Cond::new()));
        let done = gort::chan::<bool>(0);
        {
            let (st, d) = (st.clone(), done.clone());
            drop(gort::go(move || {
                let mut x = st.0.lock();
                *x = 1;
                x = st.1.wait(x);
                assert_eq!(*x, 2, "want 2");
                *x = 3;
                st.1.signal();
                drop(x);
                d.send(true);
            }));
        }
        {
            let (st, d) = (st.clone(), done.clone());
            drop(gort::go(move || {
                let mut x = st.0.lock();
                loop {
                    if *x == 1 {
                        *x = 2;
                        st.1.signal();
                        break;
                    }
                    drop(x);
                    gort::runtime::gosched();
                    x = st.0.lock();
                }
                drop(x);
                d.send(true);
            }));
        }
        {
            let (st, d) = (st.clone(), done.clone());
            drop(gort::go(move || {
                let mut x = st.0.lock();
                loop {
                    if *x == 2 {
                        x = st.1.wait(x);
                        assert_eq!(*x, 3, "want 3");
                        break;
                    }
                    if *x == 3 {
                        break;
                    }
                    drop(x);
                    gort::runtime::gosched();
                    x = st.0.lock();
                }
                drop(x);
                d.send(true);
            }));
        }
        done.recv();
        done.recv();
        done.recv();
    });
}

// https://github.com/golang/go/blob/master/src/sync/waitgroup_test.go

/// TestWaitGroup: two groups, n goroutines; the first group's Wait must not return early.
#[test]
fn go_waitgroup() {
    for_each_procs(|| {
        let n = 16;
        let wg1 = Arc::new(WaitGroup::new());
        let wg2 = Arc::new(WaitGroup::new());
        // Run the same test a few times to ensure barrier is in a proper state.
        for _ in 0..8 {
            wg1.add(n);
            wg2.add(n);
            let exited = gort::chan::<bool>(n as usize);
            for _ in 0..n {
                let (wg1, wg2, ex) = (wg1.clone(), wg2.clone(), exited.clone());
                drop(gort::go(move || {
                    wg1.done();
                    wg2.wait();
                    ex.send(true);
                }));
            }
            wg1.wait();
            for _ in 0..n {
                assert!(
                    exited.try_recv().is_err(),
                    "WaitGroup released group too soon"
                );
                wg2.done();
            }
            for _ in 0..n {
                exited.recv(); // Will block if barrier fails to unlock someone.
            }
        }
    });
}
