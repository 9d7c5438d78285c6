//! errgroup: `wait` returns the first error, the first error cancels the group's context and
//! so wakes the other goroutines, success cancels the context only at `wait`, `set_limit`
//! bounds concurrency, `try_go` never blocks, and a panic reaches `wait`. Each test runs at
//! GOMAXPROCS 1, 2 and 4 and checks outcomes, never durations.

use gort::context::{self, ContextError};
use gort::sync::errgroup::Group;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

fn for_each_procs(f: impl Fn() + Send + Sync + Clone + 'static) {
    for p in [1, 2, 4] {
        let f = f.clone();
        gort::Builder::new().max_procs(p).run(f);
    }
}

#[test]
fn the_first_error_cancels_the_others() {
    for_each_procs(|| {
        let (g, ctx) = Group::<String>::with_context(&context::background());
        let cancelled = Arc::new(AtomicUsize::new(0));
        for i in 0..10 {
            let (ctx, cancelled) = (ctx.clone(), cancelled.clone());
            g.go(move || {
                let never = gort::chan::<()>(0);
                gort::select! {
                    recv(never) -> _ => unreachable!(),
                    recv(ctx.done()) -> _ => {
                        cancelled.fetch_add(1, Ordering::SeqCst);
                        Err(format!("worker {i}: {}", ctx.err().unwrap()))
                    },
                }
            });
        }
        g.go(|| Err("fetch failed".to_string()));
        assert_eq!(g.wait(), Err("fetch failed".to_string()));
        assert_eq!(
            cancelled.load(Ordering::SeqCst),
            10,
            "all woken by the cancel"
        );
        assert_eq!(ctx.err(), Some(ContextError::Canceled));
        // The error is handed out once.
        assert_eq!(g.wait(), Ok(()));
    });
}

#[test]
fn success_cancels_the_context_only_at_wait() {
    for_each_procs(|| {
        let (g, ctx) = Group::<()>::with_context(&context::background());
        let finished = gort::chan::<usize>(8);
        for i in 0..8 {
            let finished = finished.clone();
            g.go(move || {
                finished.send(i);
                Ok(())
            });
        }
        let mut got: Vec<usize> = (0..8).map(|_| finished.recv().unwrap()).collect();
        got.sort_unstable();
        assert_eq!(got, (0..8).collect::<Vec<_>>());
        assert_eq!(
            ctx.err(),
            None,
            "no error: nothing is cancelled before wait"
        );
        assert_eq!(g.wait(), Ok(()));
        assert_eq!(
            ctx.err(),
            Some(ContextError::Canceled),
            "Go cancels at Wait"
        );
    });
}

#[test]
fn a_plain_group_and_nested_go() {
    for_each_procs(|| {
        let g = Group::<u32>::new();
        let count = Arc::new(AtomicUsize::new(0));
        for _ in 0..5 {
            let (g2, count) = (g.clone(), count.clone());
            g.go(move || {
                for _ in 0..5 {
                    let count = count.clone();
                    g2.go(move || {
                        count.fetch_add(1, Ordering::SeqCst);
                        Ok(())
                    });
                }
                Ok(())
            });
        }
        assert_eq!(g.wait(), Ok(()));
        assert_eq!(count.load(Ordering::SeqCst), 25);
        let failing = Group::<u32>::default();
        failing.go(|| Err(7));
        assert_eq!(failing.wait(), Err(7));
    });
}

#[test]
fn set_limit_bounds_the_goroutines_running() {
    for_each_procs(|| {
        const LIMIT: usize = 3;
        let g = Group::<()>::new();
        g.set_limit(Some(LIMIT));
        let active = Arc::new(AtomicUsize::new(0));
        let max = Arc::new(AtomicUsize::new(0));
        let ran = Arc::new(AtomicUsize::new(0));
        for _ in 0..30 {
            let (active, max, ran) = (active.clone(), max.clone(), ran.clone());
            g.go(move || {
                let now = active.fetch_add(1, Ordering::SeqCst) + 1;
                max.fetch_max(now, Ordering::SeqCst);
                gort::runtime::gosched();
                gort::time::sleep(std::time::Duration::from_micros(100));
                active.fetch_sub(1, Ordering::SeqCst);
                ran.fetch_add(1, Ordering::SeqCst);
                Ok(())
            });
        }
        assert_eq!(g.wait(), Ok(()));
        assert_eq!(ran.load(Ordering::SeqCst), 30);
        assert!(max.load(Ordering::SeqCst) <= LIMIT);
    });
}

#[test]
fn try_go_and_changing_the_limit() {
    for_each_procs(|| {
        let g = Group::<()>::new();
        g.set_limit(Some(1));
        let gate = gort::chan::<()>(0);
        let gate2 = gate.clone();
        assert!(g.try_go(move || {
            gate2.recv();
            Ok(())
        }));
        assert!(!g.try_go(|| Ok(())), "the one slot is taken");

        let err = catch_unwind(AssertUnwindSafe(|| g.set_limit(Some(2)))).unwrap_err();
        assert_eq!(
            err.downcast_ref::<String>().map(String::as_str),
            Some("errgroup: modify limit while 1 goroutines in the group are still active")
        );

        gate.close();
        assert_eq!(g.wait(), Ok(()));
        assert!(g.try_go(|| Ok(())));
        assert_eq!(g.wait(), Ok(()));

        g.set_limit(Some(0));
        assert!(!g.try_go(|| Ok(())), "a zero limit admits nobody");
        g.set_limit(None);
        assert!(g.try_go(|| Ok(())));
        assert_eq!(g.wait(), Ok(()));
    });
}

#[test]
fn a_panic_cancels_the_context_and_reaches_wait() {
    for_each_procs(|| {
        let (g, ctx) = Group::<String>::with_context(&context::background());
        let ctx2 = ctx.clone();
        g.go(move || {
            ctx2.done().recv(); // woken by the panic's cancel
            Ok(())
        });
        g.go(|| panic!("kaboom"));
        let p = catch_unwind(AssertUnwindSafe(|| g.wait())).unwrap_err();
        assert_eq!(p.downcast_ref::<&str>(), Some(&"kaboom"));
        assert_eq!(ctx.err(), Some(ContextError::Canceled));
    });
}
