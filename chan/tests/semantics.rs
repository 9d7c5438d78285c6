//! Go's channel semantics table (the spec's Channel types, send, receive and close sections):
//! nil, closed, buffered, unbuffered, zero-sized elements, directional views, and the races of
//! close against blocked senders and receivers and of many selects on shared channels.

use gort::{chan, select, Chan, TryRecvError, TrySendError};
use std::panic::catch_unwind;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

fn for_each_procs(f: impl Fn() + Send + Sync + Clone + 'static) {
    for p in [1, 2, 4] {
        let f = f.clone();
        gort::Builder::new().max_procs(p).run(f);
    }
}

fn msg(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

#[test]
fn closed_channel_drains_then_yields_none() {
    for_each_procs(|| {
        let c = chan::<i32>(3);
        c.send(1);
        c.send(2);
        c.close();
        assert_eq!(c.len(), 2);
        assert_eq!(c.recv(), Some(1));
        assert_eq!(c.try_recv(), Ok(2));
        assert_eq!(c.recv(), None);
        assert_eq!(c.try_recv(), Err(TryRecvError::Closed));
        assert!(matches!(c.try_send(3), Err(TrySendError::Closed(3))));
    });
}

#[test]
fn go_panic_messages() {
    for_each_procs(|| {
        let c = chan::<i32>(1);
        c.close();
        assert_eq!(
            msg(catch_unwind(|| c.send(1)).unwrap_err()),
            "send on closed channel"
        );
        assert_eq!(
            msg(catch_unwind(|| c.close()).unwrap_err()),
            "close of closed channel"
        );
        let n = Chan::<i32>::nil();
        assert_eq!(
            msg(catch_unwind(|| n.close()).unwrap_err()),
            "close of nil channel"
        );
        // The channel is still usable after a recovered panic.
        assert_eq!(c.recv(), None);
    });
}

#[test]
fn nil_channel_properties() {
    for_each_procs(|| {
        let n = Chan::<i32>::nil();
        assert!(n.is_nil());
        assert_eq!((n.len(), n.cap()), (0, 0));
        assert_eq!(n.try_recv(), Err(TryRecvError::Empty));
        assert!(matches!(n.try_send(1), Err(TrySendError::Full(1))));
        assert_eq!(Chan::<i32>::default(), n);
        // A goroutine blocked on a nil channel stays blocked (abandoned at the end of run).
        let n2 = n.clone();
        let h = gort::go(move || n2.recv());
        gort::runtime::gosched();
        assert!(!h.is_finished());
    });
}

#[test]
fn blocked_sender_panics_when_closed() {
    for_each_procs(|| {
        let c = chan::<String>(0);
        let c2 = c.clone();
        let ready = chan::<()>(0);
        let r2 = ready.clone();
        let h = gort::go(move || {
            r2.close();
            c2.send("lost".to_string())
        });
        ready.recv();
        // Whether the sender has parked by now or sends after the close, it must panic.
        gort::runtime::gosched();
        c.close();
        let e = h.join().unwrap_err();
        assert_eq!(e.message(), Some("send on closed channel"));
    });
}

#[test]
fn zero_sized_elements() {
    for_each_procs(|| {
        let c = chan::<()>(1000);
        for _ in 0..1000 {
            c.send(());
        }
        assert_eq!(c.len(), 1000);
        assert!(matches!(c.try_send(()), Err(TrySendError::Full(()))));
        let n = c.iter().take(1000).count();
        assert_eq!(n, 1000);
        let u = chan::<()>(0);
        let u2 = u.clone();
        let h = gort::go(move || {
            for _ in 0..100 {
                u2.send(());
            }
            u2.close();
        });
        assert_eq!(u.iter().count(), 100);
        h.join().unwrap();
    });
}

#[test]
fn len_and_cap() {
    for_each_procs(|| {
        let c = chan::<u8>(5);
        assert_eq!((c.len(), c.cap()), (0, 5));
        c.send(1);
        c.send(2);
        assert_eq!(c.len(), 2);
        let u = chan::<u8>(0);
        assert_eq!((u.len(), u.cap()), (0, 0));
    });
}

#[test]
fn directional_views() {
    for_each_procs(|| {
        let (tx, rx) = chan::<u32>(0).split();
        let h = gort::go(move || {
            for i in 0..10 {
                tx.send(i);
            }
            tx.close();
        });
        let got: Vec<u32> = rx.iter().collect();
        assert_eq!(got, (0..10).collect::<Vec<_>>());
        h.join().unwrap();
    });
}

#[test]
fn buffered_values_are_dropped_with_the_channel() {
    struct D(Arc<AtomicUsize>);
    impl Drop for D {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    for_each_procs(|| {
        let n = Arc::new(AtomicUsize::new(0));
        {
            let c = chan::<D>(10);
            for _ in 0..7 {
                c.send(D(n.clone()));
            }
            drop(c.recv());
        }
        assert_eq!(n.load(Ordering::SeqCst), 7);
    });
}

#[test]
fn close_races_blocked_senders_and_receivers() {
    // Senders that were paired complete; the rest panic with Go's message. Receivers get every
    // value that was sent exactly once, then None.
    for_each_procs(|| {
        for round in 0..20 {
            let c = chan::<usize>(round % 3);
            let senders: Vec<_> = (0..40)
                .map(|i| {
                    let c = c.clone();
                    gort::go(move || catch_unwind(|| c.send(i)).map_err(msg))
                })
                .collect();
            let receivers: Vec<_> = (0..20)
                .map(|_| {
                    let c = c.clone();
                    gort::go(move || {
                        let mut got = Vec::new();
                        while let Some(v) = c.recv() {
                            got.push(v);
                        }
                        got
                    })
                })
                .collect();
            for _ in 0..round {
                gort::runtime::gosched();
            }
            c.close();
            let mut sent: Vec<usize> = Vec::new();
            for (i, h) in senders.into_iter().enumerate() {
                match h.join().unwrap() {
                    Ok(()) => sent.push(i),
                    Err(m) => assert_eq!(m, "send on closed channel"),
                }
            }
            let mut got: Vec<usize> = receivers
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect();
            got.sort();
            assert_eq!(got, sent);
        }
    });
}

#[test]
fn select_storm_every_value_once() {
    // 8 goroutines select over 4 channels, half sending and half receiving; every value sent
    // is received exactly once.
    for_each_procs(|| {
        const PER: usize = 2_000;
        let cs: Vec<Chan<usize>> = vec![chan(0), chan(1), chan(0), chan(4)];
        let mut senders = Vec::new();
        for s in 0..4 {
            let cs = cs.clone();
            senders.push(gort::go(move || {
                for k in 0..PER {
                    let v = s * PER + k;
                    select! {
                        send(cs[0], v) => {}
                        send(cs[1], v) => {}
                        send(cs[2], v) => {}
                        send(cs[3], v) => {}
                    }
                }
            }));
        }
        let done = chan::<()>(0);
        let mut receivers = Vec::new();
        for _ in 0..4 {
            let (cs, done) = (cs.clone(), done.clone());
            receivers.push(gort::go(move || {
                let mut got = Vec::new();
                loop {
                    select! {
                        recv(cs[0]) -> v => got.push(v.unwrap()),
                        recv(cs[1]) -> v => got.push(v.unwrap()),
                        recv(cs[2]) -> v => got.push(v.unwrap()),
                        recv(cs[3]) -> v => got.push(v.unwrap()),
                        recv(done) -> _v => break,
                    }
                }
                got
            }));
        }
        for s in senders {
            s.join().unwrap();
        }
        // Buffered values may remain: drain them before stopping the receivers.
        let mut got: Vec<usize> = Vec::new();
        for c in &cs {
            while let Ok(v) = c.try_recv() {
                got.push(v);
            }
        }
        done.close();
        for r in receivers {
            got.extend(r.join().unwrap());
        }
        // Values buffered after the drain but before `done` was seen are still in buffers.
        for c in &cs {
            while let Ok(v) = c.try_recv() {
                got.push(v);
            }
        }
        got.sort();
        assert_eq!(got, (0..4 * PER).collect::<Vec<_>>());
    });
}
