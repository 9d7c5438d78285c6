//! Timers: sleep and after park goroutines (other goroutines keep running on the same P), a
//! timer in select works as a receive timeout, and a runtime whose goroutines only wait on
//! timers is not reported as deadlocked. Assertions are about order and completion, never
//! about how long anything took.

mod common;

use common::for_each_procs;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[test]
fn sleep_waits_at_least_the_duration() {
    for_each_procs(|| {
        let t = Instant::now();
        gort::time::sleep(Duration::from_millis(5));
        assert!(t.elapsed() >= Duration::from_millis(5));
        gort::time::sleep(Duration::ZERO);
    });
}

#[test]
fn a_sleeping_goroutine_does_not_block_its_p() {
    // At GOMAXPROCS=1 a sleeper must not stop the other goroutine from running to completion
    // first (it does far less than the sleep's worth of work, in progress counted, not timed).
    for_each_procs(|| {
        let progress = Arc::new(AtomicU64::new(0));
        let p2 = progress.clone();
        let sleeper = gort::go(move || {
            gort::time::sleep(Duration::from_millis(50));
            p2.load(Ordering::SeqCst)
        });
        let worker = gort::go({
            let p = progress.clone();
            move || {
                for _ in 0..1000 {
                    p.fetch_add(1, Ordering::SeqCst);
                    gort::runtime::gosched();
                }
            }
        });
        worker.join().unwrap();
        let seen = sleeper.join().unwrap();
        assert_eq!(progress.load(Ordering::SeqCst), 1000);
        assert!(seen <= 1000);
    });
}

