//! Fan-in: merge any number of input channels into one. This is the variadic `fanIn` of the
//! seed notes: the FanIn chapter's "応用 (並行処理本 ver.)" and the Fan-out/Fan-in pattern
//! in "Go並行処理". One forwarding goroutine runs per input, each selecting between
//! `result <- v` and `<-done`. A WaitGroup closes the merged channel once every forwarder has
//! returned.
//!
//! Part 1 merges three finite sources and checks that every value arrives exactly once. Part 2
//! merges endless sources, takes five values, closes `done`, and checks that the merged channel
//! then closes, so no forwarder is leaked. Exits with status 1 if a check fails.

use gort::sync::WaitGroup;
use gort::{Receiver, Sender};
use std::sync::Arc;

/// Go: `func fanIn(done <-chan struct{}, cs ...<-chan u64) <-chan u64`.
fn fan_in(done: Receiver<()>, inputs: Vec<Receiver<u64>>) -> Receiver<u64> {
    let (out, merged) = gort::chan::<u64>(0).split();
    let wg = Arc::new(WaitGroup::new());
    for c in inputs {
        let (done, out) = (done.clone(), out.clone());
        wg.go(move || {
            for v in &c {
                gort::select! {
                    recv(done) -> _ => return,
                    send(out, v) => {}
                }
            }
        });
    }
    // Go: go func() { wg.Wait(); close(result) }()
    drop(gort::go(move || {
        wg.wait();
        out.close();
    }));
    merged
}

/// Sends `first..first + n` (forever if `n` is None) until `done` is closed, then closes `out`.
fn generate(done: Receiver<()>, out: Sender<u64>, first: u64, n: Option<u64>) {
    let mut v = first;
    while n.is_none_or(|n| v < first + n) {
        gort::select! {
            recv(done) -> _ => break,
            send(out, v) => v += 1,
        }
    }
    out.close();
}

fn source(done: &Receiver<()>, first: u64, n: Option<u64>) -> Receiver<u64> {
    let (tx, rx) = gort::chan::<u64>(0).split();
    let done = done.clone();
    drop(gort::go(move || generate(done, tx, first, n)));
    rx
}

fn main() {
    let ok = gort::run(|| {
        // Part 1: three finite sources of 10 values each, 0..10, 100..110 and 200..210.
        let (_keep_open, done) = gort::chan::<()>(0).split();
        let inputs = (0..3).map(|i| source(&done, i * 100, Some(10))).collect();
        let mut got: Vec<u64> = fan_in(done, inputs).iter().collect();
        got.sort_unstable();
        let want: Vec<u64> = (0..3).flat_map(|i| i * 100..i * 100 + 10).collect();
        for i in 0..3 {
            let n = got.iter().filter(|&&v| v / 100 == i).count();
            println!("source {i}: {n} values");
        }
        let part1 = got == want;
        println!("merged {} values, each exactly once: {part1}", got.len());

        // Part 2: endless sources; take five, then cancel everything with `done`.
        let (cancel, done) = gort::chan::<()>(0).split();
        let inputs = (0..3).map(|i| source(&done, i * 100, None)).collect();
        let merged = fan_in(done, inputs);
        let took = (0..5).filter_map(|_| merged.recv()).count();
        cancel.close();
        // Drain what was already in flight (how much is up to the race). The loop ends only
        // once every forwarder has returned and the closer goroutine has closed `merged`.
        merged.iter().for_each(drop);
        println!("took {took} values, closed done; merged channel closed");
        part1 && took == 5
    });
    if !ok {
        eprintln!("fan_in: self-check failed");
        std::process::exit(1);
    }
}
