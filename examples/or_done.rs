//! The or-done channel: wrap a channel you do not own, whose producer ignores your `done`, so
//! that `for v in &or_done(done, c)` stops when either `c` closes or `done` does. It mirrors
//! `orDone` from "Concurrency in Go", Chapter 4, "or-done-channel", and the or-done-channel
//! pattern in "Go並行処理" in the seed notes. Wrapping the channel keeps the cancellation
//! `select` out of the consumer's loop body, which would otherwise nest deeper and deeper.
//!
//! Part 1: a finite stream ends the loop by closing. Part 2: an endless stream from a producer
//! that never looks at `done`. The consumer closes `done` after ten values, and the loop still
//! ends. Exits with status 1 if a check fails.

use gort::{Receiver, Sender};

/// Go: `orDone := func(done, c <-chan interface{}) <-chan interface{}`.
fn or_done<T: Send + 'static>(done: Receiver<()>, c: Receiver<T>) -> Receiver<T> {
    let (out, vals) = gort::chan::<T>(0).split();
    drop(gort::go(move || {
        loop {
            gort::select! {
                recv(done) -> _ => break,
                recv(c) -> v => match v {
                    None => break, // c closed
                    Some(v) => gort::select! {
                        send(out, v) => {}
                        recv(done) -> _ => {}
                    },
                },
            }
        }
        out.close(); // Go: defer close(valStream)
    }));
    vals
}

/// A third-party producer: sends `0..n` (forever if `n` is None) and knows nothing of `done`.
fn third_party(out: Sender<u64>, n: Option<u64>) {
    let mut v = 0;
    while n.is_none_or(|n| v < n) {
        out.send(v);
        v += 1;
    }
    out.close();
}

fn stream(n: Option<u64>) -> Receiver<u64> {
    let (tx, rx) = gort::chan::<u64>(0).split();
    drop(gort::go(move || third_party(tx, n)));
    rx
}

fn main() {
    let ok = gort::run(|| {
        // Part 1: the stream closes by itself after 0..5.
        let (_never, done) = gort::chan::<()>(0).split();
        let sum: u64 = or_done(done, stream(Some(5))).iter().sum();
        println!("finite stream: sum of 0..5 = {sum}, loop ended when the stream closed");

        // Part 2: endless stream; cancel with `done` after ten values.
        let (cancel, done) = gort::chan::<()>(0).split();
        let mut got = Vec::new();
        for v in &or_done(done, stream(None)) {
            got.push(v);
            if got.len() == 10 {
                cancel.close();
            }
        }
        // A few more values may still arrive after the close, for `select` picks at random
        // among ready cases; a value or-done had taken when it saw `done` is dropped, as in
        // Go. So: the first ten are 0..10, and the rest only increase.
        let first_ten = got[..10] == (0..10).collect::<Vec<u64>>();
        let increasing = got.windows(2).all(|w| w[0] < w[1]);
        println!("endless stream: first 10 values are 0..10: {first_ten}");
        println!("closed done; the loop ended though the producer ignores done");
        sum == 10 && first_ten && increasing
    });
    if !ok {
        eprintln!("or_done: self-check failed");
        std::process::exit(1);
    }
}