#[test]
fn many_sleepers_wake_in_deadline_order_per_goroutine() {
    for_each_procs(|| {
        let order = gort::chan::<u64>(100);
        let hs: Vec<_> = (0..100u64)
            .map(|i| {
                let o = order.clone();
                gort::go(move || {
                    gort::time::sleep(Duration::from_millis(1 + (i % 10)));
                    o.send(i);
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        order.close();
        let mut got: Vec<u64> = order.iter().collect();
        got.sort();
        assert_eq!(got, (0..100).collect::<Vec<_>>());
    });
}

#[test]
fn after_delivers_once() {
    for_each_procs(|| {
        let t0 = Instant::now();
        let c = gort::time::after(Duration::from_millis(3));
        let t = c.recv().unwrap();
        assert!(t >= t0 + Duration::from_millis(3));
        assert_eq!(c.try_recv(), Err(gort::TryRecvError::Empty));
    });
}

#[test]
fn receive_with_timeout_in_select() {
    for_each_procs(|| {
        let never = gort::chan::<u32>(0);
        let r = gort::select! {
            recv(never) -> _v => "value",
            recv(gort::time::after(Duration::from_millis(2))) -> _t => "timeout",
        };
        assert_eq!(r, "timeout");
        // And the value wins when it is there first.
        let c = gort::chan::<u32>(1);
        c.send(1);
        let r = gort::select! {
            recv(c) -> _v => "value",
            recv(gort::time::after(Duration::from_secs(3600))) -> _t => "timeout",
        };
        assert_eq!(r, "value");
    });
}

#[test]
fn only_sleepers_is_not_a_deadlock() {
    // Every goroutine is asleep on a timer and every M is idle: checkdead must not fire.
    for_each_procs(|| {
        let hs: Vec<_> = (0..10)
            .map(|_| gort::go(|| gort::time::sleep(Duration::from_millis(20))))
            .collect();
        gort::time::sleep(Duration::from_millis(30));
        for h in hs {
            h.join().unwrap();
        }
    });
}

#[test]
fn timer_fires_once_and_stop_reports_correctly() {
    for_each_procs(|| {
        let t = gort::time::Timer::new(Duration::from_millis(2));
        assert!(t.channel().recv().is_some());
        assert!(!t.stop(), "already fired and received");
        let t = gort::time::Timer::new(Duration::from_secs(3600));
        assert!(t.stop(), "stopped before firing");
        assert!(!t.stop(), "second stop");
        assert_eq!(t.channel().try_recv(), Err(gort::TryRecvError::Empty));
    });
}

#[test]
fn stop_and_reset_leave_no_stale_value() {
    // Go 1.23: a value sent but not received before Stop/Reset is gone after it.
    for_each_procs(|| {
        let t = gort::time::Timer::new(Duration::from_millis(1));
        // Wait until it has fired (its value sits in the channel).
        gort::time::sleep(Duration::from_millis(20));
        assert!(t.stop(), "fired but not received counts as stopped in time");
        assert_eq!(t.channel().try_recv(), Err(gort::TryRecvError::Empty));
        let t = gort::time::Timer::new(Duration::from_millis(1));
        gort::time::sleep(Duration::from_millis(20));
        let t0 = Instant::now();
        t.reset(Duration::from_millis(5));
        let got = t.channel().recv().unwrap();
        assert!(got >= t0, "the value received is the new one");
    });
}

#[test]
fn after_func_runs_in_a_goroutine_and_can_be_stopped() {
    for_each_procs(|| {
        let ran = gort::chan::<u64>(1);
        let r = ran.clone();
        let _t = gort::time::after_func(Duration::from_millis(1), move || {
            let _ = r.try_send(gort::runtime::goid().unwrap());
        });
        let goid = ran.recv().unwrap();
        assert_ne!(goid, 1, "runs in its own goroutine");
        let hits = Arc::new(AtomicU64::new(0));
        let h = hits.clone();
        let t = gort::time::after_func(Duration::from_secs(3600), move || {
            h.fetch_add(1, Ordering::SeqCst);
        });
        assert!(t.stop());
        assert_eq!(hits.load(Ordering::SeqCst), 0);
    });
}

#[test]
fn ticker_ticks_until_stopped() {
    for_each_procs(|| {
        let tk = gort::time::Ticker::new(Duration::from_millis(1));
        for _ in 0..5 {
            tk.channel().recv().unwrap();
        }
        tk.reset(Duration::from_millis(2));
        tk.channel().recv().unwrap();
        tk.stop();
        assert_eq!(tk.channel().try_recv(), Err(gort::TryRecvError::Empty));
        let c = gort::time::tick(Duration::from_millis(1));
        c.recv().unwrap();
        assert!(gort::time::tick(Duration::ZERO).is_nil());
        let e = std::panic::catch_unwind(|| gort::time::Ticker::new(Duration::ZERO)).unwrap_err();
        assert_eq!(
            common::panic_message(&*e),
            "non-positive interval for NewTicker"
        );
    });
}

#[test]
fn an_earlier_timer_breaks_a_long_poll() {
    // One goroutine sleeps for an hour, so an idle M may block in the netpoller until then; a
    // later, shorter sleep must still end (the poller is woken for it, or another M polls).
    for_each_procs(|| {
        drop(gort::go(|| gort::time::sleep(Duration::from_secs(3600))));
        gort::time::sleep(Duration::from_millis(2));
        for _ in 0..20 {
            gort::time::sleep(Duration::from_micros(200));
        }
    });
}

#[test]
fn another_m_runs_the_timers_of_a_busy_p() {
    // The main goroutine keeps its P busy without reaching a check point until its own timer
    // has fired: only an idle M running the busy P's due timers (Go's steal pass) can end it.
    for procs in [2, 4] {
        common::run_with(procs, || {
            for _ in 0..20 {
                let c = gort::time::after(Duration::from_millis(1));
                while c.is_empty() {
                    std::hint::spin_loop();
                }
                assert!(c.try_recv().is_ok());
            }
        });
    }
}

#[test]
fn stopped_timers_do_not_pile_up_or_fire() {
    // Many timers started and stopped at once: none fires, and the runtime is not kept from
    // reporting what it would report without them (it ends normally here).
    for_each_procs(|| {
        let fired = Arc::new(AtomicU64::new(0));
        for _ in 0..10_000 {
            let f = fired.clone();
            let t = gort::time::after_func(Duration::from_millis(30), move || {
                f.fetch_add(1, Ordering::SeqCst);
            });
            assert!(t.stop());
        }
        gort::time::sleep(Duration::from_millis(60));
        assert_eq!(fired.load(Ordering::SeqCst), 0);
    });
}
