//! context: the empty contexts, cancellation down a tree (and never up), deadlines and their
//! inheritance, causes, values, `without_cancel`, `after_func`, and `done()` as a `select!`
//! arm. Each test runs at GOMAXPROCS 1, 2 and 4 and checks outcomes, never durations.

use gort::context::{self, Cause, Context, ContextError};
use gort::sync::WaitGroup;
use gort::{chan, select};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn for_each_procs(f: impl Fn() + Send + Sync + Clone + 'static) {
    for p in [1, 2, 4] {
        let f = f.clone();
        gort::Builder::new().max_procs(p).run(f);
    }
}

/// Parks a goroutine on `ctx.done()` (in a `select!` with a channel that never fires) and
/// counts it out of `wg` when it wakes.
fn wait_in_select(ctx: &Context, wg: &Arc<WaitGroup>, woke: &Arc<AtomicUsize>) {
    let (ctx, woke) = (ctx.clone(), woke.clone());
    wg.go(move || {
        let never = chan::<()>(0);
        select! {
            recv(never) -> _ => unreachable!("nobody sends"),
            recv(ctx.done()) -> v => assert_eq!(v, None, "done is closed, never sent to"),
        }
        assert!(ctx.err().is_some(), "done closed before err was set");
        woke.fetch_add(1, Ordering::SeqCst);
    });
}

#[derive(Debug)]
struct Overload;

impl std::fmt::Display for Overload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("server overloaded")
    }
}

impl std::error::Error for Overload {}

#[test]
fn background_and_todo_are_never_done() {
    for_each_procs(|| {
        for ctx in [context::background(), context::todo(), Context::default()] {
            assert!(ctx.done().is_nil(), "Go: Background().Done() is nil");
            assert_eq!(ctx.err(), None);
            assert_eq!(ctx.deadline(), None);
            assert!(ctx.cause().is_none());
            assert_eq!(ctx.value::<_, u8>(&"missing"), None);
            // A select on a nil done channel takes the other arm.
            let r = select! {
                recv(ctx.done()) -> _ => "done",
                default => "not done",
            };
            assert_eq!(r, "not done");
        }
        assert_eq!(format!("{:?}", context::background()), "context.Background");
        assert_eq!(format!("{:?}", context::todo()), "context.TODO");
    });
}

#[test]
fn cancel_closes_done_and_sets_err() {
    for_each_procs(|| {
        let (ctx, cancel) = context::with_cancel(&context::background());
        assert!(!ctx.done().is_nil());
        assert_eq!(ctx.done(), ctx.done(), "the same channel every time");
        assert_eq!(ctx.err(), None);
        assert!(!ctx.is_done());
        assert!(ctx.cause().is_none());

        let waiter = {
            let ctx = ctx.clone();
            gort::go(move || ctx.done().recv())
        };
        cancel.cancel();
        assert_eq!(waiter.join().unwrap(), None);
        assert_eq!(ctx.err(), Some(ContextError::Canceled));
        assert!(ctx.is_done());
        assert_eq!(ctx.err().unwrap().to_string(), "context canceled");
        assert_eq!(ctx.cause().unwrap().to_string(), "context canceled");

        // Cancelling again (or through a clone of the func) changes nothing.
        cancel.clone().cancel();
        assert_eq!(ctx.err(), Some(ContextError::Canceled));
        assert_eq!(
            ContextError::DeadlineExceeded.to_string(),
            "context deadline exceeded"
        );
    });
}

