//! singleflight: 100 concurrent callers of one key share one execution (through `do` and
//! through `do_chan`), `forget` starts a fresh execution, keys are independent, errors are
//! shared like values, and a panic reaches every kind of caller. Each test runs at
//! GOMAXPROCS 1, 2 and 4 and checks outcomes, never durations.

use gort::sync::singleflight::{Group, Shared};
use gort::sync::WaitGroup;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

const CALLERS: usize = 100;

fn for_each_procs(f: impl Fn() + Send + Sync + Clone + 'static) {
    for p in [1, 2, 4] {
        let f = f.clone();
        gort::Builder::new().max_procs(p).run(f);
    }
}

/// Polls until `n` goroutines are parked waiting for a shared call (a duplicate `do` caller
/// waits on the call's `WaitGroup`). Only the outcome is checked, never how long it took.
fn wait_for_duplicates(n: usize) {
    loop {
        let parked = gort::runtime::stack_dump()
            .lines()
            .filter(|l| l.ends_with("[sync.WaitGroup.Wait]:"))
            .count();
        if parked == n {
            return;
        }
        gort::time::sleep(Duration::from_millis(1));
    }
}

#[test]
fn a_lone_call_is_not_shared() {
    for_each_procs(|| {
        let g = Group::<&str, u64>::new();
        assert_eq!(g.r#do("k", || 1), (1, false));
        assert_eq!(
            g.r#do("k", || 2),
            (2, false),
            "finished calls are not cached"
        );
        let ch = g.do_chan("k", || 3);
        assert_eq!(
            ch.recv(),
            Some(Shared {
                val: 3,
                shared: false
            })
        );
    });
}

#[test]
fn hundred_concurrent_do_callers_share_one_execution() {
    for_each_procs(|| {
        let g = Group::<String, Arc<String>>::new();
        let calls = Arc::new(AtomicUsize::new(0));
        let gate = gort::chan::<()>(0);
        let results = gort::chan::<(Arc<String>, bool)>(CALLERS);
        for _ in 0..CALLERS {
            let (g, calls, gate, results) =
                (g.clone(), calls.clone(), gate.clone(), results.clone());
            drop(gort::go(move || {
                let r = g.r#do("config".to_string(), || {
                    calls.fetch_add(1, Ordering::SeqCst);
                    gate.recv(); // hold the call open until every caller has joined
                    Arc::new("v1".to_string())
                });
                results.send(r);
            }));
        }
        wait_for_duplicates(CALLERS - 1); // the leader runs f, the other 99 wait for it
        gate.close();
        let got: Vec<(Arc<String>, bool)> = (0..CALLERS).map(|_| results.recv().unwrap()).collect();
        assert_eq!(calls.load(Ordering::SeqCst), 1, "one execution");
        let first = &got[0].0;
        assert!(
            got.iter().all(|(v, _)| Arc::ptr_eq(v, first)),
            "one shared value"
        );
        assert!(
            got.iter().all(|&(_, shared)| shared),
            "every caller was told it shared"
        );
    });
}

#[test]
fn hundred_do_chan_callers_share_one_execution() {
    for_each_procs(|| {
        let g = Group::<u32, u64>::new();
        let calls = Arc::new(AtomicUsize::new(0));
        let gate = gort::chan::<()>(0);
        let registered = Arc::new(WaitGroup::new());
        let results = gort::chan::<Shared<u64>>(CALLERS);
        for _ in 0..CALLERS {
            let (g, calls, gate, results) =
                (g.clone(), calls.clone(), gate.clone(), results.clone());
            let registered = registered.clone();
            registered.add(1);
            drop(gort::go(move || {
                let ch = g.do_chan(7, move || {
                    calls.fetch_add(1, Ordering::SeqCst);
                    gate.recv();
                    42
                });
                registered.done(); // do_chan registers before it returns
                results.send(ch.recv().unwrap());
            }));
        }
        registered.wait();
        gate.close();
        for _ in 0..CALLERS {
            assert_eq!(
                results.recv(),
                Some(Shared {
                    val: 42,
                    shared: true
                })
            );
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn forget_starts_a_fresh_execution() {
    for_each_procs(|| {
        let g = Group::<&str, &str>::new();
        let gate = gort::chan::<()>(0);
        let gate2 = gate.clone();
        let first = g.do_chan("k", move || {
            gate2.recv();
            "old"
        });
        // While "old" runs, a caller would join it...
        let joined = g.do_chan("k", || unreachable!("joins the running call"));
        // ...but after forget, a new caller runs its own function.
        g.forget(&"k");
        assert_eq!(g.r#do("k", || "new"), ("new", false));
        gate.close();
        assert_eq!(first.recv().map(|s| s.val), Some("old"));
        assert_eq!(joined.recv().map(|s| s.val), Some("old"));
        // The old call finishing did not remove the key of a newer call (none is running).
        assert_eq!(g.r#do("k", || "newest"), ("newest", false));
    });
}

#[test]
fn keys_are_independent() {
    for_each_procs(|| {
        let g = Group::<u8, u8>::new();
        let gate = gort::chan::<()>(0);
        let gate2 = gate.clone();
        let slow = g.do_chan(1, move || {
            gate2.recv();
            1
        });
        assert_eq!(g.r#do(2, || 2), (2, false), "key 2 does not wait for key 1");
        gate.close();
        assert_eq!(slow.recv().map(|s| s.val), Some(1));
    });
}

#[test]
fn errors_are_shared_like_values() {
    for_each_procs(|| {
        let g = Group::<&str, Result<u32, String>>::new();
        let gate = gort::chan::<()>(0);
        let gate2 = gate.clone();
        let leader = g.do_chan("k", move || {
            gate2.recv();
            Err("backend down".to_string())
        });
        let dup = g.do_chan("k", || Ok(1));
        gate.close();
        for ch in [leader, dup] {
            assert_eq!(ch.recv().unwrap().val, Err("backend down".to_string()));
        }
    });
}

#[test]
fn a_panic_reaches_every_caller() {
    for_each_procs(|| {
        let g = Group::<&str, u8>::new();
        let started = gort::chan::<()>(1);
        let gate = gort::chan::<()>(0);
        let (g1, started1, gate1) = (g.clone(), started.clone(), gate.clone());
        let leader = gort::go(move || {
            g1.r#do("k", || {
                started1.send(()); // registered: f runs only after that
                gate1.recv();
                panic!("backend exploded")
            })
        });
        started.recv();
        let g2 = g.clone();
        let dup = gort::go(move || g2.r#do("k", || 0));
        wait_for_duplicates(1);
        let chan_dup = g.do_chan("k", || 0);
        gate.close();

        let p = leader.join().unwrap_err();
        assert_eq!(
            p.message(),
            Some("backend exploded"),
            "the leader gets its own panic"
        );
        let p = dup.join().unwrap_err();
        assert_eq!(p.message(), Some("singleflight: the shared call panicked"));
        assert_eq!(
            chan_dup.recv(),
            None,
            "do_chan callers see a closed channel"
        );
        // The key is free again.
        assert_eq!(g.r#do("k", || 5), (5, false));
    });
}
