//! select!: readiness, default, nil arms, duplicates, closed channels, send arms, control flow
//! in bodies, operand evaluation order, and Go's fairness checks from runtime/chan_test.go.

use gort::{chan, select, Chan};

fn for_each_procs(f: impl Fn() + Send + Sync + Clone + 'static) {
    for p in [1, 2, 4] {
        let f = f.clone();
        gort::Builder::new().max_procs(p).run(f);
    }
}

#[test]
fn picks_the_ready_arm() {
    for_each_procs(|| {
        let a = chan::<i32>(1);
        let b = chan::<i32>(1);
        b.send(2);
        let r = select! {
            recv(a) -> v => ("a", v),
            recv(b) -> v => ("b", v),
        };
        assert_eq!(r, ("b", Some(2)));
    });
}

#[test]
fn default_when_nothing_is_ready() {
    for_each_procs(|| {
        let a = chan::<i32>(0);
        let mut hits = 0;
        for _ in 0..100 {
            select! {
                recv(a) -> _v => panic!("nothing to receive"),
                send(a, 1) => panic!("no receiver"),
                default => hits += 1,
            }
        }
        assert_eq!(hits, 100);
        let only_default = select! { default => 5 };
        assert_eq!(only_default, 5);
    });
}

#[test]
fn blocks_until_a_sender_arrives() {
    for_each_procs(|| {
        let a = chan::<u64>(0);
        let b = chan::<u64>(0);
        let b2 = b.clone();
        let h = gort::go(move || b2.send(9));
        let r = select! {
            recv(a) -> v => v.map(|x| x + 100),
            recv(b) -> v => v,
        };
        assert_eq!(r, Some(9));
        h.join().unwrap();
    });
}

#[test]
fn blocking_send_arm_pairs_with_a_receiver() {
    for_each_procs(|| {
        let a = chan::<u64>(0);
        let a2 = a.clone();
        let h = gort::go(move || a2.recv());
        let never = chan::<u64>(0);
        select! {
            send(a, 5) => {}
            recv(never) -> _v => unreachable!(),
        }
        assert_eq!(h.join().unwrap(), Some(5));
    });
}

#[test]
fn closed_channel_receives_none() {
    for_each_procs(|| {
        let a = chan::<i32>(0);
        a.close();
        let r = select! { recv(a) -> v => v };
        assert_eq!(r, None);
        // A close while parked wakes the select.
        let b = chan::<i32>(0);
        let b2 = b.clone();
        let h = gort::go(move || select! { recv(b2) -> v => v });
        gort::runtime::gosched();
        b.close();
        assert_eq!(h.join().unwrap(), None);
    });
}

#[test]
fn send_arm_on_closed_channel_panics() {
    for_each_procs(|| {
        let a = chan::<i32>(1);
        a.close();
        let e = std::panic::catch_unwind(|| select! { send(a, 1) => {} }).unwrap_err();
        assert_eq!(e.downcast_ref::<&str>(), Some(&"send on closed channel"));
        // Parked in select when the close happens: panics on wake.
        let b = chan::<i32>(0);
        let b2 = b.clone();
        let h = gort::go(move || select! { send(b2, 1) => {} });
        gort::runtime::gosched();
        b.close();
        let e = h.join().unwrap_err();
        assert_eq!(e.message(), Some("send on closed channel"));
    });
}

#[test]
fn nil_channels_disable_arms() {
    for_each_procs(|| {
        let nil = Chan::<i32>::nil();
        let a = chan::<i32>(1);
        a.send(3);
        let r = select! {
            recv(nil) -> _v => unreachable!(),
            send(nil, 1) => unreachable!(),
            recv(a) -> v => v,
        };
        assert_eq!(r, Some(3));
        let d = select! {
            recv(nil) -> _v => 0,
            default => 1,
        };
        assert_eq!(d, 1);
    });
}

#[test]
fn same_channel_in_several_arms() {
    for_each_procs(|| {
        let a = chan::<i32>(0);
        for i in 0..200 {
            let a2 = a.clone();
            let h = gort::go(move || a2.send(i));
            let r = select! {
                recv(a) -> v => v.unwrap(),
                recv(a) -> v => v.unwrap() + 1000,
                recv(a) -> v => v.unwrap() + 2000,
            };
            assert_eq!(r % 1000, i);
            h.join().unwrap();
        }
        // Send and receive arms on one channel in one select (TestSelectDuplicateChannel).
        let c = chan::<i32>(0);
        let c2 = c.clone();
        let h = gort::go(move || c2.recv());
        select! {
            recv(c) -> _v => unreachable!("only a receiver is waiting"),
            send(c, 8) => {}
        }
        assert_eq!(h.join().unwrap(), Some(8));
    });
}

