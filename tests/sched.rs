//! Scheduler behaviour: spawning and joining at scale, hand-off between goroutines, readying
//! across Ms, stealing, the 1-in-61 global-queue fairness rule, panics and `gosched`. Every test
//! runs at GOMAXPROCS 1, 2 and 4 unless it needs parallelism by nature.

mod common;

use common::{for_each_procs, panic_message, run_with, PROCS};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

#[test]
fn hundred_thousand_goroutines_spawned_and_joined() {
    for_each_procs(|| {
        let hs: Vec<_> = (0..100_000u64).map(|i| gort::go(move || i * 2)).collect();
        let sum: u64 = hs.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(sum, 2 * (100_000 * 99_999 / 2));
    });
}

#[test]
fn spawn_join_one_at_a_time_reuses_gs() {
    for_each_procs(|| {
        for i in 0..20_000u64 {
            assert_eq!(gort::go(move || i + 1).join().unwrap(), i + 1);
        }
        let m = gort::runtime::metrics();
        assert!(m.goroutines_created >= 20_000);
        // A joined goroutine may still be finishing on its M; it leaves the count soon after.
        while gort::runtime::num_goroutine() > 1 {
            gort::runtime::gosched();
        }
    });
}

#[test]
fn ping_pong_hundred_thousand_round_trips() {
    for_each_procs(|| {
        let ping = gort::chan::<u64>(0);
        let pong = gort::chan::<u64>(0);
        let (pi, po) = (ping.clone(), pong.clone());
        let h = gort::go(move || {
            let mut n = 0;
            while let Some(v) = pi.recv() {
                po.send(v + 1);
                n += 1;
            }
            n
        });
        let mut v = 0;
        for _ in 0..100_000 {
            ping.send(v);
            v = pong.recv().unwrap();
        }
        ping.close();
        assert_eq!(v, 100_000);
        assert_eq!(h.join().unwrap(), 100_000);
    });
}

#[test]
fn goroutine_readied_from_another_m_runs() {
    // Many waiters parked on channels, readied by goroutines that run wherever the scheduler
    // puts them; every waiter must run to completion.
    for_each_procs(|| {
        let n = 1000;
        let chans: Vec<_> = (0..n).map(|_| gort::chan::<usize>(0)).collect();
        let waiters: Vec<_> = chans
            .iter()
            .cloned()
            .map(|c| gort::go(move || c.recv().unwrap() * 3))
            .collect();
        let wakers: Vec<_> = chans
            .into_iter()
            .enumerate()
            .map(|(i, c)| gort::go(move || c.send(i)))
            .collect();
        for w in wakers {
            w.join().unwrap();
        }
        let total: usize = waiters.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(total, 3 * n * (n - 1) / 2);
    });
}

#[test]
fn ready_from_a_plain_thread_runs_the_goroutine() {
    for p in PROCS {
        run_with(p, || {
            let c = gort::chan::<u32>(1);
            let done = gort::chan::<u32>(0);
            let (c2, d2) = (c.clone(), done.clone());
            let h = gort::go(move || {
                let v = c2.recv().unwrap();
                d2.send(v + 1);
            });
            // A non-goroutine thread fills the buffer: no blocking needed, so it is allowed.
            let c3 = c.clone();
            std::thread::spawn(move || c3.send(41)).join().unwrap();
            assert_eq!(done.recv(), Some(42));
            h.join().unwrap();
        });
    }
}

#[test]
fn stealing_happens_when_one_p_spawns_many() {
    for p in [2, 4] {
        run_with(p, || {
            // The spawner never yields its P, so the spawned goroutines can only run if other
            // Ms steal them from its local queue.
            let n = 200;
            let done = Arc::new(AtomicUsize::new(0));
            for _ in 0..n {
                let d = done.clone();
                drop(gort::go(move || {
                    d.fetch_add(1, Ordering::SeqCst);
                }));
            }
            while done.load(Ordering::SeqCst) < n {
                std::hint::spin_loop();
            }
            assert!(gort::runtime::metrics().steals > 0, "no steals recorded");
        });
    }
}

