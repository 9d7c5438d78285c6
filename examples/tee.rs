//! The tee channel: split one stream into two that each carry every value, like the Unix `tee`.
//! It mirrors `tee` (with `repeat`, `take` and `orDone`) from "Concurrency in Go", Chapter 4,
//! "The tee-channel", in the seed notes. For each value the tee goroutine selects over both
//! outputs twice. It sets an output to nil once that output has taken the value, so the second
//! select can only pick the other one. Neither reader can get ahead of the other by more than
//! one value.
//!
//! Prints `out1: v, out2: v` for `take(4, repeat(1, 2))` as in the seed, and exits with
//! status 1 unless both outputs saw 1, 2, 1, 2.

use gort::{Chan, Receiver};

/// Go: `repeat(done, values...)`: sends `values` over and over until `done` closes.
fn repeat(done: Receiver<()>, values: Vec<u64>) -> Receiver<u64> {
    let (out, rx) = gort::chan::<u64>(0).split();
    drop(gort::go(move || {
        'outer: loop {
            for &v in &values {
                gort::select! {
                    recv(done) -> _ => break 'outer,
                    send(out, v) => {}
                }
            }
        }
        out.close();
    }));
    rx
}

/// Go: `take(done, in, n)`: forwards the first `n` values (`case takeStream <- <-valueStream`).
fn take(done: Receiver<()>, input: Receiver<u64>, n: usize) -> Receiver<u64> {
    let (out, rx) = gort::chan::<u64>(0).split();
    drop(gort::go(move || {
        for _ in 0..n {
            let Some(v) = input.recv() else { break };
            gort::select! {
                recv(done) -> _ => break,
                send(out, v) => {}
            }
        }
        out.close();
    }));
    rx
}

/// Go: `orDone(done, c)` (see examples/or_done.rs).
fn or_done(done: Receiver<()>, c: Receiver<u64>) -> Receiver<u64> {
    let (out, vals) = gort::chan::<u64>(0).split();
    drop(gort::go(move || {
        loop {
            let v = gort::select! {
                recv(done) -> _ => None,
                recv(c) -> v => v,
            };
            let Some(v) = v else { break };
            gort::select! {
                send(out, v) => {}
                recv(done) -> _ => {}
            }
        }
        out.close();
    }));
    vals
}

/// Go: `tee(done, in) (_, _ <-chan interface{})`.
fn tee(done: Receiver<()>, input: Receiver<u64>) -> (Receiver<u64>, Receiver<u64>) {
    let (out1, out2) = (gort::chan::<u64>(0), gort::chan::<u64>(0));
    let (o1, o2) = (out1.clone(), out2.clone());
    drop(gort::go(move || {
        for v in &or_done(done.clone(), input) {
            // Go: var out1, out2 = out1, out2 -- local copies that may be set to nil.
            let (mut a, mut b) = (o1.clone(), o2.clone());
            for _ in 0..2 {
                gort::select! {
                    recv(done) -> _ => {}
                    send(a, v) => a = Chan::nil(),
                    send(b, v) => b = Chan::nil(),
                }
            }
        }
        o1.close();
        o2.close();
    }));
    (out1.split().1, out2.split().1)
}

fn main() {
    let ok = gort::run(|| {
        let (stop, done) = gort::chan::<()>(0).split();
        let src = take(done.clone(), repeat(done.clone(), vec![1, 2]), 4);
        let (out1, out2) = tee(done, src);
        let mut seen = Vec::new();
        for v1 in &out1 {
            let v2 = out2.recv().expect("out2 closes only after out1");
            println!("out1: {v1}, out2: {v2}");
            seen.push((v1, v2));
        }
        stop.close(); // Go: defer close(done) -- stops repeat, which take left running
        seen == [(1, 1), (2, 2), (1, 1), (2, 2)] && out2.recv().is_none()
    });
    if !ok {
        eprintln!("tee: self-check failed");
        std::process::exit(1);
    }
}