#[test]
fn control_flow_in_bodies() {
    for_each_procs(|| {
        let a = chan::<i32>(10);
        for i in 0..10 {
            a.send(i);
        }
        a.close();
        let mut got = Vec::new();
        loop {
            select! {
                recv(a) -> v => {
                    match v {
                        None => break,
                        Some(x) if x % 2 == 0 => continue,
                        Some(x) => got.push(x),
                    }
                }
            }
        }
        assert_eq!(got, [1, 3, 5, 7, 9]);
        fn first(c: &Chan<i32>) -> i32 {
            select! { recv(c) -> v => { if let Some(x) = v { return x; } } }
            -1
        }
        assert_eq!(first(&a), -1);
    });
}

#[test]
fn operands_are_evaluated_once_in_source_order() {
    for_each_procs(|| {
        let log = std::sync::Mutex::new(Vec::new());
        let a = chan::<i32>(1);
        let b = chan::<i32>(1);
        let pick = |name: &'static str, c: &Chan<i32>| {
            log.lock().unwrap().push(name);
            c.clone()
        };
        let val = |v: i32| {
            log.lock().unwrap().push("value");
            v
        };
        select! {
            recv(pick("first", &a)) -> _v => {}
            send(pick("second", &b), val(1)) => {}
            recv(pick("third", &a)) -> _v => {}
        }
        assert_eq!(*log.lock().unwrap(), ["first", "second", "value", "third"]);
    });
}

#[test]
fn unsent_values_are_dropped_and_received_values_delivered_once() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    struct D(Arc<AtomicUsize>);
    impl Drop for D {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    for_each_procs(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let full = chan::<D>(0);
        for _ in 0..10 {
            select! {
                send(full, D(drops.clone())) => unreachable!(),
                default => {}
            }
        }
        assert_eq!(drops.load(Ordering::SeqCst), 10);
        let c = chan::<D>(1);
        c.send(D(drops.clone()));
        let got = select! { recv(c) -> v => v };
        assert_eq!(drops.load(Ordering::SeqCst), 10);
        drop(got);
        assert_eq!(drops.load(Ordering::SeqCst), 11);
    });
}

#[test]
fn empty_select_has_type_never() {
    // `select! {}` parks forever (tests/process.rs checks the deadlock report it leads to);
    // here: it is an expression of type `!`, usable in any position.
    fn _never() -> u32 {
        select! {}
    }
}

// --- Ported from Go's runtime/chan_test.go (BSD licence, Copyright 2009 The Go Authors) ---
// https://github.com/golang/go/blob/master/src/runtime/chan_test.go

/// TestSelectFairness: 10,000 trials must split between two ready channels within 10 sigma.
#[test]
fn go_select_fairness() {
    for_each_procs(|| {
        const TRIALS: usize = 10_000;
        let c1 = chan::<u8>(TRIALS + 1);
        let c2 = chan::<u8>(TRIALS + 1);
        for _ in 0..=TRIALS {
            c1.send(1);
            c2.send(2);
        }
        let c3 = chan::<u8>(0);
        let c4 = chan::<u8>(0);
        let out = chan::<u8>(0);
        let done = chan::<u8>(0);
        let (o, d) = (out.clone(), done.clone());
        let h = gort::go(move || loop {
            let b = select! {
                recv(c3) -> m => m.unwrap(),
                recv(c4) -> m => m.unwrap(),
                recv(c1) -> m => m.unwrap(),
                recv(c2) -> m => m.unwrap(),
            };
            select! {
                send(o, b) => {}
                recv(d) -> _v => return,
            }
        });
        let (mut cnt1, mut cnt2) = (0, 0);
        for _ in 0..TRIALS {
            match out.recv().unwrap() {
                1 => cnt1 += 1,
                2 => cnt2 += 1,
                b => panic!("unexpected value {b} on channel"),
            }
        }
        // If the select in the goroutine is fair, cnt1 and cnt2 should be about the same
        // value. See if we're more than 10 sigma away from the expected value.
        let mean = TRIALS as f64 * 0.5;
        let variance = TRIALS as f64 * 0.5 * (1.0 - 0.5);
        let stddev = variance.sqrt();
        assert!(
            ((cnt1 as f64) - mean).abs() <= 10.0 * stddev,
            "unfair select: in {TRIALS} trials, results were {cnt1}, {cnt2}"
        );
        done.close();
        h.join().unwrap();
    });
}