#[test]
fn tree_cancellation_goes_down_never_up() {
    for_each_procs(|| {
        // root ─┬─ a (value) ── b ── c (1 h timeout) ── d
        //       └─ s
        let (root, cancel_root) = context::with_cancel(&context::background());
        let a = context::with_value(&root, "name", "a");
        let (b, cancel_b) = context::with_cancel(&a);
        let (c, _cancel_c) = context::with_timeout(&b, Duration::from_secs(3600));
        let (d, _cancel_d) = context::with_cancel(&c);
        let (s, _cancel_s) = context::with_cancel(&root);

        let wg = Arc::new(WaitGroup::new());
        let woke = Arc::new(AtomicUsize::new(0));
        for ctx in [&b, &c, &d] {
            for _ in 0..10 {
                wait_in_select(ctx, &wg, &woke);
            }
        }
        cancel_b.cancel();
        wg.wait();
        assert_eq!(woke.load(Ordering::SeqCst), 30);
        for ctx in [&b, &c, &d] {
            assert_eq!(ctx.err(), Some(ContextError::Canceled));
        }
        // Not upwards, not sideways.
        assert_eq!(root.err(), None);
        assert_eq!(a.err(), None);
        assert_eq!(s.err(), None);
        assert_eq!(d.value::<_, &str>(&"name"), Some(&"a"));

        for _ in 0..10 {
            wait_in_select(&s, &wg, &woke);
        }
        cancel_root.cancel();
        wg.wait();
        assert_eq!(woke.load(Ordering::SeqCst), 40);
        assert_eq!(
            a.err(),
            Some(ContextError::Canceled),
            "a value ctx shares root's"
        );
        assert_eq!(s.err(), Some(ContextError::Canceled));
        // Go's String(): the path from the root.
        let name = format!("{d:?}");
        assert!(
            name.starts_with(
                "context.Background.WithCancel.WithValue(&str, &str).WithCancel.WithDeadline(["
            ) && name.ends_with("]).WithCancel"),
            "{name}"
        );
    });
}

#[test]
fn a_child_of_a_cancelled_parent_is_born_cancelled() {
    for_each_procs(|| {
        let (parent, cancel) = context::with_cancel_cause(&context::background());
        cancel.cancel(Some(Arc::new(Overload)));
        let (child, _c) = context::with_cancel(&parent);
        let (timed, _c) = context::with_timeout(&parent, Duration::from_secs(3600));
        for ctx in [&child, &timed] {
            assert_eq!(ctx.err(), Some(ContextError::Canceled));
            assert_eq!(ctx.done().recv(), None);
            assert_eq!(ctx.cause().unwrap().to_string(), "server overloaded");
        }
    });
}

#[test]
fn timeout_cancels_with_deadline_exceeded() {
    for_each_procs(|| {
        let (parent, cancel_parent) = context::with_cancel(&context::background());
        let (ctx, cancel) = context::with_timeout(&parent, Duration::from_millis(5));
        let (child, _c) = context::with_cancel(&ctx);
        assert!(ctx.deadline().is_some());
        assert_eq!(child.deadline(), ctx.deadline(), "inherited");

        let wg = Arc::new(WaitGroup::new());
        let woke = Arc::new(AtomicUsize::new(0));
        wait_in_select(&ctx, &wg, &woke);
        wait_in_select(&child, &wg, &woke);
        wg.wait(); // woken by the timer thread
        assert_eq!(woke.load(Ordering::SeqCst), 2);
        assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
        assert!(ctx.err().unwrap().is_timeout());
        assert_eq!(child.err(), Some(ContextError::DeadlineExceeded));
        assert_eq!(
            child.cause().unwrap().to_string(),
            "context deadline exceeded"
        );
        assert_eq!(parent.err(), None, "a deadline does not go up");
        // Cancelling after the deadline keeps the first error.
        cancel.cancel();
        assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
        cancel_parent.cancel();
    });
}