#[test]
fn global_queue_runs_while_a_pair_keeps_the_local_queue_busy() {
    // Go's fairness rule: a pair of goroutines that keep readying each other (each hand-off puts
    // the peer in runnext) must not starve a goroutine sitting in the global queue.
    for_each_procs(|| {
        let stop = Arc::new(AtomicBool::new(false));
        let a = gort::chan::<u64>(0);
        let b = gort::chan::<u64>(0);
        let mut pair = Vec::new();
        for (rx, tx, first) in [(a.clone(), b.clone(), true), (b.clone(), a.clone(), false)] {
            let stop = stop.clone();
            pair.push(gort::go(move || {
                let mut n = 0u64;
                if first {
                    tx.send(0);
                }
                while let Some(v) = rx.recv() {
                    n += 1;
                    if stop.load(Ordering::SeqCst) {
                        tx.close();
                        break;
                    }
                    tx.send(v + 1);
                }
                n
            }));
        }
        // The main goroutine puts itself on the global queue; it gets to run again only
        // through the global queue.
        gort::runtime::gosched();
        stop.store(true, Ordering::SeqCst);
        let total: u64 = pair.into_iter().map(|h| h.join().unwrap()).sum();
        assert!(total >= 1);
    });
}

#[test]
fn channel_fifo_order() {
    for_each_procs(|| {
        for cap in [0, 1, 7, 1024] {
            let c = gort::chan::<u32>(cap);
            let tx = c.clone();
            let h = gort::go(move || {
                for i in 0..10_000 {
                    tx.send(i);
                }
                tx.close();
            });
            let got: Vec<u32> = c.iter().collect();
            assert_eq!(got, (0..10_000).collect::<Vec<_>>());
            h.join().unwrap();
        }
    });
}

#[test]
fn close_wakes_every_waiter() {
    // 100 receivers and 150 senders on one unbuffered channel, then close: every receiver and
    // every sender must wake (a lost waiter would hang its join). Senders that were not paired
    // panic with Go's message; receivers get exactly the values that were sent.
    for_each_procs(|| {
        let c = gort::chan::<u32>(0);
        let receivers: Vec<_> = (0..100)
            .map(|_| {
                let c = c.clone();
                gort::go(move || c.recv())
            })
            .collect();
        let senders: Vec<_> = (0..150)
            .map(|i| {
                let c = c.clone();
                gort::go(move || {
                    std::panic::catch_unwind(|| c.send(i)).map_err(|p| panic_message(&*p))
                })
            })
            .collect();
        for _ in 0..10 {
            gort::runtime::gosched();
        }
        c.close();
        let mut got: Vec<u32> = receivers
            .into_iter()
            .filter_map(|h| h.join().unwrap())
            .collect();
        let mut sent = Vec::new();
        for (i, h) in senders.into_iter().enumerate() {
            match h.join().unwrap() {
                Ok(()) => sent.push(i as u32),
                Err(msg) => assert_eq!(msg, "send on closed channel"),
            }
        }
        got.sort();
        assert_eq!(got, sent);
    });
}

#[test]
fn close_wakes_blocked_receivers_with_none() {
    for_each_procs(|| {
        let c = gort::chan::<u32>(0);
        let ready = Arc::new(AtomicUsize::new(0));
        let hs: Vec<_> = (0..50)
            .map(|_| {
                let (c, ready) = (c.clone(), ready.clone());
                gort::go(move || {
                    ready.fetch_add(1, Ordering::SeqCst);
                    c.recv()
                })
            })
            .collect();
        while ready.load(Ordering::SeqCst) < 50 {
            gort::runtime::gosched();
        }
        c.close();
        for h in hs {
            assert_eq!(h.join().unwrap(), None);
        }
    });
}

#[test]
fn join_returns_a_panic_as_err() {
    for_each_procs(|| {
        let h = gort::go(|| -> u32 { panic!("boom {}", 7) });
        let e = h.join().unwrap_err();
        assert_eq!(e.message(), Some("boom 7"));
    });
}

#[test]
fn large_results_travel_through_join() {
    for_each_procs(|| {
        let h = gort::go(|| [7u64; 100]);
        assert_eq!(h.join().unwrap(), [7u64; 100]);
        let s = gort::go(|| "x".repeat(1000));
        assert_eq!(s.join().unwrap().len(), 1000);
    });
}