/// TestPseudoRandomSend: a select with two send arms to one channel chooses each often.
#[test]
fn go_pseudo_random_send() {
    for_each_procs(|| {
        const N: usize = 100;
        for chn_cap in [0, N] {
            let c = chan::<i32>(chn_cap);
            let c2 = c.clone();
            let h = gort::go(move || {
                let mut l = [0; N];
                for x in l.iter_mut() {
                    *x = c2.recv().unwrap();
                }
                l
            });
            for _ in 0..N {
                select! {
                    send(c, 1) => {}
                    send(c, 0) => {}
                }
            }
            let l = h.join().unwrap();
            let (mut n0, mut n1) = (0, 0);
            for i in l {
                n0 += (i + 1) % 2;
                n1 += i;
            }
            assert!(
                n0 > (N / 10) as i32 && n1 > (N / 10) as i32,
                "Want pseudorandom, got {n0} zeros and {n1} ones (chan cap {chn_cap})"
            );
        }
    });
}

/// TestSelectStress: four goroutines each sending N values on one of four channels, received
/// through selects that disable an arm (nil it) once its channel is done.
#[test]
fn go_select_stress() {
    for_each_procs(|| {
        const N: usize = 10_000;
        let c: Vec<Chan<i32>> = vec![chan(0), chan(0), chan(2), chan(3)];
        let mut hs = Vec::new();
        // 1 goroutine sends on each channel with a plain send...
        for ci in &c {
            let ci = ci.clone();
            hs.push(gort::go(move || {
                for _ in 0..N {
                    ci.send(0);
                }
            }));
        }
        // ...and 1 sends on all of them with select, nil-ing an arm after N sends.
        let cs: Vec<Chan<i32>> = c.clone();
        hs.push(gort::go(move || {
            let mut n = [0usize; 4];
            let mut c1 = cs.clone();
            for _ in 0..4 * N {
                select! {
                    send(c1[3], 0) => { n[3] += 1; if n[3] == N { c1[3] = Chan::nil(); } }
                    send(c1[2], 0) => { n[2] += 1; if n[2] == N { c1[2] = Chan::nil(); } }
                    send(c1[0], 0) => { n[0] += 1; if n[0] == N { c1[0] = Chan::nil(); } }
                    send(c1[1], 0) => { n[1] += 1; if n[1] == N { c1[1] = Chan::nil(); } }
                }
            }
        }));
        // Receive 2N from each channel with select.
        let mut n = [0usize; 4];
        let mut c1 = c.clone();
        for _ in 0..4 * N * 2 {
            select! {
                recv(c1[0]) -> _v => { n[0] += 1; if n[0] == 2 * N { c1[0] = Chan::nil(); } }
                recv(c1[1]) -> _v => { n[1] += 1; if n[1] == 2 * N { c1[1] = Chan::nil(); } }
                recv(c1[2]) -> _v => { n[2] += 1; if n[2] == 2 * N { c1[2] = Chan::nil(); } }
                recv(c1[3]) -> _v => { n[3] += 1; if n[3] == 2 * N { c1[3] = Chan::nil(); } }
            }
        }
        for h in hs {
            h.join().unwrap();
        }
        assert_eq!(n, [2 * N; 4]);
    });
}

// --- gort::Select, the dynamic form ---

#[test]
fn dynamic_select_over_a_runtime_built_list() {
    use gort::Select;
    use std::time::Duration;
    for_each_procs(|| {
        let chans: Vec<Chan<usize>> = (0..8).map(|_| chan(0)).collect();
        let hs: Vec<_> = chans
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let c = c.clone();
                gort::go(move || {
                    c.send(i * 10);
                    c.close();
                })
            })
            .collect();
        let mut sel = Select::new();
        let ids: Vec<usize> = chans.iter().map(|c| sel.recv(c)).collect();
        let mut got = Vec::new();
        let mut closed = 0;
        while closed < 8 {
            let i = sel.select();
            match sel.take_recv::<usize>(i) {
                Some(v) => got.push((ids.iter().position(|&x| x == i).unwrap(), v)),
                None => {
                    // Closed: disable the arm, as Go code sets the channel to nil.
                    sel.disable(i);
                    closed += 1;
                }
            }
        }
        got.sort();
        assert_eq!(got, (0..8).map(|i| (i, i * 10)).collect::<Vec<_>>());
        for h in hs {
            h.join().unwrap();
        }
        // try_select and select_timeout.
        let empty = chan::<u8>(0);
        let full = chan::<u8>(1);
        let mut sel = Select::new();
        let r = sel.recv(&empty);
        assert_eq!(sel.try_select(), None);
        assert_eq!(sel.select_timeout(Duration::from_millis(2)), None);
        let s = sel.send(&full, 7);
        assert_eq!(sel.select(), s);
        assert!(sel.is_sent(s));
        assert_eq!(full.recv(), Some(7));
        // The spent send arm is disabled now; only the receive arm remains.
        assert_eq!(sel.select_timeout(Duration::from_millis(2)), None);
        let _ = r;
    });
}