#[test]
fn deadlines_in_the_past_and_inherited_deadlines() {
    for_each_procs(|| {
        let bg = context::background();
        let past = Instant::now() - Duration::from_millis(1);
        let (expired, _c) = context::with_deadline(&bg, past);
        assert_eq!(expired.err(), Some(ContextError::DeadlineExceeded));
        assert_eq!(expired.done().recv(), None);

        // An earlier parent deadline wins: the child is a plain cancel context under it.
        let near = Instant::now() + Duration::from_millis(5);
        let (parent, cancel_parent) = context::with_deadline(&bg, near);
        let (child, cancel_child) =
            context::with_deadline(&parent, near + Duration::from_secs(3600));
        assert_eq!(child.deadline(), Some(near));
        child.done().recv();
        assert_eq!(child.err(), Some(ContextError::DeadlineExceeded));

        // A later parent deadline loses.
        let (late, cancel_late) = context::with_timeout(&bg, Duration::from_secs(7200));
        let soon = Instant::now() + Duration::from_secs(3600);
        let (early, cancel_early) = context::with_deadline(&late, soon);
        assert_eq!(early.deadline(), Some(soon));
        assert!(late.deadline().unwrap() > soon);
        cancel_early.cancel();
        assert_eq!(early.err(), Some(ContextError::Canceled));
        assert_eq!(late.err(), None);

        // A timeout too large for an Instant means no deadline of its own.
        let (forever, cancel_forever) = context::with_timeout(&bg, Duration::MAX);
        assert_eq!(forever.deadline(), None);

        for c in [cancel_parent, cancel_child, cancel_late, cancel_forever] {
            c.cancel();
        }
    });
}

#[test]
fn causes() {
    for_each_procs(|| {
        let bg = context::background();
        let (ctx, cancel) = context::with_cancel_cause(&bg);
        let (child, _c) = context::with_cancel(&ctx);
        let overload: Cause = Arc::new(Overload);
        cancel.cancel(Some(overload.clone()));
        cancel.cancel(Some(Arc::new(ContextError::DeadlineExceeded))); // ignored: first wins
        assert_eq!(ctx.err(), Some(ContextError::Canceled));
        assert!(Arc::ptr_eq(&ctx.cause().unwrap(), &overload));
        assert!(Arc::ptr_eq(&child.cause().unwrap(), &overload));
        assert!(child.cause().unwrap().downcast_ref::<Overload>().is_some());

        // No cause given: the error itself.
        let (ctx, cancel) = context::with_cancel_cause(&bg);
        cancel.cancel(None);
        assert_eq!(
            ctx.cause().unwrap().downcast_ref::<ContextError>(),
            Some(&ContextError::Canceled)
        );

        // A timeout with a cause.
        let (ctx, cancel) =
            context::with_timeout_cause(&bg, Duration::from_millis(2), Some(Arc::new(Overload)));
        ctx.done().recv();
        assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
        assert_eq!(ctx.cause().unwrap().to_string(), "server overloaded");
        cancel.cancel();

        // Cancelled before the deadline: the cause is Canceled, not the deadline's.
        let (ctx, cancel) = context::with_deadline_cause(
            &bg,
            Instant::now() + Duration::from_secs(3600),
            Some(Arc::new(Overload)),
        );
        cancel.cancel();
        assert_eq!(ctx.cause().unwrap().to_string(), "context canceled");
    });
}

#[test]
fn values_walk_up_and_shadow() {
    for_each_procs(|| {
        #[derive(PartialEq)]
        struct UserKey;
        #[derive(PartialEq)]
        struct TraceKey(u8);

        let bg = context::background();
        let ctx = context::with_value(&bg, UserKey, String::from("alice"));
        let ctx = context::with_value(&ctx, TraceKey(1), 100u64);
        let (ctx, cancel) = context::with_cancel(&ctx);
        let ctx = context::with_value(&ctx, TraceKey(2), 200u64);
        let shadow = context::with_value(&ctx, TraceKey(1), 111u64);

        assert_eq!(
            ctx.value::<_, String>(&UserKey).map(String::as_str),
            Some("alice")
        );
        assert_eq!(ctx.value::<_, u64>(&TraceKey(1)), Some(&100));
        assert_eq!(ctx.value::<_, u64>(&TraceKey(2)), Some(&200));
        assert_eq!(ctx.value::<_, u64>(&TraceKey(3)), None);
        assert_eq!(shadow.value::<_, u64>(&TraceKey(1)), Some(&111));
        assert_eq!(ctx.value::<_, u32>(&TraceKey(1)), None, "wrong value type");
        assert_eq!(
            ctx.value::<_, u64>(&1u8),
            None,
            "a key of another type never matches"
        );

        // Values cross goroutines with the context.
        let c2 = shadow.clone();
        let got = gort::go(move || *c2.value::<_, u64>(&TraceKey(2)).unwrap());
        assert_eq!(got.join().unwrap(), 200);

        cancel.cancel();
        assert_eq!(shadow.err(), Some(ContextError::Canceled));
        assert_eq!(
            shadow.value::<_, u64>(&TraceKey(1)),
            Some(&111),
            "values outlive cancel"
        );
    });
}