#[test]
fn dropped_handles_detach_and_results_are_dropped() {
    struct Counted(Arc<AtomicU64>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    for_each_procs(|| {
        let drops = Arc::new(AtomicU64::new(0));
        let wg = Arc::new(gort::sync::WaitGroup::new());
        for _ in 0..1000 {
            let (d, wg2) = (drops.clone(), wg.clone());
            wg.add(1);
            drop(gort::go(move || {
                let c = Counted(d);
                wg2.done();
                c
            }));
        }
        wg.wait();
        // Every result is dropped by whichever side finished last.
        while drops.load(Ordering::SeqCst) < 1000 {
            gort::runtime::gosched();
        }
    });
}

#[test]
fn recover_with_catch_unwind_keeps_the_goroutine_alive() {
    for_each_procs(|| {
        let h = gort::go(|| {
            let r = std::panic::catch_unwind(|| panic!("inner"));
            assert!(r.is_err());
            5
        });
        assert_eq!(h.join().unwrap(), 5);
    });
}

#[test]
fn runtime_queries() {
    for p in PROCS {
        run_with(p, move || {
            assert_eq!(gort::runtime::gomaxprocs(), p);
            assert!(gort::runtime::num_cpu() >= 1);
            assert_eq!(gort::runtime::goid(), Some(1));
            assert_eq!(gort::runtime::num_goroutine(), 1);
            let c = gort::chan::<()>(0);
            let c2 = c.clone();
            let h = gort::go(move || c2.recv());
            gort::runtime::gosched();
            assert_eq!(gort::runtime::num_goroutine(), 2);
            c.send(());
            h.join().unwrap();
        });
    }
}

#[test]
fn nested_spawns_form_a_tree() {
    fn tree(depth: u32) -> u64 {
        if depth == 0 {
            return 1;
        }
        let l = gort::go(move || tree(depth - 1));
        let r = gort::go(move || tree(depth - 1));
        l.join().unwrap() + r.join().unwrap()
    }
    for_each_procs(|| assert_eq!(tree(12), 4096));
}

#[test]
fn runtime_restarts_and_returns_main_result() {
    for i in 0..20 {
        let v = run_with(1 + i % 3, move || {
            let h = gort::go(move || i * 10);
            h.join().unwrap() + 1
        });
        assert_eq!(v, i * 10 + 1);
    }
}

#[test]
fn main_panic_propagates_out_of_run() {
    let r = std::panic::catch_unwind(|| run_with(2, || panic!("main goroutine panicked")));
    let e = r.unwrap_err();
    assert_eq!(e.downcast_ref::<&str>(), Some(&"main goroutine panicked"));
}

#[test]
fn abandoned_goroutines_do_not_block_run_from_returning() {
    for p in PROCS {
        let v = run_with(p, || {
            let c = gort::chan::<u32>(0);
            for _ in 0..10 {
                let c = c.clone();
                drop(gort::go(move || c.recv()));
            }
            gort::runtime::gosched();
            7
        });
        assert_eq!(v, 7);
    }
}

#[test]
fn blocking_outside_a_goroutine_panics_with_a_clear_message() {
    let c = gort::chan::<u32>(0);
    let e = std::panic::catch_unwind(|| c.recv()).unwrap_err();
    let msg = panic_message(&*e);
    assert!(msg.contains("outside a goroutine"), "{msg}");
    let e = std::panic::catch_unwind(|| gort::go(|| 1)).unwrap_err();
    let msg = panic_message(&*e);
    assert!(msg.contains("gort::run"), "{msg}");
    // A buffered send that need not wait works from any thread.
    let b = gort::chan::<u32>(1);
    b.send(1);
    assert_eq!(b.try_recv(), Ok(1));
}

#[test]
fn run_inside_run_panics() {
    run_with(1, || {
        let r = std::panic::catch_unwind(|| gort::run(|| 1));
        let e = r.unwrap_err();
        let msg = panic_message(&*e);
        assert!(msg.contains("inside a running runtime"), "{msg}");
    });
}

#[test]
#[should_panic(expected = "GOMAXPROCS must be between 1 and 1024")]
fn zero_max_procs_is_rejected() {
    let _ = gort::Builder::new().max_procs(0);
}

#[test]
fn waitgroup_waits_for_everyone() {
    for_each_procs(|| {
        let wg = Arc::new(gort::sync::WaitGroup::new());
        let n = Arc::new(AtomicU64::new(0));
        for i in 0..1000 {
            let n = n.clone();
            wg.go(move || {
                n.fetch_add(i, Ordering::SeqCst);
            });
        }
        wg.wait();
        assert_eq!(n.load(Ordering::SeqCst), 999 * 1000 / 2);
        // Reusable after Wait returns.
        wg.add(1);
        let wg2 = wg.clone();
        drop(gort::go(move || wg2.done()));
        wg.wait();
    });
}

#[test]
fn waitgroup_many_waiters() {
    for_each_procs(|| {
        let wg = Arc::new(gort::sync::WaitGroup::new());
        wg.add(1);
        let waiters: Vec<_> = (0..100)
            .map(|_| {
                let wg = wg.clone();
                gort::go(move || wg.wait())
            })
            .collect();
        gort::runtime::gosched();
        wg.done();
        for w in waiters {
            w.join().unwrap();
        }
    });
}

#[test]
#[should_panic(expected = "sync: negative WaitGroup counter")]
fn waitgroup_negative_counter_panics() {
    let wg = gort::sync::WaitGroup::new();
    wg.done();
}