#[test]
fn without_cancel_keeps_values_drops_cancellation() {
    for_each_procs(|| {
        let (parent, cancel) =
            context::with_timeout(&context::background(), Duration::from_secs(3600));
        let parent = context::with_value(&parent, "k", 7i32);
        let detached = context::without_cancel(&parent);
        let (child, cancel_child) = context::with_cancel(&detached);
        cancel.cancel();
        assert_eq!(parent.err(), Some(ContextError::Canceled));
        assert_eq!(detached.err(), None);
        assert!(detached.done().is_nil());
        assert_eq!(detached.deadline(), None);
        assert!(detached.cause().is_none());
        assert_eq!(detached.value::<_, i32>(&"k"), Some(&7));
        assert_eq!(child.err(), None, "not reached by the parent's cancel");
        cancel_child.cancel();
        assert_eq!(child.err(), Some(ContextError::Canceled));
    });
}

#[test]
fn after_func_runs_once_unless_stopped() {
    for_each_procs(|| {
        let bg = context::background();

        // Runs after cancel; stop then reports it had started.
        let (ctx, cancel) = context::with_cancel(&bg);
        let ran = chan::<&str>(1);
        let tx = ran.clone();
        let stop = context::after_func(&ctx, move || tx.send("ran"));
        cancel.cancel();
        assert_eq!(ran.recv(), Some("ran"));
        assert!(!stop.stop());

        // Stopped before cancel: never runs.
        let (ctx, cancel) = context::with_cancel(&bg);
        let count = Arc::new(AtomicUsize::new(0));
        let c2 = count.clone();
        let stop = context::after_func(&ctx, move || {
            c2.fetch_add(1, Ordering::SeqCst);
        });
        assert!(stop.stop());
        assert!(!stop.stop(), "only the first stop reports true");
        cancel.cancel();
        // The stopped function can never run now. A second after_func shows that the
        // cancellation did reach after_funcs of this context.
        let done = chan::<()>(1);
        let tx = done.clone();
        let _ = context::after_func(&ctx, move || tx.send(()));
        done.recv();
        assert_eq!(count.load(Ordering::SeqCst), 0);

        // Already done: runs at once.
        let (expired, _c) = context::with_deadline(&bg, Instant::now());
        let ran = chan::<u8>(1);
        let tx = ran.clone();
        let _ = context::after_func(&expired, move || tx.send(1));
        assert_eq!(ran.recv(), Some(1));
    });
}

#[test]
fn concurrent_cancel_and_derive() {
    for_each_procs(|| {
        for _ in 0..20 {
            let (root, cancel) = context::with_cancel(&context::background());
            let wg = Arc::new(WaitGroup::new());
            let made = Arc::new(gort::sync::Mutex::new(Vec::new()));
            for i in 0..8 {
                let (root, made) = (root.clone(), made.clone());
                wg.go(move || {
                    let mut cur = root;
                    for j in 0..20 {
                        let (c, _cancel) = if (i + j) % 3 == 0 {
                            context::with_timeout(&cur, Duration::from_secs(3600))
                        } else {
                            context::with_cancel(&cur)
                        };
                        made.lock().push(c.clone());
                        cur = c;
                        gort::runtime::gosched();
                    }
                });
            }
            let c2 = cancel.clone();
            wg.go(move || {
                gort::runtime::gosched();
                c2.cancel();
            });
            wg.wait();
            for c in made.lock().iter() {
                assert_eq!(
                    c.err(),
                    Some(ContextError::Canceled),
                    "{c:?} escaped the cancel"
                );
                assert_eq!(c.done().recv(), None);
            }
            assert_eq!(made.lock().len(), 160);
        }
    });
}
